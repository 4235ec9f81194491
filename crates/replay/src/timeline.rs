//! The timeline: ipvsadm commands stamped with the capture time they take effect at.
//!
//! ```text
//! # t (seconds since the first packet)   ipvsadm arguments
//! 0     -A -t 10.0.0.100:80 -s rr
//! 0     -a -t 10.0.0.100:80 -r 192.168.1.1:80 -m
//! 12.5  -e -t 10.0.0.100:80 -r 192.168.1.1:80 -m -w 0
//! ```
//!
//! Blank lines and lines whose first non-blank character is `#` are ignored. The arguments may
//! start with the word `ipvsadm`, which is skipped, so lines can be pasted from a shell script.
//! They are split at white space (no shell quoting) and read by `rvs_config::ipvsadm`, with
//! ipvsadm 1.31's syntax and messages. Commands that only print or read (`-L`, `-S`, `-R`,
//! `-h`, `-v`) are refused.
//! Times are non-negative decimals with at most nine fractional digits, read exactly (no
//! floating point) into nanoseconds, and must not decrease from one command to the next: the
//! file is applied in its own order, which is then also time order.

use std::fmt;

use rvs_config::ipvsadm::{self, Command};

/// Nanoseconds in a second.
pub const SEC_NS: u64 = 1_000_000_000;

/// One command of the timeline.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Line number in the file (from 1), for messages.
    pub line: usize,
    /// When it applies, in nanoseconds since the first packet.
    pub t_ns: u64,
    /// The arguments as written (after the time), for messages.
    pub text: String,
    /// The parsed command.
    pub command: Command,
}

/// A problem on one line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// Line number (from 1).
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// Parses a whole timeline. Every line is checked, including commands timed after the last
/// packet, so that a mistake anywhere is reported before anything is replayed.
pub fn parse(text: &str) -> Result<Vec<Entry>, LineError> {
    let mut entries: Vec<Entry> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let err = |problem: String| LineError { line, problem };
        let mut words = trimmed.split_whitespace();
        let t_word = words.next().unwrap_or_default();
        let t_ns = parse_time(t_word).ok_or_else(|| {
            err(format!(
                "`{t_word}` is not a time: expected seconds since the first packet, as a \
                 non-negative decimal with at most 9 fractional digits (e.g. 12.5)"
            ))
        })?;
        let mut args: Vec<&str> = words.collect();
        if args.first() == Some(&"ipvsadm") {
            args.remove(0);
        }
        if args.is_empty() {
            return Err(err("no ipvsadm arguments after the time".into()));
        }
        if let Some(prev) = entries.last() {
            if t_ns < prev.t_ns {
                return Err(err(format!(
                    "time {} is before the time {} of line {}: the timeline must be in time order",
                    format_seconds(t_ns),
                    format_seconds(prev.t_ns),
                    prev.line
                )));
            }
        }
        let text = args.join(" ");
        let command = ipvsadm::parse_args(&args).map_err(|e| err(format!("`{text}`: {e}")))?;
        if let Some(what) = not_a_change(&command) {
            return Err(err(format!(
                "`{text}`: {what} does not change the table: a timeline has only -A/-E/-D, -a/-e/-d, -C, \
                 -Z and --set"
            )));
        }
        entries.push(Entry {
            line,
            t_ns,
            text,
            command,
        });
    }
    Ok(entries)
}

/// Commands that only print or read (meaningless on a timeline), by name.
fn not_a_change(c: &Command) -> Option<&'static str> {
    match c {
        Command::List(_) => Some("listing (-L)"),
        Command::Save { .. } => Some("saving (-S)"),
        Command::Restore => Some("restoring (-R)"),
        Command::Help => Some("help (-h)"),
        Command::Version => Some("the version (-v)"),
        _ => None,
    }
}

/// Seconds as written in a timeline (`12`, `12.5`, `0.000001`) to nanoseconds, exactly.
/// `None` for anything else: signs, exponents, more than nine fractional digits, overflow.
pub fn parse_time(s: &str) -> Option<u64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || !all_digits(frac) || frac.len() > 9 {
        return None;
    }
    let secs: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut frac_ns: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    for _ in frac.len()..9 {
        frac_ns *= 10;
    }
    secs.checked_mul(SEC_NS)?.checked_add(frac_ns)
}

/// Nanoseconds as decimal seconds, exactly: at least one fractional digit, trailing zeros
/// dropped (`3.0`, `12.5`, `0.000001`, `1.000000001`). A valid JSON number.
pub fn format_seconds(ns: u64) -> String {
    let secs = ns / SEC_NS;
    let frac = ns % SEC_NS;
    if frac == 0 {
        return format!("{secs}.0");
    }
    let digits = format!("{frac:09}");
    format!("{secs}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_exactly() {
        assert_eq!(parse_time("0"), Some(0));
        assert_eq!(parse_time("12.5"), Some(12_500_000_000));
        assert_eq!(parse_time("0.000001"), Some(1_000));
        assert_eq!(parse_time("1.000000001"), Some(1_000_000_001));
        assert_eq!(parse_time(".5"), Some(500_000_000));
        assert_eq!(parse_time("5."), Some(5 * SEC_NS));
        // 0.1 + 0.2 style float noise cannot happen: 0.3 is 300 000 000 ns.
        assert_eq!(parse_time("0.3"), Some(300_000_000));
        for bad in [
            "",
            ".",
            "-1",
            "+1",
            "1e3",
            "1.0000000001",
            "x",
            "1.2.3",
            "1,5",
            "99999999999999999999",
        ] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn seconds_print_without_float_noise() {
        assert_eq!(format_seconds(0), "0.0");
        assert_eq!(format_seconds(3 * SEC_NS), "3.0");
        assert_eq!(format_seconds(12_500_000_000), "12.5");
        assert_eq!(format_seconds(300_000_000), "0.3");
        assert_eq!(format_seconds(1_000), "0.000001");
        assert_eq!(format_seconds(1_000_000_001), "1.000000001");
        for ns in [0, 1, 999, 1_000, 123_456_789_012, u64::MAX] {
            assert_eq!(parse_time(&format_seconds(ns)), Some(ns));
        }
    }
}
