/* it_clients.c: API clients (OAuth 2.0 client credentials) over HTTP against the real server and
 * PostgreSQL: registering a client (secret shown once, stored only as a hash, audited without
 * it), listing (never a secret; other organisations' clients invisible), the token request with
 * HTTP Basic and with body credentials, as a form and as JSON, the token verified against the
 * JWKS with libjwt on a key rebuilt from the JWK's x and y, RFC 6749 errors (401 invalid_client,
 * 400 invalid_request, invalid_scope, unsupported_grant_type), scope refusal on routes (403
 * insufficient_scope), a status check of 100 facilitators by a client, secret rotation with an
 * overlap, deleting a client, and POST /v1/auth/revoke (RFC 7009). */
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <jwt.h>
#include <libpq-fe.h>

#include "itlib.h"
#include "registry/password.h"

#define ADMIN_EMAIL "admin@clients.example"
#define PASSWORD    "clients-test-password-1"
#define NO_SUCH_ID  "00000000-0000-4000-8000-000000000000"

struct fx {
    IT_FX_HEAD;
    char *org_a, *org_b;
    char *a_admin, *a_staff, *b_admin;
    int n;
};

struct client {
    char id[40];
    char client_id[64];
    char secret[96];
};

/* ---- Helpers ------------------------------------------------------------------------------- */

static char *
create_org(struct fx *f)
{
    char *id = it_create_org(f->s, f->admin, NULL, NULL, "Client Org %d", ++f->n);

    /* Only a licensed organisation's clients get tokens. */
    PQclear(it_sql(f->s,
                   "INSERT INTO licence (organisation_id, number, status, valid_from, valid_until)"
                   " VALUES ($1::uuid, 'MPL-C-' || gen_random_uuid(), 'active',"
                   "  registry_today() - 30, registry_today() + 365)",
                   id));
    return id;
}

/* Registers a client as `bearer` with `scopes_json` (a JSON array); fills `c`. */
static void
make_client(
    struct fx *f, const char *bearer, const char *name, const char *scopes_json, struct client *c)
{
    char *body = it_fmt("{\"name\": \"%s\", \"scopes\": %s}", name, scopes_json);
    struct it_resp r;

    it_post_json(f->s, "/v1/clients", bearer, body, &r);
    it_assert_status(&r, 201);
    snprintf(c->id, sizeof(c->id), "%s", it_json_str(&r, "id"));
    snprintf(c->client_id, sizeof(c->client_id), "%s", it_json_str(&r, "client_id"));
    snprintf(c->secret, sizeof(c->secret), "%s", it_json_str(&r, "client_secret"));
    it_resp_free(&r);
    free(body);
}

/* POST /v1/auth/token as a form, with Basic credentials when `basic` is set, else in the body. */
static void
token_form(struct fx *f, const struct client *c, int basic, const char *extra, struct it_resp *r)
{
    char *auth = it_basic_auth(c->client_id, c->secret);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", auth, NULL};
    char *body = basic ? it_fmt("grant_type=client_credentials%s", extra ? extra : "")
                       : it_fmt("grant_type=client_credentials&client_id=%s&client_secret=%s%s",
                                c->client_id, c->secret, extra ? extra : "");

    if (!basic) {
        headers[1] = NULL;
    }
    it_request(f->s, "POST", "/v1/auth/token", NULL, headers, body, r);
    free(body);
    free(auth);
}

/* A client token (malloc'd), failing the test unless the request succeeds. */
static char *
client_token(struct fx *f, const struct client *c)
{
    struct it_resp r;
    char *t;

    token_form(f, c, 1, NULL, &r);
    it_assert_status(&r, 200);
    t = strdup(it_json_str(&r, "access_token"));
    it_resp_free(&r);
    return t;
}

static void
assert_oauth_error(const struct it_resp *r, long status, const char *error)
{
    it_assert_problem(r, status);
    if (it_json_str(r, "error") == NULL || strcmp(it_json_str(r, "error"), error) != 0) {
        it_resp_print(r);
        fail_msg("expected error %s", error);
    }
}

static long
count_clients(struct fx *f)
{
    return it_count(f->s, "SELECT count(*) FROM api_client");
}

/* Decodes base64url `in` into `out` (at most `cap` bytes); fails the test when it is not
 * base64url. Returns the byte count. */
static size_t
b64url_decode(const char *in, unsigned char *out, size_t cap)
{
    size_t n;
    unsigned char *raw = it_b64url_decode(in, strlen(in), &n);

    assert_non_null(raw);
    assert_true(n <= cap);
    memcpy(out, raw, n);
    free(raw);
    return n;
}

/* The PEM public key of a JWK's x and y (P-256), built with OpenSSL. Returns malloc'd text. */
static char *
jwk_to_pem(json_t *jwk)
{
    unsigned char point[65];
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *pem;
    long len;

    point[0] = 0x04;
    assert_int_equal(b64url_decode(it_jstr(jwk, "x"), point + 1, 32), 32);
    assert_int_equal(b64url_decode(it_jstr(jwk, "y"), point + 33, 32), 32);
    assert_int_equal(
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0), 1);
    assert_int_equal(
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)), 1);
    params = OSSL_PARAM_BLD_to_param(bld);
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
    assert_int_equal(PEM_write_bio_PUBKEY(bio, key), 1);
    len = BIO_get_mem_data(bio, &data);
    pem = strndup(data, (size_t)len);
    BIO_free(bio);
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return pem;
}

/* Verifies `token` as a licensee would: fetch the JWKS, pick the key named by the header kid,
 * verify with libjwt pinned to ES256. Returns the claims (new reference). */
static json_t *
verify_with_jwks(struct fx *f, const char *token)
{
    struct it_resp r;
    const char *dot = strchr(token, '.');
    unsigned char header[512];
    size_t n;
    char *seg, *pem = NULL, *grants;
    json_t *h, *k, *claims;
    jwt_t *jwt = NULL;
    size_t i;

    assert_non_null(dot);
    seg = strndup(token, (size_t)(dot - token));
    n = b64url_decode(seg, header, sizeof(header) - 1);
    header[n] = '\0';
    free(seg);
    h = json_loads((const char *)header, 0, NULL);
    assert_non_null(h);
    assert_string_equal(it_jstr(h, "alg"), "ES256");
    it_get(f->s, "/.well-known/jwks.json", NULL, &r);
    it_assert_status(&r, 200);
    json_array_foreach(json_object_get(r.json, "keys"), i, k)
    {
        if (strcmp(it_jstr(k, "kid"), it_jstr(h, "kid")) == 0) {
            pem = jwk_to_pem(k);
        }
    }
    it_resp_free(&r);
    json_decref(h);
    assert_non_null(pem);
    assert_int_equal(jwt_decode(&jwt, token, (const unsigned char *)pem, (int)strlen(pem)), 0);
    assert_int_equal(jwt_get_alg(jwt), JWT_ALG_ES256);
    grants = jwt_get_grants_json(jwt, NULL);
    claims = json_loads(grants, 0, NULL);
    assert_non_null(claims);
    free(grants);
    jwt_free(jwt);
    free(pem);
    return claims;
}

/* ---- Fixture ------------------------------------------------------------------------------- */

static int
group_setup(void **state)
{
    struct fx *f = it_fx_start(sizeof(*f), "clients", NULL, ADMIN_EMAIL, PASSWORD, IT_FX_HASH);

    f->org_a = it_fx_own(f, create_org(f));
    f->org_b = it_fx_own(f, create_org(f));
    IT_FX_AB_USERS(f);
    *state = f;
    return 0;
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void
test_create_shows_secret_once(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    struct client c;
    json_t *item;
    size_t i;
    int seen = 0;

    it_post_json(f->s, "/v1/clients", f->a_admin,
                 "{\"name\": \"HR system\", \"scopes\": [\"facilitators:read\"]}", &r);
    it_assert_status(&r, 201);
    it_assert_header(&r, "Cache-Control", "no-store");
    snprintf(c.id, sizeof(c.id), "%s", it_json_str(&r, "id"));
    snprintf(c.client_id, sizeof(c.client_id), "%s", it_json_str(&r, "client_id"));
    snprintf(c.secret, sizeof(c.secret), "%s", it_json_str(&r, "client_secret"));
    assert_int_equal(strncmp(c.client_id, "mpc_", 4), 0);
    assert_int_equal(strlen(c.secret), 43); /* 32 bytes, base64url */
    it_assert_strs(&r, IT_ROW("organisation_id", f->org_a, "name", "HR system"));
    assert_non_null(it_json_str(&r, "created_at"));
    assert_string_equal(json_string_value(json_array_get(json_object_get(r.json, "scopes"), 0)),
                        "facilitators:read");
    it_resp_free(&r);

    /* Stored only as SHA-256; audited without the secret or its hash. */
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM api_client_secret s JOIN api_client c"
                              " ON c.id = s.client_id WHERE c.id = $1::uuid"
                              " AND s.secret_hash = sha256(convert_to($2, 'UTF8'))",
                              c.id, c.secret),
                     1);
    assert_int_equal(it_audits(f->s, "api_client", c.id, "create"), 1);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_id = $1"
                              " AND (after::text LIKE '%' || $2 || '%' OR after::text LIKE"
                              " '%secret%')",
                              c.id, c.secret),
                     0);

    /* The list shows it, never a secret. */
    it_get(f->s, "/v1/clients", f->a_admin, &r);
    it_assert_status(&r, 200);
    assert_null(strstr(r.body, c.secret));
    assert_null(strstr(r.body, "client_secret"));
    json_array_foreach(json_object_get(r.json, "items"), i, item)
    {
        seen += strcmp(it_jstr(item, "id"), c.id) == 0;
        assert_string_equal(it_jstr(item, "organisation_id"), f->org_a);
    }
    assert_int_equal(seen, 1);
    it_resp_free(&r);

    /* Another organisation's admin sees none of A's clients; the licensing body sees all. */
    it_get(f->s, "/v1/clients", f->b_admin, &r);
    it_assert_status(&r, 200);
    assert_null(strstr(r.body, c.id));
    it_resp_free(&r);
    it_get(f->s, "/v1/clients?limit=100", f->admin, &r);
    it_assert_status(&r, 200);
    it_assert_contains(r.body, c.id);
    it_resp_free(&r);
}

static void
test_create_rules(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    long before = count_clients(f), audits;
    char *body;

    audits = it_count(f->s, "SELECT count(*) FROM audit_event WHERE resource_type = 'api_client'");
    it_expect_field(f->s, "POST", "/v1/clients", f->a_admin,
                    "{\"name\": \"X\", \"scopes\": [\"facilitators:write\"]}", "scopes");
    it_expect_field(f->s, "POST", "/v1/clients", f->a_admin,
                    "{\"name\": \"X\", \"scopes\": [\"programmes:read\", \"programmes:read\"]}",
                    "scopes");
    it_expect_field(f->s, "POST", "/v1/clients", f->a_admin, "{\"name\": \"X\", \"scopes\": []}",
                    "scopes");
    it_expect_field(f->s, "POST", "/v1/clients", f->a_admin, "{\"scopes\": [\"programmes:read\"]}",
                    "name");
    it_expect_field(f->s, "POST", "/v1/clients", f->a_admin,
                    "{\"name\": \"X\", \"scopes\": [\"programmes:read\"], \"secret\": \"mine\"}",
                    "secret");
    /* The licensing body names the organisation; a licensee cannot name another one. */
    it_expect_field(f->s, "POST", "/v1/clients", f->admin,
                    "{\"name\": \"X\", \"scopes\": [\"programmes:read\"]}", "organisation_id");
    it_expect_field(f->s, "POST", "/v1/clients", f->admin,
                    "{\"name\": \"X\", \"scopes\": [\"programmes:read\"], \"organisation_id\":"
                    " \"" NO_SUCH_ID "\"}",
                    "organisation_id");
    body = it_fmt("{\"name\": \"X\", \"scopes\": [\"programmes:read\"], \"organisation_id\":"
                  " \"%s\"}",
                  f->org_b);
    it_expect(f->s, "POST", "/v1/clients", f->a_admin, body, 404);
    free(body);
    it_expect(f->s, "POST", "/v1/clients", f->a_staff,
              "{\"name\": \"X\", \"scopes\": [\"programmes:read\"]}", 403);
    it_expect(f->s, "GET", "/v1/clients", f->a_staff, NULL, 403);
    it_expect(f->s, "POST", "/v1/clients", NULL,
              "{\"name\": \"X\", \"scopes\": [\"programmes:read\"]}", 401);
    /* Nothing was written by any of these. */
    assert_int_equal(count_clients(f), before);
    assert_int_equal(
        it_count(f->s, "SELECT count(*) FROM audit_event WHERE resource_type = 'api_client'"),
        audits);

    /* The licensing body registers one for B. */
    body = it_fmt("{\"name\": \"B case system\", \"scopes\": [\"programmes:write\"],"
                  " \"organisation_id\": \"%s\"}",
                  f->org_b);
    it_post_json(f->s, "/v1/clients", f->admin, body, &r);
    it_assert_status(&r, 201);
    assert_string_equal(it_json_str(&r, "organisation_id"), f->org_b);
    it_resp_free(&r);
    free(body);
}

static void
test_client_credentials_flow(void **state)
{
    struct fx *f = *state;
    struct client c;
    struct it_resp r;
    const char *json_headers[] = {"Content-Type: application/json", NULL, NULL};
    char *auth, *body, *now_s;
    json_t *claims;
    int basic;

    make_client(f, f->a_admin, "Flow", "[\"facilitators:read\", \"programmes:read\"]", &c);
    for (basic = 0; basic <= 1; basic++) {
        token_form(f, &c, basic, NULL, &r);
        it_assert_status(&r, 200);
        it_assert_header(&r, "Cache-Control", "no-store");
        assert_string_equal(it_json_str(&r, "token_type"), "Bearer");
        assert_int_equal(json_integer_value(json_object_get(r.json, "expires_in")), 900);
        assert_string_equal(it_json_str(&r, "scope"), "facilitators:read programmes:read");
        assert_null(json_object_get(r.json, "refresh_token"));
        claims = verify_with_jwks(f, it_json_str(&r, "access_token"));
        assert_string_equal(it_jstr(claims, "sub"), c.id);
        assert_string_equal(it_jstr(claims, "role"), "client");
        assert_string_equal(it_jstr(claims, "org"), f->org_a);
        assert_string_equal(it_jstr(claims, "scope"), "facilitators:read programmes:read");
        assert_non_null(it_jstr(claims, "iss"));
        assert_non_null(json_object_get(claims, "aud"));
        assert_non_null(it_jstr(claims, "jti"));
        assert_true(json_is_integer(json_object_get(claims, "iat")));
        assert_true(json_is_integer(json_object_get(claims, "nbf")));
        assert_int_equal(json_integer_value(json_object_get(claims, "exp"))
                             - json_integer_value(json_object_get(claims, "iat")),
                         900);
        now_s = it_fmt("%lld", (long long)time(NULL));
        assert_true(json_integer_value(json_object_get(claims, "exp")) > atoll(now_s));
        free(now_s);
        json_decref(claims);
        it_resp_free(&r);
    }

    /* JSON bodies: Basic, then body credentials; a narrower scope on request. */
    auth = it_basic_auth(c.client_id, c.secret);
    json_headers[1] = auth;
    it_request(f->s, "POST", "/v1/auth/token", NULL, json_headers,
               "{\"grant_type\": \"client_credentials\", \"scope\": \"programmes:read\"}", &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "scope"), "programmes:read");
    it_resp_free(&r);
    body = it_fmt("{\"grant_type\": \"client_credentials\", \"client_id\": \"%s\","
                  " \"client_secret\": \"%s\"}",
                  c.client_id, c.secret);
    it_post_json(f->s, "/v1/auth/token", NULL, body, &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "scope"), "facilitators:read programmes:read");
    it_resp_free(&r);
    free(body);
    free(auth);

    /* Email and password sign-in still works, with or without grant_type "password". */
    body = it_fmt("{\"grant_type\": \"password\", \"email\": \"%s\", \"password\": \"%s\"}",
                  ADMIN_EMAIL, PASSWORD);
    it_post_json(f->s, "/v1/auth/token", NULL, body, &r);
    it_assert_status(&r, 200);
    assert_non_null(it_json_str(&r, "refresh_token"));
    it_resp_free(&r);
    free(body);
}

static void
test_token_errors(void **state)
{
    struct fx *f = *state;
    struct client c, wrong;
    struct it_resp r;
    const char *form[] = {"Content-Type: application/x-www-form-urlencoded", NULL, NULL};
    char *auth, *body;

    make_client(f, f->a_admin, "Errors", "[\"facilitators:read\"]", &c);
    wrong = c;
    snprintf(wrong.secret, sizeof(wrong.secret), "%s",
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    token_form(f, &wrong, 1, NULL, &r);
    assert_oauth_error(&r, 401, "invalid_client");
    it_assert_header(&r, "WWW-Authenticate", "Basic realm=");
    it_resp_free(&r);
    token_form(f, &wrong, 0, NULL, &r);
    assert_oauth_error(&r, 401, "invalid_client");
    it_resp_free(&r);
    snprintf(wrong.client_id, sizeof(wrong.client_id), "mpc_nobodyhasthisclientidx");
    snprintf(wrong.secret, sizeof(wrong.secret), "%s", c.secret);
    token_form(f, &wrong, 1, NULL, &r);
    assert_oauth_error(&r, 401, "invalid_client");
    it_resp_free(&r);

    /* No credentials at all; both ways at once. */
    it_request(f->s, "POST", "/v1/auth/token", NULL, form, "grant_type=client_credentials", &r);
    assert_oauth_error(&r, 401, "invalid_client");
    it_resp_free(&r);
    auth = it_basic_auth(c.client_id, c.secret);
    form[1] = auth;
    body = it_fmt("grant_type=client_credentials&client_id=%s", c.client_id);
    it_request(f->s, "POST", "/v1/auth/token", NULL, form, body, &r);
    assert_oauth_error(&r, 400, "invalid_request");
    it_resp_free(&r);
    free(body);

    /* A scope it does not hold; grants we do not offer; a form without grant_type. */
    token_form(f, &c, 1, "&scope=facilitators:read+programmes:write", &r);
    assert_oauth_error(&r, 400, "invalid_scope");
    it_assert_contains(it_json_str(&r, "detail"), "programmes:write");
    it_resp_free(&r);
    it_request(f->s, "POST", "/v1/auth/token", NULL, form, "grant_type=authorization_code", &r);
    assert_oauth_error(&r, 400, "unsupported_grant_type");
    it_resp_free(&r);
    it_request(f->s, "POST", "/v1/auth/token", NULL, form, "scope=facilitators:read", &r);
    assert_oauth_error(&r, 400, "invalid_request");
    it_resp_free(&r);
    it_request(f->s, "POST", "/v1/auth/token", NULL, form,
               "grant_type=client_credentials&grant_type=client_credentials", &r);
    assert_oauth_error(&r, 400, "invalid_request");
    it_resp_free(&r);
    it_request(f->s, "POST", "/v1/auth/token", NULL, form, "grant_type=client%ZZcredentials", &r);
    assert_oauth_error(&r, 400, "invalid_request");
    it_resp_free(&r);
    /* A form-encoded scope with %20 works as well as '+'. */
    token_form(f, &c, 1, "&scope=facilitators%3Aread", &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "scope"), "facilitators:read");
    it_resp_free(&r);
    /* A bearer token is not client authentication. */
    form[1] = "Authorization: Bearer abc";
    it_request(f->s, "POST", "/v1/auth/token", NULL, form, "grant_type=client_credentials", &r);
    assert_oauth_error(&r, 401, "invalid_client");
    it_resp_free(&r);
    free(auth);
}

static void
test_scopes_enforced(void **state)
{
    struct fx *f = *state;
    struct client c;
    struct it_resp r;
    char *token, *body, *numbers = NULL, *prev;
    int i;

    make_client(f, f->a_admin, "Reader", "[\"facilitators:read\"]", &c);
    token = client_token(f, &c);

    it_post_json(f->s, "/v1/programmes", token, "{}", &r);
    it_assert_problem(&r, 403);
    it_assert_header(&r, "WWW-Authenticate", "error=\"insufficient_scope\"");
    it_assert_header(&r, "WWW-Authenticate", "scope=\"programmes:write\"");
    it_assert_contains(it_json_str(&r, "detail"), "programmes:write");
    it_resp_free(&r);
    it_get(f->s, "/v1/users", token, &r);
    it_assert_problem(&r, 403);
    it_assert_header(&r, "WWW-Authenticate", "insufficient_scope");
    it_resp_free(&r);
    it_expect(f->s, "POST", "/v1/clients", token,
              "{\"name\": \"X\", \"scopes\": [\"programmes:read\"]}", 403);

    /* 100 facilitators checked in one call. */
    for (i = 0; i < 100; i++) {
        PGresult *res = it_sql(f->s, "INSERT INTO facilitator (given_name, family_name, status)"
                                     " VALUES ('Sam', 'Check', 'in_training') RETURNING"
                                     " registration_number");
        prev = numbers;
        numbers = it_fmt("%s%s\"%s\"", prev != NULL ? prev : "", prev != NULL ? ", " : "",
                         PQgetvalue(res, 0, 0));
        free(prev);
        PQclear(res);
    }
    body = it_fmt("{\"registration_numbers\": [%s]}", numbers);
    it_post_json(f->s, "/v1/facilitators/status-check", token, body, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "results")), 100);
    it_resp_free(&r);
    free(body);
    free(numbers);
    free(token);
}

static void
test_rotation_overlap(void **state)
{
    struct fx *f = *state;
    struct client c, old;
    struct it_resp r;
    char *path, *token;

    make_client(f, f->a_admin, "Rotating", "[\"facilitators:read\"]", &c);
    old = c;
    path = it_fmt("/v1/clients/%s/secrets", c.id);

    it_expect_field(f->s, "POST", path, f->a_admin, "{\"overlap_seconds\": 604801}",
                    "overlap_seconds");
    it_expect(f->s, "POST", path, f->b_admin, "{}", 404);

    it_request(f->s, "POST", path, f->a_admin, NULL, NULL, &r); /* no body: 24 h overlap */
    it_assert_status(&r, 201);
    snprintf(c.secret, sizeof(c.secret), "%s", it_json_str(&r, "client_secret"));
    assert_string_not_equal(c.secret, old.secret);
    assert_non_null(it_json_str(&r, "previous_secret_expires_at"));
    assert_int_equal(json_integer_value(json_object_get(r.json, "overlap_seconds")), 86400);
    it_resp_free(&r);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_id = $1"
                              " AND action = 'rotate_secret' AND after::text NOT LIKE"
                              " '%' || $2 || '%'",
                              c.id, c.secret),
                     1);

    /* During the overlap both work; GET never shows either. */
    free(client_token(f, &old));
    free(client_token(f, &c));
    it_get(f->s, "/v1/clients", f->a_admin, &r);
    assert_null(strstr(r.body, c.secret));
    assert_null(strstr(r.body, old.secret));
    it_resp_free(&r);

    /* The overlap ends: the old secret stops, the new one works. */
    PQclear(it_sql(f->s,
                   "UPDATE api_client_secret SET expires_at = now() - interval '1 second'"
                   " WHERE client_id = $1::uuid AND expires_at IS NOT NULL",
                   c.id));
    token_form(f, &old, 1, NULL, &r);
    assert_oauth_error(&r, 401, "invalid_client");
    it_resp_free(&r);
    token = client_token(f, &c);
    free(token);

    /* overlap_seconds 0: the previous secret stops at once. */
    old = c;
    it_post_json(f->s, path, f->a_admin, "{\"overlap_seconds\": 0}", &r);
    it_assert_status(&r, 201);
    snprintf(c.secret, sizeof(c.secret), "%s", it_json_str(&r, "client_secret"));
    it_resp_free(&r);
    token_form(f, &old, 0, NULL, &r);
    assert_oauth_error(&r, 401, "invalid_client");
    it_resp_free(&r);
    free(client_token(f, &c));
    free(path);
}

static void
test_delete_client(void **state)
{
    struct fx *f = *state;
    struct client c;
    struct it_resp r;
    char *path, *token, *rotate;

    make_client(f, f->a_admin, "Doomed", "[\"facilitators:read\"]", &c);
    token = client_token(f, &c);
    path = it_fmt("/v1/clients/%s", c.id);
    rotate = it_fmt("/v1/clients/%s/secrets", c.id);

    it_expect(f->s, "DELETE", path, f->b_admin, NULL, 404);
    it_expect(f->s, "DELETE", path, f->a_staff, NULL, 403);
    it_expect(f->s, "DELETE", "/v1/clients/not-a-uuid", f->a_admin, NULL, 404);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM api_client WHERE id = $1::uuid"
                              " AND revoked_at IS NULL",
                              c.id),
                     1);

    it_expect(f->s, "DELETE", path, f->a_admin, NULL, 204);
    token_form(f, &c, 1, NULL, &r);
    assert_oauth_error(&r, 401, "invalid_client");
    it_resp_free(&r);
    it_expect(f->s, "DELETE", path, f->a_admin, NULL, 404);
    it_expect(f->s, "POST", rotate, f->a_admin, "{}", 404);
    assert_int_equal(it_audits(f->s, NULL, c.id, "delete"), 1);
    /* An access token already issued ends at once too (token epochs). */
    it_get(f->s, "/v1/facilitators", token, &r);
    it_assert_problem(&r, 401);
    it_assert_header(&r, "WWW-Authenticate", "error=\"invalid_token\"");
    it_resp_free(&r);
    free(token);
    free(rotate);
    free(path);
}

/* PATCHes licence `id` to `status` as the admin (reading its ETag first); asserts 200. */
static void
set_licence_status(struct fx *f, const char *id, const char *status)
{
    struct it_resp r;
    char *etag, *body = it_fmt("{\"status\": \"%s\", \"reason\": \"test: %s\"}", status, status);

    it_getf(f->s, f->admin, &r, "/v1/licences/%s", id);
    it_assert_status(&r, 200);
    etag = strdup(it_header(&r, "ETag"));
    it_resp_free(&r);
    it_expectf(f->s, "PATCH", f->admin, etag, body, 200, "/v1/licences/%s", id);
    free(etag);
    free(body);
}

/* A client of an organisation whose licence is not active gets no token (400 invalid_grant with a
 * detail), and the token it already holds stops working at once on suspension. */
static void
test_licence_gates_tokens(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f), *token, *again, *lic;
    char *admin = it_fx_licensee(f, "gate-admin@clients.example", "org_admin", org);
    struct client c, wrong;
    struct it_resp r;

    lic = it_sql_text(f->s, "SELECT id FROM licence WHERE organisation_id = $1::uuid", org);
    make_client(f, admin, "Gated", "[\"facilitators:read\"]", &c);
    token = client_token(f, &c);
    it_expect(f->s, "GET", "/v1/facilitators", token, NULL, 200);
    it_get(f->s, "/v1/facilitators", token, &r); /* verified before: from the token cache */
    it_assert_status(&r, 200);
    it_resp_free(&r);

    /* Suspended: the token held is refused at once, and no new one is issued. */
    set_licence_status(f, lic, "suspended");
    it_expect(f->s, "GET", "/v1/facilitators", token, NULL, 401);
    token_form(f, &c, 1, NULL, &r);
    assert_oauth_error(&r, 400, "invalid_grant");
    assert_string_equal(it_json_str(&r, "type"), "/problems/invalid-grant");
    it_assert_contains(it_json_str(&r, "detail"), "licence");
    assert_null(it_header(&r, "WWW-Authenticate"));
    it_resp_free(&r);
    token_form(f, &c, 0, NULL, &r); /* credentials in the body: the same */
    assert_oauth_error(&r, 400, "invalid_grant");
    it_resp_free(&r);
    /* A wrong secret is still invalid_client: the licence is told only to the genuine client. */
    wrong = c;
    snprintf(wrong.secret, sizeof(wrong.secret), "%s", "not-the-secret");
    token_form(f, &wrong, 1, NULL, &r);
    assert_oauth_error(&r, 401, "invalid_client");
    it_resp_free(&r);

    /* Active again: tokens again (carrying the new epoch), and they work; the old one not. */
    set_licence_status(f, lic, "active");
    again = client_token(f, &c);
    it_expect(f->s, "GET", "/v1/facilitators", again, NULL, 200);
    it_expect(f->s, "GET", "/v1/facilitators", token, NULL, 401);
    free(again);
    free(token);

    /* Past its end date (no write: it reads as expired), or not yet started: no token. */
    PQclear(it_sql(f->s,
                   "UPDATE licence SET valid_from = registry_today() - 60,"
                   " valid_until = registry_today() - 1 WHERE id = $1::uuid",
                   lic));
    token_form(f, &c, 1, NULL, &r);
    assert_oauth_error(&r, 400, "invalid_grant");
    it_resp_free(&r);
    PQclear(it_sql(f->s,
                   "UPDATE licence SET valid_from = registry_today() + 1,"
                   " valid_until = registry_today() + 365 WHERE id = $1::uuid",
                   lic));
    token_form(f, &c, 1, NULL, &r);
    assert_oauth_error(&r, 400, "invalid_grant");
    it_resp_free(&r);
    free(lic);
    free(admin);
    free(org);
}

static void
test_revoke(void **state)
{
    struct fx *f = *state;
    struct client c, old;
    struct it_resp r;
    const char *form[] = {"Content-Type: application/x-www-form-urlencoded", NULL, NULL};
    char *refresh = NULL, *access, *body, *auth, *path;

    /* A refresh token: revoked with its family; 200 with an empty body. */
    access = it_login_tokens(f->s, ADMIN_EMAIL, PASSWORD, &refresh);
    body = it_fmt("token=%s&token_type_hint=refresh_token", refresh);
    it_request(f->s, "POST", "/v1/auth/revoke", NULL, form, body, &r);
    it_assert_status(&r, 200);
    assert_int_equal(r.len, 0);
    it_resp_free(&r);
    free(body);
    body = it_fmt("{\"refresh_token\": \"%s\"}", refresh);
    it_post_json(f->s, "/v1/auth/refresh", NULL, body, &r);
    assert_true(r.status == 400 || r.status == 401);
    it_resp_free(&r);
    free(body);
    free(refresh);
    free(access);

    /* Unknown tokens get the same 200 (no oracle); a missing token is a 400. */
    it_expect(f->s, "POST", "/v1/auth/revoke", NULL, "{\"token\": \"no-such-token\"}", 200);
    it_post_json(f->s, "/v1/auth/revoke", NULL, "{}", &r);
    assert_oauth_error(&r, 400, "invalid_request");
    it_resp_free(&r);

    /* A client revokes its previous secret, authenticating with the new one. */
    make_client(f, f->a_admin, "Revoker", "[\"facilitators:read\"]", &c);
    old = c;
    path = it_fmt("/v1/clients/%s/secrets", c.id);
    it_post_json(f->s, path, f->a_admin, "{}", &r);
    it_assert_status(&r, 201);
    snprintf(c.secret, sizeof(c.secret), "%s", it_json_str(&r, "client_secret"));
    it_resp_free(&r);
    free(client_token(f, &old));
    auth = it_basic_auth(c.client_id, c.secret);
    form[1] = auth;
    body = it_fmt("token=%s&token_type_hint=client_secret", old.secret);
    it_request(f->s, "POST", "/v1/auth/revoke", NULL, form, body, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    free(body);
    token_form(f, &old, 1, NULL, &r);
    assert_oauth_error(&r, 401, "invalid_client");
    it_resp_free(&r);
    free(client_token(f, &c));
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_id = $1"
                              " AND action = 'revoke_secret' AND actor_id = $1::uuid",
                              c.id),
                     1);
    /* Wrong client credentials on revoke: 401 invalid_client, nothing revoked. */
    free(auth);
    auth = it_basic_auth(c.client_id, old.secret);
    form[1] = auth;
    body = it_fmt("token=%s", c.secret);
    it_request(f->s, "POST", "/v1/auth/revoke", NULL, form, body, &r);
    assert_oauth_error(&r, 401, "invalid_client");
    it_resp_free(&r);
    free(body);
    free(client_token(f, &c));
    free(auth);
    free(path);
}

TEST_MAIN(group_setup,
          it_fx_teardown,
          cmocka_unit_test(test_create_shows_secret_once),
          cmocka_unit_test(test_create_rules),
          cmocka_unit_test(test_client_credentials_flow),
          cmocka_unit_test(test_licence_gates_tokens),
          cmocka_unit_test(test_token_errors),
          cmocka_unit_test(test_scopes_enforced),
          cmocka_unit_test(test_rotation_overlap),
          cmocka_unit_test(test_delete_client),
          cmocka_unit_test(test_revoke))
