/* licences.c: /v1/organisations/{id}/licences and /v1/licences/{id}. An organisation's licence
 * to deliver M-PACT, its status changes and their history.
 *
 * The stored status is what the licensing body set; the status a client sees is the effective
 * one (licence_effective_status): an active or suspended licence past valid_until reads as
 * expired. Every change also writes a licence_status_history row, so later rules can ask how a
 * licence stood on a past date, and an audit row, in the same transaction. */
#include "registry/licences.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/audit.h"
#include "registry/auth.h"
#include "registry/organisations.h"
#include "registry/problem.h"
#include "registry/resource.h"
#include "registry/webhooks.h"

#define LIC_REASON_MAX 500 /* characters */

/* The licence as clients see it; `_`-columns are internal (db_row_to_json leaves them out). */
#define LIC_COLUMNS                                                                                \
    "l.id, l.organisation_id, l.number, "                                                          \
    "licence_effective_status(l.status, l.valid_until, registry_today()) AS status, "              \
    "l.valid_from, l.valid_until, l.reason, l.created_at, l.updated_at, "                          \
    "l.status AS _stored_status, l.version AS _version, l.created_at::text AS _created_at, "       \
    "registry_today()::text AS _today "

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
    /* $1 body {valid_from, valid_until, reason?, changed_by}, $2 organisation (changed_by: the
     * admin's user id, set by lic_check). Numbers run MPL-<year>-0001 upwards, 4 digits or more,
     * from one sequence. */
    {"lic_insert",
     "WITH u AS ("
     " INSERT INTO licence (organisation_id, number, valid_from, valid_until, reason)"
     " SELECT $2::uuid,"
     "  'MPL-' || to_char(registry_today(), 'YYYY') || '-' || lpad(n::text, greatest(4,"
     "  length(n::text)), '0'),"
     "  (j->>'valid_from')::date, (j->>'valid_until')::date, j->>'reason'"
     " FROM (SELECT $1::jsonb AS j, nextval('licence_number_seq') AS n) s"
     " RETURNING id, status, valid_from, valid_until, reason),"
     " h AS (INSERT INTO licence_status_history (licence_id, status, valid_from, valid_until,"
     "       reason, changed_by) SELECT u.id, u.status, u.valid_from, u.valid_until, u.reason,"
     "       ($1::jsonb->>'changed_by')::uuid FROM u) "
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
     " RETURNING id, status, valid_from, valid_until, reason) "
     "INSERT INTO licence_status_history (licence_id, status, valid_from, valid_until, reason,"
     " changed_by) SELECT u.id, u.status, u.valid_from, u.valid_until, u.reason, $3::uuid FROM u"},
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
static const struct transition lic_transitions[] = {
    {"pending", "active"},   {"active", "suspended"},  {"active", "revoked"},
    {"suspended", "active"}, {"suspended", "revoked"}, {NULL, NULL},
};

int
licences_transition_allowed(const char *from, const char *to)
{
    return resource_transition_allowed(lic_transitions, from, to);
}

/* A string member of `in`, or NULL (borrowed). */
static const char *
str_field(json_t *in, const char *key)
{
    return json_string_value(json_object_get(in, key));
}

/* A new licence is for an organisation that is not archived. */
static int
org_open(const struct principal *p, const PGresult *res)
{
    return auth_in_org(p, db_value(res, 0, "id")) && db_value(res, 0, "archived_at") == NULL;
}

static int
lic_listing(struct req *r, const struct query *q, const char **params)
{
    PGresult *org = NULL;
    int status;

    (void)q;
    /* The organisation as its own GET shows it: absent to a caller who does not belong to it;
     * the licences of an archived one stay on record for the licensing body. */
    status = http_row_or_problem(r, "lic_org_get", params[0], "organisation", org_resource.visible,
                                 &org);
    PQclear(org);
    return status;
}

/* Both dates are valid YYYY-MM-DD here (when the field table found no error): they order as
 * strings. */
static int
lic_normalise(struct req *r, json_t *in, json_t *errors)
{
    (void)r;
    if (json_array_size(errors) == 0
        && strcmp(str_field(in, "valid_until"), str_field(in, "valid_from")) < 0) {
        problem_add_error(errors, "valid_until", "must not be before valid_from");
    }
    return 0;
}

/* Stores as expired the organisation's open licence `open` (row 0, locked) when it has passed
 * valid_until, with its history and audit rows. Sets *expired to 1 when it did. Returns 0, or
 * the status of the problem already sent. */
static int
store_expired_or_problem(struct req *r, const PGresult *open, int *expired)
{
    const char *id = db_value(open, 0, "id"), *params[3] = {id, NULL, r->principal.sub};
    char reason[96];
    PGresult *res = NULL, *fail = NULL;
    json_t *before = NULL, *after = NULL;
    int status;

    *expired = 0;
    if (strcmp(db_value(open, 0, "status"), "expired") != 0) {
        return 0;
    }
    snprintf(reason, sizeof(reason),
             "valid until %s; stored as expired when a new licence was issued",
             db_value(open, 0, "valid_until"));
    params[1] = reason;
    if ((status = http_exec_or_problem(r, "lic_store_expired", 3, params, NULL)) != 0
        || (status = http_row_or_problem(r, "lic_get", id, "licence", NULL, &res)) != 0) {
        goto out;
    }
    before = db_row_to_json(open, 0);
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

/* A new licence of organisation (path parameter 0), which must exist and not be archived: at
 * most one pending, active or suspended licence per organisation. One past valid_until no longer
 * counts: it is stored as expired first, so the index agrees. The history row names the admin. */
static int
lic_check(struct req *r, json_t *in, const PGresult *cur, json_t *errors)
{
    const char *params[1] = {r->params[0]};
    PGresult *org = NULL, *open = NULL;
    int status, expired = 1;

    (void)cur;
    (void)errors;
    /* Locked, so two creates for one organisation run one after another. */
    status = http_row_or_problem(r, "lic_org_locked", params[0], "organisation", org_open, &org);
    PQclear(org);
    if (status != 0
        || (status = http_exec_or_problem(r, "lic_open_locked", 1, params, &open)) != 0) {
        return status;
    }
    if (PQntuples(open) > 0 && (status = store_expired_or_problem(r, open, &expired)) == 0
        && !expired) {
        status = problem_send(r, PROBLEM_CONFLICT,
                              "the organisation already holds licence %s, which is %s; an "
                              "organisation may hold one pending, active or suspended licence "
                              "at a time",
                              db_value(open, 0, "number"), db_value(open, 0, "status"));
    }
    PQclear(open);
    json_object_set_new(in, "changed_by", json_string(r->principal.sub));
    return status;
}

static const struct filter lic_filters[] = {
    {"status", FILTER_ENUM, lic_statuses},
    {NULL, 0, NULL},
};

/* An organisation's licences, newest first; a licence is read by the licensing body and its own
 * organisation. Changes (PATCH) are licences_update's. */
const struct resource lic_resource = {
    .name = "licence",
    .location = "/v1/licences/",
    .stmt = "lic",
    .fields = lic_create_fields,
    .parent = "organisation",
    .filters = lic_filters,
    .sort_key = "_created_at",
    .cursor_ok = http_cursor_timestamptz,
    .visible = resource_in_org,
    .rules = {.normalise = lic_normalise, .check = lic_check, .listing = lic_listing},
};

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
    char allowed[160];

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
    if (to != NULL && strcmp(to, "expired") == 0) {
        return problem_send(r, PROBLEM_INVALID_TRANSITION,
                            "licence %s: %s to expired is not a change you can make; a licence "
                            "expires by itself after valid_until",
                            number, effective);
    }
    if (to != NULL && strcmp(effective, "expired") == 0) {
        return problem_send(r, PROBLEM_INVALID_TRANSITION,
                            "licence %s: expired to %s is not allowed; it expired after %s: "
                            "extend valid_until (with a reason) to renew it first",
                            number, to, db_value(cur, 0, "valid_until"));
    }
    if (to != NULL && !licences_transition_allowed(stored, to)) {
        resource_transitions_text(lic_transitions, allowed, sizeof(allowed));
        return problem_send(r, PROBLEM_INVALID_TRANSITION,
                            "licence %s: %s to %s is not allowed; allowed are %s", number, stored,
                            to, allowed);
    }
    /* Activating must not make a licence that is expired from the start. */
    if (to != NULL && strcmp(to, "active") == 0 && strcmp(until, db_value(cur, 0, "_today")) < 0) {
        return problem_send(r, PROBLEM_INVALID_TRANSITION,
                            "licence %s: %s to active is not allowed: valid_until %s has passed; "
                            "send a later valid_until with the change",
                            number, stored, until);
    }
    if (new_from != NULL && strcmp(stored, "pending") != 0) {
        return problem_send(r, PROBLEM_CONFLICT,
                            "licence %s is %s: valid_from may only change while it is pending",
                            number, stored);
    }
    /* Valid YYYY-MM-DD dates order as strings. */
    if (strcmp(until, from) < 0) {
        return new_until != NULL
                   ? problem_send_field(r, "valid_until", "must not be before valid_from")
                   : problem_send_field(r, "valid_from", "must not be after valid_until");
    }
    return 0;
}

/* PATCH /v1/licences/{id}: not the generic update. The organisation is share-locked before the
 * licence (the lock order of create and of archiving), the licence's scheduled changes now due
 * are applied before it is read, a change dated later is scheduled (lic_update), and every change
 * writes a history row and a licence.status_changed event. */
int
licences_update(struct req *r)
{
    json_t *in = NULL, *errors = json_array(), *before = NULL;
    PGresult *res = NULL;
    const char *id = r->params[0], *params[3] = {id, NULL, r->principal.sub};
    char *text = NULL;
    int status;

    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    /* Validated as on create, so a missing reason is named with the other errors. */
    if (validate_fields(in, lic_update_fields, 1, errors) == 0 && str_field(in, "status") == NULL
        && str_field(in, "valid_from") == NULL && str_field(in, "valid_until") == NULL) {
        problem_add_error(errors, "body",
                          "name at least one of status, valid_from, valid_until to change");
    }
    if ((status = problem_send_errors_if_any(r, errors)) != 0) {
        goto out;
    }
    if (!validate_uuid(id)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no licence with id %s", id);
        goto out;
    }
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
    if ((auth_is_admin(&r->principal)
         && (status = http_exec_or_problem(r, "lic_apply_due", 1, params, NULL)) != 0)
        || (status = http_row_or_problem(r, "lic_get_locked", id, "licence", resource_in_org, &res))
               != 0
        || (status = http_if_match_or_problem(r, db_value(res, 0, "_version"))) != 0
        || (status = change_allowed_or_problem(r, in, res)) != 0
        || (status = resource_effective_on_or_problem(r, "lic_last_effective", id,
                                                      str_field(in, "effective_on"),
                                                      config.backdate_max_days))
               != 0
        || (status = http_exec_or_problem(r, "lic_unschedule", 1, params, NULL)) != 0) {
        goto out;
    }
    before = db_row_to_json(res, 0);
    if ((params[1] = text = json_dumps(in, JSON_COMPACT)) == NULL) {
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
        goto out;
    }
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
