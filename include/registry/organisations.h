/* organisations.h: /v1/organisations, the licensed organisations. */
#ifndef REGISTRY_ORGANISATIONS_H
#define REGISTRY_ORGANISATIONS_H

#include "registry/db.h"
#include "registry/http.h"
#include "registry/resource.h"

extern const struct db_stmt organisations_stmts[];
extern const struct resource org_resource;

/* Checks that organisation `org` exists and is not archived, share-locking it when `lock` (so
 * that archiving it waits for the caller's change to commit). Returns 0, or the status of the
 * problem already sent (422 naming organisation_id). */
int organisations_usable_or_problem(struct req *r, const char *org, int lock);

#endif
