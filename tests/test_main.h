/* test_main.h: the main() of a cmocka test program (tests/unit/test_*.c, tests/integration/it_*.c),
 * written once. A file ends with
 *
 *     TEST_MAIN(group_setup, group_teardown, cmocka_unit_test(test_a), cmocka_unit_test(test_b))
 *
 * which runs the tests as one group named "tests" with that setup and teardown (either may be
 * NULL), and exits with the number of tests that failed. Include it after <cmocka.h>. */
#ifndef TEST_MAIN_H
#define TEST_MAIN_H

#define TEST_MAIN(group_setup, group_teardown, ...)                                                \
    int main(void)                                                                                 \
    {                                                                                              \
        const struct CMUnitTest tests[] = {__VA_ARGS__};                                           \
                                                                                                   \
        return cmocka_run_group_tests(tests, (group_setup), (group_teardown));                     \
    }

/* A test with the fixture of its own that every test of the file has: the file's functions
 * `setup` and `teardown`, run before and after it. */
#define TEST_EACH(test) cmocka_unit_test_setup_teardown(test, setup, teardown)

#endif
