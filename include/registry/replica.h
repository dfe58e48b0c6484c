/* replica.h: the read replica (REGISTRY_DATABASE_URL_REPLICA): its lag monitor, which says
 * whether replica-safe reads may go to it, and read-your-writes. */
#ifndef REGISTRY_REPLICA_H
#define REGISTRY_REPLICA_H

#include <stddef.h>

struct db_conn;
struct db_stmt;

#define DB_REPLICA_CHECK_MS          1000 /* how often the replica's lag is measured */
#define DB_REPLICA_CONNECT_TIMEOUT_S 2    /* connect_timeout of replica connections */

enum db_replica_state {
    DB_REPLICA_NONE,    /* no replica configured */
    DB_REPLICA_IN_USE,  /* reachable and within the lag limit: replica-safe reads go to it */
    DB_REPLICA_DOWN,    /* unreachable: reads go to the primary */
    DB_REPLICA_LAGGING, /* behind by more than the limit (or unknown): reads go to the primary */
};

/* After db_pool_init: opens a second pool to the replica, of the primary's size, wait and
 * statement tables, and a monitor thread that measures its lag every DB_REPLICA_CHECK_MS on a
 * connection of its own and logs each change of state once. An unreachable replica does not fail
 * this: its connections are made when it comes back. Returns 0, or -1 with `err`, "replica: ..."
 * (out of memory, no thread). */
int db_replica_init(const char *conninfo, int max_lag_ms, char *err, size_t errlen);

/* Stops the monitor and closes the replica pool; safe when none was opened. db_pool_close calls
 * it. */
void db_replica_close(void);

/* Borrows a replica connection when the replica is in use, else NULL: the caller then borrows
 * from the primary (db_acquire). Release it with db_release as any other. */
struct db_conn *db_acquire_read(void);

/* The replica's state (enum db_replica_state); *lag_ms (when not NULL) gets the last measured lag,
 * -1 when unknown. */
int db_replica_state(long long *lag_ms);

/* Read-your-writes: notes that the signed-in caller `sub` has just changed something (nothing
 * without a replica), so that replica_wrote_lately says 1 for them for the replica lag allowed,
 * rounded up to whole seconds, and their reads stay on the primary. */
void replica_note_write(const char *sub);
int replica_wrote_lately(const char *sub);

#endif
