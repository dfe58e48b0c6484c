/* it_pages.c: the public pages (/, /find, /check) over HTTP, against the real server and
 * PostgreSQL, without a browser (tests/browser/public.test.mjs drives them in chromium).
 *
 * Every page: 200 text/html with the page security headers (CSP without inline script,
 * Referrer-Policy no-referrer, X-Frame-Options DENY), lang en-GB, the skip link to
 * #main-content, the service navigation, scripts only as module files and no inline script,
 * style or event handler. Find: results nearest first with distance in km and miles, contact
 * details (tel: and mailto: links; a website that is not http(s) is shown, never linked),
 * upcoming runs with dates, places left and self-referral; the error summary linked to the field
 * for an empty, malformed or unknown postcode and a radius off the list (400/404); nothing within
 * the radius with the nearest provider beyond it; a search from coordinates that never echoes
 * them; Cache-Control no-store; and neither the postcode nor the coordinates in the server's log.
 * Check: by registration number (as typed: lower case, no hyphen) with the coloured tag, what
 * the status means and "accredited until"; by name (one match in full, several as a table
 * linking to each number, none); each status's tag; the error summary for an empty or too-short
 * query; 404 for an unknown number. Impact: the programme's figures by year and since the start
 * as GET /v1/public/impact has them, withheld ones reading "withheld" (a count from 1 to 4, or
 * one withheld with it so that the total cannot give it back), and the licensing body's totals
 * from before the registry. Untrusted text (organisation, site and facilitator names with markup
 * and quotes) is always escaped. The finder's pages are byte for byte their golden renderings
 * (tests/integration/golden: results, filters, the nearest beyond, towns, choices, errors, with
 * hostile text in every field). The pages are rate-limited as the public API is. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "itlib.h"

/* No rate limit, and the public figures computed on every request (the test changes the runs
 * between two looks at /impact). */
static const char *const no_limit_env[] = {"REGISTRY_PUBLIC_RATE_LIMIT=0",
                                           "REGISTRY_PUBLIC_FIGURES_CACHE_S=0", NULL};

#define EVIL_ORG         "Evil <script>alert(\"org\")</script> & 'Co'"
#define EVIL_ORG_HTML    "Evil &lt;script&gt;alert(&quot;org&quot;)&lt;/script&gt; &amp; &#39;Co&#39;"
#define EVIL_SITE        "Hall <b onmouseover=\"x()\">One</b>"
#define EVIL_SITE_HTML   "Hall &lt;b onmouseover=&quot;x()&quot;&gt;One&lt;/b&gt;"
#define EVIL_GIVEN       "<img src=x onerror=alert(1)>"
#define EVIL_GIVEN_HTML  "&lt;img src=x onerror=alert(1)&gt;"
#define EVIL_FAMILY      "O'Brien \"Q\""
#define EVIL_FAMILY_HTML "O&#39;Brien &quot;Q&quot;"

struct fx {
    IT_FX_HEAD;
    char *org, *far_org;
    char *evil_number, *ada_suspended, *ada_accredited, *lapsed, *withdrawn;
};

/* Inserts a facilitator (accredited until today + until_off days, NULL: none) employed by `org`
 * (NULL: none). Returns the registration number (malloc'd). */
static char *
make_fac(struct it_server *s,
         const char *given,
         const char *family,
         const char *status,
         const char *until_off,
         const char *org)
{
    char *number = it_sql_text(s,
                               "INSERT INTO facilitator (given_name, family_name, email, status,"
                               " accredited_on, accredited_until, reason)"
                               " VALUES ($1, $2, 'private.person@example.org', $3,"
                               " CASE WHEN $4::int IS NULL THEN NULL ELSE DATE '2015-01-01' END,"
                               " registry_today() + $4::int,"
                               " CASE WHEN $3 IN ('suspended', 'withdrawn') THEN 'test' END)"
                               " RETURNING registration_number",
                               given, family, status, until_off);
    if (org != NULL) {
        PQclear(it_sql(s,
                       "INSERT INTO facilitator_employment (facilitator_id, organisation_id,"
                       " started_on) SELECT id, $2::uuid, DATE '2020-01-01'"
                       " FROM facilitator WHERE registration_number = $1",
                       number, org));
    }
    return number;
}

/* A licensed organisation with public contact details. Returns its id (malloc'd). */
static char *
make_org(struct it_server *s, const char *name, const char *website)
{
    char *id = it_sql_text(
        s,
        "WITH o AS (INSERT INTO organisation (name, kind, address_lines, town, postcode, phone,"
        "  email, website, public_contact) VALUES ($1, 'charity', '[\"1 High Street\"]',"
        "  'Chatham', 'ME4 4AB', '01634 000111', 'hello@provider.example', $2, true)"
        "  RETURNING id),"
        " l AS (INSERT INTO licence (organisation_id, number, status, valid_from, valid_until)"
        "  SELECT id, 'T-' || gen_random_uuid(), 'active', registry_today() - 365,"
        "  registry_today() + 365 FROM o)"
        " SELECT id::text FROM o",
        name, website);
    return id;
}

/* A public community site. Returns its id (malloc'd). */
static char *
make_site(struct it_server *s, const char *org, const char *name, const char *lat, const char *lon)
{
    char *id = it_sql_text(s,
                           "INSERT INTO location (organisation_id, name, kind, address_lines,"
                           " town, postcode, latitude, longitude, accessibility, public, active)"
                           " VALUES ($1::uuid, $2, 'community', '[\"2 Mill Lane\"]', 'Chatham',"
                           " 'ME4 5BA', $3::float8, $4::float8, 'Step-free entrance', true, true)"
                           " RETURNING id::text",
                           org, name, lat, lon);
    return id;
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char *near, *second, *far;

    f->s = it_start_env("pages", no_limit_env);
    PQclear(it_sql(f->s, "INSERT INTO postcode (postcode, latitude, longitude) VALUES"
                         " ('ME4 4AB', 51.38, 0.52), ('ZE2 9QA', 60.40, -1.25)"));
    PQclear(it_sql(f->s, "INSERT INTO postcode_district (outward, latitude, longitude, postcodes)"
                         " VALUES ('ME4', 51.3700, 0.5400, 1)"));
    f->org = it_fx_own(f, make_org(f->s, EVIL_ORG, "javascript:alert(1)"));
    f->far_org =
        it_fx_own(f, make_org(f->s, "Northern Lights Trust", "https://northern.example/a?b=1&c=2"));
    /* The second site is nearer, though made later: the page must order by distance. */
    second = make_site(f->s, f->org, "Farther Hall", "51.4200", "0.5200"); /* about 4.5 km */
    near = make_site(f->s, f->org, EVIL_SITE, "51.3850", "0.5200");        /* about 0.6 km */
    far = make_site(f->s, f->far_org, "Lerwick Rooms", "60.1550", "-1.1450");
    PQclear(it_sql(f->s,
                   "INSERT INTO programme_run (organisation_id, location_id, variant, starts_on,"
                   " ends_on, weekday, start_time, capacity_families, families_enrolled,"
                   " accepting_referrals, self_referral_allowed, status)"
                   " VALUES ($1::uuid, $2::uuid, 'standard', registry_today() + 10,"
                   " registry_today() + 90, 'tuesday', '18:30', 8, 3, true, true, 'recruiting'),"
                   " ($1::uuid, $3::uuid, 'short', registry_today() + 20,"
                   " registry_today() + 80, 'thursday', '10:00', 6, 6, true, false, 'planned'),"
                   " ($4::uuid, $5::uuid, 'standard', registry_today() + 30,"
                   " registry_today() + 100, NULL, NULL, 6, 1, true, false, 'planned')",
                   f->org, near, second, f->far_org, far));
    free(near);
    free(second);
    free(far);
    f->evil_number =
        it_fx_own(f, make_fac(f->s, EVIL_GIVEN, EVIL_FAMILY, "accredited", "100", f->org));
    f->ada_suspended = it_fx_own(f, make_fac(f->s, "Ada", "Lovelace", "suspended", "50", f->org));
    f->ada_accredited = it_fx_own(f, make_fac(f->s, "Ada", "Byron", "accredited", "200", NULL));
    f->lapsed = it_fx_own(f, make_fac(f->s, "Lapsey", "Smith", "accredited", "-3", f->far_org));
    /* Withdrawn after accreditation (one never accredited is not on the register). */
    f->withdrawn = it_fx_own(f, make_fac(f->s, "Gone", "Away", "withdrawn", "-30", NULL));
    *state = f;
    return 0;
}

/* ---- Helpers ------------------------------------------------------------------------------ */

#define assert_has(body, needle)   it_assert_contains((body), (needle))
#define assert_lacks(body, needle) assert_lacks_at((body), (needle), __FILE__, __LINE__)

static void
assert_lacks_at(const char *body, const char *needle, const char *file, int line)
{
    if (strstr(body, needle) != NULL) {
        fprintf(stderr, "%s:%d: the page has what it must not: %s\n", file, line, needle);
        _fail(file, line);
    }
}

/* assert_has for a tag naming an asset: `before` `url` `after`, where the URL is the plain one
 * (static/ as it is) or the build's content-hashed name of it (/assets/app.3f2a9c1e.css). */
#define assert_asset(body, before, url, after)                                                     \
    assert_asset_at((body), (before), (url), (after), __FILE__, __LINE__)

static void
assert_asset_at(const char *body,
                const char *before,
                const char *url,
                const char *after,
                const char *file,
                int line)
{
    const char *dot = strrchr(url, '.'), *p = body;
    char *head = it_fmt("%s%.*s", before, (int)(dot - url), url),
         *tail = it_fmt("%s%s", dot, after);
    size_t hl = strlen(head);
    int found = 0;

    while (!found && (p = strstr(p, head)) != NULL) {
        const char *q = p + hl;

        if (q[0] == '.' && strspn(q + 1, "0123456789abcdef") == 8) {
            q += 9; /* the hash */
        }
        found = strncmp(q, tail, strlen(tail)) == 0;
        p += hl;
    }
    if (!found) {
        fprintf(stderr, "---- page ----\n%s\n---- end ----\n", body);
        fprintf(stderr, "%s:%d: the page lacks: %s%s%s (plain or hashed)\n", file, line, before,
                url, after);
        _fail(file, line);
    }
    free(head);
    free(tail);
}

/* Number of times `needle` occurs in `hay`. */
static int
count(const char *hay, const char *needle)
{
    int n = 0;

    for (hay = strstr(hay, needle); hay != NULL; hay = strstr(hay + 1, needle)) {
        n++;
    }
    return n;
}

/* 1 when some start tag in `body` has an attribute matching `attr` (an extended regex), such as
 * an event handler; text between tags (escaped data) does not count. */
static int
tag_attribute(const char *body, const char *attr)
{
    char *pattern = it_fmt("<[a-zA-Z][^<>]*%s", attr);
    regmatch_t m;
    regex_t re;
    int found;

    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_ICASE), 0);
    found = regexec(&re, body, 1, &m, 0) == 0;
    if (found) {
        fprintf(stderr, "a tag has %s: %.80s\n", attr, body + m.rm_so);
    }
    regfree(&re);
    free(pattern);
    return found;
}

/* GETs a page and checks what every page has: `status`, HTML, the security headers, the layout,
 * and no inline script, style or event handler. */
static void
get_page(struct it_server *s, const char *path, long status, struct it_resp *r)
{
    it_get(s, path, NULL, r);
    it_assert_status(r, status);
    it_assert_header(r, "Content-Type", "text/html; charset=utf-8");
    it_assert_header(r, "Content-Security-Policy", "default-src 'self'");
    it_assert_header(r, "Content-Security-Policy", "frame-ancestors 'none'");
    assert_null(strstr(it_header(r, "Content-Security-Policy"), "unsafe-inline"));
    it_assert_header(r, "Referrer-Policy", "no-referrer");
    it_assert_header(r, "X-Frame-Options", "DENY");
    assert_has(r->body, "<!DOCTYPE html>");
    assert_has(r->body, "<html lang=\"en-GB\"");
    assert_has(r->body, "<a href=\"#main-content\" class=\"govuk-skip-link\"");
    assert_has(r->body, "<main class=\"govuk-main-wrapper\" id=\"main-content\">");
    assert_has(r->body, "govuk-phase-banner");
    assert_asset(r->body, "<link rel=\"stylesheet\" href=\"", "/assets/app.css", "\">");
    assert_asset(r->body, "<script type=\"module\" src=\"", "/assets/js/init.js", "\"></script>");
    /* Every script is a file (our own are modules); no inline style, no event handler. */
    assert_int_equal(count(r->body, "<script"), count(r->body, "<script type=\"module\" src=\"")
                                                    + count(r->body, "<script src=\"/assets/"));
    assert_lacks(r->body, "<style");
    assert_false(tag_attribute(r->body, "[[:space:]](style|on[a-z]+)="));
    assert_int_equal(count(r->body, "<h1"), 1);
}

/* ---- Start page --------------------------------------------------------------------------- */

static void
test_home(void **state)
{
    struct fx *f = *state;
    struct it_resp r;

    get_page(f->s, "/", 200, &r);
    assert_has(r.body, "<title>M-PACT Registry</title>");
    assert_has(r.body, "href=\"/find\"");
    assert_has(r.body, "href=\"/check\"");
    assert_has(r.body, "href=\"/console\"");
    assert_has(r.body, "href=\"/portal\"");
    assert_has(r.body, "href=\"/docs\"");
    assert_has(r.body, "href=\"/impact\"");
    it_assert_header(&r, "Cache-Control", "no-cache");
    it_resp_free(&r);

    /* Only GET: the router answers another method with 405. */
    it_request(f->s, "POST", "/find", NULL, NULL, "", &r);
    it_assert_problem(&r, 405);
    it_resp_free(&r);
}

/* ---- The applications' pages ---------------------------------------------------------------- */

/* The console and the portal are drawn by their modules into the common layout, with the places
 * their scripts fill; /docs is drawn by our own module (assets/js/docs.js). */
static void
test_app_pages(void **state)
{
    struct fx *f = *state;
    struct it_resp r;

    get_page(f->s, "/console", 200, &r);
    assert_has(r.body, "<title>Licensing body console – M-PACT Registry</title>");
    assert_has(r.body, "<h1 class=\"govuk-heading-l\" tabindex=\"-1\">Licensing body console</h1>");
    assert_has(r.body, "<a href=\"/console#/\" class=\"govuk-service-navigation__link\">");
    assert_has(r.body, "aria-label=\"Licensing body console menu\"");
    assert_has(r.body, " id=\"app-nav\" hidden>");
    assert_has(r.body, "id=\"navigation\"></ul>");
    assert_has(r.body, "id=\"account\"");
    assert_has(r.body, "id=\"needs-js\"");
    assert_asset(r.body, "<script src=\"", "/assets/vendor/chart.umd.min.js", "\"></script>");
    assert_asset(r.body, "<script type=\"module\" src=\"", "/assets/js/app/console.mjs",
                 "\"></script>");
    it_assert_header(&r, "Cache-Control", "no-cache");
    it_resp_free(&r);

    get_page(f->s, "/portal", 200, &r);
    assert_has(r.body, "<h1 class=\"govuk-heading-l\" tabindex=\"-1\">Licensee portal</h1>");
    assert_asset(r.body, "<script type=\"module\" src=\"", "/assets/js/app/portal.mjs",
                 "\"></script>");
    assert_lacks(r.body, "chart.umd");
    it_resp_free(&r);

    get_page(f->s, "/docs", 200, &r);
    assert_asset(r.body, "<link rel=\"stylesheet\" href=\"", "/assets/docs.css", "\">");
    assert_has(r.body, "href=\"/openapi.json\"");
    assert_has(r.body, "<div id=\"api-docs\" class=\"app-docs\" aria-busy=\"true\">");
    assert_asset(r.body, "<script type=\"module\" src=\"", "/assets/js/docs.js", "\"></script>");
    assert_lacks(r.body, "swagger");
    assert_lacks(r.body, "id=\"app-nav\"");
    it_resp_free(&r);

    /* The shells no longer exist as files; nothing under them is served. */
    it_expect(f->s, "GET", "/console/index.html", NULL, NULL, 404);
}

/* ---- Find M-PACT near you ----------------------------------------------------------------- */

static void
test_find_form(void **state)
{
    struct fx *f = *state;
    struct it_resp r;

    get_page(f->s, "/find", 200, &r);
    assert_has(r.body, "<title>Find M-PACT near you – M-PACT Registry</title>");
    assert_has(r.body, "<form method=\"get\" action=\"/find\"");
    assert_has(r.body, "<label class=\"govuk-label govuk-label--s\" for=\"postcode\">");
    assert_has(r.body, "<select class=\"govuk-select\" id=\"radius\" name=\"radius\">");
    assert_has(r.body, "<option value=\"25\" selected>");
    assert_has(r.body, "<option value=\"100\">");
    assert_has(r.body, "aria-current=\"page\"");
    assert_asset(r.body, "<script type=\"module\" src=\"", "/assets/js/find.js", "\"></script>");
    /* "Use my location" comes only from the script. */
    assert_lacks(r.body, "Use my location");
    assert_lacks(r.body, "govuk-error-summary");
    assert_lacks(r.body, "id=\"results\"");
    it_assert_header(&r, "Cache-Control", "no-store");
    it_resp_free(&r);
}

static void
test_find_results(void **state)
{
    struct fx *f = *state;
    char *run_date = NULL;
    struct it_resp r;
    const char *near, *second;

    run_date = it_sql_text(f->s, "SELECT to_char(registry_today() + 10, 'FMDD FMMonth YYYY')");

    get_page(f->s, "/find?postcode=me4+4ab&radius=10", 200, &r);
    it_assert_header(&r, "Cache-Control", "no-store");
    assert_has(r.body, "M-PACT within 6 miles (10 km) of ME4 4AB");
    assert_has(r.body, "2 places found, nearest first.");
    assert_has(r.body, "<option value=\"10\" selected>");
    assert_has(r.body, "value=\"me4 4ab\""); /* the field keeps what was typed */
    /* Nearest first: the near site (0.6 km) before the farther one (4.5 km). */
    near = strstr(r.body, EVIL_SITE_HTML);
    second = strstr(r.body, "Farther Hall");
    assert_non_null(near);
    assert_non_null(second);
    assert_true(near < second);
    assert_has(r.body, "0.3 miles (0.6 km) away");
    assert_has(r.body, "2.8 miles (4.5 km) away");
    /* Escaped, never markup. */
    assert_has(r.body, EVIL_ORG_HTML);
    assert_lacks(r.body, "<script>alert");
    assert_lacks(r.body, "<b onmouseover");
    /* Contact details; the stored javascript: website is text, not a link. */
    assert_has(r.body, "<a class=\"govuk-link\" href=\"tel:01634000111\">01634 000111</a>");
    assert_has(r.body, "href=\"mailto:hello@provider.example\"");
    assert_has(r.body, "javascript:alert(1)");
    assert_lacks(r.body, "href=\"javascript:");
    assert_has(r.body, "2 Mill Lane<br>Chatham<br>ME4 5BA");
    assert_has(r.body, "Step-free entrance");
    /* Upcoming runs: date, day and time, places left, self-referral; and a full one. */
    assert_has(r.body, run_date);
    assert_has(r.body, "Tuesdays at 18:30");
    assert_has(r.body, "5 of 8");
    assert_has(r.body, "Yes, families can refer themselves");
    assert_has(r.body, "M-PACT short programme");
    assert_has(r.body, ">Full<");
    assert_has(r.body, "No, a professional refers you");
    /* Each result leads with its next group, then who runs it; who can attend is on each; the
     * results heading takes focus; no "Ask about a place" where the organisation takes no
     * enquiries. */
    assert_true(strstr(near, "Next group: M-PACT programme") < strstr(near, "Run by "));
    assert_has(near, "Who can attend");
    assert_has(r.body, "You do not need to be in recovery.");
    assert_has(r.body, "id=\"results\" tabindex=\"-1\"");
    assert_lacks(r.body, "Ask about a place");
    assert_has(r.body, "<option value=\"100\">Up to 62 miles (100 km)</option>");
    /* Not the far site. */
    assert_lacks(r.body, "Lerwick Rooms");
    it_resp_free(&r);
    free(run_date);

    /* The filters: only self-referral (the near site's run), and the title says so. */
    get_page(f->s, "/find?postcode=ME4+4AB&radius=10&self_referral=yes&within=", 200, &r);
    assert_has(r.body, "M-PACT within 6 miles (10 km) of ME4 4AB, that families can refer "
                       "themselves to");
    assert_has(r.body, "1 place found, nearest first.");
    assert_has(r.body, "name=\"self_referral\" type=\"checkbox\" value=\"yes\" checked");
    assert_lacks(r.body, "Farther Hall");
    it_resp_free(&r);
    get_page(f->s, "/find?postcode=ME4+4AB&radius=10&within=30", 200, &r);
    assert_has(r.body, ", starting within 30 days");
    assert_has(r.body, "<option value=\"30\" selected>Within 30 days</option>");
    it_resp_free(&r);
    /* At the largest distance the results end with where else to ask. */
    get_page(f->s, "/find?postcode=ME4+4AB&radius=100&within=30&self_referral=yes", 200, &r);
    assert_has(r.body, "If none of these is near enough for you");
    assert_has(r.body, "GP, health visitor");
    it_resp_free(&r);
    /* Nothing families can refer themselves to far north: the largest distance is said, and
     * what else. */
    get_page(f->s, "/find?postcode=ZE2+9QA&radius=100&self_referral=yes", 200, &r);
    assert_has(r.body, "No M-PACT within 62 miles (100 km) of ZE2 9QA, that families can refer "
                       "themselves to");
    assert_has(r.body, "You searched the largest distance we offer.");
    assert_has(r.body, "search again without the filters");
    it_resp_free(&r);

    /* The default radius is 25 km; an outward code searches from the district's centre. */
    get_page(f->s, "/find?postcode=ME4", 200, &r);
    assert_has(r.body, "M-PACT within 16 miles (25 km) of ME4");
    assert_has(r.body, "<option value=\"25\" selected>");
    it_resp_free(&r);
}

static void
test_find_errors(void **state)
{
    struct fx *f = *state;
    struct it_resp r;
    char *path;

    /* Malformed: 400, the error summary linked to the field, the field marked. */
    get_page(f->s, "/find?postcode=NOT+4+POSTCODE&radius=25", 400, &r);
    assert_has(r.body, "<title>Error: Find M-PACT near you – M-PACT Registry</title>");
    assert_has(r.body, "govuk-error-summary");
    assert_has(r.body, "<a href=\"#postcode\">Enter a real postcode, like ME4 4AB</a>");
    assert_has(r.body, "<p id=\"postcode-error\" class=\"govuk-error-message\">");
    assert_has(r.body, "aria-describedby=\"postcode-hint postcode-error\"");
    assert_has(r.body, "govuk-input--error");
    assert_has(r.body, "value=\"NOT 4 POSTCODE\"");
    assert_lacks(r.body, "id=\"results\"");
    it_assert_header(&r, "Cache-Control", "no-store");
    it_resp_free(&r);

    /* Markup typed into the field comes back escaped. */
    get_page(f->s, "/find?postcode=%22%3E%3Cscript%3Ex()%3C/script%3E", 400, &r);
    assert_has(r.body, "value=\"&quot;&gt;&lt;script&gt;x()&lt;/script&gt;\"");
    it_resp_free(&r);

    /* Well-formed but unknown: 404 with its own message. */
    get_page(f->s, "/find?postcode=ZZ9+9ZZ&radius=25", 404, &r);
    assert_has(r.body, "<a href=\"#postcode\">We could not find that postcode. Check it and try "
                       "again</a>");
    assert_lacks(r.body, "id=\"results\"");
    it_resp_free(&r);

    get_page(f->s, "/find?postcode=XX9&radius=25", 404, &r);
    assert_has(r.body, "We do not know that postcode area");
    it_resp_free(&r);

    /* Empty. */
    get_page(f->s, "/find?postcode=+&radius=25", 400, &r);
    assert_has(r.body, "<a href=\"#postcode\">Enter a postcode</a>");
    it_resp_free(&r);

    /* A radius that is not one of the choices. */
    get_page(f->s, "/find?postcode=ME4+4AB&radius=7", 400, &r);
    assert_has(r.body, "<a href=\"#radius\">Select how far you can travel</a>");
    assert_has(r.body, "<p id=\"radius-error\" class=\"govuk-error-message\">");
    assert_has(r.body, "govuk-select--error");
    it_resp_free(&r);

    /* Parameters the page does not know (a campaign's tracking, say) are ignored: the same
     * results page as without them. */
    get_page(f->s, "/find?postcode=ME4+4AB&radius=10&utm_source=leaflet&colour=red", 200, &r);
    assert_has(r.body, "2 places found, nearest first.");
    assert_has(r.body, "Farther Hall");
    it_resp_free(&r);
    path = it_fmt("/check?utm_campaign=x&q=%s", f->evil_number);
    get_page(f->s, path, 200, &r);
    assert_has(r.body, "accredited");
    free(path);
    it_resp_free(&r);
    /* A known one given twice is still refused. */
    it_expect(f->s, "GET", "/find?postcode=ME4+4AB&postcode=ME1+1AA", NULL, NULL, 400);
}

static void
test_find_nothing_nearby(void **state)
{
    struct fx *f = *state;
    struct it_resp r;

    /* ZE2 9QA: the Lerwick site is about 28 km away, outside 5 km: shown as the nearest beyond. */
    get_page(f->s, "/find?postcode=ZE2+9QA&radius=5", 200, &r);
    assert_has(r.body, "No M-PACT within 3 miles (5 km) of ZE2 9QA");
    assert_has(r.body, "The nearest M-PACT is further away");
    assert_has(r.body, "Lerwick Rooms");
    assert_has(r.body, "Northern Lights Trust");
    assert_has(r.body, "href=\"https://northern.example/a?b=1&amp;c=2\"");
    assert_has(r.body, "href=\"#postcode\">search again</a>");
    assert_has(r.body, "What you can do next");
    assert_has(r.body, "GP, health visitor");
    assert_lacks(r.body, "Farther Hall");
    assert_lacks(r.body, "govuk-error-summary");
    it_resp_free(&r);

    get_page(f->s, "/find?postcode=ZE2+9QA&radius=50", 200, &r);
    assert_has(r.body, "M-PACT within 31 miles (50 km) of ZE2 9QA");
    assert_has(r.body, "1 place found, nearest first.");
    it_resp_free(&r);
}

static void
test_find_location(void **state)
{
    struct fx *f = *state;
    struct it_resp r;

    get_page(f->s, "/find?lat=51.3812&lon=0.5234&radius=10", 200, &r);
    assert_has(r.body, "M-PACT within 6 miles (10 km) of your location");
    assert_has(r.body, "Farther Hall");
    /* The coordinates are never shown, nor put in a link or field. */
    assert_lacks(r.body, "51.3812");
    assert_lacks(r.body, "0.5234");
    assert_lacks(r.body, "51.38");
    it_assert_header(&r, "Cache-Control", "no-store");
    it_resp_free(&r);

    /* Outside the British Isles, or malformed: the postcode field's message. */
    get_page(f->s, "/find?lat=40.0&lon=-3.7&radius=10", 400, &r);
    assert_has(r.body, "<a href=\"#postcode\">We could not use your location. Enter a postcode "
                       "instead</a>");
    assert_lacks(r.body, "40.0");
    it_resp_free(&r);
    get_page(f->s, "/find?lat=abc&lon=0.5&radius=10", 400, &r);
    assert_has(r.body, "We could not use your location");
    it_resp_free(&r);
}

static void
test_find_not_logged(void **state)
{
    struct fx *f = *state;
    const char *const id[] = {"X-Request-Id: pages-log-check", NULL};
    struct it_resp r;
    char *log;

    it_request(f->s, "GET", "/find?postcode=ME4+4AB&radius=25", NULL, id, NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    it_request(f->s, "GET", "/find?postcode=ZZ9+9ZZ", NULL, NULL, NULL, &r);
    it_assert_status(&r, 404);
    it_resp_free(&r);
    it_request(f->s, "GET", "/find?lat=51.3812&lon=0.5234", NULL, NULL, NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    assert_true(it_log_wait(f->s, "pages-log-check", 5000));
    log = it_log(f->s);
    assert_non_null(strstr(log, "GET /find 200"));
    it_assert_absent(log, "ME4", "4AB", "ZZ9", "51.3812", "0.5234", "postcode=", NULL);
    free(log);
}

/* ---- Check a facilitator ------------------------------------------------------------------ */

static void
test_check_form(void **state)
{
    struct fx *f = *state;
    struct it_resp r;

    get_page(f->s, "/check", 200, &r);
    assert_has(r.body, "<title>Check a facilitator – M-PACT Registry</title>");
    assert_has(r.body, "<form method=\"get\" action=\"/check\"");
    assert_has(r.body, "<label class=\"govuk-label govuk-label--s\" for=\"q\">");
    assert_lacks(r.body, "govuk-error-summary");
    it_resp_free(&r);
}

static void
test_check_by_number(void **state)
{
    struct fx *f = *state;
    char *until, *path, *typed;
    struct it_resp r;
    size_t i;

    until = it_sql_text(f->s, "SELECT to_char(registry_today() + 100, 'FMDD FMMonth YYYY')");
    /* As typed by hand: lower case, without the hyphen. */
    typed = strdup(f->evil_number);
    for (i = 0; typed[i] != '\0'; i++) {
        typed[i] = (char)(typed[i] >= 'A' && typed[i] <= 'Z' ? typed[i] - 'A' + 'a' : typed[i]);
    }
    memmove(strchr(typed, '-'), strchr(typed, '-') + 1, strlen(strchr(typed, '-')));
    path = it_fmt("/check?q=%s", typed);

    get_page(f->s, path, 200, &r);
    assert_has(r.body, EVIL_GIVEN_HTML " " EVIL_FAMILY_HTML);
    assert_lacks(r.body, "<img src=x");
    assert_has(r.body, f->evil_number);
    assert_has(r.body, "<strong class=\"govuk-tag govuk-tag--green\">Accredited</strong>");
    assert_has(r.body, "Accredited until");
    assert_has(r.body, until);
    assert_has(r.body, "may deliver M-PACT");
    assert_has(r.body, EVIL_ORG_HTML ", Chatham");
    assert_lacks(r.body, "private.person@example.org");
    it_resp_free(&r);
    free(path);
    free(typed);
    free(until);

    /* Each status: its tag colour and its meaning. */
    path = it_fmt("/check?q=%s", f->ada_suspended);
    get_page(f->s, path, 200, &r);
    assert_has(r.body, "<strong class=\"govuk-tag govuk-tag--red\">Suspended</strong>");
    assert_has(r.body, "must not deliver M-PACT");
    it_resp_free(&r);
    free(path);

    path = it_fmt("/check?q=%s", f->lapsed);
    get_page(f->s, path, 200, &r);
    assert_has(r.body, "<strong class=\"govuk-tag govuk-tag--orange\">Lapsed</strong>");
    assert_has(r.body, "Accreditation ended");
    assert_has(r.body, "must not deliver M-PACT");
    assert_has(r.body, "Northern Lights Trust");
    it_resp_free(&r);
    free(path);

    path = it_fmt("/check?q=%s", f->withdrawn);
    get_page(f->s, path, 200, &r);
    assert_has(r.body, "<strong class=\"govuk-tag govuk-tag--grey\">Withdrawn</strong>");
    assert_has(r.body, "None recorded");
    assert_has(r.body, "must not deliver M-PACT");
    it_resp_free(&r);
    free(path);

    /* Accredited, but not working for a licensed organisation: not "may deliver ... until". */
    path = it_fmt("/check?q=%s", f->ada_accredited);
    get_page(f->s, path, 200, &r);
    assert_has(r.body, "<strong class=\"govuk-tag govuk-tag--green\">Accredited</strong>");
    assert_has(r.body, "cannot deliver M-PACT at present");
    assert_lacks(r.body, "may deliver M-PACT");
    it_resp_free(&r);
    free(path);

    /* Unknown: 404 with the number and what it means. */
    get_page(f->s, "/check?q=MPF-999999", 404, &r);
    assert_has(r.body, "Not on the register");
    assert_has(r.body, "MPF-999999");
    assert_has(r.body, "must not deliver M-PACT");
    it_resp_free(&r);

    /* Longer than any number: still not found, never a truncated number's entry. */
    path = it_fmt("/check?q=%s00000000000000000000000000000000000000", f->evil_number);
    get_page(f->s, path, 404, &r);
    assert_has(r.body, "Not on the register");
    assert_lacks(r.body, EVIL_GIVEN_HTML);
    it_resp_free(&r);
    free(path);
}

static void
test_check_by_name(void **state)
{
    struct fx *f = *state;
    char *link;
    struct it_resp r;

    /* Two matches: a table, each linking to its number. */
    get_page(f->s, "/check?q=ada", 200, &r);
    assert_has(r.body, "2 facilitators match &ldquo;ada&rdquo;");
    assert_has(r.body, "<table class=\"govuk-table\">");
    link = it_fmt("<a class=\"govuk-link\" href=\"/check?q=%s\">Ada Byron</a>", f->ada_accredited);
    assert_has(r.body, link);
    free(link);
    link =
        it_fmt("<a class=\"govuk-link\" href=\"/check?q=%s\">Ada Lovelace</a>", f->ada_suspended);
    assert_has(r.body, link);
    free(link);
    assert_has(r.body, "govuk-tag--green");
    assert_has(r.body, "govuk-tag--red");
    /* Byron before Lovelace (family name order). */
    assert_true(strstr(r.body, "Ada Byron") < strstr(r.body, "Ada Lovelace"));
    it_resp_free(&r);

    /* One match: shown in full. */
    get_page(f->s, "/check?q=Lovelace", 200, &r);
    assert_has(r.body, "<h2 class=\"govuk-heading-l\" id=\"facilitator\">Ada Lovelace</h2>");
    assert_has(r.body, "govuk-tag--red");
    it_resp_free(&r);

    /* None: not found, with the name escaped. */
    get_page(f->s, "/check?q=%3Cb%3ENobody", 200, &r);
    assert_has(r.body, "Not on the register");
    assert_has(r.body, "&lt;b&gt;Nobody");
    assert_lacks(r.body, "<b>Nobody");
    it_resp_free(&r);

    /* Too short, or empty: the error summary linked to the field. */
    get_page(f->s, "/check?q=Al", 400, &r);
    assert_has(r.body, "<title>Error: Check a facilitator – M-PACT Registry</title>");
    assert_has(r.body, "<a href=\"#q\">Enter at least 3 letters of the name, or a registration "
                       "number like MPF-000123</a>");
    assert_has(r.body, "aria-describedby=\"q-hint q-error\"");
    it_resp_free(&r);
    get_page(f->s, "/check?q=+", 400, &r);
    assert_has(r.body, "<a href=\"#q\">Enter a registration number or a name</a>");
    it_resp_free(&r);
}

/* ---- What M-PACT has achieved ------------------------------------------------------------- */

/* The text of the `i`th figure cell (0-4) of the row headed `label` in the impact table, into
 * `out`; fails when there is no such row or cell. */
static void
impact_cell(const char *body, const char *label, int i, char *out, size_t len)
{
    char *head = it_fmt("<th scope=\"row\" class=\"govuk-table__header\">%s</th>", label);
    const char *p = strstr(body, head), *end;
    int k;

    if (p == NULL) {
        fprintf(stderr, "---- page ----\n%s\n---- end ----\n", body);
        fail_msg("no impact row %s", label);
    }
    for (k = 0; k <= i; k++) {
        p = strstr(p, "<td ");
        assert_non_null(p);
        p = strchr(p, '>') + 1;
    }
    end = strstr(p, "</td>");
    assert_non_null(end);
    assert_true(end < strstr(p, "</tr>"));
    snprintf(out, len, "%.*s", (int)(end - p), p);
    free(head);
}

/* Before any run is completed the page says so and still shows the totals from before the
 * registry. Then: 2023 one run at site 1 (families 3, participants 3 + 4 = 7); 2024 one run at
 * site 1 (families 4, participants 10) and one at site 2 (families 6, participants 12), so 2024
 * has runs 2, families 10, participants 22, locations 2; since the start runs 3, families 13,
 * participants 29, locations 2; nobody trained (0, shown). Withheld: every run and location count
 * (1 to 4), families 2023 (3) and with it families 2024 (10: 13 - 10 would give the 3 back);
 * participants and the families total stay. Each cell is what the API says, and every withheld
 * cell reads "withheld" (never "fewer than 5": the 10 is not). */
static void
test_impact(void **state)
{
    static const char *const labels[] = {"2023", "2024", "Since the start"};
    static const char *const want[3][5] = {
        {"0", "withheld", "withheld", "7", "withheld"},
        {"0", "withheld", "withheld", "22", "withheld"},
        {"0", "withheld", "13", "29", "withheld"},
    };
    static const char *const keys[] = {"practitioners_trained", "runs", "families", "participants",
                                       "locations"};
    static const char *const history =
        "446 practitioners trained by the end of 2018, 2,500 participants from 700 families at "
        "about 50 locations since 2006.";
    struct fx *f = *state;
    struct it_resp r, home, api;
    char *one, *two, cell[64];
    size_t i, k;

    get_page(f->s, "/impact", 200, &r);
    assert_has(r.body, "<title>What M-PACT has achieved – M-PACT Registry</title>");
    assert_has(r.body, "No completed groups are recorded in the registry yet.");
    assert_has(r.body, "Before the registry");
    assert_has(r.body, history);
    it_resp_free(&r);

    one = make_site(f->s, f->org, "Impact Hall", "51.3900", "0.5300");
    two = make_site(f->s, f->org, "Impact Rooms", "51.3950", "0.5300");
    /* Three completed runs: site, last day, families started (and completed), adults, children. */
    PQclear(it_sql(f->s,
                   "INSERT INTO programme_run (organisation_id, location_id, variant, starts_on,"
                   " ends_on, capacity_families, status, families_started, families_completed,"
                   " adults, children) SELECT $1::uuid, v.site::uuid, 'standard', v.ends - 70,"
                   " v.ends, 8, 'completed', v.families, v.families, v.adults, v.children FROM"
                   " (VALUES ($2, DATE '2023-05-01', 3, 3, 4), ($2, DATE '2024-03-01', 4, 4, 6),"
                   "  ($3, DATE '2024-09-01', 6, 5, 7)) v (site, ends, families, adults, children)",
                   f->org, one, two));

    get_page(f->s, "/impact", 200, &r);
    it_get(f->s, "/", NULL, &home);
    assert_string_equal(it_header(&r, "Content-Security-Policy"),
                        it_header(&home, "Content-Security-Policy"));
    it_resp_free(&home);
    assert_lacks(r.body, "No completed groups");
    assert_lacks(r.body, "fewer than 5");
    assert_has(r.body, history);
    it_get(f->s, "/v1/public/impact", NULL, &api);
    it_assert_status(&api, 200);
    assert_int_equal(json_array_size(json_object_get(api.json, "years")), 2);
    for (i = 0; i < 3; i++) {
        json_t *row = i < 2 ? json_array_get(json_object_get(api.json, "years"), i)
                            : json_object_get(api.json, "since_start");

        for (k = 0; k < 5; k++) {
            json_t *v = json_object_get(row, keys[k]);

            impact_cell(r.body, labels[i], (int)k, cell, sizeof(cell));
            if (strcmp(cell, want[i][k]) != 0) {
                fail_msg("%s %s reads \"%s\", want \"%s\"", labels[i], keys[k], cell, want[i][k]);
            }
            /* The page and the API agree. */
            if (json_is_null(v)) {
                assert_string_equal(cell, "withheld");
            } else {
                char n[32];

                snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(v));
                assert_string_equal(cell, n);
            }
        }
    }
    assert_int_equal(count(r.body, ">withheld</td>"),
                     (int)json_array_size(json_object_get(api.json, "suppressed")));
    it_resp_free(&api);
    it_resp_free(&r);
    free(one);
    free(two);

    /* An edited history shows as edited, escaped. */
    PQclear(it_sql(f->s, "UPDATE impact_history SET practitioners_trained = 1234567,"
                         " as_of = DATE '2019-06-30', note = 'Records <b>kept</b> on paper'"));
    get_page(f->s, "/impact", 200, &r);
    assert_has(r.body, "1,234,567 practitioners trained by 30 June 2019, 2,500 participants");
    assert_has(r.body, "Records &lt;b&gt;kept&lt;/b&gt; on paper");
    it_resp_free(&r);
}

/* ---- The finder's pages, byte for byte ----------------------------------------------------- */

/* The offsets from today of the golden fixture's dates: a rendered date ("14 March 2027") is
 * @D<offset>@ in a golden file ("@D+10@"), so the files hold whatever day the test runs on. */
static const int golden_days[] = {-20, -5, 10, 15, 30, 40, 50, 70, 100, 400};

#define GOLDEN_NDAYS (sizeof(golden_days) / sizeof(golden_days[0]))

/* The finder's results around Truro: far from the other fixtures (the nearest of them is about
 * 380 km away), with fixed ids, and every kind of value a result shows: markup, quotes,
 * ampersands, backslashes and non-ASCII letters in every text; an organisation without public
 * contact details (the central contact instead), one whose phone is too short to dial and whose
 * website is not http(s); "Ask about a place" with and without a run; no runs; each variant;
 * runs full, not taking referrals, at risk (a suspended facilitator), running now (taking
 * families or not), without a weekday or a time; and two towns of one name. */
static void
golden_fixture(struct it_server *s)
{
    PQclear(it_sql(s, "INSERT INTO postcode (postcode, latitude, longitude) VALUES"
                      " ('TR1 1AA', 50.2632, -5.0510), ('TR20 8AA', 50.1200, -5.5300)"));
    PQclear(it_sql(s, "INSERT INTO place (name, area, country, latitude, longitude) VALUES"
                      " ('Penryn', 'Cornwall', 'GB', 50.1690, -5.1070),"
                      " ('St Ives', 'Cornwall', 'GB', 50.2110, -5.4800),"
                      " ('St Ives', 'Hunts & <Cambs> \"E\"', 'GB', 52.3340, -0.0750)"));
    PQclear(it_sql(
        s, "INSERT INTO organisation (id, name, kind, address_lines, town, postcode, phone, email,"
           " website, public_contact, enquiries_enabled, enquiry_email) VALUES"
           " ('00000000-0000-4000-8000-00000000a001', 'Kernow <Families> & \"Friends\" ''Ltd''',"
           "  'charity', '[\"1 Lemon St\"]', 'Truro', 'TR1 2AA', '+44 (0)1872 123 456',"
           "  'hello+<x>@kernow.example', 'https://kernow.example/?a=1&b=\"2\"', true, true,"
           "  'ask@kernow.example'),"
           " ('00000000-0000-4000-8000-00000000a002', 'St Piran''s Trust \\ Co', 'charity',"
           "  '[\"2 Fore St\"]', 'Newquay', 'TR7 1AA', '01637 000000', 'private@piran.example',"
           "  NULL, false, true, 'ask@piran.example'),"
           " ('00000000-0000-4000-8000-00000000a003', 'Café Ünïon – “West”', 'nhs', '[\"3 Hill\"]',"
           "  'Redruth', 'TR15 1AA', '999', NULL, 'ftp://files.example/<x>', true, false, NULL)"));
    PQclear(it_sql(s, "INSERT INTO licence (organisation_id, number, status, valid_from,"
                      " valid_until) SELECT id, 'G-' || id, 'active', registry_today() - 365,"
                      " registry_today() + 365 FROM organisation WHERE id::text LIKE"
                      " '00000000-0000-4000-8000-00000000a00_'"));
    PQclear(it_sql(
        s, "INSERT INTO location (id, organisation_id, name, kind, address_lines, town, postcode,"
           " latitude, longitude, accessibility, public, active) VALUES"
           " ('00000000-0000-4000-8000-00000000b001', '00000000-0000-4000-8000-00000000a001',"
           "  'Truro <Hall> & \"Rooms\"', 'community', '[\"1 \\\"Quay\\\" St\", \"Floor <2>\","
           "  \"Back\\\\Door\"]', 'Truro', 'TR1 2AB', 50.2640, -5.0500,"
           "  'Step-free; hearing loop & lift <ask>', true, true),"
           " ('00000000-0000-4000-8000-00000000b002', '00000000-0000-4000-8000-00000000a001',"
           "  'Café “Ünïcode” – Hall', 'family_centre', '[\"Rue d''Église\"]', 'Truro',"
           "  'TR1 3AB', 50.2700, -5.0600, NULL, true, true),"
           " ('00000000-0000-4000-8000-00000000b003', '00000000-0000-4000-8000-00000000a002',"
           "  'Newquay Rooms', 'community', '[\"4 Bank St\"]', 'Newquay', 'TR7 1AB', 50.2900,"
           "  -5.0800, 'Lift', true, true),"
           " ('00000000-0000-4000-8000-00000000b004', '00000000-0000-4000-8000-00000000a003',"
           "  'Redruth \\ Centre', 'health', '[\"5 Station Rd\"]', 'Redruth', 'TR15 2AB', 50.2330,"
           "  -5.2260, NULL, true, true),"
           " ('00000000-0000-4000-8000-00000000b005', '00000000-0000-4000-8000-00000000a003',"
           "  'Penryn Annexe', 'other', '[\"6 Quay Hill\"]', 'Penryn', 'TR10 8AB', 50.1700,"
           "  -5.1000, NULL, true, true)"));
    PQclear(it_sql(
        s, "INSERT INTO programme_run (id, organisation_id, location_id, variant, starts_on,"
           " ends_on, weekday, start_time, capacity_families, families_enrolled,"
           " accepting_referrals, self_referral_allowed, status)"
           " SELECT v.id::uuid, l.organisation_id, l.id, v.variant, registry_today() + v.starts,"
           "  registry_today() + v.ends, v.weekday, v.at::time, v.cap, v.enrolled, v.accepting,"
           "  v.self, v.status FROM (VALUES"
           "  ('00000000-0000-4000-8000-00000000c001', 'b001', 'standard', 10, 90, 'tuesday',"
           "   '18:30', 8, 3, true, true, 'recruiting'),"
           "  ('00000000-0000-4000-8000-00000000c002', 'b001', 'short', 40, 100, 'thursday', NULL,"
           "   6, 6, true, false, 'planned'),"
           "  ('00000000-0000-4000-8000-00000000c003', 'b001', 'extended', 70, 160, NULL, NULL, 5,"
           "   0, false, true, 'planned'),"
           "  ('00000000-0000-4000-8000-00000000c004', 'b001', 'aftercare', 100, 150, 'saturday',"
           "   '09:15', 4, 1, true, true, 'recruiting'),"
           "  ('00000000-0000-4000-8000-00000000c005', 'b002', 'standard', -20, 50, 'wednesday',"
           "   '17:00', 8, 5, true, true, 'running'),"
           "  ('00000000-0000-4000-8000-00000000c006', 'b002', 'short', -5, 30, 'monday', '10:00',"
           "   6, 2, false, false, 'running'),"
           "  ('00000000-0000-4000-8000-00000000c007', 'b004', 'standard', 15, 400, 'friday',"
           "   '10:00', 8, 8, true, true, 'planned'),"
           "  ('00000000-0000-4000-8000-00000000c008', 'b005', 'aftercare', 30, 70, 'sunday',"
           "   '14:45', 3, 0, true, true, 'recruiting')"
           " ) v (id, site, variant, starts, ends, weekday, at, cap, enrolled, accepting, self,"
           "   status) JOIN location l ON l.id = ('00000000-0000-4000-8000-00000000' || "
           "v.site)::uuid"));
    /* The aftercare group at the hall is at risk: one of its facilitators is suspended. */
    PQclear(it_sql(s, "WITH f AS (INSERT INTO facilitator (given_name, family_name, email, status,"
                      " accredited_on, accredited_until, reason) VALUES ('Golden', 'Risk',"
                      " 'golden.risk@example.org', 'suspended', DATE '2015-01-01',"
                      " registry_today() + 100, 'test') RETURNING id)"
                      " INSERT INTO programme_facilitator (run_id, facilitator_id) SELECT"
                      " '00000000-0000-4000-8000-00000000c004', id FROM f"));
}

/* `body` with the build's content hashes taken out of asset names ("/assets/app.3f2a9c1e.css"
 * as "/assets/app.css"), so that a page reads the same with and without WEB_ASSETS. malloc'd. */
static char *
golden_plain_assets(const char *body)
{
    char *out = strdup(body), *p = out;

    assert_non_null(out);
    while ((p = strstr(p, "/assets/")) != NULL) {
        char *end = p + strcspn(p, "\""), *dot;

        for (dot = p; dot + 10 <= end; dot++) {
            if (dot[0] == '.' && strspn(dot + 1, "0123456789abcdef") == 8 && dot[9] == '.') {
                memmove(dot, dot + 9, strlen(dot + 9) + 1);
                end -= 9;
                break;
            }
        }
        p = end;
    }
    return out;
}

/* `text` (malloc'd, freed here) with every `from` that does not follow a digit replaced by `to`
 * (so "1 March" is not found in "21 March"). Returns the new text, malloc'd. */
static char *
golden_replace(char *text, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    char *out = malloc(strlen(text) * (tl + 1) + 1);
    const char *p = text;

    assert_non_null(out);
    while (*p != '\0') {
        if (strncmp(p, from, fl) == 0 && (p == text || !(p[-1] >= '0' && p[-1] <= '9'))) {
            memcpy(out + n, to, tl);
            n += tl;
            p += fl;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    free(text);
    return out;
}

/* `text` (malloc'd, freed here) with each date of golden_days written as the server writes it
 * ("14 March 2027") when `to_marks` is 0, or each such date turned back into its mark. */
static char *
golden_dates(struct it_server *s, char *text, int to_marks)
{
    size_t i;

    for (i = 0; i < GOLDEN_NDAYS; i++) {
        char *offset = it_fmt("%d", golden_days[i]);
        char *day = it_sql_text(
            s, "SELECT to_char(registry_today() + $1::int, 'FMDD FMMonth YYYY')", offset);
        char *mark = it_fmt("@D%+d@", golden_days[i]);

        text = to_marks ? golden_replace(text, day, mark) : golden_replace(text, mark, day);
        free(offset);
        free(day);
        free(mark);
    }
    return text;
}

/* Compares the page at `path` (answering `status`) with tests/integration/golden/`name`.
 * IT_GOLDEN_WRITE=1 writes the file from the page instead (for a change meant to alter the page:
 * review the diff). */
static void
golden_check(struct it_server *s, const char *path, long status, const char *name)
{
    const char *write = getenv("IT_GOLDEN_WRITE");
    char *file = it_fmt("%s/tests/integration/golden/%s", getenv("IT_SOURCE_DIR"), name);
    char *page, *want;
    struct it_resp r;
    size_t at = 0;

    get_page(s, path, status, &r);
    page = golden_plain_assets(r.body);
    it_resp_free(&r);
    if (write != NULL && strcmp(write, "1") == 0) {
        FILE *out = fopen(file, "w");

        page = golden_dates(s, page, 1);
        assert_non_null(out);
        assert_true(fputs(page, out) >= 0);
        assert_int_equal(fclose(out), 0);
        free(page);
        free(file);
        return;
    }
    if ((want = it_read_file(file)) == NULL) {
        fail_msg("no golden page %s (IT_GOLDEN_WRITE=1 writes it)", file);
    }
    want = golden_dates(s, want, 0);
    if (strcmp(page, want) != 0) {
        while (page[at] != '\0' && page[at] == want[at]) {
            at++;
        }
        fprintf(stderr, "%s differs from golden/%s at byte %zu:\n  page: %.200s\n  want: %.200s\n",
                path, name, at, page + (at > 60 ? at - 60 : 0), want + (at > 60 ? at - 60 : 0));
        fail_msg("%s is not its golden rendering", path);
    }
    free(want);
    free(page);
    free(file);
}

/* The finder's pages are exactly their golden renderings: the empty form; the form with errors;
 * results from a full postcode, without the central contact and with it (markup in it too);
 * from a point; with filters at the largest distance (then the central contact); the nearest
 * beyond the radius; a town; a town's name of several places; a town and its area. */
static void
test_find_golden(void **state)
{
    struct fx *f = *state;

    golden_fixture(f->s);
    golden_check(f->s, "/find", 200, "find_form.html");
    golden_check(f->s, "/find?postcode=NOT+4+POSTCODE&radius=7", 400, "find_errors.html");
    golden_check(f->s, "/find?postcode=tr1+1aa&radius=25", 200, "find_postcode_nocontact.html");
    PQclear(it_sql(f->s, "UPDATE central_contact_setting SET name = 'Family <Line> & Co',"
                         " phone = '0800 123 4567', email = 'help+\"x\"@line.example',"
                         " web_chat_url = 'https://line.example/chat?a=1&b=2',"
                         " opening_hours = 'Mon–Fri, 9 <am> to 5 pm'"));
    golden_check(f->s, "/find?postcode=tr1+1aa&radius=25", 200, "find_postcode.html");
    golden_check(f->s, "/find?lat=50.2632&lon=-5.0510&radius=10", 200, "find_location.html");
    golden_check(f->s, "/find?postcode=TR1+1AA&radius=100&self_referral=yes&within=90", 200,
                 "find_filtered.html");
    golden_check(f->s, "/find?postcode=TR20+8AA&radius=5", 200, "find_beyond.html");
    golden_check(f->s, "/find?postcode=Penryn&radius=10", 200, "find_town.html");
    golden_check(f->s, "/find?postcode=St+Ives&radius=25", 200, "find_choices.html");
    golden_check(f->s, "/find?postcode=St+Ives&area=Cornwall&radius=50&within=60", 200,
                 "find_town_area.html");
    PQclear(it_sql(f->s, "UPDATE central_contact_setting SET name = NULL, phone = NULL,"
                         " email = NULL, web_chat_url = NULL, opening_hours = NULL"));
}

/* ---- Rate limit --------------------------------------------------------------------------- */

static void
test_rate_limited(void **state)
{
    static const char *const env[] = {"REGISTRY_PUBLIC_RATE_LIMIT=3", NULL};
    struct it_server *s = it_start_env("pages_limit", env);
    int i;

    (void)state;
    for (i = 0; i < 3; i++) {
        it_expect(s, "GET", i % 2 == 0 ? "/find" : "/check", NULL, NULL, 200);
    }
    it_expect(s, "GET", "/", NULL, NULL, 429);
    it_stop(s);
}

TEST_MAIN(setup,
          it_fx_teardown,
          cmocka_unit_test(test_home),
          cmocka_unit_test(test_app_pages),
          cmocka_unit_test(test_find_form),
          cmocka_unit_test(test_find_results),
          cmocka_unit_test(test_find_errors),
          cmocka_unit_test(test_find_nothing_nearby),
          cmocka_unit_test(test_find_location),
          cmocka_unit_test(test_find_not_logged),
          cmocka_unit_test(test_check_form),
          cmocka_unit_test(test_check_by_number),
          cmocka_unit_test(test_check_by_name),
          cmocka_unit_test(test_impact),
          cmocka_unit_test(test_find_golden),
          cmocka_unit_test(test_rate_limited))
