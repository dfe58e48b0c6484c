/* health.h: liveness, readiness and the problem pages (health.c). */
#ifndef REGISTRY_HEALTH_H
#define REGISTRY_HEALTH_H

#include "registry/db.h"
#include "registry/http.h"

extern const struct db_stmt health_stmts[];
int health_live(struct req *r);         /* GET /healthz */
int health_ready(struct req *r);        /* GET /readyz */
int health_problem_page(struct req *r); /* GET /problems/{slug} */

#endif
