/* http.c: reading request bodies defensively, and writing each response with a single mg_write
 * (LIBRARIES.md 3 and 22). */
#include "registry/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <civetweb.h>
#include <jansson.h>

#include "registry/codec.h"
#include "registry/jsonout.h"
#include "registry/logging.h"
#include "registry/problem.h"

const char *
http_header(struct req *r, const char *name)
{
    return mg_get_header(r->conn, name);
}

void
http_add_header(struct req *r, const char *name, const char *value)
{
    size_t used = strlen(r->extra_headers);
    size_t need = strlen(name) + strlen(value) + 4;

    if (need >= sizeof(r->extra_headers) - used) {
        /* Never send half a header: leave it out and say so. */
        logging_event("error", r->request_id, "bug: no room for response header %s", name);
        return;
    }
    snprintf(r->extra_headers + used, sizeof(r->extra_headers) - used, "%s: %s\r\n", name, value);
}

/* What every HTML page carries. Scripts, styles, fonts and images come from this site only and
 * never inline; forms post back here; no frame may hold a page; and no Referer leaves, because a
 * page address may hold what a family searched for. */
void
http_add_page_headers(struct req *r)
{
    http_add_header(r, "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    http_add_header(r, "Referrer-Policy", "no-referrer");
    http_add_header(r, "X-Frame-Options", "DENY");
}

static const char *
reason_phrase(int status)
{
    /* clang-format off */
    static const struct {
        int status;
        const char *phrase;
    } phrases[] = {
        {200, "OK"}, {201, "Created"}, {204, "No Content"}, {301, "Moved Permanently"},
        {304, "Not Modified"},
        {400, "Bad Request"}, {401, "Unauthorized"}, {403, "Forbidden"}, {404, "Not Found"},
        {405, "Method Not Allowed"}, {406, "Not Acceptable"}, {409, "Conflict"},
        {411, "Length Required"}, {412, "Precondition Failed"}, {413, "Content Too Large"},
        {415, "Unsupported Media Type"}, {422, "Unprocessable Content"},
        {428, "Precondition Required"}, {429, "Too Many Requests"}, {500, "Internal Server Error"},
        {503, "Service Unavailable"}, {505, "HTTP Version Not Supported"},
    };
    /* clang-format on */
    size_t i;

    for (i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++) {
        if (phrases[i].status == status) {
            return phrases[i].phrase;
        }
    }
    return "Status";
}

/* Writes the status line and headers of a response with a body of `len` bytes into `head`
 * (HTTP_HEAD_MAX bytes); returns their length. Headers that do not fit make it a bare 500
 * (*status and *len changed to say so). */
static size_t
format_head(struct req *r, int *status, const char *content_type, size_t *len, char *head)
{
    int n = snprintf(
        head, HTTP_HEAD_MAX,
        "HTTP/1.1 %d %s\r\n"
        "%s%s%s"
        "Content-Length: %zu\r\n"
        "X-Request-Id: %s\r\n"
        "%s"
        "X-Content-Type-Options: nosniff\r\n"
        "%s\r\n",
        *status, reason_phrase(*status), content_type ? "Content-Type: " : "",
        content_type ? content_type : "", content_type ? "\r\n" : "", *len, r->request_id,
        strstr(r->extra_headers, "Cache-Control:") != NULL ? "" : "Cache-Control: no-store\r\n",
        r->extra_headers);

    if (n < 0 || n >= HTTP_HEAD_MAX) {
        n = snprintf(head, HTTP_HEAD_MAX,
                     "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
        *len = 0;
        *status = 500;
    }
    return (size_t)n;
}

/* 1 (and logs the bug) when `r` was answered already. */
static int
answered(struct req *r, int status)
{
    if (r->status == 0) {
        return 0;
    }
    /* A handler must answer once; a second answer is a bug, never sent to the client. */
    logging_event("error", r->request_id, "bug: second response (%d after %d)", status, r->status);
    return 1;
}

/* Sends the head and `body` in one write: in front of the body when `room` (the body itself,
 * writable, with HTTP_HEAD_MAX bytes before it that are ours), else through one copy. */
static int
send_answer(
    struct req *r, int status, const char *content_type, const char *body, size_t len, char *room)
{
    char head[HTTP_HEAD_MAX];
    char *buf;
    size_t n;
    int is_head = strcmp(r->method, "HEAD") == 0;

    if (answered(r, status)) {
        return r->status;
    }
    n = format_head(r, &status, content_type, &len, head);
    if (is_head || len == 0) {
        mg_write(r->conn, head, n);
    } else if (room != NULL) {
        memcpy(room - n, head, n);
        mg_write(r->conn, room - n, n + len);
    } else if ((buf = malloc(n + len)) == NULL) {
        mg_write(r->conn, head, n);
        mg_write(r->conn, body, len);
    } else {
        memcpy(buf, head, n);
        memcpy(buf + n, body, len);
        mg_write(r->conn, buf, n + len);
        free(buf);
    }
    r->status = status;
    r->bytes = is_head ? 0 : (long long)len;
    return status;
}

int
http_send(struct req *r, int status, const char *content_type, const char *body, size_t len)
{
    return send_answer(r, status, content_type, body, len, NULL);
}

int
http_send_after_headroom(
    struct req *r, int status, const char *content_type, char *buf, size_t headroom, size_t len)
{
    return send_answer(r, status, content_type, buf + headroom, len,
                       headroom >= HTTP_HEAD_MAX ? buf + headroom : NULL);
}

int
http_send_empty(struct req *r, int status)
{
    return http_send(r, status, NULL, NULL, 0);
}

int
http_send_json(struct req *r, int status, json_t *body)
{
    size_t len = 0;
    char *text = jsonout_dump(body, &len);

    if (text == NULL) {
        logging_event("error", r->request_id, "bug: response not serialisable");
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    status = http_send(r, status, "application/json; charset=utf-8", text, len);
    free(text);
    return status;
}

int
http_send_json_new(struct req *r, int status, json_t *body)
{
    int sent =
        body != NULL ? http_send_json(r, status, body) : problem_send(r, PROBLEM_INTERNAL, NULL);

    json_decref(body);
    return sent;
}

/* 1 when the Content-Type is application/json, with at most a utf-8 charset parameter. */
static int
is_json_type(const char *ct)
{
    const char *p;

    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
        return 0;
    }
    p = ct + 16 + strspn(ct + 16, " \t");
    if (*p != ';') {
        return *p == '\0';
    }
    p += 1 + strspn(p + 1, " \t");
    return strncasecmp(p, "charset=utf-8", 13) == 0 && p[13] == '\0';
}

/* After refusing a body (keep-alive already off, answer sent), reads and discards what the
 * client is still sending (up to HTTP_DRAIN_MAX) before the connection closes, as nginx lingers.
 * Closing a socket with unread data makes the kernel reset it, and a client still writing its
 * body then gets a broken pipe instead of our answer. */
static void
drain_body(struct req *r)
{
    char sink[16384];
    size_t drained = 0;
    int n;

    while (drained < HTTP_DRAIN_MAX && (n = mg_read(r->conn, sink, sizeof(sink))) > 0) {
        drained += (size_t)n;
    }
}

/* The deepest nesting of arrays and objects in JSON text, not counting brackets in strings. */
static int
json_depth(const char *s, size_t len)
{
    int depth = 0, max = 0, in_string = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_string = 0;
            }
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max) {
                max = depth;
            }
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return max;
}

int
http_read_body_or_problem(struct req *r, char **body, size_t *len)
{
    long long cl = r->ri->content_length;
    char *buf = NULL;
    size_t cap, got = 0;
    int n, status = 0;

    *body = NULL;
    *len = 0;
    if (cl < 0 && http_header(r, "Transfer-Encoding") == NULL) {
        cl = 0; /* no Content-Length and not chunked: no body */
    }
    /* A chunked body has no length up front: read up to one byte past the cap. A longer
     * Content-Length is never read into memory. */
    cap = cl >= 0 ? (size_t)cl : (size_t)HTTP_BODY_MAX + 1;
    if (cl <= HTTP_BODY_MAX) {
        if ((buf = malloc(cap + 1)) == NULL) {
            return problem_send(r, PROBLEM_INTERNAL, NULL);
        }
        while (got < cap && (n = mg_read(r->conn, buf + got, cap - got)) > 0) {
            got += (size_t)n;
        }
    }
    if (cl > HTTP_BODY_MAX || got > HTTP_BODY_MAX) {
        /* Unread bytes would be taken for the next request, so close. */
        mg_disable_connection_keep_alive(r->conn);
        status = problem_send(r, PROBLEM_PAYLOAD_TOO_LARGE, "the body may be at most %d bytes",
                              HTTP_BODY_MAX);
        drain_body(r);
    } else if (cl >= 0 && got != (size_t)cl) {
        /* A stalled or lying client: mg_read returns 0 with a short body (LIBRARIES.md 6). */
        mg_disable_connection_keep_alive(r->conn);
        status = problem_send(r, PROBLEM_BAD_REQUEST, "the body is shorter than Content-Length");
    } else {
        buf[got] = '\0';
        *body = buf;
        *len = got;
        buf = NULL;
    }
    free(buf);
    return status;
}

/* The body of http_read_json_or_problem and http_read_json_array_or_problem: a JSON array when
 * `array`, an object otherwise. */
static int
read_json_or_problem(struct req *r, json_t **out, int array)
{
    char *buf = NULL;
    size_t got;
    json_error_t jerr;
    json_t *in;
    int status;

    *out = NULL;
    if (!is_json_type(http_header(r, "Content-Type"))) {
        mg_disable_connection_keep_alive(r->conn);
        http_add_header(r, "Accept-Post", "application/json");
        status = problem_send(r, PROBLEM_UNSUPPORTED_MEDIA_TYPE,
                              "send the body as application/json; charset=utf-8");
        drain_body(r);
        return status;
    }
    if ((status = http_read_body_or_problem(r, &buf, &got)) != 0) {
        goto out;
    }
    if (got == 0) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "a JSON %s body is required",
                              array ? "array" : "object");
        goto out;
    }
    /* CivetWeb's worker threads have small stacks (about 100 KiB on Debian 12), and Jansson
     * parses recursively: refuse deep nesting before it gets the chance to overflow. */
    if (json_depth(buf, got) > HTTP_JSON_DEPTH_MAX) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "JSON nested deeper than %d levels",
                              HTTP_JSON_DEPTH_MAX);
        goto out;
    }
    in = json_loadb(buf, got, JSON_REJECT_DUPLICATES, &jerr);
    if (in == NULL) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "malformed JSON at line %d column %d: %s",
                              jerr.line, jerr.column, jerr.text);
        goto out;
    }
    if (array ? !json_is_array(in) : !json_is_object(in)) {
        json_decref(in);
        status = problem_send(r, PROBLEM_BAD_REQUEST, "the body must be a JSON %s",
                              array ? "array" : "object");
        goto out;
    }
    *out = in;
out:
    free(buf);
    return status;
}

int
http_read_json_or_problem(struct req *r, json_t **out)
{
    return read_json_or_problem(r, out, 0);
}

int
http_read_json_array_or_problem(struct req *r, json_t **out)
{
    return read_json_or_problem(r, out, 1);
}

void
http_request_id(struct req *r)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:";
    const char *given = http_header(r, "X-Request-Id");
    size_t n = given != NULL ? strlen(given) : 0;
    unsigned char raw[16];

    if (n > 0 && n < 64 && strspn(given, ok) == n) {
        memcpy(r->request_id, given, n + 1);
        return;
    }
    if (codec_random(raw, sizeof(raw)) != 0) {
        memset(raw, 0, sizeof(raw));
    }
    codec_hex(raw, sizeof(raw), r->request_id);
}

void
http_log(struct req *r)
{
    logging_request(r);
}
