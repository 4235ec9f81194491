//! In-place rewrites for each forwarding method and for the director's own answers (ARP,
//! ICMP echo). Every checksum is updated incrementally (RFC 1624) rather than recomputed, so
//! the cost does not depend on the payload size.
//!
//! The functions take the bytes of the frame or of the IPv4 packet that the caller has already
//! validated (`new_checked`); on a buffer that does not parse they change nothing.

use std::net::Ipv4Addr;

use rvs_wire::{arp, checksum, ethernet, icmpv4, ipv4, tcp, udp, MacAddr};

/// Length of the ARP request frames the director builds: Ethernet + ARP, padded to the
/// Ethernet minimum of 60 bytes (without FCS).
pub const ARP_FRAME_LEN: usize = 60;

/// Set the Ethernet destination and source.
#[inline]
pub fn set_macs(frame: &mut [u8], dst: MacAddr, src: MacAddr) {
    if let Ok(mut eth) = ethernet::Frame::new_checked(frame) {
        eth.set_dst(dst);
        eth.set_src(src);
    }
}

/// Decrement the TTL of the IPv4 packet in `ip`, updating the header checksum. Returns false
/// (and changes nothing) when the TTL would reach zero: the packet must not be forwarded
/// (RFC 1812 §5.3.1).
#[inline]
pub fn decrement_ttl(ip: &mut [u8]) -> bool {
    let Ok(mut p) = ipv4::Packet::new_checked(ip) else {
        return false;
    };
    let ttl = p.ttl();
    if ttl <= 1 {
        return false;
    }
    p.set_ttl_incremental(ttl - 1);
    true
}

/// NAT, client → real server: the destination VIP:vport becomes RIP:rport (ip_vs_nat_xmit).
#[inline]
pub fn nat_rewrite_dst(ip: &mut [u8], addr: Ipv4Addr, port: u16) {
    rewrite_endpoint(ip, addr, port, End::Dst);
}

/// NAT, real server → client: the source RIP:rport becomes VIP:vport (ip_vs_nat_send_or_cont
/// on the output path, `snat_handler`).
#[inline]
pub fn nat_rewrite_src(ip: &mut [u8], addr: Ipv4Addr, port: u16) {
    rewrite_endpoint(ip, addr, port, End::Src);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Src,
    Dst,
}

/// Change one end's address and port; update the IPv4 header checksum and the TCP/UDP
/// checksum, whose pseudo-header covers the addresses (RFC 793 §3.1, RFC 768).
fn rewrite_endpoint(ip: &mut [u8], addr: Ipv4Addr, port: u16, end: End) {
    let Ok(mut p) = ipv4::Packet::new_checked(&mut ip[..]) else {
        return;
    };
    let old_addr = match end {
        End::Src => p.src(),
        End::Dst => p.dst(),
    };
    match end {
        End::Src => p.set_src_incremental(addr),
        End::Dst => p.set_dst_incremental(addr),
    }
    let proto = p.protocol();
    let payload = p.payload_mut();
    let (old, new) = (u32::from(old_addr), u32::from(addr));
    match proto {
        ipv4::protocol::TCP => {
            if let Ok(mut t) = tcp::Packet::new_checked(payload) {
                let c = checksum::update32(t.checksum(), old, new);
                t.set_checksum(c);
                match end {
                    End::Src => t.set_src_port_incremental(port),
                    End::Dst => t.set_dst_port_incremental(port),
                }
            }
        }
        ipv4::protocol::UDP => {
            if let Ok(mut u) = udp::Packet::new_checked(payload) {
                // A zero UDP checksum means "none" (RFC 768): keep it so.
                let csum = u.checksum();
                if csum != 0 {
                    let mut c = checksum::update32(csum, old, new);
                    let old_port = match end {
                        End::Src => u.src_port(),
                        End::Dst => u.dst_port(),
                    };
                    c = checksum::update16(c, old_port, port);
                    // RFC 768: a computed zero is sent as all ones.
                    u.set_checksum(if c == 0 { 0xffff } else { c });
                }
                match end {
                    End::Src => u.set_src_port(port),
                    End::Dst => u.set_dst_port(port),
                }
            }
        }
        _ => {}
    }
}

/// Turn an ARP request (already validated, asking for one of our addresses) into the reply,
/// in place: "swap fields, put in our hardware address, set opcode to reply" (RFC 826).
pub fn arp_reply_in_place(frame: &mut [u8], our_mac: MacAddr) {
    let Ok(mut eth) = ethernet::Frame::new_checked(&mut frame[..]) else {
        return;
    };
    let Ok(mut a) = arp::Packet::new_checked(eth.payload_mut()) else {
        return;
    };
    let (sender_mac, sender_ip, target_ip) = (a.sender_mac(), a.sender_ip(), a.target_ip());
    a.set_operation(arp::Operation::Reply);
    a.set_target_mac(sender_mac);
    a.set_target_ip(sender_ip);
    a.set_sender_mac(our_mac);
    a.set_sender_ip(target_ip);
    eth.set_dst(sender_mac);
    eth.set_src(our_mac);
}

/// Write a broadcast ARP request "who has `target`? tell `src_ip`" into `buf`
/// (at least [`ARP_FRAME_LEN`] bytes).
pub fn build_arp_request(buf: &mut [u8], our_mac: MacAddr, src_ip: Ipv4Addr, target: Ipv4Addr) {
    if buf.len() < ARP_FRAME_LEN {
        return;
    }
    buf.fill(0);
    let mut eth = ethernet::Frame::new_unchecked(&mut buf[..]);
    eth.set_dst(MacAddr::BROADCAST);
    eth.set_src(our_mac);
    eth.set_ethertype(ethernet::ethertype::ARP);
    arp::Repr {
        operation: arp::Operation::Request,
        sender_mac: our_mac,
        sender_ip: src_ip,
        target_mac: MacAddr([0; 6]),
        target_ip: target,
    }
    .emit(&mut arp::Packet::new_unchecked(eth.payload_mut()));
}

/// Turn an ICMP echo request to one of our addresses into the echo reply, in place
/// (RFC 792): swap addresses, type 8 → 0, fresh TTL. Returns false (frame unusable as a reply)
/// when it is not a valid echo request.
pub fn icmp_echo_reply_in_place(frame: &mut [u8], our_mac: MacAddr) -> bool {
    let Ok(mut eth) = ethernet::Frame::new_checked(&mut frame[..]) else {
        return false;
    };
    let peer_mac = eth.src();
    {
        let Ok(mut ip) = ipv4::Packet::new_checked(eth.payload_mut()) else {
            return false;
        };
        {
            let Ok(mut icmp) = icmpv4::Packet::new_checked(ip.payload_mut()) else {
                return false;
            };
            if icmp.msg_type() != icmpv4::ECHO_REQUEST
                || icmp.code() != 0
                || !icmp.verify_checksum()
            {
                return false;
            }
            // A full sum, not RFC 1624's update: an echo request of zeros has a reply whose
            // data sums to zero, and only a recomputation gives its checksum as 0xFFFF (the
            // update yields 0x0000, which does not verify). Echo is not the forwarding path.
            icmp.set_msg_type(icmpv4::ECHO_REPLY);
            icmp.fill_checksum();
        }
        let (src, dst) = (ip.src(), ip.dst());
        ip.set_src(dst);
        ip.set_dst(src);
        ip.set_ttl(64);
        ip.fill_checksum();
    }
    eth.set_dst(peer_mac);
    eth.set_src(our_mac);
    true
}

/// The flow an ICMP error quotes (RFC 792: the offending IP header and at least 8 bytes of
/// its data, enough for the TCP/UDP ports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotedFlow {
    /// Protocol of the quoted packet.
    pub proto: u8,
    /// Its source address.
    pub src: Ipv4Addr,
    /// Its source port.
    pub src_port: u16,
    /// Its destination address.
    pub dst: Ipv4Addr,
    /// Its destination port.
    pub dst_port: u16,
}

/// The TCP/UDP flow quoted by the ICMP error in the IPv4 packet `ip`, if any. The ICMP
/// checksum is not checked here (see [`icmp_checksum_ok`]).
pub fn quoted_flow(ip: &[u8]) -> Option<QuotedFlow> {
    let p = ipv4::Packet::new_checked(ip).ok()?;
    let icmp = icmpv4::Packet::new_checked(p.payload()).ok()?;
    let q = ipv4::Packet::new_checked_quoted(icmp.payload()).ok()?;
    let proto = q.protocol();
    if proto != ipv4::protocol::TCP && proto != ipv4::protocol::UDP {
        return None;
    }
    let (src_port, dst_port) = rvs_wire::l4_ports(q.payload(), 0)?;
    Some(QuotedFlow {
        proto,
        src: q.src(),
        src_port,
        dst: q.dst(),
        dst_port,
    })
}

/// Rewrite an ICMP error in place: the outer source/destination and the quoted packet's
/// source/destination address and port, where given; then the quoted IP header checksum, the
/// ICMP checksum (over the whole message, which is small) and the outer header checksum
/// (ip_vs_nat_icmp). The quoted TCP/UDP checksum is left alone: the quote is truncated, so
/// nobody can verify it.
pub fn icmp_translate(
    ip: &mut [u8],
    outer_src: Option<Ipv4Addr>,
    outer_dst: Option<Ipv4Addr>,
    inner_src: Option<(Ipv4Addr, u16)>,
    inner_dst: Option<(Ipv4Addr, u16)>,
) {
    let Ok(mut p) = ipv4::Packet::new_checked(&mut ip[..]) else {
        return;
    };
    if let Some(a) = outer_src {
        p.set_src_incremental(a);
    }
    if let Some(a) = outer_dst {
        p.set_dst_incremental(a);
    }
    let Ok(mut icmp) = icmpv4::Packet::new_checked(p.payload_mut()) else {
        return;
    };
    {
        let quote = icmp.payload_mut();
        let Ok(mut q) = ipv4::Packet::new_checked_quoted(&mut quote[..]) else {
            return;
        };
        let hl = q.header_len();
        if let Some((a, _)) = inner_src {
            q.set_src(a);
        }
        if let Some((a, _)) = inner_dst {
            q.set_dst(a);
        }
        q.fill_checksum();
        if let Some(ports) = quote.get_mut(hl..hl + 4) {
            if let Some((_, port)) = inner_src {
                ports[0..2].copy_from_slice(&port.to_be_bytes());
            }
            if let Some((_, port)) = inner_dst {
                ports[2..4].copy_from_slice(&port.to_be_bytes());
            }
        }
    }
    icmp.fill_checksum();
}

/// Whether the ICMP message in the IPv4 packet `ip` has a valid checksum (ip_vs_in_icmp
/// drops those that do not).
pub fn icmp_checksum_ok(ip: &[u8]) -> bool {
    ipv4::Packet::new_checked(ip)
        .ok()
        .and_then(|p| {
            icmpv4::Packet::new_checked(p.payload())
                .ok()
                .map(|i| i.verify_checksum())
        })
        .unwrap_or(false)
}

/// FullNAT, client → real server: CIP:cport → VIP:vport becomes LIP:lport → RIP:rport.
#[inline]
pub fn fullnat_rewrite_in(ip: &mut [u8], lip: Ipv4Addr, lport: u16, rip: Ipv4Addr, rport: u16) {
    rewrite_endpoint(ip, lip, lport, End::Src);
    rewrite_endpoint(ip, rip, rport, End::Dst);
}

/// FullNAT, real server → client: RIP:rport → LIP:lport becomes VIP:vport → CIP:cport.
#[inline]
pub fn fullnat_rewrite_out(ip: &mut [u8], vip: Ipv4Addr, vport: u16, cip: Ipv4Addr, cport: u16) {
    rewrite_endpoint(ip, vip, vport, End::Src);
    rewrite_endpoint(ip, cip, cport, End::Dst);
}

/// TCP option kind of TOA, "TCP option address": the client's port and IPv4 address given to
/// the real server on the SYN, as Alibaba's LVS and DPVS do.
pub const TOA_KIND: u8 = 254;
/// Length of the TOA option: kind, length, port (2), IPv4 address (4).
pub const TOA_LEN: usize = 8;

/// Insert the TOA option (kind 254, length 8: client port and IPv4 address) at the end of the
/// TCP options of the SYN in `frame`, whose buffer already holds [`TOA_LEN`] spare bytes
/// past the IP packet; lower the MSS by as much so the RS's segments still fit; fix lengths
/// and recompute the TCP and IP checksums (a SYN carries little, so a full sum is cheap).
/// Returns false, changing nothing, when the TCP header has no room for 8 more bytes of
/// options (60-byte limit, RFC 793).
pub fn insert_toa(frame: &mut [u8], client: Ipv4Addr, cport: u16) -> bool {
    let l3 = ethernet::HEADER_LEN;
    let Ok(ip) = ipv4::Packet::new_checked(&frame[l3..]) else {
        return false;
    };
    let (hl, total) = (ip.header_len(), usize::from(ip.total_len()));
    let Ok(t) = tcp::Packet::new_checked(ip.payload()) else {
        return false;
    };
    let th = t.header_len();
    let end = l3 + total;
    if th + TOA_LEN > 60 || frame.len() < end + TOA_LEN || total + TOA_LEN > usize::from(u16::MAX) {
        return false;
    }
    let opt_at = l3 + hl + th;
    frame.copy_within(opt_at..end, opt_at + TOA_LEN);
    let [p0, p1] = cport.to_be_bytes();
    let [a, b, c, d] = client.octets();
    frame[opt_at..opt_at + TOA_LEN].copy_from_slice(&[TOA_KIND, TOA_LEN as u8, p0, p1, a, b, c, d]);
    let Ok(mut ip) = ipv4::Packet::new_checked(&mut frame[l3..end + TOA_LEN]) else {
        return false;
    };
    ip.set_total_len((total + TOA_LEN) as u16);
    ip.fill_checksum();
    let (src, dst) = (ip.src(), ip.dst());
    let seg = ip.payload_mut();
    let mut t = tcp::Packet::new_unchecked(seg);
    t.set_header_len(th + TOA_LEN);
    if let Some(mss) = t.mss() {
        t.set_mss_incremental(mss.saturating_sub(TOA_LEN as u16));
    }
    t.fill_checksum_v4(src, dst);
    true
}
