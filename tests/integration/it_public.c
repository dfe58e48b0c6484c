/* it_public.c: the public provider finder and the public register over HTTP, against the real
 * server and PostgreSQL.
 *
 * Providers: distance order and distances checked against a haversine computed here (on
 * earthdistance's sphere, R = 6378168 m, and within 0.2 % of the mean-radius one), the radius edge
 * (a site just inside and one just outside), every exclusion (suspended, expired, not yet valid,
 * pending and revoked licence, archived organisation, inactive, archived, prison, school,
 * non-public and unlocated sites), the item's fields (public contact only when public_contact),
 * upcoming runs and places left, each filter, limit, full-postcode, outward-code and lat/lon
 * searches, 404 for an unknown postcode or district, each 400, and nearest_beyond.
 *
 * Register: the exact public fields (and no private ones), lapsed/suspended/withdrawn, in_training
 * absent, employer shown only while current and not archived, registration numbers matched
 * case-insensitively, malformed and unknown numbers 404; name search ignoring accents and case,
 * in either name order, at least 3 characters, at most 20 results, ordered by family then given
 * name, LIKE wildcards taken literally.
 *
 * The data is written with SQL (each test wipes what it needs), dates relative to the UK's today
 * as the server computes it (registry_today()). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"

#define ED_R_KM   6378.168  /* earthdistance's sphere */
#define MEAN_R_KM 6371.0088 /* the Earth's mean radius */
#define PI        3.14159265358979323846

/* The search centre used by most tests: Chatham, where postcode ME4 4AB is put. */
#define C_LAT 51.3800
#define C_LON 0.5200

static const char *const no_limit_env[] = {"REGISTRY_PUBLIC_RATE_LIMIT=0", NULL};

/* ---- Helpers --------------------------------------------------------------------------------- */

static double
haversine_km(double lat1, double lon1, double lat2, double lon2, double radius_km)
{
    double p1 = lat1 * PI / 180, p2 = lat2 * PI / 180;
    double dp = (lat2 - lat1) * PI / 180, dl = (lon2 - lon1) * PI / 180;
    double a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);

    return 2 * radius_km * asin(sqrt(a));
}

/* The latitude `km` north of C_LAT along the meridian (a great circle), on earthdistance's sphere.
 */
static double
north_of_centre(double km)
{
    return C_LAT + km / (ED_R_KM * PI / 180);
}

/* Removes every organisation and what hangs off it. */
static void
wipe(struct it_server *s)
{
    PQclear(it_sql(s, "DELETE FROM programme_facilitator"));
    PQclear(it_sql(s, "DELETE FROM programme_run"));
    PQclear(it_sql(s, "DELETE FROM location"));
    PQclear(it_sql(s, "DELETE FROM licence_status_history"));
    PQclear(it_sql(s, "DELETE FROM licence"));
    PQclear(it_sql(s, "DELETE FROM facilitator_employment"));
    PQclear(it_sql(s, "DELETE FROM facilitator_status_history"));
    PQclear(it_sql(s, "DELETE FROM facilitator"));
    PQclear(it_sql(s, "DELETE FROM app_user WHERE organisation_id IS NOT NULL"));
    PQclear(it_sql(s, "DELETE FROM organisation"));
}

/* An organisation with a licence of `status` (NULL: none) valid from today + from_off to
 * today + until_off days. Returns its id (malloc'd). */
static char *
make_org_full(struct it_server *s,
              const char *name,
              int public_contact,
              const char *status,
              int from_off,
              int until_off,
              int archived)
{
    char from[16], until[16];
    char *id;

    snprintf(from, sizeof(from), "%d", from_off);
    snprintf(until, sizeof(until), "%d", until_off);
    id = it_sql_text(
        s,
        "WITH o AS (INSERT INTO organisation (name, kind, address_lines, town, postcode,"
        "  phone, email, website, public_contact, archived_at)"
        "  VALUES ($1, 'charity', '[\"1 High Street\"]', 'Chatham', 'ME4 4AB',"
        "  '01634 000111', 'hello@provider.example', 'https://provider.example',"
        "  $2::boolean, CASE WHEN $3::boolean THEN now() END) RETURNING id),"
        " l AS (INSERT INTO licence (organisation_id, number, status, valid_from,"
        "  valid_until) SELECT id, 'T-' || gen_random_uuid(), $4::text,"
        "  registry_today() + $5::int, registry_today() + $6::int FROM o"
        "  WHERE $4::text IS NOT NULL)"
        " SELECT id::text FROM o",
        name, public_contact ? "true" : "false", archived ? "true" : "false", status, from, until);
    return id;
}

/* A licensed organisation (active licence from a year ago to a year ahead). */
static char *
make_org(struct it_server *s, const char *name, int public_contact)
{
    return make_org_full(s, name, public_contact, "active", -365, 365, 0);
}

/* A site of `org` at lat/lon (strings; NULL for none). Returns its id (malloc'd). */
static char *
make_site_full(struct it_server *s,
               const char *org,
               const char *name,
               const char *kind,
               const char *lat,
               const char *lon,
               int public,
               int active,
               int archived)
{
    char *id;

    id = it_sql_text(
        s,
        "INSERT INTO location (organisation_id, name, kind, address_lines, town, postcode,"
        " latitude, longitude, accessibility, public, active, archived_at)"
        " VALUES ($1::uuid, $2, $3, '[\"2 Mill Lane\", \"Luton\"]', 'Chatham', 'ME4 5BA',"
        " $4::float8, $5::float8, 'Step-free entrance', $6::boolean, $7::boolean,"
        " CASE WHEN $8::boolean THEN now() END) RETURNING id::text",
        org, name, kind, lat, lon, public ? "true" : "false", active ? "true" : "false",
        archived ? "true" : "false");
    return id;
}

/* A public, active community site at lat/lon. */
static char *
make_site(struct it_server *s, const char *org, const char *name, double lat, double lon)
{
    char la[32], lo[32];

    snprintf(la, sizeof(la), "%.7f", lat);
    snprintf(lo, sizeof(lo), "%.7f", lon);
    return make_site_full(s, org, name, "community", la, lo, 1, 1, 0);
}

/* A run at `loc` from today + start_off to today + end_off. */
static void
make_run(struct it_server *s,
         const char *org,
         const char *loc,
         int start_off,
         int end_off,
         const char *status,
         int capacity,
         int enrolled,
         int self_referral,
         int accepting)
{
    char so[16], eo[16], cap[8], enr[8];

    snprintf(so, sizeof(so), "%d", start_off);
    snprintf(eo, sizeof(eo), "%d", end_off);
    snprintf(cap, sizeof(cap), "%d", capacity);
    snprintf(enr, sizeof(enr), "%d", enrolled);
    PQclear(it_sql(s,
                   "INSERT INTO programme_run (organisation_id, location_id, variant, starts_on,"
                   " ends_on, weekday, start_time, capacity_families, families_enrolled,"
                   " accepting_referrals, self_referral_allowed, status)"
                   " VALUES ($1::uuid, $2::uuid, 'standard', registry_today() + $3::int,"
                   " registry_today() + $4::int, 'tuesday', '18:30', $5::int, $6::int,"
                   " $7::boolean, $8::boolean, $9)",
                   org, loc, so, eo, cap, enr, accepting ? "true" : "false",
                   self_referral ? "true" : "false", status));
}

/* GETs `path`, expects 200 with {"items": [...], "nearest_beyond": ..., "central_contact": ...}
 * (the central contact is null here: it_enquiries sets one). */
static void
search(struct it_server *s, const char *path, struct it_resp *r)
{
    it_get(s, path, NULL, r);
    it_assert_status(r, 200);
    assert_true(json_is_array(json_object_get(r->json, "items")));
    assert_non_null(json_object_get(r->json, "nearest_beyond"));
    assert_true(json_is_null(json_object_get(r->json, "central_contact")));
    assert_int_equal(json_object_size(r->json), 3);
}

static json_t *
items(struct it_resp *r)
{
    return json_object_get(r->json, "items");
}

static const char *
site_id(json_t *item)
{
    return it_jstr(json_object_get(item, "site"), "id");
}

/* 1 when the answer lists a site with id `id`. */
static int
lists(struct it_resp *r, const char *id)
{
    json_t *it;
    size_t i;

    json_array_foreach(items(r), i, it)
    {
        if (site_id(it) != NULL && strcmp(site_id(it), id) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Fails unless `o` has exactly the keys in `keys` (NULL-terminated). */
static void
assert_keys(json_t *o, const char *const *keys)
{
    size_t n = 0;

    assert_true(json_is_object(o));
    for (; keys[n] != NULL; n++) {
        if (json_object_get(o, keys[n]) == NULL) {
            fprintf(stderr, "missing key %s in %s\n", keys[n], json_dumps(o, JSON_COMPACT));
            fail();
        }
    }
    if (json_object_size(o) != n) {
        fprintf(stderr, "unexpected keys in %s\n", json_dumps(o, JSON_COMPACT));
        fail();
    }
}

/* ---- Fixtures -------------------------------------------------------------------------------- */

static int
setup(void **state)
{
    struct it_server *s = it_start_env("public", no_limit_env);

    PQclear(it_sql(s, "INSERT INTO postcode (postcode, latitude, longitude) VALUES"
                      " ('ME4 4AB', 51.38, 0.52), ('ZE2 9QA', 60.40, -1.25)"));
    PQclear(it_sql(s, "INSERT INTO postcode_district (outward, latitude, longitude, postcodes)"
                      " VALUES ('ME4', 51.3700, 0.5400, 1)"));
    *state = s;
    return 0;
}

/* ---- Providers ------------------------------------------------------------------------------- */

static void
test_distance_order(void **state)
{
    struct it_server *s = *state;
    static const double pts[][2] = {
        {51.4500, 0.4100}, {51.3810, 0.5230}, {51.2900, 0.6500}, {51.3900, 0.5000},
        {51.5200, 0.6000}, {51.3300, 0.3900}, {51.3600, 0.5400},
    };
    enum { N = sizeof(pts) / sizeof(pts[0]) };
    char *org, *ids[N], *path;
    double expect[N];
    struct it_resp r;
    json_t *it;
    size_t i, k;

    wipe(s);
    org = make_org(s, "Distance Org", 1);
    for (i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof(name), "Site %zu", i);
        ids[i] = make_site(s, org, name, pts[i][0], pts[i][1]);
        expect[i] = haversine_km(C_LAT, C_LON, pts[i][0], pts[i][1], ED_R_KM);
    }
    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f&radius_km=50", C_LAT, C_LON);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), N);
    assert_true(json_is_null(json_object_get(r.json, "nearest_beyond")));
    json_array_foreach(items(&r), i, it)
    {
        double got = json_number_value(json_object_get(it, "distance_km"));
        double mean = 0;

        /* Which site is this, and is it the i-th nearest by our own computation? */
        for (k = 0; k < N; k++) {
            if (strcmp(site_id(it), ids[k]) == 0) {
                break;
            }
        }
        assert_true(k < N);
        {
            size_t nearer = 0, j;
            for (j = 0; j < N; j++) {
                nearer += expect[j] < expect[k];
            }
            assert_int_equal(nearer, i);
        }
        /* Two decimals of earthdistance's great circle: within rounding of ours. */
        assert_true(fabs(got - expect[k]) <= 0.0051);
        assert_true(fabs(got * 100 - round(got * 100)) < 1e-6);
        /* And 0.11 % above the mean-radius haversine (LIBRARIES.md 18), where rounding to two
         * decimals leaves a ratio to compare. */
        mean = haversine_km(C_LAT, C_LON, pts[k][0], pts[k][1], MEAN_R_KM);
        if (mean > 5) {
            assert_true(got > mean);
            assert_true(fabs(got / mean - ED_R_KM / MEAN_R_KM) < 0.0005);
        }
    }
    /* Ascending, as returned. */
    for (i = 1; i < N; i++) {
        assert_true(
            json_number_value(json_object_get(json_array_get(items(&r), i - 1), "distance_km"))
            <= json_number_value(json_object_get(json_array_get(items(&r), i), "distance_km")));
    }
    it_resp_free(&r);
    free(path);

    /* limit keeps the nearest. */
    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f&radius_km=50&limit=2", C_LAT, C_LON);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), 2);
    assert_string_equal(site_id(json_array_get(items(&r), 0)), ids[1]);
    assert_string_equal(site_id(json_array_get(items(&r), 1)), ids[3]);
    it_resp_free(&r);
    free(path);

    /* The default radius (25 km) leaves out the sites further away. */
    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f", C_LAT, C_LON);
    search(s, path, &r);
    for (i = 0; i < N; i++) {
        assert_int_equal(lists(&r, ids[i]), expect[i] <= 25.0);
    }
    it_resp_free(&r);
    free(path);
    for (i = 0; i < N; i++) {
        free(ids[i]);
    }
    free(org);
}

/* The distance's text in the answer is what PostgreSQL writes for round(km::numeric, 2)::text of
 * earthdistance's great circle (the statement returns the float8 and the server writes it, from
 * the stored items): 50 sites at distances of every kind of last digit. */
static void
test_distance_text(void **state)
{
    struct it_server *s = *state;
    enum { N = 50 };
    char *org, *path, *ids[N];
    const char *p;
    struct it_resp r;
    PGresult *res;
    int i, zero_last = 0;

    wipe(s);
    org = make_org(s, "Distance Text Org", 1);
    for (i = 0; i < N; i++) {
        char name[32];
        double a = i * 2.399963, d = 0.004 + 0.0031 * i * i / N;

        snprintf(name, sizeof(name), "Site %d", i);
        ids[i] = make_site(s, org, name, C_LAT + d * cos(a), C_LON + 1.6 * d * sin(a));
    }
    /* Every site's stored item holds today, so the page is the stored one (not pub_near_live). */
    res = it_sql(s, "SELECT count(*) FROM public_site WHERE item_tail IS NOT NULL"
                    " AND registry_today() BETWEEN item_from AND item_until");
    assert_int_equal(atoi(PQgetvalue(res, 0, 0)), N);
    PQclear(res);
    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f&radius_km=50&limit=%d", C_LAT, C_LON, N);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), N);
    res = it_sql(s,
                 "SELECT round((earth_distance(ll_to_earth($1::float8, $2::float8), ps.earth)"
                 " / 1000)::numeric, 2)::text FROM public_site ps"
                 " ORDER BY ps.earth <-> ll_to_earth($1::float8, $2::float8) LIMIT 50",
                 "51.3800", "0.5200");
    assert_int_equal(PQntuples(res), N);
    p = r.body;
    for (i = 0; i < N; i++) {
        const char *want = PQgetvalue(res, i, 0);
        size_t n = strlen(want);

        p = strstr(p, "{\"distance_km\":");
        assert_non_null(p);
        p += strlen("{\"distance_km\":");
        if (strncmp(p, want, n) != 0 || p[n] != ',') {
            fail_msg("item %d: distance %.12s, PostgreSQL %s", i, p, want);
        }
        zero_last += want[n - 1] == '0';
    }
    assert_true(zero_last > 0); /* a trailing zero is kept ("3.10") */
    PQclear(res);
    it_resp_free(&r);
    free(path);
    for (i = 0; i < N; i++) {
        free(ids[i]);
    }
    free(org);
}

static void
test_radius_edge(void **state)
{
    struct it_server *s = *state;
    char *org, *inside, *outside, *path;
    struct it_resp r;

    wipe(s);
    org = make_org(s, "Edge Org", 1);
    inside = make_site(s, org, "Just inside", north_of_centre(9.98), C_LON);
    outside = make_site(s, org, "Just outside", north_of_centre(10.02), C_LON);

    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f&radius_km=10", C_LAT, C_LON);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), 1);
    assert_string_equal(site_id(json_array_get(items(&r), 0)), inside);
    assert_true(
        fabs(json_number_value(json_object_get(json_array_get(items(&r), 0), "distance_km")) - 9.98)
        < 0.006);
    it_resp_free(&r);
    free(path);

    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f&radius_km=10.05", C_LAT, C_LON);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), 2);
    assert_string_equal(site_id(json_array_get(items(&r), 1)), outside);
    it_resp_free(&r);
    free(path);

    /* radius_km at its smallest: nothing within 1 km, so the nearest comes as nearest_beyond. */
    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f&radius_km=1", C_LAT, C_LON);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), 0);
    assert_string_equal(site_id(json_object_get(r.json, "nearest_beyond")), inside);
    it_resp_free(&r);
    free(path);
    free(inside);
    free(outside);
    free(org);
}

/* Drops the table's rule that prison and school sites are never public, so that the service's
 * own exclusion is what is tested (as if a row had come in some other way). */
static void
allow_public_prisons(struct it_server *s)
{
    PQclear(it_sql(s, "DO $$ DECLARE c text; BEGIN"
                      " SELECT conname INTO c FROM pg_constraint"
                      "  WHERE conrelid = 'location'::regclass AND contype = 'c'"
                      "  AND pg_get_constraintdef(oid) LIKE '%prison%'"
                      "  AND pg_get_constraintdef(oid) LIKE '%public%';"
                      " IF c IS NOT NULL THEN"
                      "  EXECUTE format('ALTER TABLE location DROP CONSTRAINT %I', c);"
                      " END IF; END $$"));
}

static void
test_exclusions(void **state)
{
    struct it_server *s = *state;
    char *good_org, *susp, *expired, *future, *pending, *revoked, *archived_org, *nolicence;
    char *good, *excluded[13], *path;
    struct it_resp r;
    size_t i, n = 0;

    wipe(s);
    allow_public_prisons(s);
    good_org = make_org(s, "Good Org", 1);
    susp = make_org_full(s, "Suspended Org", 1, "suspended", -100, 100, 0);
    expired = make_org_full(s, "Expired Org", 1, "active", -400, -1, 0);
    future = make_org_full(s, "Future Org", 1, "active", 1, 400, 0);
    pending = make_org_full(s, "Pending Org", 1, "pending", -10, 400, 0);
    revoked = make_org_full(s, "Revoked Org", 1, "revoked", -10, 400, 0);
    archived_org = make_org_full(s, "Archived Org", 1, "active", -100, 100, 1);
    nolicence = make_org_full(s, "Unlicensed Org", 1, NULL, 0, 0, 0);

    good = make_site(s, good_org, "Good site", 51.381, 0.521);
    excluded[n++] = make_site(s, susp, "Suspended licence", 51.382, 0.522);
    excluded[n++] = make_site(s, expired, "Expired licence", 51.383, 0.523);
    excluded[n++] = make_site(s, future, "Licence not yet valid", 51.383, 0.524);
    excluded[n++] = make_site(s, pending, "Pending licence", 51.384, 0.524);
    excluded[n++] = make_site(s, revoked, "Revoked licence", 51.384, 0.525);
    excluded[n++] = make_site(s, archived_org, "Archived org", 51.385, 0.525);
    excluded[n++] = make_site(s, nolicence, "No licence", 51.385, 0.526);
    excluded[n++] =
        make_site_full(s, good_org, "Inactive", "community", "51.386", "0.526", 1, 0, 0);
    excluded[n++] =
        make_site_full(s, good_org, "Archived site", "community", "51.386", "0.527", 1, 1, 1);
    excluded[n++] = make_site_full(s, good_org, "Prison (flagged public)", "prison", "51.387",
                                   "0.527", 1, 1, 0);
    excluded[n++] = make_site_full(s, good_org, "School (flagged public)", "school", "51.387",
                                   "0.528", 1, 1, 0);
    excluded[n++] =
        make_site_full(s, good_org, "Not public", "family_centre", "51.388", "0.528", 0, 1, 0);
    excluded[n++] = make_site_full(s, good_org, "No coordinates", "health", NULL, NULL, 1, 1, 0);
    assert_int_equal(n, 13);
    /* Every excluded site has an upcoming run, so none is missing for want of one. */
    for (i = 0; i < n; i++) {
        PGresult *res = it_sql(s, "SELECT organisation_id::text FROM location WHERE id = $1::uuid",
                               excluded[i]);
        make_run(s, PQgetvalue(res, 0, 0), excluded[i], 10, 80, "recruiting", 8, 0, 1, 1);
        PQclear(res);
    }

    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f&radius_km=200", C_LAT, C_LON);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), 1);
    assert_string_equal(site_id(json_array_get(items(&r), 0)), good);
    it_resp_free(&r);
    free(path);

    /* Nor does any of them come back as nearest_beyond. */
    PQclear(it_sql(s, "UPDATE location SET active = false WHERE id = $1::uuid", good));
    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f&radius_km=5", C_LAT, C_LON);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), 0);
    assert_true(json_is_null(json_object_get(r.json, "nearest_beyond")));
    it_resp_free(&r);
    free(path);

    for (i = 0; i < n; i++) {
        free(excluded[i]);
    }
    free(good);
    free(good_org);
    free(susp);
    free(expired);
    free(future);
    free(pending);
    free(revoked);
    free(archived_org);
    free(nolicence);
}

static void
test_item_fields_and_runs(void **state)
{
    struct it_server *s = *state;
    static const char *const item_keys[] = {"distance_km", "organisation", "site", "upcoming_runs",
                                            NULL};
    static const char *const site_keys[] = {"id",       "name",          "address_lines",   "town",
                                            "postcode", "accessibility", "takes_enquiries", NULL};
    static const char *const contact_keys[] = {"name", "phone", "email", "website", NULL};
    static const char *const name_only[] = {"name", NULL};
    static const char *const run_keys[] = {"id",
                                           "status",
                                           "started",
                                           "starts_on",
                                           "variant",
                                           "weekday",
                                           "start_time",
                                           "places_left",
                                           "capacity_families",
                                           "accepting_referrals",
                                           "self_referral_allowed",
                                           NULL};
    char *open_org, *quiet_org, *a, *b, *path;
    char d5[16], d20[16], dm10[16];
    struct it_resp r;
    json_t *item, *site, *org, *runs, *run;

    wipe(s);
    open_org = make_org(s, "Open Contact Org", 1);
    quiet_org = make_org(s, "Quiet Org", 0);
    a = make_site(s, open_org, "Open site", 51.3810, 0.5210);
    b = make_site(s, quiet_org, "Quiet site", 51.3900, 0.5300);
    /* Shown: planned in 20 days (8 places, 3 taken), recruiting in 5 days (full), and running
     * since 10 days ago. Not shown: completed, cancelled, a planned run whose start has passed,
     * and a running one that has ended. */
    make_run(s, open_org, a, 20, 100, "planned", 8, 3, 0, 1);
    make_run(s, open_org, a, 5, 90, "recruiting", 6, 6, 1, 0);
    make_run(s, open_org, a, -10, 60, "running", 7, 2, 0, 1);
    make_run(s, open_org, a, -100, -20, "completed", 8, 8, 0, 0);
    make_run(s, open_org, a, 30, 100, "cancelled", 8, 0, 1, 1);
    make_run(s, open_org, a, -1, 60, "planned", 8, 0, 1, 1);
    make_run(s, open_org, a, -60, -1, "running", 8, 5, 1, 1);
    it_day(s, 5, d5, sizeof(d5));
    it_day(s, 20, d20, sizeof(d20));
    it_day(s, -10, dm10, sizeof(dm10));

    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f", C_LAT, C_LON);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), 2);

    item = json_array_get(items(&r), 0);
    assert_keys(item, item_keys);
    site = json_object_get(item, "site");
    assert_keys(site, site_keys);
    assert_string_equal(it_jstr(site, "id"), a);
    assert_string_equal(it_jstr(site, "name"), "Open site");
    assert_string_equal(it_jstr(site, "town"), "Chatham");
    assert_string_equal(it_jstr(site, "postcode"), "ME4 5BA");
    assert_string_equal(it_jstr(site, "accessibility"), "Step-free entrance");
    assert_int_equal(json_array_size(json_object_get(site, "address_lines")), 2);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(site, "address_lines"), 0)),
        "2 Mill Lane");
    org = json_object_get(item, "organisation");
    assert_keys(org, contact_keys);
    assert_string_equal(it_jstr(org, "name"), "Open Contact Org");
    assert_string_equal(it_jstr(org, "phone"), "01634 000111");
    assert_string_equal(it_jstr(org, "email"), "hello@provider.example");
    assert_string_equal(it_jstr(org, "website"), "https://provider.example");

    runs = json_object_get(item, "upcoming_runs");
    assert_int_equal(json_array_size(runs), 3);
    /* Ordered by start: running (started 10 days ago), in 5 days, in 20 days. */
    run = json_array_get(runs, 0);
    assert_keys(run, run_keys);
    assert_string_equal(it_jstr(run, "starts_on"), dm10);
    assert_int_equal(json_integer_value(json_object_get(run, "places_left")), 5);
    assert_int_equal(json_integer_value(json_object_get(run, "capacity_families")), 7);
    run = json_array_get(runs, 1);
    assert_keys(run, run_keys);
    assert_string_equal(it_jstr(run, "starts_on"), d5);
    assert_int_equal(json_integer_value(json_object_get(run, "places_left")), 0);
    assert_int_equal(json_integer_value(json_object_get(run, "capacity_families")), 6);
    assert_true(json_is_false(json_object_get(run, "accepting_referrals")));
    assert_true(json_is_true(json_object_get(run, "self_referral_allowed")));
    run = json_array_get(runs, 2);
    assert_keys(run, run_keys);
    assert_string_equal(it_jstr(run, "starts_on"), d20);
    assert_string_equal(it_jstr(run, "variant"), "standard");
    assert_string_equal(it_jstr(run, "weekday"), "tuesday");
    assert_string_equal(it_jstr(run, "start_time"), "18:30");
    assert_int_equal(json_integer_value(json_object_get(run, "places_left")), 5);
    assert_int_equal(json_integer_value(json_object_get(run, "capacity_families")), 8);
    assert_true(json_is_true(json_object_get(run, "accepting_referrals")));
    assert_true(json_is_false(json_object_get(run, "self_referral_allowed")));

    /* public_contact false: the name only. And no runs: an empty list. */
    item = json_array_get(items(&r), 1);
    assert_string_equal(site_id(item), b);
    assert_keys(json_object_get(item, "organisation"), name_only);
    assert_string_equal(it_jstr(json_object_get(item, "organisation"), "name"), "Quiet Org");
    assert_int_equal(json_array_size(json_object_get(item, "upcoming_runs")), 0);
    /* Nothing internal in the answer. */
    assert_null(strstr(r.body, "organisation_id"));
    assert_null(strstr(r.body, "latitude"));
    assert_null(strstr(r.body, "public_contact"));
    assert_null(strstr(r.body, "families_enrolled"));
    it_resp_free(&r);
    free(path);
    free(a);
    free(b);
    free(open_org);
    free(quiet_org);
}

static void
test_filters(void **state)
{
    struct it_server *s = *state;
    char *org, *s1, *s2, *s3, *path;
    char d60[16], d5[16];
    struct it_resp r;
    json_t *runs;

    wipe(s);
    org = make_org(s, "Filter Org", 1);
    s1 = make_site(s, org, "Self-referral site", 51.3810, 0.5210);
    s2 = make_site(s, org, "Soon site", 51.3850, 0.5250);
    s3 = make_site(s, org, "Quiet site", 51.3900, 0.5300);
    make_run(s, org, s1, 60, 140, "recruiting", 8, 1, 1, 1);
    make_run(s, org, s1, 90, 170, "planned", 8, 0, 0, 1);
    make_run(s, org, s2, 5, 85, "recruiting", 8, 0, 0, 1);
    it_day(s, 60, d60, sizeof(d60));
    it_day(s, 5, d5, sizeof(d5));

    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f", C_LAT, C_LON);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), 3);
    it_resp_free(&r);
    free(path);

    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f&with_upcoming=true", C_LAT, C_LON);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), 2);
    assert_true(lists(&r, s1) && lists(&r, s2) && !lists(&r, s3));
    it_resp_free(&r);
    free(path);

    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f&with_upcoming=false", C_LAT, C_LON);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), 3);
    it_resp_free(&r);
    free(path);

    /* self_referral=true: the site with such a run, showing only such runs. */
    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f&self_referral=true", C_LAT, C_LON);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), 1);
    assert_string_equal(site_id(json_array_get(items(&r), 0)), s1);
    runs = json_object_get(json_array_get(items(&r), 0), "upcoming_runs");
    assert_int_equal(json_array_size(runs), 1);
    assert_string_equal(it_jstr(json_array_get(runs, 0), "starts_on"), d60);
    it_resp_free(&r);
    free(path);

    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f&self_referral=false", C_LAT, C_LON);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), 3);
    it_resp_free(&r);
    free(path);

    /* starting_within_days: runs starting from today to today + N. */
    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f&starting_within_days=10", C_LAT, C_LON);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), 1);
    assert_string_equal(site_id(json_array_get(items(&r), 0)), s2);
    runs = json_object_get(json_array_get(items(&r), 0), "upcoming_runs");
    assert_int_equal(json_array_size(runs), 1);
    assert_string_equal(it_jstr(json_array_get(runs, 0), "starts_on"), d5);
    it_resp_free(&r);
    free(path);

    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f&starting_within_days=60", C_LAT, C_LON);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), 2);
    assert_int_equal(
        json_array_size(json_object_get(json_array_get(items(&r), 0), "upcoming_runs")), 1);
    it_resp_free(&r);
    free(path);

    /* Both filters at once: no run passes both, anywhere: empty, and nothing beyond either. */
    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f&starting_within_days=10"
                  "&self_referral=true",
                  C_LAT, C_LON);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), 0);
    assert_true(json_is_null(json_object_get(r.json, "nearest_beyond")));
    it_resp_free(&r);
    free(path);

    /* The filters hold for nearest_beyond too: from far away, the nearest self-referral site. */
    path =
        it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f&radius_km=5&self_referral=true", 52.0, 0.1);
    search(s, path, &r);
    assert_int_equal(json_array_size(items(&r)), 0);
    assert_string_equal(site_id(json_object_get(r.json, "nearest_beyond")), s1);
    it_resp_free(&r);
    free(path);
    free(s1);
    free(s2);
    free(s3);
    free(org);
}

static void
test_postcode_search(void **state)
{
    struct it_server *s = *state;
    char *org, *near, *far;
    struct it_resp r, ll;
    double d;

    wipe(s);
    org = make_org(s, "Postcode Org", 1);
    near = make_site(s, org, "Near", 51.3850, 0.5150);
    far = make_site(s, org, "Far", 51.4500, 0.7000);

    /* A full postcode, in any case and spacing, gives what its coordinates give. */
    search(s, "/v1/public/providers?postcode=me4%204ab", &r);
    it_get(s, "/v1/public/providers?lat=51.38&lon=0.52", NULL, &ll);
    it_assert_status(&ll, 200);
    assert_string_equal(r.body, ll.body);
    assert_int_equal(json_array_size(items(&r)), 2);
    assert_string_equal(site_id(json_array_get(items(&r), 0)), near);
    it_resp_free(&r);
    it_resp_free(&ll);
    search(s, "/v1/public/providers?postcode=ME44AB&radius_km=25", &r);
    assert_int_equal(json_array_size(items(&r)), 2);
    it_resp_free(&r);

    /* An outward code alone searches from its district's centroid (51.37, 0.54). */
    search(s, "/v1/public/providers?postcode=me4", &r);
    assert_int_equal(json_array_size(items(&r)), 2);
    d = json_number_value(json_object_get(json_array_get(items(&r), 0), "distance_km"));
    assert_true(fabs(d - haversine_km(51.37, 0.54, 51.3850, 0.5150, ED_R_KM)) <= 0.0051);
    d = json_number_value(json_object_get(json_array_get(items(&r), 1), "distance_km"));
    assert_true(fabs(d - haversine_km(51.37, 0.54, 51.4500, 0.7000, ED_R_KM)) <= 0.0051);
    it_resp_free(&r);
    search(s, "/v1/public/providers?postcode=ME4%20", &r);
    assert_int_equal(json_array_size(items(&r)), 2);
    it_resp_free(&r);

    /* Valid forms that are not in the directory: 404, saying so. */
    it_get(s, "/v1/public/providers?postcode=ME4%209ZZ", NULL, &r);
    it_assert_problem(&r, 404);
    assert_non_null(strstr(it_json_str(&r, "detail"), "postcode"));
    it_resp_free(&r);
    it_get(s, "/v1/public/providers?postcode=ZZ9", NULL, &r);
    it_assert_problem(&r, 404);
    assert_non_null(strstr(it_json_str(&r, "detail"), "postcode"));
    it_resp_free(&r);

    /* From Shetland (ZE2 9QA) nothing lies within 25 km: the nearest comes as nearest_beyond. */
    search(s, "/v1/public/providers?postcode=ZE2%209QA", &r);
    assert_int_equal(json_array_size(items(&r)), 0);
    assert_string_equal(site_id(json_object_get(r.json, "nearest_beyond")), far);
    it_resp_free(&r);
    free(near);
    free(far);
    free(org);
}

static void
test_nearest_beyond(void **state)
{
    struct it_server *s = *state;
    char *org, *a, *b;
    struct it_resp r;
    json_t *nb;
    double d;

    wipe(s);
    /* Nothing at all: null. */
    search(s, "/v1/public/providers?lat=60.40&lon=-1.25&radius_km=5", &r);
    assert_int_equal(json_array_size(items(&r)), 0);
    assert_true(json_is_null(json_object_get(r.json, "nearest_beyond")));
    it_resp_free(&r);

    org = make_org(s, "Northern Org", 0);
    a = make_site(s, org, "Lerwick", 60.1550, -1.1450);
    b = make_site(s, org, "Kirkwall", 58.9810, -2.9600);
    make_run(s, org, a, 14, 90, "recruiting", 8, 2, 1, 1);

    search(s, "/v1/public/providers?lat=60.40&lon=-1.25&radius_km=5", &r);
    assert_int_equal(json_array_size(items(&r)), 0);
    nb = json_object_get(r.json, "nearest_beyond");
    assert_true(json_is_object(nb));
    assert_string_equal(site_id(nb), a);
    d = json_number_value(json_object_get(nb, "distance_km"));
    assert_true(d > 5);
    assert_true(fabs(d - haversine_km(60.40, -1.25, 60.1550, -1.1450, ED_R_KM)) <= 0.0051);
    /* The same shape as an item, runs included. */
    assert_string_equal(it_jstr(json_object_get(nb, "organisation"), "name"), "Northern Org");
    assert_int_equal(json_array_size(json_object_get(nb, "upcoming_runs")), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(nb, "upcoming_runs"), 0), "places_left")),
                     6);
    it_resp_free(&r);

    /* Something within the radius: nearest_beyond is null. */
    search(s, "/v1/public/providers?lat=60.40&lon=-1.25&radius_km=50", &r);
    assert_int_equal(json_array_size(items(&r)), 1);
    assert_true(json_is_null(json_object_get(r.json, "nearest_beyond")));
    it_resp_free(&r);
    free(a);
    free(b);
    free(org);
}

static void
test_bad_requests(void **state)
{
    struct it_server *s = *state;
    struct it_resp r;

    it_expect_gets(s, NULL, 400, "/v1/public/providers", "", "?radius_km=10",
                   "?postcode=NOT%20A%20POSTCODE", "?postcode=12345",
                   "?postcode=", "?postcode=ME4%204AB%3B", "?postcode=ME4%204AB&lat=51.38&lon=0.52",
                   "?postcode=ME4%204AB&lat=51.38", "?lat=51.38", "?lon=0.52", "?lat=abc&lon=0.52",
                   "?lat=51.38&lon=", "?lat=1e1&lon=0.52", "?lat=nan&lon=0.52", "?lat=95&lon=0.52",
                   "?lat=51.38&lon=-190", "?lat=40.0&lon=0.52", "?lat=51.38&lon=-20",
                   "?lat=62&lon=0", "?lat=51.38&lon=0.52&radius_km=0",
                   "?lat=51.38&lon=0.52&radius_km=0.5", "?lat=51.38&lon=0.52&radius_km=201",
                   "?lat=51.38&lon=0.52&radius_km=ten", "?lat=51.38&lon=0.52&limit=0",
                   "?lat=51.38&lon=0.52&limit=51", "?lat=51.38&lon=0.52&limit=2.5",
                   "?lat=51.38&lon=0.52&self_referral=yes", "?lat=51.38&lon=0.52&with_upcoming=1",
                   "?lat=51.38&lon=0.52&starting_within_days=-1",
                   "?lat=51.38&lon=0.52&starting_within_days=soon", "?lat=51.38&lon=0.52&near=me",
                   "?lat=51.38&lon=0.52&lat=51.39", NULL);
    /* The edges themselves are fine. */
    search(s, "/v1/public/providers?lat=49&lon=-11&radius_km=1&limit=1", &r);
    it_resp_free(&r);
    search(s, "/v1/public/providers?lat=61.5&lon=2.5&radius_km=200&limit=50", &r);
    it_resp_free(&r);
}

/* A provider search carries a family's postcode or position in its URL: its answer may be kept
 * by the browser only (Cache-Control: private), never by a shared cache, while the register stays
 * public. A run with a suspended or withdrawn facilitator is listed but not advertised as taking
 * referrals; replacing the facilitator advertises it again. */
static void
test_private_cache_and_runs_at_risk(void **state)
{
    struct it_server *s = *state;
    char *org, *site, *path;
    struct it_resp r;
    json_t *runs;
    PGresult *res;
    char run[40], ok_fac[40], bad_fac[40];

    wipe(s);
    org = make_org(s, "Risk Org", 1);
    site = make_site(s, org, "Risk site", 51.3810, 0.5210);
    make_run(s, org, site, 20, 100, "recruiting", 8, 2, 0, 1);
    IT_SQL_VALUE(run, s, "SELECT id::text FROM programme_run WHERE location_id = $1::uuid", site);
    res = it_sql(s, "INSERT INTO facilitator (given_name, family_name, status) VALUES"
                    " ('Ok', 'One', 'accredited'), ('Bad', 'Two', 'suspended')"
                    " RETURNING id::text");
    snprintf(ok_fac, sizeof(ok_fac), "%s", PQgetvalue(res, 0, 0));
    snprintf(bad_fac, sizeof(bad_fac), "%s", PQgetvalue(res, 1, 0));
    PQclear(res);
    PQclear(it_sql(s,
                   "INSERT INTO programme_facilitator (run_id, facilitator_id) VALUES"
                   " ($1::uuid, $2::uuid), ($1::uuid, $3::uuid)",
                   run, ok_fac, bad_fac));

    path = it_fmt("/v1/public/providers?lat=%.4f&lon=%.4f", C_LAT, C_LON);
    search(s, path, &r);
    it_assert_header(&r, "Cache-Control", "private");
    assert_null(strstr(it_header(&r, "Cache-Control"), "public"));
    assert_non_null(it_header(&r, "ETag"));
    runs = json_object_get(json_array_get(items(&r), 0), "upcoming_runs");
    assert_int_equal(json_array_size(runs), 1);
    assert_true(json_is_false(json_object_get(json_array_get(runs, 0), "accepting_referrals")));
    it_resp_free(&r);
    /* The same with a postcode. */
    search(s, "/v1/public/providers?postcode=ME4%204AB", &r);
    it_assert_header(&r, "Cache-Control", "private");
    it_resp_free(&r);

    /* Withdrawn is at risk too; a facilitator in good standing is not. */
    PQclear(it_sql(s, "UPDATE facilitator SET status = 'withdrawn' WHERE id = $1::uuid", bad_fac));
    search(s, path, &r);
    runs = json_object_get(json_array_get(items(&r), 0), "upcoming_runs");
    assert_true(json_is_false(json_object_get(json_array_get(runs, 0), "accepting_referrals")));
    it_resp_free(&r);
    PQclear(it_sql(s,
                   "DELETE FROM programme_facilitator WHERE run_id = $1::uuid"
                   " AND facilitator_id = $2::uuid",
                   run, bad_fac));
    search(s, path, &r);
    runs = json_object_get(json_array_get(items(&r), 0), "upcoming_runs");
    assert_true(json_is_true(json_object_get(json_array_get(runs, 0), "accepting_referrals")));
    it_resp_free(&r);
    free(path);
    free(site);
    free(org);
}

/* ---- The public register --------------------------------------------------------------------- */

/* A facilitator with private details; `until_off` days from today for accredited_until (or
 * none when NULL). Returns the registration number (malloc'd). */
static char *
make_fac(struct it_server *s,
         const char *given,
         const char *family,
         const char *status,
         const char *until_off)
{
    char *number;

    number = it_sql_text(s,
                         "INSERT INTO facilitator (given_name, family_name, email, phone, status,"
                         " accredited_on, accredited_until)"
                         " VALUES ($1, $2, 'private.person@example.org', '07700 900123', $3,"
                         " CASE WHEN $4::int IS NULL THEN NULL ELSE DATE '2015-01-01' END,"
                         " registry_today() + $4::int) RETURNING registration_number",
                         given, family, status, until_off);
    return number;
}

static void
employ(struct it_server *s, const char *number, const char *org, int ended)
{
    PQclear(it_sql(s,
                   "INSERT INTO facilitator_employment (facilitator_id, organisation_id,"
                   " started_on, ended_on) SELECT id, $2::uuid, DATE '2020-01-01',"
                   " CASE WHEN $3::boolean THEN DATE '2021-01-01' END"
                   " FROM facilitator WHERE registration_number = $1",
                   number, org, ended ? "true" : "false"));
}

static void
get_fac(struct it_server *s, const char *number, struct it_resp *r)
{
    char *path = it_fmt("/v1/public/facilitators/%s", number);

    it_get(s, path, NULL, r);
    free(path);
}

static void
test_register_get(void **state)
{
    struct it_server *s = *state;
    static const char *const keys[] = {
        "given_name",       "family_name", "registration_number", "status",
        "accredited_until", "may_deliver", "organisation",        NULL};
    static const char *const org_keys[] = {"name", "town", NULL};
    char *org, *gone, *acc, *lapsed, *susp, *wd, *training, *left, *lower, *path;
    char *unlicensed, *never, *idle, *unlic_org;
    char until[16];
    struct it_resp r;
    char fid[40];
    size_t i;

    wipe(s);
    org = make_org(s, "Medway Family Recovery", 0);
    gone = make_org_full(s, "Closed Charity", 1, "active", -100, 100, 1);
    acc = make_fac(s, "Siân", "Jones", "accredited", "200");
    lapsed = make_fac(s, "Tom", "Lapsed", "accredited", "-1");
    susp = make_fac(s, "Sam", "Paused", "suspended", "300");
    wd = make_fac(s, "Will", "Gone", "withdrawn", "-10");   /* accredited until ten days ago */
    never = make_fac(s, "Nia", "Never", "withdrawn", NULL); /* withdrawn while in training */
    training = make_fac(s, "Tia", "Trainee", "in_training", NULL);
    left = make_fac(s, "Lee", "Leaver", "accredited", "100");
    unlic_org = make_org_full(s, "Suspended Licensee", 0, "suspended", -100, 100, 0);
    unlicensed = make_fac(s, "Una", "Licensed", "accredited", "100");
    idle = make_fac(s, "Ivo", "Idle", "accredited", "100");
    employ(s, acc, org, 0);
    employ(s, lapsed, gone, 0);
    employ(s, left, org, 1);
    employ(s, unlicensed, unlic_org, 0);
    it_day(s, 200, until, sizeof(until));

    get_fac(s, acc, &r);
    it_assert_status(&r, 200);
    assert_keys(r.json, keys);
    it_assert_strs(&r, IT_ROW("given_name", "Siân", "family_name", "Jones", "registration_number",
                              acc, "status", "accredited", "accredited_until", until));
    assert_true(json_is_true(json_object_get(r.json, "may_deliver")));
    assert_keys(json_object_get(r.json, "organisation"), org_keys);
    assert_string_equal(it_jstr(json_object_get(r.json, "organisation"), "name"),
                        "Medway Family Recovery");
    assert_string_equal(it_jstr(json_object_get(r.json, "organisation"), "town"), "Chatham");
    /* Nothing private: no email, phone, ids or history. */
    IT_SQL_VALUE(fid, s, "SELECT id::text FROM facilitator WHERE registration_number = $1", acc);
    assert_null(strstr(r.body, "private.person"));
    assert_null(strstr(r.body, "07700"));
    assert_null(strstr(r.body, fid));
    assert_null(strstr(r.body, org));
    assert_null(strstr(r.body, "history"));
    assert_null(strstr(r.body, "accredited_on"));
    it_resp_free(&r);

    /* Case-insensitive number. */
    lower = strdup(acc);
    for (i = 0; lower[i] != '\0'; i++) {
        lower[i] = (char)tolower((unsigned char)lower[i]);
    }
    get_fac(s, lower, &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "registration_number"), acc);
    it_resp_free(&r);

    /* Lapsed (computed), with an archived employer shown as none. */
    get_fac(s, lapsed, &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "lapsed");
    assert_true(json_is_null(json_object_get(r.json, "organisation")));
    it_resp_free(&r);
    get_fac(s, susp, &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "suspended");
    assert_true(json_is_null(json_object_get(r.json, "organisation")));
    assert_true(json_is_false(json_object_get(r.json, "may_deliver")));
    it_resp_free(&r);
    get_fac(s, wd, &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "withdrawn");
    assert_true(json_is_false(json_object_get(r.json, "may_deliver")));
    it_resp_free(&r);
    /* Accredited, but their employer's licence is suspended, or nobody employs them: they
     * cannot deliver M-PACT at present. */
    get_fac(s, unlicensed, &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "accredited");
    assert_string_equal(it_jstr(json_object_get(r.json, "organisation"), "name"),
                        "Suspended Licensee");
    assert_true(json_is_false(json_object_get(r.json, "may_deliver")));
    it_resp_free(&r);
    get_fac(s, idle, &r);
    it_assert_status(&r, 200);
    assert_true(json_is_false(json_object_get(r.json, "may_deliver")));
    it_resp_free(&r);
    /* A past employer is not the current one. */
    get_fac(s, left, &r);
    it_assert_status(&r, 200);
    assert_true(json_is_null(json_object_get(r.json, "organisation")));
    it_resp_free(&r);

    /* Not on the register: in training, withdrawn without ever being accredited, unknown,
     * malformed. */
    get_fac(s, training, &r);
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    get_fac(s, never, &r);
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    get_fac(s, "MPF-999999", &r);
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    get_fac(s, "MPF%20000001%27%3B", &r);
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    path = it_fmt("MPF-%s", "0000000000000000000000000000000000000001");
    get_fac(s, path, &r);
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    free(path);

    free(org);
    free(gone);
    free(acc);
    free(lapsed);
    free(susp);
    free(wd);
    free(training);
    free(left);
    free(lower);
    free(unlicensed);
    free(never);
    free(idle);
    free(unlic_org);
}

static void
find_names(struct it_server *s, const char *query, struct it_resp *r)
{
    char *path = it_fmt("/v1/public/facilitators?name=%s", query);

    it_get(s, path, NULL, r);
    it_assert_status(r, 200);
    assert_int_equal(json_object_size(r->json), 1);
    assert_true(json_is_array(json_object_get(r->json, "items")));
    free(path);
}

/* The registration numbers in a search answer, comma-separated, into buf. */
static const char *
numbers(struct it_resp *r, char *buf, size_t len)
{
    json_t *it;
    size_t i, used = 0;

    buf[0] = '\0';
    json_array_foreach(items(r), i, it)
    {
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i > 0 ? "," : "",
                                 it_jstr(it, "registration_number"));
    }
    return buf;
}

static void
test_register_search(void **state)
{
    struct it_server *s = *state;
    static const char *const keys[] = {
        "given_name",       "family_name", "registration_number", "status",
        "accredited_until", "may_deliver", "organisation",        NULL};
    char *org, *sj, *se, *sb, *st, *ap, *want, buf[1024];
    struct it_resp r;
    json_t *it;
    size_t i;
    int k;

    wipe(s);
    org = make_org(s, "Cardiff Families", 1);
    sj = make_fac(s, "Siân", "Jones", "accredited", "300");
    se = make_fac(s, "SIAN", "Évans", "suspended", "300");
    sb = make_fac(s, "Bethan", "Siani", "accredited", "-5");
    st = make_fac(s, "Sian", "Trainee", "in_training", NULL);
    ap = make_fac(s, "Ab%_c", "Literal", "accredited", "10");
    employ(s, sj, org, 0);

    /* Accents and case ignored; in training left out; by family name, then given name. */
    find_names(s, "sian", &r);
    want = it_fmt("%s,%s,%s", se, sj, sb);
    assert_string_equal(numbers(&r, buf, sizeof(buf)), want);
    free(want);
    json_array_foreach(items(&r), i, it)
    {
        assert_keys(it, keys);
    }
    it = json_array_get(items(&r), 1);
    assert_string_equal(it_jstr(it, "given_name"), "Siân");
    assert_string_equal(it_jstr(json_object_get(it, "organisation"), "name"), "Cardiff Families");
    assert_true(json_is_null(json_object_get(json_array_get(items(&r), 0), "organisation")));
    assert_string_equal(it_jstr(json_array_get(items(&r), 2), "status"), "lapsed");
    assert_null(strstr(r.body, "private.person"));
    assert_null(strstr(r.body, "07700"));
    it_resp_free(&r);

    find_names(s, "Si%C3%A2N", &r); /* SiâN */
    assert_int_equal(json_array_size(items(&r)), 3);
    it_resp_free(&r);
    find_names(s, "EVANS", &r);
    assert_string_equal(numbers(&r, buf, sizeof(buf)), se);
    it_resp_free(&r);
    find_names(s, "%C3%A9vans%20sian", &r); /* évans sian: family name first */
    assert_string_equal(numbers(&r, buf, sizeof(buf)), se);
    it_resp_free(&r);
    find_names(s, "%20%20Sian%20%20%20Jones%20", &r); /* spaces trimmed and squeezed */
    assert_string_equal(numbers(&r, buf, sizeof(buf)), sj);
    it_resp_free(&r);
    find_names(s, "Trainee", &r);
    assert_int_equal(json_array_size(items(&r)), 0);
    it_resp_free(&r);
    find_names(s, "xyz", &r);
    assert_int_equal(json_array_size(items(&r)), 0);
    it_resp_free(&r);
    /* LIKE's wildcards are plain characters. */
    find_names(s, "%25%25%25", &r);
    assert_int_equal(json_array_size(items(&r)), 0);
    it_resp_free(&r);
    find_names(s, "___", &r);
    assert_int_equal(json_array_size(items(&r)), 0);
    it_resp_free(&r);
    find_names(s, "ab%25_", &r);
    assert_string_equal(numbers(&r, buf, sizeof(buf)), ap);
    it_resp_free(&r);

    /* At most 20 results, in order. */
    for (k = 0; k < 25; k++) {
        char given[16];
        snprintf(given, sizeof(given), "Name%02d", 24 - k);
        free(make_fac(s, given, "Smithson", "accredited", "50"));
    }
    find_names(s, "smithson", &r);
    assert_int_equal(json_array_size(items(&r)), 20);
    for (i = 0; i < 20; i++) {
        char given[16];
        snprintf(given, sizeof(given), "Name%02zu", i);
        assert_string_equal(it_jstr(json_array_get(items(&r), i), "given_name"), given);
    }
    it_resp_free(&r);

    /* Fewer than 3 characters after trimming, none, or unknown parameters: 400. */
    {
        it_expect_gets(s, NULL, 400, "/v1/public/facilitators", "", "?name=", "?name=ab",
                       "?name=%20%20ab%20%20", "?name=%C3%A2b", "?nom=sian", "?name=sian&x=1",
                       "?name=sian&name=jones", NULL);
    }
    /* Three characters, one of them accented, are enough. */
    find_names(s, "Si%C3%A2", &r);
    assert_int_equal(json_array_size(items(&r)), 3);
    it_resp_free(&r);

    free(org);
    free(sj);
    free(se);
    free(sb);
    free(st);
    free(ap);
}

TEST_MAIN(setup,
          it_teardown,
          cmocka_unit_test(test_distance_order),
          cmocka_unit_test(test_radius_edge),
          cmocka_unit_test(test_distance_text),
          cmocka_unit_test(test_exclusions),
          cmocka_unit_test(test_item_fields_and_runs),
          cmocka_unit_test(test_filters),
          cmocka_unit_test(test_postcode_search),
          cmocka_unit_test(test_nearest_beyond),
          cmocka_unit_test(test_bad_requests),
          cmocka_unit_test(test_private_cache_and_runs_at_risk),
          cmocka_unit_test(test_register_get),
          cmocka_unit_test(test_register_search))
