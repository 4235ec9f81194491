#!/usr/bin/env bash
# The demo: LVS.md's NAT lab through rvsd. Sets up the machine, builds rvsd, builds the lab's
# hosts as network namespaces, and shows four curls alternating between two real servers.
# Run as root on Debian 12:  sudo ci/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -p rvsd
RVSD="${CARGO_TARGET_DIR:-$PWD/target}/release/rvsd" bash ci/labs/nat.sh
