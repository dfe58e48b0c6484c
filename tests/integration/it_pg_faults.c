/* it_pg_faults.c: the service under database faults, each on a PostgreSQL cluster of its own
 * (pg.sh start in a private directory), so the shared test cluster and the tests running on it in
 * parallel are never frozen or killed.
 *
 * - A hung database (every PostgreSQL process stopped by SIGSTOP): a request holding a pooled
 *   connection answers 503 problem+json within 3 s, /readyz says not ready within 2 s, nothing
 *   is written, and once the database resumes the pool recovers by itself, without a restart.
 * - A crash under a write load (every PostgreSQL process killed with SIGKILL while writers run,
 *   then started again, which runs crash recovery): every write answered 201 is there exactly
 *   once, every other answer is 503 problem+json, and writes succeed again without a restart of
 *   the service. Then the service itself is killed with SIGKILL under the same load and started
 *   again: the same holds (a write sent while it is down gets no answer and is there at most
 *   once).
 *
 * The cluster is thawed on every way out of a test: by the test itself, by the teardown after a
 * failed assertion, and by a guard process that thaws and destroys the cluster when the test
 * process lets go of it, also when it dies (a crash, a ctest timeout). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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

#define ADMIN_EMAIL "admin@faults.example"
#define PASSWORD    "faults-test-password-1"
#define POOL        4

#define HUNG_ANSWER_MS   3000 /* a request holding (or waiting for) a connection, database hung */
#define READYZ_ANSWER_MS 2000

#define WRITERS        4
#define WRITES_MAX     4000 /* per writer */
#define WRITES_SETTLED 20   /* successful writes wanted before the crash and after the restart */

struct fx {
    IT_PRIVATE_FX_HEAD;
    int frozen;
    pid_t guard;    /* thaws and destroys the cluster when this process lets go of it */
    int guard_pipe; /* the write end of its pipe */
};

static double
ms_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Thaws every process of the cluster (no error when nothing runs). */
static void
thaw(struct fx *f)
{
    const char *const cont[] = {"signal", f->dir, "CONT", NULL};

    it_pg_sh_or_fail(cont);
    f->frozen = 0;
}

/* Freezes every process of the cluster; thaw, the teardown or the guard thaws it. */
static void
freeze(struct fx *f)
{
    const char *const stop[] = {"signal", f->dir, "STOP", NULL};

    f->frozen = 1;
    it_pg_sh_or_fail(stop);
}

/* Starts the guard: a child that waits on a pipe only this process holds (close-on-exec, so the
 * server and pg.sh do not inherit it) and, once it closes (the teardown, or this process dying in
 * any way, a ctest timeout included), thaws and destroys the private cluster. */
static void
guard_start(struct fx *f)
{
    int fds[2];
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) != 0) {
        fail_msg("pipe2: %s", strerror(errno));
    }
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        const char *const cont[] = {"signal", f->dir, "CONT", NULL};
        const char *const destroy[] = {"destroy", f->dir, NULL};
        char c;

        close(fds[1]);
        while (read(fds[0], &c, 1) < 0 && errno == EINTR) {
        }
        it_pg_sh(cont);
        it_pg_sh(destroy);
        rmdir(f->dir);
        _exit(0);
    }
    if (pid < 0) {
        fail_msg("fork: %s", strerror(errno));
    }
    close(fds[0]);
    f->guard = pid;
    f->guard_pipe = fds[1];
}

/* Stops the guard, which thaws and destroys the cluster, and waits for it. */
static void
guard_stop(struct fx *f)
{
    if (f->guard > 0) {
        close(f->guard_pipe);
        while (waitpid(f->guard, NULL, 0) < 0 && errno == EINTR) {
        }
        f->guard = 0;
    }
}

/* A private cluster (`fsync`: durable commits, for the crash test), migrated as production is,
 * with an admin, and the server on it with a pool of POOL. */
static void
start_all(struct fx *f, const char *name, int fsync)
{
    const char *env[3];

    f->s = it_prepare(name, NULL);
    it_private_cluster(f->s, f->dir, fsync, ADMIN_EMAIL, PASSWORD, &f->url, &f->env_url);
    env[0] = f->env_url;
    env[1] = "REGISTRY_DB_POOL=4"; /* POOL */
    env[2] = NULL;
    it_launch(f->s, env); /* the default REGISTRY_DB_QUERY_TIMEOUT_MS: that is what is tested */
    f->admin = it_login(f->s, ADMIN_EMAIL, PASSWORD);
}

/* count(*) of organisations named `name`, on a connection of our own. */
static long
count_named(PGconn *c, const char *name)
{
    const char *params[1] = {name};
    PGresult *res = PQexecParams(c, "SELECT count(*) FROM organisation WHERE name = $1", 1, NULL,
                                 params, NULL, NULL, 0);
    long n;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fail_msg("count: %s", PQerrorMessage(c));
    }
    n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

/* ---- Requests from threads (no assertions there: cmocka's are for the main thread) ------------
 */

struct call {
    struct fx *f;
    const char *method; /* GET, PATCH or POST */
    char *body;         /* PATCH and POST */
    long status;
    int problem;     /* answered application/problem+json */
    int retry_after; /* with Retry-After */
    int leaks;       /* the body names database internals */
    double ms;
};

static void
note_answer(struct call *c, struct it_resp *r)
{
    const char *type = it_header(r, "Content-Type");

    c->status = r->status;
    c->problem = type != NULL && strncmp(type, "application/problem+json", 24) == 0;
    c->retry_after = it_header(r, "Retry-After") != NULL;
    c->leaks = r->body != NULL
               && (strstr(r->body, "ERROR") != NULL || strstr(r->body, "connection") != NULL
                   || strstr(r->body, "socket") != NULL || strstr(r->body, "timeout") != NULL);
}

static void *
run_call(void *arg)
{
    struct call *c = arg;
    char *path = it_fmt("/v1/organisations/%s", c->f->org_id);
    struct timespec t0;
    struct it_resp r;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (strcmp(c->method, "GET") == 0) {
        it_get(c->f->s, path, c->f->admin, &r);
    } else if (strcmp(c->method, "PATCH") == 0) {
        it_patch_json(c->f->s, path, c->f->admin, "*", c->body, &r);
    } else {
        it_post_json(c->f->s, "/v1/organisations", c->f->admin, c->body, &r);
    }
    c->ms = ms_since(&t0);
    note_answer(c, &r);
    it_resp_free(&r);
    free(path);
    return NULL;
}

static char *
org_body(const char *name)
{
    return it_fmt("{\"name\": \"%s\", \"kind\": \"charity\", \"address_lines\": [\"1 A St\"],"
                  " \"town\": \"Chatham\", \"postcode\": \"me4 4ab\"}",
                  name);
}

/* ---- Fixture ----------------------------------------------------------------------------------
 */

static int
setup(void **state)
{
    struct fx *f = it_private_fx_new(sizeof(*f), "pgf");

    *state = f;
    guard_start(f);
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    if (f->frozen) { /* a failed assertion while frozen: thaw first, the server stops cleanly */
        const char *const cont[] = {"signal", f->dir, "CONT", NULL};
        it_pg_sh(cont);
    }
    if (f->s != NULL) {
        it_kill(f->s, SIGKILL); /* only after a failure; the test stops it itself */
        it_stop(f->s);
    }
    guard_stop(f); /* thaws (again) and destroys the cluster */
    it_private_fx_free(f);
    return 0;
}

/* ---- A hung database --------------------------------------------------------------------------
 */

static void
assert_hung_answer(const struct call *c, const char *what)
{
    print_message("%s while hung: %ld after %.0f ms\n", what, c->status, c->ms);
    if (c->status != 503 || !c->problem || !c->retry_after || c->leaks) {
        fail_msg("%s while the database hangs: %ld (problem %d, Retry-After %d, leaks %d), want "
                 "503 problem+json with Retry-After",
                 what, c->status, c->problem, c->retry_after, c->leaks);
    }
    if (c->ms >= HUNG_ANSWER_MS) {
        fail_msg("%s while the database hangs took %.0f ms (limit %d)", what, c->ms,
                 HUNG_ANSWER_MS);
    }
}

static void
test_hung_database(void **state)
{
    enum { AT_ONCE = POOL + 2 }; /* two more than the pool: they wait behind the hung ones */
    struct fx *f = *state;
    struct call c[AT_ONCE];
    pthread_t t[AT_ONCE];
    struct timespec t0;
    struct it_resp r;
    PGconn *own;
    double ms;
    char *log;
    int i, ready = 0;

    start_all(f, "pg_hang", 0);
    {
        char *body = org_body("Hang Org");
        it_post_json(f->s, "/v1/organisations", f->admin, body, &r);
        free(body);
    }
    it_assert_status(&r, 201);
    f->org_id = strdup(it_json_str(&r, "id"));
    it_resp_free(&r);
    it_expect(f->s, "GET", "/readyz", NULL, NULL, 200);

    freeze(f);

    /* Reads and writes at once, more than the pool holds. */
    for (i = 0; i < AT_ONCE; i++) {
        memset(&c[i], 0, sizeof(c[i]));
        c[i].f = f;
        c[i].method = i == 0 ? "PATCH" : i == 1 ? "POST" : "GET";
        c[i].body = i == 0   ? it_fmt("{\"town\": \"Written While Hung\"}")
                    : i == 1 ? org_body("Created While Hung")
                             : NULL;
        assert_int_equal(pthread_create(&t[i], NULL, run_call, &c[i]), 0);
    }
    for (i = 0; i < AT_ONCE; i++) {
        pthread_join(t[i], NULL);
    }
    for (i = 0; i < AT_ONCE; i++) {
        assert_hung_answer(&c[i], c[i].method);
        free(c[i].body);
        c[i].body = NULL;
    }

    /* /readyz says not ready, within its own limit. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    it_get(f->s, "/readyz", NULL, &r);
    ms = ms_since(&t0);
    print_message("/readyz while hung: %ld after %.0f ms\n", r.status, ms);
    it_assert_problem(&r, 503);
    assert_non_null(it_header(&r, "Retry-After"));
    it_resp_free(&r);
    assert_true(ms < READYZ_ANSWER_MS);

    /* One by one too (each now finds a dropped connection and probes the database again). */
    for (i = 0; i < 2; i++) {
        memset(&c[0], 0, sizeof(c[0]));
        c[0].f = f;
        c[0].method = "GET";
        run_call(&c[0]);
        assert_hung_answer(&c[0], "a later GET");
    }
    /* What needs no database is not held up. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    it_expect(f->s, "GET", "/healthz", NULL, NULL, 200);
    assert_true(ms_since(&t0) < 500);

    thaw(f);

    /* The pool recovers by itself: /readyz is ready again soon, without a restart. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!ready && ms_since(&t0) < 10000) {
        it_get(f->s, "/readyz", NULL, &r);
        ready = r.status == 200;
        it_resp_free(&r);
        if (!ready) {
            it_sleep_ms(100);
        }
    }
    print_message("ready again %.0f ms after the database resumed\n", ms_since(&t0));
    if (!ready) {
        it_log_tail(f->s, 40);
        fail_msg("/readyz not ready 10 s after the database resumed");
    }
    /* Then every pooled connection serves, reads and writes alike. */
    for (i = 0; i < POOL; i++) {
        memset(&c[i], 0, sizeof(c[i]));
        c[i].f = f;
        c[i].method = "GET";
        assert_int_equal(pthread_create(&t[i], NULL, run_call, &c[i]), 0);
    }
    for (i = 0; i < POOL; i++) {
        pthread_join(t[i], NULL);
        if (c[i].status != 200) {
            it_log_tail(f->s, 40);
            fail_msg("GET after the database resumed: %ld", c[i].status);
        }
    }
    /* Nothing the requests during the hang tried was written. */
    it_getf(f->s, f->admin, &r, "/v1/organisations/%s", f->org_id);
    it_assert_status(&r, 200);
    assert_string_equal(it_json_str(&r, "town"), "Chatham");
    it_resp_free(&r);
    own = it_connect(f->url);
    assert_int_equal(count_named(own, "Created While Hung"), 0);
    PQfinish(own);
    it_expectf(f->s, "PATCH", f->admin, "*", "{\"town\": \"After\"}", 200, "/v1/organisations/%s",
               f->org_id);

    log = it_log(f->s);
    assert_non_null(strstr(log, "connection dropped"));
    assert_non_null(strstr(log, "db: reconnected"));
    free(log);
    it_stop(f->s); /* exits 0 with no sanitizer report */
    f->s = NULL;
}

/* ---- A crash under a write load ---------------------------------------------------------------
 */

struct write {
    char name[48];
    long status;
    int problem;
    int server_down; /* the server itself was being killed or relaunched during it */
};

struct writer {
    struct fx *f;
    int id;
    int n;
    struct write w[WRITES_MAX];
};

static atomic_int writers_stop;
static atomic_int writes_ok;   /* 201s so far, all writers */
static atomic_int server_down; /* the server is being killed and launched again */

static void *
run_writer(void *arg)
{
    struct writer *wr = arg;

    while (!atomic_load(&writers_stop) && wr->n < WRITES_MAX) {
        struct write *w = &wr->w[wr->n++];
        char *body;
        struct it_resp r;
        const char *type;

        snprintf(w->name, sizeof(w->name), "Crash Load %d-%d", wr->id, wr->n);
        body = org_body(w->name);
        w->server_down = atomic_load(&server_down);
        it_post_json(wr->f->s, "/v1/organisations", wr->f->admin, body, &r);
        w->server_down |= atomic_load(&server_down);
        free(body);
        type = it_header(&r, "Content-Type");
        w->status = r.status;
        w->problem = type != NULL && strncmp(type, "application/problem+json", 24) == 0;
        it_resp_free(&r);
        if (w->status == 201) {
            atomic_fetch_add(&writes_ok, 1);
        } else {
            it_sleep_ms(20); /* an outage: do not spin */
        }
    }
    return NULL;
}

/* Waits until `n` more writes than `from` succeeded, up to `ms`. */
static int
wait_writes(int from, int n, int ms)
{
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (atomic_load(&writes_ok) < from + n && ms_since(&t0) < ms) {
        it_sleep_ms(10);
    }
    return atomic_load(&writes_ok) >= from + n;
}

static void
test_crash_under_writes(void **state)
{
    struct fx *f = *state;
    const char *const kill9[] = {"signal", f->dir, "KILL", NULL};
    const char *const start[] = {"start", f->dir, "registry", NULL};
    struct writer *wr = calloc(WRITERS, sizeof(*wr));
    pthread_t t[WRITERS];
    const char *env[3];
    int i, j, before, acked = 0, failed = 0, unanswered = 0, recovered;
    PGconn *own;
    char *log;

    start_all(f, "pg_crash", 1); /* fsync on: an acknowledged commit must survive the crash */
    atomic_store(&writers_stop, 0);
    atomic_store(&writes_ok, 0);
    atomic_store(&server_down, 0);
    for (i = 0; i < WRITERS; i++) {
        wr[i].f = f;
        wr[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, run_writer, &wr[i]), 0);
    }
    if (!wait_writes(0, WRITES_SETTLED, 30000)) {
        atomic_store(&writers_stop, 1);
        fail_msg("the write load did not get going");
    }

    /* Every PostgreSQL process dies at once, mid-write; writers go on during the outage. */
    it_pg_sh_or_fail(kill9);
    before = atomic_load(&writes_ok);
    it_sleep_ms(500);
    it_pg_sh_or_fail(start); /* crash recovery */
    recovered = wait_writes(atomic_load(&writes_ok), WRITES_SETTLED, 30000);

    /* Then the service itself is killed mid-write and started again, PostgreSQL untouched. */
    if (recovered) {
        atomic_store(&server_down, 1);
        it_kill(f->s, SIGKILL);
        env[0] = f->env_url;
        env[1] = "REGISTRY_DB_POOL=4";
        env[2] = NULL;
        it_launch(f->s, env);
        atomic_store(&server_down, 0);
        recovered = wait_writes(atomic_load(&writes_ok), WRITES_SETTLED, 30000);
    }
    atomic_store(&writers_stop, 1);
    for (i = 0; i < WRITERS; i++) {
        pthread_join(t[i], NULL);
    }
    if (!recovered) {
        it_log_tail(f->s, 40);
        fail_msg("writes did not succeed again after PostgreSQL came back");
    }

    /* Every answer was 201 or 503 problem+json; every 201 is there once, nothing twice. */
    own = it_connect(f->url);
    for (i = 0; i < WRITERS; i++) {
        for (j = 0; j < wr[i].n; j++) {
            const struct write *w = &wr[i].w[j];
            long n = count_named(own, w->name);

            if (w->status == 201) {
                acked++;
                if (n != 1) {
                    fail_msg("%s was acknowledged (201) but is there %ld times", w->name, n);
                }
            } else if (w->status == 0 && w->server_down) {
                unanswered++; /* the service was down: no answer at all */
                if (n > 1) {
                    fail_msg("%s (no answer) is there %ld times", w->name, n);
                }
            } else {
                failed++;
                if (w->status != 503 || !w->problem) {
                    fail_msg("%s during the crash: %ld (problem %d), want 503 problem+json",
                             w->name, w->status, w->problem);
                }
                if (n > 1) {
                    fail_msg("%s (answered %ld) is there %ld times", w->name, w->status, n);
                }
            }
        }
    }
    PQfinish(own);
    print_message("%d writes acknowledged (%d before the crash), %d answered 503, %d unanswered "
                  "while the service was down\n",
                  acked, before, failed, unanswered);
    assert_true(failed > 0); /* the crash did hit the load */

    log = it_log(f->s);
    assert_non_null(strstr(log, "db: reconnected"));
    free(log);
    it_stop(f->s);
    f->s = NULL;
    free(wr);
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test_setup_teardown(test_hung_database, setup, teardown),
          cmocka_unit_test_setup_teardown(test_crash_under_writes, setup, teardown))
