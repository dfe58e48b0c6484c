/* refdata.h: /v1/reference-items and /v1/outcome-measures, the licensing body's lists a delivery
 * record counts by (refdata.c). */
#ifndef REGISTRY_REFDATA_H
#define REGISTRY_REFDATA_H

#include "registry/db.h"
#include "registry/resource.h"

extern const struct db_stmt refdata_stmts[];
extern const struct resource refitem_resource;
extern const struct resource measure_resource;

#endif
