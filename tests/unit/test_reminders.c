/* tests/unit/test_reminders.c: the reminder templates: {{placeholders}} rendered as they are in
 * the plain text and HTML-escaped in the HTML part, unknown or unterminated placeholders refused,
 * the repository's static/mail templates loading, and a template folder that is incomplete or
 * uses an unknown placeholder refused naming the file; the outbox retry delays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "../test_main.h"
#include "registry/html.h"
#include "registry/mail.h"
#include "registry/reminders.h"

static void
test_render_text_and_html(void **state)
{
    json_t *data = json_pack("{s:s, s:i, s:s}", "name", "Evil <b>\"Co\" & 'x'", "days", 7, "end",
                             "30 June 2031");
    struct html t, h;
    char err[128] = "";

    (void)state;
    html_init(&t);
    html_init(&h);
    assert_int_equal(reminders_render("{{name}} ends {{ end }}, in {{days}} days {x} }}", data, 0,
                                      &t, err, sizeof(err)),
                     0);
    assert_string_equal(t.p, "Evil <b>\"Co\" & 'x' ends 30 June 2031, in 7 days {x} }}");
    assert_int_equal(reminders_render("<p>{{name}}</p>", data, 1, &h, err, sizeof(err)), 0);
    assert_string_equal(h.p, "<p>Evil &lt;b&gt;&quot;Co&quot; &amp; &#39;x&#39;</p>");
    html_cleanup(&t);
    html_cleanup(&h);
    json_decref(data);
}

static void
test_render_refuses(void **state)
{
    /* A template refused, and what the error names (NULL: not checked). */
    static const struct {
        const char *template, *names;
    } cases[] = {
        {"Hi {{missing}}", "{{missing}}"},
        {"Hi {{flag}}", NULL},
        {"Hi {{name", "without }}"},
        {"Hi {{ }}", NULL},
    };
    json_t *data = json_pack("{s:s, s:b}", "name", "A", "flag", 1);
    struct html t;
    char err[128] = "";
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        html_init(&t);
        assert_int_equal(reminders_render(cases[i].template, data, 0, &t, err, sizeof(err)), -1);
        if (cases[i].names != NULL) {
            assert_non_null(strstr(err, cases[i].names));
        }
        html_cleanup(&t);
    }
    json_decref(data);
}

/* The repository's static/mail, found from this file's path. */
static char *
repo_mail_dir(void)
{
    char *dir = strdup(__FILE__), *cut = strstr(dir, "/tests/unit/");

    assert_non_null(cut);
    *cut = '\0';
    {
        size_t n = strlen(dir) + sizeof("/static/mail");
        char *out = malloc(n);

        snprintf(out, n, "%s/static/mail", dir);
        free(dir);
        return out;
    }
}

static void
test_repository_templates_load(void **state)
{
    char *dir = repo_mail_dir(), err[512] = "";

    (void)state;
    if (reminders_templates_load(dir, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    reminders_templates_free();
    free(dir);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
test_bad_folders_refused(void **state)
{
    char tmp[] = "/tmp/mpact-unit-mail-XXXXXX", cmd[600], err[512] = "";
    char *dir = repo_mail_dir();

    (void)state;
    assert_non_null(mkdtemp(tmp));
    snprintf(cmd, sizeof(cmd), "cp '%s'/*.* '%s'/", dir, tmp);
    assert_int_equal(system(cmd), 0);
    /* An unknown placeholder in the HTML part. */
    write_file(tmp, "run_at_risk.html", "<p>{{organisation_name}} {{licence_number}}</p>\n");
    assert_int_equal(reminders_templates_load(tmp, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "run_at_risk.html"));
    assert_non_null(strstr(err, "{{licence_number}}"));
    /* No subject line. */
    write_file(tmp, "run_at_risk.html", "<p>{{organisation_name}}</p>\n");
    write_file(tmp, "licence_ending.txt", "The licence {{licence_number}} ends.\n");
    assert_int_equal(reminders_templates_load(tmp, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "licence_ending.txt"));
    assert_non_null(strstr(err, "Subject"));
    /* A missing file. */
    write_file(tmp, "licence_ending.txt", "Subject: {{licence_number}}\n\nEnds {{ends_on}}.\n");
    snprintf(cmd, sizeof(cmd), "%s/training_withdrawn.txt", tmp);
    assert_int_equal(unlink(cmd), 0);
    assert_int_equal(reminders_templates_load(tmp, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "training_withdrawn.txt"));
    /* Complete again. */
    write_file(tmp, "training_withdrawn.txt", "Subject: {{course_title}}\n\n{{venue}}\n");
    if (reminders_templates_load(tmp, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    reminders_templates_free();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static void
test_retry_delays(void **state)
{
    (void)state;
    assert_int_equal(mail_retry_delay_ms(100, 1), 100);
    assert_int_equal(mail_retry_delay_ms(100, 2), 500);
    assert_int_equal(mail_retry_delay_ms(100, 3), 1500);
    assert_int_equal(mail_retry_delay_ms(100, 7), 72000);
    assert_int_equal(mail_retry_delay_ms(100, 50), 72000);
    assert_int_equal(mail_retry_delay_ms(100, 0), 100);
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_render_text_and_html),
          cmocka_unit_test(test_render_refuses),
          cmocka_unit_test(test_repository_templates_load),
          cmocka_unit_test(test_bad_folders_refused),
          cmocka_unit_test(test_retry_delays))
