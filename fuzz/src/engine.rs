//! The engine as a whole under arbitrary traffic: a configured director (NAT, DR, TUN,
//! FullNAT, firewall-mark, persistent, one-packet and VLAN services, a small connection table
//! and neighbour table), fed a sequence of operations decoded from the fuzzer's bytes, with
//! the invariants checked after every one of them.
//!
//! # Input format
//!
//! ```text
//! setup: u8            bit 0 exception path, 1 accept_any_mac, 2 synthetic_neighbours,
//!                      3 record_decisions, 4 two workers (this one is worker bit 5),
//!                      6 expire_budget 2 instead of 1024
//! then operations, each an opcode byte (low 3 bits = kind, bits 3-4 = port 0..3, where port
//! 3 does not exist) followed by its operands:
//!   0 raw:      len: u16 LE, len bytes; opcode bit 5 = recompute the checksums first
//!   1 synth:    10 bytes describing a frame (see `synth`)
//!   2 reflect:  k: u8, tcp flags: u8 — the k-th last frame sent, answered by its receiver
//!   3 icmp:     k: u8, kind: u8 — an ICMP error about the k-th last frame sent, from its
//!               receiver
//!   4 tick:     the engine's timers at the current time
//!   5 advance:  dt: u16 LE, in ms, or in s with opcode bit 5
//!   6 reload:   variant: u8 — switch to director A or B (built with the running one as
//!               previous, as a reload does)
//!   7 garbage:  k: u8, at: u16 LE, xor: u8 — the k-th last frame sent, one byte flipped,
//!               fed back on its port
//! ```
//!
//! # Invariants
//!
//! After every frame handed to [`Worker::handle`] the counters moved so that the frame has
//! exactly one fate (see [`fate_delta`]); every frame sent (counted by `tx_frames`, no more,
//! no less) leaves a configured port with the port's MAC and VLAN tag and valid checksums
//! (see [`check::emitted`]); the connection table never exceeds its capacity and its memory
//! never changes; every real server's active/inactive counters equal the connections in the
//! table that count for it. At the end, time runs past every timeout: every connection
//! expires, every counter returns to zero, every frame held for ARP is accounted for.

use std::sync::{Arc, OnceLock};

use rvs_config::Config;
use rvs_engine::buf::CaptureIo;
use rvs_engine::{Director, DropReason, Stats, VecBuf, Worker, WorkerConfig};
use rvs_wire::MacAddr;

use crate::check::{self, PortView};
use crate::frames;

/// Director A: one service of every kind.
pub const CONFIG_A: &str = r#"
max_connections = 64
[[ports]]
name = "outside"
device = "net_ring0"
addresses = ["198.18.0.1/24", "2001:db8::1/64"]
[[ports]]
name = "inside"
device = "net_ring1"
addresses = ["198.18.1.1/24", "2001:db8:0:1::1/64"]
local_addresses = ["198.18.1.3", "198.18.1.4", "2001:db8:0:1::3"]
[[ports]]
name = "tagged"
device = "net_ring2"
addresses = ["198.18.2.1/24", "2001:db8:0:2::1/64"]
vlan = 10
mtu = 1400
[[routes]]
prefix = "0.0.0.0/0"
via = "198.18.0.254"
port = "outside"
[[routes]]
prefix = "198.18.8.0/24"
via = "198.18.1.254"
port = "inside"
[[routes]]
prefix = "::/0"
via = "2001:db8::fe"
port = "outside"
[[routes]]
prefix = "2001:db8:0:8::/64"
via = "2001:db8:0:1::fe"
port = "inside"
[[neighbours]]
port = "outside"
address = "198.18.0.254"
mac = "02:ee:00:00:00:fe"
[[neighbours]]
port = "outside"
address = "2001:db8::fe"
mac = "02:ee:00:00:00:fe"
[[fwmark]]
mark = 7
destinations = ["198.18.0.110/31"]
protocol = "tcp"
ports = [80, 443]
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
upper_threshold = 3
[[services]]
protocol = "udp"
address = "198.18.0.100:53"
scheduler = "rr"
[[services.real_servers]]
address = "198.18.1.10:53"
method = "nat"
[[services]]
protocol = "tcp"
address = "198.18.0.101:80"
scheduler = "wlc"
[[services.real_servers]]
address = "198.18.1.30:80"
method = "dr"
[[services.real_servers]]
address = "198.18.2.30:80"
method = "dr"
[[services]]
protocol = "tcp"
address = "198.18.0.102:80"
scheduler = "rr"
[[services.real_servers]]
address = "198.18.8.40:80"
method = "tun"
[[services.real_servers]]
address = "198.18.2.40:80"
method = "tun"
[[services]]
protocol = "tcp"
address = "198.18.0.103:80"
scheduler = "rr"
[[services.real_servers]]
address = "198.18.8.50:8080"
method = "fullnat"
[[services.real_servers]]
address = "198.18.1.50:8080"
method = "fullnat"
[[services]]
fwmark = 7
scheduler = "sh"
[[services.real_servers]]
address = "198.18.1.60"
method = "nat"
[[services.real_servers]]
address = "198.18.1.61"
method = "dr"
[[services]]
protocol = "tcp"
address = "198.18.0.104:0"
scheduler = "rr"
persistence = 60
[[services.real_servers]]
address = "198.18.1.70:0"
method = "nat"
[[services.real_servers]]
address = "198.18.1.71:0"
method = "nat"
[[services]]
protocol = "udp"
address = "198.18.0.105:5000"
scheduler = "rr"
one_packet = true
[[services.real_servers]]
address = "198.18.1.10:5000"
method = "nat"
[[services.real_servers]]
address = "198.18.8.50:5000"
method = "fullnat"
[[services]]
protocol = "udp"
address = "198.18.0.106:500"
scheduler = "lc"
[[services.real_servers]]
address = "198.18.8.50:500"
method = "fullnat"
[[services]]
protocol = "tcp"
address = "198.18.2.100:80"
scheduler = "rr"
synproxy = true
[[services.real_servers]]
address = "198.18.1.10:8080"
method = "nat"
[[services]]
protocol = "tcp"
address = "[2001:db8::64]:80"
scheduler = "rr"
[[services.real_servers]]
address = "[2001:db8:0:1::a]:8080"
method = "nat"
[[services.real_servers]]
address = "[2001:db8:0:1::14]:8080"
method = "nat"
[[services]]
protocol = "udp"
address = "[2001:db8::64]:53"
scheduler = "rr"
[[services.real_servers]]
address = "[2001:db8:0:1::a]:53"
method = "nat"
[[services]]
protocol = "tcp"
address = "[2001:db8::65]:80"
scheduler = "wlc"
[[services.real_servers]]
address = "[2001:db8:0:1::1e]:80"
method = "dr"
[[services]]
protocol = "tcp"
address = "[2001:db8::66]:80"
scheduler = "rr"
[[services.real_servers]]
address = "[2001:db8:0:8::28]:80"
method = "tun"
[[services.real_servers]]
address = "[2001:db8:0:2::28]:80"
method = "tun"
[[services]]
protocol = "tcp"
address = "[2001:db8::67]:80"
scheduler = "rr"
[[services.real_servers]]
address = "[2001:db8:0:8::32]:8080"
method = "fullnat"
[[services]]
protocol = "tcp"
address = "[2001:db8::68]:0"
scheduler = "rr"
persistence = 60
persistence_netmask = "64"
[[services.real_servers]]
address = "[2001:db8:0:1::46]:0"
method = "nat"
"#;

/// Director B, what a reload makes of A: a real server removed from the NAT, FullNAT and
/// firewall-mark services, one quiesced, a service gone, one added, a scheduler changed, and
/// IPVS's drop_entry defence on (a full table gives half-open connections' places away).
pub fn config_b() -> String {
    CONFIG_A
        .replace("max_connections = 64\n", "max_connections = 64\ndrop_entry = true\n")
        .replace(
            "[[services.real_servers]]\naddress = \"198.18.1.20:8080\"\nmethod = \"nat\"\nupper_threshold = 3\n",
            "",
        )
        .replace(
            "address = \"198.18.2.30:80\"\nmethod = \"dr\"\n",
            "address = \"198.18.2.30:80\"\nmethod = \"dr\"\nweight = 0\n",
        )
        .replace(
            "[[services.real_servers]]\naddress = \"198.18.1.50:8080\"\nmethod = \"fullnat\"\n",
            "",
        )
        .replace("scheduler = \"sh\"", "scheduler = \"rr\"")
        .replace(
            "[[services.real_servers]]\naddress = \"198.18.1.61\"\nmethod = \"dr\"\n",
            "",
        )
        .replace(
            "[[services.real_servers]]\naddress = \"[2001:db8:0:1::14]:8080\"\nmethod = \"nat\"\n",
            "",
        )
        .replace(
            "address = \"198.18.0.106:500\"\nscheduler = \"lc\"",
            "address = \"198.18.0.107:500\"\nscheduler = \"lc\"",
        )
}

/// The ports' MAC addresses, in configuration order.
pub const PORT_MACS: [[u8; 6]; 3] = [
    [0x02, 0xd0, 0, 0, 0, 0x01],
    [0x02, 0xd1, 0, 0, 0, 0x01],
    [0x02, 0xd2, 0, 0, 0, 0x01],
];

/// The VLAN id of port 2.
pub const VLAN: u16 = 10;

/// Addresses synthesised frames use (index = operand & 31).
pub const ADDRS: [[u8; 4]; 32] = [
    [198, 18, 0, 2],   // client on the outside segment
    [198, 18, 0, 3],   // another
    [203, 0, 113, 7],  // client behind the router
    [198, 18, 0, 100], // VIP: NAT tcp/80, udp/53
    [198, 18, 0, 101], // VIP: DR
    [198, 18, 0, 102], // VIP: TUN
    [198, 18, 0, 103], // VIP: FullNAT
    [198, 18, 0, 104], // VIP: persistent port 0
    [198, 18, 0, 105], // VIP: one-packet UDP
    [198, 18, 0, 110], // fwmark
    [198, 18, 0, 111], // fwmark
    [198, 18, 0, 1],   // DIP outside
    [198, 18, 1, 1],   // DIP inside
    [198, 18, 2, 1],   // DIP tagged
    [198, 18, 1, 3],   // LIP
    [198, 18, 1, 4],   // LIP
    [198, 18, 1, 10],  // RIP
    [198, 18, 1, 20],  // RIP
    [198, 18, 1, 30],  // RIP (DR)
    [198, 18, 8, 40],  // RIP (TUN, routed)
    [198, 18, 8, 50],  // RIP (FullNAT, routed)
    [198, 18, 1, 50],  // RIP (FullNAT)
    [198, 18, 1, 60],  // RIP (fwmark)
    [198, 18, 1, 70],  // RIP (persistent)
    [198, 18, 0, 254], // router outside
    [198, 18, 1, 254], // router inside
    [198, 18, 2, 100], // VIP on the tagged segment
    [198, 18, 0, 106], // VIP: UDP lc FullNAT (A) / gone (B)
    [0, 0, 0, 0],      // bad sources
    [255, 255, 255, 255],
    [224, 0, 0, 5],
    [127, 0, 0, 1],
];

/// Ports synthesised frames use (index = operand & 15).
pub const L4_PORTS: [u16; 16] = [
    80, 443, 53, 8080, 5000, 500, 22, 40000, 40001, 1024, 0, 65535, 1025, 12345, 7, 3306,
];

/// The MAC a host at `addr` has (routers and real servers known to the harness).
pub fn host_mac(addr: [u8; 4]) -> [u8; 6] {
    [0x02, 0x77, addr[0], addr[1], addr[2], addr[3]]
}

fn configs() -> &'static (Config, Config) {
    static C: OnceLock<(Config, Config)> = OnceLock::new();
    C.get_or_init(|| {
        let a = rvs_config::parse(CONFIG_A).expect("director A parses");
        let b = rvs_config::parse(&config_b()).expect("director B parses");
        (a, b)
    })
}

fn macs() -> Vec<MacAddr> {
    PORT_MACS.iter().map(|m| MacAddr(*m)).collect()
}

/// Compile director A or B, carrying counters over from `previous`.
pub fn director(b: bool, previous: Option<&Director>) -> Arc<Director> {
    let (ca, cb) = configs();
    let cfg = if b { cb } else { ca };
    Arc::new(Director::new(cfg, &macs(), previous).expect("director compiles"))
}

/// Counters whose changes give a received frame's fate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fates {
    /// Drops, less those that follow a counted fate (neighbour queue full).
    pub drops: i64,
    /// Handed to the kernel.
    pub to_kernel: i64,
    /// Answered (ARP reply, ICMP echo reply).
    pub answered: i64,
    /// ARP replies to the director, consumed.
    pub consumed: i64,
    /// Forwarded (sent, held for ARP, or dropped for a full neighbour queue).
    pub forwarded: i64,
    /// Replaced by an ICMP error the director sent.
    pub icmp_errors: i64,
}

impl Fates {
    /// The sum: 1 for each frame handled.
    pub fn total(&self) -> i64 {
        self.drops
            + self.to_kernel
            + self.answered
            + self.consumed
            + self.forwarded
            + self.icmp_errors
    }
}

fn d(a: u64, b: u64) -> i64 {
    a as i64 - b as i64
}

/// How the fate counters moved from `before` to `after`.
///
/// A frame handed to `Worker::handle` ends as exactly one of: a drop by reason; handed to the
/// kernel (`to_kernel`); answered (`arp_replies`, `nd_replies`, `icmp_echo_replies`); an ARP
/// reply or neighbor advertisement to the director consumed (`arp_replies_received`,
/// `nd_adverts_received`); forwarded (`forwarded`, counted before the
/// frame meets the neighbour table, which may then hold it or drop it as
/// `neighbour_queue_full` — a second count for the same frame, taken off here); or replaced by
/// an ICMP error the director sends (`icmp_errors_sent`, which may likewise be dropped as
/// `neighbour_queue_full`).
pub fn fate_delta(before: &Stats, after: &Stats) -> Fates {
    let nqf = DropReason::NeighbourQueueFull as usize;
    Fates {
        drops: d(after.total_drops(), before.total_drops())
            - d(after.drops[nqf], before.drops[nqf]),
        to_kernel: d(after.to_kernel, before.to_kernel),
        answered: d(after.arp_replies, before.arp_replies)
            + d(after.nd_replies, before.nd_replies)
            + d(after.icmp_echo_replies, before.icmp_echo_replies),
        consumed: d(after.arp_replies_received, before.arp_replies_received)
            + d(after.nd_adverts_received, before.nd_adverts_received),
        forwarded: d(after.forwarded, before.forwarded),
        icmp_errors: d(after.icmp_errors_sent, before.icmp_errors_sent),
    }
}

/// Frames sent or to be sent (the SYN proxy's resent SYNs are made by the director, as ARP
/// requests are), less frames sent: what waits in the neighbour table now.
pub fn held(s: &Stats) -> i64 {
    let nqf = s.drops_of(DropReason::NeighbourQueueFull);
    let unresolved = s.drops_of(DropReason::NeighbourUnresolved);
    (s.forwarded
        + s.icmp_errors_sent
        + s.arp_replies
        + s.nd_replies
        + s.icmp_echo_replies
        + s.arp_requests
        + s.nd_solicits
        + s.synproxy_syn_resent) as i64
        - nqf as i64
        - s.tx_frames as i64
        - unresolved as i64
}

/// Frames the neighbour table holds at most.
pub const MAX_NEIGHBOURS: usize = 8;
const QUEUE_LEN: i64 = 8;

/// One run of the harness.
pub struct Harness {
    /// The engine.
    pub worker: Worker<VecBuf>,
    /// What it sent.
    pub io: CaptureIo,
    /// Current time (ns).
    pub now: u64,
    masks: check::Masks,
    /// Recent frames sent (port, untagged frame), newest last.
    recent: Vec<(u16, Vec<u8>)>,
    capacity: (usize, usize),
    memory: (usize, usize),
    on_b: bool,
    /// Frames handled.
    pub frames: u64,
}

const RECENT: usize = 16;

impl Harness {
    /// A harness with the setup flags of the input's first byte.
    pub fn new(setup: u8) -> Harness {
        let dir = director(false, None);
        let two = setup & 0x10 != 0;
        let cfg = WorkerConfig {
            id: if two { u16::from(setup >> 5 & 1) } else { 0 },
            workers: if two { 2 } else { 1 },
            max_connections: dir.max_connections,
            max_neighbours: MAX_NEIGHBOURS,
            expire_budget: if setup & 0x40 != 0 { 2 } else { 1024 },
            accept_any_mac: setup & 0x02 != 0,
            synthetic_neighbours: setup & 0x04 != 0,
            record_decisions: setup & 0x08 != 0,
            ..WorkerConfig::default()
        };
        let worker = Worker::new(dir, cfg);
        let io = CaptureIo {
            exception_path: setup & 0x01 != 0,
            ..CaptureIo::default()
        };
        let capacity = (worker.conns().capacity(), worker.conns6().capacity());
        let memory = (
            worker.conns().memory_bytes(),
            worker.conns6().memory_bytes(),
        );
        Harness {
            worker,
            io,
            now: 1_000_000_000,
            masks: check::Masks::default(),
            recent: Vec::new(),
            capacity,
            memory,
            on_b: false,
            frames: 0,
        }
    }

    fn port_view(&self, port: u16) -> Option<PortView> {
        let p = self.worker.director().port(port)?;
        Some(PortView {
            mac: p.mac.0,
            vlan: p.vlan,
        })
    }

    /// Feed one frame on `port` and check everything.
    pub fn feed(&mut self, port: u16, frame: Vec<u8>) {
        let untagged = if frame.get(12..14) == Some(&[0x81, 0x00]) && frame.len() >= 18 {
            [&frame[..12], &frame[16..]].concat()
        } else {
            frame.clone()
        };
        self.masks.note_input(&untagged);
        let before = self.worker.stats.clone();
        let sent_before = self.io.sent.len();
        let kernel_before = self.io.to_kernel.len();
        // rvsd's prefetch pass reads every frame of a burst before it is handled.
        self.worker.prefetch(std::iter::once(&frame[..]));
        self.worker
            .handle(self.now, port, VecBuf::from_frame(&frame), &mut self.io);
        self.frames += 1;
        let after = self.worker.stats.clone();
        assert_eq!(
            after.rx_frames,
            before.rx_frames + 1,
            "rx_frames counts the frame"
        );
        let f = fate_delta(&before, &after);
        // A SYN-proxy service may keep the frame (held) and, in the same call, let earlier
        // held frames go (each with its own fate): count the frame as held, and the ones
        // that left as already received.
        let sp_held = d(after.synproxy_held, before.synproxy_held);
        let sp_left = d(after.synproxy_released, before.synproxy_released);
        assert_eq!(
            f.total() + sp_held - sp_left,
            1,
            "a frame must have exactly one fate: {f:?}, held {sp_held}, released {sp_left}\nframe on port {port}: {frame:02x?}\nbefore {before:?}\nafter {after:?}"
        );
        for (i, (b, a)) in before.drops.iter().zip(after.drops.iter()).enumerate() {
            assert!(a >= b, "drop counter {i} went down");
        }
        let kernel_expected = if self.io.exception_path {
            f.to_kernel + f.consumed
        } else {
            0
        };
        assert_eq!(
            (self.io.to_kernel.len() - kernel_before) as i64,
            kernel_expected,
            "frames handed to the exception path"
        );
        self.io.to_kernel.clear();
        self.after_op(&before, sent_before);
    }

    /// Run the timers now.
    pub fn tick(&mut self) {
        let before = self.worker.stats.clone();
        let sent_before = self.io.sent.len();
        self.worker.tick(self.now, &mut self.io);
        let after = self.worker.stats.clone();
        assert_eq!(after.rx_frames, before.rx_frames);
        let f = fate_delta(&before, &after);
        let unresolved = d(
            after.drops_of(DropReason::NeighbourUnresolved),
            before.drops_of(DropReason::NeighbourUnresolved),
        );
        // ... and client segments the SYN proxy held for connections that ended.
        let sp_left = d(after.synproxy_released, before.synproxy_released);
        assert_eq!(
            sp_left,
            d(
                after.drops_of(DropReason::SynproxyAwaitingServer),
                before.drops_of(DropReason::SynproxyAwaitingServer),
            ),
            "a tick drops the held segments it frees"
        );
        assert_eq!(
            Fates {
                drops: unresolved + sp_left,
                ..Fates::default()
            },
            f,
            "a tick only gives up frames held for ARP or by the SYN proxy"
        );
        assert_eq!(
            after.tx_frames - before.tx_frames,
            after.arp_requests - before.arp_requests + after.nd_solicits - before.nd_solicits,
            "a tick sends ARP requests and neighbor solicitations only"
        );
        self.after_op(&before, sent_before);
    }

    fn after_op(&mut self, before: &Stats, sent_before: usize) {
        let after = &self.worker.stats;
        let sent = self.io.sent.len() - sent_before;
        assert_eq!(
            sent as u64,
            after.tx_frames - before.tx_frames,
            "tx_frames counts every frame sent"
        );
        let out: Vec<(u16, Vec<u8>)> = self.io.sent.drain(..).collect();
        for (port, frame) in out {
            let view = self
                .port_view(port)
                .unwrap_or_else(|| panic!("sent on port {port}, which does not exist"));
            match check::emitted(&view, &frame, &self.masks) {
                Ok(untagged) => {
                    if self.recent.len() == RECENT {
                        self.recent.remove(0);
                    }
                    self.recent.push((port, untagged));
                }
                Err(e) => panic!("bad frame sent on port {port}: {e}\n{frame:02x?}"),
            }
        }
        let h = held(&self.worker.stats);
        assert!(
            (0..=MAX_NEIGHBOURS as i64 * QUEUE_LEN).contains(&h),
            "frames held for ARP: {h}"
        );
        let (c4, c6) = (self.worker.conns(), self.worker.conns6());
        assert!(
            c4.len() <= c4.capacity(),
            "IPv4 connection table over capacity"
        );
        assert!(
            c6.len() <= c6.capacity(),
            "IPv6 connection table over capacity"
        );
        assert_eq!(
            (c4.capacity(), c6.capacity()),
            self.capacity,
            "connection table resized"
        );
        assert_eq!(
            (c4.memory_bytes(), c6.memory_bytes()),
            self.memory,
            "connection table memory changed"
        );
        self.check_counters();
        let _ = self.worker.take_decisions().count();
    }

    /// Every real server's active/inactive counters equal the connections that count for it.
    fn check_counters(&self) {
        let mut seen: Vec<(*const rvs_sched::DestCounters, u32, u32)> = Vec::new();
        let v4 = self
            .worker
            .conns()
            .iter()
            .map(|(_, e)| (&e.data.counters, e.data.active));
        let v6 = self
            .worker
            .conns6()
            .iter()
            .map(|(_, e)| (&e.data.counters, e.data.active));
        for (counters, active) in v4.chain(v6) {
            let p = Arc::as_ptr(counters);
            let (a, i) = if active { (1, 0) } else { (0, 1) };
            match seen.iter_mut().find(|(q, _, _)| *q == p) {
                Some(s) => {
                    s.1 += a;
                    s.2 += i;
                }
                None => seen.push((p, a, i)),
            }
        }
        for (_, rs) in self.worker.director().all_servers() {
            let p = Arc::as_ptr(&rs.counters);
            let (a, i) = seen
                .iter()
                .find(|(q, _, _)| *q == p)
                .map_or((0, 0), |s| (s.1, s.2));
            assert_eq!(
                (rs.counters.active(), rs.counters.inactive()),
                (a, i),
                "counters of real server {}:{} against the connection table",
                rs.ip,
                rs.port
            );
        }
    }

    /// Switch directors as a reload does.
    pub fn reload(&mut self, b: bool) {
        let new = director(b, Some(self.worker.director()));
        self.worker.set_director(new);
        self.on_b = b;
        self.check_counters();
    }

    /// Let time run past every timeout and check that everything returns to rest.
    pub fn finish(&mut self) {
        let day = 86_400 * 1_000_000_000u64;
        // Enough ticks for the expiry budget to reap a full table (64 at 2 per tick) and for
        // ARP to give up on every neighbour (three probes a second apart).
        for k in 0..40 {
            self.now += if k == 0 { day } else { 2_000_000_000 };
            self.tick();
        }
        let s = &self.worker.stats;
        assert_eq!(self.worker.conns().len(), 0, "connections left after a day");
        assert_eq!(
            self.worker.conns6().len(),
            0,
            "IPv6 connections left after a day"
        );
        assert_eq!(held(s), 0, "frames still held for ARP after giving up");
        for (_, rs) in self.worker.director().all_servers() {
            assert_eq!(
                (rs.counters.active(), rs.counters.inactive()),
                (0, 0),
                "real server {} counts connections after all expired",
                rs.ip
            );
        }
        // rx = every fate; no frame lost, none counted twice.
        let nqf = s.drops_of(DropReason::NeighbourQueueFull);
        let unresolved = s.drops_of(DropReason::NeighbourUnresolved);
        assert_eq!(
            s.rx_frames,
            s.total_drops() - nqf - unresolved
                + s.to_kernel
                + s.arp_replies
                + s.nd_replies
                + s.icmp_echo_replies
                + s.arp_replies_received
                + s.nd_adverts_received
                + s.forwarded
                + s.icmp_errors_sent,
            "rx_frames against the fates: {s:?}"
        );
    }

    fn recent(&self, k: u8) -> Option<(u16, Vec<u8>)> {
        if self.recent.is_empty() {
            return None;
        }
        let i = self.recent.len() - 1 - usize::from(k) % self.recent.len();
        self.recent.get(i).cloned()
    }

    /// Feed on `port` a frame given untagged, tagging it when the port is the VLAN port.
    fn feed_untagged(&mut self, port: u16, frame: Vec<u8>) {
        let f = if port == 2 { tag(&frame, VLAN) } else { frame };
        self.feed(port, f);
    }
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (a, b) = rest.split_at(n);
    *rest = b;
    Some(a)
}

const TTLS: [u8; 8] = [64, 1, 0, 2, 255, 64, 64, 64];
const PAYLOAD_LENS: [usize; 16] = [
    0, 1, 10, 100, 600, 1372, 1400, 1480, 3000, 0, 0, 0, 0, 0, 0, 0,
];
const ICMP_TYPES: [u8; 8] = [3, 11, 12, 4, 5, 0, 8, 13];

/// Build the frame a synthesis operation describes (untagged):
///
/// ```text
/// s[0]  kind (bits 0-2: TCP, UDP, ICMP echo, ARP request, ARP reply, ICMP error about a
///       made-up flow, GRE, IPv6), bit 3 DF, bit 4 a fragment, bit 5 IP options, bit 6 a
///       broken L4 checksum, bit 7 broadcast destination MAC
/// s[1]  source address (ADDRS, bits 0-4); source MAC (bits 5-7: the host's, 6 = one of the
///       director's own, 7 = multicast)
/// s[2]  destination address (bits 0-4), TTL (bits 5-7, TTLS)
/// s[3..5] source port
/// s[5]  destination port (L4_PORTS, bits 0-3), payload length (bits 4-7, PAYLOAD_LENS)
/// s[6]  TCP flags
/// s[7]  ICMP type (bits 0-2, ICMP_TYPES) and code (bits 3-7); ARP: the target MAC byte
/// s[8..10] sequence number / ICMP identifier
/// ```
pub fn synth(port: u16, s: &[u8]) -> Vec<u8> {
    let kind = s[0] & 7;
    let src = ADDRS[usize::from(s[1] & 31)];
    let dst = ADDRS[usize::from(s[2] & 31)];
    let src_mac = match s[1] >> 5 {
        6 => PORT_MACS[usize::from(port) % 3],
        7 => [0x01, 0x00, 0x5e, 0, 0, 5],
        _ => host_mac(src),
    };
    let dst_mac = if s[0] & 0x80 != 0 {
        [0xff; 6]
    } else {
        PORT_MACS
            .get(usize::from(port))
            .copied()
            .unwrap_or([2, 0, 0, 0, 0, 9])
    };
    let ttl = TTLS[usize::from(s[2] >> 5)];
    let sport = u16::from_be_bytes([s[3], s[4]]);
    let dport = L4_PORTS[usize::from(s[5] & 15)];
    let payload = vec![0x5a; PAYLOAD_LENS[usize::from(s[5] >> 4)]];
    let seq = u32::from(u16::from_be_bytes([s[8], s[9]])) << 8;
    let o = frames::IpOpts {
        df: s[0] & 0x08 != 0,
        mf: s[0] & 0x10 != 0,
        frag_offset: 0,
        option_words: if s[0] & 0x20 != 0 { 2 } else { 0 },
    };
    let (proto, l4) = match kind {
        0 => (
            check::P_TCP,
            frames::tcp(sport, dport, seq, seq ^ 0x55aa, s[6], &payload),
        ),
        1 => (check::P_UDP, frames::udp(sport, dport, &payload)),
        2 => (
            check::P_ICMP,
            frames::icmp(8, 0, [s[8], s[9], 0, 1], &payload),
        ),
        3 | 4 => {
            let op = if kind == 3 { 1 } else { 2 };
            let target_mac = if kind == 3 {
                [0; 6]
            } else {
                [2, 0, 0, 0, 0, s[7]]
            };
            return frames::arp(dst_mac, op, src_mac, src, target_mac, dst);
        }
        5 => {
            // An ICMP error from `src` about a packet `dst` → `src` it says it received.
            let inner = frames::ipv4(
                dst,
                src,
                if s[6] & 1 == 0 {
                    check::P_TCP
                } else {
                    check::P_UDP
                },
                64,
                frames::IpOpts::default(),
                &frames::udp(dport, sport, b""),
            );
            let mut quote = inner;
            crate::check::fix_ip4_header(&mut quote);
            quote.truncate(28);
            let t = ICMP_TYPES[usize::from(s[7] & 7)];
            (
                check::P_ICMP,
                frames::icmp(t, s[7] >> 3, [0, 0, 0x05, 0x78], &quote),
            )
        }
        6 => (47, payload.clone()),
        _ => return synth6(s, src_mac, dst_mac, &payload),
    };
    let mut f = frames::ip_frame(dst_mac, src_mac, src, dst, proto, ttl, o, &l4);
    if s[0] & 0x40 != 0 {
        // Break the L4 checksum (for ICMP: its first byte).
        let l4_at = 14 + usize::from(o.option_words) * 4 + 20;
        let at = l4_at
            + match proto {
                check::P_TCP => 16,
                check::P_UDP => 6,
                _ => 2,
            };
        if let Some(b) = f.get_mut(at) {
            *b ^= 0x10;
        }
    }
    f
}

/// Map a synthesis address to IPv6: 198.18.X.Y is 2001:db8:0:X::Y (the same segment plan as
/// IPv4), the client behind the router 2001:db8:ffff::7, and the bad sources their IPv6
/// counterparts (unspecified, all-nodes, a multicast group, loopback).
pub fn v6(a: [u8; 4]) -> [u8; 16] {
    let mut o = [0u8; 16];
    match a {
        [0, 0, 0, 0] => {}
        [255, 255, 255, 255] => o = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [224, ..] => o = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, a[3]],
        [127, ..] => o[15] = 1,
        [198, 18, x, y] => {
            o[0..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
            o[7] = x;
            o[15] = y;
        }
        _ => {
            o[0..6].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff]);
            o[15] = a[3];
        }
    }
    o
}

/// An IPv6 frame for synthesis kind 7 (see [`synth`]): `s[6]` bits 6-7 choose TCP (flags in
/// bits 0-5), UDP, ICMPv6 (echo request, or with `s[7]` bit 0 an error about a made-up
/// flow) or Neighbor Discovery (`s[7]` bit 0: advertisement; bit 1: solicitation to the
/// target itself rather than its solicited-node group; bit 2: no link-layer option; bit 3:
/// hop limit 64, which ND must refuse).
fn synth6(s: &[u8], src_mac: [u8; 6], dst_mac: [u8; 6], payload: &[u8]) -> Vec<u8> {
    let src = v6(ADDRS[usize::from(s[1] & 31)]);
    let dst = v6(ADDRS[usize::from(s[2] & 31)]);
    let sport = u16::from_be_bytes([s[3], s[4]]);
    let dport = L4_PORTS[usize::from(s[5] & 15)];
    let hop = TTLS[usize::from(s[2] >> 5)];
    let ext = if s[0] & 0x10 != 0 {
        Some(44)
    } else if s[0] & 0x20 != 0 {
        Some(60)
    } else {
        None
    };
    let (next, l4, ip_dst, eth_dst, hop) = match s[6] >> 6 {
        0 => (
            check::P_TCP,
            frames::tcp(sport, dport, 1, 0, s[6] & 0x3f, payload),
            dst,
            dst_mac,
            hop,
        ),
        2 => (
            check::P_UDP,
            frames::udp(sport, dport, payload),
            dst,
            dst_mac,
            hop,
        ),
        1 if s[7] & 1 == 0 => (
            check::P_ICMPV6,
            frames::icmp(128, 0, [s[8], s[9], 0, 1], payload),
            dst,
            dst_mac,
            hop,
        ),
        1 => {
            let quoted = frames::ipv6(
                dst,
                src,
                check::P_TCP,
                64,
                None,
                &frames::tcp(dport, sport, 0, 0, 0, b""),
            );
            let t = (s[7] >> 1 & 3) + 1;
            (
                check::P_ICMPV6,
                frames::icmp(t, 0, [0, 0, 0x05, 0x00], &quoted),
                dst,
                dst_mac,
                hop,
            )
        }
        _ => {
            let solicit = s[7] & 1 == 0;
            let ll = (s[7] & 4 == 0).then_some(src_mac);
            let hop = if s[7] & 8 != 0 { 64 } else { 255 };
            if solicit {
                let g = if s[7] & 2 != 0 {
                    dst
                } else {
                    frames::solicited_node(dst)
                };
                let m = if s[7] & 2 != 0 {
                    dst_mac
                } else {
                    frames::multicast_mac(g)
                };
                (check::P_ICMPV6, frames::nd(true, 0, dst, ll), g, m, hop)
            } else {
                // An advertisement of `src` (its own address) to `dst`.
                let m = frames::nd(false, 0x6000_0000, src, ll);
                (check::P_ICMPV6, m, dst, dst_mac, hop)
            }
        }
    };
    let mut f = frames::eth(eth_dst, src_mac, check::ETH_IPV6);
    f.extend_from_slice(&frames::ipv6(src, ip_dst, next, hop, ext, &l4));
    check::fix_checksums(&mut f);
    f
}

impl Harness {
    /// The reply the receiver of the k-th last frame sent would give (see the module doc).
    fn reflect(&mut self, k: u8, fl: u8) {
        let Some((port, f)) = self.recent(k) else {
            return;
        };
        let (et, l3) = check::l3_of(&f);
        let peer_mac: [u8; 6] = f[0..6].try_into().unwrap_or([0; 6]);
        let our_mac: [u8; 6] = f[6..12].try_into().unwrap_or([0; 6]);
        let reply = match et {
            check::ETH_ARP if l3.len() >= 28 => {
                let sender_ip: [u8; 4] = l3[14..18].try_into().unwrap_or([0; 4]);
                let target_ip: [u8; 4] = l3[24..28].try_into().unwrap_or([0; 4]);
                if l3[7] == 1 {
                    // Our request: the neighbour answers.
                    frames::arp(
                        our_mac,
                        2,
                        host_mac(target_ip),
                        target_ip,
                        our_mac,
                        sender_ip,
                    )
                } else {
                    // Our reply: the host asks again.
                    frames::arp([0xff; 6], 1, peer_mac, target_ip, [0; 6], sender_ip)
                }
            }
            check::ETH_IPV4 => {
                let Some(ip) = check::Ip4::parse(l3) else {
                    return;
                };
                let seg = ip.payload();
                let l4 = match ip.proto {
                    check::P_TCP if seg.len() >= 20 => {
                        let sp = u16::from_be_bytes([seg[0], seg[1]]);
                        let dp = u16::from_be_bytes([seg[2], seg[3]]);
                        let seq = u32::from_be_bytes([seg[8], seg[9], seg[10], seg[11]]);
                        let ack = u32::from_be_bytes([seg[4], seg[5], seg[6], seg[7]]);
                        frames::tcp(dp, sp, seq, ack.wrapping_add(1), fl, b"reply")
                    }
                    check::P_UDP if seg.len() >= 8 => {
                        let sp = u16::from_be_bytes([seg[0], seg[1]]);
                        let dp = u16::from_be_bytes([seg[2], seg[3]]);
                        frames::udp(dp, sp, b"reply")
                    }
                    _ => seg.get(..seg.len().min(64)).unwrap_or(&[]).to_vec(),
                };
                frames::ip_frame(
                    our_mac,
                    peer_mac,
                    ip.dst,
                    ip.src,
                    ip.proto,
                    64,
                    frames::IpOpts::default(),
                    &l4,
                )
            }
            check::ETH_IPV6 => {
                let Some(ip) = check::Ip6::parse(l3) else {
                    return;
                };
                let seg = ip.payload;
                let (next, l4, src, dst) = match ip.next {
                    check::P_ICMPV6 if seg.first() == Some(&135) && seg.len() >= 24 => {
                        // Our solicitation: the target advertises itself to us.
                        let mut target = [0u8; 16];
                        target.copy_from_slice(&seg[8..24]);
                        let mac = host_mac([target[8], target[9], target[7], target[15]]);
                        let m = frames::nd(false, 0x6000_0000, target, Some(mac));
                        let mut f = frames::eth(our_mac, mac, check::ETH_IPV6);
                        f.extend_from_slice(&frames::ipv6(
                            target,
                            ip.src,
                            check::P_ICMPV6,
                            255,
                            None,
                            &m,
                        ));
                        check::fix_checksums(&mut f);
                        self.feed_untagged(port, f);
                        return;
                    }
                    check::P_TCP if seg.len() >= 20 => {
                        let sp = u16::from_be_bytes([seg[0], seg[1]]);
                        let dp = u16::from_be_bytes([seg[2], seg[3]]);
                        let seq = u32::from_be_bytes([seg[8], seg[9], seg[10], seg[11]]);
                        let ack = u32::from_be_bytes([seg[4], seg[5], seg[6], seg[7]]);
                        (
                            check::P_TCP,
                            frames::tcp(dp, sp, seq, ack.wrapping_add(1), fl, b"reply"),
                            ip.dst,
                            ip.src,
                        )
                    }
                    check::P_UDP if seg.len() >= 8 => {
                        let sp = u16::from_be_bytes([seg[0], seg[1]]);
                        let dp = u16::from_be_bytes([seg[2], seg[3]]);
                        (check::P_UDP, frames::udp(dp, sp, b"reply"), ip.dst, ip.src)
                    }
                    n => (
                        n,
                        seg.get(..seg.len().min(64)).unwrap_or(&[]).to_vec(),
                        ip.dst,
                        ip.src,
                    ),
                };
                let mut f = frames::eth(our_mac, peer_mac, check::ETH_IPV6);
                f.extend_from_slice(&frames::ipv6(src, dst, next, 64, None, &l4));
                check::fix_checksums(&mut f);
                f
            }
            _ => return,
        };
        self.feed_untagged(port, reply);
    }

    /// An ICMP error about the k-th last frame sent, from its receiver.
    fn icmp_about(&mut self, k: u8, kind: u8) {
        let Some((port, f)) = self.recent(k) else {
            return;
        };
        let (et, l3) = check::l3_of(&f);
        let peer_mac: [u8; 6] = f[0..6].try_into().unwrap_or([0; 6]);
        let our_mac: [u8; 6] = f[6..12].try_into().unwrap_or([0; 6]);
        if et == check::ETH_IPV6 {
            // ICMPv6 errors quote as much as fits in the minimum MTU (RFC 4443 §2.4 (c)).
            let Some(ip) = check::Ip6::parse(l3) else {
                return;
            };
            let total = (40 + usize::from(u16::from_be_bytes([l3[4], l3[5]]))).min(l3.len());
            let quote = &l3[..total.min(1232)];
            let t = (kind & 3) + 1;
            let msg = frames::icmp(t, kind >> 2 & 7, [0, 0, 0x05, 0x00], quote);
            let from = if kind & 0x80 != 0 {
                v6([198, 18, if port == 0 { 0 } else { 1 }, 254])
            } else {
                ip.dst
            };
            let mut frame = frames::eth(our_mac, peer_mac, check::ETH_IPV6);
            frame.extend_from_slice(&frames::ipv6(from, ip.src, check::P_ICMPV6, 64, None, &msg));
            check::fix_checksums(&mut frame);
            self.feed_untagged(port, frame);
            return;
        }
        if et != check::ETH_IPV4 {
            return;
        }
        let Some(ip) = check::Ip4::parse(l3) else {
            return;
        };
        let quote = &ip.packet[..(ip.ihl + 8).min(ip.packet.len())];
        let t = ICMP_TYPES[usize::from(kind & 3)];
        let msg = frames::icmp(t, kind >> 2 & 15, [0, 0, 0x05, 0x00], quote);
        let from = if kind & 0x80 != 0 {
            // From the router on the way rather than from the destination.
            [198, 18, if port == 0 { 0 } else { 1 }, 254]
        } else {
            ip.dst
        };
        let frame = frames::ip_frame(
            our_mac,
            peer_mac,
            from,
            ip.src,
            check::P_ICMP,
            64,
            frames::IpOpts::default(),
            &msg,
        );
        self.feed_untagged(port, frame);
    }

    fn garbage(&mut self, k: u8, at: u16, xor: u8) {
        let Some((port, mut f)) = self.recent(k) else {
            return;
        };
        if f.is_empty() {
            return;
        }
        let i = usize::from(at & 0x7fff) % f.len();
        f[i] ^= xor.max(1);
        if at & 0x8000 != 0 {
            check::fix_checksums(&mut f);
        }
        // Addressed to us again (the frame we sent went to the peer).
        let ours: [u8; 6] = f[6..12].try_into().unwrap_or([0; 6]);
        f[0..6].copy_from_slice(&ours);
        self.feed_untagged(port, f);
    }
}

/// Run one input through the harness (see the module doc for the format); the harness after
/// the end, for tests.
pub fn run(data: &[u8]) -> Option<Harness> {
    let (&setup, mut rest) = data.split_first()?;
    let mut h = Harness::new(setup);
    let mut ops = 0;
    while let Some(op) = take(&mut rest, 1).map(|b| b[0]) {
        ops += 1;
        if ops > 2048 {
            break;
        }
        let port = u16::from(op >> 3 & 3);
        match op & 7 {
            0 => {
                let Some(l) = take(&mut rest, 2) else { break };
                let len = usize::from(u16::from_le_bytes([l[0], l[1]])).min(rest.len());
                let Some(bytes) = take(&mut rest, len) else {
                    break;
                };
                let mut frame = bytes.to_vec();
                if op & 0x20 != 0 {
                    check::fix_checksums(&mut frame);
                }
                h.feed(port, frame);
            }
            1 => {
                let Some(s) = take(&mut rest, 10) else { break };
                let f = synth(port, s);
                h.feed_untagged(port, f);
            }
            2 => {
                let Some(s) = take(&mut rest, 2) else { break };
                h.reflect(s[0], s[1]);
            }
            3 => {
                let Some(s) = take(&mut rest, 2) else { break };
                h.icmp_about(s[0], s[1]);
            }
            4 => h.tick(),
            5 => {
                let Some(s) = take(&mut rest, 2) else { break };
                let dt = u64::from(u16::from_le_bytes([s[0], s[1]]));
                h.now += dt
                    * if op & 0x20 != 0 {
                        1_000_000_000
                    } else {
                        1_000_000
                    };
            }
            6 => {
                let Some(s) = take(&mut rest, 1) else { break };
                h.reload(s[0] & 1 == 1);
            }
            _ => {
                let Some(s) = take(&mut rest, 4) else { break };
                h.garbage(s[0], u16::from_le_bytes([s[1], s[2]]), s[3]);
            }
        }
    }
    h.finish();
    Some(h)
}

/// `frame` with an 802.1Q tag.
fn tag(frame: &[u8], vid: u16) -> Vec<u8> {
    frames::tag(frame, vid)
}
