/* outcomes.h: /v1/programmes/{id}/outcomes[/{measure_code}], a run's outcome scores as
 * sufficient statistics only (outcomes.c). */
#ifndef REGISTRY_OUTCOMES_H
#define REGISTRY_OUTCOMES_H

#include "registry/db.h"
#include "registry/http.h"

extern const struct db_stmt outcomes_stmts[];

/* GET /v1/programmes/{id}/outcomes: {items}, the summary of every measure the run holds. */
int outcomes_list(struct req *r);
/* GET /v1/programmes/{id}/outcomes/{measure_code}: one summary, with its ETag. */
int outcomes_get(struct req *r);
/* PUT /v1/programmes/{id}/outcomes/{measure_code}: the run's pairs, reduced on arrival. */
int outcomes_put(struct req *r);

#endif
