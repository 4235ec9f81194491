//! UDP through every forwarding method, both directions where the method has two, with
//! checksums verified independently; and one-packet scheduling (ipvsadm -o).

mod common;

use common::*;
use etherparse::{NetHeaders, PacketBuilder, PacketHeaders, TransportHeader};
use rvs_engine::buf::CaptureIo;

const LAB: &str = r#"
[[ports]]
name = "outside"
device = "net_ring0"
addresses = ["198.18.0.1/24"]
[[ports]]
name = "inside"
device = "net_ring1"
addresses = ["198.18.1.2/24"]
local_addresses = ["198.18.1.3"]
[[neighbours]]
port = "outside"
address = "198.18.0.2"
mac = "02:c1:00:00:00:02"
[[neighbours]]
port = "inside"
address = "198.18.1.10"
mac = "02:51:00:00:00:10"
[[services]]
protocol = "udp"
address = "198.18.0.100:53"
scheduler = "rr"
[[services.real_servers]]
address = "198.18.1.10:53"
method = "METHOD"
"#;

fn dns(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(ip(src).octets(), ip(dst).octets(), 64)
        .udp(sport, dport)
        .write(&mut out, b"\x12\x34\x01\x00query")
        .unwrap();
    out
}

/// The UDP datagram inside an IPv4 frame (or inside its IPIP outer header), checksums checked.
fn udp_of(frame: &[u8], inner: bool) -> (std::net::Ipv4Addr, u16, std::net::Ipv4Addr, u16) {
    let ip = if inner { &frame[34..] } else { &frame[14..] };
    let h = PacketHeaders::from_ip_slice(ip).unwrap();
    let Some(NetHeaders::Ipv4(ip4, _)) = &h.net else {
        panic!()
    };
    assert_eq!(ip4.header_checksum, ip4.calc_header_checksum());
    let Some(TransportHeader::Udp(u)) = &h.transport else {
        panic!()
    };
    assert_eq!(
        u.checksum,
        u.calc_checksum_ipv4(ip4, h.payload.slice()).unwrap()
    );
    (
        ip4.source.into(),
        u.source_port,
        ip4.destination.into(),
        u.destination_port,
    )
}

#[test]
fn udp_nat_both_ways() {
    let mut w = worker(&LAB.replace("METHOD", "nat"), &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let q = dns("198.18.0.2", 5353, "198.18.0.100", 53, CLIENT_MAC, OUT_MAC);
    let out = feed(&mut w, &mut io, 0, 0, &q);
    assert_eq!(
        udp_of(&out[0].1, false),
        (ip("198.18.0.2"), 5353, ip("198.18.1.10"), 53)
    );
    let a = dns("198.18.1.10", 53, "198.18.0.2", 5353, RS1_MAC, IN_MAC);
    let out = feed(&mut w, &mut io, 0, 1, &a);
    assert_eq!(out[0].0, 0);
    assert_eq!(
        udp_of(&out[0].1, false),
        (ip("198.18.0.100"), 53, ip("198.18.0.2"), 5353)
    );
}

#[test]
fn udp_fullnat_both_ways() {
    let mut w = worker(&LAB.replace("METHOD", "fullnat"), &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let q = dns("198.18.0.2", 5353, "198.18.0.100", 53, CLIENT_MAC, OUT_MAC);
    let out = feed(&mut w, &mut io, 0, 0, &q);
    let (src, lport, dst, dport) = udp_of(&out[0].1, false);
    assert_eq!((src, dst, dport), (ip("198.18.1.3"), ip("198.18.1.10"), 53));
    let a = dns("198.18.1.10", 53, "198.18.1.3", lport, RS1_MAC, IN_MAC);
    let out = feed(&mut w, &mut io, 0, 1, &a);
    assert_eq!(
        udp_of(&out[0].1, false),
        (ip("198.18.0.100"), 53, ip("198.18.0.2"), 5353)
    );
}

#[test]
fn udp_dr_and_tun_leave_the_datagram_alone() {
    let q = dns("198.18.0.2", 5353, "198.18.0.100", 53, CLIENT_MAC, OUT_MAC);
    let mut w = worker(&LAB.replace("METHOD", "dr"), &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let out = feed(&mut w, &mut io, 0, 0, &q);
    assert_eq!(&out[0].1[0..6], &RS1_MAC);
    assert_eq!(&out[0].1[14..], &q[14..]);
    let mut w = worker(&LAB.replace("METHOD", "tun"), &[OUT_MAC, IN_MAC]);
    let out = feed(&mut w, &mut io, 0, 0, &q);
    assert_eq!(&out[0].1[23], &4, "IPIP");
    assert_eq!(&out[0].1[34..], &q[14..], "the client's datagram inside");
    assert_eq!(
        udp_of(&out[0].1, true),
        (ip("198.18.0.2"), 5353, ip("198.18.0.100"), 53)
    );
}

/// ipvsadm -o: every datagram is scheduled on its own and no connection is kept.
#[test]
fn one_packet_scheduling_keeps_no_connection() {
    let cfg = LAB
        .replace("METHOD", "dr")
        .replace("scheduler = \"rr\"", "scheduler = \"rr\"\none_packet = true")
        .replace(
            "[[neighbours]]\nport = \"inside\"",
            "[[neighbours]]\nport = \"inside\"\naddress = \"198.18.1.20\"\nmac = \"02:52:00:00:00:20\"\n[[neighbours]]\nport = \"inside\"",
        )
        + "[[services.real_servers]]\naddress = \"198.18.1.20:53\"\nmethod = \"dr\"\n";
    let mut w = worker(&cfg, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let q = dns("198.18.0.2", 5353, "198.18.0.100", 53, CLIENT_MAC, OUT_MAC);
    let mut macs = vec![];
    for _ in 0..4 {
        let out = feed(&mut w, &mut io, 0, 0, &q);
        macs.push(out[0].1[0..6].to_vec());
    }
    assert_ne!(
        macs[0], macs[1],
        "the same flow alternates: each datagram is scheduled"
    );
    assert_eq!(macs[0], macs[2]);
    assert_eq!(w.conns().len(), 0);
    // Without -o the flow sticks.
    let mut w = worker(&cfg.replace("one_packet = true", ""), &[OUT_MAC, IN_MAC]);
    let a = feed(&mut w, &mut io, 0, 0, &q);
    let b = feed(&mut w, &mut io, 0, 0, &q);
    assert_eq!(a[0].1[0..6], b[0].1[0..6]);
    assert_eq!(w.conns().len(), 1);
}
