//! TUN (IPIP, RFC 2003) fixtures: LVS.md lab 4 in frames.

mod common;

use common::*;
use etherparse::{Ipv4Header, PacketBuilder, TcpHeader, TcpOptionElement};
use rvs_engine::buf::CaptureIo;
use rvs_engine::{DropReason, VecBuf, Worker};

const TUN_LAB: &str = r#"
[[ports]]
name = "lan"
device = "net_ring0"
addresses = ["198.18.1.2/24"]
[[routes]]
prefix = "0.0.0.0/0"
via = "198.18.1.254"
port = "lan"
[[services]]
protocol = "tcp"
address = "198.18.1.200:80"
scheduler = "rr"
[[services.real_servers]]
address = "198.18.2.10:80"
method = "tun"
"#;

fn ready() -> (Worker<VecBuf>, CaptureIo) {
    let mut w = worker(TUN_LAB, &[OUT_MAC]);
    let mut io = CaptureIo::default();
    // The router asks for the VIP; the director learns the router's MAC.
    let q = arp(
        1,
        ROUTER_MAC,
        [0xff; 6],
        "198.18.1.254",
        [0; 6],
        "198.18.1.200",
    );
    assert_eq!(feed(&mut w, &mut io, 0, 0, &q).len(), 1);
    (w, io)
}

fn client_syn(payload: &'static [u8], mss: Option<u16>, df: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = PacketBuilder::ethernet2(ROUTER_MAC, OUT_MAC)
        .ip(etherparse::IpHeaders::Ipv4(
            {
                let mut h = Ipv4Header::new(
                    0,
                    63,
                    etherparse::IpNumber::TCP,
                    ip("198.18.0.2").octets(),
                    ip("198.18.1.200").octets(),
                )
                .unwrap();
                h.dont_fragment = df;
                h
            },
            Default::default(),
        ))
        .tcp(40000, 80, 1000, 64240)
        .syn();
    if let Some(m) = mss {
        b = b
            .options(&[TcpOptionElement::MaximumSegmentSize(m)])
            .unwrap();
    }
    b.write(&mut out, payload).unwrap();
    out
}

#[test]
fn tun_wraps_the_clients_packet_in_ipip_to_the_real_server() {
    let (mut w, mut io) = ready();
    let syn = client_syn(b"", Some(1460), true);
    let out = feed(&mut w, &mut io, 1, 0, &syn);
    assert_eq!(out.len(), 1);
    let (port, f) = &out[0];
    assert_eq!(*port, 0);
    // To the router (the RS is on another subnet), from our port.
    assert_eq!(&f[0..6], &ROUTER_MAC);
    assert_eq!(&f[6..12], &OUT_MAC);
    assert_eq!(&f[12..14], &[0x08, 0x00]);
    let (outer, inner) = Ipv4Header::from_slice(&f[14..]).unwrap();
    assert_eq!(outer.header_checksum, outer.calc_header_checksum());
    assert_eq!(outer.protocol, etherparse::IpNumber::IPV4); // 4: IP in IP
    assert_eq!(outer.source, ip("198.18.1.2").octets());
    assert_eq!(outer.destination, ip("198.18.2.10").octets());
    assert!(outer.dont_fragment, "DF copied from the inner header");
    assert_eq!(outer.time_to_live, 63, "TTL copied from the inner header");
    assert_eq!(usize::from(outer.total_len), 20 + syn.len() - 14);
    // The inner packet is the client's, with the MSS clamped to fit the tunnel:
    // 1500 - 20 (outer) - 20 (IP) - 20 (TCP) = 1440.
    let (iip, rest) = Ipv4Header::from_slice(inner).unwrap();
    assert_eq!(iip.header_checksum, iip.calc_header_checksum());
    assert_eq!(iip.source, ip("198.18.0.2").octets());
    assert_eq!(iip.destination, ip("198.18.1.200").octets());
    let (tcp, payload) = TcpHeader::from_slice(rest).unwrap();
    assert_eq!(tcp.checksum, tcp.calc_checksum_ipv4(&iip, payload).unwrap());
    let mss: Vec<_> = tcp
        .options_iterator()
        .filter_map(|o| match o {
            Ok(TcpOptionElement::MaximumSegmentSize(m)) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(mss, vec![1440]);
}

#[test]
fn a_small_mss_is_left_alone() {
    let (mut w, mut io) = ready();
    let syn = client_syn(b"", Some(1200), true);
    let out = feed(&mut w, &mut io, 1, 0, &syn);
    assert_eq!(&out[0].1[34..], &syn[14..], "inner packet unchanged");
}

#[test]
fn too_big_with_df_gets_fragmentation_needed_with_the_tunnel_mtu() {
    let (mut w, mut io) = ready();
    // A full-size 1500-byte packet cannot take 20 more bytes.
    static BIG: [u8; 1460] = [0x61; 1460];
    let syn = client_syn(&BIG, None, true);
    assert_eq!(syn.len(), 14 + 1500);
    let out = feed(&mut w, &mut io, 1, 0, &syn);
    assert_eq!(out.len(), 1);
    let f = &out[0].1;
    assert_eq!(&f[0..6], &ROUTER_MAC);
    let h = etherparse::PacketHeaders::from_ethernet_slice(f).unwrap();
    let Some(etherparse::NetHeaders::Ipv4(ip4, _)) = &h.net else {
        panic!()
    };
    assert_eq!(ip4.header_checksum, ip4.calc_header_checksum());
    assert_eq!(ip4.source, ip("198.18.1.2").octets());
    assert_eq!(ip4.destination, ip("198.18.0.2").octets());
    let Some(etherparse::TransportHeader::Icmpv4(icmp)) = &h.transport else {
        panic!("{:?}", h.transport)
    };
    assert_eq!(
        icmp.checksum,
        icmp.icmp_type.calc_checksum(h.payload.slice())
    );
    match icmp.icmp_type {
        etherparse::Icmpv4Type::DestinationUnreachable(
            etherparse::icmpv4::DestUnreachableHeader::FragmentationNeeded { next_hop_mtu },
        ) => assert_eq!(next_hop_mtu, 1480),
        ref t => panic!("unexpected {t:?}"),
    }
    // The quote is the offending IP header and the first 8 bytes of its data.
    assert_eq!(h.payload.slice(), &syn[14..14 + 28]);
    assert_eq!(w.stats.icmp_errors_sent, 1);
    // Without DF it is a counted drop: the director does not fragment.
    let syn = client_syn(&BIG, None, false);
    assert!(feed(&mut w, &mut io, 2, 0, &syn).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::TunnelTooBig), 1);
}
