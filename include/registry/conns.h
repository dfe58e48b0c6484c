/* conns.h: keeps idle and slow sockets from holding CivetWeb's worker threads: a cap on the
 * connections one client address may hold open, and a header timeout (from accept to a whole
 * request head) shorter than CivetWeb's request timeout. */
#ifndef REGISTRY_CONNS_H
#define REGISTRY_CONNS_H

#include <stddef.h>

#include "registry/config.h"

struct mg_connection;

/* Arms the guard for the server's accepted sockets and starts its watchdog thread, with the cap
 * (c->conns_per_address, 0: none; c->trusted_proxy is exempt) and c->header_timeout_ms. Call
 * before mg_start. Returns 0, or -1 with one line in `err`. */
int conns_start(const struct config *c, char *err, size_t errlen);

/* Stops the watchdog and disarms the guard; call before mg_stop. Safe when never started. */
void conns_stop(void);

/* CivetWeb callbacks (struct mg_callbacks), registered by server.c. */
int conns_begin_request(struct mg_connection *conn);
void conns_connection_close(const struct mg_connection *conn);

#endif
