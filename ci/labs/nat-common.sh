# shellcheck shell=bash
# The NAT lab's topology and directors, shared by nat.sh, nat2w.sh and bench/kernel/. Source it
# after lib.sh and lab_init.
#
#   client 198.18.0.2/24 (gw .0.1)
#     eth0 ── outside  [director: 198.18.0.1, VIP 198.18.0.100]  inside 198.18.1.1/24
#                                                                    │
#                                          switch: br0 ── p-dir ─────┘
#                                                   ├── p-rs1 ── eth0 RS1 198.18.1.10/24 (gw .1.1)
#                                                   └── p-rs2 ── eth0 RS2 198.18.1.20/24 (gw .1.1)

CIP=198.18.0.2
VIP=198.18.0.100
RIP1=198.18.1.10
RIP2=198.18.1.20

# nat_topology: the namespaces CL, DIR, SW, RS1, RS2 (named ${UNIQ}-<lab>-<role>), their links
# and addresses. The director's ports carry no kernel address (nat_director_* give them one).
nat_topology() {
    CL="${UNIQ}-${LAB_NAME}-client"
    DIR="${UNIQ}-${LAB_NAME}-director"
    SW="${UNIQ}-${LAB_NAME}-switch"
    RS1="${UNIQ}-${LAB_NAME}-rs1"
    RS2="${UNIQ}-${LAB_NAME}-rs2"

    log "topology: client -- director(outside|inside) -- switch bridge -- RS1, RS2"
    local ns
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
}

# nat_director_kernel: the director namespace's kernel as a NAT router: it owns the DIP-side
# addresses and the VIP (so it answers the client's ARP for the VIP), and DNATs new connections
# to the VIP round-robin (numgen inc mod 2 is evaluated once per connection: conntrack remembers
# the choice for the rest of the flow). Ruleset in $TMP/director.nft.
nat_director_kernel() {
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
}

# nat_director_ipvs: the director namespace's kernel IPVS (ipvsadm -m, rr), for kernels that have
# it (bench/kernel/ prefers it to nftables when `modprobe ip_vs` works).
nat_director_ipvs() {
    ip -n "$DIR" addr add 198.18.0.1/24 dev outside
    ip -n "$DIR" addr add "$VIP/32" dev outside
    ip -n "$DIR" addr add 198.18.1.1/24 dev inside
    ip netns exec "$DIR" sysctl -qw net.ipv4.ip_forward=1
    ip netns exec "$DIR" ipvsadm -A -t "$VIP:80" -s rr
    ip netns exec "$DIR" ipvsadm -a -t "$VIP:80" -r "$RIP1:80" -m -w 1
    ip netns exec "$DIR" ipvsadm -a -t "$VIP:80" -r "$RIP2:80" -m -w 1
    ip netns exec "$DIR" ipvsadm -S -n >"$TMP/director.ipvs"
    log "director: kernel IPVS (ipvsadm rr, -m)"
}

# nat_rvsd_toml FILE [WORKERS] [QPAIRS] [IDLE_SLEEP_US]: rvsd's configuration for the NAT lab.
# rvsd owns every address of the director; its veth ends carry none in the kernel.
nat_rvsd_toml() {
    local f="$1" workers="${2:-1}" qpairs="${3:-1}" idle="${4:-20}"
    cat >"$f" <<EOF
workers = $workers
idle_sleep_us = $idle

[[ports]]
name = "outside"
device = "net_af_packet0"
args = "iface=outside,qpairs=$qpairs"
addresses = ["198.18.0.1/24"]

[[ports]]
name = "inside"
device = "net_af_packet1"
args = "iface=inside,qpairs=$qpairs"
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
}

lab_diagnostics() {
    if [ -f "$TMP/director.nft" ] && [ -n "${DIR:-}" ]; then
        echo "--- director nftables ruleset"
        ip netns exec "$DIR" nft list ruleset 2>/dev/null
    fi
}
