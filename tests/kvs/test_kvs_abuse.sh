#!/bin/bash
# Suite 'net': clients that try to make paste-kvs hold what it should not
# (tests/kvs/kvs_abuse.py: large declared values from several connections,
# unread pipelined replies, many idle half-requests, uploads the store
# (--maxmemory) cannot all hold, unread replies over --client-output-limit,
# a trickled multibulk, a trickle into shared gather buffers, pipelined
# GETs never read by many connections: lwip); and, against paste-kvs alone
# on a pool its store may fill (no --maxmemory), the stack's budgets: a
# full store then windows filled with held bytes (budget), one-byte
# segments out of order (oos) and a peer acknowledging a byte at a time
# (slowack), the last two crafted with scapy.
# For each: while the abuse is on and after the abusers leave, a healthy
# redis-cli's PING, SET and GET are each answered within 2 s, and the pool's
# free count plus the index's own buffers (pool_free + index_bufs) returns
# exactly to its baseline, and so do lwIP's pools on paste-kvs (tcp_segs,
# pbufs: segments and pbuf descriptors in use). Where a class has a bound
# (MAX_PINNED), the most buffers it took from the pool while it ran, other
# than to keep them (the baseline less the lowest pool_free + pool_kept of
# its statistics lines), stays under it, and so for lwIP's pools (MAX_LWIP).
# ABUSE_CLASSES and ABUSE_FULL_CLASSES (words; " ": none) run some
# classes only. The
# server runs with short request and send timeouts so that the abusers the
# server must cut off are cut off within the test. With the argument
# "linux", the same classes against bench/linux-kvs (sockets, in the linux
# namespace) instead: test kvs_abuse_linux, suite 'long'.
# (One-byte segments at the stack level are the stack's test.)
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
kvs_testbed_up a redis-cli
ABUSE=(/usr/bin/python3 "$NET_REPO/tests/kvs/kvs_abuse.py")

# fields_sum NAME...: the sum of the stats line's NAME fields (one line).
fields_sum() {
	local line name sum=0
	line=$(grep '^kvs: ' "$KVS_LOG" 2>/dev/null | tail -n 1)
	for name in "$@"; do
		[[ "$line" =~ \ $name=([0-9]+) ]] || return
		sum=$((sum + BASH_REMATCH[1]))
	done
	echo "$sum"
}

# lowest_sum FROM NAME...: the lowest fields_sum NAME... over the stats
# lines from line FROM of the log on.
lowest_sum() {
	local from=$1
	shift
	tail -n +"$from" "$KVS_LOG" | grep '^kvs: ' | while read -r line; do
		local sum=0 name
		for name in "$@"; do
			[[ "$line" =~ \ $name=([0-9]+) ]] || continue 2
			sum=$((sum + BASH_REMATCH[1]))
		done
		echo "$sum"
	done | sort -n | head -n 1
}

# highest_sum FROM NAME...: the highest fields_sum NAME... over the stats
# lines from line FROM of the log on.
highest_sum() {
	local from=$1
	shift
	tail -n +"$from" "$KVS_LOG" | grep '^kvs: ' | while read -r line; do
		local sum=0 name
		for name in "$@"; do
			[[ "$line" =~ \ $name=([0-9]+) ]] || continue 2
			sum=$((sum + BASH_REMATCH[1]))
		done
		echo "$sum"
	done | sort -n | tail -n 1
}

# sum_settles WANT NAME...: fields_sum NAME... once it is WANT, or as it is
# after 20 s (the request and send timeouts are 4 s, the stats period
# 0.5 s).
sum_settles() {
	local want=$1 i got
	shift
	for ((i = 0; i < 80; i++)); do
		got=$(fields_sum "$@")
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
# by the background sweep (the stats line's key count, then DBSIZE: O(1),
# it counts a key past its deadline until the sweep or a read reclaims it,
# as Redis's does).
expiry_cases() {
	local server=$1 before i keys
	before=$(run_bounded 2 "${LX[@]}" redis-cli -h "$IP" -p 6379 DBSIZE)
	check_eq "$(ttl_keys ttl)" 100 "[$server] 100 keys set with PX"
	sleep 1
	check_eq "$(sum_settles "$before" keys)" "$before" \
		"[$server] 100 expired keys never read: reclaimed by the sweep"
	check_eq "$(ttl_keys ttl2)" 100 "[$server] 100 more keys set with PX"
	sleep 1.5
	for ((i = 0; i < 80; i++)); do
		keys=$(run_bounded 2 "${LX[@]}" redis-cli -h "$IP" -p 6379 DBSIZE)
		[ "$keys" = "$before" ] && break
		sleep 0.25
	done
	check_eq "$keys" "$before" "[$server] DBSIZE back to its count once the sweep reclaimed the expired keys"
}

# The connections of each class the server must close itself, by a
# timeout or for its output (timed_out + output_overflows: linux-kvs may
# cut an unread client off by either) ...
declare -A MUST_CLOSE=([bigvalue]=4 [unread]=4 [idle]=100 [oom]=0 [outlimit]=4 [trickle]=0
	[gather]=1 [budget]=8 [oos]=0 [lwip]=20 [slowack]=4 [multi]=2
	[multismall]=2)
# ... and of those, the ones it must close for their output (checked for
# these classes only).
declare -A MUST_OVERFLOW=([outlimit]=4)
# The most pool buffers a class may take while it runs (the healthy
# client's SETs and the class's own complete requests take a few).
# budget: eight connections' 64 KiB windows (60 buffers each), where the
# pool the full store leaves (1,024 buffers) is less than their grants.
declare -A MAX_PINNED=([gather]=64 [budget]=640 [oos]=640)
# The most of lwIP's segments and pbuf descriptors (tcp_segs, pbufs) a
# class may take while it runs (paste-kvs): no few connections may take
# lwIP's shared pools (65,535 each) from the others.
declare -A MAX_LWIP=([lwip]=32768)
CLASSES=${ABUSE_CLASSES:-bigvalue unread idle oom outlimit trickle gather lwip multi multismall}
# Classes against paste-kvs alone (its stack's budgets and timeouts; the
# kernel's are linux-kvs's), on a server whose store may fill its pool
# (no --maxmemory).
FULL_CLASSES=${ABUSE_FULL_CLASSES:-budget oos slowack}

# abuse_cases SERVER CLASSES [noexpiry]: the abuse classes against the
# server just started (and the expiry cases, unless noexpiry).
abuse_cases() {
	local server=$1 classes=$2 noexpiry=${3:-} class ready pid i base closed overflows want free
	local nobufs lent
	local from low segs pbufs base_segs base_pbufs
	kvs_healthy "[$server before]"
	sleep 1
	base=$(fields_sum pool_free index_bufs)
	lent=$(fields_sum pool_free pool_kept)
	base_segs=$(fields_sum tcp_segs)
	base_pbufs=$(fields_sum pbufs)
	log "$server: baseline pool_free + index_bufs=$base tcp_segs=${base_segs:--} pbufs=${base_pbufs:--}"
	for class in $classes; do
		ready="$TB_WORK/ready.$server.$class"
		from=$(($(wc -l <"$KVS_LOG") + 1))
		closed=$(fields_sum timed_out output_overflows)
		overflows=$(kvs_field output_overflows)
		nobufs=$(kvs_field rx_nobufs)
		bg_start timeout -k 5 60 "${LX[@]}" "${ABUSE[@]}" "$class" "$IP" 6379 "$ready" --hold 12
		pid=$BG_PID
		for ((i = 0; i < 100; i++)); do
			[ -e "$ready" ] && break
			sleep 0.1
		done
		[ -e "$ready" ]
		check_rc $? "[$server $class] abuse in place"
		kvs_healthy "[$server $class] during"
		bg_wait "$pid"
		check_rc $? "[$server $class] the abusers' own checks"
		kvs_healthy "[$server $class] after"
		# Exact: every buffer is free again but those the index's own
		# structure took meanwhile for the class's SETs and DELs (the
		# wal's log grows a buffer at a time and is compacted only past
		# twice the live data; the oom class's 1 MiB values take about
		# 14 buffers of log records).
		free=$(sum_settles "$base" pool_free index_bufs)
		check_eq "$free" "$base" "[$server $class] pool_free + index_bufs back to its baseline"
		[ "$free" = "$base" ] || log "$(grep '^kvs: ' "$KVS_LOG" | tail -n 1)"
		low=$(lowest_sum "$from" pool_free pool_kept)
		log "[$server $class] pool_free + index_bufs: baseline $base, after $free; pool_free + pool_kept: baseline $lent, lowest ${low:-?} (took $((lent - ${low:-0})))"
		if [ -n "${MAX_PINNED[$class]:-}" ]; then
			check_le "$((lent - ${low:-0}))" "${MAX_PINNED[$class]}" \
				"[$server $class] at most ${MAX_PINNED[$class]} buffers taken while it ran"
		fi
		if [ -n "$nobufs" ]; then
			check_eq "$(kvs_field rx_nobufs)" "$nobufs" \
				"[$server $class] no frame dropped for want of a buffer"
		fi
		if [ -n "$base_segs" ]; then
			segs=$(sum_settles "$base_segs" tcp_segs)
			pbufs=$(sum_settles "$base_pbufs" pbufs)
			log "[$server $class] lwIP tcp_segs: baseline $base_segs, most $(highest_sum "$from" tcp_segs), after $segs; pbufs: baseline $base_pbufs, most $(highest_sum "$from" pbufs), after $pbufs"
			check_eq "$segs" "$base_segs" "[$server $class] lwIP's tcp_segs back to its baseline"
			check_eq "$pbufs" "$base_pbufs" "[$server $class] lwIP's pbufs back to its baseline"
			if [ -n "${MAX_LWIP[$class]:-}" ]; then
				check_le "$(highest_sum "$from" tcp_segs)" "${MAX_LWIP[$class]}" \
					"[$server $class] at most ${MAX_LWIP[$class]} of lwIP's segments taken while it ran"
				check_le "$(highest_sum "$from" pbufs)" "${MAX_LWIP[$class]}" \
					"[$server $class] at most ${MAX_LWIP[$class]} of lwIP's pbufs taken while it ran"
			fi
		fi
		check_eq "$(sum_settles 0 reserved)" 0 \
			"[$server $class] no reservation left in the store"
		want=$((closed + MUST_CLOSE[$class]))
		check_eq "$(sum_settles "$want" timed_out output_overflows)" "$want" \
			"[$server $class] ${MUST_CLOSE[$class]} connections closed by the server"
		[ -n "${MUST_OVERFLOW[$class]:-}" ] || continue
		want=$((overflows + MUST_OVERFLOW[$class]))
		check_eq "$(sum_settles "$want" output_overflows)" "$want" \
			"[$server $class] ${MUST_OVERFLOW[$class]} connections closed for their output"
	done
	[ -n "$noexpiry" ] || expiry_cases "$server"
	log "$(grep '^kvs: ' "$KVS_LOG" | tail -n 1)"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "[$server] clean exit"
}

# The store: 12 MiB of pool buffers (5,783) hold the reservations of five
# 1 MiB uploads (965 buffers each) but not of six (the oom class).
# Replies: 2 MiB queued (past lwIP's 4 MiB send buffer) for a client that
# does not read; a 1 MiB GET read as it comes never queues that much.
# Transactions: 1 MiB queued each (the multi class's four pin some 2,900
# buffers: 64 KiB values arrive in segments of 1,448 bytes).
LIMITS=(--max-conns 256 --stats-period 0.5 --request-timeout 4 --send-timeout 4
	--maxmemory 12mb --client-output-limit 2097152 --multi-max-bytes 1048576)
if [ "${1:-}" = linux ]; then
	IP=$TB_LINUX_IP
	if start_linux_kvs "$NAME" "$TB_SHM/abuse-linux.pool" --pool-bufs 65536 "${LIMITS[@]}"; then
		abuse_cases linux-kvs "$CLASSES"
	fi
	tb_finish
fi
IP=$TB_PASTE_IP
if start_kvs "$NAME" "$TB_SHM/abuse.pool" --pool-bufs 65536 "${LIMITS[@]}"; then
	abuse_cases paste-kvs "$CLASSES"
	check_eq "$(kvs_field lwip_asserts)" 0 "[paste-kvs] lwip_asserts"
fi
# A small pool the store may fill: the window budget must follow it.
if [ -n "$FULL_CLASSES" ] &&
	start_kvs "$NAME" "$TB_SHM/abuse-full.pool" --pool-bufs 16384 \
		--max-conns 256 --stats-period 0.5 --request-timeout 4 --send-timeout 4; then
	abuse_cases paste-kvs "$FULL_CLASSES" noexpiry
	check_eq "$(kvs_field lwip_asserts)" 0 "[paste-kvs, full store] lwip_asserts"
fi
tb_finish
