//! Cost of one scheduling decision for every scheduler at 10, 100 and 1,000 real servers.
//!
//! The service is built as `ipvsadm -a` would (each server added at the head, the scheduler told
//! of each add), weights 1..=5 in turn, and connection counts spread so that the least-load
//! scans compare real numbers (none overloaded, none quiesced). Each iteration schedules one
//! new connection from the next of 1,024 clients (to the next of 1,024 destination addresses,
//! for dh/lblc/lblcr), so the hashing schedulers do not keep hitting one slot; lblc/lblcr tables
//! are warm (every destination cached). The real servers share a load log, as the engine's do
//! ([`rvs_sched::watch_loads`]).
//!
//! Two loops: `<name>/<n>` is the decision alone, counters unchanged between iterations;
//! `<name>+churn/<n>` binds a new connection to the chosen server after each decision and ends
//! the one bound 64 decisions earlier, so the structures kept from the load log replay two
//! changes per decision, as in a service at a steady connection rate.
//!
//! `bench/sched/run.sh` runs this and writes `bench/sched/results.md`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use rvs_sched::{
    new_scheduler_with, proto, watch_loads, Change, Dest, SchedFlags, SchedInput, SchedParams,
    SCHEDULERS,
};
use std::net::{IpAddr, Ipv4Addr};

const SIZES: [u32; 3] = [10, 100, 1000];

fn service(name: &str, n: u32) -> (Vec<Dest>, Box<dyn rvs_sched::Scheduler>) {
    let params = SchedParams::default();
    let mut sched =
        new_scheduler_with(name, SchedFlags::default(), &[], &params).expect("known scheduler");
    let mut dests: Vec<Dest> = Vec::with_capacity(n as usize);
    for id in 1..=n {
        let addr = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + id));
        let d = Dest::new(id, addr, 80, (id % 5 + 1) as i32);
        // Spread loads: active 5..=25 (above ovf's weights stays rare: ovf skips only
        // active > weight, so keep a few light ones), inactive 0..=99.
        let active = if id % 7 == 0 { 0 } else { 5 + id * 7 % 21 };
        d.counters.set(active, id * 13 % 100);
        dests.insert(0, d);
        watch_loads(&dests);
        sched.update(&dests, Change::Added(id));
    }
    (dests, sched)
}

fn inputs() -> Vec<SchedInput> {
    (0..1024u32)
        .map(|k| SchedInput {
            proto: proto::TCP,
            src: IpAddr::V4(Ipv4Addr::from(0xac10_0000 + k * 7919)),
            src_port: 10_000 + k as u16,
            dst: IpAddr::V4(Ipv4Addr::from(0xc000_0200 + k)),
            dst_port: 80,
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let inputs = inputs();
    for &name in SCHEDULERS {
        let mut group = c.benchmark_group(name);
        for n in SIZES {
            let (dests, mut sched) = service(name, n);
            let now = 1_000_000_000u64;
            // Warm lblc/lblcr tables: every destination cached once.
            for input in &inputs {
                sched.schedule(&dests, input, now);
            }
            let mut k = 0usize;
            group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
                b.iter(|| {
                    k = (k + 1) & 1023;
                    let input = &inputs[k];
                    black_box(sched.schedule(black_box(&dests), input, now))
                })
            });
        }
        group.finish();
        let mut group = c.benchmark_group(format!("{name}+churn"));
        for n in SIZES {
            let (dests, mut sched) = service(name, n);
            let now = 1_000_000_000u64;
            for input in &inputs {
                sched.schedule(&dests, input, now);
            }
            // The servers of the last 64 connections, to end them in turn.
            let mut bound = [0usize; 64];
            for (k, b) in bound.iter_mut().enumerate() {
                let i = sched.schedule(&dests, &inputs[k], now).unwrap_or(0);
                dests[i].counters.bind(false);
                *b = i;
            }
            let mut k = 0usize;
            group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
                b.iter(|| {
                    k = (k + 1) & 1023;
                    let input = &inputs[k];
                    let i = sched.schedule(black_box(&dests), input, now).unwrap_or(0);
                    let slot = &mut bound[k & 63];
                    dests[*slot].counters.unbind(false);
                    dests[i].counters.bind(false);
                    *slot = i;
                    black_box(i)
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
