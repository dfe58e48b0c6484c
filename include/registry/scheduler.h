/* scheduler.h: the background jobs (the daily expiry job, the pruning job, the reminder job) on
 * a thread of their own; the reminder worker (reminders.c) starts and stops with it. */
#ifndef REGISTRY_SCHEDULER_H
#define REGISTRY_SCHEDULER_H

#include "registry/config.h"
#include "registry/db.h"
#include "registry/reminders.h" /* IWYU pragma: export (reminders_stmts) */

/* The statements of the jobs themselves (the day, the lock). */
extern const struct db_stmt scheduler_stmts[];

/* Starts the reminder worker (a missing mail template fails it) and the thread on the pool (call
 * after db_pool_init; it runs the jobs at once). Returns 0, or -1 after logging why. */
int scheduler_start(const struct config *c);

/* Stops the thread, letting a job that runs finish; safe when it never started. */
void scheduler_stop(void);

#endif
