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

/* Accept-Encoding (RFC 9110 12.5.3): gzip when named (or "*") with a q-value above 0; a named
 * gzip wins over "*"; anything else, or no header, is the plain file. */
static void
test_accepts_gzip(void **state)
{
    static const char *const yes[] = {
        "gzip",
        "gzip, deflate, br",
        "br;q=1.0, gzip;q=0.8, *;q=0.1",
        "deflate,GZIP",
        "x-gzip",
        "*",
        "identity;q=0, *;q=0.5",
        "gzip;q=0.001",
        "gzip ; q=1",
        "br, gzip;level=9",
    };
    static const char *const no[] = {
        "",
        "identity",
        "br, deflate",
        "gzip;q=0",
        "gzip;q=0.000, *",
        "*;q=0",
        "*, gzip;q=0",
        "gzipx",
        "xgzip",
        "gzi",
        "compress;q=0.5, identity",
    };
    size_t i;

    (void)state;
    assert_false(static_accepts_gzip(NULL));
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (!static_accepts_gzip(yes[i])) {
            fail_msg("'%s' should take gzip", yes[i]);
        }
    }
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        if (static_accepts_gzip(no[i])) {
            fail_msg("'%s' should not take gzip", no[i]);
        }
    }
}

/* Without a static folder (or without asset-names.json in it) pages link to the names given. */
static void
test_url_without_names(void **state)
{
    char url[STATIC_URL_MAX];

    (void)state;
    static_url("/assets/app.css", url);
    assert_string_equal(url, "/assets/app.css");
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_paths_served),
          cmocka_unit_test(test_paths_refused),
          cmocka_unit_test(test_content_types),
          cmocka_unit_test(test_accepts_gzip),
          cmocka_unit_test(test_url_without_names))
