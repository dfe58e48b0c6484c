/* outcomes.h: /v1/programmes/{id}/outcomes[/{measure_code}], a run's outcome scores as
 * sufficient statistics only (outcomes.c). */
#ifndef REGISTRY_OUTCOMES_H
#define REGISTRY_OUTCOMES_H

#include "registry/db.h"
#include "registry/http.h"
#include "registry/stats.h"

extern const struct db_stmt outcomes_stmts[];

/* Sets on `o` the summary of `s` (one run's sums, or many runs' combined): `sums`, and when
 * n >= 1 mean_before, mean_after, mean_change, change and improved (by higher_is_better), from
 * n = 2 sd_change, ci95, p_value and significant, and effect_size_dz when the changes vary. */
void outcomes_summary_set(json_t *o, const struct outcome_sums *s, int higher_is_better);

/* GET /v1/programmes/{id}/outcomes: {items}, the summary of every measure the run holds. */
int outcomes_list(struct req *r);
/* GET /v1/programmes/{id}/outcomes/{measure_code}: one summary, with its ETag. */
int outcomes_get(struct req *r);
/* PUT /v1/programmes/{id}/outcomes/{measure_code}: the run's pairs, reduced on arrival. */
int outcomes_put(struct req *r);

#endif
