//! 802.1Q: a port with a VLAN id takes frames tagged with it, and tags what it sends.

mod common;

use common::*;
use rvs_engine::buf::CaptureIo;
use rvs_engine::DropReason;

fn tag(frame: &[u8], vid: u16) -> Vec<u8> {
    let mut f = frame[..12].to_vec();
    f.extend_from_slice(&[0x81, 0x00]);
    f.extend_from_slice(&vid.to_be_bytes());
    f.extend_from_slice(&frame[12..]);
    f
}

#[test]
fn a_vlan_port_answers_and_forwards_tagged() {
    let cfg = DR_LAB.replace(
        "addresses = [\"198.18.1.2/24\"]",
        "addresses = [\"198.18.1.2/24\"]\nvlan = 10",
    );
    let mut w = worker(&cfg, &[OUT_MAC]);
    let mut io = CaptureIo::default();
    // The RSs and the router announce themselves, tagged.
    for (mac, a) in [(RS1_MAC, "198.18.1.10"), (RS2_MAC, "198.18.1.20")] {
        let q = tag(&arp(1, mac, [0xff; 6], a, [0; 6], "198.18.1.2"), 10);
        let out = feed(&mut w, &mut io, 0, 0, &q);
        assert_eq!(out.len(), 1);
        let reply = &out[0].1;
        assert_eq!(
            &reply[12..16],
            &[0x81, 0x00, 0, 10],
            "the ARP reply is tagged"
        );
        assert_eq!(&reply[16..18], &[0x08, 0x06]);
        assert_eq!(&reply[0..6], &mac);
    }
    let syn = Tcp {
        src_mac: ROUTER_MAC,
        src: "203.0.113.9",
        dst: "198.18.1.200",
        ..Tcp::default()
    }
    .build();
    let out = feed(&mut w, &mut io, 1, 0, &tag(&syn, 10));
    assert_eq!(out.len(), 1);
    let f = &out[0].1;
    assert_eq!(&f[12..16], &[0x81, 0x00, 0, 10]);
    assert_eq!(&f[16..], &syn[12..], "IP packet untouched behind the tag");
    // Untagged, or another VLAN: not ours.
    assert!(feed(&mut w, &mut io, 2, 0, &syn).is_empty());
    assert!(feed(&mut w, &mut io, 2, 0, &tag(&syn, 11)).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::VlanMismatch), 2);
}

#[test]
fn a_port_without_vlan_drops_tagged_frames() {
    let mut w = worker(DR_LAB, &[OUT_MAC]);
    let mut io = CaptureIo::default();
    let syn = Tcp {
        src_mac: ROUTER_MAC,
        src: "203.0.113.9",
        dst: "198.18.1.200",
        ..Tcp::default()
    }
    .build();
    assert!(feed(&mut w, &mut io, 0, 0, &tag(&syn, 10)).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::VlanTagged), 1);
}
