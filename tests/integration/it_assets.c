/* it_assets.c: the front end's files as the build leaves them (cmake/static_variants.cmake) and
 * the service serves them (server/static.c): pages link to content-hashed names, cached for a
 * year as immutable; a wrong hash is a 404; the plain names still answer, revalidated each time;
 * a client that accepts gzip gets the precompressed .gz (the same bytes once decoded), one that
 * does not gets the plain file, and the answers say Vary: Accept-Encoding.
 *
 * The static folder is the test's own (a style sheet and scripts written here), made into a
 * served folder by the build's own script, so the test runs the same with WEB_ASSETS on or off.
 * Environment (tests/integration/CMakeLists.txt): CMAKE_COMMAND and IT_GZIP (not GZIP: gzip reads
 * that as options), the programs the build uses. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itlib.h"
#include "registry/codec.h"

#define HASHED_CACHE "public, max-age=31536000, immutable"
#define PLAIN_CACHE  "public, no-cache"

struct fx {
    struct it_server *s;
    char dir[64]; /* the static folder */
    char *css;    /* the bytes of assets/app.css */
    char *init;   /* the bytes of assets/js/init.js */
};

static const char *const gzip_hdr[] = {"Accept-Encoding: gzip, deflate, br", NULL};

/* ---- The static folder ------------------------------------------------------------------- */

static void
write_file(const char *dir, const char *rel, const char *text)
{
    char *path = it_fmt("%s/%s", dir, rel);
    FILE *f = fopen(path, "w");

    if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
        fail_msg("cannot write %s: %s", path, strerror(errno));
    }
    free(path);
}

/* Runs a shell command; fails the test unless it exits 0. */
static void
run(const char *cmd)
{
    int rc = system(cmd);

    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
        fail_msg("`%s` failed (%d)", cmd, rc);
    }
}

static const char *
env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);

    return v != NULL && *v != '\0' ? v : fallback;
}

/* The build's step on the folder: hashed copies, asset-names.json, the .gz files. */
static void
make_variants(const char *dir)
{
    char *cmd = it_fmt("'%s' -DDIR='%s' -DGZIP='%s' -P '%s/cmake/static_variants.cmake'",
                       env_or("CMAKE_COMMAND", "cmake"), dir, env_or("IT_GZIP", "gzip"),
                       env_or("IT_SOURCE_DIR", "."));

    run(cmd);
    free(cmd);
}

/* A style sheet of `rules` rules: text that compresses well, as real CSS does. */
static char *
make_css(int rules, const char *colour)
{
    size_t cap = (size_t)rules * 96 + 1, used = 0;
    char *css = malloc(cap);
    int i;

    assert_non_null(css);
    for (i = 0; i < rules; i++) {
        used += (size_t)snprintf(css + used, cap - used,
                                 ".app-rule-%d{margin:0 0 %dpx;color:%s;padding:%dpx}\n", i, i % 40,
                                 colour, i % 7);
    }
    return css;
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char *env, *cmd;

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/mpact-it-assets-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        fail_msg("mkdtemp: %s", strerror(errno));
    }
    cmd = it_fmt("mkdir -p '%s/assets/js' && cp -r '%s/static/mail' '%s/'", f->dir,
                 getenv("IT_SOURCE_DIR"), f->dir); /* serve reads its mail templates there */
    run(cmd);
    free(cmd);
    f->css = make_css(200, "#0b0c0c");
    f->init = strdup("// init.js\nimport { initAll } from '/assets/govuk/govuk-frontend.min.js';\n"
                     "document.body.classList.add('js-enabled', 'govuk-frontend-supported');\n"
                     "initAll();\n");
    assert_non_null(f->init);
    write_file(f->dir, "assets/app.css", f->css);
    write_file(f->dir, "assets/js/init.js", f->init);
    write_file(f->dir, "assets/js/find.js", "// find.js\n");
    write_file(f->dir, "assets/tiny.css", "a{}\n"); /* gzip would make it larger: no .gz */
    make_variants(f->dir);

    env = it_fmt("REGISTRY_STATIC_DIR=%s", f->dir);
    {
        const char *const extra[] = {env, NULL};
        f->s = it_start_env("assets", extra);
    }
    free(env);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char *cmd;

    if (f == NULL) {
        return 0; /* setup failed */
    }
    cmd = it_fmt("rm -rf '%s'", f->dir);
    it_stop(f->s);
    run(cmd);
    free(cmd);
    free(f->css);
    free(f->init);
    free(f);
    return 0;
}

/* ---- Helpers ------------------------------------------------------------------------------ */

/* "/assets/app.css" -> "/assets/app.<first 8 hex digits of SHA-256(text)>.css" */
static char *
hashed_url(const char *url, const char *text)
{
    unsigned char digest[32];
    char hex[65];
    const char *dot = strrchr(url, '.');

    codec_sha256(text, strlen(text), digest);
    codec_hex(digest, 4, hex);
    return it_fmt("%.*s.%s%s", (int)(dot - url), url, hex, dot);
}

static void
assert_header_is(const struct it_resp *r, const char *name, const char *want)
{
    const char *v = it_header(r, name);

    if (v == NULL || strcmp(v, want) != 0) {
        it_resp_print(r);
        fail_msg("%s: '%s', want '%s'", name, v != NULL ? v : "(none)", want);
    }
}

static void
assert_body_is(const struct it_resp *r, const char *want)
{
    if (r->len != strlen(want) || memcmp(r->body, want, r->len) != 0) {
        fail_msg("the body (%zu bytes) is not the file (%zu bytes)", r->len, strlen(want));
    }
}

/* The Content-Length header equals the bytes received (`len`: for HEAD, those of the GET). */
static void
assert_length(const struct it_resp *r, size_t len)
{
    const char *v = it_header(r, "Content-Length");

    if (v == NULL || strtoull(v, NULL, 10) != len) {
        it_resp_print(r);
        fail_msg("Content-Length '%s', want %zu", v != NULL ? v : "(none)", len);
    }
}

/* gunzips `r`'s body with the build's gzip; returns the malloc'd bytes (NUL-terminated). */
static char *
gunzip(const struct it_resp *r, const char *dir)
{
    char *packed = it_fmt("%s/got.gz", dir), *plain = it_fmt("%s/got", dir), *cmd, *out;
    FILE *fp = fopen(packed, "wb");

    if (fp == NULL || fwrite(r->body, 1, r->len, fp) != r->len || fclose(fp) != 0) {
        fail_msg("cannot write %s", packed);
    }
    cmd = it_fmt("'%s' -dc '%s' > '%s'", env_or("IT_GZIP", "gzip"), packed, plain);
    run(cmd);
    out = it_read_file(plain);
    assert_non_null(out);
    unlink(packed);
    unlink(plain);
    free(cmd);
    free(packed);
    free(plain);
    return out;
}

/* ---- Hashed names --------------------------------------------------------------------------- */

/* Every page links to the hashed names of the style sheet and its scripts. */
static void
test_pages_link_hashed_names(void **state)
{
    struct fx *f = *state;
    char *css = hashed_url("/assets/app.css", f->css);
    char *init = hashed_url("/assets/js/init.js", f->init);
    char *find = hashed_url("/assets/js/find.js", "// find.js\n");
    char *want_css = it_fmt("<link rel=\"stylesheet\" href=\"%s\">", css);
    char *want_init = it_fmt("<script type=\"module\" src=\"%s\"></script>", init);
    char *want_find = it_fmt("<script type=\"module\" src=\"%s\"></script>", find);
    struct it_resp r;

    it_get(f->s, "/find", NULL, &r);
    it_assert_status(&r, 200);
    if (strstr(r.body, want_css) == NULL || strstr(r.body, want_init) == NULL
        || strstr(r.body, want_find) == NULL) {
        it_resp_print(&r);
        fail_msg("/find does not link to %s, %s and %s", css, init, find);
    }
    assert_null(strstr(r.body, "\"/assets/app.css\""));
    it_resp_free(&r);

    it_get(f->s, "/", NULL, &r);
    it_assert_status(&r, 200);
    assert_non_null(strstr(r.body, want_css));
    assert_non_null(strstr(r.body, want_init));
    it_resp_free(&r);
    free(want_css);
    free(want_init);
    free(want_find);
    free(css);
    free(init);
    free(find);
}

/* A hashed name is the file's bytes, cached for a year; the plain name too, revalidated. */
static void
test_hashed_name_is_immutable(void **state)
{
    struct fx *f = *state;
    char *css = hashed_url("/assets/app.css", f->css);
    char *init = hashed_url("/assets/js/init.js", f->init);
    struct it_resp r;

    it_get(f->s, css, NULL, &r);
    it_assert_status(&r, 200);
    assert_header_is(&r, "Content-Type", "text/css; charset=utf-8");
    assert_header_is(&r, "Cache-Control", HASHED_CACHE);
    it_assert_header(&r, "ETag", "\"");
    assert_body_is(&r, f->css);
    it_resp_free(&r);

    it_get(f->s, init, NULL, &r);
    it_assert_status(&r, 200);
    assert_header_is(&r, "Content-Type", "text/javascript; charset=utf-8");
    assert_header_is(&r, "Cache-Control", HASHED_CACHE);
    assert_body_is(&r, f->init);
    it_resp_free(&r);

    it_get(f->s, "/assets/app.css", NULL, &r);
    it_assert_status(&r, 200);
    assert_header_is(&r, "Cache-Control", PLAIN_CACHE);
    assert_body_is(&r, f->css);
    it_resp_free(&r);

    /* A file the build did not hash (the .gz alone is not served by its name either). */
    it_get(f->s, "/assets/tiny.css", NULL, &r);
    it_assert_status(&r, 200);
    assert_header_is(&r, "Cache-Control", PLAIN_CACHE);
    it_resp_free(&r);
    it_expect(f->s, "GET", "/assets/app.css.gz", NULL, NULL, 404);
    free(css);
    free(init);
}

/* A name with another hash than the file's is no file: 404, whatever the hash. */
static void
test_wrong_hash_is_404(void **state)
{
    struct fx *f = *state;
    char *css = hashed_url("/assets/app.css", f->css);
    char *init = hashed_url("/assets/js/init.js", f->init);
    char *wrong = strdup(css);
    char *init_hash_on_css;
    size_t at = strlen("/assets/app.");
    struct it_resp r;

    assert_non_null(wrong);
    wrong[at] = wrong[at] == '0' ? '1' : '0'; /* one hex digit changed */
    it_expect(f->s, "GET", wrong, NULL, NULL, 404);
    it_expect(f->s, "GET", "/assets/app.00000000.css", NULL, NULL, 404);
    it_expect(f->s, "GET", "/assets/app.ffffffff.css", NULL, NULL, 404);
    /* init.js's hash on app.css's name */
    init_hash_on_css = it_fmt("/assets/app.%.8s.css", init + strlen("/assets/js/init."));
    it_expect(f->s, "GET", init_hash_on_css, NULL, NULL, 404);
    /* With gzip accepted too: no .gz of a name that does not exist. */
    it_request(f->s, "GET", wrong, NULL, gzip_hdr, NULL, &r);
    it_assert_problem(&r, 404);
    assert_null(it_header(&r, "Content-Encoding"));
    it_resp_free(&r);
    free(init_hash_on_css);
    free(wrong);
    free(css);
    free(init);
}

/* A rebuild (new content, the step run again) under the running service: pages link to the new
 * hash at once; the old hashed file, still on disk, still answers. */
static void
test_rebuild_changes_the_link(void **state)
{
    struct fx *f = *state;
    char *old_url = hashed_url("/assets/app.css", f->css), *new_url, *want;
    struct it_resp r;

    free(f->css);
    f->css = make_css(210, "#1d70b8");
    write_file(f->dir, "assets/app.css", f->css);
    make_variants(f->dir);
    new_url = hashed_url("/assets/app.css", f->css);
    assert_string_not_equal(old_url, new_url);
    want = it_fmt("<link rel=\"stylesheet\" href=\"%s\">", new_url);

    it_get(f->s, "/find", NULL, &r);
    it_assert_status(&r, 200);
    if (strstr(r.body, want) == NULL) {
        it_resp_print(&r);
        fail_msg("after the rebuild /find does not link to %s", new_url);
    }
    it_resp_free(&r);
    it_request(f->s, "GET", new_url, NULL, gzip_hdr, NULL, &r);
    it_assert_status(&r, 200);
    assert_header_is(&r, "Cache-Control", HASHED_CACHE);
    it_resp_free(&r);
    it_expect(f->s, "GET", old_url, NULL, NULL, 200);
    free(want);
    free(old_url);
    free(new_url);
}

/* ---- Compression ---------------------------------------------------------------------------- */

/* Accept-Encoding: gzip gets the .gz: smaller, Content-Encoding and Content-Length right, and the
 * same bytes as the plain answer once decoded; for the plain and the hashed name alike. */
static void
test_gzip_when_accepted(void **state)
{
    struct fx *f = *state;
    char *css = hashed_url("/assets/app.css", f->css);
    const char *const urls[] = {"/assets/app.css", css};
    static const char *const accepts[] = {"Accept-Encoding: gzip", "Accept-Encoding: gzip, br",
                                          "Accept-Encoding: br;q=1.0, gzip;q=0.5",
                                          "Accept-Encoding: *"};
    size_t i, j;

    for (i = 0; i < 2; i++) {
        for (j = 0; j < sizeof(accepts) / sizeof(accepts[0]); j++) {
            const char *const hdr[] = {accepts[j], NULL};
            struct it_resp r;
            char *plain;

            it_request(f->s, "GET", urls[i], NULL, hdr, NULL, &r);
            it_assert_status(&r, 200);
            assert_header_is(&r, "Content-Encoding", "gzip");
            assert_header_is(&r, "Vary", "Accept-Encoding");
            assert_header_is(&r, "Content-Type", "text/css; charset=utf-8");
            assert_length(&r, r.len);
            if (r.len * 4 > strlen(f->css)) {
                fail_msg("%s with %s: %zu bytes of %zu, not compressed", urls[i], accepts[j], r.len,
                         strlen(f->css));
            }
            plain = gunzip(&r, f->dir);
            if (strcmp(plain, f->css) != 0) {
                fail_msg("%s with %s: the gzip answer does not decode to the file", urls[i],
                         accepts[j]);
            }
            free(plain);
            it_resp_free(&r);
        }
    }
    free(css);
}

/* Without Accept-Encoding, or one that refuses gzip, the plain bytes; Vary all the same. */
static void
test_plain_without_accept(void **state)
{
    struct fx *f = *state;
    static const char *const accepts[] = {NULL, "Accept-Encoding: identity",
                                          "Accept-Encoding: gzip;q=0",
                                          "Accept-Encoding: br, deflate", "Accept-Encoding: *;q=0"};
    size_t j;

    for (j = 0; j < sizeof(accepts) / sizeof(accepts[0]); j++) {
        const char *const hdr[] = {accepts[j], NULL};
        struct it_resp r;

        it_request(f->s, "GET", "/assets/app.css", NULL, accepts[j] != NULL ? hdr : NULL, NULL, &r);
        it_assert_status(&r, 200);
        if (it_header(&r, "Content-Encoding") != NULL) {
            fail_msg("%s: Content-Encoding %s", accepts[j] != NULL ? accepts[j] : "no header",
                     it_header(&r, "Content-Encoding"));
        }
        assert_header_is(&r, "Vary", "Accept-Encoding");
        assert_length(&r, strlen(f->css));
        assert_body_is(&r, f->css);
        it_resp_free(&r);
    }

    /* A file without a .gz (too small to gain) never varies. */
    {
        struct it_resp r;

        it_request(f->s, "GET", "/assets/tiny.css", NULL, gzip_hdr, NULL, &r);
        it_assert_status(&r, 200);
        assert_null(it_header(&r, "Content-Encoding"));
        assert_null(it_header(&r, "Vary"));
        assert_body_is(&r, "a{}\n");
        it_resp_free(&r);
    }
}

/* HEAD: the headers of the GET, Content-Length of the encoding it would send, no body. */
static void
test_head(void **state)
{
    struct fx *f = *state;
    struct it_resp get, head;

    it_request(f->s, "GET", "/assets/app.css", NULL, gzip_hdr, NULL, &get);
    it_assert_status(&get, 200);
    it_request(f->s, "HEAD", "/assets/app.css", NULL, gzip_hdr, NULL, &head);
    it_assert_status(&head, 200);
    assert_int_equal(head.len, 0);
    assert_header_is(&head, "Content-Encoding", "gzip");
    assert_header_is(&head, "Vary", "Accept-Encoding");
    assert_length(&head, get.len);
    assert_string_equal(it_header(&head, "ETag"), it_header(&get, "ETag"));
    it_resp_free(&head);
    it_resp_free(&get);

    it_request(f->s, "HEAD", "/assets/app.css", NULL, NULL, NULL, &head);
    it_assert_status(&head, 200);
    assert_int_equal(head.len, 0);
    assert_null(it_header(&head, "Content-Encoding"));
    assert_length(&head, strlen(f->css));
    it_resp_free(&head);
}

/* The two encodings have their own ETags; If-None-Match answers 304 for the one it names. */
static void
test_etags_per_encoding(void **state)
{
    struct fx *f = *state;
    struct it_resp plain, packed, r;
    char *inm;

    it_get(f->s, "/assets/app.css", NULL, &plain);
    it_request(f->s, "GET", "/assets/app.css", NULL, gzip_hdr, NULL, &packed);
    it_assert_status(&plain, 200);
    it_assert_status(&packed, 200);
    assert_non_null(it_header(&plain, "ETag"));
    assert_non_null(it_header(&packed, "ETag"));
    assert_string_not_equal(it_header(&plain, "ETag"), it_header(&packed, "ETag"));

    inm = it_fmt("If-None-Match: %s", it_header(&packed, "ETag"));
    {
        const char *const hdr[] = {"Accept-Encoding: gzip", inm, NULL};
        const char *const plain_hdr[] = {inm, NULL};

        it_request(f->s, "GET", "/assets/app.css", NULL, hdr, NULL, &r);
        it_assert_status(&r, 304);
        assert_header_is(&r, "Vary", "Accept-Encoding");
        it_resp_free(&r);
        /* The gzip tag does not validate the plain answer. */
        it_request(f->s, "GET", "/assets/app.css", NULL, plain_hdr, NULL, &r);
        it_assert_status(&r, 200);
        assert_body_is(&r, f->css);
        it_resp_free(&r);
    }
    free(inm);
    it_resp_free(&plain);
    it_resp_free(&packed);
}

/* A .gz older than its file (the file edited by hand after the build) is stale: not served. */
static void
test_stale_gz_not_served(void **state)
{
    struct fx *f = *state;
    char *path = it_fmt("%s/assets/js/init.js", f->dir), *gz = it_fmt("%s.gz", path);
    struct timespec times[2];
    struct stat st;
    struct it_resp r;

    assert_int_equal(stat(path, &st), 0);
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    times[1].tv_sec -= 3600;
    if (access(gz, F_OK) != 0) {
        fail_msg("the build made no %s", gz);
    }
    it_request(f->s, "GET", "/assets/js/init.js", NULL, gzip_hdr, NULL, &r);
    assert_header_is(&r, "Content-Encoding", "gzip");
    it_resp_free(&r);

    assert_int_equal(utimensat(AT_FDCWD, gz, times, 0), 0);
    it_request(f->s, "GET", "/assets/js/init.js", NULL, gzip_hdr, NULL, &r);
    it_assert_status(&r, 200);
    assert_null(it_header(&r, "Content-Encoding"));
    assert_body_is(&r, f->init);
    it_resp_free(&r);
    free(path);
    free(gz);
}

TEST_MAIN(setup,
          teardown,
          cmocka_unit_test(test_pages_link_hashed_names),
          cmocka_unit_test(test_hashed_name_is_immutable),
          cmocka_unit_test(test_wrong_hash_is_404),
          cmocka_unit_test(test_gzip_when_accepted),
          cmocka_unit_test(test_plain_without_accept),
          cmocka_unit_test(test_head),
          cmocka_unit_test(test_etags_per_encoding),
          cmocka_unit_test(test_stale_gz_not_served),
          cmocka_unit_test(test_rebuild_changes_the_link))
