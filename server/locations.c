/* locations.c: placeholder until this room lands. */
#include "registry/problem.h"
#include "registry/resources.h"

const struct db_stmt locations_stmts[] = {{NULL, NULL}};

int
locations_create(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
locations_list(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
locations_get(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
locations_update(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
locations_delete(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}
