//! Every rvs-wire view over arbitrary bytes: `new_checked` and `new_unchecked`, every
//! accessor, the `Repr` parsers, the option and ND walkers; and differential checks against
//! etherparse (what each accepts, and the fields read) and against this crate's own RFC 1071
//! code (sums, and every incremental update against a full recomputation).
//!
//! Input: byte 0 selects a starting offset into the rest (0..=63), so the fuzzer can line up
//! headers at any alignment; bytes 1.. are the buffer. Every view is tried at that offset, and
//! the Ethernet chain (VLAN tags, IPv4/IPv6, TCP/UDP/ICMP, IPIP, ARP) is walked from it.

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use rvs_wire::{arp, checksum, ethernet, icmpv4, icmpv6, ipip, ipv4, ipv6, tcp, udp, vlan};

use crate::check;

/// Run one input.
pub fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let off = usize::from(sel & 63).min(rest.len());
    let buf = &rest[off..];
    every_view(buf);
    walk_frame(buf);
    checksums(buf, sel);
    incremental(buf, sel);
}

/// Every view over `b` with and without checks, every getter.
fn every_view(b: &[u8]) {
    let e = ethernet::Frame::new_unchecked(b);
    let _ = black_box((
        e.dst(),
        e.src(),
        e.ethertype(),
        e.payload(),
        e.as_bytes(),
        e.l3_location(),
    ));
    black_box(ethernet::Repr::parse(&e));
    if let Ok(e) = ethernet::Frame::new_checked(b) {
        assert!(b.len() >= ethernet::HEADER_LEN);
        assert_eq!(e.payload().len(), b.len() - ethernet::HEADER_LEN);
        if let Ok(loc) = e.l3_location() {
            assert!(loc.offset <= b.len(), "L3 offset beyond the frame");
        }
    } else {
        assert!(b.len() < ethernet::HEADER_LEN);
    }

    let t = vlan::Tag::new_unchecked(b);
    black_box((t.pcp(), t.dei(), t.vid(), t.ethertype(), t.payload()));
    if let Ok(t) = vlan::Tag::new_checked(b) {
        assert!(t.vid() <= 0x0fff && t.pcp() <= 7);
    }

    let a = arp::Packet::new_unchecked(b);
    arp_getters(&a);
    if let Ok(a) = arp::Packet::new_checked(b) {
        arp_getters(&a);
        black_box(arp::Repr::parse(&a));
    }

    ip4_view(b);
    ip6_view(b);
    tcp_view(b);
    udp_view(b);
    icmp4_view(b);
    icmp6_view(b);
    let _ = black_box(ipip::inner_offset(b));
    black_box(rvs_wire::l4_ports(b, 0));
    black_box(rvs_wire::l4_ports(b, usize::MAX - 1));
    black_box(rvs_wire::MacAddr::from_bytes(b));
    black_box(tcp::OptionsIter::new(b).count());
}

fn arp_getters<T: AsRef<[u8]>>(a: &arp::Packet<T>) {
    black_box((
        a.hardware_type(),
        a.protocol_type(),
        a.hardware_len(),
        a.protocol_len(),
        a.operation(),
        a.sender_mac(),
        a.sender_ip(),
        a.target_mac(),
        a.target_ip(),
    ));
}

fn ip4_getters<T: AsRef<[u8]>>(p: &ipv4::Packet<T>) {
    black_box((
        p.version(),
        p.header_len(),
        p.dscp_ecn(),
        p.total_len(),
        p.ident(),
        p.dont_frag(),
        p.more_frags(),
        p.frag_offset(),
        p.is_fragment(),
        p.ttl(),
        p.protocol(),
        p.checksum(),
        p.src(),
        p.dst(),
    ));
    black_box((
        p.header(),
        p.options(),
        p.payload(),
        p.as_bytes(),
        p.verify_checksum(),
    ));
}

/// IPv4: rvs-wire and etherparse accept the same headers and read the same fields.
fn ip4_view(b: &[u8]) {
    ip4_getters(&ipv4::Packet::new_unchecked(b));
    let quoted = ipv4::Packet::new_checked_quoted(b);
    let ep = etherparse::Ipv4HeaderSlice::from_slice(b).ok();
    let ep_ok = ep
        .as_ref()
        .is_some_and(|h| usize::from(h.total_len()) >= usize::from(h.ihl()) * 4);
    assert_eq!(
        quoted.is_ok(),
        ep_ok,
        "IPv4 (quoted) acceptance differs from etherparse"
    );
    if let (Ok(p), Some(h)) = (&quoted, &ep) {
        ip4_getters(p);
        assert_eq!(p.header_len(), usize::from(h.ihl()) * 4);
        assert_eq!(p.total_len(), h.total_len());
        assert_eq!(p.ident(), h.identification());
        assert_eq!(p.dont_frag(), h.dont_fragment());
        assert_eq!(p.more_frags(), h.more_fragments());
        assert_eq!(p.frag_offset(), h.fragments_offset().value() * 8);
        assert_eq!(p.ttl(), h.ttl());
        assert_eq!(p.protocol(), h.protocol().0);
        assert_eq!(p.checksum(), h.header_checksum());
        assert_eq!(p.src(), h.source_addr());
        assert_eq!(p.dst(), h.destination_addr());
        assert_eq!(p.options(), h.options());
        let mine = check::verifies(check::sum16(&b[..p.header_len()], 0));
        assert_eq!(p.verify_checksum(), mine, "IPv4 header checksum verdict");
        black_box(ipv4::Repr::parse(p));
    }
    let full = ipv4::Packet::new_checked(b);
    assert_eq!(
        full.is_ok(),
        quoted
            .as_ref()
            .is_ok_and(|p| usize::from(p.total_len()) <= b.len()),
        "new_checked = new_checked_quoted + total length within the buffer"
    );
    if let Ok(p) = full {
        let total = usize::from(p.total_len());
        assert_eq!(p.payload(), &b[p.header_len()..total]);
        let mine = check::Ip4::parse(b).expect("the independent parser accepts it too");
        assert_eq!(mine.payload(), p.payload());
    }
}

fn ip6_view(b: &[u8]) {
    let g = |p: &ipv6::Packet<&[u8]>| {
        black_box((
            p.version(),
            p.traffic_class(),
            p.flow_label(),
            p.payload_len(),
            p.next_header(),
            p.hop_limit(),
            p.src(),
            p.dst(),
            p.payload(),
        ));
    };
    g(&ipv6::Packet::new_unchecked(b));
    if let Ok(p) = ipv6::Packet::new_checked_quoted(b) {
        g(&p);
    }
    if let Ok(p) = ipv6::Packet::new_checked(b) {
        g(&p);
        black_box(ipv6::Repr::parse(&p));
        let mine = check::Ip6::parse(b);
        let len = usize::from(p.payload_len());
        assert_eq!(p.payload(), &b[40..40 + len], "IPv6 payload");
        if mine.is_some_and(|m| m.at == 40) {
            assert_eq!(mine.map(|m| m.payload), Some(p.payload()));
        }
        let ep = etherparse::Ipv6HeaderSlice::from_slice(b).expect("etherparse accepts it");
        assert_eq!(p.src(), ep.source_addr());
        assert_eq!(p.dst(), ep.destination_addr());
        assert_eq!(p.next_header(), ep.next_header().0);
        assert_eq!(p.hop_limit(), ep.hop_limit());
        assert_eq!(p.payload_len(), ep.payload_length());
        assert_eq!(p.flow_label(), ep.flow_label().value());
    }
}

fn tcp_getters<T: AsRef<[u8]>>(t: &tcp::Packet<T>) {
    black_box((
        t.src_port(),
        t.dst_port(),
        t.seq(),
        t.ack_number(),
        t.header_len(),
        t.flags(),
        t.window(),
        t.checksum(),
        t.urgent(),
        t.mss(),
    ));
    black_box((
        t.options(),
        t.payload(),
        t.as_bytes(),
        t.options_iter().count(),
    ));
    black_box(t.verify_checksum_v4(Ipv4Addr::LOCALHOST, Ipv4Addr::BROADCAST));
    black_box(t.verify_checksum_v6(Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED));
}

fn tcp_view(b: &[u8]) {
    tcp_getters(&tcp::Packet::new_unchecked(b));
    let ours = tcp::Packet::new_checked(b);
    let ep = etherparse::TcpHeaderSlice::from_slice(b);
    assert_eq!(
        ours.is_ok(),
        ep.is_ok(),
        "TCP acceptance differs from etherparse"
    );
    if let (Ok(t), Ok(h)) = (&ours, &ep) {
        tcp_getters(t);
        assert_eq!(t.src_port(), h.source_port());
        assert_eq!(t.dst_port(), h.destination_port());
        assert_eq!(t.seq(), h.sequence_number());
        assert_eq!(t.ack_number(), h.acknowledgment_number());
        assert_eq!(t.header_len(), usize::from(h.data_offset()) * 4);
        assert_eq!(t.window(), h.window_size());
        assert_eq!(t.checksum(), h.checksum());
        assert_eq!(t.urgent(), h.urgent_pointer());
        assert_eq!(t.options(), h.options());
        let f = t.flags();
        assert_eq!(
            (
                f.fin(),
                f.syn(),
                f.rst(),
                f.psh(),
                f.ack(),
                f.urg(),
                f.ece(),
                f.cwr()
            ),
            (
                h.fin(),
                h.syn(),
                h.rst(),
                h.psh(),
                h.ack(),
                h.urg(),
                h.ece(),
                h.cwr()
            )
        );
        assert_eq!(t.payload(), &b[t.header_len()..]);
        for o in t.options_iter() {
            assert!(o.offset >= tcp::HEADER_LEN && o.offset + 2 + o.data.len() <= t.header_len());
        }
        assert_eq!(t.mss(), check::tcp_mss(h.options()), "MSS option");
    }
}

fn udp_view(b: &[u8]) {
    let g = |u: &udp::Packet<&[u8]>| {
        black_box((
            u.src_port(),
            u.dst_port(),
            u.len(),
            u.checksum(),
            u.payload(),
            u.datagram(),
        ));
        black_box(u.verify_checksum_v4(Ipv4Addr::LOCALHOST, Ipv4Addr::BROADCAST));
        black_box(u.verify_checksum_v6(Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED));
    };
    g(&udp::Packet::new_unchecked(b));
    let ours = udp::Packet::new_checked(b);
    let len = b
        .get(4..6)
        .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])));
    let expect = b.len() >= 8 && len.is_some_and(|l| (8..=b.len()).contains(&l));
    assert_eq!(ours.is_ok(), expect, "UDP acceptance (RFC 768 length)");
    if let Ok(u) = ours {
        g(&u);
        let l = len.unwrap_or(0);
        assert_eq!(u.datagram(), &b[..l]);
        assert_eq!(u.payload(), &b[8..l]);
    }
}

fn icmp4_view(b: &[u8]) {
    let g = |i: &icmpv4::Packet<&[u8]>| {
        let _ = black_box((
            i.msg_type(),
            i.code(),
            i.checksum(),
            i.echo_ident(),
            i.echo_seq(),
            i.next_hop_mtu(),
            i.rest_of_header(),
            i.payload(),
            i.is_error(),
            i.quoted_ipv4()
                .map(|q| (q.src(), q.dst(), q.payload().len())),
            i.verify_checksum(),
        ));
    };
    g(&icmpv4::Packet::new_unchecked(b));
    if let Ok(i) = icmpv4::Packet::new_checked(b) {
        g(&i);
        assert_eq!(i.verify_checksum(), check::verifies(check::sum16(b, 0)));
    }
}

fn icmp6_view(b: &[u8]) {
    let g = |i: &icmpv6::Packet<&[u8]>| {
        let _ = black_box((
            i.msg_type(),
            i.code(),
            i.checksum(),
            i.rest_of_header(),
            i.mtu(),
            i.echo_ident(),
            i.echo_seq(),
            i.payload(),
            i.is_error(),
            i.quoted_ipv6().map(|q| q.payload().len()),
            i.nd_target(),
            i.nd_link_layer_addr(icmpv6::OPT_SOURCE_LL_ADDR),
            i.nd_link_layer_addr(icmpv6::OPT_TARGET_LL_ADDR),
            i.verify_checksum(Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED),
        ));
    };
    g(&icmpv6::Packet::new_unchecked(b));
    if let Ok(i) = icmpv6::Packet::new_checked(b) {
        g(&i);
    }
}

/// Walk an Ethernet frame down its headers as the engine does, checking the L4 checksum
/// verdicts against the independent code where they apply.
fn walk_frame(b: &[u8]) {
    let Ok(e) = ethernet::Frame::new_checked(b) else {
        return;
    };
    let Ok(loc) = e.l3_location() else { return };
    let l3 = &b[loc.offset..];
    match loc.ethertype {
        ethernet::ethertype::ARP => {
            if let Ok(a) = arp::Packet::new_checked(l3) {
                let r = arp::Repr::parse(&a);
                // What parses re-emits to the same bytes.
                let mut out = [0u8; arp::LEN];
                r.emit(&mut arp::Packet::new_unchecked(&mut out[..]));
                assert_eq!(&out[..], &l3[..arp::LEN], "ARP parse/emit round trip");
            }
        }
        ethernet::ethertype::IPV4 => {
            let Ok(ip) = ipv4::Packet::new_checked(l3) else {
                return;
            };
            let mine = check::Ip4::parse(l3).expect("independent IPv4 parse");
            let (src, dst) = (ip.src(), ip.dst());
            match ip.protocol() {
                ipv4::protocol::TCP if !ip.is_fragment() => {
                    if let Ok(t) = tcp::Packet::new_checked(ip.payload()) {
                        assert_eq!(
                            t.verify_checksum_v4(src, dst),
                            check::l4_sum4(&mine) == check::L4Sum::Good,
                            "TCP checksum verdict"
                        );
                    }
                }
                ipv4::protocol::UDP if !ip.is_fragment() => {
                    if let Ok(u) = udp::Packet::new_checked(ip.payload()) {
                        if u.checksum() != 0 {
                            assert_eq!(
                                u.verify_checksum_v4(src, dst),
                                check::l4_sum4(&mine) == check::L4Sum::Good,
                                "UDP checksum verdict"
                            );
                        }
                    }
                }
                ipv4::protocol::IPIP => {
                    if let Ok(off) = ipip::inner_offset(l3) {
                        let _ = black_box(ipv4::Packet::new_checked(&l3[off..]));
                    }
                }
                _ => {}
            }
        }
        ethernet::ethertype::IPV6 => {
            let Ok(ip) = ipv6::Packet::new_checked(l3) else {
                return;
            };
            let Some(mine) = check::Ip6::parse(l3) else {
                return;
            };
            if mine.at != ipv6::HEADER_LEN {
                return;
            }
            let verdict = check::l4_sum6(&mine) == check::L4Sum::Good;
            match ip.next_header() {
                ipv4::protocol::TCP => {
                    if let Ok(t) = tcp::Packet::new_checked(ip.payload()) {
                        assert_eq!(t.verify_checksum_v6(ip.src(), ip.dst()), verdict);
                    }
                }
                ipv4::protocol::ICMPV6 => {
                    if let Ok(i) = icmpv6::Packet::new_checked(ip.payload()) {
                        assert_eq!(i.verify_checksum(ip.src(), ip.dst()), verdict);
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
}

/// rvs-wire's sums against RFC 1071 done plainly.
fn checksums(b: &[u8], sel: u8) {
    let init = u32::from(sel) * 0x0101_0101;
    let theirs = checksum::fold(checksum::ones_sum(b, init));
    let mine = check::fold(check::sum16(b, u64::from(init)));
    assert_eq!(theirs, mine, "ones_sum disagrees with RFC 1071");
    // Chaining: the sum of two pieces (the first of even length) is the sum of the whole.
    let cut = (usize::from(sel) * 2).min(b.len()) & !1;
    let chained = checksum::fold(checksum::ones_sum(
        &b[cut..],
        checksum::ones_sum(&b[..cut], 0),
    ));
    assert_eq!(chained, check::fold(check::sum16(b, 0)), "chained sums");
    if let (Some(s), Some(d)) = (b.get(0..4), b.get(4..8)) {
        let (s, d) = (
            Ipv4Addr::new(s[0], s[1], s[2], s[3]),
            Ipv4Addr::new(d[0], d[1], d[2], d[3]),
        );
        let len = u16::from(sel) * 7;
        assert_eq!(
            checksum::fold(checksum::pseudo_header_v4(s, d, sel, len)),
            check::fold(check::pseudo4(
                s.octets(),
                d.octets(),
                sel,
                usize::from(len)
            )),
            "IPv4 pseudo header"
        );
    }
    if let (Some(s), Some(d)) = (b.get(0..16), b.get(16..32)) {
        let s: [u8; 16] = s.try_into().unwrap_or([0; 16]);
        let d: [u8; 16] = d.try_into().unwrap_or([0; 16]);
        let len = u32::from(sel) << 12;
        assert_eq!(
            checksum::fold(checksum::pseudo_header_v6(s.into(), d.into(), sel, len)),
            check::fold(check::pseudo6(s, d, sel, len as usize)),
            "IPv6 pseudo header"
        );
    }
}

/// RFC 1624 updates against recomputation: on raw words, and through every `*_incremental`
/// setter of the views on a packet whose checksums verify.
fn incremental(b: &[u8], sel: u8) {
    // Raw: data with its checksum in bytes 0..2; change the word at an even offset.
    if b.len() >= 6 {
        let mut d = b[..b.len() & !1].to_vec();
        d[0] = 0;
        d[1] = 0;
        let nonzero = |v: &[u8]| v[2..].iter().any(|&x| x != 0);
        let c = check::finish(check::sum16(&d, 0));
        d[0..2].copy_from_slice(&c.to_be_bytes());
        let at = 2 + (usize::from(sel) * 2) % (d.len() - 2);
        let old = u16::from_be_bytes([d[at], d[at + 1]]);
        let new = old.rotate_left(u32::from(sel)) ^ u16::from(sel);
        let before_nonzero = nonzero(&d);
        d[at..at + 2].copy_from_slice(&new.to_be_bytes());
        if before_nonzero && nonzero(&d) {
            let inc = checksum::update16(c, old, new);
            let mut z = d.clone();
            z[0] = 0;
            z[1] = 0;
            let full = check::finish(check::sum16(&z, 0));
            assert_eq!(inc, full, "RFC 1624 eqn. 3 against recomputation");
            let bytes_inc = checksum::update_bytes(c, &old.to_be_bytes(), &new.to_be_bytes());
            assert_eq!(bytes_inc, full, "update_bytes against recomputation");
        }
    }

    // Through the views: build a valid IPv4 packet from the input (fix its checksums), then
    // change addresses, ports, TTL, MSS through the incremental setters.
    let Ok(e) = ethernet::Frame::new_checked(b) else {
        return;
    };
    let Ok(loc) = e.l3_location() else { return };
    if loc.ethertype != ethernet::ethertype::IPV4 {
        return;
    }
    let mut f = b.to_vec();
    check::fix_checksums(&mut f);
    let l3 = &mut f[loc.offset..];
    let Ok(mut ip) = ipv4::Packet::new_checked(&mut l3[..]) else {
        return;
    };
    if !ip.verify_checksum() {
        return;
    }
    let new_src = Ipv4Addr::from(u32::from(ip.src()).rotate_left(u32::from(sel)));
    let new_dst = Ipv4Addr::from(u32::from(ip.dst()) ^ u32::from(sel) << 8);
    let (old_src, old_dst) = (ip.src(), ip.dst());
    let frag = ip.is_fragment();
    let proto = ip.protocol();
    ip.set_src_incremental(new_src);
    ip.set_dst_incremental(new_dst);
    let ttl = ip.ttl();
    let dec = ip.decrement_ttl();
    assert_eq!(
        dec,
        (ttl > 1).then(|| ttl - 1),
        "decrement_ttl (RFC 1812 §5.3.1)"
    );
    assert!(
        ip.verify_checksum(),
        "IPv4 header after incremental address and TTL changes"
    );
    if frag {
        return;
    }
    let seg_ok = match proto {
        ipv4::protocol::TCP => {
            let Ok(mut t) = tcp::Packet::new_checked(ip.payload_mut()) else {
                return;
            };
            if !t.verify_checksum_v4(old_src, old_dst) {
                return;
            }
            t.update_pseudo_addr_v4(old_src, new_src);
            t.update_pseudo_addr_v4(old_dst, new_dst);
            t.set_src_port_incremental(u16::from(sel) * 257);
            t.set_dst_port_incremental(!u16::from(sel));
            t.set_seq_incremental(u32::from(sel) << 20 | 7);
            t.set_ack_number_incremental(!u32::from(sel));
            t.clamp_mss(536 + u16::from(sel));
            t.set_mss_incremental(1000 + u16::from(sel));
            t.verify_checksum_v4(new_src, new_dst)
        }
        ipv4::protocol::UDP => {
            let Ok(mut u) = udp::Packet::new_checked(ip.payload_mut()) else {
                return;
            };
            if u.checksum() == 0 || !u.verify_checksum_v4(old_src, old_dst) {
                return;
            }
            u.update_pseudo_addr_v4(old_src, new_src);
            u.update_pseudo_addr_v4(old_dst, new_dst);
            u.set_src_port_incremental(u16::from(sel) * 257);
            u.set_dst_port_incremental(!u16::from(sel));
            u.verify_checksum_v4(new_src, new_dst)
        }
        ipv4::protocol::ICMP => {
            let Ok(mut i) = icmpv4::Packet::new_checked(ip.payload_mut()) else {
                return;
            };
            if !i.verify_checksum() || i.msg_type() != icmpv4::ECHO_REQUEST || i.code() != 0 {
                return;
            }
            if i.make_echo_reply().is_err() {
                return;
            }
            i.verify_checksum()
                || (check::allowed("icmp-zero-checksum")
                    && check::is_icmp_zero_checksum(i.as_ref()))
        }
        _ => true,
    };
    assert!(
        seg_ok,
        "L4 checksum after incremental changes (protocol {proto})"
    );
}
