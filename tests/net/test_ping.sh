#!/bin/bash
# Suite 'net': paste answers ICMP echo on a real wire.
#
# paste-testpmd --forward-mode=icmpecho runs on the paste end of a veth pair
# (net_af_packet; that veth has no kernel address, so only paste can answer
# 198.18.0.1). From the Linux namespace, `ping -c 5 -W 2 198.18.0.1` must get
# all five replies: ARP resolution of paste's address, IPv4 and ICMP input,
# and the reply's checksums are all exercised. The stack's final statistics
# must show no lwIP assertion.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"
tb_require
command -v ping >/dev/null || skip "ping not found (iputils-ping)"
tb_reap_stale

NAME=$(tb_unique_name p)
log "testbed $NAME"
tb_up "$NAME"

start_testpmd "$NAME" icmpecho || tb_finish

log "ping -c 5 -W 2 $TB_PASTE_IP from $NAME-linux"
out=$(run_bounded 30 nsenter --net="/run/netns/$NAME-linux" ping -n -c 5 -i 0.2 -W 2 "$TB_PASTE_IP" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/    /'
check_rc "$rc" "ping exits 0"
loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' <<<"$out")
check_eq "$loss" 0 "ping packet loss (%)"
received=$(sed -n 's/.*, \([0-9]*\) received.*/\1/p' <<<"$out")
check_eq "$received" 5 "echo replies received"

# The kernel of the paste namespace must not have answered: it has no address.
if tb_paste "$NAME" ip -4 -o addr show dev "$NAME-p" | grep -q inet; then
	fail "the paste-side veth has a kernel address"
else
	pass "the paste-side veth has no kernel address"
fi

stop_testpmd
check_testpmd_end icmpecho
rx=$(stack_field rx_packets)
check_ge "$rx" 5 "stack rx_packets"
tx=$(stack_field tx_packets)
check_ge "$tx" 5 "stack tx_packets"

tb_finish
