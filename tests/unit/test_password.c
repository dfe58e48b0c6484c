/* tests/unit/test_password.c: yescrypt hashing, verification and the password policy. */
#include <crypt.h>
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../test_main.h"
#include "registry/password.h"

static const char good_pw[] = "correct horse battery";

/* Test seam: this definition of crypt_rn takes the place of libxcrypt's for server/password.c
 * (linked statically into this executable). It counts calls and hashes in flight, can hold
 * each call for a while so that overlaps would show, then calls the real function. */
static atomic_int seam_in_flight, seam_max_in_flight, seam_calls;
static atomic_int seam_hold_ms;
static char seam_last_setting[CRYPT_OUTPUT_SIZE];
static pthread_mutex_t seam_mutex = PTHREAD_MUTEX_INITIALIZER;

char *
crypt_rn(const char *phrase, const char *setting, void *data, int size)
{
    static char *(*real)(const char *, const char *, void *, int);
    int now, max, hold;
    char *res;

    if (real == NULL) {
        *(void **)&real = dlsym(RTLD_NEXT, "crypt_rn");
        if (real == NULL) {
            abort();
        }
    }
    now = atomic_fetch_add(&seam_in_flight, 1) + 1;
    max = atomic_load(&seam_max_in_flight);
    while (now > max && !atomic_compare_exchange_weak(&seam_max_in_flight, &max, now)) {
    }
    atomic_fetch_add(&seam_calls, 1);
    pthread_mutex_lock(&seam_mutex);
    snprintf(seam_last_setting, sizeof seam_last_setting, "%s", setting != NULL ? setting : "");
    pthread_mutex_unlock(&seam_mutex);
    hold = atomic_load(&seam_hold_ms);
    if (hold > 0) {
        struct timespec ts = {0, (long)hold * 1000000L};

        nanosleep(&ts, NULL);
    }
    res = real(phrase, setting, data, size);
    atomic_fetch_sub(&seam_in_flight, 1);
    return res;
}

static void
seam_reset(int hold_ms)
{
    atomic_store(&seam_in_flight, 0);
    atomic_store(&seam_max_in_flight, 0);
    atomic_store(&seam_calls, 0);
    atomic_store(&seam_hold_ms, hold_ms);
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_hash_and_verify(void **state)
{
    char h1[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];

    (void)state;
    assert_int_equal(password_hash(good_pw, h1, sizeof h1), 0);
    assert_memory_equal(h1, "$y$", 3);
    assert_int_equal(crypt_checksalt(h1), CRYPT_SALT_OK);
    assert_int_equal(password_verify(good_pw, h1), 1);
    assert_int_equal(password_verify("correct horse battery ", h1), 0);
    assert_int_equal(password_verify("Correct horse battery", h1), 0);
    assert_int_equal(password_verify("", h1), 0);
    assert_int_equal(password_verify(NULL, h1), 0);

    /* Fresh salt each time. */
    assert_int_equal(password_hash(good_pw, h2, sizeof h2), 0);
    assert_string_not_equal(h1, h2);
    assert_int_equal(password_verify(good_pw, h2), 1);

    /* Output buffer too small, or bad arguments. */
    assert_int_equal(password_hash(good_pw, h2, 20), -1);
    assert_int_equal(password_hash(NULL, h2, sizeof h2), -1);
    assert_int_equal(password_hash(good_pw, NULL, sizeof h2), -1);
}

static void
test_corrupt_stored(void **state)
{
    char h[PASSWORD_HASH_MAX], bad[PASSWORD_HASH_MAX];
    struct crypt_data *cd = calloc(1, sizeof *cd);
    const char *des, *md5, *bcrypt;
    size_t n;

    (void)state;
    assert_non_null(cd);
    assert_int_equal(password_hash(good_pw, h, sizeof h), 0);
    n = strlen(h);

    assert_int_equal(password_verify(good_pw, NULL), 0);
    assert_int_equal(password_verify(good_pw, ""), 0);
    assert_int_equal(password_verify(good_pw, "$y$garbage"), 0);
    assert_int_equal(password_verify(good_pw, "$y$"), 0);
    assert_int_equal(password_verify(good_pw, "*0"), 0);
    assert_int_equal(password_verify(good_pw, "abJnggxhB/yWI"), 0);

    /* A real DES hash of the same password: crypt() would accept it; we must not. */
    des = crypt_rn(good_pw, "ab", cd, (int)sizeof *cd);
    if (des != NULL && des[0] != '*') {
        assert_int_equal(password_verify(good_pw, des), 0);
    }
    /* Other real hashes of the same password are foreign to us too. */
    md5 = crypt_rn(good_pw, "$1$saltsalt$", cd, (int)sizeof *cd);
    if (md5 != NULL && md5[0] != '*') {
        strcpy(bad, md5);
        assert_int_equal(password_verify(good_pw, bad), 0);
    }
    bcrypt = crypt_rn(good_pw, "$2b$05$abcdefghijklmnopqrstuu", cd, (int)sizeof *cd);
    if (bcrypt != NULL && bcrypt[0] != '*') {
        strcpy(bad, bcrypt);
        assert_int_equal(password_verify(good_pw, bad), 0);
    }

    /* Truncated, extended, one character changed. */
    memcpy(bad, h, n - 1);
    bad[n - 1] = '\0';
    assert_int_equal(password_verify(good_pw, bad), 0);
    strcpy(bad, h);
    strcat(bad, "A");
    assert_int_equal(password_verify(good_pw, bad), 0);
    strcpy(bad, h);
    bad[n - 3] = bad[n - 3] == 'A' ? 'B' : 'A';
    assert_int_equal(password_verify(good_pw, bad), 0);
    /* The setting alone (no hash part) is not a hash. */
    strcpy(bad, h);
    *strrchr(bad, '$') = '\0';
    assert_int_equal(password_verify(good_pw, bad), 0);

    /* Over-long passwords are not hashed. */
    {
        char long_pw[PASSWORD_MAX + 2];

        memset(long_pw, 'x', sizeof long_pw - 1);
        long_pw[sizeof long_pw - 1] = '\0';
        assert_int_equal(password_hash(long_pw, bad, sizeof bad), -1);
        assert_int_equal(password_verify(long_pw, h), 0);
        long_pw[PASSWORD_MAX] = '\0';
        assert_int_equal(password_hash(long_pw, bad, sizeof bad), 0);
        assert_int_equal(password_verify(long_pw, bad), 1);
    }
    free(cd);
}

/* An unknown account (stored == NULL) must cost about as much as a wrong password. */
static void
test_dummy_timing(void **state)
{
    char h[PASSWORD_HASH_MAX];
    double t0, real = 1e9, dummy = 1e9, d;
    int i;

    (void)state;
    assert_int_equal(password_hash(good_pw, h, sizeof h), 0);
    (void)password_verify("warm up", NULL);

    /* Deterministic part: exactly one yescrypt computation, with a yescrypt setting, for an
     * unknown account and for each kind of unusable stored hash. */
    seam_reset(0);
    assert_int_equal(password_verify(good_pw, NULL), 0);
    assert_int_equal(atomic_load(&seam_calls), 1);
    assert_memory_equal(seam_last_setting, "$y$", 3);
    seam_reset(0);
    assert_int_equal(password_verify(good_pw, "abJnggxhB/yWI"), 0);
    assert_int_equal(atomic_load(&seam_calls), 1);
    assert_memory_equal(seam_last_setting, "$y$", 3);
    /* A yescrypt-looking hash libxcrypt refuses still ends with a real computation. */
    seam_reset(0);
    assert_int_equal(password_verify(good_pw, "$y$garbage"), 0);
    assert_true(atomic_load(&seam_calls) >= 1);
    assert_memory_equal(seam_last_setting, "$y$", 3);
    assert_string_not_equal(seam_last_setting, "$y$garbage");
    seam_reset(0);
    assert_int_equal(password_verify(NULL, h), 0);
    assert_int_equal(atomic_load(&seam_calls), 1);

    /* Timing part: loose, since these machines are shared. */
    for (i = 0; i < 3; i++) {
        t0 = now_s();
        assert_int_equal(password_verify("wrong password!", h), 0);
        d = now_s() - t0;
        real = d < real ? d : real;
        t0 = now_s();
        assert_int_equal(password_verify("wrong password!", NULL), 0);
        d = now_s() - t0;
        dummy = d < dummy ? d : dummy;
    }
    /* A skipped hash would take microseconds against ~100 ms. */
    assert_true(dummy > real * 0.5);
    assert_true(dummy < real * 2.0);
}

struct hash_arg {
    int rc;
    char out[PASSWORD_HASH_MAX];
};

static void *
hash_one(void *p)
{
    struct hash_arg *a = p;

    a->rc = password_hash(good_pw, a->out, sizeof a->out);
    return NULL;
}

/* Runs `n` concurrent password_hash calls and returns the most hashes seen in flight. */
static int
max_concurrent(int n)
{
    struct hash_arg args[8];
    pthread_t th[8];
    int i, max;

    assert_true(n <= 8);
    seam_reset(60);
    for (i = 0; i < n; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, hash_one, &args[i]), 0);
    }
    for (i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].rc, 0);
    }
    assert_int_equal(atomic_load(&seam_calls), n);
    max = atomic_load(&seam_max_in_flight);
    seam_reset(0);
    for (i = 0; i < n; i++) {
        assert_int_equal(password_verify(good_pw, args[i].out), 1);
    }
    return max;
}

/* Must run before any password_init: two slots by default. */
static void
test_default_slots(void **state)
{
    (void)state;
    assert_int_equal(max_concurrent(5), 2);
}

static void
test_concurrency_bound(void **state)
{
    (void)state;
    password_init(1);
    assert_int_equal(max_concurrent(4), 1);
    password_init(3);
    assert_int_equal(max_concurrent(6), 3);
    password_init(0); /* nonsense means one */
    assert_int_equal(max_concurrent(3), 1);
    password_init(2);
}

static void
test_policy(void **state)
{
    const char *r;
    char long_pw[PASSWORD_MAX + 2];

    (void)state;
    assert_null(password_policy("correct horse battery", "ann@example.org"));
    assert_null(password_policy("abcdefghijkl", NULL)); /* exactly 12 */

    r = password_policy("abcdefghijk", NULL); /* 11 */
    assert_non_null(r);
    assert_string_equal(r, "must be at least 12 characters");
    assert_non_null(password_policy("", NULL));
    assert_non_null(password_policy(NULL, NULL));

    /* Characters, not bytes: 11 two-byte characters (22 bytes) is too short, 12 is fine. */
    assert_non_null(password_policy("\xc3\xa9\xc3\xa8\xc3\xa0\xc3\xb9\xc3\xa2\xc3\xaa\xc3\xae"
                                    "\xc3\xb4\xc3\xbb\xc3\xab\xc3\xaf",
                                    NULL));
    assert_null(password_policy("\xc3\xa9\xc3\xa8\xc3\xa0\xc3\xb9\xc3\xa2\xc3\xaa\xc3\xae"
                                "\xc3\xb4\xc3\xbb\xc3\xab\xc3\xaf\xc3\xa7",
                                NULL));

    /* At most PASSWORD_MAX bytes. */
    memset(long_pw, 'a', sizeof long_pw - 1);
    long_pw[sizeof long_pw - 1] = '\0';
    long_pw[0] = 'b';
    r = password_policy(long_pw, NULL);
    assert_non_null(r);
    assert_non_null(strstr(r, "at most"));
    long_pw[PASSWORD_MAX] = '\0';
    assert_null(password_policy(long_pw, NULL));

    /* Not the email, whatever the case. */
    assert_non_null(password_policy("Ann.Smith@Example.org", "ann.smith@example.org"));
    assert_null(password_policy("Ann.Smith@Example.org!", "ann.smith@example.org"));

    /* Not one character repeated. */
    assert_non_null(password_policy("aaaaaaaaaaaaaaaa", NULL));
    assert_non_null(password_policy("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
                                    "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
                                    "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac",
                                    NULL));
    assert_null(password_policy("aaaaaaaaaaaaaaab", NULL));

    /* Invalid UTF-8: a stray continuation byte, an overlong form, a surrogate. */
    assert_non_null(password_policy("abcdefghijkl\x80", NULL));
    assert_non_null(password_policy("abcdefghijkl\xc0\xaf", NULL));
    assert_non_null(password_policy("abcdefghijkl\xed\xa0\x80", NULL));
    assert_non_null(password_policy("abcdefghijkl\xe2\x82", NULL));
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_default_slots), /* first: before any password_init */
          cmocka_unit_test(test_hash_and_verify),
          cmocka_unit_test(test_corrupt_stored),
          cmocka_unit_test(test_dummy_timing),
          cmocka_unit_test(test_concurrency_bound),
          cmocka_unit_test(test_policy))
