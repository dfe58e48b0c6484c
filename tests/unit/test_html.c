/* tests/unit/test_html.c: the HTML buffer: escaping, html_printf's conversions, a bad conversion
 * failing the page, growth past the first block, the layout's fixed parts and the error summary. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../test_main.h"
#include "registry/html.h"

static void
test_text_escaped(void **state)
{
    struct html h;

    (void)state;
    html_init(&h);
    html_text(&h, "<script>alert(\"x\")</script> & 'q'");
    html_text(&h, NULL);
    assert_false(h.failed);
    assert_string_equal(h.p, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;");
    html_cleanup(&h);
    assert_null(h.p);
}

static void
test_printf_conversions(void **state)
{
    struct html h;

    (void)state;
    html_init(&h);
    html_printf(&h, "<a href=\"/check?q=%Q\" title=\"%s\">%s</a>%H|%d|%ld|%zu|%.1f|%.0f|%%|%s",
                "MPF 1&2/é", "a\"b", "<b>", "<i>raw</i>", -42, 1234567890L, (size_t)7, 4.45, 2.5,
                NULL);
    assert_false(h.failed);
    assert_string_equal(h.p, "<a href=\"/check?q=MPF%201%262%2F%C3%A9\" title=\"a&quot;b\">"
                             "&lt;b&gt;</a><i>raw</i>|-42|1234567890|7|4.5|2|%|");
    assert_int_equal(h.len, strlen(h.p));
    html_cleanup(&h);
}

static void
test_printf_bad_conversion(void **state)
{
    struct html h;

    (void)state;
    html_init(&h);
    html_printf(&h, "ok %x", 1);
    assert_true(h.failed);
    html_cleanup(&h);

    html_init(&h);
    html_printf(&h, "%.2s", "x"); /* a precision only for %f */
    assert_true(h.failed);
    html_cleanup(&h);
}

static void
test_grows(void **state)
{
    struct html h;
    size_t i;

    (void)state;
    html_init(&h);
    for (i = 0; i < 5000; i++) {
        html_text(&h, "<&>");
    }
    assert_false(h.failed);
    assert_int_equal(h.len, 5000 * strlen("&lt;&amp;&gt;"));
    assert_int_equal(strlen(h.p), h.len);
    html_cleanup(&h);
}

static void
test_layout(void **state)
{
    struct html h;

    (void)state;
    html_init(&h);
    html_page_start(&h, "Results for <x>", HTML_NAV_CHECK);
    html_raw(&h, "<h1>Body</h1>");
    html_page_end(&h, "/assets/js/find.js");
    assert_false(h.failed);
    assert_non_null(strstr(h.p, "<html lang=\"en-GB\""));
    assert_non_null(strstr(h.p, "<title>Results for &lt;x&gt; – M-PACT Registry</title>"));
    assert_non_null(strstr(h.p, "href=\"#main-content\""));
    assert_non_null(strstr(h.p, "id=\"main-content\""));
    assert_non_null(strstr(h.p, "href=\"/check\" aria-current=\"page\""));
    assert_null(strstr(h.p, "href=\"/find\" aria-current"));
    assert_non_null(strstr(h.p, "<script type=\"module\" src=\"/assets/js/init.js\"></script>"));
    assert_non_null(strstr(h.p, "<script type=\"module\" src=\"/assets/js/find.js\"></script>"));
    assert_true(strstr(h.p, "<h1>Body</h1>") > strstr(h.p, "id=\"main-content\""));
    assert_true(strstr(h.p, "<h1>Body</h1>") < strstr(h.p, "</main>"));
    html_cleanup(&h);

    html_init(&h);
    html_page_start(&h, NULL, HTML_NAV_NONE);
    html_page_end(&h, NULL);
    assert_non_null(strstr(h.p, "<title>M-PACT Registry</title>"));
    assert_null(strstr(h.p, "aria-current"));
    assert_int_equal(strstr(strstr(h.p, "<script") + 1, "<script") == NULL, 1);
    html_cleanup(&h);
}

static void
test_error_summary(void **state)
{
    static const struct html_error errors[] = {
        {"postcode", "Enter a real postcode, like <ME4 4AB>"},
        {"radius", "Select how far you can travel"},
    };
    struct html h;

    (void)state;
    html_init(&h);
    html_error_summary(&h, errors, 0);
    assert_null(h.p);
    html_error_summary(&h, errors, 2);
    html_field_error(&h, "postcode", errors[0].message);
    html_field_error(&h, "radius", NULL);
    assert_false(h.failed);
    assert_non_null(strstr(h.p, "class=\"govuk-error-summary\""));
    assert_non_null(strstr(h.p, "There is a problem"));
    assert_non_null(strstr(h.p, "<li><a href=\"#postcode\">Enter a real postcode, like &lt;ME4 "
                                "4AB&gt;</a></li>"));
    assert_non_null(strstr(h.p, "<li><a href=\"#radius\">Select how far you can travel</a></li>"));
    assert_non_null(strstr(h.p, "<p id=\"postcode-error\" class=\"govuk-error-message\">"));
    assert_null(strstr(h.p, "radius-error"));
    html_cleanup(&h);
}

/* %.Nf writes what printf writes, for every precision: random doubles of every magnitude, both
 * signs, exact ties (k/2^n, which round to even), values a hair either side of a tie, the
 * distances the finder shows (a kilometre figure with 2 decimals, and it in miles), integers up
 * to 2^53 and past it, zero and negative zero, infinities and NaN. */
static void
test_printf_fixed_as_printf(void **state)
{
    static const double special[] = {0.0,
                                     -0.0,
                                     0.05,
                                     0.15,
                                     0.25,
                                     0.35,
                                     0.45,
                                     2.5,
                                     3.5,
                                     -2.5,
                                     0.125,
                                     0.375,
                                     1e-300,
                                     -1e-300,
                                     4.9e-324,
                                     1e15,
                                     1e16,
                                     9007199254740991.0,
                                     9007199254740992.0,
                                     9007199254740993.0 * 3,
                                     1e300,
                                     -1e300,
                                     INFINITY,
                                     -INFINITY,
                                     NAN,
                                     0.0499999999999999,
                                     0.9999999};
    char want[64]; /* html_printf writes at most 63 characters of a number, as printf into 64 */
    unsigned long long seed = 42;
    size_t i;
    int prec;

    (void)state;
    for (i = 0; i < 60000 + sizeof(special) / sizeof(special[0]); i++) {
        double x;
        struct html h;

        if (i < sizeof(special) / sizeof(special[0])) {
            x = special[i];
        } else {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            switch (i % 5) {
            case 0: /* anything: random bits */
                memcpy(&x, &seed, sizeof(x));
                break;
            case 1: /* a tie or near one: k / 2^n */
                x = ldexp((double)(seed >> 40), -(int)(seed % 24));
                break;
            case 2: /* a finder distance: km with 2 decimals, and in miles */
                x = (double)(seed % 1000000) / 100.0;
                x = (seed & 1) ? x : x / 1.609344;
                break;
            case 3: /* small, either sign */
                x = ((double)(seed >> 11) / 9007199254740992.0 - 0.5) * 200.0;
                break;
            default: /* large */
                x = ldexp((double)(seed >> 11), (int)(seed % 12));
                break;
            }
        }
        for (prec = 0; prec <= 9; prec++) {
            html_init(&h);
            html_printf(&h,
                        prec == 0   ? "%.0f"
                        : prec == 1 ? "%.1f"
                        : prec == 2 ? "%.2f"
                        : prec == 3 ? "%.3f"
                                    : "%.9f",
                        x);
            snprintf(want, sizeof(want), "%.*f", prec > 3 ? 9 : prec, x);
            if (strcmp(h.p, want) != 0) {
                fail_msg("%.17g with %d decimals: %s, printf %s", x, prec, h.p, want);
            }
            html_cleanup(&h);
            if (prec == 3) {
                prec = 9; /* the snprintf path once */
            }
        }
    }
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_text_escaped),
          cmocka_unit_test(test_printf_conversions),
          cmocka_unit_test(test_printf_bad_conversion),
          cmocka_unit_test(test_printf_fixed_as_printf),
          cmocka_unit_test(test_grows),
          cmocka_unit_test(test_layout),
          cmocka_unit_test(test_error_summary))
