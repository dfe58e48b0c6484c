/* router.c: every route in one table (as redis keeps its commands), with who may call it.
 * The router authenticates, borrows a database connection, calls the handler, and logs. */
#include "registry/router.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <civetweb.h>

#include "registry/areas.h"
#include "registry/audit.h"
#include "registry/auth.h"
#include "registry/clients.h"
#include "registry/clock.h"
#include "registry/config.h"
#include "registry/courses.h"
#include "registry/db.h"
#include "registry/delivery.h"
#include "registry/docs.h"
#include "registry/enquiries.h"
#include "registry/facilitators.h"
#include "registry/health.h"
#include "registry/http.h"
#include "registry/impact.h"
#include "registry/licences.h"
#include "registry/locations.h"
#include "registry/logging.h"
#include "registry/metrics.h"
#include "registry/openreferral.h"
#include "registry/organisations.h"
#include "registry/outcomes.h"
#include "registry/pages.h"
#include "registry/places.h"
#include "registry/postcodes.h"
#include "registry/problem.h"
#include "registry/programmes.h"
#include "registry/public.h"
#include "registry/ratelimit.h"
#include "registry/refdata.h"
#include "registry/replica.h"
#include "registry/reports.h"
#include "registry/scheduler.h"
#include "registry/settings.h"
#include "registry/static.h"
#include "registry/tokens.h"
#include "registry/training.h"
#include "registry/users.h"
#include "registry/variants.h"
#include "registry/webhooks.h"

/* One route a row (clang-format would give each member a line of its own): method, pattern, the
 * room's handler (ROUTE) or a descriptor and the generic verb that serves it (RES_ROUTE), access
 * level, the scope an API client needs (NULL: none may), ROUTE_* flags. */
#define ROUTE(m, pat, fn, acc, sc, fl)                                                             \
    {                                                                                              \
        .method = #m, .pattern = pat, .handler = fn, .access = ACCESS_##acc, .scope = sc,          \
        .flags = fl                                                                                \
    }
#define RES_ROUTE(m, pat, rs, vb, acc, sc, fl)                                                     \
    {                                                                                              \
        .method = #m, .pattern = pat, .resource = &rs, .verb = RESOURCE_##vb,                      \
        .access = ACCESS_##acc, .scope = sc, .flags = fl                                           \
    }

/* clang-format off */
static const struct route routes[] = {
    /* /readyz borrows a connection within its own budget; /metrics checks access itself. */
    ROUTE(GET, "/healthz", health_live, PUBLIC, NULL, 0),
    ROUTE(GET, "/readyz", health_ready, PUBLIC, NULL, 0),
    ROUTE(GET, "/metrics", metrics_get, PUBLIC, NULL, 0),
    ROUTE(GET, "/problems/{}", health_problem_page, PUBLIC, NULL, 0),
    ROUTE(GET, "/assets/{*}", static_asset, PUBLIC, NULL, 0),
    ROUTE(GET, "/console", pages_console, PUBLIC, NULL, 0),
    ROUTE(GET, "/portal", pages_portal, PUBLIC, NULL, 0),
    ROUTE(GET, "/docs", pages_docs, PUBLIC, NULL, 0),
    ROUTE(GET, "/openapi.json", docs_openapi, PUBLIC, NULL, 0),
    ROUTE(GET, "/.well-known/jwks.json", tokens_jwks, PUBLIC, NULL, 0),
    ROUTE(GET, "/", pages_home, OPEN, NULL, 0), /* borrows a connection itself, if it can */
    ROUTE(GET, "/find", pages_find, OPEN, NULL, ROUTE_DB_READ),
    ROUTE(GET, "/check", pages_check, OPEN, NULL, ROUTE_DB_READ),
    ROUTE(GET, "/impact", pages_impact, OPEN, NULL, ROUTE_DB_READ),
    ROUTE(GET, "/feedback", pages_feedback, OPEN, NULL, ROUTE_DB_READ),
    ROUTE(GET, "/find/ask", enquiries_form, OPEN, NULL, ROUTE_DB_READ),
    ROUTE(POST, "/find/ask", enquiries_form_post, OPEN, NULL, ROUTE_DB),

    ROUTE(POST, "/v1/auth/token", tokens_create, PUBLIC, NULL, ROUTE_DB),
    ROUTE(POST, "/v1/auth/refresh", tokens_refresh, PUBLIC, NULL, ROUTE_DB),
    ROUTE(POST, "/v1/auth/logout", tokens_logout, PUBLIC, NULL, ROUTE_DB),
    ROUTE(POST, "/v1/auth/revoke", tokens_revoke, PUBLIC, NULL, ROUTE_DB),

    ROUTE(POST, "/v1/clients", clients_create, USER, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/clients", client_resource, LIST, USER, NULL, ROUTE_DB),
    ROUTE(DELETE, "/v1/clients/{}", clients_delete, USER, NULL, ROUTE_DB),
    ROUTE(POST, "/v1/clients/{}/secrets", clients_rotate_secret, USER, NULL, ROUTE_DB),

    RES_ROUTE(POST, "/v1/users", user_create_resource, CREATE, USER, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/users", user_resource, LIST, USER, NULL, ROUTE_DB),
    ROUTE(POST, "/v1/users/me/password", users_password, USER, NULL, ROUTE_DB | ROUTE_COMMISSIONER),
    ROUTE(GET, "/v1/users/me", users_me, USER, NULL, ROUTE_DB | ROUTE_COMMISSIONER),
    ROUTE(GET, "/v1/users/{}", users_get, USER, NULL, ROUTE_DB),
    ROUTE(PATCH, "/v1/users/{}", users_update, USER, NULL, ROUTE_DB),

    RES_ROUTE(POST, "/v1/organisations", org_resource, CREATE, ADMIN, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/organisations", org_resource, LIST, USER, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/organisations/{}", org_resource, GET, USER, NULL, ROUTE_DB),
    RES_ROUTE(PATCH, "/v1/organisations/{}", org_resource, UPDATE, USER, NULL, ROUTE_DB),
    RES_ROUTE(DELETE, "/v1/organisations/{}", org_resource, ARCHIVE, ADMIN, NULL, ROUTE_DB),
    RES_ROUTE(POST, "/v1/organisations/{}/licences", lic_resource, CREATE, ADMIN, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/organisations/{}/licences", lic_resource, LIST, USER, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/licences/{}", lic_resource, GET, USER, NULL, ROUTE_DB),
    ROUTE(PATCH, "/v1/licences/{}", licences_update, ADMIN, NULL, ROUTE_DB),

    ROUTE(GET, "/v1/audit", audit_list, ADMIN, NULL, ROUTE_DB),

    ROUTE(GET, "/v1/public/impact", impact_public, OPEN, NULL, ROUTE_DB_READ),
    ROUTE(GET, "/v1/public/providers", public_providers, OPEN, NULL, ROUTE_DB_READ),
    ROUTE(POST, "/v1/public/enquiries", enquiries_create, OPEN, NULL, ROUTE_DB),
    ROUTE(GET, "/v1/public/facilitators", public_facilitators_search, OPEN, NULL, ROUTE_DB_READ),
    ROUTE(GET, "/v1/public/facilitators/{}", public_facilitators_get, OPEN, NULL, ROUTE_DB_READ),
    ROUTE(GET, "/openreferral/", openreferral_info, OPEN, NULL, 0),
    ROUTE(GET, "/openreferral/services", openreferral_services, OPEN, NULL, ROUTE_DB_READ),
    ROUTE(GET, "/openreferral/services/{}", openreferral_service, OPEN, NULL, ROUTE_DB_READ),
    ROUTE(GET, "/openreferral/service_at_locations", openreferral_service_at_locations, OPEN, NULL,
        ROUTE_DB_READ),
    ROUTE(GET, "/openreferral/organizations", openreferral_organizations, OPEN, NULL,
        ROUTE_DB_READ),
    ROUTE(GET, "/openreferral", openreferral_redirect, OPEN, NULL, 0),
    ROUTE(GET, "/openreferral/organizations/{}", openreferral_organization, OPEN, NULL,
        ROUTE_DB_READ),
    ROUTE(GET, "/openreferral/service_at_locations/{}", openreferral_service_at_location, OPEN,
        NULL, ROUTE_DB_READ),
    ROUTE(GET, "/openreferral/taxonomies", openreferral_taxonomies, OPEN, NULL, ROUTE_DB_READ),
    ROUTE(GET, "/openreferral/taxonomies/{}", openreferral_taxonomy, OPEN, NULL, ROUTE_DB_READ),
    ROUTE(GET, "/openreferral/taxonomy_terms", openreferral_taxonomy_terms, OPEN, NULL,
        ROUTE_DB_READ),
    ROUTE(GET, "/openreferral/taxonomy_terms/{}", openreferral_taxonomy_term, OPEN, NULL,
        ROUTE_DB_READ),

    RES_ROUTE(POST, "/v1/facilitators", fac_new_resource, CREATE, USER, NULL, ROUTE_DB),
    ROUTE(GET, "/v1/facilitators", facilitators_list, USER, "facilitators:read", ROUTE_DB),
    ROUTE(POST, "/v1/facilitators/status-check", facilitators_status_check, USER,
        "facilitators:read", ROUTE_DB),
    ROUTE(GET, "/v1/facilitators/{}", facilitators_get, USER, "facilitators:read", ROUTE_DB),
    ROUTE(PATCH, "/v1/facilitators/{}", facilitators_update, USER, NULL, ROUTE_DB),
    ROUTE(GET, "/v1/facilitators/{}/eligibility", facilitators_eligibility, USER,
        "facilitators:read", ROUTE_DB),
    ROUTE(POST, "/v1/facilitators/{}/employment-requests", facilitators_employment_request_create,
        USER, NULL, ROUTE_DB),
    ROUTE(GET, "/v1/facilitators/{}/employment-requests", facilitators_employment_requests_list,
        USER, NULL, ROUTE_DB),
    ROUTE(GET, "/v1/facilitators/{}/employment-requests/{}", facilitators_employment_request_get,
        USER, NULL, ROUTE_DB),
    ROUTE(PATCH, "/v1/facilitators/{}/employment-requests/{}",
        facilitators_employment_request_update, ADMIN, NULL, ROUTE_DB),

    RES_ROUTE(POST, "/v1/courses", course_resource, CREATE, ADMIN, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/courses", course_resource, LIST, USER, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/courses/{}", course_resource, GET, USER, NULL, ROUTE_DB),
    RES_ROUTE(PATCH, "/v1/courses/{}", course_resource, UPDATE, ADMIN, NULL, ROUTE_DB),

    RES_ROUTE(POST, "/v1/training-sessions", session_resource, CREATE, ADMIN, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/training-sessions", session_resource, LIST, USER, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/training-sessions/{}", session_resource, GET, USER, NULL, ROUTE_DB),
    RES_ROUTE(PATCH, "/v1/training-sessions/{}", session_resource, UPDATE, ADMIN, NULL, ROUTE_DB),
    ROUTE(POST, "/v1/training-sessions/{}/enrolments", enrolments_create, USER, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/training-sessions/{}/enrolments", enrolment_resource, LIST, USER, NULL,
        ROUTE_DB),
    ROUTE(GET, "/v1/training-sessions/{}/enrolments/{}", enrolments_get, USER, NULL, ROUTE_DB),
    ROUTE(PATCH, "/v1/training-sessions/{}/enrolments/{}", enrolments_update, USER, NULL, ROUTE_DB),
    ROUTE(POST, "/v1/training-sessions/{}/outcomes", training_outcomes, ADMIN, NULL, ROUTE_DB),

    RES_ROUTE(POST, "/v1/locations", loc_resource, CREATE, USER, "locations:write", ROUTE_DB),
    RES_ROUTE(GET, "/v1/locations", loc_resource, LIST, USER, "locations:read", ROUTE_DB),
    RES_ROUTE(GET, "/v1/locations/{}", loc_resource, GET, USER, "locations:read", ROUTE_DB),
    RES_ROUTE(PATCH, "/v1/locations/{}", loc_resource, UPDATE, USER, "locations:write", ROUTE_DB),
    RES_ROUTE(DELETE, "/v1/locations/{}", loc_resource, ARCHIVE, USER, "locations:write", ROUTE_DB),

    RES_ROUTE(POST, "/v1/programmes", programme_resource, CREATE, USER, "programmes:write",
        ROUTE_DB),
    RES_ROUTE(GET, "/v1/programmes", programme_resource, LIST, USER, "programmes:read", ROUTE_DB),
    RES_ROUTE(GET, "/v1/programmes/{}", programme_resource, GET, USER, "programmes:read", ROUTE_DB),
    RES_ROUTE(PATCH, "/v1/programmes/{}", programme_resource, UPDATE, USER, "programmes:write",
        ROUTE_DB),
    RES_ROUTE(GET, "/v1/programme-variants", variant_resource, LIST, USER, "programmes:read",
        ROUTE_DB_READ | ROUTE_COMMISSIONER),
    RES_ROUTE(GET, "/v1/programmes/{}/delivery", run_delivery_resource, GET, USER,
        "delivery:read", ROUTE_DB),
    RES_ROUTE(PUT, "/v1/programmes/{}/delivery", run_delivery_resource, UPDATE, USER,
        "delivery:write", ROUTE_DB),
    ROUTE(GET, "/v1/programmes/{}/outcomes", outcomes_list, USER, "delivery:read", ROUTE_DB),
    ROUTE(GET, "/v1/programmes/{}/outcomes/{}", outcomes_get, USER, "delivery:read", ROUTE_DB),
    ROUTE(PUT, "/v1/programmes/{}/outcomes/{}", outcomes_put, USER, "delivery:write", ROUTE_DB),
    RES_ROUTE(GET, "/v1/local-authorities", area_resource, LIST, USER, "delivery:read",
        ROUTE_DB_READ | ROUTE_COMMISSIONER),
    RES_ROUTE(GET, "/v1/reference-items", refitem_resource, LIST, USER, "delivery:read",
        ROUTE_DB_READ | ROUTE_COMMISSIONER),
    RES_ROUTE(POST, "/v1/reference-items", refitem_resource, CREATE, ADMIN, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/reference-items/{}", refitem_resource, GET, USER, "delivery:read",
        ROUTE_DB),
    RES_ROUTE(PATCH, "/v1/reference-items/{}", refitem_resource, UPDATE, ADMIN, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/outcome-measures", measure_resource, LIST, USER, "delivery:read",
        ROUTE_DB_READ | ROUTE_COMMISSIONER),
    RES_ROUTE(POST, "/v1/outcome-measures", measure_resource, CREATE, ADMIN, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/outcome-measures/{}", measure_resource, GET, USER, "delivery:read",
        ROUTE_DB),
    RES_ROUTE(PATCH, "/v1/outcome-measures/{}", measure_resource, UPDATE, ADMIN, NULL, ROUTE_DB),

    ROUTE(GET, "/v1/reports/summary", reports_summary, ADMIN, NULL, ROUTE_DB_READ),
    ROUTE(GET, "/v1/reports/expiring", reports_expiring, ADMIN, NULL, ROUTE_DB_READ),
    ROUTE(GET, "/v1/reports/delivery", impact_report, USER, "delivery:read", ROUTE_DB_READ | ROUTE_COMMISSIONER),
    ROUTE(GET, "/v1/reports/enquiries", enquiries_report, USER, "delivery:read", ROUTE_DB_READ),
    ROUTE(GET, "/v1/settings/{}", settings_get, USER, NULL, ROUTE_DB),
    ROUTE(PUT, "/v1/settings/{}", settings_put, ADMIN, NULL, ROUTE_DB),

    ROUTE(POST, "/v1/webhooks", webhooks_create, USER, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/webhooks", webhook_resource, LIST, USER, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/webhooks/{}", webhook_resource, GET, USER, NULL, ROUTE_DB),
    RES_ROUTE(DELETE, "/v1/webhooks/{}", webhook_resource, DELETE, USER, NULL, ROUTE_DB),
    RES_ROUTE(GET, "/v1/webhooks/{}/deliveries", delivery_resource, LIST, USER, NULL, ROUTE_DB),
};
/* clang-format on */

/* The descriptors that rooms serve through a handler of their own (their routes name that). */
static const struct {
    const struct resource *resource;
    enum resource_verb verb;
} served_by_rooms[] = {
    {&fac_resource, RESOURCE_UPDATE},  {&fer_new_resource, RESOURCE_CREATE},
    {&fer_resource, RESOURCE_LIST},    {&user_resource, RESOURCE_GET},
    {&user_resource, RESOURCE_UPDATE},
};

int
router_stmts_check(void)
{
    size_t i;

    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (routes[i].resource != NULL
            && resource_stmts_check(routes[i].resource, routes[i].verb)) {
            return -1;
        }
    }
    for (i = 0; i < sizeof(served_by_rooms) / sizeof(served_by_rooms[0]); i++) {
        if (resource_stmts_check(served_by_rooms[i].resource, served_by_rooms[i].verb) != 0) {
            return -1;
        }
    }
    return 0;
}

/* clang-format off */
const struct db_stmt *const router_stmt_tables[] = {
    health_stmts,        tokens_stmts,       users_stmts,
    organisations_stmts, licences_stmts,     audit_stmts,
    facilitators_stmts,  courses_stmts,      training_stmts,
    locations_stmts,     programmes_stmts,   reports_stmts,
    public_stmts,        openreferral_stmts, postcodes_stmts,
    clients_stmts,       webhooks_stmts,     variants_stmts,
    scheduler_stmts,     delivery_stmts,     outcomes_stmts,
    refdata_stmts,       impact_stmts,       settings_stmts,
    areas_stmts,         places_stmts,       enquiries_stmts,     reminders_stmts,
    NULL,
};
/* clang-format on */

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
    /* Every answer under the Open Referral feed is readable from any origin, unknown paths
     * included (a directory's browser client reads the 404 too). */
    open |= strcmp(r->path, "/openreferral") == 0 || strncmp(r->path, "/openreferral/", 14) == 0;
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
        if (auth_is_commissioner(&r->principal) && !(route->flags & ROUTE_COMMISSIONER)) {
            /* Read-only, and reports only: every other route is refused before its handler. */
            return problem_send(r, PROBLEM_FORBIDDEN, "a commissioner reads reports only");
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
    return route->handler != NULL ? route->handler(r)
                                  : resource_serve(r, route->resource, route->verb);
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
