/* places.h: the gazetteer behind a search by town: `mpact-registry import-places FILE` (the ONS
 * Index of Place Names for Great Britain, or the GeoNames dump IE.txt for Ireland) and the lookup
 * of a place by name (GET /v1/public/providers?place=, the finder's box). */
#ifndef REGISTRY_PLACES_H
#define REGISTRY_PLACES_H

#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "registry/db.h"

/* Advisory lock key held (per transaction) by a places import: one at a time. */
#define PLACES_LOCK_KEY "727274005"

#define PLACES_NAME_MIN     3   /* letters of a place search */
#define PLACES_NAME_MAX     100 /* characters of a place search */
#define PLACES_CHOICES_MAX  10  /* choices offered when a name fits several places */
#define PLACES_RECORD_ITEMS 19  /* fields of a GeoNames record */

/* Imports the file at `path`, replacing the places of its country and keeping the other's:
 * - the ONS Index of Place Names (CSV as published, a header row naming place<yy>nm, descnm, lat
 *   and long, with lad<yy>nm and popcnt when present): built-up areas, their sub-divisions and
 *   localities (descnm BUA, BUASD, LOC), country GB, area the local authority district;
 * - the GeoNames country dump (IE.txt: tab-separated, no header, 19 fields): populated places
 *   (feature class P, not historical or abandoned), country IE, area the province.
 * Names not in UTF-8 are read as ISO-8859-1. Streamed through COPY into a new table swapped in
 * atomically (as postcodes_import); a file with
 * too many bad rows, or none usable, leaves the old table. Progress goes to `progress` when it is
 * a terminal; the summary to `out`. Returns 0, or -1 with one line in `err`. */
int places_import(PGconn *c, const char *path, FILE *out, FILE *progress, char *err, size_t errlen);

/* Statements of the lookup; registered in the router's statement list. */
extern const struct db_stmt places_stmts[];

/* Checks a place search as typed (`in`): at least PLACES_NAME_MIN letters, at most
 * PLACES_NAME_MAX characters, letters, spaces and . ' - only. Writes it into `out` (outer spaces
 * dropped, inner runs of spaces as one). Returns 0, or -1. */
int places_name_ok(const char *in, char *out, size_t outlen);

/* The places whose name starts with `name` (checked by places_name_ok), accents and case
 * ignored, one per name and area: when some are named exactly `name`, only those. `area` (NULL:
 * any) keeps those of that area. At most PLACES_CHOICES_MAX, largest first: columns name, area,
 * country, latitude, longitude. Returns the result (the caller clears it; it may be a failed
 * one), or NULL when out of memory. */
PGresult *places_find(struct db_conn *db, const char *name, const char *area);

#endif
