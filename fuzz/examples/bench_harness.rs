//! How long one harness run takes (to keep the fuzz targets fast):
//! `cargo run --release --manifest-path fuzz/Cargo.toml --example bench_harness`.

use std::time::Instant;

fn main() {
    let seeds = rvs_fuzz::seeds::engine();
    let t = Instant::now();
    let n = 300;
    for _ in 0..n {
        let _ = rvs_fuzz::engine::run(&[0]);
    }
    println!("empty input: {:?} per run", t.elapsed() / n);
    for (name, s) in &seeds {
        let t = Instant::now();
        for _ in 0..n {
            let _ = rvs_fuzz::engine::run(s);
        }
        println!("{name}: {:?} per run", t.elapsed() / n);
    }
}
