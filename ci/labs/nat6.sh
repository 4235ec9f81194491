#!/usr/bin/env bash
# The NAT lab (LVS.md lab 1) over IPv6, with addresses from the benchmarking range 2001:2::/48
# (RFC 5180), the IPv6 counterpart of 198.18.0.0/15:
#
#   client 2001:2::2/64 (gw 2001:2::1)
#     eth0 ── outside [director 2001:2::1/64, VIP 2001:2::100]  inside 2001:2:0:1::1/64
#                                                                    │
#                                          switch: br0 ── p-dir ─────┘
#                                                   ├── p-rs1 ── eth0 RS1 2001:2:0:1::10/64 (gw ::1)
#                                                   └── p-rs2 ── eth0 RS2 2001:2:0:1::20/64 (gw ::1)
#
# IPv6 is on in every namespace (LAB_IPV6=1) with duplicate address detection off, so addresses
# are usable at once; IPv4 carries nothing. In rvsd mode the director's ports have IPv6 off in the
# kernel (rvsd answers neighbour solicitations itself).
#
# Checks: four `curl -6` to http://[2001:2::100]/ alternate RS1/RS2; each RS saw 2001:2::2.
#
# rvsd keys (issue 3 item 8): IPv6 prefixes in ports[].addresses, "[VIP]:port" service address,
# "[RIP]:port" real servers. DIRECTOR=kernel: ip6 nftables dnat numgen inc mod 2.
#
# SYNPROXY=1 (rvsd only; ci/labs/nat6-synproxy.sh) runs the same checks with `synproxy = true`
# on the service, and rvsd's counters must show a proxied handshake per curl.
#
# Env: DIRECTOR=rvsd|kernel (default rvsd), RVSD, LAB_KEEP, CURL_MAX_TIME, RVSD_READY_TIMEOUT,
# SYNPROXY=0|1.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LAB_IPV6=1
SYNPROXY="${SYNPROXY:-0}"
if [ "$SYNPROXY" = 1 ]; then
    lab_init nat6-synproxy
    [ "$DIRECTOR" = rvsd ] || die "SYNPROXY=1 needs DIRECTOR=rvsd"
else
    lab_init nat6
fi

CIP=2001:2::2
VIP=2001:2::100
RIP1=2001:2:0:1::10
RIP2=2001:2:0:1::20

CL="${UNIQ}-nat6-client"
DIR="${UNIQ}-nat6-director"
SW="${UNIQ}-nat6-switch"
RS1="${UNIQ}-nat6-rs1"
RS2="${UNIQ}-nat6-rs2"

log "topology: client -- director(outside|inside) -- switch bridge -- RS1, RS2 (IPv6)"
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
# The switch's ports are only bridge ports.
for p in p-dir p-rs1 p-rs2; do
    ipv6_off "$SW" "$p"
done

ip -n "$CL" -6 addr add "$CIP/64" dev eth0 nodad
ip -n "$CL" -6 route add default via 2001:2::1
ip -n "$RS1" -6 addr add "$RIP1/64" dev eth0 nodad
ip -n "$RS1" -6 route add default via 2001:2:0:1::1
ip -n "$RS2" -6 addr add "$RIP2/64" dev eth0 nodad
ip -n "$RS2" -6 route add default via 2001:2:0:1::1

http_server "$RS1" RS1
http_server "$RS2" RS2
log "http servers up: RS1 on [$RIP1]:80, RS2 on [$RIP2]:80"

lab_diagnostics() {
    if [ "$DIRECTOR" = kernel ]; then
        echo "--- director nftables ruleset"
        ip netns exec "$DIR" nft list ruleset 2>/dev/null
    fi
    local ns
    for ns in "$CL" "$DIR" "$RS1" "$RS2"; do
        echo "--- $ns: IPv6 routes and neighbours"
        ip -n "$ns" -6 route 2>/dev/null
        ip -n "$ns" -6 neigh 2>/dev/null
    done
}

case "$DIRECTOR" in
    kernel)
        ip -n "$DIR" -6 addr add 2001:2::1/64 dev outside nodad
        ip -n "$DIR" -6 addr add "$VIP/128" dev outside nodad
        ip -n "$DIR" -6 addr add 2001:2:0:1::1/64 dev inside nodad
        ip netns exec "$DIR" sysctl -qw net.ipv6.conf.all.forwarding=1
        cat >"$TMP/director.nft" <<EOF
table ip6 lab_nat6 {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        ip6 daddr $VIP tcp dport 80 counter dnat to numgen inc mod 2 map { 0 : $RIP1, 1 : $RIP2 }
    }
}
EOF
        ip netns exec "$DIR" nft -f "$TMP/director.nft"
        log "director: kernel NAT over IPv6 (nftables ip6 dnat numgen inc mod 2)"
        ;;
    rvsd)
        ipv6_off "$DIR" outside
        ipv6_off "$DIR" inside
        cat >"$TMP/rvsd.toml" <<EOF
workers = 1
idle_sleep_us = 20

[[ports]]
name = "outside"
device = "net_af_packet0"
args = "iface=outside,qpairs=1"
addresses = ["2001:2::1/64"]

[[ports]]
name = "inside"
device = "net_af_packet1"
args = "iface=inside,qpairs=1"
addresses = ["2001:2:0:1::1/64"]

[[services]]
protocol = "tcp"
address = "[$VIP]:80"
scheduler = "rr"
synproxy = $([ "$SYNPROXY" = 1 ] && echo true || echo false)

[[services.real_servers]]
address = "[$RIP1]:80"
method = "nat"
weight = 1

[[services.real_servers]]
address = "[$RIP2]:80"
method = "nat"
weight = 1
EOF
        start_rvsd "$DIR" "$TMP/rvsd.toml"
        ;;
esac

log "check: 4 curls -6 from the client to http://[$VIP]/ alternate RS1/RS2 (rr, NAT, IPv6)"
CURL_OPTS=(-6)
results=()
curl_n "$CL" "http://[$VIP]/" 4 results
assert_alternation RS1 RS2 "${results[@]}"

log "check: each RS saw the client address $CIP"
assert_rs_saw RS1 "$CIP"
assert_rs_saw RS2 "$CIP"

if [ "$DIRECTOR" = rvsd ]; then
    stop_rvsd
fi
if [ "$SYNPROXY" = 1 ]; then
    line="$(grep '^synproxy: ' "$RVSD_LOG" | tail -n 1)"
    log "rvsd: $line"
    handshakes="$(sed -n 's/.* handshakes \([0-9]*\) .*/\1/p' <<<"$line")"
    if [ -z "$handshakes" ] || [ "$handshakes" -lt 4 ]; then
        die "expected a proxied handshake per curl, rvsd counted: ${line:-no synproxy line}"
    fi
fi
pass
