/* locations.c: /v1/locations. The sites where licensees deliver M-PACT (and where training may
 * be held).
 *
 * Who may do what: admin everything; an org_admin creates, changes and deletes their own
 * organisation's locations; org_staff read their own organisation's locations. Another
 * organisation's location is answered 404, as if it did not exist.
 *
 * Behaviour where the issue is silent:
 * - Coordinates: `latitude` and `longitude` come both or neither, within the bounds of Great
 *   Britain, Northern Ireland and Ireland. When neither is given (or both are null) they are
 *   filled from the `postcode` table, or left null when the postcode is not loaded. A PATCH that
 *   moves the postcode without giving coordinates fills them again from the table.
 * - Prison and school sites are never public: `public: true` with kind prison or school (sent, or
 *   stored when a PATCH leaves kind alone) is a 422 (rule prison_school_not_public); a PATCH that
 *   makes a public site a prison or school makes it not public.
 * - `warnings`: every answer lists what keeps the site out of the finder that the client can fix:
 *   no coordinates (rule no_coordinates), when its postcode is not in the postcode table and none
 *   were given. The write still succeeds.
 * - `last_verified_on`: set to today (UK calendar) on create, and by a PATCH carrying
 *   {"verified": true} (alone or with other changes). Other changes leave it alone; it is never
 *   written directly.
 * - DELETE: a location used by a programme run or a training session is archived (archived_at
 *   set, active = false, hidden from lists and from licensees; admin still reads it); an unused
 *   one is deleted. If-Match is checked when sent. */
#include <stdio.h>
#include <stdlib.h>
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

/* Bounds of Great Britain, Northern Ireland and Ireland (as the table's CHECK). */
#define LOC_LAT_MIN 49.0
#define LOC_LAT_MAX 61.5
#define LOC_LON_MIN -11.0
#define LOC_LON_MAX 2.5

#define LOC_COLUMNS                                                                                \
    "l.id, l.organisation_id, l.name, l.kind, l.address_lines, l.town, l.postcode, l.latitude, "   \
    "l.longitude, l.accessibility, l.public, l.active, l.last_verified_on, l.archived_at, "        \
    "l.created_at, l.updated_at, "                                                                 \
    "CASE WHEN l.latitude IS NULL OR l.longitude IS NULL THEN "                                    \
    "jsonb_build_array(jsonb_build_object("                                                        \
    "  'field', 'postcode', 'rule', 'no_coordinates', 'detail', 'the site has no coordinates, so " \
    "it cannot appear in the finder until it has them: postcode ' || l.postcode || ' is not in "   \
    "the postcode table; send latitude and longitude')) ELSE '[]'::jsonb END AS warnings, "        \
    "l.version AS _version "

const struct db_stmt locations_stmts[] = {
    {"loc_get", "SELECT " LOC_COLUMNS "FROM location l WHERE l.id = $1::uuid"},
    {"loc_get_locked", "SELECT " LOC_COLUMNS "FROM location l WHERE l.id = $1::uuid FOR UPDATE"},
    /* The owner of a new location, share-locked so it cannot be archived meanwhile. */
    {"loc_org_locked", "SELECT archived_at FROM organisation WHERE id = $1::uuid FOR SHARE"},
    /* $1 the caller's organisation (NULL for admin), $2 organisation_id, $3 kind, $4 active,
     * $5/$6 the cursor (name, id), $7 limit. */
    {"loc_list", "SELECT " LOC_COLUMNS "FROM location l WHERE l.archived_at IS NULL"
                 " AND ($1::uuid IS NULL OR l.organisation_id = $1::uuid)"
                 " AND ($2::uuid IS NULL OR l.organisation_id = $2::uuid)"
                 " AND ($3::text IS NULL OR l.kind = $3::text)"
                 " AND ($4::boolean IS NULL OR l.active = $4::boolean)"
                 " AND ($5::text IS NULL OR (l.name, l.id) > ($5::text, $6::uuid))"
                 " ORDER BY l.name, l.id LIMIT $7::int"},
    /* $1 organisation, $2 the validated body. */
    {"loc_insert",
     "INSERT INTO location (organisation_id, name, kind, address_lines, town, postcode, latitude,"
     " longitude, accessibility, public, active, last_verified_on) "
     "SELECT $1::uuid, j->>'name', j->>'kind', j->'address_lines', j->>'town', j->>'postcode',"
     " CASE WHEN jsonb_typeof(j->'latitude') = 'number' THEN (j->>'latitude')::float8"
     "      ELSE pc.latitude END,"
     " CASE WHEN jsonb_typeof(j->'longitude') = 'number' THEN (j->>'longitude')::float8"
     "      ELSE pc.longitude END,"
     " j->>'accessibility',"
     " coalesce((j->>'public')::boolean, false) AND j->>'kind' NOT IN ('prison', 'school'),"
     " coalesce((j->>'active')::boolean, true), registry_today() "
     "FROM (SELECT $2::jsonb AS j) s LEFT JOIN postcode pc ON pc.postcode = s.j->>'postcode' "
     "RETURNING id"},
    /* $1 location, $2 the validated body. */
    {"loc_update",
     "UPDATE location l SET"
     " name = CASE WHEN j ? 'name' THEN j->>'name' ELSE l.name END,"
     " kind = CASE WHEN j ? 'kind' THEN j->>'kind' ELSE l.kind END,"
     " address_lines = CASE WHEN j ? 'address_lines' THEN j->'address_lines'"
     "                 ELSE l.address_lines END,"
     " town = CASE WHEN j ? 'town' THEN j->>'town' ELSE l.town END,"
     " postcode = CASE WHEN j ? 'postcode' THEN j->>'postcode' ELSE l.postcode END,"
     " latitude = CASE WHEN jsonb_typeof(j->'latitude') = 'number' THEN (j->>'latitude')::float8"
     "            WHEN j ? 'latitude' OR (j ? 'postcode' AND j->>'postcode' <> l.postcode)"
     "            THEN (SELECT p.latitude FROM postcode p"
     "                  WHERE p.postcode = coalesce(j->>'postcode', l.postcode))"
     "            ELSE l.latitude END,"
     " longitude = CASE WHEN jsonb_typeof(j->'longitude') = 'number'"
     "             THEN (j->>'longitude')::float8"
     "             WHEN j ? 'longitude' OR (j ? 'postcode' AND j->>'postcode' <> l.postcode)"
     "             THEN (SELECT p.longitude FROM postcode p"
     "                   WHERE p.postcode = coalesce(j->>'postcode', l.postcode))"
     "             ELSE l.longitude END,"
     " accessibility = CASE WHEN j ? 'accessibility' THEN j->>'accessibility'"
     "                 ELSE l.accessibility END,"
     " public = CASE WHEN coalesce(j->>'kind', l.kind) IN ('prison', 'school') THEN false"
     "          WHEN j ? 'public' THEN (j->>'public')::boolean ELSE l.public END,"
     " active = CASE WHEN j ? 'active' THEN (j->>'active')::boolean ELSE l.active END,"
     " last_verified_on = CASE WHEN (j->>'verified')::boolean THEN registry_today()"
     "                    ELSE l.last_verified_on END,"
     " updated_at = now(), version = l.version + 1 "
     "FROM (SELECT $2::jsonb AS j) s WHERE l.id = $1::uuid"},
    {"loc_used",
     "SELECT EXISTS (SELECT 1 FROM programme_run WHERE location_id = $1::uuid)"
     "    OR EXISTS (SELECT 1 FROM training_session WHERE location_id = $1::uuid) AS used"},
    {"loc_archive", "UPDATE location SET archived_at = now(), active = false, updated_at = now(),"
                    " version = version + 1 WHERE id = $1::uuid"},
    {"loc_delete", "DELETE FROM location WHERE id = $1::uuid"},
    {NULL, NULL},
};

static const char *const loc_kinds[] = {
    "community", "family_centre", "school", "prison", "health", "other", NULL,
};

/* Coordinates are checked apart (validate.c has no real-number type). */
static const struct field loc_fields[] = {
    {"organisation_id", FIELD_UUID, 0, 0, 0, NULL},
    {"name", FIELD_TEXT, FIELD_REQUIRED, 1, 200, NULL},
    {"kind", FIELD_ENUM, FIELD_REQUIRED, 0, 0, loc_kinds},
    {"address_lines", FIELD_TEXT_LIST, FIELD_REQUIRED, 1, 3, NULL},
    {"town", FIELD_TEXT, FIELD_REQUIRED, 1, 100, NULL},
    {"postcode", FIELD_POSTCODE, FIELD_REQUIRED, 0, 0, NULL},
    {"accessibility", FIELD_TEXT, FIELD_NULLABLE, 1, 2000, NULL},
    {"public", FIELD_BOOL, 0, 0, 0, NULL},
    {"active", FIELD_BOOL, 0, 0, 0, NULL},
    {"verified", FIELD_BOOL, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* Checks one coordinate: a number within [min, max], or null when `nullable`. Returns NULL when
 * fine, or the detail. */
static const char *
coordinate_problem(json_t *v, double min, double max, int nullable)
{
    double d;

    if (json_is_null(v)) {
        return nullable ? NULL : "must be a number";
    }
    if (!json_is_number(v)) {
        return "must be a number";
    }
    d = json_number_value(v);
    if (d < min || d > max) {
        return "must lie within Great Britain, Northern Ireland or Ireland";
    }
    return NULL;
}

/* Validates a location body: the field table, the coordinates (both or neither) and, on a
 * change, what may not be changed. Appends to `errors`; returns the number of errors. */
static int
validate_location(json_t *in, int creating, json_t *errors)
{
    json_t *lat = json_object_get(in, "latitude"), *lon = json_object_get(in, "longitude");
    const char *why;
    int n;

    /* Held apart while the table checks the rest, then put back. */
    json_incref(lat);
    json_incref(lon);
    json_object_del(in, "latitude");
    json_object_del(in, "longitude");
    n = validate_fields(in, loc_fields, creating, errors);
    if (lat != NULL) {
        json_object_set(in, "latitude", lat);
        if ((why = coordinate_problem(lat, LOC_LAT_MIN, LOC_LAT_MAX, 1)) != NULL) {
            problem_add_error(errors, "latitude", why);
            n++;
        }
    }
    if (lon != NULL) {
        json_object_set(in, "longitude", lon);
        if ((why = coordinate_problem(lon, LOC_LON_MIN, LOC_LON_MAX, 1)) != NULL) {
            problem_add_error(errors, "longitude", why);
            n++;
        }
    }
    if ((lat == NULL) != (lon == NULL) || (lat != NULL && json_is_null(lat) != json_is_null(lon))) {
        problem_add_error(errors, lat == NULL || json_is_null(lat) ? "latitude" : "longitude",
                          "give latitude and longitude together, or neither");
        n++;
    }
    if (json_is_false(json_object_get(in, "verified"))) {
        problem_add_error(errors, "verified",
                          "send true to re-confirm the details today; omit it otherwise");
        n++;
    }
    if (creating && json_object_get(in, "verified") != NULL) {
        problem_add_error(errors, "verified",
                          "a new location is verified on creation; use it in a PATCH");
        n++;
    }
    if (!creating && json_object_get(in, "organisation_id") != NULL) {
        problem_add_error(errors, "organisation_id", "cannot be changed");
        n++;
    }
    /* Ids compare as the database writes them. */
    if (json_is_string(json_object_get(in, "organisation_id"))
        && validate_uuid(json_string_value(json_object_get(in, "organisation_id")))) {
        char buf[40];
        size_t i;
        snprintf(buf, sizeof(buf), "%s", json_string_value(json_object_get(in, "organisation_id")));
        for (i = 0; buf[i] != '\0'; i++) {
            if (buf[i] >= 'A' && buf[i] <= 'Z') {
                buf[i] = (char)(buf[i] - 'A' + 'a');
            }
        }
        json_object_set_new(in, "organisation_id", json_string(buf));
    }
    json_decref(lat);
    json_decref(lon);
    return n;
}

/* 1 (with the error appended) when `in` asks for a public prison or school site: kind as sent,
 * else `stored_kind` (NULL on create). */
static int
public_kind_problem(json_t *in, const char *stored_kind, json_t *errors)
{
    const char *kind = json_string_value(json_object_get(in, "kind"));
    json_t *e;

    if (kind == NULL) {
        kind = stored_kind;
    }
    if (!json_is_true(json_object_get(in, "public")) || kind == NULL
        || (strcmp(kind, "prison") != 0 && strcmp(kind, "school") != 0)) {
        return 0;
    }
    e = json_pack("{s:s, s:s, s:s}", "field", "public", "rule", "prison_school_not_public",
                  "detail",
                  "a prison or school site is never public: families cannot be sent there from "
                  "the finder; send public: false or leave it out");
    json_array_append_new(errors, e);
    return 1;
}

/* 1 when the caller may create, change and delete locations of `org`. */
static int
may_manage(const struct principal *p)
{
    return auth_is_admin(p) || strcmp(p->role, "org_admin") == 0;
}

/* Reads location `id` (locked for update when `lock`) and checks the caller may see it: a
 * malformed id, a missing location, another organisation's location and (for licensees) an
 * archived one all get the same 404. Returns 0 with the result in *out, or the status sent. */
static int
loc_visible(const struct principal *p, const PGresult *res)
{
    return auth_in_org(p, db_value(res, 0, "organisation_id"))
           && (db_value(res, 0, "archived_at") == NULL || auth_is_admin(p));
}

static int
load_or_problem(struct req *r, const char *id, int lock, PGresult **out)
{
    return http_row_or_problem(r, lock ? "loc_get_locked" : "loc_get", id, "location", loc_visible,
                               out);
}

int
locations_get(struct req *r)
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
locations_list(struct req *r)
{
    static const char *const allowed[] = {"organisation_id", "kind",   "active",
                                          "limit",           "cursor", NULL};
    static const char *const bools[] = {"true", "false", NULL};
    struct query q;
    struct page p = {0, NULL};
    PGresult *res = NULL;
    const char *params[7], *org, *kind, *active;
    int status;

    if ((status = http_query_or_problem(r, allowed, &q)) != 0
        || (status = http_page_or_problem(r, &q, &p)) != 0) {
        goto out;
    }
    org = query_get(&q, "organisation_id");
    kind = query_get(&q, "kind");
    active = query_get(&q, "active");
    if (org != NULL && !validate_uuid(org)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "organisation_id: must be a UUID");
        goto out;
    }
    if (kind != NULL && !validate_in_list(loc_kinds, kind)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST,
                              "kind: one of community, family_centre, "
                              "school, prison, health, other");
        goto out;
    }
    if (active != NULL && !validate_in_list(bools, active)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "active: true or false");
        goto out;
    }
    if ((status = http_cursor_or_problem(r, &p, 2, http_cursor_text)) != 0) {
        goto out;
    }
    /* A licensee's list holds their own organisation's locations only. */
    params[0] = auth_is_admin(&r->principal) ? NULL : r->principal.org;
    params[1] = org;
    params[2] = kind;
    params[3] = active;
    params[4] = page_after(&p, 0);
    params[5] = page_after(&p, 1);
    status = page_query_send(r, "loc_list", params, 7, &p, "name");
out:
    PQclear(res);
    page_cleanup(&p);
    query_cleanup(&q);
    return status;
}

int
locations_create(struct req *r)
{
    json_t *in = NULL, *errors = json_array();
    PGresult *res = NULL;
    const char *org, *params[2];
    char *text = NULL, id[40];
    int status;

    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    if (validate_location(in, 1, errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    /* A licensee's location belongs to their own organisation; admin names it. */
    org = json_string_value(json_object_get(in, "organisation_id"));
    if (org == NULL && !auth_is_admin(&r->principal)) {
        org = r->principal.org;
    }
    if (org == NULL) {
        problem_add_error(errors, "organisation_id", "is required");
        status = problem_send_errors(r, errors);
        goto out;
    }
    if (!auth_in_org(&r->principal, org)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no organisation with id %s", org);
        goto out;
    }
    if (!may_manage(&r->principal)) {
        status =
            problem_send(r, PROBLEM_FORBIDDEN, "only an organisation admin may add its locations");
        goto out;
    }
    if (public_kind_problem(in, NULL, errors)) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    params[0] = org;
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = http_exec_or_problem(r, "loc_org_locked", 1, params, &res)) != 0) {
        goto out;
    }
    if (PQntuples(res) == 0 || db_value(res, 0, "archived_at") != NULL) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no organisation with id %s", org);
        goto out;
    }
    text = json_dumps(in, JSON_COMPACT);
    params[1] = text;
    if ((status = http_insert_or_problem(r, "loc_insert", 2, params, id, sizeof(id))) != 0) {
        goto out;
    }
    status = audit_commit_and_send(r, "create", "location", id, NULL, "loc_get", "/v1/locations/");
out:
    free(text);
    PQclear(res);
    json_decref(errors);
    json_decref(in);
    return status;
}

int
locations_update(struct req *r)
{
    json_t *in = NULL, *errors = json_array(), *before = NULL;
    PGresult *res = NULL;
    const char *id = r->params[0];
    int status;

    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    if (validate_location(in, 0, errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    if (json_object_size(in) == 0) {
        problem_add_error(errors, "body", "name at least one field to change, or verified: true");
        status = problem_send_errors(r, errors);
        goto out;
    }
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = load_or_problem(r, id, 1, &res)) != 0) {
        goto out;
    }
    if (!may_manage(&r->principal)) {
        status = problem_send(r, PROBLEM_FORBIDDEN,
                              "only an organisation admin may change its locations");
        goto out;
    }
    if ((status = http_if_match_or_problem(r, db_value(res, 0, "_version"))) != 0) {
        goto out;
    }
    if (db_value(res, 0, "archived_at") != NULL) {
        status = problem_send(r, PROBLEM_CONFLICT, "the location is archived");
        goto out;
    }
    if (public_kind_problem(in, db_value(res, 0, "kind"), errors)) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    before = db_row_to_json(res, 0);
    PQclear(res);
    res = NULL;
    status = audit_update_and_send(r, "loc_update", "location", id, in, before, "loc_get");
out:
    PQclear(res);
    json_decref(before);
    json_decref(errors);
    json_decref(in);
    return status;
}

int
locations_delete(struct req *r)
{
    PGresult *res = NULL, *check = NULL;
    const char *id = r->params[0], *params[1] = {id};
    json_t *before = NULL, *after = NULL;
    int status, used;

    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = load_or_problem(r, id, 1, &res)) != 0) {
        goto out;
    }
    if (db_value(res, 0, "archived_at") != NULL) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no location with id %s", id);
        goto out;
    }
    if (!may_manage(&r->principal)) {
        status = problem_send(r, PROBLEM_FORBIDDEN,
                              "only an organisation admin may delete its locations");
        goto out;
    }
    if (http_header(r, "If-Match") != NULL
        && (status = http_if_match_or_problem(r, db_value(res, 0, "_version"))) != 0) {
        goto out;
    }
    before = db_row_to_json(res, 0);
    /* The row is locked: a run or session naming it (which share-locks it) waits or is done. */
    if ((status = http_exec_or_problem(r, "loc_used", 1, params, &check)) != 0) {
        goto out;
    }
    used = db_bool(check, 0, "used");
    if ((status = http_exec_or_problem(r, used ? "loc_archive" : "loc_delete", 1, params, NULL))
        != 0) {
        goto out;
    }
    if (used) {
        PQclear(res);
        res = db_exec(r->db, "loc_get", 1, params);
        if (!db_ok(res) || PQntuples(res) != 1) {
            status = problem_from_db(r, res);
            goto out;
        }
        after = db_row_to_json(res, 0);
    }
    if ((status =
             audit_commit_or_problem(r, used ? "archive" : "delete", "location", id, before, after))
        != 0) {
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
