#!/usr/bin/env python3
"""The SYN proxy lab's traffic: a bounded flood of spoofed SYNs, and a long-lived client.

flood: --count SYNs to --dst:--port, each from a random address of --spoof (a 198.18.0.0/15
       prefix, e.g. 198.19.0.0/16) and a random port, at most --rate per second and within
       --deadline seconds, through a raw socket (IP_HDRINCL; the kernel fills the IPv4
       checksum, length and id). Prints "flood: sent N SYNs in T s".
held:  an HTTP/1.1 keep-alive connection to --dst:--port: one GET, then wait (at most
       --deadline seconds) until the file --go exists, then a second GET on the same
       connection. Prints "held: BODY1 BODY2"; exit status 0 when both answers are 200.

Usage: synflood.py flood --dst 198.18.0.100 [--port 80] --spoof 198.19.0.0/16
                         [--count 20000] [--rate 5000] [--deadline 30]
       synflood.py held --dst 198.18.0.100 [--port 80] --go FILE [--deadline 60]
"""

import argparse
import ipaddress
import os
import random
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src, dst, sport, dport, seq):
    # TCP: 20 bytes + MSS option (RFC 793, RFC 6691).
    opts = struct.pack("!BBH", 2, 4, 1460)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, (6 << 4), 0x02, 64240, 0, 0) + opts
    pseudo = struct.pack("!4s4sBBH", src.packed, dst.packed, 0, 6, len(tcp))
    c = checksum(pseudo + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, src.packed, dst.packed)
    return ip + tcp


def flood(a):
    net = ipaddress.ip_network(a.spoof)
    if not net.subnet_of(ipaddress.ip_network("198.18.0.0/15")):
        sys.exit("--spoof must be inside 198.18.0.0/15")
    dst = ipaddress.ip_address(a.dst)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    rng = random.Random(1)
    start = time.monotonic()
    sent = 0
    span = net.num_addresses - 2
    while sent < a.count and time.monotonic() - start < a.deadline:
        src = net.network_address + 1 + rng.randrange(span)
        pkt = syn(src, dst, rng.randrange(1024, 65536), a.port, rng.getrandbits(32))
        try:
            s.sendto(pkt, (a.dst, 0))
            sent += 1
        except OSError:
            time.sleep(0.001)
        # Pace in steps of 100 so the rate bound holds without a sleep per packet.
        if sent % 100 == 0:
            ahead = sent / a.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    print("flood: sent %d SYNs in %.1f s" % (sent, time.monotonic() - start))


def get(sock, f, host):
    sock.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())
    status = f.readline()
    length = 0
    while True:
        line = f.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    body = f.read(length).decode(errors="replace").strip()
    if b" 200 " not in status:
        raise RuntimeError("status line %r" % status)
    return body


def held(a):
    sock = socket.create_connection((a.dst, a.port), timeout=10)
    f = sock.makefile("rb")
    first = get(sock, f, a.dst)
    print("held: first answer %s, waiting for %s" % (first, a.go), flush=True)
    deadline = time.monotonic() + a.deadline
    while not os.path.exists(a.go):
        if time.monotonic() > deadline:
            sys.exit("held: %s did not appear within %d s" % (a.go, a.deadline))
        time.sleep(0.1)
    second = get(sock, f, a.dst)
    print("held: %s %s" % (first, second))
    sock.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["flood", "held"])
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--spoof", default="198.19.0.0/16")
    p.add_argument("--count", type=int, default=20000)
    p.add_argument("--rate", type=float, default=5000)
    p.add_argument("--deadline", type=float, default=30)
    p.add_argument("--go")
    a = p.parse_args()
    if a.mode == "flood":
        flood(a)
    else:
        if not a.go:
            sys.exit("held needs --go FILE")
        held(a)


if __name__ == "__main__":
    main()
