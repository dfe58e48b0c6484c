/* licences.h: an organisation's licences to deliver M-PACT, their status changes and history. */
#ifndef REGISTRY_LICENCES_H
#define REGISTRY_LICENCES_H

#include "registry/db.h"
#include "registry/http.h"
#include "registry/resource.h"

extern const struct db_stmt licences_stmts[];
extern const struct resource lic_resource;
int licences_update(struct req *r); /* PATCH /v1/licences/{id} */

/* 1 when a licence may move from `from` to `to` (stored statuses). Pure: unit tested. */
int licences_transition_allowed(const char *from, const char *to);

#endif
