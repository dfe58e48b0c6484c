/* paging.h: keyset pagination: limit, opaque cursors and sending a page (paging.c). */
#ifndef REGISTRY_PAGING_H
#define REGISTRY_PAGING_H

#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/http.h"

struct query;

/* Keyset pagination: `limit` and the decoded `cursor` (a JSON array, or NULL). */
struct page {
    int limit;
    json_t *after; /* owned; json_decref it */
};

/* Reads `limit` (1-100, default 20) and `cursor` from `q`. Returns 0 or the status sent. */
int http_page_or_problem(struct req *r, const struct query *q, struct page *p);
void page_cleanup(struct page *p);

/* Encodes a cursor (a JSON array, borrowed) as an opaque string; returns a new reference
 * to a JSON string, or json null when `key` is NULL. */
json_t *page_cursor(json_t *key);

/* Sends one page of a list; takes `items` and `next_key`. As JSON {"items", "next_cursor"};
 * or, when the client accepts text/csv (and not JSON first), as CSV with a header row of the
 * items' fields and the next cursor in an X-Next-Cursor header. Returns the status sent. */
int page_send(struct req *r, json_t *items, json_t *next_key);

/* page_send for rows [0, n) of a query result; the CSV header comes from the result's public
 * columns, so an empty page still names them. Takes `next_key`. */
int page_send_rows(struct req *r, const PGresult *res, int n, json_t *next_key);

/* Runs list statement `stmt` and sends the page keyed by (`key`, id): the last of the `nparams`
 * parameters is the row limit, which this fills in (one more than the page, to know whether
 * another page follows). Returns the status sent. */
int page_query_send(struct req *r,
                    const char *stmt,
                    const char **params,
                    int nparams,
                    const struct page *p,
                    const char *key);

/* The `i`-th key of the page's cursor, or NULL when there is no cursor. Borrowed from p->after. */
const char *page_after(const struct page *p, size_t i);

/* 400 naming `cursor` unless the page's cursor (when there is one) is an array of `n` strings,
 * the last a UUID (the row id) and the first of the list's sort key type, `first_ok`: one of the
 * http_cursor_* checks below. Every list declares its key's type, so a forged cursor never
 * reaches a cast in SQL (a 500). Returns 0, or the status of the problem already sent. */
int http_cursor_or_problem(struct req *r,
                           const struct page *p,
                           size_t n,
                           int (*first_ok)(const char *));

/* Sort key types of a cursor, for http_cursor_or_problem. Each returns 1 when `s` is one:
 * text: any text (a name, a code, an email);
 * date: YYYY-MM-DD (validate_date);
 * timestamptz: timestamptz::text in UTC, e.g. 2026-01-02 03:04:05.678+00;
 * timestamp_utc: a UTC time without a zone, e.g. 2026-01-02T03:04:05.678901. */
int http_cursor_text(const char *s);
int http_cursor_date(const char *s);
int http_cursor_timestamptz(const char *s);
int http_cursor_timestamp_utc(const char *s);

#endif
