/* variants.c: GET /v1/programme-variants. The variants of M-PACT a run may be (the table
 * programme_variant): code, title, sessions and min_facilitators, ordered by code, as one page
 * ({items, next_cursor: null}; CSV with Accept: text/csv). Any signed-in user or API client with
 * programmes:read; no query parameters. A read-only resource is this: its SQL and its
 * descriptor (resource.h). */
#include "registry/variants.h"

#include "registry/resource.h"

const struct db_stmt variants_stmts[] = {
    {"variants_list",
     "SELECT code, title, sessions, min_facilitators FROM programme_variant ORDER BY code"},
    {NULL, NULL},
};

/* No filters and no sort key: the list is one page. */
const struct resource variant_resource = {
    .name = "programme variant",
    .stmt = "variants",
};
