//! ipvsadm compatibility: its command line ([`parse_args`]), its `-S` rule format ([`save`]) and
//! `-R` input ([`restore`]), and the effect of its commands on a table ([`apply`]), with
//! ipvsadm 1.31's syntax and messages, so that operators' scripts and `ipvsadm -Sn` dumps work
//! unchanged with rvsadm, rvsd and rvs-replay.
//!
//! The running table is a [`Config`]: [`apply`] changes its services and timeouts as the kernel
//! would (same refusals, in ipvsadm's words: "Service already exists", "No such destination"…),
//! then checks the changed service with the same validation as [`crate::parse`], so the table
//! stays a valid configuration that [`crate::to_toml`] can print.
//!
//! # Differences from ipvsadm
//! - FullNAT is `--fullnat` (`-a … -r RIP --fullnat`); DPVS's ipvsadm uses `-b`, which ipvsadm
//!   1.31 uses for scheduler flags.
//! - `-S` prints the real-server thresholds as ` -x N -y N` at the end of the `-a` line when they
//!   are not 0 (ipvsadm 1.31 does not save them, so a restore would lose them); lines without
//!   thresholds are byte for byte ipvsadm's. Firewall marks print unsigned (`-f %u`, as ipvsadm
//!   after 1.31; 1.31 printed marks above 2147483647 as negative numbers it cannot read back).
//! - Refused because rvs does not have the feature: SCTP services, persistence engines (`--pe`),
//!   the sync daemon and its options, GUE/GRE tunnels (`--tun-type ipip` is accepted),
//!   non-contiguous `-M` netmasks, scheduler flags on schedulers other than sh and mh.
//! - `-R` input may have blank lines and comment lines starting with `#` (ipvsadm chokes on
//!   comments); the word `ipvsadm` is dropped wherever it appears, as ipvsadm's
//!   `config_stream_read` does.
//! - Host and service names (`-t www:http`) are resolved like ipvsadm (getaddrinfo for hosts,
//!   IPv4 only as its `gethostbyname`; `/etc/services` for ports). Without `-n`, [`save`] prints
//!   names from `/etc/hosts` and `/etc/services` only, never from DNS.
//! - `-p` without a value is 360 seconds: ipvsadm's `IPVS_SVC_PERSISTENT_TIMEOUT (6*60)`; its
//!   manual page says 300, its code does not.

mod apply;
mod args;
mod names;
mod save;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::{Config, Method, SchedFlags, ServiceKey};

pub use apply::apply;
pub use args::parse_args;
pub use save::{save, save_in_config_order};

/// What `to_toml` prints: the running table as TOML that [`crate::parse`] accepts.
pub use crate::to_toml;

/// The persistence timeout of `-p` without a value: ipvsadm's `IPVS_SVC_PERSISTENT_TIMEOUT`,
/// `(6*60)` in libipvs.h.
pub const DEFAULT_PERSISTENCE: u32 = 6 * 60;

/// One ipvsadm command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `-A`: add a virtual service.
    AddService(ServiceSpec),
    /// `-E`: edit a virtual service (every option not given goes back to its default, as
    /// ipvsadm sends the whole service).
    EditService(ServiceSpec),
    /// `-D`: delete a virtual service.
    DeleteService(ServiceKey),
    /// `-C`: clear the whole table.
    Clear,
    /// `-a`: add a real server.
    AddServer(ServerSpec),
    /// `-e`: edit a real server (options not given go back to their defaults: `-g`, `-w 1`).
    EditServer(ServerSpec),
    /// `-d`: delete a real server.
    DeleteServer {
        service: ServiceKey,
        server: SocketAddr,
    },
    /// `-L` / `-l`, and ipvsadm without arguments.
    List(ListOptions),
    /// `-Z`: zero the counters of one service or of all.
    Zero(Option<ServiceKey>),
    /// `--set tcp tcpfin udp`: 0 leaves a timeout unchanged (kernel `ip_vs_set_timeout`).
    SetTimeouts { tcp: u32, tcpfin: u32, udp: u32 },
    /// `-S`: print the table as rules.
    Save { numeric: bool },
    /// `-R`: read rules from standard input.
    Restore,
    /// `-h`.
    Help,
    /// `-v`.
    Version,
}

/// The service of `-A` and `-E`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub key: ServiceKey,
    /// `-s`, default `wlc`.
    pub scheduler: String,
    /// `-p [timeout]`: `None` = not persistent.
    pub persistence: Option<u32>,
    /// `-M` as a prefix length: 32 or 128 by default.
    pub persistence_prefix_len: u8,
    /// `-b`.
    pub sched_flags: SchedFlags,
    /// `-o`.
    pub one_packet: bool,
}

/// The real server of `-a` and `-e`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    pub service: ServiceKey,
    /// `-r`; for DR and TUN on a TCP/UDP service ipvsadm replaces the port with the service's.
    pub server: SocketAddr,
    /// `-g` (default), `-m`, `-i`, `--fullnat`.
    pub method: Method,
    /// `-w`, default 1.
    pub weight: u32,
    /// `-x`, default 0.
    pub upper_threshold: u32,
    /// `-y`, default 0.
    pub lower_threshold: u32,
}

/// The options of `-L`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// List only this service.
    pub service: Option<ServiceKey>,
    /// `-n`.
    pub numeric: bool,
    /// `-c`: connections.
    pub connection: bool,
    /// `--timeout`.
    pub timeout: bool,
    /// `--daemon` (rvs has no sync daemon: nothing to print).
    pub daemon: bool,
    /// `--stats`.
    pub stats: bool,
    /// `--rate`.
    pub rate: bool,
    /// `--thresholds`.
    pub thresholds: bool,
    /// `--persistent-conn`.
    pub persistent_conn: bool,
    /// `--nosort` (`--sort` is accepted and does nothing, as ipvsadm).
    pub nosort: bool,
    /// `--exact` / `-X`.
    pub exact: bool,
    /// `--tun-info`.
    pub tun_info: bool,
}

/// Why an ipvsadm command was refused. The messages are ipvsadm's where it has one.
#[derive(Debug, thiserror::Error)]
pub enum IpvsadmError {
    /// A bad command line, in the words of ipvsadm's `fail()` (it exits 2): "illegal weight
    /// specified", "Zero port specified for non-persistent service"…
    #[error("{0}")]
    Usage(String),
    /// No command, or an option before the command: ipvsadm prints this and exits 255.
    #[error("Try `ipvsadm -h' or 'ipvsadm --help' for more information.")]
    TryHelp,
    /// popt's complaint about one option (`--tcp: unknown option`, `-t: missing argument`).
    #[error("{option}: {problem}")]
    Option {
        option: String,
        problem: &'static str,
    },
    /// What the kernel refuses, in ipvsadm's words (`ipvs_strerror`): "Service already
    /// exists", "No such service", "Service not defined", "Destination already exists", "No
    /// such destination", "Scheduler or persistence engine not found", "Numerical result out
    /// of range".
    #[error("{0}")]
    Refused(&'static str),
    /// Something kernel IPVS has and rvs has not (SCTP, `--pe`, the sync daemon…).
    #[error("{0}")]
    Unsupported(String),
    /// The change would leave a configuration rvs refuses; the message is the validation's
    /// (`services[0].real_servers[1].address: …`).
    #[error("{0}")]
    Invalid(String),
    /// One line of `-R` input or of a rules file.
    #[error("line {line}: {error}")]
    Line {
        line: usize,
        error: Box<IpvsadmError>,
    },
    /// An error in a rules file.
    #[error("{} {error}", path.display())]
    File {
        path: PathBuf,
        error: Box<IpvsadmError>,
    },
    /// A rules file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl IpvsadmError {
    /// The exit status ipvsadm has for this error: 2 for its `fail()` messages, 255 (`-1`) for
    /// popt errors, kernel refusals and the try-help line; 1 for a file that cannot be read.
    pub fn exit_code(&self) -> i32 {
        match self {
            IpvsadmError::Usage(_) | IpvsadmError::Unsupported(_) => 2,
            IpvsadmError::TryHelp
            | IpvsadmError::Option { .. }
            | IpvsadmError::Refused(_)
            | IpvsadmError::Invalid(_) => 255,
            IpvsadmError::Line { error, .. } | IpvsadmError::File { error, .. } => {
                error.exit_code()
            }
            IpvsadmError::Io { .. } => 1,
        }
    }
}

/// Reads `-R` input (`ipvsadm -S` output): one command per line. Blank lines and lines whose
/// first non-blank character is `#` are skipped, and the word `ipvsadm` is dropped wherever it
/// appears. An error names its line (from 1). `-R` itself is refused inside, as ipvsadm's
/// `restore_table` does.
pub fn restore(text: &str) -> Result<Vec<Command>, IpvsadmError> {
    Ok(restore_numbered(text)?
        .into_iter()
        .map(|(_, c)| c)
        .collect())
}

/// [`restore`] with the line number (from 1) of each command.
fn restore_numbered(text: &str) -> Result<Vec<(usize, Command)>, IpvsadmError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = |error: IpvsadmError| IpvsadmError::Line {
            line: i + 1,
            error: Box::new(error),
        };
        if line.trim_start().starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line
            .split_ascii_whitespace()
            .filter(|w| *w != "ipvsadm")
            .collect();
        if words.is_empty() {
            continue;
        }
        let cmd = parse_args(&words).map_err(at)?;
        if cmd == Command::Restore {
            return Err(at(IpvsadmError::TryHelp));
        }
        out.push((i + 1, cmd));
    }
    Ok(out)
}

/// Reads a file of `ipvsadm -Sn` rules and applies its commands to `cfg`, in order: how rvsd
/// takes over a kernel IPVS table in one step (the `ipvsadm_rules` key, see [`crate::load`]).
/// Nothing is changed when any line is refused; the error names the file and the line
/// (`/etc/ipvsadm.rules line 3: Service already exists`).
pub fn load_rules(cfg: &mut Config, path: &Path) -> Result<(), IpvsadmError> {
    let text = std::fs::read_to_string(path).map_err(|source| IpvsadmError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let in_file = |error: IpvsadmError| IpvsadmError::File {
        path: path.to_path_buf(),
        error: Box::new(error),
    };
    let commands = restore_numbered(&text).map_err(in_file)?;
    let mut next = cfg.clone();
    for (line, cmd) in &commands {
        apply(&mut next, cmd).map_err(|error| {
            in_file(IpvsadmError::Line {
                line: *line,
                error: Box::new(error),
            })
        })?;
    }
    *cfg = next;
    Ok(())
}
