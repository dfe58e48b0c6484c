/* tests/unit/test_jsonview.c: jsonview reads what Jansson reads. Every text of a corpus (a
 * provider search's answer with hostile strings, escapes of every kind, numbers at the edges,
 * nesting, and malformed texts) parses with both or with neither, and where both parse, the two
 * values are equal all the way down; then the accessors on absent and mistyped values, and a
 * deep nesting refused rather than recursing without bound. */
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
#include "registry/jsonview.h"

/* Fails unless view value `i` equals Jansson's `j`. */
static void
assert_same(const struct jview *v, int i, json_t *j, const char *where)
{
    const struct jview_tok *t = &v->tok[i];
    const char *key;
    json_t *value;
    size_t n;
    int k;

    assert_true(i >= 0 && i < v->n);
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        assert_int_equal(t->type, JVIEW_OBJECT);
        assert_int_equal(t->size, json_object_size(j));
        json_object_foreach(j, key, value)
        {
            k = jview_get(v, i, key);
            if (k < 0) {
                fail_msg("%s: no member %s", where, key);
            }
            assert_same(v, k, value, where);
        }
        break;
    case JSON_ARRAY:
        assert_int_equal(t->type, JVIEW_ARRAY);
        assert_int_equal(jview_size(v, i), json_array_size(j));
        k = jview_first(v, i);
        for (n = 0; n < json_array_size(j); n++) {
            assert_true(k >= 0);
            assert_int_equal(jview_at(v, i, n), k);
            assert_same(v, k, json_array_get(j, n), where);
            k = jview_next(v, i, k);
        }
        assert_int_equal(k, -1);
        break;
    case JSON_STRING:
        assert_int_equal(t->type, JVIEW_STRING);
        assert_int_equal(strlen(jview_str(v, i)), json_string_length(j));
        assert_memory_equal(jview_str(v, i), json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        assert_int_equal(t->type, JVIEW_INTEGER);
        assert_true(jview_int(v, i) == json_integer_value(j));
        assert_true(jview_num(v, i) == json_number_value(j));
        break;
    case JSON_REAL:
        assert_int_equal(t->type, JVIEW_REAL);
        assert_true(jview_num(v, i) == json_real_value(j));
        assert_true(jview_int(v, i) == 0);
        break;
    case JSON_TRUE:
        assert_int_equal(t->type, JVIEW_TRUE);
        assert_true(jview_is_true(v, i));
        break;
    case JSON_FALSE:
        assert_int_equal(t->type, JVIEW_FALSE);
        assert_false(jview_is_true(v, i));
        break;
    case JSON_NULL:
        assert_int_equal(t->type, JVIEW_NULL);
        break;
    }
}

static const char *const corpus[] = {
    /* An answer as the provider search writes it, with text a hostile organisation could store. */
    "{\"items\":[{\"distance_km\":0.61,\"organisation\":{\"name\":\"Evil <script>alert(\\\"o\\\")"
    "</script> & 'Co'\",\"phone\":\"01634 000111\",\"email\":null,\"website\":\"javascript:x()\"},"
    "\"site\":{\"id\":\"5b1c0c1e-2f0a-4c39-9f7e-2b1c0c1e2f0a\",\"name\":\"Hall \\\\ One\","
    "\"address_lines\":[\"1 \\\"Quay\\\" St\",\"Floor <2>\"],\"town\":\"Caf\u00e9\",\"postcode\":"
    "\"ME4 4AB\",\"accessibility\":\"tab\\there\\nand\\r\\u00e9\\u20ac\\ud83d\\ude00\\/\\b\\f\","
    "\"takes_enquiries\":true},\"upcoming_runs\":[{\"id\":\"x\",\"status\":\"recruiting\","
    "\"started\":false,\"starts_on\":\"2027-03-14\",\"variant\":\"standard\",\"weekday\":null,"
    "\"start_time\":\"18:30\",\"places_left\":5,\"capacity_families\":8,"
    "\"accepting_referrals\":true,\"self_referral_allowed\":false}]}],\"nearest_beyond\":null,"
    "\"central_contact\":null}",
    "[]",
    "{}",
    " \t\r\n[ 1 , -0 , 0.5 , -12.25e+3 , 1E-400 , 9223372036854775807 , -9223372036854775808 ,"
    " 1e2 , 0e0 , true , false , null , \"\" , [] , {} , [[[[]]]] ] \n",
    "{\"a\":{\"b\":{\"c\":[{\"d\":[1,{\"e\":\"f\"}]}]}},\"g\":\"\\u0041\\u00DF\\uFFFF\"}",
    "{\"\":\"empty name\",\"k\":\"v\"}",
    /* Malformed: each must fail in both. */
    "",
    "   ",
    "1",
    "\"a string alone\"",
    "null",
    "{",
    "[1,]",
    "[,1]",
    "{\"a\" 1}",
    "{\"a\":1,}",
    "{a:1}",
    "[01]",
    "[1.]",
    "[.5]",
    "[1e]",
    "[-]",
    "[+1]",
    "[9223372036854775808]",
    "[1e400]",
    "[\"unterminated]",
    "[\"raw\ttab\"]",
    "[\"bad \\x escape\"]",
    "[\"short \\u12\"]",
    "[\"lone high \\ud83d\"]",
    "[\"lone low \\ude00\"]",
    "[\"high then not low \\ud83d\\u0041\"]",
    "[\"nul \\u0000\"]",
    "[tru]",
    "[nulls]",
    "[1] [2]",
    "{}x",
    "[\"a\"\"b\"]",
};

static void
test_corpus_as_jansson(void **state)
{
    size_t c;

    (void)state;
    for (c = 0; c < sizeof(corpus) / sizeof(corpus[0]); c++) {
        struct jview v;
        json_error_t err;
        json_t *j = json_loads(corpus[c], JSON_REJECT_DUPLICATES, &err);
        int rc;

        jview_init(&v);
        rc = jview_parse(&v, corpus[c], strlen(corpus[c]));
        if ((rc == 0) != (j != NULL)) {
            fail_msg("text %zu: jview %s, Jansson %s (%s): %s", c, rc == 0 ? "parses" : "refuses",
                     j != NULL ? "parses" : "refuses", err.text, corpus[c]);
        }
        if (j != NULL) {
            assert_same(&v, 0, j, corpus[c]);
            assert_int_equal(v.tok[0].next, v.n);
        } else {
            assert_null(v.tok);
            assert_int_equal(v.n, 0);
        }
        json_decref(j);
        jview_cleanup(&v);
    }
}

/* Only the `len` bytes given are read: a text is not taken to end at a NUL, nor to go past it. */
static void
test_length_bounds(void **state)
{
    const char text[] = "{\"a\":[1,2]}{\"b\":3}";
    struct jview v;

    (void)state;
    jview_init(&v);
    assert_int_equal(jview_parse(&v, text, 11), 0);
    assert_int_equal(jview_size(&v, jview_get(&v, 0, "a")), 2);
    assert_int_equal(jview_parse(&v, text, 10), -1);
    assert_int_equal(jview_parse(&v, text, sizeof(text) - 1), -1);
    assert_int_equal(jview_parse(&v, NULL, 0), -1);
    jview_cleanup(&v);
}

static void
test_accessors_absent_and_mistyped(void **state)
{
    const char text[] = "{\"s\":\"x\",\"n\":2,\"r\":2.5,\"t\":true,\"f\":false,\"z\":null,"
                        "\"a\":[\"p\",\"q\"],\"o\":{\"s\":\"inner\"}}";
    struct jview v;
    int a, o;

    (void)state;
    jview_init(&v);
    assert_int_equal(jview_parse(&v, text, strlen(text)), 0);
    a = jview_get(&v, 0, "a");
    o = jview_get(&v, 0, "o");
    assert_int_equal(jview_get(&v, 0, "missing"), -1);
    assert_int_equal(jview_get(&v, a, "s"), -1); /* not an object */
    assert_int_equal(jview_get(&v, -1, "s"), -1);
    assert_string_equal(jview_str(&v, jview_get(&v, o, "s")), "inner");
    assert_string_equal(jview_str(&v, jview_get(&v, 0, "s")), "x");
    assert_null(jview_str(&v, jview_get(&v, 0, "z")));
    assert_null(jview_str(&v, jview_get(&v, 0, "n")));
    assert_null(jview_str(&v, -1));
    assert_true(jview_is_true(&v, jview_get(&v, 0, "t")));
    assert_false(jview_is_true(&v, jview_get(&v, 0, "f")));
    assert_false(jview_is_true(&v, jview_get(&v, 0, "s")));
    assert_false(jview_is_true(&v, -1));
    assert_true(jview_is_object(&v, o));
    assert_false(jview_is_object(&v, a));
    assert_false(jview_is_object(&v, -1));
    assert_true(jview_int(&v, jview_get(&v, 0, "n")) == 2);
    assert_true(jview_int(&v, jview_get(&v, 0, "r")) == 0);
    assert_true(jview_int(&v, jview_get(&v, 0, "s")) == 0);
    assert_true(jview_num(&v, jview_get(&v, 0, "r")) == 2.5);
    assert_true(jview_num(&v, jview_get(&v, 0, "n")) == 2.0);
    assert_true(jview_num(&v, -1) == 0.0);
    assert_int_equal(jview_size(&v, a), 2);
    assert_int_equal(jview_size(&v, o), 0);
    assert_int_equal(jview_size(&v, -1), 0);
    assert_string_equal(jview_str(&v, jview_at(&v, a, 1)), "q");
    assert_int_equal(jview_at(&v, a, 2), -1);
    assert_int_equal(jview_first(&v, o), -1);
    assert_int_equal(jview_next(&v, a, -1), -1);
    assert_int_equal(jview_next(&v, o, o + 1), -1);
    jview_cleanup(&v);
}

/* Nesting beyond the limit is refused (no recursion without bound); within it, read. */
static void
test_depth(void **state)
{
    char text[2 * 200 + 1];
    struct jview v;
    int d;

    (void)state;
    jview_init(&v);
    for (d = 0; d < 200; d++) {
        text[d] = '[';
        text[200 + d] = ']';
    }
    text[400] = '\0';
    assert_int_equal(jview_parse(&v, text, 400), -1);
    assert_int_equal(jview_parse(&v, text + 150, 100), 0);
    assert_int_equal(v.n, 50);
    jview_cleanup(&v);
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_corpus_as_jansson),
          cmocka_unit_test(test_length_bounds),
          cmocka_unit_test(test_accessors_absent_and_mistyped),
          cmocka_unit_test(test_depth))
