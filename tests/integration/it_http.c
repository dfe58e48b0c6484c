/* it_http.c: the HTTP conventions every route shares, over real sockets against the real server
 * and PostgreSQL: body framing and limits, content types, malformed JSON, smuggling-shaped
 * requests, 404/405/OPTIONS, the problem+json shape, request ids, the access log, keep-alive,
 * 503 when the database pool is exhausted, 401s, and a graceful SIGTERM. */
#include <curl/curl.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"

#define ADMIN_EMAIL "admin@http.example"
#define PASSWORD    "http-test-password-1"
#define BODY_MAX    (1024 * 1024)

struct fx {
    IT_FX_HEAD;
};

/* ---- Helpers ----------------------------------------------------------------------------------
 */

/* Starts a server with an admin signed in. */
static struct it_server *
start_with_admin(const char *name, const char *const env[], char **token)
{
    struct it_server *s = it_start_env(name, env);

    *token = it_admin(s, ADMIN_EMAIL, PASSWORD, NULL, 0, NULL, 0);
    return s;
}

static const char valid_org[] = "{\"name\": \"HTTP Test Org\", \"kind\": \"charity\","
                                " \"address_lines\": [\"1 High Street\"], \"town\": \"Chatham\","
                                " \"postcode\": \"ME4 4AB\"}";

/* Words from SQL or PostgreSQL's error messages, which must never reach a client. */
static void
assert_no_sql_text(const char *body)
{
    static const char *const words[] = {
        "SELECT ",       "INSERT ",     "UPDATE ",     "DELETE FROM",   "violates",
        "constraint \"", "relation \"", "ERROR:",      "SQLSTATE",      "syntax error",
        "DETAIL:",       "HINT:",       "Failing row", "duplicate key", "::uuid",
        "::jsonb",       "::text",      "_check",      "PostgreSQL",    "libpq",
    };
    size_t i;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strstr(body, words[i]) != NULL) {
            fail_msg("a problem body holds database text '%s': %s", words[i], body);
        }
    }
}

/* A problem+json of `status` with type, title, status and detail, and no database text. */
static void
check_problem(const struct it_resp *r, long status)
{
    it_assert_problem(r, status);
    assert_true(strncmp(it_jstr(r->json, "type"), "/problems/", 10) == 0);
    assert_true(strlen(it_jstr(r->json, "title")) > 0);
    assert_no_sql_text(r->body);
}

/* A response read from a raw socket, split up. */
struct raw {
    char buf[65536];
    int len;
    int status;       /* 0 when nothing (or no status line) came back */
    const char *body; /* after the blank line, or NULL */
};

static void
raw_parse(struct raw *x)
{
    char *end;

    x->status = 0;
    x->body = NULL;
    if (x->len <= 0 || strncmp(x->buf, "HTTP/1.", 7) != 0) {
        return;
    }
    x->status = atoi(x->buf + 9);
    end = strstr(x->buf, "\r\n\r\n");
    if (end != NULL) {
        x->body = end + 4;
    }
}

/* The value of header `name` in a raw response (into out), or NULL. */
static const char *
raw_header(const struct raw *x, const char *name, char *out, size_t outlen)
{
    const char *p = strstr(x->buf, "\r\n");
    size_t n = strlen(name);

    while (p != NULL && strncmp(p, "\r\n\r\n", 4) != 0) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *e = strstr(v, "\r\n");
            while (*v == ' ') {
                v++;
            }
            snprintf(out, outlen, "%.*s", (int)(e != NULL ? e - v : (long)strlen(v)), v);
            return out;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

/* A raw answer must be a problem+json of `status` with the usual members. */
static void
check_raw_problem(const struct raw *x, int status)
{
    char ct[128];
    json_t *j;

    if (x->status != status) {
        fail_msg("expected a raw %d answer, got:\n%s", status, x->buf);
    }
    if (raw_header(x, "Content-Type", ct, sizeof(ct)) == NULL
        || strncmp(ct, "application/problem+json", 24) != 0) {
        fail_msg("raw answer is not problem+json:\n%s", x->buf);
    }
    j = x->body != NULL ? json_loads(x->body, 0, NULL) : NULL;
    if (!json_is_object(j) || it_jstr(j, "type") == NULL || it_jstr(j, "title") == NULL
        || it_jstr(j, "detail") == NULL
        || json_integer_value(json_object_get(j, "status")) != status) {
        fail_msg("raw answer body is not a full problem:\n%s", x->buf);
    }
    assert_no_sql_text(x->body);
    json_decref(j);
}

static void
assert_alive(struct it_server *s)
{
    it_expect(s, "GET", "/healthz", NULL, NULL, 200);
}

static long
org_rows(struct it_server *s)
{
    return it_count(s, "SELECT count(*) FROM organisation");
}

/* A connection of our own that holds a row lock on an organisation until released. */
static PGconn *
lock_org(struct it_server *s, const char *id)
{
    PGconn *c = PQconnectdb(s->conninfo);
    const char *params[1] = {id};
    PGresult *res;

    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQclear(PQexec(c, "BEGIN"));
    res = PQexecParams(c, "SELECT id FROM organisation WHERE id = $1::uuid FOR UPDATE", 1, NULL,
                       params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    PQclear(res);
    return c;
}

static void
unlock_org(PGconn *c)
{
    it_commit_close(c);
}

struct slow_patch {
    struct it_server *s;
    const char *token, *id, *etag, *body;
    long status;
    char *town;
};

static void *
run_patch(void *arg)
{
    struct slow_patch *p = arg;
    char *path = it_fmt("/v1/organisations/%s", p->id);
    struct it_resp r;

    it_patch_json(p->s, path, p->token, p->etag, p->body, &r);
    p->status = r.status;
    p->town = it_json_str(&r, "town") != NULL ? strdup(it_json_str(&r, "town")) : NULL;
    it_resp_free(&r);
    free(path);
    return NULL;
}

/* Starts, in thread *t, a PATCH of organisation `id` with `body`, and returns once
 * it waits on the row lock the caller holds (lock_org), keeping its database connection. */
static void
start_held_patch(struct it_server *s,
                 const char *token,
                 const char *id,
                 const char *etag,
                 const char *body,
                 struct slow_patch *p,
                 pthread_t *t)
{
    memset(p, 0, sizeof(*p));
    p->s = s;
    p->token = token;
    p->id = id;
    p->etag = etag;
    p->body = body;
    assert_int_equal(pthread_create(t, NULL, run_patch, p), 0);
    it_wait_lock_waiters(s, 1, "no request came to wait on the row lock");
}

/* ---- Fixture ----------------------------------------------------------------------------------
 */

IT_SETUP(group_setup, it_fx_start(sizeof(struct fx), "http", NULL, ADMIN_EMAIL, PASSWORD, 0))

/* ---- Bodies -----------------------------------------------------------------------------------
 */

static void
test_content_type(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {
        "Content-Type: text/plain",        "Content-Type: application/x-www-form-urlencoded",
        "Content-Type: application/jsonx", "Content-Type: application/json; charset=latin1",
        "Content-Type: text/json",         "Content-Type: multipart/form-data; boundary=x",
    };
    static const char *const good[] = {
        "Content-Type: application/json",
        "Content-Type: application/json; charset=utf-8",
        "Content-Type: Application/JSON; charset=UTF-8",
    };
    long orgs = org_rows(f->s);
    struct it_resp r;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *const h[] = {bad[i], NULL};
        print_message("%s\n", bad[i]);
        it_request(f->s, "POST", "/v1/organisations", f->admin, h, valid_org, &r);
        check_problem(&r, 415);
        it_resp_free(&r);
    }
    /* No Content-Type at all. */
    it_request(f->s, "POST", "/v1/organisations", f->admin, NULL, valid_org, &r);
    check_problem(&r, 415);
    it_resp_free(&r);
    /* PATCH is held to the same rule. */
    {
        const char *const h[] = {"Content-Type: text/plain", "If-Match: \"1\"", NULL};
        it_request(f->s, "PATCH", "/v1/organisations/00000000-0000-4000-8000-000000000000",
                   f->admin, h, "{\"town\": \"X\"}", &r);
        check_problem(&r, 415);
        it_resp_free(&r);
    }
    assert_int_equal(org_rows(f->s), orgs);

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        const char *const h[] = {good[i], NULL};
        it_request(f->s, "POST", "/v1/organisations", f->admin, h, valid_org, &r);
        it_assert_status(&r, 201);
        it_resp_free(&r);
    }
    assert_int_equal(org_rows(f->s), orgs + 3);
}

/* A valid organisation padded with spaces to exactly `size` bytes. */
static char *
padded_org(size_t size)
{
    size_t n = strlen(valid_org);
    char *b = malloc(size + 1);

    assert_true(size >= n);
    memcpy(b, valid_org, n - 1); /* without the closing brace */
    memset(b + n - 1, ' ', size - n);
    b[size - 1] = '}';
    b[size] = '\0';
    return b;
}

/* A client that writes its whole oversized body before reading still gets the 413: the server
 * reads and discards the rest instead of resetting the connection under it (a reset throws the
 * answer away on the client side, and it sees a broken pipe). */
static void
refused_while_sending(struct fx *f, const char *body, int chunked)
{
    size_t blen = strlen(body), hlen, tlen;
    char head[2048], *raw, out[4096];
    const char *tail = chunked ? "\r\n0\r\n\r\n" : "";
    int i;

    if (chunked) {
        hlen = (size_t)snprintf(head, sizeof(head),
                                "POST /v1/organisations HTTP/1.1\r\nHost: localhost\r\n"
                                "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n%zx\r\n",
                                f->admin, blen);
    } else {
        hlen = (size_t)snprintf(head, sizeof(head),
                                "POST /v1/organisations HTTP/1.1\r\nHost: localhost\r\n"
                                "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                                "Content-Length: %zu\r\n\r\n",
                                f->admin, blen);
    }
    assert_true(hlen < sizeof(head));
    tlen = strlen(tail);
    raw = malloc(hlen + blen + tlen);
    assert_non_null(raw);
    memcpy(raw, head, hlen);
    memcpy(raw + hlen, body, blen);
    memcpy(raw + hlen + blen, tail, tlen);
    for (i = 0; i < 10; i++) {
        size_t sent = 0;
        int reset = 0;
        int n =
            it_raw_ends(f->s, raw, hlen + blen + tlen, 1, 10000, out, sizeof(out), &sent, &reset);

        if (n <= 0 || strncmp(out, "HTTP/1.1 413 ", 13) != 0 || reset
            || sent != hlen + blen + tlen) {
            fprintf(stderr, "attempt %d (%s): sent %zu of %zu, reset %d, read %d bytes: %.200s\n",
                    i, chunked ? "chunked" : "Content-Length", sent, hlen + blen + tlen, reset, n,
                    out);
        }
        assert_true(n > 0);
        assert_memory_equal(out, "HTTP/1.1 413 ", 13);
        assert_int_equal(sent, hlen + blen + tlen);
        assert_false(reset);
    }
    free(raw);
}

static void
test_body_too_large(void **state)
{
    struct fx *f = *state;
    const char *const json[] = {"Content-Type: application/json", NULL};
    const char *const chunked[] = {"Content-Type: application/json", "Transfer-Encoding: chunked",
                                   NULL};
    long orgs = org_rows(f->s);
    char *big = padded_org(BODY_MAX + 1);
    char *huge = padded_org(3 * BODY_MAX);
    char *limit = padded_org(BODY_MAX);
    struct it_resp r;
    int i;

    /* Over the cap with a Content-Length: refused without being read into memory. Chunked: no
     * length up front, cut off one byte past the cap. Each is sent several times: the answer
     * comes while curl is still sending, and a server that closed with the rest unread would
     * reset the connection under it now and then (a broken pipe instead of the 413). */
    for (i = 0; i < 5; i++) {
        it_request(f->s, "POST", "/v1/organisations", f->admin, json, big, &r);
        check_problem(&r, 413);
        it_resp_free(&r);
        it_request(f->s, "POST", "/v1/organisations", f->admin, json, huge, &r);
        check_problem(&r, 413);
        it_resp_free(&r);
        it_request(f->s, "POST", "/v1/organisations", f->admin, chunked, big, &r);
        check_problem(&r, 413);
        it_resp_free(&r);
        it_request(f->s, "POST", "/v1/organisations", f->admin, chunked, huge, &r);
        check_problem(&r, 413);
        it_resp_free(&r);
    }
    assert_int_equal(org_rows(f->s), orgs);
    assert_alive(f->s);

    /* Exactly the cap is accepted, both ways. */
    it_request(f->s, "POST", "/v1/organisations", f->admin, json, limit, &r);
    it_assert_status(&r, 201);
    it_resp_free(&r);
    it_request(f->s, "POST", "/v1/organisations", f->admin, chunked, limit, &r);
    it_assert_status(&r, 201);
    it_resp_free(&r);
    assert_int_equal(org_rows(f->s), orgs + 2);
    refused_while_sending(f, huge, 0);
    refused_while_sending(f, huge, 1);
    free(big);
    free(huge);
    free(limit);
}

static void
test_bad_json(void **state)
{
    struct fx *f = *state;
    static const char *const bodies[] = {
        "{\"name\": ",
        "{name: \"x\"}",
        "{\"name\": \"x\",}",
        "{\"name\": \"a\", \"name\": \"b\"}",
        "{\"kind\": \"nhs\", \"town\": \"x\", \"kind\": \"charity\"}",
        "[]",
        "[{\"name\": \"x\"}]",
        "\"a string\"",
        "42",
        "null",
        "",
        "{\"name\": \"x\"} trailing",
        "{\"name\": \"\xff\xfe\"}",
        "{\"name\": \"\\ud800\"}",
    };
    long orgs = org_rows(f->s);
    size_t i;
    struct it_resp r;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        print_message("body: %s\n", bodies[i]);
        it_post_json(f->s, "/v1/organisations", f->admin, bodies[i], &r);
        check_problem(&r, 400);
        it_resp_free(&r);
    }
    /* A NUL inside the body. */
    {
        const char *const h[] = {"Content-Type: application/json", NULL};
        it_request_n(f->s, "POST", "/v1/organisations", f->admin, h, "{\"name\": \"a\0b\"}", 16,
                     &r);
        check_problem(&r, 400);
        it_resp_free(&r);
    }
    assert_int_equal(org_rows(f->s), orgs);
    assert_alive(f->s);
}

/* Deeply nested JSON is refused with 400 and never takes the server down: neither on a route
 * behind a token nor on the public sign-in route. Jansson parses recursively, and CivetWeb's
 * worker threads have small stacks. On a server of its own, so a crash fails this test only. */
static void
test_deep_nesting(void **state)
{
    static const int depths[] = {100, 1000, 5000, 100000};
    char *admin;
    struct it_server *s = start_with_admin("http_deep", NULL, &admin);
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
        char *arr = malloc((size_t)depths[i] + 1), *login;
        struct it_resp r;

        memset(arr, '[', (size_t)depths[i]);
        arr[depths[i]] = '\0';
        print_message("depth %d\n", depths[i]);
        it_post_json(s, "/v1/organisations", admin, arr, &r);
        check_problem(&r, 400);
        it_resp_free(&r);
        login = it_fmt("{\"email\": %s", arr);
        it_post_json(s, "/v1/auth/token", NULL, login, &r);
        check_problem(&r, 400);
        it_resp_free(&r);
        assert_alive(s);
        free(login);
        free(arr);
    }
    it_stop(s);
    free(admin);
}

/* A body shorter than its Content-Length: the client half-closes, or stalls. */
static void
test_short_body(void **state)
{
    struct fx *f = *state;
    long orgs = org_rows(f->s);
    char *req = it_fmt("POST /v1/organisations HTTP/1.1\r\n"
                       "Host: 127.0.0.1\r\n"
                       "Authorization: Bearer %s\r\n"
                       "Content-Type: application/json\r\n"
                       "Content-Length: 200\r\n"
                       "\r\n"
                       "{\"name\": \"Short\"",
                       f->admin);
    int mode;

    for (mode = 0; mode < 2; mode++) {
        struct raw x;

        print_message("%s\n", mode == 0 ? "half-close" : "stall");
        x.len = it_raw_n(f->s, req, strlen(req), mode == 0, mode == 0 ? 10000 : 30000, x.buf,
                         sizeof(x.buf));
        assert_true(x.len >= 0);
        raw_parse(&x);
        /* Either a 400 problem or a closed connection; never anything else. */
        if (x.len > 0) {
            check_raw_problem(&x, 400);
        }
        assert_alive(f->s);
    }
    assert_int_equal(org_rows(f->s), orgs);
    free(req);
}

static void
test_content_length_and_chunked(void **state)
{
    struct fx *f = *state;
    long orgs = org_rows(f->s);
    char *req = it_fmt("POST /v1/organisations HTTP/1.1\r\n"
                       "Host: 127.0.0.1\r\n"
                       "Authorization: Bearer %s\r\n"
                       "Content-Type: application/json\r\n"
                       "Content-Length: %zu\r\n"
                       "Transfer-Encoding: chunked\r\n"
                       "\r\n"
                       "%zx\r\n%s\r\n0\r\n\r\n",
                       f->admin, strlen(valid_org) + 7, strlen(valid_org), valid_org);
    static const char get_req[] = "GET /healthz HTTP/1.1\r\n"
                                  "Host: 127.0.0.1\r\n"
                                  "Transfer-Encoding: chunked\r\n"
                                  "Content-Length: 5\r\n"
                                  "\r\n"
                                  "0\r\n\r\n";
    struct raw x;

    x.len = it_raw(f->s, req, x.buf, sizeof(x.buf));
    raw_parse(&x);
    check_raw_problem(&x, 400);
    x.len = it_raw(f->s, get_req, x.buf, sizeof(x.buf));
    raw_parse(&x);
    check_raw_problem(&x, 400);
    assert_int_equal(org_rows(f->s), orgs);
    assert_alive(f->s);
    free(req);
}

/* ---- CivetWeb's own errors -------------------------------------------------------------------
 */

/* Sends `len` raw bytes on a new connection and parses the answer into *x. */
static void
raw_send(struct fx *f, const char *bytes, size_t len, struct raw *x)
{
    x->len = it_raw_n(f->s, bytes, len, 1, 10000, x->buf, sizeof(x->buf));
    raw_parse(x);
}

/* Errors CivetWeb finds before any handler runs (LIBRARIES.md 30) reach its http_error callback
 * (problem_http_error): each answers problem+json of the status CivetWeb chose, with a request
 * id, closes the connection, and writes an access-log line. Before, each was CivetWeb's
 * text/plain "Error 400: Bad Request". */
static void
test_framing_errors_are_problems(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *what;
        const char *bytes;
        size_t len; /* 0: strlen */
        int status;
    } cases[] = {
        {"bad request line", "GARBAGE\r\n\r\n", 0, 400},
        {"request line without target", "GET\r\n\r\n", 0, 400},
        {"NUL in the path", "GET /health\0z HTTP/1.1\r\nHost: x\r\n\r\n", 35, 400},
        {"control character in the path", "GET /a\001b HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
        {"space in the target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
        {"raw non-ASCII in the query",
         "GET /v1/public/facilitators?name=Jos\xc3\xa9 HTTP/1.1\r\n"
         "Host: x\r\n\r\n",
         0, 400},
        {"raw non-ASCII in the path", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
        {"raw byte 0xff in the query", "GET /healthz?x=\xff HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
        {"header without a colon", "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n", 0, 400},
        {"unknown Transfer-Encoding",
         "POST /v1/organisations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 0, 400},
        {"CONNECT", "CONNECT example.org:443 HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
        {"Content-Length not a number",
         "POST /v1/organisations HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 0, 411},
        {"negative Content-Length",
         "POST /v1/organisations HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 0, 411},
        {"unknown HTTP version", "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 0, 400},
    };
    char *big_head = malloc(20000), *big_token = malloc(70000);
    char value[128];
    struct raw x;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        raw_send(f, cases[i].bytes, cases[i].len ? cases[i].len : strlen(cases[i].bytes), &x);
        if (x.status != cases[i].status) {
            fail_msg("%s: expected %d, got:\n%s", cases[i].what, cases[i].status, x.buf);
        }
        check_raw_problem(&x, cases[i].status);
        if (raw_header(&x, "Connection", value, sizeof(value)) == NULL
            || strcasecmp(value, "close") != 0) {
            fail_msg("%s: the answer does not close the connection:\n%s", cases[i].what, x.buf);
        }
        if (raw_header(&x, "X-Request-Id", value, sizeof(value)) == NULL || strlen(value) != 32) {
            fail_msg("%s: the answer has no request id:\n%s", cases[i].what, x.buf);
        }
    }
    /* A head over max_request_size (16 KiB), and one 64 KiB token in the request line. */
    snprintf(big_head, 20000, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %0*d\r\n\r\n", 17000, 0);
    raw_send(f, big_head, strlen(big_head), &x);
    check_raw_problem(&x, 400);
    memcpy(big_token, "GET /", 5);
    memset(big_token + 5, 'a', 65536);
    strcpy(big_token + 5 + 65536, " HTTP/1.1\r\nHost: x\r\n\r\n");
    raw_send(f, big_token, strlen(big_token), &x);
    check_raw_problem(&x, 400);
    free(big_head);
    free(big_token);
    /* Each left an access-log line with its status, and the server still serves. */
    assert_true(it_log_wait(f->s, " - - 411 ", 5000));
    assert_alive(f->s);
}

/* A '%' not followed by two hexadecimal digits is a 400 naming the parameter, not literal text;
 * so is an escape that decodes to NUL or to bytes that are not UTF-8. Good escapes still work. */
static void
test_query_escapes(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {
        "/v1/organisations?q=%G1",  "/v1/organisations?q=%4",     "/v1/organisations?q=%",
        "/v1/organisations?q=a%zz", "/v1/organisations?q=%%41",   "/v1/organisations?q=%00",
        "/v1/organisations?q=%FF",  "/v1/organisations?q=%C3%28", "/v1/organisations?limit=1%G1",
    };
    struct it_resp r;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        it_get(f->s, bad[i], f->admin, &r);
        check_problem(&r, 400);
        if (strstr(it_json_str(&r, "detail"),
                   i + 1 < sizeof(bad) / sizeof(bad[0]) ? "q:" : "limit:")
            != it_json_str(&r, "detail")) {
            fail_msg("%s: the detail does not name the parameter: %s", bad[i],
                     it_json_str(&r, "detail"));
        }
        it_resp_free(&r);
    }
    /* A malformed escape in the name itself. */
    it_get(f->s, "/v1/organisations?%G1=x", f->admin, &r);
    check_problem(&r, 400);
    it_assert_contains(it_json_str(&r, "detail"), "percent-escape");
    it_resp_free(&r);
    /* Good escapes: %41 is 'A', '+' a space, %C3%A9 'e' with an acute accent. */
    it_expect(f->s, "GET", "/v1/organisations?q=HTTP+Test%20Org%41%C3%A9", f->admin, NULL, 200);
    it_expect(f->s, "GET", "/v1/organisations?limit=%31", f->admin, NULL, 200);
}

/* ---- Routing ----------------------------------------------------------------------------------
 */

static void
test_not_found(void **state)
{
    struct fx *f = *state;
    static const char *const paths[] = {
        "/x/",
        "/nope",
        "/v1",
        "/v1/organisationsX",
        "/v1/organisations/",
        "/V1/ORGANISATIONS",
        "/v1/organisations/00000000-0000-4000-8000-000000000000/nope",
        "/healthzz",
        "/index.html",
        "/static/problems/validation.html",
        "/../etc/passwd",
        "/assets/../static.h",
        "/assets/.hidden.css",
        "/assets/",
        "/assets/app.css/",
        "/console/../../etc/passwd",
        "/console/nope",
    };
    const char *const bearers[] = {f->admin, NULL}; /* signed in, and not */
    size_t i, k;

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct it_resp r;
        print_message("GET %s\n", paths[i]);
        for (k = 0; k < IT_LEN(bearers); k++) {
            it_get(f->s, paths[i], bearers[k], &r);
            check_problem(&r, 404);
            it_resp_free(&r);
        }
    }
}

static void
test_method_not_allowed(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    const char *allow;

    it_request(f->s, "PUT", "/v1/organisations", f->admin, NULL, NULL, &r);
    check_problem(&r, 405);
    allow = it_header(&r, "Allow");
    assert_non_null(allow);
    it_assert_contains(allow, "GET");
    it_assert_contains(allow, "POST");
    assert_null(strstr(allow, "PUT"));
    it_resp_free(&r);

    it_request(f->s, "DELETE", "/healthz", NULL, NULL, NULL, &r);
    check_problem(&r, 405);
    it_assert_header(&r, "Allow", "GET");
    it_resp_free(&r);

    it_request(f->s, "POST", "/v1/organisations/00000000-0000-4000-8000-000000000000", f->admin,
               NULL, NULL, &r);
    check_problem(&r, 405);
    allow = it_header(&r, "Allow");
    assert_non_null(allow);
    it_assert_contains(allow, "GET");
    it_assert_contains(allow, "PATCH");
    it_assert_contains(allow, "DELETE");
    it_resp_free(&r);
}

static void
test_options(void **state)
{
    struct fx *f = *state;
    const char *const preflight[] = {"Origin: https://evil.example",
                                     "Access-Control-Request-Method: POST",
                                     "Access-Control-Request-Headers: authorization", NULL};
    struct it_resp r;
    int i;

    for (i = 0; i < 2; i++) {
        it_request(f->s, "OPTIONS", "/v1/organisations", NULL, i == 0 ? NULL : preflight, NULL, &r);
        it_assert_status(&r, 204);
        it_assert_header(&r, "Allow", "GET");
        it_assert_header(&r, "Allow", "POST");
        assert_null(it_header(&r, "Access-Control-Allow-Origin"));
        assert_null(it_header(&r, "Access-Control-Allow-Methods"));
        assert_int_equal(r.len, 0);
        it_resp_free(&r);
    }
    it_request(f->s, "OPTIONS", "/nope", NULL, preflight, NULL, &r);
    check_problem(&r, 404);
    assert_null(it_header(&r, "Access-Control-Allow-Origin"));
    it_resp_free(&r);
}

/* Database errors reach problem_from_db for real: this test's own database gets a trigger that
 * raises an error full of SQL, a CHECK constraint and a unique index, each keyed on a marker
 * name. The answers are mapped problems; the database's text stays in the log. */
static void
test_problem_hides_database_text(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *name;
        long status;
        const char *sqlstate;
    } cases[] = {
        {"Check Marker Org", 422, "23514"},
        {"Unique Marker Org", 409, "23505"},
        {"Raise Marker Org", 500, "P0001"},
    };
    enum { N = 3 };
    struct it_resp r[N];
    int logged[N];
    long orgs;
    size_t i;

    PQclear(it_sql(f->s, "CREATE FUNCTION it_http_raise() RETURNS trigger LANGUAGE plpgsql AS $$"
                         " BEGIN IF NEW.name = 'Raise Marker Org' THEN RAISE EXCEPTION"
                         " 'SELECT password_hash FROM app_user WHERE id = $1::uuid'"
                         " USING DETAIL = 'Failing row contains (secret-detail)',"
                         " HINT = 'relation \"app_user\" hint'; END IF; RETURN NEW; END $$"));
    PQclear(it_sql(f->s, "CREATE TRIGGER it_http_raise BEFORE INSERT ON organisation"
                         " FOR EACH ROW EXECUTE FUNCTION it_http_raise()"));
    PQclear(it_sql(f->s, "ALTER TABLE organisation ADD CONSTRAINT it_http_secret_constraint"
                         " CHECK (name <> 'Check Marker Org') NOT VALID"));
    PQclear(it_sql(f->s, "CREATE UNIQUE INDEX it_http_secret_index ON organisation (name)"
                         " WHERE name = 'Unique Marker Org'"));
    PQclear(it_sql(f->s, "INSERT INTO organisation (name, kind, address_lines, town, postcode)"
                         " VALUES ('Unique Marker Org', 'other', '[\"x\"]', 'y', 'ME4 4AB')"));
    orgs = org_rows(f->s);

    for (i = 0; i < N; i++) {
        char *body = it_fmt("{\"name\": \"%s\", \"kind\": \"charity\","
                            " \"address_lines\": [\"1 High Street\"], \"town\": \"Chatham\","
                            " \"postcode\": \"ME4 4AB\"}",
                            cases[i].name);
        char *needle = it_fmt("sqlstate=%s", cases[i].sqlstate);

        it_post_json(f->s, "/v1/organisations", f->admin, body, &r[i]);
        logged[i] = it_log_wait(f->s, needle, 3000); /* the real error goes to the log */
        free(needle);
        free(body);
    }
    PQclear(it_sql(f->s, "DELETE FROM organisation WHERE name = 'Unique Marker Org'"));
    PQclear(it_sql(f->s, "DROP INDEX it_http_secret_index"));
    PQclear(it_sql(f->s, "ALTER TABLE organisation DROP CONSTRAINT it_http_secret_constraint"));
    PQclear(it_sql(f->s, "DROP TRIGGER it_http_raise ON organisation"));
    PQclear(it_sql(f->s, "DROP FUNCTION it_http_raise()"));
    assert_int_equal(org_rows(f->s), orgs - 1);

    for (i = 0; i < N; i++) {
        print_message("%s\n", cases[i].name);
        assert_true(logged[i]);
        assert_null(strstr(r[i].body, "password_hash"));
        assert_null(strstr(r[i].body, "secret"));
        assert_null(strstr(r[i].body, "it_http_"));
        assert_null(strstr(r[i].body, cases[i].sqlstate));
        check_problem(&r[i], cases[i].status);
    }
    for (i = 0; i < N; i++) {
        it_resp_free(&r[i]);
    }
}

/* ---- Request ids and the access log ---------------------------------------------------------- */

static int
is_hex_id(const char *s)
{
    size_t i, n = strlen(s);

    for (i = 0; i < n; i++) {
        if (!strchr("0123456789abcdef", s[i])) {
            return 0;
        }
    }
    return n >= 16;
}

static void
test_request_id(void **state)
{
    struct fx *f = *state;
    const char *const given[] = {"X-Request-Id: it-req-0001.a_b:c", NULL};
    const char *const bad[] = {"X-Request-Id: has spaces in it", NULL};
    char long_id[120], *long_hdr;
    struct it_resp r, r2;

    it_request(f->s, "GET", "/healthz", NULL, given, NULL, &r);
    it_assert_status(&r, 200);
    it_assert_header(&r, "X-Request-Id", "it-req-0001.a_b:c");
    assert_string_equal(it_header(&r, "X-Request-Id"), "it-req-0001.a_b:c");
    it_resp_free(&r);

    /* Echoed on errors too. */
    it_request(f->s, "GET", "/nope", NULL, given, NULL, &r);
    check_problem(&r, 404);
    assert_string_equal(it_header(&r, "X-Request-Id"), "it-req-0001.a_b:c");
    it_resp_free(&r);

    /* Generated when absent, and different each time. */
    it_get(f->s, "/healthz", NULL, &r);
    it_get(f->s, "/healthz", NULL, &r2);
    assert_non_null(it_header(&r, "X-Request-Id"));
    assert_non_null(it_header(&r2, "X-Request-Id"));
    assert_true(is_hex_id(it_header(&r, "X-Request-Id")));
    assert_string_not_equal(it_header(&r, "X-Request-Id"), it_header(&r2, "X-Request-Id"));
    it_resp_free(&r);
    it_resp_free(&r2);

    /* A malformed or overlong id is replaced, never echoed. */
    it_request(f->s, "GET", "/healthz", NULL, bad, NULL, &r);
    assert_non_null(it_header(&r, "X-Request-Id"));
    assert_true(is_hex_id(it_header(&r, "X-Request-Id")));
    it_resp_free(&r);
    memset(long_id, 'a', 100);
    long_id[100] = '\0';
    long_hdr = it_fmt("X-Request-Id: %s", long_id);
    {
        const char *const h[] = {long_hdr, NULL};
        it_request(f->s, "GET", "/healthz", NULL, h, NULL, &r);
        assert_non_null(it_header(&r, "X-Request-Id"));
        assert_string_not_equal(it_header(&r, "X-Request-Id"), long_id);
        it_resp_free(&r);
    }
    free(long_hdr);
}

/* The log line of request `rid`, checked against the format; returns it (malloc'd). */
static char *
log_line(struct it_server *s,
         const char *rid,
         const char *method,
         const char *path,
         long status,
         size_t bytes)
{
    char *log, *line = NULL, *p, *pattern;
    regex_t re;

    if (!it_log_wait(s, rid, 3000)) {
        it_log_tail(s, 30);
        fail_msg("no log line for request %s", rid);
    }
    log = it_log(s);
    for (p = strtok(log, "\n"); p != NULL; p = strtok(NULL, "\n")) {
        size_t n = strlen(p), m = strlen(rid);
        if (n > m && strcmp(p + n - m, rid) == 0 && p[n - m - 1] == ' ') {
            line = strdup(p);
            break;
        }
    }
    free(log);
    if (line == NULL) {
        fail_msg("request id %s is not at the end of a log line", rid);
    }
    /* time method path status bytes duration request-id */
    pattern =
        it_fmt("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z %s %s %ld "
               "%zu [0-9]+(\\.[0-9]+)?ms %s$",
               method, path, status, bytes, rid);
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    if (regexec(&re, line, 0, NULL, 0) != 0) {
        fail_msg("log line\n  %s\ndoes not match\n  %s", line, pattern);
    }
    regfree(&re);
    free(pattern);
    return line;
}

static void
test_access_log(void **state)
{
    struct fx *f = *state;
    const char *const id1[] = {"X-Request-Id: log-check-1", NULL};
    const char *const id2[] = {"X-Request-Id: log-check-2", "Content-Type: application/json", NULL};
    const char *const id3[] = {"X-Request-Id: log-check-3", NULL};
    struct it_resp r;
    char *line, *log;

    it_request(f->s, "GET", "/v1/organisations?q=SECRETPOSTCODE&limit=5", f->admin, id1, NULL, &r);
    it_assert_status(&r, 200);
    line = log_line(f->s, "log-check-1", "GET", "/v1/organisations", 200, r.len);
    free(line);
    it_resp_free(&r);

    it_request(f->s, "POST", "/v1/organisations?SECRETPARAM=1", f->admin, id2, valid_org, &r);
    assert_true(r.status == 201 || r.status == 400);
    line = log_line(f->s, "log-check-2", "POST", "/v1/organisations", r.status, r.len);
    free(line);
    it_resp_free(&r);

    it_request(f->s, "GET", "/nope?SECRETPOSTCODE", NULL, id3, NULL, &r);
    check_problem(&r, 404);
    line = log_line(f->s, "log-check-3", "GET", "/nope", 404, r.len);
    free(line);
    it_resp_free(&r);

    /* The query string's content appears nowhere in the log. */
    log = it_log(f->s);
    it_assert_absent(log, "SECRETPOSTCODE", "SECRETPARAM", NULL);
    free(log);
}

/* ---- Connections ------------------------------------------------------------------------------
 */

static size_t
sink(char *data, size_t size, size_t nmemb, void *user)
{
    (void)data;
    (void)user;
    return size * nmemb;
}

static void
test_keep_alive(void **state)
{
    struct fx *f = *state;
    static const char *const paths[] = {"/healthz", "/nope", "/v1/organisations?limit=1",
                                        "/healthz"};
    CURL *h = curl_easy_init();
    struct curl_slist *auth = NULL;
    char *hdr = it_fmt("Authorization: Bearer %s", f->admin);
    long first_port = 0;
    size_t i;

    auth = curl_slist_append(auth, hdr);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, auth);
    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char *url = it_fmt("%s%s", f->s->base_url, paths[i]);
        long code = 0, connects = -1, port = 0;

        curl_easy_setopt(h, CURLOPT_URL, url);
        assert_int_equal(curl_easy_perform(h), CURLE_OK);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
        curl_easy_getinfo(h, CURLINFO_LOCAL_PORT, &port);
        print_message("%s: %ld, new connections %ld, local port %ld\n", paths[i], code, connects,
                      port);
        assert_int_equal(code, strcmp(paths[i], "/nope") == 0 ? 404 : 200);
        if (i == 0) {
            assert_int_equal(connects, 1);
            first_port = port;
        } else {
            /* The same connection carried every request, error responses included. */
            assert_int_equal(connects, 0);
            assert_int_equal(port, first_port);
        }
        free(url);
    }
    curl_slist_free_all(auth);
    curl_easy_cleanup(h);
    free(hdr);
}

static void
test_unauthorized(void **state)
{
    struct fx *f = *state;
    static const char *const schemes[] = {
        "Authorization: Bearer not.a.token",
        "Authorization: Bearer ",
        "Authorization: Basic YWRtaW46cGFzc3dvcmQ=",
        "Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    };
    struct it_resp r;
    const char *www;
    size_t i;

    it_get(f->s, "/v1/organisations", NULL, &r);
    check_problem(&r, 401);
    www = it_header(&r, "WWW-Authenticate");
    assert_non_null(www);
    assert_true(strncmp(www, "Bearer", 6) == 0);
    assert_null(strstr(www, "invalid_token"));
    it_resp_free(&r);

    it_get(f->s, "/v1/organisations", "garbage", &r);
    check_problem(&r, 401);
    it_assert_header(&r, "WWW-Authenticate", "Bearer");
    it_assert_header(&r, "WWW-Authenticate", "error=\"invalid_token\"");
    it_resp_free(&r);

    for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        const char *const h[] = {schemes[i], NULL};
        print_message("%s\n", schemes[i]);
        it_request(f->s, "GET", "/v1/organisations", NULL, h, NULL, &r);
        check_problem(&r, 401);
        it_assert_header(&r, "WWW-Authenticate", "Bearer");
        it_resp_free(&r);
    }
    /* A token for a body-carrying request is checked before the body is read. */
    it_post_json(f->s, "/v1/organisations", "garbage", valid_org, &r);
    check_problem(&r, 401);
    it_assert_header(&r, "WWW-Authenticate", "error=\"invalid_token\"");
    it_resp_free(&r);
}

/* ---- The database pool ------------------------------------------------------------------------
 */

static void
test_pool_exhausted(void **state)
{
    const char *const env[] = {"REGISTRY_DB_POOL=1", "REGISTRY_DB_WAIT_MS=200", NULL};
    char *admin, *etag = NULL, *id;
    struct it_server *s = start_with_admin("http_pool", env, &admin);
    struct slow_patch p;
    struct timespec t0, t1;
    struct it_resp r;
    pthread_t t;
    PGconn *lock;
    double ms;

    (void)state;
    id = it_create_org_json(s, admin, valid_org, &etag);
    lock = lock_org(s, id);

    /* The PATCH takes the only connection and waits on the row lock with it. */
    start_held_patch(s, admin, id, etag, "{\"town\": \"Held\"}", &p, &t);

    /* Anything else needing the database gets 503 after about REGISTRY_DB_WAIT_MS. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    it_get(s, "/v1/organisations", admin, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    check_problem(&r, 503);
    assert_non_null(it_header(&r, "Retry-After"));
    it_resp_free(&r);
    ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    print_message("503 after %.0f ms\n", ms);
    assert_true(ms >= 150 && ms < 3000);
    it_post_json(s, "/v1/organisations", admin, valid_org, &r);
    check_problem(&r, 503);
    it_resp_free(&r);
    it_get(s, "/readyz", NULL, &r);
    check_problem(&r, 503);
    it_resp_free(&r);
    /* What needs no database still answers. */
    it_expect(s, "GET", "/healthz", NULL, NULL, 200);

    /* Release: the held PATCH completes, and the pool serves again. */
    unlock_org(lock);
    pthread_join(t, NULL);
    assert_int_equal(p.status, 200);
    assert_string_equal(p.town, "Held");
    it_expect(s, "GET", "/v1/organisations", admin, NULL, 200);
    it_expect(s, "GET", "/readyz", NULL, NULL, 200);
    it_stop(s);
    free(p.town);
    free(admin);
    free(etag);
    free(id);
}

/* A GET of the organisations, from its own thread. */
struct queued_get {
    struct it_server *s;
    const char *token;
    long status;
};

static void *
run_get(void *arg)
{
    struct queued_get *g = arg;
    struct it_resp r;

    it_get(g->s, "/v1/organisations", g->token, &r);
    g->status = r.status;
    it_resp_free(&r);
    return NULL;
}

/* The value of the pool's waiting gauge in /metrics, or -1. */
static int
pool_waiting(struct it_server *s)
{
    static const char series[] = "mpact_db_pool_waiting{pool=\"primary\"} ";
    struct it_resp r;
    const char *at;
    int n = -1;

    it_get(s, "/metrics", NULL, &r);
    if (r.status == 200 && (at = strstr(r.body, series)) != NULL) {
        n = atoi(at + sizeof(series) - 1);
    }
    it_resp_free(&r);
    return n;
}

/* Requests queued for the only connection are each handed it in turn when it frees up: none is
 * lost or refused while the wait allows. */
static void
test_pool_queue(void **state)
{
    enum { QUEUED = 4 };
    const char *const env[] = {"REGISTRY_DB_POOL=1", "REGISTRY_DB_WAIT_MS=20000", NULL};
    char *admin, *etag = NULL, *id;
    struct it_server *s = start_with_admin("http_pool_queue", env, &admin);
    struct queued_get g[QUEUED];
    pthread_t gt[QUEUED], t;
    struct slow_patch p;
    PGconn *lock;
    int i, waiting = -1;

    (void)state;
    id = it_create_org_json(s, admin, valid_org, &etag);
    lock = lock_org(s, id);
    start_held_patch(s, admin, id, etag, "{\"town\": \"Queued\"}", &p, &t);

    for (i = 0; i < QUEUED; i++) {
        g[i].s = s;
        g[i].token = admin;
        g[i].status = 0;
        assert_int_equal(pthread_create(&gt[i], NULL, run_get, &g[i]), 0);
    }
    for (i = 0; i < 200 && (waiting = pool_waiting(s)) != QUEUED; i++) {
        it_sleep_ms(25);
    }
    assert_int_equal(waiting, QUEUED);

    unlock_org(lock);
    pthread_join(t, NULL);
    assert_int_equal(p.status, 200);
    for (i = 0; i < QUEUED; i++) {
        pthread_join(gt[i], NULL);
        assert_int_equal(g[i].status, 200);
    }
    assert_int_equal(pool_waiting(s), 0);
    it_stop(s);
    free(p.town);
    free(admin);
    free(etag);
    free(id);
}

/* ---- Shutdown ---------------------------------------------------------------------------------
 */

static void *
release_later(void *arg)
{
    it_sleep_ms(1000);
    unlock_org(arg);
    return NULL;
}

static void
test_sigterm_in_flight(void **state)
{
    char *admin, *etag = NULL, *id;
    struct it_server *s = start_with_admin("http_term", NULL, &admin);
    struct slow_patch p;
    pthread_t t, rel;
    PGconn *lock;
    int status;
    char *log;

    (void)state;
    id = it_create_org_json(s, admin, valid_org, &etag);
    lock = lock_org(s, id);
    start_held_patch(s, admin, id, etag, "{\"town\": \"Finished\"}", &p, &t);

    /* SIGTERM while the PATCH is in flight; the lock goes a second later. */
    assert_int_equal(pthread_create(&rel, NULL, release_later, lock), 0);
    status = it_kill(s, SIGTERM);
    pthread_join(rel, NULL);
    pthread_join(t, NULL);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        it_log_tail(s, 40);
        fail_msg("the server did not exit 0 after SIGTERM (wait status %d)", status);
    }
    /* The request in flight was finished, answered and committed. */
    assert_int_equal(p.status, 200);
    assert_string_equal(p.town, "Finished");
    assert_int_equal(it_count(s,
                              "SELECT count(*) FROM organisation WHERE id = $1::uuid"
                              " AND town = 'Finished'",
                              id),
                     1);
    log = it_log(s);
    it_assert_contains(log, "PATCH /v1/organisations/");
    free(log);
    it_stop(s); /* already exited: checks the log for sanitizer reports and cleans up */
    free(p.town);
    free(admin);
    free(etag);
    free(id);
}

TEST_MAIN(group_setup,
          it_fx_teardown,
          cmocka_unit_test(test_content_type),
          cmocka_unit_test(test_body_too_large),
          cmocka_unit_test(test_bad_json),
          cmocka_unit_test(test_deep_nesting),
          cmocka_unit_test(test_short_body),
          cmocka_unit_test(test_content_length_and_chunked),
          cmocka_unit_test(test_framing_errors_are_problems),
          cmocka_unit_test(test_query_escapes),
          cmocka_unit_test(test_not_found),
          cmocka_unit_test(test_method_not_allowed),
          cmocka_unit_test(test_options),
          cmocka_unit_test(test_problem_hides_database_text),
          cmocka_unit_test(test_request_id),
          cmocka_unit_test(test_access_log),
          cmocka_unit_test(test_keep_alive),
          cmocka_unit_test(test_unauthorized),
          cmocka_unit_test(test_pool_exhausted),
          cmocka_unit_test(test_pool_queue),
          cmocka_unit_test(test_sigterm_in_flight))
