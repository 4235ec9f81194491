//! Full tables degrade by policy, never by crashing or by hurting established flows
//! (DESIGN.md "Memory is sized at start"): with the connection table full, new flows are
//! dropped and counted as `conn_table_full` while established ones keep flowing both ways;
//! with every FullNAT local port of the LIP in use, new flows are dropped as `lip_exhausted`
//! while established ones keep flowing; the tables never grow, and a slot or port freed by an
//! expiry is used again.

mod common;

use common::*;
use rvs_engine::buf::CaptureIo;
use rvs_engine::{DropReason, VecBuf, Worker};

const S: u64 = 1_000_000_000;

const NAT_SMALL: &str = r#"
max_connections = 8
[[ports]]
name = "outside"
device = "net_ring0"
addresses = ["198.18.0.1/24"]
[[ports]]
name = "inside"
device = "net_ring1"
addresses = ["198.18.1.1/24"]
[[neighbours]]
port = "outside"
address = "198.18.0.2"
mac = "02:c1:00:00:00:02"
[[neighbours]]
port = "inside"
address = "198.18.1.10"
mac = "02:51:00:00:00:10"
[[neighbours]]
port = "inside"
address = "198.18.1.20"
mac = "02:52:00:00:00:20"
[[services]]
protocol = "tcp"
address = "198.18.0.100:80"
scheduler = "rr"
[[services.real_servers]]
address = "198.18.1.10:8080"
method = "nat"
[[services.real_servers]]
address = "198.18.1.20:8080"
method = "nat"
"#;

fn client(sport: u16, syn: bool, ack: bool, payload: &'static [u8]) -> Vec<u8> {
    Tcp {
        sport,
        syn,
        ack,
        payload,
        ..Tcp::default()
    }
    .build()
}

fn server(rs: &'static str, dport: u16, syn: bool, payload: &'static [u8]) -> Vec<u8> {
    Tcp {
        src_mac: if rs == "198.18.1.10" {
            RS1_MAC
        } else {
            RS2_MAC
        },
        dst_mac: IN_MAC,
        src: rs,
        sport: 8080,
        dst: "198.18.0.2",
        dport,
        syn,
        ack: true,
        payload,
        ..Tcp::default()
    }
    .build()
}

/// Send one frame; it must come out exactly once; return what came out, checked.
fn through(w: &mut Worker<VecBuf>, io: &mut CaptureIo, now: u64, port: u16, f: &[u8]) -> Seen {
    let out = feed(w, io, now, port, f);
    assert_eq!(out.len(), 1, "one frame out for one in: {:?}", w.stats);
    check(&out[0].1)
}

#[test]
fn a_full_connection_table_refuses_new_flows_and_keeps_established_ones() {
    let mut w = worker(NAT_SMALL, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let (cap, mem) = (w.conns().capacity(), w.conns().memory_bytes());
    assert_eq!(cap, 8, "sized from max_connections at start");

    // Eight connections fill the table; the first four complete their handshake.
    let mut rs_of = Vec::new();
    for i in 0..8u16 {
        let s = through(&mut w, &mut io, S, 0, &client(40000 + i, true, false, b""));
        let rs: &'static str = if s.dst == ip("198.18.1.10") {
            "198.18.1.10"
        } else {
            "198.18.1.20"
        };
        rs_of.push(rs);
    }
    for i in 0..4u16 {
        let rs = rs_of[usize::from(i)];
        let back = through(&mut w, &mut io, S, 1, &server(rs, 40000 + i, true, b""));
        assert_eq!((back.src, back.sport), (ip("198.18.0.100"), 80));
        through(&mut w, &mut io, S, 0, &client(40000 + i, false, true, b""));
    }
    assert_eq!(w.conns().len(), 8);

    // New flows: dropped and counted, nothing sent, nothing inserted.
    for i in 0..20u16 {
        let out = feed(
            &mut w,
            &mut io,
            2 * S,
            0,
            &client(50000 + i, true, false, b""),
        );
        assert!(out.is_empty(), "a new flow got through a full table");
    }
    assert_eq!(w.stats.drops_of(DropReason::ConnTableFull), 20);
    assert_eq!(w.conns().len(), 8);

    // Established flows keep flowing, both ways, with the table full.
    for round in 0..3u64 {
        for i in 0..4u16 {
            let rs = rs_of[usize::from(i)];
            let now = 3 * S + round * S;
            let s = through(
                &mut w,
                &mut io,
                now,
                0,
                &client(40000 + i, false, true, b"GET /"),
            );
            assert_eq!((s.dst, s.dport), (ip(rs), 8080));
            let s = through(
                &mut w,
                &mut io,
                now,
                1,
                &server(rs, 40000 + i, false, b"200 OK"),
            );
            assert_eq!(
                (s.src, s.sport, s.dport),
                (ip("198.18.0.100"), 80, 40000 + i)
            );
        }
    }
    // Half-open ones too: the real server's SYN-ACK is still translated.
    for i in 4..8u16 {
        let rs = rs_of[usize::from(i)];
        through(&mut w, &mut io, 6 * S, 1, &server(rs, 40000 + i, true, b""));
    }
    assert_eq!(
        w.stats.drops_of(DropReason::ConnTableFull),
        20,
        "no established frame lost"
    );
    // Every connection counts for its real server, SYN_RECV as active too (the kernel's
    // tcp_state_active_table since Linux 4.7).
    let (active, inactive) = w.director().all_servers().fold((0, 0), |(a, i), (_, rs)| {
        (a + rs.counters.active(), i + rs.counters.inactive())
    });
    assert_eq!(
        (active, inactive),
        (8, 0),
        "the real servers count the table"
    );

    // Memory was fixed at start.
    assert_eq!(
        (w.conns().capacity(), w.conns().memory_bytes()),
        (cap, mem),
        "the connection table never grows"
    );

    // The half-open connections expire (IPVS's SYN_RECV timeout is 60 s); their slots take
    // new flows, and the table is full again after four of them.
    w.tick(6 * S + 61 * S, &mut io);
    assert_eq!(
        w.conns().len(),
        4,
        "only the established connections are left"
    );
    for i in 0..4u16 {
        through(
            &mut w,
            &mut io,
            70 * S,
            0,
            &client(51000 + i, true, false, b""),
        );
    }
    let out = feed(&mut w, &mut io, 70 * S, 0, &client(51004, true, false, b""));
    assert!(out.is_empty());
    assert_eq!(w.stats.drops_of(DropReason::ConnTableFull), 21);
    assert_eq!((w.conns().capacity(), w.conns().memory_bytes()), (cap, mem));
}

const FULLNAT_ONE_LIP: &str = r#"
max_connections = 70000
[[ports]]
name = "outside"
device = "net_ring0"
addresses = ["198.18.0.1/24"]
[[ports]]
name = "inside"
device = "net_ring1"
addresses = ["198.18.1.1/24"]
local_addresses = ["198.18.1.3"]
[[neighbours]]
port = "outside"
address = "198.18.0.2"
mac = "02:c1:00:00:00:02"
[[neighbours]]
port = "inside"
address = "198.18.1.10"
mac = "02:51:00:00:00:10"
[[services]]
protocol = "tcp"
address = "198.18.0.100:80"
scheduler = "rr"
[[services.real_servers]]
address = "198.18.1.10:8080"
method = "fullnat"
"#;

/// The LIP's local ports: 1024..=65535, all of them this one worker's.
const LPORTS: usize = 65536 - 1024;

#[test]
fn an_exhausted_lip_pool_refuses_new_flows_and_keeps_established_ones() {
    let mut w = worker(FULLNAT_ONE_LIP, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let (cap, mem) = (w.conns().capacity(), w.conns().memory_bytes());

    // Every local port of the LIP in use: one connection per client port.
    let mut lports = Vec::with_capacity(LPORTS);
    let mut seen = vec![false; 65536];
    for i in 0..LPORTS {
        let sport = 1 + i as u16;
        let out = feed(&mut w, &mut io, S, 0, &client(sport, true, false, b""));
        assert_eq!(out.len(), 1, "SYN {i} forwarded while ports are left");
        let f = &out[0].1;
        // The local port, read straight from the TCP header (IPv4 header of 20 bytes).
        let lport = u16::from_be_bytes([f[34], f[35]]);
        assert!(
            lport >= 1024 && !seen[usize::from(lport)],
            "port {lport} given twice"
        );
        seen[usize::from(lport)] = true;
        lports.push(lport);
        if i == 0 {
            let s = check(f);
            assert_eq!(s.src, ip("198.18.1.3"), "from the LIP");
        }
    }
    assert_eq!(w.stats.forwarded as usize, LPORTS);

    // The next flows find no port: dropped and counted, no connection left behind.
    for i in 0..10u16 {
        let out = feed(
            &mut w,
            &mut io,
            2 * S,
            0,
            &client(65000 + i, true, false, b""),
        );
        assert!(out.is_empty(), "a new flow got a port of an exhausted LIP");
    }
    assert_eq!(w.stats.drops_of(DropReason::LipExhausted), 10);
    assert_eq!(w.conns().len(), LPORTS);

    // Established connections keep flowing both ways.
    let synack = |lport: u16| {
        Tcp {
            src_mac: RS1_MAC,
            dst_mac: IN_MAC,
            src: "198.18.1.10",
            sport: 8080,
            dst: "198.18.1.3",
            dport: lport,
            syn: true,
            ack: true,
            ..Tcp::default()
        }
        .build()
    };
    for (cport, lport) in [(1u16, lports[0]), (2, lports[1])] {
        let s = through(&mut w, &mut io, 3 * S, 1, &synack(lport));
        assert_eq!(
            (s.src, s.sport, s.dst, s.dport),
            (ip("198.18.0.100"), 80, ip("198.18.0.2"), cport)
        );
        let s = through(
            &mut w,
            &mut io,
            3 * S,
            0,
            &client(cport, false, true, b"GET /"),
        );
        assert_eq!((s.src, s.sport), (ip("198.18.1.3"), lport));
    }
    assert_eq!(w.stats.drops_of(DropReason::LipExhausted), 10);

    // A connection that ends gives its port back: client 2 resets its established
    // connection (CLOSE, 10 s), and once that has passed the next new flow gets the port.
    let rst = Tcp {
        sport: 2,
        syn: false,
        rst: true,
        ..Tcp::default()
    }
    .build();
    through(&mut w, &mut io, 4 * S, 0, &rst);
    w.tick(4 * S + 11 * S, &mut io);
    assert_eq!(w.stats.conns_expired, 1);
    let out = feed(&mut w, &mut io, 16 * S, 0, &client(65100, true, false, b""));
    assert_eq!(out.len(), 1, "the freed port serves a new flow");
    assert_eq!(u16::from_be_bytes([out[0].1[34], out[0].1[35]]), lports[1]);
    let out = feed(&mut w, &mut io, 16 * S, 0, &client(65101, true, false, b""));
    assert!(out.is_empty());
    assert_eq!(w.stats.drops_of(DropReason::LipExhausted), 11);

    assert_eq!(
        (w.conns().capacity(), w.conns().memory_bytes()),
        (cap, mem),
        "the connection table never grows"
    );
}

#[test]
fn the_template_table_is_allocated_only_for_persistent_services() {
    // Without a persistent service the worker holds its connection table and no template
    // table (which would double its memory); the first persistent service, at start or in a
    // new configuration, allocates one as large as the connection table.
    let big = NAT_LAB.replace("max_connections = 16", "max_connections = 100000");
    let plain = worker(&big, &[OUT_MAC, IN_MAC]);
    let conns_only = plain.conns().memory_bytes();
    // The empty tables (IPv4 templates, IPv6 connections and templates) are a timer wheel
    // and an index bucket each: well under a tenth of 100,000 connections.
    assert!(plain.table_memory_bytes() < conns_only + conns_only / 10);

    let persistent = big.replace(
        "address = \"198.18.0.100:80\"\nscheduler = \"rr\"",
        "address = \"198.18.0.100:80\"\nscheduler = \"rr\"\npersistence = 300",
    );
    assert_ne!(persistent, big);
    let w = worker(&persistent, &[OUT_MAC, IN_MAC]);
    assert!(w.table_memory_bytes() >= 2 * w.conns().memory_bytes());

    let mut w = worker(&big, &[OUT_MAC, IN_MAC]);
    assert!(w.table_memory_bytes() < 2 * w.conns().memory_bytes());
    let cfg = rvs_config::parse(&persistent).expect("parses");
    let macs = [rvs_wire::MacAddr(OUT_MAC), rvs_wire::MacAddr(IN_MAC)];
    let dir = rvs_engine::Director::new(&cfg, &macs, None).expect("compiles");
    w.set_director(std::sync::Arc::new(dir));
    assert!(w.table_memory_bytes() >= 2 * w.conns().memory_bytes());
}
