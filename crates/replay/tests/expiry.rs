//! Dynamic schedulers see a connection leave its real server's counts at its expiry.

mod common;

use common::*;

#[test]
fn lc_stops_counting_a_connection_at_its_expiry_not_a_second_later() {
    // ip_vs_lc.c ip_vs_lc_schedule: least (activeconns << 8) + inactconns, first in list
    // order on ties. UDP connections count as inactive; each lives 300 s after its last
    // datagram (ip_vs_proto_udp.c), and the kernel's timer takes it out of the counts then.
    let tl = "\
0 -A -u 10.0.0.100:53 -s lc
0 -a -u 10.0.0.100:53 -r 192.168.1.1:53 -m
0 -a -u 10.0.0.100:53 -r 192.168.1.2:53 -m
";
    let a = || udp("172.16.0.2", 1, "10.0.0.100", 53);
    let b = || udp("172.16.0.3", 1, "10.0.0.100", 53);
    let c = || udp("172.16.0.4", 1, "10.0.0.100", 53);
    let d = || udp("172.16.0.5", 1, "10.0.0.100", 53);
    let frames = vec![
        (0, a()),           // RS2 (tie, list head)
        (100_000_000, b()), // RS1
        (200_000_000, c()), // RS2 (tie)
        (100 * SEC, b()),   // B lives on until 400 s
        // At 300.5 s A (300.0) and C (300.2) have expired: RS2 0, RS1 1 → RS2.
        (300_500_000_000, d()),
    ];
    let r = Case::new("lc-expiry", frames).timeline(tl).run().unwrap();
    let reals: Vec<Option<String>> = r.reals().into_iter().map(|(_, x)| x).collect();
    assert_eq!(
        reals,
        [
            Some("192.168.1.2:53".to_string()),
            Some("192.168.1.1:53".to_string()),
            Some("192.168.1.2:53".to_string()),
            Some("192.168.1.2:53".to_string()),
        ]
    );
}
