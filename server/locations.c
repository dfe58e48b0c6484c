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
 * - `local_authority`: the district of the site's postcode ({code, name}, or null), read through
 *   the postcode table on every read (migration 0014), so a new postcode import corrects it; the
 *   list filters by it (`local_authority=E06000035`).
 * - `last_verified_on`: set to today (UK calendar) on create, and by a PATCH carrying
 *   {"verified": true} (alone or with other changes). Other changes leave it alone; it is never
 *   written directly.
 * - DELETE: a location used by a programme run or a training session is archived (archived_at
 *   set, active = false, hidden from lists and from licensees; admin still reads it); an unused
 *   one is deleted. If-Match is checked when sent. */
#include "registry/locations.h"

#include <ctype.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/auth.h"
#include "registry/problem.h"
#include "registry/resource.h"

/* Bounds of Great Britain, Northern Ireland and Ireland (as the table's CHECK). */
#define LOC_LAT_MIN 49.0
#define LOC_LAT_MAX 61.5
#define LOC_LON_MIN -11.0
#define LOC_LON_MAX 2.5

/* The site's local authority district, through its postcode (read, never stored: a new import
 * corrects it): {code, name}, name null until import-areas has named it; null when the postcode
 * is not loaded or has no district. */
#define LOC_AREA                                                                                   \
    "CASE WHEN l.country = 'IE' THEN (SELECT jsonb_build_object('code', c.code, 'name', c.name) "  \
    " FROM irish_county c WHERE c.code = l.county) ELSE "                                          \
    "(SELECT jsonb_build_object('code', p.oslaua, 'name', a.name) FROM postcode p "                \
    " LEFT JOIN local_authority a ON a.code = p.oslaua "                                           \
    " WHERE p.postcode = l.postcode AND p.oslaua IS NOT NULL) END"

/* A coordinate of an Irish site from its town (TOWN, an SQL expression) in the gazetteer
 * (migration 0021): the largest place of that name in Ireland. There is no open Eircode file. */
#define LOC_PLACE(col, TOWN)                                                                       \
    "(SELECT pl." col " FROM place pl WHERE pl.country = 'IE'"                                     \
    "   AND pl.name_key = registry_fold(" TOWN ") ORDER BY pl.size DESC LIMIT 1)"

#define LOC_COLUMNS                                                                                \
    "l.id, l.organisation_id, l.name, l.kind, l.address_lines, l.town, l.postcode, l.country, "    \
    "l.county, l.latitude, l.longitude, l.accessibility, l.public, l.active, l.last_verified_on, " \
    "l.archived_at, l.created_at, l.updated_at, " LOC_AREA " AS local_authority, "                 \
    "CASE WHEN (l.latitude IS NULL OR l.longitude IS NULL) AND l.country = 'IE' THEN "             \
    "jsonb_build_array(jsonb_build_object("                                                        \
    "  'field', 'town', 'rule', 'no_coordinates', 'detail', 'the site has no coordinates, so it "  \
    "cannot appear in the finder until it has them: there is no open Eircode file and town ' || "  \
    "l.town || ' is not among the places of Ireland (mpact-registry import-places); send "         \
    "latitude and longitude'))"                                                                    \
    " WHEN l.latitude IS NULL OR l.longitude IS NULL THEN "                                        \
    "jsonb_build_array(jsonb_build_object("                                                        \
    "  'field', 'postcode', 'rule', 'no_coordinates', 'detail', 'the site has no coordinates, so " \
    "it cannot appear in the finder until it has them: postcode ' || l.postcode || ' is not in "   \
    "the postcode table; send latitude and longitude')) ELSE '[]'::jsonb END AS warnings, "        \
    "l.version AS _version "

/* A coordinate `col` after a PATCH (j the changes, l the row): as sent; for an Irish site, from
 * its town's place when the town or the country changes or a null names none; for a UK site,
 * from the postcode table when a change of postcode or a null names none; else as stored. */
/* clang-format off */
#define LOC_NEW_COORD(col)                                                                         \
    "CASE WHEN jsonb_typeof(j->'" col "') = 'number' THEN (j->>'" col "')::float8"                 \
    " WHEN coalesce(j->>'country', l.country) = 'IE' THEN CASE WHEN j ? '" col "'"                 \
    "   OR coalesce(j->>'town', l.town) <> l.town OR j->>'country' <> l.country"                   \
    "   THEN " LOC_PLACE(col, "coalesce(j->>'town', l.town)") " ELSE l." col " END"                \
    " WHEN j ? '" col "' OR (j ? 'postcode' AND j->>'postcode' <> l.postcode)"                     \
    " THEN (SELECT p." col " FROM postcode p WHERE p.postcode = coalesce(j->>'postcode',"          \
    " l.postcode)) ELSE l." col " END"
#define LOC_NEW_LAT LOC_NEW_COORD("latitude")
#define LOC_NEW_LON LOC_NEW_COORD("longitude")
/* A new site's coordinate `col`: as sent; for an Irish site, its town's place; else its
 * postcode's (pc). */
#define LOC_FIRST_COORD(col)                                                                       \
    "CASE WHEN jsonb_typeof(j->'" col "') = 'number' THEN (j->>'" col "')::float8"                 \
    " WHEN j->>'country' = 'IE' THEN " LOC_PLACE(col, "j->>'town'") " ELSE pc." col " END"
#define LOC_FIRST_LAT LOC_FIRST_COORD("latitude")
#define LOC_FIRST_LON LOC_FIRST_COORD("longitude")
/* clang-format on */

const struct db_stmt locations_stmts[] = {
    {"loc_get", "SELECT " LOC_COLUMNS "FROM location l WHERE l.id = $1::uuid"},
    {"loc_get_locked", "SELECT " LOC_COLUMNS "FROM location l WHERE l.id = $1::uuid FOR UPDATE"},
    /* The owner of a new location, share-locked so it cannot be archived meanwhile. */
    {"loc_org_locked", "SELECT archived_at FROM organisation WHERE id = $1::uuid FOR SHARE"},
    /* $1 the caller's organisation (NULL for admin), $2 organisation_id, $3 kind, $4 active,
     * $5 local_authority, $6/$7 the cursor (name, id), $8 limit. */
    {"loc_list", "SELECT " LOC_COLUMNS "FROM location l WHERE l.archived_at IS NULL"
                 " AND ($1::uuid IS NULL OR l.organisation_id = $1::uuid)"
                 " AND ($2::uuid IS NULL OR l.organisation_id = $2::uuid)"
                 " AND ($3::text IS NULL OR l.kind = $3::text)"
                 " AND ($4::boolean IS NULL OR l.active = $4::boolean)"
                 " AND ($5::text IS NULL OR CASE WHEN l.country = 'IE' THEN l.county = $5::text"
                 "      ELSE (SELECT p.oslaua FROM postcode p"
                 "            WHERE p.postcode = l.postcode) = $5::text END)"
                 " AND ($6::text IS NULL OR (l.name, l.id) > ($6::text, $7::uuid))"
                 " ORDER BY l.name, l.id LIMIT $8::int"},
    /* $1 the validated body, organisation_id settled (loc_normalise). */
    {"loc_insert",
     "INSERT INTO location (organisation_id, name, kind, address_lines, town, postcode, country,"
     " county, latitude, longitude, accessibility, public, active, last_verified_on) "
     "SELECT (j->>'organisation_id')::uuid, j->>'name', j->>'kind', j->'address_lines', j->>'town',"
     " j->>'postcode', coalesce(j->>'country', 'GB'), j->>'county', " LOC_FIRST_LAT
     ", " LOC_FIRST_LON ", j->>'accessibility',"
     " coalesce((j->>'public')::boolean, false) AND j->>'kind' NOT IN ('prison', 'school'),"
     " coalesce((j->>'active')::boolean, true), registry_today() "
     "FROM (SELECT $1::jsonb AS j) s LEFT JOIN postcode pc ON pc.postcode = s.j->>'postcode' "
     "RETURNING id"},
    /* $1 location, $2 the validated body. The plain columns of $2 replace the stored ones
     * (jsonb_populate_record); coordinates come from the postcode table when a change of postcode
     * or a null names none; a prison or school is never public; verified: true sets
     * last_verified_on to today. */
    {"loc_update",
     "UPDATE location l SET (name, kind, address_lines, town, postcode, country, county,"
     " accessibility, active) = (SELECT name, kind, address_lines, town, postcode, country, county,"
     " accessibility, active FROM jsonb_populate_record(l, $2::jsonb)),"
     " latitude = " LOC_NEW_LAT ", longitude = " LOC_NEW_LON ","
     " public = CASE WHEN coalesce(j->>'kind', l.kind) IN ('prison', 'school') THEN false"
     "          WHEN j ? 'public' THEN (j->>'public')::boolean ELSE l.public END,"
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
    /* $1 an Irish county's code: its name, when it is one (migration 0020). */
    {"loc_county", "SELECT name FROM irish_county WHERE code = $1::text"},
    {NULL, NULL},
};

static const char *const loc_kinds[] = {
    "community", "family_centre", "school", "prison", "health", "other", NULL,
};

/* GB: the UK, Northern Ireland included (a BT postcode); IE: the Republic of Ireland. */
static const char *const loc_countries[] = {"GB", "IE", NULL};

/* The coordinates are not in the table (validate.c has no real-number type): loc_normalise
 * checks them. */
static const struct field loc_fields[] = {
    {"organisation_id", FIELD_UUID, 0, 0, 0, NULL},
    {"name", FIELD_TEXT, FIELD_REQUIRED, 1, 200, NULL},
    {"kind", FIELD_ENUM, FIELD_REQUIRED, 0, 0, loc_kinds},
    {"address_lines", FIELD_TEXT_LIST, FIELD_REQUIRED, 1, 3, NULL},
    {"town", FIELD_TEXT, FIELD_REQUIRED, 1, 100, NULL},
    {"postcode", FIELD_POSTAL, FIELD_REQUIRED, 0, 0, NULL},
    {"country", FIELD_ENUM, 0, 0, 0, loc_countries},
    {"county", FIELD_TEXT, FIELD_NULLABLE, 1, 8, NULL},
    {"accessibility", FIELD_TEXT, FIELD_NULLABLE, 1, 2000, NULL},
    {"public", FIELD_BOOL, 0, 0, 0, NULL},
    {"active", FIELD_BOOL, 0, 0, 0, NULL},
    {"verified", FIELD_BOOL, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* Checks one coordinate: a number within [min, max], or null. Returns NULL when fine, or the
 * detail. */
static const char *
coordinate_problem(json_t *v, double min, double max)
{
    double d;

    if (json_is_null(v)) {
        return NULL;
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

/* The coordinates of `in`: the field table's "not a field" errors about them give way to the
 * real checks, both or neither, in the order the errors had. */
static void
check_coordinates(json_t *in, json_t *errors)
{
    json_t *lat = json_object_get(in, "latitude"), *lon = json_object_get(in, "longitude");
    const char *why;
    size_t i;

    for (i = json_array_size(errors); i-- > 0;) {
        const char *f = json_string_value(json_object_get(json_array_get(errors, i), "field"));
        if (f != NULL && (strcmp(f, "latitude") == 0 || strcmp(f, "longitude") == 0)) {
            json_array_remove(errors, i);
        }
    }
    if (lat != NULL && (why = coordinate_problem(lat, LOC_LAT_MIN, LOC_LAT_MAX)) != NULL) {
        problem_add_error(errors, "latitude", why);
    }
    if (lon != NULL && (why = coordinate_problem(lon, LOC_LON_MIN, LOC_LON_MAX)) != NULL) {
        problem_add_error(errors, "longitude", why);
    }
    if ((lat == NULL) != (lon == NULL) || (lat != NULL && json_is_null(lat) != json_is_null(lon))) {
        problem_add_error(errors, lat == NULL || json_is_null(lat) ? "latitude" : "longitude",
                          "give latitude and longitude together, or neither");
    }
}

/* 1 (with the error appended) when `in` asks for a public prison or school site: kind as sent,
 * else `stored_kind` (NULL on create). */
static int
public_kind_problem(json_t *in, const char *stored_kind, json_t *errors)
{
    const char *kind = json_string_value(json_object_get(in, "kind"));

    if (kind == NULL) {
        kind = stored_kind;
    }
    if (!json_is_true(json_object_get(in, "public")) || kind == NULL
        || (strcmp(kind, "prison") != 0 && strcmp(kind, "school") != 0)) {
        return 0;
    }
    json_array_append_new(errors,
                          json_pack("{s:s, s:s, s:s}", "field", "public", "rule",
                                    "prison_school_not_public", "detail",
                                    "a prison or school site is never public: families cannot be "
                                    "sent there from the finder; send public: false or leave it "
                                    "out"));
    return 1;
}

/* 1 when the caller may create, change and delete the locations of an organisation they see. */
static int
may_manage(const struct principal *p)
{
    return auth_is_admin(p) || resource_org_admin(p);
}

/* A malformed id, a missing location, another organisation's location and (for licensees) an
 * archived one all get the same 404. */
static int
loc_visible(const struct principal *p, const PGresult *res)
{
    return resource_in_org(p, res) && (db_value(res, 0, "archived_at") == NULL || auth_is_admin(p));
}

/* The body's checks beyond the field table, and who may create (a POST; a PATCH is checked
 * against the stored row in loc_check). */
static int
loc_normalise(struct req *r, json_t *in, json_t *errors)
{
    int creating = strcmp(r->method, "POST") == 0;
    const char *org;

    check_coordinates(in, errors);
    if (json_is_false(json_object_get(in, "verified"))) {
        problem_add_error(errors, "verified",
                          "send true to re-confirm the details today; omit it otherwise");
    }
    if (creating && json_object_get(in, "verified") != NULL) {
        problem_add_error(errors, "verified",
                          "a new location is verified on creation; use it in a PATCH");
    }
    if (!creating && json_object_get(in, "organisation_id") != NULL) {
        problem_add_error(errors, "organisation_id", "cannot be changed");
    }
    resource_uuid_lower(json_object_get(in, "organisation_id"));
    if (json_array_size(errors) > 0 || !creating) {
        if (json_array_size(errors) == 0 && json_object_size(in) == 0) {
            problem_add_error(errors, "body",
                              "name at least one field to change, or verified: true");
        }
        return 0;
    }
    /* A licensee's location belongs to their own organisation; admin names it. */
    org = json_string_value(json_object_get(in, "organisation_id"));
    if (org == NULL && !auth_is_admin(&r->principal)) {
        json_object_set_new(in, "organisation_id", json_string(r->principal.org));
        org = r->principal.org;
    }
    if (org == NULL) {
        problem_add_error(errors, "organisation_id", "is required");
        return 0;
    }
    if (!auth_in_org(&r->principal, org)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no organisation with id %s", org);
    }
    if (!may_manage(&r->principal)) {
        return problem_send(r, PROBLEM_FORBIDDEN,
                            "only an organisation admin may add its locations");
    }
    public_kind_problem(in, NULL, errors);
    return 0;
}

/* The address of a site in its country: the postcode of its form (a UK postcode for GB, an
 * Eircode for IE), and for IE a county of the seeded list, which stands where a UK site's local
 * authority stands; a UK site has none (a PATCH that moves a site to GB clears it). As sent, or
 * as stored (`cur`, NULL when creating). Returns 0, or the status of the problem sent. */
static int
country_check(struct req *r, json_t *in, const PGresult *cur, json_t *errors)
{
    const char *country = json_string_value(json_object_get(in, "country"));
    json_t *county = json_object_get(in, "county");
    const char *code = json_string_value(county);
    PGresult *res = NULL;
    int status;

    resource_postal_check(in, cur, errors);
    if (country == NULL) {
        country = cur != NULL ? db_value(cur, 0, "country") : "GB";
    }
    if (country == NULL || resource_has_error(errors, "county")) {
        return 0;
    }
    if (strcmp(country, "IE") != 0) {
        if (code != NULL) {
            problem_add_error(errors, "county",
                              "only a site in Ireland (country IE) has a county; a UK site's "
                              "local authority comes from its postcode");
        } else if (cur != NULL && db_value(cur, 0, "county") != NULL) {
            json_object_set_new(in, "county", json_null());
        }
        return 0;
    }
    if (code == NULL) {
        if (county != NULL || cur == NULL || db_value(cur, 0, "county") == NULL) {
            problem_add_error(errors, "county",
                              "a site in Ireland names its county, e.g. IE-CO (Cork) or IE-D "
                              "(Dublin)");
        }
        return 0;
    }
    if (strlen(code) <= 8
        && strspn(code, "-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == strlen(code)) {
        char up[9];
        size_t i;

        for (i = 0; code[i] != '\0'; i++) {
            up[i] = (char)toupper((unsigned char)code[i]);
        }
        up[i] = '\0';
        json_object_set_new(in, "county", json_string(up));
        code = json_string_value(json_object_get(in, "county"));
    }
    if ((status = http_exec_or_problem(r, "loc_county", 1, &code, &res)) == 0
        && PQntuples(res) == 0) {
        problem_add_error(errors, "county",
                          "not an Irish county code: use ISO 3166-2:IE, e.g. IE-CO (Cork) or "
                          "IE-D (Dublin)");
    }
    PQclear(res);
    return status;
}

/* Creating: the owner exists and is not archived (share-locked so it stays so). Changing: an
 * org_admin's, not archived, and not a public prison or school site. Either way the address is of
 * its country's form (country_check). */
static int
loc_check(struct req *r, json_t *in, const PGresult *cur, json_t *errors)
{
    const char *params[1] = {json_string_value(json_object_get(in, "organisation_id"))};
    PGresult *res = NULL;
    int status;

    if (cur != NULL) {
        if (!may_manage(&r->principal)) {
            return problem_send(r, PROBLEM_FORBIDDEN,
                                "only an organisation admin may change its locations");
        }
        if (db_value(cur, 0, "archived_at") != NULL) {
            return problem_send(r, PROBLEM_CONFLICT, "the location is archived");
        }
        public_kind_problem(in, db_value(cur, 0, "kind"), errors);
        return country_check(r, in, cur, errors);
    }
    if ((status = http_exec_or_problem(r, "loc_org_locked", 1, params, &res)) == 0
        && (PQntuples(res) == 0 || db_value(res, 0, "archived_at") != NULL)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no organisation with id %s", params[0]);
    }
    PQclear(res);
    return status != 0 ? status : country_check(r, in, NULL, errors);
}

/* A location used by a programme run or a training session is archived; an unused one is
 * deleted. */
static int
loc_removing(struct req *r, const PGresult *cur, const char **stmt)
{
    const char *params[1] = {db_value(cur, 0, "id")};
    PGresult *used = NULL;
    int status;

    if (!may_manage(&r->principal)) {
        return problem_send(r, PROBLEM_FORBIDDEN,
                            "only an organisation admin may delete its locations");
    }
    /* The row is locked: a run or session naming it (which share-locks it) waits or is done. */
    if ((status = http_exec_or_problem(r, "loc_used", 1, params, &used)) == 0
        && db_bool(used, 0, "used")) {
        *stmt = "loc_archive";
    }
    PQclear(used);
    return status;
}

static const struct filter loc_filters[] = {
    {"organisation_id", FILTER_UUID, NULL},
    {"kind", FILTER_ENUM, loc_kinds},
    {"active", FILTER_BOOL, NULL},
    {"local_authority", FILTER_AREA_CODE, NULL},
    {NULL, 0, NULL},
};

/* A licensee's list holds their own organisation's locations only (org_scoped). */
const struct resource loc_resource = {
    .name = "location",
    .location = "/v1/locations/",
    .stmt = "loc",
    .fields = loc_fields,
    .org_scoped = 1,
    .filters = loc_filters,
    .sort_key = "name",
    .cursor_ok = http_cursor_text,
    .visible = loc_visible,
    .rules = {.normalise = loc_normalise, .check = loc_check, .removing = loc_removing},
};
