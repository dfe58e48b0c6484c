/* html.c: the one place HTML is written in C (see html.h).
 *
 * Decisions:
 * - Escaping is the default: html_printf's %s escapes, and markup must be asked for by name (%H,
 *   html_raw) and is only ever a literal of this program. Escaping covers & < > " ' so a value
 *   is safe both between tags and inside a quoted attribute.
 * - The layout follows GOV.UK Frontend 6 without the GOV.UK brand (this is not a GOV.UK service):
 *   the generic header with the service's name, the service navigation, a phase banner, and a
 *   footer without the crown or the Open Government Licence.
 * - The page security headers (http_add_page_headers) forbid inline script and style, so a page
 *   loads its scripts as files: /assets/js/init.js on every page (GOV.UK Frontend's initAll) and
 *   the page's own enhancement, both ES modules. */
#include "registry/html.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/db.h"
#include "registry/http.h"
#include "registry/logging.h"
#include "registry/problem.h"
#include "registry/static.h"

#define SERVICE_NAME "M-PACT Registry"

void
html_init(struct html *h)
{
    memset(h, 0, sizeof(*h));
}

void
html_cleanup(struct html *h)
{
    free(h->p != NULL ? h->p - HTML_HEADROOM : NULL);
    memset(h, 0, sizeof(*h));
}

/* Grows the buffer to hold `n` more bytes and the NUL. Returns 0, or -1 (and sets failed). */
static int
grow(struct html *h, size_t n)
{
    size_t cap;
    char *base;

    if (h->failed) {
        return -1;
    }
    cap = h->cap == 0 ? 8192 : h->cap;
    while (cap < h->len + n + 1) {
        if (cap > ((size_t)1 << 28)) {
            h->failed = 1; /* 256 MiB of page is a bug */
            return -1;
        }
        cap *= 2;
    }
    base = realloc(h->p != NULL ? h->p - HTML_HEADROOM : NULL, HTML_HEADROOM + cap);
    if (base == NULL) {
        h->failed = 1;
        return -1;
    }
    h->p = base + HTML_HEADROOM;
    h->cap = cap;
    return 0;
}

/* Makes room for `n` more bytes and the NUL. Returns 0, or -1 (and sets failed). */
static inline int
reserve(struct html *h, size_t n)
{
    return h->len + n + 1 <= h->cap && !h->failed ? 0 : grow(h, n);
}

void
html_reserve(struct html *h, size_t n)
{
    (void)reserve(h, n);
}

static inline void
append(struct html *h, const char *s, size_t n)
{
    if (reserve(h, n) != 0) {
        return;
    }
    memcpy(h->p + h->len, s, n);
    h->len += n;
    h->p[h->len] = '\0';
}

void
html_raw(struct html *h, const char *markup)
{
    if (markup != NULL) {
        append(h, markup, strlen(markup));
    }
}

/* 1 for the bytes html_text writes as a character reference (and the NUL that ends a text). */
static const unsigned char special[256] = {
    [0] = 1, ['&'] = 1, ['<'] = 1, ['>'] = 1, ['"'] = 1, ['\''] = 1,
};

void
html_text(struct html *h, const char *text)
{
    const char *s, *run;

    if (text == NULL) {
        return;
    }
    for (s = run = text;; s++) {
        const char *ref;

        while (!special[(unsigned char)*s]) {
            s++;
        }
        switch (*s) {
        case '&':
            ref = "&amp;";
            break;
        case '<':
            ref = "&lt;";
            break;
        case '>':
            ref = "&gt;";
            break;
        case '"':
            ref = "&quot;";
            break;
        case '\'':
            ref = "&#39;";
            break;
        default: /* the NUL */
            append(h, run, (size_t)(s - run));
            return;
        }
        append(h, run, (size_t)(s - run));
        html_raw(h, ref);
        run = s + 1;
    }
}

/* Appends `s` percent-encoded as a URL query component (space as %20), then escaped (which
 * changes nothing: the result is only unreserved characters and %XX). */
static void
query_component(struct html *h, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; s != NULL && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
            || c == '.' || c == '_' || c == '~') {
            append(h, (const char *)&c, 1);
        } else {
            char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
            append(h, enc, 3);
        }
    }
}

/* Appends `u` in decimal. */
static void
put_uint(struct html *h, unsigned long long u)
{
    char digits[24];
    size_t n = sizeof(digits);

    do {
        digits[--n] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    append(h, digits + n, sizeof(digits) - n);
}

/* Appends `i` in decimal, as printf's %d and %ld. */
static void
put_int(struct html *h, long long i)
{
    if (i < 0) {
        append(h, "-", 1);
        put_uint(h, 0ULL - (unsigned long long)i);
    } else {
        put_uint(h, (unsigned long long)i);
    }
}

/* Appends `x` with `prec` decimals, byte for byte as printf's %.*f: the exact value of the double
 * rounded to nearest, ties to even, "-" for any negative (-0.0 too). With up to 3 decimals and
 * |x| < 2^53, in integer arithmetic (x is m / 2^sh exactly, m < 2^53: x * 10^prec rounds from
 * m * 10^prec, which fits in 64 bits); otherwise by snprintf into `buf`. */
static void
put_fixed(struct html *h, double x, int prec, char *buf, size_t len)
{
    static const uint64_t scale[] = {1, 10, 100, 1000};
    uint64_t m, v, q;
    int exp2, sh;

    if (prec > 3 || !isfinite(x) || fabs(x) >= 9007199254740992.0) {
        snprintf(buf, len, "%.*f", prec, x);
        html_raw(h, buf);
        return;
    }
    m = (uint64_t)ldexp(frexp(fabs(x), &exp2), 53); /* |x| = m * 2^(exp2 - 53), exactly */
    sh = 53 - exp2;                                 /* >= 0, as |x| < 2^53 */
    v = m * scale[prec];
    if (sh == 0) {
        q = v; /* an integer of 53 bits */
    } else if (sh >= 64) {
        q = 0; /* v < 2^63: less than half a unit */
    } else {
        uint64_t rem = v & ((UINT64_C(1) << sh) - 1), half = UINT64_C(1) << (sh - 1);

        q = v >> sh;
        if (rem > half || (rem == half && (q & 1) != 0)) {
            q++;
        }
    }
    if (signbit(x)) {
        append(h, "-", 1);
    }
    put_uint(h, q / scale[prec]);
    if (prec > 0) {
        char frac[4];
        uint64_t f = q % scale[prec];
        int i;

        for (i = prec - 1; i >= 0; i--) {
            frac[i] = (char)('0' + f % 10);
            f /= 10;
        }
        append(h, ".", 1);
        append(h, frac, (size_t)prec);
    }
}

void
html_printf(struct html *h, const char *fmt, ...)
{
    va_list ap;
    const char *f, *run;

    va_start(ap, fmt);
    for (f = run = fmt; *f != '\0'; f++) {
        char num[64];
        int prec = -1;

        if ((f = strchr(f, '%')) == NULL) {
            f = run + strlen(run);
            break;
        }
        append(h, run, (size_t)(f - run));
        f++;
        if (*f == '.' && f[1] >= '0' && f[1] <= '9') {
            prec = f[1] - '0';
            f += 2;
        }
        if (prec >= 0 && *f != 'f') {
            h->failed = 1;
            break;
        }
        switch (*f) {
        case '%':
            append(h, "%", 1);
            break;
        case 's':
            html_text(h, va_arg(ap, const char *));
            break;
        case 'H':
            html_raw(h, va_arg(ap, const char *));
            break;
        case 'Q':
            query_component(h, va_arg(ap, const char *));
            break;
        case 'd':
            put_int(h, va_arg(ap, int));
            break;
        case 'l':
            if (f[1] != 'd') {
                h->failed = 1;
                goto out;
            }
            f++;
            put_int(h, va_arg(ap, long));
            break;
        case 'z':
            if (f[1] != 'u') {
                h->failed = 1;
                goto out;
            }
            f++;
            put_uint(h, va_arg(ap, size_t));
            break;
        case 'f':
            put_fixed(h, va_arg(ap, double), prec >= 0 ? prec : 6, num, sizeof(num));
            break;
        default:
            h->failed = 1; /* an unknown conversion: stop before reading a wrong argument */
            goto out;
        }
        run = f + 1;
    }
    append(h, run, (size_t)(f - run));
out:
    va_end(ap);
}

/* ---- The layout --------------------------------------------------------------------------- */

static void
nav_item(struct html *h, const char *href, const char *label, int current)
{
    if (current) {
        html_printf(h,
                    "<li class=\"govuk-service-navigation__item "
                    "govuk-service-navigation__item--active\">"
                    "<a class=\"govuk-service-navigation__link\" href=\"%s\" aria-current=\"page\">"
                    "<strong class=\"govuk-service-navigation__active-fallback\">%s</strong>"
                    "</a></li>",
                    href, label);
    } else {
        html_printf(h,
                    "<li class=\"govuk-service-navigation__item\">"
                    "<a class=\"govuk-service-navigation__link\" href=\"%s\">%s</a></li>",
                    href, label);
    }
}

/* The head, the skip link and the header: the same on every page. `stylesheet` is an extra one
 * (NULL: none). */
static void
page_top(struct html *h, const char *title, const char *stylesheet)
{
    char url[STATIC_URL_MAX]; /* an asset's content-hashed name (static_url) */

    static_url("/assets/app.css", url);
    html_printf(h,
                "<!DOCTYPE html>\n<html lang=\"en-GB\" class=\"govuk-template\">\n<head>\n"
                "<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<title>%s%H" SERVICE_NAME "</title>\n"
                "<link rel=\"stylesheet\" href=\"%s\">\n",
                title != NULL ? title : "", title != NULL ? " – " : "", url);
    if (stylesheet != NULL) {
        static_url(stylesheet, url);
        html_printf(h, "<link rel=\"stylesheet\" href=\"%s\">\n", url);
    }
    html_raw(h, "<link rel=\"icon\" href=\"data:,\">\n"
                "</head>\n<body class=\"govuk-template__body\">\n"
                "<a href=\"#main-content\" class=\"govuk-skip-link\" "
                "data-module=\"govuk-skip-link\">Skip to main content</a>\n"
                "<header class=\"govuk-generic-header\">"
                "<div class=\"govuk-generic-header__container govuk-width-container\">"
                "<div class=\"govuk-generic-header__logo\">"
                "<a href=\"/\" class=\"govuk-generic-header__homepage-link\">" SERVICE_NAME "</a>"
                "</div></div></header>\n"
                "<div class=\"govuk-service-navigation\" data-module=\"govuk-service-navigation\">"
                "<div class=\"govuk-width-container\">"
                "<div class=\"govuk-service-navigation__container\">");
}

/* The navigation's menu button and list, opened: items follow, then nav_close. */
static void
nav_open(struct html *h, const char *label, const char *attributes)
{
    html_printf(h,
                "<nav aria-label=\"%s\" class=\"govuk-service-navigation__wrapper\"%H>"
                "<button type=\"button\" class=\"govuk-service-navigation__toggle "
                "govuk-js-service-navigation-toggle\" aria-controls=\"navigation\" hidden "
                "aria-hidden=\"true\">Menu</button>"
                "<ul class=\"govuk-service-navigation__list\" id=\"navigation\">",
                label, attributes);
}

/* Closes the navigation, writes the phase banner and opens the width container (<main> follows). */
static void
nav_close(struct html *h)
{
    html_raw(h, "</ul></nav></div></div></div>\n"
                "<div class=\"govuk-width-container\">\n"
                "<div class=\"govuk-phase-banner\"><p class=\"govuk-phase-banner__content\">"
                "<strong class=\"govuk-tag govuk-phase-banner__content__tag\">Beta</strong>"
                "<span class=\"govuk-phase-banner__text\">This is a new service. Your "
                "<a class=\"govuk-link\" href=\"/feedback\">feedback</a> will help us improve "
                "it.</span></p></div>\n");
}

void
html_page_start(struct html *h, const char *title, enum html_nav nav)
{
    page_top(h, title, NULL);
    nav_open(h, "Menu", "");
    nav_item(h, "/find", "Find M-PACT near you", nav == HTML_NAV_FIND);
    nav_item(h, "/check", "Check a facilitator", nav == HTML_NAV_CHECK);
    nav_close(h);
    html_raw(h, "<main class=\"govuk-main-wrapper\" id=\"main-content\">\n");
}

/* Closes <main> and the width container, writes the footer, the script every page loads
 * (/assets/js/init.js, a module), the classic `scripts` (NULL-terminated, or NULL) and `module`
 * (or NULL), and ends the page. */
static void
page_end(struct html *h, const char *const *scripts, const char *module)
{
    char url[STATIC_URL_MAX]; /* an asset's content-hashed name (static_url) */

    html_raw(h, "</main>\n</div>\n"
                "<footer class=\"govuk-footer\"><div class=\"govuk-width-container\">"
                "<div class=\"govuk-footer__meta\">"
                "<div class=\"govuk-footer__meta-item govuk-footer__meta-item--grow\">"
                "<h2 class=\"govuk-visually-hidden\">Support links</h2>"
                "<ul class=\"govuk-footer__inline-list\">"
                "<li class=\"govuk-footer__inline-list-item\">"
                "<a class=\"govuk-footer__link\" href=\"/docs\">API documentation</a></li>"
                "<li class=\"govuk-footer__inline-list-item\">"
                "<a class=\"govuk-footer__link\" href=\"/console\">Licensing body console</a></li>"
                "<li class=\"govuk-footer__inline-list-item\">"
                "<a class=\"govuk-footer__link\" href=\"/portal\">Licensee portal</a></li>"
                "</ul>"
                "<p class=\"govuk-body-s\">" SERVICE_NAME
                ": the register of organisations licensed to deliver M-PACT and of its trained "
                "facilitators.</p>"
                "</div></div></div></footer>\n");
    static_url("/assets/js/init.js", url);
    html_printf(h, "<script type=\"module\" src=\"%s\"></script>\n", url);
    for (; scripts != NULL && *scripts != NULL; scripts++) {
        static_url(*scripts, url);
        html_printf(h, "<script src=\"%s\"></script>\n", url);
    }
    if (module != NULL) {
        static_url(module, url);
        html_printf(h, "<script type=\"module\" src=\"%s\"></script>\n", url);
    }
    html_raw(h, "</body>\n</html>\n");
}

void
html_page_end(struct html *h, const char *script)
{
    page_end(h, NULL, script);
}

int
html_send_app(struct req *r, const struct html_app *app)
{
    struct html h;
    int status;

    html_init(&h);
    page_top(&h, app->title, app->stylesheet);
    if (app->home != NULL) {
        /* The application's name leads the navigation; its script fills the menu (hidden until
         * then) and the account line, which sit where every page has them. */
        html_printf(&h,
                    "<span class=\"govuk-service-navigation__service-name\">"
                    "<a href=\"%s\" class=\"govuk-service-navigation__link\">%s</a></span>",
                    app->home, app->title);
        nav_open(&h, app->menu_label, " id=\"app-nav\" hidden");
    } else {
        nav_open(&h, "Menu", "");
        nav_item(&h, "/find", "Find M-PACT near you", 0);
        nav_item(&h, "/check", "Check a facilitator", 0);
    }
    nav_close(&h);
    if (app->home != NULL) {
        html_raw(&h, "<div class=\"govuk-!-text-align-right govuk-!-margin-top-2\" "
                     "id=\"account\"></div>\n");
    }
    html_printf(&h,
                "<main class=\"govuk-main-wrapper\" id=\"main-content\">\n"
                "<h1 class=\"govuk-heading-l\" tabindex=\"-1\">%s</h1>\n%H\n",
                app->title, app->body);
    page_end(&h, app->scripts, app->module);
    status = html_send(r, 200, &h, NULL);
    html_cleanup(&h);
    return status;
}

void
html_error_summary(struct html *h, const struct html_error *errors, size_t n)
{
    size_t i;

    if (n == 0) {
        return;
    }
    html_raw(h, "<div class=\"govuk-error-summary\" data-module=\"govuk-error-summary\">"
                "<div role=\"alert\"><h2 class=\"govuk-error-summary__title\">There is a problem"
                "</h2><div class=\"govuk-error-summary__body\">"
                "<ul class=\"govuk-list govuk-error-summary__list\">");
    for (i = 0; i < n; i++) {
        html_printf(h, "<li><a href=\"#%s\">%s</a></li>", errors[i].field_id, errors[i].message);
    }
    html_raw(h, "</ul></div></div></div>\n");
}

void
html_field_error(struct html *h, const char *field_id, const char *message)
{
    if (message == NULL) {
        return;
    }
    html_printf(h,
                "<p id=\"%s-error\" class=\"govuk-error-message\">"
                "<span class=\"govuk-visually-hidden\">Error:</span> %s</p>",
                field_id, message);
}

int
html_send(struct req *r, int status, struct html *h, const char *cache_control)
{
    static const char oom[] = "<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
                              "<title>Sorry, there is a problem with the service – " SERVICE_NAME
                              "</title></head><body><main><h1>Sorry, there is a problem with "
                              "the service</h1><p>Try again later.</p></main></body></html>\n";

    http_add_page_headers(r);
    http_add_header(r, "Cache-Control", cache_control != NULL ? cache_control : "no-cache");
    if (h->failed || h->p == NULL) {
        logging_event("error", r->request_id, "page not rendered request_id=%s", r->request_id);
        return http_send(r, 500, "text/html; charset=utf-8", oom, sizeof(oom) - 1);
    }
    return http_send_after_headroom(r, status, "text/html; charset=utf-8", h->p - HTML_HEADROOM,
                                    HTML_HEADROOM, h->len);
}

int
html_send_db_error(struct req *r, const PGresult *res, const char *cache_control)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int status = problem_status_for_sqlstate(state) == 503 ? 503 : 500;
    struct html h;

    if (r->db != NULL && db_lost(r->db)) {
        status = 503;
    }
    /* The SQLSTATE only: as problem_from_db, never a row's contents. */
    logging_event("error", r->request_id, "db error request_id=%s sqlstate=%s (page)",
                  r->request_id, state != NULL ? state : "none");
    html_init(&h);
    html_page_start(&h, "Sorry, there is a problem with the service", HTML_NAV_NONE);
    html_raw(&h, "<h1 class=\"govuk-heading-l\">Sorry, there is a problem with the service</h1>"
                 "<p class=\"govuk-body\">Try again in a few minutes.</p>");
    html_page_end(&h, NULL);
    if (status == 503) {
        http_add_header(r, "Retry-After", "1");
    }
    status = html_send(r, status, &h, cache_control);
    html_cleanup(&h);
    return status;
}
