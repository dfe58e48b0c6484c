/* keys.h: the EC P-256 signing keys in REGISTRY_JWT_KEY_DIR, ES256 signing (libjwt) and
 * verification (OpenSSL, on keys parsed once), and the JWKS that publishes them. */
#ifndef REGISTRY_KEYS_H
#define REGISTRY_KEYS_H

#include <stddef.h>

#include <jansson.h>

/* Loads every *.pem EC P-256 private key in `dir`. The newest (by modification time, then
 * name) signs; every loaded key verifies. Returns 0, or -1 with one line in `err` (missing or
 * unreadable folder, no key, a file that is not an EC P-256 private key). */
int keys_load(const char *dir, char *err, size_t errlen);
void keys_unload(void);

/* Makes a new P-256 private key as `dir`/<timestamp>-<kid prefix>.pem, mode 0600, creating
 * `dir` (0700) when missing. Writes its path into `path`. Returns 0, or -1 with `err`. */
int keys_generate(const char *dir, char *path, size_t pathlen, char *err, size_t errlen);

/* Returns a new reference: {"keys": [{kty, crv, x, y, kid, use, alg}, ...]}. */
json_t *keys_jwks(void);

/* The RFC 7638 thumbprint of the signing key (base64url SHA-256). */
const char *keys_signing_kid(void);

/* Signs `claims` (borrowed) as an ES256 JWT with header {alg, typ, kid}.
 * Returns a malloc'd compact serialisation, or NULL. */
char *keys_sign(json_t *claims);

/* Verifies a compact JWS: header alg must be exactly ES256, kid must name a loaded key, the
 * signature must verify. Claims are not checked here. Returns 0 with a new reference to the
 * claims object in *claims, or -1. The claims of a token seen before are shared with the cache
 * and other requests: read them, never change them. */
int keys_verify(const char *token, json_t **claims);

/* How often keys_verify found a token's signature already verified (it remembers verified
 * tokens, by a digest of the whole token, until they expire or the keys change), and how often
 * it had to check one. */
void keys_cache_stats(long long *hits, long long *misses);

#endif
