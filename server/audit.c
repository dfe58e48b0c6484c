/* audit.c: the audit trail. Rows are written by the changing handler, inside its transaction,
 * so a change and its record commit or roll back together. */
#include "registry/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/auth.h"
#include "registry/db.h"
#include "registry/http.h"
#include "registry/problem.h"

const struct db_stmt audit_stmts[] = {
    {"audit_insert",
     "INSERT INTO audit_event (actor_id, action, resource_type, resource_id, before, after, "
     "request_id) VALUES ($1::uuid, $2::text, $3::text, $4::text, $5::jsonb, $6::jsonb, $7::text)"},
    {"audit_list",
     "SELECT id, at, actor_id, action, resource_type, resource_id, before, after, request_id "
     "FROM audit_event "
     "WHERE ($1::text IS NULL OR resource_type = $1::text) "
     "  AND ($2::text IS NULL OR resource_id = $2::text) "
     "  AND ($3::bigint IS NULL OR id > $3::bigint) "
     "ORDER BY id LIMIT $4::int"},
    {NULL, NULL},
};

PGresult *
audit_write(struct req *r,
            const char *action,
            const char *resource_type,
            const char *resource_id,
            json_t *before,
            json_t *after)
{
    char *b = before != NULL ? json_dumps(before, JSON_COMPACT) : NULL;
    char *a = after != NULL ? json_dumps(after, JSON_COMPACT) : NULL;
    const char *params[7] = {
        r->principal.authenticated ? r->principal.sub : NULL,
        action,
        resource_type,
        resource_id,
        b,
        a,
        r->request_id,
    };
    PGresult *res = db_exec(r->db, "audit_insert", 7, params);

    free(b);
    free(a);
    if (db_ok(res)) {
        PQclear(res);
        return NULL;
    }
    return res;
}

int
audit_commit_or_problem(struct req *r,
                        const char *action,
                        const char *resource_type,
                        const char *resource_id,
                        json_t *before,
                        json_t *after)
{
    PGresult *fail = NULL;
    int status = 0;

    if ((fail = audit_write(r, action, resource_type, resource_id, before, after)) != NULL
        || db_commit(r->db, &fail) != 0) {
        status = problem_from_db(r, fail);
    } else if (auth_epochs_may_change(resource_type)) {
        /* The change may have ended tokens (token epochs): this instance refuses them before it
         * answers, the others within AUTH_EPOCH_POLL_MS. */
        (void)auth_epochs_refresh(r->db);
    }
    PQclear(fail);
    return status;
}

int
audit_commit_row_and_send(struct req *r,
                          const char *action,
                          const char *resource_type,
                          const char *resource_id,
                          json_t *before,
                          const PGresult *res,
                          const char *location)
{
    json_t *after = db_row_to_json(res, 0);
    int status;

    if ((status = audit_commit_or_problem(r, action, resource_type, resource_id, before, after))
        == 0) {
        if (location != NULL) {
            http_add_header(r, "Location", location);
        }
        status = http_send_resource(r, location != NULL ? 201 : 200, after,
                                    db_value(res, 0, "_version"));
    }
    json_decref(after);
    return status;
}

int
audit_commit_and_send(struct req *r,
                      const char *action,
                      const char *resource_type,
                      const char *resource_id,
                      json_t *before,
                      const char *get_stmt,
                      const char *location_prefix)
{
    const char *params[1] = {resource_id};
    PGresult *res = db_exec(r->db, get_stmt, 1, params);
    char location[160];
    int status;

    if (!db_ok(res) || PQntuples(res) != 1) {
        status = problem_from_db(r, res);
    } else {
        if (location_prefix != NULL) {
            snprintf(location, sizeof(location), "%s%s", location_prefix, resource_id);
        }
        status = audit_commit_row_and_send(r, action, resource_type, resource_id, before, res,
                                           location_prefix != NULL ? location : NULL);
    }
    PQclear(res);
    return status;
}

int
audit_update_and_send(struct req *r,
                      const char *update_stmt,
                      const char *resource_type,
                      const char *resource_id,
                      const json_t *changes,
                      json_t *before,
                      const char *get_stmt)
{
    char *text = json_dumps(changes, JSON_COMPACT);
    const char *params[2] = {resource_id, text};
    int status;

    if (text == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    status = http_exec_or_problem(r, update_stmt, 2, params, NULL);
    free(text);
    if (status != 0) {
        return status;
    }
    return audit_commit_and_send(r, "update", resource_type, resource_id, before, get_stmt, NULL);
}

int
audit_list(struct req *r)
{
    static const char *const allowed[] = {"resource_type", "resource_id", "limit", "cursor", NULL};
    struct query q;
    struct page p = {0, NULL};
    PGresult *res = NULL;
    char after[24], limit[16];
    const char *params[4];
    json_t *next = NULL;
    int status, n;

    if ((status = http_query_or_problem(r, allowed, &q)) != 0
        || (status = http_page_or_problem(r, &q, &p)) != 0) {
        goto out;
    }
    if (p.after != NULL) {
        if (json_array_size(p.after) != 1 || !json_is_integer(json_array_get(p.after, 0))) {
            status = problem_send(r, PROBLEM_BAD_REQUEST, "cursor: not a cursor from this list");
            goto out;
        }
        snprintf(after, sizeof(after), "%lld",
                 (long long)json_integer_value(json_array_get(p.after, 0)));
    }
    snprintf(limit, sizeof(limit), "%d", p.limit + 1);
    params[0] = query_get(&q, "resource_type");
    params[1] = query_get(&q, "resource_id");
    params[2] = p.after != NULL ? after : NULL;
    params[3] = limit;
    res = db_exec(r->db, "audit_list", 4, params);
    if (!db_ok(res)) {
        status = problem_from_db(r, res);
        goto out;
    }
    n = PQntuples(res);
    if (n > p.limit) {
        n = p.limit;
        next = json_pack("[I]", (json_int_t)strtoll(PQgetvalue(res, n - 1, 0), NULL, 10));
    }
    status = page_send_rows(r, res, n, next);
out:
    PQclear(res);
    page_cleanup(&p);
    query_cleanup(&q);
    return status;
}
