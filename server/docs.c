/* docs.c: GET /openapi.json, the OpenAPI 3.1 description of every route (static/openapi.json,
 * kept true by tests/unit/test_openapi.c and the openapi.* tests). /docs (pages.c) draws it with
 * Swagger UI from the served assets; Swagger UI needs no inline script or style element, so the
 * strict page policy holds there too. */
#include "registry/docs.h"

#include "registry/static.h"

int
docs_openapi(struct req *r)
{
    /* Cacheable for five minutes: it changes only with a new release. */
    return static_send(r, "openapi.json", "public, max-age=300");
}
