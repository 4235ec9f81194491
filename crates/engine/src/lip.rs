//! FullNAT local addresses (LIPs) and ports: the source a real server sees instead of the
//! client. Each worker owns a disjoint share of every LIP's port space (`port % workers ==
//! worker`, DPVS's sa_pool partitioning), so a real server's reply to LIP:lport is steered
//! back to the worker that holds the connection without NIC flow rules (see `steer`).
//!
//! Ports are handed out first-in first-out, so a port just released is the last to be used
//! again: a real server's TIME_WAIT for LIP:lport has the longest time to pass.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

/// Lowest local port handed out (below are the well-known and registered ports a real server
/// may treat specially).
pub const FIRST_PORT: u16 = 1024;

/// One worker's share of the ports of every LIP it has been told of; LIPs of type `A` (IPv4
/// by default, `Ipv6Addr` for IPv6 LIPs, in a pool of their own).
#[derive(Debug)]
pub struct LipPool<A = Ipv4Addr> {
    worker: u16,
    workers: u16,
    pools: Vec<(A, VecDeque<u16>)>,
    next: usize,
}

impl<A: Copy + PartialEq> LipPool<A> {
    /// An empty pool for worker `worker` of `workers`.
    pub fn new(worker: u16, workers: u16) -> LipPool<A> {
        LipPool {
            worker,
            workers: workers.max(1),
            pools: Vec::new(),
            next: 0,
        }
    }

    /// Make `lip`'s ports available (allocates; call when the configuration changes, never
    /// per packet). A LIP already known keeps the ports in use.
    pub fn ensure(&mut self, lip: A) {
        if self.pools.iter().any(|(l, _)| *l == lip) {
            return;
        }
        let (w, n) = (self.worker % self.workers, self.workers);
        let ports: VecDeque<u16> = (FIRST_PORT..=u16::MAX).filter(|p| p % n == w).collect();
        self.pools.push((lip, ports));
    }

    /// A free port of one of `lips`, taking them in turn; `None` when every port of every one
    /// of them is in use (the new connection is dropped and counted).
    pub fn take(&mut self, lips: &[A]) -> Option<(A, u16)> {
        let n = lips.len();
        for i in 0..n {
            let lip = lips[(self.next + i) % n];
            if let Some((_, free)) = self.pools.iter_mut().find(|(l, _)| *l == lip) {
                if let Some(port) = free.pop_front() {
                    self.next = (self.next + i + 1) % n;
                    return Some((lip, port));
                }
            }
        }
        None
    }

    /// Give back a LIP:port taken from this pool (others are ignored).
    pub fn give_back(&mut self, lip: A, port: u16) {
        if let Some((_, free)) = self.pools.iter_mut().find(|(l, _)| *l == lip) {
            // Never grow: a port comes back at most once per take.
            if free.len() < free.capacity() {
                free.push_back(port);
            }
        }
    }

    /// Free ports left on `lip`.
    pub fn available(&self, lip: A) -> usize {
        self.pools
            .iter()
            .find(|(l, _)| *l == lip)
            .map_or(0, |(_, f)| f.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn workers_get_disjoint_shares() {
        let lips = [ip("198.18.1.3")];
        let mut a = LipPool::new(0, 2);
        let mut b = LipPool::new(1, 2);
        a.ensure(lips[0]);
        b.ensure(lips[0]);
        for _ in 0..100 {
            let (_, pa) = a.take(&lips).unwrap();
            let (_, pb) = b.take(&lips).unwrap();
            assert_eq!(pa % 2, 0);
            assert_eq!(pb % 2, 1);
            assert!(pa >= FIRST_PORT && pb >= FIRST_PORT);
        }
    }

    #[test]
    fn lips_are_used_in_turn_and_ports_reused_last() {
        let lips = [ip("198.18.1.3"), ip("198.18.1.4")];
        let mut p = LipPool::new(0, 1);
        lips.iter().for_each(|l| p.ensure(*l));
        let (l1, p1) = p.take(&lips).unwrap();
        let (l2, _) = p.take(&lips).unwrap();
        assert_ne!(l1, l2);
        p.give_back(l1, p1);
        let (l3, p3) = p.take(&lips).unwrap();
        assert_eq!(l3, l1);
        assert_ne!(p3, p1, "a released port goes to the back of the queue");
        // A LIP it was not told of gives nothing.
        assert_eq!(p.take(&[ip("198.18.1.9")]), None);
    }

    #[test]
    fn ipv6_lips_share_ports_the_same_way() {
        let lip: std::net::Ipv6Addr = "2001:2:0:1::3".parse().unwrap();
        let mut a: LipPool<std::net::Ipv6Addr> = LipPool::new(1, 2);
        a.ensure(lip);
        let (l, p) = a.take(&[lip]).unwrap();
        assert_eq!((l, p % 2), (lip, 1));
        assert_eq!(
            a.available(lip),
            usize::from(u16::MAX - FIRST_PORT + 1) / 2 - 1
        );
        a.give_back(lip, p);
        assert_eq!(a.available(lip), usize::from(u16::MAX - FIRST_PORT + 1) / 2);
    }

    #[test]
    fn an_exhausted_pool_says_so_and_recovers() {
        let lip = ip("198.18.1.3");
        let mut p = LipPool::new(0, 1);
        p.ensure(lip);
        let total = p.available(lip);
        assert_eq!(total, usize::from(u16::MAX - FIRST_PORT) + 1);
        let taken: Vec<_> = (0..total).map(|_| p.take(&[lip]).unwrap()).collect();
        assert_eq!(p.take(&[lip]), None);
        p.give_back(taken[7].0, taken[7].1);
        assert_eq!(p.take(&[lip]), Some(taken[7]));
        // Ensuring again keeps the ports in use.
        p.ensure(lip);
        assert_eq!(p.take(&[lip]), None);
    }
}
