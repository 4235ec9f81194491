#!/usr/bin/env bash
# LVS.md lab 2, DR (direct routing): a router joins the client network and the server segment (a
# bridge); the director has one port on that segment, owns DIP 198.18.1.2 and VIP 198.18.1.200
# and answers ARP for the VIP. For each new connection it picks RS1 or RS2 (rr) and forwards the
# frame unchanged except for the Ethernet header (dst MAC := the RS's MAC). Each RS holds the VIP
# on lo (arp_ignore=1, arp_announce=2, so it never answers or announces the VIP) and replies from
# the VIP straight to the router, never through the director. Topology in dr-common.sh.
#
# Checks: (pre-check) each RS answers on the VIP when the router is pointed at it by a static
# neighbour entry; then four curls to http://198.18.1.200/ alternate RS1/RS2 through the director;
# the router learned the VIP at the director's MAC; each RS saw the client address; a capture on the
# director's port holds the client->VIP requests and not a single VIP:80 reply.
#
# Env: DIRECTOR=rvsd|kernel (default rvsd), RVSD=path to the binary, LAB_KEEP=1 keeps the
# temporary directory, CURL_MAX_TIME, RVSD_READY_TIMEOUT.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=dr-common.sh
source "$LAB_DIR/dr-common.sh"

lab_init dr
dr_topology

http_server "$RS1" RS1
http_server "$RS2" RS2
log "http servers up: RS1 on $RIP1, RS2 on $RIP2, both also listening on the VIP $VIP"

dr_precheck 80

case "$DIRECTOR" in
    kernel) dr_director_kernel 80 ;;
    rvsd)
        dr_rvsd_toml "$TMP/rvsd.toml"
        cat >>"$TMP/rvsd.toml" <<EOT

[[services]]
protocol = "tcp"
address = "$VIP:80"
scheduler = "rr"

[[services.real_servers]]
address = "$RIP1:80"
method = "dr"
weight = 1

[[services.real_servers]]
address = "$RIP2:80"
method = "dr"
weight = 1
EOT
        start_rvsd "$DIR" "$TMP/rvsd.toml"
        ;;
esac

dr_capture_start

log "check: 4 curls from the client to http://$VIP/ alternate RS1/RS2 (rr, DR)"
results=()
curl_n "$CL" "http://$VIP/" 4 results

dr_capture_stop

assert_alternation RS1 RS2 "${results[@]}"

log "check: the router resolved the VIP to the director's MAC $DIR_MAC (the director answered ARP)"
dr_check_router_arp

log "check: each RS saw the client address $CIP (DR does not touch the IP header)"
assert_rs_saw RS1 "$CIP"
assert_rs_saw RS2 "$CIP"

log "check: the capture on the director's port has the requests and none of the replies"
dr_check_capture 80

if [ "$DIRECTOR" = rvsd ]; then
    stop_rvsd
fi
pass
