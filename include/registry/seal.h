/* seal.h: authenticated encryption of small records at rest (AES-256-GCM through OpenSSL EVP),
 * with one key loaded from a file at start-up. Used for the enquiries waiting in their outbox
 * (enquiries.c). */
#ifndef REGISTRY_SEAL_H
#define REGISTRY_SEAL_H

#include <stddef.h>

#define SEAL_KEY_BYTES   32 /* AES-256 */
#define SEAL_NONCE_BYTES 12
#define SEAL_TAG_BYTES   16
#define SEAL_OVERHEAD    (SEAL_NONCE_BYTES + SEAL_TAG_BYTES)

struct seal_key {
    unsigned char k[SEAL_KEY_BYTES];
    int loaded;
};

/* Reads the key from the file at `path`: 32 raw bytes, or 64 hexadecimal digits (a trailing
 * newline allowed). Returns 0, or -1 with one line in `err` (a missing, unreadable, short or long
 * file). */
int seal_key_load(struct seal_key *key, const char *path, char *err, size_t errlen);

/* Wipes the key. */
void seal_key_clear(struct seal_key *key);

/* Encrypts `len` bytes of `plain` with a fresh random nonce, authenticating `aad` (a string, may
 * be ""), into `out` (`len` + SEAL_OVERHEAD bytes: nonce, ciphertext, tag). Returns 0, or -1. */
int seal(const struct seal_key *key,
         const char *aad,
         const unsigned char *plain,
         size_t len,
         unsigned char *out);

/* Decrypts what seal made (`len` bytes, at least SEAL_OVERHEAD) with the same `aad` into `out`
 * (`len` - SEAL_OVERHEAD bytes). Returns 0, or -1 when it is too short or does not authenticate
 * (another key, other additional data, altered bytes). */
int seal_open(const struct seal_key *key,
              const char *aad,
              const unsigned char *sealed,
              size_t len,
              unsigned char *out);

#endif
