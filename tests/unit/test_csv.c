/* tests/unit/test_csv.c: a CSV page written straight from a query result (csv_send_result) has
 * the bytes of the same rows sent through JSON (http_send_csv of db_rows_to_json), on PGresults
 * built by hand. mg_write is wrapped (-Wl,--wrap=mg_write) to catch the response. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>
#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "../test_main.h"
#include "registry/csv.h"
#include "registry/db.h"
#include "registry/http.h"

int __wrap_mg_write(struct mg_connection *conn, const void *buf, size_t len);

static char written[8192];
static size_t nwritten;

int
__wrap_mg_write(struct mg_connection *conn, const void *buf, size_t len)
{
    (void)conn;
    assert_true(nwritten + len < sizeof(written));
    memcpy(written + nwritten, buf, len);
    nwritten += len;
    written[nwritten] = '\0';
    return (int)len;
}

/* PostgreSQL type OIDs (pg_type.dat). */
static const struct {
    const char *name;
    Oid type;
} cols[] = {
    {"id", 2950},  {"name", 25}, {"ok", 16},   {"n", 23},        {"big", 20},       {"lat", 701},
    {"num", 1700}, {"j", 3802},  {"ts", 1184}, {"_version", 20}, {"on_date", 1082}, {"js", 114},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static const char *const rows[][NCOLS] = {
    {"0f0e", "=SUM(A1)", "t", "-12", "9223372036854775807", "51.501009", "NaN",
     "{\"b\":1,\"a\":[1,2]}", "2025-01-31 12:00:00.5+00", "7", "2025-01-31", "\"str, q\""},
    {"a", "a,b\"c\r\nd\ne", "f", "0", "1", "Infinity", "1.234567890123", "\"-x\"",
     "2025-01-31 12:00:00+01", "8", NULL, "12"},
    {"b", "\xff\xfe not UTF-8", NULL, NULL, NULL, "-0.5", "100", "null",
     "2025-01-31 12:00:00.123456+00", NULL, NULL, "3.5e10"},
    {"c", "@x\t", "t", "5", "6", "1e300", "0.1", "[]", "infinity", "9", "", "true"},
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static PGresult *
make_result(void)
{
    PGresAttDesc attrs[NCOLS];
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    size_t i, c;

    memset(attrs, 0, sizeof(attrs));
    for (c = 0; c < NCOLS; c++) {
        attrs[c].name = (char *)cols[c].name;
        attrs[c].typid = cols[c].type;
        attrs[c].typlen = -1;
        attrs[c].atttypmod = -1;
    }
    assert_int_equal(PQsetResultAttrs(res, (int)NCOLS, attrs), 1);
    for (i = 0; i < NROWS; i++) {
        for (c = 0; c < NCOLS; c++) {
            const char *v = rows[i][c];
            assert_int_equal(
                PQsetvalue(res, (int)i, (int)c, (char *)v, v != NULL ? (int)strlen(v) : -1), 1);
        }
    }
    return res;
}

/* Sends rows [0, n) both ways; returns the JSON way's response in *via_json (malloc'd). */
static char *
send_both(const PGresult *res, int n, char **via_json)
{
    const char *names[NCOLS + 1];
    struct req r;
    json_t *items = db_rows_to_json(res, n);
    size_t c, k = 0;

    for (c = 0; c < NCOLS; c++) {
        if (cols[c].name[0] != '_') {
            names[k++] = cols[c].name;
        }
    }
    names[k] = NULL;
    memset(&r, 0, sizeof(r));
    r.conn = (struct mg_connection *)&r; /* never read: mg_write is wrapped */
    r.method = "GET";
    snprintf(r.request_id, sizeof(r.request_id), "test");
    nwritten = 0;
    assert_int_equal(http_send_csv(&r, 200, items, names), 200);
    json_decref(items);
    *via_json = strdup(written);
    r.status = 0;
    nwritten = 0;
    assert_int_equal(csv_send_result(&r, 200, res, n), 200);
    return strdup(written);
}

static void
test_same_bytes(void **state)
{
    PGresult *res = make_result();
    int n;

    (void)state;
    for (n = 0; n <= (int)NROWS; n++) {
        char *via_json, *direct = send_both(res, n, &via_json);
        assert_string_equal(direct, via_json);
        free(direct);
        free(via_json);
    }
    PQclear(res);
}

static void
test_cells(void **state)
{
    PGresult *res = make_result();
    char *via_json, *direct = send_both(res, 1, &via_json);

    (void)state;
    assert_non_null(strstr(direct, "\r\n\r\nid,name,ok,n,big,lat,num,j,ts,on_date,js\r\n"
                                   "0f0e,\"'=SUM(A1)\",true,-12,9223372036854775807,51.501009,,"
                                   "\"{\"\"b\"\":1,\"\"a\"\":[1,2]}\",2025-01-31T12:00:00.5Z,"
                                   "2025-01-31,\"str, q\"\r\n"));
    free(direct);
    free(via_json);
    PQclear(res);
}

TEST_MAIN(NULL, NULL, cmocka_unit_test(test_same_bytes), cmocka_unit_test(test_cells))
