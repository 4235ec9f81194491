#!/usr/bin/env bash
# LVS.md lab 5, FullNAT: the real servers sit on two subnets behind a router (standing for VLANs
# the director is not on) and their default gateway is the router, not the director; the router
# has no route to the client network. The director rewrites CIP:cport->VIP:80 into
# LIP:lport->RIP:80 and the replies RIP->LIP back into VIP->CIP, so the RSs need no route to the
# client; the client's address reaches the RS in the TOA TCP option of the SYN.
#
#   client 198.18.0.2/24 (gw .0.1)
#     eth0 ── outside [director 198.18.0.1/24, VIP 198.18.0.100 | inside 198.18.1.2/24, LIP 198.18.1.3]
#                                                                   │
#                      router r-dir 198.18.1.254/24 ────────────────┘
#                      router r-rs1 198.18.2.254/24 ── eth0 RS1 198.18.2.10/24 (gw .2.254)
#                      router r-rs2 198.18.3.254/24 ── eth0 RS2 198.18.3.20/24 (gw .3.254)
#
# Checks: four curls (client ports 41000-41099) to http://198.18.0.100/ alternate RS1/RS2; each
# RS's access log shows the LIP 198.18.1.3 as the peer; a capture on the director's inside link
# holds RS->LIP replies (they return through the director) and never the client address; captures
# on the RSs show every SYN from the LIP, and (rvsd) each carries TOA = 198.18.0.2:<the client's
# port> with the MSS lowered to leave room for it (<= 1452), decoded by ci/labs/pcap-toa.py.
#
# rvsd keys (issue 3 item 1): ports[].local_addresses = ["198.18.1.3"], method = "fullnat".
# DIRECTOR=kernel: nftables dnat (numgen inc mod 2) + snat to the LIP; no TOA (that check is
# skipped with a note).
#
# SYNPROXY=1 (rvsd only; ci/labs/fullnat-synproxy.sh) runs the same checks with `synproxy = true`
# on the service: the SYN the RSs see is then the director's, made on the client's cookie ACK,
# and rvsd's counters must show a proxied handshake per curl.
#
# Env: DIRECTOR=rvsd|kernel (default rvsd), RVSD, LAB_KEEP, CURL_MAX_TIME, RVSD_READY_TIMEOUT,
# SYNPROXY=0|1.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SYNPROXY="${SYNPROXY:-0}"
if [ "$SYNPROXY" = 1 ]; then
    lab_init fullnat-synproxy
    [ "$DIRECTOR" = rvsd ] || die "SYNPROXY=1 needs DIRECTOR=rvsd"
else
    lab_init fullnat
fi

CIP=198.18.0.2
VIP=198.18.0.100
LIP=198.18.1.3
RIP1=198.18.2.10
RIP2=198.18.3.20
CPORTS=41000-41099

CL="${UNIQ}-fullnat-client"
DIR="${UNIQ}-fullnat-director"
RT="${UNIQ}-fullnat-router"
RS1="${UNIQ}-fullnat-rs1"
RS2="${UNIQ}-fullnat-rs2"

python3 "$LAB_DIR/pcap-toa.py" --self-test >/dev/null || die "pcap-toa.py --self-test failed: the TOA decoder is broken"

log "topology: client -- director(outside|inside) -- router -- RS1 (198.18.2.0/24), RS2 (198.18.3.0/24)"
for ns in "$CL" "$DIR" "$RT" "$RS1" "$RS2"; do
    ns_add "$ns"
done
veth "$CL" eth0 "$DIR" outside
veth "$DIR" inside "$RT" r-dir
veth "$RS1" eth0 "$RT" r-rs1
veth "$RS2" eth0 "$RT" r-rs2

ip -n "$CL" addr add "$CIP/24" dev eth0
ip -n "$CL" route add default via 198.18.0.1

# The router knows the director's subnet and the two RS subnets, and nothing of 198.18.0.0/24:
# a reply that still carried the client's address would be dropped here.
ip -n "$RT" addr add 198.18.1.254/24 dev r-dir
ip -n "$RT" addr add 198.18.2.254/24 dev r-rs1
ip -n "$RT" addr add 198.18.3.254/24 dev r-rs2
ip netns exec "$RT" sysctl -qw net.ipv4.ip_forward=1

ip -n "$RS1" addr add "$RIP1/24" dev eth0
ip -n "$RS1" route add default via 198.18.2.254
ip -n "$RS2" addr add "$RIP2/24" dev eth0
ip -n "$RS2" route add default via 198.18.3.254

http_server "$RS1" RS1
http_server "$RS2" RS2
log "http servers up: RS1 on $RIP1:80, RS2 on $RIP2:80"

lab_diagnostics() {
    if [ -f "$TMP/director.nft" ]; then
        echo "--- director nftables ruleset"
        ip netns exec "$DIR" nft list ruleset 2>/dev/null
    fi
    local f
    for f in "$TMP"/*.pcap; do
        [ -f "$f" ] || continue
        echo "--- $(basename "$f") (first 30 packets)"
        tcpdump -r "$f" -nn -v 2>/dev/null | head -60
    done
}

case "$DIRECTOR" in
    kernel)
        ip -n "$DIR" addr add 198.18.0.1/24 dev outside
        ip -n "$DIR" addr add "$VIP/32" dev outside
        ip -n "$DIR" addr add 198.18.1.2/24 dev inside
        ip -n "$DIR" addr add "$LIP/24" dev inside
        ip -n "$DIR" route add 198.18.2.0/23 via 198.18.1.254
        ip netns exec "$DIR" sysctl -qw net.ipv4.ip_forward=1
        cat >"$TMP/director.nft" <<EOF
table ip lab_fullnat {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr $VIP tcp dport 80 counter dnat to numgen inc mod 2 map { 0 : $RIP1, 1 : $RIP2 }
    }
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "inside" ip daddr { $RIP1, $RIP2 } tcp dport 80 counter snat to $LIP
    }
}
EOF
        ip netns exec "$DIR" nft -f "$TMP/director.nft"
        log "director: kernel, nftables dnat numgen inc mod 2 + snat to the LIP $LIP (no TOA)"
        ;;
    rvsd)
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
addresses = ["198.18.1.2/24"]
local_addresses = ["$LIP"]

[[routes]]
prefix = "198.18.2.0/23"
via = "198.18.1.254"
port = "inside"

[[services]]
protocol = "tcp"
address = "$VIP:80"
scheduler = "rr"
synproxy = $([ "$SYNPROXY" = 1 ] && echo true || echo false)

[[services.real_servers]]
address = "$RIP1:80"
method = "fullnat"
weight = 1

[[services.real_servers]]
address = "$RIP2:80"
method = "fullnat"
weight = 1
EOF
        start_rvsd "$DIR" "$TMP/rvsd.toml"
        ;;
esac

# Captures: the director's inside link at the router's end (r-dir: rvsd's net_af_packet sends
# with PACKET_QDISC_BYPASS, which skips the packet taps, so a tcpdump on the director's own
# interface would miss everything rvsd sends), and each RS's eth0 (the TOA is read from the SYN
# the RS received). Options as in dr-common.sh (--immediate-mode, -Z root, .pcap).
CAP_PIDS=()
capture() {
    local ns="$1" dev="$2" name="$3"
    ip netns exec "$ns" tcpdump -i "$dev" -nn -U --immediate-mode -Z root -w "$TMP/$name.pcap" "tcp or icmp" >"$TMP/tcpdump-$name.err" 2>&1 &
    CAP_PIDS+=("$!")
    PIDS+=("$!")
    wait_for 10 "tcpdump on $name" grep -q "listening on" "$TMP/tcpdump-$name.err"
}
capture "$RT" r-dir inside
capture "$RS1" eth0 rs1
capture "$RS2" eth0 rs2

log "check: 4 curls from the client (ports $CPORTS) to http://$VIP/ alternate RS1/RS2 (rr, FullNAT)"
CURL_OPTS=(--local-port "$CPORTS")
results=()
curl_n "$CL" "http://$VIP/" 4 results
sleep 0.5
for pid in "${CAP_PIDS[@]}"; do
    stop_pid "$pid" 5
done
assert_alternation RS1 RS2 "${results[@]}"

log "check: each RS saw the LIP $LIP as the peer, never the client"
assert_rs_saw RS1 "$LIP"
assert_rs_saw RS2 "$LIP"
if grep -q "^$CIP " "$TMP/http-RS1.log" "$TMP/http-RS2.log"; then
    die "an RS saw the client address $CIP directly: not FullNAT"
fi

log "check: replies return through the director (RS->LIP on its inside link), the CIP never appears there"
count() { tcpdump -r "$TMP/inside.pcap" -nn "$1" 2>/dev/null | wc -l; }
back1="$(count "src host $RIP1 and tcp src port 80 and dst host $LIP")"
back2="$(count "src host $RIP2 and tcp src port 80 and dst host $LIP")"
cip_inside="$(count "host $CIP")"
log "inside link capture: RS1->LIP $back1, RS2->LIP $back2, packets with the client address $cip_inside"
[ "$back1" -gt 0 ] || die "no RS1->LIP reply packets on the director's inside link"
[ "$back2" -gt 0 ] || die "no RS2->LIP reply packets on the director's inside link"
[ "$cip_inside" -eq 0 ] || die "$cip_inside packets with the client address $CIP on the inside: not FullNAT"
log "ok: replies came back to the LIP through the director"

log "check: the SYNs the RSs received come from the LIP and carry TOA = $CIP:<client port in $CPORTS>"
syn_total=0
for rs in rs1 rs2; do
    python3 "$LAB_DIR/pcap-toa.py" "$TMP/$rs.pcap" --dport 80 >"$TMP/toa-$rs.out" 2>&1 ||
        die "pcap-toa.py could not read $rs.pcap: $(cat "$TMP/toa-$rs.out")"
    while read -r _ src _ _ mss toa; do
        log "$rs: SYN from $src $mss $toa"
        syn_total=$((syn_total + 1))
        [ "${src%:*}" = "$LIP" ] || die "$rs received a SYN from $src, not from the LIP $LIP"
        if [ "$DIRECTOR" = rvsd ]; then
            toa_ip="${toa#toa=}"
            toa_port="${toa_ip##*:}"
            toa_ip="${toa_ip%:*}"
            [ "$toa_ip" = "$CIP" ] || die "$rs: SYN from $src carries $toa, expected TOA with the client address $CIP"
            ((toa_port >= ${CPORTS%-*} && toa_port <= ${CPORTS#*-})) ||
                die "$rs: TOA port $toa_port is not the client's (curl used $CPORTS)"
            mss_v="${mss#mss=}"
            if [ "$mss_v" = none ] || ((mss_v > 1452)); then
                die "$rs: SYN $mss: the MSS must be lowered by the TOA's 8 bytes (<= 1452 on a 1500-byte path)"
            fi
        fi
    done <"$TMP/toa-$rs.out"
done
[ "$syn_total" -ge 4 ] || die "only $syn_total SYNs captured on the RSs, expected at least 4"
if [ "$DIRECTOR" = rvsd ]; then
    log "ok: every SYN at the RSs came from the LIP with TOA = $CIP:<client port> and a lowered MSS"
else
    log "ok: every SYN at the RSs came from the LIP (TOA not checked: the kernel's SNAT adds none)"
fi

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
