//! Destination hashing, as `ip_vs_dh.c` (the `hash_32` version, Linux 4.18 and later).
//!
//! A 256-bucket table maps `hash_32(ntohl(addr_fold(daddr)), 8)` to a real server. The table is
//! refilled when a server is added or removed (`ip_vs_dh_dest_changed`; there is no `upd_dest`
//! hook, and the fill ignores weights anyway): one bucket per server, round the list from the
//! head. A server with weight <= 0 or overloaded means no destination; dh has no fallback.

use crate::hash::{addr_fold, hash_32, unavailable, Table, TAB_BITS};
use crate::{Change, Dest, SchedInput, Scheduler};

pub(crate) struct DestinationHash {
    table: Table,
}

impl DestinationHash {
    /// `ip_vs_dh_init_svc`.
    pub(crate) fn new(dests: &[Dest]) -> Self {
        let mut table = Table::new();
        table.fill(dests, false);
        DestinationHash { table }
    }
}

impl Scheduler for DestinationHash {
    fn name(&self) -> &'static str {
        "dh"
    }

    fn schedule(&mut self, dests: &[Dest], input: &SchedInput, _now_ns: u64) -> Option<usize> {
        let i = self
            .table
            .get(dests, hash_32(addr_fold(input.dst), TAB_BITS))?;
        dests.get(i).filter(|d| !unavailable(d)).map(|_| i)
    }

    fn update(&mut self, dests: &[Dest], change: Change) {
        // No upd_dest hook in ip_vs_dh.c: an edit leaves the table as it is.
        if !matches!(change, Change::Edited(_)) {
            self.table.fill(dests, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::{input_from, Svc};

    fn to(dst: &str) -> crate::SchedInput {
        let mut c = input_from("198.51.100.7", 40000);
        c.dst = dst.parse().expect("address");
        c
    }

    // hash_32 buckets (independent model of ip_vs_dh.c): 192.0.2.1 -> 50, 192.0.2.2 -> 148,
    // 203.0.113.9 -> 64, 2001:db8::80 -> 248.

    #[test]
    fn same_destination_same_server_whatever_the_client() {
        // One bucket per server, weights ignored: bucket b holds list entry b % 3.
        let mut s = Svc::in_place("dh", &[(1, 5), (2, 1), (3, 1)]);
        let cases = [
            ("192.0.2.1", 3),    // 50 % 3 = 2
            ("192.0.2.2", 2),    // 148 % 3 = 1
            ("203.0.113.9", 2),  // 64 % 3 = 1
            ("2001:db8::80", 3), // 248 % 3 = 2
        ];
        for (dst, want) in cases {
            assert_eq!(s.pick_for(&to(dst)), Some(want), "{dst}");
            let mut other_client = to(dst);
            other_client.src = "203.0.113.200".parse().expect("address");
            other_client.src_port = 1;
            assert_eq!(s.pick_for(&other_client), Some(want), "{dst}");
        }
    }

    #[test]
    fn unavailable_server_means_no_destination() {
        let mut s = Svc::in_place("dh", &[(1, 1), (2, 1), (3, 1)]);
        s.set_overloaded(3, true);
        assert_eq!(s.pick_for(&to("192.0.2.1")), None);
        s.set_overloaded(3, false).set_weight(3, 0);
        assert_eq!(s.pick_for(&to("192.0.2.1")), None);
        assert_eq!(s.pick_for(&to("192.0.2.2")), Some(2));
    }

    #[test]
    fn add_and_remove_refill_in_list_order() {
        let mut s = Svc::new("dh");
        assert_eq!(s.pick_for(&to("192.0.2.1")), None);
        s.add_all(&[(1, 1), (2, 1)]); // [2, 1]: bucket 50 even -> 2
        assert_eq!(s.pick_for(&to("192.0.2.1")), Some(2));
        s.add_all(&[(3, 1)]); // [3, 2, 1]: 50 % 3 = 2 -> 1
        assert_eq!(s.pick_for(&to("192.0.2.1")), Some(1));
        s.remove(1); // [3, 2]: even -> 3
        assert_eq!(s.pick_for(&to("192.0.2.1")), Some(3));
    }
}
