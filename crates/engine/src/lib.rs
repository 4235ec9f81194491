//! The director's packet engine: classify → connection lookup → schedule → rewrite → route →
//! neighbour, over byte buffers, without DPDK.
//!
//! It is sans-IO in the manner of quinn-proto: the caller hands it a frame, the port it arrived
//! on and the time, and the engine either transmits the frame (possibly rewritten) through the
//! [`Io`] it is given, keeps it while the next hop's MAC address is resolved, or drops it and
//! counts the drop under a [`DropReason`]. The same code runs in `rvsd` (frames are DPDK
//! mbufs), in tests (frames are vectors) and in benchmarks.
//!
//! Where a packet is…
//! - parsed and classified: [`worker::Worker::handle`];
//! - matched to a connection: [`worker`] with the table of `rvs_conn`;
//! - given a real server: `Worker::new_connection` through `rvs_sched`;
//! - rewritten for its forwarding method: [`forward`] (IPv4) and [`forward6`] (IPv6);
//! - routed and given a next-hop MAC: [`route`] and [`neigh`] (ARP for IPv4, Neighbor
//!   Discovery for IPv6).
//!
//! A service with `synproxy = true` does not let a SYN open a connection: the engine
//! answers it with a SYN cookie and creates the connection only on the client's ACK that
//! returns a valid one, then completes the real server's handshake itself and translates
//! sequence numbers for the rest of the connection; see [`synproxy`] for what it does and
//! does not do.

pub mod buf;
pub mod director;
pub mod forward;
pub mod forward6;
pub mod lip;
pub mod neigh;
pub mod persist;
pub mod route;
pub mod stats;
pub mod steer;
pub mod synproxy;
pub mod worker;

pub use buf::{Io, PacketBuf, VecBuf};
pub use director::{Director, DirectorError, PortIdx};
pub use stats::{DropReason, Stats};
pub use worker::{Decision, Worker, WorkerConfig};
