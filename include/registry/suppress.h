/* suppress.h: small-number suppression of a table of counts (suppress.c), for the reports a
 * commissioner or the public reads: no count from 1 to SUPPRESS_MAX may be shown, nor worked out
 * from the totals and the other cells shown beside it. */
#ifndef REGISTRY_SUPPRESS_H
#define REGISTRY_SUPPRESS_H

#include <stddef.h>

#define SUPPRESS_MAX 4            /* counts 1..4 are withheld (0 is shown) */
#define SUPPRESS_END ((size_t)-1) /* ends a line in suppress_lines' list */

/* The rule on any set of additive lines: `counts` are `n` cells; `lines` holds `nlines` lines,
 * each the indices of its cells (one of them may be the others' total: in the rule a total is
 * a member like any other) followed by SUPPRESS_END. A cell may be in several lines. Sets
 * `hidden` (n) as suppress_table does. Returns the number of cells withheld. */
size_t
suppress_lines(const long *counts, size_t n, const size_t *lines, size_t nlines, int *hidden);

/* A table of counts, row-major, `rows` x `cols`. When `total_col` is set, the last column holds
 * each row's total (the sum of the row's other cells), so each row is a line whose cells add up;
 * when `total_row` is set, the last row holds each column's total, so each column is such a line
 * (with both, the corner is the grand total). A one-dimensional breakdown with its total is one
 * row with `total_col`.
 *
 * Withholds, in `hidden` (rows x cols, set to 1 for a withheld cell; 0 otherwise):
 * - primary: every count from 1 to SUPPRESS_MAX, totals included;
 * - secondary: in every line with exactly one withheld cell, or whose withheld cells add up to
 *   SUPPRESS_MAX or less, another one, the smallest count shown (a non-zero one if there is
 *   one), again until no line is so, so that no withheld cell is the difference of a line's
 *   shown cells, nor pinned down by a small difference.
 * Returns the number of cells withheld. */
size_t suppress_table(
    const long *counts, size_t rows, size_t cols, int total_row, int total_col, int *hidden);

#endif
