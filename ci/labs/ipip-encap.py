#!/usr/bin/env python3
"""A user-space TUN-method director (IPIP, RFC 2003) for kernels without the `ipip` module.

The namespace routes the VIP into a TUN device; this helper reads each packet from it, picks a
real server per flow, round robin on the flow's first packet (flow = protocol, source address and
port, destination address and port of the inner packet), and sends the packet unchanged inside an
outer IPv4 header (protocol 4) to that real server's RIP through a raw IPPROTO_IPIP socket: the
kernel builds the outer header (source = the address routing picks, the DIP) and routes it.

The TUN labs use it to validate the topology and the real servers' decapsulation without rvsd
(the lab's pre-check from the router, and DIRECTOR=kernel).

Usage: ipip-encap.py --tun tun0 --rs RIP [--rs RIP...]     counters on stderr at SIGTERM
"""

import argparse
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tunlib  # noqa: E402

IPPROTO_IPIP = 4
MAX_FLOWS = 1 << 16  # bounded memory: forget every flow when the table is full


def flow_key(pkt):
    """(proto, src, dst, sport, dport) of an IPv4 packet; ports 0 when not TCP/UDP."""
    ihl = (pkt[0] & 0x0F) * 4
    proto = pkt[9]
    ports = pkt[ihl : ihl + 4] if proto in (6, 17) else b""
    return (proto, pkt[12:16], pkt[16:20], ports)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tun", default="tun0")
    ap.add_argument("--rs", action="append", required=True, help="real server address (repeat)")
    a = ap.parse_args()

    tun = tunlib.open_tun(a.tun)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_IPIP)
    flows = {}
    sent = {rs: 0 for rs in a.rs}
    counts = {"flows": 0, "malformed": 0}
    cursor = 0

    def report():
        per_rs = ", ".join("%s %d" % (rs, n) for rs, n in sent.items())
        print(
            "ipip-encap: %d flows; packets encapsulated per real server: %s; %d malformed dropped"
            % (counts["flows"], per_rs, counts["malformed"]),
            file=sys.stderr,
            flush=True,
        )

    tunlib.exit_on_signals(report)
    print("ipip-encap: %s -> IPIP to %s, rr per flow" % (a.tun, " ".join(a.rs)), file=sys.stderr, flush=True)
    while True:
        pkt = os.read(tun, 65535)
        if len(pkt) < 20 or pkt[0] >> 4 != 4:
            counts["malformed"] += 1
            continue
        key = flow_key(pkt)
        rs = flows.get(key)
        if rs is None:
            if len(flows) >= MAX_FLOWS:
                flows.clear()
            rs = a.rs[cursor % len(a.rs)]
            cursor += 1
            flows[key] = rs
            counts["flows"] += 1
        raw.sendto(pkt, (rs, 0))
        sent[rs] += 1


if __name__ == "__main__":
    main()
