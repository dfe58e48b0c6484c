/* tokens.c: placeholder until the sign-in room lands. */
#include "registry/keys.h"
#include "registry/problem.h"
#include "registry/resources.h"

const struct db_stmt tokens_stmts[] = {{NULL, NULL}};

int
tokens_create(struct req *r)
{
    return problem_send(r, PROBLEM_INTERNAL, "not yet");
}

int
tokens_refresh(struct req *r)
{
    return problem_send(r, PROBLEM_INTERNAL, "not yet");
}

int
tokens_logout(struct req *r)
{
    return problem_send(r, PROBLEM_INTERNAL, "not yet");
}

int
tokens_jwks(struct req *r)
{
    json_t *body = keys_jwks();
    int status = http_send_json(r, 200, body);

    json_decref(body);
    return status;
}
