/* courses.c: placeholder until this room lands. */
#include "registry/problem.h"
#include "registry/resources.h"

const struct db_stmt courses_stmts[] = {{NULL, NULL}};

int
courses_create(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
courses_list(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
courses_get(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
courses_update(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}
