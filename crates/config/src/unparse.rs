//! From a validated [`Config`] back to the raw model and to TOML: what `to_toml` prints and what
//! `validate::check_service` re-checks. Keys at their defaults are left out, so that the output
//! reads like a hand-written file; `parse(to_toml(c)) == c` for every valid `c`.

use std::net::IpAddr;

use crate::{raw, CheckKind, Config, Method, OnFailure, Service, ServiceKey, Timeouts};

pub(crate) fn to_toml(cfg: &Config) -> String {
    let raw = config(cfg);
    // The raw model holds only strings, integers, floats, booleans, arrays and tables, which
    // TOML represents; a failure would be a bug in this module.
    toml::to_string(&raw).unwrap_or_else(|e| format!("# rvs-config could not write TOML: {e}\n"))
}

fn config(cfg: &Config) -> raw::Config {
    let timeouts = (cfg.timeouts != Timeouts::default()).then(|| raw::Timeouts {
        tcp: cfg.timeouts.tcp.into(),
        tcpfin: cfg.timeouts.tcpfin.into(),
        udp: cfg.timeouts.udp.into(),
    });
    let d = crate::Control::default();
    let c = &cfg.control;
    let control = (*c != d).then(|| raw::Control {
        socket: (c.socket != d.socket).then(|| c.socket.to_string_lossy().into_owned()),
        socket_mode: (c.socket_mode != d.socket_mode).then(|| format!("{:04o}", c.socket_mode)),
        metrics: c.metrics.map(|m| m.to_string()),
    });
    let ports = cfg
        .ports
        .iter()
        .map(|p| raw::Port {
            name: p.name.clone(),
            device: p.device.clone(),
            args: p.args.clone(),
            addresses: p
                .addresses
                .iter()
                .map(|n| n.to_string())
                .chain(p.addresses6.iter().map(|n| n.to_string()))
                .collect(),
            local_addresses: strings(&p.local_addresses),
            mtu: p.mtu.into(),
            vlan: p.vlan.map(i64::from),
            exception_path: p.exception_path,
        })
        .collect();
    let routes = cfg
        .routes
        .iter()
        .map(|r| raw::Route {
            prefix: r.prefix.to_string(),
            via: r.via.map(|v| v.to_string()),
            port: r.port.clone(),
        })
        .chain(cfg.routes6.iter().map(|r| raw::Route {
            prefix: r.prefix.to_string(),
            via: r.via.map(|v| v.to_string()),
            port: r.port.clone(),
        }))
        .collect();
    let neighbours = cfg
        .neighbours
        .iter()
        .map(|n| raw::Neighbour {
            port: n.port.clone(),
            address: n.address.to_string(),
            mac: n
                .mac
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
        })
        .collect();
    let fwmark = cfg
        .fwmark_rules
        .iter()
        .map(|r| raw::FwmarkRule {
            mark: r.mark.into(),
            destinations: (!r.destinations.is_empty())
                .then(|| r.destinations.iter().map(|n| n.to_string()).collect()),
            protocol: r.protocol.map(|p| p.as_str().to_string()),
            ports: (!r.ports.is_empty()).then(|| r.ports.iter().map(|p| i64::from(*p)).collect()),
        })
        .collect();
    raw::Config {
        workers: cfg.workers.into(),
        max_connections: cfg.max_connections.into(),
        idle_sleep_us: cfg.idle_sleep_us.into(),
        drop_entry: cfg.drop_entry,
        mbufs: cfg.mbufs.into(),
        mbuf_data_room: cfg.mbuf_data_room.into(),
        ipvsadm_rules: None,
        timeouts,
        control,
        ports,
        routes,
        neighbours,
        fwmark,
        services: cfg.services.iter().map(service).collect(),
    }
}

pub(crate) fn service(s: &Service) -> raw::Service {
    let (protocol, address, fwmark, ipv6) = match s.key {
        ServiceKey::Tcp(a) => (Some("tcp"), Some(a.to_string()), None, false),
        ServiceKey::Udp(a) => (Some("udp"), Some(a.to_string()), None, false),
        ServiceKey::Fwmark { mark, ipv6 } => (None, None, Some(i64::from(mark)), ipv6),
    };
    let full = if s.key.is_ipv6() { 128 } else { 32 };
    let persistence_netmask = (s.persistence_prefix_len != full).then(|| {
        if s.key.is_ipv6() {
            s.persistence_prefix_len.to_string()
        } else {
            s.persistence_netmask().to_string()
        }
    });
    let health_check = s.health_check.as_ref().map(|h| {
        let (kind, http_path, http_status) = match &h.kind {
            CheckKind::Tcp => ("tcp", None, None),
            CheckKind::Http { path, status } => {
                ("http", Some(path.clone()), Some(i64::from(*status)))
            }
        };
        raw::HealthCheck {
            kind: kind.to_string(),
            interval: millis_as_seconds(h.interval),
            timeout: millis_as_seconds(h.timeout),
            failures: h.failures.into(),
            successes: h.successes.into(),
            http_path,
            http_status,
            on_failure: match h.on_failure {
                OnFailure::Quiesce => "quiesce",
                OnFailure::Remove => "remove",
            }
            .to_string(),
            sorry_server: h.sorry_server.map(|a| a.to_string()),
        }
    });
    raw::Service {
        protocol: protocol.map(str::to_string),
        address,
        fwmark,
        ipv6,
        scheduler: s.scheduler.clone(),
        sched_flags: s.sched_flags.names(&s.scheduler),
        persistence: s.persistence.into(),
        persistence_netmask,
        one_packet: s.one_packet,
        synproxy: s.synproxy,
        fullnat_local_addresses: strings(&s.fullnat_local_addresses),
        health_check,
        real_servers: s
            .real_servers
            .iter()
            .map(|r| raw::RealServer {
                address: r.address.to_string(),
                method: match r.method {
                    Method::Nat => "nat",
                    Method::Dr => "dr",
                    Method::Tun => "tun",
                    Method::FullNat => "fullnat",
                }
                .to_string(),
                weight: r.weight.into(),
                upper_threshold: r.upper_threshold.into(),
                lower_threshold: r.lower_threshold.into(),
            })
            .collect(),
    }
}

fn strings(ips: &[IpAddr]) -> Vec<String> {
    ips.iter().map(|ip| ip.to_string()).collect()
}

/// A duration kept to the millisecond as seconds; parsing rounds it back to the same
/// millisecond.
fn millis_as_seconds(d: std::time::Duration) -> f64 {
    d.as_millis() as f64 / 1000.0
}
