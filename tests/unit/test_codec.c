/* tests/unit/test_codec.c: base64url, hex and SHA-256. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../test_main.h"
#include "registry/codec.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Decodes `in` (all of it) into a fresh buffer; returns the length or -1. */
static long
decode(const char *in, unsigned char *out, size_t outlen)
{
    size_t len = strlen(in);

    assert_true(len * 3 / 4 + 1 <= outlen);
    return codec_b64url_decode(in, len, out);
}

static void
test_rfc4648_vectors(void **state)
{
    /* RFC 4648 section 10, without the padding. */
    static const struct {
        const char *raw, *enc;
    } v[] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
    };
    char enc[32];
    unsigned char dec[32];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t n = strlen(v[i].raw);
        memset(enc, 'x', sizeof(enc));
        assert_int_equal(codec_b64url_encode((const unsigned char *)v[i].raw, n, enc),
                         strlen(v[i].enc));
        assert_string_equal(enc, v[i].enc);
        memset(dec, 'x', sizeof(dec));
        assert_int_equal(decode(v[i].enc, dec, sizeof(dec)), (long)n);
        assert_memory_equal(dec, v[i].raw, n);
        assert_int_equal(dec[n], 0); /* the decoder terminates what it wrote */
    }
}

static void
test_url_alphabet(void **state)
{
    /* The bytes whose standard base64 uses '+' and '/'. */
    static const struct {
        unsigned char raw[3];
        size_t n;
        const char *enc;
    } v[] = {
        {{0xfb, 0xff, 0xbf}, 3, "-_-_"}, /* standard: "+/+/" */
        {{0xff, 0xff, 0xff}, 3, "____"}, /* standard: "////" */
        {{0xfb, 0xef, 0xbe}, 3, "----"}, /* standard: "++++" */
        {{0xfb, 0xff}, 2, "-_8"},        /* standard: "+/8=" */
        {{0xf8}, 1, "-A"},               /* standard: "+A==" */
        {{0x00, 0x00, 0x00}, 3, "AAAA"},
        {{0x00}, 1, "AA"},
    };
    char enc[8];
    unsigned char dec[8];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(codec_b64url_encode(v[i].raw, v[i].n, enc), strlen(v[i].enc));
        assert_string_equal(enc, v[i].enc);
        assert_int_equal(decode(v[i].enc, dec, sizeof(dec)), (long)v[i].n);
        assert_memory_equal(dec, v[i].raw, v[i].n);
    }
}

static void
test_round_trips(void **state)
{
    unsigned char raw[40], dec[40 * 3 / 4 + 40];
    char enc[4 * 14 + 1 + 8];
    size_t len, i;
    int round;

    (void)state;
    srand(20250131);
    for (len = 0; len <= 40; len++) {
        for (round = 0; round < 50; round++) {
            size_t want = (4 * len + 2) / 3; /* unpadded length */
            size_t n;
            long got;

            for (i = 0; i < len; i++) {
                raw[i] = (unsigned char)(rand() & 0xff);
            }
            if (round == 0) {
                memset(raw, 0xff, len); /* all bits set: every trailing sextet at its maximum */
            }
            memset(enc, 0x7f, sizeof(enc));
            n = codec_b64url_encode(raw, len, enc);
            assert_int_equal(n, want);
            assert_int_equal(enc[n], '\0');
            assert_int_equal(enc[n + 1], 0x7f); /* nothing written past the NUL */
            assert_int_equal(strspn(enc, alphabet), n);
            memset(dec, 0xa5, sizeof(dec));
            got = codec_b64url_decode(enc, n, dec);
            assert_int_equal(got, (long)len);
            assert_memory_equal(dec, raw, len);
            assert_int_equal(dec[len], 0);
            assert_int_equal(dec[len + 1], 0xa5);
        }
    }
}

static void
test_decode_rejects(void **state)
{
    static const char *const bad[] = {
        "Zg==",         /* padding */
        "Zg=",          /* padding */
        "Zm9vYg==",     /* padding */
        "Zm8=",         /* padding */
        "Zm9v+A",       /* standard alphabet */
        "Zm9v/w",       /* standard alphabet */
        "Zm 9v",        /* space */
        "Zm9v\n",       /* newline */
        "Zm.9",         /* punctuation */
        "Zm9v\xc3\xa9", /* not ASCII */
        "Z",            /* a length that cannot occur */
        "Zm9vY",        /* likewise */
        "Zm9vYmFyZ",
        "A", /* ...even when the lone character carries no set bits */
        "Zm9vA",
        "AAAAA",
        "Zh", /* "f" is "Zg": the last 4 bits must be zero */
        "Zn",
        "Z_",
        "Zm9", /* "fo" is "Zm8": the last 2 bits must be zero */
        "Zm-",
        "Zm9vYh",
        "Zm9vYmF",
        NULL,
    };
    unsigned char out[32];
    size_t i;

    (void)state;
    for (i = 0; bad[i] != NULL; i++) {
        long got = codec_b64url_decode(bad[i], strlen(bad[i]), out);
        if (got != -1) {
            fail_msg("'%s' decoded to %ld bytes", bad[i], got);
        }
    }
    /* A NUL inside the counted length is not in the alphabet either. */
    assert_int_equal(codec_b64url_decode("Zm\0v", 4, out), -1);
    /* Only `len` characters are read: a valid prefix of an invalid string decodes. */
    assert_int_equal(codec_b64url_decode("Zm9v====", 4, out), 3);
    assert_memory_equal(out, "foo", 3);
    assert_int_equal(codec_b64url_decode("anything", 0, out), 0);
}

static void
test_hex(void **state)
{
    static const unsigned char raw[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
    char out[2 * sizeof(raw) + 2];

    (void)state;
    memset(out, 'x', sizeof(out));
    codec_hex(raw, sizeof(raw), out);
    assert_string_equal(out, "00017f80abcdefff");
    assert_int_equal(out[2 * sizeof(raw) + 1], 'x');
    codec_hex(raw, 0, out);
    assert_string_equal(out, "");
    codec_hex(raw + 4, 1, out);
    assert_string_equal(out, "ab");
}

static void
hex_of_sha256(const char *in, size_t len, char out[65])
{
    unsigned char md[32];

    codec_sha256(in, len, md);
    codec_hex(md, sizeof(md), out);
}

static void
test_sha256(void **state)
{
    char hex[65];
    char *million;

    (void)state;
    /* FIPS 180-2 appendix B vectors. */
    hex_of_sha256("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    hex_of_sha256("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    million = malloc(1000000);
    assert_non_null(million);
    memset(million, 'a', 1000000);
    hex_of_sha256(million, 1000000, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
    /* Binary input with NULs hashes every byte. */
    hex_of_sha256("a\0b", 3, hex);
    assert_string_equal(hex, "59b271ae1bbcb1d31d41929817f4b16fb439eb4f31520b5ad1d5ce98920a7138");
}

static void
test_random(void **state)
{
    unsigned char a[32], b[32], zero[32];

    (void)state;
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    memset(zero, 0, sizeof(zero));
    assert_int_equal(codec_random(a, sizeof(a)), 0);
    assert_int_equal(codec_random(b, sizeof(b)), 0);
    /* 256 random bits equal to zero or to each other: probability 2^-256. */
    assert_memory_not_equal(a, zero, sizeof(a));
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(codec_random(a, 0), 0);
}

static void
test_secret_new(void **state)
{
    char text[48], other[48], hex[65], again[65];

    (void)state;
    codec_sha256_hex("abc", hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(codec_secret_new(32, text, hex), 0);
    assert_int_equal(strlen(text), 43); /* 32 bytes, unpadded base64url */
    codec_sha256_hex(text, again);
    assert_string_equal(hex, again);
    assert_int_equal(codec_secret_new(32, other, again), 0);
    assert_string_not_equal(text, other);
    assert_int_equal(codec_secret_new(65, text, hex), -1);
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_rfc4648_vectors),
          cmocka_unit_test(test_url_alphabet),
          cmocka_unit_test(test_round_trips),
          cmocka_unit_test(test_decode_rejects),
          cmocka_unit_test(test_hex),
          cmocka_unit_test(test_sha256),
          cmocka_unit_test(test_random),
          cmocka_unit_test(test_secret_new))
