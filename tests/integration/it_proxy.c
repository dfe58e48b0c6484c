/* it_proxy.c: the rate limiter sees the real client behind a trusted reverse proxy, and only
 * behind it: X-Forwarded-For from anyone else is ignored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itlib.h"

/* GET /openreferral/ (an open route) as client `xff` (NULL: no header); returns the status. */
static long
open_get(struct it_server *s, const char *xff)
{
    char header[96];
    const char *headers[2] = {header, NULL};
    struct it_resp r;
    long status;

    snprintf(header, sizeof(header), "X-Forwarded-For: %s", xff != NULL ? xff : "");
    it_request(s, "GET", "/openreferral/", NULL, xff != NULL ? headers : NULL, NULL, &r);
    status = r.status;
    if (status == 429 && it_header(&r, "Retry-After") == NULL) {
        it_resp_print(&r);
        fail_msg("a 429 without Retry-After");
    }
    it_resp_free(&r);
    return status;
}

static void
test_trusted_proxy_names_the_client(void **state)
{
    static const char *env[] = {"REGISTRY_PUBLIC_RATE_LIMIT=2", "REGISTRY_TRUSTED_PROXY=127.0.0.1",
                                NULL};
    struct it_server *s = it_start_env("proxy_trusted", env);

    (void)state;
    /* Two clients behind the proxy each get their own two requests. */
    assert_int_not_equal(open_get(s, "198.51.100.7"), 429);
    assert_int_not_equal(open_get(s, "198.51.100.7"), 429);
    assert_int_equal(open_get(s, "198.51.100.7"), 429);
    assert_int_not_equal(open_get(s, "198.51.100.8"), 429);
    /* The proxy appends the address it saw: the last entry counts, not what the client claimed. */
    assert_int_equal(open_get(s, "203.0.113.1, 198.51.100.7"), 429);
    assert_int_not_equal(open_get(s, "198.51.100.7, 198.51.100.9"), 429);
    it_stop(s);
}

static void
test_untrusted_forwarded_for_is_ignored(void **state)
{
    static const char *env[] = {"REGISTRY_PUBLIC_RATE_LIMIT=2", "REGISTRY_TRUSTED_PROXY", NULL};
    struct it_server *s = it_start_env("proxy_untrusted", env);

    (void)state;
    /* Without a trusted proxy a client cannot dodge the limit by inventing addresses. */
    assert_int_not_equal(open_get(s, "192.0.2.1"), 429);
    assert_int_not_equal(open_get(s, "192.0.2.2"), 429);
    assert_int_equal(open_get(s, "192.0.2.3"), 429);
    assert_int_equal(open_get(s, NULL), 429);
    it_stop(s);
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_trusted_proxy_names_the_client),
          cmocka_unit_test(test_untrusted_forwarded_for_is_ignored))
