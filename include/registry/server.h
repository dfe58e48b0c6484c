/* server.h: the `serve` subcommand: CivetWeb, the database pool and the signing keys. */
#ifndef REGISTRY_SERVER_H
#define REGISTRY_SERVER_H

#include "registry/config.h"

/* Starts the HTTP server and blocks until SIGTERM or SIGINT, then stops accepting, finishes
 * requests in flight and returns 0. Returns 1 with one line on stderr when it cannot start. */
int server_run(const struct config *c);

#endif
