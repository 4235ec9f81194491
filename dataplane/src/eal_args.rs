//! The EAL command line rvsd hands to DPDK: the operator's arguments, plus one `--vdev` per
//! configured virtual device, plus defaults the operator did not set.

use rvs_config::Config;

/// Whether a port's device is a DPDK virtual device (created from `--vdev`) rather than a
/// PCI address. DPDK's vdev drivers are all named `net_*` (or the older `eth_*`).
pub fn is_vdev(device: &str) -> bool {
    device.starts_with("net_") || device.starts_with("eth_")
}

/// Build the EAL argument vector (argv[0] included) from the operator's EAL arguments and the
/// configuration.
///
/// - every virtual-device port gets `--vdev NAME[,ARGS]`, unless the operator already passed
///   a `--vdev` for that name;
/// - without `-l`/`--lcores`/`-c`, rvsd asks for lcores 0..=workers (main + workers);
/// - without `--file-prefix`, `--in-memory` or `--no-shconf`, runtime files are kept private
///   so that several instances (and tests) never collide: `--in-memory`, or with `--no-huge`
///   (which EAL refuses to combine with `--in-memory`) `--no-shconf` and a per-process
///   `--file-prefix`.
pub fn build(cfg: &Config, user: &[String]) -> Vec<String> {
    let mut args = vec!["rvsd".to_string()];
    args.extend(user.iter().cloned());
    let has = |flags: &[&str]| {
        user.iter().any(|a| {
            flags
                .iter()
                .any(|f| a == f || a.starts_with(&format!("{f}=")))
        })
    };
    if !has(&["-l", "--lcores", "-c"]) {
        args.push("-l".into());
        args.push(format!("0-{}", cfg.workers));
    }
    if !has(&["--in-memory", "--file-prefix", "--no-shconf"]) {
        if has(&["--no-huge"]) {
            args.push("--no-shconf".into());
            args.push("--file-prefix".into());
            args.push(format!("rvsd-{}", std::process::id()));
        } else {
            args.push("--in-memory".into());
        }
    }
    for p in &cfg.ports {
        if !is_vdev(&p.device) {
            continue;
        }
        let already = user.windows(2).any(|w| {
            w[0] == "--vdev" && (w[1] == p.device || w[1].starts_with(&format!("{},", p.device)))
        });
        if already {
            continue;
        }
        args.push("--vdev".into());
        if p.args.is_empty() {
            args.push(p.device.clone());
        } else {
            args.push(format!("{},{}", p.device, p.args));
        }
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = r#"
workers = 2
[[ports]]
name = "outside"
device = "net_af_packet0"
args = "iface=veth0,qpairs=2"
addresses = ["198.18.0.1/24"]
[[ports]]
name = "inside"
device = "net_null0"
addresses = ["198.18.1.1/24"]
"#;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn vdevs_and_defaults_are_added() {
        let cfg = rvs_config::parse(CFG).unwrap();
        let a = build(&cfg, &s(&["--no-huge"]));
        let prefix = format!("rvsd-{}", std::process::id());
        assert_eq!(
            a,
            s(&[
                "rvsd",
                "--no-huge",
                "-l",
                "0-2",
                "--no-shconf",
                "--file-prefix",
                &prefix,
                "--vdev",
                "net_af_packet0,iface=veth0,qpairs=2",
                "--vdev",
                "net_null0",
            ])
        );
    }

    #[test]
    fn hugepage_runs_keep_runtime_files_in_memory() {
        let cfg = rvs_config::parse(CFG).unwrap();
        let a = build(&cfg, &[]);
        assert_eq!(&a[1..4], &s(&["-l", "0-2", "--in-memory"])[..]);
    }

    #[test]
    fn the_operators_choices_win() {
        let cfg = rvs_config::parse(CFG).unwrap();
        let a = build(
            &cfg,
            &s(&[
                "-l",
                "0,1,1",
                "--file-prefix",
                "x",
                "--vdev",
                "net_null0,size=64",
            ]),
        );
        assert_eq!(
            a,
            s(&[
                "rvsd",
                "-l",
                "0,1,1",
                "--file-prefix",
                "x",
                "--vdev",
                "net_null0,size=64",
                "--vdev",
                "net_af_packet0,iface=veth0,qpairs=2",
            ])
        );
    }

    #[test]
    fn pci_devices_are_not_vdevs() {
        assert!(!is_vdev("0000:03:00.0"));
        assert!(is_vdev("net_ring0"));
    }
}
