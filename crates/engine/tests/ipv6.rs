//! IPv6 fixtures: the NAT lab over IPv6 (ci/labs/nat6.sh) and DR, FullNAT and TUN over IPv6
//! in frames — Neighbor Discovery instead of ARP, ICMPv6 echo and errors, extension headers,
//! fragments and malformed input. Every output checksum is checked by etherparse against a
//! full recomputation.

mod common;

use std::net::Ipv6Addr;

use common::*;
use etherparse::{
    Icmpv6Type, IpNumber, Ipv6Header, NetHeaders, PacketBuilder, PacketHeaders, TcpHeader,
    TcpOptionElement, TransportHeader,
};
use rvs_engine::buf::CaptureIo;
use rvs_engine::{DropReason, VecBuf, Worker};

const OUT: u16 = 0;
const IN: u16 = 1;
const CIP: &str = "2001:2::2";
const VIP: &str = "2001:2::100";
const RIP1: &str = "2001:2:0:1::10";
const RIP2: &str = "2001:2:0:1::20";

/// The client resolves the VIP (its NS teaches the director the client's MAC).
fn client_arrives(w: &mut Worker<VecBuf>, io: &mut CaptureIo) {
    let q = ns(CLIENT_MAC, CIP, VIP, Some(CLIENT_MAC), 255);
    assert_eq!(feed(w, io, 0, OUT, &q).len(), 1);
}

/// The NAT6 lab with the client and both real servers resolved.
fn nat6_ready() -> (Worker<VecBuf>, CaptureIo) {
    let mut w = worker(NAT6_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    client_arrives(&mut w, &mut io);
    for (mac, a) in [(RS1_MAC, RIP1), (RS2_MAC, RIP2)] {
        let q = ns(mac, a, "2001:2:0:1::1", Some(mac), 255);
        assert_eq!(feed(&mut w, &mut io, 0, IN, &q).len(), 1);
    }
    (w, io)
}

/// Which real server (address, MAC) a frame the director sent to the inside is for.
fn rs_of(f: &[u8]) -> (&'static str, [u8; 6]) {
    if f[0..6] == RS1_MAC {
        (RIP1, RS1_MAC)
    } else {
        assert_eq!(f[0..6], RS2_MAC);
        (RIP2, RS2_MAC)
    }
}

// ---- Neighbor Discovery ---------------------------------------------------------------------

/// RFC 4861 §7.2.4: a solicitation for the VIP gets a solicited advertisement from the
/// outside port's MAC, to the solicitor, with the target link-layer address — byte for byte
/// what an independent builder makes.
#[test]
fn a_solicitation_for_the_vip_is_answered_byte_exact() {
    let mut w = worker(NAT6_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let q = ns(CLIENT_MAC, CIP, VIP, Some(CLIENT_MAC), 255);
    assert_eq!(&q[0..6], &[0x33, 0x33, 0xff, 0, 0x01, 0x00]);
    let out = feed(&mut w, &mut io, 0, OUT, &q);
    let want = na(
        OUT_MAC,
        CLIENT_MAC,
        VIP,
        CIP,
        VIP,
        Some(OUT_MAC),
        (true, true, true),
        255,
    );
    assert_eq!(out, vec![(OUT, want)]);
    assert_eq!(w.stats.nd_replies, 1);
    // The DIP, unicast (a reachability probe without a source link-layer option): the
    // answer goes to the frame's source MAC.
    let q = ns_to(
        CLIENT_MAC,
        OUT_MAC,
        CIP,
        ip6("2001:2::1"),
        "2001:2::1",
        None,
        255,
    );
    let out = feed(&mut w, &mut io, 0, OUT, &q);
    let want = na(
        OUT_MAC,
        CLIENT_MAC,
        "2001:2::1",
        CIP,
        "2001:2::1",
        Some(OUT_MAC),
        (true, true, true),
        255,
    );
    assert_eq!(out, vec![(OUT, want)]);
}

/// Duplicate address detection for one of our addresses (source ::) is answered to all
/// nodes, unsolicited, which defends the address (RFC 4861 §7.2.4).
#[test]
fn duplicate_address_detection_for_our_address_is_defended() {
    let mut w = worker(NAT6_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let q = ns(CLIENT_MAC, "::", VIP, None, 255);
    let out = feed(&mut w, &mut io, 0, OUT, &q);
    let want = na(
        OUT_MAC,
        [0x33, 0x33, 0, 0, 0, 1],
        VIP,
        "ff02::1",
        VIP,
        Some(OUT_MAC),
        (true, false, true),
        255,
    );
    assert_eq!(out, vec![(OUT, want)]);
    // DAD must carry no source link-layer option (RFC 4861 §7.1.1).
    let bad = ns(CLIENT_MAC, "::", VIP, Some(CLIENT_MAC), 255);
    assert!(feed(&mut w, &mut io, 0, OUT, &bad).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::NdMalformed), 1);
}

#[test]
fn solicitations_are_validated_and_answered_only_where_due() {
    let mut w = worker(NAT6_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    // The inside DIP is not answered on the outside port, nor an address that is not ours.
    for (port, target) in [
        (OUT, "2001:2:0:1::1"),
        (IN, "2001:2::1"),
        (OUT, "2001:2::77"),
    ] {
        let q = ns(CLIENT_MAC, CIP, target, Some(CLIENT_MAC), 255);
        assert!(feed(&mut w, &mut io, 0, port, &q).is_empty(), "{target}");
    }
    assert_eq!(w.stats.drops_of(DropReason::NdNotForUs), 3);
    // Hop limit other than 255: forwarded by a router, not on-link (RFC 4861 §7.1.1).
    let q = ns(CLIENT_MAC, CIP, VIP, Some(CLIENT_MAC), 254);
    assert!(feed(&mut w, &mut io, 0, OUT, &q).is_empty());
    // Bad ICMPv6 checksum.
    let mut q = ns(CLIENT_MAC, CIP, VIP, Some(CLIENT_MAC), 255);
    let n = q.len();
    q[n - 1] ^= 1;
    assert!(feed(&mut w, &mut io, 0, OUT, &q).is_empty());
    // Truncated: the message is shorter than the target field.
    let mut q = ns(CLIENT_MAC, CIP, VIP, None, 255);
    q.truncate(14 + 40 + 16);
    q[18..20].copy_from_slice(&16u16.to_be_bytes());
    assert!(feed(&mut w, &mut io, 0, OUT, &q).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::NdMalformed), 3);
    assert_eq!(w.stats.nd_replies, 0);
    assert_eq!(io.sent.len(), 0);
}

#[test]
fn nobody_may_claim_our_addresses() {
    let mut w = worker(NAT6_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let evil = [0x02, 0xba, 0xd0, 0, 0, 1];
    // An unsolicited advertisement of the VIP, and one of the DIP.
    for target in [VIP, "2001:2::1"] {
        let a = na(
            evil,
            [0x33, 0x33, 0, 0, 0, 1],
            CIP,
            "ff02::1",
            target,
            Some(evil),
            (false, false, true),
            255,
        );
        assert!(feed(&mut w, &mut io, 0, OUT, &a).is_empty());
    }
    // A solicitation from our own address.
    let q = ns(evil, "2001:2::1", CIP, Some(evil), 255);
    assert!(feed(&mut w, &mut io, 0, OUT, &q).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::NdClaimsOurAddress), 3);
}

/// The director resolves a real server with a multicast solicitation (RFC 4861 §7.2.2), holds
/// the SYN, and releases it on the advertisement; retries once a second and gives up after
/// three, as for ARP.
#[test]
fn the_director_solicits_an_unresolved_real_server_and_releases_the_held_frame() {
    let mut w = worker(NAT6_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    client_arrives(&mut w, &mut io);
    let syn = Tcp6::default().build();
    let out = feed(&mut w, &mut io, 1, OUT, &syn);
    assert_eq!(out.len(), 1, "a solicitation for the chosen real server");
    let (port, req) = &out[0];
    assert_eq!(*port, IN);
    let target = Ipv6Addr::from(<[u8; 16]>::try_from(&req[62..78]).unwrap());
    let (rip, mac) = if target == ip6(RIP1) {
        (RIP1, RS1_MAC)
    } else {
        (RIP2, RS2_MAC)
    };
    let want = ns(IN_MAC, "2001:2:0:1::1", rip, Some(IN_MAC), 255);
    assert_eq!(
        req, &want,
        "from the inside DIP to the RS's solicited-node group"
    );
    assert_eq!((w.stats.nd_solicits, w.stats.neighbour_held), (1, 1));

    // An advertisement of someone we do not resolve teaches nothing.
    let other = na(
        RS2_MAC,
        IN_MAC,
        "2001:2:0:1::99",
        "2001:2:0:1::1",
        "2001:2:0:1::99",
        Some(RS2_MAC),
        (false, true, true),
        255,
    );
    assert!(feed(&mut w, &mut io, 2, IN, &other).is_empty());
    // The real server answers; the held SYN leaves for its MAC.
    let a = na(
        mac,
        IN_MAC,
        rip,
        "2001:2:0:1::1",
        rip,
        Some(mac),
        (false, true, true),
        255,
    );
    let out = feed(&mut w, &mut io, 2, IN, &a);
    assert_eq!(out.len(), 1);
    assert_eq!(check6(&out[0].1).dst_mac, mac);
    assert_eq!(w.stats.nd_adverts_received, 2, "both were to our address");

    // Another connection goes to the other, unresolved, real server; nobody answers.
    let syn2 = Tcp6 {
        sport: 40001,
        ..Tcp6::default()
    }
    .build();
    assert_eq!(feed(&mut w, &mut io, 3, OUT, &syn2).len(), 1);
    let s = 1_000_000_000;
    let mut probes = 0;
    for t in 1..=4 {
        w.tick(3 + t * s, &mut io);
        probes += io.take().len();
    }
    assert_eq!(probes, 2, "three solicitations in all");
    assert_eq!(w.stats.drops_of(DropReason::NeighbourUnresolved), 1);
}

/// With several workers, each resolves for itself: an ND frame another worker received
/// teaches this one too (`learn_arp`), and releases what it held.
#[test]
fn a_copy_of_an_advertisement_from_another_worker_releases_held_frames() {
    let mut w = worker(NAT6_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    // The client's solicitation, received by another worker.
    let q = ns(CLIENT_MAC, CIP, VIP, Some(CLIENT_MAC), 255);
    w.learn_arp(0, OUT, VecBuf::from_frame(&q), &mut io);
    assert!(io.take().is_empty(), "learnt, not answered");
    let out = feed(&mut w, &mut io, 1, OUT, &Tcp6::default().build());
    assert_eq!(out.len(), 1);
    let rip = Ipv6Addr::from(<[u8; 16]>::try_from(&out[0].1[62..78]).unwrap());
    let mac = if rip == ip6(RIP1) { RS1_MAC } else { RS2_MAC };
    let a = na(
        mac,
        IN_MAC,
        &rip.to_string(),
        "2001:2:0:1::1",
        &rip.to_string(),
        Some(mac),
        (false, true, true),
        255,
    );
    w.learn_arp(2, IN, VecBuf::from_frame(&a), &mut io);
    let out = io.take();
    assert_eq!(out.len(), 1, "the held SYN");
    // The SYN-ACK goes back to the client, whose MAC came from the copied solicitation.
    let s = check6(&out[0].1);
    let synack = Tcp6 {
        src_mac: mac,
        dst_mac: IN_MAC,
        src: if rip == ip6(RIP1) { RIP1 } else { RIP2 },
        sport: 8080,
        dst: CIP,
        dport: 40000,
        ack: true,
        ..Tcp6::default()
    }
    .build();
    assert_eq!(s.dport, 8080);
    let out = feed(&mut w, &mut io, 3, IN, &synack);
    assert_eq!(out.len(), 1);
    assert_eq!(check6(&out[0].1).dst_mac, CLIENT_MAC);
}

// ---- NAT --------------------------------------------------------------------------------------

/// LVS.md lab 1 over IPv6: CIP:cport → VIP:80 becomes CIP:cport → RIP:8080 and back, hop
/// limit decremented, checksums updated over the 128-bit pseudo-header.
#[test]
fn nat6_rewrites_both_directions() {
    let (mut w, mut io) = nat6_ready();
    let syn = Tcp6 {
        payload: b"hello",
        ..Tcp6::default()
    }
    .build();
    let out = feed(&mut w, &mut io, 1, OUT, &syn);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, IN);
    let (rip, mac) = rs_of(&out[0].1);
    assert_eq!(
        check6(&out[0].1),
        Seen6 {
            dst_mac: mac,
            src_mac: IN_MAC,
            src: ip6(CIP),
            dst: ip6(rip),
            hop: 63,
            sport: 40000,
            dport: 8080,
        }
    );
    // Only the destination, the checksum and the hop limit changed.
    assert_eq!(out[0].1.len(), syn.len());
    assert_eq!(&out[0].1[14 + 40 + 20..], b"hello");

    let synack = Tcp6 {
        src_mac: mac,
        dst_mac: IN_MAC,
        src: rip,
        sport: 8080,
        dst: CIP,
        dport: 40000,
        ack: true,
        ..Tcp6::default()
    }
    .build();
    let out = feed(&mut w, &mut io, 2, IN, &synack);
    assert_eq!(out.len(), 1);
    assert_eq!(
        check6(&out[0].1),
        Seen6 {
            dst_mac: CLIENT_MAC,
            src_mac: OUT_MAC,
            src: ip6(VIP),
            dst: ip6(CIP),
            hop: 63,
            sport: 80,
            dport: 40000,
        }
    );
    assert_eq!(w.conns6().len(), 1);
    assert_eq!(w.conns().len(), 0, "nothing in the IPv4 table");
    // Traffic counted for the real server, IP length in bytes (40 + 20 + 5).
    let t: u64 = w.traffic().iter().map(|t| t.in_bytes).sum();
    assert_eq!(t, 65);
}

#[test]
fn nat6_rr_alternates_and_udp_is_rewritten() {
    let (mut w, mut io) = nat6_ready();
    let mut seen = Vec::new();
    for i in 0..4 {
        let syn = Tcp6 {
            sport: 40000 + i,
            ..Tcp6::default()
        }
        .build();
        let out = feed(&mut w, &mut io, 1, OUT, &syn);
        seen.push(rs_of(&out[0].1).0);
    }
    assert_ne!(seen[0], seen[1]);
    assert_eq!(seen[0], seen[2]);
    assert_eq!(seen[1], seen[3]);

    let q = udp6(CIP, 5353, VIP, 53, b"query");
    let out = feed(&mut w, &mut io, 2, OUT, &q);
    assert_eq!(out.len(), 1);
    let s = check6(&out[0].1);
    assert_eq!((s.dst, s.dport, s.sport), (ip6(RIP1), 53, 5353));
    let mut r = Vec::new();
    PacketBuilder::ethernet2(RS1_MAC, IN_MAC)
        .ipv6(ip6(RIP1).octets(), ip6(CIP).octets(), 64)
        .udp(53, 5353)
        .write(&mut r, b"answer")
        .unwrap();
    let out = feed(&mut w, &mut io, 3, IN, &r);
    let s = check6(&out[0].1);
    assert_eq!(
        (s.src, s.sport, s.dst, s.dport),
        (ip6(VIP), 53, ip6(CIP), 5353)
    );
}

#[test]
fn hop_limit_one_is_not_forwarded() {
    let (mut w, mut io) = nat6_ready();
    let syn = Tcp6 {
        hop: 1,
        ..Tcp6::default()
    }
    .build();
    assert!(feed(&mut w, &mut io, 1, OUT, &syn).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::TtlExceeded), 1);
}

/// Hop-by-Hop and Destination Options headers are walked to find TCP, and travel on
/// untouched.
#[test]
fn extension_headers_are_skipped_and_kept() {
    let (mut w, mut io) = nat6_ready();
    let syn = Tcp6::default().build();
    // Insert Hop-by-Hop (8 bytes, PadN) and Destination Options (8 bytes, PadN) before TCP.
    let mut f = syn[..54].to_vec();
    f[20] = 0; // next header: Hop-by-Hop
    f.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
    f.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
    f.extend_from_slice(&syn[54..]);
    let plen = u16::from_be_bytes([f[18], f[19]]) + 16;
    f[18..20].copy_from_slice(&plen.to_be_bytes());
    let out = feed(&mut w, &mut io, 1, OUT, &f);
    assert_eq!(out.len(), 1);
    let (rip, _) = rs_of(&out[0].1);
    let s = check6(&out[0].1);
    assert_eq!((s.dst, s.dport), (ip6(rip), 8080));
    assert_eq!(&out[0].1[54..70], &f[54..70], "extension headers kept");
}

// ---- DR ---------------------------------------------------------------------------------------

const DR6_LAB: &str = r#"
[[ports]]
name = "lan"
device = "net_ring0"
addresses = ["2001:2:0:1::2/64"]
[[routes]]
prefix = "::/0"
via = "2001:2:0:1::fe"
port = "lan"
[[services]]
protocol = "tcp"
address = "[2001:2:0:1::200]:80"
scheduler = "rr"
[[services.real_servers]]
address = "[2001:2:0:1::10]:80"
method = "dr"
"#;

/// DR over IPv6: only the Ethernet header changes, to the RS's MAC found by ND.
#[test]
fn dr6_changes_only_the_ethernet_header() {
    let mut w = worker(DR6_LAB, &[OUT_MAC]);
    let mut io = CaptureIo::default();
    // The router resolves the VIP.
    let q = ns(
        ROUTER_MAC,
        "2001:2:0:1::fe",
        "2001:2:0:1::200",
        Some(ROUTER_MAC),
        255,
    );
    assert_eq!(feed(&mut w, &mut io, 0, 0, &q).len(), 1);
    let syn = Tcp6 {
        src_mac: ROUTER_MAC,
        dst: "2001:2:0:1::200",
        hop: 63,
        ..Tcp6::default()
    }
    .build();
    let out = feed(&mut w, &mut io, 1, 0, &syn);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].1,
        ns(OUT_MAC, "2001:2:0:1::2", RIP1, Some(OUT_MAC), 255)
    );
    let a = na(
        RS1_MAC,
        OUT_MAC,
        RIP1,
        "2001:2:0:1::2",
        RIP1,
        Some(RS1_MAC),
        (false, true, true),
        255,
    );
    let out = feed(&mut w, &mut io, 2, 0, &a);
    assert_eq!(out.len(), 1);
    let f = &out[0].1;
    assert_eq!(&f[0..6], &RS1_MAC);
    assert_eq!(&f[6..12], &OUT_MAC);
    assert_eq!(
        &f[12..],
        &syn[12..],
        "the IPv6 packet as the client sent it"
    );
}

// ---- FullNAT ----------------------------------------------------------------------------------

const FULLNAT6_LAB: &str = r#"
[[ports]]
name = "outside"
device = "net_ring0"
addresses = ["2001:2::1/64"]
[[ports]]
name = "inside"
device = "net_ring1"
addresses = ["2001:2:0:1::2/64"]
local_addresses = ["2001:2:0:1::3"]
[[routes]]
prefix = "2001:2:0:2::/63"
via = "2001:2:0:1::fe"
port = "inside"
[[neighbours]]
port = "inside"
address = "2001:2:0:1::fe"
mac = "02:ee:00:00:00:fe"
[[neighbours]]
port = "outside"
address = "2001:2::2"
mac = "02:c1:00:00:00:02"
[[services]]
protocol = "tcp"
address = "[2001:2::100]:80"
scheduler = "rr"
[[services.real_servers]]
address = "[2001:2:0:2::10]:8080"
method = "fullnat"
"#;

/// FullNAT over IPv6: LIP:lport → RIP:rport with the client in the IPv6 TOA option (kind 254,
/// length 20: port and address, DPVS's layout) and the MSS lowered by 20; the reply comes
/// back as VIP:80 → CIP:cport.
#[test]
fn fullnat6_rewrites_both_ends_and_gives_the_client_in_toa() {
    let mut w = worker(FULLNAT6_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let syn = Tcp6 {
        mss: Some(1440),
        ..Tcp6::default()
    }
    .build();
    let out = feed(&mut w, &mut io, 0, OUT, &syn);
    assert_eq!(out.len(), 1, "static neighbours: no ND wait");
    let (port, f) = &out[0];
    assert_eq!(*port, IN);
    assert_eq!(f.len(), syn.len() + 20);
    let h = PacketHeaders::from_ethernet_slice(f).unwrap();
    let Some(NetHeaders::Ipv6(ip, _)) = &h.net else {
        panic!()
    };
    assert_eq!(Ipv6Addr::from(ip.source), ip6("2001:2:0:1::3"), "the LIP");
    assert_eq!(Ipv6Addr::from(ip.destination), ip6("2001:2:0:2::10"));
    assert_eq!(ip.hop_limit, 63);
    let Some(TransportHeader::Tcp(t)) = &h.transport else {
        panic!()
    };
    assert_eq!(
        t.checksum,
        t.calc_checksum_ipv6(ip, h.payload.slice()).unwrap()
    );
    assert_eq!(t.destination_port, 8080);
    let lport = t.source_port;
    assert!(lport >= 1024);
    // Options: MSS lowered by the option's 20 bytes, SACK permitted, then TOA.
    let opts = t.options.as_slice();
    let toa_at = opts.iter().position(|&b| b == 254).expect("TOA option");
    let toa = &opts[toa_at..toa_at + 20];
    assert_eq!(toa[1], 20);
    assert_eq!(u16::from_be_bytes([toa[2], toa[3]]), 40000);
    assert_eq!(&toa[4..], &ip6(CIP).octets());
    let mss: Vec<u16> = t
        .options_iterator()
        .filter_map(|o| match o {
            Ok(TcpOptionElement::MaximumSegmentSize(m)) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(mss, vec![1420]);
    assert_eq!(w.stats.toa_added, 1);

    // The RS answers the LIP.
    let synack = Tcp6 {
        src_mac: ROUTER_MAC,
        dst_mac: IN_MAC,
        src: "2001:2:0:2::10",
        sport: 8080,
        dst: "2001:2:0:1::3",
        dport: lport,
        ack: true,
        ..Tcp6::default()
    }
    .build();
    let out = feed(&mut w, &mut io, 1, IN, &synack);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, OUT);
    assert_eq!(
        check6(&out[0].1),
        Seen6 {
            dst_mac: CLIENT_MAC,
            src_mac: OUT_MAC,
            src: ip6(VIP),
            dst: ip6(CIP),
            hop: 63,
            sport: 80,
            dport: 40000,
        }
    );
    // Later segments carry no TOA.
    let ack = Tcp6 {
        syn: false,
        ack: true,
        payload: b"GET /",
        ..Tcp6::default()
    }
    .build();
    let out = feed(&mut w, &mut io, 2, OUT, &ack);
    assert_eq!(out[0].1.len(), ack.len());
    let s = check6(&out[0].1);
    assert_eq!((s.src, s.sport), (ip6("2001:2:0:1::3"), lport));
    // The connection gives its local port back when it goes.
    assert_eq!(w.conns6().len(), 1);
    w.tick(10_000 * 1_000_000_000, &mut io);
    assert_eq!(w.conns6().len(), 0);
}

// ---- TUN --------------------------------------------------------------------------------------

const TUN6_LAB: &str = r#"
[[ports]]
name = "lan"
device = "net_ring0"
addresses = ["2001:2:0:1::2/64"]
[[routes]]
prefix = "::/0"
via = "2001:2:0:1::fe"
port = "lan"
[[neighbours]]
port = "lan"
address = "2001:2:0:1::fe"
mac = "02:ee:00:00:00:fe"
[[services]]
protocol = "tcp"
address = "[2001:2:0:1::200]:80"
scheduler = "rr"
[[services.real_servers]]
address = "[2001:2:0:3::10]:80"
method = "tun"
"#;

fn tun6_syn(payload: &'static [u8], mss: Option<u16>) -> Vec<u8> {
    Tcp6 {
        src_mac: ROUTER_MAC,
        dst: "2001:2:0:1::200",
        hop: 60,
        mss,
        payload,
        ..Tcp6::default()
    }
    .build()
}

/// TUN to an IPv6 real server: IPv6-in-IPv6 (RFC 2473), outer DIP → RIP with next header 41
/// and the inner hop limit; the inner SYN's MSS clamped to what fits the tunnel.
#[test]
fn tun6_wraps_the_clients_packet_in_ipv6() {
    let mut w = worker(TUN6_LAB, &[OUT_MAC]);
    let mut io = CaptureIo::default();
    let syn = tun6_syn(b"", Some(1440));
    let out = feed(&mut w, &mut io, 1, 0, &syn);
    assert_eq!(out.len(), 1);
    let f = &out[0].1;
    assert_eq!(&f[0..6], &ROUTER_MAC);
    assert_eq!(&f[12..14], &[0x86, 0xdd]);
    let (outer, inner) = Ipv6Header::from_slice(&f[14..]).unwrap();
    assert_eq!(outer.next_header, IpNumber::IPV6);
    assert_eq!(Ipv6Addr::from(outer.source), ip6("2001:2:0:1::2"));
    assert_eq!(Ipv6Addr::from(outer.destination), ip6("2001:2:0:3::10"));
    assert_eq!(outer.hop_limit, 60);
    assert_eq!(usize::from(outer.payload_length), syn.len() - 14);
    let (iip, rest) = Ipv6Header::from_slice(inner).unwrap();
    assert_eq!(Ipv6Addr::from(iip.source), ip6(CIP));
    assert_eq!(Ipv6Addr::from(iip.destination), ip6("2001:2:0:1::200"));
    let (tcp, payload) = TcpHeader::from_slice(rest).unwrap();
    assert_eq!(tcp.checksum, tcp.calc_checksum_ipv6(&iip, payload).unwrap());
    let mss: Vec<u16> = tcp
        .options_iterator()
        .filter_map(|o| match o {
            Ok(TcpOptionElement::MaximumSegmentSize(m)) => Some(m),
            _ => None,
        })
        .collect();
    // 1500 - 40 (outer) - 40 (inner IPv6) - 20 (TCP).
    assert_eq!(mss, vec![1400]);
    // A small MSS is left alone: the inner packet is the client's, byte for byte.
    let syn = tun6_syn(b"", Some(1200));
    let out = feed(&mut w, &mut io, 2, 0, &syn);
    assert_eq!(&out[0].1[14 + 40..], &syn[14..]);
}

/// A packet that would not fit the port's MTU once wrapped gets "packet too big" with the
/// MTU that fits (RFC 4443 §3.2): IPv6 routers never fragment.
#[test]
fn tun6_too_big_gets_packet_too_big_with_the_tunnel_mtu() {
    let mut w = worker(TUN6_LAB, &[OUT_MAC]);
    let mut io = CaptureIo::default();
    static BIG: [u8; 1440] = [0x61; 1440];
    let syn = tun6_syn(&BIG, None);
    assert_eq!(syn.len(), 14 + 1500);
    let out = feed(&mut w, &mut io, 1, 0, &syn);
    assert_eq!(out.len(), 1);
    let f = &out[0].1;
    assert_eq!(&f[0..6], &ROUTER_MAC);
    let h = PacketHeaders::from_ethernet_slice(f).unwrap();
    let Some(NetHeaders::Ipv6(ip, _)) = &h.net else {
        panic!()
    };
    assert_eq!(Ipv6Addr::from(ip.source), ip6("2001:2:0:1::2"));
    assert_eq!(Ipv6Addr::from(ip.destination), ip6(CIP));
    let Some(TransportHeader::Icmpv6(icmp)) = &h.transport else {
        panic!("{:?}", h.transport)
    };
    assert_eq!(icmp.icmp_type, Icmpv6Type::PacketTooBig { mtu: 1460 });
    assert_eq!(
        icmp.checksum,
        icmp.icmp_type
            .calc_checksum(ip.source, ip.destination, h.payload.slice())
            .unwrap()
    );
    // As much of the packet as keeps the error within 1280 bytes.
    assert_eq!(f.len(), 14 + 1280);
    assert_eq!(h.payload.slice(), &syn[14..14 + 1280 - 48]);
    assert_eq!(w.stats.icmp_errors_sent, 1);
    assert_eq!(
        w.conns6().len(),
        1,
        "the connection stays; the client retries smaller"
    );
}

// ---- ICMPv6 -----------------------------------------------------------------------------------

fn echo(dst: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, OUT_MAC)
        .ipv6(ip6(CIP).octets(), ip6(dst).octets(), 64)
        .icmpv6_echo_request(0x1234, 7)
        .write(&mut out, payload)
        .unwrap();
    out
}

#[test]
fn echo_requests_to_our_addresses_are_answered() {
    let mut w = worker(NAT6_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    for dst in [VIP, "2001:2::1"] {
        let req = echo(dst, b"ping6");
        let out = feed(&mut w, &mut io, 0, OUT, &req);
        assert_eq!(out.len(), 1);
        let f = &out[0].1;
        let mut want = Vec::new();
        PacketBuilder::ethernet2(OUT_MAC, CLIENT_MAC)
            .ipv6(ip6(dst).octets(), ip6(CIP).octets(), 64)
            .icmpv6_echo_reply(0x1234, 7)
            .write(&mut want, b"ping6")
            .unwrap();
        assert_eq!(f, &want, "to {dst}");
    }
    assert_eq!(w.stats.icmp_echo_replies, 2);
    // Behind a Destination Options header: answered without it.
    let req = echo(VIP, b"opt");
    let mut f = req[..54].to_vec();
    f[20] = 60;
    f.extend_from_slice(&[58, 0, 1, 4, 0, 0, 0, 0]);
    f.extend_from_slice(&req[54..]);
    let plen = u16::from_be_bytes([f[18], f[19]]) + 8;
    f[18..20].copy_from_slice(&plen.to_be_bytes());
    let out = feed(&mut w, &mut io, 0, OUT, &f);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1.len(), req.len());
    assert_eq!(check6(&out[0].1).dst, ip6(CIP));
    assert_eq!(out[0].1[54], 129);
    // Not ours: no answer; a broken checksum: no answer.
    assert!(feed(&mut w, &mut io, 0, OUT, &echo("2001:2::55", b"x")).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::NoService), 1);
    let mut bad = echo(VIP, b"x");
    let n = bad.len();
    bad[n - 1] ^= 0x40;
    assert!(feed(&mut w, &mut io, 0, OUT, &bad).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::LocalUnhandled), 1);
}

/// An ICMPv6 error of `icmp_type` from `src` to `dst`, quoting `quoted` (an IPv6 packet).
fn icmp6_error(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: &str,
    dst: &str,
    icmp_type: Icmpv6Type,
    quoted: &[u8],
) -> Vec<u8> {
    let mut f = Vec::new();
    PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv6(ip6(src).octets(), ip6(dst).octets(), 64)
        .icmpv6(icmp_type)
        .write(&mut f, quoted)
        .unwrap();
    f
}

/// Parse an ICMPv6 error: outer header, ICMPv6 checksum checked, the quoted header and ports.
fn parse_icmp6(f: &[u8]) -> (Ipv6Header, Icmpv6Type, Ipv6Header, [u16; 2]) {
    let h = PacketHeaders::from_ethernet_slice(f).unwrap();
    let Some(NetHeaders::Ipv6(outer, _)) = &h.net else {
        panic!()
    };
    let Some(TransportHeader::Icmpv6(icmp)) = &h.transport else {
        panic!("{:?}", h.transport)
    };
    let payload = h.payload.slice();
    assert_eq!(
        icmp.checksum,
        icmp.icmp_type
            .calc_checksum(outer.source, outer.destination, payload)
            .unwrap(),
        "ICMPv6 checksum"
    );
    let (inner, rest) = Ipv6Header::from_slice(payload).unwrap();
    let ports = [
        u16::from_be_bytes([rest[0], rest[1]]),
        u16::from_be_bytes([rest[2], rest[3]]),
    ];
    (outer.clone(), icmp.icmp_type, inner, ports)
}

#[test]
fn icmpv6_errors_about_a_nat_connection_are_relayed_translated() {
    let (mut w, mut io) = nat6_ready();
    let out = feed(&mut w, &mut io, 1, OUT, &Tcp6::default().build());
    let to_rs = out[0].1.clone();
    let (rip, mac) = rs_of(&to_rs);
    // The RS side: "port unreachable", quoting what the RS got.
    let err = icmp6_error(
        mac,
        IN_MAC,
        rip,
        CIP,
        Icmpv6Type::DestinationUnreachable(etherparse::icmpv6::DestUnreachableCode::Port),
        &to_rs[14..],
    );
    let out = feed(&mut w, &mut io, 2, IN, &err);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, OUT);
    assert_eq!(&out[0].1[0..6], &CLIENT_MAC);
    let (outer, _, inner, ports) = parse_icmp6(&out[0].1);
    assert_eq!(Ipv6Addr::from(outer.source), ip6(VIP));
    assert_eq!(Ipv6Addr::from(outer.destination), ip6(CIP));
    assert_eq!(outer.hop_limit, 63);
    assert_eq!(Ipv6Addr::from(inner.source), ip6(CIP));
    assert_eq!(Ipv6Addr::from(inner.destination), ip6(VIP));
    assert_eq!(ports, [40000, 80]);
    // The client side: "packet too big" about the VIP's reply reaches the RS, about its own
    // packet.
    let reply = Tcp6 {
        src_mac: OUT_MAC,
        dst_mac: CLIENT_MAC,
        src: VIP,
        sport: 80,
        dst: CIP,
        dport: 40000,
        ack: true,
        ..Tcp6::default()
    }
    .build();
    let err = icmp6_error(
        CLIENT_MAC,
        OUT_MAC,
        CIP,
        VIP,
        Icmpv6Type::PacketTooBig { mtu: 1280 },
        &reply[14..],
    );
    let out = feed(&mut w, &mut io, 3, OUT, &err);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, IN);
    let (outer, t, inner, ports) = parse_icmp6(&out[0].1);
    assert_eq!(t, Icmpv6Type::PacketTooBig { mtu: 1280 });
    assert_eq!(Ipv6Addr::from(outer.source), ip6(CIP));
    assert_eq!(Ipv6Addr::from(outer.destination), ip6(rip));
    assert_eq!(Ipv6Addr::from(inner.source), ip6(rip));
    assert_eq!(ports, [8080, 40000]);
    assert_eq!(w.stats.icmp_relayed, 2);

    // About a flow nobody tracks; with a broken checksum.
    let other = Tcp6 {
        sport: 1234,
        ..Tcp6::default()
    }
    .build();
    let err = icmp6_error(
        CLIENT_MAC,
        OUT_MAC,
        CIP,
        VIP,
        Icmpv6Type::TimeExceeded(etherparse::icmpv6::TimeExceededCode::HopLimitExceeded),
        &other[14..],
    );
    assert!(feed(&mut w, &mut io, 4, OUT, &err).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::IcmpNoConnection), 1);
    let mut bad = err.clone();
    bad[14 + 40 + 8 + 8] ^= 1;
    assert!(feed(&mut w, &mut io, 4, OUT, &bad).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::IcmpMalformed), 1);
}

#[test]
fn icmpv6_errors_about_a_fullnat_connection_are_relayed_translated() {
    let mut w = worker(FULLNAT6_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let out = feed(&mut w, &mut io, 0, OUT, &Tcp6::default().build());
    let to_rs = out[0].1.clone();
    let lport = check6(&to_rs).sport;
    // A router behind the director: the packet LIP:lport → RIP:8080 is too big.
    let err = icmp6_error(
        ROUTER_MAC,
        IN_MAC,
        "2001:2:0:1::fe",
        "2001:2:0:1::3",
        Icmpv6Type::PacketTooBig { mtu: 1400 },
        &to_rs[14..],
    );
    let out = feed(&mut w, &mut io, 1, IN, &err);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, OUT);
    let (outer, _, inner, ports) = parse_icmp6(&out[0].1);
    assert_eq!(Ipv6Addr::from(outer.source), ip6(VIP));
    assert_eq!(Ipv6Addr::from(outer.destination), ip6(CIP));
    assert_eq!(Ipv6Addr::from(inner.source), ip6(CIP));
    assert_eq!(Ipv6Addr::from(inner.destination), ip6(VIP));
    assert_eq!(ports, [40000, 80]);
    assert_ne!(lport, 40000);
}

// ---- Malformed input --------------------------------------------------------------------------

/// Every prefix of a valid frame, and every corruption below, is a counted drop: nothing is
/// sent, nothing panics, every frame is accounted for.
#[test]
fn malformed_ipv6_frames_are_counted_drops() {
    let (mut w, mut io) = nat6_ready();
    let syn = Tcp6::default().build();
    let rx0 = w.stats.rx_frames;
    let drops0 = w.stats.total_drops();
    for n in 0..syn.len() {
        assert!(
            feed(&mut w, &mut io, 1, OUT, &syn[..n]).is_empty(),
            "len {n}"
        );
    }
    assert_eq!(
        w.stats.total_drops() - drops0,
        w.stats.rx_frames - rx0,
        "every truncation counted"
    );
    assert!(w.stats.drops_of(DropReason::Ipv6Truncated) > 0);
    assert!(w.stats.drops_of(DropReason::Ipv6BadPayloadLen) > 0);

    let fed = |f: &[u8], w: &mut Worker<VecBuf>, io: &mut CaptureIo| {
        assert!(feed(w, io, 1, OUT, f).is_empty());
    };
    // Payload length beyond the frame.
    let mut f = syn.clone();
    f[18..20].copy_from_slice(&100u16.to_be_bytes());
    fed(&f, &mut w, &mut io);
    // 20 truncations cut into the TCP header, and this one.
    assert_eq!(w.stats.drops_of(DropReason::Ipv6BadPayloadLen), 21);
    // Version 4 under the IPv6 EtherType.
    let mut f = syn.clone();
    f[14] = 0x45;
    fed(&f, &mut w, &mut io);
    assert_eq!(w.stats.drops_of(DropReason::Ipv6BadVersion), 1);
    // Multicast and loopback sources.
    for src in [[0xffu8, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], {
        let mut a = [0u8; 16];
        a[15] = 1;
        a
    }] {
        let mut f = syn.clone();
        f[22..38].copy_from_slice(&src);
        fed(&f, &mut w, &mut io);
    }
    assert_eq!(w.stats.drops_of(DropReason::Ipv6BadSource), 2);
    // TCP header cut short by the payload length.
    let mut f = syn.clone();
    f[18..20].copy_from_slice(&10u16.to_be_bytes());
    fed(&f, &mut w, &mut io);
    assert_eq!(w.stats.drops_of(DropReason::TcpMalformed), 1);
}

/// A chain of extension headers that never ends in time (what a loop of headers amounts to
/// on the wire), one running past the payload, Hop-by-Hop out of place, and a Routing header
/// with segments left: counted, never walked further.
#[test]
fn extension_header_abuse_is_a_counted_drop() {
    let (mut w, mut io) = nat6_ready();
    let syn = Tcp6::default().build();
    let with_ext = |first: u8, ext: &[u8]| {
        let mut f = syn[..54].to_vec();
        f[20] = first;
        f.extend_from_slice(ext);
        f.extend_from_slice(&syn[54..]);
        let plen = u16::from_be_bytes([f[18], f[19]]) + ext.len() as u16;
        f[18..20].copy_from_slice(&plen.to_be_bytes());
        f
    };
    // Nine Destination Options headers, each pointing at the next.
    let mut chain = Vec::new();
    for i in 0..9 {
        chain.extend_from_slice(&[if i == 8 { 6 } else { 60 }, 0, 1, 4, 0, 0, 0, 0]);
    }
    let cases = [
        with_ext(60, &chain),
        with_ext(60, &[6, 200, 1, 4, 0, 0, 0, 0]),
        with_ext(60, &[0, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0]),
        with_ext(43, &[6, 0, 0, 1, 0, 0, 0, 0]),
    ];
    for f in &cases {
        assert!(feed(&mut w, &mut io, 1, OUT, f).is_empty());
    }
    assert_eq!(w.stats.drops_of(DropReason::Ipv6ExtHeader), 4);
    // Eight are fine.
    let mut chain = Vec::new();
    for i in 0..8 {
        chain.extend_from_slice(&[if i == 7 { 6 } else { 60 }, 0, 1, 4, 0, 0, 0, 0]);
    }
    assert_eq!(
        feed(&mut w, &mut io, 1, OUT, &with_ext(60, &chain)).len(),
        1
    );
}

/// Fragments are not tracked: a counted drop, as for IPv4.
#[test]
fn fragments_are_a_counted_drop() {
    let (mut w, mut io) = nat6_ready();
    let syn = Tcp6::default().build();
    let mut f = syn[..54].to_vec();
    f[20] = 44;
    f.extend_from_slice(&[6, 0, 0, 1, 0, 0, 0, 42]); // first fragment, more to come
    f.extend_from_slice(&syn[54..]);
    let plen = u16::from_be_bytes([f[18], f[19]]) + 8;
    f[18..20].copy_from_slice(&plen.to_be_bytes());
    assert!(feed(&mut w, &mut io, 1, OUT, &f).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::Ipv6Fragment), 1);
}

/// Random corruption of valid IPv6 frames of every kind never panics and never leaves a
/// frame unaccounted.
#[test]
fn corrupted_ipv6_frames_never_panic() {
    let (mut w, mut io) = nat6_ready();
    let frames = [
        Tcp6::default().build(),
        udp6(CIP, 5353, VIP, 53, b"q"),
        ns(CLIENT_MAC, CIP, VIP, Some(CLIENT_MAC), 255),
        echo(VIP, b"x"),
        icmp6_error(
            CLIENT_MAC,
            OUT_MAC,
            CIP,
            VIP,
            Icmpv6Type::PacketTooBig { mtu: 1280 },
            &Tcp6::default().build()[14..],
        ),
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..4000 {
        let mut f = frames[round % frames.len()].clone();
        for _ in 0..(next() % 4 + 1) {
            let i = 14 + (next() as usize) % (f.len() - 14);
            f[i] = next() as u8;
        }
        if next() % 5 == 0 {
            let n = (next() as usize) % f.len();
            f.truncate(n);
        }
        let rx = w.stats.rx_frames;
        let before = w.stats.total_drops() + w.stats.tx_frames + w.stats.neighbour_held;
        let consumed = w.stats.nd_adverts_received;
        w.handle(round as u64, OUT, VecBuf::from_frame(&f), &mut io);
        io.take();
        let after = w.stats.total_drops() + w.stats.tx_frames + w.stats.neighbour_held;
        assert_eq!(w.stats.rx_frames, rx + 1);
        assert!(
            after > before || w.stats.nd_adverts_received > consumed,
            "frame {round} unaccounted: {f:02x?}"
        );
    }
}

// ---- Firewall marks, persistence, decisions, steering -----------------------------------------

const FWMARK6_LAB: &str = r#"
[[ports]]
name = "lan"
device = "net_ring0"
addresses = ["2001:2:0:1::2/64", "198.18.1.2/24"]
[[fwmark]]
mark = 66
destinations = ["2001:2:0:1::200/128"]
protocol = "tcp"
ports = [80, 443]
[[services]]
fwmark = 66
ipv6 = true
scheduler = "rr"
persistence = 300
persistence_netmask = "64"
[[services.real_servers]]
address = "2001:2:0:1::10"
method = "dr"
[[services.real_servers]]
address = "2001:2:0:1::20"
method = "dr"
[[neighbours]]
port = "lan"
address = "2001:2:0:1::10"
mac = "02:51:00:00:00:10"
[[neighbours]]
port = "lan"
address = "2001:2:0:1::20"
mac = "02:52:00:00:00:20"
"#;

/// A firewall mark with an IPv6 destination selects the IPv6 mark service; persistence with
/// a /64 netmask sends every client of the /64, on every port of the mark, to one real
/// server.
#[test]
fn fwmark6_with_persistence_per_client_prefix() {
    let mut w = worker(FWMARK6_LAB, &[OUT_MAC]);
    let mut io = CaptureIo::default();
    let mut macs = Vec::new();
    for (src, dport, sport) in [
        ("2001:2::2", 80, 40000),
        ("2001:2::2", 443, 40001),
        ("2001:2::3", 80, 40002),
        ("2001:2::99:3", 443, 40003),
    ] {
        let syn = Tcp6 {
            src,
            sport,
            dst: "2001:2:0:1::200",
            dport,
            ..Tcp6::default()
        }
        .build();
        let out = feed(&mut w, &mut io, 1, 0, &syn);
        assert_eq!(out.len(), 1, "{src} → {dport}");
        macs.push(<[u8; 6]>::try_from(&out[0].1[0..6]).unwrap());
    }
    assert!(macs.iter().all(|m| *m == macs[0]), "{macs:02x?}");
    // Another /64 is another template: rr moves on.
    let syn = Tcp6 {
        src: "2001:2:0:9::1",
        dst: "2001:2:0:1::200",
        ..Tcp6::default()
    }
    .build();
    let out = feed(&mut w, &mut io, 1, 0, &syn);
    assert_ne!(&out[0].1[0..6], &macs[0]);
    // Port 22 is not in the mark.
    let ssh = Tcp6 {
        dst: "2001:2:0:1::200",
        dport: 22,
        ..Tcp6::default()
    }
    .build();
    assert!(feed(&mut w, &mut io, 1, 0, &ssh).is_empty());
}

#[test]
fn decisions_over_ipv6_name_the_real_server() {
    let cfg = rvs_config::parse(NAT6_LAB).unwrap();
    let macs = [rvs_wire::MacAddr(OUT_MAC), rvs_wire::MacAddr(IN_MAC)];
    let dir = rvs_engine::Director::new(&cfg, &macs, None).unwrap();
    let mut w: Worker<VecBuf> = Worker::new(
        std::sync::Arc::new(dir),
        rvs_engine::WorkerConfig {
            record_decisions: true,
            synthetic_neighbours: true,
            ..Default::default()
        },
    );
    let mut io = CaptureIo::default();
    let out = feed(&mut w, &mut io, 1, OUT, &Tcp6::default().build());
    assert_eq!(out.len(), 1, "synthetic neighbours: no ND");
    // The synthetic MAC is 02:00 and the low 32 bits of the next hop.
    let rip = check6(&out[0].1).dst;
    assert_eq!(&out[0].1[0..2], &[2, 0]);
    assert_eq!(&out[0].1[2..6], &rip.octets()[12..]);
    let d: Vec<_> = w.take_decisions().collect();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].client, (ip6(CIP).into(), 40000));
    assert_eq!(d[0].vip, (ip6(VIP).into(), 80));
    assert_eq!(d[0].real, Some((rip.into(), 8080)));
}

/// Both directions of an IPv6 NAT flow belong to one worker, found by `steer::owner` alone;
/// neighbour discovery goes to every worker.
#[test]
fn ipv6_frames_are_steered_like_ipv4() {
    use rvs_engine::steer::{owner, Owner};
    let w = worker(NAT6_LAB, &[OUT_MAC, IN_MAC]);
    let dir = w.director();
    for i in 0..64u16 {
        let src: &'static str = Box::leak(format!("2001:2::{:x}", 0x1000 + i).into_boxed_str());
        let syn = Tcp6 {
            src,
            ..Tcp6::default()
        }
        .build();
        let reply = Tcp6 {
            src: RIP1,
            sport: 8080,
            dst: src,
            dport: 40000,
            ..Tcp6::default()
        }
        .build();
        let a = owner(dir, &syn, 4, 0);
        assert_eq!(a, owner(dir, &reply, 4, 3), "{src}");
        assert!(matches!(a, Owner::Worker(w) if w < 4));
    }
    let q = ns(CLIENT_MAC, CIP, VIP, Some(CLIENT_MAC), 255);
    assert_eq!(owner(dir, &q, 4, 1), Owner::All);
}
