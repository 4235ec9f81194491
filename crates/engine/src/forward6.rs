//! IPv6 in-place rewrites for each forwarding method and for the director's own answers
//! (Neighbor Discovery, ICMPv6 echo), the IPv6 twin of [`crate::forward`].
//!
//! IPv6 has no header checksum (RFC 8200 §3); what changes with an address is the upper-layer
//! checksum, whose pseudo-header holds both 128-bit addresses (RFC 8200 §8.1). Every such
//! update is incremental (RFC 1624 eqn. 3 over the 16 address bytes, `checksum::update_bytes`),
//! so the cost does not depend on the payload size.
//!
//! The functions take the bytes of an IPv6 packet the caller has validated
//! (`ipv6::Packet::new_checked`) and, where they touch the upper layer, its offset `l4` as
//! found by [`upper_layer`]; on bytes that do not parse they change nothing.

use std::net::Ipv6Addr;

use rvs_wire::{checksum, ethernet, icmpv6, ipv4, ipv6, tcp, udp, MacAddr};

/// All-nodes multicast, ff02::1 (RFC 4291 §2.7.1): where a neighbor advertisement answering
/// a duplicate address detection probe goes (RFC 4861 §7.2.4).
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Hop limit of every Neighbor Discovery message; a received one with any other was forwarded
/// by a router and is discarded (RFC 4861 §7.1.1, §7.1.2).
pub const ND_HOP_LIMIT: u8 = 255;

/// Length of the neighbor solicitations the director builds: Ethernet, IPv6, ICMPv6 header,
/// target and a source link-layer address option (RFC 4861 §4.3).
pub const NS_FRAME_LEN: usize = ethernet::HEADER_LEN + ipv6::HEADER_LEN + 32;

/// Length of the neighbor advertisements the director sends: Ethernet, IPv6, ICMPv6 header,
/// target and a target link-layer address option (RFC 4861 §4.4).
pub const NA_FRAME_LEN: usize =
    ethernet::HEADER_LEN + ipv6::HEADER_LEN + icmpv6::NEIGHBOR_ADVERT_LEN;

/// Extension headers walked at most before the upper-layer header: more is treated as an
/// attack on the walk and dropped (RFC 8200 §4.1 recommends an order with each header at most
/// once or twice, so a legitimate chain has fewer than eight).
pub const MAX_EXT_HEADERS: usize = 8;

/// Next-header values (IANA "Assigned Internet Protocol Numbers") of the extension headers.
pub mod next_header {
    /// Hop-by-Hop Options (RFC 8200 §4.3), only directly after the fixed header.
    pub const HOP_BY_HOP: u8 = 0;
    /// Routing (RFC 8200 §4.4).
    pub const ROUTING: u8 = 43;
    /// Fragment (RFC 8200 §4.5).
    pub const FRAGMENT: u8 = 44;
    /// Destination Options (RFC 8200 §4.6).
    pub const DEST_OPTS: u8 = 60;
    /// IPv6 encapsulated in IPv6 (RFC 2473).
    pub const IPV6: u8 = 41;
}

/// Why the walk to the upper-layer header stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtError {
    /// A Fragment header: fragments are not reassembled (counted drop, as IPv4 fragments).
    Fragment,
    /// An extension header runs past the payload, Hop-by-Hop is not first, more than
    /// [`MAX_EXT_HEADERS`], or a Routing header still has segments to visit (the director is
    /// not that packet's destination).
    Malformed,
}

/// The upper-layer protocol of the IPv6 packet `ip` and the offset of its header in `ip`,
/// skipping Hop-by-Hop, Routing (with no segment left) and Destination Options headers
/// (RFC 8200 §4: each is (length + 1) × 8 bytes). Works on a quoted, truncated packet too:
/// the walk reads only what is there.
pub fn upper_layer(ip: &[u8]) -> Result<(u8, usize), ExtError> {
    let Ok(p) = ipv6::Packet::new_checked_quoted(ip) else {
        return Err(ExtError::Malformed);
    };
    let end = (ipv6::HEADER_LEN + usize::from(p.payload_len())).min(ip.len());
    let mut nh = p.next_header();
    let mut at = ipv6::HEADER_LEN;
    for i in 0..=MAX_EXT_HEADERS {
        match nh {
            next_header::FRAGMENT => return Err(ExtError::Fragment),
            next_header::HOP_BY_HOP | next_header::ROUTING | next_header::DEST_OPTS => {
                if i == MAX_EXT_HEADERS || (nh == next_header::HOP_BY_HOP && i != 0) {
                    return Err(ExtError::Malformed);
                }
                let hdr = ip.get(at..at + 8).filter(|_| at + 8 <= end);
                let Some(&[next, len, _, segs_left, ..]) = hdr else {
                    return Err(ExtError::Malformed);
                };
                if nh == next_header::ROUTING && segs_left != 0 {
                    return Err(ExtError::Malformed);
                }
                let hdr_len = (usize::from(len) + 1) * 8;
                if at + hdr_len > end {
                    return Err(ExtError::Malformed);
                }
                at += hdr_len;
                nh = next;
            }
            proto => return Ok((proto, at)),
        }
    }
    Err(ExtError::Malformed)
}

/// The solicited-node multicast address of `a`: ff02::1:ff00:0/104 and its low 24 bits
/// (RFC 4291 §2.7.1).
pub fn solicited_node(a: Ipv6Addr) -> Ipv6Addr {
    let o = a.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, o[13], o[14], o[15],
    ])
}

/// Whether `a` is a solicited-node multicast address.
pub fn is_solicited_node(a: Ipv6Addr) -> bool {
    let o = a.octets();
    o[..13] == [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff]
}

/// The Ethernet address of an IPv6 multicast group: 33:33 and its low 32 bits (RFC 2464 §7).
pub fn multicast_mac(group: Ipv6Addr) -> MacAddr {
    let o = group.octets();
    MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// Decrement the hop limit of the IPv6 packet in `ip`. Returns false (and changes nothing)
/// when it would reach zero: the packet must not be forwarded (RFC 8200 §3).
#[inline]
pub fn decrement_hop_limit(ip: &mut [u8]) -> bool {
    let Ok(mut p) = ipv6::Packet::new_checked(ip) else {
        return false;
    };
    p.decrement_hop_limit().is_some()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Src,
    Dst,
}

/// Change one end's address and port of the TCP/UDP packet at `l4`; update the upper-layer
/// checksum for the pseudo-header address and the port (RFC 1624 eqn. 3).
fn rewrite_endpoint(ip: &mut [u8], l4: usize, addr: Ipv6Addr, port: u16, end: End) {
    let Ok(mut p) = ipv6::Packet::new_checked(&mut ip[..]) else {
        return;
    };
    let old = match end {
        End::Src => p.src(),
        End::Dst => p.dst(),
    };
    match end {
        End::Src => p.set_src(addr),
        End::Dst => p.set_dst(addr),
    }
    let Ok((proto, at)) = upper_layer(p.as_ref()) else {
        return;
    };
    if at != l4 {
        return;
    }
    let Some(seg) = p.payload_mut().get_mut(l4 - ipv6::HEADER_LEN..) else {
        return;
    };
    match proto {
        ipv4::protocol::TCP => {
            if let Ok(mut t) = tcp::Packet::new_checked(seg) {
                t.update_pseudo_addr_v6(old, addr);
                match end {
                    End::Src => t.set_src_port_incremental(port),
                    End::Dst => t.set_dst_port_incremental(port),
                }
            }
        }
        ipv4::protocol::UDP => {
            if let Ok(mut u) = udp::Packet::new_checked(seg) {
                u.update_pseudo_addr_v6(old, addr);
                match end {
                    End::Src => u.set_src_port_incremental(port),
                    End::Dst => u.set_dst_port_incremental(port),
                }
            }
        }
        _ => {}
    }
}

/// NAT, client → real server: the destination VIP:vport becomes RIP:rport.
#[inline]
pub fn nat_rewrite_dst(ip: &mut [u8], l4: usize, addr: Ipv6Addr, port: u16) {
    rewrite_endpoint(ip, l4, addr, port, End::Dst);
}

/// NAT, real server → client: the source RIP:rport becomes VIP:vport.
#[inline]
pub fn nat_rewrite_src(ip: &mut [u8], l4: usize, addr: Ipv6Addr, port: u16) {
    rewrite_endpoint(ip, l4, addr, port, End::Src);
}

/// FullNAT, client → real server: CIP:cport → VIP:vport becomes LIP:lport → RIP:rport.
#[inline]
pub fn fullnat_rewrite_in(
    ip: &mut [u8],
    l4: usize,
    lip: Ipv6Addr,
    lport: u16,
    rip: Ipv6Addr,
    rport: u16,
) {
    rewrite_endpoint(ip, l4, lip, lport, End::Src);
    rewrite_endpoint(ip, l4, rip, rport, End::Dst);
}

/// FullNAT, real server → client: RIP:rport → LIP:lport becomes VIP:vport → CIP:cport.
#[inline]
pub fn fullnat_rewrite_out(
    ip: &mut [u8],
    l4: usize,
    vip: Ipv6Addr,
    vport: u16,
    cip: Ipv6Addr,
    cport: u16,
) {
    rewrite_endpoint(ip, l4, vip, vport, End::Src);
    rewrite_endpoint(ip, l4, cip, cport, End::Dst);
}

/// Length of the IPv6 TOA option: kind 254, length 20, client port (2) and IPv6 address (16),
/// the layout DPVS uses for IPv6 clients (`TCP_OLEN_IP6_ADDR`, `struct tcpopt_ip6_addr`); a
/// real server's TOA module tells the families apart by the length.
pub const TOA6_LEN: usize = 20;

/// Insert the IPv6 TOA option (kind 254, length 20: client port and address) at the end of
/// the TCP options of the SYN in `frame` (the TCP header at `l4` in the IPv6 packet), whose
/// buffer already holds [`TOA6_LEN`] spare bytes past the IP packet; lower the MSS by as
/// much; fix the payload length and recompute the TCP checksum (a SYN is small). Returns
/// false, changing nothing, when the TCP header has no room for 20 more bytes of options
/// (60-byte limit, RFC 793).
pub fn insert_toa(frame: &mut [u8], l4: usize, client: Ipv6Addr, cport: u16) -> bool {
    let l3 = ethernet::HEADER_LEN;
    let Some(ipb) = frame.get(l3..) else {
        return false;
    };
    let Ok(ip) = ipv6::Packet::new_checked(ipb) else {
        return false;
    };
    let plen = usize::from(ip.payload_len());
    let total = ipv6::HEADER_LEN + plen;
    let Some(seg) = ipb.get(l4..total) else {
        return false;
    };
    let Ok(t) = tcp::Packet::new_checked(seg) else {
        return false;
    };
    let th = t.header_len();
    let end = l3 + total;
    if th + TOA6_LEN > tcp::MAX_HEADER_LEN
        || frame.len() < end + TOA6_LEN
        || plen + TOA6_LEN > usize::from(u16::MAX)
    {
        return false;
    }
    let opt_at = l3 + l4 + th;
    frame.copy_within(opt_at..end, opt_at + TOA6_LEN);
    let Some(opt) = frame.get_mut(opt_at..opt_at + TOA6_LEN) else {
        return false;
    };
    opt[0] = fullnat_toa_kind();
    opt[1] = TOA6_LEN as u8;
    opt[2..4].copy_from_slice(&cport.to_be_bytes());
    opt[4..].copy_from_slice(&client.octets());
    let Ok(mut ip) = ipv6::Packet::new_checked(&mut frame[l3..]) else {
        return false;
    };
    ip.set_payload_len((plen + TOA6_LEN) as u16);
    let (src, dst) = (ip.src(), ip.dst());
    let Some(seg) = ip.payload_mut().get_mut(l4 - ipv6::HEADER_LEN..) else {
        return false;
    };
    let mut t = tcp::Packet::new_unchecked(seg);
    t.set_header_len(th + TOA6_LEN);
    if let Some(mss) = t.mss() {
        t.set_mss_incremental(mss.saturating_sub(TOA6_LEN as u16));
    }
    t.fill_checksum_v6(src, dst);
    true
}

/// The TOA option kind, shared with IPv4 ([`crate::forward::TOA_KIND`]).
#[inline]
fn fullnat_toa_kind() -> u8 {
    crate::forward::TOA_KIND
}

/// Turn the ICMPv6 echo request at `l4` in the frame (to one of our addresses) into the echo
/// reply, in place (RFC 4443 §4.2): addresses swapped, type 128 → 129, hop limit 64. Extension
/// headers of the request are not echoed: the message moves up to follow the fixed header.
/// Returns the reply frame's length, or `None` (frame unusable) when it is not a valid echo
/// request. The checksum is updated for the type alone: swapping the addresses leaves the
/// pseudo-header sum as it is, and the upper-layer length is the message's own.
pub fn echo_reply_in_place(frame: &mut [u8], l4: usize, our_mac: MacAddr) -> Option<usize> {
    let l3 = ethernet::HEADER_LEN;
    let (src, dst, total) = {
        let ip = ipv6::Packet::new_checked(frame.get(l3..)?).ok()?;
        (
            ip.src(),
            ip.dst(),
            ipv6::HEADER_LEN + usize::from(ip.payload_len()),
        )
    };
    let msg_len = total.checked_sub(l4)?;
    {
        let msg = frame.get(l3 + l4..l3 + total)?;
        let icmp = icmpv6::Packet::new_checked(msg).ok()?;
        if icmp.msg_type() != icmpv6::ECHO_REQUEST
            || icmp.code() != 0
            || !icmp.verify_checksum(src, dst)
        {
            return None;
        }
    }
    if l4 != ipv6::HEADER_LEN {
        frame.copy_within(l3 + l4..l3 + total, l3 + ipv6::HEADER_LEN);
    }
    let new_total = ipv6::HEADER_LEN + msg_len;
    let mut eth = ethernet::Frame::new_checked(frame.get_mut(..l3 + new_total)?).ok()?;
    let peer = eth.src();
    eth.set_dst(peer);
    eth.set_src(our_mac);
    let mut ip = ipv6::Packet::new_unchecked(eth.payload_mut());
    ip.set_payload_len(msg_len as u16);
    ip.set_next_header(ipv4::protocol::ICMPV6);
    ip.set_src(dst);
    ip.set_dst(src);
    ip.set_hop_limit(64);
    let mut icmp = icmpv6::Packet::new_unchecked(ip.payload_mut());
    let c = checksum::update16(
        icmp.checksum(),
        u16::from(icmpv6::ECHO_REQUEST) << 8,
        u16::from(icmpv6::ECHO_REPLY) << 8,
    );
    icmp.set_msg_type(icmpv6::ECHO_REPLY);
    icmp.set_checksum(c);
    Some(l3 + new_total)
}

/// Write a neighbor solicitation for `target` from `src` (our address on the port) into `buf`
/// (at least [`NS_FRAME_LEN`] bytes): to the target's solicited-node group and its multicast
/// MAC, hop limit 255, with our MAC in a source link-layer address option (RFC 4861 §4.3,
/// §7.2.2). Returns the frame length.
pub fn build_neighbor_solicit(
    buf: &mut [u8],
    our_mac: MacAddr,
    src: Ipv6Addr,
    target: Ipv6Addr,
) -> Option<usize> {
    let frame = buf.get_mut(..NS_FRAME_LEN)?;
    frame.fill(0);
    let group = solicited_node(target);
    let mut eth = ethernet::Frame::new_unchecked(&mut frame[..]);
    eth.set_dst(multicast_mac(group));
    eth.set_src(our_mac);
    eth.set_ethertype(ethernet::ethertype::IPV6);
    let ipb = eth.payload_mut();
    ipv6::Repr {
        src,
        dst: group,
        next_header: ipv4::protocol::ICMPV6,
        hop_limit: ND_HOP_LIMIT,
        payload_len: 32,
    }
    .emit_into(ipb)
    .ok()?;
    let msg = ipb.get_mut(ipv6::HEADER_LEN..ipv6::HEADER_LEN + 32)?;
    // Source link-layer address option: type 1, length 1 (8 bytes), our MAC.
    msg[24] = icmpv6::OPT_SOURCE_LL_ADDR;
    msg[25] = 1;
    msg[26..32].copy_from_slice(&our_mac.0);
    let mut icmp = icmpv6::Packet::new_unchecked(msg);
    icmp.set_msg_type(icmpv6::NEIGHBOR_SOLICIT);
    icmp.set_code(0);
    icmp.set_rest_of_header(0);
    icmp.set_nd_target(target);
    icmp.fill_checksum(src, group);
    Some(NS_FRAME_LEN)
}

/// Write a neighbor advertisement into `frame` (at least [`NA_FRAME_LEN`] bytes): Ethernet to
/// `dst_mac` from `our_mac`, IPv6 `src` → `dst` with hop limit 255, the advertisement for
/// `target` at `our_mac` with `flags` (RFC 4861 §4.4, §7.2.4). Returns the frame length.
pub fn build_neighbor_advert(
    frame: &mut [u8],
    our_mac: MacAddr,
    dst_mac: MacAddr,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    target: Ipv6Addr,
    flags: u32,
) -> Option<usize> {
    let frame = frame.get_mut(..NA_FRAME_LEN)?;
    let mut eth = ethernet::Frame::new_unchecked(&mut frame[..]);
    eth.set_dst(dst_mac);
    eth.set_src(our_mac);
    eth.set_ethertype(ethernet::ethertype::IPV6);
    let ipb = eth.payload_mut();
    ipv6::Repr {
        src,
        dst,
        next_header: ipv4::protocol::ICMPV6,
        hop_limit: ND_HOP_LIMIT,
        payload_len: icmpv6::NEIGHBOR_ADVERT_LEN as u16,
    }
    .emit_into(ipb)
    .ok()?;
    icmpv6::emit_neighbor_advert(
        ipb.get_mut(ipv6::HEADER_LEN..)?,
        src,
        dst,
        target,
        our_mac,
        flags,
    )
    .ok()?;
    Some(NA_FRAME_LEN)
}

/// The TCP/UDP flow an ICMPv6 error quotes: the invoking packet's addresses and ports, and
/// where in the quote its upper-layer header starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotedFlow6 {
    /// Protocol of the quoted packet.
    pub proto: u8,
    /// Its source address.
    pub src: Ipv6Addr,
    /// Its source port.
    pub src_port: u16,
    /// Its destination address.
    pub dst: Ipv6Addr,
    /// Its destination port.
    pub dst_port: u16,
    /// Offset of its TCP/UDP header in the quote (after the quoted extension headers).
    pub l4: usize,
}

/// The TCP/UDP flow quoted by the ICMPv6 error at `l4` in the IPv6 packet `ip`, if any.
pub fn quoted_flow(ip: &[u8], l4: usize) -> Option<QuotedFlow6> {
    let p = ipv6::Packet::new_checked(ip).ok()?;
    let icmp = icmpv6::Packet::new_checked(p.payload().get(l4 - ipv6::HEADER_LEN..)?).ok()?;
    let quote = icmp.payload();
    let q = ipv6::Packet::new_checked_quoted(quote).ok()?;
    let (proto, ql4) = upper_layer(quote).ok()?;
    if proto != ipv4::protocol::TCP && proto != ipv4::protocol::UDP {
        return None;
    }
    let (src_port, dst_port) = rvs_wire::l4_ports(quote, ql4)?;
    Some(QuotedFlow6 {
        proto,
        src: q.src(),
        src_port,
        dst: q.dst(),
        dst_port,
        l4: ql4,
    })
}

/// Whether the ICMPv6 message at `l4` in the IPv6 packet `ip` has a valid checksum (RFC 4443
/// §2.3; ip_vs_in_icmp_v6 drops those that do not).
pub fn icmp_checksum_ok(ip: &[u8], l4: usize) -> bool {
    let Ok(p) = ipv6::Packet::new_checked(ip) else {
        return false;
    };
    let Some(msg) = p.payload().get(l4.wrapping_sub(ipv6::HEADER_LEN)..) else {
        return false;
    };
    icmpv6::Packet::new_checked(msg).is_ok_and(|i| i.verify_checksum(p.src(), p.dst()))
}

/// Rewrite an ICMPv6 error (the message at `l4` of `ip`, quoting `q`) in place: the outer
/// source/destination and the quoted packet's source/destination address and port, where
/// given, as ip_vs_nat_icmp_v6 does. The ICMPv6 checksum is updated incrementally for each
/// changed word: outer addresses through the pseudo-header, quoted ones in the message
/// (RFC 1624). The quoted TCP/UDP checksum is left alone, as the kernel leaves it.
pub fn icmp_translate(
    ip: &mut [u8],
    l4: usize,
    q: &QuotedFlow6,
    outer_src: Option<Ipv6Addr>,
    outer_dst: Option<Ipv6Addr>,
    inner_src: Option<(Ipv6Addr, u16)>,
    inner_dst: Option<(Ipv6Addr, u16)>,
) {
    let Ok(mut p) = ipv6::Packet::new_checked(&mut ip[..]) else {
        return;
    };
    let (old_src, old_dst) = (p.src(), p.dst());
    if let Some(a) = outer_src {
        p.set_src(a);
    }
    if let Some(a) = outer_dst {
        p.set_dst(a);
    }
    let Some(msg) = p.payload_mut().get_mut(l4 - ipv6::HEADER_LEN..) else {
        return;
    };
    let Ok(mut icmp) = icmpv6::Packet::new_checked(msg) else {
        return;
    };
    let mut c = icmp.checksum();
    if let Some(a) = outer_src {
        c = checksum::update_bytes(c, &old_src.octets(), &a.octets());
    }
    if let Some(a) = outer_dst {
        c = checksum::update_bytes(c, &old_dst.octets(), &a.octets());
    }
    {
        let quote = icmp.payload_mut();
        let mut set = |at: usize, new: &[u8], c: &mut u16| {
            if let Some(f) = quote.get_mut(at..at + new.len()) {
                *c = checksum::update_bytes(*c, f, new);
                f.copy_from_slice(new);
            }
        };
        // The quoted fixed header: source at 8, destination at 24; ports at the quoted L4.
        if let Some((a, port)) = inner_src {
            set(8, &a.octets(), &mut c);
            set(q.l4, &port.to_be_bytes(), &mut c);
        }
        if let Some((a, port)) = inner_dst {
            set(24, &a.octets(), &mut c);
            set(q.l4 + 2, &port.to_be_bytes(), &mut c);
        }
    }
    icmp.set_checksum(c);
}

/// Write an ICMPv6 error message into `out`: `msg_type`, `code`, `rest` (the MTU of packet
/// too big) and as much of the invoking IPv6 packet `offending` as keeps the whole error
/// within the minimum MTU of 1280 bytes (RFC 4443 §2.4 (c)), with its checksum for `src` →
/// `dst`. Returns the message length.
pub fn emit_error(
    out: &mut [u8],
    msg_type: u8,
    code: u8,
    rest: u32,
    offending: &[u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
) -> Option<usize> {
    /// RFC 8200 §5: the minimum link MTU, which an ICMPv6 error must fit.
    const MIN_MTU: usize = 1280;
    let orig = ipv6::Packet::new_checked(offending).ok()?;
    let orig_len = ipv6::HEADER_LEN + usize::from(orig.payload_len());
    let quote_len = orig_len
        .min(offending.len())
        .min(MIN_MTU - ipv6::HEADER_LEN - icmpv6::HEADER_LEN);
    let len = icmpv6::HEADER_LEN + quote_len;
    let msg = out.get_mut(..len)?;
    msg.get_mut(icmpv6::HEADER_LEN..)?
        .copy_from_slice(offending.get(..quote_len)?);
    let mut p = icmpv6::Packet::new_unchecked(msg);
    p.set_msg_type(msg_type);
    p.set_code(code);
    p.set_rest_of_header(rest);
    p.fill_checksum(src, dst);
    Some(len)
}

/// Bytes the IPv6-in-IPv6 tunnel adds (RFC 2473): one outer fixed header, no extension header
/// (no tunnel encapsulation limit option, RFC 2473 §5.1 makes it optional).
pub const TUNNEL_OVERHEAD: usize = ipv6::HEADER_LEN;

/// Write the outer header of an IPv6-in-IPv6 packet (RFC 2473 §3, §6) at the front of `ip`,
/// whose bytes from [`TUNNEL_OVERHEAD`] on are the original packet: `src` → `dst`, next header
/// 41, payload length the whole original packet; traffic class, flow label and hop limit
/// copied from the original packet, as the kernel's ip_vs_tunnel_xmit_v6 does.
pub fn encapsulate_in_place(ip: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr) -> bool {
    let Some(inner) = ip.get(TUNNEL_OVERHEAD..) else {
        return false;
    };
    let Ok(i) = ipv6::Packet::new_checked(inner) else {
        return false;
    };
    let inner_len = ipv6::HEADER_LEN + usize::from(i.payload_len());
    let Ok(payload_len) = u16::try_from(inner_len) else {
        return false;
    };
    let (tc, flow, hop) = (i.traffic_class(), i.flow_label(), i.hop_limit());
    let Some(hdr) = ip.get_mut(..ipv6::HEADER_LEN) else {
        return false;
    };
    let repr = ipv6::Repr {
        src,
        dst,
        next_header: next_header::IPV6,
        hop_limit: hop,
        payload_len,
    };
    if repr.emit_into(hdr).is_err() {
        return false;
    }
    let mut o = ipv6::Packet::new_unchecked(hdr);
    o.set_traffic_class(tc);
    o.set_flow_label(flow);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// An IPv6 header with `nh` and the given payload.
    fn packet(nh: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; 40];
        ipv6::Repr {
            src: a("2001:2::2"),
            dst: a("2001:2::100"),
            next_header: nh,
            hop_limit: 64,
            payload_len: payload.len() as u16,
        }
        .emit_into(&mut v)
        .unwrap();
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn solicited_node_groups_and_their_macs() {
        let t = a("2001:2:0:1::10");
        assert_eq!(solicited_node(t), a("ff02::1:ff00:10"));
        assert!(is_solicited_node(solicited_node(t)));
        assert!(!is_solicited_node(ALL_NODES));
        assert_eq!(
            multicast_mac(solicited_node(a("fe80::21f:caff:feb3:75c0"))),
            MacAddr([0x33, 0x33, 0xff, 0xb3, 0x75, 0xc0])
        );
        assert_eq!(multicast_mac(ALL_NODES), MacAddr([0x33, 0x33, 0, 0, 0, 1]));
    }

    #[test]
    fn the_walk_skips_options_and_routing_done_and_stops_at_the_rest() {
        let tcp = [0u8; 20];
        assert_eq!(upper_layer(&packet(6, &tcp)), Ok((6, 40)));
        // Hop-by-Hop (8 bytes) then Destination Options (16 bytes) then TCP.
        let mut p = vec![60, 0, 1, 4, 0, 0, 0, 0];
        p.extend_from_slice(&[6, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        p.extend_from_slice(&tcp);
        assert_eq!(upper_layer(&packet(0, &p)), Ok((6, 64)));
        // A routing header with no segment left is skipped; with segments left it is not ours.
        let mut r = vec![17, 0, 0, 0, 0, 0, 0, 0];
        r.extend_from_slice(&[0u8; 8]);
        assert_eq!(upper_layer(&packet(43, &r)), Ok((17, 48)));
        r[3] = 1;
        assert_eq!(upper_layer(&packet(43, &r)), Err(ExtError::Malformed));
        // Fragment header.
        assert_eq!(
            upper_layer(&packet(44, &[6, 0, 0, 1, 0, 0, 0, 1])),
            Err(ExtError::Fragment)
        );
        // Hop-by-Hop anywhere but first.
        assert_eq!(
            upper_layer(&packet(
                60,
                &[0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]
            )),
            Err(ExtError::Malformed)
        );
        // A header longer than the payload.
        assert_eq!(
            upper_layer(&packet(60, &[6, 5, 0, 0, 0, 0, 0, 0])),
            Err(ExtError::Malformed)
        );
        // A chain of more than MAX_EXT_HEADERS destination options.
        let mut chain = Vec::new();
        for _ in 0..=MAX_EXT_HEADERS {
            chain.extend_from_slice(&[60, 0, 0, 0, 0, 0, 0, 0]);
        }
        assert_eq!(upper_layer(&packet(60, &chain)), Err(ExtError::Malformed));
        // ... and exactly the maximum is fine.
        let n = MAX_EXT_HEADERS * 8;
        chain.truncate(n);
        chain[n - 8] = 6;
        chain.extend_from_slice(&tcp);
        assert_eq!(upper_layer(&packet(60, &chain)), Ok((6, 40 + n)));
        // Other protocols are upper layers as far as the walk goes.
        assert_eq!(upper_layer(&packet(59, &[])), Ok((59, 40)));
        assert_eq!(upper_layer(&[0u8; 10]), Err(ExtError::Malformed));
    }

    #[test]
    fn the_walk_never_panics_on_any_bytes() {
        let mut x: u32 = 0x1234_5678;
        for len in 0..200 {
            for _ in 0..20 {
                let mut v: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        x as u8
                    })
                    .collect();
                if let Some(b) = v.first_mut() {
                    *b = 0x60;
                }
                if let Ok((_, at)) = upper_layer(&v) {
                    assert!(at >= 40);
                }
            }
        }
    }
}
