//! Memory per connection: a worker for `--method` with a table of `--capacity` connections
//! (rvsd's default 1,048,576) is created and filled with `--flows` established connections;
//! prints a CSV header and one line (run one process per method: the resident set of a process
//! that already freed a big table says little):
//!
//! `method,capacity,flows,entry_bytes,table_bytes,table_bytes_per_slot,rss_new_bytes,rss_bytes,rss_bytes_per_conn`
//!
//! - `entry_bytes`: `size_of::<Option<Entry<ConnData>>>()`, the slab slot alone;
//! - `table_bytes`: `ConnTable::memory_bytes()` of the IPv4 table (slab, links, index, wheel),
//!   allocated at start;
//! - `rss_new_bytes`: growth of the resident set from before the worker was created to just
//!   after (what is allocated and touched up front);
//! - `rss_bytes`: growth from before the worker was created to after the table was filled:
//!   everything a connection costs (the table, persistence templates sized like it, FullNAT
//!   port pools, the allocator's overhead), divided by the connections for the last column.

use clap::Parser;
use rvs_bench::scenario::shuffled_ids;
use rvs_bench::{rss_bytes, Method, Scenario};

#[derive(Parser)]
struct Args {
    /// Connection table size.
    #[arg(long, default_value_t = 1 << 20)]
    capacity: u32,
    /// Connections to open.
    #[arg(long, default_value_t = 1_000_000)]
    flows: u32,
    /// dr, nat, fullnat or tun.
    #[arg(long, default_value = "dr")]
    method: String,
}

fn main() {
    let args = Args::parse();
    let m = Method::parse(&args.method).unwrap_or_else(|| panic!("unknown method {}", args.method));
    println!("method,capacity,flows,entry_bytes,table_bytes,table_bytes_per_slot,rss_new_bytes,rss_bytes,rss_bytes_per_conn");
    let entry = std::mem::size_of::<Option<rvs_conn::Entry<rvs_engine::worker::ConnData>>>();
    let ids = shuffled_ids(0, args.flows, 11);
    let before = rss_bytes();
    let mut s = Scenario::new(m, args.capacity, |_| {});
    let created = rss_bytes();
    s.establish(&ids);
    let after = rss_bytes();
    assert_eq!(s.worker.conns().len(), args.flows as usize);
    let table = s.worker.conns().memory_bytes();
    let rss = after.saturating_sub(before);
    println!(
        "{},{},{},{},{},{:.1},{},{},{:.1}",
        m.name(),
        args.capacity,
        args.flows,
        entry,
        table,
        table as f64 / f64::from(args.capacity),
        created.saturating_sub(before),
        rss,
        rss as f64 / f64::from(args.flows)
    );
}
