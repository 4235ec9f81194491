//! Which worker owns a frame. With several workers each keeps its own connection table, so
//! both directions of a connection must reach the same worker whatever queue the NIC put them
//! on. The owner is a pure function of the frame:
//!
//! - client → service (NAT, DR, TUN, FullNAT inbound): hash of the client's address and port;
//! - real server → client (NAT replies): the same hash, of the destination this time, which
//!   is the client;
//! - real server → LIP (FullNAT replies): the local port, which the owner chose from its own
//!   share of the port space (`lport % workers == owner`, as DPVS partitions its sa_pool);
//! - ARP: every worker, since every worker resolves next hops for itself.
//!
//! A worker that receives a frame it does not own passes it to the owner over a lock-free
//! ring (the dataplane's job).

use std::net::Ipv4Addr;

use rvs_wire::{ethernet, ipv4};

use crate::director::Director;

/// Where a frame goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// This worker handles it.
    Worker(u16),
    /// The receiving worker handles it and every other worker learns from a copy (ARP).
    All,
}

/// The worker that owns connections of the client `addr:port` among `workers`.
#[inline]
pub fn client_owner(addr: Ipv4Addr, port: u16, workers: u16) -> u16 {
    if workers <= 1 {
        return 0;
    }
    // A multiplicative hash (Knuth) of the 48-bit endpoint; the high bits are the best mixed.
    let x =
        (u64::from(u32::from(addr)) << 16 | u64::from(port)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((x >> 32) % u64::from(workers)) as u16
}

/// The worker that owns the FullNAT local port `lport`.
#[inline]
pub fn lport_owner(lport: u16, workers: u16) -> u16 {
    if workers <= 1 {
        0
    } else {
        lport % workers
    }
}

/// The owner of `frame` among `workers`; frames that do not parse belong to `receiver`
/// (which counts their drop).
pub fn owner(dir: &Director, frame: &[u8], workers: u16, receiver: u16) -> Owner {
    if workers <= 1 {
        return Owner::Worker(0);
    }
    let Ok(eth) = ethernet::Frame::new_checked(frame) else {
        return Owner::Worker(receiver);
    };
    match eth.ethertype() {
        ethernet::ethertype::ARP => return Owner::All,
        ethernet::ethertype::IPV4 => {}
        _ => return Owner::Worker(receiver),
    }
    let Ok(ip) = ipv4::Packet::new_checked(eth.payload()) else {
        return Owner::Worker(receiver);
    };
    let proto = ip.protocol();
    if proto != ipv4::protocol::TCP && proto != ipv4::protocol::UDP {
        // ICMP and the rest: by source, so that a conversation stays on one worker.
        return Owner::Worker(client_owner(ip.src(), 0, workers));
    }
    let Some((sport, dport)) = rvs_wire::l4_ports(ip.payload(), 0) else {
        return Owner::Worker(receiver);
    };
    let (src, dst) = (ip.src(), ip.dst());
    if dir.is_lip(dst) {
        return Owner::Worker(lport_owner(dport, workers));
    }
    if dir.is_service_destination(proto, dst, dport) {
        return Owner::Worker(client_owner(src, sport, workers));
    }
    Owner::Worker(client_owner(dst, dport, workers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_hash_spreads_and_is_stable() {
        let mut seen = [0u32; 4];
        for p in 0..4000u16 {
            let w = client_owner(Ipv4Addr::new(198, 18, 0, 2), 30000 + p, 4);
            seen[usize::from(w)] += 1;
            assert_eq!(w, client_owner(Ipv4Addr::new(198, 18, 0, 2), 30000 + p, 4));
        }
        for n in seen {
            assert!((800..1200).contains(&n), "uneven spread {seen:?}");
        }
        assert_eq!(client_owner(Ipv4Addr::new(1, 2, 3, 4), 5, 1), 0);
    }

    #[test]
    fn local_ports_belong_to_their_residue() {
        assert_eq!(lport_owner(1025, 2), 1);
        assert_eq!(lport_owner(1026, 2), 0);
        assert_eq!(lport_owner(1026, 1), 0);
    }
}
