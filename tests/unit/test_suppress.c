/* test_suppress.c: small-number suppression against tables where a naive rule (withhold only
 * counts 1..4) leaks: a row or column total less the cells shown gives the withheld cell back.
 * Each case checks the primary cells are withheld and then tries every difference an attacker
 * could take: no line may have exactly one withheld cell. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../test_main.h"
#include "registry/suppress.h"

#define MAXC 64

/* Fails when a line (a row with total_col, a column with total_row) has exactly one withheld
 * cell, which is then its total less the others, or withheld cells whose total (the difference
 * the shown cells leave) is SUPPRESS_MAX or less while the line still shows a cell: two withheld
 * cells adding up to 2 are both 1. The attacks the rule is there to stop. */
static void
check_line(const long *counts,
           const int *hidden,
           size_t first,
           size_t step,
           size_t len,
           const char *what,
           size_t which)
{
    size_t k, n = 0, shown = 0;
    long sum = 0;

    for (k = 0; k < len; k++) {
        if (hidden[first + k * step]) {
            n++;
            sum += counts[first + k * step];
        } else {
            shown++;
        }
    }
    if (n == 1) {
        fail_msg("%s %zu has one withheld cell: the total gives it away", what, which);
    }
    if (n > 1 && sum <= SUPPRESS_MAX && shown > 0) {
        fail_msg("%s %zu withholds cells adding up to %ld: each is pinned down", what, which, sum);
    }
}

static void
assert_no_lone_cell(
    const long *counts, const int *hidden, size_t rows, size_t cols, int total_row, int total_col)
{
    size_t i;

    for (i = 0; total_col && i < rows; i++) {
        check_line(counts, hidden, i * cols, 1, cols, "row", i);
    }
    for (i = 0; total_row && i < cols; i++) {
        check_line(counts, hidden, i, cols, rows, "column", i);
    }
}

/* Every count 1..4 withheld, every 0 and every count over 4 that is not secondary shown. */
static void
assert_primary(const long *counts, const int *hidden, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (counts[i] >= 1 && counts[i] <= SUPPRESS_MAX && !hidden[i]) {
            fail_msg("cell %zu (%ld) is shown", i, counts[i]);
        }
    }
}

/* Referrals by source, with the total: one 3 among large counts. The naive rule hides the 3 and
 * shows 20 - 9 - 8 = 3. The smallest other count goes with it. */
static void
test_one_dimension(void **state)
{
    static const long counts[] = {9, 3, 8, 20};
    int hidden[4];

    (void)state;
    assert_int_equal(suppress_table(counts, 1, 4, 0, 1, hidden), 2);
    assert_primary(counts, hidden, 4);
    assert_no_lone_cell(counts, hidden, 1, 4, 0, 1);
    assert_int_equal(hidden[2], 1); /* 8, the smallest shown */
    assert_int_equal(hidden[0], 0);
    assert_int_equal(hidden[3], 0);
}

/* A zero is not chosen while a non-zero count can be; a total of 1..4 is itself withheld. */
static void
test_zeros_and_small_totals(void **state)
{
    static const long a[] = {0, 2, 7, 9};
    static const long b[] = {0, 3, 0, 3};
    int ha[4], hb[4];

    (void)state;
    suppress_table(a, 1, 4, 0, 1, ha);
    assert_int_equal(ha[0], 0);
    assert_int_equal(ha[2], 1);
    assert_no_lone_cell(a, ha, 1, 4, 0, 1);
    assert_int_equal(suppress_table(b, 1, 4, 0, 1, hb), 2); /* the 3 and its total */
    assert_int_equal(hb[0] + hb[2], 0);
    assert_no_lone_cell(b, hb, 1, 4, 0, 1);
}

/* Adults by relationship (rows) x gender (columns) with row, column and grand totals. The naive
 * rule leaks through the row total and through the column total; secondary suppression in one
 * direction makes a lone cell in the other, which the rule then covers too. */
static void
test_two_dimensions(void **state)
{
    /* female, male, total */
    static const long counts[] = {
        12, 2, 14, /* mother / father row: a 2 */
        6,  0, 6,  /* grandmother */
        5,  7, 12, /* other relative */
        23, 9, 32, /* totals */
    };
    int hidden[12];

    (void)state;
    suppress_table(counts, 4, 3, 1, 1, hidden);
    assert_primary(counts, hidden, 12);
    assert_no_lone_cell(counts, hidden, 4, 3, 1, 1);
}

/* Many random tables: whatever the pattern, no line is left with one withheld cell, and every
 * small count is withheld. */
static void
test_random_tables(void **state)
{
    long counts[MAXC];
    int hidden[MAXC];
    unsigned seed = 15;
    size_t rows, cols, i, j, t;

    (void)state;
    for (t = 0; t < 2000; t++) {
        rows = 2 + t % 5;
        cols = 2 + (t / 5) % 6;
        for (i = 0; i + 1 < rows; i++) {
            long sum = 0;
            for (j = 0; j + 1 < cols; j++) {
                seed = seed * 1103515245u + 12345u;
                counts[i * cols + j] = (long)((seed >> 16) % 12);
                sum += counts[i * cols + j];
            }
            counts[i * cols + cols - 1] = sum;
        }
        for (j = 0; j < cols; j++) {
            long sum = 0;
            for (i = 0; i + 1 < rows; i++) {
                sum += counts[i * cols + j];
            }
            counts[(rows - 1) * cols + j] = sum;
        }
        suppress_table(counts, rows, cols, 1, 1, hidden);
        assert_primary(counts, hidden, rows * cols);
        assert_no_lone_cell(counts, hidden, rows, cols, 1, 1);
    }
}

/* Lines that share a cell: a headline total (cell 0) that is both the total of a breakdown
 * (cells 1, 2) and of the runs (cells 3, 4). The second withheld cell one line needs makes a
 * lone one in the other, which the rule follows. */
static void
test_shared_cells(void **state)
{
    static const long counts[] = {9, 3, 6, 5, 4};
    static const size_t lines[] = {0, 1, 2, SUPPRESS_END, 0, 3, 4, SUPPRESS_END};
    int hidden[5];

    (void)state;
    suppress_lines(counts, 5, lines, 2, hidden);
    assert_int_equal(hidden[1] + hidden[4], 2); /* the 3 and the 4 */
    assert_int_equal(hidden[2], 1);             /* 9 - 3 would be 6: the 6 goes with the 3 */
    assert_int_equal(hidden[3], 1);             /* 9 - 4: the 5 goes with the 4 */
    assert_int_equal(hidden[0], 0);
}

/* Two 1s among large counts: the naive pair rule withholds both and shows 22 - 20 = 2, so each
 * is 1. A third cell goes with them. */
static void
test_small_difference(void **state)
{
    static const long counts[] = {1, 1, 20, 22};
    int hidden[4];

    (void)state;
    assert_int_equal(suppress_table(counts, 1, 4, 0, 1, hidden), 3);
    assert_int_equal(hidden[2], 1);
    assert_no_lone_cell(counts, hidden, 1, 4, 0, 1);
}

/* Nothing small, nothing withheld. */
static void
test_nothing_small(void **state)
{
    static const long counts[] = {5, 0, 12, 17};
    int hidden[4];

    (void)state;
    assert_int_equal(suppress_table(counts, 1, 4, 0, 1, hidden), 0);
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_one_dimension),
          cmocka_unit_test(test_zeros_and_small_totals),
          cmocka_unit_test(test_two_dimensions),
          cmocka_unit_test(test_random_tables),
          cmocka_unit_test(test_nothing_small),
          cmocka_unit_test(test_shared_cells),
          cmocka_unit_test(test_small_difference))
