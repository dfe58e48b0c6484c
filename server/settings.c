/* settings.c: GET and PUT /v1/settings/{name}, the licensing body's single-row settings
 * (migration 0015): `sroi`, the parameters of the impact report's SROI estimate (impact.c), and
 * `history`, its totals for the years before the registry (the public impact figures), and
 * `central-contact` (migration 0025), the licensing body's family counsellors: shown on `/`,
 * returned as central_contact by /v1/public/providers and shown by the finder when nothing is
 * near (an optional field left out of its PUT is cleared), with the beta banner's feedback
 * address. Any
 * signed-in user reads them; only the licensing body (admin) changes them, with If-Match, the
 * whole row at once (PUT), audited as resource_type "setting" with the setting's name. */
#include "registry/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/audit.h"
#include "registry/dbreply.h"
#include "registry/etag.h"
#include "registry/impact.h"
#include "registry/problem.h"
#include "registry/resource.h"
#include "registry/validate.h"

#define SROI_COLUMNS "savings_per_family_gbp, source, year"
#define HISTORY_COLUMNS                                                                            \
    "since_year, as_of, practitioners_trained, participants, families, locations, note"
#define CONTACT_COLUMNS "name, phone, email, web_chat_url, opening_hours, feedback_email"

const struct db_stmt settings_stmts[] = {
    {"set_sroi_get", "SELECT " SROI_COLUMNS ", updated_at, version AS _version FROM sroi_setting"},
    {"set_sroi_locked", "SELECT " SROI_COLUMNS ", updated_at, version AS _version FROM"
                        " sroi_setting FOR UPDATE"},
    {"set_sroi_put",
     "UPDATE sroi_setting s SET (" SROI_COLUMNS ") = (SELECT " SROI_COLUMNS
     " FROM jsonb_populate_record(s, $1::jsonb)), updated_at = now(),"
     " version = s.version + 1 RETURNING " SROI_COLUMNS ", updated_at, version AS _version"},
    {"set_history_get", "SELECT " HISTORY_COLUMNS ", updated_at, version AS _version FROM"
                        " impact_history"},
    {"set_history_locked", "SELECT " HISTORY_COLUMNS ", updated_at, version AS _version FROM"
                           " impact_history FOR UPDATE"},
    {"set_history_put",
     "UPDATE impact_history h SET (" HISTORY_COLUMNS ") = (SELECT " HISTORY_COLUMNS
     " FROM jsonb_populate_record(h, $1::jsonb)), updated_at = now(),"
     " version = h.version + 1 RETURNING " HISTORY_COLUMNS ", updated_at, version AS _version"},
    {"set_contact_get", "SELECT " CONTACT_COLUMNS ", updated_at, version AS _version FROM"
                        " central_contact_setting"},
    {"set_contact_locked", "SELECT " CONTACT_COLUMNS ", updated_at, version AS _version FROM"
                           " central_contact_setting FOR UPDATE"},
    {"set_contact_put",
     "UPDATE central_contact_setting c SET (" CONTACT_COLUMNS ") = (SELECT " CONTACT_COLUMNS
     " FROM jsonb_populate_record(c, $1::jsonb)), updated_at = now(),"
     " version = c.version + 1 RETURNING " CONTACT_COLUMNS ", updated_at, version AS _version"},
    /* What the public sees: nothing until a name is set. */
    {"set_contact_public",
     "SELECT json_build_object('name', name, 'phone', phone, 'email', email, 'web_chat_url',"
     " web_chat_url, 'opening_hours', opening_hours) AS contact, feedback_email"
     " FROM central_contact_setting WHERE name IS NOT NULL"},
    {NULL, NULL},
};

static const struct field sroi_fields[] = {
    {"savings_per_family_gbp", FIELD_INT, FIELD_REQUIRED, 0, 1000000, NULL},
    {"source", FIELD_TEXT, FIELD_REQUIRED, 1, 500, NULL},
    {"year", FIELD_INT, FIELD_REQUIRED, 1990, 2100, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static const struct field history_fields[] = {
    {"since_year", FIELD_INT, FIELD_REQUIRED, 1990, 2100, NULL},
    {"as_of", FIELD_DATE, FIELD_REQUIRED, 0, 0, NULL},
    {"practitioners_trained", FIELD_INT, FIELD_REQUIRED, 0, 10000000, NULL},
    {"participants", FIELD_INT, FIELD_REQUIRED, 0, 10000000, NULL},
    {"families", FIELD_INT, FIELD_REQUIRED, 0, 10000000, NULL},
    {"locations", FIELD_INT, FIELD_REQUIRED, 0, 100000, NULL},
    {"note", FIELD_TEXT, FIELD_REQUIRED, 1, 500, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* The central contact: a name, and whichever ways to reach it the licensing body has. */
static const struct field contact_fields[] = {
    {"name", FIELD_TEXT, FIELD_REQUIRED, 1, 200, NULL},
    {"phone", FIELD_PHONE, FIELD_NULLABLE, 0, 0, NULL},
    {"email", FIELD_EMAIL, FIELD_NULLABLE, 0, 0, NULL},
    {"web_chat_url", FIELD_URL, FIELD_NULLABLE, 0, 0, NULL},
    {"opening_hours", FIELD_TEXT, FIELD_NULLABLE, 1, 300, NULL},
    {"feedback_email", FIELD_EMAIL, FIELD_NULLABLE, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* One setting: its name in the path, the prefix of its statements (_get, _locked, _put), its
 * field table, and whether a field left out of a PUT is cleared (optional fields). */
static const struct setting {
    const char *name, *get, *locked, *put;
    const struct field *fields;
    int clear_missing;
} settings[] = {
    {"sroi", "set_sroi_get", "set_sroi_locked", "set_sroi_put", sroi_fields, 0},
    {"history", "set_history_get", "set_history_locked", "set_history_put", history_fields, 0},
    {"central-contact", "set_contact_get", "set_contact_locked", "set_contact_put", contact_fields,
     1},
};

/* The setting the path names, or NULL after a 404. */
static const struct setting *
setting_or_problem(struct req *r)
{
    size_t i;

    for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        if (strcmp(r->params[0], settings[i].name) == 0) {
            return &settings[i];
        }
    }
    problem_send(r, PROBLEM_NOT_FOUND, "no setting %.40s: sroi, history or central-contact",
                 r->params[0]);
    return NULL;
}

int
settings_get(struct req *r)
{
    const struct setting *s = setting_or_problem(r);
    PGresult *res = NULL;
    int status;

    if (s == NULL) {
        return 404;
    }
    if ((status = http_exec_or_problem(r, s->get, 0, NULL, &res)) == 0) {
        status = resource_send_row(r, res);
    }
    PQclear(res);
    return status;
}

int
settings_put(struct req *r)
{
    const struct setting *s = setting_or_problem(r);
    json_t *in = NULL, *before = NULL;
    PGresult *cur = NULL, *res = NULL;
    const char *params[1];
    char *text = NULL;
    int status;

    if (s == NULL) {
        return 404;
    }
    if ((status = resource_body_or_problem(r, s->fields, 1, &in)) != 0
        || (status = http_begin_or_problem(r, 1)) != 0
        || (status = http_exec_or_problem(r, s->locked, 0, NULL, &cur)) != 0
        || (status = http_if_match_or_problem(r, db_value(cur, 0, "_version"))) != 0) {
        goto out;
    }
    if (s->clear_missing) {
        const struct field *f;

        for (f = s->fields; f->name != NULL; f++) {
            if (json_object_get(in, f->name) == NULL) {
                json_object_set_new(in, f->name, json_null());
            }
        }
    }
    if ((text = json_dumps(in, JSON_COMPACT)) == NULL) {
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
        goto out;
    }
    params[0] = text;
    if ((status = http_exec_or_problem(r, s->put, 1, params, &res)) != 0) {
        goto out;
    }
    before = db_row_to_json(cur, 0);
    status = audit_commit_row_and_send(r, "update", "setting", s->name, before, res, NULL);
    if (status == 200 && strcmp(s->name, "history") == 0) {
        impact_public_forget(); /* the public figures show it */
    }
out:
    free(text);
    PQclear(cur);
    PQclear(res);
    json_decref(before);
    json_decref(in);
    return status;
}

json_t *
settings_central_contact(struct db_conn *db, char *feedback, size_t feedbacklen)
{
    PGresult *res = db_exec(db, "set_contact_public", 0, NULL);
    json_t *contact = NULL;

    if (feedback != NULL && feedbacklen > 0) {
        feedback[0] = '\0';
    }
    if (!db_ok(res)) {
        goto out;
    }
    if (PQntuples(res) == 1) {
        contact = json_loads(db_value(res, 0, "contact"), JSON_REJECT_DUPLICATES, NULL);
        if (feedback != NULL && db_value(res, 0, "feedback_email") != NULL) {
            snprintf(feedback, feedbacklen, "%s", db_value(res, 0, "feedback_email"));
        }
    } else {
        contact = json_null();
    }
out:
    PQclear(res);
    return contact;
}
