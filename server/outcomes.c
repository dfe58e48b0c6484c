/* outcomes.c: /v1/programmes/{id}/outcomes[/{measure_code}], a run's before/after scores on an
 * outcome measure (refdata.c), kept as sufficient statistics only (stats.c).
 *
 * PUT takes the run's anonymous pairs, {"pairs": [[before, after], ...], "pre_only": 1,
 * "post_only": 0}, checks them and reduces them at once to n, the sums before and after, and the
 * sum and sum of squares of the changes, with the counts of unpaired answers, replacing what the
 * run held for the measure. The pairs are never written anywhere: not to a table, a log line, the
 * audit row (which says that the statistics changed, with n) or a webhook. GET answers the
 * summary: means before and after, mean change, and from n = 2 its standard deviation, 95 %
 * confidence interval (Student's t), p-value and, when the changes vary, the effect size d_z;
 * whether the change is an improvement given the measure's higher_is_better; and the sums, which
 * add across runs.
 *
 * The rules (422 naming the field and the rule; nothing written): run_not_running_or_completed;
 * measure_retired (a retired measure takes no new scores); every score a number within the
 * measure's scale (pairs); respondents_unknown (the run's delivery record holds no adults,
 * children or families_started, whichever the measure's respondent counts); too_many_pairs (n
 * plus the unpaired answers before, or after, is at most that count); single_pair (one pair's
 * sums would be one person's scores: 0 or at least 2 pairs).
 *
 * Who: as the delivery record (delivery.c): the licensing body and the run's organisation; API
 * clients with delivery:read / delivery:write. If-Match, when sent, must match the measure's
 * stored statistics; sent before there are any, it is a 412. */
#include "registry/outcomes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "registry/audit.h"
#include "registry/dbreply.h"
#include "registry/delivery.h"
#include "registry/etag.h"
#include "registry/problem.h"
#include "registry/resource.h"
#include "registry/stats.h"
#include "registry/validate.h"

#define OC_MAX_PAIRS 10000

/* The run ($1) and its statistics for one measure ($2) or all (NULL): one row per measure, or
 * one row of nulls when there are none. */
#define OC_SELECT                                                                                  \
    "SELECT r.organisation_id, m.code AS measure_code, m.name AS measure_name, m.respondent, "     \
    "m.higher_is_better, o.n, o.pre_only, o.post_only, o.updated_at, o.sum_pre AS _pre, "          \
    "o.sum_post AS _post, o.sum_d AS _d, o.sum_d2 AS _d2, o.version AS _version "                  \
    "FROM programme_run r LEFT JOIN (programme_outcome o JOIN outcome_measure m"                   \
    " ON m.id = o.measure_id AND ($2::text IS NULL OR m.code = $2::text)) ON o.run_id = r.id "     \
    "WHERE r.id = $1::uuid ORDER BY m.code"

const struct db_stmt outcomes_stmts[] = {
    {"oc_get", OC_SELECT},
    {"oc_run_locked", "SELECT organisation_id, status, adults, children, families_started"
                      " FROM programme_run WHERE id = $1::uuid FOR UPDATE"},
    /* Measure $1, with what run $2 holds for it. */
    {"oc_measure", "SELECT m.id, m.respondent, m.scale_min, m.scale_max, m.active, o.n,"
                   " o.version AS _version FROM outcome_measure m LEFT JOIN programme_outcome o"
                   " ON o.measure_id = m.id AND o.run_id = $2::uuid WHERE m.code = $1::text"},
    /* $1 run, $2 measure, $3 n, $4-$7 the sums (before, after, change, change squared),
     * $8 pre_only, $9 post_only. */
    {"oc_put", "INSERT INTO programme_outcome AS o (run_id, measure_id, n, sum_pre, sum_post,"
               " sum_d, sum_d2, pre_only, post_only) VALUES ($1::uuid, $2::uuid, $3::int,"
               " $4::float8, $5::float8, $6::float8, $7::float8, $8::int, $9::int)"
               " ON CONFLICT (run_id, measure_id) DO UPDATE SET (n, sum_pre, sum_post, sum_d,"
               " sum_d2, pre_only, post_only) = (EXCLUDED.n, EXCLUDED.sum_pre, EXCLUDED.sum_post,"
               " EXCLUDED.sum_d, EXCLUDED.sum_d2, EXCLUDED.pre_only, EXCLUDED.post_only),"
               " updated_at = now(), version = o.version + 1"},
    {NULL, NULL},
};

void
outcomes_summary_set(json_t *o, const struct outcome_sums *s, int higher_is_better)
{
    struct outcome_summary m;

    json_object_set_new(o, "sums",
                        json_pack("{s:I, s:f, s:f, s:f, s:f}", "n", (json_int_t)s->n, "pre", s->pre,
                                  "post", s->post, "d", s->d, "d2", s->d2));
    if (stats_summarise(s, higher_is_better, &m) != 0) {
        return;
    }
    json_object_set_new(o, "mean_before", json_real(m.mean_pre));
    json_object_set_new(o, "mean_after", json_real(m.mean_post));
    json_object_set_new(o, "mean_change", json_real(m.mean_change));
    json_object_set_new(o, "change",
                        json_string(m.improved > 0   ? "improved"
                                    : m.improved < 0 ? "worsened"
                                                     : "unchanged"));
    json_object_set_new(o, "improved", json_boolean(m.improved > 0));
    if (m.has_interval) {
        json_object_set_new(o, "sd_change", json_real(m.sd_change));
        json_object_set_new(o, "ci95", json_pack("[f, f]", m.ci_low, m.ci_high));
        json_object_set_new(o, "p_value", json_real(m.p_value));
        json_object_set_new(o, "significant", json_boolean(m.significant));
    }
    if (m.has_effect) {
        json_object_set_new(o, "effect_size_dz", json_real(m.effect_dz));
    }
}

/* The summary of row `row` of an oc_get result (a new reference). */
static json_t *
outcome_json(const PGresult *res, int row)
{
    static const char *const shown[] = {
        "measure_code", "measure_name", "respondent", "higher_is_better", "n", "pre_only",
        "post_only",    "updated_at",   NULL};
    json_t *o = db_row_pick(res, row, shown);
    struct outcome_sums s = {0, 0, 0, 0, 0, 0, 0};

    s.n = atol(db_value(res, row, "n"));
    s.pre = strtod(db_value(res, row, "_pre"), NULL);
    s.post = strtod(db_value(res, row, "_post"), NULL);
    s.d = strtod(db_value(res, row, "_d"), NULL);
    s.d2 = strtod(db_value(res, row, "_d2"), NULL);
    outcomes_summary_set(o, &s, db_bool(res, row, "higher_is_better"));
    return o;
}

/* Runs oc_get for run params[0] (and measure params[1], or all) and checks that the caller may
 * see the run. Returns 0 with the result in *out, or the status of the problem sent. */
static int
read_or_problem(struct req *r, const char *const *params, PGresult **out)
{
    int status;

    *out = NULL;
    if (!validate_uuid(params[0])) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no programme run with id %s", params[0]);
    }
    /* Before any SQL (bytes that are not UTF-8 would fail it); the code is shown only once it is
     * known to be text of at most 40 characters. */
    if (params[1] != NULL && !validate_text(params[1], 1, 40)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no outcomes are recorded under that code");
    }
    if ((status = http_exec_or_problem(r, "oc_get", 2, params, out)) != 0) {
        return status;
    }
    if (PQntuples(*out) == 0 || !resource_in_org(&r->principal, *out)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no programme run with id %s", params[0]);
    }
    if (params[1] != NULL && db_value(*out, 0, "measure_code") == NULL) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no %s outcomes are recorded for this run",
                            params[1]);
    }
    return 0;
}

int
outcomes_list(struct req *r)
{
    const char *params[2] = {r->params[0], NULL};
    PGresult *res = NULL;
    json_t *items = json_array();
    int status, i;

    if ((status = read_or_problem(r, params, &res)) == 0) {
        for (i = 0; i < PQntuples(res) && db_value(res, i, "measure_code") != NULL; i++) {
            json_array_append_new(items, outcome_json(res, i));
        }
        status = http_send_json_new(r, 200, json_pack("{s:O}", "items", items));
    }
    json_decref(items);
    PQclear(res);
    return status;
}

int
outcomes_get(struct req *r)
{
    const char *params[2] = {r->params[0], r->params[1]};
    PGresult *res = NULL;
    json_t *body = NULL;
    int status;

    if ((status = read_or_problem(r, params, &res)) == 0) {
        body = outcome_json(res, 0);
        status = http_send_resource(r, 200, body, db_value(res, 0, "_version"));
    }
    json_decref(body);
    PQclear(res);
    return status;
}

/* Checks the body's shape (pairs of numbers, counts of unpaired answers) into `errors`. */
static void
check_shape(json_t *in, json_t *errors)
{
    static const char *const keys[] = {"pairs", "pre_only", "post_only", NULL};
    json_t *pairs = json_object_get(in, "pairs"), *p, *v;
    const char *key;
    size_t i;

    json_object_foreach(in, key, v)
    {
        if (!validate_in_list(keys, key)) {
            problem_add_error(errors, key,
                              "is not a member of an outcomes record: pairs, "
                              "pre_only, post_only");
        } else if (strcmp(key, "pairs") != 0
                   && (!json_is_integer(v) || json_integer_value(v) < 0
                       || json_integer_value(v) > OC_MAX_PAIRS)) {
            problem_add_error(errors, key, "must be a whole number from 0 to 10000");
        }
    }
    if (!json_is_array(pairs) || json_array_size(pairs) > OC_MAX_PAIRS) {
        problem_add_error(errors, "pairs",
                          "is required: a list of at most 10000 [before, after] "
                          "pairs of scores");
        return;
    }
    json_array_foreach(pairs, i, p)
    {
        if (!json_is_array(p) || json_array_size(p) != 2 || !json_is_number(json_array_get(p, 0))
            || !json_is_number(json_array_get(p, 1))) {
            problem_add_rule(errors, "pairs", "pair_malformed",
                             "pairs[%zu] must be a [before, after] pair of numbers", i);
            return;
        }
    }
}

/* The rules of the file comment, with the run and the measure read; reduces the pairs into *s.
 * Appends to `errors`. */
static void
check_scores(json_t *in,
             const PGresult *run,
             const PGresult *measure,
             struct outcome_sums *s,
             json_t *errors)
{
    static const struct {
        const char *respondent, *column;
    } counts[] = {{"adult", "adults"}, {"child", "children"}, {"family", "families_started"}};
    const char *status = db_value(run, 0, "status"), *who = db_value(measure, 0, "respondent");
    const char *column = "families_started", *stored;
    double lo = strtod(db_value(measure, 0, "scale_min"), NULL);
    double hi = strtod(db_value(measure, 0, "scale_max"), NULL);
    json_t *p;
    size_t i;
    long most;

    delivery_run_open(status, "outcomes are", errors);
    if (!db_bool(measure, 0, "active")) {
        problem_add_rule(errors, "measure_code", "measure_retired",
                         "the measure is retired: it takes no new scores");
    }
    json_array_foreach(json_object_get(in, "pairs"), i, p)
    {
        double pre = json_number_value(json_array_get(p, 0));
        double post = json_number_value(json_array_get(p, 1));

        if (!(pre >= lo && pre <= hi && post >= lo && post <= hi)) {
            problem_add_rule(errors, "pairs", "score_out_of_scale",
                             "pairs[%zu]: every score is within the measure's scale, %g to %g", i,
                             lo, hi);
            return;
        }
        stats_add_pair(s, pre, post);
    }
    s->pre_only = (long)json_integer_value(json_object_get(in, "pre_only"));
    s->post_only = (long)json_integer_value(json_object_get(in, "post_only"));
    for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        if (strcmp(who, counts[i].respondent) == 0) {
            column = counts[i].column;
        }
    }
    if ((stored = db_value(run, 0, column)) == NULL) {
        problem_add_rule(errors, "pairs", "respondents_unknown",
                         "the run's delivery record has no %s yet: record it first", column);
        return;
    }
    most = atol(stored);
    if (s->n == 1) {
        /* One pair's sums are that person's own scores, which are never stored. */
        problem_add_rule(errors, "pairs", "single_pair",
                         "one pair would be stored as one person's own scores: give at least 2 "
                         "pairs, or the answers as unpaired counts only");
        return;
    }
    if (s->n + s->pre_only > most || s->n + s->post_only > most) {
        problem_add_rule(errors, "pairs", "too_many_pairs",
                         "%ld pairs, %ld before only and %ld after only: more than the run's %ld "
                         "%s",
                         s->n, s->pre_only, s->post_only, most, column);
    }
}

int
outcomes_put(struct req *r)
{
    const char *run_id = r->params[0], *code = r->params[1], *params[9];
    json_t *in = NULL, *errors = json_array(), *before = NULL, *after = NULL;
    PGresult *run = NULL, *measure = NULL, *res = NULL;
    struct outcome_sums s = {0, 0, 0, 0, 0, 0, 0};
    char num[7][32];
    int status, i;

    if (!validate_text(code, 1, 40)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no outcome measure with that code");
        goto out;
    }
    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    check_shape(in, errors);
    if ((status = problem_send_errors_if_any(r, errors)) != 0) {
        goto out;
    }
    params[0] = run_id;
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = http_row_or_problem(r, "oc_run_locked", run_id, "programme run",
                                         resource_in_org, &run))
               != 0) {
        goto out;
    }
    params[0] = code;
    params[1] = run_id;
    if ((status = http_exec_or_problem(r, "oc_measure", 2, params, &measure)) != 0) {
        goto out;
    }
    if (PQntuples(measure) == 0) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no outcome measure with code %s", code);
        goto out;
    }
    /* No statistics yet: no ETag to match (If-Match: * included, as RFC 9110 says). */
    if (http_header(r, "If-Match") != NULL && db_value(measure, 0, "_version") == NULL) {
        status = problem_send(r, PROBLEM_PRECONDITION_FAILED,
                              "the run has no %s statistics yet: leave If-Match out to record "
                              "the first",
                              code);
        goto out;
    }
    if (http_header(r, "If-Match") != NULL
        && (status = http_if_match_or_problem(r, db_value(measure, 0, "_version"))) != 0) {
        goto out;
    }
    check_scores(in, run, measure, &s, errors);
    if ((status = problem_send_errors_if_any(r, errors)) != 0) {
        goto out;
    }
    snprintf(num[0], sizeof(num[0]), "%ld", s.n);
    snprintf(num[1], sizeof(num[1]), "%.17g", s.pre);
    snprintf(num[2], sizeof(num[2]), "%.17g", s.post);
    snprintf(num[3], sizeof(num[3]), "%.17g", s.d);
    snprintf(num[4], sizeof(num[4]), "%.17g", s.d2);
    snprintf(num[5], sizeof(num[5]), "%ld", s.pre_only);
    snprintf(num[6], sizeof(num[6]), "%ld", s.post_only);
    params[0] = run_id;
    params[1] = db_value(measure, 0, "id");
    for (i = 0; i < 7; i++) {
        params[2 + i] = num[i];
    }
    if ((status = http_exec_or_problem(r, "oc_put", 9, params, NULL)) != 0) {
        goto out;
    }
    params[1] = code;
    if ((status = http_exec_or_problem(r, "oc_get", 2, params, &res)) != 0) {
        goto out;
    }
    /* The audit says that the statistics changed, and n; never a score or a sum. */
    if (db_value(measure, 0, "n") != NULL) {
        before = json_pack("{s:s, s:I}", "measure_code", code, "n",
                           (json_int_t)atol(db_value(measure, 0, "n")));
    }
    after = json_pack("{s:s, s:I, s:I, s:I}", "measure_code", code, "n", (json_int_t)s.n,
                      "pre_only", (json_int_t)s.pre_only, "post_only", (json_int_t)s.post_only);
    if ((status = audit_commit_or_problem(r, before != NULL ? "update" : "create",
                                          "programme_outcome", run_id, before, after))
        == 0) {
        json_t *body = outcome_json(res, 0);
        status = http_send_resource(r, 200, body, db_value(res, 0, "_version"));
        json_decref(body);
    }
out:
    PQclear(run);
    PQclear(measure);
    PQclear(res);
    json_decref(before);
    json_decref(after);
    json_decref(errors);
    json_decref(in);
    return status;
}
