//! TCP header (RFC 793 §3.1, RFC 9293 §3.1) with in-place rewrites, incremental checksum
//! updates (RFC 1624) and an options walker for MSS clamping.
//!
//! The view's buffer is the TCP segment exactly (header and data, e.g. `ipv4::Packet::payload`):
//! the checksum covers all of it plus the IP pseudo header.

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::bytes::{clamp, clamp_mut, rd16, rd32, rd8, rewrite16, wr16, wr32, wr8};
use crate::checksum;
use crate::ipv4::protocol;
use crate::{Error, Result};

mod field {
    use crate::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const SEQ: Field = 4..8;
    pub const ACK: Field = 8..12;
    /// Data offset (high nibble), reserved bits.
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: Field = 14..16;
    pub const CHECKSUM: Field = 16..18;
    pub const URGENT: Field = 18..20;
}

/// Length of a header without options.
pub const HEADER_LEN: usize = field::URGENT.end;
/// Largest header: data offset 15.
pub const MAX_HEADER_LEN: usize = 60;

/// The eight TCP control bits (RFC 793 §3.1, ECE/CWR from RFC 3168 §6.1).
///
/// The associated constants are plain `u8` masks, so they combine with raw flag bytes
/// (`flags.bits() & (Flags::SYN | Flags::ACK) == Flags::SYN`) as connection state machines
/// use them; the methods name single bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// No more data from sender.
    pub const FIN: u8 = 0x01;
    /// Synchronize sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Push function.
    pub const PSH: u8 = 0x08;
    /// Acknowledgment field significant.
    pub const ACK: u8 = 0x10;
    /// Urgent pointer field significant.
    pub const URG: u8 = 0x20;
    /// ECN-Echo (RFC 3168).
    pub const ECE: u8 = 0x40;
    /// Congestion Window Reduced (RFC 3168).
    pub const CWR: u8 = 0x80;

    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// All bits of `mask` are set.
    pub const fn contains(self, mask: u8) -> bool {
        self.0 & mask == mask
    }

    /// FIN set.
    pub const fn fin(self) -> bool {
        self.contains(Self::FIN)
    }
    /// SYN set.
    pub const fn syn(self) -> bool {
        self.contains(Self::SYN)
    }
    /// RST set.
    pub const fn rst(self) -> bool {
        self.contains(Self::RST)
    }
    /// PSH set.
    pub const fn psh(self) -> bool {
        self.contains(Self::PSH)
    }
    /// ACK set.
    pub const fn ack(self) -> bool {
        self.contains(Self::ACK)
    }
    /// URG set.
    pub const fn urg(self) -> bool {
        self.contains(Self::URG)
    }
    /// ECE set.
    pub const fn ece(self) -> bool {
        self.contains(Self::ECE)
    }
    /// CWR set.
    pub const fn cwr(self) -> bool {
        self.contains(Self::CWR)
    }
}

impl From<u8> for Flags {
    fn from(bits: u8) -> Flags {
        Flags(bits)
    }
}

impl From<Flags> for u8 {
    fn from(f: Flags) -> u8 {
        f.0
    }
}

impl fmt::Debug for Flags {
    /// tcpdump-like letters: `S.` is SYN|ACK.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(u8, char); 8] = [
            (Flags::SYN, 'S'),
            (Flags::FIN, 'F'),
            (Flags::RST, 'R'),
            (Flags::PSH, 'P'),
            (Flags::URG, 'U'),
            (Flags::ECE, 'E'),
            (Flags::CWR, 'W'),
            (Flags::ACK, '.'),
        ];
        write!(f, "Flags[")?;
        for (flag, c) in NAMES {
            if self.contains(flag) {
                write!(f, "{c}")?;
            }
        }
        write!(f, "]")
    }
}

/// TCP option kinds (IANA "TCP Option Kind Numbers").
pub mod option_kind {
    /// End of option list (RFC 793).
    pub const END: u8 = 0;
    /// No-operation (RFC 793).
    pub const NOP: u8 = 1;
    /// Maximum segment size (RFC 793, RFC 6691).
    pub const MSS: u8 = 2;
    /// Window scale (RFC 7323).
    pub const WINDOW_SCALE: u8 = 3;
    /// SACK permitted (RFC 2018).
    pub const SACK_PERMITTED: u8 = 4;
    /// SACK (RFC 2018).
    pub const SACK: u8 = 5;
    /// Timestamps (RFC 7323).
    pub const TIMESTAMP: u8 = 8;
}

/// One TCP option found by [`OptionsIter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpOption<'a> {
    /// Option kind.
    pub kind: u8,
    /// Option data (after the kind and length bytes).
    pub data: &'a [u8],
    /// Offset of the kind byte from the start of the TCP header.
    pub offset: usize,
}

/// Iterator over the options of a TCP header (RFC 793 §3.1 "Options"), yielding every option
/// that has a length byte; NOPs are skipped, END stops.
///
/// Never panics: on malformed input (a length below 2, or running past the header) iteration
/// simply ends, as a receiver ignores what it cannot parse.
#[derive(Debug, Clone)]
pub struct OptionsIter<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> OptionsIter<'a> {
    /// Iterate over raw option bytes (the header from offset 20 to the data offset).
    pub fn new(options: &'a [u8]) -> Self {
        OptionsIter {
            bytes: options,
            pos: 0,
        }
    }
}

impl<'a> Iterator for OptionsIter<'a> {
    type Item = TcpOption<'a>;

    fn next(&mut self) -> Option<TcpOption<'a>> {
        loop {
            let at = self.pos;
            let kind = *self.bytes.get(at)?;
            match kind {
                option_kind::END => {
                    self.pos = self.bytes.len();
                    return None;
                }
                option_kind::NOP => self.pos = at + 1,
                _ => {
                    let len = self.bytes.get(at + 1).map_or(0, |&l| usize::from(l));
                    let data = if len >= 2 {
                        self.bytes.get(at + 2..at + len)
                    } else {
                        None
                    };
                    let Some(data) = data else {
                        self.pos = self.bytes.len();
                        return None;
                    };
                    self.pos = at + len;
                    return Some(TcpOption {
                        kind,
                        data,
                        offset: HEADER_LEN + at,
                    });
                }
            }
        }
    }
}

/// A view of a TCP segment.
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

    /// Wrap a segment: at least 20 bytes (`Truncated`), data offset at least 5 words and
    /// within the segment (`BadDataOffset`), per RFC 793 §3.1 "Data Offset".
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Packet { buffer };
        let len = p.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let hl = p.header_len();
        if hl < HEADER_LEN || hl > len {
            return Err(Error::BadDataOffset);
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

    /// Sequence number.
    pub fn seq(&self) -> u32 {
        rd32(self.buffer.as_ref(), field::SEQ)
    }

    /// Acknowledgment number.
    pub fn ack_number(&self) -> u32 {
        rd32(self.buffer.as_ref(), field::ACK)
    }

    /// Header length in bytes (data offset × 4), 0..=60.
    pub fn header_len(&self) -> usize {
        usize::from(rd8(self.buffer.as_ref(), field::DATA_OFF) >> 4) * 4
    }

    /// Control bits.
    pub fn flags(&self) -> Flags {
        Flags(rd8(self.buffer.as_ref(), field::FLAGS))
    }

    /// Receive window (unscaled).
    pub fn window(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::WINDOW)
    }

    /// Checksum as stored.
    pub fn checksum(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Urgent pointer.
    pub fn urgent(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::URGENT)
    }

    /// Raw option bytes: 20..header_len.
    pub fn options(&self) -> &[u8] {
        clamp(self.buffer.as_ref(), HEADER_LEN, self.header_len())
    }

    /// Walk the options.
    pub fn options_iter(&self) -> OptionsIter<'_> {
        OptionsIter::new(self.options())
    }

    /// The MSS option's value, if present and well-formed (kind 2, length 4).
    pub fn mss(&self) -> Option<u16> {
        self.find_mss().map(|(_, v)| v)
    }

    /// Offset (from the header start) and value of the MSS option's 16-bit value.
    fn find_mss(&self) -> Option<(usize, u16)> {
        self.options_iter().find_map(|o| match (o.kind, o.data) {
            (option_kind::MSS, &[hi, lo]) => Some((o.offset + 2, u16::from_be_bytes([hi, lo]))),
            _ => None,
        })
    }

    /// Data after the header.
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        clamp(b, self.header_len(), b.len())
    }

    /// The whole segment.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn sum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> Option<u16> {
        let b = self.buffer.as_ref();
        let len = u16::try_from(b.len()).ok()?;
        let pseudo = checksum::pseudo_header_v4(src, dst, protocol::TCP, len);
        Some(checksum::fold(checksum::ones_sum(b, pseudo)))
    }

    fn sum_v6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> Option<u16> {
        let b = self.buffer.as_ref();
        let len = u32::try_from(b.len()).ok()?;
        let pseudo = checksum::pseudo_header_v6(src, dst, protocol::TCP, len);
        Some(checksum::fold(checksum::ones_sum(b, pseudo)))
    }

    /// The checksum over the IPv4 pseudo header and the whole segment is correct
    /// (RFC 793 §3.1).
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        self.sum_v4(src, dst) == Some(0xffff)
    }

    /// The checksum over the IPv6 pseudo header (RFC 8200 §8.1) and the segment is correct.
    pub fn verify_checksum_v6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        self.sum_v6(src, dst) == Some(0xffff)
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

    /// Set the sequence number (checksum untouched).
    pub fn set_seq(&mut self, v: u32) {
        wr32(self.buffer.as_mut(), field::SEQ, v)
    }

    /// Set the acknowledgment number (checksum untouched).
    pub fn set_ack_number(&mut self, v: u32) {
        wr32(self.buffer.as_mut(), field::ACK, v)
    }

    /// Set the header length in bytes (data offset = len / 4, at most 15); the reserved bits
    /// are kept.
    pub fn set_header_len(&mut self, len: usize) {
        let off = (len / 4).min(15) as u8;
        let b = rd8(self.buffer.as_ref(), field::DATA_OFF);
        wr8(
            self.buffer.as_mut(),
            field::DATA_OFF,
            (b & 0x0f) | (off << 4),
        )
    }

    /// Set the control bits, from [`Flags`] or a `u8` mask (`Flags::RST | Flags::ACK`).
    pub fn set_flags(&mut self, f: impl Into<Flags>) {
        wr8(self.buffer.as_mut(), field::FLAGS, f.into().0)
    }

    /// Set the window.
    pub fn set_window(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::WINDOW, v)
    }

    /// Store a checksum.
    pub fn set_checksum(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::CHECKSUM, v)
    }

    /// Set the urgent pointer.
    pub fn set_urgent(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::URGENT, v)
    }

    /// Raw option bytes, mutable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        clamp_mut(self.buffer.as_mut(), HEADER_LEN, hl)
    }

    /// Data after the header, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        let b = self.buffer.as_mut();
        let len = b.len();
        clamp_mut(b, hl, len)
    }

    /// Compute and store the checksum over the IPv4 pseudo header and the segment
    /// (RFC 793 §3.1). A segment longer than 65535 bytes cannot be IPv4 and is left alone.
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        if let Some(s) = self.sum_v4(src, dst) {
            self.set_checksum(!s)
        }
    }

    /// Compute and store the checksum over the IPv6 pseudo header and the segment
    /// (RFC 8200 §8.1).
    pub fn fill_checksum_v6(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        if let Some(s) = self.sum_v6(src, dst) {
            self.set_checksum(!s)
        }
    }

    /// Set the source port and update the checksum incrementally (RFC 1624 eqn. 3).
    pub fn set_src_port_incremental(&mut self, port: u16) {
        rewrite16(
            self.buffer.as_mut(),
            field::SRC_PORT.start,
            port,
            field::CHECKSUM,
        );
    }

    /// Set the destination port and update the checksum incrementally (RFC 1624 eqn. 3).
    pub fn set_dst_port_incremental(&mut self, port: u16) {
        rewrite16(
            self.buffer.as_mut(),
            field::DST_PORT.start,
            port,
            field::CHECKSUM,
        );
    }

    /// Set the sequence number with an incremental checksum update, e.g. for a sequence
    /// offset between two halves of a proxied connection.
    pub fn set_seq_incremental(&mut self, v: u32) {
        let old = self.seq();
        self.set_seq(v);
        let c = checksum::update32(self.checksum(), old, v);
        self.set_checksum(c)
    }

    /// Set the acknowledgment number with an incremental checksum update.
    pub fn set_ack_number_incremental(&mut self, v: u32) {
        let old = self.ack_number();
        self.set_ack_number(v);
        let c = checksum::update32(self.checksum(), old, v);
        self.set_checksum(c)
    }

    /// Account in the checksum for an IPv4 address change in the pseudo header (RFC 1624;
    /// the address itself lives in the IP header and is changed there, e.g. with
    /// [`crate::ipv4::Packet::set_dst_incremental`]).
    pub fn update_pseudo_addr_v4(&mut self, old: Ipv4Addr, new: Ipv4Addr) {
        let c = checksum::update32(self.checksum(), old.into(), new.into());
        self.set_checksum(c)
    }

    /// Account in the checksum for an IPv6 address change in the pseudo header.
    pub fn update_pseudo_addr_v6(&mut self, old: Ipv6Addr, new: Ipv6Addr) {
        let c = checksum::update_bytes(self.checksum(), &old.octets(), &new.octets());
        self.set_checksum(c)
    }

    /// Rewrite the MSS option's value in place, updating the checksum incrementally, and
    /// return the old value; `None` (segment untouched) if there is no well-formed MSS option.
    ///
    /// The option may sit at an odd offset (after a single NOP): the update then uses the
    /// byte-swapped values (see RFC 1071 §2(B)), so the result still equals a recomputation.
    pub fn set_mss_incremental(&mut self, mss: u16) -> Option<u16> {
        let (at, _) = self.find_mss()?;
        Some(rewrite16(self.buffer.as_mut(), at, mss, field::CHECKSUM))
    }

    /// MSS clamping: if the segment (normally a SYN) announces an MSS above `max`, lower it to
    /// `max` and return the announced value; otherwise leave the segment alone and return
    /// `None`. Used where an encapsulation (IPIP) or a smaller path MTU lowers what fits.
    pub fn clamp_mss(&mut self, max: u16) -> Option<u16> {
        match self.mss() {
            Some(v) if v > max => self.set_mss_incremental(max),
            _ => None,
        }
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
    use crate::testdata::{HTTP_PSH_FRAME, SYN_ACK_FRAME, SYN_FRAME, VLAN_TCP_FRAME};
    use proptest::prelude::*;

    const CIP: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 2);
    const VIP: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 1);

    /// The TCP segment of an untagged IPv4 frame, and its addresses.
    fn segment(frame: &[u8]) -> (Vec<u8>, Ipv4Addr, Ipv4Addr) {
        let ip = ipv4::Packet::new_checked(&frame[14..]).unwrap();
        (ip.payload().to_vec(), ip.src(), ip.dst())
    }

    /// Independent RFC 1071 checksum of IPv4 pseudo header + segment, built byte by byte.
    fn reference_v4(src: Ipv4Addr, dst: Ipv4Addr, seg: &[u8]) -> u16 {
        let mut all = Vec::new();
        all.extend_from_slice(&src.octets());
        all.extend_from_slice(&dst.octets());
        all.extend_from_slice(&[0, 6]);
        all.extend_from_slice(&(seg.len() as u16).to_be_bytes());
        all.extend_from_slice(seg);
        all[12 + 16] = 0;
        all[12 + 17] = 0;
        reference_checksum(&all)
    }

    fn reference_v6(src: Ipv6Addr, dst: Ipv6Addr, seg: &[u8]) -> u16 {
        let mut all = Vec::new();
        all.extend_from_slice(&src.octets());
        all.extend_from_slice(&dst.octets());
        all.extend_from_slice(&(seg.len() as u32).to_be_bytes());
        all.extend_from_slice(&[0, 0, 0, 6]);
        all.extend_from_slice(seg);
        all[40 + 16] = 0;
        all[40 + 17] = 0;
        reference_checksum(&all)
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

    #[test]
    fn parse_captured_syn() {
        let (seg, src, dst) = segment(&SYN_FRAME);
        let p = Packet::new_checked(&seg[..]).unwrap();
        assert_eq!(p.src_port(), 44644);
        assert_eq!(p.dst_port(), 80);
        assert_eq!(p.seq(), 0x9349_c830);
        assert_eq!(p.ack_number(), 0);
        assert_eq!(p.header_len(), 40);
        assert_eq!(p.flags(), Flags(Flags::SYN));
        assert!(p.flags().syn() && !p.flags().ack());
        assert_eq!(p.window(), 29200);
        assert_eq!(p.checksum(), 0xe47d);
        assert_eq!(p.urgent(), 0);
        assert!(p.payload().is_empty());
        assert_eq!(p.mss(), Some(1460));
        let opts: Vec<(u8, Vec<u8>, usize)> = p
            .options_iter()
            .map(|o| (o.kind, o.data.to_vec(), o.offset))
            .collect();
        assert_eq!(
            opts,
            vec![
                (option_kind::MSS, vec![0x05, 0xb4], 20),
                (option_kind::SACK_PERMITTED, vec![], 24),
                (
                    option_kind::TIMESTAMP,
                    vec![0x3d, 0x8f, 0x93, 0xaf, 0, 0, 0, 0],
                    26
                ),
                (option_kind::WINDOW_SCALE, vec![7], 37),
            ]
        );
        assert!(p.verify_checksum_v4(src, dst));
        assert_eq!(reference_v4(src, dst, &seg), p.checksum());
        assert!(!p.verify_checksum_v4(dst, Ipv4Addr::new(10, 1, 1, 3)));
    }

    #[test]
    fn captured_segments_verify() {
        for f in [&SYN_FRAME[..], &SYN_ACK_FRAME[..], &HTTP_PSH_FRAME[..]] {
            let (seg, src, dst) = segment(f);
            let p = Packet::new_checked(&seg[..]).unwrap();
            assert!(p.verify_checksum_v4(src, dst));
            let mut c = seg.clone();
            let mut q = Packet::new_checked(&mut c[..]).unwrap();
            q.fill_checksum_v4(src, dst);
            assert_eq!(c, seg, "fill reproduces the captured checksum");
        }
        let (seg, _, _) = segment(&HTTP_PSH_FRAME);
        let p = Packet::new_checked(&seg[..]).unwrap();
        assert_eq!(p.flags().bits(), Flags::PSH | Flags::ACK);
        assert_eq!(p.payload().len(), 72);
        assert!(p.payload().starts_with(b"GET "), "{:?}", p.payload());
        // Tagged, padded frame: the segment ends at the IP total length, not the frame end.
        let ip = ipv4::Packet::new_checked(&VLAN_TCP_FRAME[18..]).unwrap();
        let p = Packet::new_checked(ip.payload()).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (54282, 80));
        assert!(p.flags().ack() && p.payload().is_empty());
        assert!(p.verify_checksum_v4(ip.src(), ip.dst()));
    }

    #[test]
    fn set_and_reread() {
        let (mut seg, _, _) = segment(&SYN_ACK_FRAME);
        let mut p = Packet::new_checked(&mut seg[..]).unwrap();
        p.set_src_port(8080);
        p.set_dst_port(1);
        p.set_seq(0xdead_beef);
        p.set_ack_number(7);
        p.set_flags(Flags::RST | Flags::ACK);
        p.set_window(0);
        p.set_urgent(9);
        p.set_checksum(0x1234);
        assert_eq!((p.src_port(), p.dst_port()), (8080, 1));
        assert_eq!((p.seq(), p.ack_number()), (0xdead_beef, 7));
        assert!(p.flags().rst() && p.flags().ack() && !p.flags().syn());
        assert_eq!((p.window(), p.urgent(), p.checksum()), (0, 9, 0x1234));
        p.set_header_len(20);
        assert!(p.options().is_empty());
        assert_eq!(p.payload().len(), 20);
        p.payload_mut()[0] = 0xaa;
        p.set_header_len(24);
        assert_eq!(p.options_mut()[0], 0xaa);
        p.set_flags(Flags(0xff));
        let f = p.flags();
        assert!(
            f.fin() && f.syn() && f.rst() && f.psh() && f.ack() && f.urg() && f.ece() && f.cwr()
        );
        assert_eq!(format!("{:?}", Flags(Flags::SYN | Flags::ACK)), "Flags[S.]");
        assert_eq!(u8::from(Flags::from(Flags::FIN)), 1);
    }

    #[test]
    fn every_truncation_and_bad_offset_is_refused() {
        let (seg, _, _) = segment(&SYN_FRAME);
        for n in 0..seg.len() {
            let e = Packet::new_checked(&seg[..n]).unwrap_err();
            assert_eq!(
                e,
                if n < 20 {
                    Error::Truncated
                } else {
                    Error::BadDataOffset
                },
                "len {n}"
            );
        }
        let mut b = seg.clone();
        for off in 0..5u8 {
            b[12] = off << 4;
            assert_eq!(
                Packet::new_checked(&b[..]),
                Err(Error::BadDataOffset),
                "offset {off}"
            );
        }
        for off in 11..16u8 {
            b[12] = off << 4; // 44..60 bytes > 40-byte segment
            assert_eq!(
                Packet::new_checked(&b[..]),
                Err(Error::BadDataOffset),
                "offset {off}"
            );
        }
        b[12] = 10 << 4;
        assert!(Packet::new_checked(&b[..]).is_ok());
    }

    #[test]
    fn nat_rewrite_keeps_checksum_valid() {
        // DNAT as in IPVS NAT: VIP:80 -> RIP:8080, updating IP and TCP checksums incrementally.
        let mut frame = SYN_FRAME;
        let rip = Ipv4Addr::new(192, 168, 10, 7);
        let mut ip = ipv4::Packet::new_checked(&mut frame[14..]).unwrap();
        ip.set_dst_incremental(rip);
        let mut tcp = Packet::new_checked(ip.payload_mut()).unwrap();
        tcp.update_pseudo_addr_v4(VIP, rip);
        tcp.set_dst_port_incremental(8080);
        assert!(tcp.verify_checksum_v4(CIP, rip));
        assert!(ip.verify_checksum());
        let seg = ip.payload().to_vec();
        assert_eq!(
            reference_v4(CIP, rip, &seg),
            Packet::new_checked(&seg[..]).unwrap().checksum()
        );
    }

    #[test]
    fn mss_clamp_on_captured_syn() {
        let (mut seg, src, dst) = segment(&SYN_FRAME);
        let mut p = Packet::new_checked(&mut seg[..]).unwrap();
        assert_eq!(p.clamp_mss(1500), None, "1460 is below the clamp");
        assert_eq!(p.clamp_mss(1440), Some(1460));
        assert_eq!(p.mss(), Some(1440));
        assert!(p.verify_checksum_v4(src, dst));
        assert_eq!(p.set_mss_incremental(536), Some(1440));
        assert!(p.verify_checksum_v4(src, dst));
        // No MSS option: nothing happens.
        let (mut seg, src, dst) = segment(&HTTP_PSH_FRAME);
        let orig = seg.clone();
        let mut p = Packet::new_checked(&mut seg[..]).unwrap();
        assert_eq!(p.clamp_mss(100), None);
        assert_eq!(p.set_mss_incremental(100), None);
        assert!(p.verify_checksum_v4(src, dst));
        assert_eq!(seg, orig);
    }

    #[test]
    fn mss_at_odd_offset() {
        // The SYN's options rearranged to NOP, MSS, SACK-perm, TS, WS: the MSS value now starts
        // at byte 23 of the header and straddles two checksum words.
        let (mut seg, src, dst) = segment(&SYN_FRAME);
        let opts: [u8; 20] = [
            1, 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0x3d, 0x8f, 0x93, 0xaf, 0, 0, 0, 0, 3, 3, 7,
        ];
        seg[20..40].copy_from_slice(&opts);
        let mut p = Packet::new_checked(&mut seg[..]).unwrap();
        p.fill_checksum_v4(src, dst);
        assert_eq!(p.mss(), Some(1460));
        assert_eq!(p.clamp_mss(1380), Some(1460));
        assert_eq!(&p.options()[..5], &[1, 2, 4, 0x05, 0x64]);
        assert!(p.verify_checksum_v4(src, dst));
        let inc = p.checksum();
        p.fill_checksum_v4(src, dst);
        assert_eq!(inc, p.checksum());
    }

    #[test]
    fn options_walker_survives_garbage() {
        let cases: [(&[u8], usize); 8] = [
            (&[], 0),
            (&[0, 2, 4, 5, 0xb4], 0), // END first
            (&[1, 1, 1], 0),          // only NOPs
            (&[2], 0),                // kind without length
            (&[2, 0, 1, 1], 0),       // length 0 would loop forever
            (&[2, 1, 1, 1], 0),       // length 1
            (&[2, 9, 5, 0xb4], 0),    // runs past the end
            (&[3, 3, 7, 2, 4, 5], 1), // valid WS, then truncated MSS
        ];
        for (bytes, n) in cases {
            assert_eq!(OptionsIter::new(bytes).count(), n, "{bytes:?}");
        }
        // An MSS option with a wrong length is not an MSS.
        let mut seg = [0u8; 24];
        seg[12] = 6 << 4;
        seg[20..24].copy_from_slice(&[2, 3, 5, 1]);
        assert_eq!(Packet::new_checked(&seg[..]).unwrap().mss(), None);
    }

    #[test]
    fn v6_checksum() {
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let dst: Ipv6Addr = "2001:db8::80".parse().unwrap();
        let new: Ipv6Addr = "2001:db8:ffff::abcd".parse().unwrap();
        let (mut seg, _, _) = segment(&HTTP_PSH_FRAME);
        let mut p = Packet::new_checked(&mut seg[..]).unwrap();
        p.fill_checksum_v6(src, dst);
        assert!(p.verify_checksum_v6(src, dst));
        assert!(!p.verify_checksum_v4(CIP, VIP));
        p.update_pseudo_addr_v6(dst, new);
        assert!(p.verify_checksum_v6(src, new));
        let c = p.checksum();
        assert_eq!(reference_v6(src, new, &seg), c);
    }

    fn segment_strategy() -> impl Strategy<Value = Vec<u8>> {
        (
            0usize..=10,
            proptest::collection::vec(any::<u8>(), 60),
            proptest::collection::vec(any::<u8>(), 0..100),
        )
            .prop_map(|(opt_words, mut hdr, payload)| {
                let hl = 20 + 4 * opt_words;
                hdr.truncate(hl);
                hdr[12] = ((hl / 4) as u8) << 4 | (hdr[12] & 0x0f);
                hdr.extend_from_slice(&payload);
                hdr
            })
    }

    /// A SYN with an MSS option after 0..=3 NOPs, random other bytes.
    fn syn_with_mss_strategy() -> impl Strategy<Value = Vec<u8>> {
        (
            0usize..=3,
            any::<u16>(),
            proptest::collection::vec(any::<u8>(), 20),
            proptest::collection::vec(any::<u8>(), 0..20),
        )
            .prop_map(|(nops, mss, mut hdr, payload)| {
                hdr[12] = 8 << 4; // 32-byte header, 12 option bytes
                let mut opts = vec![1u8; nops];
                opts.extend_from_slice(&[2, 4]);
                opts.extend_from_slice(&mss.to_be_bytes());
                opts.resize(12, 0);
                hdr.extend_from_slice(&opts);
                hdr.extend_from_slice(&payload);
                hdr
            })
    }

    proptest! {
        /// Every incremental setter equals a full recomputation by an independent RFC 1071
        /// implementation.
        #[test]
        fn incremental_equals_recompute_v4(
            seg in segment_strategy(), src in any::<u32>(), dst in any::<u32>(),
            new_dst in any::<u32>(), sport in any::<u16>(), dport in any::<u16>(),
            seq in any::<u32>(), ack in any::<u32>(),
        ) {
            let (src, dst, new_dst) = (Ipv4Addr::from(src), Ipv4Addr::from(dst), Ipv4Addr::from(new_dst));
            let mut b = seg;
            let mut p = Packet::new_checked(&mut b[..]).unwrap();
            p.fill_checksum_v4(src, dst);
            prop_assert_eq!(p.checksum(), reference_v4(src, dst, p.as_bytes()));
            p.set_src_port_incremental(sport);
            prop_assert_eq!(p.checksum(), reference_v4(src, dst, p.as_bytes()));
            p.set_dst_port_incremental(dport);
            prop_assert_eq!(p.checksum(), reference_v4(src, dst, p.as_bytes()));
            p.set_seq_incremental(seq);
            prop_assert_eq!(p.checksum(), reference_v4(src, dst, p.as_bytes()));
            p.set_ack_number_incremental(ack);
            prop_assert_eq!(p.checksum(), reference_v4(src, dst, p.as_bytes()));
            p.update_pseudo_addr_v4(dst, new_dst);
            prop_assert_eq!(p.checksum(), reference_v4(src, new_dst, p.as_bytes()));
            prop_assert!(p.verify_checksum_v4(src, new_dst));
            prop_assert_eq!((p.src_port(), p.dst_port(), p.seq(), p.ack_number()), (sport, dport, seq, ack));
        }

        #[test]
        fn incremental_equals_recompute_v6(
            seg in segment_strategy(), src in any::<[u8; 16]>(), dst in any::<[u8; 16]>(),
            new_src in any::<[u8; 16]>(), port in any::<u16>(),
        ) {
            let (src, dst, new_src) = (Ipv6Addr::from(src), Ipv6Addr::from(dst), Ipv6Addr::from(new_src));
            let mut b = seg;
            let mut p = Packet::new_checked(&mut b[..]).unwrap();
            p.fill_checksum_v6(src, dst);
            prop_assert_eq!(p.checksum(), reference_v6(src, dst, p.as_bytes()));
            p.update_pseudo_addr_v6(src, new_src);
            p.set_src_port_incremental(port);
            prop_assert_eq!(p.checksum(), reference_v6(new_src, dst, p.as_bytes()));
            prop_assert!(p.verify_checksum_v6(new_src, dst));
        }

        /// MSS rewriting at even and odd offsets equals a recomputation.
        #[test]
        fn mss_rewrite_equals_recompute(seg in syn_with_mss_strategy(), src in any::<u32>(), dst in any::<u32>(), max in any::<u16>()) {
            let (src, dst) = (Ipv4Addr::from(src), Ipv4Addr::from(dst));
            let mut b = seg;
            let mut p = Packet::new_checked(&mut b[..]).unwrap();
            p.fill_checksum_v4(src, dst);
            let before = p.mss().unwrap();
            let r = p.clamp_mss(max);
            if before > max {
                prop_assert_eq!(r, Some(before));
                prop_assert_eq!(p.mss(), Some(max));
            } else {
                prop_assert_eq!(r, None);
                prop_assert_eq!(p.mss(), Some(before));
            }
            prop_assert_eq!(p.checksum(), reference_v4(src, dst, p.as_bytes()));
        }

        /// For arbitrary bytes, `new_checked` errors or all accessors run; unchecked views
        /// bent by setters never panic either.
        #[test]
        fn arbitrary_bytes_never_panic(mut data in proptest::collection::vec(any::<u8>(), 0..80), v in any::<u16>()) {
            if let Ok(p) = Packet::new_checked(&data[..]) {
                prop_assert_eq!(p.header_len() + p.payload().len(), data.len());
                exercise(&p);
            }
            let mut p = Packet::new_unchecked(&mut data[..]);
            p.set_header_len(usize::from(v));
            let _ = p.clamp_mss(v);
            let _ = p.set_mss_incremental(v);
            p.set_src_port_incremental(v);
            p.fill_checksum_v4(VIP, CIP);
            let _ = (p.options_mut().len(), p.payload_mut().len());
            exercise(&p);
        }
    }

    fn exercise<T: AsRef<[u8]>>(p: &Packet<T>) {
        let _ = (
            p.src_port(),
            p.dst_port(),
            p.seq(),
            p.ack_number(),
            p.header_len(),
            p.flags(),
            p.window(),
            p.checksum(),
            p.urgent(),
            p.options().len(),
            p.payload().len(),
            p.mss(),
            p.verify_checksum_v4(CIP, VIP),
            p.verify_checksum_v6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST),
        );
        for o in p.options_iter() {
            assert!(o.offset + 2 + o.data.len() <= p.header_len());
        }
    }
}
