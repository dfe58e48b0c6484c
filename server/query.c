/* query.c: the query string, decoded and checked against the names a route allows. */
#include "registry/query.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "registry/problem.h"
#include "registry/validate.h"

static int
name_allowed(const char *const *allowed, const char *name)
{
    for (; allowed != NULL && *allowed != NULL; allowed++) {
        if (strcmp(*allowed, name) == 0) {
            return 1;
        }
    }
    return 0;
}

static int
hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes a query-string component in place ('+' is a space, %XX a byte): returns the length
 * decoded, or -1 when a '%' is not followed by two hexadecimal digits. Decoding never lengthens;
 * a decoded NUL shows as a length shorter than strlen. */
static int
query_decode(char *s)
{
    char *start = s, *out = s;

    for (; *s != '\0'; s++) {
        if (*s == '%') {
            int hi = hex_digit(s[1]), lo = hi >= 0 ? hex_digit(s[2]) : -1;
            if (lo < 0) {
                return -1;
            }
            *out++ = (char)(hi * 16 + lo);
            s += 2;
        } else {
            *out++ = *s == '+' ? ' ' : *s;
        }
    }
    *out = '\0';
    return (int)(out - start);
}

/* Parses the query string into `q`; a name outside `allowed` is refused (400), or skipped when
 * `skip_unknown` (pages: a link may carry a campaign's tracking parameters). */
static int
parse_query(struct req *r, const char *const *allowed, struct query *q, int skip_unknown)
{
    const char *src = r->query;
    char *p, *next;
    size_t len;
    int i;

    memset(q, 0, sizeof(*q));
    if (src == NULL || *src == '\0') {
        return 0;
    }
    len = strlen(src);
    q->buf = malloc(len + 1);
    if (q->buf == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    memcpy(q->buf, src, len + 1);
    for (p = q->buf; p != NULL; p = next) {
        char *eq, *name, *value;
        int nlen, vlen;

        next = strchr(p, '&');
        if (next != NULL) {
            *next++ = '\0';
        }
        if (*p == '\0') {
            continue;
        }
        eq = strchr(p, '=');
        name = p;
        value = eq != NULL ? eq + 1 : p + strlen(p);
        if (eq != NULL) {
            *eq = '\0';
        }
        /* Decode in place: decoding never lengthens. A %00 would hide the rest, so refuse it. */
        nlen = query_decode(name);
        if (nlen < 0 || (size_t)nlen != strlen(name) || validate_utf8_len(name) < 0) {
            return problem_send(r, PROBLEM_BAD_REQUEST,
                                nlen == -1 ? "the query string has a malformed percent-escape "
                                             "(write %%XX, two hexadecimal digits)"
                                           : "the query string is not valid UTF-8 text");
        }
        if (!name_allowed(allowed, name)) {
            if (skip_unknown) {
                continue;
            }
            return problem_send(r, PROBLEM_BAD_REQUEST, "unknown query parameter '%.60s'", name);
        }
        vlen = query_decode(value);
        if (vlen == -1) {
            return problem_send(r, PROBLEM_BAD_REQUEST,
                                "%s: a malformed percent-escape (write %%XX, two hexadecimal "
                                "digits)",
                                name);
        }
        if ((size_t)vlen != strlen(value) || validate_utf8_len(value) < 0) {
            return problem_send(r, PROBLEM_BAD_REQUEST, "%s: not valid UTF-8 text, or holds a NUL",
                                name);
        }
        for (i = 0; i < q->n; i++) {
            if (strcmp(q->items[i].name, name) == 0) {
                return problem_send(r, PROBLEM_BAD_REQUEST, "query parameter '%s' given twice",
                                    name);
            }
        }
        if (q->n == HTTP_MAX_QUERY) {
            return problem_send(r, PROBLEM_BAD_REQUEST, "too many query parameters");
        }
        q->items[q->n].name = name;
        q->items[q->n].value = value;
        q->n++;
    }
    return 0;
}

int
http_query_or_problem(struct req *r, const char *const *allowed, struct query *q)
{
    return parse_query(r, allowed, q, 0);
}

int
http_query_page_or_problem(struct req *r, const char *const *allowed, struct query *q)
{
    return parse_query(r, allowed, q, 1);
}

const char *
query_get(const struct query *q, const char *name)
{
    int i;

    for (i = 0; i < q->n; i++) {
        if (strcmp(q->items[i].name, name) == 0) {
            return q->items[i].value;
        }
    }
    return NULL;
}

void
query_cleanup(struct query *q)
{
    free(q->buf);
    q->buf = NULL;
    q->n = 0;
}
