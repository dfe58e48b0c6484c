/* problem.h: RFC 9457 problem details, the only shape an error takes. */
#ifndef REGISTRY_PROBLEM_H
#define REGISTRY_PROBLEM_H

#include <jansson.h>
#include <libpq-fe.h>

struct req;
struct mg_connection;

enum problem_kind {
    PROBLEM_BAD_REQUEST,            /* 400 malformed request, query or JSON */
    PROBLEM_UNAUTHORIZED,           /* 401 no credentials */
    PROBLEM_INVALID_TOKEN,          /* 401 a bearer token that does not verify */
    PROBLEM_INVALID_CREDENTIALS,    /* 401 wrong email or password */
    PROBLEM_INVALID_GRANT,          /* 400 refresh token not valid; client unlicensed */
    PROBLEM_FORBIDDEN,              /* 403 signed in, but not allowed */
    PROBLEM_NOT_FOUND,              /* 404 */
    PROBLEM_METHOD_NOT_ALLOWED,     /* 405 */
    PROBLEM_NOT_ACCEPTABLE,         /* 406 */
    PROBLEM_CONFLICT,               /* 409 duplicate or state conflict */
    PROBLEM_INVALID_TRANSITION,     /* 409 a status change the rules forbid */
    PROBLEM_PRECONDITION_FAILED,    /* 412 stale If-Match */
    PROBLEM_PAYLOAD_TOO_LARGE,      /* 413 */
    PROBLEM_UNSUPPORTED_MEDIA_TYPE, /* 415 */
    PROBLEM_VALIDATION,             /* 422 with an errors array */
    PROBLEM_PRECONDITION_REQUIRED,  /* 428 missing If-Match */
    PROBLEM_TOO_MANY_REQUESTS,      /* 429 */
    PROBLEM_INTERNAL,               /* 500 */
    PROBLEM_UNAVAILABLE,            /* 503 database unreachable or busy */
    PROBLEM_LENGTH_REQUIRED,        /* 411 a Content-Length that is not a number (CivetWeb's) */
    PROBLEM_HTTP_VERSION,           /* 505 a version other than HTTP/1.0 or 1.1 (CivetWeb's) */
    PROBLEM_KIND_COUNT
};

int problem_status(enum problem_kind kind);
const char *problem_slug(enum problem_kind kind);
const char *problem_title(enum problem_kind kind);

/* Returns a new reference: {type, title, status, detail?, instance?}. */
json_t *problem_new(enum problem_kind kind, const char *detail, const char *instance);

/* Sends a problem with a printf-style detail (NULL for none). Returns the status sent. */
int problem_send(struct req *r, enum problem_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sends 422 with `errors` ({field, detail} objects; borrowed). Returns 422. */
int problem_send_errors(struct req *r, json_t *errors);

/* problem_send_errors when `errors` holds any. Returns 422, or 0 (nothing sent) when it is
 * empty. */
int problem_send_errors_if_any(struct req *r, json_t *errors);

/* Sends 422 with one {field, detail} error. Returns 422. */
int problem_send_field(struct req *r, const char *field, const char *detail);

/* Appends {"field": field, "detail": detail} to `errors`. */
void problem_add_error(json_t *errors, const char *field, const char *detail);

/* Appends {"field", "rule", "detail"} (printf-style) to `errors`: a broken rule, named. Returns
 * the error (borrowed), for more members. */
json_t *problem_add_rule(json_t *errors, const char *field, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Maps a failed database result (or a lost connection) to a problem, logs the real error and
 * sends the problem; the client never sees database text. Returns the status sent. */
int problem_from_db(struct req *r, const PGresult *res);

/* The status problem_from_db would send for this SQLSTATE (NULL: connection lost). */
int problem_status_for_sqlstate(const char *sqlstate);

/* CivetWeb's http_error callback: answers the errors CivetWeb finds itself before any handler
 * runs (a malformed request line or head, a head over max_request_size, a bad Content-Length, an
 * unknown HTTP version) as problem+json instead of its text/plain page, closes the connection
 * and writes the access-log line. Returns 0 (answered), or 1 for a status below 400. */
int problem_http_error(struct mg_connection *conn, int status, const char *errmsg);

#endif
