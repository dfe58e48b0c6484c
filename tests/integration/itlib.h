/* itlib.h: the harness every integration test (tests/integration/it_*.c) uses.
 *
 * An integration test is a cmocka program. It starts the real `mpact-registry serve` on a free
 * port of 127.0.0.1, against a database of its own copied from `registry_template` (which ctest's
 * fixture migrated with `mpact-registry migrate`, exactly as production is), talks to it over
 * HTTP with libcurl and checks the database directly with SQL.
 *
 *     static int
 *     setup(void **state)
 *     {
 *         *state = it_start("organisations");
 *         return 0;
 *     }
 *
 *     static int
 *     teardown(void **state)
 *     {
 *         it_stop(*state); // SIGTERM, expects exit 0 and a clean log, drops the database
 *         return 0;
 *     }
 *
 *     static void
 *     test_create(void **state)
 *     {
 *         struct it_server *s = *state;
 *         struct it_resp r;
 *         char *token;
 *
 *         it_create_admin(s, "admin@example.org", "correct horse battery");
 *         token = it_login(s, "admin@example.org", "correct horse battery");
 *         it_post_json(s, "/v1/organisations", token, "{\"name\": \"x\"}", &r);
 *         it_assert_problem(&r, 422);
 *         it_resp_free(&r);
 *         assert_int_equal(it_count(s, "SELECT count(*) FROM organisation WHERE name = $1",
 *                                   "x"), 0);
 *         free(token);
 *     }
 *
 *     int
 *     main(void)
 *     {
 *         const struct CMUnitTest tests[] = {cmocka_unit_test(test_create)};
 *         return cmocka_run_group_tests(tests, setup, teardown);
 *     }
 *
 * Use one server per group (as above) or one per test (cmocka_unit_test_setup_teardown).
 *
 * Failure: functions documented "fails the test" call cmocka's fail machinery (with a message
 * and, where it helps, the server log); they are meant to be called from tests and fixtures.
 * A server that is still running when the program exits (a test failed before its teardown) is
 * killed and its database dropped by an exit handler.
 *
 * Threads: it_request and its wrappers, it_raw and it_sql may be called from several threads at
 * once (each request opens its own connection; it_sql serialises on one PGconn). Everything else
 * belongs to the main thread.
 *
 * Environment (set by tests/integration/CMakeLists.txt):
 *   MPACT_BIN          the mpact-registry binary
 *   IT_PG_DIR          the pg.sh directory of the test cluster (IT_PG_DIR/conninfo)
 *   IT_SOURCE_DIR      the source tree (for pg.sh and static files)
 *   IT_SERVER_WRAPPER  optional words put before `MPACT_BIN serve`, e.g. "valgrind -q"
 *   IT_START_TIMEOUT   optional seconds to wait for /healthz (default 30)
 *   IT_KEEP            optional: 1 keeps the work directory and the database after it_stop
 *   IT_RECORD_DIR      optional: every it_request response is appended as one JSON line
 *                      (method, path, status, content_type, body) to IT_RECORD_DIR/<pid>.jsonl,
 *                      for the check against the OpenAPI description (openapi.responses)
 *
 * Tests that restart PostgreSQL (it_pg("restart")) disturb every other test running at the same
 * time: put the word IT_SERIAL in a comment of such a file and CMake runs it alone (RUN_SERIAL).
 * A comment "IT_TIMEOUT=<seconds>" overrides the default ctest TIMEOUT of the file.
 */
#ifndef IT_ITLIB_H
#define IT_ITLIB_H

#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "../test_main.h"

/* A server under test, with its own database, key directory and port. Fields are read-only. */
struct it_server {
    char name[48];           /* as given to it_start, made safe for identifiers */
    char dbname[64];         /* it_<name>_<pid>[_<n>] */
    char conninfo[PATH_MAX]; /* REGISTRY_DATABASE_URL of this server: cluster conninfo + dbname */
    char base_url[64];       /* http://127.0.0.1:<port> */
    int port;                /* REGISTRY_LISTEN port on 127.0.0.1 */
    char work_dir[PATH_MAX]; /* private temporary directory, removed by it_stop */
    char key_dir[PATH_MAX];  /* REGISTRY_JWT_KEY_DIR, made by `mpact-registry keygen` */
    char log_path[PATH_MAX]; /* the server's stdout and stderr */
    pid_t pid;               /* the serve process (or the wrapper running it); 0 when stopped */
    char **extra_env;        /* private: the extra_env given at launch */
    PGconn *db;              /* private: it_sql's connection */
    int registered;          /* private */
};

/* ---- Starting and stopping ------------------------------------------------------------------ */

/* Creates database it_<name>_<pid> from registry_template, a key directory (keygen) and a free
 * port, starts `MPACT_BIN serve` and waits until GET /healthz answers 200. Fails the test with
 * the log tail when the server does not come up. */
struct it_server *it_start(const char *name);

/* As it_start, with extra environment entries for the server: "NAME=value" adds or overrides,
 * a bare "NAME" removes the variable. `extra_env` ends with NULL and may be NULL. */
struct it_server *it_start_env(const char *name, const char *const extra_env[]);

/* Prepares everything it_start does but does not start the server: for tests of start-up
 * itself. `template_db` is the database to copy: NULL for registry_template, "template0" for
 * an empty one. Launch later with it_launch, or use it_exec; always finish with it_stop. */
struct it_server *it_prepare(const char *name, const char *template_db);

/* Starts `serve` for a prepared server and waits for /healthz (fails the test otherwise). */
void it_launch(struct it_server *s, const char *const extra_env[]);

/* Sends SIGTERM, waits up to 60 s, and fails the test unless the server exited 0 and its log has
 * no sanitizer or valgrind report. Then drops the database, removes the work directory and
 * frees `s` (also when the test fails). Accepts NULL and servers never launched. */
void it_stop(struct it_server *s);

/* Defines the cmocka setup `fn` whose state is `server`, an expression that starts or prepares
 * one (it_start, it_prepare, it_fx_start, ...): IT_SETUP(setup, it_start("health")). */
#define IT_SETUP(fn, server)                                                                       \
    static int fn(void **state)                                                                    \
    {                                                                                              \
        *state = (server);                                                                         \
        return 0;                                                                                  \
    }

/* A cmocka teardown for a group or test whose state is the server: it_stop(*state). */
int it_teardown(void **state);

/* Like it_stop but only stops the process and returns its wait status (no checks, keeps the
 * database and `s`); for tests of shutdown itself. Launch again with it_launch. */
int it_kill(struct it_server *s, int sig);

/* ---- Running the binary -------------------------------------------------------------------- */

/* Flags for it_exec. */
#define IT_WRAP 1 /* put IT_SERVER_WRAPPER (e.g. valgrind) in front, as for serve */

/* Runs `MPACT_BIN args...` with the server's environment (database, keys, issuer, ...) plus
 * `extra_env` (as for it_start_env), writing `stdin_data` (NULL: none) to its standard input.
 * Waits at most `timeout_s` seconds (0: 60), then kills it. Returns the exit status, 128+signal
 * when killed by a signal, or -1 on timeout. `*output` (when not NULL) gets a malloc'd copy of
 * its standard output and error together. `args` ends with NULL. */
int it_exec(struct it_server *s,
            int flags,
            const char *const args[],
            const char *const extra_env[],
            const char *stdin_data,
            int timeout_s,
            char **output);

/* Fails the test when `output` holds a sanitizer report or a valgrind summary with errors. */
#define it_assert_clean_output(output) it_assert_clean_output_at((output), __FILE__, __LINE__)
void it_assert_clean_output_at(const char *output, const char *file, int line);

/* Runs `MPACT_BIN create-admin EMAIL` with the password on standard input. Returns the exit
 * status (0 on success); prints the output when it is not 0. */
int it_create_admin(struct it_server *s, const char *email, const char *password);

/* Runs `pg.sh CMD IT_PG_DIR` on the test cluster: "restart", "stop" or "start" (with the test
 * settings). Every test running at the same time sees it: mark the file IT_SERIAL. Returns the
 * exit status of pg.sh. */
int it_pg(const char *cmd);

/* Runs tests/integration/pg.sh with `args` (NULL-terminated; its standard output goes to
 * standard error) and returns its exit status; safe in a forked child. */
int it_pg_sh(const char *const args[]);

/* As it_pg_sh; fails the test unless pg.sh exits 0. */
void it_pg_sh_or_fail(const char *const args[]);

/* A private cluster for tests that stop, crash or freeze PostgreSQL: pg.sh start in `dir`
 * (`fsync`: durable commits) with the database "registry", migrated with `s`'s binary exactly as
 * production is, with the admin `email`/`password` made by create-admin. `*url` gets its conninfo
 * and `*env_url` "REGISTRY_DATABASE_URL=<url>" (both malloc'd). Fails the test otherwise. The
 * caller destroys the cluster (pg.sh destroy `dir`). */
void it_private_cluster(struct it_server *s,
                        const char *dir,
                        int fsync,
                        const char *email,
                        const char *password,
                        char **url,
                        char **env_url);

/* The first part of the `struct fx` of a test with a private cluster (it_private_cluster), as
 * IT_FX_HEAD is for the shared one: a file writes struct fx { IT_PRIVATE_FX_HEAD; ... }. */
#define IT_PRIVATE_FX_HEAD                                                                         \
    struct it_server *s;                                                                           \
    char dir[64];  /* the private cluster's pg.sh directory */                                     \
    char *url;     /* its conninfo with dbname=registry */                                         \
    char *env_url; /* "REGISTRY_DATABASE_URL=<url>" */                                             \
    char *admin;   /* access token */                                                              \
    char *org_id

struct it_private_fx {
    IT_PRIVATE_FX_HEAD;
};

/* Allocates a zeroed fixture of `size` bytes (a struct that begins with IT_PRIVATE_FX_HEAD) with
 * a new directory /tmp/mpact-it-<tag>-XXXXXX in `dir` that the postgres user may enter. Fails the
 * test otherwise. End it with it_private_fx_free. */
void *it_private_fx_new(size_t size, const char *tag);

/* Removes the (by then empty) directory of an it_private_fx_new fixture, frees its strings and
 * the fixture. The server and the cluster are the caller's to stop first. */
void it_private_fx_free(void *fx);

/* A connection to `conninfo`; fails the test when it cannot connect. */
PGconn *it_connect(const char *conninfo);

/* Commits what the connection `c` (say, of it_connect, holding a lock) has open and closes it. */
void it_commit_close(PGconn *c);

/* ---- HTTP ---------------------------------------------------------------------------------- */

struct it_resp {
    long status; /* HTTP status, 0 when no response came */
    char *body;  /* NUL-terminated (also when empty), `len` bytes before the NUL */
    size_t len;
    json_t *json;    /* the body parsed (duplicate keys rejected), or NULL when it is not JSON */
    char *headers;   /* raw header block of the final response, "Name: value\r\n" lines */
    char *hdr_index; /* private: parsed copy used by it_header */
};

/* Sends one request on a new connection. `bearer` (may be NULL) becomes "Authorization: Bearer
 * ...". `headers` (NULL-terminated "Name: value" strings, or NULL) are sent as given; nothing
 * else is added: with a body and no Content-Type in `headers`, none is sent. A body is sent with
 * Content-Length, or chunked when `headers` has "Transfer-Encoding: chunked". `body` NULL sends
 * no body; "" sends Content-Length: 0. Returns 0 when a response came (see out->status), -1 on a
 * transport error (out->status is 0 and the error is printed). Always it_resp_free `out`. */
int it_request(struct it_server *s,
               const char *method,
               const char *path,
               const char *bearer,
               const char *const *headers,
               const char *body,
               struct it_resp *out);

/* As it_request with a body of `len` bytes (may hold NULs). */
int it_request_n(struct it_server *s,
                 const char *method,
                 const char *path,
                 const char *bearer,
                 const char *const *headers,
                 const char *body,
                 size_t len,
                 struct it_resp *out);

/* Convenience forms; the _json ones send "Content-Type: application/json". */
int it_get(struct it_server *s, const char *path, const char *bearer, struct it_resp *out);
int it_delete(struct it_server *s, const char *path, const char *bearer, struct it_resp *out);
int it_post_json(struct it_server *s,
                 const char *path,
                 const char *bearer,
                 const char *json,
                 struct it_resp *out);
/* `if_match` (may be NULL) becomes an If-Match header. */
int it_patch_json(struct it_server *s,
                  const char *path,
                  const char *bearer,
                  const char *if_match,
                  const char *json,
                  struct it_resp *out);

/* As it_get, it_delete and it_patch_json with the path made by printf from `fmt`: the resource
 * under test's address, e.g. it_getf(s, token, &r, "/v1/licences/%s", id). */
/* GET `path` as it_get, asking for CSV (Accept: text/csv). */
int it_get_csv(struct it_server *s, const char *path, const char *bearer, struct it_resp *out);
int it_getf(struct it_server *s, const char *bearer, struct it_resp *out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int it_deletef(struct it_server *s, const char *bearer, struct it_resp *out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int it_patchf(struct it_server *s,
              const char *bearer,
              const char *if_match,
              const char *json,
              struct it_resp *out,
              const char *fmt,
              ...) __attribute__((format(printf, 6, 7)));
/* POST of `json` to the path printf makes of `fmt`. */
int it_postf(struct it_server *s,
             const char *bearer,
             const char *json,
             struct it_resp *out,
             const char *fmt,
             ...) __attribute__((format(printf, 5, 6)));

/* PUT of `json` (with If-Match `if_match`, may be NULL) to the path printf makes of `fmt`. */
int it_putf(struct it_server *s,
            const char *bearer,
            const char *if_match,
            const char *json,
            struct it_resp *out,
            const char *fmt,
            ...) __attribute__((format(printf, 6, 7)));

/* The value of the first header `name` (case-insensitive) of the response, or NULL. The string
 * lives in `r` until it_resp_free: do not free it. */
const char *it_header(const struct it_resp *r, const char *name);

/* Frees what `r` holds and zeroes it; safe on a zeroed or already freed resp. */
void it_resp_free(struct it_resp *r);

/* A string member of the response's JSON object, or NULL. Borrowed from `r`. */
const char *it_json_str(const struct it_resp *r, const char *key);

/* Sends `raw` as is over a new TCP connection, half-closes it and reads the answer until the
 * server closes or 10 s pass. `out` gets at most outlen-1 bytes, NUL-terminated. Returns the
 * number of bytes read, or -1 when the connection failed. For requests libcurl would not send
 * (CL+TE together, duplicate Content-Length, bad framing). */
int it_raw(struct it_server *s, const char *raw_request, char *out, size_t outlen);

/* As it_raw with a byte count, a choice of half-closing (0 keeps writing open, the read then
 * ends on the server's close or the timeout) and a timeout in milliseconds. */
int it_raw_n(struct it_server *s,
             const void *raw,
             size_t rawlen,
             int half_close,
             int timeout_ms,
             char *out,
             size_t outlen);

/* As it_raw_n, and says how the exchange ended: `sent` gets the bytes the server took before
 * the connection broke (all of them unless it closed early), `reset` 1 when the server reset
 * the connection (a send failed with EPIPE/ECONNRESET or a read with ECONNRESET) rather than
 * closing it cleanly. Either may be NULL. */
int it_raw_ends(struct it_server *s,
                const void *raw,
                size_t rawlen,
                int half_close,
                int timeout_ms,
                char *out,
                size_t outlen,
                size_t *sent,
                int *reset);

/* ---- Signing in ---------------------------------------------------------------------------- */

/* POST /v1/auth/token {"email","password"}; returns the malloc'd access token. Fails the test
 * (printing the response) unless the answer is 200 with an access_token. */
char *it_login(struct it_server *s, const char *email, const char *password);

/* POSTs `body` (a user's JSON, with email and password) to /v1/users as `token`, fails unless 201,
 * and signs in as that user. Returns its access token (malloc'd). */
char *it_user_login(struct it_server *s, const char *token, const char *body);

/* As it_login, also giving the malloc'd refresh token (`refresh` may be NULL). */
char *it_login_tokens(struct it_server *s, const char *email, const char *password, char **refresh);

/* ---- Database ------------------------------------------------------------------------------ */

/* Runs `sql` on the test's database with text parameters: pass exactly as many `const char *`
 * arguments as the highest $n in `sql` (NULL is SQL NULL). Fails the test (printing the error)
 * unless the command succeeds. Returns a PGresult the caller PQclears. */
#define it_sql(s, ...) it_sql_at(__FILE__, __LINE__, (s), __VA_ARGS__)
PGresult *it_sql_at(const char *file, int line, struct it_server *s, const char *sql, ...);

/* As it_sql but never fails the test: returns the result whatever its status (check it with
 * PQresultStatus / PQresultErrorField). */
PGresult *it_sql_try(struct it_server *s, const char *sql, ...);

/* Runs a query returning one row and one column and returns it as a long (for count(*)).
 * Fails the test otherwise. Parameters as for it_sql. */
#define it_count(s, ...) it_count_at(__FILE__, __LINE__, (s), __VA_ARGS__)
long it_count_at(const char *file, int line, struct it_server *s, const char *sql, ...);

/* Runs the it_count query every 20 ms until it gives `want` or `timeout_ms` pass; returns the
 * last value (assert on it). For waits on background work: wait for the state it must reach, not
 * for a time. */
#define it_wait_count(s, want, timeout_ms, ...)                                                    \
    it_wait_count_at(__FILE__, __LINE__, (s), (want), (timeout_ms), __VA_ARGS__)
long it_wait_count_at(const char *file,
                      int line,
                      struct it_server *s,
                      long want,
                      int timeout_ms,
                      const char *sql,
                      ...);

/* The number of audit rows of `id`, of `type` and `action` where given (NULL: any). */
#define it_audits(s, type, id, action)                                                             \
    it_count(                                                                                      \
        (s),                                                                                       \
        "SELECT count(*) FROM audit_event WHERE resource_id = $1"                                  \
        " AND ($2::text IS NULL OR resource_type = $2) AND ($3::text IS NULL OR action = $3)",     \
        (id), (type), (action))

/* The number of webhook outbox rows of subscription `sub`, of `event` where given (NULL: any). */
#define it_outbox_events(s, sub, event) it_outbox_events_at(__FILE__, __LINE__, (s), (sub), (event))
long it_outbox_events_at(
    const char *file, int line, struct it_server *s, const char *sub, const char *event);

/* ---- Assertions ---------------------------------------------------------------------------- */

/* Fails unless r->status == status; prints the method-less response (status, headers, body). */
#define it_assert_status(r, status) it_assert_status_at((r), (status), __FILE__, __LINE__)
void it_assert_status_at(const struct it_resp *r, long status, const char *file, int line);

/* it_assert_problem when `status` is 400 or more, else it_assert_status: the check of an answer
 * by its status alone. */
#define it_assert_answer(r, status) it_assert_answer_at((r), (status), __FILE__, __LINE__)
void it_assert_answer_at(const struct it_resp *r, long status, const char *file, int line);

/* Fails unless the response is `status` with Content-Type application/problem+json and a JSON
 * object holding string type, title and detail and an integer status equal to `status`. */
#define it_assert_problem(r, status) it_assert_problem_at((r), (status), __FILE__, __LINE__)
void it_assert_problem_at(const struct it_resp *r, long status, const char *file, int line);

/* Fails unless header `name` is present and its value contains `needle` (case-sensitive). */
#define it_assert_header(r, name, needle)                                                          \
    it_assert_header_at((r), (name), (needle), __FILE__, __LINE__)
void it_assert_header_at(
    const struct it_resp *r, const char *name, const char *needle, const char *file, int line);

/* Sends one request whose answer is checked by its status alone, and frees the answer: GET and
 * DELETE as it_get and it_delete (`json` unused: pass NULL), POST, PATCH and PUT as it_post_json,
 * it_patch_json and it_putf with `json` (and `if_match` for PATCH and PUT, may be NULL). Fails
 * unless the answer is `status`: checked with it_assert_problem when `status` is 400 or more, else
 * it_assert_status. */
#define it_expect(s, method, path, bearer, json, status)                                           \
    it_expect_at(__FILE__, __LINE__, (s), (method), (path), (bearer), NULL, (json), (status))
#define it_expect_if(s, method, path, bearer, if_match, json, status)                              \
    it_expect_at(__FILE__, __LINE__, (s), (method), (path), (bearer), (if_match), (json), (status))
void it_expect_at(const char *file,
                  int line,
                  struct it_server *s,
                  const char *method,
                  const char *path,
                  const char *bearer,
                  const char *if_match,
                  const char *json,
                  long status);

/* As it_expect_if, to the path printf makes of the arguments after `status` (the resource under
 * test's address). */
#define it_expectf(s, method, bearer, if_match, json, status, ...)                                 \
    do {                                                                                           \
        char *it_path_ = it_fmt(__VA_ARGS__);                                                      \
        it_expect_at(__FILE__, __LINE__, (s), (method), it_path_, (bearer), (if_match), (json),    \
                     (status));                                                                    \
        free(it_path_);                                                                            \
    } while (0)

/* GETs the path printf makes of the arguments after `n` as `bearer`; fails unless 200 with an
 * items array of `n` elements. */
#define it_expect_items(s, bearer, n, ...)                                                         \
    do {                                                                                           \
        char *it_path_ = it_fmt(__VA_ARGS__);                                                      \
        assert_int_equal(it_items_count_at(__FILE__, __LINE__, (s), (bearer), it_path_), (n));     \
        free(it_path_);                                                                            \
    } while (0)

/* GETs `path` as `bearer`; fails unless 200 with an items array, and returns its length. */
size_t it_items_count_at(
    const char *file, int line, struct it_server *s, const char *bearer, const char *path);

/* GETs `prefix` followed by each string after it (a NULL-terminated list) as `bearer`, and fails
 * unless each answer is `status` (as it_expect checks it), printing the path that was not. */
void it_expect_gets(struct it_server *s, const char *bearer, long status, const char *prefix, ...)
    __attribute__((sentinel));

/* Fails unless the JSON object of `r` has each string member of `want`, a NULL-terminated list of
 * names and values (IT_ROW("status", "active", "reason", "renewed")), as assert_string_equal
 * would check each; a list of odd length (a value that was NULL) fails too. */
#define it_assert_strs(r, want) it_assert_strs_at((r), (want), __FILE__, __LINE__)
void
it_assert_strs_at(const struct it_resp *r, const char *const want[], const char *file, int line);

/* Fails unless none of the strings after `text` (a NULL-terminated list) occurs in `text`: for
 * what a log or a page must not show. */
void it_assert_absent(const char *text, ...) __attribute__((sentinel));

/* Prints a response (status, headers, body) to stderr, for messages. */
void it_resp_print(const struct it_resp *r);

/* ---- Small helpers ------------------------------------------------------------------------- */

/* Reads a whole file into a malloc'd NUL-terminated string, or NULL. */
char *it_read_file(const char *path);

/* Reads the server log (see it_read_file). */
char *it_log(struct it_server *s);

/* Waits up to `timeout_ms` for `needle` to appear in the server log; returns 1 when it did. */
int it_log_wait(struct it_server *s, const char *needle, int timeout_ms);

/* Prints the last `lines` lines of the server log to stderr. */
void it_log_tail(struct it_server *s, int lines);

/* A printf into a malloc'd string (aborts on out-of-memory). */
char *it_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sleeps `ms` milliseconds. */
void it_sleep_ms(int ms);

/* The server's today (registry_today(), the UK date) plus `days` (negative: in the past) as
 * YYYY-MM-DD into `buf`; returns `buf`. */
const char *it_day(struct it_server *s, int days, char *buf, size_t len);

/* ---- Shared fixtures and readers ----------------------------------------------------------- */

/* The string value of `key` in object `o` (borrowed), or NULL when absent or not a string. */
const char *it_jstr(json_t *o, const char *key);

/* 1 when an element of the array `a` is the string `value` (`key` NULL) or an object whose
 * string member `key` is `value`; else 0 (also when `a` is not an array). */
int it_json_has(json_t *a, const char *key, const char *value);

/* The errors item of the (422) problem `r` whose `rule` is `rule`, or NULL (borrowed). */
json_t *it_find_rule(const struct it_resp *r, const char *rule);

/* Fails unless `r` is a 422 whose errors hold exactly one item: `rule` on `field`, with a
 * detail. */
void it_assert_only_rule(const struct it_resp *r, const char *field, const char *rule);

/* 1 when the errors array of the (422) problem `r` has an entry naming `field`. */
int it_names_field(const struct it_resp *r, const char *field);

/* Makes a licensee user with SQL (no API call, no audit row): `email` with `role` in
 * organisation `org`, stored with `hash` (a password_hash of `password`, computed once per test
 * program because yescrypt is slow), then signs in as it. Returns the access token (malloc'd). */
char *it_licensee(struct it_server *s,
                  const char *hash,
                  const char *password,
                  const char *email,
                  const char *role,
                  const char *org);

/* A programme run of the standard variant made with SQL (no API call, no audit row). Dates are a
 * date ("2025-03-01") or days from registry_today() ("-30"); a NULL one is 70 days from the other,
 * both NULL today - 30 to today + 40. NULL status, capacity and figures: 'planned', 8 and not
 * recorded. `cols` and `vals`: more columns and their SQL values, each list starting ", ". */
struct it_run {
    const char *org, *loc, *status, *starts, *ends, *capacity;
    const char *started, *completed, *adults, *children;
    const char *cols, *vals;
};

/* Inserts the run `run` describes; returns its id (malloc'd). */
char *it_make_run(struct it_server *s, struct it_run run);

/* The licensing-body admin of a test: runs create-admin for `email` with `password` (fails the
 * test unless it exits 0), puts its app_user.id into `id` (when not NULL) and a password_hash of
 * `password` into `hash` (when not NULL; for it_licensee), and signs in. Returns the access token
 * (malloc'd). */
char *it_admin(struct it_server *s,
               const char *email,
               const char *password,
               char *id,
               size_t idlen,
               char *hash,
               size_t hashlen);

/* Fails unless `r` is a 422 problem whose errors array is not empty, every entry has a string
 * detail, and an entry names `field`. */
void it_assert_field_error(const struct it_resp *r, const char *field);

/* it_assert_field_error for each field of `fields` (NULL-terminated: IT_ROW("code", "title")). */
void it_assert_field_errors(const struct it_resp *r, const char *const fields[]);

/* As it_assert_field_error, where the detail of the entry naming `field` contains `needle`
 * (NULL: any detail). */
void it_assert_field_error_with(const struct it_resp *r, const char *field, const char *needle);

/* Frees `*etag` and puts a malloc'd copy of the ETag of `r` (which must have one) in its place:
 * the next If-Match after a change. */
void it_renew_etag(const struct it_resp *r, char **etag);

/* Fails unless `text` contains `needle`; prints `text` otherwise. */
#define it_assert_contains(text, needle) it_assert_contains_at((text), (needle), __FILE__, __LINE__)
void it_assert_contains_at(const char *text, const char *needle, const char *file, int line);

/* Fails unless every element of the items array of `r`'s JSON (which must be an array) has the
 * string member `key` equal to `value`. Returns how many there are. */
size_t it_assert_items_all(const struct it_resp *r, const char *key, const char *value);

/* Runs `MPACT_BIN args...` as it_exec does with no wrapper, environment or input and a limit of
 * 120 s, fails when its output holds a sanitizer report, and returns its exit status; `*out` gets
 * its output (malloc'd). */
int it_run(struct it_server *s, const char *const args[], char **out);

/* "Authorization: Basic <base64(id:secret)>", the client credentials header (malloc'd). */
char *it_basic_auth(const char *id, const char *secret);

/* POSTs /v1/clients {"name": "Test client <n>", "scopes": `scopes` (a JSON array)} as `bearer`
 * (an org_admin; expects 201), then gets a client_credentials access token for the new client
 * with HTTP Basic credentials (expects 200). Returns it (malloc'd). */
char *it_client_token(struct it_server *s, const char *bearer, const char *scopes);

/* Reads every page of the list at `path` (a path with a query string, no cursor) as `bearer`:
 * GETs it, then again with "&cursor=<next_cursor>" while next_cursor is a string and fewer than
 * `max_pages` pages were read. Fails unless every page is 200, has an items array of at most
 * `per_page` items and a next_cursor that is a string or null. Returns a new array of every page's
 * items in order; *pages (when not NULL) gets the number of pages read. */
json_t *it_all_pages(struct it_server *s,
                     const char *bearer,
                     const char *path,
                     size_t per_page,
                     int max_pages,
                     int *pages);

/* The number of elements of the array `a`. */
#define IT_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A body that a write refuses with a 422 naming `field`, for the tables of validation tests. */
struct it_field_case {
    const char *body;
    const char *field;
};

/* Sends each case's body to `path` as `bearer`, with `method` "POST" (it_post_json) or "PATCH"
 * (it_patch_json with `if_match`, may be NULL), and fails unless each answer is a 422 naming the
 * case's field (it_assert_field_error). */
void it_field_errors(struct it_server *s,
                     const char *method,
                     const char *path,
                     const char *bearer,
                     const char *if_match,
                     const struct it_field_case *cases,
                     size_t n);

/* One case of it_field_errors: `method` (POST or PATCH, with If-Match `if_match` for the _if form)
 * of `json` to `path` as `bearer` must be a 422 naming `field`. */
#define it_expect_field(s, method, path, bearer, json, field)                                      \
    it_expect_field_if((s), (method), (path), (bearer), NULL, (json), (field))
#define it_expect_field_if(s, method, path, bearer, if_match, json, field)                         \
    it_field_errors((s), (method), (path), (bearer), (if_match),                                   \
                    &(const struct it_field_case){(json), (field)}, 1)

/* POSTs `body` as `token` to the path printf makes of `fmt`; fails unless 201 with a string id
 * (and an ETag when `etag` is not NULL). Returns the id (malloc'd); *etag (when not NULL) gets
 * the ETag (malloc'd). */
char *it_post_created(
    struct it_server *s, const char *token, const char *body, char **etag, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* A resource made by a test: its id and its current ETag (both malloc'd). */
struct it_made {
    char *id;
    char *etag;
};

/* Frees the strings of `m` and zeroes it. */
void it_made_free(struct it_made *m);

/* A facilitator made by a test (strings malloc'd). */
struct it_fac {
    char *id;
    char *number; /* registration_number */
    char *etag;
};

/* Frees the strings of `p` and zeroes it. */
void it_fac_free(struct it_fac *p);

/* POSTs /v1/facilitators with `body` as `token`; fails unless 201 with an id, a registration
 * number and an ETag, and returns them. */
struct it_fac it_create_fac(struct it_server *s, const char *token, const char *body);

/* Issues a licence for organisation `org` valid `from`..`until` as `token` (expects 201) and
 * PATCHes it to each status of the NULL-terminated list after `reason` in turn, with `reason`
 * (expects 200 each time). Returns the licence id (malloc'd). */
char *it_issue_licence(struct it_server *s,
                       const char *token,
                       const char *org,
                       const char *from,
                       const char *until,
                       const char *reason,
                       ...) __attribute__((sentinel));

/* POSTs /v1/organisations with `json` as `token`; fails unless 201 with an id (and an ETag when
 * `etag` is not NULL). Returns the id (malloc'd); *etag (when not NULL) gets the ETag
 * (malloc'd). */
char *it_create_org_json(struct it_server *s, const char *token, const char *json, char **etag);

/* As it_create_org_json with {"name": (what printf makes of `name_fmt`), "kind": kind (NULL:
 * "charity"), "address_lines": ["1 Dock Road"], "town": "Chatham", "postcode": "ME4 4AB"}. */
char *it_create_org(struct it_server *s,
                    const char *token,
                    const char *kind,
                    char **etag,
                    const char *name_fmt,
                    ...) __attribute__((format(printf, 5, 6)));

/* GETs the path printf makes from `fmt` as `bearer`; fails unless 200 with an ETag. Returns the
 * ETag (malloc'd). */
char *it_etag_of(struct it_server *s, const char *bearer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses RFC 4180 text (the registry's CSV answers: CRLF rows, quoted fields) into an array of
 * rows, each an array of strings; the first row is the header. Returns a new reference; fails the
 * test on a CR without LF or an unterminated quote. */
json_t *it_csv_parse(const char *text);

/* Fails unless `r` is a 200 CSV answer (Content-Type text/csv); returns its rows (it_csv_parse). */
json_t *it_csv_answer(const struct it_resp *r);

/* The index of column `name` in the header (row 0) of `rows` from it_csv_parse, or fails. */
size_t it_csv_col(json_t *rows, const char *name);

/* The text of cell (`row`, `col`) of `rows` from it_csv_parse (borrowed), or NULL. */
const char *it_csv_cell(json_t *rows, size_t row, size_t col);

/* Unpadded base64url of `len` bytes (malloc'd). */
char *it_b64url_encode(const void *bytes, size_t len);

/* Decodes `len` characters of unpadded base64url. Returns a malloc'd NUL-terminated buffer with
 * the byte count in *outlen, or NULL when `in` is not base64url. */
unsigned char *it_b64url_decode(const char *in, size_t len, size_t *outlen);

/* A growable byte buffer, always NUL-terminated once written to; free(p) when done. */
struct it_buf {
    char *p;
    size_t len, cap;
};

/* Appends `n` bytes to `b` (aborts when memory runs out). */
void it_buf_add(struct it_buf *b, const void *data, size_t n);

/* Runs a query (the arguments after `s` as for it_sql), which must return one row, and copies
 * its first value into the char array `buf`; fails the test otherwise. */
#define IT_SQL_VALUE(buf, s, ...)                                                                  \
    do {                                                                                           \
        PGresult *res_ = it_sql((s), __VA_ARGS__);                                                 \
        assert_int_equal(PQntuples(res_), 1);                                                      \
        snprintf((buf), sizeof(buf), "%s", PQgetvalue(res_, 0, 0));                                \
        PQclear(res_);                                                                             \
    } while (0)

/* As IT_SQL_VALUE, returning a malloc'd copy of the value. */
#define it_sql_text(s, ...) it_sql_text_at(__FILE__, __LINE__, (s), __VA_ARGS__)
char *it_sql_text_at(const char *file, int line, struct it_server *s, const char *sql, ...);

/* Runs a query (parameters as for it_sql) and fails unless it returns exactly `rows` rows. Returns
 * the PGresult, which the caller PQclears. */
#define it_sql_rows(s, rows, ...) it_sql_rows_at(__FILE__, __LINE__, (s), (rows), __VA_ARGS__)
PGresult *
it_sql_rows_at(const char *file, int line, struct it_server *s, int rows, const char *sql, ...);

/* Fails unless row `row` of `res` begins with the strings of `want` (IT_ROW; SQL NULL reads as
 * ""), as assert_string_equal(PQgetvalue(res, row, i), want[i]) would for each. */
#define it_assert_cells(res, row, want) it_assert_cells_at(__FILE__, __LINE__, (res), (row), (want))
void it_assert_cells_at(
    const char *file, int line, const PGresult *res, int row, const char *const want[]);

/* The values a row must have, for it_assert_row: IT_ROW("create", "M-PACT-P1"). */
#define IT_ROW(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Runs a query (the arguments after `want` as for it_sql), which must return exactly one row, and
 * fails unless its first columns hold the strings of `want` (NULL-terminated; SQL NULL reads as
 * ""), as assert_string_equal(PQgetvalue(res, 0, i), want[i]) would for each. */
#define it_assert_row(s, want, ...) it_assert_row_at(__FILE__, __LINE__, (s), (want), __VA_ARGS__)
void it_assert_row_at(const char *file,
                      int line,
                      struct it_server *s,
                      const char *const want[],
                      const char *sql,
                      ...);

/* ---- A group fixture ----------------------------------------------------------------------- */

/* The first part of a test file's `struct fx`: the server, the licensing-body admin's access
 * token, its app_user.id and a password_hash of its password (for it_licensee). A file writes
 *
 *     struct fx {
 *         IT_FX_HEAD;
 *         char *org_a; ...
 *     };
 *
 * so that it_fx_start and it_fx_teardown serve it. A setup of its own may calloc the struct
 * instead; it_fx_teardown then frees whatever of the head it filled. */
#define IT_FX_HEAD                                                                                 \
    struct it_server *s;                                                                           \
    char *admin;                                                                                   \
    const char *password; /* the admin's, as given to it_fx_start (borrowed) */                    \
    char admin_id[40];                                                                             \
    char hash[256];                                                                                \
    void *owned[24];                                                                               \
    size_t n_owned

struct it_fx {
    IT_FX_HEAD;
};

/* Flags for it_fx_start. */
#define IT_FX_ID   1 /* fill admin_id */
#define IT_FX_HASH 2 /* fill hash (yescrypt: slow, ask only when the file makes users with SQL) */

/* Allocates a zeroed fixture of `size` bytes (a struct that begins with IT_FX_HEAD), starts the
 * server `name` with `env` (as it_start_env; may be NULL) and makes the admin `email` with
 * `password` (it_admin, with admin_id and hash as `flags` ask). Fails the test otherwise. The
 * caller ends it with it_fx_teardown. */
void *it_fx_start(size_t size,
                  const char *name,
                  const char *const env[],
                  const char *email,
                  const char *password,
                  int flags);

/* A licensee user of the fixture `fx` (made by it_fx_start with IT_FX_HASH): it_licensee with the
 * fixture's hash and password. Returns the access token (malloc'd). */
char *it_fx_licensee(void *fx, const char *email, const char *role, const char *org);

/* As it_fx_licensee, the token owned by the fixture (it_fx_own). */
char *it_fx_user(void *fx, const char *email, const char *role, const char *org);

/* The fields after IT_FX_HEAD of a fixture of two organisations A and B with a site each (ids),
 * and the users IT_FX_AB_USERS makes. */
#define IT_FX_AB_SITES                                                                             \
    char org_a[40], org_b[40], loc_a[40], loc_b[40];                                               \
    char *a_admin, *a_staff, *b_admin

/* The users most tests of two organisations need, owned by the fixture `f` (a struct fx with
 * org_a, org_b, a_admin, a_staff and b_admin): admin@a.example (org_admin) and staff@a.example
 * (org_staff) of org_a, admin@b.example (org_admin) of org_b. */
#define IT_FX_AB_USERS(f)                                                                          \
    ((f)->a_admin = it_fx_user((f), "admin@a.example", "org_admin", (f)->org_a),                   \
     (f)->a_staff = it_fx_user((f), "staff@a.example", "org_staff", (f)->org_a),                   \
     (f)->b_admin = it_fx_user((f), "admin@b.example", "org_admin", (f)->org_b))

/* A licensee of `role` in `org` with a new address user<n>@licensee.example (it_fx_licensee). */
char *it_fx_member(void *fx, const char *role, const char *org);

/* Gives `p` (malloc'd, may be NULL) to the fixture `fx`, which frees it in it_fx_teardown.
 * Returns `p`. */
void *it_fx_own(void *fx, void *p);

/* A cmocka group teardown for an it_fx_start fixture: it_stop, then frees the admin token, what
 * it_fx_own was given and the fixture. */
int it_fx_teardown(void **state);

/* ---- Races --------------------------------------------------------------------------------- */

/* Two JSON requests sent at once, for tests of concurrent writes (two PATCHes with one ETag, two
 * enrolments for the last place). Each runs on its own thread; a barrier releases both together.
 *
 *     struct it_race x;
 *
 *     PQclear(it_sql(s, "BEGIN"));  // optional: hold the row so that both surely overlap
 *     PQclear(it_sql(s, "SELECT 1 FROM licence WHERE id = $1::uuid FOR UPDATE", id));
 *     it_race_start(&x, s, "PATCH", path, token, etag, body_a, body_b);
 *     it_wait_lock_waiters(s, 2, "the two PATCHes never waited for the licence lock");
 *     PQclear(it_sql(s, "COMMIT"));
 *     it_race_join(&x);  // x.status[0], x.status[1]
 *
 * The strings are borrowed until it_race_join. */
struct it_race {
    long status[2]; /* HTTP status of each request after it_race_join, 0 when none came */
    struct it_race_req {
        struct it_server *s;
        const char *method, *path, *bearer, *if_match, *body;
        pthread_barrier_t *start;
        long status;
    } req[2];                /* private */
    pthread_barrier_t start; /* private */
    pthread_t t[2];          /* private */
};

/* Starts the two requests: `method` is "PATCH" (it_patch_json with `if_match`, may be NULL) or
 * "POST" (it_post_json, `if_match` unused); `body0` and `body1` are their JSON bodies. Fails the
 * test when a thread cannot be made. */
void it_race_start(struct it_race *x,
                   struct it_server *s,
                   const char *method,
                   const char *path,
                   const char *bearer,
                   const char *if_match,
                   const char *body0,
                   const char *body1);

/* Waits for both requests of it_race_start and fills x->status. */
void it_race_join(struct it_race *x);

/* One round of a test of two PATCHes of one row sent at once with the same ETag (`etag`),
 * `body0` and `body1` to `path` as `bearer`. In even rounds the test holds the row `id` of `table`
 * (FOR UPDATE) until both requests wait for it, so that they surely overlap; in odd rounds they
 * run free. Fails unless one got 200 and the other 412; x->status says which. */
void it_race_patch_round(struct it_race *x,
                         struct it_server *s,
                         int round,
                         const char *table,
                         const char *id,
                         const char *path,
                         const char *bearer,
                         const char *etag,
                         const char *body0,
                         const char *body1);

/* Waits (up to 10 s) until `n` other sessions of the test database wait for a lock. Runs on
 * it_sql's connection, which may be inside a transaction holding that lock. Fails the test with
 * `what` otherwise. */
void it_wait_lock_waiters(struct it_server *s, long n, const char *what);

#endif
