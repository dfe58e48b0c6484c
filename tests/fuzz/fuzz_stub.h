/* fuzz_stub.h: a request without a socket, for the in-process parser fuzz targets.
 *
 * fuzz_stub.c defines mg_read, mg_write, mg_get_header and mg_disable_connection_keep_alive. A
 * definition in the executable wins over libcivetweb's, so registry_core's http.c and problem.c
 * read the request body from fuzz_stub_body and write their answers into a counter, unchanged. */
#ifndef FUZZ_STUB_H
#define FUZZ_STUB_H

#include <stddef.h>
#include <stdint.h>

#include "registry/http.h"

/* The body mg_read hands out, and the Content-Type header mg_get_header answers. */
extern const uint8_t *fuzz_stub_body;
extern size_t fuzz_stub_body_len;
extern const char *fuzz_stub_content_type;

/* Bytes written by the last request (its answer). */
extern size_t fuzz_stub_written;

/* Makes `r` a GET (or POST with a body of `content_length` bytes) to /fuzz with `query`
 * (NULL: none); `ri` is the request info it points at. */
void fuzz_stub_req(struct req *r,
                   struct mg_request_info *ri,
                   const char *method,
                   const char *query,
                   long long content_length);

/* The status of the answer the last request wrote (parsed from the status line), 0 if none. */
int fuzz_stub_status(void);

/* Aborts (a crash the fuzzer reports) with `what` when `cond` is false. */
#define FUZZ_CHECK(cond, what)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fuzz_stub_fail(what, __FILE__, __LINE__);                                              \
        }                                                                                          \
    } while (0)
void fuzz_stub_fail(const char *what, const char *file, int line) __attribute__((noreturn));

/* libFuzzer's entry point, which each fuzz_<parser>.c defines. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
