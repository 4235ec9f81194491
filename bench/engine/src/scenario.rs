//! The benchmark topology for each forwarding method, as a configuration for the engine (and
//! for rvsd), and a worker driven through it.
//!
//! ```text
//! clients 10.0.0.0/8 ── router 198.18.x.254 ── director ── real servers
//! ```
//! - DR: one port "lan" 198.18.1.2/24; VIP 198.18.1.200:80; RS 198.18.1.10 and .20 on the LAN.
//! - TUN: as DR, RS 198.18.2.10 and .20 behind the router, reached through IPIP.
//! - NAT: "outside" 198.18.0.1/24 (VIP 198.18.0.100:80), "inside" 198.18.1.1/24 with RS
//!   198.18.1.10:8080 and .20:8080.
//! - FullNAT: as NAT, "inside" 198.18.1.2/24 with 20 local addresses 198.18.1.100–119 (20 ×
//!   64,512 ports: room for a million connections and more).
//!
//! Every next hop is a static `[[neighbours]]` entry, so nothing waits for ARP; the scheduler
//! is rr over two real servers.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Instant;

use rvs_conn::state::Timeouts;
use rvs_conn::TcpState;
use rvs_engine::{Director, PortIdx, Worker, WorkerConfig};
use rvs_wire::MacAddr;

use crate::buf::{BenchBuf, CaptureIo, Pool, SinkIo};
use crate::frame::{client, flags, Frame, Tcp, PORT_MACS, ROUTER_MAC, RS1_MAC, RS2_MAC};

/// Frames handled between two readings of the clock, as rvsd reads it once per poll.
pub const BURST: usize = 32;

/// A forwarding method under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// Direct routing (MAC rewrite).
    Dr,
    /// NAT (destination rewrite, replies through the director).
    Nat,
    /// FullNAT (both ends rewritten, TOA on the SYN).
    FullNat,
    /// IPIP tunnelling.
    Tun,
}

impl Method {
    /// Every method, in the order the results list them.
    pub const ALL: [Method; 4] = [Method::Dr, Method::Nat, Method::FullNat, Method::Tun];

    /// Lower-case name (as in configurations and result files).
    pub fn name(self) -> &'static str {
        match self {
            Method::Dr => "dr",
            Method::Nat => "nat",
            Method::FullNat => "fullnat",
            Method::Tun => "tun",
        }
    }

    /// The method called `s`.
    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == s)
    }

    /// Whether the real servers' replies come back through the director.
    pub fn two_way(self) -> bool {
        matches!(self, Method::Nat | Method::FullNat)
    }

    /// Ports of the topology (DR and TUN: one; NAT and FullNAT: outside and inside).
    pub fn ports(self) -> usize {
        if self.two_way() {
            2
        } else {
            1
        }
    }

    /// The virtual service.
    pub fn vip(self) -> (Ipv4Addr, u16) {
        match self {
            Method::Dr | Method::Tun => (Ipv4Addr::new(198, 18, 1, 200), 80),
            Method::Nat | Method::FullNat => (Ipv4Addr::new(198, 18, 0, 100), 80),
        }
    }

    /// The configuration, with `devices` as the (device, vdev arguments) of each port.
    pub fn config(self, max_connections: u32, workers: u16, devices: &[(&str, &str)]) -> String {
        let dev = |i: usize| {
            let (d, a) = devices.get(i).copied().unwrap_or(("net_null9", ""));
            if a.is_empty() {
                format!("device = \"{d}\"\n")
            } else {
                format!("device = \"{d}\"\nargs = \"{a}\"\n")
            }
        };
        let mac = |m: [u8; 6]| MacAddr(m).to_string();
        let mut s = format!("workers = {workers}\nmax_connections = {max_connections}\n");
        match self {
            Method::Dr | Method::Tun => {
                let (rs, method) = if self == Method::Dr {
                    (["198.18.1.10", "198.18.1.20"], "dr")
                } else {
                    (["198.18.2.10", "198.18.2.20"], "tun")
                };
                s += &format!(
                    "[[ports]]\nname = \"lan\"\n{}addresses = [\"198.18.1.2/24\"]\n\
                     [[routes]]\nprefix = \"0.0.0.0/0\"\nvia = \"198.18.1.254\"\nport = \"lan\"\n\
                     [[neighbours]]\nport = \"lan\"\naddress = \"198.18.1.254\"\nmac = \"{}\"\n",
                    dev(0),
                    mac(ROUTER_MAC)
                );
                if self == Method::Dr {
                    for (a, m) in rs.iter().zip([RS1_MAC, RS2_MAC]) {
                        s += &format!(
                            "[[neighbours]]\nport = \"lan\"\naddress = \"{a}\"\nmac = \"{}\"\n",
                            mac(m)
                        );
                    }
                }
                s += "[[services]]\nprotocol = \"tcp\"\naddress = \"198.18.1.200:80\"\nscheduler = \"rr\"\n";
                for a in rs {
                    s += &format!(
                        "[[services.real_servers]]\naddress = \"{a}:80\"\nmethod = \"{method}\"\n"
                    );
                }
            }
            Method::Nat | Method::FullNat => {
                let inside = if self == Method::Nat {
                    "addresses = [\"198.18.1.1/24\"]\n".to_string()
                } else {
                    let lips: Vec<String> =
                        (100..120).map(|h| format!("\"198.18.1.{h}\"")).collect();
                    format!(
                        "addresses = [\"198.18.1.2/24\"]\nlocal_addresses = [{}]\n",
                        lips.join(", ")
                    )
                };
                s += &format!(
                    "[[ports]]\nname = \"outside\"\n{}addresses = [\"198.18.0.1/24\"]\n\
                     [[ports]]\nname = \"inside\"\n{}{inside}\
                     [[routes]]\nprefix = \"0.0.0.0/0\"\nvia = \"198.18.0.254\"\nport = \"outside\"\n\
                     [[neighbours]]\nport = \"outside\"\naddress = \"198.18.0.254\"\nmac = \"{}\"\n\
                     [[neighbours]]\nport = \"inside\"\naddress = \"198.18.1.10\"\nmac = \"{}\"\n\
                     [[neighbours]]\nport = \"inside\"\naddress = \"198.18.1.20\"\nmac = \"{}\"\n\
                     [[services]]\nprotocol = \"tcp\"\naddress = \"198.18.0.100:80\"\nscheduler = \"rr\"\n",
                    dev(0),
                    dev(1),
                    mac(ROUTER_MAC),
                    mac(RS1_MAC),
                    mac(RS2_MAC)
                );
                let (port, method) = if self == Method::Nat {
                    (8080, "nat")
                } else {
                    (80, "fullnat")
                };
                for a in ["198.18.1.10", "198.18.1.20"] {
                    s += &format!(
                        "[[services.real_servers]]\naddress = \"{a}:{port}\"\nmethod = \"{method}\"\n"
                    );
                }
            }
        }
        s
    }

    /// Client `i`'s packet to the VIP with TCP `flags`, as it arrives at the director's
    /// client-side port (port 0).
    pub fn to_vip(self, i: u32, tcp_flags: u8) -> Frame {
        let (src, sport) = client(i);
        let (dst, dport) = self.vip();
        Tcp {
            src_mac: ROUTER_MAC,
            dst_mac: PORT_MACS[0],
            src,
            sport,
            dst,
            dport,
            flags: tcp_flags,
        }
        .build()
    }
}

/// The timeouts of scenarios that open connections without end: half-open connections
/// expire after a second (so they can be reaped between measurements), the established ones
/// the scenario keeps as background never do.
pub fn churn_timeouts() -> Timeouts {
    let mut t = Timeouts::default();
    for s in TcpState::ALL {
        t.tcp[s.index()] = 1_000_000 * 1_000_000_000;
    }
    t.tcp[TcpState::None.index()] = 1_000_000_000;
    t.tcp[TcpState::SynRecv.index()] = 1_000_000_000;
    t
}

/// One worker of the engine in a topology, with its buffers and sink.
pub struct Scenario {
    /// The method of its only service.
    pub method: Method,
    /// The engine.
    pub worker: Worker<BenchBuf>,
    /// Its buffers.
    pub pool: Pool,
    /// Where its frames go.
    pub sink: SinkIo,
    /// Whether [`Self::run`] lets the engine prefetch each burst's connections first
    /// (`Worker::prefetch`, as rvsd does); `RVS_BENCH_PREFETCH=0` turns it off to measure the
    /// difference in one build.
    pub prefetch: bool,
    epoch: Instant,
    offset_ns: u64,
}

impl Scenario {
    /// A worker for `method` with a table of `max_connections`; `tweak` may change its
    /// configuration further.
    pub fn new(
        method: Method,
        max_connections: u32,
        tweak: impl FnOnce(&mut WorkerConfig),
    ) -> Self {
        let toml = method.config(max_connections, 1, &[("net_pcap0", ""), ("net_null0", "")]);
        let cfg = rvs_config::parse(&toml).expect("the benchmark configuration parses");
        let macs: Vec<MacAddr> = PORT_MACS[..method.ports()]
            .iter()
            .map(|m| MacAddr(*m))
            .collect();
        let dir = Director::new(&cfg, &macs, None).expect("the benchmark configuration compiles");
        let mut wc = WorkerConfig {
            max_connections: cfg.max_connections as usize,
            expire_budget: 1 << 20,
            ..WorkerConfig::default()
        };
        tweak(&mut wc);
        let pool = Pool::new(4 * BURST);
        Scenario {
            method,
            worker: Worker::new(Arc::new(dir), wc),
            sink: SinkIo::new(pool.clone()),
            pool,
            prefetch: std::env::var("RVS_BENCH_PREFETCH").map_or(true, |v| v != "0"),
            epoch: Instant::now(),
            offset_ns: 0,
        }
    }

    /// The engine's clock: real time since the scenario began, plus what [`Self::advance`]
    /// added.
    #[inline]
    pub fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64 + self.offset_ns
    }

    /// Move the clock forward by `ns` (to let timers run out).
    pub fn advance(&mut self, ns: u64) {
        self.offset_ns += ns;
    }

    /// Handle `frames`, received on `port`, through the sink, reading the clock once per
    /// [`BURST`]: the measured path.
    #[inline]
    pub fn run(&mut self, port: PortIdx, frames: &[Frame]) {
        for burst in frames.chunks(BURST) {
            let now = self.now();
            if self.prefetch {
                self.worker.prefetch(burst.iter().map(|f| &f[..]));
            }
            for f in burst {
                if let Some(b) = self.pool.get(f) {
                    self.worker.handle(now, port, b, &mut self.sink);
                }
            }
        }
    }

    /// What [`Self::run`] costs without the engine: clock, buffer, copy of the frame, free.
    #[inline]
    pub fn run_copy_only(&mut self, frames: &[Frame]) {
        for burst in frames.chunks(BURST) {
            let now = self.now();
            for f in burst {
                if let Some(b) = self.pool.get(f) {
                    std::hint::black_box((now, &b));
                }
            }
        }
    }

    fn feed_capture(
        &mut self,
        port: PortIdx,
        frame: &Frame,
        io: &mut CaptureIo,
    ) -> Option<Vec<u8>> {
        io.sent.clear();
        let b = self.pool.get(frame)?;
        let now = self.now();
        self.worker.handle(now, port, b, io);
        match io.sent.as_slice() {
            [(_, f)] => Some(f.clone()),
            _ => None,
        }
    }

    /// Open the connections of clients `ids` with a full handshake (the SYN-ACK from the real
    /// server too where replies come through the director), leaving them ESTABLISHED. Returns,
    /// for two-way methods, each connection's reply (real server → client ACK, as it arrives
    /// on the inside port 1), in the order of `ids`.
    ///
    /// Panics if the engine does not forward a handshake packet: the benchmark would be
    /// measuring drops.
    pub fn establish(&mut self, ids: &[u32]) -> Vec<Frame> {
        let mut io = CaptureIo::new(self.pool.clone());
        let mut replies = Vec::with_capacity(if self.method.two_way() { ids.len() } else { 0 });
        for &i in ids {
            let syn = self.method.to_vip(i, flags::SYN);
            let fwd = self.feed_capture(0, &syn, &mut io).unwrap_or_else(|| {
                panic!(
                    "{:?}: SYN of client {i} not forwarded; drops: {:?}",
                    self.method,
                    self.worker.stats.nonzero_drops().collect::<Vec<_>>()
                )
            });
            if self.method.two_way() {
                let t = Tcp::parse(&fwd).expect("the engine forwards TCP");
                let reply = |f: u8| {
                    Tcp {
                        src_mac: t.dst_mac,
                        dst_mac: PORT_MACS[1],
                        src: t.dst,
                        sport: t.dport,
                        dst: t.src,
                        dport: t.sport,
                        flags: f,
                    }
                    .build()
                };
                let synack = reply(flags::SYN | flags::ACK);
                self.feed_capture(1, &synack, &mut io).unwrap_or_else(|| {
                    panic!("{:?}: SYN-ACK of client {i} not forwarded", self.method)
                });
                replies.push(reply(flags::ACK));
            }
            let ack = self.method.to_vip(i, flags::ACK);
            self.feed_capture(0, &ack, &mut io)
                .unwrap_or_else(|| panic!("{:?}: ACK of client {i} not forwarded", self.method));
        }
        replies
    }

    /// Run the timers until at most `live` connections are left (after [`Self::advance`]);
    /// returns how many were reaped.
    pub fn expire_until(&mut self, live: usize) -> usize {
        let before = self.worker.conns().len();
        let mut idle_rounds = 0;
        while self.worker.conns().len() > live && idle_rounds < 8 {
            let n = self.worker.conns().len();
            let now = self.now();
            self.worker.tick(now, &mut self.sink);
            if self.worker.conns().len() == n {
                idle_rounds += 1;
                self.advance(1_000_000_000);
            }
        }
        before - self.worker.conns().len()
    }
}

/// `n` client ids from `first`, shuffled with `seed`: traffic that visits the connection table
/// in no useful order, as real traffic does.
pub fn shuffled_ids(first: u32, n: u32, seed: u64) -> Vec<u32> {
    let mut v: Vec<u32> = (first..first + n).collect();
    crate::frame::Rng::new(seed).shuffle(&mut v);
    v
}
