//! The rvsadm ↔ rvsd protocol, version 1: newline-delimited JSON over a Unix stream socket.
//! [`PROTOCOL.md`](../PROTOCOL.md) is the reference; this module is its implementation.
//!
//! Every request is one line `{"version":1,"id":N,"request":…}` and gets one line back,
//! `{"version":1,"id":N,"ok":…}` or `{"version":1,"id":N,"error":{"message":…,"exit_code":…}}`,
//! in order, on the same connection. The `id` is the client's, echoed; id 0 is reserved for
//! errors about the connection itself (a refused peer).

use std::fmt;
use std::net::SocketAddr;

use rvs_config::ipvsadm::IpvsadmError;
use rvs_config::{Method, SchedFlags, ServiceKey};
use serde::{Deserialize, Serialize};

/// The protocol version this crate speaks. A request with any other version is answered with
/// an error naming both versions.
pub const PROTOCOL_VERSION: u32 = 1;

/// The longest request line the server reads (1 MiB); longer ones are refused.
pub const MAX_REQUEST_LINE: usize = 1 << 20;

/// The longest response line the client reads (1 GiB: a connection list of millions of
/// entries is long).
pub const MAX_RESPONSE_LINE: usize = 1 << 30;

/// Exit status that rvsadm should use for errors of the protocol itself (bad or refused
/// request, wrong version, permission), as ipvsadm's `fail(2, …)` when it cannot talk to IPVS.
pub const EXIT_PROTOCOL: i32 = 2;

/// What rvsadm asks rvsd.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// An ipvsadm command line as typed, without the program name (`["-A", "-t",
    /// "10.0.0.1:80", "-s", "rr"]`). rvsd parses it with `rvs_config::ipvsadm::parse_args`, so
    /// errors read exactly as rvsadm's own parse would report them, and applies it. Answered
    /// with [`Response::Done`].
    Apply { args: Vec<String> },
    /// Re-read the configuration file (SIGHUP). Answered with [`Response::Done`].
    Reload,
    /// The running table with counters and rates. Answered with [`Response::Table`].
    Table,
    /// The connection entries (`ipvsadm -L -c`). Answered with [`Response::Connections`].
    Connections,
    /// The connection timeouts (`ipvsadm -L --timeout`). Answered with [`Response::Timeouts`].
    Timeouts,
    /// Zero the counters and rates of one service (and its real servers) or of all
    /// (`ipvsadm -Z`). Answered with [`Response::Done`].
    Zero {
        #[serde(with = "opt_service_key")]
        service: Option<ServiceKey>,
    },
    /// The running table as TOML (`rvsadm --toml`). Answered with [`Response::Toml`].
    SaveToml,
}

/// A successful answer (the `ok` member of a response line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// The request was carried out.
    Done,
    Table(Table),
    Connections(Vec<ConnEntry>),
    Timeouts(Timeouts),
    Toml(String),
}

/// A refused request: what rvsadm prints (on stderr) and the status it exits with, which are
/// ipvsadm's for the same failure (see [`IpvsadmError::exit_code`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ControlError {
    pub message: String,
    pub exit_code: i32,
}

impl ControlError {
    /// An error with ipvsadm's most common failure status, 255 (its `return -1`).
    pub fn new(message: impl Into<String>) -> ControlError {
        ControlError {
            message: message.into(),
            exit_code: 255,
        }
    }

    /// An error about the protocol itself (exit status [`EXIT_PROTOCOL`]).
    pub fn protocol(message: impl Into<String>) -> ControlError {
        ControlError {
            message: message.into(),
            exit_code: EXIT_PROTOCOL,
        }
    }
}

impl From<IpvsadmError> for ControlError {
    fn from(e: IpvsadmError) -> ControlError {
        ControlError {
            message: e.to_string(),
            exit_code: e.exit_code(),
        }
    }
}

/// The running table: what `ipvsadm -L` in all its forms and `-S` print.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// In the order `--nosort` prints them (the kernel's own order; rvsd chooses, typically the
    /// configuration's). rvsadm sorts them as ipvsadm does unless `--nosort`.
    pub services: Vec<ServiceEntry>,
}

/// A virtual service with its counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEntry {
    #[serde(with = "service_key")]
    pub key: ServiceKey,
    pub scheduler: String,
    #[serde(with = "sched_flags", default)]
    pub sched_flags: SchedFlags,
    /// Persistence timeout in seconds; 0 = not persistent.
    #[serde(default)]
    pub persistence: u32,
    /// Persistence granularity as a prefix length (32 or 128 = a single client).
    pub persistence_prefix_len: u8,
    /// One-packet scheduling (`-o`, printed as `ops`).
    #[serde(default)]
    pub one_packet: bool,
    #[serde(default)]
    pub stats: Stats,
    #[serde(default)]
    pub rates: Rates,
    /// In the order `--nosort` prints them (the kernel lists the most recently added first).
    pub real_servers: Vec<RealServerEntry>,
}

/// A real server of a service with its counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServerEntry {
    pub address: SocketAddr,
    #[serde(with = "method")]
    pub method: Method,
    pub weight: u32,
    #[serde(default)]
    pub upper_threshold: u32,
    #[serde(default)]
    pub lower_threshold: u32,
    /// Connections in an active state (TCP ESTABLISHED), as the kernel's `activeconns`.
    #[serde(default)]
    pub active_connections: u32,
    /// Other connections (`inactconns`).
    #[serde(default)]
    pub inactive_connections: u32,
    /// Persistence templates pointing at this server (`persistconns`).
    #[serde(default)]
    pub persistent_connections: u32,
    #[serde(default)]
    pub stats: Stats,
    #[serde(default)]
    pub rates: Rates,
    /// What the health checks last concluded; `None` when the service has none.
    #[serde(default)]
    pub health: Option<Health>,
}

/// Cumulative counters of a service or real server, as the kernel's `ip_vs_stats64`: connections
/// scheduled, packets and bytes client→server (`in`) and server→client (`out`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
}

impl Stats {
    /// Field-wise wrapping sum, for adding up the workers' counters.
    pub fn add(&mut self, other: &Stats) {
        self.conns = self.conns.wrapping_add(other.conns);
        self.inpkts = self.inpkts.wrapping_add(other.inpkts);
        self.outpkts = self.outpkts.wrapping_add(other.outpkts);
        self.inbytes = self.inbytes.wrapping_add(other.inbytes);
        self.outbytes = self.outbytes.wrapping_add(other.outbytes);
    }
}

/// Estimated rates per second (see [`crate::estimator`]): connections, packets in and out, bytes
/// in and out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rates {
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// Health of a real server as the checks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Up,
    Down,
}

/// One connection entry, what the kernel's `/proc/net/ip_vs_conn` has per line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnEntry {
    /// As the kernel's `ip_vs_proto_name`: `TCP`, `UDP`, and `IP` for a persistence template
    /// of a firewall-mark service.
    pub protocol: String,
    /// As the kernel's state names: `ESTABLISHED`, `SYN_RECV`, `FIN_WAIT`, `TIME_WAIT`, `CLOSE`,
    /// `CLOSE_WAIT`, `LAST_ACK`, `LISTEN`, `SYNACK`, `SYN_SENT`, `UDP`; `NONE` for a template.
    pub state: String,
    /// Whole seconds until the entry expires.
    pub expires: u32,
    /// The client (CIP and port).
    pub source: SocketAddr,
    /// The virtual service address (VIP and port).
    #[serde(rename = "virtual")]
    pub virtual_address: SocketAddr,
    /// The real server (RIP and port).
    pub destination: SocketAddr,
    /// FullNAT: the local address and port (LIP:lport) the real server sees; not printed by
    /// ipvsadm, which has no such column.
    #[serde(default)]
    pub local: Option<SocketAddr>,
    /// The worker whose table holds the entry.
    pub worker: u16,
}

/// Connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcpfin: u32,
    pub udp: u32,
}

impl From<rvs_config::Timeouts> for Timeouts {
    fn from(t: rvs_config::Timeouts) -> Timeouts {
        Timeouts {
            tcp: t.tcp,
            tcpfin: t.tcpfin,
            udp: t.udp,
        }
    }
}

/// One request line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLine {
    pub version: u32,
    pub id: u64,
    pub request: Request,
}

/// One response line: exactly one of `ok` and `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseLine {
    pub version: u32,
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<Response>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ControlError>,
}

impl ResponseLine {
    /// The line answering request `id` with `result`.
    pub fn new(id: u64, result: Result<Response, ControlError>) -> ResponseLine {
        let (ok, error) = match result {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e)),
        };
        ResponseLine {
            version: PROTOCOL_VERSION,
            id,
            ok,
            error,
        }
    }

    /// The line as sent: JSON and a newline.
    pub fn encode(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_else(|e| {
            // Serializing these types cannot fail (no maps with non-string keys, no custom
            // serializers that error); answer with an error rather than panic if it ever does.
            format!(
                r#"{{"version":{PROTOCOL_VERSION},"id":{},"error":{{"message":"cannot encode response: {}","exit_code":{EXIT_PROTOCOL}}}}}"#,
                self.id,
                e.to_string().replace(['"', '\\'], "'")
            )
        });
        s.push('\n');
        s
    }

    /// The answer as a `Result`: `ok`, or `error`, or a protocol error when the line has
    /// neither or both.
    pub fn into_result(self) -> Result<Response, ControlError> {
        match (self.ok, self.error) {
            (Some(r), None) => Ok(r),
            (None, Some(e)) => Err(e),
            _ => Err(ControlError::protocol(
                "malformed response: exactly one of \"ok\" and \"error\" expected",
            )),
        }
    }
}

impl RequestLine {
    /// A version-1 request line.
    pub fn new(id: u64, request: Request) -> RequestLine {
        RequestLine {
            version: PROTOCOL_VERSION,
            id,
            request,
        }
    }

    /// The line as sent: JSON and a newline.
    pub fn encode(&self) -> String {
        // A request holds strings, numbers and addresses only: serialization cannot fail.
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Decodes a request line, checking the version before the request, so that a client of
/// another version gets "unsupported protocol version" rather than a parse error. On failure,
/// the id to answer with (0 when even that is unreadable) and the error.
pub fn decode_request(line: &[u8]) -> Result<RequestLine, (u64, ControlError)> {
    let value: serde_json::Value = serde_json::from_slice(line)
        .map_err(|e| (0, ControlError::protocol(format!("bad request: {e}"))))?;
    let id = value.get("id").and_then(|v| v.as_u64()).unwrap_or(0);
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
        Some(v) => {
            return Err((
                id,
                ControlError::protocol(format!(
                    "unsupported protocol version {v}: this rvsd speaks version \
                     {PROTOCOL_VERSION}; use an rvsadm of the same release"
                )),
            ))
        }
        None => {
            return Err((
                id,
                ControlError::protocol("bad request: no \"version\" number"),
            ))
        }
    }
    serde_json::from_value(value)
        .map_err(|e| (id, ControlError::protocol(format!("bad request: {e}"))))
}

/// Decodes a response line, refusing other versions.
pub fn decode_response(line: &[u8]) -> Result<ResponseLine, String> {
    let value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("bad response: {e}"))?;
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "unsupported protocol version {v} from rvsd: this rvsadm speaks version \
                 {PROTOCOL_VERSION}"
            ))
        }
        None => return Err("bad response: no \"version\" number".into()),
    }
    serde_json::from_value(value).map_err(|e| format!("bad response: {e}"))
}

/// A service key as text: `tcp 198.18.0.100:80`, `udp [2001:db8::1]:53`, `fwmark 66`,
/// `fwmark 66 ipv6` (its `Display`); the inverse of that.
pub fn parse_service_key(s: &str) -> Result<ServiceKey, String> {
    let bad =
        || format!("bad service {s:?}: expected \"tcp|udp ADDR:PORT\" or \"fwmark N [ipv6]\"");
    let mut words = s.split(' ');
    let kind = words.next().ok_or_else(bad)?;
    let rest: Vec<&str> = words.collect();
    match (kind, rest.as_slice()) {
        ("tcp", [a]) => a.parse().map(ServiceKey::Tcp).map_err(|_| bad()),
        ("udp", [a]) => a.parse().map(ServiceKey::Udp).map_err(|_| bad()),
        ("fwmark", [m]) => m
            .parse()
            .map(|mark| ServiceKey::Fwmark { mark, ipv6: false })
            .map_err(|_| bad()),
        ("fwmark", [m, "ipv6"]) => m
            .parse()
            .map(|mark| ServiceKey::Fwmark { mark, ipv6: true })
            .map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// Serde for [`ServiceKey`] as its text form (see [`parse_service_key`]).
pub mod service_key {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(k: &ServiceKey, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(k)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ServiceKey, D::Error> {
        let s = String::deserialize(d)?;
        parse_service_key(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde for `Option<ServiceKey>`: the text form or `null`.
pub mod opt_service_key {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(k: &Option<ServiceKey>, s: S) -> Result<S::Ok, S::Error> {
        match k {
            Some(k) => s.collect_str(k),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ServiceKey>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => parse_service_key(&s)
                .map(Some)
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

/// Serde for [`Method`] as its configuration name (`nat`, `dr`, `tun`, `fullnat`).
mod method {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(m: &Method, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(m.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Method, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "nat" => Ok(Method::Nat),
            "dr" => Ok(Method::Dr),
            "tun" => Ok(Method::Tun),
            "fullnat" => Ok(Method::FullNat),
            _ => Err(serde::de::Error::custom(format!(
                "bad method {s:?}: expected nat, dr, tun or fullnat"
            ))),
        }
    }
}

/// Serde for [`SchedFlags`] as `{"fallback": bool, "port": bool}`.
mod sched_flags {
    use super::*;
    use serde::{Deserializer, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Wire {
        #[serde(default)]
        fallback: bool,
        #[serde(default)]
        port: bool,
    }

    pub fn serialize<S: Serializer>(f: &SchedFlags, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            fallback: f.fallback,
            port: f.port,
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SchedFlags, D::Error> {
        let w = Wire::deserialize(d)?;
        Ok(SchedFlags {
            fallback: w.fallback,
            port: w.port,
        })
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Health::Up => "up",
            Health::Down => "down",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_table() -> Table {
        Table {
            services: vec![ServiceEntry {
                key: ServiceKey::Tcp("198.18.0.100:80".parse().unwrap()),
                scheduler: "sh".into(),
                sched_flags: SchedFlags {
                    fallback: true,
                    port: false,
                },
                persistence: 300,
                persistence_prefix_len: 24,
                one_packet: false,
                stats: Stats {
                    conns: 1,
                    inpkts: 2,
                    outpkts: 3,
                    inbytes: 4,
                    outbytes: 5,
                },
                rates: Rates::default(),
                real_servers: vec![RealServerEntry {
                    address: "[2001:db8::10]:8080".parse().unwrap(),
                    method: Method::FullNat,
                    weight: 3,
                    upper_threshold: 10,
                    lower_threshold: 5,
                    active_connections: 7,
                    inactive_connections: 8,
                    persistent_connections: 9,
                    stats: Stats::default(),
                    rates: Rates {
                        cps: 1,
                        inpps: 2,
                        outpps: 3,
                        inbps: 4,
                        outbps: 5,
                    },
                    health: Some(Health::Down),
                }],
            }],
        }
    }

    #[test]
    fn request_lines_have_the_documented_shape() {
        let line = RequestLine::new(
            7,
            Request::Apply {
                args: vec!["-C".into()],
            },
        );
        assert_eq!(
            line.encode(),
            "{\"version\":1,\"id\":7,\"request\":{\"apply\":{\"args\":[\"-C\"]}}}\n"
        );
        assert_eq!(
            RequestLine::new(1, Request::Table).encode(),
            "{\"version\":1,\"id\":1,\"request\":\"table\"}\n"
        );
        assert_eq!(
            RequestLine::new(
                2,
                Request::Zero {
                    service: Some(ServiceKey::Fwmark {
                        mark: 66,
                        ipv6: true
                    })
                }
            )
            .encode(),
            "{\"version\":1,\"id\":2,\"request\":{\"zero\":{\"service\":\"fwmark 66 ipv6\"}}}\n"
        );
        assert_eq!(
            RequestLine::new(3, Request::Zero { service: None }).encode(),
            "{\"version\":1,\"id\":3,\"request\":{\"zero\":{\"service\":null}}}\n"
        );
    }

    #[test]
    fn every_request_round_trips() {
        for req in [
            Request::Apply {
                args: vec!["-A".into(), "-t".into(), "10.0.0.1:80".into()],
            },
            Request::Reload,
            Request::Table,
            Request::Connections,
            Request::Timeouts,
            Request::Zero {
                service: Some(ServiceKey::Udp("[2001:db8::1]:53".parse().unwrap())),
            },
            Request::Zero { service: None },
            Request::SaveToml,
        ] {
            let line = RequestLine::new(42, req.clone()).encode();
            let back = decode_request(line.trim_end().as_bytes()).unwrap();
            assert_eq!(back, RequestLine::new(42, req));
        }
    }

    #[test]
    fn responses_round_trip() {
        let cases = [
            Ok(Response::Done),
            Ok(Response::Table(sample_table())),
            Ok(Response::Connections(vec![ConnEntry {
                protocol: "TCP".into(),
                state: "ESTABLISHED".into(),
                expires: 899,
                source: "10.1.0.5:40000".parse().unwrap(),
                virtual_address: "198.18.0.100:80".parse().unwrap(),
                destination: "198.18.1.10:80".parse().unwrap(),
                local: Some("198.18.1.1:5000".parse().unwrap()),
                worker: 1,
            }])),
            Ok(Response::Timeouts(Timeouts {
                tcp: 900,
                tcpfin: 120,
                udp: 300,
            })),
            Ok(Response::Toml("workers = 1\n".into())),
            Err(ControlError::new("No such service")),
        ];
        for c in cases {
            let line = ResponseLine::new(9, c.clone()).encode();
            assert!(line.ends_with('\n') && !line.trim_end().contains('\n'));
            let back = decode_response(line.trim_end().as_bytes()).unwrap();
            assert_eq!(back.id, 9);
            assert_eq!(back.into_result(), c);
        }
    }

    #[test]
    fn error_lines_have_the_documented_shape() {
        let line = ResponseLine::new(
            5,
            Err(ControlError {
                message: "Service already exists".into(),
                exit_code: 255,
            }),
        );
        assert_eq!(
            line.encode(),
            "{\"version\":1,\"id\":5,\"error\":{\"message\":\"Service already exists\",\"exit_code\":255}}\n"
        );
        assert_eq!(
            ResponseLine::new(5, Ok(Response::Done)).encode(),
            "{\"version\":1,\"id\":5,\"ok\":\"done\"}\n"
        );
    }

    #[test]
    fn other_versions_get_a_clear_error_with_their_id() {
        let (id, e) =
            decode_request(br#"{"version":2,"id":17,"request":{"something_new":{}}}"#).unwrap_err();
        assert_eq!(id, 17);
        assert_eq!(e.exit_code, EXIT_PROTOCOL);
        assert!(
            e.message
                .starts_with("unsupported protocol version 2: this rvsd speaks version 1"),
            "{}",
            e.message
        );
        let (id, e) = decode_request(br#"{"id":3,"request":"table"}"#).unwrap_err();
        assert_eq!(
            (id, e.message.as_str()),
            (3, "bad request: no \"version\" number")
        );
        let (id, e) = decode_request(b"not json").unwrap_err();
        assert_eq!(id, 0);
        assert!(e.message.starts_with("bad request: "));
        let (_, e) = decode_request(br#"{"version":1,"id":3,"request":"dance"}"#).unwrap_err();
        assert!(
            e.message.contains("unknown variant `dance`"),
            "{}",
            e.message
        );
        assert!(decode_response(br#"{"version":3,"id":1,"ok":"done"}"#)
            .unwrap_err()
            .contains("unsupported protocol version 3"));
    }

    #[test]
    fn a_response_with_both_or_neither_is_malformed() {
        let both = ResponseLine {
            version: 1,
            id: 1,
            ok: Some(Response::Done),
            error: Some(ControlError::new("x")),
        };
        assert!(both
            .into_result()
            .unwrap_err()
            .message
            .contains("malformed"));
        let neither = decode_response(br#"{"version":1,"id":1}"#).unwrap();
        assert!(neither.into_result().is_err());
    }

    #[test]
    fn service_keys_as_text() {
        for (text, key) in [
            (
                "tcp 198.18.0.100:80",
                ServiceKey::Tcp("198.18.0.100:80".parse().unwrap()),
            ),
            (
                "udp [2001:db8::1]:53",
                ServiceKey::Udp("[2001:db8::1]:53".parse().unwrap()),
            ),
            (
                "fwmark 66",
                ServiceKey::Fwmark {
                    mark: 66,
                    ipv6: false,
                },
            ),
            (
                "fwmark 4294967295 ipv6",
                ServiceKey::Fwmark {
                    mark: u32::MAX,
                    ipv6: true,
                },
            ),
        ] {
            assert_eq!(parse_service_key(text).unwrap(), key);
            assert_eq!(key.to_string(), text);
        }
        for bad in [
            "",
            "tcp",
            "sctp 1.2.3.4:5",
            "tcp 1.2.3.4",
            "fwmark x",
            "fwmark 1 ipv4",
        ] {
            assert!(parse_service_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ipvsadm_errors_keep_their_exit_codes() {
        let e: ControlError = IpvsadmError::Refused("No such service").into();
        assert_eq!((e.message.as_str(), e.exit_code), ("No such service", 255));
        let e: ControlError = IpvsadmError::Usage("illegal weight specified".into()).into();
        assert_eq!(e.exit_code, 2);
    }
}
