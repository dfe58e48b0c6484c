/* it_impact.c: GET /v1/reports/delivery over HTTP against the real server and PostgreSQL, on a
 * small fixture whose every figure is computed by hand in the comments below: the licensing
 * body's whole view, a licensee's own runs only, the district filter, the previous period, the
 * outcome statistics combined from two runs' sums, the CSV (one row per figure) parsed back,
 * and bad filters answered 400.
 *
 * Fixture (made with SQL; the report reads only the stored records):
 * - Medway (E06000035) site of A; Maidstone (E07000110) site of B.
 * - R1 (A, Medway, ends 2025-03-01, completed): capacity 8, referred 6, assessed 5, started 5,
 *   completed 4, adults 5 (mother/female 4, father/male 1), children 8 (8_11: female 4, male 4),
 *   sessions 8 of 8, review and reunion held, cost 4000; referrals self 2, school 4; onward
 *   advice 1; would_recommend 4/1/0; coping_efficacy pairs (2,3) (2,4) (3,4) (1,3): n 4, sums
 *   before 8, after 14, d 6, d2 10.
 * - R2 (B, Maidstone, ends 2025-06-01, completed): capacity 6, referred 4, assessed 4, started 3,
 *   completed 3, adults 3 (mother/female 2, grandfather/male 1), children 5 (12_14 male 5),
 *   sessions 7 of 8, review held, reunion not, no cost; referrals school 4; would_recommend
 *   3/0/0; coping_efficacy pairs (3,3) (2,4): n 2, before 5, after 7, d 2, d2 4.
 * - R3 (A, ends 2024-03-01, completed): started 2, completed 2, adults 2, children 2.
 * - R4 (A, ends 2025-09-01, running); R5 (A, planned): not counted.
 * For 2025-01-01..2025-12-31 the licensing body sees R1 + R2 (and R4 in progress):
 * referred 10, assessed 9, started 8, completed 7, capacity 14, completion 7/8 = 0.875, places
 * 8/14; adults 8, male share 2/8 = 0.25; children 13; referrals self 2, school 8; sessions 15 of
 * 16; review 2, reunion 1; cost 4000 over 1 run, per family started 800, completed 1000; SROI
 * 2213 x 4 / 4000 = 2.213; would_recommend agree 7 of 8 = 0.875. coping_efficacy combined: n 6,
 * mean before 13/6, after 21/6 = 3.5, change 8/6; variance of d (14 - 64/6) / 5 = 2/3, sd
 * 0.816497; se 1/3; t(0.975, 5) = 2.570582: interval 1.333333 -/+ 0.856861; d_z 1.632993.
 * The previous period of the same length is 2024-01-02..2024-12-31: R3 only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "itlib.h"

#define ADMIN_EMAIL "admin@impact.example"
#define PASSWORD    "impact-test-password-1"
#define PERIOD      "from=2025-01-01&to=2025-12-31"

struct fx {
    IT_FX_HEAD;
    char *org_a, *org_b, *a_admin;
};

static char *
make_site(struct fx *f, const char *org, const char *postcode)
{
    return it_sql_text(f->s,
                       "INSERT INTO location (organisation_id, name, kind, address_lines, town,"
                       " postcode) VALUES ($1::uuid, 'Site ' || $2, 'community', '[\"1 Road\"]',"
                       " 'Town', $2) RETURNING id::text",
                       org, postcode);
}

static void
outcome(struct fx *f, const char *run, const char *n, const char *sums)
{
    char *sql = it_fmt("INSERT INTO programme_outcome (run_id, measure_id, n, sum_pre, sum_post,"
                       " sum_d, sum_d2) SELECT $1::uuid, id, $2::int, %s FROM outcome_measure"
                       " WHERE code = 'coping_efficacy'",
                       sums);

    PQclear(it_sql(f->s, sql, run, n));
    free(sql);
}

static int
setup(void **state)
{
    struct fx *f = it_fx_start(sizeof(*f), "impact", NULL, ADMIN_EMAIL, PASSWORD, IT_FX_HASH);
    char *a_site, *b_site, *r1, *r2;

    f->org_a = it_create_org(f->s, f->admin, NULL, NULL, "Impact A");
    f->org_b = it_create_org(f->s, f->admin, NULL, NULL, "Impact B");
    PQclear(it_sql(f->s, "INSERT INTO local_authority VALUES ('E06000035', 'Medway'),"
                         " ('E07000110', 'Maidstone') ON CONFLICT DO NOTHING"));
    PQclear(it_sql(f->s, "INSERT INTO postcode (postcode, latitude, longitude, oslaua) VALUES"
                         " ('ME4 4QQ', 51.38, 0.52, 'E06000035'),"
                         " ('ME14 1QQ', 51.27, 0.52, 'E07000110') ON CONFLICT DO NOTHING"));
    a_site = make_site(f, f->org_a, "ME4 4QQ");
    b_site = make_site(f, f->org_b, "ME14 1QQ");
    r1 = it_make_run(
        f->s,
        (struct it_run){
            .org = f->org_a,
            .loc = a_site,
            .status = "completed",
            .ends = "2025-03-01",
            .started = "5",
            .completed = "4",
            .adults = "5",
            .children = "8",
            .cols = ", families_referred, families_assessed, sessions_planned, sessions_delivered,"
                    " review_held, reunion_held, delivery_cost_gbp, referrals_by_source,"
                    " onward_referrals, adults_by_relationship, children_by_age_band, feedback",
            .vals =
                ", 6, 5, 8, 8, true, true, 4000, '{\"self\": 2, \"school\": 4}',"
                " '{\"advice\": 1}', '{\"mother\": {\"female\": 4}, \"father\": {\"male\": 1}}',"
                " '{\"8_11\": {\"female\": 4, \"male\": 4}}',"
                " '{\"would_recommend\": {\"agree\": 4, \"neither\": 1, \"disagree\": 0}}'"});
    r2 = it_make_run(
        f->s,
        (struct it_run){
            .org = f->org_b,
            .loc = b_site,
            .status = "completed",
            .ends = "2025-06-01",
            .capacity = "6",
            .started = "3",
            .completed = "3",
            .adults = "3",
            .children = "5",
            .cols = ", families_referred, families_assessed, sessions_planned, sessions_delivered,"
                    " review_held, reunion_held, referrals_by_source, onward_referrals,"
                    " adults_by_relationship, children_by_age_band, feedback",
            .vals = ", 4, 4, 8, 7, true, false, '{\"school\": 4}', '{}',"
                    " '{\"mother\": {\"female\": 2}, \"grandfather\": {\"male\": 1}}',"
                    " '{\"12_14\": {\"male\": 5}}',"
                    " '{\"would_recommend\": {\"agree\": 3, \"neither\": 0, \"disagree\": 0}}'"});
    free(it_make_run(f->s, (struct it_run){.org = f->org_a,
                                           .loc = a_site,
                                           .status = "completed",
                                           .ends = "2024-03-01",
                                           .started = "2",
                                           .completed = "2",
                                           .adults = "2",
                                           .children = "2"}));
    free(it_make_run(
        f->s, (struct it_run){
                  .org = f->org_a, .loc = a_site, .status = "running", .ends = "2025-09-01"}));
    free(it_make_run(
        f->s, (struct it_run){
                  .org = f->org_a, .loc = a_site, .status = "planned", .ends = "2025-10-01"}));
    outcome(f, r1, "4", "8, 14, 6, 10");
    outcome(f, r2, "2", "5, 7, 2, 4");
    f->a_admin = it_fx_licensee(f, "admin@a.impact.example", "org_admin", f->org_a);
    free(a_site);
    free(b_site);
    free(r1);
    free(r2);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    free(f->org_a);
    free(f->org_b);
    free(f->a_admin);
    return it_fx_teardown(state);
}

static void
assert_near(json_t *v, double want)
{
    if (!json_is_number(v) || fabs(json_number_value(v) - want) > 1e-5) {
        fail_msg("got %g, want %g", json_is_number(v) ? json_number_value(v) : NAN, want);
    }
}

/* The number at `path` ("families.started", "outcomes.0.n") of `o`. */
static json_t *
at(json_t *o, const char *path)
{
    char buf[128], *save = NULL, *k;

    snprintf(buf, sizeof(buf), "%s", path);
    for (k = strtok_r(buf, ".", &save); k != NULL && o != NULL; k = strtok_r(NULL, ".", &save)) {
        o = json_is_array(o) ? json_array_get(o, strtoul(k, NULL, 10)) : json_object_get(o, k);
    }
    return o;
}

/* A number a report must hold, at `path` (as for at()). */
struct near {
    const char *path;
    double want;
};

/* assert_near for each of the `n` numbers `want` of `o`, naming the path of one that differs. */
static void
assert_all_near(json_t *o, const struct near *want, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        json_t *v = at(o, want[i].path);

        if (!json_is_number(v) || fabs(json_number_value(v) - want[i].want) > 1e-5) {
            fail_msg("%s: got %g, want %g", want[i].path,
                     json_is_number(v) ? json_number_value(v) : NAN, want[i].want);
        }
    }
}

static void
test_licensing_body(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    json_t *b;

    it_get(f->s, "/v1/reports/delivery?" PERIOD, f->admin, &r);
    it_assert_status(&r, 200);
    b = r.json;
    assert_int_equal(json_integer_value(at(b, "runs.completed")), 2);
    assert_int_equal(json_integer_value(at(b, "runs.in_progress")), 1);
    assert_int_equal(json_array_size(at(b, "runs.items")), 3);
    assert_string_equal(json_string_value(at(b, "runs.items.0.local_authority.name")), "Medway");
    {
        const struct near want[] = {
            {"families.referred", 10},
            {"families.assessed", 9},
            {"families.started", 8},
            {"families.completed", 7},
            {"families.capacity", 14},
            {"families.completion_rate", 0.875},
            {"families.places_filled", 8.0 / 14},
            {"adults.total", 8},
            {"adults.male_share", 0.25},
            {"adults.by_relationship.mother.female", 6},
            {"adults.by_relationship.grandfather.male", 1},
            {"children.total", 13},
            {"children.by_age_band.12_14.male", 5},
            {"referrals_by_source.school", 8},
            {"referrals_by_source.self", 2},
            {"onward_referrals.advice", 1},
            {"sessions.delivered", 15},
            {"sessions.delivered_rate", 15.0 / 16},
            {"sessions.review_held", 2},
            {"sessions.reunion_held", 1},
            {"cost.total_gbp", 4000},
            {"cost.costed_runs", 1},
            {"cost.per_family_started_gbp", 800},
            {"cost.per_family_completed_gbp", 1000},
        };

        assert_all_near(b, want, IT_LEN(want));
    }
    assert_string_equal(json_string_value(at(b, "sroi.label")), "estimate");
    {
        const struct near want[] = {
            {"sroi.ratio", 2.213},
            {"sroi.parameters.savings_per_family_gbp", 2213},
            {"feedback.would_recommend.agree", 7},
            {"feedback.would_recommend.shares.agree", 0.875},
            {"feedback.would_recommend.shares.disagree", 0},
        };

        assert_all_near(b, want, IT_LEN(want));
    }
    assert_string_equal(json_string_value(at(b, "outcomes.0.measure_code")), "coping_efficacy");
    {
        const struct near want[] = {
            {"outcomes.0.runs", 2},
            {"outcomes.0.n", 6},
            {"outcomes.0.sums.d2", 14},
            {"outcomes.0.mean_before", 13.0 / 6},
            {"outcomes.0.mean_after", 3.5},
            {"outcomes.0.mean_change", 8.0 / 6},
            {"outcomes.0.sd_change", 0.816497},
            {"outcomes.0.ci95.0", 8.0 / 6 - 0.856861},
            {"outcomes.0.ci95.1", 8.0 / 6 + 0.856861},
            {"outcomes.0.effect_size_dz", 1.632993},
        };

        assert_all_near(b, want, IT_LEN(want));
    }
    assert_string_equal(json_string_value(at(b, "outcomes.0.change")), "improved");
    {
        const struct near want[] = {
            {"series.0.year", 2025},
            {"series.0.families_started", 8},
            {"previous.runs", 1},
            {"previous.families_started", 2},
        };

        assert_all_near(b, want, IT_LEN(want));
    }
    it_resp_free(&r);
}

/* A licensee sees its own organisation's runs only, whatever it asks for. */
static void
test_licensee_own_runs(void **state)
{
    struct fx *f = *state;
    struct it_resp r;

    it_get(f->s, "/v1/reports/delivery?" PERIOD, f->a_admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_integer_value(at(r.json, "runs.completed")), 1);
    assert_near(at(r.json, "families.started"), 5);
    assert_near(at(r.json, "outcomes.0.n"), 4);
    it_resp_free(&r);
    it_getf(f->s, f->a_admin, &r, "/v1/reports/delivery?organisation_id=%s", f->org_b);
    it_assert_status(&r, 200);
    assert_int_equal(json_integer_value(at(r.json, "runs.completed")), 0);
    assert_int_equal(json_array_size(at(r.json, "runs.items")), 0);
    it_resp_free(&r);
}

static void
test_district_filter(void **state)
{
    struct fx *f = *state;
    struct it_resp r;

    it_get(f->s, "/v1/reports/delivery?local_authority=E07000110", f->admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_integer_value(at(r.json, "runs.completed")), 1);
    assert_near(at(r.json, "families.started"), 3);
    assert_true(json_is_null(at(r.json, "previous")));
    it_resp_free(&r);
    it_get(f->s, "/v1/reports/delivery?local_authority=E07000110,E06000035&" PERIOD, f->admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_integer_value(at(r.json, "runs.completed")), 2);
    it_resp_free(&r);
}

/* Runs in one district's report (with the period), or -1 when the report fails. */
static long
district_runs(struct fx *f, const char *code)
{
    struct it_resp r;
    char *path = it_fmt("/v1/reports/delivery?local_authority=%s&" PERIOD, code);
    long n = -1;

    it_get(f->s, path, f->admin, &r);
    if (r.status == 200) {
        n = (long)json_integer_value(at(r.json, "runs.completed"));
    }
    it_resp_free(&r);
    free(path);
    return n;
}

/* Writes a postcode file for import-postcodes: ME4 4QQ in Medway, ME14 1QQ in `me14_district`. */
static char *
district_file(struct fx *f, const char *me14_district)
{
    char *path = it_fmt("%s/districts-%s.csv", f->s->work_dir, me14_district);
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fprintf(fp,
            "pcds,lat,long,doterm,oslaua,ctry\r\n"
            "ME4 4QQ,51.38,0.52,,E06000035,E92000001\r\n"
            "ME14 1QQ,51.27,0.52,,%s,E92000001\r\n",
            me14_district);
    fclose(fp);
    return path;
}

static void
import_districts(struct fx *f, const char *me14_district)
{
    char *path = district_file(f, me14_district), *out = NULL;
    const char *args[] = {"import-postcodes", path, NULL};

    if (it_exec(f->s, 0, args, NULL, NULL, 120, &out) != 0) {
        fail_msg("import-postcodes failed: %s", out != NULL ? out : "");
    }
    it_assert_clean_output(out);
    free(out);
    free(path);
}

/* A site's district is stored with it (location.la_code, migration 0038) and follows every way
 * its postcode's district can change: a site moved to another postcode, a postcode's district
 * changed by SQL, and import-postcodes swapping in a table where the postcode lies elsewhere. The
 * district report follows each, and every change is put back. */
static void
test_site_district_follows(void **state)
{
    struct fx *f = *state;

    assert_int_equal(district_runs(f, "E07000110"), 1);
    assert_int_equal(district_runs(f, "E06000035"), 1);
    /* The site of R2 (ME14 1QQ, Maidstone) moved to ME4 4QQ (Medway), and back. */
    PQclear(it_sql(f->s, "UPDATE location SET postcode = 'ME4 4QQ' WHERE postcode = 'ME14 1QQ'"));
    assert_int_equal(district_runs(f, "E07000110"), 0);
    assert_int_equal(district_runs(f, "E06000035"), 2);
    PQclear(it_sql(f->s, "UPDATE location SET postcode = 'ME14 1QQ' WHERE name = 'Site ME14 1QQ'"));
    assert_int_equal(district_runs(f, "E07000110"), 1);
    /* The postcode's district changed in the table. */
    PQclear(it_sql(f->s, "UPDATE postcode SET oslaua = 'E06000035' WHERE postcode = 'ME14 1QQ'"));
    assert_int_equal(district_runs(f, "E07000110"), 0);
    assert_int_equal(district_runs(f, "E06000035"), 2);
    PQclear(it_sql(f->s, "UPDATE postcode SET oslaua = 'E07000110' WHERE postcode = 'ME14 1QQ'"));
    assert_int_equal(district_runs(f, "E07000110"), 1);
    /* A whole new postcode table, then the first one's districts again through a second. */
    import_districts(f, "E06000035");
    assert_int_equal(district_runs(f, "E07000110"), 0);
    assert_int_equal(district_runs(f, "E06000035"), 2);
    /* The new table has the trigger too. */
    PQclear(it_sql(f->s, "UPDATE postcode SET oslaua = 'E07000110' WHERE postcode = 'ME14 1QQ'"));
    assert_int_equal(district_runs(f, "E07000110"), 1);
    import_districts(f, "E07000110");
    assert_int_equal(district_runs(f, "E07000110"), 1);
    assert_int_equal(district_runs(f, "E06000035"), 1);
    assert_int_equal(
        it_count(f->s, "SELECT count(*) FROM location"
                       " WHERE la_code IS DISTINCT FROM registry_site_district(postcode, county)"),
        0);
}

static void
test_csv(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    json_t *rows;
    size_t i, path, value;
    int found = 0;

    it_get_csv(f->s, "/v1/reports/delivery?" PERIOD, f->admin, &r);
    it_assert_status(&r, 200);
    rows = it_csv_parse(r.body);
    path = it_csv_col(rows, "path");
    value = it_csv_col(rows, "value");
    for (i = 1; i < json_array_size(rows); i++) {
        if (strcmp(it_csv_cell(rows, i, path), "families.started") == 0) {
            assert_string_equal(it_csv_cell(rows, i, value), "8");
            found = 1;
        }
    }
    assert_true(found);
    json_decref(rows);
    it_resp_free(&r);
}

static void
test_bad_filters(void **state)
{
    struct fx *f = *state;

    it_expect_gets(f->s, f->admin, 400, "/v1/reports/delivery?", "local_authority=E0600003",
                   "local_authority=E06000035,,E07000110", "from=2025-02-30",
                   "from=2025-03-01&to=2025-01-01", "organisation_id=nope", "region=kent",
                   "runs_limit=0", "runs_limit=1001", "runs_limit=x", "runs_limit=-1", NULL);
    it_expect(f->s, "GET", "/v1/reports/delivery", NULL, NULL, 401);
}

/* The SROI parameters: anyone signed in reads them, only the licensing body changes them (the
 * whole row, with If-Match, audited), and the report's estimate follows: 2500 x 4 / 4000. */
static void
test_settings(void **state)
{
    struct fx *f = *state;
    static const char body[] = "{\"savings_per_family_gbp\": 2500, \"source\": \"A later study\","
                               " \"year\": 2024}";
    struct it_resp r;
    char *etag = it_etag_of(f->s, f->a_admin, "/v1/settings/sroi"), *hdr;
    const char *headers[3] = {"Content-Type: application/json", NULL, NULL};

    it_get(f->s, "/v1/settings/sroi", f->a_admin, &r);
    it_assert_status(&r, 200);
    assert_near(at(r.json, "savings_per_family_gbp"), 2213);
    assert_int_equal(json_integer_value(at(r.json, "year")), 2014);
    it_resp_free(&r);
    it_expect(f->s, "GET", "/v1/settings/history", f->a_admin, NULL, 200);
    it_expect(f->s, "GET", "/v1/settings/colour", f->a_admin, NULL, 404);
    it_request(f->s, "PUT", "/v1/settings/sroi", f->admin, headers, body, &r);
    it_assert_problem(&r, 428);
    it_resp_free(&r);
    hdr = it_fmt("If-Match: %s", etag);
    headers[1] = hdr;
    it_request(f->s, "PUT", "/v1/settings/sroi", f->a_admin, headers, body, &r);
    it_assert_problem(&r, 403);
    it_resp_free(&r);
    it_request(f->s, "PUT", "/v1/settings/sroi", f->admin, headers,
               "{\"savings_per_family_gbp\": 2500, \"source\": \"x\", \"year\": 1800}", &r);
    it_assert_field_error(&r, "year");
    it_resp_free(&r);
    it_request(f->s, "PUT", "/v1/settings/sroi", f->admin, headers,
               "{\"savings_per_family_gbp\": 2500}", &r);
    it_assert_field_error(&r, "source");
    it_resp_free(&r);
    assert_int_equal(it_count(f->s, "SELECT savings_per_family_gbp FROM sroi_setting"), 2213);
    it_request(f->s, "PUT", "/v1/settings/sroi", f->admin, headers, body, &r);
    it_assert_status(&r, 200);
    assert_near(at(r.json, "savings_per_family_gbp"), 2500);
    it_resp_free(&r);
    it_request(f->s, "PUT", "/v1/settings/sroi", f->admin, headers, body, &r);
    it_assert_problem(&r, 412);
    it_resp_free(&r);
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM audit_event WHERE resource_type ="
                                    " 'setting' AND resource_id = 'sroi'"),
                     1);
    it_get(f->s, "/v1/reports/delivery?" PERIOD, f->admin, &r);
    assert_near(at(r.json, "sroi.ratio"), 2.5);
    assert_string_equal(json_string_value(at(r.json, "sroi.parameters.source")), "A later study");
    it_resp_free(&r);
    free(hdr);
    free(etag);
}

/* The public figures of the fixture: 2024 (R3) runs 1, families 2, participants 4, sites 1;
 * 2025 (R1, R2) runs 2, families 8, participants 21, sites 2; since the start runs 3, families
 * 10, participants 25, sites 2; nobody trained. Every count 1 to 4 is withheld; in each column
 * (whose last row is its total) a lone withheld count takes the smallest other with it: families
 * 8 goes with the 2, participants 21 with the 4; the totals 10 and 25 stay. */
static void
test_public_impact(void **state)
{
    /* The withheld cells. */
    static const char *const withheld[] = {
        "years.0.families", "years.1.families", "years.0.participants",  "years.1.participants",
        "years.1.runs",     "since_start.runs", "since_start.locations",
    };
    struct fx *f = *state;
    struct it_resp r;
    json_t *sup;
    size_t i;

    it_get(f->s, "/v1/public/impact", NULL, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(at(r.json, "years")), 2);
    assert_int_equal(json_integer_value(at(r.json, "years.0.year")), 2024);
    for (i = 0; i < IT_LEN(withheld); i++) {
        if (!json_is_null(at(r.json, withheld[i]))) {
            fail_msg("%s is shown, and must be withheld", withheld[i]);
        }
    }
    assert_near(at(r.json, "since_start.families"), 10);
    assert_near(at(r.json, "since_start.participants"), 25);
    assert_near(at(r.json, "years.0.practitioners_trained"), 0);
    sup = at(r.json, "suppressed");
    assert_true(it_json_has(sup, NULL, "years.2024.families"));
    assert_true(it_json_has(sup, NULL, "years.2025.participants"));
    assert_true(it_json_has(sup, NULL, "since_start.runs"));
    assert_false(it_json_has(sup, NULL, "since_start.families"));
    assert_near(at(r.json, "before_registry.practitioners_trained"), 446);
    assert_string_equal(json_string_value(at(r.json, "before_registry.label")),
                        "before the registry");
    assert_non_null(it_header(&r, "ETag"));
    it_resp_free(&r);
    it_expect(f->s, "GET", "/v1/public/impact?year=2024", NULL, NULL, 400);
}

/* The differences an attacker can take in one line of the commissioner's answer `seen`, against
 * the exact answer `exact`: the cells at `paths` (the first the line's total) add up, so a line
 * may not withhold exactly one of them, nor withhold cells whose exact values add up to 4 or
 * less while showing any (each would be pinned down). */
static void
assert_line_safe(json_t *seen, json_t *exact, const char *const *paths, size_t n)
{
    size_t i, hidden = 0, shown = 0;
    double sum = 0;

    for (i = 0; i < n; i++) {
        if (json_is_null(at(seen, paths[i]))) {
            hidden++;
            sum += json_number_value(at(exact, paths[i]));
        } else {
            shown++;
            assert_near(at(seen, paths[i]), json_number_value(at(exact, paths[i])));
        }
    }
    if (hidden == 1 || (hidden > 1 && shown > 0 && sum <= 4)) {
        fail_msg("the line of %s gives a withheld value away (%zu withheld, adding up to %g)",
                 paths[0], hidden, sum);
    }
}

/* A commissioner for Medway (E06000035): made by the licensing body with its areas; sees only
 * the runs at Medway sites (R1, and R4 in progress; R3 before the period), with every count of
 * people from 1 to 4 withheld and, where a total would give a withheld count back, another with
 * it: referrals self 2 and school 4 (total 6 shown); mother/female 4 and father/male 1 (adults
 * 5 shown); children 4 and 4 (8 shown); families completed 4 and R1's completed 4; the 2025
 * series' completed 4; onward advice 1; feedback 4 and 1 (shares withheld); the previous
 * period's 2 families; coping_efficacy (n 4 < 5) keeps its name only. Ratios that would give a
 * withheld count back (completion rate, cost per family, SROI, male share) are null. And nothing
 * but reports is open to it. */
static void
test_commissioner(void **state)
{
    struct fx *f = *state;
    static const char *const refused[] = {"/v1/programmes",    "/v1/facilitators",  "/v1/locations",
                                          "/v1/organisations", "/v1/settings/sroi", "/v1/audit"};
    static const char *const withheld[] = {"referrals_by_source.self",
                                           "referrals_by_source.school",
                                           "adults.by_relationship.mother.female",
                                           "adults.by_relationship.father.male",
                                           "children.by_age_band.8_11.female",
                                           "children.by_age_band.8_11.male",
                                           "families.completed",
                                           "onward_referrals.advice",
                                           "feedback.would_recommend.agree",
                                           "previous.families_started",
                                           "outcomes.0.n"};
    struct it_resp r;
    char *token, *path;
    size_t i;

    it_expect_field(f->s, "POST", "/v1/users", f->admin,
                    "{\"email\": \"ph@medway.impact.example\", \"password\": \"" PASSWORD "\","
                    " \"role\": \"commissioner\"}",
                    "areas");
    it_post_json(f->s, "/v1/users", f->admin,
                 "{\"email\": \"ph@medway.impact.example\", \"password\": \"" PASSWORD "\","
                 " \"role\": \"commissioner\", \"areas\": [\"E06000999\"]}",
                 &r);
    it_assert_field_error_with(&r, "areas", "E06000999");
    it_resp_free(&r);
    path = it_fmt("{\"email\": \"staff@medway.impact.example\", \"password\": \"" PASSWORD "\","
                  " \"role\": \"org_staff\", \"areas\": [\"E06000035\"], \"organisation_id\":"
                  " \"%s\"}",
                  f->org_a);
    it_expect_field(f->s, "POST", "/v1/users", f->admin, path, "areas");
    free(path);
    token = it_user_login(f->s, f->admin,
                          "{\"email\": \"ph@medway.impact.example\", \"password\": \"" PASSWORD
                          "\", \"role\": \"commissioner\", \"areas\": [\"E06000035\"]}");
    it_expect(f->s, "GET", "/v1/users/me", token, NULL, 200);
    /* Its areas shown to it and to the licensing body; no one else's account has the key. */
    it_get(f->s, "/v1/users/me", token, &r);
    assert_string_equal(json_string_value(at(r.json, "areas.0")), "E06000035");
    assert_int_equal(json_array_size(at(r.json, "areas")), 1);
    path = it_fmt("/v1/users/%s", json_string_value(at(r.json, "id")));
    it_resp_free(&r);
    it_get(f->s, path, f->admin, &r);
    it_assert_status(&r, 200);
    assert_string_equal(json_string_value(at(r.json, "areas.0")), "E06000035");
    it_resp_free(&r);
    free(path);
    it_get(f->s, "/v1/users/me", f->admin, &r);
    assert_null(at(r.json, "areas"));
    it_resp_free(&r);
    it_assert_row(f->s, IT_ROW("{E06000035}", "t"),
                  "SELECT areas::text, organisation_id IS NULL FROM app_user WHERE email = $1",
                  "ph@medway.impact.example");
    for (i = 0; i < IT_LEN(refused); i++) {
        it_expect(f->s, "GET", refused[i], token, NULL, 403);
    }
    it_expect(f->s, "POST", "/v1/locations", token, "{}", 403);
    it_expect(f->s, "GET", "/v1/reference-items", token, NULL, 200); /* the names it reads by */
    it_expect(f->s, "GET", "/v1/local-authorities", token, NULL, 200);

    it_get(f->s, "/v1/reports/delivery?" PERIOD, token, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_integer_value(at(r.json, "runs.completed")), 1);
    assert_int_equal(json_integer_value(at(r.json, "runs.in_progress")), 1);
    {
        const struct near want[] = {
            {"families.referred", 6},
            {"families.started", 5},
            {"adults.total", 5},
            {"children.total", 8},
        };

        assert_all_near(r.json, want, IT_LEN(want));
    }
    for (i = 0; i < IT_LEN(withheld); i++) {
        if (!json_is_null(at(r.json, withheld[i]))
            || !it_json_has(at(r.json, "suppressed"), NULL, withheld[i])) {
            fail_msg("%s is not withheld", withheld[i]);
        }
    }
    assert_true(json_is_null(at(r.json, "runs.items.0.families_completed")));
    assert_true(json_is_null(at(r.json, "families.completion_rate")));
    assert_true(json_is_null(at(r.json, "cost.per_family_completed_gbp")));
    assert_true(json_is_null(at(r.json, "sroi.ratio")));
    assert_true(json_is_null(at(r.json, "adults.male_share")));
    assert_true(json_is_null(at(r.json, "feedback.would_recommend.shares")));
    assert_null(at(r.json, "outcomes.0.mean_change"));
    assert_null(at(r.json, "outcomes.0.sums"));
    assert_string_equal(json_string_value(at(r.json, "outcomes.0.measure_code")),
                        "coping_efficacy");
    it_resp_free(&r);
    /* Outside its areas: nothing, whatever it asks for. */
    it_get(f->s, "/v1/reports/delivery?local_authority=E07000110", token, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_integer_value(at(r.json, "runs.completed")), 0);
    assert_int_equal(json_array_size(at(r.json, "runs.items")), 0);
    it_resp_free(&r);
    /* The licensing body's view of the same is exact; no line of the commissioner's gives a
     * withheld count back. */
    {
        static const char *const lines[][5] = {
            {"families.referred", "referrals_by_source.self", "referrals_by_source.school"},
            {"adults.total", "adults.by_relationship.mother.female",
             "adults.by_relationship.father.male"},
            {"children.total", "children.by_age_band.8_11.female",
             "children.by_age_band.8_11.male"},
            {"families.completed", "runs.items.0.families_completed",
             "series.0.families_completed"},
            {"families.started", "runs.items.0.families_started", "series.0.families_started"},
        };
        struct it_resp e;

        it_get(f->s, "/v1/reports/delivery?local_authority=E06000035&" PERIOD, f->admin, &e);
        assert_near(at(e.json, "families.completed"), 4);
        assert_int_equal(json_array_size(at(e.json, "suppressed")), 0);
        it_get(f->s, "/v1/reports/delivery?" PERIOD, token, &r);
        for (i = 0; i < IT_LEN(lines); i++) {
            assert_line_safe(r.json, e.json, lines[i], 3);
        }
        it_resp_free(&r);
        it_resp_free(&e);
    }
    free(token);
}

/* The districts a filter or a commissioner's areas are chosen from, with their sites. */
static void
test_local_authorities(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    json_t *item;
    size_t i;
    int medway = 0;

    PQclear(it_sql(f->s, "INSERT INTO local_authority VALUES ('E07000105', 'Ashford')"
                         " ON CONFLICT DO NOTHING"));
    it_get(f->s, "/v1/local-authorities", f->a_admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(at(r.json, "items")), 3);
    assert_string_equal(json_string_value(at(r.json, "items.0.name")), "Ashford");
    json_array_foreach(at(r.json, "items"), i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "code")), "E06000035") == 0) {
            assert_string_equal(json_string_value(json_object_get(item, "name")), "Medway");
            assert_int_equal(json_integer_value(json_object_get(item, "sites")), 1);
            medway = 1;
        }
    }
    assert_true(medway);
    it_resp_free(&r);
    it_get(f->s, "/v1/local-authorities?with_sites=true", f->a_admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(at(r.json, "items")), 2);
    it_resp_free(&r);
    it_expect(f->s, "GET", "/v1/local-authorities?with_sites=maybe", f->a_admin, NULL, 400);
    it_expect(f->s, "GET", "/v1/local-authorities", NULL, NULL, 401);
}

/* The report of every run (no organisation or area) answers from delivery_cube, kept by triggers
 * (migration 0018); the same runs asked for by their districts are summed one by one. Both
 * answer the same, whole, for several periods, after the runs and outcomes change (a run moved
 * to another month and its figures edited, a run completed, an outcome changed and one removed)
 * and after the changes are undone; and the cube equals one summed again from the runs. */
static void
assert_cube_matches(struct fx *f)
{
    static const char *const periods[] = {
        PERIOD,
        "from=2025-03-01&to=2025-06-01",
        "from=2025-03-02&to=2025-05-31",
        "from=2025-01-15&to=2025-02-14",
        "from=2025-07-02&to=2025-07-20", /* no whole month: its days read once */
        "from=2025-05-31&to=2025-06-01",
        "",
        "to=2025-06-30",
        "from=2025-02-01&variant=standard",
    };
    char *diff;
    size_t i;

    for (i = 0; i < IT_LEN(periods); i++) {
        char *all = it_fmt("/v1/reports/delivery?%s", periods[i]);
        char *by_area =
            it_fmt("/v1/reports/delivery?local_authority=E06000035,E07000110&%s", periods[i]);
        struct it_resp a, b;

        it_get(f->s, all, f->admin, &a);
        it_get(f->s, by_area, f->admin, &b);
        it_assert_status(&a, 200);
        it_assert_status(&b, 200);
        /* Enquiries are counted by organisation, so not in a report of areas (test_enquiries). */
        json_object_del(a.json, "enquiries");
        json_object_del(b.json, "enquiries");
        if (!json_equal(a.json, b.json)) {
            char *x = json_dumps(a.json, JSON_SORT_KEYS), *y = json_dumps(b.json, JSON_SORT_KEYS);
            fail_msg("%s:\n every run %s\n by area %s", periods[i], x, y);
        }
        it_resp_free(&a);
        it_resp_free(&b);
        free(all);
        free(by_area);
    }
    /* Each completed run's cells kept in run_cell are those of its record now. */
    diff = it_sql_text(f->s, "WITH now AS (SELECT p.id, x.* FROM programme_run p,"
                             " registry_run_cells(p) x WHERE p.status = 'completed') SELECT"
                             " ((SELECT count(*) FROM (TABLE run_cell EXCEPT TABLE now) x) +"
                             " (SELECT count(*) FROM (TABLE now EXCEPT TABLE run_cell) y))::text");
    assert_string_equal(diff, "0");
    free(diff);
    PQclear(it_sql(f->s, "BEGIN"));
    PQclear(it_sql(f->s, "CREATE TEMP TABLE kept AS SELECT * FROM delivery_cube WHERE runs <> 0"));
    PQclear(it_sql(f->s, "SELECT registry_cube_rebuild()"));
    diff = it_sql_text(f->s, "SELECT ((SELECT count(*) FROM (TABLE kept EXCEPT TABLE"
                             " delivery_cube) x) + (SELECT count(*) FROM (TABLE delivery_cube"
                             " EXCEPT TABLE kept) y))::text");
    assert_string_equal(diff, "0");
    free(diff);
    PQclear(it_sql(f->s, "ROLLBACK"));
}

static void
test_every_run_from_the_cube(void **state)
{
    struct fx *f = *state;
    struct it_resp r;

    assert_cube_matches(f);
    PQclear(it_sql(f->s, "UPDATE programme_run SET ends_on = '2025-07-15', families_referred = 9,"
                         " referrals_by_source = '{\"school\": 4, \"gp\": 5}' WHERE"
                         " ends_on = '2025-06-01'"));
    PQclear(it_sql(f->s, "UPDATE programme_run SET status = 'completed', families_started = 1,"
                         " feedback = '{\"would_recommend\": {\"agree\": 1}}' WHERE"
                         " ends_on = '2025-09-01'"));
    PQclear(it_sql(f->s, "UPDATE programme_outcome SET n = 5, sum_pre = 11, pre_only = 2 WHERE"
                         " run_id = (SELECT id FROM programme_run WHERE ends_on = '2025-03-01')"));
    PQclear(it_sql(f->s, "DELETE FROM programme_outcome WHERE run_id = (SELECT id FROM"
                         " programme_run WHERE ends_on = '2025-07-15')"));
    it_get(f->s, "/v1/reports/delivery?" PERIOD, f->admin, &r);
    assert_int_equal(json_integer_value(at(r.json, "runs.completed")), 3);
    assert_near(at(r.json, "families.referred"), 15);
    assert_near(at(r.json, "referrals_by_source.gp"), 5);
    assert_near(at(r.json, "outcomes.0.n"), 5);
    it_resp_free(&r);
    it_get(f->s, "/v1/reports/delivery?from=2025-07-02&to=2025-07-20", f->admin, &r);
    assert_int_equal(json_integer_value(at(r.json, "runs.completed")), 1);
    assert_near(at(r.json, "families.referred"), 9);
    it_resp_free(&r);
    assert_cube_matches(f);
    /* Undone: the hand-computed figures again. */
    PQclear(it_sql(f->s, "UPDATE programme_run SET ends_on = '2025-06-01', families_referred = 4,"
                         " referrals_by_source = '{\"school\": 4}' WHERE ends_on = '2025-07-15'"));
    PQclear(it_sql(f->s, "UPDATE programme_run SET status = 'running', families_started = NULL,"
                         " feedback = NULL WHERE ends_on = '2025-09-01'"));
    PQclear(it_sql(f->s, "UPDATE programme_outcome SET n = 4, sum_pre = 8, pre_only = 0 WHERE"
                         " run_id = (SELECT id FROM programme_run WHERE ends_on = '2025-03-01')"));
    PQclear(it_sql(f->s, "INSERT INTO programme_outcome (run_id, measure_id, n, sum_pre,"
                         " sum_post, sum_d, sum_d2) SELECT r.id, m.id, 2, 5, 7, 2, 4 FROM"
                         " programme_run r, outcome_measure m WHERE r.ends_on = '2025-06-01'"
                         " AND m.code = 'coping_efficacy'"));
    it_get(f->s, "/v1/reports/delivery?" PERIOD, f->admin, &r);
    assert_int_equal(json_integer_value(at(r.json, "runs.completed")), 2);
    assert_near(at(r.json, "families.referred"), 10);
    assert_null(at(r.json, "referrals_by_source.gp"));
    assert_near(at(r.json, "outcomes.0.n"), 6);
    assert_near(at(r.json, "outcomes.0.mean_change"), 8.0 / 6);
    it_resp_free(&r);
    assert_cube_matches(f);
}

/* runs_limit: the list is cut, the counts are not. */
static void
test_runs_limit(void **state)
{
    struct fx *f = *state;
    struct it_resp r;

    it_get(f->s, "/v1/reports/delivery?" PERIOD, f->admin, &r);
    assert_int_equal(json_array_size(at(r.json, "runs.items")), 3);
    assert_true(json_is_false(at(r.json, "runs.items_truncated")));
    it_resp_free(&r);
    it_get(f->s, "/v1/reports/delivery?runs_limit=1&" PERIOD, f->admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(at(r.json, "runs.items")), 1);
    assert_string_equal(json_string_value(at(r.json, "runs.items.0.ends_on")), "2025-03-01");
    assert_true(json_is_true(at(r.json, "runs.items_truncated")));
    assert_int_equal(json_integer_value(at(r.json, "runs.completed")), 2);
    assert_int_equal(json_integer_value(at(r.json, "runs.in_progress")), 1);
    it_resp_free(&r);
    it_get(f->s, "/v1/reports/delivery?runs_limit=2&local_authority=E06000035", f->admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(at(r.json, "runs.items")), 2);
    assert_true(json_is_true(at(r.json, "runs.items_truncated")));
    it_resp_free(&r);
}

/* The enquiries families sent through the finder, as counts by organisation and month
 * (enquiries.c): A 2025-03 self 3 delivered, professional 1 failed; B 2025-05 family_member 2
 * delivered; A 2024-02 self 5 delivered (before the period). Every organisation's for the
 * licensing body, its own for a licensee, none for a report of areas (counted by organisation). */
static void
test_enquiries(void **state)
{
    struct fx *f = *state;
    char *path;
    struct it_resp r;

    PQclear(it_sql(f->s,
                   "INSERT INTO enquiry_count VALUES ($1::uuid, '2025-03-01', 'self',"
                   " 'delivered', 3), ($1::uuid, '2025-03-01', 'professional', 'failed', 1),"
                   " ($2::uuid, '2025-05-01', 'family_member', 'delivered', 2),"
                   " ($1::uuid, '2024-02-01', 'self', 'delivered', 5)",
                   f->org_a, f->org_b));
    it_get(f->s, "/v1/reports/delivery?" PERIOD, f->admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_integer_value(at(r.json, "enquiries.by_who.self")), 3);
    assert_int_equal(json_integer_value(at(r.json, "enquiries.by_who.professional")), 1);
    assert_int_equal(json_integer_value(at(r.json, "enquiries.by_who.family_member")), 2);
    assert_int_equal(json_integer_value(at(r.json, "enquiries.delivered")), 5);
    assert_int_equal(json_integer_value(at(r.json, "enquiries.failed")), 1);
    it_resp_free(&r);
    it_get(f->s, "/v1/reports/delivery?from=2025-03-15&to=2025-04-30", f->admin, &r);
    assert_int_equal(json_integer_value(at(r.json, "enquiries.delivered")), 3); /* March's */
    it_resp_free(&r);
    it_get(f->s, "/v1/reports/delivery?" PERIOD, f->a_admin, &r);
    assert_int_equal(json_integer_value(at(r.json, "enquiries.by_who.self")), 3);
    assert_null(at(r.json, "enquiries.by_who.family_member"));
    assert_int_equal(json_integer_value(at(r.json, "enquiries.delivered")), 3);
    it_resp_free(&r);
    path = it_fmt("/v1/reports/delivery?organisation_id=%s&" PERIOD, f->org_b);
    it_get(f->s, path, f->admin, &r);
    assert_int_equal(json_integer_value(at(r.json, "enquiries.delivered")), 2);
    it_resp_free(&r);
    free(path);
    it_get(f->s, "/v1/reports/delivery?local_authority=E06000035&" PERIOD, f->admin, &r);
    assert_true(json_is_null(at(r.json, "enquiries")));
    it_resp_free(&r);
    PQclear(it_sql(f->s, "DELETE FROM enquiry_count"));
}

/* The public figures are kept once computed (REGISTRY_PUBLIC_FIGURES_CACHE_S, 60 by default): a
 * run completed since does not show until they are computed again, which editing the history
 * makes happen at once. */
static void
test_public_figures_kept(void **state)
{
    struct fx *f = *state;
    const char *headers[3] = {"Content-Type: application/json", NULL, NULL};
    struct it_resp r;
    json_t *first, *hist;
    char *site, *run, *etag, *hdr, *body;

    it_get(f->s, "/v1/public/impact", NULL, &r);
    it_assert_status(&r, 200);
    first = json_incref(r.json);
    it_resp_free(&r);
    site = make_site(f, f->org_a, "ME4 4QQ");
    run = it_make_run(f->s, (struct it_run){.org = f->org_a,
                                            .loc = site,
                                            .status = "completed",
                                            .ends = "2019-05-01",
                                            .started = "9"});
    it_get(f->s, "/v1/public/impact", NULL, &r);
    assert_true(json_equal(first, r.json));
    it_resp_free(&r);

    etag = it_etag_of(f->s, f->admin, "/v1/settings/history");
    it_get(f->s, "/v1/settings/history", f->admin, &r);
    hist = json_deep_copy(r.json);
    it_resp_free(&r);
    json_object_del(hist, "updated_at");
    json_object_set_new(hist, "practitioners_trained", json_integer(447));
    body = json_dumps(hist, JSON_COMPACT);
    hdr = it_fmt("If-Match: %s", etag);
    headers[1] = hdr;
    it_request(f->s, "PUT", "/v1/settings/history", f->admin, headers, body, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    it_get(f->s, "/v1/public/impact", NULL, &r);
    assert_false(json_equal(first, r.json));
    assert_int_equal(json_integer_value(at(r.json, "years.0.year")), 2019);
    assert_near(at(r.json, "years.0.families"), 9);
    assert_near(at(r.json, "before_registry.practitioners_trained"), 447);
    it_resp_free(&r);
    PQclear(it_sql(f->s, "DELETE FROM programme_run WHERE id = $1::uuid", run));
    json_decref(first);
    json_decref(hist);
    free(body);
    free(hdr);
    free(etag);
    free(run);
    free(site);
}

TEST_MAIN(setup,
          teardown,
          cmocka_unit_test(test_licensing_body),
          cmocka_unit_test(test_licensee_own_runs),
          cmocka_unit_test(test_district_filter),
          cmocka_unit_test(test_csv),
          cmocka_unit_test(test_bad_filters),
          cmocka_unit_test(test_local_authorities),
          cmocka_unit_test(test_public_impact),
          cmocka_unit_test(test_commissioner),
          cmocka_unit_test(test_settings),
          cmocka_unit_test(test_runs_limit),
          cmocka_unit_test(test_enquiries),
          cmocka_unit_test(test_every_run_from_the_cube),
          cmocka_unit_test(test_public_figures_kept),
          cmocka_unit_test(test_site_district_follows))
