/* main.c: the mpact-registry command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "registry/config.h"
#include "registry/db.h"
#include "registry/keys.h"
#include "registry/logging.h"
#include "registry/migrate.h"
#include "registry/password.h"
#include "registry/places.h"
#include "registry/postcodes.h"
#include "registry/reminders.h"
#include "registry/server.h"
#include "registry/validate.h"

static PGconn *
connect_or_say(void)
{
    char err[512];
    PGconn *pg;

    if (config.database_url == NULL) {
        logging_event("error", NULL, "mpact-registry: REGISTRY_DATABASE_URL is not set");
        return NULL;
    }
    pg = db_connect(config.database_url, err, sizeof(err));
    if (pg == NULL) {
        logging_event("error", NULL, "mpact-registry: %s", err);
    }
    return pg;
}

/* Runs `step` (migrate_apply or migrate_seed_demo) on a fresh connection. Returns what it
 * returned, or -1 (having said why) when it or the connection failed. */
static int
run_on_db(int (*step)(PGconn *, FILE *, char *, size_t))
{
    char err[512];
    PGconn *pg = connect_or_say();
    int n;

    if (pg == NULL) {
        return -1;
    }
    n = step(pg, stdout, err, sizeof(err));
    PQfinish(pg);
    if (n < 0) {
        logging_event("error", NULL, "mpact-registry: %s", err);
    }
    return n;
}

static int
read_password(char *buf, size_t len)
{
    struct termios old, quiet;
    int tty = isatty(STDIN_FILENO);
    size_t n;

    if (tty) {
        logging_prompt("Password: ");
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    if (fgets(buf, (int)len, stdin) == NULL) {
        buf[0] = '\0';
    }
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        logging_prompt("\n");
    }
    n = strcspn(buf, "\r\n");
    if (buf[n] == '\0' && n == len - 1) {
        return -1; /* longer than the buffer */
    }
    buf[n] = '\0';
    return 0;
}

static int
cmd_create_admin(const char *email)
{
    char pw[PASSWORD_MAX + 2], hash[PASSWORD_HASH_MAX];
    const char *why, *params[2];
    PGconn *pg = NULL;
    PGresult *res = NULL;
    int rc = 1;

    if (!validate_email(email)) {
        logging_event("error", NULL, "mpact-registry: '%s' is not an email address", email);
        return 1;
    }
    if (read_password(pw, sizeof(pw)) != 0) {
        logging_event("error", NULL, "mpact-registry: password: at most %d bytes", PASSWORD_MAX);
        goto out;
    }
    if ((why = password_policy(pw, email)) != NULL) {
        logging_event("error", NULL, "mpact-registry: password: %s", why);
        goto out;
    }
    if ((pg = connect_or_say()) == NULL) {
        goto out;
    }
    password_init(1);
    if (password_hash(pw, hash, sizeof(hash)) != 0) {
        logging_event("error", NULL, "mpact-registry: cannot hash the password");
        goto out;
    }
    params[0] = email;
    params[1] = hash;
    /* One statement: the account and its audit row, whose actor is the command line. */
    res = PQexecParams(pg,
                       "WITH u AS (INSERT INTO app_user (email, password_hash, role) "
                       "  VALUES ($1::text, $2::text, 'admin') RETURNING id, email, role,"
                       "  organisation_id, disabled, created_at, updated_at), "
                       "a AS (INSERT INTO audit_event (actor_id, actor_type, action, resource_type,"
                       "  resource_id, after) SELECT NULL, 'command_line', 'create', 'user',"
                       "  u.id::text, to_jsonb(u) FROM u) "
                       "SELECT id FROM u",
                       2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state != NULL && strcmp(state, "23505") == 0) {
            logging_event("error", NULL, "mpact-registry: a user with email %s already exists",
                          email);
        } else {
            logging_event("error", NULL, "mpact-registry: cannot create the admin: %s",
                          PQresultErrorMessage(res));
        }
        goto out;
    }
    printf("admin %s created with id %s\n", email, PQgetvalue(res, 0, 0));
    rc = 0;
out:
    explicit_bzero(pw, sizeof(pw));
    PQclear(res);
    PQfinish(pg);
    return rc;
}

/* import-postcodes FILE (what 0), import-areas FILE (1) or import-places FILE (2). */
static int
cmd_import(const char *path, int what)
{
    char err[512];
    PGconn *pg = connect_or_say();
    int rc = pg == NULL  ? 0
             : what == 1 ? postcodes_import_areas(pg, path, stdout, err, sizeof(err))
             : what == 2 ? places_import(pg, path, stdout, stderr, err, sizeof(err))
                         : postcodes_import(pg, path, stdout, stderr, err, sizeof(err));

    PQfinish(pg);
    if (rc != 0) {
        logging_event("error", NULL, "mpact-registry: %s", err);
    }
    return pg == NULL || rc != 0;
}

static int
cmd_keygen(const char *dir)
{
    char path[4096], err[512];

    if (keys_generate(dir, path, sizeof(path), err, sizeof(err)) != 0) {
        logging_event("error", NULL, "mpact-registry: %s", err);
        return 1;
    }
    printf("%s\n", path);
    return 0;
}

int
main(int argc, char **argv)
{
    char err[512];
    const char *cmd = argc > 1 ? argv[1] : "--help";
    int rc;

    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(config_help, stdout);
        return argc > 1 ? 0 : 2;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("mpact-registry %s\n", REGISTRY_VERSION);
        return 0;
    }
    rc = config_load(&config, err, sizeof(err));
    logging_init(config.log_json); /* set before any failure: the lines from here on are in it */
    if (rc != 0) {
        logging_event("error", NULL, "mpact-registry: %s", err);
        return 1;
    }
    if (strcmp(cmd, "serve") == 0 && argc == 2) {
        return server_run(&config);
    }
    if (strcmp(cmd, "migrate") == 0 && argc == 2) {
        if ((rc = run_on_db(migrate_apply)) >= 0) {
            printf("%d migration(s) applied; schema is current\n", rc);
        }
        return rc < 0;
    }
    if (strcmp(cmd, "seed-demo") == 0 && argc == 2) {
        return run_on_db(migrate_seed_demo) < 0;
    }
    if (strcmp(cmd, "create-admin") == 0 && argc == 3) {
        return cmd_create_admin(argv[2]);
    }
    if ((strcmp(cmd, "import-postcodes") == 0 || strcmp(cmd, "import-areas") == 0) && argc == 3) {
        return cmd_import(argv[2], strcmp(cmd, "import-areas") == 0);
    }
    if (strcmp(cmd, "import-places") == 0 && argc == 3) {
        return cmd_import(argv[2], 2);
    }
    if (strcmp(cmd, "send-reminders") == 0) {
        return reminders_command(&config, argc, argv);
    }
    if (strcmp(cmd, "keygen") == 0 && argc == 3) {
        return cmd_keygen(argv[2]);
    }
    logging_event("error", NULL,
                  "mpact-registry: unknown command or wrong arguments: %s (see --help)", cmd);
    return 2;
}
