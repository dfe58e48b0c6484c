/* it_openapi.c: the real server answers GET /openapi.json with the description file as JSON, and
 * GET /docs with a page that renders it from local assets only. */
#include <stdlib.h>
#include <string.h>

#include "itlib.h"

IT_SETUP(setup, it_start("openapi"))

/* GET /openapi.json: 200, JSON content type, the served static file itself, cacheable with an
 * ETag (304 on If-None-Match), readable without a token. */
static void
test_openapi_json(void **state)
{
    struct it_server *s = *state;
    struct it_resp r, again;
    const char *dir = getenv("IT_STATIC_DIR");
    char *file, *etag, *inm;
    json_t *on_disk;
    json_error_t err;
    const char *hdrs[2] = {NULL, NULL};

    assert_non_null(dir);
    it_get(s, "/openapi.json", NULL, &r);
    it_assert_status(&r, 200);
    it_assert_header(&r, "Content-Type", "application/json");
    it_assert_header(&r, "Cache-Control", "public, max-age=300");
    assert_non_null(r.json);
    assert_true(strncmp(it_json_str(&r, "openapi"), "3.1.", 4) == 0);
    assert_non_null(json_object_get(json_object_get(r.json, "paths"), "/v1/organisations"));

    /* The answer is the file in the served static folder, byte for byte as JSON. */
    file = it_fmt("%s/openapi.json", dir);
    on_disk = json_load_file(file, JSON_REJECT_DUPLICATES, &err);
    assert_non_null(on_disk);
    assert_true(json_equal(on_disk, r.json));

    assert_non_null(it_header(&r, "ETag"));
    etag = strdup(it_header(&r, "ETag"));
    inm = it_fmt("If-None-Match: %s", etag);
    hdrs[0] = inm;
    it_request(s, "GET", "/openapi.json", NULL, hdrs, NULL, &again);
    it_assert_status(&again, 304);
    assert_int_equal(again.len, 0);

    it_resp_free(&again);
    it_resp_free(&r);
    json_decref(on_disk);
    free(inm);
    free(etag);
    free(file);
}

/* 1 when `ref` (an href or src value) stays on this site: a path from the root, a fragment or an
 * inline data: URI (no request at all), never another scheme or a protocol-relative "//host". */
static int
local_ref(const char *ref, size_t n)
{
    if ((n > 0 && ref[0] == '#') || strncmp(ref, "data:", 5) == 0) {
        return 1;
    }
    return n >= 1 && ref[0] == '/' && !(n >= 2 && ref[1] == '/');
}

/* Collects every src="..." and href="..." of `html` into `out` (a JSON array of strings). */
static void
collect_refs(const char *html, json_t *out)
{
    static const char *const attrs[] = {" src=\"", " href=\""};
    size_t a;

    for (a = 0; a < 2; a++) {
        const char *p = html;
        while ((p = strstr(p, attrs[a])) != NULL) {
            const char *v = p + strlen(attrs[a]);
            const char *end = strchr(v, '"');
            assert_non_null(end);
            json_array_append_new(out, json_stringn(v, (size_t)(end - v)));
            p = end;
        }
    }
}

/* GET /docs: an HTML page with the page security headers, no inline script, every script, style
 * sheet and link local, and each asset it loads served: the renderer is our own module
 * (assets/js/docs.js) and its style sheet (assets/docs.css), no third-party renderer; the module
 * loads the description from this site only, imports only our own modules, and builds the page
 * without parsing HTML. */
static void
test_docs_page(void **state)
{
    struct it_server *s = *state;
    struct it_resp r, js, ui;
    json_t *refs = json_array(), *v;
    size_t i;
    int scripts = 0, module = 0, sheet = 0;

    it_get(s, "/docs", NULL, &r);
    it_assert_status(&r, 200);
    it_assert_header(&r, "Content-Type", "text/html");
    it_assert_header(&r, "Content-Security-Policy", "default-src 'self'");
    it_assert_header(&r, "X-Frame-Options", "DENY");
    assert_non_null(strstr(r.body, "<h1"));
    assert_non_null(strstr(r.body, "<div id=\"api-docs\""));
    assert_non_null(strstr(r.body, "href=\"/openapi.json\""));
    assert_null(strstr(r.body, "swagger"));

    /* No inline script: every <script has a src. */
    {
        const char *p = r.body;
        while ((p = strstr(p, "<script")) != NULL) {
            const char *close = strchr(p, '>');
            assert_non_null(close);
            if (memmem(p, (size_t)(close - p), " src=\"", 6) == NULL) {
                fail_msg("/docs has an inline script: %.80s", p);
            }
            scripts++;
            p = close;
        }
    }
    assert_true(scripts >= 2); /* init.js and the renderer */

    collect_refs(r.body, refs);
    assert_true(json_array_size(refs) > 0);
    json_array_foreach(refs, i, v)
    {
        const char *ref = json_string_value(v);
        struct it_resp a;

        if (!local_ref(ref, strlen(ref))) {
            fail_msg("/docs refers outside the site: %s", ref);
        }
        if (ref[0] != '/') {
            continue; /* a fragment or data: URI: nothing to fetch */
        }
        /* The renderer and its style sheet, by their plain or content-hashed names. */
        if (strncmp(ref, "/assets/js/docs.", 16) == 0 && strstr(ref, ".js") != NULL) {
            module++;
        }
        if (strncmp(ref, "/assets/docs.", 13) == 0 && strstr(ref, ".css") != NULL) {
            sheet++;
        }
        it_get(s, ref, NULL, &a);
        if (a.status != 200) {
            fail_msg("/docs refers to %s, which answers %ld", ref, a.status);
        }
        it_resp_free(&a);
    }
    assert_int_equal(module, 1);
    assert_int_equal(sheet, 1);

    /* The module loads the description from this site and nothing else, imports only our own
     * ui.mjs (served), and never turns text into markup. */
    it_get(s, "/assets/js/docs.js", NULL, &js);
    it_assert_status(&js, 200);
    it_assert_header(&js, "Content-Type", "text/javascript");
    assert_non_null(strstr(js.body, "'/openapi.json'"));
    it_assert_absent(js.body, "http://", "https://", "innerHTML", "insertAdjacentHTML", NULL);
    assert_non_null(strstr(js.body, "from './app/ui.mjs'"));
    it_get(s, "/assets/js/app/ui.mjs", NULL, &ui);
    it_assert_status(&ui, 200);

    it_resp_free(&ui);
    it_resp_free(&js);
    it_resp_free(&r);
    json_decref(refs);
}

TEST_MAIN(setup, it_teardown, cmocka_unit_test(test_openapi_json), cmocka_unit_test(test_docs_page))
