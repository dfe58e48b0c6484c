/* it_metrics.c: GET /metrics. The text format parses strictly, counters move with known requests
 * and are labelled by route pattern (never by the URL sent), and only an allowed direct peer or
 * the token holder gets an answer: everyone else, and anyone relayed by the proxy, gets the same
 * 404 as an unknown path. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itlib.h"

#define TOKEN "scrape-token-0123456789abcdef"

/* ---- A strict reader of the text exposition format 0.0.4 ---------------------------------- */

static int
name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':')) {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':')) {
            return 0;
        }
    }
    return 1;
}

static int
value_ok(const char *v)
{
    char *end;

    if (strcmp(v, "+Inf") == 0 || strcmp(v, "-Inf") == 0 || strcmp(v, "NaN") == 0) {
        return 1;
    }
    if (*v == '\0') {
        return 0;
    }
    (void)strtod(v, &end);
    return *end == '\0';
}

/* Checks one sample line: name, optional {k="v",...}, one space, a value, nothing else. Sets
 * *family to the metric name without a histogram suffix. Returns 1 when well formed. */
static int
sample_ok(const char *line, char *family, size_t famlen)
{
    const char *p = line;
    size_t n = strcspn(p, "{ ");

    if (!name_ok(p, n) || n >= famlen) {
        return 0;
    }
    memcpy(family, p, n);
    family[n] = '\0';
    p += n;
    if (*p == '{') {
        p++;
        for (;;) {
            size_t k = strcspn(p, "=");
            if (!name_ok(p, k) || p[k] != '=' || p[k + 1] != '"') {
                return 0;
            }
            p += k + 2;
            while (*p != '"') {
                if (*p == '\0' || *p == '\n') {
                    return 0;
                }
                if (*p == '\\') {
                    if (p[1] != '\\' && p[1] != '"' && p[1] != 'n') {
                        return 0;
                    }
                    p++;
                }
                p++;
            }
            p++;
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p == '}') {
                p++;
                break;
            }
            return 0;
        }
    }
    if (*p != ' ') {
        return 0;
    }
    return value_ok(p + 1);
}

/* Fails the test unless every line of `text` is a HELP, a TYPE or a sample of a family whose TYPE
 * came first. Returns the number of samples. */
static int
parse_strict(const char *text)
{
    char *copy = strdup(text), *save = NULL, *line;
    char typed[8192] = " ";
    int samples = 0;

    assert_non_null(copy);
    assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
    for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char family[128], key[140];
        if (strncmp(line, "# HELP ", 7) == 0) {
            assert_true(name_ok(line + 7, strcspn(line + 7, " ")));
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char name[128], type[32];
            assert_int_equal(sscanf(line + 7, "%127s %31s", name, type), 2);
            assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0
                        || strcmp(type, "histogram") == 0);
            snprintf(key, sizeof(key), " %s ", name);
            assert_null(strstr(typed, key)); /* one TYPE per family */
            strncat(typed, name, sizeof(typed) - strlen(typed) - 2);
            strcat(typed, " ");
            continue;
        }
        if (!sample_ok(line, family, sizeof(family))) {
            fail_msg("not a comment or a sample: '%s'", line);
        }
        /* A histogram's samples are <family>_bucket, _sum, _count. */
        snprintf(key, sizeof(key), " %s ", family);
        if (strstr(typed, key) == NULL) {
            size_t n = strlen(family);
            const char *sfx[] = {"_bucket", "_sum", "_count"};
            int i, found = 0;
            for (i = 0; i < 3 && !found; i++) {
                size_t m = strlen(sfx[i]);
                if (n > m && strcmp(family + n - m, sfx[i]) == 0) {
                    snprintf(key, sizeof(key), " %.*s ", (int)(n - m), family);
                    found = strstr(typed, key) != NULL;
                }
            }
            if (!found) {
                fail_msg("sample before its TYPE: '%s'", line);
            }
        }
        samples++;
    }
    free(copy);
    return samples;
}

/* The value of the sample whose name and labels are exactly `series`, or -1 when absent. */
static double
sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *p = text;

    while ((p = strstr(p, series)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ') {
            return strtod(p + n + 1, NULL);
        }
        p += n;
    }
    return -1;
}

/* GET /metrics with optional headers; returns the response (caller frees). */
static void
scrape(struct it_server *s, const char *const *headers, struct it_resp *r)
{
    it_request(s, "GET", "/metrics", NULL, headers, NULL, r);
}

/* A scrape whose answer is checked by its status alone (it_assert_answer). */
static void
scrape_expect(struct it_server *s, const char *const *headers, long status)
{
    struct it_resp r;

    scrape(s, headers, &r);
    it_assert_answer(&r, status);
    it_resp_free(&r);
}

static char *
scrape_ok(struct it_server *s)
{
    struct it_resp r;
    char *text;

    scrape(s, NULL, &r);
    it_assert_status(&r, 200);
    it_assert_header(&r, "Content-Type", "text/plain; version=0.0.4");
    text = strdup(r.body);
    it_resp_free(&r);
    assert_non_null(text);
    parse_strict(text);
    return text;
}

/* Writes `content` to a new temporary file; returns its malloc'd path. */
static char *
temp_file(const char *content)
{
    char *path = it_fmt("/tmp/it_metrics_token.XXXXXX");
    int fd = mkstemp(path);
    FILE *f;

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    return path;
}

static void
get_status(struct it_server *s, const char *path, long want)
{
    struct it_resp r;

    it_get(s, path, NULL, &r);
    it_assert_status(&r, want);
    it_resp_free(&r);
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void
test_counts_move_by_route_pattern(void **state)
{
    struct it_server *s = it_start("metrics");
    const char *fac404 =
        "mpact_http_requests_total{method=\"GET\",route=\"/v1/public/facilitators/{}\","
        "status=\"404\"}";
    const char *fac_count = "mpact_http_request_duration_seconds_count{method=\"GET\","
                            "route=\"/v1/public/facilitators/{}\"}";
    const char *fac_inf = "mpact_http_request_duration_seconds_bucket{method=\"GET\","
                          "route=\"/v1/public/facilitators/{}\",le=\"+Inf\"}";
    const char *unmatched =
        "mpact_http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"}";
    const char *invalid = "mpact_token_verifications_total{result=\"invalid\"}";
    char *before, *after;
    double b404, bunm, binv, bcount, bhit, bmiss;
    char *admin;
    struct it_resp r;
    int i;

    (void)state;
    before = scrape_ok(s);
    assert_true(sample(before, "mpact_build_info{version=\"" REGISTRY_VERSION "\"}") == 1);
    assert_true(sample(before, "mpact_process_start_time_seconds") > 1.6e9);
    assert_true(sample(before, "mpact_db_pool_connections{pool=\"primary\",state=\"in_use\"}")
                >= 0);
    assert_true(sample(before, "mpact_db_pool_connections{pool=\"primary\",state=\"idle\"}") >= 1);
    assert_true(sample(before, "mpact_db_pool_waiting{pool=\"primary\"}") == 0);
    assert_true(sample(before, "mpact_ratelimit_refused_total") == 0);
    assert_true(sample(before, "mpact_webhook_deliveries_total{outcome=\"dead\"}") == 0);
    /* No replica configured: no replica series. */
    it_assert_absent(before, "pool=\"replica\"", "mpact_db_replica_up", NULL);
    b404 = sample(before, fac404);
    bunm = sample(before, unmatched);
    binv = sample(before, invalid);
    bcount = sample(before, fac_count);

    for (i = 0; i < 3; i++) {
        get_status(s, "/v1/public/facilitators/MPF-999991", 404);
    }
    get_status(s, "/no-such-path-4417", 404);
    it_get(s, "/v1/public/providers?postcode=ME4%204AB&radius_km=25", NULL, &r);
    assert_true(r.status == 200 || r.status == 404 || r.status == 422);
    it_resp_free(&r);
    it_get(s, "/v1/organisations", "not-a-token", &r);
    it_assert_status(&r, 401);
    it_resp_free(&r);
    /* One token used three times: its signature is checked once, then remembered. */
    assert_int_equal(it_create_admin(s, "metrics-admin@example.org", "metrics-password-1"), 0);
    admin = it_login(s, "metrics-admin@example.org", "metrics-password-1");
    bhit = sample(before, "mpact_token_signature_cache_total{result=\"hit\"}");
    bmiss = sample(before, "mpact_token_signature_cache_total{result=\"miss\"}");
    for (i = 0; i < 3; i++) {
        it_expect(s, "GET", "/v1/organisations", admin, NULL, 200);
    }

    after = scrape_ok(s);
    assert_true(sample(after, "mpact_token_signature_cache_total{result=\"miss\"}") == bmiss + 1);
    assert_true(sample(after, "mpact_token_signature_cache_total{result=\"hit\"}") == bhit + 2);
    assert_true(sample(after, fac404) == (b404 < 0 ? 0 : b404) + 3);
    assert_true(sample(after, fac_count) == (bcount < 0 ? 0 : bcount) + 3);
    assert_true(sample(after, fac_inf) == sample(after, fac_count));
    assert_true(sample(after, unmatched) == (bunm < 0 ? 0 : bunm) + 1);
    assert_true(sample(after, invalid) == binv + 1);
    assert_true(sample(after, "mpact_db_queries_total{pool=\"primary\"}")
                > sample(before, "mpact_db_queries_total{pool=\"primary\"}"));
    /* The scrape before counted itself. */
    assert_true(sample(after, "mpact_http_requests_total{method=\"GET\",route=\"/metrics\","
                              "status=\"200\"}")
                >= 1);
    /* Labels are patterns: nothing a client sent appears. */
    it_assert_absent(after, "MPF-999991", "ME4", "postcode", "no-such-path", NULL);
    free(before);
    free(after);
    free(admin);
    it_stop(s);
}

static void
test_refused_without_address_or_token(void **state)
{
    char *token_file = temp_file(TOKEN "\n");
    char *env_file = it_fmt("REGISTRY_METRICS_TOKEN_FILE=%s", token_file);
    const char *env[] = {"REGISTRY_METRICS_ALLOW=192.0.2.10", env_file, NULL};
    const char *right[] = {"Authorization: Bearer " TOKEN, NULL};
    const char *wrong[] = {"Authorization: Bearer " TOKEN "x", NULL};
    const char *prefix[] = {"Authorization: Bearer scrape-token", NULL};
    const char *basic[] = {"Authorization: Basic " TOKEN, NULL};
    struct it_server *s = it_start_env("metrics_refused", env);
    struct it_resp r, unknown;

    (void)state;
    /* 127.0.0.1 is not in the list: the answer is the unknown path's, word for word. */
    it_get(s, "/metrics-not-here", NULL, &unknown);
    it_assert_problem(&unknown, 404);
    scrape(s, NULL, &r);
    it_assert_problem(&r, 404);
    it_assert_strs(&r, IT_ROW("title", it_json_str(&unknown, "title"), "detail",
                              it_json_str(&unknown, "detail")));
    assert_null(strstr(r.body, "mpact_"));
    it_resp_free(&r);
    it_resp_free(&unknown);

    scrape_expect(s, wrong, 404);
    scrape_expect(s, prefix, 404);
    scrape_expect(s, basic, 404);

    scrape(s, right, &r);
    it_assert_status(&r, 200);
    parse_strict(r.body);
    it_assert_contains(r.body, "mpact_build_info");
    it_resp_free(&r);

    it_stop(s);
    unlink(token_file);
    free(token_file);
    free(env_file);
}

static void
test_relayed_by_the_proxy_needs_the_token(void **state)
{
    char *token_file = temp_file(TOKEN);
    char *env_file = it_fmt("REGISTRY_METRICS_TOKEN_FILE=%s", token_file);
    const char *env[] = {"REGISTRY_TRUSTED_PROXY=127.0.0.1", env_file, NULL};
    const char *relayed[] = {"X-Forwarded-For: 127.0.0.1", NULL};
    const char *relayed_token[] = {"X-Forwarded-For: 198.51.100.4", "Authorization: Bearer " TOKEN,
                                   NULL};
    struct it_server *s = it_start_env("metrics_proxy", env);

    (void)state;
    /* A direct connection from 127.0.0.1 (the default list) is let in. */
    scrape_expect(s, NULL, 200);
    /* The same peer relaying a request is the proxy: whoever is behind it (whatever the header
     * says) is not on the list. */
    scrape_expect(s, relayed, 404);
    scrape_expect(s, relayed_token, 200);
    it_stop(s);
    unlink(token_file);
    free(token_file);
    free(env_file);
}

static void
test_bad_settings_stop_the_start(void **state)
{
    char *short_file = temp_file("short\n");
    char *env_short = it_fmt("REGISTRY_METRICS_TOKEN_FILE=%s", short_file);
    const char *args[] = {"serve", NULL};
    const char *missing[] = {"REGISTRY_METRICS_TOKEN_FILE=/nonexistent/metrics-token", NULL};
    const char *too_short[] = {env_short, NULL};
    const char *bad_allow[] = {"REGISTRY_METRICS_ALLOW=localhost", NULL};
    const char *bad_format[] = {"REGISTRY_LOG_FORMAT=xml", NULL};
    struct it_server *s = it_prepare("metrics_settings", NULL);
    char *out = NULL;

    (void)state;
    assert_int_equal(it_exec(s, IT_WRAP, args, missing, NULL, 30, &out), 1);
    it_assert_contains(out, "REGISTRY_METRICS_TOKEN_FILE");
    free(out);
    assert_int_equal(it_exec(s, IT_WRAP, args, too_short, NULL, 30, &out), 1);
    it_assert_contains(out, "REGISTRY_METRICS_TOKEN_FILE");
    assert_null(strstr(out, "short\n")); /* the token is never echoed */
    free(out);
    assert_int_equal(it_exec(s, IT_WRAP, args, bad_allow, NULL, 30, &out), 1);
    it_assert_contains(out, "REGISTRY_METRICS_ALLOW");
    free(out);
    assert_int_equal(it_exec(s, IT_WRAP, args, bad_format, NULL, 30, &out), 1);
    it_assert_contains(out, "REGISTRY_LOG_FORMAT");
    free(out);
    it_stop(s);
    unlink(short_file);
    free(short_file);
    free(env_short);
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_counts_move_by_route_pattern),
          cmocka_unit_test(test_refused_without_address_or_token),
          cmocka_unit_test(test_relayed_by_the_proxy_needs_the_token),
          cmocka_unit_test(test_bad_settings_stop_the_start))
