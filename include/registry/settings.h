/* settings.h: GET and PUT /v1/settings/{name}, the licensing body's single-row settings
 * (settings.c). */
#ifndef REGISTRY_SETTINGS_H
#define REGISTRY_SETTINGS_H

#include "registry/db.h"
#include "registry/http.h"

extern const struct db_stmt settings_stmts[];
int settings_get(struct req *r); /* GET /v1/settings/{name} */
int settings_put(struct req *r); /* PUT /v1/settings/{name} */

#endif
