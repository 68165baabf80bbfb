#!/bin/bash
# Suite 'net': paste-kvs against redis-server, reply for reply
# (tests/kvs/kvs_redis_diff.py): the same raw RESP to both, replies compared
# byte for byte, the differences that are deliberate listed in the script
# with their reasons, any other failing; and redis-py's transactions on
# both (kvs_multi_client.py), with the same results. redis-server runs in the
# linux namespace on its own port, with no persistence, and paste-kvs's
# longest value (1 MiB) as its proto-max-bulk-len, so that APPEND and
# SETRANGE past it are refused by both.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
kvs_testbed_up d redis-server
REDIS_PORT=6390

bg_start "${LX[@]}" redis-server --bind "$TB_LINUX_IP" --port "$REDIS_PORT" \
	--save '' --appendonly no --daemonize no --protected-mode no \
	--proto-max-bulk-len 1mb --dir "$TB_WORK" --logfile "$TB_WORK/redis.log"
REDIS_PID=$BG_PID
for ((i = 0; i < 100; i++)); do
	run_bounded 2 "${LX[@]}" redis-cli -h "$TB_LINUX_IP" -p "$REDIS_PORT" PING 2>/dev/null |
		grep -q PONG && break
	sleep 0.1
done
out=$(run_bounded 2 "${LX[@]}" redis-cli -h "$TB_LINUX_IP" -p "$REDIS_PORT" PING)
check_eq "$out" PONG "redis-server up"

for index in wal btree; do
	start_kvs "$NAME" "$TB_SHM/diff-$index.pool" --index "$index" --pool-bufs 65536 || continue
	run_bounded 120 "${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/kvs/kvs_redis_diff.py" \
		"$TB_PASTE_IP" 6379 "$TB_LINUX_IP" "$REDIS_PORT"
	check_rc $? "[$index] replies as Redis's, but for the listed deliberate differences"
	run_bounded 120 "${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/kvs/kvs_multi_client.py" \
		"$TB_PASTE_IP" 6379 "$TB_LINUX_IP" "$REDIS_PORT"
	check_rc $? "[$index] redis-py's transactions and WATCH as on Redis"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "[$index] clean exit"
done
kill "$REDIS_PID" 2>/dev/null
bg_wait "$REDIS_PID" >/dev/null

# Authentication: both with the same password (kvs_auth_diff.py).
PW=auth-diff-pw
printf '%s\n' "$PW" >"$TB_WORK/password"
bg_start "${LX[@]}" redis-server --bind "$TB_LINUX_IP" --port "$REDIS_PORT" \
	--save '' --appendonly no --daemonize no --protected-mode no --requirepass "$PW" \
	--dir "$TB_WORK" --logfile "$TB_WORK/redis-auth.log"
REDIS_PID=$BG_PID
for ((i = 0; i < 100; i++)); do
	run_bounded 2 "${LX[@]}" redis-cli --no-auth-warning -a "$PW" -h "$TB_LINUX_IP" \
		-p "$REDIS_PORT" PING 2>/dev/null | grep -q PONG && break
	sleep 0.1
done
start_kvs "$NAME" "$TB_SHM/diff-auth.pool" --pool-bufs 16384 \
	--requirepass-file "$TB_WORK/password" && {
	run_bounded 60 "${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/kvs/kvs_auth_diff.py" \
		"$TB_PASTE_IP" 6379 "$TB_LINUX_IP" "$REDIS_PORT" "$PW"
	check_rc $? "[auth] NOAUTH, WRONGPASS and AUTH's replies as Redis's"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "[auth] clean exit"
}
kill "$REDIS_PID" 2>/dev/null
bg_wait "$REDIS_PID" >/dev/null
tb_finish
