/* jsonout.h: JSON text of a Jansson value, for answers.
 *
 * The same text as json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(12)) (keys in insertion
 * order, non-ASCII written as UTF-8, reals with 12 significant digits), written in one pass into
 * one growing buffer: callgrind showed json_dumps at about a quarter of the server's instructions
 * on the public register route (bench/README.md). */
#ifndef REGISTRY_JSONOUT_H
#define REGISTRY_JSONOUT_H

#include <stddef.h>

#include <jansson.h>

/* Returns the text of `v` (malloc'd, NUL-terminated; its length in *len when len is not NULL),
 * or NULL when out of memory or nested deeper than JSONOUT_MAX_DEPTH. */
char *jsonout_dump(const json_t *v, size_t *len);

#define JSONOUT_MAX_DEPTH 512

/* A growing text buffer, always NUL-terminated once written to (JSON, CSV and metrics text).
 * Start it zeroed; the caller frees `p`. A failed allocation sets `failed`, and every later put
 * then does nothing. */
struct jsonout_buf {
    char *p;
    size_t len, cap;
    int failed;
};

void jsonout_put(struct jsonout_buf *b, const char *s, size_t n);
void jsonout_printf(struct jsonout_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends `v` with two decimals exactly as PostgreSQL writes round(v::numeric, 2)::text
 * ("3.10", "0.00", "-1.25"): `null` when it is not finite. */
void jsonout_put_round2(struct jsonout_buf *b, double v);

#endif
