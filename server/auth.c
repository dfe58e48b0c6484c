/* auth.c: bearer tokens on requests. The signature is checked by keys.c on keys parsed once;
 * the claims are checked here, because libjwt 1.10 checks none of them (LIBRARIES.md 14). */
#include "registry/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "registry/codec.h"
#include "registry/config.h"
#include "registry/keys.h"
#include "registry/metrics.h"
#include "registry/validate.h"

int
auth_is_admin(const struct principal *p)
{
    return p->authenticated && strcmp(p->role, "admin") == 0;
}

/* 1 when the space-separated list `have` holds `scope` exactly. */
static int
scope_listed(const char *have, const char *scope)
{
    size_t n = strlen(scope);
    const char *at;

    for (at = have; (at = strstr(at, scope)) != NULL; at += n) {
        if ((at == have || at[-1] == ' ') && (at[n] == '\0' || at[n] == ' ')) {
            return 1;
        }
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
    if (scope_listed(p->scope, scope)) {
        return 1;
    }
    /* Writing a resource includes reading it: "x:write" grants "x:read". */
    n = strlen(scope);
    if (n > 5 && n < sizeof(write) && strcmp(scope + n - 5, ":read") == 0) {
        snprintf(write, sizeof(write), "%.*s:write", (int)(n - 5), scope);
        return scope_listed(p->scope, write);
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
    size_t i;
    json_t *v;

    if (json_is_string(aud)) {
        return strcmp(json_string_value(aud), want) == 0;
    }
    if (json_is_array(aud)) {
        json_array_foreach(aud, i, v)
        {
            if (json_is_string(v) && strcmp(json_string_value(v), want) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

int
auth_check_claims(json_t *claims,
                  long long now,
                  const char *iss,
                  const char *aud,
                  struct principal *out,
                  const char **why)
{
    json_t *exp = json_object_get(claims, "exp");
    json_t *nbf = json_object_get(claims, "nbf");
    json_t *iat = json_object_get(claims, "iat");
    json_t *sub = json_object_get(claims, "sub");
    json_t *role = json_object_get(claims, "role");
    json_t *org = json_object_get(claims, "org");
    const char *r;

    memset(out, 0, sizeof(*out));
    if (!json_is_integer(exp)) {
        *why = "exp missing or not an integer";
        return -1;
    }
    if (json_integer_value(exp) <= now - AUTH_LEEWAY) {
        *why = "token expired";
        return -1;
    }
    if (nbf != NULL && (!json_is_integer(nbf) || json_integer_value(nbf) > now + AUTH_LEEWAY)) {
        *why = "token not yet valid";
        return -1;
    }
    if (iat != NULL && (!json_is_integer(iat) || json_integer_value(iat) > now + AUTH_LEEWAY)) {
        *why = "iat in the future";
        return -1;
    }
    if (!json_is_string(json_object_get(claims, "iss"))
        || strcmp(json_string_value(json_object_get(claims, "iss")), iss) != 0) {
        *why = "wrong issuer";
        return -1;
    }
    if (!audience_ok(json_object_get(claims, "aud"), aud)) {
        *why = "wrong audience";
        return -1;
    }
    if (!json_is_string(sub) || !validate_uuid(json_string_value(sub))) {
        *why = "sub missing or not a user id";
        return -1;
    }
    if (!json_is_string(role)) {
        *why = "role missing";
        return -1;
    }
    r = json_string_value(role);
    if (strcmp(r, "admin") == 0) {
        if (org != NULL && !json_is_null(org)) {
            *why = "admin token with an organisation";
            return -1;
        }
    } else if (strcmp(r, "client") == 0) {
        /* An organisation's API client: it acts as that organisation's admin, but the router
         * lets it reach only the routes its scopes name. */
        json_t *scope = json_object_get(claims, "scope");
        if (!json_is_string(org) || !validate_uuid(json_string_value(org))) {
            *why = "client token without an organisation";
            return -1;
        }
        if (!json_is_string(scope) || strlen(json_string_value(scope)) >= sizeof(out->scope)) {
            *why = "client token without scopes";
            return -1;
        }
        snprintf(out->org, sizeof(out->org), "%s", json_string_value(org));
        snprintf(out->scope, sizeof(out->scope), "%s", json_string_value(scope));
        out->client = 1;
        r = "org_admin";
    } else if (strcmp(r, "org_admin") == 0 || strcmp(r, "org_staff") == 0) {
        if (!json_is_string(org) || !validate_uuid(json_string_value(org))) {
            *why = "licensee token without an organisation";
            return -1;
        }
        snprintf(out->org, sizeof(out->org), "%s", json_string_value(org));
    } else {
        *why = "unknown role";
        return -1;
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
    json_decref(claims);
    metrics_token(rc == 0);
    return rc == 0 ? 1 : -1;
}

char *
auth_issue_access(const char *user_id, const char *role, const char *org, long long now)
{
    unsigned char raw[16];
    char jti[33];
    json_t *claims;
    char *token;

    if (codec_random(raw, sizeof(raw)) != 0) {
        return NULL;
    }
    codec_hex(raw, sizeof(raw), jti);
    claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "iss", config.issuer, "aud",
                       config.audience, "sub", user_id, "role", role, "iat", (json_int_t)now, "nbf",
                       (json_int_t)now, "exp", (json_int_t)(now + config.access_ttl), "jti", jti);
    if (claims == NULL) {
        return NULL;
    }
    if (org != NULL && *org != '\0') {
        json_object_set_new(claims, "org", json_string(org));
    }
    token = keys_sign(claims);
    json_decref(claims);
    return token;
}

char *
auth_issue_client(const char *client_uuid, const char *org, const char *scope, long long now)
{
    unsigned char raw[16];
    char jti[33];
    json_t *claims;
    char *token;

    if (codec_random(raw, sizeof(raw)) != 0) {
        return NULL;
    }
    codec_hex(raw, sizeof(raw), jti);
    claims = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "iss", config.issuer,
                       "aud", config.audience, "sub", client_uuid, "role", "client", "org", org,
                       "scope", scope, "iat", (json_int_t)now, "nbf", (json_int_t)now, "exp",
                       (json_int_t)(now + config.access_ttl), "jti", jti);
    if (claims == NULL) {
        return NULL;
    }
    token = keys_sign(claims);
    json_decref(claims);
    return token;
}
