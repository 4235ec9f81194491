//! Engine fixtures: crafted frames in, exact frames out, for the NAT and DR labs of LVS.md.
//! Every output checksum is checked by etherparse against a full recomputation.

mod common;

use common::*;
use rvs_engine::buf::CaptureIo;
use rvs_engine::DropReason;

const OUT: u16 = 0;
const IN: u16 = 1;

/// The client asks for the VIP; the director answers from the outside port's MAC.
#[test]
fn arp_request_for_the_vip_is_answered_exactly() {
    let mut w = worker(NAT_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let req = arp(
        1,
        CLIENT_MAC,
        [0xff; 6],
        "198.18.0.2",
        [0; 6],
        "198.18.0.100",
    );
    let out = feed(&mut w, &mut io, 0, OUT, &req);
    let want = arp(
        2,
        OUT_MAC,
        CLIENT_MAC,
        "198.18.0.100",
        CLIENT_MAC,
        "198.18.0.2",
    );
    // The reply's sender is the director; fix up the builder's "sender = source" convention.
    let mut want = want;
    want[22..28].copy_from_slice(&OUT_MAC);
    assert_eq!(out, vec![(OUT, want)]);
    assert_eq!(w.stats.arp_replies, 1);
}

#[test]
fn arp_for_our_dip_is_answered_only_on_its_own_port() {
    let mut w = worker(NAT_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let req = arp(1, RS1_MAC, [0xff; 6], "198.18.1.10", [0; 6], "198.18.1.1");
    let out = feed(&mut w, &mut io, 0, IN, &req);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, IN);
    assert_eq!(&out[0].1[6..12], &IN_MAC);
    // The same question on the outside port is not ours to answer.
    let out = feed(&mut w, &mut io, 0, OUT, &req);
    assert!(out.is_empty());
    assert_eq!(w.stats.drops_of(DropReason::ArpNotForUs), 1);
}

#[test]
fn arp_claiming_our_address_is_ignored_and_counted() {
    let mut w = worker(NAT_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let evil = [0x02, 0xba, 0xd0, 0, 0, 1];
    // Gratuitous ARP claiming the VIP, then one claiming the DIP.
    let g1 = arp(2, evil, [0xff; 6], "198.18.0.100", [0; 6], "198.18.0.100");
    let g2 = arp(1, evil, [0xff; 6], "198.18.0.1", [0; 6], "198.18.0.2");
    assert!(feed(&mut w, &mut io, 0, OUT, &g1).is_empty());
    assert!(feed(&mut w, &mut io, 0, OUT, &g2).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::ArpClaimsOurAddress), 2);
}

/// Resolve the client's MAC the way the lab does: the client asks for the VIP first.
fn client_arrives(w: &mut rvs_engine::Worker<rvs_engine::VecBuf>, io: &mut CaptureIo) {
    let req = arp(
        1,
        CLIENT_MAC,
        [0xff; 6],
        "198.18.0.2",
        [0; 6],
        "198.18.0.100",
    );
    assert_eq!(feed(w, io, 0, OUT, &req).len(), 1);
}

/// LVS.md lab 1 in frames: SYN → ARP for the RS → ARP reply → the held SYN leaves rewritten;
/// the RS's SYN-ACK comes back rewritten to the VIP.
#[test]
fn nat_rewrites_both_directions_and_waits_for_arp() {
    let mut w = worker(NAT_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    client_arrives(&mut w, &mut io);

    let syn = Tcp::default().build();
    let out = feed(&mut w, &mut io, 1, OUT, &syn);
    // rr starts with the most recently added real server (RS2) — see rvs-sched's rr tests.
    assert_eq!(out.len(), 1, "an ARP request for the chosen real server");
    let (port, req) = &out[0];
    assert_eq!(*port, IN);
    let first_rs = if req[38..42] == ip("198.18.1.10").octets() {
        ("198.18.1.10", RS1_MAC)
    } else {
        ("198.18.1.20", RS2_MAC)
    };
    let mut want = arp(1, IN_MAC, [0xff; 6], "198.18.1.1", [0; 6], first_rs.0);
    want.resize(60, 0);
    assert_eq!(
        req, &want,
        "broadcast who-has from the inside DIP, padded to 60 bytes"
    );
    assert_eq!(w.stats.neighbour_held, 1);

    // The RS answers; the held SYN goes out.
    let reply = arp(2, first_rs.1, IN_MAC, first_rs.0, IN_MAC, "198.18.1.1");
    let out = feed(&mut w, &mut io, 2, IN, &reply);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, IN);
    let seen = check(&out[0].1);
    assert_eq!(
        seen,
        Seen {
            dst_mac: first_rs.1,
            src_mac: IN_MAC,
            src: ip("198.18.0.2"),
            dst: ip(first_rs.0),
            ttl: 63,
            sport: 40000,
            dport: 8080,
        }
    );
    // Beyond the rewritten fields (MACs, TTL, destination address and port, the two
    // checksums verified above) the frame is the client's, byte for byte.
    let mut want = syn.clone();
    want[0..6].copy_from_slice(&first_rs.1);
    want[6..12].copy_from_slice(&IN_MAC);
    want[22] = 63;
    want[30..34].copy_from_slice(&ip(first_rs.0).octets());
    want[36..38].copy_from_slice(&8080u16.to_be_bytes());
    want[24..26].copy_from_slice(&out[0].1[24..26]);
    want[50..52].copy_from_slice(&out[0].1[50..52]);
    assert_eq!(out[0].1, want);

    // SYN-ACK from the real server to the client, through the director (its gateway).
    let synack = Tcp {
        src_mac: first_rs.1,
        dst_mac: IN_MAC,
        src: first_rs.0,
        sport: 8080,
        dst: "198.18.0.2",
        dport: 40000,
        syn: true,
        ack: true,
        ..Tcp::default()
    }
    .build();
    let out = feed(&mut w, &mut io, 3, IN, &synack);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, OUT);
    assert_eq!(
        check(&out[0].1),
        Seen {
            dst_mac: CLIENT_MAC,
            src_mac: OUT_MAC,
            src: ip("198.18.0.100"),
            dst: ip("198.18.0.2"),
            ttl: 63,
            sport: 80,
            dport: 40000,
        }
    );
    assert_eq!(w.stats.conns_created, 1);
    assert_eq!(w.stats.total_drops(), 0);
}

/// Both real servers resolved; four SYNs from four client ports alternate between them.
#[test]
fn nat_rr_alternates_between_real_servers() {
    let mut w = worker(NAT_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    client_arrives(&mut w, &mut io);
    // The real servers announce themselves by asking for their gateway.
    for (mac, addr) in [(RS1_MAC, "198.18.1.10"), (RS2_MAC, "198.18.1.20")] {
        let q = arp(1, mac, [0xff; 6], addr, [0; 6], "198.18.1.1");
        assert_eq!(feed(&mut w, &mut io, 0, IN, &q).len(), 1);
    }
    let mut chosen = vec![];
    for i in 0..4u16 {
        let syn = Tcp {
            sport: 41000 + i,
            ..Tcp::default()
        }
        .build();
        let out = feed(&mut w, &mut io, 1, OUT, &syn);
        assert_eq!(out.len(), 1);
        chosen.push(check(&out[0].1).dst);
    }
    assert_ne!(chosen[0], chosen[1]);
    assert_eq!(chosen[0], chosen[2]);
    assert_eq!(chosen[1], chosen[3]);
    // A retransmitted SYN of the first flow sticks to its real server.
    let again = Tcp {
        sport: 41000,
        ..Tcp::default()
    }
    .build();
    let out = feed(&mut w, &mut io, 2, OUT, &again);
    assert_eq!(check(&out[0].1).dst, chosen[0]);
    assert_eq!(w.stats.conns_created, 4);
}

#[test]
fn nat_udp_rewrites_with_a_valid_checksum() {
    let mut w = worker(NAT_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    client_arrives(&mut w, &mut io);
    let q = arp(1, RS1_MAC, [0xff; 6], "198.18.1.10", [0; 6], "198.18.1.1");
    feed(&mut w, &mut io, 0, IN, &q);
    let dns = udp("198.18.0.2", 5353, "198.18.0.100", 53, b"\x12\x34query");
    let out = feed(&mut w, &mut io, 1, OUT, &dns);
    assert_eq!(out.len(), 1);
    let s = check(&out[0].1);
    assert_eq!((s.dst, s.dport, s.ttl), (ip("198.18.1.10"), 53, 63));
}

#[test]
fn tcp_without_syn_and_without_connection_is_dropped() {
    let mut w = worker(NAT_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    client_arrives(&mut w, &mut io);
    let ack = Tcp {
        syn: false,
        ack: true,
        ..Tcp::default()
    }
    .build();
    assert!(feed(&mut w, &mut io, 1, OUT, &ack).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::NoConnection), 1);
    // Not a service and not ours: no service.
    let other = Tcp {
        dst: "198.18.0.77",
        ..Tcp::default()
    }
    .build();
    assert!(feed(&mut w, &mut io, 1, OUT, &other).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::NoService), 1);
    // TTL 1 cannot be forwarded.
    let ttl1 = Tcp {
        ttl: 1,
        sport: 999,
        ..Tcp::default()
    }
    .build();
    assert!(feed(&mut w, &mut io, 1, OUT, &ttl1).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::TtlExceeded), 1);
}

#[test]
fn a_full_connection_table_refuses_new_flows_and_keeps_old_ones() {
    let mut w = worker(NAT_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    client_arrives(&mut w, &mut io);
    for (mac, addr) in [(RS1_MAC, "198.18.1.10"), (RS2_MAC, "198.18.1.20")] {
        feed(
            &mut w,
            &mut io,
            0,
            IN,
            &arp(1, mac, [0xff; 6], addr, [0; 6], "198.18.1.1"),
        );
    }
    // max_connections = 16 in NAT_LAB.
    for i in 0..16u16 {
        let syn = Tcp {
            sport: 50000 + i,
            ..Tcp::default()
        }
        .build();
        assert_eq!(feed(&mut w, &mut io, 1, OUT, &syn).len(), 1);
    }
    let syn = Tcp {
        sport: 60000,
        ..Tcp::default()
    }
    .build();
    assert!(feed(&mut w, &mut io, 1, OUT, &syn).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::ConnTableFull), 1);
    let est = Tcp {
        sport: 50003,
        syn: false,
        ack: true,
        ..Tcp::default()
    }
    .build();
    assert_eq!(feed(&mut w, &mut io, 2, OUT, &est).len(), 1);
}

#[test]
fn connections_expire_and_release_their_real_server() {
    let mut w = worker(NAT_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    client_arrives(&mut w, &mut io);
    feed(
        &mut w,
        &mut io,
        0,
        IN,
        &arp(1, RS1_MAC, [0xff; 6], "198.18.1.10", [0; 6], "198.18.1.1"),
    );
    let dns = udp("198.18.0.2", 5353, "198.18.0.100", 53, b"q");
    assert_eq!(feed(&mut w, &mut io, 0, OUT, &dns).len(), 1);
    let counters = w.director().services[1].servers[0].counters.clone();
    let total = |c: &rvs_sched::DestCounters| {
        c.active.load(std::sync::atomic::Ordering::Relaxed)
            + c.inactive.load(std::sync::atomic::Ordering::Relaxed)
    };
    assert_eq!(total(&counters), 1);
    assert_eq!(w.conns().len(), 1);
    // UDP times out after 300 s (IPVS default).
    w.tick(299_000_000_000, &mut io);
    assert_eq!(w.conns().len(), 1);
    w.tick(301_000_000_000, &mut io);
    assert_eq!(w.conns().len(), 0);
    assert_eq!(total(&counters), 0);
    assert_eq!(w.stats.conns_expired, 1);
}

#[test]
fn icmp_echo_to_a_dip_is_answered() {
    let mut w = worker(NAT_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let mut ping = Vec::new();
    etherparse::PacketBuilder::ethernet2(CLIENT_MAC, OUT_MAC)
        .ipv4(ip("198.18.0.2").octets(), ip("198.18.0.1").octets(), 64)
        .icmpv4_echo_request(7, 1)
        .write(&mut ping, b"abcdefgh")
        .unwrap();
    let out = feed(&mut w, &mut io, 0, OUT, &ping);
    assert_eq!(out.len(), 1);
    let h = etherparse::PacketHeaders::from_ethernet_slice(&out[0].1).unwrap();
    let Some(etherparse::NetHeaders::Ipv4(ip4, _)) = &h.net else {
        panic!()
    };
    assert_eq!(ip4.header_checksum, ip4.calc_header_checksum());
    assert_eq!(ip4.source, ip("198.18.0.1").octets());
    assert_eq!(ip4.destination, ip("198.18.0.2").octets());
    let Some(etherparse::TransportHeader::Icmpv4(icmp)) = &h.transport else {
        panic!()
    };
    assert!(matches!(
        icmp.icmp_type,
        etherparse::Icmpv4Type::EchoReply(_)
    ));
    assert_eq!(
        icmp.checksum,
        icmp.icmp_type.calc_checksum(h.payload.slice())
    );
    assert_eq!(&out[0].1[0..6], &CLIENT_MAC);
}

/// LVS.md lab 2 in frames: only the MACs change; the IP packet is byte for byte the client's.
#[test]
fn dr_changes_only_the_ethernet_header() {
    let mut w = worker(DR_LAB, &[OUT_MAC]);
    let mut io = CaptureIo::default();
    for (mac, addr) in [(RS1_MAC, "198.18.1.10"), (RS2_MAC, "198.18.1.20")] {
        feed(
            &mut w,
            &mut io,
            0,
            0,
            &arp(1, mac, [0xff; 6], addr, [0; 6], "198.18.1.2"),
        );
    }
    let mut seen = vec![];
    for i in 0..4u16 {
        let syn = Tcp {
            src_mac: ROUTER_MAC,
            src: "203.0.113.9",
            dst: "198.18.1.200",
            sport: 33000 + i,
            ..Tcp::default()
        }
        .build();
        let out = feed(&mut w, &mut io, 1, 0, &syn);
        assert_eq!(out.len(), 1);
        let (port, f) = &out[0];
        assert_eq!(*port, 0);
        assert_eq!(&f[14..], &syn[14..], "IP packet untouched");
        assert_eq!(&f[6..12], &OUT_MAC);
        seen.push(f[0..6].to_vec());
    }
    assert_ne!(seen[0], seen[1]);
    assert_eq!(seen[0], seen[2]);
    assert_eq!(seen[1], seen[3]);
}

/// A frame truncated at every length, and headers with impossible fields, are counted drops.
#[test]
fn malformed_frames_are_counted_drops_never_panics() {
    let mut w = worker(NAT_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let syn = Tcp::default().build();
    for len in 0..syn.len() {
        let out = feed(&mut w, &mut io, 0, OUT, &syn[..len]);
        assert!(
            out.is_empty(),
            "truncated to {len} bytes yet something was sent"
        );
    }
    let n = syn.len() as u64;
    assert_eq!(w.stats.rx_frames, n);
    assert_eq!(
        w.stats.total_drops(),
        n,
        "every truncated frame is a counted drop"
    );
    assert_eq!(w.stats.drops_of(DropReason::EthTruncated), 14);
    assert!(w.stats.drops_of(DropReason::Ipv4Truncated) > 0);
    assert!(w.stats.drops_of(DropReason::Ipv4BadTotalLen) > 0);

    let reasons = [
        (0x44u8, DropReason::Ipv4BadHeaderLen), // IHL 4
        (0x4f, DropReason::Ipv4BadHeaderLen),   // IHL 15 > frame
        (0x65, DropReason::Ipv4BadVersion),     // version 6 in an IPv4 frame
    ];
    for (b, reason) in reasons {
        let mut f = syn.clone();
        f[14] = b;
        let before = w.stats.drops_of(reason);
        assert!(feed(&mut w, &mut io, 0, OUT, &f).is_empty());
        assert_eq!(w.stats.drops_of(reason), before + 1, "{reason:?}");
    }
    // Total length beyond the frame.
    let mut f = syn.clone();
    f[16..18].copy_from_slice(&2000u16.to_be_bytes());
    let before = w.stats.drops_of(DropReason::Ipv4BadTotalLen);
    feed(&mut w, &mut io, 0, OUT, &f);
    assert_eq!(w.stats.drops_of(DropReason::Ipv4BadTotalLen), before + 1);
    // Corrupt header checksum.
    let mut f = syn.clone();
    f[24] ^= 0xff;
    feed(&mut w, &mut io, 0, OUT, &f);
    assert_eq!(w.stats.drops_of(DropReason::Ipv4BadChecksum), 1);
    // TCP data offset below 5.
    let mut f = syn.clone();
    f[46] = 0x40;
    feed(&mut w, &mut io, 0, OUT, &f);
    assert_eq!(w.stats.drops_of(DropReason::TcpMalformed), 1);
    // Unicast to someone else's MAC.
    let mut f = syn.clone();
    f[0..6].copy_from_slice(&RS1_MAC);
    feed(&mut w, &mut io, 0, OUT, &f);
    assert_eq!(w.stats.drops_of(DropReason::NotOurMac), 1);
}

/// Traffic for a DIP that rvs does not handle goes to the kernel through the exception path
/// when the port has one, and is a counted drop otherwise.
#[test]
fn local_traffic_goes_to_the_exception_path() {
    let mut w = worker(NAT_LAB, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let ssh = Tcp {
        dst: "198.18.0.1",
        dport: 22,
        ..Tcp::default()
    }
    .build();
    assert!(feed(&mut w, &mut io, 0, OUT, &ssh).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::LocalUnhandled), 1);
    io.exception_path = true;
    assert!(feed(&mut w, &mut io, 0, OUT, &ssh).is_empty());
    assert_eq!(io.to_kernel, vec![(OUT, ssh.clone())], "as received");
    assert_eq!(w.stats.to_kernel, 1);
    // The kernel gets ARP replies addressed to us, to resolve its own neighbours.
    let reply = arp(2, RS1_MAC, IN_MAC, "198.18.1.10", IN_MAC, "198.18.1.1");
    feed(&mut w, &mut io, 0, IN, &reply);
    assert_eq!(io.to_kernel.last(), Some(&(IN, reply)));
}
