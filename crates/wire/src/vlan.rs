//! IEEE 802.1Q VLAN tag: the 4 bytes after the TPID (0x8100 or 0x88A8) of a tagged frame.
//!
//! The view starts at the Tag Control Information, so `ethertype()` is the EtherType (or the
//! next TPID) of what follows the tag.

use crate::bytes::{rd16, wr16};
use crate::{Error, Result};

mod field {
    use crate::{Field, Rest};
    /// Tag Control Information: PCP (3 bits), DEI (1 bit), VID (12 bits).
    pub const TCI: Field = 0..2;
    pub const ETHERTYPE: Field = 2..4;
    pub const PAYLOAD: Rest = 4..;
}

/// Length of the tag (TCI plus inner EtherType).
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// A view of an 802.1Q tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Tag<T> {
    /// Wrap a buffer without checks; accessors never panic (short buffers read as zero).
    pub const fn new_unchecked(buffer: T) -> Tag<T> {
        Tag { buffer }
    }

    /// Wrap a buffer of at least 4 bytes.
    pub fn new_checked(buffer: T) -> Result<Tag<T>> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Tag { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn tci(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::TCI)
    }

    /// Priority Code Point (802.1p class of service), 0..=7.
    pub fn pcp(&self) -> u8 {
        (self.tci() >> 13) as u8
    }

    /// Drop Eligible Indicator.
    pub fn dei(&self) -> bool {
        self.tci() & 0x1000 != 0
    }

    /// VLAN identifier, 0..=4095 (0: priority tag only, 4095 reserved).
    pub fn vid(&self) -> u16 {
        self.tci() & 0x0fff
    }

    /// EtherType of the tagged payload (or the TPID of an inner tag).
    pub fn ethertype(&self) -> u16 {
        rd16(self.buffer.as_ref(), field::ETHERTYPE)
    }

    /// What follows the tag.
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(field::PAYLOAD).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Tag<T> {
    fn set_tci(&mut self, tci: u16) {
        wr16(self.buffer.as_mut(), field::TCI, tci)
    }

    /// Set the priority code point (low three bits of `pcp` are used).
    pub fn set_pcp(&mut self, pcp: u8) {
        let tci = (self.tci() & 0x1fff) | (u16::from(pcp & 0x07) << 13);
        self.set_tci(tci)
    }

    /// Set the drop eligible indicator.
    pub fn set_dei(&mut self, dei: bool) {
        let tci = (self.tci() & !0x1000) | if dei { 0x1000 } else { 0 };
        self.set_tci(tci)
    }

    /// Set the VLAN ID (low 12 bits of `vid` are used).
    pub fn set_vid(&mut self, vid: u16) {
        let tci = (self.tci() & 0xf000) | (vid & 0x0fff);
        self.set_tci(tci)
    }

    /// Set the inner EtherType.
    pub fn set_ethertype(&mut self, value: u16) {
        wr16(self.buffer.as_mut(), field::ETHERTYPE, value)
    }

    /// What follows the tag, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(field::PAYLOAD)
            .unwrap_or(&mut [])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ethernet::{self, ethertype};
    use crate::testdata::VLAN_TCP_FRAME;

    #[test]
    fn parse_captured_tag() {
        let tag = Tag::new_checked(&VLAN_TCP_FRAME[ethernet::HEADER_LEN..]).unwrap();
        assert_eq!(tag.vid(), 503);
        assert_eq!(tag.pcp(), 0);
        assert!(!tag.dei());
        assert_eq!(tag.ethertype(), ethertype::IPV4);
        assert_eq!(tag.payload()[0], 0x45);
    }

    #[test]
    fn set_fields_independently() {
        let mut b = [0u8; 4];
        let mut tag = Tag::new_checked(&mut b[..]).unwrap();
        tag.set_vid(0xfff);
        tag.set_pcp(5);
        tag.set_dei(true);
        tag.set_ethertype(ethertype::IPV6);
        assert_eq!((tag.vid(), tag.pcp(), tag.dei()), (0xfff, 5, true));
        tag.set_vid(0x1234); // only 12 bits kept
        tag.set_dei(false);
        assert_eq!((tag.vid(), tag.pcp(), tag.dei()), (0x234, 5, false));
        tag.set_pcp(0xff);
        assert_eq!((tag.vid(), tag.pcp()), (0x234, 7));
        assert_eq!(tag.ethertype(), ethertype::IPV6);
        assert!(tag.payload_mut().is_empty());
        assert_eq!(b, [0xe2, 0x34, 0x86, 0xdd]);
    }

    #[test]
    fn truncations() {
        for n in 0..HEADER_LEN {
            assert_eq!(Tag::new_checked(&[0u8; 4][..n]), Err(Error::Truncated));
        }
    }
}
