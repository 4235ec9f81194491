//! The flow index: flow key → slab slot and direction, an open-addressing hash table of
//! 64-byte buckets.
//!
//! Shape (after VPP's `lbhash.h`, with F14-style overflow counts):
//! * a bucket is one cache line holding [`SLOTS`] entries: a 16-bit signature per entry (upper
//!   hash bits, 0 = empty) and a 32-bit value (slab slot << 1 | direction), plus an overflow
//!   count;
//! * a key lives in its home bucket or, if that is full, in the next bucket with room (linear
//!   probing by bucket, wrapping). Every bucket passed over on the way counts one overflow, so a
//!   lookup stops at the first bucket whose overflow count is zero, and a removal simply
//!   decrements the counts again: no tombstones, hence no rehash, ever;
//! * the full key is not stored here: a signature match is confirmed against the key in the
//!   slab entry, which the caller touches next anyway.
//!
//! The table is sized once for twice the connection limit (one key per direction) at a load
//! factor of at most 60 %, so an insert always finds a free slot. Measured at that worst case
//! (every connection NAT, table full): about 99 % of keys sit in their home bucket and the
//! farthest a few buckets away; DR/TUN connections use one key, halving the load.

use crate::Key;

/// Entries per bucket: 10 × (2-byte signature + 4-byte value) + 4-byte overflow count = 64.
pub(crate) const SLOTS: usize = 10;

/// One cache line of the index.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Bucket {
    /// Signature of each entry; 0 marks a free entry.
    sig: [u16; SLOTS],
    /// How many keys whose home bucket is at or before this one are stored after it.
    overflow: u32,
    /// Slab slot << 1 | direction bit, for each entry.
    val: [u32; SLOTS],
}

const EMPTY_BUCKET: Bucket = Bucket {
    sig: [0; SLOTS],
    overflow: 0,
    val: [0; SLOTS],
};

const _: () = assert!(std::mem::size_of::<Bucket>() == 64);

/// wyhash's constants: odd, well-mixed 64-bit values.
const K0: u64 = 0xa076_1d64_78bd_642f;
const K1: u64 = 0xe703_7ed1_a0b4_28db;
const K2: u64 = 0x8ebc_6af0_9c88_c6e3;

/// splitmix64, to spread one user seed over the hash's three secrets.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub(crate) struct FlowIndex {
    buckets: Box<[Bucket]>,
    secrets: [u64; 3],
}

impl FlowIndex {
    /// An index able to hold `max_keys` keys at ≤ 60 % load, hashing with `seed`.
    pub(crate) fn new(max_keys: usize, seed: u64) -> FlowIndex {
        // ceil(max_keys / 6) buckets of 10 entries: load ≤ 60 %.
        let nb = max_keys.div_ceil(6).max(1);
        let mut s = seed;
        let secrets = [
            splitmix64(&mut s) ^ K0,
            splitmix64(&mut s) ^ K1,
            splitmix64(&mut s) ^ K2,
        ];
        FlowIndex {
            buckets: vec![EMPTY_BUCKET; nb].into_boxed_slice(),
            secrets,
        }
    }

    /// Seeded hash of a flow key (see [`Key::hash_seeded`]).
    #[inline]
    pub(crate) fn hash<K: Key>(&self, k: &K) -> u64 {
        k.hash_seeded(&self.secrets)
    }

    /// Home bucket (low 32 hash bits, reduced by multiply-shift so any bucket count works) and
    /// signature (top 16 bits, never 0).
    #[inline]
    fn locate(&self, h: u64) -> (usize, u16) {
        let nb = self.buckets.len() as u64;
        let home = ((h & 0xffff_ffff) * nb) >> 32;
        let sig = (h >> 48) as u16;
        (home as usize, if sig == 0 { 1 } else { sig })
    }

    #[inline]
    fn next(&self, b: usize) -> usize {
        if b + 1 == self.buckets.len() {
            0
        } else {
            b + 1
        }
    }

    /// The value stored under hash `h` for which `matches(value)` confirms the key.
    #[inline]
    pub(crate) fn find(&self, h: u64, mut matches: impl FnMut(u32) -> bool) -> Option<u32> {
        let (mut b, sig) = self.locate(h);
        for _ in 0..self.buckets.len() {
            let bucket = &self.buckets[b];
            for (&s, &v) in bucket.sig.iter().zip(bucket.val.iter()) {
                if s == sig && matches(v) {
                    return Some(v);
                }
            }
            if bucket.overflow == 0 {
                return None;
            }
            b = self.next(b);
        }
        None
    }

    /// Load the home bucket of hash `h` (see [`crate::ConnTable::prefetch`]); returns a word of
    /// it so that the load is not optimised away.
    #[inline]
    pub(crate) fn touch(&self, h: u64) -> u32 {
        let (b, _) = self.locate(h);
        self.buckets.get(b).map_or(0, |bucket| bucket.overflow)
    }

    /// The first value in the home bucket of `h` whose signature matches, without confirming
    /// the key: the slab entry a lookup will most likely read.
    #[inline]
    pub(crate) fn first_candidate(&self, h: u64) -> Option<u32> {
        let (b, sig) = self.locate(h);
        let bucket = self.buckets.get(b)?;
        bucket
            .sig
            .iter()
            .zip(bucket.val.iter())
            .find(|(&s, _)| s == sig)
            .map(|(_, &v)| v)
    }

    /// Stores `val` under hash `h` (the caller has checked the key is absent). Returns the home
    /// bucket, which [`FlowIndex::remove`] needs, or `None` if no bucket has room (cannot happen
    /// within the sizing of [`FlowIndex::new`]).
    pub(crate) fn insert(&mut self, h: u64, val: u32) -> Option<u32> {
        let (home, sig) = self.locate(h);
        let mut b = home;
        for _ in 0..self.buckets.len() {
            let bucket = &mut self.buckets[b];
            if let Some(i) = bucket.sig.iter().position(|&s| s == 0) {
                bucket.sig[i] = sig;
                bucket.val[i] = val;
                let mut p = home;
                while p != b {
                    self.buckets[p].overflow = self.buckets[p].overflow.saturating_add(1);
                    p = self.next(p);
                }
                return Some(home as u32);
            }
            b = self.next(b);
        }
        None
    }

    /// Removes `val`, stored from home bucket `home`. Returns whether it was found.
    pub(crate) fn remove(&mut self, home: u32, val: u32) -> bool {
        let home = home as usize;
        if home >= self.buckets.len() {
            return false;
        }
        let mut b = home;
        for _ in 0..self.buckets.len() {
            let bucket = &mut self.buckets[b];
            let found = (0..SLOTS).find(|&i| bucket.sig[i] != 0 && bucket.val[i] == val);
            if let Some(i) = found {
                bucket.sig[i] = 0;
                bucket.val[i] = 0;
                let mut p = home;
                while p != b {
                    self.buckets[p].overflow = self.buckets[p].overflow.saturating_sub(1);
                    p = self.next(p);
                }
                return true;
            }
            if bucket.overflow == 0 {
                return false;
            }
            b = self.next(b);
        }
        false
    }

    /// Number of buckets (for sizing tests and memory reports).
    pub(crate) fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Address of the bucket array, to prove it never moves.
    #[cfg(test)]
    pub(crate) fn buckets_ptr(&self) -> *const u8 {
        self.buckets.as_ptr().cast()
    }

    /// How many buckets past its home bucket the key stored as `val` sits (None: absent).
    #[cfg(test)]
    pub(crate) fn displacement(&self, h: u64, val: u32) -> Option<usize> {
        let (mut b, _) = self.locate(h);
        for d in 0..self.buckets.len() {
            let bucket = &self.buckets[b];
            if (0..SLOTS).any(|i| bucket.sig[i] != 0 && bucket.val[i] == val) {
                return Some(d);
            }
            b = self.next(b);
        }
        None
    }

    /// Sum of all overflow counts (0 when every key is in its home bucket).
    #[cfg(test)]
    pub(crate) fn overflow_total(&self) -> u64 {
        self.buckets.iter().map(|b| u64::from(b.overflow)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FlowKey, FlowKey6};
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn key(i: u32) -> FlowKey {
        FlowKey {
            proto: 6,
            src: Ipv4Addr::from(0x0a00_0000 + (i >> 16)),
            src_port: (i & 0xffff) as u16,
            dst: Ipv4Addr::new(192, 0, 2, 1),
            dst_port: 80,
        }
    }

    #[test]
    fn bucket_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Bucket>(), 64);
        assert_eq!(std::mem::align_of::<Bucket>(), 64);
    }

    #[test]
    fn seed_changes_hash() {
        let a = FlowIndex::new(16, 1);
        let b = FlowIndex::new(16, 2);
        let k = key(7);
        assert_ne!(a.hash(&k), b.hash(&k));
        assert_eq!(a.hash(&k), FlowIndex::new(16, 1).hash(&k));
    }

    #[test]
    fn every_key_field_feeds_the_hash() {
        let ix = FlowIndex::new(16, 0);
        let base = key(1);
        let h = ix.hash(&base);
        let variants = [
            FlowKey { proto: 17, ..base },
            FlowKey {
                src: Ipv4Addr::new(10, 0, 0, 2),
                ..base
            },
            FlowKey {
                src_port: 2,
                ..base
            },
            FlowKey {
                dst: Ipv4Addr::new(192, 0, 2, 2),
                ..base
            },
            FlowKey {
                dst_port: 81,
                ..base
            },
        ];
        for v in variants {
            assert_ne!(ix.hash(&v), h, "{v:?}");
        }
    }

    fn key6(i: u32) -> FlowKey6 {
        FlowKey6 {
            proto: 6,
            src: Ipv6Addr::from(
                0x2001_0002_0000_0000_0000_0000_0000_0000u128 + u128::from(i >> 16),
            ),
            src_port: (i & 0xffff) as u16,
            dst: "2001:2::100".parse().unwrap(),
            dst_port: 80,
        }
    }

    #[test]
    fn every_v6_key_field_and_address_half_feeds_the_hash() {
        let ix = FlowIndex::new(16, 0);
        let base = key6(1);
        let h = ix.hash(&base);
        let flip = |a: Ipv6Addr, bit: u32| Ipv6Addr::from(u128::from(a) ^ (1u128 << bit));
        let mut variants = vec![
            FlowKey6 { proto: 17, ..base },
            FlowKey6 {
                src_port: 2,
                ..base
            },
            FlowKey6 {
                dst_port: 81,
                ..base
            },
            base.reversed(),
        ];
        for bit in [0, 63, 64, 127] {
            variants.push(FlowKey6 {
                src: flip(base.src, bit),
                ..base
            });
            variants.push(FlowKey6 {
                dst: flip(base.dst, bit),
                ..base
            });
        }
        for v in variants {
            assert_ne!(ix.hash(&v), h, "{v:?}");
        }
        // Seeded like the IPv4 hash.
        assert_ne!(FlowIndex::new(16, 1).hash(&base), h);
    }

    /// IPv6 clients of one /64 that differ in the low bits (the common shape: one prefix,
    /// many hosts or privacy addresses) spread as well as IPv4 clients do.
    #[test]
    fn v6_keys_stay_near_home_at_full_load() {
        let n = 100_000u32;
        let mut ix = FlowIndex::new(n as usize, 0x5eed);
        for i in 0..n {
            let h = ix.hash(&key6(i));
            assert!(ix.insert(h, i << 1).is_some());
        }
        let at_home = (0..n)
            .filter(|&i| ix.displacement(ix.hash(&key6(i)), i << 1) == Some(0))
            .count();
        assert!(
            at_home * 100 >= n as usize * 97,
            "only {at_home} of {n} keys at home"
        );
    }

    /// At the designed maximum load (60 %) with keys that differ only in client port and
    /// address — the common shape of real traffic to one VIP — nearly every key sits in its
    /// home bucket (one cache line per lookup) and none far from it.
    #[test]
    fn keys_stay_near_home_at_full_load() {
        let n = 200_000u32;
        let mut ix = FlowIndex::new(n as usize, 0x5eed);
        for i in 0..n {
            let h = ix.hash(&key(i));
            assert!(ix.insert(h, i << 1).is_some());
        }
        let mut at_home = 0;
        let mut farthest = 0;
        for i in 0..n {
            let h = ix.hash(&key(i));
            let d = ix.displacement(h, i << 1).expect("stored");
            at_home += usize::from(d == 0);
            farthest = farthest.max(d);
            if i % 97 == 0 {
                assert_eq!(ix.find(h, |v| v == i << 1), Some(i << 1));
            }
        }
        assert!(
            at_home * 100 >= n as usize * 97,
            "only {at_home} of {n} keys at home"
        );
        assert!(farthest <= 8, "a key sits {farthest} buckets from home");
    }

    #[test]
    fn overflow_counts_return_to_zero() {
        // Ten buckets filled to 95 % force probing past full buckets.
        let n = 95u32;
        let mut ix = FlowIndex::new(60, 3);
        assert_eq!(ix.buckets(), 10);
        let mut homes = Vec::new();
        for i in 0..n {
            let h = ix.hash(&key(i));
            homes.push(ix.insert(h, i << 1).expect("room"));
        }
        assert!(ix.overflow_total() > 0);
        for i in 0..n {
            let h = ix.hash(&key(i));
            assert_eq!(ix.find(h, |v| v == i << 1), Some(i << 1));
        }
        for i in 0..n {
            assert!(ix.remove(homes[i as usize], i << 1));
            assert!(!ix.remove(homes[i as usize], i << 1));
        }
        assert_eq!(ix.overflow_total(), 0);
    }

    #[test]
    fn remove_with_bad_home_is_harmless() {
        let mut ix = FlowIndex::new(4, 0);
        assert!(!ix.remove(u32::MAX, 0));
    }
}
