//! The least-load schedulers: lc, wlc, sed and nq (`ip_vs_lc.c`, `ip_vs_wlc.c`, `ip_vs_sed.c`,
//! `ip_vs_nq.c`). Stateless: each pick scans the list from the head and keeps the first server
//! found unless a later one is strictly better, so ties go to the server nearer the head (the
//! most recently added).
//!
//! The weighted ones compare `h1 / w1` with `h2 / w2` without dividing, as
//! `(s64)h1 * w2 > (s64)h2 * w1`, in the integer types the kernel uses: wlc's overhead is an
//! `int` (sign-extended), sed's and nq's `activeconns + 1` an `unsigned int` (zero-extended).

use crate::tourney::{Rule, Tourney};
use crate::{overhead, Dest, SchedInput, Scheduler};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Lc,
    Wlc,
    Sed,
    Nq,
}

pub(crate) struct Least {
    kind: Kind,
    /// The same decisions without the scan, when the servers share a load log.
    tree: Tourney,
}

impl Least {
    pub(crate) fn new(kind: Kind, dests: &[Dest]) -> Self {
        let rule = match kind {
            Kind::Lc => Rule::Lc,
            Kind::Wlc => Rule::Wlc,
            Kind::Sed => Rule::Sed,
            Kind::Nq => Rule::Nq,
        };
        Least {
            kind,
            tree: Tourney::new(rule, dests),
        }
    }
}

impl Scheduler for Least {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Lc => "lc",
            Kind::Wlc => "wlc",
            Kind::Sed => "sed",
            Kind::Nq => "nq",
        }
    }

    fn schedule(&mut self, dests: &[Dest], _input: &SchedInput, _now_ns: u64) -> Option<usize> {
        if let Some(pick) = self.tree.pick(dests) {
            return pick;
        }
        scan(self.kind, dests)
    }

    fn update(&mut self, dests: &[Dest], _change: crate::Change) {
        self.tree.rebuild(dests);
    }
}

/// The kernel's scan for `kind`, server by server.
pub(crate) fn scan(kind: Kind, dests: &[Dest]) -> Option<usize> {
    match kind {
        Kind::Lc => lc(dests),
        Kind::Wlc => weighted_least(dests, wlc_overhead),
        Kind::Sed => weighted_least(dests, expected_delay),
        Kind::Nq => nq(dests),
    }
}

/// `ip_vs_lc_schedule`: least `overhead` (compared as `unsigned int`) among servers that are
/// not overloaded and have weight != 0; the first of equals wins.
fn lc(dests: &[Dest]) -> Option<usize> {
    let mut least: Option<(usize, u32)> = None;
    for (i, d) in dests.iter().enumerate() {
        if d.is_overloaded() || d.weight == 0 {
            continue;
        }
        let doh = overhead(d);
        if least.is_none_or(|(_, loh)| doh < loh) {
            least = Some((i, doh));
        }
    }
    least.map(|(i, _)| i)
}

/// wlc's load: `ip_vs_dest_conn_overhead`, an `int` in the kernel.
pub(crate) fn wlc_overhead(d: &Dest) -> i64 {
    // Reinterpret the kernel's int bits, then widen as `(__s64)loh` does.
    i64::from(overhead(d) as i32)
}

/// `ip_vs_sed_dest_overhead` / `ip_vs_nq_dest_overhead`: `activeconns + 1` as `unsigned int`.
fn expected_delay(d: &Dest) -> i64 {
    i64::from(d.counters.active().wrapping_add(1))
}

/// `ip_vs_wlc_schedule` / `ip_vs_sed_schedule`: the first server that is not overloaded and has
/// weight > 0 is the candidate; later servers replace it when strictly less loaded per weight.
/// Later servers are skipped only for overload: weight 0 never wins the product comparison.
pub(crate) fn weighted_least(dests: &[Dest], load: impl Fn(&Dest) -> i64) -> Option<usize> {
    let mut it = dests.iter().enumerate();
    let (mut li, mut loh, mut lw) = it
        .by_ref()
        .find(|(_, d)| !d.is_overloaded() && d.weight > 0)
        .map(|(i, d)| (i, load(d), i64::from(d.weight)))?;
    for (i, d) in it {
        if d.is_overloaded() {
            continue;
        }
        let doh = load(d);
        let dw = i64::from(d.weight);
        // loh * dw > doh * lw  <=>  loh / lw > doh / dw. Both factors fit in 32 bits, so the
        // products fit in i64 as they do in the kernel's s64.
        if loh * dw > doh * lw {
            (li, loh, lw) = (i, doh, dw);
        }
    }
    Some(li)
}

/// `ip_vs_nq_schedule`: the first idle server (no active connection) in list order at once;
/// otherwise the least expected delay as sed, ties to the first.
fn nq(dests: &[Dest]) -> Option<usize> {
    let mut least: Option<(usize, i64, i64)> = None;
    for (i, d) in dests.iter().enumerate() {
        if d.is_overloaded() || d.weight == 0 {
            continue;
        }
        let doh = expected_delay(d);
        if d.counters.active() == 0 {
            return Some(i);
        }
        let dw = i64::from(d.weight);
        if least.is_none_or(|(_, loh, lw)| loh * dw > doh * lw) {
            least = Some((i, doh, dw));
        }
    }
    least.map(|(i, _, _)| i)
}

#[cfg(test)]
mod tests {
    use crate::testutil::Svc;

    /// A service in list order `servers` = (id, weight, active, inactive).
    fn svc(name: &str, servers: &[(u32, i32, u32, u32)]) -> Svc {
        let list: Vec<(u32, i32)> = servers.iter().map(|&(id, w, _, _)| (id, w)).collect();
        let s = Svc::in_place(name, &list);
        for &(id, _, a, i) in servers {
            s.counters(id, a, i);
        }
        s
    }

    #[test]
    fn lc_picks_least_overhead_first_of_equals() {
        // ip_vs_lc_schedule: overhead = active * 256 + inactive; `doh < loh` keeps the first.
        let mut s = svc(
            "lc",
            &[(1, 1, 2, 0), (2, 1, 1, 300), (3, 1, 1, 300), (4, 9, 2, 0)],
        );
        // 1: 512, 2: 556, 3: 556, 4: 512 -> 1 (ties with 4, 1 is first).
        assert_eq!(s.pick(), Some(1));
        s.counters(1, 2, 100); // 612
        assert_eq!(s.pick(), Some(4));
        s.counters(4, 3, 0); // 768
        assert_eq!(s.pick(), Some(2)); // 2 and 3 tie at 556: the first wins
    }

    #[test]
    fn lc_ignores_weight_except_zero_and_skips_overloaded() {
        let mut s = svc("lc", &[(1, 0, 0, 0), (2, 1, 0, 5), (3, 100, 0, 4)]);
        s.set_overloaded(3, true);
        assert_eq!(s.pick(), Some(2)); // 1 quiescent, 3 overloaded
        s.set_overloaded(3, false);
        assert_eq!(s.pick(), Some(3));
        s.set_weight(2, 0).set_weight(3, 0);
        assert_eq!(s.pick(), None);
    }

    #[test]
    fn wlc_compares_overhead_per_weight() {
        // ip_vs_wlc_schedule: loh * dw > doh * lw replaces the candidate.
        // 1: 256/1 = 256; 2: 512/3 = 170.7; 3: 768/3 = 256.
        let mut s = svc("wlc", &[(1, 1, 1, 0), (2, 3, 2, 0), (3, 3, 3, 0)]);
        assert_eq!(s.pick(), Some(2));
        // 2: 1024/3 = 341.3 now; 1 and 3 tie at 256 -> the earlier one, 1.
        s.counters(2, 4, 0);
        assert_eq!(s.pick(), Some(1));
    }

    #[test]
    fn wlc_tie_keeps_the_earlier_server() {
        // 256 * 2 > 512 * 1 is false: equal load per weight does not replace.
        let mut s = svc("wlc", &[(1, 1, 1, 0), (2, 2, 2, 0)]);
        assert_eq!(s.pick(), Some(1));
        let mut s = svc("wlc", &[(2, 2, 2, 0), (1, 1, 1, 0)]);
        assert_eq!(s.pick(), Some(2));
    }

    #[test]
    fn wlc_first_candidate_skips_quiescent_and_overloaded() {
        // First stage needs weight > 0 and no overload; the idle weight-0 server never wins the
        // comparison later (0 * lw ... loh * 0 > 0 is false).
        let mut s = svc(
            "wlc",
            &[(1, 0, 0, 0), (2, 5, 0, 0), (3, 1, 9, 9), (4, 0, 0, 0)],
        );
        s.set_overloaded(2, true);
        assert_eq!(s.pick(), Some(3));
        s.set_overloaded(3, true);
        assert_eq!(s.pick(), None);
    }

    #[test]
    fn wlc_all_idle_goes_to_the_head() {
        // Zero overhead everywhere: 0 * w > 0 * w never holds, the list's first server wins.
        let mut s = Svc::new("wlc");
        s.add_all(&[(1, 1), (2, 10), (3, 1)]); // list [3, 2, 1]
        assert_eq!(s.pick(), Some(3));
    }

    #[test]
    fn sed_counts_the_incoming_connection_and_ignores_inactive() {
        // ip_vs_sed_schedule: (active + 1) / weight.
        // 1: (0+1)/1 = 1; 2: (1+1)/3 = 0.67 -> 2. wlc would pick 1 (overhead 0).
        let mut s = svc("sed", &[(1, 1, 0, 0), (2, 3, 1, 1000)]);
        assert_eq!(s.pick(), Some(2));
        let mut w = svc("wlc", &[(1, 1, 0, 0), (2, 3, 1, 1000)]);
        assert_eq!(w.pick(), Some(1));
        // Tie: (1+1)/1 vs (5+1)/3 -> the first.
        s.counters(1, 1, 0);
        s.counters(2, 5, 0);
        assert_eq!(s.pick(), Some(1));
    }

    #[test]
    fn sed_skips_overloaded_and_quiescent() {
        let mut s = svc("sed", &[(1, 0, 0, 0), (2, 1, 5, 0), (3, 9, 0, 0)]);
        s.set_overloaded(3, true);
        assert_eq!(s.pick(), Some(2));
    }

    #[test]
    fn nq_takes_the_first_idle_server_at_once() {
        // ip_vs_nq_schedule: activeconns == 0 returns immediately, whatever the weights, even
        // when a better sed choice comes earlier.
        let mut s = svc(
            "nq",
            &[(1, 100, 1, 0), (2, 1, 3, 0), (3, 1, 0, 50), (4, 1, 0, 0)],
        );
        assert_eq!(s.pick(), Some(3));
        s.set_overloaded(3, true);
        assert_eq!(s.pick(), Some(4));
        s.set_weight(4, 0);
        // No idle one left: sed. 1: 2/100, 2: 4/1.
        assert_eq!(s.pick(), Some(1));
    }

    #[test]
    fn nq_without_idle_servers_is_sed_with_first_of_equals() {
        let mut s = svc("nq", &[(1, 1, 3, 0), (2, 2, 7, 0), (3, 2, 5, 0)]);
        // 1: 4/1 = 4, 2: 8/2 = 4 (tie, keep 1), 3: 6/2 = 3 -> 3.
        assert_eq!(s.pick(), Some(3));
        s.counters(3, 7, 0); // 3: 4 too: 1 stays
        assert_eq!(s.pick(), Some(1));
    }

    #[test]
    fn none_when_everything_is_unavailable() {
        for name in ["lc", "wlc", "sed", "nq"] {
            let mut s = svc(name, &[(1, 0, 0, 0), (2, 1, 0, 0)]);
            s.set_overloaded(2, true);
            assert_eq!(s.pick(), None, "{name}");
        }
    }

    #[test]
    fn wlc_overhead_overflow_behaves_as_the_kernels_int() {
        // (1 << 23) active connections make (active << 8) = 2^31: a negative int in the kernel,
        // so that server looks the least loaded. Reproduced, not fixed.
        let mut s = svc("wlc", &[(1, 1, 1, 0), (2, 1, 1 << 23, 0)]);
        assert_eq!(s.pick(), Some(2));
        // lc compares the same bits unsigned: 2^31 is large.
        let mut s = svc("lc", &[(1, 1, 1, 0), (2, 1, 1 << 23, 0)]);
        assert_eq!(s.pick(), Some(1));
    }
}
