//! The director's configuration compiled for the data path: ports with their MAC and
//! addresses, routes, firewall-mark rules, services with their real servers in the kernel's
//! list order, and the indexes the per-packet path looks things up in.
//!
//! A `Director` is immutable and shared by all workers (`Arc`); a reload builds a new one and
//! carries each real server's identity, counters and availability over, so the dynamic
//! schedulers keep seeing the connections that survive the reload.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};
use ipnet::{IpNet, Ipv4Net};
use rvs_config::{Config, Method, ServiceKey};
use rvs_conn::state::Timeouts;
use rvs_sched::{Dest, DestCounters, SchedFlags};
use rvs_wire::MacAddr;

use crate::route::{Route, RouteTable};

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
    /// IPv6 services are validated by rvs-config but not forwarded yet.
    #[error("services[{service}]: IPv6 services are not forwarded yet (IPv4 only for now)")]
    Ipv6NotImplemented {
        /// Index of the service.
        service: usize,
    },
    /// A FullNAT real server with no local address to use.
    #[error("services[{service}].real_servers[{server}]: fullnat needs local addresses: set fullnat_local_addresses on the service or local_addresses on the port that reaches {rip}")]
    NoLocalAddresses {
        /// Index of the service.
        service: usize,
        /// Index of the real server.
        server: usize,
        /// Its address.
        rip: Ipv4Addr,
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
    /// Largest IPv4 packet it sends.
    pub mtu: u16,
    /// FullNAT local addresses (LIPs) for real servers reached through this port.
    pub lips: Vec<Ipv4Addr>,
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
    /// RIP.
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
    Addr(u8, Ipv4Addr, u16),
    /// A firewall mark.
    Mark(u32),
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
    pub vip: Ipv4Addr,
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
    /// FullNAT local addresses of this service, overriding the ports'.
    pub lips: Vec<Ipv4Addr>,
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
    /// Destination prefixes; empty = any.
    pub destinations: Vec<Ipv4Net>,
    /// Protocol; `None` = TCP and UDP.
    pub proto: Option<u8>,
    /// Destination ports; empty = any.
    pub ports: Vec<u16>,
}

impl FwmarkRule {
    fn matches(&self, proto: u8, dst: Ipv4Addr, dport: u16) -> bool {
        self.proto.is_none_or(|p| p == proto)
            && (self.ports.is_empty() || self.ports.contains(&dport))
            && (self.destinations.is_empty() || self.destinations.iter().any(|n| n.contains(&dst)))
    }
}

/// The compiled configuration.
#[derive(Debug)]
pub struct Director {
    /// Ports in configuration order.
    pub ports: Vec<PortInfo>,
    /// Connected prefixes and static routes.
    pub routes: RouteTable,
    /// Services in configuration order.
    pub services: Vec<Service>,
    /// Firewall-mark rules, in order.
    pub fwmark_rules: Vec<FwmarkRule>,
    /// Static neighbours: (port, address, MAC).
    pub static_neighbours: Vec<(PortIdx, Ipv4Addr, MacAddr)>,
    /// Connection timeouts (ipvsadm --set).
    pub timeouts: Timeouts,
    /// Connection table size per worker.
    pub max_connections: usize,
    /// Real-server slots in use (see [`RealServer::slot`]).
    pub slots: u32,
    svc_index: HashMap<SvcKey, u16>,
    /// Whether a catch-all port-0 service exists (the kernel's `nullsvc_counter`).
    has_port_zero: bool,
    local: HashMap<Ipv4Addr, LocalAddr>,
    /// (port, address) pairs the director answers ARP for.
    arp_targets: HashSet<(PortIdx, Ipv4Addr)>,
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
                mtu: p.mtu,
                lips: p.local_addresses.iter().filter_map(|a| v4(*a)).collect(),
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
        let mut local = HashMap::new();
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

        let fwmark_rules: Vec<FwmarkRule> = cfg
            .fwmark_rules
            .iter()
            .map(|r| FwmarkRule {
                mark: r.mark,
                destinations: r
                    .destinations
                    .iter()
                    .filter_map(|n| match n {
                        IpNet::V4(n) => Some(n.trunc()),
                        IpNet::V6(_) => None,
                    })
                    .collect(),
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
            if s.key.is_ipv6() {
                return Err(DirectorError::Ipv6NotImplemented { service: si });
            }
            let (key, proto, vip, vport) = match s.key {
                ServiceKey::Tcp(a) | ServiceKey::Udp(a) => {
                    let proto = s.protocol().map_or(0, |p| p.number());
                    let vip =
                        v4(a.ip()).ok_or(DirectorError::Ipv6NotImplemented { service: si })?;
                    local.entry(vip).or_insert(LocalAddr::Vip);
                    has_port_zero |= a.port() == 0;
                    (SvcKey::Addr(proto, vip, a.port()), proto, vip, a.port())
                }
                ServiceKey::Fwmark { mark, .. } => {
                    // The single addresses a mark covers are VIPs the director answers for.
                    for r in fwmark_rules.iter().filter(|r| r.mark == mark) {
                        for n in r.destinations.iter().filter(|n| n.prefix_len() == 32) {
                            local.entry(n.addr()).or_insert(LocalAddr::Vip);
                        }
                    }
                    (SvcKey::Mark(mark), 0, Ipv4Addr::UNSPECIFIED, 0)
                }
            };
            let old = previous.and_then(|d| d.service_by_key(key));
            // A real server already known (in the old service or the trash) keeps its id,
            // slot, counters and availability flag; a new one gets the next free id and slot.
            let known = |addr: Ipv4Addr, port: u16| -> Option<&RealServer> {
                old.and_then(|o| o.servers.iter().find(|x| x.addr == addr && x.port == port))
                    .or_else(|| {
                        previous.and_then(|d| {
                            d.trash
                                .iter()
                                .find(|(k, x)| *k == key && x.addr == addr && x.port == port)
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
            let mut dests = Vec::with_capacity(s.real_servers.len());
            let mut servers = Vec::with_capacity(s.real_servers.len());
            // Kernel order: most recently added first.
            for (ri, rs) in s.real_servers.iter().enumerate().rev() {
                let addr =
                    v4(rs.address.ip()).ok_or(DirectorError::Ipv6NotImplemented { service: si })?;
                let port = rs.address.port();
                if rs.method == Method::FullNat && svc_lips.is_empty() {
                    let port_lips = routes
                        .lookup(addr)
                        .and_then(|nh| ports.get(usize::from(nh.port)))
                        .is_some_and(|p| !p.lips.is_empty());
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
                            addr,
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
                    addr: IpAddr::V4(addr),
                    port,
                    weight: i32::try_from(rs.weight).unwrap_or(i32::MAX),
                    counters: Arc::clone(&server.counters),
                });
                servers.push(server);
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
                persistence_prefix: s.persistence_prefix_len.min(32),
                one_packet: s.one_packet,
                lips: svc_lips,
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

        let static_neighbours = cfg
            .neighbours
            .iter()
            .filter_map(|n| Some((port_idx(&n.port)?, v4(n.address)?, MacAddr(n.mac))))
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
                        s.servers
                            .iter()
                            .any(|y| y.addr == x.addr && y.port == x.port)
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
            services,
            fwmark_rules,
            static_neighbours,
            timeouts,
            max_connections: cfg.max_connections as usize,
            slots: next_slot,
            svc_index,
            has_port_zero,
            local,
            arp_targets,
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
    pub fn fwmark(&self, proto: u8, dst: Ipv4Addr, dport: u16) -> Option<u32> {
        self.fwmark_rules
            .iter()
            .find(|r| r.matches(proto, dst, dport))
            .map(|r| r.mark)
    }

    /// The service a packet to `dst:dport` over `proto` belongs to, looked up as the kernel's
    /// ip_vs_service_find does: by firewall mark first, then by protocol, VIP and port, then
    /// the VIP's catch-all port-0 service.
    #[inline]
    pub fn find_service(&self, proto: u8, dst: Ipv4Addr, dport: u16) -> Option<u16> {
        if !self.fwmark_rules.is_empty() {
            if let Some(mark) = self.fwmark(proto, dst, dport) {
                if let Some(&i) = self.svc_index.get(&SvcKey::Mark(mark)) {
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
    pub fn is_service_destination(&self, proto: u8, dst: Ipv4Addr, dport: u16) -> bool {
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

    /// Whether `addr` is one of the FullNAT local addresses (LIPs).
    #[inline]
    pub fn is_lip(&self, addr: Ipv4Addr) -> bool {
        self.local(addr) == Some(LocalAddr::Lip)
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
        assert_eq!(d.find_service(6, ip("198.18.1.200"), 80), Some(0));
        assert_eq!(d.find_service(6, ip("198.18.1.200"), 443), Some(0));
        assert_eq!(d.find_service(17, ip("198.18.1.200"), 80), None);
        assert_eq!(d.find_service(6, ip("198.18.1.201"), 80), None);
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
        assert_eq!(d.find_service(6, ip("198.18.1.200"), 22), Some(0));
        assert_eq!(d.find_service(17, ip("198.18.1.200"), 22), None);
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
}
