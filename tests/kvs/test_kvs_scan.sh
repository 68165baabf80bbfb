#!/bin/bash
# Suite 'net': SCAN's guarantee through redis-py (tests/kvs/kvs_scan_client.py):
# scan_iter while another connection writes and deletes keys, deadlines,
# RANDOMKEY, FLUSHDB, CLIENT SETNAME/GETNAME; against paste-kvs with both
# indexes, and the same script against redis-server side by side.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
kvs_testbed_up s redis-server
/usr/bin/python3 -c 'import redis' 2>/dev/null || skip "python3-redis not installed"
REDIS_PORT=6391

bg_start "${LX[@]}" redis-server --bind "$TB_LINUX_IP" --port "$REDIS_PORT" \
	--save '' --appendonly no --daemonize no --protected-mode no \
	--dir "$TB_WORK" --logfile "$TB_WORK/redis.log"
REDIS_PID=$BG_PID
for ((i = 0; i < 100; i++)); do
	run_bounded 2 "${LX[@]}" redis-cli -h "$TB_LINUX_IP" -p "$REDIS_PORT" PING 2>/dev/null |
		grep -q PONG && break
	sleep 0.1
done
run_bounded 120 "${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/kvs/kvs_scan_client.py" \
	"$TB_LINUX_IP" "$REDIS_PORT" redis-server
check_rc $? "[redis-server] the script's checks hold against Redis"
kill "$REDIS_PID" 2>/dev/null
bg_wait "$REDIS_PID" >/dev/null

for index in wal btree; do
	start_kvs "$NAME" "$TB_SHM/scan-$index.pool" --index "$index" --pool-bufs 65536 || continue
	run_bounded 240 "${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/kvs/kvs_scan_client.py" \
		"$TB_PASTE_IP" 6379 "paste-kvs $index"
	check_rc $? "[$index] every key present throughout a SCAN returned; deadlines, names"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "[$index] clean exit"
done
tb_finish
