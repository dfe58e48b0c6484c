/* it_facilitators.c: /v1/facilitators over HTTP against the real server and PostgreSQL:
 * registering (by admin and by org_admin; the first history, employment and audit rows), every
 * validation error with nothing written, reading by UUID and by registration number, the public
 * view another licensee gets (no private fields) and the 404 when they try to change it, edits,
 * employer changes (move, release; taking someone on is an employment request the licensing body
 * approves or declines), every allowed status transition and the forbidden
 * ones, If-Match (428, 412, two PATCHes at once with one ETag), lists (filters, keyset pages,
 * CSV parsed back) and the bulk status check of 100 numbers in JSON and CSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"
#include "registry/password.h"

#define ADMIN_EMAIL "admin@facilitators.example"
#define PASSWORD    "facilitators-test-password-1"
#define NO_SUCH_ID  "00000000-0000-4000-8000-000000000000"
#define RACE_ROUNDS 6
#define CHECK_REAL  60 /* registered facilitators in the 100-number check */

struct fx {
    IT_FX_HEAD;
    char today[16]; /* registry_today() */
    int orgs;       /* made so far, for unique names */
};

/* ---- Helpers ------------------------------------------------------------------------------- */

static char *
create_org(struct fx *f)
{
    return it_create_org(f->s, f->admin, NULL, NULL, "Facilitator Test Org %d", ++f->orgs);
}

/* Registers a facilitator with `token`; `org_json` is the organisation_id member ("" for none,
 * e.g. "\"organisation_id\": \"...\", "). Expects 201. */
static struct it_fac
create_fac(struct fx *f, const char *token, const char *given, const char *family, const char *org)
{
    char *body = org != NULL
                     ? it_fmt("{\"given_name\": \"%s\", \"family_name\": \"%s\","
                              " \"email\": \"%s.%s@example.org\", \"phone\": \"01634 123456\","
                              " \"organisation_id\": \"%s\"}",
                              given, family, given, family, org)
                     : it_fmt("{\"given_name\": \"%s\", \"family_name\": \"%s\","
                              " \"email\": \"%s.%s@example.org\"}",
                              given, family, given, family);
    struct it_fac p = it_create_fac(f->s, token, body);

    free(body);
    return p;
}

/* PATCHes `p` as admin with `body`, expects 200 and keeps the new ETag. */
static void
patch_ok(struct fx *f, struct it_fac *p, const char *token, const char *body, struct it_resp *out)
{
    struct it_resp r;

    it_patchf(f->s, token, p->etag, body, &r, "/v1/facilitators/%s", p->id);
    it_assert_status(&r, 200);
    assert_non_null(it_header(&r, "ETag"));
    assert_string_not_equal(it_header(&r, "ETag"), p->etag);
    it_renew_etag(&r, &p->etag);
    if (out != NULL) {
        *out = r;
    } else {
        it_resp_free(&r);
    }
}

/* Rows that any write would add or change. */
static long
writes(struct fx *f)
{
    return it_count(f->s,
                    "SELECT (SELECT count(*) FROM facilitator)"
                    " + (SELECT count(*) FROM facilitator_status_history)"
                    " + (SELECT count(*) FROM facilitator_employment)"
                    " + (SELECT count(*) FROM facilitator_employment WHERE ended_on IS NULL)"
                    " + (SELECT count(*) FROM audit_event)"
                    " + (SELECT coalesce(sum(version), 0) FROM facilitator)"
                    " + (SELECT count(*) FROM facilitator_employment_request)"
                    " + (SELECT coalesce(sum(version), 0) FROM facilitator_employment_request)");
}

static long
history_rows(struct fx *f, const char *id)
{
    return it_count(
        f->s, "SELECT count(*) FROM facilitator_status_history WHERE facilitator_id = $1::uuid",
        id);
}

/* The index of `name` in a CSV header row, failing when absent. */
static size_t
csv_col(json_t *header, const char *name)
{
    size_t i;
    json_t *v;

    json_array_foreach(header, i, v)
    {
        if (strcmp(json_string_value(v), name) == 0) {
            return i;
        }
    }
    fail_msg("CSV header lacks %s", name);
    return 0;
}

static const char *
cell(json_t *rows, size_t row, size_t col)
{
    return json_string_value(json_array_get(json_array_get(rows, row), col));
}

/* ---- Fixture ------------------------------------------------------------------------------- */

static int
group_setup(void **state)
{
    struct fx *f =
        it_fx_start(sizeof(*f), "facilitators", NULL, ADMIN_EMAIL, PASSWORD, IT_FX_ID | IT_FX_HASH);

    it_day(f->s, 0, f->today, sizeof(f->today));
    *state = f;
    return 0;
}

/* ---- Create -------------------------------------------------------------------------------- */

static void
test_create_by_admin(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f), *loc, *lower;
    struct it_resp r, g;
    const char *id, *number;
    json_t *emp, *hist;
    size_t i;

    it_expect_field(f->s, "POST", "/v1/facilitators", f->admin,
                    "{\"given_name\": \"  Ada \", \"family_name\": \"Lovelace\","
                    " \"email\": \"ada@example.org\", \"phone\": \"+44 1634 000111\","
                    " \"organisation_id\": \"" NO_SUCH_ID "\"}",
                    "organisation_id");

    loc = it_fmt("{\"given_name\": \"  Ada \", \"family_name\": \"Lovelace\","
                 " \"email\": \"ada@example.org\", \"phone\": \"+44 1634 000111\","
                 " \"organisation_id\": \"%s\"}",
                 org);
    it_post_json(f->s, "/v1/facilitators", f->admin, loc, &r);
    free(loc);
    it_assert_status(&r, 201);
    id = it_json_str(&r, "id");
    assert_non_null(id);
    loc = it_fmt("/v1/facilitators/%s", id);
    it_assert_header(&r, "Location", loc);
    free(loc);
    it_assert_header(&r, "ETag", "\"");
    number = it_json_str(&r, "registration_number");
    assert_non_null(number);
    assert_int_equal(strlen(number), 10);
    assert_memory_equal(number, "MPF-", 4);
    for (i = 4; i < 10; i++) {
        assert_true(number[i] >= '0' && number[i] <= '9');
    }
    it_assert_strs(&r, IT_ROW("given_name", "Ada", "family_name", "Lovelace", "email",
                              "ada@example.org", "phone", "+44 1634 000111", "status",
                              "in_training", "organisation_id", org));
    assert_non_null(it_json_str(&r, "organisation_name"));
    assert_true(json_is_null(json_object_get(r.json, "accredited_on")));
    assert_true(json_is_null(json_object_get(r.json, "accredited_until")));
    assert_true(json_is_false(json_object_get(r.json, "trainer")));
    assert_null(json_object_get(r.json, "version"));
    emp = json_object_get(r.json, "employment_history");
    assert_int_equal(json_array_size(emp), 1);
    assert_string_equal(it_jstr(json_array_get(emp, 0), "organisation_id"), org);
    assert_string_equal(it_jstr(json_array_get(emp, 0), "from"), f->today);
    assert_true(json_is_null(json_object_get(json_array_get(emp, 0), "to")));
    assert_non_null(it_jstr(json_array_get(emp, 0), "organisation_name"));
    hist = json_object_get(r.json, "status_history");
    assert_int_equal(json_array_size(hist), 1);
    assert_string_equal(it_jstr(json_array_get(hist, 0), "status"), "in_training");
    assert_string_equal(it_jstr(json_array_get(hist, 0), "effective_on"), f->today);

    /* The same record by UUID, by registration number, and in lower case; same ETag. */
    it_getf(f->s, f->admin, &g, "/v1/facilitators/%s", id);
    it_assert_status(&g, 200);
    assert_true(json_equal(g.json, r.json));
    assert_string_equal(it_header(&g, "ETag"), it_header(&r, "ETag"));
    it_resp_free(&g);
    it_getf(f->s, f->admin, &g, "/v1/facilitators/%s", number);
    it_assert_status(&g, 200);
    assert_true(json_equal(g.json, r.json));
    it_resp_free(&g);
    lower = strdup(number);
    lower[0] = 'm';
    lower[1] = 'p';
    lower[2] = 'f';
    it_getf(f->s, f->admin, &g, "/v1/facilitators/%s", lower);
    it_assert_status(&g, 200);
    assert_string_equal(it_json_str(&g, "id"), id);
    it_resp_free(&g);
    free(lower);

    /* One facilitator, one history row, one employment, one audit row, all by the admin. */
    it_assert_row(f->s, IT_ROW("in_training", f->today, f->admin_id),
                  "SELECT status, effective_on::text, changed_by::text"
                  " FROM facilitator_status_history WHERE facilitator_id = $1::uuid",
                  id);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM facilitator_employment"
                              " WHERE facilitator_id = $1::uuid AND organisation_id = $2::uuid"
                              " AND started_on = registry_today() AND ended_on IS NULL",
                              id, org),
                     1);
    it_assert_row(f->s, IT_ROW("create", f->admin_id, "t", number, "ada@example.org"),
                  "SELECT action, actor_id::text, before IS NULL, after->>'registration_number',"
                  " after->>'email' FROM audit_event"
                  " WHERE resource_type = 'facilitator' AND resource_id = $1",
                  id);

    /* Numbers follow on; an admin may register someone without an employer. */
    {
        struct it_fac p = create_fac(f, f->admin, "Bob", "Nobody", NULL);
        struct it_resp n;

        assert_string_not_equal(p.number, number);
        it_getf(f->s, f->admin, &n, "/v1/facilitators/%s", p.id);
        it_assert_status(&n, 200);
        assert_true(json_is_null(json_object_get(n.json, "organisation_id")));
        assert_int_equal(json_array_size(json_object_get(n.json, "employment_history")), 0);
        assert_true(json_is_null(json_object_get(n.json, "phone")));
        it_resp_free(&n);
        assert_int_equal(
            it_count(f->s,
                     "SELECT count(*) FROM facilitator_employment WHERE facilitator_id = $1::uuid",
                     p.id),
            0);
        it_fac_free(&p);
    }
    it_resp_free(&r);
    free(org);
}

static void
test_create_by_licensees(void **state)
{
    struct fx *f = *state;
    char *org_a = create_org(f), *org_b = create_org(f);
    char *boss = it_fx_member(f, "org_admin", org_a), *staff = it_fx_member(f, "org_staff", org_a);
    char *body, past[16];
    struct it_resp r;
    long before;

    /* An org_admin registers their own staff: organisation_id defaults to theirs. */
    it_post_json(f->s, "/v1/facilitators", boss,
                 "{\"given_name\": \"Cara\", \"family_name\": \"Own\","
                 " \"email\": \"cara@example.org\"}",
                 &r);
    it_assert_status(&r, 201);
    it_assert_strs(
        &r, IT_ROW("organisation_id", org_a, "status", "in_training", "email", "cara@example.org"));
    it_resp_free(&r);

    /* Explicitly their own, with a past employed_from. */
    it_day(f->s, -40, past, sizeof(past));
    body =
        it_fmt("{\"given_name\": \"Dan\", \"family_name\": \"Own\", \"email\": \"d@example.org\","
               " \"organisation_id\": \"%s\", \"employed_from\": \"%s\"}",
               org_a, past);
    it_post_json(f->s, "/v1/facilitators", boss, body, &r);
    free(body);
    it_assert_status(&r, 201);
    assert_string_equal(
        it_jstr(json_array_get(json_object_get(r.json, "employment_history"), 0), "from"), past);
    /* The status history still starts today. */
    assert_string_equal(
        it_jstr(json_array_get(json_object_get(r.json, "status_history"), 0), "effective_on"),
        f->today);
    it_resp_free(&r);

    /* Another organisation's staff: 403; org_staff may not register anyone: 403. Nothing
     * written. */
    before = writes(f);
    body =
        it_fmt("{\"given_name\": \"Eve\", \"family_name\": \"Other\", \"email\": \"e@example.org\","
               " \"organisation_id\": \"%s\"}",
               org_b);
    it_expect(f->s, "POST", "/v1/facilitators", boss, body, 403);
    free(body);
    it_expect(f->s, "POST", "/v1/facilitators", staff,
              "{\"given_name\": \"Eve\", \"family_name\": \"Other\","
              " \"email\": \"e@example.org\"}",
              403);
    it_expect(f->s, "POST", "/v1/facilitators", NULL,
              "{\"given_name\": \"Eve\", \"family_name\": \"Other\","
              " \"email\": \"e@example.org\"}",
              401);
    assert_int_equal(writes(f), before);
    free(boss);
    free(staff);
    free(org_a);
    free(org_b);
}

static void
test_create_validation(void **state)
{
    static const struct it_field_case cases[] = {
        {"{\"family_name\": \"X\", \"email\": \"x@example.org\"}", "given_name"},
        {"{\"given_name\": \"X\", \"email\": \"x@example.org\"}", "family_name"},
        {"{\"given_name\": \"X\", \"family_name\": \"Y\"}", "email"},
        {"{}", "given_name"},
        {"{\"given_name\": \"\", \"family_name\": \"Y\", \"email\": \"x@example.org\"}",
         "given_name"},
        {"{\"given_name\": \"   \", \"family_name\": \"Y\", \"email\": \"x@example.org\"}",
         "given_name"},
        {"{\"given_name\": 7, \"family_name\": \"Y\", \"email\": \"x@example.org\"}", "given_name"},
        {"{\"given_name\": \"X\", \"family_name\": null, \"email\": \"x@example.org\"}",
         "family_name"},
        {"{\"given_name\": \"X\", \"family_name\": \"Y\", \"email\": \"not-an-email\"}", "email"},
        {"{\"given_name\": \"X\", \"family_name\": \"Y\", \"email\": \"x@example.org\","
         " \"phone\": \"call me\"}",
         "phone"},
        {"{\"given_name\": \"X\", \"family_name\": \"Y\", \"email\": \"x@example.org\","
         " \"organisation_id\": \"nope\"}",
         "organisation_id"},
        {"{\"given_name\": \"X\", \"family_name\": \"Y\", \"email\": \"x@example.org\","
         " \"organisation_id\": \"" NO_SUCH_ID "\"}",
         "organisation_id"},
        {"{\"given_name\": \"X\", \"family_name\": \"Y\", \"email\": \"x@example.org\","
         " \"employed_from\": \"2025-01-01\"}",
         "employed_from"},
        {"{\"given_name\": \"X\", \"family_name\": \"Y\", \"email\": \"x@example.org\","
         " \"status\": \"accredited\"}",
         "status"},
        {"{\"given_name\": \"X\", \"family_name\": \"Y\", \"email\": \"x@example.org\","
         " \"registration_number\": \"MPF-000001\"}",
         "registration_number"},
    };
    struct fx *f = *state;
    char *org = create_org(f), *body, *longname, future[16];
    long before = writes(f);
    struct it_resp r;

    it_field_errors(f->s, "POST", "/v1/facilitators", f->admin, NULL, cases, IT_LEN(cases));
    /* employed_from: a real date, not in the future. */
    body = it_fmt("{\"given_name\": \"X\", \"family_name\": \"Y\", \"email\": \"x@example.org\","
                  " \"organisation_id\": \"%s\", \"employed_from\": \"2025-02-30\"}",
                  org);
    it_expect_field(f->s, "POST", "/v1/facilitators", f->admin, body, "employed_from");
    free(body);
    body = it_fmt("{\"given_name\": \"X\", \"family_name\": \"Y\", \"email\": \"x@example.org\","
                  " \"organisation_id\": \"%s\", \"employed_from\": \"%s\"}",
                  org, it_day(f->s, 1, future, sizeof(future)));
    it_expect_field(f->s, "POST", "/v1/facilitators", f->admin, body, "employed_from");
    free(body);
    /* A name of 101 characters. */
    longname = malloc(102);
    memset(longname, 'n', 101);
    longname[101] = '\0';
    body = it_fmt("{\"given_name\": \"%s\", \"family_name\": \"Y\", \"email\": \"x@example.org\"}",
                  longname);
    it_expect_field(f->s, "POST", "/v1/facilitators", f->admin, body, "given_name");
    free(body);
    free(longname);
    /* Several errors at once are all named. */
    it_post_json(f->s, "/v1/facilitators", f->admin, "{\"email\": 1, \"colour\": \"red\"}", &r);
    it_assert_field_errors(&r, IT_ROW("email", "colour", "given_name", "family_name"));
    it_resp_free(&r);
    /* An archived employer. */
    {
        PGresult *res = it_sql(f->s, "INSERT INTO organisation (name, kind, address_lines, town,"
                                     " postcode, archived_at) VALUES ('Archived', 'other',"
                                     " '[\"x\"]', 'Town', 'ME4 4AB', now()) RETURNING id::text");

        body = it_fmt("{\"given_name\": \"X\", \"family_name\": \"Y\","
                      " \"email\": \"x@example.org\", \"organisation_id\": \"%s\"}",
                      PQgetvalue(res, 0, 0));
        PQclear(res);
        before = writes(f);
        it_expect_field(f->s, "POST", "/v1/facilitators", f->admin, body, "organisation_id");
        free(body);
    }
    /* Not JSON, wrong type, not an object. */
    {
        static const char *const ct[] = {"Content-Type: text/plain", NULL};

        it_expect(f->s, "POST", "/v1/facilitators", f->admin, "{\"given_name\": ", 400);
        it_request(f->s, "POST", "/v1/facilitators", f->admin, ct, "{}", &r);
        it_assert_problem(&r, 415);
        it_resp_free(&r);
    }
    assert_int_equal(writes(f), before);
    free(org);
}

/* ---- Who sees what ------------------------------------------------------------------------- */

static void
test_visibility(void **state)
{
    static const char *const private_fields[] = {
        "email",          "phone",      "employment_history",
        "status_history", "reason",     "trainer",
        "accredited_on",  "created_at", NULL};
    struct fx *f = *state;
    char *org_a = create_org(f), *org_b = create_org(f);
    char *boss_a = it_fx_member(f, "org_admin", org_a),
         *staff_a = it_fx_member(f, "org_staff", org_a);
    char *boss_b = it_fx_member(f, "org_admin", org_b);
    struct it_fac fa = create_fac(f, f->admin, "Alice", "Avon", org_a);
    struct it_fac fb = create_fac(f, f->admin, "Bea", "Bath", org_b);
    const char *const *k;
    struct it_resp r;
    long before;
    char *path;

    /* The org_admin of the employer: the full record, with ETag. */
    it_getf(f->s, boss_a, &r, "/v1/facilitators/%s", fa.id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "email"), "Alice.Avon@example.org");
    assert_non_null(json_object_get(r.json, "employment_history"));
    assert_string_equal(it_header(&r, "ETag"), fa.etag);
    it_resp_free(&r);
    it_getf(f->s, boss_a, &r, "/v1/facilitators/%s", fa.number); /* by registration number */
    it_assert_status(&r, 200);
    it_assert_strs(&r, IT_ROW("id", fa.id, "email", "Alice.Avon@example.org"));
    assert_non_null(json_object_get(r.json, "status_history"));
    assert_string_equal(it_header(&r, "ETag"), fa.etag);
    it_resp_free(&r);

    /* In training, Alice is not on the public register, and so not in another organisation's
     * view either: 404 by UUID, by number, and in a status check (not_found). Her own
     * organisation's staff still see her. */
    it_expectf(f->s, "GET", boss_b, NULL, NULL, 404, "/v1/facilitators/%s", fa.id);
    it_expectf(f->s, "GET", boss_b, NULL, NULL, 404, "/v1/facilitators/%s", fa.number);
    {
        char *check = it_fmt("{\"registration_numbers\": [\"%s\"]}", fa.number);

        it_post_json(f->s, "/v1/facilitators/status-check", boss_b, check, &r);
        it_assert_status(&r, 200);
        assert_string_equal(
            it_jstr(json_array_get(json_object_get(r.json, "results"), 0), "status"), "not_found");
        assert_null(strstr(r.body, "Alice"));
        it_resp_free(&r);
        free(check);
    }
    it_getf(f->s, staff_a, &r, "/v1/facilitators/%s", fa.id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "in_training");
    it_resp_free(&r);
    patch_ok(f, &fa, f->admin, "{\"status\": \"accredited\", \"accredited_until\": \"2099-01-01\"}",
             NULL);

    /* Another organisation's admin, by UUID or registration number, and org_staff of the
     * employer: the public view only, without ETag. */
    {
        const char *tokens[3] = {boss_b, boss_b, staff_a};
        const char *refs[3] = {fa.id, fa.number, fa.id};
        int i;

        for (i = 0; i < 3; i++) {
            it_getf(f->s, tokens[i], &r, "/v1/facilitators/%s", refs[i]);
            it_assert_status(&r, 200);
            for (k = private_fields; *k != NULL; k++) {
                if (json_object_get(r.json, *k) != NULL) {
                    it_resp_print(&r);
                    fail_msg("public view holds %s", *k);
                }
            }
            it_assert_absent(r.body, "example.org", "01634", NULL);
            it_assert_strs(&r, IT_ROW("registration_number", fa.number, "given_name", "Alice",
                                      "family_name", "Avon", "status", "accredited",
                                      "organisation_id", org_a));
            assert_non_null(strstr(it_json_str(&r, "organisation_name"), "Facilitator Test Org"));
            assert_string_equal(it_json_str(&r, "accredited_until"), "2099-01-01");
            assert_null(it_header(&r, "ETag"));
            it_resp_free(&r);
        }
    }

    /* Another organisation cannot change them: 404, with any If-Match, nothing written. */
    before = writes(f);
    it_patchf(f->s, boss_b, "*", "{\"email\": \"stolen@example.org\"}", &r, "/v1/facilitators/%s",
              fa.id);
    it_assert_problem(&r, 404);
    assert_null(strstr(r.body, "Alice"));
    it_resp_free(&r);
    it_expectf(f->s, "PATCH", boss_b, fa.etag, "{\"organisation_id\": null}", 404,
               "/v1/facilitators/%s", fa.number);
    /* org_staff change nothing, not even their own colleagues. */
    it_expectf(f->s, "PATCH", staff_a, fa.etag, "{\"given_name\": \"Al\"}", 403,
               "/v1/facilitators/%s", fa.id);
    assert_int_equal(writes(f), before);

    /* Lists: a licensee sees their own current staff only; admin sees everyone. */
    path = it_fmt("/v1/facilitators?limit=100");
    it_get(f->s, path, boss_b, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_string_equal(it_jstr(json_array_get(json_object_get(r.json, "items"), 0), "id"), fb.id);
    assert_non_null(it_jstr(json_array_get(json_object_get(r.json, "items"), 0), "email"));
    it_resp_free(&r);
    it_get(f->s, path, staff_a, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_string_equal(it_jstr(json_array_get(json_object_get(r.json, "items"), 0), "id"), fa.id);
    assert_null(json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "email"));
    it_resp_free(&r);
    free(path);
    path = it_fmt("/v1/facilitators?organisation_id=%s", org_a);
    it_expect_items(f->s, boss_b, 0, "%s", path);
    it_expect_items(f->s, f->admin, 1, "%s", path);
    free(path);

    /* Unknown, malformed, unauthenticated. */
    it_expectf(f->s, "GET", f->admin, NULL, NULL, 404, "/v1/facilitators/%s", NO_SUCH_ID);
    it_expectf(f->s, "GET", boss_b, NULL, NULL, 404, "/v1/facilitators/%s", "MPF-999999");
    it_expectf(f->s, "GET", f->admin, NULL, NULL, 404, "/v1/facilitators/%s", "not-a-thing");
    it_expectf(f->s, "GET", NULL, NULL, NULL, 401, "/v1/facilitators/%s", fa.id);

    it_fac_free(&fa);
    it_fac_free(&fb);
    free(boss_a);
    free(staff_a);
    free(boss_b);
    free(org_a);
    free(org_b);
}

/* ---- Edits, If-Match, concurrency ---------------------------------------------------------- */

static void
test_edits(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f), *boss = it_fx_member(f, "org_admin", org);
    struct it_fac p = create_fac(f, f->admin, "Gwen", "Gower", org);
    struct it_resp r;
    PGresult *res;
    long before;

    patch_ok(f, &p, f->admin, "{\"given_name\": \"Gwendolen\", \"phone\": null, \"trainer\": true}",
             &r);
    assert_string_equal(it_json_str(&r, "given_name"), "Gwendolen");
    assert_true(json_is_null(json_object_get(r.json, "phone")));
    assert_true(json_is_true(json_object_get(r.json, "trainer")));
    assert_string_equal(it_json_str(&r, "status"), "in_training");
    it_resp_free(&r);
    /* No status change: no history row. */
    assert_int_equal(history_rows(f, p.id), 1);

    /* The org_admin of the employer edits contact details, by registration number. */
    it_patchf(f->s, boss, p.etag, "{\"email\": \"gwen@example.org\"}", &r, "/v1/facilitators/%s",
              p.number);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "email"), "gwen@example.org");
    it_renew_etag(&r, &p.etag);
    it_resp_free(&r);

    /* But not status, accreditation or trainer: 403, nothing written. */
    before = writes(f);
    it_expectf(f->s, "PATCH", boss, p.etag,
               "{\"status\": \"accredited\", \"accredited_until\": \"2099-01-01\"}", 403,
               "/v1/facilitators/%s", p.id);
    it_expectf(f->s, "PATCH", boss, p.etag, "{\"trainer\": false}", 403, "/v1/facilitators/%s",
               p.id);
    it_expectf(f->s, "PATCH", boss, p.etag, "{\"status\": \"withdrawn\", \"reason\": \"left\"}",
               403, "/v1/facilitators/%s", p.id);
    assert_int_equal(writes(f), before);

    /* Validation: 422 naming the field, nothing written. */
    {
        static const struct it_field_case cases[] = {
            {"{}", "body"},
            {"{\"email\": null}", "email"},
            {"{\"email\": \"bad\"}", "email"},
            {"{\"given_name\": \"\"}", "given_name"},
            {"{\"registration_number\": \"MPF-000009\"}", "registration_number"},
            {"{\"status\": \"lapsed\", \"reason\": \"x\"}", "status"},
            {"{\"status\": \"retired\"}", "status"},
            {"{\"reason\": \"why\"}", "reason"},
            {"{\"status\": \"suspended\"}", "reason"},
            {"{\"status\": \"withdrawn\"}", "reason"},
            {"{\"status\": \"suspended\", \"reason\": \"\"}", "reason"},
            {"{\"accredited_until\": \"2099-01-01\"}", "accredited_until"},
            {"{\"status\": \"suspended\", \"reason\": \"x\", \"accredited_on\": \"2025-01-01\"}",
             "accredited_on"},
            {"{\"status\": \"accredited\", \"accredited_until\": \"2099-02-30\"}",
             "accredited_until"},
            {"{\"employed_from\": \"2025-01-01\"}", "employed_from"},
            {"{\"organisation_id\": \"nope\"}", "organisation_id"},
            {"{\"organisation_id\": \"" NO_SUCH_ID "\"}", "organisation_id"},
            {"{\"trainer\": \"yes\"}", "trainer"},
            /* in_training to accredited by hand needs accredited_until. */
            {"{\"status\": \"accredited\"}", "accredited_until"},
            {"{\"status\": \"accredited\", \"accredited_on\": \"2030-01-01\","
             " \"accredited_until\": \"2029-01-01\"}",
             "accredited_until"},
        };
        char *path = it_fmt("/v1/facilitators/%s", p.id);

        before = writes(f);
        it_field_errors(f->s, "PATCH", path, f->admin, p.etag, cases, IT_LEN(cases));
        free(path);
        assert_int_equal(writes(f), before);
    }

    /* Every change is audited with before and after. */
    res = it_sql_rows(f->s, 3,
                      "SELECT action, actor_id::text, before->>'given_name', after->>'given_name'"
                      " FROM audit_event WHERE resource_type = 'facilitator' AND resource_id = $1"
                      " ORDER BY id",
                      p.id);
    it_assert_cells(res, 1, IT_ROW("update", f->admin_id, "Gwen", "Gwendolen"));
    it_assert_cells(res, 2, IT_ROW("update"));
    PQclear(res);
    it_fac_free(&p);
    free(boss);
    free(org);
}

static void
test_if_match(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f);
    struct it_fac p = create_fac(f, f->admin, "Ivy", "Ifmatch", org);
    const char *body = "{\"family_name\": \"Changed\"}";
    long before = writes(f);
    char *old = strdup(p.etag), *weak = it_fmt("W/%s", p.etag);

    it_expectf(f->s, "PATCH", f->admin, NULL, body, 428, "/v1/facilitators/%s", p.id);
    it_expectf(f->s, "PATCH", f->admin, "\"999\"", body, 412, "/v1/facilitators/%s", p.id);
    it_expectf(f->s, "PATCH", f->admin, weak, body, 412, "/v1/facilitators/%s", p.id);
    assert_int_equal(writes(f), before);

    patch_ok(f, &p, f->admin, body, NULL);
    /* Replaying the old ETag is stale, also for a status change. */
    it_expectf(f->s, "PATCH", f->admin, old, "{\"status\": \"withdrawn\", \"reason\": \"x\"}", 412,
               "/v1/facilitators/%s", p.id);
    assert_int_equal(history_rows(f, p.id), 1);
    /* Missing facilitator with If-Match: 404. */
    it_expectf(f->s, "PATCH", f->admin, old, body, 404, "/v1/facilitators/%s", NO_SUCH_ID);
    free(old);
    free(weak);
    it_fac_free(&p);
    free(org);
}

static void
test_concurrent_patches(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f);
    struct it_fac p = create_fac(f, f->admin, "Rae", "Race", org);
    int round;

    patch_ok(f, &p, f->admin, "{\"status\": \"accredited\", \"accredited_until\": \"2099-01-01\"}",
             NULL);
    for (round = 0; round < RACE_ROUNDS; round++) {
        struct it_race x;
        long hist = history_rows(f, p.id);
        char *path = it_fmt("/v1/facilitators/%s", p.id);
        const char *body[2];

        /* One renames, the other changes the status: either alone is fine. */
        body[0] = round % 2 == 0 ? "{\"given_name\": \"Rachel\"}" : "{\"given_name\": \"Rae\"}";
        body[1] = round % 2 == 0 ? "{\"status\": \"suspended\", \"reason\": \"race\"}"
                                 : "{\"status\": \"accredited\"}";
        it_race_patch_round(&x, f->s, round, "facilitator", p.id, path, f->admin, p.etag, body[0],
                            body[1]);
        free(path);
        assert_int_equal(history_rows(f, p.id), hist + (x.status[1] == 200 ? 1 : 0));
        free(p.etag);
        p.etag = it_etag_of(f->s, f->admin, "/v1/facilitators/%s", p.id);
        /* Keep the status alternating for the next round. */
        if (x.status[1] == 412) {
            patch_ok(f, &p, f->admin, body[1], NULL);
        }
    }
    it_fac_free(&p);
    free(org);
}

/* ---- Status transitions -------------------------------------------------------------------- */

/* Expects a 409 invalid-transition for `body` on `p`, with nothing written. */
static void
refused(struct fx *f, struct it_fac *p, const char *body)
{
    struct it_resp r;
    long before = writes(f);

    it_patchf(f->s, f->admin, p->etag, body, &r, "/v1/facilitators/%s", p->id);
    it_assert_problem(&r, 409);
    assert_string_equal(it_json_str(&r, "type"), "/problems/invalid-transition");
    it_resp_free(&r);
    assert_int_equal(writes(f), before);
}

static void
test_transitions(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f), past[16];
    struct it_fac p = create_fac(f, f->admin, "Tess", "Transit", org);
    struct it_fac q = create_fac(f, f->admin, "Tom", "Transit", org);
    struct it_resp r;
    PGresult *res;

    /* Not from in_training: suspended, in_training, lapsed is 422 (checked elsewhere). */
    refused(f, &p, "{\"status\": \"suspended\", \"reason\": \"x\"}");
    refused(f, &p, "{\"status\": \"in_training\"}");

    /* in_training -> accredited, by hand, with dates (accredited_on defaults to today). */
    patch_ok(f, &p, f->admin,
             "{\"status\": \"accredited\", \"accredited_until\": \"2099-03-31\","
             " \"reason\": \"passed practitioner course\"}",
             &r);
    it_assert_strs(&r, IT_ROW("status", "accredited", "accredited_on", f->today, "accredited_until",
                              "2099-03-31"));
    assert_int_equal(json_array_size(json_object_get(r.json, "status_history")), 2);
    it_resp_free(&r);
    refused(f, &p, "{\"status\": \"accredited\"}");
    refused(f, &p, "{\"status\": \"in_training\"}");

    /* accredited -> suspended (reason required) -> accredited (reinstated, same dates). */
    patch_ok(f, &p, f->admin, "{\"status\": \"suspended\", \"reason\": \"complaint\"}", &r);
    it_assert_strs(
        &r, IT_ROW("status", "suspended", "reason", "complaint", "accredited_until", "2099-03-31"));
    it_resp_free(&r);
    refused(f, &p, "{\"status\": \"suspended\", \"reason\": \"again\"}");
    patch_ok(f, &p, f->admin, "{\"status\": \"accredited\", \"reason\": \"cleared\"}", &r);
    it_assert_strs(&r, IT_ROW("status", "accredited", "accredited_until", "2099-03-31"));
    it_resp_free(&r);

    /* accredited -> withdrawn, which is final. */
    patch_ok(f, &p, f->admin, "{\"status\": \"withdrawn\", \"reason\": \"struck off\"}", &r);
    assert_string_equal(it_json_str(&r, "status"), "withdrawn");
    it_resp_free(&r);
    refused(f, &p, "{\"status\": \"accredited\", \"accredited_until\": \"2099-01-01\"}");
    refused(f, &p, "{\"status\": \"withdrawn\", \"reason\": \"again\"}");
    refused(f, &p, "{\"status\": \"suspended\", \"reason\": \"x\"}");
    refused(f, &p, "{\"status\": \"in_training\"}");

    /* Each change left one history row, effective today, by the admin, oldest first. */
    res = it_sql_rows(f->s, 5,
                      "SELECT status, reason, effective_on::text, changed_by::text,"
                      " accredited_until::text FROM facilitator_status_history"
                      " WHERE facilitator_id = $1::uuid ORDER BY id",
                      p.id);
    it_assert_cells(res, 0, IT_ROW("in_training"));
    it_assert_cells(res, 1, IT_ROW("accredited", "passed practitioner course"));
    assert_string_equal(PQgetvalue(res, 1, 4), "2099-03-31");
    it_assert_cells(res, 2, IT_ROW("suspended", "complaint"));
    it_assert_cells(res, 3, IT_ROW("accredited"));
    it_assert_cells(res, 4, IT_ROW("withdrawn", "struck off", f->today, f->admin_id));
    PQclear(res);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_type = 'facilitator'"
                              " AND resource_id = $1 AND action = 'update'"
                              " AND before->>'status' IS DISTINCT FROM after->>'status'",
                              p.id),
                     4);
    /* Names may still be corrected on a withdrawn record. */
    patch_ok(f, &p, f->admin, "{\"family_name\": \"Transitt\"}", NULL);

    /* in_training -> withdrawn. */
    patch_ok(f, &q, f->admin, "{\"status\": \"withdrawn\", \"reason\": \"left the course\"}", NULL);

    /* Lapsing: accredited with a past accredited_until reads lapsed; suspended then reinstated
     * past it still reads lapsed; lapsed cannot be set by hand. */
    {
        struct it_fac l = create_fac(f, f->admin, "Lara", "Lapse", org);
        char *body;

        it_day(f->s, -1, past, sizeof(past));
        body = it_fmt("{\"status\": \"accredited\", \"accredited_on\": \"2020-01-01\","
                      " \"accredited_until\": \"%s\"}",
                      past);
        patch_ok(f, &l, f->admin, body, &r);
        free(body);
        it_assert_strs(&r, IT_ROW("status", "lapsed", "accredited_on", "2020-01-01"));
        it_resp_free(&r);
        assert_int_equal(it_count(f->s,
                                  "SELECT count(*) FROM facilitator WHERE id = $1::uuid"
                                  " AND status = 'accredited'",
                                  l.id),
                         1);
        it_patchf(f->s, f->admin, l.etag, "{\"status\": \"lapsed\", \"reason\": \"x\"}", &r,
                  "/v1/facilitators/%s", l.id);
        it_assert_field_error(&r, "status");
        it_resp_free(&r);
        patch_ok(f, &l, f->admin, "{\"status\": \"suspended\", \"reason\": \"audit\"}", NULL);
        patch_ok(f, &l, f->admin, "{\"status\": \"accredited\"}", &r);
        assert_string_equal(it_json_str(&r, "status"), "lapsed");
        it_resp_free(&r);
        /* Reinstating with a new accredited_until makes it accredited again. */
        patch_ok(f, &l, f->admin, "{\"status\": \"suspended\", \"reason\": \"audit 2\"}", NULL);
        patch_ok(f, &l, f->admin,
                 "{\"status\": \"accredited\", \"accredited_until\": \"2099-01-01\"}", &r);
        it_assert_strs(&r, IT_ROW("status", "accredited", "accredited_on", "2020-01-01"));
        it_resp_free(&r);
        it_fac_free(&l);
    }
    it_fac_free(&p);
    it_fac_free(&q);
    free(org);
}

/* ---- Employment ---------------------------------------------------------------------------- */

static void
test_employment(void **state)
{
    struct fx *f = *state;
    char *org_a = create_org(f), *org_b = create_org(f), *org_c = create_org(f), *body;
    char *boss_a = it_fx_member(f, "org_admin", org_a),
         *boss_b = it_fx_member(f, "org_admin", org_b);
    char d60[16], d10[16], d9[16], d11[16], tomorrow[16];
    struct it_fac p, q;
    struct it_resp r;
    json_t *emp;
    long before;

    it_day(f->s, -60, d60, sizeof(d60));
    it_day(f->s, -10, d10, sizeof(d10));
    it_day(f->s, -9, d9, sizeof(d9));
    it_day(f->s, -11, d11, sizeof(d11));
    it_day(f->s, 1, tomorrow, sizeof(tomorrow));
    body =
        it_fmt("{\"given_name\": \"Mo\", \"family_name\": \"Mover\", \"email\": \"mo@example.org\","
               " \"organisation_id\": \"%s\", \"employed_from\": \"%s\"}",
               org_a, d60);
    p = it_create_fac(f->s, f->admin, body);
    free(body);

    /* An org_admin may not move their staff to another employer: 403. */
    before = writes(f);
    body = it_fmt("{\"organisation_id\": \"%s\"}", org_b);
    it_expectf(f->s, "PATCH", boss_a, p.etag, body, 403, "/v1/facilitators/%s", p.id);
    /* Nor take on someone employed elsewhere: 404. */
    it_expectf(f->s, "PATCH", boss_b, "*", body, 404, "/v1/facilitators/%s", p.id);
    free(body);
    /* employed_from: not in the future, not before the current employment started. */
    body = it_fmt("{\"organisation_id\": \"%s\", \"employed_from\": \"%s\"}", org_b, tomorrow);
    it_patchf(f->s, f->admin, p.etag, body, &r, "/v1/facilitators/%s", p.id);
    it_assert_field_error(&r, "employed_from");
    it_resp_free(&r);
    free(body);
    body = it_fmt("{\"organisation_id\": \"%s\", \"employed_from\": \"2000-01-01\"}", org_b);
    it_patchf(f->s, f->admin, p.etag, body, &r, "/v1/facilitators/%s", p.id);
    it_assert_field_error(&r, "employed_from");
    it_resp_free(&r);
    free(body);
    assert_int_equal(writes(f), before);

    /* The admin moves them from A to B from ten days ago: A ends the day before. */
    body = it_fmt("{\"organisation_id\": \"%s\", \"employed_from\": \"%s\"}", org_b, d10);
    patch_ok(f, &p, f->admin, body, &r);
    free(body);
    assert_string_equal(it_json_str(&r, "organisation_id"), org_b);
    emp = json_object_get(r.json, "employment_history");
    assert_int_equal(json_array_size(emp), 2);
    assert_string_equal(it_jstr(json_array_get(emp, 0), "organisation_id"), org_a);
    assert_string_equal(it_jstr(json_array_get(emp, 0), "from"), d60);
    assert_string_equal(it_jstr(json_array_get(emp, 0), "to"), d11);
    assert_string_equal(it_jstr(json_array_get(emp, 1), "organisation_id"), org_b);
    assert_string_equal(it_jstr(json_array_get(emp, 1), "from"), d10);
    assert_true(json_is_null(json_object_get(json_array_get(emp, 1), "to")));
    it_resp_free(&r);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_id = $1"
                              " AND action = 'update' AND before->>'organisation_id' = $2"
                              " AND after->>'organisation_id' = $3",
                              p.id, org_a, org_b),
                     1);

    /* A no longer sees the record at all (in training, Mo is not on the register); B sees the
     * full record. */
    it_getf(f->s, boss_a, &r, "/v1/facilitators/%s", p.id);
    it_assert_problem(&r, 404);
    assert_null(strstr(r.body, "mo@example.org"));
    it_resp_free(&r);
    it_getf(f->s, boss_b, &r, "/v1/facilitators/%s", p.id);
    it_assert_status(&r, 200);
    assert_non_null(json_object_get(r.json, "email"));
    assert_string_equal(it_header(&r, "ETag"), p.etag);
    it_resp_free(&r);

    /* B releases them (organisation_id null) from yesterday's end: no current employer. */
    body = it_fmt("{\"organisation_id\": null, \"employed_from\": \"%s\"}", d9);
    it_patchf(f->s, boss_b, p.etag, body, &r, "/v1/facilitators/%s", p.id);
    free(body);
    it_assert_status(&r, 200);
    assert_true(json_is_null(json_object_get(r.json, "organisation_id")));
    emp = json_object_get(r.json, "employment_history");
    assert_int_equal(json_array_size(emp), 2);
    assert_string_equal(it_jstr(json_array_get(emp, 1), "to"), d10);
    it_renew_etag(&r, &p.etag);
    it_resp_free(&r);

    /* Nobody employs them now: an org_admin can no longer take them on by PATCH (with If-Match:
     * * or their ETag), for themselves or anyone else; that is an employment request now
     * (test_employment_requests). Nothing is written and they still get the public view. */
    before = writes(f);
    it_expectf(f->s, "PATCH", boss_a, "*", "{\"given_name\": \"Mohammed\"}", 403,
               "/v1/facilitators/%s", p.id);
    body = it_fmt("{\"organisation_id\": \"%s\"}", org_b);
    it_expectf(f->s, "PATCH", boss_a, "*", body, 403, "/v1/facilitators/%s", p.id);
    free(body);
    body = it_fmt("{\"organisation_id\": \"%s\"}", org_a);
    it_patchf(f->s, boss_a, "*", body, &r, "/v1/facilitators/%s", p.id);
    it_assert_problem(&r, 403);
    assert_non_null(strstr(r.body, "employment-requests"));
    assert_null(strstr(r.body, "mo@example.org"));
    it_resp_free(&r);
    it_expectf(f->s, "PATCH", boss_a, p.etag, body, 403, "/v1/facilitators/%s", p.id);
    assert_int_equal(writes(f), before);
    it_expectf(f->s, "GET", boss_a, NULL, NULL, 404, "/v1/facilitators/%s", p.id);
    /* The licensing body may still move them directly (employed_from not overlapping B). */
    free(body);
    body = it_fmt("{\"organisation_id\": \"%s\", \"employed_from\": \"%s\"}", org_a, d10);
    it_patchf(f->s, f->admin, p.etag, body, &r, "/v1/facilitators/%s", p.id);
    it_assert_field_error(&r, "employed_from"); /* overlaps the employment with B */
    it_resp_free(&r);
    free(body);
    body = it_fmt("{\"organisation_id\": \"%s\"}", org_a);
    it_patchf(f->s, f->admin, p.etag, body, &r, "/v1/facilitators/%s", p.id);
    free(body);
    it_assert_status(&r, 200);
    it_assert_strs(&r, IT_ROW("organisation_id", org_a, "email", "mo@example.org"));
    emp = json_object_get(r.json, "employment_history");
    assert_int_equal(json_array_size(emp), 3);
    assert_string_equal(it_jstr(json_array_get(emp, 2), "from"), f->today);
    it_renew_etag(&r, &p.etag);
    it_resp_free(&r);
    /* The second organisation to try is too late: they are employed now (404 to B). */
    body = it_fmt("{\"organisation_id\": \"%s\"}", org_b);
    it_expectf(f->s, "PATCH", boss_b, "*", body, 404, "/v1/facilitators/%s", p.id);
    free(body);

    /* A same-day correction replaces the employment that never took effect. */
    body = it_fmt("{\"organisation_id\": \"%s\"}", org_c);
    patch_ok(f, &p, f->admin, body, &r);
    free(body);
    emp = json_object_get(r.json, "employment_history");
    assert_int_equal(json_array_size(emp), 3);
    assert_string_equal(it_jstr(json_array_get(emp, 2), "organisation_id"), org_c);
    assert_string_equal(it_jstr(json_array_get(emp, 2), "from"), f->today);
    it_resp_free(&r);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM facilitator_employment"
                              " WHERE facilitator_id = $1::uuid AND ended_on IS NULL",
                              p.id),
                     1);
    /* The same employer again changes nothing in the employment. */
    body = it_fmt("{\"organisation_id\": \"%s\"}", org_c);
    patch_ok(f, &p, f->admin, body, &r);
    free(body);
    assert_int_equal(json_array_size(json_object_get(r.json, "employment_history")), 3);
    it_resp_free(&r);

    /* An org_admin releases their own staff member; default effective today. */
    q = create_fac(f, boss_a, "Quinn", "Quits", NULL);
    it_patchf(f->s, boss_a, q.etag, "{\"organisation_id\": null}", &r, "/v1/facilitators/%s", q.id);
    it_assert_status(&r, 200);
    assert_true(json_is_null(json_object_get(r.json, "organisation_id")));
    /* It started today, so it never took effect. */
    assert_int_equal(json_array_size(json_object_get(r.json, "employment_history")), 0);
    it_resp_free(&r);
    it_fac_free(&q);

    it_fac_free(&p);
    free(boss_a);
    free(boss_b);
    free(org_a);
    free(org_b);
    free(org_c);
}

/* ---- Lists --------------------------------------------------------------------------------- */

static void
test_list(void **state)
{
    static const char *const names[5][2] = {
        {"Zed", "Listwell"},  {"Amy", "Listwell"}, {"Kit", "Listbrook"},
        {"Ann", "Listcombe"}, {"Bo", "Listwell"},
    };
    /* Sorted by family_name, given_name. */
    static const int order[5] = {2, 3, 1, 4, 0};
    struct fx *f = *state;
    char *org = create_org(f), *path;
    struct it_fac p[5];
    json_t *seen, *item;
    struct it_resp r;
    int i, pages = 0;
    size_t j;

    for (i = 0; i < 5; i++) {
        p[i] = create_fac(f, f->admin, names[i][0], names[i][1], org);
    }
    patch_ok(f, &p[0], f->admin,
             "{\"status\": \"accredited\", \"accredited_until\": \"2099-01-01\"}", NULL);
    patch_ok(f, &p[1], f->admin,
             "{\"status\": \"accredited\", \"accredited_on\": \"2020-01-01\","
             " \"accredited_until\": \"2021-01-01\"}",
             NULL);

    path = it_fmt("/v1/facilitators?organisation_id=%s&limit=2", org);
    seen = it_all_pages(f->s, f->admin, path, 2, 10, &pages);
    free(path);
    json_array_foreach(seen, j, item)
    {
        assert_non_null(it_jstr(item, "email"));
        assert_null(json_object_get(item, "status_history"));
    }
    assert_int_equal(pages, 3);
    assert_int_equal(json_array_size(seen), 5);
    for (i = 0; i < 5; i++) {
        assert_string_equal(it_jstr(json_array_get(seen, (size_t)i), "id"), p[order[i]].id);
    }

    /* Filters: status as it reads (lapsed included), q on name or registration number. */
    {
        static const struct {
            const char *query;
            int count;
        } cases[] = {
            {"status=lapsed", 1},    {"status=accredited", 1}, {"status=in_training", 3},
            {"status=withdrawn", 0}, {"q=listwell", 3},        {"q=amy%20list", 1},
            {"q=BROOK", 1},          {"q=nomatch", 0},
        };
        size_t k;

        for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
            path = it_fmt("/v1/facilitators?organisation_id=%s&%s", org, cases[k].query);
            it_get(f->s, path, f->admin, &r);
            it_assert_status(&r, 200);
            if ((int)json_array_size(json_object_get(r.json, "items")) != cases[k].count) {
                it_resp_print(&r);
                fail_msg("%s: want %d items", cases[k].query, cases[k].count);
            }
            it_resp_free(&r);
            free(path);
        }
        path = it_fmt("/v1/facilitators?status=lapsed&organisation_id=%s", org);
        it_get(f->s, path, f->admin, &r);
        assert_string_equal(it_jstr(json_array_get(json_object_get(r.json, "items"), 0), "id"),
                            p[1].id);
        it_resp_free(&r);
        free(path);
        path = it_fmt("/v1/facilitators?q=%s", p[3].number + 5);
        it_get(f->s, path, f->admin, &r);
        it_assert_status(&r, 200);
        assert_true(json_array_size(json_object_get(r.json, "items")) >= 1);
        assert_non_null(strstr(r.body, p[3].number));
        it_resp_free(&r);
        free(path);
    }

    /* CSV: one header row, one row per item, fields parsed back. */
    {
        json_t *rows;
        size_t cid, cnum, cstatus, cemail;

        path = it_fmt("/v1/facilitators?organisation_id=%s", org);
        it_get_csv(f->s, path, f->admin, &r);
        rows = it_csv_answer(&r);
        assert_int_equal(json_array_size(rows), 6);
        cid = csv_col(json_array_get(rows, 0), "id");
        cnum = csv_col(json_array_get(rows, 0), "registration_number");
        cstatus = csv_col(json_array_get(rows, 0), "status");
        cemail = csv_col(json_array_get(rows, 0), "email");
        for (i = 0; i < 5; i++) {
            assert_string_equal(cell(rows, (size_t)i + 1, cid), p[order[i]].id);
            assert_string_equal(cell(rows, (size_t)i + 1, cnum), p[order[i]].number);
        }
        assert_string_equal(cell(rows, 3, cstatus), "lapsed");     /* Amy Listwell */
        assert_string_equal(cell(rows, 5, cstatus), "accredited"); /* Zed Listwell */
        assert_string_equal(cell(rows, 1, cemail), "Kit.Listbrook@example.org");
        json_decref(rows);
        it_resp_free(&r);
        free(path);
    }

    /* Bad query strings: 400. */
    it_expect_gets(f->s, f->admin, 400, "/v1/facilitators?", "status=bogus", "colour=red",
                   "limit=0", "limit=101", "cursor=!!", "organisation_id=xyz", "status=a&status=b",
                   "cursor=WyJ4Il0", NULL);
    it_expect(f->s, "GET", "/v1/facilitators", NULL, NULL, 401);
    for (i = 0; i < 5; i++) {
        it_fac_free(&p[i]);
    }
    json_decref(seen);
    free(org);
}

/* ---- Bulk status check --------------------------------------------------------------------- */

static void
test_status_check(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f), *other = create_org(f), *staff = it_fx_member(f, "org_staff", other);
    json_t *numbers = json_array(), *want_found = json_array(), *body, *results;
    char *text, *org_name;
    PGresult *res;
    struct it_resp r;
    int i;

    /* CHECK_REAL accredited facilitators made with SQL (half employed by `org`, one suspended):
     * on the register, so another licensee finds them (someone in training it would not). */
    res = it_sql(f->s,
                 "WITH n AS (INSERT INTO facilitator (given_name, family_name, email, phone,"
                 " status, accredited_on, accredited_until)"
                 " SELECT 'Bulk' || g, 'Check', 'bulk' || g || '@example.org', '01634 000000',"
                 " 'accredited', registry_today() - 30, registry_today() + 300"
                 " FROM generate_series(1, $1::int) g RETURNING id, registration_number)"
                 " SELECT id::text, registration_number FROM n ORDER BY registration_number",
                 "60");
    assert_int_equal(PQntuples(res), CHECK_REAL);
    for (i = 0; i < CHECK_REAL; i++) {
        if (i % 2 == 0) {
            PQclear(it_sql(f->s,
                           "INSERT INTO facilitator_employment (facilitator_id, organisation_id,"
                           " started_on) VALUES ($1::uuid, $2::uuid, registry_today())",
                           PQgetvalue(res, i, 0), org));
        }
    }
    PQclear(it_sql(f->s, "UPDATE facilitator SET status = 'suspended' WHERE id = $1::uuid",
                   PQgetvalue(res, 4, 0)));
    /* 100 entries: the real ones in reverse, interleaved with unknown, malformed, lower-case and
     * duplicate numbers. */
    for (i = 0; i < 100; i++) {
        int k = CHECK_REAL - 1 - (i * CHECK_REAL / 100);
        const char *num = PQgetvalue(res, k, 1);

        switch (i % 5) {
        case 1:
            json_array_append_new(numbers, json_string("MPF-999999"));
            json_array_append_new(want_found, json_false());
            break;
        case 3:
            json_array_append_new(numbers, json_string(i % 2 ? "garbage, \"quoted\"" : ""));
            json_array_append_new(want_found, json_false());
            break;
        default:
            json_array_append_new(numbers, json_string(num));
            json_array_append_new(want_found, json_true());
            break;
        }
    }
    {
        /* A lower-case copy of a real number is found too. */
        char *low = strdup(PQgetvalue(res, 0, 1));

        low[0] = 'm';
        json_array_set_new(numbers, 99, json_string(low));
        json_array_set_new(want_found, 99, json_true());
        free(low);
    }
    {
        PGresult *o = it_sql(f->s, "SELECT name FROM organisation WHERE id = $1::uuid", org);
        org_name = strdup(PQgetvalue(o, 0, 0));
        PQclear(o);
    }
    body = json_pack("{s:O}", "registration_numbers", numbers);
    text = json_dumps(body, JSON_COMPACT);

    /* JSON, asked by a licensee of another organisation: public views, in order. */
    it_post_json(f->s, "/v1/facilitators/status-check", staff, text, &r);
    it_assert_status(&r, 200);
    results = json_object_get(r.json, "results");
    assert_int_equal(json_array_size(results), 100);
    it_assert_absent(r.body, "@example.org", "01634", NULL);
    for (i = 0; i < 100; i++) {
        json_t *e = json_array_get(results, (size_t)i);
        const char *asked = json_string_value(json_array_get(numbers, (size_t)i));

        if (json_is_true(json_array_get(want_found, (size_t)i))) {
            assert_true(json_is_true(json_object_get(e, "found")));
            assert_true(strcasecmp(it_jstr(e, "registration_number"), asked) == 0);
            assert_string_equal(it_jstr(e, "family_name"), "Check");
            assert_non_null(it_jstr(e, "status"));
            assert_null(json_object_get(e, "email"));
            assert_null(json_object_get(e, "phone"));
        } else {
            assert_true(json_is_false(json_object_get(e, "found")));
            assert_string_equal(it_jstr(e, "registration_number"), asked);
            assert_string_equal(it_jstr(e, "status"), "not_found");
            assert_null(json_object_get(e, "given_name"));
        }
    }
    /* Entry 0 asks for the last-made facilitator (odd index: no employer); entry 2 repeats
     * something found; employers and statuses come through. */
    assert_true(json_is_null(json_object_get(json_array_get(results, 0), "organisation_id")));
    {
        int employed = 0, suspended = 0;

        for (i = 0; i < 100; i++) {
            json_t *e = json_array_get(results, (size_t)i);
            if (it_jstr(e, "organisation_id") != NULL) {
                assert_string_equal(it_jstr(e, "organisation_id"), org);
                assert_string_equal(it_jstr(e, "organisation_name"), org_name);
                employed++;
            }
            suspended +=
                it_jstr(e, "status") != NULL && strcmp(it_jstr(e, "status"), "suspended") == 0;
        }
        assert_true(employed > 0);
        assert_true(suspended > 0);
    }
    it_resp_free(&r);

    /* CSV: a header and 100 rows, in order, parsed back. */
    {
        static const char *const hdrs[] = {"Content-Type: application/json", "Accept: text/csv",
                                           NULL};
        json_t *rows, *header;
        size_t cnum, cfound, cstatus, cfamily, corg, corgname;

        it_request(f->s, "POST", "/v1/facilitators/status-check", f->admin, hdrs, text, &r);
        rows = it_csv_answer(&r);
        assert_int_equal(json_array_size(rows), 101);
        header = json_array_get(rows, 0);
        assert_int_equal(json_array_size(header), 8);
        assert_string_equal(cell(rows, 0, 0), "registration_number");
        cnum = csv_col(header, "registration_number");
        cfound = csv_col(header, "found");
        cstatus = csv_col(header, "status");
        cfamily = csv_col(header, "family_name");
        corg = csv_col(header, "organisation_id");
        corgname = csv_col(header, "organisation_name");
        csv_col(header, "given_name");
        csv_col(header, "accredited_until");
        assert_null(strstr(r.body, "@example.org"));
        for (i = 0; i < 100; i++) {
            const char *asked = json_string_value(json_array_get(numbers, (size_t)i));

            assert_int_equal(json_array_size(json_array_get(rows, (size_t)i + 1)), 8);
            if (json_is_true(json_array_get(want_found, (size_t)i))) {
                assert_string_equal(cell(rows, (size_t)i + 1, cfound), "true");
                assert_true(strcasecmp(cell(rows, (size_t)i + 1, cnum), asked) == 0);
                assert_string_equal(cell(rows, (size_t)i + 1, cfamily), "Check");
                if (cell(rows, (size_t)i + 1, corg)[0] != '\0') {
                    assert_string_equal(cell(rows, (size_t)i + 1, corg), org);
                    assert_string_equal(cell(rows, (size_t)i + 1, corgname), org_name);
                }
            } else {
                assert_string_equal(cell(rows, (size_t)i + 1, cfound), "false");
                assert_string_equal(cell(rows, (size_t)i + 1, cstatus), "not_found");
                assert_string_equal(cell(rows, (size_t)i + 1, cnum), asked);
                assert_string_equal(cell(rows, (size_t)i + 1, cfamily), "");
            }
        }
        json_decref(rows);
        it_resp_free(&r);
    }

    /* 101 numbers, none, not strings, not a list, other fields: 422. */
    {
        json_t *more = json_deep_copy(numbers), *b2;
        char *t2;
        static const char *const bad[] = {
            "{\"registration_numbers\": []}",
            "{\"registration_numbers\": [\"MPF-000001\", 7]}",
            "{\"registration_numbers\": [null]}",
            "{\"registration_numbers\": \"MPF-000001\"}",
            "{}",
            "{\"registration_numbers\": [\"MPF-000001\"], \"extra\": 1}",
        };
        size_t k;

        json_array_append_new(more, json_string("MPF-000001"));
        b2 = json_pack("{s:o}", "registration_numbers", more);
        t2 = json_dumps(b2, JSON_COMPACT);
        it_expect_field(f->s, "POST", "/v1/facilitators/status-check", f->admin, t2,
                        "registration_numbers");
        free(t2);
        json_decref(b2);
        for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            it_expect(f->s, "POST", "/v1/facilitators/status-check", f->admin, bad[k], 422);
        }
    }
    it_expect(f->s, "POST", "/v1/facilitators/status-check", NULL, text, 401);

    PQclear(res);
    free(text);
    free(org_name);
    json_decref(body);
    json_decref(numbers);
    json_decref(want_found);
    free(staff);
    free(org);
    free(other);
}

/* ---- Employment requests ------------------------------------------------------------------- */

static void
test_employment_requests(void **state)
{
    struct fx *f = *state;
    char *org_a = create_org(f), *org_b = create_org(f), *org_c = create_org(f);
    char *boss_a = it_fx_member(f, "org_admin", org_a),
         *boss_b = it_fx_member(f, "org_admin", org_b);
    char *boss_c = it_fx_member(f, "org_admin", org_c),
         *staff_b = it_fx_member(f, "org_staff", org_b);
    struct it_fac p = create_fac(f, f->admin, "Rhian", "Request", org_a);
    struct it_fac t = create_fac(f, f->admin, "Tomos", "Trainee", NULL);
    struct it_fac w = create_fac(f, f->admin, "Wyn", "Withdrawn", NULL);
    char *body, *rid, *retag, *path, *rpath, tomorrow[16], d5[16];
    struct it_resp r;
    json_t *emp;
    long before;

    it_day(f->s, 1, tomorrow, sizeof(tomorrow));
    it_day(f->s, -5, d5, sizeof(d5));
    patch_ok(f, &p, f->admin, "{\"status\": \"accredited\", \"accredited_until\": \"2099-01-01\"}",
             NULL);
    patch_ok(f, &w, f->admin, "{\"status\": \"withdrawn\", \"reason\": \"left the programme\"}",
             NULL);
    PQclear(it_sql(f->s,
                   "INSERT INTO webhook_subscription (organisation_id, url, events, secret)"
                   " VALUES ($1::uuid, 'http://127.0.0.1:9/hook', ARRAY["
                   "'facilitator.employment_requested', 'facilitator.employment_approved',"
                   " 'facilitator.employment_declined'], 'whsec_dGVzdHRlc3R0ZXN0dGVzdA==')",
                   org_b));

    /* Who may not ask, what may not be asked; nothing written. */
    before = writes(f);
    body = it_fmt("{\"starts_on\": \"%s\"}", f->today);
    it_postf(f->s, staff_b, body, &r, "/v1/facilitators/%s/employment-requests",
             p.id); /* org_staff */
    it_assert_problem(&r, 403);
    it_resp_free(&r);
    it_postf(f->s, f->admin, body, &r, "/v1/facilitators/%s/employment-requests",
             p.id); /* the licensing body moves people directly */
    it_assert_problem(&r, 403);
    it_resp_free(&r);
    it_postf(f->s, boss_a, body, &r, "/v1/facilitators/%s/employment-requests",
             p.id); /* already theirs */
    it_assert_problem(&r, 409);
    it_resp_free(&r);
    it_postf(f->s, boss_b, body, &r, "/v1/facilitators/%s/employment-requests",
             w.id); /* withdrawn (never accredited: not on the register) */
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    it_postf(f->s, boss_b, body, &r, "/v1/facilitators/%s/employment-requests",
             t.id); /* in training, not theirs: not in their view */
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    it_expectf(f->s, "POST", boss_b, NULL, body, 404, "/v1/facilitators/%s/employment-requests",
               "MPF-999999");
    free(body);
    it_postf(f->s, boss_b, "{}", &r, "/v1/facilitators/%s/employment-requests", p.id);
    it_assert_field_error(&r, "starts_on");
    it_resp_free(&r);
    it_postf(f->s, boss_b, "{\"starts_on\": \"2026-02-30\"}", &r,
             "/v1/facilitators/%s/employment-requests", p.id);
    it_assert_field_error(&r, "starts_on");
    it_resp_free(&r);
    body = it_fmt("{\"starts_on\": \"%s\"}", tomorrow);
    it_postf(f->s, boss_b, body, &r, "/v1/facilitators/%s/employment-requests", p.id);
    it_assert_field_error(&r, "starts_on");
    it_resp_free(&r);
    free(body);
    body = it_fmt("{\"starts_on\": \"%s\", \"organisation_id\": \"%s\"}", f->today, org_c);
    it_postf(f->s, boss_b, body, &r, "/v1/facilitators/%s/employment-requests", p.id);
    it_assert_field_error(&r, "organisation_id");
    it_resp_free(&r);
    free(body);
    /* Before the current employment started (today): cannot be approved, so not asked. */
    body = it_fmt("{\"starts_on\": \"%s\"}", d5);
    it_postf(f->s, boss_b, body, &r, "/v1/facilitators/%s/employment-requests", p.id);
    it_assert_field_error(&r, "starts_on");
    it_resp_free(&r);
    free(body);
    assert_int_equal(writes(f), before);

    /* B asks: 201, pending, with Location and ETag; audited; B's webhook queued. */
    body = it_fmt("{\"starts_on\": \"%s\"}", f->today);
    it_postf(f->s, boss_b, body, &r, "/v1/facilitators/%s/employment-requests", p.number);
    it_assert_status(&r, 201);
    rid = strdup(it_json_str(&r, "id"));
    retag = strdup(it_header(&r, "ETag"));
    it_assert_strs(&r, IT_ROW("status", "pending", "organisation_id", org_b, "facilitator_id", p.id,
                              "registration_number", p.number, "starts_on", f->today));
    assert_null(strstr(r.body, "example.org"));
    rpath = it_fmt("/v1/facilitators/%s/employment-requests/%s", p.id, rid);
    assert_string_equal(it_header(&r, "Location"), rpath);
    it_resp_free(&r);
    /* A second pending request from B: 409. C may ask too. */
    it_expectf(f->s, "POST", boss_b, NULL, body, 409, "/v1/facilitators/%s/employment-requests",
               p.id);
    it_expectf(f->s, "POST", boss_c, NULL, body, 201, "/v1/facilitators/%s/employment-requests",
               p.id);
    free(body);
    assert_int_equal(it_audits(f->s, "employment_request", rid, "create"), 1);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM webhook_outbox o JOIN webhook_subscription w"
                              " ON w.id = o.subscription_id WHERE w.organisation_id = $1::uuid"
                              " AND o.event = 'facilitator.employment_requested'"
                              " AND o.body::jsonb->'data'->>'id' = $2",
                              org_b, rid),
                     1);

    /* Until approved, B sees only the public view. */
    it_getf(f->s, boss_b, &r, "/v1/facilitators/%s", p.id);
    it_assert_status(&r, 200);
    assert_null(json_object_get(r.json, "email"));
    assert_string_equal(it_json_str(&r, "organisation_id"), org_a);
    it_resp_free(&r);

    /* Lists: the licensing body sees both requests, B and C their own, A none. */
    path = it_fmt("/v1/facilitators/%s/employment-requests", p.id);
    it_expect_items(f->s, f->admin, 2, "%s", path);
    it_get(f->s, path, staff_b, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_string_equal(it_jstr(json_array_get(json_object_get(r.json, "items"), 0), "id"), rid);
    it_resp_free(&r);
    it_expect_items(f->s, boss_a, 0, "%s", path);
    it_get(f->s, rpath, boss_c, &r); /* another organisation's request */
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    it_get(f->s, rpath, boss_b, &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_header(&r, "ETag"), retag);
    it_resp_free(&r);

    /* Only the licensing body decides; a decline needs a reason; If-Match as everywhere. */
    before = writes(f);
    it_expect_if(f->s, "PATCH", rpath, boss_b, retag, "{\"status\": \"approved\"}", 403);
    it_expect_field_if(f->s, "PATCH", rpath, f->admin, retag, "{\"status\": \"declined\"}",
                       "reason");
    it_expect_field_if(f->s, "PATCH", rpath, f->admin, retag, "{\"status\": \"pending\"}",
                       "status");
    it_expect(f->s, "PATCH", rpath, f->admin, "{\"status\": \"approved\"}", 428);
    it_expect_if(f->s, "PATCH", rpath, f->admin, "\"stale\"", "{\"status\": \"approved\"}", 412);
    assert_int_equal(writes(f), before);

    /* Approved: A's employment ends, B's starts on starts_on; B now sees the full record. */
    it_patch_json(f->s, rpath, f->admin, retag, "{\"status\": \"approved\"}", &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "approved");
    assert_non_null(it_json_str(&r, "decided_at"));
    it_resp_free(&r);
    it_getf(f->s, boss_b, &r, "/v1/facilitators/%s", p.id);
    it_assert_status(&r, 200);
    it_assert_strs(&r, IT_ROW("organisation_id", org_b, "email", "Rhian.Request@example.org"));
    assert_string_not_equal(it_header(&r, "ETag"), p.etag); /* the record changed */
    emp = json_object_get(r.json, "employment_history");
    /* A's employment started today, so it never took effect and is replaced. */
    assert_int_equal(json_array_size(emp), 1);
    assert_string_equal(it_jstr(json_array_get(emp, 0), "organisation_id"), org_b);
    assert_string_equal(it_jstr(json_array_get(emp, 0), "from"), f->today);
    it_resp_free(&r);
    it_getf(f->s, boss_a, &r, "/v1/facilitators/%s", p.id);
    it_assert_status(&r, 200);
    assert_null(json_object_get(r.json, "email"));
    it_resp_free(&r);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_id = $1"
                              " AND action = 'update' AND before->>'organisation_id' = $2"
                              " AND after->>'organisation_id' = $3",
                              p.id, org_a, org_b),
                     1);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_id = $1"
                              " AND resource_type = 'employment_request' AND action = 'update'"
                              " AND after->>'status' = 'approved'",
                              rid),
                     1);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM webhook_outbox WHERE"
                              " event = 'facilitator.employment_approved'"
                              " AND body::jsonb->'data'->>'id' = $1",
                              rid),
                     1);
    /* Decided once: a second decision is 409. */
    it_expect_if(f->s, "PATCH", rpath, f->admin, "*",
                 "{\"status\": \"declined\", \"reason\": \"x\"}", 409);

    /* C's request is declined with a reason; nothing changes for the facilitator. */
    it_get(f->s, path, boss_c, &r);
    it_assert_status(&r, 200);
    free(rpath);
    rpath = it_fmt("/v1/facilitators/%s/employment-requests/%s", p.id,
                   it_jstr(json_array_get(json_object_get(r.json, "items"), 0), "id"));
    it_resp_free(&r);
    it_patch_json(f->s, rpath, f->admin, "*",
                  "{\"status\": \"declined\", \"reason\": \"no release from the employer\"}", &r);
    it_assert_status(&r, 200);
    it_assert_strs(&r, IT_ROW("status", "declined", "reason", "no release from the employer"));
    it_resp_free(&r);
    it_getf(f->s, f->admin, &r, "/v1/facilitators/%s", p.id);
    assert_string_equal(it_json_str(&r, "organisation_id"), org_b);
    it_resp_free(&r);

    free(path);
    free(rpath);
    free(rid);
    free(retag);
    it_fac_free(&p);
    it_fac_free(&t);
    it_fac_free(&w);
    free(boss_a);
    free(boss_b);
    free(boss_c);
    free(staff_b);
    free(org_a);
    free(org_b);
    free(org_c);
}

TEST_MAIN(group_setup,
          it_fx_teardown,
          cmocka_unit_test(test_create_by_admin),
          cmocka_unit_test(test_create_by_licensees),
          cmocka_unit_test(test_create_validation),
          cmocka_unit_test(test_visibility),
          cmocka_unit_test(test_edits),
          cmocka_unit_test(test_if_match),
          cmocka_unit_test(test_concurrent_patches),
          cmocka_unit_test(test_transitions),
          cmocka_unit_test(test_employment),
          cmocka_unit_test(test_employment_requests),
          cmocka_unit_test(test_list),
          cmocka_unit_test(test_status_check))
