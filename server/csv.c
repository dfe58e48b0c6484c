/* csv.c: RFC 4180 CSV answers, from JSON rows or straight from a query result. */
#include "registry/csv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/etag.h"
#include "registry/jsonout.h"
#include "registry/problem.h"
#include "registry/rowjson.h"
#include "registry/validate.h"

int
http_wants_csv(struct req *r)
{
    const char *accept = http_header(r, "Accept");
    const char *csv, *json;

    if (accept == NULL || (csv = strcasestr(accept, "text/csv")) == NULL) {
        return 0;
    }
    json = strcasestr(accept, "application/json");
    return json == NULL || csv < json;
}

static void
csv_field(struct jsonout_buf *t, const char *s, int is_text)
{
    size_t n = strlen(s);

    /* A cell starting with = + - @ is a formula to a spreadsheet (CSV injection). */
    if (is_text && n > 0 && strchr("=+-@\t\r", s[0]) != NULL) {
        jsonout_put(t, "\"'", 2);
    } else if (strpbrk(s, ",\"\r\n") != NULL) {
        jsonout_put(t, "\"", 1);
    } else {
        jsonout_put(t, s, n);
        return;
    }
    for (; *s != '\0'; s++) {
        if (*s == '\r' || *s == '\n') {
            /* Every line break is CRLF (RFC 4180), inside a quoted cell too. */
            jsonout_put(t, "\r\n", 2);
            if (s[0] == '\r' && s[1] == '\n') {
                s++;
            }
            continue;
        }
        jsonout_put(t, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
    }
    jsonout_put(t, "\"", 1);
}

static void
csv_value(struct jsonout_buf *t, json_t *v)
{
    char num[64];
    char *dump;

    switch (json_typeof(v)) {
    case JSON_STRING:
        csv_field(t, json_string_value(v), 1);
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        jsonout_put(t, num, strlen(num));
        break;
    case JSON_REAL:
        snprintf(num, sizeof(num), "%.10g", json_real_value(v));
        jsonout_put(t, num, strlen(num));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        jsonout_put(t, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5);
        break;
    case JSON_OBJECT:
    case JSON_ARRAY:
        dump = json_dumps(v, JSON_COMPACT);
        csv_field(t, dump != NULL ? dump : "", 0);
        free(dump);
        break;
    default: /* null, or a missing field */
        break;
    }
}

/* A header row naming `cols[0..ncols)`. */
static void
csv_header(struct jsonout_buf *t, const char *const *cols, size_t ncols)
{
    size_t c;

    for (c = 0; c < ncols; c++) {
        if (c > 0) {
            jsonout_put(t, ",", 1);
        }
        csv_field(t, cols[c], 0);
    }
    jsonout_put(t, "\r\n", 2);
}

/* Renders `rows` as CSV into `t` (see http_send_csv). Returns 0, or -1 when out of memory. */
static int
csv_render(struct jsonout_buf *t, json_t *rows, const char *const *columns)
{
    json_t *first = json_array_get(rows, 0), *row, *v;
    const char *key;
    size_t i, c, ncols = 0;
    const char **cols = NULL;

    if (columns != NULL) {
        while (columns[ncols] != NULL) {
            ncols++;
        }
        cols = (const char **)columns;
    } else if (first != NULL) {
        cols = malloc((json_object_size(first) + 1) * sizeof(*cols));
        if (cols == NULL) {
            return -1;
        }
        json_object_foreach(first, key, v)
        {
            cols[ncols++] = key;
        }
    }
    csv_header(t, cols, ncols);
    json_array_foreach(rows, i, row)
    {
        for (c = 0; c < ncols; c++) {
            if (c > 0) {
                jsonout_put(t, ",", 1);
            }
            v = json_object_get(row, cols[c]);
            if (v != NULL) {
                csv_value(t, v);
            }
        }
        jsonout_put(t, "\r\n", 2);
    }
    if (cols != (const char **)columns) {
        free(cols);
    }
    return t->failed ? -1 : 0;
}

/* One cell of a query result, written as csv_value writes the JSON value that db_row_to_json
 * makes of it (so a list reads the same whichever way it was built), without building it. */
static void
csv_cell(struct jsonout_buf *t, const PGresult *res, int row, int col)
{
    const char *v = PQgetvalue(res, row, col);
    char num[64], stamp[64];
    json_t *j;
    double d;

    if (PQgetisnull(res, row, col)) {
        return;
    }
    switch (PQftype(res, col)) {
    case 16: /* bool */
        jsonout_put(t, v[0] == 't' ? "true" : "false", v[0] == 't' ? 4 : 5);
        break;
    case 20: /* int8, int2, int4: PostgreSQL writes them as printf does */
    case 21:
    case 23:
        jsonout_put(t, v, strlen(v));
        break;
    case 700:  /* float4 */
    case 701:  /* float8 */
    case 1700: /* numeric; JSON has no NaN or infinity, so those are empty */
        d = strtod(v, NULL);
        if (isfinite(d)) {
            snprintf(num, sizeof(num), "%.10g", d);
            jsonout_put(t, num, strlen(num));
        }
        break;
    case 114:  /* json */
    case 3802: /* jsonb */
        j = json_loads(v, JSON_DECODE_ANY, NULL);
        if (j != NULL) {
            csv_value(t, j);
        }
        json_decref(j);
        break;
    case 1184: /* timestamptz, written as db_row_to_json writes it */
        v = db_timestamp_text(v, stamp, sizeof(stamp));
        /* fall through */
    default: /* text; not UTF-8 (which JSON cannot hold) is empty */
        if (validate_utf8_len(v) >= 0) {
            csv_field(t, v, 1);
        }
        break;
    }
}

/* Renders rows [0, n) of `res` as CSV into `t`: a header row of its public columns (names not
 * starting with '_'; a leading '?' dropped, see db_row_to_json), then the rows. Returns 0, or -1
 * when out of memory. */
static int
csv_render_result(struct jsonout_buf *t, const PGresult *res, int n)
{
    int ncols = PQnfields(res), c, k, row;
    const char **cols = calloc((size_t)ncols + 1, sizeof(*cols));

    if (cols == NULL) {
        return -1;
    }
    for (c = 0, k = 0; c < ncols; c++) {
        if (PQfname(res, c)[0] != '_') {
            cols[k++] = PQfname(res, c) + (PQfname(res, c)[0] == '?');
        }
    }
    csv_header(t, cols, (size_t)k);
    free(cols);
    for (row = 0; row < n; row++) {
        for (c = 0, k = 0; c < ncols; c++) {
            if (PQfname(res, c)[0] == '_') {
                continue;
            }
            if (k++ > 0) {
                jsonout_put(t, ",", 1);
            }
            csv_cell(t, res, row, c);
        }
        jsonout_put(t, "\r\n", 2);
    }
    return t->failed ? -1 : 0;
}

/* Sends the CSV in `t` (rendered: `rendered` == 0; freed here) as http_send does, or with
 * http_send_public when `public`. Returns the status sent. */
static int
csv_send_text(struct req *r, int status, struct jsonout_buf *t, int rendered, int public)
{
    static const char type[] = "text/csv; charset=utf-8; header=present";

    if (rendered != 0) {
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
    } else if (public) {
        status = http_send_public(r, type, t->p, t->len);
    } else {
        status = http_send(r, status, type, t->p, t->len);
    }
    free(t->p);
    return status;
}

int
http_send_csv(struct req *r, int status, json_t *rows, const char *const *columns)
{
    struct jsonout_buf t = {NULL, 0, 0, 0};

    return csv_send_text(r, status, &t, csv_render(&t, rows, columns), 0);
}

int
csv_send_result(struct req *r, int status, const PGresult *res, int n)
{
    struct jsonout_buf t = {NULL, 0, 0, 0};

    return csv_send_text(r, status, &t, csv_render_result(&t, res, n), 0);
}

/* Returns a new reference: `row` with each member that is an object replaced by that object's
 * members, named <member>_<key> (one level; arrays stay whole). */
static json_t *
csv_flatten(json_t *row)
{
    json_t *flat = json_object(), *v, *inner;
    const char *key, *ikey;

    json_object_foreach(row, key, v)
    {
        if (!json_is_object(v)) {
            json_object_set(flat, key, v);
            continue;
        }
        json_object_foreach(v, ikey, inner)
        {
            char name[128];
            snprintf(name, sizeof(name), "%s_%s", key, ikey);
            json_object_set(flat, name, inner);
        }
    }
    return flat;
}

int
http_send_public_csv(struct req *r, json_t *rows, const char *const *columns)
{
    struct jsonout_buf t = {NULL, 0, 0, 0};
    json_t *flat = json_array(), *row;
    size_t i;
    int rendered;

    json_array_foreach(rows, i, row)
    {
        json_array_append_new(flat, csv_flatten(row));
    }
    rendered = csv_render(&t, flat, columns);
    json_decref(flat);
    return csv_send_text(r, 200, &t, rendered, 1);
}
