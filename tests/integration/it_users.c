/* it_users.c: /v1/users over HTTP against the real server and database: who may create, read,
 * list and change which accounts, optimistic locking, password changes, audit rows, and that
 * no password hash ever leaves the database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "itlib.h"

#define PASSWORD "correct horse battery"

/* Two organisations, each with an org_admin and an org_staff, and the licensing body's admin. */
struct fixture {
    IT_FX_HEAD;
    char org1[40], org2[40];
    char boss1_id[40], staff1_id[40], boss2_id[40], staff2_id[40];
    char *boss1, *staff1, *boss2, *staff2; /* access tokens */
};

/* POST /v1/users as `token` with the given fields (org NULL: left out). */
static void
post_user(struct it_server *s,
          const char *token,
          const char *email,
          const char *role,
          const char *org,
          struct it_resp *r)
{
    json_t *in = json_pack("{s:s, s:s, s:s}", "email", email, "password", PASSWORD, "role", role);
    char *body;

    if (org != NULL) {
        json_object_set_new(in, "organisation_id", json_string(org));
    }
    body = json_dumps(in, JSON_COMPACT);
    it_post_json(s, "/v1/users", token, body, r);
    free(body);
    json_decref(in);
}

/* Creates a user and copies its id into `id` (40 bytes). */
static void
make_user(struct it_server *s,
          const char *token,
          const char *email,
          const char *role,
          const char *org,
          char *id)
{
    struct it_resp r = {0};

    post_user(s, token, email, role, org, &r);
    it_assert_status(&r, 201);
    snprintf(id, 40, "%s", it_json_str(&r, "id"));
    it_resp_free(&r);
}

/* GET a user; returns its ETag (malloc'd) and leaves the response in `r`. */
static char *
get_user(struct it_server *s, const char *token, const char *id, struct it_resp *r)
{
    char *path = it_fmt("/v1/users/%s", id);
    const char *etag;

    it_get(s, path, token, r);
    free(path);
    etag = it_header(r, "ETag");
    return etag != NULL ? strdup(etag) : NULL;
}

static void
patch_user(struct it_server *s,
           const char *token,
           const char *id,
           const char *if_match,
           const char *json,
           struct it_resp *r)
{
    it_patchf(s, token, if_match, json, r, "/v1/users/%s", id);
}

/* Fails unless the 422 response names `field` in its errors array. */
static void
assert_names_field(const struct it_resp *r, const char *field)
{
    it_assert_problem(r, 422);
    if (!it_names_field(r, field)) {
        it_resp_print(r);
        fail_msg("errors does not name the field '%s'", field);
    }
}

/* Fails unless `user` is exactly the public shape of a user. */
static void
assert_user_shape(json_t *user)
{
    static const char *const keys[] = {"id",       "email",      "role",       "organisation_id",
                                       "disabled", "created_at", "updated_at", NULL};
    const char *const *k;

    assert_true(json_is_object(user));
    for (k = keys; *k != NULL; k++) {
        assert_non_null(json_object_get(user, *k));
    }
    assert_int_equal(json_object_size(user), 7);
}

static long
audit_count(struct it_server *s, const char *id)
{
    return it_count(s,
                    "SELECT count(*) FROM audit_event WHERE resource_type = 'user'"
                    " AND resource_id = $1",
                    id);
}

static int
refresh_status(struct it_server *s, const char *refresh)
{
    struct it_resp r = {0};
    char *body = it_fmt("{\"refresh_token\":\"%s\"}", refresh);
    int status;

    it_post_json(s, "/v1/auth/refresh", NULL, body, &r);
    status = (int)r.status;
    it_resp_free(&r);
    free(body);
    return status;
}

static int
signin_status(struct it_server *s, const char *email, const char *password)
{
    struct it_resp r = {0};
    char *body = it_fmt("{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    int status;

    it_post_json(s, "/v1/auth/token", NULL, body, &r);
    status = (int)r.status;
    it_resp_free(&r);
    free(body);
    return status;
}

/* ---- Fixture ------------------------------------------------------------------------------- */

static int
setup(void **state)
{
    struct fixture *f =
        it_fx_start(sizeof(*f), "users", NULL, "admin@users.example", PASSWORD, IT_FX_ID);
    char *o;

    o = it_create_org(f->s, f->admin, NULL, NULL, "Medway Family Recovery");
    snprintf(f->org1, sizeof(f->org1), "%s", o);
    free(o);
    o = it_create_org(f->s, f->admin, NULL, NULL, "Bristol Hidden Harm");
    snprintf(f->org2, sizeof(f->org2), "%s", o);
    free(o);
    make_user(f->s, f->admin, "boss@one.example", "org_admin", f->org1, f->boss1_id);
    make_user(f->s, f->admin, "staff@one.example", "org_staff", f->org1, f->staff1_id);
    make_user(f->s, f->admin, "boss@two.example", "org_admin", f->org2, f->boss2_id);
    make_user(f->s, f->admin, "staff@two.example", "org_staff", f->org2, f->staff2_id);
    f->boss1 = it_fx_own(f, it_login(f->s, "boss@one.example", PASSWORD));
    f->staff1 = it_fx_own(f, it_login(f->s, "staff@one.example", PASSWORD));
    f->boss2 = it_fx_own(f, it_login(f->s, "boss@two.example", PASSWORD));
    f->staff2 = it_fx_own(f, it_login(f->s, "staff@two.example", PASSWORD));
    *state = f;
    return 0;
}

/* ---- Create -------------------------------------------------------------------------------- */

static void
test_admin_creates_users(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    char *location;
    const char *id;

    post_user(f->s, f->admin, "Manager@Three.example", "org_admin", f->org1, &r);
    it_assert_status(&r, 201);
    assert_user_shape(r.json);
    id = it_json_str(&r, "id");
    it_assert_strs(&r, IT_ROW("email", "Manager@Three.example", "role", "org_admin",
                              "organisation_id", f->org1));
    assert_true(json_is_false(json_object_get(r.json, "disabled")));
    location = it_fmt("/v1/users/%s", id);
    it_assert_header(&r, "Location", location);
    it_assert_header(&r, "ETag", "\"");
    free(location);
    /* Stored as a yescrypt hash; one audit row, without the hash. */
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM app_user WHERE id = $1::uuid"
                              " AND password_hash LIKE '$y$%'",
                              id),
                     1);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_type = 'user'"
                              " AND resource_id = $1 AND action = 'create' AND actor_id = $2::uuid"
                              " AND before IS NULL AND after->>'email' = 'Manager@Three.example'",
                              id, f->admin_id),
                     1);
    it_resp_free(&r);

    /* A second admin: no organisation. */
    post_user(f->s, f->admin, "second-admin@users.example", "admin", NULL, &r);
    it_assert_status(&r, 201);
    assert_true(json_is_null(json_object_get(r.json, "organisation_id")));
    it_resp_free(&r);
    assert_int_equal(signin_status(f->s, "second-admin@users.example", PASSWORD), 200);
}

static void
test_create_validation(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    long users = it_count(f->s, "SELECT count(*) FROM app_user");
    long audits = it_count(f->s, "SELECT count(*) FROM audit_event");
    char *body;

    /* An admin with an organisation; a licensee without one. */
    post_user(f->s, f->admin, "v1@users.example", "admin", f->org1, &r);
    assert_names_field(&r, "organisation_id");
    it_resp_free(&r);
    post_user(f->s, f->admin, "v2@users.example", "org_staff", NULL, &r);
    assert_names_field(&r, "organisation_id");
    it_resp_free(&r);
    /* No such organisation; an archived one. */
    post_user(f->s, f->admin, "v3@users.example", "org_staff",
              "00000000-0000-4000-8000-000000000000", &r);
    assert_names_field(&r, "organisation_id");
    it_resp_free(&r);
    post_user(f->s, f->admin, "v3@users.example", "org_staff", "not-a-uuid", &r);
    assert_names_field(&r, "organisation_id");
    it_resp_free(&r);
    {
        char *gone = it_create_org(f->s, f->admin, NULL, NULL, "Archived Org");
        PQclear(
            it_sql(f->s, "UPDATE organisation SET archived_at = now() WHERE id = $1::uuid", gone));
        post_user(f->s, f->admin, "v4@users.example", "org_staff", gone, &r);
        assert_names_field(&r, "organisation_id");
        it_resp_free(&r);
        free(gone);
        audits = it_count(f->s, "SELECT count(*) FROM audit_event");
    }
    /* Weak password, bad email, unknown role, unknown field, missing fields. */
    body = it_fmt("{\"email\":\"v5@users.example\",\"password\":\"short\",\"role\":\"org_staff\","
                  "\"organisation_id\":\"%s\"}",
                  f->org1);
    it_post_json(f->s, "/v1/users", f->admin, body, &r);
    assert_names_field(&r, "password");
    assert_null(strstr(r.body, "short")); /* a password is never echoed */
    it_resp_free(&r);
    free(body);
    body = it_fmt("{\"email\":\"v5@users.example\",\"password\":\"v5@users.example\","
                  "\"role\":\"org_staff\",\"organisation_id\":\"%s\"}",
                  f->org1);
    it_post_json(f->s, "/v1/users", f->admin, body, &r);
    assert_names_field(&r, "password");
    it_resp_free(&r);
    free(body);
    post_user(f->s, f->admin, "not an email", "org_staff", f->org1, &r);
    assert_names_field(&r, "email");
    it_resp_free(&r);
    post_user(f->s, f->admin, "v6@users.example", "superuser", f->org1, &r);
    assert_names_field(&r, "role");
    it_resp_free(&r);
    it_post_json(f->s, "/v1/users", f->admin,
                 "{\"email\":\"v7@users.example\",\"password\":\"correct horse battery\","
                 "\"role\":\"admin\",\"password_hash\":\"x\"}",
                 &r);
    assert_names_field(&r, "password_hash");
    it_resp_free(&r);
    it_post_json(f->s, "/v1/users", f->admin, "{}", &r);
    assert_names_field(&r, "email");
    assert_names_field(&r, "password");
    assert_names_field(&r, "role");
    it_resp_free(&r);
    /* Duplicate email, in another case: 409. */
    post_user(f->s, f->admin, "STAFF@one.example", "org_staff", f->org1, &r);
    it_assert_problem(&r, 409);
    it_resp_free(&r);
    /* Nothing was written by any of these. */
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM app_user"), users);
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM audit_event"), audits);
}

static void
test_org_admin_creates_staff_only(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};

    /* Organisation omitted: their own. */
    post_user(f->s, f->boss1, "new-staff@one.example", "org_staff", NULL, &r);
    it_assert_status(&r, 201);
    assert_string_equal(it_json_str(&r, "organisation_id"), f->org1);
    it_resp_free(&r);
    post_user(f->s, f->boss1, "new-staff2@one.example", "org_staff", f->org1, &r);
    it_assert_status(&r, 201);
    it_resp_free(&r);
    /* Not another org_admin, not an admin, not in another organisation. */
    post_user(f->s, f->boss1, "x1@one.example", "org_admin", NULL, &r);
    it_assert_problem(&r, 403);
    it_resp_free(&r);
    post_user(f->s, f->boss1, "x2@one.example", "admin", NULL, &r);
    it_assert_problem(&r, 403);
    it_resp_free(&r);
    post_user(f->s, f->boss1, "x3@one.example", "org_staff", f->org2, &r);
    it_assert_problem(&r, 403);
    assert_non_null(strstr(r.body, "organisation_id"));
    it_resp_free(&r);
    /* org_staff creates nobody. */
    post_user(f->s, f->staff1, "x4@one.example", "org_staff", NULL, &r);
    it_assert_problem(&r, 403);
    it_resp_free(&r);
    assert_int_equal(
        it_count(f->s, "SELECT count(*) FROM app_user WHERE email LIKE 'x_@one.example'"), 0);
}

/* ---- Read and list ------------------------------------------------------------------------- */

static void
test_read_visibility(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    char *etag;

    /* Everyone reads themselves. */
    etag = get_user(f->s, f->staff1, "me", &r);
    it_assert_status(&r, 200);
    assert_user_shape(r.json);
    assert_string_equal(it_json_str(&r, "id"), f->staff1_id);
    assert_non_null(etag);
    free(etag);
    it_resp_free(&r);
    free(get_user(f->s, f->staff1, f->staff1_id, &r));
    it_assert_status(&r, 200);
    it_resp_free(&r);
    /* org_admin: their organisation's users; not another organisation's. */
    free(get_user(f->s, f->boss1, f->staff1_id, &r));
    it_assert_status(&r, 200);
    it_resp_free(&r);
    free(get_user(f->s, f->boss1, f->staff2_id, &r));
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    free(get_user(f->s, f->boss1, f->admin_id, &r));
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    /* org_staff: nobody else, not even their own org_admin. */
    free(get_user(f->s, f->staff1, f->boss1_id, &r));
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    /* admin: everyone. */
    free(get_user(f->s, f->admin, f->staff2_id, &r));
    it_assert_status(&r, 200);
    it_resp_free(&r);
    /* Absent and malformed ids. */
    free(get_user(f->s, f->admin, "00000000-0000-4000-8000-000000000000", &r));
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    free(get_user(f->s, f->admin, "not-a-uuid", &r));
    it_assert_problem(&r, 404);
    it_resp_free(&r);
}

static void
test_list(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    json_t *u, *all, *seen = json_object();
    size_t i;
    char *path;
    long total = it_count(f->s, "SELECT count(*) FROM app_user");
    int pages = 0;

    /* org_staff may not list; org_admin sees their organisation only. */
    it_expect(f->s, "GET", "/v1/users", f->staff1, NULL, 403);
    it_get(f->s, "/v1/users", f->boss1, &r);
    it_assert_status(&r, 200);
    assert_true(json_array_size(json_object_get(r.json, "items")) >= 2);
    json_array_foreach(json_object_get(r.json, "items"), i, u)
    {
        assert_user_shape(u);
        assert_string_equal(json_string_value(json_object_get(u, "organisation_id")), f->org1);
    }
    it_resp_free(&r);
    path = it_fmt("/v1/users?organisation_id=%s", f->org2);
    it_expect_items(f->s, f->boss1, 0, "%s", path);
    /* Filters. */
    it_get(f->s, path, f->admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(
        json_array_size(json_object_get(r.json, "items")),
        it_count(f->s, "SELECT count(*) FROM app_user WHERE organisation_id = $1", f->org2));
    it_resp_free(&r);
    free(path);
    it_get(f->s, "/v1/users?q=BOSS%40TWO", f->admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r.json, "items"), 0), "id")),
                        f->boss2_id);
    it_resp_free(&r);
    it_get(f->s, "/v1/users?role=admin&disabled=false", f->admin, &r);
    it_assert_status(&r, 200);
    it_assert_items_all(&r, "role", "admin");
    it_resp_free(&r);
    it_expect(f->s, "GET", "/v1/users?role=root", f->admin, NULL, 400);
    it_expect(f->s, "GET", "/v1/users?disabled=maybe", f->admin, NULL, 400);
    it_expect(f->s, "GET", "/v1/users?organisation_id=x", f->admin, NULL, 400);
    it_expect(f->s, "GET", "/v1/users?sort=email", f->admin, NULL, 400);
    it_expect(f->s, "GET", "/v1/users?cursor=garbage", f->admin, NULL, 400);
    /* Pages of 2 walk every user exactly once. */
    all = it_all_pages(f->s, f->admin, "/v1/users?limit=2", 2, 101, &pages);
    assert_true(pages <= 100);
    json_array_foreach(all, i, u)
    {
        const char *id = json_string_value(json_object_get(u, "id"));
        assert_null(json_object_get(seen, id));
        json_object_set_new(seen, id, json_true());
    }
    json_decref(all);
    assert_int_equal((long)json_object_size(seen), total);
    json_decref(seen);
}

/* ---- Change -------------------------------------------------------------------------------- */

static void
test_patch_if_match(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    char id[40], *etag;

    make_user(f->s, f->admin, "etag@one.example", "org_staff", f->org1, id);
    patch_user(f->s, f->admin, id, NULL, "{\"disabled\":true}", &r);
    it_assert_problem(&r, 428);
    it_resp_free(&r);
    patch_user(f->s, f->admin, id, "\"999\"", "{\"disabled\":true}", &r);
    it_assert_problem(&r, 412);
    it_resp_free(&r);
    etag = it_etag_of(f->s, f->admin, "/v1/users/%s", id);
    patch_user(f->s, f->admin, id, etag, "{\"disabled\":true}", &r);
    it_assert_status(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "disabled")));
    assert_string_not_equal(it_header(&r, "ETag"), etag);
    it_resp_free(&r);
    /* The old ETag is stale now. */
    patch_user(f->s, f->admin, id, etag, "{\"disabled\":false}", &r);
    it_assert_problem(&r, 412);
    it_resp_free(&r);
    free(etag);
    /* Validation comes before the precondition; nothing changes. */
    etag = it_etag_of(f->s, f->admin, "/v1/users/%s", id);
    patch_user(f->s, f->admin, id, etag, "{\"email\":\"new@one.example\"}", &r);
    assert_names_field(&r, "email");
    it_resp_free(&r);
    patch_user(f->s, f->admin, id, etag, "{\"disabled\":\"yes\"}", &r);
    assert_names_field(&r, "disabled");
    it_resp_free(&r);
    patch_user(f->s, f->admin, id, etag, "{}", &r);
    it_assert_problem(&r, 422);
    it_resp_free(&r);
    free(etag);
    assert_int_equal(audit_count(f->s, id), 2); /* create + one update */
}

/* Two PATCHes with one ETag at the same moment: exactly one wins. */
static void
test_patch_concurrent(void **state)
{
    struct fixture *f = *state;
    char id[40], *etag, *path;
    struct it_race x;

    make_user(f->s, f->admin, "race@one.example", "org_staff", f->org1, id);
    etag = it_etag_of(f->s, f->admin, "/v1/users/%s", id);
    path = it_fmt("/v1/users/%s", id);
    it_race_start(&x, f->s, "PATCH", path, f->admin, etag, "{\"role\":\"org_admin\"}",
                  "{\"disabled\":true}");
    it_race_join(&x);
    assert_true((x.status[0] == 200 && x.status[1] == 412)
                || (x.status[0] == 412 && x.status[1] == 200));
    assert_int_equal(audit_count(f->s, id), 2);
    free(path);
    free(etag);
}

static void
test_disable_revokes_sessions(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    char id[40], *etag, *refresh1 = NULL, *refresh2 = NULL, *access1, *access2;

    make_user(f->s, f->admin, "leaver@one.example", "org_staff", f->org1, id);
    access1 = it_login_tokens(f->s, "leaver@one.example", PASSWORD, &refresh1);
    access2 = it_login_tokens(f->s, "leaver@one.example", PASSWORD, &refresh2);
    /* Their org_admin disables them. */
    etag = it_etag_of(f->s, f->boss1, "/v1/users/%s", id);
    patch_user(f->s, f->boss1, id, etag, "{\"disabled\":true}", &r);
    it_assert_status(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "disabled")));
    it_resp_free(&r);
    free(etag);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM refresh_token WHERE user_id = $1::uuid"
                              " AND revoked_at IS NULL",
                              id),
                     0);
    assert_int_equal(refresh_status(f->s, refresh1), 400);
    assert_int_equal(refresh_status(f->s, refresh2), 400);
    /* Their access tokens end at once too (token epochs), not when they expire. */
    it_expect(f->s, "GET", "/v1/users/me", access1, NULL, 401);
    it_expect(f->s, "GET", "/v1/users/me", access2, NULL, 401);
    assert_int_equal(signin_status(f->s, "leaver@one.example", PASSWORD), 401);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_type = 'user'"
                              " AND resource_id = $1 AND action = 'update' AND actor_id = $2::uuid"
                              " AND before->>'disabled' = 'false' AND after->>'disabled' = 'true'",
                              id, f->boss1_id),
                     1);
    /* And enables them again: they sign in. */
    etag = it_etag_of(f->s, f->boss1, "/v1/users/%s", id);
    patch_user(f->s, f->boss1, id, etag, "{\"disabled\":false}", &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    free(etag);
    assert_int_equal(signin_status(f->s, "leaver@one.example", PASSWORD), 200);
    free(refresh1);
    free(refresh2);
    free(access1);
    free(access2);
}

static void
test_patch_rules(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    char id[40], other[40], *etag;
    long audits;

    make_user(f->s, f->admin, "rules@one.example", "org_staff", f->org1, id);
    make_user(f->s, f->admin, "rules@two.example", "org_staff", f->org2, other);
    audits = it_count(f->s, "SELECT count(*) FROM audit_event");

    /* org_admin: no role changes, nothing on org_admins, nothing in another organisation. */
    etag = it_etag_of(f->s, f->admin, "/v1/users/%s", id);
    patch_user(f->s, f->boss1, id, etag, "{\"role\":\"org_admin\"}", &r);
    it_assert_problem(&r, 403);
    it_resp_free(&r);
    free(etag);
    etag = it_etag_of(f->s, f->admin, "/v1/users/%s", f->boss1_id);
    patch_user(f->s, f->boss1, f->boss1_id, etag, "{\"disabled\":true}", &r);
    assert_names_field(&r, "disabled"); /* nobody disables themselves */
    it_resp_free(&r);
    free(etag);
    etag = it_etag_of(f->s, f->admin, "/v1/users/%s", other);
    patch_user(f->s, f->boss1, other, etag, "{\"disabled\":true}", &r);
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    free(etag);
    /* org_staff: nothing, themselves included. */
    etag = it_etag_of(f->s, f->admin, "/v1/users/%s", f->staff1_id);
    patch_user(f->s, f->staff1, f->staff1_id, etag, "{\"disabled\":false}", &r);
    it_assert_problem(&r, 403);
    it_resp_free(&r);
    patch_user(f->s, f->staff1, "me", etag, "{\"disabled\":true}", &r);
    assert_names_field(&r, "disabled");
    it_resp_free(&r);
    free(etag);
    /* admin: not to or from admin, not disabling themselves. */
    etag = it_etag_of(f->s, f->admin, "/v1/users/%s", id);
    patch_user(f->s, f->admin, id, etag, "{\"role\":\"admin\"}", &r);
    assert_names_field(&r, "role");
    it_resp_free(&r);
    free(etag);
    etag = it_etag_of(f->s, f->admin, "/v1/users/%s", f->admin_id);
    patch_user(f->s, f->admin, "me", etag, "{\"role\":\"org_admin\"}", &r);
    assert_names_field(&r, "role");
    it_resp_free(&r);
    patch_user(f->s, f->admin, f->admin_id, etag, "{\"disabled\":true}", &r);
    assert_names_field(&r, "disabled");
    it_resp_free(&r);
    free(etag);
    /* None of that wrote anything. */
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM audit_event"), audits);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM app_user WHERE id = $1::uuid AND version = 1"
                              " AND role = 'org_staff' AND NOT disabled",
                              id),
                     1);

    /* admin: org_staff <-> org_admin. */
    etag = it_etag_of(f->s, f->admin, "/v1/users/%s", id);
    patch_user(f->s, f->admin, id, etag, "{\"role\":\"org_admin\"}", &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "role"), "org_admin");
    it_resp_free(&r);
    free(etag);
    etag = it_etag_of(f->s, f->admin, "/v1/users/%s", id);
    patch_user(f->s, f->admin, id, etag, "{\"role\":\"org_staff\"}", &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    free(etag);
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM audit_event"), audits + 2);

    /* A user of an archived organisation stays disabled. */
    {
        char *gone = it_create_org(f->s, f->admin, NULL, NULL, "Closing Org"), gid[40];
        make_user(f->s, f->admin, "closing@three.example", "org_staff", gone, gid);
        PQclear(
            it_sql(f->s, "UPDATE organisation SET archived_at = now() WHERE id = $1::uuid", gone));
        PQclear(it_sql(f->s, "UPDATE app_user SET disabled = true WHERE id = $1::uuid", gid));
        etag = it_etag_of(f->s, f->admin, "/v1/users/%s", gid);
        patch_user(f->s, f->admin, gid, etag, "{\"disabled\":false}", &r);
        it_assert_problem(&r, 409);
        it_resp_free(&r);
        free(etag);
        free(gone);
    }
}

/* ---- Password ------------------------------------------------------------------------------ */

static void
test_password_change(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    char id[40], *access, *refresh = NULL;
    const char *email = "changer@one.example";
    long audits;

    make_user(f->s, f->admin, email, "org_staff", f->org1, id);
    access = it_login_tokens(f->s, email, PASSWORD, &refresh);
    audits = audit_count(f->s, id);

    /* Policy and validation: 422, nothing written, nothing counted. */
    it_post_json(f->s, "/v1/users/me/password", access,
                 "{\"current_password\":\"correct horse battery\",\"new_password\":\"short\"}", &r);
    assert_names_field(&r, "new_password");
    it_resp_free(&r);
    it_post_json(f->s, "/v1/users/me/password", access,
                 "{\"current_password\":\"correct horse battery\","
                 "\"new_password\":\"correct horse battery\"}",
                 &r);
    assert_names_field(&r, "new_password");
    it_resp_free(&r);
    it_post_json(f->s, "/v1/users/me/password", access, "{\"new_password\":\"long enough pw 1\"}",
                 &r);
    assert_names_field(&r, "current_password");
    it_resp_free(&r);
    assert_int_equal(audit_count(f->s, id), audits);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM login_attempt WHERE email_key = $1"
                              " AND failed_at IS NOT NULL",
                              email),
                     0);

    /* Wrong current password: 401, counted towards the sign-in throttle. */
    it_post_json(
        f->s, "/v1/users/me/password", access,
        "{\"current_password\":\"not my password\",\"new_password\":\"a new long password\"}", &r);
    it_assert_problem(&r, 401);
    assert_string_equal(it_json_str(&r, "type"), "/problems/invalid-credentials");
    it_resp_free(&r);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM login_attempt WHERE email_key = $1"
                              " AND failed_at IS NOT NULL",
                              email),
                     1);
    assert_int_equal(audit_count(f->s, id), audits);

    /* Success: 204, sessions ended, the old password no longer works, the new one does. */
    it_expect(
        f->s, "POST", "/v1/users/me/password", access,
        "{\"current_password\":\"correct horse battery\",\"new_password\":\"a new long password\"}",
        204);
    assert_int_equal(refresh_status(f->s, refresh), 400);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM refresh_token WHERE user_id = $1::uuid"
                              " AND revoked_at IS NULL",
                              id),
                     0);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM login_attempt WHERE email_key = $1"
                              " AND failed_at IS NOT NULL",
                              email),
                     0);
    assert_int_equal(signin_status(f->s, email, PASSWORD), 401);
    assert_int_equal(signin_status(f->s, email, "a new long password"), 200);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_type = 'user'"
                              " AND resource_id = $1 AND action = 'password'"
                              " AND actor_id = $1::uuid",
                              id),
                     1);
    free(access);
    free(refresh);
}

static void
test_password_change_throttled(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    char id[40], *access;
    const char *email = "guesser@one.example";
    int i;

    make_user(f->s, f->admin, email, "org_staff", f->org1, id);
    access = it_login(f->s, email, PASSWORD);
    for (i = 0; i < 5; i++) {
        it_expect(
            f->s, "POST", "/v1/users/me/password", access,
            "{\"current_password\":\"guess guess guess\",\"new_password\":\"a new long password\"}",
            401);
    }
    /* A stolen access token does not buy unlimited guesses, and sign-in is throttled too. */
    it_post_json(
        f->s, "/v1/users/me/password", access,
        "{\"current_password\":\"correct horse battery\",\"new_password\":\"a new long password\"}",
        &r);
    it_assert_problem(&r, 429);
    assert_non_null(it_header(&r, "Retry-After"));
    it_resp_free(&r);
    assert_int_equal(signin_status(f->s, email, PASSWORD), 429);
    free(access);
}

/* ---- No hash anywhere ---------------------------------------------------------------------- */

static void
test_no_password_hash_anywhere(void **state)
{
    struct fixture *f = *state;
    struct it_resp r = {0};
    char *path;

    it_get(f->s, "/v1/users?limit=100", f->admin, &r);
    it_assert_status(&r, 200);
    it_assert_absent(r.body, "password", "$y$", NULL);
    it_resp_free(&r);
    path = it_fmt("/v1/audit?resource_type=user&limit=100");
    it_get(f->s, path, f->admin, &r);
    it_assert_status(&r, 200);
    assert_true(json_array_size(json_object_get(r.json, "items")) > 0);
    it_assert_absent(r.body, "password_hash", "$y$", NULL);
    it_resp_free(&r);
    free(path);
    assert_true(it_count(f->s, "SELECT count(*) FROM audit_event WHERE resource_type = 'user'")
                > 0);
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM audit_event WHERE resource_type = 'user'"
                                    " AND (coalesce(before::text, '') || coalesce(after::text, ''))"
                                    "     ~ '(password|\\$y\\$)'"),
                     0);
}

/* GET /v1/users/me: each caller reads their own account; an API client, which is no user,
 * gets 403; no token, 401. */
static void
test_me(void **state)
{
    struct fixture *f = *state;
    const char *tokens[] = {f->admin, f->boss1, f->staff1, f->boss2, f->staff2};
    const char *ids[] = {f->admin_id, f->boss1_id, f->staff1_id, f->boss2_id, f->staff2_id};
    const char *roles[] = {"admin", "org_admin", "org_staff", "org_admin", "org_staff"};
    struct it_resp r = {0};
    char *body, client_uuid[40], client_id[64], secret[128];
    size_t i;

    for (i = 0; i < 5; i++) {
        it_get(f->s, "/v1/users/me", tokens[i], &r);
        it_assert_status(&r, 200);
        assert_user_shape(r.json);
        it_assert_strs(&r, IT_ROW("id", ids[i], "role", roles[i]));
        assert_non_null(it_header(&r, "ETag"));
        it_resp_free(&r);
    }
    it_expect(f->s, "GET", "/v1/users/me", NULL, NULL, 401);

    /* Only a licensed organisation's clients get tokens. */
    PQclear(it_sql(f->s,
                   "INSERT INTO licence (organisation_id, number, status, valid_from, valid_until)"
                   " VALUES ($1::uuid, 'MPL-ME-' || gen_random_uuid(), 'active',"
                   "  registry_today() - 30, registry_today() + 365)",
                   f->org1));
    it_post_json(f->s, "/v1/clients", f->boss1,
                 "{\"name\": \"HR sync\", \"scopes\": [\"facilitators:read\"]}", &r);
    it_assert_status(&r, 201);
    snprintf(client_uuid, sizeof(client_uuid), "%s", it_json_str(&r, "id"));
    snprintf(client_id, sizeof(client_id), "%s", it_json_str(&r, "client_id"));
    snprintf(secret, sizeof(secret), "%s", it_json_str(&r, "client_secret"));
    body = it_fmt("{\"grant_type\": \"client_credentials\", \"client_id\": \"%s\","
                  " \"client_secret\": \"%s\"}",
                  client_id, secret);
    it_resp_free(&r);
    it_post_json(f->s, "/v1/auth/token", NULL, body, &r);
    it_assert_status(&r, 200);
    {
        char *client = strdup(it_json_str(&r, "access_token"));

        it_resp_free(&r);
        it_expect(f->s, "GET", "/v1/users/me", client, NULL, 403);
        free(client);
    }
    free(body);

    /* The client revokes its own secret: the audit row records it as the API client it is, with
     * the role "client" (it acts with an org_admin's rights) and no email. */
    {
        const char *form[] = {"Content-Type: application/x-www-form-urlencoded", NULL, NULL};
        char *auth = it_basic_auth(client_id, secret);

        form[1] = auth;
        body = it_fmt("token=%s&token_type_hint=client_secret", secret);
        it_request(f->s, "POST", "/v1/auth/revoke", NULL, form, body, &r);
        it_assert_status(&r, 200);
        it_resp_free(&r);
        it_assert_row(f->s, IT_ROW("api_client", "client", "t"),
                      "SELECT actor_type, actor_role, actor_email IS NULL FROM audit_event"
                      " WHERE action = 'revoke_secret' AND resource_id = $1",
                      client_uuid);
        free(body);
        free(auth);
    }
}

TEST_MAIN(setup,
          it_fx_teardown,
          cmocka_unit_test(test_admin_creates_users),
          cmocka_unit_test(test_create_validation),
          cmocka_unit_test(test_org_admin_creates_staff_only),
          cmocka_unit_test(test_read_visibility),
          cmocka_unit_test(test_list),
          cmocka_unit_test(test_patch_if_match),
          cmocka_unit_test(test_patch_concurrent),
          cmocka_unit_test(test_disable_revokes_sessions),
          cmocka_unit_test(test_patch_rules),
          cmocka_unit_test(test_password_change),
          cmocka_unit_test(test_password_change_throttled),
          cmocka_unit_test(test_no_password_hash_anywhere),
          cmocka_unit_test(test_me))
