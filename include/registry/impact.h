/* impact.h: GET /v1/reports/delivery, the impact report (impact.c). */
#ifndef REGISTRY_IMPACT_H
#define REGISTRY_IMPACT_H

#include "registry/db.h"
#include "registry/http.h"

extern const struct db_stmt impact_stmts[];
int impact_report(struct req *r); /* GET /v1/reports/delivery */
/* GET /v1/public/impact: programme-wide figures by year and since the start, small numbers
 * withheld (suppress.c), with the licensing body's totals from before the registry. */
int impact_public(struct req *r);

#endif
