/* it_areas.c: local areas (issue 15) against the real server and PostgreSQL, on the demo data:
 * a location's local_authority read through its postcode (a name once import-areas has one, null
 * without a postcode row, the new district after a re-import); the local_authority filter on
 * /v1/locations and /v1/programmes (against SQL's own answer, scoped for a licensee, 400 for a
 * value that is not a GSS code); organisations' serves_areas (set by the licensing body, unknown
 * and repeated codes 422 naming it with nothing written, an org_admin refused); `import-areas`
 * (a good file adding and renaming, every kind of bad file failing with its line and nothing
 * loaded, the generated file); `import-postcodes` loading oslaua/laua and ctry (the generated
 * ONSPD file, an NSPL-style file with pseudo-codes, a file without the columns). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"

#define ADMIN_EMAIL   "admin@areas.example"
#define PASSWORD      "areas-test-password-1"
#define DEMO_PASSWORD "demo-seed-password-42"
#define MEDWAY_ORG    "7b0c1a3e-0000-4000-8000-000000000001"
#define GUN_WHARF     "b0000000-0000-4000-8000-000000000001" /* Medway's site at ME4 4TR */

/* The names, as one string, to compare before and after a failed import. */
#define AREAS_SQL                                                                                  \
    "SELECT coalesce(string_agg(code || '=' || name, ';' ORDER BY code), '') FROM local_authority"

struct fx {
    IT_FX_HEAD;
    char *medway; /* the demo's Medway org_admin */
    int n;        /* files written so far */
};

static int
group_setup(void **state)
{
    static const char *const args[] = {"seed-demo", NULL};
    static const char *const env[] = {"REGISTRY_DEMO_PASSWORD=" DEMO_PASSWORD, NULL};
    struct fx *f = it_fx_start(sizeof(*f), "areas", NULL, ADMIN_EMAIL, PASSWORD, 0);
    char *out = NULL;

    if (it_exec(f->s, 0, args, env, NULL, 180, &out) != 0) {
        fail_msg("seed-demo failed:\n%s", out);
    }
    free(out);
    f->medway = it_fx_own(f, it_login(f->s, "manager@medway-recovery.example", DEMO_PASSWORD));
    *state = f;
    return 0;
}

/* ---- Helpers ------------------------------------------------------------------------------- */

/* Writes `text` to a new file of the work directory; returns its path (owned by the fixture). */
static const char *
write_file(struct fx *f, const char *text)
{
    char *path = it_fx_own(f, it_fmt("%s/file%d.csv", f->s->work_dir, ++f->n));
    FILE *out = fopen(path, "wb");

    assert_non_null(out);
    fputs(text, out);
    fclose(out);
    return path;
}

/* Writes what tests/integration/gen_postcodes.sh makes of `arg` to a new file; returns its path. */
static const char *
generate(struct fx *f, const char *arg)
{
    char *path = it_fx_own(f, it_fmt("%s/gen%d.csv", f->s->work_dir, ++f->n));
    char *cmd = it_fmt("bash '%s/tests/integration/gen_postcodes.sh' %s > '%s'",
                       getenv("IT_SOURCE_DIR"), arg, path);

    assert_int_equal(system(cmd), 0);
    free(cmd);
    return path;
}

/* Runs `mpact-registry command path`; returns its exit status and its output (malloc'd). */
static int
run(struct fx *f, const char *command, const char *path, char **out)
{
    const char *args[] = {command, path, NULL};

    return it_run(f->s, args, out);
}

/* Runs `command path`, which must succeed; returns its output (owned by the fixture). */
static const char *
run_ok(struct fx *f, const char *command, const char *path)
{
    char *out = NULL;

    if (run(f, command, path, &out) != 0) {
        fail_msg("%s %s failed:\n%s", command, path, out);
    }
    return it_fx_own(f, out);
}

/* import-areas of `text` fails with a message holding `needle`, and no name changes. */
static void
areas_refused(struct fx *f, const char *text, const char *needle)
{
    const char *path = text != NULL ? write_file(f, text) : "/nonexistent/la_ua.csv";
    char *before = it_sql_text(f->s, AREAS_SQL), *after, *out = NULL;
    int rc = run(f, "import-areas", path, &out);

    if (rc == 0 || strstr(out, needle) == NULL || strstr(out, "rows read") != NULL) {
        fail_msg("import-areas: exit %d, expected a failure saying '%s'; output:\n%s", rc, needle,
                 out);
    }
    assert_true(strchr(out, '\n') == NULL || strchr(out, '\n')[1] == '\0'); /* one line */
    after = it_sql_text(f->s, AREAS_SQL);
    assert_string_equal(after, before);
    free(before);
    free(after);
    free(out);
}

/* The ids of the items of list `r`, comma-separated (malloc'd). */
static char *
item_ids(const struct it_resp *r)
{
    json_t *items = json_object_get(r->json, "items"), *it;
    struct it_buf b = {NULL, 0, 0};
    size_t i;

    json_array_foreach(items, i, it)
    {
        const char *id = it_jstr(it, "id");
        assert_non_null(id);
        if (i > 0) {
            it_buf_add(&b, ",", 1);
        }
        it_buf_add(&b, id, strlen(id));
    }
    return b.p != NULL ? b.p : strdup("");
}

/* GETs `path` as `token` (200) and checks its items are exactly the ids `sql` aggregates, which
 * are at least `min`. */
static void
list_is(struct fx *f, const char *token, const char *path, long min, const char *sql)
{
    struct it_resp r;
    char *want = it_sql_text(f->s, sql), *got;

    it_get(f->s, path, token, &r);
    it_assert_status(&r, 200);
    got = item_ids(&r);
    assert_string_equal(got, want);
    assert_true((long)json_array_size(json_object_get(r.json, "items")) >= min);
    free(got);
    free(want);
    it_resp_free(&r);
}

/* GETs `path`, which must be a 400 naming local_authority. */
static void
bad_filter(struct fx *f, const char *path)
{
    struct it_resp r;

    it_get(f->s, path, f->admin, &r);
    it_assert_problem(&r, 400);
    assert_non_null(strstr(it_json_str(&r, "detail"), "local_authority"));
    it_resp_free(&r);
}

/* Location `id`'s local_authority as admin reads it: "CODE=NAME", "CODE=" (no name) or "null"
 * (malloc'd). */
static char *
area_of(struct fx *f, const char *id)
{
    struct it_resp r;
    json_t *a;
    char *v;

    it_getf(f->s, f->admin, &r, "/v1/locations/%s", id);
    it_assert_status(&r, 200);
    a = json_object_get(r.json, "local_authority");
    assert_non_null(a); /* always present */
    v = json_is_null(a)
            ? strdup("null")
            : it_fmt("%s=%s", it_jstr(a, "code"),
                     json_is_null(json_object_get(a, "name")) ? "" : it_jstr(a, "name"));
    it_resp_free(&r);
    return v;
}

static void
assert_area(struct fx *f, const char *id, const char *want)
{
    char *got = area_of(f, id);

    assert_string_equal(got, want);
    free(got);
}

/* ---- Locations and programmes -------------------------------------------------------------- */

static void
test_location_local_authority(void **state)
{
    struct fx *f = *state;
    char *id;

    /* The demo's sites carry their real districts, named. */
    assert_area(f, GUN_WHARF, "E06000035=Medway");
    assert_area(f, "b0000000-0000-4000-8000-000000000007", "S12000036=City of Edinburgh");
    assert_area(f, "b0000000-0000-4000-8000-000000000021", "E07000145=Great Yarmouth");
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM location l JOIN postcode p"
                                    " ON p.postcode = l.postcode JOIN local_authority a"
                                    " ON a.code = p.oslaua"),
                     25);

    /* A site whose postcode is not loaded has none; once the postcode is (with a district not
     * yet named), the same site answers it: read through the postcode, never stored. */
    id = it_post_created(f->s, f->medway,
                         "{\"name\": \"Lerwick Rooms\", \"kind\": \"community\", \"address_lines\":"
                         " [\"1 Commercial Street\"], \"town\": \"Lerwick\", \"postcode\":"
                         " \"ZE1 0AA\"}",
                         NULL, "/v1/locations");
    assert_area(f, id, "null");
    PQclear(it_sql(f->s, "INSERT INTO postcode VALUES ('ZE1 0AA', 60.155, -1.145, 'S12000027',"
                         " 'S92000003')"));
    assert_area(f, id, "S12000027=");
    PQclear(it_sql(f->s, "INSERT INTO local_authority VALUES ('S12000027', 'Shetland Islands')"));
    assert_area(f, id, "S12000027=Shetland Islands");
    free(id);
}

static void
test_filters(void **state)
{
    struct fx *f = *state;

    /* Locations: the licensing body sees every organisation's, a licensee its own only. */
    list_is(f, f->admin, "/v1/locations?local_authority=E08000035", 3,
            "SELECT coalesce(string_agg(l.id::text, ',' ORDER BY l.name, l.id), '') FROM location l"
            " WHERE l.archived_at IS NULL AND l.postcode LIKE 'LS%'");
    list_is(f, f->medway, "/v1/locations?local_authority=E08000035", 0, "SELECT ''");
    list_is(f, f->medway, "/v1/locations?local_authority=E06000035&kind=school", 1,
            "SELECT id::text FROM location WHERE id = 'b0000000-0000-4000-8000-000000000003'");
    list_is(f, f->admin, "/v1/locations?local_authority=E09000001", 0, "SELECT ''");

    /* Programmes: by the district of the run's site. */
    list_is(f, f->admin, "/v1/programmes?local_authority=E06000035", 1,
            "SELECT coalesce(string_agg(r.id::text, ',' ORDER BY r.starts_on, r.id), '')"
            " FROM programme_run r JOIN location l ON l.id = r.location_id"
            " WHERE l.postcode LIKE 'ME%'");
    list_is(f, f->admin, "/v1/programmes?local_authority=E08000035&status=completed", 0,
            "SELECT coalesce(string_agg(r.id::text, ',' ORDER BY r.starts_on, r.id), '')"
            " FROM programme_run r JOIN location l ON l.id = r.location_id"
            " WHERE l.postcode LIKE 'LS%' AND r.status = 'completed'");
    list_is(f, f->medway, "/v1/programmes?local_authority=E06000023", 0, "SELECT ''");
    assert_true(it_count(f->s, "SELECT count(*) FROM programme_run r JOIN location l"
                               " ON l.id = r.location_id WHERE l.postcode LIKE 'BS%'")
                > 0); /* Bristol's runs exist: Medway's admin just may not see them */

    bad_filter(f, "/v1/locations?local_authority=medway");
    bad_filter(f, "/v1/locations?local_authority=e06000035");
    bad_filter(f, "/v1/programmes?local_authority=E0600003");
    bad_filter(f, "/v1/programmes?local_authority=E060000351");
}

/* ---- serves_areas -------------------------------------------------------------------------- */

#define ORG_BODY(areas)                                                                            \
    "{\"name\": \"Kent Areas Trust\", \"kind\": \"charity\", \"address_lines\": [\"1 High"         \
    " Street\"], \"town\": \"Chatham\", \"postcode\": \"ME4 4TR\", \"serves_areas\": " areas "}"

/* The stored serves_areas and version of organisation `id`, as one string (malloc'd). */
static char *
stored_areas(struct fx *f, const char *id)
{
    return it_sql_text(f->s,
                       "SELECT serves_areas::text || ' v' || version FROM organisation"
                       " WHERE id = $1::uuid",
                       id);
}

static void
test_serves_areas(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *id, *etag, *before, *after;
    long audits;

    /* Created by the licensing body with its areas; each code known and named once. */
    it_post_json(f->s, "/v1/organisations", f->admin, ORG_BODY("[\"E06000035\", \"X12345678\"]"),
                 &r);
    it_assert_field_error_with(&r, "serves_areas", "X12345678");
    it_resp_free(&r);
    it_post_json(f->s, "/v1/organisations", f->admin, ORG_BODY("[\"E06000035\", \"E06000035\"]"),
                 &r);
    it_assert_field_error_with(&r, "serves_areas", "E06000035 is named twice");
    it_resp_free(&r);
    it_expect_field(f->s, "POST", "/v1/organisations", f->admin, ORG_BODY("\"E06000035\""),
                    "serves_areas");
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM organisation"
                                    " WHERE name = 'Kent Areas Trust'"),
                     0);
    id = it_post_created(f->s, f->admin, ORG_BODY("[\"E06000035\", \"E07000145\"]"), NULL,
                         "/v1/organisations");
    it_getf(f->s, f->admin, &r, "/v1/organisations/%s", id);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "serves_areas")), 2);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(r.json, "serves_areas"), 1)), "E07000145");
    it_resp_free(&r);
    free(id);

    /* Medway's areas, changed by the licensing body only; a refusal writes nothing. */
    audits = it_count(f->s, "SELECT count(*) FROM audit_event WHERE resource_type ="
                            " 'organisation' AND resource_id = '" MEDWAY_ORG "'");
    etag = it_etag_of(f->s, f->admin, "/v1/organisations/%s", MEDWAY_ORG);
    before = stored_areas(f, MEDWAY_ORG);
    assert_string_equal(before, "{E06000035} v1");
    it_patchf(f->s, f->admin, etag, "{\"serves_areas\": [\"E06000035\", \"E99999999\"]}", &r,
              "/v1/organisations/%s", MEDWAY_ORG);
    it_assert_field_error_with(&r, "serves_areas", "E99999999");
    it_resp_free(&r);
    it_patchf(f->s, f->admin, etag,
              "{\"serves_areas\": [\"E07000145\", \"E06000035\", \"E07000145\"]}", &r,
              "/v1/organisations/%s", MEDWAY_ORG);
    it_assert_field_error_with(&r, "serves_areas", "named twice");
    it_resp_free(&r);
    it_patchf(f->s, f->medway, etag, "{\"serves_areas\": [\"E06000035\", \"E07000145\"]}", &r,
              "/v1/organisations/%s", MEDWAY_ORG);
    it_assert_problem(&r, 403);
    assert_non_null(strstr(it_json_str(&r, "detail"), "serves_areas"));
    it_resp_free(&r);
    after = stored_areas(f, MEDWAY_ORG);
    assert_string_equal(after, before);
    free(after);
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM audit_event WHERE resource_type ="
                                    " 'organisation' AND resource_id = '" MEDWAY_ORG "'"),
                     audits);

    it_patchf(f->s, f->admin, etag, "{\"serves_areas\": [\"E07000145\", \"E06000035\"]}", &r,
              "/v1/organisations/%s", MEDWAY_ORG);
    it_assert_status(&r, 200);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(r.json, "serves_areas"), 0)), "E07000145");
    it_resp_free(&r);
    after = stored_areas(f, MEDWAY_ORG);
    assert_string_equal(after, "{E07000145,E06000035} v2");
    free(after);
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM audit_event WHERE resource_type ="
                                    " 'organisation' AND resource_id = '" MEDWAY_ORG "'"
                                    " AND action = 'update'"
                                    " AND before->'serves_areas' = '[\"E06000035\"]'"),
                     1);
    free(etag);

    /* The org_admin still edits its contact details; [] clears the areas. */
    etag = it_etag_of(f->s, f->medway, "/v1/organisations/%s", MEDWAY_ORG);
    it_expect_if(f->s, "PATCH", "/v1/organisations/" MEDWAY_ORG, f->medway, etag,
                 "{\"phone\": \"01634 306001\"}", 200);
    free(etag);
    etag = it_etag_of(f->s, f->admin, "/v1/organisations/%s", MEDWAY_ORG);
    it_expect_if(f->s, "PATCH", "/v1/organisations/" MEDWAY_ORG, f->admin, etag,
                 "{\"serves_areas\": []}", 200);
    free(etag);
    after = stored_areas(f, MEDWAY_ORG);
    assert_string_equal(after, "{} v4");
    free(after);
    free(before);
}

/* ---- Imports ------------------------------------------------------------------------------- */

static void
test_import_areas(void **state)
{
    struct fx *f = *state;
    const char *out;

    /* Line 2 of the file is the first data row; "nothing loaded" covers the rows before the bad
     * one (a new district, a rename). */
    areas_refused(f, NULL, "cannot open /nonexistent/la_ua.csv");
    areas_refused(f, "", "is empty");
    areas_refused(f, "LAD23CD,LAD23NM\r\n", "has no rows after its header");
    areas_refused(f, "pcds,lat,long\r\nE09000001,City of London\r\n", "line 1: the header row");
    areas_refused(f,
                  "LAD23CD,LAD23NM\r\nE09000001,City of London\r\nE06000035,Renamed\r\n"
                  "NOTACODE,Somewhere\r\n",
                  "line 4: 'NOTACODE' is not an ONS code");
    areas_refused(f, "LAD23CD,LAD23NM\r\nE09000002,Barking and Dagenham\r\nE09000002,Barking\r\n",
                  "line 3: E09000002 is listed twice");
    areas_refused(f, "LAD23CD,LAD23NM\r\nE09000001,City of London\r\nE09000003,  \r\n",
                  "line 3: the name of E09000003");
    areas_refused(f, "LAD23CD,LAD23NM\r\n\r\nE09000003\r\n", "line 3: expected a code and a name");
    areas_refused(f, "LAD23CD,LAD23NM\r\nE09000001,City of London\r\nE09000004,\"Unclosed\r\n",
                  "line 3: not valid CSV");

    /* A good file (the ONS layout with a byte-order mark and the Welsh names): one added, one
     * renamed, one as it was; the site reads the new name at once. */
    out = run_ok(f, "import-areas",
                 write_file(f, "\xEF\xBB\xBFLAD21CD,LAD21NM,LAD21NMW\r\n"
                               "E06000035,Medway Towns,\r\n"
                               " E09000001 ,\"City of London\",\r\n"
                               "W06000015,Cardiff,Caerdydd\r\n"));
    it_assert_contains(out, "rows read: 3\n");
    it_assert_contains(out, "added: 1\n");
    it_assert_contains(out, "renamed: 1\n");
    it_assert_contains(out, "unchanged: 1\n");
    assert_area(f, GUN_WHARF, "E06000035=Medway Towns");
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM local_authority"
                                    " WHERE code = 'E09000001' AND name = 'City of London'"),
                     1);

    /* The generated file of gen_postcodes.sh --areas: 1000 districts, names with commas. */
    out = run_ok(f, "import-areas", generate(f, "--areas"));
    it_assert_contains(out, "rows read: 1000\n");
    it_assert_contains(out, "added: 998\n"); /* and Great Yarmouth and Norwich renamed */
    it_assert_contains(out, "renamed: 2\n");
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM local_authority WHERE code LIKE"
                                    " 'E07000%' AND name LIKE 'Synthetic District %, Borough of'"),
                     1000);
}

/* Last: each import replaces the whole postcode table. */
static void
test_import_postcodes_districts(void **state)
{
    struct fx *f = *state;
    const char *out;

    /* The generated ONSPD: every postcode with its district (named by the generated names file
     * loaded before) and England. */
    out = run_ok(f, "import-postcodes", generate(f, "3000"));
    it_assert_contains(out, "loaded: 1980\n"); /* 1000 terminated, 20 more without coordinates */
    it_assert_contains(out, "with local authority: 1980\n");
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM postcode p JOIN local_authority a"
                                    " ON a.code = p.oslaua WHERE p.ctry = 'E92000001'"),
                     1980);
    /* Row r is in district r % 1000: 10 districts keep no live, located row (r % 100 == 7). */
    assert_int_equal(it_count(f->s, "SELECT count(DISTINCT oslaua) FROM postcode"), 990);

    /* The NSPL calls the district laua; pseudo-codes and blanks load as none. The demo site
     * now reads the district this file gives its postcode, and the filter follows. */
    out = run_ok(
        f, "import-postcodes",
        write_file(f, "\"pcds\",\"doterm\",\"laua\",\"ctry\",\"lat\",\"long\"\r\n"
                      "\"ME4 4TR\",\"\",\"E06000023\",\"E92000001\",\"51.3853\",\"0.5233\"\r\n"
                      "\"ME4 5BA\",\"\",\"E99999999\",\"E92000001\",\"51.3745\",\"0.5370\"\r\n"
                      "\"JE2 3AB\",\"\",\"L99999999\",\"L93000001\",\"49.19\",\"-2.11\"\r\n"
                      "\"ME7 5XX\",\"\",\"\",\" W92000004 \",\"51.3780\",\"0.5570\"\r\n"
                      "\"BS1 4NT\",\"\",\"E6000023\",\"E92000001x\",\"51.4508\",\"-2.5945\"\r\n"));
    it_assert_contains(out, "loaded: 5\n");
    it_assert_contains(out, "with local authority: 1\n");
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM postcode WHERE (postcode, oslaua, ctry)"
                                    " IN (('ME4 4TR', 'E06000023', 'E92000001'))"
                                    " OR (postcode IN ('ME4 5BA', 'ME7 5XX', 'BS1 4NT', 'JE2 3AB')"
                                    " AND oslaua IS NULL)"),
                     5);
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM postcode WHERE ctry IS NULL"
                                    " AND postcode = 'BS1 4NT' OR ctry = 'W92000004'"
                                    " AND postcode = 'ME7 5XX' OR ctry = 'L93000001'"),
                     3);
    assert_area(f, GUN_WHARF, "E06000023=Bristol, City of");
    assert_area(f, "b0000000-0000-4000-8000-000000000002", "null");
    list_is(f, f->medway, "/v1/locations?local_authority=E06000023", 1, "SELECT '" GUN_WHARF "'");

    /* Without the columns the postcodes still load, and the summary says why none has one. */
    out = run_ok(f, "import-postcodes",
                 write_file(f, "pcds,lat,long,doterm\r\nME4 4TR,51.3853,0.5233,\r\n"));
    it_assert_contains(out, "with local authority: 0 (the file has no oslaua or laua column)\n");
    assert_area(f, GUN_WHARF, "null");
}

/* In this order: the imports last, each test on what the one before left. */
TEST_MAIN(group_setup,
          it_fx_teardown,
          cmocka_unit_test(test_location_local_authority),
          cmocka_unit_test(test_filters),
          cmocka_unit_test(test_serves_areas),
          cmocka_unit_test(test_import_areas),
          cmocka_unit_test(test_import_postcodes_districts))
