/* static.h: files served from REGISTRY_STATIC_DIR (front-end assets, the API description). */
#ifndef REGISTRY_STATIC_H
#define REGISTRY_STATIC_H

#include "registry/http.h"

/* The Content-Type for a file name by its extension, or NULL when it is not one we serve. */
const char *static_content_type(const char *path);

/* 1 when `rel` (a path under the static folder, no leading slash) may be served: segments of
 * [A-Za-z0-9._-] not starting with '.' or '-', no empty segment, a known extension. */
int static_path_ok(const char *rel);

/* Sends the file `rel` under the static folder with `cache_control` and an ETag (304 on a
 * match); 404 problem when the path is refused or there is no such regular file. */
int static_send(struct req *r, const char *rel, const char *cache_control);

int static_asset(struct req *r); /* GET /assets/{*} */

#endif
