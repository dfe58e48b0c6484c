/* tests/unit/test_jsonout.c: jsonout_dump writes, byte for byte, what
 * json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(12)) writes, and what it writes reads back as
 * the same value. */
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
#include "registry/jsonout.h"

#define JANSSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(12))

/* Checks jsonout_dump(v) against Jansson and, unless a key holds a NUL byte (which Jansson
 * cannot read back), that the text reads back as a value written as the same text (reals with
 * 12 digits need not read back equal). Takes the reference. */
static void
check(json_t *v, int round_trip)
{
    size_t len = 0;
    char *ours = jsonout_dump(v, &len), *theirs = json_dumps(v, JANSSON_FLAGS | JSON_ENCODE_ANY);

    assert_non_null(ours);
    assert_non_null(theirs);
    assert_string_equal(ours, theirs);
    assert_int_equal(len, strlen(theirs));
    if (round_trip) {
        json_t *back = json_loads(ours, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        char *again;

        assert_non_null(back);
        again = jsonout_dump(back, NULL);
        assert_non_null(again);
        assert_string_equal(again, ours);
        free(again);
        json_decref(back);
    }
    free(ours);
    free(theirs);
    json_decref(v);
}

static void
same_as_jansson(json_t *v)
{
    check(v, 1);
}

static void
test_scalars(void **state)
{
    (void)state;
    same_as_jansson(json_null());
    same_as_jansson(json_true());
    same_as_jansson(json_false());
    same_as_jansson(json_integer(0));
    same_as_jansson(json_integer(-1));
    same_as_jansson(json_integer(INT64_MAX));
    same_as_jansson(json_integer(INT64_MIN));
    same_as_jansson(json_string(""));
    same_as_jansson(json_string("MPF-000123"));
}

static void
test_reals(void **state)
{
    static const double v[] = {0.0,
                               -0.0,
                               1.0,
                               -2.5,
                               0.1,
                               1.5,
                               51.5074,
                               -0.1278,
                               3.14159265358979,
                               1e20,
                               1e-5,
                               123456789012.0,
                               1234567890123.0,
                               -1.25e-300,
                               6.02214076e23,
                               100.0,
                               2.0 / 3.0};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t len;
        json_t *r = json_real(v[i]);
        char *ours = jsonout_dump(r, NULL),
             *theirs = json_dumps(r, JANSSON_FLAGS | JSON_ENCODE_ANY);

        assert_non_null(ours);
        assert_string_equal(ours, theirs);
        free(theirs);
        free(ours);
        ours = jsonout_dump(r, &len);
        assert_int_equal(len, strlen(ours));
        free(ours);
        json_decref(r);
    }
}

static void
test_escapes(void **state)
{
    char all[0x80];
    size_t i;

    (void)state;
    same_as_jansson(json_string("quote \" backslash \\ slash / tab \t newline \n"));
    same_as_jansson(json_string("\b\f\r\x01\x1f\x7f"));
    /* Every ASCII byte, NUL included (json_stringn), and non-ASCII left as UTF-8. */
    for (i = 0; i < sizeof(all); i++) {
        all[i] = (char)i;
    }
    same_as_jansson(json_stringn(all, sizeof(all)));
    same_as_jansson(json_string("Siân Ó Briain, Chloé Müller \xe2\x80\xa8 \xf0\x9f\x98\x80"));
}

static void
test_containers(void **state)
{
    json_t *o;

    (void)state;
    same_as_jansson(json_object());
    same_as_jansson(json_array());
    same_as_jansson(json_pack("[i,s,n,b,[],{}]", 1, "two", 0));
    /* Keys in insertion order, not sorted: z before a. */
    o = json_pack("{s:s, s:i, s:{s:[f,s]}, s:n}", "z", "last-inserted-first", "a", 2, "nested",
                  "list", 1.5, "x\"y", "empty");
    same_as_jansson(json_incref(o));
    {
        char *t = jsonout_dump(o, NULL);
        assert_non_null(t);
        assert_string_equal(t, "{\"z\":\"last-inserted-first\",\"a\":2,"
                               "\"nested\":{\"list\":[1.5,\"x\\\"y\"]},\"empty\":null}");
        free(t);
    }
    json_decref(o);
    /* A key holding a NUL byte, and keys that need escaping. */
    o = json_object();
    json_object_setn_new(o, "a\0b", 3, json_integer(1));
    json_object_set_new(o, "tab\there", json_string("v"));
    check(o, 0);
}

static void
test_large_document(void **state)
{
    /* Large enough to grow the buffer many times; 200 sites of a search answer. */
    json_t *items = json_array();
    int i;

    (void)state;
    for (i = 0; i < 200; i++) {
        json_array_append_new(
            items, json_pack("{s:f, s:{s:s, s:s}, s:{s:i, s:s, s:[s,s], s:b}}", "distance_km",
                             i * 0.37, "organisation", "name", "Families Together \"Leeds\"",
                             "phone", "0113 496 0000", "site", "id", i, "name", "Hall\nroom",
                             "address_lines", "1 High St", "Leeds", "self_referral", i % 2));
    }
    same_as_jansson(json_pack("{s:o, s:n}", "items", items, "nearest_beyond"));
}

static void
test_too_deep(void **state)
{
    json_t *v = json_array(), *inner = v;
    int i;

    (void)state;
    for (i = 0; i < JSONOUT_MAX_DEPTH + 2; i++) {
        json_t *next = json_array();
        json_array_append_new(inner, next);
        inner = next;
    }
    assert_null(jsonout_dump(v, NULL));
    json_decref(v);
    assert_null(jsonout_dump(NULL, NULL));
}

/* jsonout_put_round2 against what PostgreSQL 15 wrote for round(v::numeric, 2)::text (each
 * expected text below is its answer; 300,000 random values of the same ranges agreed when it was
 * written): the 15 significant digits of float8 -> numeric, then half away from zero. */
static void
test_round2(void **state)
{
    static const struct {
        double v;
        const char *pg;
    } cases[] = {
        {0, "0.00"},
        {2.675, "2.68"}, /* 2.67499999... as a double; "%.2f" gives 2.67 */
        {1.005, "1.01"},
        {0.125, "0.13"},
        {0.005, "0.01"},
        {0.015, "0.02"},
        {0.0049999999999, "0.00"},
        {9.995, "10.00"},
        {99.995, "100.00"},
        {999.995, "1000.00"},
        {12345.995, "12346.00"},
        {1e-7, "0.00"},
        {1e-5, "0.00"},
        {0.00049, "0.00"},
        {123456789.125, "123456789.13"},
        {-0.001, "0.00"},
        {-2.675, "-2.68"},
        {-0.005, "-0.01"},
        {1.0 / 3, "0.33"},
        {20015.086796, "20015.09"},
        {0.994999999999999, "0.99"},
        {0.995, "1.00"},
        {26.64400000000018, "26.64"},
        {49.460478419230824, "49.46"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct jsonout_buf b = {0};

        jsonout_put(&b, "[", 1);
        jsonout_put_round2(&b, cases[i].v);
        assert_false(b.failed);
        assert_string_equal(b.p + 1, cases[i].pg);
        free(b.p);
    }
    {
        struct jsonout_buf b = {0};

        jsonout_put_round2(&b, 1.0 / 0.0);
        assert_string_equal(b.p, "null");
        free(b.p);
    }
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_scalars),
          cmocka_unit_test(test_reals),
          cmocka_unit_test(test_escapes),
          cmocka_unit_test(test_containers),
          cmocka_unit_test(test_large_document),
          cmocka_unit_test(test_too_deep),
          cmocka_unit_test(test_round2))
