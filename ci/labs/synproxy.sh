#!/usr/bin/env bash
# SYN flood defence: LVS.md lab 1 (NAT, topology in nat-common.sh) with `synproxy = true` on the
# service and a connection table of 64 entries per worker. Real Linux TCP stacks on the client
# and on the real servers check the director's cookies, its SYN to the real server and the
# sequence-number translation afterwards.
#
# Checks:
# - before the flood, four curls through the SYN proxy answer RS1 and RS2 alternately;
# - a keep-alive connection opened before the flood still answers a second request after it;
# - during a flood of 20000 spoofed SYNs from 198.19.0.0/16 (300 times the table), six more
#   curls all get their answer;
# - rvsd's final counters: the flood was answered with cookies (synproxy cookies_sent) and
#   created no connection (conns_created counts only the legitimate ones), no connection was
#   refused for a full table (no conn_table_full drop), and no bad cookie was seen.
#
# Env: RVSD=path to the binary, LAB_KEEP=1 keeps the temporary directory, FLOOD_COUNT (20000),
# FLOOD_RATE (4000 per second).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=nat-common.sh
source "$LAB_DIR/nat-common.sh"

FLOOD_COUNT="${FLOOD_COUNT:-20000}"
FLOOD_RATE="${FLOOD_RATE:-4000}"

[ "$DIRECTOR" = rvsd ] || die "the SYN proxy lab needs DIRECTOR=rvsd"

lab_init synproxy
nat_topology

http_server "$RS1" RS1
http_server "$RS2" RS2
log "http servers up: RS1 on $RIP1:80, RS2 on $RIP2:80"

nat_rvsd_toml "$TMP/base.toml" 1 1 20
{
    echo "max_connections = 64"
    sed 's/^scheduler = "rr"$/scheduler = "rr"\nsynproxy = true/' "$TMP/base.toml"
    # The SYN-ACKs answering spoofed sources leave towards the client's side (whose kernel,
    # not a router, drops them).
    cat <<EOF

[[routes]]
prefix = "198.19.0.0/16"
via = "$CIP"
port = "outside"
EOF
} >"$TMP/rvsd.toml"
grep -q '^synproxy = true$' "$TMP/rvsd.toml" || die "could not enable synproxy in $TMP/rvsd.toml"
start_rvsd "$DIR" "$TMP/rvsd.toml"

log "check: a keep-alive connection opened before the flood"
ip netns exec "$CL" python3 "$LAB_DIR/synflood.py" held --dst "$VIP" --go "$TMP/go" --deadline 90 \
    >"$TMP/held.out" 2>&1 &
HELD_PID=$!
PIDS+=("$HELD_PID")
wait_for 15 "the held connection's first answer" grep -q "first answer" "$TMP/held.out"
log "$(cat "$TMP/held.out")"

log "check: 4 curls through the SYN proxy alternate RS1/RS2"
results=()
curl_n "$CL" "http://$VIP/" 4 results
assert_alternation RS1 RS2 "${results[@]}"

log "flood: $FLOOD_COUNT spoofed SYNs from 198.19.0.0/16 at up to $FLOOD_RATE/s"
ip netns exec "$CL" python3 "$LAB_DIR/synflood.py" flood --dst "$VIP" --spoof 198.19.0.0/16 \
    --count "$FLOOD_COUNT" --rate "$FLOOD_RATE" --deadline 60 >"$TMP/flood.out" 2>&1 &
FLOOD_PID=$!
PIDS+=("$FLOOD_PID")
sleep 1

log "check: 6 curls during the flood all get an answer"
results=()
curl_n "$CL" "http://$VIP/" 6 results
for r in "${results[@]}"; do
    [ "$r" = RS1 ] || [ "$r" = RS2 ] || die "a curl during the flood failed: ${results[*]}"
done
kill -0 "$FLOOD_PID" 2>/dev/null || die "the flood ended before the curls did; raise FLOOD_COUNT: $(cat "$TMP/flood.out")"

wait "$FLOOD_PID" || die "the flood failed: $(cat "$TMP/flood.out")"
log "$(cat "$TMP/flood.out")"
sent="$(sed -n 's/^flood: sent \([0-9]*\) SYNs.*/\1/p' "$TMP/flood.out")"
[ -n "$sent" ] || die "no flood count in $(cat "$TMP/flood.out")"

log "check: the connection opened before the flood answers again"
touch "$TMP/go"
wait "$HELD_PID" || die "the held connection failed: $(cat "$TMP/held.out")"
grep -Eq '^held: RS[12] RS[12]$' "$TMP/held.out" || die "held connection: $(cat "$TMP/held.out")"
log "$(tail -n 1 "$TMP/held.out")"

stop_rvsd quiet
report="$(cat "$RVSD_LOG")"
echo "--- rvsd final counters"
grep -E '^(engine|synproxy|drops|  )' "$RVSD_LOG" || true

cookies="$(sed -n 's/^synproxy: cookies_sent \([0-9]*\) .*/\1/p' <<<"$report" | tail -n 1)"
created="$(sed -n 's/^engine: .* conns_created \([0-9]*\) .*/\1/p' <<<"$report" | tail -n 1)"
if [ -z "$cookies" ] || [ -z "$created" ]; then
    die "no synproxy/engine counters in the rvsd log"
fi
log "cookies sent $cookies for $sent spoofed SYNs and 11 curls; connections created $created"
# af_packet may lose some of the flood on the way in on a busy machine; most of it must have
# been answered.
[ "$cookies" -ge $((sent / 2)) ] || die "only $cookies cookies for $sent spoofed SYNs"
[ "$created" -le 11 ] || die "$created connections created: the flood got into the table"
[ "$created" -ge 11 ] || die "$created connections created: some curls did not open one"
if grep -Eq '^  (conn_table_full|synproxy_bad_cookie) ' <<<"$report"; then
    die "unexpected drops: $(grep -E '^  ' <<<"$report")"
fi
pass
