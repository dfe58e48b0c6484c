/* training.c: /v1/training-sessions, their enrolments, and the outcomes that accredit. The rules
 * are told where they are kept (the statements, the hooks, the checks); in short:
 *
 * - Sessions: the licensing body writes, anyone signed in reads. Created scheduled on an active
 *   course; completed and cancelled are final. `awaiting_outcomes` (scheduled, ends_on passed)
 *   is computed, as a facilitator's `lapsed`: stored it is still scheduled. `enrolled` counts
 *   the enrolments not withdrawn; `places_left` is capacity - enrolled while scheduled, else 0.
 * - Enrolments: the licensing body enrols anyone; an org_admin nominates, withdraws and
 *   re-enrols only their own current staff (anyone else is a 422 naming facilitator_id, so
 *   nothing leaks about other organisations' staff), and sees only their enrolments (another's
 *   is a 404); org_staff may not (403). Places and one enrolment per facilitator are counted
 *   under the session's row lock. Outcomes are the licensing body's; `passed` changes the
 *   facilitator in the same transaction, with a status history row and its own audit row.
 * - POST .../outcomes (admin): [{enrolment_id, status}] of one session in one transaction, each
 *   entry checked as a PATCH would be; any failure is a 422 naming each failing entry
 *   ("[i].enrolment_id", "[i].status") and writes nothing; else 200 with the enrolments as
 *   they now stand, in the order given. */
#include "registry/training.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/audit.h"
#include "registry/auth.h"
#include "registry/facilitators.h"
#include "registry/problem.h"
#include "registry/resource.h"
#include "registry/webhooks.h"

#define SES_TRAINERS_MAX   20
#define SES_DEFAULT_MONTHS "36"

/* A session's status as clients see it: a scheduled session past its end awaits outcomes. */
#define SES_STATUS                                                                                 \
    "CASE WHEN s.status = 'scheduled' AND s.ends_on < registry_today() THEN 'awaiting_outcomes'"   \
    " ELSE s.status END"

/* A session as clients see it; `_`-columns are internal. */
#define SES_SELECT                                                                                 \
    "SELECT s.id, s.course_id, c.code AS course_code, c.title AS course_title, c.kind AS "         \
    "course_kind, s.starts_on, s.ends_on, s.venue, s.location_id, coalesce((SELECT jsonb_agg("     \
    "t.facilitator_id ORDER BY t.facilitator_id) FROM training_session_trainer t WHERE "           \
    "t.session_id = s.id), '[]'::jsonb) AS trainer_ids, s.capacity, " SES_STATUS " AS status, "    \
    "k.n AS enrolled, CASE WHEN " SES_STATUS " = 'scheduled' THEN greatest(s.capacity - k.n, 0) "  \
    "ELSE 0 END AS places_left, s.status AS _stored_status, s.created_at, s.updated_at, "          \
    "s.version AS _version, s.starts_on::text AS _starts_on, s.ends_on::text AS _ends_on, "        \
    "c.grants_months AS _grants_months, registry_today()::text AS _today, k.o AS _outcomes "       \
    "FROM training_session s JOIN course c ON c.id = s.course_id CROSS JOIN LATERAL (SELECT "      \
    "(count(*) FILTER (WHERE e.status <> 'withdrawn'))::int AS n, (count(*) FILTER (WHERE "        \
    "e.status IN ('attended', 'passed', 'failed')))::int AS o FROM enrolment e WHERE "             \
    "e.session_id = s.id) k "

/* An enrolment as clients see it, read from `table` (enrolment, or the rows a statement wrote);
 * organisation_id is the facilitator's current employer. */
#define ENR_SELECT_FROM(table)                                                                     \
    "SELECT e.id, e.session_id, e.facilitator_id, f.registration_number, f.given_name, "           \
    "f.family_name, (SELECT m.organisation_id FROM facilitator_employment m WHERE "                \
    "m.facilitator_id = e.facilitator_id AND m.ended_on IS NULL) AS organisation_id, e.status, "   \
    "e.nominated_by, e.created_at, e.updated_at, e.version AS _version, e.created_at::text AS "    \
    "_created_at FROM " table " e JOIN facilitator f ON f.id = e.facilitator_id "
#define ENR_SELECT ENR_SELECT_FROM("enrolment")

/* The facilitator fields a training outcome changes, for the audit trail. */
#define FAC_FIELDS                                                                                 \
    "f.id, f.registration_number, f.given_name, f.family_name, " FAC_STATUS " AS status, "         \
    "f.accredited_on, f.accredited_until, f.trainer, f.reason, f.updated_at, "                     \
    "f.status AS _stored_status "

const struct db_stmt training_stmts[] = {
    {"ses_get", SES_SELECT "WHERE s.id = $1::uuid"},
    /* Locks the session row only; the counts are read again once the lock is held. */
    {"ses_get_locked", SES_SELECT "WHERE s.id = $1::uuid FOR UPDATE OF s"},
    {"ses_lock", "SELECT id FROM training_session WHERE id = $1::uuid FOR UPDATE"},
    /* $1 course_id, $2 status, $3 from, $4 to, $5/$6 cursor (starts_on, id), $7 limit. */
    {"ses_list", SES_SELECT
     "WHERE ($1::uuid IS NULL OR s.course_id = $1::uuid) AND ($2::text IS NULL OR " SES_STATUS
     " = $2::text) AND ($3::date IS NULL OR s.ends_on >= $3::date) AND "
     "($4::date IS NULL OR s.starts_on <= $4::date) AND ($5::date IS NULL OR "
     "(s.starts_on, s.id) > ($5::date, $6::uuid)) ORDER BY s.starts_on, s.id LIMIT $7::int"},
    /* The broken references of a session body, one (field, detail) row each, in the order
     * course, location, trainers: $1 course_id (NULL: not checked; share-locked, so its kind
     * cannot change under a session being scheduled), $2 location_id, $3 trainer_ids (a JSON
     * array of UUIDs, or NULL). */
    {"ses_refs",
     "WITH c AS (SELECT id, active FROM course WHERE id = $1::uuid FOR SHARE) "
     "SELECT 'course_id', CASE WHEN c.id IS NULL THEN 'no such course'"
     "  ELSE 'the course is not active: no new session may be scheduled on it' END, 0 AS k "
     "FROM (SELECT) x LEFT JOIN c ON true WHERE $1::uuid IS NOT NULL AND c.active IS NOT TRUE "
     "UNION ALL "
     "SELECT 'location_id', CASE WHEN l.active IS NULL OR l.archived_at IS NOT NULL"
     "  THEN 'no such delivery location' ELSE 'the delivery location is not active' END, 1 "
     "FROM (SELECT) x LEFT JOIN location l ON l.id = $2::uuid"
     " WHERE $2::uuid IS NOT NULL AND (l.active IS NOT TRUE OR l.archived_at IS NOT NULL) "
     "UNION ALL "
     "SELECT 'trainer_ids', t.id || ': ' || CASE WHEN f.id IS NULL THEN 'no such facilitator'"
     "  WHEN f.status IN ('suspended', 'withdrawn') THEN 'the facilitator is ' || f.status"
     "  ELSE 'the facilitator does not hold trainer status' END, 1 + t.n "
     "FROM jsonb_array_elements_text(coalesce($3::jsonb, '[]')) WITH ORDINALITY AS t(id, n) "
     "LEFT JOIN facilitator f ON f.id = t.id::uuid "
     "WHERE f.id IS NULL OR NOT f.trainer OR f.status IN ('suspended', 'withdrawn') ORDER BY 3"},
    /* jsonb_populate_record reads the body's columns by name, typed as the table's. */
    /* The body's columns by name, typed as the table's; its trainers in the same statement. */
    {"ses_insert",
     "WITH s AS (INSERT INTO training_session (course_id, starts_on, ends_on, venue, location_id,"
     " capacity) SELECT course_id, starts_on, ends_on, venue, location_id, capacity"
     " FROM jsonb_populate_record(NULL::training_session, $1::jsonb) RETURNING id), "
     "t AS (INSERT INTO training_session_trainer (session_id, facilitator_id) SELECT s.id, x::uuid"
     " FROM s, jsonb_array_elements_text(coalesce($1::jsonb->'trainer_ids', '[]')) AS x) "
     "SELECT id FROM s"},
    /* The columns of the changes $2 replace the stored ones. trainer_ids, when named, become the
     * session's trainers: the others go, the new ones come (the statement sees the rows as they
     * were before it, so a trainer kept is neither deleted nor inserted). */
    {"ses_update",
     "WITH d AS (DELETE FROM training_session_trainer WHERE session_id = $1::uuid"
     " AND $2::jsonb ? 'trainer_ids' AND facilitator_id NOT IN"
     " (SELECT x::uuid FROM jsonb_array_elements_text($2::jsonb->'trainer_ids') AS x)), "
     "i AS (INSERT INTO training_session_trainer (session_id, facilitator_id) SELECT $1::uuid,"
     " x::uuid FROM jsonb_array_elements_text(coalesce($2::jsonb->'trainer_ids', '[]')) AS x"
     " WHERE x::uuid NOT IN (SELECT facilitator_id FROM training_session_trainer"
     " WHERE session_id = $1::uuid)) "
     "UPDATE training_session s SET (starts_on, ends_on, venue, location_id, capacity, status) = "
     "(SELECT starts_on, ends_on, venue, location_id, capacity, status FROM "
     "jsonb_populate_record(s, $2::jsonb)), updated_at = now(), version = s.version + 1 "
     "WHERE s.id = $1::uuid"},

    {"enr_get", ENR_SELECT "WHERE e.id = $1::uuid AND e.session_id = $2::uuid"},
    {"enr_lock",
     "SELECT id FROM enrolment WHERE id = $1::uuid AND session_id = $2::uuid FOR UPDATE"},
    /* $1 the licensee's organisation (NULL: admin), $2 session, $3 status, $4/$5 cursor
     * (created_at, id), $6 limit. */
    {"enr_list",
     ENR_SELECT "WHERE ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM facilitator_employment m WHERE "
                "m.facilitator_id = e.facilitator_id AND m.ended_on IS NULL AND m.organisation_id "
                "= $1::uuid)) AND e.session_id = $2::uuid AND ($3::text IS NULL OR e.status = "
                "$3::text) AND ($4::timestamptz IS NULL OR (e.created_at, e.id) > "
                "($4::timestamptz, $5::uuid)) ORDER BY e.created_at, e.id LIMIT $6::int"},
    /* Facilitator $1 as an enrolment on session $3 sees it; in_org: currently employed by $2;
     * taken_id, taken_status: their enrolment on the session, if any. */
    {"enr_facilitator",
     "SELECT f.id, f.registration_number, " FAC_STATUS " AS status, EXISTS (SELECT 1 FROM "
     "facilitator_employment m WHERE m.facilitator_id = f.id AND m.ended_on IS NULL AND "
     "m.organisation_id = $2::uuid) AS in_org, t.id AS taken_id, t.status AS taken_status "
     "FROM facilitator f LEFT JOIN enrolment t ON t.facilitator_id = f.id"
     " AND t.session_id = $3::uuid WHERE f.id = $1::uuid"},
    /* Both return the enrolment as it now stands. */
    {"enr_insert", "WITH n AS (INSERT INTO enrolment (session_id, facilitator_id, nominated_by)"
                   " VALUES ($1::uuid, $2::uuid, $3::uuid) RETURNING *) " ENR_SELECT_FROM("n")},
    {"enr_set_status",
     "WITH n AS (UPDATE enrolment SET status = $2::text, updated_at = now(),"
     " version = version + 1 WHERE id = $1::uuid RETURNING *) " ENR_SELECT_FROM("n")},

    {"trn_fac_get", "SELECT " FAC_FIELDS "FROM facilitator f WHERE f.id = $1::uuid"},
    {"trn_fac_locked", "SELECT " FAC_FIELDS "FROM facilitator f WHERE f.id = $1::uuid FOR UPDATE"},
    /* A pass: $1 facilitator, $2 course kind, $3 the session's ends_on, $4 grants_months,
     * $5 reason, $6 the admin. Writes the history row (effective today) in the same statement,
     * and returns the facilitator as it now stands. */
    {"trn_fac_pass",
     "WITH u AS (UPDATE facilitator SET"
     "  status = CASE WHEN $2::text = 'trainer' THEN status ELSE 'accredited' END,"
     "  accredited_on = CASE $2::text WHEN 'practitioner' THEN $3::date"
     "    WHEN 'refresher' THEN coalesce(accredited_on, $3::date) ELSE accredited_on END,"
     "  accredited_until = CASE $2::text"
     "    WHEN 'practitioner' THEN ($3::date + make_interval(months => $4::int))::date"
     "    WHEN 'refresher' THEN (greatest(accredited_until, $3::date)"
     "      + make_interval(months => $4::int))::date ELSE accredited_until END,"
     "  trainer = trainer OR $2::text = 'trainer',"
     "  reason = $5::text, updated_at = now(), version = version + 1"
     " WHERE id = $1::uuid RETURNING *), "
     "h AS (INSERT INTO facilitator_status_history (facilitator_id, status, accredited_on,"
     " accredited_until, reason, changed_by) "
     "SELECT id, status, accredited_on, accredited_until, reason, $6::uuid FROM u) "
     "SELECT " FAC_FIELDS "FROM u f"},
    {NULL, NULL},
};

static const char *const ses_statuses[] = {"scheduled", "completed", "cancelled", NULL};
/* What the list filters on: the statuses as clients read them. */
static const char *const ses_read_statuses[] = {"scheduled", "awaiting_outcomes", "completed",
                                                "cancelled", NULL};
static const char *const outcome_statuses[] = {"attended", "passed", "failed", NULL};
static const char *const enr_statuses[] = {"enrolled", "withdrawn", "attended",
                                           "passed",   "failed",    NULL};

/* Required when creating; status then may only be scheduled (session_normalise). */
static const struct field ses_fields[] = {
    {"course_id", FIELD_UUID, FIELD_REQUIRED, 0, 0, NULL},
    {"starts_on", FIELD_DATE, FIELD_REQUIRED, 0, 0, NULL},
    {"ends_on", FIELD_DATE, FIELD_REQUIRED, 0, 0, NULL},
    {"venue", FIELD_TEXT, FIELD_NULLABLE, 1, 200, NULL},
    {"location_id", FIELD_UUID, FIELD_NULLABLE, 0, 0, NULL},
    {"trainer_ids", FIELD_TEXT_LIST, 0, 0, SES_TRAINERS_MAX, NULL},
    {"capacity", FIELD_INT, FIELD_REQUIRED, 1, 200, NULL},
    {"status", FIELD_ENUM, 0, 0, 0, ses_statuses},
    {NULL, 0, 0, 0, 0, NULL},
};

static const struct field enr_create_fields[] = {
    {"facilitator_id", FIELD_UUID, FIELD_REQUIRED, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static const struct field enr_update_fields[] = {
    {"status", FIELD_ENUM, FIELD_REQUIRED, 0, 0, enr_statuses},
    {NULL, 0, 0, 0, 0, NULL},
};

/* Enrolment status changes; anything else is a 409. */
static const struct transition enr_transitions[] = {
    {"enrolled", "withdrawn"}, {"enrolled", "attended"},
    {"enrolled", "passed"},    {"enrolled", "failed"},
    {"attended", "passed"},    {"attended", "failed"},
    {"withdrawn", "enrolled"}, {NULL, NULL},
};

/* A string member of `in`, or NULL (borrowed). */
static const char *
str_field(json_t *in, const char *key)
{
    return json_string_value(json_object_get(in, key));
}

/* Reads session `id`, after locking its row FOR UPDATE when `lock` (inside a transaction), so
 * the enrolled count read is the one that stands until commit (sessions are never deleted: no
 * row to lock is no row to read). Returns 0 with the result in *out, or the status sent. */
static int
session_or_problem(struct req *r, const char *id, int lock, PGresult **out)
{
    const char *params[1] = {id};
    int status;

    *out = NULL;
    if (lock && validate_uuid(id)
        && (status = http_exec_or_problem(r, "ses_lock", 1, params, NULL)) != 0) {
        return status;
    }
    return http_row_or_problem(r, "ses_get", id, "training session", NULL, out);
}

/* ---- Sessions --------------------------------------------------------------------------- */

/* Checks trainer_ids (when present) have the UUID form and no repeats; adds errors. */
static void
check_trainer_ids_form(json_t *in, json_t *errors)
{
    json_t *ids = json_object_get(in, "trainer_ids"), *v;
    char detail[96];
    size_t i, j;

    if (ids == NULL || resource_has_error(errors, "trainer_ids")) {
        return;
    }
    json_array_foreach(ids, i, v)
    {
        const char *id = json_string_value(v);
        if (!validate_uuid(id)) {
            snprintf(detail, sizeof(detail), "entry %zu is not a UUID", i + 1);
            problem_add_error(errors, "trainer_ids", detail);
            continue;
        }
        for (j = 0; j < i; j++) {
            if (strcmp(json_string_value(json_array_get(ids, j)), id) == 0) {
                snprintf(detail, sizeof(detail), "%s: named twice", id);
                problem_add_error(errors, "trainer_ids", detail);
                break;
            }
        }
    }
}

/* The checks of a session body that need nothing but the body: date order and a venue or a
 * location. `cur` (row 0) supplies the stored values on a change, or is NULL on create. */
static void
check_session_shape(json_t *in, const PGresult *cur, json_t *errors)
{
    const char *starts = str_field(in, "starts_on"), *ends = str_field(in, "ends_on");
    json_t *venue = json_object_get(in, "venue"), *loc = json_object_get(in, "location_id");
    int has_venue, has_loc;

    if (resource_has_error(errors, "starts_on") || resource_has_error(errors, "ends_on")) {
        return;
    }
    if (cur != NULL) {
        starts = starts != NULL ? starts : db_value(cur, 0, "_starts_on");
        ends = ends != NULL ? ends : db_value(cur, 0, "_ends_on");
    }
    /* Valid YYYY-MM-DD dates order as strings. */
    if (starts != NULL && ends != NULL && strcmp(ends, starts) < 0) {
        if (str_field(in, "ends_on") != NULL) {
            problem_add_error(errors, "ends_on", "must not be before starts_on");
        } else {
            problem_add_error(errors, "starts_on", "must not be after ends_on");
        }
    }
    has_venue =
        venue != NULL ? !json_is_null(venue) : (cur != NULL && db_value(cur, 0, "venue") != NULL);
    has_loc =
        loc != NULL ? !json_is_null(loc) : (cur != NULL && db_value(cur, 0, "location_id") != NULL);
    if (!has_venue && !has_loc && !resource_has_error(errors, "venue")
        && !resource_has_error(errors, "location_id")) {
        problem_add_error(errors, venue != NULL || cur == NULL ? "venue" : "location_id",
                          "give a venue, a location_id, or both");
    }
}

/* The references of a session body that need the database (the course only when `course`):
 * adds one error per broken one. Returns 0, or the status of the problem already sent. */
static int
check_references(struct req *r, json_t *in, int course, json_t *errors)
{
    json_t *ids = json_object_get(in, "trainer_ids");
    char *text = ids != NULL ? json_dumps(ids, JSON_COMPACT) : NULL;
    const char *params[3] = {course ? str_field(in, "course_id") : NULL,
                             str_field(in, "location_id"), text};
    PGresult *res = NULL;
    int status, i;

    if (ids != NULL && text == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    if ((status = http_exec_or_problem(r, "ses_refs", 3, params, &res)) == 0) {
        for (i = 0; i < PQntuples(res); i++) {
            problem_add_error(errors, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
        }
    }
    free(text);
    PQclear(res);
    return status;
}

/* 1 when the body moves date `key` of the session `cur` (`_key` holds the stored one). */
static int
date_moves(json_t *in, const PGresult *cur, const char *key, const char *stored)
{
    const char *v = str_field(in, key);

    return v != NULL && strcmp(v, db_value(cur, 0, stored)) != 0;
}

/* The rules of a session body that need no database. Creating: status may only be scheduled,
 * and the shape is checked now (a change checks it against the stored row, in session_check). */
static int
session_normalise(struct req *r, json_t *in, json_t *errors)
{
    const char *st = str_field(in, "status");

    if (strcmp(r->method, "POST") == 0) {
        if (st != NULL && strcmp(st, "scheduled") != 0 && !resource_has_error(errors, "status")) {
            problem_add_error(errors, "status", "must be one of: scheduled");
        }
        check_session_shape(in, NULL, errors);
    }
    check_trainer_ids_form(in, errors);
    return 0;
}

/* A new session's course must be active. A change to the locked session `cur`: final sessions
 * stay as they are, completion waits for ends_on, dates stay once outcomes are recorded,
 * course_id never changes, capacity keeps the places taken. Either way the location and
 * trainers must be sound. */
static int
session_check(struct req *r, json_t *in, const PGresult *cur, json_t *errors)
{
    const char *course = str_field(in, "course_id"), *to = str_field(in, "status"), *ends;
    const char *stored = cur != NULL ? db_value(cur, 0, "_stored_status") : NULL;
    json_t *cap = json_object_get(in, "capacity");
    PGresult *now = NULL;
    char detail[96];
    int status;

    if (cur == NULL) {
        return check_references(r, in, 1, errors);
    }
    if (strcmp(stored, "scheduled") != 0 && to != NULL && strcmp(to, stored) != 0) {
        return problem_send(r, PROBLEM_INVALID_TRANSITION,
                            "the session is %s, which is final: it cannot become %s", stored, to);
    }
    if (strcmp(stored, "scheduled") != 0) {
        return problem_send(r, PROBLEM_CONFLICT,
                            "the session is %s, which is final: it cannot change", stored);
    }
    ends =
        str_field(in, "ends_on") != NULL ? str_field(in, "ends_on") : db_value(cur, 0, "_ends_on");
    if (to != NULL && strcmp(to, "completed") == 0
        && strcmp(ends, db_value(cur, 0, "_today")) > 0) {
        return problem_send(r, PROBLEM_INVALID_TRANSITION,
                            "the session ends on %s: it can be completed from that day on", ends);
    }
    /* The locked read took its snapshot before the lock was granted: the counts are read again,
     * now that no enrolment of this session can change until commit. */
    if ((status = session_or_problem(r, db_value(cur, 0, "id"), 0, &now)) != 0) {
        goto out;
    }
    if ((date_moves(in, cur, "starts_on", "_starts_on")
         || date_moves(in, cur, "ends_on", "_ends_on"))
        && strcmp(db_value(now, 0, "_outcomes"), "0") != 0) {
        status = problem_send(r, PROBLEM_CONFLICT,
                              "outcomes are recorded for this session: its dates cannot change");
        goto out;
    }
    if (course != NULL && strcmp(course, db_value(cur, 0, "course_id")) != 0) {
        problem_add_error(errors, "course_id",
                          "cannot change: cancel this session and schedule a new one");
    }
    check_session_shape(in, cur, errors);
    if (cap != NULL && json_integer_value(cap) < strtol(db_value(now, 0, "enrolled"), NULL, 10)) {
        snprintf(detail, sizeof(detail), "must not be below the %s places already taken",
                 db_value(now, 0, "enrolled"));
        problem_add_error(errors, "capacity", detail);
    }
    status = check_references(r, in, 0, errors);
out:
    PQclear(now);
    return status;
}

static const struct filter ses_filters[] = {
    {"course_id", FILTER_UUID, NULL},
    {"status", FILTER_ENUM, ses_read_statuses},
    {"from", FILTER_DATE, NULL}, /* sessions ending on or after it */
    {"to", FILTER_DATE, NULL},   /* sessions starting on or before it */
    {NULL, 0, NULL},
};

/* The audit names a session "training_session", and so does a 404. */
const struct resource session_resource = {
    .name = "training session",
    .audit_type = "training_session",
    .location = "/v1/training-sessions/",
    .stmt = "ses",
    .fields = ses_fields,
    .filters = ses_filters,
    .sort_key = "_starts_on",
    .cursor_ok = http_cursor_date,
    .rules = {.normalise = session_normalise, .check = session_check},
};

/* ---- Enrolments ------------------------------------------------------------------------ */

/* Reads enrolment `eid` of session `sid` (locking it when `lock`) and checks the caller may
 * see it: a licensee sees only their own current staff's. Returns 0 with the result in *out,
 * or the status of the problem already sent. */
static int
enrolment_or_problem(struct req *r, const char *sid, const char *eid, int lock, PGresult **out)
{
    const char *params[2] = {eid, sid};
    int status;

    *out = NULL;
    if (validate_uuid(eid)
        && ((lock && (status = http_exec_or_problem(r, "enr_lock", 2, params, NULL)) != 0)
            || (status = http_exec_or_problem(r, "enr_get", 2, params, out)) != 0)) {
        return status;
    }
    if (*out == NULL || PQntuples(*out) == 0 || !resource_in_org(&r->principal, *out)) {
        PQclear(*out);
        *out = NULL;
        return problem_send(r, PROBLEM_NOT_FOUND, "no enrolment with id %s", eid);
    }
    return 0;
}

/* Why facilitator `fac` (row 0: status, registration_number) may not take a course of `kind`,
 * written into `detail`; NULL when they may. Never while suspended or withdrawn; a refresher
 * extends an accreditation (accredited or lapsed); a trainer course needs a current one. `pass`
 * words it for a pass being recorded, otherwise for an enrolment. */
static const char *
unfit(const PGresult *fac, const char *kind, int pass, char *detail, size_t len)
{
    const char *st = db_value(fac, 0, "status"), *num = db_value(fac, 0, "registration_number");
    const char *who = pass ? "facilitator " : "";

    if (strcmp(st, "suspended") == 0 || strcmp(st, "withdrawn") == 0) {
        snprintf(detail, len,
                 pass ? "facilitator %s is %s: a pass cannot be recorded"
                      : "facilitator %s is %s and cannot be enrolled",
                 num, st);
    } else if (strcmp(kind, "refresher") == 0 && strcmp(st, "accredited") != 0
               && strcmp(st, "lapsed") != 0) {
        snprintf(detail, len, "%s; %s%s is %s",
                 pass ? "a refresher pass extends an accreditation"
                      : "a refresher course is for accredited or lapsed facilitators",
                 who, num, st);
    } else if (strcmp(kind, "trainer") == 0 && strcmp(st, "accredited") != 0) {
        snprintf(detail, len, "a trainer course is for accredited practitioners; %s%s is %s", who,
                 num, st);
    } else {
        return NULL;
    }
    return detail;
}

/* Reads facilitator `fid` into *fac for an enrolment on session `ses` (row 0): 422 naming
 * facilitator_id when there is none, when a licensee's current staff does not include them, or
 * when they may not take the course. Returns 0 or the status sent. */
static int
enrollable_or_problem(struct req *r, const PGresult *ses, const char *fid, PGresult **fac)
{
    int admin = auth_is_admin(&r->principal), status;
    const char *params[3] = {fid, admin ? NULL : r->principal.org, db_value(ses, 0, "id")};
    char detail[160];

    if ((status = http_exec_or_problem(r, "enr_facilitator", 3, params, fac)) != 0) {
        return status;
    }
    if (PQntuples(*fac) == 0 || (!admin && !db_bool(*fac, 0, "in_org"))) {
        return problem_send_field(r, "facilitator_id",
                                  admin ? "no such facilitator"
                                        : "not one of your organisation's current staff");
    }
    if (unfit(*fac, db_value(ses, 0, "course_kind"), 0, detail, sizeof(detail)) != NULL) {
        return problem_send_field(r, "facilitator_id", detail);
    }
    return 0;
}

/* 409 when session `ses` (row 0, locked) has no place left. Returns 0 or the status sent. */
static int
place_left_or_problem(struct req *r, const PGresult *ses)
{
    if (strtol(db_value(ses, 0, "enrolled"), NULL, 10)
        >= strtol(db_value(ses, 0, "capacity"), NULL, 10)) {
        return problem_send(r, PROBLEM_CONFLICT, "the session is full: all %s places are taken",
                            db_value(ses, 0, "capacity"));
    }
    return 0;
}

#define SES_CANCELLED "the session is cancelled: no outcome can be recorded"

/* Why session `ses` (row 0) does not take an enrolment's move to `to` now, written into
 * `detail`; NULL when it does. Withdrawal and (re-)enrolment need it scheduled (as stored: one
 * awaiting outcomes still is), enrolment not yet ended; an outcome needs it not cancelled and
 * started (attended) or ended (passed, failed). */
static const char *
session_refuses(const PGresult *ses, const char *to, char *detail, size_t len)
{
    const char *stored = db_value(ses, 0, "_stored_status"), *st = db_value(ses, 0, "status");
    int enrol = strcmp(to, "enrolled") == 0, attended = strcmp(to, "attended") == 0;
    const char *from = db_value(ses, 0, attended ? "_starts_on" : "_ends_on");

    if ((enrol || strcmp(to, "withdrawn") == 0) && strcmp(stored, "scheduled") != 0) {
        snprintf(detail, len, "the session is %s: %s only while it is scheduled", stored,
                 enrol ? "it takes enrolments" : "enrolments can be withdrawn");
    } else if (enrol && strcmp(st, "awaiting_outcomes") == 0) {
        snprintf(detail, len,
                 "the session ended on %s and is awaiting outcomes: it takes no more enrolments",
                 from);
    } else if (enrol || strcmp(to, "withdrawn") == 0) {
        return NULL;
    } else if (strcmp(st, "cancelled") == 0) {
        snprintf(detail, len, SES_CANCELLED);
    } else if (strcmp(from, db_value(ses, 0, "_today")) > 0) {
        snprintf(detail, len, "the session %s on %s: %s can be recorded from that day on",
                 attended ? "starts" : "ends", from, to);
    } else {
        return NULL;
    }
    return detail;
}

/* Reads an enrolment body checked against `fields`, from the licensing body or an org_admin
 * (403 `forbidden` otherwise). Returns 0 with the body in *in, or the status of the problem
 * sent. */
static int
enrolment_body_or_problem(struct req *r,
                          const struct field *fields,
                          const char *forbidden,
                          json_t **in)
{
    int status = resource_body_or_problem(r, fields, 1, in);

    if (status == 0 && !resource_admin_or_org_admin(&r->principal, NULL)) {
        status = problem_send(r, PROBLEM_FORBIDDEN, "%s", forbidden);
    }
    return status;
}

int
enrolments_create(struct req *r)
{
    json_t *in = NULL;
    PGresult *ses = NULL, *fac = NULL, *res = NULL;
    const char *sid = r->params[0], *fid, *id, *params[3];
    char location[160], detail[160];
    int status;

    if ((status = enrolment_body_or_problem(
             r, enr_create_fields, "only an organisation admin may nominate staff to training",
             &in))
        != 0) {
        goto out;
    }
    fid = str_field(in, "facilitator_id");
    /* The session row stays locked until commit: places and duplicates are counted once. */
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = session_or_problem(r, sid, 1, &ses)) != 0) {
        goto out;
    }
    if (session_refuses(ses, "enrolled", detail, sizeof(detail)) != NULL) {
        status = problem_send(r, PROBLEM_CONFLICT, "%s", detail);
        goto out;
    }
    if ((status = enrollable_or_problem(r, ses, fid, &fac)) != 0) {
        goto out;
    }
    if (db_value(fac, 0, "taken_id") != NULL) {
        status = problem_send(r, PROBLEM_CONFLICT,
                              "facilitator %s already has enrolment %s (%s) on this session%s",
                              db_value(fac, 0, "registration_number"), db_value(fac, 0, "taken_id"),
                              db_value(fac, 0, "taken_status"),
                              strcmp(db_value(fac, 0, "taken_status"), "withdrawn") == 0
                                  ? "; to re-enrol, change its status to enrolled"
                                  : "");
        goto out;
    }
    params[0] = sid;
    params[1] = fid;
    params[2] = r->principal.sub;
    if ((status = place_left_or_problem(r, ses)) != 0
        || (status = http_exec_or_problem(r, "enr_insert", 3, params, &res)) != 0) {
        goto out;
    }
    id = db_value(res, 0, "id");
    snprintf(location, sizeof(location), "/v1/training-sessions/%s/enrolments/%s", sid, id);
    status = audit_commit_row_and_send(r, "create", "enrolment", id, NULL, res, location);
out:
    PQclear(res);
    PQclear(fac);
    PQclear(ses);
    json_decref(in);
    return status;
}

/* Before the list: the session exists, and a licensee without an organisation sees none of it.
 * The list itself holds a licensee's own current staff only (org_scoped). */
static int
enrolments_listing(struct req *r, const struct query *q, const char **params)
{
    PGresult *ses = NULL;
    int status;

    (void)q;
    (void)params;
    if ((status = session_or_problem(r, r->params[0], 0, &ses)) == 0
        && !auth_is_admin(&r->principal) && r->principal.org[0] == '\0') {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no training session with id %s", r->params[0]);
    }
    PQclear(ses);
    return status;
}

static const struct filter enr_filters[] = {
    {"status", FILTER_ENUM, enr_statuses},
    {NULL, 0, NULL},
};

const struct resource enrolment_resource = {
    .name = "enrolment",
    .stmt = "enr",
    .org_scoped = 1,
    .parent = "training session",
    .filters = enr_filters,
    .sort_key = "_created_at",
    .cursor_ok = http_cursor_timestamptz,
    .rules = {.listing = enrolments_listing},
};

/* GET stays its own: an enrolment is read within its session ($2), which the generic get does
 * not bind. */
int
enrolments_get(struct req *r)
{
    PGresult *ses = NULL, *res = NULL;
    int status;

    if ((status = session_or_problem(r, r->params[0], 0, &ses)) == 0
        && (status = enrolment_or_problem(r, r->params[0], r->params[1], 0, &res)) == 0) {
        status = resource_send_row(r, res);
    }
    PQclear(res);
    PQclear(ses);
    return status;
}

/* Applies a pass on session `ses` (row 0) to facilitator `fid`: accreditation granted or
 * extended, or trainer status, with the history row and the facilitator's audit row. Runs
 * inside the enrolment's transaction. Returns 0, or the status of the problem already sent. */
static int
apply_pass_or_problem(struct req *r, const PGresult *ses, const char *fid)
{
    const char *kind = db_value(ses, 0, "course_kind"), *months, *action, *params[6];
    PGresult *fac = NULL, *res = NULL, *fail = NULL;
    json_t *before = NULL, *after = NULL;
    char reason[200], detail[200];
    int status;

    params[0] = fid;
    if ((status = http_row_or_problem(r, "trn_fac_locked", fid, "facilitator", NULL, &fac)) != 0) {
        goto out;
    }
    if (unfit(fac, kind, 1, detail, sizeof(detail)) != NULL) {
        status = problem_send_field(r, "status", detail);
        goto out;
    }
    months = db_value(ses, 0, "_grants_months");
    snprintf(reason, sizeof(reason), "passed %s (training session %s, ended %s)",
             db_value(ses, 0, "course_code"), db_value(ses, 0, "id"), db_value(ses, 0, "_ends_on"));
    before = db_row_to_json(fac, 0);
    params[1] = kind;
    params[2] = db_value(ses, 0, "_ends_on");
    params[3] = months != NULL ? months : SES_DEFAULT_MONTHS;
    params[4] = reason;
    params[5] = r->principal.sub;
    if ((status = http_exec_or_problem(r, "trn_fac_pass", 6, params, &res)) != 0
        || (status = webhooks_enqueue(r, "facilitator.status_changed", fid, before)) != 0) {
        goto out;
    }
    after = db_row_to_json(res, 0);
    action = strcmp(kind, "practitioner") == 0 ? "accredit"
             : strcmp(kind, "refresher") == 0  ? "extend_accreditation"
                                               : "grant_trainer";
    if ((fail = audit_write(r, action, "facilitator", fid, before, after)) != NULL) {
        status = problem_from_db(r, fail);
    }
out:
    PQclear(fail);
    PQclear(res);
    PQclear(fac);
    json_decref(before);
    json_decref(after);
    return status;
}

/* Moves enrolment `enr` (row 0, checks done) of session `ses` to `to`; a pass first changes the
 * facilitator. Returns 0 with the enrolment as it now stands in *out, or the status of the
 * problem already sent. */
static int
set_status_or_problem(
    struct req *r, const PGresult *ses, const PGresult *enr, const char *to, PGresult **out)
{
    const char *params[2] = {db_value(enr, 0, "id"), to};
    int status;

    *out = NULL;
    if (strcmp(to, "passed") == 0
        && (status = apply_pass_or_problem(r, ses, db_value(enr, 0, "facilitator_id"))) != 0) {
        return status;
    }
    return http_exec_or_problem(r, "enr_set_status", 2, params, out);
}

int
enrolments_update(struct req *r)
{
    json_t *in = NULL, *before = NULL;
    PGresult *ses = NULL, *res = NULL, *fac = NULL, *after = NULL;
    const char *sid = r->params[0], *eid = r->params[1], *to, *from;
    char allowed[256], detail[200];
    int status;

    if ((status = enrolment_body_or_problem(
             r, enr_update_fields, "only an organisation admin may change an enrolment", &in))
        != 0) {
        goto out;
    }
    to = str_field(in, "status");
    if (!auth_is_admin(&r->principal) && strcmp(to, "withdrawn") != 0
        && strcmp(to, "enrolled") != 0) {
        status = problem_send(r, PROBLEM_FORBIDDEN,
                              "only the licensing body records outcomes; you may withdraw or "
                              "re-enrol your staff");
        goto out;
    }
    if (!validate_uuid(sid)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no training session with id %s", sid);
        goto out;
    }
    if (!validate_uuid(eid)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no enrolment with id %s", eid);
        goto out;
    }
    /* Lock order: session, enrolment, facilitator (as in enrolments_create). */
    if ((status = http_begin_or_problem(r, 1)) != 0
        || (status = session_or_problem(r, sid, 1, &ses)) != 0
        || (status = enrolment_or_problem(r, sid, eid, 1, &res)) != 0
        || (status = http_if_match_or_problem(r, db_value(res, 0, "_version"))) != 0) {
        goto out;
    }
    from = db_value(res, 0, "status");
    if (!resource_transition_allowed(enr_transitions, from, to)) {
        resource_transitions_text(enr_transitions, allowed, sizeof(allowed));
        status = problem_send(r, PROBLEM_INVALID_TRANSITION,
                              "enrolment %s: %s to %s is not allowed; allowed are %s", eid, from,
                              to, allowed);
        goto out;
    }
    if (session_refuses(ses, to, detail, sizeof(detail)) != NULL) {
        status = problem_send(r, PROBLEM_CONFLICT, "%s", detail);
        goto out;
    }
    /* A re-enrolment is checked as a new enrolment: the facilitator, then a place. */
    if ((strcmp(to, "enrolled") == 0
         && ((status = enrollable_or_problem(r, ses, db_value(res, 0, "facilitator_id"), &fac)) != 0
             || (status = place_left_or_problem(r, ses)) != 0))
        || (status = set_status_or_problem(r, ses, res, to, &after)) != 0) {
        goto out;
    }
    before = db_row_to_json(res, 0);
    status = audit_commit_row_and_send(r, "update", "enrolment", eid, before, after, NULL);
out:
    json_decref(before);
    PQclear(after);
    PQclear(fac);
    PQclear(res);
    PQclear(ses);
    json_decref(in);
    return status;
}

/* ---- Outcomes for a whole session ------------------------------------------------------- */

#define OUTCOMES_MAX 200 /* a session's largest capacity */

/* An entry of an outcomes body. */
static const struct field outcome_fields[] = {
    {"enrolment_id", FIELD_UUID, FIELD_REQUIRED, 0, 0, NULL},
    {"status", FIELD_ENUM, FIELD_REQUIRED, 0, 0, outcome_statuses},
    {NULL, 0, 0, 0, 0, NULL},
};

/* Adds the error of entry `i` of an outcomes body: field "[i].<key>". */
static void
entry_error(json_t *errors, size_t i, const char *key, const char *detail)
{
    char field[48];

    snprintf(field, sizeof(field), "[%zu].%s", i, strlen(key) <= 24 ? key : "(field)");
    problem_add_error(errors, field, detail);
}

/* Checks the form of an outcomes body: 1-OUTCOMES_MAX objects, each an outcome_fields entry
 * whose enrolment_id is named once. Adds one error per fault. */
static void
check_outcomes_form(json_t *in, json_t *errors)
{
    size_t i, j, k, n = json_array_size(in);
    json_t *e, *own, *err;
    char detail[96];

    if (n == 0 || n > OUTCOMES_MAX) {
        snprintf(detail, sizeof(detail), "send 1 to %d outcomes, as [{enrolment_id, status}]",
                 OUTCOMES_MAX);
        problem_add_error(errors, "body", detail);
        return;
    }
    json_array_foreach(in, i, e)
    {
        const char *eid = str_field(e, "enrolment_id");

        if (!json_is_object(e)) {
            entry_error(errors, i, "enrolment_id", "each entry must be an object");
            continue;
        }
        own = json_array();
        validate_fields(e, outcome_fields, 1, own);
        json_array_foreach(own, k, err)
        {
            entry_error(errors, i, str_field(err, "field"), str_field(err, "detail"));
        }
        json_decref(own);
        for (j = 0; validate_uuid(eid) && j < i; j++) {
            const char *prev = str_field(json_array_get(in, j), "enrolment_id");
            if (prev != NULL && strcmp(prev, eid) == 0) {
                snprintf(detail, sizeof(detail), "named twice (also entry %zu)", j);
                entry_error(errors, i, "enrolment_id", detail);
                break;
            }
        }
    }
}

/* Checks entry `i` ({enrolment_id, status}, form already checked) against the locked session
 * `ses`: the enrolment exists on it (and is locked), the change is allowed, the session's dates
 * allow it, and a pass may be recorded for the facilitator. Adds an error when it fails, or
 * leaves the enrolment's row in *out (the caller clears it). Returns 0, or the status of the
 * problem already sent (a database failure). */
static int
check_outcome_entry(
    struct req *r, const PGresult *ses, json_t *entry, size_t i, json_t *errors, PGresult **out)
{
    const char *eid = str_field(entry, "enrolment_id"), *to = str_field(entry, "status");
    const char *params[2] = {eid, db_value(ses, 0, "id")}, *from;
    PGresult *res = NULL, *fac = NULL;
    char detail[200];
    int status;

    *out = NULL;
    if ((status = http_exec_or_problem(r, "enr_lock", 2, params, NULL)) != 0
        || (status = http_exec_or_problem(r, "enr_get", 2, params, &res)) != 0) {
        goto out;
    }
    if (PQntuples(res) == 0) {
        snprintf(detail, sizeof(detail), "no enrolment with id %s on this session", eid);
        entry_error(errors, i, "enrolment_id", detail);
        goto out;
    }
    from = db_value(res, 0, "status");
    if (!resource_transition_allowed(enr_transitions, from, to)) {
        snprintf(detail, sizeof(detail),
                 "enrolment %s is %s: it cannot become %s (outcomes follow enrolled or attended; "
                 "passed and failed are final)",
                 eid, from, to);
        entry_error(errors, i, "status", detail);
        goto out;
    }
    if (session_refuses(ses, to, detail, sizeof(detail)) != NULL) {
        entry_error(errors, i, "status", detail);
        goto out;
    }
    if (strcmp(to, "passed") == 0) {
        params[0] = db_value(res, 0, "facilitator_id");
        if ((status = http_exec_or_problem(r, "trn_fac_get", 1, params, &fac)) != 0) {
            goto out;
        }
        if (PQntuples(fac) == 1
            && unfit(fac, db_value(ses, 0, "course_kind"), 1, detail, sizeof(detail)) != NULL) {
            entry_error(errors, i, "status", detail);
            goto out;
        }
    }
    *out = res;
    res = NULL;
out:
    PQclear(fac);
    PQclear(res);
    return status;
}

int
training_outcomes(struct req *r)
{
    json_t *in = NULL, *errors = json_array(), *items = json_array(), *body = NULL;
    json_t *before = NULL, *after = NULL;
    PGresult *ses = NULL, *res = NULL, *fail = NULL, **rows = NULL;
    const char *sid = r->params[0];
    size_t i, n = 0;
    int status;

    if ((status = http_read_json_array_or_problem(r, &in)) != 0) {
        goto out;
    }
    check_outcomes_form(in, errors);
    if ((status = problem_send_errors_if_any(r, errors)) != 0) {
        goto out;
    }
    n = json_array_size(in);
    if ((rows = calloc(n, sizeof(*rows))) == NULL) {
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
        goto out;
    }
    /* Lock order as for one enrolment: the session, its enrolments, then each facilitator. */
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = session_or_problem(r, sid, 1, &ses)) != 0) {
        goto out;
    }
    if (strcmp(db_value(ses, 0, "status"), "cancelled") == 0) {
        status = problem_send(r, PROBLEM_CONFLICT, SES_CANCELLED);
        goto out;
    }
    /* Every entry is checked before anything is written, so each failure is named at once. */
    for (i = 0; i < n; i++) {
        if ((status = check_outcome_entry(r, ses, json_array_get(in, i), i, errors, &rows[i]))
            != 0) {
            goto out;
        }
    }
    if ((status = problem_send_errors_if_any(r, errors)) != 0) {
        goto out;
    }
    for (i = 0; i < n; i++) {
        const char *to = str_field(json_array_get(in, i), "status");

        if ((status = set_status_or_problem(r, ses, rows[i], to, &res)) != 0) {
            goto out;
        }
        before = db_row_to_json(rows[i], 0);
        after = db_row_to_json(res, 0);
        if ((fail = audit_write(r, "update", "enrolment", db_value(res, 0, "id"), before, after))
            != NULL) {
            status = problem_from_db(r, fail);
            goto out;
        }
        json_array_append_new(items, after);
        after = NULL;
        json_decref(before);
        before = NULL;
        PQclear(res);
        res = NULL;
    }
    if (db_commit(r->db, &fail) != 0) {
        status = problem_from_db(r, fail);
        goto out;
    }
    body = json_pack("{s:O}", "items", items);
    status = body != NULL ? http_send_json(r, 200, body) : problem_send(r, PROBLEM_INTERNAL, NULL);
out:
    for (i = 0; rows != NULL && i < n; i++) {
        PQclear(rows[i]);
    }
    free(rows);
    PQclear(fail);
    PQclear(res);
    PQclear(ses);
    json_decref(before);
    json_decref(after);
    json_decref(body);
    json_decref(items);
    json_decref(errors);
    json_decref(in);
    return status;
}
