//! Captures and configurations for `bench/dpdk/run.sh`: client → VIP traffic of one
//! forwarding method, written as one pcap per worker (each holding only the flows that worker
//! owns, so no frame is handed between workers), plus the rvsd configuration that replays them
//! through net_pcap (`infinite_rx=1`: the PMD loops over the capture from memory) with a
//! net_null inside port for NAT and FullNAT.
//!
//! The configuration gives rvsd a control socket in the output directory.
//!
//! Each flow starts with a SYN; the following rounds are ACKs, every round in a new random
//! order. Printed on stdout: one line `vdev=NAME,ARGS` per port, for testpmd.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use clap::Parser;
use rvs_bench::frame::{client, flags, PcapWriter, Rng};
use rvs_bench::Method;
use rvs_engine::steer;

#[derive(Parser)]
struct Args {
    /// dr, nat, fullnat or tun.
    #[arg(long)]
    method: String,
    /// Flows in all (split evenly between the workers).
    #[arg(long, default_value_t = 1024)]
    flows: u32,
    /// Packets per flow: a SYN, then ACKs.
    #[arg(long, default_value_t = 8)]
    packets_per_flow: u32,
    /// Workers (rvsd `workers`, one RX queue each).
    #[arg(long, default_value_t = 1)]
    workers: u16,
    /// rvsd `max_connections`.
    #[arg(long, default_value_t = 1 << 20)]
    max_connections: u32,
    /// Output directory (q0.pcap, q1.pcap, ..., rvsd.toml).
    #[arg(long)]
    dir: PathBuf,
    /// Shuffle seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> std::io::Result<()> {
    let a = Args::parse();
    let m = Method::parse(&a.method).unwrap_or_else(|| panic!("unknown method {}", a.method));
    std::fs::create_dir_all(&a.dir)?;
    let workers = a.workers.max(1);
    let per_queue = a.flows / u32::from(workers);
    let mut rng = Rng::new(a.seed);
    let mut pcaps = Vec::new();
    for q in 0..workers {
        let mut ids = Vec::with_capacity(per_queue as usize);
        let mut i = 0u32;
        while ids.len() < per_queue as usize {
            if steer::client_owner(client(i).0, workers) == q {
                ids.push(i);
            }
            i += 1;
        }
        let path = a.dir.join(format!("q{q}.pcap"));
        let mut w = PcapWriter::new(BufWriter::new(File::create(&path)?))?;
        for round in 0..a.packets_per_flow {
            rng.shuffle(&mut ids);
            let f = if round == 0 { flags::SYN } else { flags::ACK };
            for &id in &ids {
                w.write(&m.to_vip(id, f))?;
            }
        }
        w.finish()?;
        pcaps.push(path);
    }
    let rx: Vec<String> = pcaps
        .iter()
        .map(|p| format!("rx_pcap={}", p.display()))
        .collect();
    let pcap_args = format!("{},infinite_rx=1", rx.join(","));
    let mut devices = vec![("net_pcap0", pcap_args.as_str())];
    if m.ports() == 2 {
        devices.push(("net_null0", "no-rx=1"));
    }
    let mut toml = m.config(a.max_connections, workers, &devices);
    // A control socket of its own, so that this rvsd never meets another one's (the default
    // path is shared by every rvsd on the machine).
    let socket = std::fs::canonicalize(&a.dir)?.join("rvsd.sock");
    toml += &format!("[control]\nsocket = \"{}\"\n", socket.display());
    std::fs::write(a.dir.join("rvsd.toml"), toml)?;
    for (d, args) in &devices {
        println!("vdev={d},{args}");
    }
    Ok(())
}
