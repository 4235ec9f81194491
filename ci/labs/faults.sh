#!/usr/bin/env bash
# Faults on the NAT lab (issue 7, robustness, item 5): a real server killed in the middle of a
# large download, and rvsd restarted in the middle of another. What happens, checked:
#
# 1. RS killed mid-transfer. The client's download through the VIP ends with an error within
#    a bounded time (curl exit 18, "transfer closed with bytes remaining", or 56, "failure
#    receiving": the RS's kernel closes the socket, the FIN or RST passes the director); it does
#    not hang. The health check (tcp, every 0.5 s, 2 failures, on_failure = quiesce) takes the
#    dead RS out, and the next requests all go to the other RS. Without a health check, rr would
#    keep sending every other new connection to the dead RS, whose kernel refuses it (RST, curl
#    exit 7) until the operator removes it.
# 2. rvsd restarted mid-transfer (SIGTERM, then started again with the same file). The
#    configuration survives (it is the file); connections do not: they live in each worker's
#    memory. After the restart the RS's segments meet no connection and are for no service
#    (counted no_service), the client's ACKs, if any, are not SYNs (no_connection), so the transfer
#    stalls and the client abandons it by its own timeout (curl --speed-limit: exit 28). New
#    connections are scheduled as before: four curls alternate RS1/RS2.
#
# Topology as nat.sh (nat-common.sh); both director ports have exception_path = true and the
# DIPs on their TAP devices, which is where the health checks come from (as control.sh).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=nat-common.sh
source "$LAB_DIR/nat-common.sh"

BIG_MB="${BIG_MB:-64}"
RATE="${RATE:-4M}"

lab_init faults
[ "$DIRECTOR" = rvsd ] || die "the faults lab needs DIRECTOR=rvsd"
nat_topology

# Real servers answering their name on / and $BIG_MB MiB of zeros on /big (python's
# http.server, as httpd.py; the access log line is written when the answer starts).
cat >"$TMP/bigserver.py" <<'EOF'
import http.server, sys
NAME, MB = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body_len = MB << 20 if self.path == "/big" else len(NAME)
        self.send_response(200)
        self.send_header("Content-Length", str(body_len))
        self.end_headers()
        if self.path == "/big":
            chunk = b"\0" * 65536
            for _ in range(body_len // 65536):
                self.wfile.write(chunk)
        else:
            self.wfile.write(NAME.encode())
    def log_message(self, fmt, *args):
        sys.stderr.write("%s - - [%s] %s\n" % (self.address_string(), self.log_date_time_string(), fmt % args))
        sys.stderr.flush()
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
S(("0.0.0.0", 80), H).serve_forever()
EOF

declare -A SERVER_PID
big_server() { # big_server NS NAME
    ip netns exec "$1" python3 "$TMP/bigserver.py" "$2" "$BIG_MB" >>"$TMP/http-$2.log" 2>&1 &
    PIDS+=("$!")
    SERVER_PID[$2]=$!
    wait_for 10 "server $2 in $1" http_answers "$1" "$2" 80
    : >"$TMP/http-$2.log"
}
big_server "$RS1" RS1
big_server "$RS2" RS2

cat >"$TMP/rvsd.toml" <<EOF
workers = 1
idle_sleep_us = 20

[control]
socket = "$TMP/rvsd.sock"

[[ports]]
name = "outside"
device = "net_af_packet0"
args = "iface=outside,qpairs=1"
addresses = ["198.18.0.1/24"]
exception_path = true

[[ports]]
name = "inside"
device = "net_af_packet1"
args = "iface=inside,qpairs=1"
addresses = ["198.18.1.1/24"]
exception_path = true

[[services]]
protocol = "tcp"
address = "$VIP:80"
scheduler = "rr"

[services.health_check]
kind = "tcp"
interval = 0.5
timeout = 0.4
failures = 2
successes = 1
on_failure = "quiesce"

[[services.real_servers]]
address = "$RIP1:80"
method = "nat"
weight = 1

[[services.real_servers]]
address = "$RIP2:80"
method = "nat"
weight = 1
EOF

# director_up: rvsd, then the DIPs on its TAP devices (the kernel side of the exception path,
# where the health checks start from). A restarted rvsd makes new TAP devices.
director_up() {
    start_rvsd "$DIR" "$TMP/rvsd.toml"
    wait_for 10 "TAP devices rvs-outside and rvs-inside" ip -n "$DIR" link show rvs-inside
    ip -n "$DIR" addr add 198.18.0.1/24 dev rvs-outside
    ip -n "$DIR" addr add 198.18.1.1/24 dev rvs-inside
    ip -n "$DIR" link set rvs-outside up
    ip -n "$DIR" link set rvs-inside up
}
director_up

results=()
curl_n "$CL" "http://$VIP/" 4 results
assert_alternation RS1 RS2 "${results[@]}"

# big_download OUTFILE [curl options]: start a rate-limited download of /big from the client
# in the background; its "size status" line lands in OUTFILE; sets DL_PID.
big_download() {
    local out="$1"
    shift
    (
        rc=0
        size="$(ip netns exec "$CL" curl -s -o /dev/null -w '%{size_download}' --limit-rate "$RATE" "$@" \
            "http://$VIP/big")" || rc=$?
        echo "$size $rc" >"$out"
    ) &
    DL_PID=$!
    PIDS+=("$DL_PID")
}

serving_big() { # serving_big NAME: NAME's access log shows the /big request
    grep -q '"GET /big ' "$TMP/http-$1.log"
}

log "fault 1: the real server of a running download is killed"
big_download "$TMP/dl1.out" --max-time 60
wait_for 10 "the download to start on RS1 or RS2" bash -c \
    "grep -q '\"GET /big ' '$TMP/http-RS1.log' || grep -q '\"GET /big ' '$TMP/http-RS2.log'"
if serving_big RS1; then VICTIM=RS1 OTHER=RS2 VICTIM_NS=$RS1; else VICTIM=RS2 OTHER=RS1 VICTIM_NS=$RS2; fi
sleep 2
log "killing $VICTIM's server (pid ${SERVER_PID[$VICTIM]}) two seconds into the download"
start=$SECONDS
stop_pid "${SERVER_PID[$VICTIM]}" 2
wait_for 30 "the download to end" test -s "$TMP/dl1.out"
read -r size rc <"$TMP/dl1.out"
log "download ended after $((SECONDS - start)) s with curl exit $rc, $size of $((BIG_MB << 20)) bytes"
case "$rc" in
    18 | 56) log "ok: the client's transfer failed cleanly (curl exit $rc)" ;;
    *) die "the download through the killed RS ended with curl exit $rc (want 18 or 56)" ;;
esac
[ "$size" -lt $((BIG_MB << 20)) ] || die "the download completed although its RS was killed"

log "check: the health check takes $VICTIM out; new requests all go to $OTHER"
wait_for 5 "$VICTIM quiesced (four curls all answered by $OTHER)" bash -c "
    for i in 1 2 3 4; do
        [ \"\$(ip netns exec '$CL' curl -s --max-time 2 http://$VIP/)\" = $OTHER ] || exit 1
    done"
curl_n "$CL" "http://$VIP/" 4 results
for r in "${results[@]}"; do
    [ "$r" = "$OTHER" ] || die "a new request went to the dead $VICTIM ($r)"
done
log "ok: four requests after the fault all answered by $OTHER"

log "the server of $VICTIM comes back; the health check restores it"
big_server "$VICTIM_NS" "$VICTIM"
wait_for 10 "both real servers answering through the VIP again" bash -c "
    a=\$(ip netns exec '$CL' curl -s --max-time 2 http://$VIP/)
    b=\$(ip netns exec '$CL' curl -s --max-time 2 http://$VIP/)
    [ \"\$a\" != \"\$b\" ]"

log "fault 2: rvsd restarted in the middle of a download"
: >"$TMP/http-RS1.log"
: >"$TMP/http-RS2.log"
big_download "$TMP/dl2.out" --max-time 60 --speed-limit 1000 --speed-time 5
wait_for 10 "the second download to start" bash -c \
    "grep -q '\"GET /big ' '$TMP/http-RS1.log' || grep -q '\"GET /big ' '$TMP/http-RS2.log'"
sleep 2
stop_rvsd
grep -q '^drops: ' "$RVSD_LOG" || die "rvsd printed no final counters on SIGTERM"
cp "$RVSD_LOG" "$TMP/rvsd-first.log"
director_up
wait_for 30 "the interrupted download to end" test -s "$TMP/dl2.out"
read -r size rc <"$TMP/dl2.out"
log "download across the restart ended with curl exit $rc, $size of $((BIG_MB << 20)) bytes"
[ "$rc" -eq 28 ] || die "the download across the restart ended with curl exit $rc (want 28: stalled, abandoned by the client)"
[ "$size" -lt $((BIG_MB << 20)) ] || die "the download survived the restart"
log "ok: connections do not survive a restart; the client gave up on the stalled transfer"

log "check: after the restart the configuration is back and new connections alternate"
curl_n "$CL" "http://$VIP/" 4 results
assert_alternation RS1 RS2 "${results[@]}"

stop_rvsd
lost="$(grep -E '^  (no_connection|no_service) ' "$RVSD_LOG" | tr -s ' ' | tr '\n' ';')"
[ -n "$lost" ] || die "the restarted rvsd counted none of the lost connection's segments"
log "ok: the restarted rvsd dropped the lost connection's segments, counted:$lost"
pass
