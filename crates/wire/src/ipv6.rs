//! IPv6 fixed header (RFC 8200 §3). Extension headers are not walked here: `next_header()` and
//! `payload()` describe what directly follows the 40-byte header.

use std::net::Ipv6Addr;

use crate::bytes::{clamp, clamp_mut, rd16, rd32, rd8, rdn, wr16, wr32, wr8, wrn};
use crate::{Error, Result};

mod field {
    use crate::Field;
    /// Version (4 bits), traffic class (8), flow label (20).
    pub const VER_TC_FLOW: Field = 0..4;
    pub const PAYLOAD_LEN: Field = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Field = 8..24;
    pub const DST: Field = 24..40;
}

/// Length of the fixed header.
pub const HEADER_LEN: usize = field::DST.end;

/// A view of an IPv6 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checks; accessors never panic (short buffers read as zero,
    /// the payload range is clamped).
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a received packet: at least 40 bytes (`Truncated`), version 6 (`BadVersion`),
    /// 40 + payload length within the buffer (`BadLength`). The buffer may be longer
    /// (Ethernet padding). Jumbograms (RFC 2675, payload length 0 with a hop-by-hop option)
    /// are not supported: their payload reads as empty.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_checked_quoted(buffer)?;
        if HEADER_LEN + usize::from(p.payload_len()) > p.buffer.as_ref().len() {
            return Err(Error::BadLength);
        }
        Ok(p)
    }

    /// Like [`Packet::new_checked`] but allowing the payload length to exceed the buffer, for
    /// the packet quoted in an ICMPv6 error (RFC 4443 §2.4 (c): "as much of the invoking
    /// packet as possible").
    pub fn new_checked_quoted(buffer: T) -> Result<Packet<T>> {
        let p = Packet { buffer };
        if p.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if p.version() != 6 {
            return Err(Error::BadVersion);
        }
        Ok(p)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn ver_tc_flow(&self) -> u32 {
        rd32(self.buffer.as_ref(), field::VER_TC_FLOW)
    }

    /// Version (6).
    pub fn version(&self) -> u8 {
        (self.ver_tc_flow() >> 28) as u8
    }

    /// Traffic class: DSCP and ECN.
    pub fn traffic_class(&self) -> u8 {
        (self.ver_tc_flow() >> 20) as u8
    }

    /// Flow label (RFC 6437), 20 bits.
    pub fn flow_label(&self) -> u32 {
        self.ver_tc_flow() & 0x000f_ffff
    }

    /// Payload length: bytes after the fixed header, extension headers included.
    pub fn payload_len(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::PAYLOAD_LEN)
    }

    /// Next header: the protocol (or extension header) after the fixed header.
    pub fn next_header(&self) -> u8 {
        rd8(self.buffer.as_ref(), field::NEXT_HEADER)
    }

    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        rd8(self.buffer.as_ref(), field::HOP_LIMIT)
    }

    /// Source address.
    pub fn src(&self) -> Ipv6Addr {
        Ipv6Addr::from(rdn::<16>(self.buffer.as_ref(), field::SRC))
    }

    /// Destination address.
    pub fn dst(&self) -> Ipv6Addr {
        Ipv6Addr::from(rdn::<16>(self.buffer.as_ref(), field::DST))
    }

    /// Bytes 40..40 + payload length (clamped to the buffer).
    pub fn payload(&self) -> &[u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        clamp(self.buffer.as_ref(), HEADER_LEN, end)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_ver_tc_flow(&mut self, v: u32) {
        wr32(self.buffer.as_mut(), field::VER_TC_FLOW, v)
    }

    /// Set the version nibble.
    pub fn set_version(&mut self, v: u8) {
        let w = (self.ver_tc_flow() & 0x0fff_ffff) | (u32::from(v & 0x0f) << 28);
        self.set_ver_tc_flow(w)
    }

    /// Set the traffic class.
    pub fn set_traffic_class(&mut self, tc: u8) {
        let w = (self.ver_tc_flow() & 0xf00f_ffff) | (u32::from(tc) << 20);
        self.set_ver_tc_flow(w)
    }

    /// Set the flow label (low 20 bits used).
    pub fn set_flow_label(&mut self, label: u32) {
        let w = (self.ver_tc_flow() & 0xfff0_0000) | (label & 0x000f_ffff);
        self.set_ver_tc_flow(w)
    }

    /// Set the payload length.
    pub fn set_payload_len(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::PAYLOAD_LEN, v)
    }

    /// Set the next header.
    pub fn set_next_header(&mut self, v: u8) {
        wr8(self.buffer.as_mut(), field::NEXT_HEADER, v)
    }

    /// Set the hop limit.
    pub fn set_hop_limit(&mut self, v: u8) {
        wr8(self.buffer.as_mut(), field::HOP_LIMIT, v)
    }

    /// Set the source address. IPv6 has no header checksum; fix the L4 checksum with
    /// e.g. [`crate::tcp::Packet::update_pseudo_addr_v6`].
    pub fn set_src(&mut self, a: Ipv6Addr) {
        wrn(self.buffer.as_mut(), field::SRC, &a.octets())
    }

    /// Set the destination address (see [`Packet::set_src`] about the L4 checksum).
    pub fn set_dst(&mut self, a: Ipv6Addr) {
        wrn(self.buffer.as_mut(), field::DST, &a.octets())
    }

    /// The payload, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        clamp_mut(self.buffer.as_mut(), HEADER_LEN, end)
    }

    /// Forwarding's hop limit decrement (RFC 8200 §3). `None`, packet unchanged, when the hop
    /// limit is already ≤ 1 (the caller answers ICMPv6 time exceeded).
    pub fn decrement_hop_limit(&mut self) -> Option<u8> {
        let h = self.hop_limit();
        if h <= 1 {
            return None;
        }
        self.set_hop_limit(h - 1);
        Some(h - 1)
    }

    /// Swap source and destination.
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

/// The fields of an IPv6 fixed header, for building packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Protocol of the payload.
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// Bytes after the fixed header.
    pub payload_len: u16,
}

impl Repr {
    /// Read a packet's fixed header (traffic class and flow label are not represented).
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Repr {
        Repr {
            src: p.src(),
            dst: p.dst(),
            next_header: p.next_header(),
            hop_limit: p.hop_limit(),
            payload_len: p.payload_len(),
        }
    }

    /// Header plus payload length.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len as usize
    }

    /// Write a fresh 40-byte header (traffic class and flow label zero).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) {
        p.set_ver_tc_flow(6 << 28);
        p.set_payload_len(self.payload_len);
        p.set_next_header(self.next_header);
        p.set_hop_limit(self.hop_limit);
        p.set_src(self.src);
        p.set_dst(self.dst);
    }

    /// Write the header into the first 40 bytes of `buf`; `Truncated` if it is shorter.
    pub fn emit_into(&self, buf: &mut [u8]) -> Result<usize> {
        let hdr = buf.get_mut(..HEADER_LEN).ok_or(Error::Truncated)?;
        self.emit(&mut Packet::new_unchecked(hdr));
        Ok(HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipv4::protocol;
    use crate::testdata::ICMPV6_NS_FRAME;
    use proptest::prelude::*;

    fn ip_of(f: &[u8]) -> &[u8] {
        &f[14..]
    }

    #[test]
    fn parse_captured_neighbor_solicitation() {
        let p = Packet::new_checked(ip_of(&ICMPV6_NS_FRAME)).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0xe0);
        assert_eq!(p.flow_label(), 0);
        assert_eq!(p.payload_len(), 32);
        assert_eq!(p.next_header(), protocol::ICMPV6);
        assert_eq!(p.hop_limit(), 255);
        assert_eq!(
            p.src(),
            "fe80::21f:caff:feb3:75c0".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            p.dst(),
            "2620:0:1005:0:26be:5ff:fe27:b17"
                .parse::<Ipv6Addr>()
                .unwrap()
        );
        assert_eq!(p.payload().len(), 32);
        assert_eq!(p.payload()[0], 135);
    }

    #[test]
    fn set_and_reread() {
        let mut b = [0u8; 72];
        b.copy_from_slice(ip_of(&ICMPV6_NS_FRAME));
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_traffic_class(0x2e);
        p.set_flow_label(0xabcde);
        p.set_hop_limit(2);
        p.set_next_header(protocol::TCP);
        p.set_payload_len(20);
        let a: Ipv6Addr = "2001:db8::10".parse().unwrap();
        p.set_src(a);
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0x2e);
        assert_eq!(p.flow_label(), 0xabcde);
        assert_eq!(p.next_header(), protocol::TCP);
        assert_eq!(p.payload().len(), 20);
        assert_eq!(p.src(), a);
        p.swap_addresses();
        assert_eq!(p.dst(), a);
        assert_eq!(p.decrement_hop_limit(), Some(1));
        assert_eq!(p.decrement_hop_limit(), None);
        p.set_flow_label(0xfff_ffff);
        assert_eq!(
            (p.traffic_class(), p.flow_label(), p.version()),
            (0x2e, 0xfffff, 6)
        );
        p.payload_mut()[0] = 1;
        assert_eq!(p.payload()[0], 1);
    }

    #[test]
    fn malformed() {
        let ip = ip_of(&ICMPV6_NS_FRAME);
        for n in 0..ip.len() {
            assert!(Packet::new_checked(&ip[..n]).is_err(), "len {n}");
        }
        assert_eq!(Packet::new_checked(&ip[..39]), Err(Error::Truncated));
        assert_eq!(Packet::new_checked(&ip[..71]), Err(Error::BadLength));
        assert!(Packet::new_checked_quoted(&ip[..48]).is_ok());
        let mut b = [0u8; 72];
        b.copy_from_slice(ip);
        b[0] = 0x4e;
        assert_eq!(Packet::new_checked(&b[..]), Err(Error::BadVersion));
    }

    #[test]
    fn repr_emit() {
        let p = Packet::new_checked(ip_of(&ICMPV6_NS_FRAME)).unwrap();
        let r = Repr::parse(&p);
        let mut out = [0u8; 40];
        assert_eq!(r.emit_into(&mut out), Ok(40));
        let q = Packet::new_checked_quoted(&out[..]).unwrap();
        assert_eq!(Repr::parse(&q), r);
        assert_eq!(q.traffic_class(), 0);
        assert_eq!(r.buffer_len(), 72);
        assert_eq!(r.emit_into(&mut [0u8; 39]), Err(Error::Truncated));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(mut data in proptest::collection::vec(any::<u8>(), 0..96), v in any::<u16>()) {
            if let Ok(p) = Packet::new_checked(&data[..]) {
                prop_assert_eq!(p.payload().len(), usize::from(p.payload_len()));
                let _ = (p.version(), p.traffic_class(), p.flow_label(), p.next_header(), p.hop_limit(), p.src(), p.dst());
                let _ = Repr::parse(&p);
            }
            let mut p = Packet::new_unchecked(&mut data[..]);
            p.set_payload_len(v);
            let _ = (p.payload().len(), p.payload_mut().len(), p.src(), p.flow_label(), p.decrement_hop_limit());
        }
    }
}
