/* static.c: files served from REGISTRY_STATIC_DIR: the front end's assets (GOV.UK Frontend and
 * the rest, copied there at build time) and the API description.
 *
 * CivetWeb's own file serving stays off (LIBRARIES.md 11: never set document_root): paths are
 * checked here, one character class at a time, before anything touches the file system.
 *
 * Decisions:
 * - A path is served only if every segment is made of [A-Za-z0-9._-], starts with neither '.'
 *   nor '-', and ends in a known extension; anything else is a 404, as is a folder. A file
 *   that is a symbolic link is not followed (O_NOFOLLOW); the folders are ours.
 * - Hashed names: the build (cmake/static_variants.cmake) puts beside each style sheet and script
 *   a copy named by its content (assets/app.css and assets/app.3f2a9c1e.css) and lists them in
 *   asset-names.json. Pages link to the hashed names (static_url), which are cached for a year
 *   as immutable: a new build has new names. A hashed name that is not the file's (an old or
 *   made-up hash) is no file, so a 404. The plain names stay, for the modules' relative imports
 *   and the style sheet's images: "public, no-cache", so a browser keeps them but asks each time
 *   (304 on a matching ETag from size and modification time), and a page's modules always come
 *   from one build. Without asset-names.json (WEB_ASSETS=OFF serves static/ as it is) pages link
 *   to the plain names. The list is read again when the file changes (a rebuild under a running
 *   dev server).
 * - Compression: the build puts FILE.gz beside every text file. A client whose Accept-Encoding
 *   takes gzip gets its bytes with Content-Encoding: gzip and their Content-Length (HEAD too);
 *   every answer of a file that has a .gz says Vary: Accept-Encoding, and the two encodings have
 *   different ETags. A .gz older than its file (a file edited by hand after the build) is stale
 *   and not used.
 * - HTML gets the page security headers (http_add_page_headers): a strict Content-Security-Policy
 *   with no inline script, and no Referer, so a postcode in a page address never leaves the
 *   site. */
#include "registry/static.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "registry/config.h"
#include "registry/etag.h"
#include "registry/http.h"
#include "registry/logging.h"
#include "registry/problem.h"

#define STATIC_FILE_MAX (8 * 1024 * 1024) /* bounds one read into memory (ours are far smaller) */
#define CACHE_HASHED    "public, max-age=31536000, immutable"
#define CACHE_PLAIN     "public, no-cache"

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".map", "application/json; charset=utf-8"},
    {".txt", "text/plain; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
};

const char *
static_content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    size_t i;

    if (dot == NULL || strchr(dot, '/') != NULL) {
        return NULL;
    }
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(dot, types[i].ext) == 0) {
            return types[i].type;
        }
    }
    return NULL;
}

int
static_path_ok(const char *rel)
{
    const char *s = rel;

    if (*s == '\0' || strlen(rel) > 512) {
        return 0;
    }
    for (;;) {
        size_t n = 0;

        if (*s == '.' || *s == '-') {
            return 0; /* no "..", no hidden files, nothing that reads as an option */
        }
        while (s[n] != '\0' && s[n] != '/') {
            char c = s[n];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                  || c == '.' || c == '_' || c == '-')) {
                return 0;
            }
            n++;
        }
        if (n == 0) {
            return 0; /* an empty segment: "a//b" or a trailing slash */
        }
        if (s[n] == '\0') {
            return static_content_type(rel) != NULL;
        }
        s += n + 1;
    }
}

/* ---- Hashed names (asset-names.json) ------------------------------------------------------- */

static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *names;        /* {"/assets/app.css": "/assets/app.3f2a9c1e.css", ...} or NULL */
static struct stat names_st; /* of the asset-names.json `names` came from */
static int names_read;       /* 1 once asset-names.json was looked for */

/* With names_lock held: reads asset-names.json again when it is not the file read last time. */
static void
names_refresh(void)
{
    char path[1024];
    struct stat st;
    json_error_t err;

    if (config.static_dir == NULL
        || (size_t)snprintf(path, sizeof(path), "%s/asset-names.json", config.static_dir)
               >= sizeof(path)
        || stat(path, &st) != 0) {
        memset(&st, 0, sizeof(st)); /* none: plain names */
    }
    if (names_read && st.st_ino == names_st.st_ino && st.st_dev == names_st.st_dev
        && st.st_size == names_st.st_size && st.st_mtim.tv_sec == names_st.st_mtim.tv_sec
        && st.st_mtim.tv_nsec == names_st.st_mtim.tv_nsec) {
        return;
    }
    json_decref(names);
    names = NULL;
    if (st.st_ino != 0) {
        names = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
        if (!json_is_object(names)) {
            logging_event("warn", NULL, "%s is not a JSON object (%s); pages link to plain names",
                          path, names == NULL ? err.text : "another type");
            json_decref(names);
            names = NULL;
        }
    }
    names_st = st;
    names_read = 1;
}

void
static_url(const char *url, char out[STATIC_URL_MAX])
{
    const char *hashed;

    pthread_mutex_lock(&names_lock);
    names_refresh();
    hashed = json_string_value(json_object_get(names, url));
    if (hashed == NULL || strlen(hashed) >= STATIC_URL_MAX) {
        hashed = url;
    }
    snprintf(out, STATIC_URL_MAX, "%s", hashed);
    pthread_mutex_unlock(&names_lock);
}

/* 1 when `url` is a hashed name of the build (a value of asset-names.json). */
static int
url_is_hashed(const char *url)
{
    const char *key;
    json_t *value;
    int found = 0;

    pthread_mutex_lock(&names_lock);
    names_refresh();
    json_object_foreach(names, key, value)
    {
        if (json_is_string(value) && strcmp(json_string_value(value), url) == 0) {
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&names_lock);
    return found;
}

/* ---- Content codings ----------------------------------------------------------------------- */

/* 1 when the q-value at `v` is zero (0, 0., 0.0, 0.00, 0.000: RFC 9110 12.4.2). */
static int
q_zero(const char *v)
{
    if (*v != '0') {
        return 0;
    }
    v++;
    if (*v == '.') {
        v++;
        v += strspn(v, "0");
    }
    return *v == '\0' || strchr(" \t,;", *v) != NULL;
}

int
static_accepts_gzip(const char *accept_encoding)
{
    const char *p = accept_encoding;
    int star = 0;

    if (p == NULL) {
        return 0;
    }
    for (;;) {
        const char *coding, *q = NULL;
        size_t n;

        p += strspn(p, " \t,");
        if (*p == '\0') {
            return star;
        }
        coding = p;
        n = strcspn(p, " \t,;");
        p += n;
        while (*p != '\0' && *p != ',') { /* the coding's parameters: only q counts */
            if (*p == ';') {
                p += 1 + strspn(p + 1, " \t");
                if ((*p == 'q' || *p == 'Q') && p[1] == '=') {
                    q = p + 2;
                }
            } else {
                p++;
            }
        }
        if ((n == 4 && strncasecmp(coding, "gzip", 4) == 0)
            || (n == 6 && strncasecmp(coding, "x-gzip", 6) == 0)) {
            return q == NULL || !q_zero(q); /* named: wins over "*" */
        }
        if (n == 1 && *coding == '*') {
            star = q == NULL || !q_zero(q);
        }
    }
}

/* ---- Files --------------------------------------------------------------------------------- */

/* Opens `path` if it is a regular file (not a symbolic link) no larger than STATIC_FILE_MAX.
 * Returns the descriptor with *st filled, or -1. */
static int
open_regular(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0) {
        return -1;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || st->st_size > STATIC_FILE_MAX) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads the `size` bytes of `fd`. Returns them malloc'd (NUL-terminated) with *len, or NULL. */
static char *
read_all(int fd, off_t size, size_t *len)
{
    char *buf = malloc((size_t)size + 1);
    size_t got = 0;

    while (buf != NULL && got < (size_t)size) {
        ssize_t n = read(fd, buf + got, (size_t)size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            free(buf);
            return NULL;
        }
        got += (size_t)n;
    }
    if (buf != NULL) {
        buf[got] = '\0';
        *len = got;
    }
    return buf;
}

int
static_send(struct req *r, const char *rel, const char *cache_control)
{
    char path[1024], gz_path[1040], url[STATIC_URL_MAX], etag[80];
    const char *type;
    struct stat st, gz_st;
    int fd = -1, gz_fd = -1, gzip = 0;
    size_t len = 0;
    char *body = NULL;
    int status;

    if (!static_path_ok(rel)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no such page");
    }
    type = static_content_type(rel);
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", config.static_dir, rel) >= sizeof(path)
        || (fd = open_regular(path, &st)) < 0) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no such page");
    }
    /* The .gz beside it, unless it is older than the file (stale). */
    if ((size_t)snprintf(gz_path, sizeof(gz_path), "%s.gz", path) < sizeof(gz_path)
        && (gz_fd = open_regular(gz_path, &gz_st)) >= 0 && gz_st.st_mtime < st.st_mtime) {
        close(gz_fd);
        gz_fd = -1;
    }
    if (gz_fd >= 0) {
        http_add_header(r, "Vary", "Accept-Encoding");
        gzip = static_accepts_gzip(http_header(r, "Accept-Encoding"));
    }
    body = gzip ? read_all(gz_fd, gz_st.st_size, &len) : read_all(fd, st.st_size, &len);
    if (body == NULL) {
        status = problem_send(r, PROBLEM_NOT_FOUND, "no such page");
        goto out;
    }
    if (gzip) {
        http_add_header(r, "Content-Encoding", "gzip");
    }
    snprintf(etag, sizeof(etag), "\"%llx-%llx%s\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtime, gzip ? "-gz" : "");
    if ((size_t)snprintf(url, sizeof(url), "/%s", rel) < sizeof(url) && url_is_hashed(url)) {
        cache_control = CACHE_HASHED;
    }
    if (strncmp(type, "text/html", 9) == 0) {
        http_add_page_headers(r);
    }
    status = http_send_cached(r, type, body, len, cache_control, etag);
out:
    free(body);
    if (gz_fd >= 0) {
        close(gz_fd);
    }
    close(fd);
    return status;
}

/* GET /assets/{*}: style sheets, scripts, fonts and images. */
int
static_asset(struct req *r)
{
    char rel[600];

    if ((size_t)snprintf(rel, sizeof(rel), "assets/%s", r->params[0]) >= sizeof(rel)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no such page");
    }
    return static_send(r, rel, CACHE_PLAIN);
}
