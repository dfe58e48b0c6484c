/* mail.c: e-mail through an SMTP relay with libcurl (see mail.h): one message a call, on a
 * connection of its own (mail_send) or on a session's, kept open across its messages. The message
 * is built here: RFC 5322 headers (Date, From, To, optional Reply-To, Subject in RFC 2047 form when
 * not ASCII, Message-ID, MIME-Version) and one text/plain UTF-8 part in base64, or with an HTML
 * part a multipart/alternative of the text/plain and the text/html parts (each UTF-8 in base64), so
 * any bytes a person typed travel intact and no line of theirs can end the message or add a header.
 * Header values with a CR or LF are refused. */
#include "registry/mail.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "registry/codec.h"

#define MAIL_TIMEOUT_MS 30000
#define MAIL_LINE       76 /* base64 characters a line */

/* The relay. mail_init and mail_cleanup write it under the write lock; a send holds the read
 * lock while it uses it, so the enquiry worker and the reminder worker may both set it up (with
 * the same settings) while the other sends. */
static struct {
    char *url, *user, *password, *from;
    char *credentials_file; /* as given, to tell a second mail_init of the same relay */
    int tls_required;
} relay;
static pthread_rwlock_t relay_lock = PTHREAD_RWLOCK_INITIALIZER;
static unsigned relay_generation; /* under the write lock: one more each time the relay changes */

long long
mail_retry_delay_ms(long long base_ms, int attempts)
{
    static const int factors[] = {1, 5, 15, 60, 180, 360, 720};
    int k = attempts - 1, n = (int)(sizeof(factors) / sizeof(factors[0]));

    if (k < 0) {
        k = 0;
    }
    return base_ms * factors[k < n ? k : n - 1];
}

int
mail_host_is_loopback(const char *host)
{
    char h[64];
    struct in_addr v4;
    struct in6_addr v6;
    size_t n = strlen(host);

    if (strcasecmp(host, "localhost") == 0) {
        return 1;
    }
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(h)) {
        memcpy(h, host + 1, n - 2);
        h[n - 2] = '\0';
        host = h;
    }
    if (inet_pton(AF_INET, host, &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    if (inet_pton(AF_INET6, host, &v6) == 1) {
        return IN6_IS_ADDR_LOOPBACK(&v6);
    }
    return 0;
}

int
mail_tls_required(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL;
    int required = 1;

    if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK
        && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        required = !mail_host_is_loopback(host);
    }
    curl_free(host);
    curl_url_cleanup(u);
    return required;
}

int
mail_configured(void)
{
    int yes;

    pthread_rwlock_rdlock(&relay_lock);
    yes = relay.url != NULL;
    pthread_rwlock_unlock(&relay_lock);
    return yes;
}

/* Forgets the relay; the caller holds the write lock. */
static void
relay_clear(void)
{
    if (relay.password != NULL) {
        OPENSSL_cleanse(relay.password, strlen(relay.password));
    }
    free(relay.url);
    free(relay.user);
    free(relay.password);
    free(relay.from);
    free(relay.credentials_file);
    memset(&relay, 0, sizeof(relay));
}

void
mail_cleanup(void)
{
    pthread_rwlock_wrlock(&relay_lock);
    relay_clear();
    relay_generation++;
    pthread_rwlock_unlock(&relay_lock);
}

/* Reads "user:password" from the first line of `path`. Returns 0, or -1 with `err`. */
static int
read_credentials(const char *path, char *err, size_t errlen)
{
    char line[1024], *colon;
    FILE *f = fopen(path, "r");
    size_t n;
    int rc = -1;

    if (f == NULL) {
        snprintf(err, errlen, "REGISTRY_SMTP_CREDENTIALS_FILE %.200s: %s", path, strerror(errno));
        return -1;
    }
    if (fgets(line, sizeof(line), f) != NULL) {
        n = strcspn(line, "\r\n");
        line[n] = '\0';
        colon = strchr(line, ':');
        if (colon != NULL && colon != line && colon[1] != '\0') {
            *colon = '\0';
            relay.user = strdup(line);
            relay.password = strdup(colon + 1);
            rc = relay.user != NULL && relay.password != NULL ? 0 : -1;
        }
    }
    fclose(f);
    OPENSSL_cleanse(line, sizeof(line));
    if (rc != 0) {
        snprintf(err, errlen,
                 "REGISTRY_SMTP_CREDENTIALS_FILE %.200s must hold user:password on its first line",
                 path);
    }
    return rc;
}

static int
relay_set(const char *url, const char *credentials_file, const char *from, char *err, size_t errlen)
{
    relay_clear();
    if (url == NULL) {
        return 0;
    }
    if (strncasecmp(url, "smtp://", 7) != 0 && strncasecmp(url, "smtps://", 8) != 0) {
        snprintf(err, errlen, "REGISTRY_SMTP_URL must be smtp://host:port or smtps://host:port");
        return -1;
    }
    if (from == NULL || strchr(from, '@') == NULL || strpbrk(from, "\r\n<> ") != NULL) {
        snprintf(err, errlen,
                 "REGISTRY_SMTP_FROM must be a plain address, as registry@example.org");
        return -1;
    }
    relay.url = strdup(url);
    relay.from = strdup(from);
    if (relay.url == NULL || relay.from == NULL
        || (credentials_file != NULL && read_credentials(credentials_file, err, errlen) != 0)) {
        if (err[0] == '\0') {
            snprintf(err, errlen, "out of memory");
        }
        relay_clear();
        return -1;
    }
    if (credentials_file != NULL && (relay.credentials_file = strdup(credentials_file)) == NULL) {
        snprintf(err, errlen, "out of memory");
        relay_clear();
        return -1;
    }
    relay.tls_required = mail_tls_required(url);
    return 0;
}

static int
same(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

int
mail_init(const char *url, const char *credentials_file, const char *from, char *err, size_t errlen)
{
    int rc = 0;

    /* The same relay again (the enquiry worker's after the reminder worker's): nothing to change,
     * and no wait for a send in progress. */
    pthread_rwlock_rdlock(&relay_lock);
    if (url != NULL && same(relay.url, url) && same(relay.from, from)
        && same(relay.credentials_file, credentials_file)) {
        pthread_rwlock_unlock(&relay_lock);
        return 0;
    }
    pthread_rwlock_unlock(&relay_lock);
    pthread_rwlock_wrlock(&relay_lock);
    rc = relay_set(url, credentials_file, from, err, errlen);
    relay_generation++;
    pthread_rwlock_unlock(&relay_lock);
    return rc;
}

/* A growable text. */
struct text {
    char *p;
    size_t len, cap, sent;
    int failed;
};

static void
text_add(struct text *t, const char *s, size_t n)
{
    if (t->failed) {
        return;
    }
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *p = realloc(t->p, cap);
        if (p == NULL) {
            t->failed = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void
text_str(struct text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

/* Appends `len` bytes as base64 in lines of MAIL_LINE characters, each ending CRLF. */
static void
text_base64(struct text *t, const unsigned char *in, size_t len)
{
    unsigned char out[MAIL_LINE + 4];
    size_t chunk = MAIL_LINE / 4 * 3, i;

    for (i = 0; i < len; i += chunk) {
        size_t n = len - i < chunk ? len - i : chunk;
        int w = EVP_EncodeBlock(out, in + i, (int)n);

        text_add(t, (const char *)out, (size_t)w);
        text_str(t, "\r\n");
    }
}

static int
is_ascii(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s >= 0x80) {
            return 0;
        }
    }
    return 1;
}

/* Appends `body` with CRLF line ends, in base64 (one MIME part's content). */
static void
text_part(struct text *t, const char *body)
{
    struct text crlf = {0};
    const unsigned char *b = (const unsigned char *)body;
    size_t i, n = strlen(body);

    for (i = 0; i < n; i++) {
        if (b[i] == '\n' && (i == 0 || b[i - 1] != '\r')) {
            text_add(&crlf, "\r\n", 2);
        } else {
            text_add(&crlf, body + i, 1);
        }
    }
    if (crlf.failed) {
        t->failed = 1;
    } else if (crlf.len > 0) {
        text_base64(t, (const unsigned char *)crlf.p, crlf.len);
    }
    if (crlf.p != NULL) {
        OPENSSL_cleanse(crlf.p, crlf.cap);
    }
    free(crlf.p);
}

/* The whole message into `t`. Returns 0, or -1 when a header value holds CR or LF. */
static int
compose(const struct mail_message *m, struct text *t)
{
    unsigned char raw[16];
    char line[512], date[64], id[33];
    time_t now = time(NULL);
    struct tm tm;

    if (strpbrk(m->to, "\r\n") != NULL || strpbrk(m->subject, "\r\n") != NULL
        || (m->reply_to != NULL && strpbrk(m->reply_to, "\r\n") != NULL)) {
        return -1;
    }
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    if (codec_random(raw, sizeof(raw)) != 0) {
        memset(raw, 0, sizeof(raw));
    }
    codec_hex(raw, sizeof(raw), id);
    snprintf(line, sizeof(line), "Date: %s\r\nFrom: M-PACT Registry <%s>\r\nTo: <%s>\r\n", date,
             relay.from, m->to);
    text_str(t, line);
    if (m->reply_to != NULL) {
        snprintf(line, sizeof(line), "Reply-To: <%s>\r\n", m->reply_to);
        text_str(t, line);
    }
    text_str(t, "Subject: ");
    if (is_ascii(m->subject)) {
        text_str(t, m->subject);
    } else {
        /* RFC 2047: encoded words of at most 75 characters, UTF-8 characters kept whole. */
        const char *s = m->subject;
        size_t len = strlen(s), at = 0;

        while (at < len) {
            unsigned char out[64];
            size_t take = len - at < 36 ? len - at : 36;
            int w;

            while (at + take < len && ((unsigned char)s[at + take] & 0xC0) == 0x80) {
                take--;
            }
            w = EVP_EncodeBlock(out, (const unsigned char *)s + at, (int)take);
            text_str(t, at > 0 ? "\r\n =?UTF-8?B?" : "=?UTF-8?B?");
            text_add(t, (const char *)out, (size_t)w);
            text_str(t, "?=");
            at += take;
        }
    }
    snprintf(line, sizeof(line), "\r\nMessage-ID: <%s@mpact-registry>\r\nMIME-Version: 1.0\r\n",
             id);
    text_str(t, line);
    if (m->html == NULL) {
        text_str(t, "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\n");
        text_part(t, m->text);
        return t->failed ? -1 : 0;
    }
    /* "=_" never occurs in base64, so the boundary cannot occur in either part. */
    snprintf(line, sizeof(line),
             "Content-Type: multipart/alternative; boundary=\"=_%s\"\r\n\r\n"
             "--=_%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
             "Content-Transfer-Encoding: base64\r\n\r\n",
             id, id);
    text_str(t, line);
    text_part(t, m->text);
    snprintf(line, sizeof(line),
             "--=_%s\r\nContent-Type: text/html; charset=utf-8\r\n"
             "Content-Transfer-Encoding: base64\r\n\r\n",
             id);
    text_str(t, line);
    text_part(t, m->html);
    snprintf(line, sizeof(line), "--=_%s--\r\n", id);
    text_str(t, line);
    return t->failed ? -1 : 0;
}

static size_t
read_text(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct text *t = userdata;
    size_t n = t->len - t->sent;

    if (n > size * nitems) {
        n = size * nitems;
    }
    memcpy(buf, t->p + t->sent, n);
    t->sent += n;
    return n;
}

/* One sending connection: a curl handle kept across messages, so that curl keeps its SMTP
 * connection to the relay open between them (it reuses the connection of a handle used again for
 * the same URL), and the relay's generation it was set up for. */
struct mail_session {
    CURL *curl;
    unsigned generation;
};

struct mail_session *
mail_session_new(void)
{
    return calloc(1, sizeof(struct mail_session));
}

void
mail_session_close(struct mail_session *s)
{
    curl_easy_cleanup(s->curl); /* QUIT, and the connection closed; nothing when NULL */
    s->curl = NULL;
}

void
mail_session_free(struct mail_session *s)
{
    if (s != NULL) {
        curl_easy_cleanup(s->curl); /* QUIT, and the connection closed */
        free(s);
    }
}

int
mail_session_send(struct mail_session *s, const struct mail_message *m, char *err, size_t errlen)
{
    struct text t = {0};
    struct curl_slist *rcpt = NULL;
    char addr[300];
    CURLcode cc;
    long code = 0;
    int rc = -1;

    err[0] = '\0';
    pthread_rwlock_rdlock(&relay_lock);
    if (relay.url == NULL) {
        snprintf(err, errlen, "no mail relay is configured (REGISTRY_SMTP_URL)");
        goto out;
    }
    if (compose(m, &t) != 0) {
        snprintf(err, errlen, "the message could not be composed");
        goto out;
    }
    if (s->curl != NULL && s->generation != relay_generation) {
        /* Another relay since this connection was opened: never reuse it. */
        curl_easy_cleanup(s->curl);
        s->curl = NULL;
    }
    if (s->curl == NULL) {
        if ((s->curl = curl_easy_init()) == NULL) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        s->generation = relay_generation;
    }
    snprintf(addr, sizeof(addr), "<%s>", m->to);
    rcpt = curl_slist_append(NULL, addr);
    snprintf(addr, sizeof(addr), "<%s>", relay.from);
    curl_easy_setopt(s->curl, CURLOPT_URL, relay.url);
    curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(s->curl, CURLOPT_PROXY, "");
    curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, (long)MAIL_TIMEOUT_MS);
    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)MAIL_TIMEOUT_MS / 3);
    curl_easy_setopt(s->curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(s->curl, CURLOPT_USE_SSL,
                     relay.tls_required ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
    curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (relay.user != NULL) {
        curl_easy_setopt(s->curl, CURLOPT_USERNAME, relay.user);
        curl_easy_setopt(s->curl, CURLOPT_PASSWORD, relay.password);
    }
    curl_easy_setopt(s->curl, CURLOPT_MAIL_FROM, addr);
    curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(s->curl, CURLOPT_READFUNCTION, read_text);
    curl_easy_setopt(s->curl, CURLOPT_READDATA, &t);
    curl_easy_setopt(s->curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(s->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)t.len);
    cc = curl_easy_perform(s->curl);
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
    /* The options point at this call's recipient list and text: none may outlive it. */
    curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, NULL);
    curl_easy_setopt(s->curl, CURLOPT_READDATA, NULL);
    if (cc != CURLE_OK) {
        /* curl's own words and the relay's reply code: never the relay's reply text, which may
         * quote what was sent. */
        snprintf(err, errlen, "%s%s (SMTP %ld)", curl_easy_strerror(cc),
                 cc == CURLE_USE_SSL_FAILED ? ": the relay offers no STARTTLS" : "", code);
        /* The next message starts on a new connection, whatever state this one was left in. */
        curl_easy_cleanup(s->curl);
        s->curl = NULL;
        goto out;
    }
    rc = 0;
out:
    if (t.p != NULL) {
        OPENSSL_cleanse(t.p, t.cap);
    }
    free(t.p);
    curl_slist_free_all(rcpt);
    pthread_rwlock_unlock(&relay_lock);
    return rc;
}

int
mail_send(const struct mail_message *m, char *err, size_t errlen)
{
    struct mail_session s = {0};
    int rc = mail_session_send(&s, m, err, errlen);

    curl_easy_cleanup(s.curl);
    return rc;
}
