/* tests/unit/test_auth.c: claim checks on verified tokens, and the role helpers. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../test_main.h"
#include "registry/auth.h"

#define ISS  "mpact-registry"
#define AUD  "mpact-registry"
#define USER "5f0c3b8e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
#define ORG  "0d6c8f9a-7b6e-4d5c-9b8a-7f6e5d4c3b2a"
#define NOW  1750000000LL

/* A valid claim set for `role` (with `org` when not NULL), as our tokens carry it. */
static json_t *
claims_for(const char *role, const char *org)
{
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "iss", ISS, "aud", AUD, "sub",
                          USER, "role", role, "iat", (json_int_t)NOW, "nbf", (json_int_t)NOW, "exp",
                          (json_int_t)(NOW + 900), "jti", "00112233445566778899aabbccddeeff");

    assert_non_null(c);
    if (org != NULL) {
        json_object_set_new(c, "org", json_string(org));
    }
    return c;
}

/* Checks `c` (taken) at `now`; returns the result and asserts the contract on failure:
 * a reason is given and the principal is left unauthenticated and empty. */
static int
check_at(json_t *c, long long now)
{
    struct principal p;
    const char *why = NULL;
    int rc;

    memset(&p, 0x5a, sizeof(p)); /* garbage a failure must not leave behind */
    rc = auth_check_claims(c, now, ISS, AUD, &p, &why);
    json_decref(c);
    if (rc != 0) {
        assert_int_equal(rc, -1);
        assert_non_null(why);
        assert_true(why[0] != '\0');
        assert_int_equal(p.authenticated, 0);
        assert_string_equal(p.sub, "");
        assert_string_equal(p.role, "");
        assert_string_equal(p.org, "");
    }
    return rc;
}

static int
check(json_t *c)
{
    return check_at(c, NOW);
}

static void
test_valid_admin(void **state)
{
    json_t *c = claims_for("admin", NULL);
    struct principal p;
    const char *why = NULL;

    (void)state;
    memset(&p, 0x5a, sizeof(p));
    assert_int_equal(auth_check_claims(c, NOW, ISS, AUD, &p, &why), 0);
    assert_int_equal(p.authenticated, 1);
    assert_string_equal(p.sub, USER);
    assert_string_equal(p.role, "admin");
    assert_string_equal(p.org, "");
    assert_true(auth_is_admin(&p));
    json_decref(c);

    /* An explicit null org is the same as none. */
    c = claims_for("admin", NULL);
    json_object_set_new(c, "org", json_null());
    assert_int_equal(check(c), 0);
}

static void
test_valid_licensees(void **state)
{
    static const char *const roles[] = {"org_admin", "org_staff"};
    size_t i;

    (void)state;
    for (i = 0; i < 2; i++) {
        json_t *c = claims_for(roles[i], ORG);
        struct principal p;
        const char *why = NULL;

        assert_int_equal(auth_check_claims(c, NOW, ISS, AUD, &p, &why), 0);
        assert_int_equal(p.authenticated, 1);
        assert_string_equal(p.sub, USER);
        assert_string_equal(p.role, roles[i]);
        assert_string_equal(p.org, ORG);
        assert_false(auth_is_admin(&p));
        json_decref(c);
    }
}

static void
test_optional_claims(void **state)
{
    json_t *c;

    (void)state;
    /* nbf and iat may be absent; exp may not. */
    c = claims_for("admin", NULL);
    json_object_del(c, "nbf");
    json_object_del(c, "iat");
    assert_int_equal(check(c), 0);
}

static void
test_exp(void **state)
{
    json_t *c;

    (void)state;
    c = claims_for("admin", NULL);
    json_object_del(c, "exp");
    assert_int_equal(check(c), -1);

    /* Type confusion (LIBRARIES.md 14): only an integer counts. */
    c = claims_for("admin", NULL);
    json_object_set_new(c, "exp", json_string("99999999999"));
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "exp", json_real((double)(NOW + 900)));
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "exp", json_true());
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "exp", json_null());
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "exp", json_pack("[I]", (json_int_t)(NOW + 900)));
    assert_int_equal(check(c), -1);

    /* Expired beyond the leeway. */
    c = claims_for("admin", NULL);
    json_object_set_new(c, "exp", json_integer(NOW - AUTH_LEEWAY - 1));
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "exp", json_integer(NOW - 3600));
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "exp", json_integer(0));
    assert_int_equal(check(c), -1);

    /* Expired, but within the leeway: clock skew is forgiven. */
    c = claims_for("admin", NULL);
    json_object_set_new(c, "exp", json_integer(NOW));
    assert_int_equal(check(c), 0);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "exp", json_integer(NOW - AUTH_LEEWAY + 1));
    assert_int_equal(check(c), 0);

    /* The same token, checked later, expires. */
    assert_int_equal(check_at(claims_for("admin", NULL), NOW + 900 + AUTH_LEEWAY - 1), 0);
    assert_int_equal(check_at(claims_for("admin", NULL), NOW + 900 + AUTH_LEEWAY + 1), -1);
}

static void
test_nbf(void **state)
{
    json_t *c;

    (void)state;
    /* In the future beyond the leeway. */
    c = claims_for("admin", NULL);
    json_object_set_new(c, "nbf", json_integer(NOW + AUTH_LEEWAY + 1));
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "nbf", json_integer(NOW + 3600));
    assert_int_equal(check(c), -1);
    /* Within the leeway. */
    c = claims_for("admin", NULL);
    json_object_set_new(c, "nbf", json_integer(NOW + AUTH_LEEWAY - 1));
    assert_int_equal(check(c), 0);
    /* Not an integer. */
    c = claims_for("admin", NULL);
    json_object_set_new(c, "nbf", json_string("0"));
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "nbf", json_real(0.0));
    assert_int_equal(check(c), -1);
}

static void
test_iat(void **state)
{
    json_t *c;

    (void)state;
    c = claims_for("admin", NULL);
    json_object_set_new(c, "iat", json_integer(NOW + AUTH_LEEWAY + 1));
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "iat", json_integer(NOW + AUTH_LEEWAY - 1));
    assert_int_equal(check(c), 0);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "iat", json_false());
    assert_int_equal(check(c), -1);
}

static void
test_iss(void **state)
{
    json_t *c;

    (void)state;
    c = claims_for("admin", NULL);
    json_object_set_new(c, "iss", json_string("someone-else"));
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "iss", json_string(ISS "x"));
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "iss", json_string(""));
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "iss", json_pack("[s]", ISS));
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_del(c, "iss");
    assert_int_equal(check(c), -1);
}

static void
test_aud(void **state)
{
    json_t *c;

    (void)state;
    c = claims_for("admin", NULL);
    json_object_set_new(c, "aud", json_string("another-service"));
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_del(c, "aud");
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "aud", json_integer(1));
    assert_int_equal(check(c), -1);
    /* An array containing ours is accepted (RFC 7519 4.1.3); one without it is not. */
    c = claims_for("admin", NULL);
    json_object_set_new(c, "aud", json_pack("[s, s]", "another-service", AUD));
    assert_int_equal(check(c), 0);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "aud", json_pack("[s, i]", "another-service", 5));
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "aud", json_array());
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "aud", json_pack("[[s]]", AUD)); /* nested: not ours */
    assert_int_equal(check(c), -1);
}

static void
test_sub(void **state)
{
    json_t *c;

    (void)state;
    c = claims_for("admin", NULL);
    json_object_del(c, "sub");
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "sub", json_string("ann@example.org"));
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "sub", json_string(USER "0"));
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "sub", json_integer(42));
    assert_int_equal(check(c), -1);
}

static void
test_role(void **state)
{
    json_t *c;

    (void)state;
    assert_int_equal(check(claims_for("superuser", NULL)), -1);
    assert_int_equal(check(claims_for("Admin", NULL)), -1);
    assert_int_equal(check(claims_for("", NULL)), -1);
    assert_int_equal(check(claims_for("superuser", ORG)), -1);
    c = claims_for("admin", NULL);
    json_object_del(c, "role");
    assert_int_equal(check(c), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "role", json_pack("[s]", "admin"));
    assert_int_equal(check(c), -1);
}

static void
test_org_binding(void **state)
{
    json_t *c;

    (void)state;
    /* A licensee needs an organisation, as a UUID string. */
    assert_int_equal(check(claims_for("org_admin", NULL)), -1);
    assert_int_equal(check(claims_for("org_staff", NULL)), -1);
    assert_int_equal(check(claims_for("org_admin", "")), -1);
    assert_int_equal(check(claims_for("org_admin", "medway")), -1);
    c = claims_for("org_admin", NULL);
    json_object_set_new(c, "org", json_null());
    assert_int_equal(check(c), -1);
    c = claims_for("org_admin", NULL);
    json_object_set_new(c, "org", json_integer(7));
    assert_int_equal(check(c), -1);
    /* The licensing body belongs to no organisation. */
    assert_int_equal(check(claims_for("admin", ORG)), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "org", json_string(""));
    assert_int_equal(check(c), -1);
}

static void
test_role_helpers(void **state)
{
    struct principal none, admin, staff;

    (void)state;
    memset(&none, 0, sizeof(none));
    memset(&admin, 0, sizeof(admin));
    memset(&staff, 0, sizeof(staff));
    admin.authenticated = 1;
    strcpy(admin.sub, USER);
    strcpy(admin.role, "admin");
    staff.authenticated = 1;
    strcpy(staff.sub, USER);
    strcpy(staff.role, "org_staff");
    strcpy(staff.org, ORG);

    assert_true(auth_is_admin(&admin));
    assert_false(auth_is_admin(&staff));
    assert_false(auth_is_admin(&none));

    /* The admin reaches every organisation. */
    assert_true(auth_in_org(&admin, ORG));
    assert_true(auth_in_org(&admin, "11111111-1111-1111-1111-111111111111"));
    /* A licensee only their own. */
    assert_true(auth_in_org(&staff, ORG));
    assert_false(auth_in_org(&staff, "11111111-1111-1111-1111-111111111111"));
    assert_false(auth_in_org(&staff, NULL));
    assert_false(auth_in_org(&staff, ""));
    /* Nobody signed in reaches none. */
    assert_false(auth_in_org(&none, ORG));
    assert_false(auth_in_org(&none, ""));

    /* The role alone is not enough: the principal must have been authenticated. */
    admin.authenticated = 0;
    assert_false(auth_is_admin(&admin));
    assert_false(auth_in_org(&admin, ORG));
    staff.authenticated = 0;
    assert_false(auth_in_org(&staff, ORG));

    /* A licensee without an organisation matches no organisation, not even "". */
    staff.authenticated = 1;
    staff.org[0] = '\0';
    assert_false(auth_in_org(&staff, ""));
}

/* Known defect (see the report). Last, because under -fsanitize=undefined it aborts. */
static void
test_extreme_times(void **state)
{
    json_t *c;

    (void)state;
    /* A far-future exp is valid and must not overflow `exp + AUTH_LEEWAY`. */
    c = claims_for("admin", NULL);
    json_object_set_new(c, "exp", json_integer(LLONG_MAX));
    assert_int_equal(check(c), 0);
    /* A far-past nbf/iat is valid and must not overflow `nbf - AUTH_LEEWAY`. */
    c = claims_for("admin", NULL);
    json_object_set_new(c, "nbf", json_integer(LLONG_MIN));
    json_object_set_new(c, "iat", json_integer(LLONG_MIN));
    assert_int_equal(check(c), 0);
}

/* An API client's token: it acts as org_admin of its organisation, within its scopes. */
static void
test_client_claims(void **state)
{
    struct principal p;
    const char *why = NULL;
    json_t *c = claims_for("client", ORG);

    (void)state;
    json_object_set_new(c, "scope", json_string("facilitators:read programmes:write"));
    assert_int_equal(auth_check_claims(c, NOW, ISS, AUD, &p, &why), 0);
    json_decref(c);
    assert_int_equal(p.client, 1);
    assert_string_equal(p.role, "org_admin");
    assert_string_equal(p.org, ORG);
    assert_true(auth_has_scope(&p, "facilitators:read"));
    assert_true(auth_has_scope(&p, "programmes:write"));
    assert_true(auth_has_scope(&p, "programmes:read")); /* write includes read */
    assert_false(auth_has_scope(&p, "locations:write"));
    assert_false(auth_has_scope(&p, "locations:read"));
    assert_false(auth_has_scope(&p, "facilitators:write")); /* read does not include write */
    assert_false(auth_has_scope(&p, "facilitators"));       /* whole words only */
    assert_false(auth_has_scope(&p, "read"));
    assert_false(auth_has_scope(&p, NULL));

    /* A client token needs its organisation and its scopes. */
    assert_int_equal(check_at(claims_for("client", ORG), NOW), -1);
    c = claims_for("client", NULL);
    json_object_set_new(c, "scope", json_string("facilitators:read"));
    assert_int_equal(check_at(c, NOW), -1);
    c = claims_for("client", ORG);
    json_object_set_new(c, "scope", json_integer(1));
    assert_int_equal(check_at(c, NOW), -1);
}

/* A user's token carries no scopes: the router's scope check applies to API clients only. */
static void
test_user_has_no_scopes(void **state)
{
    struct principal p;
    const char *why = NULL;
    json_t *c = claims_for("org_admin", ORG);

    (void)state;
    json_object_set_new(c, "scope", json_string("facilitators:read"));
    assert_int_equal(auth_check_claims(c, NOW, ISS, AUD, &p, &why), 0);
    json_decref(c);
    assert_int_equal(p.client, 0);
    assert_false(auth_has_scope(&p, "facilitators:read"));
}

/* The token epoch "ep": optional (0), else a non-negative integer. */
static void
test_epoch_claim(void **state)
{
    json_t *c;

    (void)state;
    assert_int_equal(check_at(claims_for("admin", NULL), NOW), 0);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "ep", json_integer(7));
    assert_int_equal(check_at(c, NOW), 0);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "ep", json_integer(-1));
    assert_int_equal(check_at(c, NOW), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "ep", json_string("7"));
    assert_int_equal(check_at(c, NOW), -1);
    c = claims_for("admin", NULL);
    json_object_set_new(c, "ep", json_real(7.0));
    assert_int_equal(check_at(c, NOW), -1);
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_valid_admin),
          cmocka_unit_test(test_valid_licensees),
          cmocka_unit_test(test_optional_claims),
          cmocka_unit_test(test_exp),
          cmocka_unit_test(test_nbf),
          cmocka_unit_test(test_iat),
          cmocka_unit_test(test_iss),
          cmocka_unit_test(test_aud),
          cmocka_unit_test(test_sub),
          cmocka_unit_test(test_role),
          cmocka_unit_test(test_org_binding),
          cmocka_unit_test(test_role_helpers),
          cmocka_unit_test(test_client_claims),
          cmocka_unit_test(test_user_has_no_scopes),
          cmocka_unit_test(test_extreme_times),
          cmocka_unit_test(test_epoch_claim))
