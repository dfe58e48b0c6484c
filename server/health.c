/* health.c: liveness, readiness, and the pages problem types point to. */
#include "registry/health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/config.h"
#include "registry/db.h"
#include "registry/http.h"
#include "registry/migrate.h"
#include "registry/problem.h"

/* /readyz's budget: at most this long waiting for a pooled connection, then this long for its
 * query, so that it answers within about 1.5 s even when the database hangs. */
#define HEALTH_READY_WAIT_MS 500
#define HEALTH_READY_WORK_MS 1000

const struct db_stmt health_stmts[] = {
    {"health_migrations", "SELECT count(*) FROM schema_migrations WHERE name = ANY($1::text[])"},
    {NULL, NULL},
};

int
health_live(struct req *r)
{
    static const char body[] = "{\"status\":\"ok\"}";

    return http_send(r, 200, "application/json; charset=utf-8", body, sizeof(body) - 1);
}

int
health_ready(struct req *r)
{
    char names[4096] = "{";
    const struct migration *m;
    const char *params[1] = {names};
    PGresult *res;
    long want = 0, have;

    for (m = migrations; m->name != NULL; m++) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof(names) - used, "%s\"%s\"", want ? "," : "", m->name);
        want++;
    }
    strncat(names, "}", sizeof(names) - strlen(names) - 1);
    /* Its own budget, not a request's: a probe must say "not ready" well within its own timeout
     * when the database hangs. The router releases the connection. */
    r->db = db_acquire_within(
        config.db_wait_ms < HEALTH_READY_WAIT_MS ? config.db_wait_ms : HEALTH_READY_WAIT_MS,
        db_query_timeout() < HEALTH_READY_WORK_MS ? db_query_timeout() : HEALTH_READY_WORK_MS);
    if (r->db == NULL) {
        http_add_header(r, "Retry-After", "1");
        return problem_send(r, PROBLEM_UNAVAILABLE, "the database is busy or unreachable");
    }
    res = db_exec(r->db, "health_migrations", 1, params);
    if (!db_ok(res)) {
        PQclear(res);
        http_add_header(r, "Retry-After", "1");
        return problem_send(r, PROBLEM_UNAVAILABLE, "the database is unreachable");
    }
    have = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (have != want) {
        return problem_send(r, PROBLEM_UNAVAILABLE, "the database schema is not current");
    }
    return http_send_json_new(r, 200,
                              json_pack("{s:s, s:s, s:I}", "status", "ready", "database", "ok",
                                        "migrations", (json_int_t)want));
}

/* GET /problems/{slug}: the human page a problem's `type` points to. */
int
health_problem_page(struct req *r)
{
    const char *slug = r->params[0];
    char path[1024];
    char *buf = NULL;
    FILE *f = NULL;
    long len;
    size_t i;
    int status;

    for (i = 0; slug[i] != '\0'; i++) {
        if (!((slug[i] >= 'a' && slug[i] <= 'z') || slug[i] == '-')) {
            return problem_send(r, PROBLEM_NOT_FOUND, "no such problem type");
        }
    }
    for (i = 0; i < PROBLEM_KIND_COUNT; i++) {
        if (strcmp(problem_slug((enum problem_kind)i), slug) == 0) {
            break;
        }
    }
    if (i == PROBLEM_KIND_COUNT) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no such problem type");
    }
    snprintf(path, sizeof(path), "%s/problems/%s.html", config.static_dir, slug);
    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || len > 65536
        || fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)len + 1)) == NULL
        || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        /* No page on disk: say what the title says, in plain text. */
        char text[256];
        int n = snprintf(text, sizeof(text), "%s\n", problem_title((enum problem_kind)i));
        status = http_send(r, 200, "text/plain; charset=utf-8", text, (size_t)n);
    } else {
        status = http_send(r, 200, "text/html; charset=utf-8", buf, (size_t)len);
    }
    if (f != NULL) {
        fclose(f);
    }
    free(buf);
    return status;
}
