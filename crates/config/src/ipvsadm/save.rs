//! `ipvsadm -S` output: ipvsadm 1.31's `print_service_entry` with `FMT_RULE`, services and real
//! servers sorted by libipvs's `ipvs_cmp_services` and `ipvs_cmp_dests`.

use std::net::{IpAddr, SocketAddr};

use super::names::NameDb;
use crate::{Config, Method, Service, ServiceKey};

/// The table as `ipvsadm -S` prints it (`-S -n` when `numeric`), in ipvsadm's sorted order:
/// services by mark, family, protocol, address and port, real servers by address and port.
///
/// Lines, exactly as ipvsadm 1.31's `printf` formats:
/// - service: `"-A %s -s %s"` then `" -p %u"` when persistent, `" -M %s"` (IPv4 `inet_ntoa`
///   netmask) or `" -M %i"` (IPv6 prefix length) when persistent with a netmask other than
///   /32 or /128, `" -o"` for one-packet scheduling, `" -b "` and the flags joined by `,`;
/// - real server: `"-a %s -r %s %s -w %d"` with `-g`, `-m` or `-i` (rvs: `--fullnat`), and
///   `" --tun-type ipip"` after a TUN one (`print_tunnel_rule`); rvs adds `" -x %u"` and
///   `" -y %u"` for thresholds that are not 0;
/// - `%s` of a service: `-t|-u ADDR:PORT` (`[ADDR]:PORT` for IPv6), or `-f %u` and ` -6`.
///
/// Without `numeric`, addresses and ports are printed as names where `/etc/hosts` and
/// `/etc/services` have them (ipvsadm asks the resolver, DNS included).
pub fn save(cfg: &Config, numeric: bool) -> String {
    write(cfg, numeric, true, &mut NameDb::default())
}

/// Like [`save`], but services and real servers in the table's own order (the order they were
/// added), so that `restore` then `apply` rebuilds the same [`Config`], real-server order
/// included, which the rr/wrr cursors and the hashing schedulers depend on.
pub fn save_in_config_order(cfg: &Config, numeric: bool) -> String {
    write(cfg, numeric, false, &mut NameDb::default())
}

pub(crate) fn write(cfg: &Config, numeric: bool, sort: bool, names: &mut NameDb) -> String {
    let mut services: Vec<&Service> = cfg.services.iter().collect();
    if sort {
        merge_sort(&mut services, |a, b| cmp_services(&a.key, &b.key));
    }
    let mut out = String::new();
    for s in services {
        let svc_name = service_name(&s.key, numeric, names);
        out.push_str(&format!("-A {svc_name} -s {}", s.scheduler));
        if s.persistence != 0 {
            out.push_str(&format!(" -p {}", s.persistence));
            let full = if s.key.is_ipv6() { 128 } else { 32 };
            if s.persistence_prefix_len != full {
                if s.key.is_ipv6() {
                    out.push_str(&format!(" -M {}", s.persistence_prefix_len));
                } else {
                    out.push_str(&format!(" -M {}", s.persistence_netmask()));
                }
            }
        }
        if s.one_packet {
            out.push_str(" -o");
        }
        if !s.sched_flags.is_empty() {
            out.push_str(" -b ");
            out.push_str(&s.sched_flags.names(&s.scheduler).join(","));
        }
        out.push('\n');

        let mut servers: Vec<_> = s.real_servers.iter().collect();
        if sort {
            merge_sort(&mut servers, |a, b| cmp_dests(&a.address, &b.address));
        }
        let proto = if matches!(s.key, ServiceKey::Udp(_)) {
            "udp"
        } else {
            "tcp"
        };
        for r in servers {
            let dname = addrport(r.address, proto, numeric, names);
            let fwd = match r.method {
                Method::Nat => "-m",
                Method::Dr => "-g",
                Method::Tun => "-i",
                Method::FullNat => "--fullnat",
            };
            out.push_str(&format!("-a {svc_name} -r {dname} {fwd} -w {}", r.weight));
            if r.method == Method::Tun {
                out.push_str(" --tun-type ipip");
            }
            if r.upper_threshold != 0 {
                out.push_str(&format!(" -x {}", r.upper_threshold));
            }
            if r.lower_threshold != 0 {
                out.push_str(&format!(" -y {}", r.lower_threshold));
            }
            out.push('\n');
        }
    }
    out
}

fn service_name(key: &ServiceKey, numeric: bool, names: &mut NameDb) -> String {
    match key {
        ServiceKey::Tcp(a) => format!("-t {}", addrport(*a, "tcp", numeric, names)),
        ServiceKey::Udp(a) => format!("-u {}", addrport(*a, "udp", numeric, names)),
        ServiceKey::Fwmark { mark, ipv6: false } => format!("-f {mark}"),
        ServiceKey::Fwmark { mark, ipv6: true } => format!("-f {mark} -6"),
    }
}

/// ipvsadm's `addrport_to_anyname`: `"%s%s%s:%u"` with brackets around an IPv6 address (or
/// its name).
fn addrport(a: SocketAddr, proto: &str, numeric: bool, names: &mut NameDb) -> String {
    let (open, close) = if a.is_ipv6() { ("[", "]") } else { ("", "") };
    if numeric {
        return format!("{open}{}{close}:{}", a.ip(), a.port());
    }
    let host = names
        .addr_to_host(a.ip())
        .unwrap_or_else(|| a.ip().to_string());
    let port = names
        .port_to_service(a.port(), proto)
        .unwrap_or_else(|| a.port().to_string());
    format!("{open}{host}{close}:{port}")
}

/// An address as libipvs's `union nf_inet_addr` in host-order 32-bit words: IPv4 in the first.
fn words(ip: IpAddr) -> [u32; 4] {
    match ip {
        IpAddr::V4(v4) => [u32::from(v4), 0, 0, 0],
        IpAddr::V6(v6) => {
            let o = v6.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            [w(0), w(4), w(8), w(12)]
        }
    }
}

/// `ntohl(a) - ntohl(b)` assigned to an `int`, as libipvs compares: unsigned subtraction read
/// as signed (so addresses more than 2^31 apart compare the "wrong" way, as in ipvsadm).
fn diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// libipvs `ipvs_cmp_services`: fwmark, af, protocol, address, port.
fn cmp_services(a: &ServiceKey, b: &ServiceKey) -> i32 {
    // (fwmark, af, protocol, address, port) as the kernel reports them: a firewall-mark service
    // has protocol TCP (ipvsadm sets it), address 0 and port 0.
    let fields = |k: &ServiceKey| -> (u32, i32, i32, Option<IpAddr>, u16) {
        let af = if k.is_ipv6() { 10 } else { 2 }; // AF_INET6, AF_INET
        match k {
            ServiceKey::Tcp(s) => (0, af, 6, Some(s.ip()), s.port()),
            ServiceKey::Udp(s) => (0, af, 17, Some(s.ip()), s.port()),
            ServiceKey::Fwmark { mark, .. } => (*mark, af, 6, None, 0),
        }
    };
    let (fa, afa, pa, ia, porta) = fields(a);
    let (fb, afb, pb, ib, portb) = fields(b);
    let mut r = diff(fa, fb);
    if r != 0 {
        return r;
    }
    r = afa - afb;
    if r != 0 {
        return r;
    }
    r = pa - pb;
    if r != 0 {
        return r;
    }
    let wa = ia.map_or([0; 4], words);
    let wb = ib.map_or([0; 4], words);
    r = if afa == 10 {
        wa.iter()
            .zip(wb.iter())
            .map(|(x, y)| diff(*x, *y))
            .find(|d| *d != 0)
            .unwrap_or(0)
    } else {
        diff(wa[0], wb[0])
    };
    if r != 0 {
        return r;
    }
    i32::from(porta) - i32::from(portb)
}

/// libipvs `ipvs_cmp_dests`: address (as the first one's family), then port.
fn cmp_dests(a: &SocketAddr, b: &SocketAddr) -> i32 {
    let (wa, wb) = (words(a.ip()), words(b.ip()));
    let r = if a.is_ipv6() {
        wa.iter()
            .zip(wb.iter())
            .map(|(x, y)| diff(*x, *y))
            .find(|d| *d != 0)
            .unwrap_or(0)
    } else {
        diff(wa[0], wb[0])
    };
    if r != 0 {
        return r;
    }
    i32::from(a.port()) - i32::from(b.port())
}

/// A stable top-down merge sort taking from the left run while `cmp <= 0`, as glibc's `msort`
/// behind `qsort`. Unlike `slice::sort_by` it accepts a comparison that is not a total order
/// (libipvs's wrapping one), never panicking on it.
fn merge_sort<T: Copy>(v: &mut [T], cmp: impl Fn(&T, &T) -> i32 + Copy) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    merge_sort(&mut v[..n1], cmp);
    merge_sort(&mut v[n1..], cmp);
    let (left, right) = (v[..n1].to_vec(), v[n1..].to_vec());
    let (mut i, mut j) = (0, 0);
    for slot in v.iter_mut() {
        let take_left = match (left.get(i), right.get(j)) {
            (Some(l), Some(r)) => cmp(l, r) <= 0,
            (Some(_), None) => true,
            _ => false,
        };
        if take_left {
            if let Some(l) = left.get(i) {
                *slot = *l;
            }
            i += 1;
        } else {
            if let Some(r) = right.get(j) {
                *slot = *r;
            }
            j += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_sort_is_stable_and_sorts() {
        let mut v = vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        merge_sort(&mut v, |a, b| a.0 - b.0);
        assert_eq!(v, [(1, 'b'), (1, 'e'), (2, 'd'), (3, 'a'), (3, 'c')]);
    }

    #[test]
    fn libipvs_compares_addresses_by_wrapping_difference() {
        let a: SocketAddr = "10.0.0.1:80".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let far: SocketAddr = "200.0.0.1:80".parse().unwrap();
        assert!(cmp_dests(&a, &b) < 0);
        assert!(cmp_dests(&a, &"10.0.0.1:81".parse().unwrap()) < 0);
        // 0x0a000001 - 0xc8000001 wraps to a positive int: ipvsadm puts 10.0.0.1 after
        // 200.0.0.1.
        assert!(cmp_dests(&a, &far) > 0);
    }

    #[test]
    fn services_sort_fwmark_last_then_family_then_protocol() {
        let t = ServiceKey::Tcp("10.0.0.1:80".parse().unwrap());
        let u = ServiceKey::Udp("10.0.0.1:53".parse().unwrap());
        let t6 = ServiceKey::Tcp("[2001:db8::1]:80".parse().unwrap());
        let f = ServiceKey::Fwmark {
            mark: 1,
            ipv6: false,
        };
        assert!(cmp_services(&t, &u) < 0);
        assert!(cmp_services(&u, &t6) < 0);
        assert!(cmp_services(&t6, &f) < 0);
    }

    #[test]
    fn names_without_numeric() {
        let mut db = NameDb::from_text("http 80/tcp\n", "198.18.1.10 rs1\n2001:db8::10 rs6\n");
        assert_eq!(
            addrport("198.18.1.10:80".parse().unwrap(), "tcp", false, &mut db),
            "rs1:http"
        );
        assert_eq!(
            addrport("198.18.1.11:8080".parse().unwrap(), "tcp", false, &mut db),
            "198.18.1.11:8080"
        );
        assert_eq!(
            addrport("[2001:db8::10]:80".parse().unwrap(), "udp", false, &mut db),
            "[rs6]:80"
        );
        assert_eq!(
            addrport("[2001:db8::10]:80".parse().unwrap(), "udp", true, &mut db),
            "[2001:db8::10]:80"
        );
    }
}
