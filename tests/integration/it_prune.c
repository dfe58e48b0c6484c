/* it_prune.c: the pruning job (run at start-up and daily, next to the webhook expiry job) deletes
 * refresh tokens and API-client secrets dead (expired, revoked, replaced) for longer than
 * REGISTRY_TOKEN_RETENTION_DAYS, and keeps everything younger or still alive: current secrets,
 * live tokens, and used (rotated) tokens that have not expired, which reuse detection needs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itlib.h"

/* Inserts a refresh token for `user` marked by `mark` (its token_hash) with the given ages. */
static void
add_token(struct it_server *s,
          const char *user,
          const char *mark,
          const char *expires,
          const char *used,
          const char *revoked)
{
    PQclear(it_sql(s,
                   "INSERT INTO refresh_token (user_id, family_id, token_hash, created_at,"
                   " expires_at, used_at, revoked_at)"
                   " VALUES ($1::uuid, gen_random_uuid(), convert_to($2, 'UTF8'),"
                   " now() - interval '60 days', now() + $3::interval,"
                   " now() + $4::interval, now() + $5::interval)",
                   user, mark, expires, used, revoked));
}

static void
add_secret(struct it_server *s,
           const char *client,
           const char *mark,
           const char *expires,
           const char *revoked)
{
    PQclear(it_sql(s,
                   "INSERT INTO api_client_secret (client_id, secret_hash, created_at, expires_at,"
                   " revoked_at)"
                   " VALUES ($1::uuid, sha256(convert_to($2, 'UTF8')), now() - interval '90 days',"
                   " now() + $3::interval, now() + $4::interval)",
                   client, mark, expires, revoked));
}

static long
tokens_left(struct it_server *s, const char *mark)
{
    return it_count(
        s, "SELECT count(*) FROM refresh_token WHERE token_hash = convert_to($1, 'UTF8')", mark);
}

static long
secrets_left(struct it_server *s, const char *mark)
{
    return it_count(
        s,
        "SELECT count(*) FROM api_client_secret WHERE secret_hash = sha256(convert_to($1, 'UTF8'))",
        mark);
}

static void
test_old_rows_go_recent_stay(void **state)
{
    const char *env[] = {"REGISTRY_TOKEN_RETENTION_DAYS=30", NULL};
    struct it_server *s = it_prepare("prune", NULL);
    PGresult *res;
    char user[40], client[40];

    (void)state;
    res = it_sql(s, "INSERT INTO organisation (name, kind, address_lines, town, postcode)"
                    " VALUES ('Prune Org', 'charity', '[\"1 High Street\"]', 'Chatham', 'ME4 4AB')"
                    " RETURNING id");
    {
        char *org = strdup(PQgetvalue(res, 0, 0));
        PQclear(res);
        res = it_sql(s,
                     "INSERT INTO app_user (email, password_hash, role, organisation_id)"
                     " VALUES ('prune@example.org', 'x', 'org_admin', $1::uuid) RETURNING id",
                     org);
        snprintf(user, sizeof(user), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        res = it_sql(s,
                     "INSERT INTO api_client (organisation_id, client_id, name, scopes)"
                     " VALUES ($1::uuid, 'mpc_prunetestclient0000001', 'Prune client',"
                     " '[\"facilitators:read\"]') RETURNING id",
                     org);
        snprintf(client, sizeof(client), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        free(org);
    }
    /* Refresh tokens (intervals relative to now; NULL: not set). */
    add_token(s, user, "expired-40d", "-40 days", NULL, NULL);       /* goes */
    add_token(s, user, "revoked-31d", "+5 days", NULL, "-31 days");  /* goes */
    add_token(s, user, "expired-10d", "-10 days", NULL, NULL);       /* stays */
    add_token(s, user, "revoked-5d", "+20 days", NULL, "-5 days");   /* stays */
    add_token(s, user, "live", "+20 days", NULL, NULL);              /* stays */
    add_token(s, user, "used-40d-live", "+1 day", "-40 days", NULL); /* stays: reuse detection */
    /* API-client secrets. */
    add_secret(s, client, "current", NULL, NULL);            /* stays */
    add_secret(s, client, "replaced-40d", "-40 days", NULL); /* goes */
    add_secret(s, client, "replaced-3d", "-3 days", NULL);   /* stays */
    add_secret(s, client, "revoked-31d", NULL, "-31 days");  /* goes */
    add_secret(s, client, "overlapping", "+1 day", NULL);    /* stays */

    it_launch(s, env);
    /* The job runs once at start-up. */
    if (!it_log_wait(s, "maintenance: pruned", 30000)) {
        it_log_tail(s, 20);
        fail_msg("the pruning job did not run at start-up");
    }
    assert_true(it_log_wait(s, "pruned 2 refresh token(s) and 2 API-client secret(s)", 1000));

    assert_int_equal(tokens_left(s, "expired-40d"), 0);
    assert_int_equal(tokens_left(s, "revoked-31d"), 0);
    assert_int_equal(tokens_left(s, "expired-10d"), 1);
    assert_int_equal(tokens_left(s, "revoked-5d"), 1);
    assert_int_equal(tokens_left(s, "live"), 1);
    assert_int_equal(tokens_left(s, "used-40d-live"), 1);
    assert_int_equal(secrets_left(s, "current"), 1);
    assert_int_equal(secrets_left(s, "replaced-40d"), 0);
    assert_int_equal(secrets_left(s, "replaced-3d"), 1);
    assert_int_equal(secrets_left(s, "revoked-31d"), 0);
    assert_int_equal(secrets_left(s, "overlapping"), 1);
    it_stop(s);
}

static void
test_retention_is_a_setting(void **state)
{
    const char *env[] = {"REGISTRY_TOKEN_RETENTION_DAYS=7", NULL};
    struct it_server *s = it_prepare("prune7", NULL);
    PGresult *res;
    char user[40];
    const char *args[] = {"serve", NULL};
    const char *bad[] = {"REGISTRY_TOKEN_RETENTION_DAYS=0", NULL};
    char *out = NULL;

    (void)state;
    res = it_sql(s, "INSERT INTO app_user (email, password_hash, role)"
                    " VALUES ('prune7@example.org', 'x', 'admin') RETURNING id");
    snprintf(user, sizeof(user), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    add_token(s, user, "expired-10d", "-10 days", NULL, NULL); /* older than 7 days: goes */
    add_token(s, user, "expired-3d", "-3 days", NULL, NULL);   /* stays */
    assert_int_equal(it_exec(s, 0, args, bad, NULL, 30, &out), 1);
    assert_non_null(strstr(out, "REGISTRY_TOKEN_RETENTION_DAYS"));
    free(out);

    it_launch(s, env);
    if (!it_log_wait(s, "maintenance: pruned 1 refresh token(s)", 30000)) {
        it_log_tail(s, 20);
        fail_msg("the pruning job did not honour a 7-day retention");
    }
    assert_int_equal(tokens_left(s, "expired-10d"), 0);
    assert_int_equal(tokens_left(s, "expired-3d"), 1);
    it_stop(s);
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_old_rows_go_recent_stay),
          cmocka_unit_test(test_retention_is_a_setting))
