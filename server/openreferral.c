/* openreferral.c: the Open Referral UK feed (/openreferral/...), read-only and open: the UK
 * profile of HSDS 3.0 (github.com/openreferral/uk-profile: the compiled schemas, vendored in
 * tests/openapi/oruk/) and the 3.0 specification's endpoints and parameters as
 * openreferraluk.org publishes them.
 *
 * One service per licensed organisation (not archived, organisation_licensed_on today), its
 * M-PACT offer: its organization; a service_at_location per active, public, not archived site,
 * never a prison or school (one physical address: address_1 the non-blank lines joined,
 * state_province the site's local authority district, an Irish site's county, else its town;
 * country GB or IE); one contact and a service phone only when the contact is public; a WEEKLY
 * schedule per upcoming run (byday the RFC 5545 code, opens_at and closes_at HH:MM UK time,
 * closes_at after the variant's session_minutes); ages 8 to 17; as attributes, every taxonomy term
 * that tags M-PACT services (the LGA esd lists, migration 0030). Blank text is left out, never "".
 * Ids are the registry's own where a row exists, else name-based UUIDs (openreferral_uuid,
 * migration 0005) that never change.
 *
 * Where the specification is silent: `page` from 1 and `per_page` 1-100 (default 50), a page past
 * the end is 200 and empty; `format=ndjson` answers every item (page and per_page ignored), one
 * JSON object a line, as application/x-ndjson; `full=true` nests each item as its own endpoint
 * does, `minimal=true` (services) gives id, name, status and last_modified; `modified_after` (an
 * RFC 3339 date-time or a date) keeps the services whose organisation, sites or runs changed at
 * or after it; booleans are true or false; an unknown query name or a bad value is 400 naming
 * it. taxonomy_term_id and taxonomy_id match the terms and taxonomies that tag the services;
 * ages keep overlapping ranges; day, start_time and end_time keep services (or sites) with an
 * upcoming run that matches; search is a case-insensitive substring of name and description.
 * service_at_locations: `postcode` (full or outward; malformed 400) sorts nearest first and
 * `proximity` (metres, up to 200 km, needs a postcode) bounds the distance; a postcode we cannot
 * place answers an empty list (the specification answers lists only); the postcode is never
 * logged, stored or shared-cached. An unknown or malformed id is 404. */
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
#include "registry/jsonout.h"
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

/* A site (alias l, or ls) the feed may show (OR_SITE_AS below). */
#define OR_SITE    OR_SITE_AS("l")
#define OR_SITE_LS OR_SITE_AS("ls")

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

/* Text columns are written as NULLIF(btrim(x), ''): an empty or blank string is no value (null,
 * then left out by jsonb_strip_nulls). */

/* The organization object (alias o). */
#define OR_ORG_JSON                                                                                \
    " jsonb_build_object('id', o.id, 'name', o.name, 'description', o.name || ' is licensed to "   \
    "deliver M-PACT (Moving Parents and Children Together), a programme for families affected by " \
    "parental substance misuse.', 'email', CASE WHEN o.public_contact THEN NULLIF(btrim(o.email)," \
    " '') END, 'website', CASE WHEN o.public_contact THEN NULLIF(btrim(o.website), '') END) "

/* When the organisation (alias o), its sites, its runs or the terms it carries last changed. */
#define OR_LAST_CHANGE                                                                             \
    "greatest(o.updated_at, (SELECT max(x.updated_at) FROM location x WHERE x.organisation_id ="   \
    " o.id), (SELECT max(x.updated_at) FROM programme_run x WHERE x.organisation_id = o.id),"      \
    " (SELECT max(x.updated_at) FROM openreferral_taxonomy_term x WHERE x.tags_services))"

/* The service's one-to-one fields and its organization (alias o). */
#define OR_SERVICE_JSON                                                                            \
    " jsonb_build_object('id'," OR_SERVICE_ID ", 'organization_id', o.id, 'name', " OR_NAME_SQL    \
    ", 'description', '" OR_DESCRIPTION "', 'url', CASE WHEN o.public_contact THEN"                \
    " NULLIF(btrim(o.website), '') END, 'email', CASE WHEN o.public_contact THEN"                  \
    " NULLIF(btrim(o.email), '') END, 'status', 'active', 'minimum_age', 8, 'maximum_age', 17,"    \
    " 'eligibility_description', '" OR_ELIGIBILITY                                                 \
    "', 'last_modified'," OR_UTC_MS(OR_LAST_CHANGE) ", 'organization'," OR_ORG_JSON ") "

/* `minimal=true`: the service's id and last change (with the fields the profile requires). */
#define OR_SERVICE_MINIMAL_JSON                                                                    \
    " jsonb_build_object('id'," OR_SERVICE_ID ", 'name', " OR_NAME_SQL ", 'status', 'active',"     \
    " 'last_modified'," OR_UTC_MS(OR_LAST_CHANGE) ") "

/* A site the feed may show, under alias `a`. Prison and school sites never, whatever the flags
 * say. */
#define OR_SITE_AS(a)                                                                              \
    " " a ".archived_at IS NULL AND " a ".active AND " a ".public AND " a ".kind NOT IN"           \
    " ('prison', 'school') "

/* The state_province of a site (alias l): its local authority district when its postcode is
 * known, else its town. The profile requires a non-empty string here. */
#define OR_STATE_PROVINCE                                                                          \
    " coalesce((SELECT la.name FROM postcode pc JOIN local_authority la ON la.code = pc.oslaua"    \
    " WHERE pc.postcode = l.postcode), (SELECT ic.name FROM irish_county ic WHERE ic.code ="       \
    " l.county), l.town) "

/* The location object (alias l), with its address and accessibility notes. */
#define OR_LOCATION_JSON                                                                           \
    " jsonb_build_object('id', l.id, 'name', l.name, 'location_type', 'physical', 'latitude', "    \
    "l.latitude, 'longitude', l.longitude, 'addresses', "                                          \
    "jsonb_build_array(jsonb_build_object('id', openreferral_uuid('address', l.id), "              \
    "'location_id', l.id, 'address_1', (SELECT string_agg(btrim(a.line), ', ' ORDER BY a.n) FROM " \
    "jsonb_array_elements_text(l.address_lines) WITH ORDINALITY a(line, n) WHERE btrim(a.line) <>" \
    " ''), 'city', l.town, 'state_province'," OR_STATE_PROVINCE ", 'postal_code', l.postcode, "    \
    "'country', l.country, 'address_type', 'physical')), 'accessibility', CASE WHEN"               \
    " NULLIF(btrim(l.accessibility), '') IS NOT NULL THEN jsonb_build_array(jsonb_build_object("   \
    "'id', openreferral_uuid('accessibility', l.id), 'location_id', l.id, 'description',"          \
    " btrim(l.accessibility))) END) "

/* The service_at_location object (aliases o, l). */
#define OR_SAL_JSON                                                                                \
    " jsonb_build_object('id'," OR_SAL_ID ", 'service_id'," OR_SERVICE_ID ", 'location_id', l.id," \
    " 'location'," OR_LOCATION_JSON ") "

/* A taxonomy term (alias t) of its taxonomy (alias tx). */
#define OR_TERM_JSON                                                                               \
    " jsonb_build_object('id', t.id, 'name', t.name, 'description', t.description, 'parent_id',"   \
    " t.parent_id, 'taxonomy', tx.name, 'taxonomy_id', t.taxonomy_id, 'term', t.code, 'term_uri'," \
    " tx.term_uri_prefix || t.code) "
#define OR_TERM_FROM                                                                               \
    " openreferral_taxonomy_term t JOIN openreferral_taxonomy tx ON tx.id = t.taxonomy_id "

/* A taxonomy (alias tx). */
#define OR_TAXONOMY_JSON                                                                           \
    " jsonb_build_object('id', tx.id, 'name', tx.name, 'description', tx.description, 'uri',"      \
    " tx.uri, 'version', tx.version) "

/* The service's (alias o) attributes: every term that tags M-PACT services. */
#define OR_ATTRIBUTES                                                                              \
    " (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('id', "                      \
    "openreferral_uuid('attribute:' || t.id::text, o.id), 'link_id'," OR_SERVICE_ID                \
    ", 'link_type', 'service', 'taxonomy_term_id', t.id, 'taxonomy_term'," OR_TERM_JSON            \
    ")) ORDER BY tx.name, t.name, t.id), '[]'::jsonb) FROM" OR_TERM_FROM "WHERE t.tags_services) "

/* The service's (alias o) one-to-many fields but its service_at_locations: its contact and
 * phone when public, its attributes, and a schedule per upcoming run at a site (alias ls) that
 * matches `sites`. */
#define OR_SERVICE_DETAIL(sites)                                                                   \
    " jsonb_build_object('contacts', CASE WHEN o.public_contact AND (NULLIF(btrim(o.email), '')"   \
    " IS NOT NULL OR NULLIF(btrim(o.phone), '') IS NOT NULL) THEN jsonb_build_array("              \
    "jsonb_build_object('id'," OR_CONTACT_ID ", 'service_id'," OR_SERVICE_ID ", 'name', o.name,"   \
    " 'email', NULLIF(btrim(o.email), ''), 'phones', CASE WHEN NULLIF(btrim(o.phone), '') IS NOT"  \
    " NULL THEN jsonb_build_array(jsonb_build_object('id', openreferral_uuid('phone', o.id),"      \
    " 'contact_id'," OR_CONTACT_ID ", 'number', btrim(o.phone))) END)) ELSE '[]'::jsonb END,"      \
    " 'phones', CASE WHEN o.public_contact AND NULLIF(btrim(o.phone), '') IS NOT NULL THEN"        \
    " jsonb_build_array(jsonb_build_object('id', openreferral_uuid('service_phone', o.id),"        \
    " 'service_id'," OR_SERVICE_ID ", 'number', btrim(o.phone))) ELSE '[]'::jsonb END,"            \
    " 'attributes'," OR_ATTRIBUTES ", 'schedules', (SELECT coalesce(jsonb_agg(jsonb_build_object(" \
    "'id', p.id, 'service_id'," OR_SERVICE_ID ", 'service_at_location_id',"                        \
    " openreferral_uuid('service_at_location', ls.id), 'valid_from', p.starts_on, 'valid_to',"     \
    " p.ends_on, 'dtstart', p.starts_on, 'freq', 'WEEKLY', 'interval', 1, 'byday',"                \
    " upper(left(p.weekday, 2)), 'opens_at', to_char(p.start_time, 'HH24:MI'), 'closes_at',"       \
    " to_char(p.start_time + make_interval(mins => v.session_minutes), 'HH24:MI'),"                \
    " 'description', 'M-PACT group (' || v.title || ') at ' || ls.name || ', weekly from ' ||"     \
    " to_char(p.starts_on, 'YYYY-MM-DD') || ' to ' || to_char(p.ends_on, 'YYYY-MM-DD'),"           \
    " 'attending_type', 'in person', 'notes', CASE WHEN NOT p.accepting_referrals THEN 'Not"       \
    " accepting referrals.' WHEN p.self_referral_allowed THEN 'Accepting referrals; families may"  \
    " refer themselves.' ELSE 'Accepting referrals from professionals.' END) ORDER BY"             \
    " p.starts_on, p.id), '[]'::jsonb) FROM programme_run p JOIN location ls ON ls.id ="           \
    " p.location_id JOIN programme_variant v ON v.code = p.variant WHERE p.organisation_id ="      \
    " o.id AND" OR_SITE_LS "AND" OR_UPCOMING "AND " sites ")) "

/* The fully nested service (alias o). */
#define OR_SERVICE_DETAIL_ALL  OR_SERVICE_DETAIL("true")
#define OR_SERVICE_DETAIL_SITE OR_SERVICE_DETAIL("ls.id = l.id")
#define OR_SERVICE_FULL_JSON                                                                       \
    " (" OR_SERVICE_JSON " || " OR_SERVICE_DETAIL_ALL " || jsonb_build_object("                    \
    "'service_at_locations', (SELECT coalesce(jsonb_agg(" OR_SAL_JSON " ORDER BY l.name, l.id),"   \
    " '[]'::jsonb) FROM location l WHERE l.organisation_id = o.id AND" OR_SITE ")))"

/* A list's item as `$13` asks: 'full', 'minimal' or the one-to-one fields. */
#define OR_SERVICE_ITEM                                                                            \
    " CASE $13::text WHEN 'full' THEN" OR_SERVICE_FULL_JSON                                        \
    " WHEN 'minimal' THEN" OR_SERVICE_MINIMAL_JSON " ELSE" OR_SERVICE_JSON " END "
#define OR_SAL_FULL_JSON                                                                           \
    " (" OR_SAL_JSON " || jsonb_build_object('service'," OR_SERVICE_JSON                           \
    " || " OR_SERVICE_DETAIL_SITE ")) "
#define OR_SAL_ITEM                                                                                \
    " CASE $13::text WHEN 'full' THEN" OR_SAL_FULL_JSON " ELSE" OR_SAL_JSON                        \
    " || jsonb_build_object('service'," OR_SERVICE_JSON ") END "

/* An organization's (alias o) services: the fully nested service, or its simple one-to-one
 * fields. */
#define OR_ORG_SERVICES_FULL                                                                       \
    " jsonb_build_object('services', jsonb_build_array(" OR_SERVICE_FULL_JSON " - "                \
    "'organization'))"
#define OR_ORG_SERVICES_SIMPLE                                                                     \
    " jsonb_build_object('services', jsonb_build_array(" OR_SERVICE_JSON " - 'organization')) "

/* Filters shared by /services and /service_at_locations: $1 search, $2 minimum_age,
 * $3 maximum_age, $4 taxonomy_term_id, $10 taxonomy_id (each: a term that tags the services),
 * $11 organization_id, $12 modified_after. */
#define OR_SERVICE_FILTER                                                                          \
    " AND ($1::text IS NULL OR position(lower($1::text) IN lower(" OR_NAME_SQL                     \
    " || ' ' || '" OR_DESCRIPTION "')) > 0) AND ($2::numeric IS NULL OR $2::numeric <= 17)"        \
    " AND ($3::numeric IS NULL OR $3::numeric >= 8) AND ($4::text IS NULL OR EXISTS (SELECT 1"     \
    " FROM openreferral_taxonomy_term t WHERE t.tags_services AND t.id::text = lower($4::text)))"  \
    " AND ($10::text IS NULL OR EXISTS (SELECT 1 FROM openreferral_taxonomy_term t WHERE"          \
    " t.tags_services AND t.taxonomy_id::text = lower($10::text))) AND ($11::uuid IS NULL OR"      \
    " o.id = $11::uuid) AND ($12::timestamptz IS NULL OR " OR_LAST_CHANGE " >= $12::timestamptz) "

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

/* The centroid of the postcode asked for ($14, $15). */
#define OR_CENTROID "registry_earth($14::float8, $15::float8)"

const struct db_stmt openreferral_stmts[] = {
    /* $1..$7 and $10..$12 filters, $8 offset, $9 limit (NULL: all), $13 the item's form. */
    {"or_services",
     "WITH s AS (SELECT o.* FROM organisation o WHERE" OR_LICENSED OR_SERVICE_FILTER OR_SERVICE_RUNS
     ") SELECT (SELECT count(*) FROM s) AS total, (SELECT "
     "coalesce(jsonb_agg(jsonb_strip_nulls(" OR_SERVICE_ITEM
     ") ORDER BY o.name, o.id), '[]'::jsonb) FROM (SELECT * FROM s ORDER BY"
     " s.name, s.id OFFSET $8::int LIMIT $9::int) o) AS contents"},
    /* $1 service id: the fully nested service. */
    {"or_service", "SELECT jsonb_strip_nulls(" OR_SERVICE_FULL_JSON ") AS service FROM organisation"
                   " o WHERE" OR_SERVICE_ID "= $1::uuid AND" OR_LICENSED},
    /* As or_services, and $14/$15 the centroid (or nulls), $16 proximity in metres (or null).
     * Nearest first when a centroid is given. */
    {"or_sals",
     "WITH s AS (SELECT o.id AS o_id, l.id AS l_id, o.name AS o_name, l.name AS l_name, CASE WHEN"
     " $14::float8 IS NOT NULL THEN earth_distance(" OR_CENTROID ", registry_earth(l.latitude,"
     " l.longitude)) END AS d FROM organisation o JOIN location l ON l.organisation_id = o.id"
     " WHERE" OR_LICENSED " AND" OR_SITE OR_SERVICE_FILTER OR_SITE_RUNS
     " AND ($14::float8 IS NULL OR l.latitude IS NOT NULL) AND ($16::float8 IS NULL OR "
     "(earth_box(" OR_CENTROID
     ", $16::float8) @> registry_earth(l.latitude, l.longitude) AND earth_distance(" OR_CENTROID
     ", registry_earth(l.latitude, l.longitude)) <= $16::float8))) SELECT (SELECT"
     " count(*) FROM s) AS total, (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(" OR_SAL_ITEM
     ") ORDER BY pg.d, pg.o_name, pg.l_name, pg.l_id), '[]'::jsonb) FROM (SELECT * FROM s ORDER"
     " BY s.d, s.o_name, s.l_name, s.l_id OFFSET $8::int LIMIT $9::int) pg JOIN organisation o ON"
     " o.id = pg.o_id JOIN location l ON l.id = pg.l_id) AS contents"},
    /* $1 service_at_location id: the fully nested service_at_location. */
    {"or_sal", "SELECT jsonb_strip_nulls(" OR_SAL_FULL_JSON ") AS sal FROM organisation o JOIN"
               " location l ON l.organisation_id = o.id WHERE" OR_SAL_ID
               "= $1::uuid AND" OR_LICENSED " AND" OR_SITE},
    /* $1 offset, $2 limit (NULL: all), $3 search, $4 the item's form: 'list', 'full' or
     * 'full_service'. */
    {"or_organizations",
     "WITH s AS (SELECT o.* FROM organisation o WHERE" OR_LICENSED " AND ($3::text IS NULL OR"
     " position(lower($3::text) IN lower(o.name)) > 0)) SELECT (SELECT count(*) FROM s) AS total,"
     " (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(" OR_ORG_JSON " || CASE $4::text WHEN 'list'"
     " THEN '{}'::jsonb WHEN 'full_service' THEN" OR_ORG_SERVICES_FULL
     " ELSE" OR_ORG_SERVICES_SIMPLE
     " END) ORDER BY o.name, o.id), '[]'::jsonb) FROM (SELECT * FROM s"
     " ORDER BY s.name, s.id OFFSET $1::int LIMIT $2::int) o) AS contents"},
    /* $1 organization id, $2 full_service. */
    {"or_organization",
     "SELECT jsonb_strip_nulls(" OR_ORG_JSON " || CASE WHEN $2::boolean THEN" OR_ORG_SERVICES_FULL
     " ELSE" OR_ORG_SERVICES_SIMPLE " END) AS organization FROM organisation o WHERE o.id ="
     " $1::uuid AND" OR_LICENSED},
    /* $1 offset, $2 limit (NULL: all), $3 search. */
    {"or_taxonomies",
     "WITH s AS (SELECT tx.* FROM openreferral_taxonomy tx WHERE $3::text IS NULL OR"
     " position(lower($3::text) IN lower(tx.name || ' ' || tx.description)) > 0) SELECT (SELECT"
     " count(*) FROM s) AS total, (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(" OR_TAXONOMY_JSON
     ") ORDER BY tx.name, tx.id), '[]'::jsonb) FROM (SELECT * FROM s ORDER BY s.name, s.id"
     " OFFSET $1::int LIMIT $2::int) tx) AS contents"},
    /* $1 taxonomy id: the taxonomy and its terms. */
    {"or_taxonomy",
     "SELECT jsonb_strip_nulls(" OR_TAXONOMY_JSON " || jsonb_build_object('taxonomy_terms',"
     " (SELECT coalesce(jsonb_agg(" OR_TERM_JSON " ORDER BY t.name, t.id), '[]'::jsonb) FROM"
     " openreferral_taxonomy_term t WHERE t.taxonomy_id = tx.id))) AS taxonomy FROM"
     " openreferral_taxonomy tx WHERE tx.id = $1::uuid"},
    /* $1 offset, $2 limit (NULL: all), $3 search, $4 taxonomy_id, $5 top_only, $6 parent_id. */
    {"or_taxonomy_terms",
     "WITH s AS (SELECT t.* FROM openreferral_taxonomy_term t WHERE ($3::text IS NULL OR"
     " position(lower($3::text) IN lower(t.name || ' ' || t.description)) > 0) AND ($4::uuid IS"
     " NULL OR t.taxonomy_id = $4::uuid) AND (NOT $5::boolean OR t.parent_id IS NULL) AND"
     " ($6::uuid IS NULL OR t.parent_id = $6::uuid)) SELECT (SELECT count(*) FROM s) AS total,"
     " (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(" OR_TERM_JSON ") ORDER BY tx.name, t.name,"
     " t.id), '[]'::jsonb) FROM (SELECT s.* FROM s JOIN openreferral_taxonomy x ON x.id ="
     " s.taxonomy_id ORDER BY x.name, s.name, s.id OFFSET $1::int LIMIT $2::int) t JOIN"
     " openreferral_taxonomy tx ON tx.id = t.taxonomy_id) AS contents"},
    /* $1 taxonomy term id. */
    {"or_taxonomy_term", "SELECT jsonb_strip_nulls(" OR_TERM_JSON ") AS term FROM" OR_TERM_FROM
                         "WHERE t.id = $1::uuid"},
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

/* RFC 3339 date-time (seconds, fraction and offset optional; a '+' that the query string turned
 * into a space is read as '+') or a date, a real calendar day. Writes the value as PostgreSQL
 * reads it into `out`. Returns 1 or 0. */
static int
datetime_ok(const char *s, char *out, size_t outlen)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t n = s != NULL ? strlen(s) : 0, i = 10;
    int y, mo, d;

    if (n < 10 || n + 1 > outlen || n > 35) {
        return 0;
    }
    memcpy(out, s, n + 1);
    for (i = 0; i < 10; i++) {
        if ((i == 4 || i == 7) ? s[i] != '-' : !isdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    y = atoi(s);
    mo = atoi(s + 5);
    d = atoi(s + 8);
    if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]
        || (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))) {
        return 0;
    }
    if (n == 10) {
        return 1;
    }
    i = 10;
    if ((s[i] != 'T' && s[i] != 't') || n < 16 || !isdigit((unsigned char)s[11])
        || !isdigit((unsigned char)s[12]) || s[13] != ':' || !isdigit((unsigned char)s[14])
        || !isdigit((unsigned char)s[15]) || atoi(s + 11) > 23 || atoi(s + 14) > 59) {
        return 0;
    }
    i = 16;
    if (i < n && s[i] == ':') {
        if (i + 3 > n || !isdigit((unsigned char)s[i + 1]) || !isdigit((unsigned char)s[i + 2])
            || atoi(s + i + 1) > 60) {
            return 0;
        }
        i += 3;
        if (i < n && s[i] == '.') {
            size_t f = ++i;
            while (i < n && isdigit((unsigned char)s[i])) {
                i++;
            }
            if (i == f || i - f > 6) {
                return 0;
            }
        }
    }
    if (i == n) {
        return 1;
    }
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
        return 1;
    }
    if ((s[i] == '+' || s[i] == '-' || s[i] == ' ') && i + 6 == n
        && isdigit((unsigned char)s[i + 1]) && isdigit((unsigned char)s[i + 2]) && s[i + 3] == ':'
        && isdigit((unsigned char)s[i + 4]) && isdigit((unsigned char)s[i + 5])
        && atoi(s + i + 1) <= 14 && atoi(s + i + 4) <= 59) {
        if (out[i] == ' ') {
            out[i] = '+';
        }
        return 1;
    }
    return 0;
}

/* The paging and filter parameters shared by the list routes, as statement parameters. */
struct or_params {
    long page, per_page;
    char offset[16], limit[8];
    const char *search, *min_age, *max_age, *term, *day, *start_time, *end_time;
    const char *taxonomy, *organization_id, *modified_after, *form;
    char modified[40];
    int ndjson; /* format=ndjson: every item, one JSON object a line, unpaged */
};

/* The filters, the page and the item's form as parameters $1 to $13 of or_services and
 * or_sals. */
static void
filter_params(const struct or_params *p, const char **params)
{
    const char *v[13] = {p->search,
                         p->min_age,
                         p->max_age,
                         p->term,
                         p->day,
                         p->start_time,
                         p->end_time,
                         p->offset,
                         p->ndjson ? NULL : p->limit,
                         p->taxonomy,
                         p->organization_id,
                         p->modified_after,
                         p->form};

    memcpy(params, v, sizeof(v));
}

/* Reads page, per_page and format. Returns 0, or the status of the problem sent. */
static int
paging_or_problem(struct req *r, const struct query *q, struct or_params *p)
{
    const char *page = query_get(q, "page"), *per_page = query_get(q, "per_page");
    const char *format = query_get(q, "format");

    p->page = 1;
    p->per_page = OR_PER_PAGE_DEFAULT;
    p->ndjson = 0;
    if (page != NULL && !parse_long(page, 1, OR_PAGE_MAX, &p->page)) {
        return problem_send(r, PROBLEM_BAD_REQUEST, "page: a whole number from 1 to %d",
                            OR_PAGE_MAX);
    }
    if (per_page != NULL && !parse_long(per_page, 1, OR_PER_PAGE_MAX, &p->per_page)) {
        return problem_send(r, PROBLEM_BAD_REQUEST, "per_page: a whole number from 1 to %d",
                            OR_PER_PAGE_MAX);
    }
    if (format != NULL) {
        if (strcmp(format, "ndjson") == 0) {
            p->ndjson = 1;
        } else if (strcmp(format, "json") != 0) {
            return problem_send(r, PROBLEM_BAD_REQUEST, "format: json or ndjson");
        }
    }
    snprintf(p->offset, sizeof(p->offset), "%ld", p->ndjson ? 0 : (p->page - 1) * p->per_page);
    snprintf(p->limit, sizeof(p->limit), "%ld", p->per_page);
    return 0;
}

/* Reads the boolean `name` (true or false; absent: false) into *out. Returns 0, or the status
 * of the problem sent. */
static int
bool_or_problem(struct req *r, const struct query *q, const char *name, int *out)
{
    const char *v = query_get(q, name);

    *out = 0;
    if (v == NULL || strcmp(v, "false") == 0) {
        return 0;
    }
    if (strcmp(v, "true") == 0) {
        *out = 1;
        return 0;
    }
    return problem_send(r, PROBLEM_BAD_REQUEST, "%s: true or false", name);
}

/* Reads the UUID `name` (absent: NULL) into *out. Returns 0, or the status of the problem
 * sent. */
static int
uuid_or_problem(struct req *r, const struct query *q, const char *name, const char **out)
{
    *out = query_get(q, name);
    if (*out != NULL && !validate_uuid(*out)) {
        return problem_send(r, PROBLEM_BAD_REQUEST, "%s: a UUID", name);
    }
    return 0;
}

/* Reads the service filters, organization_id, modified_after and the item's form (`full` and,
 * for services, `minimal`). Returns 0, or the status of the problem sent. */
static int
filters_or_problem(struct req *r, const struct query *q, int services, struct or_params *p)
{
    const char *day = query_get(q, "day"), *modified = query_get(q, "modified_after");
    double age;
    int status, full = 0, minimal = 0;

    p->min_age = query_get(q, "minimum_age");
    p->max_age = query_get(q, "maximum_age");
    if ((p->min_age != NULL && !parse_number(p->min_age, 0, OR_AGE_MAX, &age))
        || (p->max_age != NULL && !parse_number(p->max_age, 0, OR_AGE_MAX, &age))) {
        return problem_send(r, PROBLEM_BAD_REQUEST,
                            "minimum_age, maximum_age: a number of years from 0 to 150");
    }
    p->term = query_get(q, "taxonomy_term_id");
    p->taxonomy = query_get(q, "taxonomy_id");
    if ((p->term != NULL && !validate_text(p->term, 1, 200))
        || (p->taxonomy != NULL && !validate_text(p->taxonomy, 1, 200))) {
        return problem_send(r, PROBLEM_BAD_REQUEST,
                            "taxonomy_term_id, taxonomy_id: 1 to 200 characters of text");
    }
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
    if ((status = uuid_or_problem(r, q, "organization_id", &p->organization_id)) != 0) {
        return status;
    }
    p->modified_after = NULL;
    if (modified != NULL) {
        if (!datetime_ok(modified, p->modified, sizeof(p->modified))) {
            return problem_send(r, PROBLEM_BAD_REQUEST,
                                "modified_after: an RFC 3339 date-time (2026-01-31T09:00:00Z) "
                                "or date (2026-01-31)");
        }
        p->modified_after = p->modified;
    }
    if ((status = bool_or_problem(r, q, "full", &full)) != 0
        || (services && (status = bool_or_problem(r, q, "minimal", &minimal)) != 0)) {
        return status;
    }
    if (full && minimal) {
        return problem_send(r, PROBLEM_BAD_REQUEST, "minimal: not together with full=true");
    }
    p->form = full ? "full" : minimal ? "minimal" : "list";
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

/* Sends `contents` (borrowed, an array) as NDJSON: one object a line. Returns the status sent. */
static int
send_ndjson(struct req *r, const json_t *contents)
{
    struct jsonout_buf b = {0};
    json_t *it;
    size_t i;
    int status;

    json_array_foreach(contents, i, it)
    {
        size_t len = 0;
        char *line = jsonout_dump(it, &len);

        if (line == NULL) {
            b.failed = 1;
            break;
        }
        jsonout_put(&b, line, len);
        jsonout_put(&b, "\n", 1);
        free(line);
    }
    if (b.failed) {
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
    } else {
        status = http_send_public(r, "application/x-ndjson", b.p != NULL ? b.p : "", b.len);
    }
    free(b.p);
    return status;
}

/* The profile's Page envelope around `contents` (borrowed) of `total` items. Returns a new
 * reference, or NULL. */
static json_t *
page_new(json_t *contents, long long total, const struct or_params *p)
{
    long long pages = (total + p->per_page - 1) / p->per_page;
    size_t size = json_array_size(contents);

    return json_pack("{s:I, s:I, s:I, s:I, s:b, s:b, s:b, s:O}", "total_items", (json_int_t)total,
                     "total_pages", (json_int_t)pages, "page_number", (json_int_t)p->page, "size",
                     (json_int_t)size, "first_page", p->page == 1, "last_page", p->page >= pages,
                     "empty", size == 0, "contents", contents);
}

/* An answer with no items: an empty page, or an empty NDJSON body. Returns the status sent. */
static int
send_nothing(struct req *r, const struct or_params *p)
{
    json_t *contents = json_array();
    int status;

    if (contents == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    status = p->ndjson ? send_ndjson(r, contents) : send_public(r, page_new(contents, 0, p));
    json_decref(contents);
    return status;
}

/* Runs `stmt`, whose one row is (total, contents), and sends the profile's Page envelope around
 * its contents, or with format=ndjson the contents a line each. Returns the status sent. */
static int
send_page(struct req *r,
          const char *stmt,
          int nparams,
          const char *const *params,
          const struct or_params *p)
{
    PGresult *res = db_exec(r->db, stmt, nparams, params);
    json_t *contents = NULL;
    int status;

    if (!db_ok(res) || PQntuples(res) != 1) {
        status = problem_from_db(r, res);
        goto out;
    }
    contents = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    if (!json_is_array(contents)) {
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
        goto out;
    }
    if (p->ndjson) {
        status = send_ndjson(r, contents);
    } else {
        status = send_public(r, page_new(contents, strtoll(PQgetvalue(res, 0, 0), NULL, 10), p));
    }
out:
    json_decref(contents);
    PQclear(res);
    return status;
}

/* Runs `stmt` with the one id `id` and sends its one JSON value, or 404 "no such `what`" when
 * the id is not a UUID or nothing matches. Returns the status sent. */
static int
send_one(struct req *r, const char *stmt, const char *id, const char *extra, const char *what)
{
    const char *params[2] = {id, extra};
    PGresult *res = NULL;
    int status;

    if (!validate_uuid(id)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no such %s", what);
    }
    res = db_exec(r->db, stmt, extra != NULL ? 2 : 1, params);
    if (!db_ok(res)) {
        status = problem_from_db(r, res);
    } else if (PQntuples(res) == 0) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no such %s", what);
    } else {
        status = send_public(r, json_loads(PQgetvalue(res, 0, 0), 0, NULL));
    }
    PQclear(res);
    return status;
}

/* A route of one row by the path's id that takes no query: send_one of `stmt`, once the query
 * is checked empty. Returns the status sent. */
static int
send_one_by_path(struct req *r, const char *stmt, const char *what)
{
    static const char *const allowed[] = {NULL};
    struct query q;
    int status;

    if ((status = http_query_or_problem(r, allowed, &q)) == 0) {
        status = send_one(r, stmt, r->params[0], NULL, what);
    }
    query_cleanup(&q);
    return status;
}

/* Reads `search` (1-200 characters, or absent). Returns 0, or the status of the problem sent. */
static int
search_or_problem(struct req *r, const struct query *q, const char **out)
{
    *out = query_get(q, "search");
    if (*out != NULL && !validate_text(*out, 1, 200)) {
        return problem_send(r, PROBLEM_BAD_REQUEST, "search: 1 to 200 characters of text");
    }
    return 0;
}

/* Parses the query (names outside `allowed` refused), the page, `search` and, with `filters` (1:
 * a service_at_location list, 2: a service list), the service filters. Returns 0, or the status
 * of the problem sent. */
static int
list_query_or_problem(
    struct req *r, const char *const *allowed, int filters, struct query *q, struct or_params *p)
{
    int status;

    if ((status = http_query_or_problem(r, allowed, q)) == 0
        && (status = paging_or_problem(r, q, p)) == 0
        && (status = search_or_problem(r, q, &p->search)) == 0 && filters) {
        status = filters_or_problem(r, q, filters == 2, p);
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
openreferral_redirect(struct req *r)
{
    char location[512];
    const char *query = r->query;
    const char *c;

    /* The query string is kept when it is short and plain (it goes into a header). */
    for (c = query; c != NULL && *c != '\0'; c++) {
        if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e) {
            query = NULL;
            break;
        }
    }
    if (query != NULL && (*query == '\0' || strlen(query) >= 400)) {
        query = NULL;
    }
    snprintf(location, sizeof(location), "/openreferral/%s%s", query != NULL ? "?" : "",
             query != NULL ? query : "");
    http_add_header(r, "Location", location);
    return http_send(r, 301, NULL, NULL, 0);
}

int
openreferral_services(struct req *r)
{
    static const char *const allowed[] = {
        "search",         "page",        "per_page",    "taxonomy_term_id",
        "taxonomy_id",    "minimum_age", "maximum_age", "start_time",
        "end_time",       "day",         "format",      "organization_id",
        "modified_after", "minimal",     "full",        NULL,
    };
    struct query q;
    struct or_params p;
    const char *params[13];
    int status;

    if ((status = list_query_or_problem(r, allowed, 2, &q, &p)) == 0) {
        filter_params(&p, params);
        status = send_page(r, "or_services", 13, params, &p);
    }
    query_cleanup(&q);
    return status;
}

int
openreferral_service(struct req *r)
{
    return send_one_by_path(r, "or_service", "service");
}

int
openreferral_service_at_locations(struct req *r)
{
    static const char *const allowed[] = {
        "search",      "page",        "per_page",   "taxonomy_term_id", "taxonomy_id",
        "minimum_age", "maximum_age", "start_time", "end_time",         "day",
        "postcode",    "proximity",   "format",     "organization_id",  "modified_after",
        "full",        NULL,
    };
    struct query q;
    struct or_params p;
    const char *params[16], *postcode, *proximity;
    char pc[POSTCODE_MAX], lat[32], lon[32], metres[32];
    double clat, clon;
    double m = 0;
    int status;

    if ((status = list_query_or_problem(r, allowed, 1, &q, &p)) != 0) {
        goto out;
    }
    postcode = query_get(&q, "postcode");
    proximity = query_get(&q, "proximity");
    params[13] = params[14] = params[15] = NULL;
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
        params[15] = metres;
    }
    if (postcode != NULL) {
        /* The postcode is personal data: it goes to the database as a parameter only, and
         * never into a log line, a problem detail or a shared cache. */
        r->cache_private = 1;
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
            /* The specification answers a list (200) only: a point we cannot place is
             * covered by no service and near none, so the list is empty. */
            status = send_nothing(r, &p);
            goto out;
        default:
            status = problem_from_db(r, NULL);
            goto out;
        }
        snprintf(lat, sizeof(lat), "%.6f", clat);
        snprintf(lon, sizeof(lon), "%.6f", clon);
        params[13] = lat;
        params[14] = lon;
    }
    filter_params(&p, params);
    status = send_page(r, "or_sals", 16, params, &p);
out:
    query_cleanup(&q);
    return status;
}

int
openreferral_service_at_location(struct req *r)
{
    return send_one_by_path(r, "or_sal", "service_at_location");
}

int
openreferral_organizations(struct req *r)
{
    static const char *const allowed[] = {"page", "per_page", "search", "full_service",
                                          "full", "format",   NULL};
    struct query q;
    struct or_params p;
    int status, full = 0, full_service = 0;

    if ((status = list_query_or_problem(r, allowed, 0, &q, &p)) == 0
        && (status = bool_or_problem(r, &q, "full", &full)) == 0
        && (status = bool_or_problem(r, &q, "full_service", &full_service)) == 0) {
        const char *params[4] = {p.offset, p.ndjson ? NULL : p.limit, p.search,
                                 full_service ? "full_service"
                                 : full       ? "full"
                                              : "list"};

        status = send_page(r, "or_organizations", 4, params, &p);
    }
    query_cleanup(&q);
    return status;
}

int
openreferral_organization(struct req *r)
{
    static const char *const allowed[] = {"full_service", NULL};
    struct query q;
    int status, full_service = 0;

    if ((status = http_query_or_problem(r, allowed, &q)) == 0
        && (status = bool_or_problem(r, &q, "full_service", &full_service)) == 0) {
        status = send_one(r, "or_organization", r->params[0], full_service ? "true" : "false",
                          "organization");
    }
    query_cleanup(&q);
    return status;
}

int
openreferral_taxonomies(struct req *r)
{
    static const char *const allowed[] = {"page", "per_page", "search", "format", NULL};
    struct query q;
    struct or_params p;
    int status;

    if ((status = list_query_or_problem(r, allowed, 0, &q, &p)) == 0) {
        const char *params[3] = {p.offset, p.ndjson ? NULL : p.limit, p.search};

        status = send_page(r, "or_taxonomies", 3, params, &p);
    }
    query_cleanup(&q);
    return status;
}

int
openreferral_taxonomy(struct req *r)
{
    return send_one_by_path(r, "or_taxonomy", "taxonomy");
}

int
openreferral_taxonomy_terms(struct req *r)
{
    static const char *const allowed[] = {"page",        "per_page", "search",    "format",
                                          "taxonomy_id", "top_only", "parent_id", NULL};
    struct query q;
    struct or_params p;
    const char *taxonomy, *parent;
    int status, top_only = 0;

    if ((status = list_query_or_problem(r, allowed, 0, &q, &p)) == 0
        && (status = uuid_or_problem(r, &q, "taxonomy_id", &taxonomy)) == 0
        && (status = uuid_or_problem(r, &q, "parent_id", &parent)) == 0
        && (status = bool_or_problem(r, &q, "top_only", &top_only)) == 0) {
        const char *params[6] = {p.offset, p.ndjson ? NULL : p.limit,   p.search,
                                 taxonomy, top_only ? "true" : "false", parent};

        status = send_page(r, "or_taxonomy_terms", 6, params, &p);
    }
    query_cleanup(&q);
    return status;
}

int
openreferral_taxonomy_term(struct req *r)
{
    return send_one_by_path(r, "or_taxonomy_term", "taxonomy_term");
}
