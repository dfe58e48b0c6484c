/* it_public_visible.c: the sites a family may see (public_site, migration 0035) follow every
 * change at once, through the API where there is a route for it: a site turned private and
 * public again, a licence suspended and reinstated, a licence lapsing by the calendar (its row
 * unchanged but for its date), an organisation archived, a site moved, deleted, or added in bulk.
 * After each step the finder's answer is checked, and public_site is checked against the rule
 * computed from the base tables (no row missing, none extra, every stored value current). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"

#define PASSWORD "correct horse battery staple"
#define NEAR     "/v1/public/providers?lat=51.3800&lon=0.5200&radius_km=25"

struct fx {
    IT_FX_HEAD;
};

static const char *const no_limit_env[] = {"REGISTRY_PUBLIC_RATE_LIMIT=0", NULL};

static int
setup(void **state)
{
    *state = it_fx_start(sizeof(struct fx), "public_visible", no_limit_env, "admin@example.org",
                         PASSWORD, 0);
    return 0;
}

/* The number of rows by which public_site differs from the rule computed from the base tables
 * (a row missing, one too many, or one whose organisation, point or licence window is stale). */
static long
drift(struct it_server *s)
{
    return it_count(
        s, "WITH want AS (SELECT l.id AS location_id, l.organisation_id,"
           " registry_earth(l.latitude, l.longitude) AS earth, li.valid_from, li.valid_until"
           " FROM location l JOIN organisation o ON o.id = l.organisation_id"
           " JOIN licence li ON li.organisation_id = o.id AND li.status = 'active'"
           " WHERE l.active AND l.public AND l.archived_at IS NULL"
           " AND l.kind NOT IN ('prison', 'school') AND l.latitude IS NOT NULL"
           " AND o.archived_at IS NULL),"
           " have AS (SELECT location_id, organisation_id, earth, licensed_from AS valid_from,"
           " licensed_until AS valid_until FROM public_site)"
           " SELECT (SELECT count(*) FROM (SELECT * FROM want EXCEPT SELECT * FROM have) a)"
           " + (SELECT count(*) FROM (SELECT * FROM have EXCEPT SELECT * FROM want) b)");
}

/* The site ids the finder lists near Chatham, in its order, comma-separated (malloc'd). */
static char *
listed(struct it_server *s)
{
    struct it_resp r;
    struct it_buf b = {0};
    json_t *item;
    size_t i;

    it_get(s, NEAR, NULL, &r);
    it_assert_status(&r, 200);
    json_array_foreach(json_object_get(r.json, "items"), i, item)
    {
        const char *id = it_jstr(json_object_get(item, "site"), "id");

        assert_non_null(id);
        if (i > 0) {
            it_buf_add(&b, ",", 1);
        }
        it_buf_add(&b, id, strlen(id));
    }
    it_resp_free(&r);
    if (b.p == NULL) {
        b.p = strdup("");
    }
    return b.p;
}

/* Fails unless the finder lists exactly the ids that printf makes of `fmt` (comma-separated,
 * nearest first) and public_site matches the rule. */
static void expect(struct it_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
expect(struct it_server *s, const char *fmt, ...)
{
    char want[512], *got = listed(s);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(want, sizeof(want), fmt, ap);
    va_end(ap);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(drift(s), 0);
}

/* A public community site of `org` at lat/lon, written with SQL. Returns its id (malloc'd). */
static char *
site(struct it_server *s, const char *org, const char *name, const char *lat, const char *lon)
{
    return it_sql_text(s,
                       "INSERT INTO location (organisation_id, name, kind, address_lines, town,"
                       " postcode, latitude, longitude, public)"
                       " VALUES ($1::uuid, $2, 'community', '[\"2 Mill Lane\"]', 'Chatham',"
                       " 'ME4 5BA', $3::float8, $4::float8, true) RETURNING id::text",
                       org, name, lat, lon);
}

/* PATCHes `path` (an /v1/... address) with `json` as the admin, with its current ETag; expects
 * 200. */
static void
patch(struct fx *f, const char *path, const char *json)
{
    char *etag = it_etag_of(f->s, f->admin, "%s", path);

    it_expectf(f->s, "PATCH", f->admin, etag, json, 200, "%s", path);
    free(etag);
}

static void
test_follows_every_change(void **state)
{
    struct fx *f = *state;
    struct it_server *s = f->s;
    char from[16], until[16], *xmin, *org, *other, *lic, *a, *b, *c, *ab, *ba, *path;

    it_day(s, -10, from, sizeof(from));
    it_day(s, 300, until, sizeof(until));
    org = it_create_org(s, f->admin, NULL, NULL, "Visible Org");
    other = it_create_org(s, f->admin, NULL, NULL, "Other Org");
    lic = it_issue_licence(s, f->admin, org, from, until, "granted", "active", NULL);
    free(it_issue_licence(s, f->admin, other, from, until, "granted", "active", NULL));
    a = site(s, org, "Site A", "51.3810", "0.5210");
    b = site(s, org, "Site B", "51.3900", "0.5300");
    c = site(s, other, "Site C", "51.4500", "0.6000");
    ab = it_fmt("%s,%s", a, b);
    ba = it_fmt("%s,%s", b, a);
    expect(s, "%s,%s", ab, c);

    /* A site turned private is gone at once, and back when public again. */
    path = it_fmt("/v1/locations/%s", a);
    patch(f, path, "{\"public\": false}");
    expect(s, "%s,%s", b, c);
    patch(f, path, "{\"public\": true}");
    expect(s, "%s,%s", ab, c);
    free(path);

    /* Inactive, then active again. */
    PQclear(it_sql(s, "UPDATE location SET active = false WHERE id = $1::uuid", b));
    expect(s, "%s,%s", a, c);
    PQclear(it_sql(s, "UPDATE location SET active = true WHERE id = $1::uuid", b));
    expect(s, "%s,%s", ab, c);

    /* A site moved: its stored point follows (B now nearer than A). */
    PQclear(it_sql(s,
                   "UPDATE location SET latitude = 51.3801, longitude = 0.5201"
                   " WHERE id = $1::uuid",
                   b));
    expect(s, "%s,%s", ba, c);

    /* The licence suspended (through the API): every site of the organisation goes at once;
     * reinstated, they come back. */
    path = it_fmt("/v1/licences/%s", lic);
    patch(f, path, "{\"status\": \"suspended\", \"reason\": \"audit\"}");
    expect(s, "%s", c);
    patch(f, path, "{\"status\": \"active\", \"reason\": \"audit passed\"}");
    expect(s, "%s,%s", ba, c);
    free(path);

    /* The licence lapsing by the calendar: nothing but the date changes; its window is kept and
     * the search compares it with today. A licence that starts tomorrow is not yet shown. */
    PQclear(it_sql(s, "UPDATE licence SET valid_until = registry_today() - 1 WHERE id = $1::uuid",
                   lic));
    expect(s, "%s", c);
    assert_int_equal(
        it_count(s, "SELECT count(*) FROM public_site WHERE organisation_id = $1::uuid", org), 2);
    PQclear(it_sql(s,
                   "UPDATE licence SET valid_from = registry_today() + 1,"
                   " valid_until = registry_today() + 300 WHERE id = $1::uuid",
                   lic));
    expect(s, "%s", c);
    PQclear(it_sql(s, "UPDATE licence SET valid_from = registry_today() WHERE id = $1::uuid", lic));
    expect(s, "%s,%s", ba, c);

    /* The organisation archived: its sites are gone at once (the API refuses to archive an
     * organisation while it holds an open licence, so this is written with SQL, as an archive
     * with a licence still open would be); brought back, they return. */
    PQclear(it_sql(s, "UPDATE organisation SET archived_at = now() WHERE id = $1::uuid", org));
    expect(s, "%s", c);
    assert_int_equal(
        it_count(s, "SELECT count(*) FROM public_site WHERE organisation_id = $1::uuid", org), 0);
    PQclear(it_sql(s, "UPDATE organisation SET archived_at = NULL WHERE id = $1::uuid", org));
    expect(s, "%s,%s", ba, c);

    /* An edit that changes nothing the search reads leaves public_site's row as it was (the
     * same row version: no dead tuple, no index churn). */
    xmin = it_sql_text(s, "SELECT xmin::text FROM public_site WHERE location_id = $1::uuid", a);
    PQclear(it_sql(s, "UPDATE location SET name = 'Site A, renamed' WHERE id = $1::uuid", a));
    expect(s, "%s,%s", ba, c);
    it_assert_row(s, IT_ROW(xmin),
                  "SELECT xmin::text FROM public_site WHERE location_id = $1::uuid", a);
    free(xmin);

    /* A site deleted goes with its row; sites added in bulk appear in one statement. */
    PQclear(it_sql(s, "DELETE FROM location WHERE id = $1::uuid", c));
    expect(s, "%s", ba);
    PQclear(it_sql(s,
                   "INSERT INTO location (organisation_id, name, kind, address_lines, town,"
                   " postcode, latitude, longitude, public)"
                   " SELECT $1::uuid, 'Bulk ' || g, 'community', '[\"1 Road\"]', 'Chatham',"
                   " 'ME4 5BA', 51.38 + g / 1000.0, 0.52, g % 2 = 0"
                   " FROM generate_series(1, 30) g",
                   other));
    assert_int_equal(
        it_count(s, "SELECT count(*) FROM public_site WHERE organisation_id = $1::uuid", other),
        15);
    assert_int_equal(drift(s), 0);

    free(ab);
    free(ba);
    free(a);
    free(b);
    free(c);
    free(lic);
    free(org);
    free(other);
}

TEST_MAIN(setup, it_fx_teardown, cmocka_unit_test(test_follows_every_change))
