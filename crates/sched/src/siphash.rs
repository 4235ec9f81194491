//! The kernel's `hsiphash` as `mh` calls it: on 64-bit kernels (`BITS_PER_LONG == 64`, lib/siphash.c)
//! "HalfSipHash1-3" is really SipHash-1-3 with a 64-bit state whose result is truncated to 32
//! bits, keyed by two `unsigned long` words. rvs reproduces that, the x86_64/arm64 kernel; a
//! 32-bit kernel runs the real HalfSipHash and makes other tables.
//!
//! `ip_vs_mh_hashkey` hashes one `unsigned int` from memory, so its bytes are read little-endian
//! (`le32_to_cpup`) on the little-endian machines rvs reproduces.

/// `SIPROUND` (lib/siphash.c).
#[inline(always)]
fn round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

/// `PREAMBLE`: the SipHash constants xored with the key (`key[0]` into v0/v2, `key[1]` into
/// v1/v3).
#[inline(always)]
fn preamble(key: [u64; 2]) -> [u64; 4] {
    [
        0x736f_6d65_7073_6575 ^ key[0],
        0x646f_7261_6e64_6f6d ^ key[1],
        0x6c79_6765_6e65_7261 ^ key[0],
        0x7465_6462_7974_6573 ^ key[1],
    ]
}

/// `hsiphash(&v, sizeof(v), key)` on a 64-bit little-endian kernel: no whole 8-byte block, the
/// tail word `b = 4 << 56 | v`, one compression round, three finalisation rounds.
#[inline]
pub(crate) fn hsiphash_u32(v: u32, key: [u64; 2]) -> u32 {
    let mut s = preamble(key);
    let b = (4u64 << 56) | u64::from(v);
    // HPOSTAMBLE.
    s[3] ^= b;
    round(&mut s);
    s[0] ^= b;
    s[2] ^= 0xff;
    round(&mut s);
    round(&mut s);
    round(&mut s);
    // `u32` return type: the low half of (v0 ^ v1) ^ (v2 ^ v3).
    ((s[0] ^ s[1]) ^ (s[2] ^ s[3])) as u32
}

/// Generic SipHash-c-d over a byte string, as `__siphash_unaligned` (c = 2, d = 4) and
/// `__hsiphash_unaligned` on 64-bit (c = 1, d = 3). Tests only: it checks the round function
/// against the reference test vector and the fast path above against it.
#[cfg(test)]
pub(crate) fn siphash(c: usize, d: usize, key: [u64; 2], data: &[u8]) -> u64 {
    let mut s = preamble(key);
    let mut b = (data.len() as u64) << 56;
    let mut chunks = data.chunks_exact(8);
    for m in chunks.by_ref() {
        let mut w = [0u8; 8];
        w.copy_from_slice(m);
        let m = u64::from_le_bytes(w);
        s[3] ^= m;
        for _ in 0..c {
            round(&mut s);
        }
        s[0] ^= m;
    }
    for (i, &byte) in chunks.remainder().iter().enumerate() {
        b |= u64::from(byte) << (8 * i);
    }
    s[3] ^= b;
    for _ in 0..c {
        round(&mut s);
    }
    s[0] ^= b;
    s[2] ^= 0xff;
    for _ in 0..d {
        round(&mut s);
    }
    (s[0] ^ s[1]) ^ (s[2] ^ s[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key 00 01 02 ... 0f as two little-endian words (`siphash_key_t` loaded from bytes).
    const REF_KEY: [u64; 2] = [0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908];

    #[test]
    fn siphash_2_4_matches_the_reference_vectors() {
        // Aumasson & Bernstein, "SipHash: a fast short-input PRF", appendix A: message
        // 00 01 ... 0e (15 bytes) -> a129ca6149be45e5.
        let msg: Vec<u8> = (0u8..15).collect();
        assert_eq!(siphash(2, 4, REF_KEY, &msg), 0xa129_ca61_49be_45e5);
        // First entries of the reference implementation's vectors.h (empty, 1 and 8 bytes).
        assert_eq!(siphash(2, 4, REF_KEY, &[]), 0x726f_db47_dd0e_0e31);
        assert_eq!(siphash(2, 4, REF_KEY, &[0]), 0x74f8_39c5_93dc_67fd);
        let eight: Vec<u8> = (0u8..8).collect();
        assert_eq!(siphash(2, 4, REF_KEY, &eight), 0x93f5_f579_9a93_2462);
    }

    #[test]
    fn fast_path_is_siphash_1_3_of_four_le_bytes() {
        let keys = [
            [2_654_435_761, 2_654_435_761],
            [2_654_446_892, 2_654_446_892],
            REF_KEY,
        ];
        for key in keys {
            for v in [0u32, 1, 80, 0x0a00_0001, 0xc0a8_0164, u32::MAX, 0x1234_5678] {
                let slow = siphash(1, 3, key, &v.to_le_bytes()) as u32;
                assert_eq!(hsiphash_u32(v, key), slow, "{v:#x}");
            }
        }
    }

    #[test]
    fn mh_keys_give_these_values() {
        // Pinned from an independent Python model of lib/siphash.c (SipHash-1-3, 64-bit state,
        // truncated), with ip_vs_mh.c generate_hash_secret's keys.
        let k1 = [2_654_435_761, 2_654_435_761];
        let k2 = [2_654_446_892, 2_654_446_892];
        assert_eq!(hsiphash_u32(0, k1), PY_K1_0);
        assert_eq!(hsiphash_u32(0x0a00_0001, k1), PY_K1_10_0_0_1);
        assert_eq!(hsiphash_u32(0x0a00_0001 + 80, k2), PY_K2_10_0_0_1_80);
    }

    const PY_K1_0: u32 = 0x1d5a_77c2;
    const PY_K1_10_0_0_1: u32 = 0x0308_0ce4;
    const PY_K2_10_0_0_1_80: u32 = 0x97b3_dc47;
}
