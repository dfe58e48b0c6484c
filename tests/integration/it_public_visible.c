/* it_public_visible.c: the sites a family may see (public_site, migration 0035) follow every
 * change at once, through the API where there is a route for it: a site turned private and
 * public again, a licence suspended and reinstated, a licence lapsing by the calendar (its row
 * unchanged but for its date), an organisation archived, a site moved, deleted, or added in bulk.
 * After each step the finder's answer is checked, and public_site is checked against the rule
 * computed from the base tables (no row missing, none extra, every stored value current).
 *
 * Each site's answer is kept in public_site too (its card, migration 0040): after each change to
 * what a card shows (a site renamed, its organisation's name, contact details or enquiries, a run
 * created, moved, rescheduled, filled, closed to referrals, cancelled or deleted, a facilitator
 * suspended and reinstated or taken off a run) every item the finder lists is compared with the
 * same item computed from the base tables as the search computed it before the cards
 * (programme_at_risk() for the at-risk test, the runs read from programme_run). */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"

#define PASSWORD "correct horse battery staple"
#define NEAR     "/v1/public/providers?lat=51.3800&lon=0.5200&radius_km=25"
#define FAR      "/v1/public/providers?lat=52.2000&lon=0.1200&radius_km=5"

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

/* The item of site `id` (organisation, site, upcoming_runs) as the search computed it before the
 * cards, from the base tables. */
#define OLD_ITEM                                                                                   \
    "SELECT json_build_object('organisation', CASE WHEN o.public_contact THEN"                     \
    " json_build_object('name', o.name, 'phone', o.phone, 'email', o.email, 'website', o.website)" \
    " ELSE json_build_object('name', o.name) END, 'site', json_build_object('id', l.id, 'name',"   \
    " l.name, 'address_lines', l.address_lines, 'town', l.town, 'postcode', l.postcode,"           \
    " 'accessibility', l.accessibility, 'takes_enquiries', o.enquiries_enabled AND"                \
    " o.enquiry_email IS NOT NULL), 'upcoming_runs', (SELECT coalesce(json_agg(json_build_object(" \
    "'id', r.id, 'status', r.status, 'started', r.starts_on <= registry_today(), 'starts_on',"     \
    " r.starts_on, 'variant', r.variant, 'weekday', r.weekday, 'start_time', to_char("             \
    "r.start_time, 'HH24:MI'), 'places_left', greatest(r.capacity_families - r.families_enrolled," \
    " 0), 'capacity_families', r.capacity_families, 'accepting_referrals', r.accepting_referrals"  \
    " AND programme_at_risk(r.id) = '[]'::jsonb, 'self_referral_allowed',"                         \
    " r.self_referral_allowed) ORDER BY r.starts_on, r.start_time NULLS LAST, r.id), '[]') FROM"   \
    " programme_run r WHERE r.location_id = l.id AND r.status IN ('planned', 'recruiting',"        \
    " 'running') AND (r.starts_on >= registry_today() OR (r.status = 'running' AND r.ends_on >="   \
    " registry_today()))))::text FROM location l JOIN organisation o ON o.id = l.organisation_id"  \
    " WHERE l.id = $1::uuid"

/* Fails unless every item the finder lists at `url` is the one computed from the base tables
 * (OLD_ITEM), its distance aside. Returns the answer (a new reference). */
static json_t *
expect_cards_at(struct it_server *s, const char *url)
{
    struct it_resp r;
    json_t *item, *items, *body;
    size_t i;

    it_get(s, url, NULL, &r);
    it_assert_status(&r, 200);
    body = json_incref(r.json);
    it_resp_free(&r);
    items = json_object_get(body, "items");
    assert_true(json_array_size(items) > 0);
    json_array_foreach(items, i, item)
    {
        char *text = it_sql_text(s, OLD_ITEM, it_jstr(json_object_get(item, "site"), "id"));
        json_t *want = json_loads(text, 0, NULL), *got = json_deep_copy(item);

        assert_non_null(want);
        assert_true(json_is_number(json_object_get(got, "distance_km")));
        json_object_del(got, "distance_km");
        if (!json_equal(got, want)) {
            char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);

            fprintf(stderr, "item %zu differs:\n  got  %s\n  want %s\n", i, g, w);
            free(g);
            free(w);
            fail();
        }
        json_decref(got);
        json_decref(want);
        free(text);
    }
    return body;
}

/* expect_cards_at near Chatham. */
static json_t *
expect_cards(struct it_server *s)
{
    return expect_cards_at(s, NEAR);
}

/* The upcoming runs the finder shows for site `id` (a new reference; an empty array when the
 * site is not listed). */
static json_t *
runs_of(json_t *body, const char *id)
{
    json_t *item;
    size_t i;

    json_array_foreach(json_object_get(body, "items"), i, item)
    {
        const char *sid = it_jstr(json_object_get(item, "site"), "id");

        if (sid != NULL && strcmp(sid, id) == 0) {
            return json_incref(json_object_get(item, "upcoming_runs"));
        }
    }
    return json_array();
}

/* Checks every card (expect_cards), then that site `id` shows `n` upcoming runs, the first (when
 * n > 0) with `key` equal to the JSON value `value` (NULL: not checked). */
static void
expect_runs(struct it_server *s, const char *id, size_t n, const char *key, const char *value)
{
    json_t *body = expect_cards(s), *runs = runs_of(body, id);

    assert_int_equal(json_array_size(runs), n);
    if (n > 0 && key != NULL) {
        json_t *want = json_loads(value, JSON_DECODE_ANY, NULL);

        assert_non_null(want);
        assert_true(json_equal(json_object_get(json_array_get(runs, 0), key), want));
        json_decref(want);
    }
    json_decref(runs);
    json_decref(body);
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
    char from[16], until[16], *xmin, *org, *other, *lic, *a, *b, *c, *ab, *ba, *path, *fac1, *fac2,
        *run, *run2;

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
    PQclear(it_sql(s, "UPDATE location SET last_verified_on = registry_today() WHERE id = $1::uuid",
                   a));
    expect(s, "%s,%s", ba, c);
    it_assert_row(s, IT_ROW(xmin),
                  "SELECT xmin::text FROM public_site WHERE location_id = $1::uuid", a);
    free(xmin);

    /* The cards follow what they show. A site renamed (through the API) and given an
     * accessibility note; its organisation renamed, its contact details shown, enquiries taken. */
    json_decref(expect_cards(s));
    path = it_fmt("/v1/locations/%s", a);
    patch(f, path, "{\"name\": \"Site A, renamed\", \"accessibility\": \"Step-free\"}");
    free(path);
    json_decref(expect_cards(s));
    it_assert_row(s, IT_ROW("Site A, renamed"),
                  "SELECT (('{' || card_head || '}')::json -> 'site' ->> 'name')"
                  " FROM public_site WHERE location_id = $1::uuid",
                  a);
    path = it_fmt("/v1/organisations/%s", org);
    patch(f, path,
          "{\"name\": \"Visible Org, renamed\", \"phone\": \"01634 000000\","
          " \"public_contact\": true}");
    free(path);
    json_decref(expect_cards(s));
    it_assert_row(s, IT_ROW("01634 000000"),
                  "SELECT (('{' || card_head || '}')::json -> 'organisation' ->> 'phone')"
                  " FROM public_site WHERE location_id = $1::uuid",
                  b);
    PQclear(it_sql(s,
                   "UPDATE organisation SET enquiries_enabled = true,"
                   " enquiry_email = 'enquiries@example.org' WHERE id = $1::uuid",
                   org));
    json_decref(expect_cards(s));
    PQclear(it_sql(s, "UPDATE organisation SET public_contact = false WHERE id = $1::uuid", org));
    json_decref(expect_cards(s));

    /* Runs: one created at site A with two facilitators, filled, closed to referrals and
     * opened again, rescheduled to have started (running), moved to site B and back. */
    fac1 = it_sql_text(s, "INSERT INTO facilitator (given_name, family_name, status,"
                          " accredited_on, accredited_until) VALUES ('Ann', 'Card', 'accredited',"
                          " DATE '2020-01-01', DATE '2099-12-31') RETURNING id::text");
    fac2 = it_sql_text(s, "INSERT INTO facilitator (given_name, family_name, status,"
                          " accredited_on, accredited_until) VALUES ('Bob', 'Card', 'accredited',"
                          " DATE '2020-01-01', DATE '2099-12-31') RETURNING id::text");
    run = it_sql_text(s,
                      "INSERT INTO programme_run (organisation_id, location_id, variant, starts_on,"
                      " ends_on, capacity_families, status, weekday, start_time)"
                      " VALUES ($1::uuid, $2::uuid, 'standard', registry_today() + 20,"
                      " registry_today() + 90, 6, 'recruiting', 'tuesday', '18:30')"
                      " RETURNING id::text",
                      org, a);
    PQclear(it_sql(s,
                   "INSERT INTO programme_facilitator (run_id, facilitator_id)"
                   " VALUES ($1::uuid, $2::uuid), ($1::uuid, $3::uuid)",
                   run, fac1, fac2));
    expect_runs(s, a, 1, "accepting_referrals", "true");
    PQclear(it_sql(s, "UPDATE programme_run SET families_enrolled = 4 WHERE id = $1::uuid", run));
    expect_runs(s, a, 1, "places_left", "2");
    PQclear(
        it_sql(s, "UPDATE programme_run SET accepting_referrals = false WHERE id = $1::uuid", run));
    expect_runs(s, a, 1, "accepting_referrals", "false");
    PQclear(
        it_sql(s, "UPDATE programme_run SET accepting_referrals = true WHERE id = $1::uuid", run));
    expect_runs(s, a, 1, "started", "false");
    PQclear(it_sql(s,
                   "UPDATE programme_run SET status = 'running', starts_on = registry_today() - 7"
                   " WHERE id = $1::uuid",
                   run));
    expect_runs(s, a, 1, "started", "true");
    PQclear(
        it_sql(s, "UPDATE programme_run SET location_id = $2::uuid WHERE id = $1::uuid", run, b));
    expect_runs(s, a, 0, NULL, NULL);
    expect_runs(s, b, 1, "status", "\"running\"");
    PQclear(
        it_sql(s, "UPDATE programme_run SET location_id = $2::uuid WHERE id = $1::uuid", run, a));
    expect_runs(s, b, 0, NULL, NULL);

    /* A facilitator suspended: the run is at risk and takes no referrals; reinstated, it does
     * again; taken off the run while suspended, the run is no longer at risk. */
    PQclear(it_sql(s, "UPDATE facilitator SET status = 'suspended' WHERE id = $1::uuid", fac2));
    expect_runs(s, a, 1, "accepting_referrals", "false");
    PQclear(it_sql(s, "UPDATE facilitator SET status = 'accredited' WHERE id = $1::uuid", fac2));
    expect_runs(s, a, 1, "accepting_referrals", "true");
    PQclear(it_sql(s, "UPDATE facilitator SET status = 'withdrawn' WHERE id = $1::uuid", fac2));
    expect_runs(s, a, 1, "accepting_referrals", "false");
    PQclear(it_sql(s,
                   "DELETE FROM programme_facilitator WHERE run_id = $1::uuid"
                   " AND facilitator_id = $2::uuid",
                   run, fac2));
    expect_runs(s, a, 1, "accepting_referrals", "true");

    /* A second run, later, is listed after the first; one ended is not upcoming; one cancelled
     * is gone; a run deleted goes from its site's card. */
    run2 = it_sql_text(s,
                       "INSERT INTO programme_run (organisation_id, location_id, variant,"
                       " starts_on, ends_on, capacity_families, self_referral_allowed)"
                       " VALUES ($1::uuid, $2::uuid, 'standard', registry_today() + 40,"
                       " registry_today() + 100, 8, true) RETURNING id::text",
                       org, a);
    expect_runs(s, a, 2, "status", "\"running\"");
    PQclear(it_sql(s,
                   "UPDATE programme_run SET ends_on = registry_today() - 1,"
                   " starts_on = registry_today() - 60 WHERE id = $1::uuid",
                   run));
    expect_runs(s, a, 1, "self_referral_allowed", "true");
    PQclear(it_sql(s, "UPDATE programme_run SET status = 'cancelled' WHERE id = $1::uuid", run2));
    expect_runs(s, a, 0, NULL, NULL);
    PQclear(it_sql(s, "UPDATE programme_run SET status = 'planned' WHERE id = $1::uuid", run2));
    expect_runs(s, a, 1, "status", "\"planned\"");
    PQclear(it_sql(s, "DELETE FROM programme_run WHERE id = $1::uuid", run2));
    expect_runs(s, a, 0, NULL, NULL);
    assert_int_equal(it_count(s,
                              "SELECT cardinality(runs) FROM public_site"
                              " WHERE location_id = $1::uuid",
                              a),
                     1); /* the ended run: still running by status, no longer upcoming */

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
    json_decref(expect_cards(s));

    free(run);
    free(run2);
    free(fac1);
    free(fac2);
    free(ab);
    free(ba);
    free(a);
    free(b);
    free(c);
    free(lic);
    free(org);
    free(other);
}

/* Each site's item as it reads on the dates item_from..item_until (migration 0042): the window ends
 * the day before a run's next change of date; a search outside the window (a stored item stale,
 * as when the calendar moved on without a refresh) answers from the cards, the same answer; and
 * public_site_items_refresh() brings the stale ones back. */
static void
test_stored_items(void **state)
{
    struct fx *f = *state;
    struct it_server *s = f->s;
    char from[16], until[16], *org, *a, *run, *fac;

    it_day(s, -10, from, sizeof(from));
    it_day(s, 300, until, sizeof(until));
    org = it_create_org(s, f->admin, NULL, NULL, "Items Org");
    free(it_issue_licence(s, f->admin, org, from, until, "granted", "active", NULL));
    a = it_sql_text(s,
                    "INSERT INTO location (organisation_id, name, kind, address_lines, town,"
                    " postcode, latitude, longitude, public)"
                    " VALUES ($1::uuid, 'Items Site', 'community', '[\"3 Mill Lane\"]',"
                    " 'Cambridge', 'CB1 1AA', 52.2010, 0.1210, true) RETURNING id::text",
                    org);
    /* A run starting in 5 days (not started; upcoming), and one running since 10 days with a
     * suspended facilitator (at risk: not taking referrals until it ends in 30 days). */
    PQclear(it_sql(s,
                   "INSERT INTO programme_run (organisation_id, location_id, variant, starts_on,"
                   " ends_on, capacity_families, status)"
                   " VALUES ($1::uuid, $2::uuid, 'standard', registry_today() + 5,"
                   " registry_today() + 60, 6, 'planned')",
                   org, a));
    run = it_sql_text(s,
                      "INSERT INTO programme_run (organisation_id, location_id, variant, starts_on,"
                      " ends_on, capacity_families, status)"
                      " VALUES ($1::uuid, $2::uuid, 'standard', registry_today() - 10,"
                      " registry_today() + 30, 6, 'running') RETURNING id::text",
                      org, a);
    fac = it_sql_text(s, "INSERT INTO facilitator (given_name, family_name, status,"
                         " accredited_on, accredited_until) VALUES ('Cy', 'Item', 'suspended',"
                         " DATE '2020-01-01', DATE '2099-12-31') RETURNING id::text");
    PQclear(it_sql(s,
                   "INSERT INTO programme_facilitator (run_id, facilitator_id)"
                   " VALUES ($1::uuid, $2::uuid)",
                   run, fac));
    json_decref(expect_cards_at(s, FAR));

    /* The window: from today to the day before the planned run starts ("started" changes). */
    assert_int_equal(it_count(s,
                              "SELECT item_until - item_from FROM public_site"
                              " WHERE location_id = $1::uuid AND item_from = registry_today()",
                              a),
                     4);
    /* Within it the runs read the same; the day after it they do not. */
    assert_int_equal(it_count(s,
                              "SELECT (public_card_runs_text(runs, item_until)"
                              " = public_card_runs_text(runs, item_from))::int"
                              " + (public_card_runs_text(runs, item_until + 1)"
                              " <> public_card_runs_text(runs, item_from))::int"
                              " FROM public_site WHERE location_id = $1::uuid",
                              a),
                     2);
    /* Every stored item that holds today is the card's item of today. */
    assert_int_equal(it_count(s, "SELECT count(*) FROM public_site WHERE registry_today()"
                                 " BETWEEN item_from AND item_until AND item_tail IS DISTINCT FROM"
                                 " card_head || ',\"upcoming_runs\":['"
                                 " || public_card_runs_text(runs, registry_today()) || ']}'"),
                     0);
    assert_int_equal(it_count(s, "SELECT count(*) FROM public_site WHERE item_tail IS NULL"), 0);

    /* Stale (computed on days now past, or not yet come): answered from the cards all the same. */
    PQclear(it_sql(s,
                   "UPDATE public_site SET item_tail = '\"stale\":true}',"
                   " item_from = registry_today() - 30, item_until = registry_today() - 1"
                   " WHERE location_id = $1::uuid",
                   a));
    json_decref(expect_cards_at(s, FAR));
    PQclear(it_sql(s,
                   "UPDATE public_site SET item_from = registry_today() + 1,"
                   " item_until = registry_today() + 9 WHERE location_id = $1::uuid",
                   a));
    json_decref(expect_cards_at(s, FAR));

    /* The refresh recomputes exactly the stale rows. */
    assert_int_equal(it_count(s, "SELECT public_site_items_refresh()"), 1);
    assert_int_equal(it_count(s, "SELECT public_site_items_refresh()"), 0);
    assert_int_equal(it_count(s,
                              "SELECT count(*) FROM public_site WHERE location_id = $1::uuid"
                              " AND item_from = registry_today()"
                              " AND item_until = registry_today() + 4 AND item_tail = card_head"
                              " || ',\"upcoming_runs\":['"
                              " || public_card_runs_text(runs, registry_today()) || ']}'",
                              a),
                     1);
    json_decref(expect_cards_at(s, FAR));

    /* A change to the card recomputes a stale item too (the run reinstated: no longer at risk). */
    PQclear(it_sql(s,
                   "UPDATE public_site SET item_until = registry_today() - 1"
                   " WHERE location_id = $1::uuid",
                   a));
    PQclear(it_sql(s, "UPDATE facilitator SET status = 'accredited' WHERE id = $1::uuid", fac));
    assert_int_equal(it_count(s,
                              "SELECT item_until - registry_today() FROM public_site"
                              " WHERE location_id = $1::uuid",
                              a),
                     4);
    json_decref(expect_cards_at(s, FAR));

    /* The day's expiry job, which runs at start, refreshes what went stale meanwhile. */
    PQclear(it_sql(s,
                   "UPDATE public_site SET item_from = registry_today() - 9,"
                   " item_until = registry_today() - 1 WHERE location_id = $1::uuid",
                   a));
    assert_int_equal(it_kill(s, SIGTERM), 0);
    it_launch(s, no_limit_env);
    assert_int_equal(it_wait_count(s, 1, 10000,
                                   "SELECT count(*) FROM public_site WHERE location_id = $1::uuid"
                                   " AND item_from = registry_today()",
                                   a),
                     1);
    json_decref(expect_cards_at(s, FAR));

    free(fac);
    free(run);
    free(a);
    free(org);
}

TEST_MAIN(setup,
          it_fx_teardown,
          cmocka_unit_test(test_follows_every_change),
          cmocka_unit_test(test_stored_items))
