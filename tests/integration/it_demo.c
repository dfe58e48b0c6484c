/* it_demo.c: `mpact-registry seed-demo` against a fresh database, twice. Both runs succeed and
 * the second adds nothing; the data has the promised shape (12 organisations in the UK in every
 * licence state and one in Cork, 60 facilitators in every status including lapsed, 4 training
 * sessions whose outcomes match the accreditations, 25 UK locations with postcodes, coordinates
 * and their local authority districts and one in Cork with an Eircode, its county and its town's
 * coordinates, every site's town in the gazetteer, 15 programme runs);
 * every programme run satisfies the licensing rules on its start date (licence active, location
 * the organisation's and active, enough facilitators, each eligible for that organisation); no
 * prison or school site is public; and the demo admin signs in with REGISTRY_DEMO_PASSWORD. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"

#define DEMO_PASSWORD "demo-seed-password-42"
#define DEMO_ADMIN    "admin@mpact-registry.example"

/* Row counts that must not change when the seed runs again. */
static const char *const counted_tables[] = {
    "organisation",
    "licence",
    "licence_status_history",
    "app_user",
    "facilitator",
    "facilitator_status_history",
    "facilitator_employment",
    "course",
    "training_session",
    "training_session_trainer",
    "enrolment",
    "postcode",
    "local_authority",
    "location",
    "place",
    "programme_run",
    "programme_facilitator",
    "programme_outcome",
    "reference_item",
    "outcome_measure",
};

#define NTABLES (sizeof(counted_tables) / sizeof(counted_tables[0]))

/* One server and database for the file: test_seed_twice runs first, on the fresh database; the
 * others seed again, which test_seed_twice shows adds nothing. */
IT_SETUP(setup, it_start("demo"))

/* Runs seed-demo and checks it succeeded cleanly and printed the demo accounts. */
static void
seed(struct it_server *s)
{
    static const char *const args[] = {"seed-demo", NULL};
    static const char *const env[] = {"REGISTRY_DEMO_PASSWORD=" DEMO_PASSWORD, NULL};
    char *out = NULL;
    int rc = it_exec(s, 0, args, env, NULL, 180, &out);

    if (rc != 0) {
        fprintf(stderr, "seed-demo exited %d:\n%s\n", rc, out != NULL ? out : "");
    }
    assert_int_equal(rc, 0);
    assert_non_null(out);
    it_assert_clean_output(out);
    assert_non_null(strstr(out, DEMO_ADMIN));
    assert_non_null(strstr(out, DEMO_PASSWORD));
    free(out);
}

static void
count_tables(struct it_server *s, long *out)
{
    size_t i;

    for (i = 0; i < NTABLES; i++) {
        char *sql = it_fmt("SELECT count(*) FROM %s", counted_tables[i]);
        out[i] = it_count(s, sql);
        free(sql);
    }
}

/* The count of the summary section `section` whose `key` field is `value`, or -1. */
static long
summary_count(json_t *summary, const char *section, const char *key, const char *value)
{
    json_t *item;
    size_t i;

    json_array_foreach(json_object_get(summary, section), i, item)
    {
        const char *v = json_string_value(json_object_get(item, key));
        if (v != NULL && strcmp(v, value) == 0) {
            return (long)json_integer_value(json_object_get(item, "count"));
        }
    }
    return -1;
}

static void
test_seed_twice(void **state)
{
    struct it_server *s = *state;
    long first[NTABLES], second[NTABLES];
    char *facs_first, *facs_second;
    size_t i;

    seed(s);
    count_tables(s, first);
    facs_first = it_sql_text(
        s, "SELECT string_agg(id || '=' || registration_number || '/' || status || '/'"
           " || coalesce(accredited_until::text, '-'), ',' ORDER BY id) FROM facilitator");

    seed(s);
    count_tables(s, second);
    for (i = 0; i < NTABLES; i++) {
        if (first[i] != second[i]) {
            fprintf(stderr, "%s: %ld rows after the first run, %ld after the second\n",
                    counted_tables[i], first[i], second[i]);
        }
        assert_int_equal(first[i], second[i]);
    }
    facs_second = it_sql_text(
        s, "SELECT string_agg(id || '=' || registration_number || '/' || status || '/'"
           " || coalesce(accredited_until::text, '-'), ',' ORDER BY id) FROM facilitator");
    assert_string_equal(facs_first, facs_second);
    free(facs_first);
    free(facs_second);

    /* The promised sizes. */
    assert_int_equal(it_count(s, "SELECT count(*) FROM organisation"), 13);
    assert_int_equal(it_count(s, "SELECT count(*) FROM facilitator"), 60);
    assert_int_equal(it_count(s, "SELECT count(*) FROM training_session"), 4);
    assert_int_equal(it_count(s, "SELECT count(*) FROM location"), 26);
    assert_int_equal(it_count(s, "SELECT count(*) FROM programme_run"), 15);
    assert_true(it_count(s, "SELECT count(*) FROM course") >= 3);
    /* Demo organisations referenced by the demo accounts exist. */
    assert_int_equal(it_count(s, "SELECT count(*) FROM app_user u WHERE u.role <> 'admin'"
                                 " AND NOT EXISTS (SELECT 1 FROM organisation o"
                                 "                 WHERE o.id = u.organisation_id)"),
                     0);
}

/* Fails unless the count `sql` ($1: each of the `n` `values`) is at least one for every value,
 * naming the first that is not found after `what`. */
static void
each_found(
    struct it_server *s, const char *what, const char *sql, const char *const values[], size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        long found = it_count(s, sql, values[i]);

        if (found < 1) {
            fprintf(stderr, "%s%s\n", what, values[i]);
        }
        assert_true(found >= 1);
    }
}

static void
test_shape(void **state)
{
    static const char *const fac_statuses[] = {"in_training", "accredited", "lapsed", "suspended",
                                               "withdrawn"};
    static const char *const lic_statuses[] = {"active",  "pending", "suspended",
                                               "expired", "revoked", "none"};
    static const char *const reasons[] = {"not_accredited",      "accreditation_lapsed",
                                          "suspended",           "withdrawn",
                                          "no_current_employer", "employer_licence_not_active"};
    struct it_server *s = *state;

    seed(s);
    /* Every facilitator status, lapsed computed from the date. */
    each_found(s, "no facilitator is ",
               "SELECT count(*) FROM facilitator f WHERE CASE WHEN f.status = "
               "'accredited' AND f.accredited_until < registry_today() THEN 'lapsed'"
               " ELSE f.status END = $1",
               fac_statuses, IT_LEN(fac_statuses));
    /* The eligibility verdict today gives every reason code for someone. */
    each_found(s, "no facilitator has reason ",
               "SELECT count(*) FROM facilitator f,"
               " facilitator_eligibility(f.id, registry_today()) e"
               " WHERE $1 = ANY (e.reasons)",
               reasons, IT_LEN(reasons));
    assert_true(it_count(s, "SELECT count(*) FROM facilitator f,"
                            " facilitator_eligibility(f.id, registry_today()) e WHERE e.eligible")
                >= 10);
    /* Every licence state, by the organisations' latest licence. */
    each_found(s, "no organisation's licence is ",
               "SELECT count(*) FROM organisation o WHERE coalesce((SELECT"
               " licence_effective_status(l.status, l.valid_until, registry_today())"
               " FROM licence l WHERE l.organisation_id = o.id"
               " ORDER BY l.created_at DESC, l.id DESC LIMIT 1), 'none') = $1",
               lic_statuses, IT_LEN(lic_statuses));
    /* Each licence's history agrees with the licence: its latest row is the stored status,
     * and its first row is dated no later than valid_from (pending ones excepted). */
    assert_int_equal(it_count(s, "SELECT count(*) FROM licence l WHERE l.status <> (SELECT h.status"
                                 " FROM licence_status_history h WHERE h.licence_id = l.id"
                                 " ORDER BY h.changed_at DESC, h.id DESC LIMIT 1)"),
                     0);
    assert_int_equal(it_count(s, "SELECT count(*) FROM licence l WHERE l.status <> 'pending'"
                                 " AND (SELECT min(h.changed_at AT TIME ZONE 'Europe/London')::date"
                                 "      FROM licence_status_history h WHERE h.licence_id = l.id)"
                                 "     > l.valid_from"),
                     0);
    /* Each facilitator's latest history row matches the stored record. */
    assert_int_equal(
        it_count(s, "SELECT count(*) FROM facilitator f WHERE (SELECT (h.status,"
                    " h.accredited_until) FROM facilitator_status_history h"
                    " WHERE h.facilitator_id = f.id ORDER BY h.effective_on DESC, h.id DESC"
                    " LIMIT 1) IS DISTINCT FROM (f.status, f.accredited_until)"),
        0);
    /* Training outcomes match the accreditations: each practitioner pass accredited the
     * person from the session's last day for the course's months; each refresher pass extended
     * it from the session's last day. */
    assert_int_equal(
        it_count(s,
                 "SELECT count(*) FROM enrolment e JOIN training_session t ON t.id = e.session_id"
                 " JOIN course c ON c.id = t.course_id"
                 " WHERE e.status = 'passed' AND c.kind IN ('practitioner', 'refresher')"
                 "   AND NOT EXISTS (SELECT 1 FROM facilitator_status_history h"
                 "       WHERE h.facilitator_id = e.facilitator_id AND h.status = 'accredited'"
                 "         AND h.effective_on = t.ends_on"
                 "         AND h.accredited_until"
                 "             = (t.ends_on + make_interval(months => c.grants_months))::date)"),
        0);
    /* Nobody is accredited without a record of how (a pass, or a carried-over record). */
    assert_int_equal(it_count(s, "SELECT count(*) FROM facilitator f WHERE f.status = 'in_training'"
                                 " AND EXISTS (SELECT 1 FROM enrolment e WHERE e.facilitator_id"
                                 " = f.id AND e.status = 'passed')"),
                     0);
    assert_int_equal(it_count(s, "SELECT count(*) FROM course WHERE code = 'MPACT-PRAC'"
                                 " AND kind = 'practitioner' AND grants_months = 36"
                                 " AND accrediting_body = 'University of Bath'"),
                     1);
    assert_true(it_count(s, "SELECT count(*) FROM training_session WHERE status = 'completed'")
                >= 3);
    assert_true(it_count(s, "SELECT count(*) FROM enrolment WHERE status = 'passed'") >= 20);
    assert_true(it_count(s, "SELECT count(*) FROM training_session_trainer tt"
                            " JOIN facilitator f ON f.id = tt.facilitator_id WHERE f.trainer")
                >= 4);

    /* Locations: prison and school sites never public; every kind but `other` present; each
     * with coordinates from a postcode row; real-format postcodes (the table's check). */
    assert_int_equal(it_count(s, "SELECT count(*) FROM location WHERE public"
                                 " AND kind IN ('prison', 'school')"),
                     0);
    assert_int_equal(it_count(s, "SELECT count(DISTINCT kind) FROM location WHERE kind IN"
                                 " ('community', 'family_centre', 'school', 'prison', 'health')"),
                     5);
    assert_int_equal(it_count(s, "SELECT count(*) FROM location l WHERE l.country = 'GB' AND"
                                 " (l.latitude IS NULL OR NOT EXISTS (SELECT 1 FROM postcode p"
                                 " WHERE p.postcode = l.postcode AND p.latitude = l.latitude"
                                 " AND p.longitude = l.longitude))"),
                     0);
    /* The site in Ireland: an Eircode, county Cork, its town's coordinates from the gazetteer,
     * which holds the town of every demo site. */
    assert_int_equal(it_count(s, "SELECT count(*) FROM location l JOIN place p ON p.name = l.town"
                                 " AND p.country = 'IE' AND p.latitude = l.latitude"
                                 " WHERE l.country = 'IE' AND l.county = 'IE-CO'"
                                 " AND l.postcode = 'T12 K8AF' AND l.public"),
                     1);
    assert_int_equal(it_count(s, "SELECT count(*) FROM location l WHERE NOT EXISTS"
                                 " (SELECT 1 FROM place p WHERE p.name = l.town)"),
                     0);
    assert_true(it_count(s, "SELECT count(*) FROM postcode") > 25);

    /* Every site is in its district (Medway's three in Medway, E06000035), named, with its
     * country; every organisation but revoked Sparkbrook serves known districts, its sites'. */
    assert_int_equal(it_count(s, "SELECT count(*) FROM location l JOIN postcode p"
                                 " ON p.postcode = l.postcode AND p.ctry IS NOT NULL"
                                 " JOIN local_authority a ON a.code = p.oslaua"),
                     25);
    assert_int_equal(it_count(s, "SELECT count(*) FROM location l JOIN postcode p"
                                 " ON p.postcode = l.postcode WHERE p.oslaua = 'E06000035'"
                                 " AND l.organisation_id = '7b0c1a3e-0000-4000-8000-000000000001'"),
                     3);
    assert_int_equal(it_count(s, "SELECT count(*) FROM organisation WHERE serves_areas <> '{}'"),
                     11);
    assert_int_equal(it_count(s, "SELECT count(*) FROM organisation o, unnest(o.serves_areas) c"
                                 " WHERE c NOT IN (SELECT code FROM local_authority)"),
                     0);
    assert_int_equal(it_count(s, "SELECT count(*) FROM location l JOIN organisation o"
                                 " ON o.id = l.organisation_id JOIN postcode p"
                                 " ON p.postcode = l.postcode WHERE o.serves_areas <> '{}'"
                                 " AND p.oslaua <> ALL (o.serves_areas)"),
                     0);

    /* Runs past and upcoming; completed ones carry their figures. */
    assert_true(it_count(s, "SELECT count(*) FROM programme_run WHERE starts_on > registry_today()"
                            " AND status IN ('planned', 'recruiting')")
                >= 3);
    assert_true(it_count(s, "SELECT count(*) FROM programme_run WHERE status = 'completed'") >= 5);
    assert_int_equal(it_count(s, "SELECT count(*) FROM programme_run WHERE status = 'completed'"
                                 " AND (families_started IS NULL OR families_completed IS NULL"
                                 "      OR sessions_delivered IS NULL OR sessions_planned IS NULL"
                                 "      OR ends_on >= registry_today())"),
                     0);
}

/* The rules of issue 3 for run r on date d, as SQL: the count of broken rules over the runs. */
#define RUN_VIOLATIONS                                                                             \
    "SELECT count(*) FROM programme_run r JOIN programme_variant v ON v.code = r.variant"          \
    " JOIN location l ON l.id = r.location_id"                                                     \
    " WHERE %s AND (NOT organisation_licensed_on(r.organisation_id, r.starts_on)"                  \
    "   OR (r.starts_on >= registry_today()"                                                       \
    "       AND NOT organisation_licensed_on(r.organisation_id, r.ends_on))"                       \
    "   OR l.organisation_id <> r.organisation_id OR NOT l.active OR l.archived_at IS NOT NULL"    \
    "   OR r.families_enrolled > r.capacity_families"                                              \
    "   OR (SELECT count(*) FROM programme_facilitator pf,"                                        \
    "       facilitator_eligibility(pf.facilitator_id, r.starts_on) e"                             \
    "       WHERE pf.run_id = r.id AND e.eligible AND e.organisation_id = r.organisation_id)"      \
    "      < v.min_facilitators"                                                                   \
    "   OR EXISTS (SELECT 1 FROM programme_facilitator pf,"                                        \
    "       facilitator_eligibility(pf.facilitator_id, r.starts_on) e"                             \
    "       WHERE pf.run_id = r.id"                                                                \
    "         AND (NOT e.eligible OR e.organisation_id IS DISTINCT FROM r.organisation_id)))"

static void
test_runs_follow_rules(void **state)
{
    struct it_server *s = *state;
    char *upcoming = it_fmt(RUN_VIOLATIONS, "r.starts_on >= registry_today()"
                                            " AND r.status <> 'cancelled'");
    char *all = it_fmt(RUN_VIOLATIONS, "true");
    PGresult *res;
    int i;

    seed(s);
    assert_true(it_count(s, "SELECT count(*) FROM programme_run WHERE starts_on >= registry_today()"
                            " AND status <> 'cancelled'")
                >= 3);
    assert_int_equal(it_count(s, upcoming), 0);
    /* Past runs were within the rules on their own start dates too. */
    assert_int_equal(it_count(s, all), 0);

    /* The verdict per upcoming run and facilitator, for a readable failure. */
    res = it_sql(s, "SELECT r.id, pf.facilitator_id, e.eligible, e.reasons::text"
                    " FROM programme_run r JOIN programme_facilitator pf ON pf.run_id = r.id,"
                    " facilitator_eligibility(pf.facilitator_id, r.starts_on) e"
                    " WHERE r.starts_on >= registry_today() AND r.status <> 'cancelled'");
    assert_true(PQntuples(res) >= 6);
    for (i = 0; i < PQntuples(res); i++) {
        if (strcmp(PQgetvalue(res, i, 2), "t") != 0) {
            fprintf(stderr, "run %s: facilitator %s not eligible: %s\n", PQgetvalue(res, i, 0),
                    PQgetvalue(res, i, 1), PQgetvalue(res, i, 3));
        }
        assert_string_equal(PQgetvalue(res, i, 2), "t");
    }
    PQclear(res);
    free(upcoming);
    free(all);
}

static void
test_demo_accounts(void **state)
{
    struct it_server *s = *state;
    struct it_resp r;
    char *admin, *manager;

    seed(s);
    seed(s); /* the password of the second run is the one that signs in */
    admin = it_login(s, DEMO_ADMIN, DEMO_PASSWORD);
    it_get(s, "/v1/reports/summary", admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(summary_count(r.json, "facilitators", "status", "lapsed"),
                     it_count(s, "SELECT count(*) FROM facilitator WHERE status = 'accredited'"
                                 " AND accredited_until < registry_today()"));
    assert_true(summary_count(r.json, "facilitators", "status", "lapsed") >= 1);
    assert_true(summary_count(r.json, "organisations", "licence_status", "none") >= 1);
    assert_int_equal(json_array_size(json_object_get(r.json, "practitioners_trained")) > 0, 1);
    it_resp_free(&r);
    /* Something expires soon, to show on the expiring report. */
    it_get(s, "/v1/reports/expiring?within_days=60", admin, &r);
    it_assert_status(&r, 200);
    assert_true(json_array_size(json_object_get(r.json, "items")) >= 2);
    it_resp_free(&r);
    it_expect_items(s, admin, 13, "%s", "/v1/organisations?limit=100");

    manager = it_login(s, "manager@medway-recovery.example", DEMO_PASSWORD);
    it_expect(s, "GET", "/v1/reports/summary", manager, NULL, 403);
    free(manager);
    free(admin);
}

/* Every completed demo run has a delivery record that passes the rules (it is PUT back as it is
 * read, and accepted), run 12 is the briefing's run (5 families, every carer female), and each
 * holds statistics for every seeded measure, with an interval. */
static void
test_delivery_records(void **state)
{
    struct it_server *s = *state;
    static const char *const derived[] = {"programme_id", "organisation_id", "status",
                                          "capacity_families", "updated_at"};
    char *admin = it_login(s, DEMO_ADMIN, DEMO_PASSWORD), *ids, *id, *save = NULL, *text;
    struct it_resp r;
    json_t *item;
    size_t i, runs = 0;

    ids = it_sql_text(s, "SELECT string_agg(id::text, ' ' ORDER BY id) FROM programme_run"
                         " WHERE status = 'completed'");
    for (id = strtok_r(ids, " ", &save); id != NULL; id = strtok_r(NULL, " ", &save), runs++) {
        char *path = it_fmt("/v1/programmes/%s/delivery", id), *etag;

        it_get(s, path, admin, &r);
        it_assert_status(&r, 200);
        assert_non_null(json_object_get(r.json, "referrals_by_source"));
        etag = strdup(it_header(&r, "ETag"));
        for (i = 0; i < sizeof(derived) / sizeof(derived[0]); i++) {
            json_object_del(r.json, derived[i]);
        }
        text = json_dumps(r.json, JSON_COMPACT);
        it_resp_free(&r);
        it_putf(s, admin, etag, text, &r, "%s", path);
        if (r.status != 200) {
            it_resp_print(&r);
        }
        it_assert_status(&r, 200);
        it_resp_free(&r);
        it_getf(s, admin, &r, "/v1/programmes/%s/outcomes", id);
        it_assert_status(&r, 200);
        assert_int_equal(json_array_size(json_object_get(r.json, "items")), 5);
        json_array_foreach(json_object_get(r.json, "items"), i, item)
        {
            assert_non_null(json_object_get(item, "ci95"));
        }
        it_resp_free(&r);
        free(text);
        free(etag);
        free(path);
    }
    assert_int_equal(runs, 7);
    assert_int_equal(it_count(s, "SELECT count(*) FROM programme_run p,"
                                 " jsonb_each(p.adults_by_relationship) a, jsonb_each(a.value) g"
                                 " WHERE p.id = '9a000000-0000-4000-8000-000000000012'"
                                 " AND g.key <> 'female'"),
                     0);
    assert_int_equal(it_count(s, "SELECT families_started FROM programme_run"
                                 " WHERE id = '9a000000-0000-4000-8000-000000000012'"),
                     5);
    free(ids);
    free(admin);
}

TEST_MAIN(setup,
          it_teardown,
          cmocka_unit_test(test_seed_twice),
          cmocka_unit_test(test_shape),
          cmocka_unit_test(test_runs_follow_rules),
          cmocka_unit_test(test_demo_accounts),
          cmocka_unit_test(test_delivery_records))
