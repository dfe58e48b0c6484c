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
#include "registry/courses.h"

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
#include "registry/resource.h"
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
    /* The columns of the changes $2 replace the stored ones (jsonb_populate_record). */
    {"course_update",
     "UPDATE course c SET (code, title, kind, accrediting_body, credits, grants_months, active)"
     " = (SELECT code, title, kind, accrediting_body, credits, grants_months, active"
     "    FROM jsonb_populate_record(c, $2::jsonb)),"
     " updated_at = now(), version = c.version + 1 WHERE c.id = $1::uuid"},
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

/* Upper-cases the (already trimmed, 2-32 character) code in `in` and checks its alphabet.
 * Adds an error to `errors` when it does not fit. */
static void
normalise_code(json_t *in, json_t *errors)
{
    const char *code = json_string_value(json_object_get(in, "code"));
    char buf[40];
    size_t i, n;

    if (code == NULL || resource_has_error(errors, "code")) {
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

static int
course_normalise(struct req *r, json_t *in, json_t *errors)
{
    (void)r;
    normalise_code(in, errors);
    return 0;
}

/* The rules on the stored course `cur` (NULL when creating): kind fixed once used, grants_months
 * settled for the kind, the code free. */
static int
course_check(struct req *r, json_t *in, const PGresult *cur, json_t *errors)
{
    const char *kind = json_string_value(json_object_get(in, "kind")), *stored;

    if (cur != NULL) {
        stored = db_value(cur, 0, "kind");
        if (kind != NULL && strcmp(kind, stored) != 0 && db_bool(cur, 0, "_used")) {
            return problem_send(r, PROBLEM_CONFLICT,
                                "course %s has training sessions: its kind cannot change; "
                                "create a new course instead",
                                db_value(cur, 0, "code"));
        }
        kind = kind != NULL ? kind : stored;
    }
    settle_grants(in, kind, cur == NULL || db_value(cur, 0, "grants_months") == NULL, errors);
    if (json_array_size(errors) > 0) {
        return 0;
    }
    return code_free_or_problem(r, in, cur != NULL ? db_value(cur, 0, "id") : NULL);
}

static const struct filter course_filters[] = {
    {"kind", FILTER_ENUM, course_kinds},
    {"active", FILTER_BOOL, NULL},
    {"q", FILTER_TEXT, NULL},
    {NULL, 0, NULL},
};

const struct resource course_resource = {
    .name = "course",
    .location = "/v1/courses/",
    .stmt = "course",
    .fields = course_fields,
    .filters = course_filters,
    .sort_key = "code",
    .cursor_ok = http_cursor_text,
    .rules = {.normalise = course_normalise, .check = course_check},
};
