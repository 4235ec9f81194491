//! One worker's engine: the per-packet path of DESIGN.md.
//!
//! ```text
//! frame ─▶ Ethernet ─▶ ARP ─▶ answer for our addresses / learn neighbours
//!                  ├─▶ IPv4 ─▶ validate ─▶ connection lookup (either direction)
//!                  │               ├─ hit ─▶ state, timer ─▶ rewrite for the method ─▶ route ─▶ MAC ─▶ tx
//!                  │               └─ miss ─▶ service? ─▶ schedule ─▶ new connection ─▶ (as a hit)
//!                  │                        └─ ours? ─▶ ICMP echo reply, or counted drop
//!                  └─▶ IPv6 ─▶ validate, walk extension headers ─▶ the same, over IPv6
//!                                  └─ ICMPv6 ─▶ Neighbor Discovery, echo, error relay
//! ```
//!
//! Both address families share one connection path, generic over a [`Family`]: IPv4 and IPv6
//! connections live in tables of their own (IPv4 entries do not pay for 128-bit addresses), with
//! their own persistence templates and FullNAT local ports; parsing, rewriting, routing and
//! neighbour resolution are the family's (`ipv4`/`rewrite4` here, `v6.rs` for IPv6).

use std::fmt::Debug;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rvs_config::Method;
use rvs_conn::state::{self, StateDir, TcpState, Timeouts};
use rvs_conn::{ConnId, ConnTable, Dir, FlowKey, FlowKey6, InsertError, Key, State};
use rvs_sched::{Change, Dest, DestCounters, SchedFlags, SchedInput, SchedParams, Scheduler};
use rvs_wire::{arp, ethernet, icmpv4, ipip, ipv4, ipv6, tcp, udp, vlan, MacAddr};

use crate::buf::{Io, PacketBuf};
use crate::director::{Director, PortIdx, PortInfo, RealServer, Service};
use crate::forward;
use crate::forward6;
use crate::lip::LipPool;
use crate::neigh::{Held, Neighbours};
use crate::persist::Templates;
use crate::stats::{DropReason, Stats};
use crate::steer;
use crate::synproxy::{self, Phase, Segment, SynOptions, Translate};

mod v6;

use v6::{encapsulate6, send_neighbor_solicit};

/// Client segments a worker keeps while their real servers answer the SYN proxy's SYN.
/// (Each holds a packet buffer; stale ones are freed by `tick`.)
const SYNPROXY_HELD: usize = 256;

/// Sizes and timeouts of one worker.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Worker number (0-based), for hashing seeds and logs.
    pub id: u16,
    /// Connection table size.
    pub max_connections: usize,
    /// IPv6 connection table size; `None`: `max_connections`. The IPv6 table (and its
    /// persistence templates) is allocated when the director first has an IPv6 service — at
    /// start, or at the reload that adds one — so an IPv4-only director spends nothing on it.
    pub max_connections6: Option<usize>,
    /// Neighbour table size (per address family).
    pub max_neighbours: usize,
    /// Connection timeouts (IPVS defaults unless set).
    pub timeouts: Timeouts,
    /// Connections expired per [`Worker::tick`] at most, so a tick never stalls the poll loop.
    pub expire_budget: usize,
    /// Workers in the director (for the ownership check; 1 = no check).
    pub workers: u16,
    /// Expire connections exactly at their time rather than within the second after (the
    /// replay tool's clock); costs a scan of the current timer slot per tick.
    pub exact_expiry: bool,
    /// Take every frame as addressed to us, whatever its destination MAC (replaying a
    /// capture taken elsewhere).
    pub accept_any_mac: bool,
    /// Resolve every next hop at once to a made-up MAC (02:00 followed by the IPv4 address,
    /// or the low 32 bits of the IPv6 address) instead of ARP or ND: for replays and
    /// benchmarks with no neighbours to answer.
    pub synthetic_neighbours: bool,
    /// Record a [`Decision`] for every packet that opens, or would open, a connection.
    pub record_decisions: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            id: 0,
            max_connections: 1 << 16,
            max_connections6: None,
            max_neighbours: 4096,
            timeouts: Timeouts::default(),
            expire_budget: 1024,
            exact_expiry: false,
            workers: 1,
            accept_any_mac: false,
            synthetic_neighbours: false,
            record_decisions: false,
        }
    }
}

/// What the engine remembers of a connection besides its keys and state; addresses of type
/// `A` (IPv4 by default, `Ipv6Addr` in the IPv6 table) and template keys of type `K`.
#[derive(Debug)]
pub struct ConnData<A = Ipv4Addr, K = FlowKey> {
    /// Forwarding method of its real server.
    pub method: Method,
    /// VIP and virtual port (the client's view).
    pub vip: A,
    /// Virtual port.
    pub vport: u16,
    /// RIP and real server port.
    pub rip: A,
    /// Real server port.
    pub rport: u16,
    /// FullNAT local address and port (unspecified and 0 for other methods).
    pub lip: A,
    /// FullNAT local port.
    pub lport: u16,
    /// The real server's shared counters.
    pub counters: Arc<DestCounters>,
    /// Counted as active (else inactive) in `counters`.
    pub active: bool,
    /// The real server is still part of its service.
    pub alive: Arc<AtomicBool>,
    /// The persistence template this connection was created through.
    pub template: Option<K>,
    /// The real server's traffic slot.
    pub slot: u32,
    /// SYN proxy: the handshake with the real server and the sequence translation
    /// ([`Phase::Off`] for connections not made by the proxy).
    pub syn: Translate,
}

/// An IPv6 connection's data.
pub type ConnData6 = ConnData<Ipv6Addr, FlowKey6>;

/// One worker's traffic through one real server, as IPVS's per-destination stats count it:
/// connections, and packets and bytes (IP length) in (client → RS) and out (RS → client).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Connections scheduled to it.
    pub conns: u64,
    /// Packets client → real server.
    pub in_packets: u64,
    /// Packets real server → client (NAT, FullNAT).
    pub out_packets: u64,
    /// Bytes client → real server.
    pub in_bytes: u64,
    /// Bytes real server → client.
    pub out_bytes: u64,
}

impl Traffic {
    /// Add another worker's counts.
    pub fn add(&mut self, o: &Traffic) {
        self.conns += o.conns;
        self.in_packets += o.in_packets;
        self.out_packets += o.out_packets;
        self.in_bytes += o.in_bytes;
        self.out_bytes += o.out_bytes;
    }
}

/// What happened to a packet that opens a connection (a TCP SYN without ACK, or a UDP
/// datagram) — the scheduler's decision, or the connection it matched, as rvs-replay reports.
/// Addresses of either family (a service and its real servers share one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// IP protocol.
    pub proto: u8,
    /// Client address and port.
    pub client: (IpAddr, u16),
    /// The packet's destination (VIP and port).
    pub vip: (IpAddr, u16),
    /// The real server it went to, or `None` when it was dropped.
    pub real: Option<(IpAddr, u16)>,
}

/// What to do with a frame once classified.
enum Action {
    /// Count and free.
    Drop(DropReason),
    /// Send back out of the port it came in on, as rewritten (ARP and ICMP answers).
    Reply,
    /// As `Reply`, with the frame cut to this length first (an ICMPv6 echo reply without the
    /// request's extension headers).
    ReplyLen(usize),
    /// Answer a neighbor solicitation: the frame becomes this neighbor advertisement, sent
    /// back out of the port it came in on.
    Advertise {
        dst_mac: MacAddr,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        target: Ipv6Addr,
        flags: u32,
    },
    /// Taken in by the director itself (an ARP reply to our request), counted by its handler.
    Consumed,
    /// SYN proxy: a client segment of this connection arrived before the real server's
    /// SYN-ACK; keep it (one per connection, as DPVS keeps the client's first ACK/data
    /// segment) and handle it again once the server's handshake is done.
    SynproxyHold(Held1, Option<Resend>),
    /// The IP packet is ready: route it to `next_hop` out of `port`, setting the MACs.
    Forward {
        port: PortIdx,
        next_hop: IpAddr,
        /// What to do to the frame's length before it leaves.
        post: Post,
    },
    /// Answer the sender with an ICMP error quoting the packet (RFC 792), e.g. fragmentation
    /// needed with the MTU that fits (RFC 1191).
    IcmpError {
        msg_type: u8,
        code: u8,
        rest: [u8; 4],
    },
    /// Answer the sender with an ICMPv6 error quoting the packet (RFC 4443), e.g. packet too
    /// big with the MTU that fits (RFC 8201).
    IcmpError6 { msg_type: u8, code: u8, rest: u32 },
}

/// Everything the rewrite of one packet needs to know of its connection.
#[derive(Clone, Copy, Debug)]
struct Flow<A> {
    method: Method,
    client: A,
    cport: u16,
    vip: A,
    vport: u16,
    rip: A,
    rport: u16,
    lip: A,
    lport: u16,
    slot: u32,
}

/// SYN proxy: which connection a held segment waits for (IPv6 table or IPv4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Held1 {
    id: ConnId,
    v6: bool,
}

/// SYN proxy: the SYN to send the real server again, should a held client segment turn out
/// to be a retransmission (the first SYN or the server's answer was lost).
#[derive(Clone, Copy, Debug)]
struct Resend {
    syn: Segment,
    toa: Option<(IpAddr, u16)>,
    port: PortIdx,
    next_hop: IpAddr,
}

/// Changes to a forwarded frame that need its buffer, not just its bytes.
#[derive(Clone, Copy, Debug)]
enum Post {
    /// Nothing more.
    None,
    /// Wrap the IP packet in an outer IPv4 header from `.0` to `.1` (TUN).
    Encap(Ipv4Addr, Ipv4Addr),
    /// Wrap the IPv6 packet in an outer IPv6 header from `.0` to `.1` (TUN, RFC 2473).
    Encap6(Ipv6Addr, Ipv6Addr),
    /// Give the real server the client's address in the TOA option (FullNAT SYN).
    Toa(Ipv4Addr, u16),
    /// The IPv6 TOA option (FullNAT SYN), the TCP header at `.2` in the IPv6 packet.
    Toa6(Ipv6Addr, u16, usize),
    /// SYN proxy: the frame becomes this segment, then gets the TOA option when given (the
    /// SYN to a FullNAT real server).
    Build(Segment, Option<(IpAddr, u16)>),
}

/// Parsed facts of a TCP/UDP packet the rest of the path needs.
#[derive(Clone, Copy)]
struct L4<K> {
    key: K,
    tcp_flags: u8,
    /// Offset of the TCP/UDP header in the IP packet (after IPv6 extension headers).
    at: usize,
}

/// A connection table with what lives beside it: one per address family.
struct Tables<F: Family> {
    conns: ConnTable<ConnData<F::Addr, F::Key>, F::Key>,
    templates: Templates<F::Key>,
    lips: LipPool<F::Addr>,
}

impl<F: Family> Tables<F> {
    fn new(max_connections: usize, cfg: &WorkerConfig) -> Tables<F> {
        Tables {
            conns: ConnTable::with_capacity(max_connections),
            // Allocated by `prepare_templates` when a persistent service appears: most
            // directors have none, and the table is as large as the connection table.
            templates: Templates::new(0),
            lips: LipPool::new(cfg.id, cfg.workers),
        }
    }
}

/// What the shared connection path needs to know of an address family: its addresses and
/// keys, where its tables are, and how its packets are rewritten and routed.
trait Family: Sized + 'static {
    /// IPv4 or IPv6 address.
    type Addr: Copy + Eq + Hash + Debug + Into<IpAddr>;
    /// The connection table's key.
    type Key: Key;
    /// The unspecified address (LIP of a connection that has none).
    const UNSPECIFIED: Self::Addr;
    /// A flow key.
    fn key(proto: u8, src: Self::Addr, sport: u16, dst: Self::Addr, dport: u16) -> Self::Key;
    /// A flow key's fields: protocol, source, source port, destination, destination port.
    fn parts(k: &Self::Key) -> (u8, Self::Addr, u16, Self::Addr, u16);
    /// The address, when it is of this family.
    fn of(a: IpAddr) -> Option<Self::Addr>;
    /// The worker's tables of this family.
    fn tables<B>(w: &mut Worker<B>) -> &mut Tables<Self>;
    /// The persistence template key of a client of a service.
    fn template_key(
        proto: u8,
        client: Self::Addr,
        prefix_len: u8,
        vip: Self::Addr,
        vport: u16,
        fwmark: Option<u32>,
    ) -> Self::Key;
    /// The port's FullNAT local addresses of this family.
    fn port_lips(p: &PortInfo) -> &[Self::Addr];
    /// The service's own FullNAT local addresses of this family.
    fn svc_lips(s: &Service) -> &[Self::Addr];
    /// The port a packet for `dst` leaves through.
    fn route_port(dir: &Director, dst: Self::Addr) -> Option<PortIdx>;
    /// Whether `a` is a FullNAT local address.
    fn is_lip(dir: &Director, a: Self::Addr) -> bool;
    /// Whether `a` is one of the director's own addresses.
    fn is_local(dir: &Director, a: Self::Addr) -> bool;
    /// The worker owning the connections of the client `a` (see `steer`).
    fn client_owner(a: Self::Addr, workers: u16) -> u16;
    /// The IP packet's length (as the traffic counters count bytes).
    fn ip_len(ip: &[u8]) -> u64;
    /// The TCP segment of a frame, for the SYN proxy (`None` when it is not TCP right after
    /// the IP header).
    fn segment_of(frame: &[u8]) -> Option<synproxy::Seen>;
    /// Rewrite the packet for its connection's method and direction; where it goes next.
    fn rewrite<B: PacketBuf>(
        w: &mut Worker<B>,
        f: Flow<Self::Addr>,
        dir: Dir,
        l4: L4<Self::Key>,
        frame: &mut [u8],
    ) -> Action;
}

/// IPv4.
struct V4;
/// IPv6.
struct V6;

impl Family for V4 {
    type Addr = Ipv4Addr;
    type Key = FlowKey;
    const UNSPECIFIED: Ipv4Addr = Ipv4Addr::UNSPECIFIED;
    #[inline]
    fn key(proto: u8, src: Ipv4Addr, src_port: u16, dst: Ipv4Addr, dst_port: u16) -> FlowKey {
        FlowKey {
            proto,
            src,
            src_port,
            dst,
            dst_port,
        }
    }
    #[inline]
    fn parts(k: &FlowKey) -> (u8, Ipv4Addr, u16, Ipv4Addr, u16) {
        (k.proto, k.src, k.src_port, k.dst, k.dst_port)
    }
    #[inline]
    fn of(a: IpAddr) -> Option<Ipv4Addr> {
        match a {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        }
    }
    #[inline]
    fn tables<B>(w: &mut Worker<B>) -> &mut Tables<V4> {
        &mut w.t4
    }
    fn template_key(
        proto: u8,
        client: Ipv4Addr,
        prefix_len: u8,
        vip: Ipv4Addr,
        vport: u16,
        fwmark: Option<u32>,
    ) -> FlowKey {
        Templates::key(proto, client, prefix_len, vip, vport, fwmark)
    }
    fn port_lips(p: &PortInfo) -> &[Ipv4Addr] {
        &p.lips
    }
    fn svc_lips(s: &Service) -> &[Ipv4Addr] {
        &s.lips
    }
    fn route_port(dir: &Director, dst: Ipv4Addr) -> Option<PortIdx> {
        dir.routes.lookup(dst).map(|nh| nh.port)
    }
    #[inline]
    fn is_lip(dir: &Director, a: Ipv4Addr) -> bool {
        dir.is_lip(a)
    }
    #[inline]
    fn is_local(dir: &Director, a: Ipv4Addr) -> bool {
        dir.local(a).is_some()
    }
    #[inline]
    fn client_owner(a: Ipv4Addr, workers: u16) -> u16 {
        steer::client_owner(a, workers)
    }
    #[inline]
    fn ip_len(ip: &[u8]) -> u64 {
        ipv4::Packet::new_checked(ip).map_or(0, |p| u64::from(p.total_len()))
    }
    fn segment_of(frame: &[u8]) -> Option<synproxy::Seen> {
        synproxy::Seen::parse(frame)
    }
    #[inline]
    fn rewrite<B: PacketBuf>(
        w: &mut Worker<B>,
        f: Flow<Ipv4Addr>,
        dir: Dir,
        l4: L4<FlowKey>,
        frame: &mut [u8],
    ) -> Action {
        w.rewrite4(f, dir, l4, frame)
    }
}

impl Family for V6 {
    type Addr = Ipv6Addr;
    type Key = FlowKey6;
    const UNSPECIFIED: Ipv6Addr = Ipv6Addr::UNSPECIFIED;
    #[inline]
    fn key(proto: u8, src: Ipv6Addr, src_port: u16, dst: Ipv6Addr, dst_port: u16) -> FlowKey6 {
        FlowKey6 {
            proto,
            src,
            src_port,
            dst,
            dst_port,
        }
    }
    #[inline]
    fn parts(k: &FlowKey6) -> (u8, Ipv6Addr, u16, Ipv6Addr, u16) {
        (k.proto, k.src, k.src_port, k.dst, k.dst_port)
    }
    #[inline]
    fn of(a: IpAddr) -> Option<Ipv6Addr> {
        match a {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        }
    }
    #[inline]
    fn tables<B>(w: &mut Worker<B>) -> &mut Tables<V6> {
        &mut w.t6
    }
    fn template_key(
        proto: u8,
        client: Ipv6Addr,
        prefix_len: u8,
        vip: Ipv6Addr,
        vport: u16,
        fwmark: Option<u32>,
    ) -> FlowKey6 {
        Templates::key6(proto, client, prefix_len, vip, vport, fwmark)
    }
    fn port_lips(p: &PortInfo) -> &[Ipv6Addr] {
        &p.lips6
    }
    fn svc_lips(s: &Service) -> &[Ipv6Addr] {
        &s.lips6
    }
    fn route_port(dir: &Director, dst: Ipv6Addr) -> Option<PortIdx> {
        dir.routes6.lookup(dst).map(|nh| nh.port)
    }
    #[inline]
    fn is_lip(dir: &Director, a: Ipv6Addr) -> bool {
        dir.is_lip6(a)
    }
    #[inline]
    fn is_local(dir: &Director, a: Ipv6Addr) -> bool {
        dir.local6(a).is_some()
    }
    #[inline]
    fn client_owner(a: Ipv6Addr, workers: u16) -> u16 {
        steer::client_owner6(a, workers)
    }
    #[inline]
    fn ip_len(ip: &[u8]) -> u64 {
        ipv6::Packet::new_checked(ip).map_or(0, |p| 40 + u64::from(p.payload_len()))
    }
    fn segment_of(frame: &[u8]) -> Option<synproxy::Seen> {
        synproxy::Seen::parse6(frame)
    }
    #[inline]
    fn rewrite<B: PacketBuf>(
        w: &mut Worker<B>,
        f: Flow<Ipv6Addr>,
        dir: Dir,
        l4: L4<FlowKey6>,
        frame: &mut [u8],
    ) -> Action {
        w.rewrite6(f, dir, l4, frame)
    }
}

/// One worker's engine. Owns its connection tables and neighbour tables exclusively.
pub struct Worker<B> {
    dir: Arc<Director>,
    scheds: Vec<Box<dyn Scheduler>>,
    /// IPv4 connections, templates and local ports.
    t4: Tables<V4>,
    /// IPv6 connections, templates and local ports (empty until the director has an IPv6
    /// service; see [`WorkerConfig::max_connections6`]).
    t6: Tables<V6>,
    /// Packets, bytes and connections per real-server slot (see `RealServer::slot`).
    traffic: Vec<Traffic>,
    neigh: Neighbours<B>,
    neigh6: Neighbours<B, Ipv6Addr>,
    cfg: WorkerConfig,
    decisions: Vec<Decision>,
    /// The latest time the worker was given: schedulers created by a reload start their
    /// timers (lblc/lblcr collection) then.
    now: u64,
    /// State of the random victim picker of the drop_entry defence.
    rng: u64,
    /// IPv4 identification for headers the director writes (outer IPIP, ICMP errors).
    ident: u16,
    /// The real server the packet being handled was sent to (for decisions).
    last_real: Option<(IpAddr, u16)>,
    /// SYN proxy: client segments waiting for their real server's SYN-ACK, by connection
    /// (slot = id modulo the length; a newer segment pushes an older one out, counted).
    /// Allocated at start.
    sp_held: Vec<Option<(Held1, PortIdx, B)>>,
    /// SYN proxy: the connection whose server handshake the packet being handled completed
    /// (its held segment, if any, follows the director's ACK).
    sp_release: Option<Held1>,
    /// SYN proxy: where `tick` goes on looking for held segments whose connection is gone.
    sp_sweep: usize,
    /// This worker's counters.
    pub stats: Stats,
}

impl<B: PacketBuf> Worker<B> {
    /// A worker for the director `dir`, with its tables allocated now.
    pub fn new(dir: Arc<Director>, cfg: WorkerConfig) -> Worker<B> {
        dir.activate();
        let scheds = Self::schedulers(&dir, cfg.id, 0);
        let mut t4 = Tables::new(cfg.max_connections, &cfg);
        dir.lips().for_each(|l| t4.lips.ensure(l));
        let mut neigh = Neighbours::new(cfg.max_neighbours);
        for &(port, addr, mac) in &dir.static_neighbours {
            neigh.pin(port, addr, mac);
        }
        let mut neigh6 = Neighbours::new(cfg.max_neighbours);
        for &(port, addr, mac) in &dir.static_neighbours6 {
            neigh6.pin(port, addr, mac);
        }
        let mut cfg = cfg;
        cfg.timeouts = dir.timeouts;
        let mut w = Worker {
            traffic: vec![Traffic::default(); dir.slots as usize],
            t4,
            t6: Tables::new(0, &cfg),
            decisions: Vec::new(),
            now: 0,
            rng: 0x9e37_79b9_7f4a_7c15 ^ (u64::from(cfg.id) << 32 | 1),
            last_real: None,
            sp_held: (0..SYNPROXY_HELD).map(|_| None).collect(),
            sp_release: None,
            sp_sweep: 0,
            ident: 0,
            neigh,
            neigh6,
            scheds,
            dir,
            cfg,
            stats: Stats::default(),
        };
        w.prepare_ipv6();
        w.prepare_templates();
        w
    }

    /// Allocate a family's persistence-template table (as large as its connection table: a
    /// template is made with a connection) the first time the director has a persistent
    /// service of that family (allocates: configuration time only).
    fn prepare_templates(&mut self) {
        let persistent = |v6: bool| {
            self.dir
                .services
                .iter()
                .any(|s| s.persistence_ns > 0 && s.is_ipv6() == v6)
        };
        if persistent(false) && self.t4.templates.capacity() == 0 {
            self.t4.templates = Templates::new(self.t4.conns.capacity());
        }
        if persistent(true) && self.t6.templates.capacity() == 0 {
            self.t6.templates = Templates::new(self.t6.conns.capacity());
        }
    }

    /// Allocate the IPv6 tables the first time the director has an IPv6 service, and make its
    /// IPv6 LIPs' ports available (allocates: configuration time only).
    fn prepare_ipv6(&mut self) {
        if self.t6.conns.capacity() == 0 && self.dir.services.iter().any(|s| s.is_ipv6()) {
            let n = self
                .cfg
                .max_connections6
                .unwrap_or(self.cfg.max_connections);
            self.t6 = Tables::new(n, &self.cfg);
        }
        let dir = Arc::clone(&self.dir);
        dir.lips6().for_each(|l| self.t6.lips.ensure(l));
    }

    fn schedulers(dir: &Director, worker: u16, now: u64) -> Vec<Box<dyn Scheduler>> {
        dir.services
            .iter()
            .map(|s| new_scheduler(s, worker, now))
            .collect()
    }

    /// Switch to a new configuration between bursts. Connections stay on their real servers;
    /// a service that keeps its scheduler keeps its scheduler state, told of each real
    /// server removed, edited and added in turn as the kernel's del_dest/upd_dest/add_dest
    /// hooks are; a new service or a changed scheduler starts afresh.
    pub fn set_director(&mut self, new: Arc<Director>) {
        new.activate();
        let mut old_scheds: Vec<Option<Box<dyn Scheduler>>> = std::mem::take(&mut self.scheds)
            .into_iter()
            .map(Some)
            .collect();
        let mut scheds = Vec::with_capacity(new.services.len());
        for s in &new.services {
            let kept = self
                .dir
                .service_index_by_key(s.key)
                .and_then(|i| {
                    let old = self.dir.services.get(usize::from(i))?;
                    if old.scheduler != s.scheduler {
                        return None;
                    }
                    let sched = old_scheds.get_mut(usize::from(i))?.take()?;
                    Some((old, sched))
                })
                .and_then(|(old, mut sched)| {
                    replay_dest_changes(&old.dests, &s.dests, sched.as_mut()).then_some(sched)
                });
            scheds.push(kept.unwrap_or_else(|| new_scheduler(s, self.cfg.id, self.now)));
        }
        self.scheds = scheds;
        new.lips().for_each(|l| self.t4.lips.ensure(l));
        for &(port, addr, mac) in &new.static_neighbours {
            self.neigh.pin(port, addr, mac);
        }
        for &(port, addr, mac) in &new.static_neighbours6 {
            self.neigh6.pin(port, addr, mac);
        }
        if self.traffic.len() < new.slots as usize {
            self.traffic.resize(new.slots as usize, Traffic::default());
        }
        self.cfg.timeouts = new.timeouts;
        self.dir = new;
        self.prepare_ipv6();
        self.prepare_templates();
    }

    /// Change the connection timeouts (`ipvsadm --set`); existing connections keep their
    /// current timer until their next packet, as in the kernel.
    pub fn set_timeouts(&mut self, timeouts: Timeouts) {
        self.cfg.timeouts = timeouts;
    }

    /// The decisions recorded since the last call (with `record_decisions`).
    pub fn take_decisions(&mut self) -> std::vec::Drain<'_, Decision> {
        self.decisions.drain(..)
    }

    fn record<F: Family>(&mut self, l4: &L4<F::Key>, real: Option<(IpAddr, u16)>) {
        if !self.cfg.record_decisions {
            return;
        }
        let proto = F::parts(&l4.key).0;
        let opens = match proto {
            ipv4::protocol::TCP => {
                l4.tcp_flags & (tcp::Flags::SYN | tcp::Flags::ACK) == tcp::Flags::SYN
            }
            _ => true,
        };
        if opens {
            self.record_always::<F>(l4, real);
        }
    }

    fn record_always<F: Family>(&mut self, l4: &L4<F::Key>, real: Option<(IpAddr, u16)>) {
        let (proto, src, sport, dst, dport) = F::parts(&l4.key);
        self.decisions.push(Decision {
            proto,
            client: (src.into(), sport),
            vip: (dst.into(), dport),
            real,
        });
    }

    /// The director this worker forwards for.
    pub fn director(&self) -> &Arc<Director> {
        &self.dir
    }

    /// Traffic per real-server slot (for statistics).
    pub fn traffic(&self) -> &[Traffic] {
        &self.traffic
    }

    /// The IPv4 connection table (for listing).
    pub fn conns(&self) -> &ConnTable<ConnData> {
        &self.t4.conns
    }

    /// The IPv6 connection table (for listing; capacity 0 while the director has no IPv6
    /// service).
    pub fn conns6(&self) -> &ConnTable<ConnData6, FlowKey6> {
        &self.t6.conns
    }

    /// Start loading the connection-table memory a burst of frames will need, before handling
    /// them one by one with [`Worker::handle`]: with many connections each lookup otherwise
    /// waits for its own cache and TLB misses in turn (see `ConnTable::prefetch`). Only
    /// reads; a frame it cannot parse is skipped here and judged by `handle`.
    pub fn prefetch<'a>(&self, frames: impl IntoIterator<Item = &'a [u8]>) {
        const CHUNK: usize = 32;
        let mut keys4 = [FlowKey {
            proto: 0,
            src: Ipv4Addr::UNSPECIFIED,
            src_port: 0,
            dst: Ipv4Addr::UNSPECIFIED,
            dst_port: 0,
        }; CHUNK];
        let mut keys6 = [FlowKey6 {
            proto: 0,
            src: Ipv6Addr::UNSPECIFIED,
            src_port: 0,
            dst: Ipv6Addr::UNSPECIFIED,
            dst_port: 0,
        }; CHUNK];
        let (mut n4, mut n6) = (0, 0);
        for frame in frames {
            match flow_key(frame) {
                Some(FrameKey::V4(k)) => batch(&self.t4.conns, &mut keys4, &mut n4, k),
                Some(FrameKey::V6(k)) => batch(&self.t6.conns, &mut keys6, &mut n6, k),
                None => {}
            }
        }
        if let Some(keys) = keys4.get(..n4) {
            self.t4.conns.prefetch(keys);
        }
        if let Some(keys) = keys6.get(..n6) {
            self.t6.conns.prefetch(keys);
        }
    }

    /// Bytes the worker's connection and persistence-template tables hold (both families),
    /// all allocated at start or when a configuration first needs them, never per packet.
    pub fn table_memory_bytes(&self) -> usize {
        self.t4.conns.memory_bytes()
            + self.t4.templates.memory_bytes()
            + self.t6.conns.memory_bytes()
            + self.t6.templates.memory_bytes()
    }

    /// Handle one frame received on `port` at `now_ns`.
    pub fn handle(&mut self, now_ns: u64, port: PortIdx, mut pkt: B, io: &mut impl Io<B>) {
        self.stats.rx_frames += 1;
        self.now = now_ns;
        if let Some(vid) = self.dir.port(port).and_then(|p| p.vlan) {
            if !untag(&mut pkt, vid) {
                self.stats.drop(DropReason::VlanMismatch);
                return;
            }
        }
        self.handle_untagged(now_ns, port, pkt, io);
    }

    /// The rest of [`Worker::handle`], for a frame without its VLAN tag (or one the SYN proxy
    /// held, handled again).
    fn handle_untagged(&mut self, now_ns: u64, port: PortIdx, mut pkt: B, io: &mut impl Io<B>) {
        self.sp_release = None;
        match self.classify(now_ns, port, &mut pkt, io) {
            // Traffic for the director itself that rvs does not handle (SSH to a DIP, replies
            // to health checks): to the kernel through the port's exception path, if it has
            // one.
            Action::Drop(DropReason::LocalUnhandled) => match io.exception(port, pkt) {
                Ok(()) => self.stats.to_kernel += 1,
                Err(_) => self.stats.drop(DropReason::LocalUnhandled),
            },
            Action::Drop(reason) => self.stats.drop(reason),
            Action::Reply => emit(&self.dir, &mut self.stats, io, port, pkt),
            Action::ReplyLen(len) => {
                if pkt.set_len(len) {
                    emit(&self.dir, &mut self.stats, io, port, pkt);
                } else {
                    self.stats.drop(DropReason::NoBuffer);
                }
            }
            Action::Advertise {
                dst_mac,
                src,
                dst,
                target,
                flags,
            } => {
                let Some(info) = self.dir.port(port) else {
                    self.stats.drop(DropReason::NdNotForUs);
                    return;
                };
                let mac = info.mac;
                if pkt.set_len(forward6::NA_FRAME_LEN)
                    && forward6::build_neighbor_advert(
                        pkt.data_mut(),
                        mac,
                        dst_mac,
                        src,
                        dst,
                        target,
                        flags,
                    )
                    .is_some()
                {
                    self.stats.nd_replies += 1;
                    emit(&self.dir, &mut self.stats, io, port, pkt);
                } else {
                    self.stats.drop(DropReason::NoBuffer);
                }
            }
            Action::Forward {
                port,
                next_hop,
                post,
            } => {
                match post {
                    Post::None => {}
                    Post::Encap(src, dst) => {
                        if !self.encapsulate(&mut pkt, src, dst) {
                            self.stats.drop(DropReason::NoHeadroom);
                            return;
                        }
                    }
                    Post::Encap6(src, dst) => {
                        if !encapsulate6(&mut pkt, src, dst) {
                            self.stats.drop(DropReason::NoHeadroom);
                            return;
                        }
                    }
                    Post::Toa(client, cport) => self.add_toa(&mut pkt, client, cport),
                    Post::Toa6(client, cport, at) => self.add_toa6(&mut pkt, at, client, cport),
                    Post::Build(seg, toa) => {
                        if !(pkt.set_len(seg.frame_len()) && seg.write(pkt.data_mut())) {
                            self.stats.drop(DropReason::NoBuffer);
                            return;
                        }
                        if let Some((client, cport)) = toa {
                            self.add_toa_any(&mut pkt, client, cport);
                        }
                    }
                }
                self.stats.forwarded += 1;
                self.transmit(now_ns, port, next_hop, pkt, io);
                if let Some(id) = self.sp_release.take() {
                    self.release_held(now_ns, id, io);
                }
            }
            Action::SynproxyHold(id, resend) => {
                let slot = id.id.as_u32() as usize % SYNPROXY_HELD;
                let Some(held) = self.sp_held.get_mut(slot) else {
                    self.stats.drop(DropReason::SynproxyAwaitingServer);
                    return;
                };
                let older = held.replace((id, port, pkt));
                self.stats.synproxy_held += 1;
                if let Some((older_id, _, _)) = older {
                    // An older segment (a retransmission, or another connection's) gives
                    // way; its client sends it again.
                    self.stats.synproxy_released += 1;
                    self.stats.drop(DropReason::SynproxyAwaitingServer);
                    if older_id == id {
                        // The client retransmits: the SYN or the server's SYN-ACK may have
                        // been lost; send the SYN again (DPVS syn_proxy retries likewise).
                        if let Some(r) = resend {
                            self.synproxy_resend(now_ns, r, io);
                        }
                    }
                }
            }
            Action::IcmpError {
                msg_type,
                code,
                rest,
            } => self.icmp_error(now_ns, &pkt, msg_type, code, rest, io),
            Action::IcmpError6 {
                msg_type,
                code,
                rest,
            } => self.icmp_error6(now_ns, &pkt, msg_type, code, rest, io),
            // The kernel behind the exception path resolves its own neighbours: it gets the
            // ARP replies and neighbor advertisements addressed to us too.
            Action::Consumed => {
                let _ = io.exception(port, pkt);
            }
        }
    }

    /// SYN proxy: free held client segments whose connection no longer waits for its real
    /// server (reset, timed out), a few slots per tick.
    fn sweep_held(&mut self) {
        const PER_TICK: usize = 32;
        for _ in 0..PER_TICK {
            let slot = self.sp_sweep % SYNPROXY_HELD;
            self.sp_sweep = (slot + 1) % SYNPROXY_HELD;
            let Some(held) = self.sp_held.get_mut(slot) else {
                continue;
            };
            let waiting = held.as_ref().is_some_and(|(h, _, _)| {
                let phase = if h.v6 {
                    self.t6.conns.get(h.id).map(|e| e.data.syn.phase)
                } else {
                    self.t4.conns.get(h.id).map(|e| e.data.syn.phase)
                };
                phase == Some(Phase::AwaitSynAck)
            });
            if !waiting && held.take().is_some() {
                self.stats.synproxy_released += 1;
                self.stats.drop(DropReason::SynproxyAwaitingServer);
            }
        }
    }

    /// The TOA option of either family on the SYN in `pkt` (IPv6: right after the fixed
    /// header, where the SYN proxy writes its TCP header).
    fn add_toa_any(&mut self, pkt: &mut B, client: IpAddr, cport: u16) {
        match client {
            IpAddr::V4(c) => self.add_toa(pkt, c, cport),
            IpAddr::V6(c) => self.add_toa6(pkt, ipv6::HEADER_LEN, c, cport),
        }
    }

    /// Route to `dst` of either family.
    fn route_ip(&self, dst: IpAddr) -> Action {
        match dst {
            IpAddr::V4(a) => self.route_to(a),
            IpAddr::V6(a) => self.route_to6(a),
        }
    }

    /// SYN proxy: send the real server the SYN again, in a buffer of its own.
    fn synproxy_resend(&mut self, now_ns: u64, r: Resend, io: &mut impl Io<B>) {
        let Some(mut pkt) = io.alloc() else {
            self.stats.drop(DropReason::NoBuffer);
            return;
        };
        if !pkt.set_len(r.syn.frame_len()) {
            self.stats.drop(DropReason::NoBuffer);
            return;
        }
        let data = pkt.data_mut();
        data[..ethernet::HEADER_LEN].fill(0);
        if !r.syn.write(data) {
            self.stats.drop(DropReason::NoBuffer);
            return;
        }
        if let Some((client, cport)) = r.toa {
            self.add_toa_any(&mut pkt, client, cport);
        }
        self.stats.synproxy_syn_resent += 1;
        self.transmit(now_ns, r.port, r.next_hop, pkt, io);
    }

    /// SYN proxy: the held client segment of connection `id`, if any, goes through the engine
    /// again now that the connection translates (as a frame received now on its port).
    fn release_held(&mut self, now_ns: u64, id: Held1, io: &mut impl Io<B>) {
        let slot = id.id.as_u32() as usize % SYNPROXY_HELD;
        let Some(held) = self.sp_held.get_mut(slot) else {
            return;
        };
        if held.as_ref().is_none_or(|(h, _, _)| *h != id) {
            return;
        }
        if let Some((_, port, pkt)) = held.take() {
            // Counted once as received, when it first arrived; its VLAN tag is off already.
            self.stats.synproxy_released += 1;
            self.handle_untagged(now_ns, port, pkt, io);
        }
    }

    /// Timers: expire connections, probe and give up on neighbours. Call every few
    /// milliseconds between bursts.
    pub fn tick(&mut self, now_ns: u64, io: &mut impl Io<B>) {
        {
            let Worker {
                t4, t6, stats, cfg, ..
            } = self;
            expire_tables(t4, now_ns, cfg.expire_budget, cfg.exact_expiry, stats);
            expire_tables(t6, now_ns, cfg.expire_budget, cfg.exact_expiry, stats);
        }
        self.now = now_ns;
        self.sweep_held();
        // lblc/lblcr collect their tables every 60 s from the service's creation; an idle
        // service's timer runs here.
        for s in self.scheds.iter_mut() {
            s.gc(now_ns);
        }
        let Worker {
            neigh,
            neigh6,
            dir,
            stats,
            ..
        } = self;
        let mut probes: [(PortIdx, Ipv4Addr); 16] = [(0, Ipv4Addr::UNSPECIFIED); 16];
        let mut n = 0;
        let mut late = 0u64;
        neigh.tick(
            now_ns,
            |port, addr| {
                if n < probes.len() {
                    probes[n] = (port, addr);
                    n += 1;
                }
            },
            |_pkt| late += 1,
        );
        let mut probes6: [(PortIdx, Ipv6Addr); 16] = [(0, Ipv6Addr::UNSPECIFIED); 16];
        let mut n6 = 0;
        neigh6.tick(
            now_ns,
            |port, addr| {
                if n6 < probes6.len() {
                    probes6[n6] = (port, addr);
                    n6 += 1;
                }
            },
            |_pkt| late += 1,
        );
        stats.drops[DropReason::NeighbourUnresolved as usize] += late;
        for &(port, addr) in &probes[..n] {
            send_arp_request(dir, stats, io, port, addr);
        }
        for &(port, addr) in &probes6[..n6] {
            send_neighbor_solicit(dir, stats, io, port, addr);
        }
    }

    fn classify(&mut self, now: u64, port: PortIdx, pkt: &mut B, io: &mut impl Io<B>) -> Action {
        let Some(port_info) = self.dir.port(port) else {
            return Action::Drop(DropReason::NotOurMac);
        };
        let our_mac = port_info.mac;
        let frame = pkt.data_mut();
        let Ok(eth) = ethernet::Frame::new_checked(&frame[..]) else {
            return Action::Drop(DropReason::EthTruncated);
        };
        let dst = eth.dst();
        if dst != our_mac && !dst.is_broadcast() && !dst.is_multicast() && !self.cfg.accept_any_mac
        {
            return Action::Drop(DropReason::NotOurMac);
        }
        match eth.ethertype() {
            ethernet::ethertype::ARP => self.arp(now, port, frame, io),
            ethernet::ethertype::IPV4 => self.ipv4(now, port, frame),
            ethernet::ethertype::IPV6 => self.ipv6(now, port, frame, io),
            ethernet::ethertype::VLAN | ethernet::ethertype::QINQ => {
                Action::Drop(DropReason::VlanTagged)
            }
            _ => Action::Drop(DropReason::UnknownEthertype),
        }
    }

    /// Learn the sender of an ARP frame, or of a neighbor solicitation or advertisement,
    /// that another worker received and answered (with several workers every worker resolves
    /// next hops for itself, so each sees every ARP and ND frame: `steer::Owner::All`).
    /// Nothing is sent but the frames that were waiting for that neighbour.
    pub fn learn_arp(&mut self, now_ns: u64, port: PortIdx, mut pkt: B, io: &mut impl Io<B>) {
        if let Some(vid) = self.dir.port(port).and_then(|p| p.vlan) {
            if !untag(&mut pkt, vid) {
                return;
            }
        }
        let frame = pkt.data();
        if frame.get(12..14) == Some(&ethernet::ethertype::IPV6.to_be_bytes()[..]) {
            self.learn_nd(now_ns, port, frame, io);
            return;
        }
        let eth_len = ethernet::HEADER_LEN;
        let Some(Ok(a)) = frame.get(eth_len..).map(arp::Packet::new_checked) else {
            return;
        };
        let (sender_ip, sender_mac, target_ip) = (a.sender_ip(), a.sender_mac(), a.target_ip());
        if self.dir.local(sender_ip).is_some()
            || sender_ip.is_unspecified()
            || !sender_mac.is_unicast()
        {
            return;
        }
        let for_us = self.dir.answers_arp(port, target_ip);
        self.learn(now_ns, port, sender_ip, sender_mac, for_us, io);
    }

    /// Record a neighbour and send what waited for it.
    fn learn(
        &mut self,
        now: u64,
        port: PortIdx,
        addr: Ipv4Addr,
        mac: MacAddr,
        create: bool,
        io: &mut impl Io<B>,
    ) {
        let Worker {
            neigh, stats, dir, ..
        } = self;
        neigh.learn(port, addr, mac, create, now, |mut held, mac| {
            if let Some(info) = dir.port(port) {
                forward::set_macs(held.data_mut(), mac, info.mac);
                emit(dir, stats, io, port, held);
            }
        });
    }

    /// ARP (RFC 826): answer requests for our addresses, learn the neighbours we talk to, and
    /// never let another host claim one of our addresses.
    fn arp(&mut self, now: u64, port: PortIdx, frame: &mut [u8], io: &mut impl Io<B>) -> Action {
        let eth_len = ethernet::HEADER_LEN;
        let Ok(a) = arp::Packet::new_checked(&frame[eth_len..]) else {
            return Action::Drop(DropReason::ArpMalformed);
        };
        let (op, sender_ip, sender_mac, target_ip) =
            (a.operation(), a.sender_ip(), a.sender_mac(), a.target_ip());
        if self.dir.local(sender_ip).is_some() {
            return Action::Drop(DropReason::ArpClaimsOurAddress);
        }
        let for_us = self.dir.answers_arp(port, target_ip);
        if !sender_ip.is_unspecified() && sender_mac.is_unicast() {
            // Merge (RFC 826): update a known sender; add it when it asks for us.
            self.learn(now, port, sender_ip, sender_mac, for_us, io);
        }
        if op == arp::Operation::Request && for_us {
            let Some(info) = self.dir.port(port) else {
                return Action::Drop(DropReason::ArpNotForUs);
            };
            forward::arp_reply_in_place(frame, info.mac);
            self.stats.arp_replies += 1;
            return Action::Reply;
        }
        if op == arp::Operation::Reply && for_us {
            // A reply to one of our requests: learnt above.
            self.stats.arp_replies_received += 1;
            return Action::Consumed;
        }
        Action::Drop(DropReason::ArpNotForUs)
    }

    fn ipv4(&mut self, now: u64, port: PortIdx, frame: &mut [u8]) -> Action {
        let l3 = ethernet::HEADER_LEN;
        let ip = match ipv4::Packet::new_checked(&frame[l3..]) {
            Ok(ip) => ip,
            Err(e) => return Action::Drop(ipv4_error(e)),
        };
        if !ip.verify_checksum() {
            return Action::Drop(DropReason::Ipv4BadChecksum);
        }
        let (src, dst, proto) = (ip.src(), ip.dst(), ip.protocol());
        if src.is_multicast() || src.is_broadcast() || src.is_unspecified() || src.is_loopback() {
            return Action::Drop(DropReason::Ipv4BadSource);
        }
        if ip.is_fragment() {
            return Action::Drop(DropReason::Ipv4Fragment);
        }
        let payload = ip.payload();
        let at = ip.header_len();
        let l4 = match proto {
            ipv4::protocol::TCP => match tcp::Packet::new_checked(payload) {
                Ok(t) => L4 {
                    key: FlowKey {
                        proto,
                        src,
                        src_port: t.src_port(),
                        dst,
                        dst_port: t.dst_port(),
                    },
                    tcp_flags: t.flags().bits(),
                    at,
                },
                Err(_) => return Action::Drop(DropReason::TcpMalformed),
            },
            ipv4::protocol::UDP => match udp::Packet::new_checked(payload) {
                Ok(u) => L4 {
                    key: FlowKey {
                        proto,
                        src,
                        src_port: u.src_port(),
                        dst,
                        dst_port: u.dst_port(),
                    },
                    tcp_flags: 0,
                    at,
                },
                Err(_) => return Action::Drop(DropReason::UdpMalformed),
            },
            ipv4::protocol::ICMP => return self.icmp(now, port, frame, dst),
            _ => {
                return Action::Drop(if self.dir.local(dst).is_some() {
                    DropReason::LocalUnhandled
                } else {
                    DropReason::NoService
                })
            }
        };
        self.flow::<V4>(now, l4, frame)
    }

    /// A TCP/UDP packet of either family, parsed: find its connection (or its service and
    /// make one) and forward it. The path of both families from here on.
    fn flow<F: Family>(&mut self, now: u64, l4: L4<F::Key>, frame: &mut [u8]) -> Action {
        let (proto, src, _, dst, dport) = F::parts(&l4.key);
        if self.cfg.workers > 1 {
            // Every frame must reach the worker that owns its connection (see steer.rs);
            // count the ones that did not, which tests require to be zero.
            let owner = if F::is_lip(&self.dir, dst) {
                steer::lport_owner(dport, self.cfg.workers)
            } else if F::is_local(&self.dir, dst) {
                F::client_owner(src, self.cfg.workers)
            } else {
                F::client_owner(dst, self.cfg.workers)
            };
            if owner != self.cfg.id {
                self.stats.wrong_worker += 1;
            }
        }
        let mut hit = F::tables(self).conns.lookup(&l4.key);
        if let Some((id, _)) = hit {
            // A connection whose timer has run out is gone, even if the timer wheel (1 s
            // slots) has not reaped it yet: the packet meets the table as the kernel's would.
            let t = F::tables(self);
            if t.conns.get(id).is_some_and(|e| e.expires_ns <= now) {
                let gone = match t.conns.remove(id) {
                    Some(old) => {
                        retire(&old.data, &mut t.lips, &mut t.templates);
                        true
                    }
                    None => false,
                };
                if gone {
                    self.stats.conns_expired += 1;
                }
                hit = None;
            }
        }
        let svc = match hit {
            Some(_) => None,
            None => self.dir.find_service(proto, dst.into(), dport),
        };
        // rvs-replay reports a decision for TCP SYNs to a service (new or matching a
        // connection) and UDP datagrams without a connection.
        let decides = self.cfg.record_decisions
            && match hit {
                Some((_, dir)) => dir == Dir::Inbound && proto == ipv4::protocol::TCP,
                None => svc.is_some(),
            };
        // A SYN-proxy service decides on the client's cookie ACK, not on its SYN.
        let proxied = decides
            && hit.is_none()
            && proto == ipv4::protocol::TCP
            && svc
                .and_then(|si| self.dir.services.get(usize::from(si)))
                .is_some_and(|s| s.synproxy);
        self.last_real = None;
        let action = match (hit, svc) {
            (Some((id, dir)), _) => self.existing::<F>(now, id, dir, l4, frame),
            (None, Some(si)) => self.new_connection::<F>(now, si, l4, frame),
            (None, None) => Action::Drop(if F::is_local(&self.dir, dst) {
                DropReason::LocalUnhandled
            } else {
                DropReason::NoService
            }),
        };
        if proxied {
            // The SYN is answered by the director (no decision yet); the ACK that may open
            // the connection is the decision, or a refusal (bad cookie, no real server).
            let f = l4.tcp_flags & (tcp::Flags::SYN | tcp::Flags::ACK | tcp::Flags::RST);
            if f == tcp::Flags::ACK {
                let real = match action {
                    Action::Forward { .. } => self.last_real,
                    _ => None,
                };
                self.record_always::<F>(&l4, real);
            }
        } else if decides {
            let real = match action {
                Action::Forward { .. } => self.last_real,
                _ => None,
            };
            self.record::<F>(&l4, real);
        }
        action
    }

    /// ICMP for our own addresses: answer echo requests (RFC 792); anything else addressed to
    /// us is not handled here yet.
    fn icmp(&mut self, now: u64, port: PortIdx, frame: &mut [u8], dst: Ipv4Addr) -> Action {
        let l3 = ethernet::HEADER_LEN;
        let is_error = ipv4::Packet::new_checked(&frame[l3..])
            .ok()
            .and_then(|ip| {
                icmpv4::Packet::new_checked(ip.payload())
                    .ok()
                    .map(|i| i.is_error())
            })
            .unwrap_or(false);
        if is_error {
            return self.icmp_relay(now, frame);
        }
        if self.dir.local(dst).is_none() {
            return Action::Drop(DropReason::NoService);
        }
        let Some(info) = self.dir.port(port) else {
            return Action::Drop(DropReason::LocalUnhandled);
        };
        if forward::icmp_echo_reply_in_place(frame, info.mac) {
            self.stats.icmp_echo_replies += 1;
            Action::Reply
        } else {
            Action::Drop(DropReason::LocalUnhandled)
        }
    }

    /// An ICMP error (unreachable, time exceeded, …) quoting a packet of a tracked connection
    /// goes to that connection's other end, translated as the kernel's ip_vs_nat_icmp does:
    /// from the real server's side the outer source and the quoted destination become the
    /// VIP:vport; from the client's side the outer destination and the quoted source become
    /// the RIP:rport. DR and TUN pass the client's errors to the real server unchanged.
    fn icmp_relay(&mut self, now: u64, frame: &mut [u8]) -> Action {
        let l3 = ethernet::HEADER_LEN;
        if !forward::icmp_checksum_ok(&frame[l3..]) {
            return Action::Drop(DropReason::IcmpMalformed);
        }
        let Some(q) = forward::quoted_flow(&frame[l3..]) else {
            return Action::Drop(DropReason::IcmpMalformed);
        };
        // The quoted packet travelled the other way: its reverse is the key of this one.
        let key = FlowKey {
            proto: q.proto,
            src: q.dst,
            src_port: q.dst_port,
            dst: q.src,
            dst_port: q.src_port,
        };
        let Some((id, dir)) = self.t4.conns.lookup(&key) else {
            return Action::Drop(DropReason::IcmpNoConnection);
        };
        let Some(e) = self.t4.conns.get(id) else {
            return Action::Drop(DropReason::IcmpNoConnection);
        };
        if e.expires_ns <= now || !e.data.alive.load(Ordering::Relaxed) {
            return Action::Drop(DropReason::IcmpNoConnection);
        }
        let c = &e.data;
        let (method, vip, vport, rip, rport) = (c.method, c.vip, c.vport, c.rip, c.rport);
        let (lip, lport) = (c.lip, c.lport);
        let client = (e.in_key.src, e.in_key.src_port);
        self.stats.icmp_relayed += 1;
        match (method, dir) {
            (Method::Nat, Dir::Outbound) => {
                if !forward::decrement_ttl(&mut frame[l3..]) {
                    return Action::Drop(DropReason::TtlExceeded);
                }
                forward::icmp_translate(
                    &mut frame[l3..],
                    Some(vip),
                    None,
                    None,
                    Some((vip, vport)),
                );
                self.route_to(client.0)
            }
            (Method::Nat, Dir::Inbound) => {
                if !forward::decrement_ttl(&mut frame[l3..]) {
                    return Action::Drop(DropReason::TtlExceeded);
                }
                forward::icmp_translate(
                    &mut frame[l3..],
                    None,
                    Some(rip),
                    Some((rip, rport)),
                    None,
                );
                self.route_to(rip)
            }
            (Method::FullNat, Dir::Outbound) => {
                // About LIP:lport → RIP:rport: the client hears of its own packet to the VIP.
                if !forward::decrement_ttl(&mut frame[l3..]) {
                    return Action::Drop(DropReason::TtlExceeded);
                }
                forward::icmp_translate(
                    &mut frame[l3..],
                    Some(vip),
                    Some(client.0),
                    Some(client),
                    Some((vip, vport)),
                );
                self.route_to(client.0)
            }
            (Method::FullNat, Dir::Inbound) => {
                // About VIP:vport → CIP:cport: the RS hears of its own packet to the LIP.
                if !forward::decrement_ttl(&mut frame[l3..]) {
                    return Action::Drop(DropReason::TtlExceeded);
                }
                forward::icmp_translate(
                    &mut frame[l3..],
                    Some(lip),
                    Some(rip),
                    Some((rip, rport)),
                    Some((lip, lport)),
                );
                self.route_to(rip)
            }
            (Method::Dr, Dir::Inbound) => match self.dir.routes.lookup(rip) {
                Some(nh) => Action::Forward {
                    port: nh.port,
                    next_hop: rip.into(),
                    post: Post::None,
                },
                None => Action::Drop(DropReason::NoRoute),
            },
            (Method::Tun, Dir::Inbound) => {
                let Some(nh) = self.dir.routes.lookup(rip) else {
                    return Action::Drop(DropReason::NoRoute);
                };
                match self.dir.port(nh.port).and_then(|p| p.source_for(nh.addr)) {
                    Some(dip) => Action::Forward {
                        port: nh.port,
                        next_hop: nh.addr.into(),
                        post: Post::Encap(dip, rip),
                    },
                    None => Action::Drop(DropReason::NoSourceAddress),
                }
            }
            _ => Action::Drop(DropReason::IcmpNoConnection),
        }
    }

    /// Forward to `dst` by the routing table.
    fn route_to(&self, dst: Ipv4Addr) -> Action {
        match self.dir.routes.lookup(dst) {
            Some(nh) => Action::Forward {
                port: nh.port,
                next_hop: nh.addr.into(),
                post: Post::None,
            },
            None => Action::Drop(DropReason::NoRoute),
        }
    }

    /// A packet of a tracked connection: advance its state as IPVS does, re-arm its timer,
    /// rewrite it for its forwarding method.
    fn existing<F: Family>(
        &mut self,
        now: u64,
        id: ConnId,
        dir: Dir,
        l4: L4<F::Key>,
        frame: &mut [u8],
    ) -> Action {
        /// What the packet does to the connection's timer.
        enum Next {
            /// A SYN reopening a closed tuple: a new connection.
            Reuse,
            Tcp(TcpState),
            Udp,
        }
        if let Some(a) = self.synproxy_existing::<F>(now, id, dir, l4, frame) {
            return a;
        }
        let next = {
            let Some(e) = F::tables(self).conns.get_mut(id) else {
                return Action::Drop(DropReason::NoConnection);
            };
            if !e.data.alive.load(Ordering::Relaxed) {
                // ip_vs_in: the destination is no longer available; drop (expire_nodest_conn = 0).
                return Action::Drop(DropReason::RealServerRemoved);
            }
            match e.state {
                State::Tcp(cur) => {
                    let syn_only = l4.tcp_flags
                        & (tcp::Flags::SYN | tcp::Flags::ACK | tcp::Flags::RST)
                        == tcp::Flags::SYN;
                    if dir == Dir::Inbound && syn_only && state::is_reusable_by_syn(e.state) {
                        // A new SYN on a closed tuple starts a new connection that may go to
                        // another real server (IPVS conn_reuse_mode 1).
                        Next::Reuse
                    } else {
                        let sdir = match (e.data.method, dir) {
                            (Method::Dr | Method::Tun, _) => StateDir::InputOnly,
                            (_, Dir::Inbound) => StateDir::Input,
                            (_, Dir::Outbound) => StateDir::Output,
                        };
                        let next = state::tcp_next_state(cur, sdir, l4.tcp_flags);
                        if next != cur {
                            e.state = State::Tcp(next);
                            set_active(&mut e.data, state::is_active(e.state));
                        }
                        Next::Tcp(next)
                    }
                }
                State::Udp | State::Other => Next::Udp,
            }
        };
        let expires = match next {
            Next::Reuse => {
                let t = F::tables(self);
                let gone = match t.conns.remove(id) {
                    Some(old) => {
                        retire(&old.data, &mut t.lips, &mut t.templates);
                        true
                    }
                    None => false,
                };
                if gone {
                    self.stats.conns_expired += 1;
                }
                let (proto, _, _, dst, dport) = F::parts(&l4.key);
                return match self.dir.find_service(proto, dst.into(), dport) {
                    Some(si) => self.new_connection::<F>(now, si, l4, frame),
                    None => Action::Drop(DropReason::NoService),
                };
            }
            Next::Tcp(s) => now.saturating_add(self.cfg.timeouts.tcp(s)),
            Next::Udp => now.saturating_add(self.cfg.timeouts.udp),
        };
        let t = F::tables(self);
        t.conns.set_expiry(id, expires);
        let Some(e) = t.conns.get(id) else {
            return Action::Drop(DropReason::NoConnection);
        };
        let c = &e.data;
        let (_, client, cport, _, _) = F::parts(&e.in_key);
        let flow = Flow {
            method: c.method,
            client,
            cport,
            vip: c.vip,
            vport: c.vport,
            rip: c.rip,
            rport: c.rport,
            lip: c.lip,
            lport: c.lport,
            slot: c.slot,
        };
        let tr = c.syn;
        if tr.phase == Phase::Established {
            // SYN proxy: the two halves' sequence spaces differ by the cookie.
            if let Some(seg) = frame.get_mut(ethernet::HEADER_LEN + l4.at..) {
                match dir {
                    Dir::Inbound => tr.inbound(seg),
                    Dir::Outbound => tr.outbound(seg),
                }
            }
        }
        self.forward::<F>(flow, dir, l4, frame)
    }

    /// SYN proxy: the SYN the real server of connection `id` was sent, rebuilt from the
    /// connection and the client segment in `frame` (its sequence number less one is the
    /// client's ISN; the cookie holds the options).
    fn synproxy_syn_again<F: Family>(&mut self, id: ConnId, frame: &[u8]) -> Option<Resend> {
        let seen = F::segment_of(frame)?;
        let e = F::tables(self).conns.get(id)?;
        let c = &e.data;
        let (_, client, cport, _, _) = F::parts(&e.in_key);
        let (client, rip): (IpAddr, IpAddr) = (client.into(), c.rip.into());
        let (src, sport, toa) = match c.method {
            Method::FullNat => (c.lip.into(), c.lport, Some((client, cport))),
            _ => (client, cport, None),
        };
        let opts = synproxy::cookie_options(c.syn.delta);
        let (rport, window) = (c.rport, c.syn.syn_window());
        let syn = Segment {
            src,
            dst: rip,
            ttl: 64,
            sport,
            dport: rport,
            seq: seen.seq.wrapping_sub(1),
            ack: 0,
            flags: tcp::Flags::SYN,
            window,
            options: Some((opts, opts.wscale)),
        };
        match self.route_ip(rip) {
            Action::Forward { port, next_hop, .. } => Some(Resend {
                syn,
                toa,
                port,
                next_hop,
            }),
            _ => None,
        }
    }

    /// SYN proxy, a connection whose real server has not finished its handshake with the
    /// director (or retransmits its SYN-ACK): what becomes of the packet, or `None` for the
    /// usual path.
    fn synproxy_existing<F: Family>(
        &mut self,
        now: u64,
        id: ConnId,
        dir: Dir,
        l4: L4<F::Key>,
        frame: &mut [u8],
    ) -> Option<Action> {
        let c = &F::tables(self).conns.get(id)?.data;
        let phase = c.syn.phase;
        if phase == Phase::Off || !c.alive.load(Ordering::Relaxed) {
            // Not proxied, or its real server is gone (the usual path drops the packet).
            return None;
        }
        let f = l4.tcp_flags;
        let synack = f & (tcp::Flags::SYN | tcp::Flags::ACK | tcp::Flags::RST)
            == tcp::Flags::SYN | tcp::Flags::ACK;
        match (phase, dir) {
            (Phase::AwaitSynAck, Dir::Inbound) => {
                let resend = self.synproxy_syn_again::<F>(id, frame);
                let v6 = matches!(F::UNSPECIFIED.into(), IpAddr::V6(_));
                Some(Action::SynproxyHold(Held1 { id, v6 }, resend))
            }
            (_, Dir::Outbound) if synack => Some(self.synproxy_synack::<F>(now, id, frame)),
            (Phase::AwaitSynAck, Dir::Outbound) if f & tcp::Flags::RST != 0 => {
                // The real server refuses: the client hears the reset, its sequence number
                // put where the client expects the server's next one (cookie + 1).
                let seq = F::segment_of(frame)?.seq;
                let e = F::tables(self).conns.get_mut(id)?;
                // established() takes the server's ISN: one before the reset's number.
                e.data.syn.established(
                    seq.wrapping_sub(1),
                    &SynOptions {
                        mss: 0,
                        wscale: None,
                        sack: false,
                    },
                );
                self.stats.synproxy_server_resets += 1;
                None
            }
            (Phase::AwaitSynAck, Dir::Outbound) => {
                Some(Action::Drop(DropReason::SynproxyUnexpectedReply))
            }
            _ => None,
        }
    }

    /// The real server `svc`'s scheduler picks for a new connection.
    fn schedule<'s>(
        &mut self,
        si: u16,
        svc: &'s Service,
        input: &SchedInput,
        now: u64,
    ) -> Option<&'s RealServer> {
        let sched = self.scheds.get_mut(usize::from(si))?;
        sched
            .schedule(&svc.dests, input, now)
            .and_then(|i| svc.servers.get(i))
    }

    /// A packet for a service with no connection: schedule it (through the client's
    /// persistence template, if the service has one) and track the new connection.
    fn new_connection<F: Family>(
        &mut self,
        now: u64,
        si: u16,
        l4: L4<F::Key>,
        frame: &mut [u8],
    ) -> Action {
        let (proto, src, sport, dst, dport) = F::parts(&l4.key);
        let dir = Arc::clone(&self.dir);
        let Some(svc) = dir.services.get(usize::from(si)) else {
            return Action::Drop(DropReason::NoService);
        };
        // SYN proxy: a SYN is answered with a cookie; an ACK returning a valid one opens the
        // connection as a SYN would, and its frame becomes the SYN to the real server.
        let mut proxied: Option<(u32, SynOptions, Translate)> = None;
        if svc.synproxy && proto == ipv4::protocol::TCP {
            let f = l4.tcp_flags & (tcp::Flags::SYN | tcp::Flags::ACK | tcp::Flags::RST);
            if f == tcp::Flags::SYN {
                return self.synproxy_syn::<F>(now, l4, frame);
            }
            if f != tcp::Flags::ACK {
                return Action::Drop(DropReason::NoConnection);
            }
            let Some(seen) = F::segment_of(frame) else {
                return Action::Drop(DropReason::NoConnection);
            };
            let tuple = synproxy::Tuple {
                client: src.into(),
                cport: sport,
                vip: dst.into(),
                vport: dport,
            };
            let cookie = seen.ack.wrapping_sub(1);
            let isn = seen.seq.wrapping_sub(1);
            let Some(opts) = synproxy::check_cookie(&dir.synproxy_secret, &tuple, isn, cookie, now)
            else {
                return Action::Drop(DropReason::SynproxyBadCookie);
            };
            self.stats.synproxy_cookies_valid += 1;
            if seen.payload_len > 0 {
                // The SYN made of this frame carries no data: the client sends it again
                // (DPVS would keep the frame until the real server answers).
                self.stats.synproxy_ack_data_lost += 1;
            }
            let tr = Translate::new(cookie, seen.window, &opts);
            proxied = Some((isn, opts, tr));
        }
        // The state machine sees the proxied connection open with its SYN to the real server.
        let tcp_flags = match proxied {
            Some(_) => tcp::Flags::SYN,
            None => l4.tcp_flags,
        };
        let state = if proto == ipv4::protocol::TCP {
            // IPVS schedules TCP only on a SYN (ip_vs_in → tcp_conn_schedule: th->syn && !rst).
            if tcp_flags & tcp::Flags::SYN == 0 || tcp_flags & tcp::Flags::RST != 0 {
                return Action::Drop(DropReason::NoConnection);
            }
            State::Tcp(TcpState::None)
        } else {
            State::Udp
        };
        if self.scheds.get(usize::from(si)).is_none() {
            return Action::Drop(DropReason::NoService);
        }
        let input = SchedInput {
            proto,
            src: src.into(),
            src_port: sport,
            dst: dst.into(),
            dst_port: dport,
        };
        let persistent = svc.persistence_ns > 0;
        let mut template = None;
        // Borrowed from the service (no reference counts touched) unless a template names it.
        let followed: RealServer;
        let rs: &RealServer = if persistent {
            let tkey = F::template_key(
                proto,
                src,
                svc.persistence_prefix,
                dst,
                svc.vport,
                svc.fwmark,
            );
            template = Some(tkey);
            match F::tables(self).templates.follow(&tkey, now) {
                Some(rs) => {
                    followed = rs;
                    &followed
                }
                None => {
                    let Some(rs) = self.schedule(si, svc, &input, now) else {
                        return Action::Drop(DropReason::NoRealServer);
                    };
                    if !F::tables(self)
                        .templates
                        .create(tkey, rs, svc.persistence_ns, now)
                    {
                        return Action::Drop(DropReason::ConnTableFull);
                    }
                    rs
                }
            }
        } else {
            match self.schedule(si, svc, &input, now) {
                Some(rs) => rs,
                None => return Action::Drop(DropReason::NoRealServer),
            }
        };
        // A real server of the other family cannot happen (rvs-config refuses it); were it
        // there, nothing could be forwarded to it.
        let Some(rip) = F::of(rs.ip) else {
            self.release_template::<F>(template.as_ref());
            return Action::Drop(DropReason::NoRealServer);
        };
        // ip_vs_sched_persist / ip_vs_schedule: the real server's port, unless it has none
        // (firewall-mark services keep the packet's port) or a persistent service takes a
        // port other than its own.
        let rport = if rs.port == 0 || (persistent && dport != svc.vport) {
            dport
        } else {
            rs.port
        };
        let method = rs.method;
        let (lip, lport) = if method == Method::FullNat {
            let lips: &[F::Addr] = if F::svc_lips(svc).is_empty() {
                F::route_port(&dir, rip)
                    .and_then(|p| dir.port(p))
                    .map_or(&[], |p| F::port_lips(p))
            } else {
                F::svc_lips(svc)
            };
            match F::tables(self).lips.take(lips) {
                Some(l) => l,
                None => {
                    self.release_template::<F>(template.as_ref());
                    return Action::Drop(DropReason::LipExhausted);
                }
            }
        } else {
            (F::UNSPECIFIED, 0)
        };
        let out_key = match method {
            // Replies come back through the director: track them by what the RS sends.
            Method::Nat => Some(F::key(proto, rip, rport, src, sport)),
            Method::FullNat => Some(F::key(proto, rip, rport, lip, lport)),
            Method::Dr | Method::Tun => None,
        };
        let state = match state {
            State::Tcp(s) => {
                let sdir = if out_key.is_some() {
                    StateDir::Input
                } else {
                    StateDir::InputOnly
                };
                State::Tcp(state::tcp_next_state(s, sdir, tcp_flags))
            }
            s => s,
        };
        let flow = Flow {
            method,
            client: src,
            cport: sport,
            vip: dst,
            vport: dport,
            rip,
            rport,
            lip,
            lport,
            slot: rs.slot,
        };
        self.stats.conns_created += 1;
        if let Some(t) = self.traffic.get_mut(rs.slot as usize) {
            t.conns += 1;
        }
        if svc.one_packet && proto == ipv4::protocol::UDP {
            // ipvsadm -o: every datagram is scheduled on its own; no connection is kept
            // (IP_VS_CONN_F_ONE_PACKET).
            if method == Method::FullNat {
                F::tables(self).lips.give_back(lip, lport);
            }
            self.release_template::<F>(template.as_ref());
            return self.forward::<F>(flow, Dir::Inbound, l4, frame);
        }
        let timeout = match state {
            State::Tcp(s) => self.cfg.timeouts.tcp(s),
            _ => self.cfg.timeouts.udp,
        };
        let active = state::is_active(state);
        let data = ConnData {
            method,
            vip: dst,
            vport: dport,
            rip,
            rport,
            lip,
            lport,
            counters: Arc::clone(&rs.counters),
            active,
            alive: Arc::clone(&rs.alive),
            template,
            slot: rs.slot,
            syn: proxied.map(|(_, _, tr)| tr).unwrap_or_default(),
        };
        if self.dir.drop_entry {
            let t = F::tables(self);
            if t.conns.len() >= t.conns.capacity() && self.drop_half_open::<F>() {
                self.stats.conns_dropped_half_open += 1;
            }
        }
        if let Err(e) =
            F::tables(self)
                .conns
                .insert(l4.key, out_key, state, now.saturating_add(timeout), data)
        {
            if method == Method::FullNat {
                F::tables(self).lips.give_back(lip, lport);
            }
            self.release_template::<F>(template.as_ref());
            self.stats.conns_created -= 1;
            return Action::Drop(match e {
                InsertError::Full => DropReason::ConnTableFull,
                InsertError::Exists => DropReason::ConnCollision,
            });
        }
        // ip_vs_bind_dest: the new connection counts for its real server (and may set its
        // overload flag at the upper threshold).
        rs.counters.bind(active);
        let action = self.forward::<F>(flow, Dir::Inbound, l4, frame);
        match (proxied, action) {
            (Some((isn, opts, tr)), Action::Forward { port, next_hop, .. }) => {
                // The client's ACK, rewritten for the method, becomes the SYN the client would
                // have sent: its ISN and the options its cookie kept (ip_vs_synproxy.c
                // syn_proxy_send_rs_syn).
                let Some(seen) = F::segment_of(frame) else {
                    return Action::Drop(DropReason::NoConnection);
                };
                let toa = match (method, flow.client.into()) {
                    (Method::FullNat, c) => Some((c, flow.cport)),
                    _ => None,
                };
                let seg = Segment {
                    src: seen.src,
                    dst: seen.dst,
                    ttl: seen.ttl,
                    sport: seen.sport,
                    dport: seen.dport,
                    seq: isn,
                    ack: 0,
                    flags: tcp::Flags::SYN,
                    window: tr.syn_window(),
                    options: Some((opts, opts.wscale)),
                };
                Action::Forward {
                    port,
                    next_hop,
                    post: Post::Build(seg, toa),
                }
            }
            (_, action) => action,
        }
    }

    /// SYN proxy: answer a client's SYN with a SYN-ACK from the VIP whose sequence number is
    /// a cookie (RFC 4987 §3.6; ip_vs_synproxy.c syn_proxy_syn_rcv); nothing is kept.
    fn synproxy_syn<F: Family>(&mut self, now: u64, l4: L4<F::Key>, frame: &[u8]) -> Action {
        let (_, src, sport, dst, dport) = F::parts(&l4.key);
        let Some(seen) = F::segment_of(frame) else {
            return Action::Drop(DropReason::NoConnection);
        };
        let tuple = synproxy::Tuple {
            client: src.into(),
            cport: sport,
            vip: dst.into(),
            vport: dport,
        };
        let opts = seen.syn_options;
        let cookie = synproxy::make_cookie(&self.dir.synproxy_secret, &tuple, seen.seq, &opts, now);
        let kept = opts.rounded();
        let seg = Segment {
            src: seen.dst,
            dst: seen.src,
            ttl: 64,
            sport: seen.dport,
            dport: seen.sport,
            seq: cookie,
            ack: seen.seq.wrapping_add(1),
            flags: tcp::Flags::SYN | tcp::Flags::ACK,
            // The real server announces its own window with its first segment.
            window: u16::MAX,
            options: Some((kept, kept.wscale.map(|_| synproxy::DIRECTOR_WSCALE))),
        };
        match self.route_ip(seen.src) {
            Action::Forward { port, next_hop, .. } => {
                self.stats.synproxy_cookies_sent += 1;
                Action::Forward {
                    port,
                    next_hop,
                    post: Post::Build(seg, None),
                }
            }
            other => other,
        }
    }

    /// SYN proxy: the real server's SYN-ACK (or a retransmission of it) to the director's
    /// SYN. Record its ISN, so that its sequence numbers can be translated from now on, and
    /// answer it with the ACK that completes its handshake; the client, established since its
    /// own ACK, never sees it (ip_vs_synproxy.c syn_proxy_reuse_skb / ack to the RS).
    fn synproxy_synack<F: Family>(&mut self, now: u64, id: ConnId, frame: &[u8]) -> Action {
        let Some(seen) = F::segment_of(frame) else {
            return Action::Drop(DropReason::SynproxyUnexpectedReply);
        };
        let timeouts = self.cfg.timeouts;
        let t = F::tables(self);
        let Some(e) = t.conns.get_mut(id) else {
            return Action::Drop(DropReason::NoConnection);
        };
        let mut done = false;
        let mut expiry = None;
        if e.data.syn.phase == Phase::AwaitSynAck {
            e.data.syn.established(seen.seq, &seen.syn_options);
            // IPVS states as if both segments had passed: the RS's SYN-ACK (output), then
            // the client's ACK (input) that the director sends in its name.
            if let State::Tcp(cur) = e.state {
                let n =
                    state::tcp_next_state(cur, StateDir::Output, tcp::Flags::SYN | tcp::Flags::ACK);
                let n = state::tcp_next_state(n, StateDir::Input, tcp::Flags::ACK);
                e.state = State::Tcp(n);
                set_active(&mut e.data, state::is_active(e.state));
                expiry = Some(now.saturating_add(timeouts.tcp(n)));
            }
            done = true;
        }
        let window = e.data.syn.window_to_server(e.data.syn.client_window);
        if let Some(x) = expiry {
            t.conns.set_expiry(id, x);
        }
        if done {
            self.stats.synproxy_handshakes += 1;
            self.sp_release = Some(Held1 {
                id,
                v6: matches!(F::UNSPECIFIED.into(), IpAddr::V6(_)),
            });
        }
        let seg = Segment {
            src: seen.dst,
            dst: seen.src,
            ttl: 64,
            sport: seen.dport,
            dport: seen.sport,
            seq: seen.ack,
            ack: seen.seq.wrapping_add(1),
            flags: tcp::Flags::ACK,
            window,
            options: None,
        };
        match self.route_ip(seen.src) {
            Action::Forward { port, next_hop, .. } => Action::Forward {
                port,
                next_hop,
                post: Post::Build(seg, None),
            },
            other => other,
        }
    }

    /// IPVS's drop_entry defence (ip_vs_random_dropentry): with the table full, a randomly
    /// found half-open connection (SYN_RECV, SYNACK: what a flood of spoofed SYNs leaves)
    /// makes room for the new one. Probes a bounded number of random slots, so it costs little
    /// and fails when half-open connections are rare. True when one was dropped.
    fn drop_half_open<F: Family>(&mut self) -> bool {
        const PROBES: usize = 32;
        let mut x = self.rng;
        let t = F::tables(self);
        let cap = t.conns.capacity().max(1) as u64;
        for _ in 0..PROBES {
            // xorshift64: cheap and good enough to pick victims.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let id = ConnId::from_u32((x % cap) as u32);
            let half_open = t.conns.get(id).is_some_and(|e| {
                matches!(e.state, State::Tcp(TcpState::SynRecv | TcpState::Synack))
            });
            if half_open {
                if let Some(old) = t.conns.remove(id) {
                    retire(&old.data, &mut t.lips, &mut t.templates);
                    self.rng = x;
                    return true;
                }
            }
        }
        self.rng = x;
        false
    }

    fn release_template<F: Family>(&mut self, key: Option<&F::Key>) {
        if let Some(k) = key {
            F::tables(self).templates.release(k);
        }
    }

    /// Count the packet for its real server, then rewrite it for its family and method.
    fn forward<F: Family>(
        &mut self,
        f: Flow<F::Addr>,
        dir: Dir,
        l4: L4<F::Key>,
        frame: &mut [u8],
    ) -> Action {
        let bytes = frame.get(ethernet::HEADER_LEN..).map_or(0, F::ip_len);
        if let Some(t) = self.traffic.get_mut(f.slot as usize) {
            if dir == Dir::Inbound {
                t.in_packets += 1;
                t.in_bytes += bytes;
            } else {
                t.out_packets += 1;
                t.out_bytes += bytes;
            }
        }
        if dir == Dir::Inbound {
            self.last_real = Some((f.rip.into(), f.rport));
        }
        F::rewrite(self, f, dir, l4, frame)
    }

    /// Rewrite the IPv4 packet for the connection's forwarding method and direction; say
    /// where it goes next.
    fn rewrite4(
        &mut self,
        f: Flow<Ipv4Addr>,
        dir: Dir,
        l4: L4<FlowKey>,
        frame: &mut [u8],
    ) -> Action {
        let l3 = ethernet::HEADER_LEN;
        match (f.method, dir) {
            (Method::Nat, Dir::Inbound) => {
                // CIP:cport → VIP:vport becomes CIP:cport → RIP:rport.
                if !forward::decrement_ttl(&mut frame[l3..]) {
                    return Action::Drop(DropReason::TtlExceeded);
                }
                forward::nat_rewrite_dst(&mut frame[l3..], f.rip, f.rport);
                self.route_to(f.rip)
            }
            (Method::Nat, Dir::Outbound) => {
                // RIP:rport → CIP:cport becomes VIP:vport → CIP:cport.
                if !forward::decrement_ttl(&mut frame[l3..]) {
                    return Action::Drop(DropReason::TtlExceeded);
                }
                forward::nat_rewrite_src(&mut frame[l3..], f.vip, f.vport);
                self.route_to(f.client)
            }
            (Method::FullNat, Dir::Inbound) => {
                // CIP:cport → VIP:vport becomes LIP:lport → RIP:rport; the RS answers the LIP,
                // so it needs no route back to the client.
                if !forward::decrement_ttl(&mut frame[l3..]) {
                    return Action::Drop(DropReason::TtlExceeded);
                }
                forward::fullnat_rewrite_in(&mut frame[l3..], f.lip, f.lport, f.rip, f.rport);
                match self.route_to(f.rip) {
                    Action::Forward { port, next_hop, .. } => {
                        let syn = l4.key.proto == ipv4::protocol::TCP
                            && l4.tcp_flags & (tcp::Flags::SYN | tcp::Flags::ACK)
                                == tcp::Flags::SYN;
                        Action::Forward {
                            port,
                            next_hop,
                            post: if syn {
                                Post::Toa(f.client, f.cport)
                            } else {
                                Post::None
                            },
                        }
                    }
                    other => other,
                }
            }
            (Method::FullNat, Dir::Outbound) => {
                // RIP:rport → LIP:lport becomes VIP:vport → CIP:cport.
                if !forward::decrement_ttl(&mut frame[l3..]) {
                    return Action::Drop(DropReason::TtlExceeded);
                }
                forward::fullnat_rewrite_out(&mut frame[l3..], f.vip, f.vport, f.client, f.cport);
                self.route_to(f.client)
            }
            (Method::Dr, Dir::Inbound) => {
                // Only the Ethernet header changes: the frame goes to the RS's MAC, which
                // must be on a segment of one of our ports (ip_vs_dr_xmit).
                match self.dir.routes.lookup(f.rip) {
                    Some(nh) => Action::Forward {
                        port: nh.port,
                        next_hop: f.rip.into(),
                        post: Post::None,
                    },
                    None => Action::Drop(DropReason::NoRoute),
                }
            }
            (Method::Tun, Dir::Inbound) => self.tunnel(f.rip, l4, frame),
            // DR and TUN replies do not pass the director; there is no outbound key for them.
            (Method::Dr | Method::Tun, Dir::Outbound) => Action::Drop(DropReason::NoService),
        }
    }

    /// TUN (ip_vs_tunnel_xmit): the client's packet, unchanged, goes to the RS inside an
    /// outer IPv4 header DIP → RIP (RFC 2003), routed like any packet to the RIP. What would
    /// not fit the port's MTU once wrapped is answered with "fragmentation needed" when DF is
    /// set (RFC 1191), and SYNs get their MSS clamped so that most flows never get there.
    fn tunnel(&mut self, rip: Ipv4Addr, l4: L4<FlowKey>, frame: &mut [u8]) -> Action {
        let l3 = ethernet::HEADER_LEN;
        let Some(nh) = self.dir.routes.lookup(rip) else {
            return Action::Drop(DropReason::NoRoute);
        };
        let Some(info) = self.dir.port(nh.port) else {
            return Action::Drop(DropReason::NoRoute);
        };
        let Some(dip) = info.source_for(nh.addr) else {
            return Action::Drop(DropReason::NoSourceAddress);
        };
        let mtu = usize::from(info.mtu);
        let Ok(ip) = ipv4::Packet::new_checked(&frame[l3..]) else {
            return Action::Drop(DropReason::Ipv4Truncated);
        };
        let total = usize::from(ip.total_len());
        if total + ipip::OVERHEAD > mtu {
            if ip.dont_frag() {
                let fits = (mtu - ipip::OVERHEAD) as u16;
                let [a, b] = fits.to_be_bytes();
                return Action::IcmpError {
                    msg_type: icmpv4::DEST_UNREACHABLE,
                    code: icmpv4::FRAG_NEEDED,
                    rest: [0, 0, a, b],
                };
            }
            return Action::Drop(DropReason::TunnelTooBig);
        }
        if l4.key.proto == ipv4::protocol::TCP && l4.tcp_flags & tcp::Flags::SYN != 0 {
            // Room for the outer header, the inner IP header and a TCP header.
            let max_mss = (mtu - ipip::OVERHEAD - 40) as u16;
            if let Ok(mut ip) = ipv4::Packet::new_checked(&mut frame[l3..]) {
                if let Ok(mut t) = tcp::Packet::new_checked(ip.payload_mut()) {
                    t.clamp_mss(max_mss);
                }
            }
        }
        Action::Forward {
            port: nh.port,
            next_hop: nh.addr.into(),
            post: Post::Encap(dip, rip),
        }
    }

    /// Insert the TOA option into the SYN in `pkt`; without room for it the SYN goes on
    /// without (counted).
    fn add_toa(&mut self, pkt: &mut B, client: Ipv4Addr, cport: u16) {
        let l3 = ethernet::HEADER_LEN;
        let Some(total) = ipv4::Packet::new_checked(&pkt.data()[l3..])
            .ok()
            .map(|ip| usize::from(ip.total_len()))
        else {
            return;
        };
        let old_len = pkt.data().len();
        if pkt.set_len(l3 + total + forward::TOA_LEN)
            && forward::insert_toa(pkt.data_mut(), client, cport)
        {
            self.stats.toa_added += 1;
        } else {
            pkt.set_len(old_len);
            self.stats.toa_no_room += 1;
        }
    }

    /// Wrap the IP packet of `pkt` in an outer IPv4 header, moving the Ethernet header into
    /// the headroom. False when the buffer has no headroom for it.
    fn encapsulate(&mut self, pkt: &mut B, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        let eth = ethernet::HEADER_LEN;
        if !pkt.prepend(ipip::OVERHEAD) {
            return false;
        }
        let data = pkt.data_mut();
        data.copy_within(ipip::OVERHEAD..ipip::OVERHEAD + eth, 0);
        self.ident = self.ident.wrapping_add(1);
        ipip::encapsulate_in_place(&mut data[eth..], src, dst, self.ident).is_ok()
    }

    /// Send an ICMP error about the IPv4 packet in `pkt` back to its source, from the
    /// director's address facing it.
    fn icmp_error(
        &mut self,
        now: u64,
        pkt: &B,
        msg_type: u8,
        code: u8,
        rest: [u8; 4],
        io: &mut impl Io<B>,
    ) {
        let l3 = ethernet::HEADER_LEN;
        let offending = &pkt.data()[l3..];
        let Ok(orig) = ipv4::Packet::new_checked(offending) else {
            self.stats.drop(DropReason::Ipv4Truncated);
            return;
        };
        let dst = orig.src();
        let Some(nh) = self.dir.routes.lookup(dst) else {
            self.stats.drop(DropReason::NoRoute);
            return;
        };
        let Some(src) = self.dir.port(nh.port).and_then(|p| p.source_for(dst)) else {
            self.stats.drop(DropReason::NoSourceAddress);
            return;
        };
        let Some(mut out) = io.alloc() else {
            self.stats.drop(DropReason::NoBuffer);
            return;
        };
        // Ethernet + IPv4 + ICMP header + the offending header and 8 bytes (RFC 792).
        let quote = orig.header_len() + 8;
        let len = l3 + ipv4::HEADER_LEN + icmpv4::HEADER_LEN + quote;
        if !out.set_len(len) {
            self.stats.drop(DropReason::NoBuffer);
            return;
        }
        let buf = out.data_mut();
        buf[..l3].fill(0);
        buf[12..14].copy_from_slice(&ethernet::ethertype::IPV4.to_be_bytes());
        let Ok(icmp_len) = icmpv4::emit_error(
            &mut buf[l3 + ipv4::HEADER_LEN..],
            msg_type,
            code,
            rest,
            offending,
        ) else {
            self.stats.drop(DropReason::Ipv4Truncated);
            return;
        };
        self.ident = self.ident.wrapping_add(1);
        let repr = ipv4::Repr {
            src,
            dst,
            protocol: ipv4::protocol::ICMP,
            ttl: 64,
            payload_len: icmp_len as u16,
            ident: self.ident,
            dont_frag: false,
        };
        if repr.emit_into(&mut buf[l3..]).is_err() || !out.set_len(l3 + ipv4::HEADER_LEN + icmp_len)
        {
            self.stats.drop(DropReason::NoBuffer);
            return;
        }
        self.stats.icmp_errors_sent += 1;
        self.transmit(now, nh.port, nh.addr.into(), out, io);
    }

    /// Put the MACs on a forwarded frame and send it, or hold it until the next hop resolves
    /// (by ARP for IPv4, Neighbor Discovery for IPv6).
    fn transmit(
        &mut self,
        now: u64,
        port: PortIdx,
        next_hop: IpAddr,
        mut pkt: B,
        io: &mut impl Io<B>,
    ) {
        let Some(info) = self.dir.port(port) else {
            self.stats.drop(DropReason::NoRoute);
            return;
        };
        let mac = if self.cfg.synthetic_neighbours {
            let o = match next_hop {
                IpAddr::V4(a) => a.octets(),
                IpAddr::V6(a) => {
                    let o = a.octets();
                    [o[12], o[13], o[14], o[15]]
                }
            };
            Some(MacAddr([0x02, 0x00, o[0], o[1], o[2], o[3]]))
        } else {
            match next_hop {
                IpAddr::V4(a) => self.neigh.lookup(port, a),
                IpAddr::V6(a) => self.neigh6.lookup(port, a),
            }
        };
        if let Some(mac) = mac {
            forward::set_macs(pkt.data_mut(), mac, info.mac);
            emit(&self.dir, &mut self.stats, io, port, pkt);
            return;
        }
        let held = match next_hop {
            IpAddr::V4(a) => self.neigh.hold(port, a, pkt, now),
            IpAddr::V6(a) => self.neigh6.hold(port, a, pkt, now),
        };
        match held {
            Held::Queued { probe } => {
                self.stats.neighbour_held += 1;
                if probe {
                    match next_hop {
                        IpAddr::V4(a) => send_arp_request(&self.dir, &mut self.stats, io, port, a),
                        IpAddr::V6(a) => {
                            send_neighbor_solicit(&self.dir, &mut self.stats, io, port, a)
                        }
                    }
                }
            }
            Held::Full(_pkt) => self.stats.drop(DropReason::NeighbourQueueFull),
        }
    }
}

/// A fresh scheduler for `s` (the name was validated with the configuration; an unknown one
/// falls back to rr rather than fail on the data path).
fn new_scheduler(s: &crate::director::Service, worker: u16, now: u64) -> Box<dyn Scheduler> {
    let params = SchedParams {
        created_ns: now,
        // twos draws its own numbers in each worker.
        seed: 0x7276_735f_7477_6f73 ^ u64::from(worker),
        ..SchedParams::default()
    };
    rvs_sched::new_scheduler_with(&s.scheduler, s.sched_flags, &s.dests, &params)
        .or_else(|_| rvs_sched::new_scheduler("rr", SchedFlags::default(), &s.dests))
        .expect("rr is always known")
}

/// Tell `sched` how the list went from `old` to `new`, one change at a time as ipvsadm
/// commands would have made them: removals, then weight edits, then additions at the head.
/// Returns false when the result is not `new` in the kernel's order (the caller then starts a
/// fresh scheduler).
fn replay_dest_changes(old: &[Dest], new: &[Dest], sched: &mut dyn Scheduler) -> bool {
    let mut cur: Vec<Dest> = old.to_vec();
    let mut i = 0;
    while i < cur.len() {
        let id = cur[i].id;
        if new.iter().any(|d| d.id == id) {
            i += 1;
        } else {
            cur.remove(i);
            sched.update(&cur, Change::Removed(id));
        }
    }
    for i in 0..cur.len() {
        if let Some(n) = new.iter().find(|d| d.id == cur[i].id) {
            if n.weight != cur[i].weight {
                cur[i] = n.clone();
                sched.update(&cur, Change::Edited(n.id));
            }
        }
    }
    for d in new.iter().rev() {
        if !cur.iter().any(|c| c.id == d.id) {
            cur.insert(0, d.clone());
            sched.update(&cur, Change::Added(d.id));
        }
    }
    cur.len() == new.len() && cur.iter().zip(new).all(|(a, b)| a.id == b.id)
}

/// Keep a real server's active/inactive counts in step with its connection's state
/// (IPVS set_tcp_state: leaving ESTABLISHED moves it to inactive and back).
fn set_active<A, K>(c: &mut ConnData<A, K>, active: bool) {
    if c.active != active {
        c.counters.move_active(active);
        c.active = active;
    }
}

/// A connection is gone: its real server no longer counts it and its overload flag may clear
/// (ip_vs_unbind_dest), its FullNAT local port goes back to the pool, and its persistence
/// template controls one connection less.
fn retire<A: Copy + PartialEq, K: Key>(
    c: &ConnData<A, K>,
    lips: &mut LipPool<A>,
    templates: &mut Templates<K>,
) {
    c.counters.unbind(c.active);
    if c.method == Method::FullNat {
        lips.give_back(c.lip, c.lport);
    }
    if let Some(t) = &c.template {
        templates.release(t);
    }
}

/// Expire one family's connections (at most `budget`) and templates.
fn expire_tables<F: Family>(
    t: &mut Tables<F>,
    now: u64,
    budget: usize,
    exact: bool,
    stats: &mut Stats,
) {
    let Tables {
        conns,
        templates,
        lips,
    } = t;
    let retire_one = |_, e: rvs_conn::Entry<_, _>| {
        retire(&e.data, lips, templates);
        stats.conns_expired += 1;
    };
    if exact {
        conns.expire_exact(now, budget, retire_one);
    } else {
        conns.expire(now, budget, retire_one);
    }
    templates.expire(now);
}

/// Broadcast an ARP request for `target` from `port`.
fn send_arp_request<B: PacketBuf>(
    dir: &Director,
    stats: &mut Stats,
    io: &mut impl Io<B>,
    port: PortIdx,
    target: Ipv4Addr,
) {
    let Some(info) = dir.port(port) else {
        stats.drop(DropReason::NoRoute);
        return;
    };
    let Some(src_ip) = info.source_for(target) else {
        stats.drop(DropReason::NoSourceAddress);
        return;
    };
    let Some(mut buf) = io.alloc() else {
        stats.drop(DropReason::NoBuffer);
        return;
    };
    if !buf.set_len(forward::ARP_FRAME_LEN) {
        stats.drop(DropReason::NoBuffer);
        return;
    }
    forward::build_arp_request(buf.data_mut(), info.mac, src_ip, target);
    stats.arp_requests += 1;
    emit(dir, stats, io, port, buf);
}

/// Send a frame out of `port`, with the port's 802.1Q tag when it has one (IEEE 802.1Q: the
/// 4-byte tag goes between the source MAC and the EtherType).
fn emit<B: PacketBuf>(
    dir: &Director,
    stats: &mut Stats,
    io: &mut impl Io<B>,
    port: PortIdx,
    mut pkt: B,
) {
    if let Some(vid) = dir.port(port).and_then(|p| p.vlan) {
        if !pkt.prepend(vlan::HEADER_LEN) {
            stats.drop(DropReason::NoHeadroom);
            return;
        }
        let data = pkt.data_mut();
        data.copy_within(vlan::HEADER_LEN..vlan::HEADER_LEN + 12, 0);
        data[12..14].copy_from_slice(&ethernet::ethertype::VLAN.to_be_bytes());
        data[14..16].copy_from_slice(&(vid & 0x0fff).to_be_bytes());
    }
    stats.tx_frames += 1;
    io.send(port, pkt);
}

/// Take the 802.1Q tag off a frame received on a VLAN port: true when it carried the port's
/// VLAN id (and is now untagged), false otherwise.
fn untag<B: PacketBuf>(pkt: &mut B, vid: u16) -> bool {
    let data = pkt.data();
    if data.len() < ethernet::HEADER_LEN + vlan::HEADER_LEN
        || data[12..14] != ethernet::ethertype::VLAN.to_be_bytes()
        || u16::from_be_bytes([data[14], data[15]]) & 0x0fff != vid
    {
        return false;
    }
    pkt.data_mut().copy_within(0..12, vlan::HEADER_LEN);
    pkt.adj(vlan::HEADER_LEN)
}

fn ipv4_error(e: rvs_wire::Error) -> DropReason {
    match e {
        rvs_wire::Error::BadVersion => DropReason::Ipv4BadVersion,
        rvs_wire::Error::BadHeaderLen => DropReason::Ipv4BadHeaderLen,
        rvs_wire::Error::BadTotalLen => DropReason::Ipv4BadTotalLen,
        _ => DropReason::Ipv4Truncated,
    }
}

/// Add `key` to a batch of [`Worker::prefetch`]; a full batch is prefetched and emptied.
fn batch<T, K: Key, const N: usize>(
    conns: &ConnTable<T, K>,
    keys: &mut [K; N],
    n: &mut usize,
    key: K,
) {
    if let Some(slot) = keys.get_mut(*n) {
        *slot = key;
        *n += 1;
    }
    if *n == N {
        conns.prefetch(keys);
        *n = 0;
    }
}

/// A frame's connection-table key, for [`Worker::prefetch`].
enum FrameKey {
    V4(FlowKey),
    V6(FlowKey6),
}

/// The TCP/UDP 5-tuple of a frame (after one optional 802.1Q tag) as the connection tables key
/// it, or None for anything else; parsed as `steer::owner` does, no further validation.
fn flow_key(frame: &[u8]) -> Option<FrameKey> {
    let frame = match frame.get(12..14) {
        Some(t) if t == ethernet::ethertype::VLAN.to_be_bytes() => frame.get(4..)?,
        _ => frame,
    };
    let eth = ethernet::Frame::new_checked(frame).ok()?;
    let is_l4 = |proto: u8| proto == ipv4::protocol::TCP || proto == ipv4::protocol::UDP;
    match eth.ethertype() {
        ethernet::ethertype::IPV4 => {
            let ip = ipv4::Packet::new_checked(eth.payload()).ok()?;
            let proto = ip.protocol();
            if !is_l4(proto) {
                return None;
            }
            let (src_port, dst_port) = rvs_wire::l4_ports(ip.payload(), 0)?;
            Some(FrameKey::V4(FlowKey {
                proto,
                src: ip.src(),
                src_port,
                dst: ip.dst(),
                dst_port,
            }))
        }
        ethernet::ethertype::IPV6 => {
            let bytes = eth.payload();
            let ip = ipv6::Packet::new_checked(bytes).ok()?;
            let (proto, at) = forward6::upper_layer(bytes).ok()?;
            if !is_l4(proto) {
                return None;
            }
            let (src_port, dst_port) = rvs_wire::l4_ports(bytes, at)?;
            Some(FrameKey::V6(FlowKey6 {
                proto,
                src: ip.src(),
                src_port,
                dst: ip.dst(),
                dst_port,
            }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_conn::Entry;

    /// Memory per connection, the part the engine decides: the table's entry (keys, state,
    /// expiry and `ConnData`). IPv4 entries stay as they were before IPv6 (addresses of the
    /// family's size, in a table of their own); IPv6 entries pay for 128-bit addresses.
    /// The SYN proxy's state (`Translate`) costs 8 bytes in both. The table adds 20 bytes of
    /// links and about 21 bytes of index per connection.
    #[test]
    fn entry_sizes_per_family() {
        use std::mem::size_of;
        assert_eq!(size_of::<ConnData>(), 64);
        assert_eq!(size_of::<Option<Entry<ConnData, FlowKey>>>(), 104);
        assert_eq!(size_of::<ConnData6>(), 128);
        assert_eq!(size_of::<Option<Entry<ConnData6, FlowKey6>>>(), 216);
    }
}
