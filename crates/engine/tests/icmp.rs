//! ICMP errors about tracked connections are relayed to the other end, translated as the
//! kernel's ip_vs_nat_icmp does; errors about unknown flows are counted drops.

mod common;

use common::*;
use etherparse::{Icmpv4Type, NetHeaders, PacketBuilder, PacketHeaders, TransportHeader};
use rvs_engine::buf::CaptureIo;
use rvs_engine::{DropReason, VecBuf, Worker};

const OUT: u16 = 0;
const IN: u16 = 1;

/// NAT lab with the client and RS1 resolved and one connection client:40000 → RS.
fn with_connection() -> (Worker<VecBuf>, CaptureIo, Vec<u8>) {
    let mut w = worker(NAT_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    feed(
        &mut w,
        &mut io,
        0,
        OUT,
        &arp(
            1,
            CLIENT_MAC,
            [0xff; 6],
            "198.18.0.2",
            [0; 6],
            "198.18.0.100",
        ),
    );
    for (mac, a) in [(RS1_MAC, "198.18.1.10"), (RS2_MAC, "198.18.1.20")] {
        feed(
            &mut w,
            &mut io,
            0,
            IN,
            &arp(1, mac, [0xff; 6], a, [0; 6], "198.18.1.1"),
        );
    }
    let out = feed(&mut w, &mut io, 1, OUT, &Tcp::default().build());
    assert_eq!(out.len(), 1);
    (w, io, out[0].1.clone())
}

fn icmp_unreachable(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: &str,
    dst: &str,
    quoted_ip: &[u8],
) -> Vec<u8> {
    let mut f = Vec::new();
    PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(ip(src).octets(), ip(dst).octets(), 64)
        .icmpv4(Icmpv4Type::DestinationUnreachable(
            etherparse::icmpv4::DestUnreachableHeader::Port,
        ))
        .write(&mut f, &quoted_ip[..28])
        .unwrap();
    f
}

/// Checks outer and quoted IP checksums and the ICMP checksum; returns the headers.
fn parse_icmp(f: &[u8]) -> (etherparse::Ipv4Header, etherparse::Ipv4Header, [u16; 2]) {
    let h = PacketHeaders::from_ethernet_slice(f).unwrap();
    let Some(NetHeaders::Ipv4(outer, _)) = &h.net else {
        panic!()
    };
    assert_eq!(outer.header_checksum, outer.calc_header_checksum());
    let Some(TransportHeader::Icmpv4(icmp)) = &h.transport else {
        panic!()
    };
    let payload = h.payload.slice();
    assert_eq!(
        icmp.checksum,
        icmp.icmp_type.calc_checksum(payload),
        "ICMP checksum"
    );
    let (inner, rest) = etherparse::Ipv4Header::from_slice(payload).unwrap();
    assert_eq!(
        inner.header_checksum,
        inner.calc_header_checksum(),
        "quoted IP checksum"
    );
    let ports = [
        u16::from_be_bytes([rest[0], rest[1]]),
        u16::from_be_bytes([rest[2], rest[3]]),
    ];
    (outer.clone(), inner, ports)
}

#[test]
fn an_error_from_the_real_server_side_reaches_the_client_as_if_from_the_vip() {
    let (mut w, mut io, to_rs) = with_connection();
    let s = check(&to_rs);
    // RS (or a router in front of it) says the port is unreachable, quoting what it got.
    let rs_mac = to_rs[0..6].try_into().unwrap();
    let err = icmp_unreachable(
        rs_mac,
        IN_MAC,
        &s.dst.to_string(),
        "198.18.0.2",
        &to_rs[14..],
    );
    let out = feed(&mut w, &mut io, 2, IN, &err);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, OUT);
    assert_eq!(&out[0].1[0..6], &CLIENT_MAC);
    let (outer, inner, ports) = parse_icmp(&out[0].1);
    assert_eq!(outer.source, ip("198.18.0.100").octets());
    assert_eq!(outer.destination, ip("198.18.0.2").octets());
    assert_eq!(outer.time_to_live, 63);
    // The quote now reads as the client's own packet to the VIP.
    assert_eq!(inner.source, ip("198.18.0.2").octets());
    assert_eq!(inner.destination, ip("198.18.0.100").octets());
    assert_eq!(ports, [40000, 80]);
    assert_eq!(w.stats.icmp_relayed, 1);
}

#[test]
fn an_error_from_the_client_reaches_the_real_server() {
    let (mut w, mut io, to_rs) = with_connection();
    let s = check(&to_rs);
    // What the client got from the VIP, quoted back at it.
    let reply = Tcp {
        src_mac: OUT_MAC,
        dst_mac: CLIENT_MAC,
        src: "198.18.0.100",
        sport: 80,
        dst: "198.18.0.2",
        dport: 40000,
        syn: true,
        ack: true,
        ..Tcp::default()
    }
    .build();
    let err = icmp_unreachable(
        CLIENT_MAC,
        OUT_MAC,
        "198.18.0.2",
        "198.18.0.100",
        &reply[14..],
    );
    let out = feed(&mut w, &mut io, 2, OUT, &err);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, IN);
    let (outer, inner, ports) = parse_icmp(&out[0].1);
    assert_eq!(outer.source, ip("198.18.0.2").octets());
    assert_eq!(outer.destination, s.dst.octets());
    assert_eq!(inner.source, s.dst.octets());
    assert_eq!(inner.destination, ip("198.18.0.2").octets());
    assert_eq!(ports, [8080, 40000]);
}

#[test]
fn errors_about_unknown_flows_and_garbage_quotes_are_counted_drops() {
    let (mut w, mut io, _) = with_connection();
    let other = Tcp {
        sport: 1234,
        ..Tcp::default()
    }
    .build();
    let err = icmp_unreachable(
        CLIENT_MAC,
        OUT_MAC,
        "198.18.0.2",
        "198.18.0.100",
        &other[14..],
    );
    // The quote is the client's own packet, whose reverse is no connection.
    assert!(feed(&mut w, &mut io, 2, OUT, &err).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::IcmpNoConnection), 1);
    let mut garbage = err.clone();
    garbage[14 + 20 + 8] = 0x00; // quoted version/IHL 0
    assert!(feed(&mut w, &mut io, 2, OUT, &garbage).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::IcmpMalformed), 1);
}

/// Found by fuzzing: the reply to an echo request of zeros sums to zero, so its checksum must
/// be 0xFFFF (RFC 1624 §3: an incremental update gives 0x0000, which does not verify).
#[test]
fn the_echo_reply_to_a_request_of_zeros_has_a_valid_checksum() {
    let mut w = worker(NAT_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let mut ping = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, OUT_MAC)
        .ipv4(ip("198.18.0.2").octets(), ip("198.18.0.1").octets(), 64)
        .icmpv4_echo_request(0, 0)
        .write(&mut ping, &[0; 8])
        .unwrap();
    let out = feed(&mut w, &mut io, 0, OUT, &ping);
    assert_eq!(out.len(), 1);
    let icmp = &out[0].1[34..];
    assert_eq!(&icmp[2..4], &[0xff, 0xff]);
    assert_eq!(
        rvs_wire::checksum::finish(rvs_wire::checksum::ones_sum(icmp, 0)),
        0
    );
}
