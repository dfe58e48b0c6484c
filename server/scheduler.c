/* scheduler.c: the background jobs, on one thread of their own, each against the pool with the
 * long job deadline (db_acquire_job):
 *
 * - the expiry job, at start and whenever registry_today() changes (and every
 *   REGISTRY_WEBHOOK_EXPIRY_EVERY_S as well when that is set): under a transaction-level advisory
 *   lock, so one instance does it, the status changes scheduled for today take effect
 *   (facilitators.c), the finder's stored items whose window has passed are made today's
 *   (public_site_items_refresh, migration 0042: until then a search computes them from their
 *   cards, the same answer, slower) and the expiring licences and accreditations are enqueued as
 *   webhooks (webhooks.c); the webhook worker is then woken to deliver them;
 * - the pruning job, at start and once a day: dead refresh tokens and API-client secrets older
 *   than REGISTRY_TOKEN_RETENTION_DAYS go (tokens.c, clients.c);
 * - the reminder job, at start and once a day, after the expiry job: the e-mail reminders due on
 *   registry_today() are queued (reminders_enqueue_due, the function `mpact-registry
 *   send-reminders --today DAY` runs for a given day) and the reminder worker, which
 *   scheduler_start starts and scheduler_stop stops, is woken to send them.
 *
 * A job that fails is tried again at the next look at the day, a minute later. */
#include "registry/scheduler.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "registry/clients.h"
#include "registry/clock.h"
#include "registry/db.h"
#include "registry/logging.h"
#include "registry/reminders.h"
#include "registry/webhooks.h"

#define SCHED_EXPIRY_LOCK "727274007"
#define SCHED_DAY_CHECK_S 60 /* how often the thread looks whether the day has changed */

const struct db_stmt scheduler_stmts[] = {
    {"sched_today", "SELECT registry_today()::text AS today"},
    {"sched_expiry_lock", "SELECT pg_try_advisory_xact_lock(" SCHED_EXPIRY_LOCK ") AS locked"},
    /* The finder's stored items whose window has passed, computed for the new day (0042). */
    {"sched_items_refresh", "SELECT public_site_items_refresh() AS refreshed"},
    {NULL, NULL},
};

static struct {
    struct clock_thread t;
    int expiry_every_s, retention_days;
} sched = {.t = CLOCK_THREAD_INIT};

/* Runs the expiry job unless another instance holds the lock. Returns 0 when it ran (or another
 * instance is running it), -1 on a database error (try again later). */
static int
expiry_job(void)
{
    struct db_conn *c;
    PGresult *res = NULL;
    int rc = -1, locked;

    if ((c = db_acquire_job()) == NULL) {
        return -1;
    }
    if (db_begin(c, &res) != 0) {
        goto out;
    }
    res = db_exec(c, "sched_expiry_lock", 0, NULL);
    if (!db_ok(res)) {
        goto out;
    }
    locked = db_bool(res, 0, "locked");
    PQclear(res);
    res = NULL;
    if (!locked) {
        rc = 0; /* another instance is on it */
        goto out;
    }
    /* Status changes scheduled for today take effect first (fac_apply_all_due), then the
     * finder's items are made today's, so no search computes them from the cards. */
    res = db_exec(c, "fac_apply_all_due", 0, NULL);
    if (!db_ok(res)) {
        goto out;
    }
    PQclear(res);
    res = db_exec(c, "sched_items_refresh", 0, NULL);
    if (!db_ok(res)) {
        goto out;
    }
    PQclear(res);
    res = NULL;
    if (webhooks_enqueue_expiring(c, &res) != 0 || db_commit(c, &res) != 0) {
        goto out;
    }
    rc = 0;
    webhooks_kick();
out:
    if (rc != 0 && res != NULL) {
        logging_event("error", NULL, "scheduler: expiry job: %s", PQresultErrorMessage(res));
    }
    PQclear(res);
    db_release(c); /* rolls back what is left open, which frees the lock */
    return rc;
}

/* The pruning job. Each DELETE is idempotent, so instances that run it at the same time do no
 * harm. Returns 0, or -1 on a database error (try again later). */
static int
prune_job(void)
{
    struct db_conn *c = db_acquire_job();
    long tokens, secrets;

    if (c == NULL) {
        return -1;
    }
    tokens = db_exec_long(c, "tok_prune", sched.retention_days);
    secrets = clients_prune_secrets(c, sched.retention_days);
    db_release(c);
    if (tokens < 0 || secrets < 0) {
        logging_event("error", NULL, "maintenance: pruning old tokens failed; will try again");
        return -1;
    }
    if (tokens + secrets == 0) {
        return 0; /* nothing to say */
    }
    logging_event("info", NULL,
                  "maintenance: pruned %ld refresh token(s) and %ld API-client secret(s) dead "
                  "for more than %d days",
                  tokens, secrets, sched.retention_days);
    return 0;
}

/* The reminder job for `day`. Queueing is idempotent (reminder_outbox's unique key), so
 * instances that run it at the same time do no harm. Returns 0, or -1 (try again later). */
static int
reminder_job(const char *day)
{
    struct db_conn *c = db_acquire_job();
    long n;

    if (c == NULL) {
        return -1;
    }
    n = reminders_enqueue_due(c, day);
    db_release(c);
    if (n > 0) {
        reminders_kick();
    }
    return n < 0 ? -1 : 0;
}

/* registry_today() into `out`, or "" on a database error. */
static void
today(char *out, size_t len)
{
    struct db_conn *c = db_acquire();
    PGresult *res;

    out[0] = '\0';
    if (c == NULL) {
        return;
    }
    res = db_exec(c, "sched_today", 0, NULL);
    if (db_ok(res) && PQntuples(res) == 1) {
        snprintf(out, len, "%s", db_value(res, 0, "today"));
    }
    PQclear(res);
    db_release(c);
}

static void *
scheduler_main(void *arg)
{
    char done_day[16] = "", pruned_day[16] = "", reminded_day[16] = "", day[16];
    long long next_day_check = 0, next_extra = 0, every_ms = sched.expiry_every_s * 1000LL, wake;

    (void)arg;
    do {
        long long t = clock_mono_ms();

        if (t >= next_day_check) {
            today(day, sizeof(day));
            if (day[0] != '\0' && strcmp(day, done_day) != 0 && expiry_job() == 0) {
                snprintf(done_day, sizeof(done_day), "%s", day);
                next_extra = t + every_ms;
            }
            if (day[0] != '\0' && strcmp(day, pruned_day) != 0 && prune_job() == 0) {
                snprintf(pruned_day, sizeof(pruned_day), "%s", day);
            }
            if (day[0] != '\0' && strcmp(day, done_day) == 0 && strcmp(day, reminded_day) != 0
                && reminder_job(day) == 0) {
                snprintf(reminded_day, sizeof(reminded_day), "%s", day);
            }
            next_day_check = t + SCHED_DAY_CHECK_S * 1000LL;
        }
        if (every_ms > 0 && t >= next_extra) {
            expiry_job();
            next_extra = t + every_ms;
        }
        wake = every_ms > 0 && next_extra < next_day_check ? next_extra : next_day_check;
    } while (
        !clock_wait_or_stop(&sched.t.mu, &sched.t.cv, &sched.t.stop, NULL, wake - clock_mono_ms()));
    return NULL;
}

int
scheduler_start(const struct config *c)
{
    int rc;

    sched.expiry_every_s = c->webhook_expiry_every_s;
    sched.retention_days = c->token_retention_days;
    if (reminders_start(c) != 0) {
        return -1; /* it said why */
    }
    if ((rc = clock_thread_start(&sched.t, scheduler_main)) != 0) {
        logging_event("error", NULL, "mpact-registry: cannot start the scheduler: %s",
                      strerror(rc));
        reminders_stop();
        return -1;
    }
    return 0;
}

void
scheduler_stop(void)
{
    clock_thread_stop(&sched.t);
    reminders_stop();
}
