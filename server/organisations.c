/* organisations.c: /v1/organisations. Licensed organisations and their contact details.
 * Bodies are validated in C against `org_fields`, then passed to SQL as one jsonb parameter,
 * so each statement maps JSON fields to columns in one place. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/audit.h"
#include "registry/auth.h"
#include "registry/db.h"
#include "registry/http.h"
#include "registry/problem.h"
#include "registry/resources.h"
#include "registry/validate.h"

#define ORG_COLUMNS                                                                                \
    "o.id, o.name, o.kind, o.address_lines, o.town, o.postcode, o.phone, o.email, o.website, "     \
    "o.public_contact, o.created_at, o.updated_at, "                                               \
    "(SELECT licence_effective_status(l.status, l.valid_until, registry_today()) FROM licence l "  \
    " WHERE l.organisation_id = o.id ORDER BY l.created_at DESC, l.id DESC LIMIT 1) "              \
    "  AS licence_status, "                                                                        \
    "o.archived_at, o.version AS _version "

const struct db_stmt organisations_stmts[] = {
    {"org_get", "SELECT " ORG_COLUMNS "FROM organisation o WHERE o.id = $1::uuid"},
    {"org_get_locked",
     "SELECT " ORG_COLUMNS "FROM organisation o WHERE o.id = $1::uuid FOR UPDATE OF o"},
    {"org_list", "SELECT * FROM (SELECT " ORG_COLUMNS "FROM organisation o "
                 " WHERE o.archived_at IS NULL"
                 "   AND ($1::uuid IS NULL OR o.id = $1::uuid)"
                 "   AND ($2::text IS NULL OR strpos(lower(o.name), lower($2::text)) > 0)"
                 "   AND ($3::text IS NULL OR o.kind = $3::text)"
                 "   AND ($5::text IS NULL OR (o.name, o.id) > ($5::text, $6::uuid))) s"
                 " WHERE ($4::text IS NULL OR coalesce(s.licence_status, 'none') = $4::text)"
                 " ORDER BY s.name, s.id LIMIT $7::int"},
    {"org_insert",
     "INSERT INTO organisation (name, kind, address_lines, town, postcode, phone, email, website,"
     " public_contact) "
     "SELECT j->>'name', j->>'kind', j->'address_lines', j->>'town', j->>'postcode', j->>'phone',"
     " j->>'email', j->>'website', coalesce((j->>'public_contact')::boolean, false) "
     "FROM (SELECT $1::jsonb AS j) s RETURNING id"},
    {"org_update",
     "UPDATE organisation SET"
     " name = CASE WHEN j ? 'name' THEN j->>'name' ELSE name END,"
     " kind = CASE WHEN j ? 'kind' THEN j->>'kind' ELSE kind END,"
     " address_lines = CASE WHEN j ? 'address_lines' THEN j->'address_lines' ELSE address_lines "
     "END,"
     " town = CASE WHEN j ? 'town' THEN j->>'town' ELSE town END,"
     " postcode = CASE WHEN j ? 'postcode' THEN j->>'postcode' ELSE postcode END,"
     " phone = CASE WHEN j ? 'phone' THEN j->>'phone' ELSE phone END,"
     " email = CASE WHEN j ? 'email' THEN j->>'email' ELSE email END,"
     " website = CASE WHEN j ? 'website' THEN j->>'website' ELSE website END,"
     " public_contact = CASE WHEN j ? 'public_contact' THEN (j->>'public_contact')::boolean"
     "                  ELSE public_contact END,"
     " updated_at = now(), version = version + 1 "
     "FROM (SELECT $2::jsonb AS j) s WHERE id = $1::uuid"},
    {"org_has_history",
     "SELECT EXISTS (SELECT 1 FROM licence WHERE organisation_id = $1::uuid)"
     "    OR EXISTS (SELECT 1 FROM app_user WHERE organisation_id = $1::uuid)"
     "    OR EXISTS (SELECT 1 FROM facilitator_employment WHERE organisation_id = $1::uuid)"
     "    OR EXISTS (SELECT 1 FROM location WHERE organisation_id = $1::uuid)"
     "    OR EXISTS (SELECT 1 FROM programme_run WHERE organisation_id = $1::uuid) AS history,"
     "  EXISTS (SELECT 1 FROM licence WHERE organisation_id = $1::uuid"
     "          AND licence_effective_status(status, valid_until, registry_today())"
     "              IN ('pending', 'active', 'suspended')) AS licensed"},
    {"org_archive",
     "UPDATE organisation SET archived_at = now(), updated_at = now(), version = version + 1 "
     "WHERE id = $1::uuid"},
    /* Licences that ran out by date are stored as expired, so the archive holds no open one. */
    {"org_archive_licences",
     "WITH e AS (UPDATE licence SET status = 'expired', updated_at = now(), version = version + 1"
     "           WHERE organisation_id = $1::uuid AND status IN ('active', 'suspended')"
     "             AND valid_until < registry_today()"
     "           RETURNING id, valid_from, valid_until) "
     "INSERT INTO licence_status_history (licence_id, status, valid_from, valid_until, reason) "
     "SELECT id, 'expired', valid_from, valid_until, 'expired before the organisation was archived'"
     " FROM e"},
    {"org_archive_users",
     "UPDATE app_user SET disabled = true, updated_at = now(), version = version + 1 "
     "WHERE organisation_id = $1::uuid AND NOT disabled"},
    {"org_archive_tokens",
     "UPDATE refresh_token SET revoked_at = now() WHERE revoked_at IS NULL AND user_id IN "
     "(SELECT id FROM app_user WHERE organisation_id = $1::uuid)"},
    {"org_delete", "DELETE FROM organisation WHERE id = $1::uuid"},
    {NULL, NULL},
};

static const char *const org_kinds[] = {
    "local_authority", "nhs", "charity", "prison", "school", "other", NULL,
};

static const char *const licence_filter_statuses[] = {
    "pending", "active", "suspended", "expired", "revoked", "none", NULL,
};

static const struct field org_fields[] = {
    {"name", FIELD_TEXT, FIELD_REQUIRED, 1, 200, NULL},
    {"kind", FIELD_ENUM, FIELD_REQUIRED, 0, 0, org_kinds},
    {"address_lines", FIELD_TEXT_LIST, FIELD_REQUIRED, 1, 3, NULL},
    {"town", FIELD_TEXT, FIELD_REQUIRED, 1, 100, NULL},
    {"postcode", FIELD_POSTCODE, FIELD_REQUIRED, 0, 0, NULL},
    {"phone", FIELD_PHONE, FIELD_NULLABLE, 0, 0, NULL},
    {"email", FIELD_EMAIL, FIELD_NULLABLE, 0, 0, NULL},
    {"website", FIELD_URL, FIELD_NULLABLE, 0, 0, NULL},
    {"public_contact", FIELD_BOOL, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* What an org_admin may change about their own organisation: its contact details. */
static const char *const org_contact_fields[] = {
    "address_lines", "town", "postcode", "phone", "email", "website", "public_contact", NULL,
};

/* Reads organisation `id` (locked for update when `lock`) and checks the caller may see it.
 * Returns 0 with the result in *out, or the status of the problem already sent: an
 * organisation a licensee does not belong to is as absent as one that does not exist. */
static int
org_visible(const struct principal *p, const PGresult *res)
{
    return db_value(res, 0, "archived_at") == NULL || auth_is_admin(p);
}

static int
load_or_problem(struct req *r, const char *id, int lock, PGresult **out)
{
    *out = NULL;
    if (!auth_in_org(&r->principal, id)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no organisation with id %s", id);
    }
    return http_row_or_problem(r, lock ? "org_get_locked" : "org_get", id, "organisation",
                               org_visible, out);
}

int
organisations_get(struct req *r)
{
    PGresult *res = NULL;
    json_t *body = NULL;
    int status;

    if ((status = load_or_problem(r, r->params[0], 0, &res)) != 0) {
        goto out;
    }
    body = db_row_to_json(res, 0);
    status = http_send_resource(r, 200, body, db_value(res, 0, "_version"));
out:
    json_decref(body);
    PQclear(res);
    return status;
}

int
organisations_list(struct req *r)
{
    static const char *const allowed[] = {"q", "kind", "licence_status", "limit", "cursor", NULL};
    struct query q;
    struct page p = {0, NULL};
    PGresult *res = NULL;
    const char *params[7], *kind, *lstatus, *text;
    int status;

    if ((status = http_query_or_problem(r, allowed, &q)) != 0
        || (status = http_page_or_problem(r, &q, &p)) != 0) {
        goto out;
    }
    kind = query_get(&q, "kind");
    lstatus = query_get(&q, "licence_status");
    text = query_get(&q, "q");
    if (kind != NULL && !validate_in_list(org_kinds, kind)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST,
                              "kind: one of local_authority, nhs, charity, prison, school, other");
        goto out;
    }
    if (lstatus != NULL && !validate_in_list(licence_filter_statuses, lstatus)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST,
                              "licence_status: one of pending, active, "
                              "suspended, expired, revoked, none");
        goto out;
    }
    if (text != NULL && !validate_text(text, 1, 200)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "q: text of 1 to 200 characters");
        goto out;
    }
    if ((status = http_cursor_or_problem(r, &p, 2, http_cursor_text)) != 0) {
        goto out;
    }
    /* A licensee's list holds their own organisation only. */
    params[0] = auth_is_admin(&r->principal) ? NULL : r->principal.org;
    params[1] = text;
    params[2] = kind;
    params[3] = lstatus;
    params[4] = page_after(&p, 0);
    params[5] = page_after(&p, 1);
    status = page_query_send(r, "org_list", params, 7, &p, "name");
out:
    PQclear(res);
    page_cleanup(&p);
    query_cleanup(&q);
    return status;
}

int
organisations_create(struct req *r)
{
    json_t *in = NULL, *errors = json_array();
    char *text = NULL, id[40];
    const char *params[1];
    int status;

    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    if (validate_fields(in, org_fields, 1, errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    text = json_dumps(in, JSON_COMPACT);
    params[0] = text;
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = http_insert_or_problem(r, "org_insert", 1, params, id, sizeof(id))) != 0) {
        goto out;
    }
    status = audit_commit_and_send(r, "create", "organisation", id, NULL, "org_get",
                                   "/v1/organisations/");
out:
    free(text);
    json_decref(errors);
    json_decref(in);
    return status;
}

int
organisations_update(struct req *r)
{
    json_t *in = NULL, *errors = json_array(), *before = NULL;
    PGresult *res = NULL;
    const char *id = r->params[0], *key;
    json_t *v;
    int status;

    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    if (validate_fields(in, org_fields, 0, errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    if (json_object_size(in) == 0) {
        problem_add_error(errors, "body", "name at least one field to change");
        status = problem_send_errors(r, errors);
        goto out;
    }
    if (!auth_in_org(&r->principal, id) || !validate_uuid(id)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no organisation with id %s", id);
        goto out;
    }
    if (!auth_is_admin(&r->principal)) {
        if (strcmp(r->principal.role, "org_admin") != 0) {
            status = problem_send(r, PROBLEM_FORBIDDEN,
                                  "only an organisation admin may edit "
                                  "its details");
            goto out;
        }
        json_object_foreach(in, key, v)
        {
            if (!validate_in_list(org_contact_fields, key)) {
                status = problem_send(r, PROBLEM_FORBIDDEN,
                                      "%s: only the licensing body may change this; you may "
                                      "change contact details",
                                      key);
                goto out;
            }
        }
    }
    if ((status = http_begin_or_problem(r, 1)) != 0
        || (status = load_or_problem(r, id, 1, &res)) != 0
        || (status = http_if_match_or_problem(r, db_value(res, 0, "_version"))) != 0) {
        goto out;
    }
    if (db_value(res, 0, "archived_at") != NULL) {
        status = problem_send(r, PROBLEM_CONFLICT, "the organisation is archived");
        goto out;
    }
    before = db_row_to_json(res, 0);
    PQclear(res);
    res = NULL;
    status = audit_update_and_send(r, "org_update", "organisation", id, in, before, "org_get");
out:
    PQclear(res);
    json_decref(before);
    json_decref(errors);
    json_decref(in);
    return status;
}

int
organisations_delete(struct req *r)
{
    PGresult *res = NULL, *check = NULL;
    const char *id = r->params[0], *params[1] = {id}, *action;
    json_t *before = NULL, *after = NULL;
    int status, history;
    static const char *const archive_steps[] = {"org_archive", "org_archive_licences",
                                                "org_archive_users", "org_archive_tokens", NULL};
    const char *const *step;

    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = load_or_problem(r, id, 1, &res)) != 0) {
        goto out;
    }
    if (db_value(res, 0, "archived_at") != NULL) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no organisation with id %s", id);
        goto out;
    }
    if (http_header(r, "If-Match") != NULL
        && (status = http_if_match_or_problem(r, db_value(res, 0, "_version"))) != 0) {
        goto out;
    }
    before = db_row_to_json(res, 0);
    if ((status = http_exec_or_problem(r, "org_has_history", 1, params, &check)) != 0) {
        goto out;
    }
    if (db_bool(check, 0, "licensed")) {
        status = problem_send(r, PROBLEM_CONFLICT,
                              "the organisation holds a pending, active or "
                              "suspended licence; revoke it first");
        goto out;
    }
    history = db_bool(check, 0, "history");
    /* With history the record is kept, archived and hidden; without, it is removed. */
    for (step = history ? archive_steps : (const char *const[]){"org_delete", NULL}; *step != NULL;
         step++) {
        if ((status = http_exec_or_problem(r, *step, 1, params, NULL)) != 0) {
            goto out;
        }
    }
    action = history ? "archive" : "delete";
    if (history) {
        PQclear(res);
        res = db_exec(r->db, "org_get", 1, params);
        if (!db_ok(res) || PQntuples(res) != 1) {
            status = problem_from_db(r, res);
            goto out;
        }
        after = db_row_to_json(res, 0);
    }
    if ((status = audit_commit_or_problem(r, action, "organisation", id, before, after)) != 0) {
        goto out;
    }
    status = http_send_empty(r, 204);
out:
    PQclear(check);
    PQclear(res);
    json_decref(before);
    json_decref(after);
    return status;
}
