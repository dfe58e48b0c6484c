/* users.c: /v1/users. Accounts of the licensing body (admin), of licensees (org_admin,
 * org_staff, each bound to one organisation) and of commissioners (commissioner, bound to the
 * local authority districts of `areas` instead: read-only, reports only; see router.c).
 *
 * Who may do what:
 * - admin: create any user, list and read all, switch a licensee between org_admin and
 *   org_staff, disable or enable anyone but themselves;
 * - org_admin: create org_staff in their own organisation, list and read its users, disable or
 *   enable its org_staff;
 * - anyone: read themselves (/v1/users/me) and change their own password.
 * A user the caller may not read is answered 404, as if it did not exist.
 *
 * The password hash never leaves the database through this file: USER_COLUMNS leaves it out,
 * so neither responses nor audit snapshots can hold it. Hashing (~100 ms) runs with the
 * request's connection given back to the pool, before the transaction that stores it. */
#include "registry/users.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/audit.h"
#include "registry/auth.h"
#include "registry/db.h"
#include "registry/http.h"
#include "registry/logging.h"
#include "registry/organisations.h"
#include "registry/password.h"
#include "registry/problem.h"
#include "registry/resource.h"
#include "registry/router.h"
#include "registry/tokens.h"
#include "registry/validate.h"

/* The user as clients see it; `_`-columns are internal (db_row_to_json leaves them out), and a
 * commissioner's `areas` are shown for it only. */
#define USER_COLUMNS                                                                               \
    "u.id, u.email, u.role, u.organisation_id, u.disabled, u.created_at, u.updated_at, "           \
    "CASE WHEN u.role = 'commissioner' THEN to_jsonb(u.areas) END AS \"?areas\", "                 \
    "u.version AS _version, lower(u.email) AS _sort, "                                             \
    "(SELECT o.archived_at IS NOT NULL FROM organisation o WHERE o.id = u.organisation_id) "       \
    "  AS _org_archived "

const struct db_stmt users_stmts[] = {
    {"user_get", "SELECT " USER_COLUMNS "FROM app_user u WHERE u.id = $1::uuid"},
    {"user_get_locked",
     "SELECT " USER_COLUMNS "FROM app_user u WHERE u.id = $1::uuid FOR UPDATE OF u"},
    /* $1 the caller's organisation (NULL for admin), $2 q, $3 role, $4 organisation_id,
     * $5 disabled, $6/$7 the cursor (lower email, id), $8 limit. */
    {"user_list", "SELECT " USER_COLUMNS "FROM app_user u"
                  " WHERE ($1::uuid IS NULL OR u.organisation_id = $1::uuid)"
                  "   AND ($2::text IS NULL OR strpos(lower(u.email), lower($2::text)) > 0)"
                  "   AND ($3::text IS NULL OR u.role = $3::text)"
                  "   AND ($4::uuid IS NULL OR u.organisation_id = $4::uuid)"
                  "   AND ($5::boolean IS NULL OR u.disabled = $5::boolean)"
                  "   AND ($6::text IS NULL OR (lower(u.email), u.id) > ($6::text, $7::uuid))"
                  " ORDER BY lower(u.email), u.id LIMIT $8::int"},
    {"user_email_taken", "SELECT 1 FROM app_user WHERE lower(email) = lower($1::text)"},
    /* Held to the end of a create: a second create of the same email waits, then sees it. */
    {"user_email_lock",
     "SELECT pg_advisory_xact_lock(hashtextextended('app_user:' || lower($1::text), 0))"},
    /* $1 the body, its password replaced by password_hash. */
    {"user_insert", "INSERT INTO app_user (email, password_hash, role, organisation_id, areas)"
                    " SELECT email, password_hash, role, organisation_id, coalesce(areas, '{}')"
                    " FROM jsonb_populate_record(NULL::app_user, $1::jsonb) RETURNING id"},
    {"user_update", "UPDATE app_user u SET (role, disabled) = (SELECT role, disabled"
                    "    FROM jsonb_populate_record(u, $2::jsonb)),"
                    " updated_at = now(), version = u.version + 1 WHERE u.id = $1::uuid"},
    {"user_revoke_tokens",
     "UPDATE refresh_token SET revoked_at = now() WHERE user_id = $1::uuid AND revoked_at IS NULL"},
    {"user_credentials", "SELECT email, password_hash, disabled FROM app_user WHERE id = $1::uuid"},
    /* Only while the hash is still the one verified against: two changes cannot both pass.
     * Returns the user as it now stands. */
    {"user_set_password",
     "UPDATE app_user u SET password_hash = $2::text, updated_at = now(), version = u.version + 1"
     " WHERE u.id = $1::uuid AND u.password_hash = $3::text RETURNING " USER_COLUMNS},
    /* The codes of $1 (a JSON array) that are neither local authority districts nor Irish
     * counties (migration 0020). */
    {"user_areas_unknown",
     "SELECT string_agg(c, ', ') AS unknown FROM jsonb_array_elements_text($1::jsonb) c"
     " WHERE c NOT IN (SELECT code FROM local_authority UNION ALL SELECT code FROM irish_county)"},
    {NULL, NULL},
};

static const char *const user_roles[] = {"admin", "org_admin", "org_staff", "commissioner", NULL};

static const struct field user_create_fields[] = {
    {"email", FIELD_EMAIL, FIELD_REQUIRED, 0, 0, NULL},
    {"password", FIELD_SECRET, FIELD_REQUIRED, 0, 0, NULL},
    {"role", FIELD_ENUM, FIELD_REQUIRED, 0, 0, user_roles},
    {"organisation_id", FIELD_UUID, FIELD_NULLABLE, 0, 0, NULL},
    {"areas", FIELD_TEXT_LIST, 0, 1, 50, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static const struct field user_update_fields[] = {
    {"role", FIELD_ENUM, 0, 0, 0, user_roles},
    {"disabled", FIELD_BOOL, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static const struct field password_fields[] = {
    {"current_password", FIELD_SECRET, FIELD_REQUIRED, 0, 0, NULL},
    {"new_password", FIELD_SECRET, FIELD_REQUIRED, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* 1 when the caller may read user row 0 of `res`: themselves, their organisation's users for an
 * org_admin, anyone for an admin. */
static int
may_read(const struct principal *p, const PGresult *res)
{
    const char *id = db_value(res, 0, "id");

    return (id != NULL && strcmp(id, p->sub) == 0)
           || ((auth_is_admin(p) || resource_org_admin(p)) && resource_in_org(p, res));
}

/* Only an admin or an organisation admin lists users (a list scoped to their own organisation). */
static int
users_listing(struct req *r, const struct query *q, const char **params)
{
    (void)q;
    (void)params;
    if (!auth_is_admin(&r->principal) && !resource_org_admin(&r->principal)) {
        return problem_send(
            r, PROBLEM_FORBIDDEN,
            "only an admin or an organisation admin may list users; read yourself at /v1/users/me");
    }
    return 0;
}

/* Checks a PATCH against the target row: who may change what. Returns 0, or the status of the
 * problem already sent (403 for what the caller's role never allows, 422 for changes no one
 * may make, 409 for enabling a user of an archived organisation). */
static int
update_allowed_or_problem(struct req *r, json_t *in, const PGresult *res, json_t *errors)
{
    const char *id = db_value(res, 0, "id");
    const char *current = db_value(res, 0, "role");
    json_t *role = json_object_get(in, "role");
    json_t *disabled = json_object_get(in, "disabled");
    int self = strcmp(id, r->principal.sub) == 0;

    (void)errors;
    if (json_is_true(disabled) && self) {
        return problem_send_field(r, "disabled", "you cannot disable yourself");
    }
    if (!auth_is_admin(&r->principal)) {
        if (!resource_org_admin(&r->principal)) {
            return problem_send(r, PROBLEM_FORBIDDEN,
                                "only an admin or an organisation admin may change users");
        }
        if (role != NULL) {
            return problem_send(r, PROBLEM_FORBIDDEN,
                                "role: only the licensing body may change roles");
        }
        if (strcmp(current, "org_staff") != 0) {
            return problem_send(r, PROBLEM_FORBIDDEN,
                                "an organisation admin may change org_staff only");
        }
    }
    if (role != NULL && strcmp(json_string_value(role), current) != 0
        && (strcmp(json_string_value(role), "admin") == 0 || strcmp(current, "admin") == 0
            || strcmp(json_string_value(role), "commissioner") == 0
            || strcmp(current, "commissioner") == 0)) {
        return problem_send_field(r, "role",
                                  "cannot change to or from admin or commissioner; they are not "
                                  "bound to an organisation and a licensee is");
    }
    if (json_is_false(disabled) && db_bool(res, 0, "_org_archived")) {
        return problem_send(r, PROBLEM_CONFLICT, "the user's organisation is archived");
    }
    return 0;
}

/* A disabled user's sessions end now, not when their refresh tokens expire. */
static int
user_written(struct req *r, const char *id, const PGresult *cur, json_t *in)
{
    const char *params[1] = {id};

    (void)cur;
    if (!json_is_true(json_object_get(in, "disabled"))) {
        return 0;
    }
    return http_exec_or_problem(r, "user_revoke_tokens", 1, params, NULL);
}

static const struct filter user_filters[] = {
    {"q", FILTER_EMAIL_TEXT, NULL},
    {"role", FILTER_ENUM, user_roles},
    {"organisation_id", FILTER_UUID, NULL},
    {"disabled", FILTER_BOOL, NULL},
    {NULL, 0, NULL},
};

const struct resource user_resource = {
    .name = "user",
    .stmt = "user",
    .fields = user_update_fields,
    .org_scoped = 1,
    .filters = user_filters,
    .sort_key = "_sort",
    .cursor_ok = http_cursor_text,
    .visible = may_read,
    .rules = {.check = update_allowed_or_problem,
              .written = user_written,
              .listing = users_listing},
};

/* A password could not be hashed: logs it and answers 500. Returns the status sent. */
static int
hash_failed(struct req *r)
{
    logging_event("error", r->request_id, "users: cannot hash a password request_id=%s",
                  r->request_id);
    return problem_send(r, PROBLEM_INTERNAL, NULL);
}

/* Makes path parameter 0 the caller's id when it is "me" (or absent: /v1/users/me). Returns 0,
 * or the status sent. */
static int
me_or_problem(struct req *r)
{
    char *self;

    if (r->nparams > 0 && strcmp(r->params[0], "me") != 0) {
        return 0;
    }
    if ((self = strdup(r->principal.sub)) == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    if (r->nparams > 0) {
        free(r->params[0]);
    } else {
        r->nparams = 1;
    }
    r->params[0] = self;
    return 0;
}

int
users_get(struct req *r)
{
    int status = me_or_problem(r);

    return status != 0 ? status : resource_get(r, &user_resource);
}

/* GET /v1/users/me: the caller's own account. An API client's token names no user (the router
 * refuses clients here, as on every route without a scope). */
int
users_me(struct req *r)
{
    return users_get(r);
}

int
users_update(struct req *r)
{
    int status = me_or_problem(r);

    return status != 0 ? status : resource_update(r, &user_resource);
}

/* org_staff never creates users: refused before the body is read, as the router would. */
static int
user_create_permitted(struct req *r)
{
    if (!auth_is_admin(&r->principal) && !resource_org_admin(&r->principal)) {
        return problem_send(r, PROBLEM_FORBIDDEN,
                            "only an admin or an organisation admin may create users");
    }
    return 0;
}

/* 409 when a user has the email already. Returns 0, or the status sent. */
static int
email_free_or_problem(struct req *r, const char *email)
{
    const char *params[1] = {email};
    PGresult *res = NULL;
    int status = http_exec_or_problem(r, "user_email_taken", 1, params, &res);

    if (status == 0 && PQntuples(res) > 0) {
        status = problem_send(r, PROBLEM_CONFLICT, "email: a user with this email exists");
    }
    PQclear(res);
    return status;
}

/* A commissioner's `areas`: required, and only for a commissioner; ONS district codes (or Irish
 * counties), each once, each a known local authority (or county). Adds to `errors`, or answers a
 * database failure. */
static int
areas_or_problem(struct req *r, json_t *in, const char *role, json_t *errors)
{
    json_t *areas = json_object_get(in, "areas"), *v;
    PGresult *res = NULL;
    char *text;
    size_t i;
    int status;

    if (strcmp(role, "commissioner") != 0) {
        if (areas != NULL) {
            problem_add_error(errors, "areas", "only a commissioner is bound to areas");
        }
        return 0;
    }
    if (areas == NULL) {
        problem_add_error(errors, "areas",
                          "is required for a commissioner: the local authority "
                          "district codes they commission for");
        return 0;
    }
    json_array_foreach(areas, i, v)
    {
        if (!validate_area_code(json_string_value(v))) {
            problem_add_error(errors, "areas",
                              "each must be an ONS code such as E06000035, or an Irish county "
                              "such as IE-CO");
            return 0;
        }
    }
    if (!resource_known_unique(in, "areas", NULL, errors)
        || (text = json_dumps(areas, JSON_COMPACT)) == NULL) {
        return 0;
    }
    status = http_exec_or_problem(r, "user_areas_unknown", 1, (const char **)&text, &res);
    if (status == 0 && db_value(res, 0, "unknown") != NULL) {
        problem_add_rule(errors, "areas", "area_unknown", "not local authority districts: %.200s",
                         db_value(res, 0, "unknown"));
    }
    free(text);
    PQclear(res);
    return status;
}

/* A new user's rules, and its password hashed (in place of the password in `in`) with the
 * request's connection given back meanwhile. The cheap refusals come before the slow hash;
 * user_create_check checks again in the transaction. */
static int
user_create_normalise(struct req *r, json_t *in, json_t *errors)
{
    const char *email = json_string_value(json_object_get(in, "email"));
    const char *password = json_string_value(json_object_get(in, "password"));
    const char *role = json_string_value(json_object_get(in, "role"));
    const char *org = json_string_value(json_object_get(in, "organisation_id")), *why;
    char hash[PASSWORD_HASH_MAX] = "";
    int status, hashed;

    if (password != NULL && (why = password_policy(password, email)) != NULL) {
        problem_add_error(errors, "password", why);
    }
    if (json_array_size(errors) > 0) {
        return 0;
    }
    if (!auth_is_admin(&r->principal)) {
        /* Their own request body: refusing it reveals nothing about other organisations. */
        if (strcmp(role, "org_staff") != 0) {
            return problem_send(r, PROBLEM_FORBIDDEN,
                                "role: an organisation admin may create org_staff only");
        }
        if (org != NULL && strcmp(org, r->principal.org) != 0) {
            return problem_send(r, PROBLEM_FORBIDDEN,
                                "organisation_id: you may add users to your own organisation only");
        }
        org = r->principal.org;
        json_object_set_new(in, "organisation_id", json_string(org));
    } else if ((status = areas_or_problem(r, in, role, errors)) != 0
               || json_array_size(errors) > 0) {
        return status;
    } else if ((strcmp(role, "admin") == 0 || strcmp(role, "commissioner") == 0) && org != NULL) {
        problem_add_error(errors, "organisation_id",
                          "must be absent or null for an admin or a "
                          "commissioner");
        return 0;
    } else if (strcmp(role, "admin") != 0 && strcmp(role, "commissioner") != 0 && org == NULL) {
        problem_add_error(errors, "organisation_id", "is required for org_admin and org_staff");
        return 0;
    }
    if ((org != NULL && (status = organisations_usable_or_problem(r, org, 0)) != 0)
        || (status = email_free_or_problem(r, email)) != 0) {
        return status;
    }
    router_db_pause(r);
    hashed = password_hash(password, hash, sizeof(hash));
    if ((status = router_db_resume_or_problem(r)) == 0 && hashed != 0) {
        status = hash_failed(r);
    } else if (status == 0) {
        json_object_del(in, "password");
        json_object_set_new(in, "password_hash", json_string(hash));
    }
    OPENSSL_cleanse(hash, sizeof(hash));
    return status;
}

/* In the transaction: the email is still free (and stays so until commit), and the organisation
 * usable, share-locked so that archiving it (which disables its users) waits for the new user
 * to commit, or the new user sees the organisation archived. */
static int
user_create_check(struct req *r, json_t *in, const PGresult *cur, json_t *errors)
{
    const char *email = json_string_value(json_object_get(in, "email"));
    const char *org = json_string_value(json_object_get(in, "organisation_id"));
    int status;

    (void)cur;
    (void)errors;
    if ((status = http_exec_or_problem(r, "user_email_lock", 1, &email, NULL)) != 0
        || (status = email_free_or_problem(r, email)) != 0) {
        return status;
    }
    return org != NULL ? organisations_usable_or_problem(r, org, 1) : 0;
}

const struct resource user_create_resource = {
    .name = "user",
    .location = "/v1/users/",
    .stmt = "user",
    .fields = user_create_fields,
    .rules = {.permitted = user_create_permitted,
              .normalise = user_create_normalise,
              .check = user_create_check},
};

int
users_password(struct req *r)
{
    json_t *in = NULL, *before = NULL, *after = NULL;
    PGresult *cred = NULL, *cur = NULL, *res = NULL; /* cred: kept (no connection needed) */
    const char *current, *next, *why, *email, *stored, *params[3] = {r->principal.sub};
    char hash[PASSWORD_HASH_MAX] = "", attempt[TOKENS_ATTEMPT_LEN];
    int status, match, hashed;

    if ((status = resource_body_or_problem(r, password_fields, 1, &in)) != 0
        || (status = http_exec_or_problem(r, "user_credentials", 1, params, &cred)) != 0) {
        goto out;
    }
    current = json_string_value(json_object_get(in, "current_password"));
    next = json_string_value(json_object_get(in, "new_password"));
    if (PQntuples(cred) != 1 || db_bool(cred, 0, "disabled")) {
        status = problem_send(r, PROBLEM_FORBIDDEN, "this account is disabled");
        goto out;
    }
    email = db_value(cred, 0, "email");
    stored = db_value(cred, 0, "password_hash");
    if ((why = password_policy(next, email)) == NULL && strcmp(next, current) == 0) {
        why = "must differ from the current password";
    }
    if (why != NULL) {
        status = problem_send_field(r, "new_password", why);
        goto out;
    }
    if ((status = tokens_attempt_or_problem(r, email, attempt)) != 0) {
        goto out;
    }
    router_db_pause(r);
    match = password_verify(current, stored);
    hashed = match ? password_hash(next, hash, sizeof(hash)) : -1;
    if ((status = router_db_resume_or_problem(r)) != 0) {
        goto out;
    }
    if (!match) {
        if ((status = tokens_attempt_end_or_problem(r, attempt, email, 0)) == 0) {
            status = problem_send(r, PROBLEM_INVALID_CREDENTIALS, "current_password is wrong");
        }
        goto out;
    }
    if (hashed != 0) {
        status = hash_failed(r);
        goto out;
    }
    params[1] = hash;
    params[2] = stored;
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status =
                http_row_or_problem(r, "user_get_locked", r->principal.sub, "user", NULL, &cur))
               != 0
        || (status = http_exec_or_problem(r, "user_set_password", 3, params, &res)) != 0) {
        goto out;
    }
    before = db_row_to_json(cur, 0);
    if (PQntuples(res) != 1) {
        status = problem_send(r, PROBLEM_CONFLICT, "the password changed meanwhile; sign in again");
        goto out;
    }
    after = db_row_to_json(res, 0);
    if ((status = http_exec_or_problem(r, "user_revoke_tokens", 1, params, NULL)) != 0
        || (status = tokens_attempt_end_or_problem(r, attempt, email, 1)) != 0
        || (status =
                audit_commit_or_problem(r, "password", "user", r->principal.sub, before, after))
               != 0) {
        goto out;
    }
    status = http_send_empty(r, 204);
out:
    OPENSSL_cleanse(hash, sizeof(hash));
    PQclear(cred);
    PQclear(cur);
    PQclear(res);
    json_decref(before);
    json_decref(after);
    json_decref(in);
    return status;
}
