//! Zero-copy header views and in-place rewrites for the rvs data path.
//!
//! Every header is a view over a byte buffer (`Packet<T: AsRef<[u8]>>`, smoltcp style): field
//! offsets live as constants in a private `mod field`, getters exist for any `T: AsRef<[u8]>`,
//! setters only where `T: AsMut<[u8]>`. `new_checked` validates the lengths a header declares once,
//! so that a view always describes a well-formed header.
//!
//! Panic freedom does not even depend on that validation: every accessor reads through
//! `slice::get`, a fixed field that lies outside the buffer reads as zero and a write to it is
//! dropped, and every range derived from a length field is clamped to the buffer. A view built
//! with `new_unchecked` over garbage, or one whose length fields a setter has bent, can give
//! wrong answers but cannot panic. Nothing here allocates.
//!
//! Checksums follow RFC 1071 (computation) and RFC 1624 (incremental update); every NAT-style
//! setter (`*_incremental`) keeps the affected checksum valid without touching the payload.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use core::fmt;
use core::ops::{Range, RangeFrom};
use core::str::FromStr;

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmpv4;
pub mod icmpv6;
pub mod ipip;
pub mod ipv4;
pub mod ipv6;
pub mod tcp;
pub mod udp;
pub mod vlan;

#[cfg(test)]
mod testdata;

/// Why a buffer is not a valid header.
///
/// `Truncated` means the buffer is shorter than the fixed part of the header; the `Bad*` variants
/// mean a length or version field disagrees with the header itself or with the buffer holding it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Error {
    /// The buffer is shorter than the fixed header.
    #[error("truncated: buffer shorter than the fixed header")]
    Truncated,
    /// The IP version field is not the one this view parses.
    #[error("bad IP version field")]
    BadVersion,
    /// IPv4 IHL below 5 words, or larger than the buffer.
    #[error("bad IPv4 header length (IHL < 5 or beyond the buffer)")]
    BadHeaderLen,
    /// IPv4 total length shorter than its header, or longer than the buffer.
    #[error("bad IPv4 total length (below the header length or beyond the buffer)")]
    BadTotalLen,
    /// TCP data offset below 5 words, or beyond the segment.
    #[error("bad TCP data offset (below 5 words or beyond the segment)")]
    BadDataOffset,
    /// A length field (UDP length, IPv6 payload length) disagrees with the buffer.
    #[error("bad length field (shorter than the header or beyond the buffer)")]
    BadLength,
    /// Well-formed, but a variant this crate does not handle (e.g. non-Ethernet/IPv4 ARP).
    #[error("unsupported header variant")]
    Unsupported,
}

/// Result of parsing a header.
pub type Result<T> = core::result::Result<T, Error>;

/// Byte range of a fixed-size field.
pub(crate) type Field = Range<usize>;
/// Byte range from a fixed offset to the end of the header or buffer.
pub(crate) type Rest = RangeFrom<usize>;

/// Panic-free big-endian field access: out-of-range reads give zero, out-of-range writes are
/// dropped. Views validate lengths in `new_checked`, so in practice these never take the
/// fallback; they exist so that no input can ever make an accessor panic.
pub(crate) mod bytes {
    use super::Field;

    #[inline]
    pub fn rd8(b: &[u8], at: usize) -> u8 {
        b.get(at).copied().unwrap_or(0)
    }

    #[inline]
    pub fn rdn<const N: usize>(b: &[u8], f: Field) -> [u8; N] {
        b.get(f)
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .unwrap_or([0; N])
    }

    #[inline]
    pub fn rd16(b: &[u8], f: Field) -> u16 {
        u16::from_be_bytes(rdn(b, f))
    }

    #[inline]
    pub fn rd32(b: &[u8], f: Field) -> u32 {
        u32::from_be_bytes(rdn(b, f))
    }

    #[inline]
    pub fn wr8(b: &mut [u8], at: usize, v: u8) {
        if let Some(x) = b.get_mut(at) {
            *x = v;
        }
    }

    #[inline]
    pub fn wrn(b: &mut [u8], f: Field, v: &[u8]) {
        if let Some(s) = b.get_mut(f) {
            if s.len() == v.len() {
                s.copy_from_slice(v);
            }
        }
    }

    #[inline]
    pub fn wr16(b: &mut [u8], f: Field, v: u16) {
        wrn(b, f, &v.to_be_bytes())
    }

    #[inline]
    pub fn wr32(b: &mut [u8], f: Field, v: u32) {
        wrn(b, f, &v.to_be_bytes())
    }

    /// `b[start..end]`, both ends clamped to the buffer (and `start` to `end`).
    #[inline]
    pub fn clamp(b: &[u8], start: usize, end: usize) -> &[u8] {
        let end = end.min(b.len());
        let start = start.min(end);
        b.get(start..end).unwrap_or(&[])
    }

    /// Mutable twin of [`clamp`].
    #[inline]
    pub fn clamp_mut(b: &mut [u8], start: usize, end: usize) -> &mut [u8] {
        let end = end.min(b.len());
        let start = start.min(end);
        b.get_mut(start..end).unwrap_or(&mut [])
    }

    /// Overwrite the 16-bit field at `at` with `new`, patching the checksum stored at
    /// `csum_at` per RFC 1624 eqn. 3, and return the old value.
    ///
    /// `at` is the field's offset within the checksummed data; the data must start at an even
    /// offset of the checksummed stream (true for every IP header and for L4 data after an IP
    /// pseudo header). A field at an odd offset straddles two 16-bit words: its high byte is the
    /// low byte of one word and its low byte the high byte of the next, so it contributes its
    /// byte-swapped value to the sum (RFC 1071 §2(B), byte order independence) and the update
    /// uses the swapped old and new values.
    pub fn rewrite16(b: &mut [u8], at: usize, new: u16, csum: Field) -> u16 {
        let f = at..at.wrapping_add(2);
        let old = rd16(b, f.clone());
        if b.get(f.clone()).is_none() {
            return old;
        }
        wr16(b, f, new);
        let c = rd16(b, csum.clone());
        let c = if at.is_multiple_of(2) {
            crate::checksum::update16(c, old, new)
        } else {
            crate::checksum::update16(c, old.swap_bytes(), new.swap_bytes())
        };
        wr16(b, csum, c);
        old
    }
}

/// A 48-bit IEEE 802 MAC address.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff, the destination of an ARP request.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// 00:00:00:00:00:00, the unknown target hardware address in an ARP request (RFC 826).
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// The address from the first six bytes of `b`, if there are six.
    pub fn from_bytes(b: &[u8]) -> Option<MacAddr> {
        b.get(..6)
            .and_then(|s| <[u8; 6]>::try_from(s).ok())
            .map(MacAddr)
    }

    /// The six octets.
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// All ones.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Group bit (I/G, least significant bit of the first octet) set; includes broadcast.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Individual address: group bit clear.
    pub fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// Locally administered (U/L bit set), as for addresses a TAP or VM gets.
    pub fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// All zeros.
    pub fn is_zero(&self) -> bool {
        *self == Self::ZERO
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(b: [u8; 6]) -> Self {
        MacAddr(b)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A MAC address string that is not six `:`- or `-`-separated hex octets.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid MAC address: expected six hex octets like 02:00:00:aa:bb:cc")]
pub struct ParseMacError;

impl FromStr for MacAddr {
    type Err = ParseMacError;

    /// Parses `aa:bb:cc:dd:ee:ff` (or with `-`), one or two hex digits per octet.
    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for o in out.iter_mut() {
            let p = parts.next().ok_or(ParseMacError)?;
            if p.is_empty() || p.len() > 2 {
                return Err(ParseMacError);
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| ParseMacError)?;
        }
        if parts.next().is_some() {
            return Err(ParseMacError);
        }
        Ok(MacAddr(out))
    }
}

/// Source and destination port of a TCP or UDP header starting at `offset` in `buf`.
///
/// Both protocols put the ports in their first four bytes (RFC 793 §3.1, RFC 768), and so does
/// the 8-byte L4 quote inside an ICMP error (RFC 792 requires "the first 64 bits of the original
/// data datagram"), so this works on truncated segments where a full view would be refused.
/// `None` if fewer than four bytes are available.
pub fn l4_ports(buf: &[u8], offset: usize) -> Option<(u16, u16)> {
    let p = buf.get(offset..offset.checked_add(4)?)?;
    match *p {
        [a, b, c, d] => Some((u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_display_and_parse() {
        let m = MacAddr([0x00, 0x1b, 0x21, 0xaa, 0x0b, 0xff]);
        assert_eq!(m.to_string(), "00:1b:21:aa:0b:ff");
        assert_eq!("00:1b:21:aa:0b:ff".parse::<MacAddr>(), Ok(m));
        assert_eq!("00-1B-21-AA-0B-FF".parse::<MacAddr>(), Ok(m));
        assert_eq!(format!("{m:?}"), "00:1b:21:aa:0b:ff");
        assert!("00:1b:21:aa:0b".parse::<MacAddr>().is_err());
        assert!("00:1b:21:aa:0b:ff:00".parse::<MacAddr>().is_err());
        assert!("00:1b:21:aa:0b:fg".parse::<MacAddr>().is_err());
        assert!("00:1b:21:aa::ff".parse::<MacAddr>().is_err());
        assert!("100:1b:21:aa:0b:ff".parse::<MacAddr>().is_err());
    }

    #[test]
    fn mac_classes() {
        assert!(MacAddr::BROADCAST.is_broadcast());
        assert!(MacAddr::BROADCAST.is_multicast());
        assert!(!MacAddr::BROADCAST.is_unicast());
        let mcast = MacAddr([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]);
        assert!(mcast.is_multicast() && !mcast.is_broadcast() && !mcast.is_unicast());
        let ucast = MacAddr([0x02, 0x42, 0xac, 0x11, 0x00, 0x02]);
        assert!(ucast.is_unicast() && !ucast.is_multicast() && ucast.is_local());
        assert!(!MacAddr([0x00, 0x1b, 0x21, 0, 0, 1]).is_local());
        assert!(MacAddr::ZERO.is_zero());
        assert_eq!(MacAddr::from_bytes(&[1, 2, 3, 4, 5]), None);
        assert_eq!(
            MacAddr::from_bytes(&[1, 2, 3, 4, 5, 6, 7]),
            Some(MacAddr([1, 2, 3, 4, 5, 6]))
        );
    }

    #[test]
    fn ports_at_offset() {
        let b = [0u8, 0, 0x30, 0x39, 0x00, 0x50, 9];
        assert_eq!(l4_ports(&b, 2), Some((12345, 80)));
        assert_eq!(l4_ports(&b, 4), None);
        assert_eq!(l4_ports(&b, usize::MAX), None);
    }

    /// Parse a frame as the data path would, touching every accessor on the way.
    fn parse_stack(frame: &[u8]) -> usize {
        let mut reached = 0;
        let Ok(eth) = ethernet::Frame::new_checked(frame) else {
            return reached;
        };
        let _ = (eth.dst(), eth.src(), eth.ethertype(), eth.payload().len());
        let Ok(loc) = eth.l3_location() else {
            return reached;
        };
        let l3 = frame.get(loc.offset..).unwrap_or(&[]);
        match loc.ethertype {
            ethernet::ethertype::ARP => {
                if let Ok(p) = arp::Packet::new_checked(l3) {
                    reached = 1;
                    let _ = arp::Repr::parse(&p);
                }
            }
            ethernet::ethertype::IPV4 => {
                let Ok(ip) = ipv4::Packet::new_checked(l3) else {
                    return reached;
                };
                reached = 2;
                let _ = (
                    ip.verify_checksum(),
                    ip.options().len(),
                    ip.is_fragment(),
                    ipv4::Repr::parse(&ip),
                );
                let (src, dst, l4) = (ip.src(), ip.dst(), ip.payload());
                match ip.protocol() {
                    ipv4::protocol::TCP => {
                        if let Ok(t) = tcp::Packet::new_checked(l4) {
                            reached = 3;
                            let _ = (
                                t.flags(),
                                t.mss(),
                                t.options_iter().count(),
                                t.verify_checksum_v4(src, dst),
                            );
                        }
                    }
                    ipv4::protocol::UDP => {
                        if let Ok(u) = udp::Packet::new_checked(l4) {
                            reached = 3;
                            let _ = (u.payload().len(), u.verify_checksum_v4(src, dst));
                        }
                    }
                    ipv4::protocol::ICMP => {
                        if let Ok(i) = icmpv4::Packet::new_checked(l4) {
                            reached = 3;
                            let _ = (i.verify_checksum(), i.echo_ident(), i.next_hop_mtu());
                            if let Ok(q) = i.quoted_ipv4() {
                                let _ = (q.src(), l4_ports(q.payload(), 0));
                            }
                        }
                    }
                    _ => {}
                }
            }
            ethernet::ethertype::IPV6 => {
                if let Ok(ip) = ipv6::Packet::new_checked(l3) {
                    reached = 2;
                    if let Ok(i) = icmpv6::Packet::new_checked(ip.payload()) {
                        reached = 3;
                        let _ = (
                            i.verify_checksum(ip.src(), ip.dst()),
                            i.nd_target(),
                            i.nd_link_layer_addr(1),
                        );
                    }
                }
            }
            _ => {}
        }
        reached
    }

    #[test]
    fn captured_frames_parse_to_l4() {
        use testdata::*;
        for f in [
            &SYN_FRAME[..],
            &SYN_ACK_FRAME[..],
            &HTTP_PSH_FRAME[..],
            &DNS_QUERY_FRAME[..],
            &ICMP_UNREACH_FRAME[..],
            &VLAN_TCP_FRAME[..],
            &ICMPV6_NS_FRAME[..],
        ] {
            assert_eq!(parse_stack(f), 3);
        }
        assert_eq!(parse_stack(&testdata::ARP_REQUEST_FRAME), 1);
    }

    proptest::proptest! {
        /// Like smoltcp's packet_parser fuzz target: arbitrary frames never panic the parse.
        #[test]
        fn whole_stack_parse_never_panics(frame in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            parse_stack(&frame);
        }

        /// Real frames with a few bytes corrupted reach deep into the parsers.
        #[test]
        fn corrupted_captures_never_panic(
            which in 0usize..8,
            flips in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 1..6),
            cut in proptest::prelude::any::<usize>(),
        ) {
            use testdata::*;
            let frames: [&[u8]; 8] = [&SYN_FRAME, &SYN_ACK_FRAME, &HTTP_PSH_FRAME, &DNS_QUERY_FRAME,
                                      &ICMP_UNREACH_FRAME, &VLAN_TCP_FRAME, &ICMPV6_NS_FRAME, &ARP_REQUEST_FRAME];
            let mut f = frames[which].to_vec();
            for (at, v) in flips {
                let n = f.len();
                f[at % n] = v;
            }
            f.truncate(cut % (f.len() + 1));
            parse_stack(&f);
        }
    }

    #[test]
    fn field_io_never_panics_out_of_range() {
        let mut b = [1u8, 2, 3];
        assert_eq!(bytes::rd16(&b, 2..4), 0);
        assert_eq!(bytes::rd32(&b, usize::MAX - 1..usize::MAX), 0);
        bytes::wr16(&mut b, 2..4, 0xffff);
        assert_eq!(b, [1, 2, 3]);
        assert_eq!(bytes::clamp(&b, 5, 2), &[] as &[u8]);
        assert_eq!(bytes::clamp(&b, 1, 9), &[2, 3]);
    }
}
