/* it_pg_restart.c: the service survives PostgreSQL restarting under it. During the outage every
 * database-backed request gets 503 problem+json (/readyz too, /healthz stays 200); once
 * PostgreSQL is back, the first request on every pooled connection succeeds, because a dead
 * connection is reset and its statements prepared again.
 *
 * The test runs a PostgreSQL cluster of its own (pg.sh start in a private directory), so the
 * shared test cluster, and the tests running on it in parallel, are never disturbed. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"

#define ADMIN_EMAIL "admin@restart.example"
#define PASSWORD    "restart-test-password-1"
#define POOL        4

struct fx {
    IT_PRIVATE_FX_HEAD; /* org_id: an organisation made before the first outage */
    int cluster_made;
};

/* ---- The private cluster ----------------------------------------------------------------------
 */

static void
cluster(struct fx *f, const char *cmd)
{
    const char *const start[] = {"start", "--no-fsync", f->dir, "registry", NULL};
    const char *const other[] = {cmd, f->dir, NULL};
    int rc = it_pg_sh(strcmp(cmd, "start") == 0 ? start : other);

    if (rc != 0) {
        fail_msg("pg.sh %s %s exited %d", cmd, f->dir, rc);
    }
}

static long
count_lock_waiters(PGconn *monitor)
{
    PGresult *res = PQexec(monitor, "SELECT count(*) FROM pg_stat_activity"
                                    " WHERE datname = current_database()"
                                    " AND wait_event_type = 'Lock'");
    long n;

    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

/* Holds an exclusive lock on the organisation table (even plain reads and PREPAREs of
 * statements on it wait) until unlock. */
static PGconn *
lock_table(struct fx *f)
{
    PGconn *c = it_connect(f->url);
    PGresult *res = PQexec(c, "BEGIN; LOCK TABLE organisation IN ACCESS EXCLUSIVE MODE");

    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    return c;
}

static void
unlock_table(PGconn *c)
{
    it_commit_close(c);
}

/* ---- Requests ---------------------------------------------------------------------------------
 */

static char *
sign_in(struct fx *f)
{
    return it_login(f->s, ADMIN_EMAIL, PASSWORD);
}

static void
assert_problem_no_sql(const struct it_resp *r, long status)
{
    it_assert_problem(r, status);
    it_assert_absent(r->body, "ERROR", "connection", "server closed", "socket", NULL);
}

struct call {
    struct fx *f;
    const char *method; /* "GET" or "PATCH" */
    char *town;         /* PATCH only */
    long status;
};

static void *
run_call(void *arg)
{
    struct call *c = arg;
    char *path = it_fmt("/v1/organisations/%s", c->f->org_id);
    struct it_resp r;

    if (strcmp(c->method, "GET") == 0) {
        it_get(c->f->s, path, c->f->admin, &r);
    } else {
        char *body = it_fmt("{\"town\": \"%s\"}", c->town);
        it_patch_json(c->f->s, path, c->f->admin, "*", body, &r);
        free(body);
    }
    c->status = r.status;
    if (r.status != 200) {
        it_resp_print(&r);
    }
    it_resp_free(&r);
    free(path);
    return NULL;
}

/* Starts `n` requests at once on threads `t`, each with its `c` (its town named `town` and its
 * number). */
static void
start_calls(struct fx *f, const char *method, const char *town, int n, pthread_t *t, struct call *c)
{
    int i;

    for (i = 0; i < n; i++) {
        c[i].f = f;
        c[i].method = method;
        c[i].town = it_fmt("%s %d", town, i);
        c[i].status = 0;
        assert_int_equal(pthread_create(&t[i], NULL, run_call, &c[i]), 0);
    }
}

/* Waits for the `n` requests of start_calls and returns how many answered 200. */
static int
join_calls(int n, pthread_t *t, struct call *c)
{
    int i, ok = 0;

    for (i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        ok += c[i].status == 200;
        free(c[i].town);
    }
    return ok;
}

/* Sends `n` requests at once and returns how many answered 200. */
static int
concurrent(struct fx *f, const char *method, int n, pthread_t *t, struct call *c)
{
    start_calls(f, method, "Town", n, t, c);
    return join_calls(n, t, c);
}

/* The outage: PostgreSQL is down; every database-backed request gets 503, fast. */
static void
check_outage(struct fx *f)
{
    char *path = it_fmt("/v1/organisations/%s", f->org_id);
    struct it_resp r;
    int i;

    for (i = 0; i < POOL + 2; i++) {
        struct timespec t0, t1;
        double ms;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        it_get(f->s, path, f->admin, &r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_problem_no_sql(&r, 503);
        assert_non_null(it_header(&r, "Retry-After"));
        it_resp_free(&r);
        ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        assert_true(ms < 5000);
    }
    it_get(f->s, "/v1/organisations", f->admin, &r);
    assert_problem_no_sql(&r, 503);
    it_resp_free(&r);
    it_post_json(f->s, "/v1/organisations", f->admin,
                 "{\"name\": \"During Outage\", \"kind\": \"other\", \"address_lines\": [\"x\"],"
                 " \"town\": \"y\", \"postcode\": \"ME4 4AB\"}",
                 &r);
    assert_problem_no_sql(&r, 503);
    it_resp_free(&r);
    it_patch_json(f->s, path, f->admin, "*", "{\"town\": \"Outage\"}", &r);
    assert_problem_no_sql(&r, 503);
    it_resp_free(&r);
    /* Sign-in needs the database too: 503, not 401 and not 500. */
    it_post_json(f->s, "/v1/auth/token", NULL,
                 "{\"email\": \"" ADMIN_EMAIL "\", \"password\": \"" PASSWORD "\"}", &r);
    assert_problem_no_sql(&r, 503);
    it_resp_free(&r);
    it_get(f->s, "/readyz", NULL, &r);
    assert_problem_no_sql(&r, 503);
    it_resp_free(&r);
    it_expect(f->s, "GET", "/healthz", NULL, NULL, 200);
    free(path);
}

/* After PostgreSQL is back, holds every pooled connection in a first request at once (they
 * all wait on a table lock) so each of them has to recover, then lets them finish. */
static void
check_every_connection_recovers(struct fx *f, const char *method)
{
    PGconn *lock = lock_table(f), *monitor = it_connect(f->url);
    pthread_t t[POOL];
    struct call c[POOL];
    int i, ok;

    start_calls(f, method, "Recovered", POOL, t, c);
    /* Every pooled connection is now taken by a first request, reconnected, and waiting. */
    for (i = 0; i < 1000 && count_lock_waiters(monitor) < POOL; i++) {
        it_sleep_ms(10);
    }
    if (count_lock_waiters(monitor) < POOL) {
        unlock_table(lock);
        for (i = 0; i < POOL; i++) {
            pthread_join(t[i], NULL);
        }
        fail_msg("expected %d pooled connections to wait on the lock", POOL);
    }
    unlock_table(lock);
    PQfinish(monitor);
    ok = join_calls(POOL, t, c);
    if (ok != POOL) {
        it_log_tail(f->s, 40);
        fail_msg("%s after the restart: %d of %d first requests answered 200", method, ok, POOL);
    }
}

/* ---- Fixture ----------------------------------------------------------------------------------
 */

IT_SETUP(setup, it_private_fx_new(sizeof(struct fx), "pgr"))

static int
teardown(void **state)
{
    struct fx *f = *state;

    if (f->s != NULL) {
        it_kill(f->s, SIGKILL); /* only after a failure; the test stops it itself */
        it_stop(f->s);
    }
    if (f->cluster_made) {
        const char *const destroy[] = {"destroy", f->dir, NULL};
        it_pg_sh(destroy);
    }
    it_private_fx_free(f);
    return 0;
}

/* ---- The test ---------------------------------------------------------------------------------
 */

static void
test_restart(void **state)
{
    struct fx *f = *state;
    char *path;
    const char *env[3];
    pthread_t t[10];
    struct call c[10];
    struct it_resp r;
    int i;

    /* A cluster of our own, migrated the way production is. */
    f->s = it_prepare("pg_restart", NULL);
    f->cluster_made = 1;
    it_private_cluster(f->s, f->dir, 0, ADMIN_EMAIL, PASSWORD, &f->url, &f->env_url);
    env[0] = f->env_url;
    env[1] = "REGISTRY_DB_POOL=4";
    env[2] = NULL;

    /* The server on it; a database-backed request works. */
    it_launch(f->s, env);
    f->admin = sign_in(f);
    it_post_json(
        f->s, "/v1/organisations", f->admin,
        "{\"name\": \"Restart Org\", \"kind\": \"charity\", \"address_lines\": [\"1 A St\"],"
        " \"town\": \"Chatham\", \"postcode\": \"me4 4ab\"}",
        &r);
    it_assert_status(&r, 201);
    f->org_id = strdup(it_json_str(&r, "id"));
    it_resp_free(&r);
    path = it_fmt("/v1/organisations/%s", f->org_id);
    assert_int_equal(concurrent(f, "GET", 10, t, c), 10); /* every pooled connection in use */
    it_expect(f->s, "GET", "/readyz", NULL, NULL, 200);

    /* First outage; afterwards every pooled connection's first (read) request succeeds. */
    cluster(f, "stop");
    check_outage(f);
    cluster(f, "start");
    check_every_connection_recovers(f, "GET");
    it_expect(f->s, "GET", "/readyz", NULL, NULL, 200);

    /* Second outage; this time the first requests are writes (BEGIN on a dead connection). */
    cluster(f, "stop");
    check_outage(f);
    cluster(f, "start");
    check_every_connection_recovers(f, "PATCH");

    /* Then business as usual, at once and one by one. */
    assert_int_equal(concurrent(f, "GET", 10, t, c), 10);
    for (i = 0; i < 10; i++) {
        it_expect(f->s, "GET", path, f->admin, NULL, 200);
    }
    it_expect(f->s, "GET", "/readyz", NULL, NULL, 200);
    {
        char *fresh = sign_in(f); /* sign-in works again too */
        free(fresh);
    }
    {
        char *log = it_log(f->s);
        assert_non_null(strstr(log, "db: reconnected"));
        free(log);
    }

    /* The server stops cleanly (exit 0, no sanitizer report), then the cluster goes. */
    it_stop(f->s);
    f->s = NULL;
    free(path);
}

TEST_MAIN(NULL, NULL, cmocka_unit_test_setup_teardown(test_restart, setup, teardown))
