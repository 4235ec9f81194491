//! OUT.pcap: the frames the director sent, rewritten, stamped with their input frame's time.

mod common;

use std::borrow::Cow;
use std::fs::File;
use std::time::Duration;

use common::*;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, TsResolution};

const NAT: &str = "\
0 -A -t 10.0.0.100:80 -s rr
0 -a -t 10.0.0.100:80 -r 192.168.1.1:8080 -m
";

#[test]
fn nat_frames_both_ways_with_the_input_times() {
    let frames = vec![
        (0, syn("172.16.0.2", 20008, "10.0.0.100", 80)),
        // The real server's SYN+ACK, back through the director (NAT).
        (
            1_000_123_000,
            tcp("192.168.1.1", 8080, "172.16.0.2", 20008, true, true),
        ),
        // Nothing to do with any service: dropped, not in OUT.pcap.
        (1_500_000_000, syn("172.16.0.2", 1, "10.0.0.99", 80)),
        (
            2_000_000_000,
            tcp("172.16.0.2", 20008, "10.0.0.100", 80, false, true),
        ),
    ];
    let r = Case::new("nat-out", frames)
        .timeline(NAT)
        .with_out()
        .run()
        .unwrap();
    let (out, res) = r.out.unwrap();
    assert_eq!(res, TsResolution::MicroSecond, "the input's resolution");
    let times: Vec<u64> = out.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        times,
        [EPOCH_NS, EPOCH_NS + 1_000_123_000, EPOCH_NS + 2_000_000_000]
    );
    let seen: Vec<Seen> = out.iter().map(|(_, f)| check(f)).collect();
    let rs_mac = [0x02, 0x00, 192, 168, 1, 1];
    let client_next_hop_mac = [0x02, 0x00, 172, 16, 0, 2];
    assert_eq!(
        seen,
        [
            Seen {
                dst_mac: rs_mac,
                src_mac: PORT0_MAC,
                src: ip("172.16.0.2"),
                dst: ip("192.168.1.1"),
                ttl: 63,
                sport: 20008,
                dport: 8080,
            },
            Seen {
                dst_mac: client_next_hop_mac,
                src_mac: PORT0_MAC,
                src: ip("10.0.0.100"),
                dst: ip("172.16.0.2"),
                ttl: 63,
                sport: 80,
                dport: 20008,
            },
            Seen {
                dst_mac: rs_mac,
                src_mac: PORT0_MAC,
                src: ip("172.16.0.2"),
                dst: ip("192.168.1.1"),
                ttl: 63,
                sport: 20008,
                dport: 8080,
            },
        ]
    );
    assert_eq!(r.summary.frames_out, 3);
    assert_eq!(r.summary.packets, 4);
}

#[test]
fn nanosecond_captures_keep_their_nanoseconds() {
    let d = dir("ns-out");
    let pcap = d.join("in.pcap");
    write_pcap_res(
        &pcap,
        &[
            (0, syn("172.16.0.2", 1, "10.0.0.100", 80)),
            (123_456_789, syn("172.16.0.2", 2, "10.0.0.100", 80)),
        ],
        TsResolution::NanoSecond,
    );
    let tl = d.join("ops.txt");
    std::fs::write(&tl, NAT).unwrap();
    let opts = rvs_replay::Options {
        pcap,
        timeline: Some(tl),
        config: None,
        out: Some(d.join("out.pcap")),
        decisions: d.join("d.jsonl"),
        max_connections: Some(64),
    };
    rvs_replay::run(&opts).unwrap();
    let (out, res) = read_pcap(&d.join("out.pcap"));
    assert_eq!(res, TsResolution::NanoSecond);
    assert_eq!(out[1].0, EPOCH_NS + 123_456_789);
    let text = std::fs::read_to_string(d.join("d.jsonl")).unwrap();
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .starts_with(r#"{"t": 0.123456789,"#),
        "{text}"
    );
}

/// A pcapng capture with one Ethernet interface whose if_tsresol is `tsresol` (None: the
/// default, microseconds), each frame's timestamp given in those units.
fn write_pcapng(path: &std::path::Path, tsresol: Option<u8>, frames: &[(u64, Vec<u8>)]) {
    let mut w = PcapNgWriter::new(File::create(path).unwrap()).unwrap();
    let mut idb = InterfaceDescriptionBlock::new(DataLink::ETHERNET, 65535);
    if let Some(r) = tsresol {
        idb.options.push(InterfaceDescriptionOption::IfTsResol(r));
    }
    w.write_pcapng_block(idb).unwrap();
    for (units, f) in frames {
        // pcap-file writes the Duration's nanoseconds as the raw timestamp.
        let epb = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_nanos(*units),
            original_len: f.len() as u32,
            data: Cow::Borrowed(f),
            options: vec![],
        };
        w.write_pcapng_block(epb).unwrap();
    }
}

#[test]
fn pcapng_input_is_read_with_its_timestamp_resolution() {
    for (name, tsresol, per_sec) in [
        ("pcapng-us", None, 1_000_000u64),
        ("pcapng-ns", Some(9u8), 1_000_000_000),
    ] {
        let d = dir(name);
        let pcap = d.join("in.pcapng");
        let t0 = 1_700_000_000 * per_sec;
        write_pcapng(
            &pcap,
            tsresol,
            &[
                (t0, syn("172.16.0.2", 1, "10.0.0.100", 80)),
                (t0 + 5 * per_sec / 2, syn("172.16.0.2", 2, "10.0.0.100", 80)),
            ],
        );
        let tl = d.join("ops.txt");
        std::fs::write(&tl, NAT).unwrap();
        let opts = rvs_replay::Options {
            pcap,
            timeline: Some(tl),
            config: None,
            out: Some(d.join("out.pcap")),
            decisions: d.join("d.jsonl"),
            max_connections: Some(64),
        };
        rvs_replay::run(&opts).unwrap();
        let text = std::fs::read_to_string(d.join("d.jsonl")).unwrap();
        let t: Vec<&str> = text.lines().map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!(t, [r#"{"t": 0.0"#, r#"{"t": 2.5"#], "{name}");
        let (out, res) = read_pcap(&d.join("out.pcap"));
        assert_eq!(res, TsResolution::NanoSecond);
        assert_eq!(out[1].0, 1_700_000_002_500_000_000, "{name}");
    }
}
