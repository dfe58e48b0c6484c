/* fuzz_query.c: a query string through http_query_or_problem (percent-decoding, UTF-8, unknown
 * and repeated names, the item cap) and http_query_page_or_problem, then limit and cursor
 * (http_page_or_problem, http_cursor_or_problem). Anything but 0 must be a 400. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_stub.h"
#include "registry/validate.h"

static const char *const allowed[] = {"limit", "cursor", "q", "status", "postcode", "on", NULL};

static int
date_ok(const char *s)
{
    return validate_date(s);
}

static void
one(const char *query, int page)
{
    struct req r;
    struct mg_request_info ri;
    struct query q;
    struct page p = {0};
    int status, i;

    fuzz_stub_req(&r, &ri, "GET", query, -1);
    status =
        page ? http_query_page_or_problem(&r, allowed, &q) : http_query_or_problem(&r, allowed, &q);
    if (status != 0) {
        FUZZ_CHECK(status == 400 && fuzz_stub_status() == 400, "a refused query is not a 400");
        query_cleanup(&q);
        return;
    }
    FUZZ_CHECK(q.n >= 0 && q.n <= HTTP_MAX_QUERY, "more items than the cap");
    for (i = 0; i < q.n; i++) {
        FUZZ_CHECK(validate_utf8_len(q.items[i].name) >= 0, "a name is not UTF-8");
        FUZZ_CHECK(validate_utf8_len(q.items[i].value) >= 0, "a value is not UTF-8");
        FUZZ_CHECK(query_get(&q, q.items[i].name) != NULL, "query_get misses an item");
    }
    status = http_page_or_problem(&r, &q, &p);
    if (status == 0) {
        FUZZ_CHECK(p.limit >= 1 && p.limit <= 100, "limit out of range");
        status = http_cursor_or_problem(&r, &p, 2, date_ok);
    }
    FUZZ_CHECK(status == 0 || (status == 400 && fuzz_stub_status() == 400),
               "a refused page is not a 400");
    page_cleanup(&p);
    query_cleanup(&q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* CivetWeb hands over the query as a C string: it ends at the first NUL. */
    char *query = malloc(size + 1);

    if (query == NULL) {
        return 0;
    }
    memcpy(query, data, size);
    query[size] = '\0';
    one(query, 0);
    one(query, 1);
    free(query);
    return 0;
}
