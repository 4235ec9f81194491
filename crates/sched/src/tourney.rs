//! The scans of `lc`, `wlc`, `sed`, `nq`, `fo` and `ovf` as a tournament tree, so that a decision
//! costs O(1) plus O(log n) per real server whose load changed since the last one, instead of
//! reading all n servers' counters.
//!
//! Each of those kernel scans walks the list from the head, keeps the first usable server and
//! replaces it only by a strictly better one: the result is the first, in list order, of the
//! best usable servers under a fixed order ("better" never depends on which server came first
//! except through that tie rule). A binary tree over the list positions whose every node holds
//! the winner of its two children (the left one unless the right one is strictly better) has
//! that same server at its root. The leaves are snapshots of each server's weight, counts and
//! flag, refreshed from the service's load log (`load.rs`) before each decision.
//!
//! Where the kernel's integer arithmetic leaves that fixed order (a weight-0 server whose `int`
//! overhead has overflowed to a negative value under `wlc`, or negative weights, which the
//! kernel refuses anyway), the scheduler scans instead, so the decision stays the kernel's.

use crate::load::{Drained, LoadView};
use crate::{overhead, Dest};

/// Which scan the tree reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rule {
    /// `ip_vs_lc_schedule`: least overhead, compared unsigned.
    Lc,
    /// `ip_vs_wlc_schedule`: least overhead per weight (overhead as the kernel's `int`).
    Wlc,
    /// `ip_vs_sed_schedule`: least (active + 1) per weight.
    Sed,
    /// `ip_vs_nq_schedule`: the first idle server, else as `sed`.
    Nq,
    /// `ip_vs_fo_schedule`: highest weight.
    Fo,
    /// `ip_vs_ovf_schedule`: highest weight among servers with active <= weight.
    Ovf,
}

const NONE: u32 = u32::MAX;

/// One real server as the tree last saw it.
#[derive(Clone, Copy, Debug, Default)]
struct Leaf {
    /// Takes part in the scan's comparisons (not overloaded, weight as the rule wants...).
    usable: bool,
    /// Would lead the kernel's scan outside the fixed order (see the module doc).
    odd: bool,
    /// The rule's load: overhead, or active + 1.
    load: i64,
    weight: i64,
    /// No active connection (`nq`).
    idle: bool,
}

impl Rule {
    fn leaf(self, d: &Dest) -> Leaf {
        let over = d.is_overloaded();
        let w = d.weight;
        let active = d.counters.active();
        let (usable, load, odd) = match self {
            Rule::Lc => (!over && w != 0, i64::from(overhead(d)), false),
            Rule::Wlc => {
                let load = i64::from(overhead(d) as i32);
                // A later weight-0 server replaces the candidate when `loh * 0 > doh * lw`,
                // i.e. when its overhead is negative; a negative weight flips the comparison.
                (
                    !over && w > 0,
                    load,
                    !over && (w < 0 || (w == 0 && load < 0)),
                )
            }
            Rule::Sed => (
                !over && w > 0,
                i64::from(active.wrapping_add(1)),
                !over && w < 0,
            ),
            Rule::Nq => (
                !over && w != 0,
                i64::from(active.wrapping_add(1)),
                !over && w < 0,
            ),
            Rule::Fo => (!over && w > 0, 0, false),
            Rule::Ovf => (
                !over && w > 0 && i64::from(active) <= i64::from(w),
                0,
                false,
            ),
        };
        Leaf {
            usable,
            odd,
            load,
            weight: i64::from(w),
            idle: active == 0,
        }
    }

    /// Whether `later` strictly beats `earlier`, both usable: the replacement test of the scan.
    fn beats(self, later: &Leaf, earlier: &Leaf) -> bool {
        match self {
            Rule::Lc => later.load < earlier.load,
            // `(s64)loh * dw > (s64)doh * lw`; the loads fit in 33 bits and the weights in 32,
            // so the products fit in i64 as in the kernel.
            Rule::Wlc | Rule::Sed => earlier.load * later.weight > later.load * earlier.weight,
            Rule::Nq => {
                if earlier.idle {
                    false
                } else if later.idle {
                    true
                } else {
                    earlier.load * later.weight > later.load * earlier.weight
                }
            }
            Rule::Fo | Rule::Ovf => later.weight > earlier.weight,
        }
    }
}

/// The tree for one scheduler instance.
#[derive(Debug)]
pub(crate) struct Tourney {
    rule: Rule,
    view: LoadView,
    leaves: Vec<Leaf>,
    /// `nodes[1]` is the root; the children of `k` are `2k` and `2k + 1`; leaf `i` is node
    /// `width + i`. Each holds a list position or [`NONE`].
    nodes: Vec<u32>,
    width: usize,
    /// Leaves with `odd` set: while any, decisions scan.
    odd: usize,
    /// The view and tree match a list whose servers share a log.
    ready: bool,
}

impl Tourney {
    pub(crate) fn new(rule: Rule, dests: &[Dest]) -> Self {
        let mut t = Tourney {
            rule,
            view: LoadView::default(),
            leaves: Vec::new(),
            nodes: Vec::new(),
            width: 0,
            odd: 0,
            ready: false,
        };
        t.rebuild(dests);
        t
    }

    /// Start over from the counters (a new list, or changes lost). O(n).
    pub(crate) fn rebuild(&mut self, dests: &[Dest]) {
        self.ready = self.view.rebuild(dests);
        if !self.ready {
            return;
        }
        self.width = dests.len().next_power_of_two().max(1);
        self.leaves.clear();
        self.leaves.extend(dests.iter().map(|d| self.rule.leaf(d)));
        self.odd = self.leaves.iter().filter(|l| l.odd).count();
        self.nodes.clear();
        self.nodes.resize(2 * self.width, NONE);
        for (i, l) in self.leaves.iter().enumerate() {
            if l.usable {
                if let Some(n) = self.nodes.get_mut(self.width + i) {
                    *n = i as u32;
                }
            }
        }
        for k in (1..self.width).rev() {
            self.fix(k);
        }
    }

    /// The scan's decision if the tree can give it: `Some(pick)`, or None when the caller must
    /// scan (servers not sharing a load log, or the kernel's arithmetic out of order).
    pub(crate) fn pick(&mut self, dests: &[Dest]) -> Option<Option<usize>> {
        if !self.view.is_for(dests) {
            self.rebuild(dests);
            if !self.ready {
                return None;
            }
        }
        let mut changed = std::mem::take(&mut self.view);
        let drained = changed.drain(|i| self.refresh(dests, i));
        self.view = changed;
        if let Drained::Rebuild = drained {
            self.rebuild(dests);
        }
        if !self.ready || self.odd > 0 {
            return None;
        }
        let root = self.nodes.get(1).copied().unwrap_or(NONE);
        Some((root != NONE).then_some(root as usize))
    }

    /// Re-read server `i` and replay the matches on its way to the root.
    fn refresh(&mut self, dests: &[Dest], i: usize) {
        let (Some(d), Some(old)) = (dests.get(i), self.leaves.get(i).copied()) else {
            return;
        };
        let new = self.rule.leaf(d);
        self.odd = self.odd + usize::from(new.odd) - usize::from(old.odd);
        if let Some(l) = self.leaves.get_mut(i) {
            *l = new;
        }
        let mut k = self.width + i;
        if let Some(n) = self.nodes.get_mut(k) {
            *n = if new.usable { i as u32 } else { NONE };
        }
        while k > 1 {
            k /= 2;
            self.fix(k);
        }
    }

    /// Node `k` = the winner of its children: the left (earlier) one unless the right one is
    /// strictly better.
    fn fix(&mut self, k: usize) {
        let left = self.nodes.get(2 * k).copied().unwrap_or(NONE);
        let right = self.nodes.get(2 * k + 1).copied().unwrap_or(NONE);
        let win = match (
            self.leaves.get(left as usize),
            self.leaves.get(right as usize),
        ) {
            (None, _) => right,
            (_, None) => left,
            (Some(l), Some(r)) => {
                if self.rule.beats(r, l) {
                    right
                } else {
                    left
                }
            }
        };
        if let Some(n) = self.nodes.get_mut(k) {
            *n = win;
        }
    }
}
