//! The 256-bucket tables of `sh` and `dh` and the kernel hash they index with.

use crate::{Dest, Mark};
use std::net::IpAddr;

/// `IP_VS_SH_TAB_BITS` / `IP_VS_DH_TAB_BITS` (`CONFIG_IP_VS_SH_TAB_BITS` default 8).
pub(crate) const TAB_BITS: u32 = 8;
/// `IP_VS_SH_TAB_SIZE` / `IP_VS_DH_TAB_SIZE`.
pub(crate) const TAB_SIZE: usize = 1 << TAB_BITS;
/// `IP_VS_SH_TAB_MASK` / `IP_VS_DH_TAB_MASK`.
pub(crate) const TAB_MASK: u32 = (1 << TAB_BITS) - 1;

/// include/linux/hash.h `GOLDEN_RATIO_32`.
const GOLDEN_RATIO_32: u32 = 0x61C8_8647;

/// include/linux/hash.h `hash_32` (the generic one x86 and arm64 use): multiply by the golden
/// ratio and keep the top `bits` bits.
pub(crate) fn hash_32(val: u32, bits: u32) -> u32 {
    val.wrapping_mul(GOLDEN_RATIO_32) >> (32 - bits)
}

/// The address folded to 32 bits in host order, as `ntohl(addr_fold)` in `ip_vs_sh_hashkey` and
/// `ip_vs_dh_hashkey`: IPv4 as is, IPv6 as the xor of its four 32-bit words.
pub(crate) fn addr_fold(addr: IpAddr) -> u32 {
    match addr {
        IpAddr::V4(a) => a.to_bits(),
        IpAddr::V6(a) => {
            let b = a.to_bits();
            // Truncating casts keep each 32-bit word; xor commutes with ntohl.
            (b >> 96) as u32 ^ (b >> 64) as u32 ^ (b >> 32) as u32 ^ b as u32
        }
    }
}

/// A bucket table: each bucket names a real server, all empty only when the service has none.
pub(crate) struct Table {
    buckets: Box<[Option<Mark>; TAB_SIZE]>,
}

impl Table {
    pub(crate) fn new() -> Self {
        Table {
            buckets: Box::new([None; TAB_SIZE]),
        }
    }

    /// `ip_vs_sh_reassign` (`weighted`) / `ip_vs_dh_reassign`: walk the list from the head
    /// filling buckets 0, 1, 2... in order, wrapping around the list. Weighted, a server takes
    /// `weight` consecutive buckets before the walk moves on (`++d_count >= weight`), so a server
    /// of weight 0 still takes one bucket; unweighted, one bucket each.
    pub(crate) fn fill(&mut self, dests: &[Dest], weighted: bool) {
        if dests.is_empty() {
            self.buckets.fill(None);
            return;
        }
        let mut p = 0usize;
        let mut d_count: i32 = 0;
        for b in self.buckets.iter_mut() {
            // Past the tail is the list head: step on to the first server.
            if p >= dests.len() {
                p = 0;
            }
            *b = Mark::at(dests, p);
            let w = dests.get(p).map_or(0, |d| d.weight);
            d_count += 1;
            if !weighted || d_count >= w {
                p += 1;
                d_count = 0;
            }
        }
    }

    /// The real server in bucket `hash` (masked), as an index into `dests`. None for an empty
    /// bucket, or when that server is no longer in `dests` (an update was missed).
    pub(crate) fn get(&self, dests: &[Dest], hash: u32) -> Option<usize> {
        let b = usize::try_from(hash & TAB_MASK).ok()?;
        self.buckets.get(b).copied().flatten()?.locate(dests)
    }

    #[cfg(test)]
    pub(crate) fn ids(&self) -> Vec<Option<u32>> {
        self.buckets.iter().map(|m| m.map(|m| m.id)).collect()
    }
}

/// `is_unavailable` in `ip_vs_sh.c` (and the same test in `ip_vs_dh_schedule`): weight <= 0 or
/// overloaded.
pub(crate) fn unavailable(d: &Dest) -> bool {
    d.weight <= 0 || d.is_overloaded()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::rs;

    fn h(a: &str) -> u32 {
        hash_32(addr_fold(a.parse().expect("address")), TAB_BITS)
    }

    #[test]
    fn hash_32_matches_the_kernel_formula() {
        // (val * 0x61C88647 mod 2^32) >> 24, worked by hand for 0x0A000001:
        // 0x61C88647 + ((0x0A * 0x47) mod 256) << 24 = 0x61C88647 + 0xC6000000 = 0x27C88647
        // (mod 2^32), top byte 0x27 = 39.
        assert_eq!(h("10.0.0.1"), 39);
        assert_eq!(hash_32(0, 8), 0);
        assert_eq!(hash_32(1, 8), 0x61);
        assert_eq!(hash_32(1, 32), 0x61C8_8647);
        // Cross-checked with an independent Python model of the kernel code.
        assert_eq!(h("10.0.0.2"), 137);
        assert_eq!(h("192.168.1.100"), 89);
        assert_eq!(h("1.2.3.4"), 52);
        assert_eq!(h("2001:db8::1"), 63);
    }

    #[test]
    fn ipv6_folds_by_xor_of_words() {
        assert_eq!(addr_fold("2001:db8::1".parse().expect("v6")), 0x2001_0db9);
        assert_eq!(addr_fold("10.0.0.1".parse().expect("v4")), 0x0a00_0001);
        assert_eq!(addr_fold("::".parse().expect("v6")), 0);
    }

    #[test]
    fn weighted_fill_gives_weight_consecutive_buckets() {
        let dests = vec![rs(1, 3), rs(2, 1), rs(3, 0)];
        let mut t = Table::new();
        t.fill(&dests, true);
        let ids = t.ids();
        // 1,1,1 then 2, then 3 (weight 0 still takes one bucket), then around again.
        let cycle = [1, 1, 1, 2, 3];
        for (b, id) in ids.iter().enumerate() {
            assert_eq!(*id, Some(cycle[b % 5]), "bucket {b}");
        }
    }

    #[test]
    fn unweighted_fill_is_one_bucket_each() {
        let dests = vec![rs(1, 3), rs(2, 1), rs(3, 0)];
        let mut t = Table::new();
        t.fill(&dests, false);
        let ids = t.ids();
        for (b, id) in ids.iter().enumerate() {
            assert_eq!(*id, Some([1, 2, 3][b % 3]), "bucket {b}");
        }
    }

    #[test]
    fn heavy_weight_fills_the_whole_table() {
        let dests = vec![rs(1, 1000), rs(2, 1)];
        let mut t = Table::new();
        t.fill(&dests, true);
        assert!(t.ids().iter().all(|id| *id == Some(1)));
    }

    #[test]
    fn empty_service_empties_the_table() {
        let mut t = Table::new();
        t.fill(&[rs(1, 1)], true);
        t.fill(&[], true);
        assert!(t.ids().iter().all(Option::is_none));
        assert_eq!(t.get(&[], 5), None);
    }
}
