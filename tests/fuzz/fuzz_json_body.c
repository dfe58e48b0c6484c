/* fuzz_json_body.c: a request body through http_read_json_or_problem (size and depth limits,
 * Jansson with duplicate keys refused) and, when it is an object, validate_fields against a table
 * holding every field type, then the 422 answer problem_send_errors builds from the errors. Bad
 * input must get a 4xx, never a 5xx; what validates must serialise again (valid UTF-8). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_stub.h"
#include "registry/problem.h"
#include "registry/validate.h"

static const char *const kinds[] = {"charity", "nhs", "school", NULL};
static const struct field fields[] = {
    {"name", FIELD_TEXT, FIELD_REQUIRED, 1, 200, NULL},
    {"kind", FIELD_ENUM, FIELD_REQUIRED, 0, 0, kinds},
    {"public_contact", FIELD_BOOL, 0, 0, 0, NULL},
    {"capacity", FIELD_INT, FIELD_NULLABLE, 1, 200, NULL},
    {"starts_on", FIELD_DATE, 0, 0, 0, NULL},
    {"organisation_id", FIELD_UUID, FIELD_NULLABLE, 0, 0, NULL},
    {"email", FIELD_EMAIL, FIELD_NULLABLE, 0, 0, NULL},
    {"postcode", FIELD_POSTCODE, 0, 0, 0, NULL},
    {"website", FIELD_URL, FIELD_NULLABLE, 0, 0, NULL},
    {"phone", FIELD_PHONE, FIELD_NULLABLE, 0, 0, NULL},
    {"address_lines", FIELD_TEXT_LIST, 0, 1, 3, NULL},
    {"password", FIELD_SECRET, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct req r;
    struct mg_request_info ri;
    json_t *in = NULL, *errors;
    char *text;
    int status, n;

    fuzz_stub_body = data;
    fuzz_stub_body_len = size;
    fuzz_stub_content_type = "application/json; charset=utf-8";
    /* Half the inputs say their length; the other half come as if chunked (length unknown). */
    fuzz_stub_req(&r, &ri, "POST", NULL, size > 0 && (data[0] & 1) ? -1 : (long long)size);
    status = http_read_json_or_problem(&r, &in);
    if (status != 0) {
        FUZZ_CHECK(in == NULL, "a refused body left an object");
        FUZZ_CHECK(status >= 400 && status < 500, "a refused body got other than 4xx");
        FUZZ_CHECK(fuzz_stub_status() == status, "the answer sent is not the status returned");
        return 0;
    }
    FUZZ_CHECK(json_is_object(in), "an accepted body is not an object");
    text = json_dumps(in, JSON_COMPACT);
    FUZZ_CHECK(text != NULL, "an accepted body does not serialise");
    free(text);

    errors = json_array();
    n = validate_fields(in, fields, size > 1 && (data[1] & 1), errors);
    FUZZ_CHECK(n >= 0 && (size_t)n == json_array_size(errors), "error count and errors differ");
    text = json_dumps(in, JSON_COMPACT);
    FUZZ_CHECK(text != NULL, "a normalised body does not serialise");
    free(text);
    if (n > 0) {
        fuzz_stub_req(&r, &ri, "POST", NULL, 0);
        status = problem_send_errors(&r, errors);
        FUZZ_CHECK(status == 422 && fuzz_stub_status() == 422, "validation errors are not a 422");
    }
    json_decref(errors);
    json_decref(in);
    return 0;
}
