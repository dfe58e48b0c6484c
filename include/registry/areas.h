/* areas.h: GET /v1/local-authorities, the districts the registry knows (areas.c). */
#ifndef REGISTRY_AREAS_H
#define REGISTRY_AREAS_H

#include "registry/db.h"
#include "registry/resource.h"

extern const struct db_stmt areas_stmts[];
extern const struct resource area_resource;

#endif
