/* browser_run.c: runs one browser test (tests/browser/<name>.test.mjs) against the real server.
 *
 *     browser_run SCRIPT SCREENSHOT_DIR
 *
 * As an integration test does (itlib), it starts `mpact-registry serve` on a free port against a
 * fresh database of its own, then loads the demo data into that database with
 * `mpact-registry seed-demo` and a fixed demo password, and runs `node SCRIPT` with
 *
 *     BASE_URL=http://127.0.0.1:<port>   DEMO_PASSWORD=<the password>
 *     SCREENSHOT_DIR=SCREENSHOT_DIR (created)   CHROMIUM=/usr/bin/chromium (unless set)
 *     DATABASE_URL=<libpq conninfo of the test database>
 *
 * added to its own environment. The server relays enquiries ("Ask about a place": a key file of its
 * own, mail to a loopback port where nothing listens, so they wait in the outbox). The exit status
 * of node is the test's result; then it_stop stops the server, which fails the test on a non-zero
 * exit or a sanitizer report in the server log.
 *
 * node runs in a process group of its own; when it outruns BROWSER_TIMEOUT_S seconds (default
 * 270, under ctest's TIMEOUT of 300) the group gets SIGTERM (playwright closes the browser on it)
 * and, 5 s later, SIGKILL, and the test fails. NODE names the node binary (default "node").
 *
 * playwright-core needs Node.js 20 or later; Debian 12's own nodejs is 18, which builds and serves
 * the front end but cannot drive the browser. With an older node, browser_run prints one line
 * saying so and exits 77, which ctest counts as skipped (SKIP_RETURN_CODE). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itlib.h"

#define DEMO_PASSWORD "browser-demo-password-42"

static const char *script;
static const char *shot_dir;
static char test_name[48];
static char key_path[] = "/tmp/mpact-browser-key-XXXXXX";

extern char **environ;

/* Makes `path` and its parents (as mkdir -p). Returns 0 or -1. */
static int
mkdir_p(const char *path)
{
    char *p = it_fmt("%s", path), *q;
    int rc = 0;

    for (q = p + 1; *q != '\0'; q++) {
        if (*q == '/') {
            *q = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                rc = -1;
            }
            *q = '/';
        }
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        rc = -1;
    }
    free(p);
    return rc;
}

/* Waits for `pid` up to `timeout_s` seconds; then terminates its process group. Returns the wait
 * status, or -1 when it had to be stopped. */
static int
wait_group(pid_t pid, int timeout_s)
{
    time_t end = time(NULL) + timeout_s;
    int status = 0, i;

    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);

        if (w == pid) {
            kill(-pid, SIGKILL); /* anything node left behind in its group */
            return status;
        }
        if (w < 0 && errno != EINTR) {
            return -1;
        }
        if (time(NULL) >= end) {
            break;
        }
        it_sleep_ms(100);
    }
    fprintf(stderr, "browser_run: %s still running after %d s, stopping it\n", script, timeout_s);
    kill(-pid, SIGTERM);
    for (i = 0; i < 50; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            kill(-pid, SIGKILL);
            return -1;
        }
        it_sleep_ms(100);
    }
    kill(-pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static int
setup(void **state)
{
    static const char *const args[] = {"seed-demo", NULL};
    static const char *const env[] = {"REGISTRY_DEMO_PASSWORD=" DEMO_PASSWORD, NULL};
    struct it_server *s;
    char *out = NULL, *keyenv;
    const char *server_env[4];
    int rc, fd;

    /* "Ask about a place" is on, with a key of its own; mail goes to a loopback port where
     * nothing listens, so enquiries wait in the outbox (tests/browser/enquiry.test.mjs). */
    fd = mkstemp(key_path);
    assert_true(fd >= 0);
    assert_int_equal(
        write(fd, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 64), 64);
    close(fd);
    keyenv = it_fmt("REGISTRY_ENQUIRY_KEY_FILE=%s", key_path);
    server_env[0] = "REGISTRY_ENQUIRIES=1";
    server_env[1] = keyenv;
    server_env[2] = "REGISTRY_SMTP_URL=smtp://127.0.0.1:9";
    server_env[3] = NULL;
    s = it_start_env(test_name, server_env);
    free(keyenv);
    rc = it_exec(s, 0, args, env, NULL, 180, &out);

    *state = s;
    if (rc != 0) {
        fprintf(stderr, "browser_run: seed-demo exited %d:\n%s\n", rc, out != NULL ? out : "");
    }
    if (out != NULL) {
        it_assert_clean_output(out);
    }
    free(out);
    assert_int_equal(rc, 0);
    return 0;
}

static void
test_browser(void **state)
{
    struct it_server *s = *state;
    const char *node = getenv("NODE") != NULL ? getenv("NODE") : "node";
    const char *t = getenv("BROWSER_TIMEOUT_S");
    int timeout_s = t != NULL && atoi(t) > 0 ? atoi(t) : 270, status;
    char *base = it_fmt("BASE_URL=%s", s->base_url);
    char *shots = it_fmt("SCREENSHOT_DIR=%s", shot_dir);
    char *dburl = it_fmt("DATABASE_URL=%s", s->conninfo);
    pid_t pid;

    assert_int_equal(mkdir_p(shot_dir), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char *argv[] = {(char *)node, "--test-reporter=spec", (char *)script, NULL};

        setpgid(0, 0);
        if (putenv(base) != 0 || putenv(shots) != 0 || putenv(dburl) != 0
            || setenv("DEMO_PASSWORD", DEMO_PASSWORD, 1) != 0
            || setenv("CHROMIUM", "/usr/bin/chromium", 0) != 0) {
            _exit(126);
        }
        execvp(node, argv);
        fprintf(stderr, "browser_run: cannot run %s: %s\n", node, strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    status = wait_group(pid, timeout_s);
    free(base);
    free(shots);
    free(dburl);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        it_log_tail(s, 40);
        if (status != -1 && WIFEXITED(status)) {
            fail_msg("%s: node exited %d", script, WEXITSTATUS(status));
        } else if (status != -1 && WIFSIGNALED(status)) {
            fail_msg("%s: node killed by signal %d", script, WTERMSIG(status));
        } else {
            fail_msg("%s: timed out after %d s", script, timeout_s);
        }
    }
}

#define BROWSER_NODE_MIN 20 /* playwright-core's engines.node */

/* The major version of `node`, or 0 when it cannot be run. */
static int
node_major(const char *node)
{
    char *cmd = it_fmt("'%s' -p 'process.versions.node' 2>/dev/null", node);
    FILE *p = popen(cmd, "r");
    int major = 0;

    if (p != NULL) {
        if (fscanf(p, "%d", &major) != 1) {
            major = 0;
        }
        pclose(p);
    }
    free(cmd);
    return major;
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_browser)};
    const char *base, *dot;
    size_t n;

    if (argc != 3) {
        fprintf(stderr, "usage: browser_run SCRIPT SCREENSHOT_DIR\n");
        return 2;
    }
    script = argv[1];
    shot_dir = argv[2];
    {
        const char *node = getenv("NODE") != NULL ? getenv("NODE") : "node";
        int major = node_major(node);

        if (major > 0 && major < BROWSER_NODE_MIN) {
            printf("browser tests need Node.js %d or later (playwright-core); %s is Node.js %d, "
                   "so they are skipped\n",
                   BROWSER_NODE_MIN, node, major);
            return 77;
        }
    }
    base = strrchr(script, '/') != NULL ? strrchr(script, '/') + 1 : script;
    dot = strchr(base, '.');
    n = dot != NULL ? (size_t)(dot - base) : strlen(base);
    if (n > 30) {
        n = 30;
    }
    snprintf(test_name, sizeof(test_name), "browser_%.*s", (int)n, base);
    n = (size_t)cmocka_run_group_tests_name(test_name, tests, setup, it_teardown);
    unlink(key_path);
    return (int)n;
}
