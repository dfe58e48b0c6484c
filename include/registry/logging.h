/* logging.h: the lines the server writes to stderr, as plain text (the default) or as one JSON
 * object per line (REGISTRY_LOG_FORMAT=json). Neither ever carries a query string or what a
 * family searched for. */
#ifndef REGISTRY_LOGGING_H
#define REGISTRY_LOGGING_H

/* Chooses the format: 1 for JSON, 0 for text. Call once before threads start. */
void logging_init(int json);

/* One event line. Text: the message as formatted. JSON: {"ts", "level", "request_id" (when not
 * NULL), "msg"}. `level` is "info", "warn" or "error". Trailing newlines of the message are
 * dropped. */
void logging_event(const char *level, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes `text` as it is: a prompt to the person at a terminal (create-admin's "Password: "),
 * never a log line. */
void logging_prompt(const char *text);

struct req;

/* The access-log line of a finished request, the only writer of that log. JSON: {"ts",
 * "level":"info", "event":"access", "request_id", "method", "route" (the route's pattern, null
 * when none matched), "status", "duration_ms", "bytes"}. Text: "<time> <method> <path> <status>
 * <bytes> <duration>ms <request id>", the path with control characters and spaces replaced (one
 * request, one line). The query string is never written. */
void logging_request(const struct req *r);

#endif
