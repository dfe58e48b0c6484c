/* programmes.h: /v1/programmes, programme runs (their calendar, completion and at-risk rules in
 * programmes.c). */
#ifndef REGISTRY_PROGRAMMES_H
#define REGISTRY_PROGRAMMES_H

#include "registry/db.h"
#include "registry/http.h"
#include "registry/resource.h"

extern const struct db_stmt programmes_stmts[];
extern const struct resource programme_resource;
/* Enqueues programme.at_risk for each run of facilitator `facilitator_id` now at risk (their
 * stored status suspended or withdrawn), in the caller's transaction. Returns 0, or the status of
 * the problem already sent. */
int programmes_flag_at_risk(struct req *r, const char *facilitator_id);

#endif
