/* metrics.h: GET /metrics in the Prometheus text exposition format 0.0.4, and the counters the
 * rest of the server bumps on its way (each a relaxed atomic add: next to nothing per request). */
#ifndef REGISTRY_METRICS_H
#define REGISTRY_METRICS_H

#include <stddef.h>

#include "registry/config.h"
#include "registry/http.h"

#define METRICS_ROUTES_MAX 256 /* route table entries that get their own series */

/* Reads REGISTRY_METRICS_ALLOW (IPv4 addresses, or "none") and the token in
 * REGISTRY_METRICS_TOKEN_FILE, and notes the start time. Returns 0, or -1 with one line in `err`
 * (an address that is not IPv4, a token file unreadable, empty or shorter than 16 characters). */
int metrics_init(const struct config *c, char *err, size_t errlen);

/* One finished request: `route` is its index in the route table (-1: none matched). */
void metrics_request(int route, int status, long long duration_us);

/* One bearer token checked: valid (1) or not (0). */
void metrics_token(int valid);

/* One webhook delivery attempt recorded with outcome "delivered", "retry" or "dead". */
void metrics_webhook(const char *outcome);

/* The webhook outbox's pending messages, as last counted by the webhook worker. */
void metrics_outbox_depth(long long n);

/* GET /metrics: answers only a direct connection from an allowed address, or a request with
 * the token; anyone else gets the same 404 as an unknown path. */
int metrics_get(struct req *r);

#endif
