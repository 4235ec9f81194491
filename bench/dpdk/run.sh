#!/usr/bin/env bash
# rvsd against the DPDK ceiling (issue 6 parts 2 and 4): the real rvsd and dpdk-testpmd (io,
# macswap) on the same net_pcap/net_null devices, lcores and hugepages, per forwarding method,
# and 1 vs 2 workers. As root. Writes bench/results/dpdk.md, dpdk.csv and dpdk-profile.txt.
#
#   bench/dpdk/run.sh                    # 5 runs x 4 s per program, about 7 minutes
#   RUNS=3 DURATION=2 METHODS=dr,nat SCALING=dr bench/dpdk/run.sh   # quicker
#
# Knobs: RUNS, DURATION (s per program and run), METHODS, SCALING (methods also run with 2
# workers; "" for none), FLOWS, PACKETS_PER_FLOW, MAX_CONNECTIONS (rvsd's table), MBUFS and MBUF_SIZE (both
# programs' pools: a replay of FLOWS x PACKETS_PER_FLOW frames needs that many mbufs, e.g.
# FLOWS=1000000 PACKETS_PER_FLOW=2 MBUFS=2200000 MBUF_SIZE=256 HUGEPAGES=2048), PROFILE=0 (skip the perf profile of rvsd),
# MEASURE=0 (only the profile), HUGEPAGES (2 MB pages to reserve, default 1024), OUT, TAG,
# CARGO_TARGET_DIR.
# Needs: Debian's dpdk (dpdk-testpmd), python3; perf (linux-perf) for the profile.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-5}
DURATION=${DURATION:-4}
METHODS=${METHODS:-dr,nat,fullnat,tun}
SCALING=${SCALING-dr,nat}
FLOWS=${FLOWS:-1024}
PACKETS_PER_FLOW=${PACKETS_PER_FLOW:-8}
MAX_CONNECTIONS=${MAX_CONNECTIONS:-1048576}
MBUFS=${MBUFS:-0}
MBUF_SIZE=${MBUF_SIZE:-0}
OUT=${OUT:-$ROOT/bench/results}
TAG=${TAG:-dpdk}
TESTPMD=${TESTPMD:-/usr/bin/dpdk-testpmd}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
[ "$(id -u)" = 0 ] || { echo "run as root (hugepages, DPDK)" >&2; exit 1; }
[ -x "$TESTPMD" ] || { echo "no $TESTPMD: apt-get install dpdk" >&2; exit 1; }

# Hugepages: both programs run with them (--in-memory, no --no-huge). Reserve, never shrink.
WANT=${HUGEPAGES:-1024}
HAVE=$(cat /proc/sys/vm/nr_hugepages)
if [ "$HAVE" -lt "$WANT" ]; then echo "$WANT" >/proc/sys/vm/nr_hugepages; fi
mkdir -p /dev/hugepages
mountpoint -q /dev/hugepages || mount -t hugetlbfs none /dev/hugepages
FREE=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
[ "$FREE" -ge 512 ] || { echo "only $FREE free hugepages" >&2; exit 1; }

cargo build --release -p rvsd -p rvs-bench --bin rvsd --bin rvs-bench-pcap 2>"${TMPDIR:-/tmp}/rvs-bench-dpdk-build.log" \
    || { cat "${TMPDIR:-/tmp}/rvs-bench-dpdk-build.log"; exit 1; }
RVSD=$CARGO_TARGET_DIR/release/rvsd
PCAP=$CARGO_TARGET_DIR/release/rvs-bench-pcap
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
COMMIT=${COMMIT_LABEL:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [ -n "$(git status --porcelain -- crates dataplane bench/engine 2>/dev/null)" ]; then
    COMMIT="$COMMIT (with uncommitted changes in crates/, dataplane/ or bench/engine/)"
fi
MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
HYPER=$(lscpu 2>/dev/null | awk -F: '/Hypervisor vendor/ {gsub(/^ +/, "", $2); print $2}')
DPDKV=$(dpkg-query -W -f '${Version}' dpdk 2>/dev/null || echo "?")
CMD="bench/dpdk/run.sh"
for v in RUNS DURATION METHODS SCALING FLOWS PACKETS_PER_FLOW MAX_CONNECTIONS MBUFS MBUF_SIZE; do
    case $v in
        RUNS) d=5 ;; DURATION) d=4 ;; METHODS) d=dr,nat,fullnat,tun ;; SCALING) d=dr,nat ;; FLOWS) d=1024 ;; PACKETS_PER_FLOW) d=8 ;; MAX_CONNECTIONS) d=1048576 ;; MBUFS|MBUF_SIZE) d=0 ;;
    esac
    [ "${!v}" != "$d" ] && CMD="$v=${!v} $CMD"
done
HEADER="- machine: $(nproc) CPUs, $MODEL${HYPER:+ (virtual machine, $HYPER)}, Linux $(uname -r); shared with other work, load average at start: $LOAD\\n- DPDK $DPDKV (Debian), \`$TESTPMD\`; **hugepages**: $(awk '/HugePages_Total/ {print $2}' /proc/meminfo) x $(awk '/Hugepagesize/ {print $2 " " $3}' /proc/meminfo) reserved, both programs run with them (\`--in-memory\`, no \`--no-huge\`)\\n- commit: $COMMIT\\n- date: $START\\n- command: \`$CMD\`"

if [ "${MEASURE:-1}" = 1 ]; then
echo "rvsd vs testpmd: $RUNS runs x $DURATION s, methods $METHODS, scaling ${SCALING:-none} (load average $LOAD)" >&2
timeout 1200 python3 bench/dpdk/run.py --rvsd "$RVSD" --pcap-tool "$PCAP" --testpmd "$TESTPMD" --work "$WORK" \
    --methods "$METHODS" --scaling-methods "$SCALING" --runs "$RUNS" --duration "$DURATION" \
    --flows "$FLOWS" --packets-per-flow "$PACKETS_PER_FLOW" --max-connections "$MAX_CONNECTIONS" \
    --mbufs "$MBUFS" --mbuf-size "$MBUF_SIZE" \
    --csv "$OUT/$TAG.csv" --md "$OUT/$TAG.md" --header "$HEADER" --log "$WORK/run.log"
fi

# Where rvsd's worker spends its time: perf on the worker's CPU while rvsd forwards.
if [ "${PROFILE:-1}" = 1 ] && command -v perf >/dev/null; then
    PROF="$OUT/$TAG-profile.txt"
    {
        echo "# perf record -p PID (cpu-clock) of rvsd (its worker lcore busy-polls; the main thread sleeps), 1 worker, 3 s per method; commit $COMMIT, $START"
        echo "# PMD (librte_net_pcap) symbols are unresolved addresses: Debian ships it stripped."
    } >"$PROF"
    for m in ${METHODS//,/ }; do
        "$PCAP" --method "$m" --flows "$FLOWS" --packets-per-flow "$PACKETS_PER_FLOW" \
            --max-connections "$MAX_CONNECTIONS" --dir "$WORK/prof-$m" >/dev/null
        if [ "$MBUFS" != 0 ] || [ "$MBUF_SIZE" != 0 ]; then
            { [ "$MBUFS" != 0 ] && echo "mbufs = $MBUFS"; [ "$MBUF_SIZE" != 0 ] && echo "mbuf_data_room = $MBUF_SIZE"
              cat "$WORK/prof-$m/rvsd.toml"; } >"$WORK/prof-$m/rvsd.toml.new"
            mv "$WORK/prof-$m/rvsd.toml.new" "$WORK/prof-$m/rvsd.toml"
        fi
        timeout -k 5 90 "$RVSD" --config "$WORK/prof-$m/rvsd.toml" -- --lcores 0@0,1@1 --in-memory --no-pci --no-telemetry \
            --log-level lib.eal:error --file-prefix "rvsbenchprof$$" >"$WORK/prof-$m.log" 2>&1 &
        PID=$!
        for _ in $(seq 600); do grep -q "rvsd ready" "$WORK/prof-$m.log" && break; sleep 0.1; done
        sleep 1
        RPID=$(pgrep -P "$PID" | head -1 || true)
        perf record -q -e cpu-clock -p "${RPID:-$PID}" -o "$WORK/perf-$m.data" -- sleep 3 >/dev/null 2>&1 || true
        kill -TERM "$PID"; wait "$PID" || true
        {
            echo; echo "## $m: share of the worker CPU's samples by DSO and symbol (top 25)"
            perf report -i "$WORK/perf-$m.data" --no-children --stdio --sort dso,symbol 2>/dev/null \
                | grep -E '^ +[0-9]' | awk 'NR <= 25' | sed -E 's/( +-)+ *$//; s/ {2,}/  /g' || true
            echo; echo "## $m: by DSO"
            perf report -i "$WORK/perf-$m.data" --no-children --stdio --sort dso 2>/dev/null \
                | grep -E '^ +[0-9]' | awk 'NR <= 8' | sed -E 's/( +-)* *$//; s/ {2,}/  /g' || true
        } >>"$PROF"
    done
    echo "wrote $PROF" >&2
fi
[ "${MEASURE:-1}" = 1 ] && echo "wrote $OUT/$TAG.md and $OUT/$TAG.csv" >&2
exit 0
