//! The timeline: when commands apply, in which order, and the kernel's list order of -a.

mod common;

use common::*;

const SVC: &str = "\
0 -A -t 10.0.0.100:80 -s rr
0 -a -t 10.0.0.100:80 -r 192.168.1.1:80 -m
";

fn syns(times_ns: &[u64]) -> Vec<(u64, Vec<u8>)> {
    times_ns
        .iter()
        .enumerate()
        .map(|(i, &t)| (t, syn("172.16.0.2", 20000 + i as u16, "10.0.0.100", 80)))
        .collect()
}

fn reals(r: &Replayed) -> Vec<Option<String>> {
    r.reals().into_iter().map(|(_, real)| real).collect()
}

fn s(a: &str) -> Option<String> {
    Some(a.to_string())
}

#[test]
fn a_command_at_t_applies_before_a_packet_at_exactly_t() {
    // Quiesce the only server at 5 s: a SYN at 4.999999 s still gets it, one at 5 s does not.
    let tl = format!("{SVC}5 -e -t 10.0.0.100:80 -r 192.168.1.1:80 -m -w 0\n");
    let r = Case::new("at-t", syns(&[0, 5 * SEC - 1_000, 5 * SEC]))
        .timeline(&tl)
        .run()
        .unwrap();
    assert_eq!(
        r.reals(),
        [
            ("0.0".to_string(), s("192.168.1.1:80")),
            ("4.999999".to_string(), s("192.168.1.1:80")),
            ("5.0".to_string(), None),
        ]
    );
}

#[test]
fn commands_at_the_same_time_apply_in_file_order() {
    // Weight 0 then 1 leaves the server in service; the other order would quiesce it.
    let tl = format!(
        "{SVC}3 -e -t 10.0.0.100:80 -r 192.168.1.1:80 -m -w 0\n\
         3 -e -t 10.0.0.100:80 -r 192.168.1.1:80 -m -w 1\n"
    );
    // (The first SYN sets time zero.)
    let r = Case::new("same-t", syns(&[0, 3 * SEC]))
        .timeline(&tl)
        .run()
        .unwrap();
    assert_eq!(reals(&r), [s("192.168.1.1:80"), s("192.168.1.1:80")]);

    let tl = format!(
        "{SVC}3 -e -t 10.0.0.100:80 -r 192.168.1.1:80 -m -w 1\n\
         3 -e -t 10.0.0.100:80 -r 192.168.1.1:80 -m -w 0\n"
    );
    let r = Case::new("same-t-reversed", syns(&[0, 3 * SEC]))
        .timeline(&tl)
        .run()
        .unwrap();
    assert_eq!(reals(&r), [s("192.168.1.1:80"), None]);
}

#[test]
fn real_servers_are_scanned_most_recently_added_first() {
    // ip_vs_ctl.c __ip_vs_update_dest: list_add_rcu puts a new destination at the head of
    // svc->destinations; ip_vs_rr.c ip_vs_rr_schedule starts after the list head. So with
    // RS1, RS2, RS3 added in that order, rr goes RS3, RS2, RS1, RS3.
    let tl = "\
0 -A -t 10.0.0.100:80 -s rr
0 -a -t 10.0.0.100:80 -r 192.168.1.1:80 -m
0 -a -t 10.0.0.100:80 -r 192.168.1.2:80 -m
0 -a -t 10.0.0.100:80 -r 192.168.1.3:80 -m
";
    let r = Case::new("list-order", syns(&[0, SEC, 2 * SEC, 3 * SEC]))
        .timeline(tl)
        .run()
        .unwrap();
    assert_eq!(
        reals(&r),
        [
            s("192.168.1.3:80"),
            s("192.168.1.2:80"),
            s("192.168.1.1:80"),
            s("192.168.1.3:80")
        ]
    );
}

#[test]
fn a_drain_keeps_established_connections_and_sends_new_ones_elsewhere() {
    // The drain rehearsal of the issue: RS1 quiesced at 10 s; the client that was on it stays
    // (its later segments follow the connection), new clients go to RS2.
    let tl = "\
0 -A -t 10.0.0.100:80 -s rr
0 -a -t 10.0.0.100:80 -r 192.168.1.1:80 -m
0 -a -t 10.0.0.100:80 -r 192.168.1.2:80 -m
10 -e -t 10.0.0.100:80 -r 192.168.1.1:80 -m -w 0
";
    let frames = vec![
        (0, syn("172.16.0.2", 1000, "10.0.0.100", 80)), // → RS2
        (SEC, syn("172.16.0.3", 1000, "10.0.0.100", 80)), // → RS1
        (
            11 * SEC,
            tcp("172.16.0.3", 1000, "10.0.0.100", 80, false, true),
        ),
        (12 * SEC, syn("172.16.0.4", 1000, "10.0.0.100", 80)),
        (13 * SEC, syn("172.16.0.5", 1000, "10.0.0.100", 80)),
    ];
    let r = Case::new("drain", frames)
        .timeline(tl)
        .with_out()
        .run()
        .unwrap();
    assert_eq!(
        reals(&r),
        [
            s("192.168.1.2:80"),
            s("192.168.1.1:80"),
            s("192.168.1.2:80"),
            s("192.168.1.2:80")
        ]
    );
    let (out, _) = r.out.unwrap();
    assert_eq!(
        check(&out[2].1).dst,
        ip("192.168.1.1"),
        "the ACK stays on RS1"
    );
}

#[test]
fn a_removed_real_server_drops_its_connections_and_the_decision_is_null() {
    // IPVS with expire_nodest_conn = 0: packets of connections to a removed destination are
    // dropped; a retransmitted SYN of such a connection reports "real": null.
    let tl = "\
0 -A -t 10.0.0.100:80 -s rr
0 -a -t 10.0.0.100:80 -r 192.168.1.1:80 -m
2 -d -t 10.0.0.100:80 -r 192.168.1.1:80
";
    let r = Case::new(
        "removed",
        vec![
            (0, syn("172.16.0.2", 1000, "10.0.0.100", 80)),
            (3 * SEC, syn("172.16.0.2", 1000, "10.0.0.100", 80)),
        ],
    )
    .timeline(tl)
    .run()
    .unwrap();
    assert_eq!(reals(&r), [s("192.168.1.1:80"), None]);
}

#[test]
fn without_a_config_direct_routing_works_through_the_added_default_route() {
    // DR needs the RIP on a connected segment: the on-link default route of the bare
    // configuration provides it. Only the MACs change.
    let tl = "\
0 -A -t 10.0.0.100:80 -s rr
0 -a -t 10.0.0.100:80 -r 192.168.1.1:80 -g
";
    let r = Case::new("dr", syns(&[0]))
        .timeline(tl)
        .with_out()
        .run()
        .unwrap();
    assert_eq!(reals(&r), [s("192.168.1.1:80")]);
    let (out, _) = r.out.unwrap();
    let seen = check(&out[0].1);
    assert_eq!(seen.dst, ip("10.0.0.100"));
    assert_eq!(seen.dst_mac, [0x02, 0x00, 192, 168, 1, 1]);
    assert_eq!(seen.src_mac, PORT0_MAC);
}

#[test]
fn persistence_templates_live_on_the_capture_clock() {
    // -p 10: the client's next connection within the template's life goes to the same real
    // server (ip_vs_sched_persist); 200 s later, its connections (SYN_RECV, 60 s) and the
    // template (10 s after them) are gone and rr moves on from where it was.
    let tl = "\
0 -A -t 10.0.0.100:80 -s rr -p 10
0 -a -t 10.0.0.100:80 -r 192.168.1.1:80 -m
0 -a -t 10.0.0.100:80 -r 192.168.1.2:80 -m
";
    let frames = vec![
        (0, syn("172.16.0.2", 1000, "10.0.0.100", 80)),
        (5 * SEC, syn("172.16.0.2", 1001, "10.0.0.100", 80)),
        (200 * SEC, syn("172.16.0.2", 1002, "10.0.0.100", 80)),
    ];
    let r = Case::new("persistence", frames).timeline(tl).run().unwrap();
    assert_eq!(
        reals(&r),
        [
            s("192.168.1.2:80"),
            s("192.168.1.2:80"),
            s("192.168.1.1:80")
        ]
    );
}
