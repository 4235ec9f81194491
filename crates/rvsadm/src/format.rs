//! ipvsadm 1.31's listings, to the column: `list_all`, `list_service`, `print_title`,
//! `print_service_entry`, `print_largenum`, `list_conn`/`print_conn` and `list_timeout` of its
//! ipvsadm.c, with its sorting (libipvs `ipvs_cmp_services`, `ipvs_cmp_dests` through
//! `qsort`). Each function cites the C format strings it reproduces; Rust's `{:<N}` and
//! `{:>N}` pad exactly as printf's `%-Ns` and `%Ns` do (never truncating).

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use rvs_config::ipvsadm::ListOptions;
use rvs_config::{Method, ServiceKey};
use rvs_control::protocol::{ConnEntry, RealServerEntry, ServiceEntry, Table, Timeouts};

use crate::names::{addrport, truncate, NameDb, TCP, UDP};

/// ipvsadm's first line: the kernel's IPVS version and its connection hash table size
/// (`IP_VS_CONN_TAB_SIZE`, 2^12 by default). rvs's per-worker tables have no such single size;
/// the kernel default is printed so that scripts matching the line keep working.
pub const HEADER: &str = "IP Virtual Server version 1.2.1 (size=4096)\n";

/// `list_all`: `"IP Virtual Server version %d.%d.%d (size=%d)\n"`, the title, then every
/// service, sorted by `ipvs_cmp_services` unless `--nosort`.
pub fn list_all(table: &Table, o: &ListOptions, names: &mut NameDb) -> String {
    let mut out = String::from(HEADER);
    print_title(&mut out, o);
    let mut services: Vec<&ServiceEntry> = table.services.iter().collect();
    if !o.nosort {
        qsort(&mut services, |a, b| cmp_services(&a.key, &b.key));
    }
    for s in services {
        print_service_entry(&mut out, s, o, names);
    }
    out
}

/// `list_service`: the title and one service (no version line).
pub fn list_service(s: &ServiceEntry, o: &ListOptions, names: &mut NameDb) -> String {
    let mut out = String::new();
    print_title(&mut out, o);
    print_service_entry(&mut out, s, o, names);
    out
}

/// `list_timeout`: `"Timeout (tcp tcpfin udp): %d %d %d\n"`.
pub fn list_timeout(t: &Timeouts) -> String {
    format!(
        "Timeout (tcp tcpfin udp): {} {} {}\n",
        t.tcp, t.tcpfin, t.udp
    )
}

/// `print_title`, in its order of precedence: `--stats`, `--rate`, `--thresholds`,
/// `--persistent-conn`, `--tun-info`, plain.
fn print_title(out: &mut String, o: &ListOptions) {
    let columns = |out: &mut String, c: [&str; 5]| {
        // "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n"
        let _ = write!(
            out,
            "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
            "Prot LocalAddress:Port", c[0], c[1], c[2], c[3], c[4]
        );
    };
    if o.stats {
        columns(out, ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"]);
    } else if o.rate {
        columns(out, ["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"]);
    } else if o.thresholds {
        // "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n"
        let _ = write!(
            out,
            "{:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
            "Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        );
    } else if o.persistent_conn {
        // "%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n"
        let _ = write!(
            out,
            "{:<33} {:<9} {:<11} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
            "Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn", "InActConn"
        );
    } else if o.tun_info {
        out.push_str(
            "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n",
        );
    } else {
        out.push_str(
            "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
        );
    }
}

/// `print_largenum`: with `--exact` `"%*llu"` in a field of 9, or one more than the digits when
/// there are more than 8; otherwise `"%9llu"` below 100 million, then `"%8lluK"` (thousands)
/// below 1e9, `"%8lluM"` below 1e11, `"%8lluG"` below 1e14 and `"%8lluT"` above.
pub fn print_largenum(out: &mut String, i: u64, exact: bool) {
    let _ = if exact {
        let len = i.to_string().len();
        let width = if len <= 8 { 9 } else { len + 1 };
        write!(out, "{i:>width$}")
    } else if i < 100_000_000 {
        write!(out, "{i:>9}")
    } else if i < 1_000_000_000 {
        write!(out, "{:>8}K", i / 1000)
    } else if i < 100_000_000_000 {
        write!(out, "{:>8}M", i / 1_000_000)
    } else if i < 100_000_000_000_000 {
        write!(out, "{:>8}G", i / 1_000_000_000)
    } else {
        write!(out, "{:>8}T", i / 1_000_000_000_000)
    };
}

/// `print_sched_flags`: `sh-fallback,sh-port` for sh, `mh-…` for mh, `flag-1,flag-2`
/// otherwise (IP_VS_SVC_F_SCHED1 = fallback, SCHED2 = port).
fn sched_flags(s: &ServiceEntry) -> String {
    let (f1, f2) = match s.scheduler.as_str() {
        "sh" => ("sh-fallback", "sh-port"),
        "mh" => ("mh-fallback", "mh-port"),
        _ => ("flag-1", "flag-2"),
    };
    let mut v = Vec::new();
    if s.sched_flags.fallback {
        v.push(f1);
    }
    if s.sched_flags.port {
        v.push(f2);
    }
    v.join(",")
}

/// The protocol number ipvsadm has for a service: TCP for firewall-mark services (its
/// `parse_options` sets "a sane value, even though it is not used").
fn service_proto(key: &ServiceKey) -> u8 {
    match key {
        ServiceKey::Udp(_) => UDP,
        _ => TCP,
    }
}

/// `fwd_name`: the Forward column. FullNAT, which the kernel lacks, is `FullNat` as DPVS's
/// ipvsadm prints it.
fn fwd_name(m: Method) -> &'static str {
    match m {
        Method::Nat => "Masq",
        Method::Dr => "Route",
        Method::Tun => "Tunnel",
        Method::FullNat => "FullNat",
    }
}

/// `print_service_entry` without `FMT_RULE` (`-S` is `rvs_config::ipvsadm::save`).
fn print_service_entry(out: &mut String, s: &ServiceEntry, o: &ListOptions, names: &mut NameDb) {
    let proto = service_proto(&s.key);
    let svc_name = match s.key {
        // "FWM  %d" / "FWM  %d IPv6" (marks printed unsigned, as ipvsadm after 1.31)
        ServiceKey::Fwmark { mark, ipv6: false } => format!("FWM  {mark}"),
        ServiceKey::Fwmark { mark, ipv6: true } => format!("FWM  {mark} IPv6"),
        ServiceKey::Tcp(a) | ServiceKey::Udp(a) => {
            // "%-4s %s" with protocol_name; IPv4 names are cut at 33 (svc_name[33] = '\0').
            let pname = if proto == UDP { "UDP" } else { "TCP" };
            let vname = addrport(a.ip(), a.port(), proto, o.numeric, names);
            let mut n = format!("{pname:<4} {vname}");
            if a.is_ipv4() {
                truncate(&mut n, 33);
            }
            n
        }
    };

    if o.stats || o.rate {
        // printf("%-33s", svc_name), then print_largenum of each counter.
        let _ = write!(out, "{svc_name:<33}");
        let v = if o.stats {
            let t = &s.stats;
            [t.conns, t.inpkts, t.outpkts, t.inbytes, t.outbytes]
        } else {
            let r = &s.rates;
            [r.cps, r.inpps, r.outpps, r.inbps, r.outbps]
        };
        for x in v {
            print_largenum(out, x, o.exact);
        }
    } else {
        // "%s %s", then " (" flags ")", " persistent %u", " mask %s" (IPv4 inet_ntoa) or
        // " mask %i" (IPv6 prefix length), " ops".
        let _ = write!(out, "{svc_name} {}", s.scheduler);
        if s.sched_flags.fallback || s.sched_flags.port {
            let _ = write!(out, " ({})", sched_flags(s));
        }
        if s.persistence != 0 {
            let _ = write!(out, " persistent {}", s.persistence);
            if s.key.is_ipv6() {
                if s.persistence_prefix_len != 128 {
                    let _ = write!(out, " mask {}", s.persistence_prefix_len);
                }
            } else if s.persistence_prefix_len != 32 {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(s.persistence_prefix_len.min(32)))
                    .unwrap_or(0);
                let _ = write!(out, " mask {}", std::net::Ipv4Addr::from(mask));
            }
        }
        if s.one_packet {
            out.push_str(" ops");
        }
    }
    out.push('\n');

    let mut dests: Vec<&RealServerEntry> = s.real_servers.iter().collect();
    if !o.nosort {
        qsort(&mut dests, |a, b| cmp_dests(&a.address, &b.address));
    }
    for e in dests {
        let mut dname = addrport(e.address.ip(), e.address.port(), proto, o.numeric, names);
        // if (!(format & FMT_RULE) && (e->af != AF_INET6)) dname[28] = '\0';
        if e.address.is_ipv4() {
            truncate(&mut dname, 28);
        }
        if o.stats {
            // "  -> %-28s" then print_largenum of each counter, "\n"
            let _ = write!(out, "  -> {dname:<28}");
            let t = &e.stats;
            for x in [t.conns, t.inpkts, t.outpkts, t.inbytes, t.outbytes] {
                print_largenum(out, x, o.exact);
            }
            out.push('\n');
        } else if o.rate {
            // "  -> %-28s %8llu %8llu %8llu" then print_largenum of inbps and outbps, "\n"
            let r = &e.rates;
            let _ = write!(
                out,
                "  -> {dname:<28} {:>8} {:>8} {:>8}",
                r.cps, r.inpps, r.outpps
            );
            print_largenum(out, r.inbps, o.exact);
            print_largenum(out, r.outbps, o.exact);
            out.push('\n');
        } else if o.thresholds {
            // "  -> %-28s %-10u %-10u %-10u %-10u\n"
            let _ = writeln!(
                out,
                "  -> {dname:<28} {:<10} {:<10} {:<10} {:<10}",
                e.upper_threshold, e.lower_threshold, e.active_connections, e.inactive_connections
            );
        } else if o.persistent_conn {
            // "  -> %-28s %-9u %-11u %-10u %-10u\n"
            let _ = writeln!(
                out,
                "  -> {dname:<28} {:<9} {:<11} {:<10} {:<10}",
                e.weight, e.persistent_connections, e.active_connections, e.inactive_connections
            );
        } else if o.tun_info {
            // "  -> %-28s %-7s %-13s %-6d %-10u %-10u\n", tunnel info "ipip" or NA ("n/a")
            let ti = if e.method == Method::Tun {
                "ipip"
            } else {
                "n/a"
            };
            let _ = writeln!(
                out,
                "  -> {dname:<28} {:<7} {:<13} {:<6} {:<10} {:<10}",
                fwd_name(e.method),
                ti,
                e.weight,
                e.active_connections,
                e.inactive_connections
            );
        } else {
            // "  -> %-28s %-7s %-6d %-10u %-10u\n"
            let _ = writeln!(
                out,
                "  -> {dname:<28} {:<7} {:<6} {:<10} {:<10}",
                fwd_name(e.method),
                e.weight,
                e.active_connections,
                e.inactive_connections
            );
        }
    }
}

/// `list_conn`: `"IPVS connection entries\n"`, the header `"pro expire %-11s %-18s %-18s %s\n"`
/// (with `--persistent-conn` `"pro expire %-11s %-18s %-18s %-18s %-16s %s\n"` and the
/// persistence-engine columns), then `print_conn` for each entry in the order given.
pub fn list_conn(conns: &[ConnEntry], o: &ListOptions, names: &mut NameDb) -> String {
    let mut out = String::from("IPVS connection entries\n");
    if o.persistent_conn {
        // printf("pro expire %-11s %-18s %-18s %-18s %-16s %s\n", "state", "source",
        //        "virtual", "destination", "pe name", "pe_data")
        let _ = writeln!(
            out,
            "pro expire {:<11} {:<18} {:<18} {:<18} {:<16} pe_data",
            "state", "source", "virtual", "destination", "pe name"
        );
    } else {
        // printf("pro expire %-11s %-18s %-18s %s\n", "state", "source", "virtual",
        //        "destination")
        let _ = writeln!(
            out,
            "pro expire {:<11} {:<18} {:<18} destination",
            "state", "source", "virtual"
        );
    }
    for c in conns {
        print_conn(&mut out, c, o.numeric, names);
    }
    out
}

/// `print_conn` for a kernel line without persistence-engine data (rvs has no persistence
/// engines): `"%-3s %-6s %-11s %-18s %-18s %s\n"` with the expiry as `"%02d:%02d"` (minutes,
/// seconds), names by the protocol (`TCP`, `UDP`; none for others).
fn print_conn(out: &mut String, c: &ConnEntry, numeric: bool, names: &mut NameDb) {
    let proto = match c.protocol.as_str() {
        "TCP" => TCP,
        "UDP" => UDP,
        _ => 0,
    };
    let mut name = |a: SocketAddr| -> String { addrport(a.ip(), a.port(), proto, numeric, names) };
    let (cname, vname, dname) = (name(c.source), name(c.virtual_address), name(c.destination));
    let expire = format!("{:02}:{:02}", c.expires / 60, c.expires % 60);
    let _ = writeln!(
        out,
        "{:<3} {:<6} {:<11} {:<18} {:<18} {}",
        c.protocol, expire, c.state, cname, vname, dname
    );
}

// ------------------------------------------------------------------ sorting as libipvs

/// An address as libipvs's `union nf_inet_addr` in host-order 32-bit words.
fn words(ip: IpAddr) -> [u32; 4] {
    match ip {
        IpAddr::V4(a) => [u32::from(a), 0, 0, 0],
        IpAddr::V6(a) => {
            let s = a.segments();
            let w = |i: usize| (u32::from(s[i]) << 16) | u32::from(s[i + 1]);
            [w(0), w(2), w(4), w(6)]
        }
    }
}

/// `ntohl(a) - ntohl(b)` stored in an `int`: the unsigned difference read as signed.
fn diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// libipvs `ipvs_cmp_services`: fwmark, family, protocol, address (as the first one's family),
/// port, each by subtraction.
pub fn cmp_services(a: &ServiceKey, b: &ServiceKey) -> i32 {
    let fields = |k: &ServiceKey| -> (u32, i32, i32, [u32; 4], i32) {
        let af = if k.is_ipv6() { 10 } else { 2 }; // AF_INET6, AF_INET
        match k {
            ServiceKey::Tcp(s) | ServiceKey::Udp(s) => (
                0,
                af,
                i32::from(service_proto(k)),
                words(s.ip()),
                i32::from(s.port()),
            ),
            ServiceKey::Fwmark { mark, .. } => (*mark, af, i32::from(TCP), [0; 4], 0),
        }
    };
    let (fa, afa, pa, wa, porta) = fields(a);
    let (fb, afb, pb, wb, portb) = fields(b);
    let mut r = diff(fa, fb);
    if r == 0 {
        r = afa - afb;
    }
    if r == 0 {
        r = pa - pb;
    }
    if r == 0 {
        r = cmp_words(afa == 10, &wa, &wb);
    }
    if r == 0 {
        r = porta - portb;
    }
    r
}

/// libipvs `ipvs_cmp_dests`: address (as the first one's family), then port.
pub fn cmp_dests(a: &SocketAddr, b: &SocketAddr) -> i32 {
    let r = cmp_words(a.is_ipv6(), &words(a.ip()), &words(b.ip()));
    if r != 0 {
        return r;
    }
    i32::from(a.port()) - i32::from(b.port())
}

fn cmp_words(v6: bool, a: &[u32; 4], b: &[u32; 4]) -> i32 {
    if v6 {
        a.iter()
            .zip(b)
            .map(|(x, y)| diff(*x, *y))
            .find(|d| *d != 0)
            .unwrap_or(0)
    } else {
        diff(a[0], b[0])
    }
}

/// glibc's `qsort` as ipvsadm's systems run it (`msort`: a top-down merge sort, the left run
/// winning ties), which accepts libipvs's comparison even where it is not a total order.
pub fn qsort<T: Copy>(v: &mut [T], cmp: impl Fn(&T, &T) -> i32 + Copy) {
    if v.len() <= 1 {
        return;
    }
    let mid = v.len() / 2;
    qsort(&mut v[..mid], cmp);
    qsort(&mut v[mid..], cmp);
    let (left, right) = (v[..mid].to_vec(), v[mid..].to_vec());
    let (mut i, mut j) = (0, 0);
    for slot in v.iter_mut() {
        let take_left = match (left.get(i), right.get(j)) {
            (Some(l), Some(r)) => cmp(l, r) <= 0,
            (Some(_), None) => true,
            _ => false,
        };
        let next = if take_left {
            i += 1;
            left.get(i - 1)
        } else {
            j += 1;
            right.get(j - 1)
        };
        if let Some(x) = next {
            *slot = *x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_config::SchedFlags;
    use rvs_control::protocol::{Rates, Stats};

    fn numeric() -> ListOptions {
        ListOptions {
            numeric: true,
            ..ListOptions::default()
        }
    }

    fn rs(addr: &str, method: Method, weight: u32, active: u32, inact: u32) -> RealServerEntry {
        RealServerEntry {
            address: addr.parse().unwrap(),
            method,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
            active_connections: active,
            inactive_connections: inact,
            persistent_connections: 0,
            stats: Stats::default(),
            rates: Rates::default(),
            health: None,
        }
    }

    fn svc(key: ServiceKey, sched: &str, rs: Vec<RealServerEntry>) -> ServiceEntry {
        ServiceEntry {
            key,
            scheduler: sched.into(),
            sched_flags: SchedFlags::default(),
            persistence: 0,
            persistence_prefix_len: if key.is_ipv6() { 128 } else { 32 },
            one_packet: false,
            stats: Stats::default(),
            rates: Rates::default(),
            real_servers: rs,
        }
    }

    #[test]
    fn largenum_units_and_exact() {
        let f = |i, exact| {
            let mut s = String::new();
            print_largenum(&mut s, i, exact);
            s
        };
        // "%9llu"
        assert_eq!(f(0, false), "        0");
        assert_eq!(f(99_999_999, false), " 99999999");
        // "%8lluK" of i/1000
        assert_eq!(f(100_000_000, false), "  100000K");
        assert_eq!(f(999_999_999, false), "  999999K");
        // "%8lluM"
        assert_eq!(f(1_000_000_000, false), "    1000M");
        assert_eq!(f(99_999_999_999, false), "   99999M");
        // "%8lluG"
        assert_eq!(f(100_000_000_000, false), "     100G");
        // "%8lluT"
        assert_eq!(f(100_000_000_000_000, false), "     100T");
        assert_eq!(f(u64::MAX, false), "18446744T");
        // "%*llu": width 9 up to 8 digits, else digits + 1
        assert_eq!(f(12, true), "       12");
        assert_eq!(f(99_999_999, true), " 99999999");
        assert_eq!(f(123_456_789, true), " 123456789");
        assert_eq!(f(u64::MAX, true), " 18446744073709551615");
    }

    #[test]
    fn long_ipv4_names_are_cut_ipv6_are_not() {
        let mut db = NameDb::from_text(
            &format!(
                "10.0.0.1 {}\n10.0.0.2 {}\n2001:db8::2 {}\n",
                "v".repeat(40),
                "r".repeat(40),
                "s".repeat(40)
            ),
            "",
        );
        let t = Table {
            services: vec![svc(
                ServiceKey::Tcp("10.0.0.1:80".parse().unwrap()),
                "rr",
                vec![rs("10.0.0.2:80", Method::Nat, 1, 0, 0)],
            )],
        };
        let out = list_all(&t, &ListOptions::default(), &mut db);
        let lines: Vec<&str> = out.lines().collect();
        // "TCP  " + the name, cut to 33 bytes in all, then " rr"
        assert_eq!(lines[3], format!("TCP  {} rr", "v".repeat(28)));
        // dname cut to 28
        assert_eq!(
            lines[4],
            format!(
                "  -> {} Masq    1      0          0         ",
                "r".repeat(28)
            )
        );
        let t6 = Table {
            services: vec![svc(
                ServiceKey::Tcp("[2001:db8::1]:80".parse().unwrap()),
                "rr",
                vec![rs("[2001:db8::2]:80", Method::Nat, 1, 0, 0)],
            )],
        };
        let out = list_all(&t6, &ListOptions::default(), &mut db);
        assert!(out.contains(&format!("  -> [{}]:80 Masq", "s".repeat(40))));
    }

    #[test]
    fn services_sort_as_libipvs() {
        let t = |s: &str| ServiceKey::Tcp(s.parse().unwrap());
        let u = |s: &str| ServiceKey::Udp(s.parse().unwrap());
        let mut keys = vec![
            ServiceKey::Fwmark {
                mark: 2,
                ipv6: false,
            },
            u("10.0.0.1:53"),
            t("[2001:db8::1]:80"),
            t("10.0.0.2:80"),
            ServiceKey::Fwmark {
                mark: 1,
                ipv6: true,
            },
            t("10.0.0.1:443"),
            t("10.0.0.1:80"),
            ServiceKey::Fwmark {
                mark: 1,
                ipv6: false,
            },
        ];
        qsort(&mut keys, cmp_services);
        let text: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        assert_eq!(
            text,
            [
                "tcp 10.0.0.1:80",
                "tcp 10.0.0.1:443",
                "tcp 10.0.0.2:80",
                "udp 10.0.0.1:53",
                "tcp [2001:db8::1]:80",
                "fwmark 1",
                "fwmark 1 ipv6",
                "fwmark 2",
            ]
        );
        // The wrapping difference: 10.0.0.1 - 200.0.0.1 is positive as an int.
        assert!(
            cmp_dests(
                &"10.0.0.1:80".parse().unwrap(),
                &"200.0.0.1:80".parse().unwrap()
            ) > 0
        );
    }

    #[test]
    fn names_without_numeric_use_the_services_protocol() {
        let mut db = NameDb::from_text(
            "198.18.1.30 rs30\n198.18.0.100 vip\n",
            "http 80/tcp\ndomain 53/udp\nhttp-udp 80/udp\n",
        );
        let t = Table {
            services: vec![
                svc(
                    ServiceKey::Fwmark {
                        mark: 66,
                        ipv6: false,
                    },
                    "mh",
                    vec![rs("198.18.1.30:80", Method::Dr, 1, 0, 0)],
                ),
                svc(
                    ServiceKey::Udp("198.18.0.100:53".parse().unwrap()),
                    "rr",
                    vec![rs("198.18.1.30:80", Method::Dr, 1, 0, 0)],
                ),
            ],
        };
        // A firewall-mark service names ports as TCP (ipvsadm gives it IPPROTO_TCP); a UDP
        // service as UDP.
        assert_eq!(
            list_all(&t, &ListOptions::default(), &mut db),
            concat!(
                "IP Virtual Server version 1.2.1 (size=4096)\n",
                "Prot LocalAddress:Port Scheduler Flags\n",
                "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
                "UDP  vip:domain rr\n",
                "  -> rs30:http-udp                Route   1      0          0         \n",
                "FWM  66 mh\n",
                "  -> rs30:http                    Route   1      0          0         \n",
            )
        );
    }

    #[test]
    fn connection_lines() {
        let c = ConnEntry {
            protocol: "TCP".into(),
            state: "ESTABLISHED".into(),
            expires: 899,
            source: "10.1.0.5:40000".parse().unwrap(),
            virtual_address: "198.18.0.100:80".parse().unwrap(),
            destination: "198.18.1.10:80".parse().unwrap(),
            local: None,
            worker: 0,
        };
        let out = list_conn(&[c], &numeric(), &mut NameDb::from_text("", ""));
        assert_eq!(
            out,
            "IPVS connection entries\n\
             pro expire state       source             virtual            destination\n\
             TCP 14:59  ESTABLISHED 10.1.0.5:40000     198.18.0.100:80    198.18.1.10:80\n"
        );
    }
}
