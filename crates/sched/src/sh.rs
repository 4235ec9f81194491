//! Source hashing, as `ip_vs_sh.c` (the `hash_32` version, Linux 4.18 and later).
//!
//! A 256-bucket table maps a hash of the client address (plus the client port with `sh-port`)
//! to a real server. The table is refilled on every add, remove and edit
//! (`ip_vs_sh_dest_changed` → `ip_vs_sh_reassign`): walking the list from the head, each server
//! takes `weight` consecutive buckets (at least one). The bucket of a connection is
//! `hash_32(port + ntohl(addr_fold), 8)`.
//!
//! If that server has weight <= 0 or is overloaded there is no destination, unless `sh-fallback`
//! is set: then `ip_vs_sh_get_fallback` probes the other buckets in a fixed order derived from the
//! same hash, so a client keeps landing on the same replacement.

use crate::hash::{addr_fold, hash_32, unavailable, Table, TAB_BITS, TAB_MASK, TAB_SIZE};
use crate::{proto, Change, Dest, SchedFlags, SchedInput, Scheduler};

pub(crate) struct SourceHash {
    flags: SchedFlags,
    table: Table,
}

impl SourceHash {
    /// `ip_vs_sh_init_svc`.
    pub(crate) fn new(flags: SchedFlags, dests: &[Dest]) -> Self {
        let mut table = Table::new();
        table.fill(dests, true);
        SourceHash { flags, table }
    }
}

/// `ip_vs_sh_hashkey`: `(offset + hash_32(ntohs(port) + ntohl(addr_fold), 8)) & 255`.
fn hashkey(fold: u32, port: u16, offset: u32) -> u32 {
    offset.wrapping_add(hash_32(u32::from(port).wrapping_add(fold), TAB_BITS)) & TAB_MASK
}

impl Scheduler for SourceHash {
    fn name(&self) -> &'static str {
        "sh"
    }

    fn schedule(&mut self, dests: &[Dest], input: &SchedInput, _now_ns: u64) -> Option<usize> {
        // ip_vs_sh_get_port: only TCP, UDP and SCTP carry ports; anything else hashes port 0.
        let port = match input.proto {
            proto::TCP | proto::UDP | proto::SCTP if self.flags.sh_port => input.src_port,
            _ => 0,
        };
        let fold = addr_fold(input.src);
        let ihash = hashkey(fold, port, 0);
        let first = self.table.get(dests, ihash)?;
        let d = dests.get(first)?;
        if !unavailable(d) {
            return Some(first);
        }
        if !self.flags.sh_fallback {
            return None;
        }
        // ip_vs_sh_get_fallback: probe offsets 0..255 from roffset = (offset + ihash) % 256.
        // The key adds the hash once more, so the probe order is (2 * ihash + offset) & 255 —
        // starting at bucket 2 * ihash, not ihash + 1; all 256 buckets are still visited.
        for offset in 0..TAB_SIZE as u32 {
            let roffset = (offset + ihash) % TAB_SIZE as u32;
            let hash = hashkey(fold, port, roffset);
            let i = self.table.get(dests, hash)?;
            if dests.get(i).is_some_and(|d| !unavailable(d)) {
                return Some(i);
            }
        }
        None
    }

    fn update(&mut self, dests: &[Dest], _change: Change) {
        self.table.fill(dests, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{input_from, Svc};

    fn fallback() -> SchedFlags {
        SchedFlags {
            sh_fallback: true,
            ..Default::default()
        }
    }

    // Bucket numbers below come from hash_32 worked out in hash.rs (39 for 10.0.0.1, 137 for
    // 10.0.0.2, 89 for 192.168.1.100, 52 for 1.2.3.4, 63 for 2001:db8::1) and were cross-checked
    // with an independent model of ip_vs_sh.c.

    #[test]
    fn same_client_same_server() {
        // Weights 1,1,1: bucket b holds list entry b % 3.
        let mut s = Svc::in_place("sh", &[(1, 1), (2, 1), (3, 1)]);
        let cases = [
            ("10.0.0.1", 1),      // bucket 39 -> 39 % 3 = 0
            ("10.0.0.2", 3),      // 137 % 3 = 2
            ("192.168.1.100", 3), // 89 % 3 = 2
            ("1.2.3.4", 2),       // 52 % 3 = 1
            ("2001:db8::1", 1),   // 63 % 3 = 0
        ];
        for (src, want) in cases {
            for port in [1000, 2000, 3000] {
                // Without sh-port the client port does not matter.
                assert_eq!(
                    s.pick_for(&input_from(src, port)),
                    Some(want),
                    "{src}:{port}"
                );
            }
        }
    }

    #[test]
    fn weights_set_the_share_of_buckets() {
        // ip_vs_sh_reassign: weight 3 then weight 1 -> buckets 1,1,1,2 repeating.
        let mut s = Svc::in_place("sh", &[(1, 3), (2, 1)]);
        assert_eq!(s.pick_for(&input_from("10.0.0.1", 1)), Some(2)); // 39 % 4 = 3
        assert_eq!(s.pick_for(&input_from("10.0.0.2", 1)), Some(1)); // 137 % 4 = 1
    }

    #[test]
    fn unavailable_hashed_server_means_no_destination() {
        // ip_vs_sh_get: NULL when the bucket's server has weight <= 0 or is overloaded.
        let mut s = Svc::in_place("sh", &[(1, 1), (2, 1), (3, 1)]);
        let c = input_from("10.0.0.1", 5);
        s.set_overloaded(1, true);
        assert_eq!(s.pick_for(&c), None);
        s.set_overloaded(1, false);
        assert_eq!(s.pick_for(&c), Some(1));
    }

    #[test]
    fn quiescing_refills_the_table() {
        // upd_dest refills. Weight 0 still takes one bucket (++d_count >= 0), so the pattern
        // stays 1,2,3 and bucket 39 still names server 1, now unavailable.
        let mut s = Svc::in_place("sh", &[(1, 1), (2, 1), (3, 1)]);
        let c = input_from("10.0.0.1", 5);
        s.set_weight(1, 0);
        assert_eq!(s.pick_for(&c), None);
        // Weight 2 for server 2: buckets 1,2,2,3 repeating; 39 % 4 = 3 -> server 3.
        s.set_weight(1, 1).set_weight(2, 2);
        assert_eq!(s.pick_for(&c), Some(3));
    }

    #[test]
    fn fallback_probes_from_twice_the_hash() {
        // 10.0.0.1 hashes to bucket 39 (server 1). With 1 overloaded, ip_vs_sh_get_fallback
        // probes (2 * 39 + offset) & 255: bucket 78 (server 1 again), then 79 -> 79 % 3 = 1,
        // server 2.
        let mut s = Svc::in_place_with_flags("sh", fallback(), &[(1, 1), (2, 1), (3, 1)]);
        let c = input_from("10.0.0.1", 5);
        assert_eq!(s.pick_for(&c), Some(1));
        s.set_overloaded(1, true);
        assert_eq!(s.pick_for(&c), Some(2));
        // And with 2 quiescent too: bucket 80 -> server 3.
        s.set_weight(2, 0);
        assert_eq!(s.pick_for(&c), Some(3));
        // Clients whose own server is fine are not moved.
        assert_eq!(s.pick_for(&input_from("10.0.0.2", 5)), Some(3));
        assert_eq!(s.pick_for(&input_from("1.2.3.4", 5)), Some(3)); // bucket 52 -> 2 -> fallback
    }

    #[test]
    fn fallback_with_nothing_available() {
        let mut s = Svc::in_place_with_flags("sh", fallback(), &[(1, 1), (2, 1)]);
        s.set_overloaded(1, true).set_weight(2, 0);
        assert_eq!(s.pick_for(&input_from("10.0.0.1", 5)), None);
    }

    #[test]
    fn sh_port_hashes_the_client_port_for_tcp_udp_sctp_only() {
        let flags = SchedFlags {
            sh_port: true,
            ..Default::default()
        };
        let mut s = Svc::in_place_with_flags("sh", flags, &[(1, 1), (2, 1), (3, 1)]);
        // hash_32(port + 0x0A000001): 40000 -> 203, 40001 -> 45, 40002 -> 143, 40003 -> 241.
        let want = [(40000, 3), (40001, 1), (40002, 3), (40003, 2)];
        for (port, id) in want {
            assert_eq!(
                s.pick_for(&input_from("10.0.0.1", port)),
                Some(id),
                "{port}"
            );
        }
        // ICMP (or any other protocol): port 0, the plain address hash (bucket 39 -> 1).
        let mut icmp = input_from("10.0.0.1", 40003);
        icmp.proto = 1;
        assert_eq!(s.pick_for(&icmp), Some(1));
        for p in [proto::UDP, proto::SCTP] {
            let mut c = input_from("10.0.0.1", 40003);
            c.proto = p;
            assert_eq!(s.pick_for(&c), Some(2));
        }
    }

    #[test]
    fn table_follows_list_order_on_add_and_remove() {
        let mut s = Svc::new("sh");
        let c = input_from("10.0.0.1", 5); // bucket 39
        assert_eq!(s.pick_for(&c), None);
        s.add_all(&[(1, 1), (2, 1)]); // list [2, 1]: 39 odd -> 1
        assert_eq!(s.pick_for(&c), Some(1));
        s.add_all(&[(3, 1)]); // [3, 2, 1]: 39 % 3 = 0 -> 3
        assert_eq!(s.pick_for(&c), Some(3));
        s.remove(3); // back to [2, 1]
        assert_eq!(s.pick_for(&c), Some(1));
    }

    #[test]
    fn hashkey_offsets_wrap() {
        assert_eq!(hashkey(0x0A00_0001, 0, 0), 39);
        assert_eq!(hashkey(0x0A00_0001, 0, 39), 78);
        assert_eq!(hashkey(0x0A00_0001, 0, 250), (250 + 39) & 255);
    }
}
