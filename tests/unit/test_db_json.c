/* tests/unit/test_db_json.c: rendering rows as JSON, on PGresults built by hand (no database). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "../test_main.h"
#include "registry/db.h"

/* PostgreSQL type OIDs (pg_type.dat). */
#define BOOLOID        16
#define INT8OID        20
#define INT2OID        21
#define INT4OID        23
#define TEXTOID        25
#define JSONOID        114
#define FLOAT8OID      701
#define DATEOID        1082
#define TIMESTAMPTZOID 1184
#define NUMERICOID     1700
#define JSONBOID       3802

struct col {
    const char *name;
    Oid type;
};

static const struct col cols[] = {
    {"_version", INT8OID},
    {"id", TEXTOID},
    {"active", BOOLOID},
    {"count", INT4OID},
    {"big", INT8OID},
    {"small", INT2OID},
    {"amount", NUMERICOID},
    {"meta", JSONBOID},
    {"created_at", TIMESTAMPTZOID},
    {"note", TEXTOID},
    {"valid_from", DATEOID},
    {"ratio", FLOAT8OID},
    {"doc", JSONOID},
    {"_stored_status", TEXTOID},
};
#define NCOLS ((int)(sizeof(cols) / sizeof(cols[0])))

/* Rows as text values, in column order; NULL is SQL NULL. */
static const char *const rows[][NCOLS] = {
    {"42", "abc", "t", "-7", "9007199254740993", "-32768", "12.50",
     "{\"a\": [1, 2], \"b\": null, \"c\": \"x\"}", "2025-01-31 12:00:00.5+00", NULL, "2025-04-01",
     "0.25", "[1, \"two\"]", "active"},
    {"43", "def", "f", "2147483647", "-9223372036854775808", "0", "0", "[]",
     "2025-01-31 12:00:00+00", "hello \xc3\xa9", "2024-02-29", "-1.5", "\"s\"", "expired"},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};
#define NROWS ((int)(sizeof(rows) / sizeof(rows[0])))

/* Builds a PGresult with `ncols` columns from `c` and `nrows` rows from `v`. */
static PGresult *
make_result(const struct col *c, int ncols, const char *const (*v)[NCOLS], int nrows)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[NCOLS];
    int i, j;

    assert_non_null(res);
    assert_true(ncols <= NCOLS);
    memset(attrs, 0, sizeof(attrs));
    for (i = 0; i < ncols; i++) {
        attrs[i].name = (char *)c[i].name;
        attrs[i].format = 0;
        attrs[i].typid = c[i].type;
        attrs[i].typlen = -1;
        attrs[i].atttypmod = -1;
    }
    assert_int_equal(PQsetResultAttrs(res, ncols, attrs), 1);
    for (i = 0; i < nrows; i++) {
        for (j = 0; j < ncols; j++) {
            const char *s = v[i][j];
            assert_int_equal(PQsetvalue(res, i, j, (char *)s, s != NULL ? (int)strlen(s) : -1), 1);
        }
    }
    assert_int_equal(PQntuples(res), nrows);
    return res;
}

static int
setup(void **state)
{
    *state = make_result(cols, NCOLS, rows, NROWS);
    return 0;
}

static int
teardown(void **state)
{
    PQclear(*state);
    return 0;
}

static void
test_row_types(void **state)
{
    PGresult *res = *state;
    json_t *o = db_row_to_json(res, 0);
    json_t *meta, *doc;

    assert_true(json_is_object(o));
    /* Internal columns are hidden; the rest are all there. */
    assert_null(json_object_get(o, "_version"));
    assert_null(json_object_get(o, "_stored_status"));
    assert_int_equal(json_object_size(o), NCOLS - 2);

    assert_true(json_is_string(json_object_get(o, "id")));
    assert_string_equal(json_string_value(json_object_get(o, "id")), "abc");
    assert_true(json_is_true(json_object_get(o, "active")));
    assert_true(json_is_integer(json_object_get(o, "count")));
    assert_int_equal(json_integer_value(json_object_get(o, "count")), -7);
    /* int8 exactly, even beyond what a double holds (2^53 + 1). */
    assert_true(json_is_integer(json_object_get(o, "big")));
    assert_true(json_integer_value(json_object_get(o, "big")) == 9007199254740993LL);
    assert_true(json_is_integer(json_object_get(o, "small")));
    assert_int_equal(json_integer_value(json_object_get(o, "small")), -32768);
    assert_true(json_is_number(json_object_get(o, "amount")));
    assert_true(json_number_value(json_object_get(o, "amount")) == 12.5);
    assert_true(json_is_number(json_object_get(o, "ratio")));
    assert_true(json_number_value(json_object_get(o, "ratio")) == 0.25);

    /* jsonb is parsed, not passed on as a string. */
    meta = json_object_get(o, "meta");
    assert_true(json_is_object(meta));
    assert_int_equal(json_array_size(json_object_get(meta, "a")), 2);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(meta, "a"), 1)), 2);
    assert_true(json_is_null(json_object_get(meta, "b")));
    assert_string_equal(json_string_value(json_object_get(meta, "c")), "x");
    doc = json_object_get(o, "doc");
    assert_true(json_is_array(doc));
    assert_string_equal(json_string_value(json_array_get(doc, 1)), "two");

    /* timestamptz in RFC 3339, UTC. */
    assert_string_equal(json_string_value(json_object_get(o, "created_at")),
                        "2025-01-31T12:00:00.5Z");
    /* A date stays a date. */
    assert_string_equal(json_string_value(json_object_get(o, "valid_from")), "2025-04-01");
    /* SQL NULL is JSON null, present rather than missing. */
    assert_non_null(json_object_get(o, "note"));
    assert_true(json_is_null(json_object_get(o, "note")));
    json_decref(o);
}

static void
test_row_types_second(void **state)
{
    PGresult *res = *state;
    json_t *o = db_row_to_json(res, 1);

    assert_true(json_is_false(json_object_get(o, "active")));
    assert_int_equal(json_integer_value(json_object_get(o, "count")), 2147483647);
    assert_true(json_integer_value(json_object_get(o, "big")) == INT64_MIN);
    assert_true(json_is_number(json_object_get(o, "amount")));
    assert_true(json_number_value(json_object_get(o, "amount")) == 0.0);
    assert_true(json_is_array(json_object_get(o, "meta")));
    assert_int_equal(json_array_size(json_object_get(o, "meta")), 0);
    assert_string_equal(json_string_value(json_object_get(o, "created_at")),
                        "2025-01-31T12:00:00Z");
    assert_string_equal(json_string_value(json_object_get(o, "note")), "hello \xc3\xa9");
    assert_string_equal(json_string_value(json_object_get(o, "doc")), "s");
    json_decref(o);
}

static void
test_row_all_null(void **state)
{
    PGresult *res = *state;
    json_t *o = db_row_to_json(res, 2);
    const char *key;
    json_t *v;

    assert_int_equal(json_object_size(o), NCOLS - 2);
    json_object_foreach(o, key, v)
    {
        if (!json_is_null(v)) {
            fail_msg("column %s: expected null", key);
        }
    }
    json_decref(o);
}

static void
test_rows(void **state)
{
    PGresult *res = *state;
    json_t *a = db_rows_to_json(res, NROWS);
    json_t *o;

    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), NROWS);
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "id")), "abc");
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "id")), "def");
    assert_true(json_is_null(json_object_get(json_array_get(a, 2), "id")));
    assert_null(json_object_get(json_array_get(a, 1), "_version"));
    /* Every element equals the single-row rendering. */
    o = db_row_to_json(res, 1);
    assert_true(json_equal(json_array_get(a, 1), o));
    json_decref(o);
    json_decref(a);

    /* Only the first n rows; none gives an empty array, not null. */
    a = db_rows_to_json(res, 1);
    assert_int_equal(json_array_size(a), 1);
    json_decref(a);
    a = db_rows_to_json(res, 0);
    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);
}

static void
test_value(void **state)
{
    PGresult *res = *state;

    /* Hidden from JSON, readable here. */
    assert_string_equal(db_value(res, 0, "_version"), "42");
    assert_string_equal(db_value(res, 1, "_version"), "43");
    assert_string_equal(db_value(res, 1, "_stored_status"), "expired");
    assert_string_equal(db_value(res, 0, "id"), "abc");
    assert_string_equal(db_value(res, 0, "created_at"), "2025-01-31 12:00:00.5+00");
    assert_string_equal(db_value(res, 0, "active"), "t");
    /* SQL NULL, an unknown column and a row past the end are all NULL. */
    assert_null(db_value(res, 0, "note"));
    assert_null(db_value(res, 2, "_version"));
    assert_null(db_value(res, 0, "no_such_column"));
    assert_null(db_value(res, NROWS, "id"));
    assert_null(db_value(res, 1000, "id"));
}

static void
test_bool(void **state)
{
    PGresult *res = *state;
    pid_t pid;
    int st;

    assert_int_equal(db_bool(res, 0, "active"), 1);
    assert_int_equal(db_bool(res, 1, "active"), 0);
    assert_int_equal(db_bool(res, 2, "active"), 0); /* SQL NULL reads as false */
    /* A column the result lacks is a programming error: logged, and a debug build aborts. */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        _exit(db_bool(res, 0, "no_such_column") == 0 ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
#ifdef NDEBUG
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
#else
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
#endif
}

static void
test_unrepresentable(void **state)
{
    static const struct col c[] = {{"name", TEXTOID}, {"meta", JSONBOID}, {"ok", TEXTOID}};
    static const char *const v[][NCOLS] = {{"bad \xff utf-8", "{not json", "fine"}};
    PGresult *res;
    json_t *o;

    (void)state;
    /* Text Jansson refuses (invalid UTF-8) and unparsable JSON become null, and the row is
     * still rendered. */
    res = make_result(c, 3, v, 1);
    o = db_row_to_json(res, 0);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 3);
    assert_true(json_is_null(json_object_get(o, "name")));
    assert_true(json_is_null(json_object_get(o, "meta")));
    assert_string_equal(json_string_value(json_object_get(o, "ok")), "fine");
    json_decref(o);
    PQclear(res);
}

static void
test_no_columns(void **state)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    json_t *a;

    (void)state;
    a = db_rows_to_json(res, 0);
    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);
    assert_null(db_value(res, 0, "id"));
    PQclear(res);
}

static void
test_only_internal_columns(void **state)
{
    static const struct col c[] = {{"_version", INT8OID}};
    static const char *const v[][NCOLS] = {{"7"}};
    PGresult *res = make_result(c, 1, v, 1);
    json_t *o = db_row_to_json(res, 0);

    (void)state;
    assert_true(json_is_object(o));
    assert_int_equal(json_object_size(o), 0);
    assert_string_equal(db_value(res, 0, "_version"), "7");
    json_decref(o);
    PQclear(res);
}

static void
test_pick(void **state)
{
    static const char *const names[] = {"note", "count", "_stored_status", "absent", "meta", NULL};
    PGresult *res = *state;
    json_t *o = db_row_pick(res, 1, names);
    const char *key;
    json_t *v;
    size_t i = 0;

    /* The named columns only, in the order named, typed as db_row_to_json types them; an
     * internal column is given when named; a name the result lacks is null. */
    assert_int_equal(json_object_size(o), 5);
    json_object_foreach(o, key, v)
    {
        assert_string_equal(key, names[i++]);
    }
    assert_string_equal(json_string_value(json_object_get(o, "note")), "hello \xc3\xa9");
    assert_true(json_is_integer(json_object_get(o, "count")));
    assert_int_equal(json_integer_value(json_object_get(o, "count")), 2147483647);
    assert_string_equal(json_string_value(json_object_get(o, "_stored_status")), "expired");
    assert_true(json_is_null(json_object_get(o, "absent")));
    assert_true(json_is_array(json_object_get(o, "meta")));
    json_decref(o);

    /* NULLs are null. */
    o = db_row_pick(res, 2, names);
    assert_true(json_is_null(json_object_get(o, "note")));
    assert_true(json_is_null(json_object_get(o, "count")));
    json_decref(o);
}

TEST_MAIN(NULL,
          NULL,
          TEST_EACH(test_row_types),
          TEST_EACH(test_row_types_second),
          TEST_EACH(test_row_all_null),
          TEST_EACH(test_rows),
          TEST_EACH(test_value),
          TEST_EACH(test_bool),
          cmocka_unit_test(test_unrepresentable),
          cmocka_unit_test(test_no_columns),
          cmocka_unit_test(test_only_internal_columns),
          TEST_EACH(test_pick))
