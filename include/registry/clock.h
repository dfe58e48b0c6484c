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

#endif
