//! Prometheus text exposition (format 0.0.4) of the table, the ports and the drop reasons, and
//! the tiny HTTP/1.1 listener that serves it on `GET /metrics`.
//!
//! Conventions: cumulative counters end in `_total`; labels `service` (`tcp 198.18.0.100:80`,
//! the service key as rvsadm and the protocol print it), `real_server` (`198.18.1.10:80`),
//! `direction` (`in` = client to server, `out` = server to client; for ports `rx`/`tx`),
//! `reason` (a drop reason's name), `port` (a port's name).

use std::fmt::Write as _;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::protocol::{Health, Table};

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Counters of one DPDK port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortCounters {
    /// The port's name in the configuration.
    pub name: String,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    /// Frames the NIC dropped because the RX ring was full (DPDK `imissed`).
    pub rx_missed: u64,
}

/// Everything rendered besides the table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extra {
    pub ports: Vec<PortCounters>,
    /// Dropped packets by reason (`no_service`, `conn_table_full`, …), summed over workers.
    pub drops: Vec<(String, u64)>,
    /// Health-check transitions by service, real server and new state.
    pub health_transitions: Vec<HealthTransitions>,
    /// SYN proxy events (`cookies_sent`, `cookies_valid`, `handshakes`, …), summed over
    /// workers.
    pub synproxy: Vec<(String, u64)>,
}

/// How often a real server's health checks changed their verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthTransitions {
    pub service: String,
    pub real_server: SocketAddr,
    pub to_down: u64,
    pub to_up: u64,
}

/// One metric family being written: HELP and TYPE once, then samples.
struct Family<'a> {
    out: &'a mut String,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &str, kind: &str, help: &str) -> Family<'a> {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        Family { out }
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: u64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_label(self.out, v);
                self.out.push('"');
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

/// Label values escape backslash, double quote and newline (exposition format 0.0.4).
fn escape_label(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// The text exposition of `table` and `extra`. Every family has its HELP and TYPE lines, even
/// without samples, so that dashboards see the names from the start.
pub fn render(table: &Table, extra: &Extra) -> String {
    let mut out = String::new();
    let svc_names: Vec<String> = table.services.iter().map(|s| s.key.to_string()).collect();
    let services = || table.services.iter().zip(&svc_names);

    type StatField = fn(&crate::protocol::Stats) -> u64;
    let svc_counter = |out: &mut String, name: &str, help: &str, f: StatField| {
        let mut fam = Family::new(out, name, "counter", help);
        for (s, n) in services() {
            fam.sample(name, &[("service", n)], f(&s.stats));
        }
    };
    svc_counter(
        &mut out,
        "rvs_service_connections_total",
        "Connections scheduled by the service.",
        |s| s.conns,
    );
    for (name, help, fin, fout) in [
        (
            "rvs_service_packets_total",
            "Packets of the service, in = client to real server, out = real server to client.",
            (|s| s.inpkts) as StatField,
            (|s| s.outpkts) as StatField,
        ),
        (
            "rvs_service_bytes_total",
            "Bytes of the service, in = client to real server, out = real server to client.",
            |s| s.inbytes,
            |s| s.outbytes,
        ),
    ] {
        let mut fam = Family::new(&mut out, name, "counter", help);
        for (s, n) in services() {
            fam.sample(name, &[("service", n), ("direction", "in")], fin(&s.stats));
            fam.sample(
                name,
                &[("service", n), ("direction", "out")],
                fout(&s.stats),
            );
        }
    }
    {
        let name = "rvs_service_connections_per_second";
        let mut fam = Family::new(
            &mut out,
            name,
            "gauge",
            "Connection rate of the service, estimated as IPVS does (2 s samples, EWMA 1/4).",
        );
        for (s, n) in services() {
            fam.sample(name, &[("service", n)], s.rates.cps);
        }
    }
    for (name, help, fin, fout) in [
        (
            "rvs_service_packets_per_second",
            "Packet rate of the service, estimated as IPVS does.",
            (|r| r.inpps) as fn(&crate::protocol::Rates) -> u64,
            (|r| r.outpps) as fn(&crate::protocol::Rates) -> u64,
        ),
        (
            "rvs_service_bytes_per_second",
            "Byte rate of the service, estimated as IPVS does.",
            |r| r.inbps,
            |r| r.outbps,
        ),
    ] {
        let mut fam = Family::new(&mut out, name, "gauge", help);
        for (s, n) in services() {
            fam.sample(name, &[("service", n), ("direction", "in")], fin(&s.rates));
            fam.sample(
                name,
                &[("service", n), ("direction", "out")],
                fout(&s.rates),
            );
        }
    }

    // Real servers.
    let rs_names: Vec<Vec<String>> = table
        .services
        .iter()
        .map(|s| {
            s.real_servers
                .iter()
                .map(|r| r.address.to_string())
                .collect()
        })
        .collect();
    let servers = || {
        table
            .services
            .iter()
            .zip(&svc_names)
            .zip(&rs_names)
            .flat_map(|((s, n), rn)| s.real_servers.iter().zip(rn).map(move |(r, rn)| (n, rn, r)))
    };
    type RsField = fn(&crate::protocol::RealServerEntry) -> u64;
    for (name, kind, help, f) in [
        (
            "rvs_real_server_connections_total",
            "counter",
            "Connections scheduled to the real server.",
            (|r| r.stats.conns) as RsField,
        ),
        (
            "rvs_real_server_active_connections",
            "gauge",
            "Active connections of the real server (TCP ESTABLISHED).",
            |r| u64::from(r.active_connections),
        ),
        (
            "rvs_real_server_inactive_connections",
            "gauge",
            "Inactive connections of the real server (other TCP states, UDP).",
            |r| u64::from(r.inactive_connections),
        ),
        (
            "rvs_real_server_persistent_connections",
            "gauge",
            "Persistence templates pointing at the real server.",
            |r| u64::from(r.persistent_connections),
        ),
        (
            "rvs_real_server_weight",
            "gauge",
            "Current weight of the real server (0 = quiesced).",
            |r| u64::from(r.weight),
        ),
        (
            "rvs_real_server_connections_per_second",
            "gauge",
            "Connection rate of the real server, estimated as IPVS does.",
            |r| r.rates.cps,
        ),
    ] {
        let mut fam = Family::new(&mut out, name, kind, help);
        for (s, rn, r) in servers() {
            fam.sample(name, &[("service", s), ("real_server", rn)], f(r));
        }
    }
    for (name, kind, help, fin, fout) in [
        (
            "rvs_packets_total",
            "counter",
            "Packets per service and real server, in = client to real server, out = back.",
            (|r| r.stats.inpkts) as RsField,
            (|r| r.stats.outpkts) as RsField,
        ),
        (
            "rvs_bytes_total",
            "counter",
            "Bytes per service and real server, in = client to real server, out = back.",
            |r| r.stats.inbytes,
            |r| r.stats.outbytes,
        ),
        (
            "rvs_real_server_packets_per_second",
            "gauge",
            "Packet rate of the real server, estimated as IPVS does.",
            |r| r.rates.inpps,
            |r| r.rates.outpps,
        ),
        (
            "rvs_real_server_bytes_per_second",
            "gauge",
            "Byte rate of the real server, estimated as IPVS does.",
            |r| r.rates.inbps,
            |r| r.rates.outbps,
        ),
    ] {
        let mut fam = Family::new(&mut out, name, kind, help);
        for (s, rn, r) in servers() {
            fam.sample(
                name,
                &[("service", s), ("real_server", rn), ("direction", "in")],
                fin(r),
            );
            fam.sample(
                name,
                &[("service", s), ("real_server", rn), ("direction", "out")],
                fout(r),
            );
        }
    }
    {
        let name = "rvs_real_server_up";
        let mut fam = Family::new(
            &mut out,
            name,
            "gauge",
            "Health-check verdict of the real server (1 up, 0 down); absent without checks.",
        );
        for (s, rn, r) in servers() {
            if let Some(h) = r.health {
                fam.sample(
                    name,
                    &[("service", s), ("real_server", rn)],
                    u64::from(h == Health::Up),
                );
            }
        }
    }
    {
        let name = "rvs_health_transitions_total";
        let mut fam = Family::new(
            &mut out,
            name,
            "counter",
            "Health-check transitions of the real server, by the state it went to.",
        );
        for t in &extra.health_transitions {
            let rn = t.real_server.to_string();
            for (to, v) in [("down", t.to_down), ("up", t.to_up)] {
                fam.sample(
                    name,
                    &[("service", &t.service), ("real_server", &rn), ("to", to)],
                    v,
                );
            }
        }
    }

    {
        let name = "rvs_drops_total";
        let mut fam = Family::new(&mut out, name, "counter", "Packets dropped, by reason.");
        for (reason, v) in &extra.drops {
            fam.sample(name, &[("reason", reason)], *v);
        }
    }
    {
        let name = "rvs_synproxy_total";
        let mut fam = Family::new(
            &mut out,
            name,
            "counter",
            "SYN proxy events: cookies sent and found valid, client segments held and released, \
             SYNs resent, real-server handshakes done and resets relayed.",
        );
        for (event, v) in &extra.synproxy {
            fam.sample(name, &[("event", event)], *v);
        }
    }
    for (name, help, frx, ftx) in [
        (
            "rvs_port_packets_total",
            "Packets received (rx) and sent (tx) by the port.",
            (|p| p.rx_packets) as fn(&PortCounters) -> u64,
            (|p| p.tx_packets) as fn(&PortCounters) -> u64,
        ),
        (
            "rvs_port_bytes_total",
            "Bytes received (rx) and sent (tx) by the port.",
            |p| p.rx_bytes,
            |p| p.tx_bytes,
        ),
    ] {
        let mut fam = Family::new(&mut out, name, "counter", help);
        for p in &extra.ports {
            fam.sample(name, &[("port", &p.name), ("direction", "rx")], frx(p));
            fam.sample(name, &[("port", &p.name), ("direction", "tx")], ftx(p));
        }
    }
    {
        let name = "rvs_port_rx_missed_total";
        let mut fam = Family::new(
            &mut out,
            name,
            "counter",
            "Frames the NIC dropped because the port's RX ring was full.",
        );
        for p in &extra.ports {
            fam.sample(name, &[("port", &p.name)], p.rx_missed);
        }
    }
    out
}

/// How long a scraper may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest request head read.
const MAX_REQUEST_HEAD: usize = 8192;
/// How often the accept loop looks at the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// Serves `GET /metrics` on `addr` with the text `source` returns, until `stop` is set.
/// Anything else gets 404 (405 for other methods on `/metrics`, 400 for what is not HTTP).
/// Each scrape gets its own short-lived thread; the listener thread is returned.
pub fn serve_metrics(
    addr: SocketAddr,
    source: Arc<dyn Fn() -> String + Send + Sync>,
    stop: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    thread::Builder::new()
        .name("rvs-metrics".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let source = source.clone();
                        let _ = thread::Builder::new()
                            .name("rvs-metrics-scrape".into())
                            .spawn(move || {
                                if let Err(e) = scrape(stream, &*source) {
                                    tracing::debug!("metrics: {e}");
                                }
                            });
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(POLL),
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => {
                        tracing::warn!("metrics: accept failed: {e}");
                        thread::sleep(POLL);
                    }
                }
            }
        })
}

/// Answers one HTTP request on `stream` and closes it.
fn scrape(mut stream: TcpStream, source: &(dyn Fn() -> String + Send + Sync)) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
        if head.len() > MAX_REQUEST_HEAD {
            return respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                "",
                false,
            );
        }
    }
    let text = String::from_utf8_lossy(&head);
    let request_line = text.lines().next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    let (Some(method), Some(target), Some(version)) = (method, target, version) else {
        return respond(&mut stream, "400 Bad Request", "bad request\n", false);
    };
    if !version.starts_with("HTTP/1.") {
        return respond(&mut stream, "400 Bad Request", "bad request\n", false);
    }
    let path = target.split('?').next().unwrap_or(target);
    match (method, path) {
        ("GET", "/metrics") => {
            let body = source();
            respond_with(&mut stream, "200 OK", CONTENT_TYPE, &body, true)
        }
        ("HEAD", "/metrics") => {
            let body = source();
            respond_with(&mut stream, "200 OK", CONTENT_TYPE, &body, false)
        }
        (_, "/metrics") => respond(&mut stream, "405 Method Not Allowed", "GET only\n", true),
        _ => respond(
            &mut stream,
            "404 Not Found",
            "not found; try /metrics\n",
            true,
        ),
    }
}

fn respond(stream: &mut TcpStream, status: &str, body: &str, send_body: bool) -> io::Result<()> {
    respond_with(stream, status, "text/plain; charset=utf-8", body, send_body)
}

fn respond_with(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &str,
    send_body: bool,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if send_body {
        stream.write_all(body.as_bytes())?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Rates, RealServerEntry, ServiceEntry, Stats};
    use rvs_config::{Method, SchedFlags, ServiceKey};

    fn table() -> Table {
        Table {
            services: vec![ServiceEntry {
                key: ServiceKey::Tcp("198.18.0.100:80".parse().unwrap()),
                scheduler: "rr".into(),
                sched_flags: SchedFlags::default(),
                persistence: 0,
                persistence_prefix_len: 32,
                one_packet: false,
                stats: Stats {
                    conns: 10,
                    inpkts: 100,
                    outpkts: 90,
                    inbytes: 6000,
                    outbytes: 120_000,
                },
                rates: Rates {
                    cps: 1,
                    inpps: 2,
                    outpps: 3,
                    inbps: 4,
                    outbps: 5,
                },
                real_servers: vec![
                    RealServerEntry {
                        address: "198.18.1.10:80".parse().unwrap(),
                        method: Method::Nat,
                        weight: 1,
                        upper_threshold: 0,
                        lower_threshold: 0,
                        active_connections: 3,
                        inactive_connections: 4,
                        persistent_connections: 0,
                        stats: Stats {
                            conns: 6,
                            inpkts: 60,
                            outpkts: 50,
                            inbytes: 3600,
                            outbytes: 70_000,
                        },
                        rates: Rates::default(),
                        health: Some(Health::Up),
                    },
                    RealServerEntry {
                        address: "[2001:db8::10]:80".parse().unwrap(),
                        method: Method::Dr,
                        weight: 0,
                        upper_threshold: 0,
                        lower_threshold: 0,
                        active_connections: 0,
                        inactive_connections: 0,
                        persistent_connections: 0,
                        stats: Stats::default(),
                        rates: Rates::default(),
                        health: Some(Health::Down),
                    },
                ],
            }],
        }
    }

    fn extra() -> Extra {
        Extra {
            ports: vec![PortCounters {
                name: "outside".into(),
                rx_packets: 1000,
                tx_packets: 900,
                rx_bytes: 64000,
                tx_bytes: 57600,
                rx_missed: 2,
            }],
            drops: vec![("no_service".into(), 7), ("weird \"name\"\\\n".into(), 1)],
            health_transitions: vec![HealthTransitions {
                service: "tcp 198.18.0.100:80".into(),
                real_server: "[2001:db8::10]:80".parse().unwrap(),
                to_down: 1,
                to_up: 0,
            }],
            synproxy: vec![("cookies_sent".into(), 5)],
        }
    }

    #[test]
    fn renders_the_named_samples() {
        let text = render(&table(), &extra());
        for line in [
            "# HELP rvs_service_connections_total Connections scheduled by the service.",
            "# TYPE rvs_service_connections_total counter",
            "rvs_service_connections_total{service=\"tcp 198.18.0.100:80\"} 10",
            "rvs_service_packets_total{service=\"tcp 198.18.0.100:80\",direction=\"in\"} 100",
            "rvs_service_bytes_total{service=\"tcp 198.18.0.100:80\",direction=\"out\"} 120000",
            "rvs_service_connections_per_second{service=\"tcp 198.18.0.100:80\"} 1",
            "rvs_service_bytes_per_second{service=\"tcp 198.18.0.100:80\",direction=\"out\"} 5",
            "rvs_real_server_active_connections{service=\"tcp 198.18.0.100:80\",real_server=\"198.18.1.10:80\"} 3",
            "rvs_real_server_inactive_connections{service=\"tcp 198.18.0.100:80\",real_server=\"198.18.1.10:80\"} 4",
            "rvs_real_server_connections_total{service=\"tcp 198.18.0.100:80\",real_server=\"198.18.1.10:80\"} 6",
            "rvs_packets_total{service=\"tcp 198.18.0.100:80\",real_server=\"198.18.1.10:80\",direction=\"in\"} 60",
            "rvs_packets_total{service=\"tcp 198.18.0.100:80\",real_server=\"198.18.1.10:80\",direction=\"out\"} 50",
            "rvs_bytes_total{service=\"tcp 198.18.0.100:80\",real_server=\"198.18.1.10:80\",direction=\"in\"} 3600",
            "rvs_real_server_weight{service=\"tcp 198.18.0.100:80\",real_server=\"[2001:db8::10]:80\"} 0",
            "rvs_real_server_up{service=\"tcp 198.18.0.100:80\",real_server=\"198.18.1.10:80\"} 1",
            "rvs_real_server_up{service=\"tcp 198.18.0.100:80\",real_server=\"[2001:db8::10]:80\"} 0",
            "rvs_health_transitions_total{service=\"tcp 198.18.0.100:80\",real_server=\"[2001:db8::10]:80\",to=\"down\"} 1",
            "# TYPE rvs_drops_total counter",
            "rvs_drops_total{reason=\"no_service\"} 7",
            "# TYPE rvs_synproxy_total counter",
            "rvs_synproxy_total{event=\"cookies_sent\"} 5",
            "rvs_drops_total{reason=\"weird \\\"name\\\"\\\\\\n\"} 1",
            "rvs_port_packets_total{port=\"outside\",direction=\"rx\"} 1000",
            "rvs_port_packets_total{port=\"outside\",direction=\"tx\"} 900",
            "rvs_port_bytes_total{port=\"outside\",direction=\"tx\"} 57600",
            "rvs_port_rx_missed_total{port=\"outside\"} 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing line {line:?} in\n{text}"
            );
        }
    }

    /// Every sample belongs to a family announced just before it, counters end in `_total`,
    /// and no family is announced twice: what Prometheus's parser insists on.
    #[test]
    fn families_are_well_formed() {
        let text = render(&table(), &extra());
        let mut current: Option<(String, String)> = None;
        let mut seen = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap().to_string();
                assert!(seen.insert(name.clone()), "{name} announced twice");
                current = Some((name, String::new()));
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut w = rest.split(' ');
                let (name, kind) = (w.next().unwrap(), w.next().unwrap());
                let cur = current.as_mut().unwrap();
                assert_eq!(cur.0, name);
                assert!(kind == "counter" || kind == "gauge");
                assert_eq!(kind == "counter", name.ends_with("_total"), "{name}");
                cur.1 = kind.into();
            } else {
                let name = line.split(['{', ' ']).next().unwrap();
                assert_eq!(Some(name), current.as_ref().map(|c| c.0.as_str()), "{line}");
                let value = line.rsplit(' ').next().unwrap();
                assert!(value.parse::<u64>().is_ok(), "{line}");
            }
        }
        // An empty table still announces every family.
        let empty = render(&Table::default(), &Extra::default());
        assert!(empty.contains("# TYPE rvs_packets_total counter"));
        assert!(!empty.lines().any(|l| !l.starts_with('#')));
    }

    fn http(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn scrapes_over_http() {
        // Find a free port, then serve on it.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let t = table();
        let source: Arc<dyn Fn() -> String + Send + Sync> =
            Arc::new(move || render(&t, &Extra::default()));
        let server = serve_metrics(addr, source, stop.clone()).unwrap();

        let resp = http(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        let (head, body) = resp.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains("Content-Type: text/plain; version=0.0.4"));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert_eq!(body, render(&table(), &Extra::default()));

        let resp = http(addr, "GET /metrics?x=1 HTTP/1.0\n\n");
        assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"));
        let resp = http(addr, "GET / HTTP/1.1\r\n\r\n");
        assert!(resp.starts_with("HTTP/1.1 404 Not Found\r\n"), "{resp}");
        let resp = http(addr, "POST /metrics HTTP/1.1\r\n\r\n");
        assert!(resp.starts_with("HTTP/1.1 405 "), "{resp}");
        let resp = http(addr, "HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(resp.starts_with("HTTP/1.1 200 OK\r\n") && resp.ends_with("\r\n\r\n"));
        let resp = http(addr, "hello\r\n\r\n");
        assert!(resp.starts_with("HTTP/1.1 400 "), "{resp}");

        stop.store(true, Ordering::Relaxed);
        server.join().unwrap();
        // The listener is closed once the thread ends.
        assert!(TcpStream::connect(addr).is_err());
    }
}
