#!/usr/bin/env bash
# Runs the LVS.md labs one after the other, each bounded by LAB_TIMEOUT seconds, and prints
# "labs: N passed, N failed". Exits non-zero if any lab failed.
#
# Usage: ci/labs/run-all.sh [LAB...]     LAB is nat, dr, fwmark, tun, fullnat, nat6, nat2w, control, faults
#        synproxy, fullnat-synproxy or nat6-synproxy
#        (default: all of them)
# Env:   DIRECTOR=rvsd|kernel (default rvsd), RVSD=path to rvsd (default target/release/rvsd),
#        LAB_TIMEOUT (default 180), plus what the labs read (see lib.sh).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
timeout_s="${LAB_TIMEOUT:-180}"
labs=("$@")
if [ ${#labs[@]} -eq 0 ]; then
    labs=(nat dr fwmark tun fullnat nat6 nat2w control faults synproxy fullnat-synproxy nat6-synproxy)
fi

passed=0
failed=0
failures=()
for lab in "${labs[@]}"; do
    script="$here/$lab.sh"
    echo "=== lab $lab (DIRECTOR=${DIRECTOR:-rvsd}) ==="
    if [ ! -f "$script" ]; then
        echo "no such lab: $lab ($script)"
        failed=$((failed + 1))
        failures+=("$lab")
        continue
    fi
    # TERM first so the lab's trap kills its processes and deletes its namespaces; KILL 30 s later.
    if timeout -k 30 "$timeout_s" bash "$script"; then
        passed=$((passed + 1))
    else
        rc=$?
        [ "$rc" -eq 124 ] && echo "lab $lab: timed out after ${timeout_s}s"
        failed=$((failed + 1))
        failures+=("$lab")
    fi
done

if [ "$failed" -gt 0 ]; then
    echo "failed labs: ${failures[*]}"
fi
echo "labs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
