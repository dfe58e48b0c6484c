/* stats.c: sufficient statistics of before/after scores, and Student's t (stats.h). */
#include "registry/stats.h"

#include <math.h>
#include <string.h>

void
stats_add_pair(struct outcome_sums *s, double pre, double post)
{
    double d = post - pre;

    s->n++;
    s->pre += pre;
    s->post += post;
    s->d += d;
    s->d2 += d * d;
}

void
stats_combine(struct outcome_sums *into, const struct outcome_sums *more)
{
    into->n += more->n;
    into->pre += more->pre;
    into->post += more->post;
    into->d += more->d;
    into->d2 += more->d2;
    into->pre_only += more->pre_only;
    into->post_only += more->post_only;
}

/* The continued fraction of the regularized incomplete beta function I_x(a, b), evaluated by the
 * modified Lentz method; converges quickly for x < (a + 1) / (a + b + 2). */
static double
beta_fraction(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-15;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0), f;
    int m;

    if (fabs(d) < tiny) {
        d = tiny;
    }
    d = 1.0 / d;
    f = d;
    for (m = 1; m <= 300; m++) {
        double m2 = 2.0 * m, num, delta;

        /* The even step, then the odd one. */
        num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
        d = 1.0 + num * d;
        c = 1.0 + num / c;
        d = 1.0 / (fabs(d) < tiny ? tiny : d);
        c = fabs(c) < tiny ? tiny : c;
        f *= d * c;
        num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
        d = 1.0 + num * d;
        c = 1.0 + num / c;
        d = 1.0 / (fabs(d) < tiny ? tiny : d);
        c = fabs(c) < tiny ? tiny : c;
        delta = d * c;
        f *= delta;
        if (fabs(delta - 1.0) < eps) {
            break;
        }
    }
    return f;
}

/* I_x(a, b) for 0 <= x <= 1. */
static double
beta_regularized(double a, double b, double x)
{
    double front;

    if (x <= 0.0) {
        return 0.0;
    }
    if (x >= 1.0) {
        return 1.0;
    }
    front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1.0) / (a + b + 2.0)) {
        return front * beta_fraction(a, b, x) / a;
    }
    return 1.0 - front * beta_fraction(b, a, 1.0 - x) / b;
}

double
stats_t_cdf(double t, double df)
{
    /* P(|T| >= |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2); each tail holds half of it. */
    double tail = 0.5 * beta_regularized(df / 2.0, 0.5, df / (df + t * t));

    return t > 0.0 ? 1.0 - tail : tail;
}

double
stats_t_p_two_sided(double t, double df)
{
    return beta_regularized(df / 2.0, 0.5, df / (df + t * t));
}

double
stats_t_quantile(double p, double df)
{
    double lo = -1.0, hi = 1.0;
    int i;

    /* Bracket, then bisect: the cdf is monotone and cheap enough, and bisection cannot diverge
     * in the heavy tails of small df. */
    while (stats_t_cdf(lo, df) > p && lo > -1e12) {
        lo *= 2.0;
    }
    while (stats_t_cdf(hi, df) < p && hi < 1e12) {
        hi *= 2.0;
    }
    for (i = 0; i < 200 && hi - lo > 1e-12 * (1.0 + fabs(lo)); i++) {
        double mid = 0.5 * (lo + hi);

        if (stats_t_cdf(mid, df) < p) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return 0.5 * (lo + hi);
}

int
stats_summarise(const struct outcome_sums *s, int higher_is_better, struct outcome_summary *out)
{
    double n = (double)s->n, ss, se, half;

    memset(out, 0, sizeof(*out));
    out->n = s->n;
    if (s->n < 1) {
        return -1;
    }
    out->mean_pre = s->pre / n;
    out->mean_post = s->post / n;
    out->mean_change = s->d / n;
    if (out->mean_change != 0.0) {
        out->improved = (out->mean_change > 0.0) == (higher_is_better != 0) ? 1 : -1;
    }
    if (s->n < 2) {
        return 0;
    }
    /* Sum of squared deviations; rounding can leave a tiny negative for equal changes. */
    ss = s->d2 - s->d * s->d / n;
    out->sd_change = ss > 0.0 ? sqrt(ss / (n - 1.0)) : 0.0;
    se = out->sd_change / sqrt(n);
    half = stats_t_quantile(0.975, n - 1.0) * se;
    out->has_interval = 1;
    out->ci_low = out->mean_change - half;
    out->ci_high = out->mean_change + half;
    if (se > 0.0) {
        out->p_value = stats_t_p_two_sided(out->mean_change / se, n - 1.0);
        out->has_effect = 1;
        out->effect_dz = out->mean_change / out->sd_change;
    } else {
        out->p_value = out->mean_change != 0.0 ? 0.0 : 1.0; /* every change the same */
    }
    out->significant = out->ci_low > 0.0 || out->ci_high < 0.0;
    return 0;
}
