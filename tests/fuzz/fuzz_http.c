/* fuzz_http.c: a bounded, deterministic fuzzer of the whole HTTP surface (issue 13).
 *
 * It starts the real server against a database of its own (tests/integration/itlib), signs in as
 * the licensing body's admin, an org_admin, an org_staff and an API client, and then sends
 * FUZZ_COUNT requests (default 20,000) made from the route table (router_routes) and the request
 * schemas and query parameters of static/openapi.json, so a new route is covered without a change
 * here. A third of the requests are valid, to build up state (ids seen in answers are reused in
 * later paths and bodies); the rest are mutated: hostile JSON values and bytes, dropped and unknown
 * fields, forged cursors, bad percent escapes, hostile headers and tokens, other methods, and raw
 * framing (CL+TE, bad chunking, bad request lines) over a plain socket.
 *
 * It fails on:
 *   - any 5xx answer;
 *   - the server dying, or a sanitizer report in its log (it_stop checks it at the end);
 *   - a write (POST, PATCH, DELETE) answered 4xx that changed the database anyway: before each
 *     write it takes a fingerprint of every table (row count and the sum of xmin), and compares
 *     it after a 4xx. Single-threaded, and with the webhook worker parked, so nothing else writes.
 *     Tables a refusal may change by design are listed in refusal_may_change().
 *
 * Every distinct failure is printed with its request and answer, and a summary per route at the
 * end. The seed is printed; FUZZ_SEED and FUZZ_COUNT override it and the count (FUZZ_VERBOSE=1
 * prints every request). See tests/fuzz/README.md. */
#include <ctype.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "fuzz_rng.h"
#include "itlib.h"
#include "registry/codec.h"
#include "registry/password.h"
#include "registry/router.h"
#include "registry/validate.h"

#define DEFAULT_SEED  20261202u
#define DEFAULT_COUNT 20000
#define POOL_MAX      48
#define POOLS_MAX     48
#define FAILS_MAX     64
#define PASSWORD      "fuzz-test-password-1"

/* ---- Deterministic randomness (fuzz_rng.h) ------------------------------------------------- */

/* A number in [0, n). */
static unsigned
pick(unsigned n)
{
    return (unsigned)fuzz_below(n);
}

/* 1 with probability pct/100. */
static int
chance(unsigned pct)
{
    return pick(100) < pct;
}

static const char *
one_of(const char *const *list, size_t n)
{
    return list[pick((unsigned)n)];
}
#define ONE_OF(a) one_of((a), sizeof(a) / sizeof((a)[0]))

/* What was done to the current request, for the failure summary ("cursor3 body-value raw9"). */
static char tags[160];

static void tag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
tag(const char *fmt, ...)
{
    size_t n = strlen(tags);
    va_list ap;

    if (n + 2 >= sizeof(tags)) {
        return;
    }
    if (n > 0) {
        tags[n++] = ' ';
    }
    va_start(ap, fmt);
    vsnprintf(tags + n, sizeof(tags) - n, fmt, ap);
    va_end(ap);
}

/* ---- A growable byte buffer ----------------------------------------------------------------- */

static void
buf_str(struct it_buf *b, const char *s)
{
    it_buf_add(b, s, strlen(s));
}

static void buf_fmt(struct it_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
buf_fmt(struct it_buf *b, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0) {
        it_buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
    }
}

static void
buf_free(struct it_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* ---- Ids seen in answers, by collection ("organisations", "licences", ...) ------------------ */

struct pool {
    char name[40];
    char ids[POOL_MAX][96];
    int n, next;
};

static struct pool pools[POOLS_MAX];
static int npools;

/* Ids the fuzzer must not delete or disable (its own principals and their organisation). */
static char protected_ids[8][48];
static int nprotected;

static struct pool *
pool_get(const char *name, int create)
{
    int i;

    for (i = 0; i < npools; i++) {
        if (strcmp(pools[i].name, name) == 0) {
            return &pools[i];
        }
    }
    if (!create || npools == POOLS_MAX) {
        return NULL;
    }
    snprintf(pools[npools].name, sizeof(pools[npools].name), "%s", name);
    return &pools[npools++];
}

static void
pool_add(const char *name, const char *id)
{
    struct pool *p = pool_get(name, 1);
    int i;

    if (p == NULL || id == NULL || strlen(id) >= sizeof(p->ids[0])) {
        return;
    }
    for (i = 0; i < p->n; i++) {
        if (strcmp(p->ids[i], id) == 0) {
            return;
        }
    }
    if (p->n < POOL_MAX) {
        snprintf(p->ids[p->n++], sizeof(p->ids[0]), "%s", id);
    } else {
        snprintf(p->ids[p->next], sizeof(p->ids[0]), "%s", id);
        p->next = (p->next + 1) % POOL_MAX;
    }
}

/* A known id of the collection, or NULL. */
static const char *
pool_pick(const char *name)
{
    struct pool *p = pool_get(name, 0);

    return p != NULL && p->n > 0 ? p->ids[pick((unsigned)p->n)] : NULL;
}

static int
is_protected(const char *id)
{
    int i;

    for (i = 0; i < nprotected; i++) {
        if (strcmp(protected_ids[i], id) == 0) {
            return 1;
        }
    }
    return 0;
}

static void
protect(const char *id)
{
    if (id != NULL && nprotected < 8) {
        snprintf(protected_ids[nprotected++], sizeof(protected_ids[0]), "%s", id);
    }
}

/* The collection a property names: "course_id" -> "courses", "trainer_ids" -> "facilitators",
 * "training_session_id" -> "training-sessions". */
static void
collection_of(const char *prop, char *out, size_t len)
{
    char base[40];
    size_t n = strlen(prop), i;

    out[0] = '\0';
    if (n > 4 && strcmp(prop + n - 4, "_ids") == 0) {
        n -= 4;
    } else if (n > 3 && strcmp(prop + n - 3, "_id") == 0) {
        n -= 3;
    } else {
        return;
    }
    if (n >= sizeof(base)) {
        return;
    }
    memcpy(base, prop, n);
    base[n] = '\0';
    for (i = 0; i < n; i++) {
        if (base[i] == '_') {
            base[i] = '-';
        }
    }
    if (strcmp(base, "trainer") == 0 || strcmp(base, "facilitator") == 0) {
        snprintf(out, len, "facilitators");
    } else if (strcmp(base, "resource") == 0) {
        snprintf(out, len, "organisations");
    } else {
        snprintf(out, len, "%ss", base);
    }
}

/* Takes ids (and registration numbers) from a JSON answer to a request on a route whose last
 * literal segment is `collection`. */
static void
harvest(const char *collection, json_t *j)
{
    json_t *items, *v;
    size_t i;

    if (json_is_object(j)) {
        const char *id = json_string_value(json_object_get(j, "id"));
        const char *reg = json_string_value(json_object_get(j, "registration_number"));
        if (id != NULL && validate_uuid(id)) {
            pool_add(collection, id);
        }
        if (reg != NULL) {
            pool_add("registration_numbers", reg);
        }
        items = json_object_get(j, "items");
        json_array_foreach(items, i, v)
        {
            if (i < 8) {
                harvest(collection, v);
            }
        }
    }
}

/* ---- The route table joined with the OpenAPI document --------------------------------------- */

struct target {
    const struct route *route;
    char collection[40];    /* last literal segment: where ids of its answers go */
    json_t *op;             /* borrowed from the document, or NULL */
    json_t *body_schema;    /* borrowed, or NULL */
    json_t *query_params;   /* new reference: array of parameter objects (resolved) */
    int form_ok;            /* the body may be form-encoded */
    long sent, by_class[6]; /* by_class[0]: no answer; [1..5]: 1xx..5xx */
};

static json_t *doc;

static json_t *
resolve(json_t *node)
{
    int guard = 0;

    while (json_is_object(node) && json_object_get(node, "$ref") != NULL && guard++ < 8) {
        const char *ref = json_string_value(json_object_get(node, "$ref"));
        char copy[256], *save = NULL, *tok;
        json_t *at = doc;

        if (ref == NULL || strncmp(ref, "#/", 2) != 0 || strlen(ref) >= sizeof(copy)) {
            return node;
        }
        snprintf(copy, sizeof(copy), "%s", ref + 2);
        for (tok = strtok_r(copy, "/", &save); tok != NULL && at != NULL;
             tok = strtok_r(NULL, "/", &save)) {
            at = json_object_get(at, tok);
        }
        if (at == NULL) {
            return node;
        }
        node = at;
    }
    return node;
}

/* 1 when the route pattern ("/v1/x/{}") names the OpenAPI path ("/v1/x/{id}"). */
static int
pattern_is(const char *pattern, const char *oapath)
{
    while (*pattern != '\0' && *oapath != '\0') {
        if (strncmp(pattern, "{*}", 3) == 0) {
            return 1;
        }
        if (strncmp(pattern, "{}", 2) == 0 && *oapath == '{') {
            pattern += 2;
            while (*oapath != '\0' && *oapath != '}') {
                oapath++;
            }
            if (*oapath == '}') {
                oapath++;
            }
            continue;
        }
        if (*pattern != *oapath) {
            return 0;
        }
        pattern++;
        oapath++;
    }
    return *pattern == '\0' && *oapath == '\0';
}

static void
add_params(json_t *out, json_t *params)
{
    json_t *p;
    size_t i;

    json_array_foreach(params, i, p)
    {
        p = resolve(p);
        if (strcmp(json_string_value(json_object_get(p, "in")) ?: "", "query") == 0) {
            json_array_append(out, p);
        }
    }
}

static struct target *
targets_load(size_t *count)
{
    const struct route *routes;
    size_t n = router_routes(&routes), i;
    struct target *t = calloc(n, sizeof(*t));
    json_t *paths = json_object_get(doc, "paths");

    assert_non_null(t);
    for (i = 0; i < n; i++) {
        const char *oapath, *seg, *p;
        json_t *item;
        char method[8];
        size_t k;

        t[i].route = &routes[i];
        t[i].query_params = json_array();
        /* The collection: the last segment that is not a parameter. */
        for (p = routes[i].pattern, seg = p; *p != '\0'; p++) {
            if (*p == '/' && p[1] != '{' && p[1] != '\0') {
                seg = p + 1;
            }
        }
        for (k = 0; seg[k] != '\0' && seg[k] != '/' && k + 1 < sizeof(t[i].collection); k++) {
            t[i].collection[k] = seg[k];
        }
        t[i].collection[k] = '\0';
        for (k = 0; routes[i].method[k] != '\0' && k + 1 < sizeof(method); k++) {
            method[k] = (char)tolower((unsigned char)routes[i].method[k]);
        }
        method[k] = '\0';
        json_object_foreach(paths, oapath, item)
        {
            json_t *op, *content, *media;

            if (!pattern_is(routes[i].pattern, oapath)) {
                continue;
            }
            op = json_object_get(item, method);
            if (op == NULL) {
                continue;
            }
            t[i].op = op;
            add_params(t[i].query_params, json_object_get(item, "parameters"));
            add_params(t[i].query_params, json_object_get(op, "parameters"));
            content = json_object_get(resolve(json_object_get(op, "requestBody")), "content");
            media = json_object_get(content, "application/json");
            if (media == NULL) {
                media = json_object_get(content, "application/x-www-form-urlencoded");
            }
            t[i].body_schema = resolve(json_object_get(media, "schema"));
            t[i].form_ok = json_object_get(content, "application/x-www-form-urlencoded") != NULL;
            break;
        }
    }
    *count = n;
    return t;
}

/* ---- Values ---------------------------------------------------------------------------------- */

static char today[16];

static void
random_uuid(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    int i;

    for (i = 0; i < 36; i++) {
        out[i] = (i == 8 || i == 13 || i == 18 || i == 23) ? '-' : hex[pick(16)];
    }
    out[14] = '4';
    out[19] = "89ab"[pick(4)];
    out[36] = '\0';
}

static void
random_date(char *out, size_t len)
{
    int y = 2024 + (int)pick(5), m = 1 + (int)pick(12), d = 1 + (int)pick(28);

    snprintf(out, len, "%04d-%02d-%02d", y, m, d);
}

static void
random_word(char *out, size_t min, size_t max)
{
    static const char *const words[] = {"Medway", "Family", "Centre", "North",   "Kent",  "Hope",
                                        "Bridge", "Oak",    "River",  "Support", "Group", "Leeds"};
    size_t n = 0, want = min + pick((unsigned)(max - min + 1));

    out[0] = '\0';
    while (n < want) {
        const char *w = ONE_OF(words);
        size_t k = strlen(w);
        if (n + k + 1 > want) {
            k = want - n;
        }
        memcpy(out + n, w, k);
        n += k;
        if (n < want) {
            out[n++] = ' ';
        }
        out[n] = '\0';
    }
    /* No trailing space: text is trimmed, which would shorten it below min. */
    while (n > 0 && out[n - 1] == ' ') {
        out[--n] = 'x';
    }
}

static const char *const postcodes[] = {"ME4 4AB", "me44ab", "SW1A 1AA",
                                        "LS1 1UR", "ME4",    "ZZ9 9ZZ"};

/* The hostile values put into JSON fields. */
static json_t *
hostile_value(void)
{
    static char big[12000];
    char *s;
    json_t *v;
    int i;

    switch (pick(30)) {
    case 0:
        return json_null();
    case 1:
        return json_true();
    case 2:
        return json_integer(0);
    case 3:
        return json_integer(-1);
    case 4:
        return json_integer(INT64_MAX);
    case 5:
        return json_integer(INT64_MIN);
    case 6:
        return json_real(1e308);
    case 7:
        return json_real(-0.0);
    case 8:
        return json_string("");
    case 9:
        return json_string("   ");
    case 10:
        memset(big, 'A', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        return json_string(big + pick(sizeof(big) - 1));
    case 11:
        return json_stringn("a\0b", 3);
    case 12:
        return json_string("' OR 1=1; DROP TABLE organisation; --");
    case 13:
        return json_string("../../etc/passwd");
    case 14:
        return json_string("<script>alert(1)</script>");
    case 15:
        return json_string("%s%s%n%x");
    case 16:
        return json_array();
    case 17:
        return json_object();
    case 18:
        v = json_array();
        for (i = 0; i < 40; i++) {
            json_t *inner = json_array();
            json_array_append_new(inner, v);
            v = inner;
        }
        return v;
    case 19:
        return json_string("2026-02-30");
    case 20:
        return json_string("9999-99-99");
    case 21:
        return json_string("00000000-0000-0000-0000-000000000000");
    case 22:
        return json_string("\xe2\x80\xae\xf0\x9f\x98\x80 rtl");
    case 23:
        return json_string("\x01\x02\x1b[31m");
    case 24:
        return json_real(1.5);
    case 25:
        s = malloc(3000);
        if (s == NULL) {
            abort();
        }
        for (i = 0; i < 2999; i++) {
            s[i] = (char)('0' + i % 10);
        }
        s[2999] = '\0';
        v = json_string(s);
        free(s);
        return v;
    case 26:
        return json_string("not-a-uuid");
    case 27:
        return json_string("x@");
    case 28:
        return json_string("javascript:alert(1)");
    default:
        v = json_array();
        json_array_append_new(v, json_string("x"));
        json_array_append_new(v, json_integer(1));
        json_array_append_new(v, json_null());
        return v;
    }
}

static json_t *gen(json_t *schema, const char *prop, int depth);

static json_t *
gen_string(json_t *schema, const char *prop)
{
    const char *format = json_string_value(json_object_get(schema, "format"));
    long min = json_integer_value(json_object_get(schema, "minLength"));
    long max = json_object_get(schema, "maxLength")
                   ? json_integer_value(json_object_get(schema, "maxLength"))
                   : 40;
    char coll[48], buf[256];
    const char *known;

    collection_of(prop, coll, sizeof(coll));
    if (coll[0] != '\0' && (known = pool_pick(coll)) != NULL && chance(90)) {
        return json_string(known);
    }
    if (strcmp(prop, "registration_numbers") == 0 && (known = pool_pick(prop)) != NULL) {
        return json_string(known);
    }
    if (format != NULL && strcmp(format, "uuid") == 0) {
        random_uuid(buf);
        return json_string(buf);
    }
    if ((format != NULL && strcmp(format, "date") == 0) || strstr(prop, "_on") != NULL
        || strstr(prop, "valid_") != NULL || strcmp(prop, "employed_from") == 0) {
        if (chance(50)) {
            return json_string(today);
        }
        random_date(buf, sizeof(buf));
        return json_string(buf);
    }
    if ((format != NULL && strcmp(format, "email") == 0) || strstr(prop, "email") != NULL) {
        snprintf(buf, sizeof(buf), "fuzz%u@example.org", pick(1000000));
        return json_string(buf);
    }
    if ((format != NULL && strcmp(format, "uri") == 0) || strcmp(prop, "url") == 0
        || strcmp(prop, "website") == 0) {
        snprintf(buf, sizeof(buf), "https://hooks%u.example.org/in", pick(100));
        return json_string(buf);
    }
    if (strstr(prop, "postcode") != NULL) {
        return json_string(ONE_OF(postcodes));
    }
    if (strstr(prop, "phone") != NULL) {
        return json_string("01634 123456");
    }
    if (strstr(prop, "password") != NULL || strcmp(prop, "client_secret") == 0) {
        return json_string(chance(50) ? PASSWORD : "another-fuzz-password-9");
    }
    if (max > 60) {
        max = 60;
    }
    if (min < 1) {
        min = 1;
    }
    if (max < min) {
        max = min;
    }
    random_word(buf, (size_t)min, (size_t)max);
    return json_string(buf);
}

static json_t *
gen(json_t *schema, const char *prop, int depth)
{
    json_t *type, *en, *alts;
    const char *ty = NULL;

    schema = resolve(schema);
    if (!json_is_object(schema) || depth > 6) {
        return json_string("x");
    }
    if ((alts = json_object_get(schema, "oneOf")) != NULL
        || (alts = json_object_get(schema, "anyOf")) != NULL) {
        return gen(json_array_get(alts, pick((unsigned)json_array_size(alts))), prop, depth + 1);
    }
    if ((alts = json_object_get(schema, "allOf")) != NULL) {
        json_t *all = json_object(), *part;
        size_t i;
        json_array_foreach(alts, i, part)
        {
            json_t *v = gen(part, prop, depth + 1);
            if (json_is_object(v)) {
                json_object_update(all, v);
            }
            json_decref(v);
        }
        return all;
    }
    if ((en = json_object_get(schema, "enum")) != NULL && json_array_size(en) > 0) {
        return json_deep_copy(json_array_get(en, pick((unsigned)json_array_size(en))));
    }
    if (json_object_get(schema, "const") != NULL) {
        return json_deep_copy(json_object_get(schema, "const"));
    }
    type = json_object_get(schema, "type");
    if (json_is_string(type)) {
        ty = json_string_value(type);
    } else if (json_is_array(type)) {
        size_t i;
        json_t *x;
        json_array_foreach(type, i, x)
        {
            if (strcmp(json_string_value(x) ?: "", "null") != 0) {
                ty = json_string_value(x);
                break;
            }
        }
        if (chance(10)) {
            return json_null();
        }
    } else if (json_object_get(schema, "properties") != NULL) {
        ty = "object";
    }
    if (ty == NULL) {
        return json_string("x");
    }
    if (strcmp(ty, "object") == 0) {
        json_t *o = json_object(), *props = json_object_get(schema, "properties"), *ps;
        json_t *req = json_object_get(schema, "required");
        const char *name;
        json_object_foreach(props, name, ps)
        {
            int required = 0;
            size_t i;
            json_t *r;
            json_array_foreach(req, i, r)
            {
                if (strcmp(json_string_value(r) ?: "", name) == 0) {
                    required = 1;
                }
            }
            if (required || chance(50)) {
                json_object_set_new(o, name, gen(ps, name, depth + 1));
            }
        }
        return o;
    }
    if (strcmp(ty, "array") == 0) {
        json_t *a = json_array(), *items = json_object_get(schema, "items");
        long min = json_integer_value(json_object_get(schema, "minItems"));
        long max = json_object_get(schema, "maxItems")
                       ? json_integer_value(json_object_get(schema, "maxItems"))
                       : 3;
        long n, i;
        if (max > 3) {
            max = 3;
        }
        if (max < min) {
            max = min;
        }
        n = min + (long)pick((unsigned)(max - min + 1));
        for (i = 0; i < n; i++) {
            json_t *v = gen(items, prop, depth + 1);
            size_t k;
            json_t *x;
            int dup = 0;
            json_array_foreach(a, k, x)
            {
                dup |= json_equal(x, v);
            }
            if (dup) {
                json_decref(v);
            } else {
                json_array_append_new(a, v);
            }
        }
        return a;
    }
    if (strcmp(ty, "integer") == 0 || strcmp(ty, "number") == 0) {
        json_t *mn = json_object_get(schema, "minimum"), *mx = json_object_get(schema, "maximum");
        double lo = mn ? json_number_value(mn) : 0, hi = mx ? json_number_value(mx) : 100;
        if (strcmp(prop, "latitude") == 0 || strcmp(prop, "lat") == 0) {
            lo = 50.5, hi = 55.5;
        } else if (strcmp(prop, "longitude") == 0 || strcmp(prop, "lon") == 0) {
            lo = -3.5, hi = 1.0;
        }
        if (strcmp(ty, "integer") == 0) {
            return json_integer((json_int_t)lo + (json_int_t)pick((unsigned)(hi - lo + 1)));
        }
        return json_real(lo + (hi - lo) * (double)pick(10000) / 10000.0);
    }
    if (strcmp(ty, "boolean") == 0) {
        return json_boolean(chance(50));
    }
    return gen_string(schema, prop);
}

/* Applies one structural mutation to a body object. */
static json_t *
mutate_json(json_t *body)
{
    const char *key = NULL, *k;
    json_t *v;
    size_t n = json_object_size(body), at, i = 0;

    if (!json_is_object(body)) {
        return body;
    }
    unsigned op = pick(7);

    tag("body%u", op);
    at = pick((unsigned)(n ? n : 1));
    json_object_foreach(body, k, v)
    {
        if (i++ == at) {
            key = k;
            break;
        }
    }
    switch (op) {
    case 0:
        if (key != NULL) {
            json_object_del(body, key);
        }
        break;
    case 1:
        json_object_set_new(body, chance(50) ? "unknown_field" : "id", hostile_value());
        break;
    case 2: {
        /* The whole body is something else. */
        json_t *other = hostile_value();
        json_decref(body);
        return other;
    }
    case 3:
        if (key != NULL && json_is_array(json_object_get(body, key))) {
            json_array_append_new(json_object_get(body, key), hostile_value());
            break;
        }
        /* fall through */
    default:
        if (key != NULL) {
            json_object_set_new(body, key, hostile_value());
        } else {
            json_object_set_new(body, "name", hostile_value());
        }
        break;
    }
    return body;
}

/* Byte-level damage to serialised JSON. */
static void
mutate_bytes(struct it_buf *b)
{
    static const char *const inserts[] = {"\xff",    "\xc0\x80", "\xed\xa0\x80", "\x01", "\\u0000",
                                          "\\ud800", "\"",       "\\",           ",",    "}",
                                          "]",       "\x00"};
    size_t at = b->len ? pick((unsigned)b->len) : 0;
    struct it_buf o = {0};
    unsigned k = pick(8);

    tag("bytes%u", k);
    switch (k) {
    case 0: /* truncated */
        b->len = at;
        if (b->p != NULL) {
            b->p[b->len] = '\0';
        }
        return;
    case 1: /* duplicate key */
        if (b->len > 1 && b->p[0] == '{') {
            buf_str(&o, "{\"name\":\"a\",\"name\":\"b\",");
            it_buf_add(&o, b->p + 1, b->len - 1);
            break;
        }
        /* fall through */
    case 2: /* trailing garbage */
        it_buf_add(&o, b->p ? b->p : "", b->len);
        buf_str(&o, chance(50) ? " {}" : "\x00garbage");
        break;
    case 3: /* a byte-order mark */
        buf_str(&o, "\xef\xbb\xbf");
        it_buf_add(&o, b->p ? b->p : "", b->len);
        break;
    case 4: { /* deep nesting */
        int i, d = 20 + (int)pick(4000);
        for (i = 0; i < d; i++) {
            buf_str(&o, "[");
        }
        if (chance(50)) {
            for (i = 0; i < d; i++) {
                buf_str(&o, "]");
            }
        }
        break;
    }
    case 5: /* a flipped byte */
        it_buf_add(&o, b->p ? b->p : "", b->len);
        if (o.len > 0) {
            o.p[at] = (char)(o.p[at] ^ (1 << pick(8)));
        }
        break;
    default: { /* an inserted sequence */
        const char *ins = ONE_OF(inserts);
        it_buf_add(&o, b->p ? b->p : "", at);
        it_buf_add(&o, ins, ins[0] ? strlen(ins) : 1);
        it_buf_add(&o, b->p ? b->p + at : "", b->len - at);
        break;
    }
    }
    buf_free(b);
    *b = o;
}

/* ---- Query strings --------------------------------------------------------------------------- */

static void
b64url_of(const char *text, struct it_buf *out)
{
    size_t n = strlen(text);
    char *enc = malloc(n * 4 / 3 + 4);

    if (enc == NULL) {
        abort();
    }
    codec_b64url_encode((const unsigned char *)text, n, enc);
    buf_str(out, enc);
    free(enc);
}

/* A forged cursor: well-formed base64url of JSON that this list never made. */
static void
forged_cursor(struct it_buf *q)
{
    static const char *const forged[] = {
        "[1]",
        "[\"x\"]",
        "[\"x\",\"y\"]",
        "[null,null]",
        "{}",
        "\"x\"",
        "[]",
        "[[],{}]",
        "[\"2026-01-01\",\"not-a-uuid\"]",
        "[\"\",\"00000000-0000-0000-0000-000000000000\"]",
        "[\"2026-13-45\",\"00000000-0000-4000-8000-000000000000\"]",
        "[\"zzz\",\"00000000-0000-4000-8000-000000000000\"]",
        "[1e999,\"00000000-0000-4000-8000-000000000000\"]",
        "[\"a\",\"b\",\"c\",\"00000000-0000-4000-8000-000000000000\"]",
        "[\"9999999999999999999999\",\"00000000-0000-4000-8000-000000000000\"]",
        "[\"\\u0000\",\"00000000-0000-4000-8000-000000000000\"]",
        "[\"' OR 1=1 --\",\"00000000-0000-4000-8000-000000000000\"]",
        "[true,\"00000000-0000-4000-8000-000000000000\"]",
    };
    struct it_buf deep = {0};
    int i;

    unsigned k = pick(5), which;

    switch (k) {
    case 0: /* not base64url at all */
        tag("cursor-notb64");
        buf_str(q, ONE_OF(((const char *const[]){"!!!", "====", "a", "%2F%2B", "_-_-", "ab=="})));
        return;
    case 1: /* nested as deep as the 1024-character cap allows */
        tag("cursor-deep");
        for (i = 0; i < 380; i++) {
            buf_str(&deep, "[");
        }
        b64url_of(deep.p, q);
        buf_free(&deep);
        return;
    default:
        which = pick(sizeof(forged) / sizeof(forged[0]));
        tag("cursor%u", which);
        b64url_of(forged[which], q);
        return;
    }
}

static const char *const hostile_query_values[] = {
    "",
    "%",
    "%zz",
    "%f",
    "%ff%fe",
    "%00",
    "%C3%28",
    "%2525",
    "-1",
    "0",
    "1e3",
    "NaN",
    "inf",
    "-inf",
    "99999999999999999999",
    "%20%20",
    "a%26b%3Dc",
    "%E2%80%AE",
    "true",
    "null",
    "[]",
    "%27%20OR%201%3D1",
    "2026-02-30",
    "0x10",
    "+5",
    "1.5",
    "%0d%0a",
};

/* Appends one query item name=value for parameter `p` (a resolved OpenAPI parameter). */
static void
query_item(struct it_buf *q, json_t *p, int hostile)
{
    const char *name = json_string_value(json_object_get(p, "name"));
    json_t *schema = resolve(json_object_get(p, "schema"));

    if (name == NULL) {
        return;
    }
    buf_fmt(q, "%s%s=", q->len ? "&" : "", name);
    if (strcmp(name, "cursor") == 0 && (hostile || chance(60))) {
        forged_cursor(q);
    } else if (hostile) {
        unsigned which = pick(sizeof(hostile_query_values) / sizeof(hostile_query_values[0]));
        tag("qval:%s", hostile_query_values[which]);
        buf_str(q, hostile_query_values[which]);
    } else {
        json_t *v = gen(schema, name, 0);
        char *esc;
        if (json_is_string(v)) {
            /* Escape what a URL cannot carry as it is. */
            const unsigned char *s = (const unsigned char *)json_string_value(v);
            for (; *s != '\0'; s++) {
                if (isalnum(*s) || *s == '-' || *s == '_' || *s == '.' || *s == '~') {
                    it_buf_add(q, s, 1);
                } else {
                    buf_fmt(q, "%%%02X", *s);
                }
            }
        } else if ((esc = json_dumps(v, JSON_ENCODE_ANY)) != NULL) {
            buf_str(q, esc);
            free(esc);
        }
        json_decref(v);
    }
}

static void
make_query(struct target *t, struct it_buf *q, int hostile)
{
    size_t n = json_array_size(t->query_params), i;

    if (n == 0 && !hostile) {
        return;
    }
    for (i = 0; i < n; i++) {
        if (chance(hostile ? 40 : 30)) {
            query_item(q, json_array_get(t->query_params, i), hostile && chance(50));
        }
    }
    if (hostile) {
        unsigned k = pick(6);
        if (k <= 4) {
            tag("query%u", k);
        }
        switch (k) {
        case 0:
            buf_fmt(q, "%sunknown=1", q->len ? "&" : "");
            break;
        case 1: /* a repeated name */
            if (n > 0) {
                query_item(q, json_array_get(t->query_params, 0), 0);
                query_item(q, json_array_get(t->query_params, 0), 0);
            }
            break;
        case 2: { /* too many */
            int j;
            for (j = 0; j < 20; j++) {
                buf_fmt(q, "%sp%d=%d", q->len ? "&" : "", j, j);
            }
            break;
        }
        case 3:
            buf_str(q, q->len ? "&&=&=x&%=%" : "=&&");
            break;
        case 4:
            buf_fmt(q, "%slimit=%s", q->len ? "&" : "", ONE_OF(hostile_query_values));
            break;
        default:
            buf_fmt(q, "%scursor=", q->len ? "&" : "");
            forged_cursor(q);
            break;
        }
    }
}

/* ---- Paths ----------------------------------------------------------------------------------- */

static const char *const hostile_segments[] = {
    "x",
    "not-a-uuid",
    "00000000-0000-0000-0000-000000000000",
    "-1",
    "0",
    "me",
    "..",
    "%2e%2e",
    "%00",
    "%ff",
    "%zz",
    "%",
    "a%2Fb",
    "%27%3B%20DROP%20TABLE%20x%3B--",
    "00000000-0000-4000-8000-00000000000G",
    "{}",
    "*",
    "%E2%80%AE",
    "12345678901234567890123456789012345678901234567890",
};

/* Fills the pattern's parameters; for DELETE and PATCH of users, never a protected id. */
static void
make_path(struct target *t, struct it_buf *path, int hostile)
{
    const char *p = t->route->pattern, *seg_start = p;
    char last[40] = "", uuid[37];
    int is_destructive = strcmp(t->route->method, "DELETE") == 0
                         || (strcmp(t->route->method, "PATCH") == 0
                             && (strstr(t->route->pattern, "/users/") != NULL
                                 || strstr(t->route->pattern, "/licences/") != NULL))
                         || strstr(t->route->pattern, "/clients/") != NULL;

    while (*p != '\0') {
        if (strncmp(p, "{*}", 3) == 0) {
            buf_str(path, hostile ? ONE_OF(((const char *const[]){"..%2F..%2Fetc%2Fpasswd",
                                                                  "x/../../y", "%00", "a"}))
                                  : ONE_OF(((const char *const[]){"js/init.js", "js/find.js",
                                                                  "nope.css", "js/docs.js"})));
            p += 3;
        } else if (strncmp(p, "{}", 2) == 0) {
            const char *id = pool_pick(last);
            if (strcmp(last, "problems") == 0) {
                id = ONE_OF(((const char *const[]){"validation", "not-found", "nope"}));
            } else if (strcmp(last, "users") == 0 && chance(20) && !is_destructive) {
                id = "me";
            }
            if (id != NULL && is_destructive && is_protected(id)) {
                id = NULL;
            }
            if (hostile && chance(60)) {
                id = ONE_OF(hostile_segments);
                tag("path:%s", id);
            } else if (id == NULL || chance(10)) {
                random_uuid(uuid);
                id = uuid;
            }
            buf_str(path, id);
            p += 2;
        } else {
            if (*p == '/') {
                seg_start = p + 1;
            }
            it_buf_add(path, p, 1);
            p++;
            if (*p == '/' || *p == '\0') {
                size_t k = (size_t)(p - seg_start);
                if (k < sizeof(last)) {
                    memcpy(last, seg_start, k);
                    last[k] = '\0';
                }
            }
        }
    }
}

/* ---- Fingerprint of the data ----------------------------------------------------------------- */

static char *fingerprint_sql;
static json_t *table_names;

static void
fingerprint_prepare(struct it_server *s)
{
    PGresult *res = it_sql(s, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                              " AND tablename NOT IN ('postcode', 'postcode_district',"
                              " 'schema_migrations') ORDER BY 1");
    struct it_buf b = {0};
    int i;

    table_names = json_array();
    buf_str(&b, "SELECT ");
    for (i = 0; i < PQntuples(res); i++) {
        const char *t = PQgetvalue(res, i, 0);
        json_array_append_new(table_names, json_string(t));
        buf_fmt(&b,
                "%s(SELECT count(*) || '/' || coalesce(sum(xmin::text::bigint), 0)"
                " FROM public.\"%s\")",
                i ? ", " : "", t);
    }
    PQclear(res);
    fingerprint_sql = b.p;
}

/* Returns a new array of one string per table. */
static json_t *
fingerprint(struct it_server *s)
{
    PGresult *res = it_sql(s, fingerprint_sql);
    json_t *a = json_array();
    int i;

    for (i = 0; i < PQnfields(res); i++) {
        json_array_append_new(a, json_string(PQgetvalue(res, 0, i)));
    }
    PQclear(res);
    return a;
}

/* Tables a refused request may change by design. */
static int
refusal_may_change(const char *pattern, const char *table, long status)
{
    /* A failed sign-in is counted (throttling by account and address, login_attempt), also when
     * the answer is 401 or 429. */
    if (strcmp(pattern, "/v1/auth/token") == 0
        && (strcmp(table, "login_failure") == 0 || strcmp(table, "login_attempt") == 0)) {
        return 1;
    }
    /* A wrong current password counts as a failed sign-in too. */
    if (strcmp(pattern, "/v1/users/me/password") == 0
        && (strcmp(table, "login_failure") == 0 || strcmp(table, "login_attempt") == 0)) {
        return 1;
    }
    /* A reused refresh token revokes its whole family and answers 401 (RFC 9700 4.14). */
    if (strncmp(pattern, "/v1/auth/", 9) == 0 && strcmp(table, "refresh_token") == 0
        && status == 401) {
        return 1;
    }
    return 0;
}

/* ---- Failures -------------------------------------------------------------------------------- */

struct failure {
    char key[300];
    long count;
    char *example; /* the first request and answer, printed */
};

static struct failure fails[FAILS_MAX];
static int nfails;
static long total_failures;

static void
escape_into(struct it_buf *o, const char *s, size_t n, size_t max)
{
    size_t i;

    for (i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') {
            buf_str(o, "\\\\");
        } else if (c >= 0x20 && c < 0x7f) {
            it_buf_add(o, &c, 1);
        } else if (c == '\r') {
            buf_str(o, "\\r");
        } else if (c == '\n') {
            buf_str(o, "\\n");
        } else {
            buf_fmt(o, "\\x%02x", c);
        }
    }
    if (n > max) {
        buf_fmt(o, "...(%zu bytes)", n);
    }
}

static void
record_failure(long seq,
               const char *what,
               const char *pattern,
               long status,
               const char *detail,
               const char *request,
               size_t reqlen,
               const char *answer,
               size_t anslen)
{
    char key[300];
    struct it_buf ex = {0};
    int i;

    total_failures++;
    snprintf(key, sizeof(key), "%s %s -> %ld %.60s[%s]", what, pattern, status,
             detail ? detail : "", tags);
    for (i = 0; i < nfails; i++) {
        if (strcmp(fails[i].key, key) == 0) {
            fails[i].count++;
            return;
        }
    }
    buf_fmt(&ex, "request #%ld:\n  ", seq);
    escape_into(&ex, request, reqlen, 1500);
    buf_str(&ex, "\nanswer:\n  ");
    escape_into(&ex, answer ? answer : "", answer ? anslen : 0, 800);
    fprintf(stderr, "fuzz: FAILURE %s\n%s\n", key, ex.p);
    if (nfails < FAILS_MAX) {
        snprintf(fails[nfails].key, sizeof(fails[nfails].key), "%s", key);
        fails[nfails].count = 1;
        fails[nfails].example = ex.p;
        nfails++;
    } else {
        buf_free(&ex);
    }
}

/* ---- The fixture ----------------------------------------------------------------------------- */

struct fx {
    struct it_server *s;
    char *admin, *org_admin, *org_staff, *client;
    char *spare_access, *spare_refresh; /* a second admin session, put into bodies */
    char org[40], client_id[64], client_secret[96];
    struct target *targets;
    size_t ntargets;
};

static char *
xstrdup(const char *s)
{
    char *d = strdup(s != NULL ? s : "");

    if (d == NULL) {
        abort();
    }
    return d;
}

static void
fixture(struct fx *f)
{
    static const char *const env[] = {"REGISTRY_PUBLIC_RATE_LIMIT=0",
                                      "REGISTRY_WEBHOOK_POLL_MS=600000", NULL};
    char hash[PASSWORD_HASH_MAX];
    struct it_resp r;
    const char *form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    char *body, *path, *etag;

    f->s = it_start_env("fuzz", env);
    assert_int_equal(it_create_admin(f->s, "admin@fuzz.example", PASSWORD), 0);
    f->admin = it_login(f->s, "admin@fuzz.example", PASSWORD);
    f->spare_access = it_login_tokens(f->s, "admin@fuzz.example", PASSWORD, &f->spare_refresh);
    assert_int_equal(password_hash(PASSWORD, hash, sizeof(hash)), 0);

    it_post_json(f->s, "/v1/organisations", f->admin,
                 "{\"name\": \"Fuzz Org\", \"kind\": \"charity\", \"address_lines\": [\"1 Road\"],"
                 " \"town\": \"Chatham\", \"postcode\": \"ME4 4AB\"}",
                 &r);
    it_assert_status(&r, 201);
    snprintf(f->org, sizeof(f->org), "%s", it_json_str(&r, "id"));
    it_resp_free(&r);
    protect(f->org);
    pool_add("organisations", f->org);

    /* An active licence, so that the organisation's runs and sites can be valid. */
    path = it_fmt("/v1/organisations/%s/licences", f->org);
    body = it_fmt("{\"valid_from\": \"2024-01-01\", \"valid_until\": \"2030-12-31\"}");
    it_post_json(f->s, path, f->admin, body, &r);
    it_assert_status(&r, 201);
    free(body);
    free(path);
    path = it_fmt("/v1/licences/%s", it_json_str(&r, "id"));
    protect(it_json_str(&r, "id"));
    etag = xstrdup(it_header(&r, "ETag"));
    it_resp_free(&r);
    it_patch_json(f->s, path, f->admin, etag, "{\"status\": \"active\", \"reason\": \"fuzz\"}", &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    free(etag);
    free(path);

    f->org_admin = it_licensee(f->s, hash, PASSWORD, "orgadmin@fuzz.example", "org_admin", f->org);
    f->org_staff = it_licensee(f->s, hash, PASSWORD, "staff@fuzz.example", "org_staff", f->org);
    {
        PGresult *res = it_sql(f->s, "SELECT id FROM app_user ORDER BY email");
        int i;
        for (i = 0; i < PQntuples(res); i++) {
            protect(PQgetvalue(res, i, 0));
        }
        PQclear(res);
    }

    it_post_json(f->s, "/v1/clients", f->org_admin,
                 "{\"name\": \"Fuzz client\", \"scopes\": [\"facilitators:read\","
                 " \"programmes:read\", \"programmes:write\", \"locations:write\"]}",
                 &r);
    it_assert_status(&r, 201);
    snprintf(f->client_id, sizeof(f->client_id), "%s", it_json_str(&r, "client_id"));
    snprintf(f->client_secret, sizeof(f->client_secret), "%s", it_json_str(&r, "client_secret"));
    protect(it_json_str(&r, "id"));
    it_resp_free(&r);

    body = it_fmt("grant_type=client_credentials&client_id=%s&client_secret=%s", f->client_id,
                  f->client_secret);
    it_request(f->s, "POST", "/v1/auth/token", NULL, form, body, &r);
    free(body);
    it_assert_status(&r, 200);
    f->client = xstrdup(it_json_str(&r, "access_token"));
    it_resp_free(&r);
}

/* ---- One request ----------------------------------------------------------------------------- */

struct request {
    const char *method;
    struct it_buf target; /* path and query */
    struct it_buf body;
    int has_body;
    const char *bearer;
    const char *headers[12];
    int nheaders;
    char *owned[4]; /* header strings to free */
    int nowned;
    int raw; /* send over a plain socket with framing damage */
};

static void
request_free(struct request *q)
{
    int i;

    buf_free(&q->target);
    buf_free(&q->body);
    for (i = 0; i < q->nowned; i++) {
        free(q->owned[i]);
    }
    memset(q, 0, sizeof(*q));
}

static void
header(struct request *q, const char *h)
{
    if (q->nheaders < 11) {
        q->headers[q->nheaders++] = h;
        q->headers[q->nheaders] = NULL;
    }
}

static void
header_owned(struct request *q, char *h)
{
    if (q->nowned < 4) {
        q->owned[q->nowned++] = h;
        header(q, h);
    } else {
        free(h);
    }
}

/* The current ETag of the resource at `path`, or NULL (malloc'd). */
static char *
etag_of(struct fx *f, const char *path, const char *bearer)
{
    struct it_resp r;
    char *etag = NULL;

    if (it_get(f->s, path, bearer, &r) == 0 && r.status == 200 && it_header(&r, "ETag") != NULL) {
        etag = xstrdup(it_header(&r, "ETag"));
    }
    it_resp_free(&r);
    return etag;
}

static const char *
choose_bearer(struct fx *f)
{
    static const char *const bad[] = {
        "x",
        "",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0.AAAA",
        "a.b.c",
        "....",
    };
    unsigned n = pick(100);

    if (n < 34) {
        return f->admin;
    }
    if (n < 58) {
        return f->org_admin;
    }
    if (n < 74) {
        return f->client;
    }
    if (n < 84) {
        return f->org_staff;
    }
    if (n < 92) {
        return NULL;
    }
    return ONE_OF(bad);
}

/* A principal that may call the route (for the valid requests). */
static const char *
fitting_bearer(struct fx *f, const struct route *route)
{
    if (route->access == ACCESS_PUBLIC || route->access == ACCESS_OPEN) {
        return chance(70) ? NULL : f->admin;
    }
    if (route->access == ACCESS_ADMIN) {
        return f->admin;
    }
    if (route->scope != NULL && chance(30)) {
        return f->client;
    }
    return chance(50) ? f->admin : f->org_admin;
}

/* Rules of the valid requests that the schemas do not say. */
static void
valid_rules(struct fx *f, struct target *t, const char *bearer, json_t *body)
{
    const struct route *route = t->route;
    json_t *props = json_object_get(resolve(t->body_schema), "properties");
    int creating = strcmp(route->method, "POST") == 0;
    json_t *lat = json_object_get(body, "latitude"), *lon = json_object_get(body, "longitude");

    if (!json_is_object(body)) {
        return;
    }
    if (creating) {
        json_object_del(body, "verified");
    }
    if ((lat == NULL) != (lon == NULL) || json_is_null(lat) != json_is_null(lon)) {
        json_object_del(body, "latitude");
        json_object_del(body, "longitude");
    }
    if (json_object_get(body, "start_time") != NULL) {
        json_object_set_new(body, "start_time", json_string("10:00"));
    }
    if (json_object_get(body, "code") != NULL) {
        char code[16];
        snprintf(code, sizeof(code), "FZ-%u", pick(100000));
        json_object_set_new(body, "code", json_string(code));
    }
    if (creating && json_object_get(body, "status") != NULL) {
        json_object_del(body, "status");
    }
    if (bearer != f->admin && json_object_get(body, "organisation_id") != NULL) {
        json_object_set_new(body, "organisation_id", json_string(f->org));
    } else if (bearer == f->admin && creating && json_object_get(props, "organisation_id") != NULL
               && !json_is_string(json_object_get(body, "organisation_id"))) {
        json_object_set_new(body, "organisation_id", json_string(f->org));
    }
}

static void
make_request(struct fx *f, struct target *t, struct request *q)
{
    static const char *const other_methods[] = {"GET",  "POST",    "PATCH", "DELETE", "PUT",
                                                "HEAD", "OPTIONS", "TRACE", "BREW"};
    static const char *const content_types[] = {
        "Content-Type: text/plain",          "Content-Type: application/json; charset=latin1",
        "Content-Type: application/jsonx",   "Content-Type:",
        "Content-Type: application/json;",   "Content-Type: APPLICATION/JSON; CHARSET=UTF-8",
        "Content-Type: multipart/form-data", "Content-Type: application/x-www-form-urlencoded"};
    static const char *const odd_headers[] = {"Accept: text/csv",
                                              "Accept: text/csv;q=0, application/json",
                                              "Accept: application/xml",
                                              "Accept: */*;q=0",
                                              "If-None-Match: *",
                                              "If-None-Match: \"x\"",
                                              "X-Forwarded-For: 1.2.3.4, ::1",
                                              "X-Forwarded-For: not an address",
                                              "Origin: https://evil.example",
                                              "Range: bytes=0-1",
                                              "X-Request-Id: ../../\x7f",
                                              "Accept-Encoding: gzip",
                                              "Cookie: a=b",
                                              "Authorization: Basic Zm9vOmJhcg==",
                                              "Authorization: Bearer",
                                              "Authorization: Digest x",
                                              "Expect: 100-continue",
                                              "Accept-Language: cy"};
    int valid = chance(34);
    int hostile_path = !valid && chance(15);
    int hostile_query = !valid && chance(30);
    int hostile_body = !valid && chance(70);
    char *etag = NULL;

    if (valid) {
        tag("valid");
    }
    q->method = t->route->method;
    if (!valid && chance(6)) {
        q->method = ONE_OF(other_methods);
        tag("method:%s", q->method);
    }
    q->bearer = valid ? fitting_bearer(f, t->route) : choose_bearer(f);
    make_path(t, &q->target, hostile_path);
    if (strcmp(t->route->method, "GET") == 0 || hostile_query) {
        struct it_buf qs = {0};
        make_query(t, &qs, hostile_query);
        if (qs.len > 0) {
            buf_str(&q->target, "?");
            it_buf_add(&q->target, qs.p, qs.len);
        }
        buf_free(&qs);
    }

    if (strcmp(t->route->method, "PATCH") == 0 && (valid || chance(70))) {
        etag = etag_of(f, q->target.p, q->bearer);
    }
    if (etag != NULL && (!hostile_body || chance(80))) {
        header_owned(q, it_fmt("If-Match: %s", etag));
    } else if (!valid && chance(30)) {
        tag("if-match");
        header(q,
               ONE_OF(((const char *const[]){"If-Match: *", "If-Match: \"\"", "If-Match: W/\"1\"",
                                             "If-Match: \"1\", \"2\"", "If-Match: garbage"})));
    }
    free(etag);

    if (t->body_schema != NULL || (!valid && chance(10))) {
        json_t *body = t->body_schema ? gen(t->body_schema, "", 0) : json_object();
        char *text;
        int form = t->form_ok && chance(30);

        q->has_body = 1;
        if (strcmp(t->route->pattern, "/v1/auth/refresh") == 0
            || strcmp(t->route->pattern, "/v1/auth/logout") == 0) {
            json_object_set_new(body, "refresh_token", json_string(f->spare_refresh));
        } else if (strcmp(t->route->pattern, "/v1/auth/revoke") == 0 && chance(50)) {
            json_object_set_new(body, "token",
                                json_string(chance(50) ? f->spare_refresh : f->spare_access));
        } else if (strcmp(t->route->pattern, "/v1/auth/token") == 0 && chance(30)) {
            json_object_clear(body);
            json_object_set_new(body, "grant_type", json_string("client_credentials"));
            json_object_set_new(body, "client_id", json_string(f->client_id));
            json_object_set_new(body, "client_secret", json_string(f->client_secret));
        }
        if (valid) {
            valid_rules(f, t, q->bearer, body);
        }
        if (hostile_body) {
            int k, m = 1 + (int)pick(3);
            for (k = 0; k < m; k++) {
                body = mutate_json(body);
            }
        }
        if (form && json_is_object(body)) {
            const char *k;
            json_t *v;
            json_object_foreach(body, k, v)
            {
                buf_fmt(&q->body, "%s%s=%s", q->body.len ? "&" : "", k,
                        json_is_string(v) ? json_string_value(v) : "1");
            }
            header(q, "Content-Type: application/x-www-form-urlencoded");
        } else {
            text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
            if (text != NULL) {
                buf_str(&q->body, text);
                free(text);
            }
            if (!valid && chance(15)) {
                tag("content-type");
                header(q, ONE_OF(content_types));
            } else {
                header(q, "Content-Type: application/json");
            }
        }
        json_decref(body);
        if (hostile_body && chance(25)) {
            mutate_bytes(&q->body);
        }
        if (q->body.p == NULL) {
            buf_str(&q->body, "");
        }
    }
    if (!valid && chance(20)) {
        const char *h = ONE_OF(odd_headers);
        tag("header:%.20s", h);
        header(q, h);
    }
    if (strcmp(q->method, "HEAD") == 0) {
        q->has_body = 0; /* libcurl would wait for a body the answer to HEAD never has */
    }
    q->raw = !valid && chance(9);
}

/* Sends `q` over a plain socket with one kind of framing damage. Returns the status (0 when no
 * status line came); `wire` gets what was sent. */
static long
send_raw(struct fx *f, struct request *q, struct it_buf *wire, char *answer, size_t anslen)
{
    static const char *const versions[] = {"HTTP/1.1", "HTTP/1.0",       "HTTP/2.0", "HTTP/9.9",
                                           "",         "HTTP/1.1 extra", "http/1.1"};
    static const char *const raw_bytes[] = {"\x80", "\xff\xfe", "%00",      "\x01",  " ",   "\t",
                                            "%zz",  "%",        "\xc3\x28", "#frag", "%25%"};
    unsigned kind = pick(14);

    tag("raw%u", kind);
    const char *method = q->method;
    char lower[16];
    int i, n;
    size_t bodylen = q->has_body ? q->body.len : 0;

    /* The request line. */
    if (kind == 0) {
        for (i = 0; method[i] != '\0' && i < 15; i++) {
            lower[i] = (char)tolower((unsigned char)method[i]);
        }
        lower[i] = '\0';
        method = lower;
    }
    buf_str(wire, method);
    buf_str(wire, kind == 1 ? "  " : " ");
    if (kind == 2) {
        buf_str(wire, "http://127.0.0.1");
    }
    it_buf_add(wire, q->target.p, q->target.len);
    if (kind == 3) { /* raw bytes in the path or query */
        buf_str(wire, strchr(q->target.p, '?') ? "&q=" : "?q=");
        buf_str(wire, ONE_OF(raw_bytes));
    } else if (kind == 4) {
        it_buf_add(wire, "\0x", 2);
    }
    buf_fmt(wire, " %s\r\n", kind == 5 ? ONE_OF(versions) : "HTTP/1.1");
    buf_fmt(wire, "Host: 127.0.0.1:%d\r\nConnection: close\r\n", f->s->port);
    if (q->bearer != NULL) {
        buf_fmt(wire, "Authorization: Bearer %s\r\n", q->bearer);
    }
    for (i = 0; i < q->nheaders; i++) {
        buf_fmt(wire, "%s\r\n", q->headers[i]);
    }
    switch (kind) {
    case 6: /* CL and TE together */
        buf_fmt(wire, "Content-Length: %zu\r\nTransfer-Encoding: chunked\r\n\r\n", bodylen);
        buf_fmt(wire, "%zx\r\n", bodylen);
        it_buf_add(wire, q->body.p ? q->body.p : "", bodylen);
        buf_str(wire, "\r\n0\r\n\r\n");
        break;
    case 7: /* two different Content-Lengths */
        buf_fmt(wire, "Content-Length: %zu\r\nContent-Length: %zu\r\n\r\n", bodylen, bodylen + 3);
        it_buf_add(wire, q->body.p ? q->body.p : "", bodylen);
        break;
    case 8: /* a bad Content-Length */
        buf_fmt(wire, "Content-Length: %s\r\n\r\n",
                ONE_OF(((const char *const[]){"5x", "-1", "99999999999999999999", " ", "0x10", "+3",
                                              "1e3"})));
        it_buf_add(wire, q->body.p ? q->body.p : "", bodylen);
        break;
    case 9: /* bad chunking */
        buf_str(wire, "Transfer-Encoding: chunked\r\n\r\n");
        buf_str(wire, ONE_OF(((const char *const[]){
                          "zz\r\nab\r\n0\r\n\r\n", "ffffffffffffffff\r\nab\r\n", "-1\r\n\r\n",
                          "3\r\nabcdef\r\n0\r\n\r\n", "2\r\n{}", "2;ext=1\r\n{}\r\n0\r\n\r\n"})));
        break;
    case 10: /* a body shorter than its Content-Length */
        buf_fmt(wire, "Content-Length: %zu\r\n\r\n", bodylen + 10);
        it_buf_add(wire, q->body.p ? q->body.p : "", bodylen);
        break;
    case 11: /* a header line without a colon, and an obsolete fold */
        buf_str(wire, "NoColonHere\r\nX-Fold: a\r\n b\r\n");
        buf_fmt(wire, "Content-Length: %zu\r\n\r\n", bodylen);
        it_buf_add(wire, q->body.p ? q->body.p : "", bodylen);
        break;
    case 12: /* a head too large */
        buf_str(wire, "X-Big: ");
        for (n = 0; n < 20000; n++) {
            it_buf_add(wire, "a", 1);
        }
        buf_fmt(wire, "\r\nContent-Length: %zu\r\n\r\n", bodylen);
        it_buf_add(wire, q->body.p ? q->body.p : "", bodylen);
        break;
    default: /* bare LF line ends */
        buf_fmt(wire, "Content-Length: %zu\n\n", bodylen);
        it_buf_add(wire, q->body.p ? q->body.p : "", bodylen);
        break;
    }
    n = it_raw_n(f->s, wire->p, wire->len, 1, 5000, answer, anslen);
    if (n >= 12 && strncmp(answer, "HTTP/1.", 7) == 0) {
        return strtol(answer + 9, NULL, 10);
    }
    return 0;
}

static int
is_write(const char *method)
{
    return strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0
           || strcmp(method, "DELETE") == 0 || strcmp(method, "PUT") == 0;
}

static int
server_alive(struct fx *f)
{
    struct it_resp r;
    int ok = it_get(f->s, "/healthz", NULL, &r) == 0 && r.status == 200;

    it_resp_free(&r);
    return ok;
}

/* ---- The run --------------------------------------------------------------------------------- */

static void
test_fuzz_http(void **state)
{
    struct fx *f = *state;
    const char *env_seed = getenv("FUZZ_SEED"), *env_count = getenv("FUZZ_COUNT");
    int verbose = getenv("FUZZ_VERBOSE") != NULL && strcmp(getenv("FUZZ_VERBOSE"), "1") == 0;
    uint64_t seed = env_seed ? strtoull(env_seed, NULL, 10) : DEFAULT_SEED;
    long count = env_count ? strtol(env_count, NULL, 10) : DEFAULT_COUNT, i, sent = 0;
    long classes[6] = {0}, refused_writes = 0, raw_sent = 0;
    char *answer = malloc(65536);
    struct timespec t0, t1;
    size_t k;

    assert_non_null(answer);
    fuzz_rng_state = seed;
    fprintf(stderr, "fuzz: seed %" PRIu64 " (FUZZ_SEED), %ld requests (FUZZ_COUNT), %zu routes\n",
            seed, count, f->ntargets);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < count; i++) {
        struct target *t = &f->targets[(size_t)i % f->ntargets];
        struct request q = {0};
        struct it_buf wire = {0};
        struct it_resp r = {0};
        json_t *before = NULL;
        long status;
        const char *ans;
        size_t anslen;

        tags[0] = '\0';
        make_request(f, t, &q);
        if (is_write(q.method)) {
            before = fingerprint(f->s);
        }
        if (q.raw) {
            status = send_raw(f, &q, &wire, answer, 65536);
            ans = answer;
            anslen = strlen(answer);
            raw_sent++;
        } else {
            buf_fmt(&wire, "%s %s\n", q.method, q.target.p);
            if (q.bearer != NULL) {
                buf_fmt(&wire, "Authorization: Bearer %.24s...\n", q.bearer);
            }
            for (k = 0; k < (size_t)q.nheaders; k++) {
                buf_fmt(&wire, "%s\n", q.headers[k]);
            }
            if (q.has_body) {
                buf_str(&wire, "\n");
                it_buf_add(&wire, q.body.p, q.body.len);
            }
            if (it_request_n(f->s, q.method, q.target.p, q.bearer, q.headers,
                             q.has_body ? q.body.p : NULL, q.has_body ? q.body.len : 0, &r)
                != 0) {
                r.status = 0;
            }
            status = r.status;
            ans = r.body;
            anslen = r.len;
        }
        sent++;
        t->sent++;
        classes[status >= 100 && status < 600 ? status / 100 : 0]++;
        t->by_class[status >= 100 && status < 600 ? status / 100 : 0]++;
        if (verbose) {
            fprintf(stderr, "fuzz: #%ld %s %s%s -> %ld [%s] %.200s\n", i, q.method, q.target.p,
                    q.raw ? " (raw)" : "", status, tags,
                    status >= 400 && r.json ? it_jstr(r.json, "detail") ?: "" : "");
        }

        if (status >= 500) {
            const char *detail = r.json ? it_jstr(r.json, "detail") : NULL;
            char d[96];
            /* The request id in a 500's detail differs every time: keep the words before it. */
            snprintf(d, sizeof(d), "%s", detail ? detail : "");
            if (strstr(d, "quote request id") != NULL) {
                *strstr(d, "quote request id") = '\0';
            }
            record_failure(i, q.raw ? "5xx (raw)" : "5xx", t->route->pattern, status, d, wire.p,
                           wire.len, ans, anslen);
        }
        if (status == 0 && !server_alive(f)) {
            record_failure(i, "server died", t->route->pattern, status, NULL, wire.p, wire.len, ans,
                           anslen);
            json_decref(before);
            it_resp_free(&r);
            buf_free(&wire);
            request_free(&q);
            break;
        }
        if (before != NULL && status >= 400 && status < 500) {
            json_t *after = fingerprint(f->s);
            size_t n;
            refused_writes++;
            for (n = 0; n < json_array_size(after); n++) {
                const char *table = json_string_value(json_array_get(table_names, n));
                if (!json_equal(json_array_get(before, n), json_array_get(after, n))
                    && !refusal_may_change(t->route->pattern, table, status)) {
                    char what[96];
                    snprintf(what, sizeof(what), "write answered 4xx changed %s:", table);
                    record_failure(i, what, t->route->pattern, status, NULL, wire.p, wire.len, ans,
                                   anslen);
                }
            }
            json_decref(after);
        }
        if (status >= 200 && status < 300 && r.json != NULL) {
            harvest(t->collection, r.json);
        }
        json_decref(before);
        it_resp_free(&r);
        buf_free(&wire);
        request_free(&q);
        if ((i + 1) % 2000 == 0) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            fprintf(stderr, "fuzz: %ld requests, %.0f s, %ld failures so far\n", i + 1,
                    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
                    total_failures);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    free(answer);

    fprintf(stderr,
            "fuzz: %ld requests (%ld raw) in %.0f s: no answer %ld, 1xx %ld, 2xx %ld, 3xx %ld,"
            " 4xx %ld, 5xx %ld; %ld refused writes checked against the data\n",
            sent, raw_sent,
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, classes[0],
            classes[1], classes[2], classes[3], classes[4], classes[5], refused_writes);
    fprintf(stderr, "fuzz: per route: sent 2xx 4xx 5xx none\n");
    for (k = 0; k < f->ntargets; k++) {
        struct target *t = &f->targets[k];
        fprintf(stderr, "fuzz:   %-7s %-46s %5ld %5ld %5ld %4ld %4ld%s\n", t->route->method,
                t->route->pattern, t->sent, t->by_class[2], t->by_class[4], t->by_class[5],
                t->by_class[0], t->op == NULL ? "  (not in openapi.json)" : "");
    }
    if (nfails > 0) {
        int n;
        fprintf(stderr, "fuzz: %ld failures, %d distinct (seed %" PRIu64 "):\n", total_failures,
                nfails, seed);
        for (n = 0; n < nfails; n++) {
            fprintf(stderr, "fuzz: %5ldx %s\n%s\n", fails[n].count, fails[n].key, fails[n].example);
        }
        fail_msg("fuzz: %ld failures (%d distinct); rerun with FUZZ_SEED=%" PRIu64, total_failures,
                 nfails, seed);
    }
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char *path = it_fmt("%s/static/openapi.json", getenv("IT_SOURCE_DIR") ?: ".");
    json_error_t jerr;
    time_t now = time(NULL);
    struct tm tm;

    assert_non_null(f);
    doc = json_load_file(path, 0, &jerr);
    if (doc == NULL) {
        fail_msg("cannot read %s: %s", path, jerr.text);
    }
    free(path);
    gmtime_r(&now, &tm);
    strftime(today, sizeof(today), "%Y-%m-%d", &tm);
    f->targets = targets_load(&f->ntargets);
    fixture(f);
    fingerprint_prepare(f->s);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    size_t k;
    int n;

    it_stop(f->s); /* fails on a non-zero exit or a sanitizer report in the server's log */
    for (k = 0; k < f->ntargets; k++) {
        json_decref(f->targets[k].query_params);
    }
    for (n = 0; n < nfails; n++) {
        free(fails[n].example);
    }
    free(f->targets);
    free(f->admin);
    free(f->org_admin);
    free(f->org_staff);
    free(f->client);
    free(f->spare_access);
    free(f->spare_refresh);
    free(fingerprint_sql);
    json_decref(table_names);
    json_decref(doc);
    free(f);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_fuzz_http)};

    return cmocka_run_group_tests(tests, setup, teardown);
}
