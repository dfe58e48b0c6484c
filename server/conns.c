/* conns.c: keeps idle and slow sockets from holding CivetWeb's worker threads.
 *
 * CivetWeb 1.15 gives every open connection a worker thread, which reads the request head for up
 * to request_timeout_ms: sockets that send nothing (or a byte a second) hold a thread each, and
 * with num_threads of them nobody else is answered (LIBRARIES.md 28). CivetWeb has no hook that
 * sees a socket before a worker takes it, nor one that can drop a connection, so:
 *
 * - This file defines accept(). The executable's definition comes before libc's for
 *   libcivetweb.so's calls (symbol interposition), so every socket CivetWeb accepts passes here.
 *   Unarmed (tests, or before server_run arms it) it is plain accept. Armed, it records the socket
 *   and its peer, and refuses (closes with a reset) a connection from an address that already
 *   holds REGISTRY_CONNS_PER_ADDRESS sockets; CivetWeb treats the failed accept() as nothing.
 * - A watchdog thread shuts down (shutdown(2) wakes the worker's poll with an end of file) every
 *   socket that has not sent a whole head REGISTRY_HEADER_TIMEOUT_MS after accept. A socket with
 *   unread bytes is a client waiting for a worker (the server is busy), not a slow one: its clock
 *   starts again, so the worker that reads them has the whole timeout.
 *
 * CivetWeb's callbacks find a connection's record by peer address and port: begin_request (a head
 * arrived) stops its clock and keeps its index as the connection's user data; connection_close
 * (before CivetWeb closes the socket, so the descriptor is not reused yet) frees it. CivetWeb 1.15
 * never calls init_connection for server connections (measured), so the clock starts at accept.
 * After the first request only keep_alive_timeout_ms applies. */
#include "registry/conns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <civetweb.h>

#include "registry/clock.h"
#include "registry/logging.h"

#define CONNS_TICK_MS   50    /* how often the watchdog looks */
#define CONNS_REPORT_MS 10000 /* at most one log line about refused and dropped sockets */

struct slot {
    int fd;             /* the accepted socket; -1: the slot is free */
    uint32_t addr;      /* peer IPv4 address, network order */
    uint16_t port;      /* peer port, network order */
    long long deadline; /* clock_mono_ms() by which a head must arrive; 0: one did */
    int unread;         /* bytes unread at the deadline's last check; 0: none */
};

static atomic_int armed;
static struct clock_thread watchdog = CLOCK_THREAD_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *slots; /* guarded by lock, as is everything below */
static size_t nslots;
static int per_address; /* 0: no cap */
static int header_ms;
static int have_exempt;
static uint32_t exempt;                /* the trusted proxy: never capped */
static unsigned long refused, dropped; /* since the last report */

/* Records socket `fd` from `peer`. Returns 0, or -1 when the peer is over its cap. Called with
 * the lock held. */
static int
track(int fd, const struct sockaddr_in *peer)
{
    size_t i, free_slot = nslots;
    int same = 0;

    for (i = 0; i < nslots; i++) {
        if (slots[i].fd == fd) {
            slots[i].fd = -1; /* closed behind our back: the kernel handed the number out again */
        }
        if (slots[i].fd < 0) {
            if (free_slot == nslots) {
                free_slot = i;
            }
        } else if (slots[i].addr == peer->sin_addr.s_addr) {
            same++;
        }
    }
    if (per_address > 0 && same >= per_address
        && !(have_exempt && peer->sin_addr.s_addr == exempt)) {
        refused++;
        return -1;
    }
    if (free_slot == nslots) {
        size_t n = nslots != 0 ? nslots * 2 : 128;
        struct slot *grown = realloc(slots, n * sizeof(*grown));

        if (grown == NULL) {
            return 0; /* untracked: served as CivetWeb alone would */
        }
        for (i = nslots; i < n; i++) {
            grown[i].fd = -1;
        }
        slots = grown;
        nslots = n;
    }
    slots[free_slot].fd = fd;
    slots[free_slot].addr = peer->sin_addr.s_addr;
    slots[free_slot].port = peer->sin_port;
    slots[free_slot].deadline = clock_mono_ms() + header_ms;
    slots[free_slot].unread = 0;
    return 0;
}

int
accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int s, over = 0;

    if (!atomic_load(&armed)) {
        return accept4(fd, addr, addrlen, 0);
    }
    s = accept4(fd, (struct sockaddr *)&ss, &len, 0);
    if (s < 0) {
        return s;
    }
    if (addr != NULL && addrlen != NULL) {
        memcpy(addr, &ss, len < *addrlen ? len : *addrlen);
        *addrlen = len;
    }
    if (ss.ss_family == AF_INET) {
        pthread_mutex_lock(&lock);
        over = track(s, (const struct sockaddr_in *)&ss);
        pthread_mutex_unlock(&lock);
    }
    if (over) {
        struct linger reset = {1, 0};

        setsockopt(s, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
        close(s);
        errno = ECONNABORTED;
        return -1;
    }
    return s;
}

/* The slot of `conn`: the one its first request found (kept as the connection's user data), or
 * the one with its peer address and port; -1 when it has none. Called with the lock held. */
static long
slot_of(const struct mg_connection *conn)
{
    uintptr_t v = (uintptr_t)mg_get_user_connection_data(conn);
    const struct mg_request_info *ri = mg_get_request_info(conn);
    struct in_addr a;
    uint16_t port;
    size_t i;

    if (ri == NULL || inet_pton(AF_INET, ri->remote_addr, &a) != 1) {
        return -1;
    }
    port = htons((uint16_t)ri->remote_port);
    if (v != 0 && v <= nslots && slots[v - 1].fd >= 0 && slots[v - 1].addr == a.s_addr
        && slots[v - 1].port == port) {
        return (long)(v - 1);
    }
    for (i = 0; i < nslots; i++) {
        if (slots[i].fd >= 0 && slots[i].addr == a.s_addr && slots[i].port == port) {
            return (long)i;
        }
    }
    return -1;
}

int
conns_begin_request(struct mg_connection *conn)
{
    long i;

    pthread_mutex_lock(&lock);
    if ((i = slot_of(conn)) >= 0) {
        slots[i].deadline = 0;
        mg_set_user_connection_data(conn, (void *)(uintptr_t)(i + 1));
    }
    pthread_mutex_unlock(&lock);
    return 0; /* CivetWeb goes on to the request handlers */
}

void
conns_connection_close(const struct mg_connection *conn)
{
    long i;

    pthread_mutex_lock(&lock);
    if ((i = slot_of(conn)) >= 0) {
        slots[i].fd = -1;
    }
    pthread_mutex_unlock(&lock);
}

/* Whether `fd` is still the socket from `s`'s peer (a descriptor closed without
 * connection_close could have been reused for something else). */
static int
same_peer(const struct slot *s)
{
    struct sockaddr_in peer;
    socklen_t len = sizeof(peer);

    return getpeername(s->fd, (struct sockaddr *)&peer, &len) == 0 && peer.sin_family == AF_INET
           && peer.sin_addr.s_addr == s->addr && peer.sin_port == s->port;
}

/* Shuts down the sockets past their deadline. Called with the lock held. */
static void
expire(long long now)
{
    size_t i;

    for (i = 0; i < nslots; i++) {
        struct slot *s = &slots[i];
        int waiting = 0;

        if (s->fd < 0 || s->deadline == 0 || now < s->deadline) {
            continue;
        }
        if (ioctl(s->fd, FIONREAD, &waiting) == 0 && waiting > 0) {
            /* Bytes unread at the deadline: a trickling client's last byte that its worker is
             * about to read, or a client waiting for a worker. Look again two ticks later; only
             * bytes still unread then mean no worker has the socket, and that worker gets a
             * whole header timeout from then. */
            if (s->unread != waiting) {
                s->unread = waiting;
                s->deadline = now + 2 * CONNS_TICK_MS;
            } else {
                s->unread = 0;
                s->deadline = now + header_ms;
            }
            continue;
        }
        s->deadline = 0;
        if (same_peer(s)) {
            shutdown(s->fd, SHUT_RDWR);
            dropped++;
        }
    }
}

static void *
watchdog_run(void *arg)
{
    long long last_report = clock_mono_ms();

    (void)arg;
    while (!clock_wait_or_stop(&watchdog.mu, &watchdog.cv, &watchdog.stop, NULL, CONNS_TICK_MS)) {
        long long now = clock_mono_ms();

        pthread_mutex_lock(&lock);
        expire(now);
        if ((refused != 0 || dropped != 0) && now - last_report >= CONNS_REPORT_MS) {
            logging_event("warn", NULL,
                          "connections: %lu refused over REGISTRY_CONNS_PER_ADDRESS=%d, %lu "
                          "closed without a request head within %d ms (last %lld s)",
                          refused, per_address, dropped, header_ms, (now - last_report) / 1000);
            refused = dropped = 0;
            last_report = now;
        }
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int
conns_start(const struct config *c, char *err, size_t errlen)
{
    struct in_addr a;
    int rc;

    per_address = c->conns_per_address;
    header_ms = c->header_timeout_ms;
    have_exempt = c->trusted_proxy != NULL && inet_pton(AF_INET, c->trusted_proxy, &a) == 1;
    exempt = have_exempt ? a.s_addr : 0;
    if ((rc = clock_thread_start(&watchdog, watchdog_run)) != 0) {
        snprintf(err, errlen, "cannot start the connection watchdog: %s", strerror(rc));
        return -1;
    }
    atomic_store(&armed, 1);
    return 0;
}

void
conns_stop(void)
{
    atomic_store(&armed, 0);
    clock_thread_stop(&watchdog);
    /* The callbacks may still run until mg_stop returns; with the guard unarmed and the table
     * kept they find nothing to do. The table itself is freed by the process exit: freeing it
     * here would race with a connection_close still in flight. */
}
