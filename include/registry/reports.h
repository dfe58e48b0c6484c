/* reports.h: the licensing body's reports (reports.c). */
#ifndef REGISTRY_REPORTS_H
#define REGISTRY_REPORTS_H

#include "registry/db.h"
#include "registry/http.h"

extern const struct db_stmt reports_stmts[];
int reports_summary(struct req *r);  /* GET /v1/reports/summary */
int reports_expiring(struct req *r); /* GET /v1/reports/expiring?within_days=60 */

#endif
