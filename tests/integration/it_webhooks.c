/* it_webhooks.c: /v1/webhooks and the delivery worker, against a receiver of our own.
 *
 * The receiver is a plain-socket HTTP/1.1 server on a free port of 127.0.0.1 (named in
 * REGISTRY_WEBHOOK_ALLOW_HOSTS). It records every request and answers by path: /ok/... 200,
 * /fail/... 500, /flaky/... 500 to the first two attempts of each webhook-id, then 200. Each test
 * uses its own organisation and path tag, so the tests do not see each other's messages.
 *
 * Covered: subscribing (validation, unknown events, a loopback target refused without the
 * allow-list, the secret shown once, who may see what); each event delivered once with a
 * signature an independent OpenSSL HMAC accepts and only the fields a subscriber may see;
 * nothing sent for a change that was refused (rolled back); retries with the same webhook-id,
 * the deliveries listing; a subscription marked failing after the last retry; the expiry job
 * enqueueing a 30-day accreditation event once although it runs every second. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"
#include "registry/password.h"

#define ADMIN_EMAIL "admin@webhooks.example"
#define PASSWORD    "webhooks-test-password-1"
#define MAX_REQS    256

/* ---- The receiver --------------------------------------------------------------------------- */

struct hook_req {
    char path[128];
    char id[80];
    char timestamp[32];
    char signature[128];
    char *body;
    int answered; /* the status we answered */
};

static struct {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t mu;
    struct hook_req reqs[MAX_REQS];
    int n;
    volatile int stop;
} rx = {.fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

/* Copies header `name`'s value out of the header block `h` into `out`. */
static void
header_value(const char *h, const char *name, char *out, size_t len)
{
    size_t nlen = strlen(name);
    const char *p = h;

    out[0] = '\0';
    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            size_t n;

            v += strspn(v, " ");
            n = strcspn(v, "\r\n");
            snprintf(out, len, "%.*s", (int)n, v);
            return;
        }
    }
}

static int
tries_of(const char *id)
{
    int i, n = 0;

    for (i = 0; i < rx.n; i++) {
        n += strcmp(rx.reqs[i].id, id) == 0;
    }
    return n;
}

static void
serve_one(int c)
{
    char buf[65536], cl[16];
    size_t got = 0, hlen, want;
    ssize_t k;
    char *end = NULL;
    struct hook_req q;
    int status;
    char resp[128];

    memset(&q, 0, sizeof(q));
    while (got < sizeof(buf) - 1 && (end = strstr(buf, "\r\n\r\n")) == NULL) {
        k = read(c, buf + got, sizeof(buf) - 1 - got);
        if (k <= 0) {
            return;
        }
        got += (size_t)k;
        buf[got] = '\0';
    }
    if (end == NULL) {
        return;
    }
    hlen = (size_t)(end - buf) + 4;
    end[2] = '\0'; /* keep the last header's CRLF for header_value */
    header_value(buf, "Content-Length", cl, sizeof(cl));
    want = (size_t)atol(cl);
    while (got - hlen < want && got < sizeof(buf) - 1) {
        k = read(c, buf + got, sizeof(buf) - 1 - got);
        if (k <= 0) {
            break;
        }
        got += (size_t)k;
    }
    buf[got] = '\0';
    sscanf(buf, "POST %127s", q.path);
    header_value(buf, "webhook-id", q.id, sizeof(q.id));
    header_value(buf, "webhook-timestamp", q.timestamp, sizeof(q.timestamp));
    header_value(buf, "webhook-signature", q.signature, sizeof(q.signature));
    q.body = strndup(buf + hlen, want);
    pthread_mutex_lock(&rx.mu);
    if (strncmp(q.path, "/fail/", 6) == 0) {
        status = 500;
    } else if (strncmp(q.path, "/flaky/", 7) == 0) {
        status = tries_of(q.id) < 2 ? 500 : 200;
    } else {
        status = 200;
    }
    q.answered = status;
    if (rx.n < MAX_REQS) {
        rx.reqs[rx.n++] = q;
    } else {
        free(q.body);
    }
    pthread_mutex_unlock(&rx.mu);
    snprintf(resp, sizeof(resp),
             "HTTP/1.1 %d %s\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", status,
             status == 200 ? "OK" : "Internal Server Error");
    if (write(c, resp, strlen(resp)) < 0) {
        return;
    }
}

static void *
rx_main(void *arg)
{
    (void)arg;
    while (!rx.stop) {
        int c = accept(rx.fd, NULL, NULL);
        struct timeval tv = {5, 0};

        if (c < 0) {
            continue;
        }
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        serve_one(c);
        close(c);
    }
    return NULL;
}

static void
rx_start(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    struct timeval tv = {0, 200 * 1000};
    int one = 1;

    rx.fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(rx.fd >= 0);
    setsockopt(rx.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(rx.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)); /* accept wakes to see stop */
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(rx.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(rx.fd, 16), 0);
    assert_int_equal(getsockname(rx.fd, (struct sockaddr *)&a, &alen), 0);
    rx.port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&rx.thread, NULL, rx_main, NULL), 0);
}

static void
rx_stop(void)
{
    int i;

    rx.stop = 1;
    pthread_join(rx.thread, NULL);
    close(rx.fd);
    for (i = 0; i < rx.n; i++) {
        free(rx.reqs[i].body);
    }
}

/* Requests received so far whose path starts with `prefix`. */
static int
rx_count(const char *prefix)
{
    int i, n = 0;

    pthread_mutex_lock(&rx.mu);
    for (i = 0; i < rx.n; i++) {
        n += strncmp(rx.reqs[i].path, prefix, strlen(prefix)) == 0;
    }
    pthread_mutex_unlock(&rx.mu);
    return n;
}

/* Waits up to `ms` for at least `n` requests under `prefix`; returns how many came. */
static int
rx_wait(const char *prefix, int n, int ms)
{
    int waited = 0;

    while (rx_count(prefix) < n && waited < ms) {
        it_sleep_ms(20);
        waited += 20;
    }
    return rx_count(prefix);
}

/* A copy of the `i`-th request under `prefix` (body malloc'd). */
static struct hook_req
rx_get(const char *prefix, int i)
{
    struct hook_req q;
    int k, seen = 0;

    memset(&q, 0, sizeof(q));
    pthread_mutex_lock(&rx.mu);
    for (k = 0; k < rx.n; k++) {
        if (strncmp(rx.reqs[k].path, prefix, strlen(prefix)) == 0 && seen++ == i) {
            q = rx.reqs[k];
            q.body = strdup(rx.reqs[k].body);
            break;
        }
    }
    pthread_mutex_unlock(&rx.mu);
    assert_non_null(q.body);
    return q;
}

/* ---- Independent signature check ------------------------------------------------------------ */

/* 1 when `q` carries a valid Standard Webhooks signature for `secret` ("whsec_..."). */
static int
signature_ok(const struct hook_req *q, const char *secret)
{
    unsigned char key[64], mac[32];
    unsigned int maclen = sizeof(mac);
    char *signed_text = it_fmt("%s.%s.%s", q->id, q->timestamp, q->body);
    char want[64];
    const char *b64 = secret + 6;
    size_t len = strlen(b64);
    int keylen = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)len), ok;

    keylen -= (b64[len - 1] == '=') + (b64[len - 2] == '=');
    HMAC(EVP_sha256(), key, keylen, (const unsigned char *)signed_text, strlen(signed_text), mac,
         &maclen);
    EVP_EncodeBlock((unsigned char *)want, mac, (int)maclen);
    ok = strncmp(q->signature, "v1,", 3) == 0 && strcmp(q->signature + 3, want) == 0;
    free(signed_text);
    return ok;
}

/* ---- Fixture -------------------------------------------------------------------------------- */

struct fx {
    IT_FX_HEAD;
    int orgs;
};

static int
group_setup(void **state)
{
    char *allow;

    rx_start();
    allow = it_fmt("REGISTRY_WEBHOOK_ALLOW_HOSTS=127.0.0.1:%d", rx.port);
    {
        const char *env[] = {allow,
                             "REGISTRY_WEBHOOK_RETRY_BASE_MS=20",
                             "REGISTRY_WEBHOOK_RETRIES=2",
                             "REGISTRY_WEBHOOK_POLL_MS=50",
                             "REGISTRY_WEBHOOK_EXPIRY_EVERY_S=1",
                             NULL};
        *state = it_fx_start(sizeof(struct fx), "webhooks", env, ADMIN_EMAIL, PASSWORD, IT_FX_HASH);
    }
    free(allow);
    return 0;
}

static int
group_teardown(void **state)
{
    it_fx_teardown(state);
    rx_stop();
    return 0;
}

/* An organisation (id malloc'd) and the token of its org_admin (malloc'd). */
static char *
make_org(struct fx *f, char **org_admin)
{
    char *id = it_create_org(f->s, f->admin, NULL, NULL, "Webhook Org %d", ++f->orgs);
    char *email = it_fmt("orgadmin%d@webhooks.example", f->orgs);

    *org_admin = it_fx_licensee(f, email, "org_admin", id);
    free(email);
    return id;
}

/* Subscribes with `token` to `events_json` at receiver path `path`; returns the subscription id
 * and puts the secret (both malloc'd) in *secret. */
static char *
subscribe(struct fx *f, const char *token, const char *path, const char *events_json, char **secret)
{
    char *body =
        it_fmt("{\"url\": \"http://127.0.0.1:%d%s\", \"events\": %s}", rx.port, path, events_json);
    struct it_resp r;
    char *id;

    it_post_json(f->s, "/v1/webhooks", token, body, &r);
    it_assert_status(&r, 201);
    id = strdup(it_json_str(&r, "id"));
    *secret = strdup(it_json_str(&r, "secret"));
    it_resp_free(&r);
    free(body);
    return id;
}

/* Creates a licence for `org` (pending) and returns its id; *etag gets its ETag (malloc'd). */
static char *
make_licence(struct fx *f, const char *org, char **etag)
{
    return it_post_created(f->s, f->admin,
                           "{\"valid_from\": \"2025-01-01\", \"valid_until\": \"2099-12-31\","
                           " \"reason\": \"issued\"}",
                           etag, "/v1/organisations/%s/licences", org);
}

/* PATCHes licence `id` with `body`; expects `want`; keeps the new ETag on 200. */
static void
patch_licence(struct fx *f, const char *id, char **etag, const char *body, long want)
{
    char *path = it_fmt("/v1/licences/%s", id);
    struct it_resp r;

    it_patch_json(f->s, path, f->admin, *etag, body, &r);
    it_assert_status(&r, want);
    if (want == 200) {
        free(*etag);
        *etag = strdup(it_header(&r, "ETag"));
    }
    it_resp_free(&r);
    free(path);
}

/* Outbox rows of subscription `sub`, all of them and those still pending. The rows are written
 * in the change's own transaction, so a change that answered has written its rows already. */
#define OUTBOX_ROWS    "SELECT count(*) FROM webhook_outbox WHERE subscription_id = $1::uuid"
#define OUTBOX_PENDING OUTBOX_ROWS " AND state = 'pending'"

/* Waits (up to 10 s) until no outbox row of `sub` is pending: the worker is done with them, and
 * the receiver has seen every attempt it will ever get. Asserts `rows` rows, each in `state`
 * after `attempts` attempts. */
static void
outbox_settled(struct fx *f, const char *sub, long rows, const char *state, const char *attempts)
{
    assert_int_equal(it_count(f->s, OUTBOX_ROWS, sub), rows);
    assert_int_equal(it_wait_count(f->s, 0, 10000, OUTBOX_PENDING, sub), 0);
    assert_int_equal(
        it_count(f->s, OUTBOX_ROWS " AND state = $2 AND attempts = $3::int", sub, state, attempts),
        rows);
}

/* A facilitator `given` of `org`, accredited until 30 days from today, written directly (no
 * status event); its id goes into `fid` (40 bytes). */
static void
expiring_facilitator(struct fx *f, const char *org, const char *given, char *fid)
{
    char *body = it_fmt("{\"given_name\": \"%s\", \"family_name\": \"Expiring\","
                        " \"email\": \"%s@private.example\", \"organisation_id\": \"%s\"}",
                        given, given, org);
    struct it_resp r;

    it_post_json(f->s, "/v1/facilitators", f->admin, body, &r);
    it_assert_status(&r, 201);
    snprintf(fid, 40, "%s", it_json_str(&r, "id"));
    it_resp_free(&r);
    free(body);
    PQclear(it_sql(f->s,
                   "UPDATE facilitator SET status = 'accredited', accredited_on = registry_today(),"
                   " accredited_until = registry_today() + 30 WHERE id = $1::uuid",
                   fid));
}

/* Proves that the expiry job ran once more: a facilitator of `org` (which has no subscription)
 * accredited until 30 days from today gets its webhook_expiry_sent row (up to 8 s). */
static void
expiry_job_ran(struct fx *f, const char *org, const char *given)
{
    char fid[40];

    expiring_facilitator(f, org, given, fid);
    assert_int_equal(it_wait_count(f->s, 1, 8000,
                                   "SELECT count(*) FROM webhook_expiry_sent"
                                   " WHERE subject_id = $1::uuid AND days_ahead = 30",
                                   fid),
                     1);
}

/* ---- Tests ---------------------------------------------------------------------------------- */

static void
test_subscribe(void **state)
{
    struct fx *f = *state;
    char *admin_a, *admin_b, *org_a = make_org(f, &admin_a), *org_b = make_org(f, &admin_b);
    char *staff = it_fx_licensee(f, "staff@webhooks.example", "org_staff", org_a);
    char *secret, *id, *body, *path;
    unsigned char raw[48];
    struct it_resp r;

    /* Unknown event, missing url, an unknown field: 422 naming the field. */
    body =
        it_fmt("{\"url\": \"http://127.0.0.1:%d/ok/s\", \"events\": [\"licence.eaten\"]}", rx.port);
    it_expect_field(f->s, "POST", "/v1/webhooks", admin_a, body, "events");
    free(body);
    it_expect_field(f->s, "POST", "/v1/webhooks", admin_a, "{\"events\": [\"licence.expiring\"]}",
                    "url");
    body = it_fmt("{\"url\": \"http://127.0.0.1:%d/ok/s\", \"events\": [\"licence.expiring\"],"
                  " \"colour\": \"red\"}",
                  rx.port);
    it_expect(f->s, "POST", "/v1/webhooks", admin_a, body, 422);
    free(body);

    /* Loopback targets outside the allow-list: refused, whatever the scheme or spelling. */
    body = it_fmt("{\"url\": \"http://127.0.0.1:%d/ok/s\", \"events\": [\"licence.expiring\"]}",
                  rx.port + 1 == 65536 ? 1 : rx.port + 1);
    it_expect_field(f->s, "POST", "/v1/webhooks", admin_a, body, "url");
    free(body);
    it_expect_field(f->s, "POST", "/v1/webhooks", admin_a,
                    "{\"url\": \"https://127.0.0.1/x\", \"events\": [\"licence.expiring\"]}",
                    "url");
    it_expect_field(f->s, "POST", "/v1/webhooks", admin_a,
                    "{\"url\": \"https://localhost/x\", \"events\": [\"licence.expiring\"]}",
                    "url");
    it_expect_field(f->s, "POST", "/v1/webhooks", admin_a,
                    "{\"url\": \"https://[::1]/x\", \"events\": [\"licence.expiring\"]}", "url");
    /* Plain http to a host outside the allow-list. */
    it_expect_field(f->s, "POST", "/v1/webhooks", admin_a,
                    "{\"url\": \"http://example.org/x\", \"events\": [\"licence.expiring\"]}",
                    "url");
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM webhook_subscription"), 0);

    /* Staff may not subscribe; the admin must name the organisation. */
    body = it_fmt("{\"url\": \"http://127.0.0.1:%d/ok/s\", \"events\": [\"licence.expiring\"]}",
                  rx.port);
    it_expect(f->s, "POST", "/v1/webhooks", staff, body, 403);
    it_expect_field(f->s, "POST", "/v1/webhooks", f->admin, body, "organisation_id");
    free(body);

    /* Created: the secret once, whsec_ + base64 of 32 bytes. */
    id = subscribe(f, admin_a, "/ok/s", "[\"licence.expiring\", \"licence.status_changed\"]",
                   &secret);
    assert_int_equal(strncmp(secret, "whsec_", 6), 0);
    assert_int_equal(strlen(secret + 6), 44);
    assert_int_equal(EVP_DecodeBlock(raw, (const unsigned char *)secret + 6, 44) - 1, 32);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_type = 'webhook'"
                              " AND resource_id = $1 AND after::text NOT LIKE '%whsec_%'",
                              id),
                     1);

    path = it_fmt("/v1/webhooks/%s", id);
    it_get(f->s, path, admin_a, &r);
    it_assert_status(&r, 200);
    assert_null(json_object_get(r.json, "secret"));
    it_assert_strs(&r, IT_ROW("status", "active", "organisation_id", org_a));
    assert_int_equal(json_array_size(json_object_get(r.json, "events")), 2);
    it_resp_free(&r);
    it_get(f->s, path, admin_b, &r); /* another organisation: 404 */
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    it_get(f->s, "/v1/webhooks", admin_a, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_null(strstr(r.body, "whsec_"));
    it_resp_free(&r);
    it_expect_items(f->s, admin_b, 0, "%s", "/v1/webhooks");

    /* Delete: gone, audited. */
    it_expect(f->s, "DELETE", path, admin_b, NULL, 404);
    it_expect(f->s, "DELETE", path, admin_a, NULL, 204);
    it_expect(f->s, "GET", path, admin_a, NULL, 404);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_type = 'webhook'"
                              " AND resource_id = $1 AND action = 'delete'",
                              id),
                     1);
    free(path);
    free(id);
    free(secret);
    free(staff);
    free(admin_a);
    free(admin_b);
    free(org_a);
    free(org_b);
}

static void
test_licence_event(void **state)
{
    struct fx *f = *state;
    char *admin_a, *org = make_org(f, &admin_a), *secret, *etag;
    char *sub = subscribe(f, admin_a, "/ok/lic", "[\"licence.status_changed\"]", &secret);
    char *lic = make_licence(f, org, &etag);
    struct hook_req q;
    json_t *body, *data;

    /* Refused changes roll back and send nothing: an illegal transition, a 422, a stale ETag. */
    patch_licence(f, lic, &etag, "{\"status\": \"revoked\", \"reason\": \"x\"}", 409);
    patch_licence(f, lic, &etag, "{\"status\": \"active\"}", 422);
    assert_int_equal(it_count(f->s, OUTBOX_ROWS, sub), 0);
    patch_licence(f, lic, &etag, "{\"status\": \"active\", \"reason\": \"go\"}", 200);
    assert_int_equal(rx_wait("/ok/lic", 1, 5000), 1);
    /* A change of dates only is no status change: no outbox row, so nothing is ever sent. */
    patch_licence(f, lic, &etag, "{\"valid_until\": \"2098-12-31\", \"reason\": \"dates\"}", 200);
    outbox_settled(f, sub, 1, "delivered", "1");
    assert_int_equal(rx_count("/ok/lic"), 1);

    q = rx_get("/ok/lic", 0);
    assert_true(signature_ok(&q, secret));
    assert_int_equal(strncmp(q.id, "msg_", 4), 0);
    assert_true(labs(atol(q.timestamp) - (long)time(NULL)) < 60);
    body = json_loads(q.body, 0, NULL);
    assert_non_null(body);
    assert_string_equal(it_jstr(body, "type"), "licence.status_changed");
    assert_non_null(it_jstr(body, "timestamp"));
    data = json_object_get(body, "data");
    assert_string_equal(it_jstr(data, "status"), "active");
    assert_string_equal(it_jstr(data, "previous_status"), "pending");
    assert_string_equal(it_jstr(data, "id"), lic);
    assert_non_null(it_jstr(data, "number"));
    assert_string_equal(it_jstr(data, "valid_until"), "2099-12-31");
    /* A tampered body does not verify. */
    q.body[1] = q.body[1] == ' ' ? '\t' : ' ';
    assert_false(signature_ok(&q, secret));
    json_decref(body);
    free(q.body);

    assert_int_equal(it_count(f->s, OUTBOX_ROWS, sub), 1);
    free(sub);
    free(secret);
    free(etag);
    free(lic);
    free(admin_a);
    free(org);
}

static void
test_facilitator_event(void **state)
{
    struct fx *f = *state;
    char *admin_a, *org = make_org(f, &admin_a), *secret, *body, *path, *etag;
    char *sub = subscribe(f, admin_a, "/ok/fac", "[\"facilitator.status_changed\"]", &secret);
    struct it_resp r;
    struct hook_req q;
    json_t *j, *data;
    char number[40];

    body = it_fmt("{\"given_name\": \"Ada\", \"family_name\": \"Hook\","
                  " \"email\": \"ada.hook@private.example\", \"phone\": \"01634 999888\","
                  " \"organisation_id\": \"%s\"}",
                  org);
    it_post_json(f->s, "/v1/facilitators", f->admin, body, &r);
    it_assert_status(&r, 201);
    path = it_fmt("/v1/facilitators/%s", it_json_str(&r, "id"));
    snprintf(number, sizeof(number), "%s", it_json_str(&r, "registration_number"));
    etag = strdup(it_header(&r, "ETag"));
    it_resp_free(&r);
    free(body);

    /* Illegal transition: nothing. */
    it_expect_if(f->s, "PATCH", path, f->admin, etag,
                 "{\"status\": \"suspended\", \"reason\": \"x\"}", 409);
    assert_int_equal(it_count(f->s, OUTBOX_ROWS, sub), 0);
    it_expect_if(f->s, "PATCH", path, f->admin, etag,
                 "{\"status\": \"accredited\", \"accredited_until\": \"2031-05-31\"}", 200);
    assert_int_equal(rx_wait("/ok/fac", 1, 5000), 1);
    outbox_settled(f, sub, 1, "delivered", "1");
    assert_int_equal(rx_count("/ok/fac"), 1);

    q = rx_get("/ok/fac", 0);
    assert_true(signature_ok(&q, secret));
    j = json_loads(q.body, 0, NULL);
    assert_string_equal(it_jstr(j, "type"), "facilitator.status_changed");
    data = json_object_get(j, "data");
    assert_string_equal(it_jstr(data, "registration_number"), number);
    assert_string_equal(it_jstr(data, "status"), "accredited");
    assert_string_equal(it_jstr(data, "previous_status"), "in_training");
    assert_string_equal(it_jstr(data, "accredited_until"), "2031-05-31");
    /* Nothing private. */
    assert_null(strstr(q.body, "private.example"));
    assert_null(strstr(q.body, "999888"));
    assert_null(json_object_get(data, "email"));
    assert_null(json_object_get(data, "phone"));
    json_decref(j);
    free(q.body);
    free(etag);
    free(path);
    free(sub);
    free(secret);
    free(admin_a);
    free(org);
}

static void
test_programme_event(void **state)
{
    struct fx *f = *state;
    char *admin_a, *org = make_org(f, &admin_a), *secret, *path, *etag;
    char *sub = subscribe(f, admin_a, "/ok/prog", "[\"programme.changed\"]", &secret);
    char run[40], loc[40];
    struct it_resp r;
    struct hook_req q;
    json_t *j, *data;

    IT_SQL_VALUE(loc, f->s,
                 "INSERT INTO location (organisation_id, name, kind, address_lines, town, postcode)"
                 " VALUES ($1::uuid, 'Hall', 'community', '[\"1 Road\"]', 'Chatham', 'ME4 4AB')"
                 " RETURNING id",
                 org);
    IT_SQL_VALUE(run, f->s,
                 "INSERT INTO programme_run (organisation_id, location_id, variant, starts_on,"
                 " ends_on, capacity_families) VALUES ($1::uuid, $2::uuid, 'standard',"
                 " '2030-01-07', '2030-03-25', 6) RETURNING id",
                 org, loc);
    path = it_fmt("/v1/programmes/%s", run);
    it_get(f->s, path, admin_a, &r);
    it_assert_status(&r, 200);
    etag = strdup(it_header(&r, "ETag"));
    it_resp_free(&r);
    it_expect_if(f->s, "PATCH", path, admin_a, etag, "{\"status\": \"cancelled\"}", 200);
    assert_int_equal(rx_wait("/ok/prog", 1, 5000), 1);
    q = rx_get("/ok/prog", 0);
    assert_true(signature_ok(&q, secret));
    j = json_loads(q.body, 0, NULL);
    assert_string_equal(it_jstr(j, "type"), "programme.changed");
    data = json_object_get(j, "data");
    assert_string_equal(it_jstr(data, "id"), run);
    assert_string_equal(it_jstr(data, "status"), "cancelled");
    assert_string_equal(it_jstr(data, "location_id"), loc);
    assert_string_equal(it_jstr(data, "starts_on"), "2030-01-07");
    assert_string_equal(it_jstr(data, "ends_on"), "2030-03-25");
    json_decref(j);
    free(q.body);
    free(etag);
    free(path);
    free(sub);
    free(secret);
    free(admin_a);
    free(org);
}

static void
test_retry_same_id(void **state)
{
    struct fx *f = *state;
    char *admin_a, *org = make_org(f, &admin_a), *secret, *etag, *path;
    char *sub = subscribe(f, admin_a, "/flaky/lic", "[\"licence.status_changed\"]", &secret);
    char *lic = make_licence(f, org, &etag);
    struct hook_req q[3];
    struct it_resp r;
    json_t *items;
    int i;

    patch_licence(f, lic, &etag, "{\"status\": \"active\", \"reason\": \"go\"}", 200);
    assert_int_equal(rx_wait("/flaky/lic", 3, 10000), 3);
    outbox_settled(f, sub, 1, "delivered", "3");
    assert_int_equal(rx_count("/flaky/lic"), 3);
    for (i = 0; i < 3; i++) {
        q[i] = rx_get("/flaky/lic", i);
        assert_true(signature_ok(&q[i], secret));
        assert_string_equal(q[i].id, q[0].id);
        assert_string_equal(q[i].body, q[0].body);
    }
    assert_int_equal(q[0].answered, 500);
    assert_int_equal(q[1].answered, 500);
    assert_int_equal(q[2].answered, 200);

    /* The attempts, newest first; paged. */
    path = it_fmt("/v1/webhooks/%s/deliveries", sub);
    for (i = 0; i < 50; i++) { /* the last record lands just after the receiver answered */
        it_get(f->s, path, admin_a, &r);
        it_assert_status(&r, 200);
        if (json_array_size(json_object_get(r.json, "items")) == 3) {
            break;
        }
        it_resp_free(&r);
        it_sleep_ms(50);
    }
    items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(it_jstr(json_array_get(items, 0), "outcome"), "delivered");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 0), "status_code")),
                     200);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 0), "attempt")), 3);
    assert_string_equal(it_jstr(json_array_get(items, 2), "outcome"), "retry");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 2), "status_code")),
                     500);
    assert_string_equal(it_jstr(json_array_get(items, 2), "webhook_id"), q[0].id);
    assert_true(json_is_integer(json_object_get(json_array_get(items, 1), "duration_ms")));
    it_resp_free(&r);
    {
        char *p2 = it_fmt("%s?limit=2", path), *p3;

        it_get(f->s, p2, admin_a, &r);
        it_assert_status(&r, 200);
        assert_int_equal(json_array_size(json_object_get(r.json, "items")), 2);
        assert_non_null(it_json_str(&r, "next_cursor"));
        p3 = it_fmt("%s?limit=2&cursor=%s", path, it_json_str(&r, "next_cursor"));
        it_resp_free(&r);
        it_expect_items(f->s, admin_a, 1, "%s", p3);
        free(p2);
        free(p3);
    }
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM webhook_subscription"
                              " WHERE id = $1::uuid AND status = 'active'",
                              sub),
                     1);
    for (i = 0; i < 3; i++) {
        free(q[i].body);
    }
    free(path);
    free(sub);
    free(secret);
    free(etag);
    free(lic);
    free(admin_a);
    free(org);
}

static void
test_failing(void **state)
{
    struct fx *f = *state;
    char *admin_a, *org = make_org(f, &admin_a), *secret, *etag, *path;
    char *sub = subscribe(f, admin_a, "/fail/lic", "[\"licence.status_changed\"]", &secret);
    char *lic = make_licence(f, org, &etag);
    struct it_resp r;
    int i;

    patch_licence(f, lic, &etag, "{\"status\": \"active\", \"reason\": \"go\"}", 200);
    assert_int_equal(rx_wait("/fail/lic", 3, 10000), 3);
    path = it_fmt("/v1/webhooks/%s", sub);
    for (i = 0; i < 100; i++) {
        it_get(f->s, path, admin_a, &r);
        it_assert_status(&r, 200);
        if (strcmp(it_json_str(&r, "status"), "failing") == 0) {
            break;
        }
        it_resp_free(&r);
        it_sleep_ms(50);
    }
    assert_string_equal(it_json_str(&r, "status"), "failing");
    it_resp_free(&r);
    outbox_settled(f, sub, 1, "dead", "3");
    assert_int_equal(rx_count("/fail/lic"), 3); /* RETRIES=2: three attempts, then dead */
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM webhook_outbox WHERE subscription_id = $1::uuid"
                              " AND state = 'dead' AND attempts = 3",
                              sub),
                     1);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM webhook_delivery WHERE subscription_id ="
                              " $1::uuid AND outcome = 'dead' AND status_code = 500",
                              sub),
                     1);
    /* A failing subscription gets no new messages. */
    patch_licence(f, lic, &etag, "{\"status\": \"suspended\", \"reason\": \"pause\"}", 200);
    assert_int_equal(
        it_count(f->s, "SELECT count(*) FROM webhook_outbox WHERE subscription_id = $1::uuid", sub),
        1);
    free(path);
    free(sub);
    free(secret);
    free(etag);
    free(lic);
    free(admin_a);
    free(org);
}

static void
test_expiry_once(void **state)
{
    struct fx *f = *state;
    char *admin_a, *org = make_org(f, &admin_a), *secret, *admin_q, *quiet;
    char *sub =
        subscribe(f, admin_a, "/ok/exp", "[\"facilitator.accreditation_expiring\"]", &secret);
    struct hook_req q;
    json_t *j, *data;
    char fid[40];

    /* The job runs every second in this test (REGISTRY_WEBHOOK_EXPIRY_EVERY_S=1). */
    expiring_facilitator(f, org, "Eve", fid);
    assert_int_equal(rx_wait("/ok/exp", 1, 8000), 1);
    /* At least two more runs of the job, each seen through a facilitator of an organisation
     * without subscriptions; then the one message is all there is and ever will be. */
    quiet = make_org(f, &admin_q);
    expiry_job_ran(f, quiet, "Sam");
    expiry_job_ran(f, quiet, "Tam");
    outbox_settled(f, sub, 1, "delivered", "1");
    assert_int_equal(rx_count("/ok/exp"), 1);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM webhook_expiry_sent WHERE subject_id = $1::uuid"
                              " AND days_ahead = 30",
                              fid),
                     1);
    q = rx_get("/ok/exp", 0);
    assert_true(signature_ok(&q, secret));
    j = json_loads(q.body, 0, NULL);
    assert_string_equal(it_jstr(j, "type"), "facilitator.accreditation_expiring");
    data = json_object_get(j, "data");
    assert_int_equal(json_integer_value(json_object_get(data, "days_ahead")), 30);
    assert_non_null(it_jstr(data, "registration_number"));
    assert_null(strstr(q.body, "private.example"));
    json_decref(j);
    free(q.body);
    free(sub);
    free(secret);
    free(admin_a);
    free(admin_q);
    free(quiet);
    free(org);
}

TEST_MAIN(group_setup,
          group_teardown,
          cmocka_unit_test(test_subscribe),
          cmocka_unit_test(test_licence_event),
          cmocka_unit_test(test_facilitator_event),
          cmocka_unit_test(test_programme_event),
          cmocka_unit_test(test_retry_same_id),
          cmocka_unit_test(test_failing),
          cmocka_unit_test(test_expiry_once))
