/* it_delivery.c: the delivery record of a programme run (issue 15) over HTTP against the real
 * server and PostgreSQL: GET/PUT /v1/programmes/{id}/delivery.
 *
 * Covered: every rule of server/delivery.c broken on its own (a 422 naming the field and the
 * rule, and the row, version and figures, unchanged afterwards); a good PUT (200, the same ETag
 * on GET, its audit row), a PUT replacing the record (what it leaves out is cleared),
 * sessions_planned defaulting to the stored one or the variant's; If-Match (428, 412); access for
 * every role (the licensing body, the run's org_admin and org_staff, another organisation's
 * admin, API clients with and without delivery:read / delivery:write); the completion PATCH of
 * /v1/programmes/{id} writing the same record, and completing a run whose figures a PUT already
 * recorded; the programme.delivery_recorded outbox row (figures, no pairs); the CSV list's new
 * columns; the reference items and outcome measures (list, create, duplicate, bad code, change,
 * fixed fields, who may write, a retired item refused by a record).
 *
 * Runs, locations and facilitators are made with SQL (the run's own rules are it_programmes'),
 * licences through the API (dated back to 2024 with SQL); the completion PATCH runs the run's
 * rules, so its run has facilitators, a licence and a location they accept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"

#define ADMIN_EMAIL "admin@delivery.example"
#define PASSWORD    "delivery-test-password-1"
#define NO_SUCH_ID  "00000000-0000-4000-8000-000000000000"

/* A record the rules accept for a running run of capacity 6 (the standard variant: 11 sessions):
 * 8 referred (3 + 2 + 3 by source), 6 assessed, 5 started, 4 completed; 6 adults (4 + 1 + 1), 7
 * children (2 + 2 + 2 + 1); at most 6 answers per statement (13 people). */
#define GOOD                                                                                       \
    "{\"families_referred\": 8, \"families_assessed\": 6, \"families_started\": 5,"                \
    " \"families_completed\": 4, \"sessions_planned\": 11, \"sessions_delivered\": 10,"            \
    " \"review_held\": true, \"reunion_held\": false, \"adults\": 6, \"children\": 7,"             \
    " \"referrals_by_source\": {\"childrens_social_care\": 3, \"self\": 2, \"school\": 3},"        \
    " \"onward_referrals\": {\"domestic_abuse\": 2, \"advice\": 1},"                               \
    " \"adults_by_relationship\": {\"mother\": {\"female\": 4}, \"grandmother\": {\"female\": 1}," \
    "  \"father\": {\"male\": 1}},"                                                                \
    " \"children_by_age_band\": {\"8_11\": {\"female\": 2, \"male\": 2}, \"12_14\": {\"male\": "   \
    "2},"                                                                                          \
    "  \"15_17\": {\"female\": 1}},"                                                               \
    " \"feedback\": {\"wellbeing_improved\": {\"agree\": 5, \"neither\": 1, \"disagree\": 0},"     \
    "  \"would_recommend\": {\"agree\": 6}},"                                                      \
    " \"delivery_cost_gbp\": 4010}"

struct fac {
    char id[40];
};

struct fx {
    IT_FX_HEAD;
    IT_FX_AB_SITES;
    struct fac a1, a2;
    int n;
};

/* ---- Helpers ------------------------------------------------------------------------------- */

/* A run of organisation A at its site (of B, `org_b`) made with SQL (it_make_run): `status`,
 * `capacity` families, from today + `from` to today + `to` days. Returns its id in `out`. */
static void
make_run(struct fx *f, int org_b, const char *status, int capacity, int from, int to, char out[40])
{
    char cap[16], starts[16], ends[16];
    char *id;

    snprintf(cap, sizeof(cap), "%d", capacity);
    snprintf(starts, sizeof(starts), "%d", from);
    snprintf(ends, sizeof(ends), "%d", to);
    id = it_make_run(f->s, (struct it_run){.org = org_b ? f->org_b : f->org_a,
                                           .loc = org_b ? f->loc_b : f->loc_a,
                                           .status = status,
                                           .capacity = cap,
                                           .starts = starts,
                                           .ends = ends});
    snprintf(out, 40, "%s", id);
    free(id);
}

static void
running_run(struct fx *f, char out[40])
{
    make_run(f, 0, "running", 6, -30, 30, out);
}

static void
make_loc(struct fx *f, const char *org, char out[40])
{
    char buf[40];

    IT_SQL_VALUE(buf, f->s,
                 "INSERT INTO location (organisation_id, name, kind, address_lines, town,"
                 " postcode) VALUES ($1::uuid, 'Delivery site', 'family_centre',"
                 " '[\"3 Mill Lane\"]', 'Maidstone', 'ME14 1AA') RETURNING id::text",
                 org);
    memcpy(out, buf, sizeof(buf));
}

/* A facilitator accredited since 2020 to 2099, employed by `org` since 2020. */
static void
make_fac(struct fx *f, struct fac *out, const char *org)
{
    IT_SQL_VALUE(out->id, f->s,
                 "INSERT INTO facilitator (given_name, family_name, status, accredited_on,"
                 " accredited_until) VALUES ('Alex', 'Delivery', 'accredited', DATE '2020-01-01',"
                 " DATE '2099-12-31') RETURNING id::text");
    PQclear(it_sql(f->s,
                   "INSERT INTO facilitator_status_history (facilitator_id, status, accredited_on,"
                   " accredited_until, effective_on) VALUES ($1::uuid, 'accredited',"
                   " DATE '2020-01-01', DATE '2099-12-31', DATE '2020-01-01')",
                   out->id));
    PQclear(it_sql(f->s,
                   "INSERT INTO facilitator_employment (facilitator_id, organisation_id,"
                   " started_on) VALUES ($1::uuid, $2::uuid, DATE '2020-01-01')",
                   out->id, org));
}

/* The delivery record of a run, for it_putf. */
#define DELIVERY "/v1/programmes/%s/delivery"

static char *
delivery_etag(struct fx *f, const char *token, const char *run)
{
    return it_etag_of(f->s, token, "/v1/programmes/%s/delivery", run);
}

/* PUTs `body` to run `run` as `token` with its current ETag; fails unless the answer is `want`
 * (checked as a problem from 400). The response is freed. */
static void
put_now(struct fx *f, const char *token, const char *run, const char *body, long want)
{
    char *etag = delivery_etag(f, token, run);
    struct it_resp r;

    it_putf(f->s, token, etag, body, &r, DELIVERY, run);
    it_assert_answer(&r, want);
    it_resp_free(&r);
    free(etag);
}

/* GOOD with the members of `patch` (a JSON object) set over it and the member `drop` (may be
 * NULL) left out. Returns the JSON text (malloc'd). */
static char *
good_with(const char *patch, const char *drop)
{
    json_t *b = json_loads(GOOD, 0, NULL), *p = json_loads(patch, 0, NULL);
    char *text;

    assert_non_null(b);
    assert_non_null(p);
    json_object_update(b, p);
    if (drop != NULL) {
        assert_int_equal(json_object_del(b, drop), 0);
    }
    text = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    json_decref(p);
    return text;
}

/* The stored run: every column but updated_at, as text (version and figures included). */
static char *
run_row(struct fx *f, const char *run)
{
    return it_sql_text(f->s,
                       "SELECT (to_jsonb(r) - 'updated_at')::text FROM programme_run r"
                       " WHERE id = $1::uuid",
                       run);
}

static long
jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v)) {
        fail_msg("%s is not an integer", key);
    }
    return (long)json_integer_value(v);
}

/* ---- Fixture ------------------------------------------------------------------------------- */

static void
licensed_org(struct fx *f, char out[40])
{
    char *id = it_create_org(f->s, f->admin, NULL, NULL, "Delivery Org %d", ++f->n);
    char *licence =
        it_issue_licence(f->s, f->admin, id, "2024-01-01", "2099-12-31", "granted", "active", NULL);

    snprintf(out, 40, "%s", id);
    free(id);
    /* In effect since 2024, so that runs that began weeks ago pass the licence rule. */
    PQclear(it_sql(f->s,
                   "UPDATE licence_status_history SET effective_on = DATE '2024-01-01'"
                   " WHERE licence_id = $1::uuid",
                   licence));
    free(licence);
}

static int
group_setup(void **state)
{
    struct fx *f = it_fx_start(sizeof(*f), "delivery", NULL, ADMIN_EMAIL, PASSWORD, IT_FX_HASH);

    licensed_org(f, f->org_a);
    licensed_org(f, f->org_b);
    IT_FX_AB_USERS(f);
    make_loc(f, f->org_a, f->loc_a);
    make_loc(f, f->org_b, f->loc_b);
    make_fac(f, &f->a1, f->org_a);
    make_fac(f, &f->a2, f->org_a);
    *state = f;
    return 0;
}

/* ---- A good record ------------------------------------------------------------------------- */

static void
test_good_put(void **state)
{
    struct fx *f = *state;
    struct it_resp r, g;
    char run[40], *etag, *body;
    json_t *o;

    running_run(f, run);
    /* A new run's record is empty. */
    it_getf(f->s, f->a_admin, &r, "/v1/programmes/%s/delivery", run);
    it_assert_status(&r, 200);
    assert_true(json_is_null(json_object_get(r.json, "families_referred")));
    assert_true(json_is_null(json_object_get(r.json, "referrals_by_source")));
    assert_string_equal(it_json_str(&r, "status"), "running");
    it_resp_free(&r);

    etag = delivery_etag(f, f->a_admin, run);
    it_putf(f->s, f->a_admin, etag, GOOD, &r, DELIVERY, run);
    it_assert_status(&r, 200);
    assert_non_null(it_header(&r, "ETag"));
    assert_string_not_equal(it_header(&r, "ETag"), etag);
    assert_int_equal(jint(r.json, "families_referred"), 8);
    it_getf(f->s, f->a_admin, &g, "/v1/programmes/%s/delivery", run);
    it_assert_status(&g, 200);
    assert_string_equal(it_header(&g, "ETag"), it_header(&r, "ETag"));
    assert_string_equal(it_json_str(&g, "programme_id"), run);
    assert_int_equal(jint(g.json, "families_referred"), 8);
    assert_int_equal(jint(g.json, "families_assessed"), 6);
    assert_int_equal(jint(g.json, "families_started"), 5);
    assert_int_equal(jint(g.json, "families_completed"), 4);
    assert_int_equal(jint(g.json, "sessions_planned"), 11);
    assert_int_equal(jint(g.json, "sessions_delivered"), 10);
    assert_true(json_is_true(json_object_get(g.json, "review_held")));
    assert_true(json_is_false(json_object_get(g.json, "reunion_held")));
    assert_int_equal(jint(g.json, "adults"), 6);
    assert_int_equal(jint(g.json, "children"), 7);
    assert_int_equal(jint(g.json, "delivery_cost_gbp"), 4010);
    o = json_object_get(g.json, "referrals_by_source");
    assert_int_equal(jint(o, "childrens_social_care"), 3);
    assert_int_equal(jint(o, "self"), 2);
    assert_int_equal(jint(o, "school"), 3);
    assert_int_equal(jint(json_object_get(g.json, "onward_referrals"), "domestic_abuse"), 2);
    o = json_object_get(json_object_get(g.json, "adults_by_relationship"), "mother");
    assert_int_equal(jint(o, "female"), 4);
    o = json_object_get(json_object_get(g.json, "children_by_age_band"), "8_11");
    assert_int_equal(jint(o, "male"), 2);
    o = json_object_get(json_object_get(g.json, "feedback"), "wellbeing_improved");
    assert_int_equal(jint(o, "agree"), 5);
    assert_null(json_object_get(g.json, "_version"));
    it_resp_free(&g);
    it_resp_free(&r);
    free(etag);

    /* The same figures in the table, one version on, with one audit row. */
    it_assert_row(f->s, IT_ROW("2", "8", "6", "4010", "3"),
                  "SELECT version, families_referred, families_assessed, delivery_cost_gbp,"
                  " referrals_by_source->>'school' FROM programme_run WHERE id = $1::uuid",
                  run);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_type ="
                              " 'programme_delivery' AND resource_id = $1 AND action = 'update'"
                              " AND after->>'families_referred' = '8'"
                              " AND before->>'families_referred' IS NULL",
                              run),
                     1);

    /* A PUT replaces the record: onward referrals and the cost left out are cleared;
     * sessions_planned left out keeps the stored 11. */
    body = good_with("{\"sessions_delivered\": 9}", "onward_referrals");
    {
        json_t *b = json_loads(body, 0, NULL);
        free(body);
        json_object_del(b, "delivery_cost_gbp");
        json_object_del(b, "sessions_planned");
        body = json_dumps(b, JSON_COMPACT);
        json_decref(b);
    }
    put_now(f, f->a_admin, run, body, 200);
    free(body);
    it_getf(f->s, f->a_admin, &g, "/v1/programmes/%s/delivery", run);
    it_assert_status(&g, 200);
    assert_true(json_is_null(json_object_get(g.json, "onward_referrals")));
    assert_true(json_is_null(json_object_get(g.json, "delivery_cost_gbp")));
    assert_int_equal(jint(g.json, "sessions_planned"), 11);
    assert_int_equal(jint(g.json, "sessions_delivered"), 9);
    assert_int_equal(jint(g.json, "families_referred"), 8);
    it_resp_free(&g);
    it_assert_row(f->s, IT_ROW("3", "", "", "11"),
                  "SELECT version, onward_referrals, delivery_cost_gbp, sessions_planned"
                  " FROM programme_run WHERE id = $1::uuid",
                  run);
    assert_int_equal(it_audits(f->s, "programme_delivery", run, NULL), 2);
}

/* sessions_planned left out of a PUT on a run that never held one is the variant's (11 for
 * standard): 12 delivered is then over it. */
static void
test_sessions_planned_default(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char run[40], *body, *etag;

    running_run(f, run);
    body = good_with("{\"sessions_delivered\": 12}", "sessions_planned");
    etag = delivery_etag(f, f->a_admin, run);
    it_putf(f->s, f->a_admin, etag, body, &r, DELIVERY, run);
    it_assert_only_rule(&r, "sessions_delivered", "sessions_exceed_planned");
    it_resp_free(&r);
    free(body);
    body = good_with("{\"sessions_delivered\": 11}", "sessions_planned");
    it_putf(f->s, f->a_admin, etag, body, &r, DELIVERY, run);
    it_assert_status(&r, 200);
    assert_int_equal(jint(r.json, "sessions_planned"), 11);
    it_resp_free(&r);
    it_assert_row(f->s, IT_ROW("11", "11"),
                  "SELECT sessions_planned, sessions_delivered FROM programme_run"
                  " WHERE id = $1::uuid",
                  run);
    free(body);
    free(etag);
}

/* ---- Each rule on its own ------------------------------------------------------------------ */

static void
test_each_rule(void **state)
{
    /* Each case breaks exactly one rule of GOOD on the running run of capacity 6 (13 people). */
    static const struct {
        const char *patch, *field, *rule;
    } cases[] = {
        {"{\"families_assessed\": 9}", "families_assessed", "assessed_exceeds_referred"},
        {"{\"families_assessed\": 4}", "families_started", "started_exceeds_assessed"},
        {"{\"families_completed\": 6}", "families_completed", "completed_exceeds_started"},
        {"{\"adults\": 4, \"adults_by_relationship\": {\"mother\": {\"female\": 4}}}", "adults",
         "too_few_adults"},
        {"{\"children\": 4, \"children_by_age_band\": {\"8_11\": {\"female\": 4}}}", "children",
         "too_few_children"},
        {"{\"sessions_delivered\": 12}", "sessions_delivered", "sessions_exceed_planned"},
        {"{\"sessions_planned\": 9}", "sessions_delivered", "sessions_exceed_planned"},
        {"{\"referrals_by_source\": {\"nowhere\": 8}}", "referrals_by_source", "unknown_code"},
        {"{\"onward_referrals\": {\"the_moon\": 1}}", "onward_referrals", "unknown_code"},
        {"{\"adults_by_relationship\": {\"uncle_bob\": {\"female\": 6}}}", "adults_by_relationship",
         "unknown_code"},
        {"{\"adults_by_relationship\": {\"mother\": {\"female\": 4, \"robot\": 0},"
         " \"grandmother\": {\"female\": 1}, \"father\": {\"male\": 1}}}",
         "adults_by_relationship", "unknown_code"},
        {"{\"children_by_age_band\": {\"5_7\": {\"female\": 7}}}", "children_by_age_band",
         "unknown_code"},
        {"{\"children_by_age_band\": {\"8_11\": {\"female\": 2, \"boy\": 2},"
         " \"12_14\": {\"male\": 2}, \"15_17\": {\"female\": 1}}}",
         "children_by_age_band", "unknown_code"},
        {"{\"feedback\": {\"loved_it\": {\"agree\": 3}}}", "feedback", "unknown_code"},
        {"{\"feedback\": {\"wellbeing_improved\": {\"maybe\": 2}}}", "feedback", "unknown_code"},
        {"{\"referrals_by_source\": {\"self\": 7}}", "referrals_by_source",
         "referrals_breakdown_mismatch"},
        {"{\"adults_by_relationship\": {\"mother\": {\"female\": 5}}}", "adults_by_relationship",
         "adults_breakdown_mismatch"},
        {"{\"children_by_age_band\": {\"8_11\": {\"male\": 6}}}", "children_by_age_band",
         "children_breakdown_mismatch"},
        {"{\"feedback\": {\"would_recommend\": {\"agree\": 10, \"neither\": 4}}}", "feedback",
         "feedback_exceeds_respondents"},
    };
    struct fx *f = *state;
    struct it_resp r;
    char run[40], small[40], planned[40], done[40], *etag, *before, *after, *body;
    size_t i;

    running_run(f, run);
    put_now(f, f->a_admin, run, GOOD, 200);
    etag = delivery_etag(f, f->a_admin, run);
    before = run_row(f, run);
    for (i = 0; i < IT_LEN(cases); i++) {
        body = good_with(cases[i].patch, NULL);
        it_putf(f->s, f->a_admin, etag, body, &r, DELIVERY, run);
        if (r.status != 422) {
            fprintf(stderr, "case %zu: %s\n", i, cases[i].patch);
        }
        it_assert_only_rule(&r, cases[i].field, cases[i].rule);
        it_resp_free(&r);
        after = run_row(f, run);
        assert_string_equal(after, before);
        free(after);
        free(body);
    }
    /* The unknown_code detail names the code and lists the kind's codes. */
    body = good_with("{\"referrals_by_source\": {\"nowhere\": 8}}", NULL);
    it_putf(f->s, f->a_admin, etag, body, &r, DELIVERY, run);
    assert_non_null(strstr(it_jstr(it_find_rule(&r, "unknown_code"), "detail"), "nowhere"));
    assert_non_null(
        strstr(it_jstr(it_find_rule(&r, "unknown_code"), "detail"), "childrens_social_care"));
    it_resp_free(&r);
    free(body);
    /* An unknown code of 81 bytes ("a" and 40 two-byte characters, cut at 60 bytes in the
     * detail): refused like any other, its detail still UTF-8. */
    {
        char key[128] = "a", patch[256];
        int k;
        for (k = 0; k < 40; k++) {
            strcat(key, "\xc3\xa9");
        }
        snprintf(patch, sizeof(patch), "{\"referrals_by_source\": {\"%s\": 8}}", key);
        body = good_with(patch, NULL);
        it_putf(f->s, f->a_admin, etag, body, &r, DELIVERY, run);
        it_assert_only_rule(&r, "referrals_by_source", "unknown_code");
        key[1 + 2 * 29] = '\0'; /* "a" and 29 characters: 59 bytes */
        assert_non_null(strstr(it_jstr(it_find_rule(&r, "unknown_code"), "detail"), key));
        it_resp_free(&r);
        free(body);
    }
    /* A count that is not a whole number from 0 names the breakdown. */
    body = good_with("{\"referrals_by_source\": {\"self\": -1, \"school\": 9}}", NULL);
    it_putf(f->s, f->a_admin, etag, body, &r, DELIVERY, run);
    it_assert_field_error(&r, "referrals_by_source");
    it_resp_free(&r);
    free(body);
    body = good_with("{\"adults_by_relationship\": {\"mother\": 6}}", NULL);
    it_putf(f->s, f->a_admin, etag, body, &r, DELIVERY, run);
    it_assert_field_error(&r, "adults_by_relationship");
    it_resp_free(&r);
    free(body);
    /* A member that is no part of a record, and a figure of the wrong type. */
    body = good_with("{\"pairs\": [[1, 2]]}", NULL);
    it_putf(f->s, f->a_admin, etag, body, &r, DELIVERY, run);
    it_assert_field_error(&r, "pairs");
    it_resp_free(&r);
    free(body);
    body = good_with("{\"families_referred\": \"eight\"}", NULL);
    it_putf(f->s, f->a_admin, etag, body, &r, DELIVERY, run);
    it_assert_field_error(&r, "families_referred");
    it_resp_free(&r);
    free(body);
    /* An empty record, and a body that is no record at all. */
    it_putf(f->s, f->a_admin, etag, "{}", &r, DELIVERY, run);
    it_assert_field_error(&r, "body");
    it_resp_free(&r);
    it_putf(f->s, f->a_admin, etag, "[8, 6, 5]", &r, DELIVERY, run);
    assert_true(r.status == 400 || r.status == 422);
    it_resp_free(&r);
    after = run_row(f, run);
    assert_string_equal(after, before);
    free(after);
    free(before);
    free(etag);

    /* started_exceeds_capacity: GOOD's 5 families on a run of capacity 4. */
    make_run(f, 0, "running", 4, -30, 30, small);
    etag = delivery_etag(f, f->a_admin, small);
    before = run_row(f, small);
    it_putf(f->s, f->a_admin, etag, GOOD, &r, DELIVERY, small);
    it_assert_only_rule(&r, "families_started", "started_exceeds_capacity");
    it_resp_free(&r);
    after = run_row(f, small);
    assert_string_equal(after, before);
    free(after);
    free(before);
    free(etag);

    /* run_not_running_or_completed: a planned run (and a cancelled one). */
    make_run(f, 0, "planned", 6, 30, 90, planned);
    etag = delivery_etag(f, f->a_admin, planned);
    before = run_row(f, planned);
    it_putf(f->s, f->a_admin, etag, GOOD, &r, DELIVERY, planned);
    it_assert_only_rule(&r, "status", "run_not_running_or_completed");
    it_resp_free(&r);
    after = run_row(f, planned);
    assert_string_equal(after, before);
    free(after);
    free(before);
    free(etag);
    PQclear(
        it_sql(f->s, "UPDATE programme_run SET status = 'cancelled' WHERE id = $1::uuid", planned));
    etag = delivery_etag(f, f->a_admin, planned);
    it_putf(f->s, f->a_admin, etag, GOOD, &r, DELIVERY, planned);
    it_assert_only_rule(&r, "status", "run_not_running_or_completed");
    it_resp_free(&r);
    free(etag);

    /* record_incomplete: a completed run's record has every member but the cost; a running
     * run's need not. */
    make_run(f, 0, "completed", 6, -90, -10, done);
    etag = delivery_etag(f, f->a_admin, done);
    before = run_row(f, done);
    body = good_with("{}", "onward_referrals");
    it_putf(f->s, f->a_admin, etag, body, &r, DELIVERY, done);
    it_assert_only_rule(&r, "onward_referrals", "record_incomplete");
    it_resp_free(&r);
    free(body);
    body = good_with("{\"review_held\": null}", NULL);
    it_putf(f->s, f->a_admin, etag, body, &r, DELIVERY, done);
    it_assert_only_rule(&r, "review_held", "record_incomplete");
    it_resp_free(&r);
    free(body);
    after = run_row(f, done);
    assert_string_equal(after, before);
    free(after);
    free(before);
    /* Without the cost the completed run's record is complete. */
    body = good_with("{}", "delivery_cost_gbp");
    it_expectf(f->s, "PUT", f->a_admin, etag, body, 200, DELIVERY, done);
    free(body);
    free(etag);
    /* The running run takes a partial record. */
    put_now(f, f->a_admin, run, "{\"families_referred\": 3}", 200);
    it_assert_row(f->s, IT_ROW("3", ""),
                  "SELECT families_referred, families_started FROM programme_run"
                  " WHERE id = $1::uuid",
                  run);
}

/* too_few_for_outcomes: once the run's outcome statistics hold answers, the record keeps at
 * least that many respondents: 5 pairs and 1 answer before only of parental_wellbeing (adult) are
 * 6 adults; 3 pairs of family_functioning (family) are 3 families. */
static void
test_outcome_answers_bound(void **state)
{
    struct fx *f = *state;
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct it_resp r;
    char run[40], *path, *etag, *before, *after, *body;

    running_run(f, run);
    put_now(f, f->a_admin, run, GOOD, 200);
    path = it_fmt("/v1/programmes/%s/outcomes/parental_wellbeing", run);
    it_request(f->s, "PUT", path, f->a_admin, headers,
               "{\"pairs\": [[20, 21], [20, 22], [20, 23], [20, 24], [20, 25]], \"pre_only\": 1}",
               &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    free(path);
    path = it_fmt("/v1/programmes/%s/outcomes/family_functioning", run);
    it_request(f->s, "PUT", path, f->a_admin, headers, "{\"pairs\": [[3, 2], [2, 2], [4, 3]]}", &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    free(path);

    etag = delivery_etag(f, f->a_admin, run);
    before = run_row(f, run);
    /* 5 adults (still one per family started) for 6 adults' answers. */
    body = good_with("{\"adults\": 5, \"adults_by_relationship\": {\"mother\": {\"female\": 4},"
                     " \"father\": {\"male\": 1}}}",
                     NULL);
    it_putf(f->s, f->a_admin, etag, body, &r, DELIVERY, run);
    it_assert_only_rule(&r, "adults", "too_few_for_outcomes");
    it_resp_free(&r);
    free(body);
    /* 2 families started for 3 families' answers. */
    body = good_with("{\"families_started\": 2, \"families_completed\": 2}", NULL);
    it_putf(f->s, f->a_admin, etag, body, &r, DELIVERY, run);
    it_assert_only_rule(&r, "families_started", "too_few_for_outcomes");
    it_resp_free(&r);
    free(body);
    /* Left out: unknown, which the statistics' answers cannot be checked against. */
    it_putf(f->s, f->a_admin, etag, "{\"families_referred\": 8}", &r, DELIVERY, run);
    it_assert_problem(&r, 422);
    assert_int_equal(json_array_size(json_object_get(r.json, "errors")), 2);
    assert_string_equal(it_jstr(json_array_get(json_object_get(r.json, "errors"), 0), "rule"),
                        "too_few_for_outcomes");
    assert_string_equal(it_jstr(json_array_get(json_object_get(r.json, "errors"), 1), "rule"),
                        "too_few_for_outcomes");
    assert_true(it_names_field(&r, "adults"));
    assert_true(it_names_field(&r, "families_started"));
    it_resp_free(&r);
    after = run_row(f, run);
    assert_string_equal(after, before);
    free(after);
    /* Children are not bounded by adult or family answers: 5 children (one per family). */
    body =
        good_with("{\"children\": 5, \"children_by_age_band\": {\"8_11\": {\"male\": 5}}}", NULL);
    it_expectf(f->s, "PUT", f->a_admin, etag, body, 200, DELIVERY, run);
    free(body);
    /* Exactly as many is enough. */
    put_now(f, f->a_admin, run, GOOD, 200);
    free(before);
    free(etag);
}

/* ---- If-Match ------------------------------------------------------------------------------ */

static void
test_if_match(void **state)
{
    struct fx *f = *state;
    char run[40], *etag, *before, *after;

    running_run(f, run);
    etag = delivery_etag(f, f->a_admin, run);
    before = run_row(f, run);
    it_expectf(f->s, "PUT", f->a_admin, NULL, GOOD, 428, DELIVERY, run);
    it_expectf(f->s, "PUT", f->a_admin, "\"999\"", GOOD, 412, DELIVERY, run);
    after = run_row(f, run);
    assert_string_equal(after, before);
    free(after);
    /* The ETag a PUT used is stale after it. */
    it_expectf(f->s, "PUT", f->a_admin, etag, GOOD, 200, DELIVERY, run);
    it_expectf(f->s, "PUT", f->a_admin, etag, GOOD, 412, DELIVERY, run);
    /* The run's PATCH and the record share the version: the record's ETag is the run's. */
    free(etag);
    etag = it_etag_of(f->s, f->a_admin, "/v1/programmes/%s", run);
    it_expectf(f->s, "PUT", f->a_admin, etag, GOOD, 200, DELIVERY, run);
    free(before);
    free(etag);
}

/* ---- Access -------------------------------------------------------------------------------- */

static void
test_access(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char run[40], b_run[40], *etag, *path, *t_prog, *t_read, *t_write, *t_b;
    char *before, *after;

    running_run(f, run);
    make_run(f, 1, "running", 6, -30, 30, b_run);
    path = it_fmt("/v1/programmes/%s/delivery", run);
    /* The licensing body, the run's org_admin and org_staff read and write. */
    put_now(f, f->admin, run, GOOD, 200);
    put_now(f, f->a_admin, run, GOOD, 200);
    put_now(f, f->a_staff, run, "{\"families_referred\": 5}", 200);
    it_assert_row(f->s, IT_ROW("5"),
                  "SELECT families_referred FROM programme_run WHERE id = $1::uuid", run);
    it_expect(f->s, "GET", path, f->admin, NULL, 200);
    it_expect(f->s, "GET", path, f->a_staff, NULL, 200);
    assert_int_equal(it_audits(f->s, "programme_delivery", run, NULL), 3);
    /* Another organisation's admin: 404 on read and write, nothing written; anonymous 401. */
    etag = delivery_etag(f, f->a_admin, run);
    before = run_row(f, run);
    it_expect(f->s, "GET", path, f->b_admin, NULL, 404);
    it_expectf(f->s, "PUT", f->b_admin, etag, GOOD, 404, DELIVERY, run);
    it_expect(f->s, "GET", path, NULL, NULL, 401);
    it_expectf(f->s, "PUT", NULL, etag, GOOD, 401, DELIVERY, run);
    after = run_row(f, run);
    assert_string_equal(after, before);
    free(after);
    /* An unknown run, and an id that is not a UUID. */
    it_expect(f->s, "GET", "/v1/programmes/" NO_SUCH_ID "/delivery", f->admin, NULL, 404);
    it_expect(f->s, "GET", "/v1/programmes/not-a-uuid/delivery", f->admin, NULL, 404);

    /* API clients: programmes:read is not enough; delivery:read reads; delivery:write writes. */
    t_prog = it_client_token(f->s, f->a_admin, "[\"programmes:read\"]");
    t_read = it_client_token(f->s, f->a_admin, "[\"delivery:read\"]");
    t_write = it_client_token(f->s, f->a_admin, "[\"delivery:read\", \"delivery:write\"]");
    t_b = it_client_token(f->s, f->b_admin, "[\"delivery:read\", \"delivery:write\"]");
    it_expect(f->s, "GET", path, t_prog, NULL, 403);
    it_expectf(f->s, "PUT", t_prog, etag, GOOD, 403, DELIVERY, run);
    it_getf(f->s, t_read, &r, "/v1/programmes/%s/delivery", run);
    it_assert_status(&r, 200);
    assert_int_equal(jint(r.json, "families_referred"), 5);
    it_resp_free(&r);
    it_expectf(f->s, "PUT", t_read, etag, GOOD, 403, DELIVERY, run);
    it_expect(f->s, "GET", path, t_b, NULL, 404);
    it_expectf(f->s, "PUT", t_b, etag, GOOD, 404, DELIVERY, run);
    after = run_row(f, run);
    assert_string_equal(after, before);
    free(after);
    it_expectf(f->s, "PUT", t_write, etag, GOOD, 200, DELIVERY, run);
    it_assert_row(f->s, IT_ROW("8"),
                  "SELECT families_referred FROM programme_run WHERE id = $1::uuid", run);
    /* Organisation B's client writes B's run. */
    put_now(f, t_b, b_run, GOOD, 200);
    /* The reference lists: delivery:read reads them, programmes:read does not. */
    it_expect(f->s, "GET", "/v1/reference-items", t_read, NULL, 200);
    it_expect(f->s, "GET", "/v1/outcome-measures", t_read, NULL, 200);
    it_expect(f->s, "GET", "/v1/reference-items", t_prog, NULL, 403);
    free(before);
    free(etag);
    free(t_prog);
    free(t_read);
    free(t_write);
    free(t_b);
    free(path);
}

/* ---- The completion PATCH ------------------------------------------------------------------ */

/* A running run that ended yesterday, that the run's rules accept: organisation A's location and
 * licence, two of its accredited facilitators. */
static void
rules_run(struct fx *f, char out[40])
{
    make_run(f, 0, "running", 6, -60, -1, out);
    PQclear(it_sql(f->s,
                   "INSERT INTO programme_facilitator (run_id, facilitator_id) VALUES"
                   " ($1::uuid, $2::uuid), ($1::uuid, $3::uuid)",
                   out, f->a1.id, f->a2.id));
}

static void
test_completion_patch(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char run[40], run2[40], *etag;

    /* The completion PATCH writes the record's figures: GET delivery shows them. */
    rules_run(f, run);
    etag = it_etag_of(f->s, f->a_admin, "/v1/programmes/%s", run);
    it_patchf(f->s, f->a_admin, etag,
              "{\"status\": \"completed\", \"families_started\": 4, \"families_completed\": 3,"
              " \"adults\": 5, \"children\": 6, \"sessions_delivered\": 10, \"review_held\": true,"
              " \"reunion_held\": true}",
              &r, "/v1/programmes/%s", run);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "completed");
    it_resp_free(&r);
    free(etag);
    it_getf(f->s, f->a_staff, &r, "/v1/programmes/%s/delivery", run);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "completed");
    assert_int_equal(jint(r.json, "families_started"), 4);
    assert_int_equal(jint(r.json, "families_completed"), 3);
    assert_int_equal(jint(r.json, "adults"), 5);
    assert_int_equal(jint(r.json, "children"), 6);
    assert_int_equal(jint(r.json, "sessions_delivered"), 10);
    assert_true(json_is_true(json_object_get(r.json, "reunion_held")));
    it_resp_free(&r);

    /* A run whose figures a delivery PUT recorded completes without repeating them, and keeps
     * the whole record. */
    rules_run(f, run2);
    put_now(f, f->a_admin, run2, GOOD, 200);
    /* The new figure rules hold on the PATCH too: 7 started is over the 6 assessed. */
    etag = it_etag_of(f->s, f->a_admin, "/v1/programmes/%s", run2);
    it_patchf(f->s, f->a_admin, etag,
              "{\"status\": \"completed\", \"families_started\": 7, \"adults\": 9,"
              " \"children\": 9}",
              &r, "/v1/programmes/%s", run2);
    it_assert_problem(&r, 422);
    assert_non_null(it_find_rule(&r, "started_exceeds_assessed"));
    it_resp_free(&r);
    it_assert_row(f->s, IT_ROW("running", "5"),
                  "SELECT status, families_started FROM programme_run WHERE id = $1::uuid", run2);
    it_patchf(f->s, f->a_admin, etag, "{\"status\": \"completed\"}", &r, "/v1/programmes/%s", run2);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "completed");
    assert_int_equal(jint(r.json, "families_started"), 5);
    assert_int_equal(jint(r.json, "families_referred"), 8);
    assert_int_equal(jint(r.json, "delivery_cost_gbp"), 4010);
    it_resp_free(&r);
    free(etag);
    it_getf(f->s, f->a_admin, &r, "/v1/programmes/%s/delivery", run2);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "completed");
    assert_int_equal(jint(r.json, "families_referred"), 8);
    assert_int_equal(jint(r.json, "families_assessed"), 6);
    assert_int_equal(jint(json_object_get(r.json, "referrals_by_source"), "school"), 3);
    assert_int_equal(jint(r.json, "sessions_delivered"), 10);
    it_resp_free(&r);
    /* The completed run's record is still written by PUT, complete. */
    put_now(f, f->a_admin, run2, "{\"families_referred\": 8}", 422);
    put_now(f, f->a_admin, run2, GOOD, 200);
    /* A correction by PATCH keeps the record adding up: 7 adults against a breakdown of 6. */
    etag = it_etag_of(f->s, f->a_admin, "/v1/programmes/%s", run2);
    it_patchf(f->s, f->a_admin, etag, "{\"adults\": 7}", &r, "/v1/programmes/%s", run2);
    it_assert_problem(&r, 422);
    assert_non_null(it_find_rule(&r, "adults_breakdown_mismatch"));
    it_resp_free(&r);
    it_assert_row(f->s, IT_ROW("6"), "SELECT adults FROM programme_run WHERE id = $1::uuid", run2);
    free(etag);
}

/* ---- The webhook --------------------------------------------------------------------------- */

static void
test_webhook(void **state)
{
    struct fx *f = *state;
    char run[40], sub[40], other[40], *body;
    json_t *msg, *data;
    json_error_t jerr;

    running_run(f, run);
    /* Organisation A subscribes to programme.delivery_recorded; another subscription of A's, to
     * programme.changed only, gets nothing from a PUT. */
    IT_SQL_VALUE(sub, f->s,
                 "INSERT INTO webhook_subscription (organisation_id, url, events, secret)"
                 " VALUES ($1::uuid, 'https://hooks.example/delivery',"
                 " ARRAY['programme.delivery_recorded'], 'whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0')"
                 " RETURNING id::text",
                 f->org_a);
    IT_SQL_VALUE(other, f->s,
                 "INSERT INTO webhook_subscription (organisation_id, url, events, secret)"
                 " VALUES ($1::uuid, 'https://hooks.example/changed', ARRAY['programme.changed'],"
                 " 'whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0') RETURNING id::text",
                 f->org_a);
    /* A refused PUT enqueues nothing. */
    body = good_with("{\"families_assessed\": 9}", NULL);
    put_now(f, f->a_admin, run, body, 422);
    free(body);
    assert_int_equal(it_outbox_events(f->s, sub, NULL), 0);
    put_now(f, f->a_admin, run, GOOD, 200);
    assert_int_equal(it_outbox_events(f->s, sub, "programme.delivery_recorded"), 1);
    assert_int_equal(it_outbox_events(f->s, other, NULL), 0);
    body =
        it_sql_text(f->s, "SELECT body FROM webhook_outbox WHERE subscription_id = $1::uuid", sub);
    msg = json_loads(body, 0, &jerr);
    assert_non_null(msg);
    assert_string_equal(it_jstr(msg, "type"), "programme.delivery_recorded");
    data = json_object_get(msg, "data");
    assert_string_equal(it_jstr(data, "id"), run);
    assert_string_equal(it_jstr(data, "status"), "running");
    assert_int_equal(jint(data, "families_referred"), 8);
    assert_int_equal(jint(data, "families_started"), 5);
    assert_int_equal(jint(data, "adults"), 6);
    assert_int_equal(jint(data, "delivery_cost_gbp"), 4010);
    assert_int_equal(jint(json_object_get(data, "referrals_by_source"), "school"), 3);
    assert_int_equal(
        jint(json_object_get(json_object_get(data, "feedback"), "would_recommend"), "agree"), 6);
    /* Figures only: no pairs, no outcome statistics, nothing of the run's other columns. */
    it_assert_absent(body, "pairs", "sum_", NULL);
    assert_null(json_object_get(data, "location_id"));
    assert_null(json_object_get(data, "version"));
    json_decref(msg);
    free(body);
    /* Another organisation's run is not A's subscription's business. */
    {
        char b_run[40];
        make_run(f, 1, "running", 6, -30, 30, b_run);
        put_now(f, f->b_admin, b_run, GOOD, 200);
        assert_int_equal(it_outbox_events(f->s, sub, NULL), 1);
    }
    /* Each PUT sends one; an outcomes PUT sends none, so no pair reaches a webhook. */
    put_now(f, f->a_admin, run, GOOD, 200);
    assert_int_equal(it_outbox_events(f->s, sub, NULL), 2);
    {
        struct it_resp r;
        const char *headers[] = {"Content-Type: application/json", NULL};
        char *path = it_fmt("/v1/programmes/%s/outcomes/coping_efficacy", run);
        it_request(f->s, "PUT", path, f->a_admin, headers, "{\"pairs\": [[2, 4], [3, 4]]}", &r);
        it_assert_status(&r, 200);
        it_resp_free(&r);
        free(path);
    }
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM webhook_outbox WHERE subscription_id"
                              " IN ($1::uuid, $2::uuid)",
                              sub, other),
                     2);
}

/* ---- CSV ----------------------------------------------------------------------------------- */

static void
test_csv(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char run[40], empty[40];
    json_t *rows;
    size_t id, referred, assessed, cost, i;
    int seen = 0;

    running_run(f, run);
    running_run(f, empty);
    put_now(f, f->a_admin, run, GOOD, 200);
    it_get_csv(f->s, "/v1/programmes?limit=100", f->a_admin, &r);
    rows = it_csv_answer(&r);
    id = it_csv_col(rows, "id");
    referred = it_csv_col(rows, "families_referred");
    assessed = it_csv_col(rows, "families_assessed");
    cost = it_csv_col(rows, "delivery_cost_gbp");
    for (i = 1; i < json_array_size(rows); i++) {
        if (strcmp(it_csv_cell(rows, i, id), run) == 0) {
            assert_string_equal(it_csv_cell(rows, i, referred), "8");
            assert_string_equal(it_csv_cell(rows, i, assessed), "6");
            assert_string_equal(it_csv_cell(rows, i, cost), "4010");
            seen++;
        } else if (strcmp(it_csv_cell(rows, i, id), empty) == 0) {
            assert_string_equal(it_csv_cell(rows, i, referred), "");
            assert_string_equal(it_csv_cell(rows, i, cost), "");
            seen++;
        }
    }
    assert_int_equal(seen, 2);
    json_decref(rows);
    it_resp_free(&r);
    /* The JSON list has them too. */
    it_get(f->s, "/v1/programmes?limit=100", f->a_admin, &r);
    it_assert_status(&r, 200);
    {
        json_t *item;
        seen = 0;
        json_array_foreach(json_object_get(r.json, "items"), i, item)
        {
            if (strcmp(it_jstr(item, "id"), run) == 0) {
                assert_int_equal(jint(item, "families_referred"), 8);
                assert_int_equal(jint(item, "families_assessed"), 6);
                assert_int_equal(jint(item, "delivery_cost_gbp"), 4010);
                seen++;
            }
        }
        assert_int_equal(seen, 1);
    }
    it_resp_free(&r);
}

/* ---- Reference data ------------------------------------------------------------------------ */

static void
test_reference_items(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char run[40], *id, *etag, *path, *body;
    json_t *items, *it;
    size_t i;
    static const char *const genders[] = {"female", "male", "another", "not_given"};

    /* The list by kind, in position order; any signed-in user reads it. */
    it_get(f->s, "/v1/reference-items?kind=gender", f->a_staff, &r);
    it_assert_status(&r, 200);
    items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 4);
    json_array_foreach(items, i, it)
    {
        assert_string_equal(it_jstr(it, "kind"), "gender");
        assert_string_equal(it_jstr(it, "code"), genders[i]);
        assert_true(json_is_true(json_object_get(it, "active")));
    }
    it_resp_free(&r);
    it_get(f->s, "/v1/reference-items?kind=referral_source", f->a_admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 11);
    assert_true(it_json_has(json_object_get(r.json, "items"), "code", "criminal_justice"));
    assert_false(it_json_has(json_object_get(r.json, "items"), "code", "female"));
    it_resp_free(&r);
    it_get(f->s, "/v1/reference-items", f->a_admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")),
                     it_count(f->s, "SELECT count(*) FROM reference_item"));
    it_resp_free(&r);
    it_expect(f->s, "GET", "/v1/reference-items?kind=planet", f->a_admin, NULL, 400);
    it_expect(f->s, "GET", "/v1/reference-items", NULL, NULL, 401);

    /* The licensing body adds an item; an org_admin may not. */
    body = "{\"kind\": \"referral_source\", \"code\": \"housing_officer\", \"name\":"
           " \"Housing officer\", \"position\": 12}";
    it_expect(f->s, "POST", "/v1/reference-items", f->a_admin, body, 403);
    id = it_post_created(f->s, f->admin, body, &etag, "/v1/reference-items");
    it_assert_row(
        f->s, IT_ROW("referral_source", "housing_officer", "Housing officer", "12", "t"),
        "SELECT kind, code, name, position, active FROM reference_item WHERE id = $1::uuid", id);
    assert_int_equal(it_audits(f->s, NULL, id, "create"), 1);
    /* A duplicate code of the kind is a conflict; the same code of another kind is not. */
    it_expect(f->s, "POST", "/v1/reference-items", f->admin, body, 409);
    free(it_post_created(f->s, f->admin,
                         "{\"kind\": \"onward_referral\", \"code\": \"housing_officer\", \"name\":"
                         " \"Housing officer\"}",
                         NULL, "/v1/reference-items"));
    /* Bad codes, kinds and names. */
    {
        static const struct it_field_case bad[] = {
            {"{\"kind\": \"gender\", \"code\": \"Bad Code\", \"name\": \"x\"}", "code"},
            {"{\"kind\": \"gender\", \"code\": \"_x\", \"name\": \"x\"}", "code"},
            {"{\"kind\": \"gender\", \"code\": \"a-b\", \"name\": \"x\"}", "code"},
            {"{\"kind\": \"gender\", \"code\": \"\", \"name\": \"x\"}", "code"},
            {"{\"kind\": \"gender\", \"code\": "
             "\"a12345678901234567890123456789012345678901\", \"name\": \"x\"}",
             "code"},
            {"{\"kind\": \"planet\", \"code\": \"x\", \"name\": \"x\"}", "kind"},
            {"{\"kind\": \"gender\", \"code\": \"x\"}", "name"},
        };
        long before = it_count(f->s, "SELECT count(*) FROM reference_item");
        it_field_errors(f->s, "POST", "/v1/reference-items", f->admin, NULL, bad, IT_LEN(bad));
        assert_int_equal(it_count(f->s, "SELECT count(*) FROM reference_item"), before);
    }

    /* A new item counts in a record. */
    running_run(f, run);
    body = "{\"families_referred\": 2, \"referrals_by_source\": {\"housing_officer\": 2}}";
    put_now(f, f->a_admin, run, body, 200);

    /* Changes: the name and active, with If-Match; the kind and code are fixed. */
    path = it_fmt("/v1/reference-items/%s", id);
    it_expect_field_if(f->s, "PATCH", path, f->admin, etag, "{\"code\": \"housing\"}", "code");
    it_expect_field_if(f->s, "PATCH", path, f->admin, etag, "{\"kind\": \"onward_referral\"}",
                       "kind");
    it_expect_if(f->s, "PATCH", path, f->a_admin, etag, "{\"name\": \"Housing\"}", 403);
    it_expect_if(f->s, "PATCH", path, f->admin, NULL, "{\"name\": \"Housing\"}", 428);
    it_assert_row(f->s, IT_ROW("housing_officer", "Housing officer", "referral_source", "1"),
                  "SELECT code, name, kind, version FROM reference_item WHERE id = $1::uuid", id);
    it_patch_json(f->s, path, f->admin, etag, "{\"name\": \"Housing officer or landlord\"}", &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "name"), "Housing officer or landlord");
    it_renew_etag(&r, &etag);
    it_resp_free(&r);
    it_patch_json(f->s, path, f->admin, etag, "{\"active\": false}", &r);
    it_assert_status(&r, 200);
    assert_true(json_is_false(json_object_get(r.json, "active")));
    assert_string_equal(it_json_str(&r, "name"), "Housing officer or landlord");
    it_resp_free(&r);
    it_assert_row(f->s, IT_ROW("housing_officer", "Housing officer or landlord", "f", "12"),
                  "SELECT code, name, active, position FROM reference_item WHERE id = $1::uuid",
                  id);
    /* Retired: still read, listed as inactive, refused by a new record, and the record that
     * counted by it still reads. */
    it_expect(f->s, "GET", path, f->a_staff, NULL, 200);
    it_get(f->s, "/v1/reference-items?kind=referral_source&active=false", f->a_admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_true(it_json_has(json_object_get(r.json, "items"), "code", "housing_officer"));
    it_resp_free(&r);
    {
        char *etag2 = delivery_etag(f, f->a_admin, run), *before = run_row(f, run), *after;
        it_putf(f->s, f->a_admin, etag2, body, &r, DELIVERY, run);
        it_assert_only_rule(&r, "referrals_by_source", "unknown_code");
        it_resp_free(&r);
        after = run_row(f, run);
        assert_string_equal(after, before);
        free(after);
        free(before);
        free(etag2);
    }
    it_getf(f->s, f->a_admin, &r, "/v1/programmes/%s/delivery", run);
    it_assert_status(&r, 200);
    assert_int_equal(jint(json_object_get(r.json, "referrals_by_source"), "housing_officer"), 2);
    it_resp_free(&r);
    /* A retired gender is refused inside a breakdown too. */
    PQclear(it_sql(f->s, "UPDATE reference_item SET active = false WHERE kind = 'gender'"
                         " AND code = 'not_given'"));
    put_now(f, f->a_admin, run,
            "{\"adults\": 1, \"adults_by_relationship\": {\"mother\": {\"not_given\": 1}}}", 422);
    PQclear(it_sql(f->s, "UPDATE reference_item SET active = true WHERE kind = 'gender'"
                         " AND code = 'not_given'"));
    put_now(f, f->a_admin, run,
            "{\"adults\": 1, \"adults_by_relationship\": {\"mother\": {\"not_given\": 1}}}", 200);
    it_expect(f->s, "GET", "/v1/reference-items/" NO_SUCH_ID, f->admin, NULL, 404);
    free(path);
    free(etag);
    free(id);
}

static void
test_outcome_measures(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *id, *etag, *path, *body;
    json_t *items, *m;
    size_t i;

    it_get(f->s, "/v1/outcome-measures", f->a_staff, &r);
    it_assert_status(&r, 200);
    items = json_object_get(r.json, "items");
    assert_true(json_array_size(items) >= 5);
    assert_true(it_json_has(items, "code", "family_functioning"));
    assert_true(it_json_has(items, "code", "parental_wellbeing"));
    json_array_foreach(items, i, m)
    {
        if (strcmp(it_jstr(m, "code"), "family_functioning") == 0) {
            assert_string_equal(it_jstr(m, "respondent"), "family");
            assert_true(json_is_false(json_object_get(m, "higher_is_better")));
            assert_true(json_number_value(json_object_get(m, "scale_min")) == 1.0);
            assert_true(json_number_value(json_object_get(m, "scale_max")) == 4.0);
        }
    }
    it_resp_free(&r);
    it_get(f->s, "/v1/outcome-measures?respondent=family", f->a_admin, &r);
    it_assert_status(&r, 200);
    items = json_object_get(r.json, "items");
    assert_true(json_array_size(items) >= 2);
    json_array_foreach(items, i, m)
    {
        assert_string_equal(it_jstr(m, "respondent"), "family");
    }
    it_resp_free(&r);
    it_expect(f->s, "GET", "/v1/outcome-measures?respondent=dog", f->a_admin, NULL, 400);

    body = "{\"code\": \"school_attendance\", \"name\": \"School attendance (0 to 10)\","
           " \"respondent\": \"child\", \"scale_min\": 0, \"scale_max\": 10,"
           " \"higher_is_better\": true}";
    it_expect(f->s, "POST", "/v1/outcome-measures", f->a_admin, body, 403);
    id = it_post_created(f->s, f->admin, body, &etag, "/v1/outcome-measures");
    it_assert_row(f->s, IT_ROW("school_attendance", "child", "0", "10", "t", "t"),
                  "SELECT code, respondent, scale_min, scale_max, higher_is_better, active"
                  " FROM outcome_measure WHERE id = $1::uuid",
                  id);
    it_expect(f->s, "POST", "/v1/outcome-measures", f->admin, body, 409);
    /* An empty scale, and the rest of the fields. */
    {
        long before = it_count(f->s, "SELECT count(*) FROM outcome_measure");
        it_post_json(f->s, "/v1/outcome-measures", f->admin,
                     "{\"code\": \"flat\", \"name\": \"Flat\", \"respondent\": \"adult\","
                     " \"scale_min\": 5, \"scale_max\": 5, \"higher_is_better\": true}",
                     &r);
        it_assert_only_rule(&r, "scale_max", "scale_empty");
        it_resp_free(&r);
        it_post_json(f->s, "/v1/outcome-measures", f->admin,
                     "{\"code\": \"upside_down\", \"name\": \"Upside down\", \"respondent\":"
                     " \"adult\", \"scale_min\": 10, \"scale_max\": 1, \"higher_is_better\": true}",
                     &r);
        it_assert_only_rule(&r, "scale_max", "scale_empty");
        it_resp_free(&r);
        static const struct it_field_case bad[] = {
            {"{\"code\": \"Bad\", \"name\": \"x\", \"respondent\": \"adult\", \"scale_min\": 0,"
             " \"scale_max\": 1, \"higher_is_better\": true}",
             "code"},
            {"{\"code\": \"ok_code\", \"name\": \"x\", \"respondent\": \"cat\", \"scale_min\": 0,"
             " \"scale_max\": 1, \"higher_is_better\": true}",
             "respondent"},
            {"{\"code\": \"ok_code\", \"name\": \"x\", \"respondent\": \"adult\", \"scale_min\": 0,"
             " \"scale_max\": 1}",
             "higher_is_better"},
        };
        it_field_errors(f->s, "POST", "/v1/outcome-measures", f->admin, NULL, bad, IT_LEN(bad));
        assert_int_equal(it_count(f->s, "SELECT count(*) FROM outcome_measure"), before);
    }
    /* Changes: name and active; code, respondent and scale fixed. */
    path = it_fmt("/v1/outcome-measures/%s", id);
    it_expect_field_if(f->s, "PATCH", path, f->admin, etag, "{\"scale_min\": 1}", "scale_min");
    it_expect_field_if(f->s, "PATCH", path, f->admin, etag, "{\"respondent\": \"adult\"}",
                       "respondent");
    it_expect_field_if(f->s, "PATCH", path, f->admin, etag, "{\"code\": \"attendance\"}", "code");
    /* The direction too: recorded runs read their change as an improvement by it. */
    it_expect_field_if(f->s, "PATCH", path, f->admin, etag, "{\"higher_is_better\": false}",
                       "higher_is_better");
    it_expect_if(f->s, "PATCH", path, f->a_admin, etag, "{\"active\": false}", 403);
    it_assert_row(f->s, IT_ROW("1", "t"),
                  "SELECT version, active FROM outcome_measure WHERE id = $1::uuid", id);
    it_patch_json(f->s, path, f->admin, etag, "{\"name\": \"Attendance\", \"active\": false}", &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "name"), "Attendance");
    assert_true(json_is_false(json_object_get(r.json, "active")));
    it_resp_free(&r);
    it_assert_row(f->s, IT_ROW("Attendance", "f", "0", "10", "child", "t"),
                  "SELECT name, active, scale_min, scale_max, respondent, higher_is_better"
                  " FROM outcome_measure WHERE id = $1::uuid",
                  id);
    it_get(f->s, "/v1/outcome-measures?active=false", f->a_admin, &r);
    it_assert_status(&r, 200);
    assert_true(it_json_has(json_object_get(r.json, "items"), "code", "school_attendance"));
    assert_false(it_json_has(json_object_get(r.json, "items"), "code", "coping_efficacy"));
    it_resp_free(&r);
    free(path);
    free(etag);
    free(id);
}

TEST_MAIN(group_setup,
          it_fx_teardown,
          cmocka_unit_test(test_good_put),
          cmocka_unit_test(test_sessions_planned_default),
          cmocka_unit_test(test_each_rule),
          cmocka_unit_test(test_outcome_answers_bound),
          cmocka_unit_test(test_if_match),
          cmocka_unit_test(test_access),
          cmocka_unit_test(test_completion_patch),
          cmocka_unit_test(test_webhook),
          cmocka_unit_test(test_csv),
          cmocka_unit_test(test_reference_items),
          cmocka_unit_test(test_outcome_measures))
