/* db.h: a small pool of PostgreSQL connections, borrowed per request, with every statement
 * prepared on each connection (and again after a reconnect). */
#ifndef REGISTRY_DB_H
#define REGISTRY_DB_H

#include <stddef.h>

#include <jansson.h>
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
int db_pool_init(const char *conninfo, int size, int wait_ms, const struct db_stmt *const *tables,
                 char *err, size_t errlen);
void db_pool_close(void);

/* Borrows a healthy connection, waiting up to wait_ms. NULL when none frees up in time or the
 * database is unreachable: the caller answers 503. */
struct db_conn *db_acquire(void);

/* Gives the connection back, rolling back any transaction left open. NULL is fine. */
void db_release(struct db_conn *c);

/* Runs prepared statement `name`. Outside a transaction, a connection found dead is reset,
 * re-prepared and the statement retried once. Never returns NULL. */
PGresult *db_exec(struct db_conn *c, const char *name, int nparams, const char *const *params);

/* 1 when `res` is PGRES_TUPLES_OK or PGRES_COMMAND_OK. */
int db_ok(const PGresult *res);

/* BEGIN (with the same reset-and-retry as db_exec), COMMIT, ROLLBACK. 0 on success; on
 * failure *res (if res is not NULL) holds the failed result, which the caller clears. */
int db_begin(struct db_conn *c, PGresult **res);
int db_commit(struct db_conn *c, PGresult **res);
void db_rollback(struct db_conn *c);

/* 1 when the connection is lost (the caller answers 503). */
int db_lost(struct db_conn *c);

/* Returns a new reference: the row as an object, column names as keys, values typed by the
 * column's type (bool, integers, numeric, json/jsonb parsed, timestamps in RFC 3339 UTC, NULL as
 * null). Columns whose name starts with '_' are internal and left out. */
json_t *db_row_to_json(const PGresult *res, int row);

/* Returns a new reference: an array of db_row_to_json for rows [0, n). */
json_t *db_rows_to_json(const PGresult *res, int n);

/* The value of column `name` in `row`, or NULL when it is SQL NULL or missing. */
const char *db_value(const PGresult *res, int row, const char *name);

/* A single connection for the command-line subcommands (migrate, seed, create-admin).
 * Returns NULL with one line in `err`. */
PGconn *db_connect(const char *conninfo, char *err, size_t errlen);

#endif
