//! Frames for engine tests, built and checked with etherparse, a parser independent of
//! rvs-wire, so a checksum the engine gets wrong cannot be "verified" by the same code.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::sync::Arc;

use etherparse::{NetHeaders, PacketBuilder, PacketHeaders, TransportHeader};
use rvs_engine::buf::CaptureIo;
use rvs_engine::{Director, VecBuf, Worker, WorkerConfig};
use rvs_wire::MacAddr;

pub const CLIENT_MAC: [u8; 6] = [0x02, 0xc1, 0, 0, 0, 0x02];
pub const OUT_MAC: [u8; 6] = [0x02, 0xd0, 0, 0, 0, 0x01];
pub const IN_MAC: [u8; 6] = [0x02, 0xd1, 0, 0, 0, 0x01];
pub const RS1_MAC: [u8; 6] = [0x02, 0x51, 0, 0, 0, 0x10];
pub const RS2_MAC: [u8; 6] = [0x02, 0x52, 0, 0, 0, 0x20];
pub const ROUTER_MAC: [u8; 6] = [0x02, 0xee, 0, 0, 0, 0xfe];

pub fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub const NAT_LAB: &str = r#"
workers = 1
max_connections = 16
[[ports]]
name = "outside"
device = "net_ring0"
addresses = ["198.18.0.1/24"]
[[ports]]
name = "inside"
device = "net_ring1"
addresses = ["198.18.1.1/24"]
[[services]]
protocol = "tcp"
address = "198.18.0.100:80"
scheduler = "rr"
[[services.real_servers]]
address = "198.18.1.10:8080"
method = "nat"
[[services.real_servers]]
address = "198.18.1.20:8080"
method = "nat"
[[services]]
protocol = "udp"
address = "198.18.0.100:53"
scheduler = "rr"
[[services.real_servers]]
address = "198.18.1.10:53"
method = "nat"
"#;

pub const DR_LAB: &str = r#"
workers = 1
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
address = "198.18.1.10:80"
method = "dr"
[[services.real_servers]]
address = "198.18.1.20:80"
method = "dr"
"#;

pub fn worker(toml: &str, macs: &[[u8; 6]]) -> Worker<VecBuf> {
    let cfg = rvs_config::parse(toml).expect("test config parses");
    let macs: Vec<MacAddr> = macs.iter().map(|m| MacAddr(*m)).collect();
    let dir = Director::new(&cfg, &macs, None).expect("director compiles");
    let wc = WorkerConfig {
        max_connections: cfg.max_connections as usize,
        ..WorkerConfig::default()
    };
    Worker::new(Arc::new(dir), wc)
}

pub fn arp(
    op: u16,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    sender: &str,
    target_mac: [u8; 6],
    target: &str,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&0x0806u16.to_be_bytes());
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4]);
    f.extend_from_slice(&op.to_be_bytes());
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&ip(sender).octets());
    f.extend_from_slice(&target_mac);
    f.extend_from_slice(&ip(target).octets());
    f
}

pub struct Tcp {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src: &'static str,
    pub sport: u16,
    pub dst: &'static str,
    pub dport: u16,
    pub ttl: u8,
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub payload: &'static [u8],
}

impl Default for Tcp {
    fn default() -> Self {
        Tcp {
            src_mac: CLIENT_MAC,
            dst_mac: OUT_MAC,
            src: "198.18.0.2",
            sport: 40000,
            dst: "198.18.0.100",
            dport: 80,
            ttl: 64,
            syn: true,
            ack: false,
            fin: false,
            rst: false,
            payload: b"",
        }
    }
}

impl Tcp {
    pub fn build(&self) -> Vec<u8> {
        let mut b = PacketBuilder::ethernet2(self.src_mac, self.dst_mac)
            .ipv4(ip(self.src).octets(), ip(self.dst).octets(), self.ttl)
            .tcp(self.sport, self.dport, 1000, 64240);
        if self.syn {
            b = b.syn();
        }
        if self.ack {
            b = b.ack(2000);
        }
        if self.fin {
            b = b.fin();
        }
        if self.rst {
            b = b.rst();
        }
        let mut out = Vec::new();
        b.write(&mut out, self.payload).unwrap();
        out
    }
}

pub fn udp(src: &str, sport: u16, dst: &str, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, OUT_MAC)
        .ipv4(ip(src).octets(), ip(dst).octets(), 64)
        .udp(sport, dport)
        .write(&mut out, payload)
        .unwrap();
    out
}

/// What a frame says, as read by etherparse, after checking every checksum against a full
/// recomputation.
#[derive(Debug, PartialEq, Eq)]
pub struct Seen {
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub sport: u16,
    pub dport: u16,
}

pub fn check(frame: &[u8]) -> Seen {
    let h = PacketHeaders::from_ethernet_slice(frame).expect("frame parses");
    let eth = h
        .link
        .clone()
        .and_then(|l| l.ethernet2())
        .expect("ethernet");
    let Some(NetHeaders::Ipv4(ip4, _)) = &h.net else {
        panic!("not ipv4: {:?}", h.net)
    };
    assert_eq!(
        ip4.header_checksum,
        ip4.calc_header_checksum(),
        "IPv4 header checksum"
    );
    let payload = h.payload.slice();
    let (sport, dport) = match &h.transport {
        Some(TransportHeader::Tcp(t)) => {
            assert_eq!(
                t.checksum,
                t.calc_checksum_ipv4(ip4, payload).unwrap(),
                "TCP checksum"
            );
            (t.source_port, t.destination_port)
        }
        Some(TransportHeader::Udp(u)) => {
            if u.checksum != 0 {
                assert_eq!(
                    u.checksum,
                    u.calc_checksum_ipv4(ip4, payload).unwrap(),
                    "UDP checksum"
                );
            }
            (u.source_port, u.destination_port)
        }
        other => panic!("unexpected transport {other:?}"),
    };
    Seen {
        dst_mac: eth.destination,
        src_mac: eth.source,
        src: Ipv4Addr::from(ip4.source),
        dst: Ipv4Addr::from(ip4.destination),
        ttl: ip4.time_to_live,
        sport,
        dport,
    }
}

/// Feed one frame; return what the engine sent.
pub fn feed(
    w: &mut Worker<VecBuf>,
    io: &mut CaptureIo,
    now: u64,
    port: u16,
    frame: &[u8],
) -> Vec<(u16, Vec<u8>)> {
    w.handle(now, port, VecBuf::from_frame(frame), io);
    io.take()
}

// ---- IPv6 -------------------------------------------------------------------------------

use std::net::Ipv6Addr;

use etherparse::{icmpv6::NeighborAdvertisementHeader, Icmpv6Type};

pub fn ip6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// LVS.md lab 1 over IPv6, as ci/labs/nat6.sh builds it (2001:2::/48, RFC 5180).
pub const NAT6_LAB: &str = r#"
workers = 1
max_connections = 16
[[ports]]
name = "outside"
device = "net_ring0"
addresses = ["2001:2::1/64"]
[[ports]]
name = "inside"
device = "net_ring1"
addresses = ["2001:2:0:1::1/64"]
[[services]]
protocol = "tcp"
address = "[2001:2::100]:80"
scheduler = "rr"
[[services.real_servers]]
address = "[2001:2:0:1::10]:8080"
method = "nat"
[[services.real_servers]]
address = "[2001:2:0:1::20]:8080"
method = "nat"
[[services]]
protocol = "udp"
address = "[2001:2::100]:53"
scheduler = "rr"
[[services.real_servers]]
address = "[2001:2:0:1::10]:53"
method = "nat"
"#;

/// The solicited-node group of `a` (RFC 4291 §2.7.1), computed here independently.
pub fn solicited_node(a: Ipv6Addr) -> Ipv6Addr {
    let o = a.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// 33:33 and the low 32 bits of an IPv6 multicast group (RFC 2464 §7).
pub fn mcast_mac(group: Ipv6Addr) -> [u8; 6] {
    let o = group.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// A neighbor solicitation for `target` from `src` (unspecified for DAD), to the target's
/// solicited-node group, with a source link-layer option when `sll` is given.
pub fn ns(src_mac: [u8; 6], src: &str, target: &str, sll: Option<[u8; 6]>, hop: u8) -> Vec<u8> {
    let dst = solicited_node(ip6(target));
    ns_to(src_mac, mcast_mac(dst), src, dst, target, sll, hop)
}

/// A neighbor solicitation to any destination (unicast NUD probes).
pub fn ns_to(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: &str,
    dst: Ipv6Addr,
    target: &str,
    sll: Option<[u8; 6]>,
    hop: u8,
) -> Vec<u8> {
    let mut payload = ip6(target).octets().to_vec();
    if let Some(m) = sll {
        payload.extend_from_slice(&[1, 1]);
        payload.extend_from_slice(&m);
    }
    let mut out = Vec::new();
    PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv6(ip6(src).octets(), dst.octets(), hop)
        .icmpv6(Icmpv6Type::NeighborSolicitation)
        .write(&mut out, &payload)
        .unwrap();
    out
}

/// A neighbor advertisement of `target` at `tll` (the option, if given), `src` → `dst`.
#[allow(clippy::too_many_arguments)]
pub fn na(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: &str,
    dst: &str,
    target: &str,
    tll: Option<[u8; 6]>,
    (router, solicited, over): (bool, bool, bool),
    hop: u8,
) -> Vec<u8> {
    let mut payload = ip6(target).octets().to_vec();
    if let Some(m) = tll {
        payload.extend_from_slice(&[2, 1]);
        payload.extend_from_slice(&m);
    }
    let mut out = Vec::new();
    PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv6(ip6(src).octets(), ip6(dst).octets(), hop)
        .icmpv6(Icmpv6Type::NeighborAdvertisement(
            NeighborAdvertisementHeader {
                router,
                solicited,
                r#override: over,
            },
        ))
        .write(&mut out, &payload)
        .unwrap();
    out
}

/// A TCP segment over IPv6.
pub struct Tcp6 {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src: &'static str,
    pub sport: u16,
    pub dst: &'static str,
    pub dport: u16,
    pub hop: u8,
    pub syn: bool,
    pub ack: bool,
    pub mss: Option<u16>,
    pub payload: &'static [u8],
}

impl Default for Tcp6 {
    fn default() -> Self {
        Tcp6 {
            src_mac: CLIENT_MAC,
            dst_mac: OUT_MAC,
            src: "2001:2::2",
            sport: 40000,
            dst: "2001:2::100",
            dport: 80,
            hop: 64,
            syn: true,
            ack: false,
            mss: None,
            payload: b"",
        }
    }
}

impl Tcp6 {
    pub fn build(&self) -> Vec<u8> {
        let mut b = PacketBuilder::ethernet2(self.src_mac, self.dst_mac)
            .ipv6(ip6(self.src).octets(), ip6(self.dst).octets(), self.hop)
            .tcp(self.sport, self.dport, 1000, 64240);
        if self.syn {
            b = b.syn();
        }
        if self.ack {
            b = b.ack(2000);
        }
        if let Some(m) = self.mss {
            b = b
                .options(&[
                    etherparse::TcpOptionElement::MaximumSegmentSize(m),
                    etherparse::TcpOptionElement::SelectiveAcknowledgementPermitted,
                ])
                .unwrap();
        }
        let mut out = Vec::new();
        b.write(&mut out, self.payload).unwrap();
        out
    }
}

pub fn udp6(src: &str, sport: u16, dst: &str, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, OUT_MAC)
        .ipv6(ip6(src).octets(), ip6(dst).octets(), 64)
        .udp(sport, dport)
        .write(&mut out, payload)
        .unwrap();
    out
}

/// What an IPv6 frame says, as read by etherparse, after checking the TCP/UDP/ICMPv6
/// checksum against a full recomputation.
#[derive(Debug, PartialEq, Eq)]
pub struct Seen6 {
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop: u8,
    pub sport: u16,
    pub dport: u16,
}

pub fn check6(frame: &[u8]) -> Seen6 {
    let h = PacketHeaders::from_ethernet_slice(frame).expect("frame parses");
    let eth = h
        .link
        .clone()
        .and_then(|l| l.ethernet2())
        .expect("ethernet");
    let Some(NetHeaders::Ipv6(ip, _)) = &h.net else {
        panic!("not ipv6: {:?}", h.net)
    };
    let payload = h.payload.slice();
    let (sport, dport) = match &h.transport {
        Some(TransportHeader::Tcp(t)) => {
            assert_eq!(
                t.checksum,
                t.calc_checksum_ipv6(ip, payload).unwrap(),
                "TCP checksum"
            );
            (t.source_port, t.destination_port)
        }
        Some(TransportHeader::Udp(u)) => {
            assert_eq!(
                u.checksum,
                u.calc_checksum_ipv6(ip, payload).unwrap(),
                "UDP checksum"
            );
            (u.source_port, u.destination_port)
        }
        Some(TransportHeader::Icmpv6(i)) => {
            assert_eq!(
                i.checksum,
                i.icmp_type
                    .calc_checksum(ip.source, ip.destination, payload)
                    .unwrap(),
                "ICMPv6 checksum"
            );
            (0, 0)
        }
        other => panic!("unexpected transport {other:?}"),
    };
    Seen6 {
        dst_mac: eth.destination,
        src_mac: eth.source,
        src: Ipv6Addr::from(ip.source),
        dst: Ipv6Addr::from(ip.destination),
        hop: ip.hop_limit,
        sport,
        dport,
    }
}
