/* flood.c: idle and slowloris socket floods, and a timed probe from another address (flood.h). */
#include "flood.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FLOOD_TICK_MS  20
#define FLOOD_RETRY_MS 100

long long
flood_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
flood_connect(const char *src, const char *dst, int port, int timeout_ms)
{
    struct sockaddr_in a, b;
    struct pollfd p;
    int fd, err = 0;
    socklen_t len = sizeof(err);

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.sin_family = b.sin_family = AF_INET;
    if (inet_pton(AF_INET, src, &a.sin_addr) != 1 || inet_pton(AF_INET, dst, &b.sin_addr) != 1) {
        return -1;
    }
    b.sin_port = htons((uint16_t)port);
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&b, sizeof(b)) != 0) {
        if (errno != EINPROGRESS) {
            close(fd);
            return -1;
        }
        p.fd = fd;
        p.events = POLLOUT;
        if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0
            || err != 0) {
            close(fd);
            /* Connected and reset at once (refused by the server) before we looked. */
            return err == ECONNRESET || err == EPIPE ? -2 : -1;
        }
    }
    return fd;
}

/* Reopen mode: a closed slot (refused at once, or closed by the server) is connected again, at
 * most every FLOOD_RETRY_MS, so the hostile client keeps every slot busy however the server
 * answers. Called with the lock held. */
static void
reopen_slot(struct flood *f, int k, long long now)
{
    int fd;

    if (f->fd[k] >= 0 || now - f->opened_at[k] < FLOOD_RETRY_MS) {
        return;
    }
    fd = flood_connect(f->src, f->dst, f->port, 500);
    f->opened_at[k] = flood_now_ms();
    if (fd == -1) {
        f->connect_failed++;
        return;
    }
    f->reopened++; /* opened, or refused at once (fd -2): either way the server saw it */
    if (fd >= 0) {
        f->fd[k] = fd;
        f->closed_ms[k] = -1;
        f->sent[k] = 0;
    }
}

static void *
flood_run(void *arg)
{
    struct flood *f = arg;
    struct pollfd *p = calloc((size_t)f->n, sizeof(*p));
    int *idx = calloc((size_t)f->n, sizeof(*idx));
    long long last_send = flood_now_ms();
    size_t plen = f->payload != NULL ? strlen(f->payload) : 0;

    if (p == NULL || idx == NULL) {
        free(p);
        free(idx);
        return NULL;
    }
    while (!atomic_load(&f->stop)) {
        int i, m = 0, r;
        long long now;

        pthread_mutex_lock(&f->lock);
        for (i = 0; i < f->n; i++) {
            if (f->fd[i] >= 0) {
                p[m].fd = f->fd[i];
                p[m].events = POLLIN;
                p[m].revents = 0;
                idx[m++] = i;
            }
        }
        pthread_mutex_unlock(&f->lock);
        r = poll(p, (nfds_t)m, FLOOD_TICK_MS);
        now = flood_now_ms();
        pthread_mutex_lock(&f->lock);
        for (i = 0; r > 0 && i < m; i++) {
            char buf[4096];
            ssize_t got;
            int k = idx[i];

            if (p[i].revents == 0) {
                continue;
            }
            got = recv(f->fd[k], buf, sizeof(buf), 0);
            if (got > 0 || (got < 0 && (errno == EAGAIN || errno == EINTR))) {
                continue; /* an answer (e.g. 400): the close comes next */
            }
            close(f->fd[k]);
            f->fd[k] = -1;
            f->closed_ms[k] = now - f->opened_at[k];
            f->opened_at[k] = now; /* from here: when it was last tried (reopen) */
        }
        for (i = 0; f->reopen && i < f->n; i++) {
            reopen_slot(f, i, now);
        }
        if (f->mode == FLOOD_TRICKLE && plen > 0 && now - last_send >= f->interval_ms) {
            last_send = now;
            for (i = 0; i < f->n; i++) {
                if (f->fd[i] >= 0) {
                    char c = f->payload[(size_t)f->sent[i] % plen];

                    if (send(f->fd[i], &c, 1, MSG_NOSIGNAL) == 1) {
                        f->sent[i]++;
                    }
                }
            }
        }
        pthread_mutex_unlock(&f->lock);
    }
    free(p);
    free(idx);
    return NULL;
}

int
flood_start(struct flood *f, const struct flood_opts *o)
{
    int i, ok = 0, n = o->n;

    memset(f, 0, sizeof(*f));
    f->n = n;
    f->mode = o->mode;
    f->reopen = o->reopen;
    f->interval_ms = o->interval_ms > 0 ? o->interval_ms : 1000;
    f->payload = o->payload;
    f->port = o->port;
    snprintf(f->src, sizeof(f->src), "%s", o->src);
    snprintf(f->dst, sizeof(f->dst), "%s", o->dst);
    f->fd = calloc((size_t)n, sizeof(*f->fd));
    f->closed_ms = calloc((size_t)n, sizeof(*f->closed_ms));
    f->opened_at = calloc((size_t)n, sizeof(*f->opened_at));
    f->sent = calloc((size_t)n, sizeof(*f->sent));
    pthread_mutex_init(&f->lock, NULL);
    f->inited = 1;
    atomic_init(&f->stop, 0);
    if (f->fd == NULL || f->closed_ms == NULL || f->opened_at == NULL || f->sent == NULL) {
        flood_stop(f);
        return -1;
    }
    for (i = 0; i < n; i++) {
        f->fd[i] = flood_connect(o->src, o->dst, o->port, 2000);
        f->opened_at[i] = flood_now_ms();
        f->closed_ms[i] = -1;
        if (f->fd[i] == -2) {
            f->fd[i] = -1; /* refused at once */
            f->closed_ms[i] = 0;
            ok++;
        } else if (f->fd[i] < 0) {
            f->connect_failed++;
            f->closed_ms[i] = 0;
        } else {
            ok++;
        }
    }
    if (ok == 0 || pthread_create(&f->thread, NULL, flood_run, f) != 0) {
        flood_stop(f);
        return -1;
    }
    f->thread_started = 1;
    return 0;
}

void
flood_stats(struct flood *f, int quick_ms, struct flood_stats *out)
{
    int i;

    memset(out, 0, sizeof(*out));
    out->first_late_close_ms = -1;
    pthread_mutex_lock(&f->lock);
    for (i = 0; i < f->n; i++) {
        long long c = f->closed_ms[i];

        if (f->fd[i] >= 0) {
            out->open++;
        } else if (c <= quick_ms) {
            out->closed_quickly++;
        } else {
            out->closed_later++;
            if (out->first_late_close_ms < 0 || c < out->first_late_close_ms) {
                out->first_late_close_ms = c;
            }
        }
        if (f->fd[i] < 0 && c > out->last_close_ms) {
            out->last_close_ms = c;
        }
    }
    pthread_mutex_unlock(&f->lock);
}

void
flood_stop(struct flood *f)
{
    int i;

    if (!f->inited) {
        return;
    }
    atomic_store(&f->stop, 1);
    if (f->thread_started) {
        pthread_join(f->thread, NULL);
        f->thread_started = 0;
    }
    for (i = 0; f->fd != NULL && i < f->n; i++) {
        if (f->fd[i] >= 0) {
            close(f->fd[i]);
            f->fd[i] = -1;
        }
    }
    free(f->fd);
    free(f->closed_ms);
    free(f->opened_at);
    free(f->sent);
    f->fd = NULL;
    f->closed_ms = f->opened_at = NULL;
    f->sent = NULL;
    pthread_mutex_destroy(&f->lock);
    f->inited = 0;
}

int
flood_probe(
    const char *src, const char *dst, int port, const char *path, int timeout_ms, long long *ms)
{
    long long t0 = flood_now_ms(), left;
    char req[512], buf[1024];
    size_t have = 0;
    int fd, status = 0, n;
    struct pollfd p;

    *ms = 0;
    if ((fd = flood_connect(src, dst, port, timeout_ms)) < 0) {
        *ms = flood_now_ms() - t0;
        return 0;
    }
    n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n",
                 path, dst, port);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        *ms = flood_now_ms() - t0;
        return 0;
    }
    /* Up to the end of the status line is enough to know the answer came. */
    while ((left = timeout_ms - (flood_now_ms() - t0)) > 0 && have < sizeof(buf) - 1) {
        ssize_t got;

        p.fd = fd;
        p.events = POLLIN;
        if (poll(&p, 1, (int)left) != 1) {
            break;
        }
        got = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
        if (got <= 0) {
            if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }
            break;
        }
        have += (size_t)got;
        buf[have] = '\0';
        if (strstr(buf, "\r\n") != NULL) {
            if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
                status = 0;
            }
            break;
        }
    }
    *ms = flood_now_ms() - t0;
    close(fd);
    return status;
}
