/* tests/unit/test_problem.c: RFC 9457 problem bodies, the kind table and SQLSTATE mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../test_main.h"
#include "registry/problem.h"

/* Asserts the members every problem has, for `kind`. */
static void
assert_problem(json_t *p, const char *type, const char *title, int status)
{
    assert_non_null(p);
    assert_true(json_is_object(p));
    assert_true(json_is_string(json_object_get(p, "type")));
    assert_string_equal(json_string_value(json_object_get(p, "type")), type);
    assert_true(json_is_string(json_object_get(p, "title")));
    assert_string_equal(json_string_value(json_object_get(p, "title")), title);
    /* status is a JSON number (RFC 9457 3.1.2), not a string. */
    assert_true(json_is_integer(json_object_get(p, "status")));
    assert_int_equal(json_integer_value(json_object_get(p, "status")), status);
}

static void
test_validation(void **state)
{
    json_t *p = problem_new(PROBLEM_VALIDATION, "name: too long", "/v1/organisations");

    (void)state;
    assert_problem(p, "/problems/validation", "Request failed validation", 422);
    assert_string_equal(json_string_value(json_object_get(p, "detail")), "name: too long");
    assert_string_equal(json_string_value(json_object_get(p, "instance")), "/v1/organisations");
    assert_int_equal(json_object_size(p), 5);
    json_decref(p);
}

static void
test_several_kinds(void **state)
{
    static const struct {
        enum problem_kind kind;
        const char *type;
        int status;
    } cases[] = {
        {PROBLEM_BAD_REQUEST, "/problems/bad-request", 400},
        {PROBLEM_UNAUTHORIZED, "/problems/unauthorized", 401},
        {PROBLEM_INVALID_TOKEN, "/problems/invalid-token", 401},
        {PROBLEM_FORBIDDEN, "/problems/forbidden", 403},
        {PROBLEM_NOT_FOUND, "/problems/not-found", 404},
        {PROBLEM_METHOD_NOT_ALLOWED, "/problems/method-not-allowed", 405},
        {PROBLEM_CONFLICT, "/problems/conflict", 409},
        {PROBLEM_INVALID_TRANSITION, "/problems/invalid-transition", 409},
        {PROBLEM_PRECONDITION_FAILED, "/problems/precondition-failed", 412},
        {PROBLEM_PAYLOAD_TOO_LARGE, "/problems/payload-too-large", 413},
        {PROBLEM_UNSUPPORTED_MEDIA_TYPE, "/problems/unsupported-media-type", 415},
        {PROBLEM_PRECONDITION_REQUIRED, "/problems/precondition-required", 428},
        {PROBLEM_TOO_MANY_REQUESTS, "/problems/too-many-requests", 429},
        {PROBLEM_INTERNAL, "/problems/internal", 500},
        {PROBLEM_UNAVAILABLE, "/problems/unavailable", 503},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *p = problem_new(cases[i].kind, "d", "/x");
        assert_problem(p, cases[i].type, problem_title(cases[i].kind), cases[i].status);
        assert_int_equal(problem_status(cases[i].kind), cases[i].status);
        json_decref(p);
    }
}

static void
test_optional_members(void **state)
{
    json_t *p;

    (void)state;
    /* Without detail and instance, the members are absent rather than null or "". */
    p = problem_new(PROBLEM_NOT_FOUND, NULL, NULL);
    assert_problem(p, "/problems/not-found", problem_title(PROBLEM_NOT_FOUND), 404);
    assert_null(json_object_get(p, "detail"));
    assert_null(json_object_get(p, "instance"));
    assert_int_equal(json_object_size(p), 3);
    json_decref(p);

    p = problem_new(PROBLEM_NOT_FOUND, "no such organisation", NULL);
    assert_string_equal(json_string_value(json_object_get(p, "detail")), "no such organisation");
    assert_null(json_object_get(p, "instance"));
    json_decref(p);

    p = problem_new(PROBLEM_NOT_FOUND, NULL, "/v1/licences/1");
    assert_null(json_object_get(p, "detail"));
    assert_string_equal(json_string_value(json_object_get(p, "instance")), "/v1/licences/1");
    json_decref(p);
}

static void
test_invalid_utf8_detail(void **state)
{
    json_t *p;
    const char *d;

    (void)state;
    /* A detail echoing invalid UTF-8 still yields a problem with a (replaced) detail. */
    p = problem_new(PROBLEM_BAD_REQUEST, "bad \xc0\xaf value", "/v1/\xff");
    assert_problem(p, "/problems/bad-request", problem_title(PROBLEM_BAD_REQUEST), 400);
    d = json_string_value(json_object_get(p, "detail"));
    assert_non_null(d);
    assert_null(strstr(d, "\xc0"));
    assert_null(json_object_get(p, "instance"));
    json_decref(p);
}

static void
test_kind_table_complete(void **state)
{
    int k, j;

    (void)state;
    for (k = 0; k < PROBLEM_KIND_COUNT; k++) {
        const char *slug = problem_slug((enum problem_kind)k);
        const char *title = problem_title((enum problem_kind)k);
        int status = problem_status((enum problem_kind)k);
        const char *c;
        json_t *p;
        char type[128];

        if (slug == NULL || slug[0] == '\0' || title == NULL || title[0] == '\0') {
            fail_msg("kind %d has no slug or title", k);
        }
        if (status < 400 || status > 599) {
            fail_msg("kind %d (%s) has status %d", k, slug, status);
        }
        /* Slugs are URL path segments: lower case, digits and '-'. */
        for (c = slug; *c != '\0'; c++) {
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-')) {
                fail_msg("kind %d slug '%s' has '%c'", k, slug, *c);
            }
        }
        /* Slugs are unique, or two kinds would share a page. */
        for (j = 0; j < k; j++) {
            if (strcmp(problem_slug((enum problem_kind)j), slug) == 0) {
                fail_msg("kinds %d and %d share slug '%s'", j, k, slug);
            }
        }
        snprintf(type, sizeof(type), "/problems/%s", slug);
        p = problem_new((enum problem_kind)k, NULL, NULL);
        assert_problem(p, type, title, status);
        json_decref(p);
    }
}

static void
test_sqlstate(void **state)
{
    (void)state;
    assert_int_equal(problem_status_for_sqlstate("23505"), 409); /* unique_violation */
    assert_int_equal(problem_status_for_sqlstate("23503"), 422); /* foreign_key_violation */
    assert_int_equal(problem_status_for_sqlstate("23514"), 422); /* check_violation */
    assert_int_equal(problem_status_for_sqlstate("22P02"), 400); /* invalid_text_representation */
    assert_int_equal(problem_status_for_sqlstate("40001"), 503); /* serialization_failure */
    assert_int_equal(problem_status_for_sqlstate("40P01"), 503); /* deadlock_detected */
    assert_int_equal(problem_status_for_sqlstate("57014"), 503); /* query_canceled */
    assert_int_equal(problem_status_for_sqlstate(NULL), 503);    /* connection lost */
    /* Connection-class failures are outages too. */
    assert_int_equal(problem_status_for_sqlstate("08006"), 503);
    assert_int_equal(problem_status_for_sqlstate("57P01"), 503);
    /* Anything else is ours to fix. */
    assert_int_equal(problem_status_for_sqlstate("42P01"), 500); /* undefined_table */
    assert_int_equal(problem_status_for_sqlstate("42601"), 500); /* syntax_error */
    assert_int_equal(problem_status_for_sqlstate("23502"), 500); /* not_null_violation */
    assert_int_equal(problem_status_for_sqlstate("XX000"), 500);
    assert_int_equal(problem_status_for_sqlstate(""), 500);
    /* Exact codes, not prefixes. */
    assert_int_equal(problem_status_for_sqlstate("2350"), 500);
    assert_int_equal(problem_status_for_sqlstate("235050"), 500);
    assert_int_equal(problem_status_for_sqlstate("22P0"), 500);
}

static void
test_add_error(void **state)
{
    json_t *errors = json_array();
    json_t *e;

    (void)state;
    problem_add_error(errors, "name", "must be text of 1 to 200 characters");
    problem_add_error(errors, "postcode", "must be a UK postcode, e.g. ME4 4AB");
    assert_int_equal(json_array_size(errors), 2);

    e = json_array_get(errors, 0);
    assert_int_equal(json_object_size(e), 2);
    assert_string_equal(json_string_value(json_object_get(e, "field")), "name");
    assert_string_equal(json_string_value(json_object_get(e, "detail")),
                        "must be text of 1 to 200 characters");
    e = json_array_get(errors, 1);
    assert_int_equal(json_object_size(e), 2);
    assert_string_equal(json_string_value(json_object_get(e, "field")), "postcode");
    assert_string_equal(json_string_value(json_object_get(e, "detail")),
                        "must be a UK postcode, e.g. ME4 4AB");

    /* A field name that is not UTF-8 still gives an item with a string field. */
    problem_add_error(errors, "bad\xff", "is not a field of this resource");
    assert_int_equal(json_array_size(errors), 3);
    e = json_array_get(errors, 2);
    assert_true(json_is_string(json_object_get(e, "field")));
    assert_string_equal(json_string_value(json_object_get(e, "detail")),
                        "is not a field of this resource");
    json_decref(errors);
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_validation),
          cmocka_unit_test(test_several_kinds),
          cmocka_unit_test(test_optional_members),
          cmocka_unit_test(test_invalid_utf8_detail),
          cmocka_unit_test(test_kind_table_complete),
          cmocka_unit_test(test_sqlstate),
          cmocka_unit_test(test_add_error))
