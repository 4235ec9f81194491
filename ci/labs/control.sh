#!/usr/bin/env bash
# The control plane on the NAT lab (issue "Control plane"): rvsadm against a running rvsd
# (-L -n, -S/-C/-R round trip, live -e), reload with a good and a bad file while a connection
# carries traffic (it must not be lost), health checks taking a stopped real server out within
# interval x failures and back after it restarts, /metrics scraped with curl, and TCP to a DIP
# reaching a listener in the kernel through the exception path (TAP).
#
# Topology as nat.sh; both director ports have exception_path = true and their TAP devices
# (rvs-outside, rvs-inside) get the DIPs in the director namespace's kernel, which is where the
# health checks and the "SSH-like" listener live.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$LAB_DIR/nat-common.sh"

RVSADM="${RVSADM:-$(dirname "$RVSD")/rvsadm}"
[ -x "$RVSADM" ] || { echo "control: no rvsadm at $RVSADM (cargo build --release -p rvsadm)" >&2; exit 1; }

lab_init control
nat_topology
http_server "$RS1" RS1
http_server "$RS2" RS2
RS2_PID="${PIDS[-1]}"
log "http servers up: RS1 on $RIP1:80, RS2 on $RIP2:80"

[ "$DIRECTOR" = rvsd ] || die "the control lab needs DIRECTOR=rvsd"

SOCK="$TMP/rvsd.sock"
write_toml() { # write_toml FILE RS2_WEIGHT
    cat >"$1" <<EOF
workers = 1
idle_sleep_us = 20

[control]
socket = "$SOCK"
metrics = "127.0.0.1:9469"

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
weight = $2
EOF
}
write_toml "$TMP/rvsd.toml" 1
start_rvsd "$DIR" "$TMP/rvsd.toml"

# The kernel side of the exception path: the DIPs on the TAP devices.
wait_for 10 "TAP devices rvs-outside and rvs-inside" \
    ip -n "$DIR" link show rvs-inside
ip -n "$DIR" addr add 198.18.0.1/24 dev rvs-outside
ip -n "$DIR" addr add 198.18.1.1/24 dev rvs-inside
ip -n "$DIR" link set rvs-outside up
ip -n "$DIR" link set rvs-inside up

rvsadm() { ip netns exec "$DIR" "$RVSADM" --socket "$SOCK" "$@"; }

log "check: rvsadm -L -n lists the service and both real servers as ipvsadm does"
rvsadm -L -n | tee "$TMP/list1.txt"
grep -q '^Prot LocalAddress:Port Scheduler Flags$' "$TMP/list1.txt" || die "no ipvsadm header"
grep -Eq "^TCP  $VIP:80 rr *\$" "$TMP/list1.txt" || die "service line missing"
for rip in "$RIP1" "$RIP2"; do
    grep -Eq "^  -> $rip:80 +Masq +1 +0 +0 *\$" "$TMP/list1.txt" || die "real server $rip line missing"
done

log "check: 4 curls alternate (rr, NAT) with the control plane running"
results=()
curl_n "$CL" "http://$VIP/" 4 results
assert_alternation RS1 RS2 "${results[@]}"

log "check: --stats, --rate, -c and --timeout after traffic"
rvsadm -L -n --stats | tee "$TMP/stats.txt"
grep -Eq "^TCP  $VIP:80 +[0-9]+ " "$TMP/stats.txt" || die "--stats has no service line"
rvsadm -L -n --rate | grep -q "CPS" || die "--rate has no CPS header"
rvsadm -L -n -c | tee "$TMP/conns.txt"
grep -Eq "^TCP +[0-9]+:[0-9]+ +[A-Z_]+ +$CIP:[0-9]+ +$VIP:80 +198\.18\.1\.[12]0:80" "$TMP/conns.txt" ||
    die "-c does not list the client's connections"
[ "$(rvsadm -L --timeout)" = "Timeout (tcp tcpfin udp): 900 120 300" ] || die "--timeout: $(rvsadm -L --timeout)"
rvsadm --set 800 100 200
[ "$(rvsadm -L --timeout)" = "Timeout (tcp tcpfin udp): 800 100 200" ] || die "--set not in effect"
rvsadm -Z
rvsadm -L -n --stats | grep -Eq "^TCP  $VIP:80 +0 +0 +0 +0 +0" || die "-Z did not zero the service's counters"
log "check: -E changes a service's scheduler live"
rvsadm -E -t "$VIP:80" -s wrr
rvsadm -L -n | grep -Eq "^TCP  $VIP:80 wrr" || die "-E did not change the scheduler"
rvsadm -E -t "$VIP:80" -s rr
log "check: -A/-a/-d/-D on a second service"
rvsadm -A -u "$VIP:53" -s wrr
rvsadm -a -u "$VIP:53" -r "$RIP1:53" -m -w 3
rvsadm -L -n | grep -Eq "^UDP  $VIP:53 wrr" || die "-A did not add the UDP service"
rvsadm -L -n | grep -Eq "^  -> $RIP1:53 +Masq +3 " || die "-a did not add the real server"
if rvsadm -a -u "$VIP:53" -r "$RIP1:53" -m 2>"$TMP/dup.err"; then die "a duplicate real server was accepted"; fi
grep -q "Destination already exists" "$TMP/dup.err" || die "duplicate: $(cat "$TMP/dup.err")"
rvsadm -d -u "$VIP:53" -r "$RIP1:53"
rvsadm -D -u "$VIP:53"
rvsadm -L -n | grep -q "^UDP" && die "-D left the UDP service"
log "ok: every listing and change command answered as ipvsadm would"

log "check: TCP to the DIP 198.18.0.1:2222 reaches a listener in the kernel through the exception path"
start_httpd "$DIR" KERNEL 2222 "$TMP/http-kernel.log"
out="$(ip netns exec "$CL" curl -s --max-time "$CURL_MAX_TIME" http://198.18.0.1:2222/)" || true
[ "$out" = KERNEL ] || die "the kernel's listener on the DIP did not answer through the TAP (got '$out')"
log "ok: the kernel behind the exception path answered ($out)"

log "check: /metrics answers in Prometheus text format"
ip netns exec "$DIR" curl -s --max-time 3 http://127.0.0.1:9469/metrics >"$TMP/metrics.txt" ||
    die "metrics listener did not answer"
grep -q '^# TYPE ' "$TMP/metrics.txt" || die "no TYPE lines in /metrics"
grep -q "$VIP:80" "$TMP/metrics.txt" || die "the service is not in /metrics"
grep -Eq '^rvs_drops_total\{reason="no_service"\} [0-9]+' "$TMP/metrics.txt" ||
    die "drop counters missing from /metrics"
log "ok: /metrics has $(grep -c '^rvs_' "$TMP/metrics.txt") samples"

log "check: -S, -C, -R round trip reproduces the table"
rvsadm -S -n >"$TMP/rules1.txt"
cat "$TMP/rules1.txt"
rvsadm -C
[ -z "$(rvsadm -S -n)" ] || die "-C left services behind"
rvsadm -R <"$TMP/rules1.txt"
rvsadm -S -n >"$TMP/rules2.txt"
diff -u "$TMP/rules1.txt" "$TMP/rules2.txt" || die "-S after -R differs"
curl_n "$CL" "http://$VIP/" 2 results
log "ok: the restored table forwards (${results[*]})"

log "check: a live rvsadm -e takes effect (RS1 weight 0: new connections all to RS2)"
rvsadm -e -t "$VIP:80" -r "$RIP1:80" -m -w 0
curl_n "$CL" "http://$VIP/" 3 results
for r in "${results[@]}"; do [ "$r" = RS2 ] || die "quiesced RS1 still got a connection"; done
rvsadm -e -t "$VIP:80" -r "$RIP1:80" -m -w 1

log "check: reload with a good file and with a bad file while one connection carries requests"
ip netns exec "$CL" python3 - "$VIP" 8 >"$TMP/keepalive.out" 2>&1 <<'EOF' &
import http.client, sys, time
host, seconds = sys.argv[1], float(sys.argv[2])
c = http.client.HTTPConnection(host, 80, timeout=3)
ok = fail = 0
end = time.time() + seconds
while time.time() < end:
    try:
        c.request("GET", "/", headers={"Connection": "keep-alive"})
        r = c.getresponse(); r.read()
        ok += r.status == 200
    except Exception as e:
        fail += 1
        print("request failed:", e)
        c = http.client.HTTPConnection(host, 80, timeout=3)
    time.sleep(0.05)
print(f"keepalive: {ok} ok, {fail} failed")
sys.exit(1 if fail or not ok else 0)
EOF
KA_PID=$!
sleep 1
write_toml "$TMP/rvsd.toml" 2
kill -HUP "$RVSD_PID"
wait_for 5 "rvsd to reload" grep -q "configuration reloaded" "$RVSD_LOG"
rvsadm -L -n | grep -Eq "^  -> $RIP2:80 +Masq +2 " || die "the reloaded weight is not in effect"
log "ok: SIGHUP reloaded the good file (RS2 weight 2)"
printf '[[ports]]\nname = "outside"\nbogus = 1\n' >"$TMP/rvsd.toml"
if rvsadm --reload 2>"$TMP/reload.err"; then die "a bad file was accepted"; fi
log "bad file refused: $(cat "$TMP/reload.err")"
grep -q "bogus" "$TMP/reload.err" || die "the reload error does not name the bad key"
kill -HUP "$RVSD_PID"
wait_for 5 "rvsd to refuse the reload" grep -q "reload refused" "$RVSD_LOG"
rvsadm -L -n | grep -Eq "^  -> $RIP2:80 +Masq +2 " || die "the running table changed after a bad reload"
rc=0
wait "$KA_PID" || rc=$?
cat "$TMP/keepalive.out"
[ "$rc" -eq 0 ] || die "the established connection lost requests across the reloads"
log "ok: the running table stayed, and the connection carried every request across both reloads"
write_toml "$TMP/rvsd.toml" 1
kill -HUP "$RVSD_PID"

log "check: health checks quiesce a stopped real server within interval x failures, and restore it"
stop_pid "$RS2_PID" 2
start=$SECONDS
wait_for 5 "RS2 quiesced by its health check" \
    bash -c "ip netns exec '$DIR' '$RVSADM' --socket '$SOCK' -L -n | grep -Eq '^  -> $RIP2:80 +Masq +0 '"
log "ok: RS2 quiesced after $((SECONDS - start)) s"
curl_n "$CL" "http://$VIP/" 3 results
for r in "${results[@]}"; do [ "$r" = RS1 ] || die "a connection went to the stopped RS2 ($r)"; done
http_server "$RS2" RS2
start=$SECONDS
wait_for 5 "RS2 restored by its health check" \
    bash -c "ip netns exec '$DIR' '$RVSADM' --socket '$SOCK' -L -n | grep -Eq '^  -> $RIP2:80 +Masq +1 '"
log "ok: RS2 back after $((SECONDS - start)) s"
curl_n "$CL" "http://$VIP/" 4 results
assert_alternation RS1 RS2 "${results[@]}"

stop_rvsd
pass
