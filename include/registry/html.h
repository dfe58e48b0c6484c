/* html.h: server-rendered HTML pages: a growable buffer with escaping appends, the site's page
 * layout (GOV.UK Frontend), the error summary, and sending a page with the page security headers.
 * Every piece of HTML the server writes in C goes through here. */
#ifndef REGISTRY_HTML_H
#define REGISTRY_HTML_H

#include <stddef.h>

#include <libpq-fe.h>

#include "registry/http.h"

struct req;

/* A page being written. Appends never fail visibly: running out of memory sets `failed`, and
 * html_send then answers 500 instead of a truncated page. The buffer keeps HTML_HEADROOM bytes
 * before the text, where html_send writes the status line and headers: a page goes out in one
 * write without being copied. */
struct html {
    char *p; /* NUL-terminated text, `len` bytes of `cap`; NULL until the first append */
    size_t len, cap;
    int failed;
};

#define HTML_HEADROOM HTTP_HEAD_MAX

void html_init(struct html *h);
void html_cleanup(struct html *h);

/* Makes room for `n` more bytes at once (a page that knows its size grows in one step). */
void html_reserve(struct html *h, size_t n);

/* Appends trusted markup as it is (string literals of this program, never data). */
void html_raw(struct html *h, const char *markup);

/* Appends `text` escaped for an element's content or a quoted attribute value: & < > " ' become
 * character references. NULL appends nothing. */
void html_text(struct html *h, const char *text);

/* printf for markup, in which every string is escaped unless it says otherwise:
 *   %s   text, escaped as html_text (NULL: nothing)
 *   %H   trusted markup, as html_raw (never data)
 *   %Q   a URL query component: percent-encoded (everything but A-Z a-z 0-9 - . _ ~), then escaped
 *   %d %ld %zu   integers
 *   %.Nf         a double with N decimals (N 0-9)
 *   %%           a percent sign
 * Any other conversion is a bug: it sets `failed`. (Not checked by the compiler: %H and %Q are
 * not printf's.) */
void html_printf(struct html *h, const char *fmt, ...);

/* Items of the service navigation. */
enum html_nav {
    HTML_NAV_NONE,
    HTML_NAV_FIND,  /* Find M-PACT near you */
    HTML_NAV_CHECK, /* Check a facilitator */
};

/* Starts a page: doctype, <html lang="en-GB">, <title>`title` – M-PACT Registry</title> (escaped),
 * the style sheet, the skip link, the header with the service name and navigation (`nav` marked
 * current), the phase banner, and opens <main id="main-content"> inside the width container.
 * A page with errors passes a title starting "Error: " (the GOV.UK pattern). `title` NULL: the
 * service's name alone (the start page). */
void html_page_start(struct html *h, const char *title, enum html_nav nav);

/* Closes <main>, writes the footer and the script every page loads (/assets/js/init.js, a module),
 * plus `script` when not NULL (a path under /assets/js/, also a module), and ends the page. */
void html_page_end(struct html *h, const char *script);

/* A page whose content a script draws: the licensing body's console, the licensee portal, the
 * API documentation. The page is the layout every page has; with `home`, the application's name
 * leads the service navigation and its script fills the menu (#navigation in #app-nav, hidden
 * until then) and the account line (#account). */
struct html_app {
    const char *title;          /* the <title> and the <h1> */
    const char *home;           /* the application's home link, or NULL: the public navigation */
    const char *menu_label;     /* aria-label of the application's menu (with `home`) */
    const char *stylesheet;     /* an extra style sheet, or NULL */
    const char *body;           /* trusted markup in <main> after the <h1> (never data) */
    const char *const *scripts; /* classic scripts, NULL-terminated, or NULL */
    const char *module;         /* the application's module script, or NULL */
};

/* Sends the page of `app` (200, no-cache, the page security headers). Returns the status. */
int html_send_app(struct req *r, const struct html_app *app);

/* One error for the error summary: `field_id` is the id of the input it is about (the summary
 * links to "#<field_id>"), `message` the text shown both there and above the field. */
struct html_error {
    const char *field_id;
    const char *message;
};

/* Writes the GOV.UK error summary ("There is a problem") listing `errors`, each linked to its
 * field; nothing when n is 0. */
void html_error_summary(struct html *h, const struct html_error *errors, size_t n);

/* Writes a field's error message (GOV.UK error-message, id "<field_id>-error", which the field's
 * aria-describedby names); nothing when `message` is NULL. */
void html_field_error(struct html *h, const char *field_id, const char *message);

/* Sends the page as text/html with the page security headers (http_add_page_headers) and
 * `cache_control` (NULL: "no-cache"). A page whose buffer failed gets a plain 500 page instead.
 * Returns the status sent. Does not clean up `h`. */
int html_send(struct req *r, int status, struct html *h, const char *cache_control);

/* Answers a database failure with an HTML page ("Sorry, there is a problem with the service"):
 * 503 when the database is unavailable or busy, else 500; logs the SQLSTATE as problem_from_db
 * does, and never shows database text. `res` may be NULL (connection lost). Returns the status. */
int html_send_db_error(struct req *r, const PGresult *res, const char *cache_control);

#endif
