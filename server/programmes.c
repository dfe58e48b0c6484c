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
#include "registry/programmes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/auth.h"
#include "registry/delivery.h"
#include "registry/problem.h"
#include "registry/resource.h"
#include "registry/validate.h"

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
    "r.sessions_planned, r.review_held, r.reunion_held, r.families_referred, "                     \
    "r.families_assessed, "                                                                        \
    "r.delivery_cost_gbp, r.created_at, r.updated_at, "                                            \
    "r.version AS _version, r.starts_on::text AS _starts_on "

#define PROG_FROM "FROM programme_run r JOIN programme_variant v ON v.code = r.variant "

/* The columns a body sets as they are (jsonb_populate_record): all but organisation_id (fixed
 * once created) and status_reason (the body's `reason`, kept only with a status change). */
#define PROG_PLAIN                                                                                 \
    "location_id, variant, starts_on, ends_on, weekday, start_time, capacity_families, "           \
    "families_enrolled, accepting_referrals, self_referral_allowed, status, families_started, "    \
    "families_completed, adults, children, sessions_delivered, sessions_planned, review_held, "    \
    "reunion_held"

const struct db_stmt programmes_stmts[] = {
    {"prog_get", "SELECT " PROG_COLUMNS PROG_FROM "WHERE r.id = $1::uuid"},
    {"prog_get_locked", "SELECT " PROG_COLUMNS PROG_FROM "WHERE r.id = $1::uuid FOR UPDATE OF r"},
    /* $1 the caller's organisation (NULL for admin), $2 organisation_id, $3 location_id,
     * $4 status, $5 from, $6 to, $7 local_authority (of the run's location's postcode),
     * $8/$9 the cursor (starts_on, id), $10 limit. */
    {"prog_list",
     "SELECT " PROG_COLUMNS PROG_FROM "WHERE ($1::uuid IS NULL OR r.organisation_id = $1::uuid)"
     " AND ($2::uuid IS NULL OR r.organisation_id = $2::uuid)"
     " AND ($3::uuid IS NULL OR r.location_id = $3::uuid)"
     " AND ($4::text IS NULL OR r.status = $4::text)"
     " AND ($5::date IS NULL OR r.starts_on >= $5::date)"
     " AND ($6::date IS NULL OR r.starts_on <= $6::date)"
     " AND ($7::text IS NULL OR (SELECT coalesce(p.oslaua, l.county) FROM location l"
     "      LEFT JOIN postcode p ON p.postcode = l.postcode WHERE l.id = r.location_id) = $7::text)"
     " AND ($8::date IS NULL OR (r.starts_on, r.id) > ($8::date, $9::uuid))"
     " ORDER BY r.starts_on, r.id LIMIT $10::int"},
    /* The locks the rules are read under (see the file comment). */
    {"prog_org_locked", "SELECT archived_at FROM organisation WHERE id = $1::uuid FOR SHARE"},
    {"prog_licences_locked",
     "SELECT id FROM licence WHERE organisation_id = $1::uuid ORDER BY id FOR SHARE"},
    /* $1 location, $2 the run's organisation. */
    {"prog_location_locked",
     "SELECT organisation_id = $2::uuid AS owned, active, archived_at, name FROM location"
     " WHERE id = $1::uuid FOR SHARE"},
    /* $1 facilitator ids (a JSON array of UUIDs). */
    {"prog_facilitators_locked",
     "SELECT id FROM facilitator WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::uuid)"
     " ORDER BY id FOR SHARE"},
    /* $1 organisation, $2 starts_on, $3 ends_on, $4 variant. */
    {"prog_rules",
     "SELECT organisation_licensed_on($1::uuid, $2::date) AS licensed_start,"
     " organisation_licensed_on($1::uuid, $3::date) AS licensed_end,"
     " v.sessions, v.min_facilitators,"
     " (SELECT string_agg(code, ', ' ORDER BY code) FROM programme_variant) AS _variants,"
     " registry_today()::text AS today "
     "FROM (SELECT 1) one LEFT JOIN programme_variant v ON v.code = $4::text"},
    /* $1 facilitator ids (JSON), $2 starts_on, $3 ends_on, $4 the run's organisation: one row per
     * id, in the order given, with the first date of the run on which the facilitator is not
     * eligible to deliver for the organisation (NULL: eligible throughout) and the reasons (as
     * a list, and as text for the detail). */
    {"prog_eligibility",
     "SELECT u.id, f.registration_number, x.on_date::text AS ineligible_from,"
     " coalesce(to_jsonb(x.reasons), '[]'::jsonb) AS reasons,"
     " coalesce(array_to_string(x.reasons, ', '), '') AS _reasons "
     "FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY AS u(id, n)"
     " LEFT JOIN facilitator f ON f.id = u.id::uuid"
     " LEFT JOIN LATERAL facilitator_ineligible_from(f.id, $4::uuid, $2::date, $3::date) x"
     " ON f.id IS NOT NULL "
     "ORDER BY u.n"},
    /* $1 the validated body, organisation_id settled; what it leaves out takes the defaults.
     * The run's facilitators are its facilitator_ids. */
    {"prog_insert",
     "WITH n AS (INSERT INTO programme_run (organisation_id, status_reason, " PROG_PLAIN ")"
     " SELECT organisation_id, $1::jsonb->>'reason', " PROG_PLAIN " FROM jsonb_populate_record("
     "  NULL::programme_run, '{\"families_enrolled\": 0, \"accepting_referrals\": true,"
     "  \"self_referral_allowed\": false, \"status\": \"planned\"}'::jsonb || $1::jsonb)"
     " RETURNING id), "
     "f AS (INSERT INTO programme_facilitator (run_id, facilitator_id)"
     " SELECT n.id, x::uuid FROM n, jsonb_array_elements_text($1::jsonb->'facilitator_ids') x) "
     "SELECT id FROM n"},
    /* $1 run, $2 the validated changes (with sessions_planned filled on completion): the
     * columns they name replace the stored ones; the reason is kept with a status change; the
     * facilitators, when named, are replaced by facilitator_ids. */
    {"prog_update",
     "WITH u AS (UPDATE programme_run r SET (" PROG_PLAIN ") = (SELECT " PROG_PLAIN
     "  FROM jsonb_populate_record(r, $2::jsonb)),"
     "  status_reason = CASE WHEN $2::jsonb ? 'status' AND $2::jsonb->>'status' <> r.status"
     "                  THEN $2::jsonb->>'reason' ELSE r.status_reason END,"
     "  updated_at = now(), version = r.version + 1 WHERE r.id = $1::uuid), "
     "ids AS (SELECT x::uuid AS id FROM jsonb_array_elements_text($2::jsonb->'facilitator_ids') "
     "x), "
     "d AS (DELETE FROM programme_facilitator WHERE run_id = $1::uuid"
     "  AND $2::jsonb ? 'facilitator_ids' AND facilitator_id NOT IN (SELECT id FROM ids)) "
     "INSERT INTO programme_facilitator (run_id, facilitator_id)"
     " SELECT $1::uuid, id FROM ids ON CONFLICT DO NOTHING"},
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

/* prog_normalise restates the table's errors on capacity_families and facilitator_ids, and
 * checks that facilitator_ids are distinct UUIDs. */
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
    {"facilitator_ids", FIELD_TEXT_LIST, FIELD_REQUIRED, 0, PROG_MAX_FACILITATORS, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* The status changes allowed (completed and cancelled are final). */
static const struct transition prog_transitions[] = {
    {"planned", "recruiting"},
    {"recruiting", "running"},
    {"running", "completed"},
    {"planned", "cancelled"},
    {"recruiting", "cancelled"},
    {"running", "cancelled"},
    {NULL, NULL},
};

/* A string member of `o`, or NULL (borrowed). */
static const char *
str_field(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Gives the field table's error on `field` (if any) the detail `detail`, and the rule member
 * `rule` unless NULL. */
static void
restate(json_t *errors, const char *field, const char *rule, const char *detail)
{
    json_t *e;
    size_t i;

    json_array_foreach(errors, i, e)
    {
        const char *f = str_field(e, "field");

        if (f != NULL && strcmp(f, field) == 0) {
            if (rule != NULL) {
                json_object_set_new(e, "rule", json_string(rule));
            }
            json_object_set_new(e, "detail", json_string(detail));
        }
    }
}

/* 1 when `s` is a time of day as HH:MM. */
static int
time_ok(const char *s)
{
    return strlen(s) == 5 && s[2] == ':' && s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9'
           && (s[0] < '2' || s[1] <= '3') && s[3] >= '0' && s[3] <= '5' && s[4] >= '0'
           && s[4] <= '9';
}

/* Checks facilitator_ids (already lower-cased): a list of at most 20 distinct UUIDs. Adds one
 * error naming the field, or restates the field table's. */
static void
check_facilitator_ids(json_t *ids, json_t *errors)
{
    json_t *v;
    size_t i, j;

    if (resource_has_error(errors, "facilitator_ids")) {
        if (ids != NULL) { /* not "is required" */
            restate(errors, "facilitator_ids", NULL,
                    !json_is_array(ids) || json_array_size(ids) > PROG_MAX_FACILITATORS
                        ? "must be a list of at most 20 ids"
                        : "each item must be a UUID");
        }
        return;
    }
    json_array_foreach(ids, i, v)
    {
        if (!validate_uuid(json_string_value(v))) {
            problem_add_error(errors, "facilitator_ids", "each item must be a UUID");
            return;
        }
        for (j = 0; j < i && !json_equal(json_array_get(ids, j), v); j++) {
        }
        if (j < i) {
            problem_add_error(errors, "facilitator_ids", "names a facilitator twice");
            return;
        }
    }
}

/* What the field table cannot check: capacity_families named by its rule, facilitator_ids,
 * start_time, a reason only with a status, ids lower-cased (they compare as the database writes
 * them), what a new run may be and what a change may not touch. */
static int
prog_normalise(struct req *r, json_t *in, json_t *errors)
{
    json_t *ids = json_object_get(in, "facilitator_ids"), *v;
    const char *t = str_field(in, "start_time"), *st = str_field(in, "status");
    const char *const *f;
    int creating = strcmp(r->method, "POST") == 0;
    size_t i;

    if (json_is_integer(json_object_get(in, "capacity_families"))) {
        restate(errors, "capacity_families", "capacity_out_of_range",
                "a run takes 1 to 8 families (capacity_families)");
    }
    if (json_object_get(in, "reason") != NULL && json_object_get(in, "status") == NULL) {
        problem_add_error(errors, "reason", "only with a status change");
    }
    resource_uuid_lower(json_object_get(in, "organisation_id"));
    resource_uuid_lower(json_object_get(in, "location_id"));
    json_array_foreach(ids, i, v)
    {
        resource_uuid_lower(v);
    }
    check_facilitator_ids(ids, errors);
    /* Other lengths were already named by the field table (5 characters). */
    if (t != NULL && strlen(t) == 5 && !time_ok(t)) {
        problem_add_error(errors, "start_time", "must be a time of day as HH:MM");
    }
    if (!creating) {
        if (json_object_get(in, "organisation_id") != NULL) {
            problem_add_error(errors, "organisation_id", "cannot be changed; schedule a new run");
        }
        return 0;
    }
    if (st != NULL && strcmp(st, "cancelled") == 0) {
        problem_add_error(errors, "status",
                          "a new run is planned, recruiting, running or completed");
    }
    /* A run recorded after it ended comes with its figures (check_calendar). */
    for (f = prog_figures; (st == NULL || strcmp(st, "completed") != 0) && *f != NULL; f++) {
        if (json_object_get(in, *f) != NULL) {
            problem_add_error(errors, *f,
                              "completion figures are accepted only with or after the change to "
                              "completed");
        }
    }
    return 0;
}

/* Adds the errors of the facilitators in `res` (prog_eligibility) who are unknown or not
 * eligible for the whole run, from `starts` to `ends`. */
static void
check_eligibility(const PGresult *res, const char *starts, const char *ends, json_t *errors)
{
    static const char *const members[] = {"registration_number", "ineligible_from", "reasons",
                                          NULL};
    int i;

    for (i = 0; i < PQntuples(res); i++) {
        const char *number = db_value(res, i, "registration_number");
        const char *on = db_value(res, i, "ineligible_from"), *why = db_value(res, i, "_reasons");
        json_t *e;

        if (number == NULL) {
            problem_add_rule(errors, "facilitator_ids", "facilitator_unknown",
                             "no facilitator with id %s", db_value(res, i, "id"));
            continue;
        }
        if (on == NULL) {
            continue;
        }
        if (strcmp(on, starts) == 0) {
            e = problem_add_rule(errors, "facilitator_ids", "facilitator_not_eligible",
                                 "%s is not eligible to deliver for this organisation on %s: %s",
                                 number, on, why);
        } else {
            e = problem_add_rule(
                errors, "facilitator_ids", "facilitator_not_eligible",
                "%s stops being eligible to deliver for this organisation on %s, before "
                "the run ends on %s: %s",
                number, on, ends, why);
        }
        json_object_update_new(e, db_row_pick(res, i, members));
    }
}

/* Checks the rules against `cand`, the run as it would be (organisation_id, location_id,
 * variant, starts_on, ends_on, facilitator_ids, capacity_families, families_enrolled and the
 * figures), taking the locks first. Appends one {field, rule, detail} per broken rule to
 * `errors` (when `creating` for an organisation that does not exist, only that one), sets
 * *sessions to the variant's session count (0 when unknown) and `today` (16 bytes) to the
 * registry's date (UK calendar). Returns 0, or the status of the problem sent when the database
 * failed. */
static int
check_rules_or_problem(
    struct req *r, json_t *cand, int creating, json_t *errors, int *sessions, char *today)
{
    const char *org = str_field(cand, "organisation_id");
    const char *loc = str_field(cand, "location_id");
    const char *variant = str_field(cand, "variant");
    const char *starts = str_field(cand, "starts_on"), *ends = str_field(cand, "ends_on");
    json_t *ids = json_object_get(cand, "facilitator_ids");
    PGresult *res = NULL;
    char *arr = json_dumps(ids, JSON_COMPACT);
    long long cap, enrolled;
    int status = 0, min_fac, start_ok;

    *sessions = 0;
    today[0] = '\0';
    if (arr == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    /* Locks, in one order everywhere: organisation, its licences, location, facilitators. */
    if ((status = http_exec_or_problem(r, "prog_org_locked", 1, &org, &res)) != 0) {
        goto out;
    }
    if (PQntuples(res) == 0 || db_value(res, 0, "archived_at") != NULL) {
        if (creating) {
            problem_add_rule(errors, "organisation_id", "organisation_unknown",
                             "no organisation with id %s", org);
            goto out;
        }
        problem_add_rule(errors, "organisation_id", "organisation_archived",
                         "the run's organisation is archived");
    }
    PQclear(res);
    res = NULL;
    if ((status = http_exec_or_problem(r, "prog_licences_locked", 1, &org, NULL)) != 0) {
        goto out;
    }
    if ((status =
             http_exec_or_problem(r, "prog_location_locked", 2, (const char *[]){loc, org}, &res))
        != 0) {
        goto out;
    }
    if (PQntuples(res) == 0 || !db_bool(res, 0, "owned")) {
        problem_add_rule(errors, "location_id", "location_not_owned",
                         "location %s is not a location of organisation %s", loc, org);
    } else if (db_value(res, 0, "archived_at") != NULL || !db_bool(res, 0, "active")) {
        problem_add_rule(errors, "location_id", "location_inactive", "location %s (%s) is %s", loc,
                         db_value(res, 0, "name"),
                         db_value(res, 0, "archived_at") != NULL ? "archived" : "not active");
    }
    PQclear(res);
    res = NULL;
    if ((status =
             http_exec_or_problem(r, "prog_facilitators_locked", 1, (const char *[]){arr}, NULL))
        != 0) {
        goto out;
    }
    if ((status = http_exec_or_problem(r, "prog_rules", 4,
                                       (const char *[]){org, starts, ends, variant}, &res))
        != 0) {
        goto out;
    }
    snprintf(today, 16, "%s", db_value(res, 0, "today"));
    start_ok = db_bool(res, 0, "licensed_start");
    if (!start_ok || !db_bool(res, 0, "licensed_end")) {
        problem_add_rule(errors, "organisation_id", "licence_not_active",
                         "the organisation holds no active licence covering %s %s",
                         start_ok ? "ends_on" : "starts_on", start_ok ? ends : starts);
    }
    if (db_value(res, 0, "sessions") == NULL) {
        problem_add_rule(errors, "variant", "variant_unknown", "variant %s is not one of: %s",
                         variant, db_value(res, 0, "_variants"));
    } else {
        *sessions = atoi(db_value(res, 0, "sessions"));
        min_fac = atoi(db_value(res, 0, "min_facilitators"));
        if ((int)json_array_size(ids) < min_fac) {
            problem_add_rule(errors, "facilitator_ids", "too_few_facilitators",
                             "variant %s needs at least %d facilitators; %zu given", variant,
                             min_fac, json_array_size(ids));
        }
    }
    PQclear(res);
    res = NULL;
    if ((status = http_exec_or_problem(r, "prog_eligibility", 4,
                                       (const char *[]){arr, starts, ends, org}, &res))
        != 0) {
        goto out;
    }
    check_eligibility(res, starts, ends, errors);
    cap = json_integer_value(json_object_get(cand, "capacity_families"));
    enrolled = json_integer_value(json_object_get(cand, "families_enrolled"));
    if (enrolled > cap) {
        problem_add_rule(errors, "families_enrolled", "over_capacity",
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
    const char *starts = str_field(cand, "starts_on"), *ends = str_field(cand, "ends_on");

    if (strcmp(ends, starts) < 0) {
        problem_add_rule(errors, "ends_on", "ends_before_start",
                         "ends_on %s is before starts_on %s", ends, starts);
    }
    delivery_figure_errors(cand, errors);
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
        problem_add_rule(errors, "status", "run_not_started",
                         "a run becomes running on or after starts_on (%s; today is %s); only the "
                         "licensing body may record it earlier, with a reason",
                         starts, today);
    }
    if (changing && strcmp(to, "completed") == 0 && strcmp(today, ends) < 0 && !early_ok) {
        problem_add_rule(errors, "status", "run_not_ended",
                         "a run becomes completed on or after ends_on (%s; today is %s); only the "
                         "licensing body may record it earlier, with a reason",
                         ends, today);
    }
    if (dated && strcmp(ends, today) < 0 && strcmp(final, "completed") != 0
        && strcmp(final, "cancelled") != 0) {
        problem_add_rule(errors, "ends_on", "run_in_past",
                         "the run ends on %s, before today (%s): record it as completed, with its "
                         "figures",
                         ends, today);
    }
    if (from == NULL && strcmp(final, "completed") == 0) {
        for (f = prog_figures; *f != NULL; f++) {
            if (strcmp(*f, "sessions_planned") != 0 && json_object_get(in, *f) == NULL) {
                problem_add_rule(errors, *f, "completion_figures_required",
                                 "is required to record a completed run");
            }
        }
    }
}

/* Checks the status change and the figures of a change `in` to the stored run `cur`. Returns 0,
 * or the status of the problem sent. Sets *cancelling when the change cancels. */
static int
change_allowed_or_problem(struct req *r, json_t *in, const PGresult *cur, int *cancelling)
{
    const char *from = db_value(cur, 0, "status"), *to = str_field(in, "status");
    const char *const *f;
    const char *key;
    json_t *v, *errors;
    int completing, status = 0, figures = 0;

    *cancelling = 0;
    if (strcmp(from, "cancelled") == 0) {
        return problem_send(r, PROBLEM_CONFLICT, "the run is cancelled, which is final");
    }
    if (to != NULL && strcmp(to, from) != 0
        && !resource_transition_allowed(prog_transitions, from, to)) {
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
    for (f = prog_figures; (completing || figures > 0) && *f != NULL; f++) {
        /* Figures the delivery record already holds (delivery.c) count as given. */
        if (completing && strcmp(*f, "sessions_planned") != 0 && json_object_get(in, *f) == NULL
            && db_value(cur, 0, *f) == NULL) {
            problem_add_rule(errors, *f, "completion_figures_required",
                             "is required to complete the run");
        } else if (!completing && json_object_get(in, *f) != NULL) {
            problem_add_rule(errors, *f, "figures_before_completion",
                             "completion figures are accepted only with or after the change to "
                             "completed");
        }
    }
    status = problem_send_errors_if_any(r, errors);
    json_decref(errors);
    return status;
}

/* Returns a new reference: the stored run `cur` with the change `in` applied, in the shape
 * check_rules_or_problem reads (facilitator_ids as well as facilitators). */
static json_t *
candidate(const PGresult *cur, json_t *in)
{
    json_t *c = db_row_to_json(cur, 0), *ids = json_array(), *f;
    size_t i;

    json_array_foreach(json_object_get(c, "facilitators"), i, f)
    {
        json_array_append(ids, json_object_get(f, "id"));
    }
    json_object_set_new(c, "facilitator_ids", ids);
    json_object_update(c, in);
    return c;
}

/* The rules on the run as it would be after the change `in` to the stored run `cur` (NULL when
 * creating: `in` is the run): who may write (an org_admin their own organisation's runs, whose
 * organisation_id a new run defaults to), the status change, and then, unless the change cancels
 * the run, every rule of the file comment under the locks. */
static int
prog_check(struct req *r, json_t *in, const PGresult *cur, json_t *errors)
{
    const char *org = str_field(in, "organisation_id"), *to = str_field(in, "status");
    const char *const *f;
    json_t *cand = NULL, *planned;
    char today[16];
    int status = 0, cancelling = 0, sessions;

    if (cur == NULL && org == NULL && !auth_is_admin(&r->principal)) {
        json_object_set_new(in, "organisation_id", json_string(r->principal.org));
        org = str_field(in, "organisation_id");
    }
    if (cur == NULL && org == NULL) {
        problem_add_error(errors, "organisation_id", "is required");
        return 0;
    }
    if (cur == NULL && !auth_in_org(&r->principal, org)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no organisation with id %s", org);
    }
    if (!resource_admin_or_org_admin(&r->principal, NULL)) {
        return problem_send(r, PROBLEM_FORBIDDEN,
                            "only an organisation admin may %s its programme runs",
                            cur == NULL ? "schedule" : "change");
    }
    if (cur != NULL
        && ((status = change_allowed_or_problem(r, in, cur, &cancelling)) != 0 || cancelling)) {
        return status; /* a run that no longer passes the rules must still be cancellable */
    }
    cand = cur != NULL ? candidate(cur, in) : json_incref(in);
    /* No date read (today): a new run's organisation is unknown, the one error to answer. */
    if ((status = check_rules_or_problem(r, cand, cur == NULL, errors, &sessions, today)) != 0
        || today[0] == '\0') {
        goto out;
    }
    /* Completing (or recording a completed run) without sessions_planned plans the variant's. */
    planned = json_object_get(cand, "sessions_planned");
    if (sessions > 0 && (planned == NULL || json_is_null(planned)) && to != NULL
        && strcmp(to, "completed") == 0) {
        json_object_set_new(in, "sessions_planned", json_integer(sessions));
        json_object_set_new(cand, "sessions_planned", json_integer(sessions));
    }
    check_own_figures(cand, errors);
    check_calendar(r, in, cand, cur != NULL ? db_value(cur, 0, "status") : NULL, today, errors);
    /* Figures changed on a stored run: its delivery record must still add up. */
    for (f = prog_figures; cur != NULL && *f != NULL && json_object_get(in, *f) == NULL; f++) {
    }
    if (cur != NULL && *f != NULL) {
        status = delivery_figures_check(r, db_value(cur, 0, "id"), in, errors);
    }
out:
    json_decref(cand);
    return status;
}

static const struct filter prog_filters[] = {
    {"organisation_id", FILTER_UUID, NULL},
    {"location_id", FILTER_UUID, NULL},
    {"status", FILTER_ENUM, prog_statuses},
    {"from", FILTER_DATE, NULL},
    {"to", FILTER_DATE, NULL},
    {"local_authority", FILTER_AREA_CODE, NULL}, /* an Irish site's county too */
    {NULL, 0, NULL},
};

/* A licensee reads and lists their own organisation's runs only (org_scoped). */
const struct resource programme_resource = {
    .name = "programme run",
    .audit_type = "programme",
    .location = "/v1/programmes/",
    .stmt = "prog",
    .fields = prog_fields,
    .org_scoped = 1,
    .filters = prog_filters,
    .sort_key = "_starts_on",
    .cursor_ok = http_cursor_date,
    .visible = resource_in_org,
    .rules = {.normalise = prog_normalise, .check = prog_check},
    .event = "programme.changed", /* after the run and its facilitators, one statement */
};

int
programmes_flag_at_risk(struct req *r, const char *facilitator_id)
{
    const char *params[1] = {facilitator_id};

    return http_exec_or_problem(r, "prog_flag_at_risk", 1, params, NULL);
}
