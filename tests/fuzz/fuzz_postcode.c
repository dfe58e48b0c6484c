/* fuzz_postcode.c: UK postcode normalising, validate_postcode (request fields) and
 * postcodes_normalise (public search: a full postcode or an outward code), into buffers of the
 * exact documented size so that AddressSanitizer sees any overrun. What is accepted must be
 * accepted again unchanged (normalising is idempotent). The Eircode normaliser (validate_eircode)
 * likewise, and no input is both an Eircode and a UK postcode. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_stub.h"
#include "registry/postcodes.h"
#include "registry/validate.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    char *out = malloc(POSTCODE_MAX), *again = malloc(POSTCODE_MAX), *small = malloc(4);
    enum postcodes_kind kind;

    if (in == NULL || out == NULL || again == NULL || small == NULL) {
        goto out;
    }
    memcpy(in, data, size);
    in[size] = '\0';

    if (validate_postcode(in, out, POSTCODE_MAX) == 0) {
        FUZZ_CHECK(strlen(out) < POSTCODE_MAX, "validate_postcode: too long");
        FUZZ_CHECK(validate_postcode(out, again, POSTCODE_MAX) == 0,
                   "validate_postcode: not stable");
        FUZZ_CHECK(strcmp(out, again) == 0, "validate_postcode: not idempotent");
    }
    /* A buffer too small must be refused, never overrun. */
    (void)validate_postcode(in, small, 4);

    kind = postcodes_normalise(in, out, POSTCODE_MAX);
    FUZZ_CHECK(kind == POSTCODES_MALFORMED || kind == POSTCODES_FULL || kind == POSTCODES_OUTWARD,
               "postcodes_normalise: unknown kind");
    if (kind != POSTCODES_MALFORMED) {
        FUZZ_CHECK(strlen(out) < (kind == POSTCODES_OUTWARD ? POSTCODES_OUTWARD_MAX : POSTCODE_MAX),
                   "postcodes_normalise: too long");
        FUZZ_CHECK(postcodes_normalise(out, again, POSTCODE_MAX) == kind,
                   "postcodes_normalise: kind not stable");
        FUZZ_CHECK(strcmp(out, again) == 0, "postcodes_normalise: not idempotent");
    }
    (void)postcodes_normalise(in, small, 4);

    if (validate_eircode(in, out, EIRCODE_MAX) == 0) {
        FUZZ_CHECK(strlen(out) == EIRCODE_MAX - 1, "validate_eircode: wrong length");
        FUZZ_CHECK(validate_eircode(out, again, EIRCODE_MAX) == 0, "validate_eircode: not stable");
        FUZZ_CHECK(strcmp(out, again) == 0, "validate_eircode: not idempotent");
        FUZZ_CHECK(validate_postcode(in, again, POSTCODE_MAX) != 0,
                   "validate_eircode: also a UK postcode");
    }
    (void)validate_eircode(in, small, 4);
out:
    free(in);
    free(out);
    free(again);
    free(small);
    return 0;
}
