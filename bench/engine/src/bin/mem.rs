//! Memory per connection: for each forwarding method, a worker with a table of
//! `--capacity` connections (rvsd's default 1,048,576) is created and filled with `--flows`
//! established connections; prints one CSV line per method:
//!
//! `method,capacity,flows,entry_bytes,table_bytes,table_bytes_per_slot,rss_bytes,rss_bytes_per_conn`
//!
//! - `entry_bytes`: `size_of::<Option<Entry<ConnData>>>()`, the slab slot alone;
//! - `table_bytes`: `ConnTable::memory_bytes()` (slab, links, index, wheel), allocated at start;
//! - `rss_bytes`: growth of the resident set from before the worker was created to after the
//!   table was filled: everything a connection costs (the table, LIP port pools, persistence
//!   templates, the allocator's overhead), divided by the connections for the last column.

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
    /// Methods (dr, nat, fullnat, tun); all by default.
    #[arg(long, value_delimiter = ',')]
    methods: Vec<String>,
}

fn main() {
    let args = Args::parse();
    let methods: Vec<Method> = if args.methods.is_empty() {
        Method::ALL.to_vec()
    } else {
        args.methods
            .iter()
            .map(|m| Method::parse(m).unwrap_or_else(|| panic!("unknown method {m}")))
            .collect()
    };
    println!("method,capacity,flows,entry_bytes,table_bytes,table_bytes_per_slot,rss_bytes,rss_bytes_per_conn");
    let entry = std::mem::size_of::<Option<rvs_conn::Entry<rvs_engine::worker::ConnData>>>();
    for m in methods {
        let ids = shuffled_ids(0, args.flows, 11);
        let before = rss_bytes();
        let mut s = Scenario::new(m, args.capacity, |_| {});
        s.establish(&ids);
        let after = rss_bytes();
        assert_eq!(s.worker.conns().len(), args.flows as usize);
        let table = s.worker.conns().memory_bytes();
        let rss = after.saturating_sub(before);
        println!(
            "{},{},{},{},{},{:.1},{},{:.1}",
            m.name(),
            args.capacity,
            args.flows,
            entry,
            table,
            table as f64 / f64::from(args.capacity),
            rss,
            rss as f64 / f64::from(args.flows)
        );
        drop(s);
        drop(ids);
    }
}
