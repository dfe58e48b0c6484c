/* delivery.h: GET and PUT /v1/programmes/{id}/delivery, the aggregate record of what a programme
 * run delivered (delivery.c). */
#ifndef REGISTRY_DELIVERY_H
#define REGISTRY_DELIVERY_H

#include "registry/db.h"
#include "registry/resource.h"

extern const struct db_stmt delivery_stmts[];
extern const struct resource run_delivery_resource;

/* Appends to `errors` the rules broken between the figures of `cand` (a run's figures as they
 * would be; absent or null figures are not compared): referred >= assessed >= started >=
 * completed, started <= capacity_families, at least one adult and one child a family started,
 * sessions_delivered <= sessions_planned. Each error names its field and rule. */
void delivery_figure_errors(json_t *cand, json_t *errors);

/* Adds run_not_running_or_completed (naming `what`: "delivery record is") to `errors` unless a
 * run of `status` is running or completed: only then is what it delivered recorded. */
void delivery_run_open(const char *status, const char *what, json_t *errors);

/* The completion PATCH's part (programmes.c), in its transaction: the stored record of run
 * `run_id` with the figures of `changes` applied still adds up (its breakdowns, by whatever codes
 * it holds) and counts at least the answers of the run's outcome statistics. Appends to
 * `errors`; returns 0, or the status of the problem sent when the database failed. */
int delivery_figures_check(struct req *r, const char *run_id, json_t *changes, json_t *errors);

#endif
