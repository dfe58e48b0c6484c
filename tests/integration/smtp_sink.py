#!/usr/bin/env python3
"""smtp_sink.py: a small SMTP receiver for the integration tests and the benchmark (python3
standard library only).

    smtp_sink.py DIR [BIND_ADDRESS] [--count]

Listens on a free port of BIND_ADDRESS (default 127.0.0.1) and writes the port to DIR/port once
it listens. Each message received is written to DIR/<n>.eml as sent (dot-unstuffed) and, decoded
(the header block as sent, then the text/plain part), to DIR/<n>.txt, and its text/html part, if
any, decoded to DIR/<n>.html; DIR/<n>.txt appears only once complete (after DIR/<n>.html).
DIR/connections holds how many connections it has accepted so far (rewritten as each one opens),
so that a test sees how many messages came on one connection, and DIR/open how many are open now
(rewritten as each one opens and closes), so that a test sees a sender close what it kept open.

With --count nothing is written per message (the benchmark's receiver before bench/smtp_count.c,
which takes 2.5 times as many a second): DIR/counts holds "messages N" and "connections M",
rewritten every 0.2 s and on SIGTERM, and every connection is served by one thread's select
loop that reads what has arrived, answers every complete command in one write and finds the end
of a message's data with one search (no Python work per line of the message).

While a file DIR/fail exists every RCPT TO is refused with 451 (a relay that cannot take mail
now), and a recipient whose address starts with "refuse" always is (one mailbox of a batch that
cannot take mail). STARTTLS is never offered. Serves each connection on a thread of its own;
stops on SIGTERM.
"""
import email
import email.policy
import os
import selectors
import signal
import socket
import socketserver
import sys
import threading
import time

ARGS = [a for a in sys.argv[1:] if a != "--count"]
COUNT_ONLY = "--count" in sys.argv[1:]
DIR = ARGS[0]
BIND = ARGS[1] if len(ARGS) > 1 else "127.0.0.1"
lock = threading.Lock()
messages = 0
connections = 0
open_now = 0


def write_atomic(name, text):
    tmp = os.path.join(DIR, name + ".%d.tmp" % threading.get_ident())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.rename(tmp, os.path.join(DIR, name))


def write_counts():
    with lock:
        text = "messages %d\nconnections %d\n" % (messages, connections)
    write_atomic("counts", text)


def keep_message(n, data):
    base = os.path.join(DIR, str(n))
    with open(base + ".eml", "wb") as f:
        f.write(data)
    msg = email.message_from_bytes(data, policy=email.policy.default)
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    text = head.replace("\r\n", "\n") + "\n"
    body = msg.get_body(preferencelist=("plain",))
    text += "\n" + (body.get_content() if body is not None else "")
    html = msg.get_body(preferencelist=("html",))
    if html is not None:
        with open(base + ".html", "w", encoding="utf-8") as f:
            f.write(html.get_content())
    with open(base + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.rename(base + ".tmp", base + ".txt")


class Handler(socketserver.StreamRequestHandler):
    def setup(self):
        global connections, open_now
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()
        with lock:
            connections += 1
            open_now += 1
            if not COUNT_ONLY:
                write_atomic("connections", "%d\n" % connections)
                write_atomic("open", "%d\n" % open_now)

    def finish(self):
        global open_now
        try:
            super().finish()
        finally:
            with lock:
                open_now -= 1
                if not COUNT_ONLY:
                    write_atomic("open", "%d\n" % open_now)

    def reply(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        global messages
        self.reply("220 sink ESMTP test receiver")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250-sink\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n")
                self.wfile.flush()
            elif verb == "MAIL":
                self.reply("250 OK")
            elif verb == "RCPT":
                to = line.split(":", 1)[-1].strip().lstrip("<").lower()
                if to.startswith("refuse") or os.path.exists(os.path.join(DIR, "fail")):
                    self.reply("451 4.3.0 mailbox busy, try later")
                else:
                    self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                parts = []
                while True:
                    part = self.rfile.readline()
                    if not part or part == b".\r\n":
                        break
                    if part.startswith(b".."):
                        part = part[1:]
                    parts.append(part)
                with lock:
                    messages += 1
                    n = messages
                if not COUNT_ONLY:
                    keep_message(n, b"".join(parts))
                self.reply("250 OK queued")
            elif verb == "RSET" or verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 command not implemented")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128


def refused(line):
    to = line.split(b":", 1)[-1].strip().lstrip(b"<").lower()
    return to.startswith(b"refuse") or os.path.exists(os.path.join(DIR, "fail"))


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.in_data = False


def answer(c):
    """Answers every complete command (or message) in c.buf; returns the replies and whether to
    close."""
    global messages
    out = []
    while True:
        if c.in_data:
            if c.buf.startswith(b".\r\n"):
                end, skip = 0, 3
            else:
                end = c.buf.find(b"\r\n.\r\n")
                skip = 5
                if end < 0:
                    return out, False
            del c.buf[: end + skip]
            c.in_data = False
            messages += 1
            out.append(b"250 OK queued\r\n")
            continue
        end = c.buf.find(b"\r\n")
        if end < 0:
            return out, False
        line = bytes(c.buf[:end])
        del c.buf[: end + 2]
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            out.append(b"250-sink\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n")
        elif verb == b"MAIL" or verb == b"RSET" or verb == b"NOOP":
            out.append(b"250 OK\r\n")
        elif verb == b"RCPT":
            out.append(b"451 4.3.0 mailbox busy, try later\r\n" if refused(line) else b"250 OK\r\n")
        elif verb == b"DATA":
            c.in_data = True
            out.append(b"354 end with <CRLF>.<CRLF>\r\n")
        elif verb == b"QUIT":
            out.append(b"221 bye\r\n")
            return out, True
        else:
            out.append(b"502 command not implemented\r\n")


def serve_counting(listener):
    """The --count receiver: one thread, one select loop over every connection."""
    global connections
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    next_write = 0.0
    while True:
        for key, _ in sel.select(0.2):
            if key.data is None:
                sock, _ = listener.accept()
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                connections += 1
                sel.register(sock, selectors.EVENT_READ, Conn(sock))
                sock.sendall(b"220 sink ESMTP test receiver\r\n")
                continue
            c = key.data
            try:
                got = c.sock.recv(65536)
            except OSError:
                got = b""
            close = not got
            if got:
                c.buf += got
                out, close = answer(c)
                if out:
                    try:
                        c.sock.sendall(b"".join(out))
                    except OSError:
                        close = True
            if close:
                sel.unregister(c.sock)
                c.sock.close()
        if time.monotonic() >= next_write:
            write_counts()
            next_write = time.monotonic() + 0.2


def stop(*_):
    if COUNT_ONLY:
        write_counts()
    sys.exit(0)


def main():
    signal.signal(signal.SIGTERM, stop)
    if COUNT_ONLY:
        listener = socket.socket(socket.AF_INET6 if ":" in BIND else socket.AF_INET)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((BIND, 0))
        listener.listen(128)
        port = listener.getsockname()[1]
    else:
        server = Server((BIND, 0), Handler)
        port = server.server_address[1]
    with open(os.path.join(DIR, "port.tmp"), "w") as f:
        f.write(str(port))
    os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
    if COUNT_ONLY:
        write_counts()
        serve_counting(listener)
    else:
        server.serve_forever()


if __name__ == "__main__":
    main()
