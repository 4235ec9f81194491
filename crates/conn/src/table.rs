//! The per-worker connection table: a preallocated slab of entries, the flow index over both
//! directions, and a hashed timer wheel threaded through the slab.
//!
//! Memory: `with_capacity(n)` allocates three fixed arrays — `n` entry slots, `n` link records
//! (free list / timer wheel / index positions), about `n / 3` index buckets of 64 bytes — and
//! the wheel's [`WHEEL_SLOTS`] list heads. They are boxed slices: nothing can grow them, and no
//! later operation allocates.
//!
//! Timers: a hashed timing wheel of [`WHEEL_SLOTS`] slots of [`TICK_NS`] each (68 minutes per
//! turn). An entry sits in the slot of its expiry tick; `expire(now)` walks the slots of the
//! ticks that have fully passed and reaps the entries that are due, so its cost is the number of
//! entries it reaps plus, rarely, entries whose expiry is more than one turn away (they stay in
//! their slot until their turn). An expiry set in a tick the wheel has already swept goes on an
//! extra "overdue" list that the next `expire` drains first. Consequence, by design: an entry is reaped by the first
//! `expire` whose `now_ns` lies in a later tick than its expiry — never before `expires_ns`, at
//! most one tick (1 s) after it. Kernel IPVS timers are coarser still (the kernel timer wheel's
//! granularity grows with the timeout).

use crate::index::FlowIndex;
use crate::{ConnId, Dir, Entry, FlowKey, InsertError, Key, State};

/// Length of one timer-wheel tick: expiry is resolved to the second, as `ipvsadm` timeouts are.
pub const TICK_NS: u64 = 1_000_000_000;

/// Slots in the timer wheel: one turn is 4096 s (68 min), longer than every default IPVS
/// timeout, so default timeouts never wrap.
pub const WHEEL_SLOTS: usize = 4096;

/// Largest connection limit one table accepts (slab slots are 31-bit in the index);
/// `with_capacity` clamps larger requests to it.
pub const MAX_CONNS: usize = (1 << 31) - 1;

const NIL: u32 = u32::MAX;

/// Wheel list of entries armed for a tick the wheel has already swept past.
const OVERDUE: u32 = WHEEL_SLOTS as u32;

/// Per-slot bookkeeping kept beside the entries, so that the entries stay the caller's shape.
#[derive(Clone, Copy)]
struct Link {
    /// Previous entry in the same wheel slot, or `NIL`.
    prev: u32,
    /// Next entry in the same wheel slot; for a free slot, the next free slot. `NIL` ends both.
    next: u32,
    /// Wheel slot the entry is linked into.
    wheel_slot: u32,
    /// Index home bucket of `in_key`.
    home_in: u32,
    /// Index home bucket of `out_key`, or `NIL`.
    home_out: u32,
}

const FREE_LINK: Link = Link {
    prev: NIL,
    next: NIL,
    wheel_slot: NIL,
    home_in: NIL,
    home_out: NIL,
};

#[inline]
fn tick(ns: u64) -> u64 {
    ns / TICK_NS
}

#[inline]
fn index_val(slot: u32, dir: Dir) -> u32 {
    (slot << 1) | u32::from(dir == Dir::Outbound)
}

/// A worker's connection table, keyed by `K` ([`FlowKey`] for IPv4, `FlowKey6` for IPv6). See
/// the crate documentation.
pub struct ConnTable<T, K = FlowKey> {
    entries: Box<[Option<Entry<T, K>>]>,
    links: Box<[Link]>,
    free_head: u32,
    len: usize,
    index: FlowIndex,
    /// Heads of the wheel slots' lists, plus the overdue list at `OVERDUE`.
    wheel: Box<[u32]>,
    /// First wheel tick not yet fully reaped.
    cursor: u64,
}

impl<T, K: Key> ConnTable<T, K> {
    /// A table for at most `max_conns` connections (clamped to [`MAX_CONNS`]), with hash seed 0.
    #[must_use]
    pub fn with_capacity(max_conns: usize) -> Self {
        Self::with_capacity_and_seed(max_conns, 0)
    }

    /// A table for at most `max_conns` connections (clamped to [`MAX_CONNS`]) whose index hash
    /// is keyed by `seed`: give each worker its own (random) seed, so that one crafted set of
    /// colliding flows cannot hit every table, and tables differ from run to run.
    #[must_use]
    pub fn with_capacity_and_seed(max_conns: usize, seed: u64) -> Self {
        let n = max_conns.min(MAX_CONNS);
        let entries: Box<[Option<Entry<T, K>>]> = (0..n).map(|_| None).collect();
        let mut links = vec![FREE_LINK; n].into_boxed_slice();
        // Free list in slot order: the first insert gets slot 0.
        for (i, l) in links.iter_mut().enumerate() {
            l.next = if i + 1 < n { (i + 1) as u32 } else { NIL };
        }
        ConnTable {
            entries,
            links,
            free_head: if n > 0 { 0 } else { NIL },
            len: 0,
            index: FlowIndex::new(n.saturating_mul(2), seed),
            wheel: vec![NIL; WHEEL_SLOTS + 1].into_boxed_slice(),
            cursor: 0,
        }
    }

    /// The connection a packet with `key` belongs to, and which way the packet travels: a match
    /// on an entry's `in_key` is [`Dir::Inbound`], on its `out_key` [`Dir::Outbound`].
    ///
    /// An entry whose expiry has passed but which `expire` has not reaped yet is still returned:
    /// the engine decides (it may check `expires_ns` against its clock, or simply revive the
    /// connection as the kernel does for a packet that beats the timer).
    #[inline]
    #[must_use]
    pub fn lookup(&self, key: &K) -> Option<(ConnId, Dir)> {
        let h = self.index.hash(key);
        let entries = &self.entries;
        let v = self
            .index
            .find(h, |v| match entries.get((v >> 1) as usize) {
                Some(Some(e)) => {
                    if v & 1 == 0 {
                        e.in_key == *key
                    } else {
                        e.out_key.as_ref() == Some(key)
                    }
                }
                _ => false,
            })?;
        let dir = if v & 1 == 0 {
            Dir::Inbound
        } else {
            Dir::Outbound
        };
        Some((ConnId(v >> 1), dir))
    }

    /// Start the memory loads that looking up `keys` will need, so that a burst's cache misses
    /// overlap instead of being paid one after the other: first every key's index bucket, then
    /// (buckets now in cache) each likely slab entry and its timer links. Changes nothing and
    /// returns nothing useful; call it on a burst's keys before handling its packets one by
    /// one (two-stage, as DPDK's `rte_hash_lookup_bulk`). Safe Rust has no prefetch
    /// instruction: the loads are real, but independent, so the CPU keeps many in flight.
    pub fn prefetch(&self, keys: &[K]) {
        const CHUNK: usize = 32;
        for chunk in keys.chunks(CHUNK) {
            let mut hashes = [0u64; CHUNK];
            let mut sink = 0u32;
            for (h, k) in hashes.iter_mut().zip(chunk) {
                *h = self.index.hash(k);
                sink = sink.wrapping_add(self.index.touch(*h));
            }
            for &h in hashes.iter().take(chunk.len()) {
                if let Some(v) = self.index.first_candidate(h) {
                    let slot = (v >> 1) as usize;
                    if let Some(Some(e)) = self.entries.get(slot) {
                        sink = sink.wrapping_add(e.expires_ns as u32);
                    }
                    if let Some(l) = self.links.get(slot) {
                        sink = sink.wrapping_add(l.wheel_slot);
                    }
                }
            }
            std::hint::black_box(sink);
        }
    }

    /// [`ConnTable::lookup`] and [`ConnTable::get_mut`] in one call.
    #[inline]
    pub fn lookup_mut(&mut self, key: &K) -> Option<(ConnId, Dir, &mut Entry<T, K>)> {
        let (id, dir) = self.lookup(key)?;
        let e = self.get_mut(id)?;
        Some((id, dir, e))
    }

    /// Tracks a new connection and arms its timer at `expires_ns`.
    ///
    /// # Errors
    /// [`InsertError::Exists`] if `in_key` or `out_key` is already tracked (or they are equal);
    /// [`InsertError::Full`] if all `capacity()` slots are taken. The table is unchanged on
    /// error.
    pub fn insert(
        &mut self,
        in_key: K,
        out_key: Option<K>,
        state: State,
        expires_ns: u64,
        data: T,
    ) -> Result<ConnId, InsertError> {
        if self.lookup(&in_key).is_some() {
            return Err(InsertError::Exists);
        }
        if let Some(ok) = &out_key {
            if *ok == in_key || self.lookup(ok).is_some() {
                return Err(InsertError::Exists);
            }
        }
        let slot = self.free_head;
        if slot == NIL {
            return Err(InsertError::Full);
        }
        let s = slot as usize;

        let Some(home_in) = self
            .index
            .insert(self.index.hash(&in_key), index_val(slot, Dir::Inbound))
        else {
            return Err(InsertError::Full);
        };
        let home_out = match &out_key {
            None => NIL,
            Some(ok) => {
                let h = self.index.hash(ok);
                match self.index.insert(h, index_val(slot, Dir::Outbound)) {
                    Some(home) => home,
                    None => {
                        self.index.remove(home_in, index_val(slot, Dir::Inbound));
                        return Err(InsertError::Full);
                    }
                }
            }
        };

        self.free_head = self.links[s].next;
        self.links[s] = Link {
            prev: NIL,
            next: NIL,
            wheel_slot: NIL,
            home_in,
            home_out,
        };
        self.entries[s] = Some(Entry {
            in_key,
            out_key,
            state,
            expires_ns,
            data,
        });
        self.wheel_link(slot, expires_ns);
        self.len += 1;
        Ok(ConnId(slot))
    }

    /// The connection with handle `id`, if it is tracked.
    #[inline]
    #[must_use]
    pub fn get(&self, id: ConnId) -> Option<&Entry<T, K>> {
        self.entries.get(id.0 as usize)?.as_ref()
    }

    /// The connection with handle `id`, mutably (state and data; see [`Entry`] for the keys and
    /// the expiry).
    #[inline]
    pub fn get_mut(&mut self, id: ConnId) -> Option<&mut Entry<T, K>> {
        self.entries.get_mut(id.0 as usize)?.as_mut()
    }

    /// Re-arms the timer of connection `id` to `expires_ns` (earlier or later). Does nothing if
    /// `id` is not tracked. O(1); when the new expiry falls in the same wheel slot — the case
    /// for every packet of a busy connection within one second — it only stores the time.
    pub fn set_expiry(&mut self, id: ConnId, expires_ns: u64) {
        let s = id.0 as usize;
        let Some(Some(e)) = self.entries.get_mut(s) else {
            return;
        };
        e.expires_ns = expires_ns;
        let want = self.slot_for(expires_ns);
        if self.links[s].wheel_slot != want {
            self.wheel_unlink(id.0);
            self.wheel_link(id.0, expires_ns);
        }
    }

    /// Stops tracking connection `id` and returns it, or `None` if it is not tracked.
    pub fn remove(&mut self, id: ConnId) -> Option<Entry<T, K>> {
        let s = id.0 as usize;
        let entry = self.entries.get_mut(s)?.take()?;
        self.wheel_unlink(id.0);
        let link = self.links[s];
        self.index
            .remove(link.home_in, index_val(id.0, Dir::Inbound));
        if link.home_out != NIL {
            self.index
                .remove(link.home_out, index_val(id.0, Dir::Outbound));
        }
        self.links[s] = Link {
            next: self.free_head,
            ..FREE_LINK
        };
        self.free_head = id.0;
        self.len -= 1;
        Some(entry)
    }

    /// As [`ConnTable::expire`], and also every connection of the current one-second slot
    /// whose expiry is at or before `now_ns`: exact to the nanosecond, for replaying a capture
    /// where "timers due at or before a packet's time fire before that packet". It scans the
    /// current slot on every call, so the data path, which calls `expire` every millisecond,
    /// does not use it.
    pub fn expire_exact(
        &mut self,
        now_ns: u64,
        budget: usize,
        mut f: impl FnMut(ConnId, Entry<T, K>),
    ) -> usize {
        let mut reaped = self.expire(now_ns, budget, &mut f);
        let slot = (tick(now_ns) % WHEEL_SLOTS as u64) as usize;
        let mut cur = self.wheel[slot];
        while cur != NIL && reaped < budget {
            let next = self.links[cur as usize].next;
            let due = matches!(&self.entries[cur as usize], Some(e) if e.expires_ns <= now_ns);
            if due {
                if let Some(e) = self.remove(ConnId(cur)) {
                    f(ConnId(cur), e);
                    reaped += 1;
                }
            }
            cur = next;
        }
        reaped
    }

    /// Removes connections whose expiry has passed, at most `budget` of them, handing each to
    /// `f` (the engine decrements real-server counters there). Returns how many expired.
    ///
    /// Reaps exactly the entries whose `expires_ns` lies in a tick (second) before the tick of
    /// `now_ns`: nothing is reaped before its expiry, nothing more than one tick after it, given
    /// enough budget. With a budget too small for the backlog, the rest waits for the next call;
    /// the cost of a call is O(reaped) plus the empty slots it passes. Call it regularly from
    /// the worker loop with a non-decreasing `now_ns`.
    pub fn expire(
        &mut self,
        now_ns: u64,
        budget: usize,
        mut f: impl FnMut(ConnId, Entry<T, K>),
    ) -> usize {
        let now_tick = tick(now_ns);
        let mut reaped = 0;
        // Entries armed for ticks already swept: all due (unless `now_ns` went backwards).
        let mut cur = self.wheel[OVERDUE as usize];
        while cur != NIL && reaped < budget {
            let next = self.links[cur as usize].next;
            if self.is_due(cur, now_tick) {
                if let Some(e) = self.remove(ConnId(cur)) {
                    f(ConnId(cur), e);
                    reaped += 1;
                }
            }
            cur = next;
        }
        let mut swept = 0;
        while self.cursor < now_tick {
            if self.len == 0 {
                // Nothing can be due: skip the empty ticks at once.
                self.cursor = now_tick;
                break;
            }
            if reaped >= budget {
                break;
            }
            let slot = (self.cursor % WHEEL_SLOTS as u64) as usize;
            let mut cur = self.wheel[slot];
            let mut out_of_budget = false;
            while cur != NIL {
                let next = self.links[cur as usize].next;
                if self.is_due(cur, now_tick) {
                    if reaped >= budget {
                        out_of_budget = true;
                        break;
                    }
                    if let Some(e) = self.remove(ConnId(cur)) {
                        f(ConnId(cur), e);
                        reaped += 1;
                    }
                }
                cur = next;
            }
            if out_of_budget {
                break;
            }
            self.cursor += 1;
            swept += 1;
            if swept >= WHEEL_SLOTS {
                // Every slot was swept against this `now`: all that is due is gone, and the
                // ticks up to `now_tick` need no visit.
                self.cursor = now_tick;
                break;
            }
        }
        reaped
    }

    /// Number of tracked connections.
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Maximum number of connections (fixed at creation).
    #[inline]
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Whether no connection is tracked.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// All tracked connections in slot order, for listings (`ipvsadm -L -c`).
    pub fn iter(&self) -> impl Iterator<Item = (ConnId, &Entry<T, K>)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (ConnId(i as u32), e)))
    }

    /// Bytes of memory the table holds (entries, links, index, wheel), for sizing reports.
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        self.entries.len() * std::mem::size_of::<Option<Entry<T, K>>>()
            + self.links.len() * std::mem::size_of::<Link>()
            + self.index.buckets() * 64
            + self.wheel.len() * std::mem::size_of::<u32>()
    }

    /// Wheel list for an expiry: its tick's slot, or the overdue list for a tick the wheel has
    /// already swept (so it is reaped by the next `expire`, not one wheel turn later).
    #[inline]
    fn slot_for(&self, expires_ns: u64) -> u32 {
        let t = tick(expires_ns);
        if t < self.cursor {
            OVERDUE
        } else {
            (t % WHEEL_SLOTS as u64) as u32
        }
    }

    #[inline]
    fn is_due(&self, slot: u32, now_tick: u64) -> bool {
        matches!(&self.entries[slot as usize], Some(e) if tick(e.expires_ns) < now_tick)
    }

    fn wheel_link(&mut self, slot: u32, expires_ns: u64) {
        let w = self.slot_for(expires_ns);
        let head = self.wheel[w as usize];
        let s = slot as usize;
        self.links[s].prev = NIL;
        self.links[s].next = head;
        self.links[s].wheel_slot = w;
        if head != NIL {
            self.links[head as usize].prev = slot;
        }
        self.wheel[w as usize] = slot;
    }

    fn wheel_unlink(&mut self, slot: u32) {
        let s = slot as usize;
        let Link {
            prev,
            next,
            wheel_slot,
            ..
        } = self.links[s];
        if wheel_slot == NIL {
            return;
        }
        if prev == NIL {
            self.wheel[wheel_slot as usize] = next;
        } else {
            self.links[prev as usize].next = next;
        }
        if next != NIL {
            self.links[next as usize].prev = prev;
        }
        self.links[s].prev = NIL;
        self.links[s].next = NIL;
        self.links[s].wheel_slot = NIL;
    }

    /// Addresses and lengths of every internal array, to prove they never move or grow.
    #[cfg(test)]
    fn storage_fingerprint(&self) -> [(usize, usize); 4] {
        [
            (self.entries.as_ptr() as usize, self.entries.len()),
            (self.links.as_ptr() as usize, self.links.len()),
            (self.index.buckets_ptr() as usize, self.index.buckets()),
            (self.wheel.as_ptr() as usize, self.wheel.len()),
        ]
    }

    /// Checks every internal invariant; panics with a description if one is broken.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        // Free list + live entries cover every slot exactly once.
        let mut seen = vec![false; self.entries.len()];
        let mut f = self.free_head;
        let mut free = 0;
        while f != NIL {
            assert!(!seen[f as usize], "free list cycle");
            seen[f as usize] = true;
            assert!(
                self.entries[f as usize].is_none(),
                "live entry on free list"
            );
            free += 1;
            f = self.links[f as usize].next;
        }
        let live = self.entries.iter().filter(|e| e.is_some()).count();
        assert_eq!(live, self.len);
        assert_eq!(live + free, self.entries.len());
        // Every live entry is on exactly the wheel list its link names, and findable by keys.
        let mut on_wheel = 0;
        for (w, &head) in self.wheel.iter().enumerate() {
            let mut cur = head;
            let mut prev = NIL;
            while cur != NIL {
                let l = self.links[cur as usize];
                assert_eq!(l.wheel_slot as usize, w);
                assert_eq!(l.prev, prev);
                assert!(self.entries[cur as usize].is_some());
                on_wheel += 1;
                prev = cur;
                cur = l.next;
            }
        }
        assert_eq!(on_wheel, self.len);
        for (id, e) in self.iter() {
            assert_eq!(self.lookup(&e.in_key), Some((id, Dir::Inbound)));
            if let Some(ok) = &e.out_key {
                assert_eq!(self.lookup(ok), Some((id, Dir::Outbound)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{State, TcpState};
    use std::net::Ipv4Addr;

    const S: u64 = TICK_NS;

    fn cip(i: u32) -> FlowKey {
        FlowKey {
            proto: 6,
            src: Ipv4Addr::from(0xc633_6400 + (i >> 16)), // 198.51.100.0/24 clients
            src_port: (i & 0xffff) as u16,
            dst: Ipv4Addr::new(192, 0, 2, 10), // VIP
            dst_port: 80,
        }
    }

    /// NAT reply key: RIP:8080 → CIP:cport.
    fn reply(i: u32) -> FlowKey {
        let k = cip(i);
        FlowKey {
            proto: 6,
            src: Ipv4Addr::new(10, 0, 0, 2),
            src_port: 8080,
            dst: k.src,
            dst_port: k.src_port,
        }
    }

    const SYN_RECV: State = State::Tcp(TcpState::SynRecv);

    #[test]
    fn exact_expiry_reaps_within_the_current_second() {
        let mut t = ConnTable::with_capacity(8);
        t.insert(cip(1), None, SYN_RECV, 10 * S + S / 2, "a")
            .unwrap();
        t.insert(cip(2), None, SYN_RECV, 10 * S + 9 * S / 10, "b")
            .unwrap();
        // Plain expiry reaps by whole seconds: nothing before second 11.
        assert_eq!(t.expire(10 * S + 6 * S / 10, 10, |_, _| {}), 0);
        let mut gone = vec![];
        assert_eq!(
            t.expire_exact(10 * S + S / 2 - 1, 10, |_, e| gone.push(e.data)),
            0
        );
        assert_eq!(
            t.expire_exact(10 * S + S / 2, 10, |_, e| gone.push(e.data)),
            1
        );
        assert_eq!(gone, vec!["a"]);
        assert_eq!(t.len(), 1);
        // An entry a whole wheel turn later shares the slot and stays.
        t.insert(cip(3), None, SYN_RECV, (10 + WHEEL_SLOTS as u64) * S, "c")
            .unwrap();
        assert_eq!(t.expire_exact(11 * S - 1, 10, |_, e| gone.push(e.data)), 1);
        assert_eq!(gone, vec!["a", "b"]);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn prefetch_changes_nothing() {
        // Known and unknown keys, more than one chunk of 32, an empty slice.
        let mut t = ConnTable::with_capacity(100);
        for i in 0..40 {
            t.insert(cip(i), Some(reply(i)), SYN_RECV, 60 * S, i)
                .unwrap();
        }
        let keys: Vec<FlowKey> = (0..80).map(cip).chain((0..50).map(reply)).collect();
        let before: Vec<_> = keys.iter().map(|k| t.lookup(k)).collect();
        t.prefetch(&keys);
        t.prefetch(&[]);
        let after: Vec<_> = keys.iter().map(|k| t.lookup(k)).collect();
        assert_eq!(before, after);
        assert_eq!(after.iter().filter(|x| x.is_some()).count(), 80);
        assert_eq!(t.len(), 40);
        t.check_invariants();
    }

    #[test]
    fn lookup_from_both_directions() {
        let mut t = ConnTable::with_capacity(8);
        let nat = t
            .insert(cip(1), Some(reply(1)), SYN_RECV, 60 * S, "nat")
            .unwrap();
        let dr = t.insert(cip(2), None, SYN_RECV, 60 * S, "dr").unwrap();
        assert_eq!(t.lookup(&cip(1)), Some((nat, Dir::Inbound)));
        assert_eq!(t.lookup(&reply(1)), Some((nat, Dir::Outbound)));
        assert_eq!(t.lookup(&cip(2)), Some((dr, Dir::Inbound)));
        assert_eq!(t.lookup(&reply(2)), None);
        assert_eq!(t.lookup(&cip(3)), None);
        // The reverse of the inbound key is a different flow.
        assert_eq!(t.lookup(&cip(1).reversed()), None);
        assert_eq!(t.get(nat).unwrap().data, "nat");
        let (id, dir, e) = t.lookup_mut(&reply(1)).unwrap();
        assert_eq!((id, dir), (nat, Dir::Outbound));
        e.state = State::Tcp(TcpState::Established);
        assert_eq!(t.get(nat).unwrap().state, State::Tcp(TcpState::Established));
        assert_eq!(t.len(), 2);
        t.check_invariants();
    }

    #[test]
    fn insert_refuses_known_keys() {
        let mut t = ConnTable::with_capacity(8);
        t.insert(cip(1), Some(reply(1)), SYN_RECV, S, ()).unwrap();
        assert_eq!(
            t.insert(cip(1), None, SYN_RECV, S, ()),
            Err(InsertError::Exists)
        );
        // Someone else's in_key as our out_key, and vice versa.
        assert_eq!(
            t.insert(cip(2), Some(cip(1)), SYN_RECV, S, ()),
            Err(InsertError::Exists)
        );
        assert_eq!(
            t.insert(reply(1), None, SYN_RECV, S, ()),
            Err(InsertError::Exists)
        );
        assert_eq!(
            t.insert(cip(3), Some(cip(3)), SYN_RECV, S, ()),
            Err(InsertError::Exists)
        );
        assert_eq!(t.len(), 1);
        t.check_invariants();
    }

    #[test]
    fn remove_forgets_both_keys() {
        let mut t = ConnTable::with_capacity(4);
        let id = t
            .insert(cip(1), Some(reply(1)), SYN_RECV, 10 * S, 42)
            .unwrap();
        let e = t.remove(id).unwrap();
        assert_eq!((e.in_key, e.out_key, e.data), (cip(1), Some(reply(1)), 42));
        assert_eq!(t.lookup(&cip(1)), None);
        assert_eq!(t.lookup(&reply(1)), None);
        assert!(t.get(id).is_none());
        assert!(t.remove(id).is_none());
        assert!(t.is_empty());
        // Nothing left on the wheel either.
        assert_eq!(
            t.expire(1_000 * S, usize::MAX, |_, _| panic!(
                "removed entry expired"
            )),
            0
        );
        t.check_invariants();
    }

    #[test]
    fn full_table_refuses_and_keeps_its_connections() {
        let mut t = ConnTable::with_capacity(100);
        for i in 0..100 {
            t.insert(cip(i), Some(reply(i)), SYN_RECV, 60 * S, i)
                .unwrap();
        }
        assert_eq!(
            t.insert(cip(100), None, SYN_RECV, 60 * S, 100),
            Err(InsertError::Full)
        );
        assert_eq!(
            t.insert(cip(101), Some(reply(101)), SYN_RECV, 60 * S, 101),
            Err(InsertError::Full)
        );
        // A known flow is reported as known, even when full.
        assert_eq!(
            t.insert(cip(5), None, SYN_RECV, 60 * S, 5),
            Err(InsertError::Exists)
        );
        assert_eq!(t.len(), 100);
        for i in 0..100 {
            let (id, dir) = t.lookup(&cip(i)).unwrap();
            assert_eq!(dir, Dir::Inbound);
            assert_eq!(t.get(id).unwrap().data, i);
            assert_eq!(t.lookup(&reply(i)), Some((id, Dir::Outbound)));
        }
        assert_eq!(t.lookup(&cip(100)), None);
        t.check_invariants();
        // One leaves, one more fits.
        let (id, _) = t.lookup(&cip(7)).unwrap();
        t.remove(id);
        assert!(t.insert(cip(100), None, SYN_RECV, 60 * S, 100).is_ok());
        t.check_invariants();
    }

    #[test]
    fn zero_capacity_table_is_always_full() {
        let mut t = ConnTable::with_capacity(0);
        assert_eq!(t.capacity(), 0);
        assert_eq!(
            t.insert(cip(1), None, SYN_RECV, S, ()),
            Err(InsertError::Full)
        );
        assert_eq!(t.lookup(&cip(1)), None);
        assert!(t.get(ConnId::from_u32(0)).is_none());
        assert_eq!(t.expire(u64::MAX, usize::MAX, |_, _| ()), 0);
    }

    #[test]
    fn unknown_ids_are_harmless() {
        let mut t = ConnTable::<u8>::with_capacity(2);
        for raw in [0, 1, 2, u32::MAX] {
            let id = ConnId::from_u32(raw);
            assert!(t.get(id).is_none());
            assert!(t.get_mut(id).is_none());
            assert!(t.remove(id).is_none());
            t.set_expiry(id, 5 * S);
        }
        t.check_invariants();
    }

    #[test]
    fn slab_slots_are_reused_after_remove() {
        let mut t = ConnTable::with_capacity(3);
        let a = t.insert(cip(1), None, SYN_RECV, S, 'a').unwrap();
        let b = t.insert(cip(2), None, SYN_RECV, S, 'b').unwrap();
        assert_eq!((a.as_u32(), b.as_u32()), (0, 1));
        t.remove(a);
        let c = t.insert(cip(3), None, SYN_RECV, S, 'c').unwrap();
        assert_eq!(c, a, "the freed slot is taken first");
        assert_eq!(t.get(c).unwrap().data, 'c');
        assert_eq!(t.lookup(&cip(1)), None);
        let d = t.insert(cip(4), None, SYN_RECV, S, 'd').unwrap();
        assert_eq!(d.as_u32(), 2);
        assert_eq!(
            t.insert(cip(5), None, SYN_RECV, S, 'e'),
            Err(InsertError::Full)
        );
        t.check_invariants();
    }

    #[test]
    fn expire_reaps_due_entries_only() {
        let mut t = ConnTable::with_capacity(16);
        let base = 1_000 * S;
        let short = t
            .insert(cip(1), Some(reply(1)), SYN_RECV, base + 10 * S, 1)
            .unwrap();
        let long = t.insert(cip(2), None, SYN_RECV, base + 60 * S, 2).unwrap();
        let mut got = Vec::new();
        // Before the expiry tick has passed: nothing.
        assert_eq!(
            t.expire(base + 10 * S, usize::MAX, |id, e| got.push((id, e.data))),
            0
        );
        assert_eq!(
            t.expire(base + 10 * S + S - 1, usize::MAX, |id, e| got
                .push((id, e.data))),
            0
        );
        // Once the tick of the expiry is over, the short one goes.
        assert_eq!(
            t.expire(base + 11 * S, usize::MAX, |id, e| got.push((id, e.data))),
            1
        );
        assert_eq!(got, vec![(short, 1)]);
        assert_eq!(t.lookup(&cip(1)), None);
        assert_eq!(t.lookup(&reply(1)), None);
        assert_eq!(t.lookup(&cip(2)), Some((long, Dir::Inbound)));
        assert_eq!(
            t.expire(base + 61 * S, usize::MAX, |id, e| got.push((id, e.data))),
            1
        );
        assert_eq!(got, vec![(short, 1), (long, 2)]);
        assert!(t.is_empty());
        t.check_invariants();
    }

    #[test]
    fn expire_respects_budget_and_resumes() {
        let mut t = ConnTable::with_capacity(100);
        for i in 0..50 {
            // All in one second.
            t.insert(cip(i), None, SYN_RECV, 100 * S + u64::from(i), i)
                .unwrap();
        }
        for i in 50..60 {
            t.insert(cip(i), None, SYN_RECV, 105 * S, i).unwrap();
        }
        let now = 200 * S;
        let mut seen = Vec::new();
        assert_eq!(t.expire(now, 0, |_, e| seen.push(e.data)), 0);
        assert_eq!(t.expire(now, 20, |_, e| seen.push(e.data)), 20);
        assert_eq!(t.len(), 40);
        assert_eq!(t.expire(now, 20, |_, e| seen.push(e.data)), 20);
        assert_eq!(t.len(), 20);
        assert_eq!(t.expire(now, 15, |_, e| seen.push(e.data)), 15);
        assert_eq!(t.expire(now, 20, |_, e| seen.push(e.data)), 5);
        assert_eq!(t.expire(now, 20, |_, e| seen.push(e.data)), 0);
        seen.sort_unstable();
        assert_eq!(seen, (0..60).collect::<Vec<_>>());
        assert!(t.is_empty());
        t.check_invariants();
    }

    #[test]
    fn rearmed_timer_moves_the_expiry() {
        let mut t = ConnTable::with_capacity(4);
        let id = t.insert(cip(1), None, SYN_RECV, 10 * S, ()).unwrap();
        // Packet at t=5 s re-arms to 5 + 60 s (the SYN_RECV → ESTABLISHED timeout, say).
        t.set_expiry(id, 65 * S);
        assert_eq!(t.get(id).unwrap().expires_ns, 65 * S);
        assert_eq!(t.expire(20 * S, usize::MAX, |_, _| ()), 0);
        assert!(t.get(id).is_some());
        // Shorten it again (e.g. RST → CLOSE, 10 s).
        t.set_expiry(id, 30 * S);
        assert_eq!(t.expire(30 * S, usize::MAX, |_, _| ()), 0);
        assert_eq!(t.expire(31 * S, usize::MAX, |_, _| ()), 1);
        assert!(t.get(id).is_none());
        t.check_invariants();
    }

    #[test]
    fn expiry_in_the_past_is_reaped_at_next_sweep() {
        let mut t = ConnTable::with_capacity(4);
        let keep = t.insert(cip(9), None, SYN_RECV, 10_000 * S, ()).unwrap();
        t.expire(500 * S, usize::MAX, |_, _| ());
        let id = t.insert(cip(1), None, SYN_RECV, 3 * S, ()).unwrap();
        assert_eq!(t.expire(501 * S, usize::MAX, |_, _| ()), 1);
        assert!(t.get(id).is_none());
        assert!(t.get(keep).is_some());
        t.check_invariants();
    }

    #[test]
    fn expiry_armed_behind_the_sweep_is_reaped_in_the_same_tick() {
        let mut t = ConnTable::with_capacity(4);
        let now = 700 * S + S / 2;
        assert_eq!(t.expire(now, usize::MAX, |_, _| ()), 0); // wheel swept up to 700 s
        let id = t.insert(cip(1), None, SYN_RECV, 699 * S, ()).unwrap();
        let other = t.insert(cip(2), None, SYN_RECV, 700 * S, ()).unwrap();
        // Same `now`: the one due in an earlier tick goes, the one in this tick stays.
        assert_eq!(t.expire(now, usize::MAX, |_, _| ()), 1);
        assert!(t.get(id).is_none());
        // Re-arming behind the sweep works the same way.
        t.set_expiry(other, 100 * S);
        assert_eq!(t.expire(now, 0, |_, _| ()), 0);
        assert_eq!(t.expire(now, 1, |_, _| ()), 1);
        assert!(t.is_empty());
        t.check_invariants();
    }

    #[test]
    fn expiries_beyond_one_wheel_turn() {
        let mut t = ConnTable::with_capacity(4);
        let turn = WHEEL_SLOTS as u64 * S;
        let far = t
            .insert(cip(1), None, SYN_RECV, 2 * turn + 5 * S, ())
            .unwrap();
        let near = t.insert(cip(2), None, SYN_RECV, 5 * S, ()).unwrap();
        // Same wheel slot, one reaped at its turn, the far one kept.
        assert_eq!(t.expire(6 * S, usize::MAX, |_, _| ()), 1);
        assert!(t.get(near).is_none());
        for k in 1..=2 {
            assert_eq!(
                t.expire(k * turn + 6 * S, usize::MAX, |_, _| ()),
                usize::from(k == 2)
            );
        }
        assert!(t.get(far).is_none());
        t.check_invariants();
    }

    #[test]
    fn long_idle_gap_is_caught_up() {
        let mut t = ConnTable::with_capacity(8);
        // Clock starts at a large value, as CLOCK_MONOTONIC does.
        let t0 = 1_700_000_000 * S;
        t.insert(cip(1), None, SYN_RECV, t0 + 100 * S, ()).unwrap();
        t.insert(cip(2), None, SYN_RECV, t0 + 9_000 * S, ())
            .unwrap();
        t.insert(cip(3), None, SYN_RECV, t0 + 90_000 * S, ())
            .unwrap();
        assert_eq!(t.expire(t0 + 10_000 * S, usize::MAX, |_, _| ()), 2);
        assert_eq!(t.len(), 1);
        assert_eq!(t.expire(t0 + 90_001 * S, usize::MAX, |_, _| ()), 1);
        t.check_invariants();
    }

    #[test]
    fn storage_never_moves_or_grows() {
        let n = 10_000;
        let mut t = ConnTable::with_capacity_and_seed(n, 99);
        let before = t.storage_fingerprint();
        for round in 0..3u64 {
            for i in 0..n as u32 {
                t.insert(
                    cip(i),
                    Some(reply(i)),
                    SYN_RECV,
                    (round * 100 + 10) * S + u64::from(i),
                    i,
                )
                .unwrap();
            }
            assert_eq!(
                t.insert(cip(n as u32), None, SYN_RECV, S, 0),
                Err(InsertError::Full)
            );
            assert_eq!(t.storage_fingerprint(), before);
            // Half go by expiry, half by removal.
            for i in (0..n as u32).step_by(2) {
                let (id, _) = t.lookup(&cip(i)).unwrap();
                t.remove(id);
            }
            assert_eq!(
                t.expire((round * 100 + 50) * S, usize::MAX, |_, _| ()),
                n / 2
            );
            assert!(t.is_empty());
            assert_eq!(t.storage_fingerprint(), before);
        }
        t.check_invariants();
    }

    #[test]
    fn tables_with_different_seeds_still_agree_on_content() {
        let mut a = ConnTable::with_capacity_and_seed(64, 1);
        let mut b = ConnTable::with_capacity_and_seed(64, 2);
        for i in 0..64 {
            a.insert(cip(i), Some(reply(i)), SYN_RECV, S, i).unwrap();
            b.insert(cip(i), Some(reply(i)), SYN_RECV, S, i).unwrap();
        }
        for i in 0..64 {
            let (ia, _) = a.lookup(&reply(i)).unwrap();
            let (ib, _) = b.lookup(&reply(i)).unwrap();
            assert_eq!(a.get(ia).unwrap().data, b.get(ib).unwrap().data);
        }
    }

    #[test]
    fn iter_lists_every_connection() {
        let mut t = ConnTable::with_capacity(8);
        for i in 0..5 {
            t.insert(cip(i), None, SYN_RECV, S, i).unwrap();
        }
        let (id, _) = t.lookup(&cip(2)).unwrap();
        t.remove(id);
        let listed: Vec<u32> = t.iter().map(|(_, e)| e.data).collect();
        assert_eq!(listed, vec![0, 1, 3, 4]);
        for (id, e) in t.iter() {
            assert_eq!(t.get(id), Some(e));
        }
    }

    fn cip6(i: u32) -> crate::FlowKey6 {
        crate::FlowKey6 {
            proto: 6,
            src: std::net::Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(i)),
            src_port: 40000,
            dst: "2001:db8::100".parse().unwrap(),
            dst_port: 80,
        }
    }

    /// The same table works over IPv6 keys: both directions, expiry, removal, full.
    #[test]
    fn ipv6_keys_from_both_directions() {
        let mut t: ConnTable<u32, crate::FlowKey6> = ConnTable::with_capacity(4);
        let reply6 = |i: u32| crate::FlowKey6 {
            proto: 6,
            src: "2001:db8:1::10".parse().unwrap(),
            src_port: 8080,
            dst: cip6(i).src,
            dst_port: 40000,
        };
        let a = t
            .insert(cip6(1), Some(reply6(1)), SYN_RECV, 10 * S, 1)
            .unwrap();
        let b = t.insert(cip6(2), None, SYN_RECV, 20 * S, 2).unwrap();
        assert_eq!(t.lookup(&cip6(1)), Some((a, Dir::Inbound)));
        assert_eq!(t.lookup(&reply6(1)), Some((a, Dir::Outbound)));
        assert_eq!(t.lookup(&cip6(2)), Some((b, Dir::Inbound)));
        assert_eq!(t.lookup(&cip6(1).reversed()), None);
        assert_eq!(
            t.insert(cip6(3), Some(cip6(1)), SYN_RECV, S, 3),
            Err(InsertError::Exists)
        );
        t.check_invariants();
        assert_eq!(
            t.expire(11 * S, usize::MAX, |_, e| assert_eq!(e.data, 1)),
            1
        );
        assert_eq!(t.lookup(&reply6(1)), None);
        for i in 3..6 {
            t.insert(cip6(i), None, SYN_RECV, 60 * S, i).unwrap();
        }
        assert_eq!(
            t.insert(cip6(9), None, SYN_RECV, 60 * S, 9),
            Err(InsertError::Full)
        );
        t.check_invariants();
    }

    /// What a connection costs in each family's table before the engine's data: IPv6 keys
    /// (two of them, in and out) add 48 bytes; the IPv4 entry is the 40 bytes it was before
    /// the table became generic.
    #[test]
    fn entry_sizes_per_family() {
        use std::mem::size_of;
        assert_eq!(size_of::<FlowKey>(), 14);
        assert_eq!(size_of::<crate::FlowKey6>(), 38);
        // Keys, state and expiry, without the engine's data.
        assert_eq!(size_of::<Option<Entry<(), FlowKey>>>(), 40);
        assert_eq!(size_of::<Option<Entry<(), crate::FlowKey6>>>(), 88);
    }

    #[test]
    fn memory_is_reported() {
        let t = ConnTable::<u64>::with_capacity(1000);
        // Entries + links + 334 index buckets of 64 B + wheel heads.
        assert!(t.memory_bytes() > 1000 * (std::mem::size_of::<Entry<u64>>() + 20));
        assert!(
            t.memory_bytes()
                <= 1000 * (std::mem::size_of::<Option<Entry<u64>>>() + 20)
                    + 334 * 64
                    + 4 * (WHEEL_SLOTS + 1)
        );
    }
}
