/* scheduler.h: the background jobs (the daily expiry job, the pruning job) on a thread of their
 * own. */
#ifndef REGISTRY_SCHEDULER_H
#define REGISTRY_SCHEDULER_H

#include "registry/config.h"
#include "registry/db.h"

/* The statements of the jobs themselves (the day, the lock). */
extern const struct db_stmt scheduler_stmts[];

/* Starts the thread on the pool (call after db_pool_init; it runs the jobs at once). Returns 0,
 * or -1 after logging why. */
int scheduler_start(const struct config *c);

/* Stops the thread, letting a job that runs finish; safe when it never started. */
void scheduler_stop(void);

#endif
