#!/usr/bin/env bash
# Fuzz smoke test: build every cargo-fuzz target of fuzz/, replay the committed seeds and
# regressions through the harnesses, then fuzz each target for a bounded time from its seeds.
# Exits non-zero if any input crashes, hangs or breaks an invariant, naming the input saved.
#
#   ci/fuzz-smoke.sh                 30 s per target
#   FUZZ_SECONDS=900 ci/fuzz-smoke.sh    a long run (what fuzz/RESULTS.md records)
#   FUZZ_TARGETS="engine" ci/fuzz-smoke.sh
#
# Works on a stable toolchain: cargo-fuzz passes nightly-only rustc flags (-Z...), which
# RUSTC_BOOTSTRAP=1 lets a stable compiler accept. The targets are built without a sanitizer
# (-s none): everything fuzzed is safe Rust (no `unsafe` outside crates/dpdk*), so
# AddressSanitizer finds nothing there and costs a factor of 3-4 in speed; debug assertions
# (overflow checks included) stay on (-a) so arithmetic overflow is caught as a crash.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-30}"
targets="${FUZZ_TARGETS:-wire_parsers engine}"
export PATH="$HOME/.cargo/bin:$PATH"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

echo "== fuzz-smoke: build (release, debug assertions, no sanitizer)"
cargo fuzz build -O -a -s none

summary=()
failed=0
echo "== fuzz-smoke: seeds and regressions through the harnesses"
if cargo test --manifest-path fuzz/Cargo.toml --release; then
    summary+=("seeds and regressions: pass")
else
    failed=1
    summary+=("seeds and regressions: FAILED (see cargo test above)")
fi

work="$(mktemp -d /tmp/rvs-fuzz-smoke.XXXXXX)"
for t in $targets; do
    echo "== fuzz-smoke: $t for ${seconds}s"
    mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
    log="$work/$t.log"
    set +e
    cargo fuzz run -O -a -s none "$t" "$work/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/$t/" >"$log" 2>&1
    status=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    crashes=$(find "$work/artifacts/$t" -type f | wc -l)
    if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        failed=1
        echo "fuzz-smoke: $t FAILED (exit $status); the end of its log:" >&2
        grep -E 'panicked|ERROR|SUMMARY|Test unit written' -A4 "$log" | tail -40 >&2 || tail -40 "$log" >&2
        mkdir -p fuzz/artifacts/"$t"
        cp "$work/artifacts/$t/"* fuzz/artifacts/"$t"/ 2>/dev/null || true
        echo "fuzz-smoke: inputs kept in fuzz/artifacts/$t/; replay one with" >&2
        echo "  RUSTC_BOOTSTRAP=1 cargo fuzz run -O -a -s none $t fuzz/artifacts/$t/<file>" >&2
    fi
    summary+=("$t: ${execs:-0} execs, ${rate:-0}/s, ${cov:-cov: ?}, crashes ${crashes}")
done
rm -rf "$work"

result=OK
[ "$failed" -eq 0 ] || result=FAILED
joined=$(printf '%s; ' "${summary[@]}")
echo "fuzz-smoke: ${seconds}s per target; ${joined}${result}"
exit "$failed"
