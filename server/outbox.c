/* outbox.c: the one outbox mechanism (outbox.h): a worker thread per room (or several, each with
 * batches of its own) that wakes on a kick or its poll, expires, claims a batch with a lease,
 * sends each claimed row with no connection held, and settles it; the backoff of retries. */
#include "registry/outbox.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/logging.h"

int
outbox_running(const struct outbox *ob)
{
    return ob->t.running;
}

void
outbox_kick(struct outbox *ob)
{
    clock_wake(&ob->t.mu, &ob->t.cv, &ob->kicked);
}

int
outbox_stopping(struct outbox *ob)
{
    int stop;

    /* A plain read under the lock (no timed wait: it is asked before every message sent). */
    if (!ob->t.running) {
        return 0;
    }
    pthread_mutex_lock(&ob->t.mu);
    stop = ob->t.stop;
    pthread_mutex_unlock(&ob->t.mu);
    return stop;
}

int
outbox_settle(
    const struct outbox *ob, const char *label, const char *stmt, int n, const char *const *params)
{
    struct db_conn *db = db_acquire();
    PGresult *res;

    if (db == NULL) {
        /* The lease runs out and the row is tried again; the attempt goes unrecorded. */
        logging_event("error", NULL, "%s: no database connection to record %s", ob->name, label);
        return -1;
    }
    res = db_exec(db, stmt, n, params);
    if (!db_ok(res)) {
        logging_event("error", NULL, "%s: recording %s: %s", ob->name, label,
                      PQresultErrorMessage(res));
    }
    PQclear(res);
    db_release(db);
    return 0;
}

long long
outbox_backoff_ms(const int *factors, size_t n, long long base_ms, int attempt)
{
    size_t k = attempt > 1 ? (size_t)(attempt - 1) : 0;

    return base_ms * factors[k < n ? k : n - 1];
}

/* Expires, then claims a batch. Returns the claimed rows, or NULL. */
static PGresult *
claim(struct outbox *ob, struct db_conn *db)
{
    const char *params[2];
    char lease[16], batch[16];
    PGresult *res;

    if (ob->expire != NULL) {
        res = db_exec(db, ob->expire, 0, NULL);
        if (!db_ok(res)) {
            logging_event("error", NULL, "%s: expiring: %s", ob->name, PQresultErrorMessage(res));
        } else if (strcmp(db_value(res, 0, "n"), "0") != 0) {
            logging_event("warn", NULL, "%s: %s %s", ob->name, db_value(res, 0, "n"), ob->expired);
        }
        PQclear(res);
    }
    if (ob->ready != NULL && !ob->ready(db)) {
        return NULL;
    }
    snprintf(lease, sizeof(lease), "%d", ob->lease_s);
    snprintf(batch, sizeof(batch), "%d", ob->batch);
    params[0] = lease;
    params[1] = batch;
    res = db_exec(db, ob->claim, 2, params);
    if (!db_ok(res)) {
        logging_event("error", NULL, "%s: claiming: %s", ob->name, PQresultErrorMessage(res));
        PQclear(res);
        return NULL;
    }
    return res;
}

const char *
outbox_col(const struct outbox_row *row, const char *name)
{
    return db_value(row->res, row->i, name);
}

int
outbox_run_once(struct outbox *ob, void *ctx)
{
    struct db_conn *db = db_acquire();
    struct outbox_row *rows = NULL;
    PGresult *res;
    int n, i, k = 0;

    if (db == NULL) {
        return 0;
    }
    res = claim(ob, db);
    db_release(db); /* never held while a row is sent: the result stands on its own */
    n = res != NULL ? PQntuples(res) : 0;
    n = n < ob->batch ? n : ob->batch;
    if (ob->send_batch != NULL && n > 0) {
        if ((rows = calloc((size_t)n, sizeof(*rows))) == NULL) {
            /* Nothing sent: the batch waits for its lease to run out. */
            logging_event("error", NULL, "%s: out of memory for a batch of %d", ob->name, n);
            n = 0;
        }
    }
    for (i = 0; i < n; i++) {
        /* Once stopping, the rest wait for their lease to run out and go on another run. */
        struct outbox_row row = {res, i, db_value(res, i, "id"), 0};

        if (row.id == NULL) {
            continue;
        }
        row.attempts = atoi(db_value(res, i, "attempts"));
        if (rows != NULL) {
            rows[k++] = row;
        } else if (!outbox_stopping(ob)) {
            ob->send(&row, ctx);
        }
    }
    if (rows != NULL && k > 0 && !outbox_stopping(ob)) {
        ob->send_batch(rows, k, ctx);
    }
    free(rows);
    PQclear(res);
    return n;
}

static void *
worker_main(void *arg)
{
    struct outbox_worker *w = arg;
    struct outbox *ob = w->ob;
    int n;

    w->ctx = ob->worker_begin != NULL ? ob->worker_begin(w->i) : NULL;
    while (!outbox_stopping(ob)) {
        if (ob->tick != NULL && w->i == 0) {
            ob->tick();
        }
        n = outbox_run_once(ob, w->ctx);
        if (n >= ob->batch) {
            /* There may be more: wake another worker, if one waits. */
            if (ob->workers > 1) {
                outbox_kick(ob);
            }
            continue;
        }
        if (ob->worker_idle != NULL) {
            ob->worker_idle(w->ctx);
        }
        /* Only the first polls; the others wait for a kick (a full batch or a new row). */
        if (clock_wait_or_stop(&ob->t.mu, &ob->t.cv, &ob->t.stop, &ob->kicked,
                               w->i == 0 ? ob->poll_ms : 3600000LL)) {
            break;
        }
    }
    if (ob->worker_end != NULL) {
        ob->worker_end(w->ctx);
    }
    w->ctx = NULL;
    return NULL;
}

int
outbox_start(struct outbox *ob)
{
    int rc, i, n = ob->workers < 1 ? 1 : ob->workers;

    if (n > OUTBOX_WORKERS_MAX) {
        n = OUTBOX_WORKERS_MAX;
    }
    ob->t.stop = 0;
    ob->t.running = 1; /* before the threads read it */
    for (i = 0; i < n; i++) {
        ob->w[i] = (struct outbox_worker){.ob = ob, .i = i};
        if ((rc = pthread_create(&ob->w[i].thread, NULL, worker_main, &ob->w[i])) != 0) {
            logging_event("error", NULL, "mpact-registry: %s: cannot start the worker: %s",
                          ob->name, strerror(rc));
            outbox_stop(ob);
            return -1;
        }
        ob->w[i].started = 1;
    }
    return 0;
}

void
outbox_stop(struct outbox *ob)
{
    int i;

    if (!ob->t.running) {
        return;
    }
    pthread_mutex_lock(&ob->t.mu);
    ob->t.stop = 1;
    pthread_cond_broadcast(&ob->t.cv); /* every worker may be waiting */
    pthread_mutex_unlock(&ob->t.mu);
    for (i = 0; i < OUTBOX_WORKERS_MAX; i++) {
        if (ob->w[i].started) {
            pthread_join(ob->w[i].thread, NULL);
            ob->w[i].started = 0;
        }
    }
    ob->t.running = 0;
}
