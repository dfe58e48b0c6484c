/* config.c: settings from the environment, checked once at start-up. */
#include "registry/config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config config;

const char config_help[] =
    "Usage: mpact-registry COMMAND\n"
    "\n"
    "Commands:\n"
    "  serve               serve the HTTP API (refuses to start while migrations are pending)\n"
    "  migrate             apply pending database migrations\n"
    "  seed-demo           load demo organisations, licences and accounts (prints the accounts)\n"
    "  create-admin EMAIL  create a licensing-body admin; the password is read from stdin\n"
    "  keygen DIR          add a new EC P-256 signing key to DIR\n"
    "  import-postcodes FILE  load the ONS Postcode Directory / NSPL CSV (pcds, lat, long,\n"
    "                      doterm; oslaua or laua, ctry), swapping the postcode table in\n"
    "                      atomically\n"
    "  import-areas FILE   load the ONS LA_UA names and codes CSV (LAD23CD,LAD23NM,...):\n"
    "                      the names of the local authority districts\n"
    "  import-places FILE  load a gazetteer for the search by town: the ONS Index of Place\n"
    "                      Names CSV (GB) or the GeoNames dump IE.txt (IE), swapping that\n"
    "                      country's places in atomically\n"
    "  send-reminders [--today YYYY-MM-DD]  queue the reminders due on that day (default:\n"
    "                      registry_today()) and send what is due in the reminder outbox once\n"
    "  --help              show this help\n"
    "  --version           show the version\n"
    "\n"
    "Settings (environment):\n"
    "  REGISTRY_DATABASE_URL    libpq URI or keyword string (required for database commands)\n"
    "  REGISTRY_LISTEN          host:port to listen on (default 127.0.0.1:8080)\n"
    "  REGISTRY_THREADS         HTTP worker threads, one per open connection (default 64)\n"
    "  REGISTRY_CONNS_PER_ADDRESS  open connections one client address may hold; more are\n"
    "                           refused (default 16, 0: no cap; REGISTRY_TRUSTED_PROXY is exempt)\n"
    "  REGISTRY_HEADER_TIMEOUT_MS  a connection that has not sent its request head this long\n"
    "                           after it was accepted is closed (default 3000, 100-10000)\n"
    "  REGISTRY_DB_POOL         database connections shared by requests (default 8)\n"
    "  REGISTRY_DB_WAIT_MS      how long a request waits for a connection before 503 (default "
    "2000)\n"
    "  REGISTRY_DB_QUERY_TIMEOUT_MS  how long a request's database work may take once it holds a\n"
    "                           connection; past it the query is abandoned, the connection\n"
    "                           dropped and remade, and the answer is 503 (default 2000)\n"
    "  REGISTRY_JWT_KEY_DIR     folder of EC P-256 private keys in PEM; the newest signs "
    "(required\n"
    "                           for serve)\n"
    "  REGISTRY_ISSUER          the iss claim of issued tokens (default mpact-registry)\n"
    "  REGISTRY_AUDIENCE        the aud claim of issued tokens (default mpact-registry)\n"
    "  REGISTRY_PASSWORD_SLOTS  password hashes computed at once (default 2)\n"
    "  REGISTRY_STATIC_DIR      folder of static files, e.g. problem pages (default ./static)\n"
    "  REGISTRY_PUBLIC_RATE_LIMIT  requests a minute per client address on the open routes\n"
    "                           (/v1/public, /openreferral; default 120, 0 turns it off)\n"
    "  REGISTRY_PUBLIC_FIGURES_CACHE_S  seconds the public figures (/v1/public/impact, /impact)\n"
    "                           are kept once computed (default 60; 0 computes them every time)\n"
    "  REGISTRY_TRUSTED_PROXY   address of the reverse proxy (e.g. 127.0.0.1) whose\n"
    "                           X-Forwarded-For names the client; unset: the header is ignored\n"
    "  REGISTRY_WEBHOOK_ALLOW_HOSTS  comma-separated host:port webhook targets let through\n"
    "                           although private or loopback (and over plain http); unset: none\n"
    "  REGISTRY_WEBHOOK_CA_FILE  PEM file of the certificate authorities https webhook targets\n"
    "                           are checked against (unset: the system's)\n"
    "  REGISTRY_WEBHOOK_RETRY_BASE_MS  delay before the first webhook retry; later ones grow from\n"
    "                           it (default 5000: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h)\n"
    "  REGISTRY_WEBHOOK_RETRIES webhook retries before a delivery is dead (0-6, default 6)\n"
    "  REGISTRY_WEBHOOK_POLL_MS how often the webhook worker looks for due deliveries\n"
    "                           (default 1000)\n"
    "  REGISTRY_WEBHOOK_EXPIRY_EVERY_S  also run the expiry job this often (default 0: at start\n"
    "                           and once a day)\n"
    "  REGISTRY_LOG_FORMAT      text (default) or json: one JSON object per log line\n"
    "  REGISTRY_METRICS_ALLOW   comma-separated IPv4 addresses that may GET /metrics when they\n"
    "                           connect directly, not through the proxy (default 127.0.0.1)\n"
    "  REGISTRY_METRICS_TOKEN_FILE  file holding a token; Authorization: Bearer <it> may GET\n"
    "                           /metrics from anywhere (unset: no token)\n"
    "  REGISTRY_DATABASE_URL_REPLICA  a streaming replica for public reads and reports (unset:\n"
    "                           everything reads the primary)\n"
    "  REGISTRY_REPLICA_MAX_LAG_MS  read the primary while the replica lags more (default 5000)\n"
    "  REGISTRY_TOKEN_RETENTION_DAYS  days expired or revoked refresh tokens and API-client\n"
    "                           secrets are kept before the daily job deletes them (default 30)\n"
    "  REGISTRY_BACKDATE_MAX_DAYS  how many days in the past the licensing body may date an\n"
    "                           accreditation or licence change (effective_on; default 365)\n"
    "  REGISTRY_ENQUIRIES       1 relays families' enquiries to providers (\"Ask about a place\";\n"
    "                           default 0: off)\n"
    "  REGISTRY_ENQUIRY_KEY_FILE  file of 32 random bytes or 64 hex digits: the AES-256-GCM key\n"
    "                           of the enquiry outbox (required when REGISTRY_ENQUIRIES is 1)\n"
    "  REGISTRY_ENQUIRY_RATE_LIMIT  enquiries an hour per client address (default 5; 0: off)\n"
    "  REGISTRY_ENQUIRY_RETRY_BASE_MS  delay before the first retry of an undelivered enquiry;\n"
    "                           later ones grow from it (default 60000); after 7 days it is\n"
    "                           deleted and counted as failed\n"
    "  REGISTRY_ENQUIRY_POLL_MS how often the enquiry worker looks for due ones (default 1000)\n"
    "  REGISTRY_ENQUIRY_CONNECTIONS  connections to the mail relay (or webhooks) the enquiry\n"
    "                           worker sends on at once, each kept open for its batch (default 8)\n"
    "  REGISTRY_SMTP_URL        the mail relay, smtp://host:port (STARTTLS required unless on\n"
    "                           loopback) or smtps://host:port (unset: no e-mail is sent)\n"
    "  REGISTRY_SMTP_CREDENTIALS_FILE  file with user:password for the relay (unset: none)\n"
    "  REGISTRY_SMTP_FROM       the sender address of the registry's mail\n"
    "                           (default registry@localhost)\n"
    "  REGISTRY_LICENSING_BODY_EMAIL  the licensing body's address for its copy of every reminder\n"
    "                           (unset: no copy is sent)\n"
    "  REGISTRY_REMINDER_RETRY_BASE_MS  delay before the first retry of an unsent reminder; later\n"
    "                           ones grow from it (default 60000); after 7 days it is failed\n"
    "  REGISTRY_REMINDER_POLL_MS  how often the reminder worker looks for due ones\n"
    "                           (default 1000)\n";

static const char *
str_setting(const char *name, const char *def)
{
    const char *v = getenv(name);

    return v != NULL && *v != '\0' ? v : def;
}

#define AT(member) offsetof(struct config, member)

/* clang-format off */
static const struct { const char *name, *def; size_t at; } strings[] = {
    {"REGISTRY_DATABASE_URL", NULL, AT(database_url)},
    {"REGISTRY_JWT_KEY_DIR", NULL, AT(jwt_key_dir)},
    {"REGISTRY_ISSUER", "mpact-registry", AT(issuer)},
    {"REGISTRY_AUDIENCE", "mpact-registry", AT(audience)},
    {"REGISTRY_STATIC_DIR", "static", AT(static_dir)},
    {"REGISTRY_TRUSTED_PROXY", NULL, AT(trusted_proxy)},
    {"REGISTRY_WEBHOOK_ALLOW_HOSTS", NULL, AT(webhook_allow_hosts)},
    {"REGISTRY_WEBHOOK_CA_FILE", NULL, AT(webhook_ca_file)},
    {"REGISTRY_METRICS_ALLOW", "127.0.0.1", AT(metrics_allow)},
    {"REGISTRY_METRICS_TOKEN_FILE", NULL, AT(metrics_token_file)},
    {"REGISTRY_DATABASE_URL_REPLICA", NULL, AT(database_url_replica)},
    {"REGISTRY_ENQUIRY_KEY_FILE", NULL, AT(enquiry_key_file)},
    {"REGISTRY_SMTP_URL", NULL, AT(smtp_url)},
    {"REGISTRY_SMTP_CREDENTIALS_FILE", NULL, AT(smtp_credentials)},
    {"REGISTRY_SMTP_FROM", "registry@localhost", AT(smtp_from)},
    {"REGISTRY_LICENSING_BODY_EMAIL", NULL, AT(licensing_body_email)},
};

/* Whole-number settings: default, least, most. Checked in this order; the first bad one fails. */
static const struct { const char *name; int def, min, max; size_t at; } ints[] = {
    {"REGISTRY_THREADS", 64, 2, 4096, AT(threads)},
    {"REGISTRY_CONNS_PER_ADDRESS", 16, 0, 1000000, AT(conns_per_address)},
    {"REGISTRY_HEADER_TIMEOUT_MS", 3000, 100, 10000, AT(header_timeout_ms)},
    {"REGISTRY_DB_POOL", 8, 1, 512, AT(db_pool)},
    {"REGISTRY_DB_WAIT_MS", 2000, 1, 60000, AT(db_wait_ms)},
    {"REGISTRY_DB_QUERY_TIMEOUT_MS", 2000, 100, 600000, AT(db_query_timeout_ms)},
    {"REGISTRY_PASSWORD_SLOTS", 2, 1, 64, AT(password_slots)},
    {"REGISTRY_PUBLIC_RATE_LIMIT", 120, 0, 1000000, AT(public_rate)},
    {"REGISTRY_PUBLIC_FIGURES_CACHE_S", 60, 0, 86400, AT(public_figures_cache_s)},
    {"REGISTRY_WEBHOOK_RETRY_BASE_MS", 5000, 1, 3600000, AT(webhook_retry_base_ms)},
    {"REGISTRY_WEBHOOK_RETRIES", 6, 0, 6, AT(webhook_retries)},
    {"REGISTRY_WEBHOOK_POLL_MS", 1000, 10, 600000, AT(webhook_poll_ms)},
    {"REGISTRY_WEBHOOK_EXPIRY_EVERY_S", 0, 0, 86400, AT(webhook_expiry_every_s)},
    {"REGISTRY_REPLICA_MAX_LAG_MS", 5000, 0, 600000, AT(replica_max_lag_ms)},
    {"REGISTRY_TOKEN_RETENTION_DAYS", 30, 1, 3650, AT(token_retention_days)},
    {"REGISTRY_BACKDATE_MAX_DAYS", 365, 0, 3650, AT(backdate_max_days)},
    {"REGISTRY_ENQUIRIES", 0, 0, 1, AT(enquiries)},
    {"REGISTRY_ENQUIRY_RATE_LIMIT", 5, 0, 100000, AT(enquiry_rate_per_hour)},
    {"REGISTRY_ENQUIRY_RETRY_BASE_MS", 60000, 10, 3600000, AT(enquiry_retry_base_ms)},
    {"REGISTRY_ENQUIRY_POLL_MS", 1000, 10, 600000, AT(enquiry_poll_ms)},
    {"REGISTRY_ENQUIRY_CONNECTIONS", 8, 1, 32, AT(enquiry_connections)},
    {"REGISTRY_REMINDER_RETRY_BASE_MS", 60000, 10, 3600000, AT(reminder_retry_base_ms)},
    {"REGISTRY_REMINDER_POLL_MS", 1000, 10, 600000, AT(reminder_poll_ms)},
};
/* clang-format on */

int
config_load(struct config *c, char *err, size_t errlen)
{
    const char *listen = str_setting("REGISTRY_LISTEN", "127.0.0.1:8080");
    const char *colon = strrchr(listen, ':');
    const char *format = str_setting("REGISTRY_LOG_FORMAT", "text");
    char *end;
    long port;
    size_t hostlen, i;

    memset(c, 0, sizeof(*c));
    for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        *(const char **)((char *)c + strings[i].at) = str_setting(strings[i].name, strings[i].def);
    }
    c->log_json = strcmp(format, "json") == 0;
    if (!c->log_json && strcmp(format, "text") != 0) {
        snprintf(err, errlen, "REGISTRY_LOG_FORMAT must be text or json (got '%.40s')", format);
        return -1;
    }
    c->access_ttl = 15 * 60;
    c->refresh_ttl = 30 * 24 * 3600;

    if (colon == NULL || colon == listen) {
        snprintf(err, errlen, "REGISTRY_LISTEN must be host:port (got '%.60s')", listen);
        return -1;
    }
    hostlen = (size_t)(colon - listen);
    port = strtol(colon + 1, &end, 10);
    if (hostlen >= sizeof(c->listen_host) || *end != '\0' || colon[1] == '\0' || port < 1
        || port > 65535) {
        snprintf(err, errlen, "REGISTRY_LISTEN must be host:port with a port 1-65535 (got '%.60s')",
                 listen);
        return -1;
    }
    memcpy(c->listen_host, listen, hostlen);
    c->listen_host[hostlen] = '\0';
    c->listen_port = (int)port;

    for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        const char *v = getenv(ints[i].name);
        long n = ints[i].def;

        if (v != NULL && *v != '\0') {
            errno = 0;
            n = strtol(v, &end, 10);
            if (errno != 0 || *end != '\0' || n < ints[i].min || n > ints[i].max) {
                snprintf(err, errlen, "%s must be a whole number from %d to %d (got '%.40s')",
                         ints[i].name, ints[i].min, ints[i].max, v);
                return -1;
            }
        }
        *(int *)((char *)c + ints[i].at) = (int)n;
    }
    return 0;
}
