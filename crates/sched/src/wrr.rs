//! Weighted round-robin, as `ip_vs_wrr.c`.
//!
//! State (`struct ip_vs_wrr_mark`): `cl`, the last server chosen or the list head; `cw`, the
//! current weight threshold; `mw`, the maximum weight lowered by `di - 1`; `di`, the gcd of the
//! positive weights. A pick scans forward from `cl` for a server with weight >= `cw` and no
//! overload flag; each time the scan passes the list head `cw` drops by `di`, and when it reaches
//! 0 or below it starts over at `mw`. Lowering `mw` by `di - 1` makes the last pass run at
//! `cw` = 1, so a server whose weight fell below `di` is still found.
//!
//! Every add, remove and edit (`ip_vs_wrr_dest_changed`) recomputes `di` and `mw`, puts `cl`
//! back at the head, and clamps `cw`: to `mw` if it exceeds it (or was 0), else, when `di > 1`,
//! to `(cw / di) * di + 1`. So a service built server by server keeps the `cw` of its first
//! server rather than starting at the largest weight ([`Change::Reset`] starts at `mw`).
//!
//! Cost: when the heavy servers are overloaded a pick may walk the list up to `mw / di` times
//! before reaching a light one, as in the kernel (ipvsadm caps weights at 65535).

use crate::{Change, Dest, Mark, SchedInput, Scheduler};

pub(crate) struct WeightedRoundRobin {
    /// The last server chosen; None = the list head.
    cl: Option<Mark>,
    cw: i32,
    mw: i32,
    di: i32,
}

fn gcd(mut a: i32, mut b: i32) -> i32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `ip_vs_wrr_gcd_weight`: gcd of the positive weights, 1 when there are none.
fn gcd_weight(dests: &[Dest]) -> i32 {
    let g = dests
        .iter()
        .map(|d| d.weight)
        .filter(|&w| w > 0)
        .fold(0, |g, w| if g > 0 { gcd(w, g) } else { w });
    if g == 0 {
        1
    } else {
        g
    }
}

/// `ip_vs_wrr_max_weight`: the largest weight, 0 when none is positive.
fn max_weight(dests: &[Dest]) -> i32 {
    dests.iter().map(|d| d.weight).fold(0, i32::max)
}

impl WeightedRoundRobin {
    /// `ip_vs_wrr_init_svc`.
    pub(crate) fn new(dests: &[Dest]) -> Self {
        let di = gcd_weight(dests);
        let mw = max_weight(dests) - (di - 1);
        WeightedRoundRobin {
            cl: None,
            cw: mw,
            mw,
            di,
        }
    }
}

impl Scheduler for WeightedRoundRobin {
    fn name(&self) -> &'static str {
        "wrr"
    }

    fn schedule(&mut self, dests: &[Dest], _input: &SchedInput, _now_ns: u64) -> Option<usize> {
        // err_noavail: no positive weight at the last update; cl stays.
        if self.mw == 0 {
            return None;
        }
        // A cursor whose server has vanished without an update acts as the list head.
        let mut pos = self.cl.and_then(|m| m.locate(dests));
        let last = pos;
        let mut stop: Option<usize> = None;
        let mut last_pass = false;
        let mut restarted = false;
        loop {
            let from = pos.map_or(0, |p| p + 1);
            for (i, d) in dests.iter().enumerate().skip(from) {
                if !d.is_overloaded() && d.weight >= self.cw {
                    self.cl = Some(Mark { id: d.id, hint: i });
                    return Some(i);
                }
                if stop == Some(i) {
                    // err_over: all checked down to weight >= 1; cl = where we stopped.
                    self.cl = Some(Mark { id: d.id, hint: i });
                    return None;
                }
            }
            // Passed the list head.
            pos = None;
            self.cw -= self.di;
            if self.cw <= 0 {
                self.cw = self.mw;
                // Stop if the last pass (down to weight 1) already covered every server: either
                // it ran from the head, or it followed a pass that started from the head.
                if last_pass || last.is_none() {
                    // err_over with the scan at the head: cl = the head.
                    self.cl = None;
                    return None;
                }
                restarted = true;
            }
            last_pass = self.cw <= self.di;
            if last_pass && restarted && last.is_some() {
                // The first low pass only covered the servers after `last`; cover the rest.
                stop = last;
            }
        }
    }

    fn update(&mut self, dests: &[Dest], change: Change) {
        self.cl = None;
        self.di = gcd_weight(dests);
        self.mw = max_weight(dests) - (self.di - 1);
        if change == Change::Reset {
            // ip_vs_wrr_init_svc.
            self.cw = self.mw;
        } else if self.cw > self.mw || self.cw == 0 {
            // ip_vs_wrr_dest_changed.
            self.cw = self.mw;
        } else if self.di > 1 {
            self.cw = (self.cw / self.di) * self.di + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{rs, Svc};

    fn svc(servers: &[(u32, i32)]) -> Svc {
        Svc::in_place("wrr", servers)
    }

    #[test]
    fn classic_4_3_2_sequence() {
        // ip_vs_wrr_schedule with di = 1, mw = 4: passes at cw = 4, 3, 2, 1.
        let mut s = svc(&[(1, 4), (2, 3), (3, 2)]);
        let cycle = [1, 1, 2, 1, 2, 3, 1, 2, 3];
        let mut want = cycle.to_vec();
        want.extend(cycle);
        assert_eq!(s.picks(18), want);
    }

    #[test]
    fn service_built_server_by_server_starts_at_the_first_servers_weight() {
        // ipvsadm -A ... -s wrr, then -a RS3 -w 2, -a RS2 -w 3, -a RS1 -w 4 (list [1, 2, 3]).
        // ip_vs_wrr_dest_changed sets cw = mw only while cw is 0 or above mw: the first add
        // makes cw = 2 - (2 - 1) = 1 (di = 2), and the later adds (di = 1) keep it. So the first
        // round runs at cw = 1 before the classic cycle from cw = mw = 4.
        let mut s = Svc::new("wrr");
        s.add_all(&[(3, 2), (2, 3), (1, 4)]);
        assert_eq!(s.ids(), vec![1, 2, 3]);
        let cycle = [1, 1, 2, 1, 2, 3, 1, 2, 3];
        let mut want = vec![1, 2, 3];
        want.extend(cycle);
        want.extend(cycle);
        assert_eq!(s.picks(21), want);
    }

    #[test]
    fn reset_starts_over_at_the_largest_weight() {
        // init_service: cl = head, cw = mw.
        let mut s = Svc::new("wrr");
        s.add_all(&[(3, 2), (2, 3), (1, 4)]);
        s.sched.update(&s.dests, Change::Reset);
        assert_eq!(s.picks(9), vec![1, 1, 2, 1, 2, 3, 1, 2, 3]);
    }

    #[test]
    fn list_order_decides_who_leads_a_pass() {
        // Added 1 then 2 with equal weights: the list is [2, 1] and 2 leads (list_add_rcu).
        let mut s = Svc::new("wrr");
        s.add(rs(1, 5)).add(rs(2, 5));
        // di = 5, mw = 5 - 4 = 1: a plain round-robin.
        assert_eq!(s.picks(4), vec![2, 1, 2, 1]);
    }

    #[test]
    fn gcd_step_with_common_divisor() {
        // Weights 4 and 2: di = 2, mw = 4 - 1 = 3; passes at cw = 3 and 1.
        let mut s = svc(&[(1, 4), (2, 2)]);
        assert_eq!(s.picks(6), vec![1, 1, 2, 1, 1, 2]);
    }

    #[test]
    fn weight_change_restarts_from_the_head_keeping_cw() {
        // ip_vs_wrr_dest_changed: cl = head; di stays 1 so cw (2) is kept.
        let mut s = svc(&[(1, 4), (2, 3), (3, 2)]);
        assert_eq!(s.picks(4), vec![1, 1, 2, 1]); // now cw = 2, cl = 1
        s.set_weight(3, 4);
        assert_eq!(
            s.picks(17),
            vec![1, 2, 3, 1, 2, 3, 1, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]
        );
    }

    #[test]
    fn removal_rounds_cw_onto_the_new_gcd_grid() {
        // After 4 picks cw = 2. Removing weight 3 leaves 4 and 2: di = 2, mw = 3, and
        // cw = (2 / 2) * 2 + 1 = 3.
        let mut s = svc(&[(1, 4), (2, 3), (3, 2)]);
        assert_eq!(s.picks(4), vec![1, 1, 2, 1]);
        s.remove(2);
        assert_eq!(s.picks(6), vec![1, 1, 3, 1, 1, 3]);
    }

    #[test]
    fn cw_above_new_max_resets_to_max() {
        let mut s = svc(&[(1, 4), (2, 1)]);
        assert_eq!(s.picks(1), vec![1]); // cw = 4
        s.set_weight(1, 2); // mw = 2 < cw
        assert_eq!(s.picks(6), vec![1, 1, 2, 1, 1, 2]);
    }

    #[test]
    fn added_server_joins_at_the_head() {
        let mut s = Svc::new("wrr");
        s.add(rs(1, 2));
        assert_eq!(s.picks(2), vec![1, 1]);
        s.add(rs(2, 2)); // list [2, 1], cl = head
        assert_eq!(s.picks(4), vec![2, 1, 2, 1]);
    }

    #[test]
    fn quiescent_and_overloaded_skipped() {
        let mut s = svc(&[(1, 2), (2, 0), (3, 1), (4, 3)]);
        s.set_overloaded(4, true);
        // mw = 3 (weight 3 still counts for mw), cw steps 3, 2, 1.
        assert_eq!(s.picks(6), vec![1, 1, 3, 1, 1, 3]);
    }

    #[test]
    fn all_weights_zero_means_no_destination() {
        // mw == 0 -> err_noavail.
        let mut s = Svc::new("wrr");
        s.add_all(&[(2, 0), (1, 0)]);
        assert_eq!(s.picks(2), vec![0, 0]);
        s.set_weight(2, 1);
        assert_eq!(s.picks(2), vec![2, 2]);
    }

    #[test]
    fn all_overloaded_then_cursor_is_left_at_the_head() {
        // err_over from the cw <= 0 branch leaves cl at the head (dest is the head there), and
        // cw = mw; the next pick therefore starts over from the first server.
        let mut s = svc(&[(1, 2), (2, 1), (3, 2)]);
        assert_eq!(s.picks(1), vec![1]); // cl = 1, cw = 2
        for id in [1, 2, 3] {
            s.set_overloaded(id, true);
        }
        assert_eq!(s.picks(1), vec![0]);
        for id in [1, 2, 3] {
            s.set_overloaded(id, false);
        }
        // Had cl stayed on 1, the next pick would have been 3.
        assert_eq!(s.picks(7), vec![1, 3, 1, 2, 3, 1, 3]);
    }

    #[test]
    fn all_overloaded_after_restart_stops_at_last() {
        // Equal weights: di = 3, mw = 1, every pass runs at cw = 1. With cl on 2 the search
        // restarts, sets stop = last and ends on it (err_over), keeping cl on 2.
        let mut s = svc(&[(1, 3), (2, 3), (3, 3)]);
        assert_eq!(s.picks(2), vec![1, 2]);
        for id in [1, 2, 3] {
            s.set_overloaded(id, true);
        }
        assert_eq!(s.picks(1), vec![0]);
        s.set_overloaded(1, false).set_overloaded(3, false);
        assert_eq!(s.picks(3), vec![3, 1, 3]);
    }

    #[test]
    fn only_available_server_before_cursor_is_found() {
        // The stop/restart logic must still reach a server placed before the cursor.
        let mut s = svc(&[(1, 1), (2, 4), (3, 4)]);
        assert_eq!(s.picks(2), vec![2, 3]); // cl = 3, cw = 4
        s.set_overloaded(2, true).set_overloaded(3, true);
        assert_eq!(s.picks(3), vec![1, 1, 1]);
    }

    #[test]
    fn init_with_servers_in_place() {
        let dests = vec![rs(1, 4), rs(2, 3), rs(3, 2)];
        let mut w = WeightedRoundRobin::new(&dests);
        assert_eq!((w.di, w.mw, w.cw), (1, 4, 4));
        let input = crate::testutil::input_from("1.1.1.1", 1);
        let got: Vec<_> = (0..9)
            .map(|_| w.schedule(&dests, &input, 0).map(|i| dests[i].id))
            .collect();
        let want: Vec<_> = [1, 1, 2, 1, 2, 3, 1, 2, 3].into_iter().map(Some).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn gcd_and_max_helpers() {
        let dests = vec![rs(1, 0), rs(2, 6), rs(3, 9), rs(4, 0)];
        assert_eq!(gcd_weight(&dests), 3);
        assert_eq!(max_weight(&dests), 9);
        assert_eq!(gcd_weight(&[rs(1, 0)]), 1);
        assert_eq!(max_weight(&[]), 0);
    }
}
