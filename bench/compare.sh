#!/usr/bin/env bash
# Before/after in one command: run a benchmark suite on two revisions of the repository and
# print what changed (issue 6 part 6).
#
#   bench/compare.sh OLD [NEW]           # engine suite; NEW defaults to the working tree
#   SUITE=dpdk bench/compare.sh OLD      # rvsd vs testpmd instead (as root)
#   RVS_BENCH_ONLY=established_in,new_conn bench/compare.sh HEAD~1   # a subset of the engine suite
#
# Each revision is exported with `git archive` into a temporary directory (the repository and
# its working tree are not touched), given the current bench/ (so both sides run the same
# benchmark code; the bench crate must compile against OLD's crates), and run with MEM=0.
# The results of both and the comparison land in bench/results/compare/ (OLD-NEW.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OLD=${1:?usage: bench/compare.sh OLD [NEW]}
NEW=${2:-}
SUITE=${SUITE:-engine}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUTDIR=${OUTDIR:-$ROOT/bench/results/compare}
mkdir -p "$OUTDIR"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

tree_of() { # rev dir: export rev (or the working tree when rev is empty) with today's bench/
    local rev=$1 dir=$2
    mkdir -p "$dir"
    if [ -z "$rev" ]; then
        git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$dir"
    else
        git archive "$rev" | tar -xf - -C "$dir"
        rm -rf "$dir/bench/engine" "$dir/bench/dpdk"
        mkdir -p "$dir/bench"
        cp -r bench/engine bench/dpdk "$dir/bench/"
        grep -q '"bench/engine"' "$dir/Cargo.toml" || sed -i 's|^members = \[|members = [\n    "bench/engine",|' "$dir/Cargo.toml"
    fi
}

label() { if [ -z "$1" ]; then echo "worktree"; else git rev-parse --short "$1"; fi; }
A=$(label "$OLD"); B=$(label "$NEW")
for side in old new; do
    if [ $side = old ]; then rev=$OLD; name=$A; else rev=$NEW; name=$B; fi
    echo "== $SUITE at $name" >&2
    tree_of "$rev" "$TMP/$side"
    (cd "$TMP/$side" && COMMIT_LABEL="$name" OUT="$TMP/res" TAG="$SUITE-$side" MEM=0 PROFILE=0 "bench/$SUITE/run.sh")
    cp "$TMP/res/$SUITE-$side.csv" "$OUTDIR/$SUITE-$name.csv"
done
python3 bench/compare.py "$SUITE" "$TMP/res/$SUITE-old.csv" "$TMP/res/$SUITE-new.csv" "$A" "$B" | tee "$OUTDIR/$SUITE-$A-$B.md"
