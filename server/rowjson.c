/* rowjson.c: PostgreSQL rows as JSON, typed by the column's type, and the few typed reads of one
 * column (db_value, db_bool) the handlers make. Nothing here touches a connection. */
#include "registry/rowjson.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/logging.h"

const char *
db_timestamp_text(const char *v, char *buf, size_t len)
{
    size_t n = strlen(v);

    if (n + 2 > len) {
        return v;
    }
    memcpy(buf, v, n + 1);
    if (n > 10 && buf[10] == ' ') {
        buf[10] = 'T';
    }
    if (n > 3 && strcmp(buf + n - 3, "+00") == 0) {
        memcpy(buf + n - 3, "Z", 2);
    }
    return buf;
}

static json_t *
value_json(const PGresult *res, int row, int col)
{
    const char *v;
    char stamp[64];

    if (PQgetisnull(res, row, col)) {
        return json_null();
    }
    v = PQgetvalue(res, row, col);
    switch (PQftype(res, col)) {
    case 16: /* bool */
        return json_boolean(v[0] == 't');
    case 20: /* int8 */
    case 21: /* int2 */
    case 23: /* int4 */
        return json_integer(strtoll(v, NULL, 10));
    case 700:  /* float4 */
    case 701:  /* float8 */
    case 1700: /* numeric */
        return json_real(strtod(v, NULL));
    case 114:  /* json */
    case 3802: /* jsonb */
        return json_loads(v, JSON_DECODE_ANY, NULL);
    case 1184: /* timestamptz */
        return json_string(db_timestamp_text(v, stamp, sizeof(stamp)));
    default:
        return json_string(v);
    }
}

/* value_json, except that a value Jansson refuses (invalid UTF-8 from the database) becomes
 * null, loudly. */
static json_t *
column_json(const PGresult *res, int row, int col)
{
    json_t *v = value_json(res, row, col);

    if (v == NULL) {
        logging_event("warn", NULL, "db: column %s: value not representable in JSON",
                      PQfname(res, col));
        v = json_null();
    }
    return v;
}

json_t *
db_row_to_json(const PGresult *res, int row)
{
    json_t *o = json_object();
    int col, ncols = PQnfields(res);

    for (col = 0; col < ncols; col++) {
        const char *name = PQfname(res, col);

        if (name[0] == '_' || (name[0] == '?' && PQgetisnull(res, row, col))) {
            continue;
        }
        json_object_set_new_nocheck(o, name + (name[0] == '?'), /* names: ours */
                                    column_json(res, row, col));
    }
    return o;
}

json_t *
db_row_pick(const PGresult *res, int row, const char *const *names)
{
    json_t *o = json_object();
    const char *const *name;

    for (name = names; *name != NULL; name++) {
        int col = PQfnumber(res, *name);

        json_object_set_new_nocheck(o, *name, col >= 0 ? column_json(res, row, col) : json_null());
    }
    return o;
}

json_t *
db_rows_to_json(const PGresult *res, int n)
{
    json_t *a = json_array();
    int i;

    for (i = 0; i < n; i++) {
        json_array_append_new(a, db_row_to_json(res, i));
    }
    return a;
}

const char *
db_value(const PGresult *res, int row, const char *name)
{
    int col = PQfnumber(res, name);

    if (col < 0 || row >= PQntuples(res) || PQgetisnull(res, row, col)) {
        return NULL;
    }
    return PQgetvalue(res, row, col);
}

int
db_bool(const PGresult *res, int row, const char *name)
{
    int col = PQfnumber(res, name);

    if (col < 0 || row < 0 || row >= PQntuples(res)) {
        logging_event("error", NULL, "bug: db_bool: no column %s in row %d of the result", name,
                      row);
#ifndef NDEBUG
        abort();
#endif
        return 0;
    }
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}
