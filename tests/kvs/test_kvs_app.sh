#!/bin/bash
# Suite 'net': redis-py used as applications use it (tests/kvs/kvs_app_client.py):
# a cache with TTLs, counters, pipeline(transaction=True), optimistic
# locking with WATCH and a conflicting writer, scan_iter while keys are
# written and deleted, client names, AUTH; against paste-kvs with each
# index and redis-server 7.0 side by side, both with the same password:
# the same results from both, and as expected.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
kvs_testbed_up a redis-server
/usr/bin/python3 -c 'import redis' 2>/dev/null || skip "python3-redis not installed"
REDIS_PORT=6392
PW=app-pw-$$
printf '%s\n' "$PW" >"$TB_WORK/password"

bg_start "${LX[@]}" redis-server --bind "$TB_LINUX_IP" --port "$REDIS_PORT" \
	--save '' --appendonly no --daemonize no --protected-mode no --requirepass "$PW" \
	--dir "$TB_WORK" --logfile "$TB_WORK/redis.log"
REDIS_PID=$BG_PID
for ((i = 0; i < 100; i++)); do
	run_bounded 2 "${LX[@]}" redis-cli --no-auth-warning -a "$PW" -h "$TB_LINUX_IP" \
		-p "$REDIS_PORT" PING 2>/dev/null | grep -q PONG && break
	sleep 0.1
done
out=$(run_bounded 2 "${LX[@]}" redis-cli --no-auth-warning -a "$PW" -h "$TB_LINUX_IP" \
	-p "$REDIS_PORT" PING)
check_eq "$out" PONG "redis-server up"

for index in wal btree; do
	start_kvs "$NAME" "$TB_SHM/app-$index.pool" --index "$index" --pool-bufs 32768 \
		--requirepass-file "$TB_WORK/password" || continue
	out=$(run_bounded 180 "${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/kvs/kvs_app_client.py" \
		"$TB_PASTE_IP" 6379 "$TB_LINUX_IP" "$REDIS_PORT" "$PW")
	check_rc $? "[$index] cache, counters, pipelines, WATCH, scan_iter, names, AUTH as on Redis"
	printf '%s\n' "$out"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "[$index] clean exit"
done
kill "$REDIS_PID" 2>/dev/null
bg_wait "$REDIS_PID" >/dev/null
tb_finish
