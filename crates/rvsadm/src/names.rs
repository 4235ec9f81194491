//! Addresses and ports as ipvsadm prints them: `inet_ntop` text, or names from `/etc/hosts` and
//! `/etc/services` without `-n` (ipvsadm's `addr_to_anyname` and `port_to_anyname`; rvsadm
//! never asks DNS, where ipvsadm's `gethostbyaddr` may).

use std::fs;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

/// IPPROTO_TCP, for [`NameDb::port_to_service`].
pub const TCP: u8 = 6;
/// IPPROTO_UDP.
pub const UDP: u8 = 17;

/// `/etc/hosts` and `/etc/services`, read on first use.
pub struct NameDb {
    hosts_path: PathBuf,
    services_path: PathBuf,
    hosts: Option<Vec<(IpAddr, String)>>,
    services: Option<Vec<(u16, String, String)>>,
}

impl NameDb {
    /// The system's files.
    pub fn system() -> NameDb {
        NameDb {
            hosts_path: PathBuf::from("/etc/hosts"),
            services_path: PathBuf::from("/etc/services"),
            hosts: None,
            services: None,
        }
    }

    /// Fixed contents, for tests.
    pub fn from_text(hosts: &str, services: &str) -> NameDb {
        NameDb {
            hosts_path: PathBuf::new(),
            services_path: PathBuf::new(),
            hosts: Some(parse_hosts(hosts)),
            services: Some(parse_services(services)),
        }
    }

    /// The canonical name of `ip` (the first name of the first `/etc/hosts` line with it), as
    /// `gethostbyaddr`'s `h_name`.
    pub fn addr_to_host(&mut self, ip: IpAddr) -> Option<String> {
        let path = &self.hosts_path;
        let hosts = self
            .hosts
            .get_or_insert_with(|| parse_hosts(&fs::read_to_string(path).unwrap_or_default()));
        hosts.iter().find(|(a, _)| *a == ip).map(|(_, n)| n.clone())
    }

    /// The service name of `port` for `proto` (TCP or UDP; none for others), as
    /// `getservbyport`.
    pub fn port_to_service(&mut self, port: u16, proto: u8) -> Option<String> {
        let proto = match proto {
            TCP => "tcp",
            UDP => "udp",
            _ => return None,
        };
        let path = &self.services_path;
        let services = self
            .services
            .get_or_insert_with(|| parse_services(&fs::read_to_string(path).unwrap_or_default()));
        services
            .iter()
            .find(|(p, pr, _)| *p == port && pr == proto)
            .map(|(_, _, n)| n.clone())
    }
}

fn parse_hosts(text: &str) -> Vec<(IpAddr, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.split('#').next().unwrap_or("");
            let mut w = l.split_ascii_whitespace();
            let ip = w.next()?.parse().ok()?;
            Some((ip, w.next()?.to_string()))
        })
        .collect()
}

fn parse_services(text: &str) -> Vec<(u16, String, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.split('#').next().unwrap_or("");
            let mut w = l.split_ascii_whitespace();
            let name = w.next()?;
            let (port, proto) = w.next()?.split_once('/')?;
            Some((port.parse().ok()?, proto.to_string(), name.to_string()))
        })
        .collect()
}

/// An IPv6 address as glibc's `inet_ntop` writes it: the first longest run of two or more zero
/// groups as `::`, lowercase hex without leading zeros, and the last 32 bits as a dotted quad
/// for IPv4-compatible (`::a.b.c.d`) and IPv4-mapped (`::ffff:a.b.c.d`) addresses. (Rust's own
/// `Display` differs for `::a.b.c.d`.)
pub fn inet_ntop6(a: Ipv6Addr) -> String {
    let words = a.segments();
    // (base, len) of the best and current zero runs; glibc keeps the first of equal length.
    let mut best: Option<(usize, usize)> = None;
    let mut cur: Option<(usize, usize)> = None;
    for (i, w) in words.iter().enumerate() {
        if *w == 0 {
            cur = Some(cur.map_or((i, 1), |(b, l)| (b, l + 1)));
        } else if let Some(c) = cur.take() {
            if best.is_none_or(|b| c.1 > b.1) {
                best = Some(c);
            }
        }
    }
    if let Some(c) = cur {
        if best.is_none_or(|b| c.1 > b.1) {
            best = Some(c);
        }
    }
    let best = best.filter(|b| b.1 >= 2);
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if let Some((base, len)) = best {
            if i >= base && i < base + len {
                if i == base {
                    out.push(':');
                }
                continue;
            }
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6
            && best.is_some_and(|(base, len)| {
                base == 0 && (len == 6 || (len == 5 && words[5] == 0xffff))
            })
        {
            let o = a.octets();
            out.push_str(&format!("{}.{}.{}.{}", o[12], o[13], o[14], o[15]));
            return out;
        }
        out.push_str(&format!("{w:x}"));
    }
    if best.is_some_and(|(base, len)| base + len == 8) {
        out.push(':');
    }
    out
}

/// An address as `inet_ntop` writes it.
pub fn ntop(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => inet_ntop6(a),
    }
}

/// ipvsadm's `addrport_to_anyname`: `"%s%s%s:%u"` with brackets around IPv6, the address and
/// port numeric with `-n` (`FMT_NUMERIC`), else names where the files have them; written into
/// a 60-byte buffer by `snprintf`, so at most 59 bytes.
pub fn addrport(ip: IpAddr, port: u16, proto: u8, numeric: bool, names: &mut NameDb) -> String {
    let (open, close) = if ip.is_ipv6() { ("[", "]") } else { ("", "") };
    let mut s = if numeric {
        format!("{open}{}{close}:{port}", ntop(ip))
    } else {
        let host = names.addr_to_host(ip).unwrap_or_else(|| ntop(ip));
        let serv = names
            .port_to_service(port, proto)
            .unwrap_or_else(|| port.to_string());
        format!("{open}{host}{close}:{serv}")
    };
    truncate(&mut s, 59);
    s
}

/// Cuts `s` to at most `n` bytes (on a character boundary), as C code writing a NUL at `n`.
pub fn truncate(s: &mut String, n: usize) {
    if s.len() > n {
        let mut end = n;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_text_is_glibcs() {
        for (addr, text) in [
            ("::", "::"),
            ("::1", "::1"),
            ("2001:db8::1", "2001:db8::1"),
            ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"), // first of equal runs
            ("2001:db8:1:1:1:1:1:0", "2001:db8:1:1:1:1:1:0"), // single zero group kept
            ("fe80::", "fe80::"),
            ("::ffff:198.18.0.1", "::ffff:198.18.0.1"),
            ("::198.18.0.1", "::198.18.0.1"), // Rust's Display: ::c612:1
            ("::2:0:0:1", "::2:0:0:1"),
            ("1:0:0:2::", "1:0:0:2::"),
        ] {
            assert_eq!(inet_ntop6(addr.parse().unwrap()), text, "{addr}");
        }
    }

    #[test]
    fn names_come_from_hosts_and_services() {
        let mut db = NameDb::from_text(
            "# comment\n198.18.1.10 rs1 rs1.example\n2001:db8::10 rs6\n198.18.1.10 other\n",
            "http 80/tcp www # WorldWideWeb\nhttp 80/udp\ndomain 53/udp\n",
        );
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            addrport(ip("198.18.1.10"), 80, TCP, false, &mut db),
            "rs1:http"
        );
        assert_eq!(
            addrport(ip("198.18.1.11"), 53, TCP, false, &mut db),
            "198.18.1.11:53"
        );
        assert_eq!(
            addrport(ip("198.18.1.11"), 53, UDP, false, &mut db),
            "198.18.1.11:domain"
        );
        assert_eq!(
            addrport(ip("2001:db8::10"), 80, 0, false, &mut db),
            "[rs6]:80"
        );
        assert_eq!(
            addrport(ip("2001:db8::10"), 80, TCP, true, &mut db),
            "[2001:db8::10]:80"
        );
    }

    #[test]
    fn long_names_are_cut_at_59_bytes() {
        let long = "a".repeat(70);
        let mut db = NameDb::from_text(&format!("10.0.0.1 {long}\n"), "");
        let s = addrport("10.0.0.1".parse().unwrap(), 80, TCP, false, &mut db);
        assert_eq!(s, "a".repeat(59));
    }
}
