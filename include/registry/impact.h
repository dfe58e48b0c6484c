/* impact.h: GET /v1/reports/delivery, the impact report (impact.c). */
#ifndef REGISTRY_IMPACT_H
#define REGISTRY_IMPACT_H

#include <jansson.h>

#include "registry/db.h"
#include "registry/http.h"
#include "registry/public.h"

extern const struct db_stmt impact_stmts[];
int impact_report(struct req *r); /* GET /v1/reports/delivery */
/* GET /v1/public/impact: programme-wide figures by year and since the start, small numbers
 * withheld (suppress.c), with the licensing body's totals from before the registry. */
int impact_public(struct req *r);
/* The figures GET /v1/public/impact answers, for it and the page /impact (pages.c): {years,
 * since_start, suppressed, before_registry}. Returns a new reference, or NULL with `e` set
 * (PUBLIC_DB_ERROR or PUBLIC_INTERNAL). */
json_t *impact_public_figures(struct db_conn *db, struct public_error *e);
/* Drops the kept public figures (REGISTRY_PUBLIC_FIGURES_CACHE_S): the next request computes
 * them, e.g. after the history is edited. */
void impact_public_forget(void);

#endif
