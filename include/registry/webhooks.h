/* webhooks.h: signed webhooks. Subscriptions (their routes), the outbox a change writes
 * in its own transaction, and the background worker that delivers it. */
#ifndef REGISTRY_WEBHOOKS_H
#define REGISTRY_WEBHOOKS_H

#include <stddef.h>

#include <jansson.h>

#include "registry/config.h"
#include "registry/db.h"
#include "registry/http.h"
#include "registry/resource.h"

#define WEBHOOKS_SECRET_BYTES 32 /* random bytes behind "whsec_" */

/* The routes of /v1/webhooks. */
extern const struct db_stmt webhooks_stmts[];
extern const struct resource webhook_resource;
extern const struct resource delivery_resource; /* GET /v1/webhooks/{id}/deliveries */
int webhooks_create(struct req *r);             /* POST /v1/webhooks */

/* Writes one outbox row for `event` per active subscription to it, inside the caller's open
 * transaction (a rollback sends nothing; a commit loses nothing). `subject_id` names the row the
 * event is about: a facilitator (facilitator.status_changed), a licence (licence.status_changed)
 * or a programme run (programme.changed). The data sent, and the organisation whose subscribers
 * get it, are read from the database as the transaction now sees them, so only what the
 * subscriber may see goes out. `before` (borrowed; NULL on create) is the subject as it was: for
 * *.status_changed nothing is written unless its "status" differs from the current one, and it
 * gives previous_status. Returns 0, or the status of the problem already sent. */
int webhooks_enqueue(struct req *r, const char *event, const char *subject_id, json_t *before);

/* The expiry job's part (scheduler.c), in its transaction on `c`: enqueues
 * facilitator.accreditation_expiring and licence.expiring for what ends 30 and 7 days from today,
 * once each. Returns 0, or -1 with *res the failed result (the caller clears it). */
int webhooks_enqueue_expiring(struct db_conn *c, PGresult **res);

/* Wakes the delivery worker to look for due messages now (after the expiry job enqueued some). */
void webhooks_kick(void);

/* Starts the delivery worker (one thread) on the pool; call after db_pool_init, with the stop
 * signals already blocked. Returns 0, or -1 after one line on stderr. */
int webhooks_start(const struct config *c);

/* Asks the worker to stop and joins it; call before db_pool_close. Safe when never started. */
void webhooks_stop(void);

/* "v1," + base64(HMAC-SHA256(secret bytes, id "." timestamp "." body)) into `out`, where the
 * secret bytes are the base64 after "whsec_". Returns 0, or -1 on a malformed secret or a short
 * `out` (64 bytes is enough). Pure: exposed for tests. */
int webhooks_sign(const char *secret,
                  const char *id,
                  const char *timestamp,
                  const char *body,
                  size_t bodylen,
                  char *out,
                  size_t outlen);

/* POSTs `body` once to `url` (https only, the target checked as for subscriptions), signed
 * with `secret` as webhook-id `msg_id`, for deliveries that must not wait in the webhook outbox
 * (enquiry.received: enquiries.c). Returns 0 on a 2xx, else -1 with *code (0 when no response
 * came) and a transport error in `err`. Holds no database connection. */
int webhooks_post_once(const char *url,
                       const char *secret,
                       const char *msg_id,
                       const char *body,
                       long *code,
                       char *err,
                       size_t errlen);

/* 1 when `host:port` is named in the comma-separated list `allow` (NULL: empty). */
int webhooks_host_allowed(const char *allow, const char *host, long port);

/* 1 when the textual IPv4 or IPv6 address is public (not private, loopback, link-local,
 * multicast, documentation, shared or otherwise reserved). */
int webhooks_addr_public(const char *addr);

#endif
