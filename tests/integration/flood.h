/* flood.h: a hostile client for the socket tests: many TCP connections from one loopback source
 * address that send nothing (idle) or one byte a second (slowloris), with the time at which the
 * server closed each one. Used by it_sockets.c and, through the sockflood program, by
 * it_nginx.sh. Loopback only. */
#ifndef IT_FLOOD_H
#define IT_FLOOD_H

#include <pthread.h>
#include <stdatomic.h>

#define FLOOD_IDLE    0 /* connect and send nothing */
#define FLOOD_TRICKLE 1 /* send `payload` one byte every `interval_ms` */

struct flood {
    int n;                 /* sockets */
    int mode;              /* FLOOD_IDLE or FLOOD_TRICKLE */
    int reopen;            /* keep every slot open: a closed or refused one is tried again */
    int interval_ms;       /* trickle interval (1000: slowloris) */
    const char *payload;   /* bytes to trickle (borrowed); repeated from its start when done */
    int *fd;               /* -1 once closed by the server */
    long long *closed_ms;  /* ms after its open when the server closed it; -1 while open */
    long long *opened_at;  /* clock of each socket's open (ms) */
    int *sent;             /* bytes of payload sent on each socket */
    long reopened;         /* sockets opened again (reopen) */
    long connect_failed;   /* connects that failed */
    char src[16], dst[16]; /* source and destination IPv4 addresses */
    int port;
    atomic_int stop;
    int thread_started, inited;
    pthread_t thread;
    pthread_mutex_t lock; /* guards the arrays against flood_stats while the thread runs */
};

/* What flood_start opens: `n` sockets from `src` to `dst`:`port` in `mode`, trickling `payload`
 * every `interval_ms` (0: 1000), and opening a socket again when the server closes it when
 * `reopen` is set. */
struct flood_opts {
    const char *src, *dst;
    int port, n, mode;
    const char *payload;
    int interval_ms, reopen;
};

/* Opens the sockets `o` names (each connect waits up to 2 s) and starts the thread that trickles
 * and watches for closes. Returns 0, or -1 when no socket could be made. */
int flood_start(struct flood *f, const struct flood_opts *o);

/* What happened so far: sockets the server closed within `quick_ms` of their open, closed later,
 * and still open; and the latest close (ms after its open). */
struct flood_stats {
    int closed_quickly, closed_later, open;
    long long last_close_ms, first_late_close_ms;
};
void flood_stats(struct flood *f, int quick_ms, struct flood_stats *out);

/* Stops the thread and closes every socket; does nothing when already stopped (a struct flood
 * that is all zeros counts as stopped). */
void flood_stop(struct flood *f);

/* One HTTP/1.1 request on a new connection from `src` (Connection: close) to `dst`:`port`.
 * Returns the status (0 when no answer within timeout_ms) and sets *ms to the time it took. */
int flood_probe(
    const char *src, const char *dst, int port, const char *path, int timeout_ms, long long *ms);

/* A non-blocking TCP connection from `src` (any port) to `dst`:`port`, or -1 when it is not
 * made within timeout_ms; -2 when it was made and reset at once (refused by the server). */
int flood_connect(const char *src, const char *dst, int port, int timeout_ms);

/* The monotonic clock in ms. */
long long flood_now_ms(void);

#endif
