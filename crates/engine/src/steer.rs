//! Which worker owns a frame. With several workers each keeps its own connection table, so
//! both directions of a connection must reach the same worker whatever queue the NIC put them
//! on. The owner is a pure function of the frame:
//!
//! - client → service (NAT, DR, TUN, FullNAT inbound): hash of the client's address;
//! - real server → client (NAT replies): the same hash, of the destination this time, which
//!   is the client;
//! - ICMP errors: as the flow they quote (from a client: by its source; towards a client: by
//!   its destination; to a LIP: by the quoted local port);
//! - real server → LIP (FullNAT replies): the local port, which the owner chose from its own
//!   share of the port space (`lport % workers == owner`, as DPVS partitions its sa_pool);
//! - ARP, and IPv6 neighbor solicitations and advertisements: every worker, since every worker
//!   resolves next hops for itself.
//!
//! IPv6 follows the same rules, with the client hash taken over the 128-bit address
//! ([`client_owner6`]) and the TCP/UDP header found behind the extension headers.
//!
//! A worker that receives a frame it does not own passes it to the owner over a lock-free
//! ring (the dataplane's job).

use std::net::{Ipv4Addr, Ipv6Addr};

use rvs_wire::{ethernet, icmpv6, ipv4, ipv6};

use crate::director::Director;

/// Where a frame goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// This worker handles it.
    Worker(u16),
    /// The receiving worker handles it and every other worker learns from a copy (ARP).
    All,
}

/// The worker that owns the connections of the client `addr` among `workers`.
///
/// By the client's address alone, not its port: all of a client's connections then live on
/// one worker, so its persistence templates (one client, many connections and ports, IPVS
/// `-p`) and the schedulers' per-worker state see all of them, with no state shared between
/// workers. The price: one very busy client address cannot use more than one worker.
#[inline]
pub fn client_owner(addr: Ipv4Addr, workers: u16) -> u16 {
    if workers <= 1 {
        return 0;
    }
    // A multiplicative hash (Knuth); the high bits are the best mixed.
    let x = u64::from(u32::from(addr)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((x >> 32) % u64::from(workers)) as u16
}

/// The worker that owns the connections of the IPv6 client `addr`: as [`client_owner`], the
/// two halves of the address folded into one word first (so clients that differ in the
/// interface identifier alone, as privacy addresses do, spread like different hosts).
#[inline]
pub fn client_owner6(addr: Ipv6Addr, workers: u16) -> u16 {
    if workers <= 1 {
        return 0;
    }
    let a = u128::from(addr);
    let folded = ((a >> 64) as u64) ^ (a as u64);
    let x = (folded ^ (folded >> 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
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
    // Skip an 802.1Q tag: the owner depends on what it carries.
    let frame = match frame.get(12..14) {
        Some(t) if t == ethernet::ethertype::VLAN.to_be_bytes() => {
            let Some(inner) = frame.get(4..) else {
                return Owner::Worker(receiver);
            };
            inner
        }
        _ => frame,
    };
    let Ok(eth) = ethernet::Frame::new_checked(frame) else {
        return Owner::Worker(receiver);
    };
    match eth.ethertype() {
        ethernet::ethertype::ARP => return Owner::All,
        ethernet::ethertype::IPV4 => {}
        ethernet::ethertype::IPV6 => return owner6(dir, eth.payload(), workers, receiver),
        _ => return Owner::Worker(receiver),
    }
    let Ok(ip) = ipv4::Packet::new_checked(eth.payload()) else {
        return Owner::Worker(receiver);
    };
    let (src, dst) = (ip.src(), ip.dst());
    let lport = match ip.protocol() {
        ipv4::protocol::TCP | ipv4::protocol::UDP => {
            let Some((_, dport)) = rvs_wire::l4_ports(ip.payload(), 0) else {
                return Owner::Worker(receiver);
            };
            Some(dport)
        }
        // An ICMP error to a LIP quotes the packet the director sent from LIP:lport.
        ipv4::protocol::ICMP => crate::forward::quoted_flow(eth.payload()).map(|q| q.src_port),
        _ => None,
    };
    if dir.is_lip(dst) {
        return Owner::Worker(lport.map_or(receiver, |p| lport_owner(p, workers)));
    }
    // To one of our addresses (a VIP or DIP): from a client. Otherwise towards one.
    if dir.local(dst).is_some() {
        return Owner::Worker(client_owner(src, workers));
    }
    Owner::Worker(client_owner(dst, workers))
}

/// [`owner`] of an IPv6 packet.
fn owner6(dir: &Director, ip: &[u8], workers: u16, receiver: u16) -> Owner {
    let Ok(p) = ipv6::Packet::new_checked(ip) else {
        return Owner::Worker(receiver);
    };
    let Ok((proto, at)) = crate::forward6::upper_layer(ip) else {
        return Owner::Worker(receiver);
    };
    let (src, dst) = (p.src(), p.dst());
    let lport = match proto {
        ipv4::protocol::TCP | ipv4::protocol::UDP => {
            let Some((_, dport)) = rvs_wire::l4_ports(ip, at) else {
                return Owner::Worker(receiver);
            };
            Some(dport)
        }
        ipv4::protocol::ICMPV6 => match ip.get(at).copied() {
            Some(icmpv6::NEIGHBOR_SOLICIT | icmpv6::NEIGHBOR_ADVERT) => return Owner::All,
            // An ICMPv6 error to a LIP quotes the packet the director sent from LIP:lport.
            Some(t) if t < 128 => crate::forward6::quoted_flow(ip, at).map(|q| q.src_port),
            _ => None,
        },
        _ => None,
    };
    if dir.is_lip6(dst) {
        return Owner::Worker(lport.map_or(receiver, |p| lport_owner(p, workers)));
    }
    if dir.local6(dst).is_some() {
        return Owner::Worker(client_owner6(src, workers));
    }
    Owner::Worker(client_owner6(dst, workers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_hash_spreads_and_is_stable() {
        let mut seen = [0u32; 4];
        for i in 0..4000u32 {
            let a = Ipv4Addr::from(0xC612_0000 + i);
            let w = client_owner(a, 4);
            seen[usize::from(w)] += 1;
            assert_eq!(w, client_owner(a, 4));
        }
        for n in seen {
            assert!((800..1200).contains(&n), "uneven spread {seen:?}");
        }
        assert_eq!(client_owner(Ipv4Addr::new(1, 2, 3, 4), 1), 0);
    }

    #[test]
    fn ipv6_replies_to_a_lip_belong_to_the_local_ports_owner() {
        let cfg = rvs_config::parse(
            r#"
[[ports]]
name = "lan"
device = "net_null0"
addresses = ["2001:2:0:1::2/64"]
local_addresses = ["2001:2:0:1::3"]
"#,
        )
        .unwrap();
        let dir = Director::new(&cfg, &[rvs_wire::MacAddr([2, 0, 0, 0, 0, 1])], None).unwrap();
        let frame = |lport: u16| {
            let mut f = vec![0u8; 14 + 40 + 20];
            f[12..14].copy_from_slice(&ethernet::ethertype::IPV6.to_be_bytes());
            let ip = &mut f[14..];
            ip[0] = 0x60;
            ip[4..6].copy_from_slice(&20u16.to_be_bytes());
            ip[6] = 6;
            ip[7] = 64;
            ip[8..24].copy_from_slice(&"2001:2:0:2::10".parse::<Ipv6Addr>().unwrap().octets());
            ip[24..40].copy_from_slice(&"2001:2:0:1::3".parse::<Ipv6Addr>().unwrap().octets());
            ip[40..42].copy_from_slice(&8080u16.to_be_bytes());
            ip[42..44].copy_from_slice(&lport.to_be_bytes());
            ip[52] = 0x50;
            f
        };
        assert_eq!(owner(&dir, &frame(1025), 2, 0), Owner::Worker(1));
        assert_eq!(owner(&dir, &frame(1026), 2, 1), Owner::Worker(0));
        // Garbage stays with the worker that received it.
        assert_eq!(owner(&dir, &frame(1025)[..30], 2, 1), Owner::Worker(1));
    }

    #[test]
    fn local_ports_belong_to_their_residue() {
        assert_eq!(lport_owner(1025, 2), 1);
        assert_eq!(lport_owner(1026, 2), 0);
        assert_eq!(lport_owner(1026, 1), 0);
    }

    #[test]
    fn the_ipv6_client_hash_spreads_over_interface_identifiers_and_prefixes() {
        for (base, step) in [
            (0x2001_0002_u128 << 96, 1u128),
            (0x2001_0002_u128 << 96, 1 << 64),
        ] {
            let mut seen = [0u32; 4];
            for i in 0..4000u128 {
                let a = Ipv6Addr::from(base + i * step);
                let w = client_owner6(a, 4);
                seen[usize::from(w)] += 1;
                assert_eq!(w, client_owner6(a, 4));
            }
            for n in seen {
                assert!((800..1200).contains(&n), "uneven spread {seen:?}");
            }
        }
        assert_eq!(client_owner6(Ipv6Addr::LOCALHOST, 1), 0);
    }
}
