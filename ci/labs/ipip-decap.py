#!/usr/bin/env python3
"""IPIP decapsulation (RFC 2003) in user space, for kernels without the `ipip` module.

Run inside a real server's namespace. The kernel hands every IPv4 packet with protocol 4 whose
outer destination is one of this host's addresses (the RIP) to a raw IPPROTO_IPIP socket, after
its own checks (destination is local, fragments reassembled, input netfilter). This helper strips
the outer header and writes the inner packet into a TUN device, where the kernel receives it as
if it had arrived on that interface: the inner destination is the VIP (held on lo), so TCP
answers it, from the VIP, straight to the client along the normal routes.

The raw socket also stands in for the missing protocol handler: a packet taken by a raw socket is
not answered with ICMP "protocol unreachable" (ip_local_deliver_finish), so no firewall rule is
needed to keep the RS quiet.

The TUN interface needs rp_filter=0 (the inner source, the client, is routed via eth0, not tun0).

Usage: ipip-decap.py --tun tun0      counters on stderr at SIGTERM
"""

import argparse
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tunlib  # noqa: E402

IPPROTO_IPIP = 4


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tun", default="tun0")
    a = ap.parse_args()

    tun = tunlib.open_tun(a.tun)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_IPIP)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    counts = {"decapsulated": 0, "malformed": 0}

    def report():
        print(
            "ipip-decap: %d packets decapsulated into %s, %d malformed dropped"
            % (counts["decapsulated"], a.tun, counts["malformed"]),
            file=sys.stderr,
            flush=True,
        )

    tunlib.exit_on_signals(report)
    print("ipip-decap: reading IPIP on a raw socket, writing inner packets to %s" % a.tun, file=sys.stderr, flush=True)
    while True:
        pkt = raw.recv(65535)
        # A raw IPv4 socket receives the whole datagram, outer IPv4 header first.
        if len(pkt) < 20 or pkt[0] >> 4 != 4:
            counts["malformed"] += 1
            continue
        ihl = (pkt[0] & 0x0F) * 4
        inner = pkt[ihl:]
        if ihl < 20 or len(inner) < 20 or inner[0] >> 4 != 4:
            counts["malformed"] += 1
            continue
        os.write(tun, inner)
        counts["decapsulated"] += 1


if __name__ == "__main__":
    main()
