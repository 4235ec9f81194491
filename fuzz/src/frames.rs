//! Frames built by hand (RFC 791/793/768/792/826 layouts), for the harness's synthesised
//! operations and the seed corpora. Checksums are left to [`crate::check::fix_checksums`].

use crate::check::{self, ETH_ARP, ETH_IPV4, P_ICMP, P_TCP, P_UDP};

/// TCP flags.
pub mod flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// An Ethernet header.
pub fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(128);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// IPv4 header options of the synthesised packets.
#[derive(Clone, Copy, Debug, Default)]
pub struct IpOpts {
    /// Don't fragment.
    pub df: bool,
    /// More fragments.
    pub mf: bool,
    /// Fragment offset (8-byte units).
    pub frag_offset: u16,
    /// Words of NOP options (0..=10).
    pub option_words: u8,
}

/// An IPv4 packet with `payload` (header checksum zero).
pub fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, ttl: u8, o: IpOpts, payload: &[u8]) -> Vec<u8> {
    let words = o.option_words.min(10);
    let ihl = 5 + words;
    let total = usize::from(ihl) * 4 + payload.len();
    let mut p = Vec::with_capacity(total);
    p.push(0x40 | ihl);
    p.push(0);
    p.extend_from_slice(&(total.min(0xffff) as u16).to_be_bytes());
    p.extend_from_slice(&0x1234u16.to_be_bytes());
    let mut fl = o.frag_offset & 0x1fff;
    if o.df {
        fl |= 0x4000;
    }
    if o.mf {
        fl |= 0x2000;
    }
    p.extend_from_slice(&fl.to_be_bytes());
    p.push(ttl);
    p.push(proto);
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend(std::iter::repeat_n(1u8, usize::from(words) * 4));
    p.extend_from_slice(payload);
    p
}

/// A TCP segment; a SYN carries an MSS option of 1460.
pub fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, fl: u8, payload: &[u8]) -> Vec<u8> {
    let syn = fl & flags::SYN != 0;
    let doff: u8 = if syn { 6 } else { 5 };
    let mut s = Vec::with_capacity(24 + payload.len());
    s.extend_from_slice(&sport.to_be_bytes());
    s.extend_from_slice(&dport.to_be_bytes());
    s.extend_from_slice(&seq.to_be_bytes());
    s.extend_from_slice(&ack.to_be_bytes());
    s.push(doff << 4);
    s.push(fl);
    s.extend_from_slice(&64240u16.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 0]);
    if syn {
        s.extend_from_slice(&[2, 4, 0x05, 0xb4]);
    }
    s.extend_from_slice(payload);
    s
}

/// A UDP datagram.
pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut s = Vec::with_capacity(8 + payload.len());
    s.extend_from_slice(&sport.to_be_bytes());
    s.extend_from_slice(&dport.to_be_bytes());
    s.extend_from_slice(&((8 + payload.len()).min(0xffff) as u16).to_be_bytes());
    s.extend_from_slice(&[0, 0]);
    s.extend_from_slice(payload);
    s
}

/// An ICMP message with a 4-byte rest of header.
pub fn icmp(msg_type: u8, code: u8, rest: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut s = vec![msg_type, code, 0, 0];
    s.extend_from_slice(&rest);
    s.extend_from_slice(payload);
    s
}

/// An Ethernet/IPv4 ARP frame (RFC 826), padded to 60 bytes.
pub fn arp(
    eth_dst: [u8; 6],
    op: u16,
    sender_mac: [u8; 6],
    sender_ip: [u8; 4],
    target_mac: [u8; 6],
    target_ip: [u8; 4],
) -> Vec<u8> {
    let mut f = eth(eth_dst, sender_mac, ETH_ARP);
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4]);
    f.extend_from_slice(&op.to_be_bytes());
    f.extend_from_slice(&sender_mac);
    f.extend_from_slice(&sender_ip);
    f.extend_from_slice(&target_mac);
    f.extend_from_slice(&target_ip);
    f.resize(60, 0);
    f
}

/// A full Ethernet/IPv4 frame with valid checksums.
#[allow(clippy::too_many_arguments)]
pub fn ip_frame(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    ttl: u8,
    o: IpOpts,
    l4: &[u8],
) -> Vec<u8> {
    let mut f = eth(dst_mac, src_mac, ETH_IPV4);
    f.extend_from_slice(&ipv4(src, dst, proto, ttl, o, l4));
    check::fix_checksums(&mut f);
    f
}

/// A TCP frame with valid checksums.
#[allow(clippy::too_many_arguments)]
pub fn tcp_frame(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    fl: u8,
    payload: &[u8],
) -> Vec<u8> {
    let seg = tcp(
        sport,
        dport,
        1000,
        if fl & flags::ACK != 0 { 2000 } else { 0 },
        fl,
        payload,
    );
    ip_frame(
        dst_mac,
        src_mac,
        src,
        dst,
        P_TCP,
        64,
        IpOpts::default(),
        &seg,
    )
}

/// A UDP frame with valid checksums.
pub fn udp_frame(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let d = udp(sport, dport, payload);
    ip_frame(dst_mac, src_mac, src, dst, P_UDP, 64, IpOpts::default(), &d)
}

/// An ICMP echo request frame with valid checksums.
pub fn echo_frame(dst_mac: [u8; 6], src_mac: [u8; 6], src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let m = icmp(8, 0, [0x12, 0x34, 0, 1], b"abcdefgh");
    ip_frame(
        dst_mac,
        src_mac,
        src,
        dst,
        P_ICMP,
        64,
        IpOpts::default(),
        &m,
    )
}

/// `frame` with an 802.1Q tag for `vid` after the MAC addresses.
pub fn tag(frame: &[u8], vid: u16) -> Vec<u8> {
    let mut f = frame.get(..12).unwrap_or(frame).to_vec();
    f.extend_from_slice(&[0x81, 0x00]);
    f.extend_from_slice(&vid.to_be_bytes());
    f.extend_from_slice(frame.get(12..).unwrap_or(&[]));
    f
}

/// An IPv6 packet (RFC 8200) carrying `payload` as `next`, behind one extension header when
/// `ext` is given: 60 (destination options, PadN) or 44 (a first fragment with more to come).
pub fn ipv6(
    src: [u8; 16],
    dst: [u8; 16],
    next: u8,
    hop: u8,
    ext: Option<u8>,
    payload: &[u8],
) -> Vec<u8> {
    let mut body = Vec::with_capacity(payload.len() + 8);
    let first = match ext {
        Some(kind) => {
            match kind {
                44 => body.extend_from_slice(&[next, 0, 0, 1, 0, 0, 0, 7]),
                _ => body.extend_from_slice(&[next, 0, 1, 4, 0, 0, 0, 0]),
            }
            kind
        }
        None => next,
    };
    body.extend_from_slice(payload);
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(body.len().min(0xffff) as u16).to_be_bytes());
    p.push(first);
    p.push(hop);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&body);
    p
}

/// The solicited-node multicast group of `a` (RFC 4291 §2.7.1).
pub fn solicited_node(a: [u8; 16]) -> [u8; 16] {
    let mut g = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0];
    g[13..16].copy_from_slice(&a[13..16]);
    g
}

/// The Ethernet multicast address of an IPv6 group (RFC 2464 §7).
pub fn multicast_mac(g: [u8; 16]) -> [u8; 6] {
    [0x33, 0x33, g[12], g[13], g[14], g[15]]
}

/// A neighbor solicitation or advertisement message (RFC 4861 §4.3, §4.4) for `target`, with
/// a link-layer address option when `lladdr` is given.
pub fn nd(solicit: bool, flags: u32, target: [u8; 16], lladdr: Option<[u8; 6]>) -> Vec<u8> {
    let mut m = vec![if solicit { 135 } else { 136 }, 0, 0, 0];
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&target);
    if let Some(mac) = lladdr {
        m.push(if solicit { 1 } else { 2 });
        m.push(1);
        m.extend_from_slice(&mac);
    }
    m
}
