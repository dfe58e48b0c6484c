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

#include "registry/http.h"

static atomic_int json_format;

void
logging_init(int json)
{
    atomic_store(&json_format, json != 0);
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
    /* ENSURE_ASCII: a hostile method or message cannot put raw control bytes in the log. */
    char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9)), *full;
    size_t n = line != NULL ? strlen(line) : 0;

    json_decref(o);
    if (line != NULL && (full = realloc(line, n + 2)) != NULL) {
        memcpy(full + n, "\n", 2);
        line = full;
        fputs(line, stderr);
    }
    free(line);
}

/* The start of a JSON line: {"ts", "level"}. Returns a new reference. */
static json_t *
line_new(const char *level)
{
    char ts[40];

    timestamp(ts, sizeof(ts));
    return json_pack("{ssss}", "ts", ts, "level", level);
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
    char msg[1024];
    va_list ap;
    size_t n;
    json_t *o;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
    va_end(ap);
    for (n = strlen(msg); n > 0 && msg[n - 1] == '\n'; n--) {
        msg[n - 1] = '\0'; /* libpq's messages end in a newline; the line gets one below */
    }
    if (!atomic_load(&json_format)) {
        msg[n] = '\n';
        msg[n + 1] = '\0';
        fputs(msg, stderr);
        return;
    }
    o = line_new(level);
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
logging_request(const struct req *r)
{
    /* The time stamp changes once a second: each worker thread formats it once a second. */
    static _Thread_local time_t when_t = (time_t)-1;
    static _Thread_local char when[32];
    char clean[256], line[1024];
    struct timespec now;
    double ms;
    time_t t;
    size_t i;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (double)(now.tv_sec - r->started.tv_sec) * 1e3
         + (double)(now.tv_nsec - r->started.tv_nsec) / 1e6;
    if (atomic_load(&json_format)) {
        json_t *o = line_new("info");

        json_object_set_new(o, "event", json_string("access"));
        json_object_set_new(o, "request_id", safe_string(r->request_id));
        json_object_set_new(o, "method", safe_string(r->method));
        json_object_set_new(o, "route", r->route != NULL ? json_string(r->route) : json_null());
        json_object_set_new(o, "status", json_integer(r->status));
        json_object_set_new(o, "duration_ms", json_real((double)(long long)(ms * 1000) / 1000));
        json_object_set_new(o, "bytes", json_integer(r->bytes));
        write_json(o);
        return;
    }
    t = time(NULL);
    if (t != when_t) {
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        when_t = t;
    }
    snprintf(clean, sizeof(clean), "%s", r->path != NULL ? r->path : "-");
    for (i = 0; clean[i] != '\0'; i++) {
        if ((unsigned char)clean[i] < 0x21 || clean[i] == 0x7f) {
            clean[i] = '?';
        }
    }
    snprintf(line, sizeof(line), "%s %s %s %d %lld %.1fms %s\n", when, r->method, clean, r->status,
             r->bytes, ms, r->request_id);
    fputs(line, stderr);
}
