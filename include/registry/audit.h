/* audit.h: who changed what, written in the same transaction as the change. */
#ifndef REGISTRY_AUDIT_H
#define REGISTRY_AUDIT_H

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/db.h"
#include "registry/http.h"

extern const struct db_stmt audit_stmts[];

/* Records `action` on resource_type/resource_id by r->principal, with before/after snapshots
 * (borrowed; either may be NULL). Must run inside the caller's transaction. Returns NULL on
 * success, or the failed result (the caller clears it and answers with problem_from_db). */
PGresult *audit_write(struct req *r, const char *action, const char *resource_type,
                      const char *resource_id, json_t *before, json_t *after);

/* GET /v1/audit?resource_type=&resource_id= (admin). */
int audit_list(struct req *r);

#endif
