/* ratelimit.h: a per-client token bucket for the open, internet-facing routes. One table shared
 * by every worker thread, so the limit holds whichever thread serves a client. */
#ifndef REGISTRY_RATELIMIT_H
#define REGISTRY_RATELIMIT_H

/* Sets the limit: `per_minute` requests a minute per client, with bursts of as many. 0 turns
 * limiting off. Call before the server starts. */
void ratelimit_init(int per_minute);

/* Takes one request for `client` (an address) at time `now_ms`. Returns 0 when allowed, or the
 * seconds to wait before the next request will be (for Retry-After). */
int ratelimit_take(const char *client, long long now_ms);

/* The same for accepted enquiries (enquiries.c): `per_hour` a client, 0 off. */
void ratelimit_enquiries_init(int per_hour);
int ratelimit_enquiries_take(const char *client, long long now_ms);

/* Requests refused since start, for metrics. */
long long ratelimit_refused(void);

#endif
