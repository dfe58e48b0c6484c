/* suppress.c: small-number suppression (suppress.h). The rule is the statistical agencies'
 * threshold rule with secondary suppression along each additive line: a lone withheld cell in a
 * line whose other members are shown would be the line's total less the others (or, for the
 * total, their sum), and withheld cells that add up to a small number are each pinned to a few
 * values, so more cells go with them, until every line withholds none, or two or more that add
 * up to more than SUPPRESS_MAX (or all its cells). */
#include "registry/suppress.h"

#include <stdlib.h>

/* In the line of `n` cells `idx`, withholds one more cell when exactly one is withheld (it would
 * be the total less the others), or when the withheld ones add up to SUPPRESS_MAX or less (the
 * difference the shown cells leave would pin each down: two withheld cells that add up to 2 are
 * both 1): the smallest count shown, a non-zero one before any zero. Returns 1 when it withheld
 * one. */
static int
second_in_line(const long *counts, int *hidden, const size_t *idx, size_t n)
{
    size_t i, withheld = 0, pick = n;
    long best = 0, sum = 0;

    for (i = 0; i < n; i++) {
        if (hidden[idx[i]]) {
            withheld++;
            sum += counts[idx[i]];
        }
    }
    if (withheld == 0 || (withheld > 1 && sum > SUPPRESS_MAX)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        long c = counts[idx[i]];

        if (!hidden[idx[i]] && (pick == n || (best == 0 && c > 0) || (c > 0 && c < best))) {
            pick = i;
            best = c;
        }
    }
    if (pick == n) {
        return 0; /* a line of one cell: nothing to add up */
    }
    hidden[idx[pick]] = 1;
    return 1;
}

size_t
suppress_lines(const long *counts, size_t n, const size_t *lines, size_t nlines, int *hidden)
{
    size_t i, k, start, withheld = 0;
    int changed = 1;

    for (i = 0; i < n; i++) {
        hidden[i] = counts[i] >= 1 && counts[i] <= SUPPRESS_MAX;
    }
    while (changed) {
        changed = 0;
        for (i = 0, start = 0; i < nlines; i++) {
            for (k = start; lines[k] != SUPPRESS_END; k++) {
            }
            changed |= second_in_line(counts, hidden, lines + start, k - start);
            start = k + 1;
        }
    }
    for (i = 0; i < n; i++) {
        withheld += hidden[i] != 0;
    }
    return withheld;
}

size_t
suppress_table(
    const long *counts, size_t rows, size_t cols, int total_row, int total_col, int *hidden)
{
    size_t *lines = malloc((rows * cols * 2 + rows + cols + 1) * sizeof(*lines));
    size_t i, j, k = 0, nlines = 0, withheld;

    if (lines == NULL) {
        for (i = 0; i < rows * cols; i++) {
            hidden[i] = counts[i] != 0; /* no memory: withhold everything but zeros */
        }
        return rows * cols;
    }
    for (i = 0; total_col && i < rows; i++, nlines++) {
        for (j = 0; j < cols; j++) {
            lines[k++] = i * cols + j;
        }
        lines[k++] = SUPPRESS_END;
    }
    for (j = 0; total_row && j < cols; j++, nlines++) {
        for (i = 0; i < rows; i++) {
            lines[k++] = i * cols + j;
        }
        lines[k++] = SUPPRESS_END;
    }
    withheld = suppress_lines(counts, rows * cols, lines, nlines, hidden);
    free(lines);
    return withheld;
}
