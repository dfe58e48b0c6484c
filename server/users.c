/* users.c: placeholder until the users room lands. */
#include "registry/problem.h"
#include "registry/resources.h"

const struct db_stmt users_stmts[] = {{NULL, NULL}};

int
users_create(struct req *r)
{
    return problem_send(r, PROBLEM_INTERNAL, "not yet");
}

int
users_list(struct req *r)
{
    return problem_send(r, PROBLEM_INTERNAL, "not yet");
}

int
users_get(struct req *r)
{
    return problem_send(r, PROBLEM_INTERNAL, "not yet");
}

int
users_update(struct req *r)
{
    return problem_send(r, PROBLEM_INTERNAL, "not yet");
}

int
users_password(struct req *r)
{
    return problem_send(r, PROBLEM_INTERNAL, "not yet");
}
