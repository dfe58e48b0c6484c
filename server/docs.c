/* docs.c: GET /openapi.json, the OpenAPI 3.1 description of every route (static/openapi.json,
 * kept true by tests/unit/test_openapi.c and the openapi.* tests). /docs (pages.c) draws it with
 * our own module, assets/js/docs.js, in GOV.UK Frontend markup; an external module with no inline
 * script or style, so the strict page policy holds there too. */
#include "registry/docs.h"

#include "registry/static.h"

int
docs_openapi(struct req *r)
{
    /* Cacheable for five minutes: it changes only with a new release. */
    return static_send(r, "openapi.json", "public, max-age=300");
}
