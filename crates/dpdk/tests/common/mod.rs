//! EAL arguments shared by the integration tests. Each test file is its own process with
//! exactly one #[test], because rte_eal_init can run only once per process.

/// EAL arguments for a test on lcores `lcores` ("0", "0-1"): no hugepages, no PCI scan,
/// no shared config file (which also turns multi-process IPC off) and a file prefix of
/// its own, so tests run as root on a machine without NICs, and in parallel with each
/// other. (`--in-memory` is refused together with `--no-huge`, which implies legacy
/// memory mode.)
pub fn eal_args(name: &str, lcores: &str) -> Vec<String> {
    let prefix = name;
    [
        name,
        "--no-huge",
        "-m",
        "256",
        "--no-shconf",
        "--file-prefix",
        prefix,
        "--no-pci",
        "--no-telemetry",
        "-l",
        lcores,
        "--log-level",
        "warning",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
