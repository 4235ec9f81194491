//! Differential tests for the schedulers that decide from a structure kept up to date by the
//! load log (`tourney.rs`, the `twos` weight index) instead of scanning: on random histories of
//! connections bound and unbound, state changes, counts set (up to the kernel's int overflow),
//! overload flips, thresholds, real servers added, removed and re-weighted, every decision must
//! be the one the kernel's literal scan makes on the same counters at the same moment.

use crate::testutil::{input_from, rs};
use crate::twos::TwoChoices;
use crate::{fo, ovf, Scheduler, SplitMix64};
use crate::{least, new_scheduler_with, watch_loads, Change, Dest, SchedFlags, SchedParams};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Bind(usize, bool),
    Unbind(usize, bool),
    Move(usize, bool),
    Set(usize, u32, u32),
    Overload(usize, bool),
    Thresholds(usize, u32, u32),
    Add(i32),
    Remove(usize),
    Weight(usize, i32),
    /// Decide, and bind a connection to the chosen server as the engine does.
    Pick,
}

fn op() -> impl Strategy<Value = Op> {
    let i = 0usize..64;
    prop_oneof![
        6 => (i.clone(), any::<bool>()).prop_map(|(i, a)| Op::Bind(i, a)),
        3 => (i.clone(), any::<bool>()).prop_map(|(i, a)| Op::Unbind(i, a)),
        2 => (i.clone(), any::<bool>()).prop_map(|(i, a)| Op::Move(i, a)),
        2 => (i.clone(), prop_oneof![0u32..8, Just(1 << 23), Just(u32::MAX)], 0u32..600)
            .prop_map(|(i, a, n)| Op::Set(i, a, n)),
        2 => (i.clone(), any::<bool>()).prop_map(|(i, o)| Op::Overload(i, o)),
        1 => (i.clone(), 0u32..6, 0u32..4).prop_map(|(i, u, l)| Op::Thresholds(i, u, l)),
        2 => prop_oneof![4 => 0i32..6, 1 => Just(-1)].prop_map(Op::Add),
        1 => i.clone().prop_map(Op::Remove),
        1 => (i, 0i32..6).prop_map(|(i, w)| Op::Weight(i, w)),
        8 => Just(Op::Pick),
    ]
}

const RULES: [&str; 6] = ["lc", "wlc", "sed", "nq", "fo", "ovf"];

/// The literal scans.
fn scan(name: &str, dests: &[Dest]) -> Option<usize> {
    match name {
        "lc" => least::scan(least::Kind::Lc, dests),
        "wlc" => least::scan(least::Kind::Wlc, dests),
        "sed" => least::scan(least::Kind::Sed, dests),
        "nq" => least::scan(least::Kind::Nq, dests),
        "fo" => fo::scan(dests),
        _ => ovf::scan(dests),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn structured_decisions_are_the_kernels_scans(
        weights in prop::collection::vec(0i32..6, 0..40),
        ops in prop::collection::vec(op(), 0..120),
        seed in any::<u64>(),
    ) {
        let mut dests: Vec<Dest> =
            weights.iter().enumerate().map(|(k, &w)| rs(k as u32 + 1, w)).collect();
        let mut next_id = dests.len() as u32 + 1;
        watch_loads(&dests);
        let params = SchedParams { seed, ..Default::default() };
        let mut fast: Vec<Box<dyn Scheduler>> = RULES
            .iter()
            .chain(["twos"].iter())
            .map(|n| new_scheduler_with(n, SchedFlags::default(), &dests, &params).expect("known"))
            .collect();
        let mut twos_ref = TwoChoices::walking(Box::new(SplitMix64::new(seed)));
        let input = input_from("10.1.1.1", 1);
        let at = |dests: &[Dest], i: usize| dests.get(i % dests.len().max(1)).cloned();
        for op in ops {
            let mut change = None;
            match op {
                Op::Bind(i, a) => if let Some(d) = at(&dests, i) { d.counters.bind(a) },
                Op::Unbind(i, a) => if let Some(d) = at(&dests, i) {
                    let c = if a { d.counters.active() } else { d.counters.inactive() };
                    if c > 0 { d.counters.unbind(a) }
                },
                Op::Move(i, a) => if let Some(d) = at(&dests, i) {
                    let c = if a { d.counters.inactive() } else { d.counters.active() };
                    if c > 0 { d.counters.move_active(a) }
                },
                Op::Set(i, a, n) => if let Some(d) = at(&dests, i) { d.counters.set(a, n) },
                Op::Overload(i, o) => if let Some(d) = at(&dests, i) { d.counters.set_overloaded(o) },
                Op::Thresholds(i, u, l) => if let Some(d) = at(&dests, i) {
                    d.counters.set_thresholds(u, l)
                },
                Op::Add(w) => {
                    dests.insert(0, rs(next_id, w));
                    watch_loads(&dests);
                    change = Some(Change::Added(next_id));
                    next_id += 1;
                }
                Op::Remove(i) => if !dests.is_empty() {
                    let d = dests.remove(i % dests.len());
                    change = Some(Change::Removed(d.id));
                },
                Op::Weight(i, w) => if !dests.is_empty() {
                    let k = i % dests.len();
                    dests[k].weight = w;
                    change = Some(Change::Edited(dests[k].id));
                },
                Op::Pick => {
                    for (s, name) in fast.iter_mut().zip(RULES) {
                        let want = scan(name, &dests);
                        prop_assert_eq!(s.schedule(&dests, &input, 0), want, "{}", name);
                    }
                    let twos = fast.last_mut().expect("twos");
                    let want = twos_ref.schedule(&dests, &input, 0);
                    prop_assert_eq!(twos.schedule(&dests, &input, 0), want, "twos");
                    if let Some(d) = want.and_then(|i| dests.get(i)) {
                        d.counters.bind(false);
                    }
                }
            }
            if let Some(c) = change {
                for s in &mut fast {
                    s.update(&dests, c);
                }
                twos_ref.update(&dests, c);
            }
        }
    }
}

#[test]
fn a_list_without_a_shared_log_is_scanned() {
    // Servers built without watch_loads: the schedulers scan, with the same result.
    let dests: Vec<Dest> = (1..=5).map(|k| rs(k, k as i32)).collect();
    dests[2].counters.set(0, 0);
    for (k, d) in dests.iter().enumerate() {
        d.counters.set(k as u32 + 1, 0);
    }
    let input = input_from("10.1.1.1", 1);
    for name in RULES {
        let mut s =
            new_scheduler_with(name, SchedFlags::default(), &dests, &SchedParams::default())
                .expect("known");
        assert_eq!(s.schedule(&dests, &input, 0), scan(name, &dests), "{name}");
    }
}

#[test]
fn a_lapped_log_rebuilds_and_still_decides_right() {
    // More changes than the ring holds between two decisions: the scheduler rebuilds.
    let dests: Vec<Dest> = (1..=50).map(|k| rs(k, 1)).collect();
    watch_loads(&dests);
    let mut s = new_scheduler_with("lc", SchedFlags::default(), &dests, &SchedParams::default())
        .expect("lc");
    let input = input_from("10.1.1.1", 1);
    assert_eq!(s.schedule(&dests, &input, 0), Some(0));
    for round in 0..200u32 {
        for (k, d) in dests.iter().enumerate() {
            d.counters.set(1 + (k as u32 + round) % 50, 0);
        }
    }
    // Last round (199): server k has 1 + (k + 199) % 50 active; the least (1) is k = 1.
    assert_eq!(s.schedule(&dests, &input, 0), Some(1));
    assert_eq!(
        s.schedule(&dests, &input, 0),
        least::scan(least::Kind::Lc, &dests)
    );
}

#[test]
fn the_load_reading_schedulers_are_named() {
    // The engine logs load changes only for services whose scheduler reads them.
    for &name in crate::SCHEDULERS {
        let reads = !matches!(name, "rr" | "wrr" | "sh" | "dh" | "mh");
        assert_eq!(crate::reads_loads(name), reads, "{name}");
    }
    assert!(!crate::reads_loads("WLC"));
}
