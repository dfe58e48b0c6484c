/* pages.h: the public pages (HTML) and the console, portal and docs shells (pages.c). */
#ifndef REGISTRY_PAGES_H
#define REGISTRY_PAGES_H

#include <jansson.h>

#include "registry/http.h"

int pages_home(struct req *r);     /* GET / */
int pages_find(struct req *r);     /* GET /find?postcode=&radius= | lat=&lon=&radius= */
int pages_check(struct req *r);    /* GET /check?q=<registration number or name> */
int pages_impact(struct req *r);   /* GET /impact: what M-PACT has achieved (impact.c's figures) */
int pages_console(struct req *r);  /* GET /console */
int pages_portal(struct req *r);   /* GET /portal */
int pages_docs(struct req *r);     /* GET /docs */
int pages_feedback(struct req *r); /* GET /feedback: where the beta banner's feedback goes */

struct html;

/* Writes the licensing body's central contact (settings_central_contact's object, or null: then
 * where else a family can ask) as an inset, after `lead` (trusted markup, or NULL). */
void pages_central_contact(struct html *h, json_t *contact, const char *lead);

#endif
