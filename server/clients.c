/* clients.c: /v1/clients, the API clients (OAuth 2.0 client credentials) of licensed
 * organisations, and the checking of their secrets for /v1/auth/token and /v1/auth/revoke.
 *
 * A client_id is "mpc_" and 16 random bytes in base64url; a secret is 32 random bytes in
 * base64url, shown once and stored only as its SHA-256 (a fast hash is enough for a secret of
 * that entropy; it is not a password). Presented secrets are compared in constant time with
 * every live secret of the client. Rotation makes a new secret and lets the previous one work
 * until the overlap ends. Secrets and their hashes never reach a response after creation, nor
 * the audit trail, nor the log. */
#include "registry/clients.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/audit.h"
#include "registry/auth.h"
#include "registry/codec.h"
#include "registry/db.h"
#include "registry/http.h"
#include "registry/problem.h"
#include "registry/resource.h"
#include "registry/validate.h"

#define CLIENT_ID_BYTES        16
#define CLIENT_SECRET_BYTES    32
#define CLIENT_SECRET_B64      48 /* room for base64url of CLIENT_SECRET_BYTES and the NUL */
#define CLIENT_OVERLAP         86400
#define CLIENT_OVERLAP_MAX     (7 * 86400)
#define CLIENT_SECRET_TEXT_MAX 256 /* a presented secret longer than this is not one of ours */

#define CLIENT_COLUMNS                                                                             \
    "c.id, c.client_id, c.name, c.scopes, c.organisation_id, c.created_at, c.updated_at, "         \
    "c.revoked_at "

const struct db_stmt clients_stmts[] = {
    {"cli_insert", "INSERT INTO api_client AS c (organisation_id, client_id, name, scopes)"
                   " SELECT o.id, $2::text, $3::text, $4::jsonb FROM organisation o"
                   " WHERE o.id = $1::uuid AND o.archived_at IS NULL RETURNING " CLIENT_COLUMNS},
    {"cli_secret_insert", "INSERT INTO api_client_secret (client_id, secret_hash)"
                          " VALUES ($1::uuid, decode($2::text, 'hex')) RETURNING id"},
    {"cli_list",
     "SELECT " CLIENT_COLUMNS ", (SELECT max(s.expires_at) FROM api_client_secret s"
     "  WHERE s.client_id = c.id AND s.revoked_at IS NULL AND s.expires_at > now())"
     "  AS previous_secret_expires_at,"
     " to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') AS _sort "
     "FROM api_client c"
     " WHERE ($1::uuid IS NULL OR c.organisation_id = $1::uuid)"
     "   AND ($2::uuid IS NULL OR c.organisation_id = $2::uuid)"
     "   AND ($3::text IS NULL OR (c.created_at, c.id) > ($3::timestamp AT TIME ZONE 'UTC',"
     "        $4::uuid))"
     " ORDER BY c.created_at, c.id LIMIT $5::int"},
    {"cli_get_locked", "SELECT " CLIENT_COLUMNS "FROM api_client c WHERE c.id = $1::uuid"
                       " FOR UPDATE"},
    {"cli_revoke", "UPDATE api_client AS c SET revoked_at = now(), updated_at = now()"
                   " WHERE c.id = $1::uuid RETURNING " CLIENT_COLUMNS},
    {"cli_secrets_revoke", "UPDATE api_client_secret SET revoked_at = now()"
                           " WHERE client_id = $1::uuid AND revoked_at IS NULL"},
    /* The live secrets of a client stop $2 seconds from now (an earlier end stays). */
    {"cli_secrets_supersede",
     "UPDATE api_client_secret SET expires_at = least(coalesce(expires_at, 'infinity'),"
     "  now() + make_interval(secs => $2::int))"
     " WHERE client_id = $1::uuid AND revoked_at IS NULL"
     "   AND (expires_at IS NULL OR expires_at > now()) RETURNING expires_at"},
    /* A live client by its public client_id, with its scopes and the hex SHA-256 of each secret
     * that still works. */
    {"cli_auth",
     "SELECT c.id, c.organisation_id,"
     " (SELECT string_agg(s, ' ') FROM jsonb_array_elements_text(c.scopes) s) AS scope,"
     " (SELECT string_agg(encode(x.secret_hash, 'hex'), ',') FROM api_client_secret x"
     "   WHERE x.client_id = c.id AND x.revoked_at IS NULL"
     "     AND (x.expires_at IS NULL OR x.expires_at > now())) AS hashes,"
     " coalesce((SELECT e.epoch FROM principal_epoch e WHERE e.principal_id = c.id), 0) AS epoch,"
     " EXISTS (SELECT 1 FROM licence l WHERE l.organisation_id = c.organisation_id"
     "   AND l.valid_from <= registry_today()"
     "   AND licence_effective_status(l.status, l.valid_until, registry_today()) = 'active')"
     "  AS licensed "
     "FROM api_client c JOIN organisation o ON o.id = c.organisation_id"
     " WHERE c.client_id = $1::text AND c.revoked_at IS NULL AND o.archived_at IS NULL"},
    {"cli_secret_revoke", "UPDATE api_client_secret SET revoked_at = now()"
                          " WHERE client_id = $1::uuid AND secret_hash = decode($2::text, 'hex')"
                          "   AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"
                          " RETURNING id, created_at, expires_at"},
    /* The pruning job: $1 retention in days. A current secret (no expiry, not revoked) stays. */
    {"cli_prune_secrets", "WITH d AS (DELETE FROM api_client_secret"
                          " WHERE expires_at < now() - make_interval(days => $1::int)"
                          " OR revoked_at < now() - make_interval(days => $1::int) RETURNING 1)"
                          " SELECT count(*) AS n FROM d"},
    {NULL, NULL},
};

static const char *const client_scopes[] = {
    "facilitators:read",
    "programmes:read",
    "programmes:write",
    "locations:write",
    "delivery:read",
    "delivery:write",
    NULL,
};

static const struct field client_fields[] = {
    {"name", FIELD_TEXT, FIELD_REQUIRED, 1, 200, NULL},
    {"scopes", FIELD_TEXT_LIST, FIELD_REQUIRED, 1, 6, NULL},
    {"organisation_id", FIELD_UUID, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static const struct field rotate_fields[] = {
    {"overlap_seconds", FIELD_INT, 0, 0, CLIENT_OVERLAP_MAX, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

int
clients_scope_known(const char *scope)
{
    return validate_in_list(client_scopes, scope);
}

/* Admins manage any organisation's clients; an org_admin their own. API clients never reach
 * these routes (the router gives them no scope). Returns 0, or the status of the 403 sent. */
static int
manage_or_problem(struct req *r, const char *what)
{
    if (auth_is_admin(&r->principal)
        || (!r->principal.client && resource_org_admin(&r->principal))) {
        return 0;
    }
    return problem_send(r, PROBLEM_FORBIDDEN, "only an admin or an organisation admin may %s",
                        what);
}

static int
client_visible(const struct principal *p, const PGresult *res)
{
    return auth_in_org(p, db_value(res, 0, "organisation_id"));
}

/* The end of a create or a rotation of client `id`, in its transaction: a new secret, the audit
 * row (`body` as it is, borrowed), commit, and 201 with `body` and the secret (the only time a
 * secret is shown), with a Location when `location`. Returns the status sent. */
static int
secret_commit_send(struct req *r, const char *action, const char *id, json_t *body, int location)
{
    char hex[65], secret[CLIENT_SECRET_B64], where[64];
    const char *params[2] = {id, hex};
    int status;

    if (codec_secret_new(CLIENT_SECRET_BYTES, secret, hex) != 0) {
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
    } else if ((status = http_exec_or_problem(r, "cli_secret_insert", 2, params, NULL)) == 0
               && (status = audit_commit_or_problem(r, action, "api_client", id, NULL, body))
                      == 0) {
        if (location) {
            snprintf(where, sizeof(where), "/v1/clients/%s", id);
            http_add_header(r, "Location", where);
        }
        json_object_set_new(body, "client_secret", json_string(secret));
        http_add_header(r, "Cache-Control", "no-store");
        status = http_send_json(r, 201, body);
    }
    OPENSSL_cleanse(secret, sizeof(secret));
    return status;
}

int
clients_create(struct req *r)
{
    json_t *in = NULL, *errors = json_array(), *body = NULL;
    PGresult *res = NULL;
    const char *org, *params[4];
    char *scopes = NULL;
    unsigned char raw[CLIENT_ID_BYTES];
    char client_id[40], id[40];
    int status;

    if ((status = manage_or_problem(r, "register API clients")) != 0
        || (status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    if (validate_fields(in, client_fields, 1, errors) == 0) {
        resource_known_unique(in, "scopes", client_scopes, errors);
    }
    org = json_string_value(json_object_get(in, "organisation_id"));
    if (auth_is_admin(&r->principal) && org == NULL && json_array_size(errors) == 0) {
        problem_add_error(errors, "organisation_id",
                          "required: the organisation the client is for");
    }
    if ((status = problem_send_errors_if_any(r, errors)) != 0) {
        goto out;
    }
    if (!auth_is_admin(&r->principal)) {
        /* An org_admin registers clients of their own organisation only. */
        if (org != NULL && strcmp(org, r->principal.org) != 0) {
            status = problem_send(r, PROBLEM_NOT_FOUND, "no organisation with id %s", org);
            goto out;
        }
        org = r->principal.org;
    }
    scopes = json_dumps(json_object_get(in, "scopes"), JSON_COMPACT);
    if (scopes == NULL || codec_random(raw, sizeof(raw)) != 0) {
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
        goto out;
    }
    memcpy(client_id, "mpc_", 4);
    codec_b64url_encode(raw, sizeof(raw), client_id + 4);
    params[0] = org;
    params[1] = client_id;
    params[2] = json_string_value(json_object_get(in, "name"));
    params[3] = scopes;
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = http_exec_or_problem(r, "cli_insert", 4, params, &res)) != 0) {
        goto out;
    }
    if (PQntuples(res) != 1) {
        status = problem_send_field(r, "organisation_id", "no such organisation");
        goto out;
    }
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    body = db_row_to_json(res, 0);
    status = secret_commit_send(r, "create", id, body, 1);
out:
    free(scopes);
    PQclear(res);
    json_decref(body);
    json_decref(errors);
    json_decref(in);
    return status;
}

static int
clients_permitted(struct req *r)
{
    return manage_or_problem(r, "list API clients");
}

static const struct filter client_filters[] = {
    {"organisation_id", FILTER_UUID, NULL},
    {NULL, 0, NULL},
};

const struct resource client_resource = {
    .name = "API client",
    .stmt = "cli",
    .org_scoped = 1,
    .filters = client_filters,
    .sort_key = "_sort",
    .cursor_ok = http_cursor_timestamp_utc,
    .rules = {.permitted = clients_permitted},
};

/* Begins the transaction and locks the client named in the path, answering 404 when it is not
 * the caller's or is revoked. Returns 0 with the row in *out, or the status sent. */
static int
lock_live_or_problem(struct req *r, PGresult **out)
{
    int status;

    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = http_row_or_problem(r, "cli_get_locked", r->params[0], "API client",
                                         client_visible, out))
               != 0) {
        return status;
    }
    if (db_value(*out, 0, "revoked_at") != NULL) {
        PQclear(*out);
        *out = NULL;
        return problem_send(r, PROBLEM_NOT_FOUND, "no API client with id %s", r->params[0]);
    }
    return 0;
}

int
clients_delete(struct req *r)
{
    json_t *before = NULL, *after = NULL;
    PGresult *res = NULL, *upd = NULL;
    const char *params[1] = {r->params[0]};
    int status;

    if ((status = manage_or_problem(r, "revoke API clients")) != 0
        || (status = lock_live_or_problem(r, &res)) != 0
        || (status = http_exec_or_problem(r, "cli_revoke", 1, params, &upd)) != 0
        || (status = http_exec_or_problem(r, "cli_secrets_revoke", 1, params, NULL)) != 0) {
        goto out;
    }
    before = db_row_to_json(res, 0);
    after = db_row_to_json(upd, 0);
    if ((status = audit_commit_or_problem(r, "delete", "api_client", r->params[0], before, after))
        == 0) {
        status = http_send_empty(r, 204);
    }
out:
    PQclear(upd);
    PQclear(res);
    json_decref(after);
    json_decref(before);
    return status;
}

int
clients_rotate_secret(struct req *r)
{
    json_t *in = NULL, *errors = json_array(), *body = NULL, *row = NULL, *prev;
    PGresult *res = NULL, *upd = NULL;
    const char *params[2];
    char overlap[16];
    long long seconds = CLIENT_OVERLAP;
    int status, n;

    if ((status = manage_or_problem(r, "rotate secrets")) != 0) {
        goto out;
    }
    /* The body is optional: none means the default overlap. */
    if (r->ri->content_length <= 0 && http_header(r, "Transfer-Encoding") == NULL
        && http_header(r, "Content-Type") == NULL) {
        in = json_object();
    } else if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    if (validate_fields(in, rotate_fields, 0, errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    if (json_object_get(in, "overlap_seconds") != NULL) {
        seconds = json_integer_value(json_object_get(in, "overlap_seconds"));
    }
    snprintf(overlap, sizeof(overlap), "%lld", seconds);
    params[0] = r->params[0];
    params[1] = overlap;
    if ((status = lock_live_or_problem(r, &res)) != 0
        || (status = http_exec_or_problem(r, "cli_secrets_supersede", 2, params, &upd)) != 0) {
        goto out;
    }
    body = json_pack("{s:s, s:s, s:I}", "id", r->params[0], "client_id",
                     db_value(res, 0, "client_id"), "overlap_seconds", (json_int_t)seconds);
    if (body == NULL) {
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
        goto out;
    }
    /* The end of the last superseded secret returned; null when none was live. */
    if ((n = PQntuples(upd)) > 0) {
        row = db_row_to_json(upd, n - 1);
    }
    prev = json_object_get(row, "expires_at");
    json_object_set(body, "previous_secret_expires_at", prev != NULL ? prev : json_null());
    status = secret_commit_send(r, "rotate_secret", r->params[0], body, 0);
out:
    PQclear(upd);
    PQclear(res);
    json_decref(row);
    json_decref(body);
    json_decref(errors);
    json_decref(in);
    return status;
}

int
clients_check_secret_or_problem(struct req *r,
                                const char *client_id,
                                const char *secret,
                                struct client_info *out)
{
    static const char dummy[] = "0000000000000000000000000000000000000000000000000000000000000000";
    PGresult *res = NULL;
    const char *params[1] = {client_id}, *hashes = dummy, *at;
    char hex[65];
    int status, match = 0;

    memset(out, 0, sizeof(*out));
    if (strlen(client_id) > 64 || strlen(secret) > CLIENT_SECRET_TEXT_MAX) {
        return 0;
    }
    if ((status = http_exec_or_problem(r, "cli_auth", 1, params, &res)) != 0) {
        return -1;
    }
    codec_sha256_hex(secret, hex);
    if (PQntuples(res) == 1 && db_value(res, 0, "hashes") != NULL) {
        hashes = db_value(res, 0, "hashes");
    }
    /* Every live secret is compared, each in constant time; an unknown client still costs one
     * comparison. */
    for (at = hashes; strlen(at) >= 64; at += at[64] == ',' ? 65 : 64) {
        match |= CRYPTO_memcmp(at, hex, 64) == 0;
        if (at[64] != ',') {
            break;
        }
    }
    if (match && PQntuples(res) == 1 && hashes != dummy) {
        snprintf(out->id, sizeof(out->id), "%s", db_value(res, 0, "id"));
        snprintf(out->org, sizeof(out->org), "%s", db_value(res, 0, "organisation_id"));
        snprintf(out->scope, sizeof(out->scope), "%s",
                 db_value(res, 0, "scope") != NULL ? db_value(res, 0, "scope") : "");
        out->epoch = atoll(db_value(res, 0, "epoch"));
        out->licensed = db_bool(res, 0, "licensed");
        status = 1;
    }
    PQclear(res);
    return status;
}

int
clients_revoke_secret_or_problem(struct req *r,
                                 const struct client_info *client,
                                 const char *secret)
{
    PGresult *res = NULL;
    json_t *after = NULL;
    const char *params[2];
    char hex[65];
    int status;

    if (strlen(secret) > CLIENT_SECRET_TEXT_MAX) {
        return 0;
    }
    codec_sha256_hex(secret, hex);
    params[0] = client->id;
    params[1] = hex;
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = http_exec_or_problem(r, "cli_secret_revoke", 2, params, &res)) != 0) {
        goto out;
    }
    if (PQntuples(res) != 1) {
        db_rollback(r->db);
        goto out; /* not one of its live secrets: nothing to do, and no oracle */
    }
    after = json_pack("{s:s, s:s}", "secret_id", PQgetvalue(res, 0, 0), "revoked_by", "client");
    /* The audit row names the client as the actor. */
    memset(&r->principal, 0, sizeof(r->principal));
    r->principal.authenticated = 1;
    r->principal.client = 1;
    snprintf(r->principal.sub, sizeof(r->principal.sub), "%s", client->id);
    snprintf(r->principal.org, sizeof(r->principal.org), "%s", client->org);
    snprintf(r->principal.role, sizeof(r->principal.role), "org_admin");
    status = audit_commit_or_problem(r, "revoke_secret", "api_client", client->id, NULL, after);
out:
    PQclear(res);
    json_decref(after);
    return status;
}

long
clients_prune_secrets(struct db_conn *c, int days)
{
    return db_exec_long(c, "cli_prune_secrets", days);
}
