/* enquiries.c: "Ask about a place". A family, a relative or a professional asks the provider of a
 * site on the finder about a place, without an account: POST /v1/public/enquiries (JSON), or the
 * form at /find/ask (works without JavaScript). Turned on by REGISTRY_ENQUIRIES=1.
 *
 * Relayed, not kept. An accepted enquiry is sealed (AES-256-GCM, seal.c, the organisation's id as
 * additional data) and written to enquiry_outbox (migration 0025) with only its organisation and
 * `who` in the clear. One worker thread delivers it: to the organisation's webhook subscribed to
 * enquiry.received (https only), else by e-mail to its enquiry address (mail.c), and deletes the
 * row in the statement that counts it delivered. Not delivered: retried after 1, 5, 15, 60, 180,
 * 360 and then every 720 times the retry base (REGISTRY_ENQUIRY_RETRY_BASE_MS, 1 minute); 7 days
 * after it was sent it is deleted and counted failed. What stays is enquiry_count: organisation,
 * month, who, result. The content never reaches a log line, an audit row (there is none), a
 * metric or a problem: details name fields and rules, never values, and a transport error kept
 * in last_error is curl's, never the relay's reply.
 *
 * Who may send: anyone, at most REGISTRY_ENQUIRY_RATE_LIMIT accepted enquiries an hour per client
 * address (429 with Retry-After); `website` is a honeypot a person never sees (the form hides it)
 * and must stay empty; bodies are at most ENQ_BODY_MAX bytes. Which sites: those the finder lists
 * whose organisation turned enquiries on and gave an enquiry address or an enquiry.received
 * webhook. */
#include "registry/enquiries.h"

#include <ctype.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <civetweb.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "registry/auth.h"
#include "registry/clock.h"
#include "registry/codec.h"
#include "registry/db.h"
#include "registry/dbreply.h"
#include "registry/html.h"
#include "registry/logging.h"
#include "registry/mail.h"
#include "registry/outbox.h"
#include "registry/pages.h"
#include "registry/problem.h"
#include "registry/query.h"
#include "registry/ratelimit.h"
#include "registry/router.h"
#include "registry/rowjson.h"
#include "registry/seal.h"
#include "registry/settings.h"
#include "registry/validate.h"
#include "registry/webhooks.h"

#define ENQ_BODY_MAX        16384 /* bytes of a request body */
#define ENQ_MESSAGE_MAX     1000  /* characters of the message */
#define ENQ_PER_CONNECTION  20    /* rows claimed at once for each sending connection */
#define ENQ_CONNECTIONS_MAX 32
/* A claim outlives its batch: each connection sends about ENQ_PER_CONNECTION (mail: 30 s each). */
#define ENQ_LEASE_S   ((30 + 5) * ENQ_PER_CONNECTION)
#define ENQ_ERROR_MAX 200

/* Retry delays in units of the retry base; the last repeats until the 7 days are up. */
static const int retry_factors[] = {1, 5, 15, 60, 180, 360, 720};

/* The sites a family may see (as public.c's finder): active, public, not archived, not a prison
 * or school, of an organisation not archived that holds a licence active today. */
#define ENQ_SITE_VISIBLE                                                                           \
    "l.active AND l.public AND l.archived_at IS NULL AND l.kind NOT IN ('prison', 'school')"       \
    " AND o.archived_at IS NULL AND coalesce((SELECT true FROM licence li WHERE"                   \
    " li.organisation_id = o.id AND licence_effective_status(li.status, li.valid_until,"           \
    " registry_today()) = 'active' AND li.valid_from <= registry_today() LIMIT 1), false)"

/* The organisation's enquiry.received webhook, if any (the oldest active one, https only: an
 * http:// subscription, allowed for other events on REGISTRY_WEBHOOK_ALLOW_HOSTS, is passed over
 * and the enquiry goes by e-mail). */
#define ENQ_HOOK(col)                                                                              \
    "(SELECT w." col " FROM webhook_subscription w WHERE w.organisation_id = o.id AND w.status ="  \
    " 'active' AND 'enquiry.received' = ANY (w.events) AND w.url LIKE 'https://%'"                 \
    " ORDER BY w.created_at, w.id LIMIT 1)"

/* The month (UK calendar) an outbox row `d` was sent in. */
#define ENQ_MONTH "date_trunc('month', d.created_at AT TIME ZONE 'Europe/London')::date"

const struct db_stmt enquiries_stmts[] = {
    /* $1 site (NULL: the run's), $2 run (NULL: none). */
    {"enq_site",
     "SELECT l.id::text AS site_id, l.name AS site_name, l.town AS site_town, o.id::text AS org_id,"
     " o.name AS org_name, o.enquiries_enabled AND (o.enquiry_email IS NOT NULL OR " ENQ_HOOK(
         "id") " IS NOT NULL) AS takes, r.id::text AS run_id, r.starts_on::text AS run_starts_on,"
               " r.weekday AS run_weekday, to_char(r.start_time, 'HH24:MI') AS run_time"
               " FROM location l JOIN organisation o ON o.id = l.organisation_id"
               " LEFT JOIN programme_run r ON r.id = $2::uuid AND r.location_id = l.id"
               " WHERE l.id = coalesce($1::uuid, (SELECT location_id FROM programme_run WHERE id = "
               "$2::uuid))"
               " AND " ENQ_SITE_VISIBLE},
    /* $1 organisation, $2 who, $3 the sealed enquiry in hex. */
    {"enq_insert", "INSERT INTO enquiry_outbox (organisation_id, who, sealed) VALUES ($1::uuid,"
                   " $2::text, decode($3::text, 'hex')) RETURNING id"},
    /* The worker. Deletes what is 7 days old, counting it failed; returns how many. */
    {"enq_expire",
     "WITH d AS (DELETE FROM enquiry_outbox WHERE created_at <= now() - interval '7 days'"
     " RETURNING organisation_id, who, created_at), c AS (INSERT INTO enquiry_count AS k"
     " (organisation_id, month, who, result, n) SELECT d.organisation_id, " ENQ_MONTH ", d.who,"
     " 'failed', count(*) FROM d GROUP BY 1, 2, 3 ON CONFLICT (organisation_id, month, who, result)"
     " DO UPDATE SET n = k.n + EXCLUDED.n) SELECT count(*) AS n FROM d"},
    /* $1 lease in seconds, $2 batch size. */
    {"enq_claim",
     "UPDATE enquiry_outbox e SET next_attempt_at = now() + make_interval(secs => $1::int),"
     " attempts = e.attempts + 1 FROM organisation o WHERE e.id IN (SELECT id FROM enquiry_outbox"
     " WHERE next_attempt_at <= now() AND created_at > now() - interval '7 days' ORDER BY"
     " next_attempt_at LIMIT $2::int FOR UPDATE SKIP LOCKED) AND o.id = e.organisation_id"
     " RETURNING e.id::text AS id, e.organisation_id::text AS org_id, encode(e.sealed, 'hex') AS"
     " sealed, e.attempts, o.enquiry_email, " ENQ_HOOK("url") " AS hook_url, " ENQ_HOOK(
         "secret") " AS hook_secret"},
    /* The attempts of one batch, in one statement: $1 a JSON array of {id, ok} (ok: deleted and
     * counted delivered) and {id, ok: false, delay_ms, error} (to retry after delay_ms, keeping
     * the transport error); other members are ignored. Returns how many of each. */
    {"enq_settle",
     "WITH s AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS s(id uuid, ok boolean, delay_ms"
     " double precision, error text)), d AS (DELETE FROM enquiry_outbox e USING s WHERE e.id ="
     " s.id AND s.ok RETURNING e.organisation_id, e.who, e.created_at), r AS (UPDATE"
     " enquiry_outbox e SET next_attempt_at = now() + make_interval(secs => s.delay_ms / 1000),"
     " last_error = left(s.error, 200) FROM s WHERE e.id = s.id AND NOT s.ok RETURNING e.id),"
     " c AS (INSERT INTO enquiry_count AS k (organisation_id, month, who, result, n) SELECT"
     " d.organisation_id, " ENQ_MONTH ", d.who, 'delivered', count(*) FROM d GROUP BY 1, 2, 3"
     " ON CONFLICT (organisation_id, month, who, result) DO UPDATE SET n = k.n + EXCLUDED.n)"
     " SELECT (SELECT count(*) FROM d) AS delivered, (SELECT count(*) FROM r) AS retried"},
    /* The report: $1 organisation (NULL: all). */
    {"enq_report",
     "SELECT c.organisation_id, o.name AS organisation_name, to_char(c.month, 'YYYY-MM') AS month,"
     " c.who, c.result, c.n FROM enquiry_count c JOIN organisation o ON o.id = c.organisation_id"
     " WHERE $1::uuid IS NULL OR c.organisation_id = $1::uuid"
     " ORDER BY c.month DESC, o.name, c.organisation_id, c.who, c.result"},
    {"enq_pending",
     "SELECT count(*) AS pending, count(*) FILTER (WHERE attempts > 0) AS retrying FROM"
     " enquiry_outbox WHERE $1::uuid IS NULL OR organisation_id = $1::uuid"},
    {NULL, NULL},
};

static const char *const who_choices[] = {"self", "family_member", "professional", NULL};

static const struct field enquiry_fields[] = {
    {"site_id", FIELD_UUID, 0, 0, 0, NULL},
    {"run_id", FIELD_UUID, 0, 0, 0, NULL},
    {"who", FIELD_ENUM, FIELD_REQUIRED, 0, 0, who_choices},
    {"name", FIELD_TEXT, FIELD_REQUIRED, 1, 100, NULL},
    {"email", FIELD_EMAIL, FIELD_NULLABLE, 0, 0, NULL},
    {"phone", FIELD_PHONE, FIELD_NULLABLE, 0, 0, NULL},
    {"best_time", FIELD_TEXT, FIELD_NULLABLE, 0, 100, NULL},
    {"relationship", FIELD_TEXT, FIELD_NULLABLE, 0, 100, NULL},
    {"organisation", FIELD_TEXT, FIELD_NULLABLE, 0, 200, NULL},
    {"role", FIELD_TEXT, FIELD_NULLABLE, 0, 100, NULL},
    {"message", FIELD_TEXT, FIELD_REQUIRED, 1, ENQ_MESSAGE_MAX, NULL},
    {"consent", FIELD_BOOL, FIELD_REQUIRED, 0, 0, NULL},
    {"website", FIELD_TEXT, FIELD_NULLABLE, 0, 200, NULL}, /* the honeypot */
    {NULL, 0, 0, 0, 0, NULL},
};

/* ---- State ---------------------------------------------------------------------------------- */

static struct {
    struct seal_key key;
    int enabled, retry_base_ms;
    int connections; /* sending at once (REGISTRY_ENQUIRY_CONNECTIONS) */
} enq;

static struct outbox box;

int
enquiries_enabled(void)
{
    return enq.enabled;
}

/* ---- Accepting an enquiry ------------------------------------------------------------------- */

/* The site an enquiry is about (strings owned). */
struct site {
    char site_id[40], org_id[40];
    char *site_name, *site_town, *org_name, *run_id, *run_starts_on, *run_weekday, *run_time;
};

static void
site_free(struct site *s)
{
    free(s->site_name);
    free(s->site_town);
    free(s->org_name);
    free(s->run_id);
    free(s->run_starts_on);
    free(s->run_weekday);
    free(s->run_time);
    memset(s, 0, sizeof(*s));
}

static char *
dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static const char *
jstr(json_t *in, const char *key)
{
    const char *s = json_string_value(json_object_get(in, key));

    return s != NULL && *s != '\0' ? s : NULL;
}

/* 1 when `errors` already names `field`. */
static int
names_field(json_t *errors, const char *field)
{
    size_t i;
    json_t *e;

    json_array_foreach(errors, i, e)
    {
        const char *f = json_string_value(json_object_get(e, "field"));
        if (f != NULL && strcmp(f, field) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The rules the field table cannot say, after it: what each kind of sender gives. */
static void
check_rules(json_t *in, json_t *errors)
{
    const char *who = jstr(in, "who");

    if (jstr(in, "website") != NULL) {
        problem_add_error(errors, "website", "must be left empty");
    }
    if (jstr(in, "site_id") == NULL && jstr(in, "run_id") == NULL
        && !names_field(errors, "site_id")) {
        problem_add_error(errors, "site_id",
                          "is required: the site (or run_id, the group) you "
                          "are asking about");
    }
    if (jstr(in, "email") == NULL && jstr(in, "phone") == NULL && !names_field(errors, "email")
        && !names_field(errors, "phone")) {
        problem_add_error(errors, "email",
                          "give an e-mail address or a phone number (phone) for "
                          "the reply");
    }
    if (json_is_false(json_object_get(in, "consent"))) {
        problem_add_error(errors, "consent",
                          "must be true: the enquiry is passed on only with "
                          "your agreement");
    }
    if (who == NULL) {
        return;
    }
    if (strcmp(who, "professional") == 0) {
        if (jstr(in, "organisation") == NULL && !names_field(errors, "organisation")) {
            problem_add_error(errors, "organisation", "is required from a professional");
        }
        if (jstr(in, "role") == NULL && !names_field(errors, "role")) {
            problem_add_error(errors, "role", "is required from a professional");
        }
    } else if (jstr(in, "relationship") == NULL && !names_field(errors, "relationship")) {
        problem_add_error(errors, "relationship",
                          "is required: your relationship to the child or "
                          "children");
    }
}

/* Finds the site (and run) of `in` into `s`. Returns 0; 422 with `errors` filled when there is no
 * such site on the finder or it takes no enquiries; 503 on a database failure (logged without
 * any content). */
static int
find_site(struct db_conn *db, json_t *in, struct site *s, json_t *errors)
{
    const char *params[2] = {jstr(in, "site_id"), jstr(in, "run_id")};
    PGresult *res = db_exec(db, "enq_site", 2, params);
    int status = 0;

    memset(s, 0, sizeof(*s));
    if (!db_ok(res)) {
        logging_event("error", NULL, "enquiries: looking up the site: %s",
                      PQresultErrorMessage(res));
        status = 503;
        goto out;
    }
    if (PQntuples(res) != 1) {
        problem_add_error(errors, params[0] != NULL ? "site_id" : "run_id",
                          "no such site or group on the finder");
        status = 422;
        goto out;
    }
    if (params[1] != NULL && db_value(res, 0, "run_id") == NULL) {
        problem_add_error(errors, "run_id", "no such group at this site");
        status = 422;
        goto out;
    }
    if (!db_bool(res, 0, "takes")) {
        problem_add_error(errors, params[0] != NULL ? "site_id" : "run_id",
                          "this provider does not take enquiries through the registry; contact "
                          "them directly, or the central contact");
        status = 422;
        goto out;
    }
    snprintf(s->site_id, sizeof(s->site_id), "%s", db_value(res, 0, "site_id"));
    snprintf(s->org_id, sizeof(s->org_id), "%s", db_value(res, 0, "org_id"));
    s->site_name = dup_or_null(db_value(res, 0, "site_name"));
    s->site_town = dup_or_null(db_value(res, 0, "site_town"));
    s->org_name = dup_or_null(db_value(res, 0, "org_name"));
    s->run_id = dup_or_null(db_value(res, 0, "run_id"));
    s->run_starts_on = dup_or_null(db_value(res, 0, "run_starts_on"));
    s->run_weekday = dup_or_null(db_value(res, 0, "run_weekday"));
    s->run_time = dup_or_null(db_value(res, 0, "run_time"));
out:
    PQclear(res);
    return status;
}

/* The enquiry as sealed: what the provider gets. Returns a new reference. */
static json_t *
enquiry_record(json_t *in, const struct site *s)
{
    static const char *const copied[] = {
        "who",          "name",         "email", "phone",   "best_time",
        "relationship", "organisation", "role",  "message", NULL};
    json_t *o = json_object(), *site = json_object();
    const char *const *k;
    char when[32];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(site, "id", json_string(s->site_id));
    json_object_set_new(site, "name", json_string(s->site_name));
    json_object_set_new(site, "town",
                        s->site_town != NULL ? json_string(s->site_town) : json_null());
    json_object_set_new(o, "site", site);
    if (s->run_id != NULL) {
        json_t *run = json_object();

        json_object_set_new(run, "id", json_string(s->run_id));
        json_object_set_new(run, "starts_on", json_string(s->run_starts_on));
        json_object_set_new(run, "weekday",
                            s->run_weekday != NULL ? json_string(s->run_weekday) : json_null());
        json_object_set_new(run, "start_time",
                            s->run_time != NULL ? json_string(s->run_time) : json_null());
        json_object_set_new(o, "run", run);
    }
    json_object_set_new(o, "organisation_name", json_string(s->org_name));
    for (k = copied; *k != NULL; k++) {
        const char *v = jstr(in, *k);
        json_object_set_new(o, strcmp(*k, "organisation") == 0 ? "sender_organisation" : *k,
                            v != NULL ? json_string(v) : json_null());
    }
    json_object_set_new(o, "consent", json_true());
    json_object_set_new(o, "received_at", json_string(when));
    return o;
}

/* Seals `record` for organisation `org` into a malloc'd hex string, or NULL. */
static char *
seal_hex(json_t *record, const char *org)
{
    char *plain = json_dumps(record, JSON_COMPACT), *hex = NULL;
    unsigned char *sealed = NULL;
    size_t len;

    if (plain == NULL) {
        return NULL;
    }
    len = strlen(plain);
    if ((sealed = malloc(len + SEAL_OVERHEAD)) != NULL
        && seal(&enq.key, org, (const unsigned char *)plain, len, sealed) == 0
        && (hex = malloc(2 * (len + SEAL_OVERHEAD) + 1)) != NULL) {
        codec_hex(sealed, len + SEAL_OVERHEAD, hex);
    }
    OPENSSL_cleanse(plain, len);
    free(plain);
    free(sealed);
    return hex;
}

/* What an accepted enquiry tells the sender (no content of theirs). */
struct accepted {
    struct site site;
    int retry_after; /* 429: seconds */
};

/* Checks and queues the enquiry `in`. Returns 0 when queued (a->site filled; site_free it), 404
 * when enquiries are off, 422 with `errors` filled, 429 with a->retry_after, or 503/500 (nothing
 * sent in every case). */
static int
accept_enquiry(struct req *r, json_t *in, json_t *errors, struct accepted *a)
{
    json_t *record = NULL;
    PGresult *res = NULL;
    const char *params[3];
    char client[48], *hex = NULL;
    int status;

    memset(a, 0, sizeof(*a));
    if (!enq.enabled) {
        return 404;
    }
    validate_fields(in, enquiry_fields, 1, errors);
    check_rules(in, errors);
    if (json_array_size(errors) > 0) {
        return 422;
    }
    if ((status = find_site(r->db, in, &a->site, errors)) != 0) {
        goto out;
    }
    /* Only an enquiry that would be sent counts towards the limit: a mistake corrected costs
     * nothing. */
    a->retry_after =
        ratelimit_enquiries_take(router_client_address(r, client, sizeof(client)), clock_mono_ms());
    if (a->retry_after > 0) {
        status = 429;
        goto out;
    }
    record = enquiry_record(in, &a->site);
    if ((hex = seal_hex(record, a->site.org_id)) == NULL) {
        status = 500;
        goto out;
    }
    params[0] = a->site.org_id;
    params[1] = jstr(in, "who");
    params[2] = hex;
    res = db_exec(r->db, "enq_insert", 3, params);
    if (!db_ok(res)) {
        /* libpq's message may quote a parameter: only the SQLSTATE goes to the log. */
        logging_event("error", r->request_id, "enquiries: queueing failed (SQLSTATE %s)",
                      PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL
                          ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                          : "none");
        status = 503;
        goto out;
    }
    outbox_kick(&box);
    status = 0;
out:
    if (status != 0) {
        site_free(&a->site);
    }
    PQclear(res);
    free(hex);
    json_decref(record);
    return status;
}

int
enquiries_create(struct req *r)
{
    json_t *in = NULL, *errors = json_array(), *body = NULL;
    const char *ct = http_header(r, "Content-Type");
    struct accepted a;
    char *buf = NULL, retry[16];
    size_t got = 0;
    int status;

    if (!enq.enabled) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "this registry does not relay enquiries");
        goto out;
    }
    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
        mg_disable_connection_keep_alive(r->conn);
        status = problem_send(r, PROBLEM_UNSUPPORTED_MEDIA_TYPE,
                              "send the body as application/json; charset=utf-8");
        goto out;
    }
    if (r->ri->content_length > ENQ_BODY_MAX) {
        mg_disable_connection_keep_alive(r->conn);
        status = problem_send(r, PROBLEM_PAYLOAD_TOO_LARGE, "the body may be at most %d bytes",
                              ENQ_BODY_MAX);
        goto out;
    }
    if ((status = http_read_body_or_problem(r, &buf, &got)) != 0) {
        goto out;
    }
    if (got > ENQ_BODY_MAX) {
        status = problem_send(r, PROBLEM_PAYLOAD_TOO_LARGE, "the body may be at most %d bytes",
                              ENQ_BODY_MAX);
        goto out;
    }
    /* Jansson's error text quotes the input near the fault: it is not passed on. */
    in = json_loadb(buf, got, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(in)) {
        status = problem_send(r, PROBLEM_BAD_REQUEST, "the body must be a JSON object");
        goto out;
    }
    status = accept_enquiry(r, in, errors, &a);
    switch (status) {
    case 0:
        body = json_object();
        json_object_set_new(body, "status", json_string("queued"));
        json_object_set_new(body, "site_id", json_string(a.site.site_id));
        json_object_set_new(body, "organisation_name", json_string(a.site.org_name));
        json_object_set_new(body, "kept",
                            json_string("nothing: the enquiry is passed on to the provider and "
                                        "then deleted; the registry keeps only a count"));
        status = http_send_json(r, 202, body);
        site_free(&a.site);
        break;
    case 422:
        status = problem_send_errors(r, errors);
        break;
    case 429:
        snprintf(retry, sizeof(retry), "%d", a.retry_after);
        http_add_header(r, "Retry-After", retry);
        status = problem_send(r, PROBLEM_TOO_MANY_REQUESTS,
                              "too many enquiries from your address; try again in %d minutes, "
                              "or contact the provider directly",
                              (a.retry_after + 59) / 60);
        break;
    case 503:
        http_add_header(r, "Retry-After", "5");
        status = problem_send(r, PROBLEM_UNAVAILABLE, "the enquiry could not be queued; try again");
        break;
    default:
        status = problem_send(r, PROBLEM_INTERNAL, NULL);
    }
out:
    if (buf != NULL) {
        OPENSSL_cleanse(buf, got);
    }
    free(buf);
    json_decref(body);
    json_decref(errors);
    json_decref(in);
    return status;
}

/* ---- The report ----------------------------------------------------------------------------- */

int
enquiries_report(struct req *r)
{
    const char *org = auth_is_admin(&r->principal) ? NULL : r->principal.org;
    const char *params[1] = {org};
    PGresult *res = NULL, *pend = NULL;
    json_t *body = NULL, *items;
    long long failed = 0, delivered = 0;
    int i, status;

    if (!auth_is_admin(&r->principal) && org == NULL) {
        return problem_send(r, PROBLEM_FORBIDDEN, "only the licensing body or an organisation");
    }
    if ((status = http_exec_or_problem(r, "enq_report", 1, params, &res)) != 0
        || (status = http_exec_or_problem(r, "enq_pending", 1, params, &pend)) != 0) {
        goto out;
    }
    body = json_object();
    items = json_array();
    for (i = 0; i < PQntuples(res); i++) {
        long long n = strtoll(db_value(res, i, "n"), NULL, 10);

        json_array_append_new(items, db_row_to_json(res, i));
        if (strcmp(db_value(res, i, "result"), "failed") == 0) {
            failed += n;
        } else {
            delivered += n;
        }
    }
    json_object_set_new(body, "items", items);
    json_object_set_new(body, "delivered", json_integer(delivered));
    json_object_set_new(body, "failed", json_integer(failed));
    json_object_set_new(body, "pending",
                        json_integer(strtoll(db_value(pend, 0, "pending"), NULL, 10)));
    json_object_set_new(body, "retrying",
                        json_integer(strtoll(db_value(pend, 0, "retrying"), NULL, 10)));
    status = http_send_json(r, 200, body);
out:
    PQclear(res);
    PQclear(pend);
    json_decref(body);
    return status;
}

/* ---- Delivery ------------------------------------------------------------------------------- */

static const char *
who_label(const char *who)
{
    if (strcmp(who, "self") == 0) {
        return "a parent or carer asking for themselves";
    }
    if (strcmp(who, "family_member") == 0) {
        return "a family member";
    }
    return "a professional";
}

/* Appends "label: value\n" to `t` when `value` (a string member of `o`) is there. */
static void
line_of(struct html *t, json_t *o, const char *key, const char *label)
{
    const char *v = json_string_value(json_object_get(o, key));

    if (v != NULL && *v != '\0') {
        html_raw(t, label);
        html_raw(t, ": ");
        html_raw(t, v);
        html_raw(t, "\n");
    }
}

/* The plain text of the e-mail (html's buffer used as a plain growable string: html_raw copies
 * as it is). */
static void
mail_text(json_t *e, struct html *t)
{
    json_t *site = json_object_get(e, "site"), *run = json_object_get(e, "run");
    const char *who = json_string_value(json_object_get(e, "who"));

    html_raw(t,
             "An enquiry about a place on M-PACT, sent through the M-PACT Registry's finder.\n\n");
    line_of(t, site, "name", "Site");
    line_of(t, site, "town", "Town");
    if (run != NULL) {
        line_of(t, run, "starts_on", "Group starting on");
        line_of(t, run, "weekday", "Day");
        line_of(t, run, "start_time", "Time");
    }
    html_raw(t, "\n");
    line_of(t, e, "name", "From");
    html_raw(t, "Who is asking: ");
    html_raw(t, who_label(who != NULL ? who : "self"));
    html_raw(t, "\n");
    line_of(t, e, "relationship", "Relationship to the child or children");
    line_of(t, e, "sender_organisation", "Organisation");
    line_of(t, e, "role", "Role");
    line_of(t, e, "email", "Reply by e-mail");
    line_of(t, e, "phone", "Reply by phone");
    line_of(t, e, "best_time", "Best time to contact");
    html_raw(t, "\nMessage:\n");
    html_raw(t, json_string_value(json_object_get(e, "message")));
    html_raw(t, "\n\nThey agreed to this enquiry being passed on to you. The registry has kept no "
                "copy of it:\nplease reply to them directly.\n");
}

static int hexdigit(int c);

/* Decodes `hex` into `out` (a digit at a time: sscanf per byte cost more than the rest of a
 * delivery). Returns 0, or -1 when it is not hexadecimal. */
static int
unhex(const char *hex, unsigned char *out, size_t *outlen)
{
    size_t n = strlen(hex), i;

    if (n % 2 != 0) {
        return -1;
    }
    for (i = 0; i < n / 2; i++) {
        int hi = hexdigit((unsigned char)hex[2 * i]), lo = hexdigit((unsigned char)hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    *outlen = n / 2;
    return 0;
}

/* Opens the sealed enquiry of `c`. Returns a new reference, or NULL. */
static json_t *
open_enquiry(const struct outbox_row *c)
{
    const char *sealed_hex = outbox_col(c, "sealed");
    size_t n = strlen(sealed_hex) / 2, len = 0;
    unsigned char *sealed = malloc(n + 1), *plain = malloc(n + 1);
    json_t *e = NULL;

    if (sealed != NULL && plain != NULL && unhex(sealed_hex, sealed, &len) == 0
        && len >= SEAL_OVERHEAD
        && seal_open(&enq.key, outbox_col(c, "org_id"), sealed, len, plain) == 0) {
        e = json_loadb((const char *)plain, len - SEAL_OVERHEAD, JSON_REJECT_DUPLICATES, NULL);
        OPENSSL_cleanse(plain, len - SEAL_OVERHEAD);
    }
    free(sealed);
    free(plain);
    return e;
}

/* Delivers `c` once, an e-mail on `session`'s connection (NULL: one of its own). Returns 0, or
 * -1 with a transport error (no content) in `err`. */
static int
deliver(const struct outbox_row *c, struct mail_session *session, char *err, size_t errlen)
{
    const char *url = outbox_col(c, "hook_url"), *secret = outbox_col(c, "hook_secret");
    const char *email = outbox_col(c, "enquiry_email");
    json_t *e = open_enquiry(c), *env = NULL;
    struct html t;
    char *body = NULL, msg_id[48], subject[300];
    int rc = -1;

    html_init(&t);
    if (e == NULL) {
        snprintf(err, errlen, "the enquiry does not open with the current key");
        goto out;
    }
    if (url != NULL && secret != NULL) {
        long code;
        char when[32];
        time_t now = time(NULL);
        struct tm tm;

        gmtime_r(&now, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        env =
            json_pack("{s:s, s:s, s:O}", "type", "enquiry.received", "timestamp", when, "data", e);
        body = env != NULL ? json_dumps(env, JSON_COMPACT) : NULL;
        snprintf(msg_id, sizeof(msg_id), "enq_%.40s", c->id); /* a UUID */
        if (body == NULL) {
            snprintf(err, errlen, "out of memory");
        } else {
            rc = webhooks_post_once(url, secret, msg_id, body, &code, err, errlen);
        }
        goto out;
    }
    if (email == NULL) {
        snprintf(err, errlen, "the organisation has no enquiry address or webhook");
        goto out;
    }
    {
        json_t *site = json_object_get(e, "site");
        const char *reply = json_string_value(json_object_get(e, "email"));
        struct mail_message m = {0};

        snprintf(subject, sizeof(subject), "Enquiry about a place at %.200s",
                 json_string_value(json_object_get(site, "name")));
        mail_text(e, &t);
        if (t.failed) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        m.to = email;
        m.reply_to = reply;
        m.subject = subject;
        m.text = t.p;
        rc = session != NULL ? mail_session_send(session, &m, err, errlen)
                             : mail_send(&m, err, errlen);
    }
out:
    if (t.p != NULL) {
        OPENSSL_cleanse(t.p, t.cap);
    }
    html_cleanup(&t);
    if (body != NULL) {
        OPENSSL_cleanse(body, strlen(body));
    }
    free(body);
    json_decref(env);
    json_decref(e);
    return rc;
}

/* One sending connection of a batch: it takes the batch's next untried row until none is left
 * (or the worker stops), and keeps what each attempt came to in `results`. */
struct sender {
    const struct outbox_row *rows;
    int n;
    atomic_int *next;
    json_t *results; /* settle entries: {id, ok[, delay_ms, error]}, with org and attempt */
    struct mail_session *session; /* the connection's, kept across batches; NULL: one a message */
    pthread_t thread;
    int started;
};

static void *
sender_main(void *arg)
{
    struct sender *s = arg;
    int i;

    while (!outbox_stopping(&box) && (i = atomic_fetch_add(s->next, 1)) < s->n) {
        const struct outbox_row *c = &s->rows[i];
        char err[ENQ_ERROR_MAX] = "";
        json_t *r;

        if (outbox_col(c, "sealed") == NULL) {
            continue;
        }
        r = json_pack("{s:s, s:s?, s:i}", "id", c->id, "org", outbox_col(c, "org_id"), "attempt",
                      c->attempts);
        if (deliver(c, s->session, err, sizeof(err)) == 0) {
            json_object_set_new(r, "ok", json_true());
        } else {
            json_object_set_new(r, "ok", json_false());
            json_object_set_new(r, "delay_ms",
                                json_integer(outbox_backoff_ms(
                                    retry_factors, sizeof(retry_factors) / sizeof(retry_factors[0]),
                                    enq.retry_base_ms, c->attempts)));
            json_object_set_new(r, "error", json_string(err));
        }
        json_array_append_new(s->results, r);
    }
    return NULL;
}

/* Records what the attempts of a batch came to, in one statement: each delivered one deleted and
 * counted, each other to retry. */
static void
settle(json_t *results)
{
    char *text = json_dumps(results, JSON_COMPACT), label[48];
    const char *params[1] = {text};
    size_t i, delivered = 0;
    json_t *r;

    if (text == NULL) {
        logging_event("error", NULL, "enquiries: out of memory recording a batch");
        return;
    }
    snprintf(label, sizeof(label), "a batch of %zu", json_array_size(results));
    if (outbox_settle(&box, label, "enq_settle", 1, params) != 0) {
        free(text);
        return;
    }
    json_array_foreach(results, i, r)
    {
        if (json_is_true(json_object_get(r, "ok"))) {
            delivered++;
        } else {
            logging_event("warn", NULL, "enquiries: %s attempt %d to organisation %s: %s",
                          json_string_value(json_object_get(r, "id")),
                          (int)json_integer_value(json_object_get(r, "attempt")),
                          json_string_value(json_object_get(r, "org")),
                          json_string_value(json_object_get(r, "error")));
        }
    }
    if (delivered > 0) {
        logging_event("info", NULL, "enquiries: %zu delivered", delivered);
    }
    free(text);
}

/* The settling thread: a batch's results are settled while the worker claims and sends the next
 * (the rows stay leased until then); batches that wait are settled together, in one statement. */
#define ENQ_SETTLE_QUEUE 2 /* batches waiting at most: the worker waits for room beyond */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    json_t *queue; /* settle entries of the batches waiting, in one array */
    int batches;   /* how many batches `queue` holds */
    int stop, running, busy;
    pthread_t thread;
} settler = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *
settler_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&settler.mu);
    for (;;) {
        json_t *results;

        while (settler.queue == NULL && !settler.stop) {
            pthread_cond_wait(&settler.cv, &settler.mu);
        }
        if (settler.queue == NULL) {
            break; /* stopping, and nothing left to settle */
        }
        results = settler.queue;
        settler.queue = NULL;
        settler.batches = 0;
        settler.busy = 1;
        pthread_cond_broadcast(&settler.cv); /* room for the worker */
        pthread_mutex_unlock(&settler.mu);
        settle(results);
        json_decref(results);
        pthread_mutex_lock(&settler.mu);
        settler.busy = 0;
        pthread_cond_broadcast(&settler.cv);
    }
    pthread_mutex_unlock(&settler.mu);
    return NULL;
}

/* Hands `results` (a reference taken) to the settling thread, or settles them here when it does
 * not run. */
static void
settle_later(json_t *results)
{
    pthread_mutex_lock(&settler.mu);
    if (!settler.running) {
        pthread_mutex_unlock(&settler.mu);
        settle(results);
        json_decref(results);
        return;
    }
    while (settler.batches >= ENQ_SETTLE_QUEUE) {
        pthread_cond_wait(&settler.cv, &settler.mu);
    }
    if (settler.queue == NULL) {
        settler.queue = results;
    } else {
        json_array_extend(settler.queue, results);
        json_decref(results);
    }
    settler.batches++;
    pthread_cond_broadcast(&settler.cv);
    pthread_mutex_unlock(&settler.mu);
}

static int
settler_start(void)
{
    int rc;

    settler.stop = 0;
    if ((rc = pthread_create(&settler.thread, NULL, settler_main, NULL)) != 0) {
        logging_event("error", NULL, "mpact-registry: enquiries: cannot start the settler: %s",
                      strerror(rc));
        return -1;
    }
    settler.running = 1;
    return 0;
}

/* Settles what waits, then stops the settling thread. */
static void
settler_stop(void)
{
    if (!settler.running) {
        return;
    }
    pthread_mutex_lock(&settler.mu);
    settler.stop = 1;
    pthread_cond_broadcast(&settler.cv);
    pthread_mutex_unlock(&settler.mu);
    pthread_join(settler.thread, NULL);
    settler.running = 0;
}

/* The connections' sessions, kept from one batch to the next while the batches come full (the
 * worker's thread alone uses the array; sender i uses session i), closed once a batch finds the
 * outbox drained (a relay drops a connection left idle). */
static struct mail_session *sessions[ENQ_CONNECTIONS_MAX];

static void
sessions_free(void)
{
    int i;

    for (i = 0; i < ENQ_CONNECTIONS_MAX; i++) {
        mail_session_free(sessions[i]);
        sessions[i] = NULL;
    }
}

/* Sends a claimed batch on up to enq.connections connections at once (this thread's and more
 * threads of their own), then has it settled. */
static void
send_batch(const struct outbox_row *rows, int n, void *ctx)
{
    struct sender s[ENQ_CONNECTIONS_MAX];
    atomic_int next = 0;
    json_t *all = json_array();
    int k = enq.connections < n ? enq.connections : n, i;

    (void)ctx;
    if (k < 1) {
        k = 1;
    }
    for (i = 0; i < k; i++) {
        if (sessions[i] == NULL) {
            sessions[i] = mail_session_new(); /* NULL: a connection a message */
        }
        s[i] = (struct sender){rows, n, &next, json_array(), sessions[i], 0, 0};
        /* A thread that does not start leaves its rows to the others. */
        s[i].started = i > 0 && pthread_create(&s[i].thread, NULL, sender_main, &s[i]) == 0;
    }
    sender_main(&s[0]);
    for (i = 0; i < k; i++) {
        if (s[i].started) {
            pthread_join(s[i].thread, NULL);
        }
        json_array_extend(all, s[i].results);
        json_decref(s[i].results);
    }
    if (n < box.batch) {
        /* Less than a full batch: nothing more is due now. */
        for (i = 0; i < ENQ_CONNECTIONS_MAX; i++) {
            if (sessions[i] != NULL) {
                mail_session_close(sessions[i]);
            }
        }
    }
    if (json_array_size(all) > 0) {
        settle_later(all);
    } else {
        json_decref(all);
    }
}

static void
send_one(const struct outbox_row *row, void *ctx)
{
    send_batch(row, 1, ctx);
}

static struct outbox box = {
    OUTBOX_INIT("enquiries", "enq_claim", ENQ_PER_CONNECTION, ENQ_LEASE_S, send_one),
    .send_batch = send_batch, .expire = "enq_expire",
    .expired = "enquiry(ies) not delivered within 7 days deleted and counted as failed"};

int
enquiries_start(const struct config *c)
{
    char err[400] = "";

    if (!c->enquiries) {
        return 0;
    }
    if (seal_key_load(&enq.key, c->enquiry_key_file, err, sizeof(err)) != 0
        || mail_init(c->smtp_url, c->smtp_credentials, c->smtp_from, err, sizeof(err)) != 0) {
        logging_event("error", NULL, "mpact-registry: enquiries (REGISTRY_ENQUIRIES=1): %s", err);
        seal_key_clear(&enq.key);
        return -1;
    }
    if (!mail_configured()) {
        logging_event("warn", NULL,
                      "mpact-registry: enquiries: REGISTRY_SMTP_URL is not set; only "
                      "organisations with an enquiry.received webhook get their enquiries");
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        logging_event("error", NULL, "mpact-registry: enquiries: libcurl does not initialise");
        seal_key_clear(&enq.key);
        mail_cleanup();
        return -1;
    }
    ratelimit_enquiries_init(c->enquiry_rate_per_hour);
    enq.retry_base_ms = c->enquiry_retry_base_ms;
    box.poll_ms = c->enquiry_poll_ms;
    enq.connections = c->enquiry_connections < 1                     ? 1
                      : c->enquiry_connections > ENQ_CONNECTIONS_MAX ? ENQ_CONNECTIONS_MAX
                                                                     : c->enquiry_connections;
    box.batch = ENQ_PER_CONNECTION * enq.connections;
    if (settler_start() != 0) {
        seal_key_clear(&enq.key);
        mail_cleanup();
        curl_global_cleanup();
        return -1;
    }
    if (outbox_start(&box) != 0) {
        settler_stop();
        seal_key_clear(&enq.key);
        mail_cleanup();
        curl_global_cleanup();
        return -1;
    }
    enq.enabled = 1;
    return 0;
}

void
enquiries_stop(void)
{
    enq.enabled = 0;
    if (outbox_running(&box)) {
        outbox_stop(&box);
        settler_stop(); /* what the last batches came to, recorded */
        sessions_free();
        curl_global_cleanup();
    }
    seal_key_clear(&enq.key);
    mail_cleanup();
}

/* ---- The form (/find/ask) ------------------------------------------------------------------ */

/* The form's fields, in order, with the GOV.UK message for each rule they break. */
static const char *const form_names[] = {
    "site_id",      "run_id",       "who",  "name",    "email",   "phone",   "best_time",
    "relationship", "organisation", "role", "message", "consent", "website", NULL};

static int
hexdigit(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes application/x-www-form-urlencoded `buf` (changed in place) into a new object of the
 * names in form_names (the first of each; others ignored; NUL bytes dropped). */
static json_t *
form_decode(char *buf)
{
    json_t *o = json_object();
    char *p = buf;

    while (*p != '\0') {
        char *pair = p, *eq, *r, *w;
        size_t n = strcspn(p, "&");

        p += n;
        if (*p == '&') {
            *p++ = '\0';
        }
        eq = strchr(pair, '=');
        if (eq == NULL) {
            continue;
        }
        *eq = '\0';
        for (r = w = eq + 1; *r != '\0'; r++) {
            int hi, lo;
            if (*r == '+') {
                *w++ = ' ';
            } else if (*r == '%' && (hi = hexdigit(r[1])) >= 0 && (lo = hexdigit(r[2])) >= 0) {
                char c = (char)(hi << 4 | lo);
                if (c != '\0') {
                    *w++ = c;
                }
                r += 2;
            } else {
                *w++ = *r;
            }
        }
        *w = '\0';
        if (validate_in_list(form_names, pair) && json_object_get(o, pair) == NULL) {
            json_t *v = json_string(eq + 1);
            /* Not UTF-8: kept as a string the text check refuses. */
            json_object_set_new(o, pair, v != NULL ? v : json_string("\x01"));
        }
    }
    return o;
}

/* The JSON body the form stands for: empty fields left out, consent "yes" as true. */
static json_t *
form_to_enquiry(json_t *form)
{
    json_t *in = json_object(), *v;
    const char *key;

    json_object_foreach(form, key, v)
    {
        const char *s = json_string_value(v);

        if (strcmp(key, "consent") == 0) {
            continue;
        }
        if (s != NULL && *s != '\0') {
            json_object_set(in, key, v);
        }
    }
    json_object_set_new(
        in, "consent",
        json_boolean(jstr(form, "consent") != NULL && strcmp(jstr(form, "consent"), "yes") == 0));
    return in;
}

/* What a person reads for the rule broken on `field`. */
static const char *
form_message(const char *field, json_t *form)
{
    static const struct {
        const char *field, *message;
    } messages[] = {
        {"who", "Select who you are"},
        {"name", "Enter your name"},
        {"phone", "Enter a phone number, like 01632 960 001 or 07700 900 982"},
        {"best_time", "The best time to contact you must be 100 characters or fewer"},
        {"relationship", "Enter your relationship to the child or children"},
        {"organisation", "Enter your organisation"},
        {"role", "Enter your role"},
        {"consent", "Select that you agree to your enquiry being passed on"},
        {"website", "Leave this field empty"},
    };
    size_t i;

    if (strcmp(field, "email") == 0) {
        return jstr(form, "email") != NULL && *jstr(form, "email") != '\0'
                   ? "Enter an email address in the correct format, like name@example.com"
                   : "Enter an email address or a phone number so that they can reply";
    }
    if (strcmp(field, "message") == 0) {
        return jstr(form, "message") != NULL && *jstr(form, "message") != '\0'
                   ? "Your message must be 1,000 characters or fewer"
                   : "Enter your message";
    }
    for (i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
        if (strcmp(field, messages[i].field) == 0) {
            return messages[i].message;
        }
    }
    return "Check this answer";
}

/* The message for `field` in `errs` (n of them), or NULL. */
static const char *
error_for(const struct html_error *errs, size_t n, const char *field)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(errs[i].field_id, field) == 0) {
            return errs[i].message;
        }
    }
    return NULL;
}

/* A text input (or textarea when `rows` > 0) of the form, with its label, hint and error. */
static void
form_input(struct html *h,
           const char *id,
           const char *label,
           const char *hint,
           const char *type,
           const char *autocomplete,
           int rows,
           json_t *form,
           const struct html_error *errs,
           size_t nerr)
{
    const char *err = error_for(errs, nerr, id), *value = jstr(form, id);
    char describedby[64];

    snprintf(describedby, sizeof(describedby), "%s%s%s%s", hint != NULL ? id : "",
             hint != NULL ? "-hint" : "", err != NULL ? (hint != NULL ? " " : "") : "",
             err != NULL ? id : "");
    if (err != NULL) {
        strncat(describedby, "-error", sizeof(describedby) - strlen(describedby) - 1);
    }
    html_printf(h,
                "<div class=\"govuk-form-group%H\"><label class=\"govuk-label govuk-label--s\" "
                "for=\"%s\">%s</label>",
                err != NULL ? " govuk-form-group--error" : "", id, label);
    if (hint != NULL) {
        html_printf(h, "<div id=\"%s-hint\" class=\"govuk-hint\">%s</div>", id, hint);
    }
    html_field_error(h, id, err);
    if (rows > 0) {
        html_printf(h,
                    "<textarea class=\"govuk-textarea%H\" id=\"%s\" name=\"%s\" rows=\"%d\"%H%s%H>"
                    "%s</textarea></div>",
                    err != NULL ? " govuk-textarea--error" : "", id, id, rows,
                    describedby[0] != '\0' ? " aria-describedby=\"" : "", describedby,
                    describedby[0] != '\0' ? "\"" : "", value != NULL ? value : "");
        return;
    }
    html_printf(h,
                "<input class=\"govuk-input%H\" id=\"%s\" name=\"%s\" type=\"%s\" "
                "autocomplete=\"%s\"%H%s%H value=\"%s\"></div>",
                err != NULL ? " govuk-input--error" : "", id, id, type, autocomplete,
                describedby[0] != '\0' ? " aria-describedby=\"" : "", describedby,
                describedby[0] != '\0' ? "\"" : "", value != NULL ? value : "");
}

/* The "who are you" radios. */
static void
form_who(struct html *h, json_t *form, const struct html_error *errs, size_t nerr)
{
    static const struct {
        const char *value, *label, *hint;
    } choices[] = {
        {"self", "A parent or carer, asking for my family", NULL},
        {"family_member", "A family member",
         "For example a grandparent, aunt, uncle or older "
         "brother or sister"},
        {"professional", "A professional",
         "For example a social worker, teacher, school nurse, health visitor or GP"},
    };
    const char *err = error_for(errs, nerr, "who"), *who = jstr(form, "who");
    size_t i;

    html_printf(h,
                "<div class=\"govuk-form-group%H\"><fieldset class=\"govuk-fieldset\"%H>"
                "<legend class=\"govuk-fieldset__legend govuk-fieldset__legend--s\">Who are you?"
                "</legend>",
                err != NULL ? " govuk-form-group--error" : "",
                err != NULL ? " aria-describedby=\"who-error\"" : "");
    html_field_error(h, "who", err);
    html_raw(h, "<div class=\"govuk-radios\" data-module=\"govuk-radios\">");
    for (i = 0; i < sizeof(choices) / sizeof(choices[0]); i++) {
        html_printf(h,
                    "<div class=\"govuk-radios__item\"><input class=\"govuk-radios__input\" "
                    "id=\"%H\" name=\"who\" type=\"radio\" value=\"%H\"%H%H>"
                    "<label class=\"govuk-label govuk-radios__label\" for=\"%H\">%H</label>",
                    i == 0 ? "who" : choices[i].value, choices[i].value,
                    who != NULL && strcmp(who, choices[i].value) == 0 ? " checked" : "",
                    choices[i].hint != NULL ? (i == 1 ? " aria-describedby=\"family_member-hint\""
                                                      : " aria-describedby=\"professional-hint\"")
                                            : "",
                    i == 0 ? "who" : choices[i].value, choices[i].label);
        if (choices[i].hint != NULL) {
            html_printf(h, "<div id=\"%H-hint\" class=\"govuk-hint govuk-radios__hint\">%H</div>",
                        choices[i].value, choices[i].hint);
        }
        html_raw(h, "</div>");
    }
    html_raw(h, "</div></fieldset></div>");
}

/* Writes the form for `s` with what was typed (`form`, may be empty) and its errors. */
static void
form_page(
    struct html *h, const struct site *s, json_t *form, const struct html_error *errs, size_t nerr)
{
    const char *cerr = error_for(errs, nerr, "consent");

    html_page_start(h, nerr > 0 ? "Error: Ask about a place" : "Ask about a place", HTML_NAV_FIND);
    html_raw(h, "<div class=\"govuk-grid-row\"><div class=\"govuk-grid-column-two-thirds\">");
    html_error_summary(h, errs, nerr);
    html_printf(h,
                "<span class=\"govuk-caption-l\">%s</span>"
                "<h1 class=\"govuk-heading-l\">Ask about a place</h1>"
                "<p class=\"govuk-body\">Send a message to %s about a place at %s%H%s",
                s->org_name, s->org_name, s->site_name, s->site_town != NULL ? ", " : "",
                s->site_town != NULL ? s->site_town : "");
    if (s->run_starts_on != NULL) {
        html_printf(h, " in the group starting on %s", s->run_starts_on);
    }
    html_raw(h, ". They will reply to you directly. You do not need an account, and you do not "
                "need to be in recovery.</p>"
                "<p class=\"govuk-body\">We pass your message on and then delete it: the registry "
                "does not keep a copy.</p>"
                "<form method=\"post\" action=\"/find/ask\" novalidate>");
    html_printf(h, "<input type=\"hidden\" name=\"site_id\" value=\"%s\">", s->site_id);
    if (s->run_id != NULL) {
        html_printf(h, "<input type=\"hidden\" name=\"run_id\" value=\"%s\">", s->run_id);
    }
    form_who(h, form, errs, nerr);
    form_input(h, "name", "Your name", NULL, "text", "name", 0, form, errs, nerr);
    html_raw(h, "<h2 class=\"govuk-heading-m\">How should they reply?</h2>"
                "<p class=\"govuk-body\">Give an email address, a phone number or both.</p>");
    form_input(h, "email", "Email address", NULL, "email", "email", 0, form, errs, nerr);
    form_input(h, "phone", "Phone number", NULL, "tel", "tel", 0, form, errs, nerr);
    form_input(h, "best_time", "Best time to contact you (optional)",
               "For example, weekday mornings, or after 6pm", "text", "off", 0, form, errs, nerr);
    form_input(h, "relationship", "Your relationship to the child or children",
               "For example, mum, dad, grandparent, foster carer, aunt. Professionals can leave "
               "this empty.",
               "text", "off", 0, form, errs, nerr);
    html_raw(h, "<h2 class=\"govuk-heading-m\">If you are a professional</h2>");
    form_input(h, "organisation", "Your organisation", NULL, "text", "organization", 0, form, errs,
               nerr);
    form_input(h, "role", "Your role", NULL, "text", "organization-title", 0, form, errs, nerr);
    form_input(h, "message", "Your message",
               "What would you like to ask? You can enter up to 1,000 characters. Do not include "
               "anything you would not want the provider to read.",
               "text", "off", 6, form, errs, nerr);
    /* The honeypot: never shown, never read aloud; a person leaves it empty. */
    html_raw(h, "<div hidden><label for=\"website\">Leave this empty</label>"
                "<input id=\"website\" name=\"website\" type=\"text\" tabindex=\"-1\" "
                "autocomplete=\"off\"></div>");
    html_printf(h,
                "<div class=\"govuk-form-group%H\"><fieldset class=\"govuk-fieldset\"%H>"
                "<legend class=\"govuk-fieldset__legend govuk-fieldset__legend--s\">Passing your "
                "enquiry on</legend>",
                cerr != NULL ? " govuk-form-group--error" : "",
                cerr != NULL ? " aria-describedby=\"consent-error\"" : "");
    html_field_error(h, "consent", cerr);
    html_printf(h,
                "<div class=\"govuk-checkboxes\" data-module=\"govuk-checkboxes\">"
                "<div class=\"govuk-checkboxes__item\"><input class=\"govuk-checkboxes__input\" "
                "id=\"consent\" name=\"consent\" type=\"checkbox\" value=\"yes\"%H>"
                "<label class=\"govuk-label govuk-checkboxes__label\" for=\"consent\">I agree to "
                "my enquiry being passed on to %s</label></div></div></fieldset></div>",
                jstr(form, "consent") != NULL ? " checked" : "", s->org_name);
    html_raw(h, "<button type=\"submit\" class=\"govuk-button\" data-module=\"govuk-button\">"
                "Send enquiry</button></form></div></div>");
    html_page_end(h, NULL);
}

/* A page for an enquiry that cannot be made here (404), a limit (429) or a long form (413), with
 * where else to turn. */
static int
other_ways_page(struct req *r, int status, const char *title, const char *text)
{
    json_t *contact = settings_central_contact(r->db, NULL, 0);
    struct html h;

    html_init(&h);
    html_page_start(&h, title, HTML_NAV_FIND);
    html_printf(&h,
                "<div class=\"govuk-grid-row\"><div class=\"govuk-grid-column-two-thirds\">"
                "<h1 class=\"govuk-heading-l\">%s</h1><p class=\"govuk-body\">%s</p>",
                title, text);
    pages_central_contact(&h, contact, "You can also ask:");
    html_raw(&h, "<p class=\"govuk-body\"><a class=\"govuk-link\" href=\"/find\">Search for "
                 "M-PACT again</a></p></div></div>");
    html_page_end(&h, NULL);
    status = html_send(r, status, &h, "no-store");
    html_cleanup(&h);
    json_decref(contact);
    return status;
}

static int
not_offered_page(struct req *r)
{
    return other_ways_page(r, 404, "You cannot ask about a place here",
                           "This provider does not take enquiries through this service, or the "
                           "link is out of date. Contact them by phone or email from their "
                           "search result.");
}

int
enquiries_form(struct req *r)
{
    static const char *const allowed[] = {"site", "run", NULL};
    json_t *in = NULL, *errors = json_array(), *form = json_object();
    struct query q;
    struct site s;
    struct html h;
    int status;

    memset(&s, 0, sizeof(s));
    html_init(&h);
    if ((status = http_query_page_or_problem(r, allowed, &q)) != 0) {
        goto out;
    }
    if (!enq.enabled || query_get(&q, "site") == NULL || !validate_uuid(query_get(&q, "site"))
        || (query_get(&q, "run") != NULL && !validate_uuid(query_get(&q, "run")))) {
        status = not_offered_page(r);
        goto out;
    }
    in = json_pack("{s:s, s:s*}", "site_id", query_get(&q, "site"), "run_id", query_get(&q, "run"));
    status = find_site(r->db, in, &s, errors);
    if (status == 503) {
        status = html_send_db_error(r, NULL, "no-store");
        goto out;
    }
    if (status != 0) {
        status = not_offered_page(r);
        goto out;
    }
    form_page(&h, &s, form, NULL, 0);
    status = html_send(r, 200, &h, "no-store");
out:
    site_free(&s);
    html_cleanup(&h);
    query_cleanup(&q);
    json_decref(form);
    json_decref(errors);
    json_decref(in);
    return status;
}

/* The confirmation: what happens next, and that nothing is kept. */
static int
confirmation_page(struct req *r, const struct site *s)
{
    json_t *contact = settings_central_contact(r->db, NULL, 0);
    struct html h;
    int status;

    html_init(&h);
    html_page_start(&h, "Enquiry sent", HTML_NAV_FIND);
    html_printf(&h,
                "<div class=\"govuk-grid-row\"><div class=\"govuk-grid-column-two-thirds\">"
                "<div class=\"govuk-panel govuk-panel--confirmation\"><h1 "
                "class=\"govuk-panel__title\">Enquiry sent</h1><div class=\"govuk-panel__body\">"
                "to %s</div></div>"
                "<h2 class=\"govuk-heading-m\">What happens next</h2>"
                "<p class=\"govuk-body\">We are passing your enquiry to %s about %s. They will "
                "contact you in the way you asked.</p>"
                "<p class=\"govuk-body\">We have not kept a copy of what you wrote. Your enquiry "
                "is deleted as soon as it reaches them, and if it cannot be delivered within 7 "
                "days it is deleted then. The registry only counts that an enquiry was made.</p>"
                "<p class=\"govuk-body\">If you do not hear back within a week, contact them "
                "directly using the details in your search results.</p>",
                s->org_name, s->org_name, s->site_name);
    pages_central_contact(&h, contact, "For other help you can contact:");
    html_raw(&h, "<p class=\"govuk-body\"><a class=\"govuk-link\" href=\"/find\">Search for "
                 "M-PACT again</a></p></div></div>");
    html_page_end(&h, NULL);
    status = html_send(r, 200, &h, "no-store");
    html_cleanup(&h);
    json_decref(contact);
    return status;
}

int
enquiries_form_post(struct req *r)
{
    json_t *form = NULL, *in = NULL, *errors = json_array();
    struct html_error errs[16];
    struct accepted a;
    struct html h;
    char *buf = NULL;
    size_t got = 0, nerr = 0, i;
    int status;

    html_init(&h);
    memset(&a, 0, sizeof(a));
    if (!enq.enabled) {
        status = not_offered_page(r);
        goto out;
    }
    if (r->ri->content_length > ENQ_BODY_MAX) {
        mg_disable_connection_keep_alive(r->conn);
        status = other_ways_page(r, 413, "Your enquiry is too long",
                                 "Shorten your message to 1,000 characters or fewer and try "
                                 "again.");
        goto out;
    }
    if ((status = http_read_body_or_problem(r, &buf, &got)) != 0) {
        goto out;
    }
    form = form_decode(buf);
    in = form_to_enquiry(form);
    status = accept_enquiry(r, in, errors, &a);
    if (status == 0) {
        status = confirmation_page(r, &a.site);
        site_free(&a.site);
        goto out;
    }
    if (status == 429) {
        status = other_ways_page(r, 429, "You have sent a lot of enquiries",
                                 "To stop misuse, this service takes only a few enquiries an hour "
                                 "from one place. Try again later, or contact the provider "
                                 "directly by phone or email from your search results.");
        goto out;
    }
    if (status == 422) {
        json_t *e;
        struct site s;
        json_t *site_in = json_pack("{s:s*, s:s*}", "site_id", jstr(form, "site_id"), "run_id",
                                    jstr(form, "run_id"));
        json_t *site_errors = json_array();
        int site_status = 0;

        json_array_foreach(errors, i, e)
        {
            const char *field = json_string_value(json_object_get(e, "field"));

            if (field == NULL || strcmp(field, "site_id") == 0 || strcmp(field, "run_id") == 0) {
                site_status = 404;
                break;
            }
            if (nerr < sizeof(errs) / sizeof(errs[0]) && error_for(errs, nerr, field) == NULL
                && validate_in_list(form_names, field)) {
                errs[nerr].field_id = json_string_value(json_object_get(e, "field"));
                errs[nerr].message = form_message(field, form);
                nerr++;
            }
        }
        memset(&s, 0, sizeof(s));
        if (site_status == 0) {
            site_status = find_site(r->db, site_in, &s, site_errors);
        }
        if (site_status == 0) {
            form_page(&h, &s, form, errs, nerr);
            status = html_send(r, 422, &h, "no-store");
        } else if (site_status == 503) {
            status = html_send_db_error(r, NULL, "no-store");
        } else {
            status = not_offered_page(r);
        }
        site_free(&s);
        json_decref(site_in);
        json_decref(site_errors);
        goto out;
    }
    if (status == 404) {
        status = not_offered_page(r);
    } else {
        status = html_send_db_error(r, NULL, "no-store");
    }
out:
    if (buf != NULL) {
        OPENSSL_cleanse(buf, got);
    }
    free(buf);
    html_cleanup(&h);
    json_decref(errors);
    json_decref(in);
    json_decref(form);
    return status;
}
