/* tests/unit/test_openapi.c: static/openapi.json describes exactly the routes the server answers.
 *
 * The route table (router_routes) is the truth. Each route must appear in the description under
 * the same method, its pattern's parameters ("{}", and a final "{*}") as named templates in the
 * same places ("/v1/users/{}" is "/v1/users/{id}"); each described path and method must be a
 * route (no stale documentation). Each operation declares its path parameters in order, and its
 * security says what the router enforces: none on public routes, a bearer token on the others,
 * and the client-credentials scope exactly when the route admits API clients. Open routes (rate
 * limited) document 429. The file comes from OPENAPI_JSON (set by tests/CMakeLists.txt). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../test_main.h"
#include "registry/router.h"

static const char *const methods[] = {"get",  "put",   "post",  "delete", "options",
                                      "head", "patch", "trace", NULL};

/* Appends a line to the failure report. */
static void note(char *report, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
note(char *report, size_t len, const char *fmt, ...)
{
    size_t used = strlen(report);
    va_list ap;

    if (used + 1 >= len) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(report + used, len - used, fmt, ap);
    va_end(ap);
    used = strlen(report);
    if (used + 1 < len) {
        report[used] = '\n';
        report[used + 1] = '\0';
    }
}

static int
setup(void **state)
{
    const char *file = getenv("OPENAPI_JSON");
    json_error_t err;
    json_t *spec;

    if (file == NULL) {
        fprintf(stderr, "OPENAPI_JSON is not set (tests/CMakeLists.txt sets it)\n");
        return -1;
    }
    spec = json_load_file(file, JSON_REJECT_DUPLICATES, &err);
    if (spec == NULL) {
        fprintf(stderr, "%s:%d: %s\n", file, err.line, err.text);
        return -1;
    }
    *state = spec;
    return 0;
}

static int
teardown(void **state)
{
    json_decref(*state);
    return 0;
}

/* Writes `pattern` with every parameter as "{}" ("{*}" included) into out. */
static void
route_shape(const char *pattern, char *out, size_t len)
{
    size_t o = 0;

    while (*pattern != '\0' && o + 3 < len) {
        if (strncmp(pattern, "{*}", 3) == 0) {
            memcpy(out + o, "{}", 2);
            o += 2;
            pattern += 3;
            continue;
        }
        out[o++] = *pattern++;
    }
    out[o] = '\0';
}

/* Writes the OpenAPI path template with every "{name}" as "{}" into out. Returns the number of
 * parameters, or -1 when a brace is unbalanced or a name is empty. */
static int
template_shape(const char *path, char *out, size_t len)
{
    size_t o = 0;
    int n = 0;

    while (*path != '\0' && o + 3 < len) {
        if (*path == '{') {
            const char *close = strchr(path, '}');
            if (close == NULL || close == path + 1) {
                return -1;
            }
            memcpy(out + o, "{}", 2);
            o += 2;
            path = close + 1;
            n++;
            continue;
        }
        if (*path == '}') {
            return -1;
        }
        out[o++] = *path++;
    }
    out[o] = '\0';
    return n;
}

/* The operation for (method, pattern) in the description, or NULL. `method` is upper case. */
static json_t *
find_operation(json_t *spec, const char *method, const char *pattern, const char **path_out)
{
    char want[256], got[256], lower[16];
    const char *path;
    json_t *item;
    size_t i;

    route_shape(pattern, want, sizeof(want));
    for (i = 0; method[i] != '\0' && i + 1 < sizeof(lower); i++) {
        lower[i] = (char)(method[i] | 0x20);
    }
    lower[i] = '\0';
    json_object_foreach(json_object_get(spec, "paths"), path, item)
    {
        if (template_shape(path, got, sizeof(got)) >= 0 && strcmp(got, want) == 0
            && json_object_get(item, lower) != NULL) {
            *path_out = path;
            return json_object_get(item, lower);
        }
    }
    return NULL;
}

/* Follows a local "$ref" ("#/components/<kind>/<name>") once. Borrowed. */
static json_t *
deref(json_t *spec, json_t *obj)
{
    const char *ref = json_string_value(json_object_get(obj, "$ref"));
    char kind[64], name[128];

    if (ref == NULL) {
        return obj;
    }
    if (sscanf(ref, "#/components/%63[^/]/%127s", kind, name) != 2) {
        return NULL;
    }
    return json_object_get(json_object_get(json_object_get(spec, "components"), kind), name);
}

static void
test_description_is_openapi_3_1(void **state)
{
    json_t *spec = *state;
    const char *version = json_string_value(json_object_get(spec, "openapi"));

    assert_non_null(version);
    assert_true(strncmp(version, "3.1.", 4) == 0);
    assert_true(json_object_size(json_object_get(spec, "paths")) > 0);
}

/* Runs `check` on every route of the router's table, each adding what is wrong to `report`, and
 * fails with `title` and the report when anything is. */
static void
check_routes(json_t *spec,
             void (*check)(json_t *spec, const struct route *rt, char *report, size_t len),
             const char *title)
{
    const struct route *routes;
    size_t n = router_routes(&routes), i;
    char report[8192] = "";

    assert_true(n > 0);
    for (i = 0; i < n; i++) {
        check(spec, &routes[i], report, sizeof(report));
    }
    if (report[0] != '\0') {
        fail_msg("%s:\n%s", title, report);
    }
}

static void
described(json_t *spec, const struct route *rt, char *report, size_t len)
{
    const char *path;

    if (find_operation(spec, rt->method, rt->pattern, &path) == NULL) {
        note(report, len, "not described: %s %s", rt->method, rt->pattern);
    }
}

/* Every route the server answers is described under its method. */
static void
test_every_route_described(void **state)
{
    check_routes(*state, described, "routes missing from openapi.json");
}

/* Every described path and method is a route (nothing stale, nothing invented). */
static void
test_every_description_is_a_route(void **state)
{
    json_t *spec = *state;
    const struct route *routes;
    size_t n = router_routes(&routes), i, m;
    char report[8192] = "";
    const char *path;
    json_t *item;

    json_object_foreach(json_object_get(spec, "paths"), path, item)
    {
        char shape[256];

        if (template_shape(path, shape, sizeof(shape)) < 0) {
            note(report, sizeof(report), "malformed template: %s", path);
            continue;
        }
        for (m = 0; methods[m] != NULL; m++) {
            int found = 0;

            if (json_object_get(item, methods[m]) == NULL) {
                continue;
            }
            for (i = 0; i < n && !found; i++) {
                char want[256], upper[16];
                size_t k;

                for (k = 0; methods[m][k] != '\0'; k++) {
                    upper[k] = (char)(methods[m][k] & ~0x20);
                }
                upper[k] = '\0';
                route_shape(routes[i].pattern, want, sizeof(want));
                found = strcmp(routes[i].method, upper) == 0 && strcmp(want, shape) == 0;
            }
            if (!found) {
                note(report, sizeof(report), "no such route: %s %s", methods[m], path);
            }
        }
    }
    if (report[0] != '\0') {
        fail_msg("openapi.json describes what the server does not answer:\n%s", report);
    }
}

/* Each operation declares its path parameters, in the order of the template. */
static void
test_path_parameters_declared(void **state)
{
    json_t *spec = *state;
    char report[8192] = "";
    const char *path;
    json_t *item;

    json_object_foreach(json_object_get(spec, "paths"), path, item)
    {
        const char *method;
        json_t *op;

        json_object_foreach(item, method, op)
        {
            const char *p = path;
            json_t *lists[2] = {json_object_get(item, "parameters"),
                                json_object_get(op, "parameters")};

            if (strcmp(method, "parameters") == 0 || strcmp(method, "summary") == 0
                || strcmp(method, "description") == 0) {
                continue;
            }
            while ((p = strchr(p, '{')) != NULL) {
                const char *close = strchr(p, '}');
                char name[64];
                int found = 0, l;
                size_t k;
                json_t *param;

                if (close == NULL || (size_t)(close - p - 1) >= sizeof(name)) {
                    break;
                }
                memcpy(name, p + 1, (size_t)(close - p - 1));
                name[close - p - 1] = '\0';
                for (l = 0; l < 2; l++) {
                    json_array_foreach(lists[l], k, param)
                    {
                        json_t *d = deref(spec, param);
                        const char *pn = json_string_value(json_object_get(d, "name"));
                        const char *in = json_string_value(json_object_get(d, "in"));
                        if (pn != NULL && in != NULL && strcmp(pn, name) == 0
                            && strcmp(in, "path") == 0
                            && json_is_true(json_object_get(d, "required"))) {
                            found = 1;
                        }
                    }
                }
                if (!found) {
                    note(report, sizeof(report), "%s %s: path parameter %s not declared", method,
                         path, name);
                }
                p = close + 1;
            }
        }
    }
    if (report[0] != '\0') {
        fail_msg("%s", report);
    }
}

/* 1 when the operation's effective security (its own, else the document's) has a requirement
 * naming `scheme`; with `scope` not NULL, that requirement must list exactly that one scope. */
static int requires(json_t *spec, json_t *op, const char *scheme, const char *scope)
{
    json_t *security = json_object_get(op, "security"), *req;
    size_t i;

    if (security == NULL) {
        security = json_object_get(spec, "security");
    }
    json_array_foreach(security, i, req)
    {
        json_t *scopes = json_object_get(req, scheme);
        if (scopes == NULL) {
            continue;
        }
        if (scope == NULL) {
            return 1;
        }
        return json_array_size(scopes) == 1
               && strcmp(json_string_value(json_array_get(scopes, 0)), scope) == 0;
    }
    return 0;
}

/* The description's security is what the router enforces, for the route `rt`. */
static void
security_matches(json_t *spec, const struct route *rt, char *report, size_t len)
{
    const char *path = NULL;
    json_t *op = find_operation(spec, rt->method, rt->pattern, &path);
    json_t *security;
    int open = rt->access == ACCESS_PUBLIC || rt->access == ACCESS_OPEN;

    if (op == NULL) {
        return; /* reported by test_every_route_described */
    }
    security = json_object_get(op, "security");
    if (security == NULL) {
        security = json_object_get(spec, "security");
    }
    if (open && json_array_size(security) != 0) {
        note(report, len, "%s %s: open route but security %s", rt->method, path, "is required");
    }
    if (!open && !requires(spec, op, "bearerAuth", NULL)) {
        note(report, len, "%s %s: needs a token but bearerAuth is not listed", rt->method, path);
    }
    if (!open && rt->scope != NULL && !requires(spec, op, "clientCredentials", rt->scope)) {
        note(report, len, "%s %s: API clients with scope %s may call it", rt->method, path,
             rt->scope);
    }
    if (!open && rt->scope == NULL && requires(spec, op, "clientCredentials", NULL)) {
        note(report, len, "%s %s: no API client may call it", rt->method, path);
    }
    if (rt->access == ACCESS_OPEN
        && json_object_get(json_object_get(op, "responses"), "429") == NULL) {
        note(report, len, "%s %s: rate limited but 429 is not documented", rt->method, path);
    }
    if (!open && json_object_get(json_object_get(op, "responses"), "401") == NULL) {
        note(report, len, "%s %s: 401 is not documented", rt->method, path);
    }
    if (rt->access == ACCESS_ADMIN
        && json_object_get(json_object_get(op, "responses"), "403") == NULL) {
        note(report, len, "%s %s: admin only but 403 is not documented", rt->method, path);
    }
}

static void
test_security_matches_access(void **state)
{
    check_routes(*state, security_matches, "security in openapi.json differs from the route table");
}

TEST_MAIN(setup,
          teardown,
          cmocka_unit_test(test_description_is_openapi_3_1),
          cmocka_unit_test(test_every_route_described),
          cmocka_unit_test(test_every_description_is_a_route),
          cmocka_unit_test(test_path_parameters_declared),
          cmocka_unit_test(test_security_matches_access))
