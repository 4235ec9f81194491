//! Differential tests for the scans that test cheap conditions first (`fo`, `ovf`): literal
//! ports of `ip_vs_fo_schedule` and `ip_vs_ovf_schedule` in the kernel's order of tests, run
//! against the schedulers on random services (weights including 0 and, though the kernel rejects
//! them, negative ones; loads; overload flags).

use crate::testutil::rs;
use crate::{new_scheduler, Dest, SchedFlags};
use proptest::prelude::*;

/// ip_vs_fo_schedule, test for test.
fn fo_literal(dests: &[Dest]) -> Option<usize> {
    let mut hweight: Option<usize> = None;
    let mut hw = 0;
    for (i, d) in dests.iter().enumerate() {
        if !d.is_overloaded() && d.weight > hw {
            hweight = Some(i);
            hw = d.weight;
        }
    }
    hweight
}

/// ip_vs_ovf_schedule, test for test.
fn ovf_literal(dests: &[Dest]) -> Option<usize> {
    let mut h: Option<usize> = None;
    let mut hw = 0;
    for (i, d) in dests.iter().enumerate() {
        let w = d.weight;
        if d.is_overloaded() || i64::from(d.counters.active()) > i64::from(w) || w == 0 {
            continue;
        }
        if h.is_none() || w > hw {
            h = Some(i);
            hw = w;
        }
    }
    h
}

fn server() -> impl Strategy<Value = (i32, u32, bool)> {
    (-2i32..6, 0u32..8, prop::bool::weighted(0.2))
}

proptest! {
    #[test]
    fn fo_and_ovf_match_the_literal_kernel_scans(
        servers in prop::collection::vec(server(), 0..40)
    ) {
        let dests: Vec<Dest> = servers
            .iter()
            .enumerate()
            .map(|(k, &(w, active, over))| {
                let d = rs(k as u32 + 1, w);
                d.counters.set(active, 0);
                d.counters.set_overloaded(over);
                d
            })
            .collect();
        let input = crate::testutil::input_from("10.1.1.1", 1);
        let mut fo = new_scheduler("fo", SchedFlags::default(), &dests).expect("fo");
        let mut ovf = new_scheduler("ovf", SchedFlags::default(), &dests).expect("ovf");
        prop_assert_eq!(fo.schedule(&dests, &input, 0), fo_literal(&dests));
        prop_assert_eq!(ovf.schedule(&dests, &input, 0), ovf_literal(&dests));
    }
}
