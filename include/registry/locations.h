/* locations.h: /v1/locations, the sites where licensees deliver M-PACT. */
#ifndef REGISTRY_LOCATIONS_H
#define REGISTRY_LOCATIONS_H

#include "registry/db.h"
#include "registry/http.h"
#include "registry/resource.h"

extern const struct db_stmt locations_stmts[];
extern const struct resource loc_resource;

#endif
