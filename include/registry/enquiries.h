/* enquiries.h: "Ask about a place" (enquiries.c): POST /v1/public/enquiries and its HTML form
 * (/find/ask), the encrypted outbox and its delivery worker, and the counts that stay. */
#ifndef REGISTRY_ENQUIRIES_H
#define REGISTRY_ENQUIRIES_H

#include "registry/config.h"
#include "registry/db.h"
#include "registry/http.h"

extern const struct db_stmt enquiries_stmts[];

int enquiries_create(struct req *r);    /* POST /v1/public/enquiries */
int enquiries_report(struct req *r);    /* GET /v1/reports/enquiries */
int enquiries_form(struct req *r);      /* GET /find/ask?site=...[&run=...] */
int enquiries_form_post(struct req *r); /* POST /find/ask (application/x-www-form-urlencoded) */

/* 1 when the registry relays enquiries (REGISTRY_ENQUIRIES=1 and the key loaded). */
int enquiries_enabled(void);

/* Loads the key (REGISTRY_ENQUIRY_KEY_FILE) and the mail relay, and starts the delivery worker,
 * when REGISTRY_ENQUIRIES is 1; nothing otherwise. Call after db_pool_init with the stop signals
 * blocked. Returns 0, or -1 after one line in the log (a missing or short key stops start-up). */
int enquiries_start(const struct config *c);

/* Stops the worker and wipes the key; safe when never started. */
void enquiries_stop(void);

#endif
