#!/usr/bin/env bash
# Installs everything rvs needs to build, test and run its labs on a fresh Debian 12 machine.
# Idempotent: packages already present are skipped quickly. Must run as root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "ci/setup.sh: run as root (it installs Debian packages)" >&2
    exit 1
fi

packages=(
    # DPDK 22.11 headers, libraries and PMD plugins (net_af_packet, net_ring, net_pcap, net_null, ...)
    dpdk dpdk-dev libdpdk-dev
    # bindgen needs libclang; the C shim needs a C compiler and pkg-config
    libclang-dev clang pkg-config build-essential
    # lab hosts and their traffic
    iproute2 ethtool curl tcpdump nftables python3 procps psmisc openssl
    # benchmarks (bench/kernel): load generator and real servers
    wrk nginx-light
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "ci/setup.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "ci/setup.sh: no Rust toolchain (cargo) found; install one with rustup" >&2
        exit 1
    fi
fi

# Hugepages are optional: tests and labs run with --no-huge; benchmarks use them when present.
echo "ci/setup.sh: ready ($(pkg-config --modversion libdpdk 2>/dev/null | sed 's/^/libdpdk /'), $(cargo --version))"
