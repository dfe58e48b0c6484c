/* config.h: settings read from the environment, once, at start-up. */
#ifndef REGISTRY_CONFIG_H
#define REGISTRY_CONFIG_H

#include <stddef.h>

struct config {
    const char *database_url; /* REGISTRY_DATABASE_URL: libpq URI or keyword string */
    char listen_host[64];     /* from REGISTRY_LISTEN, host part */
    int listen_port;          /* from REGISTRY_LISTEN, port part */
    int threads;              /* REGISTRY_THREADS: HTTP worker threads (open connections) */
    int conns_per_address;    /* REGISTRY_CONNS_PER_ADDRESS: open sockets one address may hold */
    int header_timeout_ms;    /* REGISTRY_HEADER_TIMEOUT_MS: time to send a request head */
    int db_pool;              /* REGISTRY_DB_POOL: database connections */
    int db_wait_ms;           /* REGISTRY_DB_WAIT_MS: how long a request waits for one */
    int db_query_timeout_ms;  /* REGISTRY_DB_QUERY_TIMEOUT_MS: its database work, once held */
    const char *jwt_key_dir;  /* REGISTRY_JWT_KEY_DIR: folder of EC P-256 private keys (PEM) */
    const char *issuer;       /* REGISTRY_ISSUER: the `iss` of our tokens */
    const char *audience;     /* REGISTRY_AUDIENCE: the `aud` of our tokens */
    int access_ttl;           /* seconds an access token lives (900) */
    int refresh_ttl;          /* seconds a refresh token lives (30 days) */
    int password_slots;       /* REGISTRY_PASSWORD_SLOTS: concurrent password hashes */
    const char *static_dir;   /* REGISTRY_STATIC_DIR: served files (problem pages) */
    int public_rate; /* REGISTRY_PUBLIC_RATE_LIMIT: open-route requests a minute per client */
    int public_figures_cache_s; /* REGISTRY_PUBLIC_FIGURES_CACHE_S: /impact's figures kept (60) */
    const char
        *trusted_proxy; /* REGISTRY_TRUSTED_PROXY: the one address whose X-Forwarded-For counts */
    /* Webhooks (webhooks.c). */
    const char *webhook_allow_hosts; /* REGISTRY_WEBHOOK_ALLOW_HOSTS: host:port list let through */
    const char *webhook_ca_file;     /* REGISTRY_WEBHOOK_CA_FILE: PEM CAs for https targets */
    int webhook_retry_base_ms;       /* REGISTRY_WEBHOOK_RETRY_BASE_MS: first retry delay (5000) */
    int webhook_retries;             /* REGISTRY_WEBHOOK_RETRIES: retries before dead (6) */
    int webhook_poll_ms;             /* REGISTRY_WEBHOOK_POLL_MS: outbox poll interval (1000) */
    int webhook_expiry_every_s;      /* REGISTRY_WEBHOOK_EXPIRY_EVERY_S: extra job runs; 0 daily */
    /* Operations (metrics.c, logging.c, db.c's replica, the pruning job). */
    int log_json;                     /* REGISTRY_LOG_FORMAT: 0 text, 1 json */
    const char *metrics_allow;        /* REGISTRY_METRICS_ALLOW: IPv4 peers that may scrape */
    const char *metrics_token_file;   /* REGISTRY_METRICS_TOKEN_FILE: bearer token for /metrics */
    const char *database_url_replica; /* REGISTRY_DATABASE_URL_REPLICA: streaming replica */
    int replica_max_lag_ms;           /* REGISTRY_REPLICA_MAX_LAG_MS: beyond it, read the primary */
    int token_retention_days;         /* REGISTRY_TOKEN_RETENTION_DAYS: keep dead tokens (30) */
    int backdate_max_days; /* REGISTRY_BACKDATE_MAX_DAYS: oldest effective_on, in days (365) */
    /* Enquiries (enquiries.c, mail.c, seal.c). */
    int enquiries;                /* REGISTRY_ENQUIRIES: 1 relays enquiries (default 0) */
    const char *enquiry_key_file; /* REGISTRY_ENQUIRY_KEY_FILE: the AES-256-GCM key */
    int enquiry_rate_per_hour;    /* REGISTRY_ENQUIRY_RATE_LIMIT: a client's an hour (5) */
    int enquiry_retry_base_ms;    /* REGISTRY_ENQUIRY_RETRY_BASE_MS: first retry delay */
    int enquiry_poll_ms;          /* REGISTRY_ENQUIRY_POLL_MS: outbox poll interval (1000) */
    int enquiry_connections;      /* REGISTRY_ENQUIRY_CONNECTIONS: sending at once (8) */
    const char *smtp_url;         /* REGISTRY_SMTP_URL: smtp:// or smtps:// relay */
    const char *smtp_credentials; /* REGISTRY_SMTP_CREDENTIALS_FILE: "user:password" */
    const char *smtp_from;        /* REGISTRY_SMTP_FROM: the sender address */
    /* Reminders (reminders.c). */
    const char *licensing_body_email; /* REGISTRY_LICENSING_BODY_EMAIL: its copy of each one */
    int reminder_retry_base_ms;       /* REGISTRY_REMINDER_RETRY_BASE_MS: first retry delay */
    int reminder_poll_ms;             /* REGISTRY_REMINDER_POLL_MS: outbox poll interval (1000) */
};

/* Fills `c` from the environment. Returns 0, or -1 with one line in `err`. */
int config_load(struct config *c, char *err, size_t errlen);

/* The configuration the server runs with; set once by main before any thread starts. */
extern struct config config;

/* The help text listing every subcommand and setting. */
extern const char config_help[];

#endif
