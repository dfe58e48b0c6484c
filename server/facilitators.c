/* facilitators.c: placeholder until this room lands. */
#include "registry/problem.h"
#include "registry/resources.h"

const struct db_stmt facilitators_stmts[] = {{NULL, NULL}};

int
facilitators_create(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
facilitators_list(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
facilitators_get(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
facilitators_update(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
facilitators_eligibility(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
facilitators_status_check(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}
