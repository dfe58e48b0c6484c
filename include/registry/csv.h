/* csv.h: RFC 4180 CSV answers (csv.c). */
#ifndef REGISTRY_CSV_H
#define REGISTRY_CSV_H

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/http.h"

/* 1 when the Accept header asks for text/csv ahead of JSON. */
int http_wants_csv(struct req *r);

/* Sends `rows` (an array of objects, borrowed) as RFC 4180 CSV: a header row from `columns`
 * (NULL-terminated), or from the first row's fields when NULL; nested values as compact JSON;
 * text that a spreadsheet would run as a formula is prefixed with an apostrophe. */
int http_send_csv(struct req *r, int status, json_t *rows, const char *const *columns);

/* http_send_csv for the open routes: sent as http_send_public (ETag, Cache-Control public,
 * Vary: Accept), each member of a row that is an object flattened into <member>_<key> columns
 * first (so `columns` may name "site_name"). `rows` is borrowed. Returns the status sent. */
int http_send_public_csv(struct req *r, json_t *rows, const char *const *columns);

/* Sends rows [0, n) of `res` as CSV, exactly as http_send_csv sends db_rows_to_json of them with
 * the result's public columns (names not starting with '_') as `columns`, without building the
 * JSON. Returns the status sent. */
int csv_send_result(struct req *r, int status, const PGresult *res, int n);

#endif
