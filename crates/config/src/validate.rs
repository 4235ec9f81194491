//! From the raw model to a validated [`Config`]: every check, each error naming its key.
//!
//! Sections are checked in a fixed order (top-level numbers, timeouts, control, ports, routes,
//! neighbours, firewall-mark rules, services), entries in document order, and the first failure
//! is reported. A single service can also be checked against an existing `Config`
//! ([`check_service`]), which is how `ipvsadm::apply` keeps a changed table valid without
//! re-checking every other service.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::{
    raw, CheckKind, Config, ConfigError, Control, FwmarkRule, HealthCheck, Method, Neighbour,
    OnFailure, Port, Protocol, RealServer, Route, Route6, SchedFlags, Service, ServiceKey,
    Timeouts,
};

type Result<T> = std::result::Result<T, ConfigError>;

/// Longest timeout ipvsadm accepts for `-p` and `--set`: its `MAX_TIMEOUT`, 31 days.
pub(crate) const MAX_TIMEOUT: i64 = 86400 * 31;

/// Longest idle sleep: more than a second per empty poll is a unit mistake, not a setting.
const MAX_IDLE_SLEEP_US: i64 = 1_000_000;

/// Smallest MTU every IPv4 link must carry (RFC 791: "Every internet module must be able to
/// forward a datagram of 68 octets without further fragmentation").
const MIN_MTU: i64 = 68;

/// Smallest MTU of a link carrying IPv6 (RFC 8200 section 5: "IPv6 requires that every link in
/// the Internet have an MTU of 1280 octets or greater").
const MIN_MTU_IPV6: u16 = 1280;

/// Longest Unix socket path: `sun_path` is 108 bytes with the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

/// Largest connection threshold: ipvsadm's `string_to_number(optarg, 0, INT_MAX)` for -x/-y.
pub(crate) const MAX_THRESHOLD: i64 = i32::MAX as i64;

/// Longest health-check interval, in seconds.
const MAX_CHECK_INTERVAL: f64 = 3600.0;

pub(crate) fn validate(raw: raw::Config) -> Result<Config> {
    let workers = int_in("workers", raw.workers, 1, 64)?;
    let max_connections = int_in("max_connections", raw.max_connections, 1, u32::MAX.into())?;
    let idle_sleep_us = int_in("idle_sleep_us", raw.idle_sleep_us, 0, MAX_IDLE_SLEEP_US)?;
    let mbufs = int_in("mbufs", raw.mbufs, 0, i64::from(u32::MAX))?;
    // The 128-byte headroom, then room for at least a minimum frame with a tunnel header
    // and a TOA option.
    let mbuf_data_room = int_in("mbuf_data_room", raw.mbuf_data_room, 256, 65535)?;
    let timeouts = timeouts(raw.timeouts)?;
    let control = control(raw.control)?;
    let (ports, own) = ports(raw.ports)?;
    let (routes, routes6) = routes(raw.routes, &ports, &own)?;
    let neighbours = neighbours(raw.neighbours, &ports, &routes, &routes6, &own)?;
    let fwmark_rules = fwmark_rules(raw.fwmark)?;
    let ctx = Ctx::new(&ports, &routes, &routes6, &fwmark_rules, own);
    let mut seen = Seen::indexed();
    let mut services: Vec<Service> = Vec::with_capacity(raw.services.len());
    for (i, s) in raw.services.into_iter().enumerate() {
        let svc = service(&format!("services[{i}]"), s, &ctx, &seen)?;
        seen.add(i, &svc);
        services.push(svc);
    }
    Ok(Config {
        workers,
        max_connections,
        idle_sleep_us,
        drop_entry: raw.drop_entry,
        mbufs,
        mbuf_data_room,
        timeouts,
        control,
        ports,
        routes,
        routes6,
        neighbours,
        fwmark_rules,
        services,
    })
}

/// Checks `svc` as it would stand at `index` in `cfg.services` (`None`: appended) against
/// `cfg`'s ports, routes, firewall-mark rules and other services, and returns it as `parse`
/// would have made it. The key of an error is `services[index]…`.
pub(crate) fn check_service(cfg: &Config, index: Option<usize>, svc: &Service) -> Result<Service> {
    let own = own_from_config(&cfg.ports);
    let ctx = Ctx::new(
        &cfg.ports,
        &cfg.routes,
        &cfg.routes6,
        &cfg.fwmark_rules,
        own,
    );
    let seen = Seen::Table {
        services: &cfg.services,
        skip: index,
    };
    let i = index.unwrap_or(cfg.services.len());
    service(
        &format!("services[{i}]"),
        crate::unparse::service(svc),
        &ctx,
        &seen,
    )
}

// ---------------------------------------------------------------- timeouts and control

fn timeouts(raw: Option<raw::Timeouts>) -> Result<Timeouts> {
    let Some(t) = raw else {
        return Ok(Timeouts::default());
    };
    Ok(Timeouts {
        tcp: int_in("timeouts.tcp", t.tcp, 1, MAX_TIMEOUT)?,
        tcpfin: int_in("timeouts.tcpfin", t.tcpfin, 1, MAX_TIMEOUT)?,
        udp: int_in("timeouts.udp", t.udp, 1, MAX_TIMEOUT)?,
    })
}

fn control(raw: Option<raw::Control>) -> Result<Control> {
    let mut c = Control::default();
    let Some(raw) = raw else {
        return Ok(c);
    };
    if let Some(socket) = raw.socket {
        let key = "control.socket";
        if !socket.starts_with('/') {
            return invalid(
                key,
                format!(
                    "{socket:?} is not an absolute path; give one like \"/run/rvsd/rvsd.sock\""
                ),
            );
        }
        if socket.ends_with('/') {
            return invalid(
                key,
                format!("{socket:?} names a directory; give the socket's file name too"),
            );
        }
        if socket.len() > MAX_SOCKET_PATH {
            return invalid(
                key,
                format!(
                    "the path is {} bytes long; a Unix socket path has at most {MAX_SOCKET_PATH}",
                    socket.len()
                ),
            );
        }
        c.socket = PathBuf::from(socket);
    }
    if let Some(mode) = raw.socket_mode {
        let key = "control.socket_mode";
        let digits = mode.strip_prefix("0o").unwrap_or(&mode);
        let octal =
            (3..=4).contains(&digits.len()) && digits.bytes().all(|b| (b'0'..=b'7').contains(&b));
        let value = if octal {
            u32::from_str_radix(digits, 8).ok()
        } else {
            None
        };
        let Some(value) = value.filter(|v| *v <= 0o777) else {
            return invalid(
                key,
                format!(
                    "{mode:?} is not a permission mode; give octal digits like \"0600\" or \"0660\""
                ),
            );
        };
        if value & 0o600 != 0o600 {
            return invalid(
                key,
                format!("{mode:?} does not let the owner (rvsd) read and write the socket; use \"0600\""),
            );
        }
        if value & 0o007 != 0 {
            return invalid(
                key,
                format!(
                    "{mode:?} lets every user on the host drive rvsd; use \"0600\", or \"0660\" \
                     with a group for the operators"
                ),
            );
        }
        c.socket_mode = value;
    }
    if let Some(metrics) = raw.metrics {
        let key = "control.metrics";
        let Ok(addr) = metrics.parse::<SocketAddr>() else {
            return invalid(
                key,
                format!(
                    "{metrics:?} is not an address and port to listen on, like \
                     \"127.0.0.1:9469\" or \"[::1]:9469\""
                ),
            );
        };
        if addr.port() == 0 {
            return invalid(key, "port 0; give the port Prometheus scrapes, like 9469");
        }
        c.metrics = Some(addr);
    }
    Ok(c)
}

// ---------------------------------------------------------------- ports

/// Where an address is one of the director's own: a port address (DIP) or a port's LIP.
#[derive(Debug, Clone)]
pub(crate) struct Own {
    port: usize,
    name: String,
    lip: bool,
    index: usize,
}

impl Own {
    /// "the director's own address on port "inside" (ports[1].addresses[0])".
    fn what(&self) -> String {
        if self.lip {
            format!(
                "a local address (LIP) of port {:?} (ports[{}].local_addresses[{}])",
                self.name, self.port, self.index
            )
        } else {
            format!(
                "the director's own address on port {:?} (ports[{}].addresses[{}])",
                self.name, self.port, self.index
            )
        }
    }
}

type OwnMap = HashMap<IpAddr, Own>;

/// The own-address map of validated ports. The TOML index of an address is taken as `to_toml`
/// writes it: the IPv4 addresses first, then the IPv6 ones.
fn own_from_config(ports: &[Port]) -> OwnMap {
    let mut own = OwnMap::new();
    for (pi, p) in ports.iter().enumerate() {
        let dips = p
            .addresses
            .iter()
            .map(|n| IpAddr::V4(n.addr()))
            .chain(p.addresses6.iter().map(|n| IpAddr::V6(n.addr())));
        for (ai, ip) in dips.enumerate() {
            own.insert(
                ip,
                Own {
                    port: pi,
                    name: p.name.clone(),
                    lip: false,
                    index: ai,
                },
            );
        }
        for (li, ip) in p.local_addresses.iter().enumerate() {
            own.insert(
                *ip,
                Own {
                    port: pi,
                    name: p.name.clone(),
                    lip: true,
                    index: li,
                },
            );
        }
    }
    own
}

fn ports(raw: Vec<raw::Port>) -> Result<(Vec<Port>, OwnMap)> {
    if raw.is_empty() {
        return invalid(
            "ports",
            "at least one port is required; add a [[ports]] table with `name` and `device`",
        );
    }
    let mut own = OwnMap::new();
    let mut ports: Vec<Port> = Vec::with_capacity(raw.len());
    for (i, p) in raw.into_iter().enumerate() {
        let key = format!("ports[{i}]");

        let name_key = format!("{key}.name");
        check_port_name(&name_key, &p.name)?;
        if let Some(j) = ports.iter().position(|q| q.name == p.name) {
            return invalid(
                name_key,
                format!("duplicate port name {:?} (also ports[{j}].name)", p.name),
            );
        }

        let device_key = format!("{key}.device");
        if p.device.trim().is_empty() {
            return invalid(
                device_key,
                "must not be empty; give a DPDK device name such as \"net_af_packet0\" or a PCI \
                 address such as \"0000:03:00.0\"",
            );
        }
        if let Some(j) = ports.iter().position(|q| q.device == p.device) {
            return invalid(
                device_key,
                format!("duplicate device {:?} (also ports[{j}].device)", p.device),
            );
        }

        let mut addresses: Vec<Ipv4Net> = Vec::new();
        let mut addresses6: Vec<Ipv6Net> = Vec::new();
        for (j, text) in p.addresses.iter().enumerate() {
            let akey = format!("{key}.addresses[{j}]");
            let net = parse_host_net(&akey, text)?;
            let ip = net.addr();
            check_unicast(&akey, ip)?;
            match net {
                IpNet::V4(net) => {
                    let ip = net.addr();
                    if net.prefix_len() <= 30 && (ip == net.network() || ip == net.broadcast()) {
                        let which = if ip == net.network() {
                            "network"
                        } else {
                            "broadcast"
                        };
                        return invalid(
                            akey,
                            format!(
                                "{ip} is the {which} address of {}; give the director's own \
                                 address in that subnet",
                                net.trunc()
                            ),
                        );
                    }
                }
                IpNet::V6(net) => {
                    // RFC 4291 section 2.6.1: the all-zero host part is the Subnet-Router
                    // anycast address (RFC 6164 exempts /127).
                    if net.prefix_len() < 127 && net.addr() == net.network() {
                        return invalid(
                            akey,
                            format!(
                                "{} is the Subnet-Router anycast address of {} (RFC 4291 \
                                 section 2.6.1); give the director's own address in that subnet",
                                net.addr(),
                                net.trunc()
                            ),
                        );
                    }
                }
            }
            if let Some(o) = own.get(&ip) {
                let what = if o.lip {
                    o.what()
                } else {
                    format!(
                        "an address of port {:?} (ports[{}].addresses[{}])",
                        o.name, o.port, o.index
                    )
                };
                return invalid(akey, format!("{ip} is already {what}"));
            }
            own.insert(
                ip,
                Own {
                    port: i,
                    name: p.name.clone(),
                    lip: false,
                    index: j,
                },
            );
            match net {
                IpNet::V4(n) => addresses.push(n),
                IpNet::V6(n) => addresses6.push(n),
            }
        }

        let mut local_addresses: Vec<IpAddr> = Vec::with_capacity(p.local_addresses.len());
        for (j, text) in p.local_addresses.iter().enumerate() {
            let lkey = format!("{key}.local_addresses[{j}]");
            let ip = parse_ip(&lkey, text)?;
            check_unicast(&lkey, ip)?;
            check_not_link_local(&lkey, ip, "a local address (LIP)")?;
            if let Some(o) = own.get(&ip) {
                return invalid(
                    lkey,
                    format!(
                        "{ip} is already {}; a LIP must be an address of its own",
                        o.what()
                    ),
                );
            }
            own.insert(
                ip,
                Own {
                    port: i,
                    name: p.name.clone(),
                    lip: true,
                    index: j,
                },
            );
            local_addresses.push(ip);
        }

        let mtu_key = format!("{key}.mtu");
        let mtu: u16 = int_in(&mtu_key, p.mtu, MIN_MTU, u16::MAX.into())?;
        if mtu < MIN_MTU_IPV6 && !addresses6.is_empty() {
            return invalid(
                mtu_key,
                format!(
                    "{mtu} is below {MIN_MTU_IPV6}, the smallest MTU of a link carrying IPv6 \
                     (RFC 8200 section 5), and the port has IPv6 addresses"
                ),
            );
        }
        // IEEE 802.1Q: VLAN ids 0 and 4095 are reserved.
        let vlan = match p.vlan {
            Some(v) => Some(int_in(&format!("{key}.vlan"), v, 1, 4094)?),
            None => None,
        };

        ports.push(Port {
            name: p.name,
            device: p.device,
            args: p.args,
            addresses,
            addresses6,
            local_addresses,
            mtu,
            vlan,
            exception_path: p.exception_path,
        });
    }
    Ok((ports, own))
}

// ---------------------------------------------------------------- routes and neighbours

fn routes(raw: Vec<raw::Route>, ports: &[Port], own: &OwnMap) -> Result<(Vec<Route>, Vec<Route6>)> {
    let mut routes: Vec<Route> = Vec::new();
    let mut routes6: Vec<Route6> = Vec::new();
    // Prefix -> index in the file, for the duplicate message.
    let mut seen: HashMap<IpNet, usize> = HashMap::new();
    for (i, r) in raw.into_iter().enumerate() {
        let key = format!("routes[{i}]");

        let prefix_key = format!("{key}.prefix");
        let prefix = parse_net(&prefix_key, &r.prefix)?;
        if prefix != prefix.trunc() {
            return invalid(
                prefix_key,
                format!(
                    "host bits are set in {prefix}; write the prefix as {}",
                    prefix.trunc()
                ),
            );
        }
        if let Some(j) = seen.get(&prefix) {
            return invalid(
                prefix_key,
                format!("duplicate route for {prefix} (also routes[{j}].prefix)"),
            );
        }
        seen.insert(prefix, i);

        let port = find_port(&format!("{key}.port"), &r.port, ports)?;

        let via = match &r.via {
            None => None,
            Some(text) => {
                let via_key = format!("{key}.via");
                let via = parse_ip(&via_key, text)?;
                if via.is_ipv4() != prefix.addr().is_ipv4() {
                    return invalid(
                        via_key,
                        format!(
                            "next hop {via} is {} but the prefix {prefix} is {}",
                            family(via),
                            family(prefix.addr())
                        ),
                    );
                }
                check_unicast(&via_key, via)?;
                if let Some(o) = own.get(&via) {
                    return invalid(
                        via_key,
                        format!("{via} is {}; the next hop must be another host", o.what()),
                    );
                }
                check_next_hop(&via_key, via, port)?;
                Some(via)
            }
        };

        match prefix {
            IpNet::V4(prefix) => routes.push(Route {
                prefix,
                via: via.and_then(|v| match v {
                    IpAddr::V4(v) => Some(v),
                    IpAddr::V6(_) => None,
                }),
                port: r.port,
            }),
            IpNet::V6(prefix) => routes6.push(Route6 {
                prefix,
                via: via.and_then(|v| match v {
                    IpAddr::V6(v) => Some(v),
                    IpAddr::V4(_) => None,
                }),
                port: r.port,
            }),
        }
    }
    Ok((routes, routes6))
}

/// A next hop must be resolvable by ARP or ND on `port`: inside one of its connected prefixes
/// (or, for IPv6, link-local on a port with an IPv6 address).
fn check_next_hop(key: &str, via: IpAddr, port: &Port) -> Result<()> {
    let connected: Vec<String> = match via {
        IpAddr::V4(_) => port.addresses.iter().map(|n| n.to_string()).collect(),
        IpAddr::V6(_) => port.addresses6.iter().map(|n| n.to_string()).collect(),
    };
    if connected.is_empty() {
        let what = if port.addresses.is_empty() && port.addresses6.is_empty() {
            "addresses".to_string()
        } else {
            format!("{} addresses", family(via))
        };
        return invalid(
            key,
            format!(
                "port {:?} has no {what}, so the next hop {via} cannot be resolved on it; give \
                 the port an address in the next hop's subnet",
                port.name
            ),
        );
    }
    if is_link_local(via) || port_contains(port, via) {
        return Ok(());
    }
    invalid(
        key,
        format!(
            "{via} is not inside a connected prefix of port {:?} ({}), so the next hop cannot be \
             resolved; fix the next hop or give the port an address in its subnet",
            port.name,
            connected.join(", ")
        ),
    )
}

fn neighbours(
    raw: Vec<raw::Neighbour>,
    ports: &[Port],
    routes: &[Route],
    routes6: &[Route6],
    own: &OwnMap,
) -> Result<Vec<Neighbour>> {
    let mut out: Vec<Neighbour> = Vec::with_capacity(raw.len());
    let mut seen: HashMap<IpAddr, usize> = HashMap::new();
    for (i, n) in raw.into_iter().enumerate() {
        let key = format!("neighbours[{i}]");
        let port = find_port(&format!("{key}.port"), &n.port, ports)?;
        let akey = format!("{key}.address");
        let address = parse_ip(&akey, &n.address)?;
        check_unicast(&akey, address)?;
        if let Some(o) = own.get(&address) {
            return invalid(
                akey,
                format!("{address} is {}; a neighbour is another host", o.what()),
            );
        }
        if let Some(j) = seen.get(&address) {
            return invalid(
                akey,
                format!("duplicate neighbour {address} (also neighbours[{j}].address)"),
            );
        }
        let attached = port_contains(port, address)
            || (is_link_local(address) && !port.addresses6.is_empty())
            || routes.iter().any(|r| {
                r.via.is_none() && r.port == port.name && net_contains4(&r.prefix, address)
            })
            || routes6.iter().any(|r| {
                r.via.is_none() && r.port == port.name && net_contains6(&r.prefix, address)
            });
        if !attached {
            return invalid(
                akey,
                format!(
                    "{address} is inside no connected prefix of port {:?} and no route without \
                     `via` on it, so no packet is ever sent to it there",
                    port.name
                ),
            );
        }
        let mac = parse_mac(&format!("{key}.mac"), &n.mac)?;
        seen.insert(address, i);
        out.push(Neighbour {
            port: n.port,
            address,
            mac,
        });
    }
    Ok(out)
}

/// `02:00:00:00:00:10`: six hex pairs, a unicast address.
fn parse_mac(key: &str, text: &str) -> Result<[u8; 6]> {
    let parts: Vec<&str> = text.split(':').collect();
    let mut mac = [0u8; 6];
    let ok = parts.len() == 6
        && parts
            .iter()
            .zip(mac.iter_mut())
            .all(|(p, b)| p.len() == 2 && u8::from_str_radix(p, 16).map(|v| *b = v).is_ok());
    if !ok {
        return invalid(
            key,
            format!("{text:?} is not a MAC address; write it like \"02:00:00:00:00:10\""),
        );
    }
    if mac[0] & 1 == 1 {
        return invalid(
            key,
            format!("{text} is a multicast or broadcast address; a neighbour has a unicast one"),
        );
    }
    if mac == [0; 6] {
        return invalid(key, "00:00:00:00:00:00 is not a host's address");
    }
    Ok(mac)
}

// ---------------------------------------------------------------- firewall-mark rules

fn fwmark_rules(raw: Vec<raw::FwmarkRule>) -> Result<Vec<FwmarkRule>> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        let key = format!("fwmark[{i}]");
        let mark = fwmark_value(&format!("{key}.mark"), r.mark)?;

        let mut destinations: Vec<IpNet> = Vec::new();
        if let Some(list) = r.destinations {
            if list.is_empty() {
                return invalid(
                    format!("{key}.destinations"),
                    "an empty list matches no packet; leave `destinations` out to match any \
                     destination",
                );
            }
            for (j, text) in list.iter().enumerate() {
                let dkey = format!("{key}.destinations[{j}]");
                let net = match text.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => parse_net(&dkey, text)?,
                };
                if net != net.trunc() {
                    return invalid(
                        dkey,
                        format!(
                            "host bits are set in {net}; write the prefix as {}",
                            net.trunc()
                        ),
                    );
                }
                destinations.push(net);
            }
        }

        let protocol = match r.protocol.as_deref() {
            None => None,
            Some(p) => Some(protocol_value(&format!("{key}.protocol"), p)?),
        };

        let mut ports: Vec<u16> = Vec::new();
        if let Some(list) = r.ports {
            if list.is_empty() {
                return invalid(
                    format!("{key}.ports"),
                    "an empty list matches no packet; leave `ports` out to match any port",
                );
            }
            for (j, p) in list.iter().enumerate() {
                let pkey = format!("{key}.ports[{j}]");
                let port: u16 = int_in(&pkey, *p, 1, 65535)?;
                if let Some(k) = ports.iter().position(|q| *q == port) {
                    return invalid(
                        pkey,
                        format!("duplicate port {port} (also {key}.ports[{k}])"),
                    );
                }
                ports.push(port);
            }
        }

        out.push(FwmarkRule {
            mark,
            destinations,
            protocol,
            ports,
        });
    }
    Ok(out)
}

/// ipvsadm's `parse_fwmark`: 1..=UINT_MAX.
fn fwmark_value(key: &str, v: i64) -> Result<u32> {
    int_in(key, v, 1, u32::MAX.into())
}

fn protocol_value(key: &str, p: &str) -> Result<Protocol> {
    match p {
        "tcp" => Ok(Protocol::Tcp),
        "udp" => Ok(Protocol::Udp),
        other => invalid(
            key,
            format!("unknown protocol {other:?}; expected \"tcp\" or \"udp\""),
        ),
    }
}

// ---------------------------------------------------------------- services

/// What a service is checked against.
pub(crate) struct Ctx<'a> {
    ports: &'a [Port],
    routes: &'a [Route],
    routes6: &'a [Route6],
    marks: HashSet<u32>,
    own: OwnMap,
    /// Whether some port has an IPv4 / IPv6 LIP.
    port_lips: (bool, bool),
}

impl<'a> Ctx<'a> {
    fn new(
        ports: &'a [Port],
        routes: &'a [Route],
        routes6: &'a [Route6],
        rules: &[FwmarkRule],
        own: OwnMap,
    ) -> Ctx<'a> {
        let lips = ports.iter().flat_map(|p| p.local_addresses.iter());
        let port_lips = (
            lips.clone().any(|ip| ip.is_ipv4()),
            lips.clone().any(|ip| ip.is_ipv6()),
        );
        Ctx {
            ports,
            routes,
            routes6,
            marks: rules.iter().map(|r| r.mark).collect(),
            own,
            port_lips,
        }
    }

    /// Whether `ip` is reachable without a next hop: in a port's connected prefix or a route
    /// without `via`.
    fn on_link(&self, ip: IpAddr) -> bool {
        self.ports.iter().any(|p| port_contains(p, ip))
            || self
                .routes
                .iter()
                .any(|r| r.via.is_none() && net_contains4(&r.prefix, ip))
            || self
                .routes6
                .iter()
                .any(|r| r.via.is_none() && net_contains6(&r.prefix, ip))
    }
}

/// The other services a service must not collide with: those checked so far while parsing
/// (indexed), or the rest of a table when one service of it changes (scanned, which costs less
/// than indexing the whole table for every `ipvsadm::apply`).
pub(crate) enum Seen<'a> {
    Indexed {
        keys: HashMap<ServiceKey, usize>,
        vips: HashMap<IpAddr, usize>,
        /// Service LIP -> (service, index in its pool).
        lips: HashMap<IpAddr, (usize, usize)>,
    },
    Table {
        services: &'a [Service],
        skip: Option<usize>,
    },
}

impl Seen<'_> {
    fn indexed() -> Self {
        Seen::Indexed {
            keys: HashMap::new(),
            vips: HashMap::new(),
            lips: HashMap::new(),
        }
    }

    fn add(&mut self, i: usize, s: &Service) {
        if let Seen::Indexed { keys, vips, lips } = self {
            keys.insert(s.key, i);
            if let Some(a) = s.key.address() {
                vips.entry(a.ip()).or_insert(i);
            }
            for (j, ip) in s.fullnat_local_addresses.iter().enumerate() {
                lips.entry(*ip).or_insert((i, j));
            }
        }
    }

    /// The other services, with their indexes (table mode).
    fn others(
        services: &[Service],
        skip: Option<usize>,
    ) -> impl Iterator<Item = (usize, &Service)> {
        services
            .iter()
            .enumerate()
            .filter(move |(i, _)| Some(*i) != skip)
    }

    /// The service with this key.
    fn key(&self, key: &ServiceKey) -> Option<usize> {
        match self {
            Seen::Indexed { keys, .. } => keys.get(key).copied(),
            Seen::Table { services, skip } => {
                Self::others(services, *skip).find_map(|(i, s)| (s.key == *key).then_some(i))
            }
        }
    }

    /// The first service with this VIP.
    fn vip(&self, ip: IpAddr) -> Option<usize> {
        match self {
            Seen::Indexed { vips, .. } => vips.get(&ip).copied(),
            Seen::Table { services, skip } => Self::others(services, *skip)
                .find_map(|(i, s)| (s.key.address().map(|a| a.ip()) == Some(ip)).then_some(i)),
        }
    }

    /// The first service with this LIP in its pool, and its index there.
    fn lip(&self, ip: IpAddr) -> Option<(usize, usize)> {
        match self {
            Seen::Indexed { lips, .. } => lips.get(&ip).copied(),
            Seen::Table { services, skip } => Self::others(services, *skip).find_map(|(i, s)| {
                s.fullnat_local_addresses
                    .iter()
                    .position(|l| *l == ip)
                    .map(|j| (i, j))
            }),
        }
    }
}

fn service(key: &str, s: raw::Service, ctx: &Ctx<'_>, seen: &Seen<'_>) -> Result<Service> {
    let persistence: u32 = int_in(&format!("{key}.persistence"), s.persistence, 0, MAX_TIMEOUT)?;

    let service_key = match s.fwmark {
        Some(mark) => {
            for (name, given) in [
                ("protocol", s.protocol.is_some()),
                ("address", s.address.is_some()),
            ] {
                if given {
                    return invalid(
                        format!("{key}.{name}"),
                        "not allowed with `fwmark`: a firewall-mark service takes the TCP and UDP \
                         packets its mark is given to by the [[fwmark]] rules, whatever their \
                         destination",
                    );
                }
            }
            let mkey = format!("{key}.fwmark");
            let mark = fwmark_value(&mkey, mark)?;
            if !ctx.marks.contains(&mark) {
                return invalid(
                    mkey,
                    format!(
                        "mark {mark} is given by no [[fwmark]] rule, so no packet would reach this \
                         service; add a [[fwmark]] table with mark = {mark}"
                    ),
                );
            }
            ServiceKey::Fwmark { mark, ipv6: s.ipv6 }
        }
        None => {
            if s.ipv6 {
                return invalid(
                    format!("{key}.ipv6"),
                    "only for a firewall-mark service (ipvsadm -f MARK -6); the family of a TCP \
                     or UDP service is its address's",
                );
            }
            let (Some(proto), Some(address)) = (s.protocol.as_deref(), s.address.as_deref()) else {
                let missing = if s.protocol.is_none() && s.address.is_some() {
                    "protocol"
                } else {
                    "address"
                };
                return invalid(
                    format!("{key}.{missing}"),
                    "required key is missing (a service has `protocol` and `address`, or \
                     `fwmark`)",
                );
            };
            let protocol = protocol_value(&format!("{key}.protocol"), proto)?;
            let address_key = format!("{key}.address");
            let address = parse_socket(&address_key, address, None)?;
            if address.port() == 0 && persistence == 0 {
                // ipvsadm: "Zero port specified for non-persistent service".
                return invalid(
                    address_key,
                    "port 0 (every port) is only for a persistent service; give the service's \
                     port, like \"198.18.0.100:80\", or set `persistence`",
                );
            }
            let vip = address.ip();
            check_unicast(&address_key, vip)?;
            check_not_link_local(&address_key, vip, "a VIP")?;
            if let Some(o) = ctx.own.get(&vip) {
                return invalid(
                    address_key,
                    format!(
                        "VIP {vip} is {}; a VIP must be an address of its own",
                        o.what()
                    ),
                );
            }
            if let Some((si, li)) = seen.lip(vip) {
                return invalid(
                    address_key,
                    format!(
                        "VIP {vip} is a local address (LIP) of services[{si}] \
                         (services[{si}].fullnat_local_addresses[{li}]); a VIP must be an address \
                         of its own"
                    ),
                );
            }
            match protocol {
                Protocol::Tcp => ServiceKey::Tcp(address),
                Protocol::Udp => ServiceKey::Udp(address),
            }
        }
    };
    if let Some(j) = seen.key(&service_key) {
        let which = if service_key.fwmark().is_some() {
            "fwmark"
        } else {
            "address"
        };
        return invalid(
            format!("{key}.{which}"),
            format!("duplicate service {service_key} (also services[{j}])"),
        );
    }
    let ipv6 = service_key.is_ipv6();

    if !crate::SCHEDULERS.contains(&s.scheduler.as_str()) {
        return invalid(
            format!("{key}.scheduler"),
            format!(
                "unknown scheduler {:?}; known schedulers: {}",
                s.scheduler,
                crate::SCHEDULERS.join(", ")
            ),
        );
    }
    let sched_flags = sched_flags(key, &s.scheduler, &s.sched_flags)?;

    let max_len: u8 = if ipv6 { 128 } else { 32 };
    let persistence_prefix_len = match &s.persistence_netmask {
        None => max_len,
        Some(text) => {
            let nkey = format!("{key}.persistence_netmask");
            let len = persistence_netmask(&nkey, text, ipv6)?;
            if len != max_len && persistence == 0 {
                return invalid(
                    nkey,
                    "has no effect without persistence; set `persistence` (seconds) or remove \
                     this key",
                );
            }
            len
        }
    };

    if s.one_packet && service_key.protocol() == Some(Protocol::Tcp) {
        // ipvsadm: "One-Packet Scheduling is only for UDP virtual services".
        return invalid(
            format!("{key}.one_packet"),
            "one-packet scheduling is only for UDP (and firewall-mark) services",
        );
    }

    let mut fullnat_local_addresses: Vec<IpAddr> = Vec::new();
    for (j, text) in s.fullnat_local_addresses.iter().enumerate() {
        let lkey = format!("{key}.fullnat_local_addresses[{j}]");
        let ip = parse_ip(&lkey, text)?;
        check_unicast(&lkey, ip)?;
        check_not_link_local(&lkey, ip, "a local address (LIP)")?;
        if let Some(o) = ctx.own.get(&ip).filter(|o| !o.lip) {
            return invalid(
                lkey,
                format!("{ip} is {}; a LIP must be an address of its own", o.what()),
            );
        }
        let vip_here = service_key.address().map(|a| a.ip()) == Some(ip);
        if let Some(si) = seen.vip(ip).or(vip_here.then_some(usize::MAX)) {
            let whose = if si == usize::MAX {
                "this service's VIP".to_string()
            } else {
                format!("the VIP of services[{si}]")
            };
            return invalid(lkey, format!("{ip} is {whose}; a LIP must not be a VIP"));
        }
        if let Some(k) = fullnat_local_addresses.iter().position(|o| *o == ip) {
            return invalid(
                lkey,
                format!("duplicate local address {ip} (also {key}.fullnat_local_addresses[{k}])"),
            );
        }
        fullnat_local_addresses.push(ip);
    }

    let health_check = match s.health_check {
        None => None,
        Some(h) => Some(health_check(
            &format!("{key}.health_check"),
            h,
            &service_key,
            ctx,
        )?),
    };

    let mut real_servers: Vec<RealServer> = Vec::with_capacity(s.real_servers.len());
    let mut addresses: HashMap<SocketAddr, usize> = HashMap::with_capacity(s.real_servers.len());
    for (j, rs) in s.real_servers.into_iter().enumerate() {
        let rkey = format!("{key}.real_servers[{j}]");
        let r = real_server(&rkey, rs, &service_key, &fullnat_local_addresses, ctx)?;
        if let Some(k) = addresses.get(&r.address) {
            return invalid(
                format!("{rkey}.address"),
                format!(
                    "duplicate real server {} (also {key}.real_servers[{k}])",
                    r.address
                ),
            );
        }
        addresses.insert(r.address, j);
        real_servers.push(r);
    }

    if s.synproxy {
        let skey = format!("{key}.synproxy");
        if service_key.protocol() == Some(Protocol::Udp) {
            return invalid(skey, "the SYN proxy is for TCP services only");
        }
        // The director translates the real server's sequence numbers on their way back to the
        // client, so it must see the replies: not with DR or TUN (DPVS refuses them too).
        if let Some(j) = real_servers
            .iter()
            .position(|r| matches!(r.method, Method::Dr | Method::Tun))
        {
            return invalid(
                format!("{key}.real_servers[{j}].method"),
                format!(
                    "the service has `synproxy = true`, which needs the real servers' replies \
                     to pass the director: method \"nat\" or \"fullnat\", not {:?}",
                    real_servers[j].method.as_str()
                ),
            );
        }
    }

    Ok(Service {
        key: service_key,
        scheduler: s.scheduler,
        sched_flags,
        persistence,
        persistence_prefix_len,
        one_packet: s.one_packet,
        synproxy: s.synproxy,
        fullnat_local_addresses,
        health_check,
        real_servers,
    })
}

/// `sched_flags = ["sh-fallback", "sh-port"]`, checked against the scheduler as ipvsadm's
/// `parse_sched_flags` does.
fn sched_flags(key: &str, scheduler: &str, names: &[String]) -> Result<SchedFlags> {
    let mut flags = SchedFlags::default();
    for (i, name) in names.iter().enumerate() {
        let fkey = format!("{key}.sched_flags[{i}]");
        let (sched, bit) = match name.as_str() {
            "sh-fallback" => ("sh", &mut flags.fallback),
            "sh-port" => ("sh", &mut flags.port),
            "mh-fallback" => ("mh", &mut flags.fallback),
            "mh-port" => ("mh", &mut flags.port),
            other => {
                return invalid(
                    fkey,
                    format!(
                        "unknown scheduler flag {other:?}; expected \"sh-fallback\", \"sh-port\", \
                         \"mh-fallback\" or \"mh-port\""
                    ),
                )
            }
        };
        if sched != scheduler {
            return invalid(
                fkey,
                format!(
                    "{name:?} is a flag of scheduler \"{sched}\", but this service's scheduler is \
                     {scheduler:?}"
                ),
            );
        }
        if *bit {
            return invalid(fkey, format!("duplicate scheduler flag {name:?}"));
        }
        *bit = true;
    }
    Ok(flags)
}

/// ipvsadm `-M`: a dotted netmask for IPv4 (contiguous here), a prefix length for IPv6.
fn persistence_netmask(key: &str, text: &str, ipv6: bool) -> Result<u8> {
    if ipv6 {
        let len = text.strip_prefix('/').unwrap_or(text);
        return match len.parse::<u8>() {
            Ok(n) if (1..=128).contains(&n) && len.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
            _ => invalid(
                key,
                format!(
                    "{text:?} is not a prefix length 1..=128; an IPv6 service takes one, like \
                     \"64\" (as ipvsadm -M)"
                ),
            ),
        };
    }
    let Ok(mask) = text.parse::<Ipv4Addr>() else {
        return invalid(
            key,
            format!("{text:?} is not a netmask; write it like \"255.255.255.0\""),
        );
    };
    match ipnet::ipv4_mask_to_prefix(mask) {
        Ok(len) => Ok(len),
        Err(_) => invalid(
            key,
            format!("{text} is not a contiguous netmask (like \"255.255.255.0\")"),
        ),
    }
}

fn health_check(
    key: &str,
    h: raw::HealthCheck,
    service: &ServiceKey,
    ctx: &Ctx<'_>,
) -> Result<HealthCheck> {
    let http = match h.kind.as_str() {
        "tcp" => false,
        "http" => true,
        other => {
            return invalid(
                format!("{key}.kind"),
                format!("unknown health check {other:?}; expected \"tcp\" or \"http\""),
            )
        }
    };
    let interval = seconds(&format!("{key}.interval"), h.interval)?;
    let timeout = seconds(&format!("{key}.timeout"), h.timeout)?;
    if timeout >= interval {
        return invalid(
            format!("{key}.timeout"),
            format!(
                "{} s is not less than the interval {} s; a check must end before the next starts",
                h.timeout,
                interval.as_secs_f64()
            ),
        );
    }
    let failures = int_in(&format!("{key}.failures"), h.failures, 1, 100)?;
    let successes = int_in(&format!("{key}.successes"), h.successes, 1, 100)?;
    let kind = if http {
        let path = h.http_path.unwrap_or_else(|| "/".to_string());
        let ok = path.starts_with('/') && path.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return invalid(
                format!("{key}.http_path"),
                format!("{path:?} is not a request path; give one like \"/health\" (no spaces)"),
            );
        }
        let status = match h.http_status {
            None => 200,
            Some(v) => int_in(&format!("{key}.http_status"), v, 100, 599)?,
        };
        CheckKind::Http { path, status }
    } else {
        for (name, given) in [
            ("http_path", h.http_path.is_some()),
            ("http_status", h.http_status.is_some()),
        ] {
            if given {
                return invalid(
                    format!("{key}.{name}"),
                    "only for kind = \"http\" (this check is \"tcp\")",
                );
            }
        }
        CheckKind::Tcp
    };
    let on_failure = match h.on_failure.as_str() {
        "quiesce" => OnFailure::Quiesce,
        "remove" => OnFailure::Remove,
        other => {
            return invalid(
                format!("{key}.on_failure"),
                format!("unknown action {other:?}; expected \"quiesce\" (weight 0) or \"remove\""),
            )
        }
    };
    let sorry_server = match h.sorry_server {
        None => None,
        Some(text) => {
            let skey = format!("{key}.sorry_server");
            let addr = parse_socket(&skey, &text, Some(service.port()))?;
            check_unicast(&skey, addr.ip())?;
            check_family(&skey, addr.ip(), service, "the sorry server")?;
            if let Some(o) = ctx.own.get(&addr.ip()) {
                return invalid(skey, format!("{} is {}", addr.ip(), o.what()));
            }
            Some(addr)
        }
    };
    Ok(HealthCheck {
        kind,
        interval,
        timeout,
        failures,
        successes,
        on_failure,
        sorry_server,
    })
}

/// Seconds (`2`, `0.5`) to a duration kept to the millisecond: more than 0, at most an hour.
fn seconds(key: &str, v: f64) -> Result<Duration> {
    if !v.is_finite() || v <= 0.0 || v > MAX_CHECK_INTERVAL {
        return invalid(
            key,
            format!(
                "{v} is out of range: give seconds more than 0 and at most {MAX_CHECK_INTERVAL}"
            ),
        );
    }
    let ms = (v * 1000.0).round();
    if ms < 1.0 {
        return invalid(key, format!("{v} s is shorter than a millisecond"));
    }
    // In range: at most 3600000.
    Ok(Duration::from_millis(ms as u64))
}

/// Validates one real server of the service `service`.
fn real_server(
    key: &str,
    rs: raw::RealServer,
    service: &ServiceKey,
    service_lips: &[IpAddr],
    ctx: &Ctx<'_>,
) -> Result<RealServer> {
    let sport = service.port();
    let address_key = format!("{key}.address");
    let address = parse_socket(&address_key, &rs.address, Some(sport))?;
    if address.port() == 0 && sport != 0 {
        return invalid(
            address_key,
            format!(
                "port 0 is not a real server port; leave the port out to use the service's port \
                 {sport}"
            ),
        );
    }
    let rip = address.ip();
    check_unicast(&address_key, rip)?;
    check_not_link_local(&address_key, rip, "a real server")?;
    if let Some(o) = ctx.own.get(&rip) {
        return invalid(
            address_key,
            format!(
                "{rip} is {}; the director cannot be its own real server",
                o.what()
            ),
        );
    }

    let method = match rs.method.as_str() {
        "nat" => Method::Nat,
        "dr" => Method::Dr,
        "tun" => Method::Tun,
        "fullnat" => Method::FullNat,
        other => {
            return invalid(
                format!("{key}.method"),
                format!(
                    "unknown forwarding method {other:?}; expected \"nat\", \"dr\", \"tun\" or \
                     \"fullnat\""
                ),
            )
        }
    };

    // ipvsadm `-w` accepts 0..=65535 (string_to_number(optarg, 0, 65535)).
    let weight = int_in(&format!("{key}.weight"), rs.weight, 0, 65535)?;
    let upper_threshold = int_in(
        &format!("{key}.upper_threshold"),
        rs.upper_threshold,
        0,
        MAX_THRESHOLD,
    )?;
    let lower_threshold = int_in(
        &format!("{key}.lower_threshold"),
        rs.lower_threshold,
        0,
        MAX_THRESHOLD,
    )?;
    if lower_threshold > upper_threshold {
        // Kernel ip_vs_add_dest / ip_vs_edit_dest refuse it (-ERANGE): "lower threshold is
        // higher than upper threshold"; an upper threshold of 0 (none) counts as 0.
        let why = if upper_threshold == 0 {
            "a lower threshold needs an upper threshold (upper_threshold is 0, none)".to_string()
        } else {
            format!("{lower_threshold} is above upper_threshold {upper_threshold}")
        };
        return invalid(format!("{key}.lower_threshold"), why);
    }

    if rip.is_ipv6() != service.is_ipv6() {
        let vip_family = if service.is_ipv6() { "IPv6" } else { "IPv4" };
        let tun_note = if method == Method::Tun {
            "; rvs tunnels IPv4 in IPv4 (RFC 2003) and IPv6 in IPv6 (RFC 2473) only"
        } else {
            ""
        };
        return invalid(
            address_key,
            format!(
                "{rip} is {} but the service is {vip_family}: method {:?} forwards the client's \
                 packet, which keeps its family{tun_note}",
                family(rip),
                method.as_str()
            ),
        );
    }

    // A firewall-mark service has no port to compare with: the kernel keeps a DR/TUN real
    // server's port and ignores it, and so does rvs.
    if matches!(method, Method::Dr | Method::Tun)
        && service.fwmark().is_none()
        && address.port() != sport
    {
        // DR rewrites only the Ethernet header and TUN wraps the packet unchanged, so the real
        // server receives the service's port. ipvsadm silently replaces the port with the
        // service's (ipvsadm.c: "The destination port must be equal to the service port if the
        // IP_VS_CONN_F_TUNNEL or IP_VS_CONN_F_DROUTE is set"); refuse instead of ignoring it.
        return invalid(
            address_key,
            format!(
                "port {} differs from the service port {sport}, but method {:?} forwards the \
                 packet with its destination port unchanged; use port {sport} (or leave it out) \
                 or method \"nat\"/\"fullnat\"",
                address.port(),
                method.as_str(),
            ),
        );
    }

    if method == Method::Dr && !ctx.on_link(rip) {
        // DR only rewrites the destination MAC: the real server must share a segment with the
        // director (LVS.md, forwarding methods).
        return invalid(
            address_key,
            format!(
                "method \"dr\" needs the real server on a segment the director is attached to, \
                 but {rip} is inside no port address prefix and no route without `via`; use \
                 method \"tun\" or \"fullnat\" for a real server behind a router"
            ),
        );
    }

    if method == Method::FullNat {
        let has_lip = if service_lips.is_empty() {
            if rip.is_ipv4() {
                ctx.port_lips.0
            } else {
                ctx.port_lips.1
            }
        } else {
            service_lips.iter().any(|l| l.is_ipv4() == rip.is_ipv4())
        };
        if !has_lip {
            let service_key = key.rsplit_once('.').map_or(key, |(s, _)| s);
            return invalid(
                format!("{key}.method"),
                format!(
                    "\"fullnat\" needs a local address (LIP) of the real server's family ({}) to \
                     send from; add one to {service_key}.fullnat_local_addresses{}",
                    family(rip),
                    if service_lips.is_empty() {
                        " or to a port's local_addresses"
                    } else {
                        " (the service's own pool replaces the ports' pools)"
                    }
                ),
            );
        }
    }

    Ok(RealServer {
        address,
        method,
        weight,
        upper_threshold,
        lower_threshold,
    })
}

fn check_family(key: &str, ip: IpAddr, service: &ServiceKey, what: &str) -> Result<()> {
    if ip.is_ipv6() == service.is_ipv6() {
        return Ok(());
    }
    let sf = if service.is_ipv6() { "IPv6" } else { "IPv4" };
    invalid(
        key,
        format!("{what} {ip} is {} but the service is {sf}", family(ip)),
    )
}

// ---------------------------------------------------------------- helpers

fn invalid<T>(key: impl Into<String>, problem: impl Into<String>) -> Result<T> {
    Err(ConfigError::Invalid {
        key: key.into(),
        problem: problem.into(),
    })
}

/// `value` as `T` when inside `lo..=hi`, which must fit `T`.
fn int_in<T: TryFrom<i64>>(key: &str, value: i64, lo: i64, hi: i64) -> Result<T> {
    if value < lo || value > hi {
        return invalid(key, format!("{value} is out of range {lo}..={hi}"));
    }
    T::try_from(value).or_else(|_| invalid(key, format!("{value} does not fit")))
}

/// Port names: lowercase letters, digits, `_` and `-`, so they are safe in logs, metrics labels
/// and command lines.
fn check_port_name(key: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        invalid(
            key,
            format!(
                "{name:?} is not a valid port name; use lowercase letters, digits, '_' and '-'"
            ),
        )
    }
}

/// The port called `name`, or an error listing the known names.
fn find_port<'a>(key: &str, name: &str, ports: &'a [Port]) -> Result<&'a Port> {
    ports.iter().find(|p| p.name == name).map_or_else(
        || {
            let known = ports
                .iter()
                .map(|p| format!("{:?}", p.name))
                .collect::<Vec<_>>()
                .join(", ");
            invalid(key, format!("unknown port {name:?}; known ports: {known}"))
        },
        Ok,
    )
}

fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// Whether `ip` is inside a connected prefix of `port`.
fn port_contains(port: &Port, ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => port.addresses.iter().any(|n| n.contains(&ip)),
        IpAddr::V6(ip) => port.addresses6.iter().any(|n| n.contains(&ip)),
    }
}

fn net_contains4(net: &Ipv4Net, ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(ip) if net.contains(&ip))
}

fn net_contains6(net: &Ipv6Net, ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(ip) if net.contains(&ip))
}

/// IPv6 link-local unicast, `fe80::/10` (RFC 4291 section 2.5.6).
fn is_link_local(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(ip) if ip.segments()[0] & 0xffc0 == 0xfe80)
}

fn check_unicast(key: &str, ip: IpAddr) -> Result<()> {
    let not = match ip {
        IpAddr::V4(ip) => ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast(),
        IpAddr::V6(ip) => ip.is_unspecified() || ip.is_multicast(),
    };
    if not {
        invalid(key, format!("{ip} is not a unicast address"))
    } else {
        Ok(())
    }
}

/// VIPs, RIPs and LIPs are routed addresses; a link-local one (kernel `ip_vs_new_dest` refuses
/// it for a destination) would only work on one segment.
fn check_not_link_local(key: &str, ip: IpAddr, what: &str) -> Result<()> {
    if is_link_local(ip) {
        invalid(
            key,
            format!("{ip} is link-local (fe80::/10) and cannot be {what}"),
        )
    } else {
        Ok(())
    }
}

/// An IPv4 or IPv6 address.
fn parse_ip(key: &str, text: &str) -> Result<IpAddr> {
    text.parse::<IpAddr>().or_else(|_| {
        invalid(
            key,
            format!("{text:?} is not an IP address (like \"198.18.0.254\" or \"2001:db8::fe\")"),
        )
    })
}

/// A prefix, like `198.18.0.0/24` or `2001:db8::/32`.
fn parse_net(key: &str, text: &str) -> Result<IpNet> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        let len = if ip.is_ipv4() { 32 } else { 128 };
        return invalid(
            key,
            format!("{text:?} has no prefix length; write it like \"{text}/{len}\""),
        );
    }
    invalid(
        key,
        format!("{text:?} is not a prefix (like \"198.18.0.0/24\" or \"2001:db8::/32\")"),
    )
}

/// An address with its prefix length, like `198.18.0.1/24` or `2001:db8::1/64`.
fn parse_host_net(key: &str, text: &str) -> Result<IpNet> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        let len = if ip.is_ipv4() { 24 } else { 64 };
        return invalid(
            key,
            format!("{text:?} has no prefix length; write it like \"{text}/{len}\""),
        );
    }
    invalid(
        key,
        format!(
            "{text:?} is not an IP address with a prefix length (like \"198.18.0.1/24\" or \
             \"2001:db8::1/64\")"
        ),
    )
}

/// `IP:port` (`[IPv6]:port`), or `IP` alone when `default_port` is given.
fn parse_socket(key: &str, text: &str, default_port: Option<u16>) -> Result<SocketAddr> {
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return Ok(sa);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return match default_port {
            Some(port) => Ok(SocketAddr::new(ip, port)),
            None => {
                let like = match ip {
                    IpAddr::V4(_) => format!("{text}:80"),
                    IpAddr::V6(_) => format!("[{text}]:80"),
                };
                invalid(
                    key,
                    format!("{text:?} has no port; write it as IP:port, like \"{like}\""),
                )
            }
        };
    }
    let like = if default_port.is_some() {
        "IP or IP:port, like \"198.18.1.10\", \"198.18.1.10:80\" or \"[2001:db8::10]:80\""
    } else {
        "IP:port, like \"198.18.0.100:80\" or \"[2001:db8::100]:80\""
    };
    invalid(
        key,
        format!("{text:?} is not an IP address and port; write it as {like}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_addresses() {
        assert_eq!(
            parse_mac("k", "02:00:00:00:00:1a").unwrap(),
            [2, 0, 0, 0, 0, 0x1a]
        );
        for bad in [
            "02:00:00:00:00",
            "02-00-00-00-00-10",
            "2:0:0:0:0:10",
            "zz:00:00:00:00:10",
        ] {
            assert!(parse_mac("k", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn link_local_is_fe80_slash_10() {
        assert!(is_link_local("fe80::1".parse().unwrap()));
        assert!(is_link_local("febf::1".parse().unwrap()));
        assert!(!is_link_local("fec0::1".parse().unwrap()));
        assert!(!is_link_local("198.18.0.1".parse().unwrap()));
    }

    #[test]
    fn seconds_keep_milliseconds() {
        assert_eq!(seconds("k", 0.1).unwrap(), Duration::from_millis(100));
        assert_eq!(seconds("k", 2.0).unwrap(), Duration::from_secs(2));
        assert!(seconds("k", 0.0004).is_err());
        assert!(seconds("k", f64::NAN).is_err());
        assert!(seconds("k", 3600.5).is_err());
    }
}
