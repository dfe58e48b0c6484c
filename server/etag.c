/* etag.c: entity tags: a row version's ETag and If-Match on a change; the cached answers of the
 * open routes and pages, with If-None-Match. */
#include "registry/etag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "registry/codec.h"
#include "registry/jsonout.h"
#include "registry/problem.h"

/* 1 when If-None-Match names `etag` (or is *). Weak comparison, as RFC 9110 asks for GET. */
static int
none_match(const char *inm, const char *etag)
{
    const char *p = inm, *tag = etag;
    size_t tl;

    if (strncmp(tag, "W/", 2) == 0) {
        tag += 2;
    }
    tl = strlen(tag);
    while (*p != '\0') {
        const char *end;
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == '*') {
            return 1;
        }
        if (strncmp(p, "W/", 2) == 0) {
            p += 2;
        }
        end = p;
        while (*end != '\0' && *end != ',') {
            end++;
        }
        while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }
        if ((size_t)(end - p) == tl && memcmp(p, tag, tl) == 0) {
            return 1;
        }
        while (*end != '\0' && *end != ',') {
            end++;
        }
        p = end;
    }
    return 0;
}

int
http_send_cached(struct req *r,
                 const char *content_type,
                 const char *body,
                 size_t len,
                 const char *cache_control,
                 const char *etag)
{
    unsigned char digest[32];
    char hex[65], made[72];
    const char *inm = http_header(r, "If-None-Match");

    if (etag == NULL) {
        codec_sha256(body, len, digest);
        codec_hex(digest, 16, hex);
        snprintf(made, sizeof(made), "\"%s\"", hex);
        etag = made;
    }
    http_add_header(r, "ETag", etag);
    http_add_header(r, "Cache-Control", cache_control);
    if (inm != NULL && none_match(inm, etag)) {
        return http_send_empty(r, 304);
    }
    return http_send(r, 200, content_type, body, len);
}

int
http_send_public(struct req *r, const char *content_type, const char *body, size_t len)
{
    http_add_header(r, "Vary", "Accept");
    return http_send_cached(r, content_type, body, len,
                            r->cache_private ? "private, max-age=60" : "public, max-age=60", NULL);
}

int
http_send_public_json(struct req *r, json_t *body)
{
    size_t len = 0;
    char *text = jsonout_dump(body, &len);
    int status;

    if (text == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    status = http_send_public(r, "application/json; charset=utf-8", text, len);
    free(text);
    return status;
}

int
http_send_resource(struct req *r, int status, json_t *body, const char *version)
{
    char etag[48];

    snprintf(etag, sizeof(etag), "\"%s\"", version);
    http_add_header(r, "ETag", etag);
    return http_send_json(r, status, body);
}

int
http_if_match_or_problem(struct req *r, const char *version)
{
    const char *im = http_header(r, "If-Match");
    char want[48];
    const char *p;
    size_t wl;

    if (im == NULL) {
        return problem_send(r, PROBLEM_PRECONDITION_REQUIRED,
                            "send If-Match with the ETag from your last GET of this resource");
    }
    snprintf(want, sizeof(want), "\"%s\"", version);
    wl = strlen(want);
    /* A list of entity tags; strong comparison, so weak tags (W/"...") never match. */
    for (p = im; *p != '\0';) {
        const char *end;
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        if (*p == '*' && (p[1] == '\0' || p[1] == ',' || p[1] == ' ')) {
            return 0;
        }
        end = p;
        if (*p == '"') {
            end = strchr(p + 1, '"');
            end = end != NULL ? end + 1 : p + strlen(p);
        } else {
            while (*end != '\0' && *end != ',') {
                end++;
            }
        }
        if ((size_t)(end - p) == wl && memcmp(p, want, wl) == 0) {
            return 0;
        }
        p = end;
    }
    return problem_send(r, PROBLEM_PRECONDITION_FAILED,
                        "the resource changed since you read it; GET it again and retry");
}
