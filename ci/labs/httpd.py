#!/usr/bin/env python3
"""A real server for the labs: answers every GET with a fixed body (the server's name).

It is python's http.server underneath (ThreadingHTTPServer + BaseHTTPRequestHandler), so the
access log on stderr has http.server's format, `CLIENT - - [date] "GET / HTTP/1.1" 200 -`,
which the labs grep for the peer address. Compared with `python3 -m http.server` it adds:
- a listen backlog of 512 (socketserver's default of 5 drops SYNs under a few hundred
  concurrent connections, and the client then waits a full SYN retransmission second);
- TLS with --cert/--key (the firewall-mark lab's HTTPS real server);
- IPv6 with --bind :: (dual stack off, so the log shows plain IPv6 peers).

Usage: httpd.py --name RS1 [--bind 0.0.0.0] [--port 80] [--cert C --key K]
"""

import argparse
import http.server
import socket
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    body = b""
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s - - [%s] %s\n" % (self.address_string(), self.log_date_time_string(), fmt % args))
        sys.stderr.flush()


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 512
    daemon_threads = True
    allow_reuse_address = True


class Server6(Server):
    address_family = socket.AF_INET6

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True, help="body of every answer")
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--cert", help="PEM certificate: serve HTTPS")
    ap.add_argument("--key", help="PEM private key for --cert")
    a = ap.parse_args()

    Handler.body = (a.name + "\n").encode()
    cls = Server6 if ":" in a.bind else Server
    srv = cls((a.bind, a.port), Handler)
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        # Handshake in the per-connection thread, not in accept(): one slow client must not
        # stall the others.
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    print("listening on %s port %d%s" % (a.bind, a.port, " (tls)" if a.cert else ""), file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
