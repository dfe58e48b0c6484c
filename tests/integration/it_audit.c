/* it_audit.c: GET /v1/audit end to end. Changes to organisations and licences made over HTTP
 * leave audit rows (who, action, before and after, request id) that the licensing body can read
 * back, filtered by resource and page by page; licensees may not read them; and a request that
 * fails (422, 409, 412, 428) leaves no row at all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"
#include "registry/password.h"

#define ADMIN_EMAIL "admin@audit.example"
#define PASSWORD    "audit-test-password-1"
#define ORG_BODY                                                                                   \
    "{\"name\": \"%s\", \"kind\": \"nhs\", \"address_lines\": [\"2 Quay Street\"],"                \
    " \"town\": \"Bristol\", \"postcode\": \"bs1 4dj\"}"
#define LICENCE_BODY "{\"valid_from\": \"2025-01-01\", \"valid_until\": \"2099-12-31\"}"

struct fx {
    IT_FX_HEAD;
};

/* ---- Helpers ------------------------------------------------------------------------------- */

/* A string member of a nested object, or NULL. */
static const char *
jpath(json_t *o, const char *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(o, obj), key));
}

static long
audit_rows(struct fx *f)
{
    return it_count(f->s, "SELECT count(*) FROM audit_event");
}

/* Creates an organisation over HTTP; returns its id, and its ETag in *etag (both malloc'd). */
static char *
create_org(struct fx *f, const char *name, char **etag)
{
    char *body = it_fmt(ORG_BODY, name), *id = it_create_org_json(f->s, f->admin, body, etag);

    free(body);
    return id;
}

/* Issues a licence for `org` over HTTP; returns its id and ETag (malloc'd). */
static char *
create_licence(struct fx *f, const char *org, char **etag)
{
    return it_post_created(f->s, f->admin, LICENCE_BODY, etag, "/v1/organisations/%s/licences",
                           org);
}

/* GET /v1/audit?<query> as `token`, expecting 200; returns the items (a new reference) and the
 * next cursor (malloc'd or NULL) in *next. */
static json_t *
audit_items(struct fx *f, const char *token, const char *query, char **next)
{
    char *path = it_fmt("/v1/audit?%s", query);
    struct it_resp r;
    json_t *items, *nc;

    it_get(f->s, path, token, &r);
    it_assert_status(&r, 200);
    it_assert_header(&r, "Content-Type", "application/json");
    items = json_object_get(r.json, "items");
    assert_true(json_is_array(items));
    nc = json_object_get(r.json, "next_cursor");
    assert_true(json_is_null(nc) || json_is_string(nc));
    if (next != NULL) {
        *next = json_is_string(nc) ? strdup(json_string_value(nc)) : NULL;
    }
    json_incref(items);
    it_resp_free(&r);
    free(path);
    return items;
}

/* The number of items GET /v1/audit?<query> answers the admin with (audit_items). */
static size_t
audit_count(struct fx *f, const char *query)
{
    json_t *items = audit_items(f, f->admin, query, NULL);
    size_t n = json_array_size(items);

    json_decref(items);
    return n;
}

/* Checks the common shape of an audit item written by the admin for `type`/`id`. */
static void
assert_item(struct fx *f, json_t *item, const char *action, const char *type, const char *id)
{
    assert_true(json_is_object(item));
    assert_true(json_is_integer(json_object_get(item, "id")));
    assert_non_null(it_jstr(item, "at"));
    assert_string_equal(it_jstr(item, "actor_id"), f->admin_id);
    assert_string_equal(it_jstr(item, "action"), action);
    assert_string_equal(it_jstr(item, "resource_type"), type);
    assert_string_equal(it_jstr(item, "resource_id"), id);
    assert_non_null(it_jstr(item, "request_id"));
    if (strcmp(action, "create") == 0) {
        assert_true(json_is_null(json_object_get(item, "before")));
    } else {
        assert_true(json_is_object(json_object_get(item, "before")));
    }
    assert_true(json_is_object(json_object_get(item, "after")));
    /* Snapshots carry the public fields only, never the row version. */
    assert_null(json_object_get(json_object_get(item, "after"), "_version"));
    assert_null(json_object_get(json_object_get(item, "after"), "version"));
}

/* ---- Fixture ------------------------------------------------------------------------------- */

IT_SETUP(
    group_setup,
    it_fx_start(sizeof(struct fx), "audit", NULL, ADMIN_EMAIL, PASSWORD, IT_FX_ID | IT_FX_HASH))

/* The trail of `type`/`id` oldest first, which must be its create and then one update, both by
 * the admin (assert_item). Returns the two items (a new reference). */
static json_t *
create_then_update(struct fx *f, const char *type, const char *id)
{
    char *q = it_fmt("resource_type=%s&resource_id=%s&order=asc", type, id);
    json_t *items = audit_items(f, f->admin, q, NULL);

    assert_int_equal(json_array_size(items), 2);
    assert_item(f, json_array_get(items, 0), "create", type, id);
    assert_item(f, json_array_get(items, 1), "update", type, id);
    free(q);
    return items;
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void
test_organisation_and_licence_trail(void **state)
{
    struct fx *f = *state;
    char *org_etag, *lic_etag, *q;
    char *org = create_org(f, "Audit Trail Trust", &org_etag);
    char *lic = create_licence(f, org, &lic_etag);
    char *if_match = it_fmt("If-Match: %s", org_etag);
    char *path = it_fmt("/v1/organisations/%s", org);
    const char *hdrs[] = {"Content-Type: application/json", if_match,
                          "X-Request-Id: audit-rename-0001", NULL};
    struct it_resp r;
    json_t *items, *item;

    /* A rename, sent with our own request id. */
    it_request(f->s, "PATCH", path, f->admin, hdrs, "{\"name\": \"Audit Trail NHS Trust\"}", &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    /* The licence activated. */
    {
        char *lpath = it_fmt("/v1/licences/%s", lic);

        it_expect_if(f->s, "PATCH", lpath, f->admin, lic_etag,
                     "{\"status\": \"active\", \"reason\": \"checks passed\"}", 200);
        free(lpath);
    }

    /* The organisation's trail: create, then update, oldest first when asked. */
    items = create_then_update(f, "organisation", org);
    item = json_array_get(items, 0);
    assert_string_equal(jpath(item, "after", "name"), "Audit Trail Trust");
    assert_string_equal(jpath(item, "after", "postcode"), "BS1 4DJ");
    item = json_array_get(items, 1);
    assert_string_equal(jpath(item, "before", "name"), "Audit Trail Trust");
    assert_string_equal(jpath(item, "after", "name"), "Audit Trail NHS Trust");
    assert_string_equal(it_jstr(item, "request_id"), "audit-rename-0001");
    assert_true(json_integer_value(json_object_get(json_array_get(items, 0), "id"))
                < json_integer_value(json_object_get(item, "id")));
    json_decref(items);

    /* The licence's trail: create (pending), then update (pending to active, with the reason). */
    items = create_then_update(f, "licence", lic);
    item = json_array_get(items, 0);
    assert_string_equal(jpath(item, "after", "status"), "pending");
    assert_string_equal(jpath(item, "after", "organisation_id"), org);
    assert_non_null(jpath(item, "after", "number"));
    item = json_array_get(items, 1);
    assert_string_equal(jpath(item, "before", "status"), "pending");
    assert_string_equal(jpath(item, "after", "status"), "active");
    assert_string_equal(jpath(item, "after", "reason"), "checks passed");
    json_decref(items);

    /* The same rows as the table holds, with the admin as actor. */
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE actor_id = $1::uuid"
                              " AND resource_id IN ($2, $3)",
                              f->admin_id, org, lic),
                     4);

    /* A filter on one resource does not see another's rows. */
    q = it_fmt("resource_type=licence&resource_id=%s", org);
    items = audit_items(f, f->admin, q, NULL);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
    free(q);
    items = audit_items(f, f->admin, "resource_type=licence&limit=100", NULL);
    {
        size_t i;

        assert_true(json_array_size(items) >= 2);
        json_array_foreach(items, i, item)
        {
            assert_string_equal(it_jstr(item, "resource_type"), "licence");
        }
    }
    json_decref(items);
    free(path);
    free(if_match);
    free(org_etag);
    free(lic_etag);
    free(org);
    free(lic);
}

static void
test_only_the_licensing_body(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f, "Audit Licensee Org", NULL);
    const char *roles[] = {"org_admin", "org_staff"};
    struct it_resp r;
    int i;

    for (i = 0; i < 2; i++) {
        char *email = it_fmt("%s@audit.example", roles[i]);
        char *token, *path;

        PQclear(it_sql(f->s,
                       "INSERT INTO app_user (email, password_hash, role, organisation_id)"
                       " VALUES ($1, $2, $3, $4::uuid)",
                       email, f->hash, roles[i], org));
        token = it_login(f->s, email, PASSWORD);
        it_expect(f->s, "GET", "/v1/audit", token, NULL, 403);
        /* Not even the trail of their own organisation. */
        path = it_fmt("/v1/audit?resource_type=organisation&resource_id=%s", org);
        it_expect(f->s, "GET", path, token, NULL, 403);
        free(path);
        free(token);
        free(email);
    }
    it_get(f->s, "/v1/audit", NULL, &r);
    it_assert_problem(&r, 401);
    it_assert_header(&r, "WWW-Authenticate", "Bearer");
    it_resp_free(&r);
    it_expect(f->s, "GET", "/v1/audit", "not.a.token", NULL, 401);
    free(org);
}

static void
test_paging(void **state)
{
    struct fx *f = *state;
    char *etag, *org = create_org(f, "Audit Paging Org", &etag);
    char *path = it_fmt("/v1/organisations/%s", org);
    char *q, *cursor = NULL;
    json_t *all = json_array();
    json_int_t last = 0;
    int i, pages = 0;

    /* Six more rows for this organisation: seven in all. */
    for (i = 0; i < 6; i++) {
        char *body = it_fmt("{\"town\": \"Bristol %d\"}", i);
        struct it_resp r;

        it_patch_json(f->s, path, f->admin, etag, body, &r);
        it_assert_status(&r, 200);
        it_renew_etag(&r, &etag);
        it_resp_free(&r);
        free(body);
    }
    do {
        json_t *items, *item;
        size_t k;

        q = cursor == NULL
                ? it_fmt("resource_type=organisation&resource_id=%s&limit=3&order=asc", org)
                : it_fmt("resource_type=organisation&resource_id=%s&limit=3&order=asc&cursor=%s",
                         org, cursor);
        free(cursor);
        items = audit_items(f, f->admin, q, &cursor);
        assert_true(json_array_size(items) <= 3);
        json_array_foreach(items, k, item)
        {
            json_int_t id = json_integer_value(json_object_get(item, "id"));

            assert_true(id > last); /* ascending, never repeated */
            last = id;
            json_array_append(all, item);
        }
        json_decref(items);
        free(q);
        pages++;
    } while (cursor != NULL && pages < 10);
    assert_int_equal(pages, 3);
    assert_int_equal(json_array_size(all), 7);
    assert_string_equal(it_jstr(json_array_get(all, 0), "action"), "create");
    assert_string_equal(jpath(json_array_get(all, 6), "after", "town"), "Bristol 5");
    assert_string_equal(jpath(json_array_get(all, 6), "before", "town"), "Bristol 4");

    /* The default order is newest first, and pages the same seven rows backwards. */
    pages = 0;
    last = 0;
    do {
        json_t *items, *item;
        size_t k;

        q = cursor == NULL ? it_fmt("resource_type=organisation&resource_id=%s&limit=3", org)
                           : it_fmt("resource_type=organisation&resource_id=%s&limit=3&cursor=%s",
                                    org, cursor);
        free(cursor);
        items = audit_items(f, f->admin, q, &cursor);
        json_array_foreach(items, k, item)
        {
            json_int_t id = json_integer_value(json_object_get(item, "id"));
            json_int_t want = json_integer_value(
                json_object_get(json_array_get(all, 6 - (size_t)(pages * 3) - k), "id"));

            assert_true(last == 0 || id < last); /* descending, never repeated */
            assert_int_equal(id, want);
            last = id;
        }
        json_decref(items);
        free(q);
        pages++;
    } while (cursor != NULL && pages < 10);
    assert_int_equal(pages, 3);

    /* Bad query strings: 400. */
    it_expect_gets(f->s, f->admin, 400, "/v1/audit?", "limit=0", "limit=101", "limit=ten",
                   "cursor=!!", "cursor=WyJ4Il0", "colour=blue",
                   "resource_type=licence&resource_type=user", "actor_id=someone",
                   "actor_email=", "action=", "from=2025-13-01", "from=yesterday",
                   "to=2025-01-01T25:00:00Z", "to=2025-01-01T10:00:00", "order=up",
                   "cursor=WzBd" /* [0] */, "cursor=Wy0xXQ" /* [-1] */,
                   "cursor=WzEuNV0" /* [1.5] */, "cursor=WzEsMl0" /* [1,2] */, NULL);
    json_decref(all);
    free(path);
    free(etag);
    free(org);
}

static void
test_failed_requests_write_nothing(void **state)
{
    struct fx *f = *state;
    char *org_etag, *lic_etag;
    char *org = create_org(f, "Audit Failure Org", &org_etag);
    char *lic = create_licence(f, org, &lic_etag);
    char *org_path = it_fmt("/v1/organisations/%s", org);
    char *lic_path = it_fmt("/v1/licences/%s", lic);
    char *lics_path = it_fmt("/v1/organisations/%s/licences", org);
    long before = audit_rows(f);

    /* 422: an organisation without a name; a licence ending before it starts; no reason. */
    it_expect(f->s, "POST", "/v1/organisations", f->admin, "{\"kind\": \"nhs\"}", 422);
    it_expect(f->s, "POST", lics_path, f->admin,
              "{\"valid_from\": \"2025-02-01\", \"valid_until\": \"2025-01-01\"}", 422);
    it_expect_if(f->s, "PATCH", lic_path, f->admin, lic_etag, "{\"status\": \"active\"}", 422);
    it_expect_if(f->s, "PATCH", org_path, f->admin, org_etag, "{\"postcode\": \"not one\"}", 422);

    /* 409: a second open licence; a transition the rules forbid. */
    it_expect(f->s, "POST", lics_path, f->admin, LICENCE_BODY, 409);
    it_expect_if(f->s, "PATCH", lic_path, f->admin, lic_etag,
                 "{\"status\": \"revoked\", \"reason\": \"too soon\"}", 409);

    /* 412 and 428: stale and missing If-Match, on both resources. */
    it_expect_if(f->s, "PATCH", lic_path, f->admin, "\"41\"",
                 "{\"status\": \"active\", \"reason\": \"go\"}", 412);
    it_expect_if(f->s, "PATCH", org_path, f->admin, "\"41\"", "{\"town\": \"Bath\"}", 412);
    it_expect(f->s, "PATCH", lic_path, f->admin, "{\"status\": \"active\", \"reason\": \"go\"}",
              428);
    it_expect(f->s, "PATCH", org_path, f->admin, "{\"town\": \"Bath\"}", 428);

    assert_int_equal(audit_rows(f), before);

    /* And a request that succeeds writes exactly one. */
    it_expect_if(f->s, "PATCH", lic_path, f->admin, lic_etag,
                 "{\"status\": \"active\", \"reason\": \"go\"}", 200);
    assert_int_equal(audit_rows(f), before + 1);

    free(org_path);
    free(lic_path);
    free(lics_path);
    free(org_etag);
    free(lic_etag);
    free(org);
    free(lic);
}

/* Issue 12 items 3 and 14: who acted, as they were; filters by actor, action and time. */
static void
test_actors_and_filters(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f, "Audit Actors Org", NULL), *q, *second_id, *token;
    json_t *items, *item;
    size_t i;

    /* A user's row carries their email and role as they were when they acted. */
    q = it_fmt("resource_type=organisation&resource_id=%s", org);
    items = audit_items(f, f->admin, q, NULL);
    assert_int_equal(json_array_size(items), 1);
    item = json_array_get(items, 0);
    assert_string_equal(it_jstr(item, "actor_type"), "user");
    assert_string_equal(it_jstr(item, "actor_email"), ADMIN_EMAIL);
    assert_string_equal(it_jstr(item, "actor_role"), "admin");
    json_decref(items);
    PQclear(it_sql(f->s, "UPDATE app_user SET email = 'renamed@audit.example' WHERE id = $1::uuid",
                   f->admin_id));
    items = audit_items(f, f->admin, q, NULL);
    assert_string_equal(it_jstr(json_array_get(items, 0), "actor_email"), ADMIN_EMAIL);
    json_decref(items);
    free(q);
    PQclear(it_sql(f->s, "UPDATE app_user SET email = $2 WHERE id = $1::uuid", f->admin_id,
                   ADMIN_EMAIL));

    /* create-admin writes a row whose actor is the command line, without the password hash. */
    assert_int_equal(it_create_admin(f->s, "second@audit.example", PASSWORD), 0);
    second_id =
        it_sql_text(f->s, "SELECT id::text FROM app_user WHERE email = 'second@audit.example'");
    q = it_fmt("resource_type=user&resource_id=%s", second_id);
    items = audit_items(f, f->admin, q, NULL);
    assert_int_equal(json_array_size(items), 1);
    item = json_array_get(items, 0);
    assert_string_equal(it_jstr(item, "action"), "create");
    assert_string_equal(it_jstr(item, "actor_type"), "command_line");
    assert_true(json_is_null(json_object_get(item, "actor_id")));
    assert_true(json_is_null(json_object_get(item, "actor_email")));
    assert_true(json_is_null(json_object_get(item, "before")));
    assert_string_equal(jpath(item, "after", "email"), "second@audit.example");
    assert_string_equal(jpath(item, "after", "role"), "admin");
    assert_null(json_object_get(json_object_get(item, "after"), "password_hash"));
    json_decref(items);
    free(q);

    /* actor_id: only what the second admin did. */
    token = it_login(f->s, "second@audit.example", PASSWORD);
    {
        char *o2 = create_org(f, "Audit Second Actor Org", NULL);

        free(o2);
        it_expect(f->s, "POST", "/v1/organisations", token,
                  "{\"name\": \"By The Second\", \"kind\": \"nhs\", \"address_lines\": [\"1 A"
                  " Street\"], \"town\": \"Bath\", \"postcode\": \"BA1 1AA\"}",
                  201);
    }
    q = it_fmt("actor_id=%s", second_id);
    items = audit_items(f, f->admin, q, NULL);
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(jpath(json_array_get(items, 0), "after", "name"), "By The Second");
    assert_string_equal(it_jstr(json_array_get(items, 0), "actor_email"), "second@audit.example");
    json_decref(items);
    free(q);

    /* actor_email: the same rows, found by the address in any case; an unknown one finds none. */
    items = audit_items(f, f->admin, "actor_email=Second%40Audit.example", NULL);
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(jpath(json_array_get(items, 0), "after", "name"), "By The Second");
    json_decref(items);
    assert_int_equal(audit_count(f, "actor_email=nobody%40audit.example"), 0);
    assert_int_equal(audit_count(f, "actor_email=second%40audit.example&action=update"), 0);

    /* action: only creates of users here. */
    items = audit_items(f, f->admin, "action=create&resource_type=user&limit=100", NULL);
    assert_true(json_array_size(items) >= 1);
    json_array_foreach(items, i, item)
    {
        assert_string_equal(it_jstr(item, "action"), "create");
    }
    json_decref(items);
    assert_int_equal(audit_count(f, "action=no-such-action"), 0);

    /* from and to: dates (UK calendar days) and date-times. Two rows are moved into the past:
     * one at 23:30 UTC on 14 July 2020 (00:30 on the 15th in London), one on 20 July. */
    PQclear(it_sql(f->s,
                   "UPDATE audit_event SET at = '2020-07-14 23:30:00+00'"
                   " WHERE resource_type = 'organisation' AND resource_id = $1",
                   org));
    PQclear(it_sql(f->s,
                   "UPDATE audit_event SET at = '2020-07-20 12:00:00+00'"
                   " WHERE resource_type = 'user' AND resource_id = $1",
                   second_id));
    items = audit_items(f, f->admin, "from=2020-07-15&to=2020-07-15", NULL);
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(it_jstr(json_array_get(items, 0), "resource_id"), org);
    json_decref(items);
    assert_int_equal(audit_count(f, "from=2020-07-14&to=2020-07-14"), 0);
    items = audit_items(f, f->admin, "from=2020-01-01&to=2020-12-31", NULL);
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(it_jstr(json_array_get(items, 0), "resource_id"), second_id); /* newest */
    json_decref(items);
    items = audit_items(f, f->admin, "from=2020-07-14T23:30:00Z&to=2020-07-20T11:59:59.5%2B00:00",
                        NULL);
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(it_jstr(json_array_get(items, 0), "resource_id"), org);
    json_decref(items);
    items = audit_items(f, f->admin, "to=2020-07-20T12:00:00Z&order=asc", NULL);
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(it_jstr(json_array_get(items, 0), "resource_id"), org);
    json_decref(items);

    /* A row from before the actor was recorded answers nulls. */
    PQclear(it_sql(f->s,
                   "INSERT INTO audit_event (actor_id, action, resource_type, resource_id)"
                   " VALUES ($1::uuid, 'update', 'old_row', 'x')",
                   f->admin_id));
    items = audit_items(f, f->admin, "resource_type=old_row", NULL);
    assert_int_equal(json_array_size(items), 1);
    assert_true(json_is_null(json_object_get(json_array_get(items, 0), "actor_type")));
    assert_true(json_is_null(json_object_get(json_array_get(items, 0), "actor_email")));
    assert_true(json_is_null(json_object_get(json_array_get(items, 0), "actor_role")));
    json_decref(items);

    free(token);
    free(second_id);
    free(org);
}

TEST_MAIN(group_setup,
          it_fx_teardown,
          cmocka_unit_test(test_organisation_and_licence_trail),
          cmocka_unit_test(test_only_the_licensing_body),
          cmocka_unit_test(test_paging),
          cmocka_unit_test(test_failed_requests_write_nothing),
          cmocka_unit_test(test_actors_and_filters))
