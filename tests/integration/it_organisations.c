/* it_organisations.c: /v1/organisations over HTTP against the real server and PostgreSQL:
 * create, validation (and that a refused request writes nothing), get, list filters and keyset
 * pagination, PATCH with If-Match (also two at once), what licensees may see and change,
 * DELETE (remove, archive, refuse), and the audit rows every change leaves. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"
#include "registry/password.h"

#define ADMIN_EMAIL "admin@orgs.example"
#define PASSWORD    "orgs-test-password-1"
#define NO_SUCH_ORG "00000000-0000-4000-8000-000000000000"

struct fx {
    IT_FX_HEAD;
};

/* ---- Helpers ----------------------------------------------------------------------------------
 */

/* Inserts a user with SQL (password PASSWORD) and returns its id (malloc'd). */
static char *
add_user(struct fx *f, const char *email, const char *role, const char *org_id)
{
    char *id = it_sql_text(f->s,
                           "INSERT INTO app_user (email, password_hash, role, organisation_id)"
                           " VALUES ($1, $2, $3, $4::uuid) RETURNING id::text",
                           email, f->hash, role, org_id);
    return id;
}

/* Inserts a licence with SQL (the licences room is not under test here). */
static void
add_licence(struct fx *f, const char *org_id, const char *status, const char *until)
{
    PQclear(
        it_sql(f->s,
               "INSERT INTO licence (organisation_id, number, status, valid_from, valid_until)"
               " VALUES ($1::uuid, 'MPL-T-' || gen_random_uuid(), $2, $3::date - 365, $3::date)",
               org_id, status, until));
}

/* A valid request body: a new reference. */
static json_t *
org_json(const char *name, const char *kind)
{
    return json_pack("{s:s, s:s, s:[s, s], s:s, s:s}", "name", name, "kind", kind, "address_lines",
                     "Unit 4, Riverside Works", "1 Dock Road", "town", "Chatham", "postcode",
                     "me4 4ab");
}

static void
post_json_obj(struct fx *f, const char *token, json_t *body, struct it_resp *r)
{
    char *text = json_dumps(body, JSON_COMPACT);

    assert_non_null(text);
    it_post_json(f->s, "/v1/organisations", token, text, r);
    free(text);
}

/* Creates an organisation through the API; returns its id, and its ETag in *etag when asked
 * (both malloc'd). */
static char *
create_org(struct fx *f, const char *name, const char *kind, char **etag)
{
    json_t *body = org_json(name, kind);
    char *text = json_dumps(body, JSON_COMPACT), *id;

    assert_non_null(text);
    id = it_create_org_json(f->s, f->admin, text, etag);
    free(text);
    json_decref(body);
    return id;
}

/* The current ETag of an organisation, from a GET as admin (malloc'd). */
static char *
etag_of(struct fx *f, const char *id)
{
    return it_etag_of(f->s, f->admin, "/v1/organisations/%s", id);
}

static long
org_rows(struct fx *f)
{
    return it_count(f->s, "SELECT count(*) FROM organisation");
}

static long
audit_rows(struct fx *f)
{
    return it_count(f->s, "SELECT count(*) FROM audit_event");
}

/* GET a list path and return the items' ids in order; next_cursor into *next (malloc'd or
 * NULL). */
static json_t *
list_ids(struct fx *f, const char *token, const char *path, char **next)
{
    struct it_resp r;
    json_t *items, *item, *ids = json_array();
    json_t *nc;
    size_t i;

    it_get(f->s, path, token, &r);
    it_assert_status(&r, 200);
    assert_true(json_is_object(r.json));
    items = json_object_get(r.json, "items");
    assert_true(json_is_array(items));
    nc = json_object_get(r.json, "next_cursor");
    if (nc == NULL || !(json_is_null(nc) || json_is_string(nc))) {
        it_resp_print(&r);
        fail_msg("next_cursor must be present, a string or null");
    }
    json_array_foreach(items, i, item)
    {
        assert_non_null(it_jstr(item, "id"));
        json_array_append_new(ids, json_string(it_jstr(item, "id")));
    }
    if (next != NULL) {
        *next = json_is_string(nc) ? strdup(json_string_value(nc)) : NULL;
    }
    it_resp_free(&r);
    return ids;
}

/* GETs list `path` as `token`; fails unless it holds exactly `n` items, among them each id of
 * the NULL-terminated list after `n`. */
static void __attribute__((sentinel))
assert_list(struct fx *f, const char *token, const char *path, size_t n, ...)
{
    json_t *ids = list_ids(f, token, path, NULL);
    const char *id;
    va_list ap;

    assert_int_equal(json_array_size(ids), n);
    va_start(ap, n);
    while ((id = va_arg(ap, const char *)) != NULL) {
        assert_true(it_json_has(ids, NULL, id));
    }
    va_end(ap);
    json_decref(ids);
}

/* ---- Fixture ----------------------------------------------------------------------------------
 */

IT_SETUP(group_setup,
         it_fx_start(sizeof(struct fx),
                     "organisations",
                     NULL,
                     ADMIN_EMAIL,
                     PASSWORD,
                     IT_FX_ID | IT_FX_HASH))

/* ---- Create -----------------------------------------------------------------------------------
 */

static void
test_create(void **state)
{
    struct fx *f = *state;
    json_t *body = org_json("  Medway Family Hub  ", "charity");
    struct it_resp r, g;
    const char *id, *loc, *etag;
    char *want_loc;
    json_t *o, *lines;

    post_json_obj(f, f->admin, body, &r);
    json_decref(body);
    it_assert_status(&r, 201);
    it_assert_header(&r, "Content-Type", "application/json");
    o = r.json;
    assert_true(json_is_object(o));
    id = it_jstr(o, "id");
    assert_non_null(id);
    assert_int_equal(strlen(id), 36);
    loc = it_header(&r, "Location");
    etag = it_header(&r, "ETag");
    want_loc = it_fmt("/v1/organisations/%s", id);
    assert_non_null(loc);
    assert_string_equal(loc, want_loc);
    assert_non_null(etag);
    assert_true(etag[0] == '"' && etag[strlen(etag) - 1] == '"' && strlen(etag) > 2);

    /* Normalised and defaulted values. */
    assert_string_equal(it_jstr(o, "name"), "Medway Family Hub");
    assert_string_equal(it_jstr(o, "kind"), "charity");
    assert_string_equal(it_jstr(o, "postcode"), "ME4 4AB");
    assert_string_equal(it_jstr(o, "town"), "Chatham");
    lines = json_object_get(o, "address_lines");
    assert_true(json_is_array(lines));
    assert_int_equal(json_array_size(lines), 2);
    assert_string_equal(json_string_value(json_array_get(lines, 0)), "Unit 4, Riverside Works");
    assert_true(json_is_false(json_object_get(o, "public_contact")));
    assert_true(json_is_null(json_object_get(o, "phone")));
    assert_true(json_is_null(json_object_get(o, "email")));
    assert_true(json_is_null(json_object_get(o, "website")));
    assert_true(json_is_null(json_object_get(o, "archived_at")));
    assert_non_null(it_jstr(o, "created_at"));
    assert_non_null(it_jstr(o, "updated_at"));
    assert_null(json_object_get(o, "_version")); /* internal columns stay internal */

    /* The Location answers with the same representation and ETag. */
    it_get(f->s, loc, f->admin, &g);
    it_assert_status(&g, 200);
    assert_non_null(it_header(&g, "ETag"));
    assert_string_equal(it_header(&g, "ETag"), etag);
    assert_true(json_equal(g.json, r.json));
    it_resp_free(&g);

    /* Stored as normalised, with its audit row written in the same change. */
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM organisation WHERE id = $1::uuid"
                              " AND postcode = 'ME4 4AB' AND name = 'Medway Family Hub'",
                              id),
                     1);
    it_assert_row(f->s, IT_ROW("create", f->admin_id, "t", id, "ME4 4AB"),
                  "SELECT action, actor_id::text, before IS NULL, after->>'id', after->>'postcode'"
                  " FROM audit_event WHERE resource_type = 'organisation' AND resource_id = $1"
                  " ORDER BY id",
                  id);
    free(want_loc);
    it_resp_free(&r);
}

static void
test_create_all_fields(void **state)
{
    struct fx *f = *state;
    json_t *body = org_json("Kent Prison Family Service", "prison");
    struct it_resp r;

    json_object_set_new(body, "phone", json_string("+44 1634 000000"));
    json_object_set_new(body, "email", json_string("Contact@Example.org"));
    json_object_set_new(body, "website", json_string("https://example.org/families"));
    json_object_set_new(body, "public_contact", json_true());
    json_object_set_new(body, "postcode", json_string("sw1a1aa"));
    json_object_set_new(body, "address_lines", json_pack("[s]", "HM Prison Example"));
    post_json_obj(f, f->admin, body, &r);
    json_decref(body);
    it_assert_status(&r, 201);
    it_assert_strs(&r, IT_ROW("phone", "+44 1634 000000", "email", "Contact@Example.org", "website",
                              "https://example.org/families"));
    assert_true(json_is_true(json_object_get(r.json, "public_contact")));
    assert_string_equal(it_json_str(&r, "postcode"), "SW1A 1AA");
    assert_int_equal(json_array_size(json_object_get(r.json, "address_lines")), 1);
    it_resp_free(&r);
}

/* GIR 0AA is a real postcode and the validator accepts it on purpose; the database must then
 * store it too rather than answer with a 422 that names no field. */
static void
test_create_postcode_gir(void **state)
{
    struct fx *f = *state;
    json_t *body = org_json("Girobank Family Link", "other");
    struct it_resp r;

    json_object_set_new(body, "postcode", json_string("gir0aa"));
    post_json_obj(f, f->admin, body, &r);
    json_decref(body);
    it_assert_status(&r, 201);
    assert_string_equal(it_json_str(&r, "postcode"), "GIR 0AA");
    it_resp_free(&r);
}

struct bad_case {
    const char *label;
    const char *patch;  /* JSON object merged over a valid body, or NULL */
    const char *remove; /* a key removed from it, or NULL */
    const char *field;  /* the field the errors array must name */
};

static void
test_create_validation(void **state)
{
    struct fx *f = *state;
    char long_name[202];
    char *long_patch;
    const struct bad_case cases[] = {
        {"name of 201 characters", NULL, NULL, "name"},
        {"empty name", "{\"name\": \"\"}", NULL, "name"},
        {"name of spaces only", "{\"name\": \"    \"}", NULL, "name"},
        {"name with a control character", "{\"name\": \"Bad\\u0001Name\"}", NULL, "name"},
        {"name as a number", "{\"name\": 42}", NULL, "name"},
        {"name missing", NULL, "name", "name"},
        {"unknown kind", "{\"kind\": \"hospital\"}", NULL, "kind"},
        {"kind as an array", "{\"kind\": [\"nhs\"]}", NULL, "kind"},
        {"kind missing", NULL, "kind", "kind"},
        {"no address lines", "{\"address_lines\": []}", NULL, "address_lines"},
        {"four address lines", "{\"address_lines\": [\"a\", \"b\", \"c\", \"d\"]}", NULL,
         "address_lines"},
        {"address lines as a string", "{\"address_lines\": \"1 High Street\"}", NULL,
         "address_lines"},
        {"address line not a string", "{\"address_lines\": [1]}", NULL, "address_lines"},
        {"empty address line", "{\"address_lines\": [\"\"]}", NULL, "address_lines"},
        {"town null", "{\"town\": null}", NULL, "town"},
        {"bad postcode", "{\"postcode\": \"XYZ 123\"}", NULL, "postcode"},
        {"short postcode", "{\"postcode\": \"ME4 4A\"}", NULL, "postcode"},
        {"postcode as a number", "{\"postcode\": 12345}", NULL, "postcode"},
        {"postcode missing", NULL, "postcode", "postcode"},
        {"bad email", "{\"email\": \"not-an-email\"}", NULL, "email"},
        {"email without a domain dot", "{\"email\": \"a@b\"}", NULL, "email"},
        {"bad url scheme", "{\"website\": \"ftp://example.org\"}", NULL, "website"},
        {"url without scheme", "{\"website\": \"example.org\"}", NULL, "website"},
        {"phone with letters", "{\"phone\": \"call us\"}", NULL, "phone"},
        {"phone too short", "{\"phone\": \"123\"}", NULL, "phone"},
        {"phone as a number", "{\"phone\": 1634000000}", NULL, "phone"},
        {"public_contact as a string", "{\"public_contact\": \"yes\"}", NULL, "public_contact"},
        {"public_contact null", "{\"public_contact\": null}", NULL, "public_contact"},
        {"unknown field", "{\"colour\": \"red\"}", NULL, "colour"},
        {"id supplied", "{\"id\": \"" NO_SUCH_ORG "\"}", NULL, "id"},
        {"two errors (kind)", "{\"kind\": \"x\", \"postcode\": \"y\"}", NULL, "kind"},
        {"two errors (postcode)", "{\"kind\": \"x\", \"postcode\": \"y\"}", NULL, "postcode"},
    };
    long orgs = org_rows(f), audits = audit_rows(f);
    size_t i;

    memset(long_name, 'N', 201);
    long_name[201] = '\0';
    long_patch = it_fmt("{\"name\": \"%s\"}", long_name);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *body = org_json("Validation Org", "charity");
        const char *patch = cases[i].patch != NULL    ? cases[i].patch
                            : cases[i].remove == NULL ? long_patch
                                                      : NULL;
        struct it_resp r;

        if (patch != NULL) {
            json_t *p = json_loads(patch, 0, NULL);
            assert_non_null(p);
            json_object_update(body, p);
            json_decref(p);
        }
        if (cases[i].remove != NULL) {
            json_object_del(body, cases[i].remove);
        }
        print_message("case: %s\n", cases[i].label);
        post_json_obj(f, f->admin, body, &r);
        json_decref(body);
        it_assert_field_error(&r, cases[i].field);
        it_resp_free(&r);
        /* Nothing written, not even an audit row. */
        assert_int_equal(org_rows(f), orgs);
        assert_int_equal(audit_rows(f), audits);
    }
    free(long_patch);
}

/* ---- Get ------------------------------------------------------------------------------------ */

static void
test_get_missing(void **state)
{
    struct fx *f = *state;

    it_expectf(f->s, "GET", f->admin, NULL, NULL, 404, "/v1/organisations/%s", NO_SUCH_ORG);
    it_expectf(f->s, "GET", f->admin, NULL, NULL, 404, "/v1/organisations/%s", "not-a-uuid");
    it_expect(f->s, "GET", "/v1/organisations/" NO_SUCH_ORG, NULL, NULL, 401);
}

/* ---- List ----------------------------------------------------------------------------------- */

static void
test_list_filters(void **state)
{
    struct fx *f = *state;
    char *alpha = create_org(f, "Qzx Alpha Family Centre", "charity", NULL);
    char *beta = create_org(f, "Qzx Beta NHS Trust", "nhs", NULL);
    char *gamma = create_org(f, "Qzx Gamma School", "school", NULL);
    char *delta = create_org(f, "qzx delta council", "local_authority", NULL);
    char *expired = create_org(f, "Qzx Epsilon Service", "other", NULL);

    add_licence(f, alpha, "active", "2999-12-31");
    add_licence(f, gamma, "suspended", "2999-12-31");
    add_licence(f, expired, "active", "2001-01-31"); /* past valid_until: reads as expired */

    /* q: case-insensitive substring of the name. */
    assert_list(f, f->admin, "/v1/organisations?q=QZX", 5, NULL);
    assert_list(f, f->admin, "/v1/organisations?q=qzx%20beta", 1, beta, NULL);
    assert_list(f, f->admin, "/v1/organisations?q=no-such-organisation-anywhere", 0, NULL);

    /* kind. */
    assert_list(f, f->admin, "/v1/organisations?q=qzx&kind=nhs", 1, beta, NULL);
    assert_list(f, f->admin, "/v1/organisations?kind=local_authority&q=qzx", 1, delta, NULL);

    /* licence_status, including "none" and the computed "expired". */
    assert_list(f, f->admin, "/v1/organisations?q=qzx&licence_status=active", 1, alpha, NULL);
    assert_list(f, f->admin, "/v1/organisations?q=qzx&licence_status=suspended", 1, gamma, NULL);
    assert_list(f, f->admin, "/v1/organisations?q=qzx&licence_status=expired", 1, expired, NULL);
    assert_list(f, f->admin, "/v1/organisations?q=qzx&licence_status=none", 2, beta, delta, NULL);
    assert_list(f, f->admin, "/v1/organisations?q=qzx&licence_status=none&kind=nhs", 1, NULL);

    free(alpha);
    free(beta);
    free(gamma);
    free(delta);
    free(expired);
}

static void
test_list_bad_query(void **state)
{
    struct fx *f = *state;

    it_expect_gets(f->s, f->admin, 400, "/v1/organisations", "?colour=red", "?name=x", "?q=a&q=b",
                   "?kind=hospital", "?licence_status=lapsed", "?limit=0", "?limit=101",
                   "?limit=-1", "?limit=abc", "?limit=", "?limit=5x", "?limit=%2B5",
                   "?cursor=not*a*cursor",
                   "?cursor=", "?cursor=eyJhIjoxfQ" /* {"a":1}: not an array */,
                   "?cursor=WzEsMl0" /* [1,2]: not this list's key */,
                   "?cursor=WyJhIiwibm9wZSJd" /* ["a","nope"]: not a uuid */,
                   "?cursor=WyJhIl0" /* ["a"]: one element */, "?q=%00x", NULL);
}

static void
test_list_pagination(void **state)
{
    struct fx *f = *state;
    enum { N = 23, LIMIT = 7 };
    json_t *seen = json_array(), *want = json_array(), *again = json_array();
    PGresult *res;
    char *cursor = NULL, *ids[N];
    int i, pages = 0, round;

    /* Names repeat so that the order also rests on the id tie-break. */
    for (i = 0; i < N; i++) {
        char *name = it_fmt("Pgx %02d", (i * 7) % 10);
        ids[i] = create_org(f, name, i % 2 ? "charity" : "school", NULL);
        free(name);
    }
    res = it_sql(f->s, "SELECT id::text FROM organisation WHERE name LIKE 'Pgx %'"
                       " AND archived_at IS NULL ORDER BY name, id");
    assert_int_equal(PQntuples(res), N);
    for (i = 0; i < N; i++) {
        json_array_append_new(want, json_string(PQgetvalue(res, i, 0)));
    }
    PQclear(res);

    /* Walk twice: the same pages in the same order both times. */
    for (round = 0; round < 2; round++) {
        json_t *into = round == 0 ? seen : again;
        pages = 0;
        do {
            char *path = cursor == NULL
                             ? it_fmt("/v1/organisations?q=pgx&limit=%d", LIMIT)
                             : it_fmt("/v1/organisations?q=pgx&limit=%d&cursor=%s", LIMIT, cursor);
            char *next = NULL;
            json_t *page = list_ids(f, f->admin, path, &next);
            size_t expect = pages < N / LIMIT ? LIMIT : N % LIMIT;

            assert_int_equal(json_array_size(page), expect);
            json_array_extend(into, page);
            json_decref(page);
            free(path);
            free(cursor);
            cursor = next;
            pages++;
            assert_true(pages <= N / LIMIT + 1);
        } while (cursor != NULL);
        assert_int_equal(pages, N / LIMIT + 1);
    }
    /* Every organisation once, in (name, id) order, and the same on the second walk. */
    assert_int_equal(json_array_size(seen), N);
    for (i = 0; i < N; i++) {
        assert_true(it_json_has(seen, NULL, ids[i]));
    }
    if (!json_equal(seen, want)) {
        char *a = json_dumps(seen, 0), *b = json_dumps(want, 0);
        fail_msg("pages not in (name, id) order:\n got  %s\n want %s", a, b);
    }
    assert_true(json_equal(seen, again));

    /* The default page is 20, with a cursor; limit=100 holds them all without one. */
    {
        char *next = NULL;
        json_t *page = list_ids(f, f->admin, "/v1/organisations?q=pgx", &next);
        assert_int_equal(json_array_size(page), 20);
        assert_non_null(next);
        free(next);
        json_decref(page);
        page = list_ids(f, f->admin, "/v1/organisations?q=pgx&limit=100", &next);
        assert_int_equal(json_array_size(page), N);
        assert_null(next);
        json_decref(page);
        page = list_ids(f, f->admin, "/v1/organisations?q=pgx&limit=23", &next);
        assert_int_equal(json_array_size(page), N);
        assert_null(next); /* exactly full: no empty last page */
        json_decref(page);
    }
    for (i = 0; i < N; i++) {
        free(ids[i]);
    }
    json_decref(seen);
    json_decref(want);
    json_decref(again);
}

/* ---- Update --------------------------------------------------------------------------------- */

static void
test_patch(void **state)
{
    struct fx *f = *state;
    char *etag = NULL, *id = create_org(f, "Patch Family Centre", "charity", &etag);
    long audits = audit_rows(f);
    struct it_resp r;
    char *weak, *etag2;
    PGresult *res;

    /* Without If-Match: 428; stale or weak: 412; nothing changes. */
    it_expectf(f->s, "PATCH", f->admin, NULL, "{\"town\": \"Rochester\"}", 428,
               "/v1/organisations/%s", id);
    it_expectf(f->s, "PATCH", f->admin, "\"999\"", "{\"town\": \"Rochester\"}", 412,
               "/v1/organisations/%s", id);
    weak = it_fmt("W/%s", etag);
    it_expectf(f->s, "PATCH", f->admin, weak, "{\"town\": \"Rochester\"}", 412,
               "/v1/organisations/%s", id);
    free(weak);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM organisation WHERE id = $1::uuid"
                              " AND town = 'Chatham' AND version = 1",
                              id),
                     1);
    assert_int_equal(audit_rows(f), audits);

    /* Validation: 422 naming the field, nothing written. */
    it_patchf(f->s, f->admin, etag, "{\"postcode\": \"nope\"}", &r, "/v1/organisations/%s", id);
    it_assert_field_error(&r, "postcode");
    it_resp_free(&r);
    it_patchf(f->s, f->admin, etag, "{\"name\": null}", &r, "/v1/organisations/%s", id);
    it_assert_field_error(&r, "name");
    it_resp_free(&r);
    it_patchf(f->s, f->admin, etag, "{\"address_lines\": [\"1\", \"2\", \"3\", \"4\"]}", &r,
              "/v1/organisations/%s", id);
    it_assert_field_error(&r, "address_lines");
    it_resp_free(&r);
    it_patchf(f->s, f->admin, etag, "{\"colour\": \"red\"}", &r, "/v1/organisations/%s", id);
    it_assert_field_error(&r, "colour");
    it_resp_free(&r);
    it_expectf(f->s, "PATCH", f->admin, etag, "{}", 422, "/v1/organisations/%s", id);
    assert_int_equal(audit_rows(f), audits);

    /* With the current ETag: 200, a new ETag, the change applied and normalised. */
    it_patchf(f->s, f->admin, etag,
              "{\"town\": \"Rochester\", \"postcode\": \"me1 1aa\", \"phone\": \"01634 111111\"}",
              &r, "/v1/organisations/%s", id);
    it_assert_status(&r, 200);
    assert_non_null(it_header(&r, "ETag"));
    etag2 = strdup(it_header(&r, "ETag"));
    assert_string_not_equal(etag2, etag);
    it_assert_strs(&r, IT_ROW("town", "Rochester", "postcode", "ME1 1AA", "phone", "01634 111111"));
    assert_string_equal(it_json_str(&r, "name"), "Patch Family Centre"); /* untouched */
    it_resp_free(&r);
    {
        char *cur = etag_of(f, id);
        assert_string_equal(cur, etag2);
        free(cur);
    }

    /* The old ETag is now stale. */
    it_expectf(f->s, "PATCH", f->admin, etag, "{\"town\": \"Gillingham\"}", 412,
               "/v1/organisations/%s", id);

    /* null clears a nullable field; If-Match may list several tags. */
    {
        char *list = it_fmt("\"nope\", %s", etag2);
        it_patchf(f->s, f->admin, list, "{\"phone\": null}", &r, "/v1/organisations/%s", id);
        free(list);
    }
    it_assert_status(&r, 200);
    assert_true(json_is_null(json_object_get(r.json, "phone")));
    it_resp_free(&r);

    /* Audit: one row per successful change, with before and after. */
    res = it_sql_rows(f->s, 3,
                      "SELECT action, actor_id::text, before->>'town', after->>'town',"
                      " before->>'phone', after->>'phone' FROM audit_event"
                      " WHERE resource_type = 'organisation' AND resource_id = $1 ORDER BY id",
                      id);
    it_assert_cells(res, 1, IT_ROW("update", f->admin_id, "Chatham", "Rochester"));
    it_assert_cells(res, 2, IT_ROW("update"));
    assert_string_equal(PQgetvalue(res, 2, 4), "01634 111111");
    assert_true(PQgetisnull(res, 2, 5));
    PQclear(res);

    /* The audit trail over HTTP, for the admin. */
    {
        char *path = it_fmt("/v1/audit?resource_type=organisation&resource_id=%s", id);
        it_expect_items(f->s, f->admin, 3, "%s", path);
        free(path);
    }

    /* Unknown and malformed ids. */
    it_expectf(f->s, "PATCH", f->admin, "\"1\"", "{\"town\": \"X\"}", 404, "/v1/organisations/%s",
               NO_SUCH_ORG);
    it_expectf(f->s, "PATCH", f->admin, "\"1\"", "{\"town\": \"X\"}", 404, "/v1/organisations/%s",
               "not-a-uuid");

    free(etag2);
    free(etag);
    free(id);
}

static void
test_patch_concurrent(void **state)
{
    struct fx *f = *state;
    char *id = create_org(f, "Race Family Centre", "charity", NULL);
    int round;

    for (round = 0; round < 5; round++) {
        char *etag = etag_of(f, id);
        long audits = audit_rows(f);
        char *path = it_fmt("/v1/organisations/%s", id);
        struct it_race x;
        int i, ok = 0, stale = 0, winner = -1;

        it_race_start(&x, f->s, "PATCH", path, f->admin, etag, "{\"town\": \"Town A\"}",
                      "{\"town\": \"Town B\"}");
        it_race_join(&x);
        free(path);
        for (i = 0; i < 2; i++) {
            if (x.status[i] == 200) {
                ok++;
                winner = i;
            } else if (x.status[i] == 412) {
                stale++;
            }
        }
        if (ok != 1 || stale != 1) {
            fail_msg("round %d: statuses %ld and %ld; want exactly one 200 and one 412", round,
                     x.status[0], x.status[1]);
        }
        /* The winner's change is what is stored; exactly one audit row. */
        it_assert_row(f->s, IT_ROW(winner == 0 ? "Town A" : "Town B"),
                      "SELECT town FROM organisation WHERE id = $1::uuid", id);
        assert_int_equal(audit_rows(f), audits + 1);
        free(etag);
    }
    free(id);
}

/* ---- Licensees --------------------------------------------------------------------------------
 */

static void
test_licensee_access(void **state)
{
    struct fx *f = *state;
    char *own = create_org(f, "Licensee Own Org", "charity", NULL);
    char *other = create_org(f, "Licensee Other Org", "nhs", NULL);
    char *uid_admin = add_user(f, "orgadmin@own.example", "org_admin", own);
    char *uid_staff = add_user(f, "staff@own.example", "org_staff", own);
    char *oa = it_login(f->s, "orgadmin@own.example", PASSWORD);
    char *st = it_login(f->s, "staff@own.example", PASSWORD);
    struct it_resp r;
    json_t *body;
    char *etag, *path;
    long orgs, audits;

    /* Their own organisation is visible to both roles; the other one does not exist for them. */
    it_expectf(f->s, "GET", oa, NULL, NULL, 200, "/v1/organisations/%s", own);
    it_expectf(f->s, "GET", st, NULL, NULL, 200, "/v1/organisations/%s", own);
    it_getf(f->s, oa, &r, "/v1/organisations/%s", other);
    it_assert_problem(&r, 404);
    assert_null(strstr(r.body, "Licensee Other Org"));
    it_resp_free(&r);
    it_expectf(f->s, "GET", st, NULL, NULL, 404, "/v1/organisations/%s", other);

    /* Their list holds only their organisation, whatever the filters. */
    assert_list(f, oa, "/v1/organisations", 1, own, NULL);
    assert_list(f, st, "/v1/organisations?limit=100", 1, own, NULL);
    assert_list(f, oa, "/v1/organisations?q=Licensee%20Other", 0, NULL);

    /* org_admin edits contact details of their own organisation. */
    etag = etag_of(f, own);
    it_patchf(f->s, oa, etag,
              "{\"phone\": \"01634 222222\", \"email\": \"hello@own.example\","
              " \"public_contact\": true, \"town\": \"Strood\"}",
              &r, "/v1/organisations/%s", own);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "phone"), "01634 222222");
    it_resp_free(&r);
    free(etag);
    it_assert_row(f->s, IT_ROW(uid_admin),
                  "SELECT actor_id::text FROM audit_event WHERE resource_id = $1"
                  " AND action = 'update' ORDER BY id DESC LIMIT 1",
                  own);

    /* ...but not the name or kind (403), and nothing is written. */
    etag = etag_of(f, own);
    orgs = org_rows(f);
    audits = audit_rows(f);
    it_expectf(f->s, "PATCH", oa, etag, "{\"name\": \"Renamed\"}", 403, "/v1/organisations/%s",
               own);
    it_expectf(f->s, "PATCH", oa, etag, "{\"kind\": \"nhs\"}", 403, "/v1/organisations/%s", own);
    it_expectf(f->s, "PATCH", oa, etag, "{\"phone\": \"01634 333333\", \"name\": \"Renamed\"}", 403,
               "/v1/organisations/%s", own);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM organisation WHERE id = $1::uuid AND name ="
                              " 'Licensee Own Org' AND kind = 'charity' AND phone = '01634 222222'",
                              own),
                     1);

    /* Another organisation: 404 for a PATCH too, as if it did not exist. */
    {
        char *oetag = etag_of(f, other);
        it_expectf(f->s, "PATCH", oa, oetag, "{\"phone\": \"01634 444444\"}", 404,
                   "/v1/organisations/%s", other);
        free(oetag);
    }

    /* org_staff may not edit at all. */
    it_expectf(f->s, "PATCH", st, etag, "{\"phone\": \"01634 555555\"}", 403,
               "/v1/organisations/%s", own);

    /* Creating and deleting organisations is for the licensing body only. */
    body = org_json("Licensee Made Org", "charity");
    post_json_obj(f, oa, body, &r);
    it_assert_problem(&r, 403);
    it_resp_free(&r);
    post_json_obj(f, st, body, &r);
    it_assert_problem(&r, 403);
    it_resp_free(&r);
    post_json_obj(f, NULL, body, &r);
    it_assert_problem(&r, 401);
    it_resp_free(&r);
    json_decref(body);
    path = it_fmt("/v1/organisations/%s", own);
    it_expect(f->s, "DELETE", path, oa, NULL, 403);
    free(path);
    assert_int_equal(org_rows(f), orgs);
    assert_int_equal(audit_rows(f), audits);

    free(etag);
    free(oa);
    free(st);
    free(uid_admin);
    free(uid_staff);
    free(own);
    free(other);
}

/* ---- Delete --------------------------------------------------------------------------------- */

static void
test_delete_without_history(void **state)
{
    struct fx *f = *state;
    char *id = create_org(f, "Delete Me Org", "other", NULL);
    char *path = it_fmt("/v1/organisations/%s", id);
    struct it_resp r;
    PGresult *res;

    it_delete(f->s, path, f->admin, &r);
    it_assert_status(&r, 204);
    assert_int_equal(r.len, 0);
    it_resp_free(&r);
    it_expect(f->s, "GET", path, f->admin, NULL, 404);
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM organisation WHERE id = $1::uuid", id),
                     0);
    it_expect(f->s, "DELETE", path, f->admin, NULL, 404);

    res = it_sql_rows(f->s, 2,
                      "SELECT action, before->>'name', after IS NULL FROM audit_event"
                      " WHERE resource_type = 'organisation' AND resource_id = $1 ORDER BY id",
                      id);
    it_assert_cells(res, 1, IT_ROW("delete", "Delete Me Org", "t"));
    PQclear(res);
    free(path);
    free(id);
}

static void
assert_archived(struct fx *f, const char *id, const char *name)
{
    json_t *ids;
    char *q;
    PGresult *res;

    /* Kept for the record, hidden from lists. */
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM organisation WHERE id = $1::uuid"
                              " AND archived_at IS NOT NULL",
                              id),
                     1);
    q = it_fmt("/v1/organisations?q=%s&limit=100", name);
    ids = list_ids(f, f->admin, q, NULL);
    assert_false(it_json_has(ids, NULL, id));
    json_decref(ids);
    free(q);
    res = it_sql(f->s,
                 "SELECT action, before->>'archived_at', after->>'archived_at' FROM audit_event"
                 " WHERE resource_type = 'organisation' AND resource_id = $1"
                 " ORDER BY id DESC LIMIT 1",
                 id);
    assert_string_equal(PQgetvalue(res, 0, 0), "archive");
    assert_true(PQgetisnull(res, 0, 1));
    assert_false(PQgetisnull(res, 0, 2));
    PQclear(res);
}

static void
test_delete_with_user_archives(void **state)
{
    struct fx *f = *state;
    char *id = create_org(f, "Archive-User-Org", "charity", NULL);
    char *uid = add_user(f, "member@archive.example", "org_admin", id);
    char *token = it_login(f->s, "member@archive.example", PASSWORD);
    char *path = it_fmt("/v1/organisations/%s", id);

    it_expect(f->s, "DELETE", path, f->admin, NULL, 204);
    assert_archived(f, id, "Archive-User-Org");

    /* Its users are disabled, and so their still-unexpired tokens end at once (token epochs). */
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM app_user WHERE organisation_id = $1::uuid"
                              " AND NOT disabled",
                              id),
                     0);
    it_expect(f->s, "GET", path, token, NULL, 401);
    it_expect(f->s, "GET", "/v1/organisations", token, NULL, 401);

    /* Deleting again: it is already gone. */
    it_expect(f->s, "DELETE", path, f->admin, NULL, 404);
    free(path);
    free(token);
    free(uid);
    free(id);
}

static void
test_delete_with_licence_history_archives(void **state)
{
    struct fx *f = *state;
    char *id = create_org(f, "Archive-Licence-Org", "school", NULL);
    char *path = it_fmt("/v1/organisations/%s", id);

    add_licence(f, id, "revoked", "2999-12-31");
    it_expect(f->s, "DELETE", path, f->admin, NULL, 204);
    assert_archived(f, id, "Archive-Licence-Org");
    assert_int_equal(
        it_count(f->s, "SELECT count(*) FROM licence WHERE organisation_id = $1::uuid", id),
        1); /* nothing cascades away */
    free(path);
    free(id);
}

static void
test_delete_licensed_conflict(void **state)
{
    struct fx *f = *state;
    char *id = create_org(f, "Licensed Org", "nhs", NULL);
    char *path = it_fmt("/v1/organisations/%s", id);
    long audits;
    struct it_resp r;

    add_licence(f, id, "active", "2999-12-31");
    audits = audit_rows(f);
    it_expect(f->s, "DELETE", path, f->admin, NULL, 409);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM organisation WHERE id = $1::uuid"
                              " AND archived_at IS NULL AND version = 1",
                              id),
                     1);
    assert_int_equal(audit_rows(f), audits);
    it_getf(f->s, f->admin, &r, "/v1/organisations/%s", id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "licence_status"), "active");
    it_resp_free(&r);

    /* A DELETE with a stale If-Match is refused before anything else. */
    {
        const char *const h[] = {"If-Match: \"999\"", NULL};
        it_request(f->s, "DELETE", path, f->admin, h, NULL, &r);
        it_assert_problem(&r, 412);
        it_resp_free(&r);
    }
    free(path);
    free(id);
}

TEST_MAIN(group_setup,
          it_fx_teardown,
          cmocka_unit_test(test_create),
          cmocka_unit_test(test_create_all_fields),
          cmocka_unit_test(test_create_validation),
          cmocka_unit_test(test_create_postcode_gir),
          cmocka_unit_test(test_get_missing),
          cmocka_unit_test(test_list_filters),
          cmocka_unit_test(test_list_bad_query),
          cmocka_unit_test(test_list_pagination),
          cmocka_unit_test(test_patch),
          cmocka_unit_test(test_patch_concurrent),
          cmocka_unit_test(test_licensee_access),
          cmocka_unit_test(test_delete_without_history),
          cmocka_unit_test(test_delete_with_user_archives),
          cmocka_unit_test(test_delete_with_licence_history_archives),
          cmocka_unit_test(test_delete_licensed_conflict))
