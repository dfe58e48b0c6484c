/* areas.c: GET /v1/local-authorities, the local authority districts the registry knows
 * (migration 0014; names from `mpact-registry import-areas`), with how many active sites are in
 * each: what a report's local_authority filter or a commissioner's areas are chosen from. Any
 * signed-in user (and a commissioner); API clients with delivery:read. One page, ordered by
 * name; `with_sites=true` keeps the districts that have a site. Irish counties with a site are
 * listed too (code IE-CO). */
#include "registry/areas.h"

const struct db_stmt areas_stmts[] = {
    /* $1 with_sites. The Irish counties (migration 0020) that have an active site stand with the
     * districts, as they do in the reports. */
    {"areas_list",
     "SELECT code, name, sites FROM (SELECT a.code, a.name, count(l.id) AS sites"
     " FROM local_authority a"
     " LEFT JOIN postcode p ON p.oslaua = a.code"
     " LEFT JOIN location l ON l.postcode = p.postcode AND l.active AND l.archived_at IS NULL"
     " GROUP BY a.code, a.name HAVING NOT coalesce($1::boolean, false) OR count(l.id) > 0"
     " UNION ALL SELECT c.code, c.name, count(*) FROM irish_county c JOIN location l"
     " ON l.county = c.code AND l.active AND l.archived_at IS NULL GROUP BY c.code, c.name) x"
     " ORDER BY name, code"},
    {NULL, NULL},
};

static const struct filter area_filters[] = {
    {"with_sites", FILTER_BOOL, NULL},
    {NULL, 0, NULL},
};

/* No sort key: the list is one page. */
const struct resource area_resource = {
    .name = "local authority",
    .stmt = "areas",
    .filters = area_filters,
};
