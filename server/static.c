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
 * - /assets/... may be cached for a day (public), with an ETag from size and modification time,
 *   answering 304 on If-None-Match.
 * - HTML gets the page security headers (http_add_page_headers): a strict Content-Security-Policy
 *   with no inline script, and no Referer, so a postcode in a page address never leaves the
 *   site. */
#include "registry/static.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/config.h"
#include "registry/http.h"
#include "registry/problem.h"

#define STATIC_FILE_MAX (8 * 1024 * 1024) /* the largest file served (the API docs bundle) */

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

/* Reads `path` whole if it is a regular file no larger than STATIC_FILE_MAX. Returns the malloc'd
 * contents with *len and *st filled, or NULL (errno set) when it cannot be served. */
static char *
read_file(const char *path, size_t *len, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    char *buf = NULL;
    size_t got = 0;

    if (fd < 0) {
        return NULL;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || st->st_size > STATIC_FILE_MAX) {
        close(fd);
        errno = ENOENT;
        return NULL;
    }
    buf = malloc((size_t)st->st_size + 1);
    while (buf != NULL && got < (size_t)st->st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st->st_size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            free(buf);
            buf = NULL;
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    if (buf != NULL) {
        buf[got] = '\0';
        *len = got;
    }
    return buf;
}

int
static_send(struct req *r, const char *rel, const char *cache_control)
{
    char path[1024], etag[64];
    const char *type;
    struct stat st;
    size_t len = 0;
    char *body;
    int status;

    if (!static_path_ok(rel)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no such page");
    }
    type = static_content_type(rel);
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", config.static_dir, rel) >= sizeof(path)) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no such page");
    }
    body = read_file(path, &len, &st);
    if (body == NULL) {
        return problem_send(r, PROBLEM_NOT_FOUND, "no such page");
    }
    snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtime);
    if (strncmp(type, "text/html", 9) == 0) {
        http_add_page_headers(r);
    }
    status = http_send_cached(r, type, body, len, cache_control, etag);
    free(body);
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
    return static_send(r, rel, "public, max-age=86400");
}
