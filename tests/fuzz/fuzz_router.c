/* fuzz_router.c: router_match with every pattern of the route table against the input as a path
 * (first byte even), or an input "pattern\npath" (odd). A match must give back the path: its
 * parameters put into the pattern's {} and {*} rebuild it exactly, and a {} never holds a slash or
 * is empty. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_stub.h"
#include "registry/router.h"

static void
check(const char *pattern, const char *path)
{
    char *params[HTTP_MAX_PARAMS] = {0};
    char *rebuilt;
    const char *p;
    size_t len = 0;
    int n = -1, i = 0;

    if (!router_match(pattern, path, params, &n)) {
        return;
    }
    FUZZ_CHECK(n >= 0 && n <= HTTP_MAX_PARAMS, "parameter count out of range");
    rebuilt = malloc(strlen(pattern) + strlen(path) + 1);
    FUZZ_CHECK(rebuilt != NULL, "out of memory");
    for (p = pattern; *p != '\0';) {
        if (strncmp(p, "{*}", 3) == 0 && p[3] == '\0') {
            FUZZ_CHECK(i < n && params[i] != NULL, "missing {*} parameter");
            memcpy(rebuilt + len, params[i], strlen(params[i]));
            len += strlen(params[i++]);
            p += 3;
        } else if (strncmp(p, "{}", 2) == 0) {
            FUZZ_CHECK(i < n && params[i] != NULL, "missing {} parameter");
            FUZZ_CHECK(params[i][0] != '\0' && strchr(params[i], '/') == NULL,
                       "a {} parameter is empty or holds a slash");
            memcpy(rebuilt + len, params[i], strlen(params[i]));
            len += strlen(params[i++]);
            p += 2;
        } else {
            rebuilt[len++] = *p++;
        }
    }
    rebuilt[len] = '\0';
    FUZZ_CHECK(i == n, "more parameters than the pattern has");
    FUZZ_CHECK(strcmp(rebuilt, path) == 0, "the parameters do not rebuild the path");
    free(rebuilt);
    for (i = 0; i < n; i++) {
        free(params[i]);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    const struct route *routes;
    size_t nroutes, i;

    if (size == 0) {
        return 0;
    }
    text = malloc(size);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if ((data[0] & 1) == 0) {
        nroutes = router_routes(&routes);
        for (i = 0; i < nroutes; i++) {
            check(routes[i].pattern, text);
        }
    } else {
        char *nl = strchr(text, '\n');
        if (nl != NULL) {
            *nl = '\0';
            check(text, nl + 1);
        }
    }
    free(text);
    return 0;
}
