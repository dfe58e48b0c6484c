/* postcodes.h: loading the ONS Postcode Directory (or NSPL) into the postcode table, and
 * looking postcodes and outward codes up. */
#ifndef REGISTRY_POSTCODES_H
#define REGISTRY_POSTCODES_H

#include <stdio.h>

#include <libpq-fe.h>

/* Imports the CSV at `path` (header row; columns pcds, lat, long, doterm) into a new table with
 * COPY, then swaps it in atomically with its outward-code centroids; a bad file leaves the old
 * table as it was. Progress goes to `progress` when it is a terminal; the summary (rows read,
 * loaded, skipped) to `out`. Returns 0, or -1 with one line in `err`. */
int postcodes_import(PGconn *c, const char *path, FILE *out, FILE *progress, char *err,
                     size_t errlen);

#endif
