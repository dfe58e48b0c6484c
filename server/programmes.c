/* programmes.c: /v1/programmes. Programme runs: a licensed organisation delivering a variant of
 * M-PACT at one of its locations, with eligible facilitators, and the aggregate figures it
 * records on completion.
 *
 * The rules, checked on create and on every change against the run as it would be after the
 * change (a 422 lists every broken rule as {field, rule, detail}; nothing is written):
 * - licence_not_active: the organisation holds a licence that is active on starts_on and on
 *   ends_on (organisation_licensed_on for both dates, i.e. an active licence whose validity
 *   covers both, as the records stood on each date or stand today for a future date);
 * - location_not_owned / location_inactive: the location belongs to the organisation, is active
 *   and is not archived;
 * - variant_unknown: the variant is one of programme_variant;
 * - too_few_facilitators: at least the variant's min_facilitators facilitators;
 * - facilitator_unknown / facilitator_not_eligible: each facilitator exists and is eligible for
 *   this organisation on every day from starts_on to ends_on (facilitator_ineligible_from,
 *   migration 0010); the error carries the registration number, the first day they are not
 *   (ineligible_from) and the reason codes (employed_by_another_organisation when eligible for
 *   someone else);
 * - over_capacity: families_enrolled <= capacity_families; capacity_out_of_range: 1 to 8;
 * - ends_before_start, completed_exceeds_started, started_exceeds_capacity, too_few_adults,
 *   too_few_children (a family has at least one adult and one child), sessions_exceed_planned:
 *   the run's own figures;
 * - the calendar (registry_today()): run_not_started (running before starts_on), run_not_ended
 *   (completed before ends_on), unless the licensing body (admin) sends a reason with the status
 *   change, kept as status_reason; run_in_past: a new run (or new dates) ending before today is
 *   only accepted as completed, with its figures.
 * A change that cancels the run is not held to the rules: a run that no longer passes them (a
 * licence suspended since) must still be cancellable.
 *
 * Status: planned -> recruiting -> running -> completed, and any of the first three ->
 * cancelled; completed and cancelled are final. A run is created planned (or recruiting, running
 * once started, completed with its figures once ended).
 * Completion figures (families_started, families_completed, adults, children,
 * sessions_delivered, sessions_planned, review_held, reunion_held) are accepted only with the
 * change to completed (all but sessions_planned required then; sessions_planned defaults to the
 * variant's sessions) or on a completed run, as corrections. A completed run accepts nothing else.
 *
 * At risk: `at_risk` lists the run's facilitators whose stored status is suspended or withdrawn
 * while it is planned, recruiting or running and has not ended (programme_at_risk, computed on
 * read, so replacing the facilitator or cancelling clears it); programmes_flag_at_risk enqueues
 * programme.at_risk when a facilitator is suspended or withdrawn.
 *
 * Who: admin everything (organisation_id required on create); an org_admin schedules and changes
 * their own organisation's runs (organisation_id defaults to theirs); org_staff read them only.
 * Another organisation's run is answered 404.
 *
 * Locking: the run (for update), then its organisation, the organisation's licences, the
 * location and the facilitators are share-locked before the rules are read, so a licence
 * suspension, a location archived or a facilitator's status change cannot slip between the check
 * and the write. */
#include <stdarg.h>
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

#define PROG_MAX_FACILITATORS 20

#define PROG_COLUMNS                                                                               \
    "r.id, r.organisation_id, r.location_id, r.variant, "                                          \
    "jsonb_build_object('code', v.code, 'title', v.title, 'sessions', v.sessions, "                \
    "  'min_facilitators', v.min_facilitators) AS variant_details, "                               \
    "r.starts_on, r.ends_on, r.weekday, left(r.start_time::text, 5) AS start_time, "               \
    "r.capacity_families, r.families_enrolled, r.accepting_referrals, r.self_referral_allowed, "   \
    "r.status, r.status_reason, programme_at_risk(r.id) AS at_risk, "                              \
    "coalesce((SELECT jsonb_agg(jsonb_build_object('id', f.id, 'registration_number', "            \
    "  f.registration_number, 'given_name', f.given_name, 'family_name', f.family_name) "          \
    "  ORDER BY f.registration_number) "                                                           \
    "  FROM programme_facilitator pf JOIN facilitator f ON f.id = pf.facilitator_id "              \
    "  WHERE pf.run_id = r.id), '[]'::jsonb) AS facilitators, "                                    \
    "r.families_started, r.families_completed, r.adults, r.children, r.sessions_delivered, "       \
    "r.sessions_planned, r.review_held, r.reunion_held, r.created_at, r.updated_at, "              \
    "r.version AS _version, r.starts_on::text AS _starts_on "

#define PROG_FROM "FROM programme_run r JOIN programme_variant v ON v.code = r.variant "

const struct db_stmt programmes_stmts[] = {
    {"prog_get", "SELECT " PROG_COLUMNS PROG_FROM "WHERE r.id = $1::uuid"},
    {"prog_get_locked", "SELECT " PROG_COLUMNS PROG_FROM "WHERE r.id = $1::uuid FOR UPDATE OF r"},
    /* $1 the caller's organisation (NULL for admin), $2 organisation_id, $3 location_id,
     * $4 status, $5 from, $6 to, $7/$8 the cursor (starts_on, id), $9 limit. */
    {"prog_list",
     "SELECT " PROG_COLUMNS PROG_FROM "WHERE ($1::uuid IS NULL OR r.organisation_id = $1::uuid)"
     " AND ($2::uuid IS NULL OR r.organisation_id = $2::uuid)"
     " AND ($3::uuid IS NULL OR r.location_id = $3::uuid)"
     " AND ($4::text IS NULL OR r.status = $4::text)"
     " AND ($5::date IS NULL OR r.starts_on >= $5::date)"
     " AND ($6::date IS NULL OR r.starts_on <= $6::date)"
     " AND ($7::date IS NULL OR (r.starts_on, r.id) > ($7::date, $8::uuid))"
     " ORDER BY r.starts_on, r.id LIMIT $9::int"},
    /* The locks the rules are read under (see the file comment). */
    {"prog_org_locked", "SELECT archived_at FROM organisation WHERE id = $1::uuid FOR SHARE"},
    {"prog_licences_locked",
     "SELECT id FROM licence WHERE organisation_id = $1::uuid ORDER BY id FOR SHARE"},
    /* $1 location, $2 the run's organisation. */
    {"prog_location_locked",
     "SELECT organisation_id = $2::uuid AS owned, active, archived_at, name FROM location"
     " WHERE id = $1::uuid FOR SHARE"},
    {"prog_facilitators_locked",
     "SELECT id FROM facilitator WHERE id = ANY ($1::uuid[]) ORDER BY id FOR SHARE"},
    /* $1 organisation, $2 starts_on, $3 ends_on, $4 variant. */
    {"prog_rules",
     "SELECT organisation_licensed_on($1::uuid, $2::date) AS licensed_start,"
     " organisation_licensed_on($1::uuid, $3::date) AS licensed_end,"
     " v.sessions, v.min_facilitators,"
     " (SELECT string_agg(code, ', ' ORDER BY code) FROM programme_variant) AS _variants,"
     " registry_today()::text AS today "
     "FROM (SELECT 1) one LEFT JOIN programme_variant v ON v.code = $4::text"},
    /* $1 facilitator ids, $2 starts_on, $3 ends_on, $4 the run's organisation: one row per id,
     * in the order given, with the first date of the run on which the facilitator is not
     * eligible to deliver for the organisation (NULL: eligible throughout) and the reasons. */
    {"prog_eligibility",
     "SELECT u.id::text AS id, f.registration_number, x.on_date::text AS on_date,"
     " array_to_string(x.reasons, ',') AS reasons "
     "FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n)"
     " LEFT JOIN facilitator f ON f.id = u.id"
     " LEFT JOIN LATERAL facilitator_ineligible_from(f.id, $4::uuid, $2::date, $3::date) x"
     " ON f.id IS NOT NULL "
     "ORDER BY u.n"},
    /* $1 organisation, $2 the validated body. */
    {"prog_insert",
     "INSERT INTO programme_run (organisation_id, location_id, variant, starts_on, ends_on,"
     " weekday, start_time, capacity_families, families_enrolled, accepting_referrals,"
     " self_referral_allowed, status, status_reason, families_started, families_completed,"
     " adults, children, sessions_delivered, sessions_planned, review_held, reunion_held) "
     "SELECT $1::uuid, (j->>'location_id')::uuid, j->>'variant', (j->>'starts_on')::date,"
     " (j->>'ends_on')::date, j->>'weekday', (j->>'start_time')::time,"
     " (j->>'capacity_families')::int, coalesce((j->>'families_enrolled')::int, 0),"
     " coalesce((j->>'accepting_referrals')::boolean, true),"
     " coalesce((j->>'self_referral_allowed')::boolean, false), coalesce(j->>'status', 'planned'),"
     " j->>'reason', (j->>'families_started')::int, (j->>'families_completed')::int,"
     " (j->>'adults')::int, (j->>'children')::int, (j->>'sessions_delivered')::int,"
     " (j->>'sessions_planned')::int, (j->>'review_held')::boolean,"
     " (j->>'reunion_held')::boolean "
     "FROM (SELECT $2::jsonb AS j) s RETURNING id"},
    /* $1 run, $2 the validated body (with sessions_planned filled on completion). */
    {"prog_update",
     "UPDATE programme_run r SET"
     " location_id = CASE WHEN j ? 'location_id' THEN (j->>'location_id')::uuid"
     "               ELSE r.location_id END,"
     " variant = CASE WHEN j ? 'variant' THEN j->>'variant' ELSE r.variant END,"
     " starts_on = CASE WHEN j ? 'starts_on' THEN (j->>'starts_on')::date ELSE r.starts_on END,"
     " ends_on = CASE WHEN j ? 'ends_on' THEN (j->>'ends_on')::date ELSE r.ends_on END,"
     " weekday = CASE WHEN j ? 'weekday' THEN j->>'weekday' ELSE r.weekday END,"
     " start_time = CASE WHEN j ? 'start_time' THEN (j->>'start_time')::time"
     "              ELSE r.start_time END,"
     " capacity_families = CASE WHEN j ? 'capacity_families'"
     "                     THEN (j->>'capacity_families')::int ELSE r.capacity_families END,"
     " families_enrolled = CASE WHEN j ? 'families_enrolled'"
     "                     THEN (j->>'families_enrolled')::int ELSE r.families_enrolled END,"
     " accepting_referrals = CASE WHEN j ? 'accepting_referrals'"
     "                       THEN (j->>'accepting_referrals')::boolean"
     "                       ELSE r.accepting_referrals END,"
     " self_referral_allowed = CASE WHEN j ? 'self_referral_allowed'"
     "                         THEN (j->>'self_referral_allowed')::boolean"
     "                         ELSE r.self_referral_allowed END,"
     " status = CASE WHEN j ? 'status' THEN j->>'status' ELSE r.status END,"
     " status_reason = CASE WHEN j ? 'status' AND j->>'status' <> r.status THEN j->>'reason'"
     "                 ELSE r.status_reason END,"
     " families_started = CASE WHEN j ? 'families_started' THEN (j->>'families_started')::int"
     "                    ELSE r.families_started END,"
     " families_completed = CASE WHEN j ? 'families_completed'"
     "                      THEN (j->>'families_completed')::int ELSE r.families_completed END,"
     " adults = CASE WHEN j ? 'adults' THEN (j->>'adults')::int ELSE r.adults END,"
     " children = CASE WHEN j ? 'children' THEN (j->>'children')::int ELSE r.children END,"
     " sessions_delivered = CASE WHEN j ? 'sessions_delivered'"
     "                      THEN (j->>'sessions_delivered')::int ELSE r.sessions_delivered END,"
     " sessions_planned = CASE WHEN j ? 'sessions_planned' THEN (j->>'sessions_planned')::int"
     "                    ELSE r.sessions_planned END,"
     " review_held = CASE WHEN j ? 'review_held' THEN (j->>'review_held')::boolean"
     "               ELSE r.review_held END,"
     " reunion_held = CASE WHEN j ? 'reunion_held' THEN (j->>'reunion_held')::boolean"
     "                ELSE r.reunion_held END,"
     " updated_at = now(), version = r.version + 1 "
     "FROM (SELECT $2::jsonb AS j) s WHERE r.id = $1::uuid"},
    {"prog_fac_delete", "DELETE FROM programme_facilitator WHERE run_id = $1::uuid"
                        " AND NOT (facilitator_id = ANY ($2::uuid[]))"},
    {"prog_fac_insert", "INSERT INTO programme_facilitator (run_id, facilitator_id)"
                        " SELECT $1::uuid, unnest($2::uuid[]) ON CONFLICT DO NOTHING"},
    /* programme.at_risk for each run of facilitator $1 that is at risk (programme_at_risk), to
     * each active subscription of the run's organisation, in the envelope webhooks.c writes. */
    {"prog_flag_at_risk",
     "WITH s AS (SELECT p.organisation_id AS org, jsonb_build_object('id', p.id, 'status',"
     "  p.status, 'starts_on', p.starts_on, 'ends_on', p.ends_on, 'location_id', p.location_id,"
     "  'at_risk', programme_at_risk(p.id)) AS data"
     " FROM programme_run p JOIN programme_facilitator pf ON pf.run_id = p.id"
     " WHERE pf.facilitator_id = $1::uuid AND programme_at_risk(p.id) <> '[]'::jsonb) "
     "INSERT INTO webhook_outbox (subscription_id, event, body)"
     " SELECT w.id, 'programme.at_risk', jsonb_build_object('type', 'programme.at_risk',"
     "  'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
     "  'data', s.data)::text"
     " FROM s JOIN webhook_subscription w ON w.organisation_id = s.org"
     " WHERE w.status = 'active' AND 'programme.at_risk' = ANY (w.events)"},
    {NULL, NULL},
};

static const char *const prog_statuses[] = {
    "planned", "recruiting", "running", "completed", "cancelled", NULL,
};

static const char *const prog_weekdays[] = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", NULL,
};

/* The aggregate figures recorded on completion. */
static const char *const prog_figures[] = {
    "families_started", "families_completed", "adults",       "children", "sessions_delivered",
    "sessions_planned", "review_held",        "reunion_held", NULL,
};

/* facilitator_ids is checked apart (a list of UUIDs). */
static const struct field prog_fields[] = {
    {"organisation_id", FIELD_UUID, 0, 0, 0, NULL},
    {"location_id", FIELD_UUID, FIELD_REQUIRED, 0, 0, NULL},
    {"variant", FIELD_TEXT, FIELD_REQUIRED, 1, 32, NULL},
    {"starts_on", FIELD_DATE, FIELD_REQUIRED, 0, 0, NULL},
    {"ends_on", FIELD_DATE, FIELD_REQUIRED, 0, 0, NULL},
    {"weekday", FIELD_ENUM, FIELD_NULLABLE, 0, 0, prog_weekdays},
    {"start_time", FIELD_TEXT, FIELD_NULLABLE, 5, 5, NULL},
    {"capacity_families", FIELD_INT, FIELD_REQUIRED, 1, 8, NULL},
    {"families_enrolled", FIELD_INT, 0, 0, 100, NULL},
    {"accepting_referrals", FIELD_BOOL, 0, 0, 0, NULL},
    {"self_referral_allowed", FIELD_BOOL, 0, 0, 0, NULL},
    {"status", FIELD_ENUM, 0, 0, 0, prog_statuses},
    {"reason", FIELD_TEXT, 0, 1, 500, NULL},
    {"families_started", FIELD_INT, 0, 0, 1000, NULL},
    {"families_completed", FIELD_INT, 0, 0, 1000, NULL},
    {"adults", FIELD_INT, 0, 0, 10000, NULL},
    {"children", FIELD_INT, 0, 0, 10000, NULL},
    {"sessions_delivered", FIELD_INT, 0, 0, 52, NULL},
    {"sessions_planned", FIELD_INT, 0, 1, 52, NULL},
    {"review_held", FIELD_BOOL, 0, 0, 0, NULL},
    {"reunion_held", FIELD_BOOL, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* The status changes allowed (completed and cancelled are final). */
static const struct {
    const char *from;
    const char *to;
} prog_transitions[] = {
    {"planned", "recruiting"}, {"recruiting", "running"},   {"running", "completed"},
    {"planned", "cancelled"},  {"recruiting", "cancelled"}, {"running", "cancelled"},
};

static int
transition_allowed(const char *from, const char *to)
{
    size_t i;

    for (i = 0; i < sizeof(prog_transitions) / sizeof(prog_transitions[0]); i++) {
        if (strcmp(prog_transitions[i].from, from) == 0
            && strcmp(prog_transitions[i].to, to) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A string member of `o`, or NULL (borrowed). */
static const char *
str_field(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Appends {field, rule, detail} to `errors`. */
static json_t *add_rule(json_t *errors, const char *field, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static json_t *
add_rule(json_t *errors, const char *field, const char *rule, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    json_t *e;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    e = json_pack("{s:s, s:s, s:s}", "field", field, "rule", rule, "detail", detail);
    json_array_append_new(errors, e);
    return e;
}

/* 1 when `s` is a time of day as HH:MM. */
static int
time_ok(const char *s)
{
    return strlen(s) == 5 && s[2] == ':' && s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9'
           && (s[0] < '2' || s[1] <= '3') && s[3] >= '0' && s[3] <= '5' && s[4] >= '0'
           && s[4] <= '9';
}

/* Lower-cases UUID string `v` in place of its holder: ids compare as the database writes them. */
static json_t *
lower_uuid(json_t *v)
{
    char buf[40];
    const char *s = json_string_value(v);
    size_t i;

    if (s == NULL || !validate_uuid(s) || strlen(s) >= sizeof(buf)) {
        return json_incref(v);
    }
    for (i = 0; s[i] != '\0'; i++) {
        buf[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    }
    buf[i] = '\0';
    return json_string(buf);
}

/* Gives the field table's errors about capacity_families a rule member, as every other rule about
 * the run's figures has: capacity_out_of_range. */
static void
name_capacity_rule(json_t *in, json_t *errors)
{
    json_t *e;
    size_t i;

    json_array_foreach(errors, i, e)
    {
        const char *field = json_string_value(json_object_get(e, "field"));

        if (field != NULL && strcmp(field, "capacity_families") == 0
            && json_is_integer(json_object_get(in, "capacity_families"))) {
            json_object_set_new(e, "rule", json_string("capacity_out_of_range"));
            json_object_set_new(e, "detail",
                                json_string("a run takes 1 to 8 families (capacity_families)"));
        }
    }
}

/* Validates a programme body (the field table, facilitator_ids, start_time and what may not be
 * changed). Appends to `errors`; returns the number added. */
static int
validate_programme(json_t *in, int creating, json_t *errors)
{
    json_t *ids = json_object_get(in, "facilitator_ids"), *v;
    const char *t;
    size_t i, j;
    int n;

    json_incref(ids);
    json_object_del(in, "facilitator_ids");
    n = validate_fields(in, prog_fields, creating, errors);
    name_capacity_rule(in, errors);
    if (json_object_get(in, "reason") != NULL && json_object_get(in, "status") == NULL) {
        problem_add_error(errors, "reason", "only with a status change");
        n++;
    }
    if (json_object_get(in, "organisation_id") != NULL) {
        json_object_set_new(in, "organisation_id",
                            lower_uuid(json_object_get(in, "organisation_id")));
    }
    if (json_object_get(in, "location_id") != NULL) {
        json_object_set_new(in, "location_id", lower_uuid(json_object_get(in, "location_id")));
    }
    if (json_is_array(ids)) {
        json_array_foreach(ids, i, v)
        {
            json_array_set_new(ids, i, lower_uuid(v));
        }
    }
    if (ids != NULL) {
        json_object_set(in, "facilitator_ids", ids);
        if (!json_is_array(ids) || json_array_size(ids) > PROG_MAX_FACILITATORS) {
            problem_add_error(errors, "facilitator_ids", "must be a list of at most 20 ids");
            n++;
        } else {
            json_array_foreach(ids, i, v)
            {
                if (!json_is_string(v) || !validate_uuid(json_string_value(v))) {
                    problem_add_error(errors, "facilitator_ids", "each item must be a UUID");
                    n++;
                    break;
                }
                for (j = 0; j < i; j++) {
                    if (json_equal(json_array_get(ids, j), v)) {
                        break;
                    }
                }
                if (j < i) {
                    problem_add_error(errors, "facilitator_ids", "names a facilitator twice");
                    n++;
                    break;
                }
            }
        }
    } else if (creating) {
        problem_add_error(errors, "facilitator_ids", "is required");
        n++;
    }
    t = str_field(in, "start_time");
    /* Other lengths were already named by validate_fields (5 characters). */
    if (t != NULL && strlen(t) == 5 && !time_ok(t)) {
        problem_add_error(errors, "start_time", "must be a time of day as HH:MM");
        n++;
    }
    if (creating) {
        const char *st = str_field(in, "status");
        const char *const *f;
        if (st != NULL && strcmp(st, "cancelled") == 0) {
            problem_add_error(errors, "status",
                              "a new run is planned, recruiting, running or completed");
            n++;
        }
        /* A run recorded after it ended comes with its figures (check_calendar). */
        for (f = prog_figures; (st == NULL || strcmp(st, "completed") != 0) && *f != NULL; f++) {
            if (json_object_get(in, *f) != NULL) {
                problem_add_error(errors, *f,
                                  "completion figures are accepted only with or "
                                  "after the change to completed");
                n++;
            }
        }
    } else if (json_object_get(in, "organisation_id") != NULL) {
        problem_add_error(errors, "organisation_id", "cannot be changed; schedule a new run");
        n++;
    }
    json_decref(ids);
    return n;
}

/* 1 when the caller may schedule and change runs (of an organisation already checked). */
static int
may_write(const struct principal *p)
{
    return auth_is_admin(p) || strcmp(p->role, "org_admin") == 0;
}

/* Writes facilitator_ids (an array of UUID strings, borrowed) as a PostgreSQL uuid[] literal.
 * Returns a malloc'd string. */
static char *
uuid_array(json_t *ids)
{
    size_t i, n = json_array_size(ids);
    char *s = malloc(n * 37 + 3), *p = s;

    if (s == NULL) {
        return NULL;
    }
    *p++ = '{';
    for (i = 0; i < n; i++) {
        p += sprintf(p, "%s%s", i ? "," : "", json_string_value(json_array_get(ids, i)));
    }
    *p++ = '}';
    *p = '\0';
    return s;
}

/* Checks the rules against `cand`, the run as it would be (organisation_id, location_id,
 * variant, starts_on, ends_on, facilitator_ids, capacity_families, families_enrolled and the
 * figures), taking the locks first. Appends one {field, rule, detail} per broken rule to
 * `errors`, sets *sessions to the variant's session count (0 when unknown) and `today` (16 bytes)
 * to the registry's date (UK calendar). Returns 0, or the status of the problem sent when the
 * database failed. */
static int
check_rules_or_problem(struct req *r, json_t *cand, json_t *errors, int *sessions, char *today)
{
    const char *org = str_field(cand, "organisation_id");
    const char *loc = str_field(cand, "location_id");
    const char *variant = str_field(cand, "variant");
    const char *starts = str_field(cand, "starts_on"), *ends = str_field(cand, "ends_on");
    json_t *ids = json_object_get(cand, "facilitator_ids"), *e;
    PGresult *res = NULL;
    char *arr = uuid_array(ids);
    const char *params[4];
    long long cap, enrolled;
    int status = 0, i, n, min_fac = 0;

    *sessions = 0;
    today[0] = '\0';
    if (arr == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    /* Locks, in one order everywhere: organisation, its licences, location, facilitators. */
    params[0] = org;
    if ((status = http_exec_or_problem(r, "prog_licences_locked", 1, params, NULL)) != 0) {
        goto out;
    }
    params[0] = loc;
    params[1] = org;
    if ((status = http_exec_or_problem(r, "prog_location_locked", 2, params, &res)) != 0) {
        goto out;
    }
    if (PQntuples(res) == 0 || !db_bool(res, 0, "owned")) {
        add_rule(errors, "location_id", "location_not_owned",
                 "location %s is not a location of organisation %s", loc, org);
    } else if (db_value(res, 0, "archived_at") != NULL || !db_bool(res, 0, "active")) {
        add_rule(errors, "location_id", "location_inactive", "location %s (%s) is %s", loc,
                 db_value(res, 0, "name"),
                 db_value(res, 0, "archived_at") != NULL ? "archived" : "not active");
    }
    PQclear(res);
    res = NULL;
    params[0] = arr;
    if ((status = http_exec_or_problem(r, "prog_facilitators_locked", 1, params, NULL)) != 0) {
        goto out;
    }
    params[0] = org;
    params[1] = starts;
    params[2] = ends;
    params[3] = variant;
    if ((status = http_exec_or_problem(r, "prog_rules", 4, params, &res)) != 0) {
        goto out;
    }
    snprintf(today, 16, "%s", db_value(res, 0, "today"));
    if (!db_bool(res, 0, "licensed_start") || !db_bool(res, 0, "licensed_end")) {
        add_rule(errors, "organisation_id", "licence_not_active",
                 "the organisation holds no active licence covering %s %s",
                 !db_bool(res, 0, "licensed_start") ? "starts_on" : "ends_on",
                 !db_bool(res, 0, "licensed_start") ? starts : ends);
    }
    if (db_value(res, 0, "sessions") == NULL) {
        add_rule(errors, "variant", "variant_unknown", "variant %s is not one of: %s", variant,
                 db_value(res, 0, "_variants"));
    } else {
        *sessions = atoi(db_value(res, 0, "sessions"));
        min_fac = atoi(db_value(res, 0, "min_facilitators"));
        if ((int)json_array_size(ids) < min_fac) {
            add_rule(errors, "facilitator_ids", "too_few_facilitators",
                     "variant %s needs at least %d facilitators; %zu given", variant, min_fac,
                     json_array_size(ids));
        }
    }
    PQclear(res);
    res = NULL;
    params[0] = arr;
    params[1] = starts;
    params[2] = ends;
    params[3] = org;
    if ((status = http_exec_or_problem(r, "prog_eligibility", 4, params, &res)) != 0) {
        goto out;
    }
    n = PQntuples(res);
    for (i = 0; i < n; i++) {
        const char *number = db_value(res, i, "registration_number");
        const char *reasons = db_value(res, i, "reasons");
        const char *on = db_value(res, i, "on_date");
        json_t *codes;
        char *joined;
        if (number == NULL) {
            add_rule(errors, "facilitator_ids", "facilitator_unknown", "no facilitator with id %s",
                     db_value(res, i, "id"));
            continue;
        }
        if (on == NULL) {
            continue;
        }
        codes = json_array();
        if (reasons != NULL && reasons[0] != '\0') {
            char *copy = strdup(reasons), *save = NULL, *tok;
            for (tok = copy != NULL ? strtok_r(copy, ",", &save) : NULL; tok != NULL;
                 tok = strtok_r(NULL, ",", &save)) {
                json_array_append_new(codes, json_string(tok));
            }
            free(copy);
        }
        joined = NULL;
        {
            size_t k;
            json_t *c;
            size_t len = 1;
            json_array_foreach(codes, k, c)
            {
                len += strlen(json_string_value(c)) + 2;
            }
            joined = calloc(1, len);
            json_array_foreach(codes, k, c)
            {
                if (joined != NULL) {
                    if (k > 0) {
                        strcat(joined, ", ");
                    }
                    strcat(joined, json_string_value(c));
                }
            }
        }
        if (strcmp(on, starts) == 0) {
            e = add_rule(errors, "facilitator_ids", "facilitator_not_eligible",
                         "%s is not eligible to deliver for this organisation on %s: %s", number,
                         on, joined != NULL ? joined : "");
        } else {
            e = add_rule(errors, "facilitator_ids", "facilitator_not_eligible",
                         "%s stops being eligible to deliver for this organisation on %s, before "
                         "the run ends on %s: %s",
                         number, on, ends, joined != NULL ? joined : "");
        }
        json_object_set_new(e, "registration_number", json_string(number));
        json_object_set_new(e, "ineligible_from", json_string(on));
        json_object_set_new(e, "reasons", codes);
        free(joined);
    }
    cap = json_integer_value(json_object_get(cand, "capacity_families"));
    enrolled = json_integer_value(json_object_get(cand, "families_enrolled"));
    if (enrolled > cap) {
        add_rule(errors, "families_enrolled", "over_capacity",
                 "%lld families enrolled exceeds capacity_families %lld", enrolled, cap);
    }
out:
    free(arr);
    PQclear(res);
    return status;
}

/* Checks the run's own consistency: dates in order and the figures. Appends to `errors`. */
static void
check_own_figures(json_t *cand, json_t *errors)
{
    json_t *started = json_object_get(cand, "families_started");
    json_t *completed = json_object_get(cand, "families_completed");
    json_t *delivered = json_object_get(cand, "sessions_delivered");
    json_t *planned = json_object_get(cand, "sessions_planned");
    json_t *cap = json_object_get(cand, "capacity_families");
    json_t *adults = json_object_get(cand, "adults"), *children = json_object_get(cand, "children");

    if (strcmp(str_field(cand, "ends_on"), str_field(cand, "starts_on")) < 0) {
        add_rule(errors, "ends_on", "ends_before_start", "ends_on %s is before starts_on %s",
                 str_field(cand, "ends_on"), str_field(cand, "starts_on"));
    }
    if (json_is_integer(started) && json_is_integer(completed)
        && json_integer_value(completed) > json_integer_value(started)) {
        add_rule(errors, "families_completed", "completed_exceeds_started",
                 "families_completed %lld exceeds families_started %lld",
                 (long long)json_integer_value(completed), (long long)json_integer_value(started));
    }
    if (json_is_integer(started) && json_is_integer(cap)
        && json_integer_value(started) > json_integer_value(cap)) {
        add_rule(errors, "families_started", "started_exceeds_capacity",
                 "families_started %lld exceeds the run's capacity_families %lld",
                 (long long)json_integer_value(started), (long long)json_integer_value(cap));
    }
    if (json_is_integer(started) && json_is_integer(adults)
        && json_integer_value(adults) < json_integer_value(started)) {
        add_rule(errors, "adults", "too_few_adults",
                 "%lld adults for %lld families: every family has at least one adult",
                 (long long)json_integer_value(adults), (long long)json_integer_value(started));
    }
    if (json_is_integer(started) && json_is_integer(children)
        && json_integer_value(children) < json_integer_value(started)) {
        add_rule(errors, "children", "too_few_children",
                 "%lld children for %lld families: every family has at least one child",
                 (long long)json_integer_value(children), (long long)json_integer_value(started));
    }
    if (json_is_integer(delivered) && json_is_integer(planned)
        && json_integer_value(delivered) > json_integer_value(planned)) {
        add_rule(errors, "sessions_delivered", "sessions_exceed_planned",
                 "sessions_delivered %lld exceeds sessions_planned %lld",
                 (long long)json_integer_value(delivered), (long long)json_integer_value(planned));
    }
}

/* Checks the status the change `in` gives the run against the calendar (`today`, the UK date):
 * running only on or after starts_on and completed only on or after ends_on (unless the
 * licensing body gives a reason), and a run that ended before today only as completed. `cand`
 * holds the dates as they would be, `from` the stored status (NULL on create, when completed
 * also requires the figures). Appends to `errors`. */
static void
check_calendar(
    struct req *r, json_t *in, json_t *cand, const char *from, const char *today, json_t *errors)
{
    const char *to = str_field(in, "status");
    const char *starts = str_field(cand, "starts_on"), *ends = str_field(cand, "ends_on");
    const char *final = to != NULL ? to : from != NULL ? from : "planned";
    const char *const *f;
    int early_ok = auth_is_admin(&r->principal) && json_object_get(in, "reason") != NULL;
    int changing = to != NULL && (from == NULL || strcmp(from, to) != 0);
    int dated = from == NULL || json_object_get(in, "starts_on") != NULL
                || json_object_get(in, "ends_on") != NULL;

    if (today[0] == '\0' || starts == NULL || ends == NULL) {
        return;
    }
    if (changing && strcmp(to, "running") == 0 && strcmp(today, starts) < 0 && !early_ok) {
        add_rule(errors, "status", "run_not_started",
                 "a run becomes running on or after starts_on (%s; today is %s); only the "
                 "licensing body may record it earlier, with a reason",
                 starts, today);
    }
    if (changing && strcmp(to, "completed") == 0 && strcmp(today, ends) < 0 && !early_ok) {
        add_rule(errors, "status", "run_not_ended",
                 "a run becomes completed on or after ends_on (%s; today is %s); only the "
                 "licensing body may record it earlier, with a reason",
                 ends, today);
    }
    if (dated && strcmp(ends, today) < 0 && strcmp(final, "completed") != 0
        && strcmp(final, "cancelled") != 0) {
        add_rule(errors, "ends_on", "run_in_past",
                 "the run ends on %s, before today (%s): record it as completed, with its "
                 "figures",
                 ends, today);
    }
    if (from == NULL && strcmp(final, "completed") == 0) {
        for (f = prog_figures; *f != NULL; f++) {
            if (strcmp(*f, "sessions_planned") != 0 && json_object_get(in, *f) == NULL) {
                add_rule(errors, *f, "completion_figures_required",
                         "is required to record a completed run");
            }
        }
    }
}

/* Replaces the run's facilitators by `ids` (borrowed). Returns 0, or the status sent. */
static int
set_facilitators_or_problem(struct req *r, const char *id, json_t *ids)
{
    char *arr = uuid_array(ids);
    const char *params[2] = {id, arr};
    int status;

    if (arr == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    if ((status = http_exec_or_problem(r, "prog_fac_delete", 2, params, NULL)) == 0) {
        status = http_exec_or_problem(r, "prog_fac_insert", 2, params, NULL);
    }
    free(arr);
    return status;
}

/* 1 when the caller may see row 0 of `res`, a run of their own organisation. */
static int
in_org(const struct principal *p, const PGresult *res)
{
    return auth_in_org(p, db_value(res, 0, "organisation_id"));
}

/* Reads run `id` (locked for update when `lock`) and checks the caller may see it: a malformed
 * id, a missing run and another organisation's run all get the same 404. Returns 0 with the
 * result in *out, or the status of the problem sent. */
static int
load_or_problem(struct req *r, const char *id, int lock, PGresult **out)
{
    return http_row_or_problem(r, lock ? "prog_get_locked" : "prog_get", id, "programme run",
                               in_org, out);
}

int
programmes_get(struct req *r)
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
programmes_list(struct req *r)
{
    static const char *const allowed[] = {"organisation_id", "location_id", "status", "from", "to",
                                          "limit",           "cursor",      NULL};
    struct query q;
    struct page p = {0, NULL};
    PGresult *res = NULL;
    const char *params[9], *org, *loc, *st, *from, *to;
    int status;

    if ((status = http_query_or_problem(r, allowed, &q)) != 0
        || (status = http_page_or_problem(r, &q, &p)) != 0) {
        goto out;
    }
    org = query_get(&q, "organisation_id");
    loc = query_get(&q, "location_id");
    st = query_get(&q, "status");
    from = query_get(&q, "from");
    to = query_get(&q, "to");
    if ((org != NULL && !validate_uuid(org)) || (loc != NULL && !validate_uuid(loc))) {
        status =
            problem_send(r, PROBLEM_BAD_REQUEST, "%s: must be a UUID",
                         org != NULL && !validate_uuid(org) ? "organisation_id" : "location_id");
        goto out;
    }
    if (st != NULL && !validate_in_list(prog_statuses, st)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST,
                              "status: one of planned, recruiting, "
                              "running, completed, cancelled");
        goto out;
    }
    if ((from != NULL && !validate_date(from)) || (to != NULL && !validate_date(to))) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "from, to: dates as YYYY-MM-DD");
        goto out;
    }
    if ((status = http_cursor_or_problem(r, &p, 2, http_cursor_date)) != 0) {
        goto out;
    }
    /* A licensee's list holds their own organisation's runs only. */
    params[0] = auth_is_admin(&r->principal) ? NULL : r->principal.org;
    params[1] = org;
    params[2] = loc;
    params[3] = st;
    params[4] = from;
    params[5] = to;
    params[6] = page_after(&p, 0);
    params[7] = page_after(&p, 1);
    status = page_query_send(r, "prog_list", params, 9, &p, "_starts_on");
out:
    PQclear(res);
    page_cleanup(&p);
    query_cleanup(&q);
    return status;
}

/* Share-locks organisation `org` for the rules. Returns 0 (with *found 0 when it is missing or
 * archived), or the status of the problem sent. */
static int
lock_org_or_problem(struct req *r, const char *org, int *found)
{
    const char *params[1] = {org};
    PGresult *res = NULL;
    int status;

    *found = 0;
    if ((status = http_exec_or_problem(r, "prog_org_locked", 1, params, &res)) != 0) {
        return status;
    }
    *found = PQntuples(res) == 1 && db_value(res, 0, "archived_at") == NULL;
    PQclear(res);
    return 0;
}

int
programmes_create(struct req *r)
{
    json_t *in = NULL, *errors = json_array();
    const char *org, *params[2];
    char *text = NULL, id[40], today[16];
    int status, found, sessions;

    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    if (validate_programme(in, 1, errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    org = str_field(in, "organisation_id");
    if (org == NULL && !auth_is_admin(&r->principal)) {
        org = r->principal.org;
        json_object_set_new(in, "organisation_id", json_string(org));
        org = str_field(in, "organisation_id");
    }
    if (org == NULL) {
        problem_add_error(errors, "organisation_id", "is required");
        status = problem_send_errors(r, errors);
        goto out;
    }
    if (!auth_in_org(&r->principal, org)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no organisation with id %s", org);
        goto out;
    }
    if (!may_write(&r->principal)) {
        status = problem_send(r, PROBLEM_FORBIDDEN,
                              "only an organisation admin may schedule its programme runs");
        goto out;
    }
    if (json_object_get(in, "families_enrolled") == NULL) {
        json_object_set_new(in, "families_enrolled", json_integer(0));
    }
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = lock_org_or_problem(r, org, &found)) != 0) {
        goto out;
    }
    if (!found) {
        add_rule(errors, "organisation_id", "organisation_unknown", "no organisation with id %s",
                 org);
        status = problem_send_errors(r, errors);
        goto out;
    }
    if ((status = check_rules_or_problem(r, in, errors, &sessions, today)) != 0) {
        goto out;
    }
    /* Recording a completed run without sessions_planned plans the variant's sessions. */
    if (sessions > 0 && json_object_get(in, "sessions_planned") == NULL
        && str_field(in, "status") != NULL && strcmp(str_field(in, "status"), "completed") == 0) {
        json_object_set_new(in, "sessions_planned", json_integer(sessions));
    }
    check_own_figures(in, errors);
    check_calendar(r, in, in, NULL, today, errors);
    if (json_array_size(errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    text = json_dumps(in, JSON_COMPACT);
    params[0] = org;
    params[1] = text;
    if ((status = http_insert_or_problem(r, "prog_insert", 2, params, id, sizeof(id))) != 0
        || (status = set_facilitators_or_problem(r, id, json_object_get(in, "facilitator_ids")))
               != 0
        || (status = webhooks_enqueue(r, "programme.changed", id, NULL)) != 0) {
        goto out;
    }
    status =
        audit_commit_and_send(r, "create", "programme", id, NULL, "prog_get", "/v1/programmes/");
out:
    free(text);
    json_decref(errors);
    json_decref(in);
    return status;
}

/* Checks the status change and the figures of a change `in` to the run `cur` (as JSON).
 * Returns 0, or the status of the problem sent. Sets *cancelling when the change cancels. */
static int
change_allowed_or_problem(struct req *r, json_t *in, json_t *cur, int *cancelling)
{
    const char *from = str_field(cur, "status"), *to = str_field(in, "status");
    const char *const *f;
    const char *key;
    json_t *v, *errors;
    int completing, status = 0, figures = 0;

    *cancelling = 0;
    if (strcmp(from, "cancelled") == 0) {
        return problem_send(r, PROBLEM_CONFLICT, "the run is cancelled, which is final");
    }
    if (to != NULL && strcmp(to, from) != 0 && !transition_allowed(from, to)) {
        return problem_send(r, PROBLEM_INVALID_TRANSITION,
                            "%s to %s is not allowed; a run goes planned, recruiting, running, "
                            "completed, and may be cancelled before it completes",
                            from, to);
    }
    *cancelling = to != NULL && strcmp(to, "cancelled") == 0;
    completing = to != NULL && strcmp(to, "completed") == 0 && strcmp(from, "completed") != 0;
    for (f = prog_figures; *f != NULL; f++) {
        figures += json_object_get(in, *f) != NULL;
    }
    if (strcmp(from, "completed") == 0) {
        /* A completed run takes corrections of its figures, nothing else. */
        json_object_foreach(in, key, v)
        {
            if (!validate_in_list(prog_figures, key) && strcmp(key, "status") != 0) {
                return problem_send(r, PROBLEM_CONFLICT,
                                    "%s: the run is completed; only its figures may be corrected",
                                    key);
            }
        }
        return 0;
    }
    errors = json_array();
    if (completing) {
        for (f = prog_figures; *f != NULL; f++) {
            if (strcmp(*f, "sessions_planned") != 0 && json_object_get(in, *f) == NULL) {
                add_rule(errors, *f, "completion_figures_required",
                         "is required to complete the run");
            }
        }
    } else if (figures > 0) {
        for (f = prog_figures; *f != NULL; f++) {
            if (json_object_get(in, *f) != NULL) {
                add_rule(errors, *f, "figures_before_completion",
                         "completion figures are accepted only with or after the change to "
                         "completed");
            }
        }
    }
    if (json_array_size(errors) > 0) {
        status = problem_send_errors(r, errors);
    }
    json_decref(errors);
    return status;
}

/* Returns a new reference: the run `cur` (as JSON) with the change `in` applied, in the shape
 * check_rules_or_problem reads. */
static json_t *
candidate(json_t *cur, json_t *in)
{
    static const char *const keys[] = {
        "organisation_id",
        "location_id",
        "variant",
        "starts_on",
        "ends_on",
        "capacity_families",
        "families_enrolled",
        "families_started",
        "families_completed",
        "sessions_delivered",
        "sessions_planned",
        "adults",
        "children",
        NULL,
    };
    json_t *c = json_object(), *ids, *f;
    const char *const *k;
    size_t i;

    for (k = keys; *k != NULL; k++) {
        json_t *v = json_object_get(in, *k);
        json_object_set(c, *k, v != NULL ? v : json_object_get(cur, *k));
    }
    ids = json_object_get(in, "facilitator_ids");
    if (ids != NULL) {
        json_object_set(c, "facilitator_ids", ids);
    } else {
        ids = json_array();
        json_array_foreach(json_object_get(cur, "facilitators"), i, f)
        {
            json_array_append(ids, json_object_get(f, "id"));
        }
        json_object_set_new(c, "facilitator_ids", ids);
    }
    return c;
}

int
programmes_update(struct req *r)
{
    json_t *in = NULL, *errors = json_array(), *before = NULL, *cand = NULL;
    PGresult *res = NULL;
    const char *id = r->params[0], *params[2];
    char *text = NULL, today[16];
    int status, cancelling, found, sessions;

    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    if (validate_programme(in, 0, errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    if (json_object_size(in) == 0) {
        problem_add_error(errors, "body", "name at least one field to change");
        status = problem_send_errors(r, errors);
        goto out;
    }
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = load_or_problem(r, id, 1, &res)) != 0) {
        goto out;
    }
    if (!may_write(&r->principal)) {
        status = problem_send(r, PROBLEM_FORBIDDEN,
                              "only an organisation admin may change its programme runs");
        goto out;
    }
    if ((status = http_if_match_or_problem(r, db_value(res, 0, "_version"))) != 0) {
        goto out;
    }
    before = db_row_to_json(res, 0);
    if ((status = change_allowed_or_problem(r, in, before, &cancelling)) != 0) {
        goto out;
    }
    cand = candidate(before, in);
    if (!cancelling) {
        if ((status = lock_org_or_problem(r, str_field(cand, "organisation_id"), &found)) != 0
            || (status = check_rules_or_problem(r, cand, errors, &sessions, today)) != 0) {
            goto out;
        }
        if (!found) {
            add_rule(errors, "organisation_id", "organisation_archived",
                     "the run's organisation is archived");
        }
        /* Completing without sessions_planned plans the variant's sessions. */
        if (sessions > 0 && json_is_null(json_object_get(cand, "sessions_planned"))
            && json_object_get(in, "status") != NULL
            && strcmp(str_field(in, "status"), "completed") == 0) {
            json_object_set_new(in, "sessions_planned", json_integer(sessions));
            json_object_set_new(cand, "sessions_planned", json_integer(sessions));
        }
        check_own_figures(cand, errors);
        check_calendar(r, in, cand, str_field(before, "status"), today, errors);
        if (json_array_size(errors) > 0) {
            status = problem_send_errors(r, errors);
            goto out;
        }
    }
    PQclear(res);
    res = NULL;
    text = json_dumps(in, JSON_COMPACT);
    params[0] = id;
    params[1] = text;
    if ((status = http_exec_or_problem(r, "prog_update", 2, params, NULL)) != 0
        || (status = webhooks_enqueue(r, "programme.changed", id, NULL)) != 0) {
        goto out;
    }
    if (json_object_get(in, "facilitator_ids") != NULL
        && (status = set_facilitators_or_problem(r, id, json_object_get(in, "facilitator_ids")))
               != 0) {
        goto out;
    }
    status = audit_commit_and_send(r, "update", "programme", id, before, "prog_get", NULL);
out:
    free(text);
    PQclear(res);
    json_decref(cand);
    json_decref(before);
    json_decref(errors);
    json_decref(in);
    return status;
}

int
programmes_flag_at_risk(struct req *r, const char *facilitator_id)
{
    const char *params[1] = {facilitator_id};

    return http_exec_or_problem(r, "prog_flag_at_risk", 1, params, NULL);
}
