/* rowjson.h: rows of a PGresult as JSON, and typed reads of one column. */
#ifndef REGISTRY_ROWJSON_H
#define REGISTRY_ROWJSON_H

#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

/* Returns a new reference: the row as an object, column names as keys, values typed by the
 * column's type (bool, integers, numeric, json/jsonb parsed, timestamps in RFC 3339 UTC, NULL as
 * null). Columns whose name starts with '_' are internal and left out; one whose name starts
 * with '?' is shown without it, and left out when NULL. */
json_t *db_row_to_json(const PGresult *res, int row);

/* Returns a new reference: the columns `names` (NULL-terminated) of the row as an object, in
 * that order, typed as db_row_to_json types them; a name the result lacks is null. Cheaper than
 * db_row_to_json when a few columns of many are shown. */
json_t *db_row_pick(const PGresult *res, int row, const char *const *names);

/* Returns a new reference: an array of db_row_to_json for rows [0, n). */
json_t *db_rows_to_json(const PGresult *res, int n);

/* A timestamptz as the session writes it, "2025-01-31 12:00:00.5+00", in RFC 3339 UTC
 * ("2025-01-31T12:00:00.5Z") in `buf`; `v` itself when it does not fit. */
const char *db_timestamp_text(const char *v, char *buf, size_t len);

/* The value of column `name` in `row`, or NULL when it is SQL NULL or missing. */
const char *db_value(const PGresult *res, int row, const char *name);

/* Column `name` of `row` as a boolean: 1 for true, 0 for false and for SQL NULL (a NULL flag
 * means "not set"). A column the result lacks, or a row past its end, is a programming error (a
 * misspelt name, a statement that lost a column): it is logged as an error and reads as 0, so a
 * release build fails closed rather than crash; a debug build (no NDEBUG) aborts. */
int db_bool(const PGresult *res, int row, const char *name);

#endif
