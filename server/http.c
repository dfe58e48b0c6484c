/* http.c: reading request bodies and query strings defensively, and writing each response
 * with a single mg_write (LIBRARIES.md 3 and 22). */
#include "registry/http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <civetweb.h>
#include <jansson.h>

#include "registry/codec.h"
#include "registry/db.h"
#include "registry/jsonout.h"
#include "registry/problem.h"
#include "registry/validate.h"

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
        fprintf(stderr, "bug: no room for response header %s request_id=%s\n", name, r->request_id);
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
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Status";
    }
}

int
http_send(struct req *r, int status, const char *content_type, const char *body, size_t len)
{
    char head[1536];
    char *buf;
    int n;
    int is_head = strcmp(r->method, "HEAD") == 0;

    if (r->status != 0) {
        /* A handler must answer once; a second answer is a bug, never sent to the client. */
        fprintf(stderr, "bug: second response for request_id=%s (%d after %d)\n", r->request_id,
                status, r->status);
        return r->status;
    }
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 %d %s\r\n"
                 "%s%s%s"
                 "Content-Length: %zu\r\n"
                 "X-Request-Id: %s\r\n"
                 "%s"
                 "X-Content-Type-Options: nosniff\r\n"
                 "%s\r\n",
                 status, reason_phrase(status), content_type ? "Content-Type: " : "",
                 content_type ? content_type : "", content_type ? "\r\n" : "", len, r->request_id,
                 strstr(r->extra_headers, "Cache-Control:") != NULL ? ""
                                                                    : "Cache-Control: no-store\r\n",
                 r->extra_headers);
    if (n < 0 || (size_t)n >= sizeof(head)) {
        n = snprintf(head, sizeof(head),
                     "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
        len = 0;
        status = 500;
    }
    if (is_head || len == 0) {
        mg_write(r->conn, head, (size_t)n);
    } else {
        buf = malloc((size_t)n + len);
        if (buf == NULL) {
            mg_write(r->conn, head, (size_t)n);
            mg_write(r->conn, body, len);
        } else {
            memcpy(buf, head, (size_t)n);
            memcpy(buf + n, body, len);
            mg_write(r->conn, buf, (size_t)n + len);
            free(buf);
        }
    }
    r->status = status;
    r->bytes = is_head ? 0 : (long long)len;
    return status;
}

int
http_send_empty(struct req *r, int status)
{
    return http_send(r, status, NULL, NULL, 0);
}

/* 1 when If-None-Match names `etag` (or is *). Weak comparison, as RFC 9110 asks for GET. */
static int
none_match(const char *inm, const char *etag)
{
    const char *p = inm, *tag = etag;
    size_t tl;

    if (strncmp(tag, "W/", 2) == 0) {
        tag += 2;
    }
    tl = strlen(tag);
    while (*p != '\0') {
        const char *end;
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == '*') {
            return 1;
        }
        if (strncmp(p, "W/", 2) == 0) {
            p += 2;
        }
        end = p;
        while (*end != '\0' && *end != ',') {
            end++;
        }
        while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }
        if ((size_t)(end - p) == tl && memcmp(p, tag, tl) == 0) {
            return 1;
        }
        while (*end != '\0' && *end != ',') {
            end++;
        }
        p = end;
    }
    return 0;
}

int
http_send_cached(struct req *r,
                 const char *content_type,
                 const char *body,
                 size_t len,
                 const char *cache_control,
                 const char *etag)
{
    unsigned char digest[32];
    char hex[65], made[72];
    const char *inm = http_header(r, "If-None-Match");

    if (etag == NULL) {
        codec_sha256(body, len, digest);
        codec_hex(digest, 16, hex);
        snprintf(made, sizeof(made), "\"%s\"", hex);
        etag = made;
    }
    http_add_header(r, "ETag", etag);
    http_add_header(r, "Cache-Control", cache_control);
    if (inm != NULL && none_match(inm, etag)) {
        return http_send_empty(r, 304);
    }
    return http_send(r, 200, content_type, body, len);
}

int
http_send_public(struct req *r, const char *content_type, const char *body, size_t len)
{
    http_add_header(r, "Vary", "Accept");
    return http_send_cached(r, content_type, body, len,
                            r->cache_private ? "private, max-age=60" : "public, max-age=60", NULL);
}

int
http_send_public_json(struct req *r, json_t *body)
{
    size_t len = 0;
    char *text = jsonout_dump(body, &len);
    int status;

    if (text == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    status = http_send_public(r, "application/json; charset=utf-8", text, len);
    free(text);
    return status;
}

int
http_send_json(struct req *r, int status, json_t *body)
{
    size_t len = 0;
    char *text = jsonout_dump(body, &len);

    if (text == NULL) {
        fprintf(stderr, "bug: response not serialisable request_id=%s\n", r->request_id);
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    status = http_send(r, status, "application/json; charset=utf-8", text, len);
    free(text);
    return status;
}

int
http_send_resource(struct req *r, int status, json_t *body, const char *version)
{
    char etag[48];

    http_etag(etag, sizeof(etag), version);
    http_add_header(r, "ETag", etag);
    return http_send_json(r, status, body);
}

/* 1 when the Content-Type is application/json, with at most a utf-8 charset parameter. */
static int
is_json_type(const char *ct)
{
    const char *p;

    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
        return 0;
    }
    p = ct + 16;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (*p == '\0') {
        return 1;
    }
    if (*p != ';') {
        return 0;
    }
    p++;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
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

/* The body of http_read_json_or_problem and http_read_json_array_or_problem: a JSON array when
 * `array`, an object otherwise. */
static int
read_json_or_problem(struct req *r, json_t **out, int array)
{
    long long cl = r->ri->content_length;
    const char *te = http_header(r, "Transfer-Encoding");
    char *buf = NULL;
    size_t cap, got = 0;
    json_error_t jerr;
    json_t *in;
    int status = 0;

    *out = NULL;
    if (!is_json_type(http_header(r, "Content-Type"))) {
        mg_disable_connection_keep_alive(r->conn);
        http_add_header(r, "Accept-Post", "application/json");
        status = problem_send(r, PROBLEM_UNSUPPORTED_MEDIA_TYPE,
                              "send the body as application/json; charset=utf-8");
        drain_body(r);
        return status;
    }
    if (cl > HTTP_BODY_MAX) {
        /* Never read into memory; unread bytes would be taken for the next request, so close. */
        mg_disable_connection_keep_alive(r->conn);
        status = problem_send(r, PROBLEM_PAYLOAD_TOO_LARGE, "the body may be at most %d bytes",
                              HTTP_BODY_MAX);
        drain_body(r);
        return status;
    }
    if (cl < 0 && te == NULL) {
        cl = 0; /* no Content-Length and not chunked: no body */
    }
    /* A chunked body has no length up front: read up to one byte past the cap. */
    cap = cl >= 0 ? (size_t)cl : (size_t)HTTP_BODY_MAX + 1;
    buf = malloc(cap + 1);
    if (buf == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    while (got < cap) {
        int n = mg_read(r->conn, buf + got, cap - got);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    if (cl < 0 && got > HTTP_BODY_MAX) {
        mg_disable_connection_keep_alive(r->conn);
        status = problem_send(r, PROBLEM_PAYLOAD_TOO_LARGE, "the body may be at most %d bytes",
                              HTTP_BODY_MAX);
        drain_body(r);
        goto out;
    }
    if (cl >= 0 && got != (size_t)cl) {
        /* A stalled or lying client: mg_read returns 0 with a short body (LIBRARIES.md 6). */
        mg_disable_connection_keep_alive(r->conn);
        status = problem_send(r, PROBLEM_BAD_REQUEST, "the body is shorter than Content-Length");
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

static int
name_allowed(const char *const *allowed, const char *name)
{
    for (; allowed != NULL && *allowed != NULL; allowed++) {
        if (strcmp(*allowed, name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Decodes a query-string component in place ('+' is a space, %XX a byte): returns the length
 * decoded, or -1 when a '%' is not followed by two hexadecimal digits. Decoding never lengthens;
 * a decoded NUL shows as a length shorter than strlen. */
static int
query_decode(char *s)
{
    static const char hex[] = "0123456789abcdef";
    char *start = s, *out = s;

    for (; *s != '\0'; s++) {
        if (*s == '%') {
            const char *hi =
                isxdigit((unsigned char)s[1]) ? strchr(hex, tolower((unsigned char)s[1])) : NULL;
            const char *lo = hi != NULL && isxdigit((unsigned char)s[2])
                                 ? strchr(hex, tolower((unsigned char)s[2]))
                                 : NULL;
            if (lo == NULL) {
                return -1;
            }
            *out++ = (char)((hi - hex) * 16 + (lo - hex));
            s += 2;
        } else {
            *out++ = *s == '+' ? ' ' : *s;
        }
    }
    *out = '\0';
    return (int)(out - start);
}

/* Parses the query string into `q`; a name outside `allowed` is refused (400), or skipped when
 * `skip_unknown` (pages: a link may carry a campaign's tracking parameters). */
static int
parse_query(struct req *r, const char *const *allowed, struct query *q, int skip_unknown)
{
    const char *src = r->query;
    char *p, *next;
    size_t len;
    int i;

    memset(q, 0, sizeof(*q));
    if (src == NULL || *src == '\0') {
        return 0;
    }
    len = strlen(src);
    q->buf = malloc(len + 1);
    if (q->buf == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    memcpy(q->buf, src, len + 1);
    for (p = q->buf; p != NULL; p = next) {
        char *eq, *name, *value;
        int nlen, vlen;

        next = strchr(p, '&');
        if (next != NULL) {
            *next++ = '\0';
        }
        if (*p == '\0') {
            continue;
        }
        eq = strchr(p, '=');
        name = p;
        value = eq != NULL ? eq + 1 : p + strlen(p);
        if (eq != NULL) {
            *eq = '\0';
        }
        /* Decode in place: decoding never lengthens. A %00 would hide the rest, so refuse it. */
        nlen = query_decode(name);
        if (nlen < 0 || (size_t)nlen != strlen(name) || validate_utf8_len(name) < 0) {
            return problem_send(r, PROBLEM_BAD_REQUEST,
                                nlen == -1 ? "the query string has a malformed percent-escape "
                                             "(write %%XX, two hexadecimal digits)"
                                           : "the query string is not valid UTF-8 text");
        }
        if (!name_allowed(allowed, name) && skip_unknown) {
            continue;
        }
        vlen = query_decode(value);
        if (vlen == -1 && name_allowed(allowed, name)) {
            return problem_send(r, PROBLEM_BAD_REQUEST,
                                "%s: a malformed percent-escape (write %%XX, two hexadecimal "
                                "digits)",
                                name);
        }
        if (vlen >= 0 && name_allowed(allowed, name)
            && ((size_t)vlen != strlen(value) || validate_utf8_len(value) < 0)) {
            return problem_send(r, PROBLEM_BAD_REQUEST, "%s: not valid UTF-8 text, or holds a NUL",
                                name);
        }
        if (!name_allowed(allowed, name) && skip_unknown) {
            continue;
        }
        if (!name_allowed(allowed, name)) {
            json_t *n = json_string(name);
            int status = problem_send(r, PROBLEM_BAD_REQUEST, "unknown query parameter '%.60s'",
                                      n != NULL ? name : "?");
            json_decref(n);
            return status;
        }
        for (i = 0; i < q->n; i++) {
            if (strcmp(q->items[i].name, name) == 0) {
                return problem_send(r, PROBLEM_BAD_REQUEST, "query parameter '%s' given twice",
                                    name);
            }
        }
        if (q->n == HTTP_MAX_QUERY) {
            return problem_send(r, PROBLEM_BAD_REQUEST, "too many query parameters");
        }
        q->items[q->n].name = name;
        q->items[q->n].value = value;
        q->n++;
    }
    return 0;
}

int
http_query_or_problem(struct req *r, const char *const *allowed, struct query *q)
{
    return parse_query(r, allowed, q, 0);
}

int
http_query_page_or_problem(struct req *r, const char *const *allowed, struct query *q)
{
    return parse_query(r, allowed, q, 1);
}

const char *
query_get(const struct query *q, const char *name)
{
    int i;

    for (i = 0; i < q->n; i++) {
        if (strcmp(q->items[i].name, name) == 0) {
            return q->items[i].value;
        }
    }
    return NULL;
}

void
query_cleanup(struct query *q)
{
    free(q->buf);
    q->buf = NULL;
    q->n = 0;
}

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
    char *text;
    char *enc;
    json_t *s;

    if (key == NULL) {
        return json_null();
    }
    text = json_dumps(key, JSON_COMPACT);
    if (text == NULL) {
        return json_null();
    }
    enc = malloc(strlen(text) * 4 / 3 + 4);
    if (enc == NULL) {
        free(text);
        return json_null();
    }
    codec_b64url_encode((const unsigned char *)text, strlen(text), enc);
    s = json_string(enc);
    free(enc);
    free(text);
    return s;
}

json_t *
page_body(json_t *items, json_t *next_key)
{
    json_t *body = json_object();

    json_object_set_new(body, "items", items);
    json_object_set_new(body, "next_cursor", page_cursor(next_key));
    json_decref(next_key);
    return body;
}

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

int
page_send(struct req *r, json_t *items, json_t *next_key)
{
    json_t *body;
    int status;

    if (http_wants_csv(r)) {
        json_t *cursor = page_cursor(next_key);
        if (json_is_string(cursor)) {
            http_add_header(r, "X-Next-Cursor", json_string_value(cursor));
        }
        json_decref(cursor);
        json_decref(next_key);
        status = http_send_csv(r, 200, items, NULL);
        json_decref(items);
        return status;
    }
    body = page_body(items, next_key);
    status = http_send_json(r, 200, body);
    json_decref(body);
    return status;
}

int
page_send_rows(struct req *r, const PGresult *res, int n, json_t *next_key)
{
    const char **cols;
    json_t *items, *cursor;
    int c, k = 0, status;

    if (!http_wants_csv(r)) {
        return page_send(r, db_rows_to_json(res, n), next_key);
    }
    cols = calloc((size_t)PQnfields(res) + 1, sizeof(*cols));
    if (cols == NULL) {
        json_decref(next_key);
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    for (c = 0; c < PQnfields(res); c++) {
        if (PQfname(res, c)[0] != '_') {
            cols[k++] = PQfname(res, c);
        }
    }
    cursor = page_cursor(next_key);
    if (json_is_string(cursor)) {
        http_add_header(r, "X-Next-Cursor", json_string_value(cursor));
    }
    json_decref(cursor);
    json_decref(next_key);
    items = db_rows_to_json(res, n);
    status = http_send_csv(r, 200, items, cols);
    json_decref(items);
    free(cols);
    return status;
}

void
http_etag(char *buf, size_t len, const char *version)
{
    snprintf(buf, len, "\"%s\"", version);
}

int
http_if_match_or_problem(struct req *r, const char *version)
{
    const char *im = http_header(r, "If-Match");
    char want[48];
    const char *p;
    size_t wl;

    if (im == NULL) {
        return problem_send(r, PROBLEM_PRECONDITION_REQUIRED,
                            "send If-Match with the ETag from your last GET of this resource");
    }
    http_etag(want, sizeof(want), version);
    wl = strlen(want);
    /* A list of entity tags; strong comparison, so weak tags (W/"...") never match. */
    for (p = im; *p != '\0';) {
        const char *end;
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        if (*p == '*' && (p[1] == '\0' || p[1] == ',' || p[1] == ' ')) {
            return 0;
        }
        end = p;
        if (*p == '"') {
            end = strchr(p + 1, '"');
            end = end != NULL ? end + 1 : p + strlen(p);
        } else {
            while (*end != '\0' && *end != ',') {
                end++;
            }
        }
        if ((size_t)(end - p) == wl && memcmp(p, want, wl) == 0) {
            return 0;
        }
        p = end;
    }
    return problem_send(r, PROBLEM_PRECONDITION_FAILED,
                        "the resource changed since you read it; GET it again and retry");
}

void
http_request_id(struct req *r)
{
    const char *given = http_header(r, "X-Request-Id");
    unsigned char raw[16];
    size_t i, n;

    if (given != NULL) {
        n = strlen(given);
        for (i = 0; i < n; i++) {
            char c = given[i];
            if (!(isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' || c == ':')) {
                break;
            }
        }
        if (n > 0 && n < 64 && i == n) {
            memcpy(r->request_id, given, n + 1);
            return;
        }
    }
    if (codec_random(raw, sizeof(raw)) != 0) {
        memset(raw, 0, sizeof(raw));
    }
    codec_hex(raw, sizeof(raw), r->request_id);
}

void
http_log(struct req *r)
{
    /* The time stamp changes once a second: each worker thread formats it once a second. */
    static _Thread_local time_t when_t = (time_t)-1;
    static _Thread_local char when[32];
    struct timespec now;
    char path[256];
    time_t t;
    double ms;
    size_t i;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (double)(now.tv_sec - r->started.tv_sec) * 1e3
         + (double)(now.tv_nsec - r->started.tv_nsec) / 1e6;
    t = time(NULL);
    if (t != when_t) {
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        when_t = t;
    }
    /* The path only: the query string may hold what a family searched for. Control
     * characters and spaces are replaced so one request is always one line. */
    snprintf(path, sizeof(path), "%s", r->path != NULL ? r->path : "-");
    for (i = 0; path[i] != '\0'; i++) {
        if ((unsigned char)path[i] < 0x21 || path[i] == 0x7f) {
            path[i] = '?';
        }
    }
    fprintf(stderr, "%s %s %s %d %lld %.1fms %s\n", when, r->method, path, r->status, r->bytes, ms,
            r->request_id);
}

/* The two digits at s as a number, or -1. */
static int
two_digits(const char *s)
{
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1])) {
        return -1;
    }
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* 1 when `s` is a date (validate_date), `sep`, then HH:MM:SS with an optional fraction of 1-6
 * digits and, when `zone`, an offset +HH or +HH:MM (at most 14 hours): the shape PostgreSQL's
 * ISO output takes, checked field by field so that no forged cursor reaches a cast. */
static int
cursor_time(const char *s, char sep, int zone)
{
    char date[11];
    int n;

    if (strlen(s) < 19 || s[10] != sep) {
        return 0;
    }
    memcpy(date, s, 10);
    date[10] = '\0';
    if (!validate_date(date) || s[13] != ':' || s[16] != ':' || two_digits(s + 11) < 0
        || two_digits(s + 11) > 23 || two_digits(s + 14) < 0 || two_digits(s + 14) > 59
        || two_digits(s + 17) < 0 || two_digits(s + 17) > 59) {
        return 0;
    }
    s += 19;
    if (*s == '.') {
        for (n = 0, s++; isdigit((unsigned char)*s); s++) {
            n++;
        }
        if (n < 1 || n > 6) {
            return 0;
        }
    }
    if (zone) {
        if ((*s != '+' && *s != '-') || two_digits(s + 1) < 0 || two_digits(s + 1) > 14) {
            return 0;
        }
        s += 3;
        if (*s == ':') {
            if (two_digits(s + 1) < 0 || two_digits(s + 1) > 59) {
                return 0;
            }
            s += 3;
        }
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

int
http_begin_or_problem(struct req *r, int if_match_required)
{
    PGresult *fail = NULL;
    int status = 0;

    if (if_match_required && http_header(r, "If-Match") == NULL) {
        return http_if_match_or_problem(r, "");
    }
    if (db_begin(r->db, &fail) != 0) {
        status = problem_from_db(r, fail);
    }
    PQclear(fail);
    return status;
}

int
http_exec_or_problem(
    struct req *r, const char *stmt, int nparams, const char *const *params, PGresult **out)
{
    PGresult *res = db_exec(r->db, stmt, nparams, params);
    int status = 0;

    if (!db_ok(res)) {
        status = problem_from_db(r, res);
        PQclear(res);
        res = NULL;
    }
    if (out != NULL) {
        *out = res;
    } else {
        PQclear(res);
    }
    return status;
}

int
http_row_or_problem(struct req *r,
                    const char *stmt,
                    const char *id,
                    const char *what,
                    int (*visible)(const struct principal *p, const PGresult *res),
                    PGresult **out)
{
    const char *params[1] = {id};
    PGresult *res = NULL;
    int status;

    *out = NULL;
    if (!validate_uuid(id)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no %s with id %s", what, id);
    }
    if ((status = http_exec_or_problem(r, stmt, 1, params, &res)) != 0) {
        return status;
    }
    if (PQntuples(res) == 0 || (visible != NULL && !visible(&r->principal, res))) {
        PQclear(res);
        return problem_send(r, PROBLEM_NOT_FOUND, "no %s with id %s", what, id);
    }
    *out = res;
    return 0;
}

int
http_insert_or_problem(
    struct req *r, const char *stmt, int nparams, const char *const *params, char *id, size_t idlen)
{
    PGresult *res = db_exec(r->db, stmt, nparams, params);
    int status = 0;

    if (!db_ok(res) || PQntuples(res) != 1) {
        status = problem_from_db(r, res);
    } else {
        snprintf(id, idlen, "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return status;
}
