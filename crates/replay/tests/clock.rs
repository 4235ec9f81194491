//! The capture's clock: zero is the first packet, and timeouts run on it.

mod common;

use common::*;

const UDP_RR: &str = "\
0 -A -u 10.0.0.100:53 -s rr
0 -a -u 10.0.0.100:53 -r 192.168.1.1:53 -m
0 -a -u 10.0.0.100:53 -r 192.168.1.2:53 -m
";

#[test]
fn time_zero_is_the_first_packet() {
    // Absolute times 1700000000.25 s and 12.5 s later: decisions say 0.0 and 12.5.
    let r = Case::new(
        "zero",
        vec![
            (0, syn("172.16.0.2", 20008, "10.0.0.100", 80)),
            (12_500_000_000, syn("172.16.0.2", 20009, "10.0.0.100", 80)),
        ],
    )
    .timeline("0 -A -t 10.0.0.100:80 -s rr\n0 -a -t 10.0.0.100:80 -r 192.168.1.1:80 -m\n")
    .run()
    .unwrap();
    let t: Vec<String> = r.reals().into_iter().map(|(t, _)| t).collect();
    assert_eq!(t, ["0.0", "12.5"]);
}

#[test]
fn a_udp_connection_lives_300_seconds_of_capture_time() {
    // ip_vs_proto_udp.c udp_timeouts[IP_VS_UDP_S_NORMAL] = 5*60*HZ. The first datagram goes to
    // the last added server (rr starts at the head of the kernel's list).
    let client = || udp("172.16.0.2", 5353, "10.0.0.100", 53);

    // 299 s later the connection is there: no new decision, and the datagram follows it.
    let r = Case::new("udp299", vec![(0, client()), (299 * SEC, client())])
        .timeline(UDP_RR)
        .with_out()
        .run()
        .unwrap();
    assert_eq!(
        r.reals(),
        [("0.0".to_string(), Some("192.168.1.2:53".to_string()))]
    );
    let (out, _) = r.out.unwrap();
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|(_, f)| check(f).dst == ip("192.168.1.2")));

    // 301 s later it has expired: the datagram is scheduled anew, and rr moves on.
    let r = Case::new("udp301", vec![(0, client()), (301 * SEC, client())])
        .timeline(UDP_RR)
        .run()
        .unwrap();
    assert_eq!(
        r.reals(),
        [
            ("0.0".to_string(), Some("192.168.1.2:53".to_string())),
            ("301.0".to_string(), Some("192.168.1.1:53".to_string())),
        ]
    );
    assert_eq!(r.summary.stats.conns_expired, 1);
}

#[test]
fn a_timer_due_exactly_at_a_packet_fires_before_it() {
    let client = || udp("172.16.0.2", 5353, "10.0.0.100", 53);
    let r = Case::new("udp300", vec![(0, client()), (300 * SEC, client())])
        .timeline(UDP_RR)
        .run()
        .unwrap();
    assert_eq!(r.reals().len(), 2, "{}", r.text);
    // One microsecond earlier it is still alive.
    let r = Case::new(
        "udp300-1us",
        vec![(0, client()), (300 * SEC - 1_000, client())],
    )
    .timeline(UDP_RR)
    .run()
    .unwrap();
    assert_eq!(r.reals().len(), 1, "{}", r.text);
}

#[test]
fn ipvsadm_set_changes_the_udp_timeout_on_the_capture_clock() {
    // --set tcp tcpfin udp; 0 leaves a value as it is (ip_vs_ctl.c ip_vs_set_timeout).
    let tl = format!("{UDP_RR}0 --set 0 0 10\n");
    let client = || udp("172.16.0.2", 5353, "10.0.0.100", 53);
    let r = Case::new("set", vec![(0, client()), (11 * SEC, client())])
        .timeline(&tl)
        .run()
        .unwrap();
    assert_eq!(
        r.reals(),
        [
            ("0.0".to_string(), Some("192.168.1.2:53".to_string())),
            ("11.0".to_string(), Some("192.168.1.1:53".to_string())),
        ]
    );
}

#[test]
fn a_packet_stamped_before_its_predecessor_is_handled_at_the_predecessors_time() {
    let r = Case::new(
        "backwards",
        vec![
            (0, syn("172.16.0.2", 1000, "10.0.0.100", 80)),
            (5 * SEC, syn("172.16.0.2", 1001, "10.0.0.100", 80)),
            (4 * SEC, syn("172.16.0.2", 1002, "10.0.0.100", 80)),
        ],
    )
    .timeline("0 -A -t 10.0.0.100:80 -s rr\n0 -a -t 10.0.0.100:80 -r 192.168.1.1:80 -m\n")
    .run()
    .unwrap();
    let t: Vec<String> = r.reals().into_iter().map(|(t, _)| t).collect();
    assert_eq!(t, ["0.0", "5.0", "5.0"]);
    assert_eq!(r.summary.late_packets, 1);
}

#[test]
fn the_configurations_timeouts_are_the_starting_point() {
    let cfg = "[[ports]]\nname = \"lan\"\ndevice = \"x\"\n[timeouts]\nudp = 10\n";
    let client = || udp("172.16.0.2", 5353, "10.0.0.100", 53);
    let r = Case::new("config-timeouts", vec![(0, client()), (11 * SEC, client())])
        .config(cfg)
        .timeline(UDP_RR)
        .run()
        .unwrap();
    assert_eq!(r.reals().len(), 2, "{}", r.text);
    // And without [timeouts], the kernel's 300 s.
    let cfg = "[[ports]]\nname = \"lan\"\ndevice = \"x\"\n";
    let r = Case::new(
        "config-no-timeouts",
        vec![(0, client()), (11 * SEC, client())],
    )
    .config(cfg)
    .timeline(UDP_RR)
    .run()
    .unwrap();
    assert_eq!(r.reals().len(), 1, "{}", r.text);
}
