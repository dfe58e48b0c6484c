/* refdata.c: /v1/reference-items and /v1/outcome-measures, the lists a delivery record counts by
 * (migration 0013). Data, not code: the licensing body adds items and measures, renames them and
 * retires them (active false); any signed-in user, and API clients with delivery:read, read them.
 *
 * Rules the issue left open, decided here:
 * - a code is 1 to 40 of a-z, 0-9 and '_', starting with a letter or digit, unique within its
 *   kind (409); an item's kind and code, and a measure's code, respondent, scale and
 *   higher_is_better, are fixed once created (records count by them, and read their change as an
 *   improvement by the direction): a change to them is a 422 naming the field;
 * - a retired item or measure stays readable, and the records that used it still read, but new
 *   records may not use it (delivery.c, outcomes.c);
 * - both lists are one page, ordered by kind, position and code (items) or by code (measures);
 *   items filter by `kind` and `active`, measures by `respondent` and `active`. */
#include "registry/refdata.h"

#include <string.h>

#include "registry/problem.h"
#include "registry/resource.h"
#include "registry/validate.h"

#define REF_COLUMNS                                                                                \
    "id, kind, code, name, position, active, created_at, updated_at, version AS _version "
#define MEASURE_COLUMNS                                                                            \
    "id, code, name, respondent, scale_min, scale_max, higher_is_better, active, created_at, "     \
    "updated_at, version AS _version "

const struct db_stmt refdata_stmts[] = {
    {"ref_get", "SELECT " REF_COLUMNS "FROM reference_item WHERE id = $1::uuid"},
    {"ref_get_locked", "SELECT " REF_COLUMNS "FROM reference_item WHERE id = $1::uuid FOR UPDATE"},
    /* $1 kind, $2 active. */
    {"ref_list",
     "SELECT " REF_COLUMNS "FROM reference_item"
     " WHERE ($1::text IS NULL OR kind = $1::text)"
     " AND ($2::boolean IS NULL OR active = $2::boolean) ORDER BY kind, position, code"},
    {"ref_insert", "INSERT INTO reference_item (kind, code, name, position, active)"
                   " SELECT kind, code, name, coalesce(position, 0), coalesce(active, true)"
                   " FROM jsonb_populate_record(NULL::reference_item, $1::jsonb) RETURNING id"},
    {"ref_update", "UPDATE reference_item i SET (name, position, active) = (SELECT name, position,"
                   " active FROM jsonb_populate_record(i, $2::jsonb)),"
                   " updated_at = now(), version = i.version + 1 WHERE i.id = $1::uuid"},
    {"measure_get", "SELECT " MEASURE_COLUMNS "FROM outcome_measure WHERE id = $1::uuid"},
    {"measure_get_locked",
     "SELECT " MEASURE_COLUMNS "FROM outcome_measure WHERE id = $1::uuid FOR UPDATE"},
    /* $1 respondent, $2 active. */
    {"measure_list", "SELECT " MEASURE_COLUMNS "FROM outcome_measure"
                     " WHERE ($1::text IS NULL OR respondent = $1::text)"
                     " AND ($2::boolean IS NULL OR active = $2::boolean) ORDER BY code"},
    {"measure_insert",
     "INSERT INTO outcome_measure (code, name, respondent, scale_min, scale_max,"
     " higher_is_better, active) SELECT code, name, respondent, scale_min, scale_max,"
     " higher_is_better, coalesce(active, true)"
     " FROM jsonb_populate_record(NULL::outcome_measure, $1::jsonb) RETURNING id"},
    {"measure_update", "UPDATE outcome_measure m SET (name, active) = (SELECT name, active"
                       " FROM jsonb_populate_record(m, $2::jsonb)),"
                       " updated_at = now(), version = m.version + 1 WHERE m.id = $1::uuid"},
    {NULL, NULL},
};

static const char *const ref_kinds[] = {
    "referral_source",
    "onward_referral",
    "carer_relationship",
    "gender",
    "age_band",
    "feedback_statement",
    NULL,
};

static const char *const respondents[] = {"adult", "child", "family", NULL};

static const struct field ref_fields[] = {
    {"kind", FIELD_ENUM, FIELD_REQUIRED, 0, 0, ref_kinds},
    {"code", FIELD_TEXT, FIELD_REQUIRED, 1, 40, NULL},
    {"name", FIELD_TEXT, FIELD_REQUIRED, 1, 200, NULL},
    {"position", FIELD_INT, 0, 0, 1000, NULL},
    {"active", FIELD_BOOL, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static const struct field measure_fields[] = {
    {"code", FIELD_TEXT, FIELD_REQUIRED, 1, 40, NULL},
    {"name", FIELD_TEXT, FIELD_REQUIRED, 1, 200, NULL},
    {"respondent", FIELD_ENUM, FIELD_REQUIRED, 0, 0, respondents},
    {"scale_min", FIELD_INT, FIELD_REQUIRED, -1000, 1000, NULL},
    {"scale_max", FIELD_INT, FIELD_REQUIRED, -1000, 1000, NULL},
    {"higher_is_better", FIELD_BOOL, FIELD_REQUIRED, 0, 0, NULL},
    {"active", FIELD_BOOL, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* The fields a change may not touch, of items and of measures. */
static const char *const ref_fixed[] = {"kind", "code", NULL};
static const char *const measure_fixed[] = {"code",      "respondent",       "scale_min",
                                            "scale_max", "higher_is_better", NULL};

/* Checks a new code's alphabet, or, on a change, that no fixed field is named. */
static void
code_or_fixed(struct req *r, json_t *in, const char *const *fixed, json_t *errors)
{
    const char *code = json_string_value(json_object_get(in, "code"));
    const char *const *f;

    if (strcmp(r->method, "POST") != 0) {
        for (f = fixed; *f != NULL; f++) {
            if (json_object_get(in, *f) != NULL) {
                problem_add_error(errors, *f,
                                  "cannot be changed once created: records count by it; add a "
                                  "new one and retire this (active false)");
            }
        }
    } else if (code != NULL && !resource_has_error(errors, "code")
               && (strspn(code, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(code)
                   || code[0] == '_')) {
        problem_add_error(errors, "code",
                          "must be 1 to 40 of a-z, 0-9 and '_', not starting "
                          "with '_'");
    }
}

static int
ref_normalise(struct req *r, json_t *in, json_t *errors)
{
    code_or_fixed(r, in, ref_fixed, errors);
    return 0;
}

static int
measure_normalise(struct req *r, json_t *in, json_t *errors)
{
    json_t *lo = json_object_get(in, "scale_min"), *hi = json_object_get(in, "scale_max");

    code_or_fixed(r, in, measure_fixed, errors);
    if (json_is_integer(lo) && json_is_integer(hi)
        && json_integer_value(hi) <= json_integer_value(lo)) {
        problem_add_rule(errors, "scale_max", "scale_empty",
                         "scale_max %lld must be above scale_min %lld",
                         (long long)json_integer_value(hi), (long long)json_integer_value(lo));
    }
    return 0;
}

static const struct filter ref_filters[] = {
    {"kind", FILTER_ENUM, ref_kinds},
    {"active", FILTER_BOOL, NULL},
    {NULL, 0, NULL},
};

static const struct filter measure_filters[] = {
    {"respondent", FILTER_ENUM, respondents},
    {"active", FILTER_BOOL, NULL},
    {NULL, 0, NULL},
};

const struct resource refitem_resource = {
    .name = "reference item",
    .location = "/v1/reference-items/",
    .stmt = "ref",
    .fields = ref_fields,
    .filters = ref_filters,
    .rules = {.normalise = ref_normalise},
};

const struct resource measure_resource = {
    .name = "outcome measure",
    .location = "/v1/outcome-measures/",
    .stmt = "measure",
    .fields = measure_fields,
    .filters = measure_filters,
    .rules = {.normalise = measure_normalise},
};
