/* organisations.h: /v1/organisations, the licensed organisations. */
#ifndef REGISTRY_ORGANISATIONS_H
#define REGISTRY_ORGANISATIONS_H

#include "registry/db.h"
#include "registry/http.h"
#include "registry/resource.h"

extern const struct db_stmt organisations_stmts[];
extern const struct resource org_resource;
int organisations_create(struct req *r); /* POST /v1/organisations */
int organisations_list(struct req *r);   /* GET /v1/organisations */
int organisations_get(struct req *r);    /* GET /v1/organisations/{id} */
int organisations_update(struct req *r); /* PATCH /v1/organisations/{id} */
int organisations_delete(struct req *r); /* DELETE /v1/organisations/{id} */

#endif
