//! Health checks of real servers, what keepalived's TCP_CHECK and HTTP_GET add around IPVS: per
//! real server a TCP connect or an HTTP GET expecting a status, every `interval`, each bounded
//! by `timeout`; `failures` consecutive failures take an up server down, `successes`
//! consecutive successes bring a down server back. Only transitions are reported, through a
//! callback; what a transition does (quiesce, remove, sorry server) is the caller's business.
//!
//! The probes are ordinary kernel sockets of the rvsd process: they reach the real servers
//! through the host's own interfaces (on a DPDK-owned NIC, through the exception path).
//!
//! A small pool of threads runs the checks in order of their due time; a check that hangs
//! holds one thread for at most its timeout.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rvs_config::{CheckKind, HealthCheck, ServiceKey};

pub use crate::protocol::Health;

/// What the checker is told of each transition: the service, the real server, its new state.
pub type Report = Arc<dyn Fn(ServiceKey, SocketAddr, Health) + Send + Sync>;

/// One real server to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub service: ServiceKey,
    /// The real server as the service knows it (what transitions are reported for).
    pub server: SocketAddr,
    /// Where the probe goes: usually `server`; for a real server on port 0 (the client's
    /// destination port) the caller picks a port to probe.
    pub probe: SocketAddr,
    /// `kind`, `interval`, `timeout`, `failures` and `successes` are used here; `on_failure`
    /// and `sorry_server` are the caller's.
    pub check: HealthCheck,
}

/// The checker's view of one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetState {
    pub service: ServiceKey,
    pub server: SocketAddr,
    pub health: Health,
    /// Transitions up → down since the target was added.
    pub went_down: u64,
    /// Transitions down → up since the target was added.
    pub went_up: u64,
    /// Why the last check failed; `None` after a success or before the first check.
    pub last_error: Option<String>,
}

type TargetKey = (ServiceKey, SocketAddr);

struct Entry {
    target: Target,
    state: TargetState,
    /// Consecutive results against the current state.
    streak: u32,
}

#[derive(Default)]
struct State {
    entries: HashMap<u64, Entry>,
    index: HashMap<TargetKey, u64>,
    /// Due checks by time; ids no longer in `entries` are skipped.
    queue: BinaryHeap<Reverse<(Instant, u64)>>,
    next_id: u64,
    stopping: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking report callback must not wedge the checker: take the state anyway.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The health checker: a pool of threads checking the current [`Target`]s.
pub struct HealthChecker {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl HealthChecker {
    /// Starts `threads` (at least 1) checking threads with no targets; `report` is called, from
    /// those threads, for each transition.
    pub fn start(threads: usize, report: Report) -> HealthChecker {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        });
        let threads = (0..threads.max(1))
            .filter_map(|i| {
                let (shared, report) = (shared.clone(), report.clone());
                thread::Builder::new()
                    .name(format!("rvs-health-{i}"))
                    .spawn(move || worker(&shared, &*report))
                    .ok()
            })
            .collect();
        HealthChecker { shared, threads }
    }

    /// Replaces the set of targets (one per service and real server; later duplicates are
    /// ignored). A target already checked with the same probe address and check keeps its
    /// state and schedule; new or changed ones start up (as keepalived's real
    /// servers do) and are checked at once; missing ones are dropped, and a check of theirs
    /// still running reports nothing.
    pub fn set_targets(&self, targets: Vec<Target>) {
        let now = Instant::now();
        let mut st = self.shared.lock();
        let mut keep: HashMap<u64, ()> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for t in targets {
            let key = (t.service, t.server);
            if !seen.insert(key) {
                continue; // a real server listed twice: the first entry counts
            }
            if let Some(&id) = st.index.get(&key) {
                if st.entries.get(&id).is_some_and(|e| e.target == t) {
                    keep.insert(id, ());
                    continue;
                }
            }
            let id = st.next_id;
            st.next_id += 1;
            let state = TargetState {
                service: t.service,
                server: t.server,
                health: Health::Up,
                went_down: 0,
                went_up: 0,
                last_error: None,
            };
            st.entries.insert(
                id,
                Entry {
                    target: t,
                    state,
                    streak: 0,
                },
            );
            st.index.insert(key, id);
            st.queue.push(Reverse((now, id)));
            keep.insert(id, ());
        }
        st.entries.retain(|id, _| keep.contains_key(id));
        let State { index, entries, .. } = &mut *st;
        index.retain(|_, id| entries.contains_key(id));
        drop(st);
        self.shared.wake.notify_all();
    }

    /// The state of every target.
    pub fn states(&self) -> Vec<TargetState> {
        let st = self.shared.lock();
        let mut v: Vec<(u64, TargetState)> = st
            .entries
            .iter()
            .map(|(id, e)| (*id, e.state.clone()))
            .collect();
        v.sort_by_key(|(id, _)| *id);
        v.into_iter().map(|(_, s)| s).collect()
    }

    /// Stops the threads and waits for them (at most the longest running check's timeout).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.wake.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for HealthChecker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn worker(shared: &Shared, report: &(dyn Fn(ServiceKey, SocketAddr, Health) + Send + Sync)) {
    let mut st = shared.lock();
    loop {
        if st.stopping {
            return;
        }
        let Some(&Reverse((due, id))) = st.queue.peek() else {
            st = shared.wake.wait(st).unwrap_or_else(|p| p.into_inner());
            continue;
        };
        let now = Instant::now();
        if due > now {
            st = shared
                .wake
                .wait_timeout(st, due - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            continue;
        }
        st.queue.pop();
        let Some(entry) = st.entries.get(&id) else {
            continue; // removed
        };
        let target = entry.target.clone();
        drop(st);

        let started = Instant::now();
        let result = check_once(target.probe, &target.check.kind, target.check.timeout);

        st = shared.lock();
        let Some(entry) = st.entries.get_mut(&id) else {
            continue; // removed while checking
        };
        let transition = record(entry, result);
        let next = (started + target.check.interval).max(Instant::now());
        st.queue.push(Reverse((next, id)));
        if let Some(h) = transition {
            drop(st);
            shared.wake.notify_one();
            tracing::info!(
                "health check: real server {} of service {} is {}",
                target.server,
                target.service,
                h
            );
            report(target.service, target.server, h);
            st = shared.lock();
        }
    }
}

/// Counts one check result; the new health when this result completes a transition.
fn record(entry: &mut Entry, result: Result<(), String>) -> Option<Health> {
    let ok = result.is_ok();
    entry.state.last_error = result.err();
    let (against, needed, to) = match entry.state.health {
        Health::Up => (!ok, entry.target.check.failures.max(1), Health::Down),
        Health::Down => (ok, entry.target.check.successes.max(1), Health::Up),
    };
    if !against {
        entry.streak = 0;
        return None;
    }
    entry.streak += 1;
    if entry.streak < needed {
        return None;
    }
    entry.streak = 0;
    entry.state.health = to;
    match to {
        Health::Down => entry.state.went_down += 1,
        Health::Up => entry.state.went_up += 1,
    }
    Some(to)
}

/// Runs one check of `addr`, finished within `timeout` (plus scheduling). `Err` says why it
/// failed.
pub fn check_once(addr: SocketAddr, kind: &CheckKind, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut stream = TcpStream::connect_timeout(&addr, timeout.max(Duration::from_millis(1)))
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    let CheckKind::Http { path, status } = kind else {
        return Ok(()); // TCP: the connection was accepted.
    };
    let remaining = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("HTTP GET {path} on {addr}: timed out"))
    };
    let io = |e: std::io::Error| match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => {
            format!("HTTP GET {path} on {addr}: timed out")
        }
        _ => format!("HTTP GET {path} on {addr}: {e}"),
    };
    let host = match addr {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    };
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: rvs-health-check\r\nConnection: close\r\n\r\n"
    );
    stream.set_write_timeout(Some(remaining()?)).map_err(io)?;
    stream.write_all(request.as_bytes()).map_err(io)?;
    // Read the status line only.
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < 4096 {
        stream.set_read_timeout(Some(remaining()?)).map_err(io)?;
        let n = stream.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or("");
    let mut words = line.split_ascii_whitespace();
    let got = match (words.next(), words.next()) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") => code.parse::<u16>().ok(),
        _ => None,
    };
    match got {
        Some(code) if code == *status => Ok(()),
        Some(code) => Err(format!(
            "HTTP GET {path} on {addr}: status {code}, expected {status}"
        )),
        None => Err(format!(
            "HTTP GET {path} on {addr}: not an HTTP response: {:?}",
            line.chars().take(80).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_config::OnFailure;
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
    use std::sync::mpsc;

    /// A real server on 127.0.0.1: accepts and closes (`status` 0), or answers HTTP with
    /// `status`, or (`u16::MAX`) accepts and says nothing.
    struct Server {
        addr: SocketAddr,
        stop: Arc<AtomicBool>,
        thread: Option<JoinHandle<()>>,
    }

    impl Server {
        fn start(addr: SocketAddr, status: Arc<AtomicU16>) -> Server {
            let l = TcpListener::bind(addr).unwrap();
            l.set_nonblocking(true).unwrap();
            let addr = l.local_addr().unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let s2 = stop.clone();
            let thread = thread::spawn(move || {
                let mut held = Vec::new();
                while !s2.load(Ordering::Relaxed) {
                    match l.accept() {
                        Ok((mut c, _)) => {
                            let code = status.load(Ordering::Relaxed);
                            if code == u16::MAX {
                                held.push(c);
                                continue;
                            }
                            if code != 0 {
                                c.set_nonblocking(false).unwrap();
                                c.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
                                let mut buf = [0u8; 1024];
                                let _ = c.read(&mut buf);
                                let reply = if code == 1 {
                                    "SSH-2.0-OpenSSH\r\n".to_string()
                                } else {
                                    format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n")
                                };
                                let _ = c.write_all(reply.as_bytes());
                            }
                        }
                        Err(_) => thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
            Server {
                addr,
                stop,
                thread: Some(thread),
            }
        }

        fn stop(mut self) {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(t) = self.thread.take() {
                t.join().unwrap();
            }
        }
    }

    fn spec(kind: CheckKind, interval_ms: u64, failures: u32, successes: u32) -> HealthCheck {
        HealthCheck {
            kind,
            interval: Duration::from_millis(interval_ms),
            timeout: Duration::from_millis(interval_ms * 8 / 10),
            failures,
            successes,
            on_failure: OnFailure::Quiesce,
            sorry_server: None,
        }
    }

    fn svc() -> ServiceKey {
        ServiceKey::Tcp("198.18.0.100:80".parse().unwrap())
    }

    type Events = mpsc::Receiver<(ServiceKey, SocketAddr, Health, Instant)>;

    fn checker() -> (HealthChecker, Events) {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let report: Report = Arc::new(move |s, a, h| {
            let _ = tx.lock().unwrap().send((s, a, h, Instant::now()));
        });
        (HealthChecker::start(2, report), rx)
    }

    /// The time to the transition: at least (n-1) intervals (n results are needed and the
    /// first may come at once), at most n intervals plus scheduling slack.
    fn assert_within(elapsed: Duration, interval: Duration, n: u32) {
        let lower = (interval * (n - 1)).saturating_sub(Duration::from_millis(20));
        let upper = interval * n + Duration::from_millis(900);
        assert!(
            elapsed >= lower && elapsed <= upper,
            "{elapsed:?} not in {lower:?}..={upper:?}"
        );
    }

    #[test]
    fn tcp_check_goes_down_and_comes_back() {
        let status = Arc::new(AtomicU16::new(0));
        let server = Server::start("127.0.0.1:0".parse().unwrap(), status.clone());
        let addr = server.addr;
        let check = spec(CheckKind::Tcp, 100, 3, 2);
        let (hc, events) = checker();
        hc.set_targets(vec![Target {
            service: svc(),
            server: addr,
            probe: addr,
            check: check.clone(),
        }]);
        // Healthy: no transition.
        assert!(events.recv_timeout(Duration::from_millis(350)).is_err());
        assert_eq!(hc.states()[0].health, Health::Up);

        server.stop();
        let t0 = Instant::now();
        let (s, a, h, at) = events.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!((s, a, h), (svc(), addr, Health::Down));
        assert_within(at - t0, check.interval, check.failures);
        let st = &hc.states()[0];
        assert_eq!((st.health, st.went_down, st.went_up), (Health::Down, 1, 0));
        assert!(st
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("connect to 127.0.0.1:"));

        let server = Server::start(addr, status);
        let t1 = Instant::now();
        let (_, _, h, at) = events.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(h, Health::Up);
        assert_within(at - t1, check.interval, check.successes);
        assert_eq!(hc.states()[0].went_up, 1);
        assert!(events.recv_timeout(Duration::from_millis(250)).is_err());
        hc.stop();
        server.stop();
    }

    #[test]
    fn http_check_follows_the_status() {
        let status = Arc::new(AtomicU16::new(200));
        let server = Server::start("127.0.0.1:0".parse().unwrap(), status.clone());
        let addr = server.addr;
        let check = spec(
            CheckKind::Http {
                path: "/health".into(),
                status: 200,
            },
            100,
            2,
            1,
        );
        let (hc, events) = checker();
        hc.set_targets(vec![Target {
            service: svc(),
            server: addr,
            probe: addr,
            check: check.clone(),
        }]);
        assert!(events.recv_timeout(Duration::from_millis(300)).is_err());

        status.store(500, Ordering::Relaxed);
        let t0 = Instant::now();
        let (_, _, h, at) = events.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(h, Health::Down);
        assert_within(at - t0, check.interval, check.failures);
        assert_eq!(
            hc.states()[0].last_error.as_deref(),
            Some(format!("HTTP GET /health on {addr}: status 500, expected 200").as_str())
        );

        status.store(200, Ordering::Relaxed);
        let t1 = Instant::now();
        let (_, _, h, at) = events.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(h, Health::Up);
        assert_within(at - t1, check.interval, check.successes);
        hc.stop();
        server.stop();
    }

    #[test]
    fn check_once_judges_tcp_http_garbage_and_silence() {
        let status = Arc::new(AtomicU16::new(204));
        let server = Server::start("127.0.0.1:0".parse().unwrap(), status.clone());
        let a = server.addr;
        let t = Duration::from_millis(300);
        let http = |s| CheckKind::Http {
            path: "/".into(),
            status: s,
        };
        assert_eq!(check_once(a, &CheckKind::Tcp, t), Ok(()));
        assert_eq!(check_once(a, &http(204), t), Ok(()));
        assert!(check_once(a, &http(200), t)
            .unwrap_err()
            .ends_with("status 204, expected 200"));
        status.store(1, Ordering::Relaxed); // not HTTP
        assert!(check_once(a, &http(200), t)
            .unwrap_err()
            .contains("not an HTTP response: \"SSH-2.0-OpenSSH\""));
        status.store(u16::MAX, Ordering::Relaxed); // accepts, never answers
        let started = Instant::now();
        let e = check_once(a, &http(200), t).unwrap_err();
        assert!(e.ends_with("timed out"), "{e}");
        assert!(started.elapsed() < t + Duration::from_millis(500));
        // TCP only needs the accept.
        assert_eq!(check_once(a, &CheckKind::Tcp, t), Ok(()));
        server.stop();
        assert!(check_once(a, &CheckKind::Tcp, t)
            .unwrap_err()
            .starts_with(&format!("connect to {a}: ")));
    }

    #[test]
    fn targets_are_replaced_keeping_unchanged_state() {
        let status = Arc::new(AtomicU16::new(0));
        let up = Server::start("127.0.0.1:0".parse().unwrap(), status);
        // A port with nothing behind it: bind, note, close.
        let dead = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let check = spec(CheckKind::Tcp, 50, 1, 1);
        let t_up = Target {
            service: svc(),
            server: up.addr,
            probe: up.addr,
            check: check.clone(),
        };
        let t_dead = Target {
            service: svc(),
            server: dead,
            probe: dead,
            check: check.clone(),
        };
        let (hc, events) = checker();
        hc.set_targets(vec![t_up.clone(), t_dead.clone()]);
        let (_, a, h, _) = events.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!((a, h), (dead, Health::Down));
        // Same targets again (one twice): the dead one stays down (no new "down" report).
        hc.set_targets(vec![t_dead.clone(), t_up.clone(), t_dead.clone()]);
        assert!(events.recv_timeout(Duration::from_millis(300)).is_err());
        let states = hc.states();
        assert_eq!(states.len(), 2);
        assert_eq!(
            states.iter().find(|s| s.server == dead).unwrap().went_down,
            1
        );
        // Removed: no more reports and no state.
        hc.set_targets(vec![t_up.clone()]);
        assert_eq!(hc.states().len(), 1);
        assert_eq!(hc.states()[0].server, up.addr);
        // A changed check restarts the target as up; the dead one re-added goes down again.
        let mut t_dead2 = t_dead.clone();
        t_dead2.check.failures = 2;
        hc.set_targets(vec![t_up, t_dead2]);
        let (_, a, h, _) = events.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!((a, h), (dead, Health::Down));
        hc.stop();
        up.stop();
    }

    #[test]
    fn record_counts_streaks_against_the_current_state() {
        let t = Target {
            service: svc(),
            server: "127.0.0.1:1".parse().unwrap(),
            probe: "127.0.0.1:1".parse().unwrap(),
            check: spec(CheckKind::Tcp, 100, 3, 2),
        };
        let mut e = Entry {
            state: TargetState {
                service: t.service,
                server: t.server,
                health: Health::Up,
                went_down: 0,
                went_up: 0,
                last_error: None,
            },
            target: t,
            streak: 0,
        };
        let fail = || Err("x".to_string());
        // fail, fail, ok resets, then three failures.
        assert_eq!(record(&mut e, fail()), None);
        assert_eq!(record(&mut e, fail()), None);
        assert_eq!(record(&mut e, Ok(())), None);
        assert_eq!(record(&mut e, fail()), None);
        assert_eq!(record(&mut e, fail()), None);
        assert_eq!(record(&mut e, fail()), Some(Health::Down));
        assert_eq!(record(&mut e, Ok(())), None);
        assert_eq!(record(&mut e, fail()), None);
        assert_eq!(record(&mut e, Ok(())), None);
        assert_eq!(record(&mut e, Ok(())), Some(Health::Up));
        assert_eq!((e.state.went_down, e.state.went_up), (1, 1));
    }
}
