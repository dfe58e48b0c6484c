/* clock.h: the monotonic clock in milliseconds, for intervals (replica lag windows, webhook
 * delivery times), never a wall-clock time; and the timed waits of the background threads. */
#ifndef REGISTRY_CLOCK_H
#define REGISTRY_CLOCK_H

#include <errno.h>
#include <pthread.h>
#include <time.h>

static inline long long
clock_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The CLOCK_REALTIME time `ms` from now into `ts`, for pthread_cond_timedwait and sem_timedwait. */
static inline void
clock_realtime_in(struct timespec *ts, long long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* A background thread's sleep: waits on `cv` up to `ms` (the caller does not hold `mu`) until
 * *stop, or *kick when `kick` is not NULL, is set under `mu`; clears *kick. Returns *stop. */
static inline int
clock_wait_or_stop(
    pthread_mutex_t *mu, pthread_cond_t *cv, const int *stop, int *kick, long long ms)
{
    struct timespec until;
    int stopping;

    clock_realtime_in(&until, ms > 0 ? ms : 0);
    pthread_mutex_lock(mu);
    while (!*stop && (kick == NULL || !*kick)
           && pthread_cond_timedwait(cv, mu, &until) != ETIMEDOUT) {
    }
    if (kick != NULL) {
        *kick = 0;
    }
    stopping = *stop;
    pthread_mutex_unlock(mu);
    return stopping;
}

/* Sets *flag under `mu` and wakes the thread waiting on `cv` (to stop it, or kick it). */
static inline void
clock_wake(pthread_mutex_t *mu, pthread_cond_t *cv, int *flag)
{
    pthread_mutex_lock(mu);
    *flag = 1;
    pthread_cond_signal(cv);
    pthread_mutex_unlock(mu);
}

/* A background thread and its stop flag (the replica monitor, the scheduler, the webhook
 * worker). Initialise with CLOCK_THREAD_INIT; it sleeps with clock_wait_or_stop(&t->mu, &t->cv,
 * &t->stop, ...). */
struct clock_thread {
    pthread_t thread;
    int running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop; /* under mu */
};

#define CLOCK_THREAD_INIT                                                                          \
    {                                                                                              \
        .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER                            \
    }

/* Starts `fn` on `t`. Returns 0, or pthread_create's error number. */
static inline int
clock_thread_start(struct clock_thread *t, void *(*fn)(void *))
{
    int rc;

    t->stop = 0;
    if ((rc = pthread_create(&t->thread, NULL, fn, NULL)) == 0) {
        t->running = 1;
    }
    return rc;
}

/* Asks `t` to stop and waits for it; nothing when it is not running. */
static inline void
clock_thread_stop(struct clock_thread *t)
{
    if (t->running) {
        clock_wake(&t->mu, &t->cv, &t->stop);
        pthread_join(t->thread, NULL);
        t->running = 0;
    }
}

#endif
