#!/usr/bin/env bash
# Kernel comparison benchmark (issue 6 part 3): the NAT lab topology (ci/labs/nat-common.sh) under
# HTTP load from wrk, through rvsd and through the kernel, keep-alive and Connection: close, several
# runs each, written up as bench/kernel/results.md (median and spread of requests/s and latency
# p50/p99, machine, commit, date, command).
#
# Usage (as root): bench/kernel/run.sh
# Env: RUNS (3), DURATION (10 s per run), CONNECTIONS (32), THREADS (2),
#      MODES ("keepalive close"), DIRECTORS ("rvsd kernel"; also rvsd-busy = rvsd busy-polling),
#      RVSD (target/release/rvsd), RVSD_IDLE_SLEEP_US (20), OUT (bench/kernel/results.md).
# Needs: wrk and nginx (Debian: apt-get install wrk nginx-light), plus ci/labs' tools.
#
# "kernel" is IPVS (ipvsadm, NAT, rr) when the kernel has it (`modprobe ip_vs` works or
# /proc/sys/net/ipv4/vs exists, and ipvsadm is installed), otherwise nftables DNAT with
# `numgen inc mod 2`; the results say which ran and why.
# Every run gets fresh namespaces (bench/kernel/one.sh), so no TIME_WAIT or conntrack state of a
# close-mode run stalls the next. Runs are interleaved (run 1 of every director and mode, then
# run 2, ...) so slow drifts of this shared machine hit every column alike.
# Default: 3 runs x 2 directors x 2 modes x ~14 s = about 3 minutes.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
RUNS="${RUNS:-3}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
MODES="${MODES:-keepalive close}"
DIRECTORS="${DIRECTORS:-rvsd kernel}"
RVSD_IDLE_SLEEP_US="${RVSD_IDLE_SLEEP_US:-20}"
OUT="${OUT:-$here/results.md}"
if [ -z "${RVSD:-}" ]; then
    RVSD="$repo/target/release/rvsd"
    [ -n "${CARGO_TARGET_DIR:-}" ] && [ -x "$CARGO_TARGET_DIR/release/rvsd" ] && RVSD="$CARGO_TARGET_DIR/release/rvsd"
fi
export DURATION CONNECTIONS THREADS RVSD RVSD_IDLE_SLEEP_US

[ "$(id -u)" -eq 0 ] || { echo "run.sh: must run as root (network namespaces)" >&2 && exit 2; }
for t in wrk nginx; do
    command -v "$t" >/dev/null || { echo "run.sh: $t not found (Debian: apt-get install wrk nginx-light)" >&2 && exit 2; }
done

# The kernel balancer and the evidence for the choice.
kernel_note=""
kernel_balancer() {
    local probe=""
    if [ -d /proc/sys/net/ipv4/vs ]; then
        probe="/proc/sys/net/ipv4/vs exists"
    elif command -v modprobe >/dev/null && modprobe ip_vs 2>/dev/null; then
        probe="modprobe ip_vs succeeded"
    fi
    if [ -n "$probe" ]; then
        if command -v ipvsadm >/dev/null; then
            kernel_note="IPVS ($probe): ipvsadm -A -t VIP:80 -s rr, real servers -m"
            echo ipvs
            return
        fi
        kernel_note="nftables: IPVS is available ($probe) but ipvsadm is not installed (apt-get install ipvsadm)"
        echo nft
        return
    fi
    local why
    if ! command -v modprobe >/dev/null; then
        why="no modprobe"
    else
        why="modprobe ip_vs failed"
    fi
    if [ -r /proc/config.gz ] && zcat /proc/config.gz | grep -q '^# CONFIG_IP_VS is not set'; then
        why="$why; /proc/config.gz: CONFIG_IP_VS is not set"
    fi
    kernel_note="nftables DNAT, numgen inc mod 2 (no IPVS in this kernel: $why)"
    echo nft
}
KERNEL="$(kernel_balancer)"
kernel_balancer >/dev/null # again in this shell, for kernel_note

work="$(mktemp -d /tmp/bench-kernel.XXXXXX)"
trap 'rm -rf "$work"' EXIT
results="$work/results.txt"
: >"$results"
failures=0
started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
t0=$SECONDS

echo "bench/kernel: $RUNS runs x directors ($DIRECTORS) x modes ($MODES), ${DURATION}s, -c$CONNECTIONS -t$THREADS; kernel = $kernel_note"
for ((run = 1; run <= RUNS; run++)); do
    for mode in $MODES; do
        for d in $DIRECTORS; do
            b="$d"
            [ "$d" = kernel ] && b="$KERNEL"
            log="$work/run$run-$d-$mode.log"
            if timeout -k 10 $((DURATION + 90)) bash "$here/one.sh" "$b" "$mode" >"$log" 2>&1; then
                line="$(grep '^RESULT ' "$log" | sed "s/director=$b /director=$d /")"
                echo "run $run: ${line#RESULT }"
                echo "run=$run ${line#RESULT }" >>"$results"
            else
                failures=$((failures + 1))
                echo "run $run: $d $mode FAILED; log:"
                tail -n 60 "$log"
                echo "run=$run director=$d mode=$mode failed=1" >>"$results"
            fi
        done
    done
done
elapsed=$((SECONDS - t0))
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
# What else ran: the busiest processes outside this benchmark at the end (other users' builds and
# tests share these 2 cores).
others="$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 >= 5 && $2 !~ /^(wrk|nginx|rvsd|ps|awk)$/ {printf "%s%s %s%%", sep, $2, $1; sep = ", "}' | head -c 300)"

machine="$(lscpu | awk -F': *' '/^Model name/ {print $2}'), $(nproc) CPUs ($(lscpu | awk -F': *' '/^Hypervisor vendor/ {print $2 " guest"}')), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, kernel $(uname -r)"
commit="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$repo" status --porcelain -- dataplane crates 2>/dev/null)" ]; then
    commit="$commit (with uncommitted changes under dataplane/ or crates/)"
fi
rvsd_built="$(date -u -r "$RVSD" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo '?')"
# The binary does not record its commit; name the newest commit that existed when it was built.
rvsd_commit="$(git -C "$repo" log -1 --before="$rvsd_built" --format=%h 2>/dev/null || echo '?')"
versions="$(wrk --version 2>&1 | head -n 1 | awk '{print $1, $2}'), $(nginx -v 2>&1 | sed 's/^nginx version: //'), nftables $(nft --version | awk '{print $2}')"

python3 - "$results" "$OUT" <<PY
import statistics, sys
rows = []
for line in open(sys.argv[1]):
    rows.append(dict(kv.split("=", 1) for kv in line.split()))
directors = "$DIRECTORS".split()
modes = "$MODES".split()

def fmt(xs, digits):
    if not xs:
        return "-"
    med = statistics.median(xs)
    return "%.*f (%.*f–%.*f)" % (digits, med, digits, min(xs), digits, max(xs))

out = []
w = out.append
w("# rvsd against the kernel on the NAT lab topology")
w("")
w("Generated by \`bench/kernel/run.sh\`; do not edit by hand. Reproduce (as root, from the repo):")
w("")
w("\`\`\`")
w("apt-get install wrk nginx-light   # once")
w("cargo build --release -p rvsd")
w("RUNS=$RUNS DURATION=$DURATION CONNECTIONS=$CONNECTIONS THREADS=$THREADS bench/kernel/run.sh")
w("\`\`\`")
w("")
w("- date: $started (took ${elapsed} s)")
w("- commit: $commit; rvsd binary $RVSD built $rvsd_built (newest commit then: $rvsd_commit)")
w("- machine: $machine")
w("- load average (1/5/15 min) before: $load_before, after: $load_after; other busy processes at the end: ${others:-none}")
w("- tools: $versions")
w("- kernel balancer: $kernel_note")
w("- rvsd: 1 worker (EAL lcores 0-1: main + worker), \`idle_sleep_us = $RVSD_IDLE_SLEEP_US\`, "
  "net_af_packet (qpairs=1) on the director's veth ends, \`--no-huge -m 512\`")
w("- load: \`wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency http://198.18.0.100/\` from the client "
  "namespace; close mode adds \`-H 'Connection: close'\` (a new TCP connection, so a new "
  "director connection entry, per request); real servers: nginx (1 worker each, \`return 200\`, "
  "no access log) in RS1 and RS2; every run in freshly created namespaces")
w("- **this machine has 2 CPU cores, shared by wrk, both nginx, the balancer (rvsd's poll loop or "
  "the kernel's softirq work) and the veth/bridge forwarding in between**: the figures compare "
  "the two balancers on the same crowded machine, they are not the capacity of either")
w("")
w("Median of %d runs, (min–max) in brackets; latency as wrk reports it (request sent to answer "
  "received; connect time not included)." % $RUNS)
w("")
w("| director | mode | requests/s | p50 ms | p99 ms | errors | failed runs |")
w("|---|---|---|---|---|---|---|")
for m in modes:
    for d in directors:
        rs = [r for r in rows if r["director"] == d and r["mode"] == m]
        ok = [r for r in rs if "failed" not in r]
        name = d + (" ($KERNEL)" if d == "kernel" else "")
        w("| %s | %s | %s | %s | %s | %d | %d |" % (
            name, m,
            fmt([float(r["rps"]) for r in ok], 0),
            fmt([float(r["p50_ms"]) for r in ok], 3),
            fmt([float(r["p99_ms"]) for r in ok], 2),
            sum(int(r["errors"]) for r in ok),
            len(rs) - len(ok)))
if "rvsd" in directors and "kernel" in directors:
    w("")
    w("Ratio rvsd / kernel of the median requests/s (same session, interleaved runs):")
    w("")
    for m in modes:
        def med(d):
            xs = [float(r["rps"]) for r in rows if r["director"] == d and r["mode"] == m and "failed" not in r]
            return statistics.median(xs) if xs else None
        a, b = med("rvsd"), med("kernel")
        w("- %s: %s" % (m, "%.2f" % (a / b) if a and b else "n/a"))
w("")
w("Every run:")
w("")
w("| run | director | mode | requests/s | p50 ms | p99 ms | requests | errors |")
w("|---|---|---|---|---|---|---|---|")
for r in rows:
    if "failed" in r:
        w("| %s | %s | %s | failed | | | | |" % (r["run"], r["director"], r["mode"]))
    else:
        w("| %s | %s | %s | %s | %s | %s | %s | %s |" % (r["run"], r["director"], r["mode"], r["rps"],
          r["p50_ms"], r["p99_ms"], r["requests"], r["errors"]))
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
echo "bench/kernel: wrote $OUT in ${elapsed}s ($failures failed runs)"
[ "$failures" -eq 0 ]
