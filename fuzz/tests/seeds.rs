//! The seeds and every saved regression input, through the harnesses on a plain (stable)
//! build: what the fuzz targets check, without libFuzzer. Also checks that the engine seeds
//! reach what they are named after.

use std::path::Path;

use rvs_engine::DropReason;
use rvs_fuzz::{engine, seeds, wire};

fn stats(name: &str) -> rvs_engine::Stats {
    let (_, input) = seeds::engine()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no seed {name}"));
    engine::run(&input).expect("non-empty").worker.stats.clone()
}

#[test]
fn every_engine_seed_passes_the_invariants() {
    for (name, input) in seeds::engine() {
        let h = engine::run(&input).unwrap_or_else(|| panic!("{name}: empty"));
        assert!(h.frames > 0, "{name}: no frame handled");
    }
}

#[test]
fn every_wire_seed_passes() {
    for (_, input) in seeds::wire() {
        wire::run(&input);
    }
}

#[test]
fn the_seeds_reach_their_paths() {
    let s = stats("nat_tcp_conversation");
    assert!(s.forwarded >= 8, "{s:?}");
    assert_eq!(s.total_drops(), 0, "{s:?}");
    assert!(s.arp_requests >= 1 && s.arp_replies_received >= 1, "{s:?}");

    let s = stats("nat_icmp_relay");
    assert!(s.icmp_relayed >= 2, "{s:?}");

    let s = stats("tun_too_big");
    assert_eq!(s.icmp_errors_sent, 2, "{s:?}");
    assert_eq!(s.drops_of(DropReason::TunnelTooBig), 1, "{s:?}");

    let s = stats("fullnat_both_ways");
    assert!(s.toa_added >= 2 && s.icmp_relayed >= 1, "{s:?}");

    let s = stats("tables_full");
    assert!(s.drops_of(DropReason::ConnTableFull) >= 6, "{s:?}");
    assert!(s.drops_of(DropReason::NeighbourQueueFull) >= 1, "{s:?}");

    let s = stats("syn_flood_drop_entry");
    assert_eq!(s.drops_of(DropReason::ConnTableFull), 1, "{s:?}");
    assert_eq!(s.conns_dropped_half_open, 8, "{s:?}");

    let s = stats("reload_removes_and_restores");
    assert!(s.drops_of(DropReason::RealServerRemoved) >= 1, "{s:?}");

    let s = stats("arp_ours_and_claims");
    assert!(s.drops_of(DropReason::ArpClaimsOurAddress) >= 3, "{s:?}");
    assert!(s.arp_replies >= 5, "{s:?}");

    let s = stats("echo_and_local");
    assert_eq!(s.icmp_echo_replies, 2, "{s:?}");
    assert!(s.to_kernel >= 2, "{s:?}");

    let s = stats("hostile");
    for r in [
        DropReason::EthTruncated,
        DropReason::Ipv4Truncated,
        DropReason::Ipv4BadSource,
        DropReason::Ipv4Fragment,
        DropReason::TcpMalformed,
        DropReason::Ipv4BadTotalLen,
        DropReason::Ipv4BadHeaderLen,
        DropReason::VlanTagged,
        DropReason::VlanMismatch,
        DropReason::TtlExceeded,
    ] {
        assert!(s.drops_of(r) >= 1, "{} not reached: {s:?}", r.name());
    }
}

/// Inputs that once failed, saved by `ci/fuzz-smoke.sh`'s users under regressions/<target>/.
#[test]
fn regressions_stay_fixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    for (target, run) in [
        ("engine", (|d: &[u8]| drop(engine::run(d))) as fn(&[u8])),
        ("wire_parsers", wire::run as fn(&[u8])),
    ] {
        let Ok(dir) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for f in dir.flatten() {
            let data = std::fs::read(f.path()).expect("readable");
            run(&data);
        }
    }
}

#[test]
fn the_ipv6_seed_reaches_its_paths() {
    let s = stats("ipv6_methods");
    assert!(
        s.nd_replies >= 1 && s.nd_solicits >= 1 && s.nd_adverts_received >= 1,
        "{s:?}"
    );
    assert!(s.forwarded >= 8, "{s:?}");
    assert!(s.toa_added >= 1 && s.icmp_echo_replies >= 1, "{s:?}");
    for r in [
        DropReason::NdClaimsOurAddress,
        DropReason::Ipv6Fragment,
        DropReason::NdMalformed,
    ] {
        assert!(s.drops_of(r) >= 1, "{} not reached: {s:?}", r.name());
    }
}

#[test]
fn the_synproxy_seed_reaches_its_paths() {
    let s = stats("synproxy_handshake");
    assert!(s.synproxy_cookies_sent >= 1, "{s:?}");
    assert!(s.synproxy_cookies_valid >= 1, "{s:?}");
    assert!(s.synproxy_handshakes >= 1, "{s:?}");
    assert!(s.synproxy_held >= 1 && s.synproxy_released >= 1, "{s:?}");
    assert!(s.drops_of(DropReason::SynproxyBadCookie) >= 1, "{s:?}");
}
