//! rvsd's configuration: the TOML model and its validation.
//!
//! Every error names the key it is about and what is wrong with it, in the form
//! `services[0].real_servers[1].weight: 70000 is out of range 0..=65535`, so that an operator can
//! fix the file from the message alone. TOML syntax errors carry the line and column.
//!
//! ```toml
//! workers = 1                  # worker lcores (1..=64)
//! max_connections = 1048576    # connection table size per worker
//! idle_sleep_us = 0            # sleep after an empty poll (0 = busy poll)
//!
//! [[ports]]
//! name = "outside"
//! device = "net_af_packet0"
//! args = "iface=veth-out,qpairs=1"
//! addresses = ["198.18.0.1/24"]
//!
//! [[routes]]
//! prefix = "0.0.0.0/0"
//! via = "198.18.0.254"
//! port = "outside"
//!
//! [[services]]
//! protocol = "tcp"
//! address = "198.18.0.100:80"
//! scheduler = "rr"
//! [[services.real_servers]]
//! address = "198.18.0.10:80"
//! method = "nat"
//! weight = 1
//! ```

mod raw;
mod validate;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};

/// The scheduler names accepted in `services[].scheduler`: the twelve of kernel IPVS
/// (`ipvsadm -s`), plus `mh` (Maglev hashing, kernel `ip_vs_mh.c`) and `twos`
/// (random two choices, kernel `ip_vs_twos.c`).
pub const SCHEDULERS: [&str; 14] = [
    "rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "lblc", "lblcr", "fo", "ovf", "mh", "twos",
];

/// The scheduler of a service that names none: `wlc`, as ipvsadm's `DEF_SCHED`.
pub const DEFAULT_SCHEDULER: &str = "wlc";

/// A validated configuration. Only [`parse`] and [`load`] make one, so every value in it has
/// passed the checks documented on its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Worker lcores, 1..=64 (default 1).
    pub workers: u16,
    /// Connection table size of each worker, at least 1 (default 1048576).
    pub max_connections: u32,
    /// Microseconds a worker sleeps when a poll of all its queues found nothing; 0 (the
    /// default) busy-polls. Meant for shared CI machines. At most 1000000 (one second).
    pub idle_sleep_us: u32,
    /// At least one; names, devices and addresses unique.
    pub ports: Vec<Port>,
    /// Static routes; prefixes unique, each on an existing port.
    pub routes: Vec<Route>,
    /// Virtual services; `(protocol, address)` unique.
    pub services: Vec<Service>,
}

impl Config {
    /// Index in [`Config::ports`] of the port called `name`.
    pub fn port_index(&self, name: &str) -> Option<usize> {
        self.ports.iter().position(|p| p.name == name)
    }

    /// The port called `name`.
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }
}

/// One DPDK port of the director.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Unique, `[a-z0-9_-]+`; routes refer to it.
    pub name: String,
    /// DPDK device: a vdev name (`net_af_packet0`) or a PCI address. Unique.
    pub device: String,
    /// Devargs for a vdev (`iface=veth0,qpairs=1`); empty when not given.
    pub args: String,
    /// The director's own addresses on this port (its DIPs), each with the prefix length of the
    /// connected subnet. May be empty. No address appears twice in the whole configuration.
    pub addresses: Vec<ipnet::Ipv4Net>,
    /// 68..=65535 (RFC 791 minimum), default 1500.
    pub mtu: u16,
    /// 802.1Q VLAN id 1..=4094; parsed and validated, not used yet.
    pub vlan: Option<u16>,
}

/// A static route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination; host bits are zero. Unique among routes.
    pub prefix: ipnet::Ipv4Net,
    /// Next hop, inside a connected prefix of [`Route::port`] so that its MAC address can be
    /// resolved; `None` means the destination is directly connected on the port.
    pub via: Option<Ipv4Addr>,
    /// Name of an existing port.
    pub port: String,
}

/// Transport protocol of a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    /// IP protocol number (IANA): TCP 6, UDP 17.
    pub fn number(&self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
        }
    }

    /// The name used in the configuration file: `tcp`, `udp`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Forwarding method of a real server: ipvsadm `-m` (NAT), `-g` (DR, ipvsadm's default),
/// `-i` (TUN, IPIP), and DPVS's `-b` (FullNAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Nat,
    Dr,
    Tun,
    FullNat,
}

impl Method {
    /// The name used in the configuration file: `nat`, `dr`, `tun`, `fullnat`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Nat => "nat",
            Method::Dr => "dr",
            Method::Tun => "tun",
            Method::FullNat => "fullnat",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A virtual service: `protocol VIP:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub protocol: Protocol,
    /// VIP and port; the port is not 0 and the VIP is none of the director's own addresses.
    pub address: SocketAddrV4,
    /// One of [`SCHEDULERS`]; default [`DEFAULT_SCHEDULER`].
    pub scheduler: String,
    /// Persistence timeout in seconds (ipvsadm `-p`), 0 = none, at most 31 days as ipvsadm's
    /// `MAX_TIMEOUT`. Parsed and validated, not used yet.
    pub persistence: u32,
    /// May be empty: the service then drops its packets (counted).
    pub real_servers: Vec<RealServer>,
}

/// A real server of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServer {
    /// RIP and port (the service port when the file gives none); unique within the service.
    /// For DR and TUN the port equals the service port.
    pub address: SocketAddrV4,
    /// Default [`Method::Dr`], as ipvsadm.
    pub method: Method,
    /// 0..=65535 as ipvsadm's `-w`; 0 = quiescent (no new connections). Default 1.
    pub weight: u32,
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The text is not TOML; the message has the line and column.
    #[error("{0}")]
    Syntax(String),
    /// The TOML is well formed but a key is unknown, missing, of the wrong type, or its value is
    /// refused. `key` is the path of the key (`services[0].real_servers[1].weight`).
    #[error("{key}: {problem}")]
    Invalid { key: String, problem: String },
}

/// Parses and validates a configuration.
///
/// ```
/// let text = r#"
/// [[ports]]
/// name = "outside"
/// device = "net_af_packet0"
/// addresses = ["198.18.0.1/24"]
///
/// [[services]]
/// protocol = "tcp"
/// address = "198.18.0.100:80"
/// [[services.real_servers]]
/// address = "198.18.0.10"
/// weight = 70000
/// "#;
/// let err = rvs_config::parse(text).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "services[0].real_servers[0].weight: 70000 is out of range 0..=65535"
/// );
/// ```
pub fn parse(text: &str) -> Result<Config, ConfigError> {
    let raw = raw::deserialize(text)?;
    validate::validate(raw)
}

/// Reads, parses and validates the configuration file at `path`. A read error names the file;
/// syntax and validation errors name the line or the key (the caller knows the file).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text)
}
