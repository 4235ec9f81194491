#!/usr/bin/env bash
# The NAT lab over IPv6 (nat6.sh) with `synproxy = true` on the service: rr alternation and the
# client address at the RSs, through the director's cookies and sequence translation between
# real IPv6 TCP stacks; rvsd's counters show one proxied handshake per curl. rvsd only.
SYNPROXY=1 exec bash "$(dirname "${BASH_SOURCE[0]}")/nat6.sh" "$@"
