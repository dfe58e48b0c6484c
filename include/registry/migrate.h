/* migrate.h: numbered schema migrations compiled into the binary, and the demo seed. */
#ifndef REGISTRY_MIGRATE_H
#define REGISTRY_MIGRATE_H

#include <stdio.h>

#include <libpq-fe.h>

struct migration {
    const char *name; /* file name without .sql, e.g. "0001_platform" */
    const char *sql;
};

/* Generated from sql/migrations/ at build time, in name order, ending with {NULL, NULL}. */
extern const struct migration migrations[];
extern const char migrate_demo_seed_sql[];

/* Applies every pending migration, each in its own transaction, recording it in
 * schema_migrations, and reports each to `out`. Returns the number applied, or -1 with `err`. */
int migrate_apply(PGconn *c, FILE *out, char *err, size_t errlen);

/* The number of migrations not yet applied, or -1 with `err`. */
int migrate_pending(PGconn *c, char *err, size_t errlen);

/* Loads the demo data and demo accounts (idempotent), printing the accounts to `out`.
 * Returns 0, or -1 with `err`. */
int migrate_seed_demo(PGconn *c, FILE *out, char *err, size_t errlen);

#endif
