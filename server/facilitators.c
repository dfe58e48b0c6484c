/* facilitators.c: /v1/facilitators. The people who deliver M-PACT: their registration, private
 * contact details, employment (at most one current employer) and accreditation status.
 *
 * Status. The stored status is what was decided (in_training, accredited, suspended, withdrawn);
 * the status a client sees is the effective one: an accredited facilitator past accredited_until
 * reads as `lapsed`, computed on every read and never stored. Every status change writes a
 * facilitator_status_history row (effective today, UK calendar), so the eligibility verdict for
 * a past date (SQL facilitator_eligibility) reads the records as they stood then.
 *
 * Who sees what:
 * - admin: every facilitator, full record;
 * - org_admin: the full record of their organisation's current staff; the public view of anyone
 *   else (looking a facilitator up by registration number is a status check any licensee makes);
 * - org_staff: the public view of everyone (lists hold their own organisation's staff only).
 * The public view is id, registration_number, given_name, family_name, status, accredited_until
 * and the current employer (organisation_id, organisation_name): nothing private. Full records
 * carry an ETag; public views do not.
 *
 * Who changes what (PATCH, with If-Match):
 * - admin: everything, including status changes, `trainer` and moving between employers;
 * - org_admin of the current employer: names, email, phone, and releasing the facilitator
 *   (organisation_id null);
 * - org_admin, facilitator without a current employer: nothing (403); taking them on is an
 *   employment request, which the licensing body decides (below);
 * - anyone else: 404 for another organisation's staff, 403 for the rest.
 *
 * Employment changes take effect on `employed_from` (default today, never in the future): the
 * current employment ends the day before. A current employment that started that same day never
 * took effect and is removed (the audit row keeps it). */
#include "registry/facilitators.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/audit.h"
#include "registry/auth.h"
#include "registry/config.h"
#include "registry/db.h"
#include "registry/http.h"
#include "registry/organisations.h"
#include "registry/problem.h"
#include "registry/programmes.h"
#include "registry/resource.h"
#include "registry/validate.h"
#include "registry/webhooks.h"

#define FAC_REASON_MAX 500 /* characters */
#define FAC_NAME_MAX   100 /* characters, as the table's CHECK */
#define FAC_CHECK_MAX  100 /* registration numbers per status check */
#define FAC_NUMBER_MAX 32  /* bytes of a plausible registration number in a path */

/* The facilitator as clients see it, with the current employer; `_`-columns are internal. */
#define FAC_COLUMNS                                                                                \
    "f.id, f.registration_number, f.given_name, f.family_name, f.email, f.phone, " FAC_STATUS      \
    " AS status, f.accredited_on, f.accredited_until, f.trainer, f.reason, e.organisation_id, "    \
    "o.name AS organisation_name, f.created_at, f.updated_at, f.status AS _stored_status, "        \
    "f.version AS _version, e.started_on::text AS _employed_from, " FAC_ON_REGISTER                \
    " AS _on_register "

/* The public view (fac_public_fields, in that order): what any licensee may see. */
#define FAC_PUBLIC_COLUMNS                                                                         \
    "f.id, f.registration_number, f.given_name, f.family_name, " FAC_STATUS " AS status,"          \
    " f.accredited_until, e.organisation_id, o.name AS organisation_name, " FAC_ON_REGISTER        \
    " AS _on_register "

#define FAC_JOINS                                                                                  \
    "LEFT JOIN facilitator_employment e ON e.facilitator_id = f.id AND e.ended_on IS NULL "        \
    "LEFT JOIN organisation o ON o.id = e.organisation_id "
#define FAC_FROM "FROM facilitator f " FAC_JOINS

/* Both histories, oldest first, for the full record, read only when `cond` holds (a public view
 * needs neither: the subqueries then stop at a one-time filter without reading a row). */
#define FAC_HISTORIES_WHEN(cond)                                                                   \
    ", (SELECT coalesce(jsonb_agg(jsonb_build_object('organisation_id', x.organisation_id,"        \
    "    'organisation_name', xo.name, 'from', x.started_on, 'to', x.ended_on)"                    \
    "    ORDER BY x.started_on, x.created_at, x.id), '[]'::jsonb)"                                 \
    "   FROM facilitator_employment x JOIN organisation xo ON xo.id = x.organisation_id"           \
    "   WHERE x.facilitator_id = f.id AND " cond ") AS employment_history"                         \
    ", (SELECT coalesce(jsonb_agg(jsonb_build_object('status', h.status,"                          \
    "    'accredited_on', h.accredited_on, 'accredited_until', h.accredited_until,"                \
    "    'reason', h.reason, 'effective_on', h.effective_on) ORDER BY h.effective_on, h.id),"      \
    "    '[]'::jsonb)"                                                                             \
    "   FROM facilitator_status_history h WHERE h.facilitator_id = f.id AND " cond                 \
    ") AS status_history "
#define FAC_HISTORIES FAC_HISTORIES_WHEN("true")

/* On the public register (and so in the public view a licensee gets of someone else's staff):
 * accredited (or lapsed), suspended, or withdrawn after having been accredited. In training, or
 * withdrawn without ever being accredited: not. */
#define FAC_ON_REGISTER                                                                            \
    "(f.status IN ('accredited', 'suspended')"                                                     \
    " OR (f.status = 'withdrawn' AND f.accredited_on IS NOT NULL))"

/* An employment request as clients see it. */
#define FER_COLUMNS                                                                                \
    "r.id, r.facilitator_id, f.registration_number, r.organisation_id,"                            \
    " o.name AS organisation_name, r.starts_on, r.status, r.reason, r.created_at AS requested_at," \
    " r.decided_at, r.updated_at, r.version AS _version, r.created_at::text AS _created_at "
#define FER_FROM                                                                                   \
    "FROM facilitator_employment_request r JOIN facilitator f ON f.id = r.facilitator_id"          \
    " JOIN organisation o ON o.id = r.organisation_id "

/* For GET: whether the caller sees the full record (sees_full below, in SQL): $2 true for the
 * licensing body, $3 the caller's organisation when they are its org_admin (else NULL). */
#define FAC_SEES_FULL "($2::boolean OR e.organisation_id = $3::uuid)"

const struct db_stmt facilitators_stmts[] = {
    {"fac_get", "SELECT " FAC_COLUMNS FAC_HISTORIES FAC_FROM "WHERE f.id = $1::uuid"},
    /* GET by id or by registration number in one statement: $1 the reference, $2/$3 as in
     * FAC_SEES_FULL. */
    {"fac_view_id",
     "SELECT " FAC_COLUMNS FAC_HISTORIES_WHEN(FAC_SEES_FULL) FAC_FROM "WHERE f.id = $1::uuid"},
    {"fac_view_number", "SELECT " FAC_COLUMNS FAC_HISTORIES_WHEN(FAC_SEES_FULL) FAC_FROM
     "WHERE f.registration_number = upper(btrim($1::text))"},
    /* The public view alone, by id or by registration number: the status check of a licensee
     * looking at someone else's staff reads no more than it shows (fac_view_* costs about 40 %
     * more in PostgreSQL, bench/README.md). */
    {"fac_public_id", "SELECT " FAC_PUBLIC_COLUMNS FAC_FROM "WHERE f.id = $1::uuid"},
    {"fac_public_number",
     "SELECT " FAC_PUBLIC_COLUMNS FAC_FROM "WHERE f.registration_number = upper(btrim($1::text))"},
    /* Locked, with its histories and today's date (UK calendar): read once, the row is also the
     * audit's `before`. */
    {"fac_get_locked",
     "SELECT " FAC_COLUMNS FAC_HISTORIES ", registry_today()::text AS _today " FAC_FROM
     "WHERE f.id = $1::uuid FOR UPDATE OF f"},
    /* A registration number's facilitator, with what says who may see them. */
    {"fac_id_by_number",
     "SELECT f.id, e.organisation_id, " FAC_ON_REGISTER " AS _on_register " FAC_FROM
     "WHERE f.registration_number = upper(btrim($1::text))"},
    /* $1 the caller's organisation (NULL for admin), $2 q, $3 status, $4 organisation_id,
     * $5/$6/$7 the cursor (family_name, given_name, id), $8 limit. */
    {"fac_list",
     "SELECT " FAC_COLUMNS FAC_FROM "WHERE ($1::uuid IS NULL OR e.organisation_id = $1::uuid)"
     "  AND ($2::text IS NULL"
     "       OR strpos(lower(f.given_name || ' ' || f.family_name), lower($2::text)) > 0"
     "       OR strpos(f.registration_number, upper($2::text)) > 0)"
     "  AND ($3::text IS NULL OR " FAC_STATUS " = $3::text)"
     "  AND ($4::uuid IS NULL OR e.organisation_id = $4::uuid)"
     "  AND ($5::text IS NULL"
     "       OR (f.family_name, f.given_name, f.id) > ($5::text, $6::text, $7::uuid))"
     " ORDER BY f.family_name, f.given_name, f.id LIMIT $8::int"},
    {"fac_today", "SELECT registry_today()::text AS today"},
    /* The last day of the facilitator's ended employments, if any. */
    {"fac_last_end", "SELECT max(ended_on)::text AS last_end FROM facilitator_employment"
                     " WHERE facilitator_id = $1::uuid AND ended_on IS NOT NULL"},
    /* $1 body {given_name, family_name, email, phone?, organisation_id?, employed_from (the day
     * employment starts), _by (the acting user)}. One statement: the facilitator, its first
     * status history row and its employment. */
    {"fac_insert",
     "WITH s AS (SELECT $1::jsonb AS j), f AS (INSERT INTO facilitator (given_name, family_name,"
     "  email, phone) SELECT j->>'given_name', j->>'family_name', j->>'email', j->>'phone' FROM s"
     "  RETURNING id, status),"
     " h AS (INSERT INTO facilitator_status_history (facilitator_id, status, changed_by)"
     "  SELECT f.id, f.status, (s.j->>'_by')::uuid FROM f, s),"
     " e AS (INSERT INTO facilitator_employment (facilitator_id, organisation_id, started_on)"
     "  SELECT f.id, (s.j->>'organisation_id')::uuid, (s.j->>'employed_from')::date FROM f, s"
     "  WHERE s.j->>'organisation_id' IS NOT NULL) SELECT id FROM f"},
    /* $1 facilitator, $2 the changes (a status change with its reason, null if none, and its
     * accredited_on/until resolved; _by the acting user). A status change also writes its
     * history row, effective on effective_on (default today): dated after today it is scheduled,
     * only the history row is written now and registry_apply_scheduled gives it to the
     * facilitator on that day. The row takes the changes with jsonb_populate_record, the status
     * and what goes with it only when not scheduled. */
    {"fac_update",
     "WITH s AS (SELECT $2::jsonb AS j, coalesce(($2::jsonb->>'effective_on')::date,"
     "  registry_today()) AS eff, coalesce(($2::jsonb->>'effective_on')::date,"
     "  registry_today()) > registry_today() AS sch),"
     " u AS (UPDATE facilitator f SET (given_name, family_name, email, phone, trainer, status,"
     "  accredited_on, accredited_until, reason) = (SELECT given_name, family_name, email, phone,"
     "  trainer, status, accredited_on, accredited_until, reason FROM jsonb_populate_record(f,"
     "  CASE WHEN s.sch THEN s.j - ARRAY['status', 'accredited_on', 'accredited_until', 'reason']"
     "  ELSE s.j END)), updated_at = now(), version = f.version + 1 FROM s WHERE f.id = $1::uuid"
     "  RETURNING f.id, f.status, f.accredited_on, f.accredited_until, f.reason),"
     " h AS (INSERT INTO facilitator_status_history (facilitator_id, status, accredited_on,"
     "  accredited_until, reason, changed_by, effective_on, scheduled)"
     "  SELECT u.id, s.j->>'status', coalesce((s.j->>'accredited_on')::date, u.accredited_on),"
     "  coalesce((s.j->>'accredited_until')::date, u.accredited_until), s.j->>'reason',"
     "  (s.j->>'_by')::uuid, s.eff, s.sch FROM u, s WHERE s.j ? 'status') "
     "SELECT id FROM u"},
    /* Before a change to facilitator $1: its scheduled changes now due take effect. */
    {"fac_apply_due", "SELECT registry_apply_scheduled($1::uuid)"},
    /* Read by scheduler.c, the daily job: all facilitators' and licences' scheduled changes due by
     * today take effect (each change to one of them does it for that one first). */
    {"fac_apply_all_due", "SELECT registry_apply_scheduled() AS n"},
    /* A status change replaces a change of $1 still scheduled. */
    {"fac_unschedule", "DELETE FROM facilitator_status_history"
                       " WHERE facilitator_id = $1::uuid AND scheduled"},
    /* The day facilitator $1's last change (not scheduled) took effect. */
    {"fac_last_effective",
     "SELECT max(effective_on)::text AS last, (registry_today() - $2::int)::text AS earliest"
     " FROM facilitator_status_history WHERE facilitator_id = $1::uuid AND NOT scheduled"},
    /* Employer changes effective on $2: the current employment ends the day before, or is
     * removed when it started that very day (it never took effect). */
    {"fac_emp_end",
     "WITH d AS (DELETE FROM facilitator_employment WHERE facilitator_id = $1::uuid"
     " AND ended_on IS NULL AND started_on >= $2::date) UPDATE facilitator_employment"
     " SET ended_on = $2::date - 1 WHERE facilitator_id = $1::uuid"
     " AND ended_on IS NULL AND started_on < $2::date"},
    /* A change to the full record made outside fac_update (an approved employment request):
     * returns the record as it now stands. */
    {"fac_touch",
     "WITH f AS (UPDATE facilitator SET updated_at = now(), version = version + 1"
     " WHERE id = $1::uuid RETURNING *) SELECT " FAC_COLUMNS FAC_HISTORIES "FROM f " FAC_JOINS},
    {"fac_emp_start", "INSERT INTO facilitator_employment (facilitator_id, organisation_id,"
                      " started_on) VALUES ($1::uuid, $2::uuid, $3::date)"},
    /* $1 facilitator, $2 the date (NULL: today), $3 the organisation asked for (NULL: any):
     * employed on the date by another one is employed_by_another_organisation. */
    {"fac_eligibility",
     "SELECT f.id AS facilitator_id, f.registration_number, cardinality(x.reasons) = 0 AS eligible,"
     " to_jsonb(x.reasons) AS reasons, v.organisation_id, d.on_date::text AS \"on\", v.status,"
     " v.accredited_until, " FAC_ON_REGISTER " AS _on_register, e.organisation_id AS _employer "
     "FROM facilitator f"
     " LEFT JOIN facilitator_employment e ON e.facilitator_id = f.id AND e.ended_on IS NULL,"
     " (SELECT coalesce($2::date, registry_today()) AS on_date) d,"
     " LATERAL facilitator_eligibility(f.id, d.on_date) v,"
     " LATERAL (SELECT v.reasons || CASE WHEN $3::uuid IS NOT NULL AND v.organisation_id IS NOT"
     "  NULL AND v.organisation_id <> $3::uuid THEN ARRAY['employed_by_another_organisation']"
     "  ELSE ARRAY[]::text[] END AS reasons) x "
     "WHERE f.id = $1::uuid"},
    /* $1 a JSON array of strings: one row per element, in order, matched or not. */
    {"fac_status_check",
     "SELECT n.ord AS _ord, n.num AS _given, f.id, f.registration_number, f.given_name,"
     " f.family_name, " FAC_STATUS " AS status, f.accredited_until, f.organisation_id,"
     " f.organisation_name, " FAC_ON_REGISTER " AS _on_register "
     "FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY AS n(num, ord) "
     /* LATERAL with LIMIT (which keeps the planner from flattening it into a hash join over
      * every facilitator): one probe of the unique index per number, then its employer. */
     "LEFT JOIN LATERAL (SELECT x.*, e.organisation_id, o.name AS organisation_name"
     "  FROM facilitator x"
     "  LEFT JOIN facilitator_employment e ON e.facilitator_id = x.id AND e.ended_on IS NULL"
     "  LEFT JOIN organisation o ON o.id = e.organisation_id"
     "  WHERE x.registration_number = upper(btrim(n.num)) LIMIT 1) f ON true "
     "ORDER BY n.ord"},
    /* Employment requests. $1 the request (and $2 the facilitator, for the routes under it). */
    {"fer_get", "SELECT " FER_COLUMNS FER_FROM "WHERE r.id = $1::uuid"},
    {"fer_get_of",
     "SELECT " FER_COLUMNS FER_FROM "WHERE r.id = $1::uuid AND r.facilitator_id = $2::uuid"},
    {"fer_get_locked", "SELECT " FER_COLUMNS FER_FROM "WHERE r.id = $1::uuid"
                       " AND r.facilitator_id = $2::uuid FOR UPDATE OF r"},
    /* $1 {starts_on, organisation_id, _by (the requesting user)}, $2 facilitator. */
    {"fer_insert", "INSERT INTO facilitator_employment_request (facilitator_id, organisation_id,"
                   " starts_on, requested_by) SELECT $2::uuid, (j->>'organisation_id')::uuid,"
                   " (j->>'starts_on')::date, (j->>'_by')::uuid FROM (SELECT $1::jsonb AS j) s"
                   " RETURNING id"},
    /* $1 organisation (NULL: all), $2 facilitator, $3/$4 cursor (created_at, id), $5 limit;
     * newest first. */
    {"fer_list", "SELECT " FER_COLUMNS FER_FROM "WHERE r.facilitator_id = $2::uuid"
                 " AND ($1::uuid IS NULL OR r.organisation_id = $1::uuid) AND ($3::timestamptz IS"
                 " NULL OR (r.created_at, r.id) < ($3::timestamptz, $4::uuid))"
                 " ORDER BY r.created_at DESC, r.id DESC LIMIT $5::int"},
    /* $1 request, $2 approved or declined, $3 reason, $4 the deciding admin. */
    {"fer_decide",
     "UPDATE facilitator_employment_request SET status = $2::text, reason = $3::text,"
     " decided_by = $4::uuid, decided_at = now(), updated_at = now(),"
     " version = version + 1 WHERE id = $1::uuid AND status = 'pending' RETURNING id"},
    {NULL, NULL},
};

/* Statuses a client may see or filter on. */
static const char *const fac_statuses[] = {
    "in_training", "accredited", "lapsed", "suspended", "withdrawn", NULL,
};

/* The fields of the public view, in order. */
static const char *const fac_public_fields[] = {
    "id",     "registration_number", "given_name",      "family_name",
    "status", "accredited_until",    "organisation_id", "organisation_name",
    NULL,
};

/* The columns of a status check as CSV. */
static const char *const fac_check_columns[] = {
    "registration_number",
    "found",
    "status",
    "given_name",
    "family_name",
    "accredited_until",
    "organisation_id",
    "organisation_name",
    NULL,
};

static const struct field fac_create_fields[] = {
    {"given_name", FIELD_TEXT, FIELD_REQUIRED, 1, FAC_NAME_MAX, NULL},
    {"family_name", FIELD_TEXT, FIELD_REQUIRED, 1, FAC_NAME_MAX, NULL},
    {"email", FIELD_EMAIL, FIELD_REQUIRED, 0, 0, NULL},
    {"phone", FIELD_PHONE, FIELD_NULLABLE, 0, 0, NULL},
    {"organisation_id", FIELD_UUID, FIELD_NULLABLE, 0, 0, NULL},
    {"employed_from", FIELD_DATE, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static const struct field fac_update_fields[] = {
    {"given_name", FIELD_TEXT, 0, 1, FAC_NAME_MAX, NULL},
    {"family_name", FIELD_TEXT, 0, 1, FAC_NAME_MAX, NULL},
    {"email", FIELD_EMAIL, 0, 0, 0, NULL},
    {"phone", FIELD_PHONE, FIELD_NULLABLE, 0, 0, NULL},
    {"organisation_id", FIELD_UUID, FIELD_NULLABLE, 0, 0, NULL},
    {"employed_from", FIELD_DATE, 0, 0, 0, NULL},
    {"status", FIELD_ENUM, 0, 0, 0, fac_statuses},
    {"reason", FIELD_TEXT, 0, 1, FAC_REASON_MAX, NULL},
    {"accredited_on", FIELD_DATE, 0, 0, 0, NULL},
    {"accredited_until", FIELD_DATE, 0, 0, 0, NULL},
    {"trainer", FIELD_BOOL, 0, 0, 0, NULL},
    {"effective_on", FIELD_DATE, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* The list's filters, bound as fac_list's $2-$4. */
static const struct filter fac_filters[] = {
    {"q", FILTER_TEXT, NULL},
    {"status", FILTER_ENUM, fac_statuses},
    {"organisation_id", FILTER_UUID, NULL},
    {NULL, 0, NULL},
};

/* The eligibility check's query, bound as fac_eligibility's $2 and $3. */
static const struct filter fac_eligibility_filters[] = {
    {"on", FILTER_DATE, NULL},
    {"organisation_id", FILTER_UUID, NULL},
    {NULL, 0, NULL},
};

/* What an org_admin may change about their own current staff. */
static const char *const fac_org_admin_fields[] = {
    "given_name", "family_name", "email", "phone", "organisation_id", "employed_from", NULL,
};

/* Stored-status transitions: in_training→accredited (granted by hand), accredited→suspended,
 * suspended→accredited (reinstated; reads lapsed when past accredited_until), and anything but
 * withdrawn→withdrawn (final). `lapsed` is never set: it is computed. */
static const struct transition fac_transitions[] = {
    {"in_training", "accredited"},
    {"accredited", "suspended"},
    {"suspended", "accredited"},
    {"in_training", "withdrawn"},
    {"accredited", "withdrawn"},
    {"suspended", "withdrawn"},
    {NULL, NULL},
};

/* A string member of `in`, or NULL (borrowed). */
static const char *
str_field(json_t *in, const char *key)
{
    return json_string_value(json_object_get(in, key));
}

/* Sets `key` of `in` to `value`, unless it is there already. Returns the value `in` holds
 * (borrowed), or NULL. */
static const char *
str_default(json_t *in, const char *key, const char *value)
{
    if (str_field(in, key) == NULL && value != NULL) {
        json_object_set_new(in, key, json_string(value));
    }
    return str_field(in, key);
}

/* The 404 for the facilitator the path names. Returns its status. */
static int
not_found(struct req *r)
{
    return problem_send(r, PROBLEM_NOT_FOUND, "no facilitator %s", r->params[0]);
}

/* 1 when `ref` may be a registration number ("MPF-...", any case, not absurdly long). */
static int
number_plausible(const char *ref)
{
    return strlen(ref) <= FAC_NUMBER_MAX && strncasecmp(ref, "MPF-", 4) == 0;
}

/* 1 when the caller may see the full record of row `row`: admin, or the org_admin of the
 * facilitator's current employer. */
static int
sees_full(const struct principal *p, const PGresult *res, int row)
{
    const char *org = db_value(res, row, "organisation_id");

    return auth_is_admin(p) || (org != NULL && resource_admin_or_org_admin(p, org));
}

/* 1 when the caller may see row `row` (with _on_register and organisation_id) at all: the
 * licensing body sees everyone; a licensee sees their own staff, and anyone else only while
 * they are on the public register (never someone in training, or withdrawn unaccredited). */
static int
visible(const struct principal *p, const PGresult *res, int row, const char *employer_column)
{
    const char *org = db_value(res, row, employer_column);

    return auth_is_admin(p) || db_bool(res, row, "_on_register")
           || (org != NULL && p->org[0] != '\0' && strcmp(org, p->org) == 0);
}

/* 1 when the caller may see row 0 at all (visible). */
static int
seen(const struct principal *p, const PGresult *res)
{
    return visible(p, res, 0, "organisation_id");
}

/* Finds the facilitator the path names, by UUID or by registration number (any case), and writes
 * its id into `id`. A number names nobody to a caller `may_see` (if not NULL) refuses: the 404
 * names the number, as for one that does not exist. Returns 0, or the status of the 404 sent. */
static int
resolve_or_problem(struct req *r,
                   int (*may_see)(const struct principal *, const PGresult *),
                   char *id,
                   size_t idlen)
{
    const char *ref = r->params[0], *params[1] = {ref};
    PGresult *res = NULL;
    int status;

    if (validate_uuid(ref)) {
        snprintf(id, idlen, "%s", ref);
        return 0;
    }
    if (!number_plausible(ref)) {
        return not_found(r);
    }
    if ((status = http_exec_or_problem(r, "fac_id_by_number", 1, params, &res)) == 0) {
        if (PQntuples(res) != 1 || (may_see != NULL && !may_see(&r->principal, res))) {
            status = not_found(r);
        } else {
            snprintf(id, idlen, "%s", PQgetvalue(res, 0, 0));
        }
    }
    PQclear(res);
    return status;
}

/* Reads one facilitator with statement `stmt` and its `n` parameters: 404 naming the path's
 * facilitator when there is none. Returns 0 with the result in *out, or the status sent. */
static int
row_or_problem(struct req *r, const char *stmt, int n, const char *const *params, PGresult **out)
{
    int status = http_exec_or_problem(r, stmt, n, params, out);

    if (status == 0 && PQntuples(*out) != 1) {
        PQclear(*out);
        *out = NULL;
        status = not_found(r);
    }
    return status;
}

/* Reads today's date (UK calendar) into `today` (11 bytes). Returns 0 or the status sent. */
static int
today_or_problem(struct req *r, char *today)
{
    PGresult *res = NULL;
    int status = http_exec_or_problem(r, "fac_today", 0, NULL, &res);

    if (status == 0) {
        snprintf(today, 11, "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return status;
}

/* Sends row 0 of a facilitator result as the caller may see it: the full record with its ETag,
 * or the public view. */
static int
send_view(struct req *r, const PGresult *res)
{
    if (sees_full(&r->principal, res, 0)) {
        return resource_send_row(r, res);
    }
    return http_send_json_new(r, 200, db_row_pick(res, 0, fac_public_fields));
}

/* GET /v1/facilitators/{id or registration number}: the status check licensees run all day.
 * The licensing body reads the full record (fac_view_*) at once; anyone else reads the public
 * view (fac_public_*), and only an org_admin finding their own staff there reads the full record
 * as well. fac_view_* decides again, in the same statement that reads the histories, whether the
 * caller sees them (the employer may have changed in between). */
int
facilitators_get(struct req *r)
{
    const char *ref = r->params[0], *params[3];
    PGresult *res = NULL;
    int by_id = validate_uuid(ref), admin = auth_is_admin(&r->principal), status;

    if (!by_id && !number_plausible(ref)) {
        return not_found(r);
    }
    params[0] = ref;
    params[1] = admin ? "true" : "false";
    params[2] = resource_org_admin(&r->principal) ? r->principal.org : NULL;
    if (!admin) {
        if ((status =
                 row_or_problem(r, by_id ? "fac_public_id" : "fac_public_number", 1, params, &res))
            != 0) {
            goto out;
        }
        if (!seen(&r->principal, res)) {
            status = not_found(r);
            goto out;
        }
        if (!sees_full(&r->principal, res, 0)) {
            status = send_view(r, res);
            goto out;
        }
        PQclear(res); /* their own staff: the full record */
        res = NULL;
    }
    if ((status = row_or_problem(r, by_id ? "fac_view_id" : "fac_view_number", 3, params, &res))
        == 0) {
        status = send_view(r, res);
    }
out:
    PQclear(res);
    return status;
}

int
facilitators_list(struct req *r)
{
    static const char *const allowed[] = {"q",     "status", "organisation_id",
                                          "limit", "cursor", NULL};
    struct query q;
    struct page p = {0, NULL};
    PGresult *res = NULL;
    const char *params[8];
    char limit[16];
    json_t *items = NULL, *next = NULL;
    int status, n, i;

    if ((status = http_query_or_problem(r, allowed, &q)) != 0
        || (status = http_page_or_problem(r, &q, &p)) != 0
        || (status = resource_filters_or_problem(r, fac_filters, &q, params + 1)) != 0
        || (status = http_cursor_or_problem(r, &p, 3, http_cursor_text)) != 0) {
        goto out;
    }
    snprintf(limit, sizeof(limit), "%d", p.limit + 1);
    /* A licensee's list holds their own organisation's current staff only. */
    params[0] = auth_is_admin(&r->principal) ? NULL : r->principal.org;
    for (i = 0; i < 3; i++) {
        params[4 + i] = page_after(&p, (size_t)i);
    }
    params[7] = limit;
    if ((status = http_exec_or_problem(r, "fac_list", 8, params, &res)) != 0) {
        goto out;
    }
    n = PQntuples(res);
    if (n > p.limit) {
        n = p.limit;
        next = json_pack("[sss]", db_value(res, n - 1, "family_name"),
                         db_value(res, n - 1, "given_name"), db_value(res, n - 1, "id"));
    }
    items = json_array();
    for (i = 0; i < n; i++) {
        json_array_append_new(items, sees_full(&r->principal, res, i)
                                         ? db_row_to_json(res, i)
                                         : db_row_pick(res, i, fac_public_fields));
    }
    status = page_send(r, items, next);
out:
    PQclear(res);
    page_cleanup(&p);
    query_cleanup(&q);
    return status;
}

/* Who may register or change facilitators: the licensing body and organisation admins. */
static int
fac_permitted(struct req *r)
{
    if (auth_is_admin(&r->principal) || resource_org_admin(&r->principal)) {
        return 0;
    }
    return problem_send(r, PROBLEM_FORBIDDEN,
                        "only an admin or an organisation admin may %s facilitators",
                        strcmp(r->method, "POST") == 0 ? "register" : "change");
}

/* POST: a licensee registers their own staff; an employment start needs an employer. */
static int
create_normalise(struct req *r, json_t *in, json_t *errors)
{
    const char *org = str_field(in, "organisation_id");

    if (json_array_size(errors) > 0) { /* the field table's errors come first */
        return 0;
    }
    if (!auth_is_admin(&r->principal)) {
        /* Their own request body: refusing it reveals nothing about other organisations. */
        if (org != NULL && strcmp(org, r->principal.org) != 0) {
            return problem_send(r, PROBLEM_FORBIDDEN,
                                "organisation_id: you may register your own organisation's "
                                "staff only");
        }
        org = r->principal.org;
        json_object_set_new(in, "organisation_id", json_string(org));
    }
    if (org == NULL && json_object_get(in, "employed_from") != NULL) {
        problem_add_error(errors, "employed_from", "only with an organisation_id");
    }
    return 0;
}

/* POST, in the transaction: employment starts today or earlier, at a usable employer. Adds what
 * fac_insert reads besides the body: employed_from (default today) and the acting user (_by). */
static int
create_check(struct req *r, json_t *in, const PGresult *cur, json_t *errors)
{
    const char *org = str_field(in, "organisation_id");
    char today[16];
    int status;

    (void)cur;
    (void)errors;
    if ((status = today_or_problem(r, today)) != 0) {
        return status;
    }
    /* Valid YYYY-MM-DD dates order as strings. */
    if (strcmp(str_default(in, "employed_from", today), today) > 0) {
        return problem_send_field(r, "employed_from", "must not be after today");
    }
    if (org != NULL && (status = organisations_usable_or_problem(r, org, 1)) != 0) {
        return status;
    }
    json_object_set_new(in, "_by", json_string(r->principal.sub));
    return 0;
}

/* PATCH: fields that only go together (after the field table's errors). Then, for a request
 * that will be heard, the facilitator's scheduled changes now due take effect (committed at once,
 * as the daily job would make them: they are due whatever becomes of this request), so If-Match
 * is checked against the version they leave. Returns 0, or the status of the problem sent. */
static int
update_normalise(struct req *r, json_t *in, json_t *errors)
{
    const char *to = str_field(in, "status"), *id[1] = {r->params[0]};
    const char *on = str_field(in, "accredited_on"), *until = str_field(in, "accredited_until");

    if (json_array_size(errors) > 0) {
        return 0;
    }
    if (json_object_size(in) == 0) {
        problem_add_error(errors, "body", "name at least one field to change");
    }
    if (to != NULL && strcmp(to, "lapsed") == 0) {
        problem_add_error(errors, "status",
                          "lapsed is never set by hand: it follows from accredited_until");
    }
    if (to == NULL && json_object_get(in, "reason") != NULL) {
        problem_add_error(errors, "reason", "only with a status change");
    }
    if (to != NULL && (strcmp(to, "suspended") == 0 || strcmp(to, "withdrawn") == 0)
        && json_object_get(in, "reason") == NULL) {
        problem_add_error(errors, "reason", "is required to suspend or withdraw");
    }
    if ((on != NULL || until != NULL) && (to == NULL || strcmp(to, "accredited") != 0)) {
        problem_add_error(errors, on != NULL ? "accredited_on" : "accredited_until",
                          "only with status accredited");
    }
    if (to == NULL && json_object_get(in, "effective_on") != NULL) {
        problem_add_error(errors, "effective_on", "only with a status change");
    }
    if (json_object_get(in, "employed_from") != NULL
        && json_object_get(in, "organisation_id") == NULL) {
        problem_add_error(errors, "employed_from", "only with organisation_id");
    }
    if (json_array_size(errors) > 0 || http_header(r, "If-Match") == NULL) { /* 422 or 428 */
        return 0;
    }
    return http_exec_or_problem(r, "fac_apply_due", 1, id, NULL);
}

/* Whose row a PATCH reaches: a licensee's own staff, and those nobody employs (403 below);
 * another organisation's staff are not there (404). */
static int
changeable(const struct principal *p, const PGresult *res)
{
    const char *org = db_value(res, 0, "organisation_id");

    return auth_is_admin(p) || org == NULL || strcmp(org, p->org) == 0;
}

/* Checks who may make the change `in` to the locked facilitator `cur` (row 0, changeable).
 * Returns 0, or the status of the 403 sent for what the caller's role never allows. */
static int
may_change_or_problem(struct req *r, json_t *in, const PGresult *cur)
{
    const char *org = db_value(cur, 0, "organisation_id"), *key;
    const char *number = db_value(cur, 0, "registration_number");
    const char *to_org = str_field(in, "organisation_id");
    json_t *v;

    if (auth_is_admin(&r->principal)) {
        return 0;
    }
    if (org == NULL) {
        /* No current employer: nothing for a licensee to change. Taking them on is a request
         * the licensing body decides. */
        return problem_send(r, PROBLEM_FORBIDDEN,
                            "facilitator %s has no current employer; to take them on, ask the "
                            "licensing body: POST /v1/facilitators/%s/employment-requests",
                            number, number);
    }
    json_object_foreach(in, key, v)
    {
        if (!validate_in_list(fac_org_admin_fields, key)) {
            return problem_send(r, PROBLEM_FORBIDDEN,
                                "%s: only the licensing body may change this; you may change "
                                "names, email and phone, or release your staff "
                                "(organisation_id null)",
                                key);
        }
    }
    if (to_org != NULL && strcmp(to_org, r->principal.org) != 0) {
        return problem_send(r, PROBLEM_FORBIDDEN,
                            "organisation_id: you may release your staff (null); moving them to "
                            "another employer is for the licensing body");
    }
    return 0;
}

/* Checks a status change in `in` against the locked facilitator `cur` and fills in the dates of
 * an accreditation, which takes effect on accredited_on: effective_on, when given, is that day.
 * Returns 0, or the status of the problem sent. */
static int
status_change_or_problem(struct req *r, json_t *in, const PGresult *cur)
{
    const char *to = str_field(in, "status"), *stored = db_value(cur, 0, "_stored_status");
    const char *number = db_value(cur, 0, "registration_number");
    const char *on = str_field(in, "accredited_on"), *until = str_field(in, "accredited_until");
    const char *eff = str_field(in, "effective_on");
    char allowed[256];
    int until_given = until != NULL, status;

    if (to == NULL) {
        return 0;
    }
    if (strcmp(stored, "withdrawn") == 0) {
        return problem_send(r, PROBLEM_INVALID_TRANSITION,
                            "facilitator %s is withdrawn, which is final: it cannot become %s",
                            number, to);
    }
    if (!resource_transition_allowed(fac_transitions, stored, to)) {
        resource_transitions_text(fac_transitions, allowed, sizeof(allowed));
        return problem_send(r, PROBLEM_INVALID_TRANSITION,
                            "facilitator %s: %s to %s is not allowed; allowed are %s", number,
                            db_value(cur, 0, "status"), to, allowed);
    }
    if ((status = resource_effective_on_or_problem(r, "fac_last_effective", db_value(cur, 0, "id"),
                                                   eff, config.backdate_max_days))
            != 0
        || strcmp(to, "accredited") != 0) {
        return status;
    }
    if (eff != NULL && strcmp(stored, "in_training") == 0) {
        if (on != NULL && strcmp(on, eff) != 0) {
            return problem_send_field(r, "effective_on",
                                      "a grant of accreditation takes effect on accredited_on; "
                                      "send one of them, or the same day");
        }
        on = str_default(in, "accredited_on", eff);
    }
    on = str_default(in, "accredited_on", db_value(cur, 0, "accredited_on"));
    on = str_default(in, "accredited_on", db_value(cur, 0, "_today"));
    until = str_default(in, "accredited_until", db_value(cur, 0, "accredited_until"));
    if (until == NULL) {
        return problem_send_field(r, "accredited_until", "is required to grant accreditation");
    }
    if (strcmp(until, on) < 0) {
        return problem_send_field(r, until_given ? "accredited_until" : "accredited_on",
                                  "accredited_until must not be before accredited_on");
    }
    return 0;
}

/* Applies an employer change in `in` (organisation_id, employed_from) to the locked facilitator
 * `cur`, or only checks it when `apply` is 0; a problem with the start date names `field`. Does
 * nothing when the employer stays the same. Returns 0 or the status sent. */
static int
employment_change_or_problem(
    struct req *r, json_t *in, const PGresult *cur, const char *field, int apply)
{
    const char *today = db_value(cur, 0, "_today");
    const char *id = db_value(cur, 0, "id"), *current = db_value(cur, 0, "organisation_id");
    const char *started = db_value(cur, 0, "_employed_from"), *last_end, *params[3] = {id};
    json_t *v = json_object_get(in, "organisation_id");
    const char *to = json_string_value(v), *from = str_field(in, "employed_from");
    PGresult *res = NULL;
    int status;

    if (v == NULL || (to == NULL && current == NULL)
        || (to != NULL && current != NULL && strcmp(to, current) == 0)) {
        return from != NULL ? problem_send_field(r, field, "only when the employer changes") : 0;
    }
    from = from != NULL ? from : today;
    /* Valid YYYY-MM-DD dates order as strings. */
    if (strcmp(from, today) > 0) {
        return problem_send_field(r, field, "must not be after today");
    }
    if (started != NULL && strcmp(from, started) < 0) {
        return problem_send_field(r, field, "must not be before the current employment started");
    }
    if ((status = http_exec_or_problem(r, "fac_last_end", 1, params, &res)) != 0) {
        return status;
    }
    last_end = db_value(res, 0, "last_end");
    if (current == NULL && last_end != NULL && strcmp(from, last_end) <= 0) {
        status = problem_send_field(r, field, "must be after the last employment ended");
        goto out;
    }
    if ((to != NULL && (status = organisations_usable_or_problem(r, to, 1)) != 0) || !apply) {
        goto out;
    }
    params[1] = from;
    if (current != NULL
        && (status = http_exec_or_problem(r, "fac_emp_end", 2, params, NULL)) != 0) {
        goto out;
    }
    params[1] = to;
    params[2] = from;
    if (to != NULL) {
        status = http_exec_or_problem(r, "fac_emp_start", 3, params, NULL);
    }
out:
    PQclear(res);
    return status;
}

/* PATCH, in the transaction, the row locked: who may change what, then the status and employer
 * changes. The employer change is written here (fac_update writes only the facilitator row); a
 * status change replaces one still scheduled. Adds the acting user (_by) for fac_update. */
static int
update_check(struct req *r, json_t *in, const PGresult *cur, json_t *errors)
{
    const char *id[1] = {db_value(cur, 0, "id")};
    int status;

    (void)errors;
    if ((status = may_change_or_problem(r, in, cur)) != 0
        || (status = status_change_or_problem(r, in, cur)) != 0
        || (status = employment_change_or_problem(r, in, cur, "employed_from", 1)) != 0) {
        return status;
    }
    json_object_del(in, "organisation_id");
    json_object_del(in, "employed_from");
    if (json_object_get(in, "status") != NULL) {
        if (json_object_get(in, "reason") == NULL) { /* a status change without one clears it */
            json_object_set_new(in, "reason", json_null());
        }
        if ((status = http_exec_or_problem(r, "fac_unschedule", 1, id, NULL)) != 0) {
            return status;
        }
    }
    json_object_set_new(in, "_by", json_string(r->principal.sub));
    return 0;
}

/* Every status change of a facilitator passes here (scheduled ones take effect in
 * registry_apply_scheduled): the place for what must follow it. A change to suspended or
 * withdrawn puts the facilitator's runs at risk (programme.at_risk). */
static int
update_written(struct req *r, const char *id, const PGresult *cur, json_t *in)
{
    json_t *before = db_row_to_json(cur, 0);
    const char *to = str_field(in, "status");
    int status = webhooks_enqueue(r, "facilitator.status_changed", id, before);

    json_decref(before);
    if (status != 0 || to == NULL
        || (strcmp(to, "suspended") != 0 && strcmp(to, "withdrawn") != 0)) {
        return status;
    }
    return programmes_flag_at_risk(r, id);
}

/* Facilitators are read by their own handlers (who sees which view) and written through these:
 * one descriptor to register them, one to change them. */
const struct resource fac_new_resource = {
    .name = "facilitator",
    .location = "/v1/facilitators/",
    .stmt = "fac",
    .fields = fac_create_fields,
    .rules = {.permitted = fac_permitted, .normalise = create_normalise, .check = create_check},
};

const struct resource fac_resource = {
    .name = "facilitator",
    .stmt = "fac",
    .fields = fac_update_fields,
    .visible = changeable,
    .rules = {.permitted = fac_permitted,
              .normalise = update_normalise,
              .check = update_check,
              .written = update_written},
};

/* Serves `verb` of `rs` for the facilitator the path names by id or by registration number: the
 * generic handler sees its id as the path's first parameter. A number the caller may not see
 * (rs->visible) is answered as unknown here, so no 404 names the id it stands for. */
static int
by_ref(struct req *r, int (*verb)(struct req *, const struct resource *), const struct resource *rs)
{
    char id[48], *ref = r->params[0];
    int status = resolve_or_problem(r, rs->visible, id, sizeof(id));

    if (status == 0) {
        r->params[0] = id;
        status = verb(r, rs);
        r->params[0] = ref;
    }
    return status;
}

/* PATCH /v1/facilitators/{id or registration number} */
int
facilitators_update(struct req *r)
{
    return by_ref(r, resource_update, &fac_resource);
}

int
facilitators_eligibility(struct req *r)
{
    static const char *const allowed[] = {"on", "organisation_id", NULL};
    struct query q;
    PGresult *res = NULL;
    json_t *body = NULL;
    const char *params[3];
    char id[48];
    int status;

    if ((status = http_query_or_problem(r, allowed, &q)) != 0
        || (status = resource_filters_or_problem(r, fac_eligibility_filters, &q, params + 1))
               != 0) {
        goto out;
    }
    /* A licensee asks for its own organisation only; the licensing body for any. */
    if (params[2] != NULL && !auth_in_org(&r->principal, params[2])) {
        status = problem_send(r, PROBLEM_FORBIDDEN,
                              "organisation_id: you may ask for your own organisation only");
        goto out;
    }
    if ((status = resolve_or_problem(r, NULL, id, sizeof(id))) != 0) {
        goto out;
    }
    params[0] = id;
    if ((status = http_exec_or_problem(r, "fac_eligibility", 3, params, &res)) != 0) {
        goto out;
    }
    if (PQntuples(res) != 1 || !visible(&r->principal, res, 0, "_employer")) {
        status = not_found(r);
        goto out;
    }
    body = db_row_to_json(res, 0);
    status = http_send_json(r, 200, body);
out:
    json_decref(body);
    PQclear(res);
    query_cleanup(&q);
    return status;
}

/* Checks the body of a status check: {registration_numbers: 1 to 100 strings} and nothing else.
 * Returns 0, or the status of the 422 sent. */
static int
check_body_or_problem(struct req *r, json_t *in)
{
    json_t *list = json_object_get(in, "registration_numbers"), *v;
    const char *key;
    size_t i;

    json_object_foreach(in, key, v)
    {
        if (strcmp(key, "registration_numbers") != 0) {
            return problem_send_field(r, key, "is not a field of this request");
        }
    }
    if (!json_is_array(list) || json_array_size(list) < 1
        || json_array_size(list) > FAC_CHECK_MAX) {
        return problem_send_field(r, "registration_numbers", "must be a list of 1 to 100 strings");
    }
    json_array_foreach(list, i, v)
    {
        if (!json_is_string(v)) {
            return problem_send_field(r, "registration_numbers", "each entry must be a string");
        }
    }
    return 0;
}

int
facilitators_status_check(struct req *r)
{
    json_t *in = NULL, *results = NULL, *body = NULL;
    PGresult *res = NULL;
    const char *params[1];
    char *text = NULL;
    int status, row;

    if ((status = http_read_json_or_problem(r, &in)) != 0
        || (status = check_body_or_problem(r, in)) != 0) {
        goto out;
    }
    text = json_dumps(json_object_get(in, "registration_numbers"), JSON_COMPACT);
    params[0] = text;
    if ((status = http_exec_or_problem(r, "fac_status_check", 1, params, &res)) != 0) {
        goto out;
    }
    results = json_array();
    for (row = 0; row < PQntuples(res); row++) {
        json_t *entry;

        if (db_value(res, row, "id") == NULL
            || !visible(&r->principal, res, row, "organisation_id")) {
            entry = json_pack("{s:s, s:b, s:s}", "registration_number",
                              db_value(res, row, "_given"), "found", 0, "status", "not_found");
        } else {
            entry = db_row_pick(res, row, fac_public_fields);
            json_object_set_new(entry, "found", json_true());
        }
        json_array_append_new(results, entry != NULL ? entry : json_null());
    }
    if (http_wants_csv(r)) {
        status = http_send_csv(r, 200, results, fac_check_columns);
        goto out;
    }
    body = json_pack("{s:O}", "results", results);
    status = http_send_json(r, 200, body);
out:
    free(text);
    PQclear(res);
    json_decref(body);
    json_decref(results);
    json_decref(in);
    return status;
}

/* ---- Employment requests --------------------------------------------------------------------
 *
 * An organisation takes on a facilitator already on the registry by asking: an org_admin POSTs
 * {starts_on} (not after today) under the facilitator, and the licensing body PATCHes the
 * request to approved or declined (with a reason). Approving ends the current employment, if
 * any, the day before starts_on and starts the new one on starts_on, under the facilitator's row
 * lock. Until then the requester sees only the public view. Each step is audited and sends its
 * webhook to the requesting organisation (facilitator.employment_requested, _approved,
 * _declined). The licensing body and the requesting organisation list and read the requests. */

static const char *const fer_decisions[] = {"approved", "declined", NULL};

static const struct field fer_create_fields[] = {
    {"starts_on", FIELD_DATE, FIELD_REQUIRED, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static const struct field fer_decide_fields[] = {
    {"status", FIELD_ENUM, FIELD_REQUIRED, 0, 0, fer_decisions},
    {"reason", FIELD_TEXT, 0, 1, FAC_REASON_MAX, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

/* Reads request `rid` of facilitator `fid` with `stmt` and checks the caller may see it: the
 * licensing body, or the requesting organisation (404 otherwise). Returns 0 with the result in
 * *out, or the status of the problem already sent. */
static int
fer_load_or_problem(
    struct req *r, const char *stmt, const char *fid, const char *rid, PGresult **out)
{
    const char *params[2] = {rid, fid};
    int status;

    *out = NULL;
    if (validate_uuid(rid) && (status = http_exec_or_problem(r, stmt, 2, params, out)) != 0) {
        return status;
    }
    if (*out == NULL || PQntuples(*out) != 1 || !resource_in_org(&r->principal, *out)) {
        PQclear(*out);
        *out = NULL;
        return problem_send(r, PROBLEM_NOT_FOUND, "no employment request %s", rid);
    }
    return 0;
}

/* The rules a take-on of the locked facilitator `cur` by organisation `org` (named `org_name`)
 * from `starts_on` must meet, both when it is asked for (only checked) and when it is approved
 * (`apply`: the employment changes): nobody employs a withdrawn facilitator, nor one who works for
 * `org` already (`advice` ends each 409), and the employment change must be one that can be
 * made. Returns 0, or the status of the problem sent. */
static int
take_on_or_problem(struct req *r,
                   const PGresult *cur,
                   const char *org,
                   const char *org_name,
                   const char *starts_on,
                   const char *advice,
                   int apply)
{
    const char *number = db_value(cur, 0, "registration_number");
    const char *employer = db_value(cur, 0, "organisation_id");
    json_t *emp;
    int status;

    if (strcmp(db_value(cur, 0, "_stored_status"), "withdrawn") == 0) {
        return problem_send(r, PROBLEM_CONFLICT,
                            "facilitator %s is withdrawn from the register: nobody may employ "
                            "them to deliver M-PACT%s",
                            number, advice);
    }
    if (employer != NULL && strcmp(employer, org) == 0) {
        return problem_send(r, PROBLEM_CONFLICT, "facilitator %s already works for %s%s", number,
                            org_name, advice);
    }
    emp = json_pack("{s:s, s:s}", "organisation_id", org, "employed_from", starts_on);
    if (emp == NULL) {
        return problem_send(r, PROBLEM_INTERNAL, NULL);
    }
    status = employment_change_or_problem(r, emp, cur, "starts_on", apply);
    json_decref(emp);
    return status;
}

/* Only an organisation admin asks; the licensing body moves people itself. */
static int
fer_permitted(struct req *r)
{
    if (resource_org_admin(&r->principal)) {
        return 0;
    }
    return problem_send(r, PROBLEM_FORBIDDEN,
                        auth_is_admin(&r->principal)
                            ? "the licensing body changes employers directly (PATCH "
                              "/v1/facilitators/{id} with organisation_id)"
                            : "only an organisation admin may ask to employ a facilitator");
}

/* POST, in the transaction: the facilitator, locked, is one the requester may see and take on
 * from starts_on; the approval will check the same, so the request is one that can be approved.
 * Adds what fer_insert reads besides starts_on: the organisation and the requesting user. */
static int
fer_check(struct req *r, json_t *in, const PGresult *none, json_t *errors)
{
    const char *id[1] = {r->params[0]};
    PGresult *cur = NULL;
    int status;

    (void)none;
    (void)errors;
    if ((status = row_or_problem(r, "fac_get_locked", 1, id, &cur)) == 0) {
        /* Someone the requester may not see (in training elsewhere) is not there to ask for. */
        status = !seen(&r->principal, cur) ? not_found(r)
                                           : take_on_or_problem(r, cur, r->principal.org, "you",
                                                                str_field(in, "starts_on"), "", 0);
    }
    PQclear(cur);
    json_object_set_new(in, "organisation_id", json_string(r->principal.org));
    json_object_set_new(in, "_by", json_string(r->principal.sub));
    return status;
}

/* Asking to employ: `visible` is who may ask for whom (by_ref). */
const struct resource fer_new_resource = {
    .name = "employment request",
    .stmt = "fer",
    .fields = fer_create_fields,
    .parent = "facilitator",
    .visible = seen,
    .rules = {.permitted = fer_permitted, .check = fer_check},
    .audit_type = "employment_request",
    .event = "facilitator.employment_requested",
};

/* resource_create of `rs`, with the Location under the request's facilitator. */
static int
fer_create(struct req *r, const struct resource *rs)
{
    struct resource nested = *rs;
    char location[160];

    snprintf(location, sizeof(location), "/v1/facilitators/%s/employment-requests/", r->params[0]);
    nested.location = location;
    return resource_create(r, &nested);
}

int
facilitators_employment_request_create(struct req *r)
{
    return by_ref(r, fer_create, &fer_new_resource);
}

/* The licensing body lists every request; a licensee their own organisation's. */
const struct resource fer_resource = {
    .name = "employment request",
    .stmt = "fer",
    .org_scoped = 1,
    .parent = "facilitator",
    .sort_key = "_created_at",
    .cursor_ok = http_cursor_timestamptz,
};

int
facilitators_employment_requests_list(struct req *r)
{
    return by_ref(r, resource_list, &fer_resource);
}

int
facilitators_employment_request_get(struct req *r)
{
    PGresult *res = NULL;
    char id[48];
    int status;

    if ((status = resolve_or_problem(r, NULL, id, sizeof(id))) == 0
        && (status = fer_load_or_problem(r, "fer_get_of", id, r->params[1], &res)) == 0) {
        status = resource_send_row(r, res);
    }
    PQclear(res);
    return status;
}

/* Approves request row 0 of `req` for the locked facilitator `cur` (read with its histories: the
 * audit's `before`): the employment change, audited on the facilitator. Returns 0, or the status
 * of the problem already sent. */
static int
approve_or_problem(struct req *r, const PGresult *req, const PGresult *cur)
{
    const char *id = db_value(cur, 0, "id");
    json_t *before = NULL, *after = NULL;
    PGresult *res = NULL;
    int status;

    if ((status = take_on_or_problem(
             r, cur, db_value(req, 0, "organisation_id"), db_value(req, 0, "organisation_name"),
             db_value(req, 0, "starts_on"), "; decline the request instead", 1))
            != 0
        || (status = row_or_problem(r, "fac_touch", 1, &id, &res)) != 0) {
        goto out;
    }
    before = db_row_to_json(cur, 0);
    after = db_row_to_json(res, 0);
    PQclear(res);
    if ((res = audit_write(r, "update", "facilitator", id, before, after)) != NULL) {
        status = problem_from_db(r, res);
    }
out:
    PQclear(res);
    json_decref(after);
    json_decref(before);
    return status;
}

int
facilitators_employment_request_update(struct req *r)
{
    json_t *in = NULL, *before = NULL;
    PGresult *cur = NULL, *req = NULL;
    const char *to, *params[4];
    char id[48], event[64];
    int status;

    if ((status = resource_body_or_problem(r, fer_decide_fields, 1, &in)) != 0) {
        goto out;
    }
    to = str_field(in, "status");
    if (strcmp(to, "declined") == 0 && json_object_get(in, "reason") == NULL) {
        status = problem_send_field(r, "reason", "is required to decline");
        goto out;
    }
    /* Lock order as in PATCH /v1/facilitators: the facilitator first, then the request. */
    params[0] = id;
    if ((status = resolve_or_problem(r, NULL, id, sizeof(id))) != 0
        || (status = http_begin_or_problem(r, 1)) != 0
        || (status = row_or_problem(r, "fac_get_locked", 1, params, &cur)) != 0
        || (status = fer_load_or_problem(r, "fer_get_locked", id, r->params[1], &req)) != 0
        || (status = http_if_match_or_problem(r, db_value(req, 0, "_version"))) != 0) {
        goto out;
    }
    if (strcmp(db_value(req, 0, "status"), "pending") != 0) {
        status = problem_send(r, PROBLEM_INVALID_TRANSITION,
                              "the request is %s already; only a pending request is decided",
                              db_value(req, 0, "status"));
        goto out;
    }
    if (strcmp(to, "approved") == 0 && (status = approve_or_problem(r, req, cur)) != 0) {
        goto out;
    }
    before = db_row_to_json(req, 0);
    params[0] = db_value(req, 0, "id");
    params[1] = to;
    params[2] = str_field(in, "reason");
    params[3] = r->principal.sub;
    snprintf(event, sizeof(event), "facilitator.employment_%s", to);
    /* fer_decide changes only a pending request; the row lock keeps this one pending. */
    if ((status = http_exec_or_problem(r, "fer_decide", 4, params, NULL)) != 0
        || (status = webhooks_enqueue(r, event, params[0], NULL)) != 0) {
        goto out;
    }
    status = audit_commit_and_send(r, "update", "employment_request", params[0], before, "fer_get",
                                   NULL);
out:
    PQclear(req);
    PQclear(cur);
    json_decref(before);
    json_decref(in);
    return status;
}
