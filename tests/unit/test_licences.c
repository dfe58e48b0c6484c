/* test_licences.c: the licence status rule table, every pair of statuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../test_main.h"
#include "registry/licences.h"

static const char *const statuses[] = {"pending", "active", "suspended", "expired", "revoked"};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))

/* The allowed moves, from issue 2: pending→active; active↔suspended; active|suspended→revoked. */
static int
expected(const char *from, const char *to)
{
    static const char *const allowed[][2] = {
        {"pending", "active"}, {"active", "suspended"},  {"suspended", "active"},
        {"active", "revoked"}, {"suspended", "revoked"},
    };
    size_t i;

    for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        if (strcmp(allowed[i][0], from) == 0 && strcmp(allowed[i][1], to) == 0) {
            return 1;
        }
    }
    return 0;
}

static void
test_every_pair(void **state)
{
    size_t i, j;
    int allowed = 0;

    (void)state;
    for (i = 0; i < NSTATUS; i++) {
        for (j = 0; j < NSTATUS; j++) {
            int got = licences_transition_allowed(statuses[i], statuses[j]);
            if (got != expected(statuses[i], statuses[j])) {
                fail_msg("%s -> %s: got %d", statuses[i], statuses[j], got);
            }
            allowed += got;
        }
    }
    assert_int_equal(allowed, 5);
}

static void
test_allowed_moves(void **state)
{
    (void)state;
    assert_true(licences_transition_allowed("pending", "active"));
    assert_true(licences_transition_allowed("active", "suspended"));
    assert_true(licences_transition_allowed("suspended", "active"));
    assert_true(licences_transition_allowed("active", "revoked"));
    assert_true(licences_transition_allowed("suspended", "revoked"));
}

static void
test_same_status_is_no_move(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < NSTATUS; i++) {
        assert_false(licences_transition_allowed(statuses[i], statuses[i]));
    }
}

static void
test_final_statuses(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < NSTATUS; i++) {
        assert_false(licences_transition_allowed("revoked", statuses[i]));
        assert_false(licences_transition_allowed("expired", statuses[i]));
    }
}

static void
test_never_to_expired_or_pending(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < NSTATUS; i++) {
        assert_false(licences_transition_allowed(statuses[i], "expired"));
        assert_false(licences_transition_allowed(statuses[i], "pending"));
    }
}

static void
test_pending_only_activates(void **state)
{
    (void)state;
    assert_false(licences_transition_allowed("pending", "suspended"));
    assert_false(licences_transition_allowed("pending", "revoked"));
}

static void
test_unknown_and_null(void **state)
{
    (void)state;
    assert_false(licences_transition_allowed(NULL, "active"));
    assert_false(licences_transition_allowed("pending", NULL));
    assert_false(licences_transition_allowed(NULL, NULL));
    assert_false(licences_transition_allowed("", "active"));
    assert_false(licences_transition_allowed("pending", ""));
    assert_false(licences_transition_allowed("Pending", "active"));
    assert_false(licences_transition_allowed("pending", "ACTIVE"));
    assert_false(licences_transition_allowed("pending ", "active"));
    assert_false(licences_transition_allowed("archived", "active"));
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_every_pair),
          cmocka_unit_test(test_allowed_moves),
          cmocka_unit_test(test_same_status_is_no_move),
          cmocka_unit_test(test_final_statuses),
          cmocka_unit_test(test_never_to_expired_or_pending),
          cmocka_unit_test(test_pending_only_activates),
          cmocka_unit_test(test_unknown_and_null))
