/* it_outcomes.c: a run's before/after scores on an outcome measure (issue 15) over HTTP against
 * the real server and PostgreSQL: PUT/GET /v1/programmes/{id}/outcomes/{measure_code} and GET
 * /v1/programmes/{id}/outcomes.
 *
 * Covered: the statistics against values computed by hand (below, with the t-table values they
 * use): n, means, mean change, its standard deviation, the 95 % interval, the p-value, d_z and
 * improved/change, for n = 5, n = 2, n = 1 (means only), zero variance (no d_z) and a measure
 * where lower is better; the sums of two runs adding up to those of all their pairs; every rule
 * (422 naming the rule, nothing written), 404s, If-Match, who may read and write; and that no
 * submitted score is kept: every column of every table of the public schema, the server's log and
 * the audit row are searched for the submitted values.
 *
 * Runs are made with SQL, with the delivery figures (adults, children, families_started) the
 * plausibility rule reads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"

#define ADMIN_EMAIL "admin@outcomes.example"
#define PASSWORD    "outcomes-test-password-1"
#define NO_SUCH_ID  "00000000-0000-4000-8000-000000000000"

struct run {
    char id[40];
};

struct fx {
    IT_FX_HEAD;
    IT_FX_AB_SITES;
    int n;
};

/* ---- Helpers ------------------------------------------------------------------------------- */

/* A run of organisation A (or B, `org_b`) made with SQL, `status`, with `adults`, `children` and
 * `started` families (NULL: not recorded). */
static struct run
make_run_of(struct fx *f,
            int org_b,
            const char *status,
            const char *adults,
            const char *children,
            const char *started)
{
    struct run r;
    char *id = it_make_run(f->s, (struct it_run){.org = org_b ? f->org_b : f->org_a,
                                                 .loc = org_b ? f->loc_b : f->loc_a,
                                                 .status = status,
                                                 .starts = "-30",
                                                 .ends = "30",
                                                 .adults = adults,
                                                 .children = children,
                                                 .started = started});

    snprintf(r.id, sizeof(r.id), "%s", id);
    free(id);
    return r;
}

static struct run
make_run(struct fx *f, const char *adults, const char *children, const char *started)
{
    return make_run_of(f, 0, "running", adults, children, started);
}

/* An outcome of a run, for it_putf: PUT it with the pairs of a measure. */
#define OUTCOME "/v1/programmes/%s/outcomes/%s"

/* As it_putf of OUTCOME as organisation A's admin, failing unless the answer is 200. */
static void
put_ok(struct fx *f, const char *run, const char *code, const char *body, struct it_resp *r)
{
    it_putf(f->s, f->a_admin, NULL, body, r, OUTCOME, run, code);
    it_assert_status(r, 200);
}

static double
num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_number(v)) {
        fail_msg("%s is not a number", key);
    }
    return json_number_value(v);
}

#define assert_near(got, want, tol)                                                                \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (!(fabs(g_ - w_) <= (tol))) {                                                           \
            fail_msg("%s = %.9g, want %.9g (within %g)", #got, g_, w_, (double)(tol));             \
        }                                                                                          \
    } while (0)

/* What run `run` holds, all measures: n and the sums, as text. */
static char *
stored(struct fx *f, const char *run)
{
    return it_sql_text(f->s,
                       "SELECT coalesce(string_agg(m.code || ':' || o.n || ':' || o.sum_pre || ':'"
                       " || o.sum_post || ':' || o.sum_d || ':' || o.sum_d2 || ':' || o.version,"
                       " ',' ORDER BY m.code), '') FROM programme_outcome o JOIN outcome_measure m"
                       " ON m.id = o.measure_id WHERE o.run_id = $1::uuid",
                       run);
}

/* PUTs `body` to `code` of `run` as A's admin and fails unless the answer is a 422 with only
 * `rule` on `field` and the run's statistics are unchanged. */
static void
refused(struct fx *f,
        const char *run,
        const char *code,
        const char *body,
        const char *field,
        const char *rule)
{
    struct it_resp r;
    char *before = stored(f, run), *after;

    it_putf(f->s, f->a_admin, NULL, body, &r, OUTCOME, run, code);
    if (rule != NULL) {
        it_assert_only_rule(&r, field, rule);
    } else {
        it_assert_field_error(&r, field);
    }
    it_resp_free(&r);
    after = stored(f, run);
    assert_string_equal(after, before);
    free(after);
    free(before);
}

/* ---- Fixture ------------------------------------------------------------------------------- */

static void
make_org(struct fx *f, char org[40], char loc[40])
{
    char *id = it_create_org(f->s, f->admin, NULL, NULL, "Outcomes Org %d", ++f->n);
    char buf[40];

    snprintf(org, 40, "%s", id);
    free(id);
    /* A licence, for its API clients' tokens. */
    free(it_issue_licence(f->s, f->admin, org, "2024-01-01", "2099-12-31", "granted", "active",
                          NULL));
    IT_SQL_VALUE(buf, f->s,
                 "INSERT INTO location (organisation_id, name, kind, address_lines, town,"
                 " postcode) VALUES ($1::uuid, 'Outcomes site', 'family_centre',"
                 " '[\"3 Mill Lane\"]', 'Maidstone', 'ME14 1AA') RETURNING id::text",
                 org);
    memcpy(loc, buf, sizeof(buf));
}

static int
group_setup(void **state)
{
    struct fx *f = it_fx_start(sizeof(*f), "outcomes", NULL, ADMIN_EMAIL, PASSWORD, IT_FX_HASH);

    make_org(f, f->org_a, f->loc_a);
    make_org(f, f->org_b, f->loc_b);
    IT_FX_AB_USERS(f);
    *state = f;
    return 0;
}

/* ---- The statistics ------------------------------------------------------------------------ */

/* parental_wellbeing (adult, 14 to 70, higher is better), five pairs with changes d = 1..5:
 *   before 20 each, after 21..25: n = 5, mean before 20, after 23, mean change 15 / 5 = 3;
 *   sums: pre 100, post 115, d 15, d2 = 1 + 4 + 9 + 16 + 25 = 55;
 *   squared deviations: 55 - 15^2 / 5 = 10, sd = sqrt(10 / 4) = 1.58113883;
 *   se = sd / sqrt(5) = 0.70710678; t = 3 / se = 4.24264069 on df = 4;
 *   t-table t(0.975, 4) = 2.776, half-width 2.776 * 0.70710678 = 1.9629 (exactly 1.963243):
 *   ci95 = [1.0368, 4.9632];
 *   p-value: for df = 4, P(T <= t) = 1/2 + (3/8) x (1 - t^2 / (12 (1 + t^2 / 4))) with
 *   x = t / sqrt(1 + t^2 / 4) = 4.24264069 / sqrt(5.5) = 1.80906807, so
 *   P = 1/2 + 0.375 * 1.80906807 * (1 - 18 / 66) = 0.99338220 and p = 2 (1 - P) = 0.0132356
 *   (between the table's two-sided 0.02 at t = 3.747 and 0.01 at t = 4.604);
 *   d_z = 3 / 1.58113883 = 1.89736660; improved (a rise, higher is better), significant. */
static void
test_statistics_n5(void **state)
{
    struct fx *f = *state;
    struct run run = make_run(f, "6", "7", "5");
    struct it_resp r, g;
    json_t *ci, *sums;
    char *path;

    put_ok(f, run.id, "parental_wellbeing",
           "{\"pairs\": [[20, 21], [20, 22], [20, 23], [20, 24], [20, 25]], \"pre_only\": 1,"
           " \"post_only\": 0}",
           &r);
    assert_non_null(it_header(&r, "ETag"));
    assert_string_equal(it_json_str(&r, "measure_code"), "parental_wellbeing");
    assert_int_equal(json_integer_value(json_object_get(r.json, "n")), 5);
    assert_int_equal(json_integer_value(json_object_get(r.json, "pre_only")), 1);
    assert_int_equal(json_integer_value(json_object_get(r.json, "post_only")), 0);
    assert_near(num(r.json, "mean_before"), 20.0, 1e-9);
    assert_near(num(r.json, "mean_after"), 23.0, 1e-9);
    assert_near(num(r.json, "mean_change"), 3.0, 1e-9);
    assert_near(num(r.json, "sd_change"), 1.58113883, 1e-6);
    ci = json_object_get(r.json, "ci95");
    assert_int_equal(json_array_size(ci), 2);
    assert_near(json_number_value(json_array_get(ci, 0)), 1.0368, 1e-3);
    assert_near(json_number_value(json_array_get(ci, 1)), 4.9632, 1e-3);
    assert_near(num(r.json, "p_value"), 0.0132356, 1e-5);
    assert_true(num(r.json, "p_value") > 0.01 && num(r.json, "p_value") < 0.02);
    assert_near(num(r.json, "effect_size_dz"), 1.89736660, 1e-6);
    assert_true(json_is_true(json_object_get(r.json, "improved")));
    assert_string_equal(it_json_str(&r, "change"), "improved");
    assert_true(json_is_true(json_object_get(r.json, "significant")));
    sums = json_object_get(r.json, "sums");
    assert_int_equal(json_integer_value(json_object_get(sums, "n")), 5);
    assert_near(num(sums, "pre"), 100.0, 1e-9);
    assert_near(num(sums, "post"), 115.0, 1e-9);
    assert_near(num(sums, "d"), 15.0, 1e-9);
    assert_near(num(sums, "d2"), 55.0, 1e-9);

    /* GET answers the same, with the same ETag. */
    path = it_fmt("/v1/programmes/%s/outcomes/parental_wellbeing", run.id);
    it_get(f->s, path, f->a_staff, &g);
    it_assert_status(&g, 200);
    assert_string_equal(it_header(&g, "ETag"), it_header(&r, "ETag"));
    assert_near(num(g.json, "mean_change"), 3.0, 1e-9);
    assert_near(num(g.json, "p_value"), 0.0132356, 1e-5);
    assert_near(json_number_value(json_array_get(json_object_get(g.json, "ci95"), 1)), 4.9632,
                1e-3);
    it_resp_free(&g);
    it_resp_free(&r);
    /* Stored: the sums only, and one audit row with n. */
    it_assert_row(f->s, IT_ROW("5", "100", "115", "15", "55", "1", "0"),
                  "SELECT n, sum_pre, sum_post, sum_d, sum_d2, pre_only, post_only"
                  " FROM programme_outcome WHERE run_id = $1::uuid",
                  run.id);
    it_assert_row(f->s, IT_ROW("create", "5", "parental_wellbeing"),
                  "SELECT action, after->>'n', after->>'measure_code' FROM audit_event"
                  " WHERE resource_type = 'programme_outcome' AND resource_id = $1",
                  run.id);

    /* A second PUT replaces the first (it does not add to it), audited as an update. */
    put_ok(f, run.id, "parental_wellbeing", "{\"pairs\": [[30, 31], [30, 33]]}", &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "n")), 2);
    assert_int_equal(json_integer_value(json_object_get(r.json, "pre_only")), 0);
    it_resp_free(&r);
    it_assert_row(f->s, IT_ROW("2", "60", "64", "2"),
                  "SELECT n, sum_pre, sum_post, version FROM programme_outcome"
                  " WHERE run_id = $1::uuid",
                  run.id);
    it_assert_row(f->s, IT_ROW("5", "2"),
                  "SELECT before->>'n', after->>'n' FROM audit_event WHERE resource_type ="
                  " 'programme_outcome' AND resource_id = $1 AND action = 'update'",
                  run.id);

    /* The list has each measure recorded. */
    put_ok(f, run.id, "coping_efficacy", "{\"pairs\": [[2, 3], [3, 4]]}", &r);
    it_resp_free(&r);
    it_getf(f->s, f->a_admin, &r, "/v1/programmes/%s/outcomes", run.id);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 2);
    assert_true(it_json_has(json_object_get(r.json, "items"), "measure_code", "coping_efficacy"));
    assert_true(
        it_json_has(json_object_get(r.json, "items"), "measure_code", "parental_wellbeing"));
    it_resp_free(&r);
    free(path);
}

/* n = 2, changes d = {1, 3} on coping_efficacy (adult, 1 to 5): mean change 2, squared
 * deviations 10 - 16 / 2 = 2, sd = sqrt(2) = 1.41421356, se = 1, t = 2 on df = 1;
 * t-table t(0.975, 1) = 12.706: ci95 = [-10.706, 14.706]; df = 1 is Cauchy:
 * p = 1 - (2 / pi) atan(2) = 0.29516724; d_z = 2 / 1.41421356 = 1.41421356; improved but not
 * significant. */
static void
test_statistics_n2(void **state)
{
    struct fx *f = *state;
    struct run run = make_run(f, "2", "2", "2");
    struct it_resp r;
    json_t *ci;

    put_ok(f, run.id, "coping_efficacy", "{\"pairs\": [[1, 2], [2, 5]]}", &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "n")), 2);
    assert_near(num(r.json, "mean_before"), 1.5, 1e-9);
    assert_near(num(r.json, "mean_after"), 3.5, 1e-9);
    assert_near(num(r.json, "mean_change"), 2.0, 1e-9);
    assert_near(num(r.json, "sd_change"), 1.41421356, 1e-6);
    ci = json_object_get(r.json, "ci95");
    assert_near(json_number_value(json_array_get(ci, 0)), -10.706, 1e-3);
    assert_near(json_number_value(json_array_get(ci, 1)), 14.706, 1e-3);
    assert_near(num(r.json, "p_value"), 0.29516724, 1e-6);
    assert_near(num(r.json, "effect_size_dz"), 1.41421356, 1e-6);
    assert_true(json_is_true(json_object_get(r.json, "improved")));
    assert_true(json_is_false(json_object_get(r.json, "significant")));
    it_resp_free(&r);
}

/* n = 1 is refused: one pair's sums would be that person's own scores (rule single_pair), and
 * nothing is written. */
static void
test_statistics_n1(void **state)
{
    struct fx *f = *state;
    struct run run = make_run(f, "1", "1", "1");
    struct it_resp r;

    refused(f, run.id, "parental_wellbeing", "{\"pairs\": [[30, 35]]}", "pairs", "single_pair");
    /* n = 0 (every answer unpaired): no means at all. */
    put_ok(f, run.id, "parental_wellbeing", "{\"pairs\": [], \"pre_only\": 1}", &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "n")), 0);
    assert_int_equal(json_integer_value(json_object_get(r.json, "pre_only")), 1);
    assert_null(json_object_get(r.json, "mean_before"));
    assert_null(json_object_get(r.json, "mean_change"));
    assert_null(json_object_get(r.json, "ci95"));
    it_resp_free(&r);
}

/* Zero variance: every change 2 (20 -> 22, 30 -> 32, 40 -> 42): sd 0, the interval [2, 2], no
 * d_z; p is 0 (every family moved the same way). No change at all: unchanged, p 1. */
static void
test_zero_variance(void **state)
{
    struct fx *f = *state;
    struct run run = make_run(f, "3", "3", "3");
    struct it_resp r;
    json_t *ci;

    put_ok(f, run.id, "parental_wellbeing", "{\"pairs\": [[20, 22], [30, 32], [40, 42]]}", &r);
    assert_near(num(r.json, "mean_change"), 2.0, 1e-9);
    assert_near(num(r.json, "sd_change"), 0.0, 1e-9);
    ci = json_object_get(r.json, "ci95");
    assert_near(json_number_value(json_array_get(ci, 0)), 2.0, 1e-9);
    assert_near(json_number_value(json_array_get(ci, 1)), 2.0, 1e-9);
    assert_near(num(r.json, "p_value"), 0.0, 1e-12);
    assert_null(json_object_get(r.json, "effect_size_dz"));
    assert_string_equal(it_json_str(&r, "change"), "improved");
    it_resp_free(&r);
    put_ok(f, run.id, "parental_wellbeing", "{\"pairs\": [[20, 20], [30, 30]]}", &r);
    assert_near(num(r.json, "mean_change"), 0.0, 1e-12);
    assert_string_equal(it_json_str(&r, "change"), "unchanged");
    assert_true(json_is_false(json_object_get(r.json, "improved")));
    assert_near(num(r.json, "p_value"), 1.0, 1e-12);
    assert_null(json_object_get(r.json, "effect_size_dz"));
    it_resp_free(&r);
}

/* problem_severity (adult, 0 to 10, lower is better): a fall 8 -> 5, 6 -> 4 (mean change -2.5)
 * is an improvement; a rise 3 -> 6, 4 -> 5 (mean change +2) is not. */
static void
test_lower_is_better(void **state)
{
    struct fx *f = *state;
    struct run run = make_run(f, "2", "2", "2");
    struct it_resp r;

    put_ok(f, run.id, "problem_severity", "{\"pairs\": [[8, 5], [6, 4]]}", &r);
    assert_near(num(r.json, "mean_change"), -2.5, 1e-9);
    assert_true(json_is_true(json_object_get(r.json, "improved")));
    assert_string_equal(it_json_str(&r, "change"), "improved");
    assert_true(json_is_false(json_object_get(r.json, "higher_is_better")));
    it_resp_free(&r);
    put_ok(f, run.id, "problem_severity", "{\"pairs\": [[3, 6], [4, 5]]}", &r);
    assert_near(num(r.json, "mean_change"), 2.0, 1e-9);
    assert_true(json_is_false(json_object_get(r.json, "improved")));
    assert_string_equal(it_json_str(&r, "change"), "worsened");
    it_resp_free(&r);
    /* The same rise where higher is better is an improvement. */
    put_ok(f, run.id, "coping_efficacy", "{\"pairs\": [[3, 5], [4, 5]]}", &r);
    assert_string_equal(it_json_str(&r, "change"), "improved");
    it_resp_free(&r);
}

/* ---- Combination across runs --------------------------------------------------------------- */

/* Run X: (20, 24), (30, 31), (25, 25): pre 75, post 80, d {4, 1, 0}: d 5, d2 17.
 * Run Y: (40, 37), (18, 26): pre 58, post 63, d {-3, 8}: d 5, d2 73.
 * All five, run Z: n 5, pre 133, post 143, d 10, d2 90, which X's and Y's sums add up to; from
 * them: mean change 2, squared deviations 90 - 100 / 5 = 70, sd = sqrt(70 / 4) = 4.18330013. */
static void
test_combination(void **state)
{
    struct fx *f = *state;
    struct run x = make_run(f, "3", "3", "3"), y = make_run(f, "2", "2", "2");
    struct run z = make_run(f, "5", "5", "5");
    struct it_resp rx, ry, rz;
    json_t *sx, *sy, *sz;
    static const char *const keys[] = {"pre", "post", "d", "d2"};
    static const double want[] = {133, 143, 10, 90};
    size_t i;

    put_ok(f, x.id, "parental_wellbeing", "{\"pairs\": [[20, 24], [30, 31], [25, 25]]}", &rx);
    put_ok(f, y.id, "parental_wellbeing", "{\"pairs\": [[40, 37], [18, 26]]}", &ry);
    put_ok(f, z.id, "parental_wellbeing",
           "{\"pairs\": [[20, 24], [30, 31], [25, 25], [40, 37], [18, 26]]}", &rz);
    sx = json_object_get(rx.json, "sums");
    sy = json_object_get(ry.json, "sums");
    sz = json_object_get(rz.json, "sums");
    assert_near(num(sx, "pre"), 75, 1e-9);
    assert_near(num(sx, "d2"), 17, 1e-9);
    assert_near(num(sy, "post"), 63, 1e-9);
    assert_near(num(sy, "d2"), 73, 1e-9);
    assert_int_equal(json_integer_value(json_object_get(sx, "n"))
                         + json_integer_value(json_object_get(sy, "n")),
                     5);
    assert_int_equal(json_integer_value(json_object_get(sz, "n")), 5);
    for (i = 0; i < IT_LEN(keys); i++) {
        assert_near(num(sx, keys[i]) + num(sy, keys[i]), want[i], 1e-9);
        assert_near(num(sz, keys[i]), want[i], 1e-9);
    }
    assert_near(num(rz.json, "mean_change"), 2.0, 1e-9);
    assert_near(num(rz.json, "sd_change"), 4.18330013, 1e-6);
    /* The combined sums give the combined summary (the mean change of all five). */
    assert_near((num(sx, "d") + num(sy, "d")) / 5.0, num(rz.json, "mean_change"), 1e-12);
    it_resp_free(&rx);
    it_resp_free(&ry);
    it_resp_free(&rz);
    /* In the table too. */
    it_assert_row(f->s, IT_ROW("5", "133", "143", "10", "90"),
                  "SELECT sum(n), sum(sum_pre), sum(sum_post), sum(sum_d), sum(sum_d2)"
                  " FROM programme_outcome WHERE run_id IN ($1::uuid, $2::uuid)",
                  x.id, y.id);
}

/* ---- Rules --------------------------------------------------------------------------------- */

static void
test_rules(void **state)
{
    struct fx *f = *state;
    struct run run = make_run(f, "2", "3", "2"), unknown = make_run(f, NULL, NULL, NULL);
    struct run planned = make_run_of(f, 0, "planned", "2", "2", "2");
    struct run done = make_run_of(f, 0, "completed", "2", "2", "2");
    struct run b_run = make_run_of(f, 1, "running", "2", "2", "2");
    struct it_resp r;
    char *etag, *path;

    /* A first record, so that a refusal visibly leaves it alone. */
    put_ok(f, run.id, "parental_wellbeing", "{\"pairs\": [[30, 31], [30, 31]]}", &r);
    it_resp_free(&r);

    /* Scores within the scale (14 to 70): the bounds are in, beyond them not. */
    refused(f, run.id, "parental_wellbeing", "{\"pairs\": [[13, 20], [13, 20]]}", "pairs",
            "score_out_of_scale");
    refused(f, run.id, "parental_wellbeing", "{\"pairs\": [[20, 70.5], [20, 70.5]]}", "pairs",
            "score_out_of_scale");
    refused(f, run.id, "parental_wellbeing", "{\"pairs\": [[20, 30], [-1, 30]]}", "pairs",
            "score_out_of_scale");
    put_ok(f, run.id, "parental_wellbeing", "{\"pairs\": [[14, 70], [70, 14]]}", &r);
    it_resp_free(&r);

    /* Plausible numbers: at most the run's 2 adults (adult measure), counting unpaired answers;
     * the 2 families started for a family measure. */
    refused(f, run.id, "parental_wellbeing", "{\"pairs\": [[20, 21], [20, 22], [20, 23]]}", "pairs",
            "too_many_pairs");
    refused(f, run.id, "parental_wellbeing", "{\"pairs\": [[20, 21], [20, 22]], \"pre_only\": 1}",
            "pairs", "too_many_pairs");
    refused(f, run.id, "parental_wellbeing", "{\"pairs\": [[20, 21], [20, 21]], \"post_only\": 2}",
            "pairs", "too_many_pairs");
    put_ok(f, run.id, "parental_wellbeing", "{\"pairs\": [[20, 21], [20, 21]]}", &r);
    it_resp_free(&r);
    refused(f, run.id, "family_functioning", "{\"pairs\": [[2, 1], [3, 2], [2, 2]]}", "pairs",
            "too_many_pairs");
    put_ok(f, run.id, "family_functioning", "{\"pairs\": [[2, 1], [3, 2]]}", &r);
    it_resp_free(&r);

    /* A child measure counts the run's 3 children. */
    free(it_post_created(f->s, f->admin,
                         "{\"code\": \"child_voice\", \"name\": \"Child's voice (0 to 10)\","
                         " \"respondent\": \"child\", \"scale_min\": 0, \"scale_max\": 10,"
                         " \"higher_is_better\": true}",
                         NULL, "/v1/outcome-measures"));
    refused(f, run.id, "child_voice", "{\"pairs\": [[1, 2], [1, 2], [1, 2], [1, 2]]}", "pairs",
            "too_many_pairs");
    put_ok(f, run.id, "child_voice", "{\"pairs\": [[1, 2], [1, 2], [1, 2]]}", &r);
    it_resp_free(&r);
    refused(f, unknown.id, "child_voice", "{\"pairs\": [[1, 2], [1, 2]]}", "pairs",
            "respondents_unknown");

    /* A run whose delivery record has no adults yet. */
    refused(f, unknown.id, "parental_wellbeing", "{\"pairs\": [[20, 21], [20, 21]]}", "pairs",
            "respondents_unknown");
    refused(f, unknown.id, "family_functioning", "{\"pairs\": [[2, 1], [2, 1]]}", "pairs",
            "respondents_unknown");

    /* A planned run; a completed one takes scores. */
    refused(f, planned.id, "parental_wellbeing", "{\"pairs\": [[20, 21], [20, 21]]}", "status",
            "run_not_running_or_completed");
    put_ok(f, done.id, "parental_wellbeing", "{\"pairs\": [[20, 21], [20, 21]]}", &r);
    it_resp_free(&r);

    /* A retired measure takes no new scores; what a run recorded on it still reads. */
    free(it_post_created(f->s, f->admin,
                         "{\"code\": \"sleep_quality\", \"name\": \"Sleep quality (0 to 10)\","
                         " \"respondent\": \"adult\", \"scale_min\": 0, \"scale_max\": 10,"
                         " \"higher_is_better\": true}",
                         NULL, "/v1/outcome-measures"));
    put_ok(f, run.id, "sleep_quality", "{\"pairs\": [[4, 6], [4, 6]]}", &r);
    it_resp_free(&r);
    PQclear(it_sql(f->s, "UPDATE outcome_measure SET active = false WHERE code = 'sleep_quality'"));
    refused(f, run.id, "sleep_quality", "{\"pairs\": [[4, 7], [4, 7]]}", "measure_code",
            "measure_retired");
    it_getf(f->s, f->a_admin, &r, "/v1/programmes/%s/outcomes/sleep_quality", run.id);
    it_assert_status(&r, 200);
    assert_near(num(r.json, "mean_change"), 2.0, 1e-9);
    it_resp_free(&r);

    /* Malformed bodies. */
    refused(f, run.id, "parental_wellbeing", "{\"pairs\": [[20], [20]]}", "pairs",
            "pair_malformed");
    refused(f, run.id, "parental_wellbeing", "{\"pairs\": [[20, 21, 22], [20, 21, 22]]}", "pairs",
            "pair_malformed");
    refused(f, run.id, "parental_wellbeing", "{\"pairs\": [[20, \"21\"], [20, \"21\"]]}", "pairs",
            "pair_malformed");
    refused(f, run.id, "parental_wellbeing", "{\"pairs\": [20, 21]}", "pairs", "pair_malformed");
    refused(f, run.id, "parental_wellbeing", "{\"pairs\": [[20, null], [20, null]]}", "pairs",
            "pair_malformed");
    refused(f, run.id, "parental_wellbeing", "{\"pairs\": \"20,21\"}", "pairs", NULL);
    refused(f, run.id, "parental_wellbeing", "{\"pre_only\": 1}", "pairs", NULL);
    refused(f, run.id, "parental_wellbeing", "{\"pairs\": [], \"pre_only\": -1}", "pre_only", NULL);
    refused(f, run.id, "parental_wellbeing", "{\"pairs\": [], \"post_only\": 1.5}", "post_only",
            NULL);
    refused(f, run.id, "parental_wellbeing", "{\"pairs\": [], \"scores\": [1]}", "scores", NULL);
    {
        char *before = stored(f, run.id), *after;
        it_putf(f->s, f->a_admin, NULL, "[[20, 21], [20, 21]]", &r, OUTCOME, run.id,
                "parental_wellbeing");
        assert_true(r.status == 400 || r.status == 422);
        it_resp_free(&r);
        it_expectf(f->s, "PUT", f->a_admin, NULL, "{\"pairs\": [[20, 2", 400, OUTCOME, run.id,
                   "parental_wellbeing");
        after = stored(f, run.id);
        assert_string_equal(after, before);
        free(after);
        free(before);
    }

    /* 404s: an unknown measure, one the run has not recorded, an unknown run, another
     * organisation's run (nothing written to it). */
    it_expectf(f->s, "PUT", f->a_admin, NULL, "{\"pairs\": [[1, 2], [1, 2]]}", 404, OUTCOME, run.id,
               "happiness");
    it_expect(f->s, "GET", it_fx_own(f, it_fmt("/v1/programmes/%s/outcomes/happiness", run.id)),
              f->a_admin, NULL, 404);
    it_expect(f->s, "GET",
              it_fx_own(f, it_fmt("/v1/programmes/%s/outcomes/problem_severity", run.id)),
              f->a_admin, NULL, 404);
    /* A code that is not UTF-8 is a 404 before any SQL (fuzz.http found a 500). */
    it_expect(f->s, "GET", it_fx_own(f, it_fmt("/v1/programmes/%s/outcomes/%%ff", run.id)),
              f->a_admin, NULL, 404);
    /* A code of 31 characters and 61 bytes is named whole in the 404 detail. */
    {
        char code[256] = "a", *p;
        int k;
        for (k = 0; k < 30; k++) {
            strcat(code, "%C3%A9");
        }
        p = it_fmt("/v1/programmes/%s/outcomes/%s", run.id, code);
        it_get(f->s, p, f->a_admin, &r);
        it_assert_problem(&r, 404);
        assert_non_null(strstr(it_json_str(&r, "detail"), "a\xc3\xa9\xc3\xa9"));
        it_resp_free(&r);
        it_putf(f->s, f->a_admin, NULL, "{\"pairs\": []}", &r, OUTCOME, run.id, code);
        it_assert_problem(&r, 404);
        assert_non_null(strstr(it_json_str(&r, "detail"), "a\xc3\xa9\xc3\xa9"));
        it_resp_free(&r);
        free(p);
    }
    it_expectf(f->s, "PUT", f->a_admin, NULL, "{\"pairs\": [[20, 21], [20, 21]]}", 404, OUTCOME,
               NO_SUCH_ID, "parental_wellbeing");
    it_expect(f->s, "GET", "/v1/programmes/" NO_SUCH_ID "/outcomes", f->a_admin, NULL, 404);
    it_expect(f->s, "GET", "/v1/programmes/not-a-uuid/outcomes", f->a_admin, NULL, 404);
    it_expectf(f->s, "PUT", f->a_admin, NULL, "{\"pairs\": [[20, 21], [20, 21]]}", 404, OUTCOME,
               b_run.id, "parental_wellbeing");
    it_expect(f->s, "GET", it_fx_own(f, it_fmt("/v1/programmes/%s/outcomes", b_run.id)), f->a_admin,
              NULL, 404);
    assert_int_equal(
        it_count(f->s, "SELECT count(*) FROM programme_outcome WHERE run_id = $1::uuid", b_run.id),
        0);

    /* If-Match on a measure the run has no statistics for matches nothing (412, nothing
     * written): not "*" (RFC 9110), nor the text a NULL version once printed as. */
    it_expectf(f->s, "PUT", f->a_admin, "\"(null)\"", "{\"pairs\": [[2, 3], [2, 3]]}", 412, OUTCOME,
               run.id, "coping_efficacy");
    it_expectf(f->s, "PUT", f->a_admin, "*", "{\"pairs\": [[2, 3], [2, 3]]}", 412, OUTCOME, run.id,
               "coping_efficacy");
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM programme_outcome o JOIN outcome_measure m"
                              " ON m.id = o.measure_id WHERE o.run_id = $1::uuid"
                              " AND m.code = 'coping_efficacy'",
                              run.id),
                     0);
    /* If-Match, when sent, is the measure's: a stale one is refused; "*" matches a record. */
    path = it_fmt("/v1/programmes/%s/outcomes/parental_wellbeing", run.id);
    it_expectf(f->s, "PUT", f->a_admin, "*", "{\"pairs\": [[20, 24], [20, 24]]}", 200, OUTCOME,
               run.id, "parental_wellbeing");
    etag = it_etag_of(f->s, f->a_admin, "%s", path);
    it_expectf(f->s, "PUT", f->a_admin, "\"999\"", "{\"pairs\": [[20, 25], [20, 25]]}", 412,
               OUTCOME, run.id, "parental_wellbeing");
    it_expectf(f->s, "PUT", f->a_admin, etag, "{\"pairs\": [[20, 25], [20, 25]]}", 200, OUTCOME,
               run.id, "parental_wellbeing");
    it_expectf(f->s, "PUT", f->a_admin, etag, "{\"pairs\": [[20, 26], [20, 26]]}", 412, OUTCOME,
               run.id, "parental_wellbeing");
    it_assert_row(f->s, IT_ROW("2", "40", "50"),
                  "SELECT o.n, o.sum_pre, o.sum_post FROM programme_outcome o JOIN"
                  " outcome_measure m ON m.id = o.measure_id WHERE o.run_id = $1::uuid"
                  " AND m.code = 'parental_wellbeing'",
                  run.id);
    free(etag);
    free(path);
}

/* ---- Access -------------------------------------------------------------------------------- */

static void
test_access(void **state)
{
    struct fx *f = *state;
    struct run run = make_run(f, "4", "4", "4");
    char *path = it_fmt("/v1/programmes/%s/outcomes/coping_efficacy", run.id);
    char *t_prog, *t_read, *t_write;

    it_expectf(f->s, "PUT", f->a_staff, NULL, "{\"pairs\": [[2, 3], [2, 3]]}", 200, OUTCOME, run.id,
               "coping_efficacy");
    it_expectf(f->s, "PUT", f->admin, NULL, "{\"pairs\": [[2, 4], [2, 4]]}", 200, OUTCOME, run.id,
               "coping_efficacy");
    it_expect(f->s, "GET", path, f->a_staff, NULL, 200);
    it_expect(f->s, "GET", path, f->admin, NULL, 200);
    it_expect(f->s, "GET", path, f->b_admin, NULL, 404);
    it_expect(f->s, "GET", path, NULL, NULL, 401);
    it_expectf(f->s, "PUT", f->b_admin, NULL, "{\"pairs\": [[2, 5], [2, 5]]}", 404, OUTCOME, run.id,
               "coping_efficacy");
    t_prog = it_client_token(f->s, f->a_admin, "[\"programmes:read\", \"programmes:write\"]");
    t_read = it_client_token(f->s, f->a_admin, "[\"delivery:read\"]");
    t_write = it_client_token(f->s, f->a_admin, "[\"delivery:write\"]");
    it_expect(f->s, "GET", path, t_prog, NULL, 403);
    it_expect(f->s, "GET", path, t_read, NULL, 200);
    it_expect(f->s, "GET", path, t_write, NULL, 200); /* delivery:write includes reading */
    it_expectf(f->s, "PUT", t_prog, NULL, "{\"pairs\": [[2, 5], [2, 5]]}", 403, OUTCOME, run.id,
               "coping_efficacy");
    it_expectf(f->s, "PUT", t_read, NULL, "{\"pairs\": [[2, 5], [2, 5]]}", 403, OUTCOME, run.id,
               "coping_efficacy");
    it_assert_row(f->s, IT_ROW("4", "8"),
                  "SELECT sum_pre, sum_post FROM programme_outcome WHERE run_id = $1::uuid",
                  run.id);
    it_expectf(f->s, "PUT", t_write, NULL, "{\"pairs\": [[2, 5], [2, 5]]}", 200, OUTCOME, run.id,
               "coping_efficacy");
    it_assert_row(f->s, IT_ROW("4", "10"),
                  "SELECT sum_pre, sum_post FROM programme_outcome WHERE run_id = $1::uuid",
                  run.id);
    free(t_prog);
    free(t_read);
    free(t_write);
    free(path);
}

/* ---- No stored score ----------------------------------------------------------------------- */

/* Counts, over every column of every table of the public schema (cast to text), the values that
 * contain one of `needles` (LIKE patterns, a PostgreSQL array literal). Prints where. */
static long
search_everything(struct fx *f, const char *needles)
{
    PGresult *cols = it_sql(f->s, "SELECT format('SELECT count(*) FROM %I.%I WHERE %I::text"
                                  " LIKE ANY ($1::text[])', c.table_schema, c.table_name,"
                                  " c.column_name), c.table_name || '.' || c.column_name"
                                  " FROM information_schema.columns c JOIN"
                                  " information_schema.tables t USING (table_schema, table_name)"
                                  " WHERE c.table_schema = 'public' AND t.table_type ="
                                  " 'BASE TABLE' ORDER BY 2");
    long total = 0, n;
    int i;

    /* Many tables, many columns: the search is not vacuous. */
    assert_true(PQntuples(cols) > 100);
    assert_true(it_count(f->s,
                         "SELECT count(*) FROM information_schema.columns WHERE table_schema ="
                         " 'public' AND table_name = 'programme_outcome'")
                >= 9);
    for (i = 0; i < PQntuples(cols); i++) {
        n = it_count(f->s, PQgetvalue(cols, i, 0), needles);
        if (n > 0) {
            fprintf(stderr, "found in %s: %ld rows\n", PQgetvalue(cols, i, 1), n);
        }
        total += n;
    }
    PQclear(cols);
    return total;
}

/* The scores are on a scale of 0 to 1000 (a measure of the test's own) so that each has three
 * digits before the point and each change is over 60, which no time of day (seconds, minutes) in
 * a timestamp or a JSON audit row can match by chance: 314.1593 -> 237.7182 (d = -76.4411) and
 * 161.8034 -> 241.4214 (d = +79.618). The run stores only n = 2 and the sums 475.9627, 479.1396,
 * 3.1769 and 12182.2677, none of which holds them. The pairs, their list left open: */
#define SCORES  "{\"pairs\": [[314.1593, 237.7182], [161.8034, 241.4214]"
#define NEEDLES "{%314.159%,%237.718%,%161.803%,%241.421%,%76.441%,%79.618%}"

static void
test_no_stored_score(void **state)
{
    struct fx *f = *state;
    struct run run = make_run(f, "3", "3", "3");
    struct it_resp r;
    char *log;

    free(it_post_created(f->s, f->admin,
                         "{\"code\": \"wide_scale\", \"name\": \"A wide scale (0 to 1000)\","
                         " \"respondent\": \"adult\", \"scale_min\": 0, \"scale_max\": 1000,"
                         " \"higher_is_better\": true}",
                         NULL, "/v1/outcome-measures"));
    /* Refused first (a third pair out of scale, then too many), then accepted. */
    refused(f, run.id, "wide_scale", SCORES ", [1001, 5]]}", "pairs", "score_out_of_scale");
    refused(f, run.id, "wide_scale", SCORES "], \"pre_only\": 2}", "pairs", "too_many_pairs");
    put_ok(f, run.id, "wide_scale", SCORES "], \"post_only\": 1}", &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "n")), 2);
    assert_near(num(r.json, "mean_before"), 237.98135, 1e-9);
    assert_near(num(json_object_get(r.json, "sums"), "d2"), 12182.267693209997, 1e-6);
    /* The response itself holds no score either (only means and sums). */
    it_assert_absent(r.body, "314.159", "237.718", "161.803", "241.421", "76.441", "79.618", NULL);
    it_resp_free(&r);
    it_getf(f->s, f->a_admin, &r, "/v1/programmes/%s/outcomes", run.id);
    it_assert_status(&r, 200);
    it_assert_absent(r.body, "314.159", "237.718", "161.803", "241.421", "76.441", "79.618", NULL);
    it_resp_free(&r);

    /* The search finds what is stored: the sum before, 475.9627 (a float column), and the
     * measure's code (text, and the JSON of the audit rows of the measure and of the PUT) ... */
    assert_true(search_everything(f, "{%475.962%}") >= 1);
    assert_true(search_everything(f, "{%wide_scale%}") >= 3);
    /* ... and no submitted score, nor any family's change, anywhere. */
    assert_int_equal(search_everything(f, NEEDLES), 0);

    /* Nor does the server's log. */
    log = it_log(f->s);
    assert_non_null(log);
    assert_non_null(strstr(log, "wide_scale")); /* the log does record the requests */
    it_assert_absent(log, "314.159", "237.718", "161.803", "241.421", "76.441", "79.618", NULL);
    free(log);

    /* The audit row says the statistics changed, with n, and nothing else. */
    it_assert_row(f->s, IT_ROW("create", "2", "0", "1", "wide_scale", "4"),
                  "SELECT action, after->>'n', after->>'pre_only', after->>'post_only',"
                  " after->>'measure_code', (SELECT count(*) FROM jsonb_object_keys(after))"
                  " FROM audit_event WHERE resource_type = 'programme_outcome'"
                  " AND resource_id = $1",
                  run.id);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_id = $1"
                              " AND (after::text LIKE '%sum%' OR after::text LIKE '%pairs%')",
                              run.id),
                     0);
}

TEST_MAIN(group_setup,
          it_fx_teardown,
          cmocka_unit_test(test_statistics_n5),
          cmocka_unit_test(test_statistics_n2),
          cmocka_unit_test(test_statistics_n1),
          cmocka_unit_test(test_zero_variance),
          cmocka_unit_test(test_lower_is_better),
          cmocka_unit_test(test_combination),
          cmocka_unit_test(test_rules),
          cmocka_unit_test(test_access),
          cmocka_unit_test(test_no_stored_score))
