/* problem.c: RFC 9457 problem details. One table maps each kind to its status, slug and
 * title, so titles never vary; handlers only write the detail. */
#include "registry/problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <civetweb.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "registry/codec.h"
#include "registry/db.h"
#include "registry/http.h"
#include "registry/jsonout.h"
#include "registry/logging.h"
#include "registry/metrics.h"
#include "registry/validate.h"

static const struct {
    int status;
    const char *slug;
    const char *title;
} kinds[PROBLEM_KIND_COUNT] = {
    [PROBLEM_BAD_REQUEST] = {400, "bad-request", "Request is malformed"},
    [PROBLEM_UNAUTHORIZED] = {401, "unauthorized", "Authentication required"},
    [PROBLEM_INVALID_TOKEN] = {401, "invalid-token", "Access token is invalid"},
    [PROBLEM_INVALID_CREDENTIALS] = {401, "invalid-credentials", "Email or password is wrong"},
    [PROBLEM_INVALID_GRANT] = {400, "invalid-grant", "Grant is not valid"},
    [PROBLEM_FORBIDDEN] = {403, "forbidden", "Not allowed"},
    [PROBLEM_NOT_FOUND] = {404, "not-found", "Resource not found"},
    [PROBLEM_METHOD_NOT_ALLOWED] = {405, "method-not-allowed", "Method not allowed"},
    [PROBLEM_NOT_ACCEPTABLE] = {406, "not-acceptable", "Cannot produce an acceptable response"},
    [PROBLEM_CONFLICT] = {409, "conflict", "Conflicts with the current state"},
    [PROBLEM_INVALID_TRANSITION] = {409, "invalid-transition", "Status change not allowed"},
    [PROBLEM_PRECONDITION_FAILED] = {412, "precondition-failed", "Resource has changed"},
    [PROBLEM_PAYLOAD_TOO_LARGE] = {413, "payload-too-large", "Request body too large"},
    [PROBLEM_UNSUPPORTED_MEDIA_TYPE] = {415, "unsupported-media-type", "Unsupported media type"},
    [PROBLEM_VALIDATION] = {422, "validation", "Request failed validation"},
    [PROBLEM_PRECONDITION_REQUIRED] = {428, "precondition-required", "If-Match required"},
    [PROBLEM_TOO_MANY_REQUESTS] = {429, "too-many-requests", "Too many requests"},
    [PROBLEM_INTERNAL] = {500, "internal", "Internal error"},
    [PROBLEM_UNAVAILABLE] = {503, "unavailable", "Service temporarily unavailable"},
    [PROBLEM_LENGTH_REQUIRED] = {411, "length-required", "Content-Length is not valid"},
    /* 400, not RFC 9110's 505: a bad request is the client's fault, and every bad input is a 4xx.
     */
    [PROBLEM_HTTP_VERSION] = {400, "http-version-not-supported", "HTTP version not supported"},
};

int
problem_status(enum problem_kind kind)
{
    return kinds[kind].status;
}

const char *
problem_slug(enum problem_kind kind)
{
    return kinds[kind].slug;
}

const char *
problem_title(enum problem_kind kind)
{
    return kinds[kind].title;
}

json_t *
problem_new(enum problem_kind kind, const char *detail, const char *instance)
{
    char type[96];
    json_t *p = json_object();

    snprintf(type, sizeof(type), "/problems/%s", kinds[kind].slug);
    json_object_set_new(p, "type", json_string(type));
    json_object_set_new(p, "title", json_string(kinds[kind].title));
    json_object_set_new(p, "status", json_integer(kinds[kind].status));
    /* json_string refuses invalid UTF-8; a detail that echoes input must not vanish silently. */
    if (detail != NULL) {
        json_t *d = json_string(detail);
        json_object_set_new(p, "detail", d != NULL ? d : json_string("(detail not shown)"));
    }
    if (instance != NULL) {
        json_t *i = json_string(instance);
        if (i != NULL) {
            json_object_set_new(p, "instance", i);
        }
    }
    return p;
}

static int
send_problem(struct req *r, json_t *p)
{
    size_t len = 0;
    char *text = jsonout_dump(p, &len);
    int status = (int)json_integer_value(json_object_get(p, "status"));

    if (text == NULL) {
        static const char fallback[] = "{\"type\":\"/problems/internal\",\"title\":\"Internal "
                                       "error\",\"status\":500,\"detail\":\"an unexpected "
                                       "error occurred\"}";
        return http_send(r, 500, "application/problem+json", fallback, sizeof(fallback) - 1);
    }
    status = http_send(r, status, "application/problem+json", text, len);
    free(text);
    return status;
}

int
problem_send(struct req *r, enum problem_kind kind, const char *fmt, ...)
{
    char detail[512];
    json_t *p;
    int status;

    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof(detail), fmt, ap);
        va_end(ap);
    } else if (kinds[kind].status >= 500) {
        snprintf(detail, sizeof(detail),
                 "an unexpected error occurred; quote request id %s when reporting it",
                 r->request_id);
    } else {
        snprintf(detail, sizeof(detail), "%s", kinds[kind].title);
    }
    /* Every 401 names the scheme that would succeed (RFC 9110 section 15.5.2). */
    if (kinds[kind].status == 401 && strstr(r->extra_headers, "WWW-Authenticate:") == NULL) {
        http_add_header(r, "WWW-Authenticate", "Bearer realm=\"mpact-registry\"");
    }
    p = problem_new(kind, detail, r->path);
    status = send_problem(r, p);
    json_decref(p);
    return status;
}

void
problem_add_error(json_t *errors, const char *field, const char *detail)
{
    json_t *e = json_object();
    json_t *f = json_string(field);

    json_object_set_new(e, "field", f != NULL ? f : json_string("(invalid UTF-8)"));
    json_object_set_new(e, "detail", json_string(detail));
    json_array_append_new(errors, e);
}

json_t *
problem_add_rule(json_t *errors, const char *field, const char *rule, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    json_t *e;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    /* Text that is not UTF-8 (a cut name) would make json_pack fail: the error is kept. */
    e = json_pack("{s:s, s:s, s:s}", "field", field, "rule", rule, "detail", detail);
    if (e == NULL) {
        e = json_pack("{s:s, s:s, s:s}", "field",
                      validate_utf8_len(field) >= 0 ? field : "(invalid UTF-8)", "rule", rule,
                      "detail", "(detail not UTF-8)");
    }
    json_array_append_new(errors, e);
    return e;
}

int
problem_send_errors(struct req *r, json_t *errors)
{
    char detail[512];
    size_t i, n = json_array_size(errors);
    size_t used = 0;
    json_t *p;
    int status;

    /* The detail names every field, so a reader of the log or a terminal sees them all. */
    detail[0] = '\0';
    for (i = 0; i < n && used < sizeof(detail) - 1; i++) {
        json_t *e = json_array_get(errors, i);
        int w = snprintf(detail + used, sizeof(detail) - used, "%s%s: %s", i ? "; " : "",
                         json_string_value(json_object_get(e, "field")),
                         json_string_value(json_object_get(e, "detail")));
        if (w < 0) {
            break;
        }
        used += (size_t)w;
    }
    if (used >= sizeof(detail)) {
        memcpy(detail + sizeof(detail) - 4, "...", 4);
    }
    p = problem_new(PROBLEM_VALIDATION, detail, r->path);
    json_object_set(p, "errors", errors);
    status = send_problem(r, p);
    json_decref(p);
    return status;
}

int
problem_send_errors_if_any(struct req *r, json_t *errors)
{
    return json_array_size(errors) > 0 ? problem_send_errors(r, errors) : 0;
}

int
problem_status_for_sqlstate(const char *sqlstate)
{
    if (sqlstate == NULL) {
        return 503; /* the connection is gone: libpq gives no SQLSTATE */
    }
    if (strcmp(sqlstate, "23505") == 0) {
        return 409;
    }
    if (strcmp(sqlstate, "23503") == 0 || strcmp(sqlstate, "23514") == 0) {
        return 422;
    }
    if (strcmp(sqlstate, "22P02") == 0) {
        return 400;
    }
    if (strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0
        || strcmp(sqlstate, "57014") == 0 || strncmp(sqlstate, "08", 2) == 0
        || strcmp(sqlstate, "57P01") == 0) {
        return 503;
    }
    return 500;
}

int
problem_from_db(struct req *r, const PGresult *res)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res != NULL ? PQresultErrorMessage(res) : "no result";
    int status = problem_status_for_sqlstate(state);

    if (res != NULL && db_ok(res)) {
        /* A statement that succeeded but returned the wrong shape: our bug, not the database's. */
        logging_event("error", r->request_id, "bug: unexpected result shape request_id=%s rows=%d",
                      r->request_id, PQntuples(res));
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    if (state != NULL && r->db != NULL && db_lost(r->db)) {
        status = 503;
    }
    /* One line, without DETAIL: PostgreSQL's "Failing row contains (...)" would put a whole
     * row, personal details included, into the log. */
    {
        const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        const char *constraint =
            res != NULL ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
        logging_event(
            "error", r->request_id, "db error request_id=%s sqlstate=%s constraint=%s: %.*s",
            r->request_id, state != NULL ? state : "none", constraint != NULL ? constraint : "-",
            (int)strcspn(primary != NULL ? primary : msg, "\n"), primary != NULL ? primary : msg);
    }
    switch (status) {
    case 409:
        return problem_send(r, PROBLEM_CONFLICT, "a record with the same unique value exists");
    case 422:
        return problem_send(r, PROBLEM_VALIDATION,
                            "a referenced record does not exist or a "
                            "value breaks a rule");
    case 400:
        return problem_send(r, PROBLEM_BAD_REQUEST, "a value has the wrong form");
    case 503:
        http_add_header(r, "Retry-After", "1");
        return problem_send(r, PROBLEM_UNAVAILABLE, "the database is unavailable; try again");
    default:
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
}

int
problem_send_field(struct req *r, const char *field, const char *detail)
{
    json_t *errors = json_array();
    int status;

    problem_add_error(errors, field, detail);
    status = problem_send_errors(r, errors);
    json_decref(errors);
    return status;
}

/* CivetWeb's messages for the errors it finds before any handler runs (measured on Debian 12's
 * 1.15), and what we tell the client instead. */
static const struct {
    const char *civetweb;
    const char *detail;
} framing_details[] = {
    {"Malformed message", "the request head cannot be read: it is over 16384 bytes, holds a NUL or "
                          "another control character, or did not arrive in time"},
    {"Bad request", "the request line or a header is malformed (bytes outside printable ASCII "
                    "must be percent-encoded)"},
    {"Invalid URI", "the request target must be a path starting with /"},
};

int
problem_http_error(struct mg_connection *conn, int status, const char *errmsg)
{
    struct req r;
    struct timespec done;
    unsigned char raw[16];
    enum problem_kind kind;
    const char *detail = "the request cannot be read";
    long long us;
    size_t i;

    if (status < 400) {
        return 1; /* not an error: CivetWeb's own answer */
    }
    memset(&r, 0, sizeof(r));
    clock_gettime(CLOCK_MONOTONIC, &r.started);
    r.conn = conn;
    r.ri = mg_get_request_info(conn);
    /* The request line may be half parsed: trust none of it, not even the method. */
    r.method = "-";
    if (codec_random(raw, sizeof(raw)) != 0) {
        memset(raw, 0, sizeof(raw));
    }
    codec_hex(raw, sizeof(raw), r.request_id);
    for (i = 0; errmsg != NULL && i < sizeof(framing_details) / sizeof(framing_details[0]); i++) {
        if (strcmp(errmsg, framing_details[i].civetweb) == 0) {
            detail = framing_details[i].detail;
        }
    }
    switch (status) {
    case 400:
        kind = PROBLEM_BAD_REQUEST;
        break;
    case 411:
        kind = PROBLEM_LENGTH_REQUIRED;
        detail = "Content-Length must be a whole number of bytes";
        break;
    case 413:
    case 431:
        kind = PROBLEM_PAYLOAD_TOO_LARGE;
        break;
    case 505:
        kind = PROBLEM_HTTP_VERSION;
        detail = "only HTTP/1.0 and HTTP/1.1 are served";
        break;
    default:
        kind = status >= 500 ? PROBLEM_INTERNAL : PROBLEM_BAD_REQUEST;
        break;
    }
    /* The rest of the connection cannot be trusted to frame another request. */
    mg_disable_connection_keep_alive(conn);
    http_add_header(&r, "Connection", "close");
    problem_send(&r, kind, "%s", detail);
    clock_gettime(CLOCK_MONOTONIC, &done);
    us = (long long)(done.tv_sec - r.started.tv_sec) * 1000000
         + (done.tv_nsec - r.started.tv_nsec) / 1000;
    metrics_request(-1, r.status, us);
    http_log(&r);
    return 0;
}
