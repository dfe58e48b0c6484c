/* facilitators.h: /v1/facilitators, their eligibility, the status check, employment requests and
 * scheduled status changes. */
#ifndef REGISTRY_FACILITATORS_H
#define REGISTRY_FACILITATORS_H

#include "registry/db.h"
#include "registry/http.h"
#include "registry/resource.h"

extern const struct db_stmt facilitators_stmts[];

/* SQL: the status a client sees of facilitator `f`: accredited past accredited_until is lapsed,
 * computed on every read and never stored. */
#define FAC_STATUS                                                                                 \
    "CASE WHEN f.status = 'accredited' AND f.accredited_until < registry_today() THEN 'lapsed'"    \
    " ELSE f.status END"
extern const struct resource fac_new_resource; /* POST /v1/facilitators */
extern const struct resource fac_resource; /* PATCH /v1/facilitators/{id} (facilitators_update) */
/* An employment request: asked for (fer_new_resource) and listed (fer_resource). */
extern const struct resource fer_new_resource, fer_resource;
int facilitators_list(struct req *r); /* GET /v1/facilitators */
/* GET /v1/facilitators/{id}: a UUID, or a registration number (MPF-...) */
int facilitators_get(struct req *r);
int facilitators_update(struct req *r); /* PATCH /v1/facilitators/{id} */
/* GET /v1/facilitators/{id}/eligibility?on=YYYY-MM-DD */
int facilitators_eligibility(struct req *r);
int facilitators_status_check(struct req *r); /* POST /v1/facilitators/status-check */
/* POST and GET /v1/facilitators/{id}/employment-requests, GET and PATCH .../{request id}. */
int facilitators_employment_request_create(struct req *r);
int facilitators_employment_requests_list(struct req *r);
int facilitators_employment_request_get(struct req *r);
int facilitators_employment_request_update(struct req *r);
#endif
