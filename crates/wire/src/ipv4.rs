//! IPv4 header (RFC 791) with in-place rewrites and RFC 1624 incremental checksum updates.

use std::net::Ipv4Addr;

use crate::bytes::{clamp, clamp_mut, rd16, rd8, rdn, wr16, wr8, wrn};
use crate::checksum;
use crate::{Error, Result};

/// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
pub mod protocol {
    /// ICMP (RFC 792).
    pub const ICMP: u8 = 1;
    /// IPv4 encapsulated in IPv4 (RFC 2003), the IPVS TUN forwarding method.
    pub const IPIP: u8 = 4;
    /// TCP (RFC 793).
    pub const TCP: u8 = 6;
    /// UDP (RFC 768).
    pub const UDP: u8 = 17;
    /// IPv6 encapsulated in IPv4 (RFC 4213).
    pub const IPV6: u8 = 41;
    /// ICMPv6 (RFC 4443).
    pub const ICMPV6: u8 = 58;
}

mod field {
    use crate::Field;
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    /// TTL and protocol share the 16-bit word at offset 8 of the checksum.
    pub const TTL_PROTO: Field = 8..10;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC: Field = 12..16;
    pub const DST: Field = 16..20;
}

/// Length of a header without options.
pub const HEADER_LEN: usize = field::DST.end;
/// Largest header: IHL 15.
pub const MAX_HEADER_LEN: usize = 60;

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A view of an IPv4 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checks, e.g. to [`Repr::emit`] into it. Accessors never panic:
    /// fields beyond the buffer read as zero and derived ranges are clamped to the buffer.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a received packet after checking, per RFC 791 §3.1 and RFC 1122 §3.2.1.1-2:
    /// at least 20 bytes (`Truncated`), version 4 (`BadVersion`), IHL ≥ 5 and header within
    /// the buffer (`BadHeaderLen`), header length ≤ total length ≤ buffer (`BadTotalLen`).
    /// The buffer may extend past the total length (Ethernet padding); [`Packet::payload`]
    /// stops at the total length.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_checked_quoted(buffer)?;
        if usize::from(p.total_len()) > p.buffer.as_ref().len() {
            return Err(Error::BadTotalLen);
        }
        Ok(p)
    }

    /// Like [`Packet::new_checked`], but for the header quoted in an ICMP error (RFC 792: "the
    /// internet header plus the first 64 bits of the original datagram"): the total length may
    /// exceed the buffer, because the quote is truncated. [`Packet::payload`] then returns only
    /// the quoted bytes.
    pub fn new_checked_quoted(buffer: T) -> Result<Packet<T>> {
        let p = Packet { buffer };
        let len = p.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if p.version() != 4 {
            return Err(Error::BadVersion);
        }
        let hl = p.header_len();
        if hl < HEADER_LEN || hl > len {
            return Err(Error::BadHeaderLen);
        }
        if usize::from(p.total_len()) < hl {
            return Err(Error::BadTotalLen);
        }
        Ok(p)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole buffer (which may extend past the total length).
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Version field (4).
    pub fn version(&self) -> u8 {
        rd8(self.buffer.as_ref(), field::VER_IHL) >> 4
    }

    /// Header length in bytes (IHL × 4), 0..=60.
    pub fn header_len(&self) -> usize {
        usize::from(rd8(self.buffer.as_ref(), field::VER_IHL) & 0x0f) * 4
    }

    /// The former TOS byte: DSCP (RFC 2474) and ECN (RFC 3168).
    pub fn dscp_ecn(&self) -> u8 {
        rd8(self.buffer.as_ref(), field::DSCP_ECN)
    }

    /// Total length: header plus data, in bytes.
    pub fn total_len(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::LENGTH)
    }

    /// Identification, for reassembly.
    pub fn ident(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::IDENT)
    }

    fn flags_offset(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::FLG_OFF)
    }

    /// Don't Fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.flags_offset() & FLAG_DF != 0
    }

    /// More Fragments flag.
    pub fn more_frags(&self) -> bool {
        self.flags_offset() & FLAG_MF != 0
    }

    /// Fragment offset in bytes (the field counts 8-byte units), at most 65528.
    pub fn frag_offset(&self) -> u16 {
        (self.flags_offset() & OFFSET_MASK) << 3
    }

    /// A fragment of a larger datagram: MF set or a non-zero offset. Only the first fragment
    /// (offset 0) carries the L4 ports.
    pub fn is_fragment(&self) -> bool {
        self.flags_offset() & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        rd8(self.buffer.as_ref(), field::TTL)
    }

    /// Protocol of the payload (see [`protocol`]).
    pub fn protocol(&self) -> u8 {
        rd8(self.buffer.as_ref(), field::PROTOCOL)
    }

    /// Header checksum as stored.
    pub fn checksum(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Source address.
    pub fn src(&self) -> Ipv4Addr {
        Ipv4Addr::from(rdn::<4>(self.buffer.as_ref(), field::SRC))
    }

    /// Destination address.
    pub fn dst(&self) -> Ipv4Addr {
        Ipv4Addr::from(rdn::<4>(self.buffer.as_ref(), field::DST))
    }

    /// The header bytes, options included.
    pub fn header(&self) -> &[u8] {
        clamp(self.buffer.as_ref(), 0, self.header_len())
    }

    /// Options: bytes 20..header_len.
    pub fn options(&self) -> &[u8] {
        clamp(self.buffer.as_ref(), HEADER_LEN, self.header_len())
    }

    /// The data: header_len..total_len (clamped to the buffer, e.g. for a quoted header).
    pub fn payload(&self) -> &[u8] {
        clamp(
            self.buffer.as_ref(),
            self.header_len(),
            usize::from(self.total_len()),
        )
    }

    /// The header checksum is correct: the one's complement sum of the header, checksum
    /// included, is all ones (RFC 791 §3.1, RFC 1071).
    pub fn verify_checksum(&self) -> bool {
        checksum::fold(checksum::ones_sum(self.header(), 0)) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set version (high nibble of byte 0).
    pub fn set_version(&mut self, v: u8) {
        let b = rd8(self.buffer.as_ref(), field::VER_IHL);
        wr8(self.buffer.as_mut(), field::VER_IHL, (b & 0x0f) | (v << 4))
    }

    /// Set the header length in bytes (stored as IHL = len / 4, at most 15 words).
    pub fn set_header_len(&mut self, len: usize) {
        let ihl = (len / 4).min(15) as u8;
        let b = rd8(self.buffer.as_ref(), field::VER_IHL);
        wr8(self.buffer.as_mut(), field::VER_IHL, (b & 0xf0) | ihl)
    }

    /// Set DSCP and ECN.
    pub fn set_dscp_ecn(&mut self, v: u8) {
        wr8(self.buffer.as_mut(), field::DSCP_ECN, v)
    }

    /// Set the total length. Does not touch the checksum.
    pub fn set_total_len(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::LENGTH, v)
    }

    /// Set the identification.
    pub fn set_ident(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::IDENT, v)
    }

    fn set_flags_offset(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::FLG_OFF, v)
    }

    /// Set or clear Don't Fragment.
    pub fn set_dont_frag(&mut self, df: bool) {
        let v = self.flags_offset();
        self.set_flags_offset(if df { v | FLAG_DF } else { v & !FLAG_DF })
    }

    /// Set or clear More Fragments.
    pub fn set_more_frags(&mut self, mf: bool) {
        let v = self.flags_offset();
        self.set_flags_offset(if mf { v | FLAG_MF } else { v & !FLAG_MF })
    }

    /// Set the fragment offset in bytes (rounded down to 8-byte units).
    pub fn set_frag_offset(&mut self, bytes: u16) {
        let v = self.flags_offset();
        self.set_flags_offset((v & !OFFSET_MASK) | (bytes >> 3))
    }

    /// Set the TTL. Does not touch the checksum; see [`Packet::set_ttl_incremental`].
    pub fn set_ttl(&mut self, v: u8) {
        wr8(self.buffer.as_mut(), field::TTL, v)
    }

    /// Set the protocol.
    pub fn set_protocol(&mut self, v: u8) {
        wr8(self.buffer.as_mut(), field::PROTOCOL, v)
    }

    /// Store a header checksum.
    pub fn set_checksum(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::CHECKSUM, v)
    }

    /// Set the source address. Does not touch the checksum; see [`Packet::set_src_incremental`].
    pub fn set_src(&mut self, a: Ipv4Addr) {
        wrn(self.buffer.as_mut(), field::SRC, &a.octets())
    }

    /// Set the destination address. Does not touch the checksum.
    pub fn set_dst(&mut self, a: Ipv4Addr) {
        wrn(self.buffer.as_mut(), field::DST, &a.octets())
    }

    /// The header bytes, options included, mutable.
    pub fn header_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        clamp_mut(self.buffer.as_mut(), 0, hl)
    }

    /// Options, mutable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        clamp_mut(self.buffer.as_mut(), HEADER_LEN, hl)
    }

    /// The data (header_len..total_len), mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (hl, tl) = (self.header_len(), usize::from(self.total_len()));
        clamp_mut(self.buffer.as_mut(), hl, tl)
    }

    /// Recompute the header checksum from scratch (RFC 1071).
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::finish(checksum::ones_sum(self.header(), 0));
        self.set_checksum(c)
    }

    /// Set the source address and update the header checksum incrementally (RFC 1624 eqn. 3),
    /// as NAT does. Only the IP header checksum is updated: the caller must also fix the
    /// TCP/UDP checksum, whose pseudo header covers the address (e.g.
    /// [`crate::tcp::Packet::update_pseudo_addr_v4`]).
    pub fn set_src_incremental(&mut self, a: Ipv4Addr) {
        let old = self.src();
        self.set_src(a);
        let c = checksum::update32(self.checksum(), old.into(), a.into());
        self.set_checksum(c)
    }

    /// Set the destination address with an incremental header checksum update (RFC 1624);
    /// as for [`Packet::set_src_incremental`], the L4 checksum is the caller's.
    pub fn set_dst_incremental(&mut self, a: Ipv4Addr) {
        let old = self.dst();
        self.set_dst(a);
        let c = checksum::update32(self.checksum(), old.into(), a.into());
        self.set_checksum(c)
    }

    /// Set the TTL with an incremental header checksum update (RFC 1624 over the TTL/protocol
    /// word; RFC 1141 is the TTL-decrement special case).
    pub fn set_ttl_incremental(&mut self, ttl: u8) {
        let old = rd16(self.buffer.as_ref(), field::TTL_PROTO);
        self.set_ttl(ttl);
        let new = rd16(self.buffer.as_ref(), field::TTL_PROTO);
        let c = checksum::update16(self.checksum(), old, new);
        self.set_checksum(c)
    }

    /// Forwarding's TTL decrement (RFC 1812 §5.3.1) with an incremental checksum update.
    /// Returns the new TTL; a packet that arrives with TTL ≤ 1 must not be forwarded (the
    /// caller answers ICMP time exceeded), and is left unchanged with `None`.
    pub fn decrement_ttl(&mut self) -> Option<u8> {
        let ttl = self.ttl();
        if ttl <= 1 {
            return None;
        }
        self.set_ttl_incremental(ttl - 1);
        Some(ttl - 1)
    }

    /// Set the total length with an incremental header checksum update (RFC 1624), e.g. after
    /// inserting a TCP option.
    pub fn set_total_len_incremental(&mut self, v: u16) {
        let old = self.total_len();
        self.set_total_len(v);
        let c = checksum::update16(self.checksum(), old, v);
        self.set_checksum(c)
    }

    /// Swap source and destination, as for a reply. The header checksum stays valid: the
    /// one's complement sum does not depend on word order (RFC 1071 §2(A), commutativity).
    pub fn swap_addresses(&mut self) {
        let (s, d) = (self.src(), self.dst());
        self.set_src(d);
        self.set_dst(s);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The fields of an option-less IPv4 header, for building packets (the outer header of IPIP,
/// locally generated ICMP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol of the payload.
    pub protocol: u8,
    /// Time to live.
    pub ttl: u8,
    /// Bytes of data after the 20-byte header.
    pub payload_len: u16,
    /// Identification.
    pub ident: u16,
    /// Don't Fragment.
    pub dont_frag: bool,
}

impl Repr {
    /// Read a checked packet's header (options are ignored, DSCP/ECN and fragmentation fields
    /// other than DF are not represented).
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Repr {
        Repr {
            src: p.src(),
            dst: p.dst(),
            protocol: p.protocol(),
            ttl: p.ttl(),
            payload_len: p.total_len().saturating_sub(p.header_len() as u16),
            ident: p.ident(),
            dont_frag: p.dont_frag(),
        }
    }

    /// Header plus payload length.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len as usize
    }

    /// Write a fresh 20-byte header (version 4, IHL 5, DSCP/ECN 0, no fragmentation but the DF
    /// bit) with its checksum. A `payload_len` above 65515 saturates the total length; use
    /// [`Repr::emit_into`] to have that refused.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) {
        self.emit_with_dscp_ecn(p, 0)
    }

    /// [`Repr::emit`] with a DSCP/ECN byte, e.g. copied from an inner header (RFC 2003 §3.1).
    pub fn emit_with_dscp_ecn<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        p: &mut Packet<T>,
        dscp_ecn: u8,
    ) {
        p.set_version(4);
        p.set_header_len(HEADER_LEN);
        p.set_dscp_ecn(dscp_ecn);
        p.set_total_len(self.payload_len.saturating_add(HEADER_LEN as u16));
        p.set_ident(self.ident);
        p.set_flags_offset(if self.dont_frag { FLAG_DF } else { 0 });
        p.set_ttl(self.ttl);
        p.set_protocol(self.protocol);
        p.set_src(self.src);
        p.set_dst(self.dst);
        p.fill_checksum();
    }

    /// Write the header into the first 20 bytes of `buf`; `Truncated` if `buf` is shorter,
    /// `BadTotalLen` if the payload does not fit an IPv4 datagram.
    pub fn emit_into(&self, buf: &mut [u8]) -> Result<usize> {
        if usize::from(self.payload_len) > usize::from(u16::MAX) - HEADER_LEN {
            return Err(Error::BadTotalLen);
        }
        let hdr = buf.get_mut(..HEADER_LEN).ok_or(Error::Truncated)?;
        self.emit(&mut Packet::new_unchecked(hdr));
        Ok(HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{
        DNS_QUERY_FRAME, ICMP_ECHO_REQUEST_PACKET, ICMP_UNREACH_FRAME, SYN_FRAME,
    };
    use proptest::prelude::*;

    fn ip_of(frame: &[u8]) -> &[u8] {
        &frame[14..]
    }

    /// Plain RFC 1071 reference, independent of `checksum::ones_sum`.
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

    #[test]
    fn parse_captured_syn() {
        let p = Packet::new_checked(ip_of(&SYN_FRAME)).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.dscp_ecn(), 0);
        assert_eq!(p.total_len(), 60);
        assert_eq!(p.ident(), 0x5b9f);
        assert!(p.dont_frag());
        assert!(!p.more_frags());
        assert_eq!(p.frag_offset(), 0);
        assert!(!p.is_fragment());
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), protocol::TCP);
        assert_eq!(p.checksum(), 0xc918);
        assert_eq!(p.src(), Ipv4Addr::new(10, 1, 1, 2));
        assert_eq!(p.dst(), Ipv4Addr::new(10, 1, 1, 1));
        assert!(p.options().is_empty());
        assert_eq!(p.payload().len(), 40);
        assert!(p.verify_checksum());
    }

    #[test]
    fn captured_checksums_verify() {
        for f in [
            &SYN_FRAME[..],
            &DNS_QUERY_FRAME[..],
            &ICMP_UNREACH_FRAME[..],
        ] {
            let p = Packet::new_checked(ip_of(f)).unwrap();
            assert!(p.verify_checksum());
            // The independent reference agrees: header plus checksum sums to all ones.
            assert_eq!(reference_checksum(p.header()), 0);
        }
        let p = Packet::new_checked(&ICMP_ECHO_REQUEST_PACKET[..]).unwrap();
        assert!(p.verify_checksum());
        // Corrupting any header byte breaks verification.
        for i in 0..20 {
            let mut b = ICMP_ECHO_REQUEST_PACKET;
            b[i] ^= 0x40;
            assert!(!Packet::new_unchecked(&b[..]).verify_checksum(), "byte {i}");
        }
    }

    #[test]
    fn fill_matches_captured_checksum() {
        let mut b = [0u8; 20];
        b.copy_from_slice(&ip_of(&DNS_QUERY_FRAME)[..20]);
        let want = u16::from_be_bytes([b[10], b[11]]);
        let mut p = Packet::new_checked_quoted(&mut b[..]).unwrap();
        p.set_checksum(0x1234);
        p.fill_checksum();
        assert_eq!(p.checksum(), want);
        b[10] = 0;
        b[11] = 0;
        assert_eq!(reference_checksum(&b), want);
    }

    #[test]
    fn payload_stops_at_total_len() {
        // The DNS frame is exactly 14 + 68; pad it as Ethernet would.
        let mut b = [0u8; 100];
        b[..68].copy_from_slice(ip_of(&DNS_QUERY_FRAME));
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.total_len(), 68);
        assert_eq!(p.payload().len(), 48);
        assert_eq!(p.payload(), &ip_of(&DNS_QUERY_FRAME)[20..]);
    }

    #[test]
    fn set_and_reread() {
        let mut b = [0u8; 60];
        b.copy_from_slice(ip_of(&SYN_FRAME));
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_dscp_ecn(0xb8);
        p.set_ident(0xbeef);
        p.set_dont_frag(false);
        p.set_more_frags(true);
        p.set_frag_offset(1480);
        p.set_ttl(7);
        p.set_protocol(protocol::UDP);
        p.set_src(Ipv4Addr::new(192, 0, 2, 1));
        p.set_dst(Ipv4Addr::new(198, 51, 100, 2));
        p.set_total_len(48);
        p.fill_checksum();
        assert_eq!(p.dscp_ecn(), 0xb8);
        assert_eq!(p.ident(), 0xbeef);
        assert!(!p.dont_frag() && p.more_frags() && p.is_fragment());
        assert_eq!(p.frag_offset(), 1480);
        assert_eq!(p.ttl(), 7);
        assert_eq!(p.protocol(), protocol::UDP);
        assert_eq!(p.src(), Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(p.dst(), Ipv4Addr::new(198, 51, 100, 2));
        assert_eq!(p.payload().len(), 28);
        assert!(p.verify_checksum());
        p.set_more_frags(false);
        assert!(p.is_fragment(), "non-zero offset alone is a fragment");
        p.set_frag_offset(0);
        assert!(!p.is_fragment());
        p.header_mut()[1] = 0;
        assert_eq!(p.dscp_ecn(), 0);
        p.payload_mut()[0] = 0xaa;
        assert_eq!(p.payload()[0], 0xaa);
        p.fill_checksum();
        p.swap_addresses();
        assert!(p.verify_checksum(), "swap keeps the checksum valid");
        assert_eq!(p.src(), Ipv4Addr::new(198, 51, 100, 2));
    }

    #[test]
    fn options_view() {
        // 24-byte header with a Router Alert option (RFC 2113): 94 04 00 00.
        let mut b = [0u8; 24];
        b[0] = 0x46;
        b[3] = 24;
        b[9] = protocol::UDP;
        b[20..24].copy_from_slice(&[0x94, 0x04, 0, 0]);
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.fill_checksum();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.options(), &[0x94, 0x04, 0, 0]);
        assert!(p.payload().is_empty());
        p.options_mut()[0] = 1;
        assert!(!p.verify_checksum());
        p.set_src_incremental(Ipv4Addr::new(10, 0, 0, 1));
        p.fill_checksum();
        assert!(p.verify_checksum());
    }

    #[test]
    fn every_truncation_is_refused() {
        let ip = ip_of(&SYN_FRAME);
        for n in 0..ip.len() {
            assert!(Packet::new_checked(&ip[..n]).is_err(), "len {n}");
        }
        assert_eq!(Packet::new_checked(&ip[..19]), Err(Error::Truncated));
        assert_eq!(Packet::new_checked(&ip[..20]), Err(Error::BadTotalLen));
        assert!(Packet::new_checked_quoted(&ip[..28]).is_ok());
        assert!(Packet::new_checked(ip).is_ok());
    }

    #[test]
    fn malformed_headers() {
        let mut b = [0u8; 60];
        b.copy_from_slice(ip_of(&SYN_FRAME));
        for ihl in 0..5u8 {
            b[0] = 0x40 | ihl;
            assert_eq!(
                Packet::new_checked(&b[..]),
                Err(Error::BadHeaderLen),
                "ihl {ihl}"
            );
        }
        b[0] = 0x4f; // 60-byte header fits the 60-byte buffer, but total length is 60: ok
        assert!(Packet::new_checked(&b[..]).is_ok());
        assert_eq!(Packet::new_checked(&b[..59]), Err(Error::BadHeaderLen));
        b[0] = 0x45;
        for v in [0u8, 5, 6, 15] {
            b[0] = (v << 4) | 5;
            assert_eq!(Packet::new_checked(&b[..]), Err(Error::BadVersion));
        }
        b[0] = 0x46;
        for tl in [0u16, 1, 20, 23] {
            b[2..4].copy_from_slice(&tl.to_be_bytes());
            assert_eq!(
                Packet::new_checked(&b[..]),
                Err(Error::BadTotalLen),
                "tl {tl}"
            );
        }
        b[2..4].copy_from_slice(&24u16.to_be_bytes());
        assert!(Packet::new_checked(&b[..]).is_ok());
        for tl in [61u16, 1500, u16::MAX] {
            b[2..4].copy_from_slice(&tl.to_be_bytes());
            assert_eq!(
                Packet::new_checked(&b[..]),
                Err(Error::BadTotalLen),
                "tl {tl}"
            );
            assert!(Packet::new_checked_quoted(&b[..]).is_ok(), "quoted tl {tl}");
        }
    }

    #[test]
    fn ttl_decrement() {
        let mut b = ICMP_ECHO_REQUEST_PACKET;
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        assert_eq!(p.decrement_ttl(), Some(63));
        assert!(p.verify_checksum());
        p.set_ttl_incremental(1);
        assert!(p.verify_checksum());
        assert_eq!(p.decrement_ttl(), None);
        assert_eq!(p.ttl(), 1);
    }

    #[test]
    fn repr_roundtrip_and_emit() {
        let p = Packet::new_checked(ip_of(&DNS_QUERY_FRAME)).unwrap();
        let r = Repr::parse(&p);
        assert_eq!(r.payload_len, 48);
        assert_eq!(r.ttl, 56);
        assert!(!r.dont_frag);
        let mut out = [0u8; 20];
        assert_eq!(r.emit_into(&mut out), Ok(20));
        // The capture has DSCP 0 and no options, so emitting reproduces its header exactly.
        assert_eq!(&out[..], &ip_of(&DNS_QUERY_FRAME)[..20]);
        assert_eq!(r.buffer_len(), 68);
        assert_eq!(r.emit_into(&mut [0u8; 19]), Err(Error::Truncated));
        let big = Repr {
            payload_len: 65516,
            ..r
        };
        assert_eq!(big.emit_into(&mut out), Err(Error::BadTotalLen));
        let mut p = Packet::new_unchecked(&mut out[..]);
        Repr {
            payload_len: 65515,
            ..r
        }
        .emit_with_dscp_ecn(&mut p, 0x2e << 2);
        assert_eq!(p.total_len(), u16::MAX);
        assert_eq!(p.dscp_ecn(), 0xb8);
        assert!(p.verify_checksum());
    }

    fn header_strategy() -> impl Strategy<Value = Vec<u8>> {
        (0usize..=10, proptest::collection::vec(any::<u8>(), 60)).prop_map(|(opt_words, mut v)| {
            let hl = 20 + 4 * opt_words;
            v.truncate(hl);
            v[0] = 0x40 | (hl / 4) as u8;
            v[2..4].copy_from_slice(&(hl as u16).to_be_bytes());
            v
        })
    }

    proptest! {
        /// Every incremental setter gives the same checksum as a full RFC 1071 recomputation.
        #[test]
        fn incremental_setters_equal_recompute(
            hdr in header_strategy(),
            src in any::<u32>(), dst in any::<u32>(), ttl in any::<u8>(), extra in any::<u16>(),
        ) {
            let mut b = hdr.clone();
            let mut p = Packet::new_checked(&mut b[..]).unwrap();
            p.fill_checksum();
            prop_assert_eq!(p.checksum(), {
                let mut z = p.header().to_vec();
                z[10] = 0; z[11] = 0;
                reference_checksum(&z)
            });
            p.set_src_incremental(Ipv4Addr::from(src));
            let inc = p.checksum();
            p.fill_checksum();
            prop_assert_eq!(inc, p.checksum());
            p.set_dst_incremental(Ipv4Addr::from(dst));
            let inc = p.checksum();
            p.fill_checksum();
            prop_assert_eq!(inc, p.checksum());
            p.set_ttl_incremental(ttl);
            let inc = p.checksum();
            p.fill_checksum();
            prop_assert_eq!(inc, p.checksum());
            let tl = u16::try_from(p.header_len()).unwrap().saturating_add(extra);
            p.set_total_len_incremental(tl);
            let inc = p.checksum();
            p.fill_checksum();
            prop_assert_eq!(inc, p.checksum());
            prop_assert!(p.verify_checksum());
            prop_assert_eq!(p.src(), Ipv4Addr::from(src));
            prop_assert_eq!(p.dst(), Ipv4Addr::from(dst));
            prop_assert_eq!(p.ttl(), ttl);
        }

        /// Chained incremental updates starting from an arbitrary valid checksum still verify
        /// (the stored checksum may be either zero, 0x0000 or 0xFFFF, on the wire).
        #[test]
        fn incremental_chain_verifies(hdr in header_strategy(), addrs in proptest::collection::vec(any::<u32>(), 1..8)) {
            let mut b = hdr;
            let mut p = Packet::new_checked(&mut b[..]).unwrap();
            p.fill_checksum();
            for (i, a) in addrs.iter().enumerate() {
                if i % 2 == 0 { p.set_src_incremental(Ipv4Addr::from(*a)) } else { p.set_dst_incremental(Ipv4Addr::from(*a)) }
                prop_assert!(p.verify_checksum());
            }
        }

        /// For arbitrary bytes, `new_checked` errors or every accessor runs without panicking;
        /// and a checked view's ranges are consistent.
        #[test]
        fn arbitrary_bytes_never_panic(mut data in proptest::collection::vec(any::<u8>(), 0..96), v in any::<u16>()) {
            if let Ok(p) = Packet::new_checked(&data[..]) {
                prop_assert!(p.header_len() >= 20 && p.header_len() <= data.len());
                prop_assert_eq!(p.header_len() + p.payload().len(), usize::from(p.total_len()));
                exercise(&p);
            }
            if let Ok(p) = Packet::new_checked_quoted(&data[..]) {
                exercise(&p);
            }
            // Unchecked views over garbage, bent by setters, do not panic either.
            let mut p = Packet::new_unchecked(&mut data[..]);
            p.set_total_len(v);
            p.set_header_len(usize::from(v));
            p.set_src_incremental(Ipv4Addr::from(u32::from(v)));
            p.set_ttl_incremental(v as u8);
            let _ = p.decrement_ttl();
            p.fill_checksum();
            let _ = (p.header_mut().len(), p.options_mut().len(), p.payload_mut().len());
            exercise(&p);
        }
    }

    fn exercise<T: AsRef<[u8]>>(p: &Packet<T>) {
        let _ = (
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
            p.options().len(),
            p.payload().len(),
            p.header().len(),
            p.verify_checksum(),
        );
        let _ = Repr::parse(p);
    }
}
