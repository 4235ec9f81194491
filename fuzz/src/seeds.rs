//! The committed seed corpora, built here so that they follow the harness's input format:
//! small, valid scenarios of each kind for the engine target (see [`crate::engine`]) and
//! crafted frames for the wire target. `examples/gen_seeds.rs` writes them to `seeds/`.

use crate::check;
use crate::engine::{host_mac, PORT_MACS, VLAN};
use crate::frames::{self, flags::*, IpOpts};

/// An engine-target input under construction.
pub struct Enc(pub Vec<u8>);

/// Address indexes of [`crate::engine::ADDRS`].
pub mod a {
    /// Client on the outside segment.
    pub const CLIENT: u8 = 0;
    /// Client behind the router (reached through a static neighbour).
    pub const REMOTE: u8 = 2;
    /// NAT VIP (tcp/80, udp/53).
    pub const VIP_NAT: u8 = 3;
    /// DR VIP.
    pub const VIP_DR: u8 = 4;
    /// TUN VIP.
    pub const VIP_TUN: u8 = 5;
    /// FullNAT VIP.
    pub const VIP_FNAT: u8 = 6;
    /// Persistent port-0 VIP.
    pub const VIP_PERSIST: u8 = 7;
    /// One-packet UDP VIP.
    pub const VIP_ONEPKT: u8 = 8;
    /// Firewall-mark destination.
    pub const VIP_MARK: u8 = 9;
    /// DIP of the outside port.
    pub const DIP_OUT: u8 = 11;
    /// DIP of the inside port.
    pub const DIP_IN: u8 = 12;
    /// A LIP.
    pub const LIP: u8 = 14;
    /// A NAT real server.
    pub const RIP: u8 = 16;
    /// VIP on the tagged segment.
    pub const VIP_TAGGED: u8 = 26;
    /// UDP FullNAT VIP.
    pub const VIP_UDP_FNAT: u8 = 27;
    /// 0.0.0.0.
    pub const ZERO: u8 = 28;
    /// 255.255.255.255.
    pub const BCAST: u8 = 29;
}

/// Port indexes of [`crate::engine::L4_PORTS`].
pub mod p {
    /// 80.
    pub const HTTP: u8 = 0;
    /// 443.
    pub const HTTPS: u8 = 1;
    /// 53.
    pub const DNS: u8 = 2;
    /// 5000.
    pub const P5000: u8 = 4;
    /// 500.
    pub const P500: u8 = 5;
    /// 22.
    pub const SSH: u8 = 6;
}

/// Synthesis kinds.
pub mod k {
    /// TCP.
    pub const TCP: u8 = 0;
    /// UDP.
    pub const UDP: u8 = 1;
    /// ICMP echo request.
    pub const ECHO: u8 = 2;
    /// ARP request.
    pub const ARP_REQ: u8 = 3;
    /// ARP reply.
    pub const ARP_REP: u8 = 4;
    /// ICMP error about a made-up flow.
    pub const ICMP_ERR: u8 = 5;
    /// GRE.
    pub const GRE: u8 = 6;
    /// IPv6.
    pub const V6: u8 = 7;
}

impl Enc {
    /// Start with the setup byte.
    pub fn new(setup: u8) -> Enc {
        Enc(vec![setup])
    }
    /// A raw frame on `port`.
    pub fn raw(&mut self, port: u8, frame: &[u8], fix: bool) -> &mut Self {
        self.0.push((port << 3) | if fix { 0x20 } else { 0 });
        self.0
            .extend_from_slice(&(frame.len() as u16).to_le_bytes());
        self.0.extend_from_slice(frame);
        self
    }
    /// A synthesised frame.
    #[allow(clippy::too_many_arguments)]
    pub fn synth(
        &mut self,
        port: u8,
        kind: u8,
        src: u8,
        dst: u8,
        sport: u16,
        dport: u8,
        tcp_flags: u8,
        extra: [u8; 3],
    ) -> &mut Self {
        let [s0, s1] = sport.to_be_bytes();
        self.0.push(1 | (port << 3));
        self.0
            .extend_from_slice(&[kind, src, dst, s0, s1, dport, tcp_flags]);
        self.0.extend_from_slice(&extra);
        self
    }
    /// A TCP segment from `src:sport` to `dst:dport` on `port`.
    pub fn tcp(&mut self, port: u8, src: u8, sport: u16, dst: u8, dport: u8, fl: u8) -> &mut Self {
        self.synth(port, k::TCP, src, dst, sport, dport, fl, [0, 0, 1])
    }
    /// A UDP datagram.
    pub fn udp(&mut self, port: u8, src: u8, sport: u16, dst: u8, dport: u8) -> &mut Self {
        self.synth(port, k::UDP, src, dst, sport, dport | 0x20, 0, [0, 0, 1])
    }
    /// The reply to the k-th last frame sent.
    pub fn reflect(&mut self, k: u8, fl: u8) -> &mut Self {
        self.0.extend_from_slice(&[2, k, fl]);
        self
    }
    /// An ICMP error about the k-th last frame sent.
    pub fn icmp(&mut self, k: u8, kind: u8) -> &mut Self {
        self.0.extend_from_slice(&[3, k, kind]);
        self
    }
    /// Run the timers.
    pub fn tick(&mut self) -> &mut Self {
        self.0.push(4);
        self
    }
    /// Advance the clock by `ms` milliseconds.
    pub fn ms(&mut self, ms: u16) -> &mut Self {
        self.0.push(5);
        self.0.extend_from_slice(&ms.to_le_bytes());
        self
    }
    /// Advance the clock by `s` seconds.
    pub fn secs(&mut self, s: u16) -> &mut Self {
        self.0.push(5 | 0x20);
        self.0.extend_from_slice(&s.to_le_bytes());
        self
    }
    /// Reload to director A (false) or B (true).
    pub fn reload(&mut self, b: bool) -> &mut Self {
        self.0.extend_from_slice(&[6, u8::from(b)]);
        self
    }
    /// The k-th last frame sent with one byte flipped, fed back.
    pub fn garbage(&mut self, k: u8, at: u16, xor: u8) -> &mut Self {
        self.0.push(7);
        self.0.push(k);
        self.0.extend_from_slice(&at.to_le_bytes());
        self.0.push(xor);
        self
    }
    /// The finished input.
    pub fn done(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

/// Setup bits (see the engine harness).
pub mod setup {
    /// Exception path.
    pub const EXCEPTION: u8 = 0x01;
    /// Synthetic neighbours.
    pub const SYNTHETIC: u8 = 0x04;
    /// Record decisions.
    pub const DECISIONS: u8 = 0x08;
    /// Two workers.
    pub const TWO: u8 = 0x10;
    /// A tiny expiry budget.
    pub const SLOW_EXPIRY: u8 = 0x40;
}

/// Seeds of the engine target, by name (pushed one by one, each with its comment).
#[allow(clippy::vec_init_then_push)]
pub fn engine() -> Vec<(&'static str, Vec<u8>)> {
    use a::*;
    let mut v = Vec::new();

    // NAT: handshake, data and close, the real server resolved by ARP on the way.
    v.push((
        "nat_tcp_conversation",
        Enc::new(0)
            .tcp(0, REMOTE, 40000, VIP_NAT, p::HTTP, SYN)
            .reflect(0, 0) // the RS answers our ARP request; the SYN goes out
            .reflect(0, SYN | ACK)
            .tcp(0, REMOTE, 40000, VIP_NAT, p::HTTP, ACK)
            .tcp(0, REMOTE, 40000, VIP_NAT, p::HTTP, ACK | PSH)
            .reflect(0, ACK | PSH)
            .tcp(0, REMOTE, 40000, VIP_NAT, p::HTTP, FIN | ACK)
            .reflect(0, FIN | ACK)
            .tcp(0, REMOTE, 40000, VIP_NAT, p::HTTP, ACK)
            .secs(3)
            .tick()
            .done(),
    ));
    // The same with synthetic neighbours and an ICMP error both ways.
    v.push((
        "nat_icmp_relay",
        Enc::new(setup::SYNTHETIC)
            .tcp(0, CLIENT, 40001, VIP_NAT, p::HTTP, SYN)
            .icmp(0, 3 << 2) // port unreachable from the RS
            .reflect(1, SYN | ACK)
            .icmp(0, 0x80 | 1) // time exceeded from a router on the client's side
            .tcp(0, CLIENT, 40001, VIP_NAT, p::HTTP, RST)
            .done(),
    ));
    v.push((
        "nat_udp_dns",
        Enc::new(setup::SYNTHETIC)
            .udp(0, REMOTE, 5353, VIP_NAT, p::DNS)
            .reflect(0, 0)
            .udp(0, REMOTE, 5353, VIP_NAT, p::DNS)
            .secs(301)
            .tick()
            .udp(0, REMOTE, 5353, VIP_NAT, p::DNS)
            .done(),
    ));
    v.push((
        "dr_and_tun",
        Enc::new(0)
            .tcp(0, REMOTE, 40002, VIP_DR, p::HTTP, SYN)
            .reflect(0, 0)
            .tcp(0, REMOTE, 40003, VIP_DR, p::HTTP, SYN)
            .reflect(0, 0)
            .tcp(0, REMOTE, 40002, VIP_DR, p::HTTP, ACK)
            .tcp(0, REMOTE, 40004, VIP_TUN, p::HTTP, SYN)
            .reflect(0, 0)
            .tcp(0, REMOTE, 40005, VIP_TUN, p::HTTP, SYN)
            .reflect(0, 0)
            .tcp(0, REMOTE, 40004, VIP_TUN, p::HTTP, ACK | PSH)
            .done(),
    ));
    // TUN through the 1400-byte VLAN port: too big with DF (fragmentation needed) and without.
    v.push((
        "tun_too_big",
        Enc::new(setup::SYNTHETIC)
            .tcp(0, REMOTE, 40010, VIP_TUN, p::HTTP, SYN)
            .tcp(0, REMOTE, 40011, VIP_TUN, p::HTTP, SYN)
            .synth(
                0,
                k::TCP | 0x08,
                REMOTE,
                VIP_TUN,
                40010,
                p::HTTP | 0x70,
                ACK,
                [0, 0, 2],
            )
            .synth(
                0,
                k::TCP,
                REMOTE,
                VIP_TUN,
                40011,
                p::HTTP | 0x70,
                ACK,
                [0, 0, 2],
            )
            .synth(
                0,
                k::TCP | 0x08,
                REMOTE,
                VIP_TUN,
                40011,
                p::HTTP | 0x70,
                ACK,
                [0, 0, 3],
            )
            .done(),
    ));
    v.push((
        "fullnat_both_ways",
        Enc::new(0)
            .tcp(0, REMOTE, 40020, VIP_FNAT, p::HTTP, SYN)
            .reflect(0, 0)
            .reflect(0, SYN | ACK)
            .tcp(0, REMOTE, 40020, VIP_FNAT, p::HTTP, ACK)
            .tcp(0, REMOTE, 40021, VIP_FNAT, p::HTTP, SYN)
            .reflect(0, 0)
            .reflect(0, SYN | ACK)
            .icmp(0, 3 << 2)
            .udp(0, REMOTE, 7000, VIP_UDP_FNAT, p::P500)
            .reflect(0, 0)
            .done(),
    ));
    v.push((
        "fwmark_persistence_one_packet",
        Enc::new(setup::SYNTHETIC | setup::DECISIONS)
            .tcp(0, REMOTE, 40030, VIP_MARK, p::HTTP, SYN)
            .tcp(0, REMOTE, 40031, VIP_MARK, p::HTTPS, SYN)
            .reflect(1, SYN | ACK)
            .tcp(0, REMOTE, 40032, VIP_PERSIST, p::SSH, SYN)
            .tcp(0, REMOTE, 40033, VIP_PERSIST, p::HTTPS, SYN)
            .reflect(0, SYN | ACK)
            .udp(0, REMOTE, 6000, VIP_ONEPKT, p::P5000)
            .udp(0, REMOTE, 6000, VIP_ONEPKT, p::P5000)
            .udp(0, REMOTE, 6000, VIP_ONEPKT, p::P5000)
            .secs(120)
            .tick()
            .tcp(0, REMOTE, 40034, VIP_PERSIST, p::SSH, SYN)
            .done(),
    ));
    // ARP: requests for our addresses on each port, replies and gratuitous ARP claiming them.
    v.push((
        "arp_ours_and_claims",
        Enc::new(0)
            .synth(0, k::ARP_REQ, CLIENT, VIP_NAT, 0, 0, 0, [0; 3])
            .synth(0, k::ARP_REQ | 0x80, CLIENT, DIP_OUT, 0, 0, 0, [0; 3])
            .synth(1, k::ARP_REQ | 0x80, RIP, LIP, 0, 0, 0, [0; 3])
            .synth(1, k::ARP_REQ | 0x80, RIP, DIP_IN, 0, 0, 0, [0; 3])
            .synth(2, k::ARP_REQ | 0x80, 18, VIP_TAGGED, 0, 0, 0, [0; 3])
            .synth(0, k::ARP_REP, VIP_NAT, CLIENT, 0, 0, 0, [0, 0, 0])
            .synth(0, k::ARP_REQ | 0x80, DIP_OUT, DIP_OUT, 0, 0, 0, [0; 3])
            .synth(1, k::ARP_REP, LIP, RIP, 0, 0, 0, [0, 0, 0])
            .synth(0, k::ARP_REQ, CLIENT, 19, 0, 0, 0, [0; 3])
            .reflect(0, 0)
            .done(),
    ));
    v.push((
        "echo_and_local",
        Enc::new(setup::EXCEPTION)
            .synth(0, k::ECHO, REMOTE, VIP_NAT, 0, 0, 0, [0, 0, 1])
            .synth(0, k::ECHO, REMOTE, DIP_OUT, 0, 0, 0, [0, 0, 2])
            .reflect(0, 0)
            .tcp(0, REMOTE, 40040, DIP_OUT, p::SSH, SYN)
            .synth(0, k::GRE, REMOTE, DIP_OUT, 0, 0, 0, [0; 3])
            .synth(1, k::ARP_REP, RIP, DIP_IN, 0, 0, 0, [0; 3])
            .done(),
    ));
    // Reload: connections on a real server that B removes are dropped, A brings it back.
    v.push((
        "reload_removes_and_restores",
        Enc::new(setup::SYNTHETIC)
            .tcp(0, REMOTE, 40050, VIP_NAT, p::HTTP, SYN)
            .tcp(0, REMOTE, 40051, VIP_NAT, p::HTTP, SYN)
            .tcp(0, REMOTE, 40052, VIP_FNAT, p::HTTP, SYN)
            .tcp(0, REMOTE, 40053, VIP_FNAT, p::HTTP, SYN)
            .reload(true)
            .tcp(0, REMOTE, 40050, VIP_NAT, p::HTTP, ACK)
            .tcp(0, REMOTE, 40051, VIP_NAT, p::HTTP, ACK)
            .reflect(0, SYN | ACK)
            .udp(0, REMOTE, 7001, VIP_UDP_FNAT, p::P500)
            .reload(false)
            .tcp(0, REMOTE, 40051, VIP_NAT, p::HTTP, ACK)
            .tcp(0, REMOTE, 40054, VIP_NAT, p::HTTP, SYN)
            .done(),
    ));
    // A full connection table and a full neighbour queue.
    let mut e = Enc::new(setup::SLOW_EXPIRY);
    for i in 0..70u16 {
        e.tcp(0, REMOTE, 41000 + i, VIP_DR, p::HTTP, SYN);
    }
    e.reflect(0, 0).reflect(1, 0).secs(100).tick().tick();
    v.push(("tables_full", e.done()));
    // A SYN flood fills the table; after a reload to B (drop_entry on) new SYNs take the
    // places of half-open connections.
    let mut e = Enc::new(setup::SYNTHETIC);
    for i in 0..64u16 {
        e.tcp(0, REMOTE, 42000 + i, VIP_NAT, p::HTTP, SYN);
    }
    e.tcp(0, REMOTE, 43000, VIP_NAT, p::HTTP, SYN).reload(true);
    for i in 0..8u16 {
        e.tcp(0, CLIENT, 43001 + i, VIP_NAT, p::HTTP, SYN);
    }
    v.push(("syn_flood_drop_entry", e.done()));
    // Hostile frames.
    let mut e = Enc::new(0);
    e.synth(0, k::TCP, ZERO, VIP_NAT, 1, p::HTTP, SYN, [0; 3])
        .synth(0, k::TCP, BCAST, VIP_NAT, 1, p::HTTP, SYN, [0; 3])
        .synth(0, k::TCP, 30, VIP_NAT, 1, p::HTTP, SYN, [0; 3])
        .synth(0, k::TCP, VIP_NAT, VIP_NAT, 80, p::HTTP, SYN, [0; 3])
        .synth(0, k::TCP | 0x10, REMOTE, VIP_NAT, 1, p::HTTP, SYN, [0; 3])
        .synth(0, k::TCP | 0x20, REMOTE, VIP_NAT, 1, p::HTTP, SYN, [0; 3])
        .synth(0, k::TCP | 0x40, REMOTE, VIP_NAT, 2, p::HTTP, SYN, [0; 3])
        .synth(0, k::TCP, REMOTE, VIP_NAT | 0x20, 3, p::HTTP, SYN, [0; 3])
        .synth(0, k::TCP, REMOTE, VIP_NAT | 0x40, 4, p::HTTP, SYN, [0; 3])
        .synth(0, k::ICMP_ERR, REMOTE, VIP_NAT, 5, p::HTTP, 0, [3, 0, 0])
        .synth(0, k::UDP, REMOTE, VIP_NAT, 6, p::HTTP, 0, [0; 3])
        .synth(2, k::TCP, REMOTE, VIP_NAT, 7, p::HTTP, SYN, [0; 3])
        .synth(3, k::TCP, REMOTE, VIP_NAT, 8, p::HTTP, SYN, [0; 3])
        .synth(0, k::V6, REMOTE, VIP_NAT, 9, p::HTTP, SYN, [0; 3]);
    let syn = frames::tcp_frame(
        PORT_MACS[0],
        host_mac([203, 0, 113, 7]),
        [203, 0, 113, 7],
        40060,
        [198, 18, 0, 100],
        80,
        SYN,
        b"",
    );
    for cut in [0, 6, 13, 14, 20, 33, 34, 40, 53, 54, 57] {
        e.raw(0, &syn[..cut.min(syn.len())], false);
    }
    let mut bad_ihl = syn.clone();
    bad_ihl[14] = 0x44;
    e.raw(0, &bad_ihl, true);
    let mut long = syn.clone();
    long[16..18].copy_from_slice(&9000u16.to_be_bytes());
    e.raw(0, &long, true);
    let mut doff = syn.clone();
    doff[14 + 20 + 12] = 0x40;
    e.raw(0, &doff, true);
    e.raw(0, &frames::tag(&syn, 10), false);
    e.raw(2, &syn, false);
    e.raw(2, &frames::tag(&syn, 11), false);
    e.garbage(0, 0x8017, 0xff);
    v.push(("hostile", e.done()));
    // SYN proxy on the tagged port's NAT service: the cookie SYN-ACK, the client's ACK
    // returning it (a reflection: seq and ack as a real client's), the SYN to the real
    // server, early client data held, the server's SYN-ACK (the held data follows), data
    // back through the translation, and a bad cookie.
    v.push((
        "synproxy_handshake",
        Enc::new(setup::SYNTHETIC)
            .tcp(2, REMOTE, 40080, VIP_TAGGED, p::HTTP, SYN)
            .reflect(0, ACK)
            .tcp(2, REMOTE, 40080, VIP_TAGGED, p::HTTP, ACK | PSH)
            .reflect(0, SYN | ACK)
            .reflect(0, ACK | PSH)
            .tcp(2, REMOTE, 40081, VIP_TAGGED, p::HTTP, ACK)
            .tcp(2, REMOTE, 40080, VIP_TAGGED, p::HTTP, FIN | ACK)
            .secs(200)
            .tick()
            .done(),
    ));
    // Two workers: frames for both; some are counted as handled by the wrong worker.
    v.push((
        "two_workers",
        Enc::new(setup::TWO | setup::SYNTHETIC)
            .tcp(0, REMOTE, 40070, VIP_FNAT, p::HTTP, SYN)
            .reflect(0, SYN | ACK)
            .tcp(0, CLIENT, 40071, VIP_NAT, p::HTTP, SYN)
            .reflect(0, SYN | ACK)
            .done(),
    ));
    // IPv6: ND for the VIP, NAT6 both ways (the RS found by ND), DR6, TUN 6in6, FullNAT6,
    // echo, an ND advertisement claiming the VIP, extension headers and a fragment.
    let v6tcp = |fl: u8| fl & 0x3f;
    v.push((
        "ipv6_methods",
        Enc::new(0)
            .synth(0, k::V6, CLIENT, VIP_NAT, 0, 0, 0xc0, [0, 0, 0])
            .synth(
                0,
                k::V6,
                REMOTE,
                VIP_NAT,
                40100,
                p::HTTP,
                v6tcp(SYN),
                [0; 3],
            )
            .reflect(0, 0)
            .reflect(0, SYN | ACK)
            .synth(
                0,
                k::V6,
                REMOTE,
                VIP_NAT,
                40100,
                p::HTTP,
                v6tcp(ACK),
                [0; 3],
            )
            .synth(0, k::V6, REMOTE, VIP_NAT, 5300, p::DNS, 0x80, [0; 3])
            .reflect(0, 0)
            .synth(0, k::V6, REMOTE, VIP_DR, 40101, p::HTTP, v6tcp(SYN), [0; 3])
            .reflect(0, 0)
            .synth(
                0,
                k::V6,
                REMOTE,
                VIP_TUN,
                40102,
                p::HTTP,
                v6tcp(SYN),
                [0; 3],
            )
            .reflect(0, 0)
            .synth(
                0,
                k::V6,
                REMOTE,
                VIP_FNAT,
                40103,
                p::HTTP,
                v6tcp(SYN),
                [0; 3],
            )
            .reflect(0, 0)
            .reflect(0, SYN | ACK)
            .icmp(0, 0)
            .synth(
                0,
                k::V6,
                REMOTE,
                VIP_PERSIST,
                40104,
                p::SSH,
                v6tcp(SYN),
                [0; 3],
            )
            .synth(0, k::V6, REMOTE, DIP_OUT, 0, 0, 0x40, [0, 0, 1])
            .synth(0, k::V6, VIP_NAT, CLIENT, 0, 0, 0xc0, [1, 0, 0])
            .synth(
                0,
                k::V6 | 0x20,
                REMOTE,
                VIP_NAT,
                40105,
                p::HTTP,
                v6tcp(SYN),
                [0; 3],
            )
            .synth(
                0,
                k::V6 | 0x10,
                REMOTE,
                VIP_NAT,
                40106,
                p::HTTP,
                v6tcp(SYN),
                [0; 3],
            )
            .synth(0, k::V6, REMOTE, VIP_NAT, 0, 0, 0x40, [1, 0, 0])
            .synth(0, k::V6, CLIENT, VIP_NAT, 0, 0, 0xc0, [8, 0, 0])
            .done(),
    ));
    v
}

/// Seeds of the wire target: one crafted frame of each kind, at offset 0 (selector byte 0).
#[allow(clippy::vec_init_then_push)]
pub fn wire() -> Vec<(&'static str, Vec<u8>)> {
    let c = PORT_MACS[0];
    let r = host_mac([203, 0, 113, 7]);
    let (src, dst) = ([203, 0, 113, 7], [198, 18, 0, 100]);
    let mut v: Vec<(&'static str, Vec<u8>)> = Vec::new();
    v.push((
        "tcp_syn",
        frames::tcp_frame(c, r, src, 40000, dst, 80, SYN, b""),
    ));
    v.push((
        "tcp_data",
        frames::tcp_frame(
            c,
            r,
            src,
            40000,
            dst,
            80,
            ACK | PSH,
            b"GET / HTTP/1.0\r\n\r\n",
        ),
    ));
    v.push((
        "udp",
        frames::udp_frame(c, r, src, 5353, dst, 53, b"\x12\x34\x01\x00\x00\x01"),
    ));
    v.push(("echo", frames::echo_frame(c, r, src, dst)));
    v.push((
        "arp_request",
        frames::arp([0xff; 6], 1, r, src, [0; 6], [198, 18, 0, 1]),
    ));
    v.push((
        "vlan_tcp",
        frames::tag(&frames::tcp_frame(c, r, src, 1, dst, 80, SYN, b""), VLAN),
    ));
    let inner = frames::ipv4(
        src,
        dst,
        check::P_TCP,
        64,
        IpOpts::default(),
        &frames::tcp(1, 80, 0, 0, SYN, b""),
    );
    v.push((
        "ipip",
        frames::ip_frame(
            c,
            r,
            [198, 18, 1, 1],
            [198, 18, 8, 40],
            check::P_IPIP,
            64,
            IpOpts::default(),
            &inner,
        ),
    ));
    let mut quote = frames::ipv4(
        dst,
        src,
        check::P_TCP,
        64,
        IpOpts::default(),
        &frames::tcp(80, 1, 0, 0, ACK, b""),
    );
    check::fix_ip4_header(&mut quote);
    quote.truncate(28);
    v.push((
        "icmp_unreachable",
        frames::ip_frame(
            c,
            r,
            src,
            dst,
            check::P_ICMP,
            64,
            IpOpts::default(),
            &frames::icmp(3, 3, [0; 4], &quote),
        ),
    ));
    v.push((
        "ip_options",
        frames::ip_frame(
            c,
            r,
            src,
            dst,
            check::P_TCP,
            64,
            IpOpts {
                option_words: 3,
                df: true,
                ..IpOpts::default()
            },
            &frames::tcp(1, 80, 0, 0, SYN, b""),
        ),
    ));
    let mut v6 = frames::eth(c, r, check::ETH_IPV6);
    v6.extend_from_slice(&[0x60, 0, 0, 0, 0, 24, 6, 64]);
    v6.extend_from_slice(&crate::engine::v6(src));
    v6.extend_from_slice(&crate::engine::v6(dst));
    v6.extend_from_slice(&frames::tcp(1, 80, 0, 0, SYN, b""));
    check::fix_checksums(&mut v6);
    v.push(("ipv6_tcp", v6));
    v.into_iter()
        .map(|(n, f)| {
            let mut s = vec![0u8];
            s.extend_from_slice(&f);
            (n, s)
        })
        .collect()
}
