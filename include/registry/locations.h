/* locations.h: /v1/locations, the sites where licensees deliver M-PACT. */
#ifndef REGISTRY_LOCATIONS_H
#define REGISTRY_LOCATIONS_H

#include "registry/db.h"
#include "registry/http.h"
#include "registry/resource.h"

extern const struct db_stmt locations_stmts[];
extern const struct resource loc_resource;
int locations_create(struct req *r); /* POST /v1/locations */
int locations_list(struct req *r);   /* GET /v1/locations */
int locations_get(struct req *r);    /* GET /v1/locations/{id} */
int locations_update(struct req *r); /* PATCH /v1/locations/{id} */
int locations_delete(struct req *r); /* DELETE /v1/locations/{id} */

#endif
