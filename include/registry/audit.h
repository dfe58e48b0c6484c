/* audit.h: who changed what, written in the same transaction as the change. */
#ifndef REGISTRY_AUDIT_H
#define REGISTRY_AUDIT_H

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/db.h"
#include "registry/http.h"

extern const struct db_stmt audit_stmts[];

/* Records `action` on resource_type/resource_id by r->principal (its kind, role and, for a user,
 * the email the account has now are copied into the row), with before/after snapshots
 * (borrowed; either may be NULL). Must run inside the caller's transaction. Returns NULL on
 * success, or the failed result (the caller clears it and answers with problem_from_db). */
PGresult *audit_write(struct req *r,
                      const char *action,
                      const char *resource_type,
                      const char *resource_id,
                      json_t *before,
                      json_t *after);

/* Writes the audit row (as audit_write) and commits. Returns 0, or the status of the problem
 * already sent. */
int audit_commit_or_problem(struct req *r,
                            const char *action,
                            const char *resource_type,
                            const char *resource_id,
                            json_t *before,
                            json_t *after);

/* The end of a create or update: row 0 of `res` (borrowed) is the resource as it now stands.
 * Audits it (with `before`, borrowed, NULL on create), commits and sends it with its ETag: 201
 * with a Location header when `location` is not NULL, 200 otherwise. Returns the status sent. */
int audit_commit_row_and_send(struct req *r,
                              const char *action,
                              const char *resource_type,
                              const char *resource_id,
                              json_t *before,
                              const PGresult *res,
                              const char *location);

/* audit_commit_row_and_send after reading the row back with statement `get_stmt` ($1 =
 * resource_id; a result that is not exactly one row is a 500). The Location, when
 * `location_prefix` is not NULL, is the prefix followed by the id. Returns the status sent. */
int audit_commit_and_send(struct req *r,
                          const char *action,
                          const char *resource_type,
                          const char *resource_id,
                          json_t *before,
                          const char *get_stmt,
                          const char *location_prefix);

/* The end of a PATCH whose checks passed: runs `update_stmt` ($1 the id, $2 `changes` as JSON
 * text) in the request's transaction, then audit_commit_and_send as an "update" read back with
 * `get_stmt`. `before` is borrowed. Returns the status sent. */
int audit_update_and_send(struct req *r,
                          const char *update_stmt,
                          const char *resource_type,
                          const char *resource_id,
                          const json_t *changes,
                          json_t *before,
                          const char *get_stmt);

/* GET /v1/audit (admin): newest first (order=asc for oldest first), filtered by resource_type,
 * resource_id, actor_id, action, from and to. */
int audit_list(struct req *r);

#endif
