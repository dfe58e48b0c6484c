/* db.c: a small pool of PostgreSQL connections (and the replica's second pool, whose monitor is
 * in replica.c). HTTP threads are many and connections few
 * (STYLE.md, SQL): a request borrows one for as long as it needs it. Every statement table
 * is prepared on each connection when it opens and again after a reconnect, because prepared
 * statements die with their session (LIBRARIES.md 20). */
#include "registry/db.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "registry/clock.h"
#include "registry/logging.h"

/* A request waiting for a connection: db_release hands one over directly (FIFO) and wakes only
 * this request. With one condition variable for all, every release woke a waiter that then
 * fought the others for the pool's mutex: with 64 connections of clients and 8 of the database,
 * about ten futex calls a request, the largest cost of the register lookup after the database
 * itself (perf, bench/README.md). */
struct waiter {
    sem_t sem;            /* posted once, when `conn` is set */
    struct db_conn *conn; /* the connection handed over, under the pool's mu */
    struct waiter *next;
};

/* One pool: the primary, or the read replica (REGISTRY_DATABASE_URL_REPLICA). */
struct pool {
    const char *label; /* "primary" or "replica", for logs and metrics */
    pthread_mutex_t mu;
    struct db_conn *conns;
    int *free_stack;
    int nfree;
    int size;
    struct waiter *head, *tail; /* requests waiting, oldest first, under mu */
    int wait_ms;
    char *conninfo;
    const struct db_stmt *const *tables;
    atomic_ullong statements; /* statements run, for metrics */
    atomic_int stalled;       /* a deadline passed and nothing has been answered since */
};

struct db_conn {
    PGconn *pg; /* NULL once a deadline dropped it: made again when next borrowed */
    int in_tx;
    int ready;   /* session set up and every statement prepared */
    int dropped; /* this borrower's deadline dropped the connection: no retry, no reconnect */
    long long deadline; /* clock_mono_ms() by which the borrower's database work ends; 0: none */
    struct pool *pool;
};

/* REGISTRY_DB_QUERY_TIMEOUT_MS: a request's database work once it holds a connection. */
static int query_timeout_ms = DB_QUERY_TIMEOUT_DEFAULT_MS;

static struct pool primary = {.label = "primary", .mu = PTHREAD_MUTEX_INITIALIZER};
static struct pool replica = {.label = "replica", .mu = PTHREAD_MUTEX_INITIALIZER};

static void
quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* The first line of libpq's error message, for a one-line report. */
static void
first_line(const char *msg, char *out, size_t len)
{
    size_t n = strcspn(msg, "\n");

    if (n >= len) {
        n = len - 1;
    }
    memcpy(out, msg, n);
    out[n] = '\0';
}

/* ---- Deadlines ------------------------------------------------------------------------------
 *
 * A database that hangs (a stopped server, a host gone without a reset) leaves a blocking libpq
 * call waiting for as long as it hangs, and the server-side statement_timeout cannot fire there
 * (LIBRARIES.md 29). So every round trip of a pooled connection is sent without blocking and
 * waited for with poll() until the borrower's deadline; past it the connection is dropped (the
 * server rolls back what it held when it sees the socket close) and made again when it is next
 * borrowed. This is the same send-then-wait that PQexecPrepared does inside, so it costs no
 * extra round trip. */

/* Waits until the socket of `pg` is ready for `events`. 1 when ready, 0 when `deadline` passed
 * (0: no deadline), -1 on error. */
static int
wait_socket(PGconn *pg, short events, long long deadline)
{
    struct pollfd pfd;
    int rc;

    pfd.fd = PQsocket(pg);
    pfd.events = events;
    pfd.revents = 0;
    if (pfd.fd < 0) {
        return -1;
    }
    for (;;) {
        long long left = deadline > 0 ? deadline - clock_mono_ms() : -1;

        if (deadline > 0 && left <= 0) {
            return 0;
        }
        rc = poll(&pfd, 1, left < 0 ? -1 : left > INT_MAX ? INT_MAX : (int)left);
        if (rc > 0) {
            return 1;
        }
        if (rc < 0 && errno != EINTR) {
            return -1;
        }
    }
}

/* Waits for the results of what was just sent on `pg` and returns the first failed one, else
 * the last (as PQexec does), or NULL: *timed_out then says whether `deadline` passed (else the
 * connection broke). */
static PGresult *
await_result(PGconn *pg, long long deadline, int *timed_out)
{
    PGresult *keep = NULL, *res;
    int rc, w;

    *timed_out = 0;
    while ((rc = PQflush(pg)) == 1) { /* a large request the socket did not take at once */
        if ((w = wait_socket(pg, POLLIN | POLLOUT, deadline)) <= 0 || !PQconsumeInput(pg)) {
            *timed_out = w == 0;
            return NULL;
        }
    }
    if (rc < 0) {
        return NULL;
    }
    for (;;) {
        while (PQisBusy(pg)) {
            if ((w = wait_socket(pg, POLLIN, deadline)) <= 0) {
                *timed_out = w == 0;
                PQclear(keep);
                return NULL;
            }
            if (!PQconsumeInput(pg)) {
                break; /* lost: PQgetResult reports it without waiting */
            }
        }
        if ((res = PQgetResult(pg)) == NULL) {
            break;
        }
        switch (PQresultStatus(res)) {
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
            /* Pooled connections never copy; stop rather than wait for data that is not sent. */
            PQclear(res);
            PQclear(keep);
            return NULL;
        default:
            break;
        }
        if (keep != NULL && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
            PQclear(res);
        } else {
            PQclear(keep);
            keep = res;
        }
    }
    return keep;
}

/* Closes the connection of `c` after its deadline passed during `what`: the borrower gets a
 * failed result (503) and the pool makes the connection again when it is next borrowed. */
static void
drop(struct db_conn *c, const char *what)
{
    logging_event("warn", NULL, "db: %s got no answer in time%s; connection dropped", what,
                  c->pool == &replica ? " (replica)" : "");
    PQfinish(c->pg);
    c->pg = NULL;
    c->ready = 0;
    c->in_tx = 0;
    c->dropped = 1;
    atomic_store(&c->pool->stalled, 1);
}

/* Notes that the database answered: the pool is no longer stalled. A load and no store on the hot
 * path, so the pool's cache line stays shared. */
static void
answered(struct pool *p)
{
    if (atomic_load_explicit(&p->stalled, memory_order_relaxed)) {
        atomic_store(&p->stalled, 0);
    }
}

/* The result for a statement that could not run: no SQLSTATE, which problem_from_db answers
 * with 503. Never NULL (PQmakeEmptyPGresult allocates without a connection too). */
static PGresult *
failed_result(struct db_conn *c)
{
    return PQmakeEmptyPGresult(c->pg, PGRES_FATAL_ERROR);
}

/* Runs `sql` (several statements allowed) on `pg` by `deadline`. NULL as await_result. */
static PGresult *
exec_by(PGconn *pg, const char *sql, long long deadline, int *timed_out)
{
    *timed_out = 0;
    if (!PQsendQuery(pg, sql)) {
        return NULL;
    }
    return await_result(pg, deadline, timed_out);
}

/* The session settings of a pooled connection. client_connection_check_interval makes a backend
 * whose connection we dropped stop its statement soon, not when it next writes;
 * extra_float_digits = 1 (PostgreSQL's default, set here whatever the cluster's or role's) writes
 * a float8 as the shortest text that reads back as the same double, which the provider search
 * relies on (public.c formats its distances from them). */
#define DB_SESSION_SQL                                                                             \
    "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET statement_timeout = '15s';"             \
    " SET lock_timeout = '10s'; SET client_connection_check_interval = '1s';"                      \
    " SET extra_float_digits = 1"

/* Sets the session up and prepares every statement, by `deadline` (0: none). Returns 0, or -1
 * with `err` (*timed_out says whether the deadline passed). */
static int
setup(PGconn *pg,
      const struct db_stmt *const *tables,
      long long deadline,
      int *timed_out,
      char *err,
      size_t errlen)
{
    PGresult *res;
    const struct db_stmt *const *t;
    const struct db_stmt *s;
    int ok;

    PQsetNoticeProcessor(pg, quiet_notices, NULL);
    if (PQsetnonblocking(pg, 1) != 0) {
        first_line(PQerrorMessage(pg), err, errlen);
        *timed_out = 0;
        return -1;
    }
    res = exec_by(pg, DB_SESSION_SQL, deadline, timed_out);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        first_line(*timed_out ? "no answer in time" : PQerrorMessage(pg), err, errlen);
        return -1;
    }
    for (t = tables; t != NULL && *t != NULL; t++) {
        for (s = *t; s->name != NULL; s++) {
            res = PQsendPrepare(pg, s->name, s->sql, 0, NULL)
                      ? await_result(pg, deadline, timed_out)
                      : NULL;
            ok = PQresultStatus(res) == PGRES_COMMAND_OK;
            if (!ok) {
                char line[256];
                first_line(res != NULL  ? PQresultErrorMessage(res)
                           : *timed_out ? "no answer in time"
                                        : PQerrorMessage(pg),
                           line, sizeof(line));
                snprintf(err, errlen, "statement %s does not prepare: %s", s->name, line);
            }
            PQclear(res);
            if (!ok) {
                return -1;
            }
        }
    }
    return 0;
}

/* Connection options every connection gets unless the conninfo sets them itself: TCP keepalives
 * and tcp_user_timeout, so that a peer gone silent is noticed on an idle connection and a stuck
 * send fails (libpq ignores them on a Unix socket), and a connect_timeout for blocking connects
 * (PQconnectPoll ignores it; our own deadline bounds those). Later keys win, and the expanded
 * conninfo comes last. */
#define DB_CONN_OPTIONS 6
static PGconn *
connect_params(const char *conninfo, int connect_timeout_s, int blocking)
{
    char t[16], user_timeout[16];
    /* clang-format off */
    const char *keys[DB_CONN_OPTIONS + 2] = {"keepalives", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "connect_timeout", "dbname", NULL};
    /* clang-format on */
    const char *values[DB_CONN_OPTIONS + 2] = {
        "1", "10", "5", "3", user_timeout, t, conninfo != NULL ? conninfo : "", NULL};

    snprintf(user_timeout, sizeof(user_timeout), "%d", DB_TCP_USER_TIMEOUT_MS);
    snprintf(t, sizeof(t), "%d", connect_timeout_s);
    return blocking ? PQconnectdbParams(keys, values, 1) : PQconnectStartParams(keys, values, 1);
}

PGconn *
db_connect(const char *conninfo, char *err, size_t errlen)
{
    PGconn *pg = connect_params(conninfo, 0, 1);
    char line[256];

    if (PQstatus(pg) != CONNECTION_OK) {
        first_line(pg != NULL ? PQerrorMessage(pg) : "out of memory", line, sizeof(line));
        snprintf(err, errlen, "cannot connect to the database: %s", line);
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, quiet_notices, NULL);
    return pg;
}

/* Opens a connection without blocking past `deadline`. Returns it, or NULL (*timed_out says
 * whether the deadline passed). */
static PGconn *
connect_by(const char *conninfo, long long deadline, int *timed_out)
{
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    PGconn *pg;
    int w;

    *timed_out = 0;
    if (deadline > 0 && clock_mono_ms() >= deadline) {
        *timed_out = 1;
        return NULL;
    }
    pg = connect_params(conninfo, 0, 0);
    if (pg == NULL || PQstatus(pg) == CONNECTION_BAD) {
        PQfinish(pg);
        return NULL;
    }
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED) {
            PQfinish(pg);
            return NULL;
        }
        if ((w = wait_socket(pg, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline)) <= 0) {
            *timed_out = w == 0;
            PQfinish(pg);
            return NULL;
        }
        st = PQconnectPoll(pg);
    }
    return pg;
}

/* Sets the session of `c` up and prepares every statement by the borrower's deadline; on failure
 * drops the connection (deadline passed during `doing`) or logs why (`after`). 0, or -1. */
static int
prepare_all(struct db_conn *c, const char *doing, const char *after)
{
    char err[256];
    int timed_out;

    if (setup(c->pg, c->pool->tables, c->deadline, &timed_out, err, sizeof(err)) == 0) {
        return 0;
    }
    if (timed_out) {
        drop(c, doing);
    } else {
        logging_event("error", NULL, "db: %s%s: %s", after, c->pool == &replica ? " (replica)" : "",
                      err);
    }
    return -1;
}

/* Makes the connection of `c` again (it died, a deadline dropped it, or it was never prepared)
 * and prepares every statement, by the borrower's deadline. Returns 0, or -1. */
static int
reconnect(struct db_conn *c)
{
    const char *label = c->pool == &replica ? " (replica)" : "";
    long long connect_deadline;
    int timed_out;

    c->ready = 0;
    c->in_tx = 0;
    if (c->dropped) {
        return -1; /* this borrower already waited its time out */
    }
    PQfinish(c->pg); /* a fresh session: statements half prepared before are gone too */
    /* While the database is known to hang, a connect only probes it briefly: a request waiting
     * behind the ones that hit the deadline then answers 503 soon too. The statements it then
     * prepares get the whole deadline. */
    connect_deadline = c->deadline;
    if (atomic_load(&c->pool->stalled)) {
        long long probe = clock_mono_ms() + DB_PROBE_MS;
        if (connect_deadline == 0 || probe < connect_deadline) {
            connect_deadline = probe;
        }
    }
    c->pg = connect_by(c->pool->conninfo, connect_deadline, &timed_out);
    if (c->pg == NULL) {
        if (timed_out) {
            c->dropped = 1;
            atomic_store(&c->pool->stalled, 1);
            logging_event("warn", NULL, "db: reconnecting%s got no answer in time", label);
        }
        return -1;
    }
    if (prepare_all(c, "reconnecting", "after reconnect") != 0) {
        return -1;
    }
    c->ready = 1;
    answered(c->pool);
    logging_event("info", NULL, "db: reconnected%s", label);
    return 0;
}

/* What a round trip on `c` gave: a result says the database answers; none past the deadline
 * drops the connection. */
static PGresult *
settle(struct db_conn *c, PGresult *res, int timed_out, const char *what)
{
    if (res != NULL) {
        answered(c->pool);
    } else if (timed_out) {
        drop(c, what);
    }
    return res;
}

/* Runs prepared statement `name` on `c` by its deadline. NULL when it could not run (the
 * connection broke, or the deadline passed and dropped it). */
static PGresult *
run_prepared(struct db_conn *c, const char *name, int nparams, const char *const *params)
{
    PGresult *res;
    int timed_out;

    if (c->pg == NULL || !PQsendQueryPrepared(c->pg, name, nparams, params, NULL, NULL, 0)) {
        return NULL;
    }
    res = await_result(c->pg, c->deadline, &timed_out);
    return settle(c, res, timed_out, name);
}

/* Runs `sql` on `c` by `deadline`. NULL as run_prepared. */
static PGresult *
run_sql(struct db_conn *c, const char *sql, long long deadline)
{
    PGresult *res;
    int timed_out;

    if (c->pg == NULL) {
        return NULL;
    }
    res = exec_by(c->pg, sql, deadline, &timed_out);
    return settle(c, res, timed_out, sql);
}

/* The deadline for rolling back what a borrower left open: its own, or a short grace when that
 * has passed (a connection that cannot even roll back in time is dropped, which rolls back). */
static long long
cleanup_deadline(const struct db_conn *c)
{
    long long grace = clock_mono_ms() + DB_CLEANUP_MS;

    return c->deadline > grace ? c->deadline : grace;
}

static void
pool_close(struct pool *p)
{
    int i;

    for (i = 0; i < p->size && p->conns != NULL; i++) {
        PQfinish(p->conns[i].pg);
    }
    free(p->conns);
    free(p->free_stack);
    free(p->conninfo);
    p->conns = NULL;
    p->free_stack = NULL;
    p->conninfo = NULL;
    p->size = 0;
    p->nfree = 0;
}

/* Opens the `size` connections of `p` (its wait_ms and tables set). With `lenient` (the replica),
 * a connection that cannot be made now is kept unready and made again when it is next borrowed;
 * otherwise it fails the pool. */
static int
pool_open(struct pool *p, const char *conninfo, int size, int lenient, char *err, size_t errlen)
{
    const struct db_stmt *const *tables = p->tables;
    int i, timed_out;

    p->conninfo = strdup(conninfo != NULL ? conninfo : "");
    p->conns = calloc((size_t)size, sizeof(*p->conns));
    p->free_stack = calloc((size_t)size, sizeof(*p->free_stack));
    if (p->conninfo == NULL || p->conns == NULL || p->free_stack == NULL) {
        snprintf(err, errlen, "out of memory");
        pool_close(p);
        return -1;
    }
    p->size = size;
    for (i = 0; i < size; i++) {
        struct db_conn *c = &p->conns[i];
        c->pool = p;
        if (lenient) {
            char ignored[256];
            /* Blocking, but giving up after the timeout (the conninfo's own wins). */
            c->pg = connect_params(p->conninfo, DB_REPLICA_CONNECT_TIMEOUT_S, 1);
            if (c->pg == NULL) {
                snprintf(err, errlen, "out of memory");
                pool_close(p);
                return -1;
            }
            c->ready =
                PQstatus(c->pg) == CONNECTION_OK
                && setup(c->pg, tables, clock_mono_ms() + DB_REPLICA_CONNECT_TIMEOUT_S * 1000,
                         &timed_out, ignored, sizeof(ignored))
                       == 0;
        } else {
            c->pg = db_connect(p->conninfo, err, errlen);
            if (c->pg == NULL || setup(c->pg, tables, 0, &timed_out, err, errlen) != 0) {
                pool_close(p);
                return -1;
            }
            c->ready = 1;
        }
        p->free_stack[p->nfree++] = i;
    }
    return 0;
}

int
db_pool_init(const char *conninfo,
             int size,
             int wait_ms,
             const struct db_stmt *const *tables,
             char *err,
             size_t errlen)
{
    primary.wait_ms = wait_ms;
    primary.tables = tables;
    return pool_open(&primary, conninfo, size, 0, err, errlen);
}

void
db_pool_close(void)
{
    db_replica_close();
    pool_close(&primary);
}

/* Takes `w` out of the queue of `p`, if it is still there. Called with mu held. */
static void
unqueue(struct pool *p, struct waiter *w)
{
    struct waiter **at, *prev = NULL;

    for (at = &p->head; *at != NULL; prev = *at, at = &(*at)->next) {
        if (*at == w) {
            *at = w->next;
            if (p->tail == w) {
                p->tail = prev;
            }
            return;
        }
    }
}

/* Borrows a connection of `p`, waiting up to `wait_ms`; its database work (a reconnect included)
 * then has `work_ms` (0: no deadline). NULL when none frees up in time or it cannot be mended. */
static struct db_conn *
pool_take(struct pool *p, int wait_ms, int work_ms)
{
    struct timespec deadline;
    struct db_conn *c = NULL;
    struct waiter w;
    int rc, handed;

    pthread_mutex_lock(&p->mu);
    if (p->nfree > 0) {
        c = &p->conns[p->free_stack[--p->nfree]];
        pthread_mutex_unlock(&p->mu);
    } else {
        sem_init(&w.sem, 0, 0);
        w.conn = NULL;
        w.next = NULL;
        if (p->tail != NULL) {
            p->tail->next = &w;
        } else {
            p->head = &w;
        }
        p->tail = &w;
        pthread_mutex_unlock(&p->mu);

        clock_realtime_in(&deadline, wait_ms);
        while ((rc = sem_timedwait(&w.sem, &deadline)) != 0 && errno == EINTR) {
        }
        if (rc != 0) {
            /* Timed out; unless a hand-over raced the timeout, leave the queue. Once handed
             * over, db_release will post: wait for it, so that `w` outlives its use there. */
            pthread_mutex_lock(&p->mu);
            handed = w.conn != NULL;
            if (!handed) {
                unqueue(p, &w);
            }
            pthread_mutex_unlock(&p->mu);
            if (handed) {
                while (sem_wait(&w.sem) != 0 && errno == EINTR) {
                }
            }
        }
        c = w.conn; /* set before the post; the semaphore orders the two */
        sem_destroy(&w.sem);
    }
    if (c == NULL) {
        return NULL;
    }
    c->dropped = 0;
    c->deadline = work_ms > 0 ? clock_mono_ms() + work_ms : 0;
    /* A connection known to be dead is mended now; one that died silently is found by the
     * first statement, which reconnects and retries (db_exec). */
    if ((PQstatus(c->pg) == CONNECTION_BAD || !c->ready) && reconnect(c) != 0) {
        db_release(c);
        return NULL;
    }
    return c;
}

struct db_conn *
db_acquire(void)
{
    return pool_take(&primary, primary.wait_ms, query_timeout_ms);
}

struct db_conn *
db_acquire_within(int wait_ms, int work_ms)
{
    return pool_take(&primary, wait_ms, work_ms);
}

struct db_conn *
db_acquire_job(void)
{
    return pool_take(&primary, primary.wait_ms, DB_JOB_TIMEOUT_MS);
}

void
db_set_query_timeout(int ms)
{
    query_timeout_ms = ms > 0 ? ms : DB_QUERY_TIMEOUT_DEFAULT_MS;
}

int
db_query_timeout(void)
{
    return query_timeout_ms;
}

void
db_release(struct db_conn *c)
{
    struct pool *p;

    if (c == NULL) {
        return;
    }
    p = c->pool;
    if (PQstatus(c->pg) == CONNECTION_OK
        && (c->in_tx || PQtransactionStatus(c->pg) != PQTRANS_IDLE)) {
        PQclear(run_sql(c, "ROLLBACK", cleanup_deadline(c)));
    }
    c->in_tx = 0;
    pthread_mutex_lock(&p->mu);
    if (p->head != NULL) {
        struct waiter *w = p->head;

        p->head = w->next;
        if (p->head == NULL) {
            p->tail = NULL;
        }
        w->conn = c;
        pthread_mutex_unlock(&p->mu);
        sem_post(&w->sem); /* outside mu: the woken request does not wait for it */
        return;
    }
    p->free_stack[p->nfree++] = (int)(c - p->conns);
    pthread_mutex_unlock(&p->mu);
}

int
db_pool_stats(int which, struct db_pool_stats *out)
{
    struct pool *p = which == DB_POOL_REPLICA ? &replica : &primary;
    const struct waiter *w;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&p->mu);
    out->size = p->size;
    out->in_use = p->size - p->nfree;
    for (w = p->head; w != NULL; w = w->next) {
        out->waiting++;
    }
    pthread_mutex_unlock(&p->mu);
    out->statements = atomic_load_explicit(&p->statements, memory_order_relaxed);
    return out->size > 0 ? 0 : -1;
}

int
db_pool_open_replica(const char *conninfo, char *err, size_t errlen)
{
    replica.wait_ms = primary.wait_ms;
    replica.tables = primary.tables;
    return pool_open(&replica, conninfo, primary.size, 1, err, errlen);
}

void
db_pool_close_replica(void)
{
    pool_close(&replica);
}

struct db_conn *
db_acquire_replica(void)
{
    return pool_take(&replica, replica.wait_ms, query_timeout_ms);
}

PGresult *
db_probe(int which, PGconn **pg, const char *sql)
{
    const char *conninfo = which == DB_POOL_REPLICA ? replica.conninfo : primary.conninfo;
    long long deadline = clock_mono_ms() + DB_REPLICA_CONNECT_TIMEOUT_S * 1000;
    PGresult *res;
    int timed_out;

    if (*pg != NULL && PQstatus(*pg) != CONNECTION_OK) {
        PQfinish(*pg);
        *pg = NULL;
    }
    if (*pg == NULL) {
        *pg = connect_by(conninfo, deadline, &timed_out);
        if (*pg == NULL) {
            return NULL;
        }
        PQsetNoticeProcessor(*pg, quiet_notices, NULL);
        PQsetnonblocking(*pg, 1);
    }
    res = exec_by(*pg, sql, deadline, &timed_out);
    if (res == NULL) { /* no answer in time, or lost: start afresh next time */
        PQfinish(*pg);
        *pg = NULL;
        return NULL;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        return NULL;
    }
    return res;
}

int
db_ok(const PGresult *res)
{
    ExecStatusType s = PQresultStatus(res);

    return s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK;
}

int
db_lost(struct db_conn *c)
{
    return c == NULL || PQstatus(c->pg) == CONNECTION_BAD;
}

long
db_exec_long(struct db_conn *c, const char *name, long param)
{
    char v[32];
    const char *params[1] = {v};
    PGresult *res;
    long n = -1;

    snprintf(v, sizeof(v), "%ld", param);
    res = db_exec(c, name, 1, params);
    if (db_ok(res) && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    }
    PQclear(res);
    return n;
}

/* 1 when `res` failed because the session does not know the statement (SQLSTATE 26000). */
static int
unknown_statement(const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    return state != NULL && strcmp(state, "26000") == 0;
}

/* The session of `c` lost its prepared statements (a DEALLOCATE, a pooler in between): prepares
 * every one again, by the borrower's deadline. Returns 0, or -1. */
static int
prepare_again(struct db_conn *c, const char *name)
{
    PGresult *res = run_sql(c, "DEALLOCATE ALL", c->deadline);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

    PQclear(res);
    if (!ok || prepare_all(c, "preparing again", "preparing again") != 0) {
        return -1;
    }
    logging_event("warn", NULL, "db: statement %s unknown to its session%s; all prepared again",
                  name, c->pool == &replica ? " (replica)" : "");
    return 0;
}

PGresult *
db_exec(struct db_conn *c, const char *name, int nparams, const char *const *params)
{
    PGresult *res;

    atomic_fetch_add_explicit(&c->pool->statements, 1, memory_order_relaxed);
    res = run_prepared(c, name, nparams, params);
    if (!db_ok(res) && unknown_statement(res) && c->in_tx) {
        c->ready = 0; /* the transaction is lost; the next borrow prepares every statement */
    } else if (!db_ok(res) && !c->in_tx && !c->dropped
               && (PQstatus(c->pg) == CONNECTION_BAD || unknown_statement(res))) {
        int again = PQstatus(c->pg) == CONNECTION_BAD ? reconnect(c) : prepare_again(c, name);

        PQclear(res);
        if (again != 0) {
            return failed_result(c);
        }
        res = run_prepared(c, name, nparams, params);
    }
    return res != NULL ? res : failed_result(c);
}

int
db_stmts_check(const char *const *names)
{
    const char *const *n, *first = NULL;
    int missing = 0;

    for (n = names; n != NULL && *n != NULL; n++) {
        const struct db_stmt *const *t;
        const struct db_stmt *st = NULL;

        for (t = primary.tables; t != NULL && *t != NULL && st == NULL; t++) {
            for (st = *t; st->name != NULL && strcmp(st->name, *n) != 0; st++) {
            }
            st = st->name != NULL ? st : NULL;
        }
        if (st == NULL && missing++ == 0) {
            first = *n;
        }
    }
    if (missing > 0) {
        logging_event("error", NULL,
                      "mpact-registry: statement %s is used but in no statement table (%d missing)",
                      first, missing);
    }
    return missing > 0 ? -1 : 0;
}

/* The end of db_begin and db_commit: `res` (NULL: it could not run) to *out when it failed and
 * out is not NULL, else cleared. Returns 0 when `ok`, else -1. */
static int
tx_result(struct db_conn *c, PGresult *res, int ok, PGresult **out)
{
    if (res == NULL) {
        res = failed_result(c);
    }
    if (!ok && out != NULL) {
        *out = res;
    } else {
        PQclear(res);
    }
    return ok ? 0 : -1;
}

int
db_begin(struct db_conn *c, PGresult **out)
{
    PGresult *res = run_sql(c, "BEGIN", c->deadline);

    if (!db_ok(res) && !c->dropped && PQstatus(c->pg) == CONNECTION_BAD) {
        PQclear(res);
        res = reconnect(c) == 0 ? run_sql(c, "BEGIN", c->deadline) : NULL;
    }
    c->in_tx = db_ok(res);
    return tx_result(c, res, c->in_tx, out);
}

int
db_commit(struct db_conn *c, PGresult **out)
{
    PGresult *res = run_sql(c, "COMMIT", c->deadline);

    c->in_tx = 0;
    /* COMMIT of an aborted transaction "succeeds" with the tag ROLLBACK. */
    return tx_result(c, res, db_ok(res) && strcmp(PQcmdStatus(res), "COMMIT") == 0, out);
}

void
db_rollback(struct db_conn *c)
{
    if (c->in_tx && PQstatus(c->pg) == CONNECTION_OK) {
        PQclear(run_sql(c, "ROLLBACK", cleanup_deadline(c)));
    }
    c->in_tx = 0;
}
