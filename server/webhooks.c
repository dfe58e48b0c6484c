/* webhooks.c: /v1/webhooks. An organisation subscribes a URL to events; a change writes one
 * outbox row per matching subscription in its own transaction (webhooks_enqueue), and one thread
 * delivers the outbox with libcurl, signed as Standard Webhooks says (webhook-id msg_<outbox row>,
 * the same on every retry; webhook-timestamp; webhook-signature v1,<base64 HMAC-SHA256(secret,
 * id "." timestamp "." body)>).
 *
 * Delivery: due rows are claimed in one short transaction (FOR UPDATE SKIP LOCKED, so instances
 * share the work, with a lease on next_attempt_at so none is taken twice) and POSTed with no
 * connection held (10 s timeout, no redirects, no proxy, TLS verified); the attempt is recorded
 * in a second transaction. Not 2xx: retried after 1, 60, 360, 1440, 3600 and 7200 times the
 * retry base (5 s: about a day in all); then the message is dead and its subscription failing
 * (a later success makes it active again).
 *
 * Targets: https, a host name (no IP literal) resolving only to public addresses, unless the
 * host:port is in REGISTRY_WEBHOOK_ALLOW_HOSTS (anything, plain http too). Checked on subscribing
 * and on every attempt, which connects to the address just checked (CURLOPT_RESOLVE), so a DNS
 * answer that changes in between cannot reach an internal host.
 *
 * Expiry: the daily job (scheduler.c) enqueues what ends exactly 30 and 7 days ahead, once each
 * (webhook_expiry_sent). Who: an org_admin for their organisation, an admin for any; the secret
 * is returned once, on create. */
#include "registry/webhooks.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/audit.h"
#include "registry/auth.h"
#include "registry/clock.h"
#include "registry/codec.h"
#include "registry/config.h"
#include "registry/db.h"
#include "registry/http.h"
#include "registry/logging.h"
#include "registry/metrics.h"
#include "registry/outbox.h"
#include "registry/problem.h"
#include "registry/resource.h"
#include "registry/router.h"
#include "registry/tokens.h"
#include "registry/validate.h"

#define WH_URL_MAX       2000
#define WH_BATCH         10                                      /* outbox rows claimed at once */
#define WH_TIMEOUT_MS    10000                                   /* per delivery attempt */
#define WH_LEASE_S       ((WH_TIMEOUT_MS / 1000 + 5) * WH_BATCH) /* a claim outlives its batch */
#define WH_ERROR_MAX     200 /* characters of a transport error kept */
#define WH_DEPTH_EVERY_S 5   /* how often the worker counts the outbox for metrics */
#define WH_SECRET_PREFIX "whsec_"

/* Retry delays in units of the retry base (REGISTRY_WEBHOOK_RETRY_BASE_MS). */
static const int retry_factors[] = {1, 60, 360, 1440, 3600, 7200};

/* The events a subscription may name (employment_*: facilitators.c). */
static const char *const event_names[] = {"facilitator.status_changed",
                                          "facilitator.accreditation_expiring",
                                          "licence.status_changed",
                                          "licence.expiring",
                                          "programme.changed",
                                          "programme.at_risk",
                                          "programme.delivery_recorded",
                                          "facilitator.employment_requested",
                                          "facilitator.employment_approved",
                                          "facilitator.employment_declined",
                                          "enquiry.received",
                                          NULL};

/* The envelope's timestamp, RFC 3339 UTC with milliseconds. */
#define WH_NOW "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* Writes one outbox row per active subscription of organisation s.org to event $1, with s.data
 * as the envelope's data. */
#define WH_OUTBOX_FROM_S                                                                           \
    "INSERT INTO webhook_outbox (subscription_id, event, body)"                                    \
    " SELECT w.id, $1::text, jsonb_build_object('type', $1::text, 'timestamp', " WH_NOW ","        \
    "  'data', s.data)::text FROM s JOIN webhook_subscription w ON w.organisation_id = s.org"      \
    " WHERE w.status = 'active' AND $1::text = ANY (w.events)"

#define WH_FAC_STATUS                                                                              \
    "CASE WHEN f.status = 'accredited' AND f.accredited_until < registry_today() THEN 'lapsed'"    \
    " ELSE f.status END"

#define WH_COLUMNS                                                                                 \
    "w.id, w.organisation_id, w.url, to_jsonb(w.events) AS events, w.status, w.created_at,"        \
    " w.updated_at, w.created_at::text AS _created_at "

const struct db_stmt webhooks_stmts[] = {
    {"wh_get", "SELECT " WH_COLUMNS "FROM webhook_subscription w WHERE w.id = $1::uuid"},
    {"wh_get_locked",
     "SELECT " WH_COLUMNS "FROM webhook_subscription w WHERE w.id = $1::uuid FOR UPDATE"},
    {"wh_org", "SELECT id, archived_at FROM organisation WHERE id = $1::uuid FOR SHARE"},
    /* $1 organisation, $2 url, $3 events (JSON array), $4 secret, $5 the acting user. */
    {"wh_insert",
     "INSERT INTO webhook_subscription (organisation_id, url, events, secret, created_by) SELECT "
     "$1::uuid, $2::text, ARRAY(SELECT jsonb_array_elements_text($3::jsonb)), $4::text, $5::uuid "
     "RETURNING id"},
    /* $1 organisation (NULL: all), $2/$3 cursor (created_at, id), $4 limit. */
    {"wh_list",
     "SELECT " WH_COLUMNS "FROM webhook_subscription w"
     " WHERE ($1::uuid IS NULL OR w.organisation_id = $1::uuid) AND ($2::uuid IS NULL OR "
     "w.organisation_id = $2::uuid) AND ($3::timestamptz IS NULL OR (w.created_at, w.id) > "
     "($3::timestamptz, $4::uuid)) ORDER BY w.created_at, w.id LIMIT $5::int"},
    {"wh_delete", "DELETE FROM webhook_subscription WHERE id = $1::uuid"},
    /* $1 subscription, $2/$3 cursor (attempted_at, id), $4 limit. Newest first. */
    {"whd_list",
     "SELECT d.id, 'msg_' || replace(d.outbox_id::text, '-', '') AS webhook_id, o.event, "
     "d.attempt, d.attempted_at, d.status_code, d.error, d.duration_ms, d.outcome, "
     "d.attempted_at::text AS _attempted_at FROM webhook_delivery d JOIN webhook_outbox o ON o.id "
     "= d.outbox_id WHERE d.subscription_id = $1::uuid AND ($2::timestamptz IS NULL OR "
     "(d.attempted_at, d.id) < ($2::timestamptz, $3::uuid)) ORDER BY d.attempted_at DESC, d.id "
     "DESC LIMIT $4::int"},

    /* Enqueue: $1 event, $2 subject, $3 the subject's status before the change (NULL: none). */
    {"wh_enq_facilitator",
     "WITH s AS (SELECT e.organisation_id AS org, jsonb_build_object( 'registration_number', "
     "f.registration_number, 'status', x.st, 'accredited_until', f.accredited_until, "
     "'previous_status', $3::text, 'reason', f.reason) AS data FROM facilitator f JOIN "
     "facilitator_employment e "
     "ON e.facilitator_id = f.id AND e.ended_on IS NULL, LATERAL (SELECT " WH_FAC_STATUS " AS st) x"
     " WHERE f.id = $2::uuid AND ($3::text IS NULL OR x.st <> $3::text)) " WH_OUTBOX_FROM_S},
    {"wh_enq_licence",
     "WITH s AS (SELECT l.organisation_id AS org, jsonb_build_object( 'id', l.id, 'number', "
     "l.number, 'status', x.st, 'valid_from', l.valid_from, 'valid_until', l.valid_until, "
     "'previous_status', $3::text) AS data FROM licence l, LATERAL (SELECT "
     "licence_effective_status(l.status, l.valid_until, registry_today()) AS st) x WHERE l.id = "
     "$2::uuid AND ($3::text IS NULL OR x.st <> $3::text)) " WH_OUTBOX_FROM_S},
    {"wh_enq_programme",
     "WITH s AS (SELECT p.organisation_id AS org, jsonb_build_object( 'id', p.id, 'status', "
     "p.status, 'starts_on', p.starts_on, 'ends_on', p.ends_on, 'location_id', p.location_id) AS "
     "data FROM programme_run p WHERE p.id = $2::uuid) " WH_OUTBOX_FROM_S},
    /* programme.delivery_recorded: the run's delivery record (delivery.c), its figures only. */
    {"wh_enq_delivery",
     "WITH s AS (SELECT p.organisation_id AS org, jsonb_build_object('id', p.id, 'status',"
     " p.status) || (SELECT jsonb_object_agg(key, value) FROM jsonb_each(to_jsonb(p)) WHERE key IN"
     " ('families_referred', 'families_assessed', 'families_started', 'families_completed',"
     "  'sessions_planned', 'sessions_delivered', 'review_held', 'reunion_held', 'adults',"
     "  'children', 'referrals_by_source', 'onward_referrals', 'adults_by_relationship',"
     "  'children_by_age_band', 'feedback', 'delivery_cost_gbp')) AS data"
     " FROM programme_run p WHERE p.id = $2::uuid) " WH_OUTBOX_FROM_S},
    /* facilitator.employment_*: to the requesting organisation. */
    {"wh_enq_employment",
     "WITH s AS (SELECT q.organisation_id AS org, jsonb_build_object( 'id', q.id, "
     "'facilitator_id', q.facilitator_id, 'registration_number', f.registration_number, "
     "'organisation_id', q.organisation_id, 'starts_on', q.starts_on, 'status', q.status, "
     "'reason', q.reason) AS data FROM facilitator_employment_request q JOIN facilitator f ON f.id "
     "= q.facilitator_id WHERE q.id = $2::uuid) " WH_OUTBOX_FROM_S},

    /* The worker. $1 lease in seconds, $2 batch size. */
    {"wh_claim",
     "UPDATE webhook_outbox o SET next_attempt_at = now() + make_interval(secs => $1::int) FROM "
     "webhook_subscription w WHERE o.id IN (SELECT id FROM webhook_outbox WHERE state = 'pending' "
     "AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $2::int FOR UPDATE SKIP LOCKED) "
     "AND w.id = o.subscription_id RETURNING o.id, 'msg_' || replace(o.id::text, '-', '') AS "
     "msg_id, o.body, o.attempts + 1 AS attempts, w.id AS subscription_id, w.url, w.secret"},
    /* $1 outbox row, $2 attempt, $3 status code, $4 error, $5 duration ms, $6 outcome
     * (delivered, retry, dead), $7 delay before the next attempt in ms. */
    {"wh_record",
     "WITH o AS (UPDATE webhook_outbox SET state = CASE $6::text WHEN 'retry' THEN 'pending' ELSE "
     "$6::text END, attempts = $2::int, next_attempt_at = now() + make_interval(secs => $7::double "
     "precision / 1000) WHERE id = $1::uuid RETURNING id, subscription_id), d AS (INSERT INTO "
     "webhook_delivery (outbox_id, subscription_id, attempt, status_code, error, duration_ms, "
     "outcome) SELECT o.id, o.subscription_id, $2::int, $3::int, $4::text, $5::int, $6::text FROM "
     "o) UPDATE webhook_subscription w SET status = CASE $6::text WHEN 'dead' THEN 'failing' ELSE "
     "'active' END, updated_at = now() FROM o WHERE w.id = o.subscription_id AND $6::text IN "
     "('dead', 'delivered') AND w.status <> CASE $6::text WHEN 'dead' THEN 'failing' ELSE 'active' "
     "END"},

    {"wh_outbox_depth", "SELECT count(*) AS n FROM webhook_outbox WHERE state = 'pending'"},
    /* The expiry job's enqueueing (webhooks_enqueue_expiring). */
    /* $1 'facilitator.accreditation_expiring'. */
    {"wh_expiry_facilitators",
     "WITH c AS (SELECT f.id, f.registration_number, f.accredited_until, d.days, e.organisation_id "
     "AS org FROM facilitator f JOIN facilitator_employment e ON e.facilitator_id = f.id AND "
     "e.ended_on IS NULL JOIN (VALUES (30), (7)) d (days) ON f.accredited_until = registry_today() "
     "+ d.days WHERE f.status = 'accredited'), k AS (INSERT INTO webhook_expiry_sent (kind, "
     "subject_id, days_ahead, ends_on) SELECT 'facilitator', c.id, c.days, c.accredited_until FROM "
     "c ON CONFLICT DO NOTHING RETURNING subject_id, days_ahead), s AS (SELECT c.org, "
     "jsonb_build_object('registration_number', c.registration_number, 'status', 'accredited', "
     "'accredited_until', c.accredited_until, 'days_ahead', c.days) AS data FROM c JOIN k ON "
     "k.subject_id = c.id AND k.days_ahead = c.days) " WH_OUTBOX_FROM_S},
    /* $1 'licence.expiring'. */
    {"wh_expiry_licences",
     "WITH c AS (SELECT l.id, l.number, l.status, l.valid_until, d.days, l.organisation_id AS org "
     "FROM licence l JOIN (VALUES (30), (7)) d (days) ON l.valid_until = registry_today() + d.days "
     "WHERE l.status IN ('active', 'suspended')), k AS (INSERT INTO webhook_expiry_sent (kind, "
     "subject_id, days_ahead, ends_on) SELECT 'licence', c.id, c.days, c.valid_until FROM c ON "
     "CONFLICT DO NOTHING RETURNING subject_id, days_ahead), s AS (SELECT c.org, "
     "jsonb_build_object('id', c.id, 'number', c.number, 'status', c.status, 'valid_until', "
     "c.valid_until, 'days_ahead', c.days) AS data FROM c JOIN k ON k.subject_id = c.id AND "
     "k.days_ahead = c.days) " WH_OUTBOX_FROM_S},
    {NULL, NULL},
};

/* ---- Signing -------------------------------------------------------------------------------- */

int
webhooks_sign(const char *secret,
              const char *id,
              const char *timestamp,
              const char *body,
              size_t bodylen,
              char *out,
              size_t outlen)
{
    const char *b64;
    unsigned char key[128], mac[EVP_MAX_MD_SIZE];
    char digest[] = "SHA256";
    size_t b64len, maclen = 0;
    int keylen, pad = 0, rc = -1;
    EVP_MAC *mac_alg = NULL;
    EVP_MAC_CTX *ctx = NULL;
    OSSL_PARAM params[2];

    if (strncmp(secret, WH_SECRET_PREFIX, strlen(WH_SECRET_PREFIX)) != 0) {
        return -1;
    }
    b64 = secret + strlen(WH_SECRET_PREFIX);
    b64len = strlen(b64);
    if (b64len == 0 || b64len % 4 != 0 || b64len / 4 * 3 > sizeof(key)) {
        return -1;
    }
    pad = (b64[b64len - 1] == '=') + (b64[b64len - 2] == '=');
    keylen = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)b64len);
    if (keylen < 0 || outlen < 4 + 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1) {
        return -1;
    }
    keylen -= pad;
    mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    ctx = mac_alg != NULL ? EVP_MAC_CTX_new(mac_alg) : NULL;
    params[0] = OSSL_PARAM_construct_utf8_string("digest", digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (ctx == NULL || EVP_MAC_init(ctx, key, (size_t)keylen, params) != 1
        || EVP_MAC_update(ctx, (const unsigned char *)id, strlen(id)) != 1
        || EVP_MAC_update(ctx, (const unsigned char *)".", 1) != 1
        || EVP_MAC_update(ctx, (const unsigned char *)timestamp, strlen(timestamp)) != 1
        || EVP_MAC_update(ctx, (const unsigned char *)".", 1) != 1
        || EVP_MAC_update(ctx, (const unsigned char *)body, bodylen) != 1
        || EVP_MAC_final(ctx, mac, &maclen, sizeof(mac)) != 1) {
        goto out;
    }
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)maclen);
    rc = 0;
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac_alg);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

/* A new "whsec_" secret into `out` (at least 64 bytes). Returns 0, or -1. */
static int
new_secret(char *out, size_t outlen)
{
    unsigned char raw[WEBHOOKS_SECRET_BYTES];
    size_t plen = strlen(WH_SECRET_PREFIX);

    if (outlen < plen + 4 * ((sizeof(raw) + 2) / 3) + 1 || codec_random(raw, sizeof(raw)) != 0) {
        return -1;
    }
    memcpy(out, WH_SECRET_PREFIX, plen);
    EVP_EncodeBlock((unsigned char *)out + plen, raw, (int)sizeof(raw));
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

/* ---- Targets -------------------------------------------------------------------------------- */

int
webhooks_host_allowed(const char *allow, const char *host, long port)
{
    char want[300];
    const char *p = allow;
    size_t wlen;

    if (allow == NULL) {
        return 0;
    }
    wlen = (size_t)snprintf(want, sizeof(want), "%s:%ld", host, port);
    if (wlen >= sizeof(want)) {
        return 0;
    }
    while (*p != '\0') {
        size_t n;

        p += strspn(p, " \t,");
        n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
            n--;
        }
        if (n == wlen && strncasecmp(p, want, n) == 0) {
            return 1;
        }
        p += strcspn(p, ",");
    }
    return 0;
}

/* 1 when the IPv4 address (host order) is public. */
static int
v4_public(unsigned long a)
{
    static const struct {
        unsigned long net;
        int bits;
    } blocked[] = {
        {0x00000000UL, 8},  {0x0A000000UL, 8},  {0x64400000UL, 10}, {0x7F000000UL, 8},
        {0xA9FE0000UL, 16}, {0xAC100000UL, 12}, {0xC0000000UL, 24}, {0xC0000200UL, 24},
        {0xC0586300UL, 24}, {0xC0A80000UL, 16}, {0xC6120000UL, 15}, {0xC6336400UL, 24},
        {0xCB007100UL, 24}, {0xE0000000UL, 4},  {0xF0000000UL, 4},
    };
    size_t i;

    for (i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++) {
        unsigned long mask = 0xFFFFFFFFUL << (32 - blocked[i].bits) & 0xFFFFFFFFUL;
        if ((a & mask) == blocked[i].net) {
            return 0;
        }
    }
    return 1;
}

int
webhooks_addr_public(const char *addr)
{
    struct in_addr v4;
    struct in6_addr v6;
    const unsigned char *b;

    if (inet_pton(AF_INET, addr, &v4) == 1) {
        return v4_public(ntohl(v4.s_addr));
    }
    if (inet_pton(AF_INET6, addr, &v6) != 1) {
        return 0;
    }
    b = v6.s6_addr;
    /* Only global unicast (2000::/3), less documentation (2001:db8::/32), Teredo (2001::/32),
     * 6to4 (2002::/16) and the other special blocks of 2001::/23; IPv4-mapped and NAT64
     * addresses are refused rather than unwrapped. */
    if ((b[0] & 0xE0) != 0x20) {
        return 0;
    }
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8) {
        return 0;
    }
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && (b[3] & 0xFE) == 0x00) {
        return 0;
    }
    if (b[0] == 0x20 && b[1] == 0x02) {
        return 0;
    }
    return 1;
}

/* A webhook target, checked. */
struct target {
    char host[256];
    long port;
    int allowed;       /* named in REGISTRY_WEBHOOK_ALLOW_HOSTS: not checked, not pinned */
    char addr[64];     /* the checked address to connect to, when not `allowed` */
    char resolve[340]; /* "host:port:addr" for CURLOPT_RESOLVE */
};

/* Parses and checks `url` (resolving its host) against the rules in the file comment. Returns
 * 0, or -1 with a reason a client can act on in `why`. */
static int
target_check(const char *url, const char *allow, struct target *t, char *why, size_t whylen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
    struct addrinfo hints, *res = NULL, *ai;
    struct in6_addr probe;
    int rc = -1, gai;

    memset(t, 0, sizeof(*t));
    if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        snprintf(why, whylen, "not a URL");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        snprintf(why, whylen, "must not carry a user name or password");
        goto out;
    }
    if (strlen(host) >= sizeof(t->host)) {
        snprintf(why, whylen, "host name too long");
        goto out;
    }
    snprintf(t->host, sizeof(t->host), "%s", host);
    t->port = strtol(port, NULL, 10);
    t->allowed = webhooks_host_allowed(allow, t->host, t->port);
    if (strcmp(scheme, "https") != 0 && !(t->allowed && strcmp(scheme, "http") == 0)) {
        snprintf(why, whylen, "must be an https:// URL");
        goto out;
    }
    if (t->allowed) {
        rc = 0;
        goto out;
    }
    /* An IP literal (IPv6 comes bracketed from curl) is refused outright. */
    if (host[0] == '[' || inet_pton(AF_INET, host, &probe) == 1
        || inet_pton(AF_INET6, host, &probe) == 1 || strspn(host, "0123456789.") == strlen(host)) {
        snprintf(why, whylen, "must name a host, not an IP address");
        goto out;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((gai = getaddrinfo(host, NULL, &hints, &res)) != 0) {
        snprintf(why, whylen, "host %s does not resolve", host);
        goto out;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        char a[64];
        const void *src = ai->ai_family == AF_INET
                              ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                              : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            || inet_ntop(ai->ai_family, src, a, sizeof(a)) == NULL || !webhooks_addr_public(a)) {
            snprintf(why, whylen, "host %s resolves to a private or reserved address", host);
            goto out;
        }
        if (t->addr[0] == '\0') {
            snprintf(t->addr, sizeof(t->addr), "%s", a);
        }
    }
    if (t->addr[0] == '\0') {
        snprintf(why, whylen, "host %s does not resolve", host);
        goto out;
    }
    snprintf(t->resolve, sizeof(t->resolve),
             strchr(t->addr, ':') != NULL ? "%s:%ld:[%s]" : "%s:%ld:%s", t->host, t->port, t->addr);
    rc = 0;
out:
    if (res != NULL) {
        freeaddrinfo(res);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_url_cleanup(u);
    return rc;
}

/* ---- Enqueue -------------------------------------------------------------------------------- */

int
webhooks_enqueue(struct req *r, const char *event, const char *subject_id, json_t *before)
{
    /* By event (a prefix for employment_*): the statement, and whether it takes the status
     * before ($3). */
    static const struct {
        const char *event, *stmt;
        int nparams;
    } enqueues[] = {{"facilitator.status_changed", "wh_enq_facilitator", 3},
                    {"licence.status_changed", "wh_enq_licence", 3},
                    {"programme.changed", "wh_enq_programme", 2},
                    {"programme.delivery_recorded", "wh_enq_delivery", 2},
                    {"facilitator.employment_", "wh_enq_employment", 2}};
    const char *params[3] = {event, subject_id,
                             json_string_value(json_object_get(before, "status"))};
    PGresult *res;
    size_t i;
    int status = 0;

    for (i = 0; i < sizeof(enqueues) / sizeof(enqueues[0]); i++) {
        if (strncmp(event, enqueues[i].event, strlen(enqueues[i].event)) == 0) {
            break;
        }
    }
    if (i == sizeof(enqueues) / sizeof(enqueues[0])) {
        logging_event("error", NULL, "webhooks: no enqueue for event %s", event);
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    res = db_exec(r->db, enqueues[i].stmt, enqueues[i].nparams, params);
    if (!db_ok(res)) {
        status = problem_from_db(r, res);
    }
    PQclear(res);
    return status;
}

/* ---- Routes --------------------------------------------------------------------------------- */

static const struct field wh_fields[] = {
    {"url", FIELD_URL, FIELD_REQUIRED, 0, 0, NULL},
    {"events", FIELD_TEXT_LIST, FIELD_REQUIRED, 1, 10, NULL},
    {"organisation_id", FIELD_UUID, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static int
role_or_problem(struct req *r)
{
    if (auth_is_admin(&r->principal) || resource_org_admin(&r->principal)) {
        return 0;
    }
    return problem_send(r, PROBLEM_FORBIDDEN, "only an organisation admin manages its webhooks");
}

int
webhooks_create(struct req *r)
{
    json_t *in = NULL, *errors = json_array(), *after = NULL;
    PGresult *res = NULL;
    const char *url, *org, *params[5];
    char *events = NULL, id[40], secret[80], why[160], location[80];
    struct target t;
    int status;

    if ((status = role_or_problem(r)) != 0
        || (status = resource_body_or_problem(r, wh_fields, 1, &in)) != 0) {
        goto out;
    }
    resource_known_unique(in, "events", event_names, errors);
    url = json_string_value(json_object_get(in, "url"));
    if (strlen(url) > WH_URL_MAX) {
        problem_add_error(errors, "url", "at most 2000 characters");
    }
    org = json_string_value(json_object_get(in, "organisation_id"));
    if (org == NULL && !auth_is_admin(&r->principal)) {
        org = r->principal.org;
    }
    if (org == NULL) {
        problem_add_error(errors, "organisation_id", "is required");
    }
    if ((status = problem_send_errors_if_any(r, errors)) != 0) {
        goto out;
    }
    if (!auth_in_org(&r->principal, org)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no organisation with id %s", org);
        goto out;
    }
    /* Resolving the host may take a while: no database connection is held meanwhile. */
    router_db_pause(r);
    if (target_check(url, config.webhook_allow_hosts, &t, why, sizeof(why)) != 0) {
        status = problem_send_field(r, "url", why);
        goto out;
    }
    if ((status = router_db_resume_or_problem(r)) != 0) {
        goto out;
    }
    if (new_secret(secret, sizeof(secret)) != 0) {
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
        goto out;
    }
    params[0] = org;
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = http_exec_or_problem(r, "wh_org", 1, params, &res)) != 0) {
        goto out;
    }
    if (PQntuples(res) != 1 || db_value(res, 0, "archived_at") != NULL) {
        status = problem_send_field(r, "organisation_id", "no such organisation");
        goto out;
    }
    PQclear(res);
    res = NULL;
    events = json_dumps(json_object_get(in, "events"), JSON_COMPACT);
    params[1] = url;
    params[2] = events;
    params[3] = secret;
    params[4] = r->principal.sub;
    if ((status = http_insert_or_problem(r, "wh_insert", 5, params, id, sizeof(id))) != 0
        || (status = http_row_or_problem(r, "wh_get", id, "webhook", NULL, &res)) != 0) {
        goto out;
    }
    after = db_row_to_json(res, 0);
    if ((status = audit_commit_or_problem(r, "create", "webhook", id, NULL, after)) != 0) {
        goto out;
    }
    /* The secret goes out this once, and never into the audit row. */
    json_object_set_new(after, "secret", json_string(secret));
    snprintf(location, sizeof(location), "/v1/webhooks/%s", id);
    http_add_header(r, "Location", location);
    status = http_send_json(r, 201, after);
out:
    OPENSSL_cleanse(secret, sizeof(secret));
    free(events);
    PQclear(res);
    json_decref(after);
    json_decref(errors);
    json_decref(in);
    return status;
}

/* A licensee lists its own organisation's subscriptions: naming another is a 404. */
static int
webhooks_listing(struct req *r, const struct query *q, const char **params)
{
    const char *org = query_get(q, "organisation_id");

    (void)params;
    if (org != NULL && !auth_in_org(&r->principal, org)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no organisation with id %s", org);
    }
    return 0;
}

static const struct filter wh_filters[] = {
    {"organisation_id", FILTER_UUID, NULL},
    {NULL, 0, NULL},
};

const struct resource webhook_resource = {
    .name = "webhook",
    .stmt = "wh",
    .org_scoped = 1,
    .filters = wh_filters,
    .sort_key = "_created_at",
    .cursor_ok = http_cursor_timestamptz,
    .visible = resource_in_org,
    .rules = {.listing = webhooks_listing, .permitted = role_or_problem},
};

/* A subscription's deliveries are listed when the subscription may be seen. */
static int
deliveries_listing(struct req *r, const struct query *q, const char **params)
{
    PGresult *res = NULL;
    int status = http_row_or_problem(r, "wh_get", r->params[0], "webhook", resource_in_org, &res);

    (void)q;
    (void)params;
    PQclear(res);
    return status;
}

const struct resource delivery_resource = {
    .name = "webhook delivery",
    .parent = "webhook",
    .stmt = "whd",
    .sort_key = "_attempted_at",
    .cursor_ok = http_cursor_timestamptz,
    .rules = {.listing = deliveries_listing, .permitted = role_or_problem}};

/* ---- The worker ----------------------------------------------------------------------------- */

static struct {
    atomic_int stop_now; /* the worker's stop, for libcurl's progress callback */
    char *allow;
    int retry_base_ms, retries;
} worker;

static struct outbox box;

void
webhooks_kick(void)
{
    outbox_kick(&box);
}

static size_t
discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

/* The outcome of one attempt. */
struct attempt {
    long code;                /* HTTP status, 0 when none came */
    char error[WH_ERROR_MAX]; /* transport or target error, "" when a response came */
    long long duration_ms;
    int aborted; /* cut short because the service is stopping: not an attempt to record */
};

/* libcurl's progress callback: ends a transfer at once when the service stops. */
static int
abort_on_stop(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)p;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load(&worker.stop_now) ? 1 : 0;
}

/* Sets `curl` up to POST `body` to `url` (of `protocols`) as a signed webhook message: its
 * headers (*headers and *resolve, the caller frees them), the address target_check pinned, no
 * proxy, no redirect, the timeouts, the certificate checked (against REGISTRY_WEBHOOK_CA_FILE's
 * authorities when set). */
static void
post_setup(CURL *curl,
           const char *url,
           const char *protocols,
           const char *msg_id,
           const char *ts,
           const char *sig,
           const struct target *t,
           const char *body,
           struct curl_slist **headers,
           struct curl_slist **resolve)
{
    char line[160];

    *headers = curl_slist_append(*headers, "Content-Type: application/json");
    snprintf(line, sizeof(line), "webhook-id: %s", msg_id);
    *headers = curl_slist_append(*headers, line);
    snprintf(line, sizeof(line), "webhook-timestamp: %s", ts);
    *headers = curl_slist_append(*headers, line);
    snprintf(line, sizeof(line), "webhook-signature: %s", sig);
    *headers = curl_slist_append(*headers, line);
    *headers = curl_slist_append(*headers, "Expect:");
    *headers = curl_slist_append(*headers, "User-Agent: mpact-registry-webhooks/" REGISTRY_VERSION);
    if (t->resolve[0] != '\0') {
        *resolve = curl_slist_append(NULL, t->resolve);
        curl_easy_setopt(curl, CURLOPT_RESOLVE, *resolve);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, protocols);
    curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* a proxy would bypass the pinned address */
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)WH_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)WH_TIMEOUT_MS / 2);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (config.webhook_ca_file != NULL) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, config.webhook_ca_file);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, *headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
}

/* POSTs `m` once. Holds no database connection. */
static void
deliver(const struct outbox_row *m, struct attempt *a)
{
    const char *url = outbox_col(m, "url"), *secret = outbox_col(m, "secret");
    const char *msg_id = outbox_col(m, "msg_id"), *body = outbox_col(m, "body");
    struct target t;
    struct curl_slist *headers = NULL, *resolve = NULL;
    char sig[128], ts[24], why[160];
    CURL *curl = NULL;
    CURLcode cc;
    long long started = clock_mono_ms();

    memset(a, 0, sizeof(*a));
    if (target_check(url, worker.allow, &t, why, sizeof(why)) != 0) {
        snprintf(a->error, sizeof(a->error), "target refused: %s", why);
        goto out;
    }
    snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
    if (webhooks_sign(secret, msg_id, ts, body, strlen(body), sig, sizeof(sig)) != 0) {
        snprintf(a->error, sizeof(a->error), "the subscription's secret is malformed");
        goto out;
    }
    curl = curl_easy_init();
    if (curl == NULL) {
        snprintf(a->error, sizeof(a->error), "out of memory");
        goto out;
    }
    post_setup(curl, url, "http,https", msg_id, ts, sig, &t, body, &headers, &resolve);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
    cc = curl_easy_perform(curl);
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        a->aborted = 1;
    } else if (cc != CURLE_OK) {
        snprintf(a->error, sizeof(a->error), "%s", curl_easy_strerror(cc));
    } else {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->code);
    }
out:
    a->duration_ms = clock_mono_ms() - started;
    curl_slist_free_all(resolve);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
}

int
webhooks_post_once(const char *url,
                   const char *secret,
                   const char *msg_id,
                   const char *body,
                   long *code,
                   char *err,
                   size_t errlen)
{
    struct target t;
    struct curl_slist *headers = NULL, *resolve = NULL;
    char sig[128], ts[24], why[160];
    CURL *curl = NULL;
    CURLcode cc;
    int rc = -1;

    *code = 0;
    err[0] = '\0';
    if (strncmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "target refused: must be an https:// URL");
        return -1;
    }
    if (target_check(url, config.webhook_allow_hosts, &t, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "target refused: %s", why);
        return -1;
    }
    snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
    if (webhooks_sign(secret, msg_id, ts, body, strlen(body), sig, sizeof(sig)) != 0
        || (curl = curl_easy_init()) == NULL) {
        snprintf(err, errlen, "the subscription's secret is malformed, or out of memory");
        goto out;
    }
    post_setup(curl, url, "https", msg_id, ts, sig, &t, body, &headers, &resolve);
    cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, code);
    if (*code < 200 || *code >= 300) {
        snprintf(err, errlen, "HTTP %ld", *code);
        goto out;
    }
    rc = 0;
out:
    curl_slist_free_all(resolve);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return rc;
}

/* Records attempt `a` of `m`. */
static void
record(const struct outbox_row *m, const struct attempt *a)
{
    const char *msg_id = outbox_col(m, "msg_id");
    const char *params[7], *outcome;
    char attempt[16], code[16], dur[24], delay[24];
    long long wait = 0;

    if (a->code >= 200 && a->code < 300) {
        outcome = "delivered";
    } else if (m->attempts > worker.retries) {
        outcome = "dead";
    } else {
        outcome = "retry";
        wait = outbox_backoff_ms(retry_factors, sizeof(retry_factors) / sizeof(retry_factors[0]),
                                 worker.retry_base_ms, m->attempts);
    }
    snprintf(attempt, sizeof(attempt), "%d", m->attempts);
    snprintf(code, sizeof(code), "%ld", a->code);
    snprintf(dur, sizeof(dur), "%lld", a->duration_ms);
    snprintf(delay, sizeof(delay), "%lld", wait);
    params[0] = m->id;
    params[1] = attempt;
    params[2] = a->code != 0 ? code : NULL;
    params[3] = a->error[0] != '\0' ? a->error : NULL;
    params[4] = dur;
    params[5] = outcome;
    params[6] = delay;
    metrics_webhook(outcome);
    if (outbox_settle(&box, msg_id, "wh_record", 7, params) != 0) {
        return;
    }
    if (strcmp(outcome, "delivered") != 0) {
        logging_event("warn", NULL, "webhooks: %s attempt %d to subscription %s: %s%s", msg_id,
                      m->attempts, outbox_col(m, "subscription_id"), a->code != 0 ? code : a->error,
                      strcmp(outcome, "dead") == 0 ? " (dead; subscription failing)" : "");
    }
}

/* Delivers a claimed message once and records the attempt, unless the service stopped it. */
static void
send_one(const struct outbox_row *row, void *ctx)
{
    struct attempt a;

    (void)ctx;
    deliver(row, &a);
    if (!a.aborted) {
        record(row, &a);
    }
}

int
webhooks_enqueue_expiring(struct db_conn *c, PGresult **out)
{
    static const char *const fac[] = {"facilitator.accreditation_expiring"};
    static const char *const lic[] = {"licence.expiring"};
    PGresult *res = db_exec(c, "wh_expiry_facilitators", 1, fac);

    if (db_ok(res)) {
        PQclear(res);
        res = db_exec(c, "wh_expiry_licences", 1, lic);
    }
    if (!db_ok(res)) {
        *out = res;
        return -1;
    }
    PQclear(res);
    return 0;
}

/* Counts the pending outbox for metrics. */
static void
count_outbox(void)
{
    struct db_conn *c = db_acquire();
    PGresult *res;

    if (c == NULL) {
        return;
    }
    res = db_exec(c, "wh_outbox_depth", 0, NULL);
    if (db_ok(res) && PQntuples(res) == 1) {
        metrics_outbox_depth(strtoll(PQgetvalue(res, 0, 0), NULL, 10));
    }
    PQclear(res);
    db_release(c);
}

/* Counts the pending outbox for metrics, every WH_DEPTH_EVERY_S (the worker's tick). */
static void
tick(void)
{
    static long long next_depth = 0;
    long long t = clock_mono_ms();

    if (t >= next_depth) {
        count_outbox();
        next_depth = t + WH_DEPTH_EVERY_S * 1000LL;
    }
}

static struct outbox box = {OUTBOX_INIT("webhooks", "wh_claim", WH_BATCH, WH_LEASE_S, send_one),
                            .tick = tick};

int
webhooks_start(const struct config *c)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        logging_event("error", NULL, "mpact-registry: webhooks: libcurl does not initialise");
        return -1;
    }
    worker.allow = c->webhook_allow_hosts != NULL ? strdup(c->webhook_allow_hosts) : NULL;
    worker.retry_base_ms = c->webhook_retry_base_ms;
    worker.retries = c->webhook_retries;
    box.poll_ms = c->webhook_poll_ms;
    atomic_store(&worker.stop_now, 0);
    if (outbox_start(&box) != 0) {
        free(worker.allow);
        worker.allow = NULL;
        curl_global_cleanup();
        return -1;
    }
    return 0;
}

void
webhooks_stop(void)
{
    if (!outbox_running(&box)) {
        return;
    }
    atomic_store(&worker.stop_now, 1);
    outbox_stop(&box);
    free(worker.allow);
    worker.allow = NULL;
    curl_global_cleanup();
}
