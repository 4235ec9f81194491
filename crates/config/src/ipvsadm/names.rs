//! Host and service names, as ipvsadm resolves them with `gethostbyname`, `getservbyname`,
//! `gethostbyaddr` and `getservbyport`, but from files only when printing: `/etc/services` for
//! ports, `/etc/hosts` for addresses (a control thread must not wait on DNS to print a table).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};

/// Name tables, read from the system files the first time they are needed.
#[derive(Debug, Default)]
pub(crate) struct NameDb {
    services: Option<Services>,
    hosts: Option<HashMap<IpAddr, String>>,
}

#[derive(Debug, Default)]
struct Services {
    /// (name or alias, protocol) -> port.
    by_name: HashMap<(String, String), u16>,
    /// (port, protocol) -> official name (the first line for it, as getservbyport).
    by_port: HashMap<(u16, String), String>,
}

impl NameDb {
    /// Tables from the given file contents instead of the system's (tests).
    #[cfg(test)]
    pub(crate) fn from_text(services: &str, hosts: &str) -> NameDb {
        NameDb {
            services: Some(parse_services(services)),
            hosts: Some(parse_hosts(hosts)),
        }
    }

    /// `getservbyname(name, proto)`.
    pub(crate) fn service_to_port(&mut self, name: &str, proto: &str) -> Option<u16> {
        self.services()
            .by_name
            .get(&(name.to_string(), proto.to_string()))
            .copied()
    }

    /// `getservbyport(port, proto)`.
    pub(crate) fn port_to_service(&mut self, port: u16, proto: &str) -> Option<String> {
        self.services()
            .by_port
            .get(&(port, proto.to_string()))
            .cloned()
    }

    /// `gethostbyaddr`, from /etc/hosts only.
    pub(crate) fn addr_to_host(&mut self, ip: IpAddr) -> Option<String> {
        self.hosts
            .get_or_insert_with(|| parse_hosts(&read("/etc/hosts")))
            .get(&ip)
            .cloned()
    }

    /// ipvsadm's `host_to_addr`: `gethostbyname`, IPv4 only.
    pub(crate) fn host_to_addr(&mut self, name: &str) -> Option<Ipv4Addr> {
        // glibc's gethostbyname answers a name of digits and dots itself
        // (`__nss_hostname_digits_dots`): one inet_aton refused is not looked up in DNS.
        if name.is_empty() || name.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return None;
        }
        (name, 0)
            .to_socket_addrs()
            .ok()?
            .find_map(|sa| match sa.ip() {
                IpAddr::V4(ip) => Some(ip),
                IpAddr::V6(_) => None,
            })
    }

    fn services(&mut self) -> &Services {
        self.services
            .get_or_insert_with(|| parse_services(&read("/etc/services")))
    }
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `/etc/services`: `name port/proto [aliases…] [# comment]`.
fn parse_services(text: &str) -> Services {
    let mut s = Services::default();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_ascii_whitespace();
        let (Some(name), Some(pp)) = (words.next(), words.next()) else {
            continue;
        };
        let Some((port, proto)) = pp.split_once('/') else {
            continue;
        };
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        s.by_port
            .entry((port, proto.to_string()))
            .or_insert_with(|| name.to_string());
        for n in std::iter::once(name).chain(words) {
            s.by_name
                .entry((n.to_string(), proto.to_string()))
                .or_insert(port);
        }
    }
    s
}

/// `/etc/hosts`: `address name [aliases…]`; the first line naming an address gives its name.
fn parse_hosts(text: &str) -> HashMap<IpAddr, String> {
    let mut h = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_ascii_whitespace();
        let (Some(addr), Some(name)) = (words.next(), words.next()) else {
            continue;
        };
        if let Ok(ip) = addr.parse::<IpAddr>() {
            h.entry(ip).or_insert_with(|| name.to_string());
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_and_hosts_files() {
        let mut db = NameDb::from_text(
            "# comment\nhttp\t\t80/tcp\t\twww # WorldWideWeb HTTP\nhttp 80/udp\ndomain 53/udp\n",
            "127.0.0.1 localhost\n198.18.1.10 rs1 rs1.lab\n198.18.1.10 other\n",
        );
        assert_eq!(db.service_to_port("http", "tcp"), Some(80));
        assert_eq!(db.service_to_port("www", "tcp"), Some(80));
        assert_eq!(db.service_to_port("domain", "tcp"), None);
        assert_eq!(db.port_to_service(80, "tcp").as_deref(), Some("http"));
        assert_eq!(db.port_to_service(53, "udp").as_deref(), Some("domain"));
        assert_eq!(db.port_to_service(81, "tcp"), None);
        assert_eq!(
            db.addr_to_host("198.18.1.10".parse().unwrap()).as_deref(),
            Some("rs1")
        );
        assert_eq!(db.addr_to_host("198.18.1.11".parse().unwrap()), None);
    }
}
