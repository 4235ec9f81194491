//! Locality-based least-connection, with and without replication: `ip_vs_lblc.c` and
//! `ip_vs_lblcr.c`.
//!
//! Both keep, per service, a table from the packet's destination address (for cache clusters,
//! the origin server the client asked for) to the real server — lblc — or set of real servers —
//! lblcr — that served it last, so that one destination keeps hitting one cache.
//!
//! - **lblc** (`ip_vs_lblc_schedule`): a cached server is used while it is in the service, has
//!   weight > 0 and is not "overloaded" in lblc's own sense (`is_overloaded`: more active
//!   connections than its weight while some server has fewer than half its weight active);
//!   the `IP_VS_DEST_F_OVERLOAD` flag of the thresholds is *not* looked at for a cached server.
//!   Otherwise wlc over the whole service (`__ip_vs_lblc_schedule`) picks a server, which
//!   replaces the cached one.
//! - **lblcr** (`ip_vs_lblcr_schedule`): the cached set's weighted least-connection member
//!   (`ip_vs_dest_set_min`) is used unless lblc-overloaded; otherwise wlc over the service picks
//!   a server that joins the set. A set of more than one server not modified for
//!   `lblcr_expiration` loses its weighted most-connection member (`ip_vs_dest_set_max`) at the
//!   next lookup.
//!
//! # The table and its garbage collection
//! 1024 buckets (`CONFIG_IP_VS_LBLC_TAB_BITS` 10) indexed by `hash_32(ntohl(addr_fold), 10)`.
//! A timer started when the scheduler is bound fires every 60 s (`CHECK_EXPIRE_INTERVAL`,
//! `ip_vs_lblc_check_expire`): every 30th firing runs the full check, dropping the entries unused
//! for `lblc[r]_expiration` (24 h); the others, while the entry count exceeds `max_size` (16384),
//! drop entries unused for 6 minutes (`ENTRY_TIMEOUT`), bucket by bucket from a rover, until
//! `(entries - max_size) * 4 / 3` (at most 8192) are gone. In rvs the timer fires on the caller's
//! clock: [`Scheduler::schedule`] and [`Scheduler::gc`] first run every firing due at or before
//! their `now` (at `created + 60 s * k`), each as of its own due time.
//!
//! The entry count is the kernel's `tbl->entries`, kept as the kernel keeps it: in lblc,
//! replacing an entry's server (`ip_vs_lblc_new`) adds one without taking the old one off, so
//! the count runs ahead of the table and the 6-minute collection starts earlier than the real
//! size would say. rvs reproduces that.
//!
//! Time is compared in nanoseconds where the kernel compares jiffies; only decisions within
//! one jiffy (1-10 ms) of an expiry can differ.
//!
//! # Memory
//! The entries are allocated when the scheduler is created ([`crate::SchedParams`]
//! `locality_capacity`, with twice as many lblcr set members); a full table behaves as the
//! kernel when `kmalloc(GFP_ATOMIC)` fails: the server is used without being cached.
//!
//! # Removed real servers
//! A cached server removed from the service is unavailable (the kernel keeps it in its trash,
//! `IP_VS_DEST_F_AVAILABLE` cleared) until a server with the same id is added again. lblcr's
//! `ip_vs_dest_set_max` still weighs removed members by their last weight and live counters,
//! so the scheduler keeps those for the servers its sets still name.

use crate::hash::{addr_fold, hash_32};
use crate::least::{weighted_least, wlc_overhead};
use crate::tourney::{Rule, Tourney};
use crate::{overhead, Change, Dest, DestCounters, Mark, SchedInput, SchedParams, Scheduler};
use std::net::IpAddr;
use std::sync::Arc;

/// `CONFIG_IP_VS_LBLC_TAB_BITS` / `CONFIG_IP_VS_LBLCR_TAB_BITS` default.
const TAB_BITS: u32 = 10;
const TAB_SIZE: usize = 1 << TAB_BITS;
const TAB_MASK: usize = TAB_SIZE - 1;
/// `tbl->max_size = IP_VS_LBLC_TAB_SIZE * 16`.
pub(crate) const MAX_SIZE: usize = TAB_SIZE * 16;
/// `CHECK_EXPIRE_INTERVAL`: 60 s.
pub(crate) const CHECK_EXPIRE_INTERVAL_NS: u64 = 60 * 1_000_000_000;
/// `ENTRY_TIMEOUT`: 6 minutes.
pub(crate) const ENTRY_TIMEOUT_NS: u64 = 6 * 60 * 1_000_000_000;
/// `COUNT_FOR_FULL_EXPIRATION`.
const COUNT_FOR_FULL_EXPIRATION: i32 = 30;

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Lblc,
    Lblcr,
}

/// `ip_vs_lblc_entry` / `ip_vs_lblcr_entry`.
#[derive(Clone, Debug)]
struct Entry {
    addr: IpAddr,
    lastuse: u64,
    /// Next entry in the bucket, or in the free list.
    next: u32,
    /// lblc: the cached server.
    dest: Option<Mark>,
    /// lblcr: the set (`ip_vs_dest_set`): first member, size, last modification.
    set_head: u32,
    set_size: u32,
    set_lastmod: u64,
}

/// `ip_vs_dest_set_elem`.
#[derive(Clone, Copy, Debug)]
struct Elem {
    dest: Mark,
    next: u32,
}

/// What the scheduler remembers of a real server beyond the list: weight and counters.
#[derive(Clone, Debug)]
struct Known {
    id: u32,
    weight: i32,
    counters: Arc<DestCounters>,
}

pub(crate) struct Locality {
    kind: Kind,
    expiration: u64,
    buckets: Vec<u32>,
    entries: Vec<Entry>,
    entries_cap: usize,
    free: u32,
    elems: Vec<Elem>,
    elems_cap: usize,
    free_elem: u32,
    /// Entries in the table.
    live: usize,
    /// `tbl->entries` as the kernel counts it (see the module doc).
    count: i32,
    rover: usize,
    counter: i32,
    /// When the timer fires next; None once past the end of the clock.
    next_timer: Option<u64>,
    /// The service's servers at the last update.
    known: Vec<Known>,
    /// Removed servers that lblcr sets may still name.
    trash: Vec<Known>,
    /// The wlc choice for a destination not (or no longer) cached, without a scan when the
    /// servers share a load log (see `tourney.rs`).
    wlc: Tourney,
}

fn knowns(dests: &[Dest]) -> Vec<Known> {
    dests
        .iter()
        .map(|d| Known {
            id: d.id,
            weight: d.weight,
            counters: Arc::clone(&d.counters),
        })
        .collect()
}

/// `is_overloaded` of ip_vs_lblc.c / ip_vs_lblcr.c: more active connections than weight while
/// some server of the service has fewer than half its weight active (int arithmetic).
fn lblc_overloaded(d: &Dest, dests: &[Dest]) -> bool {
    let active = |d: &Dest| d.counters.active() as i32;
    active(d) > d.weight && dests.iter().any(|m| active(m).wrapping_mul(2) < m.weight)
}

impl Locality {
    pub(crate) fn new(kind: Kind, dests: &[Dest], params: &SchedParams) -> Self {
        let cap = params.locality_capacity.min(NIL as usize / 2);
        let elems_cap = if kind == Kind::Lblcr { 2 * cap } else { 0 };
        Locality {
            kind,
            expiration: match kind {
                Kind::Lblc => params.lblc_expiration_ns,
                Kind::Lblcr => params.lblcr_expiration_ns,
            },
            buckets: vec![NIL; TAB_SIZE],
            entries: Vec::with_capacity(cap),
            entries_cap: cap,
            free: NIL,
            elems: Vec::with_capacity(elems_cap),
            elems_cap,
            free_elem: NIL,
            live: 0,
            count: 0,
            rover: 0,
            counter: 1,
            next_timer: params.created_ns.checked_add(CHECK_EXPIRE_INTERVAL_NS),
            known: knowns(dests),
            trash: Vec::new(),
            wlc: Tourney::new(Rule::Wlc, dests),
        }
    }

    /// `__ip_vs_lblc_schedule` / `__ip_vs_lblcr_schedule`: the wlc choice over the service.
    fn least(&mut self, dests: &[Dest]) -> Option<usize> {
        match self.wlc.pick(dests) {
            Some(pick) => pick,
            None => weighted_least(dests, wlc_overhead),
        }
    }

    fn bucket_of(addr: IpAddr) -> usize {
        hash_32(addr_fold(addr), TAB_BITS) as usize & TAB_MASK
    }

    /// `ip_vs_lblc_get`.
    fn lookup(&self, addr: IpAddr) -> Option<usize> {
        let mut e = self.buckets.get(Self::bucket_of(addr)).copied()?;
        while e != NIL {
            let en = self.entries.get(e as usize)?;
            if en.addr == addr {
                return Some(e as usize);
            }
            e = en.next;
        }
        None
    }

    /// `kmalloc` + `ip_vs_lblc_hash`: a new entry at the head of its bucket, counted.
    fn insert(&mut self, addr: IpAddr, now: u64) -> Option<usize> {
        let entry = Entry {
            addr,
            lastuse: now,
            next: NIL,
            dest: None,
            set_head: NIL,
            set_size: 0,
            set_lastmod: now,
        };
        let e = if self.free != NIL {
            let e = self.free as usize;
            let slot = self.entries.get_mut(e)?;
            self.free = slot.next;
            *slot = entry;
            e
        } else if self.entries.len() < self.entries_cap {
            self.entries.push(entry);
            self.entries.len() - 1
        } else {
            return None;
        };
        let b = Self::bucket_of(addr);
        let head = self.buckets.get(b).copied().unwrap_or(NIL);
        if let Some(en) = self.entries.get_mut(e) {
            en.next = head;
        }
        if let Some(h) = self.buckets.get_mut(b) {
            *h = e as u32;
        }
        self.live += 1;
        self.count = self.count.wrapping_add(1);
        Some(e)
    }

    /// `hlist_del_rcu` and freeing (`ip_vs_lblc_del`, `ip_vs_lblcr_free`), `prev` being the
    /// previous entry in the bucket or NIL for the head. Does not touch `count`: the callers
    /// do, as in the kernel.
    fn unlink(&mut self, b: usize, prev: u32, e: u32) {
        let Some(next) = self.entries.get(e as usize).map(|en| en.next) else {
            return;
        };
        if prev == NIL {
            if let Some(h) = self.buckets.get_mut(b) {
                *h = next;
            }
        } else if let Some(p) = self.entries.get_mut(prev as usize) {
            p.next = next;
        }
        // ip_vs_dest_set_eraseall.
        let mut x = self.entries.get(e as usize).map_or(NIL, |en| en.set_head);
        while x != NIL {
            let Some(el) = self.elems.get_mut(x as usize) else {
                break;
            };
            let n = el.next;
            el.next = self.free_elem;
            self.free_elem = x;
            x = n;
        }
        if let Some(en) = self.entries.get_mut(e as usize) {
            en.set_head = NIL;
            en.set_size = 0;
            en.dest = None;
            en.next = self.free;
        }
        self.free = e;
        self.live -= 1;
    }

    /// Unlink entry `e` wherever it is in its bucket.
    fn remove(&mut self, e: usize) {
        let Some(addr) = self.entries.get(e).map(|en| en.addr) else {
            return;
        };
        let b = Self::bucket_of(addr);
        let mut prev = NIL;
        let mut x = self.buckets.get(b).copied().unwrap_or(NIL);
        while x != NIL {
            if x as usize == e {
                self.unlink(b, prev, x);
                return;
            }
            prev = x;
            x = self.entries.get(x as usize).map_or(NIL, |en| en.next);
        }
    }

    /// Drop the entries of bucket `b` that `stale(lastuse)` says are stale; returns how many.
    fn sweep_bucket(&mut self, b: usize, stale: impl Fn(u64) -> bool) -> i32 {
        let mut gone = 0;
        let mut prev = NIL;
        let mut x = self.buckets.get(b).copied().unwrap_or(NIL);
        while x != NIL {
            let Some(en) = self.entries.get(x as usize) else {
                break;
            };
            let next = en.next;
            if stale(en.lastuse) {
                self.unlink(b, prev, x);
                self.count = self.count.wrapping_sub(1);
                gone += 1;
            } else {
                prev = x;
            }
            x = next;
        }
        gone
    }

    /// `ip_vs_lblc_full_check`: drop every entry unused for the expiration. The sweep goes
    /// round all buckets from the rover, so the rover ends where it began.
    fn full_check(&mut self, now: u64) {
        if self.live == 0 {
            return;
        }
        let exp = self.expiration;
        for b in 0..TAB_SIZE {
            // time_before(now, lastuse + exp) keeps the entry.
            self.sweep_bucket(b, |lastuse| now >= lastuse.saturating_add(exp));
        }
    }

    /// `ip_vs_lblc_check_expire` / `ip_vs_lblcr_check_expire`, as of time `now`.
    fn check_expire(&mut self, now: u64) {
        if self.counter % COUNT_FOR_FULL_EXPIRATION == 0 {
            self.full_check(now);
            self.counter = 1;
            return;
        }
        let max = MAX_SIZE as i32;
        if self.count <= max {
            self.counter += 1;
            return;
        }
        let mut goal = self.count.wrapping_sub(max).wrapping_mul(4) / 3;
        if goal > max / 2 {
            goal = max / 2;
        }
        let mut j = self.rover;
        for _ in 0..TAB_SIZE {
            j = (j + 1) & TAB_MASK;
            if self.live > 0 {
                goal -=
                    self.sweep_bucket(j, |lastuse| now >= lastuse.saturating_add(ENTRY_TIMEOUT_NS));
            }
            if goal <= 0 {
                break;
            }
        }
        self.rover = j;
    }

    /// Every timer firing due at or before `now`, each as of its own time.
    fn run_timers(&mut self, now: u64) {
        while let Some(t) = self.next_timer.filter(|&t| t <= now) {
            if self.live == 0 {
                self.fast_forward(t, now);
                return;
            }
            self.check_expire(t);
            self.next_timer = t.checked_add(CHECK_EXPIRE_INTERVAL_NS);
        }
    }

    /// The firings from `t` to `now` over an empty table in one step: sweeps find nothing and
    /// leave the rover where it was, so only the full-check counter moves.
    fn fast_forward(&mut self, t: u64, now: u64) {
        let k = (now - t) / CHECK_EXPIRE_INTERVAL_NS + 1;
        if self.count <= MAX_SIZE as i32 {
            // counter runs 1, 2, ..., 30, then the full check puts it back to 1.
            let period = COUNT_FOR_FULL_EXPIRATION as u64;
            let p = (self.counter - 1).rem_euclid(COUNT_FOR_FULL_EXPIRATION) as u64;
            self.counter = ((p + k % period) % period) as i32 + 1;
        } else if self.counter % COUNT_FOR_FULL_EXPIRATION == 0 {
            // One full check, then the 6-minute collection every time (counter stays at 1).
            self.counter = 1;
        }
        self.next_timer = k
            .checked_mul(CHECK_EXPIRE_INTERVAL_NS)
            .and_then(|d| t.checked_add(d));
    }

    /// The entry's cached lblc server as an index into `dests`, refreshing its hint.
    fn cached(&mut self, e: usize, dests: &[Dest]) -> Option<usize> {
        let en = self.entries.get_mut(e)?;
        let m = en.dest?;
        let i = m.locate(dests)?;
        en.dest = Some(Mark { id: m.id, hint: i });
        Some(i)
    }

    /// `ip_vs_lblc_new`: cache `dest` for `addr`. An entry with another server is dropped
    /// (uncounted) and a new one made (counted).
    fn lblc_new(&mut self, addr: IpAddr, dests: &[Dest], i: usize, now: u64) {
        let Some(mark) = Mark::at(dests, i) else {
            return;
        };
        if let Some(e) = self.lookup(addr) {
            if self.entries.get(e).and_then(|en| en.dest).map(|m| m.id) == Some(mark.id) {
                return;
            }
            self.remove(e);
        }
        if let Some(e) = self.insert(addr, now) {
            if let Some(en) = self.entries.get_mut(e) {
                en.dest = Some(mark);
            }
        }
    }

    fn schedule_lblc(&mut self, dests: &[Dest], daddr: IpAddr, now: u64) -> Option<usize> {
        if let Some(e) = self.lookup(daddr) {
            if let Some(en) = self.entries.get_mut(e) {
                en.lastuse = now;
            }
            // Available (still in the list), weight > 0, not lblc-overloaded.
            if let Some(i) = self.cached(e, dests) {
                if dests
                    .get(i)
                    .is_some_and(|d| d.weight > 0 && !lblc_overloaded(d, dests))
                {
                    return Some(i);
                }
            }
        }
        // __ip_vs_lblc_schedule: wlc over the service.
        let i = self.least(dests)?;
        self.lblc_new(daddr, dests, i, now);
        Some(i)
    }

    /// Weight and counters of a set member, available or in the trash.
    fn member(&self, m: Mark, dests: &[Dest]) -> Option<(i32, i32)> {
        if let Some(d) = m.locate(dests).and_then(|i| dests.get(i)) {
            return Some((d.weight, overhead(d) as i32));
        }
        let k = self.trash.iter().find(|k| k.id == m.id)?;
        let oh = (k.counters.active() << 8).wrapping_add(k.counters.inactive());
        Some((k.weight, oh as i32))
    }

    /// `ip_vs_dest_set_min`: the set's weighted least-connection available member, first of
    /// equals in set order (most recently inserted first).
    fn set_min(&mut self, e: usize, dests: &[Dest]) -> Option<usize> {
        let mut x = self.entries.get(e)?.set_head;
        let mut least: Option<(usize, i64, i64)> = None;
        while x != NIL {
            let el = self.elems.get_mut(x as usize)?;
            let next = el.next;
            // Unavailable members fail every test below, whatever their flags.
            if let Some(i) = el.dest.locate(dests) {
                el.dest.hint = i;
                let d = dests.get(i)?;
                if !d.is_overloaded() {
                    let doh = i64::from(overhead(d) as i32);
                    let dw = i64::from(d.weight);
                    match least {
                        None if d.weight > 0 => least = Some((i, doh, dw)),
                        Some((_, loh, lw)) if loh * dw > doh * lw => least = Some((i, doh, dw)),
                        _ => {}
                    }
                }
            }
            x = next;
        }
        least.map(|(i, _, _)| i)
    }

    /// `ip_vs_dest_set_max`: the set's weighted most-connection member with weight > 0,
    /// available or not; first of equals.
    fn set_max(&self, e: usize, dests: &[Dest]) -> Option<u32> {
        let mut x = self.entries.get(e)?.set_head;
        let mut most: Option<(u32, i64, i64)> = None;
        while x != NIL {
            let el = self.elems.get(x as usize)?;
            let (w, oh) = self.member(el.dest, dests).unwrap_or((0, 0));
            let (dw, doh) = (i64::from(w), i64::from(oh));
            match most {
                None if w > 0 => most = Some((el.dest.id, doh, dw)),
                // moh * dw < doh * mw && dw > 0.
                Some((_, moh, mw)) if moh * dw < doh * mw && w > 0 => {
                    most = Some((el.dest.id, doh, dw));
                }
                _ => {}
            }
            x = el.next;
        }
        most.map(|(id, _, _)| id)
    }

    /// `ip_vs_dest_set_erase`: drop member `id`; size - 1, lastmod = now.
    fn set_erase(&mut self, e: usize, id: u32, now: u64) {
        let Some(head) = self.entries.get(e).map(|en| en.set_head) else {
            return;
        };
        let mut prev = NIL;
        let mut x = head;
        while x != NIL {
            let Some(el) = self.elems.get(x as usize).copied() else {
                return;
            };
            if el.dest.id == id {
                if prev == NIL {
                    if let Some(en) = self.entries.get_mut(e) {
                        en.set_head = el.next;
                    }
                } else if let Some(p) = self.elems.get_mut(prev as usize) {
                    p.next = el.next;
                }
                if let Some(f) = self.elems.get_mut(x as usize) {
                    f.next = self.free_elem;
                }
                self.free_elem = x;
                if let Some(en) = self.entries.get_mut(e) {
                    en.set_size -= 1;
                    en.set_lastmod = now;
                }
                return;
            }
            prev = x;
            x = el.next;
        }
    }

    /// `ip_vs_dest_set_insert`: `dest` joins the set at its head (unless `check` finds it
    /// there already); size + 1, lastmod = now. Without a free member slot nothing happens,
    /// as on the kernel's allocation failure.
    fn set_insert(&mut self, e: usize, dest: Mark, check: bool, now: u64) {
        let Some(head) = self.entries.get(e).map(|en| en.set_head) else {
            return;
        };
        if check {
            let mut x = head;
            while let Some(el) = self.elems.get(x as usize) {
                if el.dest.id == dest.id {
                    return;
                }
                x = el.next;
            }
        }
        let el = Elem { dest, next: head };
        let x = if self.free_elem != NIL {
            let x = self.free_elem;
            let Some(slot) = self.elems.get_mut(x as usize) else {
                return;
            };
            self.free_elem = slot.next;
            *slot = el;
            x
        } else if self.elems.len() < self.elems_cap {
            self.elems.push(el);
            (self.elems.len() - 1) as u32
        } else {
            return;
        };
        if let Some(en) = self.entries.get_mut(e) {
            en.set_head = x;
            en.set_size += 1;
            en.set_lastmod = now;
        }
    }

    fn schedule_lblcr(&mut self, dests: &[Dest], daddr: IpAddr, now: u64) -> Option<usize> {
        if let Some(e) = self.lookup(daddr) {
            if let Some(en) = self.entries.get_mut(e) {
                en.lastuse = now;
            }
            let dest = self.set_min(e, dests);
            // More than one member and unmodified for the expiration: drop the most loaded.
            // time_after(jiffies, lastmod + expiration).
            let (size, lastmod) = self
                .entries
                .get(e)
                .map_or((0, 0), |en| (en.set_size, en.set_lastmod));
            if size > 1 && now > lastmod.saturating_add(self.expiration) {
                if let Some(m) = self.set_max(e, dests) {
                    self.set_erase(e, m, now);
                }
            }
            // The least loaded member, even if just erased, unless lblc-overloaded.
            if let Some(i) = dest {
                if dests.get(i).is_some_and(|d| !lblc_overloaded(d, dests)) {
                    return Some(i);
                }
            }
            let i = self.least(dests)?;
            if let Some(m) = Mark::at(dests, i) {
                self.set_insert(e, m, true, now);
            }
            return Some(i);
        }
        let i = self.least(dests)?;
        // ip_vs_lblcr_new: a new entry whose set holds the server.
        if let (Some(e), Some(m)) = (self.insert(daddr, now), Mark::at(dests, i)) {
            self.set_insert(e, m, false, now);
        }
        Some(i)
    }

    #[cfg(test)]
    fn stats(&self) -> (usize, i32, usize, i32) {
        (self.live, self.count, self.rover, self.counter)
    }
}

impl Scheduler for Locality {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Lblc => "lblc",
            Kind::Lblcr => "lblcr",
        }
    }

    fn schedule(&mut self, dests: &[Dest], input: &SchedInput, now_ns: u64) -> Option<usize> {
        self.run_timers(now_ns);
        match self.kind {
            Kind::Lblc => self.schedule_lblc(dests, input.dst, now_ns),
            Kind::Lblcr => self.schedule_lblcr(dests, input.dst, now_ns),
        }
    }

    fn update(&mut self, dests: &[Dest], change: Change) {
        self.wlc.rebuild(dests);
        // Neither module has add/del/upd hooks; only what lblcr's set_max needs of removed
        // servers is kept here.
        let old = std::mem::replace(&mut self.known, knowns(dests));
        if self.kind == Kind::Lblcr {
            for k in old {
                if !self.known.iter().any(|n| n.id == k.id) {
                    self.trash.retain(|t| t.id != k.id);
                    self.trash.push(k);
                }
            }
            self.trash.retain(|t| !dests.iter().any(|d| d.id == t.id));
            // Forget removed servers no set names any more.
            let named: Vec<u32> = self.elems_in_use();
            self.trash.retain(|t| named.contains(&t.id));
        }
        if change == Change::Reset {
            // A fresh table; the timer keeps its phase (a new instance restarts it).
            self.buckets.fill(NIL);
            self.entries.clear();
            self.elems.clear();
            self.free = NIL;
            self.free_elem = NIL;
            self.live = 0;
            self.count = 0;
            self.rover = 0;
            self.counter = 1;
        }
    }

    fn gc(&mut self, now_ns: u64) {
        self.run_timers(now_ns);
    }
}

impl Locality {
    /// Ids named by some set member now.
    fn elems_in_use(&self) -> Vec<u32> {
        let mut ids = Vec::new();
        for b in &self.buckets {
            let mut e = *b;
            while let Some(en) = self.entries.get(e as usize) {
                let mut x = en.set_head;
                while let Some(el) = self.elems.get(x as usize) {
                    ids.push(el.dest.id);
                    x = el.next;
                }
                e = en.next;
            }
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{input_from, rs};
    use crate::SchedInput;

    const S: u64 = 1_000_000_000;

    /// A service with its lblc/lblcr scheduler (downcast-free: we keep the concrete type to
    /// look at the table's counters).
    struct Svc {
        dests: Vec<Dest>,
        sched: Locality,
    }

    impl Svc {
        fn new(kind: Kind, servers: &[(u32, i32)], params: SchedParams) -> Self {
            let dests: Vec<Dest> = servers.iter().map(|&(id, w)| rs(id, w)).collect();
            crate::watch_loads(&dests);
            let sched = Locality::new(kind, &dests, &params);
            Svc { dests, sched }
        }

        fn to(&mut self, dst: &str, t: u64) -> Option<u32> {
            let i = self.sched.schedule(&self.dests, &to(dst), t)?;
            Some(self.dests[i].id)
        }

        fn d(&self, id: u32) -> &Dest {
            self.dests.iter().find(|d| d.id == id).expect("server")
        }

        fn set_weight(&mut self, id: u32, w: i32) {
            for d in &mut self.dests {
                if d.id == id {
                    d.weight = w;
                }
            }
            self.sched.update(&self.dests, Change::Edited(id));
        }

        fn remove(&mut self, id: u32) {
            self.dests.retain(|d| d.id != id);
            self.sched.update(&self.dests, Change::Removed(id));
        }

        fn add(&mut self, d: Dest) {
            let id = d.id;
            self.dests.insert(0, d);
            crate::watch_loads(&self.dests);
            self.sched.update(&self.dests, Change::Added(id));
        }
    }

    /// A packet from one client to the destination address `dst` (the origin server a cache
    /// cluster is asked for).
    fn to(dst: &str) -> SchedInput {
        let mut c = input_from("172.16.0.2", 40000);
        c.dst = dst.parse().expect("address");
        c
    }

    fn lblc(servers: &[(u32, i32)]) -> Svc {
        Svc::new(Kind::Lblc, servers, SchedParams::default())
    }

    fn lblcr(servers: &[(u32, i32)]) -> Svc {
        Svc::new(Kind::Lblcr, servers, SchedParams::default())
    }

    #[test]
    fn lblc_sticks_to_the_cached_server_while_wlc_would_move() {
        // ip_vs_lblc_schedule: a cache hit whose server is available, weight > 0 and not
        // is_overloaded is returned without looking at the others.
        let mut s = lblc(&[(1, 10), (2, 10)]);
        assert_eq!(s.to("192.0.2.10", S), Some(1)); // wlc: all idle, the head
        s.d(1).counters.set(5, 0);
        // wlc would now say 2; the cache keeps 1 for this destination.
        assert_eq!(s.to("192.0.2.10", 2 * S), Some(1));
        // Another destination is scheduled by wlc afresh.
        assert_eq!(s.to("192.0.2.11", 3 * S), Some(2));
        assert_eq!(s.to("192.0.2.11", 4 * S), Some(2));
    }

    #[test]
    fn lblc_overload_rule_needs_a_half_idle_server() {
        // is_overloaded: activeconns > weight AND some server with activeconns * 2 < weight.
        let mut s = lblc(&[(1, 4), (2, 4)]);
        assert_eq!(s.to("192.0.2.10", S), Some(1));
        s.d(1).counters.set(5, 0);
        s.d(2).counters.set(2, 0); // 2 * 2 < 4 is false: nobody half idle
        assert_eq!(s.to("192.0.2.10", 2 * S), Some(1));
        s.d(2).counters.set(1, 0); // 1 * 2 < 4: server 2 is half idle -> reschedule by wlc
        assert_eq!(s.to("192.0.2.10", 3 * S), Some(2));
        // The entry now names 2 (ip_vs_lblc_new replaced it).
        s.d(1).counters.set(0, 0);
        assert_eq!(s.to("192.0.2.10", 4 * S), Some(2));
    }

    #[test]
    fn lblc_ignores_the_threshold_flag_of_a_cached_server() {
        // ip_vs_lblc_schedule tests IP_VS_DEST_F_AVAILABLE, weight and is_overloaded only; the
        // IP_VS_DEST_F_OVERLOAD flag set by -x keeps only *new* destinations away (wlc).
        let mut s = lblc(&[(1, 1), (2, 1)]);
        assert_eq!(s.to("192.0.2.10", S), Some(1));
        s.d(1).counters.set_overloaded(true);
        assert_eq!(s.to("192.0.2.10", 2 * S), Some(1));
        assert_eq!(s.to("192.0.2.99", 3 * S), Some(2));
    }

    #[test]
    fn lblc_quiesced_or_removed_cached_server_is_replaced() {
        let mut s = lblc(&[(1, 1), (2, 1), (3, 1)]);
        assert_eq!(s.to("192.0.2.10", S), Some(1));
        s.set_weight(1, 0);
        s.d(2).counters.set(1, 0);
        assert_eq!(s.to("192.0.2.10", 2 * S), Some(3));
        s.remove(3);
        assert_eq!(s.to("192.0.2.10", 3 * S), Some(2));
        // Nothing available: no destination, and the entry keeps naming 2.
        s.set_weight(2, 0);
        assert_eq!(s.to("192.0.2.10", 4 * S), None);
        s.set_weight(2, 1);
        s.set_weight(1, 1);
        s.d(2).counters.set(9, 0);
        // 2 is back with weight 1 and 9 active > 1, but nobody is half idle (1 * 2 < 1 is
        // false for the idle weight-1 server 1: 0 * 2 < 1 is true!) -> rescheduled to 1.
        assert_eq!(s.to("192.0.2.10", 5 * S), Some(1));
    }

    #[test]
    fn lblc_removed_then_readded_server_is_cached_again() {
        // A cache entry keeps naming a removed server (the kernel keeps it in the trash); when
        // no other server could replace it, the entry stays, and the server added back (same
        // id, as the kernel revives it from the trash) is found again.
        let mut s = lblc(&[(1, 1)]);
        assert_eq!(s.to("192.0.2.10", S), Some(1));
        s.remove(1);
        assert_eq!(s.to("192.0.2.10", 2 * S), None);
        s.add(rs(2, 1));
        s.add(rs(1, 1)); // list [1, 2]
        s.d(1).counters.set(0, 3); // wlc would pick 2; not lblc-overloaded (0 active)
        assert_eq!(s.to("192.0.2.10", 3 * S), Some(1));
    }

    #[test]
    fn replacing_a_server_counts_an_extra_entry_as_the_kernel() {
        // ip_vs_lblc_new: ip_vs_lblc_del (no atomic_dec) + ip_vs_lblc_hash (atomic_inc).
        let mut s = lblc(&[(1, 1), (2, 1)]);
        s.to("192.0.2.10", S);
        assert_eq!(s.sched.stats().0, 1);
        assert_eq!(s.sched.stats().1, 1);
        s.set_weight(1, 0);
        assert_eq!(s.to("192.0.2.10", 2 * S), Some(2));
        let (live, count, _, _) = s.sched.stats();
        assert_eq!((live, count), (1, 2));
    }

    #[test]
    fn full_check_every_thirty_minutes_drops_day_old_entries() {
        // Created at 0: firings at 60 s, 120 s, ...; counter 1 -> 30 by the 29th, the 30th
        // (1800 s) runs ip_vs_lblc_full_check, then every 30th after it. An entry last used at
        // 10 s is stale from 10 + 86400 s; the first full check after that is at 49 * 1800 =
        // 88200 s.
        let mut s = lblc(&[(1, 1), (2, 1)]);
        assert_eq!(s.to("192.0.2.10", 10 * S), Some(1));
        s.d(1).counters.set(1, 0); // wlc now prefers 2
        s.sched.gc(88_199 * S);
        assert_eq!(s.sched.stats().0, 1);
        assert_eq!(s.sched.stats().3, 30); // the next firing is a full check
                                           // A packet at exactly 88200 s: the timer due then fires first.
        assert_eq!(s.to("192.0.2.10", 88_200 * S), Some(2));
        let (live, count, rover, counter) = s.sched.stats();
        assert_eq!((live, count, rover, counter), (1, 1, 0, 1));
    }

    #[test]
    fn an_entry_used_just_in_time_survives_the_full_check() {
        let mut s = lblc(&[(1, 1), (2, 1)]);
        assert_eq!(s.to("192.0.2.10", 10 * S), Some(1));
        s.d(1).counters.set(1, 0);
        // Used at 1801 s: stale only from 88201 s; the full check at 88200 s keeps it, the
        // next one (90000 s) drops it.
        assert_eq!(s.to("192.0.2.10", 1801 * S), Some(1));
        assert_eq!(s.to("192.0.2.11", 88_200 * S), Some(2));
        assert_eq!(s.sched.stats().0, 2);
        s.sched.gc(90_000 * S);
        assert_eq!(s.sched.stats().0, 1); // 192.0.2.11, used at 88200 s, stays
        assert_eq!(s.to("192.0.2.10", 90_000 * S), Some(2));
    }

    #[test]
    fn expiration_is_a_parameter() {
        // net.ipv4.vs.lblc_expiration = 1 minute: the first full check (1800 s) drops it.
        let params = SchedParams {
            lblc_expiration_ns: 60 * S,
            ..Default::default()
        };
        let mut s = Svc::new(Kind::Lblc, &[(1, 1), (2, 1)], params);
        assert_eq!(s.to("192.0.2.10", S), Some(1));
        s.d(1).counters.set(1, 0);
        assert_eq!(s.to("192.0.2.10", 1799 * S), Some(1));
        s.sched.gc(1800 * S);
        assert_eq!(s.sched.stats().0, 1); // used at 1799 s: fresh
        s.sched.gc(3600 * S);
        assert_eq!(s.sched.stats().0, 0);
    }

    #[test]
    fn timers_count_from_the_services_creation() {
        // created_ns = 30 s: firings at 90 s, 150 s, ...; the 30th (full check) at 1830 s.
        let params = SchedParams {
            created_ns: 30 * S,
            lblc_expiration_ns: 60 * S,
            ..Default::default()
        };
        let mut s = Svc::new(Kind::Lblc, &[(1, 1)], params);
        s.to("192.0.2.10", 31 * S);
        s.sched.gc(1829 * S);
        assert_eq!(s.sched.stats().0, 1);
        s.sched.gc(1830 * S);
        assert_eq!(s.sched.stats().0, 0);
    }

    fn addr(n: u32) -> String {
        std::net::Ipv4Addr::from(0xc600_0000 + n).to_string()
    }

    #[test]
    fn over_max_size_the_six_minute_collection_runs_from_the_rover() {
        // ip_vs_lblc_check_expire with entries > max_size (16384): goal =
        // (entries - max_size) * 4 / 3, capped at max_size / 2; whole buckets from rover + 1
        // lose their entries unused for ENTRY_TIMEOUT until the goal is met.
        let n = 30_000u32;
        let mut s = lblc(&[(1, 1)]);
        for k in 0..n {
            assert_eq!(s.to(&addr(k), S), Some(1));
        }
        // Firings at 60..360 s find nothing 6 minutes old (stale from 361 s) and leave the
        // counter alone (entries > max_size).
        s.sched.gc(360 * S);
        assert_eq!(s.sched.stats(), (n as usize, n as i32, 0, 1));
        // Expected from the bucket sizes: buckets 1, 2, ... until (30000 - 16384) * 4 / 3 =
        // 18154, capped at 8192, entries are gone.
        let mut size = vec![0i32; TAB_SIZE];
        for k in 0..n {
            let a: IpAddr = addr(k).parse().expect("address");
            size[Locality::bucket_of(a)] += 1;
        }
        let (mut goal, mut j, mut gone) = (8192, 0usize, 0);
        loop {
            j += 1;
            goal -= size[j];
            gone += size[j];
            if goal <= 0 {
                break;
            }
        }
        s.sched.gc(420 * S);
        let (live, count, rover, counter) = s.sched.stats();
        assert_eq!(
            (live, count, rover, counter),
            ((n as i32 - gone) as usize, n as i32 - gone, j, 1)
        );
        // Still above max_size: the next firing goes on from bucket j + 1, goal
        // (entries - 16384) * 4 / 3.
        let left = n as i32 - gone - 16_384;
        let mut goal = left * 4 / 3;
        let mut j2 = j;
        let mut gone2 = 0;
        loop {
            j2 += 1;
            goal -= size[j2];
            gone2 += size[j2];
            if goal <= 0 {
                break;
            }
        }
        s.sched.gc(480 * S);
        let (live, count, rover, _) = s.sched.stats();
        assert_eq!((live, rover), ((n as i32 - gone - gone2) as usize, j2));
        // Now under max_size: the next firings only count towards the full check.
        assert!(count <= 16_384);
        s.sched.gc(540 * S);
        assert_eq!(s.sched.stats(), (live, count, j2, 2));
        // Used entries are spared: a packet for a dropped destination creates it again.
        assert_eq!(s.to(&addr(0), 481 * S), Some(1));
    }

    #[test]
    fn a_full_table_schedules_without_caching() {
        // The kernel's kmalloc(GFP_ATOMIC) failure path: "we'll just use the valid dest".
        let params = SchedParams {
            locality_capacity: 2,
            ..Default::default()
        };
        let mut s = Svc::new(Kind::Lblc, &[(1, 1), (2, 1)], params);
        assert_eq!(s.to("192.0.2.1", S), Some(1));
        assert_eq!(s.to("192.0.2.2", S), Some(1));
        assert_eq!(s.to("192.0.2.3", S), Some(1));
        assert_eq!(s.sched.stats().0, 2);
        s.d(1).counters.set(1, 0);
        assert_eq!(s.to("192.0.2.1", S), Some(1)); // cached
        assert_eq!(s.to("192.0.2.3", S), Some(2)); // not cached: wlc
    }

    #[test]
    fn idle_years_fast_forward() {
        // An empty table skips the firings in one step, keeping the counter's phase.
        let mut s = lblc(&[(1, 1)]);
        s.sched.gc(u64::MAX / 2);
        let counter = s.sched.stats().3;
        let k = (u64::MAX / 2 - 60 * S) / (60 * S) + 1;
        assert_eq!(counter as u64, k % 30 + 1);
        assert_eq!(s.to("192.0.2.1", u64::MAX / 2 + 1), Some(1));
        s.sched.gc(u64::MAX);
        assert_eq!(s.to("192.0.2.1", u64::MAX), Some(1));
    }

    #[test]
    fn lblcr_adds_servers_to_the_set_and_uses_its_least_loaded() {
        // ip_vs_lblcr_schedule: set_min of {1}; when lblc-overloaded, wlc picks 2 which joins
        // the set at its head; then set_min over [2, 1].
        let mut s = lblcr(&[(1, 2), (2, 2), (3, 2)]);
        assert_eq!(s.to("192.0.2.10", S), Some(1));
        s.d(1).counters.set(3, 0); // 3 > 2, and 3 is half idle
        assert_eq!(s.to("192.0.2.10", 2 * S), Some(2));
        // Set [2, 1]: 2 has 0 active -> 2. Server 3 (idle) is not in the set, not considered.
        assert_eq!(s.to("192.0.2.10", 3 * S), Some(2));
        s.d(2).counters.set(2, 0); // 2: 512 / 2, 1: 768 / 2 -> 2
        assert_eq!(s.to("192.0.2.10", 4 * S), Some(2));
        s.d(1).counters.set(2, 0); // tie 512 / 2 each: the first in set order, 2
        assert_eq!(s.to("192.0.2.10", 5 * S), Some(2));
        s.d(2).counters.set(2, 1); // 2: 513 -> 1
        assert_eq!(s.to("192.0.2.10", 6 * S), Some(1));
    }

    #[test]
    fn lblcr_set_min_skips_overloaded_quiesced_and_removed_members() {
        let mut s = lblcr(&[(1, 2), (2, 2), (3, 2)]);
        assert_eq!(s.to("192.0.2.10", S), Some(1));
        s.d(1).counters.set(3, 0);
        assert_eq!(s.to("192.0.2.10", 2 * S), Some(2)); // set [2, 1]
        s.d(1).counters.set(0, 0);
        s.d(2).counters.set(1, 0);
        assert_eq!(s.to("192.0.2.10", 3 * S), Some(1));
        // The threshold flag does count inside the set (ip_vs_dest_set_min).
        s.d(1).counters.set_overloaded(true);
        assert_eq!(s.to("192.0.2.10", 4 * S), Some(2));
        s.d(1).counters.set_overloaded(false);
        s.set_weight(1, 0);
        assert_eq!(s.to("192.0.2.10", 5 * S), Some(2));
        s.set_weight(1, 2);
        s.remove(1);
        assert_eq!(s.to("192.0.2.10", 6 * S), Some(2));
    }

    #[test]
    fn lblcr_old_sets_lose_their_most_loaded_member() {
        // More than one member and lastmod + lblcr_expiration passed: ip_vs_dest_set_max's
        // member is erased at the next lookup, which still returns set_min's pick.
        let params = SchedParams {
            lblcr_expiration_ns: 600 * S,
            ..Default::default()
        };
        let mut s = Svc::new(Kind::Lblcr, &[(1, 2), (2, 2), (3, 2)], params);
        assert_eq!(s.to("192.0.2.10", S), Some(1));
        s.d(1).counters.set(3, 0);
        assert_eq!(s.to("192.0.2.10", 2 * S), Some(2)); // set [2, 1], lastmod 2 s
        s.d(1).counters.set(1, 0);
        // At 602 s: not after lastmod + 600 s yet.
        assert_eq!(s.to("192.0.2.10", 602 * S), Some(2));
        // At 603 s: erase set_max = 1 (256 / 2 against 0 / 2); set_min had chosen 2 anyway.
        assert_eq!(s.to("192.0.2.10", 603 * S), Some(2));
        // Now {2} alone: even when 1 is idle and 2 busy (but not lblc-overloaded), 2 it is.
        s.d(1).counters.set(0, 0);
        s.d(2).counters.set(2, 0);
        assert_eq!(s.to("192.0.2.10", 604 * S), Some(2));
    }

    #[test]
    fn lblcr_erased_least_is_still_returned() {
        // set_min picks 1, then set_max (weights differ) also names 1: it is erased from the
        // set but still returned for this packet.
        let params = SchedParams {
            lblcr_expiration_ns: 600 * S,
            ..Default::default()
        };
        let mut s = Svc::new(Kind::Lblcr, &[(1, 1), (2, 100), (3, 1)], params);
        assert_eq!(s.to("192.0.2.10", S), Some(1));
        s.d(1).counters.set(2, 0); // 2 > 1 and server 2 is half idle
        assert_eq!(s.to("192.0.2.10", 2 * S), Some(2)); // set [2, 1]
        s.d(1).counters.set(0, 300); // 1: 300 / 1; 2: 60 active -> 15360 / 100 = 153.6
        s.d(2).counters.set(60, 0);
        // set_min: 2 first (153.6), then 1 (300): 2. Make 1 the least instead:
        s.d(1).counters.set(0, 100); // 100 / 1 < 153.6 -> set_min = 1
                                     // set_max: most loaded per weight is 2 (153.6 > 100) -> 2 is erased.
        assert_eq!(s.to("192.0.2.10", 700 * S), Some(1));
        // The set is {1}: 1 again, even though 2 would now be wlc's choice.
        s.d(2).counters.set(0, 0);
        assert_eq!(s.to("192.0.2.10", 701 * S), Some(1));
    }

    #[test]
    fn lblcr_set_max_weighs_removed_members_by_their_last_weight() {
        // A removed member stays in the set (kernel trash) and ip_vs_dest_set_max reads its
        // weight and counters, so it can be the one erased.
        let params = SchedParams {
            lblcr_expiration_ns: 600 * S,
            ..Default::default()
        };
        let mut s = Svc::new(Kind::Lblcr, &[(1, 2), (2, 2), (3, 2)], params);
        assert_eq!(s.to("192.0.2.10", S), Some(1));
        s.d(1).counters.set(3, 0);
        assert_eq!(s.to("192.0.2.10", 2 * S), Some(2)); // set [2, 1]
        let c1 = Arc::clone(&s.d(1).counters);
        s.remove(1);
        c1.set(9, 0); // its connections live on: 2304 / 2 is the most
        s.d(2).counters.set(1, 0);
        assert_eq!(s.to("192.0.2.10", 700 * S), Some(2)); // 1 erased
                                                          // Re-add 1 idle: it is no longer in the set, so 2 stays the pick.
        s.add(rs(1, 2));
        s.d(2).counters.set(2, 0);
        assert_eq!(s.to("192.0.2.10", 701 * S), Some(2));
    }

    #[test]
    fn lblcr_full_check_uses_the_same_timer() {
        let mut s = lblcr(&[(1, 1), (2, 1)]);
        assert_eq!(s.to("192.0.2.10", 10 * S), Some(1));
        s.d(1).counters.set(1, 0);
        s.sched.gc(88_199 * S);
        assert_eq!(s.sched.stats().0, 1);
        assert_eq!(s.to("192.0.2.10", 88_200 * S), Some(2));
    }

    #[test]
    fn no_destination_when_nothing_is_available() {
        for kind in [Kind::Lblc, Kind::Lblcr] {
            let mut s = Svc::new(kind, &[(1, 0)], SchedParams::default());
            assert_eq!(s.to("192.0.2.10", S), None);
            let mut s = Svc::new(kind, &[], SchedParams::default());
            assert_eq!(s.to("192.0.2.10", S), None);
        }
    }

    #[test]
    fn reset_empties_the_table() {
        let mut s = lblc(&[(1, 1), (2, 1)]);
        s.to("192.0.2.10", S);
        s.d(1).counters.set(1, 0);
        s.sched.update(&s.dests, Change::Reset);
        assert_eq!(s.to("192.0.2.10", 2 * S), Some(2));
    }
}
