/* reminders.c: e-mail for people (issue 18). What is sent, to whom, and once:
 *
 * - licence_ending: an active licence ending in 90, 30 or 7 days;
 * - accreditation_ending: an accredited facilitator's accreditation ending in 60 or 14 days, to
 *   the employer on that day;
 * - run_at_risk: a run planned, recruiting or running, not ended, with a facilitator suspended
 *   or withdrawn (programme_at_risk's rule, migration 0010, asked for the job's day);
 * - training_confirmed / training_withdrawn: an enrolment made (or made again) or withdrawn, to
 *   the nominating organisation (queued by migration 0036's trigger in the change's transaction).
 *
 * Each goes to the organisation's contact address (organisation.email) unless the organisation
 * set reminders_enabled to false, and a copy to the licensing body's address,
 * REGISTRY_LICENSING_BODY_EMAIL, whatever the organisation chose. Each is one row of
 * reminder_outbox per recipient under a unique key (event, object, threshold, audience), so the
 * daily job (scheduler.c, for registry_today()) and `mpact-registry send-reminders --today DAY`
 * queue each at most once, across restarts; a day the job did not run is caught up on the next at
 * the nearest threshold not yet passed. The row stays when sent (status sent, with the address
 * it went to); one turned off or without an address is skipped, saying why.
 *
 * One worker sends what is due: plain text and HTML (multipart/alternative, mail.c) from the
 * templates REGISTRY_STATIC_DIR/mail/<event>.txt (first line "Subject: ...") and .html, read at
 * start-up ({{name}} placeholders; values HTML-escaped in the HTML part). A relay that refuses is
 * tried again after mail_retry_delay_ms of REGISTRY_REMINDER_RETRY_BASE_MS; a reminder not sent
 * within 7 days is failed. */
#include "registry/reminders.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "registry/db.h"
#include "registry/html.h"
#include "registry/logging.h"
#include "registry/mail.h"
#include "registry/outbox.h"
#include "registry/validate.h"

#define REM_BATCH     10
#define REM_LEASE_S   ((30 + 5) * REM_BATCH) /* a claim outlives its batch (mail: 30 s each) */
#define REM_ERROR_MAX 200
#define REM_TPL_MAX   65536 /* bytes of one template file */

/* The statements that queue: each inserts one row per recipient (REM_AUDIENCES: the
 * organisation and the licensing body) under the unique key, and returns how many it queued. A
 * threshold is the most urgent of its list not yet passed: min(d) of the days d >= the days left,
 * so a day the job missed is caught up by the next. Dates read as "2 December 2026". */
#define REM_INSERT                                                                                 \
    "WITH i AS (INSERT INTO reminder_outbox (event, object_id, threshold, audience,"               \
    " organisation_id, day, data) "
#define REM_AUDIENCES " CROSS JOIN (VALUES ('organisation'), ('licensing_body')) a (audience)"
#define REM_END                                                                                    \
    " ON CONFLICT (event, object_id, threshold, audience) DO NOTHING RETURNING 1)"                 \
    " SELECT count(*) AS n FROM i"

const struct db_stmt reminders_stmts[] = {
    {"rem_today", "SELECT registry_today()::text AS today"},
    /* $1 the day. */
    {"rem_licences", REM_INSERT
     "SELECT 'licence_ending', l.id, t.days || ':' || l.valid_until, a.audience, o.id, $1::date,"
     " jsonb_build_object('organisation_name', o.name, 'licence_number', l.number, 'ends_on',"
     " to_char(l.valid_until, 'FMDD FMMonth YYYY'), 'days_left',"
     " (l.valid_until - $1::date)::text)"
     " FROM licence l JOIN organisation o ON o.id = l.organisation_id"
     " CROSS JOIN LATERAL (SELECT min(d) AS days FROM unnest('{90,30,7}'::int[]) d"
     " WHERE d >= l.valid_until - $1::date) t" REM_AUDIENCES
     " WHERE l.status = 'active' AND o.archived_at IS NULL"
     " AND l.valid_until BETWEEN $1::date AND $1::date + 90" REM_END},
    /* $1 the day. The employer is the one on that day. */
    {"rem_accreditations", REM_INSERT
     "SELECT 'accreditation_ending', f.id, t.days || ':' || f.accredited_until, a.audience,"
     " m.organisation_id, $1::date, jsonb_build_object('organisation_name',"
     " coalesce(o.name, 'no current employer'), 'facilitator_name',"
     " f.given_name || ' ' || f.family_name, 'registration_number', f.registration_number,"
     " 'ends_on', to_char(f.accredited_until, 'FMDD FMMonth YYYY'), 'days_left',"
     " (f.accredited_until - $1::date)::text)"
     " FROM facilitator f LEFT JOIN LATERAL (SELECT e.organisation_id"
     " FROM facilitator_employment e WHERE e.facilitator_id = f.id AND e.started_on <= $1::date"
     " AND (e.ended_on IS NULL OR e.ended_on >= $1::date) ORDER BY e.started_on DESC LIMIT 1) m"
     " ON true LEFT JOIN organisation o ON o.id = m.organisation_id"
     " CROSS JOIN LATERAL (SELECT min(d) AS days FROM unnest('{60,14}'::int[]) d"
     " WHERE d >= f.accredited_until - $1::date) t" REM_AUDIENCES
     " WHERE f.status = 'accredited' AND f.accredited_until BETWEEN $1::date AND $1::date + 60"
     " AND (a.audience = 'licensing_body' OR m.organisation_id IS NOT NULL)" REM_END},
    /* $1 the day. programme_at_risk's rule (migration 0010) for that day, for every run. */
    {"rem_at_risk", REM_INSERT
     "SELECT 'run_at_risk', r.id, f.id || ':' || f.status, a.audience, r.organisation_id,"
     " $1::date, jsonb_build_object('organisation_name', o.name, 'site_name', l.name,"
     " 'run_starts_on', to_char(r.starts_on, 'FMDD FMMonth YYYY'), 'run_ends_on',"
     " to_char(r.ends_on, 'FMDD FMMonth YYYY'), 'facilitator_name',"
     " f.given_name || ' ' || f.family_name, 'registration_number', f.registration_number,"
     " 'facilitator_status', f.status)"
     " FROM programme_run r JOIN programme_facilitator pf ON pf.run_id = r.id"
     " JOIN facilitator f ON f.id = pf.facilitator_id"
     " JOIN organisation o ON o.id = r.organisation_id"
     " JOIN location l ON l.id = r.location_id" REM_AUDIENCES
     " WHERE r.status IN ('planned', 'recruiting', 'running')"
     " AND r.ends_on >= $1::date AND f.status IN ('suspended', 'withdrawn')" REM_END},
    /* The worker. Fails what waited 7 days; returns how many. */
    {"rem_expire",
     "WITH x AS (UPDATE reminder_outbox SET status = 'failed', last_error ="
     " left(coalesce(last_error || '; ', '') || 'not sent within 7 days', 200) WHERE status ="
     " 'pending' AND created_at <= now() - interval '7 days' RETURNING 1)"
     " SELECT count(*) AS n FROM x"},
    {"rem_waiting", "SELECT count(*) AS n FROM reminder_outbox WHERE status = 'pending'"},
    /* $1 lease in seconds, $2 batch size. */
    {"rem_claim",
     "UPDATE reminder_outbox x SET next_attempt_at = now() + make_interval(secs => $1::int),"
     " attempts = x.attempts + 1 WHERE x.id IN (SELECT id FROM reminder_outbox WHERE status ="
     " 'pending' AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $2::int FOR UPDATE"
     " SKIP LOCKED) RETURNING x.id::text AS id, x.event, x.audience, x.data::text AS data,"
     " x.attempts, (SELECT o.email FROM organisation o WHERE o.id = x.organisation_id) AS"
     " org_email, (SELECT o.reminders_enabled FROM organisation o WHERE o.id ="
     " x.organisation_id) AS org_enabled, (SELECT o.archived_at IS NOT NULL FROM organisation o"
     " WHERE o.id = x.organisation_id) AS org_archived"},
    /* $1 outbox row, $2 the address. */
    {"rem_sent", "UPDATE reminder_outbox SET status = 'sent', sent_at = now(), recipient ="
                 " $2::text, last_error = NULL WHERE id = $1::uuid"},
    /* $1 outbox row, $2 why. */
    {"rem_skip", "UPDATE reminder_outbox SET status = 'skipped', last_error = left($2::text, 200)"
                 " WHERE id = $1::uuid"},
    {"rem_fail", "UPDATE reminder_outbox SET status = 'failed', last_error = left($2::text, 200)"
                 " WHERE id = $1::uuid"},
    /* $1 outbox row, $2 delay in ms, $3 the transport error. */
    {"rem_retry", "UPDATE reminder_outbox SET next_attempt_at = now() + make_interval(secs =>"
                  " $2::double precision / 1000), last_error = left($3::text, 200) WHERE id ="
                  " $1::uuid"},
    {NULL, NULL},
};

/* ---- Templates ------------------------------------------------------------------------------ */

static const char *const licence_keys[] = {"organisation_name", "licence_number", "ends_on",
                                           "days_left", NULL};
static const char *const accreditation_keys[] = {
    "organisation_name", "facilitator_name", "registration_number", "ends_on", "days_left", NULL};
static const char *const at_risk_keys[] = {
    "organisation_name", "site_name",           "run_starts_on",      "run_ends_on",
    "facilitator_name",  "registration_number", "facilitator_status", NULL};
static const char *const training_keys[] = {"organisation_name",
                                            "facilitator_name",
                                            "registration_number",
                                            "course_title",
                                            "starts_on",
                                            "ends_on",
                                            "venue",
                                            NULL};

/* One event's templates. */
static struct tpl {
    const char *event;
    const char *const *keys; /* the placeholders its templates may use */
    char *subject, *text, *html;
} tpls[] = {
    {"licence_ending", licence_keys, NULL, NULL, NULL},
    {"accreditation_ending", accreditation_keys, NULL, NULL, NULL},
    {"run_at_risk", at_risk_keys, NULL, NULL, NULL},
    {"training_confirmed", training_keys, NULL, NULL, NULL},
    {"training_withdrawn", training_keys, NULL, NULL, NULL},
};

#define TPL_COUNT (sizeof(tpls) / sizeof(tpls[0]))

int
reminders_render(
    const char *tpl, json_t *data, int html, struct html *out, char *err, size_t errlen)
{
    const char *at = tpl, *open;

    while ((open = strstr(at, "{{")) != NULL) {
        const char *close = strstr(open + 2, "}}"), *name, *end;
        char key[64], num[32];
        const char *value;
        json_t *v;
        size_t n;

        if (close == NULL) {
            snprintf(err, errlen, "a {{ without }}");
            return -1;
        }
        for (name = open + 2; name < close && *name == ' '; name++) {
        }
        for (end = close; end > name && end[-1] == ' '; end--) {
        }
        n = (size_t)(end - name);
        if (n == 0 || n >= sizeof(key)) {
            snprintf(err, errlen, "an empty or overlong placeholder");
            return -1;
        }
        memcpy(key, name, n);
        key[n] = '\0';
        v = json_object_get(data, key);
        if (json_is_integer(v)) {
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
            value = num;
        } else if ((value = json_string_value(v)) == NULL) {
            snprintf(err, errlen, "unknown placeholder {{%s}}", key);
            return -1;
        }
        /* The literal text before the placeholder, as it is (html_raw copies). */
        {
            char *lit = strndup(at, (size_t)(open - at));

            if (lit == NULL) {
                out->failed = 1;
                return -1;
            }
            html_raw(out, lit);
            free(lit);
        }
        if (html) {
            html_text(out, value);
        } else {
            html_raw(out, value);
        }
        at = close + 2;
    }
    html_raw(out, at);
    if (out->failed) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Reads `path` into a malloc'd string, or NULL with `err`. */
static char *
read_template(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n;

    if (f == NULL) {
        snprintf(err, errlen, "reminders: cannot read the template %s: %s", path, strerror(errno));
        return NULL;
    }
    if ((buf = malloc(REM_TPL_MAX + 1)) != NULL) {
        n = fread(buf, 1, REM_TPL_MAX + 1, f);
        if (n > REM_TPL_MAX || ferror(f) || memchr(buf, '\0', n) != NULL) {
            snprintf(err, errlen, "reminders: the template %s is not text of at most %d bytes",
                     path, REM_TPL_MAX);
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    } else {
        snprintf(err, errlen, "out of memory");
    }
    fclose(f);
    return buf;
}

/* Renders `text` with every key of `keys` set, to find placeholders it may not use. */
static int
check_placeholders(
    const char *text, const char *const *keys, const char *path, char *err, size_t errlen)
{
    json_t *data = json_object();
    struct html out;
    char why[160];
    int rc;

    html_init(&out);
    for (; *keys != NULL; keys++) {
        json_object_set_new(data, *keys, json_string("x"));
    }
    rc = reminders_render(text, data, 1, &out, why, sizeof(why));
    if (rc != 0) {
        snprintf(err, errlen, "reminders: the template %s: %s", path, why);
    }
    html_cleanup(&out);
    json_decref(data);
    return rc;
}

void
reminders_templates_free(void)
{
    size_t i;

    for (i = 0; i < TPL_COUNT; i++) {
        free(tpls[i].subject);
        free(tpls[i].text);
        free(tpls[i].html);
        tpls[i].subject = tpls[i].text = tpls[i].html = NULL;
    }
}

int
reminders_templates_load(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    size_t i;

    reminders_templates_free();
    for (i = 0; i < TPL_COUNT; i++) {
        struct tpl *t = &tpls[i];
        char *txt, *nl;

        snprintf(path, sizeof(path), "%s/%s.txt", dir, t->event);
        if ((txt = read_template(path, err, errlen)) == NULL) {
            goto fail;
        }
        nl = strchr(txt, '\n');
        if (strncmp(txt, "Subject: ", 9) != 0 || nl == NULL) {
            snprintf(err, errlen, "reminders: the template %s must begin with a line Subject: ...",
                     path);
            free(txt);
            goto fail;
        }
        t->subject = strndup(txt + 9, (size_t)(nl - txt - 9));
        while (*nl == '\n' || *nl == '\r') {
            nl++; /* the blank line after the subject */
        }
        t->text = strdup(nl);
        free(txt);
        if (t->subject == NULL || t->text == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        if (check_placeholders(t->subject, t->keys, path, err, errlen) != 0
            || check_placeholders(t->text, t->keys, path, err, errlen) != 0) {
            goto fail;
        }
        snprintf(path, sizeof(path), "%s/%s.html", dir, t->event);
        if ((t->html = read_template(path, err, errlen)) == NULL
            || check_placeholders(t->html, t->keys, path, err, errlen) != 0) {
            goto fail;
        }
    }
    return 0;
fail:
    reminders_templates_free();
    return -1;
}

static const struct tpl *
tpl_of(const char *event)
{
    size_t i;

    for (i = 0; i < TPL_COUNT; i++) {
        if (strcmp(tpls[i].event, event) == 0 && tpls[i].text != NULL) {
            return &tpls[i];
        }
    }
    return NULL;
}

/* ---- Queueing ------------------------------------------------------------------------------- */

long
reminders_enqueue_due(struct db_conn *c, const char *day)
{
    static const char *const stmts[] = {"rem_licences", "rem_accreditations", "rem_at_risk"};
    PGresult *res = NULL;
    long n = 0;
    size_t i;

    if (db_begin(c, &res) != 0) {
        goto fail;
    }
    for (i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
        res = db_exec(c, stmts[i], 1, &day);
        if (!db_ok(res)) {
            goto fail;
        }
        n += strtol(db_value(res, 0, "n"), NULL, 10);
        PQclear(res);
        res = NULL;
    }
    if (db_commit(c, &res) != 0) {
        goto fail;
    }
    if (n > 0) {
        logging_event("info", NULL, "reminders: %ld reminder(s) queued for %s", n, day);
    }
    return n;
fail:
    logging_event("error", NULL, "reminders: queueing for %s: %s", day,
                  res != NULL ? PQresultErrorMessage(res) : "no database connection");
    PQclear(res);
    db_rollback(c);
    return -1;
}

/* ---- Sending -------------------------------------------------------------------------------- */

static struct {
    const char *licensing_body; /* REGISTRY_LICENSING_BODY_EMAIL, or NULL */
    int retry_base_ms, curl, mail, warned;
} rem;

static struct outbox box;

void
reminders_kick(void)
{
    if (outbox_running(&box)) {
        outbox_kick(&box);
    }
}

/* A claimed outbox row (strings borrowed from the claim's result). */
struct claimed {
    const char *id, *event, *audience, *data, *org_email;
    int attempts, org_enabled, org_archived;
};

/* What became of one attempt: sent; skipped (turned off, no address); failed for good (a row its
 * template cannot render); to retry (the relay). */
enum outcome { SENT, SKIPPED, FAILED, RETRY };

/* Sends `c` once. Returns what happened, with the address in `to` (SENT) or why in `why`. */
static enum outcome
deliver(const struct claimed *c, const char **to, char *why, size_t whylen)
{
    const struct tpl *t = tpl_of(c->event);
    json_t *data = NULL;
    struct html subject, text, html;
    struct mail_message m = {0};
    enum outcome rc = RETRY;
    char *p;

    html_init(&subject);
    html_init(&text);
    html_init(&html);
    if (strcmp(c->audience, "licensing_body") == 0) {
        *to = rem.licensing_body;
        if (*to == NULL) {
            snprintf(why, whylen, "no licensing body address (REGISTRY_LICENSING_BODY_EMAIL)");
            rc = SKIPPED;
            goto out;
        }
    } else {
        *to = c->org_email;
        if (c->org_archived) {
            snprintf(why, whylen, "the organisation is archived");
            rc = SKIPPED;
            goto out;
        }
        if (!c->org_enabled) {
            snprintf(why, whylen, "the organisation turned reminders off (reminders_enabled)");
            rc = SKIPPED;
            goto out;
        }
        if (*to == NULL) {
            snprintf(why, whylen, "the organisation has no contact e-mail address");
            rc = SKIPPED;
            goto out;
        }
    }
    if (t == NULL || (data = json_loads(c->data, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
        snprintf(why, whylen, "no template for %s", c->event);
        rc = FAILED;
        goto out;
    }
    if (reminders_render(t->subject, data, 0, &subject, why, whylen) != 0
        || reminders_render(t->text, data, 0, &text, why, whylen) != 0
        || reminders_render(t->html, data, 1, &html, why, whylen) != 0) {
        rc = subject.failed || text.failed || html.failed ? RETRY : FAILED; /* memory: again */
        goto out;
    }
    for (p = subject.p; p != NULL && *p != '\0'; p++) {
        if (*p == '\r' || *p == '\n' || *p == '\t') {
            *p = ' '; /* a value's line break never reaches the header */
        }
    }
    m.to = *to;
    m.subject = subject.p != NULL ? subject.p : ""; /* NULL: the template rendered nothing */
    m.text = text.p != NULL ? text.p : "";
    m.html = html.p != NULL ? html.p : "";
    if (mail_send(&m, why, whylen) == 0) {
        rc = SENT;
    }
out:
    html_cleanup(&subject);
    html_cleanup(&text);
    html_cleanup(&html);
    json_decref(data);
    return rc;
}

/* Records the attempt on `c`. */
static void
record(const struct claimed *c, enum outcome o, const char *to, const char *why)
{
    const char *params[3], *stmt;
    char delay[24];
    int n = 2;

    snprintf(delay, sizeof(delay), "%lld",
             mail_retry_delay_ms(rem.retry_base_ms > 0 ? rem.retry_base_ms : 60000, c->attempts));
    params[0] = c->id;
    if (o == SENT) {
        params[1] = to;
        stmt = "rem_sent";
    } else if (o == SKIPPED) {
        params[1] = why;
        stmt = "rem_skip";
    } else if (o == FAILED) {
        params[1] = why;
        stmt = "rem_fail";
    } else {
        params[1] = delay;
        params[2] = why;
        stmt = "rem_retry";
        n = 3;
    }
    if (outbox_settle(&box, c->id, stmt, n, params) != 0) {
        return;
    }
    if (o == SENT) {
        logging_event("info", NULL, "reminders: %s (%s, %s) sent", c->id, c->event, c->audience);
    } else if (o == SKIPPED) {
        logging_event("info", NULL, "reminders: %s (%s, %s) skipped: %s", c->id, c->event,
                      c->audience, why);
    } else if (o == FAILED) {
        logging_event("error", NULL, "reminders: %s (%s, %s) failed: %s", c->id, c->event,
                      c->audience, why);
    } else {
        logging_event("warn", NULL, "reminders: %s (%s, %s) attempt %d: %s", c->id, c->event,
                      c->audience, c->attempts, why);
    }
}

/* Sends a claimed row and records it; `ctx` (may be NULL) counts each outcome. */
static void
send_one(const struct outbox_row *row, void *ctx)
{
    struct claimed c = {.id = row->id,
                        .attempts = row->attempts,
                        .event = outbox_col(row, "event"),
                        .audience = outbox_col(row, "audience"),
                        .data = outbox_col(row, "data"),
                        .org_email = outbox_col(row, "org_email"),
                        .org_enabled = db_bool(row->res, row->i, "org_enabled"), /* NULL: 0 */
                        .org_archived = db_bool(row->res, row->i, "org_archived")};
    char why[REM_ERROR_MAX] = "";
    const char *to = NULL;
    int *counts = ctx;
    enum outcome o;

    if (c.event == NULL || c.audience == NULL || c.data == NULL) {
        return;
    }
    o = deliver(&c, &to, why, sizeof(why));
    record(&c, o, to, why);
    if (counts != NULL) {
        counts[o]++;
    }
}

/* Nothing is claimed without a relay: they wait, 7 days at most (said once). */
static int
relay_ready(struct db_conn *db)
{
    PGresult *res;

    if (mail_configured()) {
        return 1;
    }
    if (!rem.warned) {
        res = db_exec(db, "rem_waiting", 0, NULL);
        if (db_ok(res) && strcmp(db_value(res, 0, "n"), "0") != 0) {
            logging_event("warn", NULL,
                          "reminders: %s reminder(s) wait to be sent and REGISTRY_SMTP_URL is "
                          "not set; each fails 7 days after it was queued",
                          db_value(res, 0, "n"));
            rem.warned = 1;
        }
        PQclear(res);
    }
    return 0;
}

static struct outbox box = {
    OUTBOX_INIT("reminders", "rem_claim", REM_BATCH, REM_LEASE_S, send_one), .expire = "rem_expire",
    .expired = "reminder(s) not sent within 7 days failed", .ready = relay_ready};

/* Templates, relay and libcurl, for `serve` and the command. Returns 0, or -1 with `err`. */
static int
prepare(const struct config *c, char *err, size_t errlen)
{
    char dir[4096];

    snprintf(dir, sizeof(dir), "%s/mail", c->static_dir);
    if (reminders_templates_load(dir, err, errlen) != 0) {
        return -1;
    }
    if (mail_init(c->smtp_url, c->smtp_credentials, c->smtp_from, err, errlen) != 0) {
        reminders_templates_free();
        return -1;
    }
    rem.mail = 1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl does not initialise");
        return -1;
    }
    rem.curl = 1;
    rem.licensing_body = c->licensing_body_email;
    rem.retry_base_ms = c->reminder_retry_base_ms;
    box.poll_ms = c->reminder_poll_ms;
    if (rem.licensing_body != NULL && !validate_email(rem.licensing_body)) {
        snprintf(err, errlen, "REGISTRY_LICENSING_BODY_EMAIL must be an e-mail address");
        return -1;
    }
    return 0;
}

/* Undoes prepare. The relay is forgotten only by the command: in `serve` the enquiry worker may
 * still send through it, and enquiries_stop forgets it last. */
static void
unprepare(int forget_relay)
{
    if (rem.curl) {
        curl_global_cleanup();
        rem.curl = 0;
    }
    if (rem.mail && forget_relay) {
        mail_cleanup();
    }
    rem.mail = 0;
    reminders_templates_free();
}

int
reminders_start(const struct config *c)
{
    char err[512] = "";

    if (prepare(c, err, sizeof(err)) != 0) {
        logging_event("error", NULL, "mpact-registry: %s", err);
        unprepare(0);
        return -1;
    }
    /* Nothing is said here: a `serve` that fails to start says one line, its reason. Without a
     * relay the worker says so once when reminders wait; without a licensing body address each
     * copy is skipped saying why. */
    if (outbox_start(&box) != 0) {
        unprepare(0);
        return -1;
    }
    return 0;
}

void
reminders_stop(void)
{
    outbox_stop(&box);
    unprepare(0);
}

/* ---- The command ---------------------------------------------------------------------------- */

int
reminders_command(const struct config *c, int argc, char **argv)
{
    static const struct db_stmt *const tables[] = {reminders_stmts, NULL};
    char err[512] = "", day[16] = "";
    int counts[4] = {0, 0, 0, 0}, rc = 1;
    long queued;
    struct db_conn *db = NULL;

    if (argc == 4 && strcmp(argv[2], "--today") == 0 && validate_date(argv[3])) {
        snprintf(day, sizeof(day), "%s", argv[3]);
    } else if (argc != 2) {
        logging_event("error", NULL,
                      "mpact-registry: send-reminders [--today YYYY-MM-DD] (a real date)");
        return 2;
    }
    if (c->database_url == NULL) {
        logging_event("error", NULL, "mpact-registry: REGISTRY_DATABASE_URL is not set");
        return 1;
    }
    if (prepare(c, err, sizeof(err)) != 0
        || db_pool_init(c->database_url, 1, c->db_wait_ms, tables, err, sizeof(err)) != 0) {
        logging_event("error", NULL, "mpact-registry: %s", err);
        unprepare(1);
        return 1;
    }
    if ((db = db_acquire_job()) == NULL) {
        logging_event("error", NULL, "mpact-registry: no database connection");
        goto out;
    }
    if (day[0] == '\0') {
        PGresult *res = db_exec(db, "rem_today", 0, NULL);

        if (db_ok(res) && PQntuples(res) == 1) {
            snprintf(day, sizeof(day), "%s", db_value(res, 0, "today"));
        }
        PQclear(res);
    }
    queued = day[0] != '\0' ? reminders_enqueue_due(db, day) : -1;
    db_release(db);
    db = NULL;
    if (queued < 0) {
        goto out;
    }
    if (mail_configured()) {
        int rounds = 0;

        while (outbox_run_once(&box, counts) == REM_BATCH && ++rounds < 1000) {
        }
    }
    printf("%ld reminder(s) queued for %s; %d sent, %d skipped, %d failed, %d to retry%s\n", queued,
           day, counts[SENT], counts[SKIPPED], counts[FAILED], counts[RETRY],
           mail_configured() ? "" : " (REGISTRY_SMTP_URL is not set: none sent)");
    rc = 0;
out:
    db_release(db);
    db_pool_close();
    unprepare(1);
    return rc;
}
