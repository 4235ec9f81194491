#!/usr/bin/env python3
"""List the TCP SYNs of a pcap file with their MSS and TOA options.

TOA ("TCP option address", Alibaba LVS / DPVS FullNAT): TCP option kind 254, length 8, then the
client's port (2 bytes) and IPv4 address (4 bytes), both in network byte order; the director adds
it to the SYN it forwards so the real server can learn the client behind the LIP.

One line per SYN (SYN set, ACK clear) to --dport:
    SYN 198.18.1.3:40001 -> 198.18.2.10:80 mss=1452 toa=198.18.0.2:41000
(`mss=none` / `toa=none` when the option is absent). Reads classic pcap (as `tcpdump -w` writes),
Ethernet or Linux cooked link types; no third-party modules.

Usage: pcap-toa.py FILE.pcap [--dport 80]
       pcap-toa.py --self-test      (decodes a built-in capture; the FullNAT lab runs it first)
"""

import argparse
import ipaddress
import struct
import sys

TOA_KIND = 254
TOA_LEN = 8
LINKTYPE_ETHERNET = 1
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276


def records(data):
    """Yield (linktype, frame bytes) of a classic pcap file."""
    if len(data) < 24:
        raise ValueError("not a pcap file: %d bytes" % len(data))
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError("not a classic pcap file (magic %s; pcapng is not supported)" % magic.hex())
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8 : off + 12])[0]
        frame = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        yield linktype, frame


def ipv4_payload(linktype, frame):
    """The IPv4 packet inside a frame, or None."""
    if linktype == LINKTYPE_ETHERNET:
        off = 12
        ethertype = struct.unpack("!H", frame[off : off + 2])[0] if len(frame) >= 14 else 0
        while ethertype in (0x8100, 0x88A8) and len(frame) >= off + 6:  # VLAN tags
            off += 4
            ethertype = struct.unpack("!H", frame[off : off + 2])[0]
        off += 2
    elif linktype == LINKTYPE_LINUX_SLL:
        off = 16
        ethertype = struct.unpack("!H", frame[14:16])[0] if len(frame) >= 16 else 0
    elif linktype == LINKTYPE_LINUX_SLL2:
        off = 20
        ethertype = struct.unpack("!H", frame[0:2])[0] if len(frame) >= 20 else 0
    else:
        return None
    if ethertype != 0x0800:
        return None
    return frame[off:]


def tcp_options(opts):
    """Yield (kind, value bytes) of a TCP options field; stops at a malformed option."""
    i = 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            return
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts):
            return
        length = opts[i + 1]
        if length < 2 or i + length > len(opts):
            return
        yield kind, opts[i + 2 : i + length]
        i += length


def syns(data, dport):
    """Yield dicts for the TCP SYNs (ACK clear) to dport in a pcap file's bytes."""
    for linktype, frame in records(data):
        ip = ipv4_payload(linktype, frame)
        if ip is None or len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 0x0F) * 4
        tcp = ip[ihl:]
        if len(tcp) < 20:
            continue
        sport, dp = struct.unpack("!HH", tcp[0:4])
        flags = tcp[13]
        if dp != dport or not flags & 0x02 or flags & 0x10:
            continue
        doff = (tcp[12] >> 4) * 4
        mss = toa = None
        for kind, value in tcp_options(tcp[20:doff]):
            if kind == 2 and len(value) == 2:
                mss = struct.unpack("!H", value)[0]
            elif kind == TOA_KIND and len(value) == TOA_LEN - 2:
                port = struct.unpack("!H", value[0:2])[0]
                toa = "%s:%d" % (ipaddress.IPv4Address(value[2:6]), port)
        yield {
            "src": "%s:%d" % (ipaddress.IPv4Address(ip[12:16]), sport),
            "dst": "%s:%d" % (ipaddress.IPv4Address(ip[16:20]), dp),
            "mss": mss,
            "toa": toa,
        }


def self_test():
    """Decode a hand-built pcap: a SYN with MSS 1452 and TOA 198.18.0.2:41000, a SYN without
    options, a SYN-ACK (skipped) and a truncated option list (no crash). Returns 0 on success."""

    def frame(flags, opts):
        opts += b"\x00" * (-len(opts) % 4)
        tcp = struct.pack("!HHIIBBHHH", 40001, 80, 1, 0, (5 + len(opts) // 4) << 4, flags, 65535, 0, 0) + opts
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, bytes([198, 18, 1, 3]), bytes([198, 18, 2, 10]))
        eth = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00"
        pkt = eth + ip + tcp
        return struct.pack("<IIII", 0, 0, len(pkt), len(pkt)) + pkt

    toa = bytes([TOA_KIND, TOA_LEN]) + struct.pack("!H", 41000) + bytes([198, 18, 0, 2])
    mss = b"\x02\x04" + struct.pack("!H", 1452)
    data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET)
    data += frame(0x02, mss + b"\x01\x01" + toa)
    data += frame(0x02, b"")
    data += frame(0x12, mss + toa)
    data += frame(0x02, mss + b"\xfe\x08\x00")
    got = list(syns(data, 80))
    want = [
        {"src": "198.18.1.3:40001", "dst": "198.18.2.10:80", "mss": 1452, "toa": "198.18.0.2:41000"},
        {"src": "198.18.1.3:40001", "dst": "198.18.2.10:80", "mss": None, "toa": None},
        {"src": "198.18.1.3:40001", "dst": "198.18.2.10:80", "mss": 1452, "toa": None},
    ]
    if got != want:
        print("pcap-toa self-test FAILED:\n got  %s\n want %s" % (got, want), file=sys.stderr)
        return 1
    print("pcap-toa self-test ok")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pcap", nargs="?")
    ap.add_argument("--dport", type=int, default=80)
    ap.add_argument("--self-test", action="store_true", help="decode a built-in pcap and exit")
    a = ap.parse_args()
    if a.self_test:
        sys.exit(self_test())
    if not a.pcap:
        ap.error("a pcap file is required")
    with open(a.pcap, "rb") as f:
        data = f.read()
    try:
        for s in syns(data, a.dport):
            print(
                "SYN %s -> %s mss=%s toa=%s"
                % (s["src"], s["dst"], s["mss"] if s["mss"] is not None else "none", s["toa"] or "none")
            )
    except ValueError as e:
        print("pcap-toa: %s: %s" % (a.pcap, e), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
