/* it_reports.c: GET /v1/reports/summary and /v1/reports/expiring over HTTP against the real
 * server and PostgreSQL. Each test builds a small registry of known shape with SQL and checks
 * every figure: organisations by effective licence status (latest licence, archived left out,
 * `none`), facilitators by effective status (lapsed computed), practitioners trained per year
 * (practitioner passes only, distinct people, cancelled sessions left out), runs per year and
 * status, families reached and completed, locations by kind (active, not archived), participants
 * (adults + children) per year and the running totals per year of families reached, participants
 * and practitioners trained (a person trained again counted once); the expiring
 * list with its window edges (exactly within_days is in, one day past is out), its contacts
 * (current employer) and order; both as CSV parsed back; 401/403 and every bad parameter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"
#include "registry/password.h"

#define ADMIN_EMAIL "admin@reports.example"
#define PASSWORD    "reports-test-password-1"

struct fx {
    IT_FX_HEAD;
    int numbers; /* licence numbers used so far */
};

/* ---- Building a registry with SQL ----------------------------------------------------------- */

/* An organisation (archived when `archived`); its id goes into `id` (40 bytes). */
static void
org(struct fx *f, const char *name, int archived, char *id)
{
    char buf[40];

    IT_SQL_VALUE(
        buf, f->s,
        "INSERT INTO organisation (name, kind, address_lines, town, postcode, email, phone,"
        " archived_at)"
        " VALUES ($1, 'charity', '[\"1 Test Street\"]', 'Chatham', 'ME4 4AB',"
        " lower(replace($1, ' ', '')) || '@reports.example', '01632 960001',"
        " CASE WHEN $2::boolean THEN now() END) RETURNING id",
        name, archived ? "true" : "false");
    memcpy(id, buf, sizeof(buf));
}

/* A licence of `org_id`, stored as `status`, valid from today+from_days to today+until_days,
 * created `age_days` ago. Its id goes into `id` (40 bytes). */
static void
licence(struct fx *f,
        const char *org_id,
        const char *status,
        int from_days,
        int until_days,
        int age_days,
        char *id)
{
    char number[32], from[16], until[16], age[16], buf[40];

    snprintf(number, sizeof(number), "MPL-2020-%04d", ++f->numbers);
    snprintf(from, sizeof(from), "%d", from_days);
    snprintf(until, sizeof(until), "%d", until_days);
    snprintf(age, sizeof(age), "%d", age_days);
    IT_SQL_VALUE(
        buf, f->s,
        "INSERT INTO licence (organisation_id, number, status, valid_from, valid_until,"
        " created_at)"
        " VALUES ($1::uuid, $2, $3, registry_today() + $4::int, registry_today() + $5::int,"
        " now() - make_interval(days => $6::int)) RETURNING id",
        org_id, number, status, from, until, age);
    memcpy(id, buf, sizeof(buf));
}

/* A facilitator stored as `status`, accredited until today+until_days (no date when
 * `until_days` is NULL). Its id goes into `id` (40 bytes). */
static void
facilitator(struct fx *f, const char *name, const char *status, const char *until_days, char *id)
{
    char buf[40];

    IT_SQL_VALUE(buf, f->s,
                 "INSERT INTO facilitator (given_name, family_name, status, accredited_on,"
                 " accredited_until)"
                 " VALUES ($1, 'Tester', $2,"
                 " CASE WHEN $3::int IS NOT NULL THEN registry_today() - 1000 END,"
                 " registry_today() + $3::int) RETURNING id",
                 name, status, until_days);
    memcpy(id, buf, sizeof(buf));
}

/* Employment of `fac` by `org_id` from today+from_days, ended at today+to_days (NULL: current). */
static void
employ(
    struct fx *f, const char *fac, const char *org_id, const char *from_days, const char *to_days)
{
    PQclear(
        it_sql(f->s,
               "INSERT INTO facilitator_employment (facilitator_id, organisation_id, started_on,"
               " ended_on) VALUES ($1::uuid, $2::uuid, registry_today() + $3::int,"
               " registry_today() + $4::int)",
               fac, org_id, from_days, to_days));
}

/* A location of `org_id`; `active` and `archived` as given. */
static void
location(struct fx *f, const char *org_id, const char *kind, int active, int archived, char *id)
{
    char buf[40];

    IT_SQL_VALUE(buf, f->s,
                 "INSERT INTO location (organisation_id, name, kind, address_lines, town, postcode,"
                 " active, archived_at)"
                 " VALUES ($1::uuid, 'Site ' || $2, $2, '[\"2 Test Road\"]', 'Chatham', 'ME4 4AB',"
                 " $3::boolean, CASE WHEN $4::boolean THEN now() END) RETURNING id",
                 org_id, kind, active ? "true" : "false", archived ? "true" : "false");
    memcpy(id, buf, sizeof(buf));
}

/* A training session of course `course` ending on `ends_on`, with `status`. */
static void
session(struct fx *f, const char *course, const char *ends_on, const char *status, char *id)
{
    char buf[40];

    IT_SQL_VALUE(
        buf, f->s,
        "INSERT INTO training_session (course_id, starts_on, ends_on, venue, capacity, status)"
        " VALUES ($1::uuid, $2::date - 3, $2::date, 'Training room', 20, $3) RETURNING id",
        course, ends_on, status);
    memcpy(id, buf, sizeof(buf));
}

static void
enrol(struct fx *f, const char *session_id, const char *fac, const char *status)
{
    PQclear(it_sql(f->s,
                   "INSERT INTO enrolment (session_id, facilitator_id, status)"
                   " VALUES ($1::uuid, $2::uuid, $3)",
                   session_id, fac, status));
}

/* ---- CSV ------------------------------------------------------------------------------------ */

static const char *
cell(json_t *rows, size_t row, size_t col)
{
    const char *v = json_string_value(json_array_get(json_array_get(rows, row), col));

    assert_non_null(v);
    return v;
}

/* ---- Fixture -------------------------------------------------------------------------------- */

static int
group_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->s = it_start("reports");
    *state = f;
    return 0;
}

/* Each test starts from an empty registry on the one server: everything a test builds goes
 * (app_user with it, by CASCADE), the admin is made again and licence numbers start again. */
static int
setup(void **state)
{
    struct fx *f = *state;

    PQclear(it_sql(f->s, "TRUNCATE organisation, facilitator, course, audit_event CASCADE"));
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM app_user"), 0);
    f->numbers = 0;
    f->admin = it_admin(f->s, ADMIN_EMAIL, PASSWORD, NULL, 0, NULL, 0);
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    free(f->admin);
    f->admin = NULL;
    return 0;
}

/* Fails unless the response body (JSON) equals `want` (JSON text). */
static void
assert_json_equal(const struct it_resp *r, const char *want)
{
    json_error_t err;
    json_t *w = json_loads(want, 0, &err);

    if (w == NULL) {
        fail_msg("bad expected JSON: %s", err.text);
    }
    if (r->json == NULL || !json_equal(r->json, w)) {
        char *got = r->json != NULL ? json_dumps(r->json, JSON_SORT_KEYS) : NULL;
        char *exp = json_dumps(w, JSON_SORT_KEYS);
        fprintf(stderr, "want: %s\ngot:  %s\n", exp, got != NULL ? got : r->body);
        free(got);
        free(exp);
        json_decref(w);
        fail_msg("the report differs from the expected one");
    }
    json_decref(w);
}

/* ---- Summary -------------------------------------------------------------------------------- */

static void
test_summary_empty(void **state)
{
    struct fx *f = *state;
    struct it_resp r;

    it_get(f->s, "/v1/reports/summary", f->admin, &r);
    it_assert_status(&r, 200);
    it_assert_header(&r, "Content-Type", "application/json");
    assert_json_equal(
        &r,
        "{\"organisations\": [{\"licence_status\": \"active\", \"count\": 0},"
        "  {\"licence_status\": \"pending\", \"count\": 0},"
        "  {\"licence_status\": \"suspended\", \"count\": 0},"
        "  {\"licence_status\": \"expired\", \"count\": 0},"
        "  {\"licence_status\": \"revoked\", \"count\": 0},"
        "  {\"licence_status\": \"none\", \"count\": 0}],"
        " \"facilitators\": [{\"status\": \"in_training\", \"count\": 0},"
        "  {\"status\": \"accredited\", \"count\": 0}, {\"status\": \"lapsed\", \"count\": 0},"
        "  {\"status\": \"suspended\", \"count\": 0}, {\"status\": \"withdrawn\", \"count\": 0}],"
        " \"practitioners_trained\": [], \"programme_runs\": [], \"families_reached\": [],"
        " \"families_completed\": [],"
        " \"locations\": [{\"kind\": \"community\", \"count\": 0},"
        "  {\"kind\": \"family_centre\", \"count\": 0}, {\"kind\": \"school\", \"count\": 0},"
        "  {\"kind\": \"prison\", \"count\": 0}, {\"kind\": \"health\", \"count\": 0},"
        "  {\"kind\": \"other\", \"count\": 0}], \"participants\": [], \"cumulative\": []}");
    it_resp_free(&r);
}

/* The registry of test_summary_counts, and what the summary must say about it. */
static void
build_summary_registry(struct fx *f)
{
    char a[40], b[40], c[40], d[40], e[40], g[40], h[40], j[40], arch[40], lic[40];
    char f1[40], f2[40], f3[40], f4[40], f5[40], f6[40], spare[40];
    char prac[40], refr[40], s1[40], s2[40], s3[40], s4[40], s5[40], s6[40], loc[40];
    /* Programme runs of A at `loc` starting on `starts` with `status` and figures (NULL: not
     * recorded), 70 days long. */
    static const struct {
        const char *starts, *status, *started, *completed;
    } runs[] = {
        {"2025-03-01", "completed", "5", "4"},   {"2025-12-20", "completed", "7", "6"},
        {"2025-06-01", "cancelled", NULL, NULL}, {"2026-09-01", "planned", NULL, NULL},
        {"2026-01-05", "completed", "3", NULL},
    };
    size_t i;

    /* Organisations: active 2 (A, and H whose latest licence is active), pending 1, suspended 1,
     * expired 2 (D stored active and J stored suspended, both past valid_until), revoked 1,
     * none 1 (G); the archived one is not counted. */
    org(f, "Org A", 0, a);
    licence(f, a, "active", -10, 100, 0, lic);
    org(f, "Org B", 0, b);
    licence(f, b, "pending", 10, 400, 0, lic);
    org(f, "Org C", 0, c);
    licence(f, c, "suspended", -100, 100, 0, lic);
    org(f, "Org D", 0, d);
    licence(f, d, "active", -400, -1, 0, lic);
    org(f, "Org E", 0, e);
    licence(f, e, "revoked", -100, 200, 0, lic);
    org(f, "Org G", 0, g);
    org(f, "Org H", 0, h);
    licence(f, h, "expired", -900, -200, 300, lic);
    licence(f, h, "active", -199, 500, 10, lic);
    org(f, "Org J", 0, j);
    licence(f, j, "suspended", -300, -5, 0, lic);
    org(f, "Org Archived", 1, arch);
    licence(f, arch, "active", -10, 100, 0, lic);

    /* Facilitators: accredited 3 (until today counts, no date counts), lapsed 1 (until
     * yesterday), in training 1, suspended 1 (past its date: still suspended), withdrawn 1. */
    facilitator(f, "One", "accredited", "10", f1);
    facilitator(f, "Two", "accredited", "0", f2);
    facilitator(f, "Three", "accredited", NULL, f3);
    facilitator(f, "Four", "accredited", "-1", f4);
    facilitator(f, "Five", "in_training", NULL, f5);
    facilitator(f, "Six", "suspended", "-30", f6);
    facilitator(f, "Seven", "withdrawn", "30", spare);

    /* Practitioners trained: 2023 has f1 and f2 (f3 failed); 2024 has f4, f5 and f6 (f4 passed
     * twice: once); 2025 has f2 again (trained since 2023: once in the running total); the
     * refresher and the cancelled session do not count. */
    IT_SQL_VALUE(prac, f->s,
                 "INSERT INTO course (code, title, kind, grants_months) VALUES ($1, 'P', $2, 36)"
                 " RETURNING id",
                 "REP-PRAC", "practitioner");
    IT_SQL_VALUE(refr, f->s,
                 "INSERT INTO course (code, title, kind, grants_months) VALUES ($1, 'R', $2, 36)"
                 " RETURNING id",
                 "REP-REFR", "refresher");
    session(f, prac, "2023-06-30", "completed", s1);
    enrol(f, s1, f1, "passed");
    enrol(f, s1, f2, "passed");
    enrol(f, s1, f3, "failed");
    session(f, prac, "2024-01-10", "completed", s2);
    enrol(f, s2, f4, "passed");
    enrol(f, s2, f5, "passed");
    enrol(f, s2, f1, "attended");
    session(f, prac, "2024-12-31", "completed", s3);
    enrol(f, s3, f4, "passed");
    enrol(f, s3, f6, "passed");
    session(f, refr, "2024-02-01", "completed", s4);
    enrol(f, s4, f1, "passed");
    enrol(f, s4, f2, "passed");
    session(f, prac, "2024-05-01", "cancelled", s5);
    enrol(f, s5, f3, "passed");
    session(f, prac, "2025-04-01", "completed", s6);
    enrol(f, s6, f2, "passed");

    /* Locations: community 2 (one inactive and one archived left out), school 1, prison 1,
     * other 1. */
    location(f, a, "community", 1, 0, loc);
    location(f, a, "community", 0, 0, spare);
    location(f, a, "community", 1, 1, spare);
    location(f, b, "community", 1, 0, spare);
    location(f, b, "school", 1, 0, spare);
    location(f, c, "prison", 1, 0, spare);
    location(f, c, "other", 1, 0, spare);

    /* Runs: 2025 completed 2 and cancelled 1; 2026 planned 1 and completed 1 (the 2026 one
     * recorded families started but not completed). The year is that of starts_on. */
    for (i = 0; i < IT_LEN(runs); i++) {
        free(it_make_run(f->s, (struct it_run){.org = a,
                                               .loc = loc,
                                               .starts = runs[i].starts,
                                               .status = runs[i].status,
                                               .started = runs[i].started,
                                               .completed = runs[i].completed}));
    }
    /* Participants: 2025 6 + 8 and 9 (children not recorded), 23; 2026 4 (adults not recorded);
     * the cancelled and planned runs recorded none. Running totals to the end of 2023, 2024,
     * 2025, 2026: families reached 0, 0, 12, 15; participants 0, 0, 23, 27; practitioners trained
     * 2, 5, 5, 5. */
    PQclear(it_sql(f->s, "UPDATE programme_run SET adults = 6, children = 8"
                         " WHERE starts_on = DATE '2025-03-01'"));
    PQclear(
        it_sql(f->s, "UPDATE programme_run SET adults = 9 WHERE starts_on = DATE '2025-12-20'"));
    PQclear(
        it_sql(f->s, "UPDATE programme_run SET children = 4 WHERE starts_on = DATE '2026-01-05'"));
}

static void
test_summary_counts(void **state)
{
    static const char *const want_csv[][3] = {
        {"section", "key", "count"},
        {"organisations", "active", "2"},
        {"organisations", "pending", "1"},
        {"organisations", "suspended", "1"},
        {"organisations", "expired", "2"},
        {"organisations", "revoked", "1"},
        {"organisations", "none", "1"},
        {"facilitators", "in_training", "1"},
        {"facilitators", "accredited", "3"},
        {"facilitators", "lapsed", "1"},
        {"facilitators", "suspended", "1"},
        {"facilitators", "withdrawn", "1"},
        {"practitioners_trained", "2023", "2"},
        {"practitioners_trained", "2024", "3"},
        {"practitioners_trained", "2025", "1"},
        {"programme_runs", "2025/completed", "2"},
        {"programme_runs", "2025/cancelled", "1"},
        {"programme_runs", "2026/planned", "1"},
        {"programme_runs", "2026/completed", "1"},
        {"families_reached", "2025", "12"},
        {"families_reached", "2026", "3"},
        {"families_completed", "2025", "10"},
        {"locations", "community", "2"},
        {"locations", "family_centre", "0"},
        {"locations", "school", "1"},
        {"locations", "prison", "1"},
        {"locations", "health", "0"},
        {"locations", "other", "1"},
        {"participants", "2025", "23"},
        {"participants", "2026", "4"},
        {"cumulative", "2023/families_reached", "0"},
        {"cumulative", "2023/participants", "0"},
        {"cumulative", "2023/practitioners_trained", "2"},
        {"cumulative", "2024/families_reached", "0"},
        {"cumulative", "2024/participants", "0"},
        {"cumulative", "2024/practitioners_trained", "5"},
        {"cumulative", "2025/families_reached", "12"},
        {"cumulative", "2025/participants", "23"},
        {"cumulative", "2025/practitioners_trained", "5"},
        {"cumulative", "2026/families_reached", "15"},
        {"cumulative", "2026/participants", "27"},
        {"cumulative", "2026/practitioners_trained", "5"},
    };
    struct fx *f = *state;
    struct it_resp r;
    json_t *rows;
    size_t i, k;

    build_summary_registry(f);
    it_get(f->s, "/v1/reports/summary", f->admin, &r);
    it_assert_status(&r, 200);
    assert_json_equal(
        &r,
        "{\"organisations\": [{\"licence_status\": \"active\", \"count\": 2},"
        "  {\"licence_status\": \"pending\", \"count\": 1},"
        "  {\"licence_status\": \"suspended\", \"count\": 1},"
        "  {\"licence_status\": \"expired\", \"count\": 2},"
        "  {\"licence_status\": \"revoked\", \"count\": 1},"
        "  {\"licence_status\": \"none\", \"count\": 1}],"
        " \"facilitators\": [{\"status\": \"in_training\", \"count\": 1},"
        "  {\"status\": \"accredited\", \"count\": 3}, {\"status\": \"lapsed\", \"count\": 1},"
        "  {\"status\": \"suspended\", \"count\": 1}, {\"status\": \"withdrawn\", \"count\": 1}],"
        " \"practitioners_trained\": [{\"year\": 2023, \"count\": 2},"
        "  {\"year\": 2024, \"count\": 3}, {\"year\": 2025, \"count\": 1}],"
        " \"programme_runs\": [{\"year\": 2025, \"status\": \"completed\", \"count\": 2},"
        "  {\"year\": 2025, \"status\": \"cancelled\", \"count\": 1},"
        "  {\"year\": 2026, \"status\": \"planned\", \"count\": 1},"
        "  {\"year\": 2026, \"status\": \"completed\", \"count\": 1}],"
        " \"families_reached\": [{\"year\": 2025, \"count\": 12},"
        "  {\"year\": 2026, \"count\": 3}],"
        " \"families_completed\": [{\"year\": 2025, \"count\": 10}],"
        " \"locations\": [{\"kind\": \"community\", \"count\": 2},"
        "  {\"kind\": \"family_centre\", \"count\": 0}, {\"kind\": \"school\", \"count\": 1},"
        "  {\"kind\": \"prison\", \"count\": 1}, {\"kind\": \"health\", \"count\": 0},"
        "  {\"kind\": \"other\", \"count\": 1}],"
        " \"participants\": [{\"year\": 2025, \"count\": 23}, {\"year\": 2026, \"count\": 4}],"
        " \"cumulative\": ["
        "  {\"year\": 2023, \"figure\": \"families_reached\", \"count\": 0},"
        "  {\"year\": 2023, \"figure\": \"participants\", \"count\": 0},"
        "  {\"year\": 2023, \"figure\": \"practitioners_trained\", \"count\": 2},"
        "  {\"year\": 2024, \"figure\": \"families_reached\", \"count\": 0},"
        "  {\"year\": 2024, \"figure\": \"participants\", \"count\": 0},"
        "  {\"year\": 2024, \"figure\": \"practitioners_trained\", \"count\": 5},"
        "  {\"year\": 2025, \"figure\": \"families_reached\", \"count\": 12},"
        "  {\"year\": 2025, \"figure\": \"participants\", \"count\": 23},"
        "  {\"year\": 2025, \"figure\": \"practitioners_trained\", \"count\": 5},"
        "  {\"year\": 2026, \"figure\": \"families_reached\", \"count\": 15},"
        "  {\"year\": 2026, \"figure\": \"participants\", \"count\": 27},"
        "  {\"year\": 2026, \"figure\": \"practitioners_trained\", \"count\": 5}]}");
    it_resp_free(&r);

    /* The same figures as CSV rows of section,key,count, parsed back. */
    it_get_csv(f->s, "/v1/reports/summary", f->admin, &r);
    rows = it_csv_answer(&r);
    assert_int_equal(json_array_size(rows), sizeof(want_csv) / sizeof(want_csv[0]));
    for (i = 0; i < json_array_size(rows); i++) {
        assert_int_equal(json_array_size(json_array_get(rows, i)), 3);
        for (k = 0; k < 3; k++) {
            assert_string_equal(cell(rows, i, k), want_csv[i][k]);
        }
    }
    json_decref(rows);
    it_resp_free(&r);

    /* JSON first in Accept wins over CSV. */
    {
        const char *both[] = {"Accept: application/json, text/csv", NULL};
        it_request(f->s, "GET", "/v1/reports/summary", f->admin, both, NULL, &r);
        it_assert_status(&r, 200);
        it_assert_header(&r, "Content-Type", "application/json");
        assert_non_null(json_object_get(r.json, "organisations"));
        it_resp_free(&r);
    }
}

/* ---- Expiring ------------------------------------------------------------------------------- */

/* One expected item of the expiring list. */
struct want_item {
    const char *type;
    const char *reference;
    int days_left;
    const char *org; /* organisation_name, or NULL for none */
};

static void
assert_items(json_t *items, const struct want_item *want, size_t n)
{
    size_t i;

    if (json_array_size(items) != n) {
        char *got = json_dumps(items, JSON_INDENT(1));
        fprintf(stderr, "got: %s\n", got);
        free(got);
    }
    assert_int_equal(json_array_size(items), n);
    for (i = 0; i < n; i++) {
        json_t *it = json_array_get(items, i);
        json_t *org_name = json_object_get(it, "organisation_name");

        assert_string_equal(json_string_value(json_object_get(it, "type")), want[i].type);
        assert_string_equal(json_string_value(json_object_get(it, "reference")), want[i].reference);
        assert_int_equal(json_integer_value(json_object_get(it, "days_left")), want[i].days_left);
        if (want[i].org == NULL) {
            assert_true(json_is_null(org_name));
            assert_true(json_is_null(json_object_get(it, "organisation_id")));
        } else {
            assert_string_equal(json_string_value(org_name), want[i].org);
        }
    }
}

/* GETs /v1/reports/expiring`query` as the admin; fails unless 200 with `within_days` `days` (0:
 * not checked) and the `n` items `want`. */
static void
expiring(struct fx *f, const char *query, long days, const struct want_item *want, size_t n)
{
    struct it_resp r;
    char *path = it_fmt("/v1/reports/expiring%s", query);

    it_get(f->s, path, f->admin, &r);
    it_assert_status(&r, 200);
    if (days != 0) {
        assert_int_equal(json_integer_value(json_object_get(r.json, "within_days")), days);
    }
    assert_items(json_object_get(r.json, "items"), want, n);
    it_resp_free(&r);
    free(path);
}

static void
test_expiring(void **state)
{
    struct fx *f = *state;
    char a[40], b[40], c[40], arch[40], lic[40], fac[40], today[16], *want_date;
    char fa1[40], fa2[40], fa5[40];
    struct it_resp r;
    json_t *rows, *item;
    static const struct want_item within30[] = {
        {"licence", "MPL-2020-0007", 0, "Org Today"}, {"accreditation", "MPF-900005", 3, NULL},
        {"licence", "MPL-2020-0001", 10, "Org A"},    {"accreditation", "MPF-900001", 30, "Org B"},
        {"licence", "MPL-2020-0002", 30, "Org B"},
    };
    static const struct want_item within31[] = {
        {"licence", "MPL-2020-0007", 0, "Org Today"}, {"accreditation", "MPF-900005", 3, NULL},
        {"licence", "MPL-2020-0001", 10, "Org A"},    {"accreditation", "MPF-900001", 30, "Org B"},
        {"licence", "MPL-2020-0002", 30, "Org B"},    {"accreditation", "MPF-900002", 31, "Org A"},
        {"licence", "MPL-2020-0003", 31, "Org C"},
    };
    static const struct want_item within365[] = {
        {"licence", "MPL-2020-0007", 0, "Org Today"}, {"accreditation", "MPF-900005", 3, NULL},
        {"licence", "MPL-2020-0001", 10, "Org A"},    {"accreditation", "MPF-900001", 30, "Org B"},
        {"licence", "MPL-2020-0002", 30, "Org B"},    {"accreditation", "MPF-900002", 31, "Org A"},
        {"licence", "MPL-2020-0003", 31, "Org C"},    {"accreditation", "MPF-900006", 365, "Org C"},
    };

    IT_SQL_VALUE(today, f->s, "SELECT registry_today()::text");
    org(f, "Org A", 0, a);
    org(f, "Org B", 0, b);
    org(f, "Org C", 0, c);
    /* Licences numbered MPL-2020-0001 upwards in this order. */
    licence(f, a, "active", -100, 10, 0, lic); /* 0001: in, 10 days */
    licence(f, b, "active", -100, 30, 0, lic); /* 0002: exactly 30: in at 30 */
    licence(f, c, "active", -100, 31, 0, lic); /* 0003: one day past 30 */
    {
        char d[40], e[40], g[40], t[40];
        org(f, "Org D", 0, d);
        licence(f, d, "active", -100, -1, 0, lic); /* 0004: expired yesterday: out */
        org(f, "Org E", 0, e);
        licence(f, e, "suspended", -100, 5, 0, lic); /* 0005: suspended: out */
        org(f, "Org G", 0, g);
        licence(f, g, "pending", 1, 5, 0, lic); /* 0006: pending: out */
        org(f, "Org Today", 0, t);
        licence(f, t, "active", -100, 0, 0, lic);  /* 0007: last day today: in, 0 days */
        licence(f, a, "revoked", -100, 5, 0, lic); /* 0008: revoked: out */
    }
    org(f, "Org Archived", 1, arch);
    licence(f, arch, "active", -100, 5, 0, lic); /* 0009: archived organisation: out */
    {
        char far[40];
        org(f, "Org F", 0, far);
        licence(f, far, "active", -100, 366, 0, lic); /* 0010: beyond the largest window */
    }

    /* Facilitators with fixed registration numbers. */
    facilitator(f, "Fac1", "accredited", "30", fa1);
    facilitator(f, "Fac2", "accredited", "31", fa2);
    facilitator(f, "Fac3", "accredited", "-1", fac);
    PQclear(it_sql(f->s, "UPDATE facilitator SET registration_number = 'MPF-900003' WHERE id = $1",
                   fac));
    facilitator(f, "Fac4", "suspended", "5", fac);
    PQclear(it_sql(f->s, "UPDATE facilitator SET registration_number = 'MPF-900004' WHERE id = $1",
                   fac));
    employ(f, fac, a, "-100", NULL);
    facilitator(f, "Fac5", "accredited", "3", fa5);
    facilitator(f, "Fac6", "accredited", "365", fac);
    PQclear(it_sql(f->s, "UPDATE facilitator SET registration_number = 'MPF-900006' WHERE id = $1",
                   fac));
    employ(f, fac, c, "-10", NULL);
    facilitator(f, "Fac7", "in_training", NULL, fac);
    PQclear(it_sql(f->s, "UPDATE facilitator SET registration_number = 'MPF-900007' WHERE id = $1",
                   fac));
    PQclear(it_sql(f->s,
                   "UPDATE facilitator SET registration_number = 'MPF-90000' || $2"
                   " WHERE id = $1::uuid",
                   fa1, "1"));
    PQclear(it_sql(f->s,
                   "UPDATE facilitator SET registration_number = 'MPF-90000' || $2"
                   " WHERE id = $1::uuid",
                   fa2, "2"));
    PQclear(it_sql(f->s,
                   "UPDATE facilitator SET registration_number = 'MPF-90000' || $2"
                   " WHERE id = $1::uuid",
                   fa5, "5"));
    /* Fac1 worked for C, now for B: B is the one to contact. Fac2 works for A, and will move
     * to C next month (still A today). Fac5 left A: no one to contact. */
    employ(f, fa1, c, "-400", "-101");
    employ(f, fa1, b, "-100", NULL);
    employ(f, fa2, a, "-400", "29");
    employ(f, fa2, c, "30", NULL);
    employ(f, fa5, a, "-400", "-1");

    it_get(f->s, "/v1/reports/expiring?within_days=30", f->admin, &r);
    it_assert_status(&r, 200);
    it_assert_header(&r, "Content-Type", "application/json");
    assert_string_equal(it_json_str(&r, "as_of"), today);
    assert_int_equal(json_integer_value(json_object_get(r.json, "within_days")), 30);
    assert_items(json_object_get(r.json, "items"), within30,
                 sizeof(within30) / sizeof(within30[0]));
    /* Every field of one licence item and one accreditation item. */
    item = json_array_get(json_object_get(r.json, "items"), 2);
    assert_string_equal(json_string_value(json_object_get(item, "holder")), "Org A");
    assert_string_equal(json_string_value(json_object_get(item, "organisation_id")), a);
    assert_string_equal(json_string_value(json_object_get(item, "organisation_email")),
                        "orga@reports.example");
    assert_string_equal(json_string_value(json_object_get(item, "organisation_phone")),
                        "01632 960001");
    assert_int_equal(json_object_size(item), 10);
    item = json_array_get(json_object_get(r.json, "items"), 3);
    assert_string_equal(json_string_value(json_object_get(item, "id")), fa1);
    assert_string_equal(json_string_value(json_object_get(item, "holder")), "Fac1 Tester");
    assert_string_equal(json_string_value(json_object_get(item, "organisation_id")), b);
    assert_string_equal(json_string_value(json_object_get(item, "organisation_email")),
                        "orgb@reports.example");
    IT_SQL_VALUE(lic, f->s, "SELECT (registry_today() + 30)::text");
    want_date = lic;
    assert_string_equal(json_string_value(json_object_get(item, "expires_on")), want_date);
    it_resp_free(&r);

    expiring(f, "?within_days=31", 0, within31, IT_LEN(within31));
    /* The default window is 60 days; leading zeros are read as the number. */
    expiring(f, "", 60, within31, IT_LEN(within31));
    expiring(f, "?within_days=0365", 365, within365, IT_LEN(within365));
    expiring(f, "?within_days=1", 0, within30, 1);

    /* CSV: one row per item, with a type column, parsed back. */
    it_get_csv(f->s, "/v1/reports/expiring?within_days=30", f->admin, &r);
    rows = it_csv_answer(&r);
    assert_int_equal(json_array_size(rows), 1 + sizeof(within30) / sizeof(within30[0]));
    {
        static const char *const header[] = {
            "type",
            "id",
            "reference",
            "holder",
            "expires_on",
            "days_left",
            "organisation_id",
            "organisation_name",
            "organisation_email",
            "organisation_phone",
        };
        size_t i;
        char days[16];

        assert_int_equal(json_array_size(json_array_get(rows, 0)), 10);
        for (i = 0; i < 10; i++) {
            assert_string_equal(cell(rows, 0, i), header[i]);
        }
        for (i = 0; i < sizeof(within30) / sizeof(within30[0]); i++) {
            assert_int_equal(json_array_size(json_array_get(rows, i + 1)), 10);
            assert_string_equal(cell(rows, i + 1, 0), within30[i].type);
            assert_string_equal(cell(rows, i + 1, 2), within30[i].reference);
            snprintf(days, sizeof(days), "%d", within30[i].days_left);
            assert_string_equal(cell(rows, i + 1, 5), days);
            assert_string_equal(cell(rows, i + 1, 7),
                                within30[i].org != NULL ? within30[i].org : "");
        }
        assert_string_equal(cell(rows, 4, 1), fa1);
        assert_string_equal(cell(rows, 4, 3), "Fac1 Tester");
        assert_string_equal(cell(rows, 4, 4), want_date);
        assert_string_equal(cell(rows, 4, 6), b);
        assert_string_equal(cell(rows, 4, 8), "orgb@reports.example");
        assert_string_equal(cell(rows, 4, 9), "01632 960001");
    }
    json_decref(rows);
    it_resp_free(&r);
}

static void
test_expiring_empty(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    json_t *rows;

    it_get(f->s, "/v1/reports/expiring?within_days=7", f->admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "within_days")), 7);
    assert_non_null(it_json_str(&r, "as_of"));
    assert_true(json_is_array(json_object_get(r.json, "items")));
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    it_resp_free(&r);

    /* CSV: the header row alone. */
    it_get_csv(f->s, "/v1/reports/expiring", f->admin, &r);
    it_assert_status(&r, 200);
    rows = it_csv_parse(r.body);
    assert_int_equal(json_array_size(rows), 1);
    assert_string_equal(cell(rows, 0, 0), "type");
    json_decref(rows);
    it_resp_free(&r);
}

/* ---- Access and parameters ------------------------------------------------------------------ */

static void
test_access(void **state)
{
    static const char *const paths[] = {"/v1/reports/summary", "/v1/reports/expiring",
                                        "/v1/reports/expiring?within_days=30"};
    struct fx *f = *state;
    char a[40], hash[PASSWORD_HASH_MAX], *org_admin, *org_staff;
    struct it_resp r;
    size_t i;

    org(f, "Org A", 0, a);
    assert_int_equal(password_hash(PASSWORD, hash, sizeof(hash)), 0);
    PQclear(it_sql(f->s,
                   "INSERT INTO app_user (email, password_hash, role, organisation_id) VALUES"
                   " ('boss@reports.example', $1, 'org_admin', $2::uuid),"
                   " ('staff@reports.example', $1, 'org_staff', $2::uuid)",
                   hash, a));
    org_admin = it_login(f->s, "boss@reports.example", PASSWORD);
    org_staff = it_login(f->s, "staff@reports.example", PASSWORD);
    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        it_get(f->s, paths[i], org_admin, &r);
        it_assert_problem(&r, 403);
        assert_null(json_object_get(r.json, "items"));
        it_resp_free(&r);
        it_expect(f->s, "GET", paths[i], org_staff, NULL, 403);
        it_expect(f->s, "GET", paths[i], NULL, NULL, 401);
        it_expect(f->s, "GET", paths[i], "not.a.token", NULL, 401);
        it_request(f->s, "POST", paths[i], f->admin, NULL, NULL, &r);
        it_assert_problem(&r, 405);
        it_resp_free(&r);
    }
    free(org_admin);
    free(org_staff);
}

static void
test_bad_params(void **state)
{
    struct fx *f = *state;
    struct it_resp r;

    it_expect_gets(f->s, f->admin, 400, "", "/v1/reports/expiring?within_days=0",
                   "/v1/reports/expiring?within_days=366",
                   "/v1/reports/expiring?within_days=1000000000000",
                   "/v1/reports/expiring?within_days=-1", "/v1/reports/expiring?within_days=%2B5",
                   "/v1/reports/expiring?within_days=abc", "/v1/reports/expiring?within_days=1.5",
                   "/v1/reports/expiring?within_days=", "/v1/reports/expiring?within_days=%2030",
                   "/v1/reports/expiring?within_days=30&within_days=30",
                   "/v1/reports/expiring?days=30", "/v1/reports/expiring?within_days=30&limit=5",
                   "/v1/reports/summary?year=2025", "/v1/reports/summary?limit=5", NULL);
    it_get(f->s, "/v1/reports/expiring?within_days=abc", f->admin, &r);
    assert_non_null(strstr(it_json_str(&r, "detail"), "within_days"));
    it_resp_free(&r);
}

TEST_MAIN(group_setup,
          it_fx_teardown,
          TEST_EACH(test_summary_empty),
          TEST_EACH(test_summary_counts),
          TEST_EACH(test_expiring),
          TEST_EACH(test_expiring_empty),
          TEST_EACH(test_access),
          TEST_EACH(test_bad_params))
