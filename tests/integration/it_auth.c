/* it_auth.c: sign-in, refresh, logout, the JWKS and bearer-token checks, over HTTP against the
 * real server and database.
 *
 * Bad tokens are made here with libjwt and the server's own signing key (from the harness's key
 * directory), so that exactly one thing is wrong with each: an expiry, an audience, an issuer,
 * a signature, or the algorithm. */
#include <dirent.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <jwt.h>

#include "itlib.h"

#define ADMIN_EMAIL "admin@auth.example"
#define STAFF_EMAIL "staff@auth.example"
#define PASSWORD    "correct horse battery"

struct fixture {
    IT_FX_HEAD;
    char staff_id[40];
    char org_id[40];
};

/* ---- Helpers ------------------------------------------------------------------------------- */

/* Returns a new reference: the JSON object in part `part` (0 header, 1 payload) of a compact
 * JWS. Fails the test when it is not one. */
static json_t *
jws_part(const char *token, int part)
{
    const char *start = token, *end;
    char *raw;
    size_t len = 0;
    json_t *obj;

    while (part-- > 0) {
        start = strchr(start, '.');
        assert_non_null(start);
        start++;
    }
    end = strchr(start, '.');
    assert_non_null(end);
    raw = (char *)it_b64url_decode(start, (size_t)(end - start), &len);
    assert_non_null(raw);
    obj = json_loadb(raw, len, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    assert_true(json_is_object(obj));
    return obj;
}

/* The server's signing key (the one PEM file keygen wrote into its key directory); malloc'd. */
static char *
server_private_pem(struct it_server *s)
{
    DIR *d = opendir(s->key_dir);
    struct dirent *de;
    char *pem = NULL, *path;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 4 && strcmp(de->d_name + n - 4, ".pem") == 0) {
            path = it_fmt("%s/%s", s->key_dir, de->d_name);
            pem = it_read_file(path);
            free(path);
            break;
        }
    }
    closedir(d);
    assert_non_null(pem);
    return pem;
}

/* The public half of a private key, as PEM; malloc'd. */
static char *
public_pem(const char *private_pem)
{
    BIO *in = BIO_new_mem_buf(private_pem, -1), *out = BIO_new(BIO_s_mem());
    EVP_PKEY *key = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
    char *mem, *copy;
    long n;

    assert_non_null(key);
    assert_int_equal(PEM_write_bio_PUBKEY(out, key), 1);
    n = BIO_get_mem_data(out, &mem);
    copy = malloc((size_t)n + 1);
    assert_non_null(copy);
    memcpy(copy, mem, (size_t)n);
    copy[n] = '\0';
    EVP_PKEY_free(key);
    BIO_free(in);
    BIO_free(out);
    return copy;
}

/* Signs `claims` (JSON text) with libjwt: `alg` with `key`, header kid `kid`. Malloc'd. */
static char *
sign(jwt_alg_t alg, const char *key, const char *kid, const char *claims)
{
    jwt_t *jwt = NULL;
    char *token;

    assert_int_equal(jwt_new(&jwt), 0);
    assert_int_equal(jwt_add_grants_json(jwt, claims), 0);
    if (kid != NULL) {
        assert_int_equal(jwt_add_header(jwt, "kid", kid), 0);
    }
    assert_int_equal(
        jwt_set_alg(jwt, alg, (const unsigned char *)key, key != NULL ? (int)strlen(key) : 0), 0);
    token = jwt_encode_str(jwt);
    assert_non_null(token);
    jwt_free(jwt);
    return token;
}

/* Claims for the admin, `exp_offset`/`nbf_offset` seconds from now, with `iss` and `aud`. */
static char *
claims(struct fixture *f, const char *iss, const char *aud, long exp_offset, long nbf_offset)
{
    long now = (long)time(NULL);

    return it_fmt("{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"%s\",\"role\":\"admin\","
                  "\"iat\":%ld,\"nbf\":%ld,\"exp\":%ld,\"jti\":\"0123456789abcdef\"}",
                  iss, aud, f->admin_id, now + nbf_offset, now + nbf_offset, now + exp_offset);
}

/* The iss and aud the server puts in its tokens (read from a real one). */
static void
server_iss_aud(struct fixture *f, char *iss, char *aud, size_t len)
{
    char *token = it_login(f->s, ADMIN_EMAIL, PASSWORD);
    json_t *p = jws_part(token, 1);

    snprintf(iss, len, "%s", json_string_value(json_object_get(p, "iss")));
    snprintf(aud, len, "%s", json_string_value(json_object_get(p, "aud")));
    json_decref(p);
    free(token);
}

/* The kid of the server's (only) key, from the JWKS. */
static void
server_kid(struct fixture *f, char *kid, size_t len)
{
    struct it_resp r = {0};

    it_get(f->s, "/.well-known/jwks.json", NULL, &r);
    it_assert_status(&r, 200);
    snprintf(kid, len, "%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(r.json, "keys"), 0), "kid")));
    it_resp_free(&r);
}

/* Asserts that `token` is refused on a route that needs one, the way RFC 6750 says. */
static void
assert_token_refused(struct it_server *s, const char *token)
{
    struct it_resp r = {0};

    it_get(s, "/v1/users/me", token, &r);
    it_assert_problem(&r, 401);
    assert_string_equal(it_json_str(&r, "type"), "/problems/invalid-token");
    it_assert_header(&r, "WWW-Authenticate", "Bearer");
    it_assert_header(&r, "WWW-Authenticate", "error=\"invalid_token\"");
    it_resp_free(&r);
}

static void
assert_token_accepted(struct it_server *s, const char *token)
{
    it_expect(s, "GET", "/v1/users/me", token, NULL, 200);
}

static int
sign_in(struct it_server *s, const char *email, const char *password, struct it_resp *r)
{
    char *body = it_fmt("{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    int rc = it_post_json(s, "/v1/auth/token", NULL, body, r);

    free(body);
    return rc;
}

static int
refresh(struct it_server *s, const char *token, struct it_resp *r)
{
    char *body = it_fmt("{\"refresh_token\":\"%s\"}", token);
    int rc = it_post_json(s, "/v1/auth/refresh", NULL, body, r);

    free(body);
    return rc;
}

/* Creates a licensee account through the API; returns its id (malloc'd). */
static char *
create_user(struct fixture *f, const char *admin_token, const char *email, const char *role)
{
    char *body = it_fmt("{\"email\":\"%s\",\"password\":\"%s\",\"role\":\"%s\","
                        "\"organisation_id\":\"%s\"}",
                        email, PASSWORD, role, f->org_id);
    char *id = it_post_created(f->s, admin_token, body, NULL, "/v1/users");

    free(body);
    return id;
}

static double
elapsed_ms(const struct timespec *a)
{
    struct timespec b;

    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* ---- Fixture ------------------------------------------------------------------------------- */

static const char *const trusted_proxy_env[] = {"REGISTRY_TRUSTED_PROXY=127.0.0.1", NULL};

static int
setup(void **state)
{
    struct fixture *f =
        it_fx_start(sizeof(*f), "auth", trusted_proxy_env, ADMIN_EMAIL, PASSWORD, IT_FX_ID);
    char *org, *staff;

    org = it_create_org_json(f->s, f->admin,
                             "{\"name\":\"Auth Test Org\",\"kind\":\"charity\",\"address_lines\":"
                             "[\"1 High St\"],\"town\":\"Chatham\",\"postcode\":\"ME4 4AB\"}",
                             NULL);
    snprintf(f->org_id, sizeof(f->org_id), "%s", org);
    free(org);
    staff = create_user(f, f->admin, STAFF_EMAIL, "org_staff");
    snprintf(f->staff_id, sizeof(f->staff_id), "%s", staff);
    free(staff);
    *state = f;
    return 0;
}

/* ---- Sign-in ------------------------------------------------------------------------------- */

static void
test_signin_token_shape(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0}, jwks = {0};
    json_t *header, *payload, *key;
    const char *access, *rt;
    size_t i;
    int kid_found = 0;

    sign_in(f->s, STAFF_EMAIL, PASSWORD, &r);
    it_assert_status(&r, 200);
    it_assert_header(&r, "Content-Type", "application/json");
    it_assert_header(&r, "Cache-Control", "no-store");
    assert_int_equal(json_object_size(r.json), 4);
    assert_string_equal(it_json_str(&r, "token_type"), "Bearer");
    assert_int_equal(json_integer_value(json_object_get(r.json, "expires_in")), 900);
    access = it_json_str(&r, "access_token");
    rt = it_json_str(&r, "refresh_token");
    assert_non_null(access);
    assert_non_null(rt);

    /* Header: ES256 with the kid of a key the JWKS publishes. */
    header = jws_part(access, 0);
    assert_string_equal(json_string_value(json_object_get(header, "alg")), "ES256");
    assert_true(json_is_string(json_object_get(header, "kid")));
    it_get(f->s, "/.well-known/jwks.json", NULL, &jwks);
    it_assert_status(&jwks, 200);
    json_array_foreach(json_object_get(jwks.json, "keys"), i, key)
    {
        assert_string_equal(json_string_value(json_object_get(key, "kty")), "EC");
        assert_string_equal(json_string_value(json_object_get(key, "crv")), "P-256");
        assert_string_equal(json_string_value(json_object_get(key, "alg")), "ES256");
        assert_null(json_object_get(key, "d")); /* never the private part */
        if (strcmp(json_string_value(json_object_get(key, "kid")),
                   json_string_value(json_object_get(header, "kid")))
            == 0) {
            kid_found = 1;
        }
    }
    assert_true(kid_found);

    /* Claims. */
    payload = jws_part(access, 1);
    assert_string_equal(json_string_value(json_object_get(payload, "iss")), "mpact-test");
    assert_string_equal(json_string_value(json_object_get(payload, "aud")), "mpact-test");
    assert_string_equal(json_string_value(json_object_get(payload, "sub")), f->staff_id);
    assert_string_equal(json_string_value(json_object_get(payload, "role")), "org_staff");
    assert_string_equal(json_string_value(json_object_get(payload, "org")), f->org_id);
    assert_true(json_is_integer(json_object_get(payload, "iat")));
    assert_true(json_is_integer(json_object_get(payload, "nbf")));
    assert_true(json_is_integer(json_object_get(payload, "exp")));
    assert_int_equal(json_integer_value(json_object_get(payload, "exp"))
                         - json_integer_value(json_object_get(payload, "iat")),
                     900);
    assert_true(json_is_string(json_object_get(payload, "jti")));
    assert_true(labs((long)json_integer_value(json_object_get(payload, "iat")) - (long)time(NULL))
                < 60);

    /* The refresh token: 32 random bytes as base64url, stored only as its SHA-256. */
    assert_int_equal(strlen(rt), 43);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM refresh_token WHERE user_id = $1::uuid"
                              " AND token_hash = sha256(convert_to($2, 'UTF8'))"
                              " AND expires_at BETWEEN now() + interval '29 days 23 hours'"
                              " AND now() + interval '30 days 1 hour'",
                              f->staff_id, rt),
                     1);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM refresh_token"
                              " WHERE position(convert_to($1, 'UTF8') IN token_hash) > 0",
                              rt),
                     0);
    assert_token_accepted(f->s, access);
    json_decref(header);
    json_decref(payload);
    it_resp_free(&jwks);
    it_resp_free(&r);
}

static void
test_signin_admin_has_no_org(void **state)
{
    struct fixture *f = *state;
    char *token = it_login(f->s, "Admin@Auth.Example", PASSWORD); /* email case does not matter */
    json_t *p = jws_part(token, 1);

    assert_string_equal(json_string_value(json_object_get(p, "role")), "admin");
    assert_string_equal(json_string_value(json_object_get(p, "sub")), f->admin_id);
    assert_null(json_object_get(p, "org"));
    json_decref(p);
    free(token);
}

/* Wrong password, unknown email and disabled account: one answer, about one duration. */
static void
test_signin_failures_look_alike(void **state)
{
    struct fixture *f = *state;
    struct it_resp wrong = {0}, unknown = {0}, disabled = {0};
    struct timespec t0;
    double wrong_ms = 1e9, unknown_ms = 1e9, ms;
    char *admin = it_login(f->s, ADMIN_EMAIL, PASSWORD);
    char *id = create_user(f, admin, "disabled@auth.example", "org_staff");
    char *alike = create_user(f, admin, "alike@auth.example", "org_staff");
    int i;

    PQclear(it_sql(f->s, "UPDATE app_user SET disabled = true WHERE id = $1::uuid", id));
    for (i = 0; i < 3; i++) {
        it_resp_free(&wrong);
        it_resp_free(&unknown);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        sign_in(f->s, "alike@auth.example", "not the password", &wrong);
        ms = elapsed_ms(&t0);
        wrong_ms = ms < wrong_ms ? ms : wrong_ms;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        sign_in(f->s, "nobody-here@auth.example", "not the password", &unknown);
        ms = elapsed_ms(&t0);
        unknown_ms = ms < unknown_ms ? ms : unknown_ms;
    }
    sign_in(f->s, "disabled@auth.example", PASSWORD, &disabled);
    it_assert_problem(&wrong, 401);
    assert_string_equal(it_json_str(&wrong, "type"), "/problems/invalid-credentials");
    /* Byte-identical bodies (the instance is the same path for all three). */
    it_assert_problem(&unknown, 401);
    it_assert_problem(&disabled, 401);
    assert_string_equal(wrong.body, unknown.body);
    assert_string_equal(wrong.body, disabled.body);
    /* An unknown email spends a password hash too: no tenfold difference in time. */
    assert_true(unknown_ms > wrong_ms * 0.3);
    it_resp_free(&wrong);
    it_resp_free(&unknown);
    it_resp_free(&disabled);
    free(alike);
    free(id);
    free(admin);
}

static void
test_signin_validation(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    static const char *const type_json[] = {"Content-Type: text/plain", NULL};

    it_post_json(f->s, "/v1/auth/token", NULL,
                 "{\"email\":\"v@auth.example\",\"password\":\"x\",\"remember\":true}", &r);
    it_assert_problem(&r, 422);
    assert_non_null(strstr(r.body, "remember"));
    it_resp_free(&r);
    it_post_json(f->s, "/v1/auth/token", NULL, "{\"email\":\"v@auth.example\"}", &r);
    it_assert_problem(&r, 422);
    assert_non_null(strstr(r.body, "password"));
    it_resp_free(&r);
    it_expect(f->s, "POST", "/v1/auth/token", NULL, "{\"email\":\"v@auth.example\",", 400);
    it_request(f->s, "POST", "/v1/auth/token", NULL, type_json,
               "{\"email\":\"v@auth.example\",\"password\":\"x\"}", &r);
    it_assert_problem(&r, 415);
    it_resp_free(&r);
    it_expect(f->s, "GET", "/v1/auth/token", NULL, NULL, 405);
    /* None of these was an attempt at a password. */
    assert_int_equal(
        it_count(f->s, "SELECT count(*) FROM login_attempt WHERE email_key = 'v@auth.example'"), 0);
}

/* Sign-in as client `addr` behind the trusted proxy (the fixture trusts 127.0.0.1). */
static void
sign_in_from(struct it_server *s,
             const char *addr,
             const char *email,
             const char *password,
             struct it_resp *r)
{
    char *xff = it_fmt("X-Forwarded-For: %s", addr);
    char *body = it_fmt("{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    const char *headers[] = {"Content-Type: application/json", xff, NULL};

    it_request(s, "POST", "/v1/auth/token", NULL, headers, body, r);
    free(body);
    free(xff);
}

/* The Retry-After of a 429 from sign-in as `addr`, failing unless that is the answer. */
static long
throttled_retry(struct it_server *s, const char *addr, const char *email, const char *password)
{
    struct it_resp r = {0};
    long retry;

    sign_in_from(s, addr, email, password, &r);
    it_assert_problem(&r, 429);
    assert_string_equal(it_json_str(&r, "type"), "/problems/too-many-requests");
    assert_non_null(it_header(&r, "Retry-After"));
    retry = strtol(it_header(&r, "Retry-After"), NULL, 10);
    assert_non_null(strstr(it_json_str(&r, "detail"), it_header(&r, "Retry-After")));
    it_resp_free(&r);
    return retry;
}

#define FAILURES_SQL                                                                               \
    "SELECT count(*) FROM login_attempt WHERE email_key = $1 AND address = $2"                     \
    " AND failed_at IS NOT NULL"

/* Failures from one address throttle that address only, with a wait that doubles with each
 * failure past the fifth; the owner's right password from elsewhere is never blocked. */
static void
test_signin_throttled_then_released(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    const char *email = "throttle@auth.example", *a = "198.51.100.10", *b = "198.51.100.11";
    char *admin = it_login(f->s, ADMIN_EMAIL, PASSWORD);
    char *id = create_user(f, admin, email, "org_staff");
    long retry5, retry[3], retry_max; /* retry: after the 6th, 7th and 8th failure */
    int i;

    for (i = 0; i < 5; i++) {
        sign_in_from(f->s, a, i % 2 ? "Throttle@Auth.example" : email, "not the password", &r);
        it_assert_problem(&r, 401);
        it_resp_free(&r);
    }
    assert_int_equal(it_count(f->s, FAILURES_SQL, email, a), 5);
    /* Five failures are free; then the address waits, for the right password as well. */
    retry5 = throttled_retry(f->s, a, email, "not the password");
    assert_int_equal(retry5, 1);
    throttled_retry(f->s, a, email, PASSWORD);
    /* 429s are not counted. */
    assert_int_equal(it_count(f->s, FAILURES_SQL, email, a), 5);
    /* The owner, from another address, is not blocked by those failures; neither is another
     * account from the throttled address. */
    sign_in_from(f->s, b, email, PASSWORD, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    sign_in_from(f->s, a, STAFF_EMAIL, PASSWORD, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    /* B's success leaves A's failures alone. */
    assert_int_equal(it_count(f->s, FAILURES_SQL, email, a), 5);

    /* Each failure past the wait doubles it: 1, 2, 4, 8 seconds (Retry-After rounds up the time
     * left, which a slow machine may have eaten into by up to a second). */
    for (i = 0; i < 3; i++) {
        PQclear(it_sql(f->s,
                       "UPDATE login_attempt SET started_at = started_at - interval '1 minute',"
                       " failed_at = failed_at - interval '1 minute' WHERE email_key = $1",
                       email));
        sign_in_from(f->s, a, email, "not the password", &r);
        it_assert_problem(&r, 401);
        it_resp_free(&r);
        retry[i] = throttled_retry(f->s, a, email, "not the password");
    }
    assert_true(retry[0] >= 1 && retry[0] <= 2);
    assert_true(retry[1] >= 3 && retry[1] <= 4);
    assert_true(retry[2] >= 7 && retry[2] <= 8);
    assert_int_equal(it_count(f->s, FAILURES_SQL, email, a), 8);
    /* The wait stops growing at 15 minutes. */
    PQclear(it_sql(f->s,
                   "INSERT INTO login_attempt (email_key, address, started_at, failed_at)"
                   " SELECT $1, $2, now() - interval '1 hour', now() - interval '1 hour'"
                   " FROM generate_series(1, 40)",
                   email, a));
    retry_max = throttled_retry(f->s, a, email, PASSWORD);
    assert_true(retry_max > 890 && retry_max <= 900);

    /* The wait passes: the owner gets in from A too, and A's failures are forgotten. */
    PQclear(it_sql(f->s,
                   "UPDATE login_attempt SET started_at = started_at - interval '20 minutes',"
                   " failed_at = failed_at - interval '20 minutes' WHERE email_key = $1",
                   email));
    sign_in_from(f->s, a, email, PASSWORD, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    assert_int_equal(it_count(f->s, FAILURES_SQL, email, a), 0);
    assert_int_equal(
        it_count(f->s, "SELECT count(*) FROM login_attempt WHERE email_key = $1", email), 0);
    free(id);
    free(admin);
}

/* Failures older than a day no longer count. */
static void
test_signin_throttle_window(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    const char *email = STAFF_EMAIL, *a = "198.51.100.12";

    PQclear(it_sql(f->s,
                   "INSERT INTO login_attempt (email_key, address, started_at, failed_at)"
                   " SELECT $1, $2, now() - interval '25 hours', now() - interval '25 hours'"
                   " FROM generate_series(1, 10)",
                   email, a));
    sign_in_from(f->s, a, email, PASSWORD, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
}

/* An unknown email is throttled exactly like a known one (no oracle), and old rows are pruned. */
static void
test_signin_throttle_unknown_email(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    const char *email = "ghost@auth.example", *a = "198.51.100.13";
    int i;

    PQclear(it_sql(f->s,
                   "INSERT INTO login_attempt (email_key, address, started_at, failed_at)"
                   " VALUES ($1, $2, now() - interval '3 days', now() - interval '3 days')",
                   email, a));
    for (i = 0; i < 5; i++) {
        sign_in_from(f->s, a, email, "not the password", &r);
        it_assert_problem(&r, 401);
        it_resp_free(&r);
    }
    assert_int_equal(throttled_retry(f->s, a, email, "not the password"), 1);
    assert_int_equal(it_count(f->s, FAILURES_SQL, email, a), 5);
}

struct signin_race {
    struct it_server *s;
    pthread_barrier_t *start;
    long status;
};

static void *
race_signin(void *arg)
{
    struct signin_race *x = arg;
    struct it_resp r = {0};

    pthread_barrier_wait(x->start);
    sign_in(x->s, STAFF_EMAIL, PASSWORD, &r);
    x->status = r.status;
    it_resp_free(&r);
    return NULL;
}

/* Eight correct sign-ins to one account from one address at the same moment all succeed: an
 * attempt is not counted as a failure before its password is checked. */
static void
test_signin_concurrent_correct(void **state)
{
    struct fixture *f = *state;
    struct signin_race x[8];
    pthread_t t[8];
    pthread_barrier_t start;
    int i, ok = 0;

    pthread_barrier_init(&start, NULL, 8);
    for (i = 0; i < 8; i++) {
        x[i].s = f->s;
        x[i].start = &start;
        x[i].status = 0;
        assert_int_equal(pthread_create(&t[i], NULL, race_signin, &x[i]), 0);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ok += x[i].status == 200;
        if (x[i].status != 200) {
            print_message("concurrent sign-in %d answered %ld\n", i, x[i].status);
        }
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(ok, 8);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM login_attempt WHERE email_key = $1"
                              " AND address = '127.0.0.1'",
                              STAFF_EMAIL),
                     0);
}

/* ---- Token epochs -------------------------------------------------------------------------- */

/* PATCHes user `id` as `admin` with `json` (with the ETag just read); asserts 200. */
static void
patch_user(struct fixture *f, const char *admin, const char *id, const char *json)
{
    struct it_resp r = {0};
    char *etag;

    it_getf(f->s, admin, &r, "/v1/users/%s", id);
    it_assert_status(&r, 200);
    etag = strdup(it_header(&r, "ETag"));
    it_resp_free(&r);
    it_expectf(f->s, "PATCH", admin, etag, json, 200, "/v1/users/%s", id);
    free(etag);
}

/* Disabling a user ends their access tokens at once (the token was verified and cached before),
 * not when they expire; signed in again once enabled, they get a token that works. */
static void
test_disabled_user_token_ends_at_once(void **state)
{
    struct fixture *f = *state;
    char *admin = it_login(f->s, ADMIN_EMAIL, PASSWORD);
    char *id = create_user(f, admin, "epoch-disabled@auth.example", "org_staff");
    char *token = it_login(f->s, "epoch-disabled@auth.example", PASSWORD), *again;

    assert_token_accepted(f->s, token);
    assert_token_accepted(f->s, token); /* now from the verified-token cache */
    patch_user(f, admin, id, "{\"disabled\":true}");
    assert_token_refused(f->s, token);
    assert_int_equal(
        it_count(f->s, "SELECT epoch FROM principal_epoch WHERE principal_id = $1::uuid", id), 1);
    patch_user(f, admin, id, "{\"disabled\":false}");
    assert_token_refused(f->s, token);
    again = it_login(f->s, "epoch-disabled@auth.example", PASSWORD);
    assert_token_accepted(f->s, again);
    /* A role change ends the tokens that carry the old role. */
    patch_user(f, admin, id, "{\"role\":\"org_admin\"}");
    assert_token_refused(f->s, again);
    free(again);
    free(token);
    free(id);
    free(admin);
}

/* A change this instance did not make (another instance, or SQL) is seen within the epoch poll:
 * the token is refused within a few seconds, and stays refused. */
static void
test_epoch_change_elsewhere_seen(void **state)
{
    struct fixture *f = *state;
    char *admin = it_login(f->s, ADMIN_EMAIL, PASSWORD);
    char *id = create_user(f, admin, "epoch-elsewhere@auth.example", "org_staff");
    char *token = it_login(f->s, "epoch-elsewhere@auth.example", PASSWORD);
    struct it_resp r = {0};
    int waited = 0;

    assert_token_accepted(f->s, token);
    PQclear(it_sql(f->s, "UPDATE app_user SET disabled = true WHERE id = $1::uuid", id));
    for (;;) {
        it_get(f->s, "/v1/users/me", token, &r);
        if (r.status == 401 || waited >= 5000) {
            break;
        }
        it_resp_free(&r);
        it_sleep_ms(100);
        waited += 100;
    }
    it_assert_problem(&r, 401);
    it_resp_free(&r);
    assert_token_refused(f->s, token);
    free(token);
    free(id);
    free(admin);
}

/* ---- Refresh and logout -------------------------------------------------------------------- */

static void
test_refresh_rotates(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    char *r1 = NULL, *r2, *r3, *access = it_login_tokens(f->s, STAFF_EMAIL, PASSWORD, &r1);
    json_t *p;

    refresh(f->s, r1, &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "token_type"), "Bearer");
    assert_int_equal(json_integer_value(json_object_get(r.json, "expires_in")), 900);
    r2 = strdup(it_json_str(&r, "refresh_token"));
    assert_string_not_equal(r1, r2);
    assert_string_not_equal(access, it_json_str(&r, "access_token"));
    p = jws_part(it_json_str(&r, "access_token"), 1);
    assert_string_equal(json_string_value(json_object_get(p, "sub")), f->staff_id);
    assert_string_equal(json_string_value(json_object_get(p, "org")), f->org_id);
    json_decref(p);
    assert_token_accepted(f->s, it_json_str(&r, "access_token"));
    it_resp_free(&r);
    /* r1 is marked used, r2 is in the same family. */
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM refresh_token a JOIN refresh_token b"
                              " ON a.family_id = b.family_id"
                              " WHERE a.token_hash = sha256(convert_to($1, 'UTF8'))"
                              "   AND b.token_hash = sha256(convert_to($2, 'UTF8'))"
                              "   AND a.used_at IS NOT NULL AND b.used_at IS NULL"
                              "   AND a.revoked_at IS NULL AND b.revoked_at IS NULL",
                              r1, r2),
                     1);
    refresh(f->s, r2, &r);
    it_assert_status(&r, 200);
    r3 = strdup(it_json_str(&r, "refresh_token"));
    it_resp_free(&r);
    refresh(f->s, r3, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    free(r1);
    free(r2);
    free(r3);
    free(access);
}

static void
test_refresh_reuse_revokes_chain(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    char *r1 = NULL, *r2, *access = it_login_tokens(f->s, STAFF_EMAIL, PASSWORD, &r1);

    refresh(f->s, r1, &r);
    it_assert_status(&r, 200);
    r2 = strdup(it_json_str(&r, "refresh_token"));
    it_resp_free(&r);
    /* r1 again: someone kept a copy. */
    refresh(f->s, r1, &r);
    it_assert_problem(&r, 400);
    it_assert_strs(&r, IT_ROW("type", "/problems/invalid-grant", "error", "invalid_grant"));
    it_resp_free(&r);
    /* The revocation was kept although the answer was an error: r2 no longer works. */
    refresh(f->s, r2, &r);
    it_assert_problem(&r, 400);
    it_assert_strs(&r, IT_ROW("type", "/problems/invalid-grant", "error", "invalid_grant"));
    it_resp_free(&r);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM refresh_token WHERE revoked_at IS NULL"
                              " AND family_id = (SELECT family_id FROM refresh_token"
                              "  WHERE token_hash = sha256(convert_to($1, 'UTF8')))",
                              r1),
                     0);
    /* An unknown token is refused the same way. */
    refresh(f->s, "not-a-token", &r);
    it_assert_problem(&r, 400);
    it_assert_strs(&r, IT_ROW("type", "/problems/invalid-grant", "error", "invalid_grant"));
    it_resp_free(&r);
    free(r1);
    free(r2);
    free(access);
}

struct race {
    struct it_server *s;
    const char *token;
    long status;
};

static void *
race_refresh(void *arg)
{
    struct race *x = arg;
    struct it_resp r = {0};

    refresh(x->s, x->token, &r);
    x->status = r.status;
    it_resp_free(&r);
    return NULL;
}

/* Two refreshes with one token at the same moment: one wins, never both. */
static void
test_refresh_concurrent_single_use(void **state)
{
    struct fixture *f = *state;
    char *r1 = NULL, *access = it_login_tokens(f->s, STAFF_EMAIL, PASSWORD, &r1);
    struct race a = {f->s, r1, 0}, b = {f->s, r1, 0};
    pthread_t ta, tb;
    int round;

    for (round = 0; round < 3; round++) {
        char *fresh = NULL;

        assert_int_equal(pthread_create(&ta, NULL, race_refresh, &a), 0);
        assert_int_equal(pthread_create(&tb, NULL, race_refresh, &b), 0);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        assert_true((a.status == 200) + (b.status == 200) == 1);
        assert_true(a.status == 400 || b.status == 400);
        free(access);
        free(r1);
        access = it_login_tokens(f->s, STAFF_EMAIL, PASSWORD, &fresh);
        r1 = fresh;
        a.token = b.token = r1;
    }
    free(r1);
    free(access);
}

static void
test_refresh_expired_and_disabled(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    char *admin = it_login(f->s, ADMIN_EMAIL, PASSWORD);
    char *id = create_user(f, admin, "soon-disabled@auth.example", "org_staff");
    char *rt = NULL, *access = it_login_tokens(f->s, STAFF_EMAIL, PASSWORD, &rt);
    char *rt2 = NULL, *access2;

    PQclear(it_sql(f->s,
                   "UPDATE refresh_token SET expires_at = now() - interval '1 second'"
                   " WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
                   rt));
    refresh(f->s, rt, &r);
    it_assert_problem(&r, 400);
    it_assert_strs(&r, IT_ROW("type", "/problems/invalid-grant", "error", "invalid_grant"));
    it_resp_free(&r);

    /* Disabled in the database directly (no revocation): refresh still refuses. */
    access2 = it_login_tokens(f->s, "soon-disabled@auth.example", PASSWORD, &rt2);
    PQclear(it_sql(f->s, "UPDATE app_user SET disabled = true WHERE id = $1::uuid", id));
    refresh(f->s, rt2, &r);
    it_assert_problem(&r, 400);
    it_assert_strs(&r, IT_ROW("type", "/problems/invalid-grant", "error", "invalid_grant"));
    it_resp_free(&r);
    sign_in(f->s, "soon-disabled@auth.example", PASSWORD, &r);
    it_assert_problem(&r, 401);
    assert_string_equal(it_json_str(&r, "type"), "/problems/invalid-credentials");
    it_resp_free(&r);
    /* Refused without being a reuse: the token was not used up. */
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM refresh_token WHERE used_at IS NULL"
                              " AND token_hash = sha256(convert_to($1, 'UTF8'))",
                              rt2),
                     1);
    free(rt);
    free(rt2);
    free(access);
    free(access2);
    free(id);
    free(admin);
}

static void
test_logout(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    char *r1 = NULL, *r2, *access = it_login_tokens(f->s, STAFF_EMAIL, PASSWORD, &r1);
    char *other = NULL, *access2 = it_login_tokens(f->s, STAFF_EMAIL, PASSWORD, &other);
    char *body;

    refresh(f->s, r1, &r);
    it_assert_status(&r, 200);
    r2 = strdup(it_json_str(&r, "refresh_token"));
    it_resp_free(&r);
    /* Logging out with the first token of the family ends the family. */
    body = it_fmt("{\"refresh_token\":\"%s\"}", r1);
    it_post_json(f->s, "/v1/auth/logout", NULL, body, &r);
    it_assert_status(&r, 204);
    assert_int_equal(r.len, 0);
    it_resp_free(&r);
    refresh(f->s, r2, &r);
    it_assert_problem(&r, 400);
    it_resp_free(&r);
    /* Another sign-in of the same user is a different family and keeps working. */
    refresh(f->s, other, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    /* Unknown tokens: 204 as well. */
    it_expect(f->s, "POST", "/v1/auth/logout", NULL, "{\"refresh_token\":\"no-such-token\"}", 204);
    it_expect(f->s, "POST", "/v1/auth/logout", NULL, "{\"token\":\"x\"}", 422);
    /* Logging out twice is fine. */
    it_expect(f->s, "POST", "/v1/auth/logout", NULL, body, 204);
    free(body);
    free(r1);
    free(r2);
    free(other);
    free(access);
    free(access2);
}

/* ---- Bearer tokens ------------------------------------------------------------------------- */

static void
test_bad_tokens_refused(void **state)
{
    struct fixture *f = *state;
    char iss[128], aud[128], kid[128];
    char *priv = server_private_pem(f->s), *pub = public_pem(priv);
    char *c, *t, *real, *tampered, *h, *none;
    json_t *payload;
    size_t n;

    server_iss_aud(f, iss, aud, sizeof(iss));
    server_kid(f, kid, sizeof(kid));

    /* Control: a token made here with the right key and claims is accepted, so each refusal
     * below is for the one thing changed. */
    c = claims(f, iss, aud, 600, 0);
    t = sign(JWT_ALG_ES256, priv, kid, c);
    assert_token_accepted(f->s, t);
    free(t);

    /* Tampered signature and tampered payload of a real token. */
    real = it_login(f->s, ADMIN_EMAIL, PASSWORD);
    tampered = strdup(real);
    n = strlen(tampered);
    tampered[n - 5] = tampered[n - 5] == 'A' ? 'B' : 'A';
    assert_token_refused(f->s, tampered);
    free(tampered);
    payload = jws_part(real, 1);
    json_object_set_new(payload, "role", json_string("admin"));
    json_object_set_new(payload, "sub", json_string(f->staff_id));
    {
        char *ptext = json_dumps(payload, JSON_COMPACT),
             *penc = it_b64url_encode(ptext, strlen(ptext));
        const char *dot1 = strchr(real, '.'), *dot2 = strchr(dot1 + 1, '.');
        tampered = it_fmt("%.*s.%s%s", (int)(dot1 - real), real, penc, dot2);
        assert_token_refused(f->s, tampered);
        free(tampered);
        free(penc);
        free(ptext);
    }
    json_decref(payload);

    /* Expired beyond the 60 s leeway; not yet valid; wrong audience; wrong issuer. */
    free(c);
    c = claims(f, iss, aud, -120, -1020);
    t = sign(JWT_ALG_ES256, priv, kid, c);
    assert_token_refused(f->s, t);
    free(t);
    free(c);
    c = claims(f, iss, aud, 1200, 600);
    t = sign(JWT_ALG_ES256, priv, kid, c);
    assert_token_refused(f->s, t);
    free(t);
    free(c);
    c = claims(f, iss, "someone-else", 600, 0);
    t = sign(JWT_ALG_ES256, priv, kid, c);
    assert_token_refused(f->s, t);
    free(t);
    free(c);
    c = claims(f, "https://evil.example", aud, 600, 0);
    t = sign(JWT_ALG_ES256, priv, kid, c);
    assert_token_refused(f->s, t);
    free(t);
    free(c);
    /* No exp at all. */
    c = it_fmt("{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"%s\",\"role\":\"admin\"}", iss, aud,
               f->admin_id);
    t = sign(JWT_ALG_ES256, priv, kid, c);
    assert_token_refused(f->s, t);
    free(t);
    free(c);

    /* alg none, with and without a kid. */
    c = claims(f, iss, aud, 600, 0);
    h = it_fmt("{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
    {
        char *henc = it_b64url_encode(h, strlen(h)), *penc = it_b64url_encode(c, strlen(c));
        none = it_fmt("%s.%s.", henc, penc);
        assert_token_refused(f->s, none);
        free(none);
        free(henc);
        free(penc);
    }
    free(h);
    t = sign(JWT_ALG_NONE, NULL, NULL, c);
    assert_token_refused(f->s, t);
    free(t);

    /* HS256 keyed with the public key (algorithm confusion). */
    t = sign(JWT_ALG_HS256, pub, kid, c);
    {
        json_t *hdr = jws_part(t, 0);
        assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "HS256");
        json_decref(hdr);
    }
    assert_token_refused(f->s, t);
    free(t);
    /* Not a JWT; wrong scheme. */
    assert_token_refused(f->s, "abc.def");
    {
        struct it_resp r = {0};
        char *hdr = it_fmt("Authorization: Basic %s", "YWRtaW46cGFzcw==");
        const char *hdrs[] = {hdr, NULL};
        it_request(f->s, "GET", "/v1/users/me", NULL, hdrs, NULL, &r);
        it_assert_problem(&r, 401);
        it_resp_free(&r);
        free(hdr);
    }
    free(c);
    free(real);
    free(pub);
    free(priv);
}

static void
test_no_token(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};

    it_get(f->s, "/v1/users/me", NULL, &r);
    it_assert_problem(&r, 401);
    assert_string_equal(it_json_str(&r, "type"), "/problems/unauthorized");
    it_assert_header(&r, "WWW-Authenticate", "Bearer");
    it_resp_free(&r);
}

TEST_MAIN(setup,
          it_fx_teardown,
          cmocka_unit_test(test_signin_token_shape),
          cmocka_unit_test(test_signin_admin_has_no_org),
          cmocka_unit_test(test_signin_failures_look_alike),
          cmocka_unit_test(test_signin_validation),
          cmocka_unit_test(test_signin_throttled_then_released),
          cmocka_unit_test(test_signin_throttle_unknown_email),
          cmocka_unit_test(test_signin_throttle_window),
          cmocka_unit_test(test_signin_concurrent_correct),
          cmocka_unit_test(test_disabled_user_token_ends_at_once),
          cmocka_unit_test(test_epoch_change_elsewhere_seen),
          cmocka_unit_test(test_refresh_rotates),
          cmocka_unit_test(test_refresh_reuse_revokes_chain),
          cmocka_unit_test(test_refresh_concurrent_single_use),
          cmocka_unit_test(test_refresh_expired_and_disabled),
          cmocka_unit_test(test_logout),
          cmocka_unit_test(test_bad_tokens_refused),
          cmocka_unit_test(test_no_token))
