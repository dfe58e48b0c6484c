/* openreferral.c: placeholder until this room lands. */
#include "registry/problem.h"
#include "registry/resources.h"

const struct db_stmt openreferral_stmts[] = {{NULL, NULL}};

int
openreferral_info(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
openreferral_services(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
openreferral_service(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
openreferral_service_at_locations(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}

int
openreferral_organizations(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "not built yet");
}
