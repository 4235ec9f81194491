//! rvsd's control plane: the running table, live changes and reloads published to the
//! workers, statistics gathered from them, health checks, metrics, and the rvsadm socket.
//!
//! The workers never wait on the control thread. It publishes an immutable [`Director`] with
//! an atomic pointer swap that each worker picks up between bursts, and reads what each
//! worker publishes of its own counters every [`SNAPSHOT_EVERY`].

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use rvs_config::ipvsadm::Command;
use rvs_config::{Config, Method, OnFailure, RealServer, ServiceKey};
use rvs_control::metrics::{Extra, HealthTransitions, PortCounters};
use rvs_control::{
    ConnEntry, ControlError, Estimator, Handler, Health, RealServerEntry, ServiceEntry, Table,
    Timeouts,
};
use rvs_engine::director::Director;
use rvs_engine::worker::Traffic;
use rvs_engine::Stats;
use rvs_wire::MacAddr;

/// How often a worker publishes its counters.
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(100);

/// What one worker last published of itself.
#[derive(Clone, Debug, Default)]
pub struct WorkerSnapshot {
    /// The engine's counters.
    pub stats: Stats,
    /// Traffic per real-server slot.
    pub traffic: Vec<Traffic>,
}

/// One worker's mailbox with the control thread.
pub struct WorkerSlot {
    /// Its latest counters.
    pub snapshot: ArcSwap<WorkerSnapshot>,
    /// Bumped by the control thread to ask for a list of connections.
    pub conn_request: AtomicU64,
    /// The worker's answer: the request number it answers and the entries.
    pub conn_dump: ArcSwap<(u64, Vec<ConnEntry>)>,
}

impl Default for WorkerSlot {
    fn default() -> Self {
        WorkerSlot {
            snapshot: ArcSwap::from_pointee(WorkerSnapshot::default()),
            conn_request: AtomicU64::new(0),
            conn_dump: ArcSwap::from_pointee((0, Vec::new())),
        }
    }
}

/// What the control thread shares with the workers.
pub struct Published {
    /// The configuration the workers forward with.
    pub director: ArcSwap<Director>,
    /// One mailbox per worker.
    pub workers: Vec<WorkerSlot>,
}

/// Port counters, read by the control thread from DPDK (set by main, which owns the ports).
pub type PortReader = Box<dyn Fn() -> Vec<PortCounters> + Send + Sync>;

/// The running table and everything derived from it.
struct Inner {
    /// What the operator configured (file, then rvsadm changes): what `-S` saves.
    cfg: Config,
    /// Real servers the health checks hold down.
    down: HashSet<(ServiceKey, SocketAddr)>,
    /// Health-check transitions counted per real server: (to down, to up).
    transitions: HashMap<(ServiceKey, SocketAddr), (u64, u64)>,
    /// Counter values at the last `-Z`, per real-server slot.
    baseline: HashMap<u32, Traffic>,
    /// Rate estimators per real-server slot.
    estimators: HashMap<u32, Estimator>,
    last_sample: Instant,
}

/// rvsd's control plane.
pub struct Control {
    published: Arc<Published>,
    path: PathBuf,
    macs: Vec<MacAddr>,
    inner: Mutex<Inner>,
    ports: PortReader,
}

fn err(message: impl Into<String>) -> ControlError {
    ControlError::new(message)
}

fn traffic_stats(t: &Traffic) -> rvs_control::Stats {
    rvs_control::Stats {
        conns: t.conns,
        inpkts: t.in_packets,
        outpkts: t.out_packets,
        inbytes: t.in_bytes,
        outbytes: t.out_bytes,
    }
}

fn minus(a: &Traffic, b: &Traffic) -> Traffic {
    Traffic {
        conns: a.conns.wrapping_sub(b.conns),
        in_packets: a.in_packets.wrapping_sub(b.in_packets),
        out_packets: a.out_packets.wrapping_sub(b.out_packets),
        in_bytes: a.in_bytes.wrapping_sub(b.in_bytes),
        out_bytes: a.out_bytes.wrapping_sub(b.out_bytes),
    }
}

/// The configuration the data path runs: the operator's, with real servers the health
/// checks hold down quiesced (weight 0) or removed, and a service's sorry server added while
/// all of its real servers are down (keepalived's `sorry_server`).
pub fn effective(cfg: &Config, down: &HashSet<(ServiceKey, SocketAddr)>) -> Config {
    let mut eff = cfg.clone();
    for s in &mut eff.services {
        let Some(hc) = s.health_check.clone() else {
            continue;
        };
        let key = s.key;
        let total = s.real_servers.len();
        let is_down = |rs: &RealServer| down.contains(&(key, rs.address));
        let n_down = s.real_servers.iter().filter(|rs| is_down(rs)).count();
        match hc.on_failure {
            OnFailure::Quiesce => {
                for rs in s.real_servers.iter_mut() {
                    if down.contains(&(key, rs.address)) {
                        rs.weight = 0;
                    }
                }
            }
            OnFailure::Remove => s
                .real_servers
                .retain(|rs| !down.contains(&(key, rs.address))),
        }
        if total > 0 && n_down == total {
            if let Some(sorry) = hc.sorry_server {
                let method = cfg
                    .services
                    .iter()
                    .find(|x| x.key == key)
                    .and_then(|x| x.real_servers.first())
                    .map_or(Method::Nat, |r| r.method);
                s.real_servers.retain(|rs| rs.address != sorry);
                s.real_servers.push(RealServer {
                    address: sorry,
                    method,
                    weight: 1,
                    upper_threshold: 0,
                    lower_threshold: 0,
                });
            }
        }
    }
    eff
}

impl Control {
    /// The control plane over `cfg` (read from `path`), publishing to `published`.
    pub fn new(
        cfg: Config,
        path: PathBuf,
        macs: Vec<MacAddr>,
        published: Arc<Published>,
        ports: PortReader,
    ) -> Control {
        Control {
            published,
            path,
            macs,
            ports,
            inner: Mutex::new(Inner {
                cfg,
                down: HashSet::new(),
                transitions: HashMap::new(),
                baseline: HashMap::new(),
                estimators: HashMap::new(),
                last_sample: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Compile the effective configuration and hand it to the workers. Nothing changes when it
    /// does not compile.
    fn publish(&self, inner: &Inner) -> Result<(), ControlError> {
        let eff = effective(&inner.cfg, &inner.down);
        let current = self.published.director.load_full();
        let next =
            Director::new(&eff, &self.macs, Some(&current)).map_err(|e| err(e.to_string()))?;
        next.activate();
        self.published.director.store(Arc::new(next));
        Ok(())
    }

    /// Health-check targets of the current configuration.
    pub fn health_targets(&self) -> Vec<rvs_control::Target> {
        let inner = self.lock();
        let mut out = Vec::new();
        for s in &inner.cfg.services {
            let Some(hc) = &s.health_check else { continue };
            for rs in &s.real_servers {
                // A real server on port 0 takes the client's port: probe the service's.
                let mut probe = rs.address;
                if probe.port() == 0 {
                    probe.set_port(s.key.port());
                }
                out.push(rvs_control::Target {
                    service: s.key,
                    server: rs.address,
                    probe,
                    check: hc.clone(),
                });
            }
        }
        out
    }

    /// A health check changed its verdict: quiesce, remove or restore the real server.
    pub fn health_changed(&self, svc: ServiceKey, server: SocketAddr, health: Health) {
        let mut inner = self.lock();
        let changed = match health {
            Health::Down => inner.down.insert((svc, server)),
            Health::Up => inner.down.remove(&(svc, server)),
        };
        let t = inner.transitions.entry((svc, server)).or_default();
        match health {
            Health::Down => t.0 += 1,
            Health::Up => t.1 += 1,
        }
        tracing::warn!(service = %svc, real_server = %server, ?health, "health check transition");
        if changed {
            if let Err(e) = self.publish(&inner) {
                tracing::error!(error = %e.message, "could not apply a health-check transition");
            }
        }
    }

    /// Re-read the configuration file and switch to it; the running table stays on any error.
    pub fn reload_file(&self) -> Result<(), ControlError> {
        let cfg = rvs_config::load(&self.path).map_err(|e| match e {
            rvs_config::ConfigError::Io { .. } => err(e.to_string()),
            _ => err(format!("{}: {e}", self.path.display())),
        })?;
        let mut inner = self.lock();
        let old = &inner.cfg;
        let same_ports = old.ports.len() == cfg.ports.len()
            && old
                .ports
                .iter()
                .zip(&cfg.ports)
                .all(|(a, b)| a.name == b.name && a.device == b.device && a.args == b.args);
        if !same_ports || old.workers != cfg.workers || old.max_connections != cfg.max_connections {
            return Err(err(format!(
                "{}: ports, workers and max_connections cannot change while rvsd runs; restart it to change them",
                self.path.display()
            )));
        }
        let previous = std::mem::replace(&mut inner.cfg, cfg);
        if let Err(e) = self.publish(&inner) {
            inner.cfg = previous;
            return Err(e);
        }
        tracing::info!(path = %self.path.display(), "configuration reloaded");
        Ok(())
    }

    /// Sum of the workers' latest traffic per slot.
    fn traffic(&self) -> Vec<Traffic> {
        let mut sum: Vec<Traffic> = Vec::new();
        for w in &self.published.workers {
            let snap = w.snapshot.load();
            if sum.len() < snap.traffic.len() {
                sum.resize(snap.traffic.len(), Traffic::default());
            }
            for (a, b) in sum.iter_mut().zip(&snap.traffic) {
                a.add(b);
            }
        }
        sum
    }

    /// The engine counters of all workers.
    pub fn engine_stats(&self) -> Stats {
        let mut total = Stats::default();
        for w in &self.published.workers {
            total.add(&w.snapshot.load().stats);
        }
        total
    }

    /// Sample the rate estimators when their 2-second interval has passed (ip_vs_est.c).
    pub fn sample(&self) {
        let mut inner = self.lock();
        if inner.last_sample.elapsed() < rvs_control::ESTIMATOR_INTERVAL {
            return;
        }
        inner.last_sample = Instant::now();
        let traffic = self.traffic();
        let dir = self.published.director.load();
        for (_, rs) in dir.all_servers() {
            let t = traffic.get(rs.slot as usize).copied().unwrap_or_default();
            let base = inner.baseline.get(&rs.slot).copied().unwrap_or_default();
            inner
                .estimators
                .entry(rs.slot)
                .or_default()
                .sample(traffic_stats(&minus(&t, &base)));
        }
    }

    /// Prometheus text for the metrics listener.
    pub fn metrics(&self) -> String {
        let table = self.table();
        let stats = self.engine_stats();
        let inner = self.lock();
        let extra = Extra {
            ports: (self.ports)(),
            drops: rvs_engine::DropReason::ALL
                .iter()
                .map(|r| (r.name().to_string(), stats.drops_of(*r)))
                .collect(),
            health_transitions: inner
                .transitions
                .iter()
                .map(|((svc, rs), (down, up))| HealthTransitions {
                    service: svc.to_string(),
                    real_server: *rs,
                    to_down: *down,
                    to_up: *up,
                })
                .collect(),
            synproxy: stats
                .synproxy()
                .iter()
                .map(|(n, v)| (n.to_string(), *v))
                .collect(),
        };
        drop(inner);
        rvs_control::metrics::render(&table, &extra)
    }
}

impl Handler for Control {
    fn apply(&self, args: &[String]) -> Result<(), ControlError> {
        let mut inner = self.lock();
        let mut next = inner.cfg.clone();
        let cmd = rvs_control::apply_args(&mut next, args)?;
        if let Command::Zero(svc) = cmd {
            drop(inner);
            return self.zero(svc);
        }
        let previous = std::mem::replace(&mut inner.cfg, next);
        if let Err(e) = self.publish(&inner) {
            inner.cfg = previous;
            return Err(e);
        }
        Ok(())
    }

    fn reload(&self) -> Result<(), ControlError> {
        self.reload_file()
    }

    fn table(&self) -> Table {
        let traffic = self.traffic();
        let dir = self.published.director.load();
        let inner = self.lock();
        let eff = effective(&inner.cfg, &inner.down);
        let mut services = Vec::with_capacity(dir.services.len());
        for (s, cs) in dir.services.iter().zip(&eff.services) {
            let mut svc_stats = rvs_control::Stats::default();
            let mut svc_rates = rvs_control::Rates::default();
            let mut real_servers = Vec::with_capacity(s.servers.len());
            for (rs, d) in s.servers.iter().zip(&s.dests) {
                let t = traffic.get(rs.slot as usize).copied().unwrap_or_default();
                let base = inner.baseline.get(&rs.slot).copied().unwrap_or_default();
                let st = traffic_stats(&minus(&t, &base));
                let rates = inner
                    .estimators
                    .get(&rs.slot)
                    .map(|e| e.rates())
                    .unwrap_or_default();
                svc_stats.add(&st);
                svc_rates.cps += rates.cps;
                svc_rates.inpps += rates.inpps;
                svc_rates.outpps += rates.outpps;
                svc_rates.inbps += rates.inbps;
                svc_rates.outbps += rates.outbps;
                let address = SocketAddr::new(rs.ip, rs.port);
                let conf = cs.real_servers.iter().find(|x| x.address == address);
                real_servers.push(RealServerEntry {
                    address,
                    method: rs.method,
                    weight: u32::try_from(d.weight).unwrap_or(0),
                    upper_threshold: conf.map_or(0, |c| c.upper_threshold),
                    lower_threshold: conf.map_or(0, |c| c.lower_threshold),
                    active_connections: rs.counters.active(),
                    inactive_connections: rs.counters.inactive(),
                    persistent_connections: rs.counters.persistent.load(Ordering::Relaxed),
                    stats: st,
                    rates,
                    health: cs.health_check.as_ref().map(|_| {
                        if inner.down.contains(&(cs.key, address)) {
                            Health::Down
                        } else {
                            Health::Up
                        }
                    }),
                });
            }
            services.push(ServiceEntry {
                key: s.config_key,
                scheduler: s.scheduler.clone(),
                sched_flags: cs.sched_flags,
                persistence: cs.persistence,
                persistence_prefix_len: cs.persistence_prefix_len,
                one_packet: cs.one_packet,
                stats: svc_stats,
                rates: svc_rates,
                real_servers,
            });
        }
        Table { services }
    }

    fn connections(&self) -> Vec<ConnEntry> {
        let mut asked = Vec::with_capacity(self.published.workers.len());
        for w in &self.published.workers {
            asked.push(w.conn_request.fetch_add(1, Ordering::Relaxed) + 1);
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut out = Vec::new();
        for (w, want) in self.published.workers.iter().zip(asked) {
            loop {
                let dump = w.conn_dump.load();
                if dump.0 >= want {
                    out.extend(dump.1.iter().cloned());
                    break;
                }
                if Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        out
    }

    fn timeouts(&self) -> Timeouts {
        self.lock().cfg.timeouts.into()
    }

    fn zero(&self, svc: Option<ServiceKey>) -> Result<(), ControlError> {
        let traffic = self.traffic();
        let dir = self.published.director.load();
        let mut inner = self.lock();
        if let Some(k) = svc {
            if !inner.cfg.services.iter().any(|s| s.key == k) {
                return Err(err("No such service"));
            }
        }
        for s in &dir.services {
            if svc.is_some_and(|k| k != s.config_key) {
                continue;
            }
            for rs in &s.servers {
                let t = traffic.get(rs.slot as usize).copied().unwrap_or_default();
                inner.baseline.insert(rs.slot, t);
                inner.estimators.insert(rs.slot, Estimator::new());
            }
        }
        Ok(())
    }

    fn save_toml(&self) -> String {
        rvs_config::ipvsadm::to_toml(&self.lock().cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = r#"
[[ports]]
name = "lan"
device = "net_null0"
addresses = ["198.18.1.2/24"]
[[services]]
protocol = "tcp"
address = "198.18.1.200:80"
scheduler = "rr"
[services.health_check]
kind = "tcp"
on_failure = "quiesce"
sorry_server = "198.18.1.99:80"
[[services.real_servers]]
address = "198.18.1.10:80"
method = "dr"
[[services.real_servers]]
address = "198.18.1.20:80"
method = "dr"
"#;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn health_quiesces_then_falls_back_to_the_sorry_server() {
        let cfg = rvs_config::parse(CFG).unwrap();
        let key = cfg.services[0].key;
        let mut down = HashSet::new();
        down.insert((key, addr("198.18.1.10:80")));
        let e = effective(&cfg, &down);
        let w: Vec<_> = e.services[0]
            .real_servers
            .iter()
            .map(|r| r.weight)
            .collect();
        assert_eq!(w, vec![0, 1]);
        down.insert((key, addr("198.18.1.20:80")));
        let e = effective(&cfg, &down);
        let rs: Vec<_> = e.services[0]
            .real_servers
            .iter()
            .map(|r| (r.address, r.weight))
            .collect();
        assert_eq!(
            rs,
            vec![
                (addr("198.18.1.10:80"), 0),
                (addr("198.18.1.20:80"), 0),
                (addr("198.18.1.99:80"), 1)
            ]
        );
    }

    #[test]
    fn health_can_remove_instead() {
        let cfg = rvs_config::parse(&CFG.replace("quiesce", "remove")).unwrap();
        let key = cfg.services[0].key;
        let down: HashSet<_> = [(key, addr("198.18.1.10:80"))].into_iter().collect();
        let e = effective(&cfg, &down);
        assert_eq!(e.services[0].real_servers.len(), 1);
        assert_eq!(
            e.services[0].real_servers[0].address,
            addr("198.18.1.20:80")
        );
    }
}
