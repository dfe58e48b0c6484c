/* reports.c: placeholder until this room lands. */
#include "registry/problem.h"
#include "registry/resources.h"

const struct db_stmt reports_stmts[] = {{NULL, NULL}};

int
reports_summary(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
reports_expiring(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}
