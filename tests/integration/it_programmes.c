/* it_programmes.c: /v1/programmes over HTTP against the real server and PostgreSQL: a run the rules
 * accept (facilitators and variant details in the response), each rule broken on its own and all
 * of them at once (the 422 lists each, nothing written), the rules re-checked on PATCH against
 * the run as it would be, status transitions and completion figures, cancelling a run that no
 * longer passes the rules, If-Match (428, 412), role rules (org_staff read only, another
 * organisation's run 404), list filters, keyset pagination and CSV parsed back.
 *
 * Facilitators, their status history and employment are made with SQL; the rules read them
 * through facilitator_eligibility, as the server does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"
#include "registry/password.h"

#define ADMIN_EMAIL "admin@programmes.example"
#define PASSWORD    "programmes-test-password-1"
#define NO_SUCH_ID  "00000000-0000-4000-8000-000000000000"
#define START       "2030-01-07"
#define END         "2030-03-25"

struct fac {
    char id[40];
    char number[16];
};

struct fx {
    IT_FX_HEAD;
    char *org_a, *org_b, *org_d; /* A and B licensed to 2099; D only to 2030-02-28 */
    char *a_admin, *a_staff, *b_admin;
    char *loc_a, *loc_a_off, *loc_b, *loc_d;
    struct fac a1, a2, a3, a_train, b1, d1, d2; /* a3 accredited only to 2030-06-30 */
    int n;
};

/* ---- Helpers ------------------------------------------------------------------------------- */

static char *
create_org(struct fx *f)
{
    return it_create_org(f->s, f->admin, NULL, NULL, "Programme Org %d", ++f->n);
}

/* A facilitator with one status since 2020 (accredited from 2020-01-01 to `until` when status is
 * accredited), employed by `org` (NULL: nobody) since 2020. */
static void
make_fac(struct fx *f, struct fac *out, const char *org, const char *status, const char *until)
{
    const char *on = strcmp(status, "accredited") == 0 ? "2020-01-01" : NULL;
    PGresult *res;

    res = it_sql(f->s,
                 "INSERT INTO facilitator (given_name, family_name, status, accredited_on,"
                 " accredited_until) VALUES ('Alex', $1, $2, $3::date, $4::date)"
                 " RETURNING id::text, registration_number",
                 status, status, on, until);
    snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(res, 0, 0));
    snprintf(out->number, sizeof(out->number), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    PQclear(it_sql(f->s,
                   "INSERT INTO facilitator_status_history (facilitator_id, status, accredited_on,"
                   " accredited_until, effective_on) VALUES ($1::uuid, $2, $3::date, $4::date,"
                   " DATE '2020-01-01')",
                   out->id, status, on, until));
    if (org != NULL) {
        PQclear(it_sql(f->s,
                       "INSERT INTO facilitator_employment (facilitator_id, organisation_id,"
                       " started_on) VALUES ($1::uuid, $2::uuid, DATE '2020-01-01')",
                       out->id, org));
    }
}

static char *
make_loc(struct fx *f, const char *org, const char *extra)
{
    char *body = it_fmt("{\"organisation_id\": \"%s\", \"name\": \"Run site %d\", \"kind\":"
                        " \"family_centre\", \"address_lines\": [\"3 Mill Lane\"], \"town\":"
                        " \"Maidstone\", \"postcode\": \"ME14 1AA\"%s}",
                        org, ++f->n, extra);
    char *id = it_post_created(f->s, f->admin, body, NULL, "/v1/locations");

    free(body);
    return id;
}

/* A run body: `org` may be NULL (left out), `ids` a JSON array text, `extra` more members. */
static char *
run_body(const char *org,
         const char *loc,
         const char *ids,
         const char *starts,
         const char *ends,
         const char *extra)
{
    char *o = org != NULL ? it_fmt("\"organisation_id\": \"%s\", ", org) : strdup("");
    char *b = it_fmt("{%s\"location_id\": \"%s\", \"facilitator_ids\": %s, \"variant\":"
                     " \"standard\", \"starts_on\": \"%s\", \"ends_on\": \"%s\","
                     " \"capacity_families\": 6%s}",
                     o, loc, ids, starts, ends, extra);
    free(o);
    return b;
}

static char *
ids2(const struct fac *x, const struct fac *y)
{
    return it_fmt("[\"%s\", \"%s\"]", x->id, y->id);
}

/* Creates a run (expects 201); returns its id (malloc'd). */
static char *
create_run(struct fx *f, const char *token, const char *body)
{
    return it_post_created(f->s, token, body, NULL, "/v1/programmes");
}

static char *
etag_of(struct fx *f, const char *id)
{
    return it_etag_of(f->s, f->admin, "/v1/programmes/%s", id);
}

/* PATCHes run `id` as admin with its current ETag; the response is left in `r`. */
static void
patch_now(struct fx *f, const char *id, const char *body, struct it_resp *r)
{
    char *etag = etag_of(f, id);

    it_patchf(f->s, f->admin, etag, body, r, "/v1/programmes/%s", id);
    free(etag);
}

/* Asserts a 422 whose errors array holds exactly one item, of `rule` on `field`. */
static void
assert_only_rule(const struct it_resp *r, const char *field, const char *rule)
{
    json_t *errors = json_object_get(r->json, "errors"), *e;

    it_assert_problem(r, 422);
    e = it_find_rule(r, rule);
    if (json_array_size(errors) != 1 || e == NULL) {
        it_resp_print(r);
        fail_msg("expected only rule %s", rule);
    }
    assert_string_equal(it_jstr(e, "field"), field);
    assert_non_null(it_jstr(e, "detail"));
}

static long
count_runs(struct fx *f)
{
    return it_count(f->s, "SELECT count(*) FROM programme_run");
}

/* ---- Fixture ------------------------------------------------------------------------------- */

static int
group_setup(void **state)
{
    struct fx *f = it_fx_start(sizeof(*f), "programmes", NULL, ADMIN_EMAIL, PASSWORD, IT_FX_HASH);

    f->org_a = it_fx_own(f, create_org(f));
    f->org_b = it_fx_own(f, create_org(f));
    f->org_d = it_fx_own(f, create_org(f));
    free(it_issue_licence(f->s, f->admin, f->org_a, "2024-01-01", "2099-12-31", "granted", "active",
                          NULL));
    free(it_issue_licence(f->s, f->admin, f->org_b, "2024-01-01", "2099-12-31", "granted", "active",
                          NULL));
    free(it_issue_licence(f->s, f->admin, f->org_d, "2024-01-01", "2030-02-28", "granted", "active",
                          NULL));
    IT_FX_AB_USERS(f);
    f->loc_a = it_fx_own(f, make_loc(f, f->org_a, ""));
    f->loc_a_off = it_fx_own(f, make_loc(f, f->org_a, ", \"active\": false"));
    f->loc_b = it_fx_own(f, make_loc(f, f->org_b, ""));
    f->loc_d = it_fx_own(f, make_loc(f, f->org_d, ""));
    make_fac(f, &f->a1, f->org_a, "accredited", "2099-12-31");
    make_fac(f, &f->a2, f->org_a, "accredited", "2099-12-31");
    make_fac(f, &f->a3, f->org_a, "accredited", "2030-06-30");
    make_fac(f, &f->a_train, f->org_a, "in_training", NULL);
    make_fac(f, &f->b1, f->org_b, "accredited", "2099-12-31");
    make_fac(f, &f->d1, f->org_d, "accredited", "2099-12-31");
    make_fac(f, &f->d2, f->org_d, "accredited", "2099-12-31");
    *state = f;
    return 0;
}

/* ---- A run the rules accept ---------------------------------------------------------------- */

static void
test_accepted_run(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *ids = ids2(&f->a1, &f->a2), *body, *id;
    json_t *facs, *vd, *fac;
    size_t i;
    long before = count_runs(f);

    body = run_body(NULL, f->loc_a, ids, START, END,
                    ", \"families_enrolled\": 2, \"weekday\": \"tuesday\","
                    " \"start_time\": \"10:30\", \"self_referral_allowed\": true");
    it_post_json(f->s, "/v1/programmes", f->a_admin, body, &r);
    it_assert_status(&r, 201);
    it_assert_header(&r, "ETag", "\"");
    id = strdup(it_json_str(&r, "id"));
    it_assert_header(&r, "Location", id);
    it_assert_strs(&r, IT_ROW("organisation_id", f->org_a, "location_id", f->loc_a, "status",
                              "planned", "variant", "standard", "starts_on", START, "ends_on", END,
                              "weekday", "tuesday", "start_time", "10:30"));
    assert_int_equal(json_integer_value(json_object_get(r.json, "capacity_families")), 6);
    assert_int_equal(json_integer_value(json_object_get(r.json, "families_enrolled")), 2);
    assert_true(json_is_true(json_object_get(r.json, "accepting_referrals")));
    assert_true(json_is_true(json_object_get(r.json, "self_referral_allowed")));
    assert_true(json_is_null(json_object_get(r.json, "families_started")));
    assert_true(json_is_null(json_object_get(r.json, "sessions_planned")));
    vd = json_object_get(r.json, "variant_details");
    assert_string_equal(it_jstr(vd, "code"), "standard");
    assert_int_equal(json_integer_value(json_object_get(vd, "sessions")), 11);
    assert_int_equal(json_integer_value(json_object_get(vd, "min_facilitators")), 2);
    assert_non_null(it_jstr(vd, "title"));
    facs = json_object_get(r.json, "facilitators");
    assert_int_equal(json_array_size(facs), 2);
    json_array_foreach(facs, i, fac)
    {
        const struct fac *want = strcmp(it_jstr(fac, "id"), f->a1.id) == 0 ? &f->a1 : &f->a2;
        assert_string_equal(it_jstr(fac, "id"), want->id);
        assert_string_equal(it_jstr(fac, "registration_number"), want->number);
        assert_string_equal(it_jstr(fac, "given_name"), "Alex");
        assert_string_equal(it_jstr(fac, "family_name"), "accredited");
        assert_null(json_object_get(fac, "email"));
    }
    it_resp_free(&r);
    assert_int_equal(count_runs(f), before + 1);
    assert_int_equal(
        it_count(f->s, "SELECT count(*) FROM programme_facilitator WHERE run_id = $1::uuid", id),
        2);
    assert_int_equal(it_audits(f->s, "programme", id, "create"), 1);
    /* Staff of the organisation read it. */
    it_getf(f->s, f->a_staff, &r, "/v1/programmes/%s", id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "id"), id);
    assert_int_equal(json_array_size(json_object_get(r.json, "facilitators")), 2);
    it_resp_free(&r);
    /* Upper-case ids are the same ids. */
    free(body);
    {
        char *up = strdup(f->loc_a), *p;
        for (p = up; *p; p++) {
            if (*p >= 'a' && *p <= 'f') {
                *p = (char)(*p - 'a' + 'A');
            }
        }
        body = run_body(NULL, up, ids, START, END, "");
        free(up);
    }
    free(create_run(f, f->a_admin, body));
    free(body);
    free(ids);
    free(id);
}

/* ---- Each rule on its own ------------------------------------------------------------------ */

static void
test_each_rule_alone(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    long runs = count_runs(f), links = it_count(f->s, "SELECT count(*) FROM programme_facilitator");
    char *ok = ids2(&f->a1, &f->a2), *ids, *body;
    json_t *e, *reasons;

    /* (1) Licence: D's licence ends 2030-02-28, before the run does; D's facilitators stop being
     * eligible (their employer unlicensed) the day after, which the 422 names too. */
    ids = ids2(&f->d1, &f->d2);
    body = run_body(f->org_d, f->loc_d, ids, START, END, "");
    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    it_assert_problem(&r, 422);
    assert_int_equal(json_array_size(json_object_get(r.json, "errors")), 3);
    assert_string_equal(it_jstr(it_find_rule(&r, "licence_not_active"), "field"),
                        "organisation_id");
    e = it_find_rule(&r, "facilitator_not_eligible");
    assert_non_null(e);
    assert_string_equal(it_jstr(e, "ineligible_from"), "2030-03-01");
    assert_string_equal(json_string_value(json_array_get(json_object_get(e, "reasons"), 0)),
                        "employer_licence_not_active");
    it_resp_free(&r);
    free(body);
    /* The same run ending within the licence is accepted. */
    body = run_body(f->org_d, f->loc_d, ids, START, "2030-02-20", "");
    free(create_run(f, f->admin, body));
    runs++;
    links += 2;
    free(body);
    free(ids);

    /* (2) Location of another organisation; inactive location. */
    body = run_body(f->org_a, f->loc_b, ok, START, END, "");
    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    assert_only_rule(&r, "location_id", "location_not_owned");
    it_resp_free(&r);
    free(body);
    body = run_body(f->org_a, NO_SUCH_ID, ok, START, END, "");
    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    assert_only_rule(&r, "location_id", "location_not_owned");
    it_resp_free(&r);
    free(body);
    body = run_body(f->org_a, f->loc_a_off, ok, START, END, "");
    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    assert_only_rule(&r, "location_id", "location_inactive");
    it_resp_free(&r);
    free(body);

    /* (3) Too few facilitators for the variant (2 for standard); aftercare needs one. */
    ids = it_fmt("[\"%s\"]", f->a1.id);
    body = run_body(f->org_a, f->loc_a, ids, START, END, "");
    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    assert_only_rule(&r, "facilitator_ids", "too_few_facilitators");
    it_resp_free(&r);
    free(body);
    body = it_fmt("{\"organisation_id\": \"%s\", \"location_id\": \"%s\", \"facilitator_ids\": %s,"
                  " \"variant\": \"aftercare\", \"starts_on\": \"%s\", \"ends_on\": \"%s\","
                  " \"capacity_families\": 4}",
                  f->org_a, f->loc_a, ids, START, END);
    free(create_run(f, f->admin, body));
    runs++;
    links++;
    free(body);
    free(ids);

    /* (3) A facilitator not eligible: in training; employed by another organisation. */
    ids = ids2(&f->a1, &f->a_train);
    body = run_body(f->org_a, f->loc_a, ids, START, END, "");
    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    assert_only_rule(&r, "facilitator_ids", "facilitator_not_eligible");
    e = it_find_rule(&r, "facilitator_not_eligible");
    assert_string_equal(it_jstr(e, "registration_number"), f->a_train.number);
    it_assert_contains(it_jstr(e, "detail"), f->a_train.number);
    it_assert_contains(it_jstr(e, "detail"), "not_accredited");
    reasons = json_object_get(e, "reasons");
    assert_int_equal(json_array_size(reasons), 1);
    assert_string_equal(json_string_value(json_array_get(reasons, 0)), "not_accredited");
    it_resp_free(&r);
    free(body);
    free(ids);
    ids = ids2(&f->a1, &f->b1);
    body = run_body(f->org_a, f->loc_a, ids, START, END, "");
    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    assert_only_rule(&r, "facilitator_ids", "facilitator_not_eligible");
    e = it_find_rule(&r, "facilitator_not_eligible");
    assert_string_equal(it_jstr(e, "registration_number"), f->b1.number);
    reasons = json_object_get(e, "reasons");
    assert_int_equal(json_array_size(reasons), 1);
    assert_string_equal(json_string_value(json_array_get(reasons, 0)),
                        "employed_by_another_organisation");
    it_resp_free(&r);
    free(body);
    free(ids);
    /* An unknown facilitator id. */
    ids = it_fmt("[\"%s\", \"%s\"]", f->a1.id, NO_SUCH_ID);
    body = run_body(f->org_a, f->loc_a, ids, START, END, "");
    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    assert_only_rule(&r, "facilitator_ids", "facilitator_unknown");
    it_resp_free(&r);
    free(body);
    free(ids);

    /* (4) Over capacity. */
    body = run_body(f->org_a, f->loc_a, ok, START, END, ", \"families_enrolled\": 7");
    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    assert_only_rule(&r, "families_enrolled", "over_capacity");
    it_resp_free(&r);
    free(body);

    /* The run's own figures and data: dates out of order, an unknown variant. */
    body = run_body(f->org_a, f->loc_a, ok, END, START, "");
    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    assert_only_rule(&r, "ends_on", "ends_before_start");
    it_resp_free(&r);
    free(body);
    body = it_fmt("{\"organisation_id\": \"%s\", \"location_id\": \"%s\", \"facilitator_ids\": %s,"
                  " \"variant\": \"marathon\", \"starts_on\": \"%s\", \"ends_on\": \"%s\","
                  " \"capacity_families\": 4}",
                  f->org_a, f->loc_a, ok, START, END);
    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    assert_only_rule(&r, "variant", "variant_unknown");
    it_resp_free(&r);
    free(body);

    assert_int_equal(count_runs(f), runs);
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM programme_facilitator"), links);
    free(ok);
}

static void
test_all_rules_together(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    long runs = count_runs(f);
    long audits = it_count(f->s, "SELECT count(*) FROM audit_event");
    char *ids = it_fmt("[\"%s\"]", f->a_train.id);
    char *body =
        it_fmt("{\"organisation_id\": \"%s\", \"location_id\": \"%s\", \"facilitator_ids\":"
               " %s, \"variant\": \"standard\", \"starts_on\": \"%s\", \"ends_on\":"
               " \"%s\", \"capacity_families\": 3, \"families_enrolled\": 4}",
               f->org_d, f->loc_b, ids, START, END);
    json_t *e, *reasons;
    static const char *const rules[] = {"licence_not_active",   "location_not_owned",
                                        "too_few_facilitators", "facilitator_not_eligible",
                                        "over_capacity",        NULL};
    const char *const *rule;

    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    it_assert_problem(&r, 422);
    assert_int_equal(json_array_size(json_object_get(r.json, "errors")), 5);
    for (rule = rules; *rule != NULL; rule++) {
        if (it_find_rule(&r, *rule) == NULL) {
            it_resp_print(&r);
            fail_msg("rule %s is not listed", *rule);
        }
    }
    e = it_find_rule(&r, "facilitator_not_eligible");
    reasons = json_object_get(e, "reasons");
    assert_int_equal(json_array_size(reasons), 2);
    assert_string_equal(json_string_value(json_array_get(reasons, 0)), "not_accredited");
    assert_string_equal(json_string_value(json_array_get(reasons, 1)),
                        "employed_by_another_organisation");
    it_resp_free(&r);
    assert_int_equal(count_runs(f), runs);
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM audit_event"), audits);
    free(body);
    free(ids);
}

static void
test_create_validation(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    long runs = count_runs(f);
    char *ok = ids2(&f->a1, &f->a2), *body, *dup;
    static const struct {
        const char *extra;
        const char *field;
    } cases[] = {
        {", \"start_time\": \"25:00\"", "start_time"},
        {", \"start_time\": \"9am\"", "start_time"},
        {", \"weekday\": \"funday\"", "weekday"},
        {", \"families_enrolled\": -1", "families_enrolled"},
        {", \"status\": \"completed\"", "status"},
        {", \"status\": \"finished\"", "status"},
        {", \"families_started\": 3", "families_started"},
        {", \"review_held\": true", "review_held"},
        {", \"accepting_referrals\": 1", "accepting_referrals"},
        {", \"colour\": \"red\"", "colour"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        body = run_body(f->org_a, f->loc_a, ok, START, END, cases[i].extra);
        it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
        it_assert_problem(&r, 422);
        if (!it_names_field(&r, cases[i].field)) {
            it_resp_print(&r);
            fail_msg("case %zu: errors do not name %s", i, cases[i].field);
        }
        it_resp_free(&r);
        free(body);
    }
    /* Capacity out of range (1-8). */
    body = it_fmt("{\"location_id\": \"%s\", \"facilitator_ids\": %s, \"variant\": \"standard\","
                  " \"starts_on\": \"%s\", \"ends_on\": \"%s\", \"capacity_families\": 9}",
                  f->loc_a, ok, START, END);
    it_post_json(f->s, "/v1/programmes", f->a_admin, body, &r);
    it_assert_problem(&r, 422);
    assert_true(it_names_field(&r, "capacity_families"));
    it_resp_free(&r);
    free(body);
    /* Missing required fields, each named. */
    it_post_json(f->s, "/v1/programmes", f->a_admin, "{\"variant\": \"standard\"}", &r);
    it_assert_problem(&r, 422);
    assert_true(it_names_field(&r, "location_id"));
    assert_true(it_names_field(&r, "facilitator_ids"));
    assert_true(it_names_field(&r, "starts_on"));
    assert_true(it_names_field(&r, "ends_on"));
    assert_true(it_names_field(&r, "capacity_families"));
    it_resp_free(&r);
    /* facilitator_ids: not ids, twice the same. */
    body = run_body(f->org_a, f->loc_a, "[\"x\"]", START, END, "");
    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    it_assert_problem(&r, 422);
    assert_true(it_names_field(&r, "facilitator_ids"));
    it_resp_free(&r);
    free(body);
    dup = ids2(&f->a1, &f->a1);
    body = run_body(f->org_a, f->loc_a, dup, START, END, "");
    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    it_assert_problem(&r, 422);
    assert_true(it_names_field(&r, "facilitator_ids"));
    it_resp_free(&r);
    free(body);
    free(dup);
    /* Admin must name the organisation; an unknown one is refused. */
    body = run_body(NULL, f->loc_a, ok, START, END, "");
    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    it_assert_problem(&r, 422);
    assert_true(it_names_field(&r, "organisation_id"));
    it_resp_free(&r);
    free(body);
    body = run_body(NO_SUCH_ID, f->loc_a, ok, START, END, "");
    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    it_assert_problem(&r, 422);
    assert_true(it_names_field(&r, "organisation_id"));
    it_resp_free(&r);
    free(body);
    it_expect(f->s, "POST", "/v1/programmes", NULL, "{}", 401);
    assert_int_equal(count_runs(f), runs);
    free(ok);
}

/* ---- Re-checked on every change ------------------------------------------------------------ */

static void
test_recheck_on_patch(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *ids = ids2(&f->a1, &f->a3), *body = run_body(NULL, f->loc_a, ids, START, END, "");
    char *id = create_run(f, f->a_admin, body), *etag = etag_of(f, id), *patch;
    json_t *e;

    /* Moving the start past a3's accreditation: a3 is no longer eligible; nothing changes. */
    it_patchf(f->s, f->a_admin, etag,
              "{\"starts_on\": \"2030-09-02\", \"ends_on\": \"2030-11-30\"}", &r,
              "/v1/programmes/%s", id);
    assert_only_rule(&r, "facilitator_ids", "facilitator_not_eligible");
    e = it_find_rule(&r, "facilitator_not_eligible");
    assert_string_equal(it_jstr(e, "registration_number"), f->a3.number);
    assert_string_equal(json_string_value(json_array_get(json_object_get(e, "reasons"), 0)),
                        "accreditation_lapsed");
    it_resp_free(&r);
    it_getf(f->s, f->a_admin, &r, "/v1/programmes/%s", id);
    assert_string_equal(it_json_str(&r, "starts_on"), START);
    assert_string_equal(it_header(&r, "ETag"), etag);
    it_resp_free(&r);

    /* Each rule against the run as it would be. */
    it_patchf(f->s, f->a_admin, etag, "{\"families_enrolled\": 7}", &r, "/v1/programmes/%s", id);
    assert_only_rule(&r, "families_enrolled", "over_capacity");
    it_resp_free(&r);
    it_patchf(f->s, f->a_admin, etag, "{\"families_enrolled\": 3}", &r, "/v1/programmes/%s", id);
    it_assert_status(&r, 200);
    it_renew_etag(&r, &etag);
    it_resp_free(&r);
    it_patchf(f->s, f->a_admin, etag, "{\"capacity_families\": 2}", &r, "/v1/programmes/%s", id);
    assert_only_rule(&r, "families_enrolled", "over_capacity");
    it_resp_free(&r);
    patch = it_fmt("{\"facilitator_ids\": [\"%s\"]}", f->a1.id);
    it_patchf(f->s, f->a_admin, etag, patch, &r, "/v1/programmes/%s", id);
    assert_only_rule(&r, "facilitator_ids", "too_few_facilitators");
    it_resp_free(&r);
    free(patch);
    patch = it_fmt("{\"location_id\": \"%s\"}", f->loc_a_off);
    it_patchf(f->s, f->a_admin, etag, patch, &r, "/v1/programmes/%s", id);
    assert_only_rule(&r, "location_id", "location_inactive");
    it_resp_free(&r);
    free(patch);
    it_patchf(f->s, f->a_admin, etag, "{\"ends_on\": \"2029-12-01\"}", &r, "/v1/programmes/%s", id);
    assert_only_rule(&r, "ends_on", "ends_before_start");
    it_resp_free(&r);
    it_patchf(f->s, f->a_admin, etag, "{\"organisation_id\": \"" NO_SUCH_ID "\"}", &r,
              "/v1/programmes/%s", id);
    it_assert_problem(&r, 422);
    assert_true(it_names_field(&r, "organisation_id"));
    it_resp_free(&r);
    /* A location archived after the run was made fails the next change. */
    it_getf(f->s, f->a_admin, &r, "/v1/programmes/%s", id);
    assert_int_equal(json_integer_value(json_object_get(r.json, "families_enrolled")), 3);
    assert_int_equal(json_integer_value(json_object_get(r.json, "capacity_families")), 6);
    assert_int_equal(json_array_size(json_object_get(r.json, "facilitators")), 2);
    it_resp_free(&r);

    /* Swapping a3 for a2 makes the move acceptable. */
    patch = it_fmt("{\"starts_on\": \"2030-09-02\", \"ends_on\": \"2030-11-30\","
                   " \"facilitator_ids\": [\"%s\", \"%s\"]}",
                   f->a1.id, f->a2.id);
    it_patchf(f->s, f->a_admin, etag, patch, &r, "/v1/programmes/%s", id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "starts_on"), "2030-09-02");
    assert_int_equal(json_array_size(json_object_get(r.json, "facilitators")), 2);
    it_resp_free(&r);
    free(patch);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM programme_facilitator WHERE run_id = $1::uuid"
                              " AND facilitator_id IN ($2::uuid, $3::uuid)",
                              id, f->a1.id, f->a2.id),
                     2);
    assert_int_equal(
        it_count(f->s, "SELECT count(*) FROM programme_facilitator WHERE run_id = $1::uuid", id),
        2);
    assert_int_equal(it_audits(f->s, "programme", id, "update"), 2);
    free(etag);
    free(id);
    free(body);
    free(ids);
}

/* ---- Status and completion ----------------------------------------------------------------- */

static void
test_status_and_completion(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *ids = ids2(&f->a1, &f->a2), *body = run_body(NULL, f->loc_a, ids, START, END, "");
    char *id = create_run(f, f->a_admin, body), *other;
    static const char *const figures[] = {
        "families_started",   "families_completed", "adults",       "children",
        "sessions_delivered", "review_held",        "reunion_held", NULL};
    const char *const *fig;

    /* Figures before completion are refused. */
    patch_now(f, id, "{\"families_started\": 4}", &r);
    it_assert_problem(&r, 422);
    assert_non_null(it_find_rule(&r, "figures_before_completion"));
    it_resp_free(&r);
    /* planned -> running skips a step; unknown status. */
    patch_now(f, id, "{\"status\": \"running\"}", &r);
    it_assert_problem(&r, 409);
    it_resp_free(&r);
    patch_now(f, id, "{\"status\": \"done\"}", &r);
    it_assert_problem(&r, 422);
    it_resp_free(&r);
    patch_now(f, id, "{\"status\": \"recruiting\"}", &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "recruiting");
    it_resp_free(&r);
    patch_now(f, id, "{\"status\": \"completed\"}", &r);
    it_assert_problem(&r, 409);
    it_resp_free(&r);
    /* The run starts in 2030: only the licensing body, with a reason, records it running now
     * (test_calendar has the rules themselves). */
    patch_now(f, id, "{\"status\": \"running\", \"reason\": \"delivery started early\"}", &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status_reason"), "delivery started early");
    it_resp_free(&r);
    /* Completion without figures names each one. */
    patch_now(f, id, "{\"status\": \"completed\", \"reason\": \"ended early\"}", &r);
    it_assert_problem(&r, 422);
    for (fig = figures; *fig != NULL; fig++) {
        assert_true(it_names_field(&r, *fig));
    }
    assert_int_equal(json_array_size(json_object_get(r.json, "errors")), 7);
    it_resp_free(&r);
    /* Figures that contradict themselves. */
    patch_now(f, id,
              "{\"status\": \"completed\", \"reason\": \"ended early\","
              " \"families_started\": 4, \"families_completed\": 5,"
              " \"adults\": 7, \"children\": 9, \"sessions_delivered\": 10, \"review_held\": true,"
              " \"reunion_held\": false}",
              &r);
    assert_only_rule(&r, "families_completed", "completed_exceeds_started");
    it_resp_free(&r);
    patch_now(f, id,
              "{\"status\": \"completed\", \"reason\": \"ended early\","
              " \"families_started\": 4, \"families_completed\": 3,"
              " \"adults\": 7, \"children\": 9, \"sessions_delivered\": 12, \"review_held\": true,"
              " \"reunion_held\": false}",
              &r);
    assert_only_rule(&r, "sessions_delivered", "sessions_exceed_planned");
    it_resp_free(&r);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM programme_run WHERE id = $1::uuid"
                              " AND status = 'running' AND families_started IS NULL",
                              id),
                     1);
    /* Completed, with sessions_planned from the variant. */
    patch_now(f, id,
              "{\"status\": \"completed\", \"reason\": \"ended early\","
              " \"families_started\": 4, \"families_completed\": 3,"
              " \"adults\": 7, \"children\": 9, \"sessions_delivered\": 10, \"review_held\": true,"
              " \"reunion_held\": false}",
              &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "completed");
    assert_int_equal(json_integer_value(json_object_get(r.json, "families_started")), 4);
    assert_int_equal(json_integer_value(json_object_get(r.json, "families_completed")), 3);
    assert_int_equal(json_integer_value(json_object_get(r.json, "adults")), 7);
    assert_int_equal(json_integer_value(json_object_get(r.json, "children")), 9);
    assert_int_equal(json_integer_value(json_object_get(r.json, "sessions_delivered")), 10);
    assert_int_equal(json_integer_value(json_object_get(r.json, "sessions_planned")), 11);
    assert_true(json_is_true(json_object_get(r.json, "review_held")));
    assert_true(json_is_false(json_object_get(r.json, "reunion_held")));
    it_resp_free(&r);
    /* After completion: figures may be corrected; nothing else changes; it is final. */
    patch_now(f, id, "{\"adults\": 8}", &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "adults")), 8);
    it_resp_free(&r);
    patch_now(f, id, "{\"families_completed\": 6}", &r);
    assert_only_rule(&r, "families_completed", "completed_exceeds_started");
    it_resp_free(&r);
    patch_now(f, id, "{\"families_enrolled\": 1}", &r);
    it_assert_problem(&r, 409);
    it_resp_free(&r);
    patch_now(f, id, "{\"status\": \"cancelled\"}", &r);
    it_assert_problem(&r, 409);
    it_resp_free(&r);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_type = 'programme'"
                              " AND resource_id = $1 AND action = 'update'"
                              " AND after->>'status' = 'completed'",
                              id),
                     2);

    /* Cancelled is final too. */
    other = create_run(f, f->a_admin, body);
    patch_now(f, other, "{\"status\": \"cancelled\"}", &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    patch_now(f, other, "{\"families_enrolled\": 1}", &r);
    it_assert_problem(&r, 409);
    it_resp_free(&r);
    patch_now(f, other, "{\"status\": \"planned\"}", &r);
    it_assert_problem(&r, 409);
    it_resp_free(&r);
    free(other);
    free(id);
    free(body);
    free(ids);
}

static void
test_cancel_when_licence_suspended(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *org = create_org(f),
         *lic = it_issue_licence(f->s, f->admin, org, "2024-01-01", "2099-12-31", "granted",
                                 "active", NULL),
         *loc = make_loc(f, org, "");
    struct fac e1, e2;
    char *ids, *body, *id, *path, *etag;

    make_fac(f, &e1, org, "accredited", "2099-12-31");
    make_fac(f, &e2, org, "accredited", "2099-12-31");
    ids = ids2(&e1, &e2);
    body = run_body(org, loc, ids, START, END, "");
    id = create_run(f, f->admin, body);

    /* The licensing body suspends the licence. */
    path = it_fmt("/v1/licences/%s", lic);
    it_get(f->s, path, f->admin, &r);
    etag = strdup(it_header(&r, "ETag"));
    it_resp_free(&r);
    it_expect_if(f->s, "PATCH", path, f->admin, etag,
                 "{\"status\": \"suspended\", \"reason\": \"inspection\"}", 200);

    /* A new run is refused, with every facilitator's reason and the licence named. */
    it_post_json(f->s, "/v1/programmes", f->admin, body, &r);
    it_assert_problem(&r, 422);
    assert_non_null(it_find_rule(&r, "licence_not_active"));
    assert_non_null(it_find_rule(&r, "facilitator_not_eligible"));
    it_resp_free(&r);
    /* A change to the existing run is re-checked and refused... */
    patch_now(f, id, "{\"families_enrolled\": 1}", &r);
    it_assert_problem(&r, 422);
    assert_non_null(it_find_rule(&r, "licence_not_active"));
    it_resp_free(&r);
    /* ...but it can still be cancelled. */
    patch_now(f, id, "{\"status\": \"cancelled\", \"accepting_referrals\": false}", &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "cancelled");
    it_resp_free(&r);
    free(etag);
    free(path);
    free(id);
    free(body);
    free(ids);
    free(loc);
    free(lic);
    free(org);
}

/* ---- The calendar, the figures and runs at risk -------------------------------------------- */

/* The date `days` from today (UK calendar), in `buf` (16 bytes). */
static const char *
day(struct fx *f, int days, char *buf)
{
    return it_day(f->s, days, buf, 16);
}

/* A licensed organisation whose licence history starts in 2024, so that past runs are covered;
 * returns its id (malloc'd). */
static char *
licensed_since_2024(struct fx *f)
{
    char *org = create_org(f);

    free(it_issue_licence(f->s, f->admin, org, "2024-01-01", "2099-12-31", "granted", "active",
                          NULL));
    PQclear(it_sql(f->s,
                   "UPDATE licence_status_history SET changed_at = TIMESTAMPTZ '2024-01-01 12:00Z'"
                   " WHERE licence_id IN (SELECT id FROM licence WHERE organisation_id = $1::uuid)",
                   org));
    return org;
}

#define FIGURES                                                                                    \
    ", \"families_started\": 4, \"families_completed\": 3, \"adults\": 5, \"children\": 6,"        \
    " \"sessions_delivered\": 10, \"review_held\": true, \"reunion_held\": true"

static void
test_calendar(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *org = licensed_since_2024(f), *loc = make_loc(f, org, "");
    char *a_org_admin, *ids, *body, *id, *etag;
    char m90[16], m10[16], m5[16], p10[16], p80[16], p60[16], today[16];
    struct fac e1, e2;
    long runs;

    make_fac(f, &e1, org, "accredited", "2099-12-31");
    make_fac(f, &e2, org, "accredited", "2099-12-31");
    ids = ids2(&e1, &e2);
    a_org_admin = it_fx_licensee(f, "admin@calendar.example", "org_admin", org);
    day(f, -90, m90);
    day(f, -10, m10);
    day(f, -5, m5);
    day(f, 10, p10);
    day(f, 60, p60);
    day(f, 80, p80);
    day(f, 0, today);
    runs = count_runs(f);

    /* A new run wholly in the past: completed with its figures, or refused. */
    body = run_body(NULL, loc, ids, m90, m10, "");
    it_post_json(f->s, "/v1/programmes", a_org_admin, body, &r);
    assert_only_rule(&r, "ends_on", "run_in_past");
    it_resp_free(&r);
    free(body);
    body = run_body(NULL, loc, ids, m90, m10, ", \"status\": \"recruiting\"");
    it_post_json(f->s, "/v1/programmes", a_org_admin, body, &r);
    assert_only_rule(&r, "ends_on", "run_in_past");
    it_resp_free(&r);
    free(body);
    body = run_body(NULL, loc, ids, m90, m10, ", \"status\": \"completed\"");
    it_post_json(f->s, "/v1/programmes", a_org_admin, body, &r);
    it_assert_problem(&r, 422);
    assert_int_equal(json_array_size(json_object_get(r.json, "errors")), 7);
    assert_non_null(it_find_rule(&r, "completion_figures_required"));
    assert_true(it_names_field(&r, "families_started"));
    it_resp_free(&r);
    free(body);
    /* Figures on a run that has not ended are refused. */
    body = run_body(NULL, loc, ids, p10, p80, FIGURES);
    it_post_json(f->s, "/v1/programmes", a_org_admin, body, &r);
    it_assert_problem(&r, 422);
    assert_true(it_names_field(&r, "families_started"));
    it_resp_free(&r);
    free(body);
    assert_int_equal(count_runs(f), runs);
    body = run_body(NULL, loc, ids, m90, m10, ", \"status\": \"completed\"" FIGURES);
    it_post_json(f->s, "/v1/programmes", a_org_admin, body, &r);
    it_assert_status(&r, 201);
    assert_string_equal(it_json_str(&r, "status"), "completed");
    assert_int_equal(json_integer_value(json_object_get(r.json, "families_started")), 4);
    assert_int_equal(json_integer_value(json_object_get(r.json, "sessions_planned")), 11);
    assert_true(json_is_null(json_object_get(r.json, "status_reason")));
    it_resp_free(&r);
    free(body);

    /* A future run becomes running only from starts_on... */
    body = run_body(NULL, loc, ids, p10, p80, ", \"status\": \"recruiting\"");
    id = create_run(f, a_org_admin, body);
    free(body);
    etag = etag_of(f, id);
    it_patchf(f->s, a_org_admin, etag, "{\"status\": \"running\"}", &r, "/v1/programmes/%s", id);
    assert_only_rule(&r, "status", "run_not_started");
    it_assert_contains(it_jstr(it_find_rule(&r, "run_not_started"), "detail"), p10);
    it_resp_free(&r);
    /* ...a licensee's reason does not change that... */
    it_patchf(f->s, a_org_admin, etag, "{\"status\": \"running\", \"reason\": \"early\"}", &r,
              "/v1/programmes/%s", id);
    assert_only_rule(&r, "status", "run_not_started");
    it_resp_free(&r);
    /* ...nor does the licensing body without one; a reason needs a status change. */
    it_patchf(f->s, f->admin, etag, "{\"status\": \"running\"}", &r, "/v1/programmes/%s", id);
    assert_only_rule(&r, "status", "run_not_started");
    it_resp_free(&r);
    it_patchf(f->s, f->admin, etag, "{\"reason\": \"early\"}", &r, "/v1/programmes/%s", id);
    it_assert_problem(&r, 422);
    assert_true(it_names_field(&r, "reason"));
    it_resp_free(&r);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM programme_run WHERE id = $1::uuid"
                              " AND status = 'recruiting'",
                              id),
                     1);
    /* The licensing body back-dates it with a reason, which is kept and audited. */
    it_patchf(f->s, f->admin, etag,
              "{\"status\": \"running\", \"reason\": \"first session moved forward\"}", &r,
              "/v1/programmes/%s", id);
    it_assert_status(&r, 200);
    it_assert_strs(&r, IT_ROW("status", "running", "status_reason", "first session moved forward"));
    it_resp_free(&r);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_id = $1"
                              " AND after->>'status_reason' = 'first session moved forward'",
                              id),
                     1);
    free(etag);
    free(id);

    /* A run that has started becomes running, but completed only from ends_on. */
    body = run_body(NULL, loc, ids, m5, p60, ", \"status\": \"recruiting\"");
    id = create_run(f, a_org_admin, body);
    free(body);
    etag = etag_of(f, id);
    it_patchf(f->s, a_org_admin, etag, "{\"status\": \"running\"}", &r, "/v1/programmes/%s", id);
    it_assert_status(&r, 200);
    assert_true(json_is_null(json_object_get(r.json, "status_reason")));
    it_resp_free(&r);
    free(etag);
    etag = etag_of(f, id);
    it_patchf(f->s, a_org_admin, etag, "{\"status\": \"completed\"" FIGURES "}", &r,
              "/v1/programmes/%s", id);
    assert_only_rule(&r, "status", "run_not_ended");
    it_resp_free(&r);
    free(etag);
    free(id);

    /* A run that ends today may be recorded running, then completed, without a reason. */
    body = run_body(NULL, loc, ids, m90, today, ", \"status\": \"running\"");
    id = create_run(f, a_org_admin, body);
    free(body);
    etag = etag_of(f, id);
    it_patchf(f->s, a_org_admin, etag, "{\"status\": \"completed\"" FIGURES "}", &r,
              "/v1/programmes/%s", id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "completed");
    it_resp_free(&r);
    free(etag);
    free(id);
    /* A new run may not be running before it starts. */
    body = run_body(NULL, loc, ids, p10, p80, ", \"status\": \"running\"");
    it_post_json(f->s, "/v1/programmes", a_org_admin, body, &r);
    assert_only_rule(&r, "status", "run_not_started");
    it_resp_free(&r);
    free(body);

    free(a_org_admin);
    free(ids);
    free(loc);
    free(org);
}

/* Facilitators must be eligible from the run's start to its end: a3's accreditation ends
 * 2030-06-30, so a run to September names the day they stop being eligible. */
static void
test_eligible_for_the_whole_run(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *ids = ids2(&f->a1, &f->a3);
    char *body = run_body(NULL, f->loc_a, ids, START, "2030-09-30", "");
    long runs = count_runs(f);
    json_t *e;

    it_post_json(f->s, "/v1/programmes", f->a_admin, body, &r);
    assert_only_rule(&r, "facilitator_ids", "facilitator_not_eligible");
    e = it_find_rule(&r, "facilitator_not_eligible");
    assert_string_equal(it_jstr(e, "registration_number"), f->a3.number);
    assert_string_equal(it_jstr(e, "ineligible_from"), "2030-07-01");
    assert_string_equal(json_string_value(json_array_get(json_object_get(e, "reasons"), 0)),
                        "accreditation_lapsed");
    it_assert_contains(it_jstr(e, "detail"), "2030-07-01");
    it_resp_free(&r);
    assert_int_equal(count_runs(f), runs);
    free(body);
    /* Ending on the last day of the accreditation is fine. */
    body = run_body(NULL, f->loc_a, ids, START, "2030-06-30", "");
    free(create_run(f, f->a_admin, body));
    free(body);
    free(ids);
}

static void
test_completion_figures_rules(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *ids = ids2(&f->a1, &f->a2), *body, *id;
    static const char *const capacities[] = {"0", "9", "-1", NULL};
    const char *const *c;
    json_t *e;

    /* capacity_families out of range names its rule. */
    for (c = capacities; *c != NULL; c++) {
        body =
            it_fmt("{\"location_id\": \"%s\", \"facilitator_ids\": %s, \"variant\": \"standard\","
                   " \"starts_on\": \"%s\", \"ends_on\": \"%s\", \"capacity_families\": %s}",
                   f->loc_a, ids, START, END, *c);
        it_post_json(f->s, "/v1/programmes", f->a_admin, body, &r);
        it_assert_problem(&r, 422);
        e = it_find_rule(&r, "capacity_out_of_range");
        if (e == NULL) {
            it_resp_print(&r);
            fail_msg("capacity %s: no capacity_out_of_range", *c);
        }
        assert_string_equal(it_jstr(e, "field"), "capacity_families");
        it_resp_free(&r);
        free(body);
    }

    body = run_body(NULL, f->loc_a, ids, START, END, ", \"status\": \"recruiting\"");
    id = create_run(f, f->a_admin, body);
    patch_now(f, id, "{\"status\": \"running\", \"reason\": \"records a pilot\"}", &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    /* Each broken rule named: more families than places (6), fewer adults and children than
     * families. */
    patch_now(f, id,
              "{\"status\": \"completed\", \"reason\": \"ended early\", \"families_started\": 7,"
              " \"families_completed\": 7, \"adults\": 6, \"children\": 5, \"sessions_delivered\":"
              " 10, \"review_held\": true, \"reunion_held\": true}",
              &r);
    it_assert_problem(&r, 422);
    assert_int_equal(json_array_size(json_object_get(r.json, "errors")), 3);
    assert_string_equal(it_jstr(it_find_rule(&r, "started_exceeds_capacity"), "field"),
                        "families_started");
    assert_string_equal(it_jstr(it_find_rule(&r, "too_few_adults"), "field"), "adults");
    assert_string_equal(it_jstr(it_find_rule(&r, "too_few_children"), "field"), "children");
    it_resp_free(&r);
    patch_now(f, id,
              "{\"status\": \"completed\", \"reason\": \"ended early\", \"families_started\": 4,"
              " \"families_completed\": 4, \"adults\": 3, \"children\": 9, \"sessions_delivered\":"
              " 10, \"review_held\": true, \"reunion_held\": true}",
              &r);
    assert_only_rule(&r, "adults", "too_few_adults");
    it_resp_free(&r);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM programme_run WHERE id = $1::uuid"
                              " AND status = 'running' AND families_started IS NULL",
                              id),
                     1);
    /* Exactly one adult and one child a family, every place taken: accepted. */
    patch_now(f, id,
              "{\"status\": \"completed\", \"reason\": \"ended early\", \"families_started\": 6,"
              " \"families_completed\": 5, \"adults\": 6, \"children\": 6, \"sessions_delivered\":"
              " 11, \"review_held\": true, \"reunion_held\": true}",
              &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    /* Corrections are held to the same rules. */
    patch_now(f, id, "{\"children\": 5}", &r);
    assert_only_rule(&r, "children", "too_few_children");
    it_resp_free(&r);
    patch_now(f, id, "{\"families_started\": 9}", &r);
    it_assert_problem(&r, 422);
    assert_non_null(it_find_rule(&r, "started_exceeds_capacity"));
    it_resp_free(&r);
    free(id);
    free(body);
    free(ids);
}

/* Suspends or withdraws facilitator `x` through the API as the licensing body. */
static void
set_fac_status(struct fx *f, const struct fac *x, const char *status)
{
    char *path = it_fmt("/v1/facilitators/%s", x->id), *etag, *body;
    struct it_resp r;

    it_get(f->s, path, f->admin, &r);
    it_assert_status(&r, 200);
    etag = strdup(it_header(&r, "ETag"));
    it_resp_free(&r);
    body = it_fmt("{\"status\": \"%s\", \"reason\": \"conduct review\"}", status);
    it_expect_if(f->s, "PATCH", path, f->admin, etag, body, 200);
    free(body);
    free(etag);
    free(path);
}

/* The at_risk member of run `id` (as admin reads it), in `r`. */
static json_t *
at_risk_of(struct fx *f, const char *id, struct it_resp *r)
{
    it_getf(f->s, f->admin, r, "/v1/programmes/%s", id);
    it_assert_status(r, 200);
    assert_true(json_is_array(json_object_get(r->json, "at_risk")));
    return json_object_get(r->json, "at_risk");
}

/* 1 when the expiring report lists run `id` as at risk (with `number` as its reference). */
static int
report_lists(struct fx *f, const char *id, const char *number)
{
    struct it_resp r;
    json_t *item;
    size_t i;
    int found = 0;

    it_get(f->s, "/v1/reports/expiring?within_days=30", f->admin, &r);
    it_assert_status(&r, 200);
    json_array_foreach(json_object_get(r.json, "items"), i, item)
    {
        if (strcmp(it_jstr(item, "type"), "programme_at_risk") == 0
            && strcmp(it_jstr(item, "id"), id) == 0) {
            assert_string_equal(it_jstr(item, "reference"), number);
            assert_int_equal(json_array_size(json_object_get(item, "at_risk")), 1);
            found = 1;
        }
    }
    it_resp_free(&r);
    return found;
}

static void
test_runs_at_risk(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *org = create_org(f), *loc = make_loc(f, org, ""), *ids, *body, *run, *other, *done;
    char *patch;
    struct fac e1, e2, e3;
    json_t *risk;
    char sub[40];

    free(it_issue_licence(f->s, f->admin, org, "2024-01-01", "2099-12-31", "granted", "active",
                          NULL));
    make_fac(f, &e1, org, "accredited", "2099-12-31");
    make_fac(f, &e2, org, "accredited", "2099-12-31");
    make_fac(f, &e3, org, "accredited", "2099-12-31");
    IT_SQL_VALUE(sub, f->s,
                 "INSERT INTO webhook_subscription (organisation_id, url, events, secret)"
                 " VALUES ($1::uuid, 'https://hooks.example/at-risk', '{programme.at_risk}',"
                 " 'whsec_dGVzdA==') RETURNING id::text",
                 org);
    ids = ids2(&e1, &e2);
    body = run_body(org, loc, ids, START, END, "");
    run = create_run(f, f->admin, body);
    other = create_run(f, f->admin, body);
    done = create_run(f, f->admin, body);
    patch_now(f, done, "{\"status\": \"cancelled\"}", &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    risk = at_risk_of(f, run, &r);
    assert_int_equal(json_array_size(risk), 0);
    it_resp_free(&r);
    assert_false(report_lists(f, run, e1.number));

    /* Suspending e1 puts both open runs at risk, and tells the licensee once for each. */
    set_fac_status(f, &e1, "suspended");
    risk = at_risk_of(f, run, &r);
    assert_int_equal(json_array_size(risk), 1);
    assert_string_equal(it_jstr(json_array_get(risk, 0), "facilitator"), e1.number);
    assert_string_equal(it_jstr(json_array_get(risk, 0), "reason"), "suspended");
    it_resp_free(&r);
    risk = at_risk_of(f, done, &r);
    assert_int_equal(json_array_size(risk), 0);
    it_resp_free(&r);
    assert_int_equal(it_outbox_events(f->s, sub, "programme.at_risk"), 2);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM webhook_outbox WHERE subscription_id = $1::uuid"
                              " AND (body::jsonb)->>'type' = 'programme.at_risk'"
                              " AND (body::jsonb)->'data'->>'id' = $2"
                              " AND (body::jsonb)->'data'->'at_risk'->0->>'facilitator' = $3"
                              " AND (body::jsonb)->'data'->'at_risk'->0->>'reason' = 'suspended'",
                              sub, run, e1.number),
                     1);
    /* The list shows it too, and the licensing body's expiring report lists it. */
    assert_true(report_lists(f, run, e1.number));
    assert_true(report_lists(f, other, e1.number));
    assert_false(report_lists(f, done, e1.number));

    /* Withdrawn (from suspended) is at risk as well, and tells the licensee again. */
    set_fac_status(f, &e1, "withdrawn");
    risk = at_risk_of(f, run, &r);
    assert_string_equal(it_jstr(json_array_get(risk, 0), "reason"), "withdrawn");
    it_resp_free(&r);
    assert_int_equal(it_outbox_events(f->s, sub, "programme.at_risk"), 4);

    /* Replacing the facilitator clears it; so does cancelling. */
    patch = it_fmt("{\"facilitator_ids\": [\"%s\", \"%s\"]}", e2.id, e3.id);
    patch_now(f, run, patch, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "at_risk")), 0);
    it_resp_free(&r);
    free(patch);
    patch_now(f, other, "{\"status\": \"cancelled\"}", &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "at_risk")), 0);
    it_resp_free(&r);
    assert_false(report_lists(f, run, e1.number));
    assert_false(report_lists(f, other, e1.number));

    free(done);
    free(other);
    free(run);
    free(body);
    free(ids);
    free(loc);
    free(org);
}

static void
test_variants(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    json_t *items, *v;
    size_t i;
    int seen = 0;

    it_get(f->s, "/v1/programme-variants", f->a_staff, &r);
    it_assert_status(&r, 200);
    items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 4);
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    json_array_foreach(items, i, v)
    {
        assert_int_equal(json_object_size(v), 4);
        assert_non_null(it_jstr(v, "title"));
        if (strcmp(it_jstr(v, "code"), "standard") == 0) {
            assert_int_equal(json_integer_value(json_object_get(v, "sessions")), 11);
            assert_int_equal(json_integer_value(json_object_get(v, "min_facilitators")), 2);
            seen++;
        }
        if (strcmp(it_jstr(v, "code"), "aftercare") == 0) {
            assert_int_equal(json_integer_value(json_object_get(v, "sessions")), 6);
            assert_int_equal(json_integer_value(json_object_get(v, "min_facilitators")), 1);
            seen++;
        }
    }
    assert_int_equal(seen, 2);
    /* Ordered by code. */
    assert_string_equal(it_jstr(json_array_get(items, 0), "code"), "aftercare");
    it_resp_free(&r);
    {
        it_get_csv(f->s, "/v1/programme-variants", f->a_staff, &r);
        it_assert_status(&r, 200);
        it_assert_header(&r, "Content-Type", "text/csv");
        it_assert_contains(r.body, "code,title,sessions,min_facilitators");
        it_resp_free(&r);
    }
    it_expect(f->s, "GET", "/v1/programme-variants?limit=2", f->a_staff, NULL, 400);
    it_expect(f->s, "GET", "/v1/programme-variants", NULL, NULL, 401);
}

/* ---- If-Match and roles -------------------------------------------------------------------- */

static void
test_if_match(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *ids = ids2(&f->a1, &f->a2), *body = run_body(NULL, f->loc_a, ids, START, END, "");
    char *id = create_run(f, f->a_admin, body), *etag = etag_of(f, id);

    it_expectf(f->s, "PATCH", f->a_admin, NULL, "{\"families_enrolled\": 1}", 428,
               "/v1/programmes/%s", id);
    it_expectf(f->s, "PATCH", f->a_admin, "\"999\"", "{\"families_enrolled\": 1}", 412,
               "/v1/programmes/%s", id);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM programme_run WHERE id = $1::uuid"
                              " AND families_enrolled = 0",
                              id),
                     1);
    it_patchf(f->s, f->a_admin, etag, "{\"families_enrolled\": 1}", &r, "/v1/programmes/%s", id);
    it_assert_status(&r, 200);
    assert_string_not_equal(it_header(&r, "ETag"), etag);
    it_resp_free(&r);
    it_expectf(f->s, "PATCH", f->a_admin, etag, "{\"families_enrolled\": 2}", 412,
               "/v1/programmes/%s", id);
    free(etag);
    free(id);
    free(body);
    free(ids);
}

static void
test_roles(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *ids = ids2(&f->a1, &f->a2), *body = run_body(NULL, f->loc_a, ids, START, END, "");
    char *id = create_run(f, f->a_admin, body), *etag = etag_of(f, id), *b_body;
    long runs;

    /* org_staff read, never write. */
    it_expectf(f->s, "GET", f->a_staff, NULL, NULL, 200, "/v1/programmes/%s", id);
    it_expectf(f->s, "PATCH", f->a_staff, etag, "{\"families_enrolled\": 1}", 403,
               "/v1/programmes/%s", id);
    runs = count_runs(f);
    it_expect(f->s, "POST", "/v1/programmes", f->a_staff, body, 403);
    /* Another organisation's run is absent. */
    it_expectf(f->s, "GET", f->b_admin, NULL, NULL, 404, "/v1/programmes/%s", id);
    it_expectf(f->s, "PATCH", f->b_admin, etag, "{\"families_enrolled\": 1}", 404,
               "/v1/programmes/%s", id);
    it_expectf(f->s, "GET", f->admin, NULL, NULL, 404, "/v1/programmes/%s", NO_SUCH_ID);
    it_expectf(f->s, "GET", f->admin, NULL, NULL, 404, "/v1/programmes/%s", "nope");
    /* Scheduling for another organisation is refused as absent. */
    b_body = run_body(f->org_a, f->loc_a, ids, START, END, "");
    it_expect(f->s, "POST", "/v1/programmes", f->b_admin, b_body, 404);
    assert_int_equal(count_runs(f), runs);
    /* B's list holds none of A's runs, even when asked. */
    free(b_body);
    b_body = it_fmt("/v1/programmes?organisation_id=%s", f->org_a);
    it_expect_items(f->s, f->b_admin, 0, "%s", b_body);
    it_get(f->s, "/v1/programmes?limit=100", f->b_admin, &r);
    it_assert_status(&r, 200);
    it_assert_items_all(&r, "organisation_id", f->org_b);
    it_resp_free(&r);
    /* Admin changes any run. */
    it_patchf(f->s, f->admin, etag, "{\"accepting_referrals\": false}", &r, "/v1/programmes/%s",
              id);
    it_assert_status(&r, 200);
    assert_true(json_is_false(json_object_get(r.json, "accepting_referrals")));
    it_resp_free(&r);
    free(b_body);
    free(etag);
    free(id);
    free(body);
    free(ids);
}

/* ---- Lists --------------------------------------------------------------------------------- */

static void
test_list_filters_pages_and_csv(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *ids = ids2(&f->b1, &f->b1), *loc2 = make_loc(f, f->org_b, ""), *body, *path;
    char *cursor = NULL, *run_ids[6];
    struct fac b2;
    json_t *rows, *header;
    int i, seen = 0, pages = 0, c_id, c_status, c_facs, c_starts, c_vd;
    const char *prev = NULL;
    char last[16] = "";

    make_fac(f, &b2, f->org_b, "accredited", "2099-12-31");
    free(ids);
    ids = ids2(&f->b1, &b2);
    for (i = 0; i < 6; i++) {
        char starts[16], ends[16];
        snprintf(starts, sizeof(starts), "2031-0%d-01", i + 1);
        snprintf(ends, sizeof(ends), "2031-0%d-28", i + 1);
        body = run_body(NULL, i < 4 ? f->loc_b : loc2, ids, starts, ends, "");
        run_ids[i] = create_run(f, f->b_admin, body);
        free(body);
    }
    patch_now(f, run_ids[1], "{\"status\": \"recruiting\"}", &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);

    /* Pages of two in starts_on order, each run once. */
    do {
        json_t *item;
        size_t k;
        path = cursor != NULL ? it_fmt("/v1/programmes?limit=2&cursor=%s", cursor)
                              : it_fmt("/v1/programmes?limit=2");
        it_get(f->s, path, f->b_admin, &r);
        free(path);
        it_assert_status(&r, 200);
        json_array_foreach(json_object_get(r.json, "items"), k, item)
        {
            prev = it_jstr(item, "starts_on");
            assert_true(strcmp(prev, last) >= 0);
            snprintf(last, sizeof(last), "%s", prev);
            seen++;
        }
        free(cursor);
        cursor =
            it_json_str(&r, "next_cursor") != NULL ? strdup(it_json_str(&r, "next_cursor")) : NULL;
        it_resp_free(&r);
        pages++;
    } while (cursor != NULL && pages < 20);
    assert_int_equal(seen, it_count(f->s,
                                    "SELECT count(*) FROM programme_run"
                                    " WHERE organisation_id = $1::uuid",
                                    f->org_b));

    /* Filters. */
    it_get(f->s, "/v1/programmes?status=recruiting", f->b_admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_string_equal(it_jstr(json_array_get(json_object_get(r.json, "items"), 0), "id"),
                        run_ids[1]);
    it_resp_free(&r);
    it_expect_items(f->s, f->b_admin, 3, "%s", "/v1/programmes?from=2031-02-01&to=2031-04-01");
    path = it_fmt("/v1/programmes?location_id=%s", loc2);
    it_get(f->s, path, f->b_admin, &r);
    free(path);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 2);
    it_resp_free(&r);
    path = it_fmt("/v1/programmes?organisation_id=%s&from=2031-01-01&to=2031-12-31&limit=100",
                  f->org_b);
    it_get(f->s, path, f->admin, &r);
    free(path);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 6);
    it_resp_free(&r);
    /* Bad filters. */
    it_expect(f->s, "GET", "/v1/programmes?colour=red", f->admin, NULL, 400);
    it_expect(f->s, "GET", "/v1/programmes?from=tomorrow", f->admin, NULL, 400);
    it_expect(f->s, "GET", "/v1/programmes?status=done", f->admin, NULL, 400);
    it_expect(f->s, "GET", "/v1/programmes?location_id=x", f->admin, NULL, 400);
    it_expect(f->s, "GET", "/v1/programmes?cursor=bogus", f->admin, NULL, 400);

    /* CSV with the same filters, parsed back. */
    {
        it_get_csv(f->s, "/v1/programmes?from=2031-01-01&to=2031-12-31&limit=100", f->b_admin, &r);
    }
    rows = it_csv_answer(&r);
    assert_int_equal(json_array_size(rows), 7);
    header = json_array_get(rows, 0);
    c_id = (int)it_csv_col(rows, "id");
    c_status = (int)it_csv_col(rows, "status");
    c_facs = (int)it_csv_col(rows, "facilitators");
    c_starts = (int)it_csv_col(rows, "starts_on");
    c_vd = (int)it_csv_col(rows, "variant_details");
    assert_true(c_id >= 0 && c_status >= 0 && c_facs >= 0 && c_starts >= 0 && c_vd >= 0);
    for (i = 1; i < 7; i++) {
        json_t *row = json_array_get(rows, (size_t)i), *facs, *vd;
        char want[16];
        assert_int_equal(json_array_size(row), json_array_size(header));
        assert_string_equal(json_string_value(json_array_get(row, (size_t)c_id)), run_ids[i - 1]);
        snprintf(want, sizeof(want), "2031-0%d-01", i);
        assert_string_equal(json_string_value(json_array_get(row, (size_t)c_starts)), want);
        assert_string_equal(json_string_value(json_array_get(row, (size_t)c_status)),
                            i == 2 ? "recruiting" : "planned");
        facs = json_loads(json_string_value(json_array_get(row, (size_t)c_facs)), 0, NULL);
        assert_non_null(facs);
        assert_int_equal(json_array_size(facs), 2);
        assert_non_null(it_jstr(json_array_get(facs, 0), "registration_number"));
        json_decref(facs);
        vd = json_loads(json_string_value(json_array_get(row, (size_t)c_vd)), 0, NULL);
        assert_non_null(vd);
        assert_int_equal(json_integer_value(json_object_get(vd, "sessions")), 11);
        json_decref(vd);
    }
    json_decref(rows);
    it_resp_free(&r);
    for (i = 0; i < 6; i++) {
        free(run_ids[i]);
    }
    free(loc2);
    free(ids);
}

TEST_MAIN(group_setup,
          it_fx_teardown,
          cmocka_unit_test(test_accepted_run),
          cmocka_unit_test(test_each_rule_alone),
          cmocka_unit_test(test_all_rules_together),
          cmocka_unit_test(test_create_validation),
          cmocka_unit_test(test_recheck_on_patch),
          cmocka_unit_test(test_status_and_completion),
          cmocka_unit_test(test_cancel_when_licence_suspended),
          cmocka_unit_test(test_calendar),
          cmocka_unit_test(test_eligible_for_the_whole_run),
          cmocka_unit_test(test_completion_figures_rules),
          cmocka_unit_test(test_runs_at_risk),
          cmocka_unit_test(test_variants),
          cmocka_unit_test(test_if_match),
          cmocka_unit_test(test_roles),
          cmocka_unit_test(test_list_filters_pages_and_csv))
