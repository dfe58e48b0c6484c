/* fuzz_cursor.c: a `cursor` value (as a list's client sends it back) through http_page_or_problem
 * (base64url, then JSON) and http_cursor_or_problem with each key shape the lists use. A cursor
 * accepted must encode again (page_cursor) to one that decodes to the same keys. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_stub.h"
#include "registry/validate.h"

static int
date_ok(const char *s)
{
    return validate_date(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *cursor = malloc(size + 1);
    struct req r;
    struct mg_request_info ri;
    struct query q = {0};
    struct page p = {0}, again = {0};
    json_t *enc;
    size_t n;
    int status;

    if (cursor == NULL) {
        return 0;
    }
    memcpy(cursor, data, size);
    cursor[size] = '\0';
    q.n = 1;
    q.items[0].name = "cursor";
    q.items[0].value = cursor;
    fuzz_stub_req(&r, &ri, "GET", NULL, -1);
    status = http_page_or_problem(&r, &q, &p);
    if (status != 0) {
        FUZZ_CHECK(status == 400 && p.after == NULL, "a refused cursor is not a 400");
        free(cursor);
        return 0;
    }
    FUZZ_CHECK(json_is_array(p.after), "an accepted cursor is not an array");
    for (n = 1; n <= 3; n++) {
        fuzz_stub_req(&r, &ri, "GET", NULL, -1);
        status = http_cursor_or_problem(&r, &p, n, n == 2 ? date_ok : NULL);
        FUZZ_CHECK(status == 0 || status == 400, "a cursor check is not 0 or 400");
        if (status == 0) {
            FUZZ_CHECK(validate_uuid(page_after(&p, n - 1)), "the last key is not a UUID");
        }
    }
    /* Round trip. */
    enc = page_cursor(p.after);
    if (json_is_string(enc)) {
        struct query q2 = {0};
        q2.n = 1;
        q2.items[0].name = "cursor";
        q2.items[0].value = json_string_value(enc);
        fuzz_stub_req(&r, &ri, "GET", NULL, -1);
        if (strlen(json_string_value(enc)) <= 1024) {
            FUZZ_CHECK(http_page_or_problem(&r, &q2, &again) == 0,
                       "a re-encoded cursor is refused");
            FUZZ_CHECK(json_equal(again.after, p.after), "a re-encoded cursor decodes otherwise");
        }
        page_cleanup(&again);
    }
    json_decref(enc);
    page_cleanup(&p);
    free(cursor);
    return 0;
}
