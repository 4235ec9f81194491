//! How a scheduler learns which real servers' loads changed, so that it need not read every
//! server's counters on every decision.
//!
//! The kernel's `lc`, `wlc`, `sed`, `nq`, `fo`, `ovf` and `twos` scan the whole list on every new
//! connection. rvs makes the same decisions from a structure kept up to date instead (see
//! `tourney.rs` and `twos.rs`): each change of a real server's counters or overload flag is
//! written to its service's [`LoadLog`], a fixed ring of real-server keys, and each scheduler
//! instance (one per worker) replays the entries it has not seen before deciding. With one
//! worker every change is in the log before the next decision, so the decisions are the scan's;
//! with several, a decision sees the changes logged before it, as a scan reading the counters
//! one by one would.
//!
//! A scheduler that falls more than the ring's size behind, or meets an entry overwritten
//! before it read it, rebuilds from the counters (O(n), as one scan).

use crate::Dest;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

/// Entries in a service's ring: more than the changes one worker makes between two decisions
/// in any sane burst; falling behind costs a rebuild, not a wrong decision.
const SLOTS: usize = 4096;
const MASK: u64 = SLOTS as u64 - 1;

/// The ring of load changes of one service's real servers, shared by every worker.
#[derive(Debug)]
pub struct LoadLog {
    /// Entries ever written; the next one goes to `head & MASK`.
    head: AtomicU64,
    /// Keys handed to the service's real servers so far.
    next_key: AtomicU32,
    /// `(position as u32) << 32 | key`: the position tells a reader whether the slot holds the
    /// entry it expects, an older one (not written yet) or a newer one (overwritten).
    slots: Box<[AtomicU64]>,
}

impl LoadLog {
    fn new() -> Self {
        LoadLog {
            head: AtomicU64::new(0),
            next_key: AtomicU32::new(0),
            slots: (0..SLOTS).map(|_| AtomicU64::new(u64::MAX)).collect(),
        }
    }

    /// Record that the real server with `key` changed. Called after the change, so a reader
    /// that sees the entry (acquire) then reads the new counters.
    pub(crate) fn push(&self, key: u32) {
        let pos = self.head.fetch_add(1, Ordering::AcqRel);
        if let Some(slot) = self.slots.get((pos & MASK) as usize) {
            slot.store(
                u64::from(pos as u32) << 32 | u64::from(key),
                Ordering::Release,
            );
        }
    }

    fn head(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }
}

/// A real server's membership of its service's [`LoadLog`]: set once, kept for the life of
/// its counters (a removed server revived with the same address and port keeps it).
#[derive(Debug)]
pub(crate) struct Watch {
    pub(crate) log: Arc<LoadLog>,
    pub(crate) key: u32,
}

/// Let the load-aware schedulers (`lc`, `wlc`, `sed`, `nq`, `fo`, `ovf`, `twos`) of a service
/// decide without scanning its real servers: put every server of `dests` without one into the
/// service's load log (the one its other servers already have, or a new one).
///
/// The owner of the service calls this on the list before building or updating schedulers
/// (rvs's director does it at each configuration). A list whose servers are not all in one log
/// is still scheduled correctly, by scanning as the kernel does. Cheap to call again.
pub fn watch_loads(dests: &[Dest]) {
    let log = dests
        .iter()
        .find_map(|d| d.counters.watch.get().map(|w| Arc::clone(&w.log)))
        .unwrap_or_else(|| Arc::new(LoadLog::new()));
    for d in dests {
        if d.counters.watch.get().is_none() {
            let key = log.next_key.fetch_add(1, Ordering::Relaxed);
            // Losing a race with another caller leaves that caller's log: the schedulers then
            // see two logs and scan.
            let _ = d.counters.watch.set(Watch {
                log: Arc::clone(&log),
                key,
            });
        }
    }
}

/// Whether the scheduler called `name` decides from its servers' loads (and so gains from
/// [`watch_loads`]); the others need not pay for logging changes.
pub fn reads_loads(name: &str) -> bool {
    matches!(
        name,
        "lc" | "wlc" | "sed" | "nq" | "fo" | "ovf" | "twos" | "lblc" | "lblcr"
    )
}

/// What [`LoadView::drain`] found.
pub(crate) enum Drained {
    /// Every logged change has been handed over (or is still being written by another worker
    /// and will be seen at a later decision).
    UpToDate,
    /// Changes were lost to the ring's wrap: rebuild from the counters.
    Rebuild,
}

/// One scheduler instance's reading position in its service's log and the map from server
/// keys to list positions.
#[derive(Debug, Default)]
pub(crate) struct LoadView {
    log: Option<Arc<LoadLog>>,
    /// Next position to read.
    cursor: u64,
    /// `key -> index in the list`, `u32::MAX` for a key not in the list.
    position: Vec<u32>,
    /// The list the view was built for (address and length): a different slice means the
    /// caller changed the list without telling; rebuild rather than trust stale positions.
    list: (usize, usize),
}

impl LoadView {
    /// Start over for `dests`: true when all of them share one log (then the caller reads
    /// their counters after this call and keeps its structure up to date with [`drain`]).
    ///
    /// [`drain`]: LoadView::drain
    pub(crate) fn rebuild(&mut self, dests: &[Dest]) -> bool {
        self.list = (dests.as_ptr() as usize, dests.len());
        self.position.clear();
        self.log = None;
        let Some(first) = dests.first().and_then(|d| d.counters.watch.get()) else {
            return false;
        };
        for (i, d) in dests.iter().enumerate() {
            let Some(w) = d.counters.watch.get() else {
                return false;
            };
            if !Arc::ptr_eq(&w.log, &first.log) {
                return false;
            }
            let k = w.key as usize;
            if self.position.len() <= k {
                self.position.resize(k + 1, u32::MAX);
            }
            if let Some(p) = self.position.get_mut(k) {
                *p = i as u32;
            }
        }
        // Read the head before the caller reads the counters: a change racing with the rebuild
        // is replayed once more, which is harmless.
        self.cursor = first.log.head();
        self.log = Some(Arc::clone(&first.log));
        true
    }

    /// Whether `dests` is the list this view was built for.
    pub(crate) fn is_for(&self, dests: &[Dest]) -> bool {
        self.log.is_some() && self.list == (dests.as_ptr() as usize, dests.len())
    }

    /// Hand every list position whose server changed since the last call to `changed`
    /// (a position may come more than once).
    pub(crate) fn drain(&mut self, mut changed: impl FnMut(usize)) -> Drained {
        let Some(log) = self.log.as_deref() else {
            return Drained::Rebuild;
        };
        let head = log.head();
        if head.wrapping_sub(self.cursor) > SLOTS as u64 {
            return Drained::Rebuild;
        }
        while self.cursor < head {
            let Some(slot) = log.slots.get((self.cursor & MASK) as usize) else {
                return Drained::Rebuild;
            };
            let entry = slot.load(Ordering::Acquire);
            let written = (entry >> 32) as u32;
            let want = self.cursor as u32;
            if written != want {
                // Either not written yet (a worker between its fetch_add and its store: read it
                // next time) or already overwritten by a lap of the ring (lost: rebuild).
                // Positions are compared in 32-bit wrapping arithmetic.
                return if written.wrapping_sub(want) as i32 > 0 && entry != u64::MAX {
                    Drained::Rebuild
                } else {
                    Drained::UpToDate
                };
            }
            let key = entry as u32 as usize;
            if let Some(&p) = self.position.get(key) {
                if p != u32::MAX {
                    changed(p as usize);
                }
            }
            self.cursor += 1;
        }
        Drained::UpToDate
    }
}
