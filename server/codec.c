/* codec.c: base64url (RFC 4648 section 5, unpadded), hex, random bytes, SHA-256. */
#include "registry/codec.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
codec_b64url_encode(const unsigned char *in, size_t len, char *out)
{
    size_t i, k, o = 0;

    for (i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0)
                     | (i + 2 < len ? in[i + 2] : 0);
        size_t chars = len - i >= 3 ? 4 : len - i + 1; /* unpadded: 2 or 3 for a short tail */

        for (k = 0; k < chars; k++) {
            out[o++] = alphabet[(v >> (18 - 6 * k)) & 63];
        }
    }
    out[o] = '\0';
    return o;
}

/* The value of base64url character `c`, or -1. */
static int
sextet(char c)
{
    const char *at = c != '\0' ? strchr(alphabet, c) : NULL;

    return at != NULL ? (int)(at - alphabet) : -1;
}

long
codec_b64url_decode(const char *in, size_t len, unsigned char *out)
{
    size_t i, o = 0;
    unsigned acc = 0;
    int bits = 0;

    if (len % 4 == 1) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        int v = sextet(in[i]);
        if (v < 0) {
            return -1;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    /* Leftover bits must be zero, so each byte string has exactly one encoding. */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
        return -1;
    }
    out[o] = '\0';
    return (long)o;
}

uint64_t
codec_fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    return h;
}

void
codec_hex(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int
codec_random(unsigned char *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

static EVP_MD *sha256;

static void
sha256_fetch(void)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void
codec_sha256(const void *in, size_t len, unsigned char out[32])
{
    /* OpenSSL 3's SHA256() looks the algorithm up in its provider tables on every call, which
     * costs more than hashing a response body (callgrind: 8,500 instructions a call, most of it
     * the lookup): fetch it once. */
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, sha256_fetch);
    if (sha256 == NULL || EVP_Digest(in, len, out, NULL, sha256, NULL) != 1) {
        SHA256(in, len, out); /* the fetch failed (out of memory): the slow way */
    }
}

void
codec_sha256_hex(const char *s, char hex[65])
{
    unsigned char digest[32];

    codec_sha256(s, strlen(s), digest);
    codec_hex(digest, sizeof(digest), hex);
}

int
codec_secret_new(size_t nbytes, char *text, char hex[65])
{
    unsigned char raw[64];

    if (nbytes > sizeof(raw) || codec_random(raw, nbytes) != 0) {
        return -1;
    }
    codec_b64url_encode(raw, nbytes, text);
    OPENSSL_cleanse(raw, nbytes);
    codec_sha256_hex(text, hex);
    return 0;
}
