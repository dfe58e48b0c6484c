/* settings.h: GET and PUT /v1/settings/{name}, the licensing body's single-row settings
 * (settings.c). */
#ifndef REGISTRY_SETTINGS_H
#define REGISTRY_SETTINGS_H

#include <stddef.h>

#include <jansson.h>

#include "registry/db.h"
#include "registry/http.h"

extern const struct db_stmt settings_stmts[];
int settings_get(struct req *r); /* GET /v1/settings/{name} */
int settings_put(struct req *r); /* PUT /v1/settings/{name} */

/* The central contact as the public sees it: a new reference to an object (name, phone, email,
 * web_chat_url, opening_hours), json_null() when none is set, or NULL on a database error (the
 * failure is the caller's to answer). `feedback` (may be NULL) gets the beta banner's feedback
 * address, or "". */
json_t *settings_central_contact(struct db_conn *db, char *feedback, size_t feedbacklen);

#endif
