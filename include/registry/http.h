/* http.h: one request, from the socket to the single write of its response. */
#ifndef REGISTRY_HTTP_H
#define REGISTRY_HTTP_H

#include <stddef.h>
#include <time.h>

#include <civetweb.h>
#include <jansson.h>
#include <libpq-fe.h>

#define HTTP_BODY_MAX       (1024 * 1024) /* request bodies larger than this get 413 */
#define HTTP_DRAIN_MAX      (16 * 1024 * 1024) /* refused bodies read and discarded, at most */
#define HTTP_MAX_PARAMS     4             /* path parameters a route may have */
#define HTTP_MAX_QUERY      16            /* query parameters a request may have */
#define HTTP_EXTRA_MAX      2048          /* room for extra response headers */
#define HTTP_JSON_DEPTH_MAX 32            /* deeper request bodies get 400 */

/* Who is calling, copied out of a verified access token. Empty strings when absent. */
struct principal {
    int authenticated;
    char sub[40];    /* user id (UUID) */
    char role[16];   /* admin, org_admin, org_staff */
    char org[40];    /* organisation id for licensees, "" for admin */
    int client;      /* 1 for an API client's token: it acts as org_admin within its scopes */
    char scope[160]; /* an API client's scopes, space-separated */
};

struct db_conn;

struct req {
    struct mg_connection *conn;
    const struct mg_request_info *ri;
    const char *method;
    const char *path;  /* without the query string */
    const char *query; /* after '?', or NULL */
    char *params[HTTP_MAX_PARAMS];
    int nparams;
    char request_id[72];
    struct principal principal;
    struct db_conn *db; /* borrowed from the pool for this request, or NULL */
    char extra_headers[HTTP_EXTRA_MAX];
    int status;      /* status sent, 0 until a response is written */
    long long bytes; /* body bytes sent */
    struct timespec started;
    int cache_private; /* 1: http_send_public answers Cache-Control: private (URLs that carry a
                        * family's postcode or position: no shared cache or CDN keeps them) */
};

/* One query string, decoded. Names and values point into `buf`. */
struct query {
    char *buf;
    int n;
    struct {
        const char *name;
        const char *value;
    } items[HTTP_MAX_QUERY];
};

/* Keyset pagination: `limit` and the decoded `cursor` (a JSON array, or NULL). */
struct page {
    int limit;
    json_t *after; /* owned; json_decref it */
};

/* The value of a request header, or NULL. */
const char *http_header(struct req *r, const char *name);

/* Adds a response header ("Name: value") to the next response sent. */
void http_add_header(struct req *r, const char *name, const char *value);

/* Reads a JSON object body: 415 on a wrong content type, 413 over HTTP_BODY_MAX, 400 on
 * malformed JSON, duplicate keys or a body that is not an object. Returns 0 with a new
 * reference in *out, or the status of the problem already sent. */
int http_read_json_or_problem(struct req *r, json_t **out);
/* As http_read_json_or_problem for a body that must be a JSON array. */
int http_read_json_array_or_problem(struct req *r, json_t **out);

/* Sends `body` (borrowed) as application/json. Returns `status`. */
int http_send_json(struct req *r, int status, json_t *body);

/* Sends `body` (borrowed) with an ETag for row version `version`. Returns `status`. */
int http_send_resource(struct req *r, int status, json_t *body, const char *version);

/* Sends a public, cacheable 200: an ETag from the body's digest, Cache-Control public
 * max-age=60 and Access-Control-Allow-Origin *; answers 304 when If-None-Match matches. */
int http_send_public(struct req *r, const char *content_type, const char *body, size_t len);
int http_send_public_json(struct req *r, json_t *body); /* borrows body */

/* Sends a 200 with `cache_control` and an ETag (`etag` as given, quoted; NULL: from the body's
 * digest); answers 304 when If-None-Match matches. */
int http_send_cached(struct req *r,
                     const char *content_type,
                     const char *body,
                     size_t len,
                     const char *cache_control,
                     const char *etag);

/* Adds the headers every HTML page carries: Content-Security-Policy (same-origin, no inline
 * script), Referrer-Policy no-referrer, X-Frame-Options DENY. */
void http_add_page_headers(struct req *r);

/* Sends a response with one write: status line, headers, body. Returns `status`. */
int http_send(struct req *r, int status, const char *content_type, const char *body, size_t len);

/* Sends a response without a body (204, 304). Returns `status`. */
int http_send_empty(struct req *r, int status);

/* Parses the query string; names outside `allowed` (NULL-terminated) or repeated names get
 * 400. Returns 0, or the status of the problem already sent. Release with query_cleanup. */
int http_query_or_problem(struct req *r, const char *const *allowed, struct query *q);
/* As http_query_or_problem for HTML pages: names outside `allowed` are skipped, not refused. */
int http_query_page_or_problem(struct req *r, const char *const *allowed, struct query *q);
const char *query_get(const struct query *q, const char *name);
void query_cleanup(struct query *q);

/* Reads `limit` (1-100, default 20) and `cursor` from `q`. Returns 0 or the status sent. */
int http_page_or_problem(struct req *r, const struct query *q, struct page *p);
void page_cleanup(struct page *p);

/* Encodes a cursor (a JSON array, borrowed) as an opaque string; returns a new reference
 * to a JSON string, or json null when `key` is NULL. */
json_t *page_cursor(json_t *key);

/* Builds {"items": items, "next_cursor": ...}; takes `items` and `next_key`.
 * Returns a new reference. */
json_t *page_body(json_t *items, json_t *next_key);

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

/* 1 when the Accept header asks for text/csv ahead of JSON. */
int http_wants_csv(struct req *r);

/* Sends `rows` (an array of objects, borrowed) as RFC 4180 CSV: a header row from `columns`
 * (NULL-terminated), or from the first row's fields when NULL; nested values as compact JSON;
 * text that a spreadsheet would run as a formula is prefixed with an apostrophe. */
int http_send_csv(struct req *r, int status, json_t *rows, const char *const *columns);

/* http_send_csv for the open routes: sent as http_send_public (ETag, Cache-Control public,
 * Vary: Accept), each member of a row that is an object flattened into <member>_<key> columns
 * first (so `columns` may name "site_name"). `rows` is borrowed. Returns the status sent. */
int http_send_public_csv(struct req *r, json_t *rows, const char *const *columns);

/* Writes the strong ETag for a row version into buf ("\"<version>\""). */
void http_etag(char *buf, size_t len, const char *version);

/* Checks If-Match against the current version: 428 when absent, 412 when it differs.
 * Returns 0 when it matches, or the status of the problem already sent. */
int http_if_match_or_problem(struct req *r, const char *version);

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

/* Starts the transaction of a change. With `if_match_required`, first answers 428 when the
 * request carries no If-Match (before any database work). Returns 0, or the status of the
 * problem already sent. */
int http_begin_or_problem(struct req *r, int if_match_required);

/* Runs statement `stmt` and answers a failure. Returns 0 with the result in *out (the caller
 * clears it; pass NULL to discard it), or the status of the problem already sent. */
int http_exec_or_problem(
    struct req *r, const char *stmt, int nparams, const char *const *params, PGresult **out);

/* Runs `stmt` ($1 = id) and reads one row. Answers 404 "no <what> with id <id>" when `id` is not a
 * UUID, when no row comes back, or when `visible` (if not NULL) says the caller may not see row
 * 0. Returns 0 with the result in *out (the caller clears it), or the status of the problem
 * already sent. */
int http_row_or_problem(struct req *r,
                        const char *stmt,
                        const char *id,
                        const char *what,
                        int (*visible)(const struct principal *p, const PGresult *res),
                        PGresult **out);

/* Runs an INSERT ... RETURNING id and copies the new id into `id`. Returns 0, or the status of
 * the problem already sent. */
int http_insert_or_problem(struct req *r,
                           const char *stmt,
                           int nparams,
                           const char *const *params,
                           char *id,
                           size_t idlen);

/* Writes the access-log line for a finished request to stderr. */
void http_log(struct req *r);

/* Fills r->request_id from X-Request-Id when it is sane, otherwise a fresh random id. */
void http_request_id(struct req *r);

#endif
