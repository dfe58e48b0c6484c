/* smtp_count: the benchmark's loopback SMTP receiver (scenario 13). It takes every message the
 * enquiry worker sends and counts it, as fast as loopback TCP allows, so that what the drain
 * measures is the registry's side (one epoll loop in C, in place of the Python select loop of
 * tests/integration/smtp_sink.py --count).
 *
 *     smtp_count DIR [BIND_ADDRESS]
 *
 * Listens on a free port of BIND_ADDRESS (default 127.0.0.1; an IPv6 address works too) and
 * writes the port to DIR/port once it listens. DIR/counts holds "messages N", "connections M"
 * and "ehlo E" (EHLO or HELO commands: one a connection when the sender reuses it), rewritten
 * every 0.2 s and on SIGTERM or SIGINT (then it exits). Speaks just enough SMTP: the greeting,
 * EHLO/HELO, MAIL, RCPT (refused with 451 when the address starts with "refuse", or while a file
 * DIR/fail exists, as smtp_sink.py), DATA up to the line ".", RSET, NOOP, QUIT; anything else is
 * answered 502. Every command line is answered, in order, however the commands arrive (several
 * in one segment, or one split over several); the replies to what one read brought go out in
 * one write. No STARTTLS. Built by bench/run. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 2048 /* a command line longer than this is answered 500 and dropped */

struct conn {
    int fd;
    int in_data;    /* between DATA's 354 and the line "." */
    int data_state; /* how much of "\r\n.\r\n" the data just ended with (2: at a line start) */
    char line[LINE_MAX_BYTES];
    size_t line_len; /* of the command line being read */
    int line_too_long;
    char *out; /* replies not yet written */
    size_t out_len, out_cap;
    int closing;  /* QUIT answered: close once the replies are out */
    int want_out; /* registered for EPOLLOUT */
};

static volatile sig_atomic_t stop_now;
static unsigned long long messages, connections, greetings; /* greetings: EHLO/HELO */
static const char *dir;
static int failing; /* DIR/fail exists (looked at with each rewrite of counts) */

static void
on_signal(int sig)
{
    (void)sig;
    stop_now = 1;
}

static void
die(const char *what)
{
    fprintf(stderr, "smtp_count: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* Writes `text` to DIR/name through a temporary file and a rename. */
static void
write_atomic(const char *name, const char *text)
{
    char tmp[4096], path[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((f = fopen(tmp, "w")) == NULL) {
        return;
    }
    fputs(text, f);
    if (fclose(f) == 0) {
        rename(tmp, path);
    }
}

static void
write_counts(void)
{
    char text[128], path[4096];
    struct stat st;

    snprintf(text, sizeof(text), "messages %llu\nconnections %llu\nehlo %llu\n", messages,
             connections, greetings);
    write_atomic("counts", text);
    snprintf(path, sizeof(path), "%s/fail", dir);
    failing = stat(path, &st) == 0;
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
reply(struct conn *c, const char *text)
{
    size_t n = strlen(text);

    if (c->out_len + n > c->out_cap) {
        size_t cap = (c->out_len + n) * 2;
        char *p = realloc(c->out, cap);

        if (p == NULL) {
            return -1;
        }
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, text, n);
    c->out_len += n;
    return 0;
}

/* The verb of `line` is `verb` (four letters, any case), followed by the end or a space/colon. */
static int
is_verb(const char *line, size_t len, const char *verb)
{
    return len >= 4 && strncasecmp(line, verb, 4) == 0
           && (len == 4 || line[4] == ' ' || line[4] == ':');
}

static int
refused(const char *line, size_t len)
{
    const char *p = memchr(line, ':', len), *end = line + len;

    if (failing) {
        return 1;
    }
    if (p == NULL) {
        return 0;
    }
    for (p++; p < end && (*p == ' ' || *p == '<'); p++) {
    }
    return end - p >= 6 && strncasecmp(p, "refuse", 6) == 0;
}

/* Answers one command line (without its line end). */
static int
command(struct conn *c, const char *line, size_t len)
{
    if (is_verb(line, len, "EHLO") || is_verb(line, len, "HELO")) {
        greetings++;
        return reply(c, "250-sink\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n");
    }
    if (is_verb(line, len, "MAIL") || is_verb(line, len, "RSET") || is_verb(line, len, "NOOP")) {
        return reply(c, "250 OK\r\n");
    }
    if (is_verb(line, len, "RCPT")) {
        return reply(c,
                     refused(line, len) ? "451 4.3.0 mailbox busy, try later\r\n" : "250 OK\r\n");
    }
    if (is_verb(line, len, "DATA")) {
        c->in_data = 1;
        c->data_state = 2; /* the data starts at a line's start */
        return reply(c, "354 end with <CRLF>.<CRLF>\r\n");
    }
    if (is_verb(line, len, "QUIT")) {
        c->closing = 1;
        return reply(c, "221 bye\r\n");
    }
    return reply(c, "502 command not implemented\r\n");
}

/* Takes `n` bytes that arrived on `c`: message data up to its end, command lines answered.
 * Returns 0, or -1 to drop the connection. */
static int
take(struct conn *c, const char *p, size_t n)
{
    static const char end_mark[] = "\r\n.\r\n";
    size_t i = 0;

    while (i < n && !c->closing) {
        if (c->in_data) {
            /* Where the data stands in "\r\n.\r\n"; a mismatch may restart it at "\r". */
            for (; i < n; i++) {
                char ch = p[i];

                if (ch == end_mark[c->data_state]) {
                    c->data_state++;
                } else {
                    c->data_state = ch == '\r' ? 1 : 0;
                }
                if (c->data_state == 5) {
                    i++;
                    c->in_data = 0;
                    messages++;
                    if (reply(c, "250 OK queued\r\n") != 0) {
                        return -1;
                    }
                    break;
                }
            }
            continue;
        }
        {
            const char *nl = memchr(p + i, '\n', n - i);
            size_t take_n = nl != NULL ? (size_t)(nl - (p + i)) : n - i;

            if (c->line_len + take_n < sizeof(c->line)) {
                memcpy(c->line + c->line_len, p + i, take_n);
                c->line_len += take_n;
            } else {
                c->line_too_long = 1;
            }
            i += take_n;
            if (nl == NULL) {
                break;
            }
            i++; /* the '\n' */
            if (c->line_len > 0 && c->line[c->line_len - 1] == '\r') {
                c->line_len--;
            }
            if (c->line_too_long ? reply(c, "500 line too long\r\n")
                                 : command(c, c->line, c->line_len)) {
                return -1;
            }
            c->line_len = 0;
            c->line_too_long = 0;
        }
    }
    return 0;
}

/* Writes what replies wait. Returns 1 when all are out, 0 when the socket is full, -1 on error. */
static int
flush_out(struct conn *c)
{
    size_t at = 0;

    while (at < c->out_len) {
        ssize_t w = send(c->fd, c->out + at, c->out_len - at, MSG_NOSIGNAL);

        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            return -1;
        }
        at += (size_t)w;
    }
    memmove(c->out, c->out + at, c->out_len - at);
    c->out_len -= at;
    return c->out_len == 0;
}

static void
conn_close(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->out);
    free(c);
}

/* Sets the events `c` waits for: reading, and writing while replies wait (a system call only
 * when that changes). */
static void
conn_want(int ep, struct conn *c)
{
    int want = c->out_len > 0;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};

    if (want != c->want_out) {
        c->want_out = want;
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
}

static void
accept_all(int ep, int listener)
{
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
        struct conn *c;
        struct epoll_event ev;

        if (fd < 0) {
            return; /* EAGAIN, or an error a later accept may not have */
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if ((c = calloc(1, sizeof(*c))) == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        connections++;
        ev.events = EPOLLIN;
        ev.data.ptr = c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0
            || reply(c, "220 sink ESMTP test receiver\r\n") != 0 || flush_out(c) < 0) {
            close(fd);
            free(c->out);
            free(c);
            continue;
        }
        conn_want(ep, c);
    }
}

/* Reads what arrived on `c` and answers it. Returns 0, or -1 once `c` is to be closed. */
static int
serve(struct conn *c, unsigned events)
{
    char buf[65536];
    int rc;

    if (events & EPOLLIN) {
        for (;;) {
            ssize_t r = recv(c->fd, buf, sizeof(buf), 0);

            if (r == 0) {
                return -1;
            }
            if (r < 0) {
                if (errno == EINTR) {
                    continue;
                }
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    break;
                }
                return -1;
            }
            if (take(c, buf, (size_t)r) != 0) {
                return -1;
            }
            if ((size_t)r < sizeof(buf) || c->closing) {
                break;
            }
        }
    } else if (events & (EPOLLHUP | EPOLLERR)) {
        return -1;
    }
    rc = flush_out(c);
    if (rc < 0 || (rc == 1 && c->closing)) {
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const char *bind_addr = argc > 2 ? argv[2] : "127.0.0.1";
    struct sockaddr_storage ss;
    socklen_t sl;
    struct sigaction sa;
    struct epoll_event ev, events[256];
    int listener, ep, one = 1;
    char port[32];
    double next_write;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: smtp_count DIR [BIND_ADDRESS]\n");
        return 2;
    }
    dir = argv[1];
    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, bind_addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ss.ss_family = AF_INET;
        sl = sizeof(struct sockaddr_in);
    } else if (inet_pton(AF_INET6, bind_addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        ss.ss_family = AF_INET6;
        sl = sizeof(struct sockaddr_in6);
    } else {
        fprintf(stderr, "smtp_count: %s is not an IP address\n", bind_addr);
        return 2;
    }
    if ((listener = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
        die("socket");
    }
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(listener, (struct sockaddr *)&ss, sl) != 0 || listen(listener, 512) != 0) {
        die("bind/listen");
    }
    if (getsockname(listener, (struct sockaddr *)&ss, &sl) != 0) {
        die("getsockname");
    }
    snprintf(port, sizeof(port), "%u",
             ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                           : ((struct sockaddr_in6 *)&ss)->sin6_port));
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: epoll_wait returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        die("epoll_create1");
    }
    ev.events = EPOLLIN;
    ev.data.ptr = NULL; /* the listener */
    if (epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev) != 0) {
        die("epoll_ctl");
    }
    write_counts();
    write_atomic("port", port);
    next_write = now_s() + 0.2;
    while (!stop_now) {
        int n = epoll_wait(ep, events, (int)(sizeof(events) / sizeof(events[0])), 200), i;

        if (n < 0 && errno != EINTR) {
            die("epoll_wait");
        }
        for (i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;

            if (c == NULL) {
                accept_all(ep, listener);
            } else if (serve(c, events[i].events) != 0) {
                conn_close(ep, c);
            } else {
                conn_want(ep, c);
            }
        }
        if (now_s() >= next_write) {
            write_counts();
            next_write = now_s() + 0.2;
        }
    }
    write_counts();
    return 0;
}
