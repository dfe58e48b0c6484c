/* sockflood.c: the socket floods of flood.h as a program, for it_nginx.sh.
 *
 *     sockflood SRC DST PORT N idle|trickle|tls-trickle SECONDS
 *
 * opens N sockets from SRC to DST:PORT that send nothing, or a request head (trickle) or a TLS
 * handshake record (tls-trickle) one byte a second, waits until the server has closed them all
 * or SECONDS have passed, and prints one line:
 *
 *     refused=R held=H first_close_ms=F last_close_ms=L open=O connect_failed=C
 *
 * (refused: closed by the server within 1 s of their open; held: closed later, the first and
 * last of them F and L ms after their open; open: never closed). Exit status 0, or 2 when the
 * flood could not start. Loopback addresses only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flood.h"

/* A TLS record header announcing a 513-byte handshake record, then its start: a server waits
 * for the whole record before it looks inside. (No NUL byte: the payload is a C string.) */
static const char tls_hello[] = "\x16\x03\x01\x02\x01\x01\x01\x01\xfd\x03\x03"
                                "slowlorisslowlorisslowlorisslowloris";

int
main(int argc, char **argv)
{
    struct flood f;
    struct flood_opts o = {.interval_ms = 1000};
    struct flood_stats st;
    const char *payload = NULL;
    int mode = FLOOD_IDLE;
    long long until;

    if (argc != 7 || (strncmp(argv[1], "127.", 4) != 0 || strncmp(argv[2], "127.", 4) != 0)) {
        fprintf(stderr, "usage: sockflood SRC DST PORT N idle|trickle|tls-trickle SECONDS "
                        "(loopback addresses)\n");
        return 2;
    }
    if (strcmp(argv[5], "trickle") == 0) {
        mode = FLOOD_TRICKLE;
        payload =
            "GET /healthz HTTP/1.1\r\nHost: flood\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    } else if (strcmp(argv[5], "tls-trickle") == 0) {
        mode = FLOOD_TRICKLE;
        payload = tls_hello;
    } else if (strcmp(argv[5], "idle") != 0) {
        fprintf(stderr, "sockflood: mode must be idle, trickle or tls-trickle\n");
        return 2;
    }
    o.src = argv[1];
    o.dst = argv[2];
    o.port = atoi(argv[3]);
    o.n = atoi(argv[4]);
    o.mode = mode;
    o.payload = payload;
    if (flood_start(&f, &o) != 0) {
        fprintf(stderr, "sockflood: no connection could be made\n");
        return 2;
    }
    until = flood_now_ms() + 1000LL * atoi(argv[6]);
    do {
        struct timespec ts = {0, 50 * 1000000L};

        nanosleep(&ts, NULL);
        flood_stats(&f, 1000, &st);
    } while (st.open > 0 && flood_now_ms() < until);
    printf("refused=%d held=%d first_close_ms=%lld last_close_ms=%lld open=%d connect_failed=%ld\n",
           st.closed_quickly, st.closed_later, st.first_late_close_ms, st.last_close_ms, st.open,
           f.connect_failed);
    flood_stop(&f);
    return 0;
}
