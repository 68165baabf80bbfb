#!/bin/bash
# Suite 'crash': deadlines (SET EX/PX) survive a restart.
#
# For each index: keys with a short deadline (300 ms), a long one (1 h) and
# none are set and acknowledged; paste-kvs is killed with SIGKILL (then, in
# a second round, stopped cleanly); after its restart, once the short
# deadlines passed, active expiry must reclaim the short keys by itself
# (DBSIZE comes down before any key is read), they must be gone, the long ones there with
# their TTL (within a tolerance), the plain ones there without a TTL. A
# key found past its deadline after a restart is never returned. Then the
# pools an older paste-kvs wrote (fixtures) are refused, unchanged.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
kvs_testbed_up t
IP=$TB_PASTE_IP
TTL_CLIENT=(/usr/bin/python3 "$NET_REPO/tests/kvs/ttl_client.py")

for index in wal btree; do
	pool="$TB_SHM/ttl-$index.pool"
	live=0   # keys that stay: the long and plain ones of every round
	for how in KILL INT; do
		what="[$index, stop $how]"
		start_kvs "$NAME" "$pool" --index "$index" --pool-bufs 16384 || break
		run_bounded 60 "${LX[@]}" "${TTL_CLIENT[@]}" set "$IP" 6379 "$index$how"
		check_rc $? "$what keys with and without deadlines acknowledged"
		stop_kvs "$how"
		sleep 0.5   # the short deadlines pass while the server is down
		start_kvs "$NAME" "$pool" --index "$index" || break
		live=$((live + 400))
		run_bounded 120 "${LX[@]}" "${TTL_CLIENT[@]}" check "$IP" 6379 "$index$how" "$live"
		check_rc $? "$what after restart: expired gone, deadlines kept"
		stop_kvs INT
		check_eq "$KVS_RC" 0 "$what clean exit"
	done
done

# A pool written before deadlines were in the records (commit 399d8bf;
# tests/kvs/fixtures/make_pre_ttl_pools.sh) is refused with a message that
# says why, and left as it was.
for index in wal btree; do
	what="[$index pool written before durable TTLs]"
	pool="$TB_SHM/pre-ttl-$index.pool"
	xz -dc "$NET_REPO/tests/kvs/fixtures/pre-ttl-$index.pool.xz" >"$pool" ||
		die "fixture pre-ttl-$index.pool.xz"
	cp "$pool" "$pool.before"
	out="$TB_WORK/pre-ttl-$index.log"
	prefix="pkvs$$_old_$index"
	TB_EAL_PREFIXES+=("$prefix")
	bg_start nsenter --net="/run/netns/$NAME-paste" "$KVS" \
		--no-huge -m 512 --no-pci --no-shconf --no-telemetry --iova-mode=va \
		--file-prefix "$prefix" --log-level=lib.eal:error \
		"--vdev=net_af_packet0,iface=$NAME-p,qpairs=1" \
		-- --ip "$TB_PASTE_IP/$TB_PREFIX_LEN" --pool-file "$pool" --persist flush \
		--index "$index" >"$out" 2>&1
	pid=$BG_PID
	if wait_log "$out" '^paste-kvs: ready ' 30 "$pid"; then
		fail "$what: started instead of refusing the pool"
		kill -INT "$pid" 2>/dev/null
		wait_pid "$pid" 10 || kill -KILL "$pid" 2>/dev/null
	elif ! wait_pid "$pid" 10; then
		fail "$what: neither ready nor gone after 30 s"
		kill -KILL "$pid" 2>/dev/null
	else
		if [ "$WAIT_RC" -ne 0 ]; then
			pass "$what: refused (exit status $WAIT_RC)"
		else
			fail "$what: exit status 0"
		fi
	fi
	bg_forget "$pid"
	grep -q "format written before durable TTLs" "$out"
	check_rc $? "$what: the message says why"
	log "$what: $(grep -m1 'durable TTLs' "$out")"
	cmp -s "$pool" "$pool.before"
	check_rc $? "$what: the pool file is byte-identical"
	rm -f "$pool" "$pool.before"
done
tb_finish
