/* courses.c: /v1/courses. Accredited training courses are data, not constants: the licensing
 * body (admin) creates and changes them, any signed-in user reads them.
 *
 * Rules the spec left open, decided here:
 * - `code` is trimmed and upper-cased ("prac-1" is stored as "PRAC-1"): 2 to 32 of A-Z, 0-9 and
 *   '-', not starting with '-'. Codes are unique (409).
 * - `grants_months` (1-120) is how long a pass accredits for. Practitioner and refresher courses
 *   default to 36 (also when a change sets it to null); a trainer course grants trainer status,
 *   which does not lapse, so it has no grants_months (giving one is a 422).
 * - `kind` may change only while no training session uses the course (409): outcomes already
 *   recorded were granted under the old kind.
 * - `active` false hides nothing: inactive courses stay readable and listable (filter
 *   active=true), but no new session may be scheduled on them (training.c). */
#include <ctype.h>
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

#define COURSE_DEFAULT_MONTHS 36

#define COURSE_COLUMNS                                                                             \
    "c.id, c.code, c.title, c.kind, c.accrediting_body, c.credits, c.grants_months, c.active, "    \
    "c.created_at, c.updated_at, c.version AS _version, "                                          \
    "EXISTS (SELECT 1 FROM training_session s WHERE s.course_id = c.id) AS _used "

const struct db_stmt courses_stmts[] = {
    {"course_get", "SELECT " COURSE_COLUMNS "FROM course c WHERE c.id = $1::uuid"},
    {"course_get_locked",
     "SELECT " COURSE_COLUMNS "FROM course c WHERE c.id = $1::uuid FOR UPDATE"},
    /* Another course holding code $1 ($2: the course being changed, or NULL). */
    {"course_code_taken", "SELECT EXISTS (SELECT 1 FROM course WHERE code = $1::text"
                          " AND ($2::uuid IS NULL OR id <> $2::uuid))"},
    /* $1 kind, $2 active, $3 q (code or title), $4/$5 cursor (code, id), $6 limit. */
    {"course_list", "SELECT " COURSE_COLUMNS "FROM course c"
                    " WHERE ($1::text IS NULL OR c.kind = $1::text)"
                    "   AND ($2::boolean IS NULL OR c.active = $2::boolean)"
                    "   AND ($3::text IS NULL OR strpos(lower(c.code), lower($3::text)) > 0"
                    "        OR strpos(lower(c.title), lower($3::text)) > 0)"
                    "   AND ($4::text IS NULL OR (c.code, c.id) > ($4::text, $5::uuid))"
                    " ORDER BY c.code, c.id LIMIT $6::int"},
    /* $1 the validated body, with code normalised and grants_months settled. */
    {"course_insert",
     "INSERT INTO course (code, title, kind, accrediting_body, credits, grants_months, active) "
     "SELECT j->>'code', j->>'title', j->>'kind', j->>'accrediting_body', (j->>'credits')::int,"
     " (j->>'grants_months')::int, coalesce((j->>'active')::boolean, true) "
     "FROM (SELECT $1::jsonb AS j) s RETURNING id"},
    {"course_update",
     "UPDATE course SET"
     " code = CASE WHEN j ? 'code' THEN j->>'code' ELSE code END,"
     " title = CASE WHEN j ? 'title' THEN j->>'title' ELSE title END,"
     " kind = CASE WHEN j ? 'kind' THEN j->>'kind' ELSE kind END,"
     " accrediting_body = CASE WHEN j ? 'accrediting_body' THEN j->>'accrediting_body'"
     "                    ELSE accrediting_body END,"
     " credits = CASE WHEN j ? 'credits' THEN (j->>'credits')::int ELSE credits END,"
     " grants_months = CASE WHEN j ? 'grants_months' THEN (j->>'grants_months')::int"
     "                 ELSE grants_months END,"
     " active = CASE WHEN j ? 'active' THEN (j->>'active')::boolean ELSE active END,"
     " updated_at = now(), version = version + 1 "
     "FROM (SELECT $2::jsonb AS j) s WHERE id = $1::uuid"},
    {NULL, NULL},
};

static const char *const course_kinds[] = {"practitioner", "refresher", "trainer", NULL};

static const struct field course_fields[] = {
    {"code", FIELD_TEXT, FIELD_REQUIRED, 2, 32, NULL},
    {"title", FIELD_TEXT, FIELD_REQUIRED, 1, 200, NULL},
    {"kind", FIELD_ENUM, FIELD_REQUIRED, 0, 0, course_kinds},
    {"accrediting_body", FIELD_TEXT, FIELD_NULLABLE, 1, 200, NULL},
    {"credits", FIELD_INT, FIELD_NULLABLE, 0, 1000, NULL},
    {"grants_months", FIELD_INT, FIELD_NULLABLE, 1, 120, NULL},
    {"active", FIELD_BOOL, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* 1 when `errors` already names `field`. */
static int
has_error(json_t *errors, const char *field)
{
    json_t *e;
    size_t i;

    json_array_foreach(errors, i, e)
    {
        const char *f = json_string_value(json_object_get(e, "field"));
        if (f != NULL && strcmp(f, field) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Upper-cases the (already trimmed, 2-32 character) code in `in` and checks its alphabet.
 * Adds an error to `errors` when it does not fit. */
static void
normalise_code(json_t *in, json_t *errors)
{
    const char *code = json_string_value(json_object_get(in, "code"));
    char buf[40];
    size_t i, n;

    if (code == NULL || has_error(errors, "code")) {
        return;
    }
    n = strlen(code);
    if (n >= sizeof(buf)) {
        problem_add_error(errors, "code", "must be 2 to 32 of A-Z, 0-9 and '-'");
        return;
    }
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)code[i];
        if (!(isascii(ch) && (isalnum(ch) || (ch == '-' && i > 0)))) {
            problem_add_error(errors, "code",
                              "must be 2 to 32 of A-Z, 0-9 and '-', not starting with '-'");
            return;
        }
        buf[i] = (char)toupper(ch);
    }
    buf[n] = '\0';
    json_object_set_new(in, "code", json_string(buf));
}

/* Settles grants_months in `in` for the course's final `kind`, given whether the stored value
 * `current_null` is null (creating: 1). Adds an error for a trainer course that names one. */
static void
settle_grants(json_t *in, const char *kind, int current_null, json_t *errors)
{
    json_t *g = json_object_get(in, "grants_months");

    if (strcmp(kind, "trainer") == 0) {
        if (g != NULL && !json_is_null(g)) {
            problem_add_error(errors, "grants_months",
                              "a trainer course grants trainer status, which does not lapse: "
                              "leave grants_months out");
        } else if (!current_null) {
            json_object_set_new(in, "grants_months", json_null());
        }
        return;
    }
    if ((g == NULL && current_null) || (g != NULL && json_is_null(g))) {
        json_object_set_new(in, "grants_months", json_integer(COURSE_DEFAULT_MONTHS));
    }
}

/* Reads course `id` (locked when `lock`). Returns 0 with the result in *out, or the status of
 * the problem already sent. */
static int
load_or_problem(struct req *r, const char *id, int lock, PGresult **out)
{
    return http_row_or_problem(r, lock ? "course_get_locked" : "course_get", id, "course", NULL,
                               out);
}

/* 409 when another course holds the code in `in` (if any). Returns 0 or the status sent. */
static int
code_free_or_problem(struct req *r, json_t *in, const char *self)
{
    const char *params[2] = {json_string_value(json_object_get(in, "code")), self};
    PGresult *res;
    int status = 0;

    if (params[0] == NULL) {
        return 0;
    }
    res = db_exec(r->db, "course_code_taken", 2, params);
    if (!db_ok(res) || PQntuples(res) != 1) {
        status = problem_from_db(r, res);
    } else if (PQgetvalue(res, 0, 0)[0] == 't') {
        status = problem_send(r, PROBLEM_CONFLICT, "another course has the code %s", params[0]);
    }
    PQclear(res);
    return status;
}

int
courses_get(struct req *r)
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
courses_list(struct req *r)
{
    static const char *const allowed[] = {"kind", "active", "q", "limit", "cursor", NULL};
    struct query q;
    struct page p = {0, NULL};
    PGresult *res = NULL;
    const char *params[6], *kind, *active, *text;
    int status;

    if ((status = http_query_or_problem(r, allowed, &q)) != 0
        || (status = http_page_or_problem(r, &q, &p)) != 0) {
        goto out;
    }
    kind = query_get(&q, "kind");
    active = query_get(&q, "active");
    text = query_get(&q, "q");
    if (kind != NULL && !validate_in_list(course_kinds, kind)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST,
                              "kind: one of practitioner, refresher, "
                              "trainer");
        goto out;
    }
    if (active != NULL && strcmp(active, "true") != 0 && strcmp(active, "false") != 0) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "active: true or false");
        goto out;
    }
    if (text != NULL && !validate_text(text, 1, 200)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "q: text of 1 to 200 characters");
        goto out;
    }
    if ((status = http_cursor_or_problem(r, &p, 2, http_cursor_text)) != 0) {
        goto out;
    }
    params[0] = kind;
    params[1] = active;
    params[2] = text;
    params[3] = page_after(&p, 0);
    params[4] = page_after(&p, 1);
    status = page_query_send(r, "course_list", params, 6, &p, "code");
out:
    PQclear(res);
    page_cleanup(&p);
    query_cleanup(&q);
    return status;
}

int
courses_create(struct req *r)
{
    json_t *in = NULL, *errors = json_array();
    char *text = NULL, id[40];
    const char *params[1], *kind;
    int status;

    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    validate_fields(in, course_fields, 1, errors);
    normalise_code(in, errors);
    kind = json_string_value(json_object_get(in, "kind"));
    if (kind != NULL && validate_in_list(course_kinds, kind)) {
        settle_grants(in, kind, 1, errors);
    }
    if (json_array_size(errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = code_free_or_problem(r, in, NULL)) != 0) {
        goto out;
    }
    text = json_dumps(in, JSON_COMPACT);
    params[0] = text;
    if ((status = http_insert_or_problem(r, "course_insert", 1, params, id, sizeof(id))) != 0) {
        goto out;
    }
    status = audit_commit_and_send(r, "create", "course", id, NULL, "course_get", "/v1/courses/");
out:
    free(text);
    json_decref(errors);
    json_decref(in);
    return status;
}

int
courses_update(struct req *r)
{
    json_t *in = NULL, *errors = json_array(), *before = NULL;
    PGresult *res = NULL;
    const char *id = r->params[0], *kind, *new_kind;
    int status;

    if ((status = http_read_json_or_problem(r, &in)) != 0) {
        goto out;
    }
    validate_fields(in, course_fields, 0, errors);
    normalise_code(in, errors);
    if (json_array_size(errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    if (json_object_size(in) == 0) {
        problem_add_error(errors, "body", "name at least one field to change");
        status = problem_send_errors(r, errors);
        goto out;
    }
    if (!validate_uuid(id)) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no course with id %s", id);
        goto out;
    }
    if ((status = http_begin_or_problem(r, 1)) != 0
        || (status = load_or_problem(r, id, 1, &res)) != 0
        || (status = http_if_match_or_problem(r, db_value(res, 0, "_version"))) != 0) {
        goto out;
    }
    kind = db_value(res, 0, "kind");
    new_kind = json_string_value(json_object_get(in, "kind"));
    if (new_kind != NULL && strcmp(new_kind, kind) != 0 && db_bool(res, 0, "_used")) {
        status = problem_send(r, PROBLEM_CONFLICT,
                              "course %s has training sessions: its kind cannot change; create "
                              "a new course instead",
                              db_value(res, 0, "code"));
        goto out;
    }
    settle_grants(in, new_kind != NULL ? new_kind : kind, db_value(res, 0, "grants_months") == NULL,
                  errors);
    if (json_array_size(errors) > 0) {
        status = problem_send_errors(r, errors);
        goto out;
    }
    if ((status = code_free_or_problem(r, in, id)) != 0) {
        goto out;
    }
    before = db_row_to_json(res, 0);
    PQclear(res);
    res = NULL;
    status = audit_update_and_send(r, "course_update", "course", id, in, before, "course_get");
out:
    PQclear(res);
    json_decref(before);
    json_decref(errors);
    json_decref(in);
    return status;
}
