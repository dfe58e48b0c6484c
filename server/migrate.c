/* migrate.c: applying the numbered migrations compiled into the binary, and the demo seed. */
#include "registry/migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "registry/codec.h"
#include "registry/password.h"

#define MIGRATE_LOCK_KEY "727274001" /* advisory lock: one migrate at a time */

/* Runs `sql`, with `params` when n > 0 (without, several statements are allowed). Returns the
 * result when it succeeded; otherwise NULL with "<what>: <first line of the error>" in `err`. */
static PGresult *
run(PGconn *c,
    const char *sql,
    int n,
    const char *const *params,
    char *err,
    size_t errlen,
    const char *what)
{
    PGresult *res = n == 0 ? PQexec(c, sql) : PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK) {
        return res;
    }
    snprintf(err, errlen, "%s: %s", what, PQresultErrorMessage(res));
    err[strcspn(err, "\n")] = '\0';
    PQclear(res);
    return NULL;
}

/* run() for a statement whose rows do not matter. 0, or -1. */
static int
exec_ok(PGconn *c, const char *sql, char *err, size_t errlen, const char *what)
{
    PGresult *res = run(c, sql, 0, NULL, err, errlen, what);

    PQclear(res);
    return res != NULL ? 0 : -1;
}

/* 1 when migration `name` is recorded, 0 when not, -1 on error. */
static int
is_applied(PGconn *c, const char *name, char *err, size_t errlen)
{
    PGresult *res = run(c, "SELECT 1 FROM schema_migrations WHERE name = $1::text", 1, &name, err,
                        errlen, "reading schema_migrations");
    int rc = res != NULL ? PQntuples(res) > 0 : -1;

    PQclear(res);
    return rc;
}

int
migrate_pending(PGconn *c, char *err, size_t errlen)
{
    PGresult *res = run(c, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL, err,
                        errlen, "checking the schema");
    const struct migration *m;
    int exists, pending = 0;

    if (res == NULL) {
        return -1;
    }
    exists = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    for (m = migrations; m->name != NULL; m++) {
        int applied = exists ? is_applied(c, m->name, err, errlen) : 0;
        if (applied < 0) {
            return -1;
        }
        pending += !applied;
    }
    return pending;
}

int
migrate_apply(PGconn *c, FILE *out, char *err, size_t errlen)
{
    const struct migration *m;
    int applied = 0;

    if (exec_ok(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err, errlen, "locking") != 0) {
        return -1;
    }
    if (exec_ok(c,
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                err, errlen, "creating schema_migrations")
        != 0) {
        applied = -1;
    }
    for (m = migrations; applied >= 0 && m->name != NULL; m++) {
        int done = is_applied(c, m->name, err, errlen);
        char what[128];
        PGresult *res;

        if (done != 0) {
            applied = done < 0 ? -1 : applied;
            continue;
        }
        snprintf(what, sizeof(what), "migration %s failed", m->name);
        if (exec_ok(c, "BEGIN", err, errlen, what) != 0) {
            applied = -1;
            break;
        }
        res = exec_ok(c, m->sql, err, errlen, what) == 0
                  ? run(c, "INSERT INTO schema_migrations (name) VALUES ($1::text)", 1, &m->name,
                        err, errlen, what)
                  : NULL;
        if (res == NULL) {
            PQclear(PQexec(c, "ROLLBACK"));
            applied = -1;
            break;
        }
        PQclear(res);
        if (exec_ok(c, "COMMIT", err, errlen, what) != 0) {
            applied = -1;
            break;
        }
        if (out != NULL) {
            fprintf(out, "applied %s\n", m->name);
        }
        applied++;
    }
    PQclear(PQexec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
    return applied;
}

static const struct {
    const char *email;
    const char *role;
    const char *org; /* NULL for admin */
    const char *what;
} demo_accounts[] = {
    {"admin@mpact-registry.example", "admin", NULL, "licensing body administrator"},
    {"manager@medway-recovery.example", "org_admin", "7b0c1a3e-0000-4000-8000-000000000001",
     "Medway Family Recovery Service, organisation admin"},
    {"staff@medway-recovery.example", "org_staff", "7b0c1a3e-0000-4000-8000-000000000001",
     "Medway Family Recovery Service, staff"},
    {"manager@bristol-hiddenharm.example", "org_admin", "7b0c1a3e-0000-4000-8000-000000000002",
     "Bristol Hidden Harm Partnership, organisation admin"},
};

/* The demo password: REGISTRY_DEMO_PASSWORD when set (for scripted demos and browser tests),
 * otherwise a fresh random one each time the seed runs. */
static int
demo_password(char *out, size_t len)
{
    const char *fixed = getenv("REGISTRY_DEMO_PASSWORD");
    unsigned char raw[12];

    if (fixed != NULL && *fixed != '\0') {
        snprintf(out, len, "%s", fixed);
        return 0;
    }
    if (len < 17 || codec_random(raw, sizeof(raw)) != 0) {
        return -1;
    }
    codec_b64url_encode(raw, sizeof(raw), out);
    return 0;
}

int
migrate_seed_demo(PGconn *c, FILE *out, char *err, size_t errlen)
{
    char pw[PASSWORD_MAX + 1], hash[PASSWORD_HASH_MAX];
    size_t i;
    int pending = migrate_pending(c, err, errlen);

    if (pending != 0) {
        if (pending > 0) {
            snprintf(err, errlen, "%d migration(s) pending; run `mpact-registry migrate` first",
                     pending);
        }
        return -1;
    }
    if (exec_ok(c, "BEGIN", err, errlen, "seed") != 0) {
        return -1;
    }
    if (exec_ok(c, migrate_demo_seed_sql, err, errlen, "demo seed") != 0) {
        goto fail;
    }
    if (demo_password(pw, sizeof(pw)) != 0) {
        snprintf(err, errlen, "cannot make a demo password");
        goto fail;
    }
    password_init(1);
    if (out != NULL) {
        fprintf(out, "Demo accounts (password for each: %s)\n", pw);
    }
    for (i = 0; i < sizeof(demo_accounts) / sizeof(demo_accounts[0]); i++) {
        const char *params[4] = {demo_accounts[i].email, hash, demo_accounts[i].role,
                                 demo_accounts[i].org};
        char what[128];
        PGresult *res;

        if (password_hash(pw, hash, sizeof(hash)) != 0) {
            snprintf(err, errlen, "cannot hash the demo password");
            goto fail;
        }
        snprintf(what, sizeof(what), "demo account %s", demo_accounts[i].email);
        res = run(c,
                  "INSERT INTO app_user (email, password_hash, role, organisation_id) "
                  "VALUES ($1::text, $2::text, $3::text, $4::uuid) ON CONFLICT (lower(email)) DO "
                  "UPDATE SET password_hash = EXCLUDED.password_hash, disabled = false",
                  4, params, err, errlen, what);
        if (res == NULL) {
            goto fail;
        }
        PQclear(res);
        if (out != NULL) {
            fprintf(out, "  %-36s %s\n", demo_accounts[i].email, demo_accounts[i].what);
        }
    }
    if (exec_ok(c, "COMMIT", err, errlen, "seed") != 0) {
        return -1;
    }
    return 0;
fail:
    PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}
