/* it_keys_rotation.c: signing-key rotation without a restart. `mpact-registry keygen` adds a
 * key to REGISTRY_JWT_KEY_DIR and SIGHUP reloads the folder: the new key signs, a token from the
 * old key still verifies; a folder that does not load keeps the keys in use (one log line); once
 * the old key file is removed ("retired") and SIGHUP sent again, its tokens get 401. The JWKS
 * lists exactly the loaded keys, each kid checked here as the RFC 7638 thumbprint. */
#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <jansson.h>

#include "itlib.h"

#define ADMIN_EMAIL "admin@keys.example"
#define PASSWORD    "keys-rotation-password-1"

/* The only *.pem file in `dir` (malloc'd name), failing unless there is exactly one. */
static char *
only_key(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char *name = NULL;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".pem") == 0) {
            n++;
            free(name);
            name = strdup(e->d_name);
        }
    }
    closedir(d);
    assert_int_equal(n, 1);
    return name;
}

/* The JWKS `keys` array (new reference), each kid checked against its RFC 7638 thumbprint. */
static json_t *
jwks(struct it_server *s)
{
    struct it_resp r;
    json_t *keys, *k;
    size_t i;

    it_get(s, "/.well-known/jwks.json", NULL, &r);
    it_assert_status(&r, 200);
    keys = json_incref(json_object_get(r.json, "keys"));
    it_resp_free(&r);
    json_array_foreach(keys, i, k)
    {
        char *canon = it_fmt("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                             it_jstr(k, "x"), it_jstr(k, "y"));
        unsigned char digest[SHA256_DIGEST_LENGTH], b64[64];
        size_t n;

        SHA256((const unsigned char *)canon, strlen(canon), digest);
        EVP_EncodeBlock(b64, digest, sizeof(digest));
        for (n = 0; b64[n] != '\0'; n++) {
            b64[n] = b64[n] == '+' ? '-' : b64[n] == '/' ? '_' : b64[n];
        }
        while (n > 0 && b64[n - 1] == '=') {
            b64[--n] = '\0';
        }
        assert_string_equal(it_jstr(k, "kid"), (char *)b64);
        assert_string_equal(it_jstr(k, "alg"), "ES256");
        free(canon);
    }
    return keys;
}

/* Sends SIGHUP and waits until the JWKS holds `count` keys. */
static json_t *
reload_until(struct it_server *s, size_t count)
{
    json_t *keys = NULL;
    int i;

    assert_int_equal(kill(s->pid, SIGHUP), 0);
    for (i = 0; i < 100; i++) {
        json_decref(keys);
        keys = jwks(s);
        if (json_array_size(keys) == count) {
            return keys;
        }
        it_sleep_ms(50);
    }
    it_log_tail(s, 20);
    fail_msg("JWKS never reached %zu keys after SIGHUP", count);
    return NULL;
}

static long
status_of(struct it_server *s, const char *token)
{
    struct it_resp r;
    long status;

    it_get(s, "/v1/users/me", token, &r);
    status = r.status;
    if (status == 401) {
        it_assert_header(&r, "WWW-Authenticate", "invalid_token");
    }
    it_resp_free(&r);
    return status;
}

static void
test_rotation(void **state)
{
    struct it_server *s = it_start("keys_rotation");
    const char *keygen[] = {"keygen", s->key_dir, NULL};
    char *old_name = only_key(s->key_dir), *old_path, *bad_path, *t_old, *t_new, *out = NULL;
    char old_kid[64], new_kid[64];
    json_t *keys;
    FILE *fp;

    (void)state;
    assert_int_equal(it_create_admin(s, ADMIN_EMAIL, PASSWORD), 0);
    t_old = it_login(s, ADMIN_EMAIL, PASSWORD);
    keys = jwks(s);
    assert_int_equal(json_array_size(keys), 1);
    snprintf(old_kid, sizeof(old_kid), "%s", it_jstr(json_array_get(keys, 0), "kid"));
    json_decref(keys);

    /* A new key, not yet loaded: nothing changes until SIGHUP. */
    it_sleep_ms(20); /* a newer modification time for the new key */
    assert_int_equal(it_exec(s, 0, keygen, NULL, NULL, 0, &out), 0);
    it_assert_clean_output(out);
    free(out);
    keys = jwks(s);
    assert_int_equal(json_array_size(keys), 1);
    json_decref(keys);

    keys = reload_until(s, 2);
    assert_true(it_json_has(keys, "kid", old_kid));
    new_kid[0] = '\0';
    {
        size_t i;
        json_t *k;
        json_array_foreach(keys, i, k)
        {
            if (strcmp(it_jstr(k, "kid"), old_kid) != 0) {
                snprintf(new_kid, sizeof(new_kid), "%s", it_jstr(k, "kid"));
            }
        }
    }
    json_decref(keys);
    assert_true(it_log_wait(s, "signing keys reloaded", 5000));
    assert_true(it_log_wait(s, new_kid, 5000)); /* the newest key signs */

    /* The old key's token still verifies; new tokens carry the new kid. */
    assert_int_equal(status_of(s, t_old), 200);
    t_new = it_login(s, ADMIN_EMAIL, PASSWORD);
    assert_int_equal(status_of(s, t_new), 200);
    {
        char *dot = strchr(t_new, '.'), *hdr;
        unsigned char raw[512];
        int n;
        size_t len = (size_t)(dot - t_new);

        hdr = calloc(1, len + 4);
        memcpy(hdr, t_new, len);
        for (n = 0; hdr[n] != '\0'; n++) {
            hdr[n] = hdr[n] == '-' ? '+' : hdr[n] == '_' ? '/' : hdr[n];
        }
        while (len % 4 != 0) {
            hdr[len++] = '=';
        }
        n = EVP_DecodeBlock(raw, (unsigned char *)hdr, (int)len);
        assert_true(n > 0);
        raw[n] = '\0';
        assert_non_null(strstr((char *)raw, new_kid));
        free(hdr);
    }

    /* A folder that does not load keeps the keys in use, and says so in one line. */
    bad_path = it_fmt("%s/zz-broken.pem", s->key_dir);
    fp = fopen(bad_path, "w");
    assert_non_null(fp);
    fputs("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n", fp);
    fclose(fp);
    assert_int_equal(kill(s->pid, SIGHUP), 0);
    assert_true(it_log_wait(s, "keeping the current signing keys", 5000));
    keys = jwks(s);
    assert_int_equal(json_array_size(keys), 2);
    json_decref(keys);
    assert_int_equal(status_of(s, t_old), 200);
    assert_int_equal(status_of(s, t_new), 200);
    assert_int_equal(unlink(bad_path), 0);

    /* Retire the old key: after SIGHUP its tokens are refused, the new key's still work. */
    old_path = it_fmt("%s/%s", s->key_dir, old_name);
    assert_int_equal(unlink(old_path), 0);
    keys = reload_until(s, 1);
    assert_false(it_json_has(keys, "kid", old_kid));
    assert_true(it_json_has(keys, "kid", new_kid));
    json_decref(keys);
    assert_int_equal(status_of(s, t_old), 401);
    assert_int_equal(status_of(s, t_new), 200);

    free(t_new);
    free(t_old);
    free(old_path);
    free(bad_path);
    free(old_name);
    it_stop(s);
}

TEST_MAIN(NULL, NULL, cmocka_unit_test(test_rotation))
