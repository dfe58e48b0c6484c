/* clock.h: the monotonic clock in milliseconds, for intervals (replica lag windows, webhook
 * delivery times); never a wall-clock time. */
#ifndef REGISTRY_CLOCK_H
#define REGISTRY_CLOCK_H

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

#endif
