//! Live changes: a new configuration keeps connections, scheduler state and real-server
//! counters, and removed real servers behave as in IPVS.

mod common;

use std::sync::Arc;

use common::*;
use rvs_engine::buf::CaptureIo;
use rvs_engine::worker::Decision;
use rvs_engine::{Director, DropReason, VecBuf, Worker, WorkerConfig};
use rvs_wire::MacAddr;

const OUT: u16 = 0;

fn director(toml: &str, prev: Option<&Director>) -> Arc<Director> {
    let cfg = rvs_config::parse(toml).unwrap();
    Arc::new(Director::new(&cfg, &[MacAddr(OUT_MAC), MacAddr(IN_MAC)], prev).unwrap())
}

fn lab(servers: &[(&str, u32)]) -> String {
    let mut t = String::from(
        r#"
[[ports]]
name = "outside"
device = "net_ring0"
addresses = ["198.18.0.1/24"]
[[ports]]
name = "inside"
device = "net_ring1"
addresses = ["198.18.1.1/24"]
[[services]]
protocol = "tcp"
address = "198.18.0.100:80"
scheduler = "rr"
"#,
    );
    for (a, w) in servers {
        t += &format!(
            "[[services.real_servers]]\naddress = \"{a}:80\"\nmethod = \"nat\"\nweight = {w}\n"
        );
    }
    t
}

fn replay_worker(dir: Arc<Director>) -> Worker<VecBuf> {
    Worker::new(
        dir,
        WorkerConfig {
            accept_any_mac: true,
            synthetic_neighbours: true,
            record_decisions: true,
            ..WorkerConfig::default()
        },
    )
}

fn syn(sport: u16) -> Vec<u8> {
    Tcp {
        sport,
        ..Tcp::default()
    }
    .build()
}

fn real_of(w: &mut Worker<VecBuf>) -> Option<String> {
    let d: Vec<Decision> = w.take_decisions().collect();
    assert_eq!(d.len(), 1, "one decision per opening packet");
    d[0].real.map(|(a, p)| format!("{a}:{p}"))
}

#[test]
fn decisions_name_the_real_server_or_none() {
    let mut w = replay_worker(director(
        &lab(&[("198.18.1.10", 1), ("198.18.1.20", 1)]),
        None,
    ));
    let mut io = CaptureIo::default();
    // Added RS1 then RS2: the kernel's list has RS2 first and rr starts there.
    feed(&mut w, &mut io, 0, OUT, &syn(1000));
    assert_eq!(real_of(&mut w).as_deref(), Some("198.18.1.20:80"));
    feed(&mut w, &mut io, 0, OUT, &syn(1001));
    assert_eq!(real_of(&mut w).as_deref(), Some("198.18.1.10:80"));
    // A retransmitted SYN reports the connection it matched.
    feed(&mut w, &mut io, 0, OUT, &syn(1000));
    assert_eq!(real_of(&mut w).as_deref(), Some("198.18.1.20:80"));
    // Non-opening packets are not decisions.
    let ack = Tcp {
        sport: 1000,
        syn: false,
        ack: true,
        ..Tcp::default()
    }
    .build();
    feed(&mut w, &mut io, 0, OUT, &ack);
    assert_eq!(w.take_decisions().count(), 0);
    // Synthetic neighbours: the frame left at once with the made-up MAC of the RS.
    assert_eq!(w.stats.neighbour_held, 0);
}

#[test]
fn quiescing_with_weight_zero_keeps_connections_and_stops_new_ones() {
    let d1 = director(&lab(&[("198.18.1.10", 1), ("198.18.1.20", 1)]), None);
    let mut w = replay_worker(Arc::clone(&d1));
    let mut io = CaptureIo::default();
    feed(&mut w, &mut io, 0, OUT, &syn(1000)); // → RS2
    assert_eq!(real_of(&mut w).as_deref(), Some("198.18.1.20:80"));
    w.set_director(director(
        &lab(&[("198.18.1.10", 1), ("198.18.1.20", 0)]),
        Some(&d1),
    ));
    for p in 1001..1004 {
        feed(&mut w, &mut io, 0, OUT, &syn(p));
        assert_eq!(real_of(&mut w).as_deref(), Some("198.18.1.10:80"));
    }
    // The established flow to RS2 goes on.
    let ack = Tcp {
        sport: 1000,
        syn: false,
        ack: true,
        ..Tcp::default()
    }
    .build();
    let out = feed(&mut w, &mut io, 0, OUT, &ack);
    assert_eq!(check(&out[0].1).dst, ip("198.18.1.20"));
}

#[test]
fn a_removed_real_server_drops_its_connections_until_re_added() {
    let d1 = director(&lab(&[("198.18.1.10", 1), ("198.18.1.20", 1)]), None);
    let mut w = replay_worker(Arc::clone(&d1));
    let mut io = CaptureIo::default();
    feed(&mut w, &mut io, 0, OUT, &syn(1000)); // → RS2
    let rs2_counters = Arc::clone(&d1.services[0].servers[0].counters);
    assert_eq!(d1.services[0].servers[0].addr, ip("198.18.1.20"));
    let d2 = director(&lab(&[("198.18.1.10", 1)]), Some(&d1));
    w.set_director(Arc::clone(&d2));
    let ack = Tcp {
        sport: 1000,
        syn: false,
        ack: true,
        ..Tcp::default()
    }
    .build();
    assert!(feed(&mut w, &mut io, 0, OUT, &ack).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::RealServerRemoved), 1);
    // Re-adding the same address:port restores it, with the same counters.
    let d3 = director(&lab(&[("198.18.1.10", 1), ("198.18.1.20", 1)]), Some(&d2));
    assert!(Arc::ptr_eq(
        &d3.services[0].servers[0].counters,
        &rs2_counters
    ));
    w.set_director(d3);
    let out = feed(&mut w, &mut io, 0, OUT, &ack);
    assert_eq!(check(&out[0].1).dst, ip("198.18.1.20"));
}

#[test]
fn rr_keeps_its_cursor_across_a_reload_that_adds_a_server() {
    // Same sequence with a reload in the middle as with the scheduler told directly: the rr
    // cursor is not reset by an unrelated change (ip_vs_rr.c keeps sched_data).
    let d1 = director(&lab(&[("198.18.1.10", 1), ("198.18.1.20", 1)]), None);
    let mut w = replay_worker(Arc::clone(&d1));
    let mut io = CaptureIo::default();
    feed(&mut w, &mut io, 0, OUT, &syn(1000));
    assert_eq!(real_of(&mut w).as_deref(), Some("198.18.1.20:80"));
    // Add RS3: it goes to the head of the list; the cursor stays on RS2, so next is RS1.
    w.set_director(director(
        &lab(&[("198.18.1.10", 1), ("198.18.1.20", 1), ("198.18.1.30", 1)]),
        Some(&d1),
    ));
    let mut got = vec![];
    for p in 1001..1005 {
        feed(&mut w, &mut io, 0, OUT, &syn(p));
        got.push(real_of(&mut w).unwrap());
    }
    assert_eq!(
        got,
        vec![
            "198.18.1.10:80",
            "198.18.1.30:80",
            "198.18.1.20:80",
            "198.18.1.10:80"
        ]
    );
}

#[test]
fn no_real_server_is_a_null_decision() {
    let mut w = replay_worker(director(&lab(&[("198.18.1.10", 0)]), None));
    let mut io = CaptureIo::default();
    feed(&mut w, &mut io, 0, OUT, &syn(1000));
    assert_eq!(real_of(&mut w), None);
    assert_eq!(w.stats.drops_of(DropReason::NoRealServer), 1);
}

#[test]
fn an_expired_connection_is_gone_for_the_next_packet_even_before_the_reaper_runs() {
    let mut w = replay_worker(director(
        &lab(&[("198.18.1.10", 1), ("198.18.1.20", 1)]),
        None,
    ));
    let mut io = CaptureIo::default();
    feed(&mut w, &mut io, 0, OUT, &syn(1000));
    assert_eq!(real_of(&mut w).as_deref(), Some("198.18.1.20:80"));
    // SYN_RECV lasts 60 s (IPVS tcp_timeouts); 60.5 s later, without a tick, the same SYN
    // opens a new connection and rr moves on.
    feed(&mut w, &mut io, 60_500_000_000, OUT, &syn(1000));
    assert_eq!(real_of(&mut w).as_deref(), Some("198.18.1.10:80"));
    assert_eq!(w.stats.conns_expired, 1);
    assert_eq!(w.conns().len(), 1);
}
