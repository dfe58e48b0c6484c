/* outbox.c: the one outbox mechanism (outbox.h): a worker thread per room that wakes on a kick or
 * its poll, expires, claims a batch with a lease, sends each claimed row with no connection held,
 * and settles it; the backoff of retries. */
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

    /* A plain read under the lock, keeping a kick for the loop's wait (no timed wait: a room
     * asks before every message it sends). */
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
    struct outbox *ob = arg;

    while (!outbox_stopping(ob)) {
        if (ob->tick != NULL) {
            ob->tick();
        }
        if (outbox_run_once(ob, NULL) < ob->batch
            && clock_wait_or_stop(&ob->t.mu, &ob->t.cv, &ob->t.stop, &ob->kicked, ob->poll_ms)) {
            break;
        }
    }
    return NULL;
}

int
outbox_start(struct outbox *ob)
{
    int rc;

    ob->t.stop = 0;
    ob->t.running = 1; /* before the thread reads it */
    if ((rc = pthread_create(&ob->t.thread, NULL, worker_main, ob)) != 0) {
        ob->t.running = 0;
        logging_event("error", NULL, "mpact-registry: %s: cannot start the worker: %s", ob->name,
                      strerror(rc));
        return -1;
    }
    return 0;
}

void
outbox_stop(struct outbox *ob)
{
    clock_thread_stop(&ob->t);
}
