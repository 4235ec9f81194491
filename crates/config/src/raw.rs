//! The file as written: the shape serde checks (known keys, types), before validation.
//!
//! Numbers are `i64` (TOML's integer) and addresses are strings so that validation, not serde,
//! words the message for an out-of-range number or a malformed address.

use serde::{Deserialize, Serialize};

use crate::ConfigError;

// Every struct is also `Serialize`: `to_toml` writes a `Config` back through this model, leaving
// out what is at its default.

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default = "default_workers")]
    pub workers: i64,
    #[serde(default = "default_max_connections")]
    pub max_connections: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub idle_sleep_us: i64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop_entry: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mbufs: i64,
    #[serde(
        default = "default_mbuf_data_room",
        skip_serializing_if = "is_default_mbuf_data_room"
    )]
    pub mbuf_data_room: i64,
    /// Read by `load` only; never written (the services it gives are written instead).
    #[serde(default, skip_serializing)]
    pub ipvsadm_rules: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<Control>,
    // Defaulted so that a file without ports gets validation's message, not serde's.
    #[serde(default)]
    pub ports: Vec<Port>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub neighbours: Vec<Neighbour>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fwmark: Vec<FwmarkRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Timeouts {
    #[serde(default = "default_tcp_timeout")]
    pub tcp: i64,
    #[serde(default = "default_tcpfin_timeout")]
    pub tcpfin: i64,
    #[serde(default = "default_udp_timeout")]
    pub udp: i64,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Control {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Port {
    pub name: String,
    pub device: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub args: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_addresses: Vec<String>,
    #[serde(default = "default_mtu", skip_serializing_if = "is_default_mtu")]
    pub mtu: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<i64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub exception_path: bool,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Route {
    pub prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    pub port: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Neighbour {
    pub port: String,
    pub address: String,
    pub mac: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FwmarkRule {
    pub mark: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destinations: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<i64>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Service {
    // Both optional in the file: a firewall-mark service has neither; validation words the
    // message for a missing one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<i64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub ipv6: bool,
    #[serde(default = "default_scheduler")]
    pub scheduler: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sched_flags: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub persistence: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence_netmask: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub one_packet: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub synproxy: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fullnat_local_addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub real_servers: Vec<RealServer>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HealthCheck {
    #[serde(default = "default_check_kind")]
    pub kind: String,
    #[serde(default = "default_check_interval")]
    pub interval: f64,
    #[serde(default = "default_check_timeout")]
    pub timeout: f64,
    #[serde(default = "default_check_failures")]
    pub failures: i64,
    #[serde(default = "default_check_successes")]
    pub successes: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<i64>,
    #[serde(default = "default_on_failure")]
    pub on_failure: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sorry_server: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RealServer {
    pub address: String,
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default = "default_weight")]
    pub weight: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub upper_threshold: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lower_threshold: i64,
}

fn default_workers() -> i64 {
    1
}

fn default_max_connections() -> i64 {
    1 << 20
}

/// DPDK's `RTE_MBUF_DEFAULT_BUF_SIZE`: 2048 bytes of data after the 128-byte headroom.
pub(crate) fn default_mbuf_data_room() -> i64 {
    2048 + 128
}

fn is_default_mbuf_data_room(v: &i64) -> bool {
    *v == default_mbuf_data_room()
}

pub(crate) fn default_mtu() -> i64 {
    1500
}

fn is_default_mtu(v: &i64) -> bool {
    *v == default_mtu()
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

fn default_tcp_timeout() -> i64 {
    900
}

fn default_tcpfin_timeout() -> i64 {
    120
}

fn default_udp_timeout() -> i64 {
    300
}

fn default_scheduler() -> String {
    crate::DEFAULT_SCHEDULER.to_string()
}

/// ipvsadm's default forwarding method is DR (`-g`).
fn default_method() -> String {
    "dr".to_string()
}

fn default_weight() -> i64 {
    1
}

fn default_check_kind() -> String {
    "tcp".to_string()
}

fn default_check_interval() -> f64 {
    2.0
}

fn default_check_timeout() -> f64 {
    1.0
}

fn default_check_failures() -> i64 {
    3
}

fn default_check_successes() -> i64 {
    1
}

fn default_on_failure() -> String {
    "quiesce".to_string()
}

/// Parses `text` into the raw model. Malformed TOML gives [`ConfigError::Syntax`]; unknown keys,
/// missing keys and wrong types give [`ConfigError::Invalid`] with the key's path.
pub(crate) fn deserialize(text: &str) -> Result<Config, ConfigError> {
    // Parse once as plain TOML first, so that a syntax error is told apart from a schema error.
    if let Err(e) = text.parse::<toml::Table>() {
        let mut msg = String::from("TOML syntax error");
        if let Some(at) = position(text, e.span()) {
            msg.push_str(" at ");
            msg.push_str(&at);
        }
        msg.push_str(": ");
        msg.push_str(&one_line(e.message()));
        return Err(ConfigError::Syntax(msg));
    }
    serde_path_to_error::deserialize(toml::Deserializer::new(text)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner();
        let at = position(text, inner.span());
        schema_error(&path, inner.message(), at.as_deref())
    })
}

/// Rewords serde's message for an operator and moves the key of a missing field into the path.
fn schema_error(path: &str, message: &str, at: Option<&str>) -> ConfigError {
    let message = one_line(message);
    if let Some(field) = missing_field(&message) {
        let key = if path == "." {
            field.to_string()
        } else {
            format!("{path}.{field}")
        };
        let problem = match at {
            Some(at) => format!("required key is missing (in the table at {at})"),
            None => "required key is missing".to_string(),
        };
        return ConfigError::Invalid { key, problem };
    }
    let key = if path == "." {
        "(top level)".to_string()
    } else {
        path.to_string()
    };
    let mut problem = message
        .replace("unknown field", "unknown key")
        .replace("expected i64", "expected an integer")
        .replace("expected f64", "expected a number")
        .replace("expected a boolean", "expected true or false")
        .replace("expected a sequence", "expected an array")
        .replace("expected struct", "expected a table");
    if let Some(at) = at {
        problem.push_str(" (");
        problem.push_str(at);
        problem.push(')');
    }
    ConfigError::Invalid { key, problem }
}

/// The field named by serde's "missing field `x`".
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")?
        .split('`')
        .next()
        .filter(|f| !f.is_empty())
}

fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// "line L, column C" (both from 1, columns in characters) of the start of `span`.
fn position(text: &str, span: Option<std::ops::Range<usize>>) -> Option<String> {
    let before = text.get(..span?.start)?;
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..)?.chars().count() + 1;
    Some(format!("line {line}, column {column}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_characters_from_one() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(
            position(text, Some(0..1)).as_deref(),
            Some("line 1, column 1")
        );
        // 'é' is two bytes but one column.
        let at = text.find(" = 2").unwrap();
        assert_eq!(
            position(text, Some(at..at + 1)).as_deref(),
            Some("line 2, column 3")
        );
        assert_eq!(position(text, None), None);
        // A span outside the text or inside a character gives no position rather than a panic.
        assert_eq!(position(text, Some(100..101)), None);
        let inside_e = text.find('é').unwrap() + 1;
        assert_eq!(position(text, Some(inside_e..inside_e + 1)), None);
    }

    #[test]
    fn missing_field_extracts_the_name() {
        assert_eq!(missing_field("missing field `device`"), Some("device"));
        assert_eq!(missing_field("unknown field `device`"), None);
        assert_eq!(missing_field("missing field ``"), None);
    }
}
