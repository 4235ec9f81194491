#!/usr/bin/env bash
# Sets up the machine and runs every test: formatting, lints, unit/property/engine tests, the
# DPDK tests on virtual devices, and the LVS labs in network namespaces through rvsd.
# Run as root on Debian 12:  sudo ci/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"

echo "== build (release: rvsd for the labs)"
cargo build --release --workspace

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

echo "== unit, property, engine and DPDK tests"
cargo test --workspace

echo "== fuzz smoke (every fuzz target for a bounded time, seeds and regressions replayed)"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}" bash ci/fuzz-smoke.sh

echo "== labs (network namespaces, real curl, rvsd on net_af_packet)"
RVSD="${CARGO_TARGET_DIR:-$PWD/target}/release/rvsd" bash ci/labs/run-all.sh
