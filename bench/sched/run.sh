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

def cell(group, n):
    p = os.path.join(crit, group, str(n), "new", "estimates.json")
    try:
        with open(p) as f:
            return fmt(json.load(f)["median"]["point_estimate"])
    except (OSError, KeyError, ValueError):
        return "n/a"

rows = []
for s in scheds:
    cells = [cell(s, n) for n in sizes] + [cell(s + "+churn", n) for n in sizes]
    rows.append(f"| {s} | " + " | ".join(cells) + " |")

text = f"""# Scheduler decision cost

Median time of one `Scheduler::schedule` call (criterion), in **nanoseconds per decision**, for
a service of 10, 100 and 1,000 real servers (weights 1..5, loads spread, none overloaded; the
next of 1,024 clients each time; lblc/lblcr tables warm; the servers share a load log as the
engine's do). "decision" = counters unchanged between decisions; "with churn" = each decision
followed by binding a connection to the chosen server and ending one bound 64 decisions
earlier (two load changes per decision, both included in the time). Written by
`bench/sched/run.sh`.

| scheduler | decision, 10 | 100 | 1,000 | with churn, 10 | 100 | 1,000 |
|---|---:|---:|---:|---:|---:|---:|
""" + "\n".join(rows) + f"""

- machine: {os.environ["NPROC"]} CPUs (`nproc`), {os.environ["CPU"]}; load average before -> after: {os.environ["LOAD"]} (a shared machine: other builds may have been running)
- commit: {os.environ["COMMIT"]}
- date: {os.environ["DATE"]}
- toolchain: {os.environ["RUSTC"]}
- command: `{os.environ["CMD"]}`

Reading it:
- `lc`, `wlc`, `sed`, `nq`, `fo` and `ovf` keep a tournament tree over the list (the winner of
  the kernel's scan at its root) and `twos` prefix sums of the usable weights; both are brought
  up to date from the service's load log, O(log n) per changed server, so a decision costs the
  same at 1,000 servers as at 10 plus about 2 x log2(n) comparisons per load change. The same
  decisions as the kernel's scans, checked by `crates/sched/src/fast_model.rs`.
- Before (linear scans as the kernel's, one cache line per server):
  `results-scan-6951fff.md` (lc 1.9 us, wlc 2.7 us, sed 2.7 us, twos 4.4 us at 1,000).
- `rr`, `wrr`, `sh`, `dh`, `mh`, `lblc` and `lblcr` do not depend on the number of servers here;
  `wrr` can walk the list up to max weight / gcd times when the heavy servers are overloaded.
"""
with open(os.environ["OUT"], "w") as f:
    f.write(text)
print(text)
PY
