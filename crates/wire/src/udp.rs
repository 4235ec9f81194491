//! UDP header (RFC 768) with in-place rewrites and incremental checksum updates.
//!
//! The view's buffer is the UDP datagram (e.g. `ipv4::Packet::payload`); the header's length
//! field delimits it and the checksum covers exactly that many bytes plus the pseudo header.
//! Over IPv4 a stored checksum of zero means "not computed" (RFC 768); incremental updates
//! leave such a datagram without checksum, and a computed zero is sent as 0xFFFF.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::bytes::{clamp, clamp_mut, rd16, rewrite16, wr16};
use crate::checksum;
use crate::ipv4::protocol;
use crate::{Error, Result};

mod field {
    use crate::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// A view of a UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checks; accessors never panic (short buffers read as zero, ranges
    /// are clamped).
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a datagram: at least 8 bytes (`Truncated`), length field at least 8 and within the
    /// buffer (`BadLength`), per RFC 768 "Length".
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Packet { buffer };
        let len = p.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let l = usize::from(p.len());
        if l < HEADER_LEN || l > len {
            return Err(Error::BadLength);
        }
        Ok(p)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::SRC_PORT)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::DST_PORT)
    }

    /// Length field: header plus data, in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::LENGTH)
    }

    /// Checksum as stored (0: none, over IPv4).
    pub fn checksum(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Data: 8..length (clamped to the buffer).
    pub fn payload(&self) -> &[u8] {
        clamp(self.buffer.as_ref(), HEADER_LEN, usize::from(self.len()))
    }

    /// The datagram as delimited by its length field (clamped to the buffer).
    pub fn datagram(&self) -> &[u8] {
        clamp(self.buffer.as_ref(), 0, usize::from(self.len()))
    }

    fn sum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> u16 {
        let d = self.datagram();
        // The pseudo header carries the UDP length field's value (RFC 768).
        let pseudo = checksum::pseudo_header_v4(src, dst, protocol::UDP, self.len());
        checksum::fold(checksum::ones_sum(d, pseudo))
    }

    fn sum_v6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> u16 {
        let d = self.datagram();
        let pseudo = checksum::pseudo_header_v6(src, dst, protocol::UDP, u32::from(self.len()));
        checksum::fold(checksum::ones_sum(d, pseudo))
    }

    /// The checksum over the IPv4 pseudo header and the datagram is correct, or absent
    /// (zero: "the transmitter generated no checksum", RFC 768).
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        self.checksum() == 0 || self.sum_v4(src, dst) == 0xffff
    }

    /// The checksum over the IPv6 pseudo header and the datagram is correct. Zero is invalid
    /// over IPv6 (RFC 8200 §8.1: "IPv6 receivers must discard UDP packets containing a zero
    /// checksum").
    pub fn verify_checksum_v6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        self.checksum() != 0 && self.sum_v6(src, dst) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set the source port (checksum untouched).
    pub fn set_src_port(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::SRC_PORT, v)
    }

    /// Set the destination port (checksum untouched).
    pub fn set_dst_port(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::DST_PORT, v)
    }

    /// Set the length field.
    pub fn set_len(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::LENGTH, v)
    }

    /// Store a checksum.
    pub fn set_checksum(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::CHECKSUM, v)
    }

    /// Data, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let l = usize::from(self.len());
        clamp_mut(self.buffer.as_mut(), HEADER_LEN, l)
    }

    /// Compute and store the checksum over the IPv4 pseudo header and the datagram; a
    /// computed 0 is stored as 0xFFFF, since 0 means "no checksum" (RFC 768).
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let c = !self.sum_v4(src, dst);
        self.set_checksum(if c == 0 { 0xffff } else { c })
    }

    /// Compute and store the checksum over the IPv6 pseudo header and the datagram; a
    /// computed 0 is stored as 0xFFFF (RFC 8200 §8.1).
    pub fn fill_checksum_v6(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let c = !self.sum_v6(src, dst);
        self.set_checksum(if c == 0 { 0xffff } else { c })
    }

    /// Datagrams without checksum stay so; a result of 0 becomes 0xFFFF, which is the same
    /// one's complement value and keeps "0 = none" unambiguous (RFC 768, RFC 1624 §3).
    fn patch_checksum(&mut self, f: impl FnOnce(u16) -> u16) {
        let c = self.checksum();
        if c == 0 {
            return;
        }
        let n = f(c);
        self.set_checksum(if n == 0 { 0xffff } else { n })
    }

    fn rewrite_port(&mut self, at: usize, port: u16) {
        if self.checksum() == 0 {
            wr16(self.buffer.as_mut(), at..at + 2, port);
            return;
        }
        rewrite16(self.buffer.as_mut(), at, port, field::CHECKSUM);
        if self.checksum() == 0 {
            self.set_checksum(0xffff)
        }
    }

    /// Set the source port with an incremental checksum update (RFC 1624 eqn. 3).
    pub fn set_src_port_incremental(&mut self, port: u16) {
        self.rewrite_port(field::SRC_PORT.start, port)
    }

    /// Set the destination port with an incremental checksum update (RFC 1624 eqn. 3).
    pub fn set_dst_port_incremental(&mut self, port: u16) {
        self.rewrite_port(field::DST_PORT.start, port)
    }

    /// Account in the checksum for an IPv4 address change in the pseudo header.
    pub fn update_pseudo_addr_v4(&mut self, old: Ipv4Addr, new: Ipv4Addr) {
        self.patch_checksum(|c| checksum::update32(c, old.into(), new.into()))
    }

    /// Account in the checksum for an IPv6 address change in the pseudo header.
    pub fn update_pseudo_addr_v6(&mut self, old: Ipv6Addr, new: Ipv6Addr) {
        self.patch_checksum(|c| checksum::update_bytes(c, &old.octets(), &new.octets()))
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipv4;
    use crate::testdata::DNS_QUERY_FRAME;
    use proptest::prelude::*;

    fn datagram(frame: &[u8]) -> (Vec<u8>, Ipv4Addr, Ipv4Addr) {
        let ip = ipv4::Packet::new_checked(&frame[14..]).unwrap();
        (ip.payload().to_vec(), ip.src(), ip.dst())
    }

    fn reference_checksum(data: &[u8]) -> u16 {
        let mut sum = 0u32;
        for (i, b) in data.iter().enumerate() {
            sum += if i % 2 == 0 {
                u32::from(*b) << 8
            } else {
                u32::from(*b)
            };
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    /// RFC 768 reference: pseudo header + datagram with the checksum zeroed, 0 sent as 0xFFFF.
    fn reference_v4(src: Ipv4Addr, dst: Ipv4Addr, dgram: &[u8]) -> u16 {
        let mut all = Vec::new();
        all.extend_from_slice(&src.octets());
        all.extend_from_slice(&dst.octets());
        all.extend_from_slice(&[0, 17]);
        all.extend_from_slice(&dgram[4..6]);
        all.extend_from_slice(dgram);
        all[12 + 6] = 0;
        all[12 + 7] = 0;
        match reference_checksum(&all) {
            0 => 0xffff,
            c => c,
        }
    }

    #[test]
    fn parse_captured_dns_query() {
        let (d, src, dst) = datagram(&DNS_QUERY_FRAME);
        let p = Packet::new_checked(&d[..]).unwrap();
        assert_eq!(p.src_port(), 57766);
        assert_eq!(p.dst_port(), 53);
        assert_eq!(p.len(), 48);
        assert_eq!(p.checksum(), 0xa597);
        assert_eq!(p.payload().len(), 40);
        assert_eq!(&p.payload()[..2], &[0xf6, 0x18], "DNS id");
        assert!(p.verify_checksum_v4(src, dst));
        assert!(!p.verify_checksum_v4(src, Ipv4Addr::new(95, 211, 92, 15)));
        assert_eq!(reference_v4(src, dst, &d), 0xa597);
        let mut c = d.clone();
        Packet::new_checked(&mut c[..])
            .unwrap()
            .fill_checksum_v4(src, dst);
        assert_eq!(c, d);
    }

    #[test]
    fn set_and_reread() {
        let (mut d, src, dst) = datagram(&DNS_QUERY_FRAME);
        let mut p = Packet::new_checked(&mut d[..]).unwrap();
        p.set_src_port(1);
        p.set_dst_port(2);
        p.set_len(12);
        p.set_checksum(3);
        assert_eq!(
            (p.src_port(), p.dst_port(), p.len(), p.checksum()),
            (1, 2, 12, 3)
        );
        assert_eq!(p.payload().len(), 4);
        p.payload_mut()[0] = 9;
        assert_eq!(p.payload()[0], 9);
        p.fill_checksum_v4(src, dst);
        assert!(p.verify_checksum_v4(src, dst));
        assert_eq!(p.datagram().len(), 12);
    }

    #[test]
    fn malformed() {
        let (d, _, _) = datagram(&DNS_QUERY_FRAME);
        for n in 0..d.len() {
            let e = Packet::new_checked(&d[..n]).unwrap_err();
            assert_eq!(
                e,
                if n < 8 {
                    Error::Truncated
                } else {
                    Error::BadLength
                },
                "len {n}"
            );
        }
        let mut b = d.clone();
        for l in [0u16, 1, 7, 49, u16::MAX] {
            b[4..6].copy_from_slice(&l.to_be_bytes());
            assert_eq!(
                Packet::new_checked(&b[..]),
                Err(Error::BadLength),
                "length {l}"
            );
        }
        b[4..6].copy_from_slice(&8u16.to_be_bytes());
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.payload().is_empty());
    }

    #[test]
    fn zero_checksum_means_none_over_ipv4_only() {
        let (mut d, src, dst) = datagram(&DNS_QUERY_FRAME);
        let mut p = Packet::new_checked(&mut d[..]).unwrap();
        p.set_checksum(0);
        assert!(p.verify_checksum_v4(src, dst));
        p.set_dst_port_incremental(5353);
        p.update_pseudo_addr_v4(dst, Ipv4Addr::new(10, 0, 0, 53));
        assert_eq!(p.checksum(), 0, "no checksum stays no checksum");
        assert_eq!(p.dst_port(), 5353);
        let a: Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert!(!p.verify_checksum_v6(a, a));
        p.fill_checksum_v6(a, a);
        assert!(p.verify_checksum_v6(a, a));
    }

    #[test]
    fn computed_zero_is_sent_as_ffff() {
        // Find a source port that makes the checksum compute to 0 and check it is stored as
        // 0xFFFF, verifies, and survives an incremental update that lands on zero again.
        let (mut d, src, dst) = datagram(&DNS_QUERY_FRAME);
        let mut p = Packet::new_checked(&mut d[..]).unwrap();
        p.set_src_port(0);
        p.fill_checksum_v4(src, dst);
        // Raising the port by the computed checksum's complement drives the sum to 0xFFFF.
        let c = p.checksum();
        let port = c; // sum + c == 0xFFFF, so the checksum with port = c is ~0xFFFF = 0
        p.set_src_port(port);
        p.fill_checksum_v4(src, dst);
        assert_eq!(p.checksum(), 0xffff);
        assert!(p.verify_checksum_v4(src, dst));
        assert_eq!(reference_v4(src, dst, p.datagram()), 0xffff);
        // Incrementally: from port 0 to `port` lands on a computed zero too.
        p.set_src_port(0);
        p.fill_checksum_v4(src, dst);
        p.set_src_port_incremental(port);
        assert_eq!(p.checksum(), 0xffff);
        assert!(p.verify_checksum_v4(src, dst));
    }

    proptest! {
        #[test]
        fn incremental_equals_recompute(
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            hdr in any::<[u8; 4]>(), src in any::<u32>(), dst in any::<u32>(), new_dst in any::<u32>(),
            sport in any::<u16>(), dport in any::<u16>(),
        ) {
            let (src, dst, new_dst) = (Ipv4Addr::from(src), Ipv4Addr::from(dst), Ipv4Addr::from(new_dst));
            let mut b = hdr.to_vec();
            b.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice(&payload);
            let mut p = Packet::new_checked(&mut b[..]).unwrap();
            p.fill_checksum_v4(src, dst);
            prop_assert_eq!(p.checksum(), reference_v4(src, dst, p.datagram()));
            p.set_src_port_incremental(sport);
            prop_assert_eq!(p.checksum(), reference_v4(src, dst, p.datagram()));
            p.set_dst_port_incremental(dport);
            prop_assert_eq!(p.checksum(), reference_v4(src, dst, p.datagram()));
            p.update_pseudo_addr_v4(dst, new_dst);
            prop_assert_eq!(p.checksum(), reference_v4(src, new_dst, p.datagram()));
            prop_assert!(p.verify_checksum_v4(src, new_dst));
        }

        #[test]
        fn incremental_v6_verifies(
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            src in any::<[u8; 16]>(), dst in any::<[u8; 16]>(), new_dst in any::<[u8; 16]>(), port in any::<u16>(),
        ) {
            let (src, dst, new_dst) = (Ipv6Addr::from(src), Ipv6Addr::from(dst), Ipv6Addr::from(new_dst));
            let mut b = vec![0x30, 0x39, 0, 53];
            b.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice(&payload);
            let mut p = Packet::new_checked(&mut b[..]).unwrap();
            p.fill_checksum_v6(src, dst);
            p.update_pseudo_addr_v6(dst, new_dst);
            p.set_dst_port_incremental(port);
            let inc = p.checksum();
            prop_assert!(p.verify_checksum_v6(src, new_dst));
            p.fill_checksum_v6(src, new_dst);
            prop_assert_eq!(inc, p.checksum());
        }

        #[test]
        fn arbitrary_bytes_never_panic(mut data in proptest::collection::vec(any::<u8>(), 0..40), v in any::<u16>()) {
            let a = Ipv4Addr::new(1, 2, 3, 4);
            if let Ok(p) = Packet::new_checked(&data[..]) {
                prop_assert_eq!(p.payload().len() + 8, usize::from(p.len()));
                let _ = (p.src_port(), p.dst_port(), p.checksum(), p.verify_checksum_v4(a, a), p.verify_checksum_v6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST));
            }
            let mut p = Packet::new_unchecked(&mut data[..]);
            p.set_len(v);
            p.set_src_port_incremental(v);
            p.fill_checksum_v4(a, a);
            let _ = (p.payload().len(), p.payload_mut().len(), p.datagram().len(), p.verify_checksum_v4(a, a));
        }
    }
}
