/* replica.c: the read replica (REGISTRY_DATABASE_URL_REPLICA). A monitor thread measures its lag
 * and says whether replica-safe reads may use it; a small table of recent writers keeps a caller's
 * reads on the primary just after their own change (read-your-writes). Its pool is db.c's. */
#include "registry/replica.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "registry/clock.h"
#include "registry/db.h"
#include "registry/logging.h"

/* The replica's health, kept by a monitor thread (see db_replica_init). */
static struct {
    struct clock_thread t;
    int max_lag_ms;      /* REGISTRY_REPLICA_MAX_LAG_MS */
    atomic_int state;    /* enum db_replica_state */
    atomic_llong lag_ms; /* last measured lag, -1 unknown */
    atomic_int configured;
} monitor = {.t = CLOCK_THREAD_INIT};

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
    res = db_probe(DB_POOL_PRIMARY, pri, DB_LSN_PRIMARY_SQL);
    if (res != NULL && parse_lsn(PQgetvalue(res, 0, 0), &lsn) == 0) {
        ring.notes[ring.next].at_ms = now;
        ring.notes[ring.next].lsn = lsn;
        ring.next = (ring.next + 1) % ring.cap;
        if (ring.n < ring.cap) {
            ring.n++;
        }
    }
    PQclear(res);
    res = db_probe(DB_POOL_REPLICA, rep, DB_LSN_REPLICA_SQL);
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
        stop = clock_wait_or_stop(&monitor.t.mu, &monitor.t.cv, &monitor.t.stop, NULL,
                                  DB_REPLICA_CHECK_MS);
    }
    PQfinish(pri);
    PQfinish(rep);
    return NULL;
}

int
db_replica_init(const char *conninfo, int max_lag_ms, char *err, size_t errlen)
{
    int rc;

    if (db_pool_open_replica(conninfo, err, errlen) != 0) {
        snprintf(err, errlen, "replica: out of memory"); /* its only failure when lenient */
        return -1;
    }
    monitor.max_lag_ms = max_lag_ms;
    /* Notes enough to see a lag past the limit, and two more. */
    ring.cap = max_lag_ms / DB_REPLICA_CHECK_MS + 3;
    ring.n = 0;
    ring.next = 0;
    ring.notes = calloc((size_t)ring.cap, sizeof(*ring.notes));
    if (ring.notes == NULL) {
        snprintf(err, errlen, "replica: out of memory");
        db_pool_close_replica();
        return -1;
    }
    atomic_store(&monitor.lag_ms, -1);
    /* Start as "unreachable" so that the first measurement that finds it well is logged. */
    atomic_store(&monitor.state, DB_REPLICA_DOWN);
    if ((rc = clock_thread_start(&monitor.t, monitor_main)) != 0) {
        snprintf(err, errlen, "replica: cannot start the monitor: %s", strerror(rc));
        free(ring.notes);
        ring.notes = NULL;
        db_pool_close_replica();
        return -1;
    }
    atomic_store(&monitor.configured, 1);
    return 0;
}

void
db_replica_close(void)
{
    clock_thread_stop(&monitor.t);
    atomic_store(&monitor.configured, 0);
    atomic_store(&monitor.state, DB_REPLICA_NONE);
    free(ring.notes);
    ring.notes = NULL;
    db_pool_close_replica();
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
    return db_acquire_replica();
}

/* ---- Read-your-writes ------------------------------------------------------------------------ */

/* Read-your-writes with a replica: who wrote lately. A signed-in caller whose change succeeded
 * within the replica lag allowed reads replica-safe routes from the primary, so they never read
 * their own change as not yet made. A small table per instance keyed by the token's subject; a
 * full probe window drops its oldest entry (that caller may then read the replica early). */
#define WRITERS_SLOTS 1024
#define WRITERS_PROBE 8

static struct {
    pthread_mutex_t mu;
    struct writer {
        char sub[40];
        long long at_ms;
    } slots[WRITERS_SLOTS];
} writers = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* How long after a write its writer reads the primary: the replica lag allowed, in whole
 * seconds rounded up. */
static long long
writers_window_ms(void)
{
    return ((long long)monitor.max_lag_ms + 999) / 1000 * 1000;
}

/* The slot of `sub` in its probe window; when it has none, the window's oldest slot if
 * `or_oldest`, else NULL. Called with writers.mu held. */
static struct writer *
find_writer(const char *sub, int or_oldest)
{
    struct writer *w = NULL;
    uint32_t h = 2166136261u; /* FNV-1a */
    const char *p;
    int i;

    for (p = sub; *p != '\0'; p++) {
        h = (h ^ (unsigned char)*p) * 16777619u;
    }
    for (i = 0; i < WRITERS_PROBE; i++) {
        struct writer *s = &writers.slots[(h % WRITERS_SLOTS + (uint32_t)i) % WRITERS_SLOTS];
        if (strcmp(s->sub, sub) == 0) {
            return s;
        }
        if (or_oldest && (w == NULL || s->at_ms < w->at_ms)) {
            w = s;
        }
    }
    return w;
}

void
replica_note_write(const char *sub)
{
    struct writer *w;

    if (!atomic_load(&monitor.configured)) {
        return;
    }
    pthread_mutex_lock(&writers.mu);
    w = find_writer(sub, 1);
    snprintf(w->sub, sizeof(w->sub), "%s", sub);
    w->at_ms = clock_mono_ms();
    pthread_mutex_unlock(&writers.mu);
}

int
replica_wrote_lately(const char *sub)
{
    long long since = clock_mono_ms() - writers_window_ms();
    const struct writer *w;
    int recent;

    pthread_mutex_lock(&writers.mu);
    w = find_writer(sub, 0);
    recent = w != NULL && w->at_ms >= since;
    pthread_mutex_unlock(&writers.mu);
    return recent;
}
