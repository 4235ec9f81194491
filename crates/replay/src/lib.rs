//! rvs-replay: the rvs engine run over a capture and a timeline of ipvsadm commands, on the
//! capture's clock, deterministically — to ask "what would this traffic do under wlc rather
//! than mh?", to rehearse a drain, and for conformance tests against kernel IPVS.
//!
//! ```text
//! rvs-replay --pcap IN.pcap [--timeline OPS.txt] [--config FILE.toml] [--out OUT.pcap] --decisions OUT.jsonl
//!            [--max-connections N] [--quiet]
//! ```
//!
//! It prints a one-line summary (packets, commands, decisions, frames out, connections, drops
//! by reason) on standard error, and exits 0; on an error it prints the file and line (or
//! packet) and exits 1.
//!
//! - **Ports.** Every frame of the capture is taken as received on the director's first port
//!   (index 0), whatever its destination MAC. Port *i* has the MAC `02:72:76:73:00:`*i+1*
//!   (locally administered; `72:76:73` is "rvs"), so port 0 is `02:72:76:73:00:01`. Next hops
//!   are not resolved by ARP: a frame to next hop `a.b.c.d` leaves with the destination MAC
//!   `02:00:a.b.c.d`, as the engine's synthetic neighbours make them.
//! - **Configuration.** Without `--config` the director has one port (`name = "replay"`, no
//!   addresses) and no services until the timeline adds them. Either way, when the
//!   configuration has no default route, an on-link default route `0.0.0.0/0` on the first
//!   port is added, so that every NAT and DR real server has a next hop. The configuration's
//!   `[timeouts]` are the starting point for `--set`. TUN and FullNAT need a source address
//!   (a port address, LIPs): give a configuration that has them.
//! - **Clock.** Time zero is the first packet's timestamp; the engine's clock is nanoseconds
//!   since then. The clock never goes backwards: a packet stamped earlier than the one before
//!   it is handled at the earlier packet's time (and counted in [`Summary::late_packets`]).
//!   Before each packet the worker's timers run up to its time (connections whose timeout
//!   has passed are gone), interleaved in time order with the timeline commands due.
//!   Caveat: the engine's connection table reaps in one-second slots, so although a packet
//!   never matches a connection past its expiry, the counts the dynamic schedulers (lc, wlc,
//!   sed, nq, …) read may include a connection for up to a second after it expired.
//! - **Timeline** ([`timeline`]): `<t> <ipvsadm arguments>` per line; a command applies before
//!   every packet whose time is `>= t`, commands in file order (times must not decrease).
//!   Commands are read and applied by `rvs_config::ipvsadm`, as ipvsadm 1.31 would; after
//!   each, the engine gets the new table (connections stay on their real servers, schedulers
//!   keep their state) and the timeouts `--set` gave. The whole timeline is checked
//!   before the replay starts — each line parsed and all commands applied in turn to a scratch
//!   copy of the configuration — so a bad line (including one timed after the last packet) is
//!   reported with its line number and nothing is replayed, as `ipvsadm -R` stops at the
//!   first error.
//! - **Decisions.** One JSON line per packet that opens a connection or would have (a TCP SYN
//!   without ACK to a service, a UDP datagram without a connection to a service):
//!   `{"t": 12.5, "proto": "tcp", "client": "172.16.0.2:20008", "vip": "10.0.0.100:80", "real": "192.168.1.1:80"}`;
//!   `"real"` is the real server the packet went to (newly scheduled, or the connection a
//!   retransmitted SYN matched), `null` when it was dropped; `"vip"` is the packet's
//!   destination, also for firewall-mark services. For a service with the SYN proxy
//!   (`synproxy = true`) the SYN opens nothing (the director answers it with a cookie): the
//!   decision is the client's ACK that returns a valid cookie, with `"real": null` for a bad
//!   cookie. `t` is the clock in seconds, written
//!   exactly from integer nanoseconds with at least one fractional digit and no trailing zeros
//!   (`3.0`, `12.5`, `0.000001`).
//! - **OUT.pcap.** Every frame the director transmitted, in order, stamped with the capture
//!   time of the frame that caused it; Ethernet, little-endian pcap, in the input's timestamp
//!   resolution (nanoseconds for pcapng input).

pub mod capture;
pub mod timeline;

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rvs_config::Config;
use rvs_conn::state::Timeouts;
use rvs_engine::buf::CaptureIo;
use rvs_engine::worker::Decision;
use rvs_engine::{Director, PortIdx, Stats, VecBuf, Worker, WorkerConfig};
use rvs_wire::MacAddr;

use crate::timeline::{Entry, LineError};
use rvs_config::ipvsadm;

pub use timeline::{format_seconds, parse_time};

/// The MAC address of port `i` of the replayed director.
pub fn port_mac(i: usize) -> MacAddr {
    let [hi, lo] = u16::try_from(i + 1).unwrap_or(u16::MAX).to_be_bytes();
    MacAddr([0x02, 0x72, 0x76, 0x73, hi, lo])
}

/// Connection table size when no configuration is given (rvsd's default).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 1 << 20;

/// The configuration used without `--config`: one port, `replay`, without addresses, and no
/// services (the default route is added by [`with_default_route`]).
pub fn bare_config() -> Config {
    rvs_config::parse(
        r#"
[[ports]]
name = "replay"
device = "replay"
"#,
    )
    .expect("the built-in replay configuration is valid")
}

/// `cfg` with an on-link default route on its first port, unless it has a default route.
pub fn with_default_route(mut cfg: Config) -> Config {
    let default: ipnet::Ipv4Net = ipnet::Ipv4Net::default();
    if !cfg.routes.iter().any(|r| r.prefix == default) {
        if let Some(port) = cfg.ports.first() {
            cfg.routes.push(rvs_config::Route {
                prefix: default,
                via: None,
                port: port.name.clone(),
            });
        }
    }
    cfg
}

/// One decision as its JSON line (without the newline).
pub fn decision_json(t_ns: u64, d: &Decision) -> String {
    let proto = match d.proto {
        6 => "tcp".to_string(),
        17 => "udp".to_string(),
        n => n.to_string(),
    };
    let mut s = String::with_capacity(128);
    let _ = write!(
        s,
        r#"{{"t": {}, "proto": "{}", "client": "{}", "vip": "{}", "real": "#,
        format_seconds(t_ns),
        proto,
        std::net::SocketAddr::new(d.client.0, d.client.1),
        std::net::SocketAddr::new(d.vip.0, d.vip.1),
    );
    match d.real {
        Some((a, p)) => {
            // IPv6 as "[addr]:port", like every socket address.
            let _ = write!(s, r#""{}"}}"#, std::net::SocketAddr::new(a, p));
        }
        None => s.push_str("null}"),
    }
    s
}

/// What one input frame led to.
#[derive(Debug, Default)]
pub struct Output {
    /// The engine's clock for the frame (ns since the first frame).
    pub now_ns: u64,
    /// Decisions made for it.
    pub decisions: Vec<Decision>,
    /// Frames transmitted while handling it (and the timers run before it), with their port.
    pub sent: Vec<(PortIdx, Vec<u8>)>,
}

/// The engine with its clock and timeline: feed it frames in capture order.
pub struct Replayer {
    worker: Worker<VecBuf>,
    io: CaptureIo,
    cfg: Config,
    macs: Vec<MacAddr>,
    timeouts: Timeouts,
    timeline: Vec<Entry>,
    next_cmd: usize,
    first_ts: Option<u64>,
    now: u64,
    late_packets: u64,
}

impl Replayer {
    /// A replayer for `cfg` (as given: see [`with_default_route`]) and a parsed timeline. The
    /// timeline is checked against the configuration first: every command is applied in turn
    /// to a copy, and the first that fails is returned.
    pub fn new(
        cfg: Config,
        timeline: Vec<Entry>,
        max_connections: usize,
    ) -> Result<Replayer, ReplayError> {
        let macs: Vec<MacAddr> = (0..cfg.ports.len()).map(port_mac).collect();
        let dir =
            Director::new(&cfg, &macs, None).map_err(|e| ReplayError::Config(e.to_string()))?;
        let mut scratch = cfg.clone();
        for e in &timeline {
            apply_to(&mut scratch, &macs, e)?;
        }
        let timeouts = conn_timeouts(&cfg);
        let wc = WorkerConfig {
            max_connections,
            timeouts,
            // Reap everything due at every tick: the dynamic schedulers must see the same
            // connection counts as after a kernel timer, whatever the backlog.
            expire_budget: usize::MAX,
            // ... and exactly at their time, not within the second after.
            exact_expiry: true,
            accept_any_mac: true,
            synthetic_neighbours: true,
            record_decisions: true,
            ..WorkerConfig::default()
        };
        Ok(Replayer {
            worker: Worker::new(Arc::new(dir), wc),
            io: CaptureIo::default(),
            cfg,
            macs,
            timeouts,
            timeline,
            next_cmd: 0,
            first_ts: None,
            now: 0,
            late_packets: 0,
        })
    }

    /// Handle the frame captured at `ts_ns` (any epoch; the first frame's time is zero).
    pub fn packet(&mut self, ts_ns: u64, frame: &[u8]) -> Result<Output, ReplayError> {
        let first = *self.first_ts.get_or_insert(ts_ns);
        let rel = ts_ns.saturating_sub(first);
        if rel < self.now || ts_ns < first {
            self.late_packets += 1;
        }
        self.now = self.now.max(rel);
        let now = self.now;
        self.run_commands_until(now)?;
        self.worker.tick(now, &mut self.io);
        self.worker
            .handle(now, 0, VecBuf::from_frame(frame), &mut self.io);
        Ok(Output {
            now_ns: now,
            decisions: self.worker.take_decisions().collect(),
            sent: self.io.take(),
        })
    }

    /// Apply the commands timed after the last frame (they change nothing that is recorded).
    pub fn finish(&mut self) -> Result<(), ReplayError> {
        self.run_commands_until(u64::MAX)
    }

    /// Apply the commands due at or before `until`, each after the timers due before it.
    fn run_commands_until(&mut self, until: u64) -> Result<(), ReplayError> {
        while let Some(e) = self.timeline.get(self.next_cmd) {
            if e.t_ns > until {
                break;
            }
            // Timers due before the command fire first; commands are due no earlier than the
            // last packet (else they would have been applied before it), so this clock, too,
            // never goes backwards.
            if self.first_ts.is_some() {
                self.worker.tick(e.t_ns, &mut self.io);
            }
            let e = e.clone();
            self.next_cmd += 1;
            apply_to(&mut self.cfg, &self.macs, &e)?;
            let dir = Director::new(&self.cfg, &self.macs, Some(self.worker.director()))
                .map_err(|err| line_error(&e, err.to_string()))?;
            self.worker.set_director(Arc::new(dir));
            let timeouts = conn_timeouts(&self.cfg);
            if timeouts != self.timeouts {
                self.timeouts = timeouts;
                self.worker.set_timeouts(timeouts);
            }
        }
        Ok(())
    }

    /// The engine's counters.
    pub fn stats(&self) -> &Stats {
        &self.worker.stats
    }

    /// Packets stamped earlier than a packet before them.
    pub fn late_packets(&self) -> u64 {
        self.late_packets
    }

    /// Timeline commands applied so far.
    pub fn commands_applied(&self) -> usize {
        self.next_cmd
    }
}

/// The engine's timeouts for the configuration's `[timeouts]` (changed by `--set`): the
/// kernel's defaults with TCP established, TCP FIN_WAIT and UDP replaced.
fn conn_timeouts(cfg: &Config) -> Timeouts {
    let mut t = Timeouts::default();
    let c = &cfg.timeouts;
    t.apply_ipvsadm_set(c.tcp, c.tcpfin, c.udp);
    t
}

/// Apply one timeline command to `cfg` and check the result compiles for the data path.
fn apply_to(cfg: &mut Config, macs: &[MacAddr], e: &Entry) -> Result<(), ReplayError> {
    ipvsadm::apply(cfg, &e.command).map_err(|err| line_error(e, err.to_string()))?;
    Director::new(cfg, macs, None).map_err(|err| line_error(e, err.to_string()))?;
    Ok(())
}

fn line_error(e: &Entry, problem: String) -> ReplayError {
    ReplayError::Timeline(LineError {
        line: e.line,
        problem: format!("`{}`: {problem}", e.text),
    })
}

/// Why a replay could not go on (the file names are added by [`run`]).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The configuration does not compile for the data path.
    #[error("{0}")]
    Config(String),
    /// A timeline command failed.
    #[error("{0}")]
    Timeline(LineError),
}

/// What the command line asks for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Input capture.
    pub pcap: PathBuf,
    /// Timeline of ipvsadm commands.
    pub timeline: Option<PathBuf>,
    /// rvsd configuration.
    pub config: Option<PathBuf>,
    /// Output capture.
    pub out: Option<PathBuf>,
    /// Decisions (JSON lines).
    pub decisions: PathBuf,
    /// Connection table size (default: the configuration's `max_connections`, else
    /// [`DEFAULT_MAX_CONNECTIONS`]).
    pub max_connections: Option<u32>,
}

/// What a replay did.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Frames read.
    pub packets: u64,
    /// Decision lines written.
    pub decisions: u64,
    /// Frames the director transmitted.
    pub frames_out: u64,
    /// Frames stamped earlier than their predecessor (handled at its time).
    pub late_packets: u64,
    /// Timeline commands applied.
    pub commands: usize,
    /// The engine's counters.
    pub stats: Stats,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} packets, {} timeline commands, {} decisions, {} frames out, {} connections",
            self.packets, self.commands, self.decisions, self.frames_out, self.stats.conns_created
        )?;
        if self.late_packets > 0 {
            write!(f, ", {} packets out of time order", self.late_packets)?;
        }
        let drops: Vec<String> = self
            .stats
            .nonzero_drops()
            .map(|(n, c)| format!("{n} {c}"))
            .collect();
        if !drops.is_empty() {
            write!(f, "; drops: {}", drops.join(", "))?;
        }
        Ok(())
    }
}

/// A failure, naming the file (and line or packet) it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A problem with a whole file.
    #[error("{path}: {problem}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A problem at one line of a text file.
    #[error("{path}:{line}: {problem}")]
    Line {
        /// The file.
        path: String,
        /// Line number, from 1.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// A problem at one packet of the capture.
    #[error("{path}: packet {packet}: {problem}")]
    Packet {
        /// The capture.
        path: String,
        /// Packet number, from 1.
        packet: u64,
        /// What is wrong.
        problem: String,
    },
}

fn file_err(path: &Path, problem: impl ToString) -> Error {
    Error::File {
        path: path.display().to_string(),
        problem: problem.to_string(),
    }
}

/// Run a replay from files to files.
pub fn run(opts: &Options) -> Result<Summary, Error> {
    let cfg = match &opts.config {
        Some(p) => rvs_config::load(p).map_err(|e| match e {
            // The read error already names the file.
            rvs_config::ConfigError::Io { .. } => Error::File {
                path: p.display().to_string(),
                problem: e.to_string(),
            },
            e => file_err(p, e),
        })?,
        None => bare_config(),
    };
    let max_connections = opts.max_connections.unwrap_or(if opts.config.is_some() {
        cfg.max_connections
    } else {
        DEFAULT_MAX_CONNECTIONS
    });
    let cfg = with_default_route(cfg);
    let (entries, tl_path) = match &opts.timeline {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| file_err(p, e))?;
            let entries = timeline::parse(&text).map_err(|e| Error::Line {
                path: p.display().to_string(),
                line: e.line,
                problem: e.problem,
            })?;
            (entries, p.display().to_string())
        }
        None => (Vec::new(), String::new()),
    };
    let config_name = opts.config.as_ref().map_or_else(
        || "(built-in configuration)".to_string(),
        |p| p.display().to_string(),
    );
    let replay_err = |e: ReplayError| match e {
        ReplayError::Config(problem) => Error::File {
            path: config_name.clone(),
            problem,
        },
        ReplayError::Timeline(l) => Error::Line {
            path: tl_path.clone(),
            line: l.line,
            problem: l.problem,
        },
    };
    let mut replayer = Replayer::new(cfg, entries, max_connections as usize).map_err(replay_err)?;

    let (mut reader, resolution) =
        capture::open(&opts.pcap).map_err(|e| file_err(&opts.pcap, e.problem))?;
    let mut out = match &opts.out {
        Some(p) => Some((
            capture::create(p, resolution).map_err(|e| file_err(p, e))?,
            p,
        )),
        None => None,
    };
    let dec_file = File::create(&opts.decisions)
        .map_err(|e| file_err(&opts.decisions, format!("cannot create: {e}")))?;
    let mut dec = BufWriter::new(dec_file);
    let dec_err = |e: std::io::Error| file_err(&opts.decisions, format!("cannot write: {e}"));

    let mut summary = Summary {
        packets: 0,
        decisions: 0,
        frames_out: 0,
        late_packets: 0,
        commands: 0,
        stats: Stats::default(),
    };
    loop {
        let n = summary.packets + 1;
        let Some(frame) = reader.next_frame(n) else {
            break;
        };
        let frame = frame.map_err(|e| Error::Packet {
            path: opts.pcap.display().to_string(),
            packet: e.packet.unwrap_or(n),
            problem: e.problem,
        })?;
        summary.packets = n;
        let o = replayer
            .packet(frame.ts_ns, &frame.data)
            .map_err(replay_err)?;
        for d in &o.decisions {
            writeln!(dec, "{}", decision_json(o.now_ns, d)).map_err(dec_err)?;
        }
        summary.decisions += o.decisions.len() as u64;
        summary.frames_out += o.sent.len() as u64;
        if let Some((w, p)) = &mut out {
            for (_, f) in &o.sent {
                w.write(frame.ts_ns, f)
                    .map_err(|e| file_err(p, format!("cannot write: {e}")))?;
            }
        }
    }
    replayer.finish().map_err(replay_err)?;
    dec.flush().map_err(dec_err)?;
    if let Some((w, p)) = out {
        w.into_inner()
            .flush()
            .map_err(|e| file_err(p, format!("cannot write: {e}")))?;
    }
    summary.late_packets = replayer.late_packets();
    summary.commands = replayer.commands_applied();
    summary.stats = replayer.stats().clone();
    Ok(summary)
}

#[cfg(test)]
mod decision_format {
    use super::*;

    #[test]
    fn ipv6_endpoints_are_bracketed_like_any_socket_address() {
        let d = Decision {
            proto: 6,
            client: ("2001:2::2".parse().unwrap(), 40000),
            vip: ("2001:2::100".parse().unwrap(), 80),
            real: Some(("2001:2:0:1::10".parse().unwrap(), 80)),
        };
        assert_eq!(
            decision_json(12_500_000_000, &d),
            r#"{"t": 12.5, "proto": "tcp", "client": "[2001:2::2]:40000", "vip": "[2001:2::100]:80", "real": "[2001:2:0:1::10]:80"}"#
        );
    }
}
