//! The built binary, end to end.

mod common;

use std::process::Command;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_rvs-replay");

#[test]
fn the_binary_replays_a_capture_with_a_timeline() {
    let d = dir("cli");
    let pcap = d.join("in.pcap");
    write_pcap(
        &pcap,
        &[
            (0, syn("172.16.0.2", 20008, "10.0.0.100", 80)),
            (SEC, syn("172.16.0.3", 20009, "10.0.0.100", 80)),
            (12_500_000_000, syn("172.16.0.4", 20010, "10.0.0.100", 80)),
        ],
    );
    let tl = d.join("ops.txt");
    std::fs::write(
        &tl,
        "\
# the service and two real servers at time zero
0    ipvsadm -A -t 10.0.0.100:80 -s rr
0    -a -t 10.0.0.100:80 -r 192.168.1.1:80 -m
0    -a -t 10.0.0.100:80 -r 192.168.1.2:80 -m
# drain 192.168.1.2
12.5 -e -t 10.0.0.100:80 -r 192.168.1.2:80 -m -w 0
",
    )
    .unwrap();
    let decisions = d.join("decisions.jsonl");
    let out = d.join("out.pcap");
    let o = Command::new(BIN)
        .arg("--pcap")
        .arg(&pcap)
        .arg("--timeline")
        .arg(&tl)
        .arg("--out")
        .arg(&out)
        .arg("--decisions")
        .arg(&decisions)
        .args(["--max-connections", "1000"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&decisions).unwrap(),
        concat!(
            r#"{"t": 0.0, "proto": "tcp", "client": "172.16.0.2:20008", "vip": "10.0.0.100:80", "real": "192.168.1.2:80"}"#,
            "\n",
            r#"{"t": 1.0, "proto": "tcp", "client": "172.16.0.3:20009", "vip": "10.0.0.100:80", "real": "192.168.1.1:80"}"#,
            "\n",
            r#"{"t": 12.5, "proto": "tcp", "client": "172.16.0.4:20010", "vip": "10.0.0.100:80", "real": "192.168.1.1:80"}"#,
            "\n",
        )
    );
    assert_eq!(read_pcap(&out).0.len(), 3);
    assert_eq!(
        stderr.trim(),
        "rvs-replay: 3 packets, 4 timeline commands, 3 decisions, 3 frames out, 3 connections"
    );
}

#[test]
fn the_binary_exits_non_zero_naming_the_file_and_line() {
    let d = dir("cli-err");
    let pcap = d.join("in.pcap");
    write_pcap(&pcap, &[(0, syn("172.16.0.2", 1, "10.0.0.100", 80))]);
    let tl = d.join("ops.txt");
    std::fs::write(&tl, "0 -A -t 10.0.0.100:80\n\n1,5 -C\n").unwrap();
    let o = Command::new(BIN)
        .arg("--pcap")
        .arg(&pcap)
        .arg("--timeline")
        .arg(&tl)
        .arg("--decisions")
        .arg(d.join("d.jsonl"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.starts_with(&format!(
            "rvs-replay: {}:3: `1,5` is not a time",
            tl.display()
        )),
        "{stderr}"
    );
    // --decisions is required.
    let o = Command::new(BIN).arg("--pcap").arg(&pcap).output().unwrap();
    assert!(!o.status.success());
}
