#!/usr/bin/env python3
"""https_sink.py: a small HTTPS webhook receiver for the integration tests (python3 standard
library only).

    https_sink.py DIR CERT KEY

Listens on a free loopback port with the certificate CERT (PEM, with its key KEY) and writes the
port to DIR/hport once it listens. Each POST is answered 204 and written to DIR/hook-<n>.txt
(n from 1): its request line, its headers, an empty line and its body; the file appears only
once complete. Stops on SIGTERM.
"""
import http.server
import os
import signal
import ssl
import sys

DIR, CERT, KEY = sys.argv[1:4]
count = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        count += 1
        tmp = os.path.join(DIR, "hook-%d.tmp" % count)
        with open(tmp, "wb") as f:
            f.write(("%s %s\n" % (self.command, self.path)).encode())
            for k, v in self.headers.items():
                f.write(("%s: %s\n" % (k, v)).encode())
            f.write(b"\n" + body)
        os.rename(tmp, os.path.join(DIR, "hook-%d.txt" % count))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
with open(os.path.join(DIR, "hport.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(DIR, "hport.tmp"), os.path.join(DIR, "hport"))
server.serve_forever()
