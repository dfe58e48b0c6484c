/* it_eligibility.c: GET /v1/facilitators/{id}/eligibility?on=YYYY-MM-DD over HTTP: the verdict
 * for every reason code (not_accredited, accreditation_lapsed, suspended, withdrawn,
 * no_current_employer, employer_licence_not_active), reasons combined, answers for past dates
 * that differ from today's (the facilitator's status history and the employer's licence history
 * backdated with SQL), the query string (400s), who may ask, and 404s. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"
#include "registry/password.h"

#define ADMIN_EMAIL "admin@eligibility.example"
#define PASSWORD    "eligibility-test-password-1"
#define NO_SUCH_ID  "00000000-0000-4000-8000-000000000000"

struct fx {
    IT_FX_HEAD;
    char today[16];
    int orgs;
};

/* ---- Helpers ------------------------------------------------------------------------------- */

static char *
create_org(struct fx *f)
{
    char *body = it_fmt("{\"name\": \"Eligibility Org %d\", \"kind\": \"nhs\","
                        " \"address_lines\": [\"2 High Street\"], \"town\": \"Bath\","
                        " \"postcode\": \"BA1 1AA\"}",
                        ++f->orgs);
    char *id = it_create_org_json(f->s, f->admin, body, NULL);

    free(body);
    return id;
}

/* Moves every history row of licence `id` `days` days into the past. */
static void
backdate_licence(struct fx *f, const char *id, int days)
{
    char *n = it_fmt("%d", days);

    PQclear(it_sql(f->s,
                   "UPDATE licence_status_history SET changed_at = changed_at - make_interval("
                   "days => $2::int) WHERE licence_id = $1::uuid",
                   id, n));
    free(n);
}

/* A licensed organisation (active licence, history backdated 400 days). */
static char *
licensed_org(struct fx *f)
{
    char *org = create_org(f);
    char *lic =
        it_issue_licence(f->s, f->admin, org, "2020-01-01", "2099-12-31", "test", "active", NULL);

    backdate_licence(f, lic, 400);
    free(lic);
    return org;
}

/* Registers a facilitator (employed by `org` from `from` when org is not NULL). */
static struct it_fac
create_fac(struct fx *f, const char *org, const char *from)
{
    struct it_fac p;
    char *body;

    if (org == NULL) {
        body = strdup("{\"given_name\": \"Elle\", \"family_name\": \"Igible\","
                      " \"email\": \"elle@example.org\"}");
    } else if (from == NULL) {
        body = it_fmt("{\"given_name\": \"Elle\", \"family_name\": \"Igible\","
                      " \"email\": \"elle@example.org\", \"organisation_id\": \"%s\"}",
                      org);
    } else {
        body = it_fmt("{\"given_name\": \"Elle\", \"family_name\": \"Igible\","
                      " \"email\": \"elle@example.org\", \"organisation_id\": \"%s\","
                      " \"employed_from\": \"%s\"}",
                      org, from);
    }
    p = it_create_fac(f->s, f->admin, body);
    free(body);
    return p;
}

static void
patch_ok(struct fx *f, struct it_fac *p, const char *body)
{
    char *path = it_fmt("/v1/facilitators/%s", p->id);
    struct it_resp r;

    it_patch_json(f->s, path, f->admin, p->etag, body, &r);
    it_assert_status(&r, 200);
    it_renew_etag(&r, &p->etag);
    it_resp_free(&r);
    free(path);
}

static void
accredit(struct fx *f, struct it_fac *p)
{
    patch_ok(f, p, "{\"status\": \"accredited\", \"accredited_until\": \"2099-01-01\"}");
}

/* GET the eligibility of `ref` (on `on`, or today when NULL) with `token`. */
static void
ask(struct fx *f, const char *ref, const char *on, const char *token, struct it_resp *r)
{
    char *path = on != NULL ? it_fmt("/v1/facilitators/%s/eligibility?on=%s", ref, on)
                            : it_fmt("/v1/facilitators/%s/eligibility", ref);

    it_get(f->s, path, token, r);
    free(path);
}

/* Fails unless `r` is a 200 verdict with `eligible`, exactly the NULL-terminated reasons in
 * order, the status `status` (NULL: null) and the employer `org` (NULL: null). */
static void
assert_verdict(const struct it_resp *r, int eligible, const char *status, const char *org, ...)
{
    json_t *reasons;
    const char *want;
    size_t i = 0;
    va_list ap;

    it_assert_status(r, 200);
    if (json_is_true(json_object_get(r->json, "eligible")) != (eligible != 0)
        || !json_is_boolean(json_object_get(r->json, "eligible"))) {
        it_resp_print(r);
        fail_msg("eligible is not %d", eligible);
    }
    reasons = json_object_get(r->json, "reasons");
    assert_true(json_is_array(reasons));
    va_start(ap, org);
    while ((want = va_arg(ap, const char *)) != NULL) {
        if (i >= json_array_size(reasons)
            || strcmp(json_string_value(json_array_get(reasons, i)), want) != 0) {
            it_resp_print(r);
            va_end(ap);
            fail_msg("reason %zu is not %s", i, want);
        }
        i++;
    }
    va_end(ap);
    if (i != json_array_size(reasons)) {
        it_resp_print(r);
        fail_msg("more reasons than expected");
    }
    if (status == NULL) {
        assert_true(json_is_null(json_object_get(r->json, "status")));
    } else {
        assert_string_equal(it_jstr(r->json, "status"), status);
    }
    if (org == NULL) {
        assert_true(json_is_null(json_object_get(r->json, "organisation_id")));
    } else {
        assert_string_equal(it_jstr(r->json, "organisation_id"), org);
    }
    assert_non_null(it_jstr(r->json, "on"));
}

/* ---- Fixture ------------------------------------------------------------------------------- */

static int
group_setup(void **state)
{
    struct fx *f = it_fx_start(sizeof(*f), "eligibility", NULL, ADMIN_EMAIL, PASSWORD, IT_FX_HASH);

    it_day(f->s, 0, f->today, sizeof(f->today));
    *state = f;
    return 0;
}

/* ---- One reason at a time ------------------------------------------------------------------ */

static void
test_eligible(void **state)
{
    struct fx *f = *state;
    char *org = licensed_org(f);
    struct it_fac p = create_fac(f, org, NULL);
    struct it_resp r;

    accredit(f, &p);
    ask(f, p.id, NULL, f->admin, &r);
    assert_verdict(&r, 1, "accredited", org, NULL);
    assert_string_equal(it_jstr(r.json, "on"), f->today);
    it_resp_free(&r);
    /* By registration number, and on an explicit date. */
    ask(f, p.number, f->today, f->admin, &r);
    assert_verdict(&r, 1, "accredited", org, NULL);
    it_resp_free(&r);
    it_fac_free(&p);
    free(org);
}

static void
test_not_accredited(void **state)
{
    struct fx *f = *state;
    char *org = licensed_org(f);
    struct it_fac p = create_fac(f, org, NULL);
    struct it_resp r;

    ask(f, p.id, NULL, f->admin, &r);
    assert_verdict(&r, 0, "in_training", org, "not_accredited", NULL);
    it_resp_free(&r);
    /* Accredited from a future day: not yet. */
    patch_ok(f, &p,
             "{\"status\": \"accredited\", \"accredited_on\": \"2098-01-01\","
             " \"accredited_until\": \"2099-01-01\"}");
    ask(f, p.id, NULL, f->admin, &r);
    assert_verdict(&r, 0, "accredited", org, "not_accredited", NULL);
    it_resp_free(&r);
    it_fac_free(&p);
    free(org);
}

static void
test_accreditation_lapsed(void **state)
{
    struct fx *f = *state;
    char *org = licensed_org(f), *body, yesterday[16], before[16];
    struct it_fac p = create_fac(f, org, "2020-01-01");
    struct it_resp r;

    it_day(f->s, -1, yesterday, sizeof(yesterday));
    body = it_fmt("{\"status\": \"accredited\", \"accredited_on\": \"2020-01-01\","
                  " \"accredited_until\": \"%s\"}",
                  yesterday);
    patch_ok(f, &p, body);
    free(body);
    ask(f, p.id, NULL, f->admin, &r);
    assert_verdict(&r, 0, "lapsed", org, "accreditation_lapsed", NULL);
    assert_string_equal(it_jstr(r.json, "accredited_until"), yesterday);
    it_resp_free(&r);
    /* The same record read on the last day of its accreditation (history made effective then):
     * accredited. */
    it_day(f->s, -2, before, sizeof(before));
    PQclear(it_sql(f->s,
                   "UPDATE facilitator_status_history SET effective_on = $2::date"
                   " WHERE facilitator_id = $1::uuid",
                   p.id, before));
    ask(f, p.id, yesterday, f->admin, &r);
    assert_verdict(&r, 1, "accredited", org, NULL);
    it_resp_free(&r);
    it_fac_free(&p);
    free(org);
}

static void
test_suspended(void **state)
{
    struct fx *f = *state;
    char *org = licensed_org(f);
    struct it_fac p = create_fac(f, org, NULL);
    struct it_resp r;

    accredit(f, &p);
    patch_ok(f, &p, "{\"status\": \"suspended\", \"reason\": \"under review\"}");
    ask(f, p.id, NULL, f->admin, &r);
    assert_verdict(&r, 0, "suspended", org, "suspended", NULL);
    it_resp_free(&r);
    it_fac_free(&p);
    free(org);
}

static void
test_withdrawn(void **state)
{
    struct fx *f = *state;
    char *org = licensed_org(f);
    struct it_fac p = create_fac(f, org, NULL);
    struct it_resp r;

    accredit(f, &p);
    patch_ok(f, &p, "{\"status\": \"withdrawn\", \"reason\": \"struck off\"}");
    ask(f, p.id, NULL, f->admin, &r);
    assert_verdict(&r, 0, "withdrawn", org, "withdrawn", NULL);
    it_resp_free(&r);
    it_fac_free(&p);
    free(org);
}

static void
test_no_current_employer(void **state)
{
    struct fx *f = *state;
    char *org = licensed_org(f), past[16], *body;
    struct it_fac p = create_fac(f, NULL, NULL), q;
    struct it_resp r;

    accredit(f, &p);
    ask(f, p.id, NULL, f->admin, &r);
    assert_verdict(&r, 0, "accredited", NULL, "no_current_employer", NULL);
    it_resp_free(&r);

    /* Released by their employer: eligible while employed, not after. */
    q = create_fac(f, org, it_day(f->s, -30, past, sizeof(past)));
    body = it_fmt("{\"status\": \"accredited\", \"accredited_on\": \"%s\","
                  " \"accredited_until\": \"2099-01-01\"}",
                  past);
    patch_ok(f, &q, body);
    free(body);
    PQclear(it_sql(f->s,
                   "UPDATE facilitator_status_history SET effective_on = registry_today() - 30"
                   " WHERE facilitator_id = $1::uuid",
                   q.id));
    patch_ok(f, &q, "{\"organisation_id\": null}");
    ask(f, q.id, NULL, f->admin, &r);
    assert_verdict(&r, 0, "accredited", NULL, "no_current_employer", NULL);
    it_resp_free(&r);
    ask(f, q.id, it_day(f->s, -1, past, sizeof(past)), f->admin, &r);
    assert_verdict(&r, 1, "accredited", org, NULL);
    it_resp_free(&r);
    it_fac_free(&p);
    it_fac_free(&q);
    free(org);
}

static void
test_employer_licence_not_active(void **state)
{
    struct fx *f = *state;
    char *bare = create_org(f), *pend = create_org(f), *susp = create_org(f);
    char *expd = create_org(f), *lic, yesterday[16];
    const char *orgs[4];
    struct it_resp r;
    int i;

    /* No licence; a pending one; a suspended one; an active one past valid_until. */
    free(it_issue_licence(f->s, f->admin, pend, "2020-01-01", "2099-12-31", "test", NULL));
    lic = it_issue_licence(f->s, f->admin, susp, "2020-01-01", "2099-12-31", "test", "active",
                           "suspended", NULL);
    backdate_licence(f, lic, 10);
    free(lic);
    /* Activating a licence already past valid_until is refused, so it runs out by SQL. */
    lic =
        it_issue_licence(f->s, f->admin, expd, "2020-01-01", "2099-12-31", "test", "active", NULL);
    backdate_licence(f, lic, 10);
    it_day(f->s, -1, yesterday, sizeof(yesterday));
    PQclear(it_sql(f->s, "UPDATE licence SET valid_until = $2::date WHERE id = $1::uuid", lic,
                   yesterday));
    PQclear(it_sql(f->s,
                   "UPDATE licence_status_history SET valid_until = $2::date"
                   " WHERE licence_id = $1::uuid",
                   lic, yesterday));
    free(lic);
    orgs[0] = bare;
    orgs[1] = pend;
    orgs[2] = susp;
    orgs[3] = expd;
    for (i = 0; i < 4; i++) {
        struct it_fac p = create_fac(f, orgs[i], NULL);

        accredit(f, &p);
        ask(f, p.id, NULL, f->admin, &r);
        assert_verdict(&r, 0, "accredited", orgs[i], "employer_licence_not_active", NULL);
        it_resp_free(&r);
        it_fac_free(&p);
    }
    free(bare);
    free(pend);
    free(susp);
    free(expd);
}

static void
test_reasons_combine(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f);
    struct it_fac p = create_fac(f, NULL, NULL), q = create_fac(f, org, NULL);
    struct it_resp r;

    ask(f, p.id, NULL, f->admin, &r);
    assert_verdict(&r, 0, "in_training", NULL, "not_accredited", "no_current_employer", NULL);
    it_resp_free(&r);
    patch_ok(f, &q, "{\"status\": \"withdrawn\", \"reason\": \"left\"}");
    ask(f, q.id, NULL, f->admin, &r);
    assert_verdict(&r, 0, "withdrawn", org, "withdrawn", "employer_licence_not_active", NULL);
    it_resp_free(&r);
    it_fac_free(&p);
    it_fac_free(&q);
    free(org);
}

/* ---- Past dates ---------------------------------------------------------------------------- */

static void
test_past_differs_from_today(void **state)
{
    struct fx *f = *state;
    char *org = create_org(f), *lic;
    char d60[16], d30[16], d7[16], d90[16];
    struct it_fac p;
    struct it_resp r;

    it_day(f->s, -60, d60, sizeof(d60));
    it_day(f->s, -30, d30, sizeof(d30));
    it_day(f->s, -7, d7, sizeof(d7));
    it_day(f->s, -90, d90, sizeof(d90));
    /* Licensed since 60 days ago; employed since 60 days ago; in training from then,
     * accredited 30 days ago, suspended today. */
    lic = it_issue_licence(f->s, f->admin, org, "2020-01-01", "2099-12-31", "test", "active", NULL);
    backdate_licence(f, lic, 60);
    p = create_fac(f, org, d60);
    {
        char *body = it_fmt("{\"status\": \"accredited\", \"accredited_on\": \"%s\","
                            " \"accredited_until\": \"2099-01-01\"}",
                            d30);

        patch_ok(f, &p, body);
        free(body);
    }
    PQclear(it_sql(f->s,
                   "UPDATE facilitator_status_history SET effective_on = CASE status"
                   " WHEN 'in_training' THEN $2::date ELSE $3::date END"
                   " WHERE facilitator_id = $1::uuid",
                   p.id, d60, d30));
    patch_ok(f, &p, "{\"status\": \"suspended\", \"reason\": \"complaint received\"}");

    ask(f, p.id, NULL, f->admin, &r);
    assert_verdict(&r, 0, "suspended", org, "suspended", NULL);
    it_resp_free(&r);
    ask(f, p.id, d7, f->admin, &r);
    assert_verdict(&r, 1, "accredited", org, NULL);
    assert_string_equal(it_jstr(r.json, "on"), d7);
    it_resp_free(&r);
    /* Between joining and accreditation: in training. */
    it_day(f->s, -45, d7, sizeof(d7));
    ask(f, p.id, d7, f->admin, &r);
    assert_verdict(&r, 0, "in_training", org, "not_accredited", NULL);
    it_resp_free(&r);
    /* Before any of it: no status, no employer. */
    ask(f, p.id, d90, f->admin, &r);
    assert_verdict(&r, 0, NULL, NULL, "not_accredited", "no_current_employer", NULL);
    it_resp_free(&r);

    /* The employer's licence suspended today: eligible last week, not today (after the
     * facilitator is reinstated). */
    {
        struct it_resp g;
        char *path = it_fmt("/v1/licences/%s", lic);

        patch_ok(f, &p, "{\"status\": \"accredited\", \"reason\": \"cleared\"}");
        ask(f, p.id, NULL, f->admin, &r);
        assert_verdict(&r, 1, "accredited", org, NULL);
        it_resp_free(&r);
        it_get(f->s, path, f->admin, &g);
        it_assert_status(&g, 200);
        it_expect_if(f->s, "PATCH", path, f->admin, it_header(&g, "ETag"),
                     "{\"status\": \"suspended\", \"reason\": \"audit\"}", 200);
        it_resp_free(&g);
        free(path);
        ask(f, p.id, NULL, f->admin, &r);
        assert_verdict(&r, 0, "accredited", org, "employer_licence_not_active", NULL);
        it_resp_free(&r);
        it_day(f->s, -7, d7, sizeof(d7));
        /* Last week: accredited, and the licence was active. */
        ask(f, p.id, d7, f->admin, &r);
        assert_verdict(&r, 1, "accredited", org, NULL);
        it_resp_free(&r);
    }
    free(lic);
    it_fac_free(&p);
    free(org);
}

/* ---- Query string, who may ask, 404 -------------------------------------------------------- */

static void
test_requests(void **state)
{
    struct fx *f = *state;
    char *org = licensed_org(f), *other = create_org(f), *path;
    char *boss = it_fx_member(f, "org_admin", other), *staff = it_fx_member(f, "org_staff", other);
    struct it_fac p = create_fac(f, org, NULL);
    struct it_resp r;

    accredit(f, &p);
    path = it_fmt("/v1/facilitators/%s/eligibility?", p.id);
    it_expect_gets(f->s, f->admin, 400, path, "on=2025-02-30", "on=yesterday",
                   "on=", "on=2025-1-01", "when=2025-01-01", "on=2025-01-01&on=2025-01-02", NULL);
    free(path);
    /* Any licensee may ask about anyone: it is a status check. */
    ask(f, p.number, NULL, boss, &r);
    assert_verdict(&r, 1, "accredited", org, NULL);
    assert_null(json_object_get(r.json, "email"));
    it_resp_free(&r);
    ask(f, p.id, "2030-06-01", staff, &r);
    assert_verdict(&r, 1, "accredited", org, NULL);
    assert_string_equal(it_jstr(r.json, "on"), "2030-06-01");
    it_resp_free(&r);
    /* Unknown facilitators; no token. */
    ask(f, NO_SUCH_ID, NULL, f->admin, &r);
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    ask(f, "MPF-999999", NULL, boss, &r);
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    ask(f, "nobody", NULL, boss, &r);
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    ask(f, p.id, NULL, NULL, &r);
    it_assert_problem(&r, 401);
    it_resp_free(&r);
    /* Asking writes nothing. */
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_id = $1"
                              " AND action NOT IN ('create', 'update')",
                              p.id),
                     0);
    it_fac_free(&p);
    free(boss);
    free(staff);
    free(org);
    free(other);
}

/* ---- Asking for an organisation (issue 12, item 5) ----------------------------------------- */

static void
test_for_organisation(void **state)
{
    struct fx *f = *state;
    char *org = licensed_org(f), *other = licensed_org(f), *path;
    char *boss = it_fx_member(f, "org_admin", other), *staff = it_fx_member(f, "org_staff", org);
    struct it_fac p = create_fac(f, org, NULL), q = create_fac(f, org, NULL);
    struct it_resp r;

    accredit(f, &p);
    /* The licensing body asks for either organisation. */
    path = it_fmt("/v1/facilitators/%s/eligibility?organisation_id=%s", p.id, org);
    it_get(f->s, path, f->admin, &r);
    assert_verdict(&r, 1, "accredited", org, NULL);
    it_resp_free(&r);
    free(path);
    path = it_fmt("/v1/facilitators/%s/eligibility?organisation_id=%s", p.id, other);
    it_get(f->s, path, f->admin, &r);
    assert_verdict(&r, 0, "accredited", org, "employed_by_another_organisation", NULL);
    it_resp_free(&r);
    /* Another licensee asks for itself: employed by someone else. */
    it_get(f->s, path, boss, &r);
    assert_verdict(&r, 0, "accredited", org, "employed_by_another_organisation", NULL);
    it_resp_free(&r);
    free(path);
    path =
        it_fmt("/v1/facilitators/%s/eligibility?on=2030-01-01&organisation_id=%s", p.number, org);
    it_get(f->s, path, staff, &r); /* the employer's own staff, for their organisation */
    assert_verdict(&r, 1, "accredited", org, NULL);
    it_resp_free(&r);
    /* ...but not for another organisation: 403; a malformed one: 400. */
    it_expect(f->s, "GET", path, boss, NULL, 403);
    free(path);
    path = it_fmt("/v1/facilitators/%s/eligibility?organisation_id=not-a-uuid", p.id);
    it_expect(f->s, "GET", path, f->admin, NULL, 400);
    free(path);
    /* Someone in training elsewhere is not in a licensee's view (not on the register): 404. Their
     * own organisation and the licensing body still ask. */
    ask(f, q.id, NULL, boss, &r);
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    ask(f, q.id, NULL, staff, &r);
    assert_verdict(&r, 0, "in_training", org, "not_accredited", NULL);
    it_resp_free(&r);
    ask(f, q.id, NULL, f->admin, &r);
    assert_verdict(&r, 0, "in_training", org, "not_accredited", NULL);
    it_resp_free(&r);
    it_fac_free(&p);
    it_fac_free(&q);
    free(boss);
    free(staff);
    free(org);
    free(other);
}

/* ---- Effective dates (issue 12, item 4) ----------------------------------------------------- */

/* PATCHes facilitator `p` as admin with `body` and expects a 422 naming `field`. */
static void
patch_422(struct fx *f, struct it_fac *p, const char *body, const char *field)
{
    char *path = it_fmt("/v1/facilitators/%s", p->id);
    struct it_resp r;

    it_patch_json(f->s, path, f->admin, p->etag, body, &r);
    it_assert_field_error(&r, field);
    it_resp_free(&r);
    free(path);
}

static void
test_effective_dates(void **state)
{
    struct fx *f = *state;
    char *org = licensed_org(f), *body, *lic, *lpath, *etag;
    char d2[16], d3[16], d4[16], d5[16], d10[16], d15[16], d30[16], d400[16], p5[16], p6[16];
    struct it_fac p = create_fac(f, org, it_day(f->s, -30, d30, sizeof(d30)));
    struct it_resp r;

    it_day(f->s, -2, d2, sizeof(d2));
    it_day(f->s, -3, d3, sizeof(d3));
    it_day(f->s, -4, d4, sizeof(d4));
    it_day(f->s, -5, d5, sizeof(d5));
    it_day(f->s, -10, d10, sizeof(d10));
    it_day(f->s, -15, d15, sizeof(d15));
    it_day(f->s, -400, d400, sizeof(d400));
    it_day(f->s, 5, p5, sizeof(p5));
    it_day(f->s, 6, p6, sizeof(p6));
    /* Registered 30 days ago; the course outcome, accredited from 10 days ago, recorded today:
     * accredited from that day on (the old code answered not_accredited until today). */
    PQclear(it_sql(f->s,
                   "UPDATE facilitator_status_history SET effective_on = $2::date"
                   " WHERE facilitator_id = $1::uuid",
                   p.id, d30));
    body = it_fmt("{\"status\": \"accredited\", \"accredited_on\": \"%s\","
                  " \"accredited_until\": \"2099-01-01\"}",
                  d10);
    patch_ok(f, &p, body);
    free(body);
    ask(f, p.id, d5, f->admin, &r);
    assert_verdict(&r, 1, "accredited", org, NULL);
    it_resp_free(&r);
    ask(f, p.id, d15, f->admin, &r);
    assert_verdict(&r, 0, "in_training", org, "not_accredited", NULL);
    it_resp_free(&r);

    /* effective_on: only with a status change, within REGISTRY_BACKDATE_MAX_DAYS (365), not
     * before the last change took effect. Nothing written. */
    body = it_fmt("{\"given_name\": \"Elin\", \"effective_on\": \"%s\"}", d3);
    patch_422(f, &p, body, "effective_on");
    free(body);
    body = it_fmt("{\"status\": \"suspended\", \"reason\": \"x\", \"effective_on\": \"%s\"}", d400);
    patch_422(f, &p, body, "effective_on");
    free(body);
    body = it_fmt("{\"status\": \"suspended\", \"reason\": \"x\", \"effective_on\": \"%s\"}", d15);
    patch_422(f, &p, body, "effective_on");
    free(body);
    patch_422(f, &p, "{\"status\": \"suspended\", \"reason\": \"x\", \"effective_on\": \"soon\"}",
              "effective_on");

    /* Suspended from three days ago: the verdict for the days since reads suspended. */
    body = it_fmt(
        "{\"status\": \"suspended\", \"reason\": \"complaint\", \"effective_on\": \"%s\"}", d3);
    patch_ok(f, &p, body);
    free(body);
    ask(f, p.id, d2, f->admin, &r);
    assert_verdict(&r, 0, "suspended", org, "suspended", NULL);
    it_resp_free(&r);
    ask(f, p.id, d4, f->admin, &r);
    assert_verdict(&r, 1, "accredited", org, NULL);
    it_resp_free(&r);

    /* Reinstated from five days ahead: scheduled. Suspended until then, accredited after. */
    body = it_fmt("{\"status\": \"accredited\", \"effective_on\": \"%s\"}", p5);
    {
        char *path = it_fmt("/v1/facilitators/%s", p.id);

        it_patch_json(f->s, path, f->admin, p.etag, body, &r);
        it_assert_status(&r, 200);
        assert_string_equal(it_json_str(&r, "status"), "suspended");
        it_renew_etag(&r, &p.etag);
        it_resp_free(&r);
        free(path);
    }
    free(body);
    ask(f, p.id, NULL, f->admin, &r);
    assert_verdict(&r, 0, "suspended", org, "suspended", NULL);
    it_resp_free(&r);
    ask(f, p.id, p6, f->admin, &r);
    assert_verdict(&r, 1, "accredited", org, NULL);
    it_resp_free(&r);
    assert_int_equal(
        it_count(f->s,
                 "SELECT count(*) FROM facilitator_status_history"
                 " WHERE facilitator_id = $1::uuid AND scheduled AND effective_on = $2",
                 p.id, p5),
        1);
    /* The day comes (moved here by SQL): the next change to them applies it first. */
    PQclear(it_sql(f->s,
                   "UPDATE facilitator_status_history SET effective_on = registry_today()"
                   " WHERE facilitator_id = $1::uuid AND scheduled",
                   p.id));
    {
        char *path = it_fmt("/v1/facilitators/%s", p.id);

        it_patch_json(f->s, path, f->admin, "*", "{\"given_name\": \"Elin\"}", &r);
        it_assert_status(&r, 200);
        it_assert_strs(&r, IT_ROW("status", "accredited", "given_name", "Elin"));
        it_renew_etag(&r, &p.etag);
        it_resp_free(&r);
        free(path);
    }
    /* A change scheduled and then overtaken by another change is dropped. */
    body = it_fmt("{\"status\": \"withdrawn\", \"reason\": \"retiring\", \"effective_on\": \"%s\"}",
                  p5);
    patch_ok(f, &p, body);
    free(body);
    patch_ok(f, &p, "{\"status\": \"suspended\", \"reason\": \"complaint\"}");
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM facilitator_status_history"
                              " WHERE facilitator_id = $1::uuid AND scheduled",
                              p.id),
                     0);
    it_fac_free(&p);

    /* Licences: suspended from five days ago, the employer's staff were not eligible since. */
    p = create_fac(f, org, d30);
    PQclear(it_sql(f->s,
                   "UPDATE facilitator_status_history SET effective_on = $2::date"
                   " WHERE facilitator_id = $1::uuid",
                   p.id, d30));
    body = it_fmt("{\"status\": \"accredited\", \"accredited_on\": \"%s\","
                  " \"accredited_until\": \"2099-01-01\"}",
                  d30);
    patch_ok(f, &p, body);
    free(body);
    {
        PGresult *res = it_sql(
            f->s, "SELECT id::text, version FROM licence WHERE organisation_id = $1::uuid", org);

        lic = strdup(PQgetvalue(res, 0, 0));
        etag = it_fmt("\"%s\"", PQgetvalue(res, 0, 1));
        PQclear(res);
    }
    lpath = it_fmt("/v1/licences/%s", lic);
    body = it_fmt("{\"status\": \"suspended\", \"reason\": \"audit\", \"effective_on\": \"%s\"}",
                  d400);
    it_expect_field_if(f->s, "PATCH", lpath, f->admin, etag, body, "effective_on");
    free(body);
    body =
        it_fmt("{\"status\": \"suspended\", \"reason\": \"audit\", \"effective_on\": \"%s\"}", d5);
    it_patch_json(f->s, lpath, f->admin, etag, body, &r);
    it_assert_status(&r, 200);
    it_renew_etag(&r, &etag);
    it_resp_free(&r);
    free(body);
    ask(f, p.id, d3, f->admin, &r);
    assert_verdict(&r, 0, "accredited", org, "employer_licence_not_active", NULL);
    it_resp_free(&r);
    ask(f, p.id, d10, f->admin, &r);
    assert_verdict(&r, 1, "accredited", org, NULL);
    it_resp_free(&r);
    /* Reactivated from five days ahead: scheduled; the licence reads suspended until then. */
    body = it_fmt(
        "{\"status\": \"active\", \"reason\": \"audit passed\", \"effective_on\": \"%s\"}", p5);
    it_patch_json(f->s, lpath, f->admin, etag, body, &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "suspended");
    it_resp_free(&r);
    free(body);
    ask(f, p.id, NULL, f->admin, &r);
    assert_verdict(&r, 0, "accredited", org, "employer_licence_not_active", NULL);
    it_resp_free(&r);
    ask(f, p.id, p6, f->admin, &r);
    assert_verdict(&r, 1, "accredited", org, NULL);
    it_resp_free(&r);
    /* The daily job's function gives the licence its change on the day. */
    PQclear(it_sql(f->s,
                   "UPDATE licence_status_history SET effective_on = registry_today()"
                   " WHERE licence_id = $1::uuid AND scheduled",
                   lic));
    assert_int_equal(it_count(f->s, "SELECT registry_apply_scheduled()"), 1);
    it_get(f->s, lpath, f->admin, &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "active");
    it_resp_free(&r);

    free(lpath);
    free(lic);
    free(etag);
    it_fac_free(&p);
    free(org);
}

TEST_MAIN(group_setup,
          it_fx_teardown,
          cmocka_unit_test(test_eligible),
          cmocka_unit_test(test_not_accredited),
          cmocka_unit_test(test_accreditation_lapsed),
          cmocka_unit_test(test_suspended),
          cmocka_unit_test(test_withdrawn),
          cmocka_unit_test(test_no_current_employer),
          cmocka_unit_test(test_employer_licence_not_active),
          cmocka_unit_test(test_reasons_combine),
          cmocka_unit_test(test_past_differs_from_today),
          cmocka_unit_test(test_requests),
          cmocka_unit_test(test_for_organisation),
          cmocka_unit_test(test_effective_dates))
