#!/usr/bin/env bash
# LVS.md lab 2, DR (direct routing): a router joins the client network and the server segment (a
# bridge); the director has one port on that segment, owns DIP 198.18.1.2 and VIP 198.18.1.200
# and answers ARP for the VIP. For each new connection it picks RS1 or RS2 (rr) and forwards the
# frame unchanged except for the Ethernet header (dst MAC := the RS's MAC). Each RS holds the VIP
# on lo (arp_ignore=1, arp_announce=2, so it never answers or announces the VIP) and replies from
# the VIP straight to the router, never through the director.
#
#   client 198.18.0.2/24 (gw .0.254)
#     eth0 ── r-cl [router 198.18.0.254 | 198.18.1.254] r-lan
#                                                         │
#                             switch: br0 ── p-rtr ───────┘
#                                      ├── p-dir ── lan  director DIP 198.18.1.2, VIP 198.18.1.200
#                                      ├── p-rs1 ── eth0 RS1 198.18.1.10/24, VIP/32 on lo (gw .1.254)
#                                      └── p-rs2 ── eth0 RS2 198.18.1.20/24, VIP/32 on lo (gw .1.254)
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

lab_init dr

CIP=198.18.0.2
VIP=198.18.1.200
DIP=198.18.1.2
RIP1=198.18.1.10
RIP2=198.18.1.20

CL="${UNIQ}-dr-client"
RT="${UNIQ}-dr-router"
SW="${UNIQ}-dr-switch"
DIR="${UNIQ}-dr-director"
RS1="${UNIQ}-dr-rs1"
RS2="${UNIQ}-dr-rs2"

log "topology: client -- router -- switch bridge -- director, RS1, RS2"
for ns in "$CL" "$RT" "$SW" "$DIR" "$RS1" "$RS2"; do
    ns_add "$ns"
done

veth "$CL" eth0 "$RT" r-cl
bridge "$SW" br0
veth "$RT" r-lan "$SW" p-rtr
bridge_port "$SW" br0 p-rtr
veth "$DIR" lan "$SW" p-dir
bridge_port "$SW" br0 p-dir
veth "$RS1" eth0 "$SW" p-rs1
bridge_port "$SW" br0 p-rs1
veth "$RS2" eth0 "$SW" p-rs2
bridge_port "$SW" br0 p-rs2

ip -n "$CL" addr add "$CIP/24" dev eth0
ip -n "$CL" route add default via 198.18.0.254

ip -n "$RT" addr add 198.18.0.254/24 dev r-cl
ip -n "$RT" addr add 198.18.1.254/24 dev r-lan
ip netns exec "$RT" sysctl -qw net.ipv4.ip_forward=1

# Real servers: RIP on eth0, VIP on lo; never answer ARP for the VIP (arp_ignore=1: reply only for
# addresses on the receiving interface) and never use it as the source of their own ARP requests
# (arp_announce=2), set on "all" and on the interface as the seeds do.
rs_setup() {
    local ns="$1" rip="$2" k
    ip -n "$ns" addr add "$rip/24" dev eth0
    ip -n "$ns" addr add "$VIP/32" dev lo
    for k in all eth0; do
        ip netns exec "$ns" sysctl -qw "net.ipv4.conf.$k.arp_ignore=1"
        ip netns exec "$ns" sysctl -qw "net.ipv4.conf.$k.arp_announce=2"
    done
    ip -n "$ns" route add default via 198.18.1.254
}
rs_setup "$RS1" "$RIP1"
rs_setup "$RS2" "$RIP2"

http_server "$RS1" RS1
http_server "$RS2" RS2
log "http servers up: RS1 on $RIP1, RS2 on $RIP2, both also listening on the VIP $VIP"

RS1_MAC="$(mac_of "$RS1" eth0)"
RS2_MAC="$(mac_of "$RS2" eth0)"
DIR_MAC="$(mac_of "$DIR" lan)"

# Pre-check, no director involved: point the router's neighbour entry for the VIP at each RS in
# turn and curl. This proves the RS side of DR (VIP on lo, replies straight to the router) before
# the director is blamed for anything.
log "pre-check: the router reaches each RS's VIP directly (static neighbour entry, no director)"
for pair in "RS1 $RS1_MAC" "RS2 $RS2_MAC"; do
    name="${pair%% *}"
    mac="${pair##* }"
    ip -n "$RT" neigh replace "$VIP" lladdr "$mac" dev r-lan nud permanent
    pre=()
    curl_n "$CL" "http://$VIP/" 1 pre
    [ "${pre[0]}" = "$name" ] || die "pre-check: VIP routed to $name's MAC but got '${pre[0]}'"
done
ip -n "$RT" neigh del "$VIP" dev r-lan
# Forget the pre-check's requests so the access-log check below sees only the lab's.
: >"$TMP/http-RS1.log"
: >"$TMP/http-RS2.log"
log "ok: pre-check passed; router neighbour entry for $VIP removed (it must now ARP for it)"

lab_diagnostics() {
    if [ "$DIRECTOR" = kernel ]; then
        echo "--- director nftables ruleset"
        ip netns exec "$DIR" nft list ruleset 2>/dev/null
    fi
    if [ -f "$TMP/cap.pcap" ]; then
        echo "--- capture on the director's port (first 40 packets)"
        tcpdump -r "$TMP/cap.pcap" -nn -e 2>/dev/null | head -40
    fi
}

case "$DIRECTOR" in
    kernel)
        # The director namespace's kernel owns DIP and VIP (so it answers the router's ARP for the
        # VIP like rvsd must), and an nftables netdev ingress chain on its port emulates DR: the
        # first SYN of a flow picks an RS round-robin (numgen, remembered per client address and
        # port in a dynamic set), then every frame of the flow gets src MAC := the director's,
        # dst MAC := the RS's, and goes straight back out of the same port. The IP packet is not
        # touched and never reaches the director's IP stack.
        ip -n "$DIR" addr add "$DIP/24" dev lan
        ip -n "$DIR" addr add "$VIP/32" dev lan
        cat >"$TMP/director.nft" <<EOF
table netdev lab_dr {
    set to_rs1 { type ipv4_addr . inet_service; flags dynamic,timeout; timeout 120s; }
    set to_rs2 { type ipv4_addr . inet_service; flags dynamic,timeout; timeout 120s; }
    chain pick_rs1 { update @to_rs1 { ip saddr . tcp sport }; }
    chain pick_rs2 { update @to_rs2 { ip saddr . tcp sport }; }
    chain ingress {
        type filter hook ingress device "lan" priority 0; policy accept;
        ip daddr $VIP tcp dport 80 tcp flags & (syn | ack) == syn ip saddr . tcp sport != @to_rs1 ip saddr . tcp sport != @to_rs2 counter numgen inc mod 2 vmap { 0 : jump pick_rs1, 1 : jump pick_rs2 }
        ip daddr $VIP tcp dport 80 ip saddr . tcp sport @to_rs1 counter ether saddr set $DIR_MAC ether daddr set $RS1_MAC fwd to "lan"
        ip daddr $VIP tcp dport 80 ip saddr . tcp sport @to_rs2 counter ether saddr set $DIR_MAC ether daddr set $RS2_MAC fwd to "lan"
    }
}
EOF
        ip netns exec "$DIR" nft -f "$TMP/director.nft"
        log "director: kernel, DR emulated by nftables netdev ingress (dst MAC rewrite + fwd)"
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
method = "dr"
weight = 1

[[services.real_servers]]
address = "$RIP2:80"
method = "dr"
weight = 1
EOF
        start_rvsd "$DIR" "$TMP/rvsd.toml"
        ;;
esac

# Capture on the director's port for the whole traffic phase. --immediate-mode: without it
# libpcap's TPACKET_V3 ring hands packets over only when a block retires (about 1 s), and a
# tcpdump stopped sooner writes nothing. -Z root: tcpdump must not drop to
# its own user, which cannot write into our mode-0700 temporary directory; the .pcap suffix is
# what Debian's AppArmor profile for tcpdump allows it to write.
ip netns exec "$DIR" tcpdump -i lan -nn -U --immediate-mode -Z root -w "$TMP/cap.pcap" >"$TMP/tcpdump.err" 2>&1 &
TCPDUMP_PID=$!
PIDS+=("$TCPDUMP_PID")
wait_for 10 "tcpdump to listen on the director's port" grep -q "listening on" "$TMP/tcpdump.err"

log "check: 4 curls from the client to http://$VIP/ alternate RS1/RS2 (rr, DR)"
results=()
curl_n "$CL" "http://$VIP/" 4 results

# Let the last frames reach the capture, then stop tcpdump so the file is complete.
sleep 0.5
stop_pid "$TCPDUMP_PID" 5

assert_alternation RS1 RS2 "${results[@]}"

log "check: the router resolved the VIP to the director's MAC $DIR_MAC (the director answered ARP)"
rt_mac="$(ip -n "$RT" neigh show "$VIP" dev r-lan | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')"
[ "$rt_mac" = "$DIR_MAC" ] || die "router's neighbour entry for $VIP is '$rt_mac', expected the director's $DIR_MAC"
log "ok: router has $VIP at $rt_mac"

log "check: each RS saw the client address $CIP (DR does not touch the IP header)"
assert_rs_saw RS1 "$CIP"
assert_rs_saw RS2 "$CIP"

log "check: the capture on the director's port has the requests and none of the replies"
requests="$(tcpdump -r "$TMP/cap.pcap" -nn "dst host $VIP and tcp dst port 80" 2>/dev/null | wc -l)"
replies="$(tcpdump -r "$TMP/cap.pcap" -nn "src host $VIP and tcp src port 80" 2>/dev/null | wc -l)"
log "director port capture: $requests client->VIP:80 packets, $replies VIP:80->client packets"
[ "$requests" -gt 0 ] || die "no client->VIP packets captured on the director's port: the capture is not seeing the traffic"
[ "$replies" -eq 0 ] || die "$replies reply packets from $VIP:80 passed the director's port: not direct routing"
log "ok: replies did not pass the director"

if [ "$DIRECTOR" = rvsd ]; then
    stop_rvsd
fi
pass
