//! The IPVS schedulers behind one trait, making the Linux kernel's decisions exactly.
//!
//! Each scheduler reproduces its `net/netfilter/ipvs/ip_vs_<name>.c`: the same scan order over
//! the service's real servers, the same skip rules (weight 0 = quiescent, `IP_VS_DEST_F_OVERLOAD`),
//! the same integer comparisons and tie-breaks, the same cursor behaviour on add/remove/edit, the
//! same 256-bucket hash tables for `sh` and `dh`, the same 4093-slot Maglev table with the
//! kernel's fixed hash keys for `mh`, the same locality tables and garbage collection for
//! `lblc`/`lblcr`, and the same draws for `twos` given the same random numbers.
//!
//! # The real-server list
//! The kernel keeps a service's real servers in a linked list and adds new ones at its head
//! (`list_add_rcu(&dest->n_list, &svc->destinations)` in `ip_vs_ctl.c` `__ip_vs_update_dest`).
//! Every scheduler scans that list from the head, so the order decides ties and who comes first.
//! Here the list is a slice in the same order: **index 0 = the most recently added real server**.
//! Whoever owns the service inserts a new real server at index 0, removes in place, edits in place,
//! and tells each scheduler instance with [`Scheduler::update`] — one call per change, `dests`
//! being the list right after that change, as the kernel's `add_dest`/`del_dest`/`upd_dest` hooks.
//!
//! A real server present in the slice is "available" (`IP_VS_DEST_F_AVAILABLE`); the kernel clears
//! that flag only when it unlinks the server from the list.
//!
//! # Several workers
//! An instance is owned by one worker for one service: no locks, no allocation in
//! [`Scheduler::schedule`]. What that means for each scheduler when a service runs on several
//! workers (each with its own instance over the same list):
//!
//! | scheduler | with several workers |
//! |---|---|
//! | `rr`, `wrr` | round-robin *per worker*: each worker walks its own cursor (and `wrr` its own weight threshold) over the same list, so the global sequence interleaves the workers' sequences; shares over time are the kernel's, the exact order is not |
//! | `lc`, `wlc`, `sed`, `nq`, `ovf`, `twos` | read the connection counts every worker shares ([`DestCounters`], relaxed atomics): the same choice as the kernel for the counts seen at that instant (every change any worker logged before the decision); two workers deciding at the same instant may both pick the least loaded server, as two CPUs may in the kernel |
//! | `fo` | stateless, reads weights and the shared overload flag: identical on every worker |
//! | `sh`, `dh`, `mh` | pure functions of the list and the packet: every worker makes the same decision for the same packet, the kernel's |
//! | `lblc`, `lblcr` | the destination-address tables are **per worker**: a destination whose connections land on several workers gets an entry on each, possibly naming different servers; each table collects its own garbage on the same 60 s grid. To get the kernel's single table, steer by destination address (or run the service on one worker) |
//! | `twos` | each worker draws from its own generator; seed them differently ([`SchedParams::seed`]) |
//!
//! The overload flag and the `-x`/`-y` thresholds are shared through [`DestCounters`] and kept
//! by [`bind_dest`], [`unbind_dest`] and [`move_active`]; every worker sees a server overloaded
//! as soon as any worker's connection crosses the upper threshold.
//!
//! # What each scheduler hashes on
//! For persistence templates and connection steering: `sh` and `mh` hash the client address
//! ([`SchedInput::src`], with the client port under `sh-port`/`mh-port`); `dh`, `lblc` and
//! `lblcr` key on the packet's destination address ([`SchedInput::dst`]). The others look at
//! no address.
//!
//! # Time
//! Only `lblc` and `lblcr` read the clock: their garbage collection timer fires every 60 s from
//! the creation time given in [`SchedParams::created_ns`] (see [`new_scheduler_with`]); timers
//! due at or before the `now` of a [`Scheduler::schedule`] or [`Scheduler::gc`] call fire first.
//!
//! # Cost
//! `rr`, `wrr`, `sh`, `dh`, `mh`, `lblc` and `lblcr` decide in a few nanoseconds whatever the
//! number of real servers (`wrr` may walk the list up to max weight / gcd times when its heavy
//! servers are overloaded). The kernel's `lc`, `wlc`, `sed`, `nq`, `fo`, `ovf` and `twos` scan
//! every server's counters on each decision; rvs makes the same decisions from structures kept
//! up to date instead: a tournament tree whose root is the scan's winner (`lc` ... `ovf`) and
//! prefix sums of the usable weights (`twos`). Every change of a server's counts or overload
//! flag goes to its service's load log ([`watch_loads`]); before deciding, each scheduler
//! instance replays the entries it has not seen, O(log n) each. A service whose servers are not
//! in one log (or, for `wlc`, a weight-0 server whose `int` overhead has overflowed) is scanned
//! as the kernel does. Measured in `bench/sched/results.md`; the structures are checked against
//! the literal scans on random histories (`fast_model.rs`).
//!
//! The price is paid where loads change: each bind, unbind or state move appends one entry to
//! the service's log (one atomic add on a line shared by the workers serving the service).
//!
//! # No destination
//! [`Scheduler::schedule`] returns `None` where the kernel returns NULL after
//! `ip_vs_scheduler_err(svc, "no destination available")`; the packet is then dropped. The caller
//! counts that drop; nothing is logged here (the kernel rate-limits its message).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

mod dh;
mod fo;
mod hash;
mod lblc;
mod least;
mod load;
mod mh;
mod ovf;
mod rr;
mod sh;
mod siphash;
mod tourney;
mod twos;
mod wrr;

pub use load::{reads_loads, watch_loads};
pub use twos::{RandomSource, SplitMix64};

#[cfg(test)]
mod fast_model;
#[cfg(test)]
mod locality_model;
#[cfg(test)]
mod model;
#[cfg(test)]
mod scan_model;
#[cfg(test)]
mod testutil;

/// Connection counts, thresholds and the overload flag of one real server, shared by all
/// workers (relaxed atomics touched only at connection setup, state change and expiry, and by
/// the control thread on `ipvsadm -a/-e`).
///
/// Mirrors `activeconns`, `inactconns`, `persistconns`, `u_threshold`, `l_threshold` and the
/// `IP_VS_DEST_F_OVERLOAD` bit of the kernel's `struct ip_vs_dest`. The thresholds live here and
/// not in [`Dest`] because a connection outlives its real server's place in the service (the
/// kernel keeps a removed `ip_vs_dest` in its trash while connections point at it) and must
/// still clear the flag when it ends: a connection keeps an `Arc<DestCounters>`, not a `Dest`.
///
/// The engine changes the counts only through [`DestCounters::bind`],
/// [`DestCounters::unbind`], [`DestCounters::move_active`] and the template variants (or the
/// free functions [`bind_dest`], [`unbind_dest`], [`move_active`]), which keep the flag in step
/// with the thresholds exactly as `ip_vs_conn.c` does.
// One cache line of its own: workers write different servers' counters at the same time, and
// a scan reads each server's line once.
#[derive(Debug)]
#[repr(align(64))]
pub struct DestCounters {
    /// Connections in an active state (TCP ESTABLISHED): `activeconns`.
    pub active: AtomicU32,
    /// Other connections (TCP handshake and closing states, UDP): `inactconns`.
    pub inactive: AtomicU32,
    /// Persistence templates pointing at this server: `persistconns` (not read by schedulers).
    pub persistent: AtomicU32,
    /// `IP_VS_DEST_F_OVERLOAD`.
    overloaded: AtomicBool,
    /// `ipvsadm -x`: 0 = no upper threshold.
    u_threshold: AtomicU32,
    /// `ipvsadm -y`: 0 = three quarters of the upper threshold.
    l_threshold: AtomicU32,
    /// `dest->last_weight`: the last non-zero weight (the weight given on add, even 0), which
    /// `mh` fills its table with so that quiescing a server does not reshuffle the table.
    /// `i32::MIN` = not recorded yet.
    last_weight: AtomicI32,
    /// The service's load log this server reports its changes to (see [`watch_loads`]).
    watch: OnceLock<load::Watch>,
}

impl DestCounters {
    /// Counters starting at the given values (persistent at 0, no thresholds, not overloaded).
    pub const fn new(active: u32, inactive: u32) -> Self {
        Self {
            active: AtomicU32::new(active),
            inactive: AtomicU32::new(inactive),
            persistent: AtomicU32::new(0),
            overloaded: AtomicBool::new(false),
            u_threshold: AtomicU32::new(0),
            l_threshold: AtomicU32::new(0),
            last_weight: AtomicI32::new(i32::MIN),
            watch: OnceLock::new(),
        }
    }

    /// Tell the load-aware schedulers that this server's counts or flag changed.
    fn changed(&self) {
        if let Some(w) = self.watch.get() {
            w.log.push(w.key);
        }
    }

    /// Active connections now.
    pub fn active(&self) -> u32 {
        self.active.load(Ordering::Relaxed)
    }

    /// Inactive connections now.
    pub fn inactive(&self) -> u32 {
        self.inactive.load(Ordering::Relaxed)
    }

    /// Set both counts (tests, replay tools). Leaves the overload flag alone.
    pub fn set(&self, active: u32, inactive: u32) {
        self.active.store(active, Ordering::Relaxed);
        self.inactive.store(inactive, Ordering::Relaxed);
        self.changed();
    }

    /// `ip_vs_dest_totalconns`: active + inactive (templates do not count), in the kernel's
    /// wrapping `int` arithmetic read as unsigned, as the threshold comparisons read it.
    pub fn total(&self) -> u32 {
        self.active().wrapping_add(self.inactive())
    }

    /// `IP_VS_DEST_F_OVERLOAD`: the server gets no new connections from any scheduler.
    pub fn is_overloaded(&self) -> bool {
        self.overloaded.load(Ordering::Relaxed)
    }

    /// Force the overload flag (tests, replay tools). The thresholds set and clear it by
    /// themselves through [`DestCounters::bind`] and [`DestCounters::unbind`].
    pub fn set_overloaded(&self, on: bool) {
        self.overloaded.store(on, Ordering::Relaxed);
        self.changed();
    }

    /// The upper and lower connection thresholds (`ipvsadm -x`, `-y`).
    pub fn thresholds(&self) -> (u32, u32) {
        (
            self.u_threshold.load(Ordering::Relaxed),
            self.l_threshold.load(Ordering::Relaxed),
        )
    }

    /// `ipvsadm -a/-e ... -x upper -y lower`, as `__ip_vs_update_dest` (ip_vs_ctl.c): the flag
    /// is cleared when the new upper threshold is 0 or higher than the old one, and otherwise
    /// left alone until the next connection is bound or unbound (lowering `-x` below the current
    /// count does not set it at once).
    pub fn set_thresholds(&self, upper: u32, lower: u32) {
        let old_upper = self.u_threshold.load(Ordering::Relaxed);
        if upper == 0 || upper > old_upper {
            self.overloaded.store(false, Ordering::Relaxed);
        }
        self.u_threshold.store(upper, Ordering::Relaxed);
        self.l_threshold.store(lower, Ordering::Relaxed);
        self.changed();
    }

    /// A new connection to this server (`ip_vs_bind_dest`, ip_vs_conn.c): counted as active or
    /// inactive, then the flag is set when `u_threshold != 0 && total >= u_threshold`.
    pub fn bind(&self, active: bool) {
        let c = if active { &self.active } else { &self.inactive };
        c.fetch_add(1, Ordering::Relaxed);
        self.check_upper();
        self.changed();
    }

    /// A persistence template bound to this server (`ip_vs_bind_dest` with
    /// `IP_VS_CONN_F_TEMPLATE`): `persistconns` + 1, and the same upper-threshold test (which
    /// does not count templates, so it only catches up with earlier changes).
    pub fn bind_template(&self) {
        self.persistent.fetch_add(1, Ordering::Relaxed);
        if self.check_upper() {
            self.changed();
        }
    }

    /// A connection to this server ended (`ip_vs_unbind_dest`, ip_vs_conn.c): uncounted from
    /// active or inactive as it was last counted, then the flag is cleared by the lower
    /// threshold rule ([`DestCounters::unbind_template`] for templates).
    pub fn unbind(&self, was_active: bool) {
        let c = if was_active {
            &self.active
        } else {
            &self.inactive
        };
        c.fetch_sub(1, Ordering::Relaxed);
        self.check_lower();
        self.changed();
    }

    /// A persistence template expired (`ip_vs_unbind_dest` with `IP_VS_CONN_F_TEMPLATE`).
    pub fn unbind_template(&self) {
        self.persistent.fetch_sub(1, Ordering::Relaxed);
        if self.check_lower() {
            self.changed();
        }
    }

    /// A connection changed between active and inactive (`set_tcp_state` in
    /// ip_vs_proto_tcp.c moves one count across). The total does not change, so neither does
    /// the flag; calling with the state it already had is the caller's bug and is not checked.
    pub fn move_active(&self, now_active: bool) {
        let (from, to) = if now_active {
            (&self.inactive, &self.active)
        } else {
            (&self.active, &self.inactive)
        };
        from.fetch_sub(1, Ordering::Relaxed);
        to.fetch_add(1, Ordering::Relaxed);
        self.changed();
    }

    /// End of `ip_vs_bind_dest`. True when it set the flag.
    fn check_upper(&self) -> bool {
        let u = self.u_threshold.load(Ordering::Relaxed);
        // `ip_vs_dest_totalconns(dest) >= dest->u_threshold`: int against __u32, unsigned.
        let set = u != 0 && self.total() >= u;
        if set {
            self.overloaded.store(true, Ordering::Relaxed);
        }
        set
    }

    /// End of `ip_vs_unbind_dest`: with a lower threshold, clear below it; without one, clear
    /// below three quarters of the upper (`total * 4 < u * 3`, both in 32-bit unsigned
    /// arithmetic as the kernel's int/u32 mix); with neither, clear. True when it cleared it.
    fn check_lower(&self) -> bool {
        let (u, l) = self.thresholds();
        let clear = if l != 0 {
            self.total() < l
        } else if u != 0 {
            self.total().wrapping_mul(4) < u.wrapping_mul(3)
        } else {
            true
        };
        if clear {
            self.overloaded.store(false, Ordering::Relaxed);
        }
        clear
    }

    /// `last_weight` for `mh`: record `weight` when it is not 0 (or always, for a server just
    /// added), and return the weight to fill the table with.
    pub(crate) fn note_last_weight(&self, weight: i32, added: bool) -> i32 {
        if added || weight != 0 {
            self.last_weight.store(weight, Ordering::Relaxed);
            return weight;
        }
        match self.last_weight.load(Ordering::Relaxed) {
            // Never seen with a weight: the kernel would have recorded the weight it was added
            // with; 0 is the weight we see.
            i32::MIN => 0,
            w => w,
        }
    }
}

impl Default for DestCounters {
    fn default() -> Self {
        Self::new(0, 0)
    }
}

/// [`DestCounters::bind`] for the real server `d`: a new connection, active (TCP ESTABLISHED at
/// once, as a synced connection) or not (a TCP SYN, UDP). Sets the overload flag at the upper
/// threshold (`ip_vs_bind_dest`).
pub fn bind_dest(d: &Dest, active: bool) {
    d.counters.bind(active);
}

/// [`DestCounters::unbind`] for the real server `d`: a connection that was counted active
/// (`was_active`) or inactive has ended. Clears the overload flag by the lower threshold
/// (`ip_vs_unbind_dest`).
pub fn unbind_dest(d: &Dest, was_active: bool) {
    d.counters.unbind(was_active);
}

/// [`DestCounters::move_active`] for the real server `d`: a connection entered
/// (`now_active`) or left TCP ESTABLISHED.
pub fn move_active(d: &Dest, now_active: bool) {
    d.counters.move_active(now_active);
}

/// One real server as the scheduler sees it. The service keeps its real servers in a slice in the
/// kernel's list order: index 0 = most recently added (`list_add_rcu` at the head).
#[derive(Clone, Debug)]
pub struct Dest {
    /// Stable identity across updates (the cursors of `rr`/`wrr`, the `sh`/`dh`/`mh` tables and
    /// the `lblc`/`lblcr` caches refer to real servers by it). A real server removed and added
    /// again with the same address and port should get its old id back, as the kernel revives
    /// it from its trash.
    pub id: u32,
    /// The real server's address (RIP).
    pub addr: IpAddr,
    /// The real server's port.
    pub port: u16,
    /// `ipvsadm -w`: 0 quiesces the server (no new connections); never negative (the kernel
    /// rejects a negative weight).
    pub weight: i32,
    /// Connection counts, thresholds and the overload flag, shared by all workers.
    pub counters: Arc<DestCounters>,
}

impl Dest {
    /// A real server with fresh counters, no thresholds, not overloaded.
    pub fn new(id: u32, addr: IpAddr, port: u16, weight: i32) -> Self {
        Self {
            id,
            addr,
            port,
            weight,
            counters: Arc::default(),
        }
    }

    /// A real server with fresh counters and the connection thresholds `ipvsadm -x upper
    /// -y lower` (0 = none).
    pub fn with_thresholds(
        id: u32,
        addr: IpAddr,
        port: u16,
        weight: i32,
        upper: u32,
        lower: u32,
    ) -> Self {
        let d = Self::new(id, addr, port, weight);
        d.counters.set_thresholds(upper, lower);
        d
    }

    /// `dest->flags & IP_VS_DEST_F_OVERLOAD`, shared by all workers.
    pub fn is_overloaded(&self) -> bool {
        self.counters.is_overloaded()
    }
}

/// `ip_vs_dest_conn_overhead` (include/net/ip_vs.h): `(activeconns << 8) + inactconns`, an
/// active connection costing 256 inactive ones.
///
/// The kernel computes this in `int`; the bits are the same here (wrapping), and `wlc` reads them
/// back as a signed value exactly as the kernel does.
pub fn overhead(d: &Dest) -> u32 {
    (d.counters.active() << 8).wrapping_add(d.counters.inactive())
}

/// IP protocol numbers the schedulers look at (`sh-port` hashes ports of these only).
pub mod proto {
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// SCTP.
    pub const SCTP: u8 = 132;
}

/// What a scheduler may look at in the packet opening a new connection: the client's side as the
/// client sent it (CIP:port → VIP:port). For a header the kernel marks "inverse"
/// (`ip_vs_iph_inverse`), the caller swaps the sides before calling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedInput {
    /// IP protocol number ([`proto`]).
    pub proto: u8,
    /// Client address (CIP): `sh` hashes it.
    pub src: IpAddr,
    /// Client port: `sh` hashes it with `sh-port`.
    pub src_port: u16,
    /// Destination address (VIP, or any address for a firewall-mark service): `dh` hashes it.
    pub dst: IpAddr,
    /// Destination port.
    pub dst_port: u16,
}

/// A change of the service's real-server list, passed with the list as it is after the change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A real server was inserted at index 0 (`add_dest` hook). Also use this for a server
    /// revived from the kernel's trash: it too goes back to the head of the list.
    Added(u32),
    /// A real server was removed (`del_dest` hook, called after `list_del_rcu`).
    Removed(u32),
    /// A real server's weight (or thresholds, forwarding method...) was edited in place
    /// (`upd_dest` hook, `ipvsadm -e`).
    Edited(u32),
    /// Start over as if the scheduler had just been bound to the service (`init_service`, as on
    /// `ipvsadm -E -s` or a service created with its real servers already in place). `lblc` and
    /// `lblcr` empty their table but keep their timer's phase; build a new instance with
    /// [`new_scheduler_with`] to restart it from a new creation time.
    Reset,
}

/// Scheduler flags of the service (`ipvsadm -b`, `IP_VS_SVC_F_SCHED1..3`).
///
/// Build with `SchedFlags { sh_port: true, ..Default::default() }` so that flags added later do not
/// break the construction. In the kernel `mh-fallback`/`mh-port` are the same bits as
/// `sh-fallback`/`sh-port` (`IP_VS_SVC_F_SCHED1`/`SCHED2`), and so they are here: `mh` reads
/// `sh_fallback` and `sh_port`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedFlags {
    /// `sh-fallback` (`IP_VS_SVC_F_SCHED_SH_FALLBACK`), also `mh-fallback`: when the hashed
    /// real server is unavailable, probe the table for another one instead of dropping.
    pub sh_fallback: bool,
    /// `sh-port` (`IP_VS_SVC_F_SCHED_SH_PORT`), also `mh-port`: hash the client port too (TCP,
    /// UDP, SCTP).
    pub sh_port: bool,
}

/// A scheduler instance for one service, owned by one worker.
pub trait Scheduler: Send {
    /// The IPVS name (`rr`, `wlc`, ...).
    fn name(&self) -> &'static str;

    /// Pick a real server for a new connection: an index into `dests`, or None (no available
    /// server; the kernel logs "ip_vs_scheduler: no destination available" and the packet is
    /// dropped). Never allocates.
    fn schedule(&mut self, dests: &[Dest], input: &SchedInput, now_ns: u64) -> Option<usize>;

    /// The service's real-server list changed (add, remove, weight edit): rebuild state as the
    /// kernel's `add_dest`/`del_dest`/`upd_dest` hooks do. `dests` is the new list.
    fn update(&mut self, dests: &[Dest], change: Change);

    /// Periodic housekeeping: run the timers due at or before `now_ns`. Only `lblc` and `lblcr`
    /// have one (their table's garbage collection every 60 s from the creation time); their
    /// `schedule` runs it too, so calling `gc` only keeps an idle table from holding memory
    /// and a later packet from paying for the catch-up.
    fn gc(&mut self, _now_ns: u64) {}
}

/// The schedulers this crate knows, by their IPVS names.
pub const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "lblc", "lblcr", "fo", "ovf", "mh", "twos",
];

/// ipvsadm's scheduler when none is given (`DEF_SCHED` in ipvsadm).
pub const DEFAULT_SCHEDULER: &str = "wlc";

/// The name given to [`new_scheduler`] is not one of [`SCHEDULERS`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownScheduler {
    /// The name as given.
    pub name: String,
}

impl fmt::Display for UnknownScheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown scheduler \"{}\"", self.name)?;
        write!(f, "; use one of: {}", SCHEDULERS.join(", "))
    }
}

impl std::error::Error for UnknownScheduler {}

/// Parameters of a scheduler instance beyond the service's flags: the creation time its timers
/// count from, the kernel's sysctl-like settings, and the seed of `twos`.
///
/// Build with `SchedParams { created_ns: now, ..Default::default() }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedParams {
    /// When the scheduler was bound to the service (`init_service`), on the clock the caller
    /// passes to [`Scheduler::schedule`] and [`Scheduler::gc`]. The `lblc`/`lblcr` garbage
    /// collection timer fires at every 60 s after it (`CHECK_EXPIRE_INTERVAL`).
    pub created_ns: u64,
    /// `net.ipv4.vs.lblc_expiration`: an `lblc` entry unused this long is dropped by the full
    /// check (24 h, `DEFAULT_EXPIRATION`).
    pub lblc_expiration_ns: u64,
    /// `net.ipv4.vs.lblcr_expiration`: the same for `lblcr` entries, and the age after which an
    /// `lblcr` server set of more than one server loses its most loaded member (24 h).
    pub lblcr_expiration_ns: u64,
    /// Most entries an `lblc`/`lblcr` table holds. The kernel's tables are bounded only by
    /// memory (`max_size` = 16384 is where collection starts); rvs allocates this many at
    /// creation and, when full, schedules without caching the result, as the kernel does when
    /// its `kmalloc(GFP_ATOMIC)` fails.
    pub locality_capacity: usize,
    /// Seed of the random numbers `twos` draws (see [`SplitMix64`]).
    pub seed: u64,
}

/// 24 hours: `DEFAULT_EXPIRATION` of ip_vs_lblc.c and ip_vs_lblcr.c.
pub const DEFAULT_LOCALITY_EXPIRATION_NS: u64 = 24 * 60 * 60 * 1_000_000_000;

impl Default for SchedParams {
    fn default() -> Self {
        SchedParams {
            created_ns: 0,
            lblc_expiration_ns: DEFAULT_LOCALITY_EXPIRATION_NS,
            lblcr_expiration_ns: DEFAULT_LOCALITY_EXPIRATION_NS,
            locality_capacity: 2 * lblc::MAX_SIZE,
            seed: 0,
        }
    }
}

/// A scheduler by IPVS name (case-sensitive, as the kernel's `ip_vs_scheduler_get`), initialised
/// for a service whose real servers are `dests` (the kernel's `init_service`), created at time
/// 0 with default parameters. See [`new_scheduler_with`].
pub fn new_scheduler(
    name: &str,
    flags: SchedFlags,
    dests: &[Dest],
) -> Result<Box<dyn Scheduler>, UnknownScheduler> {
    new_scheduler_with(name, flags, dests, &SchedParams::default())
}

/// A scheduler by IPVS name, initialised for a service whose real servers are `dests`, with the
/// creation time and parameters in `params`. `lblc`/`lblcr` need the creation time right (their
/// timers count from it); `twos` takes its seed.
pub fn new_scheduler_with(
    name: &str,
    flags: SchedFlags,
    dests: &[Dest],
    params: &SchedParams,
) -> Result<Box<dyn Scheduler>, UnknownScheduler> {
    let s: Box<dyn Scheduler> = match name {
        "rr" => Box::new(rr::RoundRobin::new(dests)),
        "wrr" => Box::new(wrr::WeightedRoundRobin::new(dests)),
        "lc" => Box::new(least::Least::new(least::Kind::Lc, dests)),
        "wlc" => Box::new(least::Least::new(least::Kind::Wlc, dests)),
        "sed" => Box::new(least::Least::new(least::Kind::Sed, dests)),
        "nq" => Box::new(least::Least::new(least::Kind::Nq, dests)),
        "sh" => Box::new(sh::SourceHash::new(flags, dests)),
        "dh" => Box::new(dh::DestinationHash::new(dests)),
        "lblc" => Box::new(lblc::Locality::new(lblc::Kind::Lblc, dests, params)),
        "lblcr" => Box::new(lblc::Locality::new(lblc::Kind::Lblcr, dests, params)),
        "fo" => Box::new(fo::WeightedFailover::new(dests)),
        "ovf" => Box::new(ovf::Overflow::new(dests)),
        "mh" => Box::new(mh::Maglev::new(flags, dests)),
        "twos" => Box::new(twos::TwoChoices::new(Box::new(SplitMix64::new(
            params.seed,
        )))),
        _ => {
            return Err(UnknownScheduler {
                name: name.to_owned(),
            })
        }
    };
    Ok(s)
}

/// A `twos` scheduler drawing its random numbers from `rng` (tests, or a replay that wants its
/// own stream).
pub fn new_twos(rng: Box<dyn RandomSource>) -> Box<dyn Scheduler> {
    Box::new(twos::TwoChoices::new(rng))
}

/// A remembered real server: its id, and the index where it was last seen (a hint that saves a
/// scan when the list has not moved under us).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mark {
    pub(crate) id: u32,
    pub(crate) hint: usize,
}

impl Mark {
    pub(crate) fn at(dests: &[Dest], i: usize) -> Option<Mark> {
        dests.get(i).map(|d| Mark { id: d.id, hint: i })
    }

    /// Where the remembered real server is in `dests` now, if still there.
    pub(crate) fn locate(self, dests: &[Dest]) -> Option<usize> {
        match dests.get(self.hint) {
            Some(d) if d.id == self.id => Some(self.hint),
            _ => dests.iter().position(|d| d.id == self.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::rs;

    #[test]
    fn every_listed_name_round_trips() {
        for &name in SCHEDULERS {
            let s = new_scheduler(name, SchedFlags::default(), &[]).expect(name);
            assert_eq!(s.name(), name);
        }
    }

    #[test]
    fn unknown_names_error() {
        let e = new_scheduler("foo", SchedFlags::default(), &[])
            .err()
            .expect("foo is unknown");
        assert_eq!(e.name, "foo");
        assert!(e.to_string().starts_with("unknown scheduler \"foo\""));
        // Kernel names are case-sensitive.
        assert!(new_scheduler("RR", SchedFlags::default(), &[]).is_err());
        assert!(e.to_string().contains("wlc"), "{e}");
        // Every scheduler of the kernel's net/netfilter/ipvs is here.
        assert_eq!(SCHEDULERS.len(), 14);
    }

    #[test]
    fn default_scheduler_is_known() {
        assert!(SCHEDULERS.contains(&DEFAULT_SCHEDULER));
    }

    #[test]
    fn every_scheduler_returns_none_on_an_empty_service() {
        let input = testutil::input_from("10.9.9.9", 1234);
        for &name in SCHEDULERS {
            let mut s = new_scheduler(name, SchedFlags::default(), &[]).expect(name);
            assert_eq!(s.schedule(&[], &input, 0), None, "{name}");
        }
    }

    #[test]
    fn overhead_weighs_active_256_times_inactive() {
        // include/net/ip_vs.h ip_vs_dest_conn_overhead: (activeconns << 8) + inactconns.
        let d = rs(1, 1);
        d.counters.set(3, 7);
        assert_eq!(overhead(&d), 3 * 256 + 7);
        // Same bits as the kernel's int arithmetic when it overflows.
        d.counters.set(1 << 24, 5);
        assert_eq!(overhead(&d), 5);
    }

    #[test]
    fn upper_threshold_sets_the_flag_on_bind() {
        // ip_vs_conn.c ip_vs_bind_dest: u_threshold != 0 && totalconns >= u_threshold.
        let d = Dest::with_thresholds(1, "10.0.0.1".parse().expect("ip"), 80, 1, 3, 0);
        bind_dest(&d, false);
        bind_dest(&d, true);
        assert!(!d.is_overloaded());
        bind_dest(&d, false); // total 3 >= 3
        assert!(d.is_overloaded());
        assert_eq!((d.counters.active(), d.counters.inactive()), (1, 2));
        // Templates do not count towards the total (ip_vs_dest_totalconns).
        let t = Dest::with_thresholds(2, "10.0.0.2".parse().expect("ip"), 80, 1, 1, 0);
        t.counters.bind_template();
        assert!(!t.is_overloaded());
        assert_eq!(t.counters.persistent.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn without_lower_threshold_the_flag_clears_under_three_quarters() {
        // ip_vs_unbind_dest: l_threshold == 0 -> clear when totalconns * 4 < u_threshold * 3.
        let d = Dest::with_thresholds(1, "10.0.0.1".parse().expect("ip"), 80, 1, 8, 0);
        for _ in 0..8 {
            bind_dest(&d, false);
        }
        assert!(d.is_overloaded());
        unbind_dest(&d, false); // 7 * 4 = 28 < 24? no
        unbind_dest(&d, false); // 6 * 4 = 24 < 24? no
        assert!(d.is_overloaded());
        unbind_dest(&d, false); // 5 * 4 = 20 < 24: clear
        assert!(!d.is_overloaded());
        // Between the thresholds a bind does not set it again until the upper one.
        bind_dest(&d, false);
        bind_dest(&d, false);
        assert!(!d.is_overloaded());
    }

    #[test]
    fn lower_threshold_clears_strictly_below_it() {
        // l_threshold != 0 -> clear when totalconns < l_threshold.
        let d = Dest::with_thresholds(1, "10.0.0.1".parse().expect("ip"), 80, 1, 4, 2);
        for _ in 0..4 {
            bind_dest(&d, true);
        }
        assert!(d.is_overloaded());
        unbind_dest(&d, true);
        unbind_dest(&d, true); // 2 < 2? no
        assert!(d.is_overloaded());
        unbind_dest(&d, true); // 1 < 2
        assert!(!d.is_overloaded());
    }

    #[test]
    fn no_thresholds_unbind_always_clears() {
        // Neither threshold: ip_vs_unbind_dest clears the flag whatever the count.
        let d = rs(1, 1);
        bind_dest(&d, true);
        bind_dest(&d, true);
        assert!(!d.is_overloaded()); // u_threshold 0 never sets it
        d.counters.set_overloaded(true);
        unbind_dest(&d, true);
        assert!(!d.is_overloaded());
    }

    #[test]
    fn moving_between_active_and_inactive_keeps_the_flag() {
        // set_tcp_state moves one count across; the total and the flag stay.
        let d = Dest::with_thresholds(1, "10.0.0.1".parse().expect("ip"), 80, 1, 2, 0);
        bind_dest(&d, false);
        bind_dest(&d, false);
        assert!(d.is_overloaded());
        move_active(&d, true);
        assert_eq!((d.counters.active(), d.counters.inactive()), (1, 1));
        assert!(d.is_overloaded());
        move_active(&d, false);
        assert_eq!((d.counters.active(), d.counters.inactive()), (0, 2));
        unbind_dest(&d, false); // 1 * 4 < 2 * 3: clear
        assert!(!d.is_overloaded());
    }

    #[test]
    fn editing_thresholds_clears_only_when_raised_or_removed() {
        // __ip_vs_update_dest: clear if the new u_threshold is 0 or above the old one.
        let d = Dest::with_thresholds(1, "10.0.0.1".parse().expect("ip"), 80, 1, 2, 0);
        bind_dest(&d, true);
        bind_dest(&d, true);
        assert!(d.is_overloaded());
        d.counters.set_thresholds(2, 1); // same upper: stays
        assert!(d.is_overloaded());
        d.counters.set_thresholds(1, 0); // lowered: stays
        assert!(d.is_overloaded());
        d.counters.set_thresholds(5, 0); // raised: cleared
        assert!(!d.is_overloaded());
        d.counters.set_thresholds(1, 0); // lowered below the count: not set until a bind
        assert!(!d.is_overloaded());
        bind_dest(&d, false);
        assert!(d.is_overloaded());
        d.counters.set_thresholds(0, 0); // removed: cleared
        assert!(!d.is_overloaded());
        assert_eq!(d.counters.thresholds(), (0, 0));
    }

    #[test]
    fn the_flag_is_shared_by_every_copy_of_the_server() {
        // Workers hold clones of the Dest (or just the counters): one flag for all.
        let d = Dest::with_thresholds(1, "10.0.0.1".parse().expect("ip"), 80, 1, 1, 0);
        let other_worker = d.clone();
        bind_dest(&d, false);
        assert!(other_worker.is_overloaded());
        let mut s = new_scheduler("rr", SchedFlags::default(), &[]).expect("rr");
        let input = testutil::input_from("10.9.9.9", 1);
        assert_eq!(s.schedule(&[other_worker], &input, 0), None);
    }

    #[test]
    fn mark_finds_a_moved_server() {
        let dests = vec![rs(1, 1), rs(2, 1), rs(3, 1)];
        let m = Mark { id: 3, hint: 0 };
        assert_eq!(m.locate(&dests), Some(2));
        assert_eq!(Mark { id: 9, hint: 0 }.locate(&dests), None);
        assert_eq!(Mark { id: 2, hint: 99 }.locate(&dests), Some(1));
    }
}
