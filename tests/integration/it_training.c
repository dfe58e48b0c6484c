/* it_training.c: /v1/training-sessions and their enrolments over HTTP against the real server
 * and PostgreSQL: sessions (create, every validation error with nothing written, trainers that
 * may not train named one by one, If-Match 428/412, final statuses, filters, pages, CSV),
 * enrolments (who may nominate whom, duplicates, capacity, the last-place race between two
 * requests, withdrawal and re-enrolment, what licensees may see) and outcomes: a practitioner
 * pass accrediting, a refresher pass extending, a trainer pass granting trainer status, each
 * with its facilitator row, history row and audit rows, and outcomes refused to an org_admin
 * and to suspended or unaccredited facilitators. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"
#include "registry/password.h"

#define ADMIN_EMAIL "admin@training.example"
#define PASSWORD    "training-test-password-1"
#define NO_SUCH_ID  "00000000-0000-4000-8000-000000000000"
#define RACE_ROUNDS 6

struct fx {
    IT_FX_HEAD;
    char *a_admin;               /* org_admin of organisation A */
    char *a_staff;               /* org_staff of organisation A */
    char *b_admin;               /* org_admin of organisation B */
    char org_a[40], org_b[40];   /* organisation ids */
    char prac[40], refr[40];     /* practitioner (36 months), refresher (24 months) courses */
    char trnr[40], inactive[40]; /* trainer course, inactive practitioner course */
    int people;                  /* facilitators made so far, for unique names */
};

/* ---- Helpers ------------------------------------------------------------------------------- */

static long
jint(const struct it_resp *r, const char *key)
{
    return (long)json_integer_value(json_object_get(r->json, key));
}

/* Rows any write in this room would add or change. */
static long
writes(struct fx *f)
{
    return it_count(f->s, "SELECT (SELECT count(*) FROM training_session)"
                          " + (SELECT coalesce(sum(version), 0) FROM training_session)"
                          " + (SELECT count(*) FROM training_session_trainer)"
                          " + (SELECT count(*) FROM enrolment)"
                          " + (SELECT coalesce(sum(version), 0) FROM enrolment)"
                          " + (SELECT coalesce(sum(version), 0) FROM facilitator)"
                          " + (SELECT count(*) FROM facilitator_status_history)"
                          " + (SELECT count(*) FROM audit_event)");
}

static void
create_org(struct fx *f, const char *name, char *out)
{
    char *id = it_create_org(f->s, f->admin, NULL, NULL, "%s", name);

    snprintf(out, 40, "%s", id);
    free(id);
}

static void
create_course(struct fx *f, const char *body, char *out)
{
    struct it_resp r;

    it_post_json(f->s, "/v1/courses", f->admin, body, &r);
    it_assert_status(&r, 201);
    snprintf(out, 40, "%s", it_json_str(&r, "id"));
    it_resp_free(&r);
}

/* Inserts a facilitator with SQL, as the facilitators room would: stored `status`, trainer
 * flag, accreditation dates (NULL for none), a history row and, when `org` is not NULL, a
 * current employment there. Returns the id (malloc'd). */
static char *
make_fac(struct fx *f,
         const char *status,
         const char *org,
         int trainer,
         const char *on,
         const char *until)
{
    char *family = it_fmt("Person %d", ++f->people);
    char *id = it_sql_text(f->s,
                           "INSERT INTO facilitator (given_name, family_name, status, trainer,"
                           " accredited_on, accredited_until)"
                           " VALUES ('Test', $1, $2, $3::boolean, $4::date, $5::date)"
                           " RETURNING id::text",
                           family, status, trainer ? "true" : "false", on, until);
    PQclear(it_sql(f->s,
                   "INSERT INTO facilitator_status_history (facilitator_id, status,"
                   " accredited_on, accredited_until, reason, effective_on)"
                   " VALUES ($1::uuid, $2, $3::date, $4::date, 'set up', '2020-01-01')",
                   id, status, on, until));
    if (org != NULL) {
        PQclear(it_sql(f->s,
                       "INSERT INTO facilitator_employment (facilitator_id, organisation_id,"
                       " started_on) VALUES ($1::uuid, $2::uuid, '2020-01-01')",
                       id, org));
    }
    free(family);
    return id;
}

/* Creates a session of `course` on the dates with `capacity`, at a venue, with `trainers` (a
 * JSON array, or NULL); expects 201. */
static struct it_made
create_session(struct fx *f,
               const char *course,
               const char *starts,
               const char *ends,
               int capacity,
               const char *trainers)
{
    char *body =
        it_fmt("{\"course_id\": \"%s\", \"starts_on\": \"%s\", \"ends_on\": \"%s\","
               " \"venue\": \"Guildhall, Bath\", \"capacity\": %d%s%s}",
               course, starts, ends, capacity, trainers != NULL ? ", \"trainer_ids\": " : "",
               trainers != NULL ? trainers : "");
    struct it_resp r;
    struct it_made x;

    it_post_json(f->s, "/v1/training-sessions", f->admin, body, &r);
    it_assert_status(&r, 201);
    x.id = strdup(it_json_str(&r, "id"));
    x.etag = strdup(it_header(&r, "ETag"));
    it_resp_free(&r);
    free(body);
    return x;
}

/* Moves session `sid` to the given dates with SQL, past ones included: a session that has ended
 * takes no enrolments, so a test enrols first and then lets the session end. */
static void
backdate(struct fx *f, const char *sid, const char *starts, const char *ends)
{
    PQclear(it_sql(f->s,
                   "UPDATE training_session SET starts_on = $2::date, ends_on = $3::date"
                   " WHERE id = $1::uuid",
                   sid, starts, ends));
}

static void
post_enrolment(struct fx *f, const char *sid, const char *token, const char *fid, struct it_resp *r)
{
    char *path = it_fmt("/v1/training-sessions/%s/enrolments", sid);
    char *body = it_fmt("{\"facilitator_id\": \"%s\"}", fid);

    it_post_json(f->s, path, token, body, r);
    free(body);
    free(path);
}

/* Enrols `fid` as `token` and expects 201. */
static struct it_made
enrol(struct fx *f, const char *sid, const char *token, const char *fid)
{
    struct it_resp r;
    struct it_made x;

    post_enrolment(f, sid, token, fid, &r);
    it_assert_status(&r, 201);
    x.id = strdup(it_json_str(&r, "id"));
    x.etag = strdup(it_header(&r, "ETag"));
    it_resp_free(&r);
    return x;
}

/* PATCHes enrolment `e` to `status` as admin, expects 200 and keeps the new ETag. */
static void
set_status(struct fx *f, const char *sid, struct it_made *e, const char *status)
{
    char *body = it_fmt("{\"status\": \"%s\"}", status);
    struct it_resp r;

    it_patchf(f->s, f->admin, e->etag, body, &r, "/v1/training-sessions/%s/enrolments/%s", sid,
              e->id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), status);
    it_renew_etag(&r, &e->etag);
    it_resp_free(&r);
    free(body);
}

/* One column of facilitator `id` as text ("" for NULL), into buf. */
static const char *
fac_value(struct fx *f, const char *id, const char *column, char *buf, size_t len)
{
    char *sql =
        it_fmt("SELECT coalesce(%s::text, '') FROM facilitator WHERE id = $1::uuid", column);
    PGresult *res = it_sql(f->s, sql, id);

    assert_int_equal(PQntuples(res), 1);
    snprintf(buf, len, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    free(sql);
    return buf;
}

/* ---- Fixture ------------------------------------------------------------------------------- */

static int
group_setup(void **state)
{
    struct fx *f =
        it_fx_start(sizeof(*f), "training", NULL, ADMIN_EMAIL, PASSWORD, IT_FX_ID | IT_FX_HASH);

    create_org(f, "Training Org A", f->org_a);
    create_org(f, "Training Org B", f->org_b);
    f->a_admin = it_fx_user(f, "boss-a@training.example", "org_admin", f->org_a);
    f->a_staff = it_fx_user(f, "staff-a@training.example", "org_staff", f->org_a);
    f->b_admin = it_fx_user(f, "boss-b@training.example", "org_admin", f->org_b);
    create_course(f,
                  "{\"code\": \"PRAC\", \"title\": \"Practitioner\", \"kind\": \"practitioner\","
                  " \"accrediting_body\": \"University of Bath\"}",
                  f->prac);
    create_course(f,
                  "{\"code\": \"REFR\", \"title\": \"Refresher\", \"kind\": \"refresher\","
                  " \"grants_months\": 24}",
                  f->refr);
    create_course(f, "{\"code\": \"TRNR\", \"title\": \"Trainer\", \"kind\": \"trainer\"}",
                  f->trnr);
    create_course(f,
                  "{\"code\": \"OLD\", \"title\": \"Old\", \"kind\": \"practitioner\","
                  " \"active\": false}",
                  f->inactive);
    *state = f;
    return 0;
}

/* ---- Sessions ------------------------------------------------------------------------------ */

static void
test_session_create(void **state)
{
    struct fx *f = *state;
    char *trainer = make_fac(f, "accredited", f->org_a, 1, "2024-01-01", "2099-01-01");
    char *trainers = it_fmt("[\"%s\"]", trainer), *loc_path, *body, *loc;
    struct it_made s = create_session(f, f->prac, "2099-03-01", "2099-03-03", 12, trainers);
    struct it_resp r, g;

    it_getf(f->s, f->a_staff, &r, "/v1/training-sessions/%s", s.id);
    it_assert_status(&r, 200);
    assert_string_equal(it_header(&r, "ETag"), s.etag);
    it_assert_strs(&r, IT_ROW("course_id", f->prac, "course_code", "PRAC", "course_kind",
                              "practitioner", "starts_on", "2099-03-01", "ends_on", "2099-03-03",
                              "venue", "Guildhall, Bath"));
    assert_true(json_is_null(json_object_get(r.json, "location_id")));
    assert_string_equal(it_json_str(&r, "status"), "scheduled");
    assert_int_equal(jint(&r, "capacity"), 12);
    assert_int_equal(jint(&r, "enrolled"), 0);
    assert_int_equal(jint(&r, "places_left"), 12);
    assert_int_equal(json_array_size(json_object_get(r.json, "trainer_ids")), 1);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(r.json, "trainer_ids"), 0)), trainer);
    assert_null(json_object_get(r.json, "_version"));
    it_get(f->s, "/v1/training-sessions/not-a-uuid", f->admin, &g);
    it_assert_problem(&g, 404);
    it_resp_free(&g);
    it_get(f->s, "/v1/training-sessions/" NO_SUCH_ID, f->admin, &g);
    it_assert_problem(&g, 404);
    it_resp_free(&g);
    it_resp_free(&r);

    it_assert_row(f->s, IT_ROW("create", "PRAC"),
                  "SELECT action, after->>'course_code' FROM audit_event"
                  " WHERE resource_type = 'training_session' AND resource_id = $1",
                  s.id);

    /* A delivery location instead of a venue. */
    loc = it_sql_text(
        f->s,
        "INSERT INTO location (organisation_id, name, kind, address_lines, town, postcode)"
        " VALUES ($1::uuid, 'Family Centre', 'family_centre', '[\"2 Mill Lane\"]',"
        " 'Bath', 'BA2 3AB') RETURNING id::text",
        f->org_a);
    body = it_fmt("{\"course_id\": \"%s\", \"starts_on\": \"2099-04-01\","
                  " \"ends_on\": \"2099-04-01\", \"location_id\": \"%s\", \"capacity\": 1,"
                  " \"status\": \"scheduled\"}",
                  f->prac, loc);
    it_post_json(f->s, "/v1/training-sessions", f->admin, body, &r);
    it_assert_status(&r, 201);
    loc_path = it_fmt("/v1/training-sessions/%s", it_json_str(&r, "id"));
    it_assert_header(&r, "Location", loc_path);
    assert_string_equal(it_json_str(&r, "location_id"), loc);
    assert_true(json_is_null(json_object_get(r.json, "venue")));
    assert_int_equal(json_array_size(json_object_get(r.json, "trainer_ids")), 0);
    it_resp_free(&r);
    free(loc_path);
    free(body);

    /* Licensees read but do not schedule. */
    it_expect(f->s, "POST", "/v1/training-sessions", f->a_admin, "{}", 403);
    free(loc);
    free(trainers);
    free(trainer);
    it_made_free(&s);
}

static void
test_session_validation(void **state)
{
    struct fx *f = *state;
    char *plain = make_fac(f, "accredited", f->org_a, 0, "2024-01-01", "2099-01-01");
    char *suspended = make_fac(f, "suspended", f->org_a, 1, "2024-01-01", "2099-01-01");
    char *withdrawn = make_fac(f, "withdrawn", NULL, 1, NULL, NULL);
    char *good = make_fac(f, "accredited", NULL, 1, "2024-01-01", "2099-01-01");
    char *loc_off, *loc_gone, *body;
    struct {
        char *body;
        const char *field;
    } cases[24];
    size_t n = 0, i;
    struct it_resp r;
    long before;

#define CASE(field_, ...) (cases[n].body = it_fmt(__VA_ARGS__), cases[n++].field = (field_))
    loc_off = it_sql_text(
        f->s,
        "INSERT INTO location (organisation_id, name, kind, address_lines, town, postcode,"
        " active) VALUES ($1::uuid, 'Closed', 'community', '[\"3 Lane\"]', 'Bath',"
        " 'BA2 3AB', false) RETURNING id::text",
        f->org_a);
    loc_gone = it_sql_text(
        f->s,
        "INSERT INTO location (organisation_id, name, kind, address_lines, town, postcode,"
        " archived_at) VALUES ($1::uuid, 'Gone', 'community', '[\"4 Lane\"]', 'Bath',"
        " 'BA2 3AB', now()) RETURNING id::text",
        f->org_a);

    CASE("course_id", "{\"starts_on\": \"2099-01-01\", \"ends_on\": \"2099-01-02\","
                      " \"venue\": \"V\", \"capacity\": 5}");
    CASE("course_id", "{\"course_id\": \"x\", \"starts_on\": \"2099-01-01\","
                      " \"ends_on\": \"2099-01-02\", \"venue\": \"V\", \"capacity\": 5}");
    CASE("course_id",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\","
         " \"ends_on\": \"2099-01-02\", \"venue\": \"V\", \"capacity\": 5}",
         NO_SUCH_ID);
    CASE("course_id",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\","
         " \"ends_on\": \"2099-01-02\", \"venue\": \"V\", \"capacity\": 5}",
         f->inactive);
    CASE("starts_on",
         "{\"course_id\": \"%s\", \"ends_on\": \"2099-01-02\", \"venue\": \"V\","
         " \"capacity\": 5}",
         f->prac);
    CASE("starts_on",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-02-30\","
         " \"ends_on\": \"2099-03-02\", \"venue\": \"V\", \"capacity\": 5}",
         f->prac);
    CASE("ends_on",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\", \"venue\": \"V\","
         " \"capacity\": 5}",
         f->prac);
    CASE("ends_on",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-02\","
         " \"ends_on\": \"2099-01-01\", \"venue\": \"V\", \"capacity\": 5}",
         f->prac);
    CASE("venue",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\","
         " \"ends_on\": \"2099-01-02\", \"capacity\": 5}",
         f->prac);
    CASE("venue",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\","
         " \"ends_on\": \"2099-01-02\", \"venue\": \"\", \"capacity\": 5}",
         f->prac);
    CASE("location_id",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\","
         " \"ends_on\": \"2099-01-02\", \"location_id\": \"%s\", \"capacity\": 5}",
         f->prac, NO_SUCH_ID);
    CASE("location_id",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\","
         " \"ends_on\": \"2099-01-02\", \"location_id\": \"%s\", \"capacity\": 5}",
         f->prac, loc_off);
    CASE("location_id",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\","
         " \"ends_on\": \"2099-01-02\", \"location_id\": \"%s\", \"capacity\": 5}",
         f->prac, loc_gone);
    CASE("capacity",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\","
         " \"ends_on\": \"2099-01-02\", \"venue\": \"V\"}",
         f->prac);
    CASE("capacity",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\","
         " \"ends_on\": \"2099-01-02\", \"venue\": \"V\", \"capacity\": 0}",
         f->prac);
    CASE("capacity",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\","
         " \"ends_on\": \"2099-01-02\", \"venue\": \"V\", \"capacity\": 201}",
         f->prac);
    CASE("status",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\","
         " \"ends_on\": \"2099-01-02\", \"venue\": \"V\", \"capacity\": 5,"
         " \"status\": \"completed\"}",
         f->prac);
    CASE("trainer_ids",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\","
         " \"ends_on\": \"2099-01-02\", \"venue\": \"V\", \"capacity\": 5,"
         " \"trainer_ids\": [\"nope\"]}",
         f->prac);
    CASE("trainer_ids",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\","
         " \"ends_on\": \"2099-01-02\", \"venue\": \"V\", \"capacity\": 5,"
         " \"trainer_ids\": [\"%s\", \"%s\"]}",
         f->prac, good, good);
    CASE("trainer_ids",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\","
         " \"ends_on\": \"2099-01-02\", \"venue\": \"V\", \"capacity\": 5,"
         " \"trainer_ids\": \"%s\"}",
         f->prac, good);
    CASE("room",
         "{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\","
         " \"ends_on\": \"2099-01-02\", \"venue\": \"V\", \"capacity\": 5, \"room\": 1}",
         f->prac);
#undef CASE

    before = writes(f);
    for (i = 0; i < n; i++) {
        it_post_json(f->s, "/v1/training-sessions", f->admin, cases[i].body, &r);
        it_assert_field_error(&r, cases[i].field);
        it_resp_free(&r);
        free(cases[i].body);
    }

    /* Each trainer that may not train is named on its own; the good one is not. */
    body = it_fmt("{\"course_id\": \"%s\", \"starts_on\": \"2099-01-01\", \"ends_on\": "
                  "\"2099-01-02\", \"venue\": \"V\", \"capacity\": 5,"
                  " \"trainer_ids\": [\"%s\", \"%s\", \"%s\", \"%s\", \"%s\"]}",
                  f->prac, good, plain, suspended, withdrawn, NO_SUCH_ID);
    it_post_json(f->s, "/v1/training-sessions", f->admin, body, &r);
    it_assert_field_error_with(&r, "trainer_ids", plain);
    it_assert_field_error_with(&r, "trainer_ids", suspended);
    it_assert_field_error_with(&r, "trainer_ids", withdrawn);
    it_assert_field_error_with(&r, "trainer_ids", NO_SUCH_ID);
    assert_int_equal(json_array_size(json_object_get(r.json, "errors")), 4);
    {
        json_t *e;
        size_t k;
        json_array_foreach(json_object_get(r.json, "errors"), k, e)
        {
            assert_null(strstr(it_jstr(e, "detail"), good));
        }
    }
    it_resp_free(&r);
    free(body);
    assert_int_equal(writes(f), before);

    free(loc_off);
    free(loc_gone);
    free(plain);
    free(suspended);
    free(withdrawn);
    free(good);
}

static void
test_session_update(void **state)
{
    struct fx *f = *state;
    char *t1 = make_fac(f, "accredited", NULL, 1, "2024-01-01", "2099-01-01");
    char *t2 = make_fac(f, "accredited", NULL, 1, "2024-01-01", "2099-01-01");
    char *trainers = it_fmt("[\"%s\"]", t1), *body;
    struct it_made s = create_session(f, f->prac, "2099-05-01", "2099-05-02", 5, trainers);
    struct it_made past = create_session(f, f->prac, "2025-01-06", "2025-01-07", 5, NULL);
    char *p1 = make_fac(f, "in_training", f->org_a, 0, NULL, NULL);
    char *p2 = make_fac(f, "in_training", f->org_a, 0, NULL, NULL);
    struct it_made e1 = enrol(f, s.id, f->admin, p1), e2 = enrol(f, s.id, f->admin, p2);
    struct it_resp r;
    long before;

    before = writes(f);
    it_expectf(f->s, "PATCH", f->admin, NULL, "{\"capacity\": 6}", 428, "/v1/training-sessions/%s",
               s.id);
    it_expectf(f->s, "PATCH", f->admin, "\"77\"", "{\"capacity\": 6}", 412,
               "/v1/training-sessions/%s", s.id);
    it_expectf(f->s, "PATCH", f->a_admin, s.etag, "{\"capacity\": 6}", 403,
               "/v1/training-sessions/%s", s.id);
    it_patchf(f->s, f->admin, s.etag, "{}", &r, "/v1/training-sessions/%s", s.id);
    it_assert_field_error(&r, "body");
    it_resp_free(&r);
    it_patchf(f->s, f->admin, s.etag, "{\"capacity\": 1}", &r, "/v1/training-sessions/%s", s.id);
    it_assert_field_error_with(&r, "capacity", "2");
    it_resp_free(&r);
    body = it_fmt("{\"course_id\": \"%s\"}", f->refr);
    it_patchf(f->s, f->admin, s.etag, body, &r, "/v1/training-sessions/%s", s.id);
    it_assert_field_error(&r, "course_id");
    it_resp_free(&r);
    free(body);
    it_patchf(f->s, f->admin, s.etag, "{\"venue\": null}", &r, "/v1/training-sessions/%s", s.id);
    it_assert_field_error(&r, "venue");
    it_resp_free(&r);
    it_patchf(f->s, f->admin, s.etag, "{\"starts_on\": \"2099-05-03\"}", &r,
              "/v1/training-sessions/%s", s.id);
    it_assert_field_error(&r, "starts_on");
    it_resp_free(&r);
    it_expectf(f->s, "PATCH", f->admin, s.etag, "{\"status\": \"completed\"}", 409,
               "/v1/training-sessions/%s", s.id);
    body = it_fmt("{\"trainer_ids\": [\"%s\"]}", p1);
    it_patchf(f->s, f->admin, s.etag, body, &r, "/v1/training-sessions/%s", s.id);
    it_assert_field_error_with(&r, "trainer_ids", p1);
    it_resp_free(&r);
    free(body);
    it_expectf(f->s, "PATCH", f->admin, s.etag, "{\"capacity\": 6}", 404,
               "/v1/training-sessions/%s", NO_SUCH_ID);
    assert_int_equal(writes(f), before);

    /* A good change: trainers replaced, capacity down to the places taken. */
    body = it_fmt("{\"capacity\": 2, \"trainer_ids\": [\"%s\", \"%s\"], \"venue\": \"Pump Room\"}",
                  t2, t1);
    it_patchf(f->s, f->admin, s.etag, body, &r, "/v1/training-sessions/%s", s.id);
    it_assert_status(&r, 200);
    free(body);
    assert_int_equal(jint(&r, "capacity"), 2);
    assert_int_equal(jint(&r, "enrolled"), 2);
    assert_int_equal(jint(&r, "places_left"), 0);
    assert_string_equal(it_json_str(&r, "venue"), "Pump Room");
    assert_int_equal(json_array_size(json_object_get(r.json, "trainer_ids")), 2);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM training_session_trainer"
                              " WHERE session_id = $1::uuid",
                              s.id),
                     2);
    assert_string_not_equal(it_header(&r, "ETag"), s.etag);
    it_renew_etag(&r, &s.etag);
    it_resp_free(&r);
    assert_int_equal(it_audits(f->s, "training_session", s.id, "update"), 1);

    /* Cancelled is final: nothing changes afterwards, and it takes no enrolments. */
    it_patchf(f->s, f->admin, s.etag, "{\"status\": \"cancelled\"}", &r, "/v1/training-sessions/%s",
              s.id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "cancelled");
    assert_int_equal(jint(&r, "places_left"), 0);
    it_renew_etag(&r, &s.etag);
    it_resp_free(&r);
    it_expectf(f->s, "PATCH", f->admin, s.etag, "{\"status\": \"scheduled\"}", 409,
               "/v1/training-sessions/%s", s.id);
    it_expectf(f->s, "PATCH", f->admin, s.etag, "{\"venue\": \"Elsewhere\"}", 409,
               "/v1/training-sessions/%s", s.id);

    /* A session that has ended may be completed. */
    it_patchf(f->s, f->admin, past.etag, "{\"status\": \"completed\"}", &r,
              "/v1/training-sessions/%s", past.id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "completed");
    it_resp_free(&r);

    it_made_free(&e1);
    it_made_free(&e2);
    it_made_free(&s);
    it_made_free(&past);
    free(p1);
    free(p2);
    free(t1);
    free(t2);
    free(trainers);
}

static void
test_session_list_pages_csv(void **state)
{
    struct fx *f = *state;
    char course[40], *path;
    struct it_made a, b, c;
    struct it_resp r;
    json_t *items, *rows, *seen;

    create_course(f, "{\"code\": \"LISTED\", \"title\": \"Listed\", \"kind\": \"practitioner\"}",
                  course);
    b = create_session(f, course, "2098-02-01", "2098-02-03", 10, NULL);
    a = create_session(f, course, "2098-01-01", "2098-01-02", 10, NULL);
    c = create_session(f, course, "2098-03-01", "2098-03-01", 10, NULL);
    it_expectf(f->s, "PATCH", f->admin, c.etag, "{\"status\": \"cancelled\"}", 200,
               "/v1/training-sessions/%s", c.id);

    path = it_fmt("/v1/training-sessions?course_id=%s", course);
    it_get(f->s, path, f->a_staff, &r);
    it_assert_status(&r, 200);
    items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(it_jstr(json_array_get(items, 0), "id"), a.id);
    assert_string_equal(it_jstr(json_array_get(items, 1), "id"), b.id);
    assert_string_equal(it_jstr(json_array_get(items, 2), "id"), c.id);
    it_resp_free(&r);
    free(path);

    /* from: ending on or after; to: starting on or before; status. */
    path = it_fmt("/v1/training-sessions?course_id=%s&from=2098-01-03&to=2098-02-01", course);
    it_get(f->s, path, f->admin, &r);
    it_assert_status(&r, 200);
    items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(it_jstr(json_array_get(items, 0), "id"), b.id);
    it_resp_free(&r);
    free(path);
    path = it_fmt("/v1/training-sessions?course_id=%s&status=cancelled", course);
    it_get(f->s, path, f->admin, &r);
    it_assert_status(&r, 200);
    items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(it_jstr(json_array_get(items, 0), "id"), c.id);
    it_resp_free(&r);
    free(path);

    /* Bad parameters. */
    it_expect(f->s, "GET", "/v1/training-sessions?status=done", f->admin, NULL, 400);
    it_expect(f->s, "GET", "/v1/training-sessions?from=tomorrow", f->admin, NULL, 400);
    it_expect(f->s, "GET", "/v1/training-sessions?course_id=7", f->admin, NULL, 400);
    it_expect(f->s, "GET", "/v1/training-sessions?venue=x", f->admin, NULL, 400);

    /* Pages of one. */
    path = it_fmt("/v1/training-sessions?course_id=%s&limit=1", course);
    seen = it_all_pages(f->s, f->admin, path, 1, 10, NULL);
    free(path);
    assert_int_equal(json_array_size(seen), 3);
    assert_string_equal(it_jstr(json_array_get(seen, 0), "id"), a.id);
    assert_string_equal(it_jstr(json_array_get(seen, 2), "id"), c.id);
    json_decref(seen);

    /* CSV, parsed back. */
    path = it_fmt("/v1/training-sessions?course_id=%s", course);
    it_get_csv(f->s, path, f->a_admin, &r);
    rows = it_csv_answer(&r);
    assert_int_equal(json_array_size(rows), 4);
    assert_string_equal(it_csv_cell(rows, 1, it_csv_col(rows, "id")), a.id);
    assert_string_equal(it_csv_cell(rows, 1, it_csv_col(rows, "starts_on")), "2098-01-01");
    assert_string_equal(it_csv_cell(rows, 2, it_csv_col(rows, "places_left")), "10");
    assert_string_equal(it_csv_cell(rows, 3, it_csv_col(rows, "status")), "cancelled");
    assert_string_equal(it_csv_cell(rows, 3, it_csv_col(rows, "course_code")), "LISTED");
    json_decref(rows);
    it_resp_free(&r);
    free(path);
    it_made_free(&a);
    it_made_free(&b);
    it_made_free(&c);
}

/* ---- Enrolments ---------------------------------------------------------------------------- */

static void
test_enrolment_rules(void **state)
{
    struct fx *f = *state;
    struct it_made s = create_session(f, f->prac, "2099-06-01", "2099-06-02", 5, NULL);
    struct it_made refr = create_session(f, f->refr, "2099-06-01", "2099-06-02", 5, NULL);
    struct it_made gone = create_session(f, f->prac, "2099-06-01", "2099-06-02", 5, NULL);
    char *x = make_fac(f, "in_training", NULL, 0, NULL, NULL);
    char *a1 = make_fac(f, "in_training", f->org_a, 0, NULL, NULL);
    char *b1 = make_fac(f, "in_training", f->org_b, 0, NULL, NULL);
    char *susp = make_fac(f, "suspended", f->org_a, 0, "2020-01-01", "2099-01-01");
    char *wd = make_fac(f, "withdrawn", f->org_a, 0, NULL, NULL);
    char *left = make_fac(f, "in_training", NULL, 0, NULL, NULL);
    char *path, *loc;
    struct it_resp r;
    struct it_made e;
    long before;

    /* A former employee of A is not A's staff any more. */
    PQclear(it_sql(f->s,
                   "INSERT INTO facilitator_employment (facilitator_id, organisation_id,"
                   " started_on, ended_on) VALUES ($1::uuid, $2::uuid, '2020-01-01', '2024-01-01')",
                   left, f->org_a));

    /* Admin enrols anyone. */
    post_enrolment(f, s.id, f->admin, x, &r);
    it_assert_status(&r, 201);
    loc = it_fmt("/v1/training-sessions/%s/enrolments/%s", s.id, it_json_str(&r, "id"));
    it_assert_header(&r, "Location", loc);
    it_assert_header(&r, "ETag", "\"");
    it_assert_strs(&r, IT_ROW("session_id", s.id, "facilitator_id", x, "status", "enrolled",
                              "nominated_by", f->admin_id));
    assert_non_null(it_json_str(&r, "registration_number"));
    assert_int_equal(it_audits(f->s, "enrolment", it_json_str(&r, "id"), "create"), 1);
    it_resp_free(&r);
    free(loc);
    it_getf(f->s, f->admin, &r, "/v1/training-sessions/%s", s.id);
    assert_int_equal(jint(&r, "enrolled"), 1);
    assert_int_equal(jint(&r, "places_left"), 4);
    it_resp_free(&r);

    before = writes(f);
    /* Twice in one session: 409. */
    post_enrolment(f, s.id, f->admin, x, &r);
    it_assert_problem(&r, 409);
    it_resp_free(&r);
    /* org_admin: another organisation's staff, a former employee, an unknown id: 422. */
    post_enrolment(f, s.id, f->a_admin, b1, &r);
    it_assert_field_error(&r, "facilitator_id");
    it_resp_free(&r);
    post_enrolment(f, s.id, f->a_admin, left, &r);
    it_assert_field_error(&r, "facilitator_id");
    it_resp_free(&r);
    post_enrolment(f, s.id, f->a_admin, NO_SUCH_ID, &r);
    it_assert_field_error(&r, "facilitator_id");
    it_resp_free(&r);
    post_enrolment(f, s.id, f->admin, NO_SUCH_ID, &r);
    it_assert_field_error(&r, "facilitator_id");
    it_resp_free(&r);
    /* org_staff may not nominate. */
    post_enrolment(f, s.id, f->a_staff, a1, &r);
    it_assert_problem(&r, 403);
    it_resp_free(&r);
    /* Suspended and withdrawn facilitators; a refresher for someone never accredited. */
    post_enrolment(f, s.id, f->admin, susp, &r);
    it_assert_field_error_with(&r, "facilitator_id", "suspended");
    it_resp_free(&r);
    post_enrolment(f, s.id, f->a_admin, wd, &r);
    it_assert_field_error_with(&r, "facilitator_id", "withdrawn");
    it_resp_free(&r);
    post_enrolment(f, refr.id, f->admin, x, &r);
    it_assert_field_error_with(&r, "facilitator_id", "refresher");
    it_resp_free(&r);
    /* Validation of the body. */
    path = it_fmt("/v1/training-sessions/%s/enrolments", s.id);
    it_expect_field(f->s, "POST", path, f->admin, "{}", "facilitator_id");
    it_expect_field(f->s, "POST", path, f->admin, "{\"facilitator_id\": \"12\"}", "facilitator_id");
    {
        char *body = it_fmt("{\"facilitator_id\": \"%s\", \"status\": \"passed\"}", a1);
        it_expect_field(f->s, "POST", path, f->admin, body, "status");
        free(body);
    }
    free(path);
    /* Unknown session: 404; a cancelled one takes nobody: 409. */
    post_enrolment(f, NO_SUCH_ID, f->admin, a1, &r);
    it_assert_problem(&r, 404);
    it_resp_free(&r);
    it_expectf(f->s, "PATCH", f->admin, gone.etag, "{\"status\": \"cancelled\"}", 200,
               "/v1/training-sessions/%s", gone.id);
    before = writes(f);
    post_enrolment(f, gone.id, f->admin, a1, &r);
    it_assert_problem(&r, 409);
    it_resp_free(&r);
    assert_int_equal(writes(f), before);

    /* org_admin nominates their own current staff. */
    e = enrol(f, s.id, f->a_admin, a1);
    it_assert_row(f->s, IT_ROW("boss-a@training.example"),
                  "SELECT u.email FROM enrolment e JOIN app_user u"
                  " ON u.id = e.nominated_by WHERE e.id = $1::uuid",
                  e.id);

    /* What licensees see: A sees A's nominee only; B sees none of them. */
    path = it_fmt("/v1/training-sessions/%s/enrolments", s.id);
    it_get(f->s, path, f->a_staff, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_string_equal(it_jstr(json_array_get(json_object_get(r.json, "items"), 0), "id"), e.id);
    assert_string_equal(
        it_jstr(json_array_get(json_object_get(r.json, "items"), 0), "organisation_id"), f->org_a);
    it_resp_free(&r);
    it_expect_items(f->s, f->b_admin, 0, "%s", path);
    it_expect_items(f->s, f->admin, 2, "%s", path);
    free(path);
    path = it_fmt("/v1/training-sessions/%s/enrolments/%s", s.id, e.id);
    it_expect(f->s, "GET", path, f->b_admin, NULL, 404);
    it_get(f->s, path, f->a_staff, &r);
    it_assert_status(&r, 200);
    assert_string_equal(it_header(&r, "ETag"), e.etag);
    it_resp_free(&r);
    free(path);
    /* The enrolment under another session is not found. */
    path = it_fmt("/v1/training-sessions/%s/enrolments/%s", refr.id, e.id);
    it_expect(f->s, "GET", path, f->admin, NULL, 404);
    free(path);

    it_made_free(&e);
    it_made_free(&s);
    it_made_free(&refr);
    it_made_free(&gone);
    free(x);
    free(a1);
    free(b1);
    free(susp);
    free(wd);
    free(left);
}

static void
test_last_place_race(void **state)
{
    struct fx *f = *state;
    int round;

    for (round = 0; round < RACE_ROUNDS; round++) {
        struct it_made s = create_session(f, f->prac, "2099-07-01", "2099-07-02", 2, NULL);
        char *first = make_fac(f, "in_training", NULL, 0, NULL, NULL);
        char *who[2];
        struct it_made e0 = enrol(f, s.id, f->admin, first);
        struct it_race x;
        char *path = it_fmt("/v1/training-sessions/%s/enrolments", s.id);
        char *body[2];
        int i, created = 0, full = 0;

        who[0] = make_fac(f, "in_training", NULL, 0, NULL, NULL);
        who[1] = make_fac(f, "in_training", NULL, 0, NULL, NULL);
        for (i = 0; i < 2; i++) {
            body[i] = it_fmt("{\"facilitator_id\": \"%s\"}", who[i]);
        }
        /* In half the rounds the test holds the session row until both requests wait for it,
         * so they surely overlap; in the others they run free. */
        if (round % 2 == 0) {
            PQclear(it_sql(f->s, "BEGIN"));
            PQclear(it_sql(f->s, "SELECT 1 FROM training_session WHERE id = $1::uuid FOR UPDATE",
                           s.id));
        }
        it_race_start(&x, f->s, "POST", path, f->admin, NULL, body[0], body[1]);
        if (round % 2 == 0) {
            it_wait_lock_waiters(f->s, 2, "the two enrolments never waited for the session lock");
            PQclear(it_sql(f->s, "COMMIT"));
        }
        it_race_join(&x);
        for (i = 0; i < 2; i++) {
            created += x.status[i] == 201;
            full += x.status[i] == 409;
            free(body[i]);
        }
        free(path);
        if (created != 1 || full != 1) {
            fail_msg("round %d: got %ld and %ld, want one 201 and one 409", round, x.status[0],
                     x.status[1]);
        }
        assert_int_equal(it_count(f->s,
                                  "SELECT count(*) FROM enrolment WHERE session_id = $1::uuid"
                                  " AND status <> 'withdrawn'",
                                  s.id),
                         2);
        it_made_free(&e0);
        it_made_free(&s);
        free(first);
        free(who[0]);
        free(who[1]);
    }
}

static void
test_withdraw_and_reenrol(void **state)
{
    struct fx *f = *state;
    struct it_made s = create_session(f, f->prac, "2099-08-01", "2099-08-02", 1, NULL);
    char *a1 = make_fac(f, "in_training", f->org_a, 0, NULL, NULL);
    char *x = make_fac(f, "in_training", NULL, 0, NULL, NULL);
    struct it_made e = enrol(f, s.id, f->a_admin, a1), ex;
    struct it_resp r;
    long before = writes(f);

    /* Only the licensing body records outcomes; org_staff change nothing; B cannot see it. */
    it_expectf(f->s, "PATCH", f->a_admin, e.etag, "{\"status\": \"attended\"}", 403,
               "/v1/training-sessions/%s/enrolments/%s", s.id, e.id);
    it_expectf(f->s, "PATCH", f->a_staff, e.etag, "{\"status\": \"withdrawn\"}", 403,
               "/v1/training-sessions/%s/enrolments/%s", s.id, e.id);
    it_expectf(f->s, "PATCH", f->b_admin, e.etag, "{\"status\": \"withdrawn\"}", 404,
               "/v1/training-sessions/%s/enrolments/%s", s.id, e.id);
    it_expectf(f->s, "PATCH", f->a_admin, NULL, "{\"status\": \"withdrawn\"}", 428,
               "/v1/training-sessions/%s/enrolments/%s", s.id, e.id);
    it_expectf(f->s, "PATCH", f->a_admin, "\"99\"", "{\"status\": \"withdrawn\"}", 412,
               "/v1/training-sessions/%s/enrolments/%s", s.id, e.id);
    it_patchf(f->s, f->admin, e.etag, "{\"status\": \"gone\"}", &r,
              "/v1/training-sessions/%s/enrolments/%s", s.id, e.id);
    it_assert_field_error(&r, "status");
    it_resp_free(&r);
    it_patchf(f->s, f->admin, e.etag, "{}", &r, "/v1/training-sessions/%s/enrolments/%s", s.id,
              e.id);
    it_assert_field_error(&r, "status");
    it_resp_free(&r);
    /* An outcome before the session has even started. */
    it_expectf(f->s, "PATCH", f->admin, e.etag, "{\"status\": \"attended\"}", 409,
               "/v1/training-sessions/%s/enrolments/%s", s.id, e.id);
    assert_int_equal(writes(f), before);

    /* The org_admin withdraws their nominee: the place frees up. */
    it_patchf(f->s, f->a_admin, e.etag, "{\"status\": \"withdrawn\"}", &r,
              "/v1/training-sessions/%s/enrolments/%s", s.id, e.id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "withdrawn");
    it_renew_etag(&r, &e.etag);
    it_resp_free(&r);
    ex = enrol(f, s.id, f->admin, x);
    /* Posting the withdrawn one again is a duplicate; re-enrolling finds the session full. */
    post_enrolment(f, s.id, f->a_admin, a1, &r);
    it_assert_problem(&r, 409);
    it_resp_free(&r);
    it_patchf(f->s, f->a_admin, e.etag, "{\"status\": \"enrolled\"}", &r,
              "/v1/training-sessions/%s/enrolments/%s", s.id, e.id);
    it_assert_problem(&r, 409);
    assert_non_null(strstr(it_json_str(&r, "detail"), "full"));
    it_resp_free(&r);
    set_status(f, s.id, &ex, "withdrawn");
    it_patchf(f->s, f->a_admin, e.etag, "{\"status\": \"enrolled\"}", &r,
              "/v1/training-sessions/%s/enrolments/%s", s.id, e.id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "enrolled");
    it_resp_free(&r);
    assert_int_equal(it_audits(f->s, "enrolment", e.id, "update"), 2);
    it_made_free(&e);
    it_made_free(&ex);
    it_made_free(&s);
    free(a1);
    free(x);
}

/* ---- Outcomes ------------------------------------------------------------------------------ */

static void
test_practitioner_pass(void **state)
{
    struct fx *f = *state;
    struct it_made s = create_session(f, f->prac, "2099-03-10", "2099-03-14", 10, NULL);
    char *p = make_fac(f, "in_training", f->org_a, 0, NULL, NULL);
    char *q = make_fac(f, "in_training", f->org_a, 0, NULL, NULL);
    struct it_made e = enrol(f, s.id, f->a_admin, p), eq = enrol(f, s.id, f->admin, q);
    char buf[64];
    struct it_resp r;
    PGresult *res;
    long before;

    backdate(f, s.id, "2025-03-10", "2025-03-14");
    before = writes(f);

    /* An org_admin may not record an outcome, even for their own staff. */
    it_expectf(f->s, "PATCH", f->a_admin, e.etag, "{\"status\": \"passed\"}", 403,
               "/v1/training-sessions/%s/enrolments/%s", s.id, e.id);
    it_expectf(f->s, "PATCH", f->admin, NULL, "{\"status\": \"passed\"}", 428,
               "/v1/training-sessions/%s/enrolments/%s", s.id, e.id);
    it_expectf(f->s, "PATCH", f->admin, "\"0\"", "{\"status\": \"passed\"}", 412,
               "/v1/training-sessions/%s/enrolments/%s", s.id, e.id);
    assert_int_equal(writes(f), before);
    assert_string_equal(fac_value(f, p, "status", buf, sizeof(buf)), "in_training");

    set_status(f, s.id, &e, "attended");
    set_status(f, s.id, &e, "passed");

    /* The facilitator row: accredited from ends_on for 36 months. */
    assert_string_equal(fac_value(f, p, "status", buf, sizeof(buf)), "accredited");
    assert_string_equal(fac_value(f, p, "accredited_on", buf, sizeof(buf)), "2025-03-14");
    assert_string_equal(fac_value(f, p, "accredited_until", buf, sizeof(buf)), "2028-03-14");
    assert_string_equal(fac_value(f, p, "version", buf, sizeof(buf)), "2");
    assert_non_null(strstr(fac_value(f, p, "reason", buf, sizeof(buf)), "PRAC"));

    /* The history row, by the admin, effective on accredited_on (a grant takes effect the day
     * it was granted, however late the outcome is recorded: issue 12, item 4). */
    res = it_sql_rows(f->s, 2,
                      "SELECT status, accredited_on::text, accredited_until::text,"
                      " effective_on = DATE '2025-03-14', changed_by::text"
                      " FROM facilitator_status_history WHERE facilitator_id = $1::uuid"
                      " ORDER BY id DESC",
                      p);
    it_assert_cells(res, 0, IT_ROW("accredited", "2025-03-14", "2028-03-14", "t", f->admin_id));
    PQclear(res);

    /* Audit rows for the facilitator and for the enrolment, by the admin. */
    it_assert_row(f->s, IT_ROW("accredit", "in_training", "accredited", "2028-03-14", f->admin_id),
                  "SELECT action, before->>'status', after->>'status', after->>'accredited_until',"
                  " actor_id::text FROM audit_event"
                  " WHERE resource_type = 'facilitator' AND resource_id = $1",
                  p);
    it_assert_row(f->s, IT_ROW("attended", "passed"),
                  "SELECT before->>'status', after->>'status' FROM audit_event"
                  " WHERE resource_type = 'enrolment' AND resource_id = $1 AND action = 'update'"
                  " ORDER BY id DESC LIMIT 1",
                  e.id);

    /* The facilitator is now eligible as far as accreditation goes. */
    it_assert_row(f->s, IT_ROW("accredited"),
                  "SELECT status FROM facilitator_eligibility($1::uuid, registry_today())", p);

    /* Passed is final; a fail changes nothing about the facilitator. */
    before = writes(f);
    it_expectf(f->s, "PATCH", f->admin, e.etag, "{\"status\": \"failed\"}", 409,
               "/v1/training-sessions/%s/enrolments/%s", s.id, e.id);
    assert_int_equal(writes(f), before);
    set_status(f, s.id, &eq, "failed");
    assert_string_equal(fac_value(f, q, "status", buf, sizeof(buf)), "in_training");
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM facilitator_status_history"
                              " WHERE facilitator_id = $1::uuid",
                              q),
                     1);

    /* With outcomes recorded, the session's dates stay put. */
    it_getf(f->s, f->admin, &r, "/v1/training-sessions/%s", s.id);
    it_renew_etag(&r, &s.etag);
    it_resp_free(&r);
    it_expectf(f->s, "PATCH", f->admin, s.etag, "{\"ends_on\": \"2025-03-15\"}", 409,
               "/v1/training-sessions/%s", s.id);

    it_made_free(&e);
    it_made_free(&eq);
    it_made_free(&s);
    free(p);
    free(q);
}

static void
test_refresher_pass(void **state)
{
    struct fx *f = *state;
    struct it_made s = create_session(f, f->refr, "2099-06-23", "2099-06-30", 10, NULL);
    char *lapsed = make_fac(f, "accredited", f->org_a, 0, "2021-01-01", "2024-01-01");
    char *current = make_fac(f, "accredited", f->org_a, 0, "2023-01-01", "2027-06-01");
    char *later = make_fac(f, "accredited", NULL, 0, "2023-01-01", "2099-01-01");
    char *gone = make_fac(f, "accredited", NULL, 0, "2023-01-01", "2099-01-01");
    struct it_made el = enrol(f, s.id, f->admin, lapsed), ec = enrol(f, s.id, f->admin, current);
    struct it_made ei = enrol(f, s.id, f->admin, later), eg = enrol(f, s.id, f->admin, gone);
    char buf[64];
    struct it_resp r;
    long before;

    backdate(f, s.id, "2025-06-23", "2025-06-30");

    /* Lapsed: from ends_on; current: from the later accredited_until; 24 months each. */
    set_status(f, s.id, &el, "passed");
    assert_string_equal(fac_value(f, lapsed, "status", buf, sizeof(buf)), "accredited");
    assert_string_equal(fac_value(f, lapsed, "accredited_on", buf, sizeof(buf)), "2021-01-01");
    assert_string_equal(fac_value(f, lapsed, "accredited_until", buf, sizeof(buf)), "2027-06-30");
    set_status(f, s.id, &ec, "passed");
    assert_string_equal(fac_value(f, current, "accredited_until", buf, sizeof(buf)), "2029-06-01");
    it_assert_row(f->s, IT_ROW("accredited", "2029-06-01", "t"),
                  "SELECT h.status, h.accredited_until::text, h.effective_on = registry_today()"
                  " FROM facilitator_status_history h WHERE h.facilitator_id = $1::uuid"
                  " ORDER BY h.id DESC LIMIT 1",
                  current);
    it_assert_row(f->s, IT_ROW("extend_accreditation", "lapsed", "2024-01-01", "2027-06-30"),
                  "SELECT action, before->>'status', before->>'accredited_until',"
                  " after->>'accredited_until' FROM audit_event"
                  " WHERE resource_type = 'facilitator' AND resource_id = $1",
                  lapsed);

    /* No longer accredited by the time the pass is recorded, or suspended: 422, nothing
     * written, the enrolment unchanged. */
    PQclear(it_sql(f->s,
                   "UPDATE facilitator SET status = 'in_training', accredited_on = NULL,"
                   " accredited_until = NULL WHERE id = $1::uuid",
                   later));
    PQclear(it_sql(f->s, "UPDATE facilitator SET status = 'suspended' WHERE id = $1::uuid", gone));
    before = writes(f);
    it_patchf(f->s, f->admin, ei.etag, "{\"status\": \"passed\"}", &r,
              "/v1/training-sessions/%s/enrolments/%s", s.id, ei.id);
    it_assert_field_error_with(&r, "status", "in_training");
    it_resp_free(&r);
    it_patchf(f->s, f->admin, eg.etag, "{\"status\": \"passed\"}", &r,
              "/v1/training-sessions/%s/enrolments/%s", s.id, eg.id);
    it_assert_field_error_with(&r, "status", "suspended");
    it_resp_free(&r);
    assert_int_equal(writes(f), before);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM enrolment WHERE id = $1::uuid"
                              " AND status = 'enrolled'",
                              ei.id),
                     1);

    it_made_free(&el);
    it_made_free(&ec);
    it_made_free(&ei);
    it_made_free(&eg);
    it_made_free(&s);
    free(lapsed);
    free(current);
    free(later);
    free(gone);
}

static void
test_trainer_pass(void **state)
{
    struct fx *f = *state;
    struct it_made s = create_session(f, f->trnr, "2099-09-01", "2099-09-05", 4, NULL);
    char *t = make_fac(f, "accredited", f->org_a, 0, "2024-01-01", "2099-01-01");
    struct it_made e = enrol(f, s.id, f->admin, t), later;
    char buf[64], *trainers;

    backdate(f, s.id, "2025-09-01", "2025-09-05");

    set_status(f, s.id, &e, "passed");
    assert_string_equal(fac_value(f, t, "trainer", buf, sizeof(buf)), "true");
    assert_string_equal(fac_value(f, t, "status", buf, sizeof(buf)), "accredited");
    assert_string_equal(fac_value(f, t, "accredited_until", buf, sizeof(buf)), "2099-01-01");
    assert_int_equal(
        it_count(f->s,
                 "SELECT count(*) FROM facilitator_status_history"
                 " WHERE facilitator_id = $1::uuid AND effective_on = registry_today()",
                 t),
        1);
    it_assert_row(f->s, IT_ROW("grant_trainer", "false", "true"),
                  "SELECT action, before->>'trainer', after->>'trainer' FROM audit_event"
                  " WHERE resource_type = 'facilitator' AND resource_id = $1",
                  t);

    /* Now they may train a session. */
    trainers = it_fmt("[\"%s\"]", t);
    later = create_session(f, f->prac, "2099-10-01", "2099-10-02", 4, trainers);
    it_made_free(&later);
    free(trainers);
    it_made_free(&e);
    it_made_free(&s);
    free(t);
}

static void
test_enrolments_csv(void **state)
{
    struct fx *f = *state;
    struct it_made s = create_session(f, f->prac, "2099-11-01", "2099-11-02", 10, NULL);
    char *ids[3], *path;
    struct it_made e[3];
    struct it_resp r;
    json_t *rows, *seen;
    size_t i, reg_col, status_col, id_col;

    for (i = 0; i < 3; i++) {
        ids[i] = make_fac(f, "in_training", i == 2 ? f->org_b : f->org_a, 0, NULL, NULL);
        e[i] = enrol(f, s.id, f->admin, ids[i]);
    }
    set_status(f, s.id, &e[1], "withdrawn");

    path = it_fmt("/v1/training-sessions/%s/enrolments", s.id);
    it_get_csv(f->s, path, f->admin, &r);
    rows = it_csv_answer(&r);
    assert_int_equal(json_array_size(rows), 4);
    reg_col = it_csv_col(rows, "registration_number");
    status_col = it_csv_col(rows, "status");
    id_col = it_csv_col(rows, "facilitator_id");
    for (i = 0; i < 3; i++) {
        char buf[64];
        assert_string_equal(it_csv_cell(rows, i + 1, id_col), ids[i]);
        assert_string_equal(it_csv_cell(rows, i + 1, reg_col),
                            fac_value(f, ids[i], "registration_number", buf, sizeof(buf)));
    }
    assert_string_equal(it_csv_cell(rows, 2, status_col), "withdrawn");
    assert_string_equal(it_csv_cell(rows, 3, it_csv_col(rows, "organisation_id")), f->org_b);
    json_decref(rows);
    it_resp_free(&r);
    free(path);

    /* The status filter, and org A's CSV holds its own two only. */
    path = it_fmt("/v1/training-sessions/%s/enrolments?status=withdrawn", s.id);
    it_expect_items(f->s, f->admin, 1, "%s", path);
    free(path);
    path = it_fmt("/v1/training-sessions/%s/enrolments?status=lost", s.id);
    it_expect(f->s, "GET", path, f->admin, NULL, 400);
    free(path);
    path = it_fmt("/v1/training-sessions/%s/enrolments", s.id);
    it_get_csv(f->s, path, f->a_admin, &r);
    it_assert_status(&r, 200);
    rows = it_csv_parse(r.body);
    assert_int_equal(json_array_size(rows), 3);
    json_decref(rows);
    it_resp_free(&r);
    free(path);
    it_expect(f->s, "GET", "/v1/training-sessions/" NO_SUCH_ID "/enrolments", f->admin, NULL, 404);

    /* Pages of one, in enrolment order. */
    path = it_fmt("/v1/training-sessions/%s/enrolments?limit=1", s.id);
    seen = it_all_pages(f->s, f->admin, path, 1, 10, NULL);
    free(path);
    assert_int_equal(json_array_size(seen), 3);
    for (i = 0; i < 3; i++) {
        assert_string_equal(it_jstr(json_array_get(seen, i), "id"), e[i].id);
        it_made_free(&e[i]);
        free(ids[i]);
    }
    json_decref(seen);
    it_made_free(&s);
}

/* Issue 12 item 9: a session whose ends_on has passed reads awaiting_outcomes, takes no more
 * enrolments or re-enrolments, and still completes; one ending today is still scheduled. */
static void
test_awaiting_outcomes(void **state)
{
    struct fx *f = *state;
    struct it_made s = create_session(f, f->prac, "2099-02-01", "2099-02-03", 5, NULL);
    char *p1 = make_fac(f, "in_training", f->org_a, 0, NULL, NULL);
    char *p2 = make_fac(f, "in_training", f->org_a, 0, NULL, NULL);
    char *p3 = make_fac(f, "in_training", f->org_a, 0, NULL, NULL);
    struct it_made e1 = enrol(f, s.id, f->admin, p1), e2 = enrol(f, s.id, f->admin, p2), today;
    char *path, date[16];
    struct it_resp r;
    long before;
    json_t *items, *item;
    size_t i;
    int found;

    backdate(f, s.id, "2025-02-01", "2025-02-03");
    it_getf(f->s, f->admin, &r, "/v1/training-sessions/%s", s.id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "awaiting_outcomes");
    assert_int_equal(jint(&r, "places_left"), 0);
    assert_int_equal(jint(&r, "enrolled"), 2);
    it_renew_etag(&r, &s.etag);
    it_resp_free(&r);

    /* The list filters on it; "scheduled" no longer finds the session. */
    path = it_fmt("/v1/training-sessions?status=awaiting_outcomes&course_id=%s&limit=100", f->prac);
    it_get(f->s, path, f->admin, &r);
    it_assert_status(&r, 200);
    items = json_object_get(r.json, "items");
    found = 0;
    json_array_foreach(items, i, item)
    {
        assert_string_equal(it_jstr(item, "status"), "awaiting_outcomes");
        found += strcmp(it_jstr(item, "id"), s.id) == 0;
    }
    assert_int_equal(found, 1);
    it_resp_free(&r);
    free(path);
    path = it_fmt("/v1/training-sessions?status=scheduled&course_id=%s&limit=100", f->prac);
    it_get(f->s, path, f->admin, &r);
    it_assert_status(&r, 200);
    json_array_foreach(json_object_get(r.json, "items"), i, item)
    {
        assert_string_not_equal(it_jstr(item, "id"), s.id);
    }
    it_resp_free(&r);
    free(path);

    /* No new enrolment, by anyone; a withdrawal stands, a re-enrolment does not: 409, and
     * nothing written. */
    before = writes(f);
    post_enrolment(f, s.id, f->admin, p3, &r);
    it_assert_problem(&r, 409);
    assert_non_null(strstr(it_json_str(&r, "detail"), "awaiting outcomes"));
    it_resp_free(&r);
    post_enrolment(f, s.id, f->a_admin, p3, &r);
    it_assert_problem(&r, 409);
    it_resp_free(&r);
    assert_int_equal(writes(f), before);
    set_status(f, s.id, &e2, "withdrawn");
    before = writes(f);
    it_expectf(f->s, "PATCH", f->admin, e2.etag, "{\"status\": \"enrolled\"}", 409,
               "/v1/training-sessions/%s/enrolments/%s", s.id, e2.id);
    assert_int_equal(writes(f), before);

    /* Outcomes are what it awaits; then the admin completes it. */
    set_status(f, s.id, &e1, "passed");
    it_getf(f->s, f->admin, &r, "/v1/training-sessions/%s", s.id);
    it_renew_etag(&r, &s.etag);
    it_resp_free(&r);
    it_patchf(f->s, f->admin, s.etag, "{\"status\": \"completed\"}", &r, "/v1/training-sessions/%s",
              s.id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "status"), "completed");
    it_resp_free(&r);

    /* A session ending today is still scheduled and takes enrolments. */
    IT_SQL_VALUE(date, f->s, "SELECT registry_today()::text");
    today = create_session(f, f->prac, date, date, 5, NULL);
    it_getf(f->s, f->admin, &r, "/v1/training-sessions/%s", today.id);
    assert_string_equal(it_json_str(&r, "status"), "scheduled");
    assert_int_equal(jint(&r, "places_left"), 5);
    it_resp_free(&r);
    it_made_free(&e1);
    e1 = enrol(f, today.id, f->admin, p3);

    it_made_free(&today);
    it_made_free(&e1);
    it_made_free(&e2);
    it_made_free(&s);
    free(p1);
    free(p2);
    free(p3);
}

/* Issue 12 item 9: the trainer course takes accredited practitioners only, at enrolment and
 * again when the pass is recorded. */
static void
test_trainer_course_needs_accreditation(void **state)
{
    struct fx *f = *state;
    struct it_made s = create_session(f, f->trnr, "2099-04-01", "2099-04-02", 6, NULL);
    char *never = make_fac(f, "in_training", f->org_a, 0, NULL, NULL);
    char *lapsed = make_fac(f, "accredited", f->org_a, 0, "2020-01-01", "2023-01-01");
    char *good = make_fac(f, "accredited", f->org_a, 0, "2024-01-01", "2099-01-01");
    char *fading = make_fac(f, "accredited", f->org_a, 0, "2024-01-01", "2099-01-01");
    struct it_made eg, ef;
    struct it_resp r;
    char buf[16];
    long before = writes(f);

    post_enrolment(f, s.id, f->admin, never, &r);
    it_assert_field_error_with(&r, "facilitator_id", "accredited practitioners");
    it_resp_free(&r);
    post_enrolment(f, s.id, f->a_admin, never, &r);
    it_assert_field_error_with(&r, "facilitator_id", "in_training");
    it_resp_free(&r);
    post_enrolment(f, s.id, f->admin, lapsed, &r);
    it_assert_field_error_with(&r, "facilitator_id", "lapsed");
    it_resp_free(&r);
    assert_int_equal(writes(f), before);
    eg = enrol(f, s.id, f->admin, good);
    ef = enrol(f, s.id, f->admin, fading);

    /* By the time the pass is recorded, one accreditation has lapsed: 422, nothing written. */
    backdate(f, s.id, "2025-04-01", "2025-04-02");
    PQclear(it_sql(f->s, "UPDATE facilitator SET accredited_until = '2025-01-01' WHERE id = $1",
                   fading));
    before = writes(f);
    it_patchf(f->s, f->admin, ef.etag, "{\"status\": \"passed\"}", &r,
              "/v1/training-sessions/%s/enrolments/%s", s.id, ef.id);
    it_assert_field_error_with(&r, "status", "accredited practitioners");
    it_resp_free(&r);
    assert_int_equal(writes(f), before);
    assert_string_equal(fac_value(f, fading, "trainer", buf, sizeof(buf)), "false");
    set_status(f, s.id, &eg, "passed");
    assert_string_equal(fac_value(f, good, "trainer", buf, sizeof(buf)), "true");

    it_made_free(&eg);
    it_made_free(&ef);
    it_made_free(&s);
    free(never);
    free(lapsed);
    free(good);
    free(fading);
}

/* POST /v1/training-sessions/{sid}/outcomes with `body` as `token`. */
/* Issue 12 item 13: outcomes for a whole session in one request: one transaction, all or
 * nothing, each failing entry named. */
static void
test_outcomes_batch(void **state)
{
    struct fx *f = *state;
    struct it_made s = create_session(f, f->prac, "2099-07-01", "2099-07-04", 10, NULL);
    struct it_made c = create_session(f, f->prac, "2099-08-01", "2099-08-02", 10, NULL);
    char *p[4], *body, buf[64], last[24];
    struct it_made e[4], ec;
    struct it_resp r;
    json_t *items;
    long before;
    int i;

    for (i = 0; i < 4; i++) {
        p[i] = make_fac(f, "in_training", f->org_a, 0, NULL, NULL);
        e[i] = enrol(f, s.id, f->admin, p[i]);
    }
    ec = enrol(f, c.id, f->admin, p[0]);
    set_status(f, s.id, &e[3], "withdrawn");

    /* Not ended yet: a pass or a fail waits for ends_on; each entry is named. */
    backdate(f, s.id, "2025-07-01", "2099-07-04");
    before = writes(f);
    body = it_fmt("[{\"enrolment_id\": \"%s\", \"status\": \"attended\"},"
                  " {\"enrolment_id\": \"%s\", \"status\": \"passed\"}]",
                  e[0].id, e[1].id);
    it_postf(f->s, f->admin, body, &r, "/v1/training-sessions/%s/outcomes", s.id);
    it_assert_field_error_with(&r, "[1].status", "2099-07-04");
    assert_int_equal(json_array_size(json_object_get(r.json, "errors")), 1);
    it_resp_free(&r);
    free(body);
    assert_int_equal(writes(f), before);

    backdate(f, s.id, "2025-07-01", "2025-07-04");
    /* Every failure at once, and nothing written: an enrolment of another session, a
     * withdrawn one, one named twice, a status that is no outcome, an unknown field. */
    body = it_fmt("[{\"enrolment_id\": \"%s\", \"status\": \"passed\"},"
                  " {\"enrolment_id\": \"%s\", \"status\": \"passed\"},"
                  " {\"enrolment_id\": \"%s\", \"status\": \"failed\"},"
                  " {\"enrolment_id\": \"%s\", \"status\": \"passed\"},"
                  " {\"enrolment_id\": \"%s\", \"status\": \"passed\"}]",
                  e[0].id, ec.id, e[3].id, e[1].id, e[0].id);
    it_postf(f->s, f->admin, body, &r, "/v1/training-sessions/%s/outcomes", s.id);
    it_assert_field_error_with(&r, "[4].enrolment_id", "twice");
    it_resp_free(&r);
    free(body);
    body = it_fmt("[{\"enrolment_id\": \"%s\", \"status\": \"passed\"},"
                  " {\"enrolment_id\": \"%s\", \"status\": \"passed\"},"
                  " {\"enrolment_id\": \"%s\", \"status\": \"failed\"},"
                  " {\"enrolment_id\": \"%s\", \"status\": \"withdrawn\"},"
                  " {\"enrolment_id\": \"%s\", \"status\": \"passed\", \"note\": 1}]",
                  e[0].id, ec.id, e[3].id, e[1].id, e[2].id);
    it_postf(f->s, f->admin, body, &r, "/v1/training-sessions/%s/outcomes", s.id);
    it_assert_field_error_with(&r, "[3].status", "attended, passed, failed");
    it_assert_field_error_with(&r, "[4].note", NULL);
    it_resp_free(&r);
    free(body);
    body = it_fmt("[{\"enrolment_id\": \"%s\", \"status\": \"passed\"},"
                  " {\"enrolment_id\": \"%s\", \"status\": \"passed\"},"
                  " {\"enrolment_id\": \"%s\", \"status\": \"failed\"},"
                  " {\"enrolment_id\": \"%s\", \"status\": \"attended\"}]",
                  e[0].id, ec.id, e[3].id, NO_SUCH_ID);
    it_postf(f->s, f->admin, body, &r, "/v1/training-sessions/%s/outcomes", s.id);
    it_assert_field_error_with(&r, "[1].enrolment_id", "no enrolment");
    it_assert_field_error_with(&r, "[2].status", "withdrawn");
    it_assert_field_error_with(&r, "[3].enrolment_id", "no enrolment");
    assert_int_equal(json_array_size(json_object_get(r.json, "errors")), 3);
    it_resp_free(&r);
    free(body);
    /* A suspended facilitator cannot pass: the valid entries around it are not written either. */
    PQclear(it_sql(f->s, "UPDATE facilitator SET status = 'suspended' WHERE id = $1::uuid", p[2]));
    body = it_fmt("[{\"enrolment_id\": \"%s\", \"status\": \"passed\"},"
                  " {\"enrolment_id\": \"%s\", \"status\": \"passed\"}]",
                  e[0].id, e[2].id);
    it_postf(f->s, f->admin, body, &r, "/v1/training-sessions/%s/outcomes", s.id);
    it_assert_field_error_with(&r, "[1].status", "suspended");
    it_resp_free(&r);
    free(body);
    PQclear(
        it_sql(f->s, "UPDATE facilitator SET status = 'in_training' WHERE id = $1::uuid", p[2]));
    assert_int_equal(writes(f), before);
    before = writes(f);

    /* Bad bodies, other callers, other sessions. */
    it_expectf(f->s, "POST", f->admin, NULL, "{\"enrolment_id\": \"x\"}", 400,
               "/v1/training-sessions/%s/outcomes", s.id);
    it_postf(f->s, f->admin, "[]", &r, "/v1/training-sessions/%s/outcomes", s.id);
    it_assert_field_error(&r, "body");
    it_resp_free(&r);
    it_postf(f->s, f->admin, "[1]", &r, "/v1/training-sessions/%s/outcomes", s.id);
    it_assert_field_error(&r, "[0].enrolment_id");
    it_resp_free(&r);
    body = it_fmt("[{\"enrolment_id\": \"%s\", \"status\": \"passed\"}]", e[0].id);
    it_expectf(f->s, "POST", f->a_admin, NULL, body, 403, "/v1/training-sessions/%s/outcomes",
               s.id);
    it_expectf(f->s, "POST", f->admin, NULL, body, 404, "/v1/training-sessions/%s/outcomes",
               NO_SUCH_ID);
    it_expectf(f->s, "POST", f->admin, NULL, body, 404, "/v1/training-sessions/%s/outcomes",
               "not-a-session");
    free(body);
    PQclear(
        it_sql(f->s, "UPDATE training_session SET status = 'cancelled' WHERE id = $1::uuid", c.id));
    body = it_fmt("[{\"enrolment_id\": \"%s\", \"status\": \"attended\"}]", ec.id);
    it_expectf(f->s, "POST", f->admin, NULL, body, 409, "/v1/training-sessions/%s/outcomes", c.id);
    free(body);
    assert_int_equal(writes(f), before);

    /* All valid: 200 with the enrolments in the order given, each written and audited. */
    before = it_count(f->s, "SELECT count(*) FROM audit_event");
    snprintf(last, sizeof(last), "%ld", it_count(f->s, "SELECT max(id) FROM audit_event"));
    body = it_fmt("[{\"enrolment_id\": \"%s\", \"status\": \"failed\"},"
                  " {\"enrolment_id\": \"%s\", \"status\": \"passed\"},"
                  " {\"enrolment_id\": \"%s\", \"status\": \"attended\"}]",
                  e[2].id, e[0].id, e[1].id);
    it_postf(f->s, f->admin, body, &r, "/v1/training-sessions/%s/outcomes", s.id);
    it_assert_status(&r, 200);
    items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(it_jstr(json_array_get(items, 0), "id"), e[2].id);
    assert_string_equal(it_jstr(json_array_get(items, 0), "status"), "failed");
    assert_string_equal(it_jstr(json_array_get(items, 1), "id"), e[0].id);
    assert_string_equal(it_jstr(json_array_get(items, 1), "status"), "passed");
    assert_string_equal(it_jstr(json_array_get(items, 2), "status"), "attended");
    it_resp_free(&r);
    free(body);
    assert_string_equal(fac_value(f, p[0], "status", buf, sizeof(buf)), "accredited");
    assert_string_equal(fac_value(f, p[0], "accredited_until", buf, sizeof(buf)), "2028-07-04");
    assert_string_equal(fac_value(f, p[2], "status", buf, sizeof(buf)), "in_training");
    /* Three enrolment rows and the facilitator's accreditation. */
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM audit_event"), before + 4);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM audit_event WHERE resource_type = 'enrolment'"
                              " AND action = 'update' AND actor_id = $1::uuid"
                              " AND resource_id IN ($2, $3, $4)"
                              " AND id > $5::bigint",
                              f->admin_id, e[0].id, e[1].id, e[2].id, last),
                     3);
    /* Passed is final: the same batch again fails on each of those, and writes nothing. */
    before = writes(f);
    body = it_fmt("[{\"enrolment_id\": \"%s\", \"status\": \"failed\"},"
                  " {\"enrolment_id\": \"%s\", \"status\": \"passed\"}]",
                  e[0].id, e[1].id);
    it_postf(f->s, f->admin, body, &r, "/v1/training-sessions/%s/outcomes", s.id);
    it_assert_field_error_with(&r, "[0].status", "passed");
    it_resp_free(&r);
    free(body);
    assert_int_equal(writes(f), before);

    for (i = 0; i < 4; i++) {
        it_made_free(&e[i]);
        free(p[i]);
    }
    it_made_free(&ec);
    it_made_free(&c);
    it_made_free(&s);
}

TEST_MAIN(group_setup,
          it_fx_teardown,
          cmocka_unit_test(test_session_create),
          cmocka_unit_test(test_session_validation),
          cmocka_unit_test(test_session_update),
          cmocka_unit_test(test_session_list_pages_csv),
          cmocka_unit_test(test_enrolment_rules),
          cmocka_unit_test(test_last_place_race),
          cmocka_unit_test(test_withdraw_and_reenrol),
          cmocka_unit_test(test_practitioner_pass),
          cmocka_unit_test(test_refresher_pass),
          cmocka_unit_test(test_trainer_pass),
          cmocka_unit_test(test_enrolments_csv),
          cmocka_unit_test(test_awaiting_outcomes),
          cmocka_unit_test(test_trainer_course_needs_accreditation),
          cmocka_unit_test(test_outcomes_batch))
