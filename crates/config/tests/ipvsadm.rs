//! ipvsadm compatibility: every command and option parsed as ipvsadm 1.31 parses it, its error
//! messages, the `-S` rule format byte for byte, `-S` -> `-R` -> the same table, and the kernel's
//! refusals when commands are applied.

use std::net::SocketAddr;

use rvs_config::ipvsadm::{
    apply, load_rules, parse_args, restore, save, save_in_config_order, Command, IpvsadmError,
    ListOptions, ServerSpec, ServiceSpec, DEFAULT_PERSISTENCE,
};
use rvs_config::{load, parse, to_toml, Config, ConfigError, Method, SchedFlags, ServiceKey};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn tcp(s: &str) -> ServiceKey {
    ServiceKey::Tcp(sa(s))
}

fn udp(s: &str) -> ServiceKey {
    ServiceKey::Udp(sa(s))
}

fn fwm(mark: u32) -> ServiceKey {
    ServiceKey::Fwmark { mark, ipv6: false }
}

#[track_caller]
fn cmd(line: &str) -> Command {
    let args: Vec<&str> = line.split_whitespace().collect();
    parse_args(&args).unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// Asserts that `line` is refused with exactly `message`, and ipvsadm's exit status.
#[track_caller]
fn refused(line: &str, message: &str, exit: i32) {
    let args: Vec<String> = line.split_whitespace().map(String::from).collect();
    match parse_args(&args) {
        Err(e) => {
            assert_eq!(e.to_string(), message, "for {line}");
            assert_eq!(e.exit_code(), exit, "exit status for {line}");
        }
        Ok(c) => panic!("{line}: expected {message:?}, got {c:?}"),
    }
}

fn spec(key: ServiceKey, scheduler: &str) -> ServiceSpec {
    ServiceSpec {
        key,
        scheduler: scheduler.into(),
        persistence: None,
        persistence_prefix_len: if key.is_ipv6() { 128 } else { 32 },
        sched_flags: SchedFlags::default(),
        one_packet: false,
    }
}

fn server(service: ServiceKey, rs: &str, method: Method) -> ServerSpec {
    ServerSpec {
        service,
        server: sa(rs),
        method,
        weight: 1,
        upper_threshold: 0,
        lower_threshold: 0,
    }
}

// ---------------------------------------------------------------- services

#[test]
fn add_and_edit_service_with_every_option() {
    assert_eq!(
        cmd("-A -t 172.25.254.100:80 -s rr"),
        Command::AddService(spec(tcp("172.25.254.100:80"), "rr"))
    );
    // No -s: ipvsadm's DEF_SCHED.
    assert_eq!(
        cmd("-A -u 10.0.0.1:53"),
        Command::AddService(spec(udp("10.0.0.1:53"), "wlc"))
    );
    let mut s = spec(tcp("10.0.0.1:443"), "sh");
    s.persistence = Some(300);
    s.persistence_prefix_len = 24;
    s.sched_flags = SchedFlags {
        fallback: true,
        port: true,
    };
    assert_eq!(
        cmd("-A -t 10.0.0.1:443 -s sh -p 300 -M 255.255.255.0 -b sh-fallback,sh-port"),
        Command::AddService(s.clone())
    );
    assert_eq!(
        cmd("--edit-service --tcp-service 10.0.0.1:443 --scheduler sh --persistent 300 --netmask 255.255.255.0 --sched-flags sh-fallback,sh-port"),
        Command::EditService(s.clone())
    );
    assert_eq!(
        cmd("-E -t 10.0.0.1:443 -s sh -p300 -M255.255.255.0 -bsh-port,sh-fallback"),
        Command::EditService(s)
    );
    let mut o = spec(udp("10.0.0.1:53"), "rr");
    o.one_packet = true;
    assert_eq!(
        cmd("-A -u 10.0.0.1:53 -s rr -o"),
        Command::AddService(o.clone())
    );
    assert_eq!(
        cmd("--add-service --udp-service=10.0.0.1:53 --scheduler=rr --ops"),
        Command::AddService(o)
    );
    assert_eq!(
        cmd("-D -t 10.0.0.1:80"),
        Command::DeleteService(tcp("10.0.0.1:80"))
    );
    assert_eq!(
        cmd("--delete-service --udp-service 10.0.0.1:53"),
        Command::DeleteService(udp("10.0.0.1:53"))
    );
    assert_eq!(cmd("-C"), Command::Clear);
    assert_eq!(cmd("--clear"), Command::Clear);
}

#[test]
fn persistent_with_and_without_a_timeout() {
    let p = |line: &str| match cmd(line) {
        Command::AddService(s) => s.persistence,
        other => panic!("{other:?}"),
    };
    // ipvsadm's parse_timeout(NULL): IPVS_SVC_PERSISTENT_TIMEOUT, (6*60) in libipvs.h.
    assert_eq!(DEFAULT_PERSISTENCE, 360);
    assert_eq!(p("-A -t 10.0.0.1:80 -p"), Some(360));
    assert_eq!(p("-A -t 10.0.0.1:80 -p -s rr"), Some(360));
    assert_eq!(p("-A -t 10.0.0.1:80 -s rr -p 600"), Some(600));
    assert_eq!(p("-A -t 10.0.0.1:80 --persistent=2678400"), Some(2_678_400));
    assert_eq!(p("-A -t 10.0.0.1:80 --persistent -s rr"), Some(360));
    assert_eq!(p("-A -t 10.0.0.1:80"), None);
    // A persistent service may have port 0 (every port).
    assert_eq!(p("-A -t 10.0.0.1 -p"), Some(360));
    assert_eq!(p("-A -t 10.0.0.1:0 -p 60"), Some(60));
}

#[test]
fn fwmark_services() {
    assert_eq!(
        cmd("-A -f 66 -s rr"),
        Command::AddService(spec(fwm(66), "rr"))
    );
    assert_eq!(
        cmd("--add-service --fwmark-service 4294967295"),
        Command::AddService(spec(fwm(u32::MAX), "wlc"))
    );
    let mut v6 = spec(
        ServiceKey::Fwmark {
            mark: 66,
            ipv6: true,
        },
        "rr",
    );
    assert_eq!(cmd("-A -f 66 -6 -s rr"), Command::AddService(v6.clone()));
    v6.persistence = Some(60);
    v6.persistence_prefix_len = 64;
    assert_eq!(
        cmd("-A -f 66 --ipv6 -s rr -p 60 -M 64"),
        Command::AddService(v6)
    );
    // -o is allowed on a firewall-mark service.
    let mut o = spec(fwm(3), "wlc");
    o.one_packet = true;
    assert_eq!(cmd("-A -f 3 -o"), Command::AddService(o));
}

#[test]
fn ipv6_services() {
    let mut s = spec(tcp("[2001:db8::1]:80"), "rr");
    assert_eq!(
        cmd("-A -t [2001:db8::1]:80 -s rr"),
        Command::AddService(s.clone())
    );
    s.persistence = Some(30);
    s.persistence_prefix_len = 48;
    assert_eq!(
        cmd("-A -t [2001:db8::1]:80 -s rr -p 30 -M 48"),
        Command::AddService(s)
    );
}

#[test]
fn names_are_resolved() {
    // localhost is in every /etc/hosts; http is 80/tcp in every /etc/services.
    if std::fs::read_to_string("/etc/services").is_ok_and(|s| s.contains("80/tcp")) {
        assert_eq!(
            cmd("-A -t 10.0.0.1:http -s rr"),
            Command::AddService(spec(tcp("10.0.0.1:80"), "rr"))
        );
    }
    assert_eq!(
        cmd("-A -t localhost:8080 -s rr"),
        Command::AddService(spec(tcp("127.0.0.1:8080"), "rr"))
    );
    // inet_aton forms, as ipvsadm.
    assert_eq!(
        cmd("-A -t 10.1:80 -s rr"),
        Command::AddService(spec(tcp("10.0.0.1:80"), "rr"))
    );
}

// ---------------------------------------------------------------- real servers

#[test]
fn add_edit_delete_server_with_every_option() {
    let svc = tcp("10.0.0.1:80");
    assert_eq!(
        cmd("-a -t 10.0.0.1:80 -r 192.168.1.10:8080 -m -w 3"),
        Command::AddServer(ServerSpec {
            weight: 3,
            ..server(svc, "192.168.1.10:8080", Method::Nat)
        })
    );
    // No port: the service's. No method: -g.
    assert_eq!(
        cmd("-a -t 10.0.0.1:80 -r 192.168.1.10"),
        Command::AddServer(server(svc, "192.168.1.10:80", Method::Dr))
    );
    // DR and TUN get the service port whatever is given ("The destination port must be equal to
    // the service port if the IP_VS_CONN_F_TUNNEL or IP_VS_CONN_F_DROUTE is set").
    assert_eq!(
        cmd("-a -t 10.0.0.1:80 -r 192.168.1.10:8080 -g"),
        Command::AddServer(server(svc, "192.168.1.10:80", Method::Dr))
    );
    assert_eq!(
        cmd("-a -t 10.0.0.1:80 -r 192.168.1.10:8080 -i"),
        Command::AddServer(server(svc, "192.168.1.10:80", Method::Tun))
    );
    assert_eq!(
        cmd("-a -t 10.0.0.1:80 -r 192.168.1.10:80 -i --tun-type ipip"),
        Command::AddServer(server(svc, "192.168.1.10:80", Method::Tun))
    );
    assert_eq!(
        cmd("-a -t 10.0.0.1:80 -r 192.168.1.10:8080 --fullnat -w 0 -x 100 -y 50"),
        Command::AddServer(ServerSpec {
            weight: 0,
            upper_threshold: 100,
            lower_threshold: 50,
            ..server(svc, "192.168.1.10:8080", Method::FullNat)
        })
    );
    assert_eq!(
        cmd("--add-server --tcp-service 10.0.0.1:80 --real-server 192.168.1.10:81 --masquerading --weight 65535 --u-threshold 2147483647 --l-threshold 0"),
        Command::AddServer(ServerSpec {
            weight: 65535,
            upper_threshold: 2_147_483_647,
            ..server(svc, "192.168.1.10:81", Method::Nat)
        })
    );
    assert_eq!(
        cmd("--edit-server -t 10.0.0.1:80 -r 192.168.1.10 --gatewaying -w 2"),
        Command::EditServer(ServerSpec {
            weight: 2,
            ..server(svc, "192.168.1.10:80", Method::Dr)
        })
    );
    assert_eq!(
        cmd("-e -t 10.0.0.1:80 -r 192.168.1.10 --ipip"),
        Command::EditServer(server(svc, "192.168.1.10:80", Method::Tun))
    );
    assert_eq!(
        cmd("-d -t 10.0.0.1:80 -r 192.168.1.10"),
        Command::DeleteServer {
            service: svc,
            server: sa("192.168.1.10:80")
        }
    );
    assert_eq!(
        cmd("--delete-server -t 10.0.0.1:80 -r 192.168.1.10:8080"),
        Command::DeleteServer {
            service: svc,
            server: sa("192.168.1.10:8080")
        }
    );
    // A firewall-mark service has no port: the real server keeps what is given, 0 by default.
    assert_eq!(
        cmd("-a -f 66 -r 192.168.1.10 -g"),
        Command::AddServer(server(fwm(66), "192.168.1.10:0", Method::Dr))
    );
    assert_eq!(
        cmd("-a -f 66 -r 192.168.1.10:443 -g"),
        Command::AddServer(server(fwm(66), "192.168.1.10:443", Method::Dr))
    );
    // IPv6.
    assert_eq!(
        cmd("-a -t [2001:db8::1]:80 -r [2001:db8:1::10]:8080 -m"),
        Command::AddServer(server(
            tcp("[2001:db8::1]:80"),
            "[2001:db8:1::10]:8080",
            Method::Nat
        ))
    );
    assert_eq!(
        cmd("-a -t [2001:db8::1]:80 -r 2001:db8:1::10 -m"),
        Command::AddServer(server(
            tcp("[2001:db8::1]:80"),
            "[2001:db8:1::10]:80",
            Method::Nat
        ))
    );
    // TUN may mix families at the command line (the table refuses it, see below).
    assert_eq!(
        cmd("-a -t 10.0.0.1:80 -r 2001:db8:1::10 -i"),
        Command::AddServer(server(svc, "[2001:db8:1::10]:80", Method::Tun))
    );
    // ipvsadm copies the service port when -r comes; before -t it is still 0.
    assert_eq!(
        cmd("-a -r 192.168.1.10 -t 10.0.0.1:80 -m"),
        Command::AddServer(server(svc, "192.168.1.10:0", Method::Nat))
    );
}

// ---------------------------------------------------------------- list, zero, set, save, restore

#[test]
fn list_and_its_options() {
    // ipvsadm without arguments lists the table.
    assert_eq!(
        parse_args::<&str>(&[]).unwrap(),
        Command::List(ListOptions::default())
    );
    assert_eq!(cmd("-L"), Command::List(ListOptions::default()));
    assert_eq!(cmd("-l"), Command::List(ListOptions::default()));
    assert_eq!(cmd("--list --sort"), Command::List(ListOptions::default()));
    let n = ListOptions {
        numeric: true,
        ..Default::default()
    };
    assert_eq!(cmd("-Ln"), Command::List(n.clone()));
    assert_eq!(cmd("-L -n"), Command::List(n.clone()));
    assert_eq!(cmd("-ln"), Command::List(n.clone()));
    assert_eq!(cmd("--list --numeric"), Command::List(n));
    assert_eq!(
        cmd("-L -n --stats --exact --nosort"),
        Command::List(ListOptions {
            numeric: true,
            stats: true,
            exact: true,
            nosort: true,
            ..Default::default()
        })
    );
    assert_eq!(
        cmd("-L --rate -X"),
        Command::List(ListOptions {
            rate: true,
            exact: true,
            ..Default::default()
        })
    );
    assert_eq!(
        cmd("-L --thresholds -t 10.0.0.1:80"),
        Command::List(ListOptions {
            thresholds: true,
            service: Some(tcp("10.0.0.1:80")),
            ..Default::default()
        })
    );
    assert_eq!(
        cmd("-L --persistent-conn -c"),
        Command::List(ListOptions {
            persistent_conn: true,
            connection: true,
            ..Default::default()
        })
    );
    assert_eq!(
        cmd("-L --connection -n"),
        Command::List(ListOptions {
            connection: true,
            numeric: true,
            ..Default::default()
        })
    );
    assert_eq!(
        cmd("-L --timeout"),
        Command::List(ListOptions {
            timeout: true,
            ..Default::default()
        })
    );
    assert_eq!(
        cmd("-L --daemon"),
        Command::List(ListOptions {
            daemon: true,
            ..Default::default()
        })
    );
    assert_eq!(
        cmd("-L -f 66 --tun-info"),
        Command::List(ListOptions {
            tun_info: true,
            service: Some(fwm(66)),
            ..Default::default()
        })
    );
}

#[test]
fn zero_set_save_restore_help_version() {
    assert_eq!(cmd("-Z"), Command::Zero(None));
    assert_eq!(
        cmd("--zero -t 10.0.0.1:80"),
        Command::Zero(Some(tcp("10.0.0.1:80")))
    );
    assert_eq!(
        cmd("--set 900 120 300"),
        Command::SetTimeouts {
            tcp: 900,
            tcpfin: 120,
            udp: 300
        }
    );
    // popt collects the values wherever they are; 0 is allowed (unchanged).
    assert_eq!(
        cmd("0 --set 5 0"),
        Command::SetTimeouts {
            tcp: 0,
            tcpfin: 5,
            udp: 0
        }
    );
    assert_eq!(cmd("-S"), Command::Save { numeric: false });
    assert_eq!(cmd("-Sn"), Command::Save { numeric: true });
    assert_eq!(cmd("--save --numeric"), Command::Save { numeric: true });
    assert_eq!(cmd("-R"), Command::Restore);
    assert_eq!(cmd("--restore"), Command::Restore);
    assert_eq!(cmd("-h"), Command::Help);
    assert_eq!(cmd("--help -t nonsense"), Command::Help);
    assert_eq!(cmd("-v"), Command::Version);
    assert_eq!(cmd("--version"), Command::Version);
}

// ---------------------------------------------------------------- errors, in ipvsadm's words

#[test]
fn errors_of_the_command_line() {
    let try_help = "Try `ipvsadm -h' or 'ipvsadm --help' for more information.";
    refused("-t 10.0.0.1:80", try_help, 255);
    refused("-n -L", try_help, 255);
    refused("--bogus", try_help, 255);
    refused("10.0.0.1", try_help, 255);
    refused("-A -t 10.0.0.1:80 --bogus", "--bogus: unknown option", 255);
    refused("-A -t 10.0.0.1:80 -q", "-q: unknown option", 255);
    refused("-A -t", "-t: missing argument", 255);
    refused("-A --scheduler", "--scheduler: missing argument", 255);
    refused("-A -a", "invalid option `-a'", 2);
    refused("-A -t 10.0.0.1:80 -L", "invalid option `-L'", 2);
    refused(
        "-A -t 10.0.0.1:80 -t 10.0.0.2:80",
        "multiple 'service-address' options specified",
        2,
    );
    refused(
        "-A -t 10.0.0.1:80 -f 1",
        "multiple 'service-address' options specified",
        2,
    );
    refused(
        "-a -t 10.0.0.1:80 -r 1.1.1.1 -m -g",
        "multiple 'forwarding-method' options specified",
        2,
    );
    refused(
        "-A",
        "You need to supply the 'service-address' option for the 'add-service' command",
        2,
    );
    refused(
        "-a -t 10.0.0.1:80",
        "You need to supply the 'real-server' option for the 'add-server' command",
        2,
    );
    refused(
        "-A -t 10.0.0.1:80 -w 2",
        "Illegal 'weight' option with the 'add-service' command",
        2,
    );
    refused(
        "-D -t 10.0.0.1:80 -s rr",
        "Illegal 'scheduler' option with the 'delete-service' command",
        2,
    );
    refused(
        "-C -t 10.0.0.1:80",
        "Illegal 'service-address' option with the 'flush' command",
        2,
    );
    refused(
        "-d -t 10.0.0.1:80 -r 1.1.1.1 -m",
        "Illegal 'forwarding-method' option with the 'delete-server' command",
        2,
    );
    refused(
        "-S -t 10.0.0.1:80",
        "Illegal 'service-address' option with the 'save' command",
        2,
    );
    refused(
        "-S --nosort",
        "Illegal 'nosort' option with the 'save' command",
        2,
    );
    refused(
        "-Z -n",
        "Illegal 'numeric' option with the 'zero' command",
        2,
    );
    refused(
        "-L -c -t 10.0.0.1:80",
        "The option 'service-address' conflicts with the 'connection' option in the 'list' command",
        2,
    );
    refused(
        "-L --timeout --daemon",
        "The option 'daemon' conflicts with the 'timeout' option in the 'list' command",
        2,
    );
    refused("-L -c --stats", "options conflicts in the list command", 2);
    refused(
        "-L --timeout --persistent-conn",
        "options conflicts in the list command",
        2,
    );
    refused(
        "-A -t 10.0.0.1.5:80",
        "illegal virtual server address[:port] specified",
        2,
    );
    refused(
        "-A -t 80",
        "illegal virtual server address[:port] specified",
        2,
    );
    refused(
        "-A -t 10.0.0.1:65536",
        "illegal virtual server address[:port] specified",
        2,
    );
    refused(
        "-A -t [2001:db8::1]",
        "illegal virtual server address[:port] specified",
        2,
    );
    refused(
        "-a -t 10.0.0.1:80 -r 10.0.0.300",
        "illegal real server address[:port] specified",
        2,
    );
    refused("-A -f 0", "invalid fwmark value `0' specified", 2);
    refused(
        "-A -f 4294967296",
        "invalid fwmark value `4294967296' specified",
        2,
    );
    refused("-A -f -3", "invalid fwmark value `-3' specified", 2);
    refused("-A -f 12x", "invalid fwmark value `12x' specified", 2);
    refused(
        "-A -t 10.0.0.1:80 -p 0",
        "invalid timeout value `0' specified",
        2,
    );
    refused(
        "-A -t 10.0.0.1:80 -p 2678401",
        "invalid timeout value `2678401' specified",
        2,
    );
    refused(
        "-A -t 10.0.0.1:80 -p 300 -M 255.255.255.999",
        "illegal virtual server persistent mask specified",
        2,
    );
    refused(
        "-A -t [2001:db8::1]:80 -p 300 -M 129",
        "illegal ipv6 netmask specified",
        2,
    );
    refused(
        "-A -t [2001:db8::1]:80 -p 300 -M 255.255.255.0",
        "illegal ipv6 netmask specified",
        2,
    );
    refused(
        "-a -t 10.0.0.1:80 -r 1.1.1.1 -w 65536",
        "illegal weight specified",
        2,
    );
    refused(
        "-a -t 10.0.0.1:80 -r 1.1.1.1 -w -1",
        "illegal weight specified",
        2,
    );
    refused(
        "-a -t 10.0.0.1:80 -r 1.1.1.1 -w one",
        "illegal weight specified",
        2,
    );
    refused(
        "-a -t 10.0.0.1:80 -r 1.1.1.1 -x 2147483648",
        "illegal u_threshold specified",
        2,
    );
    refused(
        "-a -t 10.0.0.1:80 -r 1.1.1.1 -y x",
        "illegal l_threshold specified",
        2,
    );
    refused("-A -6 -f 1", "-6 used before -f", 2);
    refused("-A -t 10.0.0.1:80 -6", "-6 used before -f", 2);
    refused("--set 900 120", "--set option requires 3 timeout values", 2);
    refused("--set 900 120 x", "invalid timeout value `x' specified", 2);
    refused("--set 900 120 300 5", "unexpected argument 5", 2);
    refused("-L extra", "unexpected argument extra", 2);
    refused(
        "-A -t 10.0.0.1:0",
        "Zero port specified for non-persistent service",
        2,
    );
    refused(
        "-E -t 10.0.0.1",
        "Zero port specified for non-persistent service",
        2,
    );
    refused(
        "-A -t 10.0.0.1:80 -o",
        "One-Packet Scheduling is only for UDP virtual services",
        2,
    );
    refused(
        "-A -t 10.0.0.1:80 -b sh-port",
        "incompatible scheduler flag `sh-port'",
        2,
    );
    refused(
        "-A -t 10.0.0.1:80 -s sh -b mh-port",
        "incompatible scheduler flag `mh-port'",
        2,
    );
    refused(
        "-A -t 10.0.0.1:80 -s sh -b sh-port,bogus",
        "invalid scheduler flag `bogus'",
        2,
    );
    refused(
        "-a -t 10.0.0.1:80 -r 2001:db8::10 -m",
        "Different address family is allowed only for tunneling servers",
        2,
    );
    refused(
        "-a -f 1 -r 2001:db8::10 -g",
        "Different address family is allowed only for tunneling servers",
        2,
    );
    refused(
        "-a -t 10.0.0.1:80 -r 1.1.1.1 -m --tun-type ipip",
        "Tunnel options conflict with forward method",
        2,
    );
    refused(
        "-a -t 10.0.0.1:80 -r 1.1.1.1 -i --tun-port 6080",
        "Illegal 'tun-port' option with the 'ipip' tunnel type",
        2,
    );
    refused(
        "-a -t 10.0.0.1:80 -r 1.1.1.1 -i --tun-type vxlan",
        "illegal tunnel type specified",
        2,
    );
}

#[test]
fn what_rvs_does_not_have() {
    refused(
        "-A --sctp-service 10.0.0.1:80",
        "SCTP services are not supported by rvs",
        2,
    );
    refused(
        "-A -t 10.0.0.1:80 -p --pe sip",
        "persistence engine `sip' is not supported by rvs (--pe)",
        2,
    );
    refused(
        "--start-daemon master",
        "rvs has no connection synchronisation daemon (--start-daemon, --stop-daemon and their options)",
        2,
    );
    refused(
        "-L --mcast-interface eth0",
        "rvs has no connection synchronisation daemon (--start-daemon, --stop-daemon and their options)",
        2,
    );
    refused(
        "-a -t 10.0.0.1:80 -r 1.1.1.1 -i --tun-type gue",
        "tunnel type gue is not supported by rvs (only ipip)",
        2,
    );
    refused(
        "-A -t 10.0.0.1:80 -p 60 -M 255.0.255.0",
        "netmask 255.0.255.0 is not contiguous; rvs groups persistent clients by prefix (like 255.255.255.0)",
        2,
    );
    refused(
        "-A -t 10.0.0.1:80 -b flag-3",
        "scheduler flag `flag-3' means nothing to rvs's schedulers",
        2,
    );
}

// ---------------------------------------------------------------- -S

/// The director's ports and the marks the table below uses.
const BASE: &str = r#"
[[ports]]
name = "outside"
device = "net_af_packet0"
addresses = ["198.18.0.1/24", "2001:db8::1/64"]

[[ports]]
name = "inside"
device = "net_af_packet1"
addresses = ["198.18.1.1/24", "2001:db8:1::1/64"]
local_addresses = ["198.18.1.3"]

[[fwmark]]
mark = 1
[[fwmark]]
mark = 66
[[fwmark]]
mark = 3000000000
"#;

/// A table using every option -S prints, in ipvsadm's sorted order. Mark 3000000000 sorts
/// first: libipvs compares marks as `s1->fwmark - s2->fwmark` in an int, and 0 - 3000000000
/// wraps to a positive number.
const TABLE: &str = r#"
[[services]]
fwmark = 3000000000
ipv6 = true
scheduler = "mh"
sched_flags = ["mh-port"]
[[services.real_servers]]
address = "[2001:db8:1::20]:0"
method = "nat"
upper_threshold = 10

[[services]]
protocol = "tcp"
address = "198.18.0.100:0"
persistence = 360
[[services.real_servers]]
address = "198.18.1.10:0"
method = "dr"

[[services]]
protocol = "tcp"
address = "198.18.0.100:80"
scheduler = "rr"
persistence = 300
persistence_netmask = "255.255.255.0"
[[services.real_servers]]
address = "198.18.1.10:8080"
method = "nat"
weight = 0
[[services.real_servers]]
address = "198.18.1.20:80"
method = "nat"
[[services.real_servers]]
address = "198.18.7.30:80"
method = "tun"
[[services.real_servers]]
address = "198.18.8.40:80"
method = "fullnat"
weight = 5

[[services]]
protocol = "udp"
address = "198.18.0.100:53"
scheduler = "wrr"
one_packet = true
[[services.real_servers]]
address = "198.18.1.10:5353"
method = "nat"
weight = 3
upper_threshold = 100
lower_threshold = 50

[[services]]
protocol = "tcp"
address = "[2001:db8::100]:443"
scheduler = "lc"
persistence = 60
persistence_netmask = "64"
[[services.real_servers]]
address = "[2001:db8:1::10]:443"
method = "dr"

[[services]]
fwmark = 1
scheduler = "rr"

[[services]]
fwmark = 66
scheduler = "sh"
sched_flags = ["sh-fallback", "sh-port"]
[[services.real_servers]]
address = "198.18.1.11"
method = "dr"
weight = 2
[[services.real_servers]]
address = "198.18.1.12"
method = "dr"
"#;

/// TABLE as ipvsadm 1.31 prints it, worked out by hand from ipvsadm.c's print_service_entry
/// (FMT_RULE): `"-A %s -s %s"`, `" -p %u"`, `" -M %s"` (inet_ntoa) or `" -M %i"` (IPv6), `" -o"`,
/// `" -b "` + print_sched_flags; `"-a %s -r %s %s -w %d"` and print_tunnel_rule's
/// `" --tun-type %s"` for -i; svc_name `"%s %s"` of -t/-u and addrport_to_anyname `"%s%s%s:%u"`,
/// or `"-f %d"`/`"-f %d -6"`. rvs additions: `--fullnat`, and ` -x`/` -y` when not 0.
const SAVED: &str = "\
-A -f 3000000000 -6 -s mh -b mh-port
-a -f 3000000000 -6 -r [2001:db8:1::20]:0 -m -w 1 -x 10
-A -t 198.18.0.100:0 -s wlc -p 360
-a -t 198.18.0.100:0 -r 198.18.1.10:0 -g -w 1
-A -t 198.18.0.100:80 -s rr -p 300 -M 255.255.255.0
-a -t 198.18.0.100:80 -r 198.18.1.10:8080 -m -w 0
-a -t 198.18.0.100:80 -r 198.18.1.20:80 -m -w 1
-a -t 198.18.0.100:80 -r 198.18.7.30:80 -i -w 1 --tun-type ipip
-a -t 198.18.0.100:80 -r 198.18.8.40:80 --fullnat -w 5
-A -u 198.18.0.100:53 -s wrr -o
-a -u 198.18.0.100:53 -r 198.18.1.10:5353 -m -w 3 -x 100 -y 50
-A -t [2001:db8::100]:443 -s lc -p 60 -M 64
-a -t [2001:db8::100]:443 -r [2001:db8:1::10]:443 -g -w 1
-A -f 1 -s rr
-A -f 66 -s sh -b sh-fallback,sh-port
-a -f 66 -r 198.18.1.11:0 -g -w 2
-a -f 66 -r 198.18.1.12:0 -g -w 1
";

fn base() -> Config {
    parse(BASE).unwrap()
}

fn table() -> Config {
    parse(&format!("{BASE}{TABLE}")).unwrap()
}

/// Applies every command of `text` to `cfg`.
fn restored(mut cfg: Config, text: &str) -> Config {
    for c in restore(text).unwrap() {
        apply(&mut cfg, &c).unwrap_or_else(|e| panic!("{c:?}: {e}"));
    }
    cfg
}

#[test]
fn save_prints_ipvsadms_rules_byte_for_byte() {
    assert_eq!(save(&table(), true), SAVED);
}

#[test]
fn save_sorts_as_ipvsadm_whatever_the_table_order() {
    // The same services and real servers, in another order.
    let mut c = table();
    c.services.reverse();
    for s in &mut c.services {
        s.real_servers.reverse();
    }
    assert_eq!(save(&c, true), SAVED);
    // save_in_config_order keeps the table's order.
    let own = save_in_config_order(&c, true);
    assert!(
        own.starts_with(
            "-A -f 66 -s sh -b sh-fallback,sh-port\n-a -f 66 -r 198.18.1.12:0 -g -w 1\n"
        ),
        "{own}"
    );
    assert_ne!(own, SAVED);
}

#[test]
fn save_restore_apply_rebuilds_the_same_table() {
    let c = table();
    // The table is in ipvsadm's order, so -S then -R on an empty director gives it back.
    assert_eq!(restored(base(), &save(&c, true)), c);
    // In any order, with save_in_config_order.
    let mut shuffled = table();
    shuffled.services.rotate_left(3);
    shuffled.services[1].real_servers.reverse();
    assert_eq!(
        restored(base(), &save_in_config_order(&shuffled, true)),
        shuffled
    );
    // And through TOML.
    assert_eq!(parse(&to_toml(&c)).unwrap(), c);
}

#[test]
fn save_of_an_empty_table_is_empty() {
    assert_eq!(save(&base(), true), "");
    assert_eq!(save(&base(), false), "");
}

// ---------------------------------------------------------------- -R

#[test]
fn restore_skips_blank_and_comment_lines_and_the_word_ipvsadm() {
    let text = "\n# saved by ipvsadm-save\n  \nipvsadm -A -t 10.0.0.1:80 -s rr\n\t-a -t 10.0.0.1:80 -r 10.0.1.1 -m\r\n  # done\n";
    assert_eq!(
        restore(text).unwrap(),
        [
            Command::AddService(spec(tcp("10.0.0.1:80"), "rr")),
            Command::AddServer(server(tcp("10.0.0.1:80"), "10.0.1.1:80", Method::Nat)),
        ]
    );
}

#[test]
fn restore_names_the_line() {
    let text = "-A -t 10.0.0.1:80 -s rr\n\n-a -t 10.0.0.1:80 -r 10.0.1.1 -w 70000\n";
    let e = restore(text).unwrap_err();
    assert_eq!(e.to_string(), "line 3: illegal weight specified");
    assert_eq!(e.exit_code(), 2);
    let e = restore("-A -t 10.0.0.1:80\n-R\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: Try `ipvsadm -h' or 'ipvsadm --help' for more information."
    );
}

// ---------------------------------------------------------------- apply

#[track_caller]
fn apply_line(cfg: &mut Config, line: &str) -> Result<(), IpvsadmError> {
    apply(cfg, &cmd(line))
}

#[track_caller]
fn kernel_says(cfg: &mut Config, line: &str, message: &str) {
    let before = cfg.clone();
    match apply_line(cfg, line) {
        Err(e) => {
            assert_eq!(e.to_string(), message, "for {line}");
            assert_eq!(e.exit_code(), 255);
        }
        Ok(()) => panic!("{line}: expected {message:?}"),
    }
    assert_eq!(*cfg, before, "a refused command changes nothing");
}

#[test]
fn apply_builds_the_table_in_order() {
    let mut c = base();
    apply_line(&mut c, "-A -t 198.18.0.100:80 -s rr").unwrap();
    apply_line(&mut c, "-a -t 198.18.0.100:80 -r 198.18.1.20 -m").unwrap();
    apply_line(&mut c, "-a -t 198.18.0.100:80 -r 198.18.1.10 -m -w 2").unwrap();
    let s = &c.services[0];
    assert_eq!(s.key, tcp("198.18.0.100:80"));
    assert_eq!(s.scheduler, "rr");
    // Appended in the order of -a.
    let got: Vec<(SocketAddr, u32)> = s
        .real_servers
        .iter()
        .map(|r| (r.address, r.weight))
        .collect();
    assert_eq!(got, [(sa("198.18.1.20:80"), 1), (sa("198.18.1.10:80"), 2)]);
    apply_line(&mut c, "-d -t 198.18.0.100:80 -r 198.18.1.20").unwrap();
    assert_eq!(c.services[0].real_servers.len(), 1);
    apply_line(&mut c, "-A -u 198.18.0.100:53").unwrap();
    apply_line(&mut c, "-D -t 198.18.0.100:80").unwrap();
    assert_eq!(c.services.len(), 1);
    assert_eq!(c.services[0].key, udp("198.18.0.100:53"));
    assert_eq!(c.services[0].scheduler, "wlc");
    apply_line(&mut c, "-C").unwrap();
    assert!(c.services.is_empty());
}

#[test]
fn apply_refuses_as_the_kernel_does() {
    let mut c = base();
    apply_line(&mut c, "-A -t 198.18.0.100:80 -s rr").unwrap();
    apply_line(&mut c, "-a -t 198.18.0.100:80 -r 198.18.1.10 -m").unwrap();
    kernel_says(
        &mut c,
        "-A -t 198.18.0.100:80 -s wlc",
        "Service already exists",
    );
    kernel_says(&mut c, "-E -t 198.18.0.101:80 -s rr", "No such service");
    kernel_says(&mut c, "-D -t 198.18.0.101:80", "No such service");
    kernel_says(&mut c, "-D -u 198.18.0.100:80", "No such service");
    kernel_says(&mut c, "-Z -t 198.18.0.101:80", "No such service");
    kernel_says(
        &mut c,
        "-A -t 198.18.0.101:80 -s roundrobin",
        "Scheduler or persistence engine not found",
    );
    kernel_says(
        &mut c,
        "-E -t 198.18.0.100:80 -s roundrobin",
        "Scheduler or persistence engine not found",
    );
    kernel_says(
        &mut c,
        "-a -t 198.18.0.101:80 -r 198.18.1.10 -m",
        "Service not defined",
    );
    kernel_says(
        &mut c,
        "-e -t 198.18.0.101:80 -r 198.18.1.10 -m",
        "Service not defined",
    );
    kernel_says(
        &mut c,
        "-d -t 198.18.0.101:80 -r 198.18.1.10",
        "Service not defined",
    );
    kernel_says(
        &mut c,
        "-a -t 198.18.0.100:80 -r 198.18.1.10 -m -w 5",
        "Destination already exists",
    );
    kernel_says(
        &mut c,
        "-e -t 198.18.0.100:80 -r 198.18.1.11 -m",
        "No such destination",
    );
    kernel_says(
        &mut c,
        "-d -t 198.18.0.100:80 -r 198.18.1.10:8080",
        "No such destination",
    );
    // ip_vs_add_dest: "lower threshold is higher than upper threshold", -ERANGE.
    kernel_says(
        &mut c,
        "-a -t 198.18.0.100:80 -r 198.18.1.11 -m -x 10 -y 11",
        "Numerical result out of range",
    );
    kernel_says(
        &mut c,
        "-e -t 198.18.0.100:80 -r 198.18.1.10 -m -y 1",
        "Numerical result out of range",
    );
    apply_line(&mut c, "-Z -t 198.18.0.100:80").unwrap();
    apply_line(&mut c, "-Z").unwrap();
}

#[test]
fn apply_keeps_the_table_a_valid_configuration() {
    let mut c = base();
    kernel_says(
        &mut c,
        "-A -t 198.18.1.1:80 -s rr",
        "services[0].address: VIP 198.18.1.1 is the director's own address on port \"inside\" (ports[1].addresses[0]); a VIP must be an address of its own",
    );
    kernel_says(
        &mut c,
        "-A -f 2 -s rr",
        "services[0].fwmark: mark 2 is given by no [[fwmark]] rule, so no packet would reach this service; add a [[fwmark]] table with mark = 2",
    );
    apply_line(&mut c, "-A -t 198.18.0.100:80 -s rr").unwrap();
    kernel_says(
        &mut c,
        "-a -t 198.18.0.100:80 -r 203.0.113.7",
        "services[0].real_servers[0].address: method \"dr\" needs the real server on a segment the director is attached to, but 203.0.113.7 is inside no port address prefix and no route without `via`; use method \"tun\" or \"fullnat\" for a real server behind a router",
    );
    kernel_says(
        &mut c,
        "-a -t 198.18.0.100:80 -r 2001:db8:1::10 -i",
        "services[0].real_servers[0].address: 2001:db8:1::10 is IPv6 but the service is IPv4: method \"tun\" forwards the client's packet, which keeps its family; rvs tunnels IPv4 in IPv4 (RFC 2003) and IPv6 in IPv6 (RFC 2473) only",
    );
    kernel_says(
        &mut c,
        "-a -r 198.18.1.10 -t 198.18.0.100:80 -m",
        "services[0].real_servers[0].address: port 0 is not a real server port; leave the port out to use the service's port 80",
    );
    // Scheduler flags of other schedulers than sh and mh.
    let e = apply_line(&mut c, "-A -t 198.18.0.101:80 -s rr -b flag-1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "scheduler flags (flag-1, flag-2) mean something only to sh and mh in rvs, not to rr"
    );
    // flag-1 and flag-2 are sh-fallback and sh-port for sh (IP_VS_SVC_F_SCHED1/2).
    apply_line(&mut c, "-A -t 198.18.0.101:80 -s sh -b flag-2").unwrap();
    assert_eq!(
        c.services[1].sched_flags,
        SchedFlags {
            fallback: false,
            port: true
        }
    );
}

#[test]
fn edit_replaces_every_option_as_ipvsadm_sends_them() {
    let mut c = base();
    apply_line(
        &mut c,
        "-A -u 198.18.0.100:53 -s sh -p 600 -M 255.255.0.0 -o -b sh-port",
    )
    .unwrap();
    apply_line(
        &mut c,
        "-a -u 198.18.0.100:53 -r 198.18.1.10 -m -w 7 -x 20 -y 10",
    )
    .unwrap();
    let s = &c.services[0];
    assert_eq!(
        (
            s.persistence,
            s.persistence_prefix_len,
            s.one_packet,
            s.sched_flags.port
        ),
        (600, 16, true, true)
    );
    // -E with only -s: persistence, netmask, -o and flags go back to their defaults.
    apply_line(&mut c, "-E -u 198.18.0.100:53 -s rr").unwrap();
    let s = &c.services[0];
    assert_eq!(s.scheduler, "rr");
    assert_eq!(
        (
            s.persistence,
            s.persistence_prefix_len,
            s.one_packet,
            s.sched_flags
        ),
        (0, 32, false, SchedFlags::default())
    );
    assert_eq!(s.real_servers.len(), 1, "the real servers stay");
    // -e with only -w: the method goes back to -g (DR) and the thresholds to 0.
    apply_line(&mut c, "-e -u 198.18.0.100:53 -r 198.18.1.10 -w 3").unwrap();
    let r = &c.services[0].real_servers[0];
    assert_eq!(
        (r.method, r.weight, r.upper_threshold, r.lower_threshold),
        (Method::Dr, 3, 0, 0)
    );
    // A netmask without persistence is kept at the default (the kernel ignores it).
    apply_line(&mut c, "-E -u 198.18.0.100:53 -s rr -M 255.255.255.0").unwrap();
    assert_eq!(c.services[0].persistence_prefix_len, 32);
}

#[test]
fn edit_keeps_rvs_only_settings() {
    let mut c = parse(&format!(
        "{BASE}[[services]]\nprotocol = \"tcp\"\naddress = \"198.18.0.100:80\"\nfullnat_local_addresses = [\"198.18.1.4\"]\n[services.health_check]\nkind = \"http\"\n"
    ))
    .unwrap();
    let before = c.services[0].clone();
    apply_line(&mut c, "-E -t 198.18.0.100:80 -s rr").unwrap();
    assert_eq!(c.services[0].health_check, before.health_check);
    assert_eq!(
        c.services[0].fullnat_local_addresses,
        before.fullnat_local_addresses
    );
}

#[test]
fn set_timeouts_leaves_zeros_unchanged() {
    let mut c = base();
    apply_line(&mut c, "--set 100 0 50").unwrap();
    assert_eq!(
        (c.timeouts.tcp, c.timeouts.tcpfin, c.timeouts.udp),
        (100, 120, 50)
    );
    apply_line(&mut c, "--set 0 0 0").unwrap();
    assert_eq!(
        (c.timeouts.tcp, c.timeouts.tcpfin, c.timeouts.udp),
        (100, 120, 50)
    );
}

#[test]
fn commands_that_change_nothing() {
    let mut c = table();
    let before = c.clone();
    for line in [
        "-L -n",
        "-S -n",
        "-R",
        "-h",
        "-v",
        "-Z",
        "-L -t 198.18.9.9:80",
    ] {
        apply_line(&mut c, line).unwrap();
    }
    assert_eq!(c, before);
}

// ---------------------------------------------------------------- rules files

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rvs-config-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn load_reads_ipvsadm_rules_relative_to_the_config() {
    let dir = temp_dir("rules");
    std::fs::write(dir.join("ipvsadm.rules"), SAVED).unwrap();
    std::fs::write(
        dir.join("rvsd.toml"),
        format!("ipvsadm_rules = \"ipvsadm.rules\"\n{BASE}"),
    )
    .unwrap();
    let got = load(&dir.join("rvsd.toml"));
    // A rules file that the table refuses: the key, the file and the line.
    std::fs::write(
        dir.join("bad.rules"),
        "-A -t 198.18.0.100:80 -s rr\n# twice\n-A -t 198.18.0.100:80 -s rr\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("bad.toml"),
        format!("ipvsadm_rules = \"bad.rules\"\n{BASE}"),
    )
    .unwrap();
    let bad = load(&dir.join("bad.toml"));
    std::fs::write(
        dir.join("missing.toml"),
        format!("ipvsadm_rules = \"nope.rules\"\n{BASE}"),
    )
    .unwrap();
    let missing = load(&dir.join("missing.toml"));
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(got.unwrap(), table());
    match bad {
        Err(ConfigError::Invalid { key, problem }) => {
            assert_eq!(key, "ipvsadm_rules");
            assert_eq!(
                problem,
                format!(
                    "{} line 3: Service already exists",
                    dir.join("bad.rules").display()
                )
            );
        }
        other => panic!("{other:?}"),
    }
    match missing {
        Err(ConfigError::Invalid { key, problem }) => {
            assert_eq!(key, "ipvsadm_rules");
            assert!(problem.starts_with("cannot read "), "{problem}");
            assert!(problem.contains("nope.rules"), "{problem}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn load_rules_changes_nothing_when_a_line_is_refused() {
    let dir = temp_dir("rules-atomic");
    let path = dir.join("r");
    std::fs::write(
        &path,
        "-A -t 198.18.0.100:80 -s rr\n-a -t 198.18.0.100:80 -r 203.0.113.7 -g\n",
    )
    .unwrap();
    let mut c = base();
    let e = load_rules(&mut c, &path).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        e.to_string().ends_with(" line 2: services[0].real_servers[0].address: method \"dr\" needs the real server on a segment the director is attached to, but 203.0.113.7 is inside no port address prefix and no route without `via`; use method \"tun\" or \"fullnat\" for a real server behind a router"),
        "{e}"
    );
    assert_eq!(e.exit_code(), 255);
    assert_eq!(c, base());
}
