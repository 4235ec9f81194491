//! `rvs-replay`: see the crate documentation of `rvs_replay` for the semantics.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Replay a capture through the rvs engine on the capture's clock, applying a timeline of
/// ipvsadm commands, and write the scheduling decisions (and optionally the frames the
/// director sent).
#[derive(Parser, Debug)]
#[command(name = "rvs-replay", version)]
struct Args {
    /// Input capture (pcap or pcapng, Ethernet); every frame is taken as received on the
    /// director's first port.
    #[arg(long, value_name = "IN.pcap")]
    pcap: PathBuf,
    /// Timeline: one `<seconds since the first packet> <ipvsadm arguments>` per line.
    #[arg(long, value_name = "OPS.txt")]
    timeline: Option<PathBuf>,
    /// rvsd configuration (TOML); default: one port, no services.
    #[arg(long, value_name = "FILE.toml")]
    config: Option<PathBuf>,
    /// Write every frame the director transmitted here (pcap).
    #[arg(long, value_name = "OUT.pcap")]
    out: Option<PathBuf>,
    /// Write one JSON line per scheduling decision here.
    #[arg(long, value_name = "OUT.jsonl")]
    decisions: PathBuf,
    /// Connection table size (default: the configuration's max_connections, else 1048576).
    #[arg(long, value_name = "N")]
    max_connections: Option<u32>,
    /// Print no summary on standard error.
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let a = Args::parse();
    let opts = rvs_replay::Options {
        pcap: a.pcap,
        timeline: a.timeline,
        config: a.config,
        out: a.out,
        decisions: a.decisions,
        max_connections: a.max_connections,
    };
    match rvs_replay::run(&opts) {
        Ok(summary) => {
            if !a.quiet {
                eprintln!("rvs-replay: {summary}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rvs-replay: {e}");
            ExitCode::FAILURE
        }
    }
}
