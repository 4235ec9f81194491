#!/usr/bin/env bash
# LVS.md lab 4, TUN (IP tunnelling): like DR, but the real servers sit on other subnets behind the
# router; the director wraps each request in an outer IPv4 header DIP->RIP, protocol 4 (IPIP,
# RFC 2003), and each RS decapsulates it and answers the client directly from the VIP.
#
#   client 198.18.0.2/24 (gw .0.254)
#     eth0 ── r-cl [router .0.254 | 198.18.1.254 r-dir | 198.18.2.254 r-rs1 | 198.18.3.254 r-rs2]
#                                        │                    │                    │
#     director lan DIP 198.18.1.2/24 ────┘                    │                    │
#              VIP 198.18.1.200 (answers ARP for it)         │                    │
#     RS1 eth0 198.18.2.10/24 (gw .2.254), VIP/32 on lo ─────┘                    │
#     RS2 eth0 198.18.3.20/24 (gw .3.254), VIP/32 on lo ──────────────────────────┘
#
# This kernel has no ipip module, so each RS runs ci/labs/ipip-decap.py: IPIP arrives on a raw
# IPPROTO_IPIP socket, the inner packet is written into tun0 (rp_filter 0) and the kernel delivers
# it to the VIP on lo.
#
# Checks: (pre-check, no director) the router itself tunnels the VIP to the RSs with
# ci/labs/ipip-encap.py and both answer; then four curls to http://198.18.1.200/ alternate RS1/RS2
# through the director; the router learned the VIP at the director's MAC; each RS saw the client
# address; a capture on the director's link holds the client->VIP requests, IPIP packets DIP->RIP1
# and DIP->RIP2, not a single VIP:80 reply and no ICMP (no "protocol unreachable" from an RS).
#
# rvsd: method = "tun" real servers (issue 3 item 2). DIRECTOR=kernel: the director namespace
# routes the VIP into a TUN device read by ci/labs/ipip-encap.py (rr per flow, raw IPIP socket)
# and answers ARP for the VIP by proxy ARP.
#
# Env: DIRECTOR=rvsd|kernel (default rvsd), RVSD, LAB_KEEP, CURL_MAX_TIME, RVSD_READY_TIMEOUT.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

lab_init tun

CIP=198.18.0.2
VIP=198.18.1.200
DIP=198.18.1.2
RIP1=198.18.2.10
RIP2=198.18.3.20

CL="${UNIQ}-tun-client"
RT="${UNIQ}-tun-router"
DIR="${UNIQ}-tun-director"
RS1="${UNIQ}-tun-rs1"
RS2="${UNIQ}-tun-rs2"

log "topology: client -- router -- director; router -- RS1 (198.18.2.0/24), RS2 (198.18.3.0/24)"
for ns in "$CL" "$RT" "$DIR" "$RS1" "$RS2"; do
    ns_add "$ns"
done
veth "$CL" eth0 "$RT" r-cl
veth "$DIR" lan "$RT" r-dir
veth "$RS1" eth0 "$RT" r-rs1
veth "$RS2" eth0 "$RT" r-rs2

ip -n "$CL" addr add "$CIP/24" dev eth0
ip -n "$CL" route add default via 198.18.0.254

ip -n "$RT" addr add 198.18.0.254/24 dev r-cl
ip -n "$RT" addr add 198.18.1.254/24 dev r-dir
ip -n "$RT" addr add 198.18.2.254/24 dev r-rs1
ip -n "$RT" addr add 198.18.3.254/24 dev r-rs2
ip netns exec "$RT" sysctl -qw net.ipv4.ip_forward=1
# The RSs' replies come from the VIP, whose subnet is on r-dir, into r-rs1/r-rs2: strict reverse
# path filtering would drop them (rp_filter is max(all, interface); set both).
for k in all default r-cl r-dir r-rs1 r-rs2; do
    ip netns exec "$RT" sysctl -qw "net.ipv4.conf.$k.rp_filter=0"
done

# tun_rs_setup NS NAME RIP GW: RIP on eth0, VIP on lo (arp_ignore/arp_announce as DR), tun0 for
# the decapsulated packets (rp_filter 0: the client is routed via eth0, not tun0), and
# ipip-decap.py attached to tun0.
tun_rs_setup() {
    local ns="$1" name="$2" rip="$3" gw="$4" k
    ip -n "$ns" addr add "$rip/24" dev eth0
    ip -n "$ns" addr add "$VIP/32" dev lo
    ip -n "$ns" route add default via "$gw"
    ip -n "$ns" tuntap add dev tun0 mode tun
    ip -n "$ns" link set tun0 up
    for k in all eth0; do
        ip netns exec "$ns" sysctl -qw "net.ipv4.conf.$k.arp_ignore=1"
        ip netns exec "$ns" sysctl -qw "net.ipv4.conf.$k.arp_announce=2"
    done
    for k in all default eth0 tun0; do
        ip netns exec "$ns" sysctl -qw "net.ipv4.conf.$k.rp_filter=0"
    done
    ip netns exec "$ns" python3 "$LAB_DIR/ipip-decap.py" --tun tun0 >"$TMP/decap-$name.err" 2>&1 &
    PIDS+=("$!")
    DECAP_PIDS+=("$!")
    wait_for 10 "ipip-decap.py in $name" grep -q "ipip-decap: reading" "$TMP/decap-$name.err"
}
DECAP_PIDS=()
tun_rs_setup "$RS1" RS1 "$RIP1" 198.18.2.254
tun_rs_setup "$RS2" RS2 "$RIP2" 198.18.3.254

http_server "$RS1" RS1
http_server "$RS2" RS2
log "http servers up: RS1 on $RIP1, RS2 on $RIP2, both also listening on the VIP $VIP; decapsulators running"

DIR_MAC="$(mac_of "$DIR" lan)"

# start_encap NS NAME: tun0 in NS with ipip-encap.py on it, tunnelling to RIP1 and RIP2 (rr).
start_encap() {
    local ns="$1" name="$2"
    ip -n "$ns" tuntap add dev tun0 mode tun
    ip -n "$ns" link set tun0 up
    ip netns exec "$ns" python3 "$LAB_DIR/ipip-encap.py" --tun tun0 --rs "$RIP1" --rs "$RIP2" >"$TMP/encap-$name.err" 2>&1 &
    ENCAP_PID=$!
    PIDS+=("$ENCAP_PID")
    wait_for 10 "ipip-encap.py in $name" grep -q "ipip-encap: tun0" "$TMP/encap-$name.err"
}

# Pre-check, no director: the router routes the VIP into its own tun0 and tunnels it to the RSs.
# This proves the RS side of TUN (decapsulation, VIP on lo, direct replies) before the director is
# blamed for anything.
log "pre-check: the router tunnels the VIP to the RSs itself (ipip-encap.py, no director)"
start_encap "$RT" router
ip -n "$RT" route add "$VIP/32" dev tun0
pre=()
curl_n "$CL" "http://$VIP/" 2 pre
assert_alternation RS1 RS2 "${pre[@]}"
ip -n "$RT" route del "$VIP/32" dev tun0
stop_pid "$ENCAP_PID" 5
ip -n "$RT" link del tun0
: >"$TMP/http-RS1.log"
: >"$TMP/http-RS2.log"
log "ok: pre-check passed ($(tail -n 1 "$TMP/encap-router.err")); the router's VIP route is back to r-dir"

lab_diagnostics() {
    if [ -f "$TMP/cap.pcap" ]; then
        echo "--- capture on the director's link, router end (first 40 packets)"
        tcpdump -r "$TMP/cap.pcap" -nn -e 2>/dev/null | head -40
    fi
}

case "$DIRECTOR" in
    kernel)
        # The VIP is routed into tun0 where ipip-encap.py tunnels it; proxy ARP on lan answers the
        # router's ARP for the VIP (its route leaves by another interface), at once (proxy_delay 0).
        ip -n "$DIR" addr add "$DIP/24" dev lan
        ip -n "$DIR" route add default via 198.18.1.254
        ip netns exec "$DIR" sysctl -qw net.ipv4.ip_forward=1
        ip netns exec "$DIR" sysctl -qw net.ipv4.conf.lan.proxy_arp=1
        ip netns exec "$DIR" sysctl -qw net.ipv4.neigh.lan.proxy_delay=0
        start_encap "$DIR" director
        ip -n "$DIR" route add "$VIP/32" dev tun0
        log "director: kernel forwarding into tun0 + ipip-encap.py (rr per flow), proxy ARP for the VIP"
        ;;
    rvsd)
        cat >"$TMP/rvsd.toml" <<EOF
workers = 1
idle_sleep_us = 20

[[ports]]
name = "lan"
device = "net_af_packet0"
args = "iface=lan,qpairs=1"
addresses = ["$DIP/24"]

[[routes]]
prefix = "0.0.0.0/0"
via = "198.18.1.254"
port = "lan"

[[services]]
protocol = "tcp"
address = "$VIP:80"
scheduler = "rr"

[[services.real_servers]]
address = "$RIP1:80"
method = "tun"
weight = 1

[[services.real_servers]]
address = "$RIP2:80"
method = "tun"
weight = 1
EOF
        start_rvsd "$DIR" "$TMP/rvsd.toml"
        ;;
esac

# Capture on the director's link for the traffic phase, at the router's end (r-dir): rvsd's
# net_af_packet sends with PACKET_QDISC_BYPASS, which skips the packet taps, so a tcpdump on the
# director's own interface would see only what it receives, never the IPIP it sends. (Options as
# in dr-common.sh.)
ip netns exec "$RT" tcpdump -i r-dir -nn -U --immediate-mode -Z root -w "$TMP/cap.pcap" >"$TMP/tcpdump.err" 2>&1 &
TCPDUMP_PID=$!
PIDS+=("$TCPDUMP_PID")
wait_for 10 "tcpdump to listen on the director's link" grep -q "listening on" "$TMP/tcpdump.err"

log "check: 4 curls from the client to http://$VIP/ alternate RS1/RS2 (rr, TUN)"
results=()
curl_n "$CL" "http://$VIP/" 4 results
sleep 0.5
stop_pid "$TCPDUMP_PID" 5
assert_alternation RS1 RS2 "${results[@]}"

log "check: the router resolved the VIP to the director's MAC $DIR_MAC"
rt_mac="$(ip -n "$RT" neigh show "$VIP" dev r-dir | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')"
[ "$rt_mac" = "$DIR_MAC" ] || die "router's neighbour entry for $VIP is '$rt_mac', expected the director's $DIR_MAC"
log "ok: router has $VIP at $rt_mac"

log "check: each RS saw the client address $CIP (the inner packet is the client's, untouched)"
assert_rs_saw RS1 "$CIP"
assert_rs_saw RS2 "$CIP"

log "check: the director's link carried requests in and IPIP out, and no reply and no ICMP"
count() { tcpdump -r "$TMP/cap.pcap" -nn "$1" 2>/dev/null | wc -l; }
requests="$(count "dst host $VIP and tcp dst port 80")"
ipip1="$(count "ip proto 4 and src host $DIP and dst host $RIP1")"
ipip2="$(count "ip proto 4 and src host $DIP and dst host $RIP2")"
ipip_all="$(count "ip proto 4")"
replies="$(count "src host $VIP and tcp src port 80")"
icmp="$(count "icmp")"
log "director link capture: $requests client->VIP:80, IPIP $DIP->$RIP1 $ipip1, $DIP->$RIP2 $ipip2 (all IPIP $ipip_all), VIP:80->client $replies, ICMP $icmp"
[ "$requests" -gt 0 ] || die "no client->VIP:80 packets captured on the director's link"
[ "$ipip1" -gt 0 ] || die "no IPIP packets from $DIP to RS1 $RIP1 on the director's link"
[ "$ipip2" -gt 0 ] || die "no IPIP packets from $DIP to RS2 $RIP2 on the director's link"
[ "$ipip_all" -eq $((ipip1 + ipip2)) ] || die "IPIP packets with another outer source or destination than $DIP -> RIP1/RIP2"
[ "$replies" -eq 0 ] || die "$replies reply packets from $VIP:80 reached the director's link: not direct"
[ "$icmp" -eq 0 ] || die "$icmp ICMP packets on the director's link (an RS answering IPIP with an error?)"
log "ok: tunnelled to both RSs from the DIP; replies did not pass the director"

if [ "$DIRECTOR" = rvsd ]; then
    stop_rvsd
fi
for pid in "${DECAP_PIDS[@]}"; do
    stop_pid "$pid" 3
done
log "decapsulators: $(tail -qn 1 "$TMP"/decap-RS*.err | tr '\n' ' ')"
pass
