/* impact.c: GET /v1/reports/delivery, what M-PACT delivered and achieved, from the runs'
 * delivery records and outcome statistics (delivery.c, outcomes.c): the report a commissioner's
 * briefing, a licensee's return or the licensing body's national figures are written from.
 *
 * Filters: from, to (YYYY-MM-DD, on the run's ends_on), local_authority (one or more ONS codes,
 * comma-separated: the district of the run's site), organisation_id, variant. Over every run (no
 * organisation or area) the figures are summed from delivery_cube (migration 0018: the runs'
 * cells by day and month, kept by triggers), otherwise from the runs' cells one by one; both
 * shape the same columns (IMP_REPORT_FIGURES). The figures count
 * the completed runs (their records are complete); runs in progress are counted and listed.
 * An Irish site's county (IE-CO, migration 0020) stands for its district, in the filter and items.
 * - runs: completed, in_progress, items (organisation, site, local authority, dates, variant,
 *   status, families started and completed; the first runs_limit by end date) and
 *   items_truncated;
 * - families: referred, assessed, started, completed, capacity, completion_rate (completed /
 *   started), places_filled (started / capacity);
 * - adults and children: totals and breakdowns (relationship or age band x gender), with the
 *   share of male carers; referrals_by_source, onward_referrals; sessions delivered / planned;
 *   review and reunion held (runs);
 * - outcomes: per measure, the runs and pairs counted, combined exactly from the runs' sums
 *   (stats_combine), summarised as outcomes.c summarises one run;
 * - feedback: per statement, the counts and the shares of agree / neither / disagree;
 * - cost: total, per family started and completed, over the runs with a cost (and how many);
 *   sroi: an estimate, savings per family completed (sroi_setting, with its source and year) x
 *   families completed / cost, always labelled an estimate;
 * - enquiries: how many families asked about a place through the finder in the months of the
 *   period (by_who, delivered, failed; enquiries.c keeps only these counts), for every
 *   organisation or the one reported on; null for a report of areas (counted by organisation);
 * - series: the headline figures by year of ends_on; previous: the same headline figures for the
 *   period of the same length just before `from` (when both from and to are given).
 * Who: the licensing body, everything; a licensee, its own organisation's runs (the router lets
 * any signed-in user in; API clients with delivery:read). JSON, or CSV with one row per figure
 * (path, value). */
#include "registry/impact.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "registry/auth.h"
#include "registry/config.h"
#include "registry/csv.h"
#include "registry/db.h"
#include "registry/dbreply.h"
#include "registry/etag.h"
#include "registry/outcomes.h"
#include "registry/problem.h"
#include "registry/query.h"
#include "registry/stats.h"
#include "registry/suppress.h"
#include "registry/validate.h"

#define IMP_MAX_AREAS       50
#define IMP_RUNS_LISTED     100  /* runs listed when runs_limit is not given */
#define IMP_RUNS_LISTED_MAX 1000 /* and at most */

/* clang-format off */

/* The runs of the report: $1 the caller's organisation (NULL: all), $2 organisation_id, $3 local
 * authority codes (a text[]), $4 variant, $5 from, $6 to, $7 a commissioner's areas (text[];
 * NULL: anywhere); a site's area is location.la_code (migration 0038): the district of its
 * postcode, or an Irish site's county (IE-CO, migration 0020).
 * `drive` is the FROM of runs p and sites l that leads the plan (an organisation's runs, or the
 * sites of some districts or counties, each then asked for its runs: the LATERAL's OFFSET 0 keeps
 * the generic plan from starting at the period's runs instead), so that the statement's generic
 * plan is as good as a custom one. */
#define IMP_RUNS(drive)                                                                            \
    "r AS (SELECT p.*, o.name AS org_name, l.name AS site_name, l.la_code,"                        \
    " coalesce(la.name, ic.name) AS la_name FROM " drive                                           \
    " JOIN organisation o ON o.id = p.organisation_id"                                             \
    " LEFT JOIN local_authority la ON la.code = l.la_code"                                         \
    " LEFT JOIN irish_county ic ON ic.code = l.county"                                             \
    " WHERE p.status IN ('running', 'completed')"                                                  \
    " AND ($1::uuid IS NULL OR p.organisation_id = $1::uuid)"                                      \
    " AND ($2::uuid IS NULL OR p.organisation_id = $2::uuid)"                                      \
    " AND ($3::text[] IS NULL OR l.la_code = ANY ($3::text[]))"                                    \
    " AND ($4::text IS NULL OR p.variant = $4::text)"                                              \
    " AND p.ends_on >= coalesce($5::date, '-infinity')"                                             \
    " AND p.ends_on <= coalesce($6::date, 'infinity')"                                             \
    " AND ($7::text[] IS NULL OR l.la_code = ANY ($7::text[]))), "                                 \
    "c AS (SELECT * FROM r WHERE status = 'completed') "
#define IMP_BY_ORG                                                                                 \
    "programme_run p JOIN location l ON l.id = p.location_id AND p.organisation_id = $1::uuid"
#define IMP_BY_AREA                                                                                \
    "location l JOIN LATERAL (SELECT * FROM programme_run p0 WHERE p0.location_id = l.id OFFSET 0)" \
    " p ON l.la_code = ANY ($3::text[])"

/* The first `lim` runs of `s` (by end date) as the report lists them. */
#define IMP_RUN_LIST(s, lim)                                                                       \
    "(SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'organisation_id', organisation_id,"  \
    " 'organisation_name', org_name, 'site_name', site_name, 'local_authority', CASE WHEN la_code" \
    " IS NOT NULL THEN jsonb_build_object('code', la_code, 'name', la_name) END, 'starts_on',"     \
    " starts_on, 'ends_on', ends_on, 'variant', variant, 'status', status, 'families_started',"    \
    " families_started, 'families_completed', families_completed) ORDER BY ends_on, id), '[]')"    \
    " FROM (SELECT * FROM " s " ORDER BY ends_on, id LIMIT " lim ") x) AS run_list"

/* The report's cells (figure, k1, k2, n; migration 0018) from run_cell, the cells of every run of c
 * (qy by the year the run ended, q over the period). */
#define IMP_CELLS                                                                                  \
    "qy AS (SELECT extract(year FROM c.ends_on)::int AS y, x.figure, x.k1, x.k2, sum(x.n) AS n,"   \
    " count(*) AS runs FROM c JOIN run_cell x ON x.run_id = c.id GROUP BY 1, 2, 3, 4), "           \
    "q AS (SELECT figure, k1, k2, sum(n) AS n FROM qy GROUP BY 1, 2, 3) "

/* The same from delivery_cube (migration 0018): every run, filtered by $1 variant, $2 from, $3 to;
 * the whole months of the period at grain 'm' (from IMP_CUBE_A to before IMP_CUBE_B), its other
 * days at grain 'd' (before IMP_CUBE_A, and from IMP_CUBE_B or IMP_CUBE_A on, whichever is later):
 * three ranges of the table's key, none overlapping, so that a generic plan reads just them (an
 * OR of the two day ranges made it read every day of the period). */
#define IMP_CUBE_A "coalesce((date_trunc('month', ($2::date - 1)::timestamp) + interval '1 month')::date, '-infinity')"
#define IMP_CUBE_B "coalesce(date_trunc('month', ($3::date + 1)::timestamp)::date, 'infinity')"
#define IMP_CUBE_FROM                                                                              \
    " (SELECT * FROM delivery_cube WHERE grain = 'm' AND ends_on >= " IMP_CUBE_A                   \
    " AND ends_on < " IMP_CUBE_B " UNION ALL SELECT * FROM delivery_cube WHERE grain = 'd'"       \
    " AND ends_on >= coalesce($2::date, '-infinity') AND ends_on < least(" IMP_CUBE_A ","          \
    " coalesce($3::date + 1, 'infinity')) UNION ALL SELECT * FROM delivery_cube WHERE grain = 'd'"  \
    " AND ends_on >= greatest(" IMP_CUBE_B ", " IMP_CUBE_A ", coalesce($2::date, '-infinity'))"     \
    " AND ends_on <= coalesce($3::date, 'infinity')) dc WHERE ($1::text IS NULL OR variant = $1::text)"
#define IMP_CUBE_CELLS                                                                             \
    "qy AS (SELECT extract(year FROM ends_on)::int AS y, figure, k1, k2, sum(n) AS n, sum(runs)"  \
    " AS runs FROM" IMP_CUBE_FROM " GROUP BY 1, 2, 3, 4), "                          \
    "q AS (SELECT figure, k1, k2, sum(n) AS n FROM qy GROUP BY 1, 2, 3 HAVING sum(runs) > 0) "

/* The figures of the report from the cells q (both ways of getting them answer the same). */
#define IMP_BREAKDOWN1(f)                                                                          \
    "(SELECT coalesce(jsonb_object_agg(k1, n ORDER BY k1), '{}') FROM q WHERE figure = '" f "')"   \
    " AS " f
#define IMP_BREAKDOWN2(f)                                                                          \
    "(SELECT coalesce(jsonb_object_agg(k1, g ORDER BY k1), '{}') FROM (SELECT k1,"                 \
    " jsonb_object_agg(k2, n ORDER BY k2) AS g FROM q WHERE figure = '" f "' GROUP BY k1) x) AS " f
#define IMP_TOTAL(k) " '" k "', t.j->'" k "',"
#define IMP_COUNT(k) " '" k "', coalesce(t.j->'" k "', '0'),"
#define IMP_REPORT_FIGURES                                                                         \
    "t AS (SELECT coalesce(jsonb_object_agg(k1, n), '{}') AS j FROM q WHERE figure = 'total') "    \
    "SELECT coalesce((t.j->>'runs')::bigint, 0) AS runs_completed, jsonb_build_object("            \
    IMP_TOTAL("referred") IMP_TOTAL("assessed") IMP_TOTAL("started") IMP_TOTAL("completed")        \
    IMP_TOTAL("capacity") IMP_TOTAL("adults") IMP_TOTAL("children")                                \
    IMP_TOTAL("sessions_delivered") IMP_TOTAL("sessions_planned") IMP_COUNT("review_held")         \
    IMP_COUNT("reunion_held") IMP_TOTAL("cost_gbp") IMP_COUNT("costed_runs")                       \
    IMP_TOTAL("costed_started") " 'costed_completed', t.j->'costed_completed') AS totals, "        \
    IMP_BREAKDOWN1("referrals_by_source") ", " IMP_BREAKDOWN1("onward_referrals") ", "             \
    IMP_BREAKDOWN2("adults_by_relationship") ", " IMP_BREAKDOWN2("children_by_age_band") ", "      \
    IMP_BREAKDOWN2("feedback") ", "                                                                \
    "(SELECT coalesce(jsonb_agg(jsonb_build_object('measure_code', m.code, 'measure_name',"        \
    " m.name, 'respondent', m.respondent, 'higher_is_better', m.higher_is_better, 'runs',"         \
    " x.j->'runs', 'n', x.j->'n', 'pre', x.j->'pre', 'post', x.j->'post', 'd', x.j->'d', 'd2',"    \
    " x.j->'d2', 'pre_only', x.j->'pre_only', 'post_only', x.j->'post_only') ORDER BY m.code),"    \
    " '[]') FROM (SELECT k1, jsonb_object_agg(k2, n) AS j FROM q WHERE figure = 'outcome'"         \
    " GROUP BY k1) x JOIN outcome_measure m ON m.id::text = x.k1) AS outcomes,"                    \
    " (SELECT jsonb_build_object('savings_per_family_gbp', savings_per_family_gbp, 'source',"      \
    " source, 'year', year) FROM sroi_setting) AS sroi_parameters"

/* The headline figures ({runs, families_started, families_completed, adults, children}) from
 * rows (k, n) of the cells of figure 'total'. */
#define IMP_HEADLINE_OF(k, n)                                                                      \
    "jsonb_build_object('runs', coalesce(sum(" n ") FILTER (WHERE " k " = 'runs'), 0),"            \
    " 'families_started', sum(" n ") FILTER (WHERE " k " = 'started'), 'families_completed',"      \
    " sum(" n ") FILTER (WHERE " k " = 'completed'), 'adults', sum(" n ") FILTER (WHERE " k        \
    " = 'adults'), 'children', sum(" n ") FILTER (WHERE " k " = 'children'))"
#define IMP_HEADLINE_KEYS " IN ('runs', 'started', 'completed', 'adults', 'children')"

/* The yearly series from qy. */
#define IMP_SERIES                                                                                 \
    " (SELECT coalesce(jsonb_agg(h ORDER BY y), '[]') FROM (SELECT y, jsonb_build_object('year',"  \
    " y) || " IMP_HEADLINE_OF("k1", "n") " AS h FROM (SELECT y, k1, sum(n) AS n FROM qy WHERE"     \
    " figure = 'total' AND k1" IMP_HEADLINE_KEYS " GROUP BY 1, 2 HAVING sum(runs) > 0) s GROUP BY" \
    " y) s) AS series"
#define IMP_REPORT(drive)                                                                          \
    "WITH " IMP_RUNS(drive) ", " IMP_CELLS ", " IMP_REPORT_FIGURES ","                             \
    " (SELECT count(*) FROM r WHERE status = 'running') AS runs_in_progress, "                     \
    IMP_RUN_LIST("r", "$8::int") "," IMP_SERIES " FROM t"
#define IMP_PREVIOUS(drive)                                                                        \
    "WITH " IMP_RUNS(drive) "SELECT jsonb_build_object('runs', count(*), 'families_started',"      \
    " sum(c.families_started), 'families_completed', sum(c.families_completed), 'adults',"        \
    " sum(c.adults), 'children', sum(c.children)) AS previous FROM c"

const struct db_stmt impact_stmts[] = {
    /* The report from the runs of an organisation ($1), or at the sites of some districts ($3),
     * with the other filters. */
    {"imp_report_org", IMP_REPORT(IMP_BY_ORG)},
    {"imp_report_area", IMP_REPORT(IMP_BY_AREA)},
    /* The headline figures of the period [$5, $6] (the one before the report's), with the
     * report's other filters. */
    {"imp_previous_org", IMP_PREVIOUS(IMP_BY_ORG)},
    {"imp_previous_area", IMP_PREVIOUS(IMP_BY_AREA)},
    /* The report over every run (no organisation or area): its figures from delivery_cube, the
     * runs in progress and the list from programme_run; $1 variant, $2 from, $3 to, $4 the
     * list's length. */
    {"imp_cube_report",
     "WITH " IMP_CUBE_CELLS ", " IMP_REPORT_FIGURES ","
     " (SELECT count(*) FROM programme_run p WHERE p.status = 'running' AND ($1::text IS NULL OR"
     " p.variant = $1::text) AND p.ends_on >= coalesce($2::date, '-infinity')"
     " AND p.ends_on <= coalesce($3::date, 'infinity')) AS runs_in_progress, "
     IMP_RUN_LIST("(SELECT p.*, o.name AS org_name, l.name AS site_name, l.la_code,"
     " coalesce(la.name, ic.name) AS la_name"
     " FROM programme_run p JOIN organisation o ON o.id = p.organisation_id"
     " JOIN location l ON l.id = p.location_id LEFT JOIN local_authority la ON la.code = l.la_code"
     " LEFT JOIN irish_county ic ON ic.code = l.county WHERE p.status IN ('running',"
     " 'completed') AND ($1::text IS NULL OR p.variant = $1::text)"
     " AND p.ends_on >= coalesce($2::date, '-infinity')"
     " AND p.ends_on <= coalesce($3::date, 'infinity') ORDER BY p.ends_on,"
     " p.id LIMIT $4::int) r", "$4::int") ","
     IMP_SERIES " FROM t"},
    /* imp_previous over every run: $1 variant, $2 from, $3 to. */
    {"imp_cube_previous",
     "SELECT " IMP_HEADLINE_OF("k1", "n") " AS previous FROM (SELECT k1, sum(n) AS n FROM"
     IMP_CUBE_FROM " AND figure = 'total' AND k1" IMP_HEADLINE_KEYS
     " GROUP BY 1 HAVING sum(runs) > 0) s"},
    /* The enquiries families sent through the finder (enquiries.c keeps only these counts) in the
     * months of the period [$2, $3], of the organisation $1 (NULL: every one). */
    {"imp_enquiries",
     "SELECT jsonb_build_object('by_who', coalesce((SELECT jsonb_object_agg(who, n) FROM (SELECT"
     " who, sum(n) AS n FROM enquiry_count e WHERE ($1::uuid IS NULL OR e.organisation_id ="
     " $1::uuid) AND ($2::date IS NULL OR e.month >= date_trunc('month', $2::date::timestamp))"
     " AND ($3::date IS NULL OR e.month <= $3::date) GROUP BY who) x), '{}'), 'delivered',"
     " coalesce(sum(n) FILTER (WHERE result = 'delivered'), 0), 'failed', coalesce(sum(n) FILTER"
     " (WHERE result = 'failed'), 0)) AS enquiries FROM enquiry_count e WHERE ($1::uuid IS NULL"
     " OR e.organisation_id = $1::uuid) AND ($2::date IS NULL OR e.month >= date_trunc('month',"
     " $2::date::timestamp)) AND ($3::date IS NULL OR e.month <= $3::date)"},
    /* The period of the same length as [$1, $2] just before it. */
    /* The report's statements run on their generic plans (impact_report): each is written so that
     * its generic plan is as good as a custom one, and replanning them on every request (the
     * plan cache keeps choosing custom plans, whose cost estimate it trusts more) took a third of
     * a district report's database time (bench/README.md). */
    {"imp_generic", "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"},
    {"imp_period", "SELECT ($1::date - ($2::date - $1::date) - 1)::text AS from,"
                   " ($1::date - 1)::text AS to"},
    /* The public figures by year: runs completed (by ends_on), families and participants they
     * reached, the sites they ran at, and the practitioners trained (passed a practitioner
     * course, by the year its session ended); the last row (year NULL) is since the start. */
    {"imp_public",
     "WITH y AS (SELECT extract(year FROM ends_on)::int AS year, count(*) AS runs,"
     " coalesce(sum(families_started), 0) AS families, coalesce(sum(adults), 0)"
     " + coalesce(sum(children), 0) AS participants, count(DISTINCT location_id) AS locations"
     " FROM programme_run WHERE status = 'completed' GROUP BY 1), "
     "p AS (SELECT extract(year FROM t.ends_on)::int AS year, e.facilitator_id AS fid"
     " FROM enrolment e JOIN training_session t ON t.id = e.session_id"
     " JOIN course c ON c.id = t.course_id WHERE e.status = 'passed'"
     " AND c.kind = 'practitioner' AND t.status <> 'cancelled'), "
     "t AS (SELECT year, count(DISTINCT fid) AS trained FROM p GROUP BY 1) "
     "SELECT year, coalesce(t.trained, 0) AS practitioners_trained, coalesce(y.runs, 0) AS runs,"
     " coalesce(y.families, 0) AS families, coalesce(y.participants, 0) AS participants,"
     " coalesce(y.locations, 0) AS locations FROM y FULL JOIN t USING (year) "
     "UNION ALL SELECT NULL, (SELECT count(DISTINCT fid) FROM p),"
     " (SELECT count(*) FROM programme_run WHERE status = 'completed'),"
     " (SELECT coalesce(sum(families), 0) FROM y), (SELECT coalesce(sum(participants), 0) FROM y),"
     " (SELECT count(DISTINCT location_id) FROM programme_run WHERE status = 'completed')"
     " ORDER BY 1 NULLS LAST"},
    {"imp_areas", "SELECT areas::text AS areas FROM app_user WHERE id = $1::uuid"},
    {"imp_history", "SELECT since_year, as_of, practitioners_trained, participants, families,"
                    " locations, note FROM impact_history"},
    {NULL, NULL},
};
/* clang-format on */

/* Sets `key` of `o` to a / b, or null when b is 0 (or either is missing). */
static void
set_ratio(json_t *o, const char *key, json_t *a, json_t *b)
{
    double den = json_number_value(b);

    json_object_set_new(
        o, key, json_is_number(a) && den > 0 ? json_real(json_number_value(a) / den) : json_null());
}

/* The sum of the counts of one- or two-level breakdown `b` whose inner key is `inner` (NULL:
 * every count). */
static double
count_sum(json_t *b, const char *inner)
{
    const char *k, *k2;
    json_t *v, *w;
    double n = 0;

    json_object_foreach(b, k, v)
    {
        if (json_is_number(v)) {
            n += json_number_value(v);
            continue;
        }
        json_object_foreach(v, k2, w)
        {
            if (inner == NULL || strcmp(k2, inner) == 0) {
                n += json_number_value(w);
            }
        }
    }
    return n;
}

/* Replaces each combined outcome of `outcomes` by its summary (outcomes_summary_set). */
static void
summarise_outcomes(json_t *outcomes)
{
    static const char *const sums[] = {"pre", "post", "d", "d2", NULL};
    const char *const *k;
    json_t *o;
    size_t i;

    json_array_foreach(outcomes, i, o)
    {
        struct outcome_sums s = {0, 0, 0, 0, 0, 0, 0};

        s.n = (long)json_integer_value(json_object_get(o, "n"));
        s.pre = json_number_value(json_object_get(o, "pre"));
        s.post = json_number_value(json_object_get(o, "post"));
        s.d = json_number_value(json_object_get(o, "d"));
        s.d2 = json_number_value(json_object_get(o, "d2"));
        for (k = sums; *k != NULL; k++) {
            json_object_del(o, *k);
        }
        outcomes_summary_set(o, &s, json_is_true(json_object_get(o, "higher_is_better")));
    }
}

/* Adds to each statement of `feedback` its shares of agree / neither / disagree. */
static void
feedback_shares(json_t *feedback)
{
    static const char *const answers[] = {"agree", "neither", "disagree", NULL};
    const char *const *a;
    const char *k;
    json_t *v, *shares, *total;

    json_object_foreach(feedback, k, v)
    {
        total = json_real(count_sum(v, NULL));
        shares = json_object();
        for (a = answers; *a != NULL; a++) {
            set_ratio(shares, *a, json_object_get(v, *a), total);
        }
        json_object_set_new(v, "shares", shares);
        json_decref(total);
    }
}

/* Shapes the report from row 0 of imp_report (`previous`: imp_previous's, or NULL). */
static json_t *
report_json(const PGresult *res, const PGresult *previous)
{
    json_t *row = db_row_to_json(res, 0), *out = json_object(), *t, *fam, *adults, *children;
    json_t *sessions, *cost, *sroi, *params, *value;
    double saved;

    t = json_object_get(row, "totals");
    json_object_set_new(
        out, "runs",
        json_pack("{s:O, s:O, s:O, s:b}", "completed", json_object_get(row, "runs_completed"),
                  "in_progress", json_object_get(row, "runs_in_progress"), "items",
                  json_object_get(row, "run_list"), "items_truncated",
                  json_integer_value(json_object_get(row, "runs_completed"))
                          + json_integer_value(json_object_get(row, "runs_in_progress"))
                      > (json_int_t)json_array_size(json_object_get(row, "run_list"))));
    fam = json_pack("{s:O, s:O, s:O, s:O, s:O}", "referred", json_object_get(t, "referred"),
                    "assessed", json_object_get(t, "assessed"), "started",
                    json_object_get(t, "started"), "completed", json_object_get(t, "completed"),
                    "capacity", json_object_get(t, "capacity"));
    set_ratio(fam, "completion_rate", json_object_get(t, "completed"),
              json_object_get(t, "started"));
    set_ratio(fam, "places_filled", json_object_get(t, "started"), json_object_get(t, "capacity"));
    json_object_set_new(out, "families", fam);
    adults = json_pack("{s:O, s:O}", "total", json_object_get(t, "adults"), "by_relationship",
                       json_object_get(row, "adults_by_relationship"));
    value = json_real(count_sum(json_object_get(row, "adults_by_relationship"), "male"));
    set_ratio(adults, "male_share", value, json_object_get(t, "adults"));
    json_decref(value);
    json_object_set_new(out, "adults", adults);
    children = json_pack("{s:O, s:O}", "total", json_object_get(t, "children"), "by_age_band",
                         json_object_get(row, "children_by_age_band"));
    json_object_set_new(out, "children", children);
    json_object_set(out, "referrals_by_source", json_object_get(row, "referrals_by_source"));
    json_object_set(out, "onward_referrals", json_object_get(row, "onward_referrals"));
    sessions = json_pack(
        "{s:O, s:O, s:O, s:O}", "delivered", json_object_get(t, "sessions_delivered"), "planned",
        json_object_get(t, "sessions_planned"), "review_held", json_object_get(t, "review_held"),
        "reunion_held", json_object_get(t, "reunion_held"));
    set_ratio(sessions, "delivered_rate", json_object_get(t, "sessions_delivered"),
              json_object_get(t, "sessions_planned"));
    json_object_set_new(out, "sessions", sessions);
    summarise_outcomes(json_object_get(row, "outcomes"));
    json_object_set(out, "outcomes", json_object_get(row, "outcomes"));
    feedback_shares(json_object_get(row, "feedback"));
    json_object_set(out, "feedback", json_object_get(row, "feedback"));
    cost = json_pack("{s:O, s:O}", "total_gbp", json_object_get(t, "cost_gbp"), "costed_runs",
                     json_object_get(t, "costed_runs"));
    set_ratio(cost, "per_family_started_gbp", json_object_get(t, "cost_gbp"),
              json_object_get(t, "costed_started"));
    set_ratio(cost, "per_family_completed_gbp", json_object_get(t, "cost_gbp"),
              json_object_get(t, "costed_completed"));
    json_object_set_new(out, "cost", cost);
    params = json_object_get(row, "sroi_parameters");
    saved = json_number_value(json_object_get(params, "savings_per_family_gbp"))
            * json_number_value(json_object_get(t, "costed_completed"));
    value = json_real(saved);
    sroi = json_pack("{s:s, s:O}", "label", "estimate", "parameters", params);
    set_ratio(sroi, "ratio", value, json_object_get(t, "cost_gbp"));
    json_decref(value);
    json_object_set_new(out, "sroi", sroi);
    json_object_set(out, "series", json_object_get(row, "series"));
    json_object_set_new(out, "previous",
                        previous != NULL ? db_row_to_json(previous, 0) : json_null());
    if (previous != NULL) {
        json_t *p = json_object_get(out, "previous");
        json_object_update(p, json_object_get(p, "previous"));
        json_object_del(p, "previous");
    }
    json_decref(row);
    return out;
}

/* ---- Small numbers withheld (a commissioner's view) ----------------------------------------- */

/* The counts of people in a report, and the additive lines between them (suppress_lines). */
struct withheld {
    struct cell {
        json_t *parent; /* the object holding the count */
        char key[48];
        char path[112];
        long v;
    } * cells;
    size_t n, cap;
    size_t *lines;
    size_t nidx, idxcap, nlines;
};

/* Adds member `key` of `parent` (reached as `path`) as a cell when it is a count; returns its
 * index, or -1. */
static long
cell(struct withheld *w, json_t *parent, const char *key, const char *path)
{
    json_t *v = json_object_get(parent, key);
    struct cell *c;

    if (!json_is_integer(v) && !(json_is_real(v) && json_real_value(v) >= 0)) {
        return -1;
    }
    if (w->n == w->cap) {
        struct cell *more = realloc(w->cells, (w->cap = w->cap * 2 + 32) * sizeof(*more));
        if (more == NULL) {
            return -1;
        }
        w->cells = more;
    }
    c = &w->cells[w->n];
    c->parent = parent;
    snprintf(c->key, sizeof(c->key), "%s", key);
    snprintf(c->path, sizeof(c->path), "%s", path);
    c->v = (long)json_number_value(v);
    return (long)w->n++;
}

/* Appends index `i` (when a cell) to the line being built. */
static void
line_add(struct withheld *w, long i)
{
    if (i < 0) {
        return;
    }
    if (w->nidx + 1 >= w->idxcap) {
        size_t *more = realloc(w->lines, (w->idxcap = w->idxcap * 2 + 64) * sizeof(*more));
        if (more == NULL) {
            return;
        }
        w->lines = more;
    }
    w->lines[w->nidx++] = (size_t)i;
}

static void
line_end(struct withheld *w)
{
    line_add(w, 0);
    w->lines[w->nidx - 1] = SUPPRESS_END;
    w->nlines++;
}

/* One line: the total `total_key` of `total_parent` and the counts of breakdown `b` (one level,
 * or two when `two`), reached from `path`. */
static void
breakdown_line(struct withheld *w,
               json_t *total_parent,
               const char *total_key,
               json_t *b,
               const char *path,
               int two)
{
    char p[112];
    const char *k, *k2;
    json_t *v, *u;

    line_add(w, cell(w, total_parent, total_key, total_key));
    json_object_foreach(b, k, v)
    {
        if (!two) {
            snprintf(p, sizeof(p), "%s.%s", path, k);
            line_add(w, cell(w, b, k, p));
            continue;
        }
        json_object_foreach(v, k2, u)
        {
            snprintf(p, sizeof(p), "%s.%s.%s", path, k, k2);
            line_add(w, cell(w, v, k2, p));
        }
    }
    line_end(w);
}

/* A line of a headline total and the same figure of each item of `items` (whose `status`, when
 * `completed_only`, is completed). */
static void
items_line(struct withheld *w,
           json_t *total_parent,
           const char *total_path,
           const char *total_key,
           json_t *items,
           const char *path,
           const char *key,
           int completed_only)
{
    char p[112];
    json_t *item;
    size_t i;

    line_add(w, cell(w, total_parent, total_key, total_path));
    json_array_foreach(items, i, item)
    {
        const char *st = json_string_value(json_object_get(item, "status"));
        long c;

        snprintf(p, sizeof(p), "%s.%zu.%s", path, i, key);
        c = cell(w, item, key, p);
        if (!completed_only || (st != NULL && strcmp(st, "completed") == 0)) {
            line_add(w, c);
        }
    }
    line_end(w);
}

/* 1 when the cell at `path` was withheld. */
static int
was_withheld(json_t *suppressed, const char *path)
{
    return validate_in_json_list(suppressed, path);
}

/* The commissioner's view of report `b`: every count of people from 1 to SUPPRESS_MAX is null,
 * with secondary suppression along each line that adds up (a breakdown and its total, the runs
 * and the total, the years and the total), the ratios that would give a withheld count back are
 * null, and outcome measures with fewer than 5 pairs keep only their name. The paths withheld
 * are listed in `suppressed`. Returns 0, or -1 when out of memory. */
static int
withhold_small(json_t *b)
{
    static const char *const headline[] = {"families_started", "families_completed", "adults",
                                           "children"};
    static const char *const totals[][2] = {{"families", "started"},
                                            {"families", "completed"},
                                            {"adults", "total"},
                                            {"children", "total"}};
    struct withheld w = {NULL, 0, 0, NULL, 0, 0, 0};
    json_t *fam = json_object_get(b, "families"), *sup = json_object_get(b, "suppressed");
    json_t *items = json_object_get(json_object_get(b, "runs"), "items"), *v, *o;
    json_t *prev = json_object_get(b, "previous");
    const char *k, *k2;
    char p[112];
    int *hidden = NULL, rc = -1;
    size_t i, j;

    breakdown_line(&w, fam, "referred", json_object_get(b, "referrals_by_source"),
                   "referrals_by_source", 0);
    breakdown_line(&w, json_object_get(b, "adults"), "total",
                   json_object_get(json_object_get(b, "adults"), "by_relationship"),
                   "adults.by_relationship", 1);
    breakdown_line(&w, json_object_get(b, "children"), "total",
                   json_object_get(json_object_get(b, "children"), "by_age_band"),
                   "children.by_age_band", 1);
    items_line(&w, fam, "families.started", "started", items, "runs.items", "families_started", 1);
    items_line(&w, fam, "families.completed", "completed", items, "runs.items",
               "families_completed", 1);
    for (i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s.%s", totals[i][0], totals[i][1]);
        items_line(&w, json_object_get(b, totals[i][0]), p, totals[i][1],
                   json_object_get(b, "series"), "series", headline[i], 0);
        snprintf(p, sizeof(p), "previous.%s", headline[i]);
        cell(&w, prev, headline[i], p);
    }
    cell(&w, fam, "assessed", "families.assessed");
    json_object_foreach(json_object_get(b, "onward_referrals"), k, v)
    {
        snprintf(p, sizeof(p), "onward_referrals.%s", k);
        cell(&w, json_object_get(b, "onward_referrals"), k, p);
    }
    json_object_foreach(json_object_get(b, "feedback"), k, v)
    {
        json_object_foreach(v, k2, o)
        {
            snprintf(p, sizeof(p), "feedback.%s.%s", k, k2);
            cell(&w, v, k2, p);
        }
    }
    json_array_foreach(json_object_get(b, "outcomes"), i, o)
    {
        snprintf(p, sizeof(p), "outcomes.%zu.pre_only", i);
        cell(&w, o, "pre_only", p);
        snprintf(p, sizeof(p), "outcomes.%zu.post_only", i);
        cell(&w, o, "post_only", p);
    }
    if (w.n > 0 && (hidden = calloc(w.n, sizeof(*hidden))) == NULL) {
        goto out;
    }
    {
        long *counts = calloc(w.n + 1, sizeof(*counts));
        if (counts == NULL) {
            goto out;
        }
        for (i = 0; i < w.n; i++) {
            counts[i] = w.cells[i].v;
        }
        suppress_lines(counts, w.n, w.lines, w.nlines, hidden);
        free(counts);
    }
    for (i = 0; i < w.n; i++) {
        if (hidden[i] && !was_withheld(sup, w.cells[i].path)) {
            json_object_set_new(w.cells[i].parent, w.cells[i].key, json_null());
            json_array_append_new(sup, json_string(w.cells[i].path));
        }
    }
    /* Ratios that would give a withheld count back. */
    if (was_withheld(sup, "families.started") || was_withheld(sup, "families.completed")) {
        json_object_set_new(fam, "completion_rate", json_null());
        json_object_set_new(json_object_get(b, "cost"), "per_family_started_gbp", json_null());
        json_object_set_new(json_object_get(b, "cost"), "per_family_completed_gbp", json_null());
        json_object_set_new(json_object_get(b, "sroi"), "ratio", json_null());
    }
    if (was_withheld(sup, "families.started")) {
        json_object_set_new(fam, "places_filled", json_null());
    }
    json_object_foreach(json_object_get(json_object_get(b, "adults"), "by_relationship"), k, v)
    {
        if (json_is_null(json_object_get(v, "male"))) {
            json_object_set_new(json_object_get(b, "adults"), "male_share", json_null());
        }
    }
    if (json_is_null(json_object_get(json_object_get(b, "adults"), "total"))) {
        json_object_set_new(json_object_get(b, "adults"), "male_share", json_null());
    }
    json_object_foreach(json_object_get(b, "feedback"), k, v)
    {
        int any = 0;
        json_object_foreach(v, k2, o)
        {
            any |= json_is_null(o);
        }
        if (any) {
            json_object_set_new(v, "shares", json_null());
        }
    }
    /* Outcome measures of fewer than 5 pairs: their name only. */
    json_array_foreach(json_object_get(b, "outcomes"), i, o)
    {
        static const char *const kept[] = {"measure_code",     "measure_name", "respondent",
                                           "higher_is_better", "runs",         "pre_only",
                                           "post_only"};
        if (json_integer_value(json_object_get(o, "n")) >= 5) {
            continue;
        }
        void *iter = json_object_iter(o);
        while (iter != NULL) {
            const char *key = json_object_iter_key(iter);
            iter = json_object_iter_next(o, iter);
            for (j = 0; j < sizeof(kept) / sizeof(kept[0]) && strcmp(kept[j], key) != 0; j++) {
            }
            if (j == sizeof(kept) / sizeof(kept[0])) {
                json_object_del(o, key);
            }
        }
        json_object_set_new(o, "n", json_null());
        snprintf(p, sizeof(p), "outcomes.%zu.n", i);
        json_array_append_new(sup, json_string(p));
    }
    rc = 0;
out:
    free(hidden);
    free(w.cells);
    free(w.lines);
    return rc;
}

/* Writes every figure of `v` as a CSV row path,value into `rows` (arrays and objects flattened,
 * paths joined with '.' and array items by index). */
static void
flatten(json_t *rows, const char *path, json_t *v)
{
    char sub[256];
    const char *k;
    json_t *w;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach(v, k, w)
        {
            snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] != '\0' ? "." : "", k);
            flatten(rows, sub, w);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, w)
        {
            snprintf(sub, sizeof(sub), "%s.%zu", path, i);
            flatten(rows, sub, w);
        }
    } else {
        json_array_append_new(rows, json_pack("{s:s, s:O}", "path", path, "value", v));
    }
}

/* The enquiries of the report (imp_enquiries) into *out: of every organisation (`by` ""), or of
 * organisation `org` (`by` "org"); null for a report of some areas, since an enquiry is counted
 * by organisation, not by site. Returns 0, or the status of the problem sent. */
static int
enquiries_or_problem(
    struct req *r, const char *by, const char *org, const char *from, const char *to, json_t **out)
{
    PGresult *res = NULL;
    int status;

    *out = json_null();
    if (strcmp(by, "area") == 0) {
        return 0;
    }
    status = http_exec_or_problem(r, "imp_enquiries", 3,
                                  (const char *[]){by[0] == '\0' ? NULL : org, from, to}, &res);
    if (status == 0) {
        json_t *row = db_row_to_json(res, 0);

        json_decref(*out);
        *out = json_incref(json_object_get(row, "enquiries"));
        json_decref(row);
    }
    PQclear(res);
    return status;
}

/* Checks local_authority (comma-separated codes) and writes it as a text[] literal into `arr`.
 * Returns 0, or the status of the 400 sent. */
static int
areas_or_problem(struct req *r, const char *list, char *arr, size_t len)
{
    char code[16];
    const char *p = list;
    size_t used = 0, n = 0, k;

    while (*p != '\0') {
        k = strcspn(p, ",");
        if (k == 0 || k >= sizeof(code) || ++n > IMP_MAX_AREAS) {
            return problem_send(r, PROBLEM_BAD_REQUEST,
                                "local_authority: one to %d ONS codes, comma-separated",
                                IMP_MAX_AREAS);
        }
        memcpy(code, p, k);
        code[k] = '\0';
        if (!validate_area_code(code)) {
            return problem_send(r, PROBLEM_BAD_REQUEST,
                                "local_authority: %s is not an ONS code such as E06000035 or an "
                                "Irish county such as IE-CO",
                                code);
        }
        used += (size_t)snprintf(arr + used, len - used, "%s%s", used == 0 ? "{" : ",", code);
        p += k + (p[k] == ',');
    }
    snprintf(arr + used, len - used, "}");
    return 0;
}

/* The columns of the public figures, in imp_public's order after the year. */
static const char *const public_figures[] = {"practitioners_trained", "runs", "families",
                                             "participants", "locations"};
#define IMP_PUBLIC_FIGURES (sizeof(public_figures) / sizeof(public_figures[0]))

/* The public figures of `res` (imp_public: years, then the total), small numbers withheld
 * (suppress_table, each figure a column whose last row is its total), as {years, since_start,
 * suppressed}. */
static json_t *
public_json(const PGresult *res)
{
    size_t rows = (size_t)PQntuples(res), i, j;
    long *counts = calloc(rows * IMP_PUBLIC_FIGURES + 1, sizeof(*counts));
    int *hidden = calloc(rows * IMP_PUBLIC_FIGURES + 1, sizeof(*hidden));
    json_t *years = json_array(), *suppressed = json_array(), *out = NULL, *row;
    char path[64];

    if (counts == NULL || hidden == NULL) {
        goto out;
    }
    for (i = 0; i < rows; i++) {
        for (j = 0; j < IMP_PUBLIC_FIGURES; j++) {
            counts[i * IMP_PUBLIC_FIGURES + j] = atol(db_value(res, (int)i, public_figures[j]));
        }
    }
    suppress_table(counts, rows, IMP_PUBLIC_FIGURES, 1, 0, hidden);
    for (i = 0; i < rows; i++) {
        const char *year = db_value(res, (int)i, "year");

        row = year != NULL ? json_pack("{s:i}", "year", atoi(year)) : json_object();
        for (j = 0; j < IMP_PUBLIC_FIGURES; j++) {
            json_object_set_new(row, public_figures[j],
                                hidden[i * IMP_PUBLIC_FIGURES + j]
                                    ? json_null()
                                    : json_integer(counts[i * IMP_PUBLIC_FIGURES + j]));
            if (hidden[i * IMP_PUBLIC_FIGURES + j]) {
                snprintf(path, sizeof(path), "%s%s%s.%s", year != NULL ? "years." : "since_start",
                         year != NULL ? year : "", "", public_figures[j]);
                json_array_append_new(suppressed, json_string(path));
            }
        }
        if (year != NULL) {
            json_array_append_new(years, row);
        } else {
            out = json_pack("{s:O, s:o}", "years", years, "since_start", row);
        }
    }
    json_object_set(out, "suppressed", suppressed);
out:
    free(counts);
    free(hidden);
    json_decref(years);
    json_decref(suppressed);
    return out;
}

static json_t *
public_figures_compute(struct db_conn *db, struct public_error *e)
{
    PGresult *res = db_exec(db, "imp_public", 0, NULL), *hist = NULL;
    json_t *body = NULL, *before = NULL;

    if (!db_ok(res)) {
        e->fault = PUBLIC_DB_ERROR;
        e->res = res;
        return NULL;
    }
    hist = db_exec(db, "imp_history", 0, NULL);
    if (!db_ok(hist)) {
        e->fault = PUBLIC_DB_ERROR;
        e->res = hist;
        PQclear(res);
        return NULL;
    }
    if ((body = public_json(res)) == NULL) {
        e->fault = PUBLIC_INTERNAL;
        goto out;
    }
    if (PQntuples(hist) == 1) {
        before = db_row_to_json(hist, 0);
        json_object_set_new(before, "label", json_string("before the registry"));
    }
    json_object_set_new(body, "before_registry", before != NULL ? before : json_null());
out:
    PQclear(res);
    PQclear(hist);
    return body;
}

/* The public figures are the same for everyone and change when a run is completed or a history
 * edited, while the whole internet may ask for them: they are kept for
 * REGISTRY_PUBLIC_FIGURES_CACHE_S seconds once computed. One caller computes them again when they
 * are stale; the others answer the stale copy meanwhile (or wait, when there is none). */
static struct {
    pthread_mutex_t lock;
    json_t *body;       /* the figures, owned here; NULL: none yet */
    struct timespec at; /* when they were computed (CLOCK_MONOTONIC) */
    unsigned long
        epoch; /* bumped by impact_public_forget: a computation begun before is not kept */
    int computing;
} pub_cache = {PTHREAD_MUTEX_INITIALIZER, NULL, {0, 0}, 0, 0};

void
impact_public_forget(void)
{
    pthread_mutex_lock(&pub_cache.lock);
    json_decref(pub_cache.body);
    pub_cache.body = NULL;
    pub_cache.epoch++;
    pthread_mutex_unlock(&pub_cache.lock);
}

json_t *
impact_public_figures(struct db_conn *db, struct public_error *e)
{
    struct timespec now;
    json_t *fresh, *copy = NULL;
    unsigned long epoch;

    if (config.public_figures_cache_s <= 0) {
        return public_figures_compute(db, e);
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&pub_cache.lock);
    if (pub_cache.body != NULL
        && (now.tv_sec - pub_cache.at.tv_sec < config.public_figures_cache_s
            || pub_cache.computing)) {
        copy = json_deep_copy(pub_cache.body);
        pthread_mutex_unlock(&pub_cache.lock);
        return copy;
    }
    pub_cache.computing = 1;
    epoch = pub_cache.epoch;
    pthread_mutex_unlock(&pub_cache.lock);
    fresh = public_figures_compute(db, e);
    pthread_mutex_lock(&pub_cache.lock);
    pub_cache.computing = 0;
    if (fresh != NULL && epoch == pub_cache.epoch) {
        json_decref(pub_cache.body);
        pub_cache.body = json_deep_copy(fresh);
        pub_cache.at = now;
    }
    pthread_mutex_unlock(&pub_cache.lock);
    return fresh;
}

int
impact_public(struct req *r)
{
    static const char *const allowed[] = {NULL};
    struct public_error e;
    struct query q;
    json_t *body = NULL;
    int status;

    public_error_init(&e);
    if ((status = http_query_or_problem(r, allowed, &q)) != 0) {
        goto out;
    }
    body = impact_public_figures(r->db, &e);
    status = body != NULL ? http_send_public_json(r, body) : public_error_send(r, &e);
out:
    json_decref(body);
    public_error_cleanup(&e);
    query_cleanup(&q);
    return status;
}

int
impact_report(struct req *r)
{
    static const char *const allowed[] = {
        "from", "to", "local_authority", "variant", "runs_limit", "organisation_id", NULL};
    struct query q;
    PGresult *res = NULL, *prev = NULL, *period = NULL, *mine = NULL;
    json_t *body = NULL, *rows = NULL, *enq = NULL;
    const char *params[8], *from, *to, *v;
    char areas[IMP_MAX_AREAS * 12 + 4], limit[16], stmt[32];
    const char *by = "";
    long runs_limit = IMP_RUNS_LISTED;
    int status, cube;

    if ((status = http_query_or_problem(r, allowed, &q)) != 0) {
        goto out;
    }
    from = query_get(&q, "from");
    to = query_get(&q, "to");
    if ((from != NULL && !validate_date(from)) || (to != NULL && !validate_date(to))) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "%s: a date as YYYY-MM-DD",
                              from != NULL && !validate_date(from) ? "from" : "to");
        goto out;
    }
    if (from != NULL && to != NULL && strcmp(to, from) < 0) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "to: on or after from");
        goto out;
    }
    v = query_get(&q, "organisation_id");
    if (v != NULL && !validate_uuid(v)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "organisation_id: a UUID");
        goto out;
    }
    if ((v = query_get(&q, "variant")) != NULL && !validate_text(v, 1, 32)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "variant: text of 1 to 32 characters");
        goto out;
    }
    if ((v = query_get(&q, "runs_limit")) != NULL
        && !validate_whole(v, 1, IMP_RUNS_LISTED_MAX, &runs_limit)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "runs_limit: a whole number from 1 to %d",
                              IMP_RUNS_LISTED_MAX);
        goto out;
    }
    snprintf(limit, sizeof(limit), "%ld", runs_limit);
    /* A licensee, its own runs; a commissioner, its areas ($7, below). */
    params[0] = auth_is_admin(&r->principal) || auth_is_commissioner(&r->principal)
                    ? NULL
                    : r->principal.org;
    params[1] = query_get(&q, "organisation_id");
    params[2] = NULL;
    if ((v = query_get(&q, "local_authority")) != NULL) {
        if ((status = areas_or_problem(r, v, areas, sizeof(areas))) != 0) {
            goto out;
        }
        params[2] = areas;
    }
    params[3] = query_get(&q, "variant");
    params[4] = from;
    params[5] = to;
    params[6] = NULL;
    if (auth_is_commissioner(&r->principal)) {
        if ((status =
                 http_exec_or_problem(r, "imp_areas", 1, (const char *[]){r->principal.sub}, &mine))
            != 0) {
            goto out;
        }
        params[6] = PQntuples(mine) == 1 ? db_value(mine, 0, "areas") : "{}";
    }
    params[7] = limit;
    /* Every run (no organisation or area): the figures kept summed in delivery_cube. Otherwise
     * from the runs at the sites of the districts asked for (or the commissioner's), or of the
     * organisation (the caller's, or the one asked for). */
    cube = params[0] == NULL && params[1] == NULL && params[2] == NULL && params[6] == NULL;
    if (!cube && (params[2] != NULL || params[6] != NULL)) {
        by = "area";
        if (params[2] == NULL) {
            params[2] = params[6];
            params[6] = NULL;
        }
    } else if (!cube) {
        by = "org";
        if (params[0] == NULL) {
            params[0] = params[1];
            params[1] = NULL;
        }
    }
    /* One read-only transaction: the report and its previous period read one snapshot, and the
     * generic plans are asked for in it only (imp_generic; set_config local to it). */
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = http_exec_or_problem(r, "imp_generic", 0, NULL, NULL)) != 0) {
        goto out;
    }
    snprintf(stmt, sizeof(stmt), "imp_report_%s", by);
    status = cube ? http_exec_or_problem(r, "imp_cube_report", 4,
                                         (const char *[]){params[3], from, to, limit}, &res)
                  : http_exec_or_problem(r, stmt, 8, params, &res);
    if (status != 0) {
        goto out;
    }
    if (from != NULL && to != NULL) {
        if ((status = http_exec_or_problem(r, "imp_period", 2, params + 4, &period)) != 0) {
            goto out;
        }
        params[4] = db_value(period, 0, "from");
        params[5] = db_value(period, 0, "to");
        snprintf(stmt, sizeof(stmt), "imp_previous_%s", by);
        status = cube ? http_exec_or_problem(r, "imp_cube_previous", 3, params + 3, &prev)
                      : http_exec_or_problem(r, stmt, 7, params, &prev);
        if (status != 0) {
            goto out;
        }
    }
    if ((status = enquiries_or_problem(r, by, params[0], from, to, &enq)) != 0) {
        goto out;
    }
    db_rollback(r->db); /* it wrote nothing */
    body = report_json(res, prev);
    json_object_set_new(body, "enquiries", enq);
    enq = NULL;
    json_object_set_new(body, "suppressed", json_array());
    if (auth_is_commissioner(&r->principal) && withhold_small(body) != 0) {
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
        goto out;
    }
    if (http_wants_csv(r)) {
        rows = json_array();
        flatten(rows, "", body);
        status = http_send_csv(r, 200, rows, NULL);
    } else {
        status = http_send_json(r, 200, body);
    }
out:
    json_decref(enq);
    json_decref(rows);
    json_decref(body);
    PQclear(res);
    PQclear(prev);
    PQclear(period);
    PQclear(mine);
    query_cleanup(&q);
    return status;
}
