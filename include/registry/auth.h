/* auth.h: bearer tokens on requests, and the claims inside them. */
#ifndef REGISTRY_AUTH_H
#define REGISTRY_AUTH_H

#include <stddef.h>

#include <jansson.h>

#define AUTH_LEEWAY        60   /* seconds of clock skew allowed on exp and nbf */
#define AUTH_EPOCH_POLL_MS 1000 /* how often each instance reads the token epochs */

struct db_conn;
struct req;

/* Who is calling, copied out of a verified access token. Empty strings when absent. */
struct principal {
    int authenticated;
    char sub[40];    /* user id (UUID) */
    char role[16];   /* admin, org_admin, org_staff, commissioner */
    char org[40];    /* organisation id for licensees, "" for admin */
    int client;      /* 1 for an API client's token: it acts as org_admin within its scopes */
    char scope[160]; /* an API client's scopes, space-separated */
};

/* Reads the token epochs once (the server refuses to start without them) and starts the thread
 * that reads the changes every AUTH_EPOCH_POLL_MS. Call after the pool is up. Returns 0 or -1
 * with a line on stderr. */
int auth_epochs_start(void);

/* Stops that thread and forgets the epochs. Call before the pool closes. */
void auth_epochs_stop(void);

/* Reads the epochs changed since the last read, on `c`. Returns 0, or -1 (the epochs known stay).
 */
int auth_epochs_refresh(struct db_conn *c);

/* 1 when a committed change of `resource_type` (an audit resource type) can move an epoch, so
 * the instance that made it reads them before it answers. */
int auth_epochs_may_change(const char *resource_type);

/* Verifies the Authorization header, if any, and fills r->principal.
 * Returns 0 when there is no header, 1 for a valid token, -1 for an invalid one. */
int auth_authenticate(struct req *r);

/* Checks claims of a token whose signature is already verified: exp (required), nbf, iat,
 * iss, aud, sub, role and org, all with their types. Fills `out`. Returns 0, or -1 with a
 * short reason in *why. Pure: exposed for unit tests. */
int auth_check_claims(json_t *claims,
                      long long now,
                      const char *iss,
                      const char *aud,
                      struct principal *out,
                      const char **why);

/* Signs an access token for a user whose token epoch is `epoch`. Returns a malloc'd compact JWS,
 * or NULL. */
char *auth_issue_access(
    const char *user_id, const char *role, const char *org, long long epoch, long long now);

/* Signs an access token for an API client: sub = the client's id (UUID), role "client", org,
 * scope (space-separated). No refresh token goes with it. Returns a malloc'd compact JWS, or NULL.
 */
char *auth_issue_client(
    const char *client_uuid, const char *org, const char *scope, long long epoch, long long now);

/* 1 when the space-separated list `have` holds `word` (its first `n` bytes) as a whole word. */
int auth_word_listed(const char *have, const char *word, size_t n);

/* 1 when the principal's scopes include `scope` (an API client's); 0 for a NULL scope. */
int auth_has_scope(const struct principal *p, const char *scope);

/* Role checks on a principal. */
int auth_is_admin(const struct principal *p);
/* 1 for a commissioner: bound to areas, not an organisation; reports only (router.c). */
int auth_is_commissioner(const struct principal *p);
/* 1 when `p` is admin, or a licensee of organisation `org_id`. */
int auth_in_org(const struct principal *p, const char *org_id);

#endif
