//! The example configurations in the repository's `config/` directory must stay valid.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use rvs_config::{load, Method, Protocol};

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

#[test]
fn every_example_config_parses() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(config_dir())
        .expect("config/ directory is readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    // The four lab files at least; a vanished directory must not pass as "nothing to check".
    assert!(
        files.len() >= 4,
        "expected the lab configs in config/, found {files:?}"
    );
    for file in &files {
        if let Err(e) = load(file) {
            panic!("{}: {e}", file.display());
        }
    }
}

#[test]
fn nat_lab_is_lab_1() {
    let c = load(&config_dir().join("nat-lab.toml")).unwrap();
    let names: Vec<&str> = c.ports.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["outside", "inside"]);
    assert_eq!(c.ports[0].device, "net_af_packet0");
    assert!(c.ports[0].args.contains("iface=rvs-out"));
    assert_eq!(c.ports[0].addresses, ["198.18.0.1/24".parse().unwrap()]);
    assert_eq!(c.ports[1].device, "net_af_packet1");
    assert!(c.ports[1].args.contains("iface=rvs-in"));
    assert_eq!(c.ports[1].addresses, ["198.18.1.1/24".parse().unwrap()]);
    // The client 198.18.0.2 is on the outside port's connected subnet.
    assert!(c.ports[0].addresses[0].contains(&Ipv4Addr::new(198, 18, 0, 2)));

    assert_eq!(c.services.len(), 1);
    let s = &c.services[0];
    assert_eq!(s.protocol(), Some(Protocol::Tcp));
    assert_eq!(
        s.address(),
        Some(SocketAddr::from((Ipv4Addr::new(198, 18, 0, 100), 80)))
    );
    assert_eq!(s.scheduler, "rr");
    let rs: Vec<(SocketAddr, Method)> = s
        .real_servers
        .iter()
        .map(|r| (r.address, r.method))
        .collect();
    assert_eq!(
        rs,
        [
            (
                SocketAddr::from((Ipv4Addr::new(198, 18, 1, 10), 80)),
                Method::Nat
            ),
            (
                SocketAddr::from((Ipv4Addr::new(198, 18, 1, 20), 80)),
                Method::Nat
            ),
        ]
    );
}

#[test]
fn dr_lab_is_lab_2() {
    let c = load(&config_dir().join("dr-lab.toml")).unwrap();
    assert_eq!(c.ports.len(), 1);
    assert_eq!(c.ports[0].addresses, ["198.18.1.2/24".parse().unwrap()]);
    assert_eq!(c.routes.len(), 1);
    assert_eq!(c.routes[0].prefix, "0.0.0.0/0".parse().unwrap());
    assert_eq!(c.routes[0].via, Some(Ipv4Addr::new(198, 18, 1, 254)));
    assert_eq!(c.routes[0].port, c.ports[0].name);

    let s = &c.services[0];
    assert_eq!(s.protocol(), Some(Protocol::Tcp));
    assert_eq!(
        s.address(),
        Some(SocketAddr::from((Ipv4Addr::new(198, 18, 1, 200), 80)))
    );
    assert_eq!(s.scheduler, "rr");
    let rs: Vec<(SocketAddr, Method)> = s
        .real_servers
        .iter()
        .map(|r| (r.address, r.method))
        .collect();
    assert_eq!(
        rs,
        [
            (
                SocketAddr::from((Ipv4Addr::new(198, 18, 1, 10), 80)),
                Method::Dr
            ),
            (
                SocketAddr::from((Ipv4Addr::new(198, 18, 1, 20), 80)),
                Method::Dr
            ),
        ]
    );
}

#[test]
fn fwmark_lab_is_lab_3() {
    use rvs_config::ServiceKey;
    let c = load(&config_dir().join("fwmark-lab.toml")).unwrap();
    let vip: std::net::IpAddr = "198.18.1.200".parse().unwrap();
    // Mark 66 is http and https to the VIP, nothing else.
    assert_eq!(c.fwmark_for(vip, Protocol::Tcp, 80), Some(66));
    assert_eq!(c.fwmark_for(vip, Protocol::Tcp, 443), Some(66));
    assert_eq!(c.fwmark_for(vip, Protocol::Tcp, 22), None);
    assert_eq!(c.fwmark_for(vip, Protocol::Udp, 443), None);
    assert_eq!(c.services.len(), 1);
    let s = &c.services[0];
    assert_eq!(
        s.key,
        ServiceKey::Fwmark {
            mark: 66,
            ipv6: false
        }
    );
    assert_eq!(s.scheduler, "rr");
    let rs: Vec<(SocketAddr, Method)> = s
        .real_servers
        .iter()
        .map(|r| (r.address, r.method))
        .collect();
    // Port 0: the packet's own destination port (80 or 443) is kept.
    assert_eq!(
        rs,
        [
            (
                SocketAddr::from((Ipv4Addr::new(198, 18, 1, 10), 0)),
                Method::Dr
            ),
            (
                SocketAddr::from((Ipv4Addr::new(198, 18, 1, 20), 0)),
                Method::Dr
            ),
        ]
    );
}

#[test]
fn fullnat_lab_is_lab_5() {
    let c = load(&config_dir().join("fullnat-lab.toml")).unwrap();
    let inside = c.port("inside").unwrap();
    assert_eq!(inside.addresses, ["198.18.1.2/24".parse().unwrap()]);
    assert_eq!(inside.local_addresses, [Ipv4Addr::new(198, 18, 1, 3)]);
    // Both RS subnets are behind the router, not on a director port.
    assert_eq!(c.routes.len(), 1);
    assert_eq!(c.routes[0].prefix, "198.18.2.0/23".parse().unwrap());
    assert_eq!(c.routes[0].via, Some(Ipv4Addr::new(198, 18, 1, 254)));
    for rip in [Ipv4Addr::new(198, 18, 2, 10), Ipv4Addr::new(198, 18, 3, 20)] {
        assert!(c.routes[0].prefix.contains(&rip));
        assert!(!c
            .ports
            .iter()
            .any(|p| p.addresses.iter().any(|n| n.contains(&rip))));
    }
    let s = &c.services[0];
    assert_eq!(
        s.address(),
        Some(SocketAddr::from((Ipv4Addr::new(198, 18, 0, 100), 80)))
    );
    assert!(s.real_servers.iter().all(|r| r.method == Method::FullNat));
    assert!(
        s.fullnat_local_addresses.is_empty(),
        "uses the inside port's LIP"
    );
}
