/* mail.h: sending e-mail (plain text, or plain text and HTML), one message a call, through the SMTP
 * relay of REGISTRY_SMTP_URL, with libcurl. STARTTLS is required (the message is not sent without
 * it) unless the relay is on loopback; smtps:// is TLS from the start. Credentials come from the
 * file named by REGISTRY_SMTP_CREDENTIALS_FILE ("user:password" on its first line). Used for
 * enquiries now and meant for any later mail (reminders): mail_send knows nothing of what it
 * carries. */
#ifndef REGISTRY_MAIL_H
#define REGISTRY_MAIL_H

#include <stddef.h>

struct mail_message {
    const char *to;       /* one address */
    const char *reply_to; /* an address, or NULL */
    const char *subject;  /* UTF-8, one line; encoded when not ASCII */
    const char *text;     /* UTF-8, the plain-text part; lines end in \n or \r\n */
    const char *html;     /* UTF-8, the HTML part (multipart/alternative), or NULL: text only */
};

/* Sets the relay up from `url` (smtp:// or smtps://, NULL: none, so every send fails),
 * `credentials_file` (NULL: no authentication) and `from` (the envelope and From address).
 * Returns 0, or -1 with one line in `err`. Call at start-up, before any mail_send; a second call
 * with the same settings (the enquiry and the reminder workers both set the relay up) changes
 * nothing, another one replaces the relay once the sends in progress end. */
int mail_init(
    const char *url, const char *credentials_file, const char *from, char *err, size_t errlen);

/* Forgets the relay and wipes the credentials. */
void mail_cleanup(void);

/* 1 when a relay is configured. */
int mail_configured(void);

/* Sends `m`. Returns 0 when the relay accepted it, or -1 with a transport error (never any of
 * the message) in `err`. Thread-safe: each call uses its own connection. */
int mail_send(const struct mail_message *m, char *err, size_t errlen);

/* A session: one connection to the relay kept open across the messages sent on it (a batch), so
 * that each message costs its MAIL, RCPT and DATA and not a new connection, greeting, EHLO and
 * STARTTLS. Opened by the first send; after a failed send the next one opens a new connection;
 * a relay set up anew (mail_init) is never sent to on the old relay's connection. One thread
 * at a time uses a session; sessions of different threads are independent connections. */
struct mail_session;

/* A new session (no connection yet), or NULL when out of memory. */
struct mail_session *mail_session_new(void);

/* As mail_send, on `s`'s connection. */
int
mail_session_send(struct mail_session *s, const struct mail_message *m, char *err, size_t errlen);

/* Ends the session's connection (QUIT), if it has one; the next message opens a new one. */
void mail_session_close(struct mail_session *s);

/* Ends the session's connection (QUIT) and frees it; accepts NULL. */
void mail_session_free(struct mail_session *s);

/* The delay before the next attempt of an outbox message tried `attempts` times: 1, 5, 15, 60,
 * 180, 360 and then 720 times `base_ms` (the enquiry and the reminder outboxes). */
long long mail_retry_delay_ms(long long base_ms, int attempts);

/* 1 when `host` (as in a URL; IPv6 in brackets or not) is a loopback address or "localhost". */
int mail_host_is_loopback(const char *host);

/* 1 when mail to the relay `url` must use TLS (STARTTLS or smtps): any relay but loopback. */
int mail_tls_required(const char *url);

#endif
