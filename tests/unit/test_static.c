/* tests/unit/test_static.c: which paths under the static folder may be served, and as what. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../test_main.h"
#include "registry/static.h"

static void
test_paths_served(void **state)
{
    static const char *const ok[] = {
        "assets/govuk/govuk-frontend.min.css",
        "assets/govuk/assets/fonts/light-94a07e06a1-v2.woff2",
        "assets/js/app/console.mjs",
        "problems/validation.html",
        "assets/app_1.2-x.js",
        "openapi.json",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (!static_path_ok(ok[i])) {
            fail_msg("refused '%s'", ok[i]);
        }
    }
}

static void
test_paths_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "assets/",
        "assets//x.css",
        "/etc/passwd.txt",
        "assets/../../etc/passwd.txt",
        "assets/..css",
        "assets/.hidden.css",
        "assets/-rf.js",
        "assets/a b.css",
        "assets/a%2e.css",
        "assets/a\\b.css",
        "assets/x.php",
        "assets/x",
        "assets/x.",
        "assets/x.css/",
        "assets/x.CSS",
        "assets/caf\xc3\xa9.css",
        "assets/x.css\n",
    };
    char long_path[700];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (static_path_ok(bad[i])) {
            fail_msg("served '%s'", bad[i]);
        }
    }
    memset(long_path, 'a', sizeof(long_path) - 5);
    memcpy(long_path + sizeof(long_path) - 5, ".css", 5);
    assert_false(static_path_ok(long_path));
}

static void
test_content_types(void **state)
{
    (void)state;
    assert_string_equal(static_content_type("a/b.html"), "text/html; charset=utf-8");
    assert_string_equal(static_content_type("b.min.css"), "text/css; charset=utf-8");
    assert_string_equal(static_content_type("x.js"), "text/javascript; charset=utf-8");
    assert_string_equal(static_content_type("f.woff2"), "font/woff2");
    assert_string_equal(static_content_type("openapi.json"), "application/json; charset=utf-8");
    assert_null(static_content_type("x.exe"));
    assert_null(static_content_type("a.d/x"));
    assert_null(static_content_type("noext"));
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_paths_served),
          cmocka_unit_test(test_paths_refused),
          cmocka_unit_test(test_content_types))
