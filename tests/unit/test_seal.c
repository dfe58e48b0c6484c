/* tests/unit/test_seal.c: AES-256-GCM sealing of the enquiry outbox (seal.c): a round trip, and
 * that another key, other additional data, a changed byte or a short record never opens; the key
 * file (64 hex digits or 32 raw bytes; anything else refused); and a NIST GCM test vector, so the
 * cipher is the one named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../test_main.h"
#include "registry/seal.h"

static char dir[] = "/tmp/mpact-test-seal-XXXXXX";

static int
setup(void **state)
{
    (void)state;
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes `len` bytes to dir/name and returns the path (static buffer). */
static const char *
write_key(const char *name, const void *bytes, size_t len)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
    return path;
}

static void
key_of(struct seal_key *k, unsigned char fill)
{
    memset(k, 0, sizeof(*k));
    memset(k->k, fill, sizeof(k->k));
    k->loaded = 1;
}

static void
test_round_trip_and_tampering(void **state)
{
    static const char msg[] = "Is there a place for my grandson? Quokka-7731";
    struct seal_key k, other;
    unsigned char sealed[sizeof(msg) + SEAL_OVERHEAD], again[sizeof(sealed)], out[sizeof(msg)];

    (void)state;
    key_of(&k, 0x11);
    key_of(&other, 0x22);
    assert_int_equal(seal(&k, "org-a", (const unsigned char *)msg, sizeof(msg), sealed), 0);
    assert_null(memmem(sealed, sizeof(sealed), "Quokka", 6));
    assert_int_equal(seal_open(&k, "org-a", sealed, sizeof(sealed), out), 0);
    assert_memory_equal(out, msg, sizeof(msg));
    /* A fresh nonce each time: the same message seals differently. */
    assert_int_equal(seal(&k, "org-a", (const unsigned char *)msg, sizeof(msg), again), 0);
    assert_memory_not_equal(again, sealed, sizeof(sealed));
    /* Another key, other additional data, a changed byte, a short record: refused. */
    assert_int_equal(seal_open(&other, "org-a", sealed, sizeof(sealed), out), -1);
    assert_int_equal(seal_open(&k, "org-b", sealed, sizeof(sealed), out), -1);
    sealed[SEAL_NONCE_BYTES + 3] ^= 1;
    assert_int_equal(seal_open(&k, "org-a", sealed, sizeof(sealed), out), -1);
    sealed[SEAL_NONCE_BYTES + 3] ^= 1;
    sealed[sizeof(sealed) - 1] ^= 0x80;
    assert_int_equal(seal_open(&k, "org-a", sealed, sizeof(sealed), out), -1);
    assert_int_equal(seal_open(&k, "org-a", sealed, SEAL_OVERHEAD - 1, out), -1);
    /* No key loaded: nothing sealed. */
    seal_key_clear(&k);
    assert_int_equal(seal(&k, "org-a", (const unsigned char *)msg, sizeof(msg), sealed), -1);
}

/* NIST GCM test case 13 (AES-256, zero key, zero 96-bit IV, empty plaintext and AAD): the tag
 * 530f8afbc74536b9a963b4f1c4cb738b. The nonce comes first in a sealed record, so the vector is
 * checked by opening a record made of it. */
static void
test_nist_vector(void **state)
{
    static const unsigned char tag[16] = {0x53, 0x0f, 0x8a, 0xfb, 0xc7, 0x45, 0x36, 0xb9,
                                          0xa9, 0x63, 0xb4, 0xf1, 0xc4, 0xcb, 0x73, 0x8b};
    unsigned char record[SEAL_OVERHEAD] = {0}, out[1];
    struct seal_key k;

    (void)state;
    key_of(&k, 0);
    memcpy(record + SEAL_NONCE_BYTES, tag, sizeof(tag));
    assert_int_equal(seal_open(&k, "", record, sizeof(record), out), 0);
    record[SEAL_NONCE_BYTES] ^= 1;
    assert_int_equal(seal_open(&k, "", record, sizeof(record), out), -1);
}

static void
test_key_files(void **state)
{
    unsigned char raw[32];
    struct seal_key k;
    char err[300];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(raw); i++) {
        raw[i] = (unsigned char)i;
    }
    assert_int_equal(seal_key_load(&k, write_key("raw", raw, 32), err, sizeof(err)), 0);
    assert_memory_equal(k.k, raw, 32);
    assert_int_equal(seal_key_load(&k,
                                   write_key("hex",
                                             "000102030405060708090a0b0c0d0e0f"
                                             "101112131415161718191A1B1C1D1E1F\n",
                                             65),
                                   err, sizeof(err)),
                     0);
    assert_memory_equal(k.k, raw, 32);
    assert_int_equal(seal_key_load(&k, write_key("short", raw, 16), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "must hold 32 random bytes or 64 hex digits"));
    assert_int_equal(k.loaded, 0);
    assert_int_equal(seal_key_load(&k,
                                   write_key("long",
                                             "0123456789abcdef0123456789abcdef"
                                             "0123456789abcdef0123456789abcdef00",
                                             66),
                                   err, sizeof(err)),
                     -1);
    assert_int_equal(seal_key_load(&k,
                                   write_key("badhex",
                                             "zz0123456789abcdef0123456789abcd"
                                             "ef0123456789abcdef0123456789abcd",
                                             64),
                                   err, sizeof(err)),
                     -1);
    assert_int_equal(seal_key_load(&k, "/nonexistent/key", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/key"));
    assert_int_equal(seal_key_load(&k, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not set"));
}

TEST_MAIN(setup,
          teardown,
          cmocka_unit_test(test_round_trip_and_tampering),
          cmocka_unit_test(test_nist_vector),
          cmocka_unit_test(test_key_files))
