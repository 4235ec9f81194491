//! Proof that a `ConnTable` allocates nothing after `with_capacity`: every operation — insert
//! (including refused ones), lookup, re-arm, remove, expire — runs under a counting global
//! allocator and must leave its counters untouched.
//!
//! This file holds one test only, so no other test thread allocates meanwhile.

use std::alloc::System;
use std::net::Ipv4Addr;

use rvs_conn::state::{TcpState, Timeouts};
use std::net::Ipv6Addr;

use rvs_conn::{ConnTable, Dir, FlowKey, FlowKey6, InsertError, State};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn client(i: u32) -> FlowKey {
    FlowKey {
        proto: 6,
        src: Ipv4Addr::from(0xc633_6400 + (i >> 16)),
        src_port: (i & 0xffff) as u16,
        dst: Ipv4Addr::new(192, 0, 2, 10),
        dst_port: 443,
    }
}

fn reply(i: u32) -> FlowKey {
    let c = client(i);
    FlowKey {
        proto: 6,
        src: Ipv4Addr::new(10, 1, 0, 7),
        src_port: 8443,
        dst: c.src,
        dst_port: c.src_port,
    }
}

fn client6(i: u32) -> FlowKey6 {
    FlowKey6 {
        proto: 6,
        src: Ipv6Addr::from((0x2001_0db8_u128 << 96) | u128::from(i)),
        src_port: 40000,
        dst: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100),
        dst_port: 443,
    }
}

#[test]
fn no_heap_allocation_after_creation() {
    const N: u32 = 50_000;
    let timeouts = Timeouts::default();
    let mut t: ConnTable<[u64; 2]> = ConnTable::with_capacity_and_seed(N as usize, 7);
    let mut t6: ConnTable<u64, FlowKey6> = ConnTable::with_capacity_and_seed(N as usize / 10, 8);
    let syn_recv = State::Tcp(TcpState::SynRecv);
    let est = State::Tcp(TcpState::Established);
    let mut reaped = 0usize;
    let mut checksum = 0u64;

    let region = Region::new(GLOBAL);
    for round in 0..3u64 {
        let t0 = round * 10_000_000_000_000;
        // Fill to capacity; NAT and DR connections mixed.
        for i in 0..N {
            let out = i.is_multiple_of(2).then(|| reply(i));
            let exp = t0 + timeouts.for_state(syn_recv) + u64::from(i);
            t.insert(client(i), out, syn_recv, exp, [u64::from(i), round])
                .expect("room");
        }
        // Refused inserts allocate nothing either.
        assert_eq!(
            t.insert(client(N), None, syn_recv, t0, [0, 0]),
            Err(InsertError::Full)
        );
        assert_eq!(
            t.insert(client(1), None, syn_recv, t0, [0, 0]),
            Err(InsertError::Exists)
        );
        // Per-packet work: lookup from both directions, state change, timer re-arm.
        for i in 0..N {
            let (id, dir) = t.lookup(&client(i)).expect("tracked");
            assert_eq!(dir, Dir::Inbound);
            if i.is_multiple_of(2) {
                assert_eq!(t.lookup(&reply(i)), Some((id, Dir::Outbound)));
            }
            let e = t.get_mut(id).expect("live");
            e.state = est;
            checksum += e.data[0];
            t.set_expiry(id, t0 + 5_000_000_000 + timeouts.for_state(est));
        }
        // A tenth by removal, the rest by expiry in budgeted sweeps.
        for i in (0..N).step_by(10) {
            let (id, _) = t.lookup(&client(i)).expect("tracked");
            assert!(t.remove(id).is_some());
        }
        let listed = t.iter().count();
        assert_eq!(listed, t.len());
        let later = t0 + 5_000_000_000 + timeouts.for_state(est) + 2_000_000_000;
        loop {
            let n = t.expire(later, 4096, |_, e| checksum += e.data[1]);
            reaped += n;
            if n == 0 {
                break;
            }
        }
        assert!(t.is_empty());
        // The IPv6 table likewise.
        for i in 0..N / 10 {
            let reply = (i % 2 == 0).then(|| client6(i).reversed());
            t6.insert(client6(i), reply, syn_recv, t0 + u64::from(i), u64::from(i))
                .expect("room");
        }
        assert_eq!(
            t6.insert(client6(N), None, syn_recv, t0, 0),
            Err(InsertError::Full)
        );
        for i in 0..N / 10 {
            let (id, dir) = t6.lookup(&client6(i)).expect("tracked");
            assert_eq!(dir, Dir::Inbound);
            t6.set_expiry(id, later);
        }
        while t6.expire(later + 2_000_000_000, 4096, |_, e| checksum += e.data) > 0 {}
        assert!(t6.is_empty());
    }
    let stats = region.change();
    assert_eq!(reaped, 3 * (N as usize - N.div_ceil(10) as usize));
    assert!(checksum > 0);
    assert_eq!(stats.allocations, 0, "{stats:?}");
    assert_eq!(stats.reallocations, 0, "{stats:?}");
    assert_eq!(stats.deallocations, 0, "{stats:?}");
}
