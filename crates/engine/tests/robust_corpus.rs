//! The hostile-frame corpus (ci/corpus: hostile.pcap, MANIFEST.tsv, hostile.toml, made by
//! ci/corpus/gen.py) replayed through the engine, frame by frame: each frame ends exactly as
//! its manifest row says (a drop under the named reason, forwarded, answered, consumed), every
//! frame sent leaves with the port's MAC and valid checksums, and after ARP and ND frames
//! claiming the director's addresses its view is unchanged: forwarded frames still go to the
//! real servers' MACs and its addresses are still answered with its own MAC.

mod common;

use std::path::PathBuf;

use common::*;
use rvs_engine::buf::CaptureIo;
use rvs_engine::{DropReason, Stats, VecBuf};

/// net_pcap's port MAC, which rvsd's replay of the same corpus gets.
const PORT_MAC: [u8; 6] = [0x02, 0x70, 0x63, 0x61, 0x70, 0x00];

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ci/corpus")
}

/// The frames of a classic pcap file (microsecond or nanosecond, either byte order).
fn read_pcap(bytes: &[u8]) -> Vec<Vec<u8>> {
    let magic = u32::from_le_bytes(bytes[0..4].try_into().unwrap());
    let le = match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d => true,
        0xd4c3_b2a1 | 0x4d3c_b2a1 => false,
        m => panic!("not a pcap file (magic {m:#x})"),
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let mut frames = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let caplen = u32_at(at + 8) as usize;
        frames.push(bytes[at + 16..at + 16 + caplen].to_vec());
        at += 16 + caplen;
    }
    frames
}

/// Manifest rows: (name, outcome, note).
fn manifest() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(corpus_dir().join("MANIFEST.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert!(cols.len() >= 3, "MANIFEST.tsv row {i}: {l:?}");
            assert_eq!(cols[0], i.to_string(), "MANIFEST.tsv rows in order");
            (
                cols[1].to_string(),
                cols[2].to_string(),
                cols.get(3).unwrap_or(&"").to_string(),
            )
        })
        .collect()
}

/// What became of one frame, from how the counters moved.
fn outcome(before: &Stats, after: &Stats) -> String {
    let mut moved = Vec::new();
    for r in DropReason::ALL {
        let n = after.drops_of(r) - before.drops_of(r);
        for _ in 0..n {
            moved.push(r.name().to_string());
        }
    }
    let d = |a: u64, b: u64| a - b;
    for _ in 0..d(after.forwarded, before.forwarded) {
        moved.push("forwarded".into());
    }
    for _ in 0..d(
        after.arp_replies + after.nd_replies + after.icmp_echo_replies,
        before.arp_replies + before.nd_replies + before.icmp_echo_replies,
    ) {
        moved.push("answered".into());
    }
    for _ in 0..d(
        after.arp_replies_received + after.nd_adverts_received,
        before.arp_replies_received + before.nd_adverts_received,
    ) {
        moved.push("consumed".into());
    }
    for _ in 0..d(after.to_kernel, before.to_kernel) {
        moved.push("to_kernel".into());
    }
    moved.join("+")
}

#[test]
fn every_hostile_frame_ends_as_the_manifest_says_and_nothing_is_poisoned() {
    let toml = std::fs::read_to_string(corpus_dir().join("hostile.toml")).unwrap();
    let frames = read_pcap(&std::fs::read(corpus_dir().join("hostile.pcap")).unwrap());
    let rows = manifest();
    assert_eq!(frames.len(), rows.len(), "one manifest row per frame");
    assert!(frames.len() >= 80, "the corpus shrank to {}", frames.len());

    let mut w = worker(&toml, &[PORT_MAC]);
    let mut io = CaptureIo::default();
    let mut wrong = Vec::new();
    let mut sent_by = Vec::new();
    for (i, (frame, (name, want, _))) in frames.iter().zip(&rows).enumerate() {
        let before = w.stats.clone();
        // As rvsd does before each burst: the prefetch pass reads every hostile frame too,
        // and must neither panic nor change any outcome.
        w.prefetch([&frame[..], &frame[..frame.len() / 2]]);
        w.handle(i as u64 * 1_000_000, 0, VecBuf::from_frame(frame), &mut io);
        let got = outcome(&before, &w.stats);
        if &got != want {
            wrong.push(format!(
                "{i} {name}: manifest says {want}, engine did {got}"
            ));
        }
        assert_eq!(
            w.stats.neighbour_held, 0,
            "{name}: static neighbours, nothing waits"
        );
        for (port, out) in io.take() {
            assert_eq!(port, 0);
            assert_eq!(&out[6..12], &PORT_MAC, "{name}: sent from the port's MAC");
            sent_by.push((name.clone(), out));
        }
    }
    assert!(wrong.is_empty(), "outcomes differ:\n{}", wrong.join("\n"));

    // What was sent, checked independently (etherparse recomputes every checksum).
    for (name, out) in &sent_by {
        match u16::from_be_bytes([out[12], out[13]]) {
            0x0800 if out[23] == 6 || out[23] == 17 => {
                check(out);
            }
            0x86dd if out[20] == 6 => {
                check6(out);
            }
            0x0806 => {
                assert_eq!(&out[20..22], &[0, 2], "{name}: only ARP replies are sent");
                assert_eq!(&out[22..28], &PORT_MAC, "{name}: ARP sender is the port");
                let sender = std::net::Ipv4Addr::new(out[28], out[29], out[30], out[31]);
                assert!(
                    [ip("198.18.1.2"), ip("198.18.1.200"), ip("198.18.1.201")].contains(&sender),
                    "{name}: ARP reply for {sender}, not one of ours"
                );
            }
            _ => {}
        }
    }

    // No poisoning: after the claims, the real servers' frames go to their own MACs and our
    // addresses are answered with the port's MAC.
    let sent = |n: &str| -> Vec<u8> {
        let v: Vec<&Vec<u8>> = sent_by
            .iter()
            .filter(|(s, _)| s == n)
            .map(|(_, f)| f)
            .collect();
        assert_eq!(v.len(), 1, "{n}: one frame sent");
        v[0].clone()
    };
    for (n, mac) in [
        ("ok_syn_dr", RS1_MAC),
        ("after_claims_syn_dr", RS1_MAC),
        ("ok_syn_nat", RS2_MAC),
        ("after_claims_syn_nat", RS2_MAC),
    ] {
        let f = sent(n);
        assert_eq!(&f[0..6], &mac, "{n}: to the real server's own MAC");
    }
    let dr = check(&sent("after_claims_syn_dr"));
    assert_eq!(dr.dst, ip("198.18.1.200"), "DR keeps the VIP");
    let nat = check(&sent("after_claims_syn_nat"));
    assert_eq!((nat.dst, nat.dport), (ip("198.18.1.20"), 8080));
    for n in ["ok_arp_request_vip", "after_claims_arp_request_dip"] {
        let f = sent(n);
        assert_eq!(&f[22..28], &PORT_MAC, "{n}: answered with the port's MAC");
    }
    // The claims were counted, not learnt.
    assert!(w.stats.drops_of(DropReason::ArpClaimsOurAddress) >= 5);
    assert!(w.stats.drops_of(DropReason::NdClaimsOurAddress) >= 2);
}

/// The manifest's totals by reason, which rvsd's replay compares with its final counters,
/// add up to the frames: each frame one outcome.
#[test]
fn the_manifest_covers_the_hostile_kinds_asked_for() {
    let rows = manifest();
    let has = |r: &str| rows.iter().filter(|(_, o, _)| o == r).count();
    for r in [
        "eth_truncated",
        "ipv4_truncated",
        "ipv4_bad_header_len",
        "ipv4_bad_total_len",
        "ipv4_bad_checksum",
        "ipv4_bad_source",
        "ipv4_fragment",
        "tcp_malformed",
        "udp_malformed",
        "ttl_exceeded",
        "icmp_malformed",
        "icmp_no_connection",
        "arp_claims_our_address",
        "arp_malformed",
        "vlan_tagged",
        "nd_claims_our_address",
        "ipv6_truncated",
        "ipv6_fragment",
    ] {
        assert!(has(r) >= 1, "no frame for {r}");
        assert!(
            DropReason::ALL.iter().any(|d| d.name() == r),
            "{r} is not a DropReason name"
        );
    }
    for (name, o, _) in &rows {
        let known = ["forwarded", "answered", "consumed"].contains(&o.as_str())
            || DropReason::ALL.iter().any(|d| d.name() == o);
        assert!(known, "{name}: unknown outcome {o}");
    }
}
