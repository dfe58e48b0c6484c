/* it_replica.c: REGISTRY_DATABASE_URL_REPLICA against a real streaming replica. The test makes a
 * primary cluster of its own (pg.sh start) and a replica of it (pg.sh replica: pg_basebackup -R,
 * another socket directory), and points the service at both. Which pool served a request is read
 * from /metrics: mpact_db_queries_total{pool="replica"} moves only for requests routed there
 * (every background job uses the primary).
 *
 * It proves: public reads and reports go to the replica; writes go to the primary; a user who just
 * wrote reads reports from the primary; a replica that stops replaying is left once its lag passes
 * REGISTRY_REPLICA_MAX_LAG_MS (a stale row read there first, the fresh one from the primary
 * after); a stopped replica leaves reads on the primary with 200s, writes working and /readyz
 * ready; a restarted replica is used again; each change is logged once, not per request.
 * Every wait polls with a deadline. IT_TIMEOUT=420 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itlib.h"

#define MAX_LAG_MS  4000
#define DEADLINE_MS 45000
#define ADMIN_EMAIL "replica-admin@example.org"
#define ADMIN_PASS  "replica admin passphrase 7"
#define FAC_NUMBER  "MPF-777001"
#define REPLICA_QS  "mpact_db_queries_total{pool=\"replica\"}"
#define REPLICA_UP  "mpact_db_replica_up"

static struct {
    char root[64];
    char pdir[128], rdir[128];
    int clusters; /* 1 once pg.sh start ran: destroy at exit */
    struct it_server *s;
    char *admin;
    char *replica_conninfo; /* with dbname */
} fx;

/* ---- Helpers ------------------------------------------------------------------------------- */

/* Runs argv, waits, returns the exit status (-1 when it could not run). */
static int
run(const char *const argv[])
{
    pid_t pid = fork();
    int status;

    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
pg_sh(const char *cmd, const char *a, const char *b, const char *c, const char *d)
{
    char *script = it_fmt("%s/tests/integration/pg.sh", getenv("IT_SOURCE_DIR"));
    const char *argv[] = {"bash", script, cmd, a, b, c, d, NULL};
    int rc = run(argv);

    free(script);
    return rc;
}

static void
destroy_clusters(void)
{
    if (fx.clusters) {
        pg_sh("destroy", fx.rdir, NULL, NULL, NULL);
        pg_sh("destroy", fx.pdir, NULL, NULL, NULL);
        rmdir(fx.root);
        fx.clusters = 0;
    }
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The value of sample `series` in a fresh scrape; -1 when absent. */
static double
metric(const char *series)
{
    struct it_resp r;
    size_t n = strlen(series);
    const char *p;
    double v = -1;

    it_get(fx.s, "/metrics", NULL, &r);
    it_assert_status(&r, 200);
    for (p = r.body; (p = strstr(p, series)) != NULL; p += n) {
        if ((p == r.body || p[-1] == '\n') && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
    }
    it_resp_free(&r);
    return v;
}

/* Polls until `series` equals `want`; fails the test with `what` after DEADLINE_MS. */
static void
wait_metric(const char *series, double want, const char *what)
{
    long long deadline = now_ms() + DEADLINE_MS;

    while (metric(series) != want) {
        if (now_ms() > deadline) {
            it_log_tail(fx.s, 30);
            fail_msg("%s: %s never became %g", what, series, want);
        }
        it_sleep_ms(100);
    }
}

static long
get_status(const char *path, const char *bearer)
{
    struct it_resp r;
    long status;

    it_get(fx.s, path, bearer, &r);
    status = r.status;
    it_resp_free(&r);
    return status;
}

/* Polls GET `path` until it answers `want`; returns how many requests it took. */
static int
wait_status(const char *path, long want, const char *what)
{
    long long deadline = now_ms() + DEADLINE_MS;
    int tries = 0;

    for (;;) {
        tries++;
        if (get_status(path, NULL) == want) {
            return tries;
        }
        if (now_ms() > deadline) {
            it_log_tail(fx.s, 30);
            fail_msg("%s: GET %s never answered %ld", what, path, want);
        }
        it_sleep_ms(100);
    }
}

/* Runs `sql` on the replica's copy of the test database (read-only there). */
static void
replica_sql(const char *sql)
{
    PGconn *c = PQconnectdb(fx.replica_conninfo);
    PGresult *res;

    if (PQstatus(c) != CONNECTION_OK) {
        fail_msg("replica: %s", PQerrorMessage(c));
    }
    res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
        fail_msg("replica: %s: %s", sql, PQresultErrorMessage(res));
    }
    PQclear(res);
    PQfinish(c);
}

static void
create_org(const char *name)
{
    free(it_create_org(fx.s, fx.admin, NULL, NULL, "%s", name));
    assert_int_equal(it_count(fx.s, "SELECT count(*) FROM organisation WHERE name = $1", name), 1);
}

static int
count_in_log(const char *needle)
{
    char *log = it_log(fx.s);
    const char *p = log;
    int n = 0;

    while (p != NULL && (p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    free(log);
    return n;
}

/* ---- Fixture ------------------------------------------------------------------------------- */

static int
setup(void **state)
{
    char *ci, *ci_path, *env_replica, *env_lag;
    const char *env[4];
    size_t n;

    (void)state;
    snprintf(fx.root, sizeof(fx.root), "/tmp/it_replica.XXXXXX");
    if (mkdtemp(fx.root) == NULL) {
        fail_msg("mkdtemp: %s", strerror(errno));
    }
    chmod(fx.root, 0755); /* the postgres user runs the clusters inside */
    snprintf(fx.pdir, sizeof(fx.pdir), "%s/primary", fx.root);
    snprintf(fx.rdir, sizeof(fx.rdir), "%s/replica", fx.root);
    fx.clusters = 1;
    atexit(destroy_clusters); /* runs after itlib's own exit handler (registered later) */
    if (pg_sh("start", "--no-fsync", fx.pdir, "registry_template", NULL) != 0) {
        fail_msg("pg.sh start of the primary failed");
    }
    {
        char *script = it_fmt("%s/tests/integration/pg.sh", getenv("IT_SOURCE_DIR"));
        const char *argv[] = {
            "bash",    script, "with", fx.pdir, "registry_template", getenv("MPACT_BIN"),
            "migrate", NULL};
        int rc = run(argv);
        free(script);
        if (rc != 0) {
            fail_msg("migrate on the primary failed");
        }
    }
    /* From here itlib's databases live on this test's own primary. */
    setenv("IT_PG_DIR", fx.pdir, 1);
    fx.s = it_prepare("replica", NULL);
    if (pg_sh("replica", fx.pdir, fx.rdir, NULL, NULL) != 0) {
        fail_msg("pg.sh replica failed");
    }
    ci_path = it_fmt("%s/conninfo", fx.rdir);
    ci = it_read_file(ci_path);
    free(ci_path);
    assert_non_null(ci);
    n = strlen(ci);
    while (n > 0 && (ci[n - 1] == '\n' || ci[n - 1] == ' ')) {
        ci[--n] = '\0';
    }
    fx.replica_conninfo = it_fmt("%s dbname=%s", ci, fx.s->dbname);
    free(ci);
    env_replica = it_fmt("REGISTRY_DATABASE_URL_REPLICA=%s", fx.replica_conninfo);
    env_lag = it_fmt("REGISTRY_REPLICA_MAX_LAG_MS=%d", MAX_LAG_MS);
    env[0] = env_replica;
    env[1] = env_lag;
    env[2] = "REGISTRY_PUBLIC_RATE_LIMIT=0";
    env[3] = NULL;
    it_launch(fx.s, env);
    free(env_replica);
    free(env_lag);
    assert_int_equal(it_create_admin(fx.s, ADMIN_EMAIL, ADMIN_PASS), 0);
    fx.admin = it_login(fx.s, ADMIN_EMAIL, ADMIN_PASS);
    wait_metric(REPLICA_UP, 1, "start");
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    it_stop(fx.s);
    fx.s = NULL;
    free(fx.admin);
    free(fx.replica_conninfo);
    destroy_clusters();
    return 0;
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void
test_public_reads_use_the_replica(void **state)
{
    double before, after;

    (void)state;
    before = metric(REPLICA_QS);
    assert_true(before >= 0);
    assert_int_equal(get_status("/v1/public/facilitators?name=Zed", NULL), 200);
    assert_int_equal(get_status("/openreferral/services", NULL), 200);
    after = metric(REPLICA_QS);
    assert_true(after >= before + 2);
    assert_true(metric("mpact_db_pool_connections{pool=\"replica\",state=\"idle\"}") >= 1);
}

static void
test_writes_primary_and_read_your_writes(void **state)
{
    double q0, q1;
    long long deadline;

    (void)state;
    /* Reports read the replica while the admin has written nothing. */
    q0 = metric(REPLICA_QS);
    assert_int_equal(get_status("/v1/reports/summary", fx.admin), 200);
    assert_true(metric(REPLICA_QS) > q0);

    /* A write goes to the primary (a replica would refuse it: read-only). */
    create_org("Replica Test Org One");

    /* Right after writing, the writer's reports come from the primary. */
    q0 = metric(REPLICA_QS);
    assert_int_equal(get_status("/v1/reports/summary", fx.admin), 200);
    q1 = metric(REPLICA_QS);
    assert_true(q1 == q0);
    /* Someone who wrote nothing still reads the replica meanwhile. */
    assert_int_equal(get_status("/v1/public/facilitators?name=Zed", NULL), 200);
    assert_true(metric(REPLICA_QS) > q1);

    /* Once the window (the lag limit, rounded up to seconds) has passed, the replica again. */
    deadline = now_ms() + DEADLINE_MS;
    for (;;) {
        q0 = metric(REPLICA_QS);
        assert_int_equal(get_status("/v1/reports/summary", fx.admin), 200);
        if (metric(REPLICA_QS) > q0) {
            break;
        }
        if (now_ms() > deadline) {
            fail_msg("reports never went back to the replica after the write");
        }
        it_sleep_ms(250);
    }
}

static void
test_lagging_replica_is_left(void **state)
{
    const char *path = "/v1/public/facilitators/" FAC_NUMBER;
    long long inserted;
    int fallbacks_before = count_in_log("reads fall back");
    double q0;

    (void)state;
    assert_int_equal(get_status(path, NULL), 404);
    replica_sql("SELECT pg_wal_replay_pause()");
    PQclear(it_sql(fx.s,
                   "INSERT INTO facilitator (registration_number, given_name, family_name, status,"
                   " accredited_on, accredited_until) VALUES ($1, 'Rhea', 'Plica', 'accredited',"
                   " current_date, current_date + 365)",
                   FAC_NUMBER));
    inserted = now_ms();
    /* Within the lag limit the replica still serves, and it has not replayed the row yet. */
    assert_int_equal(get_status(path, NULL), 404);
    if (now_ms() - inserted >= MAX_LAG_MS - 1000) {
        fail_msg("the machine is too slow for this check (%lld ms)", now_ms() - inserted);
    }
    /* Past the limit, reads fall back to the primary, which has it. */
    wait_status(path, 200, "lagging replica");
    assert_true(now_ms() - inserted >= MAX_LAG_MS - 1000);
    assert_true(metric(REPLICA_UP) == 0);
    assert_true(metric("mpact_db_replica_lag_seconds") * 1000 > MAX_LAG_MS);
    /* Every read now answers from the primary. */
    q0 = metric(REPLICA_QS);
    assert_int_equal(get_status(path, NULL), 200);
    assert_int_equal(get_status(path, NULL), 200);
    assert_true(metric(REPLICA_QS) == q0);

    replica_sql("SELECT pg_wal_replay_resume()");
    wait_metric(REPLICA_UP, 1, "replay resumed");
    q0 = metric(REPLICA_QS);
    assert_int_equal(get_status(path, NULL), 200); /* the replica has it now */
    assert_true(metric(REPLICA_QS) > q0);
    /* One line for the change, however many requests fell back. */
    assert_int_equal(count_in_log("reads fall back"), fallbacks_before + 1);
}

static void
test_stopped_replica_falls_back_and_returns(void **state)
{
    const char *path = "/v1/public/facilitators/" FAC_NUMBER;
    int fallbacks_before = count_in_log("reads fall back"), i;
    double q0;

    (void)state;
    assert_int_equal(pg_sh("stop", fx.rdir, NULL, NULL, NULL), 0);
    /* Reads keep answering (the odd request in flight as it went may get a 503). */
    wait_status(path, 200, "stopped replica");
    wait_metric(REPLICA_UP, 0, "stopped replica");
    for (i = 0; i < 10; i++) {
        assert_int_equal(get_status(path, NULL), 200);
        assert_int_equal(get_status("/openreferral/services", NULL), 200);
    }
    assert_int_equal(get_status("/v1/reports/summary", fx.admin), 200);
    create_org("Replica Test Org Two");
    assert_int_equal(get_status("/readyz", NULL), 200);
    assert_int_equal(count_in_log("reads fall back"), fallbacks_before + 1);
    assert_int_equal(count_in_log("db: replica unreachable"), 1);

    /* Back again: used again. */
    assert_int_equal(pg_sh("restart", fx.rdir, NULL, NULL, NULL), 0);
    wait_metric(REPLICA_UP, 1, "restarted replica");
    q0 = metric(REPLICA_QS);
    wait_status(path, 200, "restarted replica");
    assert_true(metric(REPLICA_QS) > q0);
}

TEST_MAIN(setup,
          teardown,
          cmocka_unit_test(test_public_reads_use_the_replica),
          cmocka_unit_test(test_writes_primary_and_read_your_writes),
          cmocka_unit_test(test_lagging_replica_is_left),
          cmocka_unit_test(test_stopped_replica_falls_back_and_returns))
