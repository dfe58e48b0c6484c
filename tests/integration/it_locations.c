/* it_locations.c: /v1/locations over HTTP against the real server and PostgreSQL: create (postcode
 * normalised, coordinates given or filled from the postcode table, last_verified_on), each
 * validation error with nothing written, public: true on a prison or school site refused (422, rule
 * prison_school_not_public), a warning when a site has no coordinates, re-confirming
 * with {"verified": true}, If-Match (428, 412), role rules (org_staff read only, another
 * organisation's location 404), archive of a used location against deletion of an unused one,
 * list filters, keyset pagination, CSV parsed back, and the audit rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"
#include "registry/password.h"

#define ADMIN_EMAIL "admin@locations.example"
#define PASSWORD    "locations-test-password-1"
#define NO_SUCH_ID  "00000000-0000-4000-8000-000000000000"

struct fx {
    IT_FX_HEAD;
    char *org_a, *org_b;
    char *a_admin, *a_staff, *b_admin;
    int n; /* names made so far */
};

static long
count_locations(struct fx *f)
{
    return it_count(f->s, "SELECT count(*) FROM location");
}

/* Creates a location as `token` with the extra JSON members `extra` (may be ""); expects 201 and
 * returns the response's id (malloc'd). */
static char *
create_loc(struct fx *f, const char *token, const char *kind, const char *extra)
{
    char *body = it_fmt("{\"name\": \"Site %03d\", \"kind\": \"%s\", \"address_lines\": [\"1 High"
                        " Street\", \"Rochester\"], \"town\": \"Rochester\", \"postcode\":"
                        " \"me1 1aa\"%s}",
                        ++f->n, kind, extra);
    char *id = it_post_created(f->s, token, body, NULL, "/v1/locations");

    free(body);
    return id;
}

/* The ETag of location `id` as `token` sees it (malloc'd). */
static char *
etag_of(struct fx *f, const char *id, const char *token)
{
    return it_etag_of(f->s, token, "/v1/locations/%s", id);
}

/* ---- Fixture ------------------------------------------------------------------------------- */

static int
group_setup(void **state)
{
    struct fx *f = it_fx_start(sizeof(*f), "locations", NULL, ADMIN_EMAIL, PASSWORD, IT_FX_HASH);

    f->org_a = it_fx_own(f, it_create_org(f->s, f->admin, NULL, NULL, "Locations Org A"));
    f->org_b = it_fx_own(f, it_create_org(f->s, f->admin, NULL, NULL, "Locations Org B"));
    IT_FX_AB_USERS(f);
    *state = f;
    return 0;
}

/* ---- Create and read ----------------------------------------------------------------------- */

static void
test_create_and_get(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    long before = count_locations(f);
    char *id, *path;

    it_post_json(f->s, "/v1/locations", f->a_admin,
                 "{\"name\": \" Riverside Family Hub \", \"kind\": \"family_centre\","
                 " \"address_lines\": [\"2 Quay Lane\"], \"town\": \"Chatham\","
                 " \"postcode\": \"me4 4ab\", \"latitude\": 51.3801, \"longitude\": 0.5210,"
                 " \"accessibility\": \"Step-free entrance\", \"public\": true}",
                 &r);
    it_assert_status(&r, 201);
    it_assert_header(&r, "ETag", "\"");
    it_assert_strs(&r, IT_ROW("name", "Riverside Family Hub", "postcode", "ME4 4AB",
                              "organisation_id", f->org_a, "kind", "family_centre"));
    assert_true(json_is_true(json_object_get(r.json, "public")));
    assert_true(json_is_true(json_object_get(r.json, "active")));
    assert_true(json_number_value(json_object_get(r.json, "latitude")) > 51.38
                && json_number_value(json_object_get(r.json, "latitude")) < 51.381);
    assert_true(json_number_value(json_object_get(r.json, "longitude")) > 0.52
                && json_number_value(json_object_get(r.json, "longitude")) < 0.522);
    assert_int_equal(json_array_size(json_object_get(r.json, "address_lines")), 1);
    assert_non_null(it_json_str(&r, "created_at"));
    assert_non_null(it_json_str(&r, "updated_at"));
    assert_true(json_is_null(json_object_get(r.json, "archived_at")));
    assert_null(json_object_get(r.json, "version"));
    {
        PGresult *res = it_sql(f->s, "SELECT registry_today()::text");
        assert_string_equal(it_json_str(&r, "last_verified_on"), PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    id = strdup(it_json_str(&r, "id"));
    it_assert_header(&r, "Location", id);
    it_resp_free(&r);
    assert_int_equal(count_locations(f), before + 1);
    assert_int_equal(it_audits(f->s, "location", id, "create"), 1);

    it_getf(f->s, f->a_admin, &r, "/v1/locations/%s", id);
    it_assert_status(&r, 200);
    it_assert_strs(&r, IT_ROW("id", id, "accessibility", "Step-free entrance"));
    it_resp_free(&r);
    it_expectf(f->s, "GET", f->admin, NULL, NULL, 200, "/v1/locations/%s", id);

    /* Unknown, malformed and missing ids. */
    it_expectf(f->s, "GET", f->admin, NULL, NULL, 404, "/v1/locations/%s", NO_SUCH_ID);
    it_expectf(f->s, "GET", f->admin, NULL, NULL, 404, "/v1/locations/%s", "not-a-uuid");
    path = it_fmt("/v1/locations/%s", id);
    it_expect(f->s, "GET", path, NULL, NULL, 401);
    free(path);
    free(id);
}

static void
test_coordinates_from_postcode(void **state)
{
    struct fx *f = *state;
    struct it_resp r;

    PQclear(it_sql(f->s, "INSERT INTO postcode (postcode, latitude, longitude)"
                         " VALUES ('CT1 2AB', 51.2790, 1.0800)"));
    it_post_json(f->s, "/v1/locations", f->a_admin,
                 "{\"name\": \"Canterbury Hall\", \"kind\": \"community\", \"address_lines\":"
                 " [\"5 Long Street\"], \"town\": \"Canterbury\", \"postcode\": \"ct12ab\"}",
                 &r);
    it_assert_status(&r, 201);
    assert_string_equal(it_json_str(&r, "postcode"), "CT1 2AB");
    assert_true(json_number_value(json_object_get(r.json, "latitude")) > 51.278
                && json_number_value(json_object_get(r.json, "latitude")) < 51.280);
    assert_true(json_number_value(json_object_get(r.json, "longitude")) > 1.079
                && json_number_value(json_object_get(r.json, "longitude")) < 1.081);
    {
        /* Moving it to a postcode that is not loaded clears the old coordinates. */
        char *id = strdup(it_json_str(&r, "id"));
        char *etag = strdup(it_header(&r, "ETag"));
        it_resp_free(&r);
        it_patchf(f->s, f->a_admin, etag, "{\"postcode\": \"ME1 1AA\"}", &r, "/v1/locations/%s",
                  id);
        it_assert_status(&r, 200);
        assert_true(json_is_null(json_object_get(r.json, "latitude")));
        assert_true(json_is_null(json_object_get(r.json, "longitude")));
        it_renew_etag(&r, &etag);
        it_resp_free(&r);
        /* And back, with explicit coordinates that win over the table. */
        it_patchf(f->s, f->a_admin, etag,
                  "{\"postcode\": \"CT1 2AB\", \"latitude\": 51.3, \"longitude\": 1.1}", &r,
                  "/v1/locations/%s", id);
        it_assert_status(&r, 200);
        assert_true(json_number_value(json_object_get(r.json, "latitude")) == 51.3);
        assert_true(json_number_value(json_object_get(r.json, "longitude")) == 1.1);
        free(etag);
        free(id);
    }
    it_resp_free(&r);

    /* A postcode that is not loaded: no coordinates, saved all the same, with a warning that
     * the site cannot appear in the finder until it has them. */
    it_post_json(f->s, "/v1/locations", f->a_admin,
                 "{\"name\": \"Unmapped Hall\", \"kind\": \"health\", \"address_lines\":"
                 " [\"9 Side Road\"], \"town\": \"Gillingham\", \"postcode\": \"ME7 1AA\"}",
                 &r);
    it_assert_status(&r, 201);
    assert_true(json_is_null(json_object_get(r.json, "latitude")));
    assert_true(json_is_null(json_object_get(r.json, "longitude")));
    {
        json_t *w = json_object_get(r.json, "warnings");
        char *id = strdup(it_json_str(&r, "id")), *etag = strdup(it_header(&r, "ETag"));

        assert_int_equal(json_array_size(w), 1);
        assert_string_equal(it_jstr(json_array_get(w, 0), "rule"), "no_coordinates");
        assert_string_equal(it_jstr(json_array_get(w, 0), "field"), "postcode");
        assert_non_null(strstr(it_jstr(json_array_get(w, 0), "detail"), "finder"));
        assert_non_null(strstr(it_jstr(json_array_get(w, 0), "detail"), "ME7 1AA"));
        it_resp_free(&r);
        /* Giving coordinates clears the warning. */
        it_patchf(f->s, f->a_admin, etag, "{\"latitude\": 51.38, \"longitude\": 0.55}", &r,
                  "/v1/locations/%s", id);
        it_assert_status(&r, 200);
        assert_int_equal(json_array_size(json_object_get(r.json, "warnings")), 0);
        free(etag);
        free(id);
    }
    it_resp_free(&r);
    /* A postcode in the table: no warning. */
    it_post_json(f->s, "/v1/locations", f->a_admin,
                 "{\"name\": \"Mapped Hall\", \"kind\": \"health\", \"address_lines\":"
                 " [\"9 Side Road\"], \"town\": \"Canterbury\", \"postcode\": \"CT1 2AB\"}",
                 &r);
    it_assert_status(&r, 201);
    assert_true(json_is_array(json_object_get(r.json, "warnings")));
    assert_int_equal(json_array_size(json_object_get(r.json, "warnings")), 0);
    it_resp_free(&r);
}

static void
test_create_validation(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    long before = count_locations(f);
    static const struct {
        const char *body;
        const char *field;
    } cases[] = {
        {"{\"kind\": \"community\", \"address_lines\": [\"1 A\"], \"town\": \"T\","
         " \"postcode\": \"ME4 4AB\"}",
         "name"},
        {"{\"name\": \"X\", \"kind\": \"castle\", \"address_lines\": [\"1 A\"], \"town\": \"T\","
         " \"postcode\": \"ME4 4AB\"}",
         "kind"},
        {"{\"name\": \"X\", \"kind\": \"community\", \"address_lines\": [], \"town\": \"T\","
         " \"postcode\": \"ME4 4AB\"}",
         "address_lines"},
        {"{\"name\": \"X\", \"kind\": \"community\", \"address_lines\": [\"1\", \"2\", \"3\","
         " \"4\"], \"town\": \"T\", \"postcode\": \"ME4 4AB\"}",
         "address_lines"},
        {"{\"name\": \"X\", \"kind\": \"community\", \"address_lines\": [\"1 A\"],"
         " \"postcode\": \"ME4 4AB\"}",
         "town"},
        {"{\"name\": \"X\", \"kind\": \"community\", \"address_lines\": [\"1 A\"], \"town\": \"T\","
         " \"postcode\": \"NOT A CODE\"}",
         "postcode"},
        {"{\"name\": \"X\", \"kind\": \"community\", \"address_lines\": [\"1 A\"], \"town\": \"T\","
         " \"postcode\": \"ME4 4AB\", \"latitude\": 51.3}",
         "longitude"},
        {"{\"name\": \"X\", \"kind\": \"community\", \"address_lines\": [\"1 A\"], \"town\": \"T\","
         " \"postcode\": \"ME4 4AB\", \"latitude\": 40.7, \"longitude\": -74.0}",
         "latitude"},
        {"{\"name\": \"X\", \"kind\": \"community\", \"address_lines\": [\"1 A\"], \"town\": \"T\","
         " \"postcode\": \"ME4 4AB\", \"latitude\": 52.0, \"longitude\": 5.0}",
         "longitude"},
        {"{\"name\": \"X\", \"kind\": \"community\", \"address_lines\": [\"1 A\"], \"town\": \"T\","
         " \"postcode\": \"ME4 4AB\", \"latitude\": \"52\", \"longitude\": 0.5}",
         "latitude"},
        {"{\"name\": \"X\", \"kind\": \"community\", \"address_lines\": [\"1 A\"], \"town\": \"T\","
         " \"postcode\": \"ME4 4AB\", \"public\": \"yes\"}",
         "public"},
        {"{\"name\": \"X\", \"kind\": \"community\", \"address_lines\": [\"1 A\"], \"town\": \"T\","
         " \"postcode\": \"ME4 4AB\", \"verified\": true}",
         "verified"},
        {"{\"name\": \"X\", \"kind\": \"community\", \"address_lines\": [\"1 A\"], \"town\": \"T\","
         " \"postcode\": \"ME4 4AB\", \"colour\": \"red\"}",
         "colour"},
        {"{\"name\": \"X\", \"kind\": \"community\", \"address_lines\": [\"1 A\"], \"town\": \"T\","
         " \"postcode\": \"ME4 4AB\", \"organisation_id\": \"nope\"}",
         "organisation_id"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        it_post_json(f->s, "/v1/locations", f->a_admin, cases[i].body, &r);
        it_assert_problem(&r, 422);
        if (!it_names_field(&r, cases[i].field)) {
            it_resp_print(&r);
            fail_msg("case %zu: errors do not name %s", i, cases[i].field);
        }
        it_resp_free(&r);
    }
    /* Several at once: each is named. */
    it_post_json(f->s, "/v1/locations", f->a_admin,
                 "{\"name\": \"\", \"kind\": \"castle\", \"address_lines\": [\"1 A\"],"
                 " \"postcode\": \"??\"}",
                 &r);
    it_assert_problem(&r, 422);
    assert_true(it_names_field(&r, "name"));
    assert_true(it_names_field(&r, "kind"));
    assert_true(it_names_field(&r, "town"));
    assert_true(it_names_field(&r, "postcode"));
    it_resp_free(&r);
    /* Admin must say whose location it is. */
    it_post_json(f->s, "/v1/locations", f->admin,
                 "{\"name\": \"X\", \"kind\": \"community\", \"address_lines\": [\"1 A\"],"
                 " \"town\": \"T\", \"postcode\": \"ME4 4AB\"}",
                 &r);
    it_assert_problem(&r, 422);
    assert_true(it_names_field(&r, "organisation_id"));
    it_resp_free(&r);
    assert_int_equal(count_locations(f), before);
}

static void
test_prison_and_school_never_public(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *id, *etag, *id2;

    long before = count_locations(f);
    static const char *const kinds[] = {"prison", "school", NULL};
    const char *const *k;

    /* public: true on a prison or school site is refused, naming the rule; nothing is written. */
    for (k = kinds; *k != NULL; k++) {
        char *body = it_fmt("{\"name\": \"Closed site\", \"kind\": \"%s\", \"address_lines\":"
                            " [\"1 Gate\"], \"town\": \"Rochester\", \"postcode\": \"ME1 1AA\","
                            " \"public\": true}",
                            *k);
        it_post_json(f->s, "/v1/locations", f->a_admin, body, &r);
        it_assert_problem(&r, 422);
        assert_string_equal(it_jstr(json_array_get(json_object_get(r.json, "errors"), 0), "field"),
                            "public");
        assert_string_equal(it_jstr(json_array_get(json_object_get(r.json, "errors"), 0), "rule"),
                            "prison_school_not_public");
        it_resp_free(&r);
        free(body);
    }
    assert_int_equal(count_locations(f), before);
    /* Without the flag (or with false) a prison site is saved, not public. */
    id = create_loc(f, f->a_admin, "prison", ", \"public\": false");
    it_getf(f->s, f->a_admin, &r, "/v1/locations/%s", id);
    assert_true(json_is_false(json_object_get(r.json, "public")));
    etag = strdup(it_header(&r, "ETag"));
    it_resp_free(&r);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM location WHERE id = $1::uuid"
                              " AND NOT public",
                              id),
                     1);
    /* Asking in a PATCH is refused too (the stored kind is prison), and nothing changes. */
    it_patchf(f->s, f->a_admin, etag, "{\"public\": true, \"name\": \"Renamed\"}", &r,
              "/v1/locations/%s", id);
    it_assert_problem(&r, 422);
    assert_string_equal(it_jstr(json_array_get(json_object_get(r.json, "errors"), 0), "rule"),
                        "prison_school_not_public");
    it_resp_free(&r);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM location WHERE id = $1::uuid"
                              " AND NOT public AND name <> 'Renamed'",
                              id),
                     1);

    /* A public community site that becomes a school stops being public. */
    id2 = create_loc(f, f->a_admin, "community", ", \"public\": true");
    free(etag);
    etag = etag_of(f, id2, f->a_admin);
    it_patchf(f->s, f->a_admin, etag, "{\"kind\": \"school\"}", &r, "/v1/locations/%s", id2);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "kind"), "school");
    assert_true(json_is_false(json_object_get(r.json, "public")));
    it_resp_free(&r);
    /* The database refuses it too (the backstop). */
    {
        PGresult *res =
            it_sql_try(f->s, "UPDATE location SET public = true WHERE id = $1::uuid", id2);
        assert_int_not_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
    }
    free(etag);
    free(id);
    free(id2);
}

static void
test_verified_and_patch(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *id = create_loc(f, f->a_admin, "community", ""), *etag;
    PGresult *res;

    PQclear(it_sql(f->s,
                   "UPDATE location SET last_verified_on = DATE '2020-01-01',"
                   " updated_at = TIMESTAMPTZ '2020-01-01 00:00Z' WHERE id = $1::uuid",
                   id));
    etag = etag_of(f, id, f->a_admin);
    /* An ordinary change leaves last_verified_on alone but moves updated_at. */
    it_patchf(f->s, f->a_admin, etag, "{\"accessibility\": \"Lift to first floor\"}", &r,
              "/v1/locations/%s", id);
    it_assert_status(&r, 200);
    it_assert_strs(
        &r, IT_ROW("last_verified_on", "2020-01-01", "accessibility", "Lift to first floor"));
    assert_true(strncmp(it_json_str(&r, "updated_at"), "2020", 4) != 0);
    it_renew_etag(&r, &etag);
    it_resp_free(&r);

    /* verified: false is refused; nothing changes. */
    it_patchf(f->s, f->a_admin, etag, "{\"verified\": false}", &r, "/v1/locations/%s", id);
    it_assert_problem(&r, 422);
    assert_true(it_names_field(&r, "verified"));
    it_resp_free(&r);
    /* Re-confirming sets today's date. */
    it_patchf(f->s, f->a_admin, etag, "{\"verified\": true}", &r, "/v1/locations/%s", id);
    it_assert_status(&r, 200);
    res = it_sql(f->s, "SELECT registry_today()::text");
    assert_string_equal(it_json_str(&r, "last_verified_on"), PQgetvalue(res, 0, 0));
    PQclear(res);
    assert_string_equal(it_json_str(&r, "accessibility"), "Lift to first floor");
    it_resp_free(&r);

    /* Other validation on PATCH: organisation_id cannot move, empty body, bad values. */
    free(etag);
    etag = etag_of(f, id, f->a_admin);
    it_patchf(f->s, f->a_admin, etag, "{\"organisation_id\": \"" NO_SUCH_ID "\"}", &r,
              "/v1/locations/%s", id);
    it_assert_problem(&r, 422);
    assert_true(it_names_field(&r, "organisation_id"));
    it_resp_free(&r);
    it_expectf(f->s, "PATCH", f->a_admin, etag, "{}", 422, "/v1/locations/%s", id);
    it_patchf(f->s, f->a_admin, etag, "{\"name\": null, \"latitude\": 51.0}", &r,
              "/v1/locations/%s", id);
    it_assert_problem(&r, 422);
    assert_true(it_names_field(&r, "name"));
    assert_true(it_names_field(&r, "longitude"));
    it_resp_free(&r);
    assert_int_equal(it_audits(f->s, "location", id, "update"), 2);
    free(etag);
    free(id);
}

static void
test_if_match(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *id = create_loc(f, f->a_admin, "community", ""), *etag = etag_of(f, id, f->a_admin);

    it_expectf(f->s, "PATCH", f->a_admin, NULL, "{\"name\": \"Renamed\"}", 428, "/v1/locations/%s",
               id);
    it_expectf(f->s, "PATCH", f->a_admin, "\"999\"", "{\"name\": \"Renamed\"}", 412,
               "/v1/locations/%s", id);
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM location WHERE name = 'Renamed'"), 0);
    it_patchf(f->s, f->a_admin, etag, "{\"name\": \"Renamed\"}", &r, "/v1/locations/%s", id);
    it_assert_status(&r, 200);
    assert_string_not_equal(it_header(&r, "ETag"), etag);
    it_resp_free(&r);
    /* The old ETag is now stale. */
    it_expectf(f->s, "PATCH", f->a_admin, etag, "{\"name\": \"Renamed again\"}", 412,
               "/v1/locations/%s", id);
    free(etag);
    free(id);
}

static void
test_roles(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *id = create_loc(f, f->a_admin, "health", ""), *etag = etag_of(f, id, f->a_admin);
    char *body;
    long before;

    /* org_staff read their own organisation's location, and change nothing. */
    it_expectf(f->s, "GET", f->a_staff, NULL, NULL, 200, "/v1/locations/%s", id);
    it_expectf(f->s, "PATCH", f->a_staff, etag, "{\"name\": \"Staff edit\"}", 403,
               "/v1/locations/%s", id);
    it_expectf(f->s, "DELETE", f->a_staff, NULL, NULL, 403, "/v1/locations/%s", id);
    before = count_locations(f);
    it_expect(f->s, "POST", "/v1/locations", f->a_staff,
              "{\"name\": \"Staff site\", \"kind\": \"community\", \"address_lines\":"
              " [\"1 A\"], \"town\": \"T\", \"postcode\": \"ME4 4AB\"}",
              403);

    /* Another organisation's location is absent. */
    it_expectf(f->s, "GET", f->b_admin, NULL, NULL, 404, "/v1/locations/%s", id);
    it_expectf(f->s, "PATCH", f->b_admin, etag, "{\"name\": \"Hijack\"}", 404, "/v1/locations/%s",
               id);
    it_expectf(f->s, "DELETE", f->b_admin, NULL, NULL, 404, "/v1/locations/%s", id);
    body = it_fmt("{\"organisation_id\": \"%s\", \"name\": \"Planted\", \"kind\": \"community\","
                  " \"address_lines\": [\"1 A\"], \"town\": \"T\", \"postcode\": \"ME4 4AB\"}",
                  f->org_a);
    it_expect(f->s, "POST", "/v1/locations", f->b_admin, body, 404);
    assert_int_equal(count_locations(f), before);
    it_get(f->s, "/v1/locations?limit=100", f->b_admin, &r);
    it_assert_status(&r, 200);
    it_assert_items_all(&r, "organisation_id", f->org_b);
    it_resp_free(&r);
    /* The filter cannot reach across either. */
    free(body);
    body = it_fmt("/v1/locations?organisation_id=%s", f->org_a);
    it_expect_items(f->s, f->b_admin, 0, "%s", body);

    /* Admin creates for any organisation, and changes anything. */
    free(body);
    body = it_fmt("{\"organisation_id\": \"%s\", \"name\": \"Admin made\", \"kind\": \"other\","
                  " \"address_lines\": [\"1 A\"], \"town\": \"T\", \"postcode\": \"ME4 4AB\"}",
                  f->org_b);
    it_post_json(f->s, "/v1/locations", f->admin, body, &r);
    it_assert_status(&r, 201);
    assert_string_equal(it_json_str(&r, "organisation_id"), f->org_b);
    it_resp_free(&r);
    it_expectf(f->s, "PATCH", f->admin, etag, "{\"name\": \"Admin renamed\"}", 200,
               "/v1/locations/%s", id);
    free(body);
    free(etag);
    free(id);
}

static void
test_archive_or_delete(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *unused = create_loc(f, f->a_admin, "community", "");
    char *used = create_loc(f, f->a_admin, "school", "");
    char *path;

    /* Unused: removed for good. */
    it_expectf(f->s, "DELETE", f->a_admin, NULL, NULL, 204, "/v1/locations/%s", unused);
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM location WHERE id = $1::uuid", unused),
                     0);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_type = 'location'"
                              " AND resource_id = $1 AND action = 'delete' AND after IS NULL",
                              unused),
                     1);
    it_expectf(f->s, "GET", f->admin, NULL, NULL, 404, "/v1/locations/%s", unused);

    /* Used by a programme run: archived, kept, hidden. */
    free(it_make_run(f->s, (struct it_run){.org = f->org_a,
                                           .loc = used,
                                           .starts = "2030-01-07",
                                           .ends = "2030-03-25",
                                           .capacity = "6"}));
    /* A stale If-Match is refused when sent. */
    path = it_fmt("/v1/locations/%s", used);
    {
        const char *hdrs[] = {"If-Match: \"999\"", NULL};
        it_request(f->s, "DELETE", path, f->a_admin, hdrs, NULL, &r);
        it_assert_problem(&r, 412);
        it_resp_free(&r);
    }
    it_expectf(f->s, "DELETE", f->a_admin, NULL, NULL, 204, "/v1/locations/%s", used);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM location WHERE id = $1::uuid"
                              " AND archived_at IS NOT NULL AND NOT active",
                              used),
                     1);
    assert_int_equal(it_audits(f->s, "location", used, "archive"), 1);
    it_expectf(f->s, "GET", f->a_admin, NULL, NULL, 404, "/v1/locations/%s", used);
    it_getf(f->s, f->admin, &r, "/v1/locations/%s", used);
    it_assert_status(&r, 200);
    assert_non_null(it_json_str(&r, "archived_at"));
    it_resp_free(&r);
    it_get(f->s, "/v1/locations?limit=100", f->admin, &r);
    it_assert_status(&r, 200);
    {
        json_t *item;
        size_t i;
        json_array_foreach(json_object_get(r.json, "items"), i, item)
        {
            assert_string_not_equal(it_jstr(item, "id"), used);
        }
    }
    it_resp_free(&r);
    /* Archived: no second delete, no changes. */
    it_expectf(f->s, "DELETE", f->admin, NULL, NULL, 404, "/v1/locations/%s", used);
    it_expectf(f->s, "PATCH", f->admin, "*", "{\"name\": \"Back\"}", 409, "/v1/locations/%s", used);

    /* Used as a training venue: archived as well. */
    free(unused);
    unused = create_loc(f, f->a_admin, "community", "");
    PQclear(it_sql(f->s, "INSERT INTO course (code, title, kind) VALUES ('LOC-TEST', 'T',"
                         " 'practitioner')"));
    PQclear(it_sql(f->s,
                   "INSERT INTO training_session (course_id, starts_on, ends_on, location_id,"
                   " capacity) SELECT id, DATE '2030-01-01', DATE '2030-01-02', $1::uuid, 10"
                   " FROM course WHERE code = 'LOC-TEST'",
                   unused));
    it_expectf(f->s, "DELETE", f->a_admin, NULL, NULL, 204, "/v1/locations/%s", unused);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM location WHERE id = $1::uuid"
                              " AND archived_at IS NOT NULL",
                              unused),
                     1);
    free(path);
    free(unused);
    free(used);
}

static void
test_list_filters_pages_and_csv(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *ids[5], *path, *etag;
    json_t *rows, *header, *all, *item;
    int i, c_name, c_kind, c_lines, c_id;
    size_t k;
    long total;

    for (i = 0; i < 5; i++) {
        ids[i] = create_loc(f, f->b_admin, i % 2 ? "prison" : "family_centre", "");
    }
    etag = etag_of(f, ids[0], f->b_admin);
    it_expectf(f->s, "PATCH", f->b_admin, etag, "{\"active\": false}", 200, "/v1/locations/%s",
               ids[0]);

    total = it_count(f->s,
                     "SELECT count(*) FROM location WHERE organisation_id = $1::uuid"
                     " AND archived_at IS NULL",
                     f->org_b);
    /* Pages of two, in a stable order, each item once. */
    all = it_all_pages(f->s, f->b_admin, "/v1/locations?limit=2", 2, 20, NULL);
    json_array_foreach(all, k, item)
    {
        assert_string_equal(it_jstr(item, "organisation_id"), f->org_b);
    }
    assert_int_equal((long)json_array_size(all), total);
    json_decref(all);

    /* Filters. */
    it_expect_items(f->s, f->b_admin, 2, "%s", "/v1/locations?kind=prison&limit=100");
    it_get(f->s, "/v1/locations?active=false&limit=100", f->b_admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_string_equal(it_jstr(json_array_get(json_object_get(r.json, "items"), 0), "id"), ids[0]);
    it_resp_free(&r);
    path = it_fmt("/v1/locations?organisation_id=%s&kind=family_centre&active=true", f->org_b);
    it_get(f->s, path, f->admin, &r);
    free(path);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 2);
    it_resp_free(&r);
    /* Bad filters. */
    it_expect(f->s, "GET", "/v1/locations?colour=red", f->admin, NULL, 400);
    it_expect(f->s, "GET", "/v1/locations?kind=castle", f->admin, NULL, 400);
    it_expect(f->s, "GET", "/v1/locations?active=maybe", f->admin, NULL, 400);
    it_expect(f->s, "GET", "/v1/locations?organisation_id=x", f->admin, NULL, 400);

    /* CSV, parsed back. */
    {
        it_get_csv(f->s, "/v1/locations?kind=prison&limit=100", f->b_admin, &r);
    }
    rows = it_csv_answer(&r);
    assert_int_equal(json_array_size(rows), 3);
    header = json_array_get(rows, 0);
    c_name = (int)it_csv_col(rows, "name");
    c_kind = (int)it_csv_col(rows, "kind");
    c_lines = (int)it_csv_col(rows, "address_lines");
    c_id = (int)it_csv_col(rows, "id");
    assert_true(c_name >= 0 && c_kind >= 0 && c_lines >= 0 && c_id >= 0);
    for (i = 1; i < 3; i++) {
        json_t *row = json_array_get(rows, (size_t)i), *lines;
        assert_int_equal(json_array_size(row), json_array_size(header));
        assert_string_equal(json_string_value(json_array_get(row, (size_t)c_kind)), "prison");
        assert_true(strncmp(json_string_value(json_array_get(row, (size_t)c_name)), "Site ", 5)
                    == 0);
        lines = json_loads(json_string_value(json_array_get(row, (size_t)c_lines)), 0, NULL);
        assert_non_null(lines);
        assert_int_equal(json_array_size(lines), 2);
        assert_string_equal(json_string_value(json_array_get(lines, 0)), "1 High Street");
        json_decref(lines);
        assert_int_equal(it_count(f->s,
                                  "SELECT count(*) FROM location WHERE id = $1::uuid"
                                  " AND kind = 'prison' AND NOT public",
                                  json_string_value(json_array_get(row, (size_t)c_id))),
                         1);
    }
    json_decref(rows);
    it_resp_free(&r);
    for (i = 0; i < 5; i++) {
        free(ids[i]);
    }
    free(etag);
}

TEST_MAIN(group_setup,
          it_fx_teardown,
          cmocka_unit_test(test_create_and_get),
          cmocka_unit_test(test_coordinates_from_postcode),
          cmocka_unit_test(test_create_validation),
          cmocka_unit_test(test_prison_and_school_never_public),
          cmocka_unit_test(test_verified_and_patch),
          cmocka_unit_test(test_if_match),
          cmocka_unit_test(test_roles),
          cmocka_unit_test(test_archive_or_delete),
          cmocka_unit_test(test_list_filters_pages_and_csv))
