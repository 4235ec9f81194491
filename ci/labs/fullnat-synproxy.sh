#!/usr/bin/env bash
# LVS.md lab 5 (FullNAT, fullnat.sh) with `synproxy = true` on the service: the same checks
# (rr alternation, RSs see the LIP, replies through the director, every SYN at the RSs from the
# LIP with TOA = client address and port and a lowered MSS), now with the director answering
# the client's handshake itself and translating sequence numbers between real TCP stacks; and
# rvsd's counters show one proxied handshake per curl. rvsd only.
SYNPROXY=1 exec bash "$(dirname "${BASH_SOURCE[0]}")/fullnat.sh" "$@"
