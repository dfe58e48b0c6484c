/* variants.c: GET /v1/programme-variants. The variants of M-PACT a run may be (the table
 * programme_variant): code, title, sessions and min_facilitators, ordered by code, as one page
 * ({items, next_cursor: null}; CSV with Accept: text/csv). Any signed-in user or API client with
 * programmes:read; no query parameters. */
#include "registry/variants.h"

#include <libpq-fe.h>

#include "registry/problem.h"

const struct db_stmt variants_stmts[] = {
    {"variants_list",
     "SELECT code, title, sessions, min_facilitators FROM programme_variant ORDER BY code"},
    {NULL, NULL},
};

int
variants_list(struct req *r)
{
    static const char *const allowed[] = {NULL};
    struct query q;
    PGresult *res = NULL;
    int status;

    if ((status = http_query_or_problem(r, allowed, &q)) == 0) {
        res = db_exec(r->db, "variants_list", 0, NULL);
        status =
            db_ok(res) ? page_send_rows(r, res, PQntuples(res), NULL) : problem_from_db(r, res);
    }
    PQclear(res);
    query_cleanup(&q);
    return status;
}
