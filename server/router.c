/* router.c: every route in one table (as redis keeps its commands), with who may call it.
 * The router authenticates, borrows a database connection, calls the handler, and logs. */
#include "registry/router.h"

#include <stdatomic.h>
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
#include "registry/health.h"
#include "registry/http.h"
#include "registry/logging.h"
#include "registry/metrics.h"
#include "registry/openreferral.h"
#include "registry/pages.h"
#include "registry/postcodes.h"
#include "registry/problem.h"
#include "registry/public.h"
#include "registry/ratelimit.h"
#include "registry/replica.h"
#include "registry/reports.h"
#include "registry/resources.h"
#include "registry/scheduler.h"
#include "registry/static.h"
#include "registry/tokens.h"
#include "registry/variants.h"

/* One route a row (clang-format would give each member a line of its own). */
/* clang-format off */
static const struct route routes[] = {
    /* /readyz borrows a connection within its own budget; /metrics checks access itself. */
    {.method = "GET", .pattern = "/healthz", .handler = health_live, .access = ACCESS_PUBLIC},
    {.method = "GET", .pattern = "/readyz", .handler = health_ready, .access = ACCESS_PUBLIC},
    {.method = "GET", .pattern = "/metrics", .handler = metrics_get, .access = ACCESS_PUBLIC},
    {.method = "GET", .pattern = "/problems/{}", .handler = health_problem_page,
     .access = ACCESS_PUBLIC},
    {.method = "GET", .pattern = "/assets/{*}", .handler = static_asset, .access = ACCESS_PUBLIC},
    {.method = "GET", .pattern = "/console", .handler = pages_console, .access = ACCESS_PUBLIC},
    {.method = "GET", .pattern = "/portal", .handler = pages_portal, .access = ACCESS_PUBLIC},
    {.method = "GET", .pattern = "/docs", .handler = pages_docs, .access = ACCESS_PUBLIC},
    {.method = "GET", .pattern = "/openapi.json", .handler = docs_openapi, .access = ACCESS_PUBLIC},
    {.method = "GET", .pattern = "/.well-known/jwks.json", .handler = tokens_jwks,
     .access = ACCESS_PUBLIC},
    {.method = "GET", .pattern = "/", .handler = pages_home, .access = ACCESS_OPEN},
    {.method = "GET", .pattern = "/find", .handler = pages_find, .access = ACCESS_OPEN,
     .flags = ROUTE_DB | ROUTE_REPLICA_OK},
    {.method = "GET", .pattern = "/check", .handler = pages_check, .access = ACCESS_OPEN,
     .flags = ROUTE_DB | ROUTE_REPLICA_OK},

    {.method = "POST", .pattern = "/v1/auth/token", .handler = tokens_create,
     .access = ACCESS_PUBLIC, .flags = ROUTE_DB},
    {.method = "POST", .pattern = "/v1/auth/refresh", .handler = tokens_refresh,
     .access = ACCESS_PUBLIC, .flags = ROUTE_DB},
    {.method = "POST", .pattern = "/v1/auth/logout", .handler = tokens_logout,
     .access = ACCESS_PUBLIC, .flags = ROUTE_DB},
    {.method = "POST", .pattern = "/v1/auth/revoke", .handler = tokens_revoke,
     .access = ACCESS_PUBLIC, .flags = ROUTE_DB},

    {.method = "POST", .pattern = "/v1/clients", .handler = clients_create, .access = ACCESS_USER,
     .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/clients", .handler = clients_list, .access = ACCESS_USER,
     .flags = ROUTE_DB},
    {.method = "DELETE", .pattern = "/v1/clients/{}", .handler = clients_delete,
     .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "POST", .pattern = "/v1/clients/{}/secrets", .handler = clients_rotate_secret,
     .access = ACCESS_USER, .flags = ROUTE_DB},

    {.method = "POST", .pattern = "/v1/users", .handler = users_create, .access = ACCESS_USER,
     .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/users", .handler = users_list, .access = ACCESS_USER,
     .flags = ROUTE_DB},
    {.method = "POST", .pattern = "/v1/users/me/password", .handler = users_password,
     .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/users/me", .handler = users_me, .access = ACCESS_USER,
     .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/users/{}", .handler = users_get, .access = ACCESS_USER,
     .flags = ROUTE_DB},
    {.method = "PATCH", .pattern = "/v1/users/{}", .handler = users_update, .access = ACCESS_USER,
     .flags = ROUTE_DB},

    {.method = "POST", .pattern = "/v1/organisations", .handler = organisations_create,
     .access = ACCESS_ADMIN, .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/organisations", .handler = organisations_list,
     .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/organisations/{}", .handler = organisations_get,
     .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "PATCH", .pattern = "/v1/organisations/{}", .handler = organisations_update,
     .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "DELETE", .pattern = "/v1/organisations/{}", .handler = organisations_delete,
     .access = ACCESS_ADMIN, .flags = ROUTE_DB},
    {.method = "POST", .pattern = "/v1/organisations/{}/licences", .handler = licences_create,
     .access = ACCESS_ADMIN, .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/organisations/{}/licences", .handler = licences_list,
     .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/licences/{}", .handler = licences_get, .access = ACCESS_USER,
     .flags = ROUTE_DB},
    {.method = "PATCH", .pattern = "/v1/licences/{}", .handler = licences_update,
     .access = ACCESS_ADMIN, .flags = ROUTE_DB},

    {.method = "GET", .pattern = "/v1/audit", .handler = audit_list, .access = ACCESS_ADMIN,
     .flags = ROUTE_DB},

    {.method = "GET", .pattern = "/v1/public/providers", .handler = public_providers,
     .access = ACCESS_OPEN, .flags = ROUTE_DB | ROUTE_REPLICA_OK},
    {.method = "GET", .pattern = "/v1/public/facilitators", .handler = public_facilitators_search,
     .access = ACCESS_OPEN, .flags = ROUTE_DB | ROUTE_REPLICA_OK},
    {.method = "GET", .pattern = "/v1/public/facilitators/{}", .handler = public_facilitators_get,
     .access = ACCESS_OPEN, .flags = ROUTE_DB | ROUTE_REPLICA_OK},
    {.method = "GET", .pattern = "/openreferral/", .handler = openreferral_info,
     .access = ACCESS_OPEN},
    {.method = "GET", .pattern = "/openreferral/services", .handler = openreferral_services,
     .access = ACCESS_OPEN, .flags = ROUTE_DB | ROUTE_REPLICA_OK},
    {.method = "GET", .pattern = "/openreferral/services/{}", .handler = openreferral_service,
     .access = ACCESS_OPEN, .flags = ROUTE_DB | ROUTE_REPLICA_OK},
    {.method = "GET", .pattern = "/openreferral/service_at_locations",
     .handler = openreferral_service_at_locations, .access = ACCESS_OPEN,
     .flags = ROUTE_DB | ROUTE_REPLICA_OK},
    {.method = "GET", .pattern = "/openreferral/organizations",
     .handler = openreferral_organizations, .access = ACCESS_OPEN,
     .flags = ROUTE_DB | ROUTE_REPLICA_OK},

    {.method = "POST", .pattern = "/v1/facilitators", .handler = facilitators_create,
     .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/facilitators", .handler = facilitators_list,
     .access = ACCESS_USER, .scope = "facilitators:read", .flags = ROUTE_DB},
    {.method = "POST", .pattern = "/v1/facilitators/status-check",
     .handler = facilitators_status_check, .access = ACCESS_USER, .scope = "facilitators:read",
     .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/facilitators/{}", .handler = facilitators_get,
     .access = ACCESS_USER, .scope = "facilitators:read", .flags = ROUTE_DB},
    {.method = "PATCH", .pattern = "/v1/facilitators/{}", .handler = facilitators_update,
     .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/facilitators/{}/eligibility",
     .handler = facilitators_eligibility, .access = ACCESS_USER, .scope = "facilitators:read",
     .flags = ROUTE_DB},
    {.method = "POST", .pattern = "/v1/facilitators/{}/employment-requests",
     .handler = facilitators_employment_request_create, .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/facilitators/{}/employment-requests",
     .handler = facilitators_employment_requests_list, .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/facilitators/{}/employment-requests/{}",
     .handler = facilitators_employment_request_get, .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "PATCH", .pattern = "/v1/facilitators/{}/employment-requests/{}",
     .handler = facilitators_employment_request_update, .access = ACCESS_ADMIN, .flags = ROUTE_DB},

    {.method = "POST", .pattern = "/v1/courses", .handler = courses_create, .access = ACCESS_ADMIN,
     .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/courses", .handler = courses_list, .access = ACCESS_USER,
     .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/courses/{}", .handler = courses_get, .access = ACCESS_USER,
     .flags = ROUTE_DB},
    {.method = "PATCH", .pattern = "/v1/courses/{}", .handler = courses_update,
     .access = ACCESS_ADMIN, .flags = ROUTE_DB},

    {.method = "POST", .pattern = "/v1/training-sessions", .handler = training_create,
     .access = ACCESS_ADMIN, .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/training-sessions", .handler = training_list,
     .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/training-sessions/{}", .handler = training_get,
     .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "PATCH", .pattern = "/v1/training-sessions/{}", .handler = training_update,
     .access = ACCESS_ADMIN, .flags = ROUTE_DB},
    {.method = "POST", .pattern = "/v1/training-sessions/{}/enrolments",
     .handler = enrolments_create, .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/training-sessions/{}/enrolments", .handler = enrolments_list,
     .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/training-sessions/{}/enrolments/{}",
     .handler = enrolments_get, .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "PATCH", .pattern = "/v1/training-sessions/{}/enrolments/{}",
     .handler = enrolments_update, .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "POST", .pattern = "/v1/training-sessions/{}/outcomes", .handler = training_outcomes,
     .access = ACCESS_ADMIN, .flags = ROUTE_DB},

    {.method = "POST", .pattern = "/v1/locations", .handler = locations_create,
     .access = ACCESS_USER, .scope = "locations:write", .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/locations", .handler = locations_list, .access = ACCESS_USER,
     .scope = "locations:read", .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/locations/{}", .handler = locations_get,
     .access = ACCESS_USER, .scope = "locations:read", .flags = ROUTE_DB},
    {.method = "PATCH", .pattern = "/v1/locations/{}", .handler = locations_update,
     .access = ACCESS_USER, .scope = "locations:write", .flags = ROUTE_DB},
    {.method = "DELETE", .pattern = "/v1/locations/{}", .handler = locations_delete,
     .access = ACCESS_USER, .scope = "locations:write", .flags = ROUTE_DB},

    {.method = "POST", .pattern = "/v1/programmes", .handler = programmes_create,
     .access = ACCESS_USER, .scope = "programmes:write", .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/programmes", .handler = programmes_list,
     .access = ACCESS_USER, .scope = "programmes:read", .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/programmes/{}", .handler = programmes_get,
     .access = ACCESS_USER, .scope = "programmes:read", .flags = ROUTE_DB},
    {.method = "PATCH", .pattern = "/v1/programmes/{}", .handler = programmes_update,
     .access = ACCESS_USER, .scope = "programmes:write", .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/programme-variants", .handler = variants_list,
     .access = ACCESS_USER, .scope = "programmes:read", .flags = ROUTE_DB | ROUTE_REPLICA_OK},

    {.method = "GET", .pattern = "/v1/reports/summary", .handler = reports_summary,
     .access = ACCESS_ADMIN, .flags = ROUTE_DB | ROUTE_REPLICA_OK},
    {.method = "GET", .pattern = "/v1/reports/expiring", .handler = reports_expiring,
     .access = ACCESS_ADMIN, .flags = ROUTE_DB | ROUTE_REPLICA_OK},

    {.method = "POST", .pattern = "/v1/webhooks", .handler = webhooks_create, .access = ACCESS_USER,
     .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/webhooks", .handler = webhooks_list, .access = ACCESS_USER,
     .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/webhooks/{}", .handler = webhooks_get, .access = ACCESS_USER,
     .flags = ROUTE_DB},
    {.method = "DELETE", .pattern = "/v1/webhooks/{}", .handler = webhooks_delete,
     .access = ACCESS_USER, .flags = ROUTE_DB},
    {.method = "GET", .pattern = "/v1/webhooks/{}/deliveries", .handler = webhooks_deliveries,
     .access = ACCESS_USER, .flags = ROUTE_DB},
};
/* clang-format on */

/* Every resource descriptor, for the start-up check of the statements they name. */
const struct resource *const router_resources[] = {
    &client_resource,
    &lic_resource,
    &loc_resource,
    &org_resource,
    &course_resource,
    &enrolment_resource,
    &programme_resource,
    &session_resource,
    &session_new_resource,
    &user_resource,
    &variant_resource,
    &webhook_resource,
    NULL,
};

const struct db_stmt *const router_stmt_tables[] = {
    health_stmts,     tokens_stmts,       users_stmts,    organisations_stmts, licences_stmts,
    audit_stmts,      facilitators_stmts, courses_stmts,  training_stmts,      locations_stmts,
    programmes_stmts, reports_stmts,      public_stmts,   openreferral_stmts,  postcodes_stmts,
    clients_stmts,    webhooks_stmts,     variants_stmts, scheduler_stmts,     NULL,
};

size_t
router_routes(const struct route **out)
{
    *out = routes;
    return sizeof(routes) / sizeof(routes[0]);
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
 * exists under other methods (allow[0] == '\0' when the path is unknown), and *open set when one
 * of those is ACCESS_OPEN. */
static const struct route *
find_route(struct req *r, char *allow, size_t allowlen, int *open)
{
    const char *method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    char *params[HTTP_MAX_PARAMS];
    int nparams;
    size_t i;

    allow[0] = '\0';
    *open = 0;
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
        *open |= routes[i].access == ACCESS_OPEN;
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

static int
dispatch(struct req *r, const struct route **matched)
{
    const struct route *route;
    char allow[96];
    int authn, status, open;

    /* Both framings at once is how requests are smuggled past a proxy (LIBRARIES.md 10). */
    if (http_header(r, "Transfer-Encoding") != NULL && http_header(r, "Content-Length") != NULL) {
        mg_disable_connection_keep_alive(r->conn);
        return problem_send(r, PROBLEM_BAD_REQUEST,
                            "send either Content-Length or Transfer-Encoding, not both");
    }
    route = find_route(r, allow, sizeof(allow), &open);
    *matched = route;
    if (route == NULL && open) {
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
    if ((route->flags & ROUTE_DB) && (route->flags & ROUTE_REPLICA_OK)
        && !(r->principal.authenticated && replica_wrote_lately(r->principal.sub))) {
        r->db = db_acquire_read(); /* NULL without a usable replica: the primary below */
    }
    if ((route->flags & ROUTE_DB) && r->db == NULL
        && (status = router_db_resume_or_problem(r)) != 0) {
        return status;
    }
    return route->handler(r);
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
        && strcmp(route->method, "GET") != 0) {
        replica_note_write(r.principal.sub); /* reads the primary for a while */
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
