//! ARP for IPv4 over Ethernet (RFC 826), the only combination the load balancer answers.

use std::net::Ipv4Addr;

use crate::bytes::{rd16, rd8, rdn, wr16, wr8, wrn};
use crate::ethernet::{self, ethertype};
use crate::{Error, MacAddr, Result};

mod field {
    use crate::Field;
    pub const HTYPE: Field = 0..2;
    pub const PTYPE: Field = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Field = 6..8;
    pub const SHA: Field = 8..14;
    pub const SPA: Field = 14..18;
    pub const THA: Field = 18..24;
    pub const TPA: Field = 24..28;
}

/// Length of an Ethernet/IPv4 ARP packet.
pub const LEN: usize = field::TPA.end;
/// Length of an Ethernet frame carrying it (without the padding to 60 bytes).
pub const FRAME_LEN: usize = ethernet::HEADER_LEN + LEN;
/// `ar$hrd` for Ethernet (RFC 826, "ares_hrd$Ethernet").
pub const HTYPE_ETHERNET: u16 = 1;

/// ARP opcode (`ar$op`, RFC 826).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// 1, `ares_op$REQUEST`.
    Request,
    /// 2, `ares_op$REPLY`.
    Reply,
    /// Anything else (RARP, InARP ...), which the load balancer ignores.
    Unknown(u16),
}

impl From<u16> for Operation {
    fn from(v: u16) -> Self {
        match v {
            1 => Operation::Request,
            2 => Operation::Reply,
            x => Operation::Unknown(x),
        }
    }
}

impl From<Operation> for u16 {
    fn from(op: Operation) -> u16 {
        match op {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::Unknown(x) => x,
        }
    }
}

/// A view of an ARP packet (the Ethernet payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checks; accessors never panic (short buffers read as zero).
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a buffer holding an Ethernet/IPv4 ARP packet. Other hardware or protocol types and
    /// address lengths are `Unsupported`; trailing bytes (frame padding) are allowed.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Packet { buffer };
        if p.buffer.as_ref().len() < LEN {
            return Err(Error::Truncated);
        }
        if p.hardware_type() != HTYPE_ETHERNET
            || p.protocol_type() != ethertype::IPV4
            || p.hardware_len() != 6
            || p.protocol_len() != 4
        {
            return Err(Error::Unsupported);
        }
        Ok(p)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Hardware type (1 = Ethernet).
    pub fn hardware_type(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::HTYPE)
    }

    /// Protocol type (0x0800 = IPv4).
    pub fn protocol_type(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::PTYPE)
    }

    /// Hardware address length.
    pub fn hardware_len(&self) -> u8 {
        rd8(self.buffer.as_ref(), field::HLEN)
    }

    /// Protocol address length.
    pub fn protocol_len(&self) -> u8 {
        rd8(self.buffer.as_ref(), field::PLEN)
    }

    /// Opcode.
    pub fn operation(&self) -> Operation {
        rd16(self.buffer.as_ref(), field::OPER).into()
    }

    /// Sender hardware address.
    pub fn sender_mac(&self) -> MacAddr {
        MacAddr(rdn(self.buffer.as_ref(), field::SHA))
    }

    /// Sender protocol address.
    pub fn sender_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(rdn::<4>(self.buffer.as_ref(), field::SPA))
    }

    /// Target hardware address (meaningless in a request; often zero).
    pub fn target_mac(&self) -> MacAddr {
        MacAddr(rdn(self.buffer.as_ref(), field::THA))
    }

    /// Target protocol address: the address being resolved, in a request.
    pub fn target_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(rdn::<4>(self.buffer.as_ref(), field::TPA))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set the hardware type.
    pub fn set_hardware_type(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::HTYPE, v)
    }

    /// Set the protocol type.
    pub fn set_protocol_type(&mut self, v: u16) {
        wr16(self.buffer.as_mut(), field::PTYPE, v)
    }

    /// Set the hardware address length.
    pub fn set_hardware_len(&mut self, v: u8) {
        wr8(self.buffer.as_mut(), field::HLEN, v)
    }

    /// Set the protocol address length.
    pub fn set_protocol_len(&mut self, v: u8) {
        wr8(self.buffer.as_mut(), field::PLEN, v)
    }

    /// Set the opcode.
    pub fn set_operation(&mut self, op: Operation) {
        wr16(self.buffer.as_mut(), field::OPER, op.into())
    }

    /// Set the sender hardware address.
    pub fn set_sender_mac(&mut self, mac: MacAddr) {
        wrn(self.buffer.as_mut(), field::SHA, &mac.0)
    }

    /// Set the sender protocol address.
    pub fn set_sender_ip(&mut self, ip: Ipv4Addr) {
        wrn(self.buffer.as_mut(), field::SPA, &ip.octets())
    }

    /// Set the target hardware address.
    pub fn set_target_mac(&mut self, mac: MacAddr) {
        wrn(self.buffer.as_mut(), field::THA, &mac.0)
    }

    /// Set the target protocol address.
    pub fn set_target_ip(&mut self, ip: Ipv4Addr) {
        wrn(self.buffer.as_mut(), field::TPA, &ip.octets())
    }
}

/// The content of an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Request or reply.
    pub operation: Operation,
    /// Who sends (and whose mapping receivers may learn).
    pub sender_mac: MacAddr,
    /// Sender's IPv4 address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address; zero in a request.
    pub target_mac: MacAddr,
    /// Target IPv4 address; in a request, the address to resolve.
    pub target_ip: Ipv4Addr,
}

impl Repr {
    /// Read a checked packet.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Repr {
        Repr {
            operation: p.operation(),
            sender_mac: p.sender_mac(),
            sender_ip: p.sender_ip(),
            target_mac: p.target_mac(),
            target_ip: p.target_ip(),
        }
    }

    /// A request resolving `target_ip` (e.g. a real server or next hop), target MAC zero as
    /// RFC 5227 §2.1.1 recommends.
    pub fn request(our_mac: MacAddr, our_ip: Ipv4Addr, target_ip: Ipv4Addr) -> Repr {
        Repr {
            operation: Operation::Request,
            sender_mac: our_mac,
            sender_ip: our_ip,
            target_mac: MacAddr::ZERO,
            target_ip,
        }
    }

    /// A gratuitous ARP announcing `ip` at `mac` (RFC 5227 §3 "ARP Announcement": a request
    /// whose sender and target IP are both the announced address), as sent when a VIP moves.
    pub fn announcement(mac: MacAddr, ip: Ipv4Addr) -> Repr {
        Repr {
            operation: Operation::Request,
            sender_mac: mac,
            sender_ip: ip,
            target_mac: MacAddr::ZERO,
            target_ip: ip,
        }
    }

    /// The reply to this request, claiming its target address at `our_mac` (RFC 826 "swap
    /// the sender and target fields, put the local addresses in the sender fields, set the
    /// opcode to reply").
    pub fn reply(&self, our_mac: MacAddr) -> Repr {
        Repr {
            operation: Operation::Reply,
            sender_mac: our_mac,
            sender_ip: self.target_ip,
            target_mac: self.sender_mac,
            target_ip: self.sender_ip,
        }
    }

    /// Bytes of the ARP packet.
    pub const fn buffer_len(&self) -> usize {
        LEN
    }

    /// Write all 28 bytes, fixed Ethernet/IPv4 fields included.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) {
        p.set_hardware_type(HTYPE_ETHERNET);
        p.set_protocol_type(ethertype::IPV4);
        p.set_hardware_len(6);
        p.set_protocol_len(4);
        p.set_operation(self.operation);
        p.set_sender_mac(self.sender_mac);
        p.set_sender_ip(self.sender_ip);
        p.set_target_mac(self.target_mac);
        p.set_target_ip(self.target_ip);
    }

    /// Write an Ethernet frame carrying this packet into the first [`FRAME_LEN`] (42) bytes of
    /// `buf` and return 42. The Ethernet source is the sender MAC; the destination is
    /// broadcast for a request and the target MAC for a reply. Bytes past 42 are untouched: the
    /// NIC pads the frame to the 60-byte minimum. `Truncated` if `buf` is shorter than 42.
    pub fn emit_frame(&self, buf: &mut [u8]) -> Result<usize> {
        let buf = buf.get_mut(..FRAME_LEN).ok_or(Error::Truncated)?;
        let mut frame = ethernet::Frame::new_unchecked(&mut *buf);
        ethernet::Repr {
            src: self.sender_mac,
            dst: match self.operation {
                Operation::Reply => self.target_mac,
                _ => MacAddr::BROADCAST,
            },
            ethertype: ethertype::ARP,
        }
        .emit(&mut frame);
        self.emit(&mut Packet::new_unchecked(frame.payload_mut()));
        Ok(FRAME_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::ARP_REQUEST_FRAME;
    use proptest::prelude::*;

    fn arp_of(frame: &[u8]) -> &[u8] {
        &frame[ethernet::HEADER_LEN..]
    }

    #[test]
    fn parse_captured_request() {
        let p = Packet::new_checked(arp_of(&ARP_REQUEST_FRAME)).unwrap();
        assert_eq!(p.operation(), Operation::Request);
        assert_eq!(
            p.sender_mac(),
            MacAddr([0xac, 0x5d, 0x10, 0x31, 0x37, 0x79])
        );
        assert_eq!(p.sender_ip(), Ipv4Addr::new(192, 168, 2, 254));
        assert_eq!(p.target_mac(), MacAddr::BROADCAST);
        assert_eq!(p.target_ip(), Ipv4Addr::new(192, 168, 2, 5));
    }

    #[test]
    fn set_and_reread() {
        let mut f = ARP_REQUEST_FRAME;
        let mut p = Packet::new_checked(&mut f[ethernet::HEADER_LEN..]).unwrap();
        p.set_operation(Operation::Reply);
        p.set_sender_mac(MacAddr([2, 0, 0, 0, 0, 9]));
        p.set_sender_ip(Ipv4Addr::new(10, 0, 0, 9));
        p.set_target_mac(MacAddr([2, 0, 0, 0, 0, 1]));
        p.set_target_ip(Ipv4Addr::new(10, 0, 0, 1));
        let r = Repr::parse(&p);
        assert_eq!(r.operation, Operation::Reply);
        assert_eq!(r.sender_mac, MacAddr([2, 0, 0, 0, 0, 9]));
        assert_eq!(r.sender_ip, Ipv4Addr::new(10, 0, 0, 9));
        assert_eq!(r.target_mac, MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(r.target_ip, Ipv4Addr::new(10, 0, 0, 1));
        p.set_operation(Operation::Unknown(3));
        assert_eq!(p.operation(), Operation::Unknown(3));
        assert_eq!(u16::from(p.operation()), 3);
    }

    #[test]
    fn rejects_truncated_and_foreign() {
        let arp = arp_of(&ARP_REQUEST_FRAME);
        for n in 0..LEN {
            assert_eq!(
                Packet::new_checked(&arp[..n]),
                Err(Error::Truncated),
                "len {n}"
            );
        }
        assert!(Packet::new_checked(&arp[..LEN]).is_ok());
        for (at, v) in [(1, 6u8), (2, 0x86), (4, 8), (5, 16)] {
            let mut b = [0u8; LEN];
            b.copy_from_slice(&arp[..LEN]);
            b[at] = v;
            assert_eq!(
                Packet::new_checked(&b[..]),
                Err(Error::Unsupported),
                "byte {at}"
            );
        }
    }

    #[test]
    fn reply_to_captured_request() {
        let req = Repr::parse(&Packet::new_checked(arp_of(&ARP_REQUEST_FRAME)).unwrap());
        let our = MacAddr([0x02, 0x00, 0x5e, 0x10, 0x00, 0x01]);
        let rep = req.reply(our);
        let mut out = [0xeeu8; 64];
        assert_eq!(rep.emit_frame(&mut out), Ok(42));
        assert_eq!(out[42], 0xee, "bytes past the frame untouched");
        let f = ethernet::Frame::new_checked(&out[..42]).unwrap();
        assert_eq!(f.dst(), req.sender_mac);
        assert_eq!(f.src(), our);
        assert_eq!(f.ethertype(), ethertype::ARP);
        let p = Packet::new_checked(f.payload()).unwrap();
        assert_eq!(p.operation(), Operation::Reply);
        assert_eq!(p.sender_mac(), our);
        assert_eq!(p.sender_ip(), Ipv4Addr::new(192, 168, 2, 5));
        assert_eq!(p.target_mac(), req.sender_mac);
        assert_eq!(p.target_ip(), Ipv4Addr::new(192, 168, 2, 254));
        assert_eq!(rep.emit_frame(&mut [0u8; 41]), Err(Error::Truncated));
    }

    #[test]
    fn request_frame_matches_capture_layout() {
        // Rebuild the captured request: same bytes as the capture except the target MAC, which
        // we send as zero (RFC 5227) where the capture had all ones.
        let r = Repr::request(
            MacAddr([0xac, 0x5d, 0x10, 0x31, 0x37, 0x79]),
            Ipv4Addr::new(192, 168, 2, 254),
            Ipv4Addr::new(192, 168, 2, 5),
        );
        let mut out = [0u8; 42];
        r.emit_frame(&mut out).unwrap();
        let mut want = [0u8; 42];
        want.copy_from_slice(&ARP_REQUEST_FRAME[..42]);
        want[32..38].fill(0);
        assert_eq!(out, want);
        let g = Repr::announcement(MacAddr([2, 0, 0, 0, 0, 1]), Ipv4Addr::new(10, 0, 0, 100));
        assert_eq!(g.sender_ip, g.target_ip);
        assert_eq!(g.operation, Operation::Request);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(p) = Packet::new_checked(&data[..]) {
                let r = Repr::parse(&p);
                let mut out = [0u8; LEN];
                r.emit(&mut Packet::new_unchecked(&mut out[..]));
                prop_assert_eq!(&out[..], &data[..LEN]);
            }
            let p = Packet::new_unchecked(&data[..]);
            let _ = (p.operation(), p.sender_mac(), p.sender_ip(), p.target_mac(), p.target_ip());
        }
    }
}
