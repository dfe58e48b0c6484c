/* router.c: every route in one table (as redis keeps its commands), with who may call it.
 * The router authenticates, borrows a database connection, calls the handler, and logs. */
#include "registry/router.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <civetweb.h>

#include "registry/audit.h"
#include "registry/auth.h"
#include "registry/clock.h"
#include "registry/config.h"
#include "registry/db.h"
#include "registry/docs.h"
#include "registry/http.h"
#include "registry/logging.h"
#include "registry/metrics.h"
#include "registry/postcodes.h"
#include "registry/problem.h"
#include "registry/ratelimit.h"
#include "registry/resources.h"
#include "registry/static.h"
#include "registry/variants.h"

/* Only the replica-safe lines name the last member (replica_ok); the others leave it 0. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct route routes[] = {
    {"GET", "/healthz", health_live, ACCESS_PUBLIC, 0, NULL},
    {"GET", "/readyz", health_ready, ACCESS_PUBLIC, 0, NULL}, /* borrows within its own budget */
    {"GET", "/metrics", metrics_get, ACCESS_PUBLIC, 0, NULL}, /* own access check */
    {"GET", "/problems/{}", health_problem_page, ACCESS_PUBLIC, 0, NULL},
    {"GET", "/assets/{*}", static_asset, ACCESS_PUBLIC, 0, NULL},
    {"GET", "/console", pages_console, ACCESS_PUBLIC, 0, NULL},
    {"GET", "/portal", pages_portal, ACCESS_PUBLIC, 0, NULL},
    {"GET", "/docs", pages_docs, ACCESS_PUBLIC, 0, NULL},
    {"GET", "/openapi.json", docs_openapi, ACCESS_PUBLIC, 0, NULL},
    {"GET", "/.well-known/jwks.json", tokens_jwks, ACCESS_PUBLIC, 0, NULL},
    {"GET", "/", pages_home, ACCESS_OPEN, 0, NULL},
    {"GET", "/find", pages_find, ACCESS_OPEN, 1, NULL, 1},
    {"GET", "/check", pages_check, ACCESS_OPEN, 1, NULL, 1},

    {"POST", "/v1/auth/token", tokens_create, ACCESS_PUBLIC, 1, NULL},
    {"POST", "/v1/auth/refresh", tokens_refresh, ACCESS_PUBLIC, 1, NULL},
    {"POST", "/v1/auth/logout", tokens_logout, ACCESS_PUBLIC, 1, NULL},
    {"POST", "/v1/auth/revoke", tokens_revoke, ACCESS_PUBLIC, 1, NULL},

    {"POST", "/v1/clients", clients_create, ACCESS_USER, 1, NULL},
    {"GET", "/v1/clients", clients_list, ACCESS_USER, 1, NULL},
    {"DELETE", "/v1/clients/{}", clients_delete, ACCESS_USER, 1, NULL},
    {"POST", "/v1/clients/{}/secrets", clients_rotate_secret, ACCESS_USER, 1, NULL},

    {"POST", "/v1/users", users_create, ACCESS_USER, 1, NULL},
    {"GET", "/v1/users", users_list, ACCESS_USER, 1, NULL},
    {"POST", "/v1/users/me/password", users_password, ACCESS_USER, 1, NULL},
    {"GET", "/v1/users/me", users_me, ACCESS_USER, 1, NULL},
    {"GET", "/v1/users/{}", users_get, ACCESS_USER, 1, NULL},
    {"PATCH", "/v1/users/{}", users_update, ACCESS_USER, 1, NULL},

    {"POST", "/v1/organisations", organisations_create, ACCESS_ADMIN, 1, NULL},
    {"GET", "/v1/organisations", organisations_list, ACCESS_USER, 1, NULL},
    {"GET", "/v1/organisations/{}", organisations_get, ACCESS_USER, 1, NULL},
    {"PATCH", "/v1/organisations/{}", organisations_update, ACCESS_USER, 1, NULL},
    {"DELETE", "/v1/organisations/{}", organisations_delete, ACCESS_ADMIN, 1, NULL},
    {"POST", "/v1/organisations/{}/licences", licences_create, ACCESS_ADMIN, 1, NULL},
    {"GET", "/v1/organisations/{}/licences", licences_list, ACCESS_USER, 1, NULL},
    {"GET", "/v1/licences/{}", licences_get, ACCESS_USER, 1, NULL},
    {"PATCH", "/v1/licences/{}", licences_update, ACCESS_ADMIN, 1, NULL},

    {"GET", "/v1/audit", audit_list, ACCESS_ADMIN, 1, NULL},

    {"GET", "/v1/public/providers", public_providers, ACCESS_OPEN, 1, NULL, 1},
    {"GET", "/v1/public/facilitators", public_facilitators_search, ACCESS_OPEN, 1, NULL, 1},
    {"GET", "/v1/public/facilitators/{}", public_facilitators_get, ACCESS_OPEN, 1, NULL, 1},
    {"GET", "/openreferral/", openreferral_info, ACCESS_OPEN, 0, NULL, 1},
    {"GET", "/openreferral/services", openreferral_services, ACCESS_OPEN, 1, NULL, 1},
    {"GET", "/openreferral/services/{}", openreferral_service, ACCESS_OPEN, 1, NULL, 1},
    {"GET", "/openreferral/service_at_locations", openreferral_service_at_locations, ACCESS_OPEN, 1,
     NULL, 1},
    {"GET", "/openreferral/organizations", openreferral_organizations, ACCESS_OPEN, 1, NULL, 1},

    {"POST", "/v1/facilitators", facilitators_create, ACCESS_USER, 1, NULL},
    {"GET", "/v1/facilitators", facilitators_list, ACCESS_USER, 1, "facilitators:read"},
    {"POST", "/v1/facilitators/status-check", facilitators_status_check, ACCESS_USER, 1,
     "facilitators:read"},
    {"GET", "/v1/facilitators/{}", facilitators_get, ACCESS_USER, 1, "facilitators:read"},
    {"PATCH", "/v1/facilitators/{}", facilitators_update, ACCESS_USER, 1, NULL},
    {"GET", "/v1/facilitators/{}/eligibility", facilitators_eligibility, ACCESS_USER, 1,
     "facilitators:read"},
    {"POST", "/v1/facilitators/{}/employment-requests", facilitators_employment_request_create,
     ACCESS_USER, 1, NULL},
    {"GET", "/v1/facilitators/{}/employment-requests", facilitators_employment_requests_list,
     ACCESS_USER, 1, NULL},
    {"GET", "/v1/facilitators/{}/employment-requests/{}", facilitators_employment_request_get,
     ACCESS_USER, 1, NULL},
    {"PATCH", "/v1/facilitators/{}/employment-requests/{}", facilitators_employment_request_update,
     ACCESS_ADMIN, 1, NULL},

    {"POST", "/v1/courses", courses_create, ACCESS_ADMIN, 1, NULL},
    {"GET", "/v1/courses", courses_list, ACCESS_USER, 1, NULL},
    {"GET", "/v1/courses/{}", courses_get, ACCESS_USER, 1, NULL},
    {"PATCH", "/v1/courses/{}", courses_update, ACCESS_ADMIN, 1, NULL},

    {"POST", "/v1/training-sessions", training_create, ACCESS_ADMIN, 1, NULL},
    {"GET", "/v1/training-sessions", training_list, ACCESS_USER, 1, NULL},
    {"GET", "/v1/training-sessions/{}", training_get, ACCESS_USER, 1, NULL},
    {"PATCH", "/v1/training-sessions/{}", training_update, ACCESS_ADMIN, 1, NULL},
    {"POST", "/v1/training-sessions/{}/enrolments", enrolments_create, ACCESS_USER, 1, NULL},
    {"GET", "/v1/training-sessions/{}/enrolments", enrolments_list, ACCESS_USER, 1, NULL},
    {"GET", "/v1/training-sessions/{}/enrolments/{}", enrolments_get, ACCESS_USER, 1, NULL},
    {"PATCH", "/v1/training-sessions/{}/enrolments/{}", enrolments_update, ACCESS_USER, 1, NULL},
    {"POST", "/v1/training-sessions/{}/outcomes", training_outcomes, ACCESS_ADMIN, 1, NULL},

    {"POST", "/v1/locations", locations_create, ACCESS_USER, 1, "locations:write"},
    {"GET", "/v1/locations", locations_list, ACCESS_USER, 1, "locations:read"},
    {"GET", "/v1/locations/{}", locations_get, ACCESS_USER, 1, "locations:read"},
    {"PATCH", "/v1/locations/{}", locations_update, ACCESS_USER, 1, "locations:write"},
    {"DELETE", "/v1/locations/{}", locations_delete, ACCESS_USER, 1, "locations:write"},

    {"POST", "/v1/programmes", programmes_create, ACCESS_USER, 1, "programmes:write"},
    {"GET", "/v1/programmes", programmes_list, ACCESS_USER, 1, "programmes:read"},
    {"GET", "/v1/programmes/{}", programmes_get, ACCESS_USER, 1, "programmes:read"},
    {"PATCH", "/v1/programmes/{}", programmes_update, ACCESS_USER, 1, "programmes:write"},
    {"GET", "/v1/programme-variants", variants_list, ACCESS_USER, 1, "programmes:read", 1},

    {"GET", "/v1/reports/summary", reports_summary, ACCESS_ADMIN, 1, NULL, 1},
    {"GET", "/v1/reports/expiring", reports_expiring, ACCESS_ADMIN, 1, NULL, 1},

    {"POST", "/v1/webhooks", webhooks_create, ACCESS_USER, 1, NULL},
    {"GET", "/v1/webhooks", webhooks_list, ACCESS_USER, 1, NULL},
    {"GET", "/v1/webhooks/{}", webhooks_get, ACCESS_USER, 1, NULL},
    {"DELETE", "/v1/webhooks/{}", webhooks_delete, ACCESS_USER, 1, NULL},
    {"GET", "/v1/webhooks/{}/deliveries", webhooks_deliveries, ACCESS_USER, 1, NULL},
};
#pragma GCC diagnostic pop

const struct db_stmt *const router_stmt_tables[] = {
    health_stmts,
    tokens_stmts,
    users_stmts,
    organisations_stmts,
    licences_stmts,
    audit_stmts,
    facilitators_stmts,
    courses_stmts,
    training_stmts,
    locations_stmts,
    programmes_stmts,
    reports_stmts,
    public_stmts,
    openreferral_stmts,
    postcodes_stmts,
    clients_stmts,
    webhooks_stmts,
    variants_stmts,
    NULL,
};

size_t
router_routes(const struct route **out)
{
    *out = routes;
    return sizeof(routes) / sizeof(routes[0]);
}

/* Read-your-writes with a replica: who wrote lately. A signed-in caller whose change succeeded
 * within the last WRITERS_WINDOW_MS reads replica-safe routes from the primary, so they never read
 * their own change as not yet made. A small table per instance keyed by the token's subject; a
 * full probe window drops its oldest entry (that caller may then read the replica early). */
#define WRITERS_SLOTS 1024
#define WRITERS_PROBE 8

static struct {
    pthread_mutex_t mu;
    struct writer {
        char sub[40];
        long long at_ms;
    } slots[WRITERS_SLOTS];
} writers = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* How long after a write its writer reads the primary: the replica lag allowed, in whole
 * seconds rounded up. */
static long long
writers_window_ms(void)
{
    return ((long long)config.replica_max_lag_ms + 999) / 1000 * 1000;
}

static uint32_t
writers_home(const char *sub)
{
    uint32_t h = 2166136261u;

    for (; *sub != '\0'; sub++) {
        h = (h ^ (unsigned char)*sub) * 16777619u;
    }
    return h % WRITERS_SLOTS;
}

static void
writers_note(const char *sub)
{
    uint32_t home = writers_home(sub);
    struct writer *w = NULL;
    int i;

    pthread_mutex_lock(&writers.mu);
    for (i = 0; i < WRITERS_PROBE; i++) {
        struct writer *s = &writers.slots[(home + (uint32_t)i) % WRITERS_SLOTS];
        if (strcmp(s->sub, sub) == 0) {
            w = s;
            break;
        }
        if (w == NULL || s->at_ms < w->at_ms) {
            w = s;
        }
    }
    snprintf(w->sub, sizeof(w->sub), "%s", sub);
    w->at_ms = clock_mono_ms();
    pthread_mutex_unlock(&writers.mu);
}

static int
writers_recent(const char *sub)
{
    uint32_t home = writers_home(sub);
    long long since = clock_mono_ms() - writers_window_ms();
    int i, recent = 0;

    pthread_mutex_lock(&writers.mu);
    for (i = 0; i < WRITERS_PROBE; i++) {
        const struct writer *s = &writers.slots[(home + (uint32_t)i) % WRITERS_SLOTS];
        if (strcmp(s->sub, sub) == 0) {
            recent = s->at_ms >= since;
            break;
        }
    }
    pthread_mutex_unlock(&writers.mu);
    return recent;
}

/* Requests being handled now, and whether the server is stopping (see router_drain). */
static atomic_int in_flight;
static atomic_int draining;

int
router_drain(int timeout_ms)
{
    int waited = 0;
    struct timespec tick = {0, 10 * 1000 * 1000};

    atomic_store(&draining, 1);
    while (atomic_load(&in_flight) > 0 && waited < timeout_ms) {
        nanosleep(&tick, NULL);
        waited += 10;
    }
    return atomic_load(&in_flight);
}

int
router_match(const char *pattern, const char *path, char **params, int *nparams)
{
    const char *p = pattern, *s = path;

    *nparams = 0;
    while (*p != '\0' && *s != '\0') {
        if (*p != '{') {
            /* Literal text: compared byte by byte, the common case and the cheap one (this
             * runs for every route of the table until one matches). */
            if (*p != *s) {
                goto nomatch;
            }
            p++;
            s++;
            continue;
        }
        if (p[1] == '*' && p[2] == '}' && p[3] == '\0') {
            /* The rest of the path, slashes and all (a file under a folder). */
            if (*nparams == HTTP_MAX_PARAMS) {
                goto nomatch;
            }
            params[(*nparams)++] = strdup(s);
            return 1;
        }
        if (p[0] == '{' && p[1] == '}') {
            size_t n = strcspn(s, "/");
            if (n == 0 || *nparams == HTTP_MAX_PARAMS) {
                goto nomatch;
            }
            params[*nparams] = strndup(s, n);
            (*nparams)++;
            p += 2;
            s += n;
            continue;
        }
        if (*p != *s) {
            goto nomatch;
        }
        p++;
        s++;
    }
    if (*s == '\0' && strcmp(p, "{*}") == 0 && *nparams < HTTP_MAX_PARAMS) {
        params[(*nparams)++] = strdup(""); /* "/folder/" itself */
        return 1;
    }
    if (*p == '\0' && *s == '\0') {
        return 1;
    }
nomatch:
    while (*nparams > 0) {
        free(params[--*nparams]);
    }
    return 0;
}

/* Finds the route for the request. Returns it, or NULL with the Allow list filled when the path
 * exists under other methods (allow[0] == '\0' when the path is unknown). */
static const struct route *
find_route(struct req *r, char *allow, size_t allowlen)
{
    const char *method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    char *params[HTTP_MAX_PARAMS];
    int nparams;
    size_t i;

    allow[0] = '\0';
    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!router_match(routes[i].pattern, r->path, params, &nparams)) {
            continue;
        }
        if (strcmp(routes[i].method, method) == 0) {
            memcpy(r->params, params, sizeof(params));
            r->nparams = nparams;
            return &routes[i];
        }
        while (nparams > 0) {
            free(params[--nparams]);
        }
        if (strstr(allow, routes[i].method) == NULL) {
            size_t used = strlen(allow);
            snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", routes[i].method);
            if (strcmp(routes[i].method, "GET") == 0) {
                used = strlen(allow);
                snprintf(allow + used, allowlen - used, ", HEAD");
            }
        }
    }
    return NULL;
}

void
router_db_pause(struct req *r)
{
    db_release(r->db);
    r->db = NULL;
}

int
router_db_resume_or_problem(struct req *r)
{
    r->db = db_acquire();
    if (r->db == NULL) {
        http_add_header(r, "Retry-After", "1");
        return problem_send(r, PROBLEM_UNAVAILABLE, "the database is busy or unreachable");
    }
    return 0;
}

/* The client's address: the connection's peer, or, when that peer is the configured reverse proxy,
 * the last address in X-Forwarded-For (the one the proxy itself appended or set). */
static const char *
client_address(struct req *r, char *buf, size_t len)
{
    const char *xff, *last;
    size_t n;

    if (config.trusted_proxy == NULL || strcmp(r->ri->remote_addr, config.trusted_proxy) != 0
        || (xff = http_header(r, "X-Forwarded-For")) == NULL) {
        return r->ri->remote_addr;
    }
    last = strrchr(xff, ',');
    last = last != NULL ? last + 1 : xff;
    while (*last == ' ' || *last == '\t') {
        last++;
    }
    n = strcspn(last, " \t");
    if (n == 0 || n >= len) {
        return r->ri->remote_addr;
    }
    memcpy(buf, last, n);
    buf[n] = '\0';
    return buf;
}

const char *
router_client_address(struct req *r, char *buf, size_t len)
{
    return client_address(r, buf, len);
}

/* 1 for the paths of open routes, which answer any origin's preflight. */
static int
is_open_path(const char *path)
{
    return strncmp(path, "/v1/public/", 11) == 0 || strncmp(path, "/openreferral/", 14) == 0;
}

static int
dispatch(struct req *r, const struct route **matched)
{
    const struct route *route;
    char allow[96];
    int authn, status;

    /* Both framings at once is how requests are smuggled past a proxy (LIBRARIES.md 10). */
    if (http_header(r, "Transfer-Encoding") != NULL && http_header(r, "Content-Length") != NULL) {
        mg_disable_connection_keep_alive(r->conn);
        return problem_send(r, PROBLEM_BAD_REQUEST,
                            "send either Content-Length or Transfer-Encoding, not both");
    }
    route = find_route(r, allow, sizeof(allow));
    *matched = route;
    if (route == NULL && allow[0] != '\0' && is_open_path(r->path)) {
        /* Any origin may read the open routes, preflight included; nothing else is offered. */
        http_add_header(r, "Access-Control-Allow-Origin", "*");
        if (strcmp(r->method, "OPTIONS") == 0) {
            http_add_header(r, "Access-Control-Allow-Methods", "GET, HEAD");
            http_add_header(r, "Access-Control-Max-Age", "86400");
        }
    }
    if (route == NULL) {
        if (allow[0] == '\0') {
            return problem_send(r, PROBLEM_NOT_FOUND, "no such resource");
        }
        http_add_header(r, "Allow", allow);
        if (strcmp(r->method, "OPTIONS") == 0) {
            return http_send_empty(r, 204);
        }
        return problem_send(r, PROBLEM_METHOD_NOT_ALLOWED, "allowed here: %s", allow);
    }
    if (route->access == ACCESS_OPEN) {
        struct timespec now;
        int wait;
        char client[48];

        http_add_header(r, "Access-Control-Allow-Origin", "*");
        clock_gettime(CLOCK_MONOTONIC, &now);
        wait = ratelimit_take(client_address(r, client, sizeof(client)),
                              (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
        if (wait > 0) {
            char retry[16];
            snprintf(retry, sizeof(retry), "%d", wait);
            http_add_header(r, "Retry-After", retry);
            return problem_send(r, PROBLEM_TOO_MANY_REQUESTS,
                                "too many requests from your address; try again in %d seconds",
                                wait);
        }
    }
    if (route->access != ACCESS_PUBLIC && route->access != ACCESS_OPEN) {
        authn = auth_authenticate(r);
        if (authn == 0) {
            http_add_header(r, "WWW-Authenticate", "Bearer realm=\"mpact-registry\"");
            return problem_send(r, PROBLEM_UNAUTHORIZED,
                                "send an access token as "
                                "Authorization: Bearer <token>");
        }
        if (authn < 0) {
            http_add_header(r, "WWW-Authenticate",
                            "Bearer realm=\"mpact-registry\", error=\"invalid_token\"");
            return problem_send(r, PROBLEM_INVALID_TOKEN,
                                "the access token is invalid or expired; sign in again");
        }
        if (r->principal.client && !auth_has_scope(&r->principal, route->scope)) {
            /* API clients reach only the routes their scopes name (RFC 6750 section 3.1). */
            char challenge[160];
            snprintf(challenge, sizeof(challenge),
                     "Bearer realm=\"mpact-registry\", error=\"insufficient_scope\", scope=\"%s\"",
                     route->scope != NULL ? route->scope : "");
            http_add_header(r, "WWW-Authenticate", challenge);
            return problem_send(r, PROBLEM_FORBIDDEN,
                                route->scope != NULL ? "this token lacks the scope %s"
                                                     : "API clients may not use this route%s",
                                route->scope != NULL ? route->scope : "");
        }
        if (route->access == ACCESS_ADMIN && !auth_is_admin(&r->principal)) {
            return problem_send(r, PROBLEM_FORBIDDEN, "only the licensing body may do this");
        }
    }
    if (route->needs_db && route->replica_ok
        && !(r->principal.authenticated && writers_recent(r->principal.sub))) {
        r->db = db_acquire_read(); /* NULL without a usable replica: the primary below */
    }
    if (route->needs_db && r->db == NULL && (status = router_db_resume_or_problem(r)) != 0) {
        return status;
    }
    return route->fn(r);
}

int
router_handle(struct mg_connection *conn, void *cbdata)
{
    struct req r;
    const struct route *route = NULL;
    struct timespec done;
    long long us;
    int i;

    (void)cbdata;
    atomic_fetch_add(&in_flight, 1);
    memset(&r, 0, sizeof(r));
    clock_gettime(CLOCK_MONOTONIC, &r.started);
    r.conn = conn;
    r.ri = mg_get_request_info(conn);
    r.method = r.ri->request_method;
    r.path = r.ri->local_uri != NULL ? r.ri->local_uri : "/";
    r.query = r.ri->query_string;
    http_request_id(&r);

    if (atomic_load(&draining)) {
        /* Stopping: requests already in flight finish; new ones are turned away. */
        mg_disable_connection_keep_alive(conn);
        http_add_header(&r, "Retry-After", "1");
        problem_send(&r, PROBLEM_UNAVAILABLE, "the server is restarting; try again");
    } else {
        dispatch(&r, &route);
    }
    if (r.status == 0) {
        logging_event("error", r.request_id, "bug: no response from %s %s", r.method,
                      route != NULL ? route->pattern : "(no route)");
        problem_send(&r, PROBLEM_INTERNAL, NULL);
    }
    if (route != NULL && r.principal.authenticated && r.status < 400
        && strcmp(route->method, "GET") != 0 && config.database_url_replica != NULL) {
        writers_note(r.principal.sub); /* reads the primary for a while (read-your-writes) */
    }
    db_release(r.db);
    for (i = 0; i < r.nparams; i++) {
        free(r.params[i]);
    }
    clock_gettime(CLOCK_MONOTONIC, &done);
    us = (long long)(done.tv_sec - r.started.tv_sec) * 1000000
         + (done.tv_nsec - r.started.tv_nsec) / 1000;
    metrics_request(route != NULL ? (int)(route - routes) : -1, r.status, us);
    r.route = route != NULL ? route->pattern : NULL;
    http_log(&r);
    atomic_fetch_sub(&in_flight, 1);
    return r.status;
}
