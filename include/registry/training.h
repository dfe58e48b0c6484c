/* training.h: /v1/training-sessions, their enrolments and the outcomes POST. */
#ifndef REGISTRY_TRAINING_H
#define REGISTRY_TRAINING_H

#include "registry/db.h"
#include "registry/http.h"
#include "registry/resource.h"

extern const struct db_stmt training_stmts[];
extern const struct resource session_resource, enrolment_resource;
int enrolments_create(struct req *r); /* POST /v1/training-sessions/{id}/enrolments */
int enrolments_get(struct req *r);    /* GET /v1/training-sessions/{id}/enrolments/{eid} */
int enrolments_update(struct req *r); /* PATCH /v1/training-sessions/{id}/enrolments/{eid} */
int training_outcomes(struct req *r); /* POST /v1/training-sessions/{id}/outcomes */

#endif
