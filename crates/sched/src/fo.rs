//! Weighted failover, as `ip_vs_fo.c`: all new connections go to the available server with the
//! highest weight. Available = not overloaded; weight 0 never qualifies (the running maximum
//! starts at 0 and must be beaten strictly), and of equal weights the first in list order wins.

use crate::tourney::{Rule, Tourney};
use crate::{Change, Dest, SchedInput, Scheduler};

pub(crate) struct WeightedFailover {
    /// The same decisions without the scan, when the servers share a load log.
    tree: Tourney,
}

impl WeightedFailover {
    pub(crate) fn new(dests: &[Dest]) -> Self {
        WeightedFailover {
            tree: Tourney::new(Rule::Fo, dests),
        }
    }
}

impl Scheduler for WeightedFailover {
    fn name(&self) -> &'static str {
        "fo"
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
    // ip_vs_fo_schedule: hw starts at 0, `weight > hw` replaces. The weight is tested
    // first (same result, no side effects) so that the shared flag is read only for a
    // server that could win.
    let mut best: Option<usize> = None;
    let mut hw = 0;
    for (i, d) in dests.iter().enumerate() {
        if d.weight > hw && !d.is_overloaded() {
            best = Some(i);
            hw = d.weight;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use crate::testutil::Svc;

    #[test]
    fn highest_weight_takes_everything() {
        let mut s = Svc::in_place("fo", &[(1, 10), (2, 50), (3, 20)]);
        assert_eq!(s.picks(3), vec![2, 2, 2]);
        // Failover when it is overloaded (or quiesced).
        s.set_overloaded(2, true);
        assert_eq!(s.pick(), Some(3));
        s.set_overloaded(2, false).set_weight(2, 0);
        assert_eq!(s.pick(), Some(3));
        // Load does not matter.
        s.counters(3, 1000, 1000);
        assert_eq!(s.pick(), Some(3));
    }

    #[test]
    fn equal_weights_go_to_the_first_in_list_order() {
        // Added 1 then 2: list [2, 1]; `weight > hw` keeps the first.
        let mut s = Svc::new("fo");
        s.add_all(&[(1, 5), (2, 5)]);
        assert_eq!(s.pick(), Some(2));
    }

    #[test]
    fn no_positive_weight_no_destination() {
        let mut s = Svc::in_place("fo", &[(1, 0), (2, 3)]);
        s.set_overloaded(2, true);
        assert_eq!(s.pick(), None);
    }
}
