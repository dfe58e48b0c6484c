/* organisations.c: /v1/organisations. Licensed organisations and their contact details, and
 * `serves_areas`: the local authority districts the organisation is commissioned for, set by the
 * licensing body (each a known local_authority code, named once); `enquiries_enabled` and
 * `enquiry_email`, whether families may ask it about a place through the finder and the address
 * their enquiries go to (enquiries.c; an org_admin sets them).
 * Bodies are validated in C against `org_fields`, then passed to SQL as one jsonb parameter,
 * so each statement maps JSON fields to columns in one place. */
#include "registry/organisations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/auth.h"
#include "registry/problem.h"
#include "registry/resource.h"

#define ORG_MAX_AREAS 400 /* local authority districts an organisation serves (the UK has ~360) */

#define ORG_COLUMNS                                                                                \
    "o.id, o.name, o.kind, o.address_lines, o.town, o.postcode, o.country, o.phone, o.email, "     \
    "o.website, "                                                                                  \
    "o.public_contact, to_jsonb(o.serves_areas) AS serves_areas, o.created_at, o.updated_at, "     \
    "o.enquiries_enabled, o.enquiry_email, o.reminders_enabled, "                                  \
    "(SELECT licence_effective_status(l.status, l.valid_until, registry_today()) FROM licence l "  \
    " WHERE l.organisation_id = o.id ORDER BY l.created_at DESC, l.id DESC LIMIT 1) "              \
    "  AS licence_status, "                                                                        \
    "o.archived_at, o.version AS _version "

const struct db_stmt organisations_stmts[] = {
    {"org_usable", "SELECT archived_at FROM organisation WHERE id = $1::uuid"},
    {"org_usable_locked", "SELECT archived_at FROM organisation WHERE id = $1::uuid FOR SHARE"},
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
     "INSERT INTO organisation (name, kind, address_lines, town, postcode, country, phone, email,"
     " website, public_contact, serves_areas, enquiries_enabled, enquiry_email, reminders_enabled) "
     "SELECT j->>'name', j->>'kind', j->'address_lines', j->>'town', j->>'postcode',"
     " coalesce(j->>'country', 'GB'), j->>'phone',"
     " j->>'email', j->>'website', coalesce((j->>'public_contact')::boolean, false),"
     " ARRAY(SELECT jsonb_array_elements_text(j->'serves_areas')),"
     " coalesce((j->>'enquiries_enabled')::boolean, false), j->>'enquiry_email',"
     " coalesce((j->>'reminders_enabled')::boolean, true) "
     "FROM (SELECT $1::jsonb AS j) s RETURNING id"},
    /* The columns of the changes $2 replace the stored ones (jsonb_populate_record). */
    {"org_update",
     "UPDATE organisation o SET (name, kind, address_lines, town, postcode, country, phone, email,"
     " website, public_contact, serves_areas, enquiries_enabled, enquiry_email, reminders_enabled)"
     " = (SELECT name, kind, address_lines, town, postcode, country, phone, email, website,"
     " public_contact, serves_areas, enquiries_enabled, enquiry_email, reminders_enabled FROM"
     " jsonb_populate_record(o, $2::jsonb)),"
     " updated_at = now(), version = o.version + 1 WHERE o.id = $1::uuid"},
    {"org_has_history",
     "SELECT EXISTS (SELECT 1 FROM licence WHERE organisation_id = $1::uuid)"
     "    OR EXISTS (SELECT 1 FROM app_user WHERE organisation_id = $1::uuid)"
     "    OR EXISTS (SELECT 1 FROM facilitator_employment WHERE organisation_id = $1::uuid)"
     "    OR EXISTS (SELECT 1 FROM location WHERE organisation_id = $1::uuid)"
     "    OR EXISTS (SELECT 1 FROM programme_run WHERE organisation_id = $1::uuid) AS history,"
     "  EXISTS (SELECT 1 FROM licence WHERE organisation_id = $1::uuid"
     "          AND licence_effective_status(status, valid_until, registry_today())"
     "              IN ('pending', 'active', 'suspended')) AS licensed"},
    /* Archives organisation $1 in one statement: the record is kept and hidden, its users
     * disabled and their refresh tokens revoked. Licences that ran out by date are stored as
     * expired, so the archive holds no open one. */
    {"org_archive",
     "WITH a AS (UPDATE organisation SET archived_at = now(), updated_at = now(),"
     "           version = version + 1 WHERE id = $1::uuid),"
     " e AS (UPDATE licence SET status = 'expired', updated_at = now(), version = version + 1"
     "       WHERE organisation_id = $1::uuid AND status IN ('active', 'suspended')"
     "         AND valid_until < registry_today()"
     "       RETURNING id, valid_from, valid_until),"
     " h AS (INSERT INTO licence_status_history (licence_id, status, valid_from, valid_until,"
     "       reason) SELECT id, 'expired', valid_from, valid_until,"
     "       'expired before the organisation was archived' FROM e),"
     " u AS (UPDATE app_user SET disabled = true, updated_at = now(), version = version + 1"
     "       WHERE organisation_id = $1::uuid AND NOT disabled) "
     "UPDATE refresh_token SET revoked_at = now() WHERE revoked_at IS NULL AND user_id IN "
     "(SELECT id FROM app_user WHERE organisation_id = $1::uuid)"},
    {"org_delete", "DELETE FROM organisation WHERE id = $1::uuid"},
    /* $1 local authority codes (a JSON array): those not in local_authority (nor Irish counties,
     * migration 0020), in the order given, or NULL. */
    {"org_areas_unknown",
     "SELECT string_agg(u.code, ', ' ORDER BY u.n) AS unknown"
     " FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY AS u(code, n)"
     " WHERE NOT EXISTS (SELECT 1 FROM local_authority a WHERE a.code = u.code)"
     "   AND NOT EXISTS (SELECT 1 FROM irish_county c WHERE c.code = u.code)"},
    {NULL, NULL},
};

static const char *const org_kinds[] = {
    "local_authority", "nhs", "charity", "prison", "school", "other", NULL,
};

/* The countries of an address: GB (the UK, Northern Ireland included) and IE (the Republic of
 * Ireland). */
static const char *const org_countries[] = {"GB", "IE", NULL};

static const char *const licence_filter_statuses[] = {
    "pending", "active", "suspended", "expired", "revoked", "none", NULL,
};

static const struct field org_fields[] = {
    {"name", FIELD_TEXT, FIELD_REQUIRED, 1, 200, NULL},
    {"kind", FIELD_ENUM, FIELD_REQUIRED, 0, 0, org_kinds},
    {"address_lines", FIELD_TEXT_LIST, FIELD_REQUIRED, 1, 3, NULL},
    {"town", FIELD_TEXT, FIELD_REQUIRED, 1, 100, NULL},
    {"postcode", FIELD_POSTAL, FIELD_REQUIRED, 0, 0, NULL},
    {"country", FIELD_ENUM, 0, 0, 0, org_countries},
    {"phone", FIELD_PHONE, FIELD_NULLABLE, 0, 0, NULL},
    {"email", FIELD_EMAIL, FIELD_NULLABLE, 0, 0, NULL},
    {"website", FIELD_URL, FIELD_NULLABLE, 0, 0, NULL},
    {"public_contact", FIELD_BOOL, 0, 0, 0, NULL},
    {"serves_areas", FIELD_TEXT_LIST, 0, 0, ORG_MAX_AREAS, NULL},
    {"enquiries_enabled", FIELD_BOOL, 0, 0, 0, NULL},
    {"enquiry_email", FIELD_EMAIL, FIELD_NULLABLE, 0, 0, NULL},
    {"reminders_enabled", FIELD_BOOL, 0, 0, 0, NULL}, /* e-mail reminders (reminders.c) */
    {NULL, 0, 0, 0, 0, NULL},
};

/* What an org_admin may change about their own organisation: its contact details, and whether
 * families' enquiries come to it and where (enquiries.c). */
static const char *const org_contact_fields[] = {
    "address_lines",
    "town",
    "postcode",
    "country",
    "phone",
    "email",
    "website",
    "public_contact",
    "enquiries_enabled",
    "enquiry_email",
    "reminders_enabled",
    NULL,
};

/* An organisation a licensee does not belong to is as absent as one that does not exist, and an
 * archived one is hidden from all but the licensing body. */
static int
org_visible(const struct principal *p, const PGresult *res)
{
    return auth_in_org(p, db_value(res, 0, "id"))
           && (db_value(res, 0, "archived_at") == NULL || auth_is_admin(p));
}

/* Who may change what, before any database work (after the body's own checks, which answer
 * first): the licensing body everything; an org_admin the contact details of their own
 * organisation; anyone else nothing. Creating is for the licensing body only (the router). */
static int
org_normalise(struct req *r, json_t *in, json_t *errors)
{
    const char *id = r->params[0], *key;
    json_t *v;

    resource_known_unique(in, "serves_areas", NULL, errors); /* each code once */
    if (auth_is_admin(&r->principal) || json_array_size(errors) > 0 || json_object_size(in) == 0) {
        return 0;
    }
    if (!auth_in_org(&r->principal, id)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no organisation with id %s", id);
    }
    if (!resource_org_admin(&r->principal)) {
        return problem_send(r, PROBLEM_FORBIDDEN,
                            "only an organisation admin may edit its details");
    }
    json_object_foreach(in, key, v)
    {
        if (!validate_in_list(org_contact_fields, key)) {
            return problem_send(r, PROBLEM_FORBIDDEN,
                                "%s: only the licensing body may change this; you may change "
                                "contact details",
                                key);
        }
    }
    return 0;
}

/* Enquiries on need an address to go to: the organisation as it will be (the change over the
 * stored row) has an enquiry_email when enquiries_enabled is true. */
static void
enquiry_address_rule(json_t *in, const PGresult *cur, json_t *errors)
{
    json_t *on = json_object_get(in, "enquiries_enabled"),
           *email = json_object_get(in, "enquiry_email");
    int enabled =
        on != NULL ? json_is_true(on) : cur != NULL && db_bool(cur, 0, "enquiries_enabled");
    int has_email = email != NULL ? json_is_string(email)
                                  : cur != NULL && db_value(cur, 0, "enquiry_email") != NULL;

    if (enabled && !has_email) {
        problem_add_error(errors, "enquiry_email",
                          "is required while enquiries_enabled is true: the address families' "
                          "enquiries go to");
    }
}

/* An archived organisation is not changed; its postcode is of its country's form; every area it
 * is to serve is a known local authority. */
static int
org_check(struct req *r, json_t *in, const PGresult *cur, json_t *errors)
{
    json_t *areas = json_object_get(in, "serves_areas");
    char *text = NULL, detail[300];
    const char *params[1];
    PGresult *res = NULL;
    int status = 0;

    if (cur != NULL && db_value(cur, 0, "archived_at") != NULL) {
        return problem_send(r, PROBLEM_CONFLICT, "the organisation is archived");
    }
    resource_postal_check(in, cur, errors);
    enquiry_address_rule(in, cur, errors);
    if (json_array_size(areas) == 0) {
        return 0;
    }
    if ((params[0] = text = json_dumps(areas, JSON_COMPACT)) == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    if ((status = http_exec_or_problem(r, "org_areas_unknown", 1, params, &res)) == 0
        && db_value(res, 0, "unknown") != NULL) {
        snprintf(detail, sizeof(detail),
                 "not a known local authority code: %.200s (mpact-registry import-areas loads "
                 "them)",
                 db_value(res, 0, "unknown"));
        problem_add_error(errors, "serves_areas", detail);
    }
    PQclear(res);
    free(text);
    return status;
}

/* An organisation with a pending, active or suspended licence is not removed (409). With history
 * (licences, users, staff, locations, runs) the record is kept, archived and hidden; without, it
 * is removed. */
static int
org_removing(struct req *r, const PGresult *cur, const char **stmt)
{
    const char *params[1] = {db_value(cur, 0, "id")};
    PGresult *check = NULL;
    int status;

    if ((status = http_exec_or_problem(r, "org_has_history", 1, params, &check)) != 0) {
        return status;
    }
    if (db_bool(check, 0, "licensed")) {
        status = problem_send(r, PROBLEM_CONFLICT,
                              "the organisation holds a pending, active or suspended licence; "
                              "revoke it first");
    } else if (db_bool(check, 0, "history")) {
        *stmt = "org_archive";
    }
    PQclear(check);
    return status;
}

int
organisations_usable_or_problem(struct req *r, const char *org, int lock)
{
    const char *params[1] = {org};
    PGresult *res = NULL;
    int status =
        http_exec_or_problem(r, lock ? "org_usable_locked" : "org_usable", 1, params, &res);

    if (status == 0 && (PQntuples(res) != 1 || db_value(res, 0, "archived_at") != NULL)) {
        status =
            problem_send_field(r, "organisation_id", "no such organisation, or it is archived");
    }
    PQclear(res);
    return status;
}

static const struct filter org_filters[] = {
    {"q", FILTER_TEXT, NULL},
    {"kind", FILTER_ENUM, org_kinds},
    {"licence_status", FILTER_ENUM, licence_filter_statuses},
    {NULL, 0, NULL},
};

/* A licensee's list holds their own organisation only (org_scoped). */
const struct resource org_resource = {
    .name = "organisation",
    .location = "/v1/organisations/",
    .stmt = "org",
    .fields = org_fields,
    .org_scoped = 1,
    .filters = org_filters,
    .sort_key = "name",
    .cursor_ok = http_cursor_text,
    .visible = org_visible,
    .rules = {.normalise = org_normalise, .check = org_check, .removing = org_removing},
};
