/* openreferral.h: the Open Referral UK (HSDS) feed (openreferral.c). */
#ifndef REGISTRY_OPENREFERRAL_H
#define REGISTRY_OPENREFERRAL_H

#include "registry/db.h"
#include "registry/http.h"

extern const struct db_stmt openreferral_stmts[];
int openreferral_info(struct req *r);     /* GET /openreferral/ */
int openreferral_services(struct req *r); /* GET /openreferral/services */
int openreferral_service(struct req *r);  /* GET /openreferral/services/{id} */
int openreferral_service_at_locations(
    struct req *r); /* GET /openreferral/service_at_locations?postcode=&proximity= */
int openreferral_organizations(struct req *r); /* GET /openreferral/organizations */

#endif
