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
int openreferral_organization(struct req *r);  /* GET /openreferral/organizations/{id} */
int
openreferral_service_at_location(struct req *r); /* GET /openreferral/service_at_locations/{id} */
int openreferral_taxonomies(struct req *r);      /* GET /openreferral/taxonomies */
int openreferral_taxonomy(struct req *r);        /* GET /openreferral/taxonomies/{id} */
int openreferral_taxonomy_terms(struct req *r);  /* GET /openreferral/taxonomy_terms */
int openreferral_taxonomy_term(struct req *r);   /* GET /openreferral/taxonomy_terms/{id} */
int openreferral_redirect(struct req *r);        /* GET /openreferral: 301 to /openreferral/ */

#endif
