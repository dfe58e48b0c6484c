/* audit.c: the audit trail. Rows are written by the changing handler, inside its transaction,
 * so a change and its record commit or roll back together. */
#include "registry/audit.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/auth.h"
#include "registry/db.h"
#include "registry/http.h"
#include "registry/problem.h"
#include "registry/validate.h"

/* The list's filters: $1 resource_type, $2 resource_id, $3 actor_id, $4 action, $5/$6 from (a
 * timestamp, or a UK date: from its first moment), $7/$8 to (a timestamp, or a UK date: to its
 * end), $11 actor_email (the address recorded on the row, any case); then $9 the cursor (the last
 * id shown) and $10 the limit. */
#define AUDIT_LIST                                                                                 \
    "SELECT id, at, actor_id, actor_type, actor_email, actor_role, action, resource_type, "        \
    "resource_id, before, after, request_id "                                                      \
    "FROM audit_event "                                                                            \
    "WHERE ($1::text IS NULL OR resource_type = $1::text) "                                        \
    "  AND ($2::text IS NULL OR resource_id = $2::text) "                                          \
    "  AND ($3::uuid IS NULL OR actor_id = $3::uuid) "                                             \
    "  AND ($4::text IS NULL OR action = $4::text) "                                               \
    "  AND ($5::timestamptz IS NULL OR at >= $5::timestamptz) "                                    \
    "  AND ($6::date IS NULL OR at >= ($6::date::timestamp AT TIME ZONE 'Europe/London')) "        \
    "  AND ($7::timestamptz IS NULL OR at <= $7::timestamptz) "                                    \
    "  AND ($8::date IS NULL OR at < (($8::date + 1)::timestamp AT TIME ZONE 'Europe/London')) "   \
    "  AND ($11::text IS NULL OR lower(actor_email) = lower($11::text)) "

/* $8 is the actor's kind; a user's email is copied from app_user as it stands now. */
const struct db_stmt audit_stmts[] = {
    {"audit_insert",
     "INSERT INTO audit_event (actor_id, action, resource_type, resource_id, before, after, "
     "request_id, actor_type, actor_role, actor_email) "
     "SELECT $1::uuid, $2::text, $3::text, $4::text, $5::jsonb, $6::jsonb, $7::text, $8::text, "
     "$9::text, CASE WHEN $8::text = 'user' THEN (SELECT u.email FROM app_user u"
     "  WHERE u.id = $1::uuid) END"},
    /* Each order is its own statement, so each reads an index in its direction. */
    {"audit_list_desc", AUDIT_LIST "AND ($9::bigint IS NULL OR id < $9::bigint) "
                                   "ORDER BY id DESC LIMIT $10::int"},
    {"audit_list_asc", AUDIT_LIST "AND ($9::bigint IS NULL OR id > $9::bigint) "
                                  "ORDER BY id LIMIT $10::int"},
    {NULL, NULL},
};

/* Who is acting, for the audit row: a signed-in user, an API client, or the service itself. */
static const char *
actor_type(const struct principal *p)
{
    if (!p->authenticated) {
        return "system";
    }
    return p->client ? "api_client" : "user";
}

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
    const char *params[9] = {
        r->principal.authenticated ? r->principal.sub : NULL,
        action,
        resource_type,
        resource_id,
        b,
        a,
        r->request_id,
        actor_type(&r->principal),
        /* An API client acts with an org_admin's rights, but is recorded as the client it is. */
        !r->principal.authenticated    ? NULL
        : r->principal.client          ? "client"
        : r->principal.role[0] != '\0' ? r->principal.role
                                       : NULL,
    };
    PGresult *res = db_exec(r->db, "audit_insert", 9, params);

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

/* 1 when `s` is an RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS, optional fraction (1-6 digits),
 * then Z or +HH:MM / -HH:MM. */
static int
is_timestamp(const char *s)
{
    char date[11];
    size_t i, n = strlen(s), k;

    if (n < 20 || n > 38 || (s[10] != 'T' && s[10] != 't')) {
        return 0;
    }
    memcpy(date, s, 10);
    date[10] = '\0';
    if (!validate_date(date)) {
        return 0;
    }
    for (i = 11; i < 19; i++) {
        if ((i == 13 || i == 16) ? s[i] != ':' : !isdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    if ((s[11] - '0') * 10 + (s[12] - '0') > 23 || s[14] > '5' || s[17] > '5') {
        return 0;
    }
    i = 19;
    if (s[i] == '.') {
        for (k = ++i; isdigit((unsigned char)s[i]); i++) {
        }
        if (i == k || i - k > 6) {
            return 0;
        }
    }
    if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0') {
        return 1;
    }
    if ((s[i] != '+' && s[i] != '-') || strlen(s + i) != 6 || s[i + 3] != ':'
        || !isdigit((unsigned char)s[i + 1]) || !isdigit((unsigned char)s[i + 2])
        || !isdigit((unsigned char)s[i + 4]) || !isdigit((unsigned char)s[i + 5])) {
        return 0;
    }
    return (s[i + 1] - '0') * 10 + (s[i + 2] - '0') <= 23 && s[i + 4] <= '5';
}

/* Reads the bound `name` (a date or an RFC 3339 date-time) into one of two parameters: *ts for a
 * date-time, *date for a date; both stay NULL when absent. Returns 0, or the status of the 400
 * sent. */
static int
time_bound_or_problem(
    struct req *r, const struct query *q, const char *name, const char **ts, const char **date)
{
    const char *v = query_get(q, name);

    *ts = NULL;
    *date = NULL;
    if (v == NULL) {
        return 0;
    }
    if (validate_date(v)) {
        *date = v;
    } else if (is_timestamp(v)) {
        *ts = v;
    } else {
        return problem_send(r, PROBLEM_BAD_REQUEST,
                            "%s: a date (YYYY-MM-DD, UK calendar) or an RFC 3339 date-time such as "
                            "2026-01-31T09:30:00Z",
                            name);
    }
    return 0;
}

int
audit_list(struct req *r)
{
    static const char *const allowed[] = {"resource_type", "resource_id", "actor_id", "actor_email",
                                          "action",        "from",        "to",       "order",
                                          "limit",         "cursor",      NULL};
    struct query q;
    struct page p = {0, NULL};
    PGresult *res = NULL;
    char after[24], limit[16];
    const char *params[11], *actor, *email, *action, *order, *text;
    json_t *next = NULL;
    json_int_t key;
    int status, n;

    if ((status = http_query_or_problem(r, allowed, &q)) != 0
        || (status = http_page_or_problem(r, &q, &p)) != 0) {
        goto out;
    }
    actor = query_get(&q, "actor_id");
    email = query_get(&q, "actor_email");
    action = query_get(&q, "action");
    order = query_get(&q, "order");
    if (actor != NULL && !validate_uuid(actor)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "actor_id: a UUID");
        goto out;
    }
    if (email != NULL && !validate_text(email, 1, 254)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "actor_email: 1-254 characters");
        goto out;
    }
    if (action != NULL && !validate_text(action, 1, 64)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "action: 1-64 characters");
        goto out;
    }
    if (((text = query_get(&q, "resource_type")) != NULL && !validate_text(text, 1, 64))
        || ((text = query_get(&q, "resource_id")) != NULL && !validate_text(text, 1, 200))) {
        status = problem_send(r, PROBLEM_BAD_REQUEST,
                              "resource_type, resource_id: text of 1-64 and 1-200 characters");
        goto out;
    }
    if (order == NULL) {
        order = "desc";
    } else if (strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
        status = problem_send(r, PROBLEM_BAD_REQUEST,
                              "order: desc (newest first, the default) or asc (oldest first)");
        goto out;
    }
    if ((status = time_bound_or_problem(r, &q, "from", &params[4], &params[5])) != 0
        || (status = time_bound_or_problem(r, &q, "to", &params[6], &params[7])) != 0) {
        goto out;
    }
    /* The cursor is the id of the last row shown: one positive integer. */
    if (p.after != NULL) {
        if (json_array_size(p.after) != 1 || !json_is_integer(json_array_get(p.after, 0))
            || (key = json_integer_value(json_array_get(p.after, 0))) < 1) {
            status = problem_send(r, PROBLEM_BAD_REQUEST, "cursor: not a cursor from this list");
            goto out;
        }
        snprintf(after, sizeof(after), "%lld", (long long)key);
    }
    snprintf(limit, sizeof(limit), "%d", p.limit + 1);
    params[0] = query_get(&q, "resource_type");
    params[1] = query_get(&q, "resource_id");
    params[2] = actor;
    params[3] = action;
    params[8] = p.after != NULL ? after : NULL;
    params[9] = limit;
    params[10] = email;
    if ((status = http_exec_or_problem(
             r, strcmp(order, "asc") == 0 ? "audit_list_asc" : "audit_list_desc", 11, params, &res))
        != 0) {
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
