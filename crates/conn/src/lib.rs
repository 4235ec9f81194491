//! Connection tracking for rvs: the per-worker connection table and IPVS's connection state
//! machines and timeouts.
//!
//! * [`ConnTable`] — one per worker, owned exclusively (no locks, no atomics). All memory is
//!   allocated by [`ConnTable::with_capacity`]; insert, lookup, re-arm, remove and expire never
//!   touch the heap. A full table refuses inserts with [`InsertError::Full`]; it never grows.
//!   One lookup finds a connection from either direction of the flow (the client's packets by
//!   `in_key`, the real server's replies by `out_key`), as IPVS's `ip_vs_conn_in_get` /
//!   `ip_vs_conn_out_get` do over their one hash table.
//! * [`state`] — the TCP state table of `ip_vs_proto_tcp.c`, UDP's single state, the kernel's
//!   default timeouts and `ipvsadm --set`, and the rules for counting a connection as active or
//!   inactive on its real server.
//!
//! Time is always given by the caller in nanoseconds (`now_ns`, `expires_ns`) on whatever clock
//! the engine runs on; this crate never reads a clock.
//!
//! # Design of the table
//! * **Slab**: a boxed slice of `capacity` entry slots with an intrusive free list; a
//!   [`ConnId`] is a slot number. Freed slots are reused last-in first-out.
//! * **Index**: a purpose-built open-addressing hash table of 64-byte buckets (10 signatures +
//!   10 slot references + an overflow count, VPP `lbhash` style), sized for two keys per
//!   connection at ≤ 60 % load, probing linearly by bucket with F14-style overflow counts so
//!   that removal needs no tombstones and the table never rehashes or resizes. A lookup reads
//!   one bucket (rarely more) and confirms the key in the slab entry. hashbrown was not used:
//!   with a fixed capacity it stays allocation-free, but after enough insert/remove churn its
//!   tombstones force an in-place rehash of the whole table — an O(n) pause on the packet path.
//!   Keys are hashed with a seeded folded-multiply hash (wyhash's `mum`), one seed per table.
//! * **Timers**: a hashed timing wheel, 4096 slots of 1 s, doubly linked through the slab, so
//!   re-arming is O(1) and [`ConnTable::expire`] is O(expired). See [`ConnTable::expire`] for
//!   the exact reaping rule (never early, at most one second late).
//!
//! Memory per connection: `size_of::<Option<Entry<T, K>>>()` + 20 bytes of links + about 21
//! bytes of index (e.g. 113 bytes with a 32-byte `T` and IPv4 keys; 2 M connections ≈ 216 MiB).
//!
//! # Keys
//! The table is generic over its [`Key`]: [`FlowKey`] (IPv4, 13 bytes of fields) by default and
//! [`FlowKey6`] (IPv6, 37 bytes of fields). An engine keeps one table per address family, so
//! IPv4 connections never pay for IPv6 addresses.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod index;
pub mod state;
mod table;

#[cfg(test)]
mod proptests;

use std::fmt::Debug;
use std::net::{Ipv4Addr, Ipv6Addr};

pub use state::{State, TcpState};
pub use table::{ConnTable, MAX_CONNS, TICK_NS, WHEEL_SLOTS};

/// What a [`ConnTable`] is keyed by: a flow in one direction, of one address family.
///
/// Sealed: implemented by [`FlowKey`] (IPv4) and [`FlowKey6`] (IPv6) only, whose hashes this
/// crate knows to mix every field.
pub trait Key: sealed::Sealed + Copy + Eq + Debug {
    /// Seeded hash of the key: folded multiplies (wyhash's `mum`) of its fields with the
    /// table's three secrets. Every field feeds it.
    fn hash_seeded(&self, secrets: &[u64; 3]) -> u64;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::FlowKey {}
    impl Sealed for super::FlowKey6 {}
}

/// wyhash's second constant, for the final mix.
const K1: u64 = 0xe703_7ed1_a0b4_28db;

/// 64×64→128-bit multiply folded to 64 bits (wyhash's `mum`).
#[inline]
pub(crate) fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// A flow as seen on the wire, one direction, over IPv4 (see [`FlowKey6`] for IPv6).
///
/// For a connection through VIP:vport to RIP:rport from CIP:cport, the inbound key is
/// `(proto, CIP, cport, VIP, vport)`; with NAT the reply key is `(proto, RIP, rport, CIP, cport)`,
/// with FullNAT `(proto, RIP, rport, LIP, lport)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FlowKey {
    /// IP protocol number (6 TCP, 17 UDP, ...).
    pub proto: u8,
    /// Source address.
    pub src: Ipv4Addr,
    /// Source port (0 for protocols without ports).
    pub src_port: u16,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Destination port (0 for protocols without ports).
    pub dst_port: u16,
}

impl FlowKey {
    /// The same flow seen from the other end: source and destination swapped.
    ///
    /// The NAT reply key is the reverse of the inbound packet *after* its rewrite to the real
    /// server (CIP:cport → RIP:rport becomes RIP:rport → CIP:cport).
    #[must_use]
    pub fn reversed(&self) -> FlowKey {
        FlowKey {
            proto: self.proto,
            src: self.dst,
            src_port: self.dst_port,
            dst: self.src,
            dst_port: self.src_port,
        }
    }
}

impl Key for FlowKey {
    /// Two folded multiplies over the 13 key bytes packed in two words.
    #[inline]
    fn hash_seeded(&self, s: &[u64; 3]) -> u64 {
        let a = (u64::from(u32::from(self.src)) << 32) | u64::from(u32::from(self.dst));
        let b = (u64::from(self.src_port) << 48)
            | (u64::from(self.dst_port) << 32)
            | u64::from(self.proto);
        let h = fold_mul(a ^ s[0], b ^ s[1]);
        fold_mul(h ^ s[2], K1)
    }
}

/// A flow as seen on the wire, one direction, over IPv6: the same five fields as [`FlowKey`]
/// with 128-bit addresses (38 bytes: an IPv6 connection costs 48 bytes more of keys than an
/// IPv4 one, in its own table).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FlowKey6 {
    /// IP protocol number (6 TCP, 17 UDP, ...): the upper-layer protocol after any extension
    /// headers.
    pub proto: u8,
    /// Source address.
    pub src: Ipv6Addr,
    /// Source port (0 for protocols without ports).
    pub src_port: u16,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Destination port (0 for protocols without ports).
    pub dst_port: u16,
}

impl FlowKey6 {
    /// The same flow seen from the other end: source and destination swapped.
    #[must_use]
    pub fn reversed(&self) -> FlowKey6 {
        FlowKey6 {
            proto: self.proto,
            src: self.dst,
            src_port: self.dst_port,
            dst: self.src,
            dst_port: self.src_port,
        }
    }
}

impl Key for FlowKey6 {
    /// Each address is two words folded with two secrets; the two results and the ports and
    /// protocol are folded once more, then mixed as [`FlowKey`]'s hash is.
    #[inline]
    fn hash_seeded(&self, s: &[u64; 3]) -> u64 {
        let src = u128::from(self.src);
        let dst = u128::from(self.dst);
        let hs = fold_mul((src >> 64) as u64 ^ s[0], src as u64 ^ s[1]);
        let hd = fold_mul((dst >> 64) as u64 ^ s[2], dst as u64 ^ s[0]);
        let ports = (u64::from(self.src_port) << 48)
            | (u64::from(self.dst_port) << 32)
            | u64::from(self.proto);
        let h = fold_mul(hs ^ ports ^ s[1], hd ^ s[2]);
        fold_mul(h ^ s[0], K1)
    }
}

/// Which way a packet travels relative to its connection.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Dir {
    /// Client → VIP (IPVS "input"); matched by the entry's `in_key`.
    Inbound,
    /// Real server → client (IPVS "output"; NAT/FullNAT only); matched by the entry's `out_key`.
    Outbound,
}

/// Handle of a connection in one [`ConnTable`]: its slot in the table's slab.
///
/// A handle is valid until the connection is removed or expired; after that the slot is free
/// and a later insert reuses it, so an old `ConnId` may then name a different connection. Do not
/// keep handles across [`ConnTable::expire`] / [`ConnTable::remove`]; look the flow up again.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ConnId(u32);

impl ConnId {
    /// The slot number, for listings and debugging.
    #[must_use]
    pub fn as_u32(self) -> u32 {
        self.0
    }

    /// A handle from a slot number (e.g. from a control-plane listing). Looking up a slot that
    /// is free or out of range simply finds nothing.
    #[must_use]
    pub fn from_u32(slot: u32) -> ConnId {
        ConnId(slot)
    }
}

/// One tracked connection.
///
/// The keys identify the entry in the table's index: do not change `in_key` / `out_key` through
/// [`ConnTable::get_mut`] (the index keeps the original keys; the entry would only be found by
/// its id). Re-arm the timer with [`ConnTable::set_expiry`], not by writing `expires_ns`: a
/// direct write is honoured when the entry's wheel slot comes round, which may be late by up to
/// one wheel turn ([`WHEEL_SLOTS`] × [`TICK_NS`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Entry<T, K = FlowKey> {
    /// Key of the client's packets (IPVS input direction).
    pub in_key: K,
    /// Key of the real server's replies, for NAT and FullNAT; `None` for DR and TUN, where the
    /// replies bypass the director.
    pub out_key: Option<K>,
    /// IPVS protocol state.
    pub state: State,
    /// When the connection expires, on the caller's clock (ns).
    pub expires_ns: u64,
    /// The engine's per-connection data (real server, forwarding method, NAT addresses, ...).
    pub data: T,
}

/// Why [`ConnTable::insert`] refused a connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum InsertError {
    /// Every slot is taken: the table was sized with `with_capacity(max_conns)` and never grows.
    /// Drop the new flow (and count it), or raise the worker's connection limit.
    #[error("connection table full: raise the per-worker connection limit or wait for expiry")]
    Full,
    /// The in or out key is already tracked (or both keys are equal): look the flow up
    /// instead of inserting it again.
    #[error("flow already tracked in the connection table")]
    Exists,
}
