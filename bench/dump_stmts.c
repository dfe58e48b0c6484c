/* dump_stmts: prints the server's prepared statements (name TAB sql, one a line) straight from
 * the statement tables compiled into registry_core, so the pgbench ceiling runs the very SQL the
 * routes run (impact_stmts: the delivery report and the public figures; openreferral_stmts:
 * the Open Referral feed; places_stmts: the search by town; enquiries_stmts: "Ask about a
 * place"). Built by bench/run against bench/.build/libregistry_core.a. */
#include <stdio.h>
#include <string.h>

#include "registry/db.h"
#include "registry/enquiries.h"
#include "registry/facilitators.h"
#include "registry/health.h"
#include "registry/impact.h"
#include "registry/openreferral.h"
#include "registry/organisations.h"
#include "registry/places.h"
#include "registry/postcodes.h"
#include "registry/public.h"

static void
dump(const struct db_stmt *t)
{
    for (; t->name != NULL; t++) {
        const char *p;

        printf("%s\t", t->name);
        for (p = t->sql; *p; p++) {
            putchar(*p == '\n' || *p == '\t' ? ' ' : *p);
        }
        putchar('\n');
    }
}

int
main(void)
{
    dump(public_stmts);
    dump(postcodes_stmts);
    dump(facilitators_stmts);
    dump(organisations_stmts);
    dump(health_stmts);
    dump(impact_stmts);
    dump(openreferral_stmts);
    dump(places_stmts);
    dump(enquiries_stmts);
    return 0;
}
