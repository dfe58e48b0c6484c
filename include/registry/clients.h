/* clients.h: API clients (OAuth 2.0 client credentials) and their secrets: the routes of clients.c
 * and what the token endpoint asks of it. */
#ifndef REGISTRY_CLIENTS_H
#define REGISTRY_CLIENTS_H

#include "registry/db.h"
#include "registry/http.h"
#include "registry/resource.h"

extern const struct db_stmt clients_stmts[];
extern const struct resource client_resource;
int clients_create(struct req *r);        /* POST /v1/clients */
int clients_delete(struct req *r);        /* DELETE /v1/clients/{id} */
int clients_rotate_secret(struct req *r); /* POST /v1/clients/{id}/secrets */

/* Deletes API-client secrets that expired (were replaced) or were revoked more than `days` days
 * ago (the daily pruning job). Returns how many, or -1 on a database error. */
long clients_prune_secrets(struct db_conn *c, int days);

/* A client that proved its secret. */
struct client_info {
    char id[40];     /* api_client.id (UUID): the `sub` of its tokens */
    char org[40];    /* its organisation */
    char scope[160]; /* its scopes, space-separated */
    long long epoch; /* its token epoch (principal_epoch), carried in its tokens */
    int licensed;    /* 1 when its organisation holds an active licence today */
};

/* 1 when `scope` is one an API client may hold. */
int clients_scope_known(const char *scope);

/* Checks `client_id`/`secret` against the live secrets of a live client (constant-time
 * comparisons). Returns 1 with `out` filled, 0 when they do not match, or -1 after answering a
 * database failure. Needs r->db. */
int clients_check_secret_or_problem(struct req *r,
                                    const char *client_id,
                                    const char *secret,
                                    struct client_info *out);

/* Revokes `secret` when it is a live secret of `client`, with an audit row, in its own
 * transaction (RFC 7009: anything else is quietly ignored). Returns 0, or the status sent. */
int clients_revoke_secret_or_problem(struct req *r,
                                     const struct client_info *client,
                                     const char *secret);

#endif
