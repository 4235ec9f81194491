#!/usr/bin/env bash
# Cost of one scheduling decision, every rvs scheduler at 10, 100 and 1,000 real servers
# (crates/sched/benches/schedulers.rs, criterion), written to bench/sched/results.md.
#
# Usage: bench/sched/run.sh            (about 2.5 minutes after the build)
# Honours CARGO_TARGET_DIR. Needs cargo and python3.
set -euo pipefail

cd "$(dirname "$0")/../.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-$root/target}
out=$root/bench/sched/results.md
args=(--warm-up-time 1 --measurement-time 2 --noplot)
cmd="cargo bench -p rvs-sched --bench schedulers -- ${args[*]}"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
cargo bench -p rvs-sched --bench schedulers --no-run
rm -rf "$target/criterion"
cargo bench -p rvs-sched --bench schedulers -- "${args[@]}"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
commit=$(git rev-parse --short HEAD)
if ! git diff --quiet HEAD -- crates/sched; then commit="$commit (crates/sched modified)"; fi

CRITERION="$target/criterion" OUT="$out" CPU="$cpu" NPROC="$(nproc)" COMMIT="$commit" \
DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" CMD="$cmd" RUSTC="$(rustc --version)" \
LOAD="$load_before -> $load_after" python3 - <<'PY'
import json, os
crit = os.environ["CRITERION"]
scheds = ["rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "lblc", "lblcr", "fo", "ovf", "mh", "twos"]
sizes = [10, 100, 1000]

def fmt(ns):
    return f"{ns:.1f}" if ns < 100 else f"{ns:.0f}"

rows = []
for s in scheds:
    cells = []
    for n in sizes:
        p = os.path.join(crit, s, str(n), "new", "estimates.json")
        try:
            with open(p) as f:
                cells.append(fmt(json.load(f)["median"]["point_estimate"]))
        except (OSError, KeyError, ValueError):
            cells.append("n/a")
    rows.append(f"| {s} | " + " | ".join(cells) + " |")

text = f"""# Scheduler decision cost

Median time of one `Scheduler::schedule` call (criterion), in **nanoseconds per decision**, for
a service of 10, 100 and 1,000 real servers (weights 1..5, loads spread, none overloaded; the
next of 1,024 clients each time; lblc/lblcr tables warm). Written by `bench/sched/run.sh`.

| scheduler | 10 | 100 | 1,000 |
|---|---:|---:|---:|
""" + "\n".join(rows) + f"""

- machine: {os.environ["NPROC"]} CPUs (`nproc`), {os.environ["CPU"]}; load average before -> after: {os.environ["LOAD"]} (a shared machine: other builds may have been running)
- commit: {os.environ["COMMIT"]}
- date: {os.environ["DATE"]}
- toolchain: {os.environ["RUSTC"]}
- command: `{os.environ["CMD"]}`

Reading it:
- `lc`, `wlc`, `sed` and `twos` read every real server's shared counters (one cache line per
  server behind its `Arc`), as the kernel's scans do: linear in the number of servers. `nq`
  stops at the first idle server (every 7th one is idle here); with none idle it costs as `sed`.
- `fo` and `ovf` compare weights first and read a server's shared state only when it could win.
- `rr`, `wrr`, `sh`, `dh`, `mh`, `lblc` and `lblcr` do not depend on the number of servers here;
  `wrr` can walk the list up to max weight / gcd times when the heavy servers are overloaded.
"""
with open(os.environ["OUT"], "w") as f:
    f.write(text)
print(text)
PY
