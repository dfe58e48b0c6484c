/* etag.h: entity tags: row versions and If-Match, cached answers and If-None-Match
 * (etag.c). */
#ifndef REGISTRY_ETAG_H
#define REGISTRY_ETAG_H

#include <stddef.h>

#include <jansson.h>

#include "registry/http.h"

/* Sends `body` (borrowed) with an ETag for row version `version`. Returns `status`. */
int http_send_resource(struct req *r, int status, json_t *body, const char *version);

/* Sends a public, cacheable 200: an ETag from the body's digest, Cache-Control public
 * max-age=60 and Access-Control-Allow-Origin *; answers 304 when If-None-Match matches. */
int http_send_public(struct req *r, const char *content_type, const char *body, size_t len);
int http_send_public_json(struct req *r, json_t *body); /* borrows body */

/* Sends a 200 with `cache_control` and an ETag (`etag` as given, quoted; NULL: from the body's
 * digest); answers 304 when If-None-Match matches. */
int http_send_cached(struct req *r,
                     const char *content_type,
                     const char *body,
                     size_t len,
                     const char *cache_control,
                     const char *etag);

/* Checks If-Match against the current version: 428 when absent, 412 when it differs.
 * Returns 0 when it matches, or the status of the problem already sent. */
int http_if_match_or_problem(struct req *r, const char *version);

#endif
