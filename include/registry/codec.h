/* codec.h: base64url, hex and random bytes, shared by tokens, cursors and request ids. */
#ifndef REGISTRY_CODEC_H
#define REGISTRY_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* Encodes `len` bytes as unpadded base64url into `out` (needs 4*ceil(len/3)+1 bytes).
 * Returns the length written (without the NUL). */
size_t codec_b64url_encode(const unsigned char *in, size_t len, char *out);

/* Decodes unpadded base64url `in` of `len` characters into `out` (needs len*3/4+1 bytes).
 * Returns the number of bytes, or -1 on a character outside the alphabet, padding, or a
 * length that cannot occur. */
long codec_b64url_decode(const char *in, size_t len, unsigned char *out);

/* The 64-bit FNV-1a hash of the string `s`: for hash tables, not for secrets. */
uint64_t codec_fnv1a(const char *s);

/* Lower-case hex of `len` bytes into `out` (2*len+1 bytes). */
void codec_hex(const unsigned char *in, size_t len, char *out);

/* Fills `buf` from the kernel's random source. Returns 0, or -1. */
int codec_random(unsigned char *buf, size_t len);

/* SHA-256 of `len` bytes into out[32]. */
void codec_sha256(const void *in, size_t len, unsigned char out[32]);

/* Lower-case hex of the SHA-256 of the string `s` into hex[65]: the form in which client
 * secrets and refresh tokens are stored. */
void codec_sha256_hex(const char *s, char hex[65]);

/* A new secret: `nbytes` random bytes (at most 64) as base64url into `text` (4*ceil(nbytes/3)+1
 * bytes), and codec_sha256_hex of that text into `hex`. Returns 0, or -1. */
int codec_secret_new(size_t nbytes, char *text, char hex[65]);

#endif
