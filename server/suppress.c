/* suppress.c: small-number suppression (suppress.h). The rule is the statistical agencies'
 * threshold rule with secondary suppression along each additive line: a lone withheld cell in a
 * line whose total is shown would be the total less the others, so a second cell goes with it. */
#include "registry/suppress.h"

/* Withholds, in the line of `n` cells starting at `first` with `step` between them, a second cell
 * when exactly one is withheld. Returns 1 when it withheld one. */
static int
second_in_line(const long *counts, int *hidden, size_t first, size_t step, size_t n)
{
    size_t i, k, withheld = 0, pick = n;
    long best = 0;

    for (i = 0; i < n; i++) {
        withheld += hidden[first + i * step] != 0;
    }
    if (withheld != 1) {
        return 0;
    }
    /* The smallest shown count, a non-zero one before any zero. */
    for (i = 0; i < n; i++) {
        k = first + i * step;
        if (hidden[k]) {
            continue;
        }
        if (pick == n || (best == 0 && counts[k] > 0) || (counts[k] > 0 && counts[k] < best)) {
            pick = i;
            best = counts[k];
        }
    }
    if (pick == n) {
        return 0; /* a line of one cell: nothing to add up */
    }
    hidden[first + pick * step] = 1;
    return 1;
}

size_t
suppress_table(
    const long *counts, size_t rows, size_t cols, int total_row, int total_col, int *hidden)
{
    size_t i, withheld = 0;
    int changed = 1;

    for (i = 0; i < rows * cols; i++) {
        hidden[i] = counts[i] >= 1 && counts[i] <= SUPPRESS_MAX;
    }
    while (changed) {
        changed = 0;
        for (i = 0; total_col && i < rows; i++) {
            changed |= second_in_line(counts, hidden, i * cols, 1, cols);
        }
        for (i = 0; total_row && i < cols; i++) {
            changed |= second_in_line(counts, hidden, i, cols, rows);
        }
    }
    for (i = 0; i < rows * cols; i++) {
        withheld += hidden[i] != 0;
    }
    return withheld;
}
