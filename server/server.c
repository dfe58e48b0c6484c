/* server.c: starting and stopping the HTTP server. */
#include "registry/server.h"

#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <civetweb.h>
#include <libpq-fe.h>

#include "registry/auth.h"
#include "registry/conns.h"
#include "registry/db.h"
#include "registry/enquiries.h"
#include "registry/keys.h"
#include "registry/logging.h"
#include "registry/metrics.h"
#include "registry/migrate.h"
#include "registry/password.h"
#include "registry/problem.h"
#include "registry/ratelimit.h"
#include "registry/resource.h"
#include "registry/router.h"
#include "registry/scheduler.h"
#include "registry/webhooks.h"

/* Our own auth runs in the router; registering a handler that allows everything also stops
 * CivetWeb looking for .htpasswd on every request (LIBRARIES.md 23). */
static int
allow_all(struct mg_connection *conn, void *cbdata)
{
    (void)conn;
    (void)cbdata;
    return 1;
}

static volatile int started; /* until set, start-up errors are reported by server_run alone */

static int
log_message(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    if (started) {
        logging_event("warn", NULL, "civetweb: %s", message);
    }
    return 1;
}

/* The statement names the background threads use (the jobs, the webhook worker, the token epochs,
 * readiness), checked at start-up against the tables: a misspelt one stops `serve` with one line
 * instead of failing, unseen by any request, in a thread's log. The resource descriptors' names
 * are checked by resource.c. */
static const char *const thread_stmt_names[] = {
    "sched_today",
    "sched_expiry_lock",
    "fac_apply_all_due",
    "wh_expiry_facilitators",
    "wh_expiry_licences",
    "tok_prune",
    "cli_prune_secrets",
    "wh_claim",
    "wh_record",
    "wh_outbox_depth",
    "auth_epochs_since",
    "health_migrations",
    NULL,
};

/* Refuses to serve a schema older than the binary. Returns 0, or -1 with the reason in `err`. */
static int
check_schema(const struct config *c, char *err, size_t errlen)
{
    PGconn *pg = db_connect(c->database_url, err, errlen);
    int pending = pg != NULL ? migrate_pending(pg, err, errlen) : -1;

    PQfinish(pg);
    if (pending > 0) {
        snprintf(err, errlen, "%d migration(s) pending; run `mpact-registry migrate` first",
                 pending);
    }
    return pending != 0 ? -1 : 0;
}

/* glibc gives threads up to eight malloc arenas per CPU, and memory freed in one arena serves
 * only that arena: with one worker thread per connection (64 and more) the freed memory of many
 * arenas adds up. One arena per CPU keeps the peak resident size about 7 MiB lower over the
 * benchmark's mix (bench/README.md) at no measurable cost in throughput. An operator's own
 * MALLOC_ARENA_MAX or GLIBC_TUNABLES wins. */
static void
limit_malloc_arenas(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (getenv("MALLOC_ARENA_MAX") == NULL && getenv("GLIBC_TUNABLES") == NULL) {
        mallopt(M_ARENA_MAX, cpus > 0 ? (int)cpus : 1);
    }
}

int
server_run(const struct config *c)
{
    char ports[96], threads[16], err[512] = "", errtext[256] = "";
    unsigned errcode = 0;
    struct mg_callbacks callbacks;
    struct mg_init_data init;
    struct mg_error_data error = {&errcode, errtext, sizeof(errtext)};
    struct mg_context *ctx = NULL;
    sigset_t stop;
    int sig, rc = 1, library = 0;
    /* clang-format off */
    const char *options[] = {
        "listening_ports", ports, "num_threads", threads, "enable_keep_alive", "yes",
        "tcp_nodelay", "1", "keep_alive_timeout_ms", "5000", "request_timeout_ms", "10000",
        "max_request_size", "16384", "access_control_allow_methods", "", NULL, NULL,
    };
    /* clang-format on */

    if (c->database_url == NULL) {
        logging_event("error", NULL, "mpact-registry: REGISTRY_DATABASE_URL is not set");
        return 1;
    }
    if (c->jwt_key_dir == NULL) {
        logging_event("error", NULL,
                      "mpact-registry: REGISTRY_JWT_KEY_DIR is not set (make a key with "
                      "`mpact-registry keygen DIR`)");
        return 1;
    }
    /* Block the stop and reload signals first, before any thread starts (the webhook worker,
     * CivetWeb's), so they all inherit the mask and only sigwait below receives them; a signal
     * that arrives during start-up waits for it instead of killing the process. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    limit_malloc_arenas();
    logging_init(c->log_json);
    db_set_query_timeout(c->db_query_timeout_ms);
    /* Each step that fails says why in `err` (or logs it itself, leaving `err` empty). */
    if (metrics_init(c, err, sizeof(err)) != 0 || keys_load(c->jwt_key_dir, err, sizeof(err)) != 0
        || check_schema(c, err, sizeof(err)) != 0
        || db_pool_init(c->database_url, c->db_pool, c->db_wait_ms, router_stmt_tables, err,
                        sizeof(err))
               != 0
        || db_stmts_check(thread_stmt_names) != 0 || router_stmts_check() != 0) {
        goto out;
    }
    if ((c->database_url_replica != NULL
         && db_replica_init(c->database_url_replica, c->replica_max_lag_ms, err, sizeof(err)) != 0)
        || auth_epochs_start() != 0) {
        goto out;
    }
    password_init(c->password_slots);
    ratelimit_init(c->public_rate);

    signal(SIGPIPE, SIG_IGN);
    if (webhooks_start(c) != 0 || scheduler_start(c) != 0 || enquiries_start(c) != 0) {
        goto out;
    }

    snprintf(ports, sizeof(ports), "%s:%d", c->listen_host, c->listen_port);
    snprintf(threads, sizeof(threads), "%d", c->threads);
    memset(&callbacks, 0, sizeof(callbacks));
    callbacks.log_message = log_message;
    /* The per-address cap and the header timeout (conns.c). */
    callbacks.begin_request = conns_begin_request;
    callbacks.connection_close = conns_connection_close;
    /* Debian's libcivetweb is built without MG_EXPERIMENTAL_INTERFACES. Defined here, it adds a
     * websocket_data member to struct mg_callbacks, and every callback after it lands one slot
     * off in the library (measured: http_error was then called as another callback, status 0). */
    _Static_assert(offsetof(struct mg_callbacks, http_error) == 12 * sizeof(void (*)(void)),
                   "struct mg_callbacks must have the library's layout: do not define "
                   "MG_EXPERIMENTAL_INTERFACES");
    callbacks.http_error = problem_http_error; /* CivetWeb's own errors as problem+json */
    init.callbacks = &callbacks;
    init.user_data = NULL;
    init.configuration_options = options;
    if (conns_start(c, err, sizeof(err)) != 0) {
        goto out;
    }
    mg_init_library(0);
    library = 1;
    ctx = mg_start2(&init, &error);
    if (ctx == NULL) {
        snprintf(err, sizeof(err), "cannot listen on %s: %s", ports,
                 errtext[0] != '\0' ? errtext : "unknown error");
        goto out;
    }
    started = 1;
    mg_set_request_handler(ctx, "/", router_handle, NULL);
    mg_set_auth_handler(ctx, "/", allow_all, NULL);
    logging_event("info", NULL, "mpact-registry %s listening on http://%s", REGISTRY_VERSION,
                  ports);

    for (;;) {
        if (sigwait(&stop, &sig) != 0) {
            continue;
        }
        if (sig != SIGHUP) {
            break;
        }
        /* SIGHUP: reload the signing keys. keys_load swaps the set in only when the whole folder
         * loads; otherwise the keys in use stay. */
        if (keys_load(c->jwt_key_dir, err, sizeof(err)) != 0) {
            logging_event("warn", NULL,
                          "mpact-registry: SIGHUP: keeping the current signing keys: %s", err);
        } else {
            logging_event("info", NULL,
                          "mpact-registry: SIGHUP: signing keys reloaded from %s; signing kid %s",
                          c->jwt_key_dir, keys_signing_kid());
        }
    }
    logging_event("info", NULL, "mpact-registry: signal %d, stopping", sig);
    /* CivetWeb writes nothing once mg_stop has begun, so let requests in flight answer first. */
    if (router_drain(30000) > 0) {
        logging_event("warn", NULL,
                      "mpact-registry: requests still in flight after 30 s; stopping anyway");
    }
    rc = 0;
out:
    if (rc != 0 && err[0] != '\0') {
        logging_event("error", NULL, "mpact-registry: %s", err);
    }
    conns_stop(); /* no header timeouts while CivetWeb closes what is left */
    if (ctx != NULL) {
        mg_stop(ctx); /* stops accepting, waits for requests in flight */
    }
    if (library) {
        mg_exit_library();
    }
    scheduler_stop(); /* joins the threads before their pool goes */
    enquiries_stop();
    webhooks_stop();
    auth_epochs_stop();
    db_pool_close();
    keys_unload();
    return rc;
}
