//! Print the counters an engine seed (or any engine-target input file) ends with:
//! `cargo run --manifest-path fuzz/Cargo.toml --example show_seed -- NAME|FILE`.

fn main() {
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "nat_tcp_conversation".into());
    let input = rvs_fuzz::seeds::engine()
        .into_iter()
        .find(|(n, _)| *n == arg)
        .map(|(_, d)| d)
        .unwrap_or_else(|| std::fs::read(&arg).expect("a seed name or a file"));
    let h = rvs_fuzz::engine::run(&input).expect("non-empty input");
    let s = &h.worker.stats;
    println!("{s:#?}");
    for (name, n) in s.nonzero_drops() {
        println!("drop {name}: {n}");
    }
}
