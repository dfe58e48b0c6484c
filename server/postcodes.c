/* postcodes.c: `mpact-registry import-postcodes FILE`, loading the ONS Postcode Directory (or the
 * National Statistics Postcode Lookup) as published, and the postcode lookup of the public
 * routes.
 *
 * The import streams the CSV (never the whole file in memory) through COPY into postcode_new,
 * builds the outward-code centroids into postcode_district_new with postcode_district_refresh()
 * (migration 0003), indexes both and swaps them in. Everything happens in ONE transaction, so
 * readers see the old tables until the COMMIT and the new ones after it, and any failure (a bad
 * file, too many garbage rows, a lost connection) rolls back to the old tables as they were.
 * Only the swap itself takes ACCESS EXCLUSIVE locks on postcode and postcode_district, for a few
 * milliseconds. A transaction-level advisory lock keeps two imports apart. */
#include "registry/postcodes.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "registry/clock.h"
#include "registry/validate.h"

#define READ_CHUNK     (1 << 20)            /* bytes per fread */
#define COPY_CHUNK     POSTCODES_COPY_CHUNK /* bytes per PQputCopyData */
#define PROGRESS_EVERY 50000                /* rows between progress updates on a terminal */
#define FIELDS_INITIAL 64
#define SWAP_WAIT_MS   "2000" /* lock_timeout of one swap attempt */
#define SWAP_ATTEMPTS  10

/* The map the registry serves (the same bounds as location.latitude/longitude). */
#define LAT_MIN 49.0
#define LAT_MAX 61.5
#define LON_MIN -11.0
#define LON_MAX 2.5

/* ---- CSV reader ----------------------------------------------------------------------------- */

int
postcodes_csv_init(struct postcodes_csv *r, FILE *f)
{
    memset(r, 0, sizeof(*r));
    r->f = f;
    r->sep = ',';
    r->buf = malloc(READ_CHUNK);
    r->rec = malloc(POSTCODES_RECORD_MAX + 1);
    r->field = malloc(FIELDS_INITIAL * sizeof(*r->field));
    r->capfields = FIELDS_INITIAL;
    if (r->buf == NULL || r->rec == NULL || r->field == NULL) {
        postcodes_csv_cleanup(r);
        return -1;
    }
    return 0;
}

void
postcodes_csv_cleanup(struct postcodes_csv *r)
{
    free(r->buf);
    free(r->rec);
    free(r->field);
    memset(r, 0, sizeof(*r));
}

/* The next byte, or EOF (end of file or a read error: see ferror). */
static int
next_byte(struct postcodes_csv *r)
{
    if (r->bufpos == r->buflen) {
        if (r->eof) {
            return EOF;
        }
        r->buflen = fread(r->buf, 1, READ_CHUNK, r->f);
        r->bufpos = 0;
        if (r->buflen < READ_CHUNK) {
            r->eof = 1;
        }
        if (r->buflen == 0) {
            return EOF;
        }
    }
    r->bytes++;
    r->newlines += r->buf[r->bufpos] == '\n';
    return (unsigned char)r->buf[r->bufpos++];
}

static void
unread_byte(struct postcodes_csv *r)
{
    r->bufpos--;
    r->bytes--;
    r->newlines -= r->buf[r->bufpos] == '\n';
}

/* Starts a new field at the current end of the record. Returns 0, or -1 when out of memory. */
static int
start_field(struct postcodes_csv *r)
{
    if (r->nfields == r->capfields) {
        size_t *more = realloc(r->field, (size_t)r->capfields * 2 * sizeof(*r->field));
        if (more == NULL) {
            return -1;
        }
        r->field = more;
        r->capfields *= 2;
    }
    r->field[r->nfields++] = r->reclen;
    return 0;
}

/* Skips to just past the next line end (quotes no longer count): resynchronises after a
 * malformed record. */
static void
skip_line(struct postcodes_csv *r)
{
    int ch;

    while ((ch = next_byte(r)) != EOF && ch != '\n') {
    }
}

enum postcodes_csv_status
postcodes_csv_next(struct postcodes_csv *r)
{
    enum { FIELD_START, UNQUOTED, QUOTED, QUOTE_IN_QUOTED } st;
    int ch;

    if (r->bytes == 0 && next_byte(r) != EOF) {
        unread_byte(r); /* the first chunk is in: skip a UTF-8 byte-order mark */
        if (r->buflen >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0) {
            r->bufpos = 3;
            r->bytes = 3;
        }
    }
again:
    r->line = r->newlines + 1;
    r->reclen = 0;
    r->nfields = 0;
    st = FIELD_START;
    if (start_field(r) != 0) {
        return POSTCODES_CSV_IO_ERROR;
    }
    for (;;) {
        ch = next_byte(r);
        if (ch == EOF) {
            if (ferror(r->f)) {
                return POSTCODES_CSV_IO_ERROR;
            }
            if (st == QUOTED) {
                return POSTCODES_CSV_MALFORMED; /* unterminated quote at the end of the file */
            }
            if (r->nfields == 1 && r->reclen == 0 && st == FIELD_START) {
                return POSTCODES_CSV_EOF;
            }
            break; /* last record without a line end */
        }
        if (st == QUOTED) {
            if (ch == '"') {
                st = QUOTE_IN_QUOTED;
                continue;
            }
        } else if (ch == '"' && !r->plain) {
            if (st == FIELD_START) {
                st = QUOTED;
                continue;
            }
            if (st == QUOTE_IN_QUOTED) {
                st = QUOTED; /* "" inside quotes: one quote */
            } else {
                skip_line(r); /* a quote inside an unquoted field */
                return POSTCODES_CSV_MALFORMED;
            }
        } else if (ch == r->sep || ch == '\n' || ch == '\r') {
            if (ch == '\r') {
                int nx = next_byte(r);
                if (nx != '\n' && nx != EOF) {
                    unread_byte(r); /* a lone CR ends the record as well */
                }
            }
            r->rec[r->reclen++] = '\0';
            if (ch == r->sep) {
                if (start_field(r) != 0) {
                    return POSTCODES_CSV_IO_ERROR;
                }
                st = FIELD_START;
                continue;
            }
            if (r->nfields == 1 && r->reclen == 1) {
                goto again; /* an empty line */
            }
            return POSTCODES_CSV_RECORD;
        } else if (st == QUOTE_IN_QUOTED) {
            skip_line(r); /* text after a closing quote */
            return POSTCODES_CSV_MALFORMED;
        } else {
            st = UNQUOTED;
        }
        if (r->reclen >= POSTCODES_RECORD_MAX - 1) {
            skip_line(r);
            return POSTCODES_CSV_MALFORMED;
        }
        r->rec[r->reclen++] = (char)ch;
    }
    r->rec[r->reclen++] = '\0';
    return POSTCODES_CSV_RECORD;
}

const char *
postcodes_csv_field(const struct postcodes_csv *r, int i)
{
    return r->rec + r->field[i];
}

/* 1 when header field `h` names `want`: case-insensitive, outer spaces ignored. */
static int
column_is(const char *h, const char *want)
{
    size_t n = strlen(want);

    h += strspn(h, " ");
    if (strncasecmp(h, want, n) != 0) {
        return 0;
    }
    h += n;
    return h[strspn(h, " ")] == '\0';
}

int
postcodes_columns_find(const struct postcodes_csv *r,
                       struct postcodes_columns *cols,
                       char *err,
                       size_t errlen)
{
    /* The required four, then the optional district (ONSPD oslaua, NSPL laua) and country. */
    static const char *const names[] = {"pcds", "lat", "long", "doterm", "oslaua", "ctry", "laua"};
    int *slots[7] = {&cols->pcds,   &cols->lat,  &cols->lon,   &cols->doterm,
                     &cols->oslaua, &cols->ctry, &cols->oslaua};
    char missing[64] = "";
    int i, k;

    for (k = 0; k < 7; k++) {
        if (k < 6) {
            *slots[k] = -1; /* laua fills oslaua's slot only when it is still empty */
        }
        for (i = 0; i < r->nfields && *slots[k] < 0; i++) {
            if (column_is(postcodes_csv_field(r, i), names[k])) {
                *slots[k] = i;
            }
        }
        if (*slots[k] < 0 && k < 4) {
            size_t used = strlen(missing);
            snprintf(missing + used, sizeof(missing) - used, "%s%s", used > 0 ? ", " : "",
                     names[k]);
        }
    }
    cols->count = r->nfields;
    if (missing[0] != '\0') {
        snprintf(err, errlen, "the header row has no %s column%s (needs pcds, lat, long, doterm)",
                 missing, strchr(missing, ',') != NULL ? "s" : "");
        return -1;
    }
    return 0;
}

int
postcodes_parse_number(const char *s, double *v)
{
    const char *p = s + strspn(s, " ");
    char *end;

    /* strtod also takes hex, inf and nan: allow only what a decimal number is made of. */
    if (*p == '\0' || strspn(p, "+-0123456789. eE") != strlen(p)) {
        return -1;
    }
    errno = 0;
    *v = strtod(p, &end);
    if (end == p || errno != 0) {
        return -1;
    }
    return end[strspn(end, " ")] == '\0' && isfinite(*v) ? 0 : -1;
}

enum postcodes_row
postcodes_row_classify(const char *pcds,
                       const char *lat,
                       const char *lon,
                       const char *doterm,
                       char *postcode,
                       double *latitude,
                       double *longitude)
{
    if (doterm[strspn(doterm, " ")] != '\0') {
        return POSTCODES_ROW_TERMINATED;
    }
    if (validate_postcode(pcds, postcode, POSTCODE_MAX) != 0) {
        return POSTCODES_ROW_INVALID;
    }
    /* ONS marks "no grid reference" with 99.999999 / 0.000000, which the bounds also reject. */
    if (postcodes_parse_number(lat, latitude) != 0 || postcodes_parse_number(lon, longitude) != 0
        || !(*latitude >= LAT_MIN && *latitude <= LAT_MAX)
        || !(*longitude >= LON_MIN && *longitude <= LON_MAX)) {
        return POSTCODES_ROW_UNLOCATED;
    }
    return POSTCODES_ROW_OK;
}

/* ---- Lookup --------------------------------------------------------------------------------- */

const struct db_stmt postcodes_stmts[] = {
    {"postcodes_find_full", "SELECT latitude, longitude FROM postcode WHERE postcode = $1::text"},
    {"postcodes_find_outward",
     "SELECT latitude, longitude FROM postcode_district WHERE outward = $1::text"},
    {NULL, NULL},
};

/* 1 when `c` (upper case, no spaces) is an outward code: A9, A99, AA9, AA99, A9A, AA9A. */
static int
outward_ok(const char *c)
{
    size_t n = strlen(c), letters = 0;

    while (letters < n && isalpha((unsigned char)c[letters])) {
        letters++;
    }
    if (letters < 1 || letters > 2 || letters == n || n - letters > 2
        || !isdigit((unsigned char)c[letters])) {
        return 0;
    }
    return n - letters == 1 || isalnum((unsigned char)c[letters + 1]);
}

enum postcodes_kind
postcodes_normalise(const char *in, char *out, size_t outlen)
{
    char c[POSTCODES_OUTWARD_MAX];
    size_t n = 0;
    const char *p;

    if (validate_postcode(in, out, outlen) == 0) {
        return POSTCODES_FULL;
    }
    for (p = in; *p != '\0'; p++) {
        if (*p == ' ') {
            continue;
        }
        if (!isalnum((unsigned char)*p) || n == sizeof(c) - 1) {
            return POSTCODES_MALFORMED;
        }
        c[n++] = (char)toupper((unsigned char)*p);
    }
    c[n] = '\0';
    if (!outward_ok(c) || outlen <= n) {
        return POSTCODES_MALFORMED;
    }
    memcpy(out, c, n + 1);
    return POSTCODES_OUTWARD;
}

int
postcodes_find(struct db_conn *c, const char *in, double *lat, double *lon)
{
    char pc[POSTCODE_MAX];
    const char *params[1] = {pc};
    enum postcodes_kind kind = postcodes_normalise(in, pc, sizeof(pc));
    PGresult *res;
    int rc;

    if (kind == POSTCODES_MALFORMED) {
        return -1;
    }
    res = db_exec(c, kind == POSTCODES_FULL ? "postcodes_find_full" : "postcodes_find_outward", 1,
                  params);
    if (!db_ok(res)) {
        rc = -2;
    } else if (PQntuples(res) == 0) {
        rc = 0;
    } else {
        *lat = strtod(PQgetvalue(res, 0, 0), NULL);
        *lon = strtod(PQgetvalue(res, 0, 1), NULL);
        rc = 1;
    }
    PQclear(res);
    return rc;
}

/* ---- Import --------------------------------------------------------------------------------- */

void
postcodes_import_fail(struct postcodes_import *im, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(im->err, im->errlen, fmt, ap);
    va_end(ap);
    im->err[strcspn(im->err, "\n")] = '\0';
}

/* Runs `sql`; on failure sets the error ("<what>: <server message>"). 0, or -1. */
int
postcodes_import_exec(struct postcodes_import *im, const char *sql, const char *what)
{
    PGresult *res = PQexec(im->pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

    if (!ok) {
        const char *msg = PQresultErrorMessage(res);
        const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        if (*msg == '\0') {
            msg = PQerrorMessage(im->pg);
        }
        postcodes_import_fail(im, "%s: %.*s%s%s", what, (int)strcspn(msg, "\n"), msg,
                              detail != NULL ? " " : "", detail != NULL ? detail : "");
    }
    PQclear(res);
    return ok ? 0 : -1;
}

/* The single value a query returns, as a long long; -1 on failure (error set). */
long long
postcodes_import_number(struct postcodes_import *im, const char *sql, const char *what)
{
    PGresult *res = PQexec(im->pg, sql);
    long long v = -1;

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    } else {
        postcodes_import_fail(im, "%s: %s", what, PQresultErrorMessage(res));
    }
    PQclear(res);
    return v;
}

int
postcodes_import_copy_flush(struct postcodes_import *im)
{
    if (im->copylen > 0 && PQputCopyData(im->pg, im->copybuf, (int)im->copylen) != 1) {
        postcodes_import_fail(im, "sending rows to the database: %s", PQerrorMessage(im->pg));
        return -1;
    }
    im->copylen = 0;
    return 0;
}

/* Writes `v` with 6 decimals (about 0.1 m), faster than printf. Returns the length. */
size_t
postcodes_put_coord(char *p, double v)
{
    long long micro = llround(fabs(v) * 1e6);
    char digits[24];
    size_t n = 0, len = 0;

    if (v < 0 && micro != 0) {
        p[len++] = '-';
    }
    do {
        digits[n++] = (char)('0' + micro % 10);
        micro /= 10;
    } while (micro > 0 || n < 7);
    while (n > 6) {
        p[len++] = digits[--n];
    }
    p[len++] = '.';
    while (n > 0) {
        p[len++] = digits[--n];
    }
    return len;
}

/* Copies `s` without its outer spaces into `out`. 0, or -1 when it does not fit. */
static int
trim_copy(const char *s, char *out, size_t outlen)
{
    size_t n;

    s += strspn(s, " ");
    for (n = strlen(s); n > 0 && s[n - 1] == ' '; n--) {
    }
    if (n >= outlen) {
        return -1;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* Writes field `col` of the current record when it holds a GSS code (outer spaces ignored) that
 * is not a pseudo-code (E99999999: none), else \N (NULL). Returns the length. */
static size_t
put_code(char *p, const struct postcodes_csv *csv, int col)
{
    char code[16];

    if (col < 0 || trim_copy(postcodes_csv_field(csv, col), code, sizeof(code)) != 0
        || !validate_gss_code(code) || strcmp(code + 1, "99999999") == 0) {
        memcpy(p, "\\N", 2);
        return 2;
    }
    memcpy(p, code, 9);
    return 9;
}

/* Appends one COPY text row: postcode TAB latitude TAB longitude TAB oslaua TAB ctry LF. */
static int
copy_row(struct postcodes_import *im,
         const char *postcode,
         double lat,
         double lon,
         const struct postcodes_csv *csv,
         const struct postcodes_columns *cols)
{
    char *p;
    size_t n = strlen(postcode);

    if (im->copylen + 96 > COPY_CHUNK && postcodes_import_copy_flush(im) != 0) {
        return -1;
    }
    p = im->copybuf + im->copylen;
    memcpy(p, postcode, n);
    p += n;
    *p++ = '\t';
    p += postcodes_put_coord(p, lat);
    *p++ = '\t';
    p += postcodes_put_coord(p, lon);
    *p++ = '\t';
    n = put_code(p, csv, cols->oslaua);
    im->with_area += n == 9;
    p += n;
    *p++ = '\t';
    p += put_code(p, csv, cols->ctry);
    *p++ = '\n';
    im->copylen = (size_t)(p - im->copybuf);
    return 0;
}

void
postcodes_import_init(struct postcodes_import *im,
                      PGconn *c,
                      FILE *progress,
                      const char *label,
                      char *err,
                      size_t errlen)
{
    memset(im, 0, sizeof(*im));
    im->pg = c;
    im->label = label;
    im->err = err;
    im->errlen = errlen;
    err[0] = '\0';
    if (progress != NULL && isatty(fileno(progress))) {
        im->progress = progress;
    }
}

int
postcodes_import_begin(struct postcodes_import *im)
{
    if (postcodes_import_exec(im, "BEGIN", "starting the import") != 0) {
        return -1;
    }
    im->in_tx = 1;
    return 0;
}

int
postcodes_import_commit(struct postcodes_import *im)
{
    if (postcodes_import_exec(im, "COMMIT", "committing") != 0) {
        return -1;
    }
    im->in_tx = 0;
    if (im->progress != NULL) {
        fprintf(im->progress, "\r\033[K");
        fflush(im->progress);
    }
    return 0;
}

int
postcodes_import_end(struct postcodes_import *im, int rc, FILE *f, struct postcodes_csv *csv)
{
    if (im->in_tx) {
        PQclear(PQexec(im->pg, "ROLLBACK"));
        im->in_tx = 0;
    }
    if (rc != 0 && im->progress != NULL) {
        fprintf(im->progress, "\n");
        fflush(im->progress);
    }
    if (csv != NULL) {
        postcodes_csv_cleanup(csv);
    }
    if (f != NULL) {
        fclose(f);
    }
    free(im->copybuf);
    im->copybuf = NULL;
    return rc;
}

void
postcodes_import_progress(struct postcodes_import *im, struct postcodes_csv *csv, const char *phase)
{
    const char *label = im->label != NULL ? im->label : "postcodes";

    if (im->progress == NULL) {
        return;
    }
    if (phase != NULL) {
        fprintf(im->progress, "\r\033[K%s: %lld rows read, %s", label, im->read, phase);
    } else if (im->size > 0) {
        fprintf(im->progress, "\r\033[K%s: %lld rows read (%d%%)", label, im->read,
                (int)(csv->bytes * 100 / im->size));
    } else {
        fprintf(im->progress, "\r\033[K%s: %lld rows read", label, im->read);
    }
    fflush(im->progress);
}

/* Streams the data rows of `csv` into the COPY already started. 0, or -1 (error set). */
static int
stream_rows(struct postcodes_import *im,
            struct postcodes_csv *csv,
            const struct postcodes_columns *cols,
            const char *path)
{
    /* By enum postcodes_row. */
    long long *counts[] = {&im->loaded, &im->terminated, &im->unlocated, &im->invalid};
    char pc[POSTCODE_MAX];
    double lat, lon;

    for (;;) {
        enum postcodes_csv_status st = postcodes_csv_next(csv);
        enum postcodes_row row;

        if (st == POSTCODES_CSV_EOF) {
            return 0;
        }
        if (st == POSTCODES_CSV_IO_ERROR) {
            postcodes_import_fail(im, "cannot read %s: %s", path,
                                  errno != 0 ? strerror(errno) : "read error");
            return -1;
        }
        im->read++;
        if (im->progress != NULL && im->read % PROGRESS_EVERY == 0) {
            postcodes_import_progress(im, csv, NULL);
        }
        if (st == POSTCODES_CSV_MALFORMED || csv->nfields != cols->count) {
            im->malformed++;
            continue;
        }
        row = postcodes_row_classify(postcodes_csv_field(csv, cols->pcds),
                                     postcodes_csv_field(csv, cols->lat),
                                     postcodes_csv_field(csv, cols->lon),
                                     postcodes_csv_field(csv, cols->doterm), pc, &lat, &lon);
        if (row == POSTCODES_ROW_OK && copy_row(im, pc, lat, lon, csv, cols) != 0) {
            return -1;
        }
        (*counts[row])++;
    }
}

int
postcodes_import_copy_start(struct postcodes_import *im, const char *sql)
{
    PGresult *res = PQexec(im->pg, sql);
    int ok = PQresultStatus(res) == PGRES_COPY_IN;

    if (!ok) {
        postcodes_import_fail(im, "starting the load: %s", PQresultErrorMessage(res));
    }
    PQclear(res);
    return ok ? 0 : -1;
}

/* Ends the COPY (with `abort_msg` to abandon it) and collects its result. 0, or -1. */
int
postcodes_import_copy_end(struct postcodes_import *im, const char *abort_msg)
{
    PGresult *res;
    int ok = 1;

    if (abort_msg == NULL && postcodes_import_copy_flush(im) != 0) {
        abort_msg = "import failed";
    }
    if (PQputCopyEnd(im->pg, abort_msg) != 1) {
        if (abort_msg == NULL) {
            postcodes_import_fail(im, "finishing the load: %s", PQerrorMessage(im->pg));
        }
        return -1;
    }
    while ((res = PQgetResult(im->pg)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            if (ok && abort_msg == NULL) {
                postcodes_import_fail(im, "loading rows: %s", PQresultErrorMessage(res));
            }
            ok = 0;
        }
        PQclear(res);
    }
    return ok && abort_msg == NULL ? 0 : -1;
}

/* The garbage verdict: 1 when the file is too broken to load. */
static int
too_much_garbage(const struct postcodes_import *im)
{
    long long garbage = im->malformed + im->invalid;

    return garbage > POSTCODES_GARBAGE_MIN && garbage * 100 > im->read * POSTCODES_GARBAGE_PCT;
}

int
postcodes_import_copy_finish(struct postcodes_import *im,
                             const char *path,
                             const char *invalid,
                             const char *what)
{
    if (too_much_garbage(im)) {
        postcodes_import_copy_end(im, "too many bad rows");
        postcodes_import_fail(
            im,
            "%s: %lld of %lld rows are not usable (%lld malformed, %lld %s); the limit is "
            "%d rows and %d%%: nothing changed",
            path, im->malformed + im->invalid, im->read, im->malformed, im->invalid, invalid,
            POSTCODES_GARBAGE_MIN, POSTCODES_GARBAGE_PCT);
        return -1;
    }
    if (im->loaded == 0) {
        postcodes_import_copy_end(im, "no rows");
        postcodes_import_fail(im, "%s: no %s in %lld rows: nothing changed", path, what, im->read);
        return -1;
    }
    return postcodes_import_copy_end(im, NULL);
}

/* The load of postcode_new. FREEZE: the table is new in this transaction, so its rows need no
 * later vacuum. */
static const char copy_sql[] = "COPY postcode_new (postcode, latitude, longitude, oslaua, ctry)"
                               " FROM STDIN WITH (FORMAT text, FREEZE)";

/* SQL run after the rows are in: index, centroids, swap. The caller holds the transaction. */
static const char index_sql[] =
    "ALTER TABLE postcode_new ADD CONSTRAINT postcode_new_pkey PRIMARY KEY (postcode);"
    "CREATE INDEX postcode_new_oslaua_idx ON postcode_new (oslaua)"; /* migration 0017 */
static const char districts_sql[] =
    "CREATE TABLE postcode_district_new (LIKE postcode_district INCLUDING ALL)";
static const char swap_sql[] =
    "LOCK TABLE postcode, postcode_district IN ACCESS EXCLUSIVE MODE;"
    "ALTER TABLE postcode RENAME TO postcode_old;"
    "ALTER TABLE postcode_district RENAME TO postcode_district_old;"
    "ALTER TABLE postcode_new RENAME TO postcode;"
    "ALTER TABLE postcode_district_new RENAME TO postcode_district;"
    "DROP TABLE postcode_old, postcode_district_old;"
    "ALTER TABLE postcode RENAME CONSTRAINT postcode_new_pkey TO postcode_pkey;"
    "ALTER INDEX postcode_new_oslaua_idx RENAME TO postcode_oslaua_idx;"
    "ALTER TABLE postcode_district RENAME CONSTRAINT postcode_district_new_pkey"
    " TO postcode_district_pkey;"
    "CALL registry_postcodes_swapped()"; /* migration 0038: the sites' districts */

/* Adds postcode_new's primary key and its district index; a postcode listed twice makes the file
 * bad. 0, or -1. */
static int
index_new(struct postcodes_import *im, const char *path)
{
    PGresult *res = PQexec(im->pg, index_sql);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

    if (!ok && state != NULL && strcmp(state, "23505") == 0) {
        postcodes_import_fail(im, "%s lists a postcode more than once (%s): nothing changed", path,
                              detail != NULL ? detail : "duplicate key");
    } else if (!ok) {
        postcodes_import_fail(im, "indexing postcode_new: %s", PQresultErrorMessage(res));
    }
    PQclear(res);
    return ok ? 0 : -1;
}

/* Swaps the new tables in. A reader's open transaction holds its lock on postcode until it
 * ends, and while the swap waits for it every new reader queues behind the swap: so wait at
 * most SWAP_WAIT_MS at a time, let the queue drain, and try again. 0, or -1 (error set). */
int
postcodes_import_swap(struct postcodes_import *im, const char *sql, const char *tables)
{
    int attempt;

    if (postcodes_import_exec(im, "SET LOCAL lock_timeout = '" SWAP_WAIT_MS "ms'", "swapping")
        != 0) {
        return -1;
    }
    for (attempt = 1;; attempt++) {
        PGresult *res;
        const char *state;
        int busy;

        if (postcodes_import_exec(im, "SAVEPOINT swap", "swapping") != 0) {
            return -1;
        }
        res = PQexec(im->pg, sql);
        if (PQresultStatus(res) == PGRES_COMMAND_OK) {
            PQclear(res);
            return 0;
        }
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        busy = state != NULL && strcmp(state, "55P03") == 0;
        postcodes_import_fail(im, "swapping the new tables in: %s", PQresultErrorMessage(res));
        PQclear(res);
        if (!busy || attempt == SWAP_ATTEMPTS) {
            if (busy) {
                postcodes_import_fail(im,
                                      "%s stayed in use by other sessions for %d tries; "
                                      "nothing changed, try again later",
                                      tables, SWAP_ATTEMPTS);
            }
            return -1;
        }
        if (postcodes_import_exec(im, "ROLLBACK TO SAVEPOINT swap", "swapping") != 0) {
            return -1;
        }
        usleep(200 * 1000);
    }
}

/* Opens the CSV at `path` (`what` it should be, for the message) into *f and *csv, which it has
 * read the header row of. 0, or -1 (error set, nothing left to release). */
int
postcodes_import_open(struct postcodes_import *im,
                      const char *path,
                      const char *what,
                      FILE **f,
                      struct postcodes_csv *csv)
{
    struct stat sb;
    enum postcodes_csv_status st;

    memset(&sb, 0, sizeof(sb));
    if ((*f = fopen(path, "rb")) == NULL) {
        postcodes_import_fail(im, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(*f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        postcodes_import_fail(im, "cannot read %s: it is a directory", path);
    } else if (postcodes_csv_init(csv, *f) != 0) {
        postcodes_import_fail(im, "out of memory");
    } else if ((st = postcodes_csv_next(csv)) == POSTCODES_CSV_RECORD) {
        im->size = S_ISREG(sb.st_mode) ? (long long)sb.st_size : 0;
        return 0;
    } else {
        if (st == POSTCODES_CSV_EOF) {
            postcodes_import_fail(im, "%s is empty: expected %s with its header row", path, what);
        } else if (st == POSTCODES_CSV_MALFORMED) {
            postcodes_import_fail(im, "%s: the header row is not valid CSV", path);
        } else {
            postcodes_import_fail(im, "cannot read %s: %s", path,
                                  errno != 0 ? strerror(errno) : "read error");
        }
        postcodes_csv_cleanup(csv);
    }
    fclose(*f);
    *f = NULL;
    return -1;
}

int
postcodes_import(PGconn *c, const char *path, FILE *out, FILE *progress, char *err, size_t errlen)
{
    struct postcodes_import im;
    struct postcodes_csv csv;
    struct postcodes_columns cols;
    FILE *f = NULL;
    int rc = -1, csv_ready = 0;
    long long started = clock_mono_ms();
    long long locked;

    postcodes_import_init(&im, c, progress, NULL, err, errlen);

    /* The file and its header first: a file that cannot be read changes nothing. */
    if (postcodes_import_open(&im, path, "the ONSPD or NSPL CSV", &f, &csv) != 0) {
        goto out;
    }
    csv_ready = 1;
    if (postcodes_columns_find(&csv, &cols, err, errlen) != 0) {
        char why[200];
        snprintf(why, sizeof(why), "%s", err);
        postcodes_import_fail(&im, "%s: %s", path, why);
        goto out;
    }
    im.copybuf = malloc(COPY_CHUNK);
    if (im.copybuf == NULL) {
        postcodes_import_fail(&im, "out of memory");
        goto out;
    }

    if (postcodes_import_begin(&im) != 0) {
        goto out;
    }
    locked = postcodes_import_number(
        &im, "SELECT pg_try_advisory_xact_lock(" POSTCODES_LOCK_KEY ")::int",
        "taking the import lock");
    if (locked < 0) {
        goto out;
    }
    if (locked == 0) {
        postcodes_import_fail(&im,
                              "another postcode import is running; try again when it has finished");
        goto out;
    }
    if (postcodes_import_exec(
            &im,
            "SET LOCAL statement_timeout = 0;"
            "DROP TABLE IF EXISTS postcode_new, postcode_district_new;"
            "CREATE TABLE postcode_new (LIKE postcode INCLUDING DEFAULTS INCLUDING"
            " CONSTRAINTS)",
            "creating postcode_new")
            != 0
        || postcodes_import_copy_start(&im, copy_sql) != 0) {
        goto out;
    }
    if (stream_rows(&im, &csv, &cols, path) != 0) {
        postcodes_import_copy_end(&im, "import failed");
        goto out;
    }
    if (postcodes_import_copy_finish(&im, path, "invalid postcode", "live, located postcode")
        != 0) {
        goto out;
    }
    postcodes_import_progress(&im, &csv, "indexing");
    if (index_new(&im, path) != 0) {
        goto out;
    }
    postcodes_import_progress(&im, &csv, "building districts");
    if (postcodes_import_exec(&im, districts_sql, "creating postcode_district_new") != 0) {
        goto out;
    }
    im.districts = postcodes_import_number(
        &im, "SELECT postcode_district_refresh('postcode_new', 'postcode_district_new')",
        "building districts");
    if (im.districts < 0) {
        goto out;
    }
    postcodes_import_progress(&im, &csv, "swapping in");
    if (postcodes_import_exec(&im, "ANALYZE postcode_new; ANALYZE postcode_district_new",
                              "analysing")
            != 0
        || postcodes_import_swap(&im, swap_sql, "postcode tables") != 0
        || postcodes_import_commit(&im) != 0) {
        goto out;
    }
    fprintf(out,
            "postcodes imported from %s\n"
            "rows read: %lld\n"
            "loaded: %lld\n"
            "skipped: %lld (terminated %lld, unlocated %lld, invalid %lld, malformed %lld)\n"
            "districts: %lld\n"
            "with local authority: %lld%s\n"
            "seconds: %.1f\n",
            path, im.read, im.loaded, im.terminated + im.unlocated + im.invalid + im.malformed,
            im.terminated, im.unlocated, im.invalid, im.malformed, im.districts, im.with_area,
            cols.oslaua < 0 ? " (the file has no oslaua or laua column)" : "",
            (double)(clock_mono_ms() - started) / 1000.0);
    fflush(out);
    rc = 0;
out:
    return postcodes_import_end(&im, rc, f, csv_ready ? &csv : NULL);
}

/* ---- Local authority names ------------------------------------------------------------------ */

/* 1 when header field `h` ends with `suffix` (case-insensitive, outer spaces ignored) or is
 * `plain`: LAD23CD or code. */
static int
column_ends(const char *h, const char *suffix, const char *plain)
{
    char t[64];
    size_t n, k = strlen(suffix);

    if (trim_copy(h, t, sizeof(t)) != 0) {
        return 0;
    }
    n = strlen(t);
    return strcasecmp(t, plain) == 0 || (n > k && strcasecmp(t + n - k, suffix) == 0);
}

/* Checks data row `csv` of the names file and adds it to area_load. 0, or -1 (error set). */
static int
load_area(struct postcodes_import *im, const struct postcodes_csv *csv, const char *path)
{
    const char *params[2];
    char code[16], name[1024];
    PGresult *res;
    int ok;

    if (csv->nfields < 2) {
        postcodes_import_fail(im, "%s line %lld: expected a code and a name", path, csv->line);
        return -1;
    }
    if (trim_copy(postcodes_csv_field(csv, 0), code, sizeof(code)) != 0
        || !validate_gss_code(code)) {
        postcodes_import_fail(im, "%s line %lld: '%.20s' is not an ONS code such as E06000035",
                              path, csv->line, postcodes_csv_field(csv, 0));
        return -1;
    }
    if (trim_copy(postcodes_csv_field(csv, 1), name, sizeof(name)) != 0
        || !validate_text(name, 1, 200)) {
        postcodes_import_fail(im,
                              "%s line %lld: the name of %s must be text of 1 to 200 characters",
                              path, csv->line, code);
        return -1;
    }
    params[0] = code;
    params[1] = name;
    res = PQexecParams(im->pg, "INSERT INTO area_load VALUES ($1::text, $2::text)", 2, NULL, params,
                       NULL, NULL, 0);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state != NULL && strcmp(state, "23505") == 0) {
            postcodes_import_fail(im, "%s line %lld: %s is listed twice", path, csv->line, code);
        } else {
            postcodes_import_fail(im, "loading names: %s", PQresultErrorMessage(res));
        }
    }
    PQclear(res);
    return ok ? 0 : -1;
}

int
postcodes_import_areas(PGconn *c, const char *path, FILE *out, char *err, size_t errlen)
{
    struct postcodes_import im;
    struct postcodes_csv csv;
    FILE *f = NULL;
    PGresult *res = NULL;
    enum postcodes_csv_status st;
    int rc = -1, csv_ready = 0;

    postcodes_import_init(&im, c, NULL, NULL, err, errlen);
    if (postcodes_import_open(&im, path, "the ONS LA_UA names and codes CSV", &f, &csv) != 0) {
        goto out;
    }
    csv_ready = 1;
    if (csv.nfields < 2 || !column_ends(postcodes_csv_field(&csv, 0), "CD", "code")
        || !column_ends(postcodes_csv_field(&csv, 1), "NM", "name")) {
        postcodes_import_fail(
            &im,
            "%s line %lld: the header row must begin with the code and name columns, as "
            "LAD23CD,LAD23NM",
            path, csv.line);
        goto out;
    }
    if (postcodes_import_begin(&im) != 0
        || postcodes_import_exec(&im,
                                 "CREATE TEMP TABLE area_load (code text PRIMARY KEY, name text"
                                 " NOT NULL) ON COMMIT DROP",
                                 "starting the import")
               != 0) {
        goto out;
    }
    while ((st = postcodes_csv_next(&csv)) != POSTCODES_CSV_EOF) {
        if (st == POSTCODES_CSV_IO_ERROR) {
            postcodes_import_fail(&im, "cannot read %s: %s", path,
                                  errno != 0 ? strerror(errno) : "read error");
            goto out;
        }
        if (st == POSTCODES_CSV_MALFORMED) {
            postcodes_import_fail(&im, "%s line %lld: not valid CSV", path, csv.line);
            goto out;
        }
        if (load_area(&im, &csv, path) != 0) {
            goto out;
        }
        im.read++;
    }
    if (im.read == 0) {
        postcodes_import_fail(&im, "%s has no rows after its header", path);
        goto out;
    }
    /* xmax is 0 on a row this statement inserted, set on one it updated. */
    res = PQexec(c, "WITH w AS (INSERT INTO local_authority (code, name)"
                    " SELECT code, name FROM area_load ON CONFLICT (code) DO UPDATE"
                    " SET name = EXCLUDED.name WHERE local_authority.name <> EXCLUDED.name"
                    " RETURNING xmax = 0 AS added)"
                    " SELECT count(*) FILTER (WHERE added), count(*) FILTER (WHERE NOT added)"
                    " FROM w");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        postcodes_import_fail(&im, "saving the names: %s", PQresultErrorMessage(res));
        goto out;
    }
    if (postcodes_import_commit(&im) != 0) {
        goto out;
    }
    fprintf(out,
            "local authorities imported from %s\n"
            "rows read: %lld\n"
            "added: %s\n"
            "renamed: %s\n"
            "unchanged: %lld\n",
            path, im.read, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
            im.read - strtoll(PQgetvalue(res, 0, 0), NULL, 10)
                - strtoll(PQgetvalue(res, 0, 1), NULL, 10));
    fflush(out);
    rc = 0;
out:
    PQclear(res);
    return postcodes_import_end(&im, rc, f, csv_ready ? &csv : NULL);
}
