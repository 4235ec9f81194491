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

BURST_REQUESTS="${BURST_REQUESTS:-2000}"
BURST_CONCURRENCY="${BURST_CONCURRENCY:-64}"
RVSD_LCORES="(0-2)@(0-1)"

lab_init nat2w
nat_topology
# Several client addresses, so that connections belong to both workers (rvsd steers by client
# address: all of one client's connections live on one worker).
EXTRA_CIPS=()
for i in $(seq 11 18); do
    ip -n "$CL" addr add "198.18.0.$i/24" dev eth0
    EXTRA_CIPS+=("198.18.0.$i")
done
SOURCES="$(IFS=,; echo "${EXTRA_CIPS[*]}")"

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
    --concurrency "$BURST_CONCURRENCY" --timeout 10 --deadline 120 --sources "$SOURCES" \
    >"$TMP/burst.out" 2>&1 || rc=$?
cat "$TMP/burst.out"
[ "$rc" -eq 0 ] || die "burst: not every request was answered (exit $rc)"
grep -q "answers: .*RS1 [1-9]" "$TMP/burst.out" || die "RS1 answered none of the burst"
grep -q "answers: .*RS2 [1-9]" "$TMP/burst.out" || die "RS2 answered none of the burst"
# grep -c prints 0 but exits 1 when nothing matches; count() keeps set -e out of it.
count() { grep -c "$@" || true; }
pat="^198\.18\.0\.1[1-8] - .*\"GET / "
logged=$(($(count "$pat" "$TMP/http-RS1.log") + $(count "$pat" "$TMP/http-RS2.log")))
others=$(($(count -v "$pat" "$TMP/http-RS1.log") + $(count -v "$pat" "$TMP/http-RS2.log")))
log "RS access logs: $logged requests from the client addresses, $others other lines"
[ "$logged" -eq "$BURST_REQUESTS" ] || die "the RSs logged $logged requests from the client addresses, expected $BURST_REQUESTS"
log "ok: all $BURST_REQUESTS connections answered, both RSs served, the client address preserved"

if [ "$DIRECTOR" = rvsd ]; then
    stop_rvsd
    log "check: both workers owned connections, every frame reached the worker that owns it, nothing lost between workers"
    for w in 0 1; do
        line="$(grep "^worker $w:" "$RVSD_LOG")" || die "no counters for worker $w in the rvsd log"
        log "$line"
        created="$(sed -E 's/.*conns_created ([0-9]+).*/\1/' <<<"$line")"
        [ "$created" -gt 0 ] || die "worker $w created no connection"
        grep -q "handoff_dropped 0 wrong_worker 0$" <<<"$line" || die "worker $w: frames lost between workers or handled by the wrong worker"
    done
    log "ok: both workers carried connections; 0 frames handled by the wrong worker"
fi
pass
