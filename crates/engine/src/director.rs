//! The director's configuration compiled for the data path: ports with their MAC and
//! addresses, routes, firewall-mark rules, services with their real servers in the kernel's
//! list order, and the indexes the per-packet path looks things up in. Both address families:
//! IPv4 and IPv6 addresses, routes and neighbours live side by side (IPv6 ones with a `6`
//! suffix); a service and its real servers are of one family (rvs-config checks it).
//!
//! A `Director` is immutable and shared by all workers (`Arc`); a reload builds a new one and
//! carries each real server's identity, counters and availability over, so the dynamic
//! schedulers keep seeing the connections that survive the reload.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use rvs_config::{Config, Method, ServiceKey};
use rvs_conn::state::Timeouts;
use rvs_sched::{Dest, DestCounters, SchedFlags};
use rvs_wire::MacAddr;

use crate::route::{Route, Route6, RouteTable, RouteTable6};
use crate::synproxy::Secret;

/// Index of a port in the configuration's `[[ports]]` order.
pub type PortIdx = u16;

/// Why a configuration cannot be compiled for the data path (beyond what `rvs_config`
/// validates on its own).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DirectorError {
    /// The caller gave a MAC address per port and the counts differ.
    #[error("{ports} ports configured but {macs} MAC addresses given")]
    MacCount {
        /// Ports in the configuration.
        ports: usize,
        /// MAC addresses given.
        macs: usize,
    },
    /// A FullNAT real server with no local address to use.
    #[error("services[{service}].real_servers[{server}]: fullnat needs local addresses: set fullnat_local_addresses on the service or local_addresses on the port that reaches {rip}")]
    NoLocalAddresses {
        /// Index of the service.
        service: usize,
        /// Index of the real server.
        server: usize,
        /// Its address.
        rip: IpAddr,
    },
    /// More ports or services than the data path's indexes hold.
    #[error("too many {what}: at most {max}")]
    TooMany {
        /// Ports, services or real servers.
        what: &'static str,
        /// The limit.
        max: usize,
    },
}

/// A port as the data path sees it.
#[derive(Clone, Debug)]
pub struct PortInfo {
    /// The configuration's name for it.
    pub name: String,
    /// Its Ethernet address.
    pub mac: MacAddr,
    /// The director's own addresses on it, each with its connected prefix.
    pub addrs: Vec<Ipv4Net>,
    /// The director's own IPv6 addresses on it, each with its connected prefix.
    pub addrs6: Vec<Ipv6Net>,
    /// The port's IPv6 link-local address (fe80::/64 with the modified EUI-64 interface
    /// identifier of its MAC, RFC 4291 appendix A), when it has IPv6 addresses: answered in
    /// Neighbor Discovery and used as the source of solicitations for link-local next hops.
    pub link_local: Option<Ipv6Addr>,
    /// Largest IP packet it sends (either family).
    pub mtu: u16,
    /// FullNAT local addresses (LIPs) for real servers reached through this port.
    pub lips: Vec<Ipv4Addr>,
    /// IPv6 FullNAT local addresses for real servers reached through this port.
    pub lips6: Vec<Ipv6Addr>,
    /// 802.1Q VLAN id the port's frames carry, if any.
    pub vlan: Option<u16>,
}

impl PortInfo {
    /// The address to send ARP requests for `target` from: our address in the target's
    /// prefix, else our first address.
    pub fn source_for(&self, target: Ipv4Addr) -> Option<Ipv4Addr> {
        self.addrs
            .iter()
            .find(|n| n.contains(&target))
            .or_else(|| self.addrs.first())
            .map(|n| n.addr())
    }

    /// The address to send neighbor solicitations for `target` from (RFC 4861 §7.2.2: an
    /// address of the interface): the link-local address for a link-local target, else our
    /// address in the target's prefix, else our first IPv6 address.
    pub fn source_for6(&self, target: Ipv6Addr) -> Option<Ipv6Addr> {
        if is_link_local(target) {
            if let Some(ll) = self.link_local {
                return Some(ll);
            }
        }
        self.addrs6
            .iter()
            .find(|n| n.contains(&target))
            .or_else(|| self.addrs6.first())
            .map(|n| n.addr())
            .or(self.link_local)
    }
}

/// fe80::/10 (RFC 4291 §2.5.6).
pub fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// The link-local address of a MAC: fe80::/64 and the modified EUI-64 identifier (universal/
/// local bit flipped, ff:fe in the middle; RFC 4291 appendix A).
pub fn link_local_of(mac: MacAddr) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 0x02,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ])
}

/// A real server of a service.
#[derive(Clone, Debug)]
pub struct RealServer {
    /// Stable identity within its service, across reloads (the schedulers' cursors and hash
    /// tables refer to it).
    pub id: u32,
    /// Stable index among all real servers of the director, across reloads: where the workers
    /// count its packets and bytes.
    pub slot: u32,
    /// RIP, of the service's family.
    pub ip: IpAddr,
    /// The RIP of an IPv4 real server (unspecified for an IPv6 one): kept for callers written
    /// before IPv6; use `ip`.
    pub addr: Ipv4Addr,
    /// Real server port; 0 keeps the packet's port (firewall-mark services).
    pub port: u16,
    /// Forwarding method.
    pub method: Method,
    /// Active/inactive connection counts, shared by all workers.
    pub counters: Arc<DestCounters>,
    /// False once the real server is removed from its service: packets of its connections
    /// are then dropped, as IPVS does for a destination without IP_VS_DEST_F_AVAILABLE
    /// (`expire_nodest_conn` = 0). Re-adding the same address:port brings the same flag and
    /// counters back, as the kernel's destination trash does.
    pub alive: Arc<AtomicBool>,
}

/// What identifies a service on the data path and across reloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SvcKey {
    /// Protocol, VIP and virtual port (0: every port of a persistent service).
    Addr(u8, IpAddr, u16),
    /// A firewall mark, for IPv4 packets.
    Mark(u32),
    /// A firewall mark, for IPv6 packets (ipvsadm -f MARK -6).
    Mark6(u32),
}

/// A virtual service.
#[derive(Clone, Debug)]
pub struct Service {
    /// Its key.
    pub key: SvcKey,
    /// The configuration's key, for listing.
    pub config_key: ServiceKey,
    /// IP protocol number (6 TCP, 17 UDP; 0 for a firewall-mark service).
    pub proto: u8,
    /// VIP (unspecified for a firewall-mark service).
    pub vip: IpAddr,
    /// Virtual port (0 for a firewall-mark service).
    pub vport: u16,
    /// Scheduler name.
    pub scheduler: String,
    /// Scheduler flags (ipvsadm -b).
    pub sched_flags: SchedFlags,
    /// Real servers as the scheduler sees them, in the kernel's list order: the most recently
    /// added first (ip_vs_ctl.c `__ip_vs_update_dest` adds with `list_add_rcu` at the head).
    pub dests: Vec<Dest>,
    /// The same real servers, same order, with what forwarding needs.
    pub servers: Vec<RealServer>,
    /// The firewall mark of a firewall-mark service.
    pub fwmark: Option<u32>,
    /// Persistence timeout (ipvsadm -p), 0 = none.
    pub persistence_ns: u64,
    /// Persistence granularity as a prefix length (ipvsadm -M).
    pub persistence_prefix: u8,
    /// One-packet scheduling for UDP (ipvsadm -o).
    pub one_packet: bool,
    /// SYN proxy: TCP SYNs are answered with cookies, real servers chosen on the ACK
    /// (see [`crate::synproxy`]).
    pub synproxy: bool,
    /// FullNAT local addresses of this service, overriding the ports'.
    pub lips: Vec<Ipv4Addr>,
    /// IPv6 FullNAT local addresses of this service, overriding the ports'.
    pub lips6: Vec<Ipv6Addr>,
}

impl Service {
    /// Whether the service forwards IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.config_key.is_ipv6()
    }
}

/// Which of the director's own addresses an address is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalAddr {
    /// A port address (DIP).
    Dip,
    /// A virtual service address.
    Vip,
    /// A FullNAT local address: the source real servers see.
    Lip,
}

/// A firewall-mark rule: packets matching it carry `mark` (first match wins). With no
/// iptables in front of the data path, the configuration's `[[fwmark]]` tables play its role.
#[derive(Clone, Debug)]
pub struct FwmarkRule {
    /// The mark.
    pub mark: u32,
    /// Destination prefixes of either family; empty = any.
    pub destinations: Vec<IpNet>,
    /// Protocol; `None` = TCP and UDP.
    pub proto: Option<u8>,
    /// Destination ports; empty = any.
    pub ports: Vec<u16>,
}

impl FwmarkRule {
    fn matches(&self, proto: u8, dst: IpAddr, dport: u16) -> bool {
        self.proto.is_none_or(|p| p == proto)
            && (self.ports.is_empty() || self.ports.contains(&dport))
            && (self.destinations.is_empty() || self.destinations.iter().any(|n| n.contains(&dst)))
    }
}

/// The compiled configuration.
///
/// `Clone` so that each worker can hold a copy of its own: the engine takes a reference to its
/// `Arc<Director>` per new connection, and one shared `Arc` would have every worker's new
/// connections bounce the same reference-count cache line. The copies share the real servers'
/// counters (they are `Arc`s), which is what must be shared.
#[derive(Clone, Debug)]
pub struct Director {
    /// Ports in configuration order.
    pub ports: Vec<PortInfo>,
    /// Connected prefixes and static routes.
    pub routes: RouteTable,
    /// IPv6 connected prefixes and static routes.
    pub routes6: RouteTable6,
    /// Services in configuration order.
    pub services: Vec<Service>,
    /// Firewall-mark rules, in order.
    pub fwmark_rules: Vec<FwmarkRule>,
    /// Static neighbours: (port, address, MAC).
    pub static_neighbours: Vec<(PortIdx, Ipv4Addr, MacAddr)>,
    /// Static IPv6 neighbours: (port, address, MAC).
    pub static_neighbours6: Vec<(PortIdx, Ipv6Addr, MacAddr)>,
    /// Connection timeouts (ipvsadm --set).
    pub timeouts: Timeouts,
    /// Connection table size per worker.
    pub max_connections: usize,
    /// The drop_entry defence: a full table makes room by dropping half-open connections.
    pub drop_entry: bool,
    /// Real-server slots in use (see [`RealServer::slot`]).
    pub slots: u32,
    /// The SYN proxy's cookie key: drawn for the first director, inherited by the ones a
    /// reload makes, so cookies handed out before a reload still check after it.
    pub synproxy_secret: Secret,
    svc_index: HashMap<SvcKey, u16>,
    /// Whether a catch-all port-0 service exists (the kernel's `nullsvc_counter`).
    has_port_zero: bool,
    local: HashMap<Ipv4Addr, LocalAddr>,
    local6: HashMap<Ipv6Addr, LocalAddr>,
    /// (port, address) pairs the director answers ARP for.
    arp_targets: HashSet<(PortIdx, Ipv4Addr)>,
    /// (port, address) pairs the director answers neighbor solicitations for.
    nd_targets: HashSet<(PortIdx, Ipv6Addr)>,
    /// Real servers removed from their services, kept so that connections still pointing at
    /// them see them unavailable and a re-added server gets its counters back.
    trash: Vec<(SvcKey, RealServer)>,
}

fn v4(a: IpAddr) -> Option<Ipv4Addr> {
    match a {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

fn v6(a: IpAddr) -> Option<Ipv6Addr> {
    match a {
        IpAddr::V6(a) => Some(a),
        IpAddr::V4(_) => None,
    }
}

impl Director {
    /// Compile `cfg` for ports whose MAC addresses are `macs` (in `[[ports]]` order). Real
    /// servers that also exist in `previous` (same service and address:port, or in its trash)
    /// keep their identity, counters and availability flag.
    pub fn new(
        cfg: &Config,
        macs: &[MacAddr],
        previous: Option<&Director>,
    ) -> Result<Director, DirectorError> {
        if cfg.ports.len() != macs.len() {
            return Err(DirectorError::MacCount {
                ports: cfg.ports.len(),
                macs: macs.len(),
            });
        }
        if cfg.ports.len() > usize::from(PortIdx::MAX) {
            return Err(DirectorError::TooMany {
                what: "ports",
                max: usize::from(PortIdx::MAX),
            });
        }
        if cfg.services.len() > usize::from(u16::MAX) {
            return Err(DirectorError::TooMany {
                what: "services",
                max: usize::from(u16::MAX),
            });
        }
        let ports: Vec<PortInfo> = cfg
            .ports
            .iter()
            .zip(macs)
            .map(|(p, mac)| PortInfo {
                name: p.name.clone(),
                mac: *mac,
                addrs: p.addresses.clone(),
                addrs6: p.addresses6.clone(),
                link_local: (!p.addresses6.is_empty()).then(|| link_local_of(*mac)),
                mtu: p.mtu,
                lips: p.local_addresses.iter().filter_map(|a| v4(*a)).collect(),
                lips6: p.local_addresses.iter().filter_map(|a| v6(*a)).collect(),
                vlan: p.vlan,
            })
            .collect();
        let port_idx = |name: &str| {
            ports
                .iter()
                .position(|p| p.name == name)
                .map(|i| i as PortIdx)
        };

        let mut routes = Vec::new();
        let mut routes6 = Vec::new();
        let mut local = HashMap::new();
        let mut local6 = HashMap::new();
        for (i, p) in ports.iter().enumerate() {
            for net in &p.addrs {
                local.insert(net.addr(), LocalAddr::Dip);
                routes.push(Route {
                    prefix: net.trunc(),
                    port: i as PortIdx,
                    via: None,
                });
            }
            for lip in &p.lips {
                local.entry(*lip).or_insert(LocalAddr::Lip);
            }
            for net in &p.addrs6 {
                local6.insert(net.addr(), LocalAddr::Dip);
                routes6.push(Route6 {
                    prefix: net.trunc(),
                    port: i as PortIdx,
                    via: None,
                });
            }
            if let Some(ll) = p.link_local {
                local6.insert(ll, LocalAddr::Dip);
            }
            for lip in &p.lips6 {
                local6.entry(*lip).or_insert(LocalAddr::Lip);
            }
        }
        for r in &cfg.routes {
            // rvs_config has checked that the port exists.
            if let Some(port) = port_idx(&r.port) {
                routes.push(Route {
                    prefix: r.prefix.trunc(),
                    port,
                    via: r.via,
                });
            }
        }
        let routes = RouteTable::new(routes);
        for r in &cfg.routes6 {
            if let Some(port) = port_idx(&r.port) {
                routes6.push(Route6 {
                    prefix: r.prefix.trunc(),
                    port,
                    via: r.via,
                });
            }
        }
        let routes6 = RouteTable6::new(routes6);

        let fwmark_rules: Vec<FwmarkRule> = cfg
            .fwmark_rules
            .iter()
            .map(|r| FwmarkRule {
                mark: r.mark,
                destinations: r.destinations.iter().map(|n| n.trunc()).collect(),
                proto: r.protocol.map(|p| p.number()),
                ports: r.ports.clone(),
            })
            .collect();

        let mut next_slot = previous
            .map(|d| {
                d.services
                    .iter()
                    .flat_map(|s| s.servers.iter())
                    .chain(d.trash.iter().map(|(_, x)| x))
                    .map(|x| x.slot + 1)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        let mut services = Vec::with_capacity(cfg.services.len());
        let mut svc_index = HashMap::new();
        let mut has_port_zero = false;
        for (si, s) in cfg.services.iter().enumerate() {
            let is6 = s.key.is_ipv6();
            let (key, proto, vip, vport) = match s.key {
                ServiceKey::Tcp(a) | ServiceKey::Udp(a) => {
                    let proto = s.protocol().map_or(0, |p| p.number());
                    match a.ip() {
                        IpAddr::V4(v) => {
                            local.entry(v).or_insert(LocalAddr::Vip);
                        }
                        IpAddr::V6(v) => {
                            local6.entry(v).or_insert(LocalAddr::Vip);
                        }
                    }
                    has_port_zero |= a.port() == 0;
                    (
                        SvcKey::Addr(proto, a.ip(), a.port()),
                        proto,
                        a.ip(),
                        a.port(),
                    )
                }
                ServiceKey::Fwmark { mark, ipv6 } => {
                    // The single addresses a mark covers are VIPs the director answers for
                    // (those of the service's family).
                    for r in fwmark_rules.iter().filter(|r| r.mark == mark) {
                        for n in &r.destinations {
                            match n {
                                IpNet::V4(n) if !ipv6 && n.prefix_len() == 32 => {
                                    local.entry(n.addr()).or_insert(LocalAddr::Vip);
                                }
                                IpNet::V6(n) if ipv6 && n.prefix_len() == 128 => {
                                    local6.entry(n.addr()).or_insert(LocalAddr::Vip);
                                }
                                _ => {}
                            }
                        }
                    }
                    if ipv6 {
                        (SvcKey::Mark6(mark), 0, IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0)
                    } else {
                        (SvcKey::Mark(mark), 0, IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)
                    }
                }
            };
            let old = previous.and_then(|d| d.service_by_key(key));
            // A real server already known (in the old service or the trash) keeps its id,
            // slot, counters and availability flag; a new one gets the next free id and slot.
            let known = |addr: IpAddr, port: u16| -> Option<&RealServer> {
                old.and_then(|o| o.servers.iter().find(|x| x.ip == addr && x.port == port))
                    .or_else(|| {
                        previous.and_then(|d| {
                            d.trash
                                .iter()
                                .find(|(k, x)| *k == key && x.ip == addr && x.port == port)
                                .map(|(_, x)| x)
                        })
                    })
            };
            let mut next_id = old
                .iter()
                .flat_map(|o| o.servers.iter().map(|x| x.id + 1))
                .chain(previous.iter().flat_map(|d| {
                    d.trash
                        .iter()
                        .filter(|(k, _)| *k == key)
                        .map(|(_, x)| x.id + 1)
                }))
                .max()
                .unwrap_or(0);
            let svc_lips: Vec<Ipv4Addr> = s
                .fullnat_local_addresses
                .iter()
                .filter_map(|a| v4(*a))
                .collect();
            for lip in &svc_lips {
                local.entry(*lip).or_insert(LocalAddr::Lip);
            }
            let svc_lips6: Vec<Ipv6Addr> = s
                .fullnat_local_addresses
                .iter()
                .filter_map(|a| v6(*a))
                .collect();
            for lip in &svc_lips6 {
                local6.entry(*lip).or_insert(LocalAddr::Lip);
            }
            let mut dests = Vec::with_capacity(s.real_servers.len());
            let mut servers = Vec::with_capacity(s.real_servers.len());
            // Kernel order: most recently added first.
            for (ri, rs) in s.real_servers.iter().enumerate().rev() {
                let addr = rs.address.ip();
                let port = rs.address.port();
                let own_lips = match addr {
                    IpAddr::V4(_) => !svc_lips.is_empty(),
                    IpAddr::V6(_) => !svc_lips6.is_empty(),
                };
                if rs.method == Method::FullNat && !own_lips {
                    let port_lips = match addr {
                        IpAddr::V4(a) => routes
                            .lookup(a)
                            .and_then(|nh| ports.get(usize::from(nh.port)))
                            .is_some_and(|p| !p.lips.is_empty()),
                        IpAddr::V6(a) => routes6
                            .lookup(a)
                            .and_then(|nh| ports.get(usize::from(nh.port)))
                            .is_some_and(|p| !p.lips6.is_empty()),
                    };
                    if !port_lips {
                        return Err(DirectorError::NoLocalAddresses {
                            service: si,
                            server: ri,
                            rip: addr,
                        });
                    }
                }
                let server = match known(addr, port) {
                    Some(k) => RealServer {
                        method: rs.method,
                        ..k.clone()
                    },
                    None => {
                        next_id += 1;
                        next_slot += 1;
                        RealServer {
                            id: next_id - 1,
                            slot: next_slot - 1,
                            ip: addr,
                            addr: v4(addr).unwrap_or(Ipv4Addr::UNSPECIFIED),
                            port,
                            method: rs.method,
                            counters: Arc::default(),
                            alive: Arc::new(AtomicBool::new(false)),
                        }
                    }
                };
                server
                    .counters
                    .set_thresholds(rs.upper_threshold, rs.lower_threshold);
                dests.push(Dest {
                    id: server.id,
                    addr,
                    port,
                    weight: i32::try_from(rs.weight).unwrap_or(i32::MAX),
                    counters: Arc::clone(&server.counters),
                });
                servers.push(server);
            }
            // The load-aware schedulers then decide from the servers' changes, not a scan.
            if rvs_sched::reads_loads(&s.scheduler) {
                rvs_sched::watch_loads(&dests);
            }
            svc_index.insert(key, si as u16);
            services.push(Service {
                key,
                config_key: s.key,
                proto,
                vip,
                vport,
                scheduler: s.scheduler.clone(),
                sched_flags: SchedFlags {
                    sh_fallback: s.sched_flags.fallback,
                    sh_port: s.sched_flags.port,
                },
                dests,
                servers,
                fwmark: s.fwmark(),
                persistence_ns: u64::from(s.persistence) * 1_000_000_000,
                persistence_prefix: s.persistence_prefix_len.min(if is6 { 128 } else { 32 }),
                one_packet: s.one_packet,
                synproxy: s.synproxy,
                lips: svc_lips,
                lips6: svc_lips6,
            });
        }

        // ARP: a port answers for its own addresses, and for VIPs and LIPs inside one of its
        // connected prefixes (the hosts on that segment send to them directly).
        let mut arp_targets = HashSet::new();
        for (i, p) in ports.iter().enumerate() {
            for (addr, kind) in &local {
                let on_port = match kind {
                    LocalAddr::Dip => p.addrs.iter().any(|n| n.addr() == *addr),
                    LocalAddr::Vip | LocalAddr::Lip => p.addrs.iter().any(|n| n.contains(addr)),
                };
                if on_port {
                    arp_targets.insert((i as PortIdx, *addr));
                }
            }
        }
        // Neighbor Discovery, likewise (RFC 4861 §7.2.3: a target "assigned to the receiving
        // interface"; VIPs and LIPs count as assigned where their prefix is connected), plus
        // each port's link-local address.
        let mut nd_targets = HashSet::new();
        for (i, p) in ports.iter().enumerate() {
            for (addr, kind) in &local6 {
                let on_port = match kind {
                    LocalAddr::Dip => {
                        p.addrs6.iter().any(|n| n.addr() == *addr) || p.link_local == Some(*addr)
                    }
                    LocalAddr::Vip | LocalAddr::Lip => p.addrs6.iter().any(|n| n.contains(addr)),
                };
                if on_port {
                    nd_targets.insert((i as PortIdx, *addr));
                }
            }
        }

        let static_neighbours = cfg
            .neighbours
            .iter()
            .filter_map(|n| Some((port_idx(&n.port)?, v4(n.address)?, MacAddr(n.mac))))
            .collect();
        let static_neighbours6 = cfg
            .neighbours
            .iter()
            .filter_map(|n| Some((port_idx(&n.port)?, v6(n.address)?, MacAddr(n.mac))))
            .collect();

        // Real servers of the previous director that are gone now go to the trash (as do the
        // previous trash's, unless re-added).
        let mut trash = Vec::new();
        if let Some(prev) = previous {
            let present = |k: &SvcKey, x: &RealServer| {
                svc_index
                    .get(k)
                    .and_then(|&i| services.get(usize::from(i)))
                    .is_some_and(|s: &Service| {
                        s.servers.iter().any(|y| y.ip == x.ip && y.port == x.port)
                    })
            };
            for s in &prev.services {
                for x in &s.servers {
                    if !present(&s.key, x) {
                        trash.push((s.key, x.clone()));
                    }
                }
            }
            for (k, x) in &prev.trash {
                if !present(k, x) {
                    trash.push((*k, x.clone()));
                }
            }
        }

        let mut timeouts = Timeouts::default();
        timeouts.apply_ipvsadm_set(cfg.timeouts.tcp, cfg.timeouts.tcpfin, cfg.timeouts.udp);

        Ok(Director {
            ports,
            routes,
            routes6,
            services,
            fwmark_rules,
            static_neighbours,
            static_neighbours6,
            timeouts,
            max_connections: cfg.max_connections as usize,
            drop_entry: cfg.drop_entry,
            slots: next_slot,
            synproxy_secret: previous.map_or_else(Secret::random, |p| p.synproxy_secret),
            svc_index,
            has_port_zero,
            local,
            local6,
            arp_targets,
            nd_targets,
            trash,
        })
    }

    /// Make this director's view of real-server availability true: its real servers are
    /// available, the ones it removed are not. Call once, when publishing it to the workers.
    pub fn activate(&self) {
        for s in &self.services {
            for x in &s.servers {
                x.alive.store(true, Ordering::Relaxed);
            }
        }
        for (_, x) in &self.trash {
            x.alive.store(false, Ordering::Relaxed);
        }
    }

    /// The mark the first matching `[[fwmark]]` rule gives a packet.
    #[inline]
    pub fn fwmark(&self, proto: u8, dst: IpAddr, dport: u16) -> Option<u32> {
        self.fwmark_rules
            .iter()
            .find(|r| r.matches(proto, dst, dport))
            .map(|r| r.mark)
    }

    /// The service a packet to `dst:dport` over `proto` belongs to, looked up as the kernel's
    /// ip_vs_service_find does: by firewall mark first, then by protocol, VIP and port, then
    /// the VIP's catch-all port-0 service. A mark selects the firewall-mark service of the
    /// packet's family (the kernel keys them by mark and address family).
    #[inline]
    pub fn find_service(&self, proto: u8, dst: IpAddr, dport: u16) -> Option<u16> {
        if !self.fwmark_rules.is_empty() {
            if let Some(mark) = self.fwmark(proto, dst, dport) {
                let key = if dst.is_ipv6() {
                    SvcKey::Mark6(mark)
                } else {
                    SvcKey::Mark(mark)
                };
                if let Some(&i) = self.svc_index.get(&key) {
                    return Some(i);
                }
            }
        }
        if let Some(&i) = self.svc_index.get(&SvcKey::Addr(proto, dst, dport)) {
            return Some(i);
        }
        if self.has_port_zero {
            return self.svc_index.get(&SvcKey::Addr(proto, dst, 0)).copied();
        }
        None
    }

    /// Whether a packet to `dst:dport` over `proto` is for a virtual service.
    #[inline]
    pub fn is_service_destination(&self, proto: u8, dst: IpAddr, dport: u16) -> bool {
        self.find_service(proto, dst, dport).is_some()
    }

    /// Every FullNAT local address, of ports and services.
    pub fn lips(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.ports
            .iter()
            .flat_map(|p| p.lips.iter())
            .chain(self.services.iter().flat_map(|s| s.lips.iter()))
            .copied()
    }

    /// Every IPv6 FullNAT local address, of ports and services.
    pub fn lips6(&self) -> impl Iterator<Item = Ipv6Addr> + '_ {
        self.ports
            .iter()
            .flat_map(|p| p.lips6.iter())
            .chain(self.services.iter().flat_map(|s| s.lips6.iter()))
            .copied()
    }

    /// Whether `addr` is one of the FullNAT local addresses (LIPs).
    #[inline]
    pub fn is_lip(&self, addr: Ipv4Addr) -> bool {
        self.local(addr) == Some(LocalAddr::Lip)
    }

    /// Whether `addr` is one of the IPv6 FullNAT local addresses.
    #[inline]
    pub fn is_lip6(&self, addr: Ipv6Addr) -> bool {
        self.local6(addr) == Some(LocalAddr::Lip)
    }

    /// The service with `key`.
    pub fn service_by_key(&self, key: SvcKey) -> Option<&Service> {
        self.svc_index
            .get(&key)
            .and_then(|&i| self.services.get(usize::from(i)))
    }

    /// Index of the service with `key`.
    pub fn service_index_by_key(&self, key: SvcKey) -> Option<u16> {
        self.svc_index.get(&key).copied()
    }

    /// Whether `addr` is one of the director's own addresses, and which kind.
    #[inline]
    pub fn local(&self, addr: Ipv4Addr) -> Option<LocalAddr> {
        self.local.get(&addr).copied()
    }

    /// Whether the director answers ARP requests for `addr` on `port`.
    #[inline]
    pub fn answers_arp(&self, port: PortIdx, addr: Ipv4Addr) -> bool {
        self.arp_targets.contains(&(port, addr))
    }

    /// Whether `addr` is one of the director's own IPv6 addresses (DIPs with the ports'
    /// link-local addresses, VIPs, LIPs), and which kind.
    #[inline]
    pub fn local6(&self, addr: Ipv6Addr) -> Option<LocalAddr> {
        self.local6.get(&addr).copied()
    }

    /// Whether the director answers neighbor solicitations for `addr` on `port`.
    #[inline]
    pub fn answers_nd(&self, port: PortIdx, addr: Ipv6Addr) -> bool {
        self.nd_targets.contains(&(port, addr))
    }

    /// The multicast MAC addresses a port must receive for IPv6 (RFC 2464 §7: 33:33 and the
    /// low 32 bits of the group): all-nodes ff02::1 and the solicited-node group
    /// ff02::1:ffXX:XXXX (RFC 4291 §2.7.1) of every address the port answers solicitations
    /// for. Empty for a port without IPv6. For a NIC that filters multicast (the dataplane
    /// programs these, or enables all-multicast).
    pub fn nd_multicast_macs(&self, port: PortIdx) -> Vec<MacAddr> {
        let mut macs: Vec<MacAddr> = self
            .nd_targets
            .iter()
            .filter(|(p, _)| *p == port)
            .map(|(_, a)| crate::forward6::multicast_mac(crate::forward6::solicited_node(*a)))
            .collect();
        if !macs.is_empty() {
            macs.push(crate::forward6::multicast_mac(crate::forward6::ALL_NODES));
        }
        macs.sort();
        macs.dedup();
        macs
    }

    /// The port, if any.
    #[inline]
    pub fn port(&self, port: PortIdx) -> Option<&PortInfo> {
        self.ports.get(usize::from(port))
    }

    /// Every real server of every service and of the trash, with its service: for summing the
    /// workers' per-slot traffic counters.
    pub fn all_servers(&self) -> impl Iterator<Item = (SvcKey, &RealServer)> + '_ {
        self.services
            .iter()
            .flat_map(|s| s.servers.iter().map(move |x| (s.key, x)))
            .chain(self.trash.iter().map(|(k, x)| (*k, x)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(toml: &str) -> Director {
        let cfg = rvs_config::parse(toml).unwrap();
        let macs = vec![MacAddr([2, 0, 0, 0, 0, 1]); cfg.ports.len()];
        Director::new(&cfg, &macs, None).unwrap()
    }

    const PORT: &str = r#"
[[ports]]
name = "lan"
device = "net_null0"
addresses = ["198.18.1.2/24"]
"#;

    #[test]
    fn fwmark_rules_match_first_and_win_over_addresses() {
        let d = dir(&format!(
            r#"{PORT}
[[fwmark]]
mark = 66
destinations = ["198.18.1.200/32"]
protocol = "tcp"
ports = [80, 443]
[[services]]
fwmark = 66
scheduler = "rr"
[[services.real_servers]]
address = "198.18.1.10"
method = "dr"
[[services]]
protocol = "tcp"
address = "198.18.1.200:80"
scheduler = "rr"
[[services.real_servers]]
address = "198.18.1.20:80"
method = "dr"
"#
        ));
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(d.find_service(6, ip("198.18.1.200").into(), 80), Some(0));
        assert_eq!(d.find_service(6, ip("198.18.1.200").into(), 443), Some(0));
        assert_eq!(d.find_service(17, ip("198.18.1.200").into(), 80), None);
        assert_eq!(d.find_service(6, ip("198.18.1.201").into(), 80), None);
        assert!(
            d.answers_arp(0, ip("198.18.1.200")),
            "the mark's /32 is a VIP"
        );
        assert_eq!(d.services[0].servers[0].port, 0);
    }

    #[test]
    fn a_port_zero_service_catches_every_port_of_its_vip() {
        let d = dir(&format!(
            r#"{PORT}
[[services]]
protocol = "tcp"
address = "198.18.1.200:0"
scheduler = "rr"
persistence = 300
[[services.real_servers]]
address = "198.18.1.10"
method = "dr"
"#
        ));
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(d.find_service(6, ip("198.18.1.200").into(), 22), Some(0));
        assert_eq!(d.find_service(17, ip("198.18.1.200").into(), 22), None);
    }

    #[test]
    fn fullnat_without_local_addresses_is_refused() {
        // The LIP is on the outside port, but the real server is reached through "lan".
        let cfg = rvs_config::parse(&format!(
            r#"{PORT}
[[ports]]
name = "outside"
device = "net_null1"
addresses = ["198.18.0.1/24"]
local_addresses = ["198.18.0.3"]
[[services]]
protocol = "tcp"
address = "198.18.0.100:80"
[[services.real_servers]]
address = "198.18.1.10:80"
method = "fullnat"
"#
        ))
        .unwrap();
        let macs = [MacAddr([2, 0, 0, 0, 0, 1]), MacAddr([2, 0, 0, 0, 0, 2])];
        let e = Director::new(&cfg, &macs, None).unwrap_err();
        assert!(
            e.to_string().contains("fullnat needs local addresses"),
            "{e}"
        );
    }

    #[test]
    fn ipv6_addresses_services_marks_and_neighbours_compile() {
        let cfg = rvs_config::parse(
            r#"
[[ports]]
name = "outside"
device = "net_null0"
addresses = ["198.18.0.1/24", "2001:2::1/64"]
[[ports]]
name = "inside"
device = "net_null1"
addresses = ["2001:2:0:1::1/64"]
local_addresses = ["2001:2:0:1::3", "198.18.1.3"]
[[routes]]
prefix = "2001:db8::/32"
via = "fe80::fe"
port = "inside"
[[neighbours]]
port = "inside"
address = "fe80::fe"
mac = "02:ee:00:00:00:fe"
[[fwmark]]
mark = 7
destinations = ["2001:2::200/128"]
[[services]]
fwmark = 7
ipv6 = true
[[services.real_servers]]
address = "[2001:2:0:1::10]:0"
method = "nat"
[[services]]
fwmark = 7
[[services.real_servers]]
address = "198.18.0.10:0"
method = "nat"
[[services]]
protocol = "tcp"
address = "[2001:2::100]:80"
persistence = 60
persistence_netmask = "64"
[[services.real_servers]]
address = "[2001:db8::10]:8080"
method = "fullnat"
"#,
        )
        .unwrap();
        let macs = [MacAddr([2, 0, 0, 0, 0, 1]), MacAddr([2, 0, 0, 0, 0, 2])];
        let d = Director::new(&cfg, &macs, None).unwrap();
        let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        let ll = a("fe80::ff:fe00:1");
        assert_eq!(link_local_of(macs[0]), ll);
        assert_eq!(d.ports[0].link_local, Some(ll));
        assert_eq!(d.local6(a("2001:2::1")), Some(LocalAddr::Dip));
        assert_eq!(d.local6(ll), Some(LocalAddr::Dip));
        assert_eq!(d.local6(a("2001:2::100")), Some(LocalAddr::Vip));
        assert_eq!(
            d.local6(a("2001:2::200")),
            Some(LocalAddr::Vip),
            "the mark's /128"
        );
        assert!(d.is_lip6(a("2001:2:0:1::3")));
        assert_eq!(d.local(Ipv4Addr::new(198, 18, 1, 3)), Some(LocalAddr::Lip));
        // Answered on the port whose prefix holds them, link-local on its own port.
        assert!(d.answers_nd(0, a("2001:2::100")));
        assert!(!d.answers_nd(1, a("2001:2::100")));
        assert!(d.answers_nd(1, a("2001:2:0:1::3")));
        assert!(d.answers_nd(0, ll) && !d.answers_nd(1, ll));
        assert!(d
            .nd_multicast_macs(0)
            .contains(&MacAddr([0x33, 0x33, 0xff, 0, 1, 0])));
        assert!(d
            .nd_multicast_macs(0)
            .contains(&MacAddr([0x33, 0x33, 0, 0, 0, 1])));
        // The mark picks the service of the packet's family; the rule's IPv6 destination
        // does not make it match every IPv4 packet.
        let mark6 = d.find_service(6, a("2001:2::200").into(), 443);
        assert_eq!(
            mark6.map(|i| d.services[usize::from(i)].key),
            Some(SvcKey::Mark6(7))
        );
        assert_eq!(
            d.find_service(6, Ipv4Addr::new(198, 18, 0, 200).into(), 443),
            None
        );
        let svc = d.find_service(6, a("2001:2::100").into(), 80).unwrap();
        let svc = &d.services[usize::from(svc)];
        assert!(svc.is_ipv6());
        assert_eq!(svc.persistence_prefix, 64);
        assert_eq!(svc.servers[0].ip, "2001:db8::10".parse::<IpAddr>().unwrap());
        assert_eq!(svc.servers[0].addr, Ipv4Addr::UNSPECIFIED);
        // Routes: via a link-local next hop, resolved by ND with the link-local source.
        let nh = d.routes6.lookup(a("2001:db8::10")).unwrap();
        assert_eq!((nh.port, nh.addr), (1, a("fe80::fe")));
        assert_eq!(d.ports[1].source_for6(nh.addr), d.ports[1].link_local);
        assert_eq!(
            d.ports[1].source_for6(a("2001:2:0:1::10")),
            Some(a("2001:2:0:1::1"))
        );
        assert_eq!(
            d.static_neighbours6,
            vec![(1, a("fe80::fe"), MacAddr([2, 0xee, 0, 0, 0, 0xfe]))]
        );
        assert_eq!(d.lips6().collect::<Vec<_>>(), vec![a("2001:2:0:1::3")]);
    }
}
