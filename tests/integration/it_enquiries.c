/* it_enquiries.c: "Ask about a place" (POST /v1/public/enquiries) and the central contact, over
 * HTTP against the real server, PostgreSQL and a real SMTP receiver on loopback
 * (tests/integration/smtp_sink.py, python3's standard library).
 *
 * Checked: an enquiry arrives at the provider's mailbox with its fields; its outbox row is gone
 * afterwards and only a count stays; no table's text, JSON or bytes and no line of the server's
 * log hold any part of a distinctive message, while it waits (sealed) or after; a relay that
 * refuses is retried, and an enquiry still undelivered 7 days after it was sent (the row's
 * created_at moved back: the clock the worker reads is the database's) is deleted and counted
 * failed, which the licensing body's report shows; STARTTLS is required unless the relay is on
 * loopback (a relay without it on this machine's other address gets nothing); the rate limit
 * (429 with Retry-After after 5 an hour per client), the honeypot and each validation rule
 * (422 naming the field, nothing written, no value echoed); enquiries off without the key, and
 * start-up refused with REGISTRY_ENQUIRIES=1 and a missing or short key; an organisation's
 * enquiry settings; the central contact set by the licensing body and returned by every
 * provider search.
 *
 * IT_TIMEOUT=240 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
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
#include "registry/codec.h"
#include "registry/mail.h"
#include "registry/seal.h"

#define SECRET    "Quokka-marmalade-7731"      /* the distinctive string of a message */
#define SECRET_PT "marmalade-77"               /* a part of it */
#define MAILBOX   "enquiries@provider.example" /* the organisation's enquiry address */
#define SITE_NAME "Luton Family Centre"

struct fx {
    IT_FX_HEAD;
    char dir[64];      /* the sink's folder and the key file */
    pid_t sink, hsink; /* the SMTP receiver, the HTTPS webhook receiver */
    int port, hport;
    char *org, *site, *closed_site;
};

/* Starts smtp_sink.py on `bind` writing into `dir`; returns its pid and sets *port. */
static pid_t
start_sink(const char *dir, const char *bind, int *port)
{
    char *script = it_fmt("%s/tests/integration/smtp_sink.py", getenv("IT_SOURCE_DIR"));
    char *portfile = it_fmt("%s/port", dir);
    pid_t pid = fork();
    int i;

    assert_true(pid >= 0);
    if (pid == 0) {
        execlp("python3", "python3", script, dir, bind, (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 500 && access(portfile, R_OK) != 0; i++) {
        it_sleep_ms(20);
    }
    {
        char *text = it_read_file(portfile);

        if (text == NULL) {
            fail_msg("the SMTP sink did not start");
        }
        *port = atoi(text);
        free(text);
    }
    unlink(portfile);
    free(script);
    free(portfile);
    return pid;
}

/* Makes a self-signed certificate for localhost in `dir` (cert.pem, key.pem: the server's, and
 * the CA file the registry is told to trust) and starts https_sink.py with it; returns its pid
 * and sets *port. */
static pid_t
start_https_sink(const char *dir, int *port)
{
    char *script = it_fmt("%s/tests/integration/https_sink.py", getenv("IT_SOURCE_DIR"));
    char *cert = it_fmt("%s/cert.pem", dir), *key = it_fmt("%s/key.pem", dir);
    char *portfile = it_fmt("%s/hport", dir), *text;
    char *cmd = it_fmt("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
                       " -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost"
                       " -keyout '%s' -out '%s' 2>/dev/null",
                       key, cert);
    pid_t pid;
    int i;

    assert_int_equal(system(cmd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execlp("python3", "python3", script, dir, cert, key, (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 500 && access(portfile, R_OK) != 0; i++) {
        it_sleep_ms(20);
    }
    if ((text = it_read_file(portfile)) == NULL) {
        fail_msg("the HTTPS sink did not start");
    }
    *port = atoi(text);
    free(text);
    free(cmd);
    free(script);
    free(cert);
    free(key);
    free(portfile);
    return pid;
}

static void
stop_sink(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

/* Waits up to `ms` for message `n` in `dir`; returns its decoded text (malloc'd) or NULL. */
static char *
wait_mail(const char *dir, int n, int ms)
{
    char *path = it_fmt("%s/%d.txt", dir, n), *text = NULL;
    int waited;

    for (waited = 0; waited < ms && (text = it_read_file(path)) == NULL; waited += 20) {
        it_sleep_ms(20);
    }
    free(path);
    return text;
}

static int
mail_exists(const char *dir, int n)
{
    char *path = it_fmt("%s/%d.eml", dir, n);
    int ok = access(path, R_OK) == 0;

    free(path);
    return ok;
}

/* An organisation with an active licence and a public site near Chatham. */
static char *
make_org(struct it_server *s, const char *name, int enquiries)
{
    return it_sql_text(
        s,
        "WITH o AS (INSERT INTO organisation (name, kind, address_lines, town, postcode,"
        "  phone, email, public_contact, enquiries_enabled, enquiry_email)"
        "  VALUES ($1, 'charity', '[\"1 High Street\"]', 'Chatham', 'ME4 4AB',"
        "  '01634 000111', 'hello@provider.example', true, $2::boolean, $3) RETURNING id),"
        " l AS (INSERT INTO licence (organisation_id, number, status, valid_from, valid_until)"
        "  SELECT id, 'T-' || gen_random_uuid(), 'active', registry_today() - 365,"
        "  registry_today() + 365 FROM o)"
        " SELECT id::text FROM o",
        name, enquiries ? "true" : "false", enquiries ? MAILBOX : NULL);
}

static char *
make_site(struct it_server *s, const char *org, const char *name)
{
    return it_sql_text(s,
                       "INSERT INTO location (organisation_id, name, kind, address_lines, town,"
                       " postcode, latitude, longitude, public, active)"
                       " VALUES ($1::uuid, $2, 'community', '[\"2 Mill Lane\"]', 'Chatham',"
                       " 'ME4 5BA', 51.38, 0.52, true, true) RETURNING id::text",
                       org, name);
}

static int
setup(void **state)
{
    struct fx *f;
    char dir[] = "/tmp/mpact-it-enq-XXXXXX", *key, *url;
    const char *env[12];
    FILE *kf;

    assert_non_null(mkdtemp(dir));
    key = it_fmt("%s/enquiry.key", dir);
    kf = fopen(key, "w");
    assert_non_null(kf);
    fputs("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", kf);
    fclose(kf);
    {
        int port, hport;
        pid_t sink = start_sink(dir, "0.0.0.0", &port), hsink = start_https_sink(dir, &hport);
        char *allow = it_fmt("REGISTRY_WEBHOOK_ALLOW_HOSTS=127.0.0.1:1,localhost:%d", hport);
        char *ca = it_fmt("REGISTRY_WEBHOOK_CA_FILE=%s/cert.pem", dir);

        url = it_fmt("REGISTRY_SMTP_URL=smtp://127.0.0.1:%d", port);
        env[0] = "REGISTRY_ENQUIRIES=1";
        env[1] = it_fmt("REGISTRY_ENQUIRY_KEY_FILE=%s", key);
        env[2] = url;
        env[3] = "REGISTRY_ENQUIRY_POLL_MS=50";
        env[4] = "REGISTRY_ENQUIRY_RETRY_BASE_MS=100";
        env[5] = "REGISTRY_TRUSTED_PROXY=127.0.0.1";
        env[6] = "REGISTRY_PUBLIC_RATE_LIMIT=0";
        env[7] = "REGISTRY_SMTP_FROM=registry@registry.example";
        env[8] = allow;
        env[9] = ca;
        env[10] = "REGISTRY_ENQUIRY_CONNECTIONS=3";
        env[11] = NULL;
        f = it_fx_start(sizeof(*f), "enquiries", env, "admin@example.org", "correct horse battery",
                        0);
        f->sink = sink;
        f->port = port;
        f->hsink = hsink;
        f->hport = hport;
        free((char *)env[1]);
        free(allow);
        free(ca);
    }
    snprintf(f->dir, sizeof(f->dir), "%s", dir);
    free(url);
    free(key);
    f->org = it_fx_own(f, make_org(f->s, "Medway Family Support", 1));
    f->site = it_fx_own(f, make_site(f->s, f->org, SITE_NAME));
    {
        char *closed = it_fx_own(f, make_org(f->s, "No Enquiries Ltd", 0));
        f->closed_site = it_fx_own(f, make_site(f->s, closed, "Closed Door Hall"));
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char *cmd = it_fmt("rm -rf '%s'", f->dir);

    stop_sink(f->sink);
    stop_sink(f->hsink);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", f->dir);
    }
    free(cmd);
    return it_fx_teardown(state);
}

/* POSTs an enquiry from client address `client` (X-Forwarded-For through the trusted proxy). */
static void
post_enquiry(struct fx *f, const char *client, const char *body, struct it_resp *r)
{
    char *xff = it_fmt("X-Forwarded-For: %s", client);
    const char *headers[] = {"Content-Type: application/json", xff, NULL};

    it_request(f->s, "POST", "/v1/public/enquiries", NULL, headers, body, r);
    free(xff);
}

static char *
enquiry_json(struct fx *f, const char *message)
{
    return it_fmt("{\"site_id\": \"%s\", \"who\": \"family_member\", \"name\": \"Ann Example\","
                  " \"email\": \"ann@family.example\", \"phone\": \"07700 900123\","
                  " \"best_time\": \"weekday evenings\", \"relationship\": \"grandmother\","
                  " \"message\": \"%s\", \"consent\": true}",
                  f->site, message);
}

/* Fails when any text, JSON or bytea column of any table of the test database holds `needle`. */
static void
assert_db_free_of(struct it_server *s, const char *needle)
{
    PGresult *cols = it_sql(s, "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name),"
                               " quote_ident(column_name), data_type"
                               " FROM information_schema.columns"
                               " WHERE table_schema = 'public' AND data_type IN ('text',"
                               " 'character varying', 'json', 'jsonb', 'bytea', 'ARRAY')");
    int i, checked = 0;

    for (i = 0; i < PQntuples(cols); i++) {
        const char *type = PQgetvalue(cols, i, 2);
        char *sql = it_fmt(strcmp(type, "bytea") == 0
                               ? "SELECT count(*) FROM %s WHERE position(convert_to($1, 'UTF8')"
                                 " IN %s) > 0"
                               : "SELECT count(*) FROM %s WHERE strpos(%s::text, $1) > 0",
                           PQgetvalue(cols, i, 0), PQgetvalue(cols, i, 1));
        PGresult *res = it_sql_try(s, sql, needle);

        if (PQresultStatus(res) == PGRES_TUPLES_OK) {
            checked++;
            if (strcmp(PQgetvalue(res, 0, 0), "0") != 0) {
                fail_msg("%s.%s holds \"%s\"", PQgetvalue(cols, i, 0), PQgetvalue(cols, i, 1),
                         needle);
            }
        }
        PQclear(res);
        free(sql);
    }
    assert_true(checked > 20);
    PQclear(cols);
}

/* ---- Tests -------------------------------------------------------------------------------- */

static void
test_mail_arrives_and_nothing_stays(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *body = enquiry_json(f, "Hello, is there a place for my grandson? " SECRET), *mail, *log;

    post_enquiry(f, "203.0.113.10", body, &r);
    it_assert_status(&r, 202);
    assert_string_equal(it_jstr(r.json, "status"), "queued");
    it_assert_absent(r.body, SECRET_PT, "Ann Example", NULL);
    it_resp_free(&r);

    mail = wait_mail(f->dir, 1, 10000);
    if (mail == NULL) {
        it_log_tail(f->s, 30);
        fail_msg("no mail arrived at the SMTP receiver");
    }
    it_assert_contains(mail, "To: <" MAILBOX ">");
    it_assert_contains(mail, "Reply-To: <ann@family.example>");
    it_assert_contains(mail, "Subject: Enquiry about a place at " SITE_NAME);
    it_assert_contains(mail, "Site: " SITE_NAME);
    it_assert_contains(mail, "From: Ann Example");
    it_assert_contains(mail, "Who is asking: a family member");
    it_assert_contains(mail, "Relationship to the child or children: grandmother");
    it_assert_contains(mail, "Reply by e-mail: ann@family.example");
    it_assert_contains(mail, "Reply by phone: 07700 900123");
    it_assert_contains(mail, "Best time to contact: weekday evenings");
    it_assert_contains(mail, "Hello, is there a place for my grandson? " SECRET);
    free(mail);

    assert_int_equal(it_wait_count(f->s, 0, 5000, "SELECT count(*) FROM enquiry_outbox"), 0);
    assert_int_equal(it_count(f->s,
                              "SELECT n FROM enquiry_count WHERE organisation_id = $1::uuid AND"
                              " who = 'family_member' AND result = 'delivered' AND month ="
                              " date_trunc('month', now() AT TIME ZONE 'Europe/London')::date",
                              f->org),
                     1);
    assert_db_free_of(f->s, SECRET_PT);
    assert_db_free_of(f->s, "Ann Example");
    assert_db_free_of(f->s, "ann@family.example");
    log = it_log(f->s);
    it_assert_absent(log, SECRET_PT, "Ann Example", "ann@family.example", "grandmother", NULL);
    free(log);
    free(body);
}

static void
test_undelivered_is_retried_then_deleted_at_7_days(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *fail = it_fmt("%s/fail", f->dir), *body = enquiry_json(f, "Retry me " SECRET), *log;
    int before = 0;
    FILE *ff = fopen(fail, "w");

    assert_non_null(ff);
    fclose(ff);
    while (mail_exists(f->dir, before + 1)) {
        before++;
    }
    post_enquiry(f, "203.0.113.11", body, &r);
    it_assert_status(&r, 202);
    it_resp_free(&r);
    /* Refused twice at least (100 ms, then 500 ms later), kept with a transport error. */
    assert_int_equal(it_wait_count(f->s, 1, 10000,
                                   "SELECT count(*) FROM enquiry_outbox WHERE attempts >= 2 AND"
                                   " last_error IS NOT NULL"),
                     1);
    assert_false(mail_exists(f->dir, before + 1));
    /* While it waits, the sealed row holds nothing of it either. */
    assert_db_free_of(f->s, SECRET_PT);
    assert_db_free_of(f->s, "ann@family.example");

    /* A week later (the row sent 7 days and a minute ago): deleted and counted failed. */
    PQclear(
        it_sql(f->s, "UPDATE enquiry_outbox SET created_at = now() - interval '7 days 1 minute'"));
    assert_int_equal(it_wait_count(f->s, 0, 5000, "SELECT count(*) FROM enquiry_outbox"), 0);
    assert_int_equal(it_count(f->s,
                              "SELECT n FROM enquiry_count WHERE organisation_id = $1::uuid AND"
                              " result = 'failed'",
                              f->org),
                     1);
    unlink(fail);
    assert_false(mail_exists(f->dir, before + 1));

    /* The licensing body sees the failure. */
    it_get(f->s, "/v1/reports/enquiries", f->admin, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "failed")), 1);
    assert_true(it_json_has(json_object_get(r.json, "items"), "result", "failed"));
    it_resp_free(&r);
    log = it_log(f->s);
    it_assert_absent(log, SECRET_PT, NULL);
    free(log);
    free(body);
    free(fail);
}

static void
test_validation_names_fields_and_writes_nothing(void **state)
{
    struct fx *f = *state;
    char long_msg[1100];
    struct {
        const char *body, *field;
    } cases[] = {
        {"{\"site_id\": \"%s\", \"name\": \"A\", \"email\": \"a@b.example\", \"relationship\":"
         " \"mum\", \"message\": \"" SECRET "\", \"consent\": true}",
         "who"},
        {"{\"site_id\": \"%s\", \"who\": \"neighbour\", \"name\": \"A\", \"email\": "
         "\"a@b.example\","
         " \"relationship\": \"mum\", \"message\": \"" SECRET "\", \"consent\": true}",
         "who"},
        {"{\"site_id\": \"%s\", \"who\": \"self\", \"name\": \"A\", \"relationship\": \"mum\","
         " \"message\": \"" SECRET "\", \"consent\": true}",
         "email"},
        {"{\"site_id\": \"%s\", \"who\": \"self\", \"name\": \"A\", \"email\": \"" SECRET "\","
         " \"relationship\": \"mum\", \"message\": \"hi\", \"consent\": true}",
         "email"},
        {"{\"site_id\": \"%s\", \"who\": \"self\", \"name\": \"A\", \"phone\": \"call me " SECRET
         "\", \"relationship\": \"mum\", \"message\": \"hi\", \"consent\": true}",
         "phone"},
        {"{\"site_id\": \"%s\", \"who\": \"self\", \"name\": \"A\", \"email\": \"a@b.example\","
         " \"relationship\": \"mum\", \"message\": \"" SECRET "\", \"consent\": false}",
         "consent"},
        {"{\"site_id\": \"%s\", \"who\": \"self\", \"name\": \"A\", \"email\": \"a@b.example\","
         " \"message\": \"" SECRET "\", \"consent\": true}",
         "relationship"},
        {"{\"site_id\": \"%s\", \"who\": \"professional\", \"name\": \"A\", \"email\":"
         " \"a@b.example\", \"role\": \"school nurse\", \"message\": \"" SECRET "\", \"consent\":"
         " true}",
         "organisation"},
        {"{\"site_id\": \"%s\", \"who\": \"professional\", \"name\": \"A\", \"email\":"
         " \"a@b.example\", \"organisation\": \"Medway School\", \"message\": \"" SECRET "\","
         " \"consent\": true}",
         "role"},
        {"{\"site_id\": \"%s\", \"who\": \"self\", \"name\": \"A\", \"email\": \"a@b.example\","
         " \"relationship\": \"mum\", \"message\": \"" SECRET "\", \"consent\": true, \"website\":"
         " \"http://spam.example\"}",
         "website"},
        {"{\"site_id\": \"%s\", \"who\": \"self\", \"name\": \"A\", \"email\": \"a@b.example\","
         " \"relationship\": \"mum\", \"message\": \"" SECRET
         "\", \"consent\": true, \"extra\": 1}",
         "extra"},
        {"{\"who\": \"self\", \"name\": \"A\", \"email\": \"a@b.example\", \"relationship\":"
         " \"mum\", \"message\": \"" SECRET "\", \"consent\": true%s}",
         "site_id"},
        {"{\"site_id\": \"%s\", \"who\": \"self\", \"name\": \"A\", \"email\": \"a@b.example\","
         " \"relationship\": \"mum\", \"message\": \"\", \"consent\": true}",
         "message"},
    };
    struct it_resp r;
    size_t i;
    char *body;

    for (i = 0; i < IT_LEN(cases); i++) {
        body = it_fmt(cases[i].body, strstr(cases[i].body, "true%s") != NULL ? "" : f->site);
        post_enquiry(f, "203.0.113.20", body, &r);
        if (!it_names_field(&r, cases[i].field)) {
            it_resp_print(&r);
            fail_msg("case %zu: no 422 naming %s", i, cases[i].field);
        }
        it_assert_field_error(&r, cases[i].field);
        it_assert_absent(r.body, SECRET_PT, NULL);
        it_resp_free(&r);
        free(body);
    }
    /* A message of 1,001 characters. */
    memset(long_msg, 'x', 1001);
    long_msg[1001] = '\0';
    body = enquiry_json(f, long_msg);
    post_enquiry(f, "203.0.113.20", body, &r);
    it_assert_field_error(&r, "message");
    it_resp_free(&r);
    free(body);
    /* A site that takes no enquiries, and one that does not exist. */
    body = it_fmt("{\"site_id\": \"%s\", \"who\": \"self\", \"name\": \"A\", \"email\":"
                  " \"a@b.example\", \"relationship\": \"mum\", \"message\": \"hi\", \"consent\":"
                  " true}",
                  f->closed_site);
    post_enquiry(f, "203.0.113.20", body, &r);
    it_assert_field_error_with(&r, "site_id", "does not take enquiries");
    it_resp_free(&r);
    free(body);
    body = it_fmt("{\"site_id\": \"00000000-0000-4000-8000-000000000001\", \"who\": \"self\","
                  " \"name\": \"A\", \"email\": \"a@b.example\", \"relationship\": \"mum\","
                  " \"message\": \"hi\", \"consent\": true}");
    post_enquiry(f, "203.0.113.20", body, &r);
    it_assert_field_error(&r, "site_id");
    it_resp_free(&r);
    free(body);
    /* Malformed JSON is not quoted back. */
    post_enquiry(f, "203.0.113.20", "{\"message\": \"" SECRET "\" oops", &r);
    it_assert_problem(&r, 400);
    it_assert_absent(r.body, SECRET_PT, "oops", NULL);
    it_resp_free(&r);
    /* Too big. */
    {
        char *big = calloc(1, 20000);

        memset(big, ' ', 19999);
        big[0] = '{';
        big[19998] = '}';
        post_enquiry(f, "203.0.113.20", big, &r);
        it_assert_problem(&r, 413);
        it_resp_free(&r);
        free(big);
    }
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM enquiry_outbox"), 0);
}

static void
test_rate_limit(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *body = enquiry_json(f, "rate");
    int i;

    for (i = 0; i < 5; i++) {
        post_enquiry(f, "198.51.100.7", body, &r);
        it_assert_status(&r, 202);
        it_resp_free(&r);
    }
    post_enquiry(f, "198.51.100.7", body, &r);
    it_assert_problem(&r, 429);
    it_assert_header(&r, "Retry-After", "");
    assert_true(atoi(strstr(r.headers, "Retry-After: ") + 13) > 60);
    it_resp_free(&r);
    /* Another address is not held back; mistakes do not count. */
    post_enquiry(f, "198.51.100.8", "{\"who\": \"self\"}", &r);
    it_assert_problem(&r, 422);
    it_resp_free(&r);
    post_enquiry(f, "198.51.100.8", body, &r);
    it_assert_status(&r, 202);
    it_resp_free(&r);
    free(body);
    assert_int_equal(it_wait_count(f->s, 0, 10000, "SELECT count(*) FROM enquiry_outbox"), 0);
}

static void
test_starttls_rule(void **state)
{
    /* Loopback may go without STARTTLS; anything else needs it. */
    static const char *const plain_ok[] = {"smtp://127.0.0.1:25", "smtp://127.8.9.1:2525",
                                           "smtp://localhost:25", "smtp://[::1]:25"};
    static const char *const tls_needed[] = {"smtp://mail.example.org:587", "smtp://10.0.0.1:25",
                                             "smtp://192.168.1.1"};
    size_t i;

    (void)state;
    for (i = 0; i < IT_LEN(plain_ok); i++) {
        assert_int_equal(mail_tls_required(plain_ok[i]), 0);
    }
    for (i = 0; i < IT_LEN(tls_needed); i++) {
        assert_int_equal(mail_tls_required(tls_needed[i]), 1);
    }
}

/* This machine's first IPv4 address that is not loopback, into `buf`; 0 when there is none. */
static int
other_address(char *buf, size_t len)
{
    struct ifaddrs *ifs, *i;
    int found = 0;

    if (getifaddrs(&ifs) != 0) {
        return 0;
    }
    for (i = ifs; i != NULL && !found; i = i->ifa_next) {
        if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET) {
            struct in_addr a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
            if ((ntohl(a.s_addr) >> 24) != 127 && inet_ntop(AF_INET, &a, buf, (socklen_t)len)) {
                found = 1;
            }
        }
    }
    freeifaddrs(ifs);
    return found;
}

static void
test_starttls_required_off_loopback(void **state)
{
    struct fx *f = *state;
    char addr[64], *url, *key, *keyenv, *body;
    const char *env[8];
    struct it_server *s2;
    int before = 0;

    if (!other_address(addr, sizeof(addr))) {
        skip();
    }
    while (mail_exists(f->dir, before + 1)) {
        before++;
    }
    /* The same receiver (no STARTTLS), reached at this machine's other address. */
    url = it_fmt("REGISTRY_SMTP_URL=smtp://%s:%d", addr, f->port);
    key = it_fmt("%s/enquiry.key", f->dir);
    keyenv = it_fmt("REGISTRY_ENQUIRY_KEY_FILE=%s", key);
    env[0] = "REGISTRY_ENQUIRIES=1";
    env[1] = keyenv;
    env[2] = url;
    env[3] = "REGISTRY_ENQUIRY_POLL_MS=50";
    env[4] = "REGISTRY_ENQUIRY_RETRY_BASE_MS=100000";
    env[5] = NULL;
    s2 = it_start_env("enquiries_tls", env);
    {
        char *org = make_org(s2, "TLS Org", 1), *site = make_site(s2, org, "TLS Site");
        body = it_fmt("{\"site_id\": \"%s\", \"who\": \"self\", \"name\": \"B\", \"email\":"
                      " \"b@b.example\", \"relationship\": \"dad\", \"message\": \"tls\","
                      " \"consent\": true}",
                      site);
        free(org);
        free(site);
    }
    it_expect(s2, "POST", "/v1/public/enquiries", NULL, body, 202);
    assert_int_equal(it_wait_count(s2, 1, 10000,
                                   "SELECT count(*) FROM enquiry_outbox WHERE attempts >= 1 AND"
                                   " last_error LIKE '%STARTTLS%'"),
                     1);
    /* The attempt failed before any DATA (no STARTTLS, no mail): nothing to wait for. */
    assert_false(mail_exists(f->dir, before + 1));
    it_stop(s2);
    free(body);
    free(url);
    free(keyenv);
    free(key);
}

static void
test_start_refused_without_key(void **state)
{
    struct fx *f = *state;
    const char *args[] = {"serve", NULL};
    char *shortkey = it_fmt("%s/short.key", f->dir), *env_short, *out = NULL;
    struct it_server *s = it_prepare("enquiries_nokey", NULL);
    const char *env_none[] = {"REGISTRY_ENQUIRIES=1", "REGISTRY_ENQUIRY_KEY_FILE", NULL};
    const char *env_missing[] = {"REGISTRY_ENQUIRIES=1",
                                 "REGISTRY_ENQUIRY_KEY_FILE=/nonexistent/enquiry.key", NULL};
    FILE *kf = fopen(shortkey, "w");
    int rc;

    assert_non_null(kf);
    fputs("0011223344", kf);
    fclose(kf);
    env_short = it_fmt("REGISTRY_ENQUIRY_KEY_FILE=%s", shortkey);

    rc = it_exec(s, 0, args, env_none, NULL, 30, &out);
    assert_int_not_equal(rc, 0);
    it_assert_contains(out, "REGISTRY_ENQUIRY_KEY_FILE is not set");
    free(out);
    rc = it_exec(s, 0, args, env_missing, NULL, 30, &out);
    assert_int_not_equal(rc, 0);
    it_assert_contains(out, "/nonexistent/enquiry.key");
    free(out);
    {
        const char *env[] = {"REGISTRY_ENQUIRIES=1", env_short, NULL};

        rc = it_exec(s, 0, args, env, NULL, 30, &out);
        assert_int_not_equal(rc, 0);
        it_assert_contains(out, "must hold 32 random bytes or 64 hex digits");
        free(out);
    }
    it_stop(s);
    free(env_short);
    free(shortkey);
}

static void
test_off_by_default(void **state)
{
    struct it_server *s = it_start("enquiries_off");

    (void)state;
    it_expect(s, "POST", "/v1/public/enquiries", NULL, "{}", 404);
    it_stop(s);
}

static void
test_organisation_enquiry_settings(void **state)
{
    struct fx *f = *state;
    char *org = it_create_org(f->s, f->admin, NULL, NULL, "Settings Org"), *etag, *path;
    struct it_resp r;

    path = it_fmt("/v1/organisations/%s", org);
    etag = it_etag_of(f->s, f->admin, "%s", path);
    it_expect_field_if(f->s, "PATCH", path, f->admin, etag, "{\"enquiries_enabled\": true}",
                       "enquiry_email");
    it_expect_field_if(f->s, "PATCH", path, f->admin, etag,
                       "{\"enquiry_email\": \"not an address\"}", "enquiry_email");
    it_patch_json(f->s, path, f->admin, etag,
                  "{\"enquiries_enabled\": true, \"enquiry_email\": \"ask@org.example\"}", &r);
    it_assert_status(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "enquiries_enabled")));
    assert_string_equal(it_jstr(r.json, "enquiry_email"), "ask@org.example");
    it_resp_free(&r);
    free(etag);
    free(path);
    free(org);
}

static void
test_central_contact(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *etag, *ifm;
    const char *headers[3];

    it_get(f->s, "/v1/public/providers?lat=57.5&lon=-5.5&radius_km=5", NULL, &r);
    it_assert_status(&r, 200);
    assert_true(json_is_null(json_object_get(r.json, "central_contact")));
    it_resp_free(&r);

    etag = it_etag_of(f->s, f->admin, "/v1/settings/central-contact");
    ifm = it_fmt("If-Match: %s", etag);
    headers[0] = "Content-Type: application/json";
    headers[1] = ifm;
    headers[2] = NULL;
    it_request(f->s, "PUT", "/v1/settings/central-contact", f->admin, headers,
               "{\"name\": \"Family counsellors\", \"phone\": \"0300 123 4567\","
               " \"web_chat_url\": \"https://chat.example.org/\", \"opening_hours\":"
               " \"Monday to Friday, 9am to 5pm\", \"email\": \"bad\"}",
               &r);
    it_assert_field_error(&r, "email");
    it_resp_free(&r);
    it_request(f->s, "PUT", "/v1/settings/central-contact", f->admin, headers,
               "{\"name\": \"Family counsellors\", \"phone\": \"0300 123 4567\","
               " \"web_chat_url\": \"https://chat.example.org/\", \"opening_hours\":"
               " \"Monday to Friday, 9am to 5pm\", \"feedback_email\": \"beta@lb.example\"}",
               &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);

    /* Shown on the start page, with who can attend; the beta banner's feedback page. */
    it_get(f->s, "/", NULL, &r);
    it_assert_status(&r, 200);
    it_assert_contains(r.body, "Who can attend");
    it_assert_contains(r.body, "You do not need to be in recovery.");
    it_assert_contains(r.body, "Family counsellors");
    it_assert_contains(r.body, "href=\"tel:03001234567\"");
    it_assert_contains(r.body, "href=\"https://chat.example.org/\">Chat online</a>");
    it_assert_contains(r.body, "href=\"/feedback\"");
    it_resp_free(&r);
    it_get(f->s, "/feedback", NULL, &r);
    it_assert_status(&r, 200);
    it_assert_contains(r.body, "href=\"mailto:beta@lb.example?subject=");
    it_resp_free(&r);

    /* The finder: "Ask about a place" on a site that takes enquiries; nothing in the Highlands
     * gives the counsellors' phone and chat. */
    it_get(f->s, "/find?lat=51.38&lon=0.52&radius=5", NULL, &r);
    it_assert_status(&r, 200);
    {
        char *link = it_fmt("href=\"/find/ask?site=%s\">Ask about a place", f->site);
        it_assert_contains(r.body, link);
        free(link);
    }
    it_resp_free(&r);
    it_get(f->s, "/find?lat=57.5&lon=-5.5&radius=5", NULL, &r);
    it_assert_status(&r, 200);
    it_assert_contains(r.body, "What you can do next");
    it_assert_contains(r.body, "0300 123 4567");
    it_assert_contains(r.body, "Chat online");
    it_resp_free(&r);

    /* Nothing near (the Highlands) and a search with results both carry it. */
    it_get(f->s, "/v1/public/providers?lat=57.5&lon=-5.5&radius_km=5", NULL, &r);
    it_assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    assert_string_equal(it_jstr(json_object_get(r.json, "central_contact"), "phone"),
                        "0300 123 4567");
    assert_string_equal(it_jstr(json_object_get(r.json, "central_contact"), "web_chat_url"),
                        "https://chat.example.org/");
    assert_true(json_is_null(json_object_get(json_object_get(r.json, "central_contact"), "email")));
    it_resp_free(&r);
    it_get(f->s, "/v1/public/providers?lat=51.38&lon=0.52", NULL, &r);
    it_assert_status(&r, 200);
    assert_true(json_array_size(json_object_get(r.json, "items")) > 0);
    assert_string_equal(it_jstr(json_object_get(r.json, "central_contact"), "name"),
                        "Family counsellors");
    it_resp_free(&r);
    /* A licensee may read it but not change it. */
    free(ifm);
    free(etag);
}

/* POSTs the form /find/ask with `body` (urlencoded) from `client`. */
static void
post_form(struct fx *f, const char *client, const char *body, struct it_resp *r)
{
    char *xff = it_fmt("X-Forwarded-For: %s", client);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", xff, NULL};

    it_request(f->s, "POST", "/find/ask", NULL, headers, body, r);
    free(xff);
}

static void
test_form_without_javascript(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *path = it_fmt("/find/ask?site=%s", f->site), *body, *mail, *log;
    int n = 0;

    while (mail_exists(f->dir, n + 1)) {
        n++;
    }
    it_get(f->s, path, NULL, &r);
    it_assert_status(&r, 200);
    it_assert_header(&r, "Content-Type", "text/html");
    it_assert_header(&r, "Cache-Control", "no-store");
    it_assert_contains(r.body, "<h1 class=\"govuk-heading-l\">Ask about a place</h1>");
    it_assert_contains(r.body, SITE_NAME);
    it_assert_contains(r.body, "method=\"post\" action=\"/find/ask\"");
    it_assert_contains(r.body, "<div hidden><label for=\"website\">");
    it_resp_free(&r);

    /* A site that takes no enquiries: a page with other ways, not a dead end. */
    free(path);
    path = it_fmt("/find/ask?site=%s", f->closed_site);
    it_get(f->s, path, NULL, &r);
    it_assert_status(&r, 404);
    it_assert_contains(r.body, "GP, health visitor");
    it_resp_free(&r);

    /* Errors: the summary names each, the title starts "Error:", nothing is queued. */
    body =
        it_fmt("site_id=%s&who=professional&name=&email=not-an-address&message=&consent=", f->site);
    post_form(f, "203.0.113.40", body, &r);
    it_assert_status(&r, 422);
    it_assert_contains(r.body, "<title>Error: Ask about a place");
    it_assert_contains(r.body, "There is a problem");
    it_assert_contains(r.body, "href=\"#name\"");
    it_assert_contains(r.body, "Enter your name");
    it_assert_contains(r.body, "Enter an email address in the correct format");
    it_assert_contains(r.body, "Enter your message");
    it_assert_contains(r.body, "Enter your organisation");
    it_assert_contains(r.body, "Select that you agree");
    it_resp_free(&r);
    free(body);
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM enquiry_outbox"), 0);

    /* Sent: the confirmation says nothing is kept, and the mail arrives. */
    body = it_fmt("site_id=%s&who=self&name=Cara+Form&email=&phone=07700+900456&best_time="
                  "&relationship=dad&organisation=&role=&message=Form+%%C3%%A9t%%C3%%A9+" SECRET
                  "&consent=yes&website=",
                  f->site);
    post_form(f, "203.0.113.41", body, &r);
    it_assert_status(&r, 200);
    it_assert_contains(r.body, "Enquiry sent");
    it_assert_contains(r.body, "We have not kept a copy");
    it_assert_absent(r.body, SECRET_PT, "Cara Form", NULL);
    it_resp_free(&r);
    free(body);
    mail = wait_mail(f->dir, n + 1, 10000);
    assert_non_null(mail);
    it_assert_contains(mail, "From: Cara Form");
    it_assert_contains(mail, "Reply by phone: 07700 900456");
    it_assert_contains(mail, "Form \xc3\xa9t\xc3\xa9 " SECRET);
    assert_null(strstr(mail, "Reply-To:"));
    free(mail);
    assert_int_equal(it_wait_count(f->s, 0, 5000, "SELECT count(*) FROM enquiry_outbox"), 0);
    assert_db_free_of(f->s, SECRET_PT);
    assert_db_free_of(f->s, "Cara Form");
    log = it_log(f->s);
    it_assert_absent(log, SECRET_PT, "Cara", "900456", NULL);
    free(log);

    /* The honeypot filled: refused. */
    body = it_fmt("site_id=%s&who=self&name=Bot&email=bot%%40spam.example&relationship=x"
                  "&message=buy&consent=yes&website=http%%3A%%2F%%2Fspam.example",
                  f->site);
    post_form(f, "203.0.113.42", body, &r);
    it_assert_status(&r, 422);
    it_assert_contains(r.body, "Leave this field empty");
    it_resp_free(&r);
    free(body);
    free(path);
}

/* An enquiry.received webhook over plain http (let through for other events by
 * REGISTRY_WEBHOOK_ALLOW_HOSTS) is never used for enquiries: they go by e-mail. */
static void
test_http_webhook_not_used(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *sub = it_fmt("{\"url\": \"http://127.0.0.1:1/hook\", \"events\": [\"enquiry.received\"],"
                       " \"organisation_id\": \"%s\"}",
                       f->org),
         *body = enquiry_json(f, "via mail please"), *mail;
    int n = 0;

    while (mail_exists(f->dir, n + 1)) {
        n++;
    }
    it_expect(f->s, "POST", "/v1/webhooks", f->admin, sub, 201);
    post_enquiry(f, "203.0.113.50", body, &r);
    it_assert_status(&r, 202);
    it_resp_free(&r);
    mail = wait_mail(f->dir, n + 1, 10000);
    assert_non_null(mail);
    it_assert_contains(mail, "via mail please");
    free(mail);
    assert_int_equal(it_wait_count(f->s, 0, 5000, "SELECT count(*) FROM enquiry_outbox"), 0);
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM webhook_outbox"), 0);
    PQclear(it_sql(f->s, "DELETE FROM webhook_subscription"));
    free(sub);
    free(body);
}

/* An organisation subscribed to enquiry.received over https gets the enquiry there, signed, and
 * not by e-mail; the outbox row is gone once the receiver answered. */
static void
test_https_webhook(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *sub = it_fmt("{\"url\": \"https://localhost:%d/hook\", \"events\":"
                       " [\"enquiry.received\"], \"organisation_id\": \"%s\"}",
                       f->hport, f->org),
         *body = enquiry_json(f, "to the webhook please"), *path = it_fmt("%s/hook-1.txt", f->dir);
    char *hook = NULL;
    int n = 0, waited;

    while (mail_exists(f->dir, n + 1)) {
        n++;
    }
    it_expect(f->s, "POST", "/v1/webhooks", f->admin, sub, 201);
    post_enquiry(f, "203.0.113.51", body, &r);
    it_assert_status(&r, 202);
    it_resp_free(&r);
    for (waited = 0; waited < 10000 && (hook = it_read_file(path)) == NULL; waited += 20) {
        it_sleep_ms(20);
    }
    if (hook == NULL) {
        fail_msg("no enquiry.received request reached the https receiver");
    }
    it_assert_contains(hook, "POST /hook");
    it_assert_contains(hook, "webhook-signature: v1,");
    it_assert_contains(hook, "enquiry.received");
    it_assert_contains(hook, "to the webhook please");
    it_assert_contains(hook, "ann@family.example");
    assert_int_equal(it_wait_count(f->s, 0, 5000, "SELECT count(*) FROM enquiry_outbox"), 0);
    assert_false(mail_exists(f->dir, n + 1)); /* not by e-mail as well */
    assert_db_free_of(f->s, "to the webhook please");
    PQclear(it_sql(f->s, "DELETE FROM webhook_subscription"));
    free(hook);
    free(path);
    free(sub);
    free(body);
}

/* ---- Batches: several rows on few connections, a failure retried alone --------------------- */

/* Queues an enquiry for `org` about the fixture's site with `message`, sealed as the server seals
 * one (the fixture's key, the organisation as additional data), due in a day: the test makes a
 * batch due at once. */
static void
queue_sealed(struct fx *f, const char *org, const char *message)
{
    char *path = it_fmt("%s/enquiry.key", f->dir), err[200], *plain, *hex;
    struct seal_key key = {0};
    unsigned char *sealed;
    size_t len;

    assert_int_equal(seal_key_load(&key, path, err, sizeof(err)), 0);
    plain =
        it_fmt("{\"site\": {\"id\": \"%s\", \"name\": \"" SITE_NAME "\", \"town\": \"Chatham\"},"
               " \"organisation_name\": \"Medway Family Support\", \"who\": \"self\","
               " \"name\": \"Bea Example\", \"email\": \"bea@family.example\", \"phone\": null,"
               " \"best_time\": null, \"relationship\": \"mum\", \"sender_organisation\": null,"
               " \"role\": null, \"message\": \"%s\", \"consent\": true,"
               " \"received_at\": \"2026-01-05T10:00:00Z\"}",
               f->site, message);
    len = strlen(plain);
    sealed = malloc(len + SEAL_OVERHEAD);
    hex = malloc(2 * (len + SEAL_OVERHEAD) + 1);
    assert_non_null(sealed);
    assert_non_null(hex);
    assert_int_equal(seal(&key, org, (const unsigned char *)plain, len, sealed), 0);
    codec_hex(sealed, len + SEAL_OVERHEAD, hex);
    PQclear(it_sql(f->s,
                   "INSERT INTO enquiry_outbox (organisation_id, who, sealed, next_attempt_at)"
                   " VALUES ($1::uuid, 'self', decode($2, 'hex'), now() + interval '1 day')",
                   org, hex));
    seal_key_clear(&key);
    free(hex);
    free(sealed);
    free(plain);
    free(path);
}

/* A number the sink keeps in its folder: "connections" (accepted so far) or "open" (open now). */
static int
sink_number(struct fx *f, const char *name)
{
    char *path = it_fmt("%s/%s", f->dir, name), *text = it_read_file(path);
    int n = text != NULL ? atoi(text) : 0;

    free(text);
    free(path);
    return n;
}

#define sink_connections(f) sink_number((f), "connections")
#define sink_open(f)        sink_number((f), "open")

/* How many of the messages after the first `from` hold `needle`. */
static int
mails_with(struct fx *f, int from, const char *needle)
{
    int n, found = 0;

    for (n = from + 1; mail_exists(f->dir, n); n++) {
        char *mail = wait_mail(f->dir, n, 5000);

        assert_non_null(mail);
        found += strstr(mail, needle) != NULL;
        free(mail);
    }
    return found;
}

static int
mails_now(struct fx *f)
{
    int n = 0;

    while (mail_exists(f->dir, n + 1)) {
        n++;
    }
    return n;
}

/* The message of enquiry `i` of a numbered series: "<what> <i>." with `width` digits. */
static char *
numbered(const char *what, int width, int i)
{
    return it_fmt("%s %0*d.", what, width, i);
}

/* Queues `n` sealed enquiries to the fixture's organisation, numbered (numbered()). */
static void
queue_numbered(struct fx *f, const char *what, int width, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        char *msg = numbered(what, width, i);

        queue_sealed(f, f->org, msg);
        free(msg);
    }
}

/* Each of the `n` numbered messages arrived exactly once among the messages after `from`. */
static void
assert_each_arrived_once(struct fx *f, int from, const char *what, int width, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        char *msg = numbered(what, width, i);

        if (mails_with(f, from, msg) != 1) {
            fail_msg("\"%s\" did not arrive exactly once", msg);
        }
        free(msg);
    }
}

/* 30 enquiries due at once go in one batch over at most REGISTRY_ENQUIRY_CONNECTIONS (3)
 * connections: each arrives once, each row is gone and counted. */
static void
test_batch_shares_connections(void **state)
{
    struct fx *f = *state;
    long before_count = it_count(f->s,
                                 "SELECT coalesce(sum(n), 0) FROM enquiry_count WHERE"
                                 " organisation_id = $1::uuid AND result = 'delivered'",
                                 f->org);
    int before = mails_now(f), conns;
    char *last;

    queue_numbered(f, "batch message", 2, 30);
    it_sleep_ms(200); /* the worker idle: nothing was due */
    assert_int_equal(mails_now(f), before);
    conns = sink_connections(f);
    PQclear(it_sql(f->s, "UPDATE enquiry_outbox SET next_attempt_at = now()"));
    assert_int_equal(it_wait_count(f->s, 0, 15000, "SELECT count(*) FROM enquiry_outbox"), 0);
    last = wait_mail(f->dir, before + 30, 5000);
    assert_non_null(last);
    free(last);
    assert_false(mail_exists(f->dir, before + 31));
    assert_each_arrived_once(f, before, "batch message", 2, 30);
    assert_true(sink_connections(f) - conns >= 1);
    if (sink_connections(f) - conns > 3) {
        fail_msg("30 messages of one batch came on %d connections (at most 3)",
                 sink_connections(f) - conns);
    }
    assert_int_equal(it_count(f->s,
                              "SELECT coalesce(sum(n), 0) FROM enquiry_count WHERE"
                              " organisation_id = $1::uuid AND result = 'delivered'",
                              f->org),
                     before_count + 30);
}

/* 100 enquiries due at once are two batches (60 and 40, REGISTRY_ENQUIRY_CONNECTIONS 3): each of
 * the three connections is kept from the full batch to the next, so they arrive once each on
 * more than one connection but at most 3 (connections of their own for each batch made 6), and
 * once the outbox is drained every connection is closed (a relay drops one left idle). */
static void
test_connections_kept_across_batches(void **state)
{
    struct fx *f = *state;
    int before = mails_now(f), conns, used, waited;
    char *last;

    queue_numbered(f, "kept connection", 3, 100);
    for (waited = 0; waited < 5000 && sink_open(f) > 0; waited += 20) {
        it_sleep_ms(20); /* what the earlier tests sent is closed */
    }
    assert_int_equal(sink_open(f), 0);
    conns = sink_connections(f);
    PQclear(it_sql(f->s, "UPDATE enquiry_outbox SET next_attempt_at = now()"));
    assert_int_equal(it_wait_count(f->s, 0, 30000, "SELECT count(*) FROM enquiry_outbox"), 0);
    last = wait_mail(f->dir, before + 100, 5000);
    assert_non_null(last);
    free(last);
    assert_false(mail_exists(f->dir, before + 101));
    assert_each_arrived_once(f, before, "kept connection", 3, 100);
    used = sink_connections(f) - conns;
    if (used < 2 || used > 3) {
        fail_msg("100 messages in two batches came on %d connections (2 or 3: the batches"
                 " share the connections, kept from one to the next)",
                 used);
    }
    for (waited = 0; waited < 5000 && sink_open(f) > 0; waited += 20) {
        it_sleep_ms(20);
    }
    if (sink_open(f) != 0) {
        fail_msg("%d connection(s) left open with the outbox drained", sink_open(f));
    }
}

/* A batch in which one mailbox refuses: the others are delivered once each and gone; only the
 * refused ones stay, with their attempt and the transport error, and are retried alone. */
static void
test_failure_mid_batch_retries_only_those(void **state)
{
    struct fx *f = *state;
    char *refusing = it_fx_own(f, make_org(f->s, "Refusing Mailbox Trust", 1));
    int before = mails_now(f), i;
    char *log;

    PQclear(it_sql(f->s,
                   "UPDATE organisation SET enquiry_email = 'refused@provider.example' WHERE id ="
                   " $1::uuid",
                   refusing));
    for (i = 0; i < 12; i++) {
        char *msg = it_fmt("mixed batch %02d.", i);

        queue_sealed(f, i % 2 == 0 ? f->org : refusing, msg);
        free(msg);
    }
    PQclear(it_sql(f->s, "UPDATE enquiry_outbox SET next_attempt_at = now()"));
    /* The six to the refusing mailbox stay, tried twice at least (100 ms, then 500 ms later). */
    assert_int_equal(it_wait_count(f->s, 6, 10000,
                                   "SELECT count(*) FROM enquiry_outbox WHERE organisation_id ="
                                   " $1::uuid AND attempts >= 2 AND last_error IS NOT NULL",
                                   refusing),
                     6);
    assert_int_equal(it_count(f->s, "SELECT count(*) FROM enquiry_outbox"), 6);
    assert_int_equal(it_count(f->s,
                              "SELECT count(*) FROM enquiry_count WHERE organisation_id = $1::uuid",
                              refusing),
                     0);
    /* The six others arrived once each, however often the refused ones were tried. */
    for (i = 0; i < 12; i++) {
        char *msg = it_fmt("mixed batch %02d.", i);

        if (mails_with(f, before, msg) != (i % 2 == 0 ? 1 : 0)) {
            fail_msg("\"%s\" arrived %d times", msg, mails_with(f, before, msg));
        }
        free(msg);
    }
    log = it_log(f->s);
    it_assert_contains(log, "attempt 2 to organisation");
    it_assert_absent(log, "mixed batch", "Bea Example", "bea@family.example", NULL);
    free(log);
    PQclear(it_sql(f->s, "DELETE FROM enquiry_outbox"));
}

TEST_MAIN(setup,
          teardown,
          cmocka_unit_test(test_starttls_rule),
          cmocka_unit_test(test_mail_arrives_and_nothing_stays),
          cmocka_unit_test(test_undelivered_is_retried_then_deleted_at_7_days),
          cmocka_unit_test(test_validation_names_fields_and_writes_nothing),
          cmocka_unit_test(test_rate_limit),
          cmocka_unit_test(test_starttls_required_off_loopback),
          cmocka_unit_test(test_start_refused_without_key),
          cmocka_unit_test(test_off_by_default),
          cmocka_unit_test(test_organisation_enquiry_settings),
          cmocka_unit_test(test_central_contact),
          cmocka_unit_test(test_form_without_javascript),
          cmocka_unit_test(test_http_webhook_not_used),
          cmocka_unit_test(test_https_webhook),
          cmocka_unit_test(test_batch_shares_connections),
          cmocka_unit_test(test_connections_kept_across_batches),
          cmocka_unit_test(test_failure_mid_batch_retries_only_those))
