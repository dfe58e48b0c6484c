/* paging.c: keyset pagination: `limit` and opaque cursors, their checks, and sending a page. */
#include "registry/paging.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/codec.h"
#include "registry/csv.h"
#include "registry/db.h"
#include "registry/dbreply.h"
#include "registry/problem.h"
#include "registry/validate.h"

int
http_page_or_problem(struct req *r, const struct query *q, struct page *p)
{
    const char *limit = query_get(q, "limit");
    const char *cursor = query_get(q, "cursor");

    p->limit = 20;
    p->after = NULL;
    if (limit != NULL) {
        char *end;
        long v = strtol(limit, &end, 10);
        if (*limit == '\0' || *end != '\0' || !isdigit((unsigned char)*limit) || v < 1 || v > 100) {
            return problem_send(r, PROBLEM_BAD_REQUEST, "limit: a whole number from 1 to 100");
        }
        p->limit = (int)v;
    }
    if (cursor != NULL) {
        size_t len = strlen(cursor);
        unsigned char *raw;
        long n;

        raw = len <= 1024 ? malloc(len + 1) : NULL;
        n = raw != NULL ? codec_b64url_decode(cursor, len, raw) : -1;
        if (n > 0) {
            p->after = json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
        }
        free(raw);
        if (!json_is_array(p->after)) {
            json_decref(p->after);
            p->after = NULL;
            return problem_send(r, PROBLEM_BAD_REQUEST,
                                "cursor: not a cursor from this list; start again without it");
        }
    }
    return 0;
}

void
page_cleanup(struct page *p)
{
    json_decref(p->after);
    p->after = NULL;
}

json_t *
page_cursor(json_t *key)
{
    char *text = key != NULL ? json_dumps(key, JSON_COMPACT) : NULL;
    char *enc = text != NULL ? malloc(strlen(text) * 4 / 3 + 4) : NULL;
    json_t *s = json_null();

    if (enc != NULL) {
        codec_b64url_encode((const unsigned char *)text, strlen(text), enc);
        s = json_string(enc);
    }
    free(enc);
    free(text);
    return s;
}

/* Takes `next_key`: names the next page in an X-Next-Cursor header (a CSV page has no body
 * member for it). */
static void
next_cursor_header(struct req *r, json_t *next_key)
{
    json_t *cursor = page_cursor(next_key);

    if (json_is_string(cursor)) {
        http_add_header(r, "X-Next-Cursor", json_string_value(cursor));
    }
    json_decref(cursor);
    json_decref(next_key);
}

int
page_send(struct req *r, json_t *items, json_t *next_key)
{
    json_t *body;
    int status;

    if (http_wants_csv(r)) {
        next_cursor_header(r, next_key);
        status = http_send_csv(r, 200, items, NULL);
        json_decref(items);
        return status;
    }
    body = json_object();
    json_object_set_new(body, "items", items);
    json_object_set_new(body, "next_cursor", page_cursor(next_key));
    json_decref(next_key);
    return http_send_json_new(r, 200, body);
}

int
page_send_rows(struct req *r, const PGresult *res, int n, json_t *next_key)
{
    if (!http_wants_csv(r)) {
        return page_send(r, db_rows_to_json(res, n), next_key);
    }
    next_cursor_header(r, next_key);
    return csv_send_result(r, 200, res, n);
}

/* 1 when the two characters at s are digits that make at most `max`. */
static int
upto(const char *s, int max)
{
    return isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1])
           && (s[0] - '0') * 10 + (s[1] - '0') <= max;
}

/* 1 when `s` is a date (validate_date), `sep`, then HH:MM:SS with an optional fraction of 1-6
 * digits and, when `zone`, an offset +HH or +HH:MM (at most 14 hours): the shape PostgreSQL's
 * ISO output takes, checked field by field so that no forged cursor reaches a cast. */
static int
cursor_time(const char *s, char sep, int zone)
{
    char date[11];
    size_t n;

    if (strlen(s) < 19 || s[10] != sep) {
        return 0;
    }
    memcpy(date, s, 10);
    date[10] = '\0';
    if (!validate_date(date) || s[13] != ':' || s[16] != ':' || !upto(s + 11, 23)
        || !upto(s + 14, 59) || !upto(s + 17, 59)) {
        return 0;
    }
    s += 19;
    if (*s == '.') {
        n = strspn(s + 1, "0123456789");
        if (n < 1 || n > 6) {
            return 0;
        }
        s += n + 1;
    }
    if (zone) {
        if ((*s != '+' && *s != '-') || !upto(s + 1, 14)) {
            return 0;
        }
        s += 3;
        if (*s == ':' && !upto(s + 1, 59)) {
            return 0;
        }
        s += *s == ':' ? 3 : 0;
    }
    return *s == '\0';
}

int
http_cursor_text(const char *s)
{
    return s != NULL;
}

int
http_cursor_date(const char *s)
{
    return validate_date(s);
}

int
http_cursor_timestamptz(const char *s)
{
    return cursor_time(s, ' ', 1);
}

int
http_cursor_timestamp_utc(const char *s)
{
    return cursor_time(s, 'T', 0);
}

const char *
page_after(const struct page *p, size_t i)
{
    return p->after != NULL ? json_string_value(json_array_get(p->after, i)) : NULL;
}

int
http_cursor_or_problem(struct req *r, const struct page *p, size_t n, int (*first_ok)(const char *))
{
    size_t i;

    if (p->after == NULL) {
        return 0;
    }
    if (json_array_size(p->after) != n) {
        goto bad;
    }
    for (i = 0; i < n; i++) {
        if (!json_is_string(json_array_get(p->after, i))) {
            goto bad;
        }
    }
    if (!validate_uuid(page_after(p, n - 1)) || first_ok == NULL || !first_ok(page_after(p, 0))) {
        goto bad;
    }
    return 0;
bad:
    return problem_send(r, PROBLEM_BAD_REQUEST, "cursor: not a cursor from this list");
}

/* page_send_rows for a page read with one row more than it shows: that row, when present, says
 * another page follows, keyed by (`key`, id). Takes nothing; returns the status sent. */
static int
page_send_keyed(struct req *r, const PGresult *res, const struct page *p, const char *key)
{
    int n = PQntuples(res);
    json_t *next = NULL;

    if (n > p->limit) {
        n = p->limit;
        next = json_pack("[ss]", db_value(res, n - 1, key), db_value(res, n - 1, "id"));
    }
    return page_send_rows(r, res, n, next);
}

int
page_query_send(struct req *r,
                const char *stmt,
                const char **params,
                int nparams,
                const struct page *p,
                const char *key)
{
    char limit[16];
    PGresult *res = NULL;
    int status;

    snprintf(limit, sizeof(limit), "%d", p->limit + 1);
    params[nparams - 1] = limit;
    if ((status = http_exec_or_problem(r, stmt, nparams, params, &res)) == 0) {
        status = page_send_keyed(r, res, p, key);
    }
    PQclear(res);
    return status;
}
