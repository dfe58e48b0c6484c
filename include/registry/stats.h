/* stats.h: the outcome statistics of a programme run, kept as sufficient statistics only.
 *
 * A run's anonymous before/after scores for one measure arrive as pairs and are reduced at once
 * to n, the sums of the scores before and after, and the sum and sum of squares of the changes
 * (d = after - before). The pairs themselves are never kept. Sums add, so runs combine exactly:
 * the summary of two runs' combined sums is the summary of all their pairs. */
#ifndef REGISTRY_STATS_H
#define REGISTRY_STATS_H

/* The sufficient statistics of one measure over one or more runs. */
struct outcome_sums {
    long n;           /* pairs */
    double pre, post; /* sums of the scores before and after */
    double d, d2;     /* sum of the changes, and of their squares */
    long pre_only;    /* answers before with no answer after */
    long post_only;   /* answers after with no answer before */
};

/* What the sums say. Means are present when n >= 1; the interval, p-value and standard
 * deviation when n >= 2; the effect size when, besides, the changes vary (sd > 0). */
struct outcome_summary {
    long n;
    double mean_pre, mean_post, mean_change;
    int has_interval;
    double sd_change;       /* sample standard deviation of the changes (n - 1) */
    double ci_low, ci_high; /* 95 % confidence interval of the mean change (Student's t) */
    double p_value;         /* two-sided, of the paired t test that the mean change is 0 */
    int has_effect;
    double effect_dz; /* Cohen's d_z: mean change / sd of the changes */
    int improved;     /* 1 when the mean moved the better way, -1 the worse way, 0 not */
    int significant;  /* 1 when the interval excludes 0 */
};

/* Adds one before/after pair to `s`. */
void stats_add_pair(struct outcome_sums *s, double pre, double post);

/* Adds `more` (another run's sums) to `into`. */
void stats_combine(struct outcome_sums *into, const struct outcome_sums *more);

/* Summarises `s` for a measure where higher scores are better (`higher_is_better` 1) or worse
 * (0). Returns 0, or -1 when there are no pairs (then `out` holds only n = 0). */
int
stats_summarise(const struct outcome_sums *s, int higher_is_better, struct outcome_summary *out);

/* Student's t distribution with `df` > 0 degrees of freedom: P(T <= t). */
double stats_t_cdf(double t, double df);

/* The two-sided p-value of `t`: P(|T| >= |t|). */
double stats_t_p_two_sided(double t, double df);

/* The t with P(T <= t) = p, for 0 < p < 1. */
double stats_t_quantile(double p, double df);

#endif
