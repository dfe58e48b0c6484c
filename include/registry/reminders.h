/* reminders.h: e-mail reminders to organisations and the licensing body (reminders.c): a licence
 * ending, an accreditation ending, a run at risk, a training place confirmed or withdrawn. Queued
 * once each in reminder_outbox (migration 0036) by the daily job (scheduler.c) or the enrolment
 * trigger, sent by one worker through mail.c from templates in REGISTRY_STATIC_DIR/mail/. */
#ifndef REGISTRY_REMINDERS_H
#define REGISTRY_REMINDERS_H

#include <stddef.h>

#include <jansson.h>

#include "registry/config.h"
#include "registry/db.h"
#include "registry/html.h"

extern const struct db_stmt reminders_stmts[];

/* Renders the template `tpl`: each {{name}} becomes the string (or integer) member `name` of
 * `data`, HTML-escaped when `html` is 1, as it is otherwise; everything else is copied. Returns 0,
 * or -1 with one line in `err` (an unknown placeholder, a {{ without }}) and `out` unspecified. */
int reminders_render(
    const char *tpl, json_t *data, int html, struct html *out, char *err, size_t errlen);

/* Reads every event's templates (<event>.txt, whose first line is "Subject: ...", and
 * <event>.html) from `dir` and checks their placeholders. Returns 0, or -1 with one line in
 * `err` naming the file. */
int reminders_templates_load(const char *dir, char *err, size_t errlen);
void reminders_templates_free(void);

/* Queues, on `c` in one transaction, the reminders due on `day` (YYYY-MM-DD): licences ending in
 * 90, 30 or 7 days, accreditations ending in 60 or 14 days, runs at risk. A reminder missed (the
 * job did not run that day) is queued on a later day at the nearest threshold not passed; none is
 * queued twice. Returns how many rows it queued, or -1 (logged). */
long reminders_enqueue_due(struct db_conn *c, const char *day);

/* Wakes the worker (after the daily job queued some). */
void reminders_kick(void);

/* Loads the templates, sets the relay up (mail.c) and starts the worker. Returns 0, or -1 after
 * logging one line (a missing template: `serve` stops). */
int reminders_start(const struct config *c);

/* Stops the worker; safe when it never started. */
void reminders_stop(void);

/* `mpact-registry send-reminders [--today YYYY-MM-DD]`: queues the reminders due on that day (by
 * default registry_today()) and sends what is due once. Returns the exit status. */
int reminders_command(const struct config *c, int argc, char **argv);

#endif
