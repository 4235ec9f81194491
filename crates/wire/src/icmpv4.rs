//! ICMP for IPv4 (RFC 792): echo for our addresses, and the error messages a load balancer
//! relays (destination unreachable, time exceeded) or sends (fragmentation needed, RFC 1191).
//!
//! The view's buffer is the ICMP message (e.g. `ipv4::Packet::payload`); the checksum covers
//! all of it, with no pseudo header.

use crate::bytes::{clamp, clamp_mut, rd16, rd8, rdn, rewrite16, wr16, wr8, wrn};
use crate::checksum;
use crate::ipv4;
use crate::{Error, Result};

/// Echo reply (type 0).
pub const ECHO_REPLY: u8 = 0;
/// Destination unreachable (type 3).
pub const DEST_UNREACHABLE: u8 = 3;
/// Source quench (type 4, deprecated by RFC 6633; still an error message that quotes).
pub const SOURCE_QUENCH: u8 = 4;
/// Redirect (type 5).
pub const REDIRECT: u8 = 5;
/// Echo request (type 8).
pub const ECHO_REQUEST: u8 = 8;
/// Time exceeded (type 11).
pub const TIME_EXCEEDED: u8 = 11;
/// Parameter problem (type 12).
pub const PARAMETER_PROBLEM: u8 = 12;

/// Destination unreachable code 0: net unreachable.
pub const NET_UNREACHABLE: u8 = 0;
/// Destination unreachable code 1: host unreachable.
pub const HOST_UNREACHABLE: u8 = 1;
/// Destination unreachable code 2: protocol unreachable.
pub const PROTO_UNREACHABLE: u8 = 2;
/// Destination unreachable code 3: port unreachable.
pub const PORT_UNREACHABLE: u8 = 3;
/// Destination unreachable code 4: fragmentation needed and DF set; the next-hop MTU is in
/// the second half of the rest-of-header (RFC 1191 §4).
pub const FRAG_NEEDED: u8 = 4;
/// Time exceeded code 0: TTL exceeded in transit.
pub const TTL_EXCEEDED: u8 = 0;

mod field {
    use crate::{Field, Rest};
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    /// Type and code form the first checksummed word.
    pub const TYPE_CODE: Field = 0..2;
    pub const CHECKSUM: Field = 2..4;
    pub const REST: Field = 4..8;
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQ: Field = 6..8;
    /// RFC 1191 §4: "Next-Hop MTU" in the low-order 16 bits of the unused field.
    pub const NEXT_HOP_MTU: Field = 6..8;
    pub const PAYLOAD: Rest = 8..;
}

/// Length of the ICMP header (type, code, checksum, rest of header).
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// A view of an ICMP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checks; accessors never panic (short buffers read as zero).
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a message of at least 8 bytes (`Truncated`).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Packet { buffer })
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

    /// Identifier of an echo request or reply.
    pub fn echo_ident(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::ECHO_IDENT)
    }

    /// Sequence number of an echo request or reply.
    pub fn echo_seq(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::ECHO_SEQ)
    }

    /// Next-hop MTU of a "fragmentation needed" message (RFC 1191 §4; 0 from old routers).
    pub fn next_hop_mtu(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::NEXT_HOP_MTU)
    }

    /// The 4 type-dependent bytes after the checksum.
    pub fn rest_of_header(&self) -> [u8; 4] {
        rdn(self.buffer.as_ref(), field::REST)
    }

    /// Everything after the 8-byte header: echo data, or the quoted datagram of an error.
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        clamp(b, HEADER_LEN, b.len())
    }

    /// An error message, which quotes the offending datagram (RFC 792; RFC 1122 §3.2.2).
    pub fn is_error(&self) -> bool {
        matches!(
            self.msg_type(),
            DEST_UNREACHABLE | SOURCE_QUENCH | REDIRECT | TIME_EXCEEDED | PARAMETER_PROBLEM
        )
    }

    /// The IPv4 header quoted by an error message, with as much of its data as was quoted
    /// (at least 8 bytes by RFC 792: enough for the L4 ports, see [`crate::l4_ports`]).
    pub fn quoted_ipv4(&self) -> Result<ipv4::Packet<&[u8]>> {
        ipv4::Packet::new_checked_quoted(self.payload())
    }

    /// The checksum over the whole message is correct (RFC 792).
    pub fn verify_checksum(&self) -> bool {
        checksum::fold(checksum::ones_sum(self.buffer.as_ref(), 0)) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set the type (checksum untouched).
    pub fn set_msg_type(&mut self, v: u8) {
        wr8(self.buffer.as_mut(), field::TYPE, v)
    }

    /// Set the code (checksum untouched).
    pub fn set_code(&mut self, v: u8) {
        wr8(self.buffer.as_mut(), field::CODE, v)
    }

    /// Store a checksum.
    pub fn set_checksum(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::CHECKSUM, v)
    }

    /// Set the echo identifier.
    pub fn set_echo_ident(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::ECHO_IDENT, v)
    }

    /// Set the echo sequence number.
    pub fn set_echo_seq(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::ECHO_SEQ, v)
    }

    /// Set the next-hop MTU of a "fragmentation needed" message (RFC 1191 §4).
    pub fn set_next_hop_mtu(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::NEXT_HOP_MTU, v)
    }

    /// Set the 4 rest-of-header bytes.
    pub fn set_rest_of_header(&mut self, v: [u8; 4]) {
        wrn(self.buffer.as_mut(), field::REST, &v)
    }

    /// Payload, mutable (checksum untouched; see [`Packet::modify_payload`]).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let b = self.buffer.as_mut();
        let len = b.len();
        clamp_mut(b, HEADER_LEN, len)
    }

    /// Recompute the checksum over the whole message.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::finish(checksum::ones_sum(self.buffer.as_ref(), 0));
        self.set_checksum(c)
    }

    /// Run `f` on the payload and patch the checksum for whatever it changed, by the
    /// difference of the payload's sums before and after (RFC 1624 eqn. 3 applied to the
    /// whole payload). For relaying an error whose quoted headers are rewritten (NAT of the
    /// quoted addresses and ports, and of the quoted IP header checksum).
    pub fn modify_payload<R>(&mut self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let before = checksum::fold(checksum::ones_sum(self.payload(), 0));
        let r = f(self.payload_mut());
        let after = checksum::fold(checksum::ones_sum(self.payload(), 0));
        let sum = u32::from(!self.checksum()) + u32::from(!before) + u32::from(after);
        self.set_checksum(!checksum::fold(sum));
        r
    }

    /// Turn an echo request into an echo reply: type 8 → 0, checksum updated incrementally
    /// (RFC 1624); identifier, sequence number and data are echoed unchanged (RFC 792).
    /// `Unsupported` (message untouched) if this is not an echo request.
    pub fn make_echo_reply(&mut self) -> Result<()> {
        if self.msg_type() != ECHO_REQUEST || self.code() != 0 {
            return Err(Error::Unsupported);
        }
        let new = u16::from_be_bytes([ECHO_REPLY, 0]);
        rewrite16(
            self.buffer.as_mut(),
            field::TYPE_CODE.start,
            new,
            field::CHECKSUM,
        );
        // RFC 1624 §3: the update gives 0x0000 where the data sums to zero (an all-zero echo
        // reply), and only 0xFFFF verifies then. With data that does not sum to zero both
        // forms verify, so 0xFFFF is always a right answer.
        if self.checksum() == 0 {
            self.set_checksum(0xffff);
        }
        Ok(())
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// Answer an ICMP echo request in place: `ip` holds the request's IPv4 packet (from the IP
/// header on; it may be followed by Ethernet padding) and becomes the reply: addresses
/// swapped, TTL set to `ttl` and ICMP type 0, all checksums updated incrementally.
/// Returns the reply's IP length (its total length).
///
/// `Unsupported` (nothing written) unless the packet is an unfragmented ICMP echo request;
/// header errors as [`ipv4::Packet::new_checked`]. The ICMP checksum is not verified: an
/// incremental update keeps a bad checksum bad, so a corrupted request yields a reply the
/// client will discard; call [`Packet::verify_checksum`] first to drop it here instead.
/// IP options are echoed unchanged. The Ethernet addresses are the caller's
/// ([`crate::ethernet::Frame::swap_addresses`]).
pub fn echo_reply_in_place(ip: &mut [u8], ttl: u8) -> Result<usize> {
    let mut p = ipv4::Packet::new_checked(ip)?;
    if p.protocol() != ipv4::protocol::ICMP || p.is_fragment() {
        return Err(Error::Unsupported);
    }
    Packet::new_checked(p.payload_mut())?.make_echo_reply()?;
    p.swap_addresses();
    p.set_ttl_incremental(ttl);
    Ok(usize::from(p.total_len()))
}

/// Write an ICMP error message into `out`: header with `msg_type`, `code`, `rest` (e.g. the
/// next-hop MTU for [`FRAG_NEEDED`]) and a quote of the offending IPv4 packet `offending`:
/// its header plus the first 8 bytes of its data (RFC 792; RFC 1812 §4.3.2.3 allows more,
/// this quotes the minimum). Returns the message length; `Truncated` if `out` is too small,
/// and the offending packet's header error if it is not a valid IPv4 header.
pub fn emit_error(
    out: &mut [u8],
    msg_type: u8,
    code: u8,
    rest: [u8; 4],
    offending: &[u8],
) -> Result<usize> {
    let orig = ipv4::Packet::new_checked_quoted(offending)?;
    let quote_len = (orig.header_len() + 8)
        .min(usize::from(orig.total_len()))
        .min(offending.len());
    let quote = offending.get(..quote_len).ok_or(Error::Truncated)?;
    let len = HEADER_LEN + quote_len;
    let msg = out.get_mut(..len).ok_or(Error::Truncated)?;
    let mut p = Packet::new_unchecked(msg);
    p.set_msg_type(msg_type);
    p.set_code(code);
    p.set_rest_of_header(rest);
    p.payload_mut().copy_from_slice(quote);
    p.fill_checksum();
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{ICMP_ECHO_REQUEST_PACKET, ICMP_UNREACH_FRAME, SYN_FRAME};

    /// Found by fuzzing: the reply to an all-zero echo request must carry 0xFFFF.
    #[test]
    fn the_reply_to_an_all_zero_request_verifies() {
        let mut msg = [8u8, 0, 0xf7, 0xff, 0, 0, 0, 0];
        let mut p = Packet::new_checked(&mut msg[..]).unwrap();
        assert!(p.verify_checksum());
        p.make_echo_reply().unwrap();
        assert_eq!(p.checksum(), 0xffff);
        assert!(p.verify_checksum());
    }
    use crate::{l4_ports, udp};
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

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
    fn parse_captured_echo_request() {
        let ip = ipv4::Packet::new_checked(&ICMP_ECHO_REQUEST_PACKET[..]).unwrap();
        let p = Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(p.msg_type(), ECHO_REQUEST);
        assert_eq!(p.code(), 0);
        assert_eq!(p.checksum(), 0x82c4);
        assert_eq!(p.echo_ident(), 4724);
        assert_eq!(p.echo_seq(), 1);
        assert_eq!(p.rest_of_header(), [0x12, 0x74, 0, 1]);
        assert_eq!(p.payload().len(), 56);
        assert!(!p.is_error());
        assert!(p.verify_checksum());
        assert_eq!(reference_checksum(ip.payload()), 0);
    }

    #[test]
    fn parse_captured_unreachable_and_quote() {
        let ip = ipv4::Packet::new_checked(&ICMP_UNREACH_FRAME[14..]).unwrap();
        assert_eq!(ip.protocol(), ipv4::protocol::ICMP);
        let p = Packet::new_checked(ip.payload()).unwrap();
        assert_eq!((p.msg_type(), p.code()), (DEST_UNREACHABLE, 13));
        assert!(p.is_error());
        assert!(p.verify_checksum());
        let q = p.quoted_ipv4().unwrap();
        assert!(
            ipv4::Packet::new_checked(p.payload()).is_err(),
            "quote is truncated"
        );
        assert_eq!(q.protocol(), ipv4::protocol::UDP);
        assert_eq!(q.src(), Ipv4Addr::new(172, 29, 20, 15));
        assert_eq!(q.dst(), Ipv4Addr::new(10, 66, 73, 201));
        assert_eq!(q.total_len(), 77);
        assert!(q.verify_checksum());
        assert_eq!(q.payload().len(), 8);
        assert_eq!(l4_ports(q.payload(), 0), Some((36556, 25313)));
        assert_eq!(l4_ports(p.payload(), q.header_len()), Some((36556, 25313)));
    }

    #[test]
    fn set_and_reread() {
        let mut b = [0u8; 36];
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_msg_type(DEST_UNREACHABLE);
        p.set_code(FRAG_NEEDED);
        p.set_next_hop_mtu(1480);
        assert_eq!(p.rest_of_header(), [0, 0, 0x05, 0xc8]);
        p.set_rest_of_header([1, 2, 3, 4]);
        assert_eq!((p.echo_ident(), p.echo_seq()), (0x0102, 0x0304));
        p.set_echo_ident(7);
        p.set_echo_seq(8);
        assert_eq!((p.echo_ident(), p.echo_seq()), (7, 8));
        p.payload_mut()[27] = 0xff;
        p.fill_checksum();
        assert!(p.verify_checksum());
        p.set_checksum(p.checksum() ^ 1);
        assert!(!p.verify_checksum());
    }

    #[test]
    fn truncations() {
        for n in 0..HEADER_LEN {
            assert_eq!(Packet::new_checked(&[8u8; 8][..n]), Err(Error::Truncated));
        }
        assert!(Packet::new_checked(&[8u8; 8][..])
            .unwrap()
            .payload()
            .is_empty());
    }

    #[test]
    fn echo_reply_from_captured_request() {
        let mut b = [0u8; 100];
        b[..84].copy_from_slice(&ICMP_ECHO_REQUEST_PACKET);
        assert_eq!(echo_reply_in_place(&mut b, 64), Ok(84));
        let ip = ipv4::Packet::new_checked(&b[..]).unwrap();
        assert_eq!(ip.src(), Ipv4Addr::new(172, 16, 2, 1));
        assert_eq!(ip.dst(), Ipv4Addr::new(172, 16, 1, 1));
        assert_eq!(ip.ttl(), 64);
        assert!(ip.verify_checksum());
        let p = Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(p.msg_type(), ECHO_REPLY);
        assert_eq!((p.echo_ident(), p.echo_seq()), (4724, 1));
        assert_eq!(p.payload(), &ICMP_ECHO_REQUEST_PACKET[28..]);
        assert!(p.verify_checksum());
        // Identical to a full recomputation.
        let mut full = [0u8; 64];
        full.copy_from_slice(ip.payload());
        let mut q = Packet::new_checked(&mut full[..]).unwrap();
        q.fill_checksum();
        assert_eq!(q.checksum(), p.checksum());
        // A reply is not answered again; nor are non-ICMP packets or fragments.
        assert_eq!(echo_reply_in_place(&mut b, 64), Err(Error::Unsupported));
        let mut syn = SYN_FRAME;
        assert_eq!(
            echo_reply_in_place(&mut syn[14..], 64),
            Err(Error::Unsupported)
        );
        let mut frag = ICMP_ECHO_REQUEST_PACKET;
        ipv4::Packet::new_unchecked(&mut frag[..]).set_more_frags(true);
        assert_eq!(echo_reply_in_place(&mut frag, 64), Err(Error::Unsupported));
        assert_eq!(
            echo_reply_in_place(&mut frag[..10], 64),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn relay_error_with_rewritten_quote() {
        // The quoted datagram went CIP -> VIP; rewrite it as IPVS NAT would before relaying.
        let mut frame = ICMP_UNREACH_FRAME;
        let mut ip = ipv4::Packet::new_checked(&mut frame[14..]).unwrap();
        let mut icmp = Packet::new_checked(ip.payload_mut()).unwrap();
        let rip = Ipv4Addr::new(192, 168, 0, 9);
        let old_dst = icmp.modify_payload(|quote| {
            let mut q = ipv4::Packet::new_checked_quoted(&mut quote[..]).unwrap();
            let old = q.dst();
            q.set_dst_incremental(rip);
            let hl = q.header_len();
            let mut u = udp::Packet::new_unchecked(&mut quote[hl..]);
            u.update_pseudo_addr_v4(old, rip);
            u.set_dst_port_incremental(53);
            old
        });
        assert_eq!(old_dst, Ipv4Addr::new(10, 66, 73, 201));
        assert!(icmp.verify_checksum());
        let inc = icmp.checksum();
        icmp.fill_checksum();
        assert_eq!(inc, icmp.checksum());
        let q = icmp.quoted_ipv4().unwrap();
        assert_eq!(q.dst(), rip);
        assert!(q.verify_checksum());
        assert_eq!(l4_ports(q.payload(), 0), Some((36556, 53)));
    }

    #[test]
    fn frag_needed_error() {
        let mut out = [0u8; 128];
        let mut rest = [0u8; 4];
        rest[2..].copy_from_slice(&1480u16.to_be_bytes());
        let n = emit_error(
            &mut out,
            DEST_UNREACHABLE,
            FRAG_NEEDED,
            rest,
            &SYN_FRAME[14..],
        )
        .unwrap();
        assert_eq!(n, 8 + 20 + 8);
        let p = Packet::new_checked(&out[..n]).unwrap();
        assert_eq!(
            (p.msg_type(), p.code(), p.next_hop_mtu()),
            (DEST_UNREACHABLE, FRAG_NEEDED, 1480)
        );
        assert!(p.verify_checksum());
        assert_eq!(p.payload(), &SYN_FRAME[14..14 + 28]);
        assert_eq!(
            emit_error(&mut out[..35], 3, 4, rest, &SYN_FRAME[14..]),
            Err(Error::Truncated)
        );
        assert_eq!(
            emit_error(&mut out, 3, 4, rest, &SYN_FRAME[14..30]),
            Err(Error::Truncated)
        );
        // A short original quotes what there is.
        let n = emit_error(
            &mut out,
            TIME_EXCEEDED,
            TTL_EXCEEDED,
            [0; 4],
            &ICMP_ECHO_REQUEST_PACKET[..24],
        )
        .unwrap();
        assert_eq!(n, 8 + 24);
    }

    proptest! {
        #[test]
        fn echo_reply_equals_recompute(data in proptest::collection::vec(any::<u8>(), 0..100), ident in any::<u16>(), seq in any::<u16>(), ttl in any::<u8>()) {
            let icmp_len = 8 + data.len();
            let mut b = vec![0u8; 20 + icmp_len];
            ipv4::Repr {
                src: Ipv4Addr::new(198, 51, 100, 7), dst: Ipv4Addr::new(203, 0, 113, 1),
                protocol: ipv4::protocol::ICMP, ttl: 57, payload_len: icmp_len as u16, ident: 1, dont_frag: false,
            }.emit(&mut ipv4::Packet::new_unchecked(&mut b[..]));
            {
                let mut p = Packet::new_unchecked(&mut b[20..]);
                p.set_msg_type(ECHO_REQUEST);
                p.set_echo_ident(ident);
                p.set_echo_seq(seq);
                p.payload_mut().copy_from_slice(&data);
                p.fill_checksum();
            }
            prop_assert_eq!(echo_reply_in_place(&mut b, ttl), Ok(20 + icmp_len));
            let inc = Packet::new_unchecked(&b[20..]).checksum();
            let mut p = Packet::new_unchecked(&mut b[20..]);
            p.fill_checksum();
            prop_assert_eq!(inc, p.checksum());
            let ip_inc = ipv4::Packet::new_unchecked(&b[..]).checksum();
            let mut ip = ipv4::Packet::new_unchecked(&mut b[..]);
            ip.fill_checksum();
            prop_assert_eq!(ip_inc, ip.checksum());
        }

        #[test]
        fn modify_payload_equals_recompute(msg in proptest::collection::vec(any::<u8>(), 8..80), patch in proptest::collection::vec(any::<u8>(), 0..80), at in any::<usize>()) {
            let mut b = msg;
            let mut p = Packet::new_checked(&mut b[..]).unwrap();
            p.set_msg_type(DEST_UNREACHABLE);
            p.fill_checksum();
            p.modify_payload(|pl| {
                if !pl.is_empty() {
                    let at = at % pl.len();
                    for (d, s) in pl[at..].iter_mut().zip(&patch) { *d = *s; }
                }
            });
            let inc = p.checksum();
            p.fill_checksum();
            prop_assert_eq!(inc, p.checksum());
        }

        #[test]
        fn arbitrary_bytes_never_panic(mut data in proptest::collection::vec(any::<u8>(), 0..80), v in any::<u8>()) {
            if let Ok(p) = Packet::new_checked(&data[..]) {
                let _ = (p.msg_type(), p.code(), p.checksum(), p.echo_ident(), p.echo_seq(), p.next_hop_mtu(),
                         p.rest_of_header(), p.payload().len(), p.is_error(), p.verify_checksum());
                if let Ok(q) = p.quoted_ipv4() {
                    let _ = (q.src(), q.payload().len(), l4_ports(q.payload(), 0));
                }
            }
            let _ = echo_reply_in_place(&mut data.clone(), v);
            let _ = emit_error(&mut [0u8; 100], 3, 4, [0; 4], &data);
            let mut p = Packet::new_unchecked(&mut data[..]);
            let _ = p.make_echo_reply();
            p.modify_payload(|pl| pl.iter_mut().for_each(|x| *x ^= v));
            p.fill_checksum();
        }
    }
}
