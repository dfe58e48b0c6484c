/* csv.c: RFC 4180 CSV answers, from JSON rows or straight from a query result. */
#include "registry/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/etag.h"
#include "registry/problem.h"

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

/* A growing buffer for CSV text. */
struct text {
    char *buf;
    size_t len, cap;
    int failed;
};

static void
text_add(struct text *t, const char *s, size_t n)
{
    if (t->failed) {
        return;
    }
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        char *p;
        while (cap < t->len + n + 1) {
            cap *= 2;
        }
        p = realloc(t->buf, cap);
        if (p == NULL) {
            t->failed = 1;
            return;
        }
        t->buf = p;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void
csv_field(struct text *t, const char *s, int is_text)
{
    size_t n = strlen(s);

    /* A cell starting with = + - @ is a formula to a spreadsheet (CSV injection). */
    if (is_text && n > 0 && strchr("=+-@\t\r", s[0]) != NULL) {
        text_add(t, "\"'", 2);
    } else if (strpbrk(s, ",\"\r\n") != NULL) {
        text_add(t, "\"", 1);
    } else {
        text_add(t, s, n);
        return;
    }
    for (; *s != '\0'; s++) {
        if (*s == '\r' || *s == '\n') {
            /* Every line break is CRLF (RFC 4180), inside a quoted cell too. */
            text_add(t, "\r\n", 2);
            if (s[0] == '\r' && s[1] == '\n') {
                s++;
            }
            continue;
        }
        text_add(t, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
    }
    text_add(t, "\"", 1);
}

static void
csv_value(struct text *t, json_t *v)
{
    char num[64];
    char *dump;

    switch (json_typeof(v)) {
    case JSON_STRING:
        csv_field(t, json_string_value(v), 1);
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        text_add(t, num, strlen(num));
        break;
    case JSON_REAL:
        snprintf(num, sizeof(num), "%.10g", json_real_value(v));
        text_add(t, num, strlen(num));
        break;
    case JSON_TRUE:
        text_add(t, "true", 4);
        break;
    case JSON_FALSE:
        text_add(t, "false", 5);
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

/* Renders `rows` as CSV into `t` (see http_send_csv). Returns 0, or -1 when out of memory. */
static int
csv_render(struct text *t, json_t *rows, const char *const *columns)
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
    for (c = 0; c < ncols; c++) {
        if (c > 0) {
            text_add(t, ",", 1);
        }
        csv_field(t, cols[c], 0);
    }
    text_add(t, "\r\n", 2);
    json_array_foreach(rows, i, row)
    {
        for (c = 0; c < ncols; c++) {
            if (c > 0) {
                text_add(t, ",", 1);
            }
            v = json_object_get(row, cols[c]);
            if (v != NULL) {
                csv_value(t, v);
            }
        }
        text_add(t, "\r\n", 2);
    }
    if (cols != (const char **)columns) {
        free(cols);
    }
    return t->failed ? -1 : 0;
}

int
http_send_csv(struct req *r, int status, json_t *rows, const char *const *columns)
{
    struct text t = {NULL, 0, 0, 0};

    if (csv_render(&t, rows, columns) != 0) {
        free(t.buf);
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    status = http_send(r, status, "text/csv; charset=utf-8; header=present", t.buf, t.len);
    free(t.buf);
    return status;
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
    struct text t = {NULL, 0, 0, 0};
    json_t *flat = json_array(), *row;
    size_t i;
    int status;

    json_array_foreach(rows, i, row)
    {
        json_array_append_new(flat, csv_flatten(row));
    }
    if (csv_render(&t, flat, columns) != 0) {
        json_decref(flat);
        free(t.buf);
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    json_decref(flat);
    status = http_send_public(r, "text/csv; charset=utf-8; header=present", t.buf, t.len);
    free(t.buf);
    return status;
}
