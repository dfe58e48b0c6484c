/* jsonout.c: compact JSON text of a Jansson value (see jsonout.h).
 *
 * Jansson's own dumper decodes every string character by character (it re-validates UTF-8 that
 * json_string already validated) and writes through a callback per piece. Here a string is
 * copied in runs between the bytes that need escaping, and everything goes into one buffer that
 * doubles as it grows. Jansson values are valid UTF-8 by construction, so nothing is checked
 * twice. */
#include "registry/jsonout.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for `more` bytes and the NUL after them. 0, or -1 (and failed) when out of memory. */
static int
reserve(struct jsonout_buf *o, size_t more)
{
    size_t cap = o->cap != 0 ? o->cap : 256;
    char *p;

    if (o->failed || o->len + more < o->cap) {
        return o->failed ? -1 : 0;
    }
    while (cap <= o->len + more) {
        cap *= 2;
    }
    if ((p = realloc(o->p, cap)) == NULL) {
        o->failed = 1;
        return -1;
    }
    o->p = p;
    o->cap = cap;
    return 0;
}

void
jsonout_put(struct jsonout_buf *o, const char *s, size_t n)
{
    if (reserve(o, n) == 0) {
        memcpy(o->p + o->len, s, n);
        o->len += n;
        o->p[o->len] = '\0';
    }
}

void
jsonout_printf(struct jsonout_buf *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        o->failed = 1;
    } else if (reserve(o, (size_t)n) == 0) {
        va_start(ap, fmt);
        vsnprintf(o->p + o->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        o->len += (size_t)n;
    }
}

/* PostgreSQL's float8 -> numeric keeps 15 significant digits (DBL_DIG, "%.15g"), and its round()
 * of a numeric goes half away from zero on those decimal digits: so 2.675, which as a double is
 * 2.67499999..., is 2.675 as a numeric and rounds to 2.68 (printf's "%.2f" gives 2.67). Here
 * "%.14e" gives the same 15 digits with an exponent, and the rounding is done on them. */
void
jsonout_put_round2(struct jsonout_buf *o, double v)
{
    char e[32], out[344];
    int exp, top, p, n = 0, carry, started = 0;
    char d[340]; /* the digits of |v| from 10^top down to 10^-3 */

    if (!isfinite(v) || fabs(v) >= 1e300) {
        jsonout_put(o, "null", 4);
        return;
    }
    if (v >= 0 && v < 1e5) {
        /* Below 10^5 the 15 digits are within 5e-11 of v, and v * 100 within 1e-10 of its
         * true value: away from a half hundredth, rounding v itself gives the same digits, in
         * integers (the printf of "%.14e" was 2 % of the machine's CPU on the search). */
        double c = v * 100, f = c - floor(c);

        if (fabs(f - 0.5) > 1e-6) {
            unsigned long r = (unsigned long)floor(c) + (f > 0.5);
            char t[16];
            int i = (int)sizeof(t);

            t[--i] = (char)('0' + r % 10);
            t[--i] = (char)('0' + r / 10 % 10);
            t[--i] = '.';
            r /= 100;
            do {
                t[--i] = (char)('0' + r % 10);
                r /= 10;
            } while (r != 0);
            jsonout_put(o, t + i, sizeof(t) - (size_t)i);
            return;
        }
    }
    snprintf(e, sizeof(e), "%.14e", fabs(v)); /* "d.dddddddddddddde[+-]XX" */
    exp = atoi(e + 17);
    top = exp > 0 ? exp : 0;
    for (p = top; p >= -3; p--) {
        int k = exp - p; /* the index of 10^p among the 15 significant digits */
        d[top - p] = (char)(k < 0 || k > 14 ? 0 : e[k == 0 ? 0 : k + 1] - '0');
    }
    carry = d[top + 3] >= 5; /* 10^-3: half away from zero */
    for (p = top + 2; p >= 0 && carry; p--) {
        carry = ++d[p] == 10;
        if (carry) {
            d[p] = 0;
        }
    }
    for (p = 0; p <= top + 2; p++) {
        started |= d[p] != 0;
    }
    if (v < 0 && (started || carry)) {
        out[n++] = '-'; /* numeric has no negative zero */
    }
    started = carry;
    if (carry) {
        out[n++] = '1';
    }
    for (p = 0; p <= top; p++) {
        if (started || d[p] != 0 || p == top) {
            out[n++] = (char)('0' + d[p]);
            started = 1;
        }
    }
    out[n++] = '.';
    out[n++] = (char)('0' + d[top + 1]);
    out[n++] = (char)('0' + d[top + 2]);
    jsonout_put(o, out, (size_t)n);
}

#define put            jsonout_put
#define put_char(o, c) put(o, (const char[]){c}, 1)

/* 1 for the bytes a JSON string cannot hold as they are. */
static const unsigned char needs_escape[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00-0x0f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10-0x1f */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* '\\' */
};

static void
put_string(struct jsonout_buf *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF"; /* upper case, as Jansson */
    static const char short_from[] = "\"\\\b\f\n\r\t", short_to[] = "\"\\bfnrt";
    const char *k;
    size_t i = 0, run;

    put_char(o, '"');
    while (i < n) {
        unsigned char c;

        for (run = i; run < n && !needs_escape[(unsigned char)s[run]]; run++) {
        }
        put(o, s + i, run - i);
        if (run == n) {
            break;
        }
        c = (unsigned char)s[run];
        if (c != 0 && (k = strchr(short_from, c)) != NULL) {
            char e[2] = {'\\', short_to[k - short_from]};
            put(o, e, sizeof(e));
        } else {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(o, u, sizeof(u));
        }
        i = run + 1;
    }
    put_char(o, '"');
}

static void
put_integer(struct jsonout_buf *o, json_int_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, v);

    put(o, buf, (size_t)n);
}

/* As Jansson writes a real with JSON_REAL_PRECISION(12): %.12g, ".0" added when the text would
 * read back as an integer, and the exponent without '+' or leading zeros ("1e20", "1e-5"). */
static void
put_real(struct jsonout_buf *o, double v)
{
    char buf[40], *e, *from, *to;
    int n = snprintf(buf, sizeof(buf) - 2, "%.12g", v);

    if (n < 0 || (size_t)n >= sizeof(buf) - 2) {
        o->failed = 1;
        return;
    }
    e = strchr(buf, 'e');
    if (e == NULL) {
        if (strchr(buf, '.') == NULL) {
            memcpy(buf + n, ".0", 3);
            n += 2;
        }
    } else {
        to = e + 1;
        if (*to == '-') {
            to++;
        }
        from = to;
        while (*from == '+' || (*from == '0' && from[1] != '\0')) {
            from++;
        }
        if (from != to) {
            memmove(to, from, strlen(from) + 1);
            n = (int)strlen(buf);
        }
    }
    put(o, buf, (size_t)n);
}

static void
put_value(struct jsonout_buf *o, const json_t *v, int depth)
{
    if (depth > JSONOUT_MAX_DEPTH) {
        o->failed = 1;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        void *it = json_object_iter((json_t *)v);
        int first = 1;

        put_char(o, '{');
        for (; it != NULL && !o->failed; it = json_object_iter_next((json_t *)v, it)) {
            if (!first) {
                put_char(o, ',');
            }
            first = 0;
            put_string(o, json_object_iter_key(it), json_object_iter_key_len(it));
            put_char(o, ':');
            put_value(o, json_object_iter_value(it), depth + 1);
        }
        put_char(o, '}');
        break;
    }
    case JSON_ARRAY: {
        size_t i, n = json_array_size(v);

        put_char(o, '[');
        for (i = 0; i < n && !o->failed; i++) {
            if (i > 0) {
                put_char(o, ',');
            }
            put_value(o, json_array_get(v, i), depth + 1);
        }
        put_char(o, ']');
        break;
    }
    case JSON_STRING:
        put_string(o, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        put_integer(o, json_integer_value(v));
        break;
    case JSON_REAL:
        put_real(o, json_real_value(v));
        break;
    case JSON_TRUE:
        put(o, "true", 4);
        break;
    case JSON_FALSE:
        put(o, "false", 5);
        break;
    case JSON_NULL:
        put(o, "null", 4);
        break;
    }
}

char *
jsonout_dump(const json_t *v, size_t *len)
{
    struct jsonout_buf o = {NULL, 0, 0, 0};

    if (v == NULL) {
        return NULL;
    }
    put_value(&o, v, 0);
    if (o.failed) {
        free(o.p);
        return NULL;
    }
    if (len != NULL) {
        *len = o.len;
    }
    return o.p;
}
