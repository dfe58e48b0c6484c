/* tokens.h: sign-in, refresh, logout, revocation and the JWKS (tokens.c). */
#ifndef REGISTRY_TOKENS_H
#define REGISTRY_TOKENS_H

#include "registry/db.h"
#include "registry/http.h"

extern const struct db_stmt tokens_stmts[];
int tokens_create(struct req *r);  /* POST /v1/auth/token */
int tokens_refresh(struct req *r); /* POST /v1/auth/refresh */
int tokens_logout(struct req *r);  /* POST /v1/auth/logout */
int tokens_jwks(struct req *r);    /* GET /.well-known/jwks.json */
int tokens_revoke(struct req *r);  /* POST /v1/auth/revoke (RFC 7009) */

#define TOKENS_ATTEMPT_LEN 24 /* room for an attempt's id */

/* Starts a password check for `email` (sign-in or password change) from the request's client
 * address, in its own short transaction: 429 with Retry-After while that account is throttled
 * for that address (failures there beyond the free ones impose a doubling wait); otherwise the
 * attempt is recorded as in flight and its id written to `attempt`. End it with
 * tokens_attempt_end_or_problem. Returns 0 or the status sent. */
int tokens_attempt_or_problem(struct req *r, const char *email, char attempt[TOKENS_ATTEMPT_LEN]);

/* Ends an attempt: `ok` deletes it and the failures of its account from its address; otherwise
 * it counts as a failure. Runs on r->db, inside the caller's transaction if one is open. Returns
 * 0 or the status sent. */
int tokens_attempt_end_or_problem(struct req *r, const char *attempt, const char *email, int ok);

#endif
