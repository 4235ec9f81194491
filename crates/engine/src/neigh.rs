//! The neighbour table: next-hop address → MAC address, learnt by ARP (RFC 826) for IPv4 and
//! by Neighbor Discovery (RFC 4861) for IPv6, with a small bounded queue of frames waiting
//! while an address is being resolved (as Linux's `unres_qlen`), retries once a second, and a
//! give-up after [`MAX_PROBES`] tries. A worker keeps one table per address family; the
//! policy is the same for both (RFC 4861 §7.3.3 and §10 give the same shape: a few
//! solicitations a second apart, a small queue per entry).

use std::hash::Hash;
use std::net::Ipv4Addr;

use hashbrown::HashMap;
use rvs_wire::MacAddr;

use crate::director::PortIdx;

/// Frames kept per unresolved neighbour; more are dropped (counted by the caller).
pub const QUEUE_LEN: usize = 8;
/// ARP requests sent for one unresolved neighbour before its frames are dropped.
pub const MAX_PROBES: u8 = 3;
/// Interval between ARP requests for one neighbour.
pub const PROBE_INTERVAL_NS: u64 = 1_000_000_000;
/// A resolved entry not confirmed for this long is re-probed (it stays usable meanwhile).
pub const REFRESH_NS: u64 = 60 * 1_000_000_000;
/// A resolved entry not confirmed for this long is forgotten.
pub const FORGET_NS: u64 = 600 * 1_000_000_000;

struct Entry<B> {
    mac: Option<MacAddr>,
    /// Configured, not learnt: never probed, forgotten or changed by ARP.
    permanent: bool,
    confirmed_ns: u64,
    probed_ns: u64,
    probes: u8,
    queue: [Option<B>; QUEUE_LEN],
    queued: usize,
}

/// What became of a frame handed to [`Neighbours::hold`].
#[derive(Debug)]
pub enum Held<B> {
    /// Queued; when `probe` is true the caller sends an ARP request now.
    Queued {
        /// Send an ARP request for the address now.
        probe: bool,
    },
    /// The queue (or the table) is full: the frame comes back to be dropped.
    Full(B),
}

/// One worker's neighbour table for addresses of type `A` (IPv4 by default, `Ipv6Addr` for
/// ND).
pub struct Neighbours<B, A = Ipv4Addr> {
    entries: HashMap<(PortIdx, A), Entry<B>>,
    max_entries: usize,
}

impl<B, A: Copy + Eq + Hash> Neighbours<B, A> {
    /// A table holding at most `max_entries` neighbours, allocated now.
    pub fn new(max_entries: usize) -> Self {
        Neighbours {
            entries: HashMap::with_capacity(max_entries),
            max_entries,
        }
    }

    /// The MAC address of `addr` on `port`, if resolved.
    #[inline]
    pub fn lookup(&self, port: PortIdx, addr: A) -> Option<MacAddr> {
        self.entries.get(&(port, addr)).and_then(|e| e.mac)
    }

    /// Keep `pkt` until `addr` on `port` is resolved.
    pub fn hold(&mut self, port: PortIdx, addr: A, pkt: B, now_ns: u64) -> Held<B> {
        if !self.entries.contains_key(&(port, addr)) && self.entries.len() >= self.max_entries {
            return Held::Full(pkt);
        }
        let e = self.entries.entry((port, addr)).or_insert_with(|| Entry {
            mac: None,
            permanent: false,
            confirmed_ns: 0,
            probed_ns: 0,
            probes: 0,
            queue: std::array::from_fn(|_| None),
            queued: 0,
        });
        if e.queued >= QUEUE_LEN {
            return Held::Full(pkt);
        }
        e.queue[e.queued] = Some(pkt);
        e.queued += 1;
        let probe = e.probes == 0;
        if probe {
            e.probes = 1;
            e.probed_ns = now_ns;
        }
        Held::Queued { probe }
    }

    /// Record that `addr` on `port` is at `mac` (an ARP packet from it, or a neighbor
    /// solicitation or advertisement). An unknown address is only added when `create` is set
    /// (it asked for one of our addresses, as RFC 826's "merge" step and RFC 4861 §7.2.3
    /// allow). Frames waiting for it are handed to `release` with its MAC. Returns whether an
    /// entry took the MAC (false: unknown and not created, or pinned).
    pub fn learn(
        &mut self,
        port: PortIdx,
        addr: A,
        mac: MacAddr,
        create: bool,
        now_ns: u64,
        mut release: impl FnMut(B, MacAddr),
    ) -> bool {
        let e = match self.entries.get_mut(&(port, addr)) {
            Some(e) => e,
            None => {
                if !create || self.entries.len() >= self.max_entries {
                    return false;
                }
                self.entries.entry((port, addr)).or_insert_with(|| Entry {
                    mac: None,
                    permanent: false,
                    confirmed_ns: 0,
                    probed_ns: 0,
                    probes: 0,
                    queue: std::array::from_fn(|_| None),
                    queued: 0,
                })
            }
        };
        if e.permanent {
            return false;
        }
        e.mac = Some(mac);
        e.confirmed_ns = now_ns;
        e.probes = 0;
        for slot in e.queue.iter_mut().take(e.queued) {
            if let Some(pkt) = slot.take() {
                release(pkt, mac);
            }
        }
        e.queued = 0;
        true
    }

    /// A neighbour we know the MAC of showed it is still there without repeating its MAC (a
    /// solicited advertisement without a target link-layer address option, RFC 4861 §7.2.5):
    /// its entry is confirmed now. Returns whether it was known and resolved.
    pub fn confirm(&mut self, port: PortIdx, addr: A, now_ns: u64) -> bool {
        match self.entries.get_mut(&(port, addr)) {
            Some(e) if e.mac.is_some() && !e.permanent => {
                e.confirmed_ns = now_ns;
                e.probes = 0;
                true
            }
            _ => false,
        }
    }

    /// Timers: re-probe unresolved neighbours once a second, give up after [`MAX_PROBES`]
    /// (frames go to `give_up`), refresh resolved ones older than [`REFRESH_NS`] and forget
    /// those older than [`FORGET_NS`]. `probe` is asked to send an ARP request.
    pub fn tick(
        &mut self,
        now_ns: u64,
        mut probe: impl FnMut(PortIdx, A),
        mut give_up: impl FnMut(B),
    ) {
        self.entries.retain(|&(port, addr), e| {
            if e.permanent {
                return true;
            }
            if e.mac.is_none() {
                if now_ns.saturating_sub(e.probed_ns) < PROBE_INTERVAL_NS {
                    return true;
                }
                if e.probes >= MAX_PROBES {
                    for slot in e.queue.iter_mut().take(e.queued) {
                        if let Some(pkt) = slot.take() {
                            give_up(pkt);
                        }
                    }
                    return false;
                }
                e.probes += 1;
                e.probed_ns = now_ns;
                probe(port, addr);
                return true;
            }
            let age = now_ns.saturating_sub(e.confirmed_ns);
            if age >= FORGET_NS {
                return false;
            }
            if age >= REFRESH_NS && now_ns.saturating_sub(e.probed_ns) >= PROBE_INTERVAL_NS {
                e.probed_ns = now_ns;
                probe(port, addr);
            }
            true
        });
    }

    /// Pin `addr` on `port` to `mac` (a configured static neighbour, like `ip neigh add ...
    /// nud permanent`): never probed, forgotten or overridden by ARP.
    pub fn pin(&mut self, port: PortIdx, addr: A, mac: MacAddr) {
        let e = self.entries.entry((port, addr)).or_insert_with(|| Entry {
            mac: None,
            permanent: true,
            confirmed_ns: 0,
            probed_ns: 0,
            probes: 0,
            queue: std::array::from_fn(|_| None),
            queued: 0,
        });
        e.permanent = true;
        e.mac = Some(mac);
    }

    /// Neighbours known or being resolved.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Resolved neighbours, for listing.
    pub fn resolved(&self) -> impl Iterator<Item = (PortIdx, A, MacAddr)> + '_ {
        self.entries
            .iter()
            .filter_map(|(&(p, a), e)| e.mac.map(|m| (p, a, m)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;
    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }
    const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);

    #[test]
    fn held_frames_are_released_in_order_when_the_neighbour_answers() {
        let mut n: Neighbours<u32> = Neighbours::new(4);
        assert!(matches!(
            n.hold(0, ip("198.18.1.10"), 1, 0),
            Held::Queued { probe: true }
        ));
        assert!(matches!(
            n.hold(0, ip("198.18.1.10"), 2, 0),
            Held::Queued { probe: false }
        ));
        assert_eq!(n.lookup(0, ip("198.18.1.10")), None);
        let mut out = vec![];
        n.learn(0, ip("198.18.1.10"), MAC, false, 5, |p, m| out.push((p, m)));
        assert_eq!(out, vec![(1, MAC), (2, MAC)]);
        assert_eq!(n.lookup(0, ip("198.18.1.10")), Some(MAC));
        // Another port is another neighbour.
        assert_eq!(n.lookup(1, ip("198.18.1.10")), None);
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut n: Neighbours<usize> = Neighbours::new(4);
        for i in 0..QUEUE_LEN {
            assert!(matches!(
                n.hold(0, ip("198.18.1.10"), i, 0),
                Held::Queued { .. }
            ));
        }
        assert!(matches!(
            n.hold(0, ip("198.18.1.10"), 99, 0),
            Held::Full(99)
        ));
    }

    #[test]
    fn the_table_is_bounded() {
        let mut n: Neighbours<u8> = Neighbours::new(1);
        assert!(matches!(
            n.hold(0, ip("198.18.1.10"), 1, 0),
            Held::Queued { .. }
        ));
        assert!(matches!(n.hold(0, ip("198.18.1.11"), 2, 0), Held::Full(2)));
        assert!(!n.learn(0, ip("198.18.1.12"), MAC, true, 0, |_, _| {}));
        assert_eq!(n.lookup(0, ip("198.18.1.12")), None);
    }

    #[test]
    fn unanswered_neighbours_are_probed_then_given_up() {
        let mut n: Neighbours<u8> = Neighbours::new(4);
        let _ = n.hold(0, ip("198.18.1.10"), 7, 0);
        let mut probes = 0;
        let mut dropped = vec![];
        for t in 0..10 {
            n.tick(t * S / 2, |_, _| probes += 1, |p| dropped.push(p));
        }
        // First probe at hold time, then at 1 s and 2 s; at 3 s it gives up.
        assert_eq!(probes, MAX_PROBES as usize - 1);
        assert_eq!(dropped, vec![7]);
        assert!(n.is_empty());
    }

    #[test]
    fn learning_only_creates_entries_when_asked() {
        let mut n: Neighbours<u8> = Neighbours::new(4);
        n.learn(0, ip("198.18.1.10"), MAC, false, 0, |_, _| {});
        assert_eq!(n.lookup(0, ip("198.18.1.10")), None);
        n.learn(0, ip("198.18.1.10"), MAC, true, 0, |_, _| {});
        assert_eq!(n.lookup(0, ip("198.18.1.10")), Some(MAC));
    }

    #[test]
    fn pinned_neighbours_stay_and_ignore_arp() {
        let mut n: Neighbours<u8> = Neighbours::new(4);
        n.pin(0, ip("198.18.1.10"), MAC);
        let other = MacAddr([2, 0, 0, 0, 0, 9]);
        n.learn(0, ip("198.18.1.10"), other, true, 0, |_, _| {});
        let mut probes = 0;
        n.tick(FORGET_NS * 2, |_, _| probes += 1, |_| {});
        assert_eq!(probes, 0);
        assert_eq!(n.lookup(0, ip("198.18.1.10")), Some(MAC));
    }

    #[test]
    fn ipv6_neighbours_resolve_and_confirm_alike() {
        let a: std::net::Ipv6Addr = "2001:2:0:1::10".parse().unwrap();
        let mut n: Neighbours<u8, std::net::Ipv6Addr> = Neighbours::new(4);
        assert!(!n.confirm(0, a, 1), "unknown: nothing to confirm");
        assert!(matches!(n.hold(0, a, 1, 0), Held::Queued { probe: true }));
        assert!(!n.confirm(0, a, 1), "unresolved: nothing to confirm");
        let mut out = vec![];
        assert!(n.learn(0, a, MAC, false, 5, |p, m| out.push((p, m))));
        assert_eq!(out, vec![(1, MAC)]);
        // Confirmed at REFRESH_NS - 1: no probe at REFRESH_NS.
        assert!(n.confirm(0, a, REFRESH_NS - 1));
        let mut probes = 0;
        n.tick(REFRESH_NS, |_, _| probes += 1, |_| {});
        assert_eq!(probes, 0);
        assert_eq!(n.resolved().collect::<Vec<_>>(), vec![(0, a, MAC)]);
    }

    #[test]
    fn resolved_entries_are_refreshed_then_forgotten() {
        let mut n: Neighbours<u8> = Neighbours::new(4);
        n.learn(0, ip("198.18.1.10"), MAC, true, 0, |_, _| {});
        let mut probes = 0;
        n.tick(REFRESH_NS - 1, |_, _| probes += 1, |_| {});
        assert_eq!(probes, 0);
        n.tick(REFRESH_NS, |_, _| probes += 1, |_| {});
        assert_eq!(probes, 1);
        assert_eq!(n.lookup(0, ip("198.18.1.10")), Some(MAC));
        n.tick(FORGET_NS, |_, _| probes += 1, |_| {});
        assert_eq!(n.lookup(0, ip("198.18.1.10")), None);
    }
}
