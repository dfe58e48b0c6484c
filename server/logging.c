/* logging.c: stderr lines as text or JSON (REGISTRY_LOG_FORMAT). Each line is written with one
 * fputs on the unbuffered stderr, so lines of concurrent requests do not interleave. */
#include "registry/logging.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

static atomic_int json_format;

void
logging_init(int json)
{
    atomic_store(&json_format, json != 0);
}

int
logging_json(void)
{
    return atomic_load(&json_format);
}

/* "2025-01-31T12:00:00.123Z" into buf (at least 32 bytes). */
static void
timestamp(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    char sec[24];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03ldZ", sec, ts.tv_nsec / 1000000L);
}

/* Writes `o` (taken) as one line. */
static void
write_json(json_t *o)
{
    char *line;

    if (o == NULL) {
        return;
    }
    /* ENSURE_ASCII: a hostile method or message cannot put raw control bytes in the log. */
    line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9));
    json_decref(o);
    if (line == NULL) {
        return;
    }
    {
        size_t n = strlen(line);
        char *full = malloc(n + 2);
        if (full != NULL) {
            memcpy(full, line, n);
            full[n] = '\n';
            full[n + 1] = '\0';
            fputs(full, stderr);
            free(full);
        }
    }
    free(line);
}

/* A JSON string of `s`, or of its bytes made safe when it is not valid UTF-8. */
static json_t *
safe_string(const char *s)
{
    json_t *v = json_string(s != NULL ? s : "");
    char *copy;
    size_t i;

    if (v != NULL) {
        return v;
    }
    copy = strdup(s);
    if (copy == NULL) {
        return json_string("?");
    }
    for (i = 0; copy[i] != '\0'; i++) {
        if ((unsigned char)copy[i] >= 0x80) {
            copy[i] = '?';
        }
    }
    v = json_string(copy);
    free(copy);
    return v;
}

void
logging_event(const char *level, const char *request_id, const char *fmt, ...)
{
    char msg[1024], ts[40];
    va_list ap;
    size_t n;
    json_t *o;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
    va_end(ap);
    for (n = strlen(msg); n > 0 && msg[n - 1] == '\n'; n--) {
        msg[n - 1] = '\0'; /* libpq's messages end in a newline; the line gets one below */
    }
    if (!logging_json()) {
        msg[n] = '\n';
        msg[n + 1] = '\0';
        fputs(msg, stderr);
        return;
    }
    timestamp(ts, sizeof(ts));
    o = json_object();
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(level));
    if (request_id != NULL) {
        json_object_set_new(o, "request_id", safe_string(request_id));
    }
    json_object_set_new(o, "msg", safe_string(msg));
    write_json(o);
}

void
logging_prompt(const char *text)
{
    fputs(text, stderr);
}

void
logging_access(const char *request_id,
               const char *method,
               const char *route,
               int status,
               double duration_ms,
               long long bytes)
{
    char ts[40];
    json_t *o = json_object();

    timestamp(ts, sizeof(ts));
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string("info"));
    json_object_set_new(o, "event", json_string("access"));
    json_object_set_new(o, "request_id", safe_string(request_id));
    json_object_set_new(o, "method", safe_string(method));
    json_object_set_new(o, "route", route != NULL ? json_string(route) : json_null());
    json_object_set_new(o, "status", json_integer(status));
    json_object_set_new(o, "duration_ms",
                        json_real((double)(long long)(duration_ms * 1000) / 1000));
    json_object_set_new(o, "bytes", json_integer(bytes));
    write_json(o);
}

void
logging_request(const char *request_id,
                const char *method,
                const char *path,
                const char *route,
                int status,
                double duration_ms,
                long long bytes)
{
    /* The time stamp changes once a second: each worker thread formats it once a second. */
    static _Thread_local time_t when_t = (time_t)-1;
    static _Thread_local char when[32];
    char clean[256], line[1024];
    time_t t;
    size_t i;

    if (logging_json()) {
        logging_access(request_id, method, route, status, duration_ms, bytes);
        return;
    }
    t = time(NULL);
    if (t != when_t) {
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        when_t = t;
    }
    snprintf(clean, sizeof(clean), "%s", path != NULL ? path : "-");
    for (i = 0; clean[i] != '\0'; i++) {
        if ((unsigned char)clean[i] < 0x21 || clean[i] == 0x7f) {
            clean[i] = '?';
        }
    }
    snprintf(line, sizeof(line), "%s %s %s %d %lld %.1fms %s\n", when, method, clean, status, bytes,
             duration_ms, request_id);
    fputs(line, stderr);
}
