//! The file as written: the shape serde checks (known keys, types), before validation.
//!
//! Numbers are `i64` (TOML's integer) and addresses are strings so that validation, not serde,
//! words the message for an out-of-range number or a malformed address.

use serde::Deserialize;

use crate::ConfigError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default = "default_workers")]
    pub workers: i64,
    #[serde(default = "default_max_connections")]
    pub max_connections: i64,
    #[serde(default)]
    pub idle_sleep_us: i64,
    // Defaulted so that a file without ports gets validation's message, not serde's.
    #[serde(default)]
    pub ports: Vec<Port>,
    #[serde(default)]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub services: Vec<Service>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Port {
    pub name: String,
    pub device: String,
    #[serde(default)]
    pub args: String,
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default = "default_mtu")]
    pub mtu: i64,
    pub vlan: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Route {
    pub prefix: String,
    pub via: Option<String>,
    pub port: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Service {
    pub protocol: String,
    pub address: String,
    #[serde(default = "default_scheduler")]
    pub scheduler: String,
    #[serde(default)]
    pub persistence: i64,
    #[serde(default)]
    pub real_servers: Vec<RealServer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RealServer {
    pub address: String,
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default = "default_weight")]
    pub weight: i64,
}

fn default_workers() -> i64 {
    1
}

fn default_max_connections() -> i64 {
    1 << 20
}

fn default_mtu() -> i64 {
    1500
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
