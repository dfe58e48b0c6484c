/* reports.c: /v1/reports, figures for the licensing body (admin only; the router checks). "Today"
 * is registry_today(), the UK calendar date; neither route takes other query names (400).
 *
 * GET /v1/reports/summary: one array of {<key fields>..., count} per section (rep_sections):
 * organisations not archived by their latest licence's effective status ("none": never held
 * one), facilitators by effective status (lapsed when past accredited_until), practitioners
 * trained (passed a practitioner course, by the year its session ended, cancelled sessions left
 * out, once a person a year), programme runs by year and status, families reached and completed
 * (sums by the run's year), active locations by kind; then participants (adults + children, summed
 * by the run's year over the runs that recorded either) and cumulative: for each year with data,
 * the running totals to the end of that year of families reached, participants and practitioners
 * trained (each person once, in the year of their first pass), in that order. Enumerated sections
 * list every value, 0 included; year sections only the years with data, ascending. CSV: rows of
 * section,key,count (programme_runs' key "<year>/<status>", cumulative's "<year>/<figure>").
 *
 * GET /v1/reports/expiring?within_days=60 (1-365): {as_of, within_days, items}, sorted by date,
 * type, reference: active licences (of organisations not archived) and accredited facilitators
 * whose end falls in [today, today + n], and runs at risk whatever their start (planned,
 * recruiting or running, not ended, with a facilitator suspended or withdrawn:
 * programme_at_risk, migration 0010; expires_on the start, or today once started; at_risk in
 * JSON only). Each names the organisation to contact (an accreditation: the current employer,
 * or nulls). CSV: one row per item. */
#include "registry/reports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/db.h"
#include "registry/http.h"
#include "registry/problem.h"

#define REP_WITHIN_DEFAULT "60"
#define REP_WITHIN_MAX     365

/* Section rows: section, key (the CSV's: k1, or k1/k2), count, _k1, _k2 (NULL unless two keys);
 * in the order documented above. */
#define REP_SUMMARY_SQL                                                                            \
    "WITH org AS (SELECT coalesce((SELECT licence_effective_status(l.status, l.valid_until, "      \
    "registry_today()) FROM licence l WHERE l.organisation_id = o.id ORDER BY l.created_at "       \
    "DESC, l.id DESC LIMIT 1), 'none') AS k FROM organisation o WHERE o.archived_at IS NULL), "    \
    "fac AS (SELECT CASE WHEN f.status = 'accredited' AND f.accredited_until < "                   \
    "registry_today() THEN 'lapsed' ELSE f.status END AS k FROM facilitator f), run AS "           \
    "(SELECT extract(year FROM r.starts_on)::int AS y, r.status, r.families_started, "             \
    "r.families_completed, r.adults, r.children FROM programme_run r), pt AS (SELECT "             \
    "extract(year FROM t.ends_on)::int AS y, e.facilitator_id AS fid FROM enrolment e JOIN "       \
    "training_session t ON t.id = e.session_id JOIN course c ON c.id = t.course_id WHERE "         \
    "e.status = 'passed' AND c.kind = 'practitioner' AND t.status <> 'cancelled'), yearly AS "     \
    "(SELECT u.y, sum(u.fam) AS fam, sum(u.part) AS part, sum(u.newp) AS newp FROM (SELECT "       \
    "run.y, run.families_started AS fam, CASE WHEN run.adults IS NULL AND run.children IS "        \
    "NULL THEN NULL ELSE coalesce(run.adults, 0) + coalesce(run.children, 0) END AS part, "        \
    "NULL::bigint AS newp FROM run WHERE run.families_started IS NOT NULL OR run.adults IS "       \
    "NOT NULL OR run.children IS NOT NULL UNION ALL SELECT f.y, NULL, NULL, count(*) FROM "        \
    "(SELECT min(pt.y) AS y FROM pt GROUP BY pt.fid) f GROUP BY f.y) u GROUP BY u.y), cum AS "     \
    "(SELECT y, sum(coalesce(fam, 0)) OVER w AS fam, sum(coalesce(part, 0)) OVER w AS part, "      \
    "sum(coalesce(newp, 0)) OVER w AS trained FROM yearly WINDOW w AS (ORDER BY y)), rows AS "     \
    "(SELECT 1 AS s, 'organisations' AS section, v.o AS o1, 0 AS o2, v.k AS k1, NULL::text AS "    \
    "k2, (SELECT count(*) FROM org WHERE org.k = v.k) AS n FROM unnest(ARRAY['active', "           \
    "'pending', 'suspended', 'expired', 'revoked', 'none']) WITH ORDINALITY AS v (k, o) UNION "    \
    "ALL SELECT 2, 'facilitators', v.o, 0, v.k, NULL, (SELECT count(*) FROM fac WHERE fac.k = "    \
    "v.k) FROM unnest(ARRAY['in_training', 'accredited', 'lapsed', 'suspended', 'withdrawn']) "    \
    "WITH ORDINALITY AS v (k, o) UNION ALL SELECT 3, 'practitioners_trained', pt.y, 0, "           \
    "pt.y::text, NULL, count(DISTINCT pt.fid) FROM pt GROUP BY pt.y UNION ALL SELECT 4, "          \
    "'programme_runs', run.y, array_position(ARRAY['planned', 'recruiting', 'running', "           \
    "'completed', 'cancelled'], run.status), run.y::text, run.status, count(*) FROM run GROUP "    \
    "BY run.y, run.status UNION ALL SELECT 5, 'families_reached', run.y, 0, run.y::text, "         \
    "NULL, sum(run.families_started) FROM run WHERE run.families_started IS NOT NULL GROUP BY "    \
    "run.y UNION ALL SELECT 6, 'families_completed', run.y, 0, run.y::text, NULL, "                \
    "sum(run.families_completed) FROM run WHERE run.families_completed IS NOT NULL GROUP BY "      \
    "run.y UNION ALL SELECT 7, 'locations', v.o, 0, v.k, NULL, (SELECT count(*) FROM location "    \
    "l WHERE l.kind = v.k AND l.active AND l.archived_at IS NULL) FROM "                           \
    "unnest(ARRAY['community', 'family_centre', 'school', 'prison', 'health', 'other']) WITH "     \
    "ORDINALITY AS v (k, o) UNION ALL SELECT 8, 'participants', run.y, 0, run.y::text, NULL, "     \
    "sum(coalesce(run.adults, 0) + coalesce(run.children, 0)) FROM run WHERE run.adults IS "       \
    "NOT NULL OR run.children IS NOT NULL GROUP BY run.y UNION ALL SELECT 9, 'cumulative', "       \
    "cum.y, v.o, cum.y::text, v.k, CASE v.k WHEN 'families_reached' THEN cum.fam WHEN "            \
    "'participants' THEN cum.part ELSE cum.trained END FROM cum CROSS JOIN "                       \
    "unnest(ARRAY['families_reached', 'participants', 'practitioners_trained']) WITH "             \
    "ORDINALITY AS v (k, o))SELECT section, k1 || coalesce('/' || k2, '') AS key, n::bigint "      \
    "AS count, k1 AS _k1, k2 AS _k2 FROM rows ORDER BY s, o1, o2"

/* $1 within_days. One row with only _today when nothing expires. */
#define REP_EXPIRING_SQL                                                                           \
    "SELECT t.today::text AS _today, x.* FROM (SELECT registry_today() AS today) t LEFT JOIN "     \
    "(SELECT 'licence' AS type, l.id, l.number AS reference, o.name AS holder, l.valid_until AS "  \
    "expires_on, l.valid_until - registry_today() AS days_left, o.id AS organisation_id, o.name "  \
    "AS organisation_name, o.email AS organisation_email, o.phone AS organisation_phone, "         \
    "NULL::jsonb AS at_risk FROM licence l JOIN organisation o ON o.id = l.organisation_id WHERE " \
    "o.archived_at IS NULL AND licence_effective_status(l.status, l.valid_until, "                 \
    "registry_today()) = 'active' AND l.valid_until BETWEEN registry_today() AND "                 \
    "registry_today() + $1::int UNION ALL SELECT 'accreditation', f.id, f.registration_number, "   \
    "f.given_name || ' ' || f.family_name, f.accredited_until, f.accredited_until - "              \
    "registry_today(), o.id, o.name, o.email, o.phone, NULL FROM facilitator f LEFT JOIN LATERAL " \
    "(SELECT e.organisation_id FROM facilitator_employment e WHERE e.facilitator_id = f.id AND "   \
    "e.started_on <= registry_today() AND (e.ended_on IS NULL OR e.ended_on >= registry_today()) " \
    "ORDER BY e.started_on DESC, e.id LIMIT 1) cur ON true LEFT JOIN organisation o ON o.id = "    \
    "cur.organisation_id WHERE f.status = 'accredited' AND f.accredited_until BETWEEN "            \
    "registry_today() AND registry_today() + $1::int UNION ALL SELECT 'programme_at_risk', p.id, " \
    "(SELECT string_agg(a->>'facilitator', ', ') FROM jsonb_array_elements(k.at_risk) a), "        \
    "o.name, greatest(p.starts_on, registry_today()), greatest(p.starts_on - registry_today(), "   \
    "0), o.id, o.name, o.email, o.phone, k.at_risk FROM programme_run p JOIN organisation o ON "   \
    "o.id = p.organisation_id CROSS JOIN LATERAL (SELECT programme_at_risk(p.id) AS at_risk) k "   \
    "WHERE p.status IN ('planned', 'recruiting', 'running') AND p.ends_on >= registry_today() "    \
    "AND k.at_risk <> '[]'::jsonb) x ON true "                                                     \
    "ORDER BY x.expires_on, x.type, x.reference"

const struct db_stmt reports_stmts[] = {
    {"rep_summary", REP_SUMMARY_SQL},
    {"rep_expiring", REP_EXPIRING_SQL},
    {NULL, NULL},
};

/* The summary's sections, in order, with the names of their key fields. */
static const struct {
    const char *name;
    const char *key1;
    const char *key2; /* NULL: one key */
    int key1_is_year; /* the key is a year, rendered as an integer */
} rep_sections[] = {
    {"organisations", "licence_status", NULL, 0},
    {"facilitators", "status", NULL, 0},
    {"practitioners_trained", "year", NULL, 1},
    {"programme_runs", "year", "status", 1},
    {"families_reached", "year", NULL, 1},
    {"families_completed", "year", NULL, 1},
    {"locations", "kind", NULL, 0},
    {"participants", "year", NULL, 1},
    {"cumulative", "year", "figure", 1},
};

#define REP_NSECTIONS (sizeof(rep_sections) / sizeof(rep_sections[0]))

static const char *const rep_expiring_columns[] = {"type",
                                                   "id",
                                                   "reference",
                                                   "holder",
                                                   "expires_on",
                                                   "days_left",
                                                   "organisation_id",
                                                   "organisation_name",
                                                   "organisation_email",
                                                   "organisation_phone",
                                                   NULL};

/* The index of section `name` in rep_sections, or -1. */
static int
section_index(const char *name)
{
    size_t i;

    for (i = 0; i < REP_NSECTIONS; i++) {
        if (strcmp(rep_sections[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Returns a new reference: the summary object, every section present (maybe empty). */
static json_t *
summary_json(const PGresult *res)
{
    json_t *body = json_object();
    int row, n = PQntuples(res);
    size_t i;

    for (i = 0; i < REP_NSECTIONS; i++) {
        json_object_set_new(body, rep_sections[i].name, json_array());
    }
    for (row = 0; row < n; row++) {
        int s = section_index(PQgetvalue(res, row, 0));
        const char *k1 = PQgetvalue(res, row, 3);
        json_t *item;

        if (s < 0) {
            continue;
        }
        item = json_object();
        json_object_set_new(item, rep_sections[s].key1,
                            rep_sections[s].key1_is_year ? json_integer(strtoll(k1, NULL, 10))
                                                         : json_string(k1));
        if (rep_sections[s].key2 != NULL) {
            json_object_set_new(item, rep_sections[s].key2, json_string(PQgetvalue(res, row, 4)));
        }
        json_object_set_new(item, "count",
                            json_integer(strtoll(PQgetvalue(res, row, 2), NULL, 10)));
        json_array_append_new(json_object_get(body, rep_sections[s].name), item);
    }
    return body;
}

int
reports_summary(struct req *r)
{
    static const char *const allowed[] = {NULL};
    struct query q;
    PGresult *res = NULL;
    json_t *body = NULL;
    int status;

    if ((status = http_query_or_problem(r, allowed, &q)) == 0
        && (status = http_exec_or_problem(r, "rep_summary", 0, NULL, &res)) == 0) {
        if (http_wants_csv(r)) {
            status = csv_send_result(r, 200, res, PQntuples(res));
        } else {
            status = http_send_json(r, 200, body = summary_json(res));
        }
    }
    json_decref(body);
    PQclear(res);
    query_cleanup(&q);
    return status;
}

/* 1 when `s` is a whole number of days from 1 to REP_WITHIN_MAX (digits only). */
static int
within_days_ok(const char *s)
{
    size_t i, len = strlen(s);
    unsigned long days;

    if (len == 0 || len > 6) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    days = strtoul(s, NULL, 10);
    return days >= 1 && days <= REP_WITHIN_MAX;
}

int
reports_expiring(struct req *r)
{
    static const char *const allowed[] = {"within_days", NULL};
    struct query q;
    PGresult *res = NULL;
    json_t *items = NULL, *body = NULL;
    const char *within, *params[1];
    char days[8];
    int status, row, n;

    if ((status = http_query_or_problem(r, allowed, &q)) != 0) {
        goto out;
    }
    within = query_get(&q, "within_days");
    if (within == NULL) {
        within = REP_WITHIN_DEFAULT;
    }
    if (!within_days_ok(within)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "within_days: a whole number from 1 to %d",
                              REP_WITHIN_MAX);
        goto out;
    }
    /* Canonical digits ("060" -> "60") for the query and the answer. */
    snprintf(days, sizeof(days), "%lu", strtoul(within, NULL, 10));
    params[0] = days;
    if ((status = http_exec_or_problem(r, "rep_expiring", 1, params, &res)) != 0) {
        goto out;
    }
    items = json_array();
    n = PQntuples(res);
    for (row = 0; row < n; row++) {
        if (db_value(res, row, "type") != NULL) {
            json_t *item = db_row_to_json(res, row);

            /* Only a run at risk names its facilitators and why. */
            if (json_is_null(json_object_get(item, "at_risk"))) {
                json_object_del(item, "at_risk");
            }
            json_array_append_new(items, item);
        }
    }
    if (http_wants_csv(r)) {
        status = http_send_csv(r, 200, items, rep_expiring_columns);
        goto out;
    }
    body = json_pack("{s:s, s:I, s:O}", "as_of", db_value(res, 0, "_today"), "within_days",
                     (json_int_t)strtoll(days, NULL, 10), "items", items);
    if (body == NULL) {
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
        goto out;
    }
    status = http_send_json(r, 200, body);
out:
    json_decref(body);
    json_decref(items);
    PQclear(res);
    query_cleanup(&q);
    return status;
}
