#!/usr/bin/env bash
# Engine per-packet cost, connection setup, full table and memory per connection (issue 6,
# parts 1 and 4), one core, no DPDK. Writes bench/results/$TAG.md and $TAG.csv (+ $TAG-mem.csv).
#
#   bench/engine/run.sh                   # the whole suite, about 3 minutes
#   RVS_BENCH_ONLY=established_in/dr bench/engine/run.sh   # a subset (substrings of bench ids)
#   THP=1 bench/engine/run.sh             # with transparent huge pages for the heap (tag engine-thp)
#
# Knobs: CPU (core to pin to, default 1), TAG (results name, default engine), OUT (directory,
# default bench/results), CARGO_TARGET_DIR, MEM=0 (skip the memory measurement).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CPU=${CPU:-1}
OUT=${OUT:-$ROOT/bench/results}
TAG=${TAG:-engine}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
CMD="bench/engine/run.sh"
[ -n "${RVS_BENCH_ONLY:-}" ] && CMD="RVS_BENCH_ONLY=$RVS_BENCH_ONLY $CMD"
if [ "${THP:-0}" = 1 ]; then
    # glibc ≥ 2.35: malloc asks for transparent huge pages (madvise) on its large mappings,
    # which is what the THP setting "madvise" of this kernel needs.
    export GLIBC_TUNABLES=glibc.malloc.hugetlb=1
    [ "$TAG" = engine ] && TAG=engine-thp
    CMD="THP=1 $CMD"
fi
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cargo bench -p rvs-bench --bench engine --no-run 2>"$WORK/build.log" || { cat "$WORK/build.log"; exit 1; }
cargo build --release -p rvs-bench --bin rvs-bench-mem 2>>"$WORK/build.log" || { cat "$WORK/build.log"; exit 1; }
rm -rf "$CARGO_TARGET_DIR/criterion"

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "engine benchmarks on CPU $CPU (load average $LOAD)..." >&2
RVS_BENCH_EXTRA="$WORK/extra.csv" timeout 900 taskset -c "$CPU" \
    cargo bench -p rvs-bench --bench engine -- --noplot 2>&1 | tee "$WORK/bench.log" | grep -E "^[a-z_]+/|time:" >&2
if [ "${MEM:-1}" = 1 ]; then
    echo "memory per connection..." >&2
    for m in dr nat fullnat tun; do
        timeout 120 taskset -c "$CPU" "$CARGO_TARGET_DIR/release/rvs-bench-mem" --method "$m" >"$WORK/mem-$m.csv"
    done
    { head -1 "$WORK/mem-dr.csv"; for m in dr nat fullnat tun; do tail -n +2 "$WORK/mem-$m.csv"; done; } >"$WORK/mem.csv"
    cp "$WORK/mem.csv" "$OUT/$TAG-mem.csv"
fi

COMMIT=${COMMIT_LABEL:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [ -n "$(git status --porcelain -- crates dataplane bench/engine 2>/dev/null)" ]; then
    COMMIT="$COMMIT (with uncommitted changes in crates/, dataplane/ or bench/engine/)"
fi
MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
HYPER=$(lscpu 2>/dev/null | awk -F: '/Hypervisor vendor/ {gsub(/^ +/, "", $2); print $2}')
HEADER="- machine: $(nproc) CPUs, $MODEL${HYPER:+ (virtual machine, $HYPER)}, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), Linux $(uname -r); THP: $(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)${GLIBC_TUNABLES:+, GLIBC_TUNABLES=$GLIBC_TUNABLES}\\n- pinned to CPU $CPU; load average at start: $LOAD (the machine is shared)\\n- commit: $COMMIT; $(rustc --version)\\n- date: $START\\n- command: \`$CMD\`"
python3 bench/engine/report.py --criterion "$CARGO_TARGET_DIR/criterion" --extra "$WORK/extra.csv" \
    --mem "$WORK/mem.csv" --md "$OUT/$TAG.md" --csv "$OUT/$TAG.csv" --header "$HEADER"
echo "wrote $OUT/$TAG.md and $OUT/$TAG.csv" >&2
