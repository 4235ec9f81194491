//! Overflow, as `ip_vs_ovf.c`: the server with the highest weight gets new connections while
//! its active connections do not exceed its weight; then the next highest, and so on. Skipped:
//! overloaded servers, weight 0, and servers with `activeconns > weight`; of equal weights the
//! first in list order wins. Inactive connections do not count.

use crate::tourney::{Rule, Tourney};
use crate::{Change, Dest, SchedInput, Scheduler};

pub(crate) struct Overflow {
    /// The same decisions without the scan, when the servers share a load log.
    tree: Tourney,
}

impl Overflow {
    pub(crate) fn new(dests: &[Dest]) -> Self {
        Overflow {
            tree: Tourney::new(Rule::Ovf, dests),
        }
    }
}

impl Scheduler for Overflow {
    fn name(&self) -> &'static str {
        "ovf"
    }

    fn schedule(&mut self, dests: &[Dest], _input: &SchedInput, _now_ns: u64) -> Option<usize> {
        if let Some(pick) = self.tree.pick(dests) {
            return pick;
        }
        scan(dests)
    }

    fn update(&mut self, dests: &[Dest], _change: Change) {
        self.tree.rebuild(dests);
    }
}

/// The kernel's scan, server by server.
pub(crate) fn scan(dests: &[Dest]) -> Option<usize> {
    // ip_vs_ovf_schedule: `!h || w > hw` replaces. A server that could not replace the
    // current one whatever its state is passed over before its shared counters are read
    // (same result: the skip tests have no side effects).
    // Weights are never negative, so `hw` = 0 before the first hit lets every server with
    // weight > 0 through, as `!h` does.
    let mut best: Option<usize> = None;
    let mut hw = 0;
    for (i, d) in dests.iter().enumerate() {
        let w = d.weight;
        if w <= hw {
            continue;
        }
        if d.is_overloaded() || i64::from(d.counters.active()) > i64::from(w) {
            continue;
        }
        best = Some(i);
        hw = w;
    }
    best
}

#[cfg(test)]
mod tests {
    use crate::testutil::Svc;

    #[test]
    fn overflows_to_the_next_weight_when_active_exceeds_weight() {
        let mut s = Svc::in_place("ovf", &[(1, 2), (2, 5), (3, 3)]);
        assert_eq!(s.pick(), Some(2));
        // active == weight is still fine (`activeconns > w` skips).
        s.counters(2, 5, 100);
        assert_eq!(s.pick(), Some(2));
        s.counters(2, 6, 0);
        assert_eq!(s.pick(), Some(3));
        s.counters(3, 4, 0);
        assert_eq!(s.pick(), Some(1));
        s.counters(1, 3, 0);
        assert_eq!(s.pick(), None);
    }

    #[test]
    fn skips_overloaded_and_quiescent_ties_to_first() {
        let mut s = Svc::in_place("ovf", &[(1, 0), (2, 4), (3, 4), (4, 9)]);
        s.set_overloaded(4, true);
        assert_eq!(s.pick(), Some(2));
        s.counters(2, 5, 0);
        assert_eq!(s.pick(), Some(3));
    }
}
