//! From the raw model to a validated [`Config`]: every check, each error naming its key.
//!
//! Checks run in document order and the first failure is reported.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use ipnet::{Ipv4Net, Ipv6Net};

use crate::{raw, Config, ConfigError, Method, Port, Protocol, RealServer, Route, Service};

type Result<T> = std::result::Result<T, ConfigError>;

/// Longest persistence ipvsadm accepts for `-p`: its `MAX_TIMEOUT`, 31 days.
const MAX_PERSISTENCE: i64 = 86400 * 31;

/// Longest idle sleep: more than a second per empty poll is a unit mistake, not a setting.
const MAX_IDLE_SLEEP_US: i64 = 1_000_000;

/// Smallest MTU every IPv4 link must carry (RFC 791: "Every internet module must be able to
/// forward a datagram of 68 octets without further fragmentation").
const MIN_MTU: i64 = 68;

pub(crate) fn validate(raw: raw::Config) -> Result<Config> {
    let workers = int_in("workers", raw.workers, 1, 64)?;
    let max_connections = int_in("max_connections", raw.max_connections, 1, u32::MAX.into())?;
    let idle_sleep_us = int_in("idle_sleep_us", raw.idle_sleep_us, 0, MAX_IDLE_SLEEP_US)?;
    let ports = ports(raw.ports)?;
    let routes = routes(raw.routes, &ports)?;
    let services = services(raw.services, &ports, &routes)?;
    Ok(Config {
        workers,
        max_connections,
        idle_sleep_us,
        ports,
        routes,
        services,
    })
}

fn ports(raw: Vec<raw::Port>) -> Result<Vec<Port>> {
    if raw.is_empty() {
        return invalid(
            "ports",
            "at least one port is required; add a [[ports]] table with `name` and `device`",
        );
    }
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

        let mut addresses: Vec<Ipv4Net> = Vec::with_capacity(p.addresses.len());
        for (j, text) in p.addresses.iter().enumerate() {
            let akey = format!("{key}.addresses[{j}]");
            let net = parse_ipv4_net(&akey, text)?;
            let ip = net.addr();
            check_unicast(&akey, ip)?;
            if net.prefix_len() <= 30 && (ip == net.network() || ip == net.broadcast()) {
                let which = if ip == net.network() {
                    "network"
                } else {
                    "broadcast"
                };
                return invalid(
                    akey,
                    format!(
                        "{ip} is the {which} address of {}; give the director's own address \
                         in that subnet",
                        net.trunc()
                    ),
                );
            }
            let earlier = own_address(&ports, ip).or_else(|| {
                addresses
                    .iter()
                    .position(|a| a.addr() == ip)
                    .map(|k| (i, k, p.name.as_str()))
            });
            if let Some((pi, ai, name)) = earlier {
                return invalid(
                    akey,
                    format!(
                        "{ip} is already an address of port {name:?} (ports[{pi}].addresses[{ai}])"
                    ),
                );
            }
            addresses.push(net);
        }

        let mtu = int_in(&format!("{key}.mtu"), p.mtu, MIN_MTU, u16::MAX.into())?;
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
            mtu,
            vlan,
        });
    }
    Ok(ports)
}

fn routes(raw: Vec<raw::Route>, ports: &[Port]) -> Result<Vec<Route>> {
    let mut routes: Vec<Route> = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        let key = format!("routes[{i}]");

        let prefix_key = format!("{key}.prefix");
        let prefix = parse_ipv4_net(&prefix_key, &r.prefix)?;
        if prefix != prefix.trunc() {
            return invalid(
                prefix_key,
                format!(
                    "host bits are set in {prefix}; write the prefix as {}",
                    prefix.trunc()
                ),
            );
        }
        if let Some(j) = routes.iter().position(|q| q.prefix == prefix) {
            return invalid(
                prefix_key,
                format!("duplicate route for {prefix} (also routes[{j}].prefix)"),
            );
        }

        let port = find_port(&format!("{key}.port"), &r.port, ports)?;

        let via = match &r.via {
            None => None,
            Some(text) => {
                let via_key = format!("{key}.via");
                let via = parse_ipv4(&via_key, text)?;
                check_unicast(&via_key, via)?;
                if let Some((pi, ai, name)) = own_address(ports, via) {
                    return invalid(
                        via_key,
                        format!(
                            "{via} is the director's own address on port {name:?} \
                             (ports[{pi}].addresses[{ai}]); the next hop must be another host"
                        ),
                    );
                }
                if port.addresses.is_empty() {
                    return invalid(
                        via_key,
                        format!(
                            "port {:?} has no addresses, so the next hop {via} cannot be \
                             resolved on it; give the port an address in the next hop's subnet",
                            port.name
                        ),
                    );
                }
                if !port.addresses.iter().any(|net| net.contains(&via)) {
                    let connected = port
                        .addresses
                        .iter()
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .join(", ");
                    return invalid(
                        via_key,
                        format!(
                            "{via} is not inside a connected prefix of port {:?} ({connected}), \
                             so the next hop cannot be resolved; fix the next hop or give the \
                             port an address in its subnet",
                            port.name
                        ),
                    );
                }
                Some(via)
            }
        };

        routes.push(Route {
            prefix,
            via,
            port: r.port,
        });
    }
    Ok(routes)
}

fn services(raw: Vec<raw::Service>, ports: &[Port], routes: &[Route]) -> Result<Vec<Service>> {
    let mut services: Vec<Service> = Vec::with_capacity(raw.len());
    for (i, s) in raw.into_iter().enumerate() {
        let key = format!("services[{i}]");

        let protocol = match s.protocol.as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            other => {
                return invalid(
                    format!("{key}.protocol"),
                    format!("unknown protocol {other:?}; expected \"tcp\" or \"udp\""),
                )
            }
        };

        let address_key = format!("{key}.address");
        let address = parse_socket(&address_key, &s.address, None)?;
        if address.port() == 0 {
            // ipvsadm accepts port 0 only for a persistent service matching every port.
            return invalid(
                address_key,
                "port 0 (a persistent service on all ports) is not supported; give the \
                 service's port, like \"198.18.0.100:80\"",
            );
        }
        let vip = *address.ip();
        check_unicast(&address_key, vip)?;
        if let Some((pi, ai, name)) = own_address(ports, vip) {
            return invalid(
                address_key,
                format!(
                    "VIP {vip} is the director's own address on port {name:?} \
                     (ports[{pi}].addresses[{ai}]); a VIP must be an address of its own"
                ),
            );
        }
        if let Some(j) = services
            .iter()
            .position(|o| o.protocol == protocol && o.address == address)
        {
            return invalid(
                address_key,
                format!("duplicate service {protocol} {address} (also services[{j}])"),
            );
        }

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

        let persistence = int_in(
            &format!("{key}.persistence"),
            s.persistence,
            0,
            MAX_PERSISTENCE,
        )?;

        let mut real_servers: Vec<RealServer> = Vec::with_capacity(s.real_servers.len());
        for (j, rs) in s.real_servers.into_iter().enumerate() {
            let rkey = format!("{key}.real_servers[{j}]");
            real_servers.push(real_server(
                &rkey,
                rs,
                address,
                &real_servers,
                ports,
                routes,
            )?);
        }

        services.push(Service {
            protocol,
            address,
            scheduler: s.scheduler,
            persistence,
            real_servers,
        });
    }
    Ok(services)
}

/// Validates one real server of the service at `vip`; `earlier` are the service's real servers
/// before it.
fn real_server(
    key: &str,
    rs: raw::RealServer,
    vip: SocketAddrV4,
    earlier: &[RealServer],
    ports: &[Port],
    routes: &[Route],
) -> Result<RealServer> {
    let address_key = format!("{key}.address");
    let address = parse_socket(&address_key, &rs.address, Some(vip.port()))?;
    if address.port() == 0 {
        return invalid(
            address_key,
            format!(
                "port 0 is not a real server port; leave the port out to use the service's \
                 port {}",
                vip.port()
            ),
        );
    }
    let rip = *address.ip();
    check_unicast(&address_key, rip)?;
    if let Some((pi, ai, name)) = own_address(ports, rip) {
        return invalid(
            address_key,
            format!(
                "{rip} is the director's own address on port {name:?} \
                 (ports[{pi}].addresses[{ai}]); the director cannot be its own real server"
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

    if let Some(k) = earlier.iter().position(|o| o.address == address) {
        let service_key = key.rsplit_once('.').map_or(key, |(s, _)| s);
        return invalid(
            address_key,
            format!("duplicate real server {address} (also {service_key}.real_servers[{k}])"),
        );
    }

    if matches!(method, Method::Dr | Method::Tun) {
        // DR rewrites only the Ethernet header and TUN wraps the packet unchanged, so the real
        // server receives the service's port. ipvsadm silently replaces the port with the
        // service's (ipvsadm.c: "The destination port must be equal to the service port if the
        // IP_VS_CONN_F_TUNNEL or IP_VS_CONN_F_DROUTE is set"); refuse instead of ignoring it.
        if address.port() != vip.port() {
            return invalid(
                address_key,
                format!(
                    "port {} differs from the service port {}, but method {:?} forwards the \
                     packet with its destination port unchanged; use port {} (or leave it out) \
                     or method \"nat\"/\"fullnat\"",
                    address.port(),
                    vip.port(),
                    method.as_str(),
                    vip.port()
                ),
            );
        }
    }

    if method == Method::Dr && !on_link(rip, ports, routes) {
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

    Ok(RealServer {
        address,
        method,
        weight,
    })
}

/// Whether `ip` is reachable without a next hop: in a port's connected prefix or a route
/// without `via`.
fn on_link(ip: Ipv4Addr, ports: &[Port], routes: &[Route]) -> bool {
    ports
        .iter()
        .flat_map(|p| p.addresses.iter())
        .any(|net| net.contains(&ip))
        || routes
            .iter()
            .any(|r| r.via.is_none() && r.prefix.contains(&ip))
}

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

/// Where `ip` is one of the director's own addresses: (port index, address index, port name).
fn own_address(ports: &[Port], ip: Ipv4Addr) -> Option<(usize, usize, &str)> {
    ports.iter().enumerate().find_map(|(pi, p)| {
        p.addresses
            .iter()
            .position(|a| a.addr() == ip)
            .map(|ai| (pi, ai, p.name.as_str()))
    })
}

fn check_unicast(key: &str, ip: Ipv4Addr) -> Result<()> {
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() {
        invalid(key, format!("{ip} is not a unicast address"))
    } else {
        Ok(())
    }
}

const NO_IPV6: &str = "IPv6 is not supported yet";

fn parse_ipv4(key: &str, text: &str) -> Result<Ipv4Addr> {
    if let Ok(ip) = text.parse::<Ipv4Addr>() {
        Ok(ip)
    } else if text.parse::<Ipv6Addr>().is_ok() {
        invalid(key, format!("{NO_IPV6}: {text:?}"))
    } else {
        invalid(
            key,
            format!("{text:?} is not an IPv4 address (like \"198.18.0.254\")"),
        )
    }
}

/// An address with its prefix length, like `198.18.0.1/24`.
fn parse_ipv4_net(key: &str, text: &str) -> Result<Ipv4Net> {
    if let Ok(net) = text.parse::<Ipv4Net>() {
        Ok(net)
    } else if text.parse::<Ipv6Net>().is_ok() || text.parse::<Ipv6Addr>().is_ok() {
        invalid(key, format!("{NO_IPV6}: {text:?}"))
    } else if text.parse::<Ipv4Addr>().is_ok() {
        invalid(
            key,
            format!("{text:?} has no prefix length; write it like \"{text}/24\""),
        )
    } else {
        invalid(
            key,
            format!(
                "{text:?} is not an IPv4 address with a prefix length (like \"198.18.0.1/24\")"
            ),
        )
    }
}

/// `IP:port`, or `IP` alone when `default_port` is given.
fn parse_socket(key: &str, text: &str, default_port: Option<u16>) -> Result<SocketAddrV4> {
    if let Ok(sa) = text.parse::<SocketAddrV4>() {
        return Ok(sa);
    }
    if let Ok(ip) = text.parse::<Ipv4Addr>() {
        return match default_port {
            Some(port) => Ok(SocketAddrV4::new(ip, port)),
            None => invalid(
                key,
                format!("{text:?} has no port; write it as IP:port, like \"{text}:80\""),
            ),
        };
    }
    if text.parse::<SocketAddrV6>().is_ok() || text.parse::<Ipv6Addr>().is_ok() {
        return invalid(key, format!("{NO_IPV6}: {text:?}"));
    }
    let like = if default_port.is_some() {
        "IP or IP:port, like \"198.18.1.10\" or \"198.18.1.10:80\""
    } else {
        "IP:port, like \"198.18.0.100:80\""
    };
    invalid(
        key,
        format!("{text:?} is not an IPv4 address and port; write it as {like}"),
    )
}
