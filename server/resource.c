/* resource.c: the generic get / list / create / update / delete handlers, driven by a resource's
 * descriptor (resource.h), and the small rules every room shares. A handler here is the shape of
 * STYLE.md's: parse -> validate -> authorize -> query -> render, one `goto out`. */
#include "registry/resource.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/audit.h"
#include "registry/auth.h"
#include "registry/db.h"
#include "registry/problem.h"
#include "registry/webhooks.h"

#define RESOURCE_MAX_PARAMS 24
#define RESOURCE_STMT_LEN   64

/* The name of `rs`'s statement for `verb` ("get", "get_locked", "list", "insert", "update",
 * "delete"): its prefix, an underscore, the verb. */
static const char *
stmt(const struct resource *rs, const char *verb, char buf[RESOURCE_STMT_LEN])
{
    snprintf(buf, RESOURCE_STMT_LEN, "%s_%s", rs->stmt, verb);
    return buf;
}

/* Sends row 0 of `res` as the resource (rendered by `rs`, if not NULL), with its ETag when it has
 * a version. */
static int
send_row(struct req *r, const struct resource *rs, const PGresult *res)
{
    json_t *body = db_row_to_json(res, 0);
    const char *version = db_value(res, 0, "_version");
    int status;

    if (rs != NULL && rs->rules.render != NULL) {
        rs->rules.render(&r->principal, res, 0, body);
    }
    status =
        version != NULL ? http_send_resource(r, 200, body, version) : http_send_json(r, 200, body);
    json_decref(body);
    return status;
}

/* What the audit calls the resource. */
static const char *
audit_type(const struct resource *rs)
{
    return rs->audit_type != NULL ? rs->audit_type : rs->name;
}

/* The resource's `permitted` hook, when it has one. Returns 0, or the status of the problem sent.
 */
static int
permitted_or_problem(struct req *r, const struct resource *rs)
{
    return rs->rules.permitted != NULL ? rs->rules.permitted(r) : 0;
}

int
resource_get(struct req *r, const struct resource *rs)
{
    PGresult *res = NULL;
    char get[RESOURCE_STMT_LEN];
    int status;

    if ((status = permitted_or_problem(r, rs)) != 0) {
        return status;
    }
    status = http_row_or_problem(r, stmt(rs, "get", get), r->params[rs->id_param], rs->name,
                                 rs->visible, &res);
    if (status == 0) {
        status = send_row(r, rs, res);
    }
    PQclear(res);
    return status;
}

/* Checks filter `f`'s value `v`. Returns 0, or the status of the 400 sent. */
static int
filter_or_problem(struct req *r, const struct filter *f, const char *v)
{
    char choices[256];

    switch (f->type) {
    case FILTER_TEXT:
    case FILTER_EMAIL_TEXT:
        if (!validate_text(v, 1, f->type == FILTER_TEXT ? 200 : 254)) {
            return problem_send(r, PROBLEM_BAD_REQUEST, "%s: text of 1 to %d characters", f->name,
                                f->type == FILTER_TEXT ? 200 : 254);
        }
        break;
    case FILTER_ENUM:
        if (!validate_in_list(f->choices, v)) {
            resource_choices_text(f->choices, choices, sizeof(choices));
            return problem_send(r, PROBLEM_BAD_REQUEST, "%s: one of %s", f->name, choices);
        }
        break;
    case FILTER_BOOL:
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
            return problem_send(r, PROBLEM_BAD_REQUEST, "%s: true or false", f->name);
        }
        break;
    case FILTER_UUID:
        if (!validate_uuid(v)) {
            return problem_send(r, PROBLEM_BAD_REQUEST, "%s: a UUID", f->name);
        }
        break;
    case FILTER_DATE:
        if (!validate_date(v)) {
            return problem_send(r, PROBLEM_BAD_REQUEST, "%s: a date as YYYY-MM-DD", f->name);
        }
        break;
    case FILTER_GSS_CODE:
        if (!validate_gss_code(v)) {
            return problem_send(r, PROBLEM_BAD_REQUEST, "%s: an ONS code such as E06000035",
                                f->name);
        }
        break;
    case FILTER_AREA_CODE:
        if (!validate_area_code(v)) {
            return problem_send(r, PROBLEM_BAD_REQUEST,
                                "%s: an ONS code such as E06000035, or an Irish county such as "
                                "IE-CO",
                                f->name);
        }
        break;
    }
    return 0;
}

/* Sends every row of the list statement as one page (a list without a sort key). */
static int
unpaged_send(struct req *r, const struct resource *rs, const char **params, int n)
{
    PGresult *res = NULL;
    char list[RESOURCE_STMT_LEN];
    int status;

    if ((status = http_exec_or_problem(r, stmt(rs, "list", list), n, params, &res)) == 0) {
        status = page_send_rows(r, res, PQntuples(res), NULL);
    }
    PQclear(res);
    return status;
}

int
resource_list(struct req *r, const struct resource *rs)
{
    const char *allowed[RESOURCE_MAX_PARAMS], *params[RESOURCE_MAX_PARAMS];
    const struct filter *f;
    struct query q;
    struct page p = {0, NULL};
    char list[RESOURCE_STMT_LEN];
    int status, n = 0, k = 0;

    memset(&q, 0, sizeof(q));
    if ((status = permitted_or_problem(r, rs)) != 0) {
        goto out;
    }
    for (f = rs->filters; f != NULL && f->name != NULL; f++) {
        allowed[k++] = f->name;
    }
    if (rs->sort_key != NULL) {
        allowed[k++] = "limit";
        allowed[k++] = "cursor";
    }
    allowed[k] = NULL;
    if ((status = http_query_or_problem(r, allowed, &q)) != 0
        || (rs->sort_key != NULL && (status = http_page_or_problem(r, &q, &p)) != 0)) {
        goto out;
    }
    if (rs->org_scoped) {
        params[n++] = auth_is_admin(&r->principal) ? NULL : r->principal.org;
    }
    if (rs->parent != NULL) {
        if (!validate_uuid(r->params[0])) {
            status =
                problem_send(r, PROBLEM_NOT_FOUND, "no %s with id %s", rs->parent, r->params[0]);
            goto out;
        }
        params[n++] = r->params[0];
    }
    for (f = rs->filters; f != NULL && f->name != NULL; f++) {
        const char *v = query_get(&q, f->name);
        if (v != NULL && (status = filter_or_problem(r, f, v)) != 0) {
            goto out;
        }
        params[n++] = v;
    }
    if (rs->rules.listing != NULL && (status = rs->rules.listing(r, &q, params)) != 0) {
        goto out;
    }
    if (rs->sort_key == NULL) { /* one page: the whole (short) list */
        status = unpaged_send(r, rs, params, n);
        goto out;
    }
    if ((status = http_cursor_or_problem(r, &p, 2, rs->cursor_ok)) != 0) {
        goto out;
    }
    params[n++] = page_after(&p, 0);
    params[n++] = page_after(&p, 1);
    n++; /* the limit: page_query_send fills it in */
    status = page_query_send(r, stmt(rs, "list", list), params, n, &p, rs->sort_key);
out:
    page_cleanup(&p);
    query_cleanup(&q);
    return status;
}

/* Reads and checks the body against the field table and the resource's normaliser. Returns 0
 * with the body in *in, or the status of the problem already sent. */
static int
read_body_or_problem(struct req *r, const struct resource *rs, int creating, json_t **in)
{
    json_t *errors = json_array();
    int status;

    if ((status = http_read_json_or_problem(r, in)) != 0) {
        goto out;
    }
    validate_fields(*in, rs->fields, creating, errors);
    if (rs->rules.normalise != NULL && (status = rs->rules.normalise(r, *in, errors)) != 0) {
        goto out;
    }
    if (!creating && json_array_size(errors) == 0 && json_object_size(*in) == 0) {
        char names[400], detail[480];
        const struct field *f;
        size_t used = 0;

        names[0] = '\0';
        for (f = rs->fields; f->name != NULL && used < sizeof(names); f++) {
            used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
                                     used > 0 ? ", " : "", f->name);
        }
        snprintf(detail, sizeof(detail), "name at least one field to change: %s", names);
        problem_add_error(errors, "body", detail);
    }
    status = problem_send_errors_if_any(r, errors);
out:
    json_decref(errors);
    return status;
}

/* Runs the resource's check hook (which may change `in`) and answers the field errors it
 * collected; then writes `in` as the text the write binds, into *text (the caller frees it).
 * Returns 0, or the status of the problem sent. */
static int
checked_text_or_problem(
    struct req *r, const struct resource *rs, json_t *in, const PGresult *cur, char **text)
{
    json_t *errors;
    int status = 0;

    if (rs->rules.check != NULL) {
        errors = json_array();
        if ((status = rs->rules.check(r, in, cur, errors)) == 0) {
            status = problem_send_errors_if_any(r, errors);
        }
        json_decref(errors);
        if (status != 0) {
            return status;
        }
    }
    if ((*text = json_dumps(in, JSON_COMPACT)) == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    return 0;
}

/* After the write of row `id`: the `written` hook, then the resource's webhook event. Returns 0,
 * or the status of the problem sent. */
static int
written_or_problem(
    struct req *r, const struct resource *rs, const char *id, const PGresult *cur, json_t *in)
{
    int status;

    if (rs->rules.written != NULL && (status = rs->rules.written(r, id, cur, in)) != 0) {
        return status;
    }
    return rs->event != NULL ? webhooks_enqueue(r, rs->event, id, NULL) : 0;
}

int
resource_create(struct req *r, const struct resource *rs)
{
    json_t *in = NULL;
    char *text = NULL, id[40], insert[RESOURCE_STMT_LEN], get[RESOURCE_STMT_LEN];
    const char *params[2];
    int status;

    if ((status = permitted_or_problem(r, rs)) != 0
        || (status = read_body_or_problem(r, rs, 1, &in)) != 0) {
        goto out;
    }
    if (rs->parent != NULL && !validate_uuid(r->params[0])) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no %s with id %s", rs->parent, r->params[0]);
        goto out;
    }
    if ((status = http_begin_or_problem(r, 0)) != 0
        || (status = checked_text_or_problem(r, rs, in, NULL, &text)) != 0) {
        goto out;
    }
    params[0] = text;
    params[1] = rs->parent != NULL ? r->params[0] : NULL;
    if ((status = http_insert_or_problem(r, stmt(rs, "insert", insert), rs->parent != NULL ? 2 : 1,
                                         params, id, sizeof(id)))
            != 0
        || (status = written_or_problem(r, rs, id, NULL, in)) != 0) {
        goto out;
    }
    status = audit_commit_and_send(r, "create", audit_type(rs), id, NULL, stmt(rs, "get", get),
                                   rs->location);
out:
    free(text);
    json_decref(in);
    return status;
}

/* Begins the transaction of a change to the row named by the path, reads it locked and checks
 * visibility and If-Match (when `if_match_required`, or when the request carries one: a DELETE may
 * leave it out). Returns 0 with the row in *cur, or the status of the problem sent. */
static int
lock_or_problem(struct req *r, const struct resource *rs, int if_match_required, PGresult **cur)
{
    const char *id = r->params[rs->id_param];
    char get_locked[RESOURCE_STMT_LEN];
    int status;

    if (!validate_uuid(id)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no %s with id %s", rs->name, id);
    }
    if ((status = http_begin_or_problem(r, if_match_required)) != 0
        || (status = http_row_or_problem(r, stmt(rs, "get_locked", get_locked), id, rs->name,
                                         rs->visible, cur))
               != 0
        || ((if_match_required || http_header(r, "If-Match") != NULL)
            && (status = http_if_match_or_problem(r, db_value(*cur, 0, "_version"))) != 0)) {
        return status;
    }
    return 0;
}

int
resource_update(struct req *r, const struct resource *rs)
{
    json_t *in = NULL, *before = NULL;
    PGresult *cur = NULL;
    const char *id = r->params[rs->id_param], *params[2];
    char *text = NULL, update[RESOURCE_STMT_LEN], get[RESOURCE_STMT_LEN];
    int status;

    if ((status = permitted_or_problem(r, rs)) != 0
        || (status = read_body_or_problem(r, rs, 0, &in)) != 0
        || (status = lock_or_problem(r, rs, 1, &cur)) != 0
        || (status = checked_text_or_problem(r, rs, in, cur, &text)) != 0) {
        goto out;
    }
    params[0] = id;
    params[1] = text;
    if ((status = http_exec_or_problem(r, stmt(rs, "update", update), 2, params, NULL)) != 0
        || (status = written_or_problem(r, rs, id, cur, in)) != 0) {
        goto out;
    }
    before = db_row_to_json(cur, 0);
    status =
        audit_commit_and_send(r, "update", audit_type(rs), id, before, stmt(rs, "get", get), NULL);
out:
    free(text);
    PQclear(cur);
    json_decref(before);
    json_decref(in);
    return status;
}

/* DELETE: the row locked (If-Match checked when sent), `removing`, its statement, the audit,
 * 204. With `archivable`, a row already archived (column archived_at) is absent, and a `removing`
 * hook that names another statement archives the row, which is read again for the audit. */
static int
remove_row(struct req *r, const struct resource *rs, int archivable)
{
    json_t *before = NULL, *after = NULL;
    PGresult *cur = NULL, *now = NULL;
    char remove[RESOURCE_STMT_LEN], get[RESOURCE_STMT_LEN];
    const char *id = r->params[rs->id_param], *run = stmt(rs, "delete", remove), *params[1] = {id};
    int status;

    if ((status = permitted_or_problem(r, rs)) != 0
        || (status = lock_or_problem(r, rs, 0, &cur)) != 0) {
        goto out;
    }
    if (archivable && db_value(cur, 0, "archived_at") != NULL) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no %s with id %s", rs->name, id);
        goto out;
    }
    if ((rs->rules.removing != NULL && (status = rs->rules.removing(r, cur, &run)) != 0)
        || (status = http_exec_or_problem(r, run, 1, params, NULL)) != 0) {
        goto out;
    }
    before = db_row_to_json(cur, 0);
    if (archivable && run != remove) { /* archived: the row stays, changed */
        if ((status = http_row_or_problem(r, stmt(rs, "get", get), id, rs->name, NULL, &now))
            != 0) {
            goto out;
        }
        after = db_row_to_json(now, 0);
    }
    status = audit_commit_or_problem(r, after != NULL ? "archive" : "delete", audit_type(rs), id,
                                     before, after);
    if (status == 0) {
        status = http_send_empty(r, 204);
    }
out:
    PQclear(now);
    PQclear(cur);
    json_decref(before);
    json_decref(after);
    return status;
}

int
resource_delete(struct req *r, const struct resource *rs)
{
    return remove_row(r, rs, 0);
}

int
resource_delete_or_archive(struct req *r, const struct resource *rs)
{
    return remove_row(r, rs, 1);
}

int
resource_serve(struct req *r, const struct resource *rs, enum resource_verb verb)
{
    switch (verb) {
    case RESOURCE_GET:
        return resource_get(r, rs);
    case RESOURCE_LIST:
        return resource_list(r, rs);
    case RESOURCE_CREATE:
        return resource_create(r, rs);
    case RESOURCE_UPDATE:
        return resource_update(r, rs);
    case RESOURCE_DELETE:
        return resource_delete(r, rs);
    case RESOURCE_ARCHIVE:
        return resource_delete_or_archive(r, rs);
    }
    return problem_send(r, PROBLEM_INTERNAL, NULL);
}

int
resource_stmts_check(const struct resource *rs, enum resource_verb verb)
{
    /* What each verb runs: GET and LIST read; a write reads the row locked and answers it. */
    static const char *const needs[][4] = {
        [RESOURCE_GET] = {"get", NULL},
        [RESOURCE_LIST] = {"list", NULL},
        [RESOURCE_CREATE] = {"insert", "get", NULL},
        [RESOURCE_UPDATE] = {"get_locked", "update", "get", NULL},
        [RESOURCE_DELETE] = {"get_locked", "delete", NULL},
        [RESOURCE_ARCHIVE] = {"get_locked", "delete", "get", NULL},
    };
    char names[4][RESOURCE_STMT_LEN];
    const char *each[4] = {NULL};
    int i;

    for (i = 0; needs[verb][i] != NULL; i++) {
        each[i] = stmt(rs, needs[verb][i], names[i]);
    }
    return db_stmts_check(each);
}

int
resource_in_org(const struct principal *p, const PGresult *res)
{
    return auth_in_org(p, db_value(res, 0, "organisation_id"));
}

int
resource_org_admin(const struct principal *p)
{
    return p->authenticated && strcmp(p->role, "org_admin") == 0 && p->org[0] != '\0';
}

int
resource_transition_allowed(const struct transition *table, const char *from, const char *to)
{
    for (; from != NULL && to != NULL && table->from != NULL; table++) {
        if (strcmp(table->from, from) == 0 && strcmp(table->to, to) == 0) {
            return 1;
        }
    }
    return 0;
}

void
resource_transitions_text(const struct transition *table, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (; table->from != NULL && used < len; table++) {
        used += (size_t)snprintf(buf + used, len - used, "%s%s to %s", used > 0 ? ", " : "",
                                 table->from, table->to);
    }
}

void
resource_choices_text(const char *const *choices, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (; *choices != NULL && used < len; choices++) {
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used > 0 ? ", " : "", *choices);
    }
}

int
resource_has_error(json_t *errors, const char *field)
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

int
resource_known_unique(json_t *in, const char *field, const char *const *known, json_t *errors)
{
    json_t *list = json_object_get(in, field), *v;
    char choices[256], detail[320];
    size_t i, j;

    if (!json_is_array(list) || resource_has_error(errors, field)) {
        return 1;
    }
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        if (s == NULL || (known != NULL && !validate_in_list(known, s))) {
            resource_choices_text(known != NULL ? known : (const char *const[]){"a string", NULL},
                                  choices, sizeof(choices));
            snprintf(detail, sizeof(detail), "each %s%s", known != NULL ? "one of " : "", choices);
            problem_add_error(errors, field, detail);
            return 0;
        }
        for (j = 0; j < i; j++) {
            if (strcmp(s, json_string_value(json_array_get(list, j))) == 0) {
                snprintf(detail, sizeof(detail), "%s is named twice", s);
                problem_add_error(errors, field, detail);
                return 0;
            }
        }
    }
    return 1;
}

int
resource_admin_or_org_admin(const struct principal *p, const char *org)
{
    if (auth_is_admin(p)) {
        return 1;
    }
    return strcmp(p->role, "org_admin") == 0 && p->org[0] != '\0'
           && (org == NULL || strcmp(p->org, org) == 0);
}

void
resource_uuid_lower(json_t *v)
{
    const char *s = json_string_value(v);
    char buf[40];
    size_t i;

    if (!validate_uuid(s)) {
        return;
    }
    for (i = 0; s[i] != '\0'; i++) {
        buf[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    }
    buf[i] = '\0';
    json_string_set(v, buf);
}

int
resource_filters_or_problem(struct req *r,
                            const struct filter *filters,
                            const struct query *q,
                            const char **params)
{
    const struct filter *f;
    int status;

    for (f = filters; f->name != NULL; f++) {
        const char *v = query_get(q, f->name);
        if (v != NULL && (status = filter_or_problem(r, f, v)) != 0) {
            return status;
        }
        *params++ = v;
    }
    return 0;
}

int
resource_effective_on_or_problem(
    struct req *r, const char *stmt, const char *id, const char *effective_on, int max_days)
{
    const char *params[2], *last, *earliest;
    char days[16], detail[128];
    PGresult *res = NULL;
    int status;

    if (effective_on == NULL) {
        return 0;
    }
    snprintf(days, sizeof(days), "%d", max_days);
    params[0] = id;
    params[1] = days;
    if ((status = http_exec_or_problem(r, stmt, 2, params, &res)) != 0) {
        return status;
    }
    last = db_value(res, 0, "last");
    earliest = db_value(res, 0, "earliest");
    /* Valid YYYY-MM-DD dates order as strings. */
    if (strcmp(effective_on, earliest) < 0) {
        snprintf(detail, sizeof(detail),
                 "must not be more than %d days in the past (REGISTRY_BACKDATE_MAX_DAYS)",
                 max_days);
        status = problem_send_field(r, "effective_on", detail);
    } else if (last != NULL && strcmp(effective_on, last) < 0) {
        snprintf(detail, sizeof(detail), "must not be before the last change took effect (%s)",
                 last);
        status = problem_send_field(r, "effective_on", detail);
    }
    PQclear(res);
    return status;
}

int
resource_body_or_problem(struct req *r, const struct field *fields, int creating, json_t **in)
{
    json_t *errors = json_array();
    int status = http_read_json_or_problem(r, in);

    if (status == 0 && validate_fields(*in, fields, creating, errors) > 0) {
        status = problem_send_errors(r, errors);
    }
    json_decref(errors);
    return status;
}

int
resource_send_row(struct req *r, const PGresult *res)
{
    return send_row(r, NULL, res);
}

void
resource_postal_check(json_t *in, const PGresult *cur, json_t *errors)
{
    const char *country = json_string_value(json_object_get(in, "country"));
    const char *code = json_string_value(json_object_get(in, "postcode"));
    const char *why;

    if (resource_has_error(errors, "postcode") || resource_has_error(errors, "country")) {
        return;
    }
    if (country == NULL) {
        country = cur != NULL ? db_value(cur, 0, "country") : "GB";
    }
    if (code == NULL) {
        code = cur != NULL ? db_value(cur, 0, "postcode") : NULL;
    }
    if (country == NULL || code == NULL || (why = validate_postal_country(country, code)) == NULL) {
        return;
    }
    problem_add_error(errors, json_object_get(in, "postcode") != NULL ? "postcode" : "country",
                      why);
}
