/* it_openreferral.c: the Open Referral UK feed (/openreferral/...) over HTTP against the real
 * server and PostgreSQL.
 *
 * A small registry is built with SQL: two licensed organisations (one with a public contact, one
 * without), one whose licence is suspended, one archived, one never licensed; sites of every
 * kind that must stay out (prison, school, not public, inactive, archived) next to public ones,
 * one public site without coordinates; upcoming, past and cancelled programme runs; postcode
 * rows and their district centroids.
 *
 * What is checked:
 * - every response body against a table of the profile's objects (ORUK profile 3.0, compiled
 *   schemas): for each object its fields with JSON type, whether required, and format (uuid,
 *   uri, email, date, date-time, HH:MM, the profile's enums), nested objects and arrays checked
 *   the same way; the paging envelope's fields and their arithmetic on every page;
 * - the mapping: one service per licensed organisation, its name, status, ages 8-17, the sites
 *   published and those left out, contact details only when public, one schedule per upcoming
 *   run (weekday, time, dates), ids stable and derived;
 * - service_at_locations by postcode and outward code: nearest first (checked against our own
 *   haversine), proximity cut-off, sites without coordinates left out, an unknown postcode an
 *   empty list, 400 cases;
 * - 404 for unknown, malformed and unlicensed service ids; 400 for unknown or bad parameters;
 * - Access-Control-Allow-Origin, Cache-Control, ETag and 304 on If-None-Match;
 * - the rest of the 3.0 API: taxonomies and taxonomy terms (the esd lists of migrations 0030 and
 *   0041: each term's label, identifier and URI, in /taxonomy_terms and in the attributes),
 *   organizations/{id} (full_service), service_at_locations/{id} (its site's schedules only),
 *   every list walked one item a page to a page past the end and every id it lists fetched;
 *   format=ndjson exactly the pages' items, unpaged; full=true items equal to their {id}
 *   answers; minimal; organization_id; taxonomy filters; modified_after (dates, offsets, and
 *   following a change of a site or a run); closes_at, attributes and service phones; blank text
 *   left out and state_province never empty; 400 naming the parameter, 404 and 405 with CORS,
 *   unknown paths under the feed with CORS, /openreferral redirected;
 * - the searched postcode appears nowhere in the server log.
 * With WEB_ASSETS, openapi.oruk (tests/openapi) validates every answer recorded here against the
 * profile's published schemas. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"

#define NO_SUCH_ID "00000000-0000-4000-8000-000000000000"

/* Search centre: ME4 4AB. */
#define CENTRE_LAT 51.3800
#define CENTRE_LON 0.5300

struct fx {
    IT_FX_HEAD;
    char org_a[40], org_b[40], org_c[40], org_d[40], org_e[40];
    char a1[40], a2[40], a3_prison[40], a4_school[40], a5_private[40], a6_inactive[40],
        a7_archived[40], a8_nocoords[40], b1[40], b2[40], c1[40], d1[40];
    char run_a1[40], run_a1_past[40], run_a1_cancelled[40], run_prison[40], run_b1[40];
    char svc_a[40], svc_b[40], svc_c[40];
    char today_30[16], today_100[16], today_10[16], today_60[16];
    int numbers;
};

/* ---- A schema checker ---------------------------------------------------------------------- */

enum jtype { J_STRING, J_NUMBER, J_INTEGER, J_BOOL, J_ARRAY, J_OBJECT };

struct rule;

/* One object of the profile: its fields ({NULL}-terminated). */
struct schema {
    const char *name;
    const struct rule *rules;
};

struct rule {
    const char *name;
    enum jtype type;
    int required;
    const char *format;       /* uuid, uri, email, date, date-time, hh:mm, enum:a|b|c, or NULL */
    const struct schema *sub; /* J_OBJECT: the object; J_ARRAY: each item */
};

static int
hexes(const char *s, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')
              || (s[i] >= 'A' && s[i] <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

static int
digits(const char *s, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

static int
is_uuid(const char *s)
{
    return strlen(s) == 36 && hexes(s, 8) && s[8] == '-' && hexes(s + 9, 4) && s[13] == '-'
           && hexes(s + 14, 4) && s[18] == '-' && hexes(s + 19, 4) && s[23] == '-'
           && hexes(s + 24, 12);
}

static int
is_date(const char *s)
{
    return strlen(s) == 10 && digits(s, 4) && s[4] == '-' && digits(s + 5, 2) && s[7] == '-'
           && digits(s + 8, 2) && s[5] <= '1' && s[8] <= '3';
}

/* RFC 3339 date-time: date "T" HH:MM:SS, optional fraction, then Z or +hh:mm / -hh:mm. */
static int
is_date_time(const char *s)
{
    const char *p;

    if (strlen(s) < 20
        || !(digits(s, 4) && s[4] == '-' && digits(s + 5, 2) && s[7] == '-' && digits(s + 8, 2)
             && s[10] == 'T' && digits(s + 11, 2) && s[13] == ':' && digits(s + 14, 2)
             && s[16] == ':' && digits(s + 17, 2))) {
        return 0;
    }
    p = s + 19;
    if (*p == '.') {
        p++;
        if (!digits(p, 1)) {
            return 0;
        }
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (strcmp(p, "Z") == 0) {
        return 1;
    }
    return strlen(p) == 6 && (p[0] == '+' || p[0] == '-') && digits(p + 1, 2) && p[3] == ':'
           && digits(p + 4, 2);
}

/* An absolute URI (RFC 3986): scheme ":" and no spaces; http(s) ones need "//host". */
static int
is_uri(const char *s)
{
    const char *p = s;

    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
        return 0;
    }
    while (*p != '\0' && *p != ':') {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
              || *p == '+' || *p == '.' || *p == '-')) {
            return 0;
        }
        p++;
    }
    if (*p != ':' || p[1] == '\0' || strpbrk(s, " \t\r\n\"<>") != NULL) {
        return 0;
    }
    if (strncmp(s, "http:", 5) == 0 || strncmp(s, "https:", 6) == 0) {
        return strncmp(p + 1, "//", 2) == 0 && p[3] != '\0' && p[3] != '/';
    }
    return 1;
}

static int
is_email(const char *s)
{
    const char *at = strchr(s, '@');

    return at != NULL && at != s && strchr(at + 1, '@') == NULL && strchr(at, '.') != NULL
           && at[1] != '.' && s[strlen(s) - 1] != '.' && strpbrk(s, " \t\r\n") == NULL;
}

static int
is_hh_mm(const char *s)
{
    return strlen(s) == 5 && digits(s, 2) && s[2] == ':' && digits(s + 3, 2)
           && (s[0] - '0') * 10 + (s[1] - '0') < 24 && s[3] < '6';
}

static int
in_enum(const char *list, const char *s)
{
    size_t n = strlen(s);
    const char *p = list;

    while (*p != '\0') {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, s, n) == 0) {
            return 1;
        }
        p += len + (bar != NULL ? 1 : 0);
    }
    return 0;
}

static const char *const jtype_names[] = {"string",  "number", "integer",
                                          "boolean", "array",  "object"};

static int
type_ok(json_t *v, enum jtype t)
{
    switch (t) {
    case J_STRING:
        return json_is_string(v);
    case J_NUMBER:
        return json_is_number(v);
    case J_INTEGER:
        return json_is_integer(v);
    case J_BOOL:
        return json_is_boolean(v);
    case J_ARRAY:
        return json_is_array(v);
    case J_OBJECT:
        return json_is_object(v);
    }
    return 0;
}

static int
format_ok(const char *format, const char *s)
{
    if (strcmp(format, "uuid") == 0) {
        return is_uuid(s);
    }
    if (strcmp(format, "uri") == 0) {
        return is_uri(s);
    }
    if (strcmp(format, "email") == 0) {
        return is_email(s);
    }
    if (strcmp(format, "date") == 0) {
        return is_date(s);
    }
    if (strcmp(format, "date-time") == 0) {
        return is_date_time(s);
    }
    if (strcmp(format, "hh:mm") == 0) {
        return is_hh_mm(s);
    }
    if (strncmp(format, "enum:", 5) == 0) {
        return in_enum(format + 5, s);
    }
    fail_msg("unknown format %s in the test's table", format);
    return 0;
}

/* Checks `o` against `schema`; `path` names it in messages. Counts the objects checked. */
static int schema_objects_checked;

static void
check_schema(json_t *o, const struct schema *schema, const char *path)
{
    const struct rule *r;

    if (!json_is_object(o)) {
        fail_msg("%s: not an object (%s)", path, schema->name);
    }
    schema_objects_checked++;
    for (r = schema->rules; r->name != NULL; r++) {
        json_t *v = json_object_get(o, r->name);
        char sub[256];

        snprintf(sub, sizeof(sub), "%s.%s", path, r->name);
        if (v == NULL) {
            if (r->required) {
                fail_msg("%s: required by %s, missing", sub, schema->name);
            }
            continue;
        }
        if (!type_ok(v, r->type)) {
            char *text = json_dumps(v, JSON_ENCODE_ANY);
            fail_msg("%s: must be %s, is %s", sub, jtype_names[r->type], text);
        }
        if (r->format != NULL && !format_ok(r->format, json_string_value(v))) {
            fail_msg("%s: \"%s\" is not %s", sub, json_string_value(v), r->format);
        }
        if (r->type == J_OBJECT && r->sub != NULL) {
            check_schema(v, r->sub, sub);
        }
        if (r->type == J_ARRAY && r->sub != NULL) {
            size_t i;
            json_t *item;
            json_array_foreach(v, i, item)
            {
                char at[300];
                snprintf(at, sizeof(at), "%s[%zu]", sub, i);
                check_schema(item, r->sub, at);
            }
        }
    }
}

/* The profile's objects (ORUK 3.0, the compiled schemas), as far as the feed publishes them
 * or the profile requires them. */
static const struct schema address_schema = {
    "address",
    (const struct rule[]){
        {"id", J_STRING, 1, "uuid", NULL},
        {"location_id", J_STRING, 0, "uuid", NULL},
        {"attention", J_STRING, 0, NULL, NULL},
        {"address_1", J_STRING, 1, NULL, NULL},
        {"city", J_STRING, 1, NULL, NULL},
        {"region", J_STRING, 0, NULL, NULL},
        {"state_province", J_STRING, 1, NULL, NULL},
        {"postal_code", J_STRING, 1, NULL, NULL},
        {"country", J_STRING, 1, NULL, NULL},
        {"address_type", J_STRING, 1, "enum:physical|postal|virtual", NULL},
        {NULL, 0, 0, NULL, NULL},
    },
};

static const struct schema accessibility_schema = {
    "accessibility",
    (const struct rule[]){
        {"id", J_STRING, 1, "uuid", NULL},
        {"location_id", J_STRING, 0, "uuid", NULL},
        {"description", J_STRING, 0, NULL, NULL},
        {"details", J_STRING, 0, NULL, NULL},
        {"url", J_STRING, 0, "uri", NULL},
        {NULL, 0, 0, NULL, NULL},
    },
};

/* The location's one-to-one fields (as in the list schemas). */
#define LOCATION_RULES                                                                             \
    {"id", J_STRING, 1, "uuid", NULL}, {"name", J_STRING, 0, NULL, NULL},                          \
        {"description", J_STRING, 0, NULL, NULL}, {"latitude", J_NUMBER, 0, NULL, NULL},           \
        {"longitude", J_NUMBER, 0, NULL, NULL}, {"external_identifier", J_STRING, 0, NULL, NULL},  \
    {                                                                                              \
        "external_identifier_type", J_STRING, 0, NULL, NULL                                        \
    }

static const struct schema location_schema = {
    "location",
    (const struct rule[]){
        LOCATION_RULES,
        {"addresses", J_ARRAY, 0, NULL, &address_schema},
        {"accessibility", J_ARRAY, 0, NULL, &accessibility_schema},
        {NULL, 0, 0, NULL, NULL},
    },
};

static const struct schema organization_schema = {
    "organization",
    (const struct rule[]){
        {"id", J_STRING, 1, "uuid", NULL},
        {"name", J_STRING, 1, NULL, NULL},
        {"description", J_STRING, 1, NULL, NULL},
        {"email", J_STRING, 0, "email", NULL},
        {"website", J_STRING, 0, "uri", NULL},
        {"logo", J_STRING, 0, NULL, NULL},
        {"uri", J_STRING, 0, "uri", NULL},
        {"parent_organization_id", J_STRING, 0, "uuid", NULL},
        {NULL, 0, 0, NULL, NULL},
    },
};

static const struct schema sal_schema = {
    "service_at_location",
    (const struct rule[]){
        {"id", J_STRING, 1, "uuid", NULL},
        {"service_id", J_STRING, 0, "uuid", NULL},
        {"location_id", J_STRING, 0, "uuid", NULL},
        {"location", J_OBJECT, 0, NULL, &location_schema},
        {NULL, 0, 0, NULL, NULL},
    },
};

/* phone.json (HSDS's contact.phones; the profile keeps phone.json: id and number required). */
static const struct schema phone_schema = {
    "phone",
    (const struct rule[]){
        {"id", J_STRING, 1, "uuid", NULL},
        {"contact_id", J_STRING, 0, "uuid", NULL},
        {"number", J_STRING, 1, NULL, NULL},
        {"description", J_STRING, 0, NULL, NULL},
        {NULL, 0, 0, NULL, NULL},
    },
};

static const struct schema contact_schema = {
    "contact",
    (const struct rule[]){
        {"id", J_STRING, 1, "uuid", NULL},
        {"service_id", J_STRING, 0, "uuid", NULL},
        {"name", J_STRING, 0, NULL, NULL},
        {"title", J_STRING, 0, NULL, NULL},
        {"email", J_STRING, 0, "email", NULL},
        {"phones", J_ARRAY, 0, NULL, &phone_schema},
        {NULL, 0, 0, NULL, NULL},
    },
};

static const struct schema schedule_schema = {
    "schedule",
    (const struct rule[]){
        {"id", J_STRING, 1, "uuid", NULL},
        {"service_id", J_STRING, 0, "uuid", NULL},
        {"service_at_location_id", J_STRING, 0, "uuid", NULL},
        {"valid_from", J_STRING, 0, "date", NULL},
        {"valid_to", J_STRING, 0, "date", NULL},
        {"dtstart", J_STRING, 0, "date", NULL},
        {"freq", J_STRING, 0, "enum:WEEKLY|MONTHLY", NULL},
        {"interval", J_NUMBER, 0, NULL, NULL},
        {"byday", J_STRING, 0, "enum:MO|TU|WE|TH|FR|SA|SU", NULL},
        {"bymonthday", J_STRING, 0, NULL, NULL},
        {"description", J_STRING, 0, NULL, NULL},
        {"opens_at", J_STRING, 0, "hh:mm", NULL},
        {"closes_at", J_STRING, 0, "hh:mm", NULL},
        {"schedule_link", J_STRING, 0, "uri", NULL},
        {"attending_type", J_STRING, 0, NULL, NULL},
        {"notes", J_STRING, 0, NULL, NULL},
        {NULL, 0, 0, NULL, NULL},
    },
};

/* The service's one-to-one fields. */
#define SERVICE_RULES                                                                              \
    {"id", J_STRING, 1, "uuid", NULL}, {"organization_id", J_STRING, 0, "uuid", NULL},             \
        {"name", J_STRING, 1, NULL, NULL}, {"description", J_STRING, 0, NULL, NULL},               \
        {"url", J_STRING, 0, "uri", NULL}, {"email", J_STRING, 0, "email", NULL},                  \
        {"status", J_STRING, 1, "enum:active|inactive|defunct|temporarily closed", NULL},          \
        {"fees", J_STRING, 0, NULL, NULL}, {"accreditations", J_STRING, 0, NULL, NULL},            \
        {"minimum_age", J_NUMBER, 0, NULL, NULL}, {"maximum_age", J_NUMBER, 0, NULL, NULL},        \
        {"assured_date", J_STRING, 0, "date", NULL},                                               \
        {"assurer_email", J_STRING, 0, "email", NULL}, {"alert", J_STRING, 0, NULL, NULL},         \
        {"last_modified", J_STRING, 0, "date-time", NULL},                                         \
    {                                                                                              \
        "organization", J_OBJECT, 0, NULL, &organization_schema                                    \
    }

/* compiled/service.json: GET /services/{id}. */
static const struct schema service_schema = {
    "service",
    (const struct rule[]){
        SERVICE_RULES,
        {"schedules", J_ARRAY, 0, NULL, &schedule_schema},
        {"service_at_locations", J_ARRAY, 0, NULL, &sal_schema},
        {"contacts", J_ARRAY, 0, NULL, &contact_schema},
        {NULL, 0, 0, NULL, NULL},
    },
};

/* compiled/service_list.json: the items of GET /services. */
static const struct schema service_list_schema = {
    "service (list)",
    (const struct rule[]){
        SERVICE_RULES,
        {NULL, 0, 0, NULL, NULL},
    },
};

/* compiled/service_at_location_list.json: the items of GET /service_at_locations. */
static const struct schema sal_list_location_schema = {
    "location (list)",
    (const struct rule[]){
        LOCATION_RULES,
        {"addresses", J_ARRAY, 0, NULL, &address_schema},
        {NULL, 0, 0, NULL, NULL},
    },
};

static const struct schema sal_list_schema = {
    "service_at_location (list)",
    (const struct rule[]){
        {"id", J_STRING, 1, "uuid", NULL},
        {"service_id", J_STRING, 0, "uuid", NULL},
        {"location_id", J_STRING, 0, "uuid", NULL},
        {"location", J_OBJECT, 0, NULL, &sal_list_location_schema},
        {"service", J_OBJECT, 0, NULL, &service_list_schema},
        {NULL, 0, 0, NULL, NULL},
    },
};

/* openapi.json components.schemas.Page, plus contents. */
static const struct schema page_schema = {
    "Page",
    (const struct rule[]){
        {"total_items", J_INTEGER, 1, NULL, NULL},
        {"total_pages", J_INTEGER, 1, NULL, NULL},
        {"page_number", J_INTEGER, 1, NULL, NULL},
        {"size", J_INTEGER, 1, NULL, NULL},
        {"first_page", J_BOOL, 1, NULL, NULL},
        {"last_page", J_BOOL, 1, NULL, NULL},
        {"empty", J_BOOL, 1, NULL, NULL},
        {"contents", J_ARRAY, 1, NULL, NULL},
        {NULL, 0, 0, NULL, NULL},
    },
};

/* The `/` answer of openapi.json. */
static const struct schema info_schema = {
    "API info",
    (const struct rule[]){
        {"version", J_STRING, 1, NULL, NULL},
        {"profile", J_STRING, 1, "uri", NULL},
        {"openapi_url", J_STRING, 1, "uri", NULL},
        {NULL, 0, 0, NULL, NULL},
    },
};

/* A quick self-check of the checker: it must reject what the profile rejects. */
static void
test_checker_rejects(void **state)
{
    (void)state;
    assert_true(is_uuid("ac148810-d857-441c-9679-408f346de14b"));
    assert_false(is_uuid("ac148810d857441c9679408f346de14b"));
    assert_false(is_uuid("ac148810-d857-441c-9679-408f346de14g"));
    assert_true(is_uri("https://example.org/x"));
    assert_false(is_uri("example.org"));
    assert_false(is_uri("https://"));
    assert_true(is_date("2030-01-07"));
    assert_false(is_date("07/01/2030"));
    assert_true(is_date_time("2023-03-15T10:30:45.123Z"));
    assert_false(is_date_time("2023-03-15 10:30:45"));
    assert_true(is_email("a@b.org"));
    assert_false(is_email("a.b.org"));
    assert_true(is_hh_mm("18:00"));
    assert_false(is_hh_mm("25:00"));
    assert_true(in_enum("active|inactive", "inactive"));
    assert_false(in_enum("active|inactive", "act"));
}

/* ---- Building a registry with SQL ----------------------------------------------------------- */

static void
mk_org(struct fx *f, const char *name, int public_contact, int archived, char *id)
{
    char buf[40];

    IT_SQL_VALUE(
        buf, f->s,
        "INSERT INTO organisation (name, kind, address_lines, town, postcode, phone, email,"
        " website, public_contact, archived_at)"
        " VALUES ($1, 'charity', '[\"1 Test Street\"]', 'Chatham', 'ME4 4AB',"
        " '01632 960001', lower(replace($1, ' ', '')) || '@feed.example',"
        " 'https://' || lower(replace($1, ' ', '')) || '.example/mpact', $2::boolean,"
        " CASE WHEN $3::boolean THEN now() END) RETURNING id",
        name, public_contact ? "true" : "false", archived ? "true" : "false");
    memcpy(id, buf, sizeof(buf));
}

/* A licence stored as `status` (with its history row), valid from 2024 to 2099. */
static void
mk_licence(struct fx *f, const char *org, const char *status)
{
    char num[32], lic[40];

    snprintf(num, sizeof(num), "MPL-FEED-%04d", ++f->numbers);
    IT_SQL_VALUE(lic, f->s,
                 "INSERT INTO licence (organisation_id, number, status, valid_from, valid_until)"
                 " VALUES ($1::uuid, $2, $3, DATE '2024-01-01', DATE '2099-12-31') RETURNING id",
                 org, num, status);
    PQclear(
        it_sql(f->s,
               "INSERT INTO licence_status_history (licence_id, status, valid_from, valid_until,"
               " changed_at) VALUES ($1::uuid, $2, DATE '2024-01-01', DATE '2099-12-31',"
               " now() - interval '2 days')",
               lic, status));
}

/* A site; lat/lon NULL for none. */
static void
mk_loc(struct fx *f,
       const char *org,
       const char *name,
       const char *kind,
       const char *postcode,
       const char *lat,
       const char *lon,
       int public,
       int active,
       int archived,
       char *id)
{
    char buf[40];

    IT_SQL_VALUE(buf, f->s,
                 "INSERT INTO location (organisation_id, name, kind, address_lines, town, postcode,"
                 " latitude, longitude, accessibility, public, active, archived_at)"
                 " VALUES ($1::uuid, $2, $3, '[\"Unit 2\", \"9 Dock Road\"]', 'Chatham', $4,"
                 " $5::float8, $6::float8, 'Step-free entrance', $7::boolean, $8::boolean,"
                 " CASE WHEN $9::boolean THEN now() END) RETURNING id",
                 org, name, kind, postcode, lat, lon, public ? "true" : "false",
                 active ? "true" : "false", archived ? "true" : "false");
    memcpy(id, buf, sizeof(buf));
}

/* A run from today+from to today+to (days). */
static void
mk_run(struct fx *f,
       const char *org,
       const char *loc,
       const char *from,
       const char *to,
       const char *weekday,
       const char *time,
       const char *status,
       char *id)
{
    char buf[40];

    IT_SQL_VALUE(buf, f->s,
                 "INSERT INTO programme_run (organisation_id, location_id, variant, starts_on,"
                 " ends_on, weekday, start_time, capacity_families, status, self_referral_allowed)"
                 " VALUES ($1::uuid, $2::uuid, 'standard', registry_today() + $3::int,"
                 " registry_today() + $4::int, $5, $6::time, 6, $7, true) RETURNING id",
                 org, loc, from, to, weekday, time, status);
    memcpy(id, buf, sizeof(buf));
}

static int
setup(void **state)
{
    static const char *env[] = {"REGISTRY_PUBLIC_RATE_LIMIT=0", NULL};
    struct fx *f = calloc(1, sizeof(*f));

    f->s = it_start_env("openreferral", env);
    /* Organisations: A and B licensed (A's contact public), C suspended, D archived, E none. */
    mk_org(f, "Alpha Family Trust", 1, 0, f->org_a);
    mk_org(f, "Beta Council", 0, 0, f->org_b);
    mk_org(f, "Gamma Suspended", 1, 0, f->org_c);
    mk_org(f, "Delta Archived", 1, 1, f->org_d);
    mk_org(f, "Epsilon Unlicensed", 1, 0, f->org_e);
    mk_licence(f, f->org_a, "active");
    mk_licence(f, f->org_b, "active");
    mk_licence(f, f->org_c, "suspended");
    mk_licence(f, f->org_d, "active");

    /* Sites around ME4 4AB (51.38, 0.53). */
    mk_loc(f, f->org_a, "Alpha Centre Chatham", "family_centre", "ME4 4AC", "51.3850", "0.5300", 1,
           1, 0, f->a1);
    mk_loc(f, f->org_a, "Alpha Hub Maidstone", "community", "ME14 1AA", "51.2750", "0.5200", 1, 1,
           0, f->a2);
    mk_loc(f, f->org_a, "HMP Alpha", "prison", "ME1 3LU", "51.3810", "0.5310", 0, 1, 0,
           f->a3_prison);
    mk_loc(f, f->org_a, "Alpha Primary School", "school", "ME4 5AA", "51.3811", "0.5311", 0, 1, 0,
           f->a4_school);
    mk_loc(f, f->org_a, "Alpha Back Office", "community", "ME4 4AE", "51.3812", "0.5312", 0, 1, 0,
           f->a5_private);
    mk_loc(f, f->org_a, "Alpha Old Hall", "community", "ME4 4AF", "51.3813", "0.5313", 1, 0, 0,
           f->a6_inactive);
    mk_loc(f, f->org_a, "Alpha Closed Centre", "community", "ME4 4AG", "51.3814", "0.5314", 1, 0, 1,
           f->a7_archived);
    mk_loc(f, f->org_a, "Alpha Village Room", "community", "ME3 9AA", NULL, NULL, 1, 1, 0,
           f->a8_nocoords);
    mk_loc(f, f->org_b, "Beta Library Rochester", "community", "ME1 1AA", "51.3880", "0.5050", 1, 1,
           0, f->b1);
    mk_loc(f, f->org_b, "Beta Office Canterbury", "health", "CT1 1AA", "51.2800", "1.0800", 1, 1, 0,
           f->b2);
    mk_loc(f, f->org_c, "Gamma House", "community", "ME4 4AH", "51.3805", "0.5305", 1, 1, 0, f->c1);
    mk_loc(f, f->org_d, "Delta House", "community", "ME4 4AJ", "51.3806", "0.5306", 1, 1, 0, f->d1);

    /* Runs: one upcoming at A1 and B1; past, cancelled and prison runs that stay out. */
    mk_run(f, f->org_a, f->a1, "30", "100", "tuesday", "18:00", "recruiting", f->run_a1);
    mk_run(f, f->org_a, f->a1, "-200", "-100", "monday", "10:00", "completed", f->run_a1_past);
    mk_run(f, f->org_a, f->a1, "10", "60", "friday", "09:30", "cancelled", f->run_a1_cancelled);
    mk_run(f, f->org_a, f->a3_prison, "10", "60", "wednesday", "14:00", "planned", f->run_prison);
    mk_run(f, f->org_b, f->b1, "10", "60", "thursday", "10:30", "planned", f->run_b1);
    IT_SQL_VALUE(f->today_30, f->s, "SELECT (registry_today() + 30)::text");
    IT_SQL_VALUE(f->today_100, f->s, "SELECT (registry_today() + 100)::text");
    IT_SQL_VALUE(f->today_10, f->s, "SELECT (registry_today() + 10)::text");
    IT_SQL_VALUE(f->today_60, f->s, "SELECT (registry_today() + 60)::text");

    /* Postcodes and their districts (ME4's centroid is the search centre). */
    PQclear(it_sql(f->s, "INSERT INTO postcode (postcode, latitude, longitude) VALUES"
                         " ('ME4 4AB', 51.3800, 0.5300), ('ME4 4AD', 51.3800, 0.5300),"
                         " ('CT1 1AA', 51.2800, 1.0800)"));
    PQclear(it_sql(f->s, "SELECT postcode_district_refresh()"));

    IT_SQL_VALUE(f->svc_a, f->s, "SELECT openreferral_uuid('service', $1::uuid)", f->org_a);
    IT_SQL_VALUE(f->svc_b, f->s, "SELECT openreferral_uuid('service', $1::uuid)", f->org_b);
    IT_SQL_VALUE(f->svc_c, f->s, "SELECT openreferral_uuid('service', $1::uuid)", f->org_c);
    *state = f;
    return 0;
}

/* ---- Helpers ------------------------------------------------------------------------------- */

/* GETs `path`, expects 200 JSON with the open-route headers. */
static void
get_ok(struct fx *f, const char *path, struct it_resp *r)
{
    it_get(f->s, path, NULL, r);
    it_assert_status(r, 200);
    assert_non_null(r->json);
    it_assert_header(r, "Access-Control-Allow-Origin", "*");
    /* A URL that carries a postcode (a family's, perhaps) is kept by no shared cache. */
    it_assert_header(r, "Cache-Control", strstr(path, "postcode=") != NULL ? "private" : "public");
    it_assert_header(r, "Content-Type", "application/json");
    assert_non_null(it_header(r, "ETag"));
}

/* Checks a page: the envelope's schema, every item against `item`, and the arithmetic. */
static json_t *
check_page(struct it_resp *r, const struct schema *item, long total, long page, long per_page)
{
    json_t *contents;
    long pages = (total + per_page - 1) / per_page, expect_size;
    size_t i;
    json_t *it;

    check_schema(r->json, &page_schema, "$");
    contents = json_object_get(r->json, "contents");
    json_array_foreach(contents, i, it)
    {
        char at[48];
        snprintf(at, sizeof(at), "$.contents[%zu]", i);
        check_schema(it, item, at);
    }
    expect_size = page < pages ? per_page : (page == pages ? total - (pages - 1) * per_page : 0);
    assert_int_equal(json_integer_value(json_object_get(r->json, "total_items")), total);
    assert_int_equal(json_integer_value(json_object_get(r->json, "total_pages")), pages);
    assert_int_equal(json_integer_value(json_object_get(r->json, "page_number")), page);
    assert_int_equal(json_integer_value(json_object_get(r->json, "size")), expect_size);
    assert_int_equal(json_array_size(contents), expect_size);
    assert_int_equal(json_is_true(json_object_get(r->json, "first_page")), page == 1);
    assert_int_equal(json_is_true(json_object_get(r->json, "last_page")), page >= pages);
    assert_int_equal(json_is_true(json_object_get(r->json, "empty")), expect_size == 0);
    return contents;
}

static double
haversine_m(double lat1, double lon1, double lat2, double lon2)
{
    const double rad = M_PI / 180.0, r = 6371008.8;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2)
               + cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);

    return 2 * r * asin(sqrt(a));
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void
test_info(void **state)
{
    struct fx *f = *state;
    struct it_resp r, r2;
    const char *inm[2];
    char hdr[128];

    get_ok(f, "/openreferral/", &r);
    check_schema(r.json, &info_schema, "$");
    assert_string_equal(it_json_str(&r, "version"), "3.0");
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s", it_header(&r, "ETag"));
    inm[0] = hdr;
    inm[1] = NULL;
    it_request(f->s, "GET", "/openreferral/", NULL, inm, NULL, &r2);
    it_assert_status(&r2, 304);
    assert_int_equal(r2.len, 0);
    it_resp_free(&r2);
    it_resp_free(&r);

    it_expect(f->s, "GET", "/openreferral/?x=1", NULL, NULL, 400);
}

static void
test_services_list(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    json_t *contents, *a = NULL, *b = NULL, *it;
    size_t i;

    get_ok(f, "/openreferral/services", &r);
    contents = check_page(&r, &service_list_schema, 2, 1, 50);
    json_array_foreach(contents, i, it)
    {
        const char *org = json_string_value(json_object_get(it, "organization_id"));
        if (strcmp(org, f->org_a) == 0) {
            a = it;
        } else if (strcmp(org, f->org_b) == 0) {
            b = it;
        }
    }
    /* Only the licensed, not archived organisations: A and B. */
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(a, "id")), f->svc_a);
    assert_string_not_equal(f->svc_a, f->org_a);
    assert_string_equal(json_string_value(json_object_get(a, "name")),
                        "M-PACT (Moving Parents and Children Together) \xe2\x80\x93 "
                        "Alpha Family Trust");
    assert_string_equal(json_string_value(json_object_get(a, "status")), "active");
    assert_int_equal(json_number_value(json_object_get(a, "minimum_age")), 8);
    assert_int_equal(json_number_value(json_object_get(a, "maximum_age")), 17);
    assert_string_equal(json_string_value(json_object_get(a, "url")),
                        "https://alphafamilytrust.example/mpact");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(a, "organization"), "email")),
        "alphafamilytrust@feed.example");
    /* B's contact is not public: no email, website or url anywhere. */
    assert_null(json_object_get(b, "url"));
    assert_null(json_object_get(b, "email"));
    assert_null(json_object_get(json_object_get(b, "organization"), "email"));
    assert_null(json_object_get(json_object_get(b, "organization"), "website"));
    assert_null(strstr(r.body, "Gamma"));
    assert_null(strstr(r.body, "Delta"));
    assert_null(strstr(r.body, "Epsilon"));
    it_resp_free(&r);

    /* Paging: 2 items, one a page. */
    get_ok(f, "/openreferral/services?per_page=1", &r);
    contents = check_page(&r, &service_list_schema, 2, 1, 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(contents, 0), "id")),
                        f->svc_a); /* name order */
    it_resp_free(&r);
    get_ok(f, "/openreferral/services?per_page=1&page=2", &r);
    contents = check_page(&r, &service_list_schema, 2, 2, 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(contents, 0), "id")),
                        f->svc_b);
    it_resp_free(&r);
    get_ok(f, "/openreferral/services?per_page=1&page=3", &r);
    check_page(&r, &service_list_schema, 2, 3, 1);
    it_resp_free(&r);

    /* Filters the profile names. */
    get_ok(f, "/openreferral/services?search=beta", &r);
    contents = check_page(&r, &service_list_schema, 1, 1, 50);
    assert_true(it_json_has(contents, "id", f->svc_b));
    it_resp_free(&r);
    get_ok(f, "/openreferral/services?minimum_age=10&maximum_age=12", &r);
    check_page(&r, &service_list_schema, 2, 1, 50);
    it_resp_free(&r);
    get_ok(f, "/openreferral/services?minimum_age=18", &r);
    check_page(&r, &service_list_schema, 0, 1, 50);
    it_resp_free(&r);
    get_ok(f, "/openreferral/services?taxonomy_id=x", &r);
    check_page(&r, &service_list_schema, 0, 1, 50);
    it_resp_free(&r);
    get_ok(f, "/openreferral/services?day=TU", &r); /* A's run (B's is on Thursday) */
    contents = check_page(&r, &service_list_schema, 1, 1, 50);
    assert_true(it_json_has(contents, "id", f->svc_a));
    it_resp_free(&r);
    get_ok(f, "/openreferral/services?day=wednesday", &r); /* only the prison run */
    check_page(&r, &service_list_schema, 0, 1, 50);
    it_resp_free(&r);
    get_ok(f, "/openreferral/services?start_time=12:00", &r);
    contents = check_page(&r, &service_list_schema, 1, 1, 50);
    assert_true(it_json_has(contents, "id", f->svc_a));
    it_resp_free(&r);

    /* Bad parameters. */
    {
        static const char *const bad[] = {
            "/openreferral/services?limit=5",
            "/openreferral/services?page=0",
            "/openreferral/services?per_page=101",
            "/openreferral/services?per_page=x",
            "/openreferral/services?day=funday",
            "/openreferral/services?start_time=9",
            "/openreferral/services?minimum_age=-1",
            "/openreferral/services?postcode=ME4",
            NULL,
        };
        for (i = 0; bad[i] != NULL; i++) {
            it_get(f->s, bad[i], NULL, &r);
            it_assert_problem(&r, 400);
            it_assert_header(&r, "Access-Control-Allow-Origin", "*");
            it_resp_free(&r);
        }
    }
}

static void
test_service_full(void **state)
{
    struct fx *f = *state;
    struct it_resp r, r2;
    char *path = it_fmt("/openreferral/services/%s", f->svc_a);
    json_t *sals, *sched, *contacts, *phones, *addr, *it;
    size_t i;

    get_ok(f, path, &r);
    schema_objects_checked = 0;
    check_schema(r.json, &service_schema, "$");
    assert_true(schema_objects_checked >= 10);
    it_assert_strs(&r, IT_ROW("id", f->svc_a, "organization_id", f->org_a));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.json, "organization"), "id")),
        f->org_a);

    /* Sites: the active, public, not archived ones only, never prison or school. */
    sals = json_object_get(r.json, "service_at_locations");
    assert_int_equal(json_array_size(sals), 3);
    assert_true(it_json_has(sals, "location_id", f->a1));
    assert_true(it_json_has(sals, "location_id", f->a2));
    assert_true(it_json_has(sals, "location_id", f->a8_nocoords));
    assert_null(strstr(r.body, f->a3_prison));
    assert_null(strstr(r.body, f->a4_school));
    assert_null(strstr(r.body, f->a5_private));
    assert_null(strstr(r.body, f->a6_inactive));
    assert_null(strstr(r.body, f->a7_archived));
    assert_null(strstr(r.body, "HMP"));
    assert_null(strstr(r.body, "School"));
    json_array_foreach(sals, i, it)
    {
        json_t *loc = json_object_get(it, "location");
        assert_string_equal(json_string_value(json_object_get(it, "service_id")), f->svc_a);
        assert_string_equal(json_string_value(json_object_get(loc, "id")),
                            json_string_value(json_object_get(it, "location_id")));
        addr = json_array_get(json_object_get(loc, "addresses"), 0);
        assert_string_equal(json_string_value(json_object_get(addr, "address_1")),
                            "Unit 2, 9 Dock Road");
        assert_string_equal(json_string_value(json_object_get(addr, "city")), "Chatham");
        assert_string_equal(json_string_value(json_object_get(addr, "country")), "GB");
        if (strcmp(json_string_value(json_object_get(loc, "id")), f->a1) == 0) {
            assert_true(fabs(json_number_value(json_object_get(loc, "latitude")) - 51.385) < 1e-9);
            assert_string_equal(json_string_value(json_object_get(addr, "postal_code")), "ME4 4AC");
        }
        if (strcmp(json_string_value(json_object_get(loc, "id")), f->a8_nocoords) == 0) {
            assert_null(json_object_get(loc, "latitude"));
        }
    }

    /* Schedules: the one upcoming run at a published site. */
    sched = json_object_get(r.json, "schedules");
    assert_int_equal(json_array_size(sched), 1);
    it = json_array_get(sched, 0);
    assert_string_equal(json_string_value(json_object_get(it, "id")), f->run_a1);
    assert_string_equal(json_string_value(json_object_get(it, "freq")), "WEEKLY");
    assert_string_equal(json_string_value(json_object_get(it, "byday")), "TU");
    assert_string_equal(json_string_value(json_object_get(it, "opens_at")), "18:00");
    assert_string_equal(json_string_value(json_object_get(it, "valid_from")), f->today_30);
    assert_string_equal(json_string_value(json_object_get(it, "valid_to")), f->today_100);
    assert_true(
        it_json_has(sals, "id", json_string_value(json_object_get(it, "service_at_location_id"))));

    /* Contact: public, with phone and email. */
    contacts = json_object_get(r.json, "contacts");
    assert_int_equal(json_array_size(contacts), 1);
    phones = json_object_get(json_array_get(contacts, 0), "phones");
    assert_string_equal(json_string_value(json_object_get(json_array_get(phones, 0), "number")),
                        "01632 960001");
    assert_string_equal(json_string_value(json_object_get(json_array_get(contacts, 0), "email")),
                        "alphafamilytrust@feed.example");

    /* Ids are stable: the same answer (and ETag) twice. */
    get_ok(f, path, &r2);
    assert_string_equal(r.body, r2.body);
    assert_string_equal(it_header(&r, "ETag"), it_header(&r2, "ETag"));
    it_resp_free(&r2);
    it_resp_free(&r);
    free(path);

    /* B: no public contact, so no contacts, and its schedule is the Thursday run. */
    path = it_fmt("/openreferral/services/%s", f->svc_b);
    get_ok(f, path, &r);
    check_schema(r.json, &service_schema, "$");
    assert_int_equal(json_array_size(json_object_get(r.json, "contacts")), 0);
    assert_null(strstr(r.body, "01632"));
    assert_null(strstr(r.body, "@feed.example"));
    sched = json_object_get(r.json, "schedules");
    assert_int_equal(json_array_size(sched), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(sched, 0), "byday")),
                        "TH");
    assert_string_equal(json_string_value(json_object_get(json_array_get(sched, 0), "opens_at")),
                        "10:30");
    assert_int_equal(json_array_size(json_object_get(r.json, "service_at_locations")), 2);
    it_resp_free(&r);
    free(path);
}

static void
test_service_not_found(void **state)
{
    struct fx *f = *state;
    char *paths[4];
    int i;

    paths[0] = it_fmt("/openreferral/services/%s", NO_SUCH_ID);
    paths[1] = it_fmt("/openreferral/services/%s", "not-a-uuid");
    paths[2] = it_fmt("/openreferral/services/%s", f->svc_c); /* suspended licence */
    paths[3] = it_fmt("/openreferral/services/%s", f->org_a); /* an organisation id */
    for (i = 0; i < 4; i++) {
        it_expect(f->s, "GET", paths[i], NULL, NULL, 404);
        free(paths[i]);
    }
}

/* The distance of a service_at_location item from the centre, from its coordinates. */
static double
item_distance(json_t *item)
{
    json_t *loc = json_object_get(item, "location");

    return haversine_m(CENTRE_LAT, CENTRE_LON, json_number_value(json_object_get(loc, "latitude")),
                       json_number_value(json_object_get(loc, "longitude")));
}

static void
test_service_at_locations(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    json_t *contents, *it;
    size_t i;
    double last = -1;

    /* No postcode: every published site of the feed's services, A8 (no coordinates) included. */
    get_ok(f, "/openreferral/service_at_locations", &r);
    contents = check_page(&r, &sal_list_schema, 5, 1, 50);
    assert_true(it_json_has(contents, "location_id", f->a8_nocoords));
    assert_null(strstr(r.body, f->c1));
    assert_null(strstr(r.body, f->d1));
    assert_null(strstr(r.body, f->a3_prison));
    assert_null(strstr(r.body, f->a4_school));
    assert_null(strstr(r.body, f->a5_private));
    it_resp_free(&r);

    /* Postcode alone: the four sites with coordinates, nearest first. */
    get_ok(f, "/openreferral/service_at_locations?postcode=ME4%204AB", &r);
    contents = check_page(&r, &sal_list_schema, 4, 1, 50);
    json_array_foreach(contents, i, it)
    {
        double d = item_distance(it);
        assert_true(d >= last);
        last = d;
    }
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(contents, 0), "location_id")), f->a1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(contents, 3), "location_id")), f->b2);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(contents, 1), "service"), "id")),
                        f->svc_b);
    it_resp_free(&r);

    /* Proximity 5 km: A1 (0.56 km) and B1 (1.95 km); A2 (11.7 km) and B2 (39 km) are beyond. */
    get_ok(f, "/openreferral/service_at_locations?postcode=me44ab&proximity=5000", &r);
    contents = check_page(&r, &sal_list_schema, 2, 1, 50);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(contents, 0), "location_id")), f->a1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(contents, 1), "location_id")), f->b1);
    json_array_foreach(contents, i, it)
    {
        assert_true(item_distance(it) <= 5000 * 1.0012);
    }
    it_resp_free(&r);

    /* The cut-off edge: A1 lies 556 m away (a little more by earthdistance's radius). */
    get_ok(f, "/openreferral/service_at_locations?postcode=ME4%204AB&proximity=500", &r);
    check_page(&r, &sal_list_schema, 0, 1, 50);
    it_resp_free(&r);
    get_ok(f, "/openreferral/service_at_locations?postcode=ME4%204AB&proximity=600", &r);
    contents = check_page(&r, &sal_list_schema, 1, 1, 50);
    assert_true(it_json_has(contents, "location_id", f->a1));
    it_resp_free(&r);

    /* Outward code: the district centroid (the same point here). */
    get_ok(f, "/openreferral/service_at_locations?postcode=ME4&proximity=5000", &r);
    contents = check_page(&r, &sal_list_schema, 2, 1, 50);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(contents, 0), "location_id")), f->a1);
    it_resp_free(&r);

    /* Paging with a postcode keeps the distance order across pages: A1, B1, A2, B2. */
    {
        const char *order[4];
        char *path;
        long page;

        order[0] = f->a1;
        order[1] = f->b1;
        order[2] = f->a2;
        order[3] = f->b2;
        for (page = 1; page <= 4; page++) {
            path = it_fmt("/openreferral/service_at_locations?postcode=ME4%%204AB&per_page=1"
                          "&page=%ld",
                          page);
            get_ok(f, path, &r);
            contents = check_page(&r, &sal_list_schema, 4, page, 1);
            assert_string_equal(
                json_string_value(json_object_get(json_array_get(contents, 0), "location_id")),
                order[page - 1]);
            it_resp_free(&r);
            free(path);
        }
    }

    /* A site's day filter: B1 runs on Thursdays. */
    get_ok(f, "/openreferral/service_at_locations?day=TH", &r);
    contents = check_page(&r, &sal_list_schema, 1, 1, 50);
    assert_true(it_json_has(contents, "location_id", f->b1));
    it_resp_free(&r);

    /* Errors. */
    /* An unknown postcode: the specification answers a list only, and no site is near a point
     * that cannot be placed: an empty page (or NDJSON body). */
    get_ok(f, "/openreferral/service_at_locations?postcode=ZZ9%209ZZ", &r);
    check_page(&r, &sal_list_schema, 0, 1, 50);
    it_resp_free(&r);
    get_ok(f, "/openreferral/service_at_locations?postcode=ZZ9&proximity=5000", &r);
    check_page(&r, &sal_list_schema, 0, 1, 50);
    it_resp_free(&r);
    {
        it_expect_gets(f->s, NULL, 400, "/openreferral/service_at_locations?", "postcode=12345",
                       "postcode=ME4%204AB%20X", "proximity=5000", "postcode=ME4&proximity=-5",
                       "postcode=ME4&proximity=abc", "postcode=ME4&proximity=900000", "radius_km=5",
                       NULL);
    }
}

static void
test_organizations(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    json_t *contents, *it;
    size_t i;

    get_ok(f, "/openreferral/organizations", &r);
    contents = check_page(&r, &organization_schema, 2, 1, 50);
    assert_true(it_json_has(contents, "id", f->org_a));
    assert_true(it_json_has(contents, "id", f->org_b));
    json_array_foreach(contents, i, it)
    {
        if (strcmp(json_string_value(json_object_get(it, "id")), f->org_b) == 0) {
            assert_null(json_object_get(it, "email"));
            assert_null(json_object_get(it, "website"));
        } else {
            assert_string_equal(json_string_value(json_object_get(it, "website")),
                                "https://alphafamilytrust.example/mpact");
        }
    }
    it_resp_free(&r);
    get_ok(f, "/openreferral/organizations?page=2&per_page=1", &r);
    contents = check_page(&r, &organization_schema, 2, 2, 1);
    assert_true(it_json_has(contents, "id", f->org_b));
    it_resp_free(&r);
    get_ok(f, "/openreferral/organizations?search=BETA", &r);
    contents = check_page(&r, &organization_schema, 1, 1, 50);
    assert_true(it_json_has(contents, "id", f->org_b));
    it_resp_free(&r);
    it_expect(f->s, "GET", "/openreferral/organizations?sort=name", NULL, NULL, 400);
}

/* ---- The whole 3.0 API: the remaining endpoints and parameters ------------------------------ */

static const struct schema term_schema = {
    "taxonomy_term",
    (const struct rule[]){
        {"id", J_STRING, 1, "uuid", NULL},
        {"name", J_STRING, 1, NULL, NULL},
        {"description", J_STRING, 1, NULL, NULL},
        {"parent_id", J_STRING, 0, "uuid", NULL},
        {"taxonomy", J_STRING, 0, NULL, NULL},
        {"taxonomy_id", J_STRING, 0, "uuid", NULL},
        {"term", J_STRING, 0, NULL, NULL},
        {"term_uri", J_STRING, 0, "uri", NULL},
        {NULL, 0, 0, NULL, NULL},
    },
};

static const struct schema taxonomy_schema = {
    "taxonomy",
    (const struct rule[]){
        {"id", J_STRING, 1, "uuid", NULL},
        {"name", J_STRING, 1, NULL, NULL},
        {"description", J_STRING, 1, NULL, NULL},
        {"uri", J_STRING, 0, "uri", NULL},
        {"version", J_STRING, 0, NULL, NULL},
        {"taxonomy_terms", J_ARRAY, 0, NULL, &term_schema},
        {NULL, 0, 0, NULL, NULL},
    },
};

static const struct schema attribute_schema = {
    "attribute",
    (const struct rule[]){
        {"id", J_STRING, 1, "uuid", NULL},
        {"link_id", J_STRING, 0, "uuid", NULL},
        {"taxonomy_term_id", J_STRING, 0, "uuid", NULL},
        {"link_type", J_STRING, 0, NULL, NULL},
        {"taxonomy_term", J_OBJECT, 0, NULL, &term_schema},
        {NULL, 0, 0, NULL, NULL},
    },
};

/* The esd terms every service carries (migrations 0030 and 0041): id, the list's label, and its
 * identifier and URI in the list (Service types, or Needs for 69). "Parenting support", which
 * has no identifier in the list, is gone (README: Taxonomy). */
static const struct esd_term {
    const char *id, *name, *term, *term_uri;
} esd_terms[] = {
    {"5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9101", "Family support groups", "831",
     "http://id.esd.org.uk/service/831"},
    {"5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9102", "Drugs advice and support", "730",
     "http://id.esd.org.uk/service/730"},
    {"5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9104", "Alcohol advice and support", "727",
     "http://id.esd.org.uk/service/727"},
    {"5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9201", "Social inclusion", "69",
     "http://id.esd.org.uk/need/69"},
};

/* Fails unless the array of taxonomy term objects `terms` is exactly the terms of esd_terms,
 * each with its name, term and term_uri. */
static void
check_esd_terms(json_t *terms)
{
    size_t i, j;
    json_t *it, *found;

    assert_int_equal(json_array_size(terms), sizeof esd_terms / sizeof esd_terms[0]);
    for (i = 0; i < sizeof esd_terms / sizeof esd_terms[0]; i++) {
        found = NULL;
        json_array_foreach(terms, j, it)
        {
            if (it_jstr(it, "id") != NULL && strcmp(it_jstr(it, "id"), esd_terms[i].id) == 0) {
                found = it;
            }
        }
        assert_non_null(found);
        assert_non_null(it_jstr(found, "name"));
        assert_string_equal(it_jstr(found, "name"), esd_terms[i].name);
        assert_non_null(it_jstr(found, "term"));
        assert_string_equal(it_jstr(found, "term"), esd_terms[i].term);
        assert_non_null(it_jstr(found, "term_uri"));
        assert_string_equal(it_jstr(found, "term_uri"), esd_terms[i].term_uri);
    }
}

/* The fully nested service_at_location: its location and its service (with schedules). */
static const struct schema sal_full_schema = {
    "service_at_location",
    (const struct rule[]){
        {"id", J_STRING, 1, "uuid", NULL},
        {"service_id", J_STRING, 1, "uuid", NULL},
        {"location_id", J_STRING, 1, "uuid", NULL},
        {"location", J_OBJECT, 1, NULL, &location_schema},
        {"service", J_OBJECT, 1, NULL, &service_schema},
        {NULL, 0, 0, NULL, NULL},
    },
};

/* The organization with its services. */
static const struct schema organization_full_schema = {
    "organization",
    (const struct rule[]){
        {"id", J_STRING, 1, "uuid", NULL},
        {"name", J_STRING, 1, NULL, NULL},
        {"description", J_STRING, 1, NULL, NULL},
        {"email", J_STRING, 0, "email", NULL},
        {"website", J_STRING, 0, "uri", NULL},
        {"services", J_ARRAY, 1, NULL, &service_schema},
        {NULL, 0, 0, NULL, NULL},
    },
};

/* Walks every page of `path` (which has a query already when `amp`) `per_page` items at a time,
 * checking each page's envelope and items, and returns every item in order (a new reference). */
static json_t *
walk_pages(
    struct fx *f, const char *path, int amp, long per_page, const struct schema *item, long total)
{
    json_t *all = json_array();
    long pages = (total + per_page - 1) / per_page, page;

    for (page = 1; page <= (pages > 0 ? pages : 1) + 1; page++) {
        struct it_resp r;
        char *url = it_fmt("%s%cpage=%ld&per_page=%ld", path, amp ? '&' : '?', page, per_page);

        get_ok(f, url, &r);
        json_array_extend(all, check_page(&r, item, total, page, per_page));
        it_resp_free(&r);
        free(url);
    }
    assert_int_equal(json_array_size(all), total);
    return all;
}

/* GETs `path` with format=ndjson: application/x-ndjson, one JSON object a line, which must be
 * `expect` (every item, unpaged) in order. */
static void
check_ndjson(struct fx *f, const char *path, json_t *expect)
{
    struct it_resp r;
    char *line, *save = NULL, *copy;
    size_t n = 0;

    it_get(f->s, path, NULL, &r);
    it_assert_status(&r, 200);
    it_assert_header(&r, "Content-Type", "application/x-ndjson");
    it_assert_header(&r, "Access-Control-Allow-Origin", "*");
    assert_true(r.len == 0 || r.body[r.len - 1] == '\n');
    copy = strdup(r.body);
    for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        json_error_t err;
        json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &err);

        assert_non_null(o);
        assert_true(json_is_object(o));
        assert_true(n < json_array_size(expect));
        assert_true(json_equal(o, json_array_get(expect, n)));
        json_decref(o);
        n++;
    }
    assert_int_equal(n, json_array_size(expect));
    free(copy);
    it_resp_free(&r);
}

/* Expects a 400 problem naming `name` in its detail, readable from any origin. */
static void
expect_bad(struct fx *f, const char *path, const char *name)
{
    struct it_resp r;

    it_get(f->s, path, NULL, &r);
    it_assert_problem(&r, 400);
    it_assert_header(&r, "Access-Control-Allow-Origin", "*");
    if (strstr(it_json_str(&r, "detail"), name) == NULL) {
        fail_msg("%s: the problem's detail \"%s\" does not name %s", path,
                 it_json_str(&r, "detail"), name);
    }
    it_resp_free(&r);
}

/* Expects a 404 problem, readable from any origin. */
static void
expect_404(struct fx *f, const char *path)
{
    struct it_resp r;

    it_get(f->s, path, NULL, &r);
    it_assert_problem(&r, 404);
    it_assert_header(&r, "Access-Control-Allow-Origin", "*");
    it_resp_free(&r);
}

static void
test_redirect_and_cors(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    const char *origin[] = {"Origin: https://directory.example", NULL};

    it_request(f->s, "GET", "/openreferral", NULL, origin, NULL, &r);
    it_assert_status(&r, 301);
    it_assert_header(&r, "Location", "/openreferral/");
    it_assert_header(&r, "Access-Control-Allow-Origin", "*");
    it_resp_free(&r);
    it_get(f->s, "/openreferral?x=1", NULL, &r);
    it_assert_status(&r, 301);
    it_assert_header(&r, "Location", "/openreferral/?x=1");
    it_resp_free(&r);

    /* Errors and unknown paths under the feed are readable from any origin too. */
    expect_404(f, "/openreferral/nothing-here");
    expect_404(f, "/openreferral/services/" NO_SUCH_ID "/more");
    expect_404(f, "/openreferral/services/not-a-uuid");
    expect_bad(f, "/openreferral/taxonomies?per_page=0", "per_page");
    it_request(f->s, "POST", "/openreferral/services", NULL, origin, "", &r);
    it_assert_problem(&r, 405);
    it_assert_header(&r, "Access-Control-Allow-Origin", "*");
    it_resp_free(&r);
    it_request(f->s, "OPTIONS", "/openreferral/taxonomy_terms", NULL, origin, NULL, &r);
    it_assert_status(&r, 204);
    it_assert_header(&r, "Access-Control-Allow-Origin", "*");
    it_resp_free(&r);
    /* Only the feed: an unknown path elsewhere stays closed to other origins. */
    it_get(f->s, "/v1/nothing-here", NULL, &r);
    it_assert_problem(&r, 404);
    assert_null(it_header(&r, "Access-Control-Allow-Origin"));
    it_resp_free(&r);
}

static void
test_taxonomies(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    json_t *all, *terms, *it, *children;
    size_t i, j;
    char *path;

    /* Two taxonomies (the LGA esd Service types and Needs lists), on every page size. */
    all = walk_pages(f, "/openreferral/taxonomies", 0, 1, &taxonomy_schema, 2);
    assert_string_equal(it_jstr(json_array_get(all, 0), "name"), "esdNeeds");
    assert_string_equal(it_jstr(json_array_get(all, 1), "name"), "esdServiceTypes");
    assert_string_equal(it_jstr(json_array_get(all, 1), "uri"),
                        "http://id.esd.org.uk/list/services");
    check_ndjson(f, "/openreferral/taxonomies?format=ndjson&per_page=1", all);
    json_array_foreach(all, i, it)
    {
        /* Each taxonomy by its id, with its terms. */
        path = it_fmt("/openreferral/taxonomies/%s", it_jstr(it, "id"));
        get_ok(f, path, &r);
        check_schema(r.json, &taxonomy_schema, "$");
        assert_string_equal(it_json_str(&r, "id"), it_jstr(it, "id"));
        children = json_object_get(r.json, "taxonomy_terms");
        assert_int_equal(json_array_size(children), i == 0 ? 1 : 3);
        json_array_foreach(children, j, terms)
        {
            assert_string_equal(it_jstr(terms, "taxonomy_id"), it_jstr(it, "id"));
            assert_string_equal(it_jstr(terms, "taxonomy"), it_jstr(it, "name"));
        }
        it_resp_free(&r);
        free(path);
        /* taxonomy_terms?taxonomy_id= its terms only. */
        path = it_fmt("/openreferral/taxonomy_terms?taxonomy_id=%s", it_jstr(it, "id"));
        get_ok(f, path, &r);
        check_page(&r, &term_schema, i == 0 ? 1 : 3, 1, 50);
        it_resp_free(&r);
        free(path);
    }
    json_decref(all);
    get_ok(f, "/openreferral/taxonomies?search=NEEDS", &r);
    check_page(&r, &taxonomy_schema, 1, 1, 50);
    it_resp_free(&r);

    /* Four terms, every page, every id. */
    terms = walk_pages(f, "/openreferral/taxonomy_terms", 0, 1, &term_schema, 4);
    check_ndjson(f, "/openreferral/taxonomy_terms?format=ndjson", terms);
    json_array_foreach(terms, i, it)
    {
        path = it_fmt("/openreferral/taxonomy_terms/%s", it_jstr(it, "id"));
        get_ok(f, path, &r);
        check_schema(r.json, &term_schema, "$");
        assert_true(json_equal(r.json, it));
        it_resp_free(&r);
        free(path);
    }
    /* Need 69, Social inclusion, with its URI. */
    assert_true(it_json_has(terms, "term_uri", "http://id.esd.org.uk/need/69"));
    /* And the Service types identifiers of migration 0041, with the list's labels. */
    check_esd_terms(terms);
    json_decref(terms);
    get_ok(f, "/openreferral/taxonomy_terms?top_only=true&search=alcohol", &r);
    check_page(&r, &term_schema, 1, 1, 50);
    it_resp_free(&r);
    get_ok(f, "/openreferral/taxonomy_terms?parent_id=" NO_SUCH_ID, &r);
    check_page(&r, &term_schema, 0, 1, 50);
    it_resp_free(&r);

    expect_404(f, "/openreferral/taxonomies/" NO_SUCH_ID);
    expect_404(f, "/openreferral/taxonomies/esdNeeds");
    expect_404(f, "/openreferral/taxonomy_terms/" NO_SUCH_ID);
    expect_404(f, "/openreferral/taxonomy_terms/69");
    /* "Parenting support" (no identifier in the list) was removed by migration 0041. */
    expect_404(f, "/openreferral/taxonomy_terms/5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9103");
    expect_bad(f, "/openreferral/taxonomy_terms?taxonomy_id=esdNeeds", "taxonomy_id");
    expect_bad(f, "/openreferral/taxonomy_terms?parent_id=x", "parent_id");
    expect_bad(f, "/openreferral/taxonomy_terms?top_only=yes", "top_only");
    expect_bad(f, "/openreferral/taxonomy_terms?format=csv", "format");
    expect_bad(f, "/openreferral/taxonomies?format=xml", "format");
    expect_bad(f, "/openreferral/taxonomies?search=", "search");
    expect_bad(f, "/openreferral/taxonomies?vocabulary=esd", "vocabulary");
    expect_bad(f, "/openreferral/taxonomies/" NO_SUCH_ID "?full=true", "full");
}

/* The schedule of `run` in `schedules`, or NULL. */
static json_t *
schedule_of(json_t *schedules, const char *run)
{
    json_t *it;
    size_t i;

    json_array_foreach(schedules, i, it)
    {
        if (strcmp(it_jstr(it, "id"), run) == 0) {
            return it;
        }
    }
    return NULL;
}

static void
test_services_parameters(void **state)
{
    struct fx *f = *state;
    struct it_resp r, one;
    json_t *all, *it, *sch, *attrs;
    size_t i;
    char *path;

    all = walk_pages(f, "/openreferral/services", 0, 1, &service_list_schema, 2);
    check_ndjson(f, "/openreferral/services?format=ndjson&page=2&per_page=1", all);
    json_decref(all);

    /* full=true: each item as /services/{id} answers it. */
    all = walk_pages(f, "/openreferral/services?full=true", 1, 1, &service_schema, 2);
    json_array_foreach(all, i, it)
    {
        path = it_fmt("/openreferral/services/%s", it_jstr(it, "id"));
        get_ok(f, path, &one);
        assert_true(json_equal(one.json, it));
        it_resp_free(&one);
        free(path);
    }
    check_ndjson(f, "/openreferral/services?full=true&format=ndjson", all);
    /* closes_at: opens_at plus the variant's two-hour session; attributes: the four terms. */
    it = json_array_get(all, 0);
    assert_string_equal(it_jstr(it, "id"), f->svc_a);
    sch = schedule_of(json_object_get(it, "schedules"), f->run_a1);
    assert_non_null(sch);
    assert_string_equal(it_jstr(sch, "opens_at"), "18:00");
    assert_string_equal(it_jstr(sch, "closes_at"), "20:00");
    attrs = json_object_get(it, "attributes");
    assert_int_equal(json_array_size(attrs), 4);
    {
        json_t *a;
        size_t k;
        json_array_foreach(attrs, k, a)
        {
            check_schema(a, &attribute_schema, "$.attributes[]");
            assert_string_equal(it_jstr(a, "link_id"), f->svc_a);
            assert_string_equal(it_jstr(a, "link_type"), "service");
            assert_string_equal(it_jstr(a, "taxonomy_term_id"),
                                it_jstr(json_object_get(a, "taxonomy_term"), "id"));
        }
    }
    /* Each attribute's term with its esd identifier and URI (migration 0041). */
    {
        json_t *a, *attr_terms = json_array();
        size_t k;
        json_array_foreach(attrs, k, a)
        {
            json_array_append(attr_terms, json_object_get(a, "taxonomy_term"));
        }
        check_esd_terms(attr_terms);
        json_decref(attr_terms);
    }
    /* The public contact's phone is on the service as well as in its contact. */
    assert_string_equal(it_jstr(json_array_get(json_object_get(it, "phones"), 0), "number"),
                        "01632 960001");
    assert_string_equal(it_jstr(json_array_get(json_object_get(it, "phones"), 0), "service_id"),
                        f->svc_a);
    /* Beta's contact is not public: no phone anywhere. */
    assert_int_equal(json_array_size(json_object_get(json_array_get(all, 1), "phones")), 0);
    json_decref(all);

    /* minimal=true: id, name, status and last_modified, nothing else. */
    get_ok(f, "/openreferral/services?minimal=true", &r);
    all = check_page(&r, &service_list_schema, 2, 1, 50);
    json_array_foreach(all, i, it)
    {
        assert_int_equal(json_object_size(it), 4);
        assert_non_null(it_jstr(it, "last_modified"));
        assert_string_equal(it_jstr(it, "status"), "active");
    }
    it_resp_free(&r);

    /* organization_id. */
    path = it_fmt("/openreferral/services?organization_id=%s", f->org_b);
    get_ok(f, path, &r);
    all = check_page(&r, &service_list_schema, 1, 1, 50);
    assert_string_equal(it_jstr(json_array_get(all, 0), "id"), f->svc_b);
    it_resp_free(&r);
    free(path);
    path = it_fmt("/openreferral/services?organization_id=%s", f->org_c); /* suspended */
    get_ok(f, path, &r);
    check_page(&r, &service_list_schema, 0, 1, 50);
    it_resp_free(&r);
    free(path);

    /* Taxonomy filters: the terms and taxonomies that tag the services. */
    get_ok(f, "/openreferral/services?taxonomy_term_id=5d1e4b0e-3f0a-4c47-9a51-2b7c1e0a9201", &r);
    check_page(&r, &service_list_schema, 2, 1, 50);
    it_resp_free(&r);
    get_ok(f, "/openreferral/services?taxonomy_id=5D1E4B0E-3F0A-4C47-9A51-2B7C1E0A9001", &r);
    check_page(&r, &service_list_schema, 2, 1, 50);
    it_resp_free(&r);
    get_ok(f, "/openreferral/services?taxonomy_term_id=" NO_SUCH_ID, &r);
    check_page(&r, &service_list_schema, 0, 1, 50);
    it_resp_free(&r);
    get_ok(f, "/openreferral/services?taxonomy_id=esdServiceType:298", &r);
    check_page(&r, &service_list_schema, 0, 1, 50);
    it_resp_free(&r);

    /* modified_after: a date, a date-time with Z, with an offset (%2B, or a '+' the query string
     * turned into a space). */
    get_ok(f, "/openreferral/services?modified_after=2000-01-01", &r);
    check_page(&r, &service_list_schema, 2, 1, 50);
    it_resp_free(&r);
    get_ok(f, "/openreferral/services?modified_after=2999-01-01T00:00:00Z", &r);
    check_page(&r, &service_list_schema, 0, 1, 50);
    it_resp_free(&r);
    get_ok(f, "/openreferral/services?modified_after=2000-01-01T00:00:00.5%2B01:00", &r);
    check_page(&r, &service_list_schema, 2, 1, 50);
    it_resp_free(&r);
    get_ok(f, "/openreferral/services?modified_after=2999-01-01T00:00+01:00", &r);
    check_page(&r, &service_list_schema, 0, 1, 50);
    it_resp_free(&r);
    /* A change to a term the services carry (their attributes) is a change to every service;
     * the term's time is put back after, for the tests that follow one site's change. */
    {
        char after[40], was[64], url[120];
        IT_SQL_VALUE(after, f->s,
                     "SELECT to_char((now() + interval '1 hour') AT TIME ZONE 'UTC',"
                     " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
        IT_SQL_VALUE(was, f->s,
                     "SELECT updated_at FROM openreferral_taxonomy_term WHERE code = '69'");
        snprintf(url, sizeof url, "/openreferral/services?modified_after=%s", after);
        get_ok(f, url, &r);
        check_page(&r, &service_list_schema, 0, 1, 50);
        it_resp_free(&r);
        assert_int_equal(it_count(f->s, "UPDATE openreferral_taxonomy_term SET updated_at ="
                                        " now() + interval '2 hours' WHERE code = '69'"
                                        " RETURNING 1"),
                         1);
        get_ok(f, url, &r);
        check_page(&r, &service_list_schema, 2, 1, 50);
        it_resp_free(&r);
        assert_int_equal(it_count(f->s,
                                  "UPDATE openreferral_taxonomy_term SET updated_at = $1"
                                  " WHERE code = '69' RETURNING 1",
                                  was),
                         1);
    }

    {
        static const char *const bad[][2] = {
            {"/openreferral/services?format=xml", "format"},
            {"/openreferral/services?format=", "format"},
            {"/openreferral/services?organization_id=abc", "organization_id"},
            {"/openreferral/services?modified_after=yesterday", "modified_after"},
            {"/openreferral/services?modified_after=2026-02-30", "modified_after"},
            {"/openreferral/services?modified_after=2025-02-29", "modified_after"},
            {"/openreferral/services?modified_after=2026-01-01T25:00:00Z", "modified_after"},
            {"/openreferral/services?modified_after=2026-01-01T10:00:00X", "modified_after"},
            {"/openreferral/services?minimal=1", "minimal"},
            {"/openreferral/services?full=TRUE", "full"},
            {"/openreferral/services?full=true&minimal=true", "minimal"},
            {"/openreferral/services?full_service=true", "full_service"},
            {NULL, NULL},
        };
        for (i = 0; bad[i][0] != NULL; i++) {
            expect_bad(f, bad[i][0], bad[i][1]);
        }
    }
}

static void
test_service_at_location_endpoints(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    json_t *all, *full, *it, *sch;
    size_t i, j;
    char *path, sal_prison[40];

    all = walk_pages(f, "/openreferral/service_at_locations", 0, 1, &sal_list_schema, 5);
    check_ndjson(f, "/openreferral/service_at_locations?format=ndjson&per_page=2", all);
    full = walk_pages(f, "/openreferral/service_at_locations?full=true", 1, 2, &sal_full_schema, 5);
    json_array_foreach(all, i, it)
    {
        json_t *svc;

        /* Every id: the fully nested service_at_location, as full=true lists it. */
        path = it_fmt("/openreferral/service_at_locations/%s", it_jstr(it, "id"));
        get_ok(f, path, &r);
        check_schema(r.json, &sal_full_schema, "$");
        it_assert_strs(&r,
                       IT_ROW("id", it_jstr(it, "id"), "location_id", it_jstr(it, "location_id")));
        assert_true(json_equal(r.json, json_array_get(full, i)));
        svc = json_object_get(r.json, "service");
        assert_string_equal(it_jstr(svc, "id"), it_jstr(it, "service_id"));
        /* Its schedules are the runs at this site only. */
        json_array_foreach(json_object_get(svc, "schedules"), j, sch)
        {
            assert_string_equal(it_jstr(sch, "service_at_location_id"), it_jstr(it, "id"));
        }
        assert_int_equal(json_array_size(json_object_get(svc, "schedules")),
                         strcmp(it_jstr(it, "location_id"), f->a1) == 0
                                 || strcmp(it_jstr(it, "location_id"), f->b1) == 0
                             ? 1
                             : 0);
        assert_null(json_object_get(svc, "service_at_locations"));
        it_resp_free(&r);
        free(path);
    }
    check_ndjson(f, "/openreferral/service_at_locations?full=true&format=ndjson", full);
    json_decref(full);
    json_decref(all);

    path = it_fmt("/openreferral/service_at_locations?organization_id=%s", f->org_b);
    get_ok(f, path, &r);
    all = check_page(&r, &sal_list_schema, 2, 1, 50);
    json_array_foreach(all, i, it)
    {
        assert_string_equal(it_jstr(it, "service_id"), f->svc_b);
    }
    it_resp_free(&r);
    free(path);
    get_ok(f, "/openreferral/service_at_locations?modified_after=2999-12-31", &r);
    check_page(&r, &sal_list_schema, 0, 1, 50);
    it_resp_free(&r);
    all = json_array();
    check_ndjson(f, "/openreferral/service_at_locations?postcode=ZZ9%209ZZ&format=ndjson", all);
    json_decref(all);

    /* A site the feed leaves out has no service_at_location. */
    IT_SQL_VALUE(sal_prison, f->s, "SELECT openreferral_uuid('service_at_location', $1::uuid)",
                 f->a3_prison);
    path = it_fmt("/openreferral/service_at_locations/%s", sal_prison);
    expect_404(f, path);
    free(path);
    path = it_fmt("/openreferral/service_at_locations/%s", f->a1); /* a site id, not a sal id */
    expect_404(f, path);
    free(path);
    expect_404(f, "/openreferral/service_at_locations/" NO_SUCH_ID);
    expect_404(f, "/openreferral/service_at_locations/x");
    expect_bad(f, "/openreferral/service_at_locations/" NO_SUCH_ID "?full=true", "full");
    expect_bad(f, "/openreferral/service_at_locations?minimal=true", "minimal");
    expect_bad(f, "/openreferral/service_at_locations?full=no", "full");
    expect_bad(f, "/openreferral/service_at_locations?format=json2", "format");
    expect_bad(f, "/openreferral/service_at_locations?organization_id=1", "organization_id");
    expect_bad(f, "/openreferral/service_at_locations?modified_after=2026-13-01", "modified_after");
}

static void
test_organization_endpoints(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    json_t *all, *it, *svc;
    size_t i;
    char *path;

    all = walk_pages(f, "/openreferral/organizations", 0, 1, &organization_schema, 2);
    check_ndjson(f, "/openreferral/organizations?format=ndjson", all);
    json_array_foreach(all, i, it)
    {
        assert_null(json_object_get(it, "services"));
        /* Every id: the organization with its one service, simple or fully nested. */
        path = it_fmt("/openreferral/organizations/%s", it_jstr(it, "id"));
        get_ok(f, path, &r);
        check_schema(r.json, &organization_full_schema, "$");
        assert_int_equal(json_array_size(json_object_get(r.json, "services")), 1);
        svc = json_array_get(json_object_get(r.json, "services"), 0);
        assert_string_equal(it_jstr(svc, "id"), i == 0 ? f->svc_a : f->svc_b);
        assert_null(json_object_get(svc, "schedules"));
        assert_null(json_object_get(svc, "organization"));
        it_resp_free(&r);
        free(path);
        path = it_fmt("/openreferral/organizations/%s?full_service=true", it_jstr(it, "id"));
        get_ok(f, path, &r);
        check_schema(r.json, &organization_full_schema, "$");
        svc = json_array_get(json_object_get(r.json, "services"), 0);
        assert_non_null(json_object_get(svc, "schedules"));
        assert_non_null(json_object_get(svc, "service_at_locations"));
        it_resp_free(&r);
        free(path);
    }
    json_decref(all);
    all =
        walk_pages(f, "/openreferral/organizations?full=true", 1, 1, &organization_full_schema, 2);
    assert_null(json_object_get(
        json_array_get(json_object_get(json_array_get(all, 0), "services"), 0), "schedules"));
    json_decref(all);
    all = walk_pages(f, "/openreferral/organizations?full_service=true", 1, 2,
                     &organization_full_schema, 2);
    assert_non_null(json_object_get(
        json_array_get(json_object_get(json_array_get(all, 0), "services"), 0), "schedules"));
    check_ndjson(f, "/openreferral/organizations?full_service=true&format=ndjson", all);
    json_decref(all);

    path = it_fmt("/openreferral/organizations/%s", f->org_c); /* suspended */
    expect_404(f, path);
    free(path);
    path = it_fmt("/openreferral/organizations/%s", f->org_e); /* never licensed */
    expect_404(f, path);
    free(path);
    expect_404(f, "/openreferral/organizations/" NO_SUCH_ID);
    expect_404(f, "/openreferral/organizations/alpha");
    path = it_fmt("/openreferral/organizations/%s?full_service=maybe", f->org_a);
    expect_bad(f, path, "full_service");
    free(path);
    path = it_fmt("/openreferral/organizations/%s?full=true", f->org_a);
    expect_bad(f, path, "full");
    free(path);
    expect_bad(f, "/openreferral/organizations?full=1", "full");
    expect_bad(f, "/openreferral/organizations?format=ndjson2", "format");
    expect_bad(f, "/openreferral/organizations?search=", "search");
}

/* Changes data: runs after the tests that count on the fixture as built. */
static void
test_changes_and_blanks(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    json_t *all, *loc, *addr;
    char since[40], *path;

    /* modified_after follows the sites and runs: touch Beta's site, and only Beta is newer. */
    it_sleep_ms(20);
    IT_SQL_VALUE(since, f->s,
                 "SELECT to_char(now() AT TIME ZONE 'UTC',"
                 " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
    it_sleep_ms(20);
    PQclear(it_sql(f->s, "UPDATE location SET updated_at = now() WHERE id = $1::uuid", f->b2));
    path = it_fmt("/openreferral/services?modified_after=%s", since);
    get_ok(f, path, &r);
    all = check_page(&r, &service_list_schema, 1, 1, 50);
    assert_string_equal(it_jstr(json_array_get(all, 0), "id"), f->svc_b);
    it_resp_free(&r);
    free(path);
    path = it_fmt("/openreferral/service_at_locations?modified_after=%s", since);
    get_ok(f, path, &r);
    check_page(&r, &sal_list_schema, 2, 1, 50);
    it_resp_free(&r);
    free(path);
    /* A run of Alpha's: Alpha is newer as well. */
    PQclear(it_sql(f->s, "UPDATE programme_run SET updated_at = now() WHERE id = $1::uuid",
                   f->run_a1_past));
    path = it_fmt("/openreferral/services?modified_after=%s&minimal=true", since);
    get_ok(f, path, &r);
    check_page(&r, &service_list_schema, 2, 1, 50);
    it_resp_free(&r);
    free(path);

    /* Blank text is no value, never "": accessibility and e-mail left out; state_province the
     * local authority district of the site's postcode. */
    PQclear(it_sql(f->s, "UPDATE location SET accessibility = '  ' WHERE id = $1::uuid", f->a1));
    PQclear(it_sql(f->s, "UPDATE organisation SET email = '', website = ' ' WHERE id = $1::uuid",
                   f->org_a));
    PQclear(it_sql(f->s, "INSERT INTO local_authority (code, name) VALUES ('E06000035', 'Medway')"
                         " ON CONFLICT DO NOTHING"));
    PQclear(it_sql(f->s, "INSERT INTO postcode (postcode, latitude, longitude, oslaua) VALUES"
                         " ('ME4 4AC', 51.3800, 0.5300, 'E06000035')"));
    path = it_fmt("/openreferral/services/%s", f->svc_a);
    get_ok(f, path, &r);
    check_schema(r.json, &service_schema, "$");
    assert_null(json_object_get(r.json, "email"));
    assert_null(json_object_get(r.json, "url"));
    assert_null(json_object_get(json_object_get(r.json, "organization"), "email"));
    assert_null(json_object_get(json_object_get(r.json, "organization"), "website"));
    assert_null(it_jstr(json_array_get(json_object_get(r.json, "contacts"), 0), "email"));
    {
        json_t *sal;
        size_t i;
        int seen = 0;

        json_array_foreach(json_object_get(r.json, "service_at_locations"), i, sal)
        {
            loc = json_object_get(sal, "location");
            addr = json_array_get(json_object_get(loc, "addresses"), 0);
            assert_true(strlen(it_jstr(addr, "state_province")) > 0);
            if (strcmp(it_jstr(loc, "id"), f->a1) == 0) {
                seen = 1;
                assert_null(json_object_get(loc, "accessibility"));
                assert_string_equal(it_jstr(addr, "state_province"), "Medway");
            } else {
                assert_string_equal(it_jstr(addr, "state_province"), "Chatham");
            }
        }
        assert_true(seen);
    }
    it_resp_free(&r);
    free(path);
}

/* Runs last: the searches above must have left no postcode in the log. */
static void
test_no_postcode_logged(void **state)
{
    struct fx *f = *state;
    char *log = it_log(f->s);

    assert_non_null(log);
    assert_non_null(strstr(log, "/openreferral/service_at_locations"));
    it_assert_absent(log, "ME4 4AB", "ME4%204AB", "me44ab", "postcode=", "ZZ9", NULL);
    free(log);
}

TEST_MAIN(setup,
          it_fx_teardown,
          cmocka_unit_test(test_checker_rejects),
          cmocka_unit_test(test_info),
          cmocka_unit_test(test_services_list),
          cmocka_unit_test(test_service_full),
          cmocka_unit_test(test_service_not_found),
          cmocka_unit_test(test_service_at_locations),
          cmocka_unit_test(test_organizations),
          cmocka_unit_test(test_redirect_and_cors),
          cmocka_unit_test(test_taxonomies),
          cmocka_unit_test(test_services_parameters),
          cmocka_unit_test(test_service_at_location_endpoints),
          cmocka_unit_test(test_organization_endpoints),
          cmocka_unit_test(test_changes_and_blanks),
          cmocka_unit_test(test_no_postcode_logged))
