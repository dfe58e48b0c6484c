/* db.c: a small pool of PostgreSQL connections. HTTP threads are many and connections few
 * (STYLE.md, SQL): a request borrows one for as long as it needs it. Every statement table
 * is prepared on each connection when it opens and again after a reconnect, because prepared
 * statements die with their session (LIBRARIES.md 20). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/db.h"

struct db_conn {
    PGconn *pg;
    int in_tx;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct db_conn *conns;
    int *free_stack;
    int nfree;
    int size;
    int wait_ms;
    char *conninfo;
    const struct db_stmt *const *tables;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, 0, NULL, NULL};

static void
quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* The first line of libpq's error message, for a one-line report. */
static void
first_line(const char *msg, char *out, size_t len)
{
    size_t n = strcspn(msg, "\n");

    if (n >= len) {
        n = len - 1;
    }
    memcpy(out, msg, n);
    out[n] = '\0';
}

/* Sets the session up and prepares every statement. Returns 0, or -1 with `err`. */
static int
setup(PGconn *pg, const struct db_stmt *const *tables, char *err, size_t errlen)
{
    PGresult *res;
    const struct db_stmt *const *t;
    const struct db_stmt *s;
    int ok;

    PQsetNoticeProcessor(pg, quiet_notices, NULL);
    res = PQexec(pg, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; "
                     "SET statement_timeout = '15s'; SET lock_timeout = '10s'");
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
        first_line(PQerrorMessage(pg), err, errlen);
    }
    PQclear(res);
    if (!ok) {
        return -1;
    }
    for (t = tables; t != NULL && *t != NULL; t++) {
        for (s = *t; s->name != NULL; s++) {
            res = PQprepare(pg, s->name, s->sql, 0, NULL);
            ok = PQresultStatus(res) == PGRES_COMMAND_OK;
            if (!ok) {
                char line[256];
                first_line(PQresultErrorMessage(res), line, sizeof(line));
                snprintf(err, errlen, "statement %s does not prepare: %s", s->name, line);
            }
            PQclear(res);
            if (!ok) {
                return -1;
            }
        }
    }
    return 0;
}

PGconn *
db_connect(const char *conninfo, char *err, size_t errlen)
{
    PGconn *pg = PQconnectdb(conninfo != NULL ? conninfo : "");
    char line[256];

    if (PQstatus(pg) != CONNECTION_OK) {
        first_line(PQerrorMessage(pg), line, sizeof(line));
        snprintf(err, errlen, "cannot connect to the database: %s", line);
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, quiet_notices, NULL);
    return pg;
}

/* Reconnects a dead connection and prepares again. Returns 0, or -1. */
static int
reconnect(struct db_conn *c)
{
    char err[256];

    PQreset(c->pg);
    c->in_tx = 0;
    if (PQstatus(c->pg) != CONNECTION_OK) {
        return -1;
    }
    if (setup(c->pg, pool.tables, err, sizeof(err)) != 0) {
        fprintf(stderr, "db: after reconnect: %s\n", err);
        return -1;
    }
    fprintf(stderr, "db: reconnected\n");
    return 0;
}

int
db_pool_init(const char *conninfo, int size, int wait_ms, const struct db_stmt *const *tables,
             char *err, size_t errlen)
{
    int i;

    pool.conninfo = strdup(conninfo != NULL ? conninfo : "");
    pool.conns = calloc((size_t)size, sizeof(*pool.conns));
    pool.free_stack = calloc((size_t)size, sizeof(*pool.free_stack));
    if (pool.conninfo == NULL || pool.conns == NULL || pool.free_stack == NULL) {
        snprintf(err, errlen, "out of memory");
        db_pool_close();
        return -1;
    }
    pool.size = size;
    pool.wait_ms = wait_ms;
    pool.tables = tables;
    for (i = 0; i < size; i++) {
        pool.conns[i].pg = db_connect(pool.conninfo, err, errlen);
        if (pool.conns[i].pg == NULL || setup(pool.conns[i].pg, tables, err, errlen) != 0) {
            db_pool_close();
            return -1;
        }
        pool.free_stack[pool.nfree++] = i;
    }
    return 0;
}

void
db_pool_close(void)
{
    int i;

    for (i = 0; i < pool.size && pool.conns != NULL; i++) {
        PQfinish(pool.conns[i].pg);
    }
    free(pool.conns);
    free(pool.free_stack);
    free(pool.conninfo);
    pool.conns = NULL;
    pool.free_stack = NULL;
    pool.conninfo = NULL;
    pool.size = 0;
    pool.nfree = 0;
}

struct db_conn *
db_acquire(void)
{
    struct timespec deadline;
    struct db_conn *c = NULL;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += pool.wait_ms / 1000;
    deadline.tv_nsec += (long)(pool.wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&pool.mu);
    while (pool.nfree == 0 && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&pool.cv, &pool.mu, &deadline);
    }
    if (pool.nfree > 0) {
        c = &pool.conns[pool.free_stack[--pool.nfree]];
    }
    pthread_mutex_unlock(&pool.mu);
    if (c == NULL) {
        return NULL;
    }
    /* A connection known to be dead is mended now; one that died silently is found by the
     * first statement, which reconnects and retries (db_exec). */
    if (PQstatus(c->pg) == CONNECTION_BAD && reconnect(c) != 0) {
        db_release(c);
        return NULL;
    }
    return c;
}

void
db_release(struct db_conn *c)
{
    if (c == NULL) {
        return;
    }
    if (PQstatus(c->pg) == CONNECTION_OK && (c->in_tx || PQtransactionStatus(c->pg) != PQTRANS_IDLE)) {
        PQclear(PQexec(c->pg, "ROLLBACK"));
    }
    c->in_tx = 0;
    pthread_mutex_lock(&pool.mu);
    pool.free_stack[pool.nfree++] = (int)(c - pool.conns);
    pthread_cond_signal(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
}

int
db_ok(const PGresult *res)
{
    ExecStatusType s = PQresultStatus(res);

    return s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK;
}

int
db_lost(struct db_conn *c)
{
    return c == NULL || PQstatus(c->pg) == CONNECTION_BAD;
}

static PGresult *
failed_result(struct db_conn *c)
{
    PGresult *res = PQmakeEmptyPGresult(c->pg, PGRES_FATAL_ERROR);

    return res;
}

PGresult *
db_exec(struct db_conn *c, const char *name, int nparams, const char *const *params)
{
    PGresult *res = PQexecPrepared(c->pg, name, nparams, params, NULL, NULL, 0);

    if (!db_ok(res) && !c->in_tx && PQstatus(c->pg) == CONNECTION_BAD) {
        PQclear(res);
        if (reconnect(c) != 0) {
            return failed_result(c);
        }
        res = PQexecPrepared(c->pg, name, nparams, params, NULL, NULL, 0);
    }
    return res != NULL ? res : failed_result(c);
}

int
db_begin(struct db_conn *c, PGresult **out)
{
    PGresult *res = PQexec(c->pg, "BEGIN");

    if (!db_ok(res) && PQstatus(c->pg) == CONNECTION_BAD) {
        PQclear(res);
        res = reconnect(c) == 0 ? PQexec(c->pg, "BEGIN") : failed_result(c);
    }
    if (!db_ok(res)) {
        if (out != NULL) {
            *out = res;
        } else {
            PQclear(res);
        }
        return -1;
    }
    PQclear(res);
    c->in_tx = 1;
    return 0;
}

int
db_commit(struct db_conn *c, PGresult **out)
{
    PGresult *res = PQexec(c->pg, "COMMIT");
    /* COMMIT of an aborted transaction "succeeds" with the tag ROLLBACK. */
    int ok = db_ok(res) && strcmp(PQcmdStatus(res), "COMMIT") == 0;

    c->in_tx = 0;
    if (!ok) {
        if (out != NULL) {
            *out = res;
        } else {
            PQclear(res);
        }
        return -1;
    }
    PQclear(res);
    return 0;
}

void
db_rollback(struct db_conn *c)
{
    if (c->in_tx && PQstatus(c->pg) == CONNECTION_OK) {
        PQclear(PQexec(c->pg, "ROLLBACK"));
    }
    c->in_tx = 0;
}

/* "2025-01-31 12:00:00.5+00" -> "2025-01-31T12:00:00.5Z" (the session runs in UTC). */
static json_t *
timestamp_json(const char *v)
{
    char buf[64];
    size_t n = strlen(v);

    if (n + 2 > sizeof(buf)) {
        return json_string(v);
    }
    memcpy(buf, v, n + 1);
    if (n > 10 && buf[10] == ' ') {
        buf[10] = 'T';
    }
    if (n > 3 && strcmp(buf + n - 3, "+00") == 0) {
        buf[n - 3] = 'Z';
        buf[n - 2] = '\0';
    }
    return json_string(buf);
}

static json_t *
value_json(const PGresult *res, int row, int col)
{
    const char *v;

    if (PQgetisnull(res, row, col)) {
        return json_null();
    }
    v = PQgetvalue(res, row, col);
    switch (PQftype(res, col)) {
    case 16: /* bool */
        return json_boolean(v[0] == 't');
    case 20: /* int8 */
    case 21: /* int2 */
    case 23: /* int4 */
        return json_integer(strtoll(v, NULL, 10));
    case 700:  /* float4 */
    case 701:  /* float8 */
    case 1700: /* numeric */
        return json_real(strtod(v, NULL));
    case 114:  /* json */
    case 3802: /* jsonb */
        return json_loads(v, JSON_DECODE_ANY, NULL);
    case 1184: /* timestamptz */
        return timestamp_json(v);
    default:
        return json_string(v);
    }
}

json_t *
db_row_to_json(const PGresult *res, int row)
{
    json_t *o = json_object();
    int col, ncols = PQnfields(res);

    for (col = 0; col < ncols; col++) {
        const char *name = PQfname(res, col);
        json_t *v;
        if (name[0] == '_') {
            continue;
        }
        v = value_json(res, row, col);
        /* A value Jansson refuses (invalid UTF-8 from the database) becomes null, loudly. */
        if (v == NULL) {
            fprintf(stderr, "db: column %s: value not representable in JSON\n", name);
            v = json_null();
        }
        json_object_set_new(o, name, v);
    }
    return o;
}

json_t *
db_rows_to_json(const PGresult *res, int n)
{
    json_t *a = json_array();
    int i;

    for (i = 0; i < n; i++) {
        json_array_append_new(a, db_row_to_json(res, i));
    }
    return a;
}

const char *
db_value(const PGresult *res, int row, const char *name)
{
    int col = PQfnumber(res, name);

    if (col < 0 || row >= PQntuples(res) || PQgetisnull(res, row, col)) {
        return NULL;
    }
    return PQgetvalue(res, row, col);
}
