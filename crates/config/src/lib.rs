//! rvsd's configuration: the TOML model and its validation, and ipvsadm's command line and rule
//! format ([`ipvsadm`]).
//!
//! Every error names the key it is about and what is wrong with it, in the form
//! `services[0].real_servers[1].weight: 70000 is out of range 0..=65535`, so that an operator can
//! fix the file from the message alone. TOML syntax errors carry the line and column.
//!
//! ```toml
//! workers = 1                  # worker lcores (1..=64)
//! max_connections = 1048576    # connection table size per worker
//! idle_sleep_us = 0            # sleep after an empty poll (0 = busy poll)
//! drop_entry = false           # full table: new connections may replace half-open ones
//! mbufs = 0                    # packet pool size (0 = as the ports' queues need)
//! mbuf_data_room = 2176        # bytes per mbuf, 128 of headroom included
//! # ipvsadm_rules = "ipvsadm.rules"  # services from `ipvsadm -Sn` rules, see `load`
//!
//! [timeouts]                   # ipvsadm --set tcp tcpfin udp (seconds)
//! tcp = 900
//! tcpfin = 120
//! udp = 300
//!
//! [control]
//! socket = "/run/rvsd/rvsd.sock"     # Unix socket of rvsadm
//! socket_mode = "0600"
//! metrics = "127.0.0.1:9469"         # Prometheus listener; absent = off
//!
//! [[ports]]
//! name = "outside"
//! device = "net_af_packet0"
//! args = "iface=veth-out,qpairs=1"
//! addresses = ["198.18.0.1/24", "2001:db8::1/64"]
//! local_addresses = []               # FullNAT LIPs on this port
//! exception_path = false             # TAP to the kernel for traffic rvs does not handle
//!
//! [[routes]]
//! prefix = "0.0.0.0/0"
//! via = "198.18.0.254"
//! port = "outside"
//!
//! [[neighbours]]                     # static ARP / ND entries
//! port = "outside"
//! address = "198.18.0.254"
//! mac = "02:00:00:00:00:fe"
//!
//! [[fwmark]]                         # classifier rules assigning marks, first match wins
//! mark = 66
//! destinations = ["198.18.0.200/32"] # absent = any
//! protocol = "tcp"                   # absent = tcp and udp
//! ports = [80, 443]                  # absent = any
//!
//! [[services]]
//! protocol = "tcp"
//! address = "198.18.0.100:80"
//! scheduler = "rr"
//! synproxy = false                   # SYN cookies answer clients; RS chosen on their ACK
//! [[services.real_servers]]
//! address = "198.18.0.10:80"
//! method = "nat"                     # synproxy: nat or fullnat only
//! weight = 1
//!
//! [[services]]
//! fwmark = 66                        # instead of protocol and address
//! scheduler = "sh"
//! sched_flags = ["sh-port"]
//! persistence = 300
//! persistence_netmask = "255.255.255.0"
//! [services.health_check]
//! kind = "http"
//! http_path = "/health"
//! [[services.real_servers]]
//! address = "198.18.0.20"            # port 0: the client's destination port
//! method = "dr"
//! upper_threshold = 1000
//! lower_threshold = 800
//! ```
//!
//! IPv6 is accepted wherever an address is: port addresses (`"2001:db8::1/64"`), routes, neighbours
//! (ND), local addresses, VIPs (`"[2001:db8::100]:80"`) and real servers. Existing IPv4 fields keep
//! their IPv4 types ([`Port::addresses`], [`Config::routes`]); IPv6 entries of the same TOML lists
//! land beside them ([`Port::addresses6`], [`Config::routes6`]). Services and real servers, which
//! carry either family, use [`std::net::SocketAddr`].

pub mod ipvsadm;
mod raw;
mod unparse;
mod validate;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// The scheduler names accepted in `services[].scheduler`: the twelve of kernel IPVS
/// (`ipvsadm -s`), plus `mh` (Maglev hashing, kernel `ip_vs_mh.c`) and `twos`
/// (random two choices, kernel `ip_vs_twos.c`).
pub const SCHEDULERS: [&str; 14] = [
    "rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "lblc", "lblcr", "fo", "ovf", "mh", "twos",
];

/// The scheduler of a service that names none: `wlc`, as ipvsadm's `DEF_SCHED`.
pub const DEFAULT_SCHEDULER: &str = "wlc";

/// Where rvsadm finds rvsd when `[control] socket` is not given.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/rvsd/rvsd.sock";

/// Mode of the control socket when `[control] socket_mode` is not given: owner only.
pub const DEFAULT_CONTROL_SOCKET_MODE: u32 = 0o600;

/// A validated configuration. Only [`parse`], [`load`] and [`ipvsadm::apply`] make or change
/// one, so every value in it has passed the checks documented on its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Worker lcores, 1..=64 (default 1).
    pub workers: u16,
    /// Connection table size of each worker, at least 1 (default 1048576).
    pub max_connections: u32,
    /// Microseconds a worker sleeps when a poll of all its queues found nothing; 0 (the
    /// default) busy-polls. Meant for shared CI machines. At most 1000000 (one second).
    pub idle_sleep_us: u32,
    /// IPVS's `drop_entry` defence against SYN floods: when a worker's connection table is
    /// full, a new connection may take the place of a half-open one (SYN_RECV, SYNACK)
    /// instead of being refused. Default false.
    pub drop_entry: bool,
    /// Mbufs in rvsd's packet pool; 0 (the default) sizes it for the ports' queues, which
    /// is also the least it gets. A `net_pcap` replay with `infinite_rx` keeps its whole
    /// capture in mbufs of this pool, so replaying many flows needs more.
    pub mbufs: u32,
    /// Bytes of each mbuf, the 128-byte headroom included, 256..=65535 (default 2176,
    /// DPDK's `RTE_MBUF_DEFAULT_BUF_SIZE`). Frames longer than this less the headroom are
    /// not received whole: lower it only for benchmarks of small frames.
    pub mbuf_data_room: u16,
    /// Connection timeouts (`[timeouts]`, ipvsadm `--set`).
    pub timeouts: Timeouts,
    /// The control plane (`[control]`).
    pub control: Control,
    /// At least one; names, devices and addresses unique.
    pub ports: Vec<Port>,
    /// Static IPv4 routes (the IPv4 entries of `[[routes]]`, in file order); prefixes unique,
    /// each on an existing port.
    pub routes: Vec<Route>,
    /// Static IPv6 routes (the IPv6 entries of `[[routes]]`, in file order).
    pub routes6: Vec<Route6>,
    /// Static ARP (IPv4) and ND (IPv6) entries (`[[neighbours]]`); addresses unique.
    pub neighbours: Vec<Neighbour>,
    /// Firewall-mark classifier rules (`[[fwmark]]`), in order: the first match wins.
    pub fwmark_rules: Vec<FwmarkRule>,
    /// Virtual services; keys unique.
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

    /// Index in [`Config::services`] of the service with this key.
    pub fn service_index(&self, key: &ServiceKey) -> Option<usize> {
        self.services.iter().position(|s| s.key == *key)
    }

    /// The service with this key.
    pub fn service(&self, key: &ServiceKey) -> Option<&Service> {
        self.services.iter().find(|s| s.key == *key)
    }

    /// The mark the `[[fwmark]]` rules give a packet: the first rule matching its destination
    /// address, protocol and destination port; `None` when no rule matches.
    pub fn fwmark_for(&self, dst: IpAddr, protocol: Protocol, dst_port: u16) -> Option<u32> {
        self.fwmark_rules
            .iter()
            .find(|r| r.matches(dst, protocol, dst_port))
            .map(|r| r.mark)
    }
}

/// Connection timeouts in seconds, as `ipvsadm --set tcp tcpfin udp` (kernel
/// `ip_vs_set_timeout`): TCP established, TCP after FIN, UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP ESTABLISHED, 1..=2678400; default 900 (kernel `tcp_timeouts[IP_VS_TCP_S_ESTABLISHED]`).
    pub tcp: u32,
    /// TCP FIN_WAIT, 1..=2678400; default 120.
    pub tcpfin: u32,
    /// UDP, 1..=2678400; default 300 (kernel `udp_timeouts[IP_VS_UDP_S_NORMAL]`).
    pub udp: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            tcp: 900,
            tcpfin: 120,
            udp: 300,
        }
    }
}

/// The control plane: rvsadm's socket and the metrics listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    /// Unix socket path for rvsadm: absolute, at most 107 bytes (`sun_path`). Default
    /// [`DEFAULT_CONTROL_SOCKET`].
    pub socket: PathBuf,
    /// Permission bits of the socket: owner read and write, no bits for others. Default 0o600.
    pub socket_mode: u32,
    /// Prometheus text-format listener; `None` (the default) = no listener.
    pub metrics: Option<SocketAddr>,
}

impl Default for Control {
    fn default() -> Self {
        Control {
            socket: PathBuf::from(DEFAULT_CONTROL_SOCKET),
            socket_mode: DEFAULT_CONTROL_SOCKET_MODE,
            metrics: None,
        }
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
    /// The director's own IPv4 addresses on this port (its DIPs), each with the prefix length
    /// of the connected subnet: the IPv4 entries of the `addresses` key, in file order. May be
    /// empty. No address appears twice in the whole configuration.
    pub addresses: Vec<Ipv4Net>,
    /// The IPv6 entries of the `addresses` key (`"2001:db8::1/64"`), in file order.
    pub addresses6: Vec<Ipv6Net>,
    /// FullNAT local addresses (LIPs) of this port: the source addresses real servers see.
    /// Services without their own pool ([`Service::fullnat_local_addresses`]) use these. None
    /// of them is a DIP, a VIP or another port's LIP.
    pub local_addresses: Vec<IpAddr>,
    /// 68..=65535 (RFC 791 minimum), at least 1280 when the port has IPv6 addresses (RFC 8200
    /// section 5); default 1500.
    pub mtu: u16,
    /// 802.1Q VLAN id 1..=4094.
    pub vlan: Option<u16>,
    /// Whether traffic rvs does not handle itself goes to the kernel through a TAP device
    /// (default false: counted and dropped).
    pub exception_path: bool,
}

/// A static IPv4 route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination; host bits are zero. Unique among routes.
    pub prefix: Ipv4Net,
    /// Next hop, inside a connected prefix of [`Route::port`] so that its MAC address can be
    /// resolved; `None` means the destination is directly connected on the port.
    pub via: Option<Ipv4Addr>,
    /// Name of an existing port.
    pub port: String,
}

/// A static IPv6 route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route6 {
    /// Destination; host bits are zero. Unique among routes.
    pub prefix: Ipv6Net,
    /// Next hop: inside a connected IPv6 prefix of the port, or link-local (`fe80::/10`) on a
    /// port with an IPv6 address; `None` = directly connected.
    pub via: Option<Ipv6Addr>,
    /// Name of an existing port.
    pub port: String,
}

/// A static neighbour entry: the MAC address of `address` on `port`, never resolved by ARP or ND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    /// Name of an existing port.
    pub port: String,
    /// Unicast, not the director's own, on a connected prefix of the port (or IPv6 link-local).
    pub address: IpAddr,
    /// Unicast Ethernet address.
    pub mac: [u8; 6],
}

/// A classifier rule giving packets a firewall mark (what iptables `-j MARK` does in front of
/// kernel IPVS). A packet matches when every given criterion matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FwmarkRule {
    /// 1..=4294967295, as ipvsadm `-f`.
    pub mark: u32,
    /// Destination prefixes (host bits zero); empty = any destination.
    pub destinations: Vec<IpNet>,
    /// `None` = TCP and UDP.
    pub protocol: Option<Protocol>,
    /// Destination ports (1..=65535, unique); empty = any port.
    pub ports: Vec<u16>,
}

impl FwmarkRule {
    /// Whether a packet to `dst`:`dst_port` over `protocol` matches this rule.
    pub fn matches(&self, dst: IpAddr, protocol: Protocol, dst_port: u16) -> bool {
        (self.destinations.is_empty() || self.destinations.iter().any(|n| n.contains(&dst)))
            && self.protocol.is_none_or(|p| p == protocol)
            && (self.ports.is_empty() || self.ports.contains(&dst_port))
    }
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
/// `-i` (TUN: IPIP, RFC 2003, or IPv6-in-IPv6, RFC 2473), and FullNAT (`--fullnat` in rvs's
/// ipvsadm syntax; DPVS spells it `-b`, which ipvsadm uses for scheduler flags).
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

/// What identifies a virtual service, as the kernel's service tables do: protocol, VIP and port;
/// or a firewall mark and an address family (ipvsadm `-f N` and `-f N -6` are two services).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKey {
    /// `-t VIP:port`.
    Tcp(SocketAddr),
    /// `-u VIP:port`.
    Udp(SocketAddr),
    /// `-f mark` (`ipv6: false`) or `-f mark -6`.
    Fwmark { mark: u32, ipv6: bool },
}

impl ServiceKey {
    /// The protocol of a TCP or UDP service; `None` for a firewall-mark service, which takes
    /// both.
    pub fn protocol(&self) -> Option<Protocol> {
        match self {
            ServiceKey::Tcp(_) => Some(Protocol::Tcp),
            ServiceKey::Udp(_) => Some(Protocol::Udp),
            ServiceKey::Fwmark { .. } => None,
        }
    }

    /// VIP and port of a TCP or UDP service.
    pub fn address(&self) -> Option<SocketAddr> {
        match self {
            ServiceKey::Tcp(a) | ServiceKey::Udp(a) => Some(*a),
            ServiceKey::Fwmark { .. } => None,
        }
    }

    /// The mark of a firewall-mark service.
    pub fn fwmark(&self) -> Option<u32> {
        match self {
            ServiceKey::Fwmark { mark, .. } => Some(*mark),
            _ => None,
        }
    }

    /// Whether the service is IPv6 (its VIP, or `-6` for a firewall-mark service).
    pub fn is_ipv6(&self) -> bool {
        match self {
            ServiceKey::Tcp(a) | ServiceKey::Udp(a) => a.is_ipv6(),
            ServiceKey::Fwmark { ipv6, .. } => *ipv6,
        }
    }

    /// The service port; 0 for a firewall-mark service and for a persistent service on all
    /// ports.
    pub fn port(&self) -> u16 {
        self.address().map_or(0, |a| a.port())
    }
}

impl fmt::Display for ServiceKey {
    /// `tcp 198.18.0.100:80`, `udp [2001:db8::1]:53`, `fwmark 66`, `fwmark 66 ipv6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Tcp(a) => write!(f, "tcp {a}"),
            ServiceKey::Udp(a) => write!(f, "udp {a}"),
            ServiceKey::Fwmark { mark, ipv6: false } => write!(f, "fwmark {mark}"),
            ServiceKey::Fwmark { mark, ipv6: true } => write!(f, "fwmark {mark} ipv6"),
        }
    }
}

/// Scheduler flags (ipvsadm `-b`). Their names depend on the scheduler: `sh-fallback` and
/// `sh-port` for sh, `mh-fallback` and `mh-port` for mh (kernel `IP_VS_SVC_F_SCHED1` and
/// `IP_VS_SVC_F_SCHED2`); other schedulers take none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SchedFlags {
    /// `sh-fallback` / `mh-fallback`: when the hashed real server is unavailable (weight 0 or
    /// overloaded), try the next one.
    pub fallback: bool,
    /// `sh-port` / `mh-port`: hash the client's port too, not only its address.
    pub port: bool,
}

impl SchedFlags {
    /// True when no flag is set.
    pub fn is_empty(&self) -> bool {
        !self.fallback && !self.port
    }

    /// The flags' names for `scheduler`, in ipvsadm's order (`print_sched_flags`).
    pub fn names(&self, scheduler: &str) -> Vec<String> {
        let mut v = Vec::new();
        if self.fallback {
            v.push(format!("{scheduler}-fallback"));
        }
        if self.port {
            v.push(format!("{scheduler}-port"));
        }
        v
    }
}

/// A virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// `protocol` and `address`, or `fwmark` (and `ipv6`). For TCP and UDP the VIP is none of
    /// the director's own addresses and the port is 0 only for a persistent service (all
    /// ports, as ipvsadm's "Zero port specified for non-persistent service"). A firewall-mark
    /// service's mark is assigned by at least one [`FwmarkRule`].
    pub key: ServiceKey,
    /// One of [`SCHEDULERS`]; default [`DEFAULT_SCHEDULER`].
    pub scheduler: String,
    /// Only sh and mh take flags (`sched_flags = ["sh-port"]`).
    pub sched_flags: SchedFlags,
    /// Persistence timeout in seconds (ipvsadm `-p`), 0 = none, at most 31 days as ipvsadm's
    /// `MAX_TIMEOUT`.
    pub persistence: u32,
    /// Persistence granularity (ipvsadm `-M`) as a prefix length: clients whose addresses share
    /// it share a persistence template. 32 (IPv4) or 128 (IPv6) by default; anything else only
    /// with persistence. The TOML key `persistence_netmask` takes a contiguous dotted netmask
    /// for IPv4 (`"255.255.255.0"`) and a prefix length for IPv6 (`"64"`), as ipvsadm `-M`.
    pub persistence_prefix_len: u8,
    /// One-packet scheduling (ipvsadm `-o`): every datagram is scheduled on its own and no
    /// connection is kept. UDP and firewall-mark services only.
    pub one_packet: bool,
    /// SYN proxy (as DPVS/Alibaba LVS SYNPROXY): the director answers a client's SYN itself
    /// with a SYN cookie (RFC 4987) and picks a real server only once the client's ACK
    /// proves its address, so a flood of spoofed SYNs creates no connection. TCP services
    /// with NAT or FullNAT real servers only (the director must see the server's replies to
    /// translate their sequence numbers). Default false.
    pub synproxy: bool,
    /// The service's own FullNAT LIP pool, used instead of the ports' pools when not empty.
    /// Unique, none a DIP or VIP (LIPs may be shared between services).
    pub fullnat_local_addresses: Vec<IpAddr>,
    /// Health checks of the real servers (`[services.health_check]`).
    pub health_check: Option<HealthCheck>,
    /// May be empty: the service then drops its packets (counted). In the order they were
    /// added (the kernel's list order is the reverse).
    pub real_servers: Vec<RealServer>,
}

impl Service {
    /// A service with `key`, scheduler `scheduler` and every other field at its default.
    pub fn new(key: ServiceKey, scheduler: &str) -> Service {
        Service {
            key,
            scheduler: scheduler.to_string(),
            sched_flags: SchedFlags::default(),
            persistence: 0,
            persistence_prefix_len: if key.is_ipv6() { 128 } else { 32 },
            one_packet: false,
            synproxy: false,
            fullnat_local_addresses: Vec::new(),
            health_check: None,
            real_servers: Vec::new(),
        }
    }

    /// TCP or UDP; `None` for a firewall-mark service.
    pub fn protocol(&self) -> Option<Protocol> {
        self.key.protocol()
    }

    /// VIP and port of a TCP or UDP service.
    pub fn address(&self) -> Option<SocketAddr> {
        self.key.address()
    }

    /// Mark of a firewall-mark service.
    pub fn fwmark(&self) -> Option<u32> {
        self.key.fwmark()
    }

    /// The persistence netmask as an address (`255.255.255.0`, `ffff:ffff:ffff:ffff::`).
    pub fn persistence_netmask(&self) -> IpAddr {
        if self.key.is_ipv6() {
            IpAddr::V6(prefix_mask6(self.persistence_prefix_len))
        } else {
            IpAddr::V4(prefix_mask4(self.persistence_prefix_len))
        }
    }
}

/// The IPv4 netmask of a prefix length (clamped to 32).
fn prefix_mask4(len: u8) -> Ipv4Addr {
    Ipv4Addr::from(
        u32::MAX
            .checked_shl(32 - u32::from(len.min(32)))
            .unwrap_or(0),
    )
}

/// The IPv6 netmask of a prefix length (clamped to 128).
fn prefix_mask6(len: u8) -> Ipv6Addr {
    Ipv6Addr::from(
        u128::MAX
            .checked_shl(128 - u32::from(len.min(128)))
            .unwrap_or(0),
    )
}

/// A real server of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServer {
    /// RIP and port (the service port when the file gives none); unique within the service and
    /// of the service's family (IPv4 VIP, IPv4 RIP; TUN too: rvs encapsulates IPv4 in IPv4 and
    /// IPv6 in IPv6 only). For DR and TUN the port equals the service port (in a firewall-mark
    /// service it is kept as given and ignored, as by the kernel). Port 0, allowed
    /// only when the service port is 0 (firewall-mark and all-ports services), means the
    /// client's destination port, as the kernel's `dest->port ? dest->port : vport`.
    pub address: SocketAddr,
    /// Default [`Method::Dr`], as ipvsadm.
    pub method: Method,
    /// 0..=65535 as ipvsadm's `-w`; 0 = quiescent (no new connections). Default 1.
    pub weight: u32,
    /// Connection count at which the server takes no new connections (ipvsadm `-x`), 0 = none;
    /// at most 2147483647 (ipvsadm's `INT_MAX`).
    pub upper_threshold: u32,
    /// Count below which an overloaded server takes connections again (ipvsadm `-y`), 0 =
    /// three quarters of the upper threshold; not above `upper_threshold` (kernel
    /// `ip_vs_add_dest`: "lower threshold is higher than upper threshold").
    pub lower_threshold: u32,
}

impl RealServer {
    /// A real server with `method`, weight 1 and no thresholds.
    pub fn new(address: SocketAddr, method: Method) -> RealServer {
        RealServer {
            address,
            method,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }
}

/// keepalived-like health checks of a service's real servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// TCP connect, or HTTP GET expecting a status.
    pub kind: CheckKind,
    /// Time between checks of one real server, 1 ms..=1 hour (default 2 s). The TOML gives
    /// seconds (`2.0`, `0.5`), kept to the millisecond.
    pub interval: Duration,
    /// How long a check may take, less than `interval` (default 1 s).
    pub timeout: Duration,
    /// Consecutive failures before a real server is taken down, 1..=100 (default 3).
    pub failures: u32,
    /// Consecutive successes before it is restored, 1..=100 (default 1).
    pub successes: u32,
    /// What taking it down means (default quiesce).
    pub on_failure: OnFailure,
    /// Where new connections go while every real server is down; of the service's family.
    pub sorry_server: Option<SocketAddr>,
}

/// The kind of a health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// A TCP connection to the real server's address is accepted.
    Tcp,
    /// `GET path` answers `status`.
    Http {
        /// Starts with `/`, printable ASCII without spaces (default `/`).
        path: String,
        /// 100..=599 (default 200).
        status: u16,
    },
}

/// What a failing real server becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Weight 0: no new connections, existing ones continue.
    Quiesce,
    /// Taken out of the service, as `ipvsadm -d`.
    Remove,
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
/// The `ipvsadm_rules` key names a file and is only read by [`load`]; `parse` refuses it.
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
    if raw.ipvsadm_rules.is_some() {
        return Err(ConfigError::Invalid {
            key: "ipvsadm_rules".into(),
            problem: "names a file, which only rvs_config::load reads (rvsd --config FILE); \
                      parse() reads no files"
                .into(),
        });
    }
    validate::validate(raw)
}

/// Reads, parses and validates the configuration file at `path`. A read error names the file;
/// syntax and validation errors name the line or the key (the caller knows the file).
///
/// When the file has `ipvsadm_rules = "FILE"` (relative to the configuration file's directory),
/// FILE is read as `ipvsadm -Sn` output (`ipvsadm -R` input) and its commands are applied, in
/// order, after the services of the TOML: the one-step migration from kernel IPVS. An error
/// there is reported under the key `ipvsadm_rules` with the rules file and its line.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut raw = raw::deserialize(&text)?;
    let rules = raw.ipvsadm_rules.take();
    let mut cfg = validate::validate(raw)?;
    if let Some(rules) = rules {
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        let rules_path = base.join(&rules);
        ipvsadm::load_rules(&mut cfg, &rules_path).map_err(|e| ConfigError::Invalid {
            key: "ipvsadm_rules".into(),
            problem: e.to_string(),
        })?;
    }
    Ok(cfg)
}

/// The configuration as TOML that [`parse`] accepts and turns back into an equal `Config`:
/// what `rvsadm` prints as the running table. Keys at their defaults are left out.
pub fn to_toml(cfg: &Config) -> String {
    unparse::to_toml(cfg)
}
