//! Errors name the file and the line (or packet), and a bad timeline stops the replay before
//! anything is written.

mod common;

use common::*;

fn one_syn() -> Vec<(u64, Vec<u8>)> {
    vec![
        (0, syn("172.16.0.2", 1, "10.0.0.100", 80)),
        (SEC, syn("172.16.0.2", 2, "10.0.0.100", 80)),
    ]
}

/// The error of a replay, with the test directory's path taken out of it.
fn error_of(case: Case) -> String {
    let opts = case.prepare();
    let e = rvs_replay::run(&opts).expect_err("the replay must fail");
    assert!(
        !opts.decisions.exists(),
        "nothing is written when the inputs are refused"
    );
    let d = opts.pcap.parent().unwrap().display().to_string();
    e.to_string().replace(&format!("{d}/"), "")
}

#[test]
fn a_line_that_does_not_start_with_a_time() {
    let e = error_of(
        Case::new("err-time", one_syn()).timeline("# x\n\n0 -A -t 10.0.0.100:80\nsoon -C\n"),
    );
    assert!(e.starts_with("ops.txt:4: `soon` is not a time"), "{e}");
}

#[test]
fn a_line_with_a_time_and_nothing_else() {
    let e = error_of(Case::new("err-empty", one_syn()).timeline("1.5\n"));
    assert_eq!(e, "ops.txt:1: no ipvsadm arguments after the time");
}

#[test]
fn times_must_not_go_backwards() {
    let e = error_of(
        Case::new("err-order", one_syn()).timeline("0 -A -t 10.0.0.100:80\n5 -C\n4.5 -C\n"),
    );
    assert_eq!(
        e,
        "ops.txt:3: time 4.5 is before the time 5.0 of line 2: the timeline must be in time order"
    );
}

#[test]
fn ipvsadm_arguments_that_do_not_parse() {
    let e = error_of(
        Case::new("err-args", one_syn())
            .timeline("0 -A -t 10.0.0.100:80\n0 -A -t 10.0.0.101:80 --bogus\n"),
    );
    assert_eq!(
        e,
        "ops.txt:2: `-A -t 10.0.0.101:80 --bogus`: --bogus: unknown option"
    );
}

#[test]
fn commands_that_only_print_are_refused() {
    let e = error_of(Case::new("err-list", one_syn()).timeline("0 -A -t 10.0.0.100:80\n1 -L -n\n"));
    assert_eq!(
        e,
        "ops.txt:2: `-L -n`: listing (-L) does not change the table: a timeline has only -A/-E/-D, \
         -a/-e/-d, -C, -Z and --set"
    );
}

#[test]
fn a_command_the_configuration_refuses_even_after_the_last_packet() {
    // The capture lasts 1 s; the bad command is at 100 s: still an error, found before the
    // replay starts.
    let e = error_of(Case::new("err-apply", one_syn()).timeline(
        "0 -A -t 10.0.0.100:80 -s rr\n\
         100 -a -t 10.0.0.200:80 -r 192.168.1.1:80 -m\n",
    ));
    assert!(
        e.starts_with("ops.txt:2: `-a -t 10.0.0.200:80 -r 192.168.1.1:80 -m`: "),
        "{e}"
    );
}

#[test]
fn a_capture_that_cannot_be_read() {
    let d = dir("err-pcap");
    let decisions = d.join("d.jsonl");
    let opts = |pcap: std::path::PathBuf| rvs_replay::Options {
        pcap,
        timeline: None,
        config: None,
        out: None,
        decisions: decisions.clone(),
        max_connections: Some(16),
    };
    let missing = d.join("missing.pcap");
    let e = rvs_replay::run(&opts(missing.clone()))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("{}: cannot open", missing.display())),
        "{e}"
    );

    let garbage = d.join("garbage.pcap");
    std::fs::write(&garbage, b"GIF89a not a capture").unwrap();
    let e = rvs_replay::run(&opts(garbage.clone()))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "{}: not a pcap or pcapng file (unknown magic number)",
            garbage.display()
        )
    );

    // A capture cut in the middle of its second packet.
    let cut = d.join("cut.pcap");
    write_pcap(&cut, &one_syn());
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let e = rvs_replay::run(&opts(cut.clone())).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}: packet 2: ", cut.display())),
        "{e}"
    );

    // Not Ethernet (LINKTYPE_RAW).
    let raw = d.join("raw.pcap");
    let header = pcap_file::pcap::PcapHeader {
        datalink: pcap_file::DataLink::RAW,
        ..Default::default()
    };
    pcap_file::pcap::PcapWriter::with_header(std::fs::File::create(&raw).unwrap(), header).unwrap();
    let e = rvs_replay::run(&opts(raw.clone())).unwrap_err().to_string();
    assert!(e.contains("only Ethernet captures can be replayed"), "{e}");
}

#[test]
fn a_configuration_that_is_refused() {
    let bad_key = "[[ports]]\nname = \"lan\"\ndevice = \"x\"\nmtu = 20\n";
    let e = error_of(Case::new("err-config", one_syn()).config(bad_key));
    assert!(e.starts_with("rvs.toml: ports[0].mtu: "), "{e}");
    let bad_syntax = "[[ports]]\nname = \"lan\"\ndevice = \n";
    let e = error_of(Case::new("err-config-syntax", one_syn()).config(bad_syntax));
    assert!(
        e.starts_with("rvs.toml: TOML syntax error at line 3"),
        "{e}"
    );
}
