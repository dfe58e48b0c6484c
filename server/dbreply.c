/* dbreply.c: database work that answers its own failure (the ..._or_problem helpers). */
#include "registry/dbreply.h"

#include <stdio.h>

#include <libpq-fe.h>

#include "registry/db.h"
#include "registry/etag.h"
#include "registry/problem.h"
#include "registry/validate.h"

int
http_begin_or_problem(struct req *r, int if_match_required)
{
    PGresult *fail = NULL;
    int status = 0;

    if (if_match_required && http_header(r, "If-Match") == NULL) {
        return http_if_match_or_problem(r, "");
    }
    if (db_begin(r->db, &fail) != 0) {
        status = problem_from_db(r, fail);
    }
    PQclear(fail);
    return status;
}

int
http_exec_or_problem(
    struct req *r, const char *stmt, int nparams, const char *const *params, PGresult **out)
{
    PGresult *res = db_exec(r->db, stmt, nparams, params);
    int status = 0;

    if (!db_ok(res)) {
        status = problem_from_db(r, res);
        PQclear(res);
        res = NULL;
    }
    if (out != NULL) {
        *out = res;
    } else {
        PQclear(res);
    }
    return status;
}

int
http_row_or_problem(struct req *r,
                    const char *stmt,
                    const char *id,
                    const char *what,
                    int (*visible)(const struct principal *p, const PGresult *res),
                    PGresult **out)
{
    const char *params[1] = {id};
    PGresult *res = NULL;
    int status;

    *out = NULL;
    if (!validate_uuid(id)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no %s with id %s", what, id);
    }
    if ((status = http_exec_or_problem(r, stmt, 1, params, &res)) != 0) {
        return status;
    }
    if (PQntuples(res) == 0 || (visible != NULL && !visible(&r->principal, res))) {
        PQclear(res);
        return problem_send(r, PROBLEM_NOT_FOUND, "no %s with id %s", what, id);
    }
    *out = res;
    return 0;
}

int
http_insert_or_problem(
    struct req *r, const char *stmt, int nparams, const char *const *params, char *id, size_t idlen)
{
    PGresult *res = db_exec(r->db, stmt, nparams, params);
    int status = 0;

    if (!db_ok(res) || PQntuples(res) != 1) {
        status = problem_from_db(r, res);
    } else {
        snprintf(id, idlen, "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return status;
}
