#!/usr/bin/env python3
"""Generate the hostile-frame corpus: hostile.pcap and MANIFEST.tsv, next to this script.

Every frame is built here from the RFC layouts with struct (no scapy), so the corpus does not
depend on the code it tests. The director they meet is hostile.toml: one port "lan" (MAC
02:70:63:61:70:00, as net_pcap gives it), DIP 198.18.1.2 and 2001:db8:0:1::2, a DR VIP
198.18.1.200:80 (RS1 198.18.1.10), a NAT VIP 198.18.1.201 tcp/80 and udp/53 (RS2 198.18.1.20),
an IPv6 NAT VIP [2001:db8:0:1::200]:80; clients behind the router 198.18.1.254.

MANIFEST.tsv has one row per frame, in pcap order: index, name, outcome, note. The outcome is
what the engine does with the frame on its own (frames do not depend on each other except
where a note says so):
  - a DropReason name (rvs_engine::DropReason::name()),
  - forwarded  (sent on as part of a connection),
  - answered   (ARP reply, neighbor advertisement or echo reply sent back),
  - consumed   (an ARP reply or neighbor advertisement addressed to the director).
A note starting with "DEVIATION:" marks a frame the kernel's IPVS director would treat
differently; the outcome column says what rvs does today (reported, see the note).

Run: python3 ci/corpus/gen.py   (rewrites both files; commit them)
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

PORT_MAC = bytes([0x02, 0x70, 0x63, 0x61, 0x70, 0x00])
ROUTER_MAC = bytes([0x02, 0xEE, 0, 0, 0, 0xFE])
RS1_MAC = bytes([0x02, 0x51, 0, 0, 0, 0x10])
ATTACKER_MAC = bytes([0x02, 0xBA, 0xD0, 0, 0, 0x01])
BCAST = b"\xff" * 6

DIP = "198.18.1.2"
VIP_DR = "198.18.1.200"
VIP_NAT = "198.18.1.201"
RS1 = "198.18.1.10"
RS2 = "198.18.1.20"
ROUTER = "198.18.1.254"
CLIENT = "203.0.113.7"
DIP6 = "2001:db8:0:1::2"
VIP6 = "2001:db8:0:1::200"
CLIENT6 = "2001:db8:ffff::7"
ROUTER6 = "2001:db8:0:1::fe"


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def ip6(s):
    head, _, tail = s.partition("::")
    h = [int(x, 16) for x in head.split(":") if x]
    t = [int(x, 16) for x in tail.split(":") if x]
    words = h + [0] * (8 - len(h) - len(t)) + t
    return struct.pack("!8H", *words)


def csum(data, initial=0):
    """RFC 1071: one's complement of the one's complement sum."""
    if len(data) % 2:
        data += b"\0"
    s = initial + sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(dst, src, ethertype, payload, pad=True):
    f = dst + src + struct.pack("!H", ethertype) + payload
    if pad and len(f) < 60:
        f += b"\0" * (60 - len(f))
    return f


def ipv4(src, dst, proto, payload, ttl=64, ihl=5, options=b"", total=None, flags=0,
         frag=0, version=4, ident=0x4242, fix=True):
    hl = ihl * 4
    if total is None:
        total = 20 + len(options) + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, total & 0xFFFF, ident,
                    (flags << 13) | frag, ttl, proto, 0, ip4(src), ip4(dst)) + options
    if fix:
        c = csum(h[: max(hl, 20)] if hl <= len(h) else h)
        h = h[:10] + struct.pack("!H", c) + h[12:]
    return h + payload


def pseudo4(src, dst, proto, length):
    return sum(struct.unpack("!4H", ip4(src) + ip4(dst))) + proto + length


def tcp(src, dst, sport, dport, flags, payload=b"", seq=1000, ack=0, doff=None,
        options=b"", fix=True):
    if doff is None:
        doff = 5 + len(options) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, 64240, 0, 0) + options
    seg = h + payload
    if fix:
        c = csum(seg, pseudo4(src, dst, 6, len(seg)))
        seg = seg[:16] + struct.pack("!H", c) + seg[18:]
    return seg


def udp(src, dst, sport, dport, payload=b"", length=None):
    if length is None:
        length = 8 + len(payload)
    seg = struct.pack("!HHHH", sport, dport, length, 0) + payload
    c = csum(seg, pseudo4(src, dst, 17, len(seg))) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def icmp(msg_type, code, rest, payload=b"", fix=True):
    m = struct.pack("!BBH", msg_type, code, 0) + rest + payload
    if fix:
        m = m[:2] + struct.pack("!H", csum(m)) + m[4:]
    return m


SYN, ACK, RST, FIN = 0x02, 0x10, 0x04, 0x01
MSS = b"\x02\x04\x05\xb4"


def tcp_frame(src, dst, sport, dport, flags=SYN, ttl=64, src_mac=ROUTER_MAC, dst_mac=PORT_MAC,
              **kw):
    seg = tcp(src, dst, sport, dport, flags, options=MSS if flags & SYN else b"")
    return eth(dst_mac, src_mac, 0x0800, ipv4(src, dst, 6, seg, ttl=ttl, **kw))


def arp(op, sender_mac, sender_ip, target_mac, target_ip, dst=BCAST, eth_src=None, htype=1,
        ptype=0x0800, hlen=6, plen=4):
    a = struct.pack("!HHBBH", htype, ptype, hlen, plen, op) + sender_mac + ip4(sender_ip) \
        + target_mac + ip4(target_ip)
    return eth(dst, eth_src or sender_mac, 0x0806, a)


def ipv6(src, dst, next_header, payload, hop=64, plen=None, version=6):
    if plen is None:
        plen = len(payload)
    return struct.pack("!IHBB", version << 28, plen, next_header, hop) + ip6(src) + ip6(dst) + payload


def pseudo6(src, dst, proto, length):
    return sum(struct.unpack("!16H", ip6(src) + ip6(dst))) + length + proto


def icmp6(src, dst, msg_type, code, body):
    m = struct.pack("!BBH", msg_type, code, 0) + body
    return m[:2] + struct.pack("!H", csum(m, pseudo6(src, dst, 58, len(m)))) + m[4:]


def tcp6(src, dst, sport, dport, flags):
    seg = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 6 << 4, flags, 64240, 0, 0) + MSS
    c = csum(seg, pseudo6(src, dst, 6, len(seg)))
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def solicited(addr):
    a = ip6(addr)
    return "ff02::1:ff%02x:%02x%02x" % (a[13], a[14], a[15])


def mcast_mac(group):
    g = ip6(group)
    return b"\x33\x33" + g[12:16]


def ns(src, target, src_mac, hop=255, dst=None):
    dst = dst or solicited(target)
    body = b"\0\0\0\0" + ip6(target) + b"\x01\x01" + src_mac
    return eth(mcast_mac(dst), src_mac, 0x86DD, ipv6(src, dst, 58, icmp6(src, dst, 135, 0, body), hop))


def na(src, dst, target, src_mac, dst_mac=PORT_MAC):
    body = struct.pack("!I", 0x60000000) + ip6(target) + b"\x02\x01" + src_mac
    return eth(dst_mac, src_mac, 0x86DD, ipv6(src, dst, 58, icmp6(src, dst, 136, 0, body), 255))


frames = []  # (name, frame, outcome, note)


def add(name, frame, outcome, note=""):
    frames.append((name, frame, outcome, note))


# ---- baseline: the setup works ---------------------------------------------------------------
add("ok_syn_dr", tcp_frame(CLIENT, VIP_DR, 40000, 80), "forwarded", "a SYN to the DR VIP goes to RS1")
add("ok_syn_nat", tcp_frame(CLIENT, VIP_NAT, 40001, 80), "forwarded", "a SYN to the NAT VIP goes to RS2")
add("ok_arp_request_vip", arp(1, ROUTER_MAC, ROUTER, b"\0" * 6, VIP_DR), "answered")
add("ok_echo_dip", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                       ipv4(CLIENT, DIP, 1, icmp(8, 0, b"\x12\x34\x00\x01", b"abcdefgh"))),
    "answered")

# ---- Ethernet ----------------------------------------------------------------------------------
syn = tcp_frame(CLIENT, VIP_NAT, 40002, 80)  # 14 + 20 + 24 = 58 bytes, padded to 60
add("eth_1_byte", syn[:1], "eth_truncated")
add("eth_cut_in_source_mac", syn[:9], "eth_truncated")
add("eth_cut_in_ethertype", syn[:13], "eth_truncated")
add("eth_other_unicast_mac", tcp_frame(CLIENT, VIP_NAT, 40003, 80, dst_mac=RS1_MAC), "not_our_mac")
add("eth_lldp", eth(b"\x01\x80\xc2\x00\x00\x0e", ROUTER_MAC, 0x88CC, b"\x02\x07\x04" + ROUTER_MAC),
    "unknown_ethertype")
add("eth_8023_llc_length", eth(PORT_MAC, ROUTER_MAC, 0x0026, b"\x42\x42\x03" + b"\0" * 35),
    "unknown_ethertype", "an IEEE 802.3 length field, not an EtherType")
tagged = syn[:12] + b"\x81\x00\x00\x0a" + syn[12:]
add("vlan_tagged_on_untagged_port", tagged, "vlan_tagged")
add("qinq_tagged_on_untagged_port", syn[:12] + b"\x88\xa8\x00\x64\x81\x00\x00\x0a" + syn[12:],
    "vlan_tagged")

# ---- IPv4 header -------------------------------------------------------------------------------
add("ip_no_header", syn[:14], "ipv4_truncated", "EtherType IPv4 and nothing after it")
add("ip_cut_at_6", syn[:20], "ipv4_truncated")
add("ip_cut_at_19", syn[:33], "ipv4_truncated")
add("ip_header_only", syn[:34], "ipv4_bad_total_len", "the total length claims the TCP header too")
add("ip_cut_in_tcp_header", syn[:48], "ipv4_bad_total_len")
add("ip_cut_in_tcp_options", syn[:56], "ipv4_bad_total_len")
add("ip_version_6_in_ipv4", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                                ipv4(CLIENT, VIP_NAT, 6, tcp(CLIENT, VIP_NAT, 40004, 80, SYN), version=6)),
    "ipv4_bad_version")
add("ip_ihl_4", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                    ipv4(CLIENT, VIP_NAT, 6, tcp(CLIENT, VIP_NAT, 40005, 80, SYN), ihl=4)),
    "ipv4_bad_header_len")
add("ip_ihl_0", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                    ipv4(CLIENT, VIP_NAT, 6, tcp(CLIENT, VIP_NAT, 40006, 80, SYN), ihl=0)),
    "ipv4_bad_header_len")
add("ip_ihl_15_beyond_frame", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                                  ipv4(CLIENT, VIP_NAT, 6, b"", ihl=15, total=60), pad=False),
    "ipv4_bad_header_len", "60-byte header announced, 20 bytes present")
add("ip_total_len_below_header", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                                     ipv4(CLIENT, VIP_NAT, 6, tcp(CLIENT, VIP_NAT, 40007, 80, SYN), total=12)),
    "ipv4_bad_total_len")
add("ip_total_len_jumbo_claim", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                                    ipv4(CLIENT, VIP_NAT, 6, tcp(CLIENT, VIP_NAT, 40008, 80, SYN), total=9000)),
    "ipv4_bad_total_len", "a 9000-byte packet claimed in a 60-byte frame")
add("ip_total_len_65535", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                              ipv4(CLIENT, VIP_NAT, 6, tcp(CLIENT, VIP_NAT, 40009, 80, SYN), total=65535)),
    "ipv4_bad_total_len")
bad = bytearray(tcp_frame(CLIENT, VIP_NAT, 40010, 80))
bad[24] ^= 0xFF
add("ip_bad_header_checksum", bytes(bad), "ipv4_bad_checksum")
add("ip_options_nop", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                          ipv4(CLIENT, VIP_NAT, 6, tcp(CLIENT, VIP_NAT, 40011, 80, SYN, options=MSS),
                               ihl=6, options=b"\x01\x01\x01\x00")),
    "forwarded", "IP options are kept and forwarded, as the kernel does")
lsrr = b"\x83\x07\x04" + ip4("198.18.1.99") + b"\x00"
add("ip_option_loose_source_route", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                                        ipv4(CLIENT, VIP_NAT, 6, tcp(CLIENT, VIP_NAT, 40012, 80, SYN, options=MSS),
                                             ihl=7, options=lsrr)),
    "forwarded", "DEVIATION: Linux drops source-routed packets (accept_source_route=0, ip_rcv_options); rvs ignores the option and forwards")

# ---- fragments ---------------------------------------------------------------------------------
seg = tcp(CLIENT, VIP_NAT, 40013, 80, SYN, payload=b"A" * 32)
add("frag_first", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                      ipv4(CLIENT, VIP_NAT, 6, seg[:24], flags=1, total=44, ident=7)), "ipv4_fragment")
add("frag_second_overlapping", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                                   ipv4(CLIENT, VIP_NAT, 6, seg[16:], frag=2, ident=7)),
    "ipv4_fragment", "offset 16 overlaps the 24 bytes of frag_first")
add("frag_tiny_offset_1", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                              ipv4(CLIENT, VIP_NAT, 6, seg[8:], frag=1, ident=8)),
    "ipv4_fragment", "RFC 1858: offset 1 rewrites the TCP flags of the first fragment")
add("frag_last_df_and_mf", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                               ipv4(CLIENT, VIP_NAT, 6, seg, flags=3, ident=9)), "ipv4_fragment")

# ---- TTL ---------------------------------------------------------------------------------------
add("ttl_0_to_nat", tcp_frame(CLIENT, VIP_NAT, 40014, 80, ttl=0), "ttl_exceeded")
add("ttl_1_to_nat", tcp_frame(CLIENT, VIP_NAT, 40015, 80, ttl=1), "ttl_exceeded")
add("ttl_1_to_dr", tcp_frame(CLIENT, VIP_DR, 40016, 80, ttl=1), "forwarded",
    "DEVIATION: kernel IPVS decrements the TTL for every method and drops TTL <= 1 (ip_vs_xmit.c __ip_vs_get_out_rt -> decrement_ttl); rvs's DR path leaves the TTL alone")

# ---- sources -----------------------------------------------------------------------------------
for name, src in [("src_limited_broadcast", "255.255.255.255"), ("src_multicast", "224.0.0.1"),
                  ("src_zero", "0.0.0.0"), ("src_loopback", "127.0.0.1")]:
    add(name, tcp_frame(src, VIP_NAT, 40017, 80), "ipv4_bad_source")
add("src_subnet_broadcast", tcp_frame("198.18.1.255", VIP_NAT, 40018, 80), "forwarded",
    "DEVIATION: Linux drops a source that is the directed broadcast of a local subnet as martian (fib_validate_source); rvs forwards")
add("land_vip_to_itself", tcp_frame(VIP_NAT, VIP_NAT, 80, 80), "forwarded",
    "DEVIATION: a land packet (source = destination = the VIP); Linux drops a local address as source as martian before IPVS sees it; rvs schedules it")
add("spoofed_dip_source", tcp_frame(DIP, VIP_NAT, 40019, 80), "forwarded",
    "DEVIATION: the director's own DIP as source; Linux drops it as martian; rvs schedules it")
add("bcast_mac_syn_to_vip", tcp_frame(CLIENT, VIP_NAT, 40020, 80, dst_mac=BCAST), "forwarded",
    "DEVIATION: an IP packet to the VIP in a broadcast Ethernet frame; IPVS ignores packets that are not PACKET_HOST (ip_vs_in_hook); rvs forwards")

# ---- TCP / UDP ---------------------------------------------------------------------------------
def raw_tcp_frame(seg, dst=VIP_NAT):
    return eth(PORT_MAC, ROUTER_MAC, 0x0800, ipv4(CLIENT, dst, 6, seg))


add("tcp_doff_4", raw_tcp_frame(tcp(CLIENT, VIP_NAT, 40021, 80, SYN, doff=4)), "tcp_malformed")
add("tcp_doff_0", raw_tcp_frame(tcp(CLIENT, VIP_NAT, 40022, 80, SYN, doff=0)), "tcp_malformed")
add("tcp_doff_15_beyond_segment", raw_tcp_frame(tcp(CLIENT, VIP_NAT, 40023, 80, SYN, doff=15)),
    "tcp_malformed")
add("tcp_10_bytes", raw_tcp_frame(tcp(CLIENT, VIP_NAT, 40024, 80, SYN)[:10]), "tcp_malformed",
    "IP length consistent, TCP header cut at 10 bytes")
add("tcp_ack_without_connection", tcp_frame(CLIENT, VIP_NAT, 40025, 80, flags=ACK), "no_connection")
add("tcp_syn_rst", tcp_frame(CLIENT, VIP_NAT, 40026, 80, flags=SYN | RST), "no_connection")
add("tcp_null_scan", tcp_frame(CLIENT, VIP_NAT, 40027, 80, flags=0), "no_connection")
add("tcp_xmas_scan", tcp_frame(CLIENT, VIP_NAT, 40028, 80, flags=FIN | 0x08 | 0x20), "no_connection")
add("tcp_vip_other_port", tcp_frame(CLIENT, VIP_NAT, 40029, 22), "local_unhandled",
    "no service on port 22: for the kernel through the exception path when there is one")
add("tcp_to_unknown_address", tcp_frame(CLIENT, "198.18.1.77", 40030, 80), "no_service")
add("udp_4_bytes", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                       ipv4(CLIENT, VIP_NAT, 17, udp(CLIENT, VIP_NAT, 5353, 53, b"q")[:4])),
    "udp_malformed")
add("udp_length_below_8", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                              ipv4(CLIENT, VIP_NAT, 17, udp(CLIENT, VIP_NAT, 5354, 53, b"query", length=4))),
    "udp_malformed")
add("udp_length_beyond_packet", eth(PORT_MAC, ROUTER_MAC, 0x0800,
                                    ipv4(CLIENT, VIP_NAT, 17, udp(CLIENT, VIP_NAT, 5355, 53, b"query", length=400))),
    "udp_malformed")
add("gre_to_vip", eth(PORT_MAC, ROUTER_MAC, 0x0800, ipv4(CLIENT, VIP_NAT, 47, b"\0\0\x08\x00")),
    "local_unhandled")
add("gre_to_unknown", eth(PORT_MAC, ROUTER_MAC, 0x0800, ipv4(CLIENT, "198.18.1.77", 47, b"\0\0\x08\x00")),
    "no_service")

# ---- ICMP --------------------------------------------------------------------------------------
def icmp_frame(dst, msg, src=CLIENT):
    return eth(PORT_MAC, ROUTER_MAC, 0x0800, ipv4(src, dst, 1, msg))


quoted_udp = ipv4(VIP_NAT, CLIENT, 17, udp(VIP_NAT, CLIENT, 53, 5999, b"")[:8])
add("icmp_error_no_quote", icmp_frame(VIP_NAT, icmp(3, 3, b"\0\0\0\0")), "icmp_malformed")
add("icmp_error_quote_garbage", icmp_frame(VIP_NAT, icmp(3, 3, b"\0\0\0\0", b"\xde\xad\xbe\xef" * 7)),
    "icmp_malformed")
add("icmp_error_quote_ihl_3", icmp_frame(VIP_NAT, icmp(3, 3, b"\0\0\0\0", b"\x43" + quoted_udp[1:])),
    "icmp_malformed")
add("icmp_error_quote_icmp", icmp_frame(VIP_NAT, icmp(11, 0, b"\0\0\0\0",
                                                      ipv4(VIP_NAT, CLIENT, 1, icmp(0, 0, b"\0\0\0\0")))),
    "icmp_malformed", "an error about an ICMP message: no ports to find a connection by")
add("icmp_error_quote_2_bytes_of_ports", icmp_frame(VIP_NAT, icmp(3, 3, b"\0\0\0\0", quoted_udp[:22])),
    "icmp_malformed")
add("icmp_error_bad_checksum", icmp_frame(VIP_NAT, icmp(3, 3, b"\0\0\0\0", quoted_udp, fix=False)),
    "icmp_malformed")
add("icmp_error_untracked_flow", icmp_frame(VIP_NAT, icmp(3, 3, b"\0\0\0\0", quoted_udp)),
    "icmp_no_connection")
add("icmp_echo_bad_checksum", icmp_frame(DIP, icmp(8, 0, b"\x12\x34\x00\x02", b"x", fix=False)),
    "local_unhandled", "not answered: for the kernel through the exception path when there is one")
add("icmp_echo_to_unknown", icmp_frame("198.18.1.77", icmp(8, 0, b"\x12\x34\x00\x03")), "no_service")
add("icmp_4_bytes_to_dip", icmp_frame(DIP, icmp(8, 0, b"")), "local_unhandled")

# ---- ARP ---------------------------------------------------------------------------------------
add("arp_request_other_host", arp(1, ROUTER_MAC, ROUTER, b"\0" * 6, "198.18.1.77"), "arp_not_for_us")
add("arp_probe_for_vip", arp(1, ATTACKER_MAC, "0.0.0.0", b"\0" * 6, VIP_NAT), "answered",
    "RFC 5227 probe (sender 0.0.0.0): answered, which defends the VIP")
add("arp_reply_claims_vip", arp(2, ATTACKER_MAC, VIP_DR, PORT_MAC, DIP, dst=PORT_MAC),
    "arp_claims_our_address")
add("arp_reply_claims_dip", arp(2, ATTACKER_MAC, DIP, PORT_MAC, DIP, dst=PORT_MAC),
    "arp_claims_our_address")
add("arp_gratuitous_claims_dip", arp(1, ATTACKER_MAC, DIP, b"\0" * 6, DIP), "arp_claims_our_address")
add("arp_gratuitous_claims_vip", arp(2, ATTACKER_MAC, VIP_NAT, BCAST, VIP_NAT), "arp_claims_our_address")
add("arp_request_from_our_vip", arp(1, ATTACKER_MAC, VIP_NAT, b"\0" * 6, ROUTER), "arp_claims_our_address")
add("arp_reply_poisons_rs1", arp(2, ATTACKER_MAC, RS1, PORT_MAC, DIP, dst=PORT_MAC), "consumed",
    "addressed to the DIP, so taken in; RS1 is a static neighbour and keeps its MAC (checked after)")
add("arp_htype_ieee802", arp(1, ROUTER_MAC, ROUTER, b"\0" * 6, VIP_DR, htype=6), "arp_malformed")
add("arp_plen_16", arp(1, ROUTER_MAC, ROUTER, b"\0" * 6, VIP_DR, plen=16), "arp_malformed")
add("arp_truncated", eth(BCAST, ROUTER_MAC, 0x0806, b"\x00\x01\x08\x00\x06\x04\x00\x01" + ROUTER_MAC,
                         pad=False), "arp_malformed")

# ---- IPv6 --------------------------------------------------------------------------------------
add("ok_ns_for_dip6", ns(ROUTER6, DIP6, ROUTER_MAC), "answered")
add("ok_syn6_nat", eth(PORT_MAC, ROUTER_MAC, 0x86DD, ipv6(CLIENT6, VIP6, 6, tcp6(CLIENT6, VIP6, 40100, 80, SYN))),
    "forwarded")
v6syn = eth(PORT_MAC, ROUTER_MAC, 0x86DD, ipv6(CLIENT6, VIP6, 6, tcp6(CLIENT6, VIP6, 40101, 80, SYN)))
add("ip6_cut_in_header", v6syn[:40], "ipv6_truncated")
add("ip6_version_4", eth(PORT_MAC, ROUTER_MAC, 0x86DD,
                         ipv6(CLIENT6, VIP6, 6, tcp6(CLIENT6, VIP6, 40102, 80, SYN), version=4)),
    "ipv6_bad_version")
add("ip6_payload_len_beyond_frame", eth(PORT_MAC, ROUTER_MAC, 0x86DD,
                                        ipv6(CLIENT6, VIP6, 6, tcp6(CLIENT6, VIP6, 40103, 80, SYN), plen=1400)),
    "ipv6_bad_payload_len")
add("ip6_multicast_source", eth(PORT_MAC, ROUTER_MAC, 0x86DD,
                                ipv6("ff02::1", VIP6, 6, tcp6("ff02::1", VIP6, 40104, 80, SYN))),
    "ipv6_bad_source")
frag6 = b"\x06\x00\x00\x01\x00\x00\x00\x09" + tcp6(CLIENT6, VIP6, 40105, 80, SYN)
add("ip6_fragment", eth(PORT_MAC, ROUTER_MAC, 0x86DD, ipv6(CLIENT6, VIP6, 44, frag6)), "ipv6_fragment")
hbh_bad = b"\x06\x05\x01\x02\x00\x00\x00\x00" + tcp6(CLIENT6, VIP6, 40106, 80, SYN)
add("ip6_hop_by_hop_length_beyond", eth(PORT_MAC, ROUTER_MAC, 0x86DD, ipv6(CLIENT6, VIP6, 0, hbh_bad)),
    "ipv6_ext_header", "a hop-by-hop header claiming 48 bytes")
add("nd_ns_hop_limit_64", ns(ROUTER6, DIP6, ROUTER_MAC, hop=64), "nd_malformed",
    "RFC 4861 7.1.1: a solicitation that was forwarded")
add("nd_na_claims_dip6", na("2001:db8:0:1::66", DIP6, DIP6, ATTACKER_MAC), "nd_claims_our_address")
add("nd_na_claims_vip6", na("2001:db8:0:1::66", DIP6, VIP6, ATTACKER_MAC), "nd_claims_our_address")
ra = icmp6(ROUTER6, "ff02::1", 134, 0, b"\x40\x00\x07\x08" + b"\0" * 8)
add("icmp6_router_advert", eth(b"\x33\x33\0\0\0\x01", ROUTER_MAC, 0x86DD, ipv6(ROUTER6, "ff02::1", 58, ra, 255)),
    "icmpv6_unhandled")

# ---- after the claims: nothing was poisoned ----------------------------------------------------
add("after_claims_syn_dr", tcp_frame(CLIENT, VIP_DR, 40200, 80), "forwarded",
    "must still go to RS1's MAC 02:51:00:00:00:10")
add("after_claims_syn_nat", tcp_frame(CLIENT, VIP_NAT, 40201, 80), "forwarded",
    "must still go to RS2's MAC 02:52:00:00:00:20, from the port's MAC")
add("after_claims_arp_request_dip", arp(1, ROUTER_MAC, ROUTER, b"\0" * 6, DIP), "answered",
    "answered with the port's MAC")


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, (_, fr, _, _) in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000, i * 1000, len(fr), len(fr)))
            f.write(fr)


def main():
    write_pcap(os.path.join(HERE, "hostile.pcap"), frames)
    with open(os.path.join(HERE, "MANIFEST.tsv"), "w") as f:
        f.write("# Generated by ci/corpus/gen.py: one row per frame of hostile.pcap, in order.\n")
        f.write("# index\tname\toutcome\tnote\n")
        for i, (name, _, outcome, note) in enumerate(frames):
            f.write("%d\t%s\t%s\t%s\n" % (i, name, outcome, note))
    print("ci/corpus: %d frames" % len(frames))


if __name__ == "__main__":
    main()
