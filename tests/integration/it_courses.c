/* it_courses.c: /v1/courses over HTTP against the real server and PostgreSQL: create (code
 * upper-cased, grants_months defaults per kind), each validation error with nothing written, a
 * duplicate code (409), reading as a licensee, who may not write (403), PATCH with If-Match
 * (428, 412), kind changes (grants_months settled, refused once a session uses the course), the
 * filters, keyset pagination, CSV parsed back, and the audit rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"
#include "registry/password.h"

#define ADMIN_EMAIL "admin@courses.example"
#define PASSWORD    "courses-test-password-1"
#define NO_SUCH_ID  "00000000-0000-4000-8000-000000000000"

struct fx {
    IT_FX_HEAD;
    char *staff;     /* access token of an org_staff licensee */
    char *org_admin; /* access token of an org_admin licensee */
};

/* ---- Helpers ------------------------------------------------------------------------------- */

/* Rows any write would add or change. */
static long
writes(struct fx *f)
{
    return it_count(f->s, "SELECT (SELECT count(*) FROM course)"
                          " + (SELECT coalesce(sum(version), 0) FROM course)"
                          " + (SELECT count(*) FROM audit_event)");
}

/* POSTs a course and expects 201; returns the response (caller frees). */
static void
create_course(struct fx *f, const char *body, struct it_resp *r)
{
    it_post_json(f->s, "/v1/courses", f->admin, body, r);
    it_assert_status(r, 201);
}

/* ---- Fixture ------------------------------------------------------------------------------- */

static int
group_setup(void **state)
{
    struct fx *f = it_fx_start(sizeof(*f), "courses", NULL, ADMIN_EMAIL, PASSWORD, IT_FX_HASH);
    char *org;

    org = it_create_org_json(f->s, f->admin,
                             "{\"name\": \"Course Readers\", \"kind\": \"charity\","
                             " \"address_lines\": [\"1 High Street\"], \"town\": \"Bath\","
                             " \"postcode\": \"BA1 1AA\"}",
                             NULL);
    f->staff = it_fx_user(f, "staff@courses.example", "org_staff", org);
    f->org_admin = it_fx_user(f, "boss@courses.example", "org_admin", org);
    free(org);
    *state = f;
    return 0;
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void
test_create(void **state)
{
    struct fx *f = *state;
    struct it_resp r, g;
    char *loc;
    const char *id;

    create_course(f,
                  "{\"code\": \" m-pact-p1 \", \"title\": \"M-PACT practitioner\","
                  " \"kind\": \"practitioner\", \"accrediting_body\": \"University of Bath\","
                  " \"credits\": 20}",
                  &r);
    id = it_json_str(&r, "id");
    assert_non_null(id);
    loc = it_fmt("/v1/courses/%s", id);
    it_assert_header(&r, "Location", loc);
    it_assert_header(&r, "ETag", "\"");
    it_assert_strs(&r, IT_ROW("code", "M-PACT-P1", "title", "M-PACT practitioner", "kind",
                              "practitioner", "accrediting_body", "University of Bath"));
    assert_int_equal(json_integer_value(json_object_get(r.json, "credits")), 20);
    assert_int_equal(json_integer_value(json_object_get(r.json, "grants_months")), 36);
    assert_true(json_is_true(json_object_get(r.json, "active")));
    assert_null(json_object_get(r.json, "_version"));
    assert_null(json_object_get(r.json, "_used"));

    /* The same on GET, for the admin and for a licensee. */
    it_get(f->s, loc, f->admin, &g);
    it_assert_status(&g, 200);
    assert_true(json_equal(g.json, r.json));
    assert_string_equal(it_header(&g, "ETag"), it_header(&r, "ETag"));
    it_resp_free(&g);
    it_get(f->s, loc, f->staff, &g);
    it_assert_status(&g, 200);
    assert_true(json_equal(g.json, r.json));
    it_resp_free(&g);

    it_assert_row(f->s, IT_ROW("create", "M-PACT-P1"),
                  "SELECT action, after->>'code' FROM audit_event"
                  " WHERE resource_type = 'course' AND resource_id = $1",
                  id);
    it_resp_free(&r);
    free(loc);

    /* Refresher: defaults to 36 too, or takes what is given; trainer: none. */
    create_course(f, "{\"code\": \"REF-1\", \"title\": \"Refresher\", \"kind\": \"refresher\"}",
                  &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "grants_months")), 36);
    assert_true(json_is_null(json_object_get(r.json, "credits")));
    assert_true(json_is_null(json_object_get(r.json, "accrediting_body")));
    it_resp_free(&r);
    create_course(f,
                  "{\"code\": \"REF-2\", \"title\": \"Refresher\", \"kind\": \"refresher\","
                  " \"grants_months\": 24, \"active\": false}",
                  &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "grants_months")), 24);
    assert_true(json_is_false(json_object_get(r.json, "active")));
    it_resp_free(&r);
    create_course(f, "{\"code\": \"TRN-1\", \"title\": \"Trainer\", \"kind\": \"trainer\"}", &r);
    assert_true(json_is_null(json_object_get(r.json, "grants_months")));
    it_resp_free(&r);
}

static void
test_create_validation(void **state)
{
    static const struct it_field_case cases[] = {
        {"{\"title\": \"T\", \"kind\": \"practitioner\"}", "code"},
        {"{\"code\": \"A\", \"title\": \"T\", \"kind\": \"practitioner\"}", "code"},
        {"{\"code\": \"-AB\", \"title\": \"T\", \"kind\": \"practitioner\"}", "code"},
        {"{\"code\": \"AB CD\", \"title\": \"T\", \"kind\": \"practitioner\"}", "code"},
        {"{\"code\": \"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456\", \"title\": \"T\","
         " \"kind\": \"practitioner\"}",
         "code"},
        {"{\"code\": 12, \"title\": \"T\", \"kind\": \"practitioner\"}", "code"},
        {"{\"code\": \"V-1\", \"kind\": \"practitioner\"}", "title"},
        {"{\"code\": \"V-1\", \"title\": \"\", \"kind\": \"practitioner\"}", "title"},
        {"{\"code\": \"V-1\", \"title\": \"T\"}", "kind"},
        {"{\"code\": \"V-1\", \"title\": \"T\", \"kind\": \"expert\"}", "kind"},
        {"{\"code\": \"V-1\", \"title\": \"T\", \"kind\": \"practitioner\", \"credits\": -1}",
         "credits"},
        {"{\"code\": \"V-1\", \"title\": \"T\", \"kind\": \"practitioner\", \"credits\": 1001}",
         "credits"},
        {"{\"code\": \"V-1\", \"title\": \"T\", \"kind\": \"practitioner\", \"credits\": \"5\"}",
         "credits"},
        {"{\"code\": \"V-1\", \"title\": \"T\", \"kind\": \"practitioner\", \"grants_months\": 0}",
         "grants_months"},
        {"{\"code\": \"V-1\", \"title\": \"T\", \"kind\": \"refresher\", \"grants_months\": 121}",
         "grants_months"},
        {"{\"code\": \"V-1\", \"title\": \"T\", \"kind\": \"trainer\", \"grants_months\": 12}",
         "grants_months"},
        {"{\"code\": \"V-1\", \"title\": \"T\", \"kind\": \"practitioner\","
         " \"accrediting_body\": \"\"}",
         "accrediting_body"},
        {"{\"code\": \"V-1\", \"title\": \"T\", \"kind\": \"practitioner\", \"active\": \"yes\"}",
         "active"},
        {"{\"code\": \"V-1\", \"title\": \"T\", \"kind\": \"practitioner\", \"id\": \"x\"}", "id"},
    };
    struct fx *f = *state;
    long before = writes(f);
    struct it_resp r;

    it_field_errors(f->s, "POST", "/v1/courses", f->admin, NULL, cases, IT_LEN(cases));
    /* Several errors at once are all named. */
    it_post_json(f->s, "/v1/courses", f->admin, "{\"credits\": 5000}", &r);
    it_assert_field_errors(&r, IT_ROW("code", "title", "kind", "credits"));
    it_resp_free(&r);
    assert_int_equal(writes(f), before);
}

static void
test_duplicate_code_and_access(void **state)
{
    struct fx *f = *state;
    const char *body = "{\"code\": \"DUP-1\", \"title\": \"Dup\", \"kind\": \"practitioner\"}";
    struct it_resp r;
    long before;

    create_course(f, body, &r);
    it_resp_free(&r);
    before = writes(f);
    /* The same code in lower case is the same code. */
    it_post_json(f->s, "/v1/courses", f->admin,
                 "{\"code\": \"dup-1\", \"title\": \"Dup\", \"kind\": \"refresher\"}", &r);
    it_assert_problem(&r, 409);
    assert_non_null(strstr(it_json_str(&r, "detail"), "DUP-1"));
    it_resp_free(&r);
    /* Licensees read but never write; no token is a 401. */
    it_expect(f->s, "POST", "/v1/courses", f->org_admin, body, 403);
    it_expect(f->s, "POST", "/v1/courses", f->staff, body, 403);
    it_expect(f->s, "POST", "/v1/courses", NULL, body, 401);
    it_expect(f->s, "GET", "/v1/courses", NULL, NULL, 401);
    assert_int_equal(writes(f), before);

    it_expect(f->s, "GET", "/v1/courses/" NO_SUCH_ID, f->admin, NULL, 404);
    it_expect(f->s, "GET", "/v1/courses/not-a-uuid", f->staff, NULL, 404);
}

static void
test_update(void **state)
{
    struct fx *f = *state;
    struct it_resp c, r, o;
    char *id, *etag, *old_etag;
    long before;

    create_course(f, "{\"code\": \"UPD-1\", \"title\": \"Before\", \"kind\": \"practitioner\"}",
                  &c);
    id = strdup(it_json_str(&c, "id"));
    etag = strdup(it_header(&c, "ETag"));
    it_resp_free(&c);
    create_course(f, "{\"code\": \"UPD-2\", \"title\": \"Other\", \"kind\": \"practitioner\"}", &o);

    before = writes(f);
    /* If-Match: missing 428, stale 412; licensee 403; nothing written. */
    it_expectf(f->s, "PATCH", f->admin, NULL, "{\"title\": \"After\"}", 428, "/v1/courses/%s", id);
    it_expectf(f->s, "PATCH", f->admin, "\"999\"", "{\"title\": \"After\"}", 412, "/v1/courses/%s",
               id);
    it_expectf(f->s, "PATCH", f->org_admin, etag, "{\"title\": \"After\"}", 403, "/v1/courses/%s",
               id);
    it_patchf(f->s, f->admin, etag, "{}", &r, "/v1/courses/%s", id);
    it_assert_field_error(&r, "body");
    it_resp_free(&r);
    it_patchf(f->s, f->admin, etag, "{\"credits\": -3, \"kind\": \"x\"}", &r, "/v1/courses/%s", id);
    it_assert_field_errors(&r, IT_ROW("credits", "kind"));
    it_resp_free(&r);
    it_expectf(f->s, "PATCH", f->admin, etag, "{\"code\": \"upd-2\"}", 409, "/v1/courses/%s", id);
    it_patchf(f->s, f->admin, etag, "{\"grants_months\": 12, \"kind\": \"trainer\"}", &r,
              "/v1/courses/%s", id);
    it_assert_field_error(&r, "grants_months");
    it_resp_free(&r);
    it_expectf(f->s, "PATCH", f->admin, etag, "{\"title\": \"After\"}", 404, "/v1/courses/%s",
               NO_SUCH_ID);
    assert_int_equal(writes(f), before);

    /* A change: new ETag, audit row with before and after. */
    it_patchf(f->s, f->admin, etag,
              "{\"title\": \"After\", \"credits\": 15, \"accrediting_body\": \"Bath\","
              " \"grants_months\": 48, \"active\": false}",
              &r, "/v1/courses/%s", id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "title"), "After");
    assert_int_equal(json_integer_value(json_object_get(r.json, "grants_months")), 48);
    assert_true(json_is_false(json_object_get(r.json, "active")));
    assert_string_not_equal(it_header(&r, "ETag"), etag);
    old_etag = etag;
    etag = strdup(it_header(&r, "ETag"));
    it_resp_free(&r);
    it_assert_row(f->s, IT_ROW("Before", "After"),
                  "SELECT before->>'title', after->>'title' FROM audit_event"
                  " WHERE resource_type = 'course' AND resource_id = $1 AND action = 'update'",
                  id);
    /* The old ETag is stale now. */
    it_expectf(f->s, "PATCH", f->admin, old_etag, "{\"title\": \"Again\"}", 412, "/v1/courses/%s",
               id);

    /* Kind changes settle grants_months: to trainer clears it, back to refresher is 36. */
    it_patchf(f->s, f->admin, etag, "{\"kind\": \"trainer\"}", &r, "/v1/courses/%s", id);
    it_assert_status(&r, 200);
    assert_true(json_is_null(json_object_get(r.json, "grants_months")));
    it_renew_etag(&r, &etag);
    it_resp_free(&r);
    it_patchf(f->s, f->admin, etag, "{\"kind\": \"refresher\"}", &r, "/v1/courses/%s", id);
    it_assert_status(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "grants_months")), 36);
    it_renew_etag(&r, &etag);
    it_resp_free(&r);

    /* Once a session uses the course, its kind is fixed (other fields still change). */
    PQclear(it_sql(f->s,
                   "INSERT INTO training_session (course_id, starts_on, ends_on, venue, capacity)"
                   " VALUES ($1::uuid, '2030-01-01', '2030-01-02', 'Hall', 10)",
                   id));
    before = writes(f);
    it_expectf(f->s, "PATCH", f->admin, etag, "{\"kind\": \"practitioner\"}", 409, "/v1/courses/%s",
               id);
    assert_int_equal(writes(f), before);
    it_patchf(f->s, f->admin, etag, "{\"kind\": \"refresher\", \"title\": \"Kept\"}", &r,
              "/v1/courses/%s", id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "title"), "Kept");
    it_resp_free(&r);

    it_resp_free(&o);
    free(etag);
    free(old_etag);
    free(id);
}

/* GETs `path` as `token`; fails unless 200 with the courses of `codes` (IT_ROW), in that order. */
static void
expect_codes(struct fx *f, const char *token, const char *path, const char *const codes[])
{
    struct it_resp r;
    json_t *items;
    size_t i, n = 0;

    while (codes[n] != NULL) {
        n++;
    }
    it_get(f->s, path, token, &r);
    it_assert_status(&r, 200);
    items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), n);
    for (i = 0; i < n; i++) {
        assert_string_equal(it_jstr(json_array_get(items, i), "code"), codes[i]);
    }
    it_resp_free(&r);
}

static void
test_list_filters_pages_csv(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    json_t *rows, *seen;
    size_t code_col, kind_col, i;

    create_course(f, "{\"code\": \"LST-A\", \"title\": \"Alpha list\", \"kind\": \"trainer\"}", &r);
    it_resp_free(&r);
    create_course(f,
                  "{\"code\": \"LST-B\", \"title\": \"Beta, \\\"quoted\\\" list\","
                  " \"kind\": \"trainer\", \"active\": false}",
                  &r);
    it_resp_free(&r);
    create_course(f, "{\"code\": \"LST-C\", \"title\": \"Gamma list\", \"kind\": \"trainer\"}", &r);
    it_resp_free(&r);

    /* Filters. */
    expect_codes(f, f->staff, "/v1/courses?kind=trainer&q=list", IT_ROW("LST-A", "LST-B", "LST-C"));
    expect_codes(f, f->admin, "/v1/courses?kind=trainer&q=LIST&active=false", IT_ROW("LST-B"));
    it_expect_items(f->s, f->admin, 1, "%s", "/v1/courses?q=lst-c");
    it_get(f->s, "/v1/courses?kind=practitioner&q=list", f->admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    it_resp_free(&r);

    /* Bad query parameters. */
    it_expect_gets(f->s, f->admin, 400, "/v1/courses?", "colour=red", "kind=expert", "active=yes",
                   "cursor=bogus", NULL);

    /* Pages of 2 cover every course once, in code order. */
    seen = it_all_pages(f->s, f->admin, "/v1/courses?limit=2", 2, 50, NULL);
    assert_int_equal((long)json_array_size(seen), it_count(f->s, "SELECT count(*) FROM course"));
    for (i = 1; i < json_array_size(seen); i++) {
        assert_true(strcmp(it_jstr(json_array_get(seen, i - 1), "code"),
                           it_jstr(json_array_get(seen, i), "code"))
                    < 0);
    }
    json_decref(seen);

    /* CSV with the same filters, parsed back. */
    it_get_csv(f->s, "/v1/courses?kind=trainer&q=list", f->staff, &r);
    rows = it_csv_answer(&r);
    assert_int_equal(json_array_size(rows), 4);
    code_col = it_csv_col(rows, "code");
    kind_col = it_csv_col(rows, "kind");
    assert_string_equal(it_csv_cell(rows, 1, code_col), "LST-A");
    assert_string_equal(it_csv_cell(rows, 2, code_col), "LST-B");
    assert_string_equal(it_csv_cell(rows, 2, it_csv_col(rows, "title")), "Beta, \"quoted\" list");
    assert_string_equal(it_csv_cell(rows, 2, it_csv_col(rows, "active")), "false");
    assert_string_equal(it_csv_cell(rows, 3, kind_col), "trainer");
    json_decref(rows);
    it_resp_free(&r);
}

TEST_MAIN(group_setup,
          it_fx_teardown,
          cmocka_unit_test(test_create),
          cmocka_unit_test(test_create_validation),
          cmocka_unit_test(test_duplicate_code_and_access),
          cmocka_unit_test(test_update),
          cmocka_unit_test(test_list_filters_pages_csv))
