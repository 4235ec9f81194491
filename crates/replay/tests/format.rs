//! The decisions file, byte for byte.

mod common;

use common::*;

#[test]
fn decision_lines_are_exact() {
    let tl = "\
# services
0 -A -t 10.0.0.100:80 -s rr
0 -a -t 10.0.0.100:80 -r 192.168.1.1:80 -m

0 -A -u 10.0.0.100:53 -s rr
0 -a -u 10.0.0.100:53 -r 192.168.1.2:5353 -m
";
    let frames = vec![
        (0, syn("172.16.0.2", 20008, "10.0.0.100", 80)),
        // Not an opening packet: no line.
        (SEC, tcp("172.16.0.2", 20008, "10.0.0.100", 80, false, true)),
        // SYN+ACK from a client is not an opening packet either.
        (2 * SEC, tcp("172.16.0.9", 1, "10.0.0.100", 80, true, true)),
        (12_500_000_000, udp("172.16.0.3", 40000, "10.0.0.100", 53)),
        (12_500_001_000, syn("172.16.0.4", 65535, "10.0.0.100", 80)),
        // No service: no line.
        (13 * SEC, syn("172.16.0.4", 1, "10.0.0.101", 80)),
    ];
    let r = Case::new("format", frames).timeline(tl).run().unwrap();
    assert_eq!(
        r.text,
        concat!(
            r#"{"t": 0.0, "proto": "tcp", "client": "172.16.0.2:20008", "vip": "10.0.0.100:80", "real": "192.168.1.1:80"}"#,
            "\n",
            r#"{"t": 12.5, "proto": "udp", "client": "172.16.0.3:40000", "vip": "10.0.0.100:53", "real": "192.168.1.2:5353"}"#,
            "\n",
            r#"{"t": 12.500001, "proto": "tcp", "client": "172.16.0.4:65535", "vip": "10.0.0.100:80", "real": "192.168.1.1:80"}"#,
            "\n",
        )
    );
}

#[test]
fn null_when_the_service_has_no_real_server_or_only_quiescent_ones() {
    let tl = "\
0 -A -t 10.0.0.100:80 -s wlc
0 -A -u 10.0.0.100:53 -s rr
0 -a -u 10.0.0.100:53 -r 192.168.1.2:53 -m -w 0
";
    let frames = vec![
        (0, syn("172.16.0.2", 20008, "10.0.0.100", 80)),
        (1_000, udp("172.16.0.3", 40000, "10.0.0.100", 53)),
    ];
    let r = Case::new("null", frames).timeline(tl).run().unwrap();
    assert_eq!(
        r.text,
        concat!(
            r#"{"t": 0.0, "proto": "tcp", "client": "172.16.0.2:20008", "vip": "10.0.0.100:80", "real": null}"#,
            "\n",
            r#"{"t": 0.000001, "proto": "udp", "client": "172.16.0.3:40000", "vip": "10.0.0.100:53", "real": null}"#,
            "\n",
        )
    );
    assert_eq!(r.summary.frames_out, 0);
}

#[test]
fn a_config_file_gives_the_services() {
    let cfg = r#"
[[ports]]
name = "lan"
device = "net_ring0"
addresses = ["192.168.1.254/24"]
[[services]]
protocol = "tcp"
address = "10.0.0.100:80"
scheduler = "rr"
[[services.real_servers]]
address = "192.168.1.1:80"
method = "nat"
"#;
    let r = Case::new(
        "config",
        vec![(0, syn("172.16.0.2", 20008, "10.0.0.100", 80))],
    )
    .config(cfg)
    .run()
    .unwrap();
    assert_eq!(
        r.text,
        "{\"t\": 0.0, \"proto\": \"tcp\", \"client\": \"172.16.0.2:20008\", \"vip\": \"10.0.0.100:80\", \"real\": \"192.168.1.1:80\"}\n"
    );
}
