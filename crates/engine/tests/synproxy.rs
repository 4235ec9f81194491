//! The SYN proxy (issue "SYN flood defence"), in frames: cookies answer the client and keep
//! nothing, the real server is chosen on a valid cookie ACK and given the client's SYN, its
//! SYN-ACK is answered by the director, and sequence numbers, SACK blocks and windows are
//! translated both ways afterwards; NAT and FullNAT. Then the flood: spoofed SYNs far beyond
//! the table's size leave it untouched, established flows keep flowing and a new client gets
//! through. Every emitted frame's checksums are checked by etherparse (`common::check`).

mod common;

use common::*;
use etherparse::{PacketBuilder, PacketHeaders, TcpHeader, TcpOptionElement, TransportHeader};
use rvs_conn::state::TcpState;
use rvs_engine::buf::CaptureIo;
use rvs_engine::synproxy::{
    check_cookie, make_cookie, Secret, SynOptions, Tuple, COOKIE_PERIOD_NS, DIRECTOR_WSCALE,
};
use rvs_engine::{DropReason, VecBuf, Worker};

const OUT: u16 = 0;
const IN: u16 = 1;
const SEC: u64 = 1_000_000_000;

/// A director with the NAT lab's ports, a default route through a router on the outside
/// (spoofed and remote clients live behind it), static neighbours (no ARP in these tests), a
/// table of 16 connections and a SYN-proxy service with one real server of `method`.
fn lab(method: &str) -> String {
    format!(
        r#"
workers = 1
max_connections = 16
[[ports]]
name = "outside"
device = "net_ring0"
addresses = ["198.18.0.1/24"]
[[ports]]
name = "inside"
device = "net_ring1"
addresses = ["198.18.1.1/24"]
local_addresses = ["198.18.1.3"]
[[routes]]
prefix = "0.0.0.0/0"
via = "198.18.0.254"
port = "outside"
[[neighbours]]
port = "outside"
address = "198.18.0.254"
mac = "02:ee:00:00:00:fe"
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
synproxy = true
[[services.real_servers]]
address = "198.18.1.10:8080"
method = "{method}"
"#
    )
}

/// A TCP segment with every field chosen.
struct Seg<'a> {
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: &'a str,
    sport: u16,
    dst: &'a str,
    dport: u16,
    seq: u32,
    ack: Option<u32>,
    syn: bool,
    rst: bool,
    window: u16,
    options: Vec<TcpOptionElement>,
    payload: &'a [u8],
}

impl Default for Seg<'_> {
    fn default() -> Self {
        Seg {
            src_mac: CLIENT_MAC,
            dst_mac: OUT_MAC,
            src: "198.18.0.2",
            sport: 40000,
            dst: "198.18.0.100",
            dport: 80,
            seq: 0,
            ack: None,
            syn: false,
            rst: false,
            window: 64240,
            options: Vec::new(),
            payload: b"",
        }
    }
}

impl Seg<'_> {
    fn build(&self) -> Vec<u8> {
        let mut b = PacketBuilder::ethernet2(self.src_mac, self.dst_mac)
            .ipv4(ip(self.src).octets(), ip(self.dst).octets(), 64)
            .tcp(self.sport, self.dport, self.seq, self.window);
        if self.syn {
            b = b.syn();
        }
        if self.rst {
            b = b.rst();
        }
        if let Some(a) = self.ack {
            b = b.ack(a);
        }
        if !self.options.is_empty() {
            b = b.options(&self.options).unwrap();
        }
        let mut out = Vec::new();
        b.write(&mut out, self.payload).unwrap();
        out
    }
}

/// An emitted frame: addresses (checksums verified), the TCP header and the payload.
fn tcp_of(frame: &[u8]) -> (Seen, TcpHeader, Vec<u8>) {
    let seen = check(frame);
    let h = PacketHeaders::from_ethernet_slice(frame).unwrap();
    let Some(TransportHeader::Tcp(t)) = h.transport.clone() else {
        panic!("not TCP")
    };
    let payload = h.payload.slice().to_vec();
    (seen, t, payload)
}

fn options_of(t: &TcpHeader) -> Vec<TcpOptionElement> {
    // Up to an option etherparse does not know (TOA).
    t.options_iterator().map_while(|o| o.ok()).collect()
}

fn one(out: Vec<(u16, Vec<u8>)>, port: u16) -> Vec<u8> {
    assert_eq!(out.len(), 1, "one frame out, got {}", out.len());
    assert_eq!(out[0].0, port, "out of the expected port");
    out.into_iter().next().unwrap().1
}

const CLIENT_ISN: u32 = 0xfffffff0; // wraps during the test
const SERVER_ISN: u32 = 0x4000_0000;

/// The client's SYN (MSS 1460, window scale 8, SACK permitted, timestamps) → the director's
/// SYN-ACK; returns the cookie.
fn client_syn(w: &mut Worker<VecBuf>, io: &mut CaptureIo, src: &str, sport: u16) -> u32 {
    let created = w.stats.conns_created;
    let syn = Seg {
        src,
        sport,
        seq: CLIENT_ISN,
        syn: true,
        options: vec![
            TcpOptionElement::MaximumSegmentSize(1460),
            TcpOptionElement::SelectiveAcknowledgementPermitted,
            TcpOptionElement::Timestamp(1, 0),
            TcpOptionElement::Noop,
            TcpOptionElement::WindowScale(8),
        ],
        ..Seg::default()
    };
    let f = one(feed(w, io, SEC, OUT, &syn.build()), OUT);
    let (s, t, _) = tcp_of(&f);
    assert_eq!((s.src, s.sport), (ip("198.18.0.100"), 80), "from the VIP");
    assert_eq!((s.dst, s.dport), (ip(src), sport));
    assert!(t.syn && t.ack && !t.rst && !t.fin);
    assert_eq!(t.acknowledgment_number, CLIENT_ISN.wrapping_add(1));
    assert_eq!(
        options_of(&t),
        vec![
            TcpOptionElement::MaximumSegmentSize(1460),
            TcpOptionElement::Noop,
            TcpOptionElement::WindowScale(DIRECTOR_WSCALE),
            TcpOptionElement::Noop,
            TcpOptionElement::Noop,
            TcpOptionElement::SelectiveAcknowledgementPermitted,
        ],
        "MSS, window scale and SACK-permitted; no timestamps"
    );
    assert_eq!(w.stats.conns_created, created, "a SYN creates nothing");
    t.sequence_number
}

#[test]
fn cookies_carry_mss_wscale_sack_and_expire() {
    let secret = Secret([1, 2]);
    let t = Tuple {
        client: ip("198.18.0.2").into(),
        cport: 40000,
        vip: ip("198.18.0.100").into(),
        vport: 80,
    };
    let now = 1000 * SEC;
    for (mss, ws, sack, want_mss) in [
        (1460, Some(8), true, 1460),
        (1400, None, false, 1300),
        (9000, Some(14), true, 1460),
        (500, Some(0), false, 536),
        (1440, Some(7), false, 1440),
    ] {
        let o = SynOptions {
            mss,
            wscale: ws,
            sack,
        };
        let c = make_cookie(&secret, &t, 777, &o, now);
        let got = check_cookie(&secret, &t, 777, c, now).expect("valid now");
        assert_eq!(
            got,
            SynOptions {
                mss: want_mss,
                wscale: ws,
                sack
            }
        );
        // Valid in the next slot, not after.
        assert_eq!(
            check_cookie(&secret, &t, 777, c, now + COOKIE_PERIOD_NS),
            Some(got)
        );
        assert_eq!(
            check_cookie(&secret, &t, 777, c, now + 2 * COOKIE_PERIOD_NS),
            None
        );
        // Bound to the client's ISN, its address and port, the VIP, the key.
        assert_eq!(check_cookie(&secret, &t, 778, c, now), None);
        let other = Tuple { cport: 40001, ..t };
        assert_eq!(check_cookie(&secret, &other, 777, c, now), None);
        let other = Tuple {
            client: ip("198.18.0.3").into(),
            ..t
        };
        assert_eq!(check_cookie(&secret, &other, 777, c, now), None);
        assert_eq!(check_cookie(&Secret([1, 3]), &t, 777, c, now), None);
        // Any bit flipped: refused.
        for bit in 0..32 {
            assert_eq!(check_cookie(&secret, &t, 777, c ^ 1 << bit, now), None);
        }
    }
}

/// The whole life of a proxied connection for `method`; returns the worker for more.
fn handshake_and_data(method: &str) {
    let mut w = worker(&lab(method), &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let fullnat = method == "fullnat";
    let cookie = client_syn(&mut w, &mut io, "198.18.0.2", 40000);
    assert_eq!(w.conns().len(), 0);
    assert_eq!(w.stats.synproxy_cookies_sent, 1);

    // The client's ACK (window field 502, scaled by its 8) → the SYN to the real server.
    let ack = Seg {
        seq: CLIENT_ISN.wrapping_add(1),
        ack: Some(cookie.wrapping_add(1)),
        window: 502,
        ..Seg::default()
    };
    let f = one(feed(&mut w, &mut io, 2 * SEC, OUT, &ack.build()), IN);
    assert_eq!(&f[0..6], &RS1_MAC);
    let (s, t, payload) = tcp_of(&f);
    let (lip, lport) = if fullnat {
        assert_eq!(s.src, ip("198.18.1.3"), "FullNAT: from the LIP");
        (s.src, s.sport)
    } else {
        assert_eq!(
            (s.src, s.sport),
            (ip("198.18.0.2"), 40000),
            "NAT: the client's"
        );
        (s.src, s.sport)
    };
    assert_eq!((s.dst, s.dport), (ip("198.18.1.10"), 8080));
    assert!(t.syn && !t.ack && !t.rst);
    assert_eq!(t.sequence_number, CLIENT_ISN, "the client's ISN");
    assert!(payload.is_empty());
    let mut want = vec![
        TcpOptionElement::MaximumSegmentSize(if fullnat { 1452 } else { 1460 }),
        TcpOptionElement::Noop,
        TcpOptionElement::WindowScale(8),
        TcpOptionElement::Noop,
        TcpOptionElement::Noop,
        TcpOptionElement::SelectiveAcknowledgementPermitted,
    ];
    let opts = options_of(&t);
    if fullnat {
        // TOA (kind 254) carries the client's port and address; etherparse does not know it.
        let raw = t.options.as_slice();
        let toa = [254, 8, 0x9c, 0x40, 198, 18, 0, 2];
        assert!(raw.windows(8).any(|x| x == toa), "TOA in {raw:?}");
        want.truncate(6);
        assert_eq!(&opts[..6], &want[..]);
    } else {
        assert_eq!(opts, want);
    }
    assert_eq!(
        w.conns().len(),
        1,
        "the connection exists from the valid ACK on"
    );
    assert_eq!(w.stats.synproxy_cookies_valid, 1);

    // Client data before the real server answered: kept until it does (as DPVS).
    let early = Seg {
        seq: CLIENT_ISN.wrapping_add(1),
        ack: Some(cookie.wrapping_add(1)),
        payload: b"early",
        ..Seg::default()
    };
    assert!(feed(&mut w, &mut io, 2 * SEC, OUT, &early.build()).is_empty());
    assert_eq!(w.stats.synproxy_held, 1);
    // Sent again (the client's retransmission): kept in place of the first, and the real
    // server gets the SYN again, as the first (with TOA for FullNAT).
    let f = one(feed(&mut w, &mut io, 2 * SEC, OUT, &early.build()), IN);
    let (s2, t2, _) = tcp_of(&f);
    assert_eq!(
        (s2.src, s2.sport, s2.dst, s2.dport),
        (s.src, s.sport, s.dst, s.dport)
    );
    assert!(t2.syn && !t2.ack);
    assert_eq!(t2.sequence_number, CLIENT_ISN);
    assert_eq!(
        t2.options.as_slice(),
        t.options.as_slice(),
        "the same options"
    );
    assert_eq!(w.stats.synproxy_syn_resent, 1);
    // The first copy left the hold (dropped: its client sent it again); one waits.
    assert_eq!((w.stats.synproxy_held, w.stats.synproxy_released), (2, 1));

    // The real server's SYN-ACK (window scale 9) → the director's ACK to it, nothing to the
    // client.
    let synack = Seg {
        src_mac: RS1_MAC,
        dst_mac: IN_MAC,
        src: "198.18.1.10",
        sport: 8080,
        dst: if fullnat { "198.18.1.3" } else { "198.18.0.2" },
        dport: lport,
        seq: SERVER_ISN,
        ack: Some(CLIENT_ISN.wrapping_add(1)),
        syn: true,
        options: vec![
            TcpOptionElement::MaximumSegmentSize(1400),
            TcpOptionElement::Noop,
            TcpOptionElement::WindowScale(9),
        ],
        ..Seg::default()
    };
    let synack = synack.build();
    let mut out = feed(&mut w, &mut io, 3 * SEC, IN, &synack);
    assert_eq!(out.len(), 2, "the ACK, then the held data");
    assert_eq!(
        (w.stats.synproxy_held, w.stats.synproxy_released),
        (2, 2),
        "nothing waits any more"
    );
    let held = one(out.split_off(1), IN);
    let f = one(out, IN);
    assert_eq!(&f[0..6], &RS1_MAC);
    let (s, t, payload) = tcp_of(&held);
    assert_eq!((s.src, s.sport), (lip, lport));
    assert_eq!((s.dst, s.dport), (ip("198.18.1.10"), 8080));
    assert_eq!(t.sequence_number, CLIENT_ISN.wrapping_add(1));
    assert_eq!(t.acknowledgment_number, SERVER_ISN.wrapping_add(1));
    assert_eq!(payload, b"early");
    let (s, t, _) = tcp_of(&f);
    assert_eq!((s.src, s.sport), (lip, lport));
    assert_eq!((s.dst, s.dport), (ip("198.18.1.10"), 8080));
    assert!(t.ack && !t.syn && !t.rst);
    assert_eq!(t.sequence_number, CLIENT_ISN.wrapping_add(1));
    assert_eq!(t.acknowledgment_number, SERVER_ISN.wrapping_add(1));
    assert_eq!(
        t.window_size, 502,
        "both scale: the server applies the client's shift"
    );
    assert_eq!(w.stats.synproxy_handshakes, 1);
    let state = w.conns().iter().next().unwrap().1.state;
    assert_eq!(state, rvs_conn::State::Tcp(TcpState::Established));

    // A retransmitted SYN-ACK (our ACK was lost) is answered again, not passed on.
    let f = one(feed(&mut w, &mut io, 3 * SEC, IN, &synack), IN);
    let (_, t, _) = tcp_of(&f);
    assert!(t.ack && !t.syn);
    assert_eq!(w.stats.synproxy_handshakes, 1);

    // Client → server data with a SACK block: acknowledgement and SACK edges move into the
    // server's sequence space.
    let delta = SERVER_ISN.wrapping_sub(cookie);
    let data = Seg {
        seq: CLIENT_ISN.wrapping_add(1),
        ack: Some(cookie.wrapping_add(1)),
        window: 600,
        options: vec![
            TcpOptionElement::Noop,
            TcpOptionElement::Noop,
            TcpOptionElement::SelectiveAcknowledgement(
                (cookie.wrapping_add(101), cookie.wrapping_add(201)),
                [
                    Some((cookie.wrapping_add(301), cookie.wrapping_add(401))),
                    None,
                    None,
                ],
            ),
        ],
        payload: b"GET / HTTP/1.0\r\n\r\n",
        ..Seg::default()
    };
    let f = one(feed(&mut w, &mut io, 4 * SEC, OUT, &data.build()), IN);
    let (s, t, payload) = tcp_of(&f);
    assert_eq!((s.src, s.sport), (lip, lport));
    assert_eq!((s.dst, s.dport), (ip("198.18.1.10"), 8080));
    assert_eq!(
        t.sequence_number,
        CLIENT_ISN.wrapping_add(1),
        "client seq as is"
    );
    assert_eq!(t.acknowledgment_number, SERVER_ISN.wrapping_add(1));
    assert_eq!(t.window_size, 600);
    assert_eq!(payload, b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(
        options_of(&t)[2],
        TcpOptionElement::SelectiveAcknowledgement(
            (SERVER_ISN.wrapping_add(101), SERVER_ISN.wrapping_add(201)),
            [
                Some((SERVER_ISN.wrapping_add(301), SERVER_ISN.wrapping_add(401))),
                None,
                None
            ],
        )
    );
    assert_eq!(
        cookie.wrapping_add(101).wrapping_add(delta),
        SERVER_ISN.wrapping_add(101)
    );

    // Server → client data: sequence number into the cookie's space, window rescaled from
    // the server's shift (9) to the director's (7).
    let reply = Seg {
        src_mac: RS1_MAC,
        dst_mac: IN_MAC,
        src: "198.18.1.10",
        sport: 8080,
        dst: if fullnat { "198.18.1.3" } else { "198.18.0.2" },
        dport: lport,
        seq: SERVER_ISN.wrapping_add(1),
        ack: Some(CLIENT_ISN.wrapping_add(1 + 18)),
        window: 1000,
        payload: b"HTTP/1.0 200 OK\r\n\r\n",
        ..Seg::default()
    };
    let f = one(feed(&mut w, &mut io, 5 * SEC, IN, &reply.build()), OUT);
    assert_eq!(&f[0..6], &CLIENT_MAC);
    let (s, t, payload) = tcp_of(&f);
    assert_eq!((s.src, s.sport), (ip("198.18.0.100"), 80));
    assert_eq!((s.dst, s.dport), (ip("198.18.0.2"), 40000));
    assert_eq!(t.sequence_number, cookie.wrapping_add(1));
    assert_eq!(t.acknowledgment_number, CLIENT_ISN.wrapping_add(19));
    assert_eq!(t.window_size, 4000, "1000 << 9 >> 7");
    assert_eq!(payload, b"HTTP/1.0 200 OK\r\n\r\n");
    assert_eq!(
        w.stats.drops_of(DropReason::SynproxyAwaitingServer),
        1,
        "the first copy of the early data gave way"
    );
    assert_eq!(w.stats.total_drops(), 1, "{:?}", w.stats);
    assert_eq!(w.stats.rx_frames, 8, "each of the 8 frames counted once");
}

#[test]
fn nat_handshake_and_data_through_the_proxy() {
    handshake_and_data("nat");
}

#[test]
fn fullnat_handshake_and_data_through_the_proxy() {
    handshake_and_data("fullnat");
}

#[test]
fn without_window_scaling_nothing_is_rescaled_but_the_servers_own() {
    let mut w = worker(&lab("nat"), &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let syn = Seg {
        seq: 5,
        syn: true,
        options: vec![TcpOptionElement::MaximumSegmentSize(1300)],
        ..Seg::default()
    };
    let f = one(feed(&mut w, &mut io, SEC, OUT, &syn.build()), OUT);
    let (_, t, _) = tcp_of(&f);
    assert_eq!(
        options_of(&t),
        vec![TcpOptionElement::MaximumSegmentSize(1300)],
        "no window scale, no SACK offered back"
    );
    let cookie = t.sequence_number;
    let ack = Seg {
        seq: 6,
        ack: Some(cookie.wrapping_add(1)),
        window: 30000,
        ..Seg::default()
    };
    let f = one(feed(&mut w, &mut io, SEC, OUT, &ack.build()), IN);
    let (_, t, _) = tcp_of(&f);
    assert_eq!(
        options_of(&t),
        vec![TcpOptionElement::MaximumSegmentSize(1300)]
    );
    assert_eq!(t.window_size, 30000);
    let synack = Seg {
        src_mac: RS1_MAC,
        dst_mac: IN_MAC,
        src: "198.18.1.10",
        sport: 8080,
        dst: "198.18.0.2",
        dport: 40000,
        seq: 99,
        ack: Some(6),
        syn: true,
        ..Seg::default()
    };
    one(feed(&mut w, &mut io, SEC, IN, &synack.build()), IN);
    let reply = Seg {
        src_mac: RS1_MAC,
        dst_mac: IN_MAC,
        src: "198.18.1.10",
        sport: 8080,
        dst: "198.18.0.2",
        dport: 40000,
        seq: 100,
        ack: Some(6),
        window: 1234,
        ..Seg::default()
    };
    let f = one(feed(&mut w, &mut io, SEC, IN, &reply.build()), OUT);
    let (_, t, _) = tcp_of(&f);
    assert_eq!(t.window_size, 1234);
    assert_eq!(t.sequence_number, cookie.wrapping_add(1));
}

#[test]
fn bad_cookies_are_dropped_and_counted() {
    let mut w = worker(&lab("nat"), &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let cookie = client_syn(&mut w, &mut io, "198.18.0.2", 40000);
    let bad = [
        // A guess.
        (
            40000,
            CLIENT_ISN.wrapping_add(1),
            cookie.wrapping_add(2),
            SEC,
        ),
        // Another client port.
        (
            40001,
            CLIENT_ISN.wrapping_add(1),
            cookie.wrapping_add(1),
            SEC,
        ),
        // Another ISN.
        (
            40000,
            CLIENT_ISN.wrapping_add(2),
            cookie.wrapping_add(1),
            SEC,
        ),
        // Too late: two time slots on.
        (
            40000,
            CLIENT_ISN.wrapping_add(1),
            cookie.wrapping_add(1),
            SEC + 2 * COOKIE_PERIOD_NS,
        ),
    ];
    for (i, (sport, seq, ack, now)) in bad.into_iter().enumerate() {
        let f = Seg {
            sport,
            seq,
            ack: Some(ack),
            ..Seg::default()
        };
        assert!(feed(&mut w, &mut io, now, OUT, &f.build()).is_empty());
        assert_eq!(
            w.stats.drops_of(DropReason::SynproxyBadCookie),
            i as u64 + 1
        );
    }
    assert_eq!(w.conns().len(), 0);
    assert_eq!(w.stats.conns_created, 0);
    // A reset or a FIN without a connection is not a cookie answer.
    let rst = Seg {
        seq: 1,
        rst: true,
        ..Seg::default()
    };
    assert!(feed(&mut w, &mut io, SEC, OUT, &rst.build()).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::NoConnection), 1);
    // The right one, still in the next slot, gets through.
    let good = Seg {
        seq: CLIENT_ISN.wrapping_add(1),
        ack: Some(cookie.wrapping_add(1)),
        ..Seg::default()
    };
    one(
        feed(&mut w, &mut io, SEC + COOKIE_PERIOD_NS, OUT, &good.build()),
        IN,
    );
    assert_eq!(w.conns().len(), 1);
}

#[test]
fn server_reset_reaches_the_client_and_silence_times_out() {
    let mut w = worker(&lab("nat"), &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    // Port 40000: the server refuses.
    let cookie = client_syn(&mut w, &mut io, "198.18.0.2", 40000);
    let ack = Seg {
        seq: CLIENT_ISN.wrapping_add(1),
        ack: Some(cookie.wrapping_add(1)),
        ..Seg::default()
    };
    one(feed(&mut w, &mut io, SEC, OUT, &ack.build()), IN);
    let rst = Seg {
        src_mac: RS1_MAC,
        dst_mac: IN_MAC,
        src: "198.18.1.10",
        sport: 8080,
        dst: "198.18.0.2",
        dport: 40000,
        seq: 0,
        ack: Some(CLIENT_ISN.wrapping_add(1)),
        rst: true,
        ..Seg::default()
    };
    let f = one(feed(&mut w, &mut io, SEC, IN, &rst.build()), OUT);
    let (s, t, _) = tcp_of(&f);
    assert_eq!((s.src, s.sport), (ip("198.18.0.100"), 80));
    assert!(t.rst);
    assert_eq!(
        t.sequence_number,
        cookie.wrapping_add(1),
        "where the client expects the server's next byte (RFC 5961 §3.2 exact match)"
    );
    assert_eq!(w.stats.synproxy_server_resets, 1);
    let state = w.conns().iter().next().unwrap().1.state;
    assert_eq!(state, rvs_conn::State::Tcp(TcpState::Close));

    // Port 40001: the server never answers; the half-open connection times out as IPVS's
    // SYN_RECV does, and the client's retransmissions meanwhile are counted.
    let cookie = client_syn(&mut w, &mut io, "198.18.0.2", 40001);
    let ack = Seg {
        sport: 40001,
        seq: CLIENT_ISN.wrapping_add(1),
        ack: Some(cookie.wrapping_add(1)),
        ..Seg::default()
    };
    one(feed(&mut w, &mut io, SEC, OUT, &ack.build()), IN);
    // Client segments wait, one at a time: the newer pushes the older out, and a client
    // retransmitting sends the real server the SYN again.
    assert!(feed(&mut w, &mut io, 2 * SEC, OUT, &ack.build()).is_empty());
    let f = one(feed(&mut w, &mut io, 3 * SEC, OUT, &ack.build()), IN);
    let (s, t, _) = tcp_of(&f);
    assert_eq!((s.src, s.sport), (ip("198.18.0.2"), 40001));
    assert_eq!((s.dst, s.dport), (ip("198.18.1.10"), 8080));
    assert!(t.syn && !t.ack);
    assert_eq!(t.sequence_number, CLIENT_ISN);
    assert_eq!(
        options_of(&t),
        vec![
            TcpOptionElement::MaximumSegmentSize(1460),
            TcpOptionElement::Noop,
            TcpOptionElement::WindowScale(8),
            TcpOptionElement::Noop,
            TcpOptionElement::Noop,
            TcpOptionElement::SelectiveAcknowledgementPermitted,
        ]
    );
    assert_eq!(w.stats.synproxy_syn_resent, 1);
    assert_eq!(w.stats.synproxy_held, 2);
    assert_eq!(w.stats.synproxy_released, 1);
    assert_eq!(w.stats.drops_of(DropReason::SynproxyAwaitingServer), 1);
    let waiting = w
        .conns()
        .iter()
        .find(|(_, e)| e.in_key.src_port == 40001)
        .unwrap()
        .1
        .state;
    assert_eq!(waiting, rvs_conn::State::Tcp(TcpState::SynRecv));
    // A server segment other than SYN-ACK or RST before the handshake: dropped, counted.
    let stray = Seg {
        src_mac: RS1_MAC,
        dst_mac: IN_MAC,
        src: "198.18.1.10",
        sport: 8080,
        dst: "198.18.0.2",
        dport: 40001,
        seq: 7,
        ack: Some(CLIENT_ISN.wrapping_add(1)),
        ..Seg::default()
    };
    assert!(feed(&mut w, &mut io, 2 * SEC, IN, &stray.build()).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::SynproxyUnexpectedReply), 1);
    w.tick(200 * SEC, &mut io);
    assert_eq!(w.conns().len(), 0, "both gone by their timeouts");
    assert_eq!(w.stats.conns_expired, 2);
    assert_eq!(
        w.stats.drops_of(DropReason::SynproxyAwaitingServer),
        2,
        "the segment held for the silent server is freed with its connection"
    );
}

/// Complete a proxied connection from `client:sport`: handshake both sides, then one request
/// to the real server. `router`: the client is behind the default router.
fn proxied_connection(w: &mut Worker<VecBuf>, io: &mut CaptureIo, client: &str, sport: u16) {
    let cookie = client_syn(w, io, client, sport);
    let src_mac = if client == "198.18.0.2" {
        CLIENT_MAC
    } else {
        ROUTER_MAC
    };
    let ack = Seg {
        src_mac,
        src: client,
        sport,
        seq: CLIENT_ISN.wrapping_add(1),
        ack: Some(cookie.wrapping_add(1)),
        ..Seg::default()
    };
    let f = one(feed(w, io, 2 * SEC, OUT, &ack.build()), IN);
    let (s, _, _) = tcp_of(&f);
    let synack = Seg {
        src_mac: RS1_MAC,
        dst_mac: IN_MAC,
        src: "198.18.1.10",
        sport: 8080,
        dst: client,
        dport: s.sport,
        seq: SERVER_ISN,
        ack: Some(CLIENT_ISN.wrapping_add(1)),
        syn: true,
        options: vec![TcpOptionElement::WindowScale(7)],
        ..Seg::default()
    };
    one(feed(w, io, 2 * SEC, IN, &synack.build()), IN);
    request(w, io, client, sport, cookie);
}

/// One request from an established proxied client; asserts it reaches the real server with
/// its acknowledgement translated.
fn request(w: &mut Worker<VecBuf>, io: &mut CaptureIo, client: &str, sport: u16, cookie: u32) {
    let src_mac = if client == "198.18.0.2" {
        CLIENT_MAC
    } else {
        ROUTER_MAC
    };
    let data = Seg {
        src_mac,
        src: client,
        sport,
        seq: CLIENT_ISN.wrapping_add(1),
        ack: Some(cookie.wrapping_add(1)),
        payload: b"GET /",
        ..Seg::default()
    };
    let f = one(feed(w, io, 3 * SEC, OUT, &data.build()), IN);
    let (s, t, payload) = tcp_of(&f);
    assert_eq!((s.dst, s.dport), (ip("198.18.1.10"), 8080));
    assert_eq!(t.acknowledgment_number, SERVER_ISN.wrapping_add(1));
    assert_eq!(payload, b"GET /");
}

#[test]
fn a_spoofed_syn_flood_leaves_the_table_untouched() {
    let mut w = worker(&lab("nat"), &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    // Four established flows through the proxy (the table holds 16).
    let mut cookies = Vec::new();
    for i in 0..4u16 {
        proxied_connection(&mut w, &mut io, "198.18.0.2", 30000 + i);
        let e = w
            .conns()
            .iter()
            .find(|(_, e)| e.in_key.src_port == 30000 + i)
            .unwrap()
            .1;
        cookies.push(e.data.syn.delta);
    }
    let established = |w: &Worker<VecBuf>| {
        w.conns()
            .iter()
            .filter(|(_, e)| e.state == rvs_conn::State::Tcp(TcpState::Established))
            .count()
    };
    assert_eq!(established(&w), 4);
    let before = w.stats.clone();

    // 4000 spoofed SYNs from 4000 sources (250 times the table): each answered with a
    // SYN-ACK towards its source, none kept.
    const FLOOD: u32 = 4000;
    let mut out = 0;
    for i in 0..FLOOD {
        let src = format!("198.19.{}.{}", i / 250, 1 + i % 250);
        let syn = Seg {
            src_mac: ROUTER_MAC,
            src: &src,
            sport: 1024 + (i % 60000) as u16,
            seq: i.wrapping_mul(2_654_435_761),
            syn: true,
            options: vec![TcpOptionElement::MaximumSegmentSize(1460)],
            ..Seg::default()
        };
        let sent = feed(&mut w, &mut io, 3 * SEC, OUT, &syn.build());
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, OUT);
        assert_eq!(&sent[0].1[0..6], &ROUTER_MAC, "SYN-ACK via the router");
        out += sent.len();
    }
    // And 1000 spoofed ACKs guessing cookies.
    for i in 0..1000u32 {
        let src = format!("198.19.{}.{}", 100 + i / 250, 1 + i % 250);
        let ack = Seg {
            src_mac: ROUTER_MAC,
            src: &src,
            sport: 2000,
            seq: i,
            ack: Some(i.wrapping_mul(0x9e37_79b9)),
            ..Seg::default()
        };
        assert!(feed(&mut w, &mut io, 3 * SEC, OUT, &ack.build()).is_empty());
    }
    assert_eq!(out, FLOOD as usize);
    assert_eq!(w.conns().len(), 4, "no connection for a spoofed SYN");
    assert_eq!(w.stats.conns_created, before.conns_created);
    assert_eq!(
        w.stats.synproxy_cookies_sent - before.synproxy_cookies_sent,
        u64::from(FLOOD)
    );
    assert_eq!(w.stats.drops_of(DropReason::SynproxyBadCookie), 1000);
    assert_eq!(w.stats.drops_of(DropReason::ConnTableFull), 0);
    assert_eq!(
        w.stats.total_drops() - before.total_drops(),
        1000,
        "every drop is a bad cookie: {:?}",
        w.stats.nonzero_drops().collect::<Vec<_>>()
    );

    // The established flows keep flowing, translated.
    for (i, &cookie) in cookies.iter().enumerate() {
        // `delta` holds server ISN - cookie once established.
        let cookie = SERVER_ISN.wrapping_sub(cookie);
        request(&mut w, &mut io, "198.18.0.2", 30000 + i as u16, cookie);
    }
    assert_eq!(established(&w), 4);

    // A legitimate new client behind the router completes its handshake during the flood.
    proxied_connection(&mut w, &mut io, "198.19.200.7", 50000);
    assert_eq!(w.conns().len(), 5);
    assert_eq!(established(&w), 5);
    assert_eq!(w.stats.synproxy_cookies_valid, 5);
    assert_eq!(w.stats.synproxy_handshakes, 5);
}

mod hostile {
    //! Arbitrary TCP segments, from clients and from the real server, to a SYN-proxy service
    //! with connections in every phase: nothing panics, and every frame that comes out is
    //! well formed with correct checksums.
    use super::*;
    use proptest::prelude::*;

    fn raw(from_rs: bool, sport: u16, flags: u8, seq: u32, ack: u32, opts: &[u8]) -> Vec<u8> {
        let (src_mac, dst_mac, src, dst, sp, dp) = if from_rs {
            (RS1_MAC, IN_MAC, "198.18.1.10", "198.18.0.2", 8080, sport)
        } else {
            (CLIENT_MAC, OUT_MAC, "198.18.0.2", "198.18.0.100", sport, 80)
        };
        let mut b = PacketBuilder::ethernet2(src_mac, dst_mac)
            .ipv4(ip(src).octets(), ip(dst).octets(), 64)
            .tcp(sp, dp, seq, 1000);
        if flags & 0x02 != 0 {
            b = b.syn();
        }
        if flags & 0x04 != 0 {
            b = b.rst();
        }
        if flags & 0x01 != 0 {
            b = b.fin();
        }
        if flags & 0x10 != 0 {
            b = b.ack(ack);
        }
        let mut padded = opts.to_vec();
        padded.resize(opts.len().div_ceil(4) * 4, 0);
        b = b.options_raw(&padded).unwrap();
        let mut out = Vec::new();
        b.write(&mut out, b"xy").unwrap();
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn arbitrary_segments_never_panic_and_emit_valid_frames(
            segs in proptest::collection::vec(
                (any::<bool>(), 40000u16..40004, any::<u8>(), any::<u32>(), any::<u32>(),
                 proptest::collection::vec(any::<u8>(), 0..40)),
                1..40,
            )
        ) {
            let mut w = worker(&lab("nat"), &[OUT_MAC, IN_MAC]);
            let mut io = CaptureIo::default();
            // 40000 established through the proxy, 40001 waiting for the server, 40002 and
            // 40003 without a connection.
            proxied_connection(&mut w, &mut io, "198.18.0.2", 40000);
            let cookie = client_syn(&mut w, &mut io, "198.18.0.2", 40001);
            let ack = Seg {
                sport: 40001,
                seq: CLIENT_ISN.wrapping_add(1),
                ack: Some(cookie.wrapping_add(1)),
                ..Seg::default()
            };
            one(feed(&mut w, &mut io, SEC, OUT, &ack.build()), IN);
            for (from_rs, sport, flags, seq, ack, opts) in segs {
                let frame = raw(from_rs, sport, flags, seq, ack, &opts);
                for (_, f) in feed(&mut w, &mut io, 2 * SEC, if from_rs { IN } else { OUT }, &frame) {
                    let _ = tcp_of(&f);
                }
            }
            w.tick(500 * SEC, &mut io);
        }
    }
}

mod ipv6 {
    //! The same handshake and translation over IPv6 (NAT and FullNAT with the IPv6 TOA).
    use super::*;
    use etherparse::NetHeaders;

    fn lab6(method: &str) -> String {
        format!(
            r#"
workers = 1
max_connections = 16
[[ports]]
name = "outside"
device = "net_ring0"
addresses = ["2001:2::1/64"]
[[ports]]
name = "inside"
device = "net_ring1"
addresses = ["2001:2:0:1::1/64"]
local_addresses = ["2001:2:0:1::3"]
[[neighbours]]
port = "outside"
address = "2001:2::2"
mac = "02:c1:00:00:00:02"
[[neighbours]]
port = "inside"
address = "2001:2:0:1::10"
mac = "02:51:00:00:00:10"
[[services]]
protocol = "tcp"
address = "[2001:2::100]:80"
scheduler = "rr"
synproxy = true
[[services.real_servers]]
address = "[2001:2:0:1::10]:8080"
method = "{method}"
"#
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn seg6(
        from_rs: bool,
        dst: &str,
        dport: u16,
        seq: u32,
        ack: Option<u32>,
        syn: bool,
        window: u16,
        options: &[TcpOptionElement],
        payload: &[u8],
    ) -> Vec<u8> {
        let (src_mac, dst_mac, src, sport) = if from_rs {
            (RS1_MAC, IN_MAC, "2001:2:0:1::10", 8080)
        } else {
            (CLIENT_MAC, OUT_MAC, "2001:2::2", 40000)
        };
        let mut b = PacketBuilder::ethernet2(src_mac, dst_mac)
            .ipv6(ip6(src).octets(), ip6(dst).octets(), 64)
            .tcp(sport, dport, seq, window);
        if syn {
            b = b.syn();
        }
        if let Some(a) = ack {
            b = b.ack(a);
        }
        if !options.is_empty() {
            b = b.options(options).unwrap();
        }
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    fn tcp6_of(frame: &[u8]) -> (Seen6, TcpHeader, Vec<u8>) {
        let seen = check6(frame);
        let h = PacketHeaders::from_ethernet_slice(frame).unwrap();
        assert!(matches!(h.net, Some(NetHeaders::Ipv6(..))));
        let Some(TransportHeader::Tcp(t)) = h.transport.clone() else {
            panic!("not TCP")
        };
        (seen, t, h.payload.slice().to_vec())
    }

    fn handshake6(method: &str) {
        let fullnat = method == "fullnat";
        let mut w = worker(&lab6(method), &[OUT_MAC, IN_MAC]);
        let mut io = CaptureIo::default();
        let syn = seg6(
            false,
            "2001:2::100",
            80,
            CLIENT_ISN,
            None,
            true,
            64240,
            &[
                TcpOptionElement::MaximumSegmentSize(1440),
                TcpOptionElement::SelectiveAcknowledgementPermitted,
                TcpOptionElement::Noop,
                TcpOptionElement::WindowScale(8),
            ],
            b"",
        );
        let f = one(feed(&mut w, &mut io, SEC, OUT, &syn), OUT);
        let (s, t, _) = tcp6_of(&f);
        assert_eq!((s.src, s.sport), (ip6("2001:2::100"), 80));
        assert_eq!((s.dst, s.dport), (ip6("2001:2::2"), 40000));
        assert!(t.syn && t.ack);
        assert_eq!(t.acknowledgment_number, CLIENT_ISN.wrapping_add(1));
        assert_eq!(
            options_of(&t),
            vec![
                TcpOptionElement::MaximumSegmentSize(1440),
                TcpOptionElement::Noop,
                TcpOptionElement::WindowScale(DIRECTOR_WSCALE),
                TcpOptionElement::Noop,
                TcpOptionElement::Noop,
                TcpOptionElement::SelectiveAcknowledgementPermitted,
            ]
        );
        assert_eq!(w.conns6().len(), 0, "a SYN creates nothing");
        let cookie = t.sequence_number;

        let ack = seg6(
            false,
            "2001:2::100",
            80,
            CLIENT_ISN.wrapping_add(1),
            Some(cookie.wrapping_add(1)),
            false,
            502,
            &[],
            b"",
        );
        let f = one(feed(&mut w, &mut io, SEC, OUT, &ack), IN);
        let (s, t, _) = tcp6_of(&f);
        let (lip, lport) = (s.src, s.sport);
        if fullnat {
            assert_eq!(lip, ip6("2001:2:0:1::3"), "FullNAT: from the LIP");
            let toa_kind = t.options.as_slice().windows(2).any(|x| x == [254, 20]);
            assert!(toa_kind, "the IPv6 TOA option: {:?}", t.options.as_slice());
        } else {
            assert_eq!((lip, lport), (ip6("2001:2::2"), 40000));
        }
        assert_eq!((s.dst, s.dport), (ip6("2001:2:0:1::10"), 8080));
        assert!(t.syn && !t.ack);
        assert_eq!(t.sequence_number, CLIENT_ISN);
        assert_eq!(w.conns6().len(), 1);

        let early = seg6(
            false,
            "2001:2::100",
            80,
            CLIENT_ISN.wrapping_add(1),
            Some(cookie.wrapping_add(1)),
            false,
            502,
            &[],
            b"early",
        );
        assert!(feed(&mut w, &mut io, SEC, OUT, &early).is_empty());

        let to = if fullnat {
            "2001:2:0:1::3"
        } else {
            "2001:2::2"
        };
        let synack = seg6(
            true,
            to,
            lport,
            SERVER_ISN,
            Some(CLIENT_ISN.wrapping_add(1)),
            true,
            65535,
            &[
                TcpOptionElement::MaximumSegmentSize(1400),
                TcpOptionElement::Noop,
                TcpOptionElement::WindowScale(9),
            ],
            b"",
        );
        let out = feed(&mut w, &mut io, SEC, IN, &synack);
        assert_eq!(out.len(), 2, "the ACK, then the held data");
        let (s, t, _) = tcp6_of(&out[0].1);
        assert_eq!((s.src, s.sport), (lip, lport));
        assert!(t.ack && !t.syn);
        assert_eq!(t.acknowledgment_number, SERVER_ISN.wrapping_add(1));
        assert_eq!(t.window_size, 502);
        let (s, t, payload) = tcp6_of(&out[1].1);
        assert_eq!((s.src, s.sport), (lip, lport));
        assert_eq!(t.acknowledgment_number, SERVER_ISN.wrapping_add(1));
        assert_eq!(payload, b"early");

        let reply = seg6(
            true,
            to,
            lport,
            SERVER_ISN.wrapping_add(1),
            Some(CLIENT_ISN.wrapping_add(6)),
            false,
            1000,
            &[],
            b"HTTP/1.0 200 OK\r\n\r\n",
        );
        let f = one(feed(&mut w, &mut io, SEC, IN, &reply), OUT);
        let (s, t, payload) = tcp6_of(&f);
        assert_eq!((s.src, s.sport), (ip6("2001:2::100"), 80));
        assert_eq!((s.dst, s.dport), (ip6("2001:2::2"), 40000));
        assert_eq!(t.sequence_number, cookie.wrapping_add(1));
        assert_eq!(t.window_size, 4000, "1000 << 9 >> 7");
        assert_eq!(payload, b"HTTP/1.0 200 OK\r\n\r\n");
        let state = w.conns6().iter().next().unwrap().1.state;
        assert_eq!(state, rvs_conn::State::Tcp(TcpState::Established));
        assert_eq!(w.stats.total_drops(), 0, "{:?}", w.stats);

        // A guessed cookie (from a client port without a connection) is refused over IPv6.
        let mut bad = Vec::new();
        PacketBuilder::ethernet2(CLIENT_MAC, OUT_MAC)
            .ipv6(ip6("2001:2::2").octets(), ip6("2001:2::100").octets(), 64)
            .tcp(40009, 80, 7, 502)
            .ack(cookie.wrapping_add(99))
            .write(&mut bad, b"")
            .unwrap();
        assert!(feed(&mut w, &mut io, SEC, OUT, &bad).is_empty());
        assert_eq!(w.stats.drops_of(DropReason::SynproxyBadCookie), 1);
    }

    #[test]
    fn nat6_handshake_and_data_through_the_proxy() {
        handshake6("nat");
    }

    #[test]
    fn fullnat6_handshake_and_data_through_the_proxy() {
        handshake6("fullnat");
    }
}

/// Insert an 802.1Q tag with `vid` after the MAC addresses.
fn tag(frame: &[u8], vid: u16) -> Vec<u8> {
    let mut f = frame[..12].to_vec();
    f.extend_from_slice(&0x8100u16.to_be_bytes());
    f.extend_from_slice(&vid.to_be_bytes());
    f.extend_from_slice(&frame[12..]);
    f
}

/// Remove the 802.1Q tag, checking it is `vid`.
fn untag(frame: &[u8], vid: u16) -> Vec<u8> {
    assert_eq!(&frame[12..14], &0x8100u16.to_be_bytes());
    assert_eq!(u16::from_be_bytes([frame[14], frame[15]]) & 0xfff, vid);
    let mut f = frame[..12].to_vec();
    f.extend_from_slice(&frame[16..]);
    f
}

#[test]
fn held_segments_from_a_vlan_port_are_released_once_untagged() {
    let toml = lab("nat").replace(
        "addresses = [\"198.18.0.1/24\"]",
        "addresses = [\"198.18.0.1/24\"]\nvlan = 10",
    );
    let mut w = worker(&toml, &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let syn = Seg {
        seq: CLIENT_ISN,
        syn: true,
        ..Seg::default()
    };
    let f = one(feed(&mut w, &mut io, SEC, OUT, &tag(&syn.build(), 10)), OUT);
    let (_, t, _) = tcp_of(&untag(&f, 10));
    let cookie = t.sequence_number;
    let ack = Seg {
        seq: CLIENT_ISN.wrapping_add(1),
        ack: Some(cookie.wrapping_add(1)),
        ..Seg::default()
    };
    one(feed(&mut w, &mut io, SEC, OUT, &tag(&ack.build(), 10)), IN);
    let early = Seg {
        payload: b"early",
        ..ack
    };
    assert!(feed(&mut w, &mut io, SEC, OUT, &tag(&early.build(), 10)).is_empty());
    let synack = Seg {
        src_mac: RS1_MAC,
        dst_mac: IN_MAC,
        src: "198.18.1.10",
        sport: 8080,
        dst: "198.18.0.2",
        dport: 40000,
        seq: SERVER_ISN,
        ack: Some(CLIENT_ISN.wrapping_add(1)),
        syn: true,
        ..Seg::default()
    };
    let out = feed(&mut w, &mut io, SEC, IN, &synack.build());
    assert_eq!(out.len(), 2, "the ACK and the held data: {:?}", w.stats);
    let (_, _, payload) = tcp_of(&out[1].1);
    assert_eq!(payload, b"early");
    assert_eq!(w.stats.total_drops(), 0);
    assert_eq!(w.stats.rx_frames, 4);
}

#[test]
fn replay_decisions_are_made_on_the_cookie_ack() {
    use rvs_engine::{Decision, Director, WorkerConfig};
    use std::sync::Arc;
    let cfg = rvs_config::parse(&lab("nat")).unwrap();
    let macs = [rvs_wire::MacAddr(OUT_MAC), rvs_wire::MacAddr(IN_MAC)];
    let dir = Director::new(&cfg, &macs, None).unwrap();
    let mut w: Worker<VecBuf> = Worker::new(
        Arc::new(dir),
        WorkerConfig {
            max_connections: 16,
            record_decisions: true,
            ..WorkerConfig::default()
        },
    );
    let mut io = CaptureIo::default();
    let cookie = client_syn(&mut w, &mut io, "198.18.0.2", 40000);
    assert_eq!(w.take_decisions().count(), 0, "a SYN decides nothing");
    let bad = Seg {
        sport: 40001,
        seq: 5,
        ack: Some(5),
        ..Seg::default()
    };
    feed(&mut w, &mut io, SEC, OUT, &bad.build());
    let ack = Seg {
        seq: CLIENT_ISN.wrapping_add(1),
        ack: Some(cookie.wrapping_add(1)),
        ..Seg::default()
    };
    one(feed(&mut w, &mut io, SEC, OUT, &ack.build()), IN);
    let d: Vec<Decision> = w.take_decisions().collect();
    let client = |p| (ip("198.18.0.2").into(), p);
    let vip = (ip("198.18.0.100").into(), 80);
    assert_eq!(
        d,
        vec![
            Decision {
                proto: 6,
                client: client(40001),
                vip,
                real: None
            },
            Decision {
                proto: 6,
                client: client(40000),
                vip,
                real: Some((ip("198.18.1.10").into(), 8080))
            },
        ]
    );
}

#[test]
fn a_removed_real_server_ends_its_proxied_handshakes() {
    use rvs_engine::Director;
    use std::sync::Arc;
    let mut w = worker(&lab("nat"), &[OUT_MAC, IN_MAC]);
    let mut io = CaptureIo::default();
    let cookie = client_syn(&mut w, &mut io, "198.18.0.2", 40000);
    let ack = Seg {
        seq: CLIENT_ISN.wrapping_add(1),
        ack: Some(cookie.wrapping_add(1)),
        ..Seg::default()
    };
    one(feed(&mut w, &mut io, SEC, OUT, &ack.build()), IN);
    let cookie2 = client_syn(&mut w, &mut io, "198.18.0.2", 40001);
    // Reload with the real server replaced by another (and its static neighbour).
    let toml = lab("nat").replace("198.18.1.10", "198.18.1.20");
    let cfg = rvs_config::parse(&toml).unwrap();
    let macs = [rvs_wire::MacAddr(OUT_MAC), rvs_wire::MacAddr(IN_MAC)];
    let new = Director::new(&cfg, &macs, Some(w.director())).unwrap();
    assert_eq!(
        new.synproxy_secret,
        w.director().synproxy_secret,
        "a reload keeps the cookie key"
    );
    w.set_director(Arc::new(new));
    let data = Seg {
        payload: b"GET /",
        ..ack
    };
    assert!(feed(&mut w, &mut io, 2 * SEC, OUT, &data.build()).is_empty());
    assert_eq!(w.stats.drops_of(DropReason::RealServerRemoved), 1);
    assert_eq!(w.stats.synproxy_held, 0);
    // A cookie handed out before the reload still opens a connection after it.
    let ack = Seg {
        sport: 40001,
        seq: CLIENT_ISN.wrapping_add(1),
        ack: Some(cookie2.wrapping_add(1)),
        ..Seg::default()
    };
    let f = one(feed(&mut w, &mut io, 3 * SEC, OUT, &ack.build()), IN);
    let (s, t, _) = tcp_of(&f);
    assert_eq!(s.dst, ip("198.18.1.20"));
    assert!(t.syn);
}
