/* it_postcodes.c: `mpact-registry import-postcodes FILE` against a real PostgreSQL, with files
 * generated here in the published ONSPD format (a header naming many columns in an order of its
 * own, every field quoted, CRLF line ends): the summary's counts, the rows loaded (terminated,
 * unlocated, invalid and malformed rows skipped), the district centroids, a second import
 * replacing the first, bad files (no lat column, mostly garbage, empty, missing) and a held import
 * lock each failing with a clear message and the old tables unchanged, readers seeing either the
 * old table or the new one while an import runs (never a half-loaded one), a reader transaction
 * outlasting one swap attempt, postcode_district_refresh() for the demo seed, and the lookup
 * other rooms call (postcodes_find). IT_TIMEOUT=600 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "itlib.h"
#include "registry/db.h"
#include "registry/postcodes.h"

/* The ONSPD's own first columns, shuffled, with lat, long, doterm and pcds in the middle. */
#define HEADER                                                                                     \
    "\"pcd\",\"pcd2\",\"long\",\"dointr\",\"oscty\",\"doterm\",\"oseast1m\",\"osnrth1m\","         \
    "\"osgrdind\",\"lat\",\"pcds\",\"ctry\",\"lsoa21\"\r\n"

/* The snapshot SQL: both tables as one string, to compare before and after a failed import. */
#define SNAPSHOT_SQL                                                                               \
    "SELECT coalesce((SELECT string_agg(postcode || ':' || latitude || ':' || longitude, ','"      \
    " ORDER BY postcode) FROM postcode), '') || '|' || coalesce((SELECT string_agg(outward ||"     \
    " ':' || latitude || ':' || longitude || ':' || postcodes, ',' ORDER BY outward) FROM"         \
    " postcode_district), '')"

/* ---- Helpers ------------------------------------------------------------------------------- */

/* One data row in the published format: every field quoted, CRLF. */
static void
put_row(FILE *f, const char *pcds, const char *lat, const char *lon, const char *doterm)
{
    fprintf(f,
            "\"%s\",\"%s\",\"%s\",\"198001\",\"E10000016\",\"%s\",\"575000\",\"168000\",\"1\","
            "\"%s\",\"%s\",\"E92000001\",\"Medway, Chatham \"\"central\"\"\"\r\n",
            pcds, pcds, lon, doterm, lat, pcds);
}

static char *
file_path(struct it_server *s, const char *name)
{
    return it_fmt("%s/%s", s->work_dir, name);
}

static FILE *
open_file(const char *path)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL) {
        fail_msg("cannot write %s", path);
    }
    return f;
}

/* The first file: 14 rows, 7 of them loadable. */
static char *
write_first(struct it_server *s)
{
    char *path = file_path(s, "first.csv");
    FILE *f = open_file(path);

    fputs(HEADER, f);
    put_row(f, "ME4 4AA", "51.380000", "0.520000", "");
    put_row(f, "ME4 4AB", "51.382000", "0.524000", "");
    put_row(f, "ME4 9ZZ", "51.390000", "0.530000", "201904"); /* terminated */
    put_row(f, "ME4 5BA", "51.374000", "0.537000", "");
    put_row(f, "ME4 8XX", "99.999999", "0.000000", ""); /* unlocated: no grid reference */
    put_row(f, "NOTAPC", "51.380000", "0.520000", "");  /* invalid */
    put_row(f, "me7 2bb", "51.376000", "0.560000", ""); /* loaded as ME7 2BB */
    put_row(f, "ME7 1AA", "51.380000", "0.550000", "");
    fputs("\"ME7 1AB\",\"short row\"\r\n", f);   /* malformed: too few fields */
    put_row(f, "ME4 8XY", "", "", "");           /* unlocated: empty */
    put_row(f, "", "51.380000", "0.520000", ""); /* invalid: empty */
    put_row(f, "BS1 4NT", "51.450800", "-2.594500", "");
    put_row(f, "BS1 9ZZ", "99.999999", "0.000000", "200012"); /* terminated */
    put_row(f, "BS1 5TR", "51.452000", "-2.597000", "");
    fputs("\r\n", f); /* a trailing empty line is not a row */
    fclose(f);
    return path;
}

/* A file of `n` loadable rows (plus `garbage` rows with invalid postcodes, interleaved), with
 * unique postcodes A<x><1-20> <digit><letter><letter> (20 districts per 6760*20 rows) and
 * varying positions. */
static char *
write_many(struct it_server *s, const char *name, long n, long garbage)
{
    char *path = file_path(s, name);
    FILE *f = open_file(path);
    long i, g = 0;

    fputs(HEADER, f);
    for (i = 0; i < n; i++) {
        char pc[16], lat[32], lon[32];
        long k = i / 20 % 6760, a = i / 20 / 6760;
        snprintf(pc, sizeof(pc), "A%c%ld %ld%c%c", (char)('A' + a % 26), i % 20 + 1, k % 10,
                 (char)('A' + (k / 10) % 26), (char)('A' + (k / 260) % 26));
        snprintf(lat, sizeof(lat), "%.6f", 52.0 + (double)(i % 1000) / 10000.0);
        snprintf(lon, sizeof(lon), "%.6f", -1.0 - (double)(i % 777) / 10000.0);
        put_row(f, pc, lat, lon, "");
        if (g < garbage && (i % 2 == 0 || i + (garbage - g) >= n)) {
            put_row(f, "NOT A POSTCODE", "52.000000", "-1.000000", "");
            g++;
        }
    }
    fclose(f);
    return path;
}

/* Runs the import; returns its exit status and sets *output (malloc'd). */
static int
import(struct it_server *s, const char *path, char **output)
{
    const char *args[] = {"import-postcodes", path, NULL};
    int rc = it_exec(s, 0, args, NULL, NULL, 300, output);

    it_assert_clean_output(*output);
    return rc;
}

static char *
snapshot(struct it_server *s)
{
    char *v = it_sql_text(s, SNAPSHOT_SQL);
    return v;
}

/* Asserts that the import of `path` fails mentioning `needle`, leaving the tables as they were. */
static void
import_fails(struct it_server *s, const char *path, const char *needle)
{
    char *before = snapshot(s), *after, *out = NULL;
    int rc = import(s, path, &out);

    if (rc == 0 || strstr(out, needle) == NULL) {
        fail_msg("import of %s: exit %d, expected a failure saying '%s'; output:\n%s", path, rc,
                 needle, out);
    }
    assert_null(strstr(out, "rows read:")); /* no summary */
    after = snapshot(s);
    assert_string_equal(after, before);
    assert_int_equal(it_count(s, "SELECT count(*) FROM pg_class WHERE relname IN"
                                 " ('postcode_new', 'postcode_district_new', 'postcode_old')"),
                     0);
    free(before);
    free(after);
    free(out);
}

/* ---- Fixture ------------------------------------------------------------------------------- */

IT_SETUP(setup, it_prepare("postcodes", NULL))

/* ---- Tests --------------------------------------------------------------------------------- */

static void
test_import_published_format(void **state)
{
    struct it_server *s = *state;
    char *path = write_first(s), *out = NULL;
    PGresult *res;

    /* An old row, which the import replaces. */
    PQclear(it_sql(s, "INSERT INTO postcode VALUES ('TR1 2SJ', 50.263, -5.051)"));
    PQclear(it_sql(s, "SELECT postcode_district_refresh()"));

    if (import(s, path, &out) != 0) {
        fail_msg("import failed:\n%s", out);
    }
    it_assert_contains(out, "rows read: 14\n");
    it_assert_contains(out, "loaded: 7\n");
    it_assert_contains(out, "skipped: 7 (terminated 2, unlocated 2, invalid 2, malformed 1)\n");
    it_assert_contains(out, "districts: 3\n");
    it_assert_contains(out, "seconds: ");

    assert_int_equal(it_count(s, "SELECT count(*) FROM postcode"), 7);
    assert_int_equal(it_count(s, "SELECT count(*) FROM postcode WHERE postcode IN ('ME4 4AA',"
                                 " 'ME4 4AB', 'ME4 5BA', 'ME7 2BB', 'ME7 1AA', 'BS1 4NT',"
                                 " 'BS1 5TR')"),
                     7);
    assert_int_equal(it_count(s, "SELECT count(*) FROM postcode WHERE postcode = 'BS1 4NT'"
                                 " AND latitude = 51.4508 AND longitude = -2.5945"),
                     1);
    /* ME4 is the average of its three live, located rows. */
    res = it_sql_rows(s, 1,
                      "SELECT latitude, longitude, postcodes FROM postcode_district"
                      " WHERE outward = 'ME4'");
    assert_true(fabs(strtod(PQgetvalue(res, 0, 0), NULL) - (51.380 + 51.382 + 51.374) / 3) < 1e-9);
    assert_true(fabs(strtod(PQgetvalue(res, 0, 1), NULL) - (0.520 + 0.524 + 0.537) / 3) < 1e-9);
    assert_string_equal(PQgetvalue(res, 0, 2), "3");
    PQclear(res);
    assert_int_equal(it_count(s, "SELECT count(*) FROM postcode_district WHERE"
                                 " (outward, postcodes) IN (('ME7', 2), ('BS1', 2))"),
                     2);
    assert_int_equal(it_count(s, "SELECT count(*) FROM postcode_district"), 3);
    /* The swapped-in tables keep their names, keys and nothing is left behind. */
    assert_int_equal(it_count(s, "SELECT count(*) FROM pg_indexes WHERE indexname IN"
                                 " ('postcode_pkey', 'postcode_district_pkey',"
                                 " 'postcode_oslaua_idx')"),
                     3);
    assert_int_equal(it_count(s, "SELECT count(*) FROM pg_class WHERE relname LIKE 'postcode%'"
                                 " AND (relname LIKE '%\\_new%' OR relname LIKE '%\\_old%')"),
                     0);
    free(out);
    free(path);
}

static void
test_reimport_replaces(void **state)
{
    struct it_server *s = *state;
    char *path = write_many(s, "second.csv", 400, 0), *out = NULL;

    if (import(s, path, &out) != 0) {
        fail_msg("import failed:\n%s", out);
    }
    it_assert_contains(out, "rows read: 400\n");
    it_assert_contains(out, "loaded: 400\n");
    it_assert_contains(out, "districts: 20\n");
    assert_int_equal(it_count(s, "SELECT count(*) FROM postcode"), 400);
    assert_int_equal(it_count(s, "SELECT count(*) FROM postcode WHERE postcode LIKE 'ME%'"), 0);
    assert_int_equal(it_count(s, "SELECT count(*) FROM postcode_district WHERE outward = 'ME4'"),
                     0);
    assert_int_equal(it_count(s, "SELECT count(*) FROM postcode_district"), 20);
    assert_int_equal(it_count(s, "SELECT sum(postcodes) FROM postcode_district"), 400);
    free(out);
    free(path);
}

static void
test_missing_column(void **state)
{
    struct it_server *s = *state;
    char *path = file_path(s, "nolat.csv");
    FILE *f = open_file(path);

    fputs("\"pcd\",\"pcds\",\"long\",\"latitude\",\"doterm\"\r\n"
          "\"ME4 4AA\",\"ME4 4AA\",\"0.52\",\"51.38\",\"\"\r\n",
          f);
    fclose(f);
    import_fails(s, path, "the header row has no lat column");
    free(path);
}

static void
test_mostly_garbage(void **state)
{
    struct it_server *s = *state;
    char *path = write_many(s, "garbage.csv", 150, 150), *out = NULL;
    FILE *f;

    import_fails(s, path, "300 rows are not usable (0 malformed, 150 invalid postcode)");
    free(path);

    /* Malformed CSV counts too: 120 broken rows among 200 (and one unclosed quote). */
    path = file_path(s, "broken.csv");
    f = open_file(path);
    fputs(HEADER, f);
    for (int i = 0; i < 200; i++) {
        if (i % 5 < 3) {
            fputs("garbage\"in,the,middle\r\n", f);
        } else {
            put_row(f, "ME4 4AA", "51.38", "0.52", "201001");
        }
    }
    fputs("\"unclosed", f);
    fclose(f);
    import_fails(s, path, "121 malformed");
    free(path);

    /* Under the threshold (100 rows), garbage is skipped and counted. */
    path = write_many(s, "somegarbage.csv", 400, 100);
    if (import(s, path, &out) != 0) {
        fail_msg("import failed:\n%s", out);
    }
    it_assert_contains(out, "loaded: 400\n");
    it_assert_contains(out, "invalid 100,");
    free(out);
    free(path);
}

static void
test_bad_files(void **state)
{
    struct it_server *s = *state;
    char *path = file_path(s, "does-not-exist.csv");
    FILE *f;

    import_fails(s, path, "cannot open");
    it_assert_contains(path, "does-not-exist.csv");
    free(path);

    path = file_path(s, "empty.csv");
    f = open_file(path);
    fclose(f);
    import_fails(s, path, "is empty");
    free(path);

    /* A header and only rows that cannot be loaded: nothing to swap in. */
    path = file_path(s, "allterminated.csv");
    f = open_file(path);
    fputs(HEADER, f);
    put_row(f, "ME4 4AA", "51.380000", "0.520000", "201904");
    fclose(f);
    import_fails(s, path, "no live, located postcode");
    free(path);

    import_fails(s, s->work_dir, "directory");

    /* The same postcode twice (once written without its space). */
    path = file_path(s, "twice.csv");
    f = open_file(path);
    fputs(HEADER, f);
    put_row(f, "ME4 4AA", "51.380000", "0.520000", "");
    put_row(f, "ME44AA", "51.381000", "0.521000", "");
    fclose(f);
    import_fails(s, path, "lists a postcode more than once");
    free(path);
}

static void
test_import_lock(void **state)
{
    struct it_server *s = *state;
    char *path = write_first(s);

    /* Another import holds the lock (taken here on the test's own session). */
    PQclear(it_sql(s, "SELECT pg_advisory_lock(" POSTCODES_LOCK_KEY ")"));
    import_fails(s, path, "another postcode import is running");
    PQclear(it_sql(s, "SELECT pg_advisory_unlock(" POSTCODES_LOCK_KEY ")"));
    free(path);
}

/* Starts the import of `path` in the background, its output going to `log`. */
static pid_t
start_import(struct it_server *s, const char *path, const char *log)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *o = freopen(log, "w", stdout);
        if (o == NULL || dup2(fileno(stdout), 2) < 0) {
            _exit(126);
        }
        setenv("REGISTRY_DATABASE_URL", s->conninfo, 1);
        execl(getenv("MPACT_BIN"), getenv("MPACT_BIN"), "import-postcodes", path, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int
wait_import(pid_t pid, const char *log)
{
    int status;
    char *out;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    out = it_read_file(log);
    it_assert_clean_output(out != NULL ? out : "");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fail_msg("background import failed (status %d):\n%s", status, out ? out : "");
    }
    free(out);
    return 0;
}

static void
test_readers_see_old_or_new(void **state)
{
    struct it_server *s = *state;
    char *path = write_many(s, "big.csv", 200000, 0), *log = file_path(s, "big.log");
    long before = it_count(s, "SELECT count(*) FROM postcode"), n, polls = 0, saw_old = 0;
    char *out;
    pid_t pid;
    int status = 0;

    assert_true(before != 200000);
    pid = start_import(s, path, log);
    while (waitpid(pid, &status, WNOHANG) == 0) {
        n = it_count(s, "SELECT count(*) FROM postcode");
        if (n != before && n != 200000) {
            kill(pid, SIGKILL);
            fail_msg("a reader saw %ld postcodes, neither the old %ld nor the new 200000", n,
                     before);
        }
        saw_old += n == before;
        polls++;
        it_sleep_ms(20);
    }
    out = it_read_file(log);
    it_assert_clean_output(out != NULL ? out : "");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fail_msg("background import failed (status %d):\n%s", status, out ? out : "");
    }
    free(out);
    fprintf(stderr, "readers: %ld polls while importing, %ld saw the old table\n", polls, saw_old);
    assert_true(saw_old > 0); /* the import reads 200000 rows: it is never that quick */
    assert_int_equal(it_count(s, "SELECT count(*) FROM postcode"), 200000);
    assert_int_equal(it_count(s, "SELECT sum(postcodes) FROM postcode_district"), 200000);
    free(path);
    free(log);
}

/* The import's swap (LOCK TABLE postcode, ...) waiting for a lock in this test's database. */
#define SWAP_WAITING_FROM                                                                          \
    " pg_stat_activity a WHERE a.datname = current_database() AND a.wait_event_type = 'Lock'"      \
    " AND a.query LIKE 'LOCK TABLE postcode%'"
#define SWAP_WAITING "SELECT count(*) FROM" SWAP_WAITING_FROM

static void
test_reader_transaction_outlasts_a_swap_attempt(void **state)
{
    struct it_server *s = *state;
    char *path = write_first(s), *log = file_path(s, "held.log");
    PGconn *reader = PQconnectdb(s->conninfo);
    PGresult *res;
    char *first;
    pid_t pid;

    assert_int_equal(PQstatus(reader), CONNECTION_OK);
    /* A reader in the middle of a transaction that has read postcode holds its lock... */
    PQclear(PQexec(reader, "BEGIN ISOLATION LEVEL REPEATABLE READ"));
    res = PQexec(reader, "SELECT count(*) FROM postcode");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), "200000");
    PQclear(res);
    pid = start_import(s, path, log);
    /* ...for longer than one swap attempt waits (2 s): the import retries, then succeeds. The
     * first attempt is seen waiting for the lock, then a second one (a later statement). */
    assert_int_equal(it_wait_count(s, 1, 30000, SWAP_WAITING), 1);
    res = it_sql_rows(s, 1, "SELECT a.query_start::text FROM" SWAP_WAITING_FROM);
    first = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    assert_int_equal(
        it_wait_count(s, 1, 10000, SWAP_WAITING " AND a.query_start > $1::timestamptz", first), 1);
    free(first);
    res = PQexec(reader, "SELECT count(*) FROM postcode");
    assert_string_equal(PQgetvalue(res, 0, 0), "200000"); /* still the old table */
    PQclear(res);
    PQclear(PQexec(reader, "COMMIT"));
    wait_import(pid, log);
    res = PQexec(reader, "SELECT count(*) FROM postcode");
    assert_string_equal(PQgetvalue(res, 0, 0), "7");
    PQclear(res);
    PQfinish(reader);
    free(path);
    free(log);
}

static void
test_district_refresh_for_seed(void **state)
{
    struct it_server *s = *state;

    /* As the demo seed does: add postcodes, then refresh the districts in place. */
    PQclear(it_sql(s, "INSERT INTO postcode VALUES ('EH6 8RG', 55.965, -3.177),"
                      " ('EH6 8RU', 55.964, -3.176) ON CONFLICT DO NOTHING"));
    assert_int_equal(it_count(s, "SELECT postcode_district_refresh()"), 4);
    assert_int_equal(it_count(s, "SELECT count(*) FROM postcode_district WHERE outward = 'EH6'"
                                 " AND postcodes = 2 AND abs(latitude - 55.9645) < 1e-9"
                                 " AND abs(longitude - -3.1765) < 1e-9"),
                     1);
}

static void
test_find(void **state)
{
    struct it_server *s = *state;
    const struct db_stmt *tables[] = {postcodes_stmts, NULL};
    char err[256];
    struct db_conn *c;
    double lat = 0, lon = 0;
    char *path, *out = NULL;

    if (db_pool_init(s->conninfo, 1, 1000, tables, err, sizeof(err)) != 0) {
        fail_msg("db_pool_init: %s", err);
    }
    c = db_acquire();
    assert_non_null(c);
    assert_int_equal(postcodes_find(c, "me44zz", &lat, &lon), 0); /* not in the file */
    assert_int_equal(postcodes_find(c, "me4 4ab", &lat, &lon), 1);
    assert_true(fabs(lat - 51.382) < 1e-9 && fabs(lon - 0.524) < 1e-9);
    assert_int_equal(postcodes_find(c, "bs1", &lat, &lon), 1);
    assert_true(fabs(lat - (51.4508 + 51.452) / 2) < 1e-9);
    assert_int_equal(postcodes_find(c, "ZZ9", &lat, &lon), 0);
    assert_int_equal(postcodes_find(c, "not a postcode", &lat, &lon), -1);

    /* The statements were prepared before the next import: they follow the swapped-in tables. */
    path = write_many(s, "find.csv", 40, 0);
    if (import(s, path, &out) != 0) {
        fail_msg("import failed:\n%s", out);
    }
    assert_int_equal(postcodes_find(c, "me4 4ab", &lat, &lon), 0);
    assert_int_equal(postcodes_find(c, "aa7 0aa", &lat, &lon), 1);
    assert_true(fabs(lat - 52.0006) < 1e-9 && fabs(lon - -1.0006) < 1e-9);
    assert_int_equal(postcodes_find(c, "AA7", &lat, &lon), 1);
    assert_true(fabs(lat - (52.0006 + 52.0026) / 2) < 1e-9);
    db_release(c);
    free(path);
    free(out);
    db_pool_close();
}

/* In this order: each test starts from the tables the one before left. */
TEST_MAIN(setup,
          it_teardown,
          cmocka_unit_test(test_import_published_format),
          cmocka_unit_test(test_reimport_replaces),
          cmocka_unit_test(test_missing_column),
          cmocka_unit_test(test_mostly_garbage),
          cmocka_unit_test(test_bad_files),
          cmocka_unit_test(test_import_lock),
          cmocka_unit_test(test_readers_see_old_or_new),
          cmocka_unit_test(test_reader_transaction_outlasts_a_swap_attempt),
          cmocka_unit_test(test_district_refresh_for_seed),
          cmocka_unit_test(test_find))
