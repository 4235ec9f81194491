//! Cost of one scheduling decision for every scheduler at 10, 100 and 1,000 real servers.
//!
//! The service is built as `ipvsadm -a` would (each server added at the head, the scheduler told
//! of each add), weights 1..=5 in turn, and connection counts spread so that the least-load
//! scans compare real numbers (none overloaded, none quiesced). Each iteration schedules one
//! new connection from the next of 1,024 clients (to the next of 1,024 destination addresses,
//! for dh/lblc/lblcr), so the hashing schedulers do not keep hitting one slot; lblc/lblcr tables
//! are warm (every destination cached). Counters do not change between iterations: this is the
//! decision alone, as the engine pays it per new connection.
//!
//! `bench/sched/run.sh` runs this and writes `bench/sched/results.md`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use rvs_sched::{
    new_scheduler_with, proto, Change, Dest, SchedFlags, SchedInput, SchedParams, SCHEDULERS,
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
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
