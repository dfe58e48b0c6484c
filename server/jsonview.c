/* jsonview.c: JSON text read in one pass into a flat array of tokens (see jsonview.h).
 *
 * Decisions:
 * - Recursive descent, at most JVIEW_DEPTH deep, over a bounded text: every read checks the end.
 * - One allocation for the tokens (grown by doubling) and one for the strings: a string decodes
 *   to no more bytes than it takes in the text, quotes included, so `len` + 1 bytes hold them all
 *   with their NULs. */
#include "registry/jsonview.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JVIEW_DEPTH 64

struct parser {
    struct jview *v;
    int guess; /* tokens to make room for at first */
    const char *p, *end;
    char *out; /* where the next decoded string goes */
};

void
jview_init(struct jview *v)
{
    memset(v, 0, sizeof(*v));
}

void
jview_cleanup(struct jview *v)
{
    free(v->tok);
    free(v->strings);
    memset(v, 0, sizeof(*v));
}

/* 1 for JSON's white space. */
static const unsigned char space[256] = {[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1};

/* 1 for what ends a run of plain characters in a string: the quote, the backslash, and the
 * control characters (which JSON does not allow raw). */
static const unsigned char stop[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
    [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0A] = 1, [0x0B] = 1, [0x0C] = 1, [0x0D] = 1,
    [0x0E] = 1, [0x0F] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
    [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1A] = 1, [0x1B] = 1,
    [0x1C] = 1, [0x1D] = 1, [0x1E] = 1, [0x1F] = 1, ['"'] = 1,  ['\\'] = 1,
};

/* The stop bytes among the 8 at `p`, each as its high bit; the lowest one set is exactly the
 * first such byte (x - 0x01.. borrows into a byte's high bit from a byte below the subtrahend,
 * and a borrow only ever reaches the bytes above it; ~x keeps bytes of 0x80 and above out).
 * Little-endian only: elsewhere plain_run reads a byte at a time. */
static inline uint64_t
stops8(const char *p)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t x, q, b;

    memcpy(&x, p, sizeof(x));
    q = x ^ (ones * '"');
    b = x ^ (ones * '\\');
    return (((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x)) & highs;
}

/* Where the run of plain string characters from `p` ends: the first byte in `stop`, or `end`. */
static inline const char *
plain_run(const char *p, const char *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (end - p >= 8) {
        uint64_t m = stops8(p);

        if (m != 0) {
            return p + (__builtin_ctzll(m) >> 3);
        }
        p += 8;
    }
#endif
    while (p < end && !stop[(unsigned char)*p]) {
        p++;
    }
    return p;
}

static inline void
skip_space(struct parser *ps)
{
    while (ps->p < ps->end && space[(unsigned char)*ps->p]) {
        ps->p++;
    }
}

static int grow(struct parser *ps);

/* A new token of `type`; its index, or -1 when memory ran out. */
static inline int
new_tok(struct parser *ps, enum jview_type type)
{
    struct jview *v = ps->v;
    struct jview_tok *t;

    if (v->n == v->cap && grow(ps) != 0) {
        return -1;
    }
    t = &v->tok[v->n];
    t->type = (unsigned char)type;
    t->next = v->n + 1;
    t->size = 0;
    return v->n++;
}

/* Doubles the room for tokens. Returns 0, or -1. */
static int
grow(struct parser *ps)
{
    struct jview *v = ps->v;
    int cap = v->cap == 0 ? ps->guess : v->cap * 2;
    struct jview_tok *t;

    if (v->cap > INT_MAX / 4 || (t = realloc(v->tok, (size_t)cap * sizeof(*t))) == NULL) {
        return -1;
    }
    v->tok = t;
    v->cap = cap;
    return 0;
}

static int
hex4(const char *p, unsigned *out)
{
    unsigned u = 0;
    int i;

    for (i = 0; i < 4; i++) {
        char c = p[i];

        u <<= 4;
        if (c >= '0' && c <= '9') {
            u |= (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            u |= (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            u |= (unsigned)(c - 'A' + 10);
        } else {
            return -1;
        }
    }
    *out = u;
    return 0;
}

/* Writes code point `u` as UTF-8 at `o`; returns the byte after. */
static char *
put_utf8(char *o, unsigned u)
{
    if (u < 0x80) {
        *o++ = (char)u;
    } else if (u < 0x800) {
        *o++ = (char)(0xC0 | (u >> 6));
        *o++ = (char)(0x80 | (u & 0x3F));
    } else if (u < 0x10000) {
        *o++ = (char)(0xE0 | (u >> 12));
        *o++ = (char)(0x80 | ((u >> 6) & 0x3F));
        *o++ = (char)(0x80 | (u & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (u >> 18));
        *o++ = (char)(0x80 | ((u >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((u >> 6) & 0x3F));
        *o++ = (char)(0x80 | (u & 0x3F));
    }
    return o;
}

/* A \u escape at ps->p (just after the backslash and the u), with its low surrogate when it is a
 * high one, decoded into ps->out. Returns 0, or -1. */
static int
unicode_escape(struct parser *ps)
{
    unsigned u, lo;

    if (ps->end - ps->p < 4 || hex4(ps->p, &u) != 0) {
        return -1;
    }
    ps->p += 4;
    if (u >= 0xDC00 && u <= 0xDFFF) {
        return -1; /* a low surrogate alone */
    }
    if (u >= 0xD800 && u <= 0xDBFF) {
        if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' || hex4(ps->p + 2, &lo) != 0
            || lo < 0xDC00 || lo > 0xDFFF) {
            return -1;
        }
        ps->p += 6;
        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (u == 0) {
        return -1; /* as Jansson without JSON_ALLOW_NUL */
    }
    ps->out = put_utf8(ps->out, u);
    return 0;
}

/* A string at ps->p (its opening quote) into a new STRING token. Returns 0, or -1. */
static int
parse_string(struct parser *ps)
{
    const char *run;
    char *start = ps->out;
    int t = new_tok(ps, JVIEW_STRING);

    if (t < 0) {
        return -1;
    }
    ps->p++;
    for (;;) {
        size_t n;

        run = ps->p;
        ps->p = plain_run(ps->p, ps->end);
        n = (size_t)(ps->p - run);
        memcpy(ps->out, run, n);
        ps->out += n;
        if (ps->p >= ps->end || (unsigned char)*ps->p < 0x20) {
            return -1; /* unterminated, or a raw control character */
        }
        if (*ps->p == '"') {
            ps->p++;
            break;
        }
        if (++ps->p >= ps->end) {
            return -1;
        }
        switch (*ps->p++) {
        case '"':
            *ps->out++ = '"';
            break;
        case '\\':
            *ps->out++ = '\\';
            break;
        case '/':
            *ps->out++ = '/';
            break;
        case 'b':
            *ps->out++ = '\b';
            break;
        case 'f':
            *ps->out++ = '\f';
            break;
        case 'n':
            *ps->out++ = '\n';
            break;
        case 'r':
            *ps->out++ = '\r';
            break;
        case 't':
            *ps->out++ = '\t';
            break;
        case 'u':
            if (unicode_escape(ps) != 0) {
                return -1;
            }
            break;
        default:
            return -1;
        }
    }
    *ps->out++ = '\0';
    ps->v->tok[t].u.str = start;
    return 0;
}

static int
digits(struct parser *ps)
{
    const char *start = ps->p;

    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        ps->p++;
    }
    return ps->p > start ? 0 : -1;
}

/* A number at ps->p into a new INTEGER or REAL token. Returns 0, or -1. */
static int
parse_number(struct parser *ps)
{
    const char *start = ps->p;
    char buf[64];
    int real = 0, t;
    size_t n;

    if (*ps->p == '-') {
        ps->p++;
    }
    if (ps->p < ps->end && *ps->p == '0') {
        ps->p++;
    } else if (digits(ps) != 0) {
        return -1;
    }
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        real = 1;
        if (digits(ps) != 0) {
            return -1;
        }
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        real = 1;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) {
            ps->p++;
        }
        if (digits(ps) != 0) {
            return -1;
        }
    }
    n = (size_t)(ps->p - start);
    if (n >= sizeof(buf) || (t = new_tok(ps, real ? JVIEW_REAL : JVIEW_INTEGER)) < 0) {
        return -1;
    }
    memcpy(buf, start, n);
    buf[n] = '\0';
    errno = 0;
    if (real) {
        double d = strtod(buf, NULL);

        if (errno == ERANGE && (d > 1.0 || d < -1.0)) {
            return -1; /* overflow, as Jansson; underflow reads as the small value */
        }
        ps->v->tok[t].u.d = d;
    } else if (n <= 18) {
        /* At most 18 digits (and a sign): within long long, read without strtoll. */
        const char *d = buf + (buf[0] == '-');
        long long i = 0;

        for (; *d != '\0'; d++) {
            i = i * 10 + (*d - '0');
        }
        ps->v->tok[t].u.i = buf[0] == '-' ? -i : i;
    } else {
        long long i = strtoll(buf, NULL, 10);

        if (errno == ERANGE) {
            return -1;
        }
        ps->v->tok[t].u.i = i;
    }
    return 0;
}

static int
parse_literal(struct parser *ps, const char *word, enum jview_type type)
{
    size_t n = strlen(word);
    int t;

    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0
        || (t = new_tok(ps, type)) < 0) {
        return -1;
    }
    ps->p += n;
    return 0;
}

static int parse_value(struct parser *ps, int depth);

/* An object or an array at ps->p (its opening bracket). Returns 0, or -1. */
static int
parse_container(struct parser *ps, int depth)
{
    int object = *ps->p == '{', t = new_tok(ps, object ? JVIEW_OBJECT : JVIEW_ARRAY), size = 0;
    char close = object ? '}' : ']';

    if (t < 0 || depth >= JVIEW_DEPTH) {
        return -1;
    }
    ps->p++;
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
    } else {
        for (;;) {
            skip_space(ps);
            if (object) {
                if (ps->p >= ps->end || *ps->p != '"' || parse_string(ps) != 0) {
                    return -1;
                }
                skip_space(ps);
                if (ps->p >= ps->end || *ps->p != ':') {
                    return -1;
                }
                ps->p++;
            }
            if (parse_value(ps, depth + 1) != 0) {
                return -1;
            }
            size++;
            skip_space(ps);
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            if (ps->p < ps->end && *ps->p == close) {
                ps->p++;
                break;
            }
            return -1;
        }
    }
    ps->v->tok[t].size = size;
    ps->v->tok[t].next = ps->v->n;
    return 0;
}

static int
parse_value(struct parser *ps, int depth)
{
    skip_space(ps);
    if (ps->p >= ps->end) {
        return -1;
    }
    switch (*ps->p) {
    case '{':
    case '[':
        return parse_container(ps, depth);
    case '"':
        return parse_string(ps);
    case 't':
        return parse_literal(ps, "true", JVIEW_TRUE);
    case 'f':
        return parse_literal(ps, "false", JVIEW_FALSE);
    case 'n':
        return parse_literal(ps, "null", JVIEW_NULL);
    default:
        return (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) ? parse_number(ps) : -1;
    }
}

int
jview_parse(struct jview *v, const char *text, size_t len)
{
    struct parser ps;

    jview_cleanup(v);
    if (text == NULL || (v->strings = malloc(len + 1)) == NULL) {
        return -1;
    }
    ps.v = v;
    ps.p = text;
    ps.end = text + len;
    ps.out = v->strings;
    /* About one token per 12 bytes of a provider search's answer (names and short values). */
    ps.guess = len / 12 < 64 ? 64 : len / 12 > 65536 ? 65536 : (int)(len / 12);
    skip_space(&ps);
    if (ps.p >= ps.end || (*ps.p != '{' && *ps.p != '[') || parse_container(&ps, 0) != 0) {
        jview_cleanup(v);
        return -1;
    }
    skip_space(&ps);
    if (ps.p != ps.end) {
        jview_cleanup(v);
        return -1;
    }
    return 0;
}

/* ---- Accessors ---------------------------------------------------------------------------- */

static const struct jview_tok *
tok(const struct jview *v, int i)
{
    return i >= 0 && i < v->n ? &v->tok[i] : NULL;
}

int
jview_get(const struct jview *v, int obj, const char *key)
{
    const struct jview_tok *o = tok(v, obj);
    int k;

    if (o == NULL || o->type != JVIEW_OBJECT) {
        return -1;
    }
    for (k = obj + 1; k < o->next; k = v->tok[k + 1].next) {
        const char *name = v->tok[k].u.str;

        if (name[0] == key[0] && strcmp(name, key) == 0) {
            return k + 1;
        }
    }
    return -1;
}

int
jview_first(const struct jview *v, int arr)
{
    const struct jview_tok *a = tok(v, arr);

    return a != NULL && a->type == JVIEW_ARRAY && a->size > 0 ? arr + 1 : -1;
}

int
jview_next(const struct jview *v, int arr, int i)
{
    const struct jview_tok *a = tok(v, arr), *e = tok(v, i);

    if (a == NULL || a->type != JVIEW_ARRAY || e == NULL || i <= arr || e->next >= a->next) {
        return -1;
    }
    return e->next;
}

int
jview_at(const struct jview *v, int arr, size_t n)
{
    int i = jview_first(v, arr);

    while (i >= 0 && n-- > 0) {
        i = jview_next(v, arr, i);
    }
    return i;
}

size_t
jview_size(const struct jview *v, int i)
{
    const struct jview_tok *t = tok(v, i);

    return t != NULL && t->type == JVIEW_ARRAY ? (size_t)t->size : 0;
}

const char *
jview_str(const struct jview *v, int i)
{
    const struct jview_tok *t = tok(v, i);

    return t != NULL && t->type == JVIEW_STRING ? t->u.str : NULL;
}

int
jview_is_true(const struct jview *v, int i)
{
    const struct jview_tok *t = tok(v, i);

    return t != NULL && t->type == JVIEW_TRUE;
}

int
jview_is_object(const struct jview *v, int i)
{
    const struct jview_tok *t = tok(v, i);

    return t != NULL && t->type == JVIEW_OBJECT;
}

long long
jview_int(const struct jview *v, int i)
{
    const struct jview_tok *t = tok(v, i);

    return t != NULL && t->type == JVIEW_INTEGER ? t->u.i : 0;
}

double
jview_num(const struct jview *v, int i)
{
    const struct jview_tok *t = tok(v, i);

    if (t == NULL) {
        return 0.0;
    }
    return t->type == JVIEW_INTEGER ? (double)t->u.i : t->type == JVIEW_REAL ? t->u.d : 0.0;
}
