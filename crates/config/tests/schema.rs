//! The keys added for forwarding, scheduling and the control plane (issues 3, 4, 5): each with
//! good values (and their defaults) and every refusal, asserting the key and the problem.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use rvs_config::{
    parse, to_toml, CheckKind, Config, ConfigError, Control, FwmarkRule, HealthCheck, Method,
    Neighbour, OnFailure, Protocol, Route6, SchedFlags, ServiceKey, Timeouts,
};

/// Two ports as in the NAT lab, the inside one with a LIP and IPv6 addresses.
const PORTS: &str = r#"
[[ports]]
name = "outside"
device = "net_af_packet0"
addresses = ["198.18.0.1/24", "2001:db8::1/64"]

[[ports]]
name = "inside"
device = "net_af_packet1"
addresses = ["198.18.1.1/24", "2001:db8:1::1/64"]
local_addresses = ["198.18.1.3"]
"#;

/// A firewall-mark rule for mark 66 (so that fwmark services may use it).
const MARK66: &str = "[[fwmark]]\nmark = 66\n";

fn with_ports(rest: &str) -> String {
    format!("{PORTS}\n{MARK66}\n{rest}")
}

/// A TCP service on 198.18.0.100:80 with `extra` keys and real server tables.
fn service(extra: &str, real_servers: &str) -> String {
    with_ports(&format!(
        "[[services]]\nprotocol = \"tcp\"\naddress = \"198.18.0.100:80\"\n{extra}\n{real_servers}\n"
    ))
}

/// A firewall-mark service on mark 66.
fn fwmark_service(extra: &str, real_servers: &str) -> String {
    with_ports(&format!(
        "[[services]]\nfwmark = 66\n{extra}\n{real_servers}\n"
    ))
}

fn rs(address: &str, more: &str) -> String {
    format!("[[services.real_servers]]\naddress = {address:?}\n{more}\n")
}

#[track_caller]
fn ok(text: &str) -> Config {
    let c = parse(text).unwrap_or_else(|e| panic!("{e}\n--- text:\n{text}"));
    // Every good configuration also survives to_toml.
    let again = parse(&to_toml(&c)).unwrap_or_else(|e| panic!("to_toml: {e}\n{}", to_toml(&c)));
    assert_eq!(again, c, "to_toml round trip\n{}", to_toml(&c));
    c
}

/// Asserts that `text` is refused for `key` with a problem containing `fragment`.
#[track_caller]
fn refused(text: &str, key: &str, fragment: &str) {
    match parse(text) {
        Err(ConfigError::Invalid {
            key: got_key,
            problem,
        }) => {
            assert_eq!(got_key, key, "wrong key; problem was: {problem}");
            assert!(
                problem.contains(fragment),
                "problem {problem:?} lacks {fragment:?}"
            );
        }
        other => panic!("expected Invalid for {key}, got {other:?}\n--- text:\n{text}"),
    }
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

// ---------------------------------------------------------------- [timeouts]

#[test]
fn timeouts_default_to_the_kernels() {
    let c = ok(PORTS);
    assert_eq!(
        c.timeouts,
        Timeouts {
            tcp: 900,
            tcpfin: 120,
            udp: 300
        }
    );
}

#[test]
fn timeouts_given_and_partly_given() {
    let c = ok(&format!(
        "[timeouts]\ntcp = 60\ntcpfin = 30\nudp = 2678400\n{PORTS}"
    ));
    assert_eq!(
        (c.timeouts.tcp, c.timeouts.tcpfin, c.timeouts.udp),
        (60, 30, 2678400)
    );
    let c = ok(&format!("[timeouts]\nudp = 10\n{PORTS}"));
    assert_eq!(
        (c.timeouts.tcp, c.timeouts.tcpfin, c.timeouts.udp),
        (900, 120, 10)
    );
}

#[test]
fn timeouts_refused() {
    refused(
        &format!("[timeouts]\ntcp = 0\n{PORTS}"),
        "timeouts.tcp",
        "0 is out of range 1..=2678400",
    );
    refused(
        &format!("[timeouts]\ntcpfin = 2678401\n{PORTS}"),
        "timeouts.tcpfin",
        "out of range",
    );
    refused(
        &format!("[timeouts]\nudp = -5\n{PORTS}"),
        "timeouts.udp",
        "-5 is out of range",
    );
    refused(
        &format!("[timeouts]\nsyn = 5\n{PORTS}"),
        "timeouts.syn",
        "unknown key `syn`, expected one of `tcp`, `tcpfin`, `udp`",
    );
}

// ---------------------------------------------------------------- [control]

#[test]
fn control_defaults() {
    let c = ok(PORTS);
    assert_eq!(c.control, Control::default());
    assert_eq!(c.control.socket, PathBuf::from("/run/rvsd/rvsd.sock"));
    assert_eq!(c.control.socket_mode, 0o600);
    assert_eq!(c.control.metrics, None);
}

#[test]
fn control_given() {
    let text = format!(
        "[control]\nsocket = \"/tmp/rvs/ctl.sock\"\nsocket_mode = \"0660\"\nmetrics = \"127.0.0.1:9469\"\n{PORTS}"
    );
    let c = ok(&text);
    assert_eq!(c.control.socket, PathBuf::from("/tmp/rvs/ctl.sock"));
    assert_eq!(c.control.socket_mode, 0o660);
    assert_eq!(c.control.metrics, Some(sa("127.0.0.1:9469")));
    let c = ok(&format!(
        "[control]\nsocket_mode = \"640\"\nmetrics = \"[::1]:9469\"\n{PORTS}"
    ));
    assert_eq!(c.control.socket_mode, 0o640);
    assert_eq!(c.control.metrics, Some(sa("[::1]:9469")));
}

#[test]
fn control_socket_refused() {
    let ctl = |body: &str| format!("[control]\n{body}\n{PORTS}");
    refused(
        &ctl("socket = \"rvsd.sock\""),
        "control.socket",
        "\"rvsd.sock\" is not an absolute path",
    );
    refused(
        &ctl("socket = \"/run/rvsd/\""),
        "control.socket",
        "names a directory",
    );
    let long = format!("/{}", "a".repeat(107));
    refused(
        &ctl(&format!("socket = {long:?}")),
        "control.socket",
        "the path is 108 bytes long; a Unix socket path has at most 107",
    );
}

#[test]
fn control_socket_mode_refused() {
    let ctl = |mode: &str| format!("[control]\nsocket_mode = {mode:?}\n{PORTS}");
    refused(
        &ctl("rw"),
        "control.socket_mode",
        "\"rw\" is not a permission mode",
    );
    refused(
        &ctl("0800"),
        "control.socket_mode",
        "is not a permission mode",
    );
    refused(
        &ctl("4600"),
        "control.socket_mode",
        "is not a permission mode",
    );
    refused(
        &ctl("0400"),
        "control.socket_mode",
        "does not let the owner (rvsd) read and write the socket",
    );
    refused(
        &ctl("0666"),
        "control.socket_mode",
        "\"0666\" lets every user on the host drive rvsd",
    );
    refused(
        &format!("[control]\nsocket_mode = 0o600\n{PORTS}"),
        "control.socket_mode",
        "expected a string",
    );
}

#[test]
fn control_metrics_refused() {
    let ctl = |m: &str| format!("[control]\nmetrics = {m:?}\n{PORTS}");
    refused(
        &ctl("localhost:9469"),
        "control.metrics",
        "is not an address and port to listen on",
    );
    refused(
        &ctl("127.0.0.1"),
        "control.metrics",
        "is not an address and port",
    );
    refused(&ctl("127.0.0.1:0"), "control.metrics", "port 0");
}

// ---------------------------------------------------------------- ports

#[test]
fn port_addresses_split_by_family_and_new_keys() {
    let c = ok(&format!(
        "{PORTS}\n[[ports]]\nname = \"p3\"\ndevice = \"d3\"\naddresses = [\"2001:db8:2::1/64\", \"198.18.5.1/24\", \"fe80::1/64\"]\nlocal_addresses = [\"198.18.5.3\", \"2001:db8:2::3\"]\nexception_path = true\n"
    ));
    let p = &c.ports[2];
    assert_eq!(p.addresses, ["198.18.5.1/24".parse().unwrap()]);
    assert_eq!(
        p.addresses6,
        [
            "2001:db8:2::1/64".parse().unwrap(),
            "fe80::1/64".parse().unwrap()
        ]
    );
    assert_eq!(p.local_addresses, [ip("198.18.5.3"), ip("2001:db8:2::3")]);
    assert!(p.exception_path);
    assert!(!c.ports[0].exception_path, "default false");
    assert!(c.ports[0].local_addresses.is_empty());
    assert_eq!(c.ports[1].local_addresses, [ip("198.18.1.3")]);
}

#[test]
fn port_ipv6_address_refused() {
    let port = |a: &str, more: &str| {
        format!("[[ports]]\nname = \"a\"\ndevice = \"d\"\naddresses = [{a:?}]\n{more}")
    };
    refused(
        &port("2001:db8::/64", ""),
        "ports[0].addresses[0]",
        "2001:db8:: is the Subnet-Router anycast address of 2001:db8::/64 (RFC 4291 section 2.6.1)",
    );
    refused(
        &port("ff02::1/64", ""),
        "ports[0].addresses[0]",
        "not a unicast address",
    );
    refused(
        &port("::/0", ""),
        "ports[0].addresses[0]",
        ":: is not a unicast address",
    );
    // RFC 6164: a /127 may use both addresses.
    ok(&port("2001:db8::/127", ""));
    refused(
        &port("2001:db8::1/64", "mtu = 1279\n"),
        "ports[0].mtu",
        "1279 is below 1280, the smallest MTU of a link carrying IPv6 (RFC 8200 section 5)",
    );
    ok(&port("198.18.0.1/24", "mtu = 576\n"));
}

#[test]
fn local_addresses_refused() {
    let port = |lips: &str| {
        format!(
            "{PORTS}\n[[ports]]\nname = \"p3\"\ndevice = \"d3\"\naddresses = [\"198.18.5.1/24\"]\nlocal_addresses = {lips}\n"
        )
    };
    refused(
        &port("[\"198.18.5.1\"]"),
        "ports[2].local_addresses[0]",
        "198.18.5.1 is already the director's own address on port \"p3\" (ports[2].addresses[0]); a LIP must be an address of its own",
    );
    refused(
        &port("[\"198.18.1.3\"]"),
        "ports[2].local_addresses[0]",
        "198.18.1.3 is already a local address (LIP) of port \"inside\" (ports[1].local_addresses[0])",
    );
    refused(
        &port("[\"198.18.5.3\", \"198.18.5.3\"]"),
        "ports[2].local_addresses[1]",
        "already a local address (LIP) of port \"p3\" (ports[2].local_addresses[0])",
    );
    refused(
        &port("[\"198.18.5.3/32\"]"),
        "ports[2].local_addresses[0]",
        "\"198.18.5.3/32\" is not an IP address",
    );
    refused(
        &port("[\"224.0.0.9\"]"),
        "ports[2].local_addresses[0]",
        "not a unicast address",
    );
    refused(
        &port("[\"fe80::3\"]"),
        "ports[2].local_addresses[0]",
        "fe80::3 is link-local (fe80::/10) and cannot be a local address (LIP)",
    );
    // A later port address equal to an earlier LIP.
    let text = format!(
        "{PORTS}\n[[ports]]\nname = \"p3\"\ndevice = \"d3\"\naddresses = [\"198.18.1.3/24\"]\n"
    );
    refused(
        &text,
        "ports[2].addresses[0]",
        "198.18.1.3 is already a local address (LIP) of port \"inside\"",
    );
}

#[test]
fn exception_path_is_a_boolean() {
    refused(
        "[[ports]]\nname = \"a\"\ndevice = \"d\"\nexception_path = \"yes\"\n",
        "ports[0].exception_path",
        "invalid type: string \"yes\", expected true or false",
    );
}

// ---------------------------------------------------------------- routes (IPv6)

fn route(body: &str) -> String {
    with_ports(&format!("[[routes]]\n{body}\n"))
}

#[test]
fn ipv6_routes_go_to_routes6_in_file_order() {
    let c = ok(&with_ports(
        r#"
[[routes]]
prefix = "::/0"
via = "2001:db8::fe"
port = "outside"
[[routes]]
prefix = "0.0.0.0/0"
via = "198.18.0.254"
port = "outside"
[[routes]]
prefix = "2001:db8:5::/48"
via = "fe80::1"
port = "inside"
[[routes]]
prefix = "2001:db8:6::/48"
port = "inside"
"#,
    ));
    assert_eq!(c.routes.len(), 1);
    assert_eq!(c.routes[0].via, Some(Ipv4Addr::new(198, 18, 0, 254)));
    assert_eq!(
        c.routes6,
        [
            Route6 {
                prefix: "::/0".parse().unwrap(),
                via: Some("2001:db8::fe".parse().unwrap()),
                port: "outside".into()
            },
            Route6 {
                prefix: "2001:db8:5::/48".parse().unwrap(),
                via: Some("fe80::1".parse().unwrap()),
                port: "inside".into()
            },
            Route6 {
                prefix: "2001:db8:6::/48".parse().unwrap(),
                via: None,
                port: "inside".into()
            },
        ]
    );
}

#[test]
fn ipv6_routes_refused() {
    refused(
        &route("prefix = \"::/0\"\nvia = \"2001:db8:9::1\"\nport = \"outside\""),
        "routes[0].via",
        "2001:db8:9::1 is not inside a connected prefix of port \"outside\" (2001:db8::1/64)",
    );
    refused(
        &route("prefix = \"2001:db8:9::1/48\"\nport = \"outside\""),
        "routes[0].prefix",
        "host bits are set in 2001:db8:9::1/48; write the prefix as 2001:db8:9::/48",
    );
    refused(
        &route("prefix = \"::/0\"\nvia = \"2001:db8::1\"\nport = \"outside\""),
        "routes[0].via",
        "2001:db8::1 is the director's own address on port \"outside\" (ports[0].addresses[1]); the next hop must be another host",
    );
    let text = with_ports(
        "[[routes]]\nprefix = \"::/0\"\nport = \"outside\"\n[[routes]]\nprefix = \"::/0\"\nport = \"inside\"\n",
    );
    refused(
        &text,
        "routes[1].prefix",
        "duplicate route for ::/0 (also routes[0].prefix)",
    );
    // A port without IPv6 addresses cannot resolve an IPv6 next hop, link-local or not.
    let text = "[[ports]]\nname = \"v4\"\ndevice = \"d\"\naddresses = [\"198.18.0.1/24\"]\n[[routes]]\nprefix = \"::/0\"\nvia = \"fe80::1\"\nport = \"v4\"\n";
    refused(
        text,
        "routes[0].via",
        "port \"v4\" has no IPv6 addresses, so the next hop fe80::1 cannot be resolved",
    );
}

// ---------------------------------------------------------------- [[neighbours]]

#[test]
fn neighbours_good() {
    let c = ok(&with_ports(
        r#"
[[routes]]
prefix = "198.19.0.0/16"
port = "inside"
[[neighbours]]
port = "inside"
address = "198.18.1.10"
mac = "02:00:00:00:00:10"
[[neighbours]]
port = "outside"
address = "2001:db8::fe"
mac = "02:00:00:00:00:FE"
[[neighbours]]
port = "outside"
address = "fe80::1"
mac = "0a:00:00:00:00:01"
[[neighbours]]
port = "inside"
address = "198.19.7.7"
mac = "02:00:00:00:07:07"
"#,
    ));
    assert_eq!(
        c.neighbours[0],
        Neighbour {
            port: "inside".into(),
            address: ip("198.18.1.10"),
            mac: [2, 0, 0, 0, 0, 0x10]
        }
    );
    assert_eq!(c.neighbours[1].mac, [2, 0, 0, 0, 0, 0xfe]);
    assert_eq!(c.neighbours[2].address, ip("fe80::1"));
    // On-link through a route without `via`.
    assert_eq!(c.neighbours[3].address, ip("198.19.7.7"));
}

#[test]
fn neighbours_refused() {
    let n = |port: &str, address: &str, mac: &str| {
        with_ports(&format!(
            "[[neighbours]]\nport = {port:?}\naddress = {address:?}\nmac = {mac:?}\n"
        ))
    };
    let mac = "02:00:00:00:00:10";
    refused(
        &n("lan", "198.18.1.10", mac),
        "neighbours[0].port",
        "unknown port \"lan\"; known ports: \"outside\", \"inside\"",
    );
    refused(
        &n("inside", "198.18.1.1", mac),
        "neighbours[0].address",
        "198.18.1.1 is the director's own address on port \"inside\" (ports[1].addresses[0]); a neighbour is another host",
    );
    refused(
        &n("inside", "198.18.1.3", mac),
        "neighbours[0].address",
        "198.18.1.3 is a local address (LIP) of port \"inside\"",
    );
    refused(
        &n("outside", "198.18.1.10", mac),
        "neighbours[0].address",
        "198.18.1.10 is inside no connected prefix of port \"outside\" and no route without `via` on it",
    );
    refused(
        &n("inside", "gw", mac),
        "neighbours[0].address",
        "\"gw\" is not an IP address",
    );
    refused(
        &n("inside", "198.18.1.10", "02:00:00:00:00"),
        "neighbours[0].mac",
        "\"02:00:00:00:00\" is not a MAC address; write it like \"02:00:00:00:00:10\"",
    );
    refused(
        &n("inside", "198.18.1.10", "01:00:5e:00:00:01"),
        "neighbours[0].mac",
        "01:00:5e:00:00:01 is a multicast or broadcast address",
    );
    refused(
        &n("inside", "198.18.1.10", "ff:ff:ff:ff:ff:ff"),
        "neighbours[0].mac",
        "multicast or broadcast",
    );
    refused(
        &n("inside", "198.18.1.10", "00:00:00:00:00:00"),
        "neighbours[0].mac",
        "00:00:00:00:00:00 is not a host's address",
    );
    let two = with_ports(
        "[[neighbours]]\nport = \"inside\"\naddress = \"198.18.1.10\"\nmac = \"02:00:00:00:00:10\"\n[[neighbours]]\nport = \"inside\"\naddress = \"198.18.1.10\"\nmac = \"02:00:00:00:00:11\"\n",
    );
    refused(
        &two,
        "neighbours[1].address",
        "duplicate neighbour 198.18.1.10 (also neighbours[0].address)",
    );
    refused(
        &with_ports("[[neighbours]]\nport = \"inside\"\naddress = \"198.18.1.10\"\n"),
        "neighbours[0].mac",
        "required key is missing",
    );
}

// ---------------------------------------------------------------- [[fwmark]]

#[test]
fn fwmark_rules_good_and_first_match_wins() {
    let c = ok(&format!(
        "{PORTS}\n{}",
        r#"
[[fwmark]]
mark = 66
destinations = ["198.18.1.200/32", "2001:db8:9::/48", "198.18.1.201"]
protocol = "tcp"
ports = [80, 443]
[[fwmark]]
mark = 4294967295
protocol = "udp"
[[fwmark]]
mark = 1
"#
    ));
    assert_eq!(
        c.fwmark_rules[0],
        FwmarkRule {
            mark: 66,
            destinations: vec![
                "198.18.1.200/32".parse().unwrap(),
                "2001:db8:9::/48".parse().unwrap(),
                "198.18.1.201/32".parse().unwrap()
            ],
            protocol: Some(Protocol::Tcp),
            ports: vec![80, 443],
        }
    );
    assert_eq!(c.fwmark_rules[1].mark, u32::MAX);
    assert!(c.fwmark_rules[2].destinations.is_empty() && c.fwmark_rules[2].ports.is_empty());
    let vip = ip("198.18.1.200");
    assert_eq!(c.fwmark_for(vip, Protocol::Tcp, 443), Some(66));
    assert_eq!(
        c.fwmark_for(ip("198.18.1.201"), Protocol::Tcp, 80),
        Some(66)
    );
    assert_eq!(
        c.fwmark_for(ip("2001:db8:9::5"), Protocol::Tcp, 80),
        Some(66)
    );
    assert_eq!(
        c.fwmark_for(vip, Protocol::Tcp, 8080),
        Some(1),
        "port not listed"
    );
    assert_eq!(c.fwmark_for(vip, Protocol::Udp, 80), Some(u32::MAX));
    assert_eq!(c.fwmark_for(ip("198.18.1.202"), Protocol::Tcp, 80), Some(1));
    let c = ok(PORTS);
    assert_eq!(c.fwmark_for(vip, Protocol::Tcp, 80), None);
}

#[test]
fn fwmark_rules_refused() {
    let rule = |body: &str| format!("{PORTS}\n[[fwmark]]\n{body}\n");
    refused(
        &rule("mark = 0"),
        "fwmark[0].mark",
        "0 is out of range 1..=4294967295",
    );
    refused(&rule("mark = 4294967296"), "fwmark[0].mark", "out of range");
    refused(
        &rule("destinations = []"),
        "fwmark[0].mark",
        "required key is missing",
    );
    refused(
        &rule("mark = 1\ndestinations = []"),
        "fwmark[0].destinations",
        "an empty list matches no packet; leave `destinations` out to match any destination",
    );
    refused(
        &rule("mark = 1\ndestinations = [\"198.18.1.200/24\"]"),
        "fwmark[0].destinations[0]",
        "host bits are set in 198.18.1.200/24; write the prefix as 198.18.1.0/24",
    );
    refused(
        &rule("mark = 1\ndestinations = [\"vip\"]"),
        "fwmark[0].destinations[0]",
        "\"vip\" is not a prefix",
    );
    refused(
        &rule("mark = 1\nprotocol = \"icmp\""),
        "fwmark[0].protocol",
        "unknown protocol \"icmp\"; expected \"tcp\" or \"udp\"",
    );
    refused(
        &rule("mark = 1\nports = []"),
        "fwmark[0].ports",
        "an empty list matches no packet; leave `ports` out to match any port",
    );
    refused(
        &rule("mark = 1\nports = [0]"),
        "fwmark[0].ports[0]",
        "0 is out of range 1..=65535",
    );
    refused(
        &rule("mark = 1\nports = [80, 65536]"),
        "fwmark[0].ports[1]",
        "65536 is out of range 1..=65535",
    );
    refused(
        &rule("mark = 1\nports = [80, 443, 80]"),
        "fwmark[0].ports[2]",
        "duplicate port 80 (also fwmark[0].ports[0])",
    );
    refused(
        &rule("mark = 1\nport = 80"),
        "fwmark[0].port",
        "unknown key `port`",
    );
}

// ---------------------------------------------------------------- firewall-mark services

#[test]
fn fwmark_service_good() {
    let c = ok(&fwmark_service(
        "scheduler = \"rr\"",
        &format!(
            "{}{}{}",
            rs("198.18.1.10", "method = \"dr\""),
            rs("198.18.1.20:8080", "method = \"nat\""),
            rs("198.18.1.30:443", "method = \"dr\"")
        ),
    ));
    let s = &c.services[0];
    assert_eq!(
        s.key,
        ServiceKey::Fwmark {
            mark: 66,
            ipv6: false
        }
    );
    assert_eq!(
        (s.protocol(), s.address(), s.fwmark()),
        (None, None, Some(66))
    );
    assert_eq!(s.key.port(), 0);
    // No port: 0, the client's destination port is kept.
    assert_eq!(s.real_servers[0].address, sa("198.18.1.10:0"));
    assert_eq!(s.real_servers[1].address, sa("198.18.1.20:8080"));
    // DR keeps a port given in a firewall-mark service (ignored, as by the kernel).
    assert_eq!(s.real_servers[2].address, sa("198.18.1.30:443"));

    let c = ok(&fwmark_service(
        "ipv6 = true",
        &rs("2001:db8:1::10", "method = \"nat\""),
    ));
    let s = &c.services[0];
    assert_eq!(
        s.key,
        ServiceKey::Fwmark {
            mark: 66,
            ipv6: true
        }
    );
    assert!(s.key.is_ipv6());
    assert_eq!(s.persistence_prefix_len, 128);
    assert_eq!(s.real_servers[0].address, sa("[2001:db8:1::10]:0"));

    // The same mark as an IPv4 and an IPv6 service: two services (ipvsadm -f 66 and -f 66 -6).
    let text = with_ports("[[services]]\nfwmark = 66\n[[services]]\nfwmark = 66\nipv6 = true\n");
    assert_eq!(ok(&text).services.len(), 2);
}

#[test]
fn fwmark_service_refused() {
    refused(
        &with_ports("[[services]]\nfwmark = 66\nprotocol = \"tcp\"\n"),
        "services[0].protocol",
        "not allowed with `fwmark`: a firewall-mark service takes the TCP and UDP packets",
    );
    refused(
        &with_ports("[[services]]\nfwmark = 66\naddress = \"198.18.0.100:80\"\n"),
        "services[0].address",
        "not allowed with `fwmark`",
    );
    refused(
        &with_ports("[[services]]\nfwmark = 67\n"),
        "services[0].fwmark",
        "mark 67 is given by no [[fwmark]] rule, so no packet would reach this service; add a [[fwmark]] table with mark = 67",
    );
    refused(
        &with_ports("[[services]]\nfwmark = 0\n"),
        "services[0].fwmark",
        "0 is out of range 1..=4294967295",
    );
    refused(
        &with_ports("[[services]]\nscheduler = \"rr\"\n"),
        "services[0].address",
        "required key is missing (a service has `protocol` and `address`, or `fwmark`)",
    );
    refused(
        &with_ports("[[services]]\naddress = \"198.18.0.100:80\"\n"),
        "services[0].protocol",
        "required key is missing",
    );
    refused(
        &with_ports(
            "[[services]]\nprotocol = \"tcp\"\naddress = \"198.18.0.100:80\"\nipv6 = true\n",
        ),
        "services[0].ipv6",
        "only for a firewall-mark service (ipvsadm -f MARK -6)",
    );
    refused(
        &with_ports("[[services]]\nfwmark = 66\n[[services]]\nfwmark = 66\n"),
        "services[1].fwmark",
        "duplicate service fwmark 66 (also services[0])",
    );
    refused(
        &fwmark_service("", &rs("2001:db8:1::10", "method = \"nat\"")),
        "services[0].real_servers[0].address",
        "2001:db8:1::10 is IPv6 but the service is IPv4",
    );
    refused(
        &fwmark_service("ipv6 = true", &rs("198.18.1.10", "method = \"nat\"")),
        "services[0].real_servers[0].address",
        "198.18.1.10 is IPv4 but the service is IPv6",
    );
}

// ---------------------------------------------------------------- IPv6 services

#[test]
fn ipv6_service_with_every_method() {
    let text = with_ports(
        r#"
[[ports]]
name = "lip6"
device = "d3"
addresses = ["2001:db8:3::1/64"]
local_addresses = ["2001:db8:3::3"]

[[services]]
protocol = "tcp"
address = "[2001:db8::100]:80"
scheduler = "rr"
[[services.real_servers]]
address = "2001:db8:1::10"
method = "dr"
[[services.real_servers]]
address = "[2001:db8:1::20]:8080"
method = "nat"
[[services.real_servers]]
address = "[2001:db8:7::30]:80"
method = "tun"
[[services.real_servers]]
address = "[2001:db8:7::40]:80"
method = "fullnat"
"#,
    );
    let c = ok(&text);
    let s = &c.services[0];
    assert_eq!(s.key, ServiceKey::Tcp(sa("[2001:db8::100]:80")));
    let got: Vec<(SocketAddr, Method)> = s
        .real_servers
        .iter()
        .map(|r| (r.address, r.method))
        .collect();
    assert_eq!(
        got,
        [
            (sa("[2001:db8:1::10]:80"), Method::Dr),
            (sa("[2001:db8:1::20]:8080"), Method::Nat),
            (sa("[2001:db8:7::30]:80"), Method::Tun),
            (sa("[2001:db8:7::40]:80"), Method::FullNat),
        ]
    );
}

#[test]
fn families_must_match_even_for_tun() {
    refused(
        &service("", &rs("2001:db8:7::30", "method = \"tun\"")),
        "services[0].real_servers[0].address",
        "2001:db8:7::30 is IPv6 but the service is IPv4: method \"tun\" forwards the client's packet, which keeps its family; rvs tunnels IPv4 in IPv4 (RFC 2003) and IPv6 in IPv6 (RFC 2473) only",
    );
    let v6 = with_ports(
        "[[services]]\nprotocol = \"tcp\"\naddress = \"[2001:db8::100]:80\"\n[[services.real_servers]]\naddress = \"198.18.1.10:80\"\nmethod = \"dr\"\n",
    );
    refused(
        &v6,
        "services[0].real_servers[0].address",
        "198.18.1.10 is IPv4 but the service is IPv6",
    );
    refused(
        &service("", &rs("[fe80::10]:80", "method = \"nat\"")),
        "services[0].real_servers[0].address",
        "fe80::10 is link-local (fe80::/10) and cannot be a real server",
    );
    // DR over IPv6 needs the real server on-link too.
    let v6 = with_ports(
        "[[services]]\nprotocol = \"tcp\"\naddress = \"[2001:db8::100]:80\"\n[[services.real_servers]]\naddress = \"2001:db8:7::10\"\nmethod = \"dr\"\n",
    );
    refused(
        &v6,
        "services[0].real_servers[0].address",
        "method \"dr\" needs the real server on a segment the director is attached to, but 2001:db8:7::10",
    );
}

// ---------------------------------------------------------------- service keys

#[test]
fn persistent_service_on_every_port() {
    let text = with_ports(
        "[[services]]\nprotocol = \"tcp\"\naddress = \"198.18.0.100:0\"\npersistence = 600\n[[services.real_servers]]\naddress = \"198.18.1.10\"\nmethod = \"dr\"\n[[services.real_servers]]\naddress = \"198.18.1.20:0\"\nmethod = \"nat\"\n",
    );
    let c = ok(&text);
    let s = &c.services[0];
    assert_eq!(s.key.port(), 0);
    assert_eq!(s.real_servers[0].address, sa("198.18.1.10:0"));
    assert_eq!(s.real_servers[1].address, sa("198.18.1.20:0"));
}

#[test]
fn vip_is_not_a_lip() {
    refused(
        &with_ports("[[services]]\nprotocol = \"tcp\"\naddress = \"198.18.1.3:80\"\n"),
        "services[0].address",
        "VIP 198.18.1.3 is a local address (LIP) of port \"inside\" (ports[1].local_addresses[0]); a VIP must be an address of its own",
    );
    let text = with_ports(
        "[[services]]\nprotocol = \"tcp\"\naddress = \"198.18.0.100:80\"\nfullnat_local_addresses = [\"198.18.1.4\"]\n[[services]]\nprotocol = \"tcp\"\naddress = \"198.18.1.4:80\"\n",
    );
    refused(
        &text,
        "services[1].address",
        "VIP 198.18.1.4 is a local address (LIP) of services[0] (services[0].fullnat_local_addresses[0])",
    );
}

// ---------------------------------------------------------------- scheduler flags

#[test]
fn sched_flags_good() {
    let c = ok(&service(
        "scheduler = \"sh\"\nsched_flags = [\"sh-port\", \"sh-fallback\"]",
        "",
    ));
    assert_eq!(
        c.services[0].sched_flags,
        SchedFlags {
            fallback: true,
            port: true
        }
    );
    assert_eq!(
        c.services[0].sched_flags.names("sh"),
        ["sh-fallback", "sh-port"]
    );
    let c = ok(&service(
        "scheduler = \"mh\"\nsched_flags = [\"mh-fallback\"]",
        "",
    ));
    assert_eq!(
        c.services[0].sched_flags,
        SchedFlags {
            fallback: true,
            port: false
        }
    );
}

#[test]
fn sched_flags_refused() {
    refused(
        &service("scheduler = \"rr\"\nsched_flags = [\"sh-port\"]", ""),
        "services[0].sched_flags[0]",
        "\"sh-port\" is a flag of scheduler \"sh\", but this service's scheduler is \"rr\"",
    );
    refused(
        &service("scheduler = \"sh\"\nsched_flags = [\"mh-port\"]", ""),
        "services[0].sched_flags[0]",
        "\"mh-port\" is a flag of scheduler \"mh\", but this service's scheduler is \"sh\"",
    );
    refused(
        &service("scheduler = \"sh\"\nsched_flags = [\"flag-1\"]", ""),
        "services[0].sched_flags[0]",
        "unknown scheduler flag \"flag-1\"; expected \"sh-fallback\", \"sh-port\", \"mh-fallback\" or \"mh-port\"",
    );
    refused(
        &service(
            "scheduler = \"sh\"\nsched_flags = [\"sh-port\", \"sh-port\"]",
            "",
        ),
        "services[0].sched_flags[1]",
        "duplicate scheduler flag \"sh-port\"",
    );
}

// ---------------------------------------------------------------- persistence netmask

#[test]
fn persistence_netmask_good() {
    let c = ok(&service(
        "persistence = 300\npersistence_netmask = \"255.255.255.0\"",
        "",
    ));
    assert_eq!(c.services[0].persistence_prefix_len, 24);
    assert_eq!(c.services[0].persistence_netmask(), ip("255.255.255.0"));
    let c = ok(&service(
        "persistence = 300\npersistence_netmask = \"0.0.0.0\"",
        "",
    ));
    assert_eq!(c.services[0].persistence_prefix_len, 0);
    // The default, /32, may be written without persistence.
    let c = ok(&service("persistence_netmask = \"255.255.255.255\"", ""));
    assert_eq!(c.services[0].persistence_prefix_len, 32);
    let v6 = with_ports(
        "[[services]]\nprotocol = \"udp\"\naddress = \"[2001:db8::100]:53\"\npersistence = 60\npersistence_netmask = \"64\"\n",
    );
    let c = ok(&v6);
    assert_eq!(c.services[0].persistence_prefix_len, 64);
    assert_eq!(
        c.services[0].persistence_netmask(),
        ip("ffff:ffff:ffff:ffff::")
    );
}

#[test]
fn persistence_netmask_refused() {
    refused(
        &service(
            "persistence = 300\npersistence_netmask = \"255.0.255.0\"",
            "",
        ),
        "services[0].persistence_netmask",
        "255.0.255.0 is not a contiguous netmask",
    );
    refused(
        &service("persistence = 300\npersistence_netmask = \"24\"", ""),
        "services[0].persistence_netmask",
        "\"24\" is not a netmask; write it like \"255.255.255.0\"",
    );
    refused(
        &service("persistence_netmask = \"255.255.255.0\"", ""),
        "services[0].persistence_netmask",
        "has no effect without persistence; set `persistence` (seconds) or remove this key",
    );
    let v6 = |m: &str| {
        with_ports(&format!(
            "[[services]]\nprotocol = \"tcp\"\naddress = \"[2001:db8::100]:80\"\npersistence = 60\npersistence_netmask = {m:?}\n"
        ))
    };
    refused(
        &v6("255.255.255.0"),
        "services[0].persistence_netmask",
        "is not a prefix length 1..=128; an IPv6 service takes one, like \"64\"",
    );
    refused(
        &v6("0"),
        "services[0].persistence_netmask",
        "not a prefix length",
    );
    refused(
        &v6("129"),
        "services[0].persistence_netmask",
        "not a prefix length",
    );
}

// ---------------------------------------------------------------- one-packet scheduling

#[test]
fn one_packet_only_for_udp_and_fwmark() {
    refused(
        &service("one_packet = true", ""),
        "services[0].one_packet",
        "one-packet scheduling is only for UDP (and firewall-mark) services",
    );
    let udp = with_ports(
        "[[services]]\nprotocol = \"udp\"\naddress = \"198.18.0.100:53\"\none_packet = true\n",
    );
    assert!(ok(&udp).services[0].one_packet);
    assert!(ok(&fwmark_service("one_packet = true", "")).services[0].one_packet);
    assert!(!ok(&service("", "")).services[0].one_packet);
}

// ---------------------------------------------------------------- SYN proxy

#[test]
fn synproxy_defaults_off_and_round_trips() {
    assert!(!ok(&service("", "")).services[0].synproxy);
    let c = ok(&service(
        "synproxy = true",
        &format!(
            "{}{}",
            rs("198.18.1.10:8080", "method = \"nat\""),
            rs("198.18.1.20:8080", "method = \"fullnat\"")
        ),
    ));
    assert!(c.services[0].synproxy);
    assert!(to_toml(&c).contains("synproxy = true"));
    assert!(!to_toml(&ok(&service("", ""))).contains("synproxy"));
    assert!(ok(&fwmark_service("synproxy = true", "")).services[0].synproxy);
    let v6 = with_ports(
        "[[services]]\nprotocol = \"tcp\"\naddress = \"[2001:db8::100]:80\"\nsynproxy = true\n",
    );
    assert!(ok(&v6).services[0].synproxy);
}

#[test]
fn synproxy_refuses_dr_tun_and_udp() {
    for method in ["dr", "tun"] {
        refused(
            &service(
                "synproxy = true",
                &format!(
                    "{}{}",
                    rs("198.18.1.10:8080", "method = \"nat\""),
                    rs("198.18.1.20:80", &format!("method = {method:?}"))
                ),
            ),
            "services[0].real_servers[1].method",
            "needs the real servers' replies to pass the director",
        );
    }
    refused(
        &with_ports(
            "[[services]]\nprotocol = \"udp\"\naddress = \"198.18.0.100:53\"\nsynproxy = true\n",
        ),
        "services[0].synproxy",
        "TCP services only",
    );
}

// ---------------------------------------------------------------- FullNAT local addresses

#[test]
fn fullnat_uses_the_service_or_port_pools() {
    // The port pool (inside has 198.18.1.3).
    let c = ok(&service("", &rs("198.18.9.10", "method = \"fullnat\"")));
    assert!(c.services[0].fullnat_local_addresses.is_empty());
    // The service's own pool; it may share a port's LIP.
    let c = ok(&service(
        "fullnat_local_addresses = [\"198.18.1.4\", \"198.18.1.3\", \"2001:db8:1::4\"]",
        &rs("198.18.9.10", "method = \"fullnat\""),
    ));
    assert_eq!(
        c.services[0].fullnat_local_addresses,
        [ip("198.18.1.4"), ip("198.18.1.3"), ip("2001:db8:1::4")]
    );
}

#[test]
fn fullnat_local_addresses_refused() {
    let pool = |list: &str| service(&format!("fullnat_local_addresses = {list}"), "");
    refused(
        &pool("[\"198.18.1.1\"]"),
        "services[0].fullnat_local_addresses[0]",
        "198.18.1.1 is the director's own address on port \"inside\" (ports[1].addresses[0]); a LIP must be an address of its own",
    );
    refused(
        &pool("[\"198.18.0.100\"]"),
        "services[0].fullnat_local_addresses[0]",
        "198.18.0.100 is this service's VIP; a LIP must not be a VIP",
    );
    refused(
        &pool("[\"198.18.1.4\", \"198.18.1.4\"]"),
        "services[0].fullnat_local_addresses[1]",
        "duplicate local address 198.18.1.4 (also services[0].fullnat_local_addresses[0])",
    );
    refused(
        &pool("[\"fe80::4\"]"),
        "services[0].fullnat_local_addresses[0]",
        "link-local",
    );
    let text = with_ports(
        "[[services]]\nprotocol = \"tcp\"\naddress = \"198.18.0.101:80\"\n[[services]]\nprotocol = \"tcp\"\naddress = \"198.18.0.100:80\"\nfullnat_local_addresses = [\"198.18.0.101\"]\n",
    );
    refused(
        &text,
        "services[1].fullnat_local_addresses[0]",
        "198.18.0.101 is the VIP of services[0]; a LIP must not be a VIP",
    );
}

#[test]
fn fullnat_needs_a_lip_of_the_real_servers_family() {
    // No port has an IPv6 LIP.
    let v6 = with_ports(
        "[[services]]\nprotocol = \"tcp\"\naddress = \"[2001:db8::100]:80\"\n[[services.real_servers]]\naddress = \"[2001:db8:7::10]:80\"\nmethod = \"fullnat\"\n",
    );
    refused(
        &v6,
        "services[0].real_servers[0].method",
        "\"fullnat\" needs a local address (LIP) of the real server's family (IPv6) to send from; add one to services[0].fullnat_local_addresses or to a port's local_addresses",
    );
    // The service's pool replaces the ports' pools.
    refused(
        &service(
            "fullnat_local_addresses = [\"2001:db8:1::4\"]",
            &rs("198.18.9.10", "method = \"fullnat\""),
        ),
        "services[0].real_servers[0].method",
        "(IPv4) to send from; add one to services[0].fullnat_local_addresses (the service's own pool replaces the ports' pools)",
    );
}

// ---------------------------------------------------------------- health checks

#[test]
fn health_check_defaults() {
    let c = ok(&service("[services.health_check]", ""));
    assert_eq!(
        c.services[0].health_check,
        Some(HealthCheck {
            kind: CheckKind::Tcp,
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(1),
            failures: 3,
            successes: 1,
            on_failure: OnFailure::Quiesce,
            sorry_server: None,
        })
    );
    let c = ok(&service("[services.health_check]\nkind = \"http\"", ""));
    assert_eq!(
        c.services[0].health_check.as_ref().map(|h| h.kind.clone()),
        Some(CheckKind::Http {
            path: "/".into(),
            status: 200
        })
    );
}

#[test]
fn health_check_every_key() {
    let c = ok(&service(
        r#"
[services.health_check]
kind = "http"
interval = 0.5
timeout = 0.25
failures = 100
successes = 5
http_path = "/health?deep=1"
http_status = 204
on_failure = "remove"
sorry_server = "198.18.1.99"
"#,
        &rs("198.18.1.10", "method = \"nat\""),
    ));
    assert_eq!(
        c.services[0].health_check,
        Some(HealthCheck {
            kind: CheckKind::Http {
                path: "/health?deep=1".into(),
                status: 204
            },
            interval: Duration::from_millis(500),
            timeout: Duration::from_millis(250),
            failures: 100,
            successes: 5,
            on_failure: OnFailure::Remove,
            sorry_server: Some(sa("198.18.1.99:80")),
        })
    );
    // Integers are seconds too.
    let c = ok(&service(
        "[services.health_check]\ninterval = 10\ntimeout = 3",
        "",
    ));
    let h = c.services[0].health_check.clone().unwrap();
    assert_eq!(
        (h.interval, h.timeout),
        (Duration::from_secs(10), Duration::from_secs(3))
    );
}

#[test]
fn health_check_refused() {
    let hc = |body: &str| service(&format!("[services.health_check]\n{body}"), "");
    let key = |k: &str| format!("services[0].health_check.{k}");
    refused(
        &hc("kind = \"icmp\""),
        &key("kind"),
        "unknown health check \"icmp\"; expected \"tcp\" or \"http\"",
    );
    refused(
        &hc("interval = 0"),
        &key("interval"),
        "0 is out of range: give seconds more than 0 and at most 3600",
    );
    refused(&hc("interval = 3601"), &key("interval"), "out of range");
    refused(&hc("interval = -1.5"), &key("interval"), "out of range");
    refused(&hc("interval = nan"), &key("interval"), "out of range");
    refused(
        &hc("timeout = 0.0001"),
        &key("timeout"),
        "0.0001 s is shorter than a millisecond",
    );
    refused(
        &hc("interval = 1\ntimeout = 1"),
        &key("timeout"),
        "1 s is not less than the interval 1 s",
    );
    refused(
        &hc("timeout = 5"),
        &key("timeout"),
        "is not less than the interval 2 s",
    );
    refused(
        &hc("failures = 0"),
        &key("failures"),
        "0 is out of range 1..=100",
    );
    refused(
        &hc("successes = 101"),
        &key("successes"),
        "101 is out of range 1..=100",
    );
    refused(
        &hc("http_path = \"/\""),
        &key("http_path"),
        "only for kind = \"http\" (this check is \"tcp\")",
    );
    refused(
        &hc("http_status = 200"),
        &key("http_status"),
        "only for kind = \"http\"",
    );
    refused(
        &hc("kind = \"http\"\nhttp_path = \"health\""),
        &key("http_path"),
        "\"health\" is not a request path; give one like \"/health\" (no spaces)",
    );
    refused(
        &hc("kind = \"http\"\nhttp_path = \"/a b\""),
        &key("http_path"),
        "is not a request path",
    );
    refused(
        &hc("kind = \"http\"\nhttp_status = 99"),
        &key("http_status"),
        "99 is out of range 100..=599",
    );
    refused(
        &hc("on_failure = \"drain\""),
        &key("on_failure"),
        "unknown action \"drain\"; expected \"quiesce\" (weight 0) or \"remove\"",
    );
    refused(
        &hc("sorry_server = \"[2001:db8:1::99]:80\""),
        &key("sorry_server"),
        "the sorry server 2001:db8:1::99 is IPv6 but the service is IPv4",
    );
    refused(
        &hc("sorry_server = \"198.18.1.1\""),
        &key("sorry_server"),
        "198.18.1.1 is the director's own address on port \"inside\"",
    );
    refused(
        &hc("sorry_server = \"sorry\""),
        &key("sorry_server"),
        "is not an IP address and port",
    );
    refused(&hc("retries = 3"), &key("retries"), "unknown key `retries`");
    refused(
        &hc("interval = \"2s\""),
        &key("interval"),
        "expected a number",
    );
}

// ---------------------------------------------------------------- thresholds

#[test]
fn thresholds_good() {
    let c = ok(&service(
        "",
        &rs(
            "198.18.1.10",
            "upper_threshold = 2147483647\nlower_threshold = 100",
        ),
    ));
    let r = &c.services[0].real_servers[0];
    assert_eq!((r.upper_threshold, r.lower_threshold), (2147483647, 100));
    let c = ok(&service(
        "",
        &rs("198.18.1.10", "upper_threshold = 10\nlower_threshold = 10"),
    ));
    let r = &c.services[0].real_servers[0];
    assert_eq!((r.upper_threshold, r.lower_threshold), (10, 10));
}

#[test]
fn thresholds_refused() {
    let t = |more: &str| service("", &rs("198.18.1.10", more));
    refused(
        &t("upper_threshold = 2147483648"),
        "services[0].real_servers[0].upper_threshold",
        "2147483648 is out of range 0..=2147483647",
    );
    refused(
        &t("lower_threshold = -1"),
        "services[0].real_servers[0].lower_threshold",
        "-1 is out of range 0..=2147483647",
    );
    refused(
        &t("upper_threshold = 10\nlower_threshold = 11"),
        "services[0].real_servers[0].lower_threshold",
        "11 is above upper_threshold 10",
    );
    refused(
        &t("lower_threshold = 5"),
        "services[0].real_servers[0].lower_threshold",
        "a lower threshold needs an upper threshold (upper_threshold is 0, none)",
    );
}

// ---------------------------------------------------------------- ipvsadm_rules

#[test]
fn parse_refuses_ipvsadm_rules() {
    refused(
        &format!("ipvsadm_rules = \"/etc/ipvsadm.rules\"\n{PORTS}"),
        "ipvsadm_rules",
        "names a file, which only rvs_config::load reads",
    );
}

// ---------------------------------------------------------------- to_toml

#[test]
fn to_toml_round_trips_every_key() {
    let text = r#"
workers = 4
max_connections = 2000
idle_sleep_us = 50

[timeouts]
tcp = 60
tcpfin = 30
udp = 20

[control]
socket = "/tmp/rvs.sock"
socket_mode = "0660"
metrics = "[::1]:9469"

[[ports]]
name = "outside"
device = "net_af_packet0"
args = "iface=veth-out,qpairs=1"
addresses = ["2001:db8::1/64", "198.18.0.1/24"]
mtu = 9000
vlan = 10
exception_path = true

[[ports]]
name = "inside"
device = "0000:03:00.0"
addresses = ["198.18.1.1/24", "2001:db8:1::1/64"]
local_addresses = ["198.18.1.3", "2001:db8:1::3"]

[[routes]]
prefix = "::/0"
via = "fe80::1"
port = "outside"

[[routes]]
prefix = "0.0.0.0/0"
via = "198.18.0.254"
port = "outside"

[[routes]]
prefix = "198.19.0.0/16"
port = "inside"

[[neighbours]]
port = "inside"
address = "198.18.1.10"
mac = "02:00:00:00:00:0A"

[[fwmark]]
mark = 66
destinations = ["198.18.0.200/32", "2001:db8::200/128"]
protocol = "tcp"
ports = [80, 443]

[[fwmark]]
mark = 7

[[services]]
protocol = "udp"
address = "198.18.0.100:53"
scheduler = "sh"
sched_flags = ["sh-port"]
persistence = 300
persistence_netmask = "255.255.0.0"
one_packet = true
fullnat_local_addresses = ["198.18.1.4"]

[services.health_check]
kind = "http"
interval = 0.1
timeout = 0.05
failures = 4
successes = 2
http_path = "/ok"
http_status = 204
on_failure = "remove"
sorry_server = "198.18.1.99:5353"

[[services.real_servers]]
address = "198.18.0.10:5353"
method = "nat"
weight = 0
upper_threshold = 100
lower_threshold = 50

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

[[services]]
fwmark = 66
ipv6 = true
scheduler = "mh"
sched_flags = ["mh-fallback", "mh-port"]
persistence = 60
persistence_netmask = "48"

[[services.real_servers]]
address = "2001:db8:1::10"
method = "dr"

[[services]]
protocol = "tcp"
address = "[2001:db8::100]:443"

[services.health_check]
"#;
    let c = ok(text);
    assert_eq!(c.neighbours[0].mac, [2, 0, 0, 0, 0, 10]);
    assert_eq!(c.services.len(), 3);
    // What to_toml wrote parses to the same configuration (checked by `ok`), and it is stable.
    let once = to_toml(&c);
    assert_eq!(to_toml(&parse(&once).unwrap()), once);
    // Defaults are left out.
    let minimal = to_toml(&ok(PORTS));
    for absent in [
        "[timeouts]",
        "[control]",
        "mtu",
        "exception_path",
        "[[routes]]",
        "[[services]]",
    ] {
        assert!(!minimal.contains(absent), "{absent} in\n{minimal}");
    }
}

#[test]
fn to_toml_of_a_hand_built_table() {
    // A Config changed in code (as ipvsadm::apply does) prints as TOML that parses back.
    let mut c = ok(&with_ports(""));
    let mut s = rvs_config::Service::new(ServiceKey::Udp(sa("198.18.0.100:53")), "rr");
    s.real_servers.push(rvs_config::RealServer::new(
        sa("198.18.1.10:53"),
        Method::Nat,
    ));
    c.services.push(s);
    c.timeouts.udp = 5;
    c.control.metrics = Some(SocketAddr::from((Ipv6Addr::LOCALHOST, 9000)));
    let again = parse(&to_toml(&c)).unwrap();
    assert_eq!(again, c);
}
