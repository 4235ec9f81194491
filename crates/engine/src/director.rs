//! The director's configuration compiled for the data path: ports with their MAC and
//! addresses, routes, services with their real servers in the kernel's list order, and the
//! indexes the per-packet path looks things up in.
//!
//! A `Director` is immutable and shared by all workers (`Arc`); a reload builds a new one and
//! carries the real servers' connection counters over, so the dynamic schedulers keep seeing
//! the connections that survive the reload.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};
use ipnet::Ipv4Net;
use rvs_config::{Config, Method};
use rvs_sched::{Dest, DestCounters};
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
    /// A forwarding method this data path does not implement yet.
    #[error("services[{service}].real_servers[{server}].method: {method} forwarding is not implemented yet (use nat or dr)")]
    MethodNotImplemented {
        /// Index of the service.
        service: usize,
        /// Index of the real server.
        server: usize,
        /// The method's name.
        method: &'static str,
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
    /// RIP.
    pub addr: Ipv4Addr,
    /// Real server port.
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

/// A virtual service.
#[derive(Clone, Debug)]
pub struct Service {
    /// IP protocol number (6 TCP, 17 UDP).
    pub proto: u8,
    /// VIP.
    pub vip: Ipv4Addr,
    /// Virtual port.
    pub vport: u16,
    /// Scheduler name.
    pub scheduler: String,
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

/// The compiled configuration.
#[derive(Debug)]
pub struct Director {
    /// Ports in configuration order.
    pub ports: Vec<PortInfo>,
    /// Connected prefixes and static routes.
    pub routes: RouteTable,
    /// Services in configuration order.
    pub services: Vec<Service>,
    /// Connection table size per worker.
    pub max_connections: usize,
    svc_index: HashMap<(u8, Ipv4Addr, u16), u16>,
    local: HashMap<Ipv4Addr, LocalAddr>,
    /// (port, address) pairs the director answers ARP for.
    arp_targets: HashSet<(PortIdx, Ipv4Addr)>,
    /// Real servers removed from their services, kept so that connections still pointing at
    /// them see them unavailable and a re-added server gets its counters back.
    trash: Vec<(ServiceKey, RealServer)>,
}

/// What identifies a service across reloads.
pub type ServiceKey = (u8, Ipv4Addr, u16);

impl Director {
    /// Compile `cfg` for ports whose MAC addresses are `macs` (in `[[ports]]` order). Counters
    /// of real servers that also exist in `previous` (same service and address:port) are
    /// carried over.
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
                lips: Vec::new(),
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

        let mut services = Vec::with_capacity(cfg.services.len());
        let mut svc_index = HashMap::new();
        for (si, s) in cfg.services.iter().enumerate() {
            let vip = *s.address.ip();
            let vport = s.address.port();
            let proto = s.protocol.number();
            local.entry(vip).or_insert(LocalAddr::Vip);
            let key = (proto, vip, vport);
            let old = previous.and_then(|d| d.service(proto, vip, vport));
            // A real server already known (in the old service or the trash) keeps its id,
            // counters and availability flag; a new one gets the next free id.
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
            let mut dests = Vec::with_capacity(s.real_servers.len());
            let mut servers = Vec::with_capacity(s.real_servers.len());
            // Kernel order: most recently added first.
            for (ri, rs) in s.real_servers.iter().enumerate().rev() {
                let method = match rs.method {
                    Method::FullNat => Some("fullnat"),
                    Method::Nat | Method::Dr | Method::Tun => None,
                };
                if let Some(method) = method {
                    return Err(DirectorError::MethodNotImplemented {
                        service: si,
                        server: ri,
                        method,
                    });
                }
                let addr = *rs.address.ip();
                let port = rs.address.port();
                let server = match known(addr, port) {
                    Some(k) => RealServer {
                        method: rs.method,
                        ..k.clone()
                    },
                    None => {
                        next_id += 1;
                        RealServer {
                            id: next_id - 1,
                            addr,
                            port,
                            method: rs.method,
                            counters: Arc::default(),
                            alive: Arc::new(AtomicBool::new(false)),
                        }
                    }
                };
                dests.push(Dest {
                    id: server.id,
                    addr: IpAddr::V4(addr),
                    port,
                    weight: i32::try_from(rs.weight).unwrap_or(i32::MAX),
                    counters: Arc::clone(&server.counters),
                });
                servers.push(server);
            }
            svc_index.insert((proto, vip, vport), si as u16);
            services.push(Service {
                proto,
                vip,
                vport,
                scheduler: s.scheduler.clone(),
                dests,
                servers,
                fwmark: None,
                persistence_ns: 0,
                persistence_prefix: 32,
                one_packet: false,
                lips: Vec::new(),
            });
        }

        // ARP: a port answers for its own addresses and for VIPs inside one of its connected
        // prefixes (the hosts on that segment send to the VIP directly).
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

        // Real servers of the previous director that are gone now go to the trash (as do the
        // previous trash's, unless re-added).
        let mut trash = Vec::new();
        if let Some(prev) = previous {
            let present = |k: &ServiceKey, x: &RealServer| {
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
                    let k = (s.proto, s.vip, s.vport);
                    if !present(&k, x) {
                        trash.push((k, x.clone()));
                    }
                }
            }
            for (k, x) in &prev.trash {
                if !present(k, x) {
                    trash.push((*k, x.clone()));
                }
            }
        }

        Ok(Director {
            trash,
            ports,
            routes: RouteTable::new(routes),
            services,
            max_connections: cfg.max_connections as usize,
            svc_index,
            local,
            arp_targets,
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

    /// The service for a packet to `vip:vport` over `proto`.
    #[inline]
    pub fn service_index(&self, proto: u8, vip: Ipv4Addr, vport: u16) -> Option<u16> {
        self.svc_index.get(&(proto, vip, vport)).copied()
    }

    /// Whether a packet to `dst:dport` over `proto` is for a virtual service.
    #[inline]
    pub fn is_service_destination(&self, proto: u8, dst: Ipv4Addr, dport: u16) -> bool {
        self.svc_index.contains_key(&(proto, dst, dport))
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

    /// The service for `proto vip:vport`.
    pub fn service(&self, proto: u8, vip: Ipv4Addr, vport: u16) -> Option<&Service> {
        self.service_index(proto, vip, vport)
            .and_then(|i| self.services.get(usize::from(i)))
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
}
