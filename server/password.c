/* server/password.c: yescrypt password hashes (libxcrypt), with a bound on how many run at
 * once, and the password policy. */
#include "registry/password.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    if (setting == NULL || strncmp(setting, PASSWORD_PREFIX, strlen(PASSWORD_PREFIX)) != 0) {
        goto out;
    }
    if (compute(pw, setting, hash) != 0) {
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

/* Counts the code points of a UTF-8 string and checks whether they are all the same.
 * Returns the count, or -1 when the string is not valid UTF-8. */
static long
utf8_scan(const unsigned char *s, int *all_same)
{
    const unsigned char *first = s;
    size_t first_len = 0;
    long count = 0;

    *all_same = 1;
    while (*s != '\0') {
        size_t n, i;
        unsigned long cp;

        if (s[0] < 0x80) {
            n = 1;
            cp = s[0];
        } else if ((s[0] & 0xe0) == 0xc0) {
            n = 2;
            cp = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
            n = 3;
            cp = s[0] & 0x0f;
        } else if ((s[0] & 0xf8) == 0xf0) {
            n = 4;
            cp = s[0] & 0x07;
        } else {
            return -1;
        }
        for (i = 1; i < n; i++) {
            if ((s[i] & 0xc0) != 0x80) {
                return -1;
            }
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        /* Overlong forms, surrogates and values beyond Unicode are not UTF-8. */
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)
            || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return -1;
        }
        if (count == 0) {
            first_len = n;
        } else if (n != first_len || memcmp(s, first, n) != 0) {
            *all_same = 0;
        }
        count++;
        s += n;
    }
    return count;
}

const char *
password_policy(const char *pw, const char *email)
{
    long chars;
    int all_same;

    if (pw == NULL || pw[0] == '\0') {
        return "is required";
    }
    if (strlen(pw) > PASSWORD_MAX) {
        return "must be at most " PASSWORD_STR(PASSWORD_MAX) " bytes";
    }
    chars = utf8_scan((const unsigned char *)pw, &all_same);
    if (chars < 0) {
        return "must be valid UTF-8";
    }
    if (chars < PASSWORD_MIN) {
        return "must be at least " PASSWORD_STR(PASSWORD_MIN) " characters";
    }
    if (all_same) {
        return "must not be one character repeated";
    }
    if (email != NULL && strcasecmp(pw, email) == 0) {
        return "must not be the email address";
    }
    return NULL;
}
