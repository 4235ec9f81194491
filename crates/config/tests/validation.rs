//! Good configurations (with their defaults) and one test per refusal, each asserting the exact
//! key and a fragment of the problem an operator reads.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use rvs_config::{load, parse, ConfigError, Method, Protocol, SchedFlags, ServiceKey, SCHEDULERS};

/// Two ports as in the NAT lab; top-level keys must come before this text.
const PORTS: &str = r#"
[[ports]]
name = "outside"
device = "net_af_packet0"
addresses = ["198.18.0.1/24"]

[[ports]]
name = "inside"
device = "net_af_packet1"
addresses = ["198.18.1.1/24"]
local_addresses = ["198.18.1.3"]
"#;

/// `PORTS` followed by `rest` (routes, services).
fn with_ports(rest: &str) -> String {
    format!("{PORTS}\n{rest}")
}

/// A TCP service on 198.18.0.100:80 with the given real server tables.
fn service(extra: &str, real_servers: &str) -> String {
    with_ports(&format!(
        r#"
[[services]]
protocol = "tcp"
address = "198.18.0.100:80"
{extra}
{real_servers}
"#
    ))
}

fn rs(address: &str, more: &str) -> String {
    format!("[[services.real_servers]]\naddress = {address:?}\n{more}\n")
}

/// Asserts that `text` is refused for `key` with a problem containing `fragment`, and that the
/// error displays as "<key>: <problem>".
#[track_caller]
fn refused(text: &str, key: &str, fragment: &str) {
    match parse(text) {
        Err(e @ ConfigError::Invalid { .. }) => {
            let ConfigError::Invalid {
                key: got_key,
                problem,
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(got_key, key, "wrong key; problem was: {problem}");
            assert!(
                problem.contains(fragment),
                "problem {problem:?} lacks {fragment:?}"
            );
            assert_eq!(e.to_string(), format!("{key}: {problem}"));
        }
        other => panic!("expected Invalid for {key}, got {other:?}\n--- text:\n{text}"),
    }
}

// ---------------------------------------------------------------- good configurations

#[test]
fn minimal_config_gets_the_defaults() {
    let c = parse("[[ports]]\nname = \"p0\"\ndevice = \"net_null0\"\n").unwrap();
    assert_eq!(c.workers, 1);
    assert_eq!(c.max_connections, 1_048_576);
    assert_eq!(c.idle_sleep_us, 0);
    assert_eq!(c.ports.len(), 1);
    let p = &c.ports[0];
    assert_eq!(p.name, "p0");
    assert_eq!(p.device, "net_null0");
    assert_eq!(p.args, "");
    assert!(p.addresses.is_empty());
    assert_eq!(p.mtu, 1500);
    assert_eq!(p.vlan, None);
    assert!(c.routes.is_empty());
    assert!(c.services.is_empty());
}

#[test]
fn service_and_real_server_defaults() {
    let c = parse(&service("", &rs("198.18.1.10", ""))).unwrap();
    let s = &c.services[0];
    assert_eq!(s.protocol(), Some(Protocol::Tcp));
    assert_eq!(
        s.key,
        ServiceKey::Tcp(SocketAddr::from((Ipv4Addr::new(198, 18, 0, 100), 80)))
    );
    assert_eq!(s.scheduler, "wlc", "ipvsadm's default scheduler");
    assert_eq!(s.persistence, 0);
    let r = &s.real_servers[0];
    // The port defaults to the service's port, the method to DR (ipvsadm -g), the weight to 1.
    assert_eq!(
        r.address,
        SocketAddr::from((Ipv4Addr::new(198, 18, 1, 10), 80))
    );
    assert_eq!(r.method, Method::Dr);
    assert_eq!(r.weight, 1);
    assert_eq!((r.upper_threshold, r.lower_threshold), (0, 0));
    // The keys this crate added later are at their defaults.
    assert_eq!(s.sched_flags, SchedFlags::default());
    assert_eq!(s.persistence_prefix_len, 32);
    assert!(!s.one_packet);
    assert!(s.fullnat_local_addresses.is_empty());
    assert_eq!(s.health_check, None);
}

#[test]
fn every_key_set() {
    let text = r#"
workers = 4
max_connections = 2000
idle_sleep_us = 50

[[ports]]
name = "outside"
device = "net_af_packet0"
args = "iface=veth-out,qpairs=1"
addresses = ["198.18.0.1/24", "198.18.2.1/25"]
mtu = 9000
vlan = 10

[[ports]]
name = "in_2"
device = "0000:03:00.0"
addresses = []
local_addresses = ["198.19.0.3"]

[[routes]]
prefix = "0.0.0.0/0"
via = "198.18.0.254"
port = "outside"

[[routes]]
prefix = "198.19.0.0/16"
port = "in_2"

[[services]]
protocol = "udp"
address = "198.18.0.100:53"
scheduler = "sh"
persistence = 300

[[services.real_servers]]
address = "198.18.0.10:5353"
method = "nat"
weight = 0

[[services.real_servers]]
address = "198.19.0.20"
method = "fullnat"
weight = 65535

[[services.real_servers]]
address = "198.18.0.30:53"
method = "tun"

[[services.real_servers]]
address = "198.19.0.40:53"
method = "dr"
"#;
    let c = parse(text).unwrap();
    assert_eq!(
        (c.workers, c.max_connections, c.idle_sleep_us),
        (4, 2000, 50)
    );
    let p = &c.ports[0];
    assert_eq!(p.args, "iface=veth-out,qpairs=1");
    assert_eq!(
        p.addresses,
        [
            "198.18.0.1/24".parse().unwrap(),
            "198.18.2.1/25".parse().unwrap()
        ]
    );
    assert_eq!(p.addresses[0].addr(), Ipv4Addr::new(198, 18, 0, 1));
    assert_eq!(p.addresses[0].prefix_len(), 24);
    assert_eq!((p.mtu, p.vlan), (9000, Some(10)));
    assert_eq!(c.ports[1].device, "0000:03:00.0");
    assert_eq!(c.port_index("in_2"), Some(1));
    assert_eq!(c.port("outside").map(|p| p.mtu), Some(9000));
    assert_eq!(c.port("nope"), None);

    assert_eq!(c.routes[0].via, Some(Ipv4Addr::new(198, 18, 0, 254)));
    assert_eq!(c.routes[1].via, None);
    assert_eq!(c.routes[1].port, "in_2");

    let s = &c.services[0];
    assert_eq!(s.protocol(), Some(Protocol::Udp));
    assert_eq!(s.protocol().map(|p| p.number()), Some(17));
    assert_eq!(Protocol::Tcp.number(), 6);
    assert_eq!((s.scheduler.as_str(), s.persistence), ("sh", 300));
    let got: Vec<(SocketAddr, Method, u32)> = s
        .real_servers
        .iter()
        .map(|r| (r.address, r.method, r.weight))
        .collect();
    let sa = |a: [u8; 4], port| SocketAddr::from((Ipv4Addr::from(a), port));
    assert_eq!(
        got,
        [
            (sa([198, 18, 0, 10], 5353), Method::Nat, 0),
            (sa([198, 19, 0, 20], 53), Method::FullNat, 65535),
            (sa([198, 18, 0, 30], 53), Method::Tun, 1),
            // DR to a server reached by a route without `via` (directly connected).
            (sa([198, 19, 0, 40], 53), Method::Dr, 1),
        ]
    );
}

#[test]
fn service_without_real_servers_is_allowed() {
    let c = parse(&service("scheduler = \"rr\"", "")).unwrap();
    assert!(c.services[0].real_servers.is_empty());
}

#[test]
fn same_address_for_tcp_and_udp_is_two_services() {
    let text = with_ports(
        r#"
[[services]]
protocol = "tcp"
address = "198.18.0.100:53"
[[services]]
protocol = "udp"
address = "198.18.0.100:53"
"#,
    );
    let c = parse(&text).unwrap();
    assert_eq!(c.services.len(), 2);
}

#[test]
fn same_real_server_in_two_services_is_allowed() {
    let text = with_ports(
        r#"
[[services]]
protocol = "tcp"
address = "198.18.0.100:80"
[[services.real_servers]]
address = "198.18.1.10:80"
[[services]]
protocol = "tcp"
address = "198.18.0.101:80"
[[services.real_servers]]
address = "198.18.1.10:80"
"#,
    );
    assert!(parse(&text).is_ok());
}

#[test]
fn every_scheduler_name_is_accepted() {
    assert_eq!(SCHEDULERS.len(), 14);
    for name in SCHEDULERS {
        let c = parse(&service(&format!("scheduler = {name:?}"), ""))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(c.services[0].scheduler, name);
    }
}

#[test]
fn nat_and_fullnat_may_change_the_port() {
    for method in ["nat", "fullnat"] {
        let text = service("", &rs("198.18.1.10:8080", &format!("method = {method:?}")));
        let c = parse(&text).unwrap_or_else(|e| panic!("{method}: {e}"));
        assert_eq!(c.services[0].real_servers[0].address.port(), 8080);
    }
}

#[test]
fn tun_real_server_may_be_behind_a_router() {
    let text = service("", &rs("203.0.113.7", "method = \"tun\""));
    assert!(parse(&text).is_ok());
}

#[test]
fn range_ends_are_accepted() {
    let text =
        format!("workers = 64\nmax_connections = 4294967295\nidle_sleep_us = 1000000\n{PORTS}");
    let c = parse(&text).unwrap();
    assert_eq!((c.workers, c.max_connections), (64, u32::MAX));
    let text = "[[ports]]\nname = \"a\"\ndevice = \"d\"\nmtu = 68\nvlan = 4094\n";
    let c = parse(text).unwrap();
    assert_eq!((c.ports[0].mtu, c.ports[0].vlan), (68, Some(4094)));
    let text = service("persistence = 2678400", "");
    assert_eq!(parse(&text).unwrap().services[0].persistence, 2_678_400);
}

// ---------------------------------------------------------------- TOML and schema errors

#[test]
fn syntax_error_has_line_and_column() {
    let text = "workers = 1\n\n[[ports]]\nname = outside\n";
    match parse(text) {
        Err(ConfigError::Syntax(msg)) => {
            assert!(msg.contains("line 4, column 8"), "{msg}");
            assert!(!msg.contains('\n'), "one line: {msg:?}");
        }
        other => panic!("expected Syntax, got {other:?}"),
    }
}

#[test]
fn duplicate_toml_key_is_a_syntax_error() {
    let text = "workers = 1\nworkers = 2\n";
    match parse(text) {
        Err(ConfigError::Syntax(msg)) => assert!(msg.contains("line 2"), "{msg}"),
        other => panic!("expected Syntax, got {other:?}"),
    }
}

#[test]
fn unknown_top_level_key_is_named() {
    refused(
        &format!("worker = 2\n{PORTS}"),
        "worker",
        "unknown key `worker`",
    );
    refused(
        &with_ports("[[service]]\nprotocol = \"tcp\"\n"),
        "service",
        "expected one of",
    );
}

#[test]
fn unknown_nested_key_is_named_with_its_path_and_line() {
    let text = service(
        "",
        &format!(
            "{}{}",
            rs("198.18.1.10", ""),
            rs("198.18.1.20", "wieght = 3")
        ),
    );
    let line = text.lines().position(|l| l.starts_with("wieght")).unwrap() + 1;
    refused(
        &text,
        "services[0].real_servers[1].wieght",
        &format!("unknown key `wieght`, expected one of `address`, `method`, `weight`, `upper_threshold`, `lower_threshold` (line {line}, column 1)"),
    );
}

#[test]
fn missing_required_key_is_named() {
    refused(
        "[[ports]]\nname = \"a\"\ndevice = \"d\"\n[[ports]]\nname = \"b\"\n",
        "ports[1].device",
        "required key is missing (in the table at line 4",
    );
    refused(
        &with_ports("[[services]]\nprotocol = \"tcp\"\n"),
        "services[0].address",
        "required key is missing",
    );
}

#[test]
fn wrong_type_is_named() {
    refused(
        &format!("workers = \"4\"\n{PORTS}"),
        "workers",
        "invalid type: string \"4\", expected an integer (line 1, column 11)",
    );
    refused(
        "[[ports]]\nname = \"a\"\ndevice = \"d\"\naddresses = \"198.18.0.1/24\"\n",
        "ports[0].addresses",
        "expected an array",
    );
}

// ---------------------------------------------------------------- top level

#[test]
fn at_least_one_port() {
    refused("workers = 1\n", "ports", "at least one port is required");
}

#[test]
fn workers_range() {
    refused(
        &format!("workers = 0\n{PORTS}"),
        "workers",
        "0 is out of range 1..=64",
    );
    refused(
        &format!("workers = 65\n{PORTS}"),
        "workers",
        "65 is out of range 1..=64",
    );
}

#[test]
fn max_connections_at_least_one() {
    refused(
        &format!("max_connections = 0\n{PORTS}"),
        "max_connections",
        "0 is out of range 1..=4294967295",
    );
    refused(
        &format!("max_connections = 4294967296\n{PORTS}"),
        "max_connections",
        "out of range",
    );
}

#[test]
fn idle_sleep_range() {
    refused(
        &format!("idle_sleep_us = -1\n{PORTS}"),
        "idle_sleep_us",
        "-1 is out of range 0..=1000000",
    );
    refused(
        &format!("idle_sleep_us = 1000001\n{PORTS}"),
        "idle_sleep_us",
        "out of range",
    );
}

// ---------------------------------------------------------------- ports

#[test]
fn port_name_characters() {
    let text = "[[ports]]\nname = \"Outside\"\ndevice = \"d\"\n";
    refused(
        text,
        "ports[0].name",
        "\"Outside\" is not a valid port name",
    );
    let text = "[[ports]]\nname = \"\"\ndevice = \"d\"\n";
    refused(text, "ports[0].name", "is not a valid port name");
    let text = "[[ports]]\nname = \"a b\"\ndevice = \"d\"\n";
    refused(
        text,
        "ports[0].name",
        "lowercase letters, digits, '_' and '-'",
    );
}

#[test]
fn port_names_unique() {
    let text = r#"
[[ports]]
name = "inside"
device = "net_af_packet0"
[[ports]]
name = "inside"
device = "net_af_packet1"
"#;
    refused(
        text,
        "ports[1].name",
        "duplicate port name \"inside\" (also ports[0].name)",
    );
}

#[test]
fn devices_unique_and_not_empty() {
    let text = r#"
[[ports]]
name = "a"
device = "net_af_packet0"
[[ports]]
name = "b"
device = "net_af_packet0"
"#;
    refused(
        text,
        "ports[1].device",
        "duplicate device \"net_af_packet0\" (also ports[0].device)",
    );
    refused(
        "[[ports]]\nname = \"a\"\ndevice = \"\"\n",
        "ports[0].device",
        "must not be empty",
    );
}

#[test]
fn addresses_unique_across_ports() {
    let text = r#"
[[ports]]
name = "outside"
device = "d0"
addresses = ["198.18.0.1/24"]
[[ports]]
name = "inside"
device = "d1"
addresses = ["198.18.1.1/24", "198.18.0.1/16"]
"#;
    refused(
        text,
        "ports[1].addresses[1]",
        "198.18.0.1 is already an address of port \"outside\" (ports[0].addresses[0])",
    );
}

#[test]
fn addresses_unique_within_a_port() {
    let text = "[[ports]]\nname = \"a\"\ndevice = \"d\"\naddresses = [\"198.18.0.1/24\", \"198.18.0.1/24\"]\n";
    refused(
        text,
        "ports[0].addresses[1]",
        "already an address of port \"a\" (ports[0].addresses[0])",
    );
}

#[test]
fn port_address_needs_a_prefix_length() {
    let port = |a: &str| format!("[[ports]]\nname = \"a\"\ndevice = \"d\"\naddresses = [{a:?}]\n");
    refused(
        &port("198.18.0.1"),
        "ports[0].addresses[0]",
        "has no prefix length; write it like \"198.18.0.1/24\"",
    );
    refused(
        &port("198.18.0.1/33"),
        "ports[0].addresses[0]",
        "is not an IP address with a prefix length (like \"198.18.0.1/24\" or \"2001:db8::1/64\")",
    );
    refused(
        &port("outside"),
        "ports[0].addresses[0]",
        "is not an IP address with a prefix length",
    );
    refused(
        &port("2001:db8::1"),
        "ports[0].addresses[0]",
        "has no prefix length; write it like \"2001:db8::1/64\"",
    );
}

#[test]
fn port_address_is_a_host_address() {
    let port = |a: &str| format!("[[ports]]\nname = \"a\"\ndevice = \"d\"\naddresses = [{a:?}]\n");
    refused(
        &port("198.18.0.0/24"),
        "ports[0].addresses[0]",
        "198.18.0.0 is the network address of 198.18.0.0/24",
    );
    refused(
        &port("198.18.0.255/24"),
        "ports[0].addresses[0]",
        "broadcast address",
    );
    refused(
        &port("224.0.0.1/24"),
        "ports[0].addresses[0]",
        "224.0.0.1 is not a unicast address",
    );
    // /31 and /32 have no network or broadcast address (RFC 3021).
    assert!(parse(&port("198.18.0.0/31")).is_ok());
    assert!(parse(&port("198.18.0.7/32")).is_ok());
}

#[test]
fn mtu_range() {
    let port = |m: i64| format!("[[ports]]\nname = \"a\"\ndevice = \"d\"\nmtu = {m}\n");
    refused(&port(67), "ports[0].mtu", "67 is out of range 68..=65535");
    refused(
        &port(70000),
        "ports[0].mtu",
        "70000 is out of range 68..=65535",
    );
}

#[test]
fn vlan_range() {
    let port = |v: i64| format!("[[ports]]\nname = \"a\"\ndevice = \"d\"\nvlan = {v}\n");
    refused(&port(0), "ports[0].vlan", "0 is out of range 1..=4094");
    refused(
        &port(4095),
        "ports[0].vlan",
        "4095 is out of range 1..=4094",
    );
}

// ---------------------------------------------------------------- routes

fn route(body: &str) -> String {
    with_ports(&format!("[[routes]]\n{body}\n"))
}

#[test]
fn route_port_must_exist_and_known_names_are_listed() {
    refused(
        &route("prefix = \"0.0.0.0/0\"\nport = \"outsde\""),
        "routes[0].port",
        "unknown port \"outsde\"; known ports: \"outside\", \"inside\"",
    );
}

#[test]
fn route_next_hop_inside_a_connected_prefix_of_its_port() {
    refused(
        &route("prefix = \"0.0.0.0/0\"\nvia = \"198.18.1.254\"\nport = \"outside\""),
        "routes[0].via",
        "198.18.1.254 is not inside a connected prefix of port \"outside\" (198.18.0.1/24)",
    );
    // The same next hop on the port whose subnet holds it is fine.
    assert!(parse(&route(
        "prefix = \"0.0.0.0/0\"\nvia = \"198.18.1.254\"\nport = \"inside\""
    ))
    .is_ok());
}

#[test]
fn route_next_hop_on_a_port_without_addresses() {
    let text = r#"
[[ports]]
name = "bare"
device = "d"
[[routes]]
prefix = "0.0.0.0/0"
via = "198.18.0.254"
port = "bare"
"#;
    refused(
        text,
        "routes[0].via",
        "port \"bare\" has no addresses, so the next hop 198.18.0.254 cannot be resolved",
    );
}

#[test]
fn route_next_hop_is_not_the_director() {
    refused(
        &route("prefix = \"0.0.0.0/0\"\nvia = \"198.18.0.1\"\nport = \"outside\""),
        "routes[0].via",
        "198.18.0.1 is the director's own address on port \"outside\"",
    );
}

#[test]
fn route_prefixes_unique() {
    let text = with_ports(
        r#"
[[routes]]
prefix = "0.0.0.0/0"
via = "198.18.0.254"
port = "outside"
[[routes]]
prefix = "0.0.0.0/0"
via = "198.18.1.254"
port = "inside"
"#,
    );
    refused(
        &text,
        "routes[1].prefix",
        "duplicate route for 0.0.0.0/0 (also routes[0].prefix)",
    );
}

#[test]
fn route_prefix_has_no_host_bits() {
    refused(
        &route("prefix = \"198.19.1.5/24\"\nport = \"outside\""),
        "routes[0].prefix",
        "host bits are set in 198.19.1.5/24; write the prefix as 198.19.1.0/24",
    );
}

#[test]
fn route_next_hop_family_and_form() {
    refused(
        &route("prefix = \"0.0.0.0/0\"\nvia = \"fe80::1\"\nport = \"outside\""),
        "routes[0].via",
        "next hop fe80::1 is IPv6 but the prefix 0.0.0.0/0 is IPv4",
    );
    refused(
        &route("prefix = \"::/0\"\nvia = \"198.18.0.254\"\nport = \"outside\""),
        "routes[0].via",
        "next hop 198.18.0.254 is IPv4 but the prefix ::/0 is IPv6",
    );
    refused(
        &route("prefix = \"0.0.0.0/0\"\nvia = \"router\"\nport = \"outside\""),
        "routes[0].via",
        "\"router\" is not an IP address",
    );
    refused(
        &route("prefix = \"198.19.0.0\"\nport = \"outside\""),
        "routes[0].prefix",
        "\"198.19.0.0\" has no prefix length; write it like \"198.19.0.0/32\"",
    );
}

// ---------------------------------------------------------------- services

#[test]
fn services_unique_by_protocol_and_address() {
    let text = with_ports(
        r#"
[[services]]
protocol = "tcp"
address = "198.18.0.100:80"
[[services]]
protocol = "udp"
address = "198.18.0.100:80"
[[services]]
protocol = "tcp"
address = "198.18.0.100:80"
"#,
    );
    refused(
        &text,
        "services[2].address",
        "duplicate service tcp 198.18.0.100:80 (also services[0])",
    );
}

#[test]
fn vip_is_not_a_director_address() {
    let text = with_ports("[[services]]\nprotocol = \"tcp\"\naddress = \"198.18.1.1:80\"\n");
    refused(
        &text,
        "services[0].address",
        "VIP 198.18.1.1 is the director's own address on port \"inside\" (ports[1].addresses[0])",
    );
}

#[test]
fn scheduler_must_be_known() {
    refused(
        &service("scheduler = \"roundrobin\"", ""),
        "services[0].scheduler",
        "unknown scheduler \"roundrobin\"; known schedulers: rr, wrr, lc, wlc, sed, nq, sh, dh, lblc, lblcr, fo, ovf, mh, twos",
    );
}

#[test]
fn protocol_must_be_tcp_or_udp() {
    let text = with_ports("[[services]]\nprotocol = \"sctp\"\naddress = \"198.18.0.100:80\"\n");
    refused(
        &text,
        "services[0].protocol",
        "unknown protocol \"sctp\"; expected \"tcp\" or \"udp\"",
    );
}

#[test]
fn service_address_needs_a_port() {
    let svc = |a: &str| {
        with_ports(&format!(
            "[[services]]\nprotocol = \"tcp\"\naddress = {a:?}\n"
        ))
    };
    refused(
        &svc("198.18.0.100"),
        "services[0].address",
        "\"198.18.0.100\" has no port",
    );
    refused(
        &svc("198.18.0.100:0"),
        "services[0].address",
        "port 0 (every port) is only for a persistent service",
    );
    refused(
        &svc("198.18.0.100:http"),
        "services[0].address",
        "is not an IP address and port",
    );
    refused(
        &svc("0.0.0.0:80"),
        "services[0].address",
        "0.0.0.0 is not a unicast address",
    );
}

#[test]
fn service_ipv6_address_forms() {
    let svc = |a: &str| {
        with_ports(&format!(
            "[[services]]\nprotocol = \"tcp\"\naddress = {a:?}\n"
        ))
    };
    let c = parse(&svc("[2001:db8::1]:80")).unwrap();
    assert_eq!(
        c.services[0].key,
        ServiceKey::Tcp("[2001:db8::1]:80".parse().unwrap())
    );
    assert_eq!(c.services[0].persistence_prefix_len, 128);
    refused(
        &svc("2001:db8::1"),
        "services[0].address",
        "\"2001:db8::1\" has no port; write it as IP:port, like \"[2001:db8::1]:80\"",
    );
    refused(
        &svc("[fe80::1]:80"),
        "services[0].address",
        "fe80::1 is link-local (fe80::/10) and cannot be a VIP",
    );
    refused(
        &svc("[ff02::1]:80"),
        "services[0].address",
        "not a unicast address",
    );
}

#[test]
fn persistence_range() {
    refused(
        &service("persistence = -1", ""),
        "services[0].persistence",
        "-1 is out of range 0..=2678400",
    );
    refused(
        &service("persistence = 2678401", ""),
        "services[0].persistence",
        "out of range 0..=2678400",
    );
}

// ---------------------------------------------------------------- real servers

#[test]
fn weight_range() {
    let text = service(
        "",
        &format!(
            "{}{}",
            rs("198.18.1.10", ""),
            rs("198.18.1.20", "weight = 70000")
        ),
    );
    refused(
        &text,
        "services[0].real_servers[1].weight",
        "70000 is out of range 0..=65535",
    );
    let text = service("", &rs("198.18.1.10", "weight = -1"));
    refused(
        &text,
        "services[0].real_servers[0].weight",
        "-1 is out of range 0..=65535",
    );
}

#[test]
fn real_servers_unique_within_a_service() {
    // The second one gets the service port by default, so both are 198.18.1.10:80.
    let text = service(
        "",
        &format!("{}{}", rs("198.18.1.10:80", ""), rs("198.18.1.10", "")),
    );
    refused(
        &text,
        "services[0].real_servers[1].address",
        "duplicate real server 198.18.1.10:80 (also services[0].real_servers[0])",
    );
}

#[test]
fn dr_cannot_change_the_port() {
    let text = service("", &rs("198.18.1.10:8080", "method = \"dr\""));
    refused(
        &text,
        "services[0].real_servers[0].address",
        "port 8080 differs from the service port 80, but method \"dr\" forwards the packet with its destination port unchanged",
    );
}

#[test]
fn tun_cannot_change_the_port() {
    let text = service("", &rs("203.0.113.7:8080", "method = \"tun\""));
    refused(
        &text,
        "services[0].real_servers[0].address",
        "port 8080 differs from the service port 80, but method \"tun\"",
    );
}

#[test]
fn dr_needs_a_directly_attached_real_server() {
    let text = service("", &rs("203.0.113.7", "method = \"dr\""));
    refused(
        &text,
        "services[0].real_servers[0].address",
        "method \"dr\" needs the real server on a segment the director is attached to, but 203.0.113.7",
    );
}

#[test]
fn method_must_be_known() {
    let text = service("", &rs("198.18.1.10", "method = \"masq\""));
    refused(
        &text,
        "services[0].real_servers[0].method",
        "unknown forwarding method \"masq\"; expected \"nat\", \"dr\", \"tun\" or \"fullnat\"",
    );
}

#[test]
fn real_server_address_errors() {
    let one = |a: &str| service("", &rs(a, "method = \"nat\""));
    let key = "services[0].real_servers[0].address";
    refused(
        &one("2001:db8::10"),
        key,
        "2001:db8::10 is IPv6 but the service is IPv4: method \"nat\" forwards the client's packet",
    );
    refused(
        &one("[2001:db8::10]:80"),
        key,
        "is IPv6 but the service is IPv4",
    );
    refused(
        &one("198.18.1.10:0"),
        key,
        "port 0 is not a real server port; leave the port out to use the service's port 80",
    );
    refused(
        &one("rs1"),
        key,
        "\"rs1\" is not an IP address and port; write it as IP or IP:port",
    );
    refused(&one("255.255.255.255"), key, "is not a unicast address");
    refused(
        &one("198.18.1.1"),
        key,
        "198.18.1.1 is the director's own address on port \"inside\"",
    );
}

// ---------------------------------------------------------------- load

#[test]
fn load_names_the_file_it_cannot_read() {
    let path = Path::new("/nonexistent/rvs-config-test/rvsd.toml");
    match load(path) {
        Err(e @ ConfigError::Io { .. }) => {
            assert!(
                e.to_string()
                    .contains("/nonexistent/rvs-config-test/rvsd.toml"),
                "{e}"
            );
        }
        other => panic!("expected Io, got {other:?}"),
    }
}

#[test]
fn load_validates_what_it_reads() {
    let dir = std::env::temp_dir().join(format!("rvs-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(&file, format!("workers = 0\n{PORTS}")).unwrap();
    let got = load(&file);
    std::fs::remove_dir_all(&dir).unwrap();
    match got {
        Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "workers"),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn drop_entry_defaults_off_and_round_trips() {
    let c = rvs_config::parse(PORTS).unwrap();
    assert!(!c.drop_entry);
    let c = rvs_config::parse(&format!("drop_entry = true\n{PORTS}")).unwrap();
    assert!(c.drop_entry);
    assert_eq!(
        rvs_config::parse(&rvs_config::ipvsadm::to_toml(&c)).unwrap(),
        c
    );
    let e = rvs_config::parse(&format!("drop_entry = 1\n{PORTS}")).unwrap_err();
    assert!(e.to_string().contains("drop_entry"), "{e}");
}

#[test]
fn mbuf_pool_settings_default_validate_and_round_trip() {
    let c = rvs_config::parse(PORTS).unwrap();
    assert_eq!((c.mbufs, c.mbuf_data_room), (0, 2176));
    let c = rvs_config::parse(&format!("mbufs = 2500000\nmbuf_data_room = 256\n{PORTS}")).unwrap();
    assert_eq!((c.mbufs, c.mbuf_data_room), (2_500_000, 256));
    let text = rvs_config::ipvsadm::to_toml(&c);
    assert!(text.contains("mbufs = 2500000"), "{text}");
    assert_eq!(rvs_config::parse(&text).unwrap(), c);
    // Defaults are not written back.
    let text = rvs_config::ipvsadm::to_toml(&rvs_config::parse(PORTS).unwrap());
    assert!(!text.contains("mbuf"), "{text}");
    for (bad, key) in [
        ("mbufs = -1", "mbufs"),
        ("mbuf_data_room = 255", "mbuf_data_room"),
        ("mbuf_data_room = 65536", "mbuf_data_room"),
    ] {
        let e = rvs_config::parse(&format!("{bad}\n{PORTS}")).unwrap_err();
        assert!(e.to_string().starts_with(key), "{bad}: {e}");
    }
}
