/* it_logjson.c: REGISTRY_LOG_FORMAT=json makes every line the server writes one JSON object
 * through start-up, a bad request, a webhook delivery that fails, SIGHUP and the stop, the access
 * log included; access lines carry the route's pattern and never the path or query sent, and what
 * a family searched for (a postcode) appears in no line. The text access log (the default) keeps
 * query strings out too. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "itlib.h"

#define POSTCODE_Q "postcode=ME4%204AB&radius_km=25"

/* Requests whose traces the log must not keep: a postcode search (two ways) and a lookup by a
 * value in the path. */
static void
make_requests(struct it_server *s)
{
    const char *rid[] = {"X-Request-Id: logtest-rid-1", NULL};
    struct it_resp r;

    it_get(s, "/v1/public/providers?" POSTCODE_Q, NULL, &r);
    assert_true(r.status > 0);
    it_resp_free(&r);
    it_get(s, "/openreferral/service_at_locations?postcode=ME4%204AB&proximity=5000", NULL, &r);
    assert_true(r.status > 0);
    it_resp_free(&r);
    it_request(s, "GET", "/v1/public/facilitators/MPF-424242", NULL, rid, NULL, &r);
    it_assert_status(&r, 404);
    it_resp_free(&r);
    it_expect(s, "GET", "/healthz", NULL, NULL, 200);
    it_get(s, "/no/such/route?postcode=ME4", NULL, &r);
    it_assert_status(&r, 404);
    it_resp_free(&r);
}

/* What else writes lines: a bad request (a body that is not JSON), a webhook delivery that fails
 * (nothing listens on port 1) and SIGHUP. */
static void
make_trouble(struct it_server *s)
{
    const char *ct[] = {"Content-Type: application/json", NULL};
    struct it_resp r;

    it_request(s, "POST", "/v1/auth/token", NULL, ct, "{not json", &r);
    it_assert_status(&r, 400);
    it_resp_free(&r);
    PQclear(it_sql(s,
                   "WITH o AS (INSERT INTO organisation (name, kind, address_lines, town, postcode)"
                   " VALUES ('Log Org', 'other', '[\"x\"]', 'y', 'ME4 4AB') RETURNING id),"
                   " w AS (INSERT INTO webhook_subscription (organisation_id, url, events, secret)"
                   " SELECT id, 'http://127.0.0.1:1/hook', '{licence.expiring}', 'whsec_x' FROM o"
                   " RETURNING id)"
                   " INSERT INTO webhook_outbox (subscription_id, event, body)"
                   " SELECT id, 'licence.expiring', '{}' FROM w"));
    assert_true(it_log_wait(s, "attempt 1 to subscription", 15000));
    assert_int_equal(kill(s->pid, SIGHUP), 0);
    assert_true(it_log_wait(s, "SIGHUP", 15000));
}

/* Stops the server with SIGTERM and returns its whole log (malloc'd), then cleans up. */
static char *
stop_and_read_log(struct it_server *s)
{
    int status = it_kill(s, SIGTERM);
    char *log;

    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    log = it_log(s);
    assert_non_null(log);
    it_stop(s);
    return log;
}

static void
assert_no_search(const char *log)
{
    if (strstr(log, "ME4") != NULL || strstr(log, "me4") != NULL || strstr(log, "postcode") != NULL
        || strstr(log, "4AB") != NULL || strstr(log, "radius_km") != NULL) {
        fprintf(stderr, "---- log ----\n%s---- end ----\n", log);
        fail_msg("the log holds what was searched for");
    }
}

static void
test_json_lines(void **state)
{
    const char *env[] = {"REGISTRY_LOG_FORMAT=json", "REGISTRY_WEBHOOK_ALLOW_HOSTS=127.0.0.1:1",
                         "REGISTRY_WEBHOOK_POLL_MS=100", NULL};
    struct it_server *s = it_start_env("logjson", env);
    char *log, *save = NULL, *line;
    int access = 0, events = 0, saw_route = 0, saw_unmatched = 0, saw_rid = 0, saw_listen = 0,
        saw_stop = 0, saw_webhook = 0, saw_sighup = 0;

    (void)state;
    make_requests(s);
    make_trouble(s);
    log = stop_and_read_log(s);
    assert_no_search(log);
    assert_null(strstr(log, "MPF-424242")); /* the route's pattern, not the path sent */
    for (line = strtok_r(log, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        json_error_t err;
        json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &err);
        const char *level;

        if (strncmp(line, "==== itlib:", 11) == 0) {
            json_decref(o); /* the harness's own marker, written before the server starts */
            continue;
        }
        if (!json_is_object(o)) {
            fail_msg("not a JSON object: '%s' (%s)", line, err.text);
        }
        assert_non_null(it_jstr(o, "ts"));
        assert_int_equal(strlen(it_jstr(o, "ts")), 24); /* 2025-01-31T12:00:00.123Z */
        assert_int_equal(it_jstr(o, "ts")[23], 'Z');
        level = it_jstr(o, "level");
        assert_non_null(level);
        assert_true(strcmp(level, "info") == 0 || strcmp(level, "warn") == 0
                    || strcmp(level, "error") == 0);
        if (it_jstr(o, "event") != NULL && strcmp(it_jstr(o, "event"), "access") == 0) {
            json_t *route = json_object_get(o, "route");
            access++;
            assert_non_null(it_jstr(o, "request_id"));
            assert_non_null(it_jstr(o, "method"));
            assert_true(json_is_integer(json_object_get(o, "status")));
            assert_true(json_is_number(json_object_get(o, "duration_ms")));
            assert_true(json_number_value(json_object_get(o, "duration_ms")) >= 0);
            assert_true(json_is_integer(json_object_get(o, "bytes")));
            assert_null(json_object_get(o, "path"));
            assert_null(json_object_get(o, "query"));
            if (json_is_string(route)
                && strcmp(json_string_value(route), "/v1/public/facilitators/{}") == 0) {
                saw_route = 1;
                assert_int_equal(json_integer_value(json_object_get(o, "status")), 404);
                assert_string_equal(it_jstr(o, "request_id"), "logtest-rid-1");
                saw_rid = 1;
            }
            if (json_is_null(route)) {
                saw_unmatched = 1;
                assert_int_equal(json_integer_value(json_object_get(o, "status")), 404);
            }
        } else {
            const char *msg = it_jstr(o, "msg");
            events++;
            assert_non_null(msg);
            saw_listen |= strstr(msg, "listening on") != NULL;
            saw_stop |= strstr(msg, "stopping") != NULL;
            saw_webhook |= strstr(msg, "attempt 1 to subscription") != NULL;
            saw_sighup |= strstr(msg, "SIGHUP: signing keys reloaded") != NULL;
        }
        json_decref(o);
    }
    assert_true(access >= 5);
    assert_true(events >= 2);
    assert_true(saw_route && saw_unmatched && saw_rid && saw_listen && saw_stop);
    assert_true(saw_webhook && saw_sighup);
    free(log);
}

static void
test_text_access_log_has_no_query(void **state)
{
    const char *env[] = {"REGISTRY_LOG_FORMAT=text", NULL};
    struct it_server *s = it_start_env("logtext", env);
    char *log;

    (void)state;
    make_requests(s);
    log = stop_and_read_log(s);
    assert_no_search(log);
    assert_null(strstr(log, "?"));
    /* One line per request, path without its query. */
    assert_non_null(strstr(log, " GET /v1/public/providers "));
    assert_non_null(strstr(log, " GET /no/such/route 404 "));
    free(log);
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_json_lines),
          cmocka_unit_test(test_text_access_log_has_no_query))
