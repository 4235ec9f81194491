//! Safe wrappers over DPDK for rvs: EAL, ports and queues, mempools, an owning [`Mbuf`],
//! fixed-size [`Burst`]s, rings and lcore launch. All `unsafe` of the project lives here
//! or in `dpdk-sys`; every block says why it is sound.
//!
//! Ownership in one paragraph: [`Eal`] stays on the main lcore's thread, and so does
//! [`Port`] (control path). Workers get a [`RxQueue`]/[`TxQueue`] per queue (one handle
//! per queue, `Send`, not `Sync`), [`Mbuf`]s and [`Burst`]s move freely, [`Mempool`] and
//! [`Ring`] are shared. Anything that uses EAL memory keeps EAL from cleaning up until it
//! is gone, so no safe code can touch freed DPDK memory.
//!
//! Typical set-up:
//! ```no_run
//! use dpdk::{Eal, Mempool, Port, PortConfig, Burst};
//! let eal = Eal::init(&["rvsd", "-l", "0-1", "--no-huge", "-m", "512", "--in-memory"])?;
//! let pool = Mempool::new(&eal, "rx", 8191, 256, Mempool::DEFAULT_DATA_ROOM, -1)?;
//! let mut port = Port::from_vdev(&eal, "net_ring0", "")?;
//! port.configure(&PortConfig::default(), &pool)?;
//! port.start()?;
//! let (mut rxq, mut txq) = (port.rx_queue(0)?, port.tx_queue(0)?);
//! let worker = eal.worker_lcores()[0];
//! let join = dpdk::launch_on_lcore(&eal, worker, move || {
//!     let mut burst = Burst::new();
//!     rxq.rx_burst(&mut burst);
//!     txq.tx_burst(&mut burst);
//!     0
//! })?;
//! assert_eq!(join.join(), 0);
//! # Ok::<(), dpdk::Error>(())
//! ```

mod eal;
mod error;
mod mbuf;
mod mempool;
mod port;
mod ring;

pub use eal::{launch_on_lcore, lcore_id, pause, tsc, tsc_hz, Eal, LcoreJoin, LCORE_PANICKED};
pub use error::{rte_errno, strerror, Error};
pub use mbuf::{Burst, Drain, Mbuf, BURST_SIZE};
pub use mempool::Mempool;
pub use port::{Port, PortConfig, PortId, PortStats, RxQueue, TxQueue};
pub use ring::{Ring, RingConsumer, RingMode, RingProducer};

/// The raw bindings, for what this crate does not wrap yet.
pub use dpdk_sys as sys;

/// `SOCKET_ID_ANY`: let DPDK pick the NUMA socket.
pub const SOCKET_ID_ANY: i32 = dpdk_sys::SOCKET_ID_ANY;
