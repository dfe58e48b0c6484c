/* outbox.h: the one outbox mechanism (outbox.c) of the webhook, enquiry and reminder rooms. A
 * room's rows wait in its table; one worker thread, woken by a kick or its poll, expires what
 * waited too long, claims a batch with a lease (FOR UPDATE SKIP LOCKED in the room's claim
 * statement, so instances share the work and none is taken twice), gives the connection back,
 * and hands each claimed row to the room's `send`, which settles it (sent, or a retry after
 * outbox_backoff_ms) with outbox_settle; or hands the whole batch to the room's `send_batch`. A
 * room keeps what is its own: what a row holds, how it is sent, its SQL. */
#ifndef REGISTRY_OUTBOX_H
#define REGISTRY_OUTBOX_H

#include <stddef.h>

#include <libpq-fe.h>

#include "registry/clock.h"
#include "registry/db.h"

/* One claimed row, as the room's claim statement returned it: every outbox row has an id and
 * counts its attempts (this one's number, 1 the first); the room reads its other columns with
 * outbox_col. */
struct outbox_row {
    PGresult *res;
    int i;
    const char *id; /* column "id" */
    int attempts;   /* column "attempts" */
};

/* Column `name` of `row` (borrowed), NULL for SQL NULL. */
const char *outbox_col(const struct outbox_row *row, const char *name);

/* One room's outbox: a descriptor, and the state of its worker (`t`, `kicked`: leave them to
 * outbox.c; OUTBOX_INIT initialises `t`). */
struct outbox {
    const char *name;    /* the room, first word of its log lines ("webhooks") */
    const char *expire;  /* statement that ends what waited too long, returning n; NULL: none */
    const char *expired; /* what the warning says of those n ("reminder(s) ... failed") */
    const char *claim;   /* statement: $1 lease in seconds, $2 batch size; the claimed rows */
    int batch, lease_s;  /* rows claimed at once (at most); how long a claim lasts */
    /* Sends one claimed row once and settles it (its values are borrowed until it returns; no
     * connection is held); `ctx` is outbox_run_once's (NULL from the worker). */
    void (*send)(const struct outbox_row *row, void *ctx);
    /* NULL, or sends the `n` rows of one claimed batch in place of `send` (the enquiry room: on
     * several connections at once, settled in one statement); the rows and their values are
     * borrowed until it returns. It leaves a row it has not tried once outbox_stopping says so,
     * and settles only what it tried: the rest wait for their lease. */
    void (*send_batch)(const struct outbox_row *rows, int n, void *ctx);
    /* NULL, or asked after expiring, on the worker's connection: 0 to claim nothing this time. */
    int (*ready)(struct db_conn *db);
    void (*tick)(void); /* NULL, or called once each time round the worker's loop */
    int poll_ms;        /* how long the worker sleeps when nothing is due */
    struct clock_thread t;
    int kicked; /* under t.mu: rows to send now */
};

/* The members every room sets, first in its initialiser: {OUTBOX_INIT(...), .expire = ...}. */
#define OUTBOX_INIT(name_, claim_, batch_, lease_s_, send_)                                        \
    .name = (name_), .claim = (claim_), .batch = (batch_), .lease_s = (lease_s_), .send = (send_), \
    .t = CLOCK_THREAD_INIT

/* Starts the worker of `ob`. Returns 0, or -1 after one line in the log. */
int outbox_start(struct outbox *ob);

/* Asks the worker to stop and joins it; nothing when it is not running. */
void outbox_stop(struct outbox *ob);

/* 1 while the worker runs. */
int outbox_running(const struct outbox *ob);

/* Wakes the worker to look for due rows now. */
void outbox_kick(struct outbox *ob);

/* 1 when the worker is asked to stop (0 when no worker runs: a command sends on its own). */
int outbox_stopping(struct outbox *ob);

/* One round: expires, claims a batch and sends each row (none once stopping: they wait for their
 * lease to run out). The connection is never held while a row is sent. Returns how many rows were
 * claimed. */
int outbox_run_once(struct outbox *ob, void *ctx);

/* Runs `stmt` with `params` on a connection of its own, to settle the row `label` names (a
 * failure is logged). Returns 0, or -1 when there was no connection (logged: the lease runs out
 * and the row is tried again). */
int outbox_settle(
    const struct outbox *ob, const char *label, const char *stmt, int n, const char *const *params);

/* The delay before the next attempt after attempt `attempt` (1 is the first): `base_ms` times
 * factors[attempt - 1], the last of the `n` factors repeating. */
long long outbox_backoff_ms(const int *factors, size_t n, long long base_ms, int attempt);

#endif
