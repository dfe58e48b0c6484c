/* delivery.h: GET and PUT /v1/programmes/{id}/delivery, the aggregate record of what a programme
 * run delivered (delivery.c). */
#ifndef REGISTRY_DELIVERY_H
#define REGISTRY_DELIVERY_H

#include "registry/db.h"
#include "registry/resource.h"

extern const struct db_stmt delivery_stmts[];
extern const struct resource run_delivery_resource;

#endif
