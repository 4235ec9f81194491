//! A worker lcore's poll loop: receive a burst on its queue of every port, hand each frame to
//! the engine, transmit in bursts, run the engine's timers every millisecond.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dpdk::{Burst, Mbuf, Mempool, RingConsumer, RingProducer, RxQueue, TxQueue};
use rvs_engine::steer::{self, Owner};

use crate::control::{Published, WorkerSnapshot, SNAPSHOT_EVERY};
use rvs_engine::{Director, Io, PacketBuf, PortIdx, Stats, Worker, WorkerConfig};

/// A DPDK mbuf as the engine's packet buffer.
pub struct Pkt(pub Mbuf);

impl PacketBuf for Pkt {
    #[inline]
    fn data(&self) -> &[u8] {
        self.0.data()
    }
    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        self.0.data_mut()
    }
    #[inline]
    fn prepend(&mut self, n: usize) -> bool {
        self.0.prepend(n).is_some()
    }
    #[inline]
    fn adj(&mut self, n: usize) -> bool {
        self.0.adj(n)
    }
    #[inline]
    fn set_len(&mut self, n: usize) -> bool {
        self.0.set_len(n)
    }
}

/// One port's transmit side for one worker: its TX queue and the burst being filled.
struct TxPort {
    queue: TxQueue,
    burst: Burst,
    dropped: u64,
}

impl TxPort {
    /// Send what is buffered; what the queue refuses is freed and counted (as DPVS does: a
    /// full TX ring is congestion, and waiting would stall every other port).
    #[inline]
    fn flush(&mut self) {
        if self.burst.is_empty() {
            return;
        }
        self.queue.tx_burst(&mut self.burst);
        self.dropped += self.burst.clear() as u64;
    }
}

/// The engine's [`Io`] over one worker's TX queues and the mbuf pool.
struct WorkerIo<'a> {
    tx: &'a mut [TxPort],
    taps: &'a mut [Option<TxPort>],
    pool: &'a Mempool,
}

impl Io<Pkt> for WorkerIo<'_> {
    #[inline]
    fn send(&mut self, port: PortIdx, pkt: Pkt) {
        let Some(t) = self.tx.get_mut(usize::from(port)) else {
            return;
        };
        if t.burst.is_full() {
            t.flush();
        }
        if t.burst.push(pkt.0).is_err() {
            t.dropped += 1;
        }
    }
    #[inline]
    fn alloc(&mut self) -> Option<Pkt> {
        self.pool.alloc().map(Pkt)
    }
    fn exception(&mut self, port: PortIdx, pkt: Pkt) -> Result<(), Pkt> {
        match self.taps.get_mut(usize::from(port)) {
            Some(Some(t)) => {
                if t.burst.is_full() {
                    t.flush();
                }
                if t.burst.push(pkt.0).is_err() {
                    t.dropped += 1;
                }
                Ok(())
            }
            _ => Err(pkt),
        }
    }
}

/// What a worker needs, moved onto its lcore.
pub struct WorkerSetup {
    /// Engine configuration (id, table sizes, timeouts).
    pub cfg: WorkerConfig,
    /// The compiled configuration.
    pub director: Arc<Director>,
    /// This worker's RX queue of every port, in port order.
    pub rx: Vec<RxQueue>,
    /// This worker's TX queue of every port, in port order.
    pub tx: Vec<TxQueue>,
    /// Buffers for frames the engine originates (ARP requests).
    pub pool: Mempool,
    /// Set by the control thread to stop.
    pub stop: Arc<AtomicBool>,
    /// Sleep this long after a poll of every port found nothing (0 = busy poll).
    pub idle_sleep: Duration,
    /// The clock's zero, shared by all workers.
    pub epoch: Instant,
    /// Where the worker leaves its counters when it stops.
    pub result: Arc<Mutex<Option<WorkerResult>>>,
    /// Frames other workers received for connections this worker owns.
    pub steer_in: RingConsumer,
    /// Copies of ARP frames other workers received, to learn neighbours from.
    pub arp_in: RingConsumer,
    /// Rings into the other workers (`None` at this worker's own index).
    pub steer_out: Vec<Option<RingProducer>>,
    /// ARP copy rings into the other workers (`None` at this worker's own index).
    pub arp_out: Vec<Option<RingProducer>>,
    /// Engine port index of each DPDK port id (`None` for ports rvsd does not use).
    pub port_index: Vec<Option<PortIdx>>,
    /// The configuration to pick up and where to publish counters.
    pub published: Arc<Published>,
    /// This worker's queue of each port's TAP device (exception path), if it has one.
    pub tap_rx: Vec<Option<RxQueue>>,
    /// Likewise for sending to the kernel.
    pub tap_tx: Vec<Option<TxQueue>>,
}

/// Frames on their way to another worker, batched per destination.
struct Handoff {
    ring: RingProducer,
    burst: Burst,
    dropped: u64,
    sent: u64,
}

impl Handoff {
    fn push(&mut self, m: Mbuf) {
        if self.burst.is_full() {
            self.flush();
        }
        if self.burst.push(m).is_err() {
            self.dropped += 1;
        }
    }

    /// Enqueue what is batched; what the ring refuses (the owner is that far behind) is freed
    /// and counted.
    fn flush(&mut self) {
        if self.burst.is_empty() {
            return;
        }
        self.sent += self.ring.enqueue_burst(&mut self.burst) as u64;
        self.dropped += self.burst.clear() as u64;
    }
}

/// A stopped worker's counters.
#[derive(Clone, Debug, Default)]
pub struct WorkerResult {
    /// The engine's counters.
    pub stats: Stats,
    /// Frames the TX queues refused, per port.
    pub tx_dropped: Vec<u64>,
    /// Frames passed to the worker that owns them.
    pub handed_off: u64,
    /// Frames (and ARP copies) dropped because the owner's ring was full or no buffer was
    /// left for a copy.
    pub handoff_dropped: u64,
}

/// How often the engine's timers run.
const TICK: Duration = Duration::from_millis(1);

/// The poll loop. Returns 0 when stopped.
pub fn run(setup: WorkerSetup) -> i32 {
    let WorkerSetup {
        cfg,
        director,
        mut rx,
        tx,
        pool,
        stop,
        idle_sleep,
        epoch,
        result,
        mut steer_in,
        mut arp_in,
        steer_out,
        arp_out,
        port_index,
        published,
        mut tap_rx,
        tap_tx,
    } = setup;
    let mut taps: Vec<Option<TxPort>> = tap_tx
        .into_iter()
        .map(|q| {
            q.map(|queue| TxPort {
                queue,
                burst: Burst::new(),
                dropped: 0,
            })
        })
        .collect();
    let slot = &published.workers[usize::from(cfg.id)];
    let snapshot_ns = SNAPSHOT_EVERY.as_nanos() as u64;
    let mut last_snapshot = 0u64;
    let mut answered = 0u64;
    let me = cfg.id;
    let workers = cfg.workers;
    // A copy of its own (see `Director`'s doc): the published one is kept to notice changes.
    let mut published_seen = Arc::clone(&director);
    let mut engine: Worker<Pkt> = Worker::new(Arc::new(Director::clone(&director)), cfg);
    let prefetch = Prefetch::from_env();
    tracing::info!(
        worker = me,
        ipv4_connections = engine.conns().capacity(),
        ipv6_connections = engine.conns6().capacity(),
        table_mib = engine.table_memory_bytes() as f64 / (1 << 20) as f64,
        "connection tables allocated"
    );
    let mut tx: Vec<TxPort> = tx
        .into_iter()
        .map(|queue| TxPort {
            queue,
            burst: Burst::new(),
            dropped: 0,
        })
        .collect();
    let handoff = |rings: Vec<Option<RingProducer>>| -> Vec<Option<Handoff>> {
        rings
            .into_iter()
            .map(|r| {
                r.map(|ring| Handoff {
                    ring,
                    burst: Burst::new(),
                    dropped: 0,
                    sent: 0,
                })
            })
            .collect()
    };
    let mut steer_out = handoff(steer_out);
    let mut arp_out = handoff(arp_out);
    let mut copy_failures = 0u64;
    let mut burst = Burst::new();
    let tick_ns = TICK.as_nanos() as u64;
    let mut last_tick = 0u64;

    while !stop.load(Ordering::Relaxed) {
        let now = epoch.elapsed().as_nanos() as u64;
        let mut received = 0;
        for (port, q) in rx.iter_mut().enumerate() {
            let n = q.rx_burst(&mut burst);
            if n == 0 {
                continue;
            }
            received += n;
            let mut io = WorkerIo {
                tx: &mut tx,
                taps: &mut taps,
                pool: &pool,
            };
            // Start every frame's connection-table loads before handling the first one.
            prefetch.run(&engine, &burst);
            for m in burst.drain() {
                let owner = if workers > 1 {
                    steer::owner(&director, m.data(), workers, me)
                } else {
                    Owner::Worker(me)
                };
                match owner {
                    Owner::Worker(w) if w == me => {
                        engine.handle(now, port as PortIdx, Pkt(m), &mut io)
                    }
                    Owner::Worker(w) => match steer_out.get_mut(usize::from(w)) {
                        Some(Some(h)) => h.push(m),
                        _ => engine.handle(now, port as PortIdx, Pkt(m), &mut io),
                    },
                    Owner::All => {
                        for h in arp_out.iter_mut().flatten() {
                            match copy_of(&pool, &m) {
                                Some(c) => h.push(c),
                                None => copy_failures += 1,
                            }
                        }
                        engine.handle(now, port as PortIdx, Pkt(m), &mut io);
                    }
                }
            }
            for h in steer_out.iter_mut().chain(arp_out.iter_mut()).flatten() {
                h.flush();
            }
            for t in tx.iter_mut().chain(taps.iter_mut().flatten()) {
                t.flush();
            }
        }
        // What the kernel sends through a port's exception path leaves through the port.
        for (port, q) in tap_rx.iter_mut().enumerate() {
            let Some(q) = q else { continue };
            if q.rx_burst(&mut burst) == 0 {
                continue;
            }
            received += burst.len();
            if let Some(t) = tx.get_mut(port) {
                for m in burst.drain() {
                    if t.burst.is_full() {
                        t.flush();
                    }
                    if t.burst.push(m).is_err() {
                        t.dropped += 1;
                    }
                }
                t.flush();
            }
            burst.clear();
        }
        // Frames other workers passed to this one.
        if steer_in.dequeue_burst(&mut burst) > 0 {
            received += burst.len();
            let mut io = WorkerIo {
                tx: &mut tx,
                taps: &mut taps,
                pool: &pool,
            };
            prefetch.run(&engine, &burst);
            for m in burst.drain() {
                match port_index.get(usize::from(m.port())).copied().flatten() {
                    Some(port) => engine.handle(now, port, Pkt(m), &mut io),
                    None => drop(m),
                }
            }
            for t in tx.iter_mut().chain(taps.iter_mut().flatten()) {
                t.flush();
            }
        }
        if arp_in.dequeue_burst(&mut burst) > 0 {
            received += burst.len();
            let mut io = WorkerIo {
                tx: &mut tx,
                taps: &mut taps,
                pool: &pool,
            };
            for m in burst.drain() {
                if let Some(port) = port_index.get(usize::from(m.port())).copied().flatten() {
                    engine.learn_arp(now, port, Pkt(m), &mut io);
                }
            }
            for t in tx.iter_mut().chain(taps.iter_mut().flatten()) {
                t.flush();
            }
        }
        if now.saturating_sub(last_tick) >= tick_ns {
            last_tick = now;
            // A new configuration from the control thread: switch between bursts.
            let current = published.director.load();
            if !Arc::ptr_eq(&current, &published_seen) {
                engine.set_director(Arc::new(Director::clone(&current)));
                published_seen = Arc::clone(&current);
            }
            if now.saturating_sub(last_snapshot) >= snapshot_ns {
                last_snapshot = now;
                slot.snapshot.store(Arc::new(WorkerSnapshot {
                    stats: engine.stats.clone(),
                    traffic: engine.traffic().to_vec(),
                }));
            }
            let asked = slot.conn_request.load(Ordering::Relaxed);
            if asked != answered {
                answered = asked;
                slot.conn_dump
                    .store(Arc::new((asked, connections(&engine, me, now))));
            }
            let mut io = WorkerIo {
                tx: &mut tx,
                taps: &mut taps,
                pool: &pool,
            };
            engine.tick(now, &mut io);
            for t in tx.iter_mut().chain(taps.iter_mut().flatten()) {
                t.flush();
            }
        }
        if received == 0 && !idle_sleep.is_zero() {
            std::thread::sleep(idle_sleep);
        }
    }

    let handed = steer_out.iter().flatten().map(|h| h.sent).sum();
    let lost: u64 = steer_out
        .iter()
        .chain(arp_out.iter())
        .flatten()
        .map(|h| h.dropped)
        .sum::<u64>()
        + copy_failures;
    let res = WorkerResult {
        stats: engine.stats.clone(),
        tx_dropped: tx.iter().map(|t| t.dropped).collect(),
        handed_off: handed,
        handoff_dropped: lost,
    };
    if let Ok(mut slot) = result.lock() {
        *slot = Some(res);
    }
    0
}

/// The worker's connections, IPv4 and IPv6, as `ipvsadm -L -c` lists them.
fn connections(engine: &Worker<Pkt>, worker: u16, now: u64) -> Vec<rvs_control::ConnEntry> {
    use std::net::{IpAddr, SocketAddr};
    fn entry<A: Into<IpAddr> + Copy>(
        proto: u8,
        state: &'static str,
        expires_ns: u64,
        (client, cport, vip, vport): (A, u16, A, u16),
        d: &rvs_engine::worker::ConnData<A, impl Copy>,
        worker: u16,
        now: u64,
    ) -> rvs_control::ConnEntry {
        let sa = |a: A, p: u16| SocketAddr::new(a.into(), p);
        rvs_control::ConnEntry {
            protocol: match proto {
                6 => "TCP".into(),
                17 => "UDP".into(),
                _ => "IP".into(),
            },
            state: state.into(),
            expires: (expires_ns.saturating_sub(now) / 1_000_000_000) as u32,
            source: sa(client, cport),
            virtual_address: sa(vip, vport),
            destination: sa(d.rip, d.rport),
            local: (d.lport != 0).then(|| sa(d.lip, d.lport)),
            worker,
        }
    }
    let v4 = engine.conns().iter().map(|(_, e)| {
        let k = &e.in_key;
        let ends = (k.src, k.src_port, k.dst, k.dst_port);
        entry(
            k.proto,
            e.state.name(),
            e.expires_ns,
            ends,
            &e.data,
            worker,
            now,
        )
    });
    let v6 = engine.conns6().iter().map(|(_, e)| {
        let k = &e.in_key;
        let ends = (k.src, k.src_port, k.dst, k.dst_port);
        entry(
            k.proto,
            e.state.name(),
            e.expires_ns,
            ends,
            &e.data,
            worker,
            now,
        )
    });
    v4.chain(v6).collect()
}

/// A copy of `m` in a fresh buffer from `pool`, taken as received on the same port.
fn copy_of(pool: &Mempool, m: &Mbuf) -> Option<Mbuf> {
    let mut c = pool.alloc()?;
    let data = m.data();
    if !c.set_len(data.len()) {
        return None;
    }
    c.data_mut().copy_from_slice(data);
    c.set_port(m.port());
    Some(c)
}

/// Whether a worker prefetches a burst's connection-table memory before handling it
/// (`Worker::prefetch`); `RVS_PREFETCH=off` in the environment turns it off, to measure what
/// it gives (`bench/results/prefetch/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prefetch {
    On,
    Off,
}

impl Prefetch {
    fn from_env() -> Prefetch {
        match std::env::var("RVS_PREFETCH").as_deref() {
            Ok("off") => Prefetch::Off,
            _ => Prefetch::On,
        }
    }

    #[inline]
    fn run(self, engine: &Worker<Pkt>, burst: &Burst) {
        if self == Prefetch::On {
            engine.prefetch(burst.iter().map(|m| m.data()));
        }
    }
}
