/* query.h: the query string of a request, decoded and checked (query.c). */
#ifndef REGISTRY_QUERY_H
#define REGISTRY_QUERY_H

#include "registry/http.h"

#define HTTP_MAX_QUERY 16 /* query parameters a request may have */

/* One query string, decoded. Names and values point into `buf`. */
struct query {
    char *buf;
    int n;
    struct {
        const char *name;
        const char *value;
    } items[HTTP_MAX_QUERY];
};

/* Parses the query string; names outside `allowed` (NULL-terminated) or repeated names get
 * 400. Returns 0, or the status of the problem already sent. Release with query_cleanup. */
int http_query_or_problem(struct req *r, const char *const *allowed, struct query *q);
/* As http_query_or_problem for HTML pages: names outside `allowed` are skipped, not refused. */
int http_query_page_or_problem(struct req *r, const char *const *allowed, struct query *q);
const char *query_get(const struct query *q, const char *name);
void query_cleanup(struct query *q);

#endif
