/* it_public_limits.c: how the public routes behave on the internet, over HTTP against the real
 * server: Cache-Control and ETag on every successful public answer, If-None-Match answered 304
 * without a body, Access-Control-Allow-Origin: * on public GETs and preflights (and not on an
 * authenticated route), the per-client rate limit (429 problem with Retry-After after the limit,
 * holding across concurrent connections and worker threads), and no searched postcode,
 * coordinates or name in the server's log. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"

#define ADMIN_EMAIL "admin@public-limits.example"
#define PASSWORD    "public-limits-password-1"

static const char *const no_limit_env[] = {"REGISTRY_PUBLIC_RATE_LIMIT=0", NULL};
static const char *const limit5_env[] = {"REGISTRY_PUBLIC_RATE_LIMIT=5", NULL};

struct fx {
    IT_FX_HEAD;
    char number[32]; /* a facilitator on the register */
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    PGresult *res;

    f->s = it_start_env("public_limits", no_limit_env);
    PQclear(it_sql(f->s, "INSERT INTO postcode (postcode, latitude, longitude)"
                         " VALUES ('TQ9 7QW', 50.4321987, -3.6854321)"));
    res = it_sql(f->s, "INSERT INTO facilitator (given_name, family_name, status, accredited_on,"
                       " accredited_until) VALUES ('Zebedee', 'Quillfeather', 'accredited',"
                       " DATE '2020-01-01', registry_today() + 30) RETURNING registration_number");
    snprintf(f->number, sizeof(f->number), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    *state = f;
    return 0;
}

/* Checks the caching headers of a 200 (`visibility`: "public", or "private" for the provider
 * searches, whose URLs carry a family's postcode or position), then that its ETag gets a 304
 * without a body, and that another tag gets the 200 again. */
static void
check_cacheable(struct it_server *s, const char *path, const char *visibility)
{
    struct it_resp r, again;
    char *etag, *inm;
    const char *h[2] = {NULL, NULL};

    it_get(s, path, NULL, &r);
    it_assert_status(&r, 200);
    it_assert_header(&r, "Cache-Control", visibility);
    it_assert_header(&r, "Cache-Control", "max-age=60");
    it_assert_header(&r, "ETag", "\"");
    it_assert_header(&r, "Access-Control-Allow-Origin", "*");
    it_assert_header(&r, "Content-Type", "application/json");
    etag = strdup(it_header(&r, "ETag"));

    /* The same answer carries the same tag. */
    it_get(s, path, NULL, &again);
    it_assert_status(&again, 200);
    assert_string_equal(it_header(&again, "ETag"), etag);
    assert_string_equal(again.body, r.body);
    it_resp_free(&again);

    inm = it_fmt("If-None-Match: %s", etag);
    h[0] = inm;
    it_request(s, "GET", path, NULL, h, NULL, &again);
    it_assert_status(&again, 304);
    assert_int_equal(again.len, 0);
    it_assert_header(&again, "ETag", etag);
    it_assert_header(&again, "Cache-Control", "max-age=60");
    it_resp_free(&again);
    free(inm);

    h[0] = "If-None-Match: \"0000000000000000\"";
    it_request(s, "GET", path, NULL, h, NULL, &again);
    it_assert_status(&again, 200);
    assert_string_equal(again.body, r.body);
    it_resp_free(&again);
    it_resp_free(&r);
    free(etag);
}

static void
test_cache_and_304(void **state)
{
    struct fx *f = *state;
    char *path = it_fmt("/v1/public/facilitators/%s", f->number);

    check_cacheable(f->s, "/v1/public/providers?postcode=TQ9%207QW&radius_km=30", "private");
    check_cacheable(f->s, "/v1/public/providers?lat=51.5&lon=-0.12", "private");
    check_cacheable(f->s, path, "public");
    check_cacheable(f->s, "/v1/public/facilitators?name=zebedee", "public");
    free(path);
}

static void
test_cors(void **state)
{
    struct fx *f = *state;
    static const char *const preflight[] = {
        "Origin: https://families.example",
        "Access-Control-Request-Method: GET",
        NULL,
    };
    struct it_resp r;
    char *token;

    /* Errors on public routes too: a browser must be able to read the problem. */
    it_get(f->s, "/v1/public/providers?postcode=nonsense", NULL, &r);
    it_assert_problem(&r, 400);
    it_assert_header(&r, "Access-Control-Allow-Origin", "*");
    it_resp_free(&r);

    it_request(f->s, "OPTIONS", "/v1/public/providers", NULL, preflight, NULL, &r);
    assert_true(r.status == 204 || r.status == 200);
    it_assert_header(&r, "Access-Control-Allow-Origin", "*");
    it_assert_header(&r, "Access-Control-Allow-Methods", "GET");
    it_resp_free(&r);
    it_request(f->s, "OPTIONS", "/v1/public/facilitators/MPF-000001", NULL, preflight, NULL, &r);
    assert_true(r.status == 204 || r.status == 200);
    it_assert_header(&r, "Access-Control-Allow-Origin", "*");
    it_resp_free(&r);

    /* Not on an authenticated route, signed in or not, nor its preflight. */
    assert_int_equal(it_create_admin(f->s, ADMIN_EMAIL, PASSWORD), 0);
    token = it_login(f->s, ADMIN_EMAIL, PASSWORD);
    it_get(f->s, "/v1/organisations", token, &r);
    it_assert_status(&r, 200);
    assert_null(it_header(&r, "Access-Control-Allow-Origin"));
    it_resp_free(&r);
    it_get(f->s, "/v1/organisations", NULL, &r);
    it_assert_problem(&r, 401);
    assert_null(it_header(&r, "Access-Control-Allow-Origin"));
    it_resp_free(&r);
    it_request(f->s, "OPTIONS", "/v1/organisations", NULL, preflight, NULL, &r);
    assert_null(it_header(&r, "Access-Control-Allow-Origin"));
    it_resp_free(&r);
    free(token);
}

static void
test_no_search_in_log(void **state)
{
    struct fx *f = *state;
    static const char *const paths[] = {
        "/v1/public/providers?postcode=TQ9%207QW&radius_km=40",
        "/v1/public/providers?postcode=tq97qw",
        "/v1/public/providers?postcode=TQ9",
        "/v1/public/providers?postcode=TQ9%207QX",
        "/v1/public/providers?postcode=TQ9%207QW%21%21",
        "/v1/public/providers?lat=52.1234567&lon=-1.7654321",
        "/v1/public/providers?lat=52.1234567&lon=-91.7654321",
        "/v1/public/facilitators?name=Zebedee",
        "/v1/public/facilitators?name=Quillfea",
        NULL,
    };
    static const char *const secrets[] = {
        "TQ9", "tq9", "7QW", "7QX", "52.123", "1.765", "Zebedee", "Quillfea", "50.432", NULL,
    };
    struct it_resp r;
    char *log;
    size_t i;

    for (i = 0; paths[i] != NULL; i++) {
        it_get(f->s, paths[i], NULL, &r);
        assert_true(r.status == 200 || r.status == 400 || r.status == 404);
        it_resp_free(&r);
    }
    /* The last request's line is in the log once it is written. */
    assert_true(it_log_wait(f->s, "GET /v1/public/facilitators 200", 5000));
    log = it_log(f->s);
    assert_non_null(strstr(log, "GET /v1/public/providers 200"));
    assert_non_null(strstr(log, "GET /v1/public/providers 404"));
    assert_non_null(strstr(log, "GET /v1/public/providers 400"));
    for (i = 0; secrets[i] != NULL; i++) {
        if (strstr(log, secrets[i]) != NULL) {
            fprintf(stderr, "the log holds '%s':\n%s\n", secrets[i], log);
            fail();
        }
    }
    free(log);
}

static void
test_rate_limit(void **state)
{
    struct it_server *s = it_start_env("public_limit5", limit5_env);
    struct it_resp r;
    const char *retry;
    int i;

    (void)state;
    for (i = 0; i < 5; i++) {
        it_expect(s, "GET", "/v1/public/providers?lat=51.5&lon=-0.12", NULL, NULL, 200);
    }
    it_get(s, "/v1/public/providers?lat=51.5&lon=-0.12", NULL, &r);
    it_assert_problem(&r, 429);
    retry = it_header(&r, "Retry-After");
    assert_non_null(retry);
    assert_true(atoi(retry) >= 1 && atoi(retry) <= 60);
    it_resp_free(&r);
    /* Every open route shares the client's allowance. */
    it_expect(s, "GET", "/v1/public/facilitators?name=anyone", NULL, NULL, 429);
    /* Routes that are not open are not limited. */
    it_expect(s, "GET", "/healthz", NULL, NULL, 200);
    it_stop(s);
}

#define THREADS    8
#define PER_THREAD 3

struct hammer {
    struct it_server *s;
    int ok, limited, other;
};

static void *
hammer_run(void *arg)
{
    struct hammer *h = arg;
    struct it_resp r;
    int i;

    for (i = 0; i < PER_THREAD; i++) {
        it_get(h->s, "/v1/public/providers?lat=51.5&lon=-0.12", NULL, &r);
        if (r.status == 200) {
            h->ok++;
        } else if (r.status == 429 && it_header(&r, "Retry-After") != NULL) {
            h->limited++;
        } else {
            h->other++;
        }
        it_resp_free(&r);
    }
    return NULL;
}

static void
test_rate_limit_concurrent(void **state)
{
    struct it_server *s = it_start_env("public_limit5c", limit5_env);
    struct hammer h[THREADS];
    pthread_t t[THREADS];
    struct timespec a, b;
    int i, ok = 0, limited = 0, other = 0, refills;

    (void)state;
    memset(h, 0, sizeof(h));
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (i = 0; i < THREADS; i++) {
        h[i].s = s;
        assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &h[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += h[i].ok;
        limited += h[i].limited;
        other += h[i].other;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    /* 5 a minute: one more token every 12 s the burst took. */
    refills = (int)((b.tv_sec - a.tv_sec) / 12);
    fprintf(stderr, "concurrent: %d ok, %d limited, %d other, %ld s\n", ok, limited, other,
            (long)(b.tv_sec - a.tv_sec));
    assert_int_equal(other, 0);
    assert_int_equal(ok + limited, THREADS * PER_THREAD);
    assert_true(ok >= 5 && ok <= 5 + refills);
    it_stop(s);
}

TEST_MAIN(setup,
          it_fx_teardown,
          cmocka_unit_test(test_cache_and_304),
          cmocka_unit_test(test_cors),
          cmocka_unit_test(test_no_search_in_log),
          cmocka_unit_test(test_rate_limit),
          cmocka_unit_test(test_rate_limit_concurrent))
