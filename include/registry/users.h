/* users.h: the routes of users.c (/v1/users). */
#ifndef REGISTRY_USERS_H
#define REGISTRY_USERS_H

#include "registry/db.h"
#include "registry/http.h"
#include "registry/resource.h"

extern const struct db_stmt users_stmts[];
extern const struct resource user_resource;
extern const struct resource user_create_resource; /* POST /v1/users */
int users_get(struct req *r);                      /* GET /v1/users/{id} ("me" for the caller) */
int users_me(struct req *r);                       /* GET /v1/users/me */
int users_update(struct req *r);                   /* PATCH /v1/users/{id} */
int users_password(struct req *r);                 /* POST /v1/users/me/password */

#endif
