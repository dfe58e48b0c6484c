/* delivery.c: GET and PUT /v1/programmes/{id}/delivery, the record of what a run delivered, as
 * aggregates only: families referred, assessed, started and completed; sessions delivered of
 * planned; review and reunion held; referrals by source and onward referrals by kind; adults by
 * relationship and gender, children by age band and gender; feedback counts per statement; the
 * cost. No family's personal data: every member is a count.
 *
 * The record lives on the run (programme_run, migrations 0002 and 0013): the completion PATCH of
 * /v1/programmes/{id} writes the same figures, and both share the run's version (ETag). A PUT
 * replaces the whole record (what it leaves out is cleared; sessions_planned defaults to the
 * stored one, else the variant's sessions), with If-Match, in one transaction with its audit row,
 * and enqueues programme.delivery_recorded (the figures).
 *
 * The rules (each broken one is a 422 error naming its field and `rule`; nothing is written):
 * - run_not_running_or_completed: the record is written while the run is running or completed;
 * - record_incomplete: a completed run's record has every member but delivery_cost_gbp;
 * - the run's figure rules (delivery_figure_errors): assessed_exceeds_referred,
 *   started_exceeds_assessed, completed_exceeds_started, started_exceeds_capacity,
 *   too_few_adults, too_few_children, sessions_exceed_planned;
 * - unknown_code: a breakdown counts by an active reference item (refdata.c) of its kind;
 * - referrals_breakdown_mismatch, adults_breakdown_mismatch, children_breakdown_mismatch: the
 *   breakdowns add up to families_referred, adults and children;
 * - feedback_exceeds_respondents: a statement's answers are at most adults + children;
 * - too_few_for_outcomes: adults, children and families_started stay at least the answers the
 *   run's outcome statistics hold for a measure of that respondent (n plus the larger count of
 *   unpaired answers: outcomes.c's too_many_pairs bound), so that a later record cannot make
 *   them implausible; unknown (left out) while there are such answers is refused too.
 *
 * Who: the licensing body, and the run's organisation's org_admin and org_staff (API clients
 * with delivery:read / delivery:write); another organisation's run is a 404. */
#include "registry/delivery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/problem.h"
#include "registry/resource.h"
#include "registry/validate.h"

#define DLV_MAX_COUNT 10000

/* The record's columns, as a PUT sets them (jsonb_populate_record). */
#define DLV_PLAIN                                                                                  \
    "families_referred, families_assessed, families_started, families_completed, "                 \
    "sessions_planned, sessions_delivered, review_held, reunion_held, adults, children, "          \
    "referrals_by_source, onward_referrals, adults_by_relationship, children_by_age_band, "        \
    "feedback, delivery_cost_gbp"

#define DLV_SELECT                                                                                 \
    "SELECT r.id AS programme_id, r.organisation_id, r.status, r.capacity_families, " DLV_PLAIN    \
    ", r.updated_at, r.version AS _version, v.sessions AS _variant_sessions "                      \
    "FROM programme_run r JOIN programme_variant v ON v.code = r.variant WHERE r.id = $1::uuid"

const struct db_stmt delivery_stmts[] = {
    {"dlv_get", DLV_SELECT},
    {"dlv_get_locked", DLV_SELECT " FOR UPDATE OF r"},
    {"dlv_update", "UPDATE programme_run r SET (" DLV_PLAIN ") = (SELECT " DLV_PLAIN
                   " FROM jsonb_populate_record(NULL::programme_run, $2::jsonb)),"
                   " updated_at = now(), version = r.version + 1 WHERE r.id = $1::uuid"},
    /* The codes a record may count by, as {kind: [code, ...]}. */
    {"dlv_codes", "SELECT coalesce(jsonb_object_agg(kind, codes), '{}'::jsonb) AS codes FROM"
                  " (SELECT kind, jsonb_agg(code ORDER BY position, code) AS codes"
                  "  FROM reference_item WHERE active GROUP BY kind) k"},
    /* The most answers run $1's outcome statistics hold for one measure, by respondent: n and
     * the larger count of unpaired answers (outcomes.c's too_many_pairs bound). */
    {"dlv_outcome_answers",
     "SELECT m.respondent, max(o.n + greatest(o.pre_only, o.post_only)) AS answers"
     " FROM programme_outcome o JOIN outcome_measure m ON m.id = o.measure_id"
     " WHERE o.run_id = $1::uuid GROUP BY m.respondent"},
    {NULL, NULL},
};

static const struct field dlv_fields[] = {
    {"families_referred", FIELD_INT, FIELD_NULLABLE, 0, 1000, NULL},
    {"families_assessed", FIELD_INT, FIELD_NULLABLE, 0, 1000, NULL},
    {"families_started", FIELD_INT, FIELD_NULLABLE, 0, 1000, NULL},
    {"families_completed", FIELD_INT, FIELD_NULLABLE, 0, 1000, NULL},
    {"sessions_planned", FIELD_INT, FIELD_NULLABLE, 1, 52, NULL},
    {"sessions_delivered", FIELD_INT, FIELD_NULLABLE, 0, 52, NULL},
    {"review_held", FIELD_BOOL, FIELD_NULLABLE, 0, 0, NULL},
    {"reunion_held", FIELD_BOOL, FIELD_NULLABLE, 0, 0, NULL},
    {"adults", FIELD_INT, FIELD_NULLABLE, 0, DLV_MAX_COUNT, NULL},
    {"children", FIELD_INT, FIELD_NULLABLE, 0, DLV_MAX_COUNT, NULL},
    {"referrals_by_source", FIELD_OBJECT, FIELD_NULLABLE, 0, 50, NULL},
    {"onward_referrals", FIELD_OBJECT, FIELD_NULLABLE, 0, 50, NULL},
    {"adults_by_relationship", FIELD_OBJECT, FIELD_NULLABLE, 0, 50, NULL},
    {"children_by_age_band", FIELD_OBJECT, FIELD_NULLABLE, 0, 50, NULL},
    {"feedback", FIELD_OBJECT, FIELD_NULLABLE, 0, 50, NULL},
    {"delivery_cost_gbp", FIELD_INT, FIELD_NULLABLE, 0, 10000000, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* The rules between two of the run's figures: each is broken when `field` is above `other`
 * (below, for `below`); its detail gives the value of `field`, then that of `other`. */
static const struct {
    const char *field, *other;
    int below;
    const char *rule, *detail;
} dlv_figure_rules[] = {
    {"families_assessed", "families_referred", 0, "assessed_exceeds_referred",
     "families_assessed %lld exceeds families_referred %lld"},
    {"families_started", "families_assessed", 0, "started_exceeds_assessed",
     "families_started %lld exceeds families_assessed %lld"},
    {"families_completed", "families_started", 0, "completed_exceeds_started",
     "families_completed %lld exceeds families_started %lld"},
    {"families_started", "capacity_families", 0, "started_exceeds_capacity",
     "families_started %lld exceeds the run's capacity_families %lld"},
    {"adults", "families_started", 1, "too_few_adults",
     "%lld adults for %lld families: every family has at least one adult"},
    {"children", "families_started", 1, "too_few_children",
     "%lld children for %lld families: every family has at least one child"},
    {"sessions_delivered", "sessions_planned", 0, "sessions_exceed_planned",
     "sessions_delivered %lld exceeds sessions_planned %lld"},
};

void
delivery_figure_errors(json_t *cand, json_t *errors)
{
    size_t i;

    for (i = 0; i < sizeof(dlv_figure_rules) / sizeof(dlv_figure_rules[0]); i++) {
        json_t *a = json_object_get(cand, dlv_figure_rules[i].field);
        json_t *b = json_object_get(cand, dlv_figure_rules[i].other);
        long long x = json_integer_value(a), y = json_integer_value(b);

        if (json_is_integer(a) && json_is_integer(b)
            && (dlv_figure_rules[i].below ? x < y : x > y)) {
            problem_add_rule(errors, dlv_figure_rules[i].field, dlv_figure_rules[i].rule,
                             dlv_figure_rules[i].detail, x, y);
        }
    }
}

/* A breakdown: the member of the record, the reference kind of its keys, and of the keys of its
 * inner objects (NULL: its values are counts), and the total it must add up to (NULL: none). */
static const struct breakdown {
    const char *field, *kind, *inner_kind, *total, *rule;
} dlv_breakdowns[] = {
    {"referrals_by_source", "referral_source", NULL, "families_referred",
     "referrals_breakdown_mismatch"},
    {"onward_referrals", "onward_referral", NULL, NULL, NULL},
    {"adults_by_relationship", "carer_relationship", "gender", "adults",
     "adults_breakdown_mismatch"},
    {"children_by_age_band", "age_band", "gender", "children", "children_breakdown_mismatch"},
    {"feedback", "feedback_statement", "answer", NULL, NULL},
};

/* The answers a feedback statement is counted by. */
static const char *const dlv_answers[] = {"agree", "neither", "disagree", NULL};

/* 1 when `code` is among `known` (a JSON array of codes; for kind "answer", dlv_answers). */
static int
known(json_t *codes, const char *kind, const char *code)
{
    if (strcmp(kind, "answer") == 0) {
        return validate_in_list(dlv_answers, code);
    }
    if (codes == NULL) {
        return 1; /* the stored record's codes, which may have been retired since */
    }
    return validate_in_json_list(json_object_get(codes, kind), code);
}

/* Adds the unknown_code error of `field` for `code`, listing the codes of `kind`. The code is
 * the client's (any JSON key): the detail shows at most 60 bytes of it, cut between UTF-8
 * characters, since a detail that is not UTF-8 makes no error at all (and the record would be
 * written). */
static void
unknown_code(json_t *errors, const char *field, json_t *codes, const char *kind, const char *code)
{
    char list[1024], shown[61];
    size_t i, n = 0, len = strlen(code);
    json_t *v;

    if (len > sizeof(shown) - 1) {
        len = sizeof(shown) - 1;
        while (len > 0 && ((unsigned char)code[len] & 0xc0) == 0x80) {
            len--; /* code[len], the first byte cut off, continues a character: cut before it */
        }
    }
    memcpy(shown, code, len);
    shown[len] = '\0';
    list[0] = '\0';
    if (strcmp(kind, "answer") == 0) {
        resource_choices_text(dlv_answers, list, sizeof(list));
    }
    json_array_foreach(json_object_get(codes, kind), i, v)
    {
        if (n >= sizeof(list) - 1) {
            break; /* the list is cut short; the detail is anyway */
        }
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i > 0 ? ", " : "",
                              json_string_value(v));
    }
    if (problem_add_rule(errors, field, "unknown_code", "%s is not a %s: one of %s", shown, kind,
                         list)
        == NULL) {
        problem_add_rule(errors, field, "unknown_code", "a key is not a %s", kind);
    }
}

/* Adds up the counts of `obj` (keys of `kind`) into *sum; `inner_kind` non-NULL: its values are
 * objects of counts keyed by that kind. Adds one error naming `field` and returns 0 when a key is
 * unknown or a value not a count. */
static int
add_counts(json_t *obj,
           const char *field,
           json_t *codes,
           const char *kind,
           const char *inner_kind,
           json_t *errors,
           long long *sum)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        if (!known(codes, kind, key)) {
            unknown_code(errors, field, codes, kind, key);
            return 0;
        }
        if (inner_kind != NULL && json_is_object(v)) {
            if (!add_counts(v, field, codes, inner_kind, NULL, errors, sum)) {
                return 0;
            }
            continue;
        }
        if (inner_kind != NULL || !json_is_integer(v) || json_integer_value(v) < 0
            || json_integer_value(v) > DLV_MAX_COUNT) {
            problem_add_error(errors, field,
                              inner_kind != NULL ? "each value must be an object of counts"
                                                 : "each count must be a whole number from 0 to "
                                                   "10000");
            return 0;
        }
        *sum += json_integer_value(v);
    }
    return 1;
}

/* Checks every breakdown of `in` against the codes and its total. */
static void
check_breakdowns(json_t *in, json_t *codes, json_t *errors)
{
    const struct breakdown *b;
    json_t *total, *v;
    const char *key;
    long long sum, people;

    people = json_integer_value(json_object_get(in, "adults"))
             + json_integer_value(json_object_get(in, "children"));
    for (b = dlv_breakdowns; b < dlv_breakdowns + sizeof(dlv_breakdowns) / sizeof(*b); b++) {
        json_t *obj = json_object_get(in, b->field);

        sum = 0;
        if (!json_is_object(obj)
            || !add_counts(obj, b->field, codes, b->kind, b->inner_kind, errors, &sum)) {
            continue;
        }
        total = b->total != NULL ? json_object_get(in, b->total) : NULL;
        if (json_is_integer(total) && sum != json_integer_value(total)) {
            problem_add_rule(errors, b->field, b->rule, "%s adds up to %lld, not %s %lld", b->field,
                             sum, b->total, (long long)json_integer_value(total));
        }
        if (strcmp(b->field, "feedback") != 0 || !json_is_integer(json_object_get(in, "adults"))
            || !json_is_integer(json_object_get(in, "children"))) {
            continue;
        }
        json_object_foreach(obj, key, v)
        {
            sum = 0;
            add_counts(v, b->field, codes, "answer", NULL, errors, &sum);
            if (sum > people) {
                problem_add_rule(errors, "feedback", "feedback_exceeds_respondents",
                                 "%s has %lld answers, more than the run's %lld adults and "
                                 "children",
                                 key, sum, people);
            }
        }
    }
}

/* too_few_for_outcomes: the record counts at least the respondents the run's outcome statistics
 * (outcomes.c) already hold answers from. */
static int
check_outcome_answers(struct req *r, json_t *in, const PGresult *cur, json_t *errors)
{
    static const struct {
        const char *respondent, *column;
    } counts[] = {{"adult", "adults"}, {"child", "children"}, {"family", "families_started"}};
    const char *params[1] = {db_value(cur, 0, "programme_id")};
    PGresult *res = NULL;
    size_t k;
    int rc, i;

    if ((rc = http_exec_or_problem(r, "dlv_outcome_answers", 1, params, &res)) != 0) {
        return rc;
    }
    for (i = 0; i < PQntuples(res); i++) {
        long long answers = atoll(db_value(res, i, "answers"));

        for (k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
            json_t *v = json_object_get(in, counts[k].column);

            if (strcmp(db_value(res, i, "respondent"), counts[k].respondent) != 0 || answers == 0
                || (json_is_integer(v) && json_integer_value(v) >= answers)) {
                continue;
            }
            problem_add_rule(errors, counts[k].column, "too_few_for_outcomes",
                             "the run's outcome statistics hold %lld answers of %s "
                             "respondents: %s must be at least that",
                             answers, counts[k].respondent, counts[k].column);
        }
    }
    PQclear(res);
    return 0;
}

/* The rules of the file comment, on the record `in` would make of the run `cur` (locked). */
static int
dlv_check(struct req *r, json_t *in, const PGresult *cur, json_t *errors)
{
    const char *status = db_value(cur, 0, "status");
    const struct field *f;
    json_t *planned = json_object_get(in, "sessions_planned"), *codes = NULL;
    PGresult *res = NULL;
    int rc;

    delivery_run_open(status, "delivery record is", errors);
    if (planned == NULL || json_is_null(planned)) {
        const char *stored = db_value(cur, 0, "sessions_planned");
        json_object_set_new(
            in, "sessions_planned",
            json_integer(atoi(stored != NULL ? stored : db_value(cur, 0, "_variant_sessions"))));
    }
    for (f = dlv_fields; strcmp(status, "completed") == 0 && f->name != NULL; f++) {
        json_t *v = json_object_get(in, f->name);
        if ((v == NULL || json_is_null(v)) && strcmp(f->name, "delivery_cost_gbp") != 0) {
            problem_add_rule(errors, f->name, "record_incomplete",
                             "is required: the run is completed, so its record is complete");
        }
    }
    json_object_set_new(in, "capacity_families",
                        json_integer(atoi(db_value(cur, 0, "capacity_families"))));
    delivery_figure_errors(in, errors);
    json_object_del(in, "capacity_families");
    if ((rc = http_exec_or_problem(r, "dlv_codes", 0, NULL, &res)) != 0) {
        return rc;
    }
    codes = json_loads(db_value(res, 0, "codes"), 0, NULL);
    check_breakdowns(in, codes, errors);
    json_decref(codes);
    PQclear(res);
    return check_outcome_answers(r, in, cur, errors);
}

void
delivery_run_open(const char *status, const char *what, json_t *errors)
{
    if (strcmp(status, "running") != 0 && strcmp(status, "completed") != 0) {
        problem_add_rule(errors, "status", "run_not_running_or_completed",
                         "the run is %s: its %s written while it is running or once it is "
                         "completed",
                         status, what);
    }
}

int
delivery_figures_check(struct req *r, const char *run_id, json_t *changes, json_t *errors)
{
    const char *params[1] = {run_id}, *key;
    PGresult *cur = NULL;
    json_t *rec, *v;
    int status;

    if ((status = http_exec_or_problem(r, "dlv_get", 1, params, &cur)) != 0) {
        return status;
    }
    rec = db_row_to_json(cur, 0);
    json_object_foreach(changes, key, v)
    {
        json_object_set(rec, key, v);
    }
    check_breakdowns(rec, NULL, errors);
    status = check_outcome_answers(r, rec, cur, errors);
    json_decref(rec);
    PQclear(cur);
    return status;
}

const struct resource run_delivery_resource = {
    .name = "programme run",
    .audit_type = "programme_delivery",
    .stmt = "dlv",
    .fields = dlv_fields,
    .visible = resource_in_org,
    .rules = {.check = dlv_check},
    .event = "programme.delivery_recorded",
};
