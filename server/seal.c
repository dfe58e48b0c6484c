/* seal.c: AES-256-GCM with OpenSSL's EVP interface. A record is nonce (12 random bytes, never
 * reused in practice: 2^-32 collision odds only after about 2^32 records under one key),
 * ciphertext and the 16-byte tag, with caller-given additional data binding it to its row. */
#include "registry/seal.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "registry/codec.h"

static int
hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int
seal_key_load(struct seal_key *key, const char *path, char *err, size_t errlen)
{
    unsigned char buf[SEAL_KEY_BYTES * 2 + 4];
    size_t n, i;
    FILE *f;
    int rc = -1;

    memset(key, 0, sizeof(*key));
    if (path == NULL) {
        snprintf(err, errlen,
                 "REGISTRY_ENQUIRY_KEY_FILE is not set (32 random bytes, or 64 hex "
                 "digits: e.g. `openssl rand -hex 32 > FILE`)");
        return -1;
    }
    if ((f = fopen(path, "rb")) == NULL) {
        snprintf(err, errlen, "REGISTRY_ENQUIRY_KEY_FILE %.200s: %s", path, strerror(errno));
        return -1;
    }
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }
    if (n == SEAL_KEY_BYTES * 2) {
        for (i = 0; i < SEAL_KEY_BYTES; i++) {
            int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);

            if (hi < 0 || lo < 0) {
                break;
            }
            key->k[i] = (unsigned char)(hi << 4 | lo);
        }
        if (i == SEAL_KEY_BYTES) {
            key->loaded = 1;
            rc = 0;
        }
    }
    if (rc != 0 && n == SEAL_KEY_BYTES) {
        memcpy(key->k, buf, SEAL_KEY_BYTES);
        key->loaded = 1;
        rc = 0;
    }
    if (rc != 0) {
        memset(key, 0, sizeof(*key));
        snprintf(err, errlen,
                 "REGISTRY_ENQUIRY_KEY_FILE %.200s must hold 32 random bytes or 64 hex digits "
                 "(it holds %zu bytes)",
                 path, n);
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

void
seal_key_clear(struct seal_key *key)
{
    OPENSSL_cleanse(key, sizeof(*key));
}

/* One AES-256-GCM pass with `key` and the nonce `iv`: encrypts (`enc`) or decrypts `len` bytes of
 * `in` into `out`, authenticating `aad` too, and reads the tag into `tag` (encrypting) or checks
 * it against `tag` (decrypting). Returns 0, or -1. */
static int
gcm(const struct seal_key *key,
    int enc,
    const unsigned char *iv,
    const char *aad,
    const unsigned char *in,
    size_t len,
    unsigned char *out,
    unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n, last, ok;

    ok = ctx != NULL && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_BYTES, NULL) == 1
         && EVP_CipherInit_ex(ctx, NULL, NULL, key->k, iv, enc) == 1
         && EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1
         && EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1
         && (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_BYTES, tag) == 1)
         && EVP_CipherFinal_ex(ctx, out + n, &last) == 1
         && (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_BYTES, tag) == 1);
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

int
seal(const struct seal_key *key,
     const char *aad,
     const unsigned char *plain,
     size_t len,
     unsigned char *out)
{
    if (!key->loaded || len > (size_t)1 << 30 || codec_random(out, SEAL_NONCE_BYTES) != 0) {
        return -1;
    }
    return gcm(key, 1, out, aad, plain, len, out + SEAL_NONCE_BYTES, out + SEAL_NONCE_BYTES + len);
}

int
seal_open(const struct seal_key *key,
          const char *aad,
          const unsigned char *sealed,
          size_t len,
          unsigned char *out)
{
    unsigned char tag[SEAL_TAG_BYTES];
    size_t clen;

    if (!key->loaded || len < SEAL_OVERHEAD || len > (size_t)1 << 30) {
        return -1;
    }
    clen = len - SEAL_OVERHEAD;
    memcpy(tag, sealed + SEAL_NONCE_BYTES + clen, SEAL_TAG_BYTES);
    if (gcm(key, 0, sealed, aad, sealed + SEAL_NONCE_BYTES, clen, out, tag) != 0) {
        OPENSSL_cleanse(out, clen);
        return -1;
    }
    return 0;
}
