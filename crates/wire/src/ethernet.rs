//! Ethernet II frames (IEEE 802.3 with an EtherType, RFC 894 for IPv4 over Ethernet).
//!
//! The frame as DPDK hands it over: no preamble, no FCS. Frames shorter than 60 bytes are padded
//! on the wire, so the L3 packet may be shorter than the payload; IP views take their length
//! from their own header, not from the frame.

use crate::bytes::{rd16, rdn, wr16, wrn};
use crate::{vlan, Error, MacAddr, Result};

/// EtherType values (IEEE 802 numbers registry).
pub mod ethertype {
    /// Internet Protocol version 4 (RFC 894).
    pub const IPV4: u16 = 0x0800;
    /// Address Resolution Protocol (RFC 826).
    pub const ARP: u16 = 0x0806;
    /// Internet Protocol version 6 (RFC 2464).
    pub const IPV6: u16 = 0x86DD;
    /// IEEE 802.1Q customer VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// IEEE 802.1ad service VLAN tag (QinQ outer tag).
    pub const QINQ: u16 = 0x88A8;
}

mod field {
    use crate::{Field, Rest};
    pub const DST: Field = 0..6;
    pub const SRC: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
    pub const PAYLOAD: Rest = 14..;
}

/// Length of the Ethernet II header: destination, source, EtherType.
pub const HEADER_LEN: usize = field::PAYLOAD.start;
/// Minimum frame length without FCS; shorter frames are padded on the wire.
pub const MIN_FRAME_LEN: usize = 60;

/// A view of an Ethernet II frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

/// Where the L3 header of a frame starts once up to two VLAN tags are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L3Location {
    /// EtherType of the L3 payload (after the innermost tag that was skipped).
    pub ethertype: u16,
    /// Byte offset of the L3 header from the start of the frame.
    pub offset: usize,
    /// VLAN ID of the outer tag (802.1Q or 802.1ad), if any.
    pub outer_vid: Option<u16>,
    /// VLAN ID of the inner 802.1Q tag of a QinQ frame, if any.
    pub inner_vid: Option<u16>,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wrap a buffer without checks. Accessors never panic; on a buffer shorter than
    /// [`HEADER_LEN`] missing fields read as zero.
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wrap a buffer that holds at least an Ethernet header.
    pub fn new_checked(buffer: T) -> Result<Frame<T>> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Frame { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination MAC.
    pub fn dst(&self) -> MacAddr {
        MacAddr(rdn(self.buffer.as_ref(), field::DST))
    }

    /// Source MAC.
    pub fn src(&self) -> MacAddr {
        MacAddr(rdn(self.buffer.as_ref(), field::SRC))
    }

    /// EtherType of the payload (a VLAN TPID if the frame is tagged).
    pub fn ethertype(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::ETHERTYPE)
    }

    /// Everything after the 14-byte header (including any VLAN tags and padding).
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(field::PAYLOAD).unwrap_or(&[])
    }

    /// The whole frame.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Skip an 802.1Q or 802.1ad tag and an inner 802.1Q tag (QinQ) to find the L3 header.
    ///
    /// A third tag is not skipped: its TPID is returned as the EtherType, which no L3 handler
    /// accepts. `Truncated` if a tag announced by a TPID does not fit in the frame.
    pub fn l3_location(&self) -> Result<L3Location> {
        let b = self.buffer.as_ref();
        let mut loc = L3Location {
            ethertype: self.ethertype(),
            offset: HEADER_LEN,
            outer_vid: None,
            inner_vid: None,
        };
        if loc.ethertype == ethertype::VLAN || loc.ethertype == ethertype::QINQ {
            let tag = vlan::Tag::new_checked(b.get(loc.offset..).unwrap_or(&[]))?;
            loc.outer_vid = Some(tag.vid());
            loc.ethertype = tag.ethertype();
            loc.offset += vlan::HEADER_LEN;
            if loc.ethertype == ethertype::VLAN {
                let tag = vlan::Tag::new_checked(b.get(loc.offset..).unwrap_or(&[]))?;
                loc.inner_vid = Some(tag.vid());
                loc.ethertype = tag.ethertype();
                loc.offset += vlan::HEADER_LEN;
            }
        }
        Ok(loc)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Set the destination MAC.
    pub fn set_dst(&mut self, mac: MacAddr) {
        wrn(self.buffer.as_mut(), field::DST, &mac.0)
    }

    /// Set the source MAC.
    pub fn set_src(&mut self, mac: MacAddr) {
        wrn(self.buffer.as_mut(), field::SRC, &mac.0)
    }

    /// Set the EtherType.
    pub fn set_ethertype(&mut self, value: u16) {
        wr16(self.buffer.as_mut(), field::ETHERTYPE, value)
    }

    /// Everything after the 14-byte header, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(field::PAYLOAD)
            .unwrap_or(&mut [])
    }

    /// Swap source and destination MAC, as for a reply sent back out the receiving port.
    pub fn swap_addresses(&mut self) {
        let (src, dst) = (self.src(), self.dst());
        self.set_src(dst);
        self.set_dst(src);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Frame<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The fields of an untagged Ethernet II header, for building frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Source MAC.
    pub src: MacAddr,
    /// Destination MAC.
    pub dst: MacAddr,
    /// EtherType of the payload.
    pub ethertype: u16,
}

impl Repr {
    /// Read the header fields of a frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Repr {
        Repr {
            src: frame.src(),
            dst: frame.dst(),
            ethertype: frame.ethertype(),
        }
    }

    /// Bytes this header occupies.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the header into a frame.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) {
        frame.set_dst(self.dst);
        frame.set_src(self.src);
        frame.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{ARP_REQUEST_FRAME, VLAN_TCP_FRAME};

    #[test]
    fn parse_arp_frame_header() {
        let f = Frame::new_checked(&ARP_REQUEST_FRAME[..]).unwrap();
        assert_eq!(f.dst(), MacAddr::BROADCAST);
        assert_eq!(f.src(), MacAddr([0xac, 0x5d, 0x10, 0x31, 0x37, 0x79]));
        assert_eq!(f.ethertype(), ethertype::ARP);
        assert_eq!(f.payload().len(), 46);
        let loc = f.l3_location().unwrap();
        assert_eq!(
            loc,
            L3Location {
                ethertype: ethertype::ARP,
                offset: 14,
                outer_vid: None,
                inner_vid: None
            }
        );
    }

    #[test]
    fn set_and_reread() {
        let mut buf = ARP_REQUEST_FRAME;
        let mut f = Frame::new_checked(&mut buf[..]).unwrap();
        let a = MacAddr([2, 0, 0, 0, 0, 1]);
        let b = MacAddr([2, 0, 0, 0, 0, 2]);
        f.set_dst(a);
        f.set_src(b);
        f.set_ethertype(ethertype::IPV6);
        assert_eq!((f.dst(), f.src(), f.ethertype()), (a, b, ethertype::IPV6));
        f.swap_addresses();
        assert_eq!((f.dst(), f.src()), (b, a));
        f.payload_mut()[0] = 0x60;
        assert_eq!(f.payload()[0], 0x60);
        let r = Repr::parse(&f);
        let mut out = [0u8; 14];
        r.emit(&mut Frame::new_unchecked(&mut out[..]));
        assert_eq!(&out[..], &buf[..14]);
    }

    #[test]
    fn truncations() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                Frame::new_checked(&ARP_REQUEST_FRAME[..n]),
                Err(Error::Truncated)
            );
        }
        let f = Frame::new_checked(&ARP_REQUEST_FRAME[..14]).unwrap();
        assert!(f.payload().is_empty());
    }

    #[test]
    fn vlan_and_qinq() {
        // 802.1ad outer tag VID 100, 802.1Q inner tag VID 42 PCP 5, then IPv4.
        let mut b = [0u8; 40];
        b[12..14].copy_from_slice(&ethertype::QINQ.to_be_bytes());
        b[14..16].copy_from_slice(&100u16.to_be_bytes());
        b[16..18].copy_from_slice(&ethertype::VLAN.to_be_bytes());
        b[18..20].copy_from_slice(&((5u16 << 13) | 42).to_be_bytes());
        b[20..22].copy_from_slice(&ethertype::IPV4.to_be_bytes());
        let f = Frame::new_checked(&b[..]).unwrap();
        let loc = f.l3_location().unwrap();
        assert_eq!(loc.ethertype, ethertype::IPV4);
        assert_eq!(loc.offset, 22);
        assert_eq!(loc.outer_vid, Some(100));
        assert_eq!(loc.inner_vid, Some(42));
        // A tag that does not fit.
        for n in 14..22 {
            let f = Frame::new_checked(&b[..n]).unwrap();
            assert_eq!(f.l3_location(), Err(Error::Truncated), "len {n}");
        }
        // Single 802.1Q tag, captured.
        let f = Frame::new_checked(&VLAN_TCP_FRAME[..]).unwrap();
        assert_eq!(f.ethertype(), ethertype::VLAN);
        let loc = f.l3_location().unwrap();
        assert_eq!(
            (loc.ethertype, loc.offset, loc.outer_vid, loc.inner_vid),
            (ethertype::IPV4, 18, Some(503), None)
        );
    }
}
