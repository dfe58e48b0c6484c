/* dbreply.h: database work that answers its own failure (dbreply.c). */
#ifndef REGISTRY_DBREPLY_H
#define REGISTRY_DBREPLY_H

#include <stddef.h>

#include <libpq-fe.h>

#include "registry/auth.h"
#include "registry/http.h"

/* Starts the transaction of a change. With `if_match_required`, first answers 428 when the
 * request carries no If-Match (before any database work). Returns 0, or the status of the
 * problem already sent. */
int http_begin_or_problem(struct req *r, int if_match_required);

/* Runs statement `stmt` and answers a failure. Returns 0 with the result in *out (the caller
 * clears it; pass NULL to discard it), or the status of the problem already sent. */
int http_exec_or_problem(
    struct req *r, const char *stmt, int nparams, const char *const *params, PGresult **out);

/* Runs `stmt` ($1 = id) and reads one row. Answers 404 "no <what> with id <id>" when `id` is not a
 * UUID, when no row comes back, or when `visible` (if not NULL) says the caller may not see row
 * 0. Returns 0 with the result in *out (the caller clears it), or the status of the problem
 * already sent. */
int http_row_or_problem(struct req *r,
                        const char *stmt,
                        const char *id,
                        const char *what,
                        int (*visible)(const struct principal *p, const PGresult *res),
                        PGresult **out);

/* Runs an INSERT ... RETURNING id and copies the new id into `id`. Returns 0, or the status of
 * the problem already sent. */
int http_insert_or_problem(struct req *r,
                           const char *stmt,
                           int nparams,
                           const char *const *params,
                           char *id,
                           size_t idlen);

#endif
