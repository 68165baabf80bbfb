#!/bin/bash
# Suite 'net': TCP through paste stays byte-exact under loss, duplication,
# reordering and corruption.
#
# (a) Wire faults from nftables in the Linux namespace (there is no
#     sch_netem here). The rules, each with a counter that must end > 0:
#       inet  output  1% of TCP to 198.18.0.1 dropped: Linux's own stack
#                     sees these as local drops and resends them;
#       inet  input   1% of TCP from 198.18.0.1 dropped: paste's segments
#                     and ACKs lost on the wire;
#       netdev egress (hook on the Linux veth, kernel >= 5.16) 1% of TCP to
#                     198.18.0.1 duplicated ("dup to" the same veth), and 1%
#                     forwarded to "lo", where they die (another host's MAC):
#                     lost after Linux's TCP counted them as sent, so paste
#                     sees holes and out-of-order data.
#     Egress sees TCP's skbs before segmentation (GSO happens later), so one
#     duplicated or lost skb can be several consecutive segments on the wire.
# (b) The driver's seeded fault injection, no nftables:
#       --fault seed=7,rx-reorder=0.02,rx-corrupt=0.01,tx-reorder=0.02,
#               tx-corrupt=0.01,rx-drop=0.01,tx-dup=0.01
#     and the final "stack:" line must show fault_drops, fault_dups,
#     fault_reorders and fault_corrupts > 0, corrupted frames dropped
#     (rx_dropped + rx_bad_csum > 0), and lwip_asserts=0.
# In both, a tcp-sink transfer (checked as in test_tcp_sink: bytes, SHA-256,
# persisted, outside_pool=0) and a tcp-echo run (20 connections, 64..256 KiB,
# every byte read back) must be exact.
# Environment: PASTE_FAULT_SINK_BYTES (default 32M), PASTE_FAULT_PCT (default 1).
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"
tb_require
[ -x "$PY" ] || skip "$PY not found"
command -v nft >/dev/null || skip "nft not found (nftables)"
command -v nc >/dev/null || skip "nc not found (netcat-openbsd)"
tb_reap_stale

SINK_BYTES=$(size_bytes "${PASTE_FAULT_SINK_BYTES:-32M}")
PCT=${PASTE_FAULT_PCT:-1}
DRIVER_FAULTS="seed=7,rx-reorder=0.02,rx-corrupt=0.01,tx-reorder=0.02,tx-corrupt=0.01,rx-drop=0.01,tx-dup=0.01"
NAME=$(tb_unique_name f)
IFL="$NAME-l"
log "testbed $NAME"
tb_up "$NAME"

# --- (a) nftables ------------------------------------------------------------------
rules="$TB_WORK/faults.nft"
cat >"$rules" <<NFT
table inet paste_faults {
	chain output {
		type filter hook output priority 0; policy accept;
		oifname "$IFL" ip daddr $TB_PASTE_IP meta l4proto tcp numgen random mod 100 < $PCT counter drop comment "loss-output"
	}
	chain input {
		type filter hook input priority 0; policy accept;
		iifname "$IFL" ip saddr $TB_PASTE_IP meta l4proto tcp numgen random mod 100 < $PCT counter drop comment "loss-input"
	}
}
table netdev paste_faults_dev {
	chain egress {
		type filter hook egress device "$IFL" priority 0; policy accept;
		ip daddr $TB_PASTE_IP meta l4proto tcp numgen random mod 100 < $PCT counter dup to "$IFL" comment "dup-egress"
		ip daddr $TB_PASTE_IP meta l4proto tcp numgen random mod 100 < $PCT counter fwd to "lo" comment "loss-egress"
	}
}
NFT
log "loading nftables rules in $NAME-linux ($PCT% loss each way, $PCT% duplication)"
if tb_linux "$NAME" nft -f "$rules"; then
	pass "nftables fault rules loaded (inet output/input, netdev egress with dup and fwd)"
else
	fail "nftables fault rules did not load"
	cat "$rules"
fi

# nft_counter COMMENT: packets counted by the rule with that comment.
nft_counter() {
	tb_linux "$NAME" nft list ruleset 2>/dev/null |
		sed -n "s/.*counter packets \([0-9]*\) bytes .*comment \"$1\".*/\1/p" | head -n 1
}

sink_run "$NAME" nft-sink "$SINK_BYTES" all
echo_run "$NAME" nft-echo 20 65536 262144 11 240
for c in loss-output loss-input dup-egress loss-egress; do
	check_gt "$(nft_counter "$c")" 0 "nftables rule '$c' hit"
done
tb_linux "$NAME" nft flush ruleset
check_rc $? "nftables rules removed"

# --- (b) the driver's fault injection ---------------------------------------------------
# check_driver_faults LABEL: the final stack line of the last run.
check_driver_faults() {
	local label=$1 k dropped
	log "[$label] $(grep '^stack: ' "$TP_LOG" | tail -n 1)"
	for k in fault_drops fault_dups fault_reorders fault_corrupts; do
		check_gt "$(stack_field "$k")" 0 "[$label] $k"
	done
	dropped=$(($(stack_field rx_dropped) + $(stack_field rx_bad_csum)))
	check_gt "$dropped" 0 "[$label] frames dropped by the stack (rx_dropped + rx_bad_csum)"
}

sink_run "$NAME" fault-sink "$SINK_BYTES" all --fault "$DRIVER_FAULTS"
check_driver_faults fault-sink
echo_run "$NAME" fault-echo 20 65536 262144 13 300 --fault "$DRIVER_FAULTS"
check_driver_faults fault-echo

tb_finish
