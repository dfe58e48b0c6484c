/* variants.h: GET /v1/programme-variants, the programme variants a run may be. */
#ifndef REGISTRY_VARIANTS_H
#define REGISTRY_VARIANTS_H

#include "registry/db.h"
#include "registry/http.h"
#include "registry/resource.h"

extern const struct db_stmt variants_stmts[];
extern const struct resource variant_resource;

#endif
