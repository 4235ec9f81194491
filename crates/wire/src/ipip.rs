//! IP-in-IP encapsulation (RFC 2003), IPVS's TUN forwarding method: the client's packet is
//! carried unchanged inside an outer IPv4 header addressed to the real server.

use std::net::Ipv4Addr;

use crate::ipv4::{self, protocol};
use crate::{Error, Result};

/// Bytes the outer header adds (RFC 2003 §3.1: no options).
pub const OVERHEAD: usize = ipv4::HEADER_LEN;

/// Write the outer header in front of an IPv4 packet: `buf` holds [`OVERHEAD`] free bytes
/// followed by the inner packet (e.g. after prepending 20 bytes to the mbuf). Returns the
/// encapsulated length (20 + inner total length), which may be less than `buf` if it carries
/// Ethernet padding.
///
/// As RFC 2003 §3.1 and ip_vs_xmit.c (ip_vs_tunnel_xmit via ip_vs_prepare_tunneled_skb) do:
/// the outer TOS and DF are copied from the inner header, and the outer TTL is the inner
/// TTL. Errors: the inner packet's header errors, or `BadTotalLen` if the result would exceed
/// 65535 bytes.
pub fn encapsulate_in_place(
    buf: &mut [u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ident: u16,
) -> Result<usize> {
    let (outer, inner) = buf.split_at_mut_checked(OVERHEAD).ok_or(Error::Truncated)?;
    let inner = ipv4::Packet::new_checked(&*inner)?;
    let inner_len = inner.total_len();
    if usize::from(inner_len) + OVERHEAD > usize::from(u16::MAX) {
        return Err(Error::BadTotalLen);
    }
    ipv4::Repr {
        src,
        dst,
        protocol: protocol::IPIP,
        ttl: inner.ttl(),
        payload_len: inner_len,
        ident,
        dont_frag: inner.dont_frag(),
    }
    .emit_with_dscp_ecn(&mut ipv4::Packet::new_unchecked(outer), inner.dscp_ecn());
    Ok(OVERHEAD + usize::from(inner_len))
}

/// Offset of the inner packet of an IPIP packet (the outer header's length), after checking
/// the outer header and that the protocol is IPIP (`Unsupported` otherwise). What a real
/// server's tunnel device does first; used by tests and the replay tool.
pub fn inner_offset(buf: &[u8]) -> Result<usize> {
    let outer = ipv4::Packet::new_checked(buf)?;
    if outer.protocol() != protocol::IPIP {
        return Err(Error::Unsupported);
    }
    Ok(outer.header_len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp;
    use crate::testdata::{DNS_QUERY_FRAME, SYN_FRAME};
    use proptest::prelude::*;

    const DIP: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 1);
    const RIP: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 21);

    #[test]
    fn encapsulate_captured_syn() {
        let inner = &SYN_FRAME[14..];
        let mut b = vec![0u8; OVERHEAD + inner.len()];
        b[OVERHEAD..].copy_from_slice(inner);
        assert_eq!(encapsulate_in_place(&mut b, DIP, RIP, 77), Ok(80));
        let outer = ipv4::Packet::new_checked(&b[..]).unwrap();
        assert_eq!(outer.protocol(), protocol::IPIP);
        assert_eq!((outer.src(), outer.dst()), (DIP, RIP));
        assert_eq!(outer.total_len(), 80);
        assert_eq!(outer.ttl(), 64);
        assert!(outer.dont_frag());
        assert_eq!(outer.ident(), 77);
        assert!(outer.verify_checksum());
        assert_eq!(outer.payload(), inner, "inner packet untouched");
        let off = inner_offset(&b).unwrap();
        let ip = ipv4::Packet::new_checked(&b[off..]).unwrap();
        let seg = tcp::Packet::new_checked(ip.payload()).unwrap();
        assert!(seg.verify_checksum_v4(ip.src(), ip.dst()));
    }

    #[test]
    fn copies_tos_ttl_and_clear_df() {
        let inner = &DNS_QUERY_FRAME[14..];
        let mut b = vec![0u8; OVERHEAD + inner.len() + 10];
        b[OVERHEAD..OVERHEAD + inner.len()].copy_from_slice(inner);
        ipv4::Packet::new_unchecked(&mut b[OVERHEAD..]).set_dscp_ecn(0xb8);
        assert_eq!(encapsulate_in_place(&mut b, DIP, RIP, 1), Ok(88));
        let outer = ipv4::Packet::new_checked(&b[..]).unwrap();
        assert_eq!(outer.dscp_ecn(), 0xb8);
        assert_eq!(outer.ttl(), 56);
        assert!(!outer.dont_frag());
        assert!(outer.verify_checksum());
    }

    #[test]
    fn errors() {
        assert_eq!(
            encapsulate_in_place(&mut [0u8; 19], DIP, RIP, 0),
            Err(Error::Truncated)
        );
        assert_eq!(
            encapsulate_in_place(&mut [0u8; 30], DIP, RIP, 0),
            Err(Error::Truncated)
        );
        let mut b = [0u8; 60];
        b[20] = 0x45;
        b[22..24].copy_from_slice(&40u16.to_be_bytes());
        assert!(encapsulate_in_place(&mut b, DIP, RIP, 0).is_ok());
        assert_eq!(inner_offset(&SYN_FRAME[14..]), Err(Error::Unsupported));
        // 65535-byte inner packet: no room for the outer header.
        let mut big = vec![0u8; 20 + 65535];
        big[20] = 0x45;
        big[22..24].copy_from_slice(&u16::MAX.to_be_bytes());
        assert_eq!(
            encapsulate_in_place(&mut big, DIP, RIP, 0),
            Err(Error::BadTotalLen)
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(mut data in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = inner_offset(&data);
            if let Ok(n) = encapsulate_in_place(&mut data, DIP, RIP, 3) {
                prop_assert_eq!(inner_offset(&data[..n]), Ok(20));
            }
        }
    }
}
