/* openreferral.h: the Open Referral UK (HSDS 3.0 UK profile) feed (openreferral.c). */
#ifndef REGISTRY_OPENREFERRAL_H
#define REGISTRY_OPENREFERRAL_H

#include "registry/db.h"
#include "registry/http.h"

extern const struct db_stmt openreferral_stmts[];

/* GET /openreferral/ and GET /openreferral (301 to the former). */
int openreferral_info(struct req *r);
int openreferral_redirect(struct req *r);
/* GET /openreferral/services and /openreferral/services/{id}. */
int openreferral_services(struct req *r);
int openreferral_service(struct req *r);
/* GET /openreferral/service_at_locations?postcode=&proximity= and .../{id}. */
int openreferral_service_at_locations(struct req *r);
int openreferral_service_at_location(struct req *r);
/* GET /openreferral/organizations and .../{id}. */
int openreferral_organizations(struct req *r);
int openreferral_organization(struct req *r);
/* GET /openreferral/taxonomies, .../{id}, /openreferral/taxonomy_terms and .../{id}. */
int openreferral_taxonomies(struct req *r);
int openreferral_taxonomy(struct req *r);
int openreferral_taxonomy_terms(struct req *r);
int openreferral_taxonomy_term(struct req *r);

#endif
