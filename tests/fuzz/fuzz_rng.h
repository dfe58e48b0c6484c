/* fuzz_rng.h: the fuzzers' deterministic randomness (splitmix64): the same seed, which they
 * print, gives the same inputs. Each program includes it once and sets fuzz_rng_state to its
 * seed. */
#ifndef FUZZ_RNG_H
#define FUZZ_RNG_H

#include <stdint.h>

static uint64_t fuzz_rng_state;

static inline uint64_t
fuzz_rng(void)
{
    uint64_t z = (fuzz_rng_state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A number in [0, n). */
static inline uint64_t
fuzz_below(uint64_t n)
{
    return n == 0 ? 0 : fuzz_rng() % n;
}

#endif
