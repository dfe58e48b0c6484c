/* places.c: `mpact-registry import-places FILE`, the gazetteer of towns and places a family can
 * search from (migration 0021), and its lookup.
 *
 * Two files as published: the ONS Index of Place Names (IPN) for Great Britain, a CSV with a
 * header row, and the GeoNames country dump for Ireland (IE.txt), tab-separated without one. The
 * format is told from the first line. An import replaces the places of the file's country only:
 * the other country's rows are copied into the new table, which is loaded with COPY, indexed and
 * swapped in within ONE transaction, with the machinery of import-postcodes (postcodes.h): the
 * streaming reader, COPY buffer, progress line and swap with its retries. Readers see the old
 * table until the COMMIT; a bad file rolls back to it.
 *
 * What is loaded:
 * - IPN: the places a family would name, built-up areas (BUA), their sub-divisions (BUASD) and
 *   localities (LOC); not wards, parishes, counties or regions. The area is the local authority
 *   district (the last lad<yy>nm column: the IPN also has lad61nm and lad91nm). The IPN has no
 * population for most rows: `size` is popcnt when the file has it, else a rank by kind (BUA 10000,
 * BUASD 5000, LOC 100), which orders choices.
 * - GeoNames: feature class P (populated places), except historical, abandoned and destroyed
 *   ones (PPLH, PPLQ, PPLW, PPLCH), of country IE; `size` its population; the area its province
 *   (admin1 code C, L, M, U; GeoNames' admin2 codes are not county names).
 * Names not in UTF-8 are read as ISO-8859-1. A row whose name is not text of 1 to 200 characters
 * is invalid; one without usable coordinates
 * within the map (as postcodes) is unlocated; a CSV record with the wrong number of fields is
 * malformed. Invalid and malformed rows past the garbage threshold of postcodes.h fail the
 * import. */
#include "registry/places.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "registry/clock.h"
#include "registry/postcodes.h"
#include "registry/validate.h"

#define PROGRESS_EVERY 50000

/* The map (as postcodes and the place table's CHECK). */
#define LAT_MIN 49.0
#define LAT_MAX 61.5
#define LON_MIN -11.0
#define LON_MAX 2.5

/* The prefix pattern of $1: folded, LIKE's own characters escaped (as public.c's). */
#define PLACES_PREFIX                                                                              \
    "(replace(replace(replace(registry_fold($1::text), '\\', '\\\\'), '%', '\\%'), '_',"           \
    " '\\_') || '%')"

const struct db_stmt places_stmts[] = {
    /* $1 the name as typed (places_name_ok), $2 an area or NULL, $3 the most rows. One row per
     * folded name, area and country (a town listed as a built-up area and a locality, or split
     * between districts, is one place), the largest entry's; the exact names when there are
     * any. */
    {"places_find",
     "WITH m AS (SELECT DISTINCT ON (name_key, coalesce(area, ''), country) name, area,"
     " country, latitude, longitude, size, name_key = registry_fold($1::text) AS exact"
     " FROM place WHERE name_key LIKE " PLACES_PREFIX
     " AND ($2::text IS NULL OR registry_fold(area) = registry_fold($2::text))"
     " ORDER BY name_key, coalesce(area, ''), country, size DESC, name) "
     "SELECT name, area, country, latitude, longitude FROM m"
     " WHERE exact OR NOT EXISTS (SELECT 1 FROM m WHERE exact)"
     " ORDER BY size DESC, name, area NULLS FIRST, country LIMIT $3::int"},
    {NULL, NULL},
};

/* ---- The search name -------------------------------------------------------------------- */

int
places_name_ok(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    long letters = 0;
    int space = 0;
    const unsigned char *p;

    if (validate_utf8_len(in) < 0) {
        return -1;
    }
    for (p = (const unsigned char *)in; *p != '\0'; p++) {
        if (*p == ' ' || *p == '\t') {
            space = n > 0;
            continue;
        }
        /* Letters (any character beyond ASCII counts as one: its continuation bytes do not),
         * and the punctuation of place names: St. Ives, Bishop's Stortford, Stoke-on-Trent. */
        if (!(isalpha(*p) || *p >= 0x80 || *p == '.' || *p == '\'' || *p == '-')) {
            return -1;
        }
        if (isalpha(*p) || *p >= 0xc0) {
            letters++; /* an ASCII letter, or the first byte of another character */
        }
        if (n + 3 >= outlen) {
            return -1;
        }
        if (space) {
            out[n++] = ' ';
            space = 0;
        }
        out[n++] = (char)*p;
    }
    out[n] = '\0';
    if (letters < PLACES_NAME_MIN || validate_utf8_len(out) > PLACES_NAME_MAX
        || !validate_text(out, 1, PLACES_NAME_MAX)) {
        return -1;
    }
    return 0;
}

PGresult *
places_find(struct db_conn *db, const char *name, const char *area)
{
    char limit[8];
    const char *params[3] = {name, area, limit};

    snprintf(limit, sizeof(limit), "%d", PLACES_CHOICES_MAX);
    return db_exec(db, "places_find", 3, params);
}

/* ---- Import ----------------------------------------------------------------------------- */

enum places_format { PLACES_IPN, PLACES_GEONAMES };

/* Column positions in an IPN header row (-1: absent). */
struct ipn_columns {
    int name, kind, lat, lon, area, pop, count;
};

/* 1 when header field `h` is `prefix`, two digits, `suffix` (case-insensitive, outer spaces
 * ignored): place23nm, lad23nm. */
static int
column_dated(const char *h, const char *prefix, const char *suffix)
{
    size_t p = strlen(prefix), n;

    h += strspn(h, " ");
    n = strcspn(h, " ");
    return n == p + 2 + strlen(suffix) && strncasecmp(h, prefix, p) == 0
           && isdigit((unsigned char)h[p]) && isdigit((unsigned char)h[p + 1])
           && strncasecmp(h + p + 2, suffix, strlen(suffix)) == 0;
}

static int
column_plain(const char *h, const char *want)
{
    size_t n = strlen(want);

    h += strspn(h, " ");
    return strncasecmp(h, want, n) == 0 && h[n + strspn(h + n, " ")] == '\0';
}

/* Finds the IPN's columns in the header row. 0, or -1 (error set). */
static int
ipn_columns_find(struct postcodes_import *im,
                 const struct postcodes_csv *csv,
                 struct ipn_columns *cols,
                 const char *path)
{
    int i;

    memset(cols, -1, sizeof(*cols));
    for (i = 0; i < csv->nfields; i++) {
        const char *h = postcodes_csv_field(csv, i);
        if (cols->name < 0 && column_dated(h, "place", "nm")) {
            cols->name = i;
        } else if (cols->kind < 0 && column_plain(h, "descnm")) {
            cols->kind = i;
        } else if (cols->lat < 0 && column_plain(h, "lat")) {
            cols->lat = i;
        } else if (cols->lon < 0 && column_plain(h, "long")) {
            cols->lon = i;
        } else if (column_dated(h, "lad", "nm")) {
            cols->area = i; /* the last: lad61nm and lad91nm come before lad23nm */
        } else if (cols->pop < 0 && column_plain(h, "popcnt")) {
            cols->pop = i;
        }
    }
    cols->count = csv->nfields;
    if (cols->name < 0 || cols->kind < 0 || cols->lat < 0 || cols->lon < 0) {
        postcodes_import_fail(im,
                              "%s: neither the ONS Index of Place Names (a header row with "
                              "place<yy>nm, descnm, lat, long) nor a GeoNames dump (IE.txt, "
                              "tab-separated)",
                              path);
        return -1;
    }
    return 0;
}

/* Appends `s` (outer spaces dropped) to the COPY buffer as a text field, or \N when empty or
 * `null`. Tabs, line ends and backslashes are escaped. */
static void
put_text(struct postcodes_import *im, const char *s, int null)
{
    char *p = im->copybuf + im->copylen;
    size_t n;

    s += strspn(s, " ");
    n = strlen(s);
    while (n > 0 && s[n - 1] == ' ') {
        n--;
    }
    if (null || n == 0) {
        memcpy(p, "\\N", 2);
        im->copylen += 2;
        return;
    }
    for (; n > 0; n--, s++) {
        if (*s == '\\' || *s == '\t' || *s == '\n' || *s == '\r') {
            *p++ = '\\';
            *p++ = *s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : '\\';
        } else {
            *p++ = *s;
        }
    }
    im->copylen = (size_t)(p - im->copybuf);
}

/* One place into the COPY: name TAB area TAB country TAB latitude TAB longitude TAB size LF.
 * 0, or -1 (error set). */
static int
copy_place(struct postcodes_import *im,
           const char *name,
           const char *area,
           const char *country,
           double lat,
           double lon,
           long long size)
{
    char *p;

    /* Each text field at most doubles when escaped; a CSV record is at most
     * POSTCODES_RECORD_MAX bytes. */
    if (im->copylen + 2 * (strlen(name) + (area != NULL ? strlen(area) : 0)) + 96
            > POSTCODES_COPY_CHUNK
        && postcodes_import_copy_flush(im) != 0) {
        return -1;
    }
    put_text(im, name, 0);
    im->copybuf[im->copylen++] = '\t';
    put_text(im, area != NULL ? area : "", area == NULL || !validate_text(area, 1, 200));
    p = im->copybuf + im->copylen;
    p += snprintf(p, 8, "\t%s\t", country);
    p += postcodes_put_coord(p, lat);
    *p++ = '\t';
    p += postcodes_put_coord(p, lon);
    p += snprintf(p, 24, "\t%lld\n", size);
    im->copylen = (size_t)(p - im->copybuf);
    return 0;
}

#define PLACES_TEXT_BYTES 800 /* bytes of a name or area worth converting (200 characters) */

/* `s` as UTF-8 in `out` (at least 2 * PLACES_TEXT_BYTES + 1 bytes): as it is when it is UTF-8,
 * else read as ISO-8859-1 (a file saved by a spreadsheet as plain "CSV": "Ynys M\xf4n"). Returns
 * `s` or `out`, or NULL when it is neither (C1 controls) or too long. */
static const char *
as_utf8(const char *s, char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    char *o = out;

    if (validate_utf8_len(s) >= 0) {
        return s;
    }
    if (strlen(s) > PLACES_TEXT_BYTES) {
        return NULL;
    }
    for (; *p != '\0'; p++) {
        if (*p < 0x80) {
            *o++ = (char)*p;
        } else if (*p < 0xa0) {
            return NULL;
        } else {
            *o++ = (char)(0xc0 | (*p >> 6));
            *o++ = (char)(0x80 | (*p & 0x3f));
        }
    }
    *o = '\0';
    return out;
}

/* Counts of an import beyond postcodes_import's: rows that are not a town (another kind of
 * place, or another country). */
struct places_counts {
    long long other;
};

/* The province of a GeoNames admin1 code for Ireland, or NULL. */
static const char *
province(const char *code)
{
    static const char *const names[][2] = {
        {"C", "Connacht"},  {"L", "Leinster"},  {"M", "Munster"},  {"U", "Ulster"},
        {"CO", "Connacht"}, {"LE", "Leinster"}, {"MU", "Munster"}, {"UL", "Ulster"},
    };
    size_t i;

    code += strspn(code, " ");
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(code, names[i][0]) == 0) {
            return names[i][1];
        }
    }
    return NULL;
}

/* Classifies and copies the current record. 0, or -1 (error set). */
static int
place_row(struct postcodes_import *im,
          struct places_counts *pc,
          const struct postcodes_csv *csv,
          enum places_format fmt,
          const struct ipn_columns *cols)
{
    char name_buf[2 * PLACES_TEXT_BYTES + 1], area_buf[2 * PLACES_TEXT_BYTES + 1];
    const char *name, *area = NULL, *country, *lat, *lon, *pop = NULL;
    double dlat, dlon, dpop = 0;
    long long size = 0;

    if (fmt == PLACES_IPN) {
        const char *kind = postcodes_csv_field(csv, cols->kind);
        kind += strspn(kind, " ");
        if (csv->nfields != cols->count) {
            im->malformed++;
            return 0;
        }
        if (strncasecmp(kind, "BUASD", 5) == 0) {
            size = 5000;
        } else if (strncasecmp(kind, "BUA", 3) == 0) {
            size = 10000;
        } else if (strncasecmp(kind, "LOC", 3) == 0) {
            size = 100;
        } else {
            pc->other++;
            return 0;
        }
        name = postcodes_csv_field(csv, cols->name);
        area = cols->area >= 0 ? postcodes_csv_field(csv, cols->area) : NULL;
        lat = postcodes_csv_field(csv, cols->lat);
        lon = postcodes_csv_field(csv, cols->lon);
        pop = cols->pop >= 0 ? postcodes_csv_field(csv, cols->pop) : NULL;
        country = "GB";
    } else {
        const char *fclass, *fcode;
        if (csv->nfields != PLACES_RECORD_ITEMS) {
            im->malformed++;
            return 0;
        }
        fclass = postcodes_csv_field(csv, 6);
        fcode = postcodes_csv_field(csv, 7);
        if (strcmp(fclass, "P") != 0 || strcmp(postcodes_csv_field(csv, 8), "IE") != 0
            || strcmp(fcode, "PPLH") == 0 || strcmp(fcode, "PPLQ") == 0
            || strcmp(fcode, "PPLW") == 0 || strcmp(fcode, "PPLCH") == 0) {
            pc->other++;
            return 0;
        }
        name = postcodes_csv_field(csv, 1);
        area = province(postcodes_csv_field(csv, 10));
        lat = postcodes_csv_field(csv, 4);
        lon = postcodes_csv_field(csv, 5);
        pop = postcodes_csv_field(csv, 14);
        country = "IE";
    }
    if ((name = as_utf8(name, name_buf)) == NULL || !validate_text(name + strspn(name, " "), 1, 200)
        || strspn(name, " ") == strlen(name)) {
        im->invalid++;
        return 0;
    }
    if (area != NULL) {
        area = as_utf8(area, area_buf); /* NULL (no area) when it is neither */
    }
    if (postcodes_parse_number(lat, &dlat) != 0 || postcodes_parse_number(lon, &dlon) != 0
        || !(dlat >= LAT_MIN) || !(dlat <= LAT_MAX) || !(dlon >= LON_MIN) || !(dlon <= LON_MAX)) {
        im->unlocated++;
        return 0;
    }
    if (pop != NULL && postcodes_parse_number(pop, &dpop) == 0 && dpop >= 1 && dpop < 1e12) {
        size = (long long)dpop;
    }
    if (copy_place(im, name, area, country, dlat, dlon, size) != 0) {
        return -1;
    }
    im->loaded++;
    return 0;
}

/* Streams the rows of `csv` (its current record included when `first` is set: a GeoNames dump
 * has no header) into the COPY. 0, or -1 (error set). */
static int
stream_places(struct postcodes_import *im,
              struct places_counts *pc,
              struct postcodes_csv *csv,
              enum places_format fmt,
              const struct ipn_columns *cols,
              const char *path)
{
    enum postcodes_csv_status st;

    while ((st = postcodes_csv_next(csv)) != POSTCODES_CSV_EOF) {
        if (st == POSTCODES_CSV_IO_ERROR) {
            postcodes_import_fail(im, "cannot read %s: %s", path,
                                  errno != 0 ? strerror(errno) : "read error");
            return -1;
        }
        im->read++;
        if (im->read % PROGRESS_EVERY == 0) {
            postcodes_import_progress(im, csv, NULL);
        }
        if (st == POSTCODES_CSV_MALFORMED) {
            im->malformed++;
            continue;
        }
        if (place_row(im, pc, csv, fmt, cols) != 0) {
            return -1;
        }
    }
    return 0;
}

/* 1 when the first line of the file at `path` holds a tab (a GeoNames dump), else 0 (also when
 * it cannot be read: postcodes_import_open then says why). */
static int
first_line_tabbed(const char *path)
{
    FILE *f = fopen(path, "rb");
    int ch, n = 0, tab = 0;

    if (f == NULL) {
        return 0;
    }
    while (n++ < POSTCODES_RECORD_MAX && (ch = getc(f)) != EOF && ch != '\n' && !tab) {
        tab = ch == '\t';
    }
    fclose(f);
    return tab;
}

/* Opens the GeoNames dump at `path` into *f and *csv: tab-separated, quotes plain, no header.
 * 0, or -1 (error set, nothing left to release). */
static int
open_tabbed(struct postcodes_import *im, const char *path, FILE **f, struct postcodes_csv *csv)
{
    struct stat sb;

    if ((*f = fopen(path, "rb")) == NULL) {
        postcodes_import_fail(im, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (postcodes_csv_init(csv, *f) != 0) {
        postcodes_import_fail(im, "out of memory");
        fclose(*f);
        *f = NULL;
        return -1;
    }
    csv->sep = '\t';
    csv->plain = 1;
    im->size = fstat(fileno(*f), &sb) == 0 && S_ISREG(sb.st_mode) ? (long long)sb.st_size : 0;
    return 0;
}

/* The columns an import writes (name_key is generated). */
#define PLACES_COPIED "name, area, country, latitude, longitude, size"

static const char swap_sql[] = "LOCK TABLE place IN ACCESS EXCLUSIVE MODE;"
                               "ALTER TABLE place RENAME TO place_old;"
                               "ALTER TABLE place_new RENAME TO place;"
                               "DROP TABLE place_old;"
                               "ALTER INDEX place_new_fold_idx RENAME TO place_fold_idx";

int
places_import(PGconn *c, const char *path, FILE *out, FILE *progress, char *err, size_t errlen)
{
    struct postcodes_import im;
    struct places_counts pc = {0};
    struct postcodes_csv csv;
    struct ipn_columns cols;
    enum places_format fmt;
    FILE *f = NULL;
    PGresult *res = NULL;
    const char *country, *keep;
    long long started = clock_mono_ms(), locked;
    int rc = -1, csv_ready = 0;

    memset(&cols, -1, sizeof(cols));
    postcodes_import_init(&im, c, progress, "places", err, errlen);
    /* A GeoNames line holds tabs, an IPN header none: told by the first line. */
    fmt = first_line_tabbed(path) ? PLACES_GEONAMES : PLACES_IPN;
    if (fmt == PLACES_GEONAMES ? open_tabbed(&im, path, &f, &csv)
                               : postcodes_import_open(&im, path,
                                                       "the ONS Index of Place Names CSV or "
                                                       "GeoNames IE.txt",
                                                       &f, &csv)) {
        goto out;
    }
    csv_ready = 1;
    if (fmt == PLACES_IPN && ipn_columns_find(&im, &csv, &cols, path) != 0) {
        goto out;
    }
    country = fmt == PLACES_IPN ? "GB" : "IE";
    keep = fmt == PLACES_IPN ? "INSERT INTO place_new (" PLACES_COPIED ") SELECT " PLACES_COPIED
                               " FROM place WHERE country <> 'GB'"
                             : "INSERT INTO place_new (" PLACES_COPIED ") SELECT " PLACES_COPIED
                               " FROM place WHERE country <> 'IE'";
    if ((im.copybuf = malloc(POSTCODES_COPY_CHUNK)) == NULL) {
        postcodes_import_fail(&im, "out of memory");
        goto out;
    }
    if (postcodes_import_begin(&im) != 0) {
        goto out;
    }
    locked =
        postcodes_import_number(&im, "SELECT pg_try_advisory_xact_lock(" PLACES_LOCK_KEY ")::int",
                                "taking the import lock");
    if (locked < 0) {
        goto out;
    }
    if (locked == 0) {
        postcodes_import_fail(&im, "another places import is running; try again when it has "
                                   "finished");
        goto out;
    }
    if (postcodes_import_exec(&im,
                              "SET LOCAL statement_timeout = 0;"
                              "DROP TABLE IF EXISTS place_new;"
                              "CREATE TABLE place_new (LIKE place INCLUDING DEFAULTS INCLUDING"
                              " CONSTRAINTS INCLUDING GENERATED)",
                              "creating place_new")
            != 0
        || postcodes_import_exec(&im, keep, "keeping the other country's places") != 0
        || postcodes_import_copy_start(&im, "COPY place_new (name, area, country, latitude,"
                                            " longitude, size) FROM STDIN WITH (FORMAT text)")
               != 0) {
        goto out;
    }
    if (stream_places(&im, &pc, &csv, fmt, &cols, path) != 0) {
        postcodes_import_copy_end(&im, "import failed");
        goto out;
    }
    if (postcodes_import_copy_finish(&im, path, "invalid", "town or populated place") != 0) {
        goto out;
    }
    postcodes_import_progress(&im, &csv, "indexing");
    if (postcodes_import_exec(&im,
                              "CREATE INDEX place_new_fold_idx ON place_new"
                              " (name_key text_pattern_ops);"
                              "ANALYZE place_new",
                              "indexing place_new")
        != 0) {
        goto out;
    }
    postcodes_import_progress(&im, &csv, "swapping in");
    if (postcodes_import_swap(&im, swap_sql, "the place table") != 0) {
        goto out;
    }
    res = PQexec(c, "SELECT count(*) FILTER (WHERE country = 'GB'),"
                    " count(*) FILTER (WHERE country = 'IE') FROM place");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        postcodes_import_fail(&im, "counting places: %s", PQresultErrorMessage(res));
        goto out;
    }
    if (postcodes_import_commit(&im) != 0) {
        goto out;
    }
    fprintf(out,
            "places imported from %s (%s, country %s)\n"
            "rows read: %lld\n"
            "loaded: %lld\n"
            "skipped: %lld (not a town %lld, unlocated %lld, invalid %lld, malformed %lld)\n"
            "places now: GB %s, IE %s\n"
            "seconds: %.1f\n",
            path, fmt == PLACES_IPN ? "ONS Index of Place Names" : "GeoNames", country, im.read,
            im.loaded, pc.other + im.unlocated + im.invalid + im.malformed, pc.other, im.unlocated,
            im.invalid, im.malformed, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
            (double)(clock_mono_ms() - started) / 1000.0);
    fflush(out);
    rc = 0;
out:
    PQclear(res);
    return postcodes_import_end(&im, rc, f, csv_ready ? &csv : NULL);
}
