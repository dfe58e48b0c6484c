/* public.c: /v1/public. The open routes families, referrers and other directories use without an
 * account: find a provider near a postcode or a point, and check a facilitator on the public
 * register. The router rate-limits them per client and allows any origin; every answer here is
 * cacheable (ETag, Cache-Control, 304): the register publicly (http_send_public_json), a provider
 * search only privately (Cache-Control: private), as its URL carries a family's postcode.
 *
 * Privacy. The postcode or coordinates a family searches from are personal data: they travel only
 * in the query string (never logged, see http_log), are never written to a log line here, never
 * echoed in a problem, and no search is stored.
 *
 * Find a provider: GET /v1/public/providers with postcode= (a full postcode, or an outward code
 * alone for the district's centroid), place= (a town: places.c; several places of that name
 * answer {"choices": [...]}, area= picks one; none is a 404) or lat= and lon=, and radius_km
 * (1-200, default 25), limit (1-50, default 20), self_referral, starting_within_days,
 * with_upcoming.
 * - A site is listed when it is active, public, not archived, not a prison or school (whatever the
 *   flag says), has coordinates, and its organisation is not archived and holds a licence that is
 *   active today (UK calendar) and covers today.
 * - A run is upcoming when it is planned, recruiting or running and starts today or later, or is
 *   running and has not ended.
 * - Run filters (self_referral=true, starting_within_days=N: starting from today to today + N)
 *   narrow the runs shown, and a site is then listed only when at least one run passes them;
 *   with_upcoming=true lists only sites with at least one (shown) upcoming run. Without filters a
 *   site without upcoming runs is listed with an empty upcoming_runs.
 * - Nothing within the radius: 200 with empty items and nearest_beyond, the nearest site that
 *   passes the same filters at any distance (or null).
 * - A run at risk (a facilitator suspended or withdrawn: programme_at_risk, migration 0010) is
 *   still listed but never advertised as taking referrals (accepting_referrals false).
 * Distances are great-circle distances on earthdistance's sphere (R = 6378168 m).
 *
 * Why earthdistance and not PostGIS: the search needs only "nearest sites to a point within a
 * radius", which cube/earthdistance (contrib, shipped with PostgreSQL) answers with a GiST index:
 * `<->` walks the index in distance order (KNN). The index is public_site's (migration 0035: the
 * sites a family may see, kept by triggers, with their earth point stored), so the scan stops at
 * the page instead of rejecting invisible sites after fetching them (issue 19, bench/README.md).
 * Each row also keeps the site's answer as JSON text (its card, migration 0040, kept by the same
 * family of triggers): the page is the KNN scan and that text, with what depends on the date
 * computed from it, and the JSON answer copies the text as it is. Since migration 0042 the row
 * keeps the whole item too, as it reads until the next date on which one of its runs' date-
 * dependent values changes: a search without run filters is the KNN scan, the distance and that
 * text (PUB_PAGE_STORED), its postcode, outward code or town looked up in the same statement.
 * PostGIS would add 48 packages and 174 MB for geometry we do not use (LIBRARIES.md 18 and 19).
 *
 * Public register: GET /v1/public/facilitators/{registration_number} and
 * GET /v1/public/facilitators?name=. Only given_name, family_name, registration_number, status,
 * accredited_until, may_deliver (may deliver M-PACT today: accredited and employed by a licensed
 * organisation) and the current employer's name and town; a facilitator still in training, or
 * withdrawn without ever having been accredited, is not on the register (404), and an archived
 * employer is shown as none. Names match at the start
 * of the full name in either order ("Sian", "Jones", "Sian Jones", "Jones Sian"), ignoring case
 * and accents (registry_fold in migration 0004). */
#include "registry/public.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/db.h"
#include "registry/http.h"
#include "registry/jsonout.h"
#include "registry/places.h"
#include "registry/postcodes.h"
#include "registry/problem.h"
#include "registry/settings.h"
#include "registry/validate.h"

#define PUB_RADIUS_DEFAULT 25.0 /* km */
#define PUB_RADIUS_MIN     1.0
#define PUB_RADIUS_MAX     200.0
#define PUB_LIMIT_DEFAULT  20
#define PUB_LIMIT_MAX      50
#define PUB_WITHIN_MAX     366 /* days, for starting_within_days */
#define PUB_NAME_MIN       3   /* characters of a name search, after trimming */
#define PUB_NAME_MAX       200 /* characters */
#define PUB_NAME_RESULTS   20
#define PUB_NUMBER_MAX     32 /* bytes of a plausible registration number */

/* Bounds of Great Britain, Northern Ireland and Ireland, as locations.c and the location table. */
#define PUB_LAT_MIN 49.0
#define PUB_LAT_MAX 61.5
#define PUB_LON_MIN -11.0
#define PUB_LON_MAX 2.5

/* The current employer, unless archived; in_training, and withdrawn without ever having been
 * accredited, are not on the register. The employer is read as columns and made an object by
 * fac_row (not json_build_object: parsing JSON text back cost more than the rest of the lookup,
 * bench/README.md). may_deliver: accredited (not lapsed) and employed by an organisation whose
 * licence is active today, the same licence test as the provider search. */
#define PUB_FAC_SELECT                                                                             \
    "SELECT f.given_name, f.family_name, f.registration_number, CASE WHEN f.status = "             \
    "'accredited' AND f.accredited_until < registry_today() THEN 'lapsed' ELSE f.status END AS "   \
    "status, f.accredited_until, (f.status = 'accredited' AND NOT coalesce(f.accredited_until < "  \
    "registry_today(), false) AND o.id IS NOT NULL AND coalesce((SELECT true FROM licence li "     \
    "WHERE li.organisation_id = o.id AND licence_effective_status(li.status, li.valid_until, "     \
    "registry_today()) = 'active' AND li.valid_from <= registry_today() LIMIT 1), false)) AS "     \
    "may_deliver, o.id IS NOT NULL AS _employed, o.name AS _organisation_name, o.town AS "         \
    "_organisation_town FROM facilitator f LEFT JOIN facilitator_employment e ON "                 \
    "e.facilitator_id = f.id AND e.ended_on IS NULL LEFT JOIN organisation o ON o.id = "           \
    "e.organisation_id AND o.archived_at IS NULL WHERE (f.status IN ('accredited', 'suspended')"   \
    "       OR (f.status = 'withdrawn' AND f.accredited_on IS NOT NULL)) "

/* The LIKE pattern for names starting with $1: folded, LIKE's own characters escaped. Written
 * inline (not in a CTE) so that, $1 being known when the plan is made, the prefix is a constant
 * and the indexes of migration 0004 apply. */
#define PUB_PREFIX                                                                                 \
    "(replace(replace(replace(registry_fold($1::text), '\\', '\\\\'), '%', '\\%'), '_',"           \
    " '\\_') || '%')"

/* The search point ($1 latitude, $2 longitude) as an earth value: registry_earth($1, $2)
 * (migration 0003) written out, the same arithmetic in the same order, so the same
 * point to the bit. The function is not inlined (its body ends in a cast to the earth domain,
 * which the planner does not take as strict, and the function is strict), so under the server's
 * generic plan the KNN scan's ORDER BY operand ran the SQL function executor every search:
 * parsing and planning its body each time (perf: base_yyparse under ExecIndexEvalRuntimeKeys,
 * fmgr_sql), and again for the distance of every row. pgbench's KNN ceiling, with the point as a
 * literal, folds it at plan time and never paid for it (bench/README.md, issue 19). */
#define PUB_EARTH(LAT, LON)                                                                        \
    "public.cube(public.cube(public.cube(public.earth() * cos(radians(" LAT                        \
    ")) * cos(radians(" LON "))), public.earth() * cos(radians(" LAT ")) * sin(radians(" LON       \
    "))), public.earth() * sin("                                                                   \
    "radians(" LAT ")))::public.earth"
#define PUB_POINT PUB_EARTH("$1::float8", "$2::float8")

/* The search point of a full postcode ($1) in one statement with the page: pt, the postcode's
 * coordinates rounded to 6 decimals, as the server's "%.6f" of them is what a search from it
 * passes as $1 and $2 (a postcode's coordinates have 6 decimals: the same point to the bit). */
#define PUB_PT_CTE                                                                                 \
    "WITH pt AS (SELECT round(latitude::numeric, 6)::float8 AS lat, round(longitude::numeric, 6)"  \
    "::float8 AS lon FROM postcode WHERE postcode = $1::text) "
#define PUB_PT_POINT "(SELECT " PUB_EARTH("pt.lat", "pt.lon") " FROM pt)"

/* Today (UK calendar), once per statement (an InitPlan) rather than once per run read. */
#define PUB_TODAY "(SELECT registry_today())"

/* Each site a family may see is a row of public_site (migration 0035, kept by triggers) with its
 * answer kept with it (migration 0040, kept by the same family of triggers): card_head, the text
 * of its "organisation" and "site" members, and runs, the cards of its runs that may be upcoming
 * (planned, recruiting or running) in the answer's order. What depends on the date is computed
 * here from a run's card (x, a public_run_card), exactly as it was from the run itself:
 * - upcoming: starts today or later, or is running and has not ended;
 * - started: starts_on <= today;
 * - accepting_referrals: accepting, and not at risk: a run is at risk while it has not ended
 *   and one of its facilitators is suspended or withdrawn (programme_at_risk, migration 0010);
 * - the run filters: SR self_referral (true: only runs that take self-referrals), DAYS
 *   starting_within_days (starting from today to today + DAYS). */
#define PUB_CARD_UPCOMING                                                                          \
    "(x.starts_on >= " PUB_TODAY " OR (x.running AND x.ends_on >= " PUB_TODAY "))"
#define PUB_CARD_FILTER(SR, DAYS)                                                                  \
    " AND (" SR "::boolean IS NOT TRUE OR x.self_referral)"                                        \
    " AND (" DAYS "::int IS NULL"                                                                  \
    "      OR x.starts_on BETWEEN " PUB_TODAY " AND " PUB_TODAY " + " DAYS "::int)"
#define PUB_CARD_RUN                                                                               \
    "x.head || (x.starts_on <= " PUB_TODAY ")::text || x.mid || (x.accepting AND NOT (x.ends_on "  \
    ">= " PUB_TODAY " AND x.at_risk))::text || x.tail"

/* The upcoming runs of the site of K (a row of the KNN scan) that pass the run filters, as the
 * text of the members of a JSON array (empty for none), in the order of its runs' cards (the
 * answer's: unnest yields an array's elements in order, and the subquery does not reorder them).
 * An ARRAY() subquery rather than string_agg, and nothing to do for a site without runs: an
 * aggregate is set up anew by every execution of the statement (perf: ExecInitAgg). */
#define PUB_CARD_RUNS(SR, DAYS)                                                                    \
    "CASE WHEN cardinality(k.runs) = 0 THEN '' ELSE array_to_string(ARRAY(SELECT " PUB_CARD_RUN    \
    " FROM unnest(k.runs) x WHERE " PUB_CARD_UPCOMING                                              \
    PUB_CARD_FILTER(SR, DAYS) "), ',') END"

/* The sites a family may see whose licence covers today. With run filters (SR, DAYS, WU as in
 * PUB_CARD_FILTER; WU with_upcoming) a site is kept only when one of its upcoming runs passes
 * them. */
#define PUB_VISIBLE(SR, DAYS, WU)                                                                  \
    " ps.licensed_from <= " PUB_TODAY " AND ps.licensed_until >= " PUB_TODAY "  AND (NOT (" SR     \
    "::boolean IS TRUE OR " DAYS "::int IS NOT NULL OR " WU "::boolean IS TRUE)"                   \
    "       OR EXISTS (SELECT 1 FROM unnest(ps.runs) x WHERE " PUB_CARD_UPCOMING                   \
    PUB_CARD_FILTER(SR, DAYS) "))"

/* The great-circle distance in metres of a chord of D metres: earthdistance's sec_to_gc(D)
 * written out, the same arithmetic in the same order, so the same value as earth_distance()
 * (which is sec_to_gc(cube_distance(a, b))). sec_to_gc is an SQL function the planner does not
 * inline (its argument appears three times), so each call ran the SQL function machinery: its two
 * calls a site (the distance shown, the radius) cost four times the KNN scan itself (issue 19,
 * bench/README.md). earth() is the constant 6378168 and is inlined. */
#define PUB_GC(D)                                                                                  \
    "(CASE WHEN " D " < 0 THEN 0::float8 WHEN " D " / (2 * earth()) > 1 THEN pi() * earth() ELSE " \
    "2 * earth() * asin(" D " / (2 * earth())) END)"

/* One item of the answer as JSON text, {distance_km, organisation, site, upcoming_runs}: the
 * distance, the site's card and its runs (RUNS, PUB_CARD_RUNS with the run filters). The server
 * copies it into its answer as it is. */
#define PUB_ITEM(RUNS)                                                                             \
    "'{\"distance_km\":' || round((" PUB_GC(                                                       \
        "k.chord") " / 1000)::numeric, 2)::text || ',' || "                                        \
                   "k.card_head || ',\"upcoming_runs\":[' || " RUNS " || ']}' AS item"

/* The licensing body's central contact as set_contact_public (settings.c) gives it, JSON text or
 * NULL when none is set: every provider answer carries it, and reading it here saves a round
 * trip a search. */
#define PUB_CONTACT                                                                                \
    "(SELECT json_build_object('name', name, 'phone', phone, 'email', email, 'web_chat_url',"      \
    " web_chat_url, 'opening_hours', opening_hours)::text FROM central_contact_setting"            \
    " WHERE name IS NOT NULL)"

/* One page of the search: a row per site, its item (PUB_ITEM with RUNS), nearest first, then one
 * row whose item is NULL and whose central_contact is PUB_CONTACT (NULL when none is set): the
 * contact comes in the same round trip, without an aggregate to set up. The sites are those
 * chosen by KNEAREST (a subquery yielding chord, the straight-line distance `<->`, card_head
 * and runs, nearest first) within WITHIN, at most LIMIT. No join: the page is the KNN scan's
 * rows, and the items are computed for the rows of the page only. The items are ordered by the
 * KNN scan's own `<->` (no tie-breaking second key, as before). */
#define PUB_PAGE(KNEAREST, WITHIN, RUNS, LIMIT)                                                    \
    "(SELECT " PUB_ITEM(RUNS) ", NULL::text AS central_contact FROM (" KNEAREST                    \
                              ") k WHERE " WITHIN " ORDER BY k.chord LIMIT " LIMIT                 \
                              ") UNION ALL SELECT NULL, " PUB_CONTACT

/* The KNN scan: public_site's GiST index on the stored earth point walked nearest first,
 * stopping at LIMIT. */
#define PUB_KNN_AT(POINT, WHERE, LIMIT)                                                            \
    "SELECT ps.earth <-> " POINT                                                                   \
    " AS chord, ps.card_head, ps.runs FROM public_site ps WHERE" WHERE                             \
    " ORDER BY ps.earth <-> " POINT " LIMIT " LIMIT
#define PUB_KNN(WHERE, LIMIT) PUB_KNN_AT(PUB_POINT, WHERE, LIMIT)

/* Within $3 metres, great-circle; and within the box around that circle, which the GiST index
 * answers (earth_box over-selects: a cube around the sphere's circle). */
#define PUB_WITHIN_3 PUB_GC("k.chord") " <= $3::float8"
#define PUB_IN_BOX_3 " AND earth_box(" PUB_POINT ", $3::float8) @> ps.earth"

/* The limit of the page. The KNN scan's own LIMIT is the constant PUB_LIMIT_MAX and the page's
 * ($4, at most that) is applied last: the scan is read lazily, so no more than $4 sites are read
 * or rendered either way; but with `LIMIT $4` on the scan itself the planner guessed a tenth of
 * public_site for the generic plan, priced it above any custom plan and planned the statement
 * anew on every search (pg_prepared_statements: custom_plans only), which cost as much as
 * running it. Among the PUB_LIMIT_MAX nearest, those within the radius are the nearest within
 * it, so the first $4 of them are the page. */
#define PUB_STR(x)       #x
#define PUB_XSTR(x)      PUB_STR(x)
#define PUB_KNN_MAX      PUB_XSTR(PUB_LIMIT_MAX)
#define PUB_PAGE_LIMIT_4 "$4::int"

/* The page from each site's stored item (migration 0042): item_tail is the item without its
 * leading distance, as it reads on the dates item_from..item_until (computed by the card's
 * triggers from the card, PUB_CARD_RUNS's expressions on those dates). The statement copies it
 * and marks a row whose window does not hold today as stale; the server then answers the page
 * from the cards by pub_near_live (the same answer, computed), so no answer depends on when the
 * stored items were last refreshed (public_site_items_refresh). No subquery per site, no
 * date-dependent expression per run: the item is the distance and one stored text. The distance
 * comes as the KNN scan's chord (float8, its shortest exact text), and put_items writes the
 * great circle of it as PUB_GC(chord) / 1000 then round(...::numeric, 2) would (pub_gc_km,
 * jsonout_put_round2): the numeric rounding and its text cost 18 us of the statement's ~190, the
 * great circle 5 (bench/README.md, issue 19). */
#define PUB_ITEM_STORED     "coalesce(k.item_tail, '') AS item"
#define PUB_DISTANCE_STORED "k.chord"
#define PUB_STALE           "NOT coalesce(" PUB_TODAY " BETWEEN k.item_from AND k.item_until, false) AS stale"

/* The KNN scan of the stored items: the sites whose licence covers today, nearest first. */
#define PUB_KNN_STORED(POINT, LIMIT)                                                               \
    "SELECT ps.earth <-> " POINT " AS chord, ps.item_tail, ps.item_from, ps.item_until"            \
    " FROM public_site ps WHERE ps.licensed_from <= " PUB_TODAY                                    \
    " AND ps.licensed_until >= " PUB_TODAY " ORDER BY ps.earth <-> " POINT " LIMIT " LIMIT

/* One page from the stored items, in one statement with the lookup of its point (CTE, which
 * defines pt(lat, lon): no row when the point is unknown): a row per site (item, stale), nearest
 * first, within RADIUS metres, at most LIMIT; then one row whose item is NULL, with the central
 * contact and the point (latitude and longitude NULL when pt has no row). The columns of every
 * stored page: item (the item after its distance), central_contact, latitude, longitude, stale,
 * chord (metres). */
#define PUB_PAGE_STORED(CTE, RADIUS, LIMIT)                                                        \
    CTE "(SELECT " PUB_ITEM_STORED ", NULL::text AS central_contact, NULL::float8 AS latitude,"    \
        " NULL::float8 AS longitude, " PUB_STALE ", " PUB_DISTANCE_STORED                          \
        " FROM (" PUB_KNN_STORED(PUB_PT_POINT, PUB_KNN_MAX) ") k WHERE " PUB_GC(                   \
            "k.chord") " <= " RADIUS "::float8 ORDER BY k.chord LIMIT " LIMIT                      \
                       "::int) UNION ALL SELECT NULL, " PUB_CONTACT                                \
                       ", (SELECT lat FROM pt), (SELECT lon FROM pt), NULL, NULL"

/* The centroid of an outward code ($1): postcode_district's, at 6 decimals as the server's "%.6f"
 * of it gives them (to_char with 6 decimals is that very printf), so the same point as the lookup
 * and pub_near made. */
#define PUB_PT_OUTWARD_CTE                                                                         \
    "WITH pt AS (SELECT to_char(latitude, 'FM990.000000')::float8 AS lat, to_char(longitude,"      \
    " 'FM990.000000')::float8 AS lon FROM postcode_district WHERE outward = $1::text) "

/* The point of a place ($1 its name as places_name_ok gives it, $2 an area or NULL) when exactly
 * one place has that very name (folded): then places_find answers that one place (it answers the
 * exact names when there are any; one row per folded name, area and country, the largest
 * entry's), and the page is its providers. Otherwise pt has no row, and the server asks
 * places_find (choices, a name that only starts one, or none). name_key = is an index probe
 * (place_fold_idx) on a generic plan; places_find's LIKE is planned on every search.
 * The name is folded by lower() alone when it is all ASCII (nearly every search): unaccent maps
 * no ASCII character (none of its rules starts with one), so registry_fold of such a name is
 * lower() of it, and unaccent's dictionary call cost about 20 us of the statement's 60 us
 * lookup (bench/README.md, issue 19). */
#define PUB_PLACE_KEY                                                                              \
    "CASE WHEN $1::text ~ '^[ -~]*$' THEN lower($1::text) ELSE registry_fold($1::text) END"
#define PUB_PT_PLACE_CTE                                                                           \
    "WITH e AS (SELECT DISTINCT ON (coalesce(area, ''), country) latitude, longitude FROM place"   \
    " WHERE name_key = " PUB_PLACE_KEY " AND ($2::text IS NULL"                                    \
    " OR registry_fold(area) = registry_fold($2::text))"                                           \
    " ORDER BY coalesce(area, ''), country, size DESC, name),"                                     \
    " pt AS (SELECT latitude AS lat, longitude AS lon FROM e WHERE (SELECT count(*) FROM e) = 1) "

/* The search point given as $1 latitude, $2 longitude. */
#define PUB_PT_LATLON_CTE "WITH pt AS (SELECT $1::float8 AS lat, $2::float8 AS lon) "

/* Without run filters the page is the $4 nearest visible sites, less those beyond the radius:
 * since `<->` orders by the same distance that the radius bounds, that is exactly "the nearest
 * $4 within the radius", and the scan reads $4 index entries (and the few whose licence does not
 * cover today) however many sites the radius holds; fewer within the radius, and it stops at
 * the first beyond it is not told to, so it reads at most PUB_LIMIT_MAX.
 *
 * With run filters most sites may fail them, and the scan would go on past the radius until it
 * found $4 that pass: so the filtered search also bounds the scan by the radius's box (the
 * distance rechecks). */

const struct db_stmt public_stmts[] = {
    /* No run filters, from the stored items (PUB_PAGE_STORED): $1 lat, $2 lon, $3 radius in
     * metres, $4 limit. */
    {"pub_near", PUB_PAGE_STORED(PUB_PT_LATLON_CTE, "$3", "$4")},
    /* The same from a full postcode ($1, postcodes_normalise) or an outward code ($1), $2 radius
     * in metres, $3 limit; or a place ($1 the name, $2 the area or NULL), $3 radius, $4 limit. */
    {"pub_near_postcode", PUB_PAGE_STORED(PUB_PT_CTE, "$2", "$3")},
    {"pub_near_outward", PUB_PAGE_STORED(PUB_PT_OUTWARD_CTE, "$2", "$3")},
    {"pub_near_place", PUB_PAGE_STORED(PUB_PT_PLACE_CTE, "$3", "$4")},
    /* No run filters, the items computed from the cards (a stored item is stale): $1 lat, $2
     * lon, $3 radius in metres, $4 limit. */
    {"pub_near_live", PUB_PAGE(PUB_KNN(PUB_VISIBLE("NULL", "NULL", "NULL"), PUB_KNN_MAX),
                               PUB_WITHIN_3,
                               PUB_CARD_RUNS("NULL", "NULL"),
                               PUB_PAGE_LIMIT_4)},
    /* With run filters: $1 lat, $2 lon, $3 radius in metres, $4 limit, $5 self_referral, $6
     * starting_within_days, $7 with_upcoming. */
    {"pub_near_filtered", PUB_PAGE(PUB_KNN(PUB_VISIBLE("$5", "$6", "$7") PUB_IN_BOX_3, PUB_KNN_MAX),
                                   PUB_WITHIN_3,
                                   PUB_CARD_RUNS("$5", "$6"),
                                   PUB_PAGE_LIMIT_4)},
    /* The nearest site at any distance, for nearest_beyond: $1 lat, $2 lon, $3 self_referral,
     * $4 starting_within_days, $5 with_upcoming. */
    {"pub_nearest",
     PUB_PAGE(PUB_KNN(PUB_VISIBLE("$3", "$4", "$5"), "1"), "true", PUB_CARD_RUNS("$3", "$4"), "1")},
    {"pub_fac_get", PUB_FAC_SELECT "AND f.registration_number = upper($1::text)"},
    /* $1 the name as typed (trimmed, single spaces), matched at the start of either name order;
     * $2 the most results. Ordered by family name, then given name, as folded (so that "Évans"
     * sorts with the E's whatever the database's collation), then as written. */
    {"pub_fac_search", PUB_FAC_SELECT
     "AND (registry_fold(f.given_name || ' ' || f.family_name) LIKE " PUB_PREFIX
     "     OR registry_fold(f.family_name || ' ' || f.given_name) LIKE " PUB_PREFIX ")"
     " ORDER BY registry_fold(f.family_name), registry_fold(f.given_name), f.family_name, "
     "f.given_name, f.registration_number LIMIT $2::int"},
    {NULL, NULL},
};

/* ---- Parsing the query ------------------------------------------------------------------- */

/* Parses a plain decimal number (optional sign, digits, optional fraction; no exponent, no
 * hex, no inf/nan). Returns 0, or -1. */
static int
parse_decimal(const char *s, double *out)
{
    const char *p = s;
    char *end;
    int digits = 0;

    if (*p == '-' || *p == '+') {
        p++;
    }
    for (; isdigit((unsigned char)*p); p++) {
        digits++;
    }
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++) {
            digits++;
        }
    }
    if (*p != '\0' || digits == 0 || strlen(s) > 32) {
        return -1;
    }
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out) ? 0 : -1;
}

/* Parses a whole number from min to max. Returns 0, or -1. */
static int
parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (*s == '\0' || strlen(s) > 9 || !isdigit((unsigned char)*s)) {
        return -1;
    }
    v = strtol(s, &end, 10);
    if (*end != '\0' || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* Parses true/false into "true"/"false" (SQL boolean text). Returns it, or NULL. */
static const char *
parse_bool(const char *s)
{
    if (strcmp(s, "true") == 0) {
        return "true";
    }
    if (strcmp(s, "false") == 0) {
        return "false";
    }
    return NULL;
}

/* Where a search starts from, and its filters, as SQL parameter text. */
struct search {
    char lat[32], lon[32];
    char radius_m[32];
    char limit[8];
    const char *self_referral; /* "true", "false" or NULL */
    char within_buf[8];
    const char *within;        /* points at within_buf, or NULL */
    const char *with_upcoming; /* "true", "false" or NULL */
};

void
public_error_init(struct public_error *e)
{
    memset(e, 0, sizeof(*e));
}

void
public_error_cleanup(struct public_error *e)
{
    PQclear(e->res);
    public_error_init(e);
}

/* Sets `e` to `fault` about `field` with a printf-style detail. Returns -1. */
static int
set_error(struct public_error *e, enum public_fault fault, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
set_error(struct public_error *e, enum public_fault fault, const char *field, const char *fmt, ...)
{
    va_list ap;

    e->fault = fault;
    e->field = field;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
    va_end(ap);
    return -1;
}

/* Keeps the failed result `res` (taken) in `e`. Returns -1. */
static int
set_db_error(struct public_error *e, PGresult *res)
{
    e->fault = PUBLIC_DB_ERROR;
    e->res = res;
    return -1;
}

int
public_error_send(struct req *r, const struct public_error *e)
{
    switch (e->fault) {
    case PUBLIC_BAD_INPUT:
        return problem_send(r, PROBLEM_BAD_REQUEST, "%s", e->detail);
    case PUBLIC_NOT_FOUND:
        return problem_send(r, PROBLEM_NOT_FOUND, "%s", e->detail);
    case PUBLIC_DB_ERROR:
        return problem_from_db(r, e->res);
    default:
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
}

/* Sends what a public_find_* found: `body` (taken; NULL when it failed, `e` saying why), as CSV
 * of its items with `csv_columns` when those are not NULL and the client asks for CSV, as JSON
 * otherwise. Returns the status sent. */
static int
send_found(struct req *r,
           json_t *body,
           const struct public_error *e,
           const char *const *csv_columns)
{
    int status;

    if (body == NULL) {
        return public_error_send(r, e);
    }
    status = csv_columns != NULL && json_object_get(body, "items") != NULL && http_wants_csv(r)
                 ? http_send_public_csv(r, json_object_get(body, "items"), csv_columns)
                 : http_send_public_json(r, body);
    json_decref(body);
    return status;
}

/* 1 when `given` is an Eircode (validate_eircode). */
static int
eircode_given(const char *given)
{
    char out[EIRCODE_MAX];

    return strlen(given) <= 16 && validate_eircode(given, out, sizeof(out)) == 0;
}

/* Normalises `given` (a full postcode or an outward code) into `pc` (POSTCODE_MAX bytes) and
 * notes its kind in `e`. Returns its kind, or POSTCODES_MALFORMED with `e` set. The postcode is
 * never echoed or logged. */
static enum postcodes_kind
postcode_given(const char *given, char *pc, struct public_error *e)
{
    enum postcodes_kind kind =
        strlen(given) <= 16 ? postcodes_normalise(given, pc, POSTCODE_MAX) : POSTCODES_MALFORMED;

    if (kind == POSTCODES_MALFORMED && eircode_given(given)) {
        set_error(e, PUBLIC_BAD_INPUT, "postcode",
                  "postcode: an Eircode cannot be looked up (there is no open Eircode "
                  "file); search by town with place=, e.g. place=Cork");
        return kind;
    }
    if (kind == POSTCODES_MALFORMED) {
        set_error(e, PUBLIC_BAD_INPUT, "postcode",
                  "postcode: a UK postcode (e.g. ME4 4AB) or its outward code (ME4)");
        return kind;
    }
    e->postcode = kind == POSTCODES_FULL ? PUBLIC_POSTCODE_FULL : PUBLIC_POSTCODE_OUTWARD;
    return kind;
}

/* The answer when the postcode of kind `kind` is not in the directory. Returns -1. */
static int
postcode_unknown(enum postcodes_kind kind, struct public_error *e)
{
    return set_error(e, PUBLIC_NOT_FOUND, "postcode", "%s",
                     kind == POSTCODES_FULL
                         ? "that postcode is not in our postcode directory"
                         : "that postcode district is not in our postcode directory");
}

/* Looks up `given` (a full postcode or an outward code) and fills s->lat/s->lon. Returns 0, or
 * -1 with `e` set. The postcode is never echoed or logged. */
static int
locate_postcode(struct db_conn *db, const char *given, struct search *s, struct public_error *e)
{
    char pc[POSTCODE_MAX];
    enum postcodes_kind kind = postcode_given(given, pc, e);
    double lat, lon;

    if (kind == POSTCODES_MALFORMED) {
        return -1;
    }
    switch (postcodes_find(db, pc, &lat, &lon)) {
    case 1:
        snprintf(s->lat, sizeof(s->lat), "%.6f", lat);
        snprintf(s->lon, sizeof(s->lon), "%.6f", lon);
        return 0;
    case 0:
        return postcode_unknown(kind, e);
    default:
        return set_db_error(e, NULL);
    }
}

/* ---- Search by town or place (places.c) ------------------------------------------------------ */

/* place= (a town, at least 3 letters) and area= (with place only, to pick one of its choices)
 * alone, not with postcode or lat/lon. Returns 0, or -1 with `e` set. */
static int
place_query_problem(const struct query *q, struct public_error *e)
{
    const char *place = query_get(q, "place"), *area = query_get(q, "area");

    if (area != NULL && place == NULL) {
        return set_error(e, PUBLIC_BAD_INPUT, "area",
                         "area: only with place, to pick one of the "
                         "places of that name");
    }
    if (place == NULL) {
        return 0;
    }
    if (query_get(q, "postcode") != NULL || query_get(q, "lat") != NULL
        || query_get(q, "lon") != NULL) {
        return set_error(e, PUBLIC_BAD_INPUT, "place",
                         "give one of postcode, place, or lat and lon; not more");
    }
    if (area != NULL && !validate_text(area, 1, 200)) {
        return set_error(e, PUBLIC_BAD_INPUT, "area", "area: the area of one of the choices");
    }
    return 0;
}

/* The place name of `q` as places_name_ok makes it, into `name` (`size` bytes). Returns 0, or -1
 * with `e` set. What was typed is never echoed. */
static int
place_name(const struct query *q, char *name, size_t size, struct public_error *e)
{
    if (places_name_ok(query_get(q, "place"), name, size) != 0) {
        return set_error(e, PUBLIC_BAD_INPUT, "place",
                         "place: the name of a town or place, at least %d letters (letters, "
                         "spaces, . ' and - only)",
                         PLACES_NAME_MIN);
    }
    return 0;
}

/* Looks the place of `q` up: one match fills s->lat/s->lon (returns 0); several make *choices
 * {"choices": [{name, area, country, lat, lon}]} (returns 1); none, or a name that is not one, is
 * -1 with `e` set. What was typed is never echoed or logged. */
static int
locate_place(struct db_conn *db,
             const struct query *q,
             struct search *s,
             json_t **choices,
             struct public_error *e)
{
    char name[PLACES_NAME_MAX * 4 + 4];
    PGresult *res;
    json_t *list;
    int i;

    if (place_name(q, name, sizeof(name), e) != 0) {
        return -1;
    }
    if ((res = places_find(db, name, query_get(q, "area"))) == NULL) {
        e->fault = PUBLIC_INTERNAL;
        return -1;
    }
    if (!db_ok(res)) {
        return set_db_error(e, res);
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return set_error(e, PUBLIC_NOT_FOUND, "place", "%s",
                         "no town or place of that name in our gazetteer: check the spelling, "
                         "or search by postcode");
    }
    if (PQntuples(res) == 1) {
        snprintf(s->lat, sizeof(s->lat), "%s", db_value(res, 0, "latitude"));
        snprintf(s->lon, sizeof(s->lon), "%s", db_value(res, 0, "longitude"));
        PQclear(res);
        return 0;
    }
    list = json_array();
    for (i = 0; i < PQntuples(res); i++) {
        json_array_append_new(list,
                              json_pack("{s:s?, s:s?, s:s?, s:f, s:f}", "name",
                                        db_value(res, i, "name"), "area", db_value(res, i, "area"),
                                        "country", db_value(res, i, "country"), "lat",
                                        strtod(db_value(res, i, "latitude"), NULL), "lon",
                                        strtod(db_value(res, i, "longitude"), NULL)));
    }
    PQclear(res);
    *choices = json_pack("{s:o}", "choices", list);
    return 1;
}

/* Reads and checks the providers query into `s` (the point, when given as lat/lon, but not a
 * postcode's). Returns 0, or -1 with `e` set. */
static int
parse_search(const struct query *q, struct search *s, struct public_error *e)
{
    const char *postcode = query_get(q, "postcode"), *lat = query_get(q, "lat"),
               *lon = query_get(q, "lon"), *v;
    double radius = PUB_RADIUS_DEFAULT, dlat, dlon;
    long n;

    memset(s, 0, sizeof(*s));
    if (place_query_problem(q, e) != 0) {
        return -1;
    }
    if (postcode != NULL && (lat != NULL || lon != NULL)) {
        return set_error(e, PUBLIC_BAD_INPUT, "postcode",
                         "give either postcode, or lat and lon; not both");
    }
    if (postcode == NULL && lat == NULL && lon == NULL && query_get(q, "place") == NULL) {
        return set_error(e, PUBLIC_BAD_INPUT, "postcode",
                         "give postcode (e.g. ME4 4AB, or ME4), place (a town, e.g. Chatham), or "
                         "lat and lon");
    }
    if (postcode == NULL && query_get(q, "place") == NULL && (lat == NULL || lon == NULL)) {
        return set_error(e, PUBLIC_BAD_INPUT, lat == NULL ? "lat" : "lon",
                         "give lat and lon together");
    }
    if (lat != NULL) {
        if (parse_decimal(lat, &dlat) != 0 || dlat < -90 || dlat > 90) {
            return set_error(e, PUBLIC_BAD_INPUT, "lat", "lat: a latitude in decimal degrees");
        }
        if (parse_decimal(lon, &dlon) != 0 || dlon < -180 || dlon > 180) {
            return set_error(e, PUBLIC_BAD_INPUT, "lon", "lon: a longitude in decimal degrees");
        }
        if (dlat < PUB_LAT_MIN || dlat > PUB_LAT_MAX || dlon < PUB_LON_MIN || dlon > PUB_LON_MAX) {
            return set_error(e, PUBLIC_BAD_INPUT, "lat",
                             "lat/lon: the point must lie within Great Britain, Northern "
                             "Ireland or Ireland");
        }
        snprintf(s->lat, sizeof(s->lat), "%.7f", dlat);
        snprintf(s->lon, sizeof(s->lon), "%.7f", dlon);
    }
    if ((v = query_get(q, "radius_km")) != NULL
        && (parse_decimal(v, &radius) != 0 || radius < PUB_RADIUS_MIN || radius > PUB_RADIUS_MAX)) {
        return set_error(e, PUBLIC_BAD_INPUT, "radius_km", "radius_km: a number from %g to %g",
                         PUB_RADIUS_MIN, PUB_RADIUS_MAX);
    }
    snprintf(s->radius_m, sizeof(s->radius_m), "%.3f", radius * 1000.0);
    n = PUB_LIMIT_DEFAULT;
    if ((v = query_get(q, "limit")) != NULL && parse_int(v, 1, PUB_LIMIT_MAX, &n) != 0) {
        return set_error(e, PUBLIC_BAD_INPUT, "limit", "limit: a whole number from 1 to %d",
                         PUB_LIMIT_MAX);
    }
    snprintf(s->limit, sizeof(s->limit), "%ld", n);
    if ((v = query_get(q, "self_referral")) != NULL && (s->self_referral = parse_bool(v)) == NULL) {
        return set_error(e, PUBLIC_BAD_INPUT, "self_referral", "self_referral: true or false");
    }
    if ((v = query_get(q, "with_upcoming")) != NULL && (s->with_upcoming = parse_bool(v)) == NULL) {
        return set_error(e, PUBLIC_BAD_INPUT, "with_upcoming", "with_upcoming: true or false");
    }
    if ((v = query_get(q, "starting_within_days")) != NULL) {
        if (parse_int(v, 0, PUB_WITHIN_MAX, &n) != 0) {
            return set_error(e, PUBLIC_BAD_INPUT, "starting_within_days",
                             "starting_within_days: a whole number from 0 to %d", PUB_WITHIN_MAX);
        }
        snprintf(s->within_buf, sizeof(s->within_buf), "%ld", n);
        s->within = s->within_buf;
    }
    return 0;
}

/* ---- Rendering --------------------------------------------------------------------------- */

/* The number of sites of a page statement's result (PUB_PAGE): its rows with an item. */
static int
page_sites(const PGresult *res)
{
    int i, n = 0;

    for (i = 0; i < PQntuples(res); i++) {
        n += !PQgetisnull(res, i, 0);
    }
    return n;
}

/* The central contact of a page statement's result (PUB_PAGE): JSON text, or NULL. */
static const char *
page_contact(const PGresult *res)
{
    int i;

    for (i = 0; i < PQntuples(res); i++) {
        if (PQgetisnull(res, i, 0)) {
            return PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1);
        }
    }
    return NULL;
}

/* The first item of a page statement's result (PUB_PAGE), or NULL when it has none. */
static const char *
first_item(const PGresult *res)
{
    int i;

    for (i = 0; i < PQntuples(res); i++) {
        if (!PQgetisnull(res, i, 0)) {
            return PQgetvalue(res, i, 0);
        }
    }
    return NULL;
}

/* earthdistance's sphere: earth() is 6378168 metres (its SQL function's constant). */
#define PUB_EARTH_M 6378168.0

/* The great circle in km of a chord in metres, as PUB_GC(chord) / 1000 computes it in float8:
 * the same operations in the same order (the planner folds 2 * earth() to 12756336), asin of
 * the same libm, so the same double. */
static double
pub_gc_km(double chord)
{
    const double two_r = 2 * PUB_EARTH_M;
    double m;

    if (chord < 0) {
        m = 0;
    } else if (chord / two_r > 1) {
        m = M_PI * PUB_EARTH_M;
    } else {
        m = two_r * asin(chord / two_r);
    }
    return m / 1000;
}

/* Appends the items of a page statement's result (PUB_PAGE, or PUB_PAGE_STORED: the distance of
 * its chord written before each item) to `b`, comma-separated. */
static void
put_items(struct jsonout_buf *b, const PGresult *res)
{
    int i, first = 1, chord = PQfnumber(res, "chord");

    for (i = 0; i < PQntuples(res); i++) {
        if (!PQgetisnull(res, i, 0)) {
            if (!first) {
                jsonout_put(b, ",", 1);
            }
            if (chord >= 0) {
                jsonout_put(b, "{\"distance_km\":", 15);
                jsonout_put_round2(b, pub_gc_km(strtod(PQgetvalue(res, i, chord), NULL)));
                jsonout_put(b, ",", 1);
            }
            jsonout_put(b, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0));
            first = 0;
        }
    }
}

/* Returns a new reference: `text` (JSON text, or NULL for null) parsed; NULL when it does not
 * parse. */
static json_t *
parse_text(const char *text)
{
    return text == NULL ? json_null() : json_loads(text, JSON_REJECT_DUPLICATES, NULL);
}

/* 1 when the search has a run filter: self_referral=true, starting_within_days, or
 * with_upcoming=true (false is no filter). */
static int
has_run_filter(const struct search *s)
{
    return (s->self_referral != NULL && strcmp(s->self_referral, "true") == 0) || s->within != NULL
           || (s->with_upcoming != NULL && strcmp(s->with_upcoming, "true") == 0);
}

/* Every provider answer carries the licensing body's central contact (settings.c): the next step
 * when nothing is near or a site gives no phone or e-mail. null when none is set; a failure to
 * read it leaves it null rather than failing the search. */
static void
add_central_contact(struct db_conn *db, json_t *body)
{
    json_t *contact = settings_central_contact(db, NULL, 0);

    json_object_set_new(body, "central_contact", contact != NULL ? contact : json_null());
}

/* What a provider search found: the page (`sites`, PUB_PAGE's rows: the sites' items, then the
 * central contact) and, when none is within the radius, the nearest beyond it (`beyond`, the
 * same shape, at most one item); or, for a place of several names, `choices` ({"choices":
 * [...]}). */
struct found {
    PGresult *sites, *beyond;
    json_t *choices;
};

static void
found_cleanup(struct found *f)
{
    PQclear(f->sites);
    PQclear(f->beyond);
    json_decref(f->choices);
    memset(f, 0, sizeof(*f));
}

/* Nothing within the radius: the nearest site beyond it from the point of `s`, with the same
 * filters, into f->beyond. Returns 0, or -1 with `e` set. */
static int
find_beyond(struct db_conn *db, const struct search *s, struct found *f, struct public_error *e)
{
    const char *bp[5] = {s->lat, s->lon, s->self_referral, s->within, s->with_upcoming};

    f->beyond = db_exec(db, "pub_nearest", 5, bp);
    if (!db_ok(f->beyond)) {
        set_db_error(e, f->beyond);
        f->beyond = NULL;
        return -1;
    }
    return 0;
}

/* The row of a stored page (PUB_PAGE_STORED) that carries the point: the one whose item is NULL;
 * or -1. */
static int
page_point_row(const PGresult *res)
{
    int i;

    for (i = 0; i < PQntuples(res); i++) {
        if (PQgetisnull(res, i, 0)) {
            return i;
        }
    }
    return -1;
}

/* 1 when a site of a stored page (PUB_PAGE_STORED) has a stored item that does not hold today. */
static int
page_stale(const PGresult *res)
{
    int i;

    for (i = 0; i < PQntuples(res); i++) {
        if (!PQgetisnull(res, i, 0) && !PQgetisnull(res, i, 4)
            && strcmp(PQgetvalue(res, i, 4), "t") == 0) {
            return 1;
        }
    }
    return 0;
}

/* Runs the stored page statement `name` with `params` (n of them) into f->sites: its point into
 * s->lat and s->lon (the text of the same float8, so the same point for what follows), the page
 * computed from the cards by pub_near_live instead when a site's stored item is stale, and the
 * nearest beyond the radius when none is within it. Returns 1, or 0 when the statement found no
 * point (f->sites NULL), or -1 with `e` set. */
static int
stored_page(struct db_conn *db,
            const char *name,
            int n,
            const char *const *params,
            struct search *s,
            struct found *f,
            struct public_error *e)
{
    int row;

    f->sites = db_exec(db, name, n, params);
    if (!db_ok(f->sites)) {
        set_db_error(e, f->sites);
        f->sites = NULL;
        return -1;
    }
    row = page_point_row(f->sites);
    if (row < 0 || PQgetisnull(f->sites, row, 2) || PQgetisnull(f->sites, row, 3)) {
        PQclear(f->sites);
        f->sites = NULL;
        return 0;
    }
    snprintf(s->lat, sizeof(s->lat), "%s", PQgetvalue(f->sites, row, 2));
    snprintf(s->lon, sizeof(s->lon), "%s", PQgetvalue(f->sites, row, 3));
    if (page_stale(f->sites)) {
        const char *lp[4] = {s->lat, s->lon, s->radius_m, s->limit};

        PQclear(f->sites);
        f->sites = db_exec(db, "pub_near_live", 4, lp);
        if (!db_ok(f->sites)) {
            set_db_error(e, f->sites);
            f->sites = NULL;
            return -1;
        }
    }
    if (page_sites(f->sites) == 0 && find_beyond(db, s, f, e) != 0) {
        return -1;
    }
    return 1;
}

/* Runs the search of `q` into `f` (zeroed first). Returns 0, or -1 with `e` set. */
static int
find_providers(struct db_conn *db, const struct query *q, struct found *f, struct public_error *e)
{
    struct search s;
    const char *params[7];
    int found;

    memset(f, 0, sizeof(*f));
    if (parse_search(q, &s, e) != 0) {
        return -1;
    }
    if (query_get(q, "postcode") != NULL && !has_run_filter(&s)) {
        /* A postcode or an outward code without run filters (the finder's usual search): the
         * lookup and the page in one statement. */
        char pc[POSTCODE_MAX];
        enum postcodes_kind kind = postcode_given(query_get(q, "postcode"), pc, e);
        const char *pp[3] = {pc, s.radius_m, s.limit};

        if (kind == POSTCODES_MALFORMED) {
            return -1;
        }
        found = stored_page(db, kind == POSTCODES_FULL ? "pub_near_postcode" : "pub_near_outward",
                            3, pp, &s, f, e);
        return found > 0 ? 0 : found < 0 ? -1 : postcode_unknown(kind, e);
    }
    if (query_get(q, "place") != NULL && !has_run_filter(&s)) {
        /* A town: when exactly one place has that very name, the lookup and the page in one
         * statement; otherwise (choices, a name that only starts one, none) places_find below. */
        char name[PLACES_NAME_MAX * 4 + 4];
        const char *pp[4] = {name, query_get(q, "area"), s.radius_m, s.limit};

        if (place_name(q, name, sizeof(name), e) != 0) {
            return -1;
        }
        if ((found = stored_page(db, "pub_near_place", 4, pp, &s, f, e)) != 0) {
            return found > 0 ? 0 : -1;
        }
    }
    if (query_get(q, "postcode") != NULL
        && locate_postcode(db, query_get(q, "postcode"), &s, e) != 0) {
        return -1;
    }
    if (query_get(q, "place") != NULL) {
        found = locate_place(db, q, &s, &f->choices, e);
        if (found != 0) {
            return found > 0 ? 0 : -1; /* several places: the choices; or none */
        }
    }
    params[0] = s.lat;
    params[1] = s.lon;
    params[2] = s.radius_m;
    params[3] = s.limit;
    params[4] = s.self_referral;
    params[5] = s.within;
    params[6] = s.with_upcoming;
    if (!has_run_filter(&s)) {
        /* The page from the stored items (one statement: each site's item and the central
         * contact). */
        return stored_page(db, "pub_near", 4, params, &s, f, e) > 0 ? 0 : -1;
    }
    /* With run filters the page is computed from the cards: each site's runs of today that pass
     * them, and the central contact. */
    f->sites = db_exec(db, "pub_near_filtered", 7, params);
    if (!db_ok(f->sites)) {
        set_db_error(e, f->sites);
        f->sites = NULL;
        return -1;
    }
    return page_sites(f->sites) > 0 ? 0 : find_beyond(db, &s, f, e);
}

json_t *
public_find_providers(struct db_conn *db, const struct query *q, struct public_error *e)
{
    struct found f;
    json_t *body = NULL, *items = NULL, *nearest = NULL, *contact = NULL;

    if (find_providers(db, q, &f, e) != 0) {
        goto out;
    }
    if (f.choices != NULL) {
        body = f.choices; /* several places: the choices */
        f.choices = NULL;
        add_central_contact(db, body);
        goto out;
    }
    {
        struct jsonout_buf b = {0};

        jsonout_put(&b, "[", 1);
        put_items(&b, f.sites);
        jsonout_put(&b, "]", 1);
        items = b.failed ? NULL : json_loads(b.p, JSON_REJECT_DUPLICATES, NULL);
        free(b.p);
    }
    nearest = parse_text(f.beyond != NULL ? first_item(f.beyond) : NULL);
    contact = parse_text(page_contact(f.sites));
    if (items == NULL || nearest == NULL || contact == NULL) {
        e->fault = PUBLIC_INTERNAL;
        goto out;
    }
    body = json_object();
    json_object_set_new(body, "items", items);
    json_object_set_new(body, "nearest_beyond", nearest);
    json_object_set_new(body, "central_contact", contact);
    items = nearest = contact = NULL;
out:
    json_decref(contact);
    json_decref(nearest);
    json_decref(items);
    found_cleanup(&f);
    return body;
}

/* Appends `text` to `b`, or null when it is NULL. */
static void
put_text(struct jsonout_buf *b, const char *text)
{
    if (text != NULL) {
        jsonout_put(b, text, strlen(text));
    } else {
        jsonout_put(b, "null", 4);
    }
}

/* Writes the JSON answer of a provider page into `b` without building it as a tree: the items'
 * text as the statement wrote them, then nearest_beyond and central_contact, in the order and
 * with the values public_find_providers gives. */
static void
put_providers(struct jsonout_buf *b, const struct found *f)
{
    jsonout_put(b, "{\"items\":[", 10);
    put_items(b, f->sites);
    jsonout_put(b, "],\"nearest_beyond\":", 19);
    put_text(b, f->beyond != NULL ? first_item(f->beyond) : NULL);
    jsonout_put(b, ",\"central_contact\":", 19);
    put_text(b, page_contact(f->sites));
    jsonout_put(b, "}", 1);
}

/* Sends a provider page as put_providers writes it. Returns the status sent. */
static int
send_providers_text(struct req *r, const struct found *f)
{
    struct jsonout_buf b = {0};
    int status;

    put_providers(&b, f);
    status = b.failed ? problem_send(r, PROBLEM_INTERNAL, NULL)
                      : http_send_public(r, "application/json; charset=utf-8", b.p, b.len);
    free(b.p);
    return status;
}

/* The answer of a provider search as the text GET /v1/public/providers sends (no tree): for the
 * finder's page (pages.c), which reads it with jsonview. */
char *
public_find_providers_text(struct db_conn *db,
                           const struct query *q,
                           struct public_error *e,
                           size_t *len)
{
    struct jsonout_buf b = {0};
    struct found f;

    if (find_providers(db, q, &f, e) != 0) {
        found_cleanup(&f); /* it may hold the page of an unknown postcode */
        return NULL;
    }
    if (f.choices != NULL) {
        add_central_contact(db, f.choices); /* several places: the choices */
        b.p = json_dumps(f.choices, JSON_COMPACT);
        b.len = b.p != NULL ? strlen(b.p) : 0;
        b.failed = b.p == NULL;
    } else {
        put_providers(&b, &f);
    }
    found_cleanup(&f);
    if (b.failed) {
        free(b.p);
        e->fault = PUBLIC_INTERNAL;
        return NULL;
    }
    *len = b.len;
    return b.p;
}

/* The CSV columns of a provider search (Accept: text/csv): one row per site, the nested site and
 * organisation flattened, the upcoming runs as a JSON cell; nearest_beyond is JSON-only. */
static const char *const provider_csv_columns[] = {"distance_km",
                                                   "site_id",
                                                   "site_name",
                                                   "site_address_lines",
                                                   "site_town",
                                                   "site_postcode",
                                                   "site_accessibility",
                                                   "organisation_name",
                                                   "organisation_phone",
                                                   "organisation_email",
                                                   "organisation_website",
                                                   "upcoming_runs",
                                                   NULL};

int
public_providers(struct req *r)
{
    static const char *const allowed[] = {"postcode",
                                          "place",
                                          "area",
                                          "lat",
                                          "lon",
                                          "radius_km",
                                          "limit",
                                          "self_referral",
                                          "starting_within_days",
                                          "with_upcoming",
                                          NULL};
    struct public_error e;
    struct query q;
    int status;

    public_error_init(&e);
    if ((status = http_query_or_problem(r, allowed, &q)) == 0) {
        /* The URL carries a family's postcode or position: a browser may keep the answer a
         * minute, a shared cache or a CDN (and its logs) must not. */
        r->cache_private = 1;
        if (http_wants_csv(r)) {
            status = send_found(r, public_find_providers(r->db, &q, &e), &e, provider_csv_columns);
        } else {
            struct found f;

            if (find_providers(r->db, &q, &f, &e) != 0) {
                status = public_error_send(r, &e);
            } else if (f.choices != NULL) {
                json_t *body = f.choices; /* several places: the choices */

                f.choices = NULL;
                add_central_contact(r->db, body);
                status = send_found(r, body, &e, NULL);
            } else {
                status = send_providers_text(r, &f); /* the page, as the statement wrote it */
            }
            found_cleanup(&f);
        }
    }
    public_error_cleanup(&e);
    query_cleanup(&q);
    return status;
}

/* ---- The public register ----------------------------------------------------------------- */

/* 1 when `s` could be a registration number: 1..PUB_NUMBER_MAX letters, digits and hyphens. */
/* A facilitator on the register (a row of PUB_FAC_SELECT): its columns, and `organisation`,
 * {name, town} of the current employer or null. */
static json_t *
fac_row(const PGresult *res, int row)
{
    json_t *o = db_row_to_json(res, row), *org = json_null();

    if (db_bool(res, row, "_employed")) {
        const char *town = db_value(res, row, "_organisation_town");

        org = json_pack("{s:s?, s:s?}", "name", db_value(res, row, "_organisation_name"), "town",
                        town);
    }
    json_object_set_new(o, "organisation", org);
    return o;
}

static int
plausible_number(const char *s)
{
    size_t n = strlen(s), i;

    if (n == 0 || n > PUB_NUMBER_MAX) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-') {
            return 0;
        }
    }
    return 1;
}

json_t *
public_find_facilitator(struct db_conn *db, const char *number, struct public_error *e)
{
    PGresult *res;
    json_t *body;

    if (!plausible_number(number)) {
        set_error(e, PUBLIC_NOT_FOUND, "registration_number", "%s",
                  "no facilitator on the register has that registration number");
        return NULL;
    }
    res = db_exec(db, "pub_fac_get", 1, &number);
    if (!db_ok(res)) {
        set_db_error(e, res);
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        set_error(e, PUBLIC_NOT_FOUND, "registration_number", "%s",
                  "no facilitator on the register has that registration number");
        return NULL;
    }
    body = fac_row(res, 0);
    PQclear(res);
    return body;
}

int
public_facilitators_get(struct req *r)
{
    const char *number = r->nparams > 0 ? r->params[0] : "";
    struct public_error e;
    struct query q;
    int status;

    public_error_init(&e);
    if ((status = http_query_or_problem(r, NULL, &q)) == 0) {
        status = send_found(r, public_find_facilitator(r->db, number, &e), &e, NULL);
    }
    public_error_cleanup(&e);
    query_cleanup(&q);
    return status;
}

/* Copies `in` without outer spaces and with each run of inner whitespace as one space. Returns
 * a malloc'd string, or NULL when out of memory. */
static char *
squeeze_spaces(const char *in)
{
    char *out = malloc(strlen(in) + 1), *o = out;
    int space = 0;

    if (out == NULL) {
        return NULL;
    }
    for (; *in != '\0'; in++) {
        if (*in == ' ' || *in == '\t') {
            space = o != out;
            continue;
        }
        if (space) {
            *o++ = ' ';
            space = 0;
        }
        *o++ = *in;
    }
    *o = '\0';
    return out;
}

json_t *
public_find_facilitators(struct db_conn *db, const char *given, struct public_error *e)
{
    char limit[8];
    PGresult *res = NULL;
    json_t *body = NULL, *items;
    char *name = NULL;
    const char *params[2];
    long len;
    int i;

    if (given == NULL) {
        set_error(e, PUBLIC_BAD_INPUT, "name", "name: at least %d characters of a name",
                  PUB_NAME_MIN);
        goto out;
    }
    if ((name = squeeze_spaces(given)) == NULL) {
        e->fault = PUBLIC_INTERNAL;
        goto out;
    }
    len = validate_utf8_len(name);
    if (len < PUB_NAME_MIN || len > PUB_NAME_MAX || !validate_text(name, 1, PUB_NAME_MAX)) {
        set_error(e, PUBLIC_BAD_INPUT, "name", "name: %d to %d characters of a name", PUB_NAME_MIN,
                  PUB_NAME_MAX);
        goto out;
    }
    snprintf(limit, sizeof(limit), "%d", PUB_NAME_RESULTS);
    params[0] = name;
    params[1] = limit;
    res = db_exec(db, "pub_fac_search", 2, params);
    if (!db_ok(res)) {
        set_db_error(e, res);
        res = NULL;
        goto out;
    }
    body = json_object();
    items = json_array();
    for (i = 0; i < PQntuples(res); i++) {
        json_array_append_new(items, fac_row(res, i));
    }
    json_object_set_new(body, "items", items);
out:
    PQclear(res);
    free(name);
    return body;
}

/* The CSV columns of a register search (Accept: text/csv), the employer flattened. */
static const char *const facilitator_csv_columns[] = {
    "given_name",       "family_name",       "registration_number", "status",
    "accredited_until", "organisation_name", "organisation_town",   NULL,
};

int
public_facilitators_search(struct req *r)
{
    static const char *const allowed[] = {"name", NULL};
    struct public_error e;
    struct query q;
    int status;

    public_error_init(&e);
    if ((status = http_query_or_problem(r, allowed, &q)) == 0) {
        status = send_found(r, public_find_facilitators(r->db, query_get(&q, "name"), &e), &e,
                            facilitator_csv_columns);
    }
    public_error_cleanup(&e);
    query_cleanup(&q);
    return status;
}
