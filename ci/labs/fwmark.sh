#!/usr/bin/env bash
# LVS.md lab 3, firewall marks, on the DR topology (dr-common.sh): RS1 and RS2 serve HTTP on 80
# and HTTPS on 443 (self-signed certificate made at run time; curl -k), both ports on the VIP.
#
# Phase 1, two plain services, tcp VIP:80 rr and tcp VIP:443 rr: the client asks
# http, https, http, https, http, https; the http answers alternate among themselves and the https
# answers alternate among themselves (two independent round robins; with IPVS's rr both start at
# the same real server, so the combined sequence pairs up: a a b b a a).
# Phase 2, the director restarted with one firewall-mark service: mark 66 = tcp to VIP ports 80
# and 443, rr, real servers without a port (the packet's port is kept, as IPVS fwmark services):
# http, https, http, https land on a, b, a, b: one round robin across both ports, so an http
# request and the next https request go to different real servers.
# Both phases: (pre-check) each RS answers on both ports with the router pointed at it; replies
# never pass the director (capture on its port); each RS saw the client address.
#
# rvsd keys used by phase 2 (issue 3 item 4): top-level [[fwmark]] {mark, destinations, protocol,
# ports}, [[services]] fwmark = 66 (no protocol/address), real server address without a port.
# DIRECTOR=kernel emulates both phases with nftables netdev DR (one numgen counter per service).
#
# Env: DIRECTOR=rvsd|kernel (default rvsd), RVSD, LAB_KEEP, CURL_MAX_TIME, RVSD_READY_TIMEOUT.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=dr-common.sh
source "$LAB_DIR/dr-common.sh"

lab_init fwmark
dr_topology
CURL_OPTS=(-k)

http_server "$RS1" RS1
http_server "$RS2" RS2
https_server "$RS1" RS1
https_server "$RS2" RS2
log "servers up: RS1 and RS2 on :80 (http) and :443 (https), all addresses incl. the VIP $VIP"

dr_precheck 80 443

# rvsd_phase1_toml FILE: two plain DR services, one per port.
rvsd_phase1_toml() {
    local port
    dr_rvsd_toml "$1"
    for port in 80 443; do
        cat >>"$1" <<EOT

[[services]]
protocol = "tcp"
address = "$VIP:$port"
scheduler = "rr"

[[services.real_servers]]
address = "$RIP1:$port"
method = "dr"
weight = 1

[[services.real_servers]]
address = "$RIP2:$port"
method = "dr"
weight = 1
EOT
    done
}

# rvsd_phase2_toml FILE: one firewall-mark service grouping tcp to VIP ports 80 and 443.
rvsd_phase2_toml() {
    dr_rvsd_toml "$1"
    cat >>"$1" <<EOT

[[fwmark]]
mark = 66
destinations = ["$VIP/32"]
protocol = "tcp"
ports = [80, 443]

[[services]]
fwmark = 66
scheduler = "rr"

[[services.real_servers]]
address = "$RIP1"
method = "dr"
weight = 1

[[services.real_servers]]
address = "$RIP2"
method = "dr"
weight = 1
EOT
}

# drive N: N curls alternating http and https (http first) into the array "got", with a
# capture on the director's port around them.
drive() {
    local n="$1" i port
    local -a one
    got=()
    dr_capture_start
    for ((i = 0; i < n; i++)); do
        port=80
        ((i % 2 == 1)) && port=443
        one=()
        curl_n "$CL" "$(vip_url "$port")" 1 one
        got+=("${one[0]}")
    done
    dr_capture_stop
}

# --- phase 1: two services
log "phase 1: two plain services, tcp $VIP:80 rr and tcp $VIP:443 rr"
case "$DIRECTOR" in
    kernel) dr_director_kernel 80 443 ;;
    rvsd)
        rvsd_phase1_toml "$TMP/rvsd.toml"
        start_rvsd "$DIR" "$TMP/rvsd.toml"
        ;;
esac

got=()
drive 6
log "phase 1 answers (http, https, http, https, http, https): ${got[*]}"
log "check: http answers alternate by themselves, https answers alternate by themselves"
assert_alternation RS1 RS2 "${got[0]}" "${got[2]}" "${got[4]}"
assert_alternation RS1 RS2 "${got[1]}" "${got[3]}" "${got[5]}"
dr_check_router_arp
dr_check_capture 80 443
assert_rs_saw RS1 "$CIP"
assert_rs_saw RS2 "$CIP"
grep -q "^$CIP - " "$TMP/https-RS1.log" || die "RS1's https log has no request from $CIP"
grep -q "^$CIP - " "$TMP/https-RS2.log" || die "RS2's https log has no request from $CIP"
log "ok: phase 1 (both RSs saw $CIP on both ports)"

# --- phase 2: one firewall-mark service
log "phase 2: one fwmark service, mark 66 = tcp to $VIP ports 80 and 443, rr"
for f in "$TMP"/http-RS*.log "$TMP"/https-RS*.log; do
    : >"$f"
done
case "$DIRECTOR" in
    kernel) dr_director_kernel 80,443 ;;
    rvsd)
        stop_rvsd quiet
        mv "$TMP/rvsd.log" "$TMP/rvsd-phase1.log"
        rvsd_phase2_toml "$TMP/rvsd.toml"
        start_rvsd "$DIR" "$TMP/rvsd.toml"
        ;;
esac

got=()
drive 4
log "check: http, https, http, https alternate as one round robin across both ports"
assert_alternation RS1 RS2 "${got[@]}"
dr_check_router_arp
dr_check_capture 80 443
log "check: the RS that answered http did not answer the next https (one scheduler for the mark)"
[ "${got[0]}" != "${got[1]}" ] || die "http and the following https went to the same RS ${got[0]}"
for name in "${got[0]}" "${got[2]}"; do
    grep -q "^$CIP - " "$TMP/http-$name.log" || die "$name's http log has no request from $CIP"
done
for name in "${got[1]}" "${got[3]}"; do
    grep -q "^$CIP - " "$TMP/https-$name.log" || die "$name's https log has no request from $CIP"
done
log "ok: phase 2"

if [ "$DIRECTOR" = rvsd ]; then
    stop_rvsd
fi
pass
