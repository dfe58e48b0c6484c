/* tokens.c: /v1/auth/token, /v1/auth/refresh, /v1/auth/logout and the JWKS.
 *
 * Sign-in answers a wrong password, an unknown email and a disabled account the same way and
 * in the same time: each spends one password hash (password_verify with a NULL stored hash for
 * an unknown email) and runs the same statements. Failures are counted per lower-cased email
 * in login_failure; at THROTTLE_LIMIT within the window, sign-in answers 429 until the oldest
 * counted failure leaves the window, so the owner of the account gets in again afterwards.
 *
 * Refresh tokens are 32 random bytes (base64url), stored only as the SHA-256 of that text.
 * A sign-in starts a family; each refresh marks the token used and issues the next one in the
 * family. A used or revoked token presented again revokes the whole family. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/auth.h"
#include "registry/codec.h"
#include "registry/config.h"
#include "registry/db.h"
#include "registry/http.h"
#include "registry/keys.h"
#include "registry/password.h"
#include "registry/problem.h"
#include "registry/resources.h"
#include "registry/router.h"
#include "registry/validate.h"

#define THROTTLE_LIMIT      5 /* failed sign-ins per email within the window */
#define THROTTLE_WINDOW_SQL "interval '15 minutes'"
#define REFRESH_BYTES       32  /* random bytes in a refresh token */
#define REFRESH_TEXT_MAX    256 /* a presented token longer than this is not one of ours */
#define REFRESH_B64_LEN     48  /* room for base64url of REFRESH_BYTES, and the NUL */

const struct db_stmt tokens_stmts[] = {
    /* Serialises the attempts on one email, so that the count and the record of an attempt
     * cannot interleave with another attempt's. Held until the transaction ends. */
    {"tok_throttle_lock",
     "SELECT pg_advisory_xact_lock(hashtextextended('login_failure:' || lower($1::text), 0))"},
    /* Failures in the window, and the seconds until the one whose leaving brings the count
     * under $2 leaves (the $2-th newest). */
    {"tok_throttle_check",
     "SELECT count(*) AS failures,"
     " (SELECT greatest(1, ceil(extract(epoch FROM f.at + " THROTTLE_WINDOW_SQL " - now())))::int"
     "  FROM login_failure f WHERE f.email_key = lower($1::text)"
     "   AND f.at > now() - " THROTTLE_WINDOW_SQL " ORDER BY f.at DESC OFFSET $2::int - 1 LIMIT 1)"
     "  AS retry_after "
     "FROM login_failure WHERE email_key = lower($1::text)"
     " AND at > now() - " THROTTLE_WINDOW_SQL},
    {"tok_failure_record",
     "WITH pruned AS (DELETE FROM login_failure WHERE at < now() - interval '1 day') "
     "INSERT INTO login_failure (email_key) VALUES (lower($1::text))"},
    {"tok_failure_clear", "DELETE FROM login_failure WHERE email_key = lower($1::text)"},
    {"tok_user_by_email", "SELECT id, role, organisation_id, disabled, password_hash FROM app_user"
                          " WHERE lower(email) = lower($1::text)"},
    /* $1 user, $2 family (NULL starts a new one), $3 hex SHA-256 of the token, $4 lifetime in
     * seconds. Inserts nothing for a disabled user. */
    {"tok_insert", "INSERT INTO refresh_token (user_id, family_id, token_hash, expires_at)"
                   " SELECT u.id, coalesce($2::uuid, gen_random_uuid()), decode($3::text, 'hex'),"
                   "  now() + make_interval(secs => $4::int)"
                   " FROM app_user u WHERE u.id = $1::uuid AND NOT u.disabled RETURNING id"},
    {"tok_get_locked", "SELECT t.id, t.family_id, t.user_id, t.used_at, t.revoked_at, t.expires_at "
                       "<= now() AS expired, u.role, u.organisation_id, u.disabled "
                       "FROM refresh_token t JOIN app_user u ON u.id = t.user_id"
                       " WHERE t.token_hash = decode($1::text, 'hex') FOR UPDATE OF t"},
    {"tok_use", "UPDATE refresh_token SET used_at = now() WHERE id = $1::uuid"},
    {"tok_revoke_family", "UPDATE refresh_token SET revoked_at = now() WHERE family_id = $1::uuid"
                          " AND revoked_at IS NULL"},
    {"tok_logout",
     "UPDATE refresh_token SET revoked_at = now() WHERE revoked_at IS NULL AND family_id ="
     " (SELECT family_id FROM refresh_token WHERE token_hash = decode($1::text, 'hex'))"},
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

/* Hex SHA-256 of a refresh token's text: the only form in which one is stored. */
static void
refresh_digest(const char *token, char hex[65])
{
    unsigned char digest[32];

    codec_sha256(token, strlen(token), digest);
    codec_hex(digest, sizeof(digest), hex);
}

/* Makes a new refresh token into `token` and its digest into `hex`. Returns 0, or -1. */
static int
refresh_new(char token[REFRESH_B64_LEN], char hex[65])
{
    unsigned char raw[REFRESH_BYTES];

    if (codec_random(raw, sizeof(raw)) != 0) {
        return -1;
    }
    codec_b64url_encode(raw, sizeof(raw), token);
    OPENSSL_cleanse(raw, sizeof(raw));
    refresh_digest(token, hex);
    return 0;
}

/* Starts a sign-in attempt for `email` in its own short transaction: under a per-email lock,
 * answers 429 when THROTTLE_LIMIT failures fall in the window; otherwise records this attempt
 * as a failure before the password is checked (a success clears them), so that attempts made
 * at the same moment are all counted. Returns 0, or the status of the problem already sent. */
int
tokens_attempt_or_problem(struct req *r, const char *email)
{
    PGresult *res = NULL, *fail = NULL;
    char limit[16];
    const char *params[2] = {email, limit};
    int status = 0;

    snprintf(limit, sizeof(limit), "%d", THROTTLE_LIMIT);
    if ((status = http_begin_or_problem(r, 0)) != 0) {
        goto out;
    }
    res = db_exec(r->db, "tok_throttle_lock", 1, params);
    if (!db_ok(res)) {
        status = problem_from_db(r, res);
        goto out;
    }
    PQclear(res);
    res = db_exec(r->db, "tok_throttle_check", 2, params);
    if (!db_ok(res) || PQntuples(res) != 1) {
        status = problem_from_db(r, res);
        goto out;
    }
    if (atoi(PQgetvalue(res, 0, 0)) >= THROTTLE_LIMIT) {
        const char *retry = db_value(res, 0, "retry_after");

        db_rollback(r->db);
        http_add_header(r, "Retry-After", retry != NULL ? retry : "60");
        status = problem_send(
            r, PROBLEM_TOO_MANY_REQUESTS,
            "too many failed password attempts for this account; try again in %s seconds",
            retry != NULL ? retry : "60");
        goto out;
    }
    PQclear(res);
    res = db_exec(r->db, "tok_failure_record", 1, params);
    if (!db_ok(res)) {
        status = problem_from_db(r, res);
        goto out;
    }
    if (db_commit(r->db, &fail) != 0) {
        status = problem_from_db(r, fail);
        goto out;
    }
out:
    PQclear(fail);
    PQclear(res);
    return status;
}

/* Sends the token response (RFC 6749 section 5.1). Returns the status sent. */
static int
send_tokens(struct req *r, const char *access, const char *refresh)
{
    json_t *body = json_pack("{s:s, s:s, s:i, s:s}", "access_token", access, "token_type", "Bearer",
                             "expires_in", config.access_ttl, "refresh_token", refresh);
    int status;

    if (body == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    status = http_send_json(r, 200, body);
    json_decref(body);
    return status;
}

int
tokens_create(struct req *r)
{
    json_t *in = NULL, *errors = json_array();
    PGresult *res = NULL, *fail = NULL;
    const char *email, *password, *params[4];
    char stored[PASSWORD_HASH_MAX] = "", user_id[40] = "", role[16] = "", org[40] = "";
    char refresh[REFRESH_B64_LEN], hex[65], ttl[16];
    char *access = NULL;
    int status, found = 0, disabled = 1, match;

    refresh[0] = '\0';
    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    if (validate_fields(in, signin_fields, 1, errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    email = json_string_value(json_object_get(in, "email"));
    password = json_string_value(json_object_get(in, "password"));
    if ((status = tokens_attempt_or_problem(r, email)) != 0) {
        goto out;
    }
    params[0] = email;
    res = db_exec(r->db, "tok_user_by_email", 1, params);
    if (!db_ok(res)) {
        status = problem_from_db(r, res);
        goto out;
    }
    if (PQntuples(res) == 1 && strlen(PQgetvalue(res, 0, 4)) < sizeof(stored)) {
        found = 1;
        snprintf(user_id, sizeof(user_id), "%s", PQgetvalue(res, 0, 0));
        snprintf(role, sizeof(role), "%s", PQgetvalue(res, 0, 1));
        snprintf(org, sizeof(org), "%s", PQgetvalue(res, 0, 2));
        disabled = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
        snprintf(stored, sizeof(stored), "%s", PQgetvalue(res, 0, 4));
    }
    PQclear(res);
    res = NULL;
    /* One hash whatever the account's state, with no connection held meanwhile. */
    router_db_pause(r);
    match = password_verify(password, found ? stored : NULL);
    if ((status = router_db_resume_or_problem(r)) != 0) {
        goto out;
    }
    if (!match || !found || disabled) {
        status = problem_send(r, PROBLEM_INVALID_CREDENTIALS, "the email or password is wrong");
        goto out;
    }
    access = auth_issue_access(user_id, role, org, (long long)time(NULL));
    if (access == NULL || refresh_new(refresh, hex) != 0) {
        fprintf(stderr, "tokens: cannot issue tokens request_id=%s\n", r->request_id);
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
        goto out;
    }
    snprintf(ttl, sizeof(ttl), "%d", config.refresh_ttl);
    if ((status = http_begin_or_problem(r, 0)) != 0) {
        goto out;
    }
    res = db_exec(r->db, "tok_failure_clear", 1, params);
    if (!db_ok(res)) {
        status = problem_from_db(r, res);
        goto out;
    }
    PQclear(res);
    params[0] = user_id;
    params[1] = NULL;
    params[2] = hex;
    params[3] = ttl;
    res = db_exec(r->db, "tok_insert", 4, params);
    if (!db_ok(res)) {
        status = problem_from_db(r, res);
        goto out;
    }
    if (PQntuples(res) != 1) {
        /* Disabled since we looked: the same answer as any other refusal. */
        db_rollback(r->db);
        status = problem_send(r, PROBLEM_INVALID_CREDENTIALS, "the email or password is wrong");
        goto out;
    }
    if (db_commit(r->db, &fail) != 0) {
        status = problem_from_db(r, fail);
        goto out;
    }
    status = send_tokens(r, access, refresh);
out:
    OPENSSL_cleanse(stored, sizeof(stored));
    OPENSSL_cleanse(refresh, sizeof(refresh));
    free(access);
    PQclear(fail);
    PQclear(res);
    json_decref(errors);
    json_decref(in);
    return status;
}

int
tokens_refresh(struct req *r)
{
    json_t *in = NULL, *errors = json_array();
    PGresult *res = NULL, *step = NULL, *fail = NULL;
    const char *presented, *params[4];
    char hex[65], next[REFRESH_B64_LEN], next_hex[65], ttl[16], id[40], family[40], user[40];
    char *access = NULL;
    int status;

    next[0] = '\0';
    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    if (validate_fields(in, refresh_fields, 1, errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    presented = json_string_value(json_object_get(in, "refresh_token"));
    if (strlen(presented) > REFRESH_TEXT_MAX) {
        status = problem_send(r, PROBLEM_INVALID_GRANT, "the refresh token is not valid");
        goto out;
    }
    refresh_digest(presented, hex);
    params[0] = hex;
    if ((status = http_begin_or_problem(r, 0)) != 0) {
        goto out;
    }
    /* The row lock makes two refreshes with one token run one after the other: the second
     * sees the first's used_at and is treated as a reuse. */
    res = db_exec(r->db, "tok_get_locked", 1, params);
    if (!db_ok(res)) {
        status = problem_from_db(r, res);
        goto out;
    }
    if (PQntuples(res) != 1) {
        status = problem_send(r, PROBLEM_INVALID_GRANT, "the refresh token is not valid");
        goto out;
    }
    snprintf(id, sizeof(id), "%s", db_value(res, 0, "id"));
    snprintf(family, sizeof(family), "%s", db_value(res, 0, "family_id"));
    snprintf(user, sizeof(user), "%s", db_value(res, 0, "user_id"));
    if (db_value(res, 0, "used_at") != NULL || db_value(res, 0, "revoked_at") != NULL) {
        /* Reuse: someone holds a copy. End the whole chain, and keep that even though the
         * answer is an error. */
        params[0] = family;
        step = db_exec(r->db, "tok_revoke_family", 1, params);
        if (!db_ok(step)) {
            status = problem_from_db(r, step);
            goto out;
        }
        if (db_commit(r->db, &fail) != 0) {
            status = problem_from_db(r, fail);
            goto out;
        }
        fprintf(stderr,
                "tokens: refresh token reused; family %s of user %s revoked request_id=%s\n",
                family, user, r->request_id);
        status = problem_send(r, PROBLEM_INVALID_GRANT, "the refresh token is not valid");
        goto out;
    }
    if (strcmp(db_value(res, 0, "expired"), "t") == 0
        || strcmp(db_value(res, 0, "disabled"), "t") == 0) {
        db_rollback(r->db);
        status = problem_send(r, PROBLEM_INVALID_GRANT, "the refresh token is not valid");
        goto out;
    }
    /* Signed before anything is written: if signing fails, the presented token still works. */
    access = auth_issue_access(user, db_value(res, 0, "role"), db_value(res, 0, "organisation_id"),
                               (long long)time(NULL));
    if (access == NULL || refresh_new(next, next_hex) != 0) {
        fprintf(stderr, "tokens: cannot issue tokens request_id=%s\n", r->request_id);
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
        goto out;
    }
    params[0] = id;
    step = db_exec(r->db, "tok_use", 1, params);
    if (!db_ok(step)) {
        status = problem_from_db(r, step);
        goto out;
    }
    PQclear(step);
    snprintf(ttl, sizeof(ttl), "%d", config.refresh_ttl);
    params[0] = user;
    params[1] = family;
    params[2] = next_hex;
    params[3] = ttl;
    step = db_exec(r->db, "tok_insert", 4, params);
    if (!db_ok(step) || PQntuples(step) != 1) {
        status = db_ok(step)
                     ? problem_send(r, PROBLEM_INVALID_GRANT, "the refresh token is not valid")
                     : problem_from_db(r, step);
        goto out;
    }
    if (db_commit(r->db, &fail) != 0) {
        status = problem_from_db(r, fail);
        goto out;
    }
    status = send_tokens(r, access, next);
out:
    OPENSSL_cleanse(next, sizeof(next));
    free(access);
    PQclear(fail);
    PQclear(step);
    PQclear(res);
    json_decref(errors);
    json_decref(in);
    return status;
}

int
tokens_logout(struct req *r)
{
    json_t *in = NULL, *errors = json_array();
    PGresult *res = NULL;
    const char *presented, *params[1];
    char hex[65];
    int status;

    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    if (validate_fields(in, refresh_fields, 1, errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    presented = json_string_value(json_object_get(in, "refresh_token"));
    /* Unknown, used or malformed tokens get 204 as well: logout is no oracle. */
    if (strlen(presented) <= REFRESH_TEXT_MAX) {
        refresh_digest(presented, hex);
        params[0] = hex;
        res = db_exec(r->db, "tok_logout", 1, params);
        if (!db_ok(res)) {
            status = problem_from_db(r, res);
            goto out;
        }
    }
    status = http_send_empty(r, 204);
out:
    PQclear(res);
    json_decref(errors);
    json_decref(in);
    return status;
}

int
tokens_jwks(struct req *r)
{
    json_t *body = keys_jwks();
    int status;

    if (body == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    status = http_send_json(r, 200, body);
    json_decref(body);
    return status;
}
