#!/bin/bash
# Suite 'net': clients that try to make paste-kvs hold what it should not
# (tests/kvs/kvs_abuse.py: large declared values from several connections,
# unread pipelined replies, many idle half-requests, a trickled multibulk).
# For each: while the abuse is on and after the abusers leave, a healthy
# redis-cli's PING, SET and GET are each answered within 2 s, and the pool's
# free count (the stats line's pool_free) returns to its baseline. The
# server runs with short request and send timeouts so that the abusers the
# server must cut off are cut off within the test. The same against
# bench/linux-kvs (sockets, in the linux namespace).
# (One-byte segments at the stack level are the stack's test.)
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
tb_require
[ -x "$KVS" ] || die "$KVS not built"
command -v redis-cli >/dev/null || skip "redis-cli not found (scripts/deps.sh installs it)"
tb_reap_stale
NAME=$(tb_unique_name a)
tb_up "$NAME"
LX=(nsenter --net="/run/netns/$NAME-linux")
ABUSE=(/usr/bin/python3 "$NET_REPO/tests/kvs/kvs_abuse.py")

# healthy WHAT: PING, SET, GET from a fresh redis-cli, each within 2 s.
healthy() {
	local what=$1 out
	out=$(run_bounded 2 "${LX[@]}" redis-cli -h "$IP" -p 6379 PING)
	check_eq "$out" PONG "$what: PING answered within 2 s"
	out=$(run_bounded 2 "${LX[@]}" redis-cli -h "$IP" -p 6379 SET healthy "v$RANDOM")
	check_eq "$out" OK "$what: SET answered within 2 s"
	out=$(run_bounded 2 "${LX[@]}" redis-cli -h "$IP" -p 6379 GET healthy)
	[[ "$out" == v* ]]
	check_rc $? "$what: GET answered within 2 s ($out)"
}

# field_settles NAME WANT: the stats line's NAME once it is WANT, or as it
# is after 20 s (the request and send timeouts are 4 s, the stats period
# 0.5 s).
field_settles() {
	local name=$1 want=$2 i got
	for ((i = 0; i < 80; i++)); do
		got=$(kvs_field "$name")
		[ "$got" = "$want" ] && break
		sleep 0.25
	done
	echo "$got"
}

# ttl_keys PREFIX: 100 keys with a 1 s deadline, through one redis-cli
# (not run_bounded: a background job's stdin is /dev/null); prints how
# many were stored.
ttl_keys() {
	local i
	for ((i = 0; i < 100; i++)); do
		echo "SET $1$i v PX 1000"
	done | timeout -k 2 20 "${LX[@]}" redis-cli -h "$IP" -p 6379 | grep -c '^OK$'
}

# expiry_cases SERVER: keys set with PX and never read again are reclaimed
# by the background sweep (the stats line's key count), and DBSIZE never
# counts a key past its deadline.
expiry_cases() {
	local server=$1 before i keys
	before=$(run_bounded 2 "${LX[@]}" redis-cli -h "$IP" -p 6379 DBSIZE)
	check_eq "$(ttl_keys ttl)" 100 "[$server] 100 keys set with PX"
	sleep 1
	check_eq "$(field_settles keys "$before")" "$before" \
		"[$server] 100 expired keys never read: reclaimed by the sweep"
	check_eq "$(ttl_keys ttl2)" 100 "[$server] 100 more keys set with PX"
	sleep 1.5
	keys=$(run_bounded 2 "${LX[@]}" redis-cli -h "$IP" -p 6379 DBSIZE)
	check_eq "$keys" "$before" "[$server] DBSIZE does not count expired keys"
}

# The connections of each class the server must close itself (timed_out).
declare -A MUST_CLOSE=([bigvalue]=4 [unread]=4 [idle]=100 [trickle]=0)

# abuse_cases SERVER: every abuse class against the server just started.
abuse_cases() {
	local server=$1 class ready pid i base closed want free
	healthy "[$server before]"
	sleep 1
	base=$(kvs_field pool_free)
	log "$server: baseline pool_free=$base"
	for class in bigvalue unread idle trickle; do
		ready="$TB_WORK/ready.$server.$class"
		closed=$(kvs_field timed_out)
		bg_start timeout -k 5 60 "${LX[@]}" "${ABUSE[@]}" "$class" "$IP" 6379 "$ready" --hold 12
		pid=$BG_PID
		for ((i = 0; i < 100; i++)); do
			[ -e "$ready" ] && break
			sleep 0.1
		done
		[ -e "$ready" ]
		check_rc $? "[$server $class] abuse in place"
		healthy "[$server $class] during"
		bg_wait "$pid"
		check_rc $? "[$server $class] the abusers' own checks"
		healthy "[$server $class] after"
		# The index's own structure may take one buffer meanwhile: the
		# wal log grows a buffer when its current one fills, and this
		# class's SETs and DELs append under 2 KiB of records (a 1-buffer
		# shortfall after the trickle was that: pool_kept counted the
		# key's value and the log, with no connection left). What the
		# abusers held is tens of buffers at least.
		free=$(field_settles pool_free "$base")
		[[ "$free" =~ ^[0-9]+$ ]] && [ "$free" -ge $((base - 1)) ]
		check_rc $? "[$server $class] pool_free back to its baseline $base (less" \
			"at most one buffer of the index's log): $free"
		[ "$free" = "$base" ] || log "$(grep '^kvs: ' "$KVS_LOG" | tail -n 1)"
		base=$free
		want=$((closed + MUST_CLOSE[$class]))
		check_eq "$(field_settles timed_out "$want")" "$want" \
			"[$server $class] ${MUST_CLOSE[$class]} connections timed out by the server"
	done
	expiry_cases "$server"
	log "$(grep '^kvs: ' "$KVS_LOG" | tail -n 1)"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "[$server] clean exit"
}

LIMITS=(--max-conns 256 --stats-period 0.5 --request-timeout 4 --send-timeout 4)
IP=$TB_PASTE_IP
if start_kvs "$NAME" "$TB_SHM/abuse.pool" --pool-bufs 65536 "${LIMITS[@]}"; then
	abuse_cases paste-kvs
	check_eq "$(kvs_field lwip_asserts)" 0 "[paste-kvs] lwip_asserts"
fi
IP=$TB_LINUX_IP
if start_linux_kvs "$NAME" "$TB_SHM/abuse-linux.pool" --pool-bufs 65536 "${LIMITS[@]}"; then
	abuse_cases linux-kvs
fi
tb_finish
