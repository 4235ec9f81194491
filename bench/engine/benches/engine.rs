//! Engine per-packet cost (issue 6 part 1), one core, no DPDK. See bench/README.md.
//!
//! Groups (criterion ids `group/function/parameter`; the parameter is the number of
//! established connections in the table):
//! - `copy/frames/N`: the harness alone — clock read per burst of 32, buffer from the pool,
//!   copy of the 60-byte frame, buffer back — over N frames; subtracted from the others.
//! - `established_in/METHOD/N`: client → VIP ACKs of N established connections, in random
//!   order across the flows (a new permutation of the flows each pass).
//! - `established_out/METHOD/N` (NAT, FullNAT): the real servers' ACKs back to the clients.
//! - `new_conn/METHOD/N`: SYNs of new clients (SYN → schedule → insert → rewrite) with N
//!   established connections in the table; every `min(N, 32768)` SYNs the clock jumps 2 s and
//!   the half-open connections are reaped untimed (timeout 1 s), so the table stays between N
//!   and N + 32768.
//! - `table_full/syn_refused/1000` and `table_full/established/1000`: NAT with
//!   `max_connections = 1000`, all taken: SYNs of new clients are refused (conn_table_full)
//!   while ACKs of the established connections are forwarded.
//!
//! Environment: `RVS_BENCH_ONLY=a,b` runs only the benchmarks whose id contains one of the
//! substrings (skipping their set-up too); `RVS_BENCH_EXTRA=FILE` appends `key,value` lines of
//! figures criterion does not measure (expiry cost per connection, table-full counters).

use std::io::Write;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rvs_bench::frame::{flags, Frame, Rng};
use rvs_bench::scenario::{churn_timeouts, shuffled_ids};
use rvs_bench::{Method, Scenario};
use rvs_engine::DropReason;

/// Established connections in the table.
const SIZES: [u32; 2] = [1_000, 1_000_000];
/// rvsd's default `max_connections`.
const CAPACITY: u32 = 1 << 20;
/// First client id of new connections (the established ones are 0..N).
const NEW_BASE: u32 = 1 << 28;

fn want(id: &str) -> bool {
    match std::env::var("RVS_BENCH_ONLY") {
        Ok(v) if !v.is_empty() => v.split(',').any(|s| id.contains(s)),
        _ => true,
    }
}

fn extra(key: &str, value: impl std::fmt::Display) {
    if let Ok(path) = std::env::var("RVS_BENCH_EXTRA") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{key},{value}");
        }
    }
}

/// Frames replayed in a loop; each pass over them in a new random order.
struct Cycle {
    frames: Vec<Frame>,
    pos: usize,
    rng: Rng,
}

impl Cycle {
    fn new(frames: Vec<Frame>, seed: u64) -> Cycle {
        let mut c = Cycle {
            frames,
            pos: 0,
            rng: Rng::new(seed),
        };
        c.rng.shuffle(&mut c.frames);
        c
    }

    /// Time `iters` frames through `f`, reshuffling (untimed) between passes.
    fn drive(&mut self, iters: u64, mut f: impl FnMut(&[Frame])) -> Duration {
        let mut left = iters as usize;
        let mut total = Duration::ZERO;
        while left > 0 {
            if self.pos == self.frames.len() {
                self.rng.shuffle(&mut self.frames);
                self.pos = 0;
            }
            let n = left.min(self.frames.len() - self.pos);
            let chunk = &self.frames[self.pos..self.pos + n];
            let t = Instant::now();
            f(chunk);
            total += t.elapsed();
            self.pos += n;
            left -= n;
        }
        total
    }
}

fn settings<'a>(
    c: &'a mut Criterion,
    group: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(group);
    g.sample_size(15)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));
    g
}

fn copy(c: &mut Criterion) {
    for n in SIZES {
        if !want(&format!("copy/frames/{n}")) {
            continue;
        }
        let mut s = Scenario::new(Method::Dr, 16, |_| {});
        let frames = (0..n).map(|i| Method::Dr.to_vip(i, flags::ACK)).collect();
        let mut cyc = Cycle::new(frames, 5);
        let mut g = settings(c, "copy");
        g.bench_function(BenchmarkId::new("frames", n), |b| {
            b.iter_custom(|iters| cyc.drive(iters, |f| s.run_copy_only(f)))
        });
        g.finish();
    }
}

fn per_method(c: &mut Criterion) {
    for n in SIZES {
        for m in Method::ALL {
            let ids = [
                format!("established_in/{}/{n}", m.name()),
                format!("established_out/{}/{n}", m.name()),
                format!("new_conn/{}/{n}", m.name()),
            ];
            if !ids.iter().any(|id| want(id)) {
                continue;
            }
            let mut s = Scenario::new(m, CAPACITY, |_| {});
            s.worker.set_timeouts(churn_timeouts());
            let flows = shuffled_ids(0, n, 1);
            let replies = s.establish(&flows);

            if want(&ids[0]) {
                let acks = flows.iter().map(|&i| m.to_vip(i, flags::ACK)).collect();
                let mut cyc = Cycle::new(acks, 2);
                let mut g = settings(c, "established_in");
                g.bench_function(BenchmarkId::new(m.name(), n), |b| {
                    b.iter_custom(|iters| cyc.drive(iters, |f| s.run(0, f)))
                });
                g.finish();
            }
            if m.two_way() && want(&ids[1]) {
                let mut cyc = Cycle::new(replies, 3);
                let mut g = settings(c, "established_out");
                g.bench_function(BenchmarkId::new(m.name(), n), |b| {
                    b.iter_custom(|iters| cyc.drive(iters, |f| s.run(1, f)))
                });
                g.finish();
            }
            if want(&ids[2]) {
                new_conn(c, &mut s, n);
            }
            let drops: Vec<_> = s.worker.stats.nonzero_drops().collect();
            assert!(
                drops.is_empty(),
                "{m:?} with {n}: the engine dropped {drops:?}"
            );
        }
    }
}

/// SYNs of new clients, the table kept between `live` and `live + chunk` connections.
fn new_conn(c: &mut Criterion, s: &mut Scenario, live: u32) {
    let m = s.method;
    let chunk = live.min(32_768) as usize;
    let pool = if live >= 100_000 { 1 << 18 } else { 1 << 16 };
    let syns: Vec<Frame> = shuffled_ids(NEW_BASE, pool, 4)
        .into_iter()
        .map(|i| m.to_vip(i, flags::SYN))
        .collect();
    let mut pos = 0usize;
    let mut used = 0usize;
    let mut reaped = 0u64;
    let mut reap_time = Duration::ZERO;
    let mut g = settings(c, "new_conn");
    g.bench_function(BenchmarkId::new(m.name(), live), |b| {
        b.iter_custom(|iters| {
            let mut left = iters as usize;
            let mut total = Duration::ZERO;
            while left > 0 {
                if used == chunk {
                    s.advance(2_000_000_000);
                    let t = Instant::now();
                    reaped += s.expire_until(live as usize) as u64;
                    reap_time += t.elapsed();
                    used = 0;
                }
                let n = left.min(chunk - used).min(syns.len() - pos);
                let t = Instant::now();
                s.run(0, &syns[pos..pos + n]);
                total += t.elapsed();
                pos = (pos + n) % syns.len();
                used += n;
                left -= n;
            }
            total
        })
    });
    g.finish();
    if reaped > 0 {
        extra(
            &format!("expire_ns_per_conn/{}/{live}", m.name()),
            format!("{:.1}", reap_time.as_nanos() as f64 / reaped as f64),
        );
    }
}

fn table_full(c: &mut Criterion) {
    const MAX: u32 = 1000;
    if !want("table_full/") {
        return;
    }
    let m = Method::Nat;
    let mut s = Scenario::new(m, MAX, |_| {});
    let flows = shuffled_ids(0, MAX, 6);
    s.establish(&flows);
    assert_eq!(s.worker.conns().len(), MAX as usize);
    let syns: Vec<Frame> = (0..65_536)
        .map(|i| m.to_vip(NEW_BASE + i, flags::SYN))
        .collect();
    let acks: Vec<Frame> = flows.iter().map(|&i| m.to_vip(i, flags::ACK)).collect();

    // What the two benchmarks rely on, checked on a mix: every SYN refused and counted,
    // every ACK forwarded.
    let full0 = s.worker.stats.drops_of(DropReason::ConnTableFull);
    let sent0 = s.sink.total();
    for (syn, ack) in syns.chunks(1).zip(acks.chunks(1)) {
        s.run(0, syn);
        s.run(0, ack);
    }
    let refused = s.worker.stats.drops_of(DropReason::ConnTableFull) - full0;
    let forwarded = s.sink.total() - sent0;
    assert_eq!((refused, forwarded), (u64::from(MAX), u64::from(MAX)));
    extra("table_full/mix_syns_refused", refused);
    extra("table_full/mix_acks_forwarded", forwarded);

    let mut syn_cyc = Cycle::new(syns, 7);
    let mut ack_cyc = Cycle::new(acks, 8);
    let mut g = settings(c, "table_full");
    let before = s.worker.stats.drops_of(DropReason::ConnTableFull);
    let mut driven = 0u64;
    g.bench_function(BenchmarkId::new("syn_refused", MAX), |b| {
        b.iter_custom(|iters| {
            driven += iters;
            syn_cyc.drive(iters, |f| s.run(0, f))
        })
    });
    let refused = s.worker.stats.drops_of(DropReason::ConnTableFull) - before;
    assert_eq!(
        refused, driven,
        "every SYN to a full table is counted as conn_table_full"
    );
    g.bench_function(BenchmarkId::new("established", MAX), |b| {
        b.iter_custom(|iters| ack_cyc.drive(iters, |f| s.run(0, f)))
    });
    g.finish();
    extra("table_full/syns_refused", refused);
    extra(
        "table_full/other_drops",
        s.worker.stats.total_drops() - s.worker.stats.drops_of(DropReason::ConnTableFull),
    );
}

criterion_group!(benches, copy, per_method, table_full);
criterion_main!(benches);
