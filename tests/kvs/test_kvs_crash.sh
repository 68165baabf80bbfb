#!/bin/bash
# Suite 'crash': acknowledged writes survive kill -9.
#
# For each index mode and several kill points: clients write thousands of
# distinct keys over several connections (one request in four an MSET of
# three keys whose values span several buffers, one in four a transaction:
# MULTI, four SETs of such values, EXEC, pipelined) and log each key whose
# +OK came back; paste-kvs is killed with SIGKILL in the middle of the
# load; it is restarted on the same pool file (recovery, torn-entry
# checks, reconcile); every acknowledged key must read back byte-identical
# (an acknowledged EXEC whole), and every MSET and EXEC sent, acknowledged
# or not, must hold all its keys or none (whole, absent and cut counted).
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
kvs_testbed_up c
IP=$TB_PASTE_IP

for index in wal btree; do
	pool="$TB_SHM/crash-$index.pool"
	keys="$TB_WORK/acked-$index"
	: >"$keys"
	: >"$keys.units"
	round=0
	for delay in 0.5 1.2 2.0; do
		round=$((round + 1))
		what="[$index kill $round after ${delay}s]"
		start_kvs "$NAME" "$pool" --index "$index" --pool-bufs 131072 || break
		if [ "$round" -gt 1 ]; then
			run_bounded 120 "${LX[@]}" "${KVS_CLIENT[@]}" verify "$IP" 6379 "$keys"
			check_rc $? "$what keys acknowledged before the previous kill are intact"
			out=$(run_bounded 120 "${LX[@]}" "${KVS_CLIENT[@]}" verify-units "$IP" 6379 \
				"$keys.units")
			check_rc $? "$what $out"
		fi
		bg_start "${LX[@]}" "${KVS_CLIENT[@]}" load "$IP" 6379 "$keys" \
			--conns 6 --keys 1000000 --prefix "$index$round" --seconds 30 --mset 4 --multi 4
		LOADER=$BG_PID
		acked=$(wc -l <"$keys")
		sleep "$delay"
		# On a loaded machine the client may not have its first +OK by
		# then: the kill waits for one (up to 20 s more), so that every
		# round kills a server in the middle of acknowledged writes.
		for ((i = 0; i < 200; i++)); do
			[ "$(wc -l <"$keys")" -gt "$acked" ] && break
			sleep 0.1
		done
		stop_kvs KILL
		wait_pid "$LOADER" 30
		bg_forget "$LOADER"
		check_ge "$(($(wc -l <"$keys") - acked))" 1 "$what some keys were acknowledged"
	done
	start_kvs "$NAME" "$pool" --index "$index" || continue
	run_bounded 120 "${LX[@]}" "${KVS_CLIENT[@]}" verify "$IP" 6379 "$keys"
	check_rc $? "[$index] all $(wc -l <"$keys") acknowledged keys read back after the last kill"
	out=$(run_bounded 120 "${LX[@]}" "${KVS_CLIENT[@]}" verify-units "$IP" 6379 "$keys.units")
	check_rc $? "[$index] after the last kill: $out"
	check_ge "$(sed -n 's/.* \([0-9]*\) EXECs sent: \([0-9]*\) whole.*/\2/p' <<<"$out")" 1 \
		"[$index] transactions acknowledged and found whole"
	check_ge "$(grep -c /e "$keys")" 4 "[$index] acknowledged keys written by EXEC"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "[$index] clean exit after recovery"
done
tb_finish
