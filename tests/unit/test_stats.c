/* test_stats.c: Student's t against published table values, and the outcome summary against
 * values computed by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../test_main.h"
#include "registry/stats.h"

static void
assert_near(double got, double want, double tol)
{
    if (fabs(got - want) > tol) {
        fail_msg("got %.9f, want %.9f (within %g)", got, want, tol);
    }
}

/* Critical values of the t table (two-sided 95 %, 99 %; one-sided 95 %), to its 3 decimals. */
static void
test_quantile_table(void **state)
{
    static const struct {
        double p, df, t;
    } table[] = {
        {0.975, 1, 12.706}, {0.975, 2, 4.303},   {0.975, 3, 3.182},  {0.975, 4, 2.776},
        {0.975, 5, 2.571},  {0.975, 10, 2.228},  {0.975, 20, 2.086}, {0.975, 30, 2.042},
        {0.975, 60, 2.000}, {0.975, 120, 1.980}, {0.995, 1, 63.657}, {0.995, 10, 3.169},
        {0.995, 30, 2.750}, {0.95, 5, 2.015},    {0.95, 20, 1.725},  {0.9, 8, 1.397},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        assert_near(stats_t_quantile(table[i].p, table[i].df), table[i].t, 0.0006);
        /* The distribution is symmetric. */
        assert_near(stats_t_quantile(1.0 - table[i].p, table[i].df), -table[i].t, 0.0006);
    }
    /* Large df: the normal's 1.95996. */
    assert_near(stats_t_quantile(0.975, 1e6), 1.959966, 0.00001);
}

/* Closed forms: df 1 is the Cauchy distribution, df 2 has F(t) = 1/2 + t / (2 sqrt(2 + t^2)). */
static void
test_cdf_closed_forms(void **state)
{
    double t;

    (void)state;
    assert_near(stats_t_cdf(0.0, 7), 0.5, 1e-12);
    for (t = -20.0; t <= 20.0; t += 0.5) {
        assert_near(stats_t_cdf(t, 1), 0.5 + atan(t) / (4.0 * atan(1.0)), 1e-10);
        assert_near(stats_t_cdf(t, 2), 0.5 + t / (2.0 * sqrt(2.0 + t * t)), 1e-10);
    }
    assert_near(stats_t_p_two_sided(2.228139, 10), 0.05, 1e-6);
    assert_near(stats_t_p_two_sided(0.0, 10), 1.0, 1e-12);
    assert_near(stats_t_p_two_sided(-12.706205, 1), 0.05, 1e-6);
}

/* Four runs' worth of pairs, by hand: changes -0.5, -0.9, 0.5, -1.5; mean -0.6; sum of squared
 * deviations 2.12; sd sqrt(2.12 / 3); t(3) 0.975 = 3.182446; t = -1.427493, p = 0.248728. */
static void
test_summary_by_hand(void **state)
{
    static const double pairs[4][2] = {{2.4, 1.9}, {3.1, 2.2}, {2.0, 2.5}, {3.5, 2.0}};
    struct outcome_sums s = {0};
    struct outcome_summary out;
    double sd = sqrt(2.12 / 3.0), half = 3.182446 * sd / 2.0;
    int i;

    (void)state;
    for (i = 0; i < 4; i++) {
        stats_add_pair(&s, pairs[i][0], pairs[i][1]);
    }
    assert_int_equal(stats_summarise(&s, 0, &out), 0);
    assert_int_equal(out.n, 4);
    assert_near(out.mean_pre, 2.75, 1e-12);
    assert_near(out.mean_post, 2.15, 1e-12);
    assert_near(out.mean_change, -0.6, 1e-12);
    assert_true(out.has_interval);
    assert_near(out.sd_change, sd, 1e-12);
    assert_near(out.ci_low, -0.6 - half, 1e-5);
    assert_near(out.ci_high, -0.6 + half, 1e-5);
    assert_near(out.p_value, 0.248728, 1e-5);
    assert_true(out.has_effect);
    assert_near(out.effect_dz, -0.6 / sd, 1e-12);
    /* Lower is better here (a problem's severity): the scores fell, an improvement, but the
     * interval holds 0. */
    assert_int_equal(out.improved, 1);
    assert_int_equal(out.significant, 0);
    assert_int_equal(stats_summarise(&s, 1, &out), 0);
    assert_int_equal(out.improved, -1);
}

/* n = 2: one degree of freedom, the widest interval. */
static void
test_two_pairs(void **state)
{
    struct outcome_sums s = {0};
    struct outcome_summary out;

    (void)state;
    stats_add_pair(&s, 1.0, 3.0);
    stats_add_pair(&s, 2.0, 3.0);
    assert_int_equal(stats_summarise(&s, 1, &out), 0);
    assert_near(out.mean_change, 1.5, 1e-12);
    assert_near(out.sd_change, sqrt(0.5), 1e-12);
    assert_near(out.ci_high - out.ci_low, 2.0 * 12.706205 * 0.5, 1e-5);
    assert_int_equal(out.improved, 1);
}

/* Every change the same: no spread, so no effect size; the interval is the point itself. */
static void
test_zero_variance(void **state)
{
    struct outcome_sums s = {0};
    struct outcome_summary out;
    int i;

    (void)state;
    for (i = 0; i < 5; i++) {
        stats_add_pair(&s, 0.1 * i, 0.1 * i + 0.7);
    }
    assert_int_equal(stats_summarise(&s, 1, &out), 0);
    assert_near(out.mean_change, 0.7, 1e-12);
    assert_near(out.sd_change, 0.0, 1e-7);
    assert_true(out.has_interval);
    assert_near(out.ci_low, 0.7, 1e-6);
    assert_near(out.ci_high, 0.7, 1e-6);
    assert_false(out.has_effect);
    assert_int_equal(out.improved, 1);
    assert_int_equal(out.significant, 1);
}

/* No pairs: nothing to say; one pair: the means, no interval. */
static void
test_too_few(void **state)
{
    struct outcome_sums s = {0};
    struct outcome_summary out;

    (void)state;
    assert_int_equal(stats_summarise(&s, 1, &out), -1);
    assert_int_equal(out.n, 0);
    stats_add_pair(&s, 4.0, 4.0);
    assert_int_equal(stats_summarise(&s, 1, &out), 0);
    assert_near(out.mean_pre, 4.0, 1e-12);
    assert_false(out.has_interval);
    assert_false(out.has_effect);
    assert_int_equal(out.improved, 0);
}

/* Large n: the interval narrows as 1.96 sd / sqrt(n), and the sums stay exact enough. */
static void
test_large_n(void **state)
{
    struct outcome_sums s = {0};
    struct outcome_summary out;
    int i;

    (void)state;
    for (i = 0; i < 100000; i++) {
        stats_add_pair(&s, 3.0, 3.0 + ((i % 2) ? 0.5 : -0.3)); /* changes 0.1 +- 0.4 */
    }
    assert_int_equal(stats_summarise(&s, 1, &out), 0);
    assert_near(out.mean_change, 0.1, 1e-9);
    assert_near(out.sd_change, 0.4 * sqrt(100000.0 / 99999.0), 1e-9);
    assert_near(out.ci_high - out.mean_change, 1.959983 * out.sd_change / sqrt(100000.0), 1e-6);
    assert_int_equal(out.significant, 1);
    assert_true(out.p_value < 1e-12);
}

/* Two runs' sums combined give what all their pairs give at once. */
static void
test_combine_exact(void **state)
{
    static const double a[3][2] = {{1, 2}, {2, 4}, {3, 3}},
                        b[4][2] = {{5, 1}, {2, 2.5}, {4, 6}, {1, 1.5}};
    struct outcome_sums ra = {0}, rb = {0}, all = {0};
    struct outcome_summary x, y;
    int i;

    (void)state;
    for (i = 0; i < 3; i++) {
        stats_add_pair(&ra, a[i][0], a[i][1]);
        stats_add_pair(&all, a[i][0], a[i][1]);
    }
    for (i = 0; i < 4; i++) {
        stats_add_pair(&rb, b[i][0], b[i][1]);
        stats_add_pair(&all, b[i][0], b[i][1]);
    }
    ra.pre_only = 2;
    rb.post_only = 1;
    stats_combine(&ra, &rb);
    assert_int_equal(ra.n, 7);
    assert_int_equal(ra.pre_only, 2);
    assert_int_equal(ra.post_only, 1);
    assert_int_equal(stats_summarise(&ra, 1, &x), 0);
    assert_int_equal(stats_summarise(&all, 1, &y), 0);
    assert_near(x.mean_change, y.mean_change, 1e-12);
    assert_near(x.sd_change, y.sd_change, 1e-12);
    assert_near(x.ci_low, y.ci_low, 1e-12);
    assert_near(x.p_value, y.p_value, 1e-12);
}

TEST_MAIN(NULL,
          NULL,
          cmocka_unit_test(test_quantile_table),
          cmocka_unit_test(test_cdf_closed_forms),
          cmocka_unit_test(test_summary_by_hand),
          cmocka_unit_test(test_two_pairs),
          cmocka_unit_test(test_zero_variance),
          cmocka_unit_test(test_too_few),
          cmocka_unit_test(test_large_n),
          cmocka_unit_test(test_combine_exact))
