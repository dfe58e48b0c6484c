/* db.c: a small pool of PostgreSQL connections. HTTP threads are many and connections few
 * (STYLE.md, SQL): a request borrows one for as long as it needs it. Every statement table
 * is prepared on each connection when it opens and again after a reconnect, because prepared
 * statements die with their session (LIBRARIES.md 20). */
#include "registry/db.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
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
};

struct db_conn {
    PGconn *pg;
    int in_tx;
    int ready; /* session set up and every statement prepared */
    struct pool *pool;
};

static struct pool primary = {.label = "primary", .mu = PTHREAD_MUTEX_INITIALIZER};
static struct pool replica = {.label = "replica", .mu = PTHREAD_MUTEX_INITIALIZER};

/* The replica's health, kept by a monitor thread (see db_replica_init). */
static struct {
    pthread_t thread;
    int running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;            /* under mu */
    int max_lag_ms;      /* REGISTRY_REPLICA_MAX_LAG_MS */
    atomic_int state;    /* enum db_replica_state */
    atomic_llong lag_ms; /* last measured lag, -1 unknown */
    atomic_int configured;
} monitor = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

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

/* Sets the session up and prepares every statement. Returns 0, or -1 with `err`. */
static int
setup(PGconn *pg, const struct db_stmt *const *tables, char *err, size_t errlen)
{
    PGresult *res;
    const struct db_stmt *const *t;
    const struct db_stmt *s;
    int ok;

    PQsetNoticeProcessor(pg, quiet_notices, NULL);
    res = PQexec(pg, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; "
                     "SET statement_timeout = '15s'; SET lock_timeout = '10s'");
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
        first_line(PQerrorMessage(pg), err, errlen);
    }
    PQclear(res);
    if (!ok) {
        return -1;
    }
    for (t = tables; t != NULL && *t != NULL; t++) {
        for (s = *t; s->name != NULL; s++) {
            res = PQprepare(pg, s->name, s->sql, 0, NULL);
            ok = PQresultStatus(res) == PGRES_COMMAND_OK;
            if (!ok) {
                char line[256];
                first_line(PQresultErrorMessage(res), line, sizeof(line));
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

PGconn *
db_connect(const char *conninfo, char *err, size_t errlen)
{
    PGconn *pg = PQconnectdb(conninfo != NULL ? conninfo : "");
    char line[256];

    if (PQstatus(pg) != CONNECTION_OK) {
        first_line(PQerrorMessage(pg), line, sizeof(line));
        snprintf(err, errlen, "cannot connect to the database: %s", line);
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, quiet_notices, NULL);
    return pg;
}

/* Reconnects a dead (or never prepared) connection and prepares again. Returns 0, or -1. */
static int
reconnect(struct db_conn *c)
{
    char err[256];

    c->ready = 0;
    c->in_tx = 0;
    PQreset(c->pg); /* a fresh session: statements half prepared before are gone too */
    if (PQstatus(c->pg) != CONNECTION_OK) {
        return -1;
    }
    if (setup(c->pg, c->pool->tables, err, sizeof(err)) != 0) {
        logging_event("error", NULL, "db: after reconnect%s: %s",
                      c->pool == &replica ? " (replica)" : "", err);
        return -1;
    }
    c->ready = 1;
    logging_event("info", NULL, "db: reconnected%s", c->pool == &replica ? " (replica)" : "");
    return 0;
}

/* Opens a connection that gives up connecting after `timeout_s` (0: libpq's default, which is to
 * wait as long as the network does). The conninfo's own connect_timeout wins. Never NULL. */
static PGconn *
connect_timed(const char *conninfo, int timeout_s)
{
    char t[16];
    const char *keys[] = {"connect_timeout", "dbname", NULL};
    const char *values[] = {t, conninfo, NULL};

    snprintf(t, sizeof(t), "%d", timeout_s);
    return PQconnectdbParams(keys, values, 1);
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

/* Opens `size` connections. With `lenient` (the replica), a connection that cannot be made now
 * is kept unready and made again when it is next borrowed; otherwise it fails the pool. */
static int
pool_open(struct pool *p,
          const char *conninfo,
          int size,
          int wait_ms,
          const struct db_stmt *const *tables,
          int lenient,
          char *err,
          size_t errlen)
{
    int i;

    p->conninfo = strdup(conninfo != NULL ? conninfo : "");
    p->conns = calloc((size_t)size, sizeof(*p->conns));
    p->free_stack = calloc((size_t)size, sizeof(*p->free_stack));
    if (p->conninfo == NULL || p->conns == NULL || p->free_stack == NULL) {
        snprintf(err, errlen, "out of memory");
        pool_close(p);
        return -1;
    }
    p->size = size;
    p->wait_ms = wait_ms;
    p->tables = tables;
    for (i = 0; i < size; i++) {
        struct db_conn *c = &p->conns[i];
        c->pool = p;
        if (lenient) {
            char ignored[256];
            c->pg = connect_timed(p->conninfo, DB_REPLICA_CONNECT_TIMEOUT_S);
            if (c->pg == NULL) {
                snprintf(err, errlen, "out of memory");
                pool_close(p);
                return -1;
            }
            PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
            c->ready = PQstatus(c->pg) == CONNECTION_OK
                       && setup(c->pg, tables, ignored, sizeof(ignored)) == 0;
        } else {
            c->pg = db_connect(p->conninfo, err, errlen);
            if (c->pg == NULL || setup(c->pg, tables, err, errlen) != 0) {
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
    return pool_open(&primary, conninfo, size, wait_ms, tables, 0, err, errlen);
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

/* Borrows a connection of `p`, waiting up to `wait_ms`. NULL when none frees up in time. */
static struct db_conn *
pool_take(struct pool *p, int wait_ms)
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

        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += wait_ms / 1000;
        deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
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
    return pool_take(&primary, primary.wait_ms);
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
        PQclear(PQexec(c->pg, "ROLLBACK"));
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
db_is_replica(const struct db_conn *c)
{
    return c != NULL && c->pool == &replica;
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
    out->waiting = 0;
    for (w = p->head; w != NULL; w = w->next) {
        out->waiting++;
    }
    pthread_mutex_unlock(&p->mu);
    out->statements = atomic_load_explicit(&p->statements, memory_order_relaxed);
    return out->size > 0 ? 0 : -1;
}

/* ---- The read replica ---------------------------------------------------------------------- */

/* Lag by WAL position. Every DB_REPLICA_CHECK_MS the monitor notes the primary's current WAL
 * position with the time, then asks the replica how far it has replayed. The lag is the age of
 * the oldest note the replica has not replayed yet: it has not caught up with what the primary
 * had written by then. This needs no synchronised clocks, reads nothing but two functions, and
 * does not mistake an idle primary (no new commits to replay) for a lagging replica, which the
 * age of pg_last_xact_replay_timestamp() would. The ring keeps enough notes to see past the
 * limit; the estimate is good to one check interval. */
#define DB_LSN_PRIMARY_SQL "SELECT pg_current_wal_lsn()::text"
#define DB_LSN_REPLICA_SQL                                                                         \
    "SELECT pg_is_in_recovery(), COALESCE(pg_last_wal_replay_lsn(), '0/0')::text"

static const char *const state_names[] = {"not configured", "in use", "unreachable",
                                          "lagging or not measurable"};

struct lsn_note {
    long long at_ms;
    unsigned long long lsn;
};

static struct {
    struct lsn_note *notes;
    int cap, n, next; /* a ring: `next` is written next, the oldest is next - n */
} ring;

/* "16/B374D848" -> its 64-bit position. Returns 0 on success. */
static int
parse_lsn(const char *text, unsigned long long *out)
{
    unsigned int hi, lo;
    char extra;

    if (sscanf(text, "%X/%X%c", &hi, &lo, &extra) != 2) {
        return -1;
    }
    *out = ((unsigned long long)hi << 32) | lo;
    return 0;
}

/* Runs a one-row query on a monitor connection, making or mending it first. Returns the result
 * (the caller clears it) or NULL. */
static PGresult *
monitor_query(PGconn **pg, const char *conninfo, const char *sql)
{
    PGresult *res;

    if (*pg == NULL) {
        *pg = connect_timed(conninfo, DB_REPLICA_CONNECT_TIMEOUT_S);
        if (*pg != NULL) {
            PQsetNoticeProcessor(*pg, quiet_notices, NULL);
        }
    } else if (PQstatus(*pg) != CONNECTION_OK) {
        PQreset(*pg);
    }
    if (*pg == NULL || PQstatus(*pg) != CONNECTION_OK) {
        return NULL;
    }
    res = PQexec(*pg, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        return NULL;
    }
    return res;
}

/* Measures the replica on the monitor's own connections (`*pri` to the primary, `*rep` to the
 * replica). Returns the new state and sets *lag (-1 when not measurable). */
static int
measure(PGconn **pri, PGconn **rep, long long *lag)
{
    PGresult *res;
    unsigned long long lsn, replayed;
    long long now = clock_mono_ms();
    int standby, i;

    *lag = -1;
    /* The primary first: what the replica has replayed is then compared with a position the
     * primary had already reached. */
    res = monitor_query(pri, primary.conninfo, DB_LSN_PRIMARY_SQL);
    if (res != NULL && parse_lsn(PQgetvalue(res, 0, 0), &lsn) == 0) {
        ring.notes[ring.next].at_ms = now;
        ring.notes[ring.next].lsn = lsn;
        ring.next = (ring.next + 1) % ring.cap;
        if (ring.n < ring.cap) {
            ring.n++;
        }
    }
    PQclear(res);
    res = monitor_query(rep, replica.conninfo, DB_LSN_REPLICA_SQL);
    if (res == NULL) {
        return DB_REPLICA_DOWN;
    }
    standby = PQgetvalue(res, 0, 0)[0] == 't';
    i = parse_lsn(PQgetvalue(res, 0, 1), &replayed);
    PQclear(res);
    if (!standby) {
        *lag = 0; /* the URL names a server that is not replaying: nothing to lag behind */
        return DB_REPLICA_IN_USE;
    }
    if (i != 0 || ring.n == 0) {
        return DB_REPLICA_LAGGING;
    }
    *lag = 0;
    for (i = ring.n; i > 0; i--) {
        const struct lsn_note *n = &ring.notes[(ring.next - i + ring.cap) % ring.cap];
        if (n->lsn > replayed) {
            *lag = now - n->at_ms;
            break;
        }
    }
    return *lag <= monitor.max_lag_ms ? DB_REPLICA_IN_USE : DB_REPLICA_LAGGING;
}

static void *
monitor_main(void *arg)
{
    PGconn *pri = NULL, *rep = NULL;
    int stop = 0;

    (void)arg;
    while (!stop) {
        struct timespec until;
        long long lag;
        int was = atomic_load(&monitor.state), now = measure(&pri, &rep, &lag);

        atomic_store(&monitor.lag_ms, lag);
        atomic_store(&monitor.state, now);
        if (now != was) {
            /* Once per change of state, never per request. */
            if (now == DB_REPLICA_IN_USE) {
                logging_event("info", NULL, "db: replica %s: public reads and reports use it",
                              state_names[now]);
            } else {
                logging_event("warn", NULL,
                              "db: replica %s (lag %lld ms, limit %d ms): reads fall back to the "
                              "primary",
                              state_names[now], lag, monitor.max_lag_ms);
            }
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += DB_REPLICA_CHECK_MS / 1000;
        until.tv_nsec += (long)(DB_REPLICA_CHECK_MS % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&monitor.mu);
        while (!monitor.stop
               && pthread_cond_timedwait(&monitor.cv, &monitor.mu, &until) != ETIMEDOUT) {
        }
        stop = monitor.stop;
        pthread_mutex_unlock(&monitor.mu);
    }
    PQfinish(pri);
    PQfinish(rep);
    return NULL;
}

int
db_replica_init(const char *conninfo,
                int size,
                int wait_ms,
                int max_lag_ms,
                const struct db_stmt *const *tables,
                char *err,
                size_t errlen)
{
    int rc;

    if (pool_open(&replica, conninfo, size, wait_ms, tables, 1, err, errlen) != 0) {
        return -1;
    }
    monitor.max_lag_ms = max_lag_ms;
    monitor.stop = 0;
    /* Notes enough to see a lag past the limit, and two more. */
    ring.cap = max_lag_ms / DB_REPLICA_CHECK_MS + 3;
    ring.n = 0;
    ring.next = 0;
    ring.notes = calloc((size_t)ring.cap, sizeof(*ring.notes));
    if (ring.notes == NULL) {
        snprintf(err, errlen, "out of memory");
        pool_close(&replica);
        return -1;
    }
    atomic_store(&monitor.lag_ms, -1);
    /* Start as "unreachable" so that the first measurement that finds it well is logged. */
    atomic_store(&monitor.state, DB_REPLICA_DOWN);
    if ((rc = pthread_create(&monitor.thread, NULL, monitor_main, NULL)) != 0) {
        snprintf(err, errlen, "cannot start the replica monitor: %s", strerror(rc));
        free(ring.notes);
        ring.notes = NULL;
        pool_close(&replica);
        return -1;
    }
    monitor.running = 1;
    atomic_store(&monitor.configured, 1);
    return 0;
}

void
db_replica_close(void)
{
    if (monitor.running) {
        pthread_mutex_lock(&monitor.mu);
        monitor.stop = 1;
        pthread_cond_signal(&monitor.cv);
        pthread_mutex_unlock(&monitor.mu);
        pthread_join(monitor.thread, NULL);
        monitor.running = 0;
    }
    atomic_store(&monitor.configured, 0);
    atomic_store(&monitor.state, DB_REPLICA_NONE);
    free(ring.notes);
    ring.notes = NULL;
    pool_close(&replica);
}

int
db_replica_state(long long *lag_ms)
{
    if (lag_ms != NULL) {
        *lag_ms = atomic_load(&monitor.lag_ms);
    }
    return atomic_load(&monitor.configured) ? atomic_load(&monitor.state) : DB_REPLICA_NONE;
}

struct db_conn *
db_acquire_read(void)
{
    if (!atomic_load(&monitor.configured) || atomic_load(&monitor.state) != DB_REPLICA_IN_USE) {
        return NULL;
    }
    return pool_take(&replica, replica.wait_ms);
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

static PGresult *
failed_result(struct db_conn *c)
{
    PGresult *res = PQmakeEmptyPGresult(c->pg, PGRES_FATAL_ERROR);

    return res;
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

PGresult *
db_exec(struct db_conn *c, const char *name, int nparams, const char *const *params)
{
    PGresult *res;

    atomic_fetch_add_explicit(&c->pool->statements, 1, memory_order_relaxed);
    res = PQexecPrepared(c->pg, name, nparams, params, NULL, NULL, 0);
    if (!db_ok(res) && !c->in_tx && PQstatus(c->pg) == CONNECTION_BAD) {
        PQclear(res);
        if (reconnect(c) != 0) {
            return failed_result(c);
        }
        res = PQexecPrepared(c->pg, name, nparams, params, NULL, NULL, 0);
    }
    return res != NULL ? res : failed_result(c);
}

int
db_begin(struct db_conn *c, PGresult **out)
{
    PGresult *res = PQexec(c->pg, "BEGIN");

    if (!db_ok(res) && PQstatus(c->pg) == CONNECTION_BAD) {
        PQclear(res);
        res = reconnect(c) == 0 ? PQexec(c->pg, "BEGIN") : failed_result(c);
    }
    if (!db_ok(res)) {
        if (out != NULL) {
            *out = res;
        } else {
            PQclear(res);
        }
        return -1;
    }
    PQclear(res);
    c->in_tx = 1;
    return 0;
}

int
db_commit(struct db_conn *c, PGresult **out)
{
    PGresult *res = PQexec(c->pg, "COMMIT");
    /* COMMIT of an aborted transaction "succeeds" with the tag ROLLBACK. */
    int ok = db_ok(res) && strcmp(PQcmdStatus(res), "COMMIT") == 0;

    c->in_tx = 0;
    if (!ok) {
        if (out != NULL) {
            *out = res;
        } else {
            PQclear(res);
        }
        return -1;
    }
    PQclear(res);
    return 0;
}

void
db_rollback(struct db_conn *c)
{
    if (c->in_tx && PQstatus(c->pg) == CONNECTION_OK) {
        PQclear(PQexec(c->pg, "ROLLBACK"));
    }
    c->in_tx = 0;
}

/* "2025-01-31 12:00:00.5+00" -> "2025-01-31T12:00:00.5Z" (the session runs in UTC). */
static json_t *
timestamp_json(const char *v)
{
    char buf[64];
    size_t n = strlen(v);

    if (n + 2 > sizeof(buf)) {
        return json_string(v);
    }
    memcpy(buf, v, n + 1);
    if (n > 10 && buf[10] == ' ') {
        buf[10] = 'T';
    }
    if (n > 3 && strcmp(buf + n - 3, "+00") == 0) {
        buf[n - 3] = 'Z';
        buf[n - 2] = '\0';
    }
    return json_string(buf);
}

static json_t *
value_json(const PGresult *res, int row, int col)
{
    const char *v;

    if (PQgetisnull(res, row, col)) {
        return json_null();
    }
    v = PQgetvalue(res, row, col);
    switch (PQftype(res, col)) {
    case 16: /* bool */
        return json_boolean(v[0] == 't');
    case 20: /* int8 */
    case 21: /* int2 */
    case 23: /* int4 */
        return json_integer(strtoll(v, NULL, 10));
    case 700:  /* float4 */
    case 701:  /* float8 */
    case 1700: /* numeric */
        return json_real(strtod(v, NULL));
    case 114:  /* json */
    case 3802: /* jsonb */
        return json_loads(v, JSON_DECODE_ANY, NULL);
    case 1184: /* timestamptz */
        return timestamp_json(v);
    default:
        return json_string(v);
    }
}

/* value_json, except that a value Jansson refuses (invalid UTF-8 from the database) becomes
 * null, loudly. */
static json_t *
column_json(const PGresult *res, int row, int col)
{
    json_t *v = value_json(res, row, col);

    if (v == NULL) {
        fprintf(stderr, "db: column %s: value not representable in JSON\n", PQfname(res, col));
        v = json_null();
    }
    return v;
}

json_t *
db_row_to_json(const PGresult *res, int row)
{
    json_t *o = json_object();
    int col, ncols = PQnfields(res);

    for (col = 0; col < ncols; col++) {
        const char *name = PQfname(res, col);

        if (name[0] == '_') {
            continue;
        }
        json_object_set_new_nocheck(o, name, column_json(res, row, col)); /* names: ours */
    }
    return o;
}

json_t *
db_row_pick(const PGresult *res, int row, const char *const *names)
{
    json_t *o = json_object();
    const char *const *name;

    for (name = names; *name != NULL; name++) {
        int col = PQfnumber(res, *name);

        json_object_set_new_nocheck(o, *name, col >= 0 ? column_json(res, row, col) : json_null());
    }
    return o;
}

json_t *
db_rows_to_json(const PGresult *res, int n)
{
    json_t *a = json_array();
    int i;

    for (i = 0; i < n; i++) {
        json_array_append_new(a, db_row_to_json(res, i));
    }
    return a;
}

const char *
db_value(const PGresult *res, int row, const char *name)
{
    int col = PQfnumber(res, name);

    if (col < 0 || row >= PQntuples(res) || PQgetisnull(res, row, col)) {
        return NULL;
    }
    return PQgetvalue(res, row, col);
}
