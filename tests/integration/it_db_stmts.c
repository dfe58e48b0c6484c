/* it_db_stmts.c: statement-name contracts of the pool (db.c) on a real PostgreSQL. A session that
 * lost its prepared statements (SQLSTATE 26000) has them prepared again and the statement retried
 * once, not a 503; inside a transaction the failure stands and the next borrow prepares them
 * again; a name in no table still fails, as a 500 (our bug); db_stmts_check names what is
 * missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "itlib.h"
#include "registry/db.h"
#include "registry/problem.h"
#include "registry/resource.h"

/* "t_forget" drops every prepared statement of its own session, as a pooler or a stray
 * DEALLOCATE would. */
static const struct db_stmt stmts[] = {
    {"t_one", "SELECT 1 AS one"},
    {"t_forget", "DEALLOCATE ALL"},
    {"t_get", "SELECT 1 AS one"},
    {"t_list", "SELECT 1 AS one"},
    {NULL, NULL},
};
static const struct db_stmt *const tables[] = {stmts, NULL};

static struct it_server *s;

static int
setup(void **state)
{
    char err[256];

    (void)state;
    s = it_prepare("db_stmts", NULL);
    if (db_pool_init(s->conninfo, 1, 1000, tables, err, sizeof(err)) != 0) {
        fprintf(stderr, "db_pool_init: %s\n", err);
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    db_pool_close();
    it_stop(s);
    return 0;
}

/* Runs t_one on `c` and checks that it answered 1. */
static void
assert_one(struct db_conn *c)
{
    PGresult *res = db_exec(c, "t_one", 0, NULL);

    if (!db_ok(res)) {
        fail_msg("t_one: %s", PQresultErrorMessage(res));
    }
    assert_string_equal(db_value(res, 0, "one"), "1");
    PQclear(res);
}

static const char *
sqlstate(const PGresult *res)
{
    const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    return st != NULL ? st : "";
}

static void
test_forgotten_statements_prepared_again(void **state)
{
    struct db_conn *c = db_acquire();
    PGresult *res;

    (void)state;
    assert_non_null(c);
    assert_one(c);
    res = db_exec(c, "t_forget", 0, NULL);
    assert_true(db_ok(res));
    PQclear(res);
    assert_one(c); /* 26000 once, then prepared again and retried */
    assert_one(c);
    db_release(c);
}

static void
test_forgotten_in_a_transaction(void **state)
{
    struct db_conn *c = db_acquire();
    PGresult *res;

    (void)state;
    assert_non_null(c);
    assert_int_equal(db_begin(c, NULL), 0);
    res = db_exec(c, "t_forget", 0, NULL);
    assert_true(db_ok(res));
    PQclear(res);
    res = db_exec(c, "t_one", 0, NULL); /* the transaction is lost: no retry inside it */
    assert_false(db_ok(res));
    assert_string_equal(sqlstate(res), "26000");
    PQclear(res);
    db_rollback(c);
    db_release(c);
    c = db_acquire(); /* the same (only) connection, prepared again on the way out of the pool */
    assert_non_null(c);
    assert_one(c);
    db_release(c);
}

static void
test_misspelt_name(void **state)
{
    struct db_conn *c = db_acquire();
    PGresult *res;

    (void)state;
    assert_non_null(c);
    res = db_exec(c, "t_onne", 0, NULL);
    assert_false(db_ok(res));
    assert_string_equal(sqlstate(res), "26000");
    assert_int_equal(problem_status_for_sqlstate(sqlstate(res)), 500); /* a bug, not "try again" */
    PQclear(res);
    assert_one(c); /* the connection is still good */
    db_release(c);
}

static void
test_stmts_check(void **state)
{
    static const char *const good[] = {"t_one", "t_forget", NULL};
    static const char *const bad[] = {"t_one", "t_onne", "t_forgot", NULL};
    static const char *const none[] = {NULL};

    (void)state;
    assert_int_equal(db_stmts_check(good), 0);
    assert_int_equal(db_stmts_check(none), 0);
    assert_int_equal(db_stmts_check(bad), -1);
}

/* A verb of a descriptor whose statement no table prepares fails the start-up check. */
static void
test_resource_stmts_check(void **state)
{
    static const struct resource ok = {.name = "one", .stmt = "t"};
    static const struct resource misspelt = {.name = "one", .stmt = "tt"};

    (void)state;
    assert_int_equal(resource_stmts_check(&ok, RESOURCE_GET), 0);
    assert_int_equal(resource_stmts_check(&ok, RESOURCE_LIST), 0);
    assert_int_equal(resource_stmts_check(&ok, RESOURCE_UPDATE), -1); /* no t_get_locked */
    assert_int_equal(resource_stmts_check(&misspelt, RESOURCE_GET), -1);
}

TEST_MAIN(setup,
          teardown,
          cmocka_unit_test(test_forgotten_statements_prepared_again),
          cmocka_unit_test(test_forgotten_in_a_transaction),
          cmocka_unit_test(test_misspelt_name),
          cmocka_unit_test(test_stmts_check),
          cmocka_unit_test(test_resource_stmts_check))
