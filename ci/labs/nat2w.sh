#!/usr/bin/env bash
# The NAT lab (LVS.md lab 1, topology in nat-common.sh) with two workers: rvsd runs workers = 2
# on EAL lcores 0-2 floating over CPUs 0-1 (main + 2 workers; 3 lcores on 2 cores is fine with
# idle_sleep_us), each af_packet port with qpairs = 2 (the kernel's PACKET_FANOUT spreads flows
# over the two queues, so a flow's two directions may arrive at different workers: issue 3 item 6).
#
# Checks: 4 sequential curls are each answered by RS1 or RS2; then ci/labs/burst.py opens BURST_REQUESTS (default 400)
# short connections, BURST_CONCURRENCY (default 20) at a time, and every one must get a 200
# answer, both RSs must answer, and the RSs' access logs must hold exactly that many requests, all
# from the client address.
#
# rvsd keys: workers = 2, ports[].args "qpairs=2"; EAL --lcores "(0-2)@(0-1)" (RVSD_LCORES).
# DIRECTOR=kernel: the nftables NAT of nat.sh (the kernel has no workers to configure; it
# validates the topology and the burst).
#
# Env: DIRECTOR=rvsd|kernel (default rvsd), RVSD, LAB_KEEP, CURL_MAX_TIME, RVSD_READY_TIMEOUT,
# BURST_REQUESTS, BURST_CONCURRENCY.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=nat-common.sh
source "$LAB_DIR/nat-common.sh"

BURST_REQUESTS="${BURST_REQUESTS:-400}"
BURST_CONCURRENCY="${BURST_CONCURRENCY:-20}"
RVSD_LCORES="(0-2)@(0-1)"

lab_init nat2w
nat_topology

http_server "$RS1" RS1
http_server "$RS2" RS2
log "http servers up: RS1 on $RIP1:80, RS2 on $RIP2:80"

case "$DIRECTOR" in
    kernel) nat_director_kernel ;;
    rvsd)
        nat_rvsd_toml "$TMP/rvsd.toml" 2 2 20
        start_rvsd "$DIR" "$TMP/rvsd.toml"
        ;;
esac

log "check: 4 curls from the client to http://$VIP/ alternate RS1/RS2"
results=()
curl_n "$CL" "http://$VIP/" 4 results
# With two workers each running its own rr, sequential connections need not alternate strictly
# (each worker alternates over the flows it owns); require only that both answer.
for r in "${results[@]}"; do
    [ "$r" = RS1 ] || [ "$r" = RS2 ] || die "expected RS1 or RS2, got '$r' (sequence: ${results[*]})"
done
log "ok: sequential answers ${results[*]}"

: >"$TMP/http-RS1.log"
: >"$TMP/http-RS2.log"
log "check: $BURST_REQUESTS short connections, $BURST_CONCURRENCY at a time, all answered by RS1 or RS2"
rc=0
ip netns exec "$CL" python3 "$LAB_DIR/burst.py" --host "$VIP" --requests "$BURST_REQUESTS" \
    --concurrency "$BURST_CONCURRENCY" --timeout 10 --deadline 120 >"$TMP/burst.out" 2>&1 || rc=$?
cat "$TMP/burst.out"
[ "$rc" -eq 0 ] || die "burst: not every request was answered (exit $rc)"
grep -q "answers: .*RS1 [1-9]" "$TMP/burst.out" || die "RS1 answered none of the burst"
grep -q "answers: .*RS2 [1-9]" "$TMP/burst.out" || die "RS2 answered none of the burst"
# grep -c prints 0 but exits 1 when nothing matches; count() keeps set -e out of it.
count() { grep -c "$@" || true; }
logged=$(($(count "^$CIP - .*\"GET / " "$TMP/http-RS1.log") + $(count "^$CIP - .*\"GET / " "$TMP/http-RS2.log")))
others=$(($(count -v "^$CIP - " "$TMP/http-RS1.log") + $(count -v "^$CIP - " "$TMP/http-RS2.log")))
log "RS access logs: $logged requests from $CIP, $others other lines"
[ "$logged" -eq "$BURST_REQUESTS" ] || die "the RSs logged $logged requests from $CIP, expected $BURST_REQUESTS"
log "ok: all $BURST_REQUESTS connections answered, both RSs served, the client address preserved"

if [ "$DIRECTOR" = rvsd ]; then
    stop_rvsd
fi
pass
