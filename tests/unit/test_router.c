/* tests/unit/test_router.c: route patterns against request paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../test_main.h"
#include "registry/router.h"

/* Matches, asserts the outcome and the captured parameters, and frees them. `want` lists the
 * expected parameters (NULL-terminated); NULL `want` means no match is expected. */
static void
expect(const char *pattern, const char *path, const char *const *want)
{
    char *params[HTTP_MAX_PARAMS];
    int nparams = -1, i, n = 0;
    int got = router_match(pattern, path, params, &nparams);

    if (want == NULL) {
        if (got != 0) {
            fail_msg("'%s' matched '%s'", path, pattern);
        }
        /* Nothing is left for the caller to free on a miss. */
        assert_int_equal(nparams, 0);
        return;
    }
    if (got != 1) {
        fail_msg("'%s' did not match '%s'", path, pattern);
    }
    while (want[n] != NULL) {
        n++;
    }
    assert_int_equal(nparams, n);
    for (i = 0; i < nparams; i++) {
        assert_non_null(params[i]);
        assert_string_equal(params[i], want[i]);
        /* Copies, not pointers into the path. */
        assert_true(params[i] < path || params[i] > path + strlen(path));
        free(params[i]);
    }
}

static const char *const none[] = {NULL};

static void
test_literal(void **state)
{
    (void)state;
    expect("/healthz", "/healthz", none);
    expect("/v1/organisations", "/v1/organisations", none);
    expect("/.well-known/jwks.json", "/.well-known/jwks.json", none);
    expect("/healthz", "/healthz/", NULL);
    expect("/healthz", "/healthzx", NULL);
    expect("/healthz", "/health", NULL);
    expect("/healthz", "/healthz/x", NULL);
    expect("/healthz", "/", NULL);
    expect("/healthz", "", NULL);
    expect("/healthz", "healthz", NULL);
    expect("/healthz", "//healthz", NULL);
    /* Case matters (CivetWeb's own handler matching does not: LIBRARIES.md 7). */
    expect("/healthz", "/HEALTHZ", NULL);
    expect("/v1/organisations", "/V1/organisations", NULL);
    /* A literal pattern is not a prefix. */
    expect("/v1/organisations", "/v1/organisations/123", NULL);
    expect("/v1/organisations", "/v1/organisationsX", NULL);
    expect("/v1/users/me/password", "/v1/users/me/password", none);
    expect("/v1/users/me/password", "/v1/users/me/passwords", NULL);
}

static void
test_params(void **state)
{
    static const char *const abc[] = {"abc", NULL};
    static const char *const uuid[] = {"123e4567-e89b-12d3-a456-426614174000", NULL};
    static const char *const me[] = {"me", NULL};
    static const char *const odd[] = {"a.b-c%20~", NULL};

    (void)state;
    expect("/v1/organisations/{}", "/v1/organisations/abc", abc);
    expect("/v1/organisations/{}", "/v1/organisations/123e4567-e89b-12d3-a456-426614174000", uuid);
    expect("/v1/organisations/{}/licences", "/v1/organisations/abc/licences", abc);
    expect("/v1/users/{}", "/v1/users/me", me);
    expect("/problems/{}", "/problems/a.b-c%20~", odd);
}

static void
test_param_edges(void **state)
{
    (void)state;
    /* Trailing slash, missing and extra segments. */
    expect("/v1/organisations/{}", "/v1/organisations/abc/", NULL);
    expect("/v1/organisations/{}", "/v1/organisations/", NULL);
    expect("/v1/organisations/{}", "/v1/organisations", NULL);
    expect("/v1/organisations/{}", "/v1/organisations/abc/licences", NULL);
    expect("/v1/organisations/{}", "/v1/organisations/abc/def", NULL);
    expect("/v1/users/{}", "/v1/users/me/password", NULL);
    /* Empty segments never match a parameter. */
    expect("/v1/organisations/{}/licences", "/v1/organisations//licences", NULL);
    expect("/v1/organisations/{}/licences", "/v1/organisations/licences", NULL);
    /* A parameter is captured, then the rest fails: the copy must be freed (no leak). */
    expect("/v1/organisations/{}/licences", "/v1/organisations/abc/licence", NULL);
    expect("/v1/organisations/{}/licences", "/v1/organisations/abc/licencesX", NULL);
    expect("/v1/organisations/{}/licences", "/v1/organisations/abc", NULL);
    expect("/v1/organisations/{}/licences", "/v1/organisations/abc/", NULL);
    expect("/v1/organisations/{}/licences", "/v2/organisations/abc/licences", NULL);
}

static void
test_several_params(void **state)
{
    static const char *const two[] = {"o1", "l2", NULL};
    static const char *const four[] = {"a", "b", "c", "d", NULL};

    (void)state;
    expect("/v1/organisations/{}/licences/{}", "/v1/organisations/o1/licences/l2", two);
    expect("/v1/organisations/{}/licences/{}", "/v1/organisations/o1/licences/", NULL);
    expect("/v1/organisations/{}/licences/{}", "/v1/organisations/o1/licences", NULL);
    expect("/v1/organisations/{}/licences/{}", "/v1/organisations/o1/licencez/l2", NULL);
    expect("/v1/organisations/{}/licences/{}", "/v1/organisations/o1/licences/l2/x", NULL);
    expect("/{}/{}/{}/{}", "/a/b/c/d", four);
    expect("/{}/{}/{}/{}", "/a/b/c/", NULL);
    /* More parameters than a request can hold: no match, and nothing leaks. */
    expect("/{}/{}/{}/{}/{}", "/a/b/c/d/e", NULL);
}

static void
test_params_untouched_path(void **state)
{
    char path[] = "/v1/organisations/abc/licences";
    char *params[HTTP_MAX_PARAMS];
    int nparams;

    (void)state;
    assert_int_equal(router_match("/v1/organisations/{}/licences", path, params, &nparams), 1);
    assert_int_equal(nparams, 1);
    /* The path is not modified, and the parameter outlives changes to it. */
    assert_string_equal(path, "/v1/organisations/abc/licences");
    memset(path, 'x', sizeof(path) - 1);
    assert_string_equal(params[0], "abc");
    free(params[0]);
}

static void
test_tail(void **state)
{
    static const char *const one[] = {"govuk/govuk-frontend.min.css", NULL};
    static const char *const file[] = {"x.js", NULL};
    static const char *const empty[] = {"", NULL};
    static const char *const two[] = {"abc", "a/b/c", NULL};

    (void)state;
    expect("/assets/{*}", "/assets/govuk/govuk-frontend.min.css", one);
    expect("/assets/{*}", "/assets/x.js", file);
    expect("/assets/{*}", "/assets/", empty); /* the folder itself: the handler refuses it */
    expect("/assets/{*}", "/assets", NULL);
    expect("/assets/{*}", "/assetsx/y", NULL);
    expect("/assets/{*}", "/asset/x", NULL);
    expect("/x/{}/{*}", "/x/abc/a/b/c", two);
    expect("/x/{}/{*}", "/x//a", NULL);
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_tail),
          cmocka_unit_test(test_literal),
          cmocka_unit_test(test_params),
          cmocka_unit_test(test_param_edges),
          cmocka_unit_test(test_several_params),
          cmocka_unit_test(test_params_untouched_path))
