/* it_prune.c: the pruning job (run at start-up and daily, next to the webhook expiry job) deletes
 * refresh tokens and API-client secrets dead (expired, revoked, replaced) for longer than
 * REGISTRY_TOKEN_RETENTION_DAYS, and keeps everything younger or still alive: current secrets,
 * live tokens, and used (rotated) tokens that have not expired, which reuse detection needs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itlib.h"

/* A refresh token or API-client secret of a test: its mark (the token_hash, or what the
 * secret_hash is the SHA-256 of), when it expires, was used (tokens only) and was revoked, as
 * intervals relative to now (NULL: not set), and how many rows of it the prune leaves (0 or 1). */
struct row {
    const char *mark, *expires, *used, *revoked;
    long left;
};

static const char *const add_token_sql =
    "INSERT INTO refresh_token (user_id, family_id, token_hash, created_at, expires_at, used_at,"
    " revoked_at)"
    " VALUES ($1::uuid, gen_random_uuid(), convert_to($2, 'UTF8'), now() - interval '60 days',"
    " now() + $3::interval, now() + $4::interval, now() + $5::interval)";
static const char *const tokens_left_sql =
    "SELECT count(*) FROM refresh_token WHERE token_hash = convert_to($1, 'UTF8')";
static const char *const add_secret_sql =
    "INSERT INTO api_client_secret (client_id, secret_hash, created_at, expires_at, revoked_at)"
    " VALUES ($1::uuid, sha256(convert_to($2, 'UTF8')), now() - interval '90 days',"
    " now() + $3::interval, now() + $4::interval)";
static const char *const secrets_left_sql =
    "SELECT count(*) FROM api_client_secret WHERE secret_hash = sha256(convert_to($1, 'UTF8'))";

/* Inserts the refresh tokens of `rows` for the user `user`. */
static void
add_tokens(struct it_server *s, const char *user, const struct row *rows, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        PQclear(it_sql(s, add_token_sql, user, rows[i].mark, rows[i].expires, rows[i].used,
                       rows[i].revoked));
    }
}

/* Inserts the secrets of `rows` (`used` unused) for the API client `client`. */
static void
add_secrets(struct it_server *s, const char *client, const struct row *rows, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        PQclear(it_sql(s, add_secret_sql, client, rows[i].mark, rows[i].expires, rows[i].revoked));
    }
}

/* Fails unless each row of `rows` is left as its `left` says, counted by `count_sql`. */
static void
assert_left(struct it_server *s, const char *count_sql, const struct row *rows, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (it_count(s, count_sql, rows[i].mark) != rows[i].left) {
            fail_msg("%s: want %ld left", rows[i].mark, rows[i].left);
        }
    }
}

static void
test_old_rows_go_recent_stay(void **state)
{
    const char *env[] = {"REGISTRY_TOKEN_RETENTION_DAYS=30", NULL};
    static const struct row tokens[] = {
        {"expired-40d", "-40 days", NULL, NULL, 0},
        {"revoked-31d", "+5 days", NULL, "-31 days", 0},
        {"expired-10d", "-10 days", NULL, NULL, 1},
        {"revoked-5d", "+20 days", NULL, "-5 days", 1},
        {"live", "+20 days", NULL, NULL, 1},
        {"used-40d-live", "+1 day", "-40 days", NULL, 1}, /* reuse detection needs it */
    };
    static const struct row secrets[] = {
        {"current", NULL, NULL, NULL, 1},          {"replaced-40d", "-40 days", NULL, NULL, 0},
        {"replaced-3d", "-3 days", NULL, NULL, 1}, {"revoked-31d", NULL, NULL, "-31 days", 0},
        {"overlapping", "+1 day", NULL, NULL, 1},
    };
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
        IT_SQL_VALUE(user, s,
                     "INSERT INTO app_user (email, password_hash, role, organisation_id)"
                     " VALUES ('prune@example.org', 'x', 'org_admin', $1::uuid) RETURNING id",
                     org);
        IT_SQL_VALUE(client, s,
                     "INSERT INTO api_client (organisation_id, client_id, name, scopes)"
                     " VALUES ($1::uuid, 'mpc_prunetestclient0000001', 'Prune client',"
                     " '[\"facilitators:read\"]') RETURNING id",
                     org);
        free(org);
    }
    add_tokens(s, user, tokens, IT_LEN(tokens));
    add_secrets(s, client, secrets, IT_LEN(secrets));

    it_launch(s, env);
    /* The job runs once at start-up. */
    if (!it_log_wait(s, "maintenance: pruned", 30000)) {
        it_log_tail(s, 20);
        fail_msg("the pruning job did not run at start-up");
    }
    assert_true(it_log_wait(s, "pruned 2 refresh token(s) and 2 API-client secret(s)", 1000));

    assert_left(s, tokens_left_sql, tokens, IT_LEN(tokens));
    assert_left(s, secrets_left_sql, secrets, IT_LEN(secrets));
    it_stop(s);
}

static void
test_retention_is_a_setting(void **state)
{
    const char *env[] = {"REGISTRY_TOKEN_RETENTION_DAYS=7", NULL};
    static const struct row tokens[] = {
        {"expired-10d", "-10 days", NULL, NULL, 0}, /* older than 7 days */
        {"expired-3d", "-3 days", NULL, NULL, 1},
    };
    struct it_server *s = it_prepare("prune7", NULL);
    char user[40];
    const char *args[] = {"serve", NULL};
    const char *bad[] = {"REGISTRY_TOKEN_RETENTION_DAYS=0", NULL};
    char *out = NULL;

    (void)state;
    IT_SQL_VALUE(user, s,
                 "INSERT INTO app_user (email, password_hash, role)"
                 " VALUES ('prune7@example.org', 'x', 'admin') RETURNING id");
    add_tokens(s, user, tokens, IT_LEN(tokens));
    assert_int_equal(it_exec(s, 0, args, bad, NULL, 30, &out), 1);
    assert_non_null(strstr(out, "REGISTRY_TOKEN_RETENTION_DAYS"));
    free(out);

    it_launch(s, env);
    if (!it_log_wait(s, "maintenance: pruned 1 refresh token(s)", 30000)) {
        it_log_tail(s, 20);
        fail_msg("the pruning job did not honour a 7-day retention");
    }
    assert_left(s, tokens_left_sql, tokens, IT_LEN(tokens));
    it_stop(s);
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_old_rows_go_recent_stay),
          cmocka_unit_test(test_retention_is_a_setting))
