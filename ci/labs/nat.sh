#!/usr/bin/env bash
# LVS.md lab 1, NAT: the client reaches VIP 198.18.0.100:80 on the director's outside port; the
# director rewrites CIP->VIP into CIP->RIP towards RS1 198.18.1.10 or RS2 198.18.1.20 (rr), and the
# replies come back through the director (the RSs' default gateway is its inside address
# 198.18.1.1), which rewrites RIP->CIP into VIP->CIP. Topology in nat-common.sh.
#
# Checks: four curls from the client to http://198.18.0.100/ answer RS1 and RS2 alternately, and
# each RS saw the real client address 198.18.0.2.
#
# Env: DIRECTOR=rvsd|kernel (default rvsd), RVSD=path to the binary, LAB_KEEP=1 keeps the
# temporary directory, CURL_MAX_TIME, RVSD_READY_TIMEOUT.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=nat-common.sh
source "$LAB_DIR/nat-common.sh"

lab_init nat
nat_topology

http_server "$RS1" RS1
http_server "$RS2" RS2
log "http servers up: RS1 on $RIP1:80, RS2 on $RIP2:80"

case "$DIRECTOR" in
    kernel) nat_director_kernel ;;
    rvsd)
        nat_rvsd_toml "$TMP/rvsd.toml" 1 1 20
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
