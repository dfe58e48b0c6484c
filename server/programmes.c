/* programmes.c: placeholder until this room lands. */
#include "registry/problem.h"
#include "registry/resources.h"

const struct db_stmt programmes_stmts[] = {{NULL, NULL}};

int
programmes_create(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
programmes_list(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
programmes_get(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
programmes_update(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}
