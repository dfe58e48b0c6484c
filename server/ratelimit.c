/* ratelimit.c: token buckets in a fixed table of slots, striped over a few locks. A client's
 * bucket holds up to `burst` tokens and refills at per_minute / 60 tokens a second. When the table
 * is full, the bucket idle longest in a client's probe window is reused: a client forgotten that
 * way starts again with a full bucket, which errs towards letting people in. */
#include "registry/ratelimit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "registry/codec.h"

#define SLOTS   8192 /* buckets kept */
#define STRIPES 64   /* locks; slot i is guarded by stripe i % STRIPES */
#define PROBE   8    /* slots a client may live in */

struct bucket {
    char client[48];
    double tokens;
    long long last_ms;
};

/* One limit: its buckets, locks and rate. */
struct table {
    struct bucket slots[SLOTS];
    pthread_mutex_t stripes[STRIPES];
    double per_ms, burst; /* tokens a millisecond; most tokens held (0: off) */
    atomic_llong refused;
};

static struct table open_routes, enquiries;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
init_locks(void)
{
    int i;

    for (i = 0; i < STRIPES; i++) {
        pthread_mutex_init(&open_routes.stripes[i], NULL);
        pthread_mutex_init(&enquiries.stripes[i], NULL);
    }
}

void
ratelimit_init(int limit)
{
    pthread_once(&once, init_locks);
    open_routes.per_ms = limit / 60000.0;
    open_routes.burst = limit;
}

void
ratelimit_enquiries_init(int per_hour)
{
    pthread_once(&once, init_locks);
    enquiries.per_ms = per_hour / 3600000.0;
    enquiries.burst = per_hour;
}

long long
ratelimit_refused(void)
{
    return atomic_load(&open_routes.refused);
}

static int take(struct table *t, const char *client, long long now_ms);

int
ratelimit_take(const char *client, long long now_ms)
{
    return take(&open_routes, client, now_ms);
}

int
ratelimit_enquiries_take(const char *client, long long now_ms)
{
    return take(&enquiries, client, now_ms);
}

static int
take(struct table *t, const char *client, long long now_ms)
{
    /* The probe window lies within one stripe: slots home, home+STRIPES, ... share a lock. */
    uint32_t home = (uint32_t)(codec_fnv1a(client) % SLOTS);
    pthread_mutex_t *lock = &t->stripes[home % STRIPES];
    struct bucket *b = NULL, *oldest = NULL;
    double rate, burst;
    int i, wait = 0;

    if (t->burst <= 0) {
        return 0;
    }
    pthread_once(&once, init_locks);
    rate = t->per_ms;
    burst = t->burst;
    pthread_mutex_lock(lock);
    for (i = 0; i < PROBE; i++) {
        struct bucket *s = &t->slots[(home + (uint32_t)i * STRIPES) % SLOTS];
        if (strcmp(s->client, client) == 0) {
            b = s;
            break;
        }
        if (oldest == NULL || s->last_ms < oldest->last_ms) {
            oldest = s;
        }
    }
    if (b == NULL) {
        b = oldest;
        strncpy(b->client, client, sizeof(b->client) - 1);
        b->client[sizeof(b->client) - 1] = '\0';
        b->tokens = burst;
        b->last_ms = now_ms;
    }
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * rate;
        if (b->tokens > burst) {
            b->tokens = burst;
        }
        b->last_ms = now_ms;
    }
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
    } else {
        wait = (int)((1.0 - b->tokens) / rate / 1000.0) + 1;
    }
    pthread_mutex_unlock(lock);
    if (wait > 0) {
        atomic_fetch_add(&t->refused, 1);
    }
    return wait;
}
