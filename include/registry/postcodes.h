/* postcodes.h: loading the ONS Postcode Directory (or NSPL) into the postcode table, and
 * looking postcodes and outward codes up. */
#ifndef REGISTRY_POSTCODES_H
#define REGISTRY_POSTCODES_H

#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "registry/db.h"

/* Advisory lock key held (per transaction) by an import: one import at a time. */
#define POSTCODES_LOCK_KEY "727274004"

/* Garbage threshold: an import fails, leaving the old table, when more than
 * POSTCODES_GARBAGE_MIN rows AND more than POSTCODES_GARBAGE_PCT percent of the rows read are
 * garbage (malformed CSV or an invalid postcode). Terminated and unlocated rows are normal in
 * the published file and never count. An import that would load no row at all fails too. */
#define POSTCODES_GARBAGE_MIN 100
#define POSTCODES_GARBAGE_PCT 1

/* Longest CSV record accepted; a longer one is malformed (and the reader resumes at the next
 * line end). ONSPD records are about 500 bytes. */
#define POSTCODES_RECORD_MAX 65536

/* Imports the CSV at `path` (header row; columns pcds, lat, long, doterm, and oslaua or laua and
 * ctry when present: a district or country that is not a GSS code, or a pseudo-code such as
 * E99999999, loads as NULL) into a new table with COPY, then swaps it in atomically with its
 * outward-code centroids; a bad file leaves the old table as it was. Progress goes to `progress`
 * when it is a terminal; the summary (rows read, loaded, skipped) to `out`. Returns 0, or -1 with
 * one line in `err`. */
int
postcodes_import(PGconn *c, const char *path, FILE *out, FILE *progress, char *err, size_t errlen);

/* Loads the ONS "LA_UA names and codes" CSV at `path` (a header row whose first two columns are
 * the code and the name, e.g. LAD23CD,LAD23NM; further columns ignored) into local_authority,
 * adding new districts and renaming known ones, in one transaction: a bad row (not a GSS code, no
 * name, a code listed twice, bad CSV) loads nothing and is named by its line. The summary goes to
 * `out`. Returns 0, or -1 with one line in `err`. */
int postcodes_import_areas(PGconn *c, const char *path, FILE *out, char *err, size_t errlen);

/* ---- Lookup (for the public routes) --------------------------------------------------------- */

enum postcodes_kind {
    POSTCODES_MALFORMED = -1,
    POSTCODES_FULL = 1,    /* a unit postcode, "ME4 4AB" */
    POSTCODES_OUTWARD = 2, /* an outward code (district) alone, "ME4" */
};

#define POSTCODES_OUTWARD_MAX 5 /* "SW1A" plus NUL */

/* Normalises a full postcode ("me44ab" -> "ME4 4AB") or an outward code ("me4" -> "ME4") into
 * `out` (at least POSTCODE_MAX bytes). Returns POSTCODES_FULL, POSTCODES_OUTWARD or
 * POSTCODES_MALFORMED. */
enum postcodes_kind postcodes_normalise(const char *in, char *out, size_t outlen);

/* Statements used by postcodes_find; register in the router's statement list. */
extern const struct db_stmt postcodes_stmts[];

/* Looks `in` up (a full postcode in the postcode table, an outward code in postcode_district)
 * and sets *lat and *lon. Returns 1 when found, 0 when unknown, -1 when `in` is malformed, -2 on a
 * database error (db_lost(c) tells whether the database is gone). Never logs `in`. */
int postcodes_find(struct db_conn *c, const char *in, double *lat, double *lon);

/* ---- CSV reading (exposed for the unit tests) ----------------------------------------------- */

/* A streaming RFC 4180 reader: fields may be quoted ("" inside quotes is one "), quoted fields
 * may hold commas and line breaks, records end with LF or CRLF. Memory use is bounded by
 * POSTCODES_RECORD_MAX whatever the file. */
struct postcodes_csv {
    FILE *f;
    char *buf; /* read buffer */
    size_t buflen, bufpos;
    int eof;
    char *rec; /* current record: fields NUL-separated */
    size_t reclen;
    size_t *field; /* offsets of the fields in rec */
    int nfields, capfields;
    long long bytes;    /* bytes consumed so far */
    long long newlines; /* line feeds consumed so far */
    long long line;     /* the line the current record starts on (1 is the first) */
    char sep;           /* the field separator: ',' (set by init), or '\t' */
    int plain;          /* 1: quotes are plain characters (tab-separated dumps such as GeoNames) */
};

enum postcodes_csv_status {
    POSTCODES_CSV_EOF = 0,
    POSTCODES_CSV_RECORD = 1,
    POSTCODES_CSV_MALFORMED = 2, /* bad quoting or over-long: the record is skipped */
    POSTCODES_CSV_IO_ERROR = -1,
};

/* Returns 0, or -1 when out of memory. `f` is borrowed. */
int postcodes_csv_init(struct postcodes_csv *r, FILE *f);
void postcodes_csv_cleanup(struct postcodes_csv *r);

/* Reads the next record. Empty lines are skipped. The fields stay valid until the next call. */
enum postcodes_csv_status postcodes_csv_next(struct postcodes_csv *r);

/* Field i of the current record (NUL-terminated, quotes removed). */
const char *postcodes_csv_field(const struct postcodes_csv *r, int i);

/* Column positions of the fields the import uses; oslaua and ctry are -1 when absent. */
struct postcodes_columns {
    int pcds, lat, lon, doterm, oslaua, ctry, count;
};

/* Finds pcds, lat, long and doterm in the header record (names compared case-insensitively,
 * outer spaces ignored; the reader drops a UTF-8 byte-order mark), and the optional local
 * authority district (oslaua in the ONSPD, laua in the NSPL) and country (ctry). Returns 0, or -1
 * with the missing names in `err`. */
int postcodes_columns_find(const struct postcodes_csv *r,
                           struct postcodes_columns *cols,
                           char *err,
                           size_t errlen);

enum postcodes_row {
    POSTCODES_ROW_OK = 0,
    POSTCODES_ROW_TERMINATED,
    POSTCODES_ROW_UNLOCATED, /* no grid reference (99.999999/0), empty, non-numeric, off the map */
    POSTCODES_ROW_INVALID,   /* the postcode does not validate */
};

/* Classifies one row; on POSTCODES_ROW_OK sets the normalised postcode (POSTCODE_MAX bytes) and
 * the coordinates. Terminated is checked first, then the postcode, then the location. */
enum postcodes_row postcodes_row_classify(const char *pcds,
                                          const char *lat,
                                          const char *lon,
                                          const char *doterm,
                                          char *postcode,
                                          double *latitude,
                                          double *longitude);

/* ---- The import machinery (shared with places.c) -------------------------------------------- */

/* One import in progress: its connection, progress, COPY buffer, counts and error. */
struct postcodes_import {
    PGconn *pg;
    FILE *progress;    /* NULL when not a terminal */
    const char *label; /* the progress line's name ("postcodes" when NULL) */
    char *copybuf;     /* POSTCODES_COPY_CHUNK bytes */
    size_t copylen;
    long long size; /* file size, or 0 when unknown */
    long long read, loaded, terminated, unlocated, invalid, malformed, districts, with_area;
    char *err;
    size_t errlen;
    int in_tx; /* inside the import's transaction (postcodes_import_begin) */
};

#define POSTCODES_COPY_CHUNK (1 << 18) /* bytes of the COPY buffer */

/* Starts *im on connection `c`: the error goes to `err`, the progress line to `progress` when it
 * is a terminal (it may be NULL) under `label` (NULL: "postcodes"). */
void postcodes_import_init(struct postcodes_import *im,
                           PGconn *c,
                           FILE *progress,
                           const char *label,
                           char *err,
                           size_t errlen);
/* Opens the import's transaction. 0, or -1 (error set). */
int postcodes_import_begin(struct postcodes_import *im);
/* Commits it and clears the progress line. 0, or -1 (error set). */
int postcodes_import_commit(struct postcodes_import *im);
/* The end of every import: rolls back what was not committed, ends the progress line of a
 * failure (rc != 0), releases the CSV reader (when `csv` is not NULL), the file and the COPY
 * buffer. Returns rc. */
int postcodes_import_end(struct postcodes_import *im, int rc, FILE *f, struct postcodes_csv *csv);
/* Sets the import's error (one line). */
void postcodes_import_fail(struct postcodes_import *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Parses a number of an import's row (a coordinate, a count): a plain finite decimal number,
 * outer spaces allowed (no hex, inf or nan, which strtod would take). 0, or -1. */
int postcodes_parse_number(const char *s, double *v);
/* Runs `sql`; on failure sets the error ("<what>: <server message>"). 0, or -1. */
int postcodes_import_exec(struct postcodes_import *im, const char *sql, const char *what);
/* The single value a query returns; -1 on failure (error set). */
long long postcodes_import_number(struct postcodes_import *im, const char *sql, const char *what);
/* Opens the CSV at `path` (`what` it should be, for the message) into *f and *csv, and reads its
 * first record (the header row). 0, or -1 (error set, nothing left to release). */
int postcodes_import_open(struct postcodes_import *im,
                          const char *path,
                          const char *what,
                          FILE **f,
                          struct postcodes_csv *csv);
/* Starts the COPY of `sql` (... FROM STDIN). 0, or -1 (error set). */
int postcodes_import_copy_start(struct postcodes_import *im, const char *sql);
/* Sends the buffered COPY rows. 0, or -1 (error set). */
int postcodes_import_copy_flush(struct postcodes_import *im);
/* Ends the COPY (with `abort_msg` to abandon it) and collects its result. 0, or -1. */
int postcodes_import_copy_end(struct postcodes_import *im, const char *abort_msg);
/* Ends the COPY of an import whose rows were all read: refused (0 rows, or too many bad ones,
 * `invalid` naming the kind: "... 150 invalid postcode"; "no <what> in N rows") with the failure
 * reported, else ended. 0, or -1 (nothing changed). */
int postcodes_import_copy_finish(struct postcodes_import *im,
                                 const char *path,
                                 const char *invalid,
                                 const char *what);
/* Runs the swap `sql` (LOCK ... RENAME ...) under a short lock_timeout, retrying while readers
 * hold `tables` (named in the error). 0, or -1 (error set). */
int postcodes_import_swap(struct postcodes_import *im, const char *sql, const char *tables);
/* Shows the progress line (on a terminal only): rows read, and `phase` when not NULL. */
void postcodes_import_progress(struct postcodes_import *im,
                               struct postcodes_csv *csv,
                               const char *phase);
/* Writes `v` with 6 decimals into p. Returns the length (at most 12). */
size_t postcodes_put_coord(char *p, double v);

#endif
