/* it_health.c: liveness, readiness, the conventions every route shares (404/405 problems,
 * request ids, the access log), and how `serve` and `migrate` behave at start-up. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "itlib.h"

/* ---- One server for the HTTP tests ----------------------------------------------------------- */

IT_SETUP(group_setup, it_start("health"))

static void
test_healthz(void **state)
{
    struct it_server *s = *state;

    it_expect(s, "GET", "/healthz", NULL, NULL, 200);
}

static void
test_readyz(void **state)
{
    struct it_server *s = *state;
    struct it_resp r;

    it_get(s, "/readyz", NULL, &r);
    it_assert_status(&r, 200);
    it_assert_header(&r, "Content-Type", "application/json");
    if (!json_is_object(r.json)) {
        it_resp_print(&r);
        fail_msg("/readyz did not answer a JSON object");
    }
    it_resp_free(&r);
}

static void
test_unknown_path_is_404_problem(void **state)
{
    struct it_server *s = *state;

    it_expect(s, "GET", "/no/such/path", NULL, NULL, 404);
    /* CivetWeb matches handler prefixes; ours must not. */
    it_expect(s, "GET", "/healthzX", NULL, NULL, 404);
}

static void
test_wrong_method_is_405_with_allow(void **state)
{
    static const struct {
        const char *method, *body;
    } tries[] = {{"DELETE", NULL}, {"POST", ""}};
    struct it_server *s = *state;
    struct it_resp r;
    size_t i;

    for (i = 0; i < IT_LEN(tries); i++) {
        it_request(s, tries[i].method, "/healthz", NULL, NULL, tries[i].body, &r);
        it_assert_problem(&r, 405);
        it_assert_header(&r, "Allow", "GET");
        it_resp_free(&r);
    }
}

static void
test_request_id_echoed_or_generated(void **state)
{
    struct it_server *s = *state;
    struct it_resp r;
    char *sent = it_fmt("X-Request-Id: it-health-echo-%d", (int)getpid());
    const char *const headers[] = {sent, NULL};
    const char *id;

    it_request(s, "GET", "/healthz", NULL, headers, NULL, &r);
    it_assert_status(&r, 200);
    it_assert_header(&r, "X-Request-Id", sent + strlen("X-Request-Id: "));
    assert_string_equal(it_header(&r, "X-Request-Id"), sent + strlen("X-Request-Id: "));
    it_resp_free(&r);

    it_get(s, "/healthz", NULL, &r);
    it_assert_status(&r, 200);
    id = it_header(&r, "X-Request-Id");
    if (id == NULL || strlen(id) < 8) {
        it_resp_print(&r);
        fail_msg("no generated X-Request-Id (at least 8 characters) when none was sent");
    }
    it_resp_free(&r);

    it_get(s, "/no/such/path", NULL, &r); /* errors carry one too */
    it_assert_header(&r, "X-Request-Id", NULL);
    it_resp_free(&r);
    free(sent);
}

static void
test_access_log_line(void **state)
{
    struct it_server *s = *state;
    struct it_resp r;
    char *id = it_fmt("it-health-log-%d", (int)getpid());
    char *hdr = it_fmt("X-Request-Id: %s", id);
    const char *const headers[] = {hdr, NULL};
    char *log, *line, *eol;

    it_request(s, "GET", "/healthz?secret=query-value", NULL, headers, NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);

    if (!it_log_wait(s, id, 5000)) {
        it_log_tail(s, 40);
        fail_msg("no access-log line with request id %s", id);
    }
    log = it_log(s);
    line = strstr(log, id);
    while (line > log && line[-1] != '\n') {
        line--;
    }
    eol = strchr(line, '\n');
    if (eol != NULL) {
        *eol = '\0';
    }
    print_message("access log: %s\n", line);
    if (strstr(line, "GET") == NULL || strstr(line, " /healthz ") == NULL
        || strstr(line, " 200 ") == NULL || strstr(line, "secret") != NULL
        || strchr(line, '?') != NULL) {
        fail_msg("access-log line needs method, path without query string and status: %s", line);
    }
    free(log);
    free(hdr);
    free(id);
}

/* ---- Start-up: each test prepares its own database ------------------------------------------ */

/* Fails unless `out` (a failed command's output) is exactly one line of text, not counting
 * valgrind's own "==pid==" lines, and holds no sanitizer or valgrind report. */
static void
assert_one_line(const char *what, const char *out)
{
    const char *p = out;
    int lines = 0;

    it_assert_clean_output(out);
    while (*p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t n = eol != NULL ? (size_t)(eol - p) : strlen(p);

        if (n > 0 && strncmp(p, "==", 2) != 0) {
            lines++;
        }
        p += n + (eol != NULL ? 1 : 0);
    }
    if (lines != 1) {
        fail_msg("%s: expected one line on stderr, got %d:\n%s", what, lines, out);
    }
}

/* Fails unless a command that should fail did so normally (not by a crash, a timeout or a
 * valgrind error exit, 99). */
static void
assert_failed_cleanly(const char *what, int rc, const char *out)
{
    if (rc == 0 || rc == -1 || rc >= 99) {
        fail_msg("%s: expected a non-zero exit below 99, got %d:\n%s", what, rc, out);
    }
}

static const char schema_digest_sql[] =
    "SELECT md5(coalesce(string_agg(x, E'\\n' ORDER BY x), '')) FROM ("
    " SELECT 'migration ' || row_to_json(m)::text FROM schema_migrations m"
    " UNION ALL SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type"
    "  || ' ' || coalesce(column_default, '') FROM information_schema.columns"
    "  WHERE table_schema = 'public'"
    " UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'"
    " UNION ALL SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(c.oid)"
    "  FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
    "  WHERE n.nspname = 'public'"
    ") t(x)";

static char *
schema_digest(struct it_server *s)
{
    char *d = it_sql_text(s, schema_digest_sql);
    return d;
}

static void
test_pending_migrations_and_migrate_twice(void **state)
{
    struct it_server *s = it_prepare("health_empty", "template0");
    const char *serve[] = {"serve", NULL};
    const char *migrate[] = {"migrate", NULL};
    char *out = NULL, *first, *second;
    int rc;

    (void)state;
    PQclear(it_sql(s, "CREATE EXTENSION IF NOT EXISTS cube"));
    PQclear(it_sql(s, "CREATE EXTENSION IF NOT EXISTS earthdistance"));

    /* An empty database: serve must refuse and say why. */
    rc = it_exec(s, IT_WRAP, serve, NULL, NULL, 60, &out);
    print_message("serve on an empty database (exit %d): %s", rc, out);
    assert_failed_cleanly("serve with pending migrations", rc, out);
    assert_one_line("serve with pending migrations", out);
    if (strcasestr(out, "migrat") == NULL) {
        fail_msg("serve with pending migrations does not mention migrations: %s", out);
    }
    free(out);

    /* The first migrate applies everything, the second changes nothing. */
    rc = it_exec(s, 0, migrate, NULL, NULL, 120, &out);
    if (rc != 0) {
        fail_msg("first migrate exited %d:\n%s", rc, out);
    }
    free(out);
    assert_true(it_count(s, "SELECT count(*) FROM schema_migrations") > 0);
    first = schema_digest(s);
    rc = it_exec(s, 0, migrate, NULL, NULL, 120, &out);
    if (rc != 0) {
        fail_msg("second migrate exited %d:\n%s", rc, out);
    }
    free(out);
    second = schema_digest(s);
    assert_string_equal(first, second);
    free(first);
    free(second);

    /* Now serve starts, and is ready. */
    it_launch(s, NULL);
    {
        it_expect(s, "GET", "/readyz", NULL, NULL, 200);
    }
    it_stop(s);
}

/* Runs `serve` for the prepared `s` with `env` (NULL-terminated, may be NULL), which must fail
 * cleanly with one line of output about `what`; then stops `s`. */
static void
serve_refused(struct it_server *s, const char *const env[], const char *what)
{
    const char *serve[] = {"serve", NULL};
    char *out = NULL;
    int rc = it_exec(s, IT_WRAP, serve, env, NULL, 60, &out);

    print_message("%s (exit %d): %s", what, rc, out);
    assert_failed_cleanly(what, rc, out);
    assert_one_line(what, out);
    free(out);
    it_stop(s);
}

static void
test_busy_port(void **state)
{
    struct it_server *s = it_prepare("health_port", NULL);
    const char *serve[] = {"serve", NULL};
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, rc;
    char *out = NULL;

    (void)state;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)s->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);

    rc = it_exec(s, IT_WRAP, serve, NULL, NULL, 60, &out);
    close(fd);
    print_message("serve on a busy port (exit %d): %s", rc, out);
    assert_failed_cleanly("serve on a busy port", rc, out);
    assert_one_line("serve on a busy port", out);
    free(out);
    it_stop(s);
}

static void
test_missing_key_dir(void **state)
{
    struct it_server *s = it_prepare("health_keys", NULL);
    char *missing = it_fmt("REGISTRY_JWT_KEY_DIR=%s/no-such-dir", s->work_dir);
    const char *const env[] = {missing, NULL};

    (void)state;
    serve_refused(s, env, "serve without a key dir");
    free(missing);
}

static void
test_unreachable_database(void **state)
{
    struct it_server *s = it_prepare("health_nodb", NULL);
    char *url = it_fmt("REGISTRY_DATABASE_URL=host=%s/no-such-socket-dir port=5432 user=postgres "
                       "dbname=registry connect_timeout=2",
                       s->work_dir);
    const char *const env[] = {url, NULL};

    (void)state;
    serve_refused(s, env, "serve with an unreachable database");
    free(url);
}

int
main(void)
{
    const struct CMUnitTest http[] = {
        cmocka_unit_test(test_healthz),
        cmocka_unit_test(test_readyz),
        cmocka_unit_test(test_unknown_path_is_404_problem),
        cmocka_unit_test(test_wrong_method_is_405_with_allow),
        cmocka_unit_test(test_request_id_echoed_or_generated),
        cmocka_unit_test(test_access_log_line),
    };
    const struct CMUnitTest startup[] = {
        cmocka_unit_test(test_pending_migrations_and_migrate_twice),
        cmocka_unit_test(test_busy_port),
        cmocka_unit_test(test_missing_key_dir),
        cmocka_unit_test(test_unreachable_database),
    };
    int failed = 0;

    failed += cmocka_run_group_tests_name("health.http", http, group_setup, it_teardown);
    failed += cmocka_run_group_tests_name("health.startup", startup, NULL, NULL);
    return failed != 0;
}
