//! The real rvsd binary on DPDK's net_pcap device: LVS.md's DR lab as a capture replayed
//! through it, untagged and on an 802.1Q VLAN port. ARP for the director's addresses is
//! answered, and four SYNs to the VIP leave with only their MAC addresses changed,
//! alternating between the two real servers.

mod common;

use common::*;
use etherparse::PacketBuilder;

const ROUTER: [u8; 6] = [0x02, 0xee, 0, 0, 0, 0xfe];
const RS1: [u8; 6] = [0x02, 0x51, 0, 0, 0, 0x10];
const RS2: [u8; 6] = [0x02, 0x52, 0, 0, 0, 0x20];

const DR: &str = r#"
[[routes]]
prefix = "0.0.0.0/0"
via = "198.18.1.254"
port = "lan"
[[services]]
protocol = "tcp"
address = "198.18.1.200:80"
scheduler = "rr"
[[services.real_servers]]
address = "198.18.1.10:80"
method = "dr"
[[services.real_servers]]
address = "198.18.1.20:80"
method = "dr"
"#;

fn syn(sport: u16) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(ROUTER, PCAP_PORT_MAC)
        .ipv4([198, 18, 0, 2], [198, 18, 1, 200], 63)
        .tcp(sport, 80, 1, 64240)
        .syn()
        .write(&mut out, &[])
        .unwrap();
    out
}

fn lab_frames() -> Vec<Vec<u8>> {
    let mut frames = vec![
        arp_request(RS1, [198, 18, 1, 10], [198, 18, 1, 2]),
        arp_request(RS2, [198, 18, 1, 20], [198, 18, 1, 2]),
        arp_request(ROUTER, [198, 18, 1, 254], [198, 18, 1, 200]),
    ];
    for p in 0..4 {
        frames.push(syn(40000 + p));
    }
    frames
}

/// Checks the DR lab's output; `tag` is the 802.1Q tag expected on every frame.
fn check(run: &Run, frames: &[Vec<u8>], tag: Option<[u8; 4]>) {
    assert!(run.success, "rvsd failed: {}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("drops: 0 total"), "{}", run.stdout);
    assert_eq!(
        run.sent.len(),
        7,
        "3 ARP replies and 4 SYNs: {}",
        run.stdout
    );
    let untag = |f: &[u8]| -> Vec<u8> {
        match tag {
            Some(t) => {
                assert_eq!(&f[12..16], &t, "tagged with the port's VLAN");
                [&f[..12], &f[16..]].concat()
            }
            None => f.to_vec(),
        }
    };
    for (f, who) in run.sent[..3].iter().zip([RS1, RS2, ROUTER]) {
        let f = untag(f);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[20..22], &[0, 2], "ARP reply");
        assert_eq!(&f[0..6], &who);
    }
    let mut macs = vec![];
    for (f, orig) in run.sent[3..].iter().zip(&frames[3..]) {
        let f = untag(f);
        let orig = untag(orig);
        assert_eq!(&f[14..], &orig[14..], "the IP packet is untouched");
        assert_eq!(&f[6..12], &PCAP_PORT_MAC);
        macs.push(<[u8; 6]>::try_from(&f[0..6]).unwrap());
    }
    assert!(
        macs == [RS2, RS1, RS2, RS1] || macs == [RS1, RS2, RS1, RS2],
        "{macs:?}"
    );
}

#[test]
fn dr_lab_replayed_through_rvsd_on_net_pcap() {
    let frames = lab_frames();
    let run = run_rvsd("pcap-dr", "addresses = [\"198.18.1.2/24\"]", DR, &frames);
    check(&run, &frames, None);
}

#[test]
fn dr_lab_on_a_vlan_port() {
    let frames: Vec<Vec<u8>> = lab_frames().iter().map(|f| tagged(f, 10)).collect();
    let run = run_rvsd(
        "pcap-vlan",
        "addresses = [\"198.18.1.2/24\"]\nvlan = 10",
        DR,
        &frames,
    );
    check(&run, &frames, Some([0x81, 0x00, 0, 10]));
}
