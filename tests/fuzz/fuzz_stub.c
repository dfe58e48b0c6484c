/* fuzz_stub.c: CivetWeb's connection calls for requests without a socket (see fuzz_stub.h). */
#include "fuzz_stub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <civetweb.h>

const uint8_t *fuzz_stub_body;
size_t fuzz_stub_body_len;
const char *fuzz_stub_content_type = "application/json";
size_t fuzz_stub_written;

static size_t body_pos;
static char status_line[16];
static int dummy_conn;

int
mg_read(struct mg_connection *conn, void *buf, size_t len)
{
    size_t n = fuzz_stub_body_len - body_pos;

    (void)conn;
    if (n > len) {
        n = len;
    }
    if (n > 0) {
        memcpy(buf, fuzz_stub_body + body_pos, n);
        body_pos += n;
    }
    return (int)n;
}

int
mg_write(struct mg_connection *conn, const void *buf, size_t len)
{
    (void)conn;
    if (fuzz_stub_written == 0) {
        size_t n = len < sizeof(status_line) - 1 ? len : sizeof(status_line) - 1;
        memcpy(status_line, buf, n);
        status_line[n] = '\0';
    }
    fuzz_stub_written += len;
    return (int)len;
}

const char *
mg_get_header(const struct mg_connection *conn, const char *name)
{
    (void)conn;
    if (strcasecmp(name, "Content-Type") == 0) {
        return fuzz_stub_content_type;
    }
    return NULL;
}

void
mg_disable_connection_keep_alive(struct mg_connection *conn)
{
    (void)conn;
}

void
fuzz_stub_req(struct req *r,
              struct mg_request_info *ri,
              const char *method,
              const char *query,
              long long content_length)
{
    memset(r, 0, sizeof(*r));
    memset(ri, 0, sizeof(*ri));
    ri->request_method = method;
    ri->local_uri = "/fuzz";
    ri->request_uri = "/fuzz";
    ri->query_string = query;
    ri->content_length = content_length;
    r->conn = (struct mg_connection *)(void *)&dummy_conn;
    r->ri = ri;
    r->method = method;
    r->path = "/fuzz";
    r->query = query;
    snprintf(r->request_id, sizeof(r->request_id), "fuzz");
    body_pos = 0;
    fuzz_stub_written = 0;
    status_line[0] = '\0';
}

int
fuzz_stub_status(void)
{
    if (strncmp(status_line, "HTTP/1.1 ", 9) != 0) {
        return 0;
    }
    return atoi(status_line + 9);
}

void
fuzz_stub_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
    abort();
}
