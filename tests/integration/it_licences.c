/* it_licences.c: /v1/organisations/{id}/licences and /v1/licences/{id} over HTTP against the
 * real server and PostgreSQL: create (number, status, one open licence per organisation), each
 * validation error with nothing written, every allowed transition and many forbidden ones,
 * revoked being final, a licence reading as expired after valid_until (and renewal), If-Match
 * (428, 412, two PATCHes at once with one ETag), what licensees may read and change, keyset
 * pagination and the status filter, and the history and audit rows each change leaves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"
#include "registry/password.h"

#define ADMIN_EMAIL   "admin@licences.example"
#define PASSWORD      "licences-test-password-1"
#define NO_SUCH_ID    "00000000-0000-4000-8000-000000000000"
#define FAR_FROM      "2025-01-01"
#define FAR_UNTIL     "2099-12-31"
#define RACE_ROUNDS   8
#define PAGE_LICENCES 5

struct fx {
    IT_FX_HEAD;
    int orgs; /* organisations made so far, for unique names */
};

/* ---- Helpers ------------------------------------------------------------------------------- */

/* Creates an organisation through the API; returns its id (malloc'd). */
static char *
create_org(struct fx *f)
{
    return it_create_org(f->s, f->admin, NULL, NULL, "Licence Test Org %d", ++f->orgs);
}

/* Creates a licence for `org` valid FAR_FROM..`until` and checks the 201. */
static struct it_made
create_licence(struct fx *f, const char *org, const char *until)
{
    char *body = it_fmt("{\"valid_from\": \"%s\", \"valid_until\": \"%s\", \"reason\": \"issued\"}",
                        FAR_FROM, until);
    struct it_made l;

    l.id = it_post_created(f->s, f->admin, body, &l.etag, "/v1/organisations/%s/licences", org);
    free(body);
    return l;
}

/* PATCHes `l` to `status` with a reason and expects 200 with that status; keeps the new ETag. */
static void
move(struct fx *f, struct it_made *l, const char *status)
{
    char *reason = it_fmt("moved to %s", status);
    char *body = it_fmt("{\"status\": \"%s\", \"reason\": \"%s\"}", status, reason);
    struct it_resp r;

    it_patchf(f->s, f->admin, l->etag, body, &r, "/v1/licences/%s", l->id);
    it_assert_status(&r, 200);
    it_assert_strs(&r, IT_ROW("status", status, "reason", reason));
    assert_non_null(it_header(&r, "ETag"));
    assert_string_not_equal(it_header(&r, "ETag"), l->etag);
    it_renew_etag(&r, &l->etag);
    it_resp_free(&r);
    free(body);
    free(reason);
}

/* Fails unless `r` is a 409 problem of `type` whose detail holds every NULL-ended needle. */
static void
assert_conflict(const struct it_resp *r, const char *type, const char *const *needles)
{
    const char *detail;

    it_assert_problem(r, 409);
    assert_string_equal(it_json_str(r, "type"), type);
    detail = it_json_str(r, "detail");
    for (; needles != NULL && *needles != NULL; needles++) {
        if (strstr(detail, *needles) == NULL) {
            it_resp_print(r);
            fail_msg("detail does not mention '%s'", *needles);
        }
    }
}

/* Rows that any write would add. */
static long
writes(struct fx *f)
{
    return it_count(f->s, "SELECT (SELECT count(*) FROM licence)"
                          " + (SELECT count(*) FROM licence_status_history)"
                          " + (SELECT count(*) FROM audit_event)"
                          " + (SELECT coalesce(sum(version), 0) FROM licence)");
}

static long
history_rows(struct fx *f, const char *licence_id)
{
    return it_count(f->s, "SELECT count(*) FROM licence_status_history WHERE licence_id = $1::uuid",
                    licence_id);
}

static const char *
stored_status(struct fx *f, const char *licence_id, char *buf, size_t len)
{
    PGresult *res = it_sql(f->s, "SELECT status FROM licence WHERE id = $1::uuid", licence_id);

    assert_int_equal(PQntuples(res), 1);
    snprintf(buf, len, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return buf;
}

/* ---- Fixture ------------------------------------------------------------------------------- */

IT_SETUP(
    group_setup,
    it_fx_start(sizeof(struct fx), "licences", NULL, ADMIN_EMAIL, PASSWORD, IT_FX_ID | IT_FX_HASH))

/* ---- Create -------------------------------------------------------------------------------- */

static void
test_create(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f), *want_loc, year[8];
    struct it_resp r, g;
    const char *id, *number;
    time_t now = time(NULL);
    size_t i;

    it_postf(f->s, f->admin,
             "{\"valid_from\": \"2025-04-01\", \"valid_until\": \"2028-03-31\","
             " \"reason\": \"  first licence  \"}",
             &r, "/v1/organisations/%s/licences", org);
    it_assert_status(&r, 201);
    assert_true(json_is_object(r.json));
    id = it_json_str(&r, "id");
    assert_non_null(id);
    want_loc = it_fmt("/v1/licences/%s", id);
    it_assert_header(&r, "Location", want_loc);
    it_assert_header(&r, "ETag", "\"");
    it_assert_header(&r, "Content-Type", "application/json");
    it_assert_strs(&r,
                   IT_ROW("organisation_id", org, "status", "pending", "valid_from", "2025-04-01",
                          "valid_until", "2028-03-31", "reason", "first licence"));
    assert_non_null(it_json_str(&r, "created_at"));
    assert_non_null(it_json_str(&r, "updated_at"));
    assert_null(json_object_get(r.json, "version"));
    assert_null(json_object_get(r.json, "_version"));

    /* MPL-<year of issue>-<at least 4 digits>. */
    number = it_json_str(&r, "number");
    assert_non_null(number);
    strftime(year, sizeof(year), "%Y", gmtime(&now));
    assert_true(strlen(number) >= 13);
    assert_memory_equal(number, "MPL-", 4);
    assert_memory_equal(number + 4, year, 4);
    assert_int_equal(number[8], '-');
    for (i = 9; number[i] != '\0'; i++) {
        assert_true(number[i] >= '0' && number[i] <= '9');
    }

    /* The same licence on GET, with the same ETag. */
    it_getf(f->s, f->admin, &g, "/v1/licences/%s", id);
    it_assert_status(&g, 200);
    assert_true(json_equal(g.json, r.json));
    assert_string_equal(it_header(&g, "ETag"), it_header(&r, "ETag"));
    it_resp_free(&g);

    /* One history row and one audit row, by the admin. */
    it_assert_row(f->s, IT_ROW("pending", "2025-04-01", "2028-03-31", "first licence", f->admin_id),
                  "SELECT status, valid_from::text, valid_until::text, reason, changed_by::text"
                  " FROM licence_status_history WHERE licence_id = $1::uuid",
                  id);
    it_assert_row(f->s, IT_ROW("create", f->admin_id, "t", number),
                  "SELECT action, actor_id::text, before IS NULL, after->>'number'"
                  " FROM audit_event WHERE resource_type = 'licence' AND resource_id = $1",
                  id);

    /* A reason is optional when issuing. */
    {
        char *org2 = create_org(f);
        struct it_resp n;

        it_postf(f->s, f->admin,
                 "{\"valid_from\": \"2025-04-01\", \"valid_until\": \"2025-04-01\"}", &n,
                 "/v1/organisations/%s/licences", org2);
        it_assert_status(&n, 201);
        assert_true(json_is_null(json_object_get(n.json, "reason")));
        assert_string_not_equal(it_json_str(&n, "number"), number);
        it_resp_free(&n);
        free(org2);
    }
    it_resp_free(&r);
    free(want_loc);
    free(org);
}

static void
test_number_grows_past_four_digits(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f);
    struct it_resp r;
    const char *number;

    PQclear(it_sql(f->s, "SELECT setval('licence_number_seq', 12344)"));
    it_postf(f->s, f->admin, "{\"valid_from\": \"2025-01-01\", \"valid_until\": \"2026-01-01\"}",
             &r, "/v1/organisations/%s/licences", org);
    it_assert_status(&r, 201);
    number = it_json_str(&r, "number");
    assert_non_null(number);
    assert_string_equal(number + 8, "-12345");
    it_resp_free(&r);
    free(org);
}

static void
test_create_validation(void **state)
{
    static const struct it_field_case cases[] = {
        {"{\"valid_until\": \"2026-01-01\"}", "valid_from"},
        {"{\"valid_from\": \"2025-01-01\"}", "valid_until"},
        {"{}", "valid_from"},
        {"{\"valid_from\": \"2025-02-30\", \"valid_until\": \"2026-01-01\"}", "valid_from"},
        {"{\"valid_from\": \"01/02/2025\", \"valid_until\": \"2026-01-01\"}", "valid_from"},
        {"{\"valid_from\": 20250101, \"valid_until\": \"2026-01-01\"}", "valid_from"},
        {"{\"valid_from\": null, \"valid_until\": \"2026-01-01\"}", "valid_from"},
        {"{\"valid_from\": \"2025-01-01\", \"valid_until\": \"2026-13-01\"}", "valid_until"},
        {"{\"valid_from\": \"2025-01-02\", \"valid_until\": \"2025-01-01\"}", "valid_until"},
        {"{\"valid_from\": \"2025-01-01\", \"valid_until\": \"2026-01-01\", \"reason\": \"\"}",
         "reason"},
        {"{\"valid_from\": \"2025-01-01\", \"valid_until\": \"2026-01-01\", \"reason\": 7}",
         "reason"},
        {"{\"valid_from\": \"2025-01-01\", \"valid_until\": \"2026-01-01\", \"status\": "
         "\"active\"}",
         "status"},
        {"{\"valid_from\": \"2025-01-01\", \"valid_until\": \"2026-01-01\", \"number\": "
         "\"MPL-2025-0001\"}",
         "number"},
    };
    struct fx *f = *state;
    char *org = create_org(f), *long_reason, *body;
    char *path = it_fmt("/v1/organisations/%s/licences", org);
    long before = writes(f);
    struct it_resp r;

    it_field_errors(f->s, "POST", path, f->admin, NULL, cases, IT_LEN(cases));
    /* A reason of 501 characters. */
    long_reason = malloc(502);
    memset(long_reason, 'x', 501);
    long_reason[501] = '\0';
    body = it_fmt("{\"valid_from\": \"2025-01-01\", \"valid_until\": \"2026-01-01\","
                  " \"reason\": \"%s\"}",
                  long_reason);
    it_postf(f->s, f->admin, body, &r, "/v1/organisations/%s/licences", org);
    it_assert_field_error(&r, "reason");
    it_resp_free(&r);
    free(body);
    free(long_reason);

    /* Malformed JSON, a wrong content type and a body that is not an object. */
    it_expectf(f->s, "POST", f->admin, NULL, "{\"valid_from\": ", 400,
               "/v1/organisations/%s/licences", org);
    it_expectf(f->s, "POST", f->admin, NULL, "[]", 400, "/v1/organisations/%s/licences", org);
    {
        const char *hdrs[] = {"Content-Type: text/plain", NULL};

        it_request(f->s, "POST", path, f->admin, hdrs,
                   "{\"valid_from\": \"2025-01-01\", \"valid_until\": \"2026-01-01\"}", &r);
        it_assert_problem(&r, 415);
        it_resp_free(&r);
        free(path);
    }
    assert_int_equal(writes(f), before);
    free(org);
}

static void
test_create_for_missing_or_archived_org(void **state)
{
    struct fx *f = *state;
    const char *ok = "{\"valid_from\": \"2025-01-01\", \"valid_until\": \"2026-01-01\"}";
    char *org = create_org(f);
    long before = writes(f);

    it_expectf(f->s, "POST", f->admin, NULL, ok, 404, "/v1/organisations/%s/licences", NO_SUCH_ID);
    it_expectf(f->s, "POST", f->admin, NULL, ok, 404, "/v1/organisations/%s/licences",
               "not-a-uuid");
    PQclear(it_sql(f->s, "UPDATE organisation SET archived_at = now() WHERE id = $1::uuid", org));
    it_expectf(f->s, "POST", f->admin, NULL, ok, 404, "/v1/organisations/%s/licences", org);
    /* No token: 401. */
    it_expectf(f->s, "POST", NULL, NULL, ok, 401, "/v1/organisations/%s/licences", org);
    assert_int_equal(writes(f), before);
    free(org);
}

static void
test_one_open_licence(void **state)
{
    struct fx *f = *state;
    const char *ok = "{\"valid_from\": \"2025-01-01\", \"valid_until\": \"2026-01-01\"}";
    char *org = create_org(f);
    struct it_made l = create_licence(f, org, FAR_UNTIL);
    const char *open_statuses[] = {"pending", "active", "suspended"};
    struct it_resp r, g;
    long before;
    int i;

    it_getf(f->s, f->admin, &g, "/v1/licences/%s", l.id);
    it_assert_status(&g, 200);
    for (i = 0; i < 3; i++) {
        const char *needles[] = {it_json_str(&g, "number"), open_statuses[i], NULL};

        if (i == 1) {
            move(f, &l, "active");
        } else if (i == 2) {
            move(f, &l, "suspended");
        }
        before = writes(f);
        it_postf(f->s, f->admin, ok, &r, "/v1/organisations/%s/licences", org);
        assert_conflict(&r, "/problems/conflict", needles);
        it_resp_free(&r);
        assert_int_equal(writes(f), before);
    }
    assert_int_equal(
        it_count(f->s, "SELECT count(*) FROM licence WHERE organisation_id = $1::uuid", org), 1);
    /* Once it is revoked, the organisation can be licensed again. */
    move(f, &l, "revoked");
    it_expectf(f->s, "POST", f->admin, NULL, ok, 201, "/v1/organisations/%s/licences", org);
    it_resp_free(&g);
    it_made_free(&l);
    free(org);
}

/* ---- Transitions --------------------------------------------------------------------------- */

static void
test_allowed_transitions(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f), buf[16];
    struct it_made l = create_licence(f, org, FAR_UNTIL);
    PGresult *res;

    /* pending → active → suspended → active → suspended → revoked */
    move(f, &l, "active");
    move(f, &l, "suspended");
    move(f, &l, "active");
    move(f, &l, "suspended");
    move(f, &l, "revoked");
    assert_string_equal(stored_status(f, l.id, buf, sizeof(buf)), "revoked");
    it_assert_row(
        f->s, IT_ROW("pending,active,suspended,active,suspended,revoked", "1", f->admin_id, "t"),
        "SELECT string_agg(status, ',' ORDER BY id), count(DISTINCT changed_by),"
        " min(changed_by::text), bool_and(reason IS NOT NULL)"
        " FROM licence_status_history WHERE licence_id = $1::uuid",
        l.id);
    /* One audit row per change, each with the status before and after. */
    res = it_sql(f->s,
                 "SELECT string_agg(coalesce(before->>'status', '-') || '>' || (after->>'status'),"
                 " ',' ORDER BY id) FROM audit_event"
                 " WHERE resource_type = 'licence' AND resource_id = $1",
                 l.id);
    assert_string_equal(PQgetvalue(res, 0, 0),
                        "->pending,pending>active,active>suspended,suspended>active,"
                        "active>suspended,suspended>revoked");
    PQclear(res);
    it_made_free(&l);

    /* active → revoked directly. */
    l = create_licence(f, org, FAR_UNTIL);
    move(f, &l, "active");
    move(f, &l, "revoked");
    assert_int_equal(history_rows(f, l.id), 3);
    it_made_free(&l);
    free(org);
}

static void
test_forbidden_transitions(void **state)
{
    static const struct {
        const char *path; /* statuses to walk through first, comma-separated, or "" */
        const char *to;
    } cases[] = {
        {"", "suspended"},        {"", "revoked"},          {"", "pending"},
        {"", "expired"},          {"active", "pending"},    {"active", "active"},
        {"active", "expired"},    {"suspended", "pending"}, {"suspended", "suspended"},
        {"suspended", "expired"},
    };
    struct fx *f = *state;
    char *org = create_org(f);
    struct it_made l = create_licence(f, org, FAR_UNTIL);
    const char *current = "pending";
    struct it_resp r;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *body = it_fmt("{\"status\": \"%s\", \"reason\": \"try\"}", cases[i].to);
        const char *needles[] = {cases[i].to, NULL, NULL};
        long before;

        if (cases[i].path[0] != '\0' && strcmp(cases[i].path, current) != 0) {
            move(f, &l, cases[i].path);
            current = cases[i].path;
        }
        needles[1] = strcmp(cases[i].to, "expired") == 0 ? NULL : current;
        before = writes(f);
        it_patchf(f->s, f->admin, l.etag, body, &r, "/v1/licences/%s", l.id);
        assert_conflict(&r, "/problems/invalid-transition", needles);
        it_resp_free(&r);
        assert_int_equal(writes(f), before);
        free(body);
    }
    /* An unknown status is a validation error, not a transition. */
    it_patchf(f->s, f->admin, l.etag, "{\"status\": \"archived\", \"reason\": \"x\"}", &r,
              "/v1/licences/%s", l.id);
    it_assert_field_error(&r, "status");
    it_resp_free(&r);
    it_made_free(&l);
    free(org);
}

static void
test_revoked_is_final(void **state)
{
    static const char *const tos[] = {"active", "suspended", "revoked", "pending", "expired"};
    struct fx *f = *state;
    char *org = create_org(f), buf[16];
    struct it_made l = create_licence(f, org, FAR_UNTIL);
    long before;
    struct it_resp r;
    size_t i;

    move(f, &l, "active");
    move(f, &l, "revoked");
    before = writes(f);
    for (i = 0; i < sizeof(tos) / sizeof(tos[0]); i++) {
        char *body = it_fmt("{\"status\": \"%s\", \"reason\": \"undo\"}", tos[i]);
        const char *needles[] = {"revoked", NULL};

        it_patchf(f->s, f->admin, l.etag, body, &r, "/v1/licences/%s", l.id);
        assert_conflict(&r, "/problems/invalid-transition", needles);
        it_resp_free(&r);
        free(body);
    }
    /* Nor can its dates change: a revoked licence is not renewed. */
    it_expectf(f->s, "PATCH", f->admin, l.etag,
               "{\"valid_until\": \"2099-12-31\", \"reason\": \"extend\"}", 409, "/v1/licences/%s",
               l.id);
    assert_int_equal(writes(f), before);
    assert_string_equal(stored_status(f, l.id, buf, sizeof(buf)), "revoked");
    it_made_free(&l);
    free(org);
}

static void
test_patch_validation(void **state)
{
    static const struct it_field_case cases[] = {
        {"{\"status\": \"active\"}", "reason"},
        {"{\"status\": \"active\", \"reason\": \"\"}", "reason"},
        {"{\"status\": \"active\", \"reason\": null}", "reason"},
        {"{\"status\": \"active\", \"reason\": \"   \"}", "reason"},
        {"{\"valid_until\": \"2030-01-01\"}", "reason"},
        {"{\"status\": null, \"reason\": \"x\"}", "status"},
        {"{\"status\": 1, \"reason\": \"x\"}", "status"},
        {"{\"valid_until\": \"2030-02-30\", \"reason\": \"x\"}", "valid_until"},
        {"{\"valid_from\": \"yesterday\", \"reason\": \"x\"}", "valid_from"},
        {"{\"valid_until\": \"2024-12-31\", \"reason\": \"x\"}", "valid_until"},
        {"{\"number\": \"MPL-1999-0001\", \"reason\": \"x\"}", "number"},
        {"{\"organisation_id\": \"" NO_SUCH_ID "\", \"reason\": \"x\"}", "organisation_id"},
        {"{\"reason\": \"nothing else\"}", "body"},
    };
    struct fx *f = *state;
    char *org = create_org(f);
    struct it_made l = create_licence(f, org, "2098-06-30");
    char *path = it_fmt("/v1/licences/%s", l.id);
    long before = writes(f);
    struct it_resp r;

    it_field_errors(f->s, "PATCH", path, f->admin, l.etag, cases, IT_LEN(cases));
    free(path);
    assert_int_equal(writes(f), before);

    /* While pending, valid_from may move (not past valid_until); afterwards it may not. */
    it_patchf(f->s, f->admin, l.etag, "{\"valid_from\": \"2098-07-01\", \"reason\": \"x\"}", &r,
              "/v1/licences/%s", l.id);
    it_assert_field_error(&r, "valid_from");
    it_resp_free(&r);
    it_patchf(f->s, f->admin, l.etag,
              "{\"valid_from\": \"2025-02-01\", \"reason\": \"start later\"}", &r,
              "/v1/licences/%s", l.id);
    it_assert_status(&r, 200);
    it_assert_strs(&r, IT_ROW("valid_from", "2025-02-01", "status", "pending"));
    it_renew_etag(&r, &l.etag);
    it_resp_free(&r);
    move(f, &l, "active");
    before = writes(f);
    it_patchf(f->s, f->admin, l.etag,
              "{\"valid_from\": \"2025-03-01\", \"reason\": \"start later\"}", &r,
              "/v1/licences/%s", l.id);
    it_assert_problem(&r, 409);
    assert_non_null(strstr(it_json_str(&r, "detail"), "valid_from"));
    it_resp_free(&r);
    assert_int_equal(writes(f), before);

    /* valid_until may move while active, with a reason, and the history says so. */
    it_patchf(f->s, f->admin, l.etag,
              "{\"valid_until\": \"2099-06-30\", \"reason\": \"renewed for a year\"}", &r,
              "/v1/licences/%s", l.id);
    it_assert_status(&r, 200);
    it_assert_strs(&r, IT_ROW("valid_until", "2099-06-30", "status", "active", "reason",
                              "renewed for a year"));
    it_resp_free(&r);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM licence_status_history WHERE licence_id ="
                              " $1::uuid AND status = 'active' AND valid_until = '2099-06-30'"
                              " AND reason = 'renewed for a year'",
                              l.id),
                     1);
    it_made_free(&l);
    free(org);
}

/* ---- Expiry -------------------------------------------------------------------------------- */

static void
test_expired_reads_and_renewal(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f), *path, buf[16];
    struct it_made l = create_licence(f, org, FAR_UNTIL);
    const char *needles[] = {"expired", NULL};
    struct it_resp r;
    long before;

    move(f, &l, "active");
    /* The licence ran out yesterday (the ETag does not change: the row version did not). */
    PQclear(it_sql(f->s,
                   "UPDATE licence SET valid_from = current_date - 400,"
                   " valid_until = current_date - 1 WHERE id = $1::uuid",
                   l.id));
    it_getf(f->s, f->admin, &r, "/v1/licences/%s", l.id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "expired");
    assert_string_equal(it_header(&r, "ETag"), l.etag);
    it_resp_free(&r);
    assert_string_equal(stored_status(f, l.id, buf, sizeof(buf)), "active");

    /* The list shows and filters by the status as it reads. */
    path = it_fmt("/v1/organisations/%s/licences?status=expired", org);
    it_expect_items(f->s, f->admin, 1, "%s", path);
    free(path);
    path = it_fmt("/v1/organisations/%s/licences?status=active", org);
    it_expect_items(f->s, f->admin, 0, "%s", path);
    free(path);

    /* No status change brings it back. */
    before = writes(f);
    it_patchf(f->s, f->admin, l.etag, "{\"status\": \"suspended\", \"reason\": \"x\"}", &r,
              "/v1/licences/%s", l.id);
    assert_conflict(&r, "/problems/invalid-transition", needles);
    it_resp_free(&r);
    it_patchf(f->s, f->admin, l.etag, "{\"status\": \"active\", \"reason\": \"x\"}", &r,
              "/v1/licences/%s", l.id);
    assert_conflict(&r, "/problems/invalid-transition", needles);
    it_resp_free(&r);
    it_patchf(f->s, f->admin, l.etag, "{\"status\": \"expired\", \"reason\": \"x\"}", &r,
              "/v1/licences/%s", l.id);
    assert_conflict(&r, "/problems/invalid-transition", needles);
    it_resp_free(&r);
    assert_int_equal(writes(f), before);

    /* Extending valid_until with a reason renews it. */
    it_patchf(f->s, f->admin, l.etag, "{\"valid_until\": \"2099-01-01\", \"reason\": \"renewed\"}",
              &r, "/v1/licences/%s", l.id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "active");
    it_renew_etag(&r, &l.etag);
    it_resp_free(&r);

    /* A suspended licence past valid_until reads as expired too. */
    move(f, &l, "suspended");
    PQclear(it_sql(f->s, "UPDATE licence SET valid_until = current_date - 1 WHERE id = $1::uuid",
                   l.id));
    it_getf(f->s, f->admin, &r, "/v1/licences/%s", l.id);
    assert_string_equal(it_json_str(&r, "status"), "expired");
    it_resp_free(&r);
    it_patchf(f->s, f->admin, l.etag, "{\"status\": \"active\", \"reason\": \"x\"}", &r,
              "/v1/licences/%s", l.id);
    assert_conflict(&r, "/problems/invalid-transition", needles);
    it_resp_free(&r);
    it_made_free(&l);
    free(org);
}

/* A pending licence whose valid_until has passed is not activated as it stands. */
static void
test_activate_needs_future_valid_until(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f);
    struct it_made l = create_licence(f, org, FAR_UNTIL);
    const char *needles[] = {"pending", "active", "valid_until", NULL};
    struct it_resp r;
    long before;

    PQclear(it_sql(f->s, "UPDATE licence SET valid_until = current_date - 1 WHERE id = $1::uuid",
                   l.id));
    it_getf(f->s, f->admin, &r, "/v1/licences/%s", l.id);
    assert_string_equal(it_json_str(&r, "status"), "pending");
    it_resp_free(&r);
    before = writes(f);
    it_patchf(f->s, f->admin, l.etag, "{\"status\": \"active\", \"reason\": \"go\"}", &r,
              "/v1/licences/%s", l.id);
    assert_conflict(&r, "/problems/invalid-transition", needles);
    it_resp_free(&r);
    assert_int_equal(writes(f), before);
    /* With a later valid_until in the same change, it is activated. */
    it_patchf(f->s, f->admin, l.etag,
              "{\"status\": \"active\", \"valid_until\": \"2099-01-01\", \"reason\": \"go\"}", &r,
              "/v1/licences/%s", l.id);
    it_assert_status(&r, 200);
    it_assert_strs(&r, IT_ROW("status", "active", "valid_until", "2099-01-01"));
    it_resp_free(&r);
    it_made_free(&l);
    free(org);
}

static void
test_new_licence_replaces_expired(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f), buf[16];
    struct it_made old = create_licence(f, org, FAR_UNTIL), neu;
    struct it_resp r;

    move(f, &old, "active");
    move(f, &old, "suspended");
    PQclear(it_sql(f->s, "UPDATE licence SET valid_until = current_date - 1 WHERE id = $1::uuid",
                   old.id));
    neu = create_licence(f, org, FAR_UNTIL);
    /* The old one is now stored as expired, with a history row and an audit row. */
    assert_string_equal(stored_status(f, old.id, buf, sizeof(buf)), "expired");
    it_assert_row(f->s, IT_ROW("expired", f->admin_id, "t"),
                  "SELECT status, changed_by::text, reason IS NOT NULL FROM licence_status_history"
                  " WHERE licence_id = $1::uuid ORDER BY id DESC LIMIT 1",
                  old.id);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_type = 'licence'"
                              " AND resource_id = $1 AND action = 'expire'"
                              " AND actor_id = $2::uuid",
                              old.id, f->admin_id),
                     1);
    /* Stored expired is final: its ETag moved, and even the new ETag cannot change it. */
    it_getf(f->s, f->admin, &r, "/v1/licences/%s", old.id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "expired");
    assert_string_not_equal(it_header(&r, "ETag"), old.etag);
    it_renew_etag(&r, &old.etag);
    it_resp_free(&r);
    it_expectf(f->s, "PATCH", f->admin, old.etag,
               "{\"valid_until\": \"2099-01-01\", \"reason\": \"renew\"}", 409, "/v1/licences/%s",
               old.id);
    it_made_free(&old);
    it_made_free(&neu);
    free(org);
}

/* Archiving an organisation freezes its licences: an expired one is not renewed afterwards. */
static void
test_archived_organisation(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f), *path = it_fmt("/v1/organisations/%s", org);
    struct it_made l = create_licence(f, org, FAR_UNTIL);
    struct it_resp r;
    long before;

    move(f, &l, "active");
    PQclear(it_sql(f->s, "UPDATE licence SET valid_until = current_date - 1 WHERE id = $1::uuid",
                   l.id));
    it_expect(f->s, "DELETE", path, f->admin, NULL, 204);
    before = writes(f);
    it_patchf(f->s, f->admin, l.etag, "{\"valid_until\": \"2099-01-01\", \"reason\": \"renew\"}",
              &r, "/v1/licences/%s", l.id);
    it_assert_problem(&r, 409);
    assert_non_null(strstr(it_json_str(&r, "detail"), "archived"));
    it_resp_free(&r);
    assert_int_equal(writes(f), before);
    /* The licensing body still reads it, and its organisation's list. */
    it_getf(f->s, f->admin, &r, "/v1/licences/%s", l.id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "expired");
    it_resp_free(&r);
    free(path);
    path = it_fmt("/v1/organisations/%s/licences", org);
    it_expect_items(f->s, f->admin, 1, "%s", path);
    free(path);
    it_made_free(&l);
    free(org);
}

/* ---- If-Match ------------------------------------------------------------------------------ */

static void
test_if_match(void **state)
{
    struct fx *f = *state;
    const char *body = "{\"status\": \"active\", \"reason\": \"go\"}";
    char *org = create_org(f);
    struct it_made l = create_licence(f, org, FAR_UNTIL);
    char *weak = it_fmt("W/%s", l.etag);
    long before = writes(f);

    it_expectf(f->s, "PATCH", f->admin, NULL, body, 428, "/v1/licences/%s", l.id);
    it_expectf(f->s, "PATCH", f->admin, "\"999\"", body, 412, "/v1/licences/%s", l.id);
    it_expectf(f->s, "PATCH", f->admin, weak, body, 412, "/v1/licences/%s", l.id);
    assert_int_equal(writes(f), before);

    /* A missing licence, or a malformed id, is 404. */
    it_expectf(f->s, "PATCH", f->admin, "\"1\"", body, 404, "/v1/licences/%s", NO_SUCH_ID);
    it_expectf(f->s, "PATCH", f->admin, "\"1\"", body, 404, "/v1/licences/%s", "nope");

    /* The right ETag works once; replaying it is stale. */
    it_expectf(f->s, "PATCH", f->admin, l.etag, body, 200, "/v1/licences/%s", l.id);
    it_expectf(f->s, "PATCH", f->admin, l.etag, "{\"status\": \"suspended\", \"reason\": \"x\"}",
               412, "/v1/licences/%s", l.id);
    free(weak);
    it_made_free(&l);
    free(org);
}

static void
test_concurrent_patches(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f);
    struct it_made l = create_licence(f, org, FAR_UNTIL);
    int round;

    move(f, &l, "active");
    for (round = 0; round < RACE_ROUNDS; round++) {
        struct it_race x;
        long hist = history_rows(f, l.id);
        char *path = it_fmt("/v1/licences/%s", l.id);
        const char *body[2];

        /* One extends valid_until, the other changes the status (active to suspended, or back).
         * Either is allowed alone; with one ETag only one may happen. */
        body[0] = round % 2 == 0 ? "{\"valid_until\": \"2098-01-01\", \"reason\": \"one\"}"
                                 : "{\"valid_until\": \"2097-01-01\", \"reason\": \"one\"}";
        body[1] = "{\"status\": \"suspended\", \"reason\": \"two\"}";
        if (round % 2 == 1) {
            body[1] = "{\"status\": \"active\", \"reason\": \"two\"}";
        }
        it_race_patch_round(&x, f->s, round, "licence", l.id, path, f->admin, l.etag, body[0],
                            body[1]);
        free(path);
        assert_int_equal(history_rows(f, l.id), hist + 1);
        free(l.etag);
        l.etag = it_etag_of(f->s, f->admin, "/v1/licences/%s", l.id);
        /* Keep the status alternating between active and suspended for the next round. */
        if (x.status[1] == 412) {
            move(f, &l, round % 2 == 0 ? "suspended" : "active");
        }
    }
    it_made_free(&l);
    free(org);
}

/* ---- Who may see and change ---------------------------------------------------------------- */

static void
test_licensees(void **state)
{
    struct fx *f = *state;
    char *org_a = create_org(f), *org_b = create_org(f), *path;
    struct it_made la = create_licence(f, org_a, FAR_UNTIL),
                   lb = create_licence(f, org_b, FAR_UNTIL);
    char *boss = it_fx_licensee(f, "boss@a.licences.example", "org_admin", org_a);
    char *staff = it_fx_licensee(f, "staff@a.licences.example", "org_staff", org_a);
    const char *ok = "{\"valid_from\": \"2025-01-01\", \"valid_until\": \"2026-01-01\"}";
    const char *tokens[2];
    struct it_resp r;
    long before;
    int i;

    tokens[0] = boss;
    tokens[1] = staff;
    for (i = 0; i < 2; i++) {
        /* Their own organisation's licence and list: 200. */
        it_getf(f->s, tokens[i], &r, "/v1/licences/%s", la.id);
        it_assert_status(&r, 200);
        assert_string_equal(it_json_str(&r, "id"), la.id);
        it_assert_header(&r, "ETag", "\"");
        it_resp_free(&r);
        path = it_fmt("/v1/organisations/%s/licences", org_a);
        it_expect_items(f->s, tokens[i], 1, "%s", path);
        free(path);

        /* Another organisation's: 404, as if it did not exist. */
        it_getf(f->s, tokens[i], &r, "/v1/licences/%s", lb.id);
        it_assert_problem(&r, 404);
        assert_null(strstr(r.body, "MPL-"));
        it_resp_free(&r);
        path = it_fmt("/v1/organisations/%s/licences", org_b);
        it_expect(f->s, "GET", path, tokens[i], NULL, 404);
        free(path);
        it_expectf(f->s, "GET", tokens[i], NULL, NULL, 404, "/v1/licences/%s", "not-a-uuid");

        /* Only the licensing body issues or changes licences. */
        before = writes(f);
        it_expectf(f->s, "POST", tokens[i], NULL, ok, 403, "/v1/organisations/%s/licences", org_a);
        it_expectf(f->s, "PATCH", tokens[i], la.etag, "{\"status\": \"active\", \"reason\": \"x\"}",
                   403, "/v1/licences/%s", la.id);
        assert_int_equal(writes(f), before);
    }
    /* Without a token: 401. */
    it_expectf(f->s, "GET", NULL, NULL, NULL, 401, "/v1/licences/%s", la.id);
    /* Admin reads a missing or malformed licence as 404. */
    it_expectf(f->s, "GET", f->admin, NULL, NULL, 404, "/v1/licences/%s", NO_SUCH_ID);
    path = it_fmt("/v1/organisations/%s/licences", NO_SUCH_ID);
    it_expect(f->s, "GET", path, f->admin, NULL, 404);
    free(path);
    free(boss);
    free(staff);
    it_made_free(&la);
    it_made_free(&lb);
    free(org_a);
    free(org_b);
}

/* ---- Lists --------------------------------------------------------------------------------- */

static void
test_list_pages_and_filters(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f), *path;
    char *ids[PAGE_LICENCES];
    json_t *seen;
    struct it_resp r;
    int i, pages = 0;

    /* Five licences, newest last: each revoked before the next is issued, the last active. */
    for (i = 0; i < PAGE_LICENCES; i++) {
        struct it_made l = create_licence(f, org, FAR_UNTIL);

        move(f, &l, "active");
        if (i < PAGE_LICENCES - 1) {
            move(f, &l, "revoked");
        }
        ids[i] = strdup(l.id);
        it_made_free(&l);
    }
    /* Pages of two, newest first, each licence once, then next_cursor null. */
    path = it_fmt("/v1/organisations/%s/licences?limit=2", org);
    seen = it_all_pages(f->s, f->admin, path, 2, 10, &pages);
    free(path);
    assert_int_equal(pages, 3);
    assert_int_equal(json_array_size(seen), PAGE_LICENCES);
    for (i = 0; i < PAGE_LICENCES; i++) {
        assert_string_equal(it_jstr(json_array_get(seen, (size_t)i), "id"),
                            ids[PAGE_LICENCES - 1 - i]);
    }

    /* Filters: the status as it reads. */
    path = it_fmt("/v1/organisations/%s/licences?status=revoked&limit=100", org);
    it_expect_items(f->s, f->admin, PAGE_LICENCES - 1, "%s", path);
    free(path);
    path = it_fmt("/v1/organisations/%s/licences?status=active", org);
    it_get(f->s, path, f->admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_string_equal(it_jstr(json_array_get(json_object_get(r.json, "items"), 0), "id"),
                        ids[PAGE_LICENCES - 1]);
    it_resp_free(&r);
    free(path);

    /* Bad query strings: 400. */
    path = it_fmt("/v1/organisations/%s/licences?", org);
    it_expect_gets(f->s, f->admin, 400, path, "status=bogus", "colour=red", "limit=0", "limit=101",
                   "limit=x", "cursor=!!notone", "cursor=WyJ4Il0", "status=active&status=revoked",
                   NULL);
    free(path);
    for (i = 0; i < PAGE_LICENCES; i++) {
        free(ids[i]);
    }
    json_decref(seen);
    free(org);
}

TEST_MAIN(group_setup,
          it_fx_teardown,
          cmocka_unit_test(test_create),
          cmocka_unit_test(test_create_validation),
          cmocka_unit_test(test_create_for_missing_or_archived_org),
          cmocka_unit_test(test_one_open_licence),
          cmocka_unit_test(test_allowed_transitions),
          cmocka_unit_test(test_forbidden_transitions),
          cmocka_unit_test(test_revoked_is_final),
          cmocka_unit_test(test_patch_validation),
          cmocka_unit_test(test_expired_reads_and_renewal),
          cmocka_unit_test(test_activate_needs_future_valid_until),
          cmocka_unit_test(test_new_licence_replaces_expired),
          cmocka_unit_test(test_archived_organisation),
          cmocka_unit_test(test_if_match),
          cmocka_unit_test(test_concurrent_patches),
          cmocka_unit_test(test_licensees),
          cmocka_unit_test(test_list_pages_and_filters),
          cmocka_unit_test(test_number_grows_past_four_digits))
