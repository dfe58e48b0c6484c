/* it_cursors.c: paging. Forged `cursor`s on every paged route, and the CSV form of lists. The
 * routes come from static/openapi.json (every GET that takes the `cursor` parameter), so a new
 * paged route cannot escape the test. For each one the test reads a genuine cursor (a page of one
 * item of the demo data), checks that it works, learns the type of each of its sort keys from it,
 * and then sends forged cursors of every shape: wrong array length, wrong JSON types, invalid dates
 * and timestamps, out-of-range numbers, non-UUID ids, NUL escapes, nesting, non-base64url text,
 * over-long and trailing text. Each must get a 400 problem naming `cursor`, and no forged value may
 * reach the database (its error would be a 500 and a "db error" line in the server log).
 * IT_TIMEOUT=600 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "itlib.h"
#include "registry/codec.h"
#include "registry/validate.h"

#define ADMIN_EMAIL "admin@cursors.example"
#define PASSWORD    "cursors-test-password-1"
#define SOME_UUID   "00000000-0000-4000-8000-000000000000"

struct fx {
    IT_FX_HEAD;
    long forged; /* forged cursors sent */
};

/* ---- Helpers ----------------------------------------------------------------------------------
 */

/* The JSON a cursor holds (a new reference), or NULL. */
static json_t *
cursor_json(const char *cursor)
{
    size_t len = strlen(cursor);
    unsigned char *raw = malloc(len + 1);
    long n = codec_b64url_decode(cursor, len, raw);
    json_t *j = n > 0 ? json_loadb((const char *)raw, (size_t)n, 0, NULL) : NULL;

    free(raw);
    return j;
}

/* The kind of a genuine sort key: 'i' integer, 'u' UUID, 'd' date, 't' a time stamp (a date
 * and a time), 's' other text. */
static char
key_kind(json_t *v)
{
    const char *s = json_string_value(v);

    if (json_is_integer(v)) {
        return 'i';
    }
    assert_non_null(s);
    if (validate_uuid(s)) {
        return 'u';
    }
    if (strlen(s) >= 10 && isdigit((unsigned char)s[0]) && s[4] == '-' && s[7] == '-') {
        return strlen(s) == 10 ? 'd' : 't';
    }
    return 's';
}

/* GET `path` (with a query already or not) plus "limit=1" and, when not NULL, "cursor=" + the
 * already URL-safe `cursor`. */
static void
get_page(struct fx *f, const char *path, const char *cursor, struct it_resp *r)
{
    char *url = it_fmt("%s%slimit=1%s%s", path, strchr(path, '?') != NULL ? "&" : "?",
                       cursor != NULL ? "&cursor=" : "", cursor != NULL ? cursor : "");

    it_get(f->s, url, f->admin, r);
    free(url);
}

/* The next_cursor of a page of one item of `path` (malloc'd), or NULL when there is none. */
static char *
next_cursor_of(struct fx *f, const char *path)
{
    struct it_resp r;
    char *c = NULL;

    get_page(f, path, NULL, &r);
    if (r.status == 200 && json_is_string(json_object_get(r.json, "next_cursor"))) {
        c = strdup(json_string_value(json_object_get(r.json, "next_cursor")));
    }
    it_resp_free(&r);
    return c;
}

/* A concrete path for the OpenAPI path `tmpl`: its one {id} is taken from the items of the
 * collection above it, the first whose own list has a second page. Fails the test when none
 * has (the fixture must give it data). Returns a malloc'd path; *cursor gets its genuine cursor. */
static char *
concrete_path(struct fx *f, const char *tmpl, char **cursor)
{
    const char *open = strchr(tmpl, '{');
    const char *close = open != NULL ? strchr(open, '}') : NULL;
    char *parent, *path = NULL;
    struct it_resp r;
    json_t *item;
    size_t i;

    *cursor = NULL;
    if (open == NULL) {
        path = strdup(tmpl);
        *cursor = next_cursor_of(f, path);
        if (*cursor == NULL) {
            fail_msg("%s: no second page with limit=1; give the fixture more data", tmpl);
        }
        return path;
    }
    if (strchr(close, '{') != NULL) {
        fail_msg("%s: more than one path parameter; teach concrete_path about it", tmpl);
    }
    parent = it_fmt("%.*s?limit=100", (int)(open - tmpl - 1), tmpl);
    it_get(f->s, parent, f->admin, &r);
    it_assert_status(&r, 200);
    json_array_foreach(json_object_get(r.json, "items"), i, item)
    {
        path = it_fmt("%.*s%s%s", (int)(open - tmpl), tmpl, it_jstr(item, "id"), close + 1);
        *cursor = next_cursor_of(f, path);
        if (*cursor != NULL) {
            break;
        }
        free(path);
        path = NULL;
    }
    it_resp_free(&r);
    if (path == NULL) {
        fail_msg("%s: no item of %s has a second page; give the fixture more data", tmpl, parent);
    }
    free(parent);
    return path;
}

/* Sends the forged cursor `cursor` (URL-safe text) and checks the answer: a 400 problem that
 * names the cursor. */
static void
expect_refused(struct fx *f, const char *path, const char *cursor, const char *what)
{
    struct it_resp r;
    const char *detail;

    f->forged++;
    get_page(f, path, cursor, &r);
    if (r.status != 400) {
        fprintf(stderr, "GET %s with forged cursor %s (%s):\n", path, cursor, what);
        it_resp_print(&r);
        fail_msg("a forged cursor (%s) on %s answered %ld, not 400", what, path, r.status);
    }
    it_assert_problem(&r, 400);
    detail = it_json_str(&r, "detail");
    if (detail == NULL || strncmp(detail, "cursor", 6) != 0) {
        fail_msg("the 400 for a forged cursor (%s) on %s does not name the cursor: %s", what, path,
                 detail != NULL ? detail : "(no detail)");
    }
    it_resp_free(&r);
}

/* Encodes the JSON text `json` and sends it as a forged cursor. */
static void
expect_refused_json(struct fx *f, const char *path, const char *json)
{
    char *c = it_b64url_encode(json, strlen(json));

    expect_refused(f, path, c, json);
    free(c);
}

/* The genuine key array with element `i` replaced by the JSON text `value`, as JSON text
 * (malloc'd). */
static char *
with_key(json_t *keys, size_t i, const char *value)
{
    json_t *copy = json_deep_copy(keys);
    json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
    char *text;

    assert_non_null(v);
    json_array_set_new(copy, i, v);
    text = json_dumps(copy, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(copy);
    return text;
}

/* The genuine key array's JSON text with the text at element `i` spliced in raw (for values
 * JSON would not let us build: escapes of NUL, numbers out of range). Returns malloc'd text. */
static char *
with_raw_key(json_t *keys, size_t i, const char *raw)
{
    size_t n = json_array_size(keys), k;
    char *out = strdup("["), *next;

    for (k = 0; k < n; k++) {
        char *el = k == i ? strdup(raw) : json_dumps(json_array_get(keys, k), JSON_ENCODE_ANY);
        next = it_fmt("%s%s%s", out, k > 0 ? "," : "", el);
        free(el);
        free(out);
        out = next;
    }
    next = it_fmt("%s]", out);
    free(out);
    return next;
}

static void
refuse_with_key(struct fx *f, const char *path, json_t *keys, size_t i, const char *value)
{
    char *text = with_key(keys, i, value);

    expect_refused_json(f, path, text);
    free(text);
}

static void
refuse_with_raw_key(struct fx *f, const char *path, json_t *keys, size_t i, const char *raw)
{
    char *text = with_raw_key(keys, i, raw);

    expect_refused_json(f, path, text);
    free(text);
}

/* Values no sort key of a date or time type may take. */
static const char *const bad_times[] = {
    "\"not-a-date\"",
    "\"2025-02-30\"",
    "\"2025-02-29 00:00:00+00\"",
    "\"\"",
    "\"1e400\"",
    "\"2025-13-01\"",
    "\"2025-00-10\"",
    "\"0000-01-01\"",
    "\"99999-01-01\"",
    "\"infinity\"",
    "\"-infinity\"",
    "\"now\"",
    "\"epoch\"",
    "\"today\"",
    "\"allballs\"",
    "\" 2025-01-01\"",
    "\"2025-01-01 \"",
    "\"2025-01-01 24:00:00+00\"",
    "\"2025-01-01 23:60:00+00\"",
    "\"2025-01-01 23:59:60+00\"",
    "\"2025-01-01 00:00:00+99\"",
    "\"2025-01-01 00:00:00+16:00\"",
    "\"2025-01-01 00:00:00.1234567+00\"",
    "\"2025-01-01 00:00:00.+00\"",
    "\"2025-01-01 00:00:00 BC\"",
    "\"2025-01-01T00:00:00Z\"",
    "\"20250101\"",
    "\"2025/01/01\"",
    "\"J2451187\"",
};

/* Values no key of any kind may take: wrong JSON types, nesting, numbers beyond any type. */
static const char *const bad_any[] = {
    "null", "true", "false", "1.5", "-1", "{}", "{\"a\":\"b\"}", "[]", "[\"nested\"]", "[[[]]]",
};

/* Raw JSON texts for any element: NUL escapes (JSON strings that would hide what follows),
 * numbers beyond double and int64, a lone surrogate. */
static const char *const bad_raw[] = {
    "\"a\\u0000b\"", "\"\\u0000\"", "1e400", "-1e400", "99999999999999999999999", "\"\\ud800\"",
};

/* Cursors that are not base64url JSON arrays at all, as sent in the query. */
static const char *const bad_encodings[] = {
    "",
    "!!!!",
    "a",
    "abc%3D",
    "WyJhIl0%3D",     /* ["a"] with padding */
    "W%2BJhIl0",      /* standard base64 '+' */
    "Wy%2FhIl0",      /* standard base64 '/' */
    "bm90IGpzb24",    /* not json */
    "WyJhIiw",        /* ["a", (truncated) */
    "WyJhIl0gLy8geA", /* ["a"] // x (trailing text) */
    "AA",             /* a NUL byte */
    "WwBd",           /* [ NUL ] */
    "%00",
    "%C3%A9",
    "%FF",
    "%G1",
};

/* Every forged shape, for one paged route whose genuine cursor is `genuine`. */
static void
forge_all(struct fx *f, const char *path, const char *genuine)
{
    json_t *keys = cursor_json(genuine);
    size_t n, i, k;
    char *text, *longtext;

    if (!json_is_array(keys) || json_array_size(keys) == 0) {
        fail_msg("%s: the genuine cursor is not a JSON array of keys", path);
    }
    n = json_array_size(keys);

    /* Not a JSON array of keys at all. */
    for (k = 0; k < sizeof(bad_encodings) / sizeof(bad_encodings[0]); k++) {
        expect_refused(f, path, bad_encodings[k], "bad encoding");
    }
    expect_refused_json(f, path, "{}");
    expect_refused_json(f, path, "\"" SOME_UUID "\"");
    expect_refused_json(f, path, "42");
    expect_refused_json(f, path, "null");
    expect_refused_json(f, path, "[]");

    /* Wrong array length: one key fewer, one more, the array twice. */
    text = json_dumps(keys, JSON_COMPACT);
    {
        char *shorter = strdup(text), *comma = strrchr(shorter, ',');
        if (comma != NULL) {
            strcpy(comma, "]");
            expect_refused_json(f, path, shorter);
        }
        free(shorter);
    }
    {
        char *longer = it_fmt("%.*s,\"" SOME_UUID "\"]", (int)strlen(text) - 1, text);
        char *twice = it_fmt("[%s,%s]", text, text);
        expect_refused_json(f, path, longer);
        expect_refused_json(f, path, twice);
        free(longer);
        free(twice);
    }
    /* Over-long: one key of 2000 characters. */
    longtext = malloc(2003);
    longtext[0] = '"';
    memset(longtext + 1, 'x', 2000);
    strcpy(longtext + 2001, "\"");
    refuse_with_key(f, path, keys, 0, longtext);
    free(longtext);
    free(text);

    for (i = 0; i < n; i++) {
        char kind = key_kind(json_array_get(keys, i));

        for (k = 0; k < sizeof(bad_any) / sizeof(bad_any[0]); k++) {
            if (kind == 'i' && strcmp(bad_any[k], "-1") == 0) {
                continue; /* a number below every id is a well-formed integer key */
            }
            refuse_with_key(f, path, keys, i, bad_any[k]);
        }
        for (k = 0; k < sizeof(bad_raw) / sizeof(bad_raw[0]); k++) {
            refuse_with_raw_key(f, path, keys, i, bad_raw[k]);
        }
        switch (kind) {
        case 'i':
            refuse_with_key(f, path, keys, i, "\"1\"");
            refuse_with_raw_key(f, path, keys, i, "9223372036854775808");
            refuse_with_raw_key(f, path, keys, i, "-9223372036854775809");
            break;
        case 'u':
            refuse_with_key(f, path, keys, i, "\"not-a-uuid\"");
            refuse_with_key(f, path, keys, i, "\"\"");
            refuse_with_key(f, path, keys, i, "\"00000000000040008000000000000000\"");
            refuse_with_key(f, path, keys, i, "\"{" SOME_UUID "}\"");
            refuse_with_key(f, path, keys, i, "\"" SOME_UUID "0\"");
            refuse_with_key(f, path, keys, i, "\"g0000000-0000-4000-8000-000000000000\"");
            refuse_with_key(f, path, keys, i, "42");
            break;
        case 'd':
        case 't':
            for (k = 0; k < sizeof(bad_times) / sizeof(bad_times[0]); k++) {
                refuse_with_key(f, path, keys, i, bad_times[k]);
            }
            /* The other time type: a date where a time stamp belongs, and the reverse. */
            refuse_with_key(f, path, keys, i,
                            kind == 'd' ? "\"2025-01-01 00:00:00+00\"" : "\"2025-01-01\"");
            refuse_with_key(f, path, keys, i, "20250101");
            break;
        default: /* text: any string is a key, so only the shapes above */
            refuse_with_key(f, path, keys, i, "42");
            break;
        }
    }
    json_decref(keys);
}

/* Two rows for the first organisation, for the INSERT ... SELECT of two rows of a table. */
#define TWO_OF_FIRST_ORG                                                                           \
    " FROM (SELECT id FROM organisation ORDER BY id LIMIT 1) o, generate_series(1, 2) n"

/* ---- Fixture ----------------------------------------------------------------------------------
 */

static int
group_setup(void **state)
{
    static const char *const args[] = {"seed-demo", NULL};
    static const char *const env[] = {"REGISTRY_DEMO_PASSWORD=cursors-demo-password-1", NULL};
    struct fx *f = it_fx_start(sizeof(*f), "cursors", NULL, ADMIN_EMAIL, PASSWORD, 0);
    char *out = NULL;
    int rc;

    rc = it_exec(f->s, 0, args, env, NULL, 180, &out);
    if (rc != 0) {
        fprintf(stderr, "seed-demo exited %d:\n%s\n", rc, out != NULL ? out : "");
    }
    free(out);
    assert_int_equal(rc, 0);
    /* What the demo data lacks: API clients, webhooks with deliveries, a second licence for one
     * organisation, audit events. */
    PQclear(it_sql(f->s, "INSERT INTO api_client (organisation_id, client_id, name, scopes)"
                         " SELECT o.id, 'mpc_' || substr(md5(o.id::text || n), 1, 22), 'c' || n,"
                         " '[\"facilitators:read\"]'" TWO_OF_FIRST_ORG));
    PQclear(it_sql(f->s, "INSERT INTO webhook_subscription (organisation_id, url, events, secret)"
                         " SELECT o.id, 'https://hooks.example.org/' || n,"
                         " ARRAY['licence.status_changed'], 'whsec_x'" TWO_OF_FIRST_ORG));
    PQclear(it_sql(f->s, "INSERT INTO webhook_outbox (subscription_id, event, body, state)"
                         " SELECT id, 'licence.status_changed', '{}', 'delivered'"
                         " FROM webhook_subscription"));
    PQclear(it_sql(f->s, "INSERT INTO webhook_delivery (outbox_id, subscription_id, attempt,"
                         " status_code, duration_ms, outcome)"
                         " SELECT o.id, o.subscription_id, n, 200, 5, 'delivered'"
                         " FROM webhook_outbox o, generate_series(1, 2) n"));
    PQclear(it_sql(f->s, "INSERT INTO licence (organisation_id, number, status, valid_from,"
                         " valid_until, reason)"
                         " SELECT id, 'MPL-CUR-' || n, 'revoked', '2020-01-01',"
                         " '2021-01-01', 'x'" TWO_OF_FIRST_ORG));
    PQclear(it_sql(f->s, "INSERT INTO audit_event (action, resource_type, resource_id)"
                         " SELECT 'update', 'organisation', n::text FROM generate_series(1, 2) n"));
    /* Two decided employment requests for every facilitator (their list pages too). */
    PQclear(it_sql(f->s,
                   "INSERT INTO facilitator_employment_request"
                   " (facilitator_id, organisation_id, starts_on, status, reason)"
                   " SELECT fa.id, o.id, '2026-01-01', 'declined', 'x'"
                   " FROM facilitator fa, (SELECT id FROM organisation ORDER BY id LIMIT 1) o,"
                   " generate_series(1, 2) n"));
    *state = f;
    return 0;
}

/* ---- Tests ------------------------------------------------------------------------------------
 */

/* The GET operations of openapi.json that take the `cursor` parameter. Returns a new reference
 * to an array of path strings. */
static json_t *
paged_routes(void)
{
    char *file = it_fmt("%s/static/openapi.json", getenv("IT_SOURCE_DIR"));
    char *text = it_read_file(file);
    json_t *doc = text != NULL ? json_loads(text, 0, NULL) : NULL;
    json_t *out = json_array(), *item, *param;
    const char *path;
    size_t i;

    if (doc == NULL) {
        fail_msg("cannot read %s", file);
    }
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        json_t *get = json_object_get(item, "get");
        json_array_foreach(json_object_get(get, "parameters"), i, param)
        {
            const char *ref = it_jstr(param, "$ref"), *name = it_jstr(param, "name");
            if ((ref != NULL && strcmp(ref, "#/components/parameters/cursor") == 0)
                || (name != NULL && strcmp(name, "cursor") == 0)) {
                json_array_append_new(out, json_string(path));
                break;
            }
        }
    }
    json_decref(doc);
    free(text);
    free(file);
    return out;
}

static void
test_forged_cursors_on_every_paged_route(void **state)
{
    struct fx *f = *state;
    json_t *routes = paged_routes(), *route;
    size_t i;
    char *log;

    /* The thirteen of today, at least; more is fine, fewer means the document lost some. */
    if (json_array_size(routes) < 13) {
        fail_msg("only %zu paged routes in openapi.json", json_array_size(routes));
    }
    json_array_foreach(routes, i, route)
    {
        char *cursor = NULL;
        char *path = concrete_path(f, json_string_value(route), &cursor);
        struct it_resp r;

        /* The genuine cursor works, so the refusals below are about the forgery. */
        get_page(f, path, cursor, &r);
        it_assert_status(&r, 200);
        it_resp_free(&r);
        forge_all(f, path, cursor);
        free(cursor);
        free(path);
    }
    fprintf(stderr, "%zu paged routes, %ld forged cursors refused\n", json_array_size(routes),
            f->forged);
    json_decref(routes);
    log = it_log(f->s);
    if (log != NULL && strstr(log, "db error") != NULL) {
        fail_msg("a forged cursor reached the database:\n%s", strstr(log, "db error"));
    }
    free(log);
}

/* The three shapes of issue 13 on the licences of an organisation, each named: these answered
 * 500 /problems/internal (SQLSTATE 22007) before. */
static void
test_issue_13_examples(void **state)
{
    struct fx *f = *state;
    static const char *const keys[] = {"not-a-date", "2025-02-30", "", "1e400"};
    char *cursor = NULL;
    char *path = concrete_path(f, "/v1/organisations/{id}/licences", &cursor);
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char *json = it_fmt("[\"%s\",\"" SOME_UUID "\"]", keys[i]);
        expect_refused_json(f, path, json);
        free(json);
    }
    free(cursor);
    free(path);
}

/* Fails unless every line break of `body` is CRLF: no CR without LF, no LF without CR. */
static void
assert_crlf_only(const char *body, size_t len, const char *what)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if ((body[i] == '\r' && (i + 1 >= len || body[i + 1] != '\n'))
            || (body[i] == '\n' && (i == 0 || body[i - 1] != '\r'))) {
            fail_msg("%s: a line break that is not CRLF at byte %zu:\n%s", what, i, body);
        }
    }
}

/* GET `path` with Accept: text/csv: a 200 CSV answer, CRLF line ends only. Returns its rows
 * (it_csv_parse, a new reference); *out keeps the response. */
static json_t *
get_csv(struct fx *f, const char *path, const char *bearer, struct it_resp *out)
{
    static const char *const accept[] = {"Accept: text/csv", NULL};

    it_request(f->s, "GET", path, bearer, accept, NULL, out);
    it_assert_status(out, 200);
    it_assert_header(out, "Content-Type", "text/csv; charset=utf-8");
    assert_crlf_only(out->body, out->len, path);
    return it_csv_parse(out->body);
}

/* Issue 12: the CSV form of lists. Lines end in CRLF (also a line break inside a cell), and the
 * public provider and register searches answer CSV too (before: JSON whatever the Accept),
 * cacheable like their JSON and varying on Accept. */
static void
test_csv_lists(void **state)
{
    struct fx *f = *state;
    static const char *const providers =
        "/v1/public/providers?lat=51.38&lon=0.52&radius_km=50&limit=5";
    struct it_resp r, again;
    json_t *rows;
    PGresult *res;
    char *path, *inm, *etag;
    const char *next;

    /* A line break in a site's text, stored as a bare LF. */
    PQclear(it_sql(f->s, "UPDATE location SET accessibility = 'Step-free' || chr(10) || 'loop'"
                         " WHERE id = (SELECT id FROM location WHERE public AND active"
                         " ORDER BY id LIMIT 1)"));

    rows = get_csv(f, providers, NULL, &r);
    it_assert_header(&r, "Vary", "Accept");
    assert_non_null(it_header(&r, "ETag"));
    assert_true(json_array_size(rows) >= 2);
    assert_int_equal(it_csv_col(rows, "distance_km"), 0);
    (void)it_csv_col(rows, "site_name");
    (void)it_csv_col(rows, "organisation_name");
    (void)it_csv_col(rows, "upcoming_runs");
    assert_non_null(strstr(r.body, "Step-free\r\nloop"));
    /* The CSV has its own ETag: If-None-Match with it is 304 for CSV, and not for JSON. */
    etag = strdup(it_header(&r, "ETag"));
    inm = it_fmt("If-None-Match: %s", etag);
    {
        const char *const h_csv[] = {"Accept: text/csv", inm, NULL};
        const char *const h_json[] = {inm, NULL};
        it_request(f->s, "GET", providers, NULL, h_csv, NULL, &again);
        it_assert_status(&again, 304);
        it_resp_free(&again);
        it_request(f->s, "GET", providers, NULL, h_json, NULL, &again);
        it_assert_status(&again, 200);
        it_assert_header(&again, "Content-Type", "application/json");
        it_resp_free(&again);
    }
    free(inm);
    free(etag);
    json_decref(rows);
    it_resp_free(&r);

    /* The public register, searched by the name of a facilitator on it. */
    res = it_sql_rows(f->s, 1,
                      "SELECT given_name FROM facilitator WHERE status = 'accredited'"
                      " AND length(given_name) >= 3 ORDER BY id LIMIT 1");
    path = it_fmt("/v1/public/facilitators?name=%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    rows = get_csv(f, path, NULL, &r);
    assert_true(json_array_size(rows) >= 2);
    assert_int_equal(it_csv_col(rows, "given_name"), 0);
    (void)it_csv_col(rows, "registration_number");
    (void)it_csv_col(rows, "organisation_town");
    json_decref(rows);
    it_resp_free(&r);
    free(path);

    /* A signed-in list: CRLF, and the cursor in X-Next-Cursor pages on. */
    rows = get_csv(f, "/v1/organisations?limit=1", f->admin, &r);
    assert_int_equal(json_array_size(rows), 2);
    next = it_header(&r, "X-Next-Cursor");
    assert_non_null(next);
    path = it_fmt("/v1/organisations?limit=1&cursor=%s", next);
    json_decref(rows);
    rows = get_csv(f, path, f->admin, &again);
    assert_int_equal(json_array_size(rows), 2);
    assert_string_not_equal(it_csv_cell(rows, 1, 0), "");
    json_decref(rows);
    it_resp_free(&again);
    it_resp_free(&r);
    free(path);
}

TEST_MAIN(group_setup,
          it_fx_teardown,
          cmocka_unit_test(test_issue_13_examples),
          cmocka_unit_test(test_forged_cursors_on_every_paged_route),
          cmocka_unit_test(test_csv_lists))
