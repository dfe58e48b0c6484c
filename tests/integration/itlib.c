/* itlib.c: the integration-test harness (see itlib.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "itlib.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "registry/codec.h"
#include "registry/password.h"

extern char **environ;

#define IT_MAX_SERVERS   32
#define IT_MAX_PARAMS    64
#define IT_STOP_WAIT_S   60
#define IT_LOG_TAIL      120
#define IT_DEFAULT_START 30

/* Servers not yet stopped, killed by the exit handler if a test fails before its teardown. */
static struct it_server *live[IT_MAX_SERVERS];
static int exit_handler_set;
static int db_counter;
static pthread_mutex_t sql_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* ---- Failing --------------------------------------------------------------------------------- */

static void it_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void
it_fail_at(const char *file, int line, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    print_error("%s\n", msg);
    _fail(file, line);
    abort(); /* _fail does not return inside a test */
}

#define FAIL(...) it_fail_at(__FILE__, __LINE__, __VA_ARGS__)

static void *
xmalloc(size_t n)
{
    void *p = malloc(n == 0 ? 1 : n);

    if (p == NULL) {
        fprintf(stderr, "itlib: out of memory\n");
        abort();
    }
    return p;
}

static char *
xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(xmalloc(n), s, n);
}

/* What printf makes of `fmt` and `ap`, malloc'd (aborts when out of memory). */
static char *
vfmt(const char *fmt, va_list ap)
{
    char *out = NULL;

    if (vasprintf(&out, fmt, ap) < 0) {
        fprintf(stderr, "itlib: out of memory\n");
        abort();
    }
    return out;
}

/* What a JSON request sends, for send_json. */
struct it_req_json {
    struct it_server *s;
    const char *method, *bearer, *if_match, *json;
};

char *
it_fmt(const char *fmt, ...)
{
    va_list ap;
    char *out;

    va_start(ap, fmt);
    out = vfmt(fmt, ap);
    va_end(ap);
    return out;
}

void
it_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
env_required(const char *name)
{
    const char *v = getenv(name);

    if (v == NULL || *v == '\0') {
        FAIL("itlib: %s is not set (run integration tests through ctest)", name);
    }
    return v;
}

/* ---- Files ----------------------------------------------------------------------------------- */

char *
it_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (f == NULL) {
        return NULL;
    }
    for (;;) {
        if (cap - len < 4096) {
            cap = cap == 0 ? 8192 : cap * 2;
            buf = realloc(buf, cap);
            if (buf == NULL) {
                fclose(f);
                return NULL;
            }
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

char *
it_log(struct it_server *s)
{
    return it_read_file(s->log_path);
}

static void
print_tail(const char *label, const char *text, int lines)
{
    const char *p;
    int seen = 0;

    if (text == NULL) {
        fprintf(stderr, "---- %s: (nothing) ----\n", label);
        return;
    }
    p = text + strlen(text);
    while (p > text) {
        p--;
        if (*p == '\n' && p[1] != '\0' && ++seen > lines) {
            p++;
            break;
        }
    }
    fprintf(stderr, "---- %s ----\n%s%s---- end of %s ----\n", label, p,
            (*text != '\0' && text[strlen(text) - 1] != '\n') ? "\n" : "", label);
}

void
it_log_tail(struct it_server *s, int lines)
{
    char *log = it_log(s);
    char label[PATH_MAX + 32];

    snprintf(label, sizeof(label), "server log %s", s->log_path);
    print_tail(label, log, lines);
    free(log);
}

int
it_log_wait(struct it_server *s, const char *needle, int timeout_ms)
{
    double deadline = now_s() + timeout_ms / 1000.0;

    for (;;) {
        char *log = it_log(s);
        int found = log != NULL && strstr(log, needle) != NULL;

        free(log);
        if (found) {
            return 1;
        }
        if (now_s() > deadline) {
            return 0;
        }
        it_sleep_ms(20);
    }
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void
remove_tree(const char *path)
{
    if (path[0] != '\0') {
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

/* ---- Reports in logs ------------------------------------------------------------------------- */

/* Returns a description of the first sanitizer or valgrind report in `text`, or NULL. */
static const char *
find_report(const char *text)
{
    static const char *const markers[] = {
        "AddressSanitizer", "LeakSanitizer", "ThreadSanitizer", "runtime error:", "==ERROR",
    };
    const char *p;
    size_t i;

    if (text == NULL) {
        return NULL;
    }
    for (i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
        if (strstr(text, markers[i]) != NULL) {
            return markers[i];
        }
    }
    for (p = text; (p = strstr(p, "ERROR SUMMARY: ")) != NULL; p++) {
        if (atol(p + strlen("ERROR SUMMARY: ")) != 0) {
            return "valgrind ERROR SUMMARY with errors";
        }
    }
    for (p = text; (p = strstr(p, "definitely lost: ")) != NULL; p++) {
        if (atol(p + strlen("definitely lost: ")) != 0) {
            return "valgrind definite leak";
        }
    }
    return NULL;
}

void
it_assert_clean_output_at(const char *output, const char *file, int line)
{
    const char *what = find_report(output);

    if (what != NULL) {
        print_tail("output", output, 200);
        it_fail_at(file, line, "output holds a report: %s", what);
    }
}

/* ---- Environment for child processes --------------------------------------------------------- */

struct envlist {
    char **v;
    size_t n, cap;
};

static void
env_del(struct envlist *e, const char *name, size_t namelen)
{
    size_t i = 0;

    while (i < e->n) {
        if (strncmp(e->v[i], name, namelen) == 0 && e->v[i][namelen] == '=') {
            free(e->v[i]);
            memmove(&e->v[i], &e->v[i + 1], (e->n - i - 1) * sizeof(char *));
            e->n--;
        } else {
            i++;
        }
    }
}

/* Applies "NAME=value" (set) or "NAME" (remove). */
static void
env_apply(struct envlist *e, const char *entry)
{
    const char *eq = strchr(entry, '=');
    size_t namelen = eq != NULL ? (size_t)(eq - entry) : strlen(entry);

    env_del(e, entry, namelen);
    if (eq == NULL) {
        return;
    }
    if (e->n + 2 > e->cap) {
        e->cap = e->cap == 0 ? 64 : e->cap * 2;
        e->v = realloc(e->v, e->cap * sizeof(char *));
        if (e->v == NULL) {
            abort();
        }
    }
    e->v[e->n++] = xstrdup(entry);
    e->v[e->n] = NULL;
}

static void
env_set(struct envlist *e, const char *name, const char *value)
{
    char *entry = it_fmt("%s=%s", name, value);

    env_apply(e, entry);
    free(entry);
}

static void
env_free(struct envlist *e)
{
    size_t i;

    for (i = 0; i < e->n; i++) {
        free(e->v[i]);
    }
    free(e->v);
    memset(e, 0, sizeof(*e));
}

/* The environment of a server process: ours without REGISTRY_*, plus the server's settings,
 * the extra entries given at launch and `extra`. */
static void
server_env(struct it_server *s, const char *const extra[], struct envlist *e)
{
    char **p;
    const char *src = getenv("IT_SOURCE_DIR");
    char listen[64];

    memset(e, 0, sizeof(*e));
    for (p = environ; *p != NULL; p++) {
        if (strncmp(*p, "REGISTRY_", 9) != 0) {
            env_apply(e, *p);
        }
    }
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->port);
    env_set(e, "REGISTRY_DATABASE_URL", s->conninfo);
    env_set(e, "REGISTRY_LISTEN", listen);
    env_set(e, "REGISTRY_JWT_KEY_DIR", s->key_dir);
    env_set(e, "REGISTRY_ISSUER", "mpact-test");
    env_set(e, "REGISTRY_AUDIENCE", "mpact-test");
    env_set(e, "REGISTRY_THREADS", "16");
    env_set(e, "REGISTRY_DB_POOL", "4");
    if (getenv("IT_SERVER_WRAPPER") != NULL && getenv("IT_SERVER_WRAPPER")[0] != '\0') {
        /* Under valgrind the server runs tens of times slower, and so does every holder of a
         * pooled connection or a lock: the waits for them scale with it, so that a burst a test
         * sends (eight sign-ins at once on one account: a pool of four, one advisory lock) is
         * queued as it is at full speed, not refused with 503. A test that sets its own waits
         * still wins (extra_env below). */
        env_set(e, "REGISTRY_DB_WAIT_MS", "30000");
        env_set(e, "REGISTRY_DB_QUERY_TIMEOUT_MS", "30000");
    }
    if (getenv("IT_STATIC_DIR") != NULL) {
        env_set(e, "REGISTRY_STATIC_DIR", getenv("IT_STATIC_DIR"));
    } else if (src != NULL && *src != '\0') {
        char *dir = it_fmt("%s/static", src);

        env_set(e, "REGISTRY_STATIC_DIR", dir);
        free(dir);
    }
    for (p = s->extra_env; p != NULL && *p != NULL; p++) {
        env_apply(e, *p);
    }
    for (; extra != NULL && *extra != NULL; extra++) {
        env_apply(e, *extra);
    }
}

/* Splits IT_SERVER_WRAPPER on blanks into `argv` (words are malloc'd). Returns the count. */
static int
wrapper_words(char **argv, int max)
{
    const char *w = getenv("IT_SERVER_WRAPPER");
    int n = 0;

    while (w != NULL && *w != '\0' && n < max) {
        const char *end;

        while (*w == ' ' || *w == '\t') {
            w++;
        }
        if (*w == '\0') {
            break;
        }
        end = w;
        while (*end != '\0' && *end != ' ' && *end != '\t') {
            end++;
        }
        argv[n] = xmalloc((size_t)(end - w) + 1);
        memcpy(argv[n], w, (size_t)(end - w));
        argv[n][end - w] = '\0';
        n++;
        w = end;
    }
    return n;
}

/* Forks and execs argv with envp, stdin from `in_fd` (-1: /dev/null), stdout and stderr to
 * `out_fd`. The child dies with us. Returns the pid or -1. */
static pid_t
spawn(char *const argv[], char *const envp[], int in_fd, int out_fd)
{
    pid_t parent = getpid(), pid;

    fflush(NULL);
    pid = fork();
    if (pid != 0) {
        return pid;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
        _exit(127);
    }
    if (in_fd < 0) {
        in_fd = open("/dev/null", O_RDONLY);
    }
    if (in_fd >= 0 && in_fd != 0) {
        dup2(in_fd, 0);
    }
    if (out_fd >= 0) {
        dup2(out_fd, 1);
        dup2(out_fd, 2);
    }
    closefrom(3);
    signal(SIGPIPE, SIG_DFL);
    execvpe(argv[0], argv, envp);
    dprintf(2, "itlib: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Waits for `pid` up to `timeout_s` seconds. Returns 1 with *status set, or 0 on timeout. */
static int
wait_for(pid_t pid, double timeout_s, int *status)
{
    double deadline = now_s() + timeout_s;
    int delay = 5;

    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);

        if (r == pid) {
            return 1;
        }
        if (r < 0 && errno != EINTR) {
            *status = 0;
            return 1;
        }
        if (now_s() > deadline) {
            return 0;
        }
        it_sleep_ms(delay);
        if (delay < 50) {
            delay *= 2;
        }
    }
}

static int
exit_code(int status)
{
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return -1;
}

/* Runs argv to completion (or `timeout_s`), with output in the file `out_path` (NULL: inherited)
 * and `stdin_data` (NULL: /dev/null). Returns as it_exec does. */
static int
run_argv(char *const argv[],
         char *const envp[],
         const char *stdin_data,
         const char *work_dir,
         const char *out_path,
         int timeout_s)
{
    int in_fd = -1, out_fd = -1, status = 0;
    char *in_path = NULL;
    pid_t pid;

    if (stdin_data != NULL) {
        FILE *f;

        in_path = it_fmt("%s/stdin.XXXXXX", work_dir != NULL ? work_dir : "/tmp");
        in_fd = mkstemp(in_path);
        if (in_fd < 0 || (f = fdopen(dup(in_fd), "w")) == NULL) {
            FAIL("itlib: cannot create %s: %s", in_path, strerror(errno));
        }
        fputs(stdin_data, f);
        fclose(f);
        lseek(in_fd, 0, SEEK_SET);
    }
    if (out_path != NULL) {
        out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (out_fd < 0) {
            FAIL("itlib: cannot create %s: %s", out_path, strerror(errno));
        }
    }
    pid = spawn(argv, envp, in_fd, out_fd);
    if (in_fd >= 0) {
        close(in_fd);
        unlink(in_path);
    }
    free(in_path);
    if (out_fd >= 0) {
        close(out_fd);
    }
    if (pid < 0) {
        FAIL("itlib: fork failed: %s", strerror(errno));
    }
    if (!wait_for(pid, timeout_s > 0 ? timeout_s : 60, &status)) {
        fprintf(stderr, "itlib: %s did not finish in %d s; killing it\n", argv[0],
                timeout_s > 0 ? timeout_s : 60);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
    }
    return exit_code(status);
}

/* ---- The cluster ----------------------------------------------------------------------------- */

/* The cluster's conninfo (IT_PG_DIR/conninfo) without dbname, or NULL with `err`. */
static char *
cluster_conninfo_try(char *err, size_t errlen)
{
    const char *dir = getenv("IT_PG_DIR");
    char *path, *c;
    size_t n;

    if (dir == NULL || *dir == '\0') {
        snprintf(err, errlen, "IT_PG_DIR is not set (run integration tests through ctest)");
        return NULL;
    }
    path = it_fmt("%s/conninfo", dir);
    c = it_read_file(path);
    if (c == NULL) {
        snprintf(err, errlen,
                 "cannot read %s: is the pg fixture running (ctest runs pg.start first)?", path);
        free(path);
        return NULL;
    }
    free(path);
    n = strlen(c);
    while (n > 0 && isspace((unsigned char)c[n - 1])) {
        c[--n] = '\0';
    }
    return c;
}

static char *
cluster_conninfo(void)
{
    char err[PATH_MAX + 128];
    char *c = cluster_conninfo_try(err, sizeof(err));

    if (c == NULL) {
        FAIL("itlib: %s", err);
    }
    return c;
}

/* A connection to the cluster's postgres database, or NULL with `err`. */
static PGconn *
admin_connect_try(char *err, size_t errlen)
{
    char *base = cluster_conninfo_try(err, errlen), *ci;
    PGconn *c;

    if (base == NULL) {
        return NULL;
    }
    ci = it_fmt("%s dbname=postgres", base);
    c = PQconnectdb(ci);
    free(base);
    free(ci);
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to the test cluster: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

static PGconn *
admin_connect(void)
{
    char err[PATH_MAX + 512];
    PGconn *c = admin_connect_try(err, sizeof(err));

    if (c == NULL) {
        FAIL("itlib: %s", err);
    }
    return c;
}

/* Returns NULL on success or a malloc'd error message. */
static char *
admin_command(PGconn *c, const char *sql, const char **sqlstate_out)
{
    PGresult *r = PQexec(c, sql);
    char *err = NULL;
    static __thread char state[8];

    if (sqlstate_out != NULL) {
        *sqlstate_out = NULL;
    }
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);

        err = xstrdup(PQresultErrorMessage(r));
        if (st != NULL && sqlstate_out != NULL) {
            snprintf(state, sizeof(state), "%s", st);
            *sqlstate_out = state;
        }
    }
    PQclear(r);
    return err;
}

static char *
quote_ident(PGconn *c, const char *name)
{
    char *q = PQescapeIdentifier(c, name, strlen(name));
    char *out = xstrdup(q != NULL ? q : "\"?\"");

    PQfreemem(q);
    return out;
}

/* Never fails the test: it also runs from the exit handler. */
static void
drop_database(const char *dbname)
{
    char cerr[PATH_MAX + 512];
    PGconn *c = admin_connect_try(cerr, sizeof(cerr));
    char *id, *sql, *err;

    if (c == NULL) {
        fprintf(stderr, "itlib: dropping %s: %s\n", dbname, cerr);
        return;
    }
    id = quote_ident(c, dbname);
    sql = it_fmt("DROP DATABASE IF EXISTS %s WITH (FORCE)", id);
    err = admin_command(c, sql, NULL);
    if (err != NULL) {
        fprintf(stderr, "itlib: dropping %s: %s", dbname, err);
    }
    free(err);
    free(sql);
    free(id);
    PQfinish(c);
}

static void
create_database(const char *dbname, const char *template_db)
{
    PGconn *c = admin_connect();
    char *id = quote_ident(c, dbname), *tid = quote_ident(c, template_db);
    char *sql = it_fmt("CREATE DATABASE %s TEMPLATE %s", id, tid);
    double deadline = now_s() + 20;
    const char *state;
    char *err;

    for (;;) {
        err = admin_command(c, sql, &state);
        if (err == NULL) {
            break;
        }
        if (state != NULL && strcmp(state, "42P04") == 0) { /* left over from an earlier run */
            char *drop = it_fmt("DROP DATABASE IF EXISTS %s WITH (FORCE)", id);

            free(admin_command(c, drop, NULL));
            free(drop);
        } else if (state == NULL || strcmp(state, "55006") != 0 || now_s() > deadline) {
            break; /* only "template in use by other users" is worth waiting for */
        }
        free(err);
        err = NULL;
        it_sleep_ms(50 + rand() % 100);
    }
    free(sql);
    free(id);
    free(tid);
    PQfinish(c);
    if (err != NULL) {
        char msg[1024];

        snprintf(msg, sizeof(msg), "%s", err);
        free(err);
        FAIL("itlib: CREATE DATABASE %s TEMPLATE %s failed: %s", dbname, template_db, msg);
    }
}

int
it_pg(const char *cmd)
{
    char *script = it_fmt("%s/tests/integration/pg.sh", env_required("IT_SOURCE_DIR"));
    char *dir = (char *)env_required("IT_PG_DIR");
    char *plain[] = {"bash", script, (char *)cmd, dir, NULL};
    char *start[] = {"bash", script, "start", "--no-fsync", dir, "registry_template", NULL};
    int rc = run_argv(strcmp(cmd, "start") == 0 ? start : plain, environ, NULL, NULL, NULL, 120);

    free(script);
    return rc;
}

int
it_pg_sh(const char *const args[])
{
    char *script = it_fmt("%s/tests/integration/pg.sh", env_required("IT_SOURCE_DIR"));
    char *argv[16];
    int n = 0, status = 0;
    pid_t pid;

    argv[n++] = "bash";
    argv[n++] = script;
    for (; *args != NULL && n < 15; args++) {
        argv[n++] = (char *)*args;
    }
    argv[n] = NULL;
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        dup2(2, 1); /* pg.sh prints the conninfo; keep our stdout for cmocka */
        execvp("bash", argv);
        _exit(127);
    }
    assert_true(pid > 0);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    free(script);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void
it_pg_sh_or_fail(const char *const args[])
{
    int rc = it_pg_sh(args);

    if (rc != 0) {
        fail_msg("pg.sh %s %s exited %d", args[0], args[1], rc);
    }
}

void
it_private_cluster(struct it_server *s,
                   const char *dir,
                   int fsync,
                   const char *email,
                   const char *password,
                   char **url,
                   char **env_url)
{
    const char *const start_fast[] = {"start", "--no-fsync", dir, "registry", NULL};
    const char *const start_durable[] = {"start", dir, "registry", NULL};
    const char *const migrate[] = {"migrate", NULL};
    const char *const create_admin[] = {"create-admin", email, NULL};
    char *conninfo_path, *conninfo, *out = NULL, *pw = it_fmt("%s\n", password);
    const char *env[2];
    int rc;

    it_pg_sh_or_fail(fsync ? start_durable : start_fast);
    conninfo_path = it_fmt("%s/conninfo", dir);
    conninfo = it_read_file(conninfo_path);
    assert_non_null(conninfo);
    conninfo[strcspn(conninfo, "\n")] = '\0';
    *url = it_fmt("%s dbname=registry", conninfo);
    *env_url = it_fmt("REGISTRY_DATABASE_URL=%s", *url);
    free(conninfo);
    free(conninfo_path);
    env[0] = *env_url;
    env[1] = NULL;
    rc = it_exec(s, 0, migrate, env, NULL, 60, &out);
    if (rc != 0) {
        fail_msg("migrate exited %d:\n%s", rc, out);
    }
    free(out);
    rc = it_exec(s, 0, create_admin, env, pw, 120, &out);
    if (rc != 0) {
        fail_msg("create-admin exited %d:\n%s", rc, out);
    }
    free(out);
    free(pw);
}

void *
it_private_fx_new(size_t size, const char *tag)
{
    struct it_private_fx *f = calloc(1, size);

    if (f == NULL) {
        FAIL("out of memory");
    }
    snprintf(f->dir, sizeof(f->dir), "/tmp/mpact-it-%s-XXXXXX", tag);
    if (mkdtemp(f->dir) == NULL) {
        FAIL("mkdtemp: %s", strerror(errno));
    }
    chmod(f->dir, 0755); /* the postgres user runs the cluster inside it */
    return f;
}

void
it_private_fx_free(void *fx)
{
    struct it_private_fx *f = fx;

    rmdir(f->dir);
    free(f->url);
    free(f->env_url);
    free(f->admin);
    free(f->org_id);
    free(f);
}

PGconn *
it_connect(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);

    if (PQstatus(c) != CONNECTION_OK) {
        fail_msg("cannot connect to %s: %s", conninfo, PQerrorMessage(c));
    }
    return c;
}

void
it_commit_close(PGconn *c)
{
    PQclear(PQexec(c, "COMMIT"));
    PQfinish(c);
}

/* ---- Servers --------------------------------------------------------------------------------- */

static void
cleanup_all(void)
{
    int i;

    for (i = 0; i < IT_MAX_SERVERS; i++) {
        struct it_server *s = live[i];

        if (s == NULL) {
            continue;
        }
        live[i] = NULL;
        if (s->pid > 0) {
            fprintf(stderr, "itlib: killing server %s (pid %d) left running by a failed test\n",
                    s->name, (int)s->pid);
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
        }
        if (s->db != NULL) {
            PQfinish(s->db);
        }
        if (getenv("IT_KEEP") == NULL) {
            drop_database(s->dbname);
            remove_tree(s->work_dir);
        }
    }
}

static void
register_server(struct it_server *s)
{
    int i;

    if (!exit_handler_set) {
        atexit(cleanup_all);
        exit_handler_set = 1;
    }
    for (i = 0; i < IT_MAX_SERVERS; i++) {
        if (live[i] == NULL) {
            live[i] = s;
            s->registered = 1;
            return;
        }
    }
}

static void
unregister_server(struct it_server *s)
{
    int i;

    for (i = 0; i < IT_MAX_SERVERS; i++) {
        if (live[i] == s) {
            live[i] = NULL;
        }
    }
}

static void
free_server(struct it_server *s)
{
    char **p;

    for (p = s->extra_env; p != NULL && *p != NULL; p++) {
        free(*p);
    }
    free(s->extra_env);
    if (s->db != NULL) {
        PQfinish(s->db);
    }
    free(s);
}

static int
free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0
        || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        FAIL("itlib: cannot find a free port: %s", strerror(errno));
    }
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void
init_curl(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
sanitize_name(const char *in, char *out, size_t outlen)
{
    size_t i = 0;

    for (; *in != '\0' && i + 1 < outlen && i < 24; in++) {
        unsigned char ch = (unsigned char)*in;

        out[i++] = isalnum(ch) ? (char)tolower(ch) : '_';
    }
    out[i] = '\0';
    if (i == 0) {
        snprintf(out, outlen, "test");
    }
}

struct it_server *
it_prepare(const char *name, const char *template_db)
{
    struct it_server *s = calloc(1, sizeof(*s));
    const char *tmp = getenv("TMPDIR");
    char *cluster, *keygen_out;
    const char *bin = env_required("MPACT_BIN");
    int rc;

    if (s == NULL) {
        abort();
    }
    pthread_once(&curl_once, init_curl);
    if (db_counter == 0) {
        srand((unsigned)getpid());
    }
    sanitize_name(name, s->name, sizeof(s->name));
    if (db_counter++ == 0) {
        snprintf(s->dbname, sizeof(s->dbname), "it_%s_%d", s->name, (int)getpid());
    } else {
        if (snprintf(s->dbname, sizeof(s->dbname), "it_%s_%d_%d", s->name, (int)getpid(),
                     db_counter)
            >= (int)sizeof(s->dbname)) {
            abort(); /* cannot happen: the name is at most 24 characters */
        }
    }
    cluster = cluster_conninfo();
    snprintf(s->conninfo, sizeof(s->conninfo), "%s dbname=%s", cluster, s->dbname);
    free(cluster);

    snprintf(s->work_dir, sizeof(s->work_dir), "%s/mpact-it-%s-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp", s->name);
    if (mkdtemp(s->work_dir) == NULL) {
        char msg[256];

        snprintf(msg, sizeof(msg), "%s", strerror(errno));
        free(s);
        FAIL("itlib: mkdtemp: %s", msg);
    }
    if (snprintf(s->key_dir, sizeof(s->key_dir), "%s/keys", s->work_dir) >= (int)sizeof(s->key_dir)
        || snprintf(s->log_path, sizeof(s->log_path), "%s/server.log", s->work_dir)
               >= (int)sizeof(s->log_path)) {
        FAIL("itlib: TMPDIR is too long");
    }
    s->port = free_port();
    snprintf(s->base_url, sizeof(s->base_url), "http://127.0.0.1:%d", s->port);
    register_server(s);

    create_database(s->dbname, template_db != NULL ? template_db : "registry_template");

    keygen_out = NULL;
    {
        const char *args[] = {"keygen", s->key_dir, NULL};

        rc = it_exec(s, 0, args, NULL, NULL, 60, &keygen_out);
    }
    if (rc != 0) {
        fprintf(stderr, "%s", keygen_out != NULL ? keygen_out : "");
        free(keygen_out);
        FAIL("itlib: %s keygen %s exited %d", bin, s->key_dir, rc);
    }
    free(keygen_out);
    return s;
}

/* Starts the serve process once. Returns 1 when /healthz answered 200, 0 when the process
 * exited (its status in *status), -1 on timeout (process still running). */
static int
launch_once(struct it_server *s, int *status)
{
    char *words[32];
    char *argv[40];
    int n = wrapper_words(words, 30), i, fd, timeout_s = IT_DEFAULT_START;
    struct envlist env;
    const char *t = getenv("IT_START_TIMEOUT");
    double deadline;
    CURL *h;

    if (t != NULL && atoi(t) > 0) {
        timeout_s = atoi(t);
    }
    for (i = 0; i < n; i++) {
        argv[i] = words[i];
    }
    argv[n] = (char *)env_required("MPACT_BIN");
    argv[n + 1] = "serve";
    argv[n + 2] = NULL;
    server_env(s, NULL, &env);

    fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        FAIL("itlib: cannot open %s: %s", s->log_path, strerror(errno));
    }
    dprintf(fd, "==== itlib: starting%s%s %s serve on 127.0.0.1:%d, database %s\n",
            n > 0 ? " under " : "", n > 0 ? words[0] : "", argv[n], s->port, s->dbname);
    s->pid = spawn(argv, env.v, -1, fd);
    close(fd);
    env_free(&env);
    for (i = 0; i < n; i++) {
        free(words[i]);
    }
    if (s->pid < 0) {
        s->pid = 0;
        FAIL("itlib: fork failed: %s", strerror(errno));
    }

    h = curl_easy_init();
    {
        char *url = it_fmt("%s/healthz", s->base_url);

        curl_easy_setopt(h, CURLOPT_URL, url);
        free(url);
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, NULL);
    {
        FILE *devnull = fopen("/dev/null", "w");

        curl_easy_setopt(h, CURLOPT_WRITEDATA, devnull);
        deadline = now_s() + timeout_s;
        for (;;) {
            long code = 0;
            pid_t r = waitpid(s->pid, status, WNOHANG);

            if (r == s->pid) {
                s->pid = 0;
                fclose(devnull);
                curl_easy_cleanup(h);
                return 0;
            }
            if (curl_easy_perform(h) == CURLE_OK
                && curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200) {
                fclose(devnull);
                curl_easy_cleanup(h);
                return 1;
            }
            if (now_s() > deadline) {
                fclose(devnull);
                curl_easy_cleanup(h);
                return -1;
            }
            it_sleep_ms(50);
        }
    }
}

static char **
copy_env_list(const char *const extra[])
{
    size_t n = 0, i;
    char **out;

    while (extra != NULL && extra[n] != NULL) {
        n++;
    }
    out = xmalloc((n + 1) * sizeof(char *));
    for (i = 0; i < n; i++) {
        out[i] = xstrdup(extra[i]);
    }
    out[n] = NULL;
    return out;
}

void
it_launch(struct it_server *s, const char *const extra_env[])
{
    int attempt, status = 0, r = 0;
    char **p;

    for (p = s->extra_env; p != NULL && *p != NULL; p++) {
        free(*p);
    }
    free(s->extra_env);
    s->extra_env = copy_env_list(extra_env);

    for (attempt = 0; attempt < 3; attempt++) {
        char *log;
        int port_lost;

        r = launch_once(s, &status);
        if (r != 0) {
            break;
        }
        /* Another process may have taken the port between free_port() and the bind. */
        log = it_log(s);
        port_lost =
            log != NULL && (strstr(log, "in use") != NULL || strstr(log, "EADDRINUSE") != NULL);
        free(log);
        if (!port_lost) {
            break;
        }
        s->port = free_port();
        snprintf(s->base_url, sizeof(s->base_url), "http://127.0.0.1:%d", s->port);
    }
    if (r == 1) {
        return;
    }
    if (r == -1) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
        s->pid = 0;
        it_log_tail(s, IT_LOG_TAIL);
        FAIL("itlib: server %s did not answer GET /healthz within the start timeout "
             "(IT_START_TIMEOUT)",
             s->name);
    }
    it_log_tail(s, IT_LOG_TAIL);
    FAIL("itlib: server %s exited during start-up with status %d", s->name, exit_code(status));
}

struct it_server *
it_start_env(const char *name, const char *const extra_env[])
{
    struct it_server *s = it_prepare(name, NULL);

    it_launch(s, extra_env);
    return s;
}

struct it_server *
it_start(const char *name)
{
    return it_start_env(name, NULL);
}

int
it_teardown(void **state)
{
    it_stop(*state);
    *state = NULL;
    return 0;
}

int
it_kill(struct it_server *s, int sig)
{
    int status = 0;

    if (s == NULL || s->pid <= 0) {
        return 0;
    }
    kill(s->pid, sig);
    if (!wait_for(s->pid, IT_STOP_WAIT_S, &status)) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
    }
    s->pid = 0;
    return status;
}

void
it_stop(struct it_server *s)
{
    char problem[512] = "";
    char *log = NULL;
    const char *report;
    int status = 0;

    if (s == NULL) {
        return;
    }
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        if (!wait_for(s->pid, IT_STOP_WAIT_S, &status)) {
            snprintf(problem, sizeof(problem),
                     "server %s did not exit within %d s of SIGTERM (killed)", s->name,
                     IT_STOP_WAIT_S);
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            snprintf(problem, sizeof(problem), "server %s exited with status %d after SIGTERM",
                     s->name, exit_code(status));
        }
        s->pid = 0;
    }
    log = it_log(s);
    report = find_report(log);
    if (report != NULL && problem[0] == '\0') {
        snprintf(problem, sizeof(problem), "server %s log holds a report: %s", s->name, report);
    }
    if (problem[0] != '\0') {
        char label[PATH_MAX + 32];

        snprintf(label, sizeof(label), "server log %s", s->log_path);
        print_tail(label, log, report != NULL ? 400 : IT_LOG_TAIL);
    }
    free(log);

    unregister_server(s);
    if (s->db != NULL) {
        PQfinish(s->db);
        s->db = NULL;
    }
    if (getenv("IT_KEEP") == NULL) {
        drop_database(s->dbname);
        remove_tree(s->work_dir);
    } else {
        fprintf(stderr, "itlib: IT_KEEP: kept database %s and %s\n", s->dbname, s->work_dir);
    }
    free_server(s);
    if (problem[0] != '\0') {
        FAIL("itlib: %s", problem);
    }
}

int
it_exec(struct it_server *s,
        int flags,
        const char *const args[],
        const char *const extra_env[],
        const char *stdin_data,
        int timeout_s,
        char **output)
{
    char *words[32], *argv[64];
    int n = (flags & IT_WRAP) ? wrapper_words(words, 30) : 0, i, k, rc;
    struct envlist env;
    static int seq;
    char *out_path = it_fmt("%s/exec-%d.out", s->work_dir, ++seq);

    for (i = 0; i < n; i++) {
        argv[i] = words[i];
    }
    argv[n] = (char *)env_required("MPACT_BIN");
    k = n + 1;
    for (i = 0; args != NULL && args[i] != NULL && k < 63; i++) {
        argv[k++] = (char *)args[i];
    }
    argv[k] = NULL;
    server_env(s, extra_env, &env);
    rc = run_argv(argv, env.v, stdin_data, s->work_dir, out_path, timeout_s);
    env_free(&env);
    for (i = 0; i < n; i++) {
        free(words[i]);
    }
    if (output != NULL) {
        *output = it_read_file(out_path);
        if (*output == NULL) {
            *output = xstrdup("");
        }
    }
    unlink(out_path);
    free(out_path);
    return rc;
}

int
it_create_admin(struct it_server *s, const char *email, const char *password)
{
    const char *args[] = {"create-admin", email, NULL};
    char *in = it_fmt("%s\n", password), *out = NULL;
    int rc = it_exec(s, 0, args, NULL, in, 120, &out);

    if (rc != 0) {
        fprintf(stderr, "itlib: create-admin %s exited %d:\n%s\n", email, rc, out);
    }
    free(in);
    free(out);
    return rc;
}

/* ---- HTTP ------------------------------------------------------------------------------------ */

void
it_buf_add(struct it_buf *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 4096 : b->cap;

        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        b->p = realloc(b->p, cap);
        if (b->p == NULL) {
            abort();
        }
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *user)
{
    it_buf_add(user, data, size * nmemb);
    return size * nmemb;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *user)
{
    struct it_buf *b = user;
    size_t n = size * nmemb;

    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        b->len = 0; /* keep only the final response's headers (after 100 Continue) */
    }
    it_buf_add(b, data, n);
    return n;
}

struct upload {
    const char *p;
    size_t left;
};

static size_t
on_read(char *dest, size_t size, size_t nmemb, void *user)
{
    struct upload *u = user;
    size_t n = size * nmemb;

    if (n > u->left) {
        n = u->left;
    }
    memcpy(dest, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

/* 1 when `headers` has a header `name` (case-insensitive); `value_has` (may be NULL) must then
 * appear in its value (case-insensitive). */
static int
has_header(const char *const *headers, const char *name, const char *value_has)
{
    size_t n = strlen(name);

    for (; headers != NULL && *headers != NULL; headers++) {
        if (strncasecmp(*headers, name, n) == 0 && (*headers)[n] == ':') {
            if (value_has == NULL || strcasestr(*headers + n + 1, value_has) != NULL) {
                return 1;
            }
        }
    }
    return 0;
}

static void
index_headers(struct it_resp *r)
{
    const char *p = r->headers;
    struct it_buf b = {0};

    while (p != NULL && *p != '\0') {
        const char *eol = strpbrk(p, "\r\n"), *colon, *v, *end;

        if (eol == NULL) {
            eol = p + strlen(p);
        }
        colon = memchr(p, ':', (size_t)(eol - p));
        if (colon != NULL && colon != p && strncmp(p, "HTTP/", 5) != 0) {
            v = colon + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) {
                v++;
            }
            end = eol;
            while (end > v && (end[-1] == ' ' || end[-1] == '\t')) {
                end--;
            }
            it_buf_add(&b, p, (size_t)(colon - p));
            it_buf_add(&b, "", 1);
            it_buf_add(&b, v, (size_t)(end - v));
            it_buf_add(&b, "", 1);
        }
        p = eol;
        while (*p == '\r' || *p == '\n') {
            p++;
        }
    }
    it_buf_add(&b, "", 1);
    r->hdr_index = b.p;
}

const char *
it_header(const struct it_resp *r, const char *name)
{
    const char *p = r->hdr_index;

    while (p != NULL && *p != '\0') {
        const char *v = p + strlen(p) + 1;

        if (strcasecmp(p, name) == 0) {
            return v;
        }
        p = v + strlen(v) + 1;
    }
    return NULL;
}

void
it_resp_free(struct it_resp *r)
{
    if (r == NULL) {
        return;
    }
    free(r->body);
    free(r->headers);
    free(r->hdr_index);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

const char *
it_json_str(const struct it_resp *r, const char *key)
{
    return json_string_value(json_object_get(r->json, key));
}

/* With IT_RECORD_DIR set, appends one JSON line per response to IT_RECORD_DIR/<pid>.jsonl:
 * {"method","path" (no query),"status","content_type","body" (when JSON)}. The OpenAPI check
 * (tests/openapi/validate-responses.mjs) matches each against the description. One write() per
 * line on an O_APPEND descriptor, so lines from several threads never interleave. */
static void
record_response(const char *method, const char *path, const struct it_resp *r)
{
    const char *dir = getenv("IT_RECORD_DIR");
    const char *type = it_header(r, "Content-Type");
    json_t *line;
    char *text, *file;
    int fd;

    if (dir == NULL || *dir == '\0' || r->status == 0) {
        return;
    }
    line = json_object();
    json_object_set_new(line, "method", json_string(method));
    json_object_set_new(line, "path", json_stringn(path, strcspn(path, "?")));
    json_object_set_new(line, "status", json_integer(r->status));
    json_object_set_new(line, "content_type", type != NULL ? json_string(type) : json_null());
    if (r->json != NULL) {
        json_object_set(line, "body", r->json);
    }
    text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    file = it_fmt("%s/%ld.jsonl", dir, (long)getpid());
    fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || text == NULL) {
        fprintf(stderr, "itlib: cannot record a response in %s\n", file);
    } else {
        size_t n = strlen(text);
        text[n] = '\n';
        if (write(fd, text, n + 1) != (ssize_t)(n + 1)) {
            fprintf(stderr, "itlib: short write recording a response in %s\n", file);
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    free(file);
    free(text);
}

int
it_request_n(struct it_server *s,
             const char *method,
             const char *path,
             const char *bearer,
             const char *const *headers,
             const char *body,
             size_t len,
             struct it_resp *out)
{
    CURL *h;
    CURLcode rc;
    struct curl_slist *list = NULL;
    struct it_buf bb = {0}, hb = {0};
    struct upload up = {body, len};
    char errbuf[CURL_ERROR_SIZE] = "";
    char *url, *auth = NULL;
    const char *const *hp;

    pthread_once(&curl_once, init_curl);
    memset(out, 0, sizeof(*out));
    h = curl_easy_init();
    if (h == NULL) {
        abort();
    }
    url = it_fmt("%s%s", s->base_url, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &bb);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hb);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);

    for (hp = headers; hp != NULL && *hp != NULL; hp++) {
        list = curl_slist_append(list, *hp);
    }
    if (bearer != NULL) {
        auth = it_fmt("Authorization: Bearer %s", bearer);
        list = curl_slist_append(list, auth);
    }
    if (!has_header(headers, "Accept", NULL)) {
        list = curl_slist_append(list, "Accept:"); /* no default Accept: */
    }
    if (body != NULL) {
        if (!has_header(headers, "Content-Type", NULL)) {
            list = curl_slist_append(list, "Content-Type:"); /* no form content type */
        }
        if (!has_header(headers, "Expect", NULL)) {
            list = curl_slist_append(list, "Expect:");
        }
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        if (has_header(headers, "Transfer-Encoding", "chunked")) {
            curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(h, CURLOPT_READDATA, &up);
        } else {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        }
        if (strcmp(method, "POST") != 0) {
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        }
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);

    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_cleanup(h);
    curl_slist_free_all(list);
    free(auth);
    free(url);

    out->body = bb.p != NULL ? bb.p : xstrdup("");
    out->len = bb.len;
    out->headers = hb.p != NULL ? hb.p : xstrdup("");
    index_headers(out);
    if (out->len > 0) {
        json_error_t jerr;

        out->json = json_loadb(out->body, out->len, JSON_REJECT_DUPLICATES, &jerr);
    }
    record_response(method, path, out);
    if (rc != CURLE_OK) {
        fprintf(stderr, "itlib: %s %s: %s%s\n", method, path,
                errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc),
                out->status != 0 ? " (after a response arrived)" : "");
        return out->status != 0 ? 0 : -1;
    }
    return 0;
}

int
it_request(struct it_server *s,
           const char *method,
           const char *path,
           const char *bearer,
           const char *const *headers,
           const char *body,
           struct it_resp *out)
{
    return it_request_n(s, method, path, bearer, headers, body, body != NULL ? strlen(body) : 0,
                        out);
}

int
it_get(struct it_server *s, const char *path, const char *bearer, struct it_resp *out)
{
    return it_request(s, "GET", path, bearer, NULL, NULL, out);
}

/* A bodiless request to the path that fmt and ap make. */
static int
requestv(struct it_server *s,
         const char *method,
         const char *bearer,
         struct it_resp *out,
         const char *fmt,
         va_list ap)
{
    char *path = vfmt(fmt, ap);
    int rc = it_request(s, method, path, bearer, NULL, NULL, out);

    free(path);
    return rc;
}

int
it_getf(struct it_server *s, const char *bearer, struct it_resp *out, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = requestv(s, "GET", bearer, out, fmt, ap);
    va_end(ap);
    return rc;
}

int
it_deletef(struct it_server *s, const char *bearer, struct it_resp *out, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = requestv(s, "DELETE", bearer, out, fmt, ap);
    va_end(ap);
    return rc;
}

/* A JSON request (`method` PATCH or PUT) with an optional If-Match. */
static int
send_json(struct it_req_json q, const char *path, struct it_resp *out)
{
    char *im = q.if_match != NULL ? it_fmt("If-Match: %s", q.if_match) : NULL;
    const char *const headers[] = {"Content-Type: application/json", im, NULL};
    int rc = it_request(q.s, q.method, path, q.bearer, headers, q.json, out);

    free(im);
    return rc;
}

/* send_json to the path that fmt and ap make. */
static int
send_jsonv(struct it_req_json q, struct it_resp *out, const char *fmt, va_list ap)
{
    char *path = vfmt(fmt, ap);
    int rc = send_json(q, path, out);

    free(path);
    return rc;
}

int
it_patchf(struct it_server *s,
          const char *bearer,
          const char *if_match,
          const char *json,
          struct it_resp *out,
          const char *fmt,
          ...)
{
    struct it_req_json q = {s, "PATCH", bearer, if_match, json};
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = send_jsonv(q, out, fmt, ap);
    va_end(ap);
    return rc;
}

int
it_postf(struct it_server *s,
         const char *bearer,
         const char *json,
         struct it_resp *out,
         const char *fmt,
         ...)
{
    struct it_req_json q = {s, "POST", bearer, NULL, json};
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = send_jsonv(q, out, fmt, ap);
    va_end(ap);
    return rc;
}

int
it_putf(struct it_server *s,
        const char *bearer,
        const char *if_match,
        const char *json,
        struct it_resp *out,
        const char *fmt,
        ...)
{
    struct it_req_json q = {s, "PUT", bearer, if_match, json};
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = send_jsonv(q, out, fmt, ap);
    va_end(ap);
    return rc;
}

int
it_get_csv(struct it_server *s, const char *path, const char *bearer, struct it_resp *out)
{
    const char *const headers[] = {"Accept: text/csv", NULL};

    return it_request(s, "GET", path, bearer, headers, NULL, out);
}

int
it_delete(struct it_server *s, const char *path, const char *bearer, struct it_resp *out)
{
    return it_request(s, "DELETE", path, bearer, NULL, NULL, out);
}

int
it_post_json(struct it_server *s,
             const char *path,
             const char *bearer,
             const char *json,
             struct it_resp *out)
{
    const char *const headers[] = {"Content-Type: application/json", NULL};

    return it_request(s, "POST", path, bearer, headers, json, out);
}

int
it_patch_json(struct it_server *s,
              const char *path,
              const char *bearer,
              const char *if_match,
              const char *json,
              struct it_resp *out)
{
    struct it_req_json q = {s, "PATCH", bearer, if_match, json};

    return send_json(q, path, out);
}

int
it_raw_n(struct it_server *s,
         const void *raw,
         size_t rawlen,
         int half_close,
         int timeout_ms,
         char *out,
         size_t outlen)
{
    return it_raw_ends(s, raw, rawlen, half_close, timeout_ms, out, outlen, NULL, NULL);
}

int
it_raw_ends(struct it_server *s,
            const void *raw,
            size_t rawlen,
            int half_close,
            int timeout_ms,
            char *out,
            size_t outlen,
            size_t *sent_out,
            int *reset)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    size_t sent = 0, got = 0;
    double deadline = now_s() + timeout_ms / 1000.0;

    if (outlen > 0) {
        out[0] = '\0';
    }
    if (reset != NULL) {
        *reset = 0;
    }
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)s->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        fprintf(stderr, "itlib: it_raw: connect to port %d: %s\n", s->port, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    while (sent < rawlen) {
        ssize_t n = send(fd, (const char *)raw + sent, rawlen - sent, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n < 0 && reset != NULL && (errno == EPIPE || errno == ECONNRESET)) {
                *reset = 1;
            }
            break; /* the server may have answered and closed already: read what it sent */
        }
        sent += (size_t)n;
    }
    if (half_close) {
        shutdown(fd, SHUT_WR);
    }
    while (outlen > 0 && got + 1 < outlen) {
        struct pollfd p = {fd, POLLIN, 0};
        int left = (int)((deadline - now_s()) * 1000), pr;
        ssize_t n;

        if (left <= 0) {
            break;
        }
        pr = poll(&p, 1, left);
        if (pr < 0 && errno == EINTR) {
            continue;
        }
        if (pr <= 0) {
            break;
        }
        n = recv(fd, out + got, outlen - 1 - got, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n < 0 && reset != NULL && errno == ECONNRESET) {
                *reset = 1;
            }
            break;
        }
        got += (size_t)n;
    }
    if (sent_out != NULL) {
        *sent_out = sent;
    }
    if (outlen > 0) {
        out[got] = '\0';
    }
    close(fd);
    return (int)got;
}

int
it_raw(struct it_server *s, const char *raw_request, char *out, size_t outlen)
{
    return it_raw_n(s, raw_request, strlen(raw_request), 1, 10000, out, outlen);
}

/* ---- Signing in ------------------------------------------------------------------------------ */

char *
it_login_tokens(struct it_server *s, const char *email, const char *password, char **refresh)
{
    json_t *in = json_pack("{s:s, s:s}", "email", email, "password", password);
    char *body = json_dumps(in, JSON_COMPACT);
    struct it_resp r;
    const char *access, *rt;
    char *token;

    json_decref(in);
    if (body == NULL) {
        FAIL("itlib: it_login: cannot encode the credentials as JSON");
    }
    it_post_json(s, "/v1/auth/token", NULL, body, &r);
    free(body);
    access = it_json_str(&r, "access_token");
    rt = it_json_str(&r, "refresh_token");
    if (r.status != 200 || access == NULL) {
        fprintf(stderr, "itlib: sign-in as %s failed:\n", email);
        it_resp_print(&r);
        it_resp_free(&r);
        FAIL("itlib: POST /v1/auth/token for %s did not give 200 with an access_token", email);
    }
    token = xstrdup(access);
    if (refresh != NULL) {
        *refresh = rt != NULL ? xstrdup(rt) : NULL;
    }
    it_resp_free(&r);
    return token;
}

char *
it_login(struct it_server *s, const char *email, const char *password)
{
    return it_login_tokens(s, email, password, NULL);
}

/* ---- Database -------------------------------------------------------------------------------- */

/* The highest $n in `sql`, skipping quoted literals, identifiers and dollar-quoted strings. */
static int
count_params(const char *sql)
{
    const char *p = sql;
    int max = 0;

    while (*p != '\0') {
        if (*p == '\'' || *p == '"') {
            char q = *p++;

            while (*p != '\0') {
                if (*p == q && p[1] == q) {
                    p += 2;
                } else if (*p == q) {
                    p++;
                    break;
                } else {
                    p++;
                }
            }
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p != '\0' && *p != '\n') {
                p++;
            }
        } else if (*p == '$' && isdigit((unsigned char)p[1])) {
            int n = atoi(p + 1);

            if (n > max) {
                max = n;
            }
            p++;
            while (isdigit((unsigned char)*p)) {
                p++;
            }
        } else if (*p == '$') {
            const char *tag_end = p + 1;

            while (isalnum((unsigned char)*tag_end) || *tag_end == '_') {
                tag_end++;
            }
            if (*tag_end == '$') {
                size_t taglen = (size_t)(tag_end - p) + 1;
                const char *close = p + taglen;

                while ((close = strchr(close, '$')) != NULL && strncmp(close, p, taglen) != 0) {
                    close++;
                }
                p = close != NULL ? close + taglen : p + strlen(p);
            } else {
                p++;
            }
        } else {
            p++;
        }
    }
    return max;
}

static PGresult *
sql_run(struct it_server *s, const char *sql, va_list ap, char *err, size_t errlen)
{
    const char *params[IT_MAX_PARAMS];
    int n = count_params(sql), i, attempt;
    PGresult *r = NULL;

    if (n > IT_MAX_PARAMS) {
        snprintf(err, errlen, "too many parameters (%d)", n);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        params[i] = va_arg(ap, const char *);
    }
    pthread_mutex_lock(&sql_lock);
    for (attempt = 0; attempt < 2; attempt++) {
        if (s->db == NULL) {
            s->db = PQconnectdb(s->conninfo);
        } else if (PQstatus(s->db) == CONNECTION_BAD) {
            PQreset(s->db);
        }
        if (PQstatus(s->db) != CONNECTION_OK) {
            snprintf(err, errlen, "cannot connect to %s: %s", s->dbname, PQerrorMessage(s->db));
            continue;
        }
        PQclear(r);
        r = PQexecParams(s->db, sql, n, NULL, params, NULL, NULL, 0);
        if (PQstatus(s->db) != CONNECTION_BAD) {
            break; /* a lost connection (PostgreSQL restarted) is retried once */
        }
    }
    if (r == NULL && err[0] == '\0') {
        snprintf(err, errlen, "%s", PQerrorMessage(s->db));
    }
    pthread_mutex_unlock(&sql_lock);
    return r;
}

PGresult *
it_sql_try(struct it_server *s, const char *sql, ...)
{
    char err[1024] = "";
    va_list ap;
    PGresult *r;

    va_start(ap, sql);
    r = sql_run(s, sql, ap, err, sizeof(err));
    va_end(ap);
    if (r == NULL) {
        fprintf(stderr, "itlib: it_sql_try: %s\n", err);
    }
    return r;
}

static PGresult *
sql_checked(const char *file, int line, struct it_server *s, const char *sql, va_list ap)
{
    char err[1024] = "";
    PGresult *r = sql_run(s, sql, ap, err, sizeof(err));
    ExecStatusType st = PQresultStatus(r);

    if (r == NULL || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
        char msg[2048];

        snprintf(msg, sizeof(msg), "%s", r != NULL ? PQresultErrorMessage(r) : err);
        PQclear(r);
        it_fail_at(file, line, "it_sql failed: %s\n  in: %s", msg, sql);
    }
    return r;
}

PGresult *
it_sql_at(const char *file, int line, struct it_server *s, const char *sql, ...)
{
    va_list ap;
    PGresult *r;

    va_start(ap, sql);
    r = sql_checked(file, line, s, sql, ap);
    va_end(ap);
    return r;
}

static long
count_v(const char *file, int line, struct it_server *s, const char *sql, va_list ap)
{
    PGresult *r = sql_checked(file, line, s, sql, ap);
    long v;
    char *end;

    if (PQntuples(r) != 1 || PQnfields(r) != 1 || PQgetisnull(r, 0, 0)) {
        int rows = PQntuples(r), cols = PQnfields(r);

        PQclear(r);
        it_fail_at(file, line,
                   "it_count: expected one non-null value, got %d rows x %d columns\n"
                   "  in: %s",
                   rows, cols, sql);
    }
    v = strtol(PQgetvalue(r, 0, 0), &end, 10);
    if (*end != '\0') {
        char val[64];

        snprintf(val, sizeof(val), "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        it_fail_at(file, line, "it_count: '%s' is not an integer\n  in: %s", val, sql);
    }
    PQclear(r);
    return v;
}

void
it_assert_row_at(
    const char *file, int line, struct it_server *s, const char *const want[], const char *sql, ...)
{
    va_list ap;
    PGresult *res;
    int i;

    va_start(ap, sql);
    res = sql_checked(file, line, s, sql, ap);
    va_end(ap);
    if (PQntuples(res) != 1) {
        int n = PQntuples(res);

        PQclear(res);
        it_fail_at(file, line, "expected one row, got %d, from: %s", n, sql);
    }
    for (i = 0; want[i] != NULL; i++) {
        if (i >= PQnfields(res) || strcmp(PQgetvalue(res, 0, i), want[i]) != 0) {
            char got[512];

            snprintf(got, sizeof(got), "%s", i < PQnfields(res) ? PQgetvalue(res, 0, i) : "(none)");
            PQclear(res);
            it_fail_at(file, line, "column %d is '%s', want '%s', in: %s", i, got, want[i], sql);
        }
    }
    PQclear(res);
}

PGresult *
it_sql_rows_at(const char *file, int line, struct it_server *s, int rows, const char *sql, ...)
{
    va_list ap;
    PGresult *res;

    va_start(ap, sql);
    res = sql_checked(file, line, s, sql, ap);
    va_end(ap);
    if (PQntuples(res) != rows) {
        int n = PQntuples(res);

        PQclear(res);
        it_fail_at(file, line, "expected %d rows, got %d, from: %s", rows, n, sql);
    }
    return res;
}

void
it_assert_cells_at(
    const char *file, int line, const PGresult *res, int row, const char *const want[])
{
    int i;

    for (i = 0; want[i] != NULL; i++) {
        const char *got =
            row < PQntuples(res) && i < PQnfields(res) ? PQgetvalue(res, row, i) : "(none)";

        if (strcmp(got, want[i]) != 0) {
            it_fail_at(file, line, "row %d column %d is '%s', want '%s'", row, i, got, want[i]);
        }
    }
}

char *
it_sql_text_at(const char *file, int line, struct it_server *s, const char *sql, ...)
{
    va_list ap;
    PGresult *res;
    char *v;

    va_start(ap, sql);
    res = sql_checked(file, line, s, sql, ap);
    va_end(ap);
    if (PQntuples(res) != 1) {
        PQclear(res);
        it_fail_at(file, line, "expected one row from: %s", sql);
    }
    v = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

long
it_count_at(const char *file, int line, struct it_server *s, const char *sql, ...)
{
    va_list ap;
    long v;

    va_start(ap, sql);
    v = count_v(file, line, s, sql, ap);
    va_end(ap);
    return v;
}

long
it_outbox_events_at(
    const char *file, int line, struct it_server *s, const char *sub, const char *event)
{
    return it_count_at(file, line, s,
                       "SELECT count(*) FROM webhook_outbox WHERE subscription_id = $1::uuid"
                       " AND ($2::text IS NULL OR event = $2)",
                       sub, event);
}

long
it_wait_count_at(const char *file,
                 int line,
                 struct it_server *s,
                 long want,
                 int timeout_ms,
                 const char *sql,
                 ...)
{
    va_list ap, again;
    long v;
    int waited = 0;

    va_start(ap, sql);
    for (;;) {
        va_copy(again, ap);
        v = count_v(file, line, s, sql, again);
        va_end(again);
        if (v == want || waited >= timeout_ms) {
            break;
        }
        it_sleep_ms(20);
        waited += 20;
    }
    va_end(ap);
    return v;
}

/* ---- Assertions ------------------------------------------------------------------------------ */

void
it_resp_print(const struct it_resp *r)
{
    fprintf(stderr, "---- response: status %ld ----\n%s%.*s%s---- end of response ----\n",
            r->status, r->headers != NULL ? r->headers : "", (int)(r->len > 8192 ? 8192 : r->len),
            r->body != NULL ? r->body : "", r->len > 8192 ? "\n[... body truncated]\n" : "\n");
}

void
it_assert_status_at(const struct it_resp *r, long status, const char *file, int line)
{
    if (r->status != status) {
        it_resp_print(r);
        it_fail_at(file, line, "expected HTTP status %ld, got %ld", status, r->status);
    }
}

void
it_assert_problem_at(const struct it_resp *r, long status, const char *file, int line)
{
    const char *ct = it_header(r, "Content-Type");
    const json_t *j = r->json;
    const char *why = NULL;

    if (r->status != status) {
        why = "wrong status";
    } else if (ct == NULL || strncasecmp(ct, "application/problem+json", 24) != 0) {
        why = "Content-Type is not application/problem+json";
    } else if (!json_is_object(j)) {
        why = "body is not a JSON object";
    } else if (!json_is_string(json_object_get(j, "type"))) {
        why = "no string \"type\"";
    } else if (!json_is_string(json_object_get(j, "title"))) {
        why = "no string \"title\"";
    } else if (!json_is_string(json_object_get(j, "detail"))) {
        why = "no string \"detail\"";
    } else if (!json_is_integer(json_object_get(j, "status"))
               || json_integer_value(json_object_get(j, "status")) != status) {
        why = "\"status\" is missing or differs from the HTTP status";
    }
    if (why != NULL) {
        it_resp_print(r);
        it_fail_at(file, line, "expected a %ld problem+json: %s (got HTTP %ld)", status, why,
                   r->status);
    }
}

void
it_assert_header_at(
    const struct it_resp *r, const char *name, const char *needle, const char *file, int line)
{
    const char *v = it_header(r, name);

    if (v == NULL || (needle != NULL && strstr(v, needle) == NULL)) {
        it_resp_print(r);
        it_fail_at(file, line, "expected header %s%s%s%s", name,
                   needle != NULL ? " containing '" : "", needle != NULL ? needle : "",
                   needle != NULL ? "'" : "");
    }
}

void
it_expect_at(const char *file,
             int line,
             struct it_server *s,
             const char *method,
             const char *path,
             const char *bearer,
             const char *if_match,
             const char *json,
             long status)
{
    struct it_resp r;

    if (strcmp(method, "GET") == 0) {
        it_get(s, path, bearer, &r);
    } else if (strcmp(method, "DELETE") == 0) {
        it_delete(s, path, bearer, &r);
    } else if (strcmp(method, "POST") == 0) {
        it_post_json(s, path, bearer, json, &r);
    } else if (strcmp(method, "PATCH") == 0) {
        it_patch_json(s, path, bearer, if_match, json, &r);
    } else if (strcmp(method, "PUT") == 0) {
        it_putf(s, bearer, if_match, json, &r, "%s", path);
    } else {
        it_fail_at(file, line, "it_expect: no method %s", method);
    }
    it_assert_answer_at(&r, status, file, line);
    it_resp_free(&r);
}

void
it_assert_answer_at(const struct it_resp *r, long status, const char *file, int line)
{
    if (status >= 400) {
        it_assert_problem_at(r, status, file, line);
    } else {
        it_assert_status_at(r, status, file, line);
    }
}

size_t
it_items_count_at(
    const char *file, int line, struct it_server *s, const char *bearer, const char *path)
{
    struct it_resp r;
    size_t n;

    it_get(s, path, bearer, &r);
    it_assert_status_at(&r, 200, file, line);
    if (!json_is_array(json_object_get(r.json, "items"))) {
        it_resp_print(&r);
        it_fail_at(file, line, "GET %s: no items array", path);
    }
    n = json_array_size(json_object_get(r.json, "items"));
    it_resp_free(&r);
    return n;
}

void
it_expect_gets(struct it_server *s, const char *bearer, long status, const char *prefix, ...)
{
    const char *q;
    struct it_resp r;
    va_list ap;

    va_start(ap, prefix);
    while ((q = va_arg(ap, const char *)) != NULL) {
        char *path = it_fmt("%s%s", prefix, q);

        it_get(s, path, bearer, &r);
        if (r.status != status) {
            fprintf(stderr, "GET %s: %ld, expected %ld\n", path, r.status, status);
        }
        it_assert_answer(&r, status);
        it_resp_free(&r);
        free(path);
    }
    va_end(ap);
}

void
it_assert_strs_at(const struct it_resp *r, const char *const want[], const char *file, int line)
{
    size_t i;

    for (i = 0; want[i] != NULL; i += 2) {
        const char *got;

        if (want[i + 1] == NULL) {
            it_fail_at(file, line, "it_assert_strs: no value for %s", want[i]);
        }
        got = it_json_str(r, want[i]);
        if (got == NULL || strcmp(got, want[i + 1]) != 0) {
            it_resp_print(r);
            it_fail_at(file, line, "%s is \"%s\", want \"%s\"", want[i],
                       got != NULL ? got : "(none)", want[i + 1]);
        }
    }
}

void
it_assert_absent(const char *text, ...)
{
    va_list ap;
    const char *needle;

    va_start(ap, text);
    while ((needle = va_arg(ap, const char *)) != NULL) {
        if (strstr(text, needle) != NULL) {
            va_end(ap);
            fail_msg("'%s' appears where it must not", needle);
        }
    }
    va_end(ap);
}

void
it_renew_etag(const struct it_resp *r, char **etag)
{
    assert_non_null(it_header(r, "ETag"));
    free(*etag);
    *etag = strdup(it_header(r, "ETag"));
}

void
it_assert_contains_at(const char *text, const char *needle, const char *file, int line)
{
    if (text == NULL || strstr(text, needle) == NULL) {
        fprintf(stderr, "---- text ----\n%s\n---- end ----\n", text != NULL ? text : "(null)");
        fprintf(stderr, "%s:%d: expected '%s' in the text above\n", file, line, needle);
        _fail(file, line);
    }
}

/* ---- Shared fixtures and readers ----------------------------------------------------------- */

const char *
it_jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

int
it_json_has(json_t *a, const char *key, const char *value)
{
    json_t *e;
    size_t i;

    json_array_foreach(a, i, e)
    {
        const char *v = key != NULL ? it_jstr(e, key) : json_string_value(e);

        if (v != NULL && strcmp(v, value) == 0) {
            return 1;
        }
    }
    return 0;
}

int
it_names_field(const struct it_resp *r, const char *field)
{
    return it_json_has(json_object_get(r->json, "errors"), "field", field);
}

/* The two dates of it_make_run, s and e, from text parameters $3 and $4: a date, or days from
 * registry_today(). */
#define RUN_DAYS                                                                                   \
    "WITH d AS (SELECT CASE WHEN $3::text ~ '^[-+]?[0-9]+$' THEN registry_today() + $3::int"       \
    " ELSE $3::date END AS s, CASE WHEN $4::text ~ '^[-+]?[0-9]+$'"                                \
    " THEN registry_today() + $4::int ELSE $4::date END AS e)"

char *
it_make_run(struct it_server *s, struct it_run run)
{
    char *sql =
        it_fmt(RUN_DAYS " INSERT INTO programme_run (organisation_id, location_id, variant,"
                        " starts_on, ends_on, capacity_families, status, families_started,"
                        " families_completed, adults, children%s) SELECT $1::uuid, $2::uuid,"
                        " 'standard', coalesce(s, e - 70, registry_today() - 30),"
                        " coalesce(e, s + 70, registry_today() + 40), coalesce($5::int, 8),"
                        " coalesce($6, 'planned'), $7::int, $8::int, $9::int, $10::int%s"
                        " FROM d RETURNING id::text",
               run.cols != NULL ? run.cols : "", run.vals != NULL ? run.vals : "");
    char *id = it_sql_text(s, sql, run.org, run.loc, run.starts, run.ends, run.capacity, run.status,
                           run.started, run.completed, run.adults, run.children);

    free(sql);
    return id;
}

char *
it_licensee(struct it_server *s,
            const char *hash,
            const char *password,
            const char *email,
            const char *role,
            const char *org)
{
    PQclear(it_sql(s,
                   "INSERT INTO app_user (email, password_hash, role, organisation_id)"
                   " VALUES ($1, $2, $3, $4::uuid)",
                   email, hash, role, org));
    return it_login(s, email, password);
}

void
it_assert_field_errors(const struct it_resp *r, const char *const fields[])
{
    size_t i;

    for (i = 0; fields[i] != NULL; i++) {
        it_assert_field_error(r, fields[i]);
    }
}

void
it_assert_field_error_with(const struct it_resp *r, const char *field, const char *needle)
{
    json_t *errors, *e;
    size_t i;
    int named = 0;

    it_assert_problem(r, 422);
    errors = json_object_get(r->json, "errors");
    if (!json_is_array(errors) || json_array_size(errors) == 0) {
        it_resp_print(r);
        fail_msg("422 without a non-empty errors array");
    }
    json_array_foreach(errors, i, e)
    {
        const char *detail = it_jstr(e, "detail");

        if (detail == NULL) {
            it_resp_print(r);
            fail_msg("errors[%zu] has no string detail", i);
        }
        if (it_jstr(e, "field") != NULL && strcmp(it_jstr(e, "field"), field) == 0
            && (needle == NULL || strstr(detail, needle) != NULL)) {
            named = 1;
        }
    }
    if (!named) {
        it_resp_print(r);
        fail_msg("errors does not name the field '%s' (with '%s')", field,
                 needle != NULL ? needle : "");
    }
}

void
it_assert_field_error(const struct it_resp *r, const char *field)
{
    it_assert_field_error_with(r, field, NULL);
}

void
it_field_errors(struct it_server *s,
                const char *method,
                const char *path,
                const char *bearer,
                const char *if_match,
                const struct it_field_case *cases,
                size_t n)
{
    struct it_resp r;
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(method, "PATCH") == 0) {
            it_patch_json(s, path, bearer, if_match, cases[i].body, &r);
        } else {
            it_post_json(s, path, bearer, cases[i].body, &r);
        }
        it_assert_field_error(&r, cases[i].field);
        it_resp_free(&r);
    }
}

char *
it_admin(struct it_server *s,
         const char *email,
         const char *password,
         char *id,
         size_t idlen,
         char *hash,
         size_t hashlen)
{
    assert_int_equal(it_create_admin(s, email, password), 0);
    if (id != NULL) {
        PGresult *res = it_sql(s, "SELECT id::text FROM app_user WHERE email = $1", email);

        assert_int_equal(PQntuples(res), 1);
        snprintf(id, idlen, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    if (hash != NULL) {
        assert_int_equal(password_hash(password, hash, hashlen), 0);
    }
    return it_login(s, email, password);
}

char *
it_b64url_encode(const void *bytes, size_t len)
{
    char *out = malloc(len * 4 / 3 + 4);

    assert_non_null(out);
    codec_b64url_encode(bytes, len, out);
    return out;
}

unsigned char *
it_b64url_decode(const char *in, size_t len, size_t *outlen)
{
    unsigned char *out = malloc(len + 1);
    long n;

    assert_non_null(out);
    n = codec_b64url_decode(in, len, out);
    if (n < 0) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    *outlen = (size_t)n;
    return out;
}

_Static_assert(sizeof(((struct it_fx *)0)->hash) == PASSWORD_HASH_MAX, "IT_FX_HEAD hash size");

void *
it_fx_start(size_t size,
            const char *name,
            const char *const env[],
            const char *email,
            const char *password,
            int flags)
{
    struct it_fx *f = calloc(1, size);

    assert_non_null(f);
    assert_true(size >= sizeof(*f));
    f->s = it_start_env(name, env);
    f->password = password;
    f->admin =
        it_admin(f->s, email, password, (flags & IT_FX_ID) ? f->admin_id : NULL,
                 sizeof(f->admin_id), (flags & IT_FX_HASH) ? f->hash : NULL, sizeof(f->hash));
    return f;
}

void *
it_fx_own(void *fx, void *p)
{
    struct it_fx *f = fx;

    assert_true(f->n_owned < sizeof(f->owned) / sizeof(f->owned[0]));
    f->owned[f->n_owned++] = p;
    return p;
}

int
it_fx_teardown(void **state)
{
    struct it_fx *f = *state;

    if (f == NULL) { /* the group setup failed before it had a fixture */
        return 0;
    }
    it_stop(f->s);
    free(f->admin);
    for (size_t i = 0; i < f->n_owned; i++) {
        free(f->owned[i]);
    }
    free(f);
    *state = NULL;
    return 0;
}

char *
it_post_created(
    struct it_server *s, const char *token, const char *body, char **etag, const char *fmt, ...)
{
    struct it_resp r;
    char *path, *id;
    va_list ap;

    va_start(ap, fmt);
    path = vfmt(fmt, ap);
    va_end(ap);
    it_post_json(s, path, token, body, &r);
    it_assert_status(&r, 201);
    assert_non_null(it_json_str(&r, "id"));
    id = strdup(it_json_str(&r, "id"));
    if (etag != NULL) {
        assert_non_null(it_header(&r, "ETag"));
        *etag = strdup(it_header(&r, "ETag"));
    }
    it_resp_free(&r);
    free(path);
    return id;
}

char *
it_user_login(struct it_server *s, const char *token, const char *body)
{
    json_t *in = json_loads(body, 0, NULL);
    char *access;

    assert_non_null(in);
    free(it_post_created(s, token, body, NULL, "/v1/users"));
    access = it_login(s, it_jstr(in, "email"), it_jstr(in, "password"));
    json_decref(in);
    return access;
}

void
it_made_free(struct it_made *m)
{
    free(m->id);
    free(m->etag);
    memset(m, 0, sizeof(*m));
}

void
it_fac_free(struct it_fac *p)
{
    free(p->id);
    free(p->number);
    free(p->etag);
    memset(p, 0, sizeof(*p));
}

struct it_fac
it_create_fac(struct it_server *s, const char *token, const char *body)
{
    struct it_resp r;
    struct it_fac p;

    it_post_json(s, "/v1/facilitators", token, body, &r);
    it_assert_status(&r, 201);
    assert_non_null(it_json_str(&r, "id"));
    assert_non_null(it_json_str(&r, "registration_number"));
    assert_non_null(it_header(&r, "ETag"));
    p.id = strdup(it_json_str(&r, "id"));
    p.number = strdup(it_json_str(&r, "registration_number"));
    p.etag = strdup(it_header(&r, "ETag"));
    it_resp_free(&r);
    return p;
}

char *
it_issue_licence(struct it_server *s,
                 const char *token,
                 const char *org,
                 const char *from,
                 const char *until,
                 const char *reason,
                 ...)
{
    char *body = it_fmt("{\"valid_from\": \"%s\", \"valid_until\": \"%s\"}", from, until);
    char *etag, *id = it_post_created(s, token, body, &etag, "/v1/organisations/%s/licences", org);
    const char *status;
    struct it_resp r;
    va_list ap;

    free(body);
    va_start(ap, reason);
    while ((status = va_arg(ap, const char *)) != NULL) {
        body = it_fmt("{\"status\": \"%s\", \"reason\": \"%s\"}", status, reason);
        it_patchf(s, token, etag, body, &r, "/v1/licences/%s", id);
        it_assert_status(&r, 200);
        free(etag);
        etag = strdup(it_header(&r, "ETag"));
        it_resp_free(&r);
        free(body);
    }
    va_end(ap);
    free(etag);
    return id;
}

char *
it_create_org_json(struct it_server *s, const char *token, const char *json, char **etag)
{
    return it_post_created(s, token, json, etag, "/v1/organisations");
}

char *
it_create_org(struct it_server *s,
              const char *token,
              const char *kind,
              char **etag,
              const char *name_fmt,
              ...)
{
    va_list ap;
    char *name, *text, *id;
    json_t *body;

    va_start(ap, name_fmt);
    name = vfmt(name_fmt, ap);
    va_end(ap);
    body = json_pack("{s:s, s:s, s:[s], s:s, s:s}", "name", name, "kind",
                     kind != NULL ? kind : "charity", "address_lines", "1 Dock Road", "town",
                     "Chatham", "postcode", "ME4 4AB");
    assert_non_null(body);
    text = json_dumps(body, JSON_COMPACT);
    assert_non_null(text);
    id = it_create_org_json(s, token, text, etag);
    free(text);
    json_decref(body);
    free(name);
    return id;
}

char *
it_etag_of(struct it_server *s, const char *bearer, const char *fmt, ...)
{
    struct it_resp r;
    va_list ap;
    char *path, *etag;

    va_start(ap, fmt);
    path = vfmt(fmt, ap);
    va_end(ap);
    it_get(s, path, bearer, &r);
    it_assert_status(&r, 200);
    assert_non_null(it_header(&r, "ETag"));
    etag = strdup(it_header(&r, "ETag"));
    it_resp_free(&r);
    free(path);
    return etag;
}

json_t *
it_csv_parse(const char *text)
{
    json_t *rows = json_array(), *row = json_array();
    size_t cap = 256, len = 0;
    char *field = malloc(cap);
    const char *p = text;
    int quoted = 0, any = 0;

    assert_non_null(field);
    while (*p != '\0') {
        char ch = *p++;
        if (quoted) {
            if (ch == '"' && *p == '"') {
                p++;
            } else if (ch == '"') {
                quoted = 0;
                continue;
            }
        } else if (ch == '"') {
            quoted = 1;
            any = 1;
            continue;
        } else if (ch == ',' || ch == '\r' || ch == '\n') {
            if (ch == '\r') {
                if (*p != '\n') {
                    fail_msg("CR without LF in CSV");
                }
                p++;
            }
            field[len] = '\0';
            json_array_append_new(row, json_string(field));
            len = 0;
            any = 0;
            if (ch != ',') {
                json_array_append_new(rows, row);
                row = json_array();
            }
            continue;
        }
        if (len + 2 > cap) {
            cap *= 2;
            field = realloc(field, cap);
            assert_non_null(field);
        }
        field[len++] = ch;
        any = 1;
    }
    if (quoted) {
        fail_msg("unterminated quote in CSV");
    }
    if (any || len > 0 || json_array_size(row) > 0) {
        field[len] = '\0';
        json_array_append_new(row, json_string(field));
        json_array_append_new(rows, row);
    } else {
        json_decref(row);
    }
    free(field);
    return rows;
}

json_t *
it_csv_answer(const struct it_resp *r)
{
    it_assert_status(r, 200);
    it_assert_header(r, "Content-Type", "text/csv");
    return it_csv_parse(r->body);
}

size_t
it_csv_col(json_t *rows, const char *name)
{
    json_t *header = json_array_get(rows, 0), *v;
    size_t i;

    json_array_foreach(header, i, v)
    {
        if (strcmp(json_string_value(v), name) == 0) {
            return i;
        }
    }
    fail_msg("CSV has no column %s", name);
    return 0;
}

const char *
it_csv_cell(json_t *rows, size_t row, size_t col)
{
    return json_string_value(json_array_get(json_array_get(rows, row), col));
}

/* ---- Races --------------------------------------------------------------------------------- */

static void *
race_run(void *arg)
{
    struct it_race_req *q = arg;
    struct it_resp r;

    pthread_barrier_wait(q->start);
    if (strcmp(q->method, "PATCH") == 0) {
        it_patch_json(q->s, q->path, q->bearer, q->if_match, q->body, &r);
    } else {
        it_post_json(q->s, q->path, q->bearer, q->body, &r);
    }
    q->status = r.status;
    it_resp_free(&r);
    return NULL;
}

void
it_race_start(struct it_race *x,
              struct it_server *s,
              const char *method,
              const char *path,
              const char *bearer,
              const char *if_match,
              const char *body0,
              const char *body1)
{
    int i;

    memset(x, 0, sizeof(*x));
    pthread_barrier_init(&x->start, NULL, 2);
    for (i = 0; i < 2; i++) {
        x->req[i] = (struct it_race_req){
            s, method, path, bearer, if_match, i == 0 ? body0 : body1, &x->start, 0};
    }
    for (i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&x->t[i], NULL, race_run, &x->req[i]), 0);
    }
}

void
it_race_join(struct it_race *x)
{
    int i;

    for (i = 0; i < 2; i++) {
        pthread_join(x->t[i], NULL);
        x->status[i] = x->req[i].status;
    }
    pthread_barrier_destroy(&x->start);
}

void
it_race_patch_round(struct it_race *x,
                    struct it_server *s,
                    int round,
                    const char *table,
                    const char *id,
                    const char *path,
                    const char *bearer,
                    const char *etag,
                    const char *body0,
                    const char *body1)
{
    char *lock = it_fmt("SELECT 1 FROM %s WHERE id = $1::uuid FOR UPDATE", table);
    char *what = it_fmt("the two PATCHes never waited for the %s lock", table);
    int i, ok = 0, stale = 0;

    if (round % 2 == 0) {
        PQclear(it_sql(s, "BEGIN"));
        PQclear(it_sql(s, lock, id));
    }
    it_race_start(x, s, "PATCH", path, bearer, etag, body0, body1);
    if (round % 2 == 0) {
        it_wait_lock_waiters(s, 2, what);
        PQclear(it_sql(s, "COMMIT"));
    }
    it_race_join(x);
    free(what);
    free(lock);
    for (i = 0; i < 2; i++) {
        ok += x->status[i] == 200;
        stale += x->status[i] == 412;
    }
    if (ok != 1 || stale != 1) {
        fail_msg("round %d: got %ld and %ld, want one 200 and one 412", round, x->status[0],
                 x->status[1]);
    }
}

void
it_wait_lock_waiters(struct it_server *s, long n, const char *what)
{
    int i;

    for (i = 0; i < 1000; i++) {
        if (it_count(s, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
            >= n) {
            return;
        }
        it_sleep_ms(10);
    }
    fail_msg("%s", what);
}

const char *
it_day(struct it_server *s, int days, char *buf, size_t len)
{
    char *n = it_fmt("%d", days);
    PGresult *res = it_sql(s, "SELECT (registry_today() + $1::int)::text", n);

    snprintf(buf, len, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    free(n);
    return buf;
}

json_t *
it_find_rule(const struct it_resp *r, const char *rule)
{
    json_t *e;
    size_t i;

    json_array_foreach(json_object_get(r->json, "errors"), i, e)
    {
        if (it_jstr(e, "rule") != NULL && strcmp(it_jstr(e, "rule"), rule) == 0) {
            return e;
        }
    }
    return NULL;
}

void
it_assert_only_rule(const struct it_resp *r, const char *field, const char *rule)
{
    json_t *e;

    it_assert_problem(r, 422);
    e = it_find_rule(r, rule);
    if (json_array_size(json_object_get(r->json, "errors")) != 1 || e == NULL) {
        it_resp_print(r);
        fail_msg("expected only the rule %s on %s", rule, field);
    }
    assert_string_equal(it_jstr(e, "field"), field);
    assert_non_null(it_jstr(e, "detail"));
}

size_t
it_assert_items_all(const struct it_resp *r, const char *key, const char *value)
{
    json_t *items = json_object_get(r->json, "items"), *item;
    size_t i;

    assert_true(json_is_array(items));
    json_array_foreach(items, i, item)
    {
        assert_string_equal(it_jstr(item, key), value);
    }
    return json_array_size(items);
}

int
it_run(struct it_server *s, const char *const args[], char **out)
{
    int rc = it_exec(s, 0, args, NULL, NULL, 120, out);

    it_assert_clean_output(*out);
    return rc;
}

char *
it_basic_auth(const char *id, const char *secret)
{
    char *plain = it_fmt("%s:%s", id, secret), *h;
    size_t n = strlen(plain);
    unsigned char *b64 = malloc(4 * ((n + 2) / 3) + 1);

    assert_non_null(b64);
    EVP_EncodeBlock(b64, (const unsigned char *)plain, (int)n);
    h = it_fmt("Authorization: Basic %s", (char *)b64);
    free(b64);
    free(plain);
    return h;
}

char *
it_client_token(struct it_server *s, const char *bearer, const char *scopes)
{
    static int n;
    const char *headers[3] = {"Content-Type: application/x-www-form-urlencoded", NULL, NULL};
    char *auth, *token,
        *body = it_fmt("{\"name\": \"Test client %d\", \"scopes\": %s}", ++n, scopes);
    struct it_resp r;

    it_post_json(s, "/v1/clients", bearer, body, &r);
    free(body);
    it_assert_status(&r, 201);
    auth = it_basic_auth(it_json_str(&r, "client_id"), it_json_str(&r, "client_secret"));
    it_resp_free(&r);
    headers[1] = auth;
    it_request(s, "POST", "/v1/auth/token", NULL, headers, "grant_type=client_credentials", &r);
    it_assert_status(&r, 200);
    token = strdup(it_json_str(&r, "access_token"));
    it_resp_free(&r);
    free(auth);
    return token;
}

json_t *
it_all_pages(struct it_server *s,
             const char *bearer,
             const char *path,
             size_t per_page,
             int max_pages,
             int *pages)
{
    json_t *all = json_array(), *nc;
    char *cursor = NULL, *page;
    struct it_resp r;
    int n = 0;

    do {
        page = cursor == NULL ? strdup(path) : it_fmt("%s&cursor=%s", path, cursor);
        it_get(s, page, bearer, &r);
        it_assert_status(&r, 200);
        assert_true(json_is_array(json_object_get(r.json, "items")));
        assert_true(json_array_size(json_object_get(r.json, "items")) <= per_page);
        json_array_extend(all, json_object_get(r.json, "items"));
        nc = json_object_get(r.json, "next_cursor");
        assert_true(json_is_null(nc) || json_is_string(nc));
        free(cursor);
        cursor = json_is_string(nc) ? strdup(json_string_value(nc)) : NULL;
        it_resp_free(&r);
        free(page);
        n++;
    } while (cursor != NULL && n < max_pages);
    free(cursor);
    if (pages != NULL) {
        *pages = n;
    }
    return all;
}

char *
it_fx_licensee(void *fx, const char *email, const char *role, const char *org)
{
    struct it_fx *f = fx;

    assert_non_null(f->password);
    return it_licensee(f->s, f->hash, f->password, email, role, org);
}

char *
it_fx_user(void *fx, const char *email, const char *role, const char *org)
{
    return it_fx_own(fx, it_fx_licensee(fx, email, role, org));
}

char *
it_fx_member(void *fx, const char *role, const char *org)
{
    static int n;
    char *email = it_fmt("user%d@licensee.example", ++n);
    char *token = it_fx_licensee(fx, email, role, org);

    free(email);
    return token;
}
