//! Differential tests for lblc and lblcr: a plain model of `ip_vs_lblc_schedule` and
//! `ip_vs_lblcr_schedule` (a map from destination address to server or to a list of servers,
//! scans written test for test from the C), run against the schedulers on random histories of
//! packets, load changes, overload flips, weight edits, removals and re-additions. The histories
//! stay within the first minute, before the garbage collection timer (tested on its own in
//! lblc.rs), and use a 5-second lblcr expiration so that sets shrink.

use crate::testutil::rs;
use crate::{new_scheduler_with, Change, Dest, SchedFlags, SchedParams, Scheduler};
use proptest::prelude::*;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

const S: u64 = 1_000_000_000;
const EXP: u64 = 5 * S;

fn overhead(d: &Dest) -> i32 {
    ((d.counters.active() << 8).wrapping_add(d.counters.inactive())) as i32
}

/// `__ip_vs_lblc_schedule` / `__ip_vs_lblcr_schedule`.
fn wlc(dests: &[Dest]) -> Option<u32> {
    let mut least: Option<&Dest> = None;
    let mut loh = 0i32;
    for d in dests {
        match least {
            None => {
                if d.is_overloaded() {
                    continue;
                }
                if d.weight > 0 {
                    least = Some(d);
                    loh = overhead(d);
                }
            }
            Some(l) => {
                if d.is_overloaded() {
                    continue;
                }
                let doh = overhead(d);
                if i64::from(loh) * i64::from(d.weight) > i64::from(doh) * i64::from(l.weight) {
                    least = Some(d);
                    loh = doh;
                }
            }
        }
    }
    least.map(|d| d.id)
}

/// `is_overloaded`.
fn is_overloaded(d: &Dest, dests: &[Dest]) -> bool {
    if d.counters.active() as i32 > d.weight {
        for m in dests {
            if (m.counters.active() as i32).wrapping_mul(2) < m.weight {
                return true;
            }
        }
    }
    false
}

/// What a removed server still shows: its last weight and its counters.
#[derive(Clone)]
struct Gone {
    weight: i32,
    counters: Arc<crate::DestCounters>,
}

#[derive(Default)]
struct Model {
    lblc: HashMap<IpAddr, u32>,
    /// lblcr: members, most recently inserted first, and lastmod.
    lblcr: HashMap<IpAddr, (Vec<u32>, u64)>,
    trash: HashMap<u32, Gone>,
}

impl Model {
    fn lblc(&mut self, dests: &[Dest], dst: IpAddr) -> Option<u32> {
        if let Some(&id) = self.lblc.get(&dst) {
            // IP_VS_DEST_F_AVAILABLE: still in the list.
            if let Some(d) = dests.iter().find(|d| d.id == id) {
                if d.weight > 0 && !is_overloaded(d, dests) {
                    return Some(id);
                }
            }
        }
        let id = wlc(dests)?;
        self.lblc.insert(dst, id);
        Some(id)
    }

    fn lblcr(&mut self, dests: &[Dest], dst: IpAddr, now: u64) -> Option<u32> {
        let find = |id: u32| dests.iter().find(|d| d.id == id);
        if let Some((set, lastmod)) = self.lblcr.get_mut(&dst) {
            // ip_vs_dest_set_min.
            let mut least: Option<(&Dest, i32)> = None;
            for &id in set.iter() {
                let Some(d) = find(id) else { continue };
                if d.is_overloaded() {
                    continue;
                }
                match least {
                    None => {
                        if d.weight > 0 {
                            least = Some((d, overhead(d)));
                        }
                    }
                    Some((l, loh)) => {
                        let doh = overhead(d);
                        if i64::from(loh) * i64::from(d.weight)
                            > i64::from(doh) * i64::from(l.weight)
                        {
                            least = Some((d, doh));
                        }
                    }
                }
            }
            let dest = least.map(|(d, _)| d);
            if set.len() > 1 && now > *lastmod + EXP {
                // ip_vs_dest_set_max over available and removed members alike.
                let look = |id: u32| -> (i32, i32) {
                    match find(id) {
                        Some(d) => (d.weight, overhead(d)),
                        None => self.trash.get(&id).map_or((0, 0), |g| {
                            let oh = (g.counters.active() << 8).wrapping_add(g.counters.inactive());
                            (g.weight, oh as i32)
                        }),
                    }
                };
                let mut most: Option<(u32, i32, i32)> = None;
                for &id in set.iter() {
                    let (w, doh) = look(id);
                    match most {
                        None => {
                            if w > 0 {
                                most = Some((id, w, doh));
                            }
                        }
                        Some((_, mw, moh)) => {
                            if i64::from(moh) * i64::from(w) < i64::from(doh) * i64::from(mw)
                                && w > 0
                            {
                                most = Some((id, w, doh));
                            }
                        }
                    }
                }
                if let Some((m, _, _)) = most {
                    set.retain(|&x| x != m);
                    *lastmod = now;
                }
            }
            if let Some(d) = dest {
                if !is_overloaded(d, dests) {
                    return Some(d.id);
                }
            }
            let id = wlc(dests)?;
            if !set.contains(&id) {
                set.insert(0, id);
                *lastmod = now;
            }
            return Some(id);
        }
        let id = wlc(dests)?;
        self.lblcr.insert(dst, (vec![id], now));
        Some(id)
    }
}

#[derive(Clone, Debug)]
enum Op {
    Packet(u8),
    Load(u32, u32, u32),
    Overload(u32, bool),
    Weight(u32, i32),
    Remove(u32),
    Add(u32, i32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..5).prop_map(Op::Packet),
        3 => (1u32..6, 0u32..6, 0u32..300).prop_map(|(id, a, i)| Op::Load(id, a, i)),
        1 => (1u32..6, any::<bool>()).prop_map(|(id, on)| Op::Overload(id, on)),
        1 => (1u32..6, 0i32..5).prop_map(|(id, w)| Op::Weight(id, w)),
        1 => (1u32..6).prop_map(Op::Remove),
        1 => (1u32..6, 0i32..5).prop_map(|(id, w)| Op::Add(id, w)),
    ]
}

fn run(name: &str, ops: &[Op]) -> Result<(), TestCaseError> {
    let params = SchedParams {
        lblcr_expiration_ns: EXP,
        ..Default::default()
    };
    let mut dests: Vec<Dest> = (1..=3).rev().map(|id| rs(id, 2)).collect();
    // As the engine's: the wlc choice on a cache miss then comes from the load log's tree.
    crate::watch_loads(&dests);
    let mut sched: Box<dyn Scheduler> =
        new_scheduler_with(name, SchedFlags::default(), &dests, &params).expect("known");
    let mut model = Model::default();
    // Counters of every server ever seen, so a re-added server keeps its counts (the kernel
    // revives it from the trash with them).
    let mut all: HashMap<u32, Dest> = dests.iter().map(|d| (d.id, d.clone())).collect();
    let mut now = S;
    for op in ops {
        now += S / 2;
        match *op {
            Op::Packet(k) => {
                let dst = IpAddr::V4(Ipv4Addr::new(192, 0, 2, k));
                let mut input = crate::testutil::input_from("172.16.0.2", 1);
                input.dst = dst;
                let got = sched.schedule(&dests, &input, now).map(|i| dests[i].id);
                let want = if name == "lblc" {
                    model.lblc(&dests, dst)
                } else {
                    model.lblcr(&dests, dst, now)
                };
                prop_assert_eq!(got, want, "{} at {:?}", name, op);
            }
            Op::Load(id, a, i) => {
                if let Some(d) = all.get(&id) {
                    d.counters.set(a, i);
                }
            }
            Op::Overload(id, on) => {
                if let Some(d) = all.get(&id) {
                    d.counters.set_overloaded(on);
                }
            }
            Op::Weight(id, w) => {
                if let Some(d) = dests.iter_mut().find(|d| d.id == id) {
                    d.weight = w;
                    sched.update(&dests, Change::Edited(id));
                }
            }
            Op::Remove(id) => {
                if let Some(p) = dests.iter().position(|d| d.id == id) {
                    let d = dests.remove(p);
                    model.trash.insert(
                        id,
                        Gone {
                            weight: d.weight,
                            counters: Arc::clone(&d.counters),
                        },
                    );
                    sched.update(&dests, Change::Removed(id));
                }
            }
            Op::Add(id, w) => {
                if !dests.iter().any(|d| d.id == id) {
                    let mut d = all.get(&id).cloned().unwrap_or_else(|| rs(id, w));
                    d.weight = w;
                    all.insert(id, d.clone());
                    model.trash.remove(&id);
                    dests.insert(0, d);
                    crate::watch_loads(&dests);
                    sched.update(&dests, Change::Added(id));
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn lblc_matches_the_model(ops in prop::collection::vec(op(), 0..100)) {
        run("lblc", &ops)?;
    }

    #[test]
    fn lblcr_matches_the_model(ops in prop::collection::vec(op(), 0..100)) {
        run("lblcr", &ops)?;
    }
}
