/* static.h: files served from REGISTRY_STATIC_DIR (front-end assets, the API description). */
#ifndef REGISTRY_STATIC_H
#define REGISTRY_STATIC_H

#include "registry/http.h"

/* The Content-Type for a file name by its extension, or NULL when it is not one we serve. */
const char *static_content_type(const char *path);

/* 1 when `rel` (a path under the static folder, no leading slash) may be served: segments of
 * [A-Za-z0-9._-] not starting with '.' or '-', no empty segment, a known extension. */
int static_path_ok(const char *rel);

/* Sends the file `rel` under the static folder with `cache_control` (a hashed name of the build:
 * immutable, a year) and an ETag (304 on a match), gzip-encoded from its .gz when the client
 * accepts it; 404 problem when the path is refused or there is no such regular file. */
int static_send(struct req *r, const char *rel, const char *cache_control);

/* The longest URL static_url writes, NUL included. */
#define STATIC_URL_MAX 600

/* Writes into `out` the URL a page should link to for the asset `url` ("/assets/app.css"): its
 * content-hashed name from the build's asset-names.json ("/assets/app.3f2a9c1e.css", served as
 * immutable), or `url` itself when there is none (WEB_ASSETS=OFF). Thread-safe. */
void static_url(const char *url, char out[STATIC_URL_MAX]);

/* 1 when an Accept-Encoding header value takes gzip ("gzip", "x-gzip" or "*" with a q-value
 * above 0; a named gzip wins over "*"); 0 for NULL. */
int static_accepts_gzip(const char *accept_encoding);

int static_asset(struct req *r); /* GET /assets/{*} */

#endif
