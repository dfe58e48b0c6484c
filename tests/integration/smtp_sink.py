#!/usr/bin/env python3
"""smtp_sink.py: a small SMTP receiver for the integration tests (python3 standard library only).

    smtp_sink.py DIR [BIND_ADDRESS]

Listens on a free port of BIND_ADDRESS (default 127.0.0.1) and writes the port to DIR/port once
it listens. Each message received is written to DIR/<n>.eml as sent (dot-unstuffed) and, decoded
(the header block as sent, then the text/plain part), to DIR/<n>.txt, and its text/html part, if
any, decoded to DIR/<n>.html; DIR/<n>.txt appears only once complete (after DIR/<n>.html).
While a file DIR/fail exists every RCPT TO is refused with 451 (a relay that cannot take mail
now). STARTTLS is never offered. Stops on SIGTERM.
"""
import email
import email.policy
import os
import signal
import socketserver
import sys

DIR = sys.argv[1]
BIND = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
count = 0


class Handler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        global count
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
                if os.path.exists(os.path.join(DIR, "fail")):
                    self.reply("451 4.3.0 mailbox busy, try later")
                else:
                    self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                data = b""
                while True:
                    part = self.rfile.readline()
                    if not part or part == b".\r\n":
                        break
                    if part.startswith(b".."):
                        part = part[1:]
                    data += part
                count += 1
                base = os.path.join(DIR, str(count))
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


def main():
    server = Server((BIND, 0), Handler)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    with open(os.path.join(DIR, "port.tmp"), "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
    server.serve_forever()


if __name__ == "__main__":
    main()
