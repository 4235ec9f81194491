//! FullNAT (LVS.md lab 5) and firewall-mark services (lab 3) and persistence, in frames.

mod common;

use common::*;
use etherparse::{PacketBuilder, PacketHeaders, TcpOptionElement, TransportHeader};
use rvs_engine::buf::CaptureIo;
use rvs_engine::{DropReason, VecBuf, Worker};

const FULLNAT_LAB: &str = r#"
[[ports]]
name = "outside"
device = "net_ring0"
addresses = ["198.18.0.1/24"]
[[ports]]
name = "inside"
device = "net_ring1"
addresses = ["198.18.1.2/24"]
local_addresses = ["198.18.1.3"]
[[routes]]
prefix = "198.18.2.0/23"
via = "198.18.1.254"
port = "inside"
[[neighbours]]
port = "inside"
address = "198.18.1.254"
mac = "02:ee:00:00:00:fe"
[[neighbours]]
port = "outside"
address = "198.18.0.2"
mac = "02:c1:00:00:00:02"
[[services]]
protocol = "tcp"
address = "198.18.0.100:80"
scheduler = "rr"
[[services.real_servers]]
address = "198.18.2.10:8080"
method = "fullnat"
"#;

fn syn_with_mss(sport: u16) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, OUT_MAC)
        .ipv4(ip("198.18.0.2").octets(), ip("198.18.0.100").octets(), 64)
        .tcp(sport, 80, 1000, 64240)
        .syn()
        .options(&[
            TcpOptionElement::MaximumSegmentSize(1460),
            TcpOptionElement::SelectiveAcknowledgementPermitted,
        ])
        .unwrap()
        .write(&mut out, &[])
        .unwrap();
    out
}

#[test]
fn fullnat_rewrites_both_ends_and_gives_the_client_in_toa() {
    let mut w = worker(FULLNAT_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let syn = syn_with_mss(40000);
    let out = feed(&mut w, &mut io, 0, 0, &syn);
    assert_eq!(out.len(), 1, "static neighbours: no ARP wait");
    let (port, f) = &out[0];
    assert_eq!(*port, 1);
    assert_eq!(&f[0..6], &ROUTER_MAC);
    assert_eq!(f.len(), syn.len() + 8, "the TOA option adds 8 bytes");
    let h = PacketHeaders::from_ethernet_slice(f).unwrap();
    let Some(etherparse::NetHeaders::Ipv4(ip4, _)) = &h.net else {
        panic!()
    };
    assert_eq!(ip4.header_checksum, ip4.calc_header_checksum());
    assert_eq!(ip4.source, ip("198.18.1.3").octets(), "the LIP");
    assert_eq!(ip4.destination, ip("198.18.2.10").octets());
    let Some(TransportHeader::Tcp(t)) = &h.transport else {
        panic!()
    };
    assert_eq!(
        t.checksum,
        t.calc_checksum_ipv4(ip4, h.payload.slice()).unwrap()
    );
    assert_eq!(t.destination_port, 8080);
    let lport = t.source_port;
    assert!(lport >= 1024);
    let mut mss = None;
    let mut toa = None;
    for o in t.options_iterator() {
        if let Ok(TcpOptionElement::MaximumSegmentSize(m)) = o {
            mss = Some(m);
        }
    }
    // Read the TOA option by hand: kind 254, length 8, port, IPv4.
    let opts = t.options.as_slice();
    if let Some(i) = opts.windows(2).position(|w| w == [254, 8]) {
        toa = Some((
            u16::from_be_bytes([opts[i + 2], opts[i + 3]]),
            std::net::Ipv4Addr::new(opts[i + 4], opts[i + 5], opts[i + 6], opts[i + 7]),
        ));
    }
    assert_eq!(toa, Some((40000, ip("198.18.0.2"))));
    assert_eq!(mss, Some(1452), "MSS lowered by the TOA length");
    assert_eq!(w.stats.toa_added, 1);

    // The real server answers the LIP; the client sees the VIP.
    let synack = Tcp {
        src_mac: ROUTER_MAC,
        dst_mac: IN_MAC,
        src: "198.18.2.10",
        sport: 8080,
        dst: "198.18.1.3",
        dport: lport,
        syn: true,
        ack: true,
        ..Tcp::default()
    }
    .build();
    let out = feed(&mut w, &mut io, 1, 1, &synack);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, 0);
    let s = check(&out[0].1);
    assert_eq!(
        (s.src, s.sport, s.dst, s.dport, s.dst_mac),
        (ip("198.18.0.100"), 80, ip("198.18.0.2"), 40000, CLIENT_MAC)
    );
    // Later packets carry no TOA and keep their length.
    let ack = Tcp {
        sport: 40000,
        syn: false,
        ack: true,
        ..Tcp::default()
    }
    .build();
    let out = feed(&mut w, &mut io, 2, 0, &ack);
    assert_eq!(out[0].1.len(), ack.len());
    assert_eq!(w.stats.total_drops(), 0);
}

#[test]
fn each_client_connection_gets_its_own_local_port() {
    let mut w = worker(FULLNAT_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let mut ports = std::collections::HashSet::new();
    for p in 0..50 {
        let out = feed(&mut w, &mut io, 0, 0, &syn_with_mss(41000 + p));
        let h = PacketHeaders::from_ethernet_slice(&out[0].1).unwrap();
        let Some(TransportHeader::Tcp(t)) = &h.transport else {
            panic!()
        };
        assert!(ports.insert(t.source_port));
    }
}

const FWMARK: &str = r#"
[[ports]]
name = "lan"
device = "net_ring0"
addresses = ["198.18.1.2/24"]
[[neighbours]]
port = "lan"
address = "198.18.1.10"
mac = "02:51:00:00:00:10"
[[neighbours]]
port = "lan"
address = "198.18.1.20"
mac = "02:52:00:00:00:20"
[[fwmark]]
mark = 66
destinations = ["198.18.1.200/32"]
protocol = "tcp"
ports = [80, 443]
[[services]]
fwmark = 66
scheduler = "rr"
[[services.real_servers]]
address = "198.18.1.10"
method = "dr"
[[services.real_servers]]
address = "198.18.1.20"
method = "dr"
"#;

fn to_vip(port: u16, sport: u16) -> Vec<u8> {
    Tcp {
        src_mac: ROUTER_MAC,
        src: "203.0.113.9",
        dst: "198.18.1.200",
        dport: port,
        sport,
        ..Tcp::default()
    }
    .build()
}

#[test]
fn one_mark_is_one_rr_across_its_ports() {
    let mut w = worker(FWMARK, &[OUT_MAC]);
    let mut io = CaptureIo::default();
    let mut got = vec![];
    for (i, port) in [80u16, 443, 80, 443].into_iter().enumerate() {
        let f = to_vip(port, 50000 + i as u16);
        let out = feed(&mut w, &mut io, 0, 0, &f);
        assert_eq!(out.len(), 1);
        assert_eq!(
            &out[0].1[14..],
            &f[14..],
            "DR keeps the packet, port included"
        );
        got.push(<[u8; 6]>::try_from(&out[0].1[0..6]).unwrap());
    }
    assert_ne!(
        got[0], got[1],
        "http then https land on different real servers"
    );
    assert_eq!(got[0], got[2]);
    assert_eq!(got[1], got[3]);
    // A port outside the mark is no service: the VIP is ours, so it is a local drop.
    assert!(feed(&mut w, &mut io, 0, 0, &to_vip(22, 1)).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::LocalUnhandled), 1);
}

#[test]
fn persistence_sends_a_client_to_one_server_across_the_marks_ports() {
    let cfg = FWMARK.replace(
        "scheduler = \"rr\"",
        "scheduler = \"rr\"\npersistence = 300",
    );
    let mut w: Worker<VecBuf> = worker(&cfg, &[OUT_MAC]);
    let mut io = CaptureIo::default();
    let mut got = vec![];
    for (i, port) in [80u16, 443, 80, 443].into_iter().enumerate() {
        let out = feed(
            &mut w,
            &mut io,
            i as u64,
            0,
            &to_vip(port, 50000 + i as u16),
        );
        got.push(<[u8; 6]>::try_from(&out[0].1[0..6]).unwrap());
    }
    assert!(got.iter().all(|m| *m == got[0]), "{got:?}");
    // Another client is scheduled on its own: rr moves on.
    let other = Tcp {
        src_mac: ROUTER_MAC,
        src: "203.0.113.10",
        dst: "198.18.1.200",
        ..Tcp::default()
    }
    .build();
    let out = feed(&mut w, &mut io, 5, 0, &other);
    assert_ne!(<[u8; 6]>::try_from(&out[0].1[0..6]).unwrap(), got[0]);
}
