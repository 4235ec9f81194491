//! Benchmarks of the rvs engine and the traffic of the DPDK benchmarks (issue 6).
//!
//! - [`scenario`]: the topology of each forwarding method (DR, NAT, FullNAT, TUN) as a
//!   configuration, and an engine worker driven through it with pooled buffers and a sink
//!   that frees what it is given — as rvsd's worker on a net_pcap/net_null port does, minus
//!   DPDK.
//! - [`frame`]: minimum-size TCP frames with valid checksums, client addressing, pcap output.
//! - [`buf`]: mbuf-like pooled buffers ([`buf::BenchBuf`]) and the sinks.
//!
//! `benches/engine.rs` measures ns/packet per method for established flows and new
//! connections with a thousand and a million connections in the table; `rvs-bench-mem`
//! measures memory per connection; `rvs-bench-pcap` writes the captures and configurations of
//! `bench/dpdk/run.sh`. `bench/engine/run.sh` runs the first two and writes
//! `bench/results/engine.md`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod buf;
pub mod frame;
pub mod scenario;

pub use buf::{BenchBuf, Pool, SinkIo};
pub use frame::{Frame, Tcp};
pub use scenario::{Method, Scenario};

/// Resident set size of this process in bytes (Linux `/proc/self/statm`), or 0 if unknown.
pub fn rss_bytes() -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}
