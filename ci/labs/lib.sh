# shellcheck shell=bash
# Shared functions for the LVS.md labs: hosts are network namespaces joined by veth pairs (and a
# bridge inside a "switch" namespace where a shared L2 segment is needed), the real servers are
# real HTTP servers, the client is real curl, and the director is either rvsd attached to its veth
# ends through net_af_packet (DIRECTOR=rvsd) or the director namespace's own kernel doing the same
# job with nftables (DIRECTOR=kernel), which validates the topology without rvsd.
#
# Isolation rules this file keeps:
# - Only addresses in 198.18.0.0/15 (the benchmarking range), only inside namespaces created here.
# - Nothing is added to the root namespace: every veth is created inside a lab namespace and its
#   peer is created directly inside the other one (`ip -n A link add ... peer ... netns B`), so
#   interface names are private to a run's namespaces; namespace names carry a per-run prefix.
# - Every process started here is recorded by PID and killed on every exit path, then the
#   namespaces are deleted (trap on EXIT, INT, TERM).
# - Every wait and every piece of traffic is bounded in count and in time.
#
# Source it from a lab script, then call lab_init "<lab name>".

set -euo pipefail

LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$LAB_DIR/../.." && pwd)"

DIRECTOR="${DIRECTOR:-rvsd}"
RVSD="${RVSD:-$REPO/target/release/rvsd}"
RVSD_READY_TIMEOUT="${RVSD_READY_TIMEOUT:-30}"
CURL_MAX_TIME="${CURL_MAX_TIME:-5}"
LAB_KEEP="${LAB_KEEP:-0}"
# EAL --lcores for rvsd: the main lcore plus one per worker. A lab with workers = 2 on this
# 2-core machine maps 3 lcores onto the 2 CPUs: "(0-2)@(0-1)".
RVSD_LCORES="${RVSD_LCORES:-0-1}"
# A lab sets LAB_IPV6=1 before creating namespaces to keep IPv6 on (DAD off, so addresses are
# usable at once); by default IPv6 is disabled everywhere so no stray NDP/MLD reaches the director.
LAB_IPV6="${LAB_IPV6:-0}"
# Extra curl options for curl_n (a lab sets e.g. CURL_OPTS=(-k) for HTTPS, (-6) for IPv6).
CURL_OPTS=()

# Per-run unique prefix: PID plus 16 random bits, so two concurrent runs never share a name.
UNIQ="${LAB_PREFIX:-rvs$$$(printf '%04x' "$((RANDOM % 65536))")}"

LAB_NAME=""
TMP=""
NAMESPACES=()
PIDS=()
RVSD_PID=""
RVSD_LOG=""
FAILED=0
CLEANED=0

log() { printf '[%s] %s\n' "$LAB_NAME" "$*"; }
die() {
    printf '[%s] FAIL: %s\n' "$LAB_NAME" "$*" >&2
    FAILED=1
    exit 1
}

# check_prereqs: root, the tools the labs drive, and the director we were asked to use.
check_prereqs() {
    if [ "$(id -u)" -ne 0 ]; then
        die "must run as root (it creates network namespaces)"
    fi
    local missing=() t
    for t in ip ethtool curl tcpdump nft python3 timeout sysctl; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        die "missing tools: ${missing[*]} (run ci/setup.sh; Debian packages iproute2 ethtool curl tcpdump nftables python3 procps coreutils)"
    fi
    case "$DIRECTOR" in
        rvsd)
            [ -x "$RVSD" ] || die "DIRECTOR=rvsd but no executable at RVSD=$RVSD (build it with 'cargo build --release -p rvsd' or set RVSD=/path/to/rvsd)"
            ;;
        kernel) ;;
        *) die "DIRECTOR must be 'rvsd' or 'kernel', not '$DIRECTOR'" ;;
    esac
}

# lab_init NAME: prerequisites, a private temporary directory and the cleanup traps.
lab_init() {
    LAB_NAME="$1"
    check_prereqs
    TMP="$(mktemp -d "/tmp/${UNIQ}-${LAB_NAME}.XXXXXX")"
    trap cleanup EXIT
    trap 'FAILED=1; exit 130' INT
    trap 'FAILED=1; exit 143' TERM
    log "director=$DIRECTOR prefix=$UNIQ tmp=$TMP"
}

# stop_pid PID GRACE_SECONDS: SIGTERM, wait up to GRACE, then SIGKILL. Only PIDs we started.
stop_pid() {
    local pid="$1" grace="${2:-5}" i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    [ "$CLEANED" -eq 1 ] && return 0
    CLEANED=1
    trap - EXIT INT TERM
    set +e
    [ "$rc" -ne 0 ] && FAILED=1
    if [ -n "$RVSD_PID" ]; then
        # Quietly: on failure the diagnostics below print the whole log, counters included.
        stop_rvsd quiet
    fi
    local pid ns
    for pid in "${PIDS[@]}"; do
        stop_pid "$pid" 3
    done
    if [ "$FAILED" -ne 0 ]; then
        dump_diagnostics
        if declare -F lab_diagnostics >/dev/null; then
            lab_diagnostics
        fi
    fi
    for ns in "${NAMESPACES[@]}"; do
        # Anything still running in a namespace of this run was started by this run.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null
        done
        ip netns del "$ns" 2>/dev/null
    done
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then
        if [ "$LAB_KEEP" = "1" ]; then
            log "kept $TMP"
        else
            rm -rf "$TMP"
        fi
    fi
    if [ "$FAILED" -ne 0 ]; then
        log "RESULT: FAIL"
        exit 1
    fi
    exit "$rc"
}

# dump_diagnostics: everything a failed CI run needs to be understood without a rerun.
dump_diagnostics() {
    local f ns
    echo "----- diagnostics ($LAB_NAME) -----"
    for f in "$TMP"/*.log "$TMP"/*.err "$TMP"/*.toml "$TMP"/*.nft; do
        [ -f "$f" ] || continue
        echo "--- $(basename "$f") (last 80 lines)"
        tail -n 80 "$f"
    done
    for ns in "${NAMESPACES[@]}"; do
        ip netns list 2>/dev/null | grep -q "^$ns\b" || continue
        echo "--- $ns: addresses, routes, neighbours"
        ip -n "$ns" -br addr 2>/dev/null
        ip -n "$ns" route 2>/dev/null
        ip -n "$ns" neigh 2>/dev/null
        ip -n "$ns" -br link 2>/dev/null
    done
    echo "----- end diagnostics -----"
}

# wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.2 s until it succeeds or time runs out.
wait_for() {
    local secs="$1" what="$2"
    shift 2
    local deadline=$((SECONDS + secs))
    while ((SECONDS < deadline)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    die "timed out after ${secs}s waiting for $what"
}

# ns_add NAME: create namespace NAME (callers use "${UNIQ}-<role>"), lo up, IPv6 off (or, with
# LAB_IPV6=1, on with duplicate address detection off for every interface created later).
ns_add() {
    local ns="$1" k
    ip netns add "$ns"
    NAMESPACES+=("$ns")
    ip -n "$ns" link set lo up
    if [ "$LAB_IPV6" = 1 ]; then
        for k in all default; do
            ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$k.disable_ipv6=0"
            ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$k.accept_dad=0"
            # No router advertisements: routes are static, as everywhere in the labs.
            ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$k.accept_ra=0"
        done
    else
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
    fi
}

# ipv6_off NS DEV: IPv6 off on one interface of an IPv6 lab (a director port that rvsd owns: the
# namespace's kernel must not answer neighbour solicitations or send its own NDP/MLD there).
ipv6_off() {
    ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
}

# no_offloads NS DEV: software checksums and no segmentation offloads on a veth end, so that
# AF_PACKET readers (rvsd's net_af_packet) and servers see complete, correctly summed frames.
no_offloads() {
    ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 ||
        ip netns exec "$1" ethtool -K "$2" tx off gso off gro off >/dev/null
}

# veth NS_A DEV_A NS_B DEV_B: a veth pair created inside NS_A with its peer born inside NS_B,
# both ends up, offloads off, IPv6 off (unless LAB_IPV6=1).
veth() {
    local na="$1" da="$2" nb="$3" db="$4"
    ip -n "$na" link add "$da" type veth peer name "$db" netns "$nb"
    veth_end_up "$na" "$da"
    veth_end_up "$nb" "$db"
}

veth_end_up() {
    if [ "$LAB_IPV6" = 1 ]; then
        ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.accept_dad=0"
    else
        ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" 2>/dev/null || true
    fi
    no_offloads "$1" "$2"
    ip -n "$1" link set "$2" up
}

# bridge NS BR: a bridge inside NS (the lab's switch), STP off so ports forward at once.
bridge() {
    ip -n "$1" link add "$2" type bridge stp_state 0 forward_delay 0
    # A bridge's own IPv6 (link-local, MLD) is never needed: it carries no address in the labs.
    ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" 2>/dev/null || true
    # No MLD snooping: rvsd's ports send no MLD reports, and neighbour solicitations for its
    # addresses must still be flooded to them.
    ip -n "$1" link set "$2" type bridge mcast_snooping 0
    ip -n "$1" link set "$2" up
}

# bridge_port NS BR DEV: enslave DEV to BR.
bridge_port() {
    ip -n "$1" link set "$3" master "$2"
}

# mac_of NS DEV
mac_of() {
    ip -n "$1" -br link show dev "$2" | awk '{print $3}'
}

# http_server NS NAME: ci/labs/httpd.py (python's http.server with a larger listen backlog) on
# port 80 of every address (so a VIP on lo works too; every IPv6 address with LAB_IPV6=1),
# answering NAME to any GET; access log in $TMP/http-NAME.log. Waits until it answers locally.
http_server() {
    start_httpd "$1" "$2" 80 "$TMP/http-$2.log"
}

# https_server NS NAME: the same on port 443 with TLS (a self-signed certificate made once per
# run in $TMP), access log in $TMP/https-NAME.log.
https_server() {
    if [ ! -f "$TMP/cert.pem" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=rs -days 1 \
            -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >"$TMP/openssl.out" 2>&1 ||
            die "openssl could not make a self-signed certificate: $(cat "$TMP/openssl.out")"
    fi
    start_httpd "$1" "$2" 443 "$TMP/https-$2.log" --cert "$TMP/cert.pem" --key "$TMP/key.pem"
}

# start_httpd NS NAME PORT LOG [httpd.py options...]
start_httpd() {
    local ns="$1" name="$2" port="$3" logf="$4" bind=0.0.0.0
    shift 4
    [ "$LAB_IPV6" = 1 ] && bind=::
    ip netns exec "$ns" python3 "$LAB_DIR/httpd.py" --name "$name" --bind "$bind" --port "$port" "$@" \
        >>"$logf" 2>&1 &
    PIDS+=("$!")
    wait_for 10 "http server $name on port $port in $ns" http_answers "$ns" "$name" "$port"
    # The readiness probe came from the loopback address; start the access log fresh for the
    # lab's checks (the server writes with O_APPEND, so truncating leaves no hole).
    : >"$logf"
}

# http_answers NS NAME [PORT]: the server in NS answers NAME on the loopback address.
http_answers() {
    local out url host=127.0.0.1
    [ "$LAB_IPV6" = 1 ] && host='[::1]'
    case "${3:-80}" in
        443) url="https://$host/" ;;
        *) url="http://$host:${3:-80}/" ;;
    esac
    out="$(ip netns exec "$1" curl -gks --max-time 1 "$url")" || return 1
    [ "$out" = "$2" ]
}

# start_rvsd NS TOML: run rvsd in the director namespace, wait for "rvsd ready" (bounded).
start_rvsd() {
    local ns="$1" toml="$2"
    RVSD_LOG="$TMP/rvsd.log"
    # Each run's own control socket, so that labs never meet another rvsd's (the default
    # /run/rvsd/rvsd.sock is one per host).
    if ! grep -q '^\[control\]' "$toml"; then
        printf '\n[control]\nsocket = "%s"\n' "$TMP/rvsd.sock" >>"$toml"
    fi
    log "starting $RVSD --config $toml in $ns"
    ip netns exec "$ns" "$RVSD" --config "$toml" -- --lcores "$RVSD_LCORES" --no-huge -m 512 --no-shconf --no-pci --no-telemetry \
        --file-prefix "$UNIQ" --log-level=lib.eal:warning >"$RVSD_LOG" 2>&1 &
    RVSD_PID=$!
    local deadline=$((SECONDS + RVSD_READY_TIMEOUT))
    while ! grep -q 'rvsd ready' "$RVSD_LOG"; do
        if ! kill -0 "$RVSD_PID" 2>/dev/null; then
            local rc=0
            wait "$RVSD_PID" || rc=$?
            RVSD_PID=""
            die "rvsd exited (status $rc) before printing 'rvsd ready'; log: $RVSD_LOG"
        fi
        if ((SECONDS >= deadline)); then
            die "rvsd did not print 'rvsd ready' within ${RVSD_READY_TIMEOUT}s"
        fi
        sleep 0.2
    done
    log "rvsd ready (pid $RVSD_PID)"
}

# stop_rvsd [quiet]: SIGTERM (rvsd prints its final counters), bounded wait, then show the log's
# tail unless quiet.
stop_rvsd() {
    [ -n "$RVSD_PID" ] || return 0
    stop_pid "$RVSD_PID" 10
    RVSD_PID=""
    [ "${1:-}" = quiet ] && return 0
    echo "--- rvsd log after SIGTERM (last 40 lines)"
    tail -n 40 "$RVSD_LOG" 2>/dev/null || true
}

# curl_n NS URL N OUTVAR: N sequential curls from NS; each result (body with whitespace trimmed,
# or "curl-error-<status>") is printed and appended to the array named OUTVAR.
curl_n() {
    local ns="$1" url="$2" n="$3"
    local -n _out="$4"
    local i body rc
    _out=()
    for ((i = 1; i <= n; i++)); do
        rc=0
        body="$(ip netns exec "$ns" curl -gs "${CURL_OPTS[@]}" --max-time "$CURL_MAX_TIME" "$url")" || rc=$?
        body="$(printf '%s' "$body" | tr -d '[:space:]')"
        if [ "$rc" -ne 0 ]; then
            body="curl-error-$rc"
        fi
        log "curl #$i $url -> $body"
        _out+=("$body")
    done
}

# assert_alternation NAME_A NAME_B RESULT...: every result is A or B, no two consecutive results
# are equal, and both appear (rr over two real servers; either may come first).
assert_alternation() {
    local a="$1" b="$2"
    shift 2
    local prev="" r seen_a=0 seen_b=0
    for r in "$@"; do
        if [ "$r" != "$a" ] && [ "$r" != "$b" ]; then
            die "expected $a or $b, got '$r' (sequence: $*)"
        fi
        if [ "$r" = "$prev" ]; then
            die "two consecutive answers from $r: not round robin (sequence: $*)"
        fi
        [ "$r" = "$a" ] && seen_a=1
        [ "$r" = "$b" ] && seen_b=1
        prev="$r"
    done
    if [ "$seen_a" -ne 1 ] || [ "$seen_b" -ne 1 ]; then
        die "both $a and $b must answer (sequence: $*)"
    fi
    log "ok: answers alternate between $a and $b ($*)"
}

# assert_rs_saw NAME ADDR: the real server's access log shows requests from ADDR (the client
# address for NAT, DR and TUN, which must not replace it; the LIP for FullNAT).
assert_rs_saw() {
    local name="$1" cip="$2" f="$TMP/http-$1.log"
    grep -q "^$cip - .*\"GET / " "$f" || die "$name's access log has no request from $cip: $(cat "$f")"
    log "ok: $name saw requests from $cip"
}

# pass: the last line of a successful lab.
pass() {
    log "RESULT: PASS"
}
