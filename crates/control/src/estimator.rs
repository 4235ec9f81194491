//! Rate estimation exactly as kernel IPVS does it (`net/netfilter/ipvs/ip_vs_est.c`), so that
//! `rvsadm -L --rate` shows the kernel's figures for the same counter series.
//!
//! Every 2 seconds the counters are sampled; the rate over those 2 seconds updates an
//! exponentially weighted moving average with weight 1/4:
//! `avgrate = avgrate*(1-W) + rate*W`, `W = 2^-2`. The averages are kept in fixed point:
//! connections and packets per second scaled by 2^10, bytes per second by 2^5. Dividing by the
//! 2-second interval is folded into the scaling shift (`<< 9` = `* 2^10 / 2`, `<< 4` =
//! `* 2^5 / 2`), and the shift by 2 of the signed difference rounds towards minus infinity, as
//! the kernel's arithmetic shift of an `s64` does. Reading rounds half up (`+ 0x1FF >> 10`,
//! `+ 0xF >> 5`).

use std::time::Duration;

use crate::protocol::{Rates, Stats};

/// How often [`Estimator::sample`] must be called: the kernel's estimation timer
/// (`2 * HZ`). The arithmetic assumes exactly this interval.
pub const ESTIMATOR_INTERVAL: Duration = Duration::from_secs(2);

/// The cumulative counters an estimator samples (connections, packets and bytes in and out).
pub type Totals = Stats;

/// The rate estimator of one service or real server (the kernel's `struct ip_vs_estimator`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Estimator {
    last: Totals,
    /// Averages, scaled: cps/inpps/outpps by 2^10, inbps/outbps by 2^5.
    cps: u64,
    inpps: u64,
    outpps: u64,
    inbps: u64,
    outbps: u64,
}

/// One EWMA step, as the kernel's `e->cps += ((s64)rate - (s64)e->cps) >> 2` with
/// `rate = (n - e->last) << shift`: wrapping unsigned differences, signed arithmetic shift.
fn ewma(avg: u64, last: u64, now: u64, shift: u32) -> u64 {
    let rate = now.wrapping_sub(last) << shift;
    let delta = (rate as i64).wrapping_sub(avg as i64) >> 2;
    avg.wrapping_add(delta as u64)
}

impl Estimator {
    /// An estimator for counters starting at zero, as the kernel's for a new service or real
    /// server.
    pub fn new() -> Estimator {
        Estimator::default()
    }

    /// An estimator whose first sample counts from `counters` (for an object whose counters
    /// did not start at zero).
    pub fn starting_at(counters: Totals) -> Estimator {
        Estimator {
            last: counters,
            ..Estimator::default()
        }
    }

    /// Takes the sample of one 2-second tick (the kernel's `estimation_timer`, or
    /// `ip_vs_chain_estimation` since Linux 6.2).
    pub fn sample(&mut self, counters: Totals) {
        // "scaled by 2^10, but divided 2 seconds"
        self.cps = ewma(self.cps, self.last.conns, counters.conns, 9);
        self.inpps = ewma(self.inpps, self.last.inpkts, counters.inpkts, 9);
        self.outpps = ewma(self.outpps, self.last.outpkts, counters.outpkts, 9);
        // "scaled by 2^5, but divided 2 seconds"
        self.inbps = ewma(self.inbps, self.last.inbytes, counters.inbytes, 4);
        self.outbps = ewma(self.outbps, self.last.outbytes, counters.outbytes, 4);
        self.last = counters;
    }

    /// The current rates per second (the kernel's `ip_vs_read_estimator`).
    pub fn rates(&self) -> Rates {
        Rates {
            cps: self.cps.wrapping_add(0x1FF) >> 10,
            inpps: self.inpps.wrapping_add(0x1FF) >> 10,
            outpps: self.outpps.wrapping_add(0x1FF) >> 10,
            inbps: self.inbps.wrapping_add(0xF) >> 5,
            outbps: self.outbps.wrapping_add(0xF) >> 5,
        }
    }

    /// Restarts from `counters` with all rates 0, as the kernel's `ip_vs_zero_estimator` on
    /// `ipvsadm -Z` (`counters` are the raw counters at that moment).
    pub fn zero(&mut self, counters: Totals) {
        *self = Estimator::starting_at(counters);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conns(n: u64) -> Totals {
        Totals {
            conns: n,
            ..Totals::default()
        }
    }

    /// Connections 0 → 100 → 300 → 300 → 300 → 301 → 301, by hand from the kernel's formulas:
    /// - t1: rate = 100<<9 = 51200, cps = 0 + (51200-0)>>2 = 12800, read (12800+511)>>10 = 12
    /// - t2: rate = 200<<9 = 102400, cps = 12800 + 89600>>2 = 35200, read 35711>>10 = 34
    /// - t3: rate 0, cps = 35200 + (-35200>>2) = 26400, read 26911>>10 = 26
    /// - t4: rate 0, cps = 26400 - 6600 = 19800, read 20311>>10 = 19
    /// - t5: rate = 1<<9 = 512, cps = 19800 + (-19288>>2) = 19800 - 4822 = 14978, read 15
    /// - t6: rate 0, cps = 14978 + (-14978>>2) = 14978 - 3745 = 11233 (the shift floors
    ///   -3744.5 to -3745; truncation would give 11234), read 11744>>10 = 11
    #[test]
    fn connection_rates_follow_the_kernel_series() {
        let mut e = Estimator::new();
        let mut seen = Vec::new();
        for n in [100, 300, 300, 300, 301, 301] {
            e.sample(conns(n));
            seen.push((e.cps, e.rates().cps));
        }
        assert_eq!(
            seen,
            [
                (12800, 12),
                (35200, 34),
                (26400, 26),
                (19800, 19),
                (14978, 15),
                (11233, 11)
            ]
        );
    }

    /// Bytes in 0 → 1 000 000 → 2 000 000 → 2 000 000:
    /// - t1: rate = 1e6<<4 = 16e6, inbps = 4e6, read (4e6+15)>>5 = 125000
    /// - t2: rate = 16e6, inbps = 4e6 + 12e6>>2 = 7e6, read 218750
    /// - t3: rate 0, inbps = 7e6 - 1.75e6 = 5.25e6, read (5250015)>>5 = 164062
    ///
    /// Packets use the connection scaling: 10 packets in 2 s give inpps 10<<9>>2 = 1280, read
    /// (1280+511)>>10 = 1; out packets and bytes stay 0.
    #[test]
    fn byte_and_packet_rates_use_their_own_scaling() {
        let mut e = Estimator::new();
        let mut got = Vec::new();
        for (bytes, pkts) in [(1_000_000, 10), (2_000_000, 20), (2_000_000, 20)] {
            e.sample(Totals {
                inbytes: bytes,
                inpkts: pkts,
                ..Totals::default()
            });
            got.push(e.rates());
        }
        assert_eq!(
            got[0],
            Rates {
                cps: 0,
                inpps: 1,
                outpps: 0,
                inbps: 125_000,
                outbps: 0
            }
        );
        assert_eq!(got[1].inbps, 218_750);
        assert_eq!(got[2].inbps, 164_062);
        // inpps: 1280, then 1280 + (5120-1280)>>2 = 2240 → 2, then 2240 - 560 = 1680 → 2.
        assert_eq!([got[1].inpps, got[2].inpps], [2, 2]);
    }

    #[test]
    fn a_steady_rate_converges_to_itself() {
        let mut e = Estimator::new();
        let mut t = Totals::default();
        for _ in 0..100 {
            t.conns += 2000; // 1000 per second
            t.outpkts += 20_000; // 10000 per second
            t.outbytes += 2_000_000; // 1 MB/s
            e.sample(t);
        }
        let r = e.rates();
        assert_eq!((r.cps, r.outpps, r.outbps), (1000, 10_000, 1_000_000));
    }

    #[test]
    fn zero_restarts_from_the_current_counters() {
        let mut e = Estimator::new();
        e.sample(conns(1000));
        assert!(e.rates().cps > 0);
        e.zero(conns(1000));
        assert_eq!(e.rates(), Rates::default());
        // The next sample counts only what came after the zeroing.
        e.sample(conns(1004));
        // rate = 4<<9 = 2048, cps = 512, read (512+511)>>10 = 0; a second tick: 512 + 384 = 896
        // → (896+511)>>10 = 1.
        assert_eq!(e.rates().cps, 0);
        e.sample(conns(1008));
        assert_eq!(e.rates().cps, 1);
        assert_eq!(Estimator::starting_at(conns(5)).rates().cps, 0);
    }

    #[test]
    fn counters_that_wrap_do_not_panic() {
        let mut e = Estimator::starting_at(conns(u64::MAX - 1));
        e.sample(conns(1)); // wrapped by 3
        assert_eq!(e.cps, 3 << 9 >> 2);
        e.sample(conns(0)); // went backwards: a huge "rate", as in the kernel; no panic
        let _ = e.rates();
    }
}
