/* openreferral.c: the Open Referral UK feed (/openreferral/...), read-only and open: the UK
 * profile of HSDS 3.0 (github.com/openreferral/uk-profile: schema/openapi.json and the compiled
 * service, service_list and service_at_location_list schemas).
 *
 * One service per licensed organisation (not archived, organisation_licensed_on today), its
 * M-PACT offer: its organization; a service_at_location per active, public, not archived site,
 * never a prison or school (one physical address: address_1 the lines joined, state_province ""
 * as the profile requires it, country GB); one contact only when the contact is public; a WEEKLY
 * schedule per upcoming run (byday the RFC 5545 code, opens_at HH:MM UK time); ages 8 to 17.
 * Ids are the registry's own where a row exists, else name-based UUIDs (openreferral_uuid,
 * migration 0005) that never change.
 *
 * Where the profile is silent: `page` from 1 and `per_page` 1-100 (default 50), a page past the
 * end is 200 and empty; an unknown query name is 400 as everywhere; taxonomy filters match
 * nothing (we publish no taxonomy); ages keep overlapping ranges; day, start_time and end_time
 * keep services (or sites) with an upcoming run that matches; search is a case-insensitive
 * substring of name and description. service_at_locations: `postcode` (full or outward; unknown
 * 404, malformed 400) sorts nearest first and `proximity` (metres, up to 200 km, needs a
 * postcode) bounds the distance; the postcode is never logged or stored. /organizations (HSDS,
 * not the profile) answers the same Page envelope. An unknown service id is 404. */
#include "registry/openreferral.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/db.h"
#include "registry/http.h"
#include "registry/postcodes.h"
#include "registry/problem.h"
#include "registry/validate.h"

#define OR_PER_PAGE_DEFAULT 50
#define OR_PER_PAGE_MAX     100
#define OR_PAGE_MAX         1000000
#define OR_PROXIMITY_MAX    200000.0 /* metres */
#define OR_AGE_MAX          150.0

/* The API info: the profile's version, where the profile is described, its OpenAPI document. */
#define OR_HSDS_VERSION "3.0"
#define OR_PROFILE_URL  "https://github.com/openreferral/uk-profile"
#define OR_OPENAPI_URL                                                                             \
    "https://raw.githubusercontent.com/openreferral/uk-profile/main/schema/openapi.json"

/* ---- SQL fragments ------------------------------------------------------------------------- */

/* An organisation (alias o) whose offer is in the feed. */
#define OR_LICENSED " o.archived_at IS NULL AND organisation_licensed_on(o.id, registry_today()) "

/* A site (alias l) the feed may show. Prison and school sites never, whatever the flags say. */
#define OR_SITE                                                                                    \
    " l.archived_at IS NULL AND l.active AND l.public AND l.kind NOT IN ('prison', 'school') "

/* A programme run (alias p) that is still to come or under way. */
#define OR_UPCOMING                                                                                \
    " p.ends_on >= registry_today() AND p.status IN ('planned', 'recruiting', 'running') "

#define OR_NAME_SQL "'M-PACT (Moving Parents and Children Together) \xe2\x80\x93 ' || o.name"
#define OR_DESCRIPTION                                                                             \
    "M-PACT (Moving Parents and Children Together) is a licensed family-support programme for "    \
    "children and young people aged 8 to 17 and their families affected by parental drug or "      \
    "alcohol misuse. After an assessment, families meet in small groups over eight weekly "        \
    "sessions, with a family review and a reunion, led by accredited facilitators."
#define OR_ELIGIBILITY                                                                             \
    "Children and young people aged 8 to 17 and their families affected by parental "              \
    "substance misuse."

#define OR_SERVICE_ID " openreferral_uuid('service', o.id) "
#define OR_SAL_ID     " openreferral_uuid('service_at_location', l.id) "
#define OR_CONTACT_ID " openreferral_uuid('contact', o.id) "
#define OR_UTC_MS(ts) " to_char((" ts ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "

/* The organization object (alias o). */
#define OR_ORG_JSON                                                                                \
    " jsonb_build_object('id', o.id, 'name', o.name, 'description', o.name || ' is licensed to "   \
    "deliver M-PACT (Moving Parents and Children Together), a programme for families affected by " \
    "parental substance misuse.', 'email', CASE WHEN o.public_contact THEN o.email END, "          \
    "'website', CASE WHEN o.public_contact THEN o.website END) "

/* When the organisation (alias o), its sites or its runs last changed. */
#define OR_LAST_CHANGE                                                                             \
    "greatest(o.updated_at, (SELECT max(x.updated_at) FROM location x WHERE x.organisation_id ="   \
    " o.id), (SELECT max(x.updated_at) FROM programme_run x WHERE x.organisation_id = o.id))"

/* The service's one-to-one fields and its organization (alias o). */
#define OR_SERVICE_JSON                                                                            \
    " jsonb_build_object('id'," OR_SERVICE_ID ", 'organization_id', o.id, 'name', " OR_NAME_SQL    \
    ", 'description', '" OR_DESCRIPTION "', 'url', CASE WHEN o.public_contact THEN o.website END," \
    " 'email', CASE WHEN o.public_contact THEN o.email END, 'status', 'active', 'minimum_age', 8," \
    " 'maximum_age', 17, 'eligibility_description', '" OR_ELIGIBILITY                              \
    "', 'last_modified'," OR_UTC_MS(OR_LAST_CHANGE) ", 'organization'," OR_ORG_JSON ") "

/* The location object (alias l), with its address and accessibility notes. */
#define OR_LOCATION_JSON                                                                           \
    " jsonb_build_object('id', l.id, 'name', l.name, 'location_type', 'physical', 'latitude', "    \
    "l.latitude, 'longitude', l.longitude, 'addresses', "                                          \
    "jsonb_build_array(jsonb_build_object('id', openreferral_uuid('address', l.id), "              \
    "'location_id', l.id, 'address_1', (SELECT string_agg(a.line, ', ' ORDER BY a.n) FROM "        \
    "jsonb_array_elements_text(l.address_lines) WITH ORDINALITY a(line, n)), 'city', l.town, "     \
    "'state_province', '', 'postal_code', l.postcode, 'country', l.country, 'address_type', "      \
    "'physical')), 'accessibility', CASE WHEN l.accessibility IS NOT NULL THEN "                   \
    "jsonb_build_array(jsonb_build_object('id', openreferral_uuid('accessibility', l.id), "        \
    "'location_id', l.id, 'description', l.accessibility)) END) "

/* The service_at_location object (aliases o, l). */
#define OR_SAL_JSON                                                                                \
    " jsonb_build_object('id'," OR_SAL_ID ", 'service_id'," OR_SERVICE_ID ", 'location_id', l.id," \
    " 'location'," OR_LOCATION_JSON ") "

/* Filters shared by /services and /service_at_locations: $1 search, $2 minimum_age,
 * $3 maximum_age, $4 a taxonomy filter was given (matches nothing). */
#define OR_SERVICE_FILTER                                                                          \
    " AND ($1::text IS NULL OR position(lower($1::text) IN lower(" OR_NAME_SQL                     \
    " || ' ' || '" OR_DESCRIPTION "')) > 0) AND ($2::numeric IS NULL OR $2::numeric <= 17)"        \
    " AND ($3::numeric IS NULL OR $3::numeric >= 8) AND NOT $4::boolean "

/* $5 weekday, $6 earliest start time, $7 latest start time, over the upcoming runs (alias p)
 * matching `runs`. */
#define OR_RUN_FILTER(runs)                                                                        \
    " AND (($5::text IS NULL AND $6::time IS NULL AND $7::time IS NULL) OR EXISTS (SELECT 1 FROM"  \
    " programme_run p WHERE " runs " AND" OR_UPCOMING "AND ($5::text IS NULL OR p.weekday ="       \
    " $5::text) AND ($6::time IS NULL OR p.start_time >= $6::time) AND ($7::time IS NULL OR"       \
    " p.start_time <= $7::time))) "

/* The run filters of a service (alias o: its runs at sites the feed shows) and of a site (l). */
#define OR_SERVICE_RUNS                                                                            \
    OR_RUN_FILTER("p.organisation_id = o.id AND EXISTS (SELECT 1 FROM location l"                  \
                  " WHERE l.id = p.location_id AND" OR_SITE ")")
#define OR_SITE_RUNS OR_RUN_FILTER("p.location_id = l.id")

/* The centroid of the postcode asked for ($10, $11). */
#define OR_CENTROID "registry_earth($10::float8, $11::float8)"

const struct db_stmt openreferral_stmts[] = {
    /* $1..$7 filters, $8 offset, $9 limit. */
    {"or_services",
     "WITH s AS (SELECT o.* FROM organisation o WHERE" OR_LICENSED OR_SERVICE_FILTER OR_SERVICE_RUNS
     ") SELECT (SELECT count(*) FROM s) AS total, (SELECT "
     "coalesce(jsonb_agg(jsonb_strip_nulls(" OR_SERVICE_JSON
     ") ORDER BY o.name, o.id), '[]'::jsonb) FROM (SELECT * FROM s ORDER BY"
     " s.name, s.id OFFSET $8::int LIMIT $9::int) o) AS contents"},
    /* $1 service id: the fully nested service. */
    {"or_service",
     "SELECT jsonb_strip_nulls(" OR_SERVICE_JSON " || jsonb_build_object('service_at_locations',"
     " (SELECT coalesce(jsonb_agg(" OR_SAL_JSON " ORDER BY l.name, l.id), '[]'::jsonb) FROM"
     " location l WHERE l.organisation_id = o.id AND" OR_SITE "), 'contacts', CASE WHEN"
     " o.public_contact AND (o.email IS NOT NULL OR o.phone IS NOT NULL) THEN"
     " jsonb_build_array(jsonb_build_object('id'," OR_CONTACT_ID ", 'service_id'," OR_SERVICE_ID
     ", 'name', o.name, 'email', o.email, 'phones', CASE WHEN o.phone IS NOT NULL THEN"
     " jsonb_build_array(jsonb_build_object('id', openreferral_uuid('phone', o.id), "
     "'contact_id'," OR_CONTACT_ID
     ", 'number', o.phone)) END)) ELSE '[]'::jsonb END, 'schedules', (SELECT"
     " coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'service_id'," OR_SERVICE_ID
     ", 'service_at_location_id'," OR_SAL_ID ", 'valid_from', p.starts_on, 'valid_to', p.ends_on,"
     " 'dtstart', p.starts_on, 'freq', 'WEEKLY', 'interval', 1, 'byday', upper(left(p.weekday,"
     " 2)), 'opens_at', to_char(p.start_time, 'HH24:MI'), 'description', 'M-PACT group (' ||"
     " v.title || ') at ' || l.name || ', weekly from ' || to_char(p.starts_on, 'YYYY-MM-DD') ||"
     " ' to ' || to_char(p.ends_on, 'YYYY-MM-DD'), 'attending_type', 'in person', 'notes', CASE"
     " WHEN NOT p.accepting_referrals THEN 'Not accepting referrals.' WHEN p.self_referral_allowed"
     " THEN 'Accepting referrals; families may refer themselves.' ELSE 'Accepting referrals from"
     " professionals.' END) ORDER BY p.starts_on, p.id), '[]'::jsonb) FROM programme_run p JOIN"
     " location l ON l.id = p.location_id JOIN programme_variant v ON v.code = p.variant WHERE"
     " p.organisation_id = o.id AND" OR_SITE " AND" OR_UPCOMING "))) AS service FROM organisation"
     " o WHERE" OR_SERVICE_ID "= $1::uuid AND" OR_LICENSED},
    /* $1..$7 filters, $8 offset, $9 limit, $10/$11 the centroid (or nulls), $12 proximity in
     * metres (or null). Nearest first when a centroid is given. */
    {"or_sals",
     "WITH s AS (SELECT o.id AS o_id, l.id AS l_id, o.name AS o_name, l.name AS l_name, CASE WHEN"
     " $10::float8 IS NOT NULL THEN earth_distance(" OR_CENTROID ", registry_earth(l.latitude,"
     " l.longitude)) END AS d FROM organisation o JOIN location l ON l.organisation_id = o.id"
     " WHERE" OR_LICENSED " AND" OR_SITE OR_SERVICE_FILTER OR_SITE_RUNS
     " AND ($10::float8 IS NULL OR l.latitude IS NOT NULL) AND ($12::float8 IS NULL OR "
     "(earth_box(" OR_CENTROID
     ", $12::float8) @> registry_earth(l.latitude, l.longitude) AND earth_distance(" OR_CENTROID
     ", registry_earth(l.latitude, l.longitude)) <= $12::float8))) SELECT (SELECT"
     " count(*) FROM s) AS total, (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(" OR_SAL_JSON
     " || jsonb_build_object('service'," OR_SERVICE_JSON ")) ORDER BY pg.d, pg.o_name, pg.l_name,"
     " pg.l_id), '[]'::jsonb) FROM (SELECT * FROM s ORDER BY s.d, s.o_name, s.l_name, s.l_id"
     " OFFSET $8::int LIMIT $9::int) pg JOIN organisation o ON o.id = pg.o_id JOIN location l ON"
     " l.id = pg.l_id) AS contents"},
    /* $1 offset, $2 limit. */
    {"or_organizations",
     "WITH s AS (SELECT o.* FROM organisation o WHERE" OR_LICENSED ") SELECT (SELECT count(*)"
     " FROM s) AS total, (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(" OR_ORG_JSON ") ORDER BY"
     " o.name, o.id), '[]'::jsonb) FROM (SELECT * FROM s ORDER BY s.name, s.id OFFSET $1::int"
     " LIMIT $2::int) o) AS contents"},
    {NULL, NULL},
};

/* ---- Parsing ------------------------------------------------------------------------------- */

/* A whole number in [min, max] written with digits only. Returns 1 and sets *out, or 0. */
static int
parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (s == NULL || !isdigit((unsigned char)*s) || strlen(s) > 10) {
        return 0;
    }
    v = strtol(s, &end, 10);
    if (*end != '\0' || v < min || v > max) {
        return 0;
    }
    *out = v;
    return 1;
}

/* A plain decimal number (digits, at most one point) in [min, max]. Returns 1 or 0. */
static int
parse_number(const char *s, double min, double max, double *out)
{
    const char *p;
    int digits = 0, points = 0;
    double v;

    if (s == NULL || *s == '\0' || strlen(s) > 20) {
        return 0;
    }
    for (p = s; *p != '\0'; p++) {
        if (isdigit((unsigned char)*p)) {
            digits++;
        } else if (*p == '.' && points == 0) {
            points++;
        } else {
            return 0;
        }
    }
    if (digits == 0) {
        return 0;
    }
    v = strtod(s, NULL);
    if (v < min || v > max) {
        return 0;
    }
    *out = v;
    return 1;
}

/* HH:MM or HH:MM:SS, a real time of day. Returns 1 or 0. */
static int
time_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    int i;

    if (n != 5 && n != 8) {
        return 0;
    }
    for (i = 0; i < (int)n; i++) {
        int colon = i == 2 || i == 5;
        if (colon ? s[i] != ':' : !isdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return (s[0] - '0') * 10 + (s[1] - '0') < 24 && s[3] < '6' && (n == 5 || s[6] < '6');
}

/* The registry's weekday name for an RFC 5545 code (MO..SU) or an English day name, in any
 * case; NULL when it is neither. */
static const char *
weekday_name(const char *s)
{
    static const char *const days[] = {"monday", "tuesday",  "wednesday", "thursday",
                                       "friday", "saturday", "sunday"};
    size_t i;

    for (i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
        if (strcasecmp(s, days[i]) == 0 || (strlen(s) == 2 && strncasecmp(s, days[i], 2) == 0)) {
            return days[i];
        }
    }
    return NULL;
}

/* The paging and filter parameters shared by the list routes, as statement parameters. */
struct or_params {
    long page, per_page;
    char offset[16], limit[8];
    const char *search, *min_age, *max_age, *taxonomy, *day, *start_time, *end_time;
};

/* The filters and the page as parameters $1 to $9 of or_services and or_sals. */
static void
filter_params(const struct or_params *p, const char **params)
{
    const char *v[9] = {p->search,     p->min_age,  p->max_age, p->taxonomy, p->day,
                        p->start_time, p->end_time, p->offset,  p->limit};

    memcpy(params, v, sizeof(v));
}

/* Reads page and per_page. Returns 0, or the status of the problem sent. */
static int
paging_or_problem(struct req *r, const struct query *q, struct or_params *p)
{
    const char *page = query_get(q, "page"), *per_page = query_get(q, "per_page");

    p->page = 1;
    p->per_page = OR_PER_PAGE_DEFAULT;
    if (page != NULL && !parse_long(page, 1, OR_PAGE_MAX, &p->page)) {
        return problem_send(r, PROBLEM_BAD_REQUEST, "page: a whole number from 1 to %d",
                            OR_PAGE_MAX);
    }
    if (per_page != NULL && !parse_long(per_page, 1, OR_PER_PAGE_MAX, &p->per_page)) {
        return problem_send(r, PROBLEM_BAD_REQUEST, "per_page: a whole number from 1 to %d",
                            OR_PER_PAGE_MAX);
    }
    snprintf(p->offset, sizeof(p->offset), "%ld", (p->page - 1) * p->per_page);
    snprintf(p->limit, sizeof(p->limit), "%ld", p->per_page);
    return 0;
}

/* Reads the service filters. Returns 0, or the status of the problem sent. */
static int
filters_or_problem(struct req *r, const struct query *q, struct or_params *p)
{
    const char *day = query_get(q, "day");
    double age;

    p->search = query_get(q, "search");
    if (p->search != NULL && !validate_text(p->search, 1, 200)) {
        return problem_send(r, PROBLEM_BAD_REQUEST, "search: 1 to 200 characters of text");
    }
    p->min_age = query_get(q, "minimum_age");
    p->max_age = query_get(q, "maximum_age");
    if ((p->min_age != NULL && !parse_number(p->min_age, 0, OR_AGE_MAX, &age))
        || (p->max_age != NULL && !parse_number(p->max_age, 0, OR_AGE_MAX, &age))) {
        return problem_send(r, PROBLEM_BAD_REQUEST,
                            "minimum_age, maximum_age: a number of years from 0 to 150");
    }
    p->taxonomy = query_get(q, "taxonomy_id") != NULL || query_get(q, "taxonomy_term_id") != NULL
                      ? "true"
                      : "false";
    p->day = NULL;
    if (day != NULL && (p->day = weekday_name(day)) == NULL) {
        return problem_send(r, PROBLEM_BAD_REQUEST, "day: MO, TU, WE, TH, FR, SA or SU");
    }
    p->start_time = query_get(q, "start_time");
    p->end_time = query_get(q, "end_time");
    if ((p->start_time != NULL && !time_ok(p->start_time))
        || (p->end_time != NULL && !time_ok(p->end_time))) {
        return problem_send(r, PROBLEM_BAD_REQUEST, "start_time, end_time: HH:MM");
    }
    return 0;
}

/* ---- Rendering ----------------------------------------------------------------------------- */

/* Sends `body` (stolen; NULL: it could not be built) as a public JSON answer. Returns the status
 * sent. */
static int
send_public(struct req *r, json_t *body)
{
    int status =
        body != NULL ? http_send_public_json(r, body) : problem_send(r, PROBLEM_INTERNAL, NULL);

    json_decref(body);
    return status;
}

/* Runs `stmt`, whose one row is (total, contents), and sends the profile's Page envelope around
 * its contents. Returns the status sent. */
static int
send_page(struct req *r,
          const char *stmt,
          int nparams,
          const char *const *params,
          const struct or_params *p)
{
    PGresult *res = db_exec(r->db, stmt, nparams, params);
    json_t *contents = NULL;
    long long total, pages;
    size_t size;
    int status;

    if (!db_ok(res) || PQntuples(res) != 1) {
        status = problem_from_db(r, res);
        goto out;
    }
    total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    contents = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    if (!json_is_array(contents)) {
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
        goto out;
    }
    size = json_array_size(contents);
    pages = (total + p->per_page - 1) / p->per_page;
    status = send_public(r, json_pack("{s:I, s:I, s:I, s:I, s:b, s:b, s:b, s:O}", "total_items",
                                      (json_int_t)total, "total_pages", (json_int_t)pages,
                                      "page_number", (json_int_t)p->page, "size", (json_int_t)size,
                                      "first_page", p->page == 1, "last_page", p->page >= pages,
                                      "empty", size == 0, "contents", contents));
out:
    json_decref(contents);
    PQclear(res);
    return status;
}

/* Parses the query (names outside `allowed` refused), the page and, with `filters`, the
 * service filters. Returns 0, or the status of the problem sent. */
static int
list_query_or_problem(
    struct req *r, const char *const *allowed, int filters, struct query *q, struct or_params *p)
{
    int status;

    if ((status = http_query_or_problem(r, allowed, q)) == 0
        && (status = paging_or_problem(r, q, p)) == 0 && filters) {
        status = filters_or_problem(r, q, p);
    }
    return status;
}

/* ---- Handlers ------------------------------------------------------------------------------ */

int
openreferral_info(struct req *r)
{
    static const char *const allowed[] = {NULL};
    struct query q;
    int status;

    if ((status = http_query_or_problem(r, allowed, &q)) == 0) {
        status = send_public(r, json_pack("{s:s, s:s, s:s}", "version", OR_HSDS_VERSION, "profile",
                                          OR_PROFILE_URL, "openapi_url", OR_OPENAPI_URL));
    }
    query_cleanup(&q);
    return status;
}

int
openreferral_services(struct req *r)
{
    static const char *const allowed[] = {
        "search",      "page",        "per_page",    "taxonomy_term_id",
        "taxonomy_id", "minimum_age", "maximum_age", "start_time",
        "end_time",    "day",         NULL,
    };
    struct query q;
    struct or_params p;
    const char *params[9];
    int status;

    if ((status = list_query_or_problem(r, allowed, 1, &q, &p)) == 0) {
        filter_params(&p, params);
        status = send_page(r, "or_services", 9, params, &p);
    }
    query_cleanup(&q);
    return status;
}

int
openreferral_service(struct req *r)
{
    static const char *const allowed[] = {NULL};
    struct query q;
    PGresult *res = NULL;
    const char *id = r->params[0];
    int status;

    if ((status = http_query_or_problem(r, allowed, &q)) != 0) {
        goto out;
    }
    if (!validate_uuid(id)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no such service");
        goto out;
    }
    res = db_exec(r->db, "or_service", 1, &id);
    if (!db_ok(res)) {
        status = problem_from_db(r, res);
        goto out;
    }
    if (PQntuples(res) == 0) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no such service");
        goto out;
    }
    status = send_public(r, json_loads(PQgetvalue(res, 0, 0), 0, NULL));
out:
    PQclear(res);
    query_cleanup(&q);
    return status;
}

int
openreferral_service_at_locations(struct req *r)
{
    static const char *const allowed[] = {
        "search",      "page",        "per_page",   "taxonomy_term_id", "taxonomy_id",
        "minimum_age", "maximum_age", "start_time", "end_time",         "day",
        "postcode",    "proximity",   NULL,
    };
    struct query q;
    struct or_params p;
    const char *params[12], *postcode, *proximity;
    char pc[POSTCODE_MAX], lat[32], lon[32], metres[32];
    double clat, clon;
    double m = 0;
    int status;

    if ((status = list_query_or_problem(r, allowed, 1, &q, &p)) != 0) {
        goto out;
    }
    postcode = query_get(&q, "postcode");
    proximity = query_get(&q, "proximity");
    params[9] = params[10] = params[11] = NULL;
    if (proximity != NULL) {
        if (postcode == NULL) {
            status = problem_send(r, PROBLEM_BAD_REQUEST, "proximity needs a postcode");
            goto out;
        }
        if (!parse_number(proximity, 1, OR_PROXIMITY_MAX, &m)) {
            status =
                problem_send(r, PROBLEM_BAD_REQUEST,
                             "proximity: a distance in metres from 1 to %.0f", OR_PROXIMITY_MAX);
            goto out;
        }
        snprintf(metres, sizeof(metres), "%.3f", m);
        params[11] = metres;
    }
    if (postcode != NULL) {
        /* The postcode is personal data: it goes to the database as a parameter only, and
         * never into a log line or a problem detail. */
        if (strlen(postcode) > 16
            || postcodes_normalise(postcode, pc, sizeof(pc)) == POSTCODES_MALFORMED) {
            status = problem_send(r, PROBLEM_BAD_REQUEST,
                                  "postcode: a UK postcode (ME4 4AB) or outward code (ME4)");
            goto out;
        }
        switch (postcodes_find(r->db, pc, &clat, &clon)) {
        case 1:
            break;
        case 0:
            status = problem_send(r, PROBLEM_NOT_FOUND, "postcode not found");
            goto out;
        default:
            status = problem_from_db(r, NULL);
            goto out;
        }
        snprintf(lat, sizeof(lat), "%.6f", clat);
        snprintf(lon, sizeof(lon), "%.6f", clon);
        params[9] = lat;
        params[10] = lon;
    }
    filter_params(&p, params);
    status = send_page(r, "or_sals", 12, params, &p);
out:
    query_cleanup(&q);
    return status;
}

int
openreferral_organizations(struct req *r)
{
    static const char *const allowed[] = {"page", "per_page", NULL};
    struct query q;
    struct or_params p;
    int status;

    if ((status = list_query_or_problem(r, allowed, 0, &q, &p)) == 0) {
        const char *params[2] = {p.offset, p.limit};

        status = send_page(r, "or_organizations", 2, params, &p);
    }
    query_cleanup(&q);
    return status;
}
