/* resource.h: one descriptor per resource, and the generic handlers that serve every resource
 * from it (as redis serves its commands from one table). A resource room declares its SQL, its
 * field table, its filters and its real rules (hooks); resource.c does the rest: parse, validate,
 * authorize, query, audit, answer. */
#ifndef REGISTRY_RESOURCE_H
#define REGISTRY_RESOURCE_H

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/http.h"
#include "registry/validate.h"

/* A list's query parameter. Each is bound, in table order, as one parameter of the list
 * statement: its text, or NULL when the request leaves it out. */
enum filter_type {
    FILTER_TEXT, /* 1 to 200 characters */
    FILTER_ENUM, /* one of `choices` */
    FILTER_BOOL, /* true or false */
    FILTER_UUID,
    FILTER_DATE,       /* YYYY-MM-DD */
    FILTER_EMAIL_TEXT, /* 1 to 254 characters: part of an email address */
    FILTER_GSS_CODE,   /* an ONS GSS code (validate_gss_code), e.g. a local authority */
    FILTER_AREA_CODE,  /* a GSS code or an Irish county (validate_area_code) */
};

struct filter {
    const char *name;
    enum filter_type type;
    const char *const *choices; /* FILTER_ENUM: NULL-terminated */
};

struct resource;

/* The hooks of a resource's real rules. Each returns 0 to go on, or the status of the problem it
 * already sent. `errors` collects 422 field errors: the generic handler answers them once the
 * hook returns 0. `cur` is the stored row (row 0, locked, read with get_locked), NULL when
 * creating. */
struct resource_rules {
    /* Before any database work, after the field table's checks: normalise values, check what
     * needs no database. */
    int (*normalise)(struct req *r, json_t *in, json_t *errors);
    /* Inside the transaction, before the write: authorization that depends on the row or the
     * body, cross-field rules, conflicts. May change `in` (what the write receives). */
    int (*check)(struct req *r, json_t *in, const PGresult *cur, json_t *errors);
    /* Inside the transaction, after the write of row `id`: dependent rows, events with more than
     * the row's id (the resource's own `event` is enqueued after this hook). */
    int (*written)(struct req *r, const char *id, const PGresult *cur, json_t *in);
    /* Shapes row `row` of `res` for the caller: drops private fields, adds derived ones. */
    void (*render)(const struct principal *p, const PGresult *res, int row, json_t *obj);
    /* Inside the transaction of a DELETE, before the remove statement runs: 409 when the row is
     * still in use, or a different statement (*stmt) to run, e.g. an archive. */
    int (*removing)(struct req *r, const PGresult *cur, const char **stmt);
    /* Before a list runs: checks across its filters, or the caller's right to list. */
    int (*listing)(struct req *r, const struct query *q, const char **params);
    /* First of all, in every generic handler: whether the caller's role may use the resource. */
    int (*permitted)(struct req *r);
};

/* One resource. Its statements are named by `stmt` and the verb: "loc" has loc_get and
 * loc_get_locked ($1 = id), loc_list (see `filters`), loc_insert ($1 = the body as jsonb, with
 * the parent id as $2 when `parent`; RETURNING id), loc_update ($1 = id, $2 = the changes as
 * jsonb) and loc_delete ($1 = id): those the verbs its routes serve need (resource_stmts_check). */
struct resource {
    const char *name;     /* "course": "no course with id ...", and the audit's resource_type */
    const char *location; /* "/v1/courses/": a created row's Location is this and its id */
    int id_param;         /* which path parameter is the row's id (0 for /v1/courses/{id}) */
    const char *stmt;     /* the prefix of its statements' names */
    const struct field *fields;
    /* 1 when the row may be read only by the licensing body and its own organisation: the rows
     * carry `organisation_id`, and lists bind the caller's organisation (NULL for the licensing
     * body) as $1. */
    int org_scoped;
    /* When the list and create routes are nested under a parent (/v1/organisations/{id}/...):
     * the parent's name; its id (path parameter 0) is bound after the scope. */
    const char *parent;
    /* The list's filters, bound after scope and parent; then the cursor (sort key, id); then
     * the row limit. */
    const struct filter *filters;
    const char *sort_key;
    int (*cursor_ok)(const char *); /* the sort key's type: one of the http_cursor_* checks */
    int (*visible)(const struct principal *p, const PGresult *res); /* NULL: anyone who may call */
    struct resource_rules rules;
    const char *audit_type; /* the audit's resource_type when it is not `name` ("api_client") */
    /* The webhook event a create or update enqueues for the row written (webhooks_enqueue, in
     * the write's transaction), or NULL. */
    const char *event;
};

/* The generic handlers. Each returns the HTTP status it sent. */
int resource_get(struct req *r, const struct resource *rs);
int resource_list(struct req *r, const struct resource *rs);
int resource_create(struct req *r, const struct resource *rs);
int resource_update(struct req *r, const struct resource *rs);
int resource_delete(struct req *r, const struct resource *rs);

/* The generic handlers, as a route names them (RES_ROUTE in router.c). RESOURCE_ARCHIVE is
 * resource_delete_or_archive. */
enum resource_verb {
    RESOURCE_GET,
    RESOURCE_LIST,
    RESOURCE_CREATE,
    RESOURCE_UPDATE,
    RESOURCE_DELETE,
    RESOURCE_ARCHIVE,
};

/* Serves `verb` of `rs`. Returns the HTTP status sent. */
int resource_serve(struct req *r, const struct resource *rs, enum resource_verb verb);

/* Checks that every statement `verb` of `rs` runs is prepared (db_stmts_check, which logs the
 * first missing one): `serve` stops on it. Returns 0 or -1. */
int resource_stmts_check(const struct resource *rs, enum resource_verb verb);

/* 1 when row 0 of `res` belongs to the caller's organisation, or the caller is the licensing
 * body (reads column organisation_id). */
int resource_in_org(const struct principal *p, const PGresult *res);

/* 1 when the caller is an organisation admin (a user, or an API client, which acts as one). */
int resource_org_admin(const struct principal *p);

/* A status-transition table: {from, to} pairs, ending with {NULL, NULL}. */
struct transition {
    const char *from, *to;
};

/* 1 when `table` allows `from` -> `to`. */
int resource_transition_allowed(const struct transition *table, const char *from, const char *to);

/* Writes "a to b, c to d" (every pair of `table`) into buf. */
void resource_transitions_text(const struct transition *table, char *buf, size_t len);

/* Writes "a, b, c" (the NULL-terminated `choices`) into buf. */
void resource_choices_text(const char *const *choices, char *buf, size_t len);

/* 1 when `errors` already names `field`. */
int resource_has_error(json_t *errors, const char *field);

/* Checks that the array member `field` of `in` (if present) has no repeats and only values of
 * `known` (NULL-terminated; NULL: any string), adding one error naming the field otherwise. Returns
 * 1 when it is fine or absent. */
int resource_known_unique(json_t *in, const char *field, const char *const *known, json_t *errors);

/* Checks that the postal code of an address (`postcode`, `country`: GB or IE, default GB) has
 * the form of its country, each as sent in `in` or else as stored in row 0 of `cur` (NULL when
 * creating): adds one error naming the postcode when it was sent, else the country. */
void resource_postal_check(json_t *in, const PGresult *cur, json_t *errors);

/* 1 when `p` is the licensing body, or an org_admin of organisation `org` (of any organisation
 * when `org` is NULL). */
int resource_admin_or_org_admin(const struct principal *p, const char *org);

/* Lower-cases, in place, the UUID the JSON string `v` holds, so that ids compare as the database
 * writes them. Leaves anything else alone (NULL, not a string, not a UUID). */
void resource_uuid_lower(json_t *v);

/* Checks each of `filters` in `q` as resource_list does (400 naming it), and binds its text, or
 * NULL when absent, as params[i] of filter i. Returns 0, or the status of the problem sent. */
int resource_filters_or_problem(struct req *r,
                                const struct filter *filters,
                                const struct query *q,
                                const char **params);

/* Checks `effective_on` (a valid date; NULL: nothing to check) of a dated change to row `id`:
 * statement `stmt` ($1 = id, $2 = `max_days`) returns `earliest` (today less max_days) and
 * `last` (the day its last change that is not scheduled took effect, or NULL). effective_on may
 * be neither earlier than `earliest` (REGISTRY_BACKDATE_MAX_DAYS) nor than `last` (history stays
 * in order); a later date schedules the change. Returns 0, or the status of the 422 sent. */
int resource_effective_on_or_problem(
    struct req *r, const char *stmt, const char *id, const char *effective_on, int max_days);

/* Reads the request's JSON body into *in and checks it against `fields` (`creating`: the required
 * ones must be there), answering 400 or 422 with every field error. Returns 0, or the status
 * sent (*in is the caller's to release either way). */
int resource_body_or_problem(struct req *r, const struct field *fields, int creating, json_t **in);

/* Sends row 0 of `res` (a resource's row, with a `_version` column) as 200 with its ETag.
 * Returns the status sent. */
int resource_send_row(struct req *r, const PGresult *res);

/* DELETE of a resource whose rows are kept, archived, once they have history (organisations,
 * locations): reads the row locked (If-Match checked only when sent; a row already archived,
 * column archived_at, is absent: 404) and runs the `removing` hook. When the hook leaves *stmt
 * as `remove`, the row is deleted and audited as a "delete"; when it names another statement
 * ($1 = id), that archives the row, which is read again and audited as an "archive". Answers
 * 204. Returns the status sent. */
int resource_delete_or_archive(struct req *r, const struct resource *rs);

#endif
