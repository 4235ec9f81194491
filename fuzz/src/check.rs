//! An independent reading of frames: RFC 1071 checksums and header parsing written here from
//! the RFCs, sharing no code with rvs-wire, so that the engine's output is judged by code that
//! cannot share its mistakes.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

/// Known, reported defects the checks may be told to let pass (for long runs that should look
/// past them), by name in the comma-separated `RVS_FUZZ_ALLOW`. Empty by default: the smoke
/// test and the regression replay are strict.
///
/// - `icmp-zero-checksum`: an ICMP message whose bytes other than the checksum are all zero
///   (an echo request with identifier 0, sequence 0 and no data) gets checksum 0x0000 from
///   the incremental echo-reply update (RFC 1624 eqn. 3 yields +0 there) where only 0xFFFF
///   verifies; see fuzz/regressions/*/icmp_echo_reply_all_zero_checksum.
pub fn allowed(issue: &str) -> bool {
    static ALLOW: OnceLock<Vec<String>> = OnceLock::new();
    ALLOW
        .get_or_init(|| {
            std::env::var("RVS_FUZZ_ALLOW")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .iter()
        .any(|s| s == issue)
}

/// An ICMP message whose only non-zero bytes could be its checksum field, with checksum 0:
/// the `icmp-zero-checksum` defect.
pub fn is_icmp_zero_checksum(msg: &[u8]) -> bool {
    msg.len() >= 4
        && msg[2] == 0
        && msg[3] == 0
        && msg[..2].iter().chain(&msg[4..]).all(|&b| b == 0)
}

/// EtherTypes.
pub const ETH_IPV4: u16 = 0x0800;
/// ARP.
pub const ETH_ARP: u16 = 0x0806;
/// IPv6.
pub const ETH_IPV6: u16 = 0x86dd;
/// 802.1Q.
pub const ETH_VLAN: u16 = 0x8100;
/// 802.1ad.
pub const ETH_QINQ: u16 = 0x88a8;

/// IP protocol numbers.
pub const P_ICMP: u8 = 1;
/// IP in IP (RFC 2003).
pub const P_IPIP: u8 = 4;
/// TCP.
pub const P_TCP: u8 = 6;
/// UDP.
pub const P_UDP: u8 = 17;
/// ICMPv6.
pub const P_ICMPV6: u8 = 58;
/// IPv6 in IP (RFC 2473 tunnels).
pub const P_IPV6: u8 = 41;

/// RFC 1071 §4.1: the 16-bit one's complement sum of `data` (an odd byte is padded with zero),
/// added to `sum`, not yet folded.
pub fn sum16(data: &[u8], mut sum: u64) -> u64 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

/// Fold carries into 16 bits (RFC 1071 §2 (3) "end-around carry").
pub fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The checksum to store for data summing to `sum`.
pub fn finish(sum: u64) -> u16 {
    !fold(sum)
}

/// True when data that includes its checksum field sums to all ones (RFC 1071 §1: "the
/// receiver ... the result should be all 1 bits").
pub fn verifies(sum: u64) -> bool {
    fold(sum) == 0xffff
}

/// The IPv4 pseudo-header sum (RFC 793 §3.1, RFC 768).
pub fn pseudo4(src: [u8; 4], dst: [u8; 4], proto: u8, len: usize) -> u64 {
    let mut s = sum16(&src, 0);
    s = sum16(&dst, s);
    s + u64::from(proto) + len as u64
}

/// The IPv6 pseudo-header sum (RFC 8200 §8.1).
pub fn pseudo6(src: [u8; 16], dst: [u8; 16], proto: u8, len: usize) -> u64 {
    let mut s = sum16(&src, 0);
    s = sum16(&dst, s);
    s + u64::from(proto) + len as u64
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// An IPv4 header as RFC 791 lays it out, with the limits the header itself gives.
#[derive(Clone, Copy, Debug)]
pub struct Ip4<'a> {
    /// The whole packet (header and payload, without Ethernet padding).
    pub packet: &'a [u8],
    /// Header length in bytes.
    pub ihl: usize,
    /// Protocol.
    pub proto: u8,
    /// Source.
    pub src: [u8; 4],
    /// Destination.
    pub dst: [u8; 4],
    /// TTL.
    pub ttl: u8,
}

impl<'a> Ip4<'a> {
    /// Parse `b` (from the IPv4 header on, perhaps followed by padding): version 4, IHL at
    /// least 5, total length between the header and the buffer.
    pub fn parse(b: &'a [u8]) -> Option<Ip4<'a>> {
        let v = *b.first()?;
        if v >> 4 != 4 {
            return None;
        }
        let ihl = usize::from(v & 0x0f) * 4;
        let total = usize::from(be16(b, 2)?);
        if ihl < 20 || total < ihl || total > b.len() {
            return None;
        }
        let packet = &b[..total];
        Some(Ip4 {
            packet,
            ihl,
            proto: packet[9],
            src: [packet[12], packet[13], packet[14], packet[15]],
            dst: [packet[16], packet[17], packet[18], packet[19]],
            ttl: packet[8],
        })
    }

    /// The header checksum verifies.
    pub fn header_ok(&self) -> bool {
        verifies(sum16(&self.packet[..self.ihl], 0))
    }

    /// A fragment (MF set or offset not zero).
    pub fn is_fragment(&self) -> bool {
        let f = u16::from_be_bytes([self.packet[6], self.packet[7]]);
        f & 0x3fff != 0
    }

    /// The payload.
    pub fn payload(&self) -> &'a [u8] {
        &self.packet[self.ihl..]
    }
}

/// What an L4 checksum check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4Sum {
    /// The checksum verifies.
    Good,
    /// The checksum does not verify.
    Bad,
    /// No checksum to check (UDP with 0), or not a TCP/UDP/ICMP packet, or truncated.
    NotApplicable,
}

/// Check the TCP, UDP or ICMP checksum of an IPv4 packet's payload.
pub fn l4_sum4(ip: &Ip4<'_>) -> L4Sum {
    let seg = ip.payload();
    if ip.is_fragment() {
        return L4Sum::NotApplicable;
    }
    match ip.proto {
        P_TCP => {
            if seg.len() < 20 {
                return L4Sum::NotApplicable;
            }
            ok(verifies(sum16(
                seg,
                pseudo4(ip.src, ip.dst, P_TCP, seg.len()),
            )))
        }
        P_UDP => {
            let Some(len) = be16(seg, 4).map(usize::from) else {
                return L4Sum::NotApplicable;
            };
            if len < 8 || len > seg.len() {
                return L4Sum::NotApplicable;
            }
            if be16(seg, 6) == Some(0) {
                return L4Sum::NotApplicable;
            }
            ok(verifies(sum16(
                &seg[..len],
                pseudo4(ip.src, ip.dst, P_UDP, len),
            )))
        }
        P_ICMP => {
            if seg.len() < 8 {
                return L4Sum::NotApplicable;
            }
            ok(verifies(sum16(seg, 0)))
        }
        _ => L4Sum::NotApplicable,
    }
}

fn ok(b: bool) -> L4Sum {
    if b {
        L4Sum::Good
    } else {
        L4Sum::Bad
    }
}

/// The bytes of a TCP/UDP segment after its header: what no rewrite of the director changes,
/// so an output can be traced back to the input it came from.
pub fn l4_data(proto: u8, seg: &[u8]) -> Option<&[u8]> {
    match proto {
        P_TCP => {
            let off = usize::from(*seg.get(12)? >> 4) * 4;
            seg.get(off.max(20)..)
        }
        P_UDP => {
            let len = usize::from(be16(seg, 4)?);
            seg.get(8..len.max(8))
        }
        _ => None,
    }
}

/// The MSS option among TCP options, read as Linux's tcp_parse_options does: END stops, NOP
/// is one byte, any other option has a length of at least 2 that must fit (else parsing
/// stops), and only a length-4 MSS counts (others are skipped).
pub fn tcp_mss(options: &[u8]) -> Option<u16> {
    let mut i = 0;
    while i < options.len() {
        match options[i] {
            0 => return None,
            1 => i += 1,
            kind => {
                let len = usize::from(*options.get(i + 1)?);
                if len < 2 || i + len > options.len() {
                    return None;
                }
                if kind == 2 && len == 4 {
                    return Some(u16::from_be_bytes([options[i + 2], options[i + 3]]));
                }
                i += len;
            }
        }
    }
    None
}

/// Fingerprints of a TCP/UDP segment for [`Masks`]: what no rewrite of the director changes.
/// For UDP the data. For TCP the flags and the data with either the sequence or the
/// acknowledgment number: the SYN proxy shifts the acknowledgment number (and SACK blocks)
/// of the client's segments and the sequence number of the server's, never both.
pub fn fingerprints(proto: u8, seg: &[u8]) -> Option<Vec<Vec<u8>>> {
    let data = l4_data(proto, seg)?;
    if proto != P_TCP {
        let mut v = vec![proto];
        v.extend_from_slice(data);
        return Some(vec![v]);
    }
    let flags = *seg.get(13)?;
    let variant = |tag: u8, number: &[u8]| {
        let mut v = Vec::with_capacity(data.len() + 7);
        v.extend_from_slice(&[proto, tag]);
        v.extend_from_slice(number);
        v.push(flags);
        v.extend_from_slice(data);
        v
    };
    Some(vec![
        variant(b's', seg.get(4..8)?),
        variant(b'a', seg.get(8..12)?),
    ])
}

/// Segments fed to the engine with a wrong TCP/UDP checksum. The engine does not verify those
/// (IPVS does not either: it updates them incrementally), so what it sends of them keeps a
/// wrong checksum; the output check excuses an output whose data matches one of these.
#[derive(Default, Debug)]
pub struct Masks {
    set: HashSet<Vec<u8>>,
}

impl Masks {
    /// Note an input frame (untagged, from the Ethernet header on).
    pub fn note_input(&mut self, frame: &[u8]) {
        let (et, l3) = l3_of(frame);
        match et {
            ETH_IPV4 => {
                let Some(ip) = Ip4::parse(l3) else { return };
                self.note_ip4(&ip);
            }
            ETH_IPV6 => {
                let Some(ip) = Ip6::parse(l3) else { return };
                if (ip.next == P_TCP || ip.next == P_UDP) && l4_sum6(&ip) != L4Sum::Good {
                    if let Some(f) = fingerprints(ip.next, ip.payload) {
                        self.set.extend(f);
                    }
                }
            }
            _ => {}
        }
    }

    fn note_ip4(&mut self, ip: &Ip4<'_>) {
        if (ip.proto == P_TCP || ip.proto == P_UDP) && l4_sum4(ip) == L4Sum::Bad {
            if let Some(f) = fingerprints(ip.proto, ip.payload()) {
                self.set.extend(f);
            }
        }
        if ip.proto == P_IPIP {
            if let Some(inner) = Ip4::parse(ip.payload()) {
                self.note_ip4(&inner);
            }
        }
    }

    /// Whether a segment with a bad checksum was fed with the same data.
    pub fn excuses(&self, proto: u8, seg: &[u8]) -> bool {
        fingerprints(proto, seg).is_some_and(|f| f.iter().any(|f| self.set.contains(f)))
    }
}

/// The EtherType and L3 bytes of a frame, behind up to two VLAN tags.
pub fn l3_of(frame: &[u8]) -> (u16, &[u8]) {
    let mut at = 12;
    let mut et = be16(frame, at).unwrap_or(0);
    for _ in 0..2 {
        if et == ETH_VLAN || et == ETH_QINQ {
            at += 4;
            et = be16(frame, at).unwrap_or(0);
        }
    }
    (et, frame.get(at + 2..).unwrap_or(&[]))
}

/// An IPv6 header (RFC 8200 §3) and the upper layer behind its extension headers.
#[derive(Clone, Copy, Debug)]
pub struct Ip6<'a> {
    /// Next header of the upper layer (after hop-by-hop, destination options and routing
    /// headers); 44 for a fragment, whose upper layer is not read.
    pub next: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// Source.
    pub src: [u8; 16],
    /// Destination.
    pub dst: [u8; 16],
    /// The upper-layer data (to the end of the payload length).
    pub payload: &'a [u8],
    /// A routing header with segments left: the pseudo header's destination is not `dst`.
    pub routed: bool,
    /// Offset of the upper layer from the start of the IPv6 header.
    pub at: usize,
}

impl<'a> Ip6<'a> {
    /// Parse `b` from the IPv6 header on, walking extension headers (RFC 8200 §4).
    pub fn parse(b: &'a [u8]) -> Option<Ip6<'a>> {
        if b.len() < 40 || b[0] >> 4 != 6 {
            return None;
        }
        let len = usize::from(be16(b, 4)?);
        let mut payload = b.get(40..40 + len)?;
        let mut next = b[6];
        let mut routed = false;
        let mut at = 40;
        for _ in 0..8 {
            match next {
                0 | 43 | 60 => {
                    let hl = (usize::from(*payload.get(1)?) + 1) * 8;
                    if next == 43 && *payload.get(3)? != 0 {
                        routed = true;
                    }
                    next = payload[0];
                    payload = payload.get(hl..)?;
                    at += hl;
                }
                _ => break,
            }
        }
        let mut src = [0; 16];
        src.copy_from_slice(&b[8..24]);
        let mut dst = [0; 16];
        dst.copy_from_slice(&b[24..40]);
        Some(Ip6 {
            next,
            hop_limit: b[7],
            src,
            dst,
            payload,
            routed,
            at,
        })
    }
}

/// Check the TCP, UDP or ICMPv6 checksum of an IPv6 packet (mandatory for all three, RFC 8200
/// §8.1).
pub fn l4_sum6(ip: &Ip6<'_>) -> L4Sum {
    let seg = ip.payload;
    if ip.routed {
        return L4Sum::NotApplicable;
    }
    let len = match ip.next {
        P_TCP if seg.len() >= 20 => seg.len(),
        P_UDP => match be16(seg, 4).map(usize::from) {
            Some(l) if (8..=seg.len()).contains(&l) => l,
            _ => return L4Sum::NotApplicable,
        },
        P_ICMPV6 if seg.len() >= 4 => seg.len(),
        _ => return L4Sum::NotApplicable,
    };
    ok(verifies(sum16(
        &seg[..len],
        pseudo6(ip.src, ip.dst, ip.next, len),
    )))
}

/// What an emitted frame must look like, given the port it leaves by.
pub struct PortView {
    /// The port's MAC.
    pub mac: [u8; 6],
    /// The port's VLAN id, if tagged.
    pub vlan: Option<u16>,
}

fn bad_source4(a: [u8; 4]) -> bool {
    let a = Ipv4Addr::from(a);
    a.is_multicast() || a.is_broadcast() || a.is_unspecified() || a.is_loopback()
}

fn bad_source6(a: [u8; 16]) -> bool {
    let a = Ipv6Addr::from(a);
    a.is_multicast() || a.is_unspecified() || a.is_loopback()
}

/// Check a frame the engine sent out of `port`: the port's source MAC and VLAN tag, an
/// EtherType the director speaks, and for IP a valid header and valid TCP/UDP/ICMP checksums
/// (excused by `masks` for TCP/UDP data that came in with a bad checksum); for IPIP the same
/// of the inner packet. Returns the untagged frame on success.
pub fn emitted(port: &PortView, frame: &[u8], masks: &Masks) -> Result<Vec<u8>, String> {
    if frame.len() < 14 {
        return Err(format!("frame of {} bytes", frame.len()));
    }
    if frame[6..12] != port.mac {
        return Err(format!(
            "source MAC {:02x?} is not the port's",
            &frame[6..12]
        ));
    }
    let untagged: Vec<u8> = match port.vlan {
        Some(vid) => {
            if be16(frame, 12) != Some(ETH_VLAN) || frame.len() < 18 {
                return Err("untagged frame on a VLAN port".into());
            }
            if be16(frame, 14).map(|t| t & 0x0fff) != Some(vid) {
                return Err("tagged with another VLAN id".into());
            }
            [&frame[..12], &frame[16..]].concat()
        }
        None => frame.to_vec(),
    };
    let et = be16(&untagged, 12).unwrap_or(0);
    let l3 = &untagged[14..];
    match et {
        ETH_ARP => {
            if l3.len() < 28 {
                return Err("short ARP".into());
            }
            if l3[0..6] != [0, 1, 8, 0, 6, 4] {
                return Err("ARP not Ethernet/IPv4".into());
            }
            let op = be16(l3, 6).unwrap_or(0);
            if op != 1 && op != 2 {
                return Err(format!("ARP operation {op}"));
            }
            if l3[8..14] != port.mac {
                return Err("ARP sender MAC is not the port's".into());
            }
        }
        ETH_IPV4 => {
            let ip = Ip4::parse(l3).ok_or("IPv4 header does not parse")?;
            check_ip4(&ip, masks, 0)?;
        }
        ETH_IPV6 => {
            let ip = Ip6::parse(l3).ok_or("IPv6 header does not parse")?;
            check_ip6(&ip, masks, 0)?;
        }
        other => return Err(format!("EtherType {other:#06x} sent")),
    }
    Ok(untagged)
}

fn check_ip6(ip: &Ip6<'_>, masks: &Masks, depth: u8) -> Result<(), String> {
    if depth == 0 && bad_source6(ip.src) {
        return Err(format!("IPv6 source {}", Ipv6Addr::from(ip.src)));
    }
    if l4_sum6(ip) == L4Sum::Bad && !(ip.next != P_ICMPV6 && masks.excuses(ip.next, ip.payload)) {
        return Err(format!(
            "IPv6 next header {} checksum (depth {depth}) {} -> {}",
            ip.next,
            Ipv6Addr::from(ip.src),
            Ipv6Addr::from(ip.dst)
        ));
    }
    if ip.next == P_IPV6 && depth == 0 {
        let inner = Ip6::parse(ip.payload).ok_or("6in6 inner header does not parse")?;
        check_ip6(&inner, masks, 1)?;
    }
    Ok(())
}

fn check_ip4(ip: &Ip4<'_>, masks: &Masks, depth: u8) -> Result<(), String> {
    if !ip.header_ok() {
        return Err(format!("IPv4 header checksum (depth {depth})"));
    }
    if depth == 0 && bad_source4(ip.src) {
        return Err(format!("IPv4 source {}", Ipv4Addr::from(ip.src)));
    }
    match l4_sum4(ip) {
        L4Sum::Bad => {
            let excused = (ip.proto != P_ICMP && masks.excuses(ip.proto, ip.payload()))
                || (ip.proto == P_ICMP
                    && allowed("icmp-zero-checksum")
                    && is_icmp_zero_checksum(ip.payload()));
            if !excused {
                return Err(format!(
                    "IPv4 protocol {} checksum (depth {depth}) {:?} -> {:?}",
                    ip.proto,
                    Ipv4Addr::from(ip.src),
                    Ipv4Addr::from(ip.dst)
                ));
            }
        }
        L4Sum::Good | L4Sum::NotApplicable => {}
    }
    if ip.proto == P_IPIP && depth == 0 {
        let inner = Ip4::parse(ip.payload()).ok_or("IPIP inner header does not parse")?;
        if inner.packet.len() != ip.payload().len() {
            return Err("IPIP outer length does not match the inner packet".into());
        }
        check_ip4(&inner, masks, 1)?;
    }
    Ok(())
}

/// Recompute the checksums of a frame in place (IPv4 header, TCP/UDP/ICMP, ICMPv6), as far as
/// its headers parse: what a well-behaved host would have sent.
pub fn fix_checksums(frame: &mut [u8]) {
    let mut l3 = 14;
    if matches!(be16(frame, 12), Some(ETH_VLAN | ETH_QINQ)) {
        l3 = 18;
    }
    let et = be16(frame, l3 - 2).unwrap_or(0);
    let Some(b) = frame.get_mut(l3..) else { return };
    match et {
        ETH_IPV4 => fix_ip4(b, 0),
        ETH_IPV6 => fix_ip6(b),
        _ => {}
    }
}

/// Recompute only the header checksum of the IPv4 header at the start of `b` (a quote may
/// be truncated after it).
pub fn fix_ip4_header(b: &mut [u8]) {
    let Some(&v) = b.first() else { return };
    let ihl = usize::from(v & 0x0f) * 4;
    if ihl < 20 || b.len() < ihl {
        return;
    }
    b[10] = 0;
    b[11] = 0;
    let c = finish(sum16(&b[..ihl], 0));
    b[10..12].copy_from_slice(&c.to_be_bytes());
}

fn fix_ip4(b: &mut [u8], depth: u8) {
    let Some(ip) = Ip4::parse(b) else { return };
    let (ihl, proto, src, dst, total) = (ip.ihl, ip.proto, ip.src, ip.dst, ip.packet.len());
    let frag = ip.is_fragment();
    b[10] = 0;
    b[11] = 0;
    let c = finish(sum16(&b[..ihl], 0));
    b[10..12].copy_from_slice(&c.to_be_bytes());
    if frag {
        return;
    }
    let seg = &mut b[ihl..total];
    match proto {
        P_TCP if seg.len() >= 20 => {
            seg[16] = 0;
            seg[17] = 0;
            let c = finish(sum16(seg, pseudo4(src, dst, P_TCP, seg.len())));
            seg[16..18].copy_from_slice(&c.to_be_bytes());
        }
        P_UDP if seg.len() >= 8 => {
            let len = usize::from(u16::from_be_bytes([seg[4], seg[5]]));
            if (8..=seg.len()).contains(&len) {
                seg[6] = 0;
                seg[7] = 0;
                let mut c = finish(sum16(&seg[..len], pseudo4(src, dst, P_UDP, len)));
                if c == 0 {
                    c = 0xffff;
                }
                seg[6..8].copy_from_slice(&c.to_be_bytes());
            }
        }
        P_ICMP if seg.len() >= 8 => {
            seg[2] = 0;
            seg[3] = 0;
            let c = finish(sum16(seg, 0));
            seg[2..4].copy_from_slice(&c.to_be_bytes());
        }
        P_IPIP if depth == 0 => fix_ip4(seg, 1),
        _ => {}
    }
}

fn fix_ip6(b: &mut [u8]) {
    let Some(ip) = Ip6::parse(b) else { return };
    if ip.routed {
        return;
    }
    let (next, src, dst, len, start) = (ip.next, ip.src, ip.dst, ip.payload.len(), ip.at);
    let seg = &mut b[start..start + len];
    let at = match next {
        P_TCP if len >= 20 => 16,
        P_UDP if len >= 8 => 6,
        P_ICMPV6 if len >= 4 => 2,
        _ => return,
    };
    let slen = if next == P_UDP {
        let l = usize::from(u16::from_be_bytes([seg[4], seg[5]]));
        if !(8..=len).contains(&l) {
            return;
        }
        l
    } else {
        len
    };
    seg[at] = 0;
    seg[at + 1] = 0;
    let mut c = finish(sum16(&seg[..slen], pseudo6(src, dst, next, slen)));
    if next == P_UDP && c == 0 {
        c = 0xffff;
    }
    seg[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_sums_as_the_rfc_says() {
        // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (after the carry).
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum16(&d, 0)), 0xddf2);
        assert_eq!(finish(sum16(&d, 0)), !0xddf2);
    }

    #[test]
    fn fixed_frames_verify_and_a_flipped_bit_does_not() {
        let mut f = Vec::new();
        etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([198, 18, 0, 2], [198, 18, 0, 100], 64)
            .tcp(1000, 80, 7, 100)
            .write(&mut f, b"hello")
            .unwrap();
        let ip = Ip4::parse(&f[14..]).unwrap();
        assert!(ip.header_ok());
        assert_eq!(l4_sum4(&ip), L4Sum::Good);
        let mut g = f.clone();
        g[14 + 20 + 20] ^= 1;
        assert_eq!(l4_sum4(&Ip4::parse(&g[14..]).unwrap()), L4Sum::Bad);
        fix_checksums(&mut g);
        assert_eq!(l4_sum4(&Ip4::parse(&g[14..]).unwrap()), L4Sum::Good);
        let mut m = Masks::default();
        m.note_input(&f);
        assert!(!m.excuses(P_TCP, Ip4::parse(&f[14..]).unwrap().payload()));
        f[14 + 20 + 16] ^= 0x40;
        m.note_input(&f);
        assert!(m.excuses(P_TCP, Ip4::parse(&f[14..]).unwrap().payload()));
    }
}
