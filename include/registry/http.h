/* http.h: one request, from the socket to the single write of its response. */
#ifndef REGISTRY_HTTP_H
#define REGISTRY_HTTP_H

#include <stddef.h>
#include <time.h>

#include <civetweb.h>
#include <jansson.h>

#include "registry/auth.h"

#define HTTP_BODY_MAX       (1024 * 1024)      /* request bodies larger than this get 413 */
#define HTTP_DRAIN_MAX      (16 * 1024 * 1024) /* refused bodies read and discarded, at most */
#define HTTP_MAX_PARAMS     4                  /* path parameters a route may have */
#define HTTP_EXTRA_MAX      2048               /* room for extra response headers */
#define HTTP_JSON_DEPTH_MAX 32                 /* deeper request bodies get 400 */

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
    const char *route; /* the pattern of the route that matched, for the access log; or NULL */
    int cache_private; /* 1: http_send_public answers Cache-Control: private (URLs that carry a
                        * family's postcode or position: no shared cache or CDN keeps them) */
};

/* The value of a request header, or NULL. */
const char *http_header(struct req *r, const char *name);

/* Adds a response header ("Name: value") to the next response sent. */
void http_add_header(struct req *r, const char *name, const char *value);

/* Reads the body, whatever its type: 413 over HTTP_BODY_MAX (the connection is closed), 400
 * when shorter than its Content-Length. Returns 0 with a new NUL-terminated buffer in *body
 * (owned by the caller) and its length in *len, or the status of the problem already sent. */
int http_read_body_or_problem(struct req *r, char **body, size_t *len);

/* Reads a JSON object body: 415 on a wrong content type, 413 over HTTP_BODY_MAX, 400 on
 * malformed JSON, duplicate keys or a body that is not an object. Returns 0 with a new
 * reference in *out, or the status of the problem already sent. */
int http_read_json_or_problem(struct req *r, json_t **out);
/* As http_read_json_or_problem for a body that must be a JSON array. */
int http_read_json_array_or_problem(struct req *r, json_t **out);

/* Sends `body` (borrowed) as application/json. Returns `status`. */
int http_send_json(struct req *r, int status, json_t *body);
/* As http_send_json, taking `body` (a new reference, or NULL when building it failed: 500). */
int http_send_json_new(struct req *r, int status, json_t *body);

/* Adds the headers every HTML page carries: Content-Security-Policy (same-origin, no inline
 * script), Referrer-Policy no-referrer, X-Frame-Options DENY. */
void http_add_page_headers(struct req *r);

/* Sends a response with one write: status line, headers, body. Returns `status`. */
int http_send(struct req *r, int status, const char *content_type, const char *body, size_t len);

/* The most bytes of a response's status line and headers. */
#define HTTP_HEAD_MAX 1536

/* As http_send, for a body at buf + headroom whose `headroom` bytes before it (at least
 * HTTP_HEAD_MAX) the caller gives up: the status line and headers are written there, and the
 * response goes out in one write without copying the body. */
int http_send_after_headroom(
    struct req *r, int status, const char *content_type, char *buf, size_t headroom, size_t len);

/* Sends a response without a body (204, 304). Returns `status`. */
int http_send_empty(struct req *r, int status);

/* Writes the access-log line of a finished request (logging_request). */
void http_log(struct req *r);

/* Fills r->request_id from X-Request-Id when it is sane, otherwise a fresh random id. */
void http_request_id(struct req *r);

/* The rest of the mechanism, each in its own room; included here so callers need only http.h. */
#include "registry/csv.h"
#include "registry/dbreply.h"
#include "registry/etag.h"
#include "registry/paging.h"
#include "registry/query.h"

#endif
