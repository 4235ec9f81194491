//! The Internet checksum: computation (RFC 1071) and incremental update (RFC 1624).
//!
//! Sums are carried as `u32` "not yet folded" values so that pieces (a pseudo header, a header,
//! a payload) can be chained: `finish(ones_sum(payload, ones_sum(header, pseudo)))`. Any `u32`
//! is a valid partial sum: only its residue modulo 0xFFFF matters, because 2^16 ≡ 1 (mod 0xFFFF)
//! is exactly the end-around carry of RFC 1071 §1.

use std::net::{Ipv4Addr, Ipv6Addr};

/// One's complement sum of `data` as big-endian 16-bit words, added to `initial` (RFC 1071 §4.1).
///
/// An odd trailing byte is padded with a zero low byte (RFC 1071 §1 (1), RFC 793 §3.1). The
/// result is congruent to the true sum modulo 0xFFFF but not folded; pass it on as `initial`, or
/// to [`fold`]/[`finish`]. `data` must start at an even offset of the checksummed stream.
pub fn ones_sum(data: &[u8], initial: u32) -> u32 {
    // Sum 32-bit big-endian words into a 64-bit accumulator: hi·2^16 + lo ≡ hi + lo (mod 0xFFFF),
    // so a 32-bit word contributes exactly its two 16-bit halves (RFC 1071 §2(C), "parallel
    // summation"). 2^32 words of 2^32 each cannot overflow the u64 before we fold.
    let mut acc = u64::from(initial);
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        if let [a, b, c, d] = *w {
            acc += u64::from(u32::from_be_bytes([a, b, c, d]));
        }
    }
    acc += match *words.remainder() {
        [a, b, c] => u64::from(u16::from_be_bytes([a, b])) + (u64::from(c) << 8),
        [a, b] => u64::from(u16::from_be_bytes([a, b])),
        [a] => u64::from(a) << 8,
        _ => 0,
    };
    // 2^32 ≡ 1 (mod 0xFFFF): fold the high half in until it fits a u32.
    while acc > u64::from(u32::MAX) {
        acc = (acc & 0xffff_ffff) + (acc >> 32);
    }
    acc as u32
}

/// Fold the carries of a partial sum into 16 bits (RFC 1071 §4.1), *without* complementing.
///
/// A non-zero sum folds into `1..=0xFFFF`; only an all-zero sum folds to 0.
pub fn fold(sum: u32) -> u16 {
    let s = (sum & 0xffff) + (sum >> 16);
    let s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// The value to store in a checksum field: the complement of the folded sum (RFC 1071 §1 (3)).
///
/// Compute it with the checksum field zeroed. The receiver then sums everything, checksum
/// included, and must get 0xFFFF (`fold(..) == 0xFFFF`).
pub fn finish(sum: u32) -> u16 {
    !fold(sum)
}

/// Sum of the IPv4 pseudo header of TCP/UDP (RFC 793 §3.1, RFC 768): source and destination
/// address, zero, protocol, and the L4 length (header plus data).
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: u16) -> u32 {
    let [a, b, c, d] = src.octets();
    let [e, f, g, h] = dst.octets();
    u32::from(u16::from_be_bytes([a, b]))
        + u32::from(u16::from_be_bytes([c, d]))
        + u32::from(u16::from_be_bytes([e, f]))
        + u32::from(u16::from_be_bytes([g, h]))
        + u32::from(proto)
        + u32::from(len)
}

/// Sum of the IPv6 pseudo header of upper-layer checksums (RFC 8200 §8.1): source, destination,
/// 32-bit upper-layer packet length, three zero bytes and the next header value.
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, proto: u8, len: u32) -> u32 {
    let words = src
        .segments()
        .into_iter()
        .chain(dst.segments())
        .fold(0u32, |acc, w| acc + u32::from(w));
    words + (len >> 16) + (len & 0xffff) + u32::from(proto)
}

/// Update a stored checksum `csum` after a 16-bit word of the data changed from `old` to `new`.
///
/// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). Unlike RFC 1141's HC' = HC + m + ~m' (eqn. 2) it
/// gives the same result as a full recomputation, including when that result is 0x0000
/// (RFC 1624 §3, the 0xDD2F example), as long as the covered data is not all zero (always true
/// for IP headers and pseudo-header sums, which carry a non-zero version or protocol).
pub fn update16(csum: u16, old: u16, new: u16) -> u16 {
    let sum = u32::from(!csum) + u32::from(!old) + u32::from(new);
    !fold(sum)
}

/// [`update16`] for an aligned 32-bit field, e.g. an IPv4 address in an IP header or in a
/// TCP/UDP pseudo header: both halves are subtracted and added in one sum (RFC 1624 eqn. 3).
pub fn update32(csum: u16, old: u32, new: u32) -> u16 {
    let sum = u32::from(!csum)
        + u32::from(!(old >> 16) as u16)
        + u32::from(!(old as u16))
        + (new >> 16)
        + (new & 0xffff);
    !fold(sum)
}

/// [`update16`] for a run of bytes, e.g. an IPv6 address (16 bytes) in a pseudo header:
/// subtracts every word of `old` and adds every word of `new` (RFC 1624 eqn. 3).
///
/// Meant for equal, even lengths starting at an even offset. Other lengths do not panic: each
/// slice contributes as [`ones_sum`] would count it (odd byte padded), so the result is the
/// checksum after removing `old`'s contribution and adding `new`'s.
pub fn update_bytes(csum: u16, old: &[u8], new: &[u8]) -> u16 {
    // ~m for a multi-word m is the sum of the complemented words; in one's complement that is
    // the complement of m's folded sum: Σ~w ≡ -Σw ≡ ~fold(Σw) (mod 0xFFFF).
    let sum =
        u32::from(!csum) + u32::from(!fold(ones_sum(old, 0))) + u32::from(fold(ones_sum(new, 0)));
    !fold(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Plain RFC 1071 §4.1 reference: 16-bit words, end-around carry after every add.
    fn reference_sum(data: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        let mut i = 0;
        while i < data.len() {
            let hi = u32::from(data[i]) << 8;
            let lo = data.get(i + 1).map_or(0, |&b| u32::from(b));
            sum += hi | lo;
            if sum > 0xffff {
                sum = (sum & 0xffff) + 1;
            }
            i += 2;
        }
        sum as u16
    }

    fn reference_checksum(data: &[u8]) -> u16 {
        !reference_sum(data)
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(ones_sum(&d, 0)), 0xddf2);
        assert_eq!(finish(ones_sum(&d, 0)), !0xddf2);
    }

    #[test]
    fn odd_length_pads_low_byte() {
        assert_eq!(fold(ones_sum(&[0xab], 0)), 0xab00);
        assert_eq!(fold(ones_sum(&[0x12, 0x34, 0xab], 0)), 0xbd34);
    }

    #[test]
    fn fold_extremes() {
        assert_eq!(fold(0), 0);
        assert_eq!(fold(0xffff), 0xffff);
        assert_eq!(fold(0x1_0000), 1);
        assert_eq!(fold(u32::MAX), 0xffff);
        assert_eq!(fold(0xffff_0000), 0xffff);
        assert_eq!(finish(0), 0xffff);
    }

    #[test]
    fn ones_sum_survives_huge_initial() {
        let d = [0xffu8; 64];
        let s = ones_sum(&d, u32::MAX);
        assert_eq!(fold(s), 0xffff);
    }

    #[test]
    fn rfc1624_section3_example() {
        // RFC 1624 §3: other header words sum to 0xCD7A, m = 0x5555 changes to m' = 0x3285.
        let before = [0xcd, 0x7a, 0x55, 0x55];
        let hc = finish(ones_sum(&before, 0));
        assert_eq!(hc, 0xdd2f);
        let after = [0xcd, 0x7a, 0x32, 0x85];
        let full = finish(ones_sum(&after, 0));
        assert_eq!(full, 0x0000, "recomputation gives 0x0000");
        // Eqn. 3 matches recomputation; RFC 1141's eqn. 2 would have produced 0xFFFF.
        let inc = update16(hc, 0x5555, 0x3285);
        assert_eq!(inc, 0x0000);
        // And the result verifies: data plus checksum sums to all ones.
        let with_csum = [0xcd, 0x7a, 0x32, 0x85, (inc >> 8) as u8, inc as u8];
        assert_eq!(fold(ones_sum(&with_csum, 0)), 0xffff);
        // RFC 1141 / RFC 1624 eqn. 2, HC' = HC - ~m - m' = HC + m + ~m' in one's complement,
        // for contrast: it yields the other zero, 0xFFFF.
        let eqn2 = fold(u32::from(hc) + 0x5555 + u32::from(!0x3285u16));
        assert_eq!(eqn2, 0xffff);
    }

    #[test]
    fn pseudo_header_v4_matches_bytes() {
        let src = Ipv4Addr::new(192, 168, 1, 10);
        let dst = Ipv4Addr::new(10, 0, 0, 1);
        let mut b = Vec::new();
        b.extend_from_slice(&src.octets());
        b.extend_from_slice(&dst.octets());
        b.extend_from_slice(&[0, 6, 0x05, 0xdc]);
        assert_eq!(fold(pseudo_header_v4(src, dst, 6, 1500)), reference_sum(&b));
    }

    #[test]
    fn pseudo_header_v6_matches_bytes() {
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let dst: Ipv6Addr = "fe80::aabb:ccff:fedd:eeff".parse().unwrap();
        let mut b = Vec::new();
        b.extend_from_slice(&src.octets());
        b.extend_from_slice(&dst.octets());
        b.extend_from_slice(&0x0001_0203u32.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 17]);
        assert_eq!(
            fold(pseudo_header_v6(src, dst, 17, 0x0001_0203)),
            reference_sum(&b)
        );
    }

    /// Replace `new.len()` bytes at `at` (even) and check every incremental form against a full
    /// recomputation of the same data.
    fn check_update(mut data: Vec<u8>, at: usize, new: &[u8]) {
        let hc = reference_checksum(&data);
        let old = data[at..at + new.len()].to_vec();
        data[at..at + new.len()].copy_from_slice(new);
        let full = reference_checksum(&data);
        assert_eq!(update_bytes(hc, &old, new), full);
        if new.len() == 2 {
            let o = u16::from_be_bytes([old[0], old[1]]);
            let n = u16::from_be_bytes([new[0], new[1]]);
            assert_eq!(update16(hc, o, n), full);
        }
        if new.len() == 4 {
            let o = u32::from_be_bytes([old[0], old[1], old[2], old[3]]);
            let n = u32::from_be_bytes([new[0], new[1], new[2], new[3]]);
            assert_eq!(update32(hc, o, n), full);
        }
    }

    /// Random data that is not all zero (see [`update16`]): the first word is forced non-zero,
    /// as an IP version nibble or a pseudo-header protocol always is.
    fn nonzero_data(min: usize) -> impl Strategy<Value = Vec<u8>> {
        (min..200usize)
            .prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n))
            .prop_map(|mut v| {
                if v.len() >= 2 && v[0] == 0 && v[1] == 0 {
                    v[1] = 1;
                }
                v
            })
    }

    proptest! {
        #[test]
        fn ones_sum_matches_reference(data in proptest::collection::vec(any::<u8>(), 0..1600)) {
            prop_assert_eq!(fold(ones_sum(&data, 0)), reference_sum(&data));
            prop_assert_eq!(finish(ones_sum(&data, 0)), reference_checksum(&data));
        }

        #[test]
        fn ones_sum_chains_at_even_splits(data in proptest::collection::vec(any::<u8>(), 0..600), cut in 0usize..300) {
            let cut = (cut * 2).min(data.len() & !1);
            let chained = ones_sum(&data[cut..], ones_sum(&data[..cut], 0));
            prop_assert_eq!(fold(chained), reference_sum(&data));
        }

        #[test]
        fn update16_equals_recompute(data in nonzero_data(4), idx in any::<usize>(), new in any::<u16>()) {
            let words = data.len() / 2;
            let at = 2 * (idx % words);
            // Keep the forced non-zero first word non-zero after the change.
            let new = if at == 0 && new == 0 { 1 } else { new };
            check_update(data, at, &new.to_be_bytes());
        }

        #[test]
        fn update32_equals_recompute(data in nonzero_data(8), idx in any::<usize>(), new in any::<u32>()) {
            let at = 2 * (idx % (data.len() / 2 - 1));
            let new = if at == 0 && new >> 16 == 0 { new | 0x0001_0000 } else { new };
            check_update(data, at, &new.to_be_bytes());
        }

        #[test]
        fn update_bytes_equals_recompute(data in nonzero_data(40), idx in any::<usize>(), new in any::<[u8; 16]>()) {
            let at = 2 * (idx % (data.len() / 2 - 7));
            let mut new = new;
            if at == 0 && new[0] == 0 && new[1] == 0 {
                new[1] = 1;
            }
            check_update(data, at, &new);
        }

        /// Whatever representation of zero the stored checksum uses, the incremental result
        /// verifies (sums to 0xFFFF with the data), for any data that is not all zero.
        #[test]
        fn update16_result_verifies(mut data in proptest::collection::vec(any::<u8>(), 2..64), idx in any::<usize>(), new in any::<u16>(), neg_zero in any::<bool>()) {
            if data.len() % 2 == 1 { data.pop(); }
            let mut hc = reference_checksum(&data);
            if neg_zero && hc == 0 { hc = 0xffff; }
            let at = 2 * (idx % (data.len() / 2));
            let old = u16::from_be_bytes([data[at], data[at + 1]]);
            data[at..at + 2].copy_from_slice(&new.to_be_bytes());
            let inc = update16(hc, old, new);
            let mut all = data.clone();
            all.extend_from_slice(&inc.to_be_bytes());
            prop_assume!(data.iter().any(|&b| b != 0));
            prop_assert_eq!(reference_sum(&all), 0xffff);
        }

        #[test]
        fn update_bytes_odd_lengths_never_panic(csum in any::<u16>(), a in proptest::collection::vec(any::<u8>(), 0..20), b in proptest::collection::vec(any::<u8>(), 0..20)) {
            let _ = update_bytes(csum, &a, &b);
        }
    }
}
