//! ICMPv6 (RFC 4443) and the Neighbor Discovery messages needed to answer for our IPv6
//! addresses (RFC 4861 §4.3-4.4). The checksum covers an IPv6 pseudo header (RFC 8200 §8.1).

use std::net::Ipv6Addr;

use crate::bytes::{clamp, clamp_mut, rd16, rd32, rd8, rdn, wr16, wr32, wr8, wrn};
use crate::checksum;
use crate::ipv4::protocol;
use crate::{ipv6, Error, MacAddr, Result};

/// Destination unreachable (type 1).
pub const DEST_UNREACHABLE: u8 = 1;
/// Packet too big (type 2): the IPv6 "fragmentation needed"; MTU in the rest of header.
pub const PACKET_TOO_BIG: u8 = 2;
/// Time exceeded (type 3).
pub const TIME_EXCEEDED: u8 = 3;
/// Parameter problem (type 4).
pub const PARAM_PROBLEM: u8 = 4;
/// Echo request (type 128).
pub const ECHO_REQUEST: u8 = 128;
/// Echo reply (type 129).
pub const ECHO_REPLY: u8 = 129;
/// Neighbor solicitation (type 135, RFC 4861 §4.3).
pub const NEIGHBOR_SOLICIT: u8 = 135;
/// Neighbor advertisement (type 136, RFC 4861 §4.4).
pub const NEIGHBOR_ADVERT: u8 = 136;

/// ND option: source link-layer address (RFC 4861 §4.6.1).
pub const OPT_SOURCE_LL_ADDR: u8 = 1;
/// ND option: target link-layer address (RFC 4861 §4.6.1).
pub const OPT_TARGET_LL_ADDR: u8 = 2;

/// Neighbor advertisement flags (RFC 4861 §4.4), high bits of the rest of header.
pub const NA_ROUTER: u32 = 0x8000_0000;
/// Solicited flag.
pub const NA_SOLICITED: u32 = 0x4000_0000;
/// Override flag.
pub const NA_OVERRIDE: u32 = 0x2000_0000;

mod field {
    use crate::{Field, Rest};
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const REST: Field = 4..8;
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQ: Field = 6..8;
    pub const PAYLOAD: Rest = 8..;
    /// NS/NA target address.
    pub const ND_TARGET: Field = 8..24;
    pub const ND_OPTIONS: usize = 24;
}

/// Length of the ICMPv6 header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;
/// Length of a neighbor advertisement with a target link-layer address option.
pub const NEIGHBOR_ADVERT_LEN: usize = field::ND_OPTIONS + 8;

/// A view of an ICMPv6 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checks; accessors never panic (short buffers read as zero).
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a message of at least 8 bytes (`Truncated`); NS/NA messages must also hold the
    /// 16-byte target (`Truncated`).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Packet { buffer };
        let len = p.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if matches!(p.msg_type(), NEIGHBOR_SOLICIT | NEIGHBOR_ADVERT) && len < field::ND_OPTIONS {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Message type.
    pub fn msg_type(&self) -> u8 {
        rd8(self.buffer.as_ref(), field::TYPE)
    }

    /// Message code.
    pub fn code(&self) -> u8 {
        rd8(self.buffer.as_ref(), field::CODE)
    }

    /// Checksum as stored.
    pub fn checksum(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The 4 bytes after the checksum (MTU of packet-too-big, NA flags, echo id/seq).
    pub fn rest_of_header(&self) -> u32 {
        rd32(self.buffer.as_ref(), field::REST)
    }

    /// MTU of a packet-too-big message (RFC 4443 §3.2).
    pub fn mtu(&self) -> u32 {
        self.rest_of_header()
    }

    /// Echo identifier.
    pub fn echo_ident(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::ECHO_IDENT)
    }

    /// Echo sequence number.
    pub fn echo_seq(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::ECHO_SEQ)
    }

    /// Everything after the 8-byte header.
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        clamp(b, HEADER_LEN, b.len())
    }

    /// An error message (types below 128, RFC 4443 §2.1), which quotes the invoking packet.
    pub fn is_error(&self) -> bool {
        self.msg_type() < 128
    }

    /// The IPv6 header quoted by an error message.
    pub fn quoted_ipv6(&self) -> Result<ipv6::Packet<&[u8]>> {
        ipv6::Packet::new_checked_quoted(self.payload())
    }

    /// Target address of a neighbor solicitation or advertisement.
    pub fn nd_target(&self) -> Ipv6Addr {
        Ipv6Addr::from(rdn::<16>(self.buffer.as_ref(), field::ND_TARGET))
    }

    /// The link-layer address in the first ND option of `kind` (RFC 4861 §4.6.1), e.g. the
    /// solicitor's MAC ([`OPT_SOURCE_LL_ADDR`]) in a solicitation. Stops at malformed options
    /// (length 0, or past the end), which RFC 4861 §4.6 says to discard.
    pub fn nd_link_layer_addr(&self, kind: u8) -> Option<MacAddr> {
        let b = self.buffer.as_ref();
        let mut at = field::ND_OPTIONS;
        loop {
            let t = *b.get(at)?;
            let len = usize::from(*b.get(at + 1)?) * 8;
            if len == 0 {
                return None;
            }
            let opt = b.get(at..at + len)?;
            if t == kind && len == 8 {
                return MacAddr::from_bytes(opt.get(2..)?);
            }
            at += len;
        }
    }

    /// The checksum over the IPv6 pseudo header and the message is correct (RFC 4443 §2.3).
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        let b = self.buffer.as_ref();
        let Ok(len) = u32::try_from(b.len()) else {
            return false;
        };
        let pseudo = checksum::pseudo_header_v6(src, dst, protocol::ICMPV6, len);
        checksum::fold(checksum::ones_sum(b, pseudo)) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set the type.
    pub fn set_msg_type(&mut self, v: u8) {
        wr8(self.buffer.as_mut(), field::TYPE, v)
    }

    /// Set the code.
    pub fn set_code(&mut self, v: u8) {
        wr8(self.buffer.as_mut(), field::CODE, v)
    }

    /// Store a checksum.
    pub fn set_checksum(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::CHECKSUM, v)
    }

    /// Set the rest of header.
    pub fn set_rest_of_header(&mut self, v: u32) {
        wr32(self.buffer.as_mut(), field::REST, v)
    }

    /// Set the NS/NA target.
    pub fn set_nd_target(&mut self, a: Ipv6Addr) {
        wrn(self.buffer.as_mut(), field::ND_TARGET, &a.octets())
    }

    /// Payload, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let b = self.buffer.as_mut();
        let len = b.len();
        clamp_mut(b, HEADER_LEN, len)
    }

    /// Compute and store the checksum over the IPv6 pseudo header and the message.
    pub fn fill_checksum(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let b = self.buffer.as_ref();
        let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
        let pseudo = checksum::pseudo_header_v6(src, dst, protocol::ICMPV6, len);
        let c = checksum::finish(checksum::ones_sum(b, pseudo));
        self.set_checksum(c)
    }
}

/// Write a neighbor advertisement for `target` at `target_mac` into `out` (32 bytes: header,
/// target, target link-layer address option) with its checksum for the IPv6 addresses
/// `src` → `dst` it will be sent with (RFC 4861 §4.4, §7.2.4: solicited and override set
/// when answering a solicitation for our own address). Returns 32; `Truncated` if `out` is
/// shorter.
pub fn emit_neighbor_advert(
    out: &mut [u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    target: Ipv6Addr,
    target_mac: MacAddr,
    flags: u32,
) -> Result<usize> {
    let msg = out.get_mut(..NEIGHBOR_ADVERT_LEN).ok_or(Error::Truncated)?;
    // The one option: target link-layer address, length 1 (in units of 8 bytes).
    wr8(msg, field::ND_OPTIONS, OPT_TARGET_LL_ADDR);
    wr8(msg, field::ND_OPTIONS + 1, 1);
    wrn(
        msg,
        field::ND_OPTIONS + 2..field::ND_OPTIONS + 8,
        &target_mac.0,
    );
    let mut p = Packet::new_unchecked(msg);
    p.set_msg_type(NEIGHBOR_ADVERT);
    p.set_code(0);
    p.set_rest_of_header(flags & (NA_ROUTER | NA_SOLICITED | NA_OVERRIDE));
    p.set_nd_target(target);
    p.fill_checksum(src, dst);
    Ok(NEIGHBOR_ADVERT_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::ICMPV6_NS_FRAME;
    use proptest::prelude::*;

    fn ns() -> (ipv6::Packet<&'static [u8]>, Packet<&'static [u8]>) {
        let ip = ipv6::Packet::new_checked(&ICMPV6_NS_FRAME[14..]).unwrap();
        let icmp = Packet::new_checked(&ICMPV6_NS_FRAME[54..]).unwrap();
        (ip, icmp)
    }

    #[test]
    fn parse_captured_solicitation() {
        let (ip, p) = ns();
        assert_eq!(p.msg_type(), NEIGHBOR_SOLICIT);
        assert_eq!(p.code(), 0);
        assert_eq!(p.checksum(), 0x1eba);
        assert!(!p.is_error());
        assert_eq!(p.nd_target(), ip.dst());
        assert_eq!(
            p.nd_link_layer_addr(OPT_SOURCE_LL_ADDR),
            Some(MacAddr([0x00, 0x1f, 0xca, 0xb3, 0x75, 0xc0]))
        );
        assert_eq!(p.nd_link_layer_addr(OPT_TARGET_LL_ADDR), None);
        assert!(p.verify_checksum(ip.src(), ip.dst()));
        assert!(!p.verify_checksum(ip.dst(), ip.dst()));
    }

    #[test]
    fn answer_solicitation() {
        let (ip, p) = ns();
        let mac = MacAddr([0x02, 0, 0, 0, 0, 0x42]);
        let mut out = [0u8; 40];
        let n = emit_neighbor_advert(
            &mut out,
            p.nd_target(),
            ip.src(),
            p.nd_target(),
            mac,
            NA_SOLICITED | NA_OVERRIDE,
        )
        .unwrap();
        assert_eq!(n, 32);
        let na = Packet::new_checked(&out[..n]).unwrap();
        assert_eq!(na.msg_type(), NEIGHBOR_ADVERT);
        assert_eq!(na.rest_of_header(), NA_SOLICITED | NA_OVERRIDE);
        assert_eq!(na.nd_target(), ip.dst());
        assert_eq!(na.nd_link_layer_addr(OPT_TARGET_LL_ADDR), Some(mac));
        assert!(na.verify_checksum(p.nd_target(), ip.src()));
        assert_eq!(
            emit_neighbor_advert(&mut out[..31], ip.dst(), ip.src(), ip.dst(), mac, 0),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn set_and_reread() {
        let mut b = [0u8; 48];
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_msg_type(PACKET_TOO_BIG);
        p.set_rest_of_header(1280);
        assert!(p.is_error());
        assert_eq!(p.mtu(), 1280);
        p.set_rest_of_header(0x0001_0002);
        assert_eq!((p.echo_ident(), p.echo_seq()), (1, 2));
        p.payload_mut()[0] = 0x60;
        assert_eq!(p.quoted_ipv6().unwrap().version(), 6);
        let a = Ipv6Addr::LOCALHOST;
        p.fill_checksum(a, a);
        assert!(p.verify_checksum(a, a));
    }

    #[test]
    fn truncations_and_bad_options() {
        let icmp = &ICMPV6_NS_FRAME[54..];
        for n in 0..24 {
            assert_eq!(
                Packet::new_checked(&icmp[..n]),
                Err(Error::Truncated),
                "len {n}"
            );
        }
        let p = Packet::new_checked(&icmp[..24]).unwrap();
        assert_eq!(p.nd_link_layer_addr(OPT_SOURCE_LL_ADDR), None);
        let mut b = [0u8; 32];
        b.copy_from_slice(icmp);
        b[25] = 0; // zero-length option
        assert_eq!(
            Packet::new_checked(&b[..])
                .unwrap()
                .nd_link_layer_addr(OPT_SOURCE_LL_ADDR),
            None
        );
        b[25] = 2; // runs past the end
        assert_eq!(
            Packet::new_checked(&b[..])
                .unwrap()
                .nd_link_layer_addr(OPT_SOURCE_LL_ADDR),
            None
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..80), kind in any::<u8>()) {
            let a = Ipv6Addr::LOCALHOST;
            if let Ok(p) = Packet::new_checked(&data[..]) {
                let _ = (p.msg_type(), p.code(), p.checksum(), p.mtu(), p.echo_ident(), p.echo_seq(), p.payload().len(),
                         p.nd_target(), p.nd_link_layer_addr(kind), p.verify_checksum(a, a), p.is_error());
                if let Ok(q) = p.quoted_ipv6() { let _ = (q.src(), q.payload().len()); }
            }
            let mut d = data.clone();
            let mut p = Packet::new_unchecked(&mut d[..]);
            p.fill_checksum(a, a);
            p.set_nd_target(a);
            let _ = p.nd_link_layer_addr(kind);
        }
    }
}
