/* licences.c: /v1/organisations/{id}/licences and /v1/licences/{id}. An organisation's licence
 * to deliver M-PACT, its status changes and their history.
 *
 * The stored status is what the licensing body set; the status a client sees is the effective
 * one (licence_effective_status): an active or suspended licence past valid_until reads as
 * expired. Every change also writes a licence_status_history row, so later rules can ask how a
 * licence stood on a past date, and an audit row, in the same transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/audit.h"
#include "registry/auth.h"
#include "registry/config.h"
#include "registry/db.h"
#include "registry/http.h"
#include "registry/problem.h"
#include "registry/resources.h"
#include "registry/validate.h"
#include "registry/webhooks.h"

#define LIC_REASON_MAX 500 /* characters */

/* The licence as clients see it; `_`-columns are internal (db_row_to_json leaves them out). */
#define LIC_COLUMNS                                                                                \
    "l.id, l.organisation_id, l.number, "                                                          \
    "licence_effective_status(l.status, l.valid_until, registry_today()) AS status, "              \
    "l.valid_from, l.valid_until, l.reason, l.created_at, l.updated_at, "                          \
    "l.status AS _stored_status, l.version AS _version, l.created_at::text AS _created_at, "       \
    "registry_today()::text AS _today "

/* Writes the history row of a change made by the statement's CTE `u`. */
#define LIC_HISTORY_FROM_U                                                                         \
    "INSERT INTO licence_status_history (licence_id, status, valid_from, valid_until, reason,"     \
    " changed_by) SELECT u.id, u.status, u.valid_from, u.valid_until, u.reason, $3::uuid FROM u "

const struct db_stmt licences_stmts[] = {
    {"lic_get", "SELECT " LIC_COLUMNS "FROM licence l WHERE l.id = $1::uuid"},
    {"lic_get_locked", "SELECT " LIC_COLUMNS "FROM licence l WHERE l.id = $1::uuid FOR UPDATE"},
    /* The organisation for a new licence, locked so two creates for it run one after another. */
    {"lic_org_locked",
     "SELECT o.id, o.archived_at FROM organisation o WHERE o.id = $1::uuid FOR UPDATE"},
    {"lic_org_get", "SELECT o.id, o.archived_at FROM organisation o WHERE o.id = $1::uuid"},
    /* The organisation of licence $1, share-locked: a change to a licence and the archiving of
     * its organisation (which looks at its licences) must not interleave. */
    {"lic_org_of_locked",
     "SELECT o.id, o.archived_at FROM organisation o "
     "WHERE o.id = (SELECT organisation_id FROM licence WHERE id = $1::uuid) FOR SHARE OF o"},
    /* The organisation's one stored pending/active/suspended licence, if any. */
    {"lic_open_locked", "SELECT " LIC_COLUMNS "FROM licence l WHERE l.organisation_id = $1::uuid"
                        " AND l.status IN ('pending', 'active', 'suspended') FOR UPDATE"},
    {"lic_list",
     "SELECT " LIC_COLUMNS "FROM licence l WHERE l.organisation_id = $1::uuid"
     " AND ($2::text IS NULL"
     "      OR licence_effective_status(l.status, l.valid_until, registry_today()) = $2::text)"
     " AND ($3::timestamptz IS NULL OR (l.created_at, l.id) < ($3::timestamptz, $4::uuid))"
     " ORDER BY l.created_at DESC, l.id DESC LIMIT $5::int"},
    /* $1 organisation, $2 body {valid_from, valid_until, reason?}, $3 the admin's user id.
     * Numbers run MPL-<year>-0001 upwards, 4 digits or more, from one sequence. */
    {"lic_insert",
     "WITH u AS ("
     " INSERT INTO licence (organisation_id, number, valid_from, valid_until, reason)"
     " SELECT $1::uuid,"
     "  'MPL-' || to_char(registry_today(), 'YYYY') || '-' || lpad(n::text, greatest(4,"
     "  length(n::text)), '0'),"
     "  (j->>'valid_from')::date, (j->>'valid_until')::date, j->>'reason'"
     " FROM (SELECT $2::jsonb AS j, nextval('licence_number_seq') AS n) s"
     " RETURNING id, status, valid_from, valid_until, reason),"
     " h AS (" LIC_HISTORY_FROM_U ") "
     "SELECT id FROM u"},
    /* $1 licence, $2 body {status?, valid_from?, valid_until?, reason, effective_on?}, $3 the
     * admin's user id. The history row takes effect on effective_on (default today); dated after
     * today the change is scheduled: only the history row is written now, and
     * registry_apply_scheduled gives it to the licence on that day. */
    {"lic_update",
     "WITH s AS (SELECT $2::jsonb AS j, coalesce(($2::jsonb->>'effective_on')::date,"
     "  registry_today()) AS eff, coalesce(($2::jsonb->>'effective_on')::date,"
     "  registry_today()) > registry_today() AS sch),"
     " u AS ("
     " UPDATE licence SET"
     "  status = CASE WHEN sch THEN status ELSE coalesce(j->>'status', status) END,"
     "  valid_from = CASE WHEN sch THEN valid_from"
     "               ELSE coalesce((j->>'valid_from')::date, valid_from) END,"
     "  valid_until = CASE WHEN sch THEN valid_until"
     "                ELSE coalesce((j->>'valid_until')::date, valid_until) END,"
     "  reason = CASE WHEN sch THEN licence.reason ELSE j->>'reason' END,"
     "  updated_at = now(), version = version + 1"
     " FROM s WHERE id = $1::uuid"
     " RETURNING id, status, valid_from, valid_until) "
     "INSERT INTO licence_status_history (licence_id, status, valid_from, valid_until, reason,"
     " changed_by, effective_on, scheduled)"
     " SELECT u.id, coalesce(s.j->>'status', u.status),"
     "  coalesce((s.j->>'valid_from')::date, u.valid_from),"
     "  coalesce((s.j->>'valid_until')::date, u.valid_until), s.j->>'reason', $3::uuid, s.eff,"
     "  s.sch FROM u, s"},
    /* Before any change to licence $1: its scheduled changes now due take effect. */
    {"lic_apply_due", "SELECT registry_apply_scheduled($1::uuid)"},
    /* A change replaces one of licence $1 still scheduled. */
    {"lic_unschedule", "DELETE FROM licence_status_history WHERE licence_id = $1::uuid"
                       " AND scheduled"},
    /* The day licence $1's last change (not scheduled) took effect, and the earliest day a change
     * may be dated ($2 days back). */
    {"lic_last_effective",
     "SELECT max(effective_on)::text AS last, (registry_today() - $2::int)::text AS earliest"
     " FROM licence_status_history WHERE licence_id = $1::uuid AND NOT scheduled"},
    /* Stores as expired an active or suspended licence past valid_until ($2 the reason). */
    {"lic_store_expired",
     "WITH u AS ("
     " UPDATE licence SET status = 'expired', reason = $2::text, updated_at = now(),"
     "  version = version + 1"
     " WHERE id = $1::uuid AND status IN ('active', 'suspended') AND valid_until < registry_today()"
     " RETURNING id, status, valid_from, valid_until, reason) " LIC_HISTORY_FROM_U},
    {NULL, NULL},
};

/* Every status a licence can have, stored or effective. */
static const char *const lic_statuses[] = {
    "pending", "active", "suspended", "expired", "revoked", NULL,
};

static const struct field lic_create_fields[] = {
    {"valid_from", FIELD_DATE, FIELD_REQUIRED, 0, 0, NULL},
    {"valid_until", FIELD_DATE, FIELD_REQUIRED, 0, 0, NULL},
    {"reason", FIELD_TEXT, 0, 1, LIC_REASON_MAX, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* A change is validated as if creating (validate_fields checks FIELD_REQUIRED only then): every
 * field is optional except `reason`, which every change must give. */
static const struct field lic_update_fields[] = {
    {"status", FIELD_ENUM, 0, 0, 0, lic_statuses},
    {"valid_from", FIELD_DATE, 0, 0, 0, NULL},
    {"valid_until", FIELD_DATE, 0, 0, 0, NULL},
    {"reason", FIELD_TEXT, FIELD_REQUIRED, 1, LIC_REASON_MAX, NULL},
    {"effective_on", FIELD_DATE, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* The rule table on stored statuses: pending→active; active↔suspended; active|suspended→revoked.
 * Revoked and expired are final, and nothing moves to expired by hand (it is computed from
 * valid_until, and stored only when a new licence replaces the old one). */
static const struct {
    const char *from;
    const char *to;
} lic_transitions[] = {
    {"pending", "active"}, {"active", "suspended"},  {"suspended", "active"},
    {"active", "revoked"}, {"suspended", "revoked"},
};

int
licences_transition_allowed(const char *from, const char *to)
{
    size_t i;

    if (from == NULL || to == NULL) {
        return 0;
    }
    for (i = 0; i < sizeof(lic_transitions) / sizeof(lic_transitions[0]); i++) {
        if (strcmp(lic_transitions[i].from, from) == 0 && strcmp(lic_transitions[i].to, to) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A string member of `in`, or NULL (borrowed). */
static const char *
str_field(json_t *in, const char *key)
{
    return json_string_value(json_object_get(in, key));
}

/* 1 when the caller may see row 0 of `res`, a row of their own organisation. */
static int
in_org(const struct principal *p, const PGresult *res)
{
    return auth_in_org(p, db_value(res, 0, "organisation_id"));
}

/* Reads licence `id` (locked when `lock`) and checks the caller may see it: a malformed id, a
 * missing licence and another organisation's licence all get the same 404. Returns 0 with the
 * result in *out, or the status of the problem already sent. */
static int
load_or_problem(struct req *r, const char *id, int lock, PGresult **out)
{
    return http_row_or_problem(r, lock ? "lic_get_locked" : "lic_get", id, "licence", in_org, out);
}

/* Reads organisation `id` with statement `stmt` and checks the caller may see it. Archived
 * organisations are absent unless `archived_ok`. Returns 0, or the status of the problem sent. */
static int
org_or_problem(struct req *r, const char *stmt, const char *id, int archived_ok)
{
    const char *params[1] = {id};
    PGresult *res;
    int status = 0;

    if (!validate_uuid(id) || !auth_in_org(&r->principal, id)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no organisation with id %s", id);
    }
    res = db_exec(r->db, stmt, 1, params);
    if (!db_ok(res)) {
        status = problem_from_db(r, res);
    } else if (PQntuples(res) == 0 || (!archived_ok && db_value(res, 0, "archived_at") != NULL)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no organisation with id %s", id);
    }
    PQclear(res);
    return status;
}

int
licences_get(struct req *r)
{
    PGresult *res = NULL;
    json_t *body = NULL;
    int status;

    if ((status = load_or_problem(r, r->params[0], 0, &res)) != 0) {
        goto out;
    }
    body = db_row_to_json(res, 0);
    status = http_send_resource(r, 200, body, db_value(res, 0, "_version"));
out:
    json_decref(body);
    PQclear(res);
    return status;
}

int
licences_list(struct req *r)
{
    static const char *const allowed[] = {"status", "limit", "cursor", NULL};
    const char *org = r->params[0], *params[5], *filter;
    struct query q;
    struct page p = {0, NULL};
    PGresult *res = NULL;
    int status;

    if ((status = http_query_or_problem(r, allowed, &q)) != 0
        || (status = http_page_or_problem(r, &q, &p)) != 0) {
        goto out;
    }
    filter = query_get(&q, "status");
    if (filter != NULL && !validate_in_list(lic_statuses, filter)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST,
                              "status: one of pending, active, suspended, expired, revoked");
        goto out;
    }
    if ((status = http_cursor_or_problem(r, &p, 2, http_cursor_timestamptz)) != 0) {
        goto out;
    }
    /* The licences of an archived organisation stay on record for the licensing body. */
    if ((status = org_or_problem(r, "lic_org_get", org, auth_is_admin(&r->principal))) != 0) {
        goto out;
    }
    params[0] = org;
    params[1] = filter;
    params[2] = page_after(&p, 0);
    params[3] = page_after(&p, 1);
    status = page_query_send(r, "lic_list", params, 5, &p, "_created_at");
out:
    PQclear(res);
    page_cleanup(&p);
    query_cleanup(&q);
    return status;
}

/* Stores as expired the organisation's open licence `open` (row 0, locked) when it has passed
 * valid_until, with its history and audit rows. Sets *expired to 1 when it did. Returns 0, or
 * the status of the problem already sent. */
static int
store_expired_or_problem(struct req *r, PGresult *open, int *expired)
{
    const char *id = db_value(open, 0, "id");
    const char *params[3];
    char reason[96];
    PGresult *res = NULL, *fail = NULL;
    json_t *before = NULL, *after = NULL;
    int status = 0;

    *expired = 0;
    if (strcmp(db_value(open, 0, "status"), "expired") != 0) {
        return 0;
    }
    snprintf(reason, sizeof(reason),
             "valid until %s; stored as expired when a new licence "
             "was issued",
             db_value(open, 0, "valid_until"));
    before = db_row_to_json(open, 0);
    params[0] = id;
    params[1] = reason;
    params[2] = r->principal.sub;
    if ((status = http_exec_or_problem(r, "lic_store_expired", 3, params, NULL)) != 0) {
        goto out;
    }
    res = db_exec(r->db, "lic_get", 1, params);
    if (!db_ok(res) || PQntuples(res) != 1) {
        status = problem_from_db(r, res);
        goto out;
    }
    after = db_row_to_json(res, 0);
    if ((fail = audit_write(r, "expire", "licence", id, before, after)) != NULL) {
        status = problem_from_db(r, fail);
        goto out;
    }
    *expired = 1;
out:
    PQclear(fail);
    PQclear(res);
    json_decref(before);
    json_decref(after);
    return status;
}

int
licences_create(struct req *r)
{
    json_t *in = NULL, *errors = json_array();
    PGresult *res = NULL;
    const char *org = r->params[0], *params[3], *from, *until;
    char *text = NULL, id[40];
    int status, expired;

    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    if (validate_fields(in, lic_create_fields, 1, errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    /* Both are valid YYYY-MM-DD dates here, which order as strings. */
    from = str_field(in, "valid_from");
    until = str_field(in, "valid_until");
    if (strcmp(until, from) < 0) {
        problem_add_error(errors, "valid_until", "must not be before valid_from");
        status = problem_send_errors(r, errors);
        goto out;
    }
    if (!validate_uuid(org)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no organisation with id %s", org);
        goto out;
    }
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = org_or_problem(r, "lic_org_locked", org, 0)) != 0) {
        goto out;
    }
    /* At most one pending, active or suspended licence per organisation. One past valid_until
     * no longer counts: it is stored as expired first, so the index agrees. */
    params[0] = org;
    if ((status = http_exec_or_problem(r, "lic_open_locked", 1, params, &res)) != 0) {
        goto out;
    }
    if (PQntuples(res) > 0) {
        if ((status = store_expired_or_problem(r, res, &expired)) != 0) {
            goto out;
        }
        if (!expired) {
            status = problem_send(r, PROBLEM_CONFLICT,
                                  "the organisation already holds licence %s, which is %s; an "
                                  "organisation may hold one pending, active or suspended "
                                  "licence at a time",
                                  db_value(res, 0, "number"), db_value(res, 0, "status"));
            goto out;
        }
    }
    text = json_dumps(in, JSON_COMPACT);
    params[1] = text;
    params[2] = r->principal.sub;
    if ((status = http_insert_or_problem(r, "lic_insert", 3, params, id, sizeof(id))) != 0) {
        goto out;
    }
    status = audit_commit_and_send(r, "create", "licence", id, NULL, "lic_get", "/v1/licences/");
out:
    free(text);
    PQclear(res);
    json_decref(errors);
    json_decref(in);
    return status;
}

/* Checks a change `in` against the locked licence `cur` (row 0): the status transition and
 * the dates. Returns 0, or the status of the problem already sent. */
static int
change_allowed_or_problem(struct req *r, json_t *in, const PGresult *cur)
{
    const char *number = db_value(cur, 0, "number");
    const char *stored = db_value(cur, 0, "_stored_status");
    const char *effective = db_value(cur, 0, "status");
    const char *to = str_field(in, "status");
    const char *new_from = str_field(in, "valid_from");
    const char *new_until = str_field(in, "valid_until");
    const char *from = new_from != NULL ? new_from : db_value(cur, 0, "valid_from");
    const char *until = new_until != NULL ? new_until : db_value(cur, 0, "valid_until");
    json_t *errors;
    int status;

    if (strcmp(stored, "revoked") == 0 || strcmp(stored, "expired") == 0) {
        if (to != NULL) {
            return problem_send(r, PROBLEM_INVALID_TRANSITION,
                                "licence %s is %s, which is final: it cannot become %s", number,
                                stored, to);
        }
        return problem_send(r, PROBLEM_CONFLICT,
                            "licence %s is %s, which is final: it cannot change; issue a new "
                            "licence instead",
                            number, stored);
    }
    if (to != NULL) {
        if (strcmp(to, "expired") == 0) {
            return problem_send(r, PROBLEM_INVALID_TRANSITION,
                                "licence %s: %s to expired is not a change you can make; a "
                                "licence expires by itself after valid_until",
                                number, effective);
        }
        if (strcmp(effective, "expired") == 0) {
            return problem_send(r, PROBLEM_INVALID_TRANSITION,
                                "licence %s: expired to %s is not allowed; it expired after "
                                "%s: extend valid_until (with a reason) to renew it first",
                                number, to, db_value(cur, 0, "valid_until"));
        }
        if (!licences_transition_allowed(stored, to)) {
            return problem_send(r, PROBLEM_INVALID_TRANSITION,
                                "licence %s: %s to %s is not allowed; allowed are pending to "
                                "active, active to suspended or revoked, suspended to active or "
                                "revoked",
                                number, stored, to);
        }
        /* Activating must not make a licence that is expired from the start. */
        if (strcmp(to, "active") == 0 && strcmp(until, db_value(cur, 0, "_today")) < 0) {
            return problem_send(r, PROBLEM_INVALID_TRANSITION,
                                "licence %s: %s to active is not allowed: valid_until %s has "
                                "passed; send a later valid_until with the change",
                                number, stored, until);
        }
    }
    if (new_from != NULL && strcmp(stored, "pending") != 0) {
        return problem_send(r, PROBLEM_CONFLICT,
                            "licence %s is %s: valid_from may only change while it is pending",
                            number, stored);
    }
    /* Valid YYYY-MM-DD dates order as strings. */
    if (strcmp(until, from) < 0) {
        errors = json_array();
        if (new_until != NULL) {
            problem_add_error(errors, "valid_until", "must not be before valid_from");
        } else {
            problem_add_error(errors, "valid_from", "must not be after valid_until");
        }
        status = problem_send_errors(r, errors);
        json_decref(errors);
        return status;
    }
    return 0;
}

/* Checks the effective_on of a change in `in` to licence `id`: no earlier than
 * REGISTRY_BACKDATE_MAX_DAYS ago, nor than its last change took effect (history stays in order).
 * A later date schedules the change. Returns 0, or the status of the problem already sent. */
static int
effective_on_or_problem(struct req *r, json_t *in, const char *id)
{
    const char *eff = str_field(in, "effective_on"), *params[2], *last, *earliest;
    char days[16], detail[128];
    PGresult *res = NULL;
    int status = 0;

    if (eff == NULL) {
        return 0;
    }
    snprintf(days, sizeof(days), "%d", config.backdate_max_days);
    params[0] = id;
    params[1] = days;
    if ((status = http_exec_or_problem(r, "lic_last_effective", 2, params, &res)) != 0) {
        return status;
    }
    last = db_value(res, 0, "last");
    earliest = db_value(res, 0, "earliest");
    /* Valid YYYY-MM-DD dates order as strings. */
    if (strcmp(eff, earliest) < 0) {
        snprintf(detail, sizeof(detail),
                 "must not be more than %d days in the past (REGISTRY_BACKDATE_MAX_DAYS)",
                 config.backdate_max_days);
        status = problem_send_field(r, "effective_on", detail);
    } else if (last != NULL && strcmp(eff, last) < 0) {
        snprintf(detail, sizeof(detail), "must not be before the last change took effect (%s)",
                 last);
        status = problem_send_field(r, "effective_on", detail);
    }
    PQclear(res);
    return status;
}

int
licences_update(struct req *r)
{
    json_t *in = NULL, *errors = json_array(), *before = NULL;
    PGresult *res = NULL;
    const char *id = r->params[0], *params[3];
    char *text = NULL;
    int status;

    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    /* Validated as on create, so a missing reason is named with the other errors. */
    if (validate_fields(in, lic_update_fields, 1, errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    if (json_object_get(in, "status") == NULL && json_object_get(in, "valid_from") == NULL
        && json_object_get(in, "valid_until") == NULL) {
        problem_add_error(errors, "body",
                          "name at least one of status, valid_from, valid_until to change");
        status = problem_send_errors(r, errors);
        goto out;
    }
    if (!validate_uuid(id)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no licence with id %s", id);
        goto out;
    }
    /* Lock order as in create and in archiving: organisation first, then the licence. */
    params[0] = id;
    if ((status = http_begin_or_problem(r, 1)) != 0
        || (status = http_exec_or_problem(r, "lic_org_of_locked", 1, params, &res)) != 0) {
        goto out;
    }
    if (PQntuples(res) == 1 && db_value(res, 0, "archived_at") != NULL) {
        status = problem_send(r, PROBLEM_CONFLICT, "the licence's organisation is archived");
        goto out;
    }
    PQclear(res);
    res = NULL;
    if (validate_uuid(id) && auth_is_admin(&r->principal)
        && (status = http_exec_or_problem(r, "lic_apply_due", 1, params, NULL)) != 0) {
        goto out;
    }
    if ((status = load_or_problem(r, id, 1, &res)) != 0
        || (status = http_if_match_or_problem(r, db_value(res, 0, "_version"))) != 0
        || (status = change_allowed_or_problem(r, in, res)) != 0
        || (status = effective_on_or_problem(r, in, id)) != 0
        || (status = http_exec_or_problem(r, "lic_unschedule", 1, params, NULL)) != 0) {
        goto out;
    }
    before = db_row_to_json(res, 0);
    PQclear(res);
    text = json_dumps(in, JSON_COMPACT);
    params[1] = text;
    params[2] = r->principal.sub;
    res = NULL;
    if ((status = http_exec_or_problem(r, "lic_update", 3, params, NULL)) != 0
        || (status = webhooks_enqueue(r, "licence.status_changed", id, before)) != 0) {
        goto out;
    }
    status = audit_commit_and_send(r, "update", "licence", id, before, "lic_get", NULL);
out:
    free(text);
    PQclear(res);
    json_decref(before);
    json_decref(errors);
    json_decref(in);
    return status;
}
