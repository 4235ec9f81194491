//! Power of two choices, as `ip_vs_twos.c` (Linux 6.2 and later).
//!
//! Two real servers are drawn at random, each with probability proportional to its weight
//! (plus one extra chance for the first, see below), and the one with the lower
//! `overhead / weight` wins. Overloaded and weight-0 servers are never drawn.
//!
//! The kernel draws `rweight1` and `rweight2` with `get_random_u32_below(total_weight + 1)`
//! (inclusive of the sum of the weights, so the first server in list order has one chance more
//! than its weight), then walks the list subtracting weights; a choice is the first server at
//! which its number drops to 0 or below.
//!
//! # Determinism
//! The kernel's numbers come from its CSPRNG; rvs takes them from a [`RandomSource`], by default
//! [`SplitMix64`] seeded from [`crate::SchedParams::seed`], so a replay makes the same decisions
//! every time. Given the same stream of 32-bit numbers as the kernel's `get_random_u32`, the
//! decisions are the kernel's: `get_random_u32_below` is reproduced (Lemire's multiply-and-reject
//! as in drivers/char/random.c), as is the `int` arithmetic of the comparison.

use crate::load::{Drained, LoadView};
use crate::{overhead, Change, Dest, SchedInput, Scheduler};

/// A source of uniformly random 32-bit numbers, as the kernel's `get_random_u32`.
pub trait RandomSource: Send {
    /// The next number.
    fn next_u32(&mut self) -> u32;
}

/// SplitMix64 (Steele, Lea and Flood 2014; the generator `java.util.SplittableRandom` uses):
/// small, fast, and good enough to spread connections; the upper half of each output is used.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl RandomSource for SplitMix64 {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
}

/// `get_random_u32_below(ceil)` (drivers/char/random.c `__get_random_u32_below`): the high
/// half of `ceil * rand`, redrawing while the low half falls under `2^32 mod ceil`.
pub(crate) fn below(rng: &mut dyn RandomSource, ceil: u32) -> u32 {
    let rand = rng.next_u32();
    if ceil == 0 {
        return rand;
    }
    let mut mult = u64::from(ceil) * u64::from(rand);
    if (mult as u32) < ceil {
        // `-ceil % ceil` in 32 bits = 2^32 mod ceil.
        let bound = ceil.wrapping_neg() % ceil;
        // The kernel redraws until it passes (a chance below ceil / 2^32 each time). A broken
        // source repeating a rejected number would loop for ever: give up after 64 redraws,
        // which a uniform source reaches with probability below 2^-64 * 64.
        let mut tries = 0;
        while (mult as u32) < bound && tries < 64 {
            mult = u64::from(ceil) * u64::from(rng.next_u32());
            tries += 1;
        }
    }
    (mult >> 32) as u32
}

pub(crate) struct TwoChoices {
    rng: Box<dyn RandomSource>,
    /// Prefix sums of the usable weights, kept from the service's load log.
    index: WeightIndex,
    /// Whether to use `index` (tests turn it off to compare with the literal walk).
    indexed: bool,
}

impl TwoChoices {
    pub(crate) fn new(rng: Box<dyn RandomSource>) -> Self {
        TwoChoices {
            rng,
            index: WeightIndex::default(),
            indexed: true,
        }
    }

    /// A `twos` that always walks the list as the kernel does (the reference in tests).
    #[cfg(test)]
    pub(crate) fn walking(rng: Box<dyn RandomSource>) -> Self {
        TwoChoices {
            indexed: false,
            ..TwoChoices::new(rng)
        }
    }
}

/// `ip_vs_dest_conn_overhead` as the kernel's `int`.
fn overhead_int(d: &Dest) -> i32 {
    overhead(d) as i32
}

/// Whether the kernel's walk counts `d`.
fn usable(d: &Dest) -> bool {
    !d.is_overloaded() && d.weight > 0
}

impl Scheduler for TwoChoices {
    fn name(&self) -> &'static str {
        "twos"
    }

    fn schedule(&mut self, dests: &[Dest], _input: &SchedInput, _now_ns: u64) -> Option<usize> {
        let total = if self.indexed {
            self.index.total(dests)
        } else {
            None
        };
        let (i1, i2) = match total {
            Some(total) => {
                // The walk below, as a search in the prefix sums: the first usable server at
                // which the number drops to 0 or below is the first whose inclusive prefix sum
                // reaches it (and for a draw of 0, the first usable server: prefix sum >= 1).
                if total == 0 {
                    return None;
                }
                let ceil = (total as i32).wrapping_add(1) as u32;
                let r1 = below(self.rng.as_mut(), ceil);
                let r2 = below(self.rng.as_mut(), ceil);
                (
                    self.index.find(i64::from(r1).max(1))?,
                    self.index.find(i64::from(r2).max(1))?,
                )
            }
            None => self.walk(dests)?,
        };
        let (d1, d2) = (dests.get(i1)?, dests.get(i2)?);
        let (weight1, overhead1) = (d1.weight, overhead_int(d1));
        let (weight2, overhead2) = (d2.weight, overhead_int(d2));
        // `weight2 * overhead1 > weight1 * overhead2` in int: choice2 is less loaded.
        if weight2.wrapping_mul(overhead1) > weight1.wrapping_mul(overhead2) {
            Some(i2)
        } else {
            Some(i1)
        }
    }

    fn update(&mut self, dests: &[Dest], _change: Change) {
        self.index.rebuild(dests);
    }
}

impl TwoChoices {
    /// `ip_vs_twos_schedule`'s two passes over the list, literally: the two choices.
    fn walk(&mut self, dests: &[Dest]) -> Option<(usize, usize)> {
        // First pass: the sum of the usable weights (int, wrapping as the kernel's).
        let mut total_weight: i32 = 0;
        let mut any = false;
        for d in dests {
            if usable(d) {
                total_weight = total_weight.wrapping_add(d.weight);
                any = true;
            }
        }
        if !any {
            return None;
        }
        // "Add 1 to total_weight so that the random weights are inclusive".
        let total_weight = total_weight.wrapping_add(1);
        let mut rweight1 = below(self.rng.as_mut(), total_weight as u32) as i32;
        let mut rweight2 = below(self.rng.as_mut(), total_weight as u32) as i32;
        let mut choice1 = None;
        let mut choice2 = None;
        for (i, d) in dests.iter().enumerate() {
            if !usable(d) {
                continue;
            }
            rweight1 = rweight1.wrapping_sub(d.weight);
            rweight2 = rweight2.wrapping_sub(d.weight);
            if rweight1 <= 0 && choice1.is_none() {
                choice1 = Some(i);
            }
            if rweight2 <= 0 && choice2.is_none() {
                choice2 = Some(i);
            }
            if choice1.is_some() && choice2.is_some() {
                break;
            }
        }
        // Both numbers are at most the sum of the weights, so both choices are made (unless
        // the int sum wrapped, where the kernel would dereference NULL; rvs picks choice1).
        let c1 = choice1?;
        Some((c1, choice2.unwrap_or(c1)))
    }
}

/// Add `delta` at position `i` of a 1-based Fenwick array.
fn fenwick_add(fenwick: &mut [i64], i: usize, delta: i64) {
    let mut k = i + 1;
    while let Some(f) = fenwick.get_mut(k) {
        *f += delta;
        k += k & k.wrapping_neg();
    }
}

/// The usable weights of the list in a Fenwick tree (prefix sums in O(log n)), kept up to date
/// from the service's load log: only a change of the overload flag moves a server in or out,
/// and weights change through [`Scheduler::update`].
#[derive(Debug, Default)]
struct WeightIndex {
    view: LoadView,
    /// The weight each position contributes now (0 when not usable).
    weights: Vec<i64>,
    /// 1-based Fenwick array over `weights`.
    fenwick: Vec<i64>,
    total: i64,
    ready: bool,
}

impl WeightIndex {
    fn rebuild(&mut self, dests: &[Dest]) {
        self.ready = self.view.rebuild(dests);
        if !self.ready {
            return;
        }
        self.weights.clear();
        self.weights.extend(
            dests
                .iter()
                .map(|d| if usable(d) { i64::from(d.weight) } else { 0 }),
        );
        let n = self.weights.len();
        self.fenwick.clear();
        self.fenwick.resize(n + 1, 0);
        for (i, &w) in self.weights.iter().enumerate() {
            fenwick_add(&mut self.fenwick, i, w);
        }
        self.total = self.weights.iter().sum();
    }

    /// The sum of the usable weights, after replaying the log; None when the kernel's int sum
    /// would wrap or the servers do not share a log (the caller walks the list instead).
    fn total(&mut self, dests: &[Dest]) -> Option<i64> {
        if !self.view.is_for(dests) {
            self.rebuild(dests);
        }
        if !self.ready {
            return None;
        }
        let mut view = std::mem::take(&mut self.view);
        let drained = view.drain(|i| {
            let now = dests
                .get(i)
                .map_or(0, |d| if usable(d) { i64::from(d.weight) } else { 0 });
            let before = self.weights.get(i).copied().unwrap_or(0);
            if now != before {
                if let Some(w) = self.weights.get_mut(i) {
                    *w = now;
                }
                fenwick_add(&mut self.fenwick, i, now - before);
                self.total += now - before;
            }
        });
        self.view = view;
        if let Drained::Rebuild = drained {
            self.rebuild(dests);
        }
        (self.ready && self.total < i64::from(i32::MAX)).then_some(self.total)
    }

    /// The first position whose inclusive prefix sum reaches `r` (1 <= r <= total).
    fn find(&self, r: i64) -> Option<usize> {
        let n = self.fenwick.len().saturating_sub(1);
        let mut pos = 0;
        let mut rem = r;
        let mut step = n.checked_next_power_of_two().unwrap_or(0);
        while step > 0 {
            let next = pos + step;
            if let Some(&f) = self.fenwick.get(next) {
                if next <= n && f < rem {
                    pos = next;
                    rem -= f;
                }
            }
            step /= 2;
        }
        (pos < n).then_some(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{input_from, rs};
    use std::collections::VecDeque;

    /// Numbers as given, then zeros.
    struct Script(VecDeque<u32>);

    impl RandomSource for Script {
        fn next_u32(&mut self) -> u32 {
            self.0.pop_front().unwrap_or(0)
        }
    }

    fn twos(script: &[u32]) -> TwoChoices {
        TwoChoices::new(Box::new(Script(script.iter().copied().collect())))
    }

    /// A u32 that `get_random_u32_below(ceil)` maps to `r` at once (no redraw).
    fn draw(r: u32, ceil: u32) -> u32 {
        // high half of ceil * x = r  <=>  x in [r * 2^32 / ceil, (r + 1) * 2^32 / ceil): take
        // the middle, whose low half is far above the rejection bound.
        let x = (((u64::from(r) << 32) + (1 << 31)) / u64::from(ceil)) as u32;
        let mult = u64::from(ceil) * u64::from(x);
        assert_eq!((mult >> 32) as u32, r);
        assert!(mult as u32 >= ceil);
        x
    }

    fn pick(t: &mut TwoChoices, dests: &[Dest]) -> Option<u32> {
        let i = t.schedule(dests, &input_from("1.2.3.4", 1), 0)?;
        Some(dests[i].id)
    }

    #[test]
    fn below_is_the_kernels_multiply_shift() {
        // __get_random_u32_below: (ceil * rand) >> 32, no redraw when the low half >= ceil.
        let mut s = Script([0x8000_0001u32].into_iter().collect());
        assert_eq!(below(&mut s, 10), 5);
        // 0x8000_0000 * 10 = 5 * 2^32 exactly: low half 0 < bound 6, redrawn (then 0x1999_999a
        // * 10 = 2^32 + 4: low half 4 < 6, redrawn again; 0x1999_999b -> 1).
        let mut s = Script(
            [0x8000_0000u32, 0x1999_999a, 0x1999_999b]
                .into_iter()
                .collect(),
        );
        assert_eq!(below(&mut s, 10), 1);
        let mut s = Script([u32::MAX].into_iter().collect());
        assert_eq!(below(&mut s, 7), 6);
        // ceil 0 returns the raw number.
        let mut s = Script([1234].into_iter().collect());
        assert_eq!(below(&mut s, 0), 1234);
        // Rejection: ceil 3, bound = 2^32 mod 3 = 1. rand 0 gives low half 0 < 1: redraw.
        let mut s = Script([0, 0x5555_5556].into_iter().collect());
        assert_eq!(below(&mut s, 3), 1);
        // A source stuck on a rejected number does not hang the worker.
        let mut s = Script(VecDeque::new());
        assert_eq!(below(&mut s, 3), 0);
    }

    #[test]
    fn draws_walk_the_list_subtracting_weights() {
        // ip_vs_twos_schedule: list [1 (w2), 2 (w3), 3 (w5)], total 10 + 1 = 11.
        // rweight 0..=2 -> 1 (the first server has one chance more), 3..=5 -> 2, 6..=10 -> 3.
        let dests = vec![rs(1, 2), rs(2, 3), rs(3, 5)];
        for (r1, want) in [(0, 1), (2, 1), (3, 2), (5, 2), (6, 3), (10, 3)] {
            // Both draws equal: that server.
            let mut t = twos(&[draw(r1, 11), draw(r1, 11)]);
            assert_eq!(pick(&mut t, &dests), Some(want), "rweight {r1}");
        }
    }

    #[test]
    fn the_less_loaded_per_weight_of_the_two_wins() {
        // choice1 = 1 (w2), choice2 = 3 (w5). Overheads 256 and 512:
        // weight2 * overhead1 = 5 * 256 = 1280 > weight1 * overhead2 = 2 * 512 = 1024 -> 3.
        let dests = vec![rs(1, 2), rs(2, 3), rs(3, 5)];
        dests[0].counters.set(1, 0);
        dests[2].counters.set(2, 0);
        let mut t = twos(&[draw(0, 11), draw(10, 11)]);
        assert_eq!(pick(&mut t, &dests), Some(3));
        // Equal load per weight: 5 * 512 = 2 * 1280 -> not strictly greater, choice1 stays.
        dests[0].counters.set(2, 0);
        dests[2].counters.set(5, 0);
        let mut t = twos(&[draw(0, 11), draw(10, 11)]);
        assert_eq!(pick(&mut t, &dests), Some(1));
        // Same numbers swapped: choice1 = 3, choice2 = 1; 2 * 1280 > 5 * 512 false -> 3.
        let mut t = twos(&[draw(10, 11), draw(0, 11)]);
        assert_eq!(pick(&mut t, &dests), Some(3));
    }

    #[test]
    fn overloaded_and_quiescent_servers_are_not_drawn() {
        let dests = vec![rs(1, 2), rs(2, 0), rs(3, 5)];
        dests[0].counters.set_overloaded(true);
        // Only 3 counts: total 5 + 1 = 6, every draw lands on 3.
        for r in 0..6 {
            let mut t = twos(&[draw(r, 6), draw(5 - r, 6)]);
            assert_eq!(pick(&mut t, &dests), Some(3));
        }
        dests[2].counters.set_overloaded(true);
        let mut t = twos(&[]);
        assert_eq!(pick(&mut t, &dests), None);
        assert_eq!(pick(&mut t, &[]), None);
    }

    #[test]
    fn seeded_source_is_deterministic_and_spreads_by_weight() {
        let dests = vec![rs(1, 1), rs(2, 3)];
        let run = |seed| {
            let mut t = TwoChoices::new(Box::new(SplitMix64::new(seed)));
            (0..4000)
                .map(|_| pick(&mut t, &dests).expect("available"))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        // Idle servers (overhead 0): choice2 never wins, so choice1's distribution shows:
        // 1 with (1 + 1) / 5, 2 with 3 / 5.
        let ones = run(7).iter().filter(|&&id| id == 1).count();
        assert!((1400..1800).contains(&ones), "{ones}");
    }

    #[test]
    fn splitmix64_reference_outputs() {
        // SplitMix64 with seed 0: first outputs e220a8397b1dcdaf, 6e789e6aa1b965f4 (as in the
        // reference implementation by Vigna); next_u32 keeps the upper halves.
        let mut g = SplitMix64::new(0);
        assert_eq!(g.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(g.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        let mut g = SplitMix64::new(0);
        assert_eq!(g.next_u32(), 0xe220_a839);
    }
}
