#!/usr/bin/env bash
# LVS.md lab 1, NAT: the client reaches VIP 198.18.0.100:80 on the director's outside port; the
# director rewrites CIP->VIP into CIP->RIP towards RS1 198.18.1.10 or RS2 198.18.1.20 (rr), and the
# replies come back through the director (the RSs' default gateway is its inside address
# 198.18.1.1), which rewrites RIP->CIP into VIP->CIP.
#
#   client 198.18.0.2/24 (gw .0.1)
#     eth0 ── outside  [director: 198.18.0.1, VIP 198.18.0.100]  inside 198.18.1.1/24
#                                                                    │
#                                          switch: br0 ── p-dir ─────┘
#                                                   ├── p-rs1 ── eth0 RS1 198.18.1.10/24 (gw .1.1)
#                                                   └── p-rs2 ── eth0 RS2 198.18.1.20/24 (gw .1.1)
#
# Checks: four curls from the client to http://198.18.0.100/ answer RS1 and RS2 alternately, and
# each RS saw the real client address 198.18.0.2.
#
# Env: DIRECTOR=rvsd|kernel (default rvsd), RVSD=path to the binary, LAB_KEEP=1 keeps the
# temporary directory, CURL_MAX_TIME, RVSD_READY_TIMEOUT.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

lab_init nat

CIP=198.18.0.2
VIP=198.18.0.100
RIP1=198.18.1.10
RIP2=198.18.1.20

CL="${UNIQ}-nat-client"
DIR="${UNIQ}-nat-director"
SW="${UNIQ}-nat-switch"
RS1="${UNIQ}-nat-rs1"
RS2="${UNIQ}-nat-rs2"

log "topology: client -- director(outside|inside) -- switch bridge -- RS1, RS2"
for ns in "$CL" "$DIR" "$SW" "$RS1" "$RS2"; do
    ns_add "$ns"
done

veth "$CL" eth0 "$DIR" outside
veth "$DIR" inside "$SW" p-dir
bridge "$SW" br0
bridge_port "$SW" br0 p-dir
veth "$RS1" eth0 "$SW" p-rs1
bridge_port "$SW" br0 p-rs1
veth "$RS2" eth0 "$SW" p-rs2
bridge_port "$SW" br0 p-rs2

ip -n "$CL" addr add "$CIP/24" dev eth0
ip -n "$CL" route add default via 198.18.0.1
ip -n "$RS1" addr add "$RIP1/24" dev eth0
ip -n "$RS1" route add default via 198.18.1.1
ip -n "$RS2" addr add "$RIP2/24" dev eth0
ip -n "$RS2" route add default via 198.18.1.1

http_server "$RS1" RS1
http_server "$RS2" RS2
log "http servers up: RS1 on $RIP1:80, RS2 on $RIP2:80"

lab_diagnostics() {
    if [ "$DIRECTOR" = kernel ]; then
        echo "--- director nftables ruleset"
        ip netns exec "$DIR" nft list ruleset 2>/dev/null
    fi
}

case "$DIRECTOR" in
    kernel)
        # The director namespace's kernel as a NAT router: it owns the DIP-side addresses and the
        # VIP (so it answers the client's ARP for the VIP), and DNATs new connections to the VIP
        # round-robin (numgen inc mod 2 is evaluated once per connection: conntrack remembers it).
        ip -n "$DIR" addr add 198.18.0.1/24 dev outside
        ip -n "$DIR" addr add "$VIP/32" dev outside
        ip -n "$DIR" addr add 198.18.1.1/24 dev inside
        ip netns exec "$DIR" sysctl -qw net.ipv4.ip_forward=1
        cat >"$TMP/director.nft" <<EOF
table ip lab_nat {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr $VIP tcp dport 80 counter dnat to numgen inc mod 2 map { 0 : $RIP1, 1 : $RIP2 }
    }
}
EOF
        ip netns exec "$DIR" nft -f "$TMP/director.nft"
        log "director: kernel NAT (nftables dnat numgen inc mod 2)"
        ;;
    rvsd)
        # rvsd owns every address of the director; its veth ends carry none in the kernel.
        cat >"$TMP/rvsd.toml" <<EOF
workers = 1
idle_sleep_us = 20

[[ports]]
name = "outside"
device = "net_af_packet0"
args = "iface=outside,qpairs=1"
addresses = ["198.18.0.1/24"]

[[ports]]
name = "inside"
device = "net_af_packet1"
args = "iface=inside,qpairs=1"
addresses = ["198.18.1.1/24"]

[[services]]
protocol = "tcp"
address = "$VIP:80"
scheduler = "rr"

[[services.real_servers]]
address = "$RIP1:80"
method = "nat"
weight = 1

[[services.real_servers]]
address = "$RIP2:80"
method = "nat"
weight = 1
EOF
        start_rvsd "$DIR" "$TMP/rvsd.toml"
        ;;
esac

log "check: 4 curls from the client to http://$VIP/ alternate RS1/RS2 (rr, NAT)"
results=()
curl_n "$CL" "http://$VIP/" 4 results
assert_alternation RS1 RS2 "${results[@]}"

log "check: each RS saw the client address $CIP (NAT rewrites only the destination)"
assert_rs_saw RS1 "$CIP"
assert_rs_saw RS2 "$CIP"

if [ "$DIRECTOR" = rvsd ]; then
    stop_rvsd
fi
pass
