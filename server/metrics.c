/* metrics.c: GET /metrics (Prometheus text format 0.0.4).
 *
 * Requests are counted per route of the router's table (its index picks a slot, so the label is
 * the route's pattern, never the URL a client sent: no ids, no postcodes) and per status, with a
 * latency histogram of fixed buckets. Every counter is a relaxed atomic: recording a request is a
 * few uncontended adds. Database pools, the replica, rate-limit refusals and the webhook outbox
 * are read from their rooms when scraped.
 *
 * Who may scrape: a direct connection from an address in REGISTRY_METRICS_ALLOW (default
 * 127.0.0.1), or anyone presenting the token in REGISTRY_METRICS_TOKEN_FILE. A request relayed by
 * the trusted reverse proxy (its peer is REGISTRY_TRUSTED_PROXY and it carries X-Forwarded-For)
 * never passes on the address: the peer is then the proxy, not the caller, and the header can be
 * forged by the client. Everyone else gets the 404 of an unknown path. */
#include "registry/metrics.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "registry/codec.h"
#include "registry/db.h"
#include "registry/jsonout.h"
#include "registry/keys.h"
#include "registry/problem.h"
#include "registry/ratelimit.h"
#include "registry/router.h"

#define ALLOW_MAX      32
#define TOKEN_FILE_MAX 4096
#define TOKEN_MIN      16
#define CONTENT_TYPE   "text/plain; version=0.0.4; charset=utf-8"

/* Status codes with a series of their own; anything else counts as "other". */
static const int statuses[] = {200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 405, 406,
                               409, 410, 412, 413, 415, 422, 428, 429, 500, 502, 503, 504};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]) + 1)

/* Upper bounds of the latency buckets, in seconds (the +Inf bucket follows). */
static const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                0.25,  0.5,    1,     2.5,  5,     10};
static const long long bounds_us[] = {1000,   2500,   5000,    10000,   25000,   50000,   100000,
                                      250000, 500000, 1000000, 2500000, 5000000, 10000000};
#define NBUCKET (sizeof(bounds) / sizeof(bounds[0]) + 1)

struct slot {
    atomic_ullong status[NSTATUS];
    atomic_ullong bucket[NBUCKET]; /* not cumulative; summed when rendered */
    atomic_ullong sum_us;
};

/* One slot per route, and one more for requests no route matched. */
static struct slot slots[METRICS_ROUTES_MAX + 1];

static atomic_ullong tokens_valid, tokens_invalid;
static atomic_ullong wh_delivered, wh_retry, wh_dead;
static atomic_llong outbox_depth = -1;

static struct {
    struct in_addr allow[ALLOW_MAX];
    int nallow;
    int have_token;
    unsigned char token_digest[32];
    double started; /* Unix time */
} cfg;

/* Parses `allow` into out[]; returns the count, or -1 on an entry that is not IPv4. */
static int
parse_allow(const char *allow, struct in_addr *out, int max)
{
    char item[64];
    const char *p = allow;
    int n = 0;

    if (allow == NULL || strcmp(allow, "none") == 0) {
        return 0;
    }
    while (*p != '\0') {
        size_t len = strcspn(p, ","), a = strspn(p, " \t"), b = len;

        while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t')) {
            b--;
        }
        if (b - a >= sizeof(item) || n == max) {
            return -1;
        }
        memcpy(item, p + a, b - a);
        item[b - a] = '\0';
        if (item[0] != '\0') {
            if (inet_pton(AF_INET, item, &out[n]) != 1) {
                return -1;
            }
            n++;
        }
        p += len;
        if (*p == ',') {
            p++;
        }
    }
    return n;
}

/* 1 when IPv4 `addr` is one of list[0..n). */
static int
addr_in(const struct in_addr *list, int n, const char *addr)
{
    struct in_addr a;
    int i;

    if (addr == NULL || inet_pton(AF_INET, addr, &a) != 1) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (list[i].s_addr == a.s_addr) {
            return 1;
        }
    }
    return 0;
}

int
metrics_init(const struct config *c, char *err, size_t errlen)
{
    struct timespec now;
    const struct route *routes;

    memset(&cfg, 0, sizeof(cfg));
    clock_gettime(CLOCK_REALTIME, &now);
    cfg.started = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    if (router_routes(&routes) > METRICS_ROUTES_MAX) {
        snprintf(err, errlen, "metrics: more than %d routes", METRICS_ROUTES_MAX);
        return -1;
    }
    cfg.nallow = parse_allow(c->metrics_allow, cfg.allow, ALLOW_MAX);
    if (cfg.nallow < 0) {
        snprintf(err, errlen,
                 "REGISTRY_METRICS_ALLOW must be comma-separated IPv4 addresses (at most %d) or "
                 "none",
                 ALLOW_MAX);
        return -1;
    }
    if (c->metrics_token_file != NULL) {
        char buf[TOKEN_FILE_MAX + 1];
        size_t n;
        FILE *f = fopen(c->metrics_token_file, "rb");

        if (f == NULL) {
            snprintf(err, errlen, "REGISTRY_METRICS_TOKEN_FILE: cannot read %.200s",
                     c->metrics_token_file);
            return -1;
        }
        n = fread(buf, 1, TOKEN_FILE_MAX, f);
        fclose(f);
        buf[n] = '\0';
        if (strlen(buf) != n) {
            n = 0; /* a NUL inside: not a token */
        }
        while (n > 0 && strchr(" \t\r\n", buf[n - 1]) != NULL) {
            buf[--n] = '\0';
        }
        if (n < TOKEN_MIN || n == TOKEN_FILE_MAX || strpbrk(buf, " \t\r\n") != NULL) {
            snprintf(err, errlen,
                     "REGISTRY_METRICS_TOKEN_FILE: %.200s must hold one token of %d to %d "
                     "characters without spaces",
                     c->metrics_token_file, TOKEN_MIN, TOKEN_FILE_MAX - 1);
            explicit_bzero(buf, sizeof(buf));
            return -1;
        }
        codec_sha256(buf, n, cfg.token_digest);
        explicit_bzero(buf, sizeof(buf));
        cfg.have_token = 1;
    }
    return 0;
}

void
metrics_request(int route, int status, long long duration_us)
{
    struct slot *s = &slots[route >= 0 && route < METRICS_ROUTES_MAX ? route : METRICS_ROUTES_MAX];
    size_t i, b;

    for (i = 0; i < NSTATUS - 1 && statuses[i] != status; i++) {
    }
    for (b = 0; b < NBUCKET - 1 && duration_us > bounds_us[b]; b++) {
    }
    if (duration_us < 0) {
        duration_us = 0;
    }
    atomic_fetch_add_explicit(&s->status[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_us, (unsigned long long)duration_us, memory_order_relaxed);
}

void
metrics_token(int valid)
{
    atomic_fetch_add_explicit(valid ? &tokens_valid : &tokens_invalid, 1, memory_order_relaxed);
}

void
metrics_webhook(const char *outcome)
{
    atomic_ullong *c = strcmp(outcome, "delivered") == 0 ? &wh_delivered
                       : strcmp(outcome, "dead") == 0    ? &wh_dead
                                                         : &wh_retry;

    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

void
metrics_outbox_depth(long long n)
{
    atomic_store(&outbox_depth, n);
}

/* ---- Rendering ----------------------------------------------------------------------------- */

#define put jsonout_printf

/* A label value with \\, " and newline escaped (the format's rule). */
static void
put_label(struct jsonout_buf *b, const char *v)
{
    for (; *v != '\0'; v++) {
        const char *e = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;

        jsonout_put(b, e != NULL ? e : v, e != NULL ? 2 : 1);
    }
}

static void
head(struct jsonout_buf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family of one series per value of `label`, values[i] counted counts[i]. */
static void
family(struct jsonout_buf *b,
       const char *name,
       const char *help,
       const char *label,
       const char *const *values,
       const unsigned long long *counts,
       int n)
{
    int i;

    head(b, name, "counter", help);
    for (i = 0; i < n; i++) {
        put(b, "%s{%s=\"%s\"} %llu\n", name, label, values[i], counts[i]);
    }
}

/* `name{method="GET",route="/x"` (no closing brace) for slot i. */
static void
route_series(struct jsonout_buf *b, const char *name, const struct route *routes, size_t i)
{
    put(b, "%s{method=\"", name);
    put_label(b, i < METRICS_ROUTES_MAX && routes != NULL ? routes[i].method : "other");
    put(b, "\",route=\"");
    put_label(b, i < METRICS_ROUTES_MAX && routes != NULL ? routes[i].pattern : "unmatched");
    put(b, "\"");
}

static void
render_requests(struct jsonout_buf *b)
{
    const struct route *routes;
    size_t nroutes = router_routes(&routes), i, k;

    head(b, "mpact_http_requests_total", "counter",
         "Requests answered, by route pattern and status.");
    for (i = 0; i <= METRICS_ROUTES_MAX; i++) {
        for (k = 0; k < NSTATUS && (i < nroutes || i == METRICS_ROUTES_MAX); k++) {
            unsigned long long n = atomic_load_explicit(&slots[i].status[k], memory_order_relaxed);
            if (n == 0) {
                continue;
            }
            route_series(b, "mpact_http_requests_total", routes, i);
            if (k < NSTATUS - 1) {
                put(b, ",status=\"%d\"} %llu\n", statuses[k], n);
            } else {
                put(b, ",status=\"other\"} %llu\n", n);
            }
        }
    }
    head(b, "mpact_http_request_duration_seconds", "histogram",
         "Time from the request's arrival to the end of its response, by route pattern.");
    for (i = 0; i <= METRICS_ROUTES_MAX; i++) {
        unsigned long long total = 0, cum = 0, counts[NBUCKET];
        for (k = 0; k < NBUCKET; k++) {
            counts[k] = atomic_load_explicit(&slots[i].bucket[k], memory_order_relaxed);
            total += counts[k];
        }
        if (total == 0 || (i >= nroutes && i != METRICS_ROUTES_MAX)) {
            continue;
        }
        for (k = 0; k < NBUCKET; k++) {
            cum += counts[k];
            route_series(b, "mpact_http_request_duration_seconds_bucket", routes, i);
            if (k < NBUCKET - 1) {
                put(b, ",le=\"%g\"} %llu\n", bounds[k], cum);
            } else {
                put(b, ",le=\"+Inf\"} %llu\n", cum);
            }
        }
        route_series(b, "mpact_http_request_duration_seconds_sum", routes, i);
        put(b, "} %.6f\n",
            (double)atomic_load_explicit(&slots[i].sum_us, memory_order_relaxed) / 1e6);
        route_series(b, "mpact_http_request_duration_seconds_count", routes, i);
        put(b, "} %llu\n", cum);
    }
}

static void
render_db(struct jsonout_buf *b)
{
    static const char *const names[] = {"primary", "replica"};
    struct db_pool_stats st[2];
    int have[2], i;
    long long lag;
    int state = db_replica_state(&lag);

    for (i = 0; i < 2; i++) {
        have[i] = db_pool_stats(i == 0 ? DB_POOL_PRIMARY : DB_POOL_REPLICA, &st[i]) == 0;
    }
    head(b, "mpact_db_pool_connections", "gauge",
         "Database connections of each pool, borrowed (in_use) or free (idle).");
    for (i = 0; i < 2; i++) {
        if (have[i]) {
            put(b, "mpact_db_pool_connections{pool=\"%s\",state=\"in_use\"} %d\n", names[i],
                st[i].in_use);
            put(b, "mpact_db_pool_connections{pool=\"%s\",state=\"idle\"} %d\n", names[i],
                st[i].size - st[i].in_use);
        }
    }
    head(b, "mpact_db_pool_waiting", "gauge", "Requests waiting for a database connection now.");
    for (i = 0; i < 2; i++) {
        if (have[i]) {
            put(b, "mpact_db_pool_waiting{pool=\"%s\"} %d\n", names[i], st[i].waiting);
        }
    }
    head(b, "mpact_db_queries_total", "counter", "Prepared statements run, by pool.");
    for (i = 0; i < 2; i++) {
        if (have[i]) {
            put(b, "mpact_db_queries_total{pool=\"%s\"} %llu\n", names[i], st[i].statements);
        }
    }
    if (state != DB_REPLICA_NONE) {
        head(
            b, "mpact_db_replica_up", "gauge",
            "1 while replica-safe reads go to the replica; 0 while they fall back to the primary.");
        put(b, "mpact_db_replica_up %d\n", state == DB_REPLICA_IN_USE);
        if (lag >= 0) {
            head(b, "mpact_db_replica_lag_seconds", "gauge", "The replica's last measured lag.");
            put(b, "mpact_db_replica_lag_seconds %.3f\n", (double)lag / 1000.0);
        }
    }
}

/* Every series, into a malloc'd NUL-terminated string; NULL when out of memory. */
static char *
render(void)
{
    static const char *const results[] = {"valid", "invalid"}, *const hits[] = {"hit", "miss"},
                             *const outcomes[] = {"delivered", "retry", "dead"};
    struct jsonout_buf b = {NULL, 0, 0, 0};
    long long depth = atomic_load(&outbox_depth), cache_hits = 0, cache_misses = 0;
    unsigned long long n[3];

    head(&b, "mpact_build_info", "gauge", "The running version; always 1.");
    put(&b, "mpact_build_info{version=\"");
    put_label(&b, REGISTRY_VERSION);
    put(&b, "\"} 1\n");
    head(&b, "mpact_process_start_time_seconds", "gauge",
         "When the server started, in seconds since the Unix epoch.");
    put(&b, "mpact_process_start_time_seconds %.3f\n", cfg.started);
    render_requests(&b);
    render_db(&b);
    n[0] = atomic_load_explicit(&tokens_valid, memory_order_relaxed);
    n[1] = atomic_load_explicit(&tokens_invalid, memory_order_relaxed);
    family(&b, "mpact_token_verifications_total",
           "Bearer tokens checked (signature and claims), by result.", "result", results, n, 2);
    keys_cache_stats(&cache_hits, &cache_misses);
    n[0] = (unsigned long long)cache_hits;
    n[1] = (unsigned long long)cache_misses;
    family(&b, "mpact_token_signature_cache_total",
           "Token signatures found already verified (hit) or checked with ES256 (miss).", "result",
           hits, n, 2);
    head(&b, "mpact_ratelimit_refused_total", "counter",
         "Requests to the open routes refused by the per-client rate limit.");
    put(&b, "mpact_ratelimit_refused_total %lld\n", ratelimit_refused());
    if (depth >= 0) {
        head(&b, "mpact_webhook_outbox_pending", "gauge",
             "Webhook messages waiting for delivery, as last counted by the worker.");
        put(&b, "mpact_webhook_outbox_pending %lld\n", depth);
    }
    n[0] = atomic_load_explicit(&wh_delivered, memory_order_relaxed);
    n[1] = atomic_load_explicit(&wh_retry, memory_order_relaxed);
    n[2] = atomic_load_explicit(&wh_dead, memory_order_relaxed);
    family(&b, "mpact_webhook_deliveries_total",
           "Webhook delivery attempts, by outcome (retry and dead are failures).", "outcome",
           outcomes, n, 3);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* 1 when the request carries the scrape token. Compares digests in constant time, so neither
 * the token's bytes nor its length leak through timing. */
static int
token_ok(struct req *r)
{
    const char *h = http_header(r, "Authorization");
    unsigned char digest[32];

    if (!cfg.have_token || h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        return 0;
    }
    h += 7;
    while (*h == ' ') {
        h++;
    }
    codec_sha256(h, strlen(h), digest);
    return CRYPTO_memcmp(digest, cfg.token_digest, sizeof(digest)) == 0;
}

/* 1 when the connection's own peer (never a header) is an allowed address, and the request was
 * not relayed by the trusted proxy. */
static int
peer_ok(struct req *r)
{
    const char *peer = r->ri->remote_addr;

    if (config.trusted_proxy != NULL && strcmp(peer, config.trusted_proxy) == 0
        && http_header(r, "X-Forwarded-For") != NULL) {
        return 0;
    }
    return addr_in(cfg.allow, cfg.nallow, peer);
}

int
metrics_get(struct req *r)
{
    char *text;
    int status;

    if (!peer_ok(r) && !token_ok(r)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no such resource");
    }
    text = render();
    if (text == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    status = http_send(r, 200, CONTENT_TYPE, text, strlen(text));
    free(text);
    return status;
}
