# shellcheck shell=bash
# The DR lab's topology, pre-check, directors and capture, shared by dr.sh and fwmark.sh. Source
# it after lib.sh and lab_init.
#
#   client 198.18.0.2/24 (gw .0.254)
#     eth0 ── r-cl [router 198.18.0.254 | 198.18.1.254] r-lan
#                                                         │
#                             switch: br0 ── p-rtr ───────┘
#                                      ├── p-dir ── lan  director DIP 198.18.1.2, VIP 198.18.1.200
#                                      ├── p-rs1 ── eth0 RS1 198.18.1.10/24, VIP/32 on lo (gw .1.254)
#                                      └── p-rs2 ── eth0 RS2 198.18.1.20/24, VIP/32 on lo (gw .1.254)

CIP=198.18.0.2
VIP=198.18.1.200
DIP=198.18.1.2
RIP1=198.18.1.10
RIP2=198.18.1.20

# dr_topology: namespaces CL, RT, SW, DIR, RS1, RS2 (named ${UNIQ}-<lab>-<role>), links,
# addresses, the RSs' VIP on lo; sets RS1_MAC, RS2_MAC, DIR_MAC.
dr_topology() {
    CL="${UNIQ}-${LAB_NAME}-client"
    RT="${UNIQ}-${LAB_NAME}-router"
    SW="${UNIQ}-${LAB_NAME}-switch"
    DIR="${UNIQ}-${LAB_NAME}-director"
    RS1="${UNIQ}-${LAB_NAME}-rs1"
    RS2="${UNIQ}-${LAB_NAME}-rs2"

    log "topology: client -- router -- switch bridge -- director, RS1, RS2"
    local ns
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

    dr_rs_setup "$RS1" "$RIP1"
    dr_rs_setup "$RS2" "$RIP2"

    RS1_MAC="$(mac_of "$RS1" eth0)"
    RS2_MAC="$(mac_of "$RS2" eth0)"
    DIR_MAC="$(mac_of "$DIR" lan)"
}

# dr_rs_setup NS RIP: RIP on eth0, VIP on lo; never answer ARP for the VIP (arp_ignore=1: reply
# only for addresses on the receiving interface) and never use it as the source of their own ARP
# requests (arp_announce=2), set on "all" and on the interface as the seeds do.
dr_rs_setup() {
    local ns="$1" rip="$2" k
    ip -n "$ns" addr add "$rip/24" dev eth0
    ip -n "$ns" addr add "$VIP/32" dev lo
    for k in all eth0; do
        ip netns exec "$ns" sysctl -qw "net.ipv4.conf.$k.arp_ignore=1"
        ip netns exec "$ns" sysctl -qw "net.ipv4.conf.$k.arp_announce=2"
    done
    ip -n "$ns" route add default via 198.18.1.254
}

# vip_url PORT: the URL the client uses for the VIP on PORT (443 is HTTPS, curl -k in CURL_OPTS).
vip_url() {
    case "$1" in
        443) echo "https://$VIP/" ;;
        80) echo "http://$VIP/" ;;
        *) echo "http://$VIP:$1/" ;;
    esac
}

# dr_precheck PORT...: no director involved: point the router's neighbour entry for the VIP at
# each RS in turn and curl each PORT. This proves the RS side of DR (VIP on lo, replies straight
# to the router) before the director is blamed for anything. Truncates the access logs after.
dr_precheck() {
    log "pre-check: the router reaches each RS's VIP directly (static neighbour entry, no director), ports $*"
    local pair name mac port f
    local -a pre
    for pair in "RS1 $RS1_MAC" "RS2 $RS2_MAC"; do
        name="${pair%% *}"
        mac="${pair##* }"
        ip -n "$RT" neigh replace "$VIP" lladdr "$mac" dev r-lan nud permanent
        for port in "$@"; do
            pre=()
            curl_n "$CL" "$(vip_url "$port")" 1 pre
            [ "${pre[0]}" = "$name" ] || die "pre-check: VIP routed to $name's MAC but port $port got '${pre[0]}'"
        done
    done
    ip -n "$RT" neigh del "$VIP" dev r-lan
    # Forget the pre-check's requests so the access-log checks see only the lab's.
    for f in "$TMP"/http-RS*.log "$TMP"/https-RS*.log; do
        [ -f "$f" ] && : >"$f"
    done
    log "ok: pre-check passed; router neighbour entry for $VIP removed (it must now ARP for it)"
}

# dr_director_kernel GROUP...: the director namespace's kernel owns DIP and VIP (so it answers the
# router's ARP for the VIP like rvsd must), and an nftables netdev ingress chain on its port
# emulates DR: the first SYN of a flow picks an RS round-robin (numgen, remembered per client
# address, client port and VIP port in a dynamic set), then every frame of the flow gets
# src MAC := the director's, dst MAC := the RS's, and goes straight back out of the same port. The
# IP packet is not touched and never reaches the director's IP stack.
# Each GROUP is a comma-separated list of VIP ports scheduled together by ONE round-robin counter:
# "80" "443" are two services, "80,443" is one service over both ports (a firewall mark).
# Replaces any ruleset loaded before (a lab switching services between phases).
dr_director_kernel() {
    if ! ip -n "$DIR" addr show dev lan | grep -q "inet $DIP/"; then
        ip -n "$DIR" addr add "$DIP/24" dev lan
        ip -n "$DIR" addr add "$VIP/32" dev lan
    fi
    local g all="" picks=""
    for g in "$@"; do
        all="${all:+$all, }$g"
        picks+="        ip daddr $VIP tcp dport { $g } tcp flags & (syn | ack) == syn ip saddr . tcp sport . tcp dport != @to_rs1 ip saddr . tcp sport . tcp dport != @to_rs2 counter numgen inc mod 2 vmap { 0 : jump pick_rs1, 1 : jump pick_rs2 }
"
    done
    cat >"$TMP/director.nft" <<EOF
table netdev lab_dr {
    set to_rs1 { type ipv4_addr . inet_service . inet_service; flags dynamic,timeout; timeout 120s; }
    set to_rs2 { type ipv4_addr . inet_service . inet_service; flags dynamic,timeout; timeout 120s; }
    chain pick_rs1 { update @to_rs1 { ip saddr . tcp sport . tcp dport }; }
    chain pick_rs2 { update @to_rs2 { ip saddr . tcp sport . tcp dport }; }
    chain ingress {
        type filter hook ingress device "lan" priority 0; policy accept;
$picks        ip daddr $VIP tcp dport { $all } ip saddr . tcp sport . tcp dport @to_rs1 counter ether saddr set $DIR_MAC ether daddr set $RS1_MAC fwd to "lan"
        ip daddr $VIP tcp dport { $all } ip saddr . tcp sport . tcp dport @to_rs2 counter ether saddr set $DIR_MAC ether daddr set $RS2_MAC fwd to "lan"
    }
}
EOF
    ip netns exec "$DIR" nft delete table netdev lab_dr 2>/dev/null || true
    ip netns exec "$DIR" nft -f "$TMP/director.nft"
    log "director: kernel, DR emulated by nftables netdev ingress (dst MAC rewrite + fwd), rr groups: $*"
}

# dr_rvsd_toml FILE: rvsd's port and route for the DR topology; the caller appends services.
dr_rvsd_toml() {
    cat >"$1" <<EOF
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
EOF
}

# dr_capture_start: tcpdump on the director's port into $TMP/cap.pcap, for the traffic phase.
# --immediate-mode: without it libpcap's TPACKET_V3 ring hands packets over only when a block
# retires (about 1 s), and a tcpdump stopped sooner writes nothing. -Z root: tcpdump must not drop
# to its own user, which cannot write into our mode-0700 temporary directory; the .pcap suffix is
# what Debian's AppArmor profile for tcpdump allows it to write.
dr_capture_start() {
    rm -f "$TMP/cap.pcap" "$TMP/tcpdump.err"
    ip netns exec "$DIR" tcpdump -i lan -nn -U --immediate-mode -Z root -w "$TMP/cap.pcap" >"$TMP/tcpdump.err" 2>&1 &
    TCPDUMP_PID=$!
    PIDS+=("$TCPDUMP_PID")
    wait_for 10 "tcpdump to listen on the director's port" grep -q "listening on" "$TMP/tcpdump.err"
}

# dr_capture_stop: let the last frames reach the capture, then stop tcpdump so the file is complete.
dr_capture_stop() {
    sleep 0.5
    stop_pid "$TCPDUMP_PID" 5
}

# dr_check_capture PORT...: the capture holds client->VIP:PORT requests and no VIP:PORT reply.
# With rvsd the capture on its own interface shows only what it receives (net_af_packet sends
# with PACKET_QDISC_BYPASS, past the packet taps); that is the point here: a reply that reached
# the director's port at all would be caught.
dr_check_capture() {
    local port requests replies
    for port in "$@"; do
        requests="$(tcpdump -r "$TMP/cap.pcap" -nn "dst host $VIP and tcp dst port $port" 2>/dev/null | wc -l)"
        replies="$(tcpdump -r "$TMP/cap.pcap" -nn "src host $VIP and tcp src port $port" 2>/dev/null | wc -l)"
        log "director port capture: $requests client->VIP:$port packets, $replies VIP:$port->client packets"
        [ "$requests" -gt 0 ] || die "no client->VIP:$port packets captured on the director's port: the capture is not seeing the traffic"
        [ "$replies" -eq 0 ] || die "$replies reply packets from $VIP:$port passed the director's port: not direct routing"
    done
    log "ok: replies did not pass the director"
}

# dr_check_router_arp: the router resolved the VIP to the director's MAC (the director answered ARP).
dr_check_router_arp() {
    local rt_mac
    rt_mac="$(ip -n "$RT" neigh show "$VIP" dev r-lan | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')"
    [ "$rt_mac" = "$DIR_MAC" ] || die "router's neighbour entry for $VIP is '$rt_mac', expected the director's $DIR_MAC"
    log "ok: router has $VIP at $rt_mac (the director's MAC)"
}

lab_diagnostics() {
    if [ -f "$TMP/director.nft" ] && [ -n "${DIR:-}" ]; then
        echo "--- director nftables ruleset"
        ip netns exec "$DIR" nft list ruleset 2>/dev/null
    fi
    if [ -f "$TMP/cap.pcap" ]; then
        echo "--- capture on the director's port (first 40 packets)"
        tcpdump -r "$TMP/cap.pcap" -nn -e 2>/dev/null | head -40
    fi
}
