/* password.h: password hashing with yescrypt (libxcrypt), bounded in concurrency. */
#ifndef REGISTRY_PASSWORD_H
#define REGISTRY_PASSWORD_H

#include <stddef.h>

#define PASSWORD_MIN      12  /* characters */
#define PASSWORD_MAX      256 /* bytes */
#define PASSWORD_HASH_MAX 256

/* Sets how many hashes may run at once (each costs memory and ~100 ms of a core). */
void password_init(int slots);

/* Hashes `pw` with a fresh yescrypt salt into `out`. Returns 0, or -1. */
int password_hash(const char *pw, char *out, size_t outlen);

/* Returns 1 when `pw` matches `stored`, 0 otherwise (including a corrupt or foreign stored
 * hash), comparing in constant time. With stored == NULL it still spends the same time on a
 * dummy hash, so unknown accounts cannot be told from wrong passwords. */
int password_verify(const char *pw, const char *stored);

/* Checks a new password against policy. Returns NULL when fine, or a reason. */
const char *password_policy(const char *pw, const char *email);

#endif
