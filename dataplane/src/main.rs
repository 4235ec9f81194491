//! `rvsd`: the rvs data plane. The main lcore runs the control thread; each worker lcore polls
//! its queue of every port and runs the engine.
//!
//! ```text
//! rvsd --config FILE [-- EAL arguments]
//! ```

mod control;
mod eal_args;
mod report;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::Parser;
use dpdk::{Eal, Mempool, Port, PortConfig, Ring, RingMode};
use rvs_config::{Config, ConfigError};
use rvs_engine::{Director, Stats, WorkerConfig};
use rvs_wire::MacAddr;

use crate::control::{Control, Published, WorkerSlot};
use crate::report::PortReport;
use crate::worker::{WorkerResult, WorkerSetup};
use arc_swap::ArcSwap;
use rvs_control::metrics::PortCounters;

/// rvs data plane: an LVS-style layer-4 load balancer on DPDK.
#[derive(Parser, Debug)]
#[command(name = "rvsd", version, about)]
struct Cli {
    /// The TOML configuration.
    #[arg(long, short = 'c', value_name = "FILE")]
    config: PathBuf,
    /// Only validate the configuration and exit (0 when it is valid).
    #[arg(long)]
    check: bool,
    /// Stop once the ports have received nothing for this many seconds after receiving
    /// something: for replaying a capture through net_pcap devices.
    #[arg(long, value_name = "SECONDS")]
    exit_when_idle: Option<f64>,
    /// Arguments for DPDK's EAL, after `--`.
    #[arg(last = true, value_name = "EAL ARGS")]
    eal: Vec<String>,
}

/// Exit status for a configuration the operator must fix.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RVS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();

    let cfg = match rvs_config::load(&cli.config) {
        Ok(cfg) => cfg,
        Err(e) => {
            match &e {
                ConfigError::Io { .. } => eprintln!("rvsd: {e}"),
                _ => eprintln!("rvsd: {}: {e}", cli.config.display()),
            }
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    // Compile once with placeholder MACs so that what the data path refuses is reported
    // before DPDK starts.
    let placeholder = vec![MacAddr([0; 6]); cfg.ports.len()];
    if let Err(e) = Director::new(&cfg, &placeholder, None) {
        eprintln!("rvsd: {}: {e}", cli.config.display());
        return ExitCode::from(EXIT_CONFIG);
    }
    if cli.check {
        println!("rvsd: {}: configuration is valid", cli.config.display());
        return ExitCode::SUCCESS;
    }

    match run(
        &cfg,
        &cli.config,
        &cli.eal,
        cli.exit_when_idle.map(Duration::from_secs_f64),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rvsd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Sets a stop flag when dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The kernel's name for a port's TAP device: `rvs-` and the port name, within the 15
/// characters Linux allows.
fn tap_name(port: &str) -> String {
    let mut n = format!("rvs-{port}");
    n.truncate(15);
    n
}

fn run(
    cfg: &Config,
    config_path: &std::path::Path,
    user_eal: &[String],
    exit_when_idle: Option<Duration>,
) -> anyhow::Result<()> {
    let args = eal_args::build(cfg, user_eal);
    tracing::info!(eal = ?args, "starting EAL");
    let eal = Eal::init(&args).context("DPDK EAL initialisation failed")?;

    let workers = usize::from(cfg.workers);
    let lcores = eal.worker_lcores();
    if lcores.len() < workers {
        bail!(
            "workers = {workers} needs {workers} worker lcores besides the main lcore, but EAL has {} (pass e.g. `-- -l 0-{workers}`)",
            lcores.len()
        );
    }

    let queues = cfg.workers;
    let (rx_desc, tx_desc) = (1024u16, 1024u16);
    let per_port = u32::from(queues) * (u32::from(rx_desc) + u32::from(tx_desc));
    let taps = cfg.ports.iter().filter(|p| p.exception_path).count() as u32;
    let pool_size = ((cfg.ports.len() as u32 + taps) * per_port
        + (workers as u32) * 4 * (dpdk::BURST_SIZE as u32) * (cfg.ports.len() as u32)
        + 8192)
        .max(cfg.mbufs);
    tracing::info!(
        mbufs = pool_size,
        data_room = cfg.mbuf_data_room,
        "creating the mbuf pool"
    );
    let pool = Mempool::new(
        &eal,
        "rvs_mbufs",
        pool_size,
        256,
        cfg.mbuf_data_room,
        eal.socket_id(),
    )
    .context("creating the mbuf pool (with hugepages: is /proc/sys/vm/nr_hugepages large enough? without: pass --no-huge -m 512)")?;

    let mut ports = Vec::with_capacity(cfg.ports.len());
    let mut macs = Vec::with_capacity(cfg.ports.len());
    for (i, p) in cfg.ports.iter().enumerate() {
        let mut port = Port::by_name(&eal, &p.device).with_context(|| {
            format!(
                "ports[{i}].device: no DPDK port named {:?} (a vdev needs its driver, e.g. net_af_packet0 with args iface=...)",
                p.device
            )
        })?;
        let pc = PortConfig {
            rx_queues: queues,
            tx_queues: queues,
            rx_desc,
            tx_desc,
            mtu: None,
            promiscuous: false,
        };
        port.configure(&pc, &pool)
            .with_context(|| format!("ports[{i}] ({}): configuring {} queues", p.name, queues))?;
        port.start()
            .with_context(|| format!("ports[{i}] ({}): starting {}", p.name, p.device))?;
        let mac = MacAddr(port.mac());
        tracing::info!(port = %p.name, device = %p.device, %mac, link_up = port.link_up(), "port started");
        macs.push(mac);
        ports.push(port);
    }

    // Exception path: a TAP device per port that asks for one, with the port's MAC, so that
    // the kernel behind it answers for the port's addresses as the port itself would.
    let mut taps: Vec<Option<Port>> = Vec::with_capacity(cfg.ports.len());
    for (i, p) in cfg.ports.iter().enumerate() {
        if !p.exception_path {
            taps.push(None);
            continue;
        }
        let iface = tap_name(&p.name);
        let args = format!("iface={iface},mac={}", macs[i]);
        let mut tap = Port::from_vdev(&eal, &format!("net_tap{i}"), &args).with_context(|| {
            format!("ports[{i}].exception_path: creating the TAP device {iface} (net_tap {args})")
        })?;
        let pc = PortConfig {
            rx_queues: queues,
            tx_queues: queues,
            rx_desc,
            tx_desc,
            mtu: None,
            promiscuous: false,
        };
        tap.configure(&pc, &pool)
            .and_then(|()| tap.start())
            .with_context(|| {
                format!("ports[{i}].exception_path: starting the TAP device {iface}")
            })?;
        tracing::info!(port = %p.name, %iface, "exception path to the kernel");
        taps.push(Some(tap));
    }

    let director = Arc::new(Director::new(cfg, &macs, None).map_err(|e| anyhow!("{e}"))?);
    director.activate();
    let published = Arc::new(Published {
        director: ArcSwap::from(Arc::clone(&director)),
        workers: (0..workers).map(|_| WorkerSlot::default()).collect(),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup))
        .context("installing the SIGHUP handler")?;
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }

    // Rings between workers: frames for connections another worker owns, and copies of ARP
    // frames (see rvs_engine::steer). Each is many-producer, single-consumer.
    let mut steer_rings = Vec::with_capacity(workers);
    let mut arp_rings = Vec::with_capacity(workers);
    for w in 0..workers {
        steer_rings.push(
            Ring::new(
                &eal,
                &format!("rvs_steer{w}"),
                8192,
                eal.socket_id(),
                RingMode::MPSC,
            )
            .context("creating a worker ring")?,
        );
        arp_rings.push(
            Ring::new(
                &eal,
                &format!("rvs_arp{w}"),
                1024,
                eal.socket_id(),
                RingMode::MPSC,
            )
            .context("creating a worker ring")?,
        );
    }
    let max_port = ports
        .iter()
        .map(|p| usize::from(p.id().0))
        .max()
        .unwrap_or(0);
    let mut port_index = vec![None; max_port + 1];
    for (i, p) in ports.iter().enumerate() {
        port_index[usize::from(p.id().0)] = Some(i as u16);
    }

    let epoch = Instant::now();
    let mut joins = Vec::with_capacity(workers);
    // Declared after `joins`, so dropped before it: any early return from here on tells the
    // workers to stop before the joins wait for them (they would otherwise wait forever).
    let _stop_workers = StopOnDrop(Arc::clone(&stop));
    let mut results = Vec::with_capacity(workers);
    for (w, &lcore) in lcores.iter().take(workers).enumerate() {
        let producers = |rings: &[Ring]| -> anyhow::Result<Vec<Option<dpdk::RingProducer>>> {
            rings
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    if i == w {
                        Ok(None)
                    } else {
                        r.producer().map(Some).context("ring producer")
                    }
                })
                .collect()
        };
        let steer_out = producers(&steer_rings)?;
        let arp_out = producers(&arp_rings)?;
        let q = w as u16;
        let mut rx = Vec::with_capacity(ports.len());
        let mut tx = Vec::with_capacity(ports.len());
        for p in &ports {
            rx.push(
                p.rx_queue(q)
                    .with_context(|| format!("rx queue {q} of {}", p.name()))?,
            );
            tx.push(
                p.tx_queue(q)
                    .with_context(|| format!("tx queue {q} of {}", p.name()))?,
            );
        }
        let mut tap_rx = Vec::with_capacity(taps.len());
        let mut tap_tx = Vec::with_capacity(taps.len());
        for t in &taps {
            match t {
                Some(t) => {
                    tap_rx.push(Some(t.rx_queue(q).context("TAP rx queue")?));
                    tap_tx.push(Some(t.tx_queue(q).context("TAP tx queue")?));
                }
                None => {
                    tap_rx.push(None);
                    tap_tx.push(None);
                }
            }
        }
        let result = Arc::new(Mutex::new(None::<WorkerResult>));
        results.push(Arc::clone(&result));
        let setup = WorkerSetup {
            cfg: WorkerConfig {
                id: q,
                max_connections: cfg.max_connections as usize,
                max_neighbours: 1024,
                workers: cfg.workers,
                ..WorkerConfig::default()
            },
            director: Arc::clone(&director),
            rx,
            tx,
            pool: pool.clone(),
            stop: Arc::clone(&stop),
            idle_sleep: Duration::from_micros(u64::from(cfg.idle_sleep_us)),
            epoch,
            result,
            steer_in: steer_rings[w].consumer().context("ring consumer")?,
            arp_in: arp_rings[w].consumer().context("ring consumer")?,
            steer_out,
            arp_out,
            port_index: port_index.clone(),
            published: Arc::clone(&published),
            tap_rx,
            tap_tx,
        };
        joins.push(
            dpdk::launch_on_lcore(&eal, lcore, move || worker::run(setup))
                .with_context(|| format!("launching worker {w} on lcore {lcore}"))?,
        );
    }

    // The control plane: rvsadm socket, metrics, health checks.
    let port_counters: Arc<ArcSwap<Vec<PortCounters>>> =
        Arc::new(ArcSwap::from_pointee(Vec::new()));
    let reader = Arc::clone(&port_counters);
    let control = Arc::new(Control::new(
        cfg.clone(),
        config_path.to_path_buf(),
        macs.clone(),
        Arc::clone(&published),
        Box::new(move || reader.load().to_vec()),
    ));
    let socket = &cfg.control.socket;
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("control.socket: creating {}", dir.display()))?;
    }
    let socket_thread = rvs_control::serve(
        socket,
        cfg.control.socket_mode,
        Arc::clone(&control) as Arc<dyn rvs_control::Handler>,
        Arc::clone(&stop),
    )
    .with_context(|| {
        format!(
            "control.socket: cannot serve rvsadm on {}",
            socket.display()
        )
    })?;
    let metrics_thread = match cfg.control.metrics {
        Some(addr) => {
            let c = Arc::clone(&control);
            Some(
                rvs_control::metrics::serve_metrics(
                    addr,
                    Arc::new(move || c.metrics()),
                    Arc::clone(&stop),
                )
                .with_context(|| format!("control.metrics: cannot listen on {addr}"))?,
            )
        }
        None => None,
    };
    let c = Arc::clone(&control);
    let checker = rvs_control::HealthChecker::start(
        2,
        Arc::new(move |svc, rs, health| c.health_changed(svc, rs, health)),
    );
    checker.set_targets(control.health_targets());

    println!(
        "rvsd ready ({} ports, {} workers, {} services)",
        ports.len(),
        workers,
        director.services.len()
    );
    let mut seen = 0u64;
    let mut last_rx = Instant::now();
    let mut last_targets = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if hup.swap(false, Ordering::Relaxed) {
            match control.reload_file() {
                Ok(()) => checker.set_targets(control.health_targets()),
                Err(e) => {
                    tracing::error!(error = %e.message, "reload refused; the running configuration stays")
                }
            }
        }
        if last_targets.elapsed() >= Duration::from_secs(1) {
            // rvsadm may have added or removed real servers.
            last_targets = Instant::now();
            checker.set_targets(control.health_targets());
        }
        control.sample();
        port_counters.store(Arc::new(
            ports
                .iter()
                .zip(&cfg.ports)
                .map(|(p, c)| {
                    let s = p.stats();
                    PortCounters {
                        name: c.name.clone(),
                        rx_packets: s.ipackets,
                        tx_packets: s.opackets,
                        rx_bytes: s.ibytes,
                        tx_bytes: s.obytes,
                        rx_missed: s.imissed,
                    }
                })
                .collect(),
        ));
        if let Some(idle) = exit_when_idle {
            let rx: u64 = ports.iter().map(|p| p.stats().ipackets).sum();
            if rx != seen {
                seen = rx;
                last_rx = Instant::now();
            } else if seen > 0 && last_rx.elapsed() >= idle {
                tracing::info!(received = seen, "input drained");
                stop.store(true, Ordering::Relaxed);
            }
        }
    }
    tracing::info!("stopping");
    for j in joins {
        j.join();
    }
    checker.stop();
    let _ = socket_thread.join();
    if let Some(t) = metrics_thread {
        let _ = t.join();
    }

    let mut total = Stats::default();
    let mut tx_dropped = vec![0u64; ports.len()];
    for (w, r) in results.iter().enumerate() {
        if let Some(r) = r.lock().ok().and_then(|mut g| g.take()) {
            println!(
                "worker {w}: rx {} forwarded {} conns_created {} handed_off {} handoff_dropped {} wrong_worker {}",
                r.stats.rx_frames,
                r.stats.forwarded,
                r.stats.conns_created,
                r.handed_off,
                r.handoff_dropped,
                r.stats.wrong_worker
            );
            total.add(&r.stats);
            for (a, b) in tx_dropped.iter_mut().zip(&r.tx_dropped) {
                *a += b;
            }
        }
    }
    let reports: Vec<PortReport> = ports
        .iter()
        .zip(&cfg.ports)
        .zip(&tx_dropped)
        .map(|((p, c), &dropped)| {
            let s = p.stats();
            PortReport {
                name: c.name.clone(),
                device: c.device.clone(),
                rx_packets: s.ipackets,
                rx_bytes: s.ibytes,
                tx_packets: s.opackets,
                tx_bytes: s.obytes,
                rx_missed: s.imissed,
                tx_dropped: dropped,
            }
        })
        .collect();
    print!("{}", report::render(&reports, &total));
    // EAL cleanup stops and closes the ports.
    drop(taps);
    drop(ports);
    drop(steer_rings);
    drop(arp_rings);
    drop(pool);
    eal.cleanup().context("EAL cleanup")?;
    Ok(())
}
