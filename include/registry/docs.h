/* docs.h: the API description (static/openapi.json) and its rendering at /docs. */
#ifndef REGISTRY_DOCS_H
#define REGISTRY_DOCS_H

#include "registry/http.h"

int docs_openapi(struct req *r); /* GET /openapi.json */

#endif
