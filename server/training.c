/* training.c: /v1/training-sessions and /v1/training-sessions/{id}/enrolments. Sessions of an
 * accredited course, the facilitators enrolled on them, and the outcomes that accredit them.
 *
 * Sessions (admin writes, any signed-in user reads):
 * - venue is free text, or a delivery location (location_id: one that is active and not
 *   archived), or both; at least one of them.
 * - trainer_ids (0-20) name facilitators holding trainer status who are neither suspended nor
 *   withdrawn; each bad one gets its own entry in the 422 errors (field "trainer_ids").
 * - A session is created scheduled, on an active course. scheduled -> completed (only once
 *   ends_on has come: ends_on <= today) or cancelled; both are final, and a final session
 *   cannot change at all. course_id never changes (cancel and schedule a new session).
 *   capacity may not fall below the places already taken.
 * - A scheduled session whose ends_on has passed reads status `awaiting_outcomes` (computed
 *   from the date, as a facilitator's `lapsed`; stored it is still scheduled, so PATCH moves it
 *   to completed or cancelled as before) and takes no more enrolments or re-enrolments (409).
 * - `enrolled` counts enrolments that are not withdrawn; `places_left` is capacity - enrolled
 *   while scheduled (and not yet ended), 0 otherwise. Filters: from (sessions ending on or after
 *   it), to (sessions starting on or before it), course_id, status (awaiting_outcomes too).
 *
 * Enrolments:
 * - admin enrols anyone; an org_admin nominates only their own current staff (a current
 *   facilitator_employment row with their organisation): anyone else, existing or not, is a
 *   422 naming facilitator_id, so nothing about other organisations' staff leaks. org_staff
 *   may not nominate (403).
 * - Licensees see only the enrolments of their own current staff; another's is a 404.
 * - Only a scheduled session takes enrolments (409). Capacity and one enrolment per
 *   facilitator are enforced with the session row locked (FOR UPDATE) for the whole
 *   transaction: of two requests for the last place one gets 201 and one 409.
 * - Suspended and withdrawn facilitators cannot be enrolled; a refresher course takes only
 *   accredited or lapsed facilitators, a trainer course only accredited practitioners (422).
 * - Status: enrolled -> withdrawn | attended | passed | failed; attended -> passed | failed;
 *   withdrawn -> enrolled (re-enrolment, capacity checked again); passed and failed are final.
 *   Withdrawal and re-enrolment: admin, or the org_admin of the facilitator's current
 *   employer, while the session is scheduled. Outcomes: admin only (403), never on a cancelled
 *   session; attended once the session has started, passed/failed once it has ended (409).
 * - `passed` changes the facilitator in the same transaction, with a
 *   facilitator_status_history row (effective today) and an audit row for the facilitator
 *   besides the enrolment's: practitioner course -> accredited, accredited_on = ends_on,
 *   accredited_until = ends_on + grants_months (36 when unset); refresher -> accredited_until
 *   = greatest(accredited_until, ends_on) + grants_months, only for an accredited or lapsed
 *   facilitator (422); trainer course -> trainer = true, only for a facilitator accredited at
 *   the time (422). A suspended or withdrawn facilitator cannot be recorded as passed (422).
 * - POST /v1/training-sessions/{id}/outcomes (admin) records outcomes for many enrolments of
 *   one session at once: a JSON array of {enrolment_id, status} (attended, passed or failed),
 *   checked entry by entry under the same rules, in one transaction. Any failure is a 422 naming
 *   each failing entry ("[i].enrolment_id" or "[i].status") and nothing is written; otherwise
 *   200 with the enrolments as they now stand, in the order given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/audit.h"
#include "registry/auth.h"
#include "registry/db.h"
#include "registry/http.h"
#include "registry/problem.h"
#include "registry/resources.h"
#include "registry/validate.h"
#include "registry/webhooks.h"

#define SES_TRAINERS_MAX   20
#define SES_DEFAULT_MONTHS "36"

/* A session's status as clients see it: a scheduled session past its end awaits outcomes. */
#define SES_STATUS                                                                                 \
    "CASE WHEN s.status = 'scheduled' AND s.ends_on < registry_today() THEN 'awaiting_outcomes'"   \
    " ELSE s.status END"

/* A session as clients see it; `_`-columns are internal. */
#define SES_SELECT                                                                                 \
    "SELECT s.id, s.course_id, c.code AS course_code, c.title AS course_title, "                   \
    "c.kind AS course_kind, s.starts_on, s.ends_on, s.venue, s.location_id, "                      \
    "coalesce((SELECT jsonb_agg(t.facilitator_id ORDER BY t.facilitator_id)"                       \
    "          FROM training_session_trainer t WHERE t.session_id = s.id), '[]'::jsonb)"           \
    "  AS trainer_ids, "                                                                           \
    "s.capacity, " SES_STATUS " AS status, k.n AS enrolled, "                                      \
    "CASE WHEN " SES_STATUS " = 'scheduled' THEN greatest(s.capacity - k.n, 0) ELSE 0 END"         \
    "  AS places_left, s.status AS _stored_status, "                                               \
    "s.created_at, s.updated_at, s.version AS _version, s.starts_on::text AS _starts_on, "         \
    "s.ends_on::text AS _ends_on, c.grants_months AS _grants_months, "                             \
    "registry_today()::text AS _today, k.o AS _outcomes "                                          \
    "FROM training_session s JOIN course c ON c.id = s.course_id "                                 \
    "CROSS JOIN LATERAL (SELECT (count(*) FILTER (WHERE e.status <> 'withdrawn'))::int AS n,"      \
    "  (count(*) FILTER (WHERE e.status IN ('attended', 'passed', 'failed')))::int AS o"           \
    "  FROM enrolment e WHERE e.session_id = s.id) k "

/* An enrolment as clients see it; organisation_id is the facilitator's current employer. */
#define ENR_SELECT                                                                                 \
    "SELECT e.id, e.session_id, e.facilitator_id, f.registration_number, f.given_name, "           \
    "f.family_name, (SELECT m.organisation_id FROM facilitator_employment m"                       \
    "  WHERE m.facilitator_id = e.facilitator_id AND m.ended_on IS NULL) AS organisation_id, "     \
    "e.status, e.nominated_by, e.created_at, e.updated_at, e.version AS _version, "                \
    "e.created_at::text AS _created_at "                                                           \
    "FROM enrolment e JOIN facilitator f ON f.id = e.facilitator_id "

/* A facilitator's status as clients see it: lapsing is computed from the date. */
#define FAC_STATUS                                                                                 \
    "CASE WHEN f.status = 'accredited' AND f.accredited_until < registry_today() THEN 'lapsed'"    \
    " ELSE f.status END"

/* The facilitator fields a training outcome changes, for the audit trail. */
#define FAC_SELECT                                                                                 \
    "SELECT f.id, f.registration_number, f.given_name, f.family_name, " FAC_STATUS " AS status, "  \
    "f.accredited_on, f.accredited_until, f.trainer, f.reason, f.updated_at, "                     \
    "f.status AS _stored_status "                                                                  \
    "FROM facilitator f "

const struct db_stmt training_stmts[] = {
    {"ses_get", SES_SELECT "WHERE s.id = $1::uuid"},
    {"ses_lock", "SELECT id FROM training_session WHERE id = $1::uuid FOR UPDATE"},
    /* $1 course_id, $2 status, $3 from, $4 to, $5/$6 cursor (starts_on, id), $7 limit. */
    {"ses_list", SES_SELECT "WHERE ($1::uuid IS NULL OR s.course_id = $1::uuid)"
                            " AND ($2::text IS NULL OR " SES_STATUS " = $2::text)"
                            " AND ($3::date IS NULL OR s.ends_on >= $3::date)"
                            " AND ($4::date IS NULL OR s.starts_on <= $4::date)"
                            " AND ($5::date IS NULL OR (s.starts_on, s.id) > ($5::date, $6::uuid))"
                            " ORDER BY s.starts_on, s.id LIMIT $7::int"},
    /* Share-locked, so its kind cannot change under a session being scheduled. */
    {"ses_course", "SELECT id, code, kind, active FROM course WHERE id = $1::uuid FOR SHARE"},
    {"ses_location", "SELECT id, active, archived_at IS NOT NULL AS archived FROM location"
                     " WHERE id = $1::uuid"},
    /* The entries of $1 (a JSON array of UUIDs) that cannot train, in the order given. */
    {"ses_bad_trainers",
     "SELECT x.id, CASE WHEN f.id IS NULL THEN 'no such facilitator'"
     "  WHEN f.status IN ('suspended', 'withdrawn') THEN 'the facilitator is ' || f.status"
     "  ELSE 'the facilitator does not hold trainer status' END AS why "
     "FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY AS x(id, n) "
     "LEFT JOIN facilitator f ON f.id = x.id::uuid "
     "WHERE f.id IS NULL OR NOT f.trainer OR f.status IN ('suspended', 'withdrawn') "
     "ORDER BY x.n"},
    {"ses_insert",
     "INSERT INTO training_session (course_id, starts_on, ends_on, venue, location_id, capacity) "
     "SELECT (j->>'course_id')::uuid, (j->>'starts_on')::date, (j->>'ends_on')::date,"
     " j->>'venue', (j->>'location_id')::uuid, (j->>'capacity')::int "
     "FROM (SELECT $1::jsonb AS j) s RETURNING id"},
    {"ses_update",
     "UPDATE training_session SET"
     " starts_on = CASE WHEN j ? 'starts_on' THEN (j->>'starts_on')::date ELSE starts_on END,"
     " ends_on = CASE WHEN j ? 'ends_on' THEN (j->>'ends_on')::date ELSE ends_on END,"
     " venue = CASE WHEN j ? 'venue' THEN j->>'venue' ELSE venue END,"
     " location_id = CASE WHEN j ? 'location_id' THEN (j->>'location_id')::uuid"
     "               ELSE location_id END,"
     " capacity = CASE WHEN j ? 'capacity' THEN (j->>'capacity')::int ELSE capacity END,"
     " status = CASE WHEN j ? 'status' THEN j->>'status' ELSE status END,"
     " updated_at = now(), version = version + 1 "
     "FROM (SELECT $2::jsonb AS j) s WHERE id = $1::uuid"},
    {"ses_trainers_clear", "DELETE FROM training_session_trainer WHERE session_id = $1::uuid"},
    {"ses_trainers_add", "INSERT INTO training_session_trainer (session_id, facilitator_id) "
                         "SELECT $1::uuid, x::uuid FROM jsonb_array_elements_text($2::jsonb) AS x"},

    {"enr_get", ENR_SELECT "WHERE e.id = $1::uuid AND e.session_id = $2::uuid"},
    {"enr_lock", "SELECT id FROM enrolment WHERE id = $1::uuid AND session_id = $2::uuid"
                 " FOR UPDATE"},
    /* $1 session, $2 status, $3 the licensee's organisation (NULL: admin), $4/$5 cursor
     * (created_at, id), $6 limit. */
    {"enr_list", ENR_SELECT
     "WHERE e.session_id = $1::uuid"
     " AND ($2::text IS NULL OR e.status = $2::text)"
     " AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM facilitator_employment m"
     "      WHERE m.facilitator_id = e.facilitator_id AND m.ended_on IS NULL"
     "        AND m.organisation_id = $3::uuid))"
     " AND ($4::timestamptz IS NULL OR (e.created_at, e.id) > ($4::timestamptz, $5::uuid))"
     " ORDER BY e.created_at, e.id LIMIT $6::int"},
    /* Facilitator $1 as an enrolment sees it; in_org: currently employed by $2. */
    {"enr_facilitator",
     "SELECT f.id, f.registration_number, " FAC_STATUS " AS status,"
     " EXISTS (SELECT 1 FROM facilitator_employment m WHERE m.facilitator_id = f.id"
     "         AND m.ended_on IS NULL AND m.organisation_id = $2::uuid) AS in_org "
     "FROM facilitator f WHERE f.id = $1::uuid"},
    {"enr_taken", "SELECT id, status FROM enrolment WHERE session_id = $1::uuid"
                  " AND facilitator_id = $2::uuid"},
    {"enr_insert", "INSERT INTO enrolment (session_id, facilitator_id, nominated_by)"
                   " VALUES ($1::uuid, $2::uuid, $3::uuid) RETURNING id"},
    {"enr_set_status", "UPDATE enrolment SET status = $2::text, updated_at = now(),"
                       " version = version + 1 WHERE id = $1::uuid"},

    {"trn_fac_get", FAC_SELECT "WHERE f.id = $1::uuid"},
    {"trn_fac_locked", FAC_SELECT "WHERE f.id = $1::uuid FOR UPDATE"},
    /* A pass: $1 facilitator, $2 course kind, $3 the session's ends_on, $4 grants_months,
     * $5 reason, $6 the admin. Writes the history row (effective today) in the same statement. */
    {"trn_fac_pass",
     "WITH u AS ("
     " UPDATE facilitator SET"
     "  status = CASE WHEN $2::text = 'trainer' THEN status ELSE 'accredited' END,"
     "  accredited_on = CASE $2::text WHEN 'practitioner' THEN $3::date"
     "                  WHEN 'refresher' THEN coalesce(accredited_on, $3::date)"
     "                  ELSE accredited_on END,"
     "  accredited_until = CASE $2::text"
     "    WHEN 'practitioner' THEN ($3::date + make_interval(months => $4::int))::date"
     "    WHEN 'refresher' THEN (greatest(accredited_until, $3::date)"
     "                           + make_interval(months => $4::int))::date"
     "    ELSE accredited_until END,"
     "  trainer = trainer OR $2::text = 'trainer',"
     "  reason = $5::text, updated_at = now(), version = version + 1"
     " WHERE id = $1::uuid"
     " RETURNING id, status, accredited_on, accredited_until, reason) "
     "INSERT INTO facilitator_status_history (facilitator_id, status, accredited_on,"
     " accredited_until, reason, changed_by) "
     "SELECT id, status, accredited_on, accredited_until, reason, $6::uuid FROM u"},
    {NULL, NULL},
};

static const char *const ses_statuses[] = {"scheduled", "completed", "cancelled", NULL};
/* What the list filters on: the statuses as clients read them. */
static const char *const ses_read_statuses[] = {"scheduled", "awaiting_outcomes", "completed",
                                                "cancelled", NULL};
static const char *const outcome_statuses[] = {"attended", "passed", "failed", NULL};
static const char *const ses_create_statuses[] = {"scheduled", NULL};
static const char *const enr_statuses[] = {"enrolled", "withdrawn", "attended",
                                           "passed",   "failed",    NULL};

static const struct field ses_create_fields[] = {
    {"course_id", FIELD_UUID, FIELD_REQUIRED, 0, 0, NULL},
    {"starts_on", FIELD_DATE, FIELD_REQUIRED, 0, 0, NULL},
    {"ends_on", FIELD_DATE, FIELD_REQUIRED, 0, 0, NULL},
    {"venue", FIELD_TEXT, FIELD_NULLABLE, 1, 200, NULL},
    {"location_id", FIELD_UUID, FIELD_NULLABLE, 0, 0, NULL},
    {"trainer_ids", FIELD_TEXT_LIST, 0, 0, SES_TRAINERS_MAX, NULL},
    {"capacity", FIELD_INT, FIELD_REQUIRED, 1, 200, NULL},
    {"status", FIELD_ENUM, 0, 0, 0, ses_create_statuses},
    {NULL, 0, 0, 0, 0, NULL},
};

static const struct field ses_update_fields[] = {
    {"course_id", FIELD_UUID, 0, 0, 0, NULL},
    {"starts_on", FIELD_DATE, 0, 0, 0, NULL},
    {"ends_on", FIELD_DATE, 0, 0, 0, NULL},
    {"venue", FIELD_TEXT, FIELD_NULLABLE, 1, 200, NULL},
    {"location_id", FIELD_UUID, FIELD_NULLABLE, 0, 0, NULL},
    {"trainer_ids", FIELD_TEXT_LIST, 0, 0, SES_TRAINERS_MAX, NULL},
    {"capacity", FIELD_INT, 0, 1, 200, NULL},
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
static const struct {
    const char *from;
    const char *to;
} enr_transitions[] = {
    {"enrolled", "withdrawn"}, {"enrolled", "attended"}, {"enrolled", "passed"},
    {"enrolled", "failed"},    {"attended", "passed"},   {"attended", "failed"},
    {"withdrawn", "enrolled"},
};

static int
enr_transition_allowed(const char *from, const char *to)
{
    size_t i;

    for (i = 0; i < sizeof(enr_transitions) / sizeof(enr_transitions[0]); i++) {
        if (strcmp(enr_transitions[i].from, from) == 0 && strcmp(enr_transitions[i].to, to) == 0) {
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

/* 1 when `errors` already names `field`. */
static int
has_error(json_t *errors, const char *field)
{
    json_t *e;
    size_t i;

    json_array_foreach(errors, i, e)
    {
        const char *f = str_field(e, "field");
        if (f != NULL && strcmp(f, field) == 0) {
            return 1;
        }
    }
    return 0;
}

static int
is_org_admin(const struct principal *p)
{
    return strcmp(p->role, "org_admin") == 0 && p->org[0] != '\0';
}

/* Reads session `id`, after locking its row FOR UPDATE when `lock` (inside a transaction), so
 * the enrolled count read is the one that stands until commit. Returns 0 with the result in
 * *out, or the status of the problem already sent. */
static int
session_or_problem(struct req *r, const char *id, int lock, PGresult **out)
{
    const char *params[1] = {id};
    PGresult *res = NULL;
    int status, found;

    *out = NULL;
    if (lock && validate_uuid(id)) {
        if ((status = http_exec_or_problem(r, "ses_lock", 1, params, &res)) != 0) {
            return status;
        }
        found = PQntuples(res) > 0;
        PQclear(res);
        if (!found) {
            return problem_send(r, PROBLEM_NOT_FOUND, "no training session with id %s", id);
        }
    }
    return http_row_or_problem(r, "ses_get", id, "training session", NULL, out);
}

/* Checks trainer_ids (when present) have the UUID form and no repeats; adds errors. */
static void
check_trainer_ids_form(json_t *in, json_t *errors)
{
    json_t *ids = json_object_get(in, "trainer_ids"), *v, *w;
    size_t i, j;

    if (ids == NULL || has_error(errors, "trainer_ids")) {
        return;
    }
    json_array_foreach(ids, i, v)
    {
        const char *id = json_string_value(v);
        char detail[96];
        if (!validate_uuid(id)) {
            snprintf(detail, sizeof(detail), "entry %zu is not a UUID", i + 1);
            problem_add_error(errors, "trainer_ids", detail);
            continue;
        }
        for (j = 0; j < i; j++) {
            w = json_array_get(ids, j);
            if (strcmp(json_string_value(w), id) == 0) {
                snprintf(detail, sizeof(detail), "%s: named twice", id);
                problem_add_error(errors, "trainer_ids", detail);
                break;
            }
        }
    }
}

/* The references of a session body that need the database: course (when `course` is set),
 * location and trainers. Adds one error per broken reference. Returns 0, or the status of the
 * problem already sent (a database failure). */
static int
check_references(struct req *r, json_t *in, int course, json_t *errors)
{
    const char *params[1];
    json_t *ids = json_object_get(in, "trainer_ids");
    PGresult *res = NULL;
    char *text = NULL;
    int status = 0, i;

    if (course && (params[0] = str_field(in, "course_id")) != NULL) {
        if ((status = http_exec_or_problem(r, "ses_course", 1, params, &res)) != 0) {
            goto out;
        }
        if (PQntuples(res) == 0) {
            problem_add_error(errors, "course_id", "no such course");
        } else if (!db_bool(res, 0, "active")) {
            problem_add_error(errors, "course_id",
                              "the course is not active: no new session may be scheduled on it");
        }
        PQclear(res);
        res = NULL;
    }
    if ((params[0] = str_field(in, "location_id")) != NULL) {
        if ((status = http_exec_or_problem(r, "ses_location", 1, params, &res)) != 0) {
            goto out;
        }
        if (PQntuples(res) == 0 || db_bool(res, 0, "archived")) {
            problem_add_error(errors, "location_id", "no such delivery location");
        } else if (!db_bool(res, 0, "active")) {
            problem_add_error(errors, "location_id", "the delivery location is not active");
        }
        PQclear(res);
        res = NULL;
    }
    if (ids != NULL && json_array_size(ids) > 0) {
        text = json_dumps(ids, JSON_COMPACT);
        params[0] = text;
        if ((status = http_exec_or_problem(r, "ses_bad_trainers", 1, params, &res)) != 0) {
            goto out;
        }
        for (i = 0; i < PQntuples(res); i++) {
            char detail[160];
            snprintf(detail, sizeof(detail), "%s: %s", PQgetvalue(res, i, 0),
                     PQgetvalue(res, i, 1));
            problem_add_error(errors, "trainer_ids", detail);
        }
    }
out:
    free(text);
    PQclear(res);
    return status;
}

/* Replaces the session's trainers with trainer_ids, when the body names them. Returns 0 or the
 * status sent. */
static int
set_trainers_or_problem(struct req *r, const char *id, json_t *in)
{
    json_t *ids = json_object_get(in, "trainer_ids");
    const char *params[2] = {id, NULL};
    PGresult *res = NULL;
    char *text;
    int status;

    if (ids == NULL) {
        return 0;
    }
    if ((status = http_exec_or_problem(r, "ses_trainers_clear", 1, params, &res)) != 0) {
        return status;
    }
    PQclear(res);
    text = json_dumps(ids, JSON_COMPACT);
    params[1] = text;
    status = http_exec_or_problem(r, "ses_trainers_add", 2, params, &res);
    PQclear(res);
    free(text);
    return status;
}

int
training_get(struct req *r)
{
    PGresult *res = NULL;
    json_t *body = NULL;
    int status;

    if ((status = session_or_problem(r, r->params[0], 0, &res)) != 0) {
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
training_list(struct req *r)
{
    static const char *const allowed[] = {"course_id", "status", "from", "to",
                                          "limit",     "cursor", NULL};
    struct query q;
    struct page p = {0, NULL};
    PGresult *res = NULL;
    const char *params[7], *course, *st, *from, *to;
    int status;

    if ((status = http_query_or_problem(r, allowed, &q)) != 0
        || (status = http_page_or_problem(r, &q, &p)) != 0) {
        goto out;
    }
    course = query_get(&q, "course_id");
    st = query_get(&q, "status");
    from = query_get(&q, "from");
    to = query_get(&q, "to");
    if (course != NULL && !validate_uuid(course)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "course_id: a UUID");
        goto out;
    }
    if (st != NULL && !validate_in_list(ses_read_statuses, st)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST,
                              "status: one of scheduled, awaiting_outcomes, completed, cancelled");
        goto out;
    }
    if ((from != NULL && !validate_date(from)) || (to != NULL && !validate_date(to))) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "from, to: dates as YYYY-MM-DD");
        goto out;
    }
    if ((status = http_cursor_or_problem(r, &p, 2, http_cursor_date)) != 0) {
        goto out;
    }
    params[0] = course;
    params[1] = st;
    params[2] = from;
    params[3] = to;
    params[4] = page_after(&p, 0);
    params[5] = page_after(&p, 1);
    status = page_query_send(r, "ses_list", params, 7, &p, "_starts_on");
out:
    PQclear(res);
    page_cleanup(&p);
    query_cleanup(&q);
    return status;
}

/* The checks of a session body that need nothing but the body: date order and a venue or a
 * location. `cur` (row 0) supplies the stored values on a change, or is NULL on create. */
static void
check_session_shape(json_t *in, const PGresult *cur, json_t *errors)
{
    const char *starts = str_field(in, "starts_on"), *ends = str_field(in, "ends_on");
    json_t *venue = json_object_get(in, "venue"), *loc = json_object_get(in, "location_id");
    int has_venue, has_loc;

    if (has_error(errors, "starts_on") || has_error(errors, "ends_on")) {
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
    if (!has_venue && !has_loc && !has_error(errors, "venue")
        && !has_error(errors, "location_id")) {
        problem_add_error(errors, venue != NULL || cur == NULL ? "venue" : "location_id",
                          "give a venue, a location_id, or both");
    }
}

int
training_create(struct req *r)
{
    json_t *in = NULL, *errors = json_array();
    PGresult *res = NULL;
    char *text = NULL, location[96], id[40];
    const char *params[1];
    int status;

    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    validate_fields(in, ses_create_fields, 1, errors);
    check_session_shape(in, NULL, errors);
    check_trainer_ids_form(in, errors);
    if (json_array_size(errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = check_references(r, in, 1, errors)) != 0) {
        goto out;
    }
    if (json_array_size(errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    text = json_dumps(in, JSON_COMPACT);
    params[0] = text;
    if ((status = http_insert_or_problem(r, "ses_insert", 1, params, id, sizeof(id))) != 0
        || (status = set_trainers_or_problem(r, id, in)) != 0
        || (status = session_or_problem(r, id, 0, &res)) != 0) {
        goto out;
    }
    snprintf(location, sizeof(location), "/v1/training-sessions/%s", id);
    status = audit_commit_row_and_send(r, "create", "training_session", id, NULL, res, location);
out:
    free(text);
    PQclear(res);
    json_decref(errors);
    json_decref(in);
    return status;
}

/* Checks a change against the locked session `cur`: a final session does not change, and
 * completion waits for ends_on. Returns 0, or the status of the problem already sent. */
static int
session_change_allowed_or_problem(struct req *r, json_t *in, const PGresult *cur)
{
    const char *stored = db_value(cur, 0, "_stored_status"), *to = str_field(in, "status");
    const char *ends = str_field(in, "ends_on");

    if (strcmp(stored, "scheduled") != 0) {
        if (to != NULL && strcmp(to, stored) != 0) {
            return problem_send(r, PROBLEM_INVALID_TRANSITION,
                                "the session is %s, which is final: it cannot become %s", stored,
                                to);
        }
        return problem_send(r, PROBLEM_CONFLICT,
                            "the session is %s, which is final: it cannot change", stored);
    }
    if (to != NULL && strcmp(to, "completed") == 0) {
        ends = ends != NULL ? ends : db_value(cur, 0, "_ends_on");
        if (strcmp(ends, db_value(cur, 0, "_today")) > 0) {
            return problem_send(r, PROBLEM_INVALID_TRANSITION,
                                "the session ends on %s: it can be completed from that day on",
                                ends);
        }
    }
    return 0;
}

int
training_update(struct req *r)
{
    json_t *in = NULL, *errors = json_array(), *before = NULL;
    PGresult *res = NULL;
    const char *id = r->params[0], *params[2], *course;
    char *text = NULL;
    int status;

    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    validate_fields(in, ses_update_fields, 0, errors);
    check_trainer_ids_form(in, errors);
    if (json_array_size(errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    if (json_object_size(in) == 0) {
        problem_add_error(errors, "body", "name at least one field to change");
        status = problem_send_errors(r, errors);
        goto out;
    }
    if (!validate_uuid(id)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no training session with id %s", id);
        goto out;
    }
    if ((status = http_begin_or_problem(r, 1)) != 0
        || (status = session_or_problem(r, id, 1, &res)) != 0
        || (status = http_if_match_or_problem(r, db_value(res, 0, "_version"))) != 0
        || (status = session_change_allowed_or_problem(r, in, res)) != 0) {
        goto out;
    }
    if (((str_field(in, "starts_on") != NULL
          && strcmp(str_field(in, "starts_on"), db_value(res, 0, "_starts_on")) != 0)
         || (str_field(in, "ends_on") != NULL
             && strcmp(str_field(in, "ends_on"), db_value(res, 0, "_ends_on")) != 0))
        && strcmp(db_value(res, 0, "_outcomes"), "0") != 0) {
        status = problem_send(r, PROBLEM_CONFLICT,
                              "outcomes are recorded for this session: its dates cannot change");
        goto out;
    }
    course = str_field(in, "course_id");
    if (course != NULL && strcmp(course, db_value(res, 0, "course_id")) != 0) {
        problem_add_error(errors, "course_id",
                          "cannot change: cancel this session and schedule a new one");
    }
    check_session_shape(in, res, errors);
    if (json_object_get(in, "capacity") != NULL && !has_error(errors, "capacity")
        && json_integer_value(json_object_get(in, "capacity"))
               < strtol(db_value(res, 0, "enrolled"), NULL, 10)) {
        char detail[96];
        snprintf(detail, sizeof(detail), "must not be below the %s places already taken",
                 db_value(res, 0, "enrolled"));
        problem_add_error(errors, "capacity", detail);
    }
    if ((status = check_references(r, in, 0, errors)) != 0) {
        goto out;
    }
    if (json_array_size(errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    before = db_row_to_json(res, 0);
    PQclear(res);
    res = NULL;
    text = json_dumps(in, JSON_COMPACT);
    params[0] = id;
    params[1] = text;
    if ((status = http_exec_or_problem(r, "ses_update", 2, params, NULL)) != 0
        || (status = set_trainers_or_problem(r, id, in)) != 0
        || (status = session_or_problem(r, id, 0, &res)) != 0) {
        goto out;
    }
    status = audit_commit_row_and_send(r, "update", "training_session", id, before, res, NULL);
out:
    free(text);
    PQclear(res);
    json_decref(before);
    json_decref(errors);
    json_decref(in);
    return status;
}

/* ---- Enrolments ------------------------------------------------------------------------ */

/* Reads enrolment `eid` of session `sid` (locking it when `lock`) and checks the caller may
 * see it: a licensee sees only their own current staff's. Returns 0 with the result in *out,
 * or the status of the problem already sent. */
static int
enrolment_or_problem(struct req *r, const char *sid, const char *eid, int lock, PGresult **out)
{
    const char *params[2] = {eid, sid};
    PGresult *res = NULL;
    int status;

    *out = NULL;
    if (!validate_uuid(eid)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no enrolment with id %s", eid);
    }
    if (lock) {
        if ((status = http_exec_or_problem(r, "enr_lock", 2, params, &res)) != 0) {
            return status;
        }
        PQclear(res);
    }
    if ((status = http_exec_or_problem(r, "enr_get", 2, params, &res)) != 0) {
        return status;
    }
    if (PQntuples(res) == 0 || !auth_in_org(&r->principal, db_value(res, 0, "organisation_id"))) {
        PQclear(res);
        return problem_send(r, PROBLEM_NOT_FOUND, "no enrolment with id %s", eid);
    }
    *out = res;
    return 0;
}

/* Checks facilitator `fac` (row 0 of enr_facilitator) may take a place on session `ses`
 * (row 0): not suspended or withdrawn; on a refresher, accredited or lapsed. Returns 0, or
 * the status of the 422 sent. */
static int
may_enrol_or_problem(struct req *r, const PGresult *fac, const PGresult *ses)
{
    const char *st = db_value(fac, 0, "status");
    char detail[160];

    if (strcmp(st, "suspended") == 0 || strcmp(st, "withdrawn") == 0) {
        snprintf(detail, sizeof(detail), "facilitator %s is %s and cannot be enrolled",
                 db_value(fac, 0, "registration_number"), st);
        return problem_send_field(r, "facilitator_id", detail);
    }
    if (strcmp(db_value(ses, 0, "course_kind"), "refresher") == 0 && strcmp(st, "accredited") != 0
        && strcmp(st, "lapsed") != 0) {
        snprintf(detail, sizeof(detail),
                 "a refresher course is for accredited or lapsed facilitators; %s is %s",
                 db_value(fac, 0, "registration_number"), st);
        return problem_send_field(r, "facilitator_id", detail);
    }
    if (strcmp(db_value(ses, 0, "course_kind"), "trainer") == 0 && strcmp(st, "accredited") != 0) {
        snprintf(detail, sizeof(detail),
                 "a trainer course is for accredited practitioners; %s is %s",
                 db_value(fac, 0, "registration_number"), st);
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

/* 409 unless session `ses` (row 0) is scheduled (as stored: a session awaiting outcomes is
 * still scheduled). Returns 0 or the status sent. */
static int
scheduled_or_problem(struct req *r, const PGresult *ses, const char *what)
{
    if (strcmp(db_value(ses, 0, "_stored_status"), "scheduled") != 0) {
        return problem_send(r, PROBLEM_CONFLICT, "the session is %s: %s only while it is scheduled",
                            db_value(ses, 0, "_stored_status"), what);
    }
    return 0;
}

/* 409 unless session `ses` (row 0) takes enrolments: scheduled, and its ends_on not yet passed.
 * Returns 0 or the status sent. */
static int
takes_enrolments_or_problem(struct req *r, const PGresult *ses)
{
    int status;

    if ((status = scheduled_or_problem(r, ses, "it takes enrolments")) != 0) {
        return status;
    }
    if (strcmp(db_value(ses, 0, "status"), "awaiting_outcomes") == 0) {
        return problem_send(r, PROBLEM_CONFLICT,
                            "the session ended on %s and is awaiting outcomes: it takes no more "
                            "enrolments",
                            db_value(ses, 0, "_ends_on"));
    }
    return 0;
}

int
enrolments_create(struct req *r)
{
    json_t *in = NULL, *errors = json_array();
    PGresult *ses = NULL, *fac = NULL, *res = NULL;
    const char *sid = r->params[0], *fid, *params[3];
    char location[160], id[40];
    int status, admin = auth_is_admin(&r->principal);

    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    if (validate_fields(in, enr_create_fields, 1, errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    if (!admin && !is_org_admin(&r->principal)) {
        status = problem_send(r, PROBLEM_FORBIDDEN,
                              "only an organisation admin may nominate staff to training");
        goto out;
    }
    fid = str_field(in, "facilitator_id");
    if (!validate_uuid(sid)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no training session with id %s", sid);
        goto out;
    }
    /* The session row stays locked until commit: places and duplicates are counted once. */
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = session_or_problem(r, sid, 1, &ses)) != 0
        || (status = takes_enrolments_or_problem(r, ses)) != 0) {
        goto out;
    }
    params[0] = fid;
    params[1] = admin ? NULL : r->principal.org;
    if ((status = http_exec_or_problem(r, "enr_facilitator", 2, params, &fac)) != 0) {
        goto out;
    }
    if (PQntuples(fac) == 0 || (!admin && !db_bool(fac, 0, "in_org"))) {
        status = problem_send_field(r, "facilitator_id",
                                    admin ? "no such facilitator"
                                          : "not one of your organisation's current staff");
        goto out;
    }
    if ((status = may_enrol_or_problem(r, fac, ses)) != 0) {
        goto out;
    }
    params[0] = sid;
    params[1] = fid;
    if ((status = http_exec_or_problem(r, "enr_taken", 2, params, &res)) != 0) {
        goto out;
    }
    if (PQntuples(res) > 0) {
        status = problem_send(r, PROBLEM_CONFLICT,
                              "facilitator %s already has enrolment %s (%s) on this session%s",
                              db_value(fac, 0, "registration_number"), db_value(res, 0, "id"),
                              db_value(res, 0, "status"),
                              strcmp(db_value(res, 0, "status"), "withdrawn") == 0
                                  ? "; to re-enrol, change its status to enrolled"
                                  : "");
        goto out;
    }
    PQclear(res);
    res = NULL;
    if ((status = place_left_or_problem(r, ses)) != 0) {
        goto out;
    }
    params[2] = r->principal.sub;
    if ((status = http_insert_or_problem(r, "enr_insert", 3, params, id, sizeof(id))) != 0
        || (status = enrolment_or_problem(r, sid, id, 0, &res)) != 0) {
        goto out;
    }
    snprintf(location, sizeof(location), "/v1/training-sessions/%s/enrolments/%s", sid, id);
    status = audit_commit_row_and_send(r, "create", "enrolment", id, NULL, res, location);
out:
    PQclear(res);
    PQclear(fac);
    PQclear(ses);
    json_decref(errors);
    json_decref(in);
    return status;
}

int
enrolments_list(struct req *r)
{
    static const char *const allowed[] = {"status", "limit", "cursor", NULL};
    const char *sid = r->params[0], *params[6], *st;
    struct query q;
    struct page p = {0, NULL};
    PGresult *ses = NULL, *res = NULL;
    int status;

    if ((status = http_query_or_problem(r, allowed, &q)) != 0
        || (status = http_page_or_problem(r, &q, &p)) != 0) {
        goto out;
    }
    st = query_get(&q, "status");
    if (st != NULL && !validate_in_list(enr_statuses, st)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST,
                              "status: one of enrolled, withdrawn, attended, passed, failed");
        goto out;
    }
    if ((status = http_cursor_or_problem(r, &p, 2, http_cursor_timestamptz)) != 0) {
        goto out;
    }
    if ((status = session_or_problem(r, sid, 0, &ses)) != 0) {
        goto out;
    }
    params[0] = sid;
    params[1] = st;
    /* A licensee's list holds their own current staff only. */
    params[2] = auth_is_admin(&r->principal) ? NULL : r->principal.org;
    params[3] = page_after(&p, 0);
    params[4] = page_after(&p, 1);
    if (params[2] != NULL && params[2][0] == '\0') {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no training session with id %s", sid);
        goto out;
    }
    status = page_query_send(r, "enr_list", params, 6, &p, "_created_at");
out:
    PQclear(res);
    PQclear(ses);
    page_cleanup(&p);
    query_cleanup(&q);
    return status;
}

int
enrolments_get(struct req *r)
{
    PGresult *ses = NULL, *res = NULL;
    json_t *body = NULL;
    int status;

    if ((status = session_or_problem(r, r->params[0], 0, &ses)) != 0
        || (status = enrolment_or_problem(r, r->params[0], r->params[1], 0, &res)) != 0) {
        goto out;
    }
    body = db_row_to_json(res, 0);
    status = http_send_resource(r, 200, body, db_value(res, 0, "_version"));
out:
    json_decref(body);
    PQclear(res);
    PQclear(ses);
    return status;
}

/* Why session `ses` (row 0, not cancelled) does not take outcome `to` today, written into
 * `detail`: attended from starts_on, passed and failed from ends_on. Returns `detail`, or NULL
 * when it does. */
static const char *
outcome_too_early(const PGresult *ses, const char *to, char *detail, size_t len)
{
    int attended = strcmp(to, "attended") == 0;
    const char *from = db_value(ses, 0, attended ? "_starts_on" : "_ends_on");

    if (strcmp(from, db_value(ses, 0, "_today")) <= 0) {
        return NULL;
    }
    snprintf(detail, len, "the session %s on %s: %s can be recorded from that day on",
             attended ? "starts" : "ends", from, to);
    return detail;
}

/* 409 when the session `ses` (row 0) is cancelled: it takes no outcome. */
static int
not_cancelled_or_problem(struct req *r, const PGresult *ses)
{
    if (strcmp(db_value(ses, 0, "status"), "cancelled") == 0) {
        return problem_send(r, PROBLEM_CONFLICT,
                            "the session is cancelled: no outcome can be recorded");
    }
    return 0;
}

/* Checks that the session `ses` (row 0) allows recording outcome `to` today: never on a
 * cancelled session; attended from starts_on, passed and failed from ends_on. Returns 0 or
 * the status of the 409 sent. */
static int
outcome_allowed_or_problem(struct req *r, const PGresult *ses, const char *to)
{
    char detail[160];
    int status;

    if ((status = not_cancelled_or_problem(r, ses)) != 0) {
        return status;
    }
    if (outcome_too_early(ses, to, detail, sizeof(detail)) != NULL) {
        return problem_send(r, PROBLEM_CONFLICT, "%s", detail);
    }
    return 0;
}

/* Why facilitator `fac` (row 0 of trn_fac_*) cannot be recorded as passing a course of `kind`,
 * written into `detail`; or NULL when they can: never while suspended or withdrawn; a refresher
 * extends an accreditation (accredited or lapsed); a trainer course needs one that is current. */
static const char *
pass_refusal(const PGresult *fac, const char *kind, char *detail, size_t len)
{
    const char *st = db_value(fac, 0, "status"), *num = db_value(fac, 0, "registration_number");

    if (strcmp(st, "suspended") == 0 || strcmp(st, "withdrawn") == 0) {
        snprintf(detail, len, "facilitator %s is %s: a pass cannot be recorded", num, st);
        return detail;
    }
    if (strcmp(kind, "refresher") == 0 && strcmp(st, "accredited") != 0
        && strcmp(st, "lapsed") != 0) {
        snprintf(detail, len, "a refresher pass extends an accreditation; facilitator %s is %s",
                 num, st);
        return detail;
    }
    if (strcmp(kind, "trainer") == 0 && strcmp(st, "accredited") != 0) {
        snprintf(detail, len,
                 "a trainer course is for accredited practitioners; facilitator %s is %s", num, st);
        return detail;
    }
    return NULL;
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
    if ((status = http_exec_or_problem(r, "trn_fac_locked", 1, params, &fac)) != 0) {
        goto out;
    }
    if (PQntuples(fac) != 1) {
        status = problem_from_db(r, fac);
        goto out;
    }
    if (pass_refusal(fac, kind, detail, sizeof(detail)) != NULL) {
        status = problem_send_field(r, "status", detail);
        goto out;
    }
    months = db_value(ses, 0, "_grants_months");
    if (months == NULL) {
        months = SES_DEFAULT_MONTHS;
    }
    snprintf(reason, sizeof(reason), "passed %s (training session %s, ended %s)",
             db_value(ses, 0, "course_code"), db_value(ses, 0, "id"), db_value(ses, 0, "_ends_on"));
    before = db_row_to_json(fac, 0);
    params[1] = kind;
    params[2] = db_value(ses, 0, "_ends_on");
    params[3] = months;
    params[4] = reason;
    params[5] = r->principal.sub;
    if ((status = http_exec_or_problem(r, "trn_fac_pass", 6, params, &res)) != 0
        || (status = webhooks_enqueue(r, "facilitator.status_changed", fid, before)) != 0) {
        goto out;
    }
    PQclear(res);
    res = NULL;
    if ((status = http_exec_or_problem(r, "trn_fac_get", 1, params, &res)) != 0) {
        goto out;
    }
    if (PQntuples(res) != 1) {
        status = problem_from_db(r, res);
        goto out;
    }
    after = db_row_to_json(res, 0);
    action = strcmp(kind, "practitioner") == 0 ? "accredit"
             : strcmp(kind, "refresher") == 0  ? "extend_accreditation"
                                               : "grant_trainer";
    if ((fail = audit_write(r, action, "facilitator", fid, before, after)) != NULL) {
        status = problem_from_db(r, fail);
        goto out;
    }
out:
    PQclear(fail);
    PQclear(res);
    PQclear(fac);
    json_decref(before);
    json_decref(after);
    return status;
}

int
enrolments_update(struct req *r)
{
    json_t *in = NULL, *errors = json_array(), *before = NULL;
    PGresult *ses = NULL, *res = NULL, *fac = NULL;
    const char *sid = r->params[0], *eid = r->params[1], *to, *from, *params[2];
    int status, admin = auth_is_admin(&r->principal);

    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    if (validate_fields(in, enr_update_fields, 1, errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    to = str_field(in, "status");
    if (!admin && !is_org_admin(&r->principal)) {
        status = problem_send(r, PROBLEM_FORBIDDEN,
                              "only an organisation admin may change an "
                              "enrolment");
        goto out;
    }
    if (!admin && strcmp(to, "withdrawn") != 0 && strcmp(to, "enrolled") != 0) {
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
    if (!enr_transition_allowed(from, to)) {
        status = problem_send(r, PROBLEM_INVALID_TRANSITION,
                              "enrolment %s: %s to %s is not allowed; allowed are enrolled to "
                              "withdrawn, attended, passed or failed, attended to passed or "
                              "failed, withdrawn to enrolled",
                              eid, from, to);
        goto out;
    }
    if (strcmp(to, "withdrawn") == 0) {
        if ((status = scheduled_or_problem(r, ses, "enrolments can be withdrawn")) != 0) {
            goto out;
        }
    } else if (strcmp(to, "enrolled") == 0) {
        params[0] = db_value(res, 0, "facilitator_id");
        params[1] = NULL;
        if ((status = takes_enrolments_or_problem(r, ses)) != 0
            || (status = http_exec_or_problem(r, "enr_facilitator", 2, params, &fac)) != 0
            || (status = may_enrol_or_problem(r, fac, ses)) != 0
            || (status = place_left_or_problem(r, ses)) != 0) {
            goto out;
        }
    } else if ((status = outcome_allowed_or_problem(r, ses, to)) != 0) {
        goto out;
    }
    before = db_row_to_json(res, 0);
    if (strcmp(to, "passed") == 0
        && (status = apply_pass_or_problem(r, ses, db_value(res, 0, "facilitator_id"))) != 0) {
        goto out;
    }
    PQclear(res);
    res = NULL;
    params[0] = eid;
    params[1] = to;
    if ((status = http_exec_or_problem(r, "enr_set_status", 2, params, NULL)) != 0
        || (status = enrolment_or_problem(r, sid, eid, 0, &res)) != 0) {
        goto out;
    }
    status = audit_commit_row_and_send(r, "update", "enrolment", eid, before, res, NULL);
out:
    PQclear(fac);
    PQclear(res);
    PQclear(ses);
    json_decref(before);
    json_decref(errors);
    json_decref(in);
    return status;
}

/* ---- Outcomes for a whole session ------------------------------------------------------- */

#define OUTCOMES_MAX 200 /* a session's largest capacity */

/* Adds the error of entry `i` of an outcomes body: field "[i].<key>". */
static void
entry_error(json_t *errors, size_t i, const char *key, const char *detail)
{
    char field[48];

    snprintf(field, sizeof(field), "[%zu].%s", i, key);
    problem_add_error(errors, field, detail);
}

/* Checks the form of an outcomes body: 1-OUTCOMES_MAX objects, each exactly {enrolment_id (a
 * UUID, named once), status (attended, passed or failed)}. Adds one error per fault. */
static void
check_outcomes_form(json_t *in, json_t *errors)
{
    size_t i, j, n = json_array_size(in);
    char detail[96];
    json_t *e;

    if (n == 0 || n > OUTCOMES_MAX) {
        snprintf(detail, sizeof(detail), "send 1 to %d outcomes, as [{enrolment_id, status}]",
                 OUTCOMES_MAX);
        problem_add_error(errors, "body", detail);
        return;
    }
    json_array_foreach(in, i, e)
    {
        const char *key, *eid, *to;
        json_t *v;

        if (!json_is_object(e)) {
            entry_error(errors, i, "enrolment_id", "each entry must be an object");
            continue;
        }
        json_object_foreach(e, key, v)
        {
            if (strcmp(key, "enrolment_id") != 0 && strcmp(key, "status") != 0) {
                snprintf(detail, sizeof(detail),
                         "unknown field (an entry has only enrolment_id "
                         "and status)");
                entry_error(errors, i, strlen(key) <= 24 ? key : "(field)", detail);
            }
        }
        eid = str_field(e, "enrolment_id");
        to = str_field(e, "status");
        if (!validate_uuid(eid)) {
            entry_error(errors, i, "enrolment_id", "required: the UUID of an enrolment");
        } else {
            for (j = 0; j < i; j++) {
                const char *prev = str_field(json_array_get(in, j), "enrolment_id");
                if (prev != NULL && strcmp(prev, eid) == 0) {
                    snprintf(detail, sizeof(detail), "named twice (also entry %zu)", j);
                    entry_error(errors, i, "enrolment_id", detail);
                    break;
                }
            }
        }
        if (to == NULL || !validate_in_list(outcome_statuses, to)) {
            entry_error(errors, i, "status", "required: one of attended, passed, failed");
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
    if (!enr_transition_allowed(from, to)) {
        snprintf(detail, sizeof(detail),
                 "enrolment %s is %s: it cannot become %s (outcomes follow enrolled or attended; "
                 "passed and failed are final)",
                 eid, from, to);
        entry_error(errors, i, "status", detail);
        goto out;
    }
    if (outcome_too_early(ses, to, detail, sizeof(detail)) != NULL) {
        entry_error(errors, i, "status", detail);
        goto out;
    }
    if (strcmp(to, "passed") == 0) {
        params[0] = db_value(res, 0, "facilitator_id");
        if ((status = http_exec_or_problem(r, "trn_fac_get", 1, params, &fac)) != 0) {
            goto out;
        }
        if (PQntuples(fac) == 1
            && pass_refusal(fac, db_value(ses, 0, "course_kind"), detail, sizeof(detail)) != NULL) {
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
    const char *sid = r->params[0], *params[2];
    size_t i, n = 0;
    int status;

    if ((status = http_read_json_array_or_problem(r, &in)) != 0) {
        goto out;
    }
    check_outcomes_form(in, errors);
    if (json_array_size(errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    n = json_array_size(in);
    if (!validate_uuid(sid)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no training session with id %s", sid);
        goto out;
    }
    if ((rows = calloc(n, sizeof(*rows))) == NULL) {
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
        goto out;
    }
    /* Lock order as for one enrolment: the session, its enrolments, then each facilitator. */
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = session_or_problem(r, sid, 1, &ses)) != 0
        || (status = not_cancelled_or_problem(r, ses)) != 0) {
        goto out;
    }
    /* Every entry is checked before anything is written, so each failure is named at once. */
    for (i = 0; i < n; i++) {
        if ((status = check_outcome_entry(r, ses, json_array_get(in, i), i, errors, &rows[i]))
            != 0) {
            goto out;
        }
    }
    if (json_array_size(errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    for (i = 0; i < n; i++) {
        const char *eid = db_value(rows[i], 0, "id");

        before = db_row_to_json(rows[i], 0);
        params[0] = eid;
        params[1] = str_field(json_array_get(in, i), "status");
        if ((strcmp(params[1], "passed") == 0
             && (status = apply_pass_or_problem(r, ses, db_value(rows[i], 0, "facilitator_id")))
                    != 0)
            || (status = http_exec_or_problem(r, "enr_set_status", 2, params, NULL)) != 0
            || (status = enrolment_or_problem(r, sid, eid, 0, &res)) != 0) {
            goto out;
        }
        after = db_row_to_json(res, 0);
        if ((fail = audit_write(r, "update", "enrolment", eid, before, after)) != NULL) {
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
