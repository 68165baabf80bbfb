#!/bin/bash
# Suite 'crash': deadlines (SET EX/PX) survive a restart.
#
# For each index: keys with a short deadline (300 ms), a long one (1 h) and
# none are set and acknowledged; paste-kvs is killed with SIGKILL (then, in
# a second round, stopped cleanly); after its restart, once the short
# deadlines passed, the short keys must be gone, the long ones there with
# their TTL (within a tolerance), the plain ones there without a TTL. A
# key found past its deadline after a restart is never returned.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
kvs_testbed_up t
IP=$TB_PASTE_IP
TTL_CLIENT=(/usr/bin/python3 "$NET_REPO/tests/kvs/ttl_client.py")

for index in wal btree; do
	pool="$TB_SHM/ttl-$index.pool"
	for how in KILL INT; do
		what="[$index, stop $how]"
		start_kvs "$NAME" "$pool" --index "$index" --pool-bufs 16384 || break
		run_bounded 60 "${LX[@]}" "${TTL_CLIENT[@]}" set "$IP" 6379 "$index$how"
		check_rc $? "$what keys with and without deadlines acknowledged"
		stop_kvs "$how"
		sleep 0.5   # the short deadlines pass while the server is down
		start_kvs "$NAME" "$pool" --index "$index" || break
		run_bounded 120 "${LX[@]}" "${TTL_CLIENT[@]}" check "$IP" 6379 "$index$how"
		check_rc $? "$what after restart: expired gone, deadlines kept"
		stop_kvs INT
		check_eq "$KVS_RC" 0 "$what clean exit"
	done
done
tb_finish
