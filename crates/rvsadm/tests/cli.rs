//! rvsadm end to end: the real binary against mock rvsd handlers served by
//! `rvs_control::server::serve` on a temporary socket.
//!
//! The golden outputs are ipvsadm 1.31's printf formats (ipvsadm.c) applied to the table of
//! [`golden_table`], byte for byte:
//! - `list_all`: `"IP Virtual Server version %d.%d.%d (size=%d)\n"`;
//! - `print_title`: `"Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port
//!   Forward Weight ActiveConn InActConn\n"`, with `--stats`/`--rate`
//!   `"%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n"`, with `--thresholds`
//!   `"%-33s %-10s %-10s %-10s %-10s\n…"`, with `--persistent-conn` `"%-33s %-9s %-11s %-10s
//!   %-10s\n…"`, with `--tun-info` the TunnelInfo variant;
//! - `print_service_entry`: service `"%-4s %s"` (cut at 33 for IPv4) or `"FWM  %d"` /
//!   `"FWM  %d IPv6"`, then `"%s %s"` + `" (%s)"` flags + `" persistent %u"` + `" mask %s"`
//!   (IPv4, inet_ntoa) / `" mask %i"` (IPv6) + `" ops"`; with `--stats`/`--rate` `"%-33s"` and
//!   `print_largenum` per counter; real servers `"  -> %-28s %-7s %-6d %-10u %-10u\n"`,
//!   `"  -> %-28s"` + `print_largenum` (stats), `"  -> %-28s %8llu %8llu %8llu"` +
//!   `print_largenum` × 2 (rate), `"  -> %-28s %-10u %-10u %-10u %-10u\n"` (thresholds),
//!   `"  -> %-28s %-9u %-11u %-10u %-10u\n"` (persistent-conn),
//!   `"  -> %-28s %-7s %-13s %-6d %-10u %-10u\n"` (tun-info);
//! - `print_largenum`: `"%9llu"` below 1e8, `"%8lluK"` below 1e9, `"%8lluM"` below 1e11,
//!   `"%8lluG"` below 1e14, `"%8lluT"`; with `--exact` `"%*llu"` of width max(9, digits + 1);
//! - `list_conn`: `"IPVS connection entries\n"`, `"pro expire %-11s %-18s %-18s %s\n"` (with
//!   `--persistent-conn` `"pro expire %-11s %-18s %-18s %-18s %-16s %s\n"`), and per entry
//!   `"%-3s %-6s %-11s %-18s %-18s %s\n"` with the expiry `"%02d:%02d"`;
//! - `list_timeout`: `"Timeout (tcp tcpfin udp): %d %d %d\n"`;
//! - sorting by libipvs `ipvs_cmp_services` (fwmark, family, protocol, address, port) and
//!   `ipvs_cmp_dests` (address, port) unless `--nosort`.
//!
//! They were produced by a throw-away C program calling printf with exactly those formats on
//! the same data (not kept: it is ipvsadm's code), then pasted here.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rvs_config::{Config, Method, SchedFlags, ServiceKey};
use rvs_control::protocol::{
    ConnEntry, ControlError, Rates, RealServerEntry, ServiceEntry, Stats, Table, Timeouts,
};
use rvs_control::server::{serve, Handler};

// ---------------------------------------------------------------- the golden table

fn stats(v: [u64; 5]) -> Stats {
    Stats {
        conns: v[0],
        inpkts: v[1],
        outpkts: v[2],
        inbytes: v[3],
        outbytes: v[4],
    }
}

fn rates(v: [u64; 5]) -> Rates {
    Rates {
        cps: v[0],
        inpps: v[1],
        outpps: v[2],
        inbps: v[3],
        outbps: v[4],
    }
}

/// (address, method, weight, upper, lower, active, inactive, persistent, stats, rates)
type Rs = (
    &'static str,
    Method,
    u32,
    u32,
    u32,
    u32,
    u32,
    u32,
    [u64; 5],
    [u64; 5],
);

fn rs(r: Rs) -> RealServerEntry {
    RealServerEntry {
        address: r.0.parse().unwrap(),
        method: r.1,
        weight: r.2,
        upper_threshold: r.3,
        lower_threshold: r.4,
        active_connections: r.5,
        inactive_connections: r.6,
        persistent_connections: r.7,
        stats: stats(r.8),
        rates: rates(r.9),
        health: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn svc(
    key: ServiceKey,
    scheduler: &str,
    flags: (bool, bool),
    persistence: u32,
    prefix: u8,
    ops: bool,
    st: [u64; 5],
    rt: [u64; 5],
    servers: Vec<Rs>,
) -> ServiceEntry {
    ServiceEntry {
        key,
        scheduler: scheduler.into(),
        sched_flags: SchedFlags {
            fallback: flags.0,
            port: flags.1,
        },
        persistence,
        persistence_prefix_len: prefix,
        one_packet: ops,
        stats: stats(st),
        rates: rates(rt),
        real_servers: servers.into_iter().map(rs).collect(),
    }
}

/// Services and real servers in "kernel" order (what `--nosort` prints), deliberately not
/// sorted.
fn golden_table() -> Table {
    use Method::*;
    let z = [0; 5];
    Table {
        services: vec![
            svc(
                ServiceKey::Fwmark {
                    mark: 66,
                    ipv6: false,
                },
                "mh",
                (false, true),
                360,
                32,
                false,
                [10, 20, 0, 1200, 0],
                [1, 2, 0, 150, 0],
                vec![(
                    "198.18.1.30:0",
                    Dr,
                    1,
                    0,
                    0,
                    2,
                    1,
                    4,
                    [10, 20, 0, 1200, 0],
                    [1, 2, 0, 150, 0],
                )],
            ),
            svc(
                ServiceKey::Tcp("198.18.0.100:80".parse().unwrap()),
                "wlc",
                (false, false),
                0,
                32,
                false,
                [
                    123456789,
                    987654321,
                    5_000_000_000,
                    98_765_432_109,
                    123_456_789_012_345,
                ],
                [250, 12000, 11000, 1_500_000, 150_000_000],
                vec![
                    (
                        "198.18.1.11:80",
                        Nat,
                        2,
                        0,
                        0,
                        5,
                        3,
                        0,
                        [23456789, 100, 200, 300, 400],
                        [50, 4000, 3000, 500_000, 99_999_999],
                    ),
                    (
                        "198.18.1.10:80",
                        Nat,
                        1,
                        0,
                        0,
                        12,
                        40,
                        0,
                        [100_000_000, 600, 500, 36000, 7_000_000],
                        [200, 8000, 8000, 1_000_000, 100_000_001],
                    ),
                ],
            ),
            svc(
                ServiceKey::Udp("198.18.0.100:53".parse().unwrap()),
                "rr",
                (false, false),
                0,
                32,
                true,
                [3, 3, 3, 180, 300],
                z,
                vec![(
                    "198.18.1.10:53",
                    Dr,
                    1,
                    0,
                    0,
                    0,
                    3,
                    0,
                    [3, 3, 3, 180, 300],
                    z,
                )],
            ),
            svc(
                ServiceKey::Tcp("198.18.0.101:443".parse().unwrap()),
                "sh",
                (true, true),
                300,
                24,
                false,
                [7, 70, 0, 7000, 0],
                z,
                vec![(
                    "198.18.2.20:443",
                    Tun,
                    3,
                    1000,
                    800,
                    7,
                    0,
                    2,
                    [7, 70, 0, 7000, 0],
                    z,
                )],
            ),
            svc(
                ServiceKey::Tcp("[2001:db8::100]:80".parse().unwrap()),
                "lc",
                (false, false),
                60,
                64,
                false,
                [2, 20, 18, 2000, 30000],
                [1, 5, 4, 500, 7500],
                vec![
                    (
                        "[2001:db8::10]:8080",
                        FullNat,
                        5,
                        0,
                        0,
                        1,
                        2,
                        1,
                        [2, 20, 18, 2000, 30000],
                        [1, 5, 4, 500, 7500],
                    ),
                    ("[2001:db8::9]:8080", FullNat, 0, 0, 0, 0, 0, 0, z, z),
                ],
            ),
            svc(
                ServiceKey::Fwmark {
                    mark: 7,
                    ipv6: true,
                },
                "rr",
                (false, false),
                0,
                128,
                false,
                z,
                z,
                vec![],
            ),
        ],
    }
}

fn conn(p: &str, state: &str, expires: u32, s: &str, v: &str, d: &str) -> ConnEntry {
    ConnEntry {
        protocol: p.into(),
        state: state.into(),
        expires,
        source: s.parse().unwrap(),
        virtual_address: v.parse().unwrap(),
        destination: d.parse().unwrap(),
        local: None,
        worker: 0,
    }
}

fn golden_conns() -> Vec<ConnEntry> {
    vec![
        conn(
            "TCP",
            "ESTABLISHED",
            899,
            "10.1.0.5:40000",
            "198.18.0.100:80",
            "198.18.1.10:80",
        ),
        conn(
            "TCP",
            "SYN_RECV",
            59,
            "10.1.0.6:40001",
            "198.18.0.100:80",
            "198.18.1.11:80",
        ),
        conn(
            "UDP",
            "UDP",
            299,
            "10.1.0.7:5353",
            "198.18.0.100:53",
            "198.18.1.10:53",
        ),
        conn(
            "TCP",
            "FIN_WAIT",
            119,
            "[2001:db8:1::5]:40000",
            "[2001:db8::100]:80",
            "[2001:db8::10]:8080",
        ),
        // A persistence template of the fwmark service: protocol IP, VIP = the mark.
        conn(
            "IP",
            "NONE",
            6000,
            "10.1.0.5:0",
            "0.0.0.66:0",
            "198.18.1.30:0",
        ),
    ]
}

/// `-S -n` of the golden table: ipvsadm's `FMT_RULE` lines (`"-A %s -s %s"`, `" -p %u"`,
/// `" -M %s"`, `" -o"`, `" -b "` flags; `"-a %s -r %s %s -w %d"`, `" --tun-type %s"` after a
/// tunnel), sorted, plus rvs's ` -x`/` -y` thresholds and `--fullnat`.
const GOLDEN_SAVE: &str = concat!(
    "-A -t 198.18.0.100:80 -s wlc\n",
    "-a -t 198.18.0.100:80 -r 198.18.1.10:80 -m -w 1\n",
    "-a -t 198.18.0.100:80 -r 198.18.1.11:80 -m -w 2\n",
    "-A -t 198.18.0.101:443 -s sh -p 300 -M 255.255.255.0 -b sh-fallback,sh-port\n",
    "-a -t 198.18.0.101:443 -r 198.18.2.20:443 -i -w 3 --tun-type ipip -x 1000 -y 800\n",
    "-A -u 198.18.0.100:53 -s rr -o\n",
    "-a -u 198.18.0.100:53 -r 198.18.1.10:53 -g -w 1\n",
    "-A -t [2001:db8::100]:80 -s lc -p 60 -M 64\n",
    "-a -t [2001:db8::100]:80 -r [2001:db8::9]:8080 --fullnat -w 0\n",
    "-a -t [2001:db8::100]:80 -r [2001:db8::10]:8080 --fullnat -w 5\n",
    "-A -f 7 -6 -s rr\n",
    "-A -f 66 -s mh -p 360 -b mh-port\n",
    "-a -f 66 -r 198.18.1.30:0 -g -w 1\n",
);

// ---------------------------------------------------------------- mock rvsd

/// Serves a fixed table; records changes.
struct StaticMock {
    table: Table,
    applied: Mutex<Vec<Vec<String>>>,
    zeroed: Mutex<Vec<Option<ServiceKey>>>,
    reloads: Mutex<u32>,
}

impl StaticMock {
    fn new() -> StaticMock {
        StaticMock {
            table: golden_table(),
            applied: Mutex::new(Vec::new()),
            zeroed: Mutex::new(Vec::new()),
            reloads: Mutex::new(0),
        }
    }
}

impl Handler for StaticMock {
    fn apply(&self, args: &[String]) -> Result<(), ControlError> {
        rvs_config::ipvsadm::parse_args(args)?;
        self.applied.lock().unwrap().push(args.to_vec());
        Ok(())
    }
    fn reload(&self) -> Result<(), ControlError> {
        let mut n = self.reloads.lock().unwrap();
        *n += 1;
        if *n > 1 {
            // The second reload finds a bad file.
            return Err(ControlError {
                message:
                    "rvsd.toml: services[0].real_servers[0].weight: 70000 is out of range 0..=65535"
                        .into(),
                exit_code: 1,
            });
        }
        Ok(())
    }
    fn table(&self) -> Table {
        self.table.clone()
    }
    fn connections(&self) -> Vec<ConnEntry> {
        golden_conns()
    }
    fn timeouts(&self) -> Timeouts {
        Timeouts {
            tcp: 900,
            tcpfin: 120,
            udp: 300,
        }
    }
    fn zero(&self, svc: Option<ServiceKey>) -> Result<(), ControlError> {
        if let Some(k) = svc {
            if !self.table.services.iter().any(|s| s.key == k) {
                return Err(ControlError::new("No such service"));
            }
        }
        self.zeroed.lock().unwrap().push(svc);
        Ok(())
    }
    fn save_toml(&self) -> String {
        "# the running table\nworkers = 1\n".into()
    }
}

/// A table kept as a `Config` and changed with `rvs_control::apply_args`, as rvsd does.
struct ConfigMock {
    cfg: Mutex<Config>,
}

/// Director addresses on every subnet the golden table uses, FullNAT LIPs, and the fwmark
/// rules its firewall-mark services need.
const BASE_CONFIG: &str = r#"
[[ports]]
name = "outside"
device = "net_null0"
addresses = ["198.18.0.1/24", "2001:db8:1::1/64"]

[[ports]]
name = "inside"
device = "net_null1"
addresses = ["198.18.1.1/24", "198.18.2.1/24", "2001:db8::1/64"]
local_addresses = ["198.18.1.2", "2001:db8::2"]

[[fwmark]]
mark = 66
destinations = ["198.18.0.200/32"]

[[fwmark]]
mark = 7
destinations = ["2001:db8::200/128"]
"#;

impl ConfigMock {
    fn new() -> ConfigMock {
        ConfigMock {
            cfg: Mutex::new(rvs_config::parse(BASE_CONFIG).unwrap()),
        }
    }
}

impl Handler for ConfigMock {
    fn apply(&self, args: &[String]) -> Result<(), ControlError> {
        rvs_control::apply_args(&mut self.cfg.lock().unwrap(), args).map(|_| ())
    }
    fn reload(&self) -> Result<(), ControlError> {
        Ok(())
    }
    fn table(&self) -> Table {
        let cfg = self.cfg.lock().unwrap();
        Table {
            services: cfg
                .services
                .iter()
                .map(|s| ServiceEntry {
                    key: s.key,
                    scheduler: s.scheduler.clone(),
                    sched_flags: s.sched_flags,
                    persistence: s.persistence,
                    persistence_prefix_len: s.persistence_prefix_len,
                    one_packet: s.one_packet,
                    stats: Stats::default(),
                    rates: Rates::default(),
                    // The kernel lists the most recently added real server first.
                    real_servers: s
                        .real_servers
                        .iter()
                        .rev()
                        .map(|r| RealServerEntry {
                            address: r.address,
                            method: r.method,
                            weight: r.weight,
                            upper_threshold: r.upper_threshold,
                            lower_threshold: r.lower_threshold,
                            active_connections: 0,
                            inactive_connections: 0,
                            persistent_connections: 0,
                            stats: Stats::default(),
                            rates: Rates::default(),
                            health: None,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
    fn connections(&self) -> Vec<ConnEntry> {
        Vec::new()
    }
    fn timeouts(&self) -> Timeouts {
        self.cfg.lock().unwrap().timeouts.into()
    }
    fn zero(&self, svc: Option<ServiceKey>) -> Result<(), ControlError> {
        rvs_config::ipvsadm::apply(
            &mut self.cfg.lock().unwrap(),
            &rvs_config::ipvsadm::Command::Zero(svc),
        )
        .map_err(ControlError::from)
    }
    fn save_toml(&self) -> String {
        rvs_config::to_toml(&self.cfg.lock().unwrap())
    }
}

/// A mock rvsd on a temporary socket, stopped when dropped.
struct Rvsd {
    dir: PathBuf,
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Rvsd {
    fn start(name: &str, handler: Arc<dyn Handler>) -> Rvsd {
        Rvsd::start_with_mode(name, handler, 0o600)
    }

    fn start_with_mode(name: &str, handler: Arc<dyn Handler>, mode: u32) -> Rvsd {
        let dir = std::env::temp_dir().join(format!("rvsadm-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rvsd.sock");
        let stop = Arc::new(AtomicBool::new(false));
        let thread = serve(&path, mode, handler, stop.clone()).unwrap();
        Rvsd {
            dir,
            path,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Rvsd {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Out {
    status: i32,
    stdout: String,
    stderr: String,
}

fn rvsadm_cmd(socket: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rvsadm"));
    c.arg("--socket")
        .arg(socket)
        .args(args)
        .env_remove("RVS_SOCKET");
    c
}

fn run_cmd(mut c: Command, stdin: &str) -> Out {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    Out {
        status: o.status.code().unwrap(),
        stdout: String::from_utf8(o.stdout).unwrap(),
        stderr: String::from_utf8(o.stderr).unwrap(),
    }
}

fn rvsadm(socket: &Path, args: &[&str]) -> Out {
    run_cmd(rvsadm_cmd(socket, args), "")
}

fn rvsadm_in(socket: &Path, args: &[&str], stdin: &str) -> Out {
    run_cmd(rvsadm_cmd(socket, args), stdin)
}

/// Runs rvsadm, expecting success and no error output; returns standard output.
fn ok(socket: &Path, args: &[&str]) -> String {
    let o = rvsadm(socket, args);
    assert_eq!(
        (o.status, o.stderr.as_str()),
        (0, ""),
        "rvsadm {args:?} failed: {}",
        o.stderr
    );
    o.stdout
}

// ---------------------------------------------------------------- listings

#[test]
fn listings_match_ipvsadm_byte_for_byte() {
    let d = Rvsd::start("goldens", Arc::new(StaticMock::new()));
    let s = &d.path;
    for (args, golden) in [
        (&["-L", "-n"][..], GOLDEN_LIST),
        (&["-ln"], GOLDEN_LIST),
        (&["-L", "-n", "--sort"], GOLDEN_LIST),
        (&["-L", "-n", "--stats"], GOLDEN_STATS),
        (&["-L", "-n", "--stats", "--exact"], GOLDEN_STATS_EXACT),
        (&["-L", "-n", "--rate"], GOLDEN_RATE),
        (&["-L", "-n", "--rate", "--exact"], GOLDEN_RATE_EXACT),
        (&["-L", "-n", "--thresholds"], GOLDEN_THRESHOLDS),
        (&["-L", "-n", "--persistent-conn"], GOLDEN_PERSISTENT),
        (&["-L", "-n", "--tun-info"], GOLDEN_TUN),
        (&["-L", "-n", "--nosort"], GOLDEN_NOSORT),
        (&["-L", "-n", "-t", "198.18.0.100:80"], GOLDEN_SERVICE),
        (
            &["-L", "-n", "-t", "[2001:db8::100]:80", "--stats"],
            GOLDEN_SERVICE_STATS,
        ),
        (&["-L", "-n", "-c"], GOLDEN_CONN),
        (
            &["-L", "-n", "-c", "--persistent-conn"],
            GOLDEN_CONN_PERSISTENT,
        ),
        (&["-L", "--timeout"], GOLDEN_TIMEOUT),
        (&["-L", "--daemon"], ""),
        (&["-S", "-n"], GOLDEN_SAVE),
        (&["--save", "--numeric"], GOLDEN_SAVE),
    ] {
        assert_eq!(ok(s, args), golden, "rvsadm {args:?}");
    }
}

#[test]
fn socket_from_the_environment_and_errors_without_rvsd() {
    let d = Rvsd::start("env", Arc::new(StaticMock::new()));
    let mut c = Command::new(env!("CARGO_BIN_EXE_rvsadm"));
    c.args(["-L", "--timeout"]).env("RVS_SOCKET", &d.path);
    let o = run_cmd(c, "");
    assert_eq!((o.status, o.stdout.as_str()), (0, GOLDEN_TIMEOUT));

    let nowhere = d.dir.join("nothing.sock");
    let o = rvsadm(&nowhere, &["-L", "-n"]);
    assert_eq!(o.status, 2);
    assert!(
        o.stderr
            .starts_with(&format!("Can't connect to rvsd at {}: ", nowhere.display())),
        "{}",
        o.stderr
    );
    // --socket=PATH works too, and help and version need no rvsd.
    let mut c = Command::new(env!("CARGO_BIN_EXE_rvsadm"));
    c.arg(format!("--socket={}", d.path.display()))
        .args(["-L", "--timeout"]);
    assert_eq!(run_cmd(c, "").stdout, GOLDEN_TIMEOUT);
    let o = rvsadm(&nowhere, &["-h"]);
    assert_eq!(o.status, 0);
    assert!(o.stdout.contains("Usage:\n"));
    assert!(o.stdout.contains(" -L|l [virtual-service] [options]\n"));
    let o = rvsadm(&nowhere, &["-v"]);
    assert_eq!(o.status, 0);
    assert!(o.stdout.starts_with("rvsadm v"), "{}", o.stdout);
}

// ---------------------------------------------------------------- changes and errors

#[test]
fn changes_are_sent_as_typed_and_refusals_exit_like_ipvsadm() {
    let mock = Arc::new(StaticMock::new());
    let d = Rvsd::start("changes", mock.clone());
    let s = &d.path;
    let cmds: [&[&str]; 9] = [
        &["-A", "-t", "198.18.0.102:80", "-s", "rr"],
        &["-E", "-t", "198.18.0.102:80", "-s", "wrr", "-p", "60"],
        &[
            "-a",
            "-t",
            "198.18.0.102:80",
            "-r",
            "198.18.1.12",
            "-m",
            "-w",
            "3",
        ],
        &[
            "-e",
            "-t",
            "198.18.0.102:80",
            "-r",
            "198.18.1.12",
            "-m",
            "-w",
            "0",
        ],
        &[
            "-a",
            "-t",
            "198.18.0.102:80",
            "-r",
            "198.18.1.13",
            "--fullnat",
            "-x",
            "10",
            "-y",
            "5",
        ],
        &["-d", "-t", "198.18.0.102:80", "-r", "198.18.1.12"],
        &["-D", "-t", "198.18.0.102:80"],
        &["--set", "100", "20", "30"],
        &["-C"],
    ];
    for args in cmds {
        assert_eq!(ok(s, args), "", "{args:?}");
    }
    let applied = mock.applied.lock().unwrap().clone();
    let expected: Vec<Vec<String>> = cmds
        .iter()
        .map(|a| a.iter().map(|w| w.to_string()).collect())
        .collect();
    assert_eq!(applied, expected);

    // -Z of all and of one service, and of a missing one.
    assert_eq!(ok(s, &["-Z"]), "");
    assert_eq!(ok(s, &["-Z", "-f", "66"]), "");
    let o = rvsadm(s, &["-Z", "-t", "10.9.9.9:80"]);
    assert_eq!((o.status, o.stderr.as_str()), (255, "No such service\n"));
    assert_eq!(
        *mock.zeroed.lock().unwrap(),
        [
            None,
            Some(ServiceKey::Fwmark {
                mark: 66,
                ipv6: false
            })
        ]
    );

    // ipvsadm's own errors, found before rvsd is asked: fail(2, …) exits 2, popt 255.
    let o = rvsadm(
        s,
        &[
            "-a",
            "-t",
            "198.18.0.100:80",
            "-r",
            "198.18.1.12",
            "-w",
            "70000",
        ],
    );
    assert_eq!(
        (o.status, o.stderr.as_str()),
        (2, "illegal weight specified\n")
    );
    let o = rvsadm(s, &["-A", "-t", "198.18.0.100:0"]);
    assert_eq!(
        (o.status, o.stderr.as_str()),
        (2, "Zero port specified for non-persistent service\n")
    );
    let o = rvsadm(s, &["-L", "--bogus"]);
    assert_eq!(o.status, 255);
    assert_eq!(o.stderr, "--bogus: unknown option\n");
    let o = rvsadm(s, &["-n"]);
    assert_eq!(o.status, 255);
    assert!(o.stderr.starts_with("Try `"), "{}", o.stderr);
    assert!(
        o.stderr.ends_with(" -h' or '") || o.stderr.contains("--help' for more information.\n")
    );
    let o = rvsadm(s, &["-L", "-c", "--stats"]);
    assert_eq!(
        (o.status, o.stderr.as_str()),
        (2, "options conflicts in the list command\n")
    );
    // list_service of a missing service: "No such service", exit(1).
    let o = rvsadm(s, &["-L", "-n", "-t", "10.9.9.9:80"]);
    assert_eq!(
        (o.status, o.stdout.as_str(), o.stderr.as_str()),
        (1, "", "No such service\n")
    );
    assert_eq!(
        mock.applied.lock().unwrap().len(),
        9,
        "nothing more was applied"
    );
}

#[test]
fn reload_and_toml() {
    let mock = Arc::new(StaticMock::new());
    let d = Rvsd::start("reload", mock.clone());
    assert_eq!(ok(&d.path, &["--reload"]), "");
    let o = rvsadm(&d.path, &["--reload"]);
    assert_eq!(o.status, 1);
    assert_eq!(
        o.stderr,
        "rvsd.toml: services[0].real_servers[0].weight: 70000 is out of range 0..=65535\n"
    );
    assert_eq!(*mock.reloads.lock().unwrap(), 2);
    assert_eq!(
        ok(&d.path, &["--toml"]),
        "# the running table\nworkers = 1\n"
    );
    let o = rvsadm(&d.path, &["--reload", "-n"]);
    assert_eq!(
        (o.status, o.stderr.as_str()),
        (2, "--reload takes no other options\n")
    );
}

#[test]
fn restore_applies_each_line_and_goes_on_after_refusals() {
    let mock = Arc::new(ConfigMock::new());
    let d = Rvsd::start("restore", mock.clone());
    let rules = "# saved by ipvsadm\n\
                 -A -t 198.18.0.100:80 -s rr\n\
                 \n\
                 ipvsadm -a -t 198.18.0.100:80 -r 198.18.1.10:80 -m -w 1\n\
                 -A -t 198.18.0.100:80 -s rr\n\
                 -a -t 198.18.0.100:80 -r 198.18.1.11:80 -m -w 2\n";
    let o = rvsadm_in(&d.path, &["-R"], rules);
    // The duplicate -A is refused and reported; the lines after it are applied; the status
    // is the last line's.
    assert_eq!(
        (o.status, o.stderr.as_str()),
        (0, "Service already exists\n")
    );
    assert_eq!(
        ok(&d.path, &["-S", "-n"]),
        "-A -t 198.18.0.100:80 -s rr\n\
         -a -t 198.18.0.100:80 -r 198.18.1.10:80 -m -w 1\n\
         -a -t 198.18.0.100:80 -r 198.18.1.11:80 -m -w 2\n"
    );
    // A refusal on the last line makes the status 255.
    let o = rvsadm_in(&d.path, &["-R"], "-D -t 10.9.9.9:80\n");
    assert_eq!((o.status, o.stderr.as_str()), (255, "No such service\n"));
    // A usage error stops at once, as ipvsadm's fail() exits.
    let o = rvsadm_in(
        &d.path,
        &["-R"],
        "-a -t 198.18.0.100:80 -r 198.18.1.12 -w 70000\n-C\n",
    );
    assert_eq!(
        (o.status, o.stderr.as_str()),
        (2, "illegal weight specified\n")
    );
    assert_eq!(mock.cfg.lock().unwrap().services.len(), 1, "-C not reached");
    // -R inside -R is refused (restore_table's "avoid infinite loop").
    let o = rvsadm_in(&d.path, &["-R"], "-R\n");
    assert_eq!(o.status, 255);
    assert!(o.stderr.starts_with("Try `"));
}

#[test]
fn save_then_restore_reproduces_the_table() {
    // Build the golden table's rules on one rvsd from its -S text...
    let a = Rvsd::start("roundtrip-a", Arc::new(ConfigMock::new()));
    let o = rvsadm_in(&a.path, &["-R"], GOLDEN_SAVE);
    assert_eq!((o.status, o.stderr.as_str()), (0, ""));
    assert_eq!(ok(&a.path, &["-S", "-n"]), GOLDEN_SAVE);
    // ...and feed its -S to an empty one: the same table.
    let b_mock = Arc::new(ConfigMock::new());
    let b = Rvsd::start("roundtrip-b", b_mock.clone());
    let saved = ok(&a.path, &["-S", "-n"]);
    let o = rvsadm_in(&b.path, &["-R"], &saved);
    assert_eq!((o.status, o.stderr.as_str()), (0, ""));
    assert_eq!(ok(&b.path, &["-S", "-n"]), saved);
    assert_eq!(ok(&b.path, &["-L", "-n"]), ok(&a.path, &["-L", "-n"]));
    // The listing of the restored table has the golden layout (counters are zero here).
    let listing = ok(&b.path, &["-L", "-n", "--thresholds"]);
    assert!(listing.contains(
        "  -> 198.18.2.20:443              1000       800        0          0         \n"
    ));
    // Timeouts set with --set show in --timeout.
    assert_eq!(ok(&b.path, &["--set", "100", "0", "30"]), "");
    assert_eq!(
        ok(&b.path, &["-L", "--timeout"]),
        "Timeout (tcp tcpfin udp): 100 120 30\n"
    );
    // And -C empties it.
    assert_eq!(ok(&b.path, &["-C"]), "");
    assert_eq!(ok(&b.path, &["-S", "-n"]), "");
    assert_eq!(b_mock.cfg.lock().unwrap().services.len(), 0);
}

#[test]
fn other_users_are_refused() {
    // Needs root to run rvsadm as another user; the socket is world-writable so that only
    // the SO_PEERCRED check stands in the way.
    if !nix_is_root() {
        eprintln!("skipped: needs root to run rvsadm as another uid");
        return;
    }
    let d = Rvsd::start_with_mode("peer", Arc::new(StaticMock::new()), 0o666);
    // The directory must be reachable by the other user.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&d.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    use std::os::unix::process::CommandExt;
    // So must the binary: the build directory may sit under one only root can enter (a
    // checkout in a 0700 temporary directory), so run a copy from the socket's directory.
    let bin = d.dir.join("rvsadm");
    std::fs::copy(env!("CARGO_BIN_EXE_rvsadm"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = Command::new(&bin);
    c.arg("--socket")
        .arg(&d.path)
        .args(["-L", "-n"])
        .env_remove("RVS_SOCKET");
    c.uid(65534).gid(65534);
    let o = run_cmd(c, "");
    assert_eq!(o.status, 2, "{}", o.stderr);
    assert_eq!(
        o.stderr,
        "Permission denied: uid 65534 is neither the owner of rvsd's socket (uid 0) nor root\n"
    );
    assert_eq!(o.stdout, "");
    // Root itself is served.
    assert_eq!(ok(&d.path, &["-L", "--timeout"]), GOLDEN_TIMEOUT);
}

fn nix_is_root() -> bool {
    // The owner of a file we create is our effective uid.
    use std::os::unix::fs::MetadataExt;
    let p = std::env::temp_dir().join(format!("rvsadm-uid-{}", std::process::id()));
    std::fs::write(&p, "").unwrap();
    let uid = std::fs::metadata(&p).unwrap().uid();
    let _ = std::fs::remove_file(&p);
    uid == 0
}

// ---------------------------------------------------------------- goldens

const GOLDEN_LIST: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port Scheduler Flags\n",
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
    "TCP  198.18.0.100:80 wlc\n",
    "  -> 198.18.1.10:80               Masq    1      12         40        \n",
    "  -> 198.18.1.11:80               Masq    2      5          3         \n",
    "TCP  198.18.0.101:443 sh (sh-fallback,sh-port) persistent 300 mask 255.255.255.0\n",
    "  -> 198.18.2.20:443              Tunnel  3      7          0         \n",
    "UDP  198.18.0.100:53 rr ops\n",
    "  -> 198.18.1.10:53               Route   1      0          3         \n",
    "TCP  [2001:db8::100]:80 lc persistent 60 mask 64\n",
    "  -> [2001:db8::9]:8080           FullNat 0      0          0         \n",
    "  -> [2001:db8::10]:8080          FullNat 5      1          2         \n",
    "FWM  7 IPv6 rr\n",
    "FWM  66 mh (mh-port) persistent 360\n",
    "  -> 198.18.1.30:0                Route   1      2          1         \n",
);

const GOLDEN_STATS: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n",
    "  -> RemoteAddress:Port\n",
    "TCP  198.18.0.100:80               123456K  987654K    5000M   98765M     123T\n",
    "  -> 198.18.1.10:80                100000K      600      500    36000  7000000\n",
    "  -> 198.18.1.11:80               23456789      100      200      300      400\n",
    "TCP  198.18.0.101:443                    7       70        0     7000        0\n",
    "  -> 198.18.2.20:443                     7       70        0     7000        0\n",
    "UDP  198.18.0.100:53                     3        3        3      180      300\n",
    "  -> 198.18.1.10:53                      3        3        3      180      300\n",
    "TCP  [2001:db8::100]:80                  2       20       18     2000    30000\n",
    "  -> [2001:db8::9]:8080                  0        0        0        0        0\n",
    "  -> [2001:db8::10]:8080                 2       20       18     2000    30000\n",
    "FWM  7 IPv6                              0        0        0        0        0\n",
    "FWM  66                                 10       20        0     1200        0\n",
    "  -> 198.18.1.30:0                      10       20        0     1200        0\n",
);

const GOLDEN_STATS_EXACT: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n",
    "  -> RemoteAddress:Port\n",
    "TCP  198.18.0.100:80              123456789 987654321 5000000000 98765432109 123456789012345\n",
    "  -> 198.18.1.10:80               100000000      600      500    36000  7000000\n",
    "  -> 198.18.1.11:80               23456789      100      200      300      400\n",
    "TCP  198.18.0.101:443                    7       70        0     7000        0\n",
    "  -> 198.18.2.20:443                     7       70        0     7000        0\n",
    "UDP  198.18.0.100:53                     3        3        3      180      300\n",
    "  -> 198.18.1.10:53                      3        3        3      180      300\n",
    "TCP  [2001:db8::100]:80                  2       20       18     2000    30000\n",
    "  -> [2001:db8::9]:8080                  0        0        0        0        0\n",
    "  -> [2001:db8::10]:8080                 2       20       18     2000    30000\n",
    "FWM  7 IPv6                              0        0        0        0        0\n",
    "FWM  66                                 10       20        0     1200        0\n",
    "  -> 198.18.1.30:0                      10       20        0     1200        0\n",
);

const GOLDEN_RATE: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n",
    "  -> RemoteAddress:Port\n",
    "TCP  198.18.0.100:80                   250    12000    11000  1500000  150000K\n",
    "  -> 198.18.1.10:80                    200     8000     8000  1000000  100000K\n",
    "  -> 198.18.1.11:80                     50     4000     3000   500000 99999999\n",
    "TCP  198.18.0.101:443                    0        0        0        0        0\n",
    "  -> 198.18.2.20:443                     0        0        0        0        0\n",
    "UDP  198.18.0.100:53                     0        0        0        0        0\n",
    "  -> 198.18.1.10:53                      0        0        0        0        0\n",
    "TCP  [2001:db8::100]:80                  1        5        4      500     7500\n",
    "  -> [2001:db8::9]:8080                  0        0        0        0        0\n",
    "  -> [2001:db8::10]:8080                 1        5        4      500     7500\n",
    "FWM  7 IPv6                              0        0        0        0        0\n",
    "FWM  66                                  1        2        0      150        0\n",
    "  -> 198.18.1.30:0                       1        2        0      150        0\n",
);

const GOLDEN_RATE_EXACT: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n",
    "  -> RemoteAddress:Port\n",
    "TCP  198.18.0.100:80                   250    12000    11000  1500000 150000000\n",
    "  -> 198.18.1.10:80                    200     8000     8000  1000000 100000001\n",
    "  -> 198.18.1.11:80                     50     4000     3000   500000 99999999\n",
    "TCP  198.18.0.101:443                    0        0        0        0        0\n",
    "  -> 198.18.2.20:443                     0        0        0        0        0\n",
    "UDP  198.18.0.100:53                     0        0        0        0        0\n",
    "  -> 198.18.1.10:53                      0        0        0        0        0\n",
    "TCP  [2001:db8::100]:80                  1        5        4      500     7500\n",
    "  -> [2001:db8::9]:8080                  0        0        0        0        0\n",
    "  -> [2001:db8::10]:8080                 1        5        4      500     7500\n",
    "FWM  7 IPv6                              0        0        0        0        0\n",
    "FWM  66                                  1        2        0      150        0\n",
    "  -> 198.18.1.30:0                       1        2        0      150        0\n",
);

const GOLDEN_THRESHOLDS: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n",
    "  -> RemoteAddress:Port\n",
    "TCP  198.18.0.100:80 wlc\n",
    "  -> 198.18.1.10:80               0          0          12         40        \n",
    "  -> 198.18.1.11:80               0          0          5          3         \n",
    "TCP  198.18.0.101:443 sh (sh-fallback,sh-port) persistent 300 mask 255.255.255.0\n",
    "  -> 198.18.2.20:443              1000       800        7          0         \n",
    "UDP  198.18.0.100:53 rr ops\n",
    "  -> 198.18.1.10:53               0          0          0          3         \n",
    "TCP  [2001:db8::100]:80 lc persistent 60 mask 64\n",
    "  -> [2001:db8::9]:8080           0          0          0          0         \n",
    "  -> [2001:db8::10]:8080          0          0          1          2         \n",
    "FWM  7 IPv6 rr\n",
    "FWM  66 mh (mh-port) persistent 360\n",
    "  -> 198.18.1.30:0                0          0          2          1         \n",
);

const GOLDEN_PERSISTENT: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n",
    "  -> RemoteAddress:Port\n",
    "TCP  198.18.0.100:80 wlc\n",
    "  -> 198.18.1.10:80               1         0           12         40        \n",
    "  -> 198.18.1.11:80               2         0           5          3         \n",
    "TCP  198.18.0.101:443 sh (sh-fallback,sh-port) persistent 300 mask 255.255.255.0\n",
    "  -> 198.18.2.20:443              3         2           7          0         \n",
    "UDP  198.18.0.100:53 rr ops\n",
    "  -> 198.18.1.10:53               1         0           0          3         \n",
    "TCP  [2001:db8::100]:80 lc persistent 60 mask 64\n",
    "  -> [2001:db8::9]:8080           0         0           0          0         \n",
    "  -> [2001:db8::10]:8080          5         1           1          2         \n",
    "FWM  7 IPv6 rr\n",
    "FWM  66 mh (mh-port) persistent 360\n",
    "  -> 198.18.1.30:0                1         4           2          1         \n",
);

const GOLDEN_TUN: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port Scheduler Flags\n",
    "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n",
    "TCP  198.18.0.100:80 wlc\n",
    "  -> 198.18.1.10:80               Masq    n/a           1      12         40        \n",
    "  -> 198.18.1.11:80               Masq    n/a           2      5          3         \n",
    "TCP  198.18.0.101:443 sh (sh-fallback,sh-port) persistent 300 mask 255.255.255.0\n",
    "  -> 198.18.2.20:443              Tunnel  ipip          3      7          0         \n",
    "UDP  198.18.0.100:53 rr ops\n",
    "  -> 198.18.1.10:53               Route   n/a           1      0          3         \n",
    "TCP  [2001:db8::100]:80 lc persistent 60 mask 64\n",
    "  -> [2001:db8::9]:8080           FullNat n/a           0      0          0         \n",
    "  -> [2001:db8::10]:8080          FullNat n/a           5      1          2         \n",
    "FWM  7 IPv6 rr\n",
    "FWM  66 mh (mh-port) persistent 360\n",
    "  -> 198.18.1.30:0                Route   n/a           1      2          1         \n",
);

const GOLDEN_NOSORT: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port Scheduler Flags\n",
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
    "FWM  66 mh (mh-port) persistent 360\n",
    "  -> 198.18.1.30:0                Route   1      2          1         \n",
    "TCP  198.18.0.100:80 wlc\n",
    "  -> 198.18.1.11:80               Masq    2      5          3         \n",
    "  -> 198.18.1.10:80               Masq    1      12         40        \n",
    "UDP  198.18.0.100:53 rr ops\n",
    "  -> 198.18.1.10:53               Route   1      0          3         \n",
    "TCP  198.18.0.101:443 sh (sh-fallback,sh-port) persistent 300 mask 255.255.255.0\n",
    "  -> 198.18.2.20:443              Tunnel  3      7          0         \n",
    "TCP  [2001:db8::100]:80 lc persistent 60 mask 64\n",
    "  -> [2001:db8::10]:8080          FullNat 5      1          2         \n",
    "  -> [2001:db8::9]:8080           FullNat 0      0          0         \n",
    "FWM  7 IPv6 rr\n",
);

const GOLDEN_SERVICE: &str = concat!(
    "Prot LocalAddress:Port Scheduler Flags\n",
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
    "TCP  198.18.0.100:80 wlc\n",
    "  -> 198.18.1.10:80               Masq    1      12         40        \n",
    "  -> 198.18.1.11:80               Masq    2      5          3         \n",
);

const GOLDEN_SERVICE_STATS: &str = concat!(
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n",
    "  -> RemoteAddress:Port\n",
    "TCP  [2001:db8::100]:80                  2       20       18     2000    30000\n",
    "  -> [2001:db8::9]:8080                  0        0        0        0        0\n",
    "  -> [2001:db8::10]:8080                 2       20       18     2000    30000\n",
);

const GOLDEN_CONN: &str = concat!(
    "IPVS connection entries\n",
    "pro expire state       source             virtual            destination\n",
    "TCP 14:59  ESTABLISHED 10.1.0.5:40000     198.18.0.100:80    198.18.1.10:80\n",
    "TCP 00:59  SYN_RECV    10.1.0.6:40001     198.18.0.100:80    198.18.1.11:80\n",
    "UDP 04:59  UDP         10.1.0.7:5353      198.18.0.100:53    198.18.1.10:53\n",
    "TCP 01:59  FIN_WAIT    [2001:db8:1::5]:40000 [2001:db8::100]:80 [2001:db8::10]:8080\n",
    "IP  100:00 NONE        10.1.0.5:0         0.0.0.66:0         198.18.1.30:0\n",
);

const GOLDEN_CONN_PERSISTENT: &str = concat!(
    "IPVS connection entries\n",
    "pro expire state       source             virtual            destination        pe name          pe_data\n",
    "TCP 14:59  ESTABLISHED 10.1.0.5:40000     198.18.0.100:80    198.18.1.10:80\n",
    "TCP 00:59  SYN_RECV    10.1.0.6:40001     198.18.0.100:80    198.18.1.11:80\n",
    "UDP 04:59  UDP         10.1.0.7:5353      198.18.0.100:53    198.18.1.10:53\n",
    "TCP 01:59  FIN_WAIT    [2001:db8:1::5]:40000 [2001:db8::100]:80 [2001:db8::10]:8080\n",
    "IP  100:00 NONE        10.1.0.5:0         0.0.0.66:0         198.18.1.30:0\n",
);

const GOLDEN_TIMEOUT: &str = "Timeout (tcp tcpfin udp): 900 120 300\n";
