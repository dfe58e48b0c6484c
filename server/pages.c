/* pages.c: the public pages, server-rendered (they work without JavaScript; scripts only
 * enhance): the start page, "Find M-PACT near you" and "Check a facilitator". They use the same
 * room functions as the public API (public.c), so the pages and /v1/public answer alike.
 *
 * Privacy: the postcode or coordinates a family searches from travel only in the query string,
 * which is never logged (http_log); a results page is never cached (Cache-Control: no-store) and
 * never echoes coordinates.
 *
 * Cost: the finder's results page reads the search's answer as the JSON text the API sends
 * (public_find_providers_text) through jsonview, a flat array of tokens, not a Jansson tree:
 * json_loads of its 15 KiB was half the server's time on /find (bench/README.md, issue 19).
 * it.pages holds golden renderings that any change to how a page is written must keep. */
#include "registry/pages.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "registry/db.h"
#include "registry/html.h"
#include "registry/http.h"
#include "registry/impact.h"
#include "registry/jsonview.h"
#include "registry/postcodes.h"
#include "registry/public.h"
#include "registry/query.h"
#include "registry/settings.h"
#include "registry/validate.h"

/* Who can attend, in plain words (on the start page and each result). */
static const char who_can_attend[] =
    "M-PACT is for families affected by a parent's or carer's drug or alcohol use, with at least "
    "one child aged 8 to 17. Any carer can come: parents, grandparents, aunts, uncles, foster "
    "carers. You do not need to be in recovery.";

/* who_can_attend escaped (html_text) once, for each result of the finder; empty when that
 * could not be done (memory), and then escaped each time. */
static char who_can_attend_escaped[2 * sizeof(who_can_attend)];
static pthread_once_t who_can_attend_once = PTHREAD_ONCE_INIT;

static void
escape_who_can_attend(void)
{
    struct html e;

    html_init(&e);
    html_text(&e, who_can_attend);
    if (!e.failed && e.len < sizeof(who_can_attend_escaped)) {
        memcpy(who_can_attend_escaped, e.p, e.len + 1);
    }
    html_cleanup(&e);
}

/* Appends who_can_attend as text (escaped). */
static void
who_can_attend_text(struct html *h)
{
    pthread_once(&who_can_attend_once, escape_who_can_attend);
    if (who_can_attend_escaped[0] != '\0') {
        html_raw(h, who_can_attend_escaped);
    } else {
        html_text(h, who_can_attend);
    }
}

/* The start page's part of the central contact and who can attend (settings.c's contact). */
static void
home_help(struct html *h, json_t *contact)
{
    html_raw(h, "<h2 class=\"govuk-heading-m\">Who can attend</h2><p class=\"govuk-body\">");
    html_raw(h, who_can_attend);
    html_raw(h, "</p>");
    if (json_is_object(contact)) {
        html_raw(h, "<h2 class=\"govuk-heading-m\">Talk to someone</h2>");
        pages_central_contact(h, contact,
                              "If you are not sure where to start, or nothing is near you, "
                              "contact:");
    }
}

int
pages_home(struct req *r)
{
    json_t *contact = NULL;
    struct html h;
    int status;

    /* The start page works without the database; the central contact is shown when it answers
     * within a short wait (the router gives the connection back). */
    if (r->db == NULL) {
        r->db = db_acquire_within(300, 1000);
    }
    if (r->db != NULL) {
        contact = settings_central_contact(r->db, NULL, 0);
    }

    html_init(&h);
    html_page_start(&h, NULL, HTML_NAV_NONE);
    html_raw(&h,
             "<div class=\"govuk-grid-row\"><div class=\"govuk-grid-column-two-thirds\">"
             "<h1 class=\"govuk-heading-xl\">M-PACT Registry</h1>"
             "<p class=\"govuk-body-l\">M-PACT is a programme of group sessions for families "
             "affected by a parent's drug or alcohol use. It is run by organisations licensed to "
             "deliver it, with facilitators trained and accredited for it. This register lists "
             "them.</p>"
             "<h2 class=\"govuk-heading-m\">Find M-PACT near you</h2>"
             "<p class=\"govuk-body\">See where M-PACT runs near a postcode, when groups start, "
             "whether places are left and whether you can refer your family yourself.</p>"
             "<a href=\"/find\" role=\"button\" draggable=\"false\" "
             "class=\"govuk-button govuk-button--start\" data-module=\"govuk-button\">"
             "Find M-PACT near you"
             "<svg class=\"govuk-button__start-icon\" xmlns=\"http://www.w3.org/2000/svg\" "
             "width=\"17.5\" height=\"19\" viewBox=\"0 0 33 40\" aria-hidden=\"true\" "
             "focusable=\"false\"><path fill=\"currentColor\" d=\"M0 0h13l20 20-20 20H0l20-20z\"/>"
             "</svg></a>");
    home_help(&h, contact);
    html_raw(&h,
             "<h2 class=\"govuk-heading-m\">Check a facilitator</h2>"
             "<p class=\"govuk-body\">Check whether someone is accredited to deliver M-PACT, by "
             "their registration number or their name.</p>"
             "<p class=\"govuk-body\"><a class=\"govuk-link\" href=\"/check\">Check a "
             "facilitator</a></p>"
             "<h2 class=\"govuk-heading-m\">What M-PACT has achieved</h2>"
             "<p class=\"govuk-body\">How many families and practitioners M-PACT has reached, "
             "year by year and since it started.</p>"
             "<p class=\"govuk-body\"><a class=\"govuk-link\" href=\"/impact\">See M-PACT's "
             "impact</a></p>"
             "</div><div class=\"govuk-grid-column-one-third\">"
             "<aside class=\"app-related\" aria-labelledby=\"related-heading\">"
             "<h2 class=\"govuk-heading-s\" id=\"related-heading\">For licensed organisations"
             "</h2><ul class=\"govuk-list govuk-body-s\">"
             "<li><a class=\"govuk-link\" href=\"/console\">Sign in to the licensing body "
             "console</a></li>"
             "<li><a class=\"govuk-link\" href=\"/portal\">Sign in to the licensee portal</a></li>"
             "<li><a class=\"govuk-link\" href=\"/docs\">API documentation</a></li>"
             "</ul></aside></div></div>");
    html_page_end(&h, NULL);
    status = html_send(r, 200, &h, NULL);
    html_cleanup(&h);
    json_decref(contact);
    return status;
}

/* ---- Shared pieces ------------------------------------------------------------------------ */

static const char *const month_names[] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};

/* Writes an ISO date (YYYY-MM-DD) the GOV.UK way, "14 March 2027"; anything else as it is. */
static void
write_date(struct html *h, const char *iso)
{
    int y = 0, m = 0, d = 0, read;
    char tail;

    if (iso != NULL && strlen(iso) == 10 && strspn(iso, "0123456789") == 4 && iso[4] == '-'
        && strspn(iso + 5, "0123456789") == 2 && iso[7] == '-'
        && strspn(iso + 8, "0123456789") == 2) {
        /* YYYY-MM-DD, as every date reads in JSON: what sscanf reads, without its cost */
        y = (iso[0] - '0') * 1000 + (iso[1] - '0') * 100 + (iso[2] - '0') * 10 + (iso[3] - '0');
        m = (iso[5] - '0') * 10 + (iso[6] - '0');
        d = (iso[8] - '0') * 10 + (iso[9] - '0');
        read = 3;
    } else {
        read = iso != NULL ? sscanf(iso, "%4d-%2d-%2d%c", &y, &m, &d, &tail) : 0;
    }
    if (read == 3 && m >= 1 && m <= 12 && d >= 1 && d <= 31) {
        html_printf(h, "%d %s %d", d, month_names[m - 1], y);
    } else {
        html_text(h, iso);
    }
}

/* A string member of `o`, or NULL (borrowed). */
static const char *
jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A string member of object `o` of `v`, or NULL (borrowed from `v`). */
static const char *
vstr(const struct jview *v, int o, const char *key)
{
    return jview_str(v, jview_get(v, o, key));
}

/* 1 when member `key` of object `o` of `v` is true. */
static int
vtrue(const struct jview *v, int o, const char *key)
{
    return jview_is_true(v, jview_get(v, o, key));
}

/* 1 when `url` may be a link: http(s) only, so a stored "javascript:" address is never one. */
static int
safe_web_link(const char *url)
{
    return url != NULL && (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0);
}

/* Writes a telephone number as a tel: link (digits and a leading + only in the address). */
static void
write_phone(struct html *h, const char *phone)
{
    char tel[32];
    size_t n = 0;
    const char *p;

    for (p = phone; *p != '\0' && n < sizeof(tel) - 1; p++) {
        if ((*p >= '0' && *p <= '9') || (*p == '+' && n == 0)) {
            tel[n++] = *p;
        }
    }
    tel[n] = '\0';
    if (n < 6) {
        html_text(h, phone);
        return;
    }
    html_printf(h, "<a class=\"govuk-link\" href=\"tel:%s\">%s</a>", tel, phone);
}

/* The licensing body's central contact (settings.c's object, or a provider search's
 * central_contact), its strings borrowed. */
struct contact {
    int present; /* 0: none is set (null) */
    const char *name, *phone, *email, *chat, *hours;
};

/* `c` from object `o` of `v` (or absent). */
static void
contact_from_view(struct contact *c, const struct jview *v, int o)
{
    c->present = jview_is_object(v, o);
    c->name = vstr(v, o, "name");
    c->phone = vstr(v, o, "phone");
    c->email = vstr(v, o, "email");
    c->chat = vstr(v, o, "web_chat_url");
    c->hours = vstr(v, o, "opening_hours");
}

/* pages_central_contact's inset for `c`. */
static void
central_contact(struct html *h, const struct contact *c, const char *lead)
{
    html_raw(h, "<div class=\"govuk-inset-text app-central-contact\">");
    if (lead != NULL) {
        html_printf(h, "<p class=\"govuk-body\">%s</p>", lead);
    }
    if (!c->present) {
        html_raw(h, "<p class=\"govuk-body\">Your GP, health visitor, your child's school or your "
                    "local family hub can tell you about support for families near you.</p>"
                    "</div>");
        return;
    }
    html_printf(h, "<h3 class=\"govuk-heading-s\">%s</h3><ul class=\"govuk-list\">", c->name);
    if (c->phone != NULL) {
        html_raw(h, "<li>Phone: ");
        write_phone(h, c->phone);
        html_raw(h, "</li>");
    }
    if (c->chat != NULL && safe_web_link(c->chat)) {
        html_printf(h, "<li><a class=\"govuk-link app-break\" href=\"%s\">Chat online</a></li>",
                    c->chat);
    }
    if (c->email != NULL) {
        html_printf(h,
                    "<li>Email: <a class=\"govuk-link app-break\" href=\"mailto:%s\">%s</a></li>",
                    c->email, c->email);
    }
    html_raw(h, "</ul>");
    if (c->hours != NULL) {
        html_printf(h, "<p class=\"govuk-body\">%s</p>", c->hours);
    }
    html_raw(h, "<p class=\"govuk-body\">Your GP, health visitor, your child's school or your "
                "local family hub can also tell you about support for families near you.</p>"
                "</div>");
}

/* ---- Find M-PACT near you ----------------------------------------------------------------- */

static const char *const radius_choices[] = {"5", "10", "25", "50", "100", NULL};

#define FIND_RADIUS_DEFAULT "25"

static const char *
variant_name(const char *code)
{
    if (code == NULL) {
        return "M-PACT programme";
    }
    if (strcmp(code, "standard") == 0) {
        return "M-PACT programme";
    }
    if (strcmp(code, "short") == 0) {
        return "M-PACT short programme";
    }
    if (strcmp(code, "extended") == 0) {
        return "M-PACT extended programme";
    }
    if (strcmp(code, "aftercare") == 0) {
        return "M-PACT aftercare group";
    }
    return code;
}

/* Miles for `km`, the way the finder shows distances: miles first, km after. */
static double
miles(double km)
{
    return km / 1.609344;
}

/* "Starting within" choices, in days. */
static const char *const within_choices[] = {"30", "60", "90", NULL};

/* The filters of the finder's form: groups families can refer themselves to, and groups starting
 * within a number of days. */
static void
find_filters(struct html *h, int self, const char *within)
{
    int i;

    html_printf(h,
                "<div class=\"govuk-form-group\"><div class=\"govuk-checkboxes "
                "govuk-checkboxes--small\" data-module=\"govuk-checkboxes\">"
                "<div class=\"govuk-checkboxes__item\"><input class=\"govuk-checkboxes__input\" "
                "id=\"self_referral\" name=\"self_referral\" type=\"checkbox\" value=\"yes\"%H>"
                "<label class=\"govuk-label govuk-checkboxes__label\" for=\"self_referral\">Only "
                "groups families can refer themselves to</label></div></div></div>"
                "<div class=\"govuk-form-group\"><label class=\"govuk-label govuk-label--s\" "
                "for=\"within\">Starting</label><select class=\"govuk-select\" id=\"within\" "
                "name=\"within\"><option value=\"\"%H>Any time</option>",
                self ? " checked" : "", within == NULL ? " selected" : "");
    for (i = 0; within_choices[i] != NULL; i++) {
        html_printf(h, "<option value=\"%s\"%H>Within %s days</option>", within_choices[i],
                    within != NULL && strcmp(within, within_choices[i]) == 0 ? " selected" : "",
                    within_choices[i]);
    }
    html_raw(h, "</select></div>");
}

/* Reads the filters from the query: *self 1 for self_referral=yes, *within one of
 * within_choices or NULL (anything else is taken as "any time"). */
static void
find_filter_query(const struct query *q, int *self, const char **within)
{
    const char *sr = query_get(q, "self_referral"), *w = query_get(q, "within");
    int i;

    *self = sr != NULL && strcmp(sr, "yes") == 0;
    *within = NULL;
    for (i = 0; w != NULL && within_choices[i] != NULL; i++) {
        if (strcmp(w, within_choices[i]) == 0) {
            *within = within_choices[i];
        }
    }
}

/* The form. `postcode` is what was typed (echoed, escaped), `radius` the chosen one. */
static void
find_form(struct html *h,
          const char *postcode,
          const char *radius,
          const char *postcode_error,
          const char *radius_error,
          int self,
          const char *within)
{
    int i;

    html_raw(h, "<form method=\"get\" action=\"/find\" novalidate id=\"find-form\">");
    html_printf(h, "<div class=\"govuk-form-group%H\">",
                postcode_error != NULL ? " govuk-form-group--error" : "");
    html_raw(h, "<label class=\"govuk-label govuk-label--s\" for=\"postcode\">Postcode, Eircode or "
                "town</label><div id=\"postcode-hint\" class=\"govuk-hint\">For example, ME4 4AB "
                "or Chatham</div>");
    html_field_error(h, "postcode", postcode_error);
    html_printf(h,
                "<input class=\"govuk-input govuk-input--width-20%H\" id=\"postcode\" "
                "name=\"postcode\" type=\"text\" autocomplete=\"postal-code\" spellcheck=\"false\" "
                "aria-describedby=\"postcode-hint%H\" value=\"%s\"></div>",
                postcode_error != NULL ? " govuk-input--error" : "",
                postcode_error != NULL ? " postcode-error" : "", postcode != NULL ? postcode : "");
    html_printf(h, "<div class=\"govuk-form-group%H\">",
                radius_error != NULL ? " govuk-form-group--error" : "");
    html_raw(h, "<label class=\"govuk-label govuk-label--s\" for=\"radius\">How far can you "
                "travel?</label>");
    html_field_error(h, "radius", radius_error);
    html_printf(h, "<select class=\"govuk-select%H\" id=\"radius\" name=\"radius\"%H>",
                radius_error != NULL ? " govuk-select--error" : "",
                radius_error != NULL ? " aria-describedby=\"radius-error\"" : "");
    for (i = 0; radius_choices[i] != NULL; i++) {
        html_printf(h, "<option value=\"%s\"%H>Up to %.0f miles (%s km)</option>",
                    radius_choices[i],
                    radius != NULL && strcmp(radius, radius_choices[i]) == 0 ? " selected" : "",
                    miles(atof(radius_choices[i])), radius_choices[i]);
    }
    html_raw(h, "</select></div>");
    find_filters(h, self, within);
    html_raw(h, ""
                "<div class=\"govuk-button-group\" id=\"find-buttons\">"
                "<button type=\"submit\" class=\"govuk-button\" data-module=\"govuk-button\">"
                "Search</button></div></form>");
}

/* A weekday ("tuesday") as "Tuesdays" into `out`. */
static void
weekdays(const char *weekday, char *out, size_t len)
{
    size_t n = strlen(weekday);

    /* snprintf(out, len, "%ss", weekday), written out (it ran for every group on a page) */
    if (n > len - 1) {
        n = len - 1;
    }
    memcpy(out, weekday, n);
    if (n < len - 1) {
        out[n++] = 's';
    }
    out[n] = '\0';
    if (out[0] >= 'a' && out[0] <= 'z') {
        out[0] = (char)(out[0] - 'a' + 'A');
    }
}

/* Places left in a run, in words: "3 of 8", "Full", or that it takes no families now. */
static void
write_places(struct html *h, const struct jview *v, int run)
{
    long long left = jview_int(v, jview_get(v, run, "places_left"));

    if (!vtrue(v, run, "accepting_referrals")) {
        html_raw(h, vtrue(v, run, "started") ? "Not taking more families"
                                             : "Not taking referrals at the moment");
    } else if (left <= 0) {
        html_raw(h, "Full");
    } else {
        html_printf(h, "%ld of %ld", (long)left,
                    (long)jview_int(v, jview_get(v, run, "capacity_families")));
    }
}

/* A summary-list row: `key` (trusted) and the value the caller writes next, closed by row_end. */
static void
row_start(struct html *h, const char *key)
{
    html_printf(h,
                "<div class=\"govuk-summary-list__row\"><dt class=\"govuk-summary-list__key\">%H"
                "</dt><dd class=\"govuk-summary-list__value\">",
                key);
}

static void
row_end(struct html *h)
{
    html_raw(h, "</dd></div>");
}

/* The next group at a site, first on its result: when it starts (or that it is running), day and
 * time, places left, whether families can refer themselves. */
static void
next_group(struct html *h, const struct jview *v, int run)
{
    const char *weekday = vstr(v, run, "weekday"), *time = vstr(v, run, "start_time");
    int started = vtrue(v, run, "started");

    html_printf(h,
                "<h4 class=\"govuk-heading-s app-next\">%H: %s</h4>"
                "<dl class=\"govuk-summary-list govuk-summary-list--no-border\">",
                started ? "Group running now" : "Next group",
                variant_name(vstr(v, run, "variant")));
    row_start(h, started ? "Started" : "Starts");
    write_date(h, vstr(v, run, "starts_on"));
    if (started) {
        html_raw(h, " (running now)");
    }
    row_end(h);
    if (weekday != NULL) {
        char day[24];

        weekdays(weekday, day, sizeof(day));
        row_start(h, "When");
        html_printf(h, "%s", day);
        if (time != NULL) {
            html_printf(h, " at %s", time);
        }
        row_end(h);
    }
    row_start(h, started ? "Still taking families?" : "Places left");
    if (started && vtrue(v, run, "accepting_referrals")
        && jview_int(v, jview_get(v, run, "places_left")) > 0) {
        html_printf(h, "Yes, %ld of %ld places left",
                    (long)jview_int(v, jview_get(v, run, "places_left")),
                    (long)jview_int(v, jview_get(v, run, "capacity_families")));
    } else {
        write_places(h, v, run);
    }
    row_end(h);
    row_start(h, "Can families refer themselves?");
    html_raw(h, vtrue(v, run, "self_referral_allowed") ? "Yes, families can refer themselves"
                                                       : "No, a professional refers you");
    row_end(h);
    html_raw(h, "</dl>");
}

/* The later groups at a site, one line each. */
static void
later_groups(struct html *h, const struct jview *v, int runs)
{
    int run;

    if (jview_size(v, runs) < 2) {
        return;
    }
    html_raw(h, "<h4 class=\"govuk-heading-s\">Later groups</h4><ul class=\"govuk-list "
                "govuk-list--bullet\">");
    for (run = jview_next(v, runs, jview_first(v, runs)); run >= 0;
         run = jview_next(v, runs, run)) {
        const char *weekday = vstr(v, run, "weekday"), *time = vstr(v, run, "start_time");

        html_printf(h, "<li>%s, starts ", variant_name(vstr(v, run, "variant")));
        write_date(h, vstr(v, run, "starts_on"));
        if (weekday != NULL) {
            char day[24];

            weekdays(weekday, day, sizeof(day));
            html_printf(h, ", %s", day);
            if (time != NULL) {
                html_printf(h, " at %s", time);
            }
        }
        html_raw(h, ". Places left: ");
        write_places(h, v, run);
        html_printf(h, ". %H.</li>",
                    vtrue(v, run, "self_referral_allowed") ? "Families can refer themselves"
                                                           : "A professional refers you");
    }
    html_raw(h, "</ul>");
}

/* One provider: the site and how far, the next group (and "Ask about a place"), who can attend,
 * then the organisation, address and contact details; the central contact when the site gives no
 * phone or email. `n` numbers the result for its headings' ids. */
static void
provider(struct html *h, const struct jview *v, int item, int n, const struct contact *contact)
{
    int site = jview_get(v, item, "site"), org = jview_get(v, item, "organisation");
    int lines = jview_get(v, site, "address_lines"), runs, line;
    double km = jview_num(v, jview_get(v, item, "distance_km"));
    const char *phone = vstr(v, org, "phone"), *email = vstr(v, org, "email"),
               *website = vstr(v, org, "website"), *access = vstr(v, site, "accessibility");

    html_printf(h,
                "<li class=\"app-result\"><h3 class=\"govuk-heading-m\" id=\"result-%d\">%s</h3>"
                "<p class=\"govuk-body govuk-!-font-weight-bold app-distance\">%.1f miles "
                "(%.1f km) away</p>",
                n, vstr(v, site, "name"), miles(km), km);
    runs = jview_get(v, item, "upcoming_runs");
    if (jview_size(v, runs) == 0) {
        html_raw(h, "<p class=\"govuk-body\">No groups are planned here at the moment. Contact "
                    "them to ask when the next one starts.</p>");
    } else {
        next_group(h, v, jview_first(v, runs));
    }
    if (vtrue(v, site, "takes_enquiries")) {
        const char *run_id = vstr(v, jview_first(v, runs), "id");

        html_printf(h,
                    "<p class=\"govuk-body\"><a class=\"govuk-button govuk-button--secondary "
                    "govuk-!-margin-bottom-0\" data-module=\"govuk-button\" "
                    "href=\"/find/ask?site=%s%H%s\">Ask about a place<span "
                    "class=\"govuk-visually-hidden\"> at %s</span></a></p>",
                    vstr(v, site, "id"), run_id != NULL ? "&amp;run=" : "",
                    run_id != NULL ? run_id : "", vstr(v, site, "name"));
    }
    later_groups(h, v, runs);
    html_raw(h, "<details class=\"govuk-details\"><summary class=\"govuk-details__summary\">"
                "<span class=\"govuk-details__summary-text\">Who can attend</span></summary>"
                "<div class=\"govuk-details__text\">");
    who_can_attend_text(h);
    html_raw(h, "</div></details>");
    html_printf(h,
                "<h4 class=\"govuk-heading-s\">Run by %s</h4>"
                "<dl class=\"govuk-summary-list\">",
                vstr(v, org, "name"));
    row_start(h, "Address");
    for (line = jview_first(v, lines); line >= 0; line = jview_next(v, lines, line)) {
        html_printf(h, "%s<br>", jview_str(v, line));
    }
    html_printf(h, "%s<br>%s", vstr(v, site, "town"), vstr(v, site, "postcode"));
    row_end(h);
    if (phone != NULL) {
        row_start(h, "Phone");
        write_phone(h, phone);
        row_end(h);
    }
    if (email != NULL) {
        row_start(h, "Email");
        html_printf(h, "<a class=\"govuk-link app-break\" href=\"mailto:%s\">%s</a>", email, email);
        row_end(h);
    }
    if (website != NULL) {
        row_start(h, "Website");
        if (safe_web_link(website)) {
            html_printf(h, "<a class=\"govuk-link app-break\" href=\"%s\">%s</a>", website,
                        website);
        } else {
            html_text(h, website);
        }
        row_end(h);
    }
    if (access != NULL) {
        row_start(h, "Access");
        html_printf(h, "%s", access);
        row_end(h);
    }
    html_raw(h, "</dl>");
    if (phone == NULL && email == NULL) {
        central_contact(h, contact,
                        "This site has no phone number or email of its own here. To ask "
                        "about it, contact:");
    }
    html_raw(h, "</li>");
}

/* The largest distance the finder offers. */
static const char *
largest_radius(void)
{
    size_t i = 0;

    while (radius_choices[i + 1] != NULL) {
        i++;
    }
    return radius_choices[i];
}

/* The search as words, for the results heading: "within 16 miles (25 km) of ME4 4AB", with the
 * filters. */
static void
write_searched(struct html *h, const char *where, const char *radius, int self, const char *within)
{
    double km = atof(radius);

    html_printf(h, "within %.0f miles (%s km) of ", miles(km), radius);
    if (where != NULL) {
        html_text(h, where);
    } else {
        html_raw(h, "your location");
    }
    if (self) {
        html_raw(h, ", that families can refer themselves to");
    }
    if (within != NULL) {
        html_printf(h, ", starting within %s days", within);
    }
}

/* The results of a search: `where` says from where ("ME4 4AB", or NULL: the user's location).
 * Never a dead end: with nothing near, the nearest beyond, a larger distance when there is one,
 * and the central contact with where else to ask. The heading takes focus (tabindex -1;
 * find.js moves focus to it). */
static void
find_results(struct html *h,
             const struct jview *v,
             const char *where,
             const char *radius,
             int self,
             const char *within)
{
    int items = jview_get(v, 0, "items"), beyond = jview_get(v, 0, "nearest_beyond"), item, i;
    size_t n = jview_size(v, items);
    int largest = strcmp(radius, largest_radius()) == 0;
    struct contact contact;

    contact_from_view(&contact, v, jview_get(v, 0, "central_contact"));

    html_raw(h, "<h2 class=\"govuk-heading-l\" id=\"results\" tabindex=\"-1\">");
    html_raw(h, n == 0 ? "No M-PACT " : "M-PACT ");
    write_searched(h, where, radius, self, within);
    html_raw(h, "</h2>");
    if (n > 0) {
        html_printf(h, "<p class=\"govuk-body\">%zu %H found, nearest first.</p>", n,
                    n == 1 ? "place" : "places");
        html_raw(h, "<ol class=\"govuk-list app-results\" aria-labelledby=\"results\">");
        for (i = 1, item = jview_first(v, items); item >= 0;
             i++, item = jview_next(v, items, item)) {
            provider(h, v, item, i, &contact);
        }
        html_raw(h, "</ol>");
        if (largest) {
            central_contact(h, &contact, "If none of these is near enough for you, you can ask:");
        }
        return;
    }
    if (jview_is_object(v, beyond)) {
        html_raw(h, "<p class=\"govuk-body\">The nearest M-PACT is further away:</p>"
                    "<ol class=\"govuk-list app-results\" aria-labelledby=\"results\">");
        provider(h, v, beyond, 1, &contact);
        html_raw(h, "</ol>");
    } else {
        html_raw(h, "<p class=\"govuk-body\">No licensed organisation runs M-PACT anywhere we "
                    "know of at the moment.</p>");
    }
    html_raw(h, "<h3 class=\"govuk-heading-m\">What you can do next</h3>");
    if (!largest) {
        html_raw(h, "<p class=\"govuk-body\">You can <a class=\"govuk-link\" href=\"#postcode\">"
                    "search again</a> with a larger distance.</p>");
    } else {
        html_raw(h, "<p class=\"govuk-body\">You searched the largest distance we offer.</p>");
    }
    if (self || within != NULL) {
        html_raw(h, "<p class=\"govuk-body\">You can also search again without the filters: "
                    "a professional can refer you to a group, and new groups start often.</p>");
    }
    central_contact(h, &contact, "For help finding support, you can contact:");
}

/* The postcode as typed, tidied for showing: outer spaces dropped, letters in capitals. Writes
 * at most len-1 bytes. */
static void
tidy_postcode(const char *in, char *out, size_t len)
{
    size_t n = 0;

    while (*in == ' ') {
        in++;
    }
    for (; *in != '\0' && n < len - 1; in++) {
        out[n++] = (*in >= 'a' && *in <= 'z') ? (char)(*in - 'a' + 'A') : *in;
    }
    while (n > 0 && out[n - 1] == ' ') {
        n--;
    }
    out[n] = '\0';
}

/* ---- The finder's one box: a postcode, an Eircode or a town ---------------------------------- */

/* Adds the search for what was typed in the box to `search`: anything with a digit (a UK
 * postcode, its outward code, an Eircode or a mistyped one; no town's name has one) as postcode=,
 * the rest as place= (a town; with `area`, one of its choices). An Eircode says it cannot be
 * looked up (find_box_error). `shown` becomes what the
 * results title says: the postcode in capitals (as tidied already), a town as typed. */
static void
find_box_search(struct query *search, const char *typed, const char *area, char *shown, size_t len)
{
    if (strpbrk(typed, "0123456789") != NULL) {
        search->items[search->n].name = "postcode";
        search->items[search->n++].value = typed;
        return;
    }
    search->items[search->n].name = "place";
    search->items[search->n++].value = typed;
    if (area != NULL && *area != '\0') {
        search->items[search->n].name = "area";
        search->items[search->n++].value = area;
    }
    typed += strspn(typed, " ");
    snprintf(shown, len, "%s", typed);
    while (*shown != '\0' && shown[strlen(shown) - 1] == ' ') {
        shown[strlen(shown) - 1] = '\0';
    }
    if (area != NULL && *area != '\0' && strlen(shown) + strlen(area) + 3 < len) {
        strcat(shown, ", ");
        strcat(shown, area);
    }
}

/* The box's message for a search that failed on the place or an Eircode (else `otherwise`). */
static const char *
find_box_error(const struct public_error *e, const char *typed, const char *otherwise)
{
    char eir[EIRCODE_MAX];

    if (typed != NULL && strlen(typed) <= 16 && validate_eircode(typed, eir, sizeof(eir)) == 0) {
        return "We cannot search by Eircode yet. Enter the name of your town, like Cork";
    }
    if (e->field == NULL || strcmp(e->field, "place") != 0) {
        return otherwise;
    }
    return e->fault == PUBLIC_NOT_FOUND
               ? "We could not find a town or place with that name. Check the spelling, or enter "
                 "a postcode"
               : "Enter a postcode, like ME4 4AB, or at least 3 letters of the name of a town";
}

/* The places a town's name fits, as links that search around each ("Which Newport did you
 * mean?"). */
static void
find_choices(struct html *h, const struct jview *v, const char *radius)
{
    int choices = jview_get(v, 0, "choices"), c;

    html_printf(h, "<h2 class=\"govuk-heading-l\" id=\"results\">Which %s did you mean?</h2>",
                vstr(v, jview_first(v, choices), "name"));
    html_raw(h, "<p class=\"govuk-body\">More than one place has that name. Choose yours:</p>"
                "<ul class=\"govuk-list\" aria-labelledby=\"results\">");
    for (c = jview_first(v, choices); c >= 0; c = jview_next(v, choices, c)) {
        const char *area = vstr(v, c, "area"), *country = vstr(v, c, "country");
        int ireland = country != NULL && strcmp(country, "IE") == 0;

        html_printf(h,
                    "<li><a class=\"govuk-link\" href=\"/find?postcode=%Q&amp;area=%Q&amp;"
                    "radius=%Q\">%s%H%s%H</a></li>",
                    vstr(v, c, "name"), area != NULL ? area : "", radius, vstr(v, c, "name"),
                    area != NULL ? ", " : "", area != NULL ? area : "", ireland ? ", Ireland" : "");
    }
    html_raw(h, "</ul><p class=\"govuk-body\">Not there? <a class=\"govuk-link\" "
                "href=\"#postcode\">Search again</a> with your postcode.</p>");
}

int
pages_find(struct req *r)
{
    static const char *const allowed[] = {"postcode", "area",          "radius", "lat",
                                          "lon",      "self_referral", "within", NULL};
    struct html_error errors[2] = {{NULL, NULL}, {NULL, NULL}};
    struct public_error e;
    struct query q, search;
    struct html h;
    struct jview v; /* the search's answer (public_find_providers_text), when there is one */
    char *answer = NULL;
    size_t answer_len = 0;
    const char *postcode, *radius, *lat, *lon, *postcode_error = NULL, *radius_error = NULL;
    const char *within;
    int self;
    char shown[24];
    size_t nerr = 0;
    int status = 200, i, searched;

    public_error_init(&e);
    jview_init(&v);
    html_init(&h);
    memset(&search, 0, sizeof(search));
    if ((status = http_query_page_or_problem(r, allowed, &q)) != 0) {
        goto out;
    }
    status = 200;
    postcode = query_get(&q, "postcode");
    radius = query_get(&q, "radius");
    lat = query_get(&q, "lat");
    lon = query_get(&q, "lon");
    find_filter_query(&q, &self, &within);
    searched = postcode != NULL || lat != NULL || lon != NULL;
    tidy_postcode(postcode != NULL ? postcode : "", shown, sizeof(shown));
    if (radius == NULL || *radius == '\0') {
        radius = FIND_RADIUS_DEFAULT;
    } else {
        for (i = 0; radius_choices[i] != NULL && strcmp(radius, radius_choices[i]) != 0; i++) {
        }
        if (radius_choices[i] == NULL) {
            radius_error = "Select how far you can travel";
            radius = FIND_RADIUS_DEFAULT;
        }
    }
    if (searched && postcode != NULL && shown[0] == '\0') {
        postcode_error = "Enter a postcode";
    }
    if (searched && postcode_error == NULL && radius_error == NULL) {
        /* The public API's own search, with its names. */
        if (postcode != NULL) {
            find_box_search(&search, postcode, query_get(&q, "area"), shown, sizeof(shown));
        }
        if (lat != NULL) {
            search.items[search.n].name = "lat";
            search.items[search.n++].value = lat;
        }
        if (lon != NULL) {
            search.items[search.n].name = "lon";
            search.items[search.n++].value = lon;
        }
        search.items[search.n].name = "radius_km";
        search.items[search.n++].value = radius;
        if (self) {
            search.items[search.n].name = "self_referral";
            search.items[search.n++].value = "true";
        }
        if (within != NULL) {
            search.items[search.n].name = "starting_within_days";
            search.items[search.n++].value = within;
        }
        answer = public_find_providers_text(r->db, &search, &e, &answer_len);
        if (answer != NULL && jview_parse(&v, answer, answer_len) != 0) {
            e.fault = PUBLIC_INTERNAL; /* not the JSON the search writes */
            free(answer);
            answer = NULL;
        }
        if (answer != NULL) {
            html_reserve(&h, 4 * answer_len + 12288); /* the page, about, in one allocation */
        } else {
            switch (e.fault) {
            case PUBLIC_BAD_INPUT:
                postcode_error =
                    postcode != NULL && e.field != NULL && strcmp(e.field, "postcode") == 0
                        ? "Enter a real postcode, like ME4 4AB"
                        : "We could not use your location. Enter a postcode "
                          "instead";
                postcode_error = find_box_error(&e, postcode, postcode_error);
                status = 400;
                break;
            case PUBLIC_NOT_FOUND:
                postcode_error = e.postcode == PUBLIC_POSTCODE_OUTWARD
                                     ? "We do not know that postcode area. Enter a full "
                                       "postcode, like ME4 4AB"
                                     : "We could not find that postcode. Check it and try again";
                postcode_error = find_box_error(&e, postcode, postcode_error);
                status = 404;
                break;
            default:
                status = html_send_db_error(r, e.res, "no-store");
                goto out;
            }
        }
    }
    if (postcode_error != NULL) {
        errors[nerr].field_id = "postcode";
        errors[nerr++].message = postcode_error;
        status = status == 200 ? 400 : status;
    }
    if (radius_error != NULL) {
        errors[nerr].field_id = "radius";
        errors[nerr++].message = radius_error;
        status = status == 200 ? 400 : status;
    }
    html_page_start(&h, nerr > 0 ? "Error: Find M-PACT near you" : "Find M-PACT near you",
                    HTML_NAV_FIND);
    html_raw(&h, "<div class=\"govuk-grid-row\"><div class=\"govuk-grid-column-two-thirds\">");
    html_error_summary(&h, errors, nerr);
    html_raw(&h, "<h1 class=\"govuk-heading-l\">Find M-PACT near you</h1>"
                 "<p class=\"govuk-body\">Enter a postcode or a town to see where M-PACT groups "
                 "run near you, when they start and whether places are left.</p>");
    find_form(&h, postcode != NULL ? postcode : "", radius, postcode_error, radius_error, self,
              within);
    if (answer != NULL && jview_get(&v, 0, "choices") >= 0) {
        find_choices(&h, &v, radius);
    } else if (answer != NULL) {
        find_results(&h, &v, postcode != NULL ? shown : NULL, radius, self, within);
    }
    html_raw(&h, "</div></div>");
    html_page_end(&h, "/assets/js/find.js");
    status = html_send(r, status, &h, "no-store");
out:
    jview_cleanup(&v);
    free(answer);
    public_error_cleanup(&e);
    html_cleanup(&h);
    query_cleanup(&q);
    return status;
}

/* ---- Check a facilitator ------------------------------------------------------------------ */

/* The GOV.UK tag class and the plain words for each status on the public register: the colours
 * of the one map the console and the portal use (TAG_COLOURS in static/assets/js/app/ui.mjs;
 * browser.console checks that they agree). */
static const struct {
    const char *status, *label, *tag, *meaning;
} statuses[] = {
    {"accredited", "Accredited", "govuk-tag--green",
     "is accredited and may deliver M-PACT for a licensed organisation"},
    {"lapsed", "Lapsed", "govuk-tag--orange",
     "is no longer accredited because their accreditation ran out. They must not deliver M-PACT "
     "until they renew it with refresher training"},
    {"suspended", "Suspended", "govuk-tag--red",
     "is suspended by the licensing body. They must not deliver M-PACT while suspended"},
    {"withdrawn", "Withdrawn", "govuk-tag--grey",
     "is no longer accredited: their accreditation was withdrawn. They must not deliver M-PACT"},
    {"in_training", "In training", "govuk-tag--blue",
     "is still in training. They must not deliver M-PACT until they are accredited"},
};

static int
status_index(const char *status)
{
    size_t i;

    for (i = 0; status != NULL && i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        if (strcmp(status, statuses[i].status) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void
status_tag(struct html *h, const char *status)
{
    int k = status_index(status);

    if (k < 0) {
        html_printf(h, "<strong class=\"govuk-tag govuk-tag--grey\">%s</strong>", status);
    } else {
        html_printf(h, "<strong class=\"govuk-tag %H\">%H</strong>", statuses[k].tag,
                    statuses[k].label);
    }
}

static void
employer(struct html *h, json_t *fac)
{
    json_t *org = json_object_get(fac, "organisation");

    if (!json_is_object(org)) {
        html_raw(h, "None recorded");
        return;
    }
    html_text(h, jstr(org, "name"));
    if (jstr(org, "town") != NULL) {
        html_printf(h, ", %s", jstr(org, "town"));
    }
}

/* One facilitator in full: name, number, status with what it means, accredited until, employer. */
static void
facilitator_detail(struct html *h, json_t *fac)
{
    const char *status = jstr(fac, "status"), *until = jstr(fac, "accredited_until");
    int k = status_index(status);

    html_printf(h,
                "<h2 class=\"govuk-heading-l\" id=\"facilitator\">%s %s</h2>"
                "<dl class=\"govuk-summary-list\">"
                "<div class=\"govuk-summary-list__row\">"
                "<dt class=\"govuk-summary-list__key\">Registration number</dt>"
                "<dd class=\"govuk-summary-list__value\">%s</dd></div>"
                "<div class=\"govuk-summary-list__row\">"
                "<dt class=\"govuk-summary-list__key\">Status</dt>"
                "<dd class=\"govuk-summary-list__value\">",
                jstr(fac, "given_name"), jstr(fac, "family_name"),
                jstr(fac, "registration_number"));
    status_tag(h, status);
    html_raw(h, "</dd></div><div class=\"govuk-summary-list__row\">"
                "<dt class=\"govuk-summary-list__key\">");
    html_raw(h, status != NULL && strcmp(status, "lapsed") == 0 ? "Accreditation ended"
                                                                : "Accredited until");
    html_raw(h, "</dt><dd class=\"govuk-summary-list__value\">");
    if (until != NULL) {
        write_date(h, until);
    } else {
        html_raw(h, "Not accredited");
    }
    html_raw(h, "</dd></div><div class=\"govuk-summary-list__row\">"
                "<dt class=\"govuk-summary-list__key\">Current employer</dt>"
                "<dd class=\"govuk-summary-list__value\">");
    employer(h, fac);
    html_raw(h, "</dd></div></dl>");
    /* Accredited, but not employed by an organisation licensed today: not at present. */
    if (k >= 0 && strcmp(status, "accredited") == 0
        && !json_is_true(json_object_get(fac, "may_deliver"))) {
        html_printf(h,
                    "<div class=\"govuk-inset-text app-meaning\">%s %s is accredited, but cannot "
                    "deliver M-PACT at present: they are not working for an organisation that "
                    "holds an active M-PACT licence.</div>",
                    jstr(fac, "given_name"), jstr(fac, "family_name"));
        return;
    }
    html_printf(h, "<div class=\"govuk-inset-text app-meaning\">%s %s %H", jstr(fac, "given_name"),
                jstr(fac, "family_name"),
                k >= 0 ? statuses[k].meaning : "has a status we cannot describe");
    if (k >= 0 && strcmp(status, "accredited") == 0 && until != NULL) {
        html_raw(h, " until ");
        write_date(h, until);
    }
    html_raw(h, ".</div>");
}

/* Several matches: a table, each name linking to its entry. */
static void
facilitator_table(struct html *h, json_t *items, const char *name)
{
    json_t *fac;
    size_t i;

    html_printf(h,
                "<h2 class=\"govuk-heading-l\" id=\"results\">%zu facilitators match "
                "&ldquo;%s&rdquo;</h2>"
                "<table class=\"govuk-table\"><caption class=\"govuk-table__caption "
                "govuk-visually-hidden\">Facilitators on the register whose name starts with "
                "&ldquo;%s&rdquo;</caption>"
                "<thead class=\"govuk-table__head\"><tr class=\"govuk-table__row\">"
                "<th scope=\"col\" class=\"govuk-table__header\">Name</th>"
                "<th scope=\"col\" class=\"govuk-table__header\">Status</th>"
                "<th scope=\"col\" class=\"govuk-table__header\">Employer</th>"
                "</tr></thead><tbody class=\"govuk-table__body\">",
                json_array_size(items), name, name);
    json_array_foreach(items, i, fac)
    {
        html_printf(h,
                    "<tr class=\"govuk-table__row\"><td class=\"govuk-table__cell\">"
                    "<a class=\"govuk-link\" href=\"/check?q=%Q\">%s %s</a><br>"
                    "<span class=\"govuk-body-s\">%s</span></td>"
                    "<td class=\"govuk-table__cell\">",
                    jstr(fac, "registration_number"), jstr(fac, "given_name"),
                    jstr(fac, "family_name"), jstr(fac, "registration_number"));
        status_tag(h, jstr(fac, "status"));
        html_raw(h, "</td><td class=\"govuk-table__cell\">");
        employer(h, fac);
        html_raw(h, "</td></tr>");
    }
    html_raw(h, "</tbody></table>");
    if (json_array_size(items) >= 20) {
        html_raw(h, "<p class=\"govuk-body\">Only the first 20 are shown. Type more of the name "
                    "to narrow the search.</p>");
    }
}

/* A registration number as typed ("mpf000123", " MPF-000123 ") in the register's form
 * ("MPF-000123") into `out`. Returns 1 when `in` looks like a number (it holds a digit), 0 when
 * it does not, -1 when it is too long for `out` (no number is that long). */
static int
as_number(const char *in, char *out, size_t len)
{
    size_t n = 0;
    int digit = 0, letters = 0;

    for (; *in != '\0' && n < len - 2; in++) {
        char c = *in;

        if (c == ' ') {
            continue;
        }
        if (c >= 'a' && c <= 'z') {
            c = (char)(c - 'a' + 'A');
        }
        if (c >= '0' && c <= '9') {
            if (!digit && letters > 0 && n > 0 && out[n - 1] != '-') {
                out[n++] = '-';
            }
            digit = 1;
        } else if (c >= 'A' && c <= 'Z') {
            letters++;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    while (*in == ' ') {
        in++;
    }
    return *in != '\0' ? -1 : digit;
}

int
pages_check(struct req *r)
{
    static const char *const allowed[] = {"q", NULL};
    struct html_error error = {NULL, NULL};
    struct public_error e;
    struct query q;
    struct html h;
    json_t *body = NULL;
    const char *given, *message = NULL;
    char number[40];
    int status, by_number = 0;

    public_error_init(&e);
    html_init(&h);
    if ((status = http_query_page_or_problem(r, allowed, &q)) != 0) {
        goto out;
    }
    status = 200;
    given = query_get(&q, "q");
    if (given != NULL) {
        by_number = as_number(given, number, sizeof(number));
        if (number[0] == '\0') {
            message = "Enter a registration number or a name";
        } else if (by_number < 0 && strpbrk(given, "0123456789") != NULL) {
            status = 404; /* too long to be a registration number */
        } else if (by_number < 0) {
            by_number = 0;
            body = public_find_facilitators(r->db, given, &e);
        } else if (by_number) {
            body = public_find_facilitator(r->db, number, &e);
        } else {
            body = public_find_facilitators(r->db, given, &e);
        }
        if (message == NULL && body == NULL && status != 404) {
            switch (e.fault) {
            case PUBLIC_BAD_INPUT:
                message = "Enter at least 3 letters of the name, or a registration number like "
                          "MPF-000123";
                break;
            case PUBLIC_NOT_FOUND:
                status = 404;
                break;
            default:
                status = html_send_db_error(r, e.res, NULL);
                goto out;
            }
        }
    }
    if (message != NULL) {
        status = 400;
        error.field_id = "q";
        error.message = message;
    }
    html_page_start(&h, message != NULL ? "Error: Check a facilitator" : "Check a facilitator",
                    HTML_NAV_CHECK);
    html_raw(&h, "<div class=\"govuk-grid-row\"><div class=\"govuk-grid-column-two-thirds\">");
    html_error_summary(&h, &error, message != NULL ? 1 : 0);
    html_raw(&h, "<h1 class=\"govuk-heading-l\">Check a facilitator</h1>"
                 "<p class=\"govuk-body\">Check whether someone is accredited to deliver "
                 "M-PACT. People still in training are not on the register.</p>"
                 "<form method=\"get\" action=\"/check\" novalidate>");
    html_printf(&h, "<div class=\"govuk-form-group%H\">",
                message != NULL ? " govuk-form-group--error" : "");
    html_raw(&h, "<label class=\"govuk-label govuk-label--s\" for=\"q\">Registration number or "
                 "name</label><div id=\"q-hint\" class=\"govuk-hint\">For example, MPF-000123 or "
                 "Sian Jones</div>");
    html_field_error(&h, "q", message);
    html_printf(&h,
                "<input class=\"govuk-input govuk-!-width-two-thirds%H\" id=\"q\" name=\"q\" "
                "type=\"text\" spellcheck=\"false\" autocomplete=\"off\" "
                "aria-describedby=\"q-hint%H\" value=\"%s\"></div>"
                "<button type=\"submit\" class=\"govuk-button\" data-module=\"govuk-button\">"
                "Check</button></form>",
                message != NULL ? " govuk-input--error" : "", message != NULL ? " q-error" : "",
                given != NULL ? given : "");
    if (status == 404) {
        html_printf(&h,
                    "<h2 class=\"govuk-heading-l\" id=\"results\">Not on the register</h2>"
                    "<p class=\"govuk-body\">No facilitator on the register has the registration "
                    "number %s. Check the number and try again, or search by name.</p>"
                    "<p class=\"govuk-body\">Someone who is not on the register must not deliver "
                    "M-PACT.</p>",
                    given);
    } else if (body != NULL && by_number) {
        facilitator_detail(&h, body);
    } else if (body != NULL) {
        json_t *items = json_object_get(body, "items");

        if (json_array_size(items) == 1) {
            facilitator_detail(&h, json_array_get(items, 0));
        } else if (json_array_size(items) == 0) {
            html_printf(&h,
                        "<h2 class=\"govuk-heading-l\" id=\"results\">Not on the register</h2>"
                        "<p class=\"govuk-body\">No facilitator on the register has a name "
                        "starting &ldquo;%s&rdquo;. Check the spelling, or search by "
                        "registration number.</p>"
                        "<p class=\"govuk-body\">Someone who is not on the register must not "
                        "deliver M-PACT.</p>",
                        given);
        } else {
            facilitator_table(&h, items, given);
        }
    }
    html_raw(&h, "</div></div>");
    html_page_end(&h, NULL);
    status = html_send(r, status, &h, "no-cache");
out:
    json_decref(body);
    public_error_cleanup(&e);
    html_cleanup(&h);
    query_cleanup(&q);
    return status;
}

/* ---- What M-PACT has achieved ------------------------------------------------------------- */

/* How a withheld figure reads. Not "fewer than 5": a figure withheld so that a total cannot give
 * a small one back may be any size, and the page must not tell which kind a cell is (with a total
 * visible, knowing that one of two withheld cells is 5 or more can pin the other down). */
#define IMPACT_WITHHELD "withheld"

/* The columns of the figures, as impact_public_figures names them, with their headings. */
static const struct {
    const char *key, *heading;
} impact_columns[] = {
    {"practitioners_trained", "Practitioners trained"},
    {"runs", "Groups completed"},
    {"families", "Families reached"},
    {"participants", "Participants (adults and children)"},
    {"locations", "Locations"},
};

/* Writes integer `n` with thousands separators ("2,500"). */
static void
write_count(struct html *h, json_int_t n)
{
    char digits[32], out[48];
    size_t len, i, o = 0;

    snprintf(digits, sizeof(digits), "%lld", (long long)(n < 0 ? -n : n));
    len = strlen(digits);
    if (n < 0) {
        out[o++] = '-';
    }
    for (i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0) {
            out[o++] = ',';
        }
        out[o++] = digits[i];
    }
    out[o] = '\0';
    html_text(h, out);
}

/* One row of the figures table: `label` in its header cell, then each figure of `row` (null:
 * withheld). */
static void
impact_row(struct html *h, const char *label, json_t *row)
{
    size_t i;

    html_printf(h,
                "<tr class=\"govuk-table__row\"><th scope=\"row\" "
                "class=\"govuk-table__header\">%s</th>",
                label);
    for (i = 0; i < sizeof(impact_columns) / sizeof(impact_columns[0]); i++) {
        json_t *v = json_object_get(row, impact_columns[i].key);

        if (json_is_integer(v)) {
            html_raw(h, "<td class=\"govuk-table__cell govuk-table__cell--numeric\">");
            write_count(h, json_integer_value(v));
        } else {
            html_raw(h, "<td class=\"govuk-table__cell govuk-table__cell--numeric "
                        "app-withheld\">" IMPACT_WITHHELD);
        }
        html_raw(h, "</td>");
    }
    html_raw(h, "</tr>");
}

/* The licensing body's totals from before the registry (`before`, an object or null). */
static void
impact_history(struct html *h, json_t *before)
{
    json_t *trained = json_object_get(before, "practitioners_trained"),
           *participants = json_object_get(before, "participants"),
           *families = json_object_get(before, "families"),
           *locations = json_object_get(before, "locations");
    const char *as_of = jstr(before, "as_of"), *note = jstr(before, "note");
    int y, m, d;

    if (!json_is_object(before)) {
        return;
    }
    html_raw(h, "<h2 class=\"govuk-heading-m\" id=\"before-registry\">Before the registry</h2>"
                "<p class=\"govuk-body\">These are the licensing body's own records from before "
                "this registry began. They are not part of the figures above.</p>"
                "<div class=\"govuk-inset-text app-before-registry\"><p class=\"govuk-body\">");
    write_count(h, json_integer_value(trained));
    html_raw(h, " practitioners trained ");
    if (as_of != NULL && sscanf(as_of, "%4d-%2d-%2d", &y, &m, &d) == 3 && m == 12 && d == 31) {
        html_printf(h, "by the end of %d", y);
    } else {
        html_raw(h, "by ");
        write_date(h, as_of);
    }
    html_raw(h, ", ");
    write_count(h, json_integer_value(participants));
    html_raw(h, " participants from ");
    write_count(h, json_integer_value(families));
    html_raw(h, " families at about ");
    write_count(h, json_integer_value(locations));
    html_printf(h, " locations since %d.</p>",
                (int)json_integer_value(json_object_get(before, "since_year")));
    if (note != NULL) {
        html_printf(h, "<p class=\"govuk-body-s\">%s</p>", note);
    }
    html_raw(h, "</div>");
}

int
pages_impact(struct req *r)
{
    static const char *const allowed[] = {NULL};
    struct public_error e;
    struct query q;
    struct html h;
    json_t *body = NULL, *years, *row;
    char label[16];
    size_t i;
    int status;

    public_error_init(&e);
    html_init(&h);
    if ((status = http_query_page_or_problem(r, allowed, &q)) != 0) {
        goto out;
    }
    if ((body = impact_public_figures(r->db, &e)) == NULL) {
        status = html_send_db_error(r, e.res, NULL);
        goto out;
    }
    years = json_object_get(body, "years");
    html_page_start(&h, "What M-PACT has achieved", HTML_NAV_NONE);
    html_raw(&h, "<div class=\"govuk-grid-row\"><div class=\"govuk-grid-column-full\">"
                 "<h1 class=\"govuk-heading-l\">What M-PACT has achieved</h1>"
                 "<p class=\"govuk-body\">The families, participants and locations M-PACT groups "
                 "reached, and the practitioners trained to run them, by the year each group "
                 "ended, as recorded in this registry.</p>");
    if (json_array_size(years) == 0) {
        html_raw(&h, "<p class=\"govuk-body\" id=\"no-figures\">No completed groups are recorded "
                     "in the registry yet.</p>");
    } else {
        html_raw(&h,
                 "<p class=\"govuk-body\" id=\"withheld-note\">To protect families' "
                 "privacy, numbers from 1 to 4 are not shown: they read "
                 "&ldquo;" IMPACT_WITHHELD "&rdquo;. So that they cannot be worked out from "
                 "a total, another number in the same column may be withheld with them.</p>"
                 "<h2 class=\"govuk-heading-m\" id=\"impact-caption\">Figures by year and since "
                 "the start</h2><div class=\"app-table-scroll\" role=\"region\" "
                 "tabindex=\"0\" aria-labelledby=\"impact-caption\"><table "
                 "class=\"govuk-table app-impact\"><caption class=\"govuk-table__caption "
                 "govuk-visually-hidden\">Figures by year and since the start</caption><thead "
                 "class=\"govuk-table__head\">"
                 "<tr class=\"govuk-table__row\"><th scope=\"col\" "
                 "class=\"govuk-table__header\">Year</th>");
        for (i = 0; i < sizeof(impact_columns) / sizeof(impact_columns[0]); i++) {
            html_printf(&h,
                        "<th scope=\"col\" class=\"govuk-table__header "
                        "govuk-table__header--numeric\">%s</th>",
                        impact_columns[i].heading);
        }
        html_raw(&h, "</tr></thead><tbody class=\"govuk-table__body\">");
        json_array_foreach(years, i, row)
        {
            snprintf(label, sizeof(label), "%lld",
                     (long long)json_integer_value(json_object_get(row, "year")));
            impact_row(&h, label, row);
        }
        impact_row(&h, "Since the start", json_object_get(body, "since_start"));
        html_raw(&h, "</tbody></table></div>");
    }
    impact_history(&h, json_object_get(body, "before_registry"));
    html_raw(&h, "</div></div>");
    html_page_end(&h, NULL);
    status = html_send(r, 200, &h, NULL);
out:
    json_decref(body);
    public_error_cleanup(&e);
    html_cleanup(&h);
    query_cleanup(&q);
    return status;
}

/* The applications' pages: the console and the portal draw themselves (ES modules under
 * /assets/js/app/ calling the /v1 API with the user's token); without JavaScript they say so. */
static const char needs_js[] =
    "<p class=\"govuk-body\" id=\"needs-js\">This service needs JavaScript. Turn it on in your "
    "browser, then reload this page.</p>";

/* GET /console: the licensing body's console. */
int
pages_console(struct req *r)
{
    static const char *const scripts[] = {"/assets/vendor/chart.umd.min.js", NULL};
    static const struct html_app app = {
        "Licensing body console",
        "/console#/",
        "Licensing body console menu",
        NULL,
        needs_js,
        scripts,
        "/assets/js/app/console.mjs",
    };

    return html_send_app(r, &app);
}

/* GET /portal: the licensee portal. */
int
pages_portal(struct req *r)
{
    /* No Chart.js here: the briefing (briefing.mjs) loads it when it is opened. */
    static const struct html_app app = {
        "Licensee portal", "/portal#/", "Licensee portal menu",      NULL,
        needs_js,          NULL,        "/assets/js/app/portal.mjs",
    };

    return html_send_app(r, &app);
}

/* GET /docs: the API description (/openapi.json) drawn in GOV.UK Frontend markup by our own module
 * (assets/js/docs.js): contents, operations with their parameters, bodies and responses, and the
 * schemas. Without JavaScript the page links to the description itself. */
int
pages_docs(struct req *r)
{
    static const struct html_app app = {
        "API documentation",
        NULL,
        NULL,
        "/assets/docs.css",
        "<p class=\"govuk-body\">The registry's JSON API, described in OpenAPI 3.1: "
        "<a class=\"govuk-link\" href=\"/openapi.json\">openapi.json</a>. Sign in with "
        "<code>POST /v1/auth/token</code> and send the access token as "
        "<code>Authorization: Bearer &lt;token&gt;</code>.</p>"
        "<noscript><p class=\"govuk-body\">This page needs JavaScript to show the description; "
        "the description itself is the file above.</p></noscript>"
        "<div id=\"api-docs\" class=\"app-docs\" aria-busy=\"true\">"
        "<p class=\"govuk-body app-docs-loading\">Loading the description.</p></div>",
        NULL,
        "/assets/js/docs.js",
    };

    return html_send_app(r, &app);
}

/* ---- The central contact (settings.c) ------------------------------------------------------- */

void
pages_central_contact(struct html *h, json_t *contact, const char *lead)
{
    struct contact c;

    c.present = json_is_object(contact);
    c.name = jstr(contact, "name");
    c.phone = jstr(contact, "phone");
    c.email = jstr(contact, "email");
    c.chat = jstr(contact, "web_chat_url");
    c.hours = jstr(contact, "opening_hours");
    central_contact(h, &c, lead);
}

/* ---- Feedback (the beta banner's link) ------------------------------------------------------ */

int
pages_feedback(struct req *r)
{
    char address[256];
    json_t *contact = settings_central_contact(r->db, address, sizeof(address));
    struct html h;
    int status;

    html_init(&h);
    html_page_start(&h, "Give feedback", HTML_NAV_NONE);
    html_raw(&h, "<div class=\"govuk-grid-row\"><div class=\"govuk-grid-column-two-thirds\">"
                 "<h1 class=\"govuk-heading-l\">Give feedback</h1>"
                 "<p class=\"govuk-body\">This is a new service. Tell us what worked, what did "
                 "not, and what you expected to find.</p>");
    if (address[0] != '\0') {
        html_printf(&h,
                    "<p class=\"govuk-body\">Email your feedback to <a class=\"govuk-link "
                    "app-break\" href=\"mailto:%s?subject=Feedback%%20on%%20the%%20M-PACT%%20"
                    "Registry\">%s</a>.</p>",
                    address, address);
    } else {
        html_raw(&h, "<p class=\"govuk-body\">Tell your M-PACT licensing body what you think of "
                     "it.</p>");
    }
    html_raw(&h, "<p class=\"govuk-body\">Do not include personal details about your family in "
                 "feedback. To ask about a place on a group, use <a class=\"govuk-link\" "
                 "href=\"/find\">Find M-PACT near you</a>.</p>");
    if (json_is_object(contact)) {
        pages_central_contact(&h, contact, "If you need help or support, contact:");
    }
    html_raw(&h, "</div></div>");
    html_page_end(&h, NULL);
    status = html_send(r, 200, &h, NULL);
    html_cleanup(&h);
    json_decref(contact);
    return status;
}
