/* licences.c: placeholder until the licences room lands. */
#include "registry/problem.h"
#include "registry/resources.h"

const struct db_stmt licences_stmts[] = {{NULL, NULL}};

int
licences_create(struct req *r)
{
    return problem_send(r, PROBLEM_INTERNAL, "not yet");
}

int
licences_list(struct req *r)
{
    return problem_send(r, PROBLEM_INTERNAL, "not yet");
}

int
licences_get(struct req *r)
{
    return problem_send(r, PROBLEM_INTERNAL, "not yet");
}

int
licences_update(struct req *r)
{
    return problem_send(r, PROBLEM_INTERNAL, "not yet");
}

int
licences_transition_allowed(const char *from, const char *to)
{
    (void)from;
    (void)to;
    return 0;
}
