#!/usr/bin/env bash
# One measurement of bench/kernel/run.sh: builds the NAT lab topology (ci/labs/nat-common.sh) in
# fresh namespaces, starts nginx in RS1 and RS2, the director (rvsd, kernel nftables or kernel
# IPVS), checks that both RSs answer through the VIP, runs wrk from the client against
# http://198.18.0.100/ and prints one line:
#   RESULT director=rvsd mode=keepalive rps=12345.6 p50_ms=1.23 p99_ms=4.56 requests=123456 errors=0
# then tears everything down (lib.sh's traps). Fresh namespaces per run: no TIME_WAIT or
# conntrack state carries over from one close-mode run to the next.
#
# Usage: bench/kernel/one.sh rvsd|rvsd-busy|nft|ipvs keepalive|close
#   rvsd: one worker with idle_sleep_us = RVSD_IDLE_SLEEP_US (default 20: on this 2-core machine
#   a busy-polling worker takes a whole core from wrk and nginx); rvsd-busy: idle_sleep_us = 0.
# Env:   DURATION (10 s), CONNECTIONS (32), THREADS (2), RVSD, RVSD_IDLE_SLEEP_US, plus lib.sh's.
# shellcheck source-path=SCRIPTDIR source=../../ci/labs/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../ci/labs/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../../ci/labs/nat-common.sh
source "$LAB_DIR/nat-common.sh"

BALANCER="${1:?usage: one.sh rvsd|rvsd-busy|nft|ipvs keepalive|close}"
MODE="${2:?usage: one.sh rvsd|rvsd-busy|nft|ipvs keepalive|close}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
RVSD_IDLE_SLEEP_US="${RVSD_IDLE_SLEEP_US:-20}"

case "$BALANCER" in
    rvsd) DIRECTOR=rvsd ;;
    rvsd-busy) DIRECTOR=rvsd RVSD_IDLE_SLEEP_US=0 ;;
    nft | ipvs) DIRECTOR=kernel ;;
    *) echo "one.sh: director must be rvsd, rvsd-busy, nft or ipvs, not '$BALANCER'" >&2 && exit 2 ;;
esac
case "$MODE" in
    keepalive) WRK_HEADER=() ;;
    close) WRK_HEADER=(-H "Connection: close") ;;
    *) echo "one.sh: mode must be keepalive or close, not '$MODE'" >&2 && exit 2 ;;
esac
command -v wrk >/dev/null || { echo "one.sh: wrk not found (apt-get install wrk)" >&2 && exit 2; }
command -v nginx >/dev/null || { echo "one.sh: nginx not found (apt-get install nginx-light)" >&2 && exit 2; }

lab_init "bench-$MODE"
nat_topology
# Close mode opens a connection per request: give the client the whole ephemeral port range.
ip netns exec "$CL" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"

# nginx_server NS NAME: nginx (one worker) on port 80 answering NAME, everything in $TMP.
nginx_server() {
    local ns="$1" name="$2" d="$TMP/nginx-$2"
    mkdir -p "$d/tmp"
    cat >"$d/nginx.conf" <<EOT
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    server {
        listen 80 backlog=4096;
        location / {
            default_type text/plain;
            return 200 "$name\n";
        }
    }
}
EOT
    ip netns exec "$ns" nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" >"$TMP/nginx-$name.err" 2>&1 &
    PIDS+=("$!")
    wait_for 10 "nginx $name in $ns" http_answers "$ns" "$name" 80
}
nginx_server "$RS1" RS1
nginx_server "$RS2" RS2

case "$BALANCER" in
    nft) nat_director_kernel ;;
    ipvs) nat_director_ipvs ;;
    rvsd | rvsd-busy)
        nat_rvsd_toml "$TMP/rvsd.toml" 1 1 "$RVSD_IDLE_SLEEP_US"
        start_rvsd "$DIR" "$TMP/rvsd.toml"
        ;;
esac

# Sanity: both RSs answer through the VIP before the load (this also resolves every neighbour).
results=()
curl_n "$CL" "http://$VIP/" 4 results >/dev/null
assert_alternation RS1 RS2 "${results[@]}" >/dev/null

log "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency ${WRK_HEADER[*]} http://$VIP/"
ip netns exec "$CL" timeout -k 5 $((DURATION + 30)) \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "${WRK_HEADER[@]}" "http://$VIP/" \
    >"$TMP/wrk.log" 2>&1 || die "wrk failed: $(cat "$TMP/wrk.log")"
cat "$TMP/wrk.log"

if [ "$DIRECTOR" = rvsd ]; then
    stop_rvsd quiet
    grep -E '^(engine|drops):' "$RVSD_LOG" || true
fi

# Latency values come as 512.00us, 1.23ms or 1.05s; normalise to ms.
ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000
        printf "%.3f", n }'
}
rps="$(awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk.log")"
p50="$(awk '$1 == "50%" {print $2}' "$TMP/wrk.log")"
p99="$(awk '$1 == "99%" {print $2}' "$TMP/wrk.log")"
requests="$(awk '/requests in/ {print $1}' "$TMP/wrk.log")"
# Socket errors (connect, read, write, timeout) plus non-2xx answers.
errors="$(awk -F'[ ,]+' '/Socket errors:/ {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i} /Non-2xx/ {s += $NF} END {print s + 0}' "$TMP/wrk.log")"
if [ -z "$rps" ] || [ -z "$p50" ] || [ -z "$p99" ]; then
    die "could not parse wrk's output"
fi
echo "RESULT director=$BALANCER mode=$MODE rps=$rps p50_ms=$(ms "$p50") p99_ms=$(ms "$p99") requests=$requests errors=$errors"
pass
