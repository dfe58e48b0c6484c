/* tokens.c: /v1/auth/token, /v1/auth/refresh, /v1/auth/logout, /v1/auth/revoke and the JWKS.
 *
 * Sign-in answers a wrong password, an unknown email and a disabled account alike and in the
 * same time: each spends one password hash and runs the same statements. Failures are counted
 * per account and client address (login_attempt); past THROTTLE_FREE a doubling wait applies.
 *
 * Refresh tokens are REFRESH_BYTES random bytes (base64url), stored only as the SHA-256 of that
 * text. A sign-in starts a family; each refresh marks the token used and issues the next one.
 * A used or revoked token presented again revokes the whole family.
 *
 * API clients use grant_type=client_credentials (RFC 6749 4.4), a form or JSON body, HTTP Basic
 * or body credentials (never both), and get an access token for their organisation and scopes.
 * Errors carry the RFC 6749 5.2 code in an `error` member of our problem bodies. */
#include "registry/tokens.h"

#include <ctype.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/auth.h"
#include "registry/clients.h"
#include "registry/codec.h"
#include "registry/config.h"
#include "registry/db.h"
#include "registry/http.h"
#include "registry/keys.h"
#include "registry/logging.h"
#include "registry/password.h"
#include "registry/problem.h"
#include "registry/resource.h"
#include "registry/router.h"
#include "registry/validate.h"

/* Sign-in throttling, per account (lower-cased email) and client address together. */
#define THROTTLE_FREE       5   /* failures in the window before any wait */
#define THROTTLE_BASE_S     1   /* the wait after THROTTLE_FREE failures; doubles with each more */
#define THROTTLE_MAX_S      900 /* the longest wait */
#define THROTTLE_CONCURRENT 16  /* attempts at once on a clean record */
#define THROTTLE_WINDOW_SQL "interval '1 day'"
#define THROTTLE_FLIGHT_SQL "interval '1 minute'" /* an attempt older than this is abandoned */
#define REFRESH_BYTES       32                    /* random bytes in a refresh token */
#define REFRESH_TEXT_MAX    256 /* a presented token longer than this is not one of ours */
#define REFRESH_B64_LEN     48  /* room for base64url of REFRESH_BYTES, and the NUL */

const struct db_stmt tokens_stmts[] = {
    /* Serialises the admission of attempts on one account from one address, so that a count
     * and the record of an attempt cannot interleave with another attempt's. Held until the
     * transaction ends. $1 email, $2 address. */
    {"tok_throttle_lock",
     "SELECT pg_advisory_xact_lock(hashtextextended('login_attempt:' || lower($1::text) || ' ' ||"
     " $2::text, 0))"},
    /* Failures in the window, attempts in flight, and seconds since the latest failure. */
    {"tok_throttle_check",
     "SELECT count(*) FILTER (WHERE failed_at > now() - " THROTTLE_WINDOW_SQL ") AS failures,"
     " count(*) FILTER (WHERE failed_at IS NULL AND started_at > now() - " THROTTLE_FLIGHT_SQL
     ") AS in_flight,"
     " extract(epoch FROM now() - max(failed_at))::float8 AS since_last "
     "FROM login_attempt WHERE email_key = lower($1::text) AND address = $2::text"
     " AND started_at > now() - " THROTTLE_WINDOW_SQL " - " THROTTLE_FLIGHT_SQL},
    {"tok_attempt_start",
     "WITH pruned AS (DELETE FROM login_attempt WHERE started_at < now() - interval '2 days') "
     "INSERT INTO login_attempt (email_key, address) VALUES (lower($1::text), $2::text) RETURNING "
     "id"},
    {"tok_attempt_failed", "UPDATE login_attempt SET failed_at = now() WHERE id = $1::bigint"},
    /* A success: the attempt and the failures of its account from its address go. */
    {"tok_attempt_succeeded",
     "DELETE FROM login_attempt WHERE id = $1::bigint"
     " OR (email_key = lower($2::text) AND address = $3::text AND failed_at IS NOT NULL)"},
    {"tok_user_by_email",
     "SELECT u.id, u.role, u.organisation_id, u.disabled, u.password_hash,"
     " coalesce((SELECT e.epoch FROM principal_epoch e WHERE e.principal_id = u.id), 0) AS epoch"
     " FROM app_user u WHERE lower(u.email) = lower($1::text)"},
    /* $1 user, $2 family (NULL starts a new one), $3 hex SHA-256 of the token, $4 lifetime in
     * seconds. Inserts nothing for a disabled user. */
    {"tok_insert",
     "INSERT INTO refresh_token (user_id, family_id, token_hash, expires_at) SELECT u.id, coalesce("
     "$2::uuid, gen_random_uuid()), decode($3::text, 'hex'), now() + make_interval(secs => $4::int)"
     " FROM app_user u WHERE u.id = $1::uuid AND NOT u.disabled RETURNING id"},
    {"tok_get_locked",
     "SELECT t.id, t.family_id, t.user_id, t.used_at, t.revoked_at, t.expires_at <= now() AS "
     "expired, u.role, u.organisation_id, u.disabled, coalesce((SELECT e.epoch FROM principal_epoch"
     " e WHERE e.principal_id = u.id), 0) AS epoch FROM refresh_token t JOIN app_user u ON u.id ="
     " t.user_id WHERE t.token_hash = decode($1::text, 'hex') FOR UPDATE OF t"},
    {"tok_use", "UPDATE refresh_token SET used_at = now() WHERE id = $1::uuid"},
    {"tok_revoke_family", "UPDATE refresh_token SET revoked_at = now() WHERE family_id = $1::uuid "
                          "AND revoked_at IS NULL"},
    {"tok_logout",
     "UPDATE refresh_token SET revoked_at = now() WHERE revoked_at IS NULL AND family_id ="
     " (SELECT family_id FROM refresh_token WHERE token_hash = decode($1::text, 'hex'))"},
    /* Read by auth.c: the token epochs changed by transactions at or above $1 (every one at
     * the first read), each row with the oldest transaction still running now, from which the
     * next read starts; one row of NULLs besides when nothing changed. */
    {"auth_epochs_since",
     "SELECT s.xmin, e.principal_id, e.epoch"
     " FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin) s"
     " LEFT JOIN principal_epoch e ON e.xid >= $1::text::xid8"},
    /* Run by scheduler.c, the pruning job: refresh tokens that expired or were revoked more than
     * $1 days ago go; how many. Used (rotated) tokens stay until they expire, so a reuse is still
     * recognised for as long as the token could have been valid. */
    {"tok_prune",
     "WITH d AS (DELETE FROM refresh_token WHERE expires_at < now() - make_interval(days => "
     "$1::int)"
     " OR revoked_at < now() - make_interval(days => $1::int) RETURNING 1) SELECT count(*) AS n "
     "FROM d"},
    {NULL, NULL},
};

static const struct field signin_fields[] = {
    {"email", FIELD_EMAIL, FIELD_REQUIRED, 0, 0, NULL},
    {"password", FIELD_SECRET, FIELD_REQUIRED, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static const struct field refresh_fields[] = {
    {"refresh_token", FIELD_SECRET, FIELD_REQUIRED, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* The wait, in seconds, that `failures` failures in the window impose after the latest one:
 * none before THROTTLE_FREE, then THROTTLE_BASE_S doubling with each more, up to THROTTLE_MAX_S. */
static long
throttle_wait_s(long failures)
{
    long n = failures - THROTTLE_FREE;

    if (n < 0) {
        return 0;
    }
    return n > 20 || (THROTTLE_BASE_S << n) > THROTTLE_MAX_S ? THROTTLE_MAX_S
                                                             : THROTTLE_BASE_S << n;
}

/* Rolls back and sends the 429 of a throttled sign-in, `detail` naming why. Returns the status
 * sent. */
static int
throttled(struct req *r, long seconds, const char *detail)
{
    char retry[24];

    db_rollback(r->db);
    snprintf(retry, sizeof(retry), "%ld", seconds < 1 ? 1 : seconds);
    http_add_header(r, "Retry-After", retry);
    return problem_send(r, PROBLEM_TOO_MANY_REQUESTS, "%s; try again in %s seconds", detail, retry);
}

/* Commits the request's transaction. Returns 0, or the status of the problem sent. */
static int
commit_or_problem(struct req *r)
{
    PGresult *fail = NULL;
    int status = db_commit(r->db, &fail) != 0 ? problem_from_db(r, fail) : 0;

    PQclear(fail);
    return status;
}

int
tokens_attempt_or_problem(struct req *r, const char *email, char attempt[TOKENS_ATTEMPT_LEN])
{
    PGresult *res = NULL;
    char buf[48];
    const char *params[2] = {email, router_client_address(r, buf, sizeof(buf))};
    long failures, in_flight;
    double since_last, wait;
    int status;

    attempt[0] = '\0';
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = http_exec_or_problem(r, "tok_throttle_lock", 2, params, NULL)) != 0
        || (status = http_exec_or_problem(r, "tok_throttle_check", 2, params, &res)) != 0) {
        goto out;
    }
    failures = atol(PQgetvalue(res, 0, 0));
    in_flight = atol(PQgetvalue(res, 0, 1));
    since_last = db_value(res, 0, "since_last") != NULL ? atof(db_value(res, 0, "since_last")) : 0;
    wait = (double)throttle_wait_s(failures);
    /* Past the free failures: wait out the backoff, then one attempt at a time. Before them: as
     * many at once as a clean record allows, or only up to the free failures once one failed,
     * so that attempts sent together cannot get round the count. */
    if (failures >= THROTTLE_FREE && since_last < wait) {
        status = throttled(r, (long)ceil(wait - since_last),
                           "too many failed password attempts for this account from your address");
        goto out;
    }
    if ((failures >= THROTTLE_FREE && in_flight > 0)
        || (failures > 0 && failures < THROTTLE_FREE && failures + in_flight >= THROTTLE_FREE)
        || (failures == 0 && in_flight >= THROTTLE_CONCURRENT)) {
        status =
            throttled(r, 1, "too many sign-in attempts at once for this account from your address");
        goto out;
    }
    if ((status =
             http_insert_or_problem(r, "tok_attempt_start", 2, params, attempt, TOKENS_ATTEMPT_LEN))
            == 0
        && (status = commit_or_problem(r)) != 0) {
        attempt[0] = '\0';
    }
out:
    PQclear(res);
    return status;
}

int
tokens_attempt_end_or_problem(struct req *r, const char *attempt, const char *email, int ok)
{
    char buf[48];
    const char *params[3] = {attempt, email, router_client_address(r, buf, sizeof(buf))};

    if (ok) {
        return http_exec_or_problem(r, "tok_attempt_succeeded", 3, params, NULL);
    }
    return http_exec_or_problem(r, "tok_attempt_failed", 1, params, NULL);
}

/* Sends the token response (RFC 6749 section 5.1) with `access` and the member `key`: the
 * refresh token, or a client's scope. Returns the status sent. */
static int
send_token(struct req *r, const char *access, const char *key, const char *value)
{
    return http_send_json_new(r, 200,
                              json_pack("{s:s, s:s, s:i, s:s}", "access_token", access,
                                        "token_type", "Bearer", "expires_in", config.access_ttl,
                                        key, value));
}

/* Reads a body holding one refresh token into `in` (owned by the caller); `token` is borrowed
 * from it. Returns 0, or the status of the problem sent. */
static int
refresh_read_or_problem(struct req *r, json_t **in, const char **token)
{
    int status = resource_body_or_problem(r, refresh_fields, 1, in);

    *token = status == 0 ? json_string_value(json_object_get(*in, "refresh_token")) : NULL;
    return status;
}

/* Ends the family of the refresh token `token` (logout, and revocation without a client).
 * Unknown, used or malformed tokens are no error: the caller's answer is no oracle. Returns 0,
 * or the status of the problem sent. */
static int
refresh_logout_or_problem(struct req *r, const char *token)
{
    char hex[65];
    const char *params[1] = {hex};

    if (strlen(token) > REFRESH_TEXT_MAX) {
        return 0;
    }
    codec_sha256_hex(token, hex);
    return http_exec_or_problem(r, "tok_logout", 1, params, NULL);
}

/* The tail of a sign-in and of a refresh, inside the caller's transaction: signs an access token
 * for the user, stores a new refresh token in `family` (NULL: a new one), commits and sends both.
 * Nothing is committed when signing fails. Returns the status sent, or 0 when the user was
 * disabled since the caller looked (the insert returns no row): then it has rolled back and the
 * caller sends its own refusal. */
static int
issue_commit_send(struct req *r,
                  const char *user,
                  const char *role,
                  const char *org,
                  long long epoch,
                  const char *family)
{
    PGresult *res = NULL;
    char refresh[REFRESH_B64_LEN] = "", hex[65], ttl[16];
    const char *params[4] = {user, family, hex, ttl};
    char *access = auth_issue_access(user, role, org, epoch, (long long)time(NULL));
    int status;

    if (access == NULL || codec_secret_new(REFRESH_BYTES, refresh, hex) != 0) {
        logging_event("error", r->request_id, "tokens: cannot issue tokens request_id=%s",
                      r->request_id);
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
        goto out;
    }
    snprintf(ttl, sizeof(ttl), "%d", config.refresh_ttl);
    if ((status = http_exec_or_problem(r, "tok_insert", 4, params, &res)) == 0) {
        if (PQntuples(res) != 1) {
            db_rollback(r->db);
        } else if ((status = commit_or_problem(r)) == 0) {
            status = send_token(r, access, "refresh_token", refresh);
        }
    }
out:
    OPENSSL_cleanse(refresh, sizeof(refresh));
    free(access);
    PQclear(res);
    return status;
}

/* Sign-in with email and password (`in` borrowed): the grant_type "password", or none. */
static int
signin_password(struct req *r, json_t *in)
{
    json_t *errors = json_array();
    PGresult *res = NULL; /* the account, if any: kept (no connection needed) until the end */
    const char *email, *password, *params[1];
    char attempt[TOKENS_ATTEMPT_LEN];
    int status, found, match;

    if (validate_fields(in, signin_fields, 1, errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    email = json_string_value(json_object_get(in, "email"));
    password = json_string_value(json_object_get(in, "password"));
    if ((status = tokens_attempt_or_problem(r, email, attempt)) != 0) {
        goto out;
    }
    params[0] = email;
    if ((status = http_exec_or_problem(r, "tok_user_by_email", 1, params, &res)) != 0) {
        goto out;
    }
    found = PQntuples(res) == 1;
    /* One hash whatever the account's state, with no connection held meanwhile. */
    router_db_pause(r);
    match = password_verify(password, found ? db_value(res, 0, "password_hash") : NULL);
    if ((status = router_db_resume_or_problem(r)) != 0) {
        goto out;
    }
    if (!match || !found || db_bool(res, 0, "disabled")) {
        if ((status = tokens_attempt_end_or_problem(r, attempt, email, 0)) != 0) {
            goto out;
        }
        status = problem_send(r, PROBLEM_INVALID_CREDENTIALS, "the email or password is wrong");
        goto out;
    }
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = tokens_attempt_end_or_problem(r, attempt, email, 1)) != 0) {
        goto out;
    }
    if ((status = issue_commit_send(r, db_value(res, 0, "id"), db_value(res, 0, "role"),
                                    db_value(res, 0, "organisation_id"),
                                    atoll(db_value(res, 0, "epoch")), NULL))
        == 0) {
        /* Disabled since we looked: the same answer as any other refusal. */
        status = problem_send(r, PROBLEM_INVALID_CREDENTIALS, "the email or password is wrong");
    }
out:
    PQclear(res);
    json_decref(errors);
    return status;
}

/* ---- OAuth 2.0: form bodies, client authentication, client credentials (RFC 6749) --------- */

#define FORM_FIELDS_MAX 16   /* parameters a token or revocation request may carry */
#define BASIC_B64_MAX   2048 /* the longest HTTP Basic credentials we decode */

/* Sends an RFC 6749 section 5.2 error in our problem shape: the problem of `kind` with an
 * `error` member holding the OAuth error code. Returns the status sent. */
static int
oauth_error(struct req *r, enum problem_kind kind, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
oauth_error(struct req *r, enum problem_kind kind, const char *error, const char *fmt, ...)
{
    char detail[512];
    json_t *p;
    char *text;
    int status;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (problem_status(kind) == 401 && strstr(r->extra_headers, "WWW-Authenticate:") == NULL) {
        http_add_header(r, "WWW-Authenticate", "Basic realm=\"mpact-registry\"");
    }
    p = problem_new(kind, detail, r->path);
    json_object_set_new(p, "error", json_string(error));
    text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    if (text == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    status = http_send(r, problem_status(kind), "application/problem+json", text, strlen(text));
    free(text);
    return status;
}

/* Decodes `n` bytes of application/x-www-form-urlencoded text ('+' is a space, %XX a byte)
 * into `out` (n + 1 bytes), NUL-terminated. Returns 0, or -1 on a bad escape or a NUL. */
static int
form_decode(const char *in, size_t n, char *out)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (in[i] == '+') {
            out[o++] = ' ';
        } else if (in[i] == '%') {
            char hex[3] = {0};
            if (i + 2 >= n || !isxdigit((unsigned char)in[i + 1])
                || !isxdigit((unsigned char)in[i + 2])) {
                return -1;
            }
            memcpy(hex, in + i + 1, 2);
            if ((out[o++] = (char)strtol(hex, NULL, 16)) == '\0') {
                return -1;
            }
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
    return 0;
}

/* Parses a form body into a new object of strings. Parameters without a value count as
 * omitted (RFC 6749 section 3.2). Returns NULL with *why (NULL on entry) set on a repeated
 * parameter, a bad escape, text that is not UTF-8 or too many parameters. */
static json_t *
form_parse(const char *body, size_t len, const char **why)
{
    json_t *obj = json_object();
    char *name = malloc(len + 1), *value = malloc(len + 1);
    size_t at = 0;
    int count = 0;

    if (obj == NULL || name == NULL || value == NULL) {
        *why = "out of memory";
        goto fail;
    }
    while (at < len) {
        const char *pair = body + at, *amp = memchr(pair, '&', len - at), *eq;
        size_t plen = amp != NULL ? (size_t)(amp - pair) : len - at;
        json_t *v;

        at += plen + 1;
        if (plen == 0) {
            continue;
        }
        if (++count > FORM_FIELDS_MAX) {
            *why = "too many parameters";
            goto fail;
        }
        eq = memchr(pair, '=', plen);
        if (form_decode(pair, eq != NULL ? (size_t)(eq - pair) : plen, name) != 0
            || (eq != NULL && form_decode(eq + 1, plen - (size_t)(eq + 1 - pair), value) != 0)) {
            *why = "a parameter is not valid form encoding";
            goto fail;
        }
        if (eq == NULL) {
            value[0] = '\0';
        }
        if (json_object_get(obj, name) != NULL) {
            *why = "a parameter appears more than once";
            goto fail;
        }
        if (value[0] == '\0') {
            continue;
        }
        v = json_string(value);
        if (v == NULL || json_object_set_new(obj, name, v) != 0) {
            *why = "parameters must be UTF-8 text";
            goto fail;
        }
    }
fail:
    free(name);
    free(value);
    if (*why != NULL) {
        json_decref(obj);
        obj = NULL;
    }
    return obj;
}

/* Reads the body of /v1/auth/token or /v1/auth/revoke: a form (RFC 6749; the same limits as JSON
 * bodies) or a JSON object. Returns 0 with a new reference in *out and *form set, or the status
 * sent. */
static int
read_oauth_body_or_problem(struct req *r, json_t **out, int *form)
{
    static const char type[] = "application/x-www-form-urlencoded";
    const char *ct = http_header(r, "Content-Type"), *why = NULL;
    size_t n = sizeof(type) - 1, got;
    char *buf = NULL;
    int status;

    *form = ct != NULL && strncasecmp(ct, type, n) == 0
            && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
    if (!*form) {
        return http_read_json_or_problem(r, out);
    }
    *out = NULL;
    if ((status = http_read_body_or_problem(r, &buf, &got)) == 0
        && (memchr(buf, '\0', got) != NULL || (*out = form_parse(buf, got, &why)) == NULL)) {
        status = oauth_error(r, PROBLEM_BAD_REQUEST, "invalid_request", "%s",
                             why != NULL ? why : "the body holds a NUL byte");
    }
    free(buf);
    return status;
}

/* A string member of the request, or NULL. Sets *bad when present but not a string. */
static const char *
oauth_param(json_t *in, const char *name, int *bad)
{
    json_t *v = json_object_get(in, name);

    if (v != NULL && !json_is_string(v)) {
        *bad = 1;
    }
    return json_string_value(v);
}

/* Decodes "Basic base64(urlencode(id):urlencode(secret))" (RFC 6749 section 2.3.1) into
 * malloc'd *id and *secret. Returns 0, or -1. */
static int
basic_credentials(const char *h, char **id, char **secret)
{
    const char *b64 = h + 6, *colon;
    unsigned char raw[BASIC_B64_MAX / 4 * 3 + 1];
    size_t n;
    int len, rc = -1;

    *id = *secret = NULL;
    while (*b64 == ' ') {
        b64++;
    }
    n = strlen(b64);
    if (n == 0 || n % 4 != 0 || n > BASIC_B64_MAX) {
        return -1;
    }
    if ((len = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n)) < 0) {
        goto out;
    }
    len -= b64[n - 1] == '=' ? (b64[n - 2] == '=' ? 2 : 1) : 0; /* the padding decoded as 0 */
    raw[len] = '\0';
    if (memchr(raw, '\0', (size_t)len) != NULL || (colon = memchr(raw, ':', (size_t)len)) == NULL) {
        goto out;
    }
    *id = malloc((size_t)len + 1);
    *secret = malloc((size_t)len + 1);
    if (*id == NULL || *secret == NULL
        || form_decode((const char *)raw, (size_t)(colon - (const char *)raw), *id) != 0
        || form_decode(colon + 1, strlen(colon + 1), *secret) != 0) {
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        free(*id);
        free(*secret);
        *id = *secret = NULL;
    }
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}

/* How the client authenticated, if at all. */
enum client_auth {
    CLIENT_AUTH_NONE,
    CLIENT_AUTH_OK,
    CLIENT_AUTH_SENT, /* an answer has been sent (refused or failed) */
};

/* Authenticates the client by HTTP Basic or by client_id/client_secret in the body (never
 * both). With `required`, no credentials at all is a 401 invalid_client. */
static enum client_auth
client_authenticate(struct req *r, json_t *in, int required, struct client_info *ci)
{
    const char *h = http_header(r, "Authorization"), *body_id, *body_secret;
    char *id = NULL, *secret = NULL;
    enum client_auth result = CLIENT_AUTH_SENT;
    int bad = 0, rc;

    body_id = oauth_param(in, "client_id", &bad);
    body_secret = oauth_param(in, "client_secret", &bad);
    if (bad) {
        oauth_error(r, PROBLEM_BAD_REQUEST, "invalid_request",
                    "client_id and client_secret must be strings");
        goto out;
    }
    if (h != NULL) {
        if (body_id != NULL || body_secret != NULL) {
            oauth_error(r, PROBLEM_BAD_REQUEST, "invalid_request",
                        "authenticate the client one way: HTTP Basic or client_id and "
                        "client_secret in the body, not both");
            goto out;
        }
        if (strncasecmp(h, "Basic ", 6) != 0 || basic_credentials(h, &id, &secret) != 0) {
            oauth_error(r, PROBLEM_UNAUTHORIZED, "invalid_client",
                        "send the client credentials as Authorization: Basic "
                        "base64(client_id:client_secret)");
            goto out;
        }
    } else if (body_id != NULL || body_secret != NULL) {
        if (body_id == NULL || body_secret == NULL) {
            oauth_error(r, PROBLEM_UNAUTHORIZED, "invalid_client",
                        "send both client_id and client_secret");
            goto out;
        }
        id = strdup(body_id);
        secret = strdup(body_secret);
        if (id == NULL || secret == NULL) {
            problem_send(r, PROBLEM_INTERNAL, NULL);
            goto out;
        }
    } else {
        if (required) {
            oauth_error(r, PROBLEM_UNAUTHORIZED, "invalid_client",
                        "authenticate the client with HTTP Basic or client_id and "
                        "client_secret");
            goto out;
        }
        result = CLIENT_AUTH_NONE;
        goto out;
    }
    rc = clients_check_secret_or_problem(r, id, secret, ci);
    if (rc == 1) {
        result = CLIENT_AUTH_OK;
    } else if (rc == 0) {
        oauth_error(r, PROBLEM_UNAUTHORIZED, "invalid_client",
                    "the client is unknown or revoked, or the secret is wrong");
    }
out:
    if (secret != NULL) {
        OPENSSL_cleanse(secret, strlen(secret));
    }
    free(secret);
    free(id);
    return result;
}

/* grant_type=client_credentials (RFC 6749 section 4.4). */
static int
client_credentials(struct req *r, json_t *in)
{
    struct client_info ci;
    const char *requested, *at;
    char granted[sizeof(ci.scope)] = "";
    char *access = NULL;
    int bad = 0, status;

    requested = oauth_param(in, "scope", &bad);
    if (bad) {
        status = oauth_error(r, PROBLEM_BAD_REQUEST, "invalid_request",
                             "scope: a space-separated list of scopes");
        goto out;
    }
    if (client_authenticate(r, in, 1, &ci) != CLIENT_AUTH_OK) {
        status = r->status;
        goto out;
    }
    if (!ci.licensed) {
        /* The client is genuine, but its organisation may not use the registry now. */
        status = oauth_error(r, PROBLEM_INVALID_GRANT, "invalid_grant",
                             "the organisation of this client holds no active licence; API "
                             "access resumes when the licence is active again");
        goto out;
    }
    if (requested == NULL || requested[strspn(requested, " ")] == '\0') {
        snprintf(granted, sizeof(granted), "%s", ci.scope);
    } else {
        for (at = requested + strspn(requested, " "); *at != '\0'; at += strspn(at, " ")) {
            size_t n = strcspn(at, " ");
            if (!auth_word_listed(ci.scope, at, n)) {
                status = oauth_error(r, PROBLEM_BAD_REQUEST, "invalid_scope",
                                     "this client does not hold the scope %.*s",
                                     (int)(n > 64 ? 64 : n), at);
                goto out;
            }
            if (!auth_word_listed(granted, at, n)) {
                size_t used = strlen(granted);
                snprintf(granted + used, sizeof(granted) - used, "%s%.*s", used ? " " : "", (int)n,
                         at);
            }
            at += n;
        }
    }
    access = auth_issue_client(ci.id, ci.org, granted, ci.epoch, (long long)time(NULL));
    if (access == NULL) {
        logging_event("error", r->request_id, "tokens: cannot issue a client token request_id=%s",
                      r->request_id);
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
        goto out;
    }
    http_add_header(r, "Cache-Control", "no-store");
    http_add_header(r, "Pragma", "no-cache");
    status = send_token(r, access, "scope", granted);
out:
    free(access);
    return status;
}

int
tokens_create(struct req *r)
{
    json_t *in = NULL;
    const char *grant;
    int status, form = 0, bad = 0;

    if ((status = read_oauth_body_or_problem(r, &in, &form)) != 0) {
        goto out;
    }
    grant = oauth_param(in, "grant_type", &bad);
    if (bad) {
        status = oauth_error(r, PROBLEM_BAD_REQUEST, "invalid_request",
                             "grant_type: client_credentials or password");
    } else if (grant != NULL && strcmp(grant, "client_credentials") == 0) {
        status = client_credentials(r, in);
    } else if (grant == NULL && form) {
        status = oauth_error(r, PROBLEM_BAD_REQUEST, "invalid_request",
                             "grant_type is required: client_credentials");
    } else if (grant == NULL || strcmp(grant, "password") == 0) {
        /* Sign-in with email and password, as JSON, with or without grant_type. */
        json_object_del(in, "grant_type");
        status = signin_password(r, in);
    } else {
        status = oauth_error(r, PROBLEM_BAD_REQUEST, "unsupported_grant_type",
                             "grant_type: client_credentials or password");
    }
out:
    json_decref(in);
    return status;
}

int
tokens_revoke(struct req *r)
{
    json_t *in = NULL;
    struct client_info ci;
    const char *token;
    int status, form = 0, bad = 0;

    if ((status = read_oauth_body_or_problem(r, &in, &form)) != 0) {
        goto out;
    }
    token = oauth_param(in, "token", &bad);
    (void)oauth_param(in, "token_type_hint", &bad); /* a hint only: every kind is tried */
    if (bad || token == NULL) {
        status = oauth_error(r, PROBLEM_BAD_REQUEST, "invalid_request",
                             "token: the refresh token or client secret to revoke");
        goto out;
    }
    switch (client_authenticate(r, in, 0, &ci)) {
    case CLIENT_AUTH_SENT:
        status = r->status;
        goto out;
    case CLIENT_AUTH_OK:
        /* A client revokes one of its own secrets (the one it used, or another still live). */
        if ((status = clients_revoke_secret_or_problem(r, &ci, token)) != 0) {
            goto out;
        }
        break;
    case CLIENT_AUTH_NONE:
        /* A refresh token ends its whole family, as logout does. */
        if ((status = refresh_logout_or_problem(r, token)) != 0) {
            goto out;
        }
        break;
    }
    /* Unknown, used or malformed tokens get 200 as well (RFC 7009 section 2.2): no oracle. */
    status = http_send_empty(r, 200);
out:
    json_decref(in);
    return status;
}

/* The one answer to a refresh token that does not work, whatever the reason: no oracle. */
static int
refresh_refused(struct req *r)
{
    return oauth_error(r, PROBLEM_INVALID_GRANT, "invalid_grant", "the refresh token is not valid");
}

int
tokens_refresh(struct req *r)
{
    json_t *in = NULL;
    PGresult *res = NULL;
    const char *presented, *params[1], *family, *user; /* borrowed from res */
    char hex[65];
    int status;

    if ((status = refresh_read_or_problem(r, &in, &presented)) != 0) {
        goto out;
    }
    if (strlen(presented) > REFRESH_TEXT_MAX) {
        status = refresh_refused(r);
        goto out;
    }
    codec_sha256_hex(presented, hex);
    params[0] = hex;
    /* The row lock makes two refreshes with one token run one after the other: the second
     * sees the first's used_at and is treated as a reuse. */
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = http_exec_or_problem(r, "tok_get_locked", 1, params, &res)) != 0) {
        goto out;
    }
    if (PQntuples(res) != 1) {
        status = refresh_refused(r);
        goto out;
    }
    family = db_value(res, 0, "family_id");
    user = db_value(res, 0, "user_id");
    if (db_value(res, 0, "used_at") != NULL || db_value(res, 0, "revoked_at") != NULL) {
        /* Reuse: someone holds a copy. End the whole chain, and keep that even though the
         * answer is an error. */
        params[0] = family;
        if ((status = http_exec_or_problem(r, "tok_revoke_family", 1, params, NULL)) != 0
            || (status = commit_or_problem(r)) != 0) {
            goto out;
        }
        logging_event("warn", r->request_id,
                      "tokens: refresh token reused; family %s of user %s revoked request_id=%s",
                      family, user, r->request_id);
        status = refresh_refused(r);
        goto out;
    }
    if (db_bool(res, 0, "expired") || db_bool(res, 0, "disabled")) {
        db_rollback(r->db);
        status = refresh_refused(r);
        goto out;
    }
    /* If signing fails, nothing commits: the presented token still works. */
    params[0] = db_value(res, 0, "id");
    if ((status = http_exec_or_problem(r, "tok_use", 1, params, NULL)) == 0
        && (status = issue_commit_send(r, user, db_value(res, 0, "role"),
                                       db_value(res, 0, "organisation_id"),
                                       atoll(db_value(res, 0, "epoch")), family))
               == 0) {
        status = refresh_refused(r);
    }
out:
    PQclear(res);
    json_decref(in);
    return status;
}

int
tokens_logout(struct req *r)
{
    json_t *in = NULL;
    const char *presented;
    int status;

    /* Unknown, used or malformed tokens get 204 as well: logout is no oracle. */
    if ((status = refresh_read_or_problem(r, &in, &presented)) == 0
        && (status = refresh_logout_or_problem(r, presented)) == 0) {
        status = http_send_empty(r, 204);
    }
    json_decref(in);
    return status;
}

int
tokens_jwks(struct req *r)
{
    return http_send_json_new(r, 200, keys_jwks());
}
