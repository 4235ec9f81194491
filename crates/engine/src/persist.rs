//! Persistence templates (ipvsadm `-p SECONDS [-M NETMASK]`), as IPVS keeps them
//! (ip_vs_core.c `ip_vs_sched_persist`, ip_vs_conn.c `ip_vs_conn_expire`):
//!
//! - a template maps a client network (the client address masked with `-M`) and the service
//!   to a real server; every new connection of that client network follows it;
//! - its key is `<protocol, client net, 0, VIP, vport>` for a TCP/UDP service and
//!   `<IPPROTO_IP, client net, 0, fwmark, 0>` for a firewall-mark service (so a client's
//!   connections to every port of the mark go to one real server) and for a port-0 service;
//! - each new connection through it re-arms it for the persistence timeout; it never expires
//!   while connections it created (its "controlled" connections) live;
//! - a template whose real server is no longer available is dropped and the client is
//!   scheduled afresh (`ip_vs_check_template`); a quiesced server (weight 0) keeps its
//!   persistent clients, as with the kernel's default `expire_quiescent_template = 0`.
//!
//! IPv6 services keep their templates in a second table keyed by `FlowKey6` ([`Templates::key6`]:
//! the client masked to the service's prefix length, 128 by default).
//!
//! Templates live in the worker, like connections: rvs steers all of a client's packets to one
//! worker (see `steer`), so one worker sees all of a client's connections. With `-M` coarser
//! than /32 clients of one network may live on different workers and so get one template per
//! worker.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::Ordering;

use rvs_conn::{ConnTable, FlowKey, FlowKey6, Key, State};

use crate::director::RealServer;

/// What a template remembers.
#[derive(Debug)]
pub struct Template {
    /// The real server the client network sticks to.
    pub server: RealServer,
    /// Live connections created through this template.
    pub controlled: u32,
    /// The persistence timeout, re-armed on every new connection.
    pub timeout_ns: u64,
}

/// One worker's templates of one address family (keys `K`: [`FlowKey`] or [`FlowKey6`]).
pub struct Templates<K = FlowKey> {
    table: ConnTable<Template, K>,
}

/// Templates re-armed per [`Templates::expire`] call at most (templates found expired while
/// they still control connections).
const REARM_BATCH: usize = 64;

impl Templates<FlowKey> {
    /// The template key for a client of an IPv4 service.
    pub fn key(
        proto: u8,
        client: Ipv4Addr,
        prefix_len: u8,
        vip: Ipv4Addr,
        vport: u16,
        fwmark: Option<u32>,
    ) -> FlowKey {
        let mask = if prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix_len.min(32)))
        };
        let net = Ipv4Addr::from(u32::from(client) & mask);
        match fwmark {
            Some(mark) => FlowKey {
                proto: 0,
                src: net,
                src_port: 0,
                dst: Ipv4Addr::from(mark),
                dst_port: 0,
            },
            None => FlowKey {
                proto,
                src: net,
                src_port: 0,
                dst: vip,
                dst_port: vport,
            },
        }
    }
}

impl Templates<FlowKey6> {
    /// The template key for a client of an IPv6 service: as [`Templates::key`], with the
    /// client masked to `prefix_len` of 128 bits (ipvsadm -M takes a prefix length for IPv6)
    /// and the mark of a firewall-mark service in the low 32 bits of the destination.
    pub fn key6(
        proto: u8,
        client: Ipv6Addr,
        prefix_len: u8,
        vip: Ipv6Addr,
        vport: u16,
        fwmark: Option<u32>,
    ) -> FlowKey6 {
        let mask = u128::MAX
            .checked_shl(128 - u32::from(prefix_len.min(128)))
            .unwrap_or(0);
        let net = Ipv6Addr::from(u128::from(client) & mask);
        match fwmark {
            Some(mark) => FlowKey6 {
                proto: 0,
                src: net,
                src_port: 0,
                dst: Ipv6Addr::from(u128::from(mark)),
                dst_port: 0,
            },
            None => FlowKey6 {
                proto,
                src: net,
                src_port: 0,
                dst: vip,
                dst_port: vport,
            },
        }
    }
}

impl<K: Key> Templates<K> {
    /// A table of at most `max` templates, allocated now.
    pub fn new(max: usize) -> Templates<K> {
        Templates {
            table: ConnTable::with_capacity_and_seed(max, 0x7e3a_11a7),
        }
    }

    /// The real server of a valid template for `key` at `now`, taking one more controlled
    /// connection and re-arming it. A template whose server is gone is dropped.
    pub fn follow(&mut self, key: &K, now: u64) -> Option<RealServer> {
        let (id, _) = self.table.lookup(key)?;
        let e = self.table.get_mut(id)?;
        let expired = e.expires_ns <= now && e.data.controlled == 0;
        if expired || !e.data.server.alive.load(Ordering::Relaxed) {
            if let Some(old) = self.table.remove(id) {
                old.data.server.counters.unbind_template();
            }
            return None;
        }
        e.data.controlled += 1;
        let server = e.data.server.clone();
        let timeout = e.data.timeout_ns;
        self.table.set_expiry(id, now.saturating_add(timeout));
        Some(server)
    }

    /// Create a template for `key` sending the client network to `server`, with one
    /// controlled connection. False when the table is full (the connection is refused, as the
    /// kernel drops the packet when it cannot allocate the template).
    pub fn create(&mut self, key: K, server: &RealServer, timeout_ns: u64, now: u64) -> bool {
        let t = Template {
            server: server.clone(),
            controlled: 1,
            timeout_ns,
        };
        match self
            .table
            .insert(key, None, State::Other, now.saturating_add(timeout_ns), t)
        {
            Ok(_) => {
                server.counters.bind_template();
                true
            }
            Err(_) => false,
        }
    }

    /// A connection created through the template `key` has ended.
    pub fn release(&mut self, key: &K) {
        if let Some((id, _)) = self.table.lookup(key) {
            if let Some(e) = self.table.get_mut(id) {
                e.data.controlled = e.data.controlled.saturating_sub(1);
            }
        }
    }

    /// Drop templates past their timeout that control no connection; re-arm those that still
    /// do (ip_vs_conn_expire keeps a template while `n_control` is not 0).
    pub fn expire(&mut self, now: u64) {
        let mut rearm: [Option<(K, Template)>; REARM_BATCH] = std::array::from_fn(|_| None);
        let mut n = 0;
        self.table.expire(now, REARM_BATCH, |_, e| {
            if e.data.controlled > 0 {
                rearm[n] = Some((e.in_key, e.data));
                n += 1;
            } else {
                e.data.server.counters.unbind_template();
            }
        });
        for slot in rearm.iter_mut().take(n) {
            if let Some((key, t)) = slot.take() {
                let at = now.saturating_add(t.timeout_ns);
                // The slot was just freed, so this cannot fail for lack of room.
                let _ = self.table.insert(key, None, State::Other, at, t);
            }
        }
    }

    /// Templates the table can hold (0 until the worker has a persistent service).
    pub fn capacity(&self) -> usize {
        self.table.capacity()
    }

    /// Bytes the table holds.
    pub fn memory_bytes(&self) -> usize {
        self.table.memory_bytes()
    }

    /// Templates held now.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_config::Method;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    const S: u64 = 1_000_000_000;

    fn server(addr: &str) -> RealServer {
        RealServer {
            id: 0,
            slot: 0,
            ip: addr.parse().unwrap(),
            addr: addr.parse().unwrap(),
            port: 80,
            method: Method::Nat,
            counters: Arc::default(),
            alive: Arc::new(AtomicBool::new(true)),
        }
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn keys_mask_the_client_and_group_fwmark_ports() {
        let k = Templates::key(6, ip("198.18.0.77"), 24, ip("198.18.0.100"), 80, None);
        assert_eq!(k.src, ip("198.18.0.0"));
        assert_eq!((k.proto, k.src_port, k.dst_port), (6, 0, 80));
        let m = Templates::key(6, ip("198.18.0.77"), 32, ip("198.18.0.100"), 443, Some(66));
        let m2 = Templates::key(17, ip("198.18.0.77"), 32, ip("198.18.0.100"), 80, Some(66));
        assert_eq!(
            m, m2,
            "one template for every protocol and port of the mark"
        );
        assert_eq!(m.src, ip("198.18.0.77"));
        assert_eq!(
            Templates::key(6, ip("1.2.3.4"), 0, ip("9.9.9.9"), 1, None).src,
            ip("0.0.0.0")
        );
    }

    #[test]
    fn a_template_lives_while_it_controls_connections_then_times_out() {
        let mut t = Templates::new(16);
        let rs = server("198.18.1.10");
        let k = Templates::key(6, ip("198.18.0.2"), 32, ip("198.18.0.100"), 80, None);
        assert!(t.create(k, &rs, 300 * S, 0));
        assert_eq!(rs.counters.persistent.load(Ordering::Relaxed), 1);
        // Past the timeout, a live controlled connection keeps it.
        t.expire(400 * S);
        assert_eq!(t.follow(&k, 401 * S).map(|s| s.ip), Some(rs.ip));
        // Both connections end; 300 s after the last use it goes.
        t.release(&k);
        t.release(&k);
        t.expire(600 * S);
        assert_eq!(t.len(), 1, "re-armed at 401 s for 300 s");
        t.expire(702 * S);
        assert!(t.is_empty());
        assert_eq!(rs.counters.persistent.load(Ordering::Relaxed), 0);
        assert!(t.follow(&k, 703 * S).is_none());
    }

    #[test]
    fn a_template_to_a_removed_server_is_dropped() {
        let mut t = Templates::new(16);
        let rs = server("198.18.1.10");
        let k = Templates::key(6, ip("198.18.0.2"), 32, ip("198.18.0.100"), 80, None);
        assert!(t.create(k, &rs, 300 * S, 0));
        rs.alive.store(false, Ordering::Relaxed);
        assert!(t.follow(&k, 1).is_none());
        assert!(t.is_empty());
    }

    #[test]
    fn an_expired_idle_template_is_not_followed_even_before_the_reaper() {
        let mut t = Templates::new(16);
        let rs = server("198.18.1.10");
        let k = Templates::key(6, ip("198.18.0.2"), 32, ip("198.18.0.100"), 80, None);
        assert!(t.create(k, &rs, 10 * S, 0));
        t.release(&k);
        assert!(t.follow(&k, 10 * S).is_none());
    }

    #[test]
    fn ipv6_keys_mask_the_client_to_the_prefix_length() {
        let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        let vip = a("2001:2::100");
        let k = Templates::key6(6, a("2001:2::abcd:1"), 64, vip, 80, None);
        assert_eq!(k.src, a("2001:2::"));
        assert_eq!((k.proto, k.src_port, k.dst, k.dst_port), (6, 0, vip, 80));
        assert_eq!(
            Templates::key6(6, a("2001:2::1"), 128, vip, 80, None).src,
            a("2001:2::1")
        );
        assert_eq!(
            Templates::key6(6, a("2001:2::1"), 0, vip, 80, None).src,
            Ipv6Addr::UNSPECIFIED
        );
        let m = Templates::key6(6, a("2001:2::1"), 128, vip, 443, Some(66));
        assert_eq!(
            m,
            Templates::key6(17, a("2001:2::1"), 128, vip, 80, Some(66))
        );
        assert_eq!(m.dst, a("::42"));
        // A table of IPv6 templates works as the IPv4 one.
        let mut t: Templates<FlowKey6> = Templates::new(4);
        let rs = server("198.18.1.10");
        assert!(t.create(k, &rs, 10 * S, 0));
        assert!(t.follow(&k, 1).is_some());
        assert_eq!(t.len(), 1);
    }
}
