/* tests/unit/test_config.c: settings from the environment, defaults and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../test_main.h"
#include "registry/config.h"

static const char *const settings[] = {
    "REGISTRY_DATABASE_URL",   "REGISTRY_LISTEN",     "REGISTRY_THREADS",
    "REGISTRY_DB_POOL",        "REGISTRY_DB_WAIT_MS", "REGISTRY_DB_QUERY_TIMEOUT_MS",
    "REGISTRY_JWT_KEY_DIR",    "REGISTRY_ISSUER",     "REGISTRY_AUDIENCE",
    "REGISTRY_PASSWORD_SLOTS", "REGISTRY_STATIC_DIR", NULL,
};

/* Every test starts from an environment without any of our settings. */
static int
clear_env(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; settings[i] != NULL; i++) {
        unsetenv(settings[i]);
    }
    return 0;
}

/* Loads with one setting; asserts success. */
static void
load_ok(const char *name, const char *value, struct config *c)
{
    char err[256] = "";

    if (name != NULL) {
        assert_int_equal(setenv(name, value, 1), 0);
    }
    if (config_load(c, err, sizeof(err)) != 0) {
        fail_msg("%s='%s' refused: %s", name != NULL ? name : "(defaults)",
                 value != NULL ? value : "", err);
    }
    if (name != NULL) {
        unsetenv(name);
    }
}

/* Loads with one setting; asserts -1 with one line naming the setting. */
static void
load_bad(const char *name, const char *value)
{
    struct config c;
    char err[256];

    memset(err, 0, sizeof(err));
    assert_int_equal(setenv(name, value, 1), 0);
    if (config_load(&c, err, sizeof(err)) != -1) {
        fail_msg("%s='%s' accepted", name, value);
    }
    unsetenv(name);
    if (strstr(err, name) == NULL) {
        fail_msg("%s='%s': message does not name the setting: '%s'", name, value, err);
    }
    assert_null(strchr(err, '\n'));
}

static void
test_defaults(void **state)
{
    struct config c;

    (void)state;
    memset(&c, 0x5a, sizeof(c));
    load_ok(NULL, NULL, &c);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 8080);
    assert_int_equal(c.threads, 64);
    assert_int_equal(c.db_pool, 8);
    assert_int_equal(c.db_wait_ms, 2000);
    assert_int_equal(c.db_query_timeout_ms, 2000);
    assert_int_equal(c.password_slots, 2);
    assert_int_equal(c.access_ttl, 900);
    assert_int_equal(c.refresh_ttl, 30 * 24 * 3600);
    assert_null(c.database_url);
    assert_null(c.jwt_key_dir);
    assert_string_equal(c.issuer, "mpact-registry");
    assert_string_equal(c.audience, "mpact-registry");
    assert_non_null(c.static_dir);
}

static void
test_empty_means_default(void **state)
{
    struct config c;
    size_t i;

    (void)state;
    for (i = 0; settings[i] != NULL; i++) {
        assert_int_equal(setenv(settings[i], "", 1), 0);
    }
    load_ok(NULL, NULL, &c);
    clear_env(NULL);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 8080);
    assert_int_equal(c.threads, 64);
    assert_int_equal(c.db_pool, 8);
    assert_null(c.database_url);
    assert_null(c.jwt_key_dir);
    assert_string_equal(c.issuer, "mpact-registry");
}

static void
test_strings(void **state)
{
    struct config c;
    char err[256];

    (void)state;
    setenv("REGISTRY_DATABASE_URL", "postgresql:///registry?host=/tmp/pg", 1);
    setenv("REGISTRY_JWT_KEY_DIR", "/etc/mpact/keys", 1);
    setenv("REGISTRY_ISSUER", "https://registry.example", 1);
    setenv("REGISTRY_AUDIENCE", "registry-api", 1);
    setenv("REGISTRY_STATIC_DIR", "/srv/static", 1);
    assert_int_equal(config_load(&c, err, sizeof(err)), 0);
    assert_string_equal(c.database_url, "postgresql:///registry?host=/tmp/pg");
    assert_string_equal(c.jwt_key_dir, "/etc/mpact/keys");
    assert_string_equal(c.issuer, "https://registry.example");
    assert_string_equal(c.audience, "registry-api");
    assert_string_equal(c.static_dir, "/srv/static");
    /* c's strings point into the environment: check before it changes. */
    clear_env(NULL);
}

static void
test_listen(void **state)
{
    struct config c;
    char host63[80];

    (void)state;
    load_ok("REGISTRY_LISTEN", "0.0.0.0:9090", &c);
    assert_string_equal(c.listen_host, "0.0.0.0");
    assert_int_equal(c.listen_port, 9090);
    load_ok("REGISTRY_LISTEN", "localhost:1", &c);
    assert_string_equal(c.listen_host, "localhost");
    assert_int_equal(c.listen_port, 1);
    load_ok("REGISTRY_LISTEN", "127.0.0.1:65535", &c);
    assert_int_equal(c.listen_port, 65535);

    /* The longest host that fits. */
    memset(host63, 'h', 63);
    strcpy(host63 + 63, ":80");
    load_ok("REGISTRY_LISTEN", host63, &c);
    assert_int_equal(strlen(c.listen_host), 63);
    assert_int_equal(c.listen_port, 80);
}

static void
test_listen_errors(void **state)
{
    static const char *const bad[] = {
        "8080",                   /* no host */
        ":80",                    /* empty host */
        "host:0",                 /* port 0 */
        "host:99999",             /* beyond 65535 */
        "host:65536", "host:abc", /* not a number */
        "host:",                  /* no port */
        "host:80x",               /* trailing garbage */
        "host:8080 ", "host:-1",  "host:99999999999999999999", "127.0.0.1", "host", NULL,
    };
    char host64[80];
    size_t i;

    (void)state;
    for (i = 0; bad[i] != NULL; i++) {
        load_bad("REGISTRY_LISTEN", bad[i]);
    }
    /* A host longer than the buffer is refused, not truncated. */
    memset(host64, 'h', 64);
    strcpy(host64 + 64, ":80");
    load_bad("REGISTRY_LISTEN", host64);
}

/* A number setting that loads: the variable, its value, and where config_load puts it (the
 * offset of an int in struct config), which must then hold the value. */
struct number_case {
    const char *name, *value;
    size_t offset;
};

#define NUMBER(name, value, field)                                                                 \
    {                                                                                              \
        name, value, offsetof(struct config, field)                                                \
    }

static void
load_numbers(const struct number_case *cases, size_t n, struct config *c)
{
    size_t i;

    for (i = 0; i < n; i++) {
        load_ok(cases[i].name, cases[i].value, c);
        assert_int_equal(*(const int *)((const char *)c + cases[i].offset), atoi(cases[i].value));
    }
}

static void
test_threads(void **state)
{
    static const char *const bad[] = {"abc",  "",    "0",   "1",   "4097",
                                      "-5",   "64x", "6 4", "1e3", "99999999999999999999",
                                      "0x40", NULL};
    static const struct number_case good[] = {
        NUMBER("REGISTRY_THREADS", "2", threads), NUMBER("REGISTRY_THREADS", "4096", threads),
        NUMBER("REGISTRY_THREADS", "128", threads), /* the last: the defaults below are beside it */
    };
    struct config c;
    size_t i;

    (void)state;
    load_numbers(good, sizeof(good) / sizeof(good[0]), &c);
    /* Other settings keep their defaults. */
    assert_int_equal(c.db_pool, 8);
    assert_int_equal(c.listen_port, 8080);

    for (i = 0; bad[i] != NULL; i++) {
        if (bad[i][0] == '\0') {
            continue; /* empty means default, tested above */
        }
        load_bad("REGISTRY_THREADS", bad[i]);
    }
}

static void
test_other_numbers(void **state)
{
    static const struct number_case good[] = {
        NUMBER("REGISTRY_DB_POOL", "16", db_pool),
        NUMBER("REGISTRY_DB_WAIT_MS", "250", db_wait_ms),
        NUMBER("REGISTRY_DB_QUERY_TIMEOUT_MS", "500", db_query_timeout_ms),
        NUMBER("REGISTRY_PASSWORD_SLOTS", "4", password_slots),
    };
    static const char *const bad[][2] = {
        {"REGISTRY_DB_POOL", "0"},
        {"REGISTRY_DB_POOL", "many"},
        {"REGISTRY_DB_POOL", "513"},
        {"REGISTRY_DB_WAIT_MS", "0"},
        {"REGISTRY_DB_WAIT_MS", "60001"},
        {"REGISTRY_DB_WAIT_MS", "2s"},
        {"REGISTRY_DB_QUERY_TIMEOUT_MS", "99"},
        {"REGISTRY_DB_QUERY_TIMEOUT_MS", "600001"},
        {"REGISTRY_DB_QUERY_TIMEOUT_MS", "2s"},
        {"REGISTRY_PASSWORD_SLOTS", "0"},
        {"REGISTRY_PASSWORD_SLOTS", "65"},
    };
    struct config c;
    size_t i;

    (void)state;
    load_numbers(good, sizeof(good) / sizeof(good[0]), &c);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        load_bad(bad[i][0], bad[i][1]);
    }
}

static void
test_small_error_buffer(void **state)
{
    struct config c;
    char err[16];

    (void)state;
    memset(err, 'x', sizeof(err));
    setenv("REGISTRY_THREADS", "nope", 1);
    assert_int_equal(config_load(&c, err, sizeof(err)), -1);
    unsetenv("REGISTRY_THREADS");
    /* Truncated, but terminated inside the buffer. */
    assert_non_null(memchr(err, '\0', sizeof(err)));
    assert_int_equal(strncmp(err, "REGISTRY_THREAD", 15), 0);
}

static void
test_help(void **state)
{
    size_t i;

    (void)state;
    /* --help documents every setting config_load reads. */
    for (i = 0; settings[i] != NULL; i++) {
        if (strstr(config_help, settings[i]) == NULL) {
            fail_msg("%s missing from the help text", settings[i]);
        }
    }
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test_setup(test_defaults, clear_env),
          cmocka_unit_test_setup(test_empty_means_default, clear_env),
          cmocka_unit_test_setup(test_strings, clear_env),
          cmocka_unit_test_setup(test_listen, clear_env),
          cmocka_unit_test_setup(test_listen_errors, clear_env),
          cmocka_unit_test_setup(test_threads, clear_env),
          cmocka_unit_test_setup(test_other_numbers, clear_env),
          cmocka_unit_test_setup(test_small_error_buffer, clear_env),
          cmocka_unit_test_setup(test_help, clear_env))
