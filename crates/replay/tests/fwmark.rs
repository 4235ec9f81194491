//! Firewall-mark services: the `[[fwmark]]` rules of the configuration give packets their mark;
//! the decision's "vip" is the packet's own destination.

mod common;

use common::*;

const FWMARK_CFG: &str = r#"
[[ports]]
name = "lan"
device = "replay0"
addresses = ["198.18.1.2/24"]

[[fwmark]]
mark = 66
destinations = ["198.18.1.200/32"]
protocol = "tcp"
ports = [80, 443]

[[services]]
fwmark = 66
scheduler = "rr"
"#;

#[test]
fn a_firewall_mark_service_schedules_what_its_rules_mark() {
    // Real servers added by the timeline, as `ipvsadm -a -f 66 -r RIP -g` (port 0: the
    // client's destination port, as for any DR real server of a fwmark service).
    let tl = "\
0 -a -f 66 -r 198.18.1.10 -g
0 -a -f 66 -r 198.18.1.20 -g
";
    let frames = vec![
        (0, syn("172.16.0.2", 1000, "198.18.1.200", 80)),
        (SEC, syn("172.16.0.2", 1001, "198.18.1.200", 443)),
        // Marked by no rule: another port, another protocol, another destination.
        (2 * SEC, syn("172.16.0.2", 1002, "198.18.1.200", 8080)),
        (3 * SEC, udp("172.16.0.2", 1003, "198.18.1.200", 80)),
        (4 * SEC, syn("172.16.0.2", 1004, "198.18.1.201", 80)),
        (5 * SEC, syn("172.16.0.3", 1005, "198.18.1.200", 443)),
    ];
    let r = Case::new("fwmark", frames)
        .config(FWMARK_CFG)
        .timeline(tl)
        .with_out()
        .run()
        .unwrap();
    assert_eq!(
        r.text,
        concat!(
            r#"{"t": 0.0, "proto": "tcp", "client": "172.16.0.2:1000", "vip": "198.18.1.200:80", "real": "198.18.1.20:80"}"#,
            "\n",
            r#"{"t": 1.0, "proto": "tcp", "client": "172.16.0.2:1001", "vip": "198.18.1.200:443", "real": "198.18.1.10:443"}"#,
            "\n",
            r#"{"t": 5.0, "proto": "tcp", "client": "172.16.0.3:1005", "vip": "198.18.1.200:443", "real": "198.18.1.20:443"}"#,
            "\n",
        )
    );
    // DR: the frames leave unchanged but for their MACs.
    let (out, _) = r.out.unwrap();
    assert_eq!(out.len(), 3);
    let first = check(&out[0].1);
    assert_eq!(first.dst, ip("198.18.1.200"));
    assert_eq!(first.dport, 80);
    assert_eq!(first.dst_mac, [0x02, 0x00, 198, 18, 1, 20]);
    assert_eq!(first.src_mac, PORT0_MAC);
}

#[test]
fn a_firewall_mark_service_can_be_added_by_the_timeline() {
    // The rules come from the configuration; the service and its real servers from ipvsadm.
    let cfg = r#"
[[ports]]
name = "lan"
device = "replay0"
addresses = ["198.18.1.2/24"]

[[fwmark]]
mark = 66
destinations = ["198.18.1.200/32"]
protocol = "tcp"
ports = [80, 443]
"#;
    let tl = "\
0 -A -f 66 -s rr
0 -a -f 66 -r 198.18.1.10 -g
2 -D -f 66
";
    let frames = vec![
        (0, syn("172.16.0.2", 1000, "198.18.1.200", 443)),
        // After -D the mark matches no service: no decision.
        (3 * SEC, syn("172.16.0.2", 1001, "198.18.1.200", 443)),
    ];
    let r = Case::new("fwmark-timeline", frames)
        .config(cfg)
        .timeline(tl)
        .run()
        .unwrap();
    assert_eq!(
        r.text,
        concat!(
            r#"{"t": 0.0, "proto": "tcp", "client": "172.16.0.2:1000", "vip": "198.18.1.200:443", "real": "198.18.1.10:443"}"#,
            "\n",
        )
    );
}
