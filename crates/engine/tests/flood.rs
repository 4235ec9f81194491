//! A flood of spoofed SYNs that fills the connection table (issue "Robustness", SYN flood
//! defence): established flows keep flowing either way; with IPVS's drop_entry defence a
//! legitimate new client still gets through, without it the table refuses it (counted).

mod common;

use common::*;
use rvs_engine::buf::CaptureIo;
use rvs_engine::{DropReason, VecBuf, Worker};

const OUT: u16 = 0;
const IN: u16 = 1;

/// NAT_LAB (16 connections per worker) with four established flows.
fn established(drop_entry: bool) -> (Worker<VecBuf>, CaptureIo) {
    let cfg = if drop_entry {
        format!("drop_entry = true\n{NAT_LAB}")
    } else {
        NAT_LAB.to_string()
    };
    let mut w = worker(&cfg, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    feed(
        &mut w,
        &mut io,
        0,
        OUT,
        &arp(
            1,
            CLIENT_MAC,
            [0xff; 6],
            "198.18.0.2",
            [0; 6],
            "198.18.0.100",
        ),
    );
    for (mac, a) in [(RS1_MAC, "198.18.1.10"), (RS2_MAC, "198.18.1.20")] {
        feed(
            &mut w,
            &mut io,
            0,
            IN,
            &arp(1, mac, [0xff; 6], a, [0; 6], "198.18.1.1"),
        );
    }
    for i in 0..4u16 {
        let syn = Tcp {
            sport: 30000 + i,
            ..Tcp::default()
        }
        .build();
        let out = feed(&mut w, &mut io, 1, OUT, &syn);
        let to = check(&out[0].1);
        let rs_mac = if to.dst == ip("198.18.1.10") {
            RS1_MAC
        } else {
            RS2_MAC
        };
        let synack = Tcp {
            src_mac: rs_mac,
            dst_mac: IN_MAC,
            src: if to.dst == ip("198.18.1.10") {
                "198.18.1.10"
            } else {
                "198.18.1.20"
            },
            sport: 8080,
            dst: "198.18.0.2",
            dport: 30000 + i,
            syn: true,
            ack: true,
            ..Tcp::default()
        }
        .build();
        assert_eq!(feed(&mut w, &mut io, 1, IN, &synack).len(), 1);
        let ack = Tcp {
            sport: 30000 + i,
            syn: false,
            ack: true,
            ..Tcp::default()
        }
        .build();
        assert_eq!(feed(&mut w, &mut io, 1, OUT, &ack).len(), 1);
    }
    (w, io)
}

fn established_count(w: &Worker<VecBuf>) -> usize {
    use rvs_conn::state::TcpState;
    w.conns()
        .iter()
        .filter(|(_, e)| e.state == rvs_conn::State::Tcp(TcpState::Established))
        .count()
}

/// 2000 SYNs from spoofed clients; returns how many were forwarded.
fn flood(w: &mut Worker<VecBuf>, io: &mut CaptureIo) -> usize {
    let mut sent = 0;
    for i in 0..2000u32 {
        let src = format!("203.0.{}.{}", 113 + (i >> 8) % 4, i & 0xff);
        let src: &'static str = Box::leak(src.into_boxed_str());
        let syn = Tcp {
            src,
            sport: 1024 + (i % 50000) as u16,
            ..Tcp::default()
        }
        .build();
        sent += feed(w, io, 2, OUT, &syn).len();
    }
    sent
}

fn established_flows_still_flow(w: &mut Worker<VecBuf>, io: &mut CaptureIo) {
    for i in 0..4u16 {
        let data = Tcp {
            sport: 30000 + i,
            syn: false,
            ack: true,
            payload: b"GET /",
            ..Tcp::default()
        }
        .build();
        let out = feed(w, io, 3, OUT, &data);
        assert_eq!(out.len(), 1, "established flow {i} was cut by the flood");
    }
}

#[test]
fn with_drop_entry_new_clients_get_through_the_flood() {
    let (mut w, mut io) = established(true);
    assert_eq!(established_count(&w), 4, "four established connections");
    let forwarded = flood(&mut w, &mut io);
    assert_eq!(
        forwarded, 2000,
        "each spoofed SYN took a half-open one's place"
    );
    assert_eq!(w.conns().len(), 16, "the table stays at its size");
    assert!(w.stats.conns_dropped_half_open >= 2000 - 12);
    established_flows_still_flow(&mut w, &mut io);
    assert_eq!(
        established_count(&w),
        4,
        "no established connection was dropped"
    );
    let legit = Tcp {
        src: "198.18.0.9",
        sport: 40000,
        ..Tcp::default()
    }
    .build();
    assert_eq!(
        feed(&mut w, &mut io, 4, OUT, &legit).len(),
        1,
        "a legitimate client gets in"
    );
}

#[test]
fn without_it_the_full_table_refuses_new_clients_and_keeps_old_ones() {
    let (mut w, mut io) = established(false);
    let forwarded = flood(&mut w, &mut io);
    assert_eq!(forwarded, 12, "only until the table is full");
    assert_eq!(w.stats.drops_of(DropReason::ConnTableFull), 2000 - 12);
    established_flows_still_flow(&mut w, &mut io);
    let legit = Tcp {
        src: "198.18.0.9",
        sport: 40000,
        ..Tcp::default()
    }
    .build();
    assert!(feed(&mut w, &mut io, 4, OUT, &legit).is_empty());
}
