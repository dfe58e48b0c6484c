/* auth.c: bearer tokens on requests. The signature is checked by keys.c on keys parsed once;
 * the claims are checked here, because libjwt 1.10 checks none of them (LIBRARIES.md 14).
 *
 * Token epochs: every access token carries its principal's epoch (claim "ep") from when it was
 * issued. Disabling a user, revoking an API client, or a licence that stops being active moves
 * the principal's epoch on in the database (triggers of migration 0012), and a token with an
 * older epoch is refused. Each instance keeps the epochs in memory (one hash table; a lookup per
 * request under a read lock, after the verified-token cache), read at start, after every change
 * this instance commits that can end tokens (audit.c), and every AUTH_EPOCH_POLL_MS by a thread
 * of its own, so a change made through another instance is seen within that. Each read fetches
 * only the rows changed since the last one: those whose transaction id is at or above the
 * oldest transaction still running when the last read was taken. */
#include "registry/auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/clock.h"
#include "registry/codec.h"
#include "registry/config.h"
#include "registry/db.h"
#include "registry/keys.h"
#include "registry/logging.h"
#include "registry/metrics.h"
#include "registry/validate.h"

/* ---- Token epochs -------------------------------------------------------------------------- */

struct epoch_slot {
    char id[40]; /* the principal's UUID as text; "" when free */
    long long epoch;
};

static struct {
    pthread_rwlock_t lock;    /* guards slots, cap, used */
    struct epoch_slot *slots; /* open addressing, linear probing, never shrinks */
    size_t cap, used;
    pthread_mutex_t read_mu; /* one read of the database at a time, guards since */
    long long since;         /* every change by a transaction below this id has been read */
    atomic_int nonempty;     /* 0 while no principal has an epoch: the lookup is skipped */
    struct clock_thread t;   /* the polling thread */
} epochs = {
    .lock = PTHREAD_RWLOCK_INITIALIZER,
    .read_mu = PTHREAD_MUTEX_INITIALIZER,
    .t = CLOCK_THREAD_INIT,
};

/* The slot of `id` in `slots` (capacity `cap`, a power of two): its own, or the free one where
 * it would go. */
static struct epoch_slot *
epoch_find(struct epoch_slot *slots, size_t cap, const char *id)
{
    size_t i = (size_t)codec_fnv1a(id) & (cap - 1);

    while (slots[i].id[0] != '\0' && strcmp(slots[i].id, id) != 0) {
        i = (i + 1) & (cap - 1);
    }
    return &slots[i];
}

/* Raises the epoch of `id` to `epoch` (epochs never go back). Call with the write lock held.
 * Returns 0, or -1 when out of memory. */
static int
epoch_set(const char *id, long long epoch)
{
    struct epoch_slot *s;

    if (strlen(id) >= sizeof(s->id)) {
        return 0; /* not a UUID: no token can name it */
    }
    if ((epochs.used + 1) * 2 > epochs.cap) {
        size_t cap = epochs.cap == 0 ? 1024 : epochs.cap * 2, i;
        struct epoch_slot *grown = calloc(cap, sizeof(*grown));

        if (grown == NULL) {
            return -1;
        }
        for (i = 0; i < epochs.cap; i++) {
            if (epochs.slots[i].id[0] != '\0') {
                *epoch_find(grown, cap, epochs.slots[i].id) = epochs.slots[i];
            }
        }
        free(epochs.slots);
        epochs.slots = grown;
        epochs.cap = cap;
    }
    s = epoch_find(epochs.slots, epochs.cap, id);
    if (s->id[0] == '\0') {
        snprintf(s->id, sizeof(s->id), "%s", id);
        s->epoch = epoch;
        epochs.used++;
    } else if (epoch > s->epoch) {
        s->epoch = epoch;
    }
    return 0;
}

/* The epoch this instance knows for principal `id`: 0 when it has none. */
static long long
epoch_of(const char *id)
{
    long long epoch = 0;

    if (!atomic_load(&epochs.nonempty)) {
        return 0;
    }
    pthread_rwlock_rdlock(&epochs.lock);
    if (epochs.cap > 0) {
        epoch = epoch_find(epochs.slots, epochs.cap, id)->epoch;
    }
    pthread_rwlock_unlock(&epochs.lock);
    return epoch;
}

int
auth_epochs_refresh(struct db_conn *c)
{
    PGresult *res;
    char since[24];
    const char *params[1] = {since};
    int i, rc = 0;

    pthread_mutex_lock(&epochs.read_mu);
    snprintf(since, sizeof(since), "%lld", epochs.since);
    res = db_exec(c, "auth_epochs_since", 1, params);
    if (!db_ok(res) || PQntuples(res) < 1) {
        rc = -1;
        goto out;
    }
    pthread_rwlock_wrlock(&epochs.lock);
    for (i = 0; i < PQntuples(res); i++) {
        if (!PQgetisnull(res, i, 1)
            && epoch_set(PQgetvalue(res, i, 1), atoll(PQgetvalue(res, i, 2))) != 0) {
            rc = -1;
        }
    }
    if (epochs.used > 0) {
        atomic_store(&epochs.nonempty, 1);
    }
    pthread_rwlock_unlock(&epochs.lock);
    if (rc == 0) {
        epochs.since = atoll(PQgetvalue(res, 0, 0));
    }
out:
    PQclear(res);
    pthread_mutex_unlock(&epochs.read_mu);
    return rc;
}

int
auth_epochs_may_change(const char *resource_type)
{
    return strcmp(resource_type, "user") == 0 || strcmp(resource_type, "api_client") == 0
           || strcmp(resource_type, "licence") == 0 || strcmp(resource_type, "organisation") == 0;
}

static void *
epochs_main(void *arg)
{
    int failing = 0;

    (void)arg;
    while (
        !clock_wait_or_stop(&epochs.t.mu, &epochs.t.cv, &epochs.t.stop, NULL, AUTH_EPOCH_POLL_MS)) {
        struct db_conn *c = db_acquire();
        int rc = c != NULL ? auth_epochs_refresh(c) : -1;

        db_release(c);
        if (rc != 0 && !failing) {
            logging_event("error", NULL, "auth: cannot read the token epochs; using those known");
        }
        failing = rc != 0;
    }
    return NULL;
}

int
auth_epochs_start(void)
{
    struct db_conn *c = db_acquire();
    int rc = c != NULL ? auth_epochs_refresh(c) : -1;

    db_release(c);
    if (rc != 0) {
        logging_event("error", NULL,
                      "mpact-registry: cannot read the token epochs from the database");
        return -1;
    }
    if (clock_thread_start(&epochs.t, epochs_main) != 0) {
        logging_event("error", NULL, "mpact-registry: cannot start the token-epoch thread");
        return -1;
    }
    return 0;
}

void
auth_epochs_stop(void)
{
    clock_thread_stop(&epochs.t);
    pthread_rwlock_wrlock(&epochs.lock);
    free(epochs.slots);
    epochs.slots = NULL;
    epochs.cap = epochs.used = 0;
    atomic_store(&epochs.nonempty, 0);
    pthread_rwlock_unlock(&epochs.lock);
    pthread_mutex_lock(&epochs.read_mu);
    epochs.since = 0;
    pthread_mutex_unlock(&epochs.read_mu);
}

/* ---- Claims -------------------------------------------------------------------------------- */

int
auth_is_admin(const struct principal *p)
{
    return p->authenticated && strcmp(p->role, "admin") == 0;
}

int
auth_is_commissioner(const struct principal *p)
{
    return p->authenticated && strcmp(p->role, "commissioner") == 0;
}

int
auth_word_listed(const char *have, const char *word, size_t n)
{
    const char *at;

    for (at = have + strspn(have, " "); *at != '\0'; at += strspn(at, " ")) {
        size_t len = strcspn(at, " ");
        if (len == n && strncmp(at, word, n) == 0) {
            return 1;
        }
        at += len;
    }
    return 0;
}

int
auth_has_scope(const struct principal *p, const char *scope)
{
    char write[64];
    size_t n;

    if (scope == NULL || *scope == '\0') {
        return 0;
    }
    if (auth_word_listed(p->scope, scope, strlen(scope))) {
        return 1;
    }
    /* Writing a resource includes reading it: "x:write" grants "x:read". */
    n = strlen(scope);
    if (n > 5 && n < sizeof(write) && strcmp(scope + n - 5, ":read") == 0) {
        snprintf(write, sizeof(write), "%.*s:write", (int)(n - 5), scope);
        return auth_word_listed(p->scope, write, strlen(write));
    }
    return 0;
}

int
auth_in_org(const struct principal *p, const char *org_id)
{
    if (auth_is_admin(p)) {
        return 1;
    }
    return p->authenticated && p->org[0] != '\0' && org_id != NULL && strcmp(p->org, org_id) == 0;
}

/* The `aud` claim may be a string or an array of strings (RFC 7519 4.1.3). */
static int
audience_ok(json_t *aud, const char *want)
{
    if (json_is_string(aud)) {
        return strcmp(json_string_value(aud), want) == 0;
    }
    return validate_in_json_list(aud, want);
}

int
auth_check_claims(json_t *claims,
                  long long now,
                  const char *iss,
                  const char *aud,
                  struct principal *out,
                  const char **why)
{
    json_t *exp = json_object_get(claims, "exp"), *nbf = json_object_get(claims, "nbf");
    json_t *iat = json_object_get(claims, "iat"), *iss_v = json_object_get(claims, "iss");
    json_t *sub = json_object_get(claims, "sub"), *org = json_object_get(claims, "org");
    json_t *ep = json_object_get(claims, "ep"), *scope = json_object_get(claims, "scope");
    const char *r = json_string_value(json_object_get(claims, "role"));
    int admin = r != NULL && strcmp(r, "admin") == 0,
        client = r != NULL && strcmp(r, "client") == 0;
    int licensee = r != NULL && (strcmp(r, "org_admin") == 0 || strcmp(r, "org_staff") == 0);
    int commissioner = r != NULL && strcmp(r, "commissioner") == 0;
    int org_ok = json_is_string(org) && validate_uuid(json_string_value(org));
    /* In order: the first that fails names the reason. */
    const struct {
        int failed;
        const char *why;
    } checks[] = {
        {!json_is_integer(exp), "exp missing or not an integer"},
        {json_integer_value(exp) <= now - AUTH_LEEWAY, "token expired"},
        {nbf != NULL && (!json_is_integer(nbf) || json_integer_value(nbf) > now + AUTH_LEEWAY),
         "token not yet valid"},
        {iat != NULL && (!json_is_integer(iat) || json_integer_value(iat) > now + AUTH_LEEWAY),
         "iat in the future"},
        {!json_is_string(iss_v) || strcmp(json_string_value(iss_v), iss) != 0, "wrong issuer"},
        {!audience_ok(json_object_get(claims, "aud"), aud), "wrong audience"},
        {!json_is_string(sub) || !validate_uuid(json_string_value(sub)),
         "sub missing or not a user id"},
        {r == NULL, "role missing"},
        {ep != NULL && (!json_is_integer(ep) || json_integer_value(ep) < 0),
         "ep not a non-negative integer"},
        {(admin || commissioner) && org != NULL && !json_is_null(org),
         "admin or commissioner token with an organisation"},
        {client && !org_ok, "client token without an organisation"},
        {client
             && (!json_is_string(scope) || strlen(json_string_value(scope)) >= sizeof(out->scope)),
         "client token without scopes"},
        {licensee && !org_ok, "licensee token without an organisation"},
        {!admin && !client && !licensee && !commissioner, "unknown role"},
    };
    size_t i;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        if (checks[i].failed) {
            *why = checks[i].why;
            return -1;
        }
    }
    if (!admin && !commissioner) {
        snprintf(out->org, sizeof(out->org), "%s", json_string_value(org));
    }
    if (client) {
        /* An organisation's API client: it acts as that organisation's admin, but the router
         * lets it reach only the routes its scopes name. */
        snprintf(out->scope, sizeof(out->scope), "%s", json_string_value(scope));
        out->client = 1;
        r = "org_admin";
    }
    snprintf(out->sub, sizeof(out->sub), "%s", json_string_value(sub));
    snprintf(out->role, sizeof(out->role), "%s", r);
    out->authenticated = 1;
    return 0;
}

int
auth_authenticate(struct req *r)
{
    const char *h = http_header(r, "Authorization");
    const char *token, *why = NULL;
    json_t *claims = NULL;
    int rc;

    memset(&r->principal, 0, sizeof(r->principal));
    if (h == NULL) {
        return 0;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        return -1;
    }
    token = h + 7;
    while (*token == ' ') {
        token++;
    }
    if (keys_verify(token, &claims) != 0) {
        metrics_token(0);
        return -1;
    }
    rc = auth_check_claims(claims, (long long)time(NULL), config.issuer, config.audience,
                           &r->principal, &why);
    if (rc == 0 && json_integer_value(json_object_get(claims, "ep")) < epoch_of(r->principal.sub)) {
        /* Issued before the user was disabled, the client revoked or the licence ended. */
        memset(&r->principal, 0, sizeof(r->principal));
        rc = -1;
    }
    json_decref(claims);
    metrics_token(rc == 0);
    return rc == 0 ? 1 : -1;
}

/* The claims every token of ours carries, with a fresh jti; NULL when they cannot be built. */
static json_t *
claims_new(const char *sub, const char *role, long long epoch, long long now)
{
    unsigned char raw[16];
    char jti[33];

    if (codec_random(raw, sizeof(raw)) != 0) {
        return NULL;
    }
    codec_hex(raw, sizeof(raw), jti);
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:I}", "iss", config.issuer, "aud",
                     config.audience, "sub", sub, "role", role, "iat", (json_int_t)now, "nbf",
                     (json_int_t)now, "exp", (json_int_t)(now + config.access_ttl), "jti", jti,
                     "ep", (json_int_t)epoch);
}

/* Signs `claims` (stolen; NULL when they could not be built). Returns the token, or NULL. */
static char *
claims_sign(json_t *claims)
{
    char *token = claims != NULL ? keys_sign(claims) : NULL;

    json_decref(claims);
    return token;
}

char *
auth_issue_access(
    const char *user_id, const char *role, const char *org, long long epoch, long long now)
{
    json_t *claims = claims_new(user_id, role, epoch, now);

    if (claims != NULL && org != NULL && *org != '\0') {
        json_object_set_new(claims, "org", json_string(org));
    }
    return claims_sign(claims);
}

char *
auth_issue_client(
    const char *client_uuid, const char *org, const char *scope, long long epoch, long long now)
{
    json_t *claims = claims_new(client_uuid, "client", epoch, now);

    if (claims != NULL
        && (json_object_set_new(claims, "org", json_string(org)) != 0
            || json_object_set_new(claims, "scope", json_string(scope)) != 0)) {
        json_decref(claims);
        claims = NULL;
    }
    return claims_sign(claims);
}
