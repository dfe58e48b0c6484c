/* db.h: a small pool of PostgreSQL connections, borrowed per request, with every statement
 * prepared on each connection (and again after a reconnect). */
#ifndef REGISTRY_DB_H
#define REGISTRY_DB_H

#include <stddef.h>

#include <libpq-fe.h>

#define DB_MAX_PARAMS 16

struct db_stmt {
    const char *name;
    const char *sql;
};

struct db_conn;

/* Opens `size` connections to `conninfo` and prepares every statement of every table in
 * `tables` (NULL-terminated list of {NULL, NULL}-terminated tables). Returns 0, or -1 with
 * one line in `err` (database unreachable, SQL that does not prepare). */
int db_pool_init(const char *conninfo,
                 int size,
                 int wait_ms,
                 const struct db_stmt *const *tables,
                 char *err,
                 size_t errlen);
void db_pool_close(void);

/* Client-side deadlines (LIBRARIES.md 29): a database that hangs instead of refusing must cost a
 * request seconds, not as long as it hangs. */
#define DB_QUERY_TIMEOUT_DEFAULT_MS 2000   /* REGISTRY_DB_QUERY_TIMEOUT_MS when unset */
#define DB_TCP_USER_TIMEOUT_MS      10000  /* tcp_user_timeout of every connection (TCP only) */
#define DB_CLEANUP_MS               1000   /* a ROLLBACK on release when the deadline has passed */
#define DB_JOB_TIMEOUT_MS           600000 /* background jobs (expiry, pruning): 10 minutes */
#define DB_PROBE_MS                 500    /* a reconnect's connect while the database hangs */

/* Sets REGISTRY_DB_QUERY_TIMEOUT_MS (before db_pool_init; <= 0: the default). */
void db_set_query_timeout(int ms);
int db_query_timeout(void);

/* Borrows a healthy connection, waiting up to wait_ms. Its database work from then on (a
 * reconnect, every statement, commit) must end within the query timeout: a round trip still
 * unanswered then drops the connection (made again when next borrowed) and fails with no
 * SQLSTATE, which problem_from_db answers with 503; later statements of the same borrow fail at
 * once. NULL when none frees up in time or the database is unreachable: the caller answers
 * 503. */
struct db_conn *db_acquire(void);

/* As db_acquire, waiting up to `wait_ms` for a connection and giving its work `work_ms` (0: no
 * client deadline) instead: /readyz answers within its own budget, background jobs get longer. */
struct db_conn *db_acquire_within(int wait_ms, int work_ms);

/* As db_acquire for the background jobs (the daily expiry and pruning), whose statements may
 * legitimately run long (the server's statement_timeout still bounds each): DB_JOB_TIMEOUT_MS. */
struct db_conn *db_acquire_job(void);

/* Gives the connection back, rolling back any transaction left open. NULL is fine. */
void db_release(struct db_conn *c);

/* ---- Figures for metrics ---- */

#define DB_POOL_PRIMARY 0
#define DB_POOL_REPLICA 1

struct db_pool_stats {
    int size;                      /* connections */
    int in_use;                    /* borrowed now */
    int waiting;                   /* requests waiting for one now */
    unsigned long long statements; /* prepared statements run since start */
};

/* Fills `out` for pool `which` (DB_POOL_PRIMARY or DB_POOL_REPLICA). Returns 0, or -1 when that
 * pool is not open (out is zeroed). */
int db_pool_stats(int which, struct db_pool_stats *out);

/* The replica's own pool, for replica.c: opened leniently (a connection that cannot be made now
 * is made when next borrowed) with the primary's size, wait and tables, closed, and borrowed from
 * whatever the monitor says. */
int db_pool_open_replica(const char *conninfo, char *err, size_t errlen);
void db_pool_close_replica(void);
struct db_conn *db_acquire_replica(void);

/* Runs `sql`, which returns one row, on the caller's own connection `*pg` to the database of pool
 * `which`, making or mending the connection first, all within DB_REPLICA_CONNECT_TIMEOUT_S: a hung
 * database is then measured as unreachable instead of holding the caller (the replica monitor).
 * Returns the result (the caller clears it) or NULL; the caller PQfinishes `*pg` at the end. */
PGresult *db_probe(int which, PGconn **pg, const char *sql);

/* Runs prepared statement `name` by the borrow's deadline. Outside a transaction, a connection
 * found dead is reset, re-prepared and the statement retried once (never after a deadline
 * passed), and so is a statement the session does not know (SQLSTATE 26000: its statements are
 * prepared again); inside one, that failure stands and the connection is prepared again when next
 * borrowed. A name in no statement table still fails with 26000 (problem_from_db: 500). Never
 * returns NULL. */
PGresult *db_exec(struct db_conn *c, const char *name, int nparams, const char *const *params);

/* Checks that every name of `names` (NULL-terminated) is a statement of the tables given to
 * db_pool_init (call after it): the statement names the code uses, checked at start-up. Returns 0,
 * or -1 after logging one line naming the first missing one; `serve` then stops. */
int db_stmts_check(const char *const *names);

/* Runs prepared statement `name` with one integer parameter and returns the integer in the first
 * column of its one row (a count, say), or -1 when it failed. */
long db_exec_long(struct db_conn *c, const char *name, long param);

/* 1 when `res` is PGRES_TUPLES_OK or PGRES_COMMAND_OK. */
int db_ok(const PGresult *res);

/* BEGIN (with the same reset-and-retry as db_exec), COMMIT, ROLLBACK. 0 on success; on
 * failure *res (if res is not NULL) holds the failed result, which the caller clears. */
int db_begin(struct db_conn *c, PGresult **res);
int db_commit(struct db_conn *c, PGresult **res);
void db_rollback(struct db_conn *c);

/* 1 when the connection is lost (the caller answers 503). */
int db_lost(struct db_conn *c);

/* A single connection for the command-line subcommands (migrate, seed, create-admin).
 * Returns NULL with one line in `err`. */
PGconn *db_connect(const char *conninfo, char *err, size_t errlen);

/* Until callers include them themselves. */
#include "registry/replica.h" /* IWYU pragma: export */
#include "registry/rowjson.h" /* IWYU pragma: export */

#endif
