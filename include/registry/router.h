/* router.h: every route in one table, with who may call it. */
#ifndef REGISTRY_ROUTER_H
#define REGISTRY_ROUTER_H

#include "registry/db.h"
#include "registry/http.h"
#include "registry/resource.h"

enum access {
    ACCESS_PUBLIC, /* no account needed */
    ACCESS_OPEN,   /* no account, internet-facing: rate limited per client, CORS for any origin */
    ACCESS_USER,   /* any signed-in user (admin or licensee); the handler narrows further */
    ACCESS_ADMIN,  /* the licensing body only */
};

typedef int (*route_fn)(struct req *r);

#define ROUTE_DB           1u /* the router borrows a database connection for the handler */
#define ROUTE_REPLICA_OK   2u /* with ROUTE_DB: read-only, may be served from the read replica */
#define ROUTE_DB_READ      (ROUTE_DB | ROUTE_REPLICA_OK)
#define ROUTE_COMMISSIONER 4u /* a commissioner may call it (they may call nothing else) */

struct route {
    const char *method;
    const char *pattern; /* "/v1/organisations/{}": each {} is one path segment parameter;
                          * a final {*} takes the rest of the path, slashes included */
    route_fn handler;    /* the room's own handler; NULL when the route names a descriptor: */
    const struct resource *resource; /* ... the generic handler `verb` serves this resource */
    enum resource_verb verb;
    enum access access;
    const char *scope; /* the scope an API client's token needs here; NULL: no API client may */
    unsigned flags;    /* ROUTE_* */
};

/* The CivetWeb request handler for "/": routes, authenticates, borrows a database
 * connection when the route needs one, calls the handler and logs the request. */
int router_handle(struct mg_connection *conn, void *cbdata);

/* Gives the request's database connection back to the pool while slow work runs (a password
 * hash), so that work never holds one. Call it outside a transaction. */
void router_db_pause(struct req *r);

/* Borrows a connection for the request (again). Returns 0, or the status of the 503 sent. */
int router_db_resume_or_problem(struct req *r);

/* The client's address (for rate limits and sign-in throttling): the connection's peer, or the
 * last X-Forwarded-For entry when the peer is REGISTRY_TRUSTED_PROXY. Returns `buf` or a string
 * owned by the request. */
const char *router_client_address(struct req *r, char *buf, size_t len);

/* Stops taking new requests (they get 503) and waits up to timeout_ms for those in flight to
 * finish, so their responses are written before CivetWeb stops. Returns how many are left. */
int router_drain(int timeout_ms);

/* The route table: sets *out to it and returns its length (for metrics' labels). */
size_t router_routes(const struct route **out);

/* Every statement table of every resource, for db_pool_init. */
extern const struct db_stmt *const router_stmt_tables[];
/* Checks that every statement of every descriptor a route (or a room's handler) serves is
 * prepared (resource_stmts_check): `serve` stops at start-up with one line naming the first
 * missing one. Returns 0 or -1. */
int router_stmts_check(void);

/* Matches `path` against `pattern`, filling params (copies owned by the caller, freed with
 * free()). Returns 1 on a match. Exposed for unit tests. */
int router_match(const char *pattern, const char *path, char **params, int *nparams);

#endif
