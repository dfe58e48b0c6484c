/* resources.h: the handlers and statement tables of the resource rooms, one block per
 * server/<resource>.c (health, tokens, public, pages, reports and openreferral have their own
 * headers); the router's table is the only caller. */
#ifndef REGISTRY_RESOURCES_H
#define REGISTRY_RESOURCES_H

#include "registry/db.h"
#include "registry/http.h"
#include "registry/resource.h"

/* clients.c: API clients (OAuth 2.0 client credentials) and their secrets */
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

/* users.c */
extern const struct db_stmt users_stmts[];
extern const struct resource user_resource;
extern const struct resource user_create_resource; /* POST /v1/users */
int users_get(struct req *r);                      /* GET /v1/users/{id} ("me" for the caller) */
int users_me(struct req *r);                       /* GET /v1/users/me */
int users_update(struct req *r);                   /* PATCH /v1/users/{id} */
int users_password(struct req *r);                 /* POST /v1/users/me/password */

#include "registry/facilitators.h"
#include "registry/licences.h"
#include "registry/organisations.h"

/* courses.c */
extern const struct db_stmt courses_stmts[];
extern const struct resource course_resource;

#include "registry/locations.h"
#include "registry/programmes.h"
#include "registry/training.h"

/* webhooks.c (the outbox and the worker: webhooks.h) */
extern const struct db_stmt webhooks_stmts[];
extern const struct resource webhook_resource;
extern const struct resource delivery_resource; /* GET /v1/webhooks/{id}/deliveries */
int webhooks_create(struct req *r);             /* POST /v1/webhooks */

#endif
