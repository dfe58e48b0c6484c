/* it_reminders.c: e-mail reminders (server/reminders.c) against the real server, PostgreSQL and a
 * real SMTP receiver on loopback (tests/integration/smtp_sink.py).
 *
 * Checked, with the clock injected (`mpact-registry send-reminders --today DAY`): a licence's
 * reminders at 90, 30 and 7 days and an accreditation's at 60 and 14, each once, to the
 * organisation's contact and the licensing body's address (only the latter for a facilitator
 * without an employer), and none on the days between; a run
 * at risk (its facilitator suspended) once, and none for a run that has ended; a training place
 * confirmed and withdrawn (the enrolment trigger), once each, to the nominating organisation;
 * the daily job of `serve` queues what is due on registry_today() and a restart queues nothing
 * again; reminders_enabled false (set through the API) skips the organisation's copy but not the
 * licensing body's; the HTML part escapes a hostile organisation name, and a line break in one
 * stays out of the headers; a relay that refuses is
 * retried until it takes the message, and one pending 7 days fails unsent; a missing template
 * stops `serve` with one line.
 *
 * IT_TIMEOUT=240 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"

#define BODY_MAILBOX "licensing@body.example" /* REGISTRY_LICENSING_BODY_EMAIL */

struct fx {
    IT_FX_HEAD;
    char dir[64]; /* the sink's folder */
    pid_t sink;
    char *env[8];
    char *mine[64]; /* what own() was given, freed by teardown */
    size_t n_mine;
};

/* Gives `p` (malloc'd) to the fixture; returns it. */
static char *
own(struct fx *f, char *p)
{
    assert_true(f->n_mine < IT_LEN(f->mine));
    f->mine[f->n_mine++] = p;
    return p;
}

/* Starts smtp_sink.py writing into `dir`; returns its pid and sets *port. */
static pid_t
start_sink(const char *dir, int *port)
{
    char *script = it_fmt("%s/tests/integration/smtp_sink.py", getenv("IT_SOURCE_DIR"));
    char *portfile = it_fmt("%s/port", dir), *text = NULL;
    pid_t pid = fork();
    int i;

    assert_true(pid >= 0);
    if (pid == 0) {
        execlp("python3", "python3", script, dir, "127.0.0.1", (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 500 && (text = it_read_file(portfile)) == NULL; i++) {
        it_sleep_ms(20);
    }
    if (text == NULL) {
        fail_msg("the SMTP sink did not start");
    }
    *port = atoi(text);
    free(text);
    free(script);
    free(portfile);
    return pid;
}

static int
setup(void **state)
{
    struct fx *f;
    char dir[] = "/tmp/mpact-it-rem-XXXXXX";
    const char *env[8];
    int port, i;
    pid_t sink;

    assert_non_null(mkdtemp(dir));
    sink = start_sink(dir, &port);
    env[0] = it_fmt("REGISTRY_SMTP_URL=smtp://127.0.0.1:%d", port);
    env[1] = "REGISTRY_SMTP_FROM=registry@registry.example";
    env[2] = "REGISTRY_LICENSING_BODY_EMAIL=" BODY_MAILBOX;
    env[3] = "REGISTRY_REMINDER_POLL_MS=50";
    env[4] = "REGISTRY_REMINDER_RETRY_BASE_MS=200";
    env[5] = NULL;
    f = it_fx_start(sizeof(*f), "reminders", env, "admin@example.org", "correct horse battery", 0);
    for (i = 0; env[i] != NULL; i++) {
        f->env[i] = i == 0 ? (char *)env[0] : strdup(env[i]);
    }
    f->sink = sink;
    snprintf(f->dir, sizeof(f->dir), "%s", dir);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char *cmd = it_fmt("rm -rf '%s'", f->dir);
    int i;

    if (f->sink > 0) {
        kill(f->sink, SIGTERM);
        waitpid(f->sink, NULL, 0);
    }
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", f->dir);
    }
    free(cmd);
    for (i = 0; f->env[i] != NULL; i++) {
        free(f->env[i]);
    }
    while (f->n_mine > 0) {
        free(f->mine[--f->n_mine]);
    }
    return it_fx_teardown(state);
}

/* An organisation with contact address `email` (reminders on). Returns its id (owned by f). */
static char *
make_org(struct fx *f, const char *name, const char *email)
{
    return own(f, it_sql_text(f->s,
                              "INSERT INTO organisation (name, kind, address_lines, town,"
                              " postcode, email) VALUES ($1, 'charity', '[\"1 High Street\"]',"
                              " 'Chatham', 'ME4 4AB', $2) RETURNING id::text",
                              name, email));
}

/* An active licence `number` of `org` valid until `until`. Returns its id (owned by f). */
static char *
make_licence(struct fx *f, const char *org, const char *number, const char *until)
{
    return own(f, it_sql_text(f->s,
                              "INSERT INTO licence (organisation_id, number, status,"
                              " valid_from, valid_until) VALUES ($1::uuid, $2, 'active',"
                              " '2020-01-01', $3::date) RETURNING id::text",
                              org, number, until));
}

/* A facilitator with `status`, accredited until `until`, employed by `org` (NULL: nobody) since
 * 2020. Returns its id (owned by f). */
static char *
make_fac(struct fx *f, const char *org, const char *family, const char *status, const char *until)
{
    char *id =
        it_sql_text(f->s,
                    "INSERT INTO facilitator (given_name, family_name, status, accredited_on,"
                    " accredited_until) VALUES ('Sam', $1, $2, '2020-01-01', $3::date)"
                    " RETURNING id::text",
                    family, status, until);

    if (org != NULL) {
        PQclear(it_sql(f->s,
                       "INSERT INTO facilitator_employment (facilitator_id, organisation_id,"
                       " started_on) VALUES ($1::uuid, $2::uuid, '2020-01-01')",
                       id, org));
    }
    return own(f, id);
}

/* Runs `send-reminders --today day` (day NULL: no option); fails unless it exits 0. Returns its
 * output (malloc'd). */
static char *
send_reminders(struct fx *f, const char *day)
{
    const char *args[] = {"send-reminders", day != NULL ? "--today" : NULL, day, NULL};
    char *out = NULL;
    int rc = it_exec(f->s, 0, args, NULL, NULL, 60, &out);

    if (rc != 0) {
        fail_msg("send-reminders --today %s exited %d: %s", day, rc, out != NULL ? out : "");
    }
    it_assert_clean_output(out);
    return out;
}

static void
send_day(struct fx *f, const char *day)
{
    free(send_reminders(f, day));
}

/* Waits until no reminder about `object` is pending; fails otherwise. */
static void
wait_settled(struct fx *f, const char *object)
{
    assert_int_equal(it_wait_count(f->s, 0, 20000,
                                   "SELECT count(*) FROM reminder_outbox WHERE object_id ="
                                   " $1::uuid AND status = 'pending'",
                                   object),
                     0);
}

static long
rows(struct fx *f, const char *object)
{
    return it_count(f->s, "SELECT count(*) FROM reminder_outbox WHERE object_id = $1::uuid",
                    object);
}

/* How many messages received hold every one of the NULL-terminated needles in their decoded
 * text (headers and plain part; `html` 1: in their HTML part instead; 2: in their headers). */
static int
count_mail_in(struct fx *f, int html, const char *needle, ...)
{
    int n, found = 0;

    for (n = 1;; n++) {
        char *path = it_fmt("%s/%d.txt", f->dir, n), *text = it_read_file(path), *part = text;
        const char *w;
        va_list ap;
        int all = 1;

        free(path);
        if (text == NULL) {
            break;
        }
        if (html == 2 && strstr(text, "\n\n") != NULL) {
            strstr(text, "\n\n")[1] = '\0'; /* the header block, each line ending \n */
        } else if (html) {
            path = it_fmt("%s/%d.html", f->dir, n);
            part = it_read_file(path);
            free(path);
        }
        va_start(ap, needle);
        for (w = needle; w != NULL; w = va_arg(ap, const char *)) {
            if (part == NULL || strstr(part, w) == NULL) {
                all = 0;
            }
        }
        va_end(ap);
        found += all;
        if (part != text) {
            free(part);
        }
        free(text);
    }
    return found;
}

#define count_mail(f, ...)      count_mail_in((f), 0, __VA_ARGS__, (const char *)NULL)
#define count_mail_html(f, ...) count_mail_in((f), 1, __VA_ARGS__, (const char *)NULL)
#define count_mail_head(f, ...) count_mail_in((f), 2, __VA_ARGS__, (const char *)NULL)

/* A licence ending on 30 June 2031: reminders on 1 April (90 days), 31 May (30) and 23 June (7),
 * nothing on the days around them, each once to each recipient. */
static void
test_licence_thresholds(void **state)
{
    struct fx *f = *state;
    char *org = make_org(f, "Thresholds Trust", "contact@thresholds.example");
    char *lic = make_licence(f, org, "T-REM-LIC-1", "2031-06-30");
    static const struct {
        const char *day;
        long rows;
    } days[] = {
        {"2031-03-31", 0}, {"2031-04-01", 2}, {"2031-04-02", 2}, {"2031-05-30", 2},
        {"2031-05-31", 4}, {"2031-06-01", 4}, {"2031-06-22", 4}, {"2031-06-23", 6},
        {"2031-06-24", 6}, {"2031-06-30", 6},
    };
    size_t i;

    for (i = 0; i < IT_LEN(days); i++) {
        send_day(f, days[i].day);
        wait_settled(f, lic);
        if (rows(f, lic) != days[i].rows) {
            fail_msg("on %s: %ld reminder rows, want %ld", days[i].day, rows(f, lic), days[i].rows);
        }
    }
    it_assert_row(f->s, IT_ROW("3", "3", "6"),
                  "SELECT count(*) FILTER (WHERE audience = 'organisation'), count(*) FILTER"
                  " (WHERE audience = 'licensing_body'), count(*) FILTER (WHERE status = 'sent')"
                  " FROM reminder_outbox WHERE object_id = $1::uuid AND event = 'licence_ending'",
                  lic);
    it_assert_row(f->s, IT_ROW("30:2031-06-30,7:2031-06-30,90:2031-06-30"),
                  "SELECT string_agg(DISTINCT threshold, ',' ORDER BY threshold) FROM"
                  " reminder_outbox WHERE object_id = $1::uuid",
                  lic);
    /* Each threshold once to the organisation and once to the licensing body. */
    assert_int_equal(count_mail(f, "T-REM-LIC-1", "To: <contact@thresholds.example>"), 3);
    assert_int_equal(count_mail(f, "T-REM-LIC-1", "To: <" BODY_MAILBOX ">"), 3);
    assert_int_equal(count_mail(f, "T-REM-LIC-1", "ends on 30 June 2031, in 90 days"), 2);
    assert_int_equal(count_mail(f, "T-REM-LIC-1", "ends on 30 June 2031, in 30 days"), 2);
    assert_int_equal(count_mail(f, "T-REM-LIC-1", "ends on 30 June 2031, in 7 days"), 2);
    assert_int_equal(count_mail(f, "Subject: M-PACT licence T-REM-LIC-1 of Thresholds Trust ends"
                                   " on 30 June 2031"),
                     6);
    assert_int_equal(count_mail(f, "multipart/alternative", "T-REM-LIC-1"), 6);
    assert_int_equal(count_mail_html(f, "Licence T-REM-LIC-1 ends on 30 June 2031"), 6);
}

/* An accreditation ending on 31 March 2032: reminders 60 and 14 days before, to the employer. */
static void
test_accreditation_thresholds(void **state)
{
    struct fx *f = *state;
    char *org = make_org(f, "Employer Ltd", "staff@employer.example");
    char *fac = make_fac(f, org, "Accreditee", "accredited", "2032-03-31");
    char *loner = make_fac(f, NULL, "Unemployed", "accredited", "2032-03-31");
    char *number =
        it_sql_text(f->s, "SELECT registration_number FROM facilitator WHERE id = $1::uuid", fac);
    static const struct {
        const char *day;
        long rows;
    } days[] = {
        {"2032-01-30", 0}, {"2032-01-31", 2}, {"2032-02-01", 2},
        {"2032-03-16", 2}, {"2032-03-17", 4}, {"2032-03-18", 4},
    };
    size_t i;

    for (i = 0; i < IT_LEN(days); i++) {
        send_day(f, days[i].day);
        wait_settled(f, fac);
        if (rows(f, fac) != days[i].rows) {
            fail_msg("on %s: %ld reminder rows, want %ld", days[i].day, rows(f, fac), days[i].rows);
        }
    }
    it_assert_row(f->s, IT_ROW("14:2032-03-31,60:2032-03-31", "4"),
                  "SELECT string_agg(DISTINCT threshold, ',' ORDER BY threshold), count(*) FILTER"
                  " (WHERE status = 'sent') FROM reminder_outbox WHERE object_id = $1::uuid AND"
                  " event = 'accreditation_ending'",
                  fac);
    assert_int_equal(count_mail(f, number, "To: <staff@employer.example>", "in 60 days"), 1);
    assert_int_equal(count_mail(f, number, "To: <staff@employer.example>", "in 14 days"), 1);
    assert_int_equal(count_mail(f, number, "To: <" BODY_MAILBOX ">", "employed by Employer Ltd"),
                     2);
    /* Without an employer only the licensing body hears of it. */
    it_assert_row(f->s, IT_ROW("2", "licensing_body"),
                  "SELECT count(*), min(audience) FROM reminder_outbox WHERE object_id = $1::uuid",
                  loner);
    free(number);
}

/* A run whose facilitator is suspended: one reminder for each recipient, once; none for a run
 * that ended before the day. */
static void
test_run_at_risk(void **state)
{
    struct fx *f = *state;
    char *org = make_org(f, "Risky Runs CIC", "runs@risky.example");
    char *fac = make_fac(f, org, "Suspendee", "suspended", "2035-01-01");
    char *site =
        own(f, it_sql_text(f->s,
                           "INSERT INTO location (organisation_id, name, kind, address_lines, town,"
                           " postcode) VALUES ($1::uuid, 'Riverside Hall', 'community',"
                           " '[\"2 Mill Lane\"]', 'Chatham', 'ME4 5BA') RETURNING id::text",
                           org));
    const char *sql = "INSERT INTO programme_run (organisation_id, location_id, variant, starts_on,"
                      " ends_on, capacity_families) VALUES ($1::uuid, $2::uuid, 'standard',"
                      " $3::date, $4::date, 6) RETURNING id::text";
    char *run = own(f, it_sql_text(f->s, sql, org, site, "2033-09-01", "2033-12-01"));
    char *ended = own(f, it_sql_text(f->s, sql, org, site, "2033-01-01", "2033-03-01"));
    char *out;

    PQclear(it_sql(f->s,
                   "INSERT INTO programme_facilitator (run_id, facilitator_id) VALUES"
                   " ($1::uuid, $3::uuid), ($2::uuid, $3::uuid)",
                   run, ended, fac));
    out = send_reminders(f, "2033-06-01");
    wait_settled(f, run);
    assert_int_equal(rows(f, run), 2);
    assert_int_equal(rows(f, ended), 0);
    free(out);
    send_day(f, "2033-06-02");
    wait_settled(f, run);
    assert_int_equal(rows(f, run), 2);
    assert_int_equal(count_mail(f, "Riverside Hall", "To: <runs@risky.example>", "Sam Suspendee",
                                "is suspended"),
                     1);
    assert_int_equal(count_mail(f, "Riverside Hall", "To: <" BODY_MAILBOX ">",
                                "from 1 September 2033 to 1 December 2033"),
                     1);
}

/* A training place confirmed, then withdrawn: one message each to the nominating organisation
 * (the facilitator's employer when nobody of an organisation nominated) and the licensing body. */
static void
test_training_place(void **state)
{
    struct fx *f = *state;
    char *org = make_org(f, "Nominators Ltd", "training@nominators.example");
    char *fac = make_fac(f, org, "Trainee", "in_training", NULL);
    char *course = own(
        f, it_sql_text(f->s, "INSERT INTO course (code, title, kind, grants_months) VALUES"
                             " ('REM-PRAC', 'Practitioner course for reminders', 'practitioner',"
                             " 24) RETURNING id::text"));
    char *session =
        own(f, it_sql_text(f->s,
                           "INSERT INTO training_session (course_id, starts_on, ends_on, venue,"
                           " capacity) VALUES ($1::uuid, '2034-05-04', '2034-05-06', 'Hall <B>', 8)"
                           " RETURNING id::text",
                           course));
    char *enr = own(f, it_sql_text(f->s,
                                   "INSERT INTO enrolment (session_id, facilitator_id)"
                                   " VALUES ($1::uuid, $2::uuid) RETURNING id::text",
                                   session, fac));

    wait_settled(f, enr);
    it_assert_row(f->s, IT_ROW("training_confirmed", "2", "2"),
                  "SELECT min(event), count(*), count(*) FILTER (WHERE status = 'sent') FROM"
                  " reminder_outbox WHERE object_id = $1::uuid",
                  enr);
    /* A change that is not of the status queues nothing. */
    PQclear(it_sql(f->s, "UPDATE enrolment SET updated_at = now() WHERE id = $1::uuid", enr));
    PQclear(it_sql(f->s,
                   "UPDATE enrolment SET status = 'withdrawn', version = version + 1 WHERE id ="
                   " $1::uuid",
                   enr));
    wait_settled(f, enr);
    it_assert_row(f->s, IT_ROW("2", "4"),
                  "SELECT count(*) FILTER (WHERE event = 'training_withdrawn'), count(*) FILTER"
                  " (WHERE status = 'sent') FROM reminder_outbox WHERE object_id = $1::uuid",
                  enr);
    assert_int_equal(count_mail(f, "Subject: Training place confirmed: Sam Trainee",
                                "To: <training@nominators.example>", "4 May 2034"),
                     1);
    assert_int_equal(count_mail(f, "Subject: Training place withdrawn: Sam Trainee",
                                "To: <training@nominators.example>"),
                     1);
    assert_int_equal(count_mail(f, "Sam Trainee", "To: <" BODY_MAILBOX ">"), 2);
    assert_int_equal(count_mail_html(f, "Sam Trainee", "Hall &lt;B&gt;"), 4);
    /* The day's job sends none of them again. */
    send_day(f, "2034-05-01");
    assert_int_equal(rows(f, enr), 4);
}

/* reminders_enabled false, set by the API: the organisation's copy is skipped, the licensing
 * body's still sent. */
static void
test_preference_off(void **state)
{
    struct fx *f = *state;
    char *org = make_org(f, "Quiet Org", "quiet@quiet.example");
    char *etag = it_etag_of(f->s, f->admin, "/v1/organisations/%s", org);
    char *lic = make_licence(f, org, "T-REM-QUIET", "2031-09-30");
    struct it_resp r;

    it_patchf(f->s, f->admin, etag, "{\"reminders_enabled\": false}", &r, "/v1/organisations/%s",
              org);
    it_assert_status(&r, 200);
    assert_true(json_is_false(json_object_get(r.json, "reminders_enabled")));
    it_resp_free(&r);
    it_patchf(f->s, f->admin, NULL, "{\"reminders_enabled\": \"no\"}", &r, "/v1/organisations/%s",
              org);
    assert_true(r.status == 422 || r.status == 428);
    it_resp_free(&r);
    send_day(f, "2031-09-23");
    wait_settled(f, lic);
    it_assert_row(f->s, IT_ROW("skipped", "", "sent", BODY_MAILBOX),
                  "SELECT o.status, coalesce(o.recipient, ''), b.status, b.recipient FROM"
                  " reminder_outbox o, reminder_outbox b WHERE o.object_id = $1::uuid AND"
                  " o.audience = 'organisation' AND b.object_id = $1::uuid AND b.audience ="
                  " 'licensing_body'",
                  lic);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM reminder_outbox WHERE object_id = $1::uuid"
                              " AND last_error LIKE '%reminders_enabled%'",
                              lic),
                     1);
    assert_int_equal(count_mail(f, "To: <quiet@quiet.example>"), 0);
    assert_int_equal(count_mail(f, "T-REM-QUIET", "To: <" BODY_MAILBOX ">"), 1);
    free(etag);
}

/* A hostile organisation name is escaped in the HTML part (and left as it is in the text). */
static void
test_html_escapes(void **state)
{
    struct fx *f = *state;
    char *org = make_org(f, "Evil <script>alert(1)</script> & \"Co\"", "evil@evil.example");
    char *lic = make_licence(f, org, "T-REM-EVIL", "2031-10-31");

    send_day(f, "2031-10-24");
    wait_settled(f, lic);
    assert_int_equal(count_mail_html(f, "T-REM-EVIL",
                                     "Evil &lt;script&gt;alert(1)&lt;/script&gt; &amp; "
                                     "&quot;Co&quot;"),
                     2);
    assert_int_equal(count_mail_html(f, "T-REM-EVIL", "<script>"), 0);
    assert_int_equal(count_mail(f, "T-REM-EVIL", "of Evil <script>alert(1)</script> & \"Co\""), 2);
}

/* A line break in a value never reaches the headers: the subject stays one line. */
static void
test_no_header_injection(void **state)
{
    struct fx *f = *state;
    char *org = make_org(f, "Bad\r\nBcc: <spy@evil.example>", "bad@bad.example");
    char *lic = make_licence(f, org, "T-REM-INJ", "2031-12-31");

    send_day(f, "2031-12-24");
    wait_settled(f, lic);
    assert_int_equal(count_mail(f, "T-REM-INJ",
                                "Subject: M-PACT licence T-REM-INJ of Bad  Bcc:"
                                " <spy@evil.example> ends on 31 December 2031\n"),
                     2);
    assert_int_equal(count_mail_head(f, "T-REM-INJ"), 2);
    assert_int_equal(count_mail_head(f, "T-REM-INJ", "\nBcc:"), 0);
}

/* While the relay refuses, the reminder waits with its error and is tried again; once the relay
 * takes mail again it is sent, once. */
static void
test_retry(void **state)
{
    struct fx *f = *state;
    char *org = make_org(f, "Patient Org", "patient@patient.example");
    char *lic = make_licence(f, org, "T-REM-RETRY", "2031-11-30");
    char *fail = it_fmt("%s/fail", f->dir), *out;
    FILE *ff = fopen(fail, "w");

    assert_non_null(ff);
    fclose(ff);
    out = send_reminders(f, "2031-11-23");
    assert_non_null(strstr(out, "to retry"));
    free(out);
    /* Tried again by the server's worker while the relay still refuses. */
    assert_int_equal(it_wait_count(f->s, 2, 20000,
                                   "SELECT count(*) FROM reminder_outbox WHERE object_id ="
                                   " $1::uuid AND status = 'pending' AND attempts >= 2 AND"
                                   " last_error LIKE '%SMTP 451%'",
                                   lic),
                     2);
    assert_int_equal(count_mail(f, "T-REM-RETRY"), 0);
    unlink(fail);
    assert_int_equal(it_wait_count(f->s, 2, 30000,
                                   "SELECT count(*) FROM reminder_outbox WHERE object_id ="
                                   " $1::uuid AND status = 'sent' AND last_error IS NULL",
                                   lic),
                     2);
    assert_int_equal(count_mail(f, "T-REM-RETRY", "To: <patient@patient.example>"), 1);
    assert_int_equal(count_mail(f, "T-REM-RETRY", "To: <" BODY_MAILBOX ">"), 1);
    free(fail);
}

/* A reminder still pending 7 days after it was queued (created_at moved back: the clock the
 * worker reads is the database's) fails and is not sent. */
static void
test_expired(void **state)
{
    struct fx *f = *state;
    char *id = own(f, it_sql_text(f->s, "SELECT gen_random_uuid()::text"));

    PQclear(it_sql(f->s,
                   "INSERT INTO reminder_outbox (event, object_id, threshold, audience, day, data,"
                   " created_at, next_attempt_at) VALUES ('licence_ending', $1::uuid,"
                   " '7:2031-01-01', 'licensing_body', '2030-12-25', '{\"licence_number\":"
                   " \"T-REM-OLD\"}', now() - interval '8 days', now() + interval '1 hour')",
                   id));
    assert_int_equal(it_wait_count(f->s, 1, 20000,
                                   "SELECT count(*) FROM reminder_outbox WHERE object_id = $1::uuid"
                                   " AND status = 'failed' AND last_error LIKE"
                                   " '%not sent within 7 days%'",
                                   id),
                     1);
    assert_int_equal(count_mail(f, "T-REM-OLD"), 0);
}

/* The daily job of `serve` queues what is due on registry_today(); restarting queues nothing
 * again, and neither does the command for the same day. */
static void
test_daily_job_and_restart(void **state)
{
    struct fx *f = *state;
    char *org = make_org(f, "Restart Org", "restart@restart.example");
    char day[16], *lic, *out;
    int status;

    lic = make_licence(f, org, "T-REM-RESTART", it_day(f->s, 30, day, sizeof(day)));
    status = it_kill(f->s, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    it_launch(f->s, (const char *const *)f->env);
    assert_int_equal(it_wait_count(f->s, 2, 20000,
                                   "SELECT count(*) FROM reminder_outbox WHERE object_id ="
                                   " $1::uuid AND status = 'sent' AND threshold LIKE '30:%'",
                                   lic),
                     2);
    status = it_kill(f->s, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    it_launch(f->s, (const char *const *)f->env);
    out = send_reminders(f, NULL);
    assert_non_null(strstr(out, "0 reminder(s) queued for "));
    free(out);
    wait_settled(f, lic);
    assert_int_equal(rows(f, lic), 2);
    assert_int_equal(count_mail(f, "T-REM-RESTART"), 2);
}

/* A missing template stops serve with one line naming it. */
static void
test_missing_template(void **state)
{
    struct fx *f = *state;
    char *dir = it_fmt("%s/static", f->dir), *cmd, *env_dir, *out = NULL;
    const char *args[] = {"serve", NULL};
    const char *env[3];
    int rc;

    cmd = it_fmt("mkdir -p '%s/mail' && cp '%s'/static/mail/*.* '%s/mail/' && rm '%s/mail/"
                 "run_at_risk.html'",
                 dir, getenv("IT_SOURCE_DIR"), dir, dir);
    assert_int_equal(system(cmd), 0);
    env_dir = it_fmt("REGISTRY_STATIC_DIR=%s", dir);
    env[0] = env_dir;
    env[1] = "REGISTRY_LISTEN=127.0.0.1:1";
    env[2] = NULL;
    rc = it_exec(f->s, 0, args, env, NULL, 30, &out);
    assert_int_equal(rc, 1);
    assert_non_null(out);
    assert_non_null(strstr(out, "run_at_risk.html"));
    /* One line: the reason. */
    assert_non_null(strchr(out, '\n'));
    if (strchr(out, '\n')[1] != '\0') {
        fail_msg("serve said more than one line: %s", out);
    }
    free(out);
    free(env_dir);
    free(cmd);
    free(dir);
}

TEST_MAIN(setup,
          teardown,
          cmocka_unit_test(test_licence_thresholds),
          cmocka_unit_test(test_accreditation_thresholds),
          cmocka_unit_test(test_run_at_risk),
          cmocka_unit_test(test_training_place),
          cmocka_unit_test(test_preference_off),
          cmocka_unit_test(test_html_escapes),
          cmocka_unit_test(test_no_header_injection),
          cmocka_unit_test(test_retry),
          cmocka_unit_test(test_expired),
          cmocka_unit_test(test_daily_job_and_restart),
          cmocka_unit_test(test_missing_template))
