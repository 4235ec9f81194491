//! Finds the system DPDK with pkg-config, compiles the C shim for DPDK's `static inline`
//! functions, generates the bindings with bindgen and links libdpdk as shared libraries.
//!
//! Linking shared matters: only a shared librte_eal loads the PMD plugin directory
//! (`.../dpdk/pmds-<abi>`) by itself, which is where net_null, net_ring, net_pcap,
//! net_af_packet, net_af_xdp, net_tap and the mempool ring driver live.
//!
//! Each missing prerequisite stops the build with one line naming the package to install.

use std::env;
use std::path::PathBuf;
use std::process::Command;

/// Oldest DPDK whose API the bindings and the shim are written against.
const MIN_DPDK: &str = "22.11";

/// DPDK libraries outside pkg-config's `--libs libdpdk` that we call directly:
/// `rte_vdev_init` lives in the vdev bus driver and `rte_eth_from_rings` in the ring PMD.
/// Both are the same files as the plugins EAL loads (symlinks into the plugin directory),
/// so the dynamic loader maps each once.
const EXTRA_LIBS: &[&str] = &["rte_bus_vdev", "rte_net_ring"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=shim/wrapper.h");
    println!("cargo:rerun-if-changed=shim/rvs_shim.h");
    println!("cargo:rerun-if-changed=shim/rvs_shim.c");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    let dpdk = match pkg_config::Config::new()
        .atleast_version(MIN_DPDK)
        .cargo_metadata(false)
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(e) => panic!(
            "libdpdk >= {MIN_DPDK} not found by pkg-config ({}): install it with \
             'apt-get install libdpdk-dev pkg-config'",
            first_line(&e.to_string())
        ),
    };
    let cflags = dpdk_cflags();

    // The shim first: the static archive must come before the shared libraries it uses
    // on the link line.
    let mut shim = cc::Build::new();
    shim.file("shim/rvs_shim.c")
        .include("shim")
        .warnings(false)
        .flag("-Wall");
    for f in &cflags {
        shim.flag(f);
    }
    shim.compile("rvs_shim");

    for dir in &dpdk.link_paths {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
    // rustc links with `-Wl,--as-needed`, so a library stays in DT_NEEDED only when a
    // symbol of it is referenced: librte_eal, ethdev, mbuf, mempool, ring are (by the
    // shim and the bindings); the rest of pkg-config's list costs nothing.
    for lib in dpdk
        .libs
        .iter()
        .map(String::as_str)
        .chain(EXTRA_LIBS.iter().copied())
    {
        println!("cargo:rustc-link-lib=dylib={lib}");
    }
    if let Some(inc) = dpdk.include_paths.first() {
        // Exposed to dependents as DEP_DPDK_INCLUDE (links = "dpdk").
        println!("cargo:include={}", inc.display());
    }

    check_libclang();

    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let bindings = bindgen::Builder::default()
        .header("shim/wrapper.h")
        .clang_args(&cflags)
        .clang_arg("-Ishim")
        .formatter(bindgen::Formatter::None)
        .prepend_enum_name(false)
        .derive_default(true)
        .derive_debug(false)
        .generate_comments(false)
        .allowlist_function("rvs_.*")
        .allowlist_function("rte_eal_.*")
        .allowlist_function("rte_eth_.*")
        .allowlist_function("rte_pktmbuf_.*")
        .allowlist_function("rte_mempool_.*")
        .allowlist_function("rte_ring_.*")
        .allowlist_function("rte_lcore_.*")
        .allowlist_function("rte_get_next_lcore")
        .allowlist_function("rte_get_main_lcore")
        .allowlist_function("rte_strerror")
        .allowlist_function("rte_socket_id")
        .allowlist_function("rte_get_tsc_hz")
        .allowlist_function("rte_vdev_init")
        .allowlist_function("rte_vdev_uninit")
        .allowlist_function("rte_dev_probe")
        .allowlist_function("rte_dev_remove")
        .allowlist_type("rte_mbuf")
        .allowlist_type("rte_eth_conf")
        .allowlist_type("rte_eth_stats")
        .allowlist_type("rte_eth_dev_info")
        .allowlist_type("rte_eth_link")
        .allowlist_type("rte_ether_addr")
        .allowlist_type("rte_eth_rxconf")
        .allowlist_type("rte_eth_txconf")
        .allowlist_type("rte_lcore_state_t")
        .allowlist_var("RTE_MBUF_.*")
        .allowlist_var("RTE_PKTMBUF_HEADROOM")
        .allowlist_var("RTE_ETH_.*")
        .allowlist_var("RTE_ETHER_.*")
        .allowlist_var("RTE_MAX_ETHPORTS")
        .allowlist_var("RTE_MAX_LCORE")
        .allowlist_var("RTE_MAX_QUEUES_PER_PORT")
        .allowlist_var("RTE_MEMPOOL_CACHE_MAX_SIZE")
        .allowlist_var("RTE_RING_NAMESIZE")
        .allowlist_var("RTE_MEMPOOL_NAMESIZE")
        .allowlist_var("RTE_DEV_NAME_MAX_LEN")
        .allowlist_var("RING_F_.*")
        .allowlist_var("SOCKET_ID_ANY")
        .allowlist_var("LCORE_ID_ANY")
        // Only ever handled by pointer: their layout is DPDK's business.
        .opaque_type("rte_mempool")
        .opaque_type("rte_ring")
        .generate()
        .unwrap_or_else(|e| {
            panic!(
                "bindgen failed on the DPDK headers ({}); check that libdpdk-dev matches \
                 the installed DPDK libraries",
                first_line(&e.to_string())
            )
        });
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("writing bindings.rs into OUT_DIR");
}

/// pkg-config's `--cflags libdpdk` verbatim: besides the include paths it carries
/// `-include rte_config.h` and a `-march` that DPDK's headers need (SSE4.2 intrinsics),
/// which the pkg-config crate's parsed view drops.
fn dpdk_cflags() -> Vec<String> {
    let pkg_config = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_string());
    let out = Command::new(&pkg_config)
        .args(["--cflags", "libdpdk"])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {pkg_config} ({e}): install it with 'apt-get install pkg-config'")
        });
    if !out.status.success() {
        panic!(
            "'{pkg_config} --cflags libdpdk' failed: install DPDK with 'apt-get install libdpdk-dev'"
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// bindgen panics with a long message when libclang is absent; say it in one line first.
fn check_libclang() {
    println!("cargo:rerun-if-env-changed=LIBCLANG_PATH");
    if clang_sys::load().is_err() {
        panic!(
            "libclang not found (bindgen needs it): install it with \
             'apt-get install libclang-dev', or set LIBCLANG_PATH to the directory \
             holding libclang.so"
        );
    }
}

/// The first non-blank line of a multi-line error message.
fn first_line(s: &str) -> &str {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no detail")
}
