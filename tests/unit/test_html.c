/* tests/unit/test_html.c: the HTML buffer: escaping, html_printf's conversions, a bad conversion
 * failing the page, growth past the first block, the layout's fixed parts and the error summary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_text_escaped),
          cmocka_unit_test(test_printf_conversions),
          cmocka_unit_test(test_printf_bad_conversion),
          cmocka_unit_test(test_grows),
          cmocka_unit_test(test_layout),
          cmocka_unit_test(test_error_summary))
