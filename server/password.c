/* server/password.c: yescrypt password hashes (libxcrypt), with a bound on how many run at
 * once, and the password policy. */
#include "registry/password.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registry/validate.h"

#define PASSWORD_DEFAULT_SLOTS 2
#define PASSWORD_PREFIX        "$y$"
#define PASSWORD_STR2(x)       #x
#define PASSWORD_STR(x)        PASSWORD_STR2(x)

/* A valid yescrypt setting at libxcrypt's default cost, used only if generating a fresh dummy
 * setting fails, so that password_verify(pw, NULL) still does the same work. */
#define PASSWORD_FALLBACK_DUMMY "$y$j9T$Lq4uTfB5HM5TkEsUD4bHm1$"

/* The concurrency bound: at most `slots_total` hash computations at a time. */
static pthread_mutex_t slots_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slots_cond = PTHREAD_COND_INITIALIZER;
static int slots_total = PASSWORD_DEFAULT_SLOTS;
static int slots_busy;

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_setting[CRYPT_GENSALT_OUTPUT_SIZE];

void
password_init(int slots)
{
    pthread_mutex_lock(&slots_mutex);
    slots_total = slots > 0 ? slots : 1;
    pthread_cond_broadcast(&slots_cond);
    pthread_mutex_unlock(&slots_mutex);
}

static void
slot_acquire(void)
{
    pthread_mutex_lock(&slots_mutex);
    while (slots_busy >= slots_total) {
        pthread_cond_wait(&slots_cond, &slots_mutex);
    }
    slots_busy++;
    pthread_mutex_unlock(&slots_mutex);
}

static void
slot_release(void)
{
    pthread_mutex_lock(&slots_mutex);
    slots_busy--;
    pthread_cond_signal(&slots_cond);
    pthread_mutex_unlock(&slots_mutex);
}

static void
dummy_make(void)
{
    char *s = crypt_gensalt_ra(NULL, 0, NULL, 0);

    if (s != NULL && strncmp(s, PASSWORD_PREFIX, strlen(PASSWORD_PREFIX)) == 0
        && strlen(s) < sizeof dummy_setting) {
        strcpy(dummy_setting, s);
    } else {
        strcpy(dummy_setting, PASSWORD_FALLBACK_DUMMY);
    }
    free(s);
}

/* Runs one yescrypt computation inside a concurrency slot. Returns 0 with the hash in `out`
 * (which holds CRYPT_OUTPUT_SIZE bytes), or -1. */
static int
compute(const char *pw, const char *setting, char *out)
{
    struct crypt_data *data;
    const char *res;
    int rc = -1;

    data = calloc(1, sizeof *data); /* ~32 KiB: too big for a worker thread's stack */
    if (data == NULL) {
        return -1;
    }
    slot_acquire();
    res = crypt_rn(pw, setting, data, (int)sizeof *data);
    slot_release();
    if (res != NULL && res[0] != '*' && strlen(res) < CRYPT_OUTPUT_SIZE) {
        strcpy(out, res);
        rc = 0;
    }
    OPENSSL_cleanse(data, sizeof *data);
    free(data);
    return rc;
}

int
password_hash(const char *pw, char *out, size_t outlen)
{
    char hash[CRYPT_OUTPUT_SIZE];
    char *setting;
    size_t n;
    int rc = -1;

    if (pw == NULL || out == NULL || outlen == 0 || strlen(pw) > PASSWORD_MAX) {
        return -1;
    }
    setting = crypt_gensalt_ra(NULL, 0, NULL, 0);
    if (setting == NULL || strncmp(setting, PASSWORD_PREFIX, strlen(PASSWORD_PREFIX)) != 0
        || compute(pw, setting, hash) != 0) {
        goto out;
    }
    n = strlen(hash);
    if (n >= outlen || strncmp(hash, PASSWORD_PREFIX, strlen(PASSWORD_PREFIX)) != 0) {
        goto out;
    }
    memcpy(out, hash, n + 1);
    rc = 0;
out:
    OPENSSL_cleanse(hash, sizeof hash);
    free(setting);
    return rc;
}

/* 1 when `stored` is a well-formed yescrypt hash we are willing to compute against. */
static int
stored_ok(const char *stored)
{
    return stored != NULL && strncmp(stored, PASSWORD_PREFIX, strlen(PASSWORD_PREFIX)) == 0
           && strlen(stored) < CRYPT_OUTPUT_SIZE && crypt_checksalt(stored) == CRYPT_SALT_OK;
}

int
password_verify(const char *pw, const char *stored)
{
    char hash[CRYPT_OUTPUT_SIZE];
    size_t n;
    int usable, match = 0;

    pthread_once(&dummy_once, dummy_make);
    usable = stored_ok(stored) && pw != NULL && strlen(pw) <= PASSWORD_MAX;
    /* Whatever is wrong, spend one hash so failures all take about the same time. */
    if (compute(usable ? pw : "", usable ? stored : dummy_setting, hash) != 0) {
        if (usable) {
            /* A stored hash libxcrypt refuses fails fast: spend the time anyway. */
            (void)compute("", dummy_setting, hash);
        }
        goto out;
    }
    if (!usable) {
        goto out;
    }
    n = strlen(stored);
    if (strlen(hash) == n) {
        match = CRYPTO_memcmp(hash, stored, n) == 0;
    }
out:
    OPENSSL_cleanse(hash, sizeof hash);
    return match;
}

/* 1 when the valid UTF-8 string `pw` is one character repeated. */
static int
one_repeated(const char *pw)
{
    size_t n = 1, len = strlen(pw), i;

    while (((unsigned char)pw[n] & 0xc0) == 0x80) {
        n++; /* the continuation bytes of the first character */
    }
    for (i = n; i < len; i += n) {
        if (i + n > len || memcmp(pw + i, pw, n) != 0) {
            return 0;
        }
    }
    return 1;
}

const char *
password_policy(const char *pw, const char *email)
{
    long chars;

    if (pw == NULL || pw[0] == '\0') {
        return "is required";
    }
    if (strlen(pw) > PASSWORD_MAX) {
        return "must be at most " PASSWORD_STR(PASSWORD_MAX) " bytes";
    }
    chars = validate_utf8_len(pw);
    if (chars < 0) {
        return "must be valid UTF-8";
    }
    if (chars < PASSWORD_MIN) {
        return "must be at least " PASSWORD_STR(PASSWORD_MIN) " characters";
    }
    if (one_repeated(pw)) {
        return "must not be one character repeated";
    }
    if (email != NULL && strcasecmp(pw, email) == 0) {
        return "must not be the email address";
    }
    return NULL;
}
