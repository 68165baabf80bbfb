#!/bin/bash
# Suite 'net': a pool knows its owner (issue 22). A pool file records which
# application and index own its root slots, and nothing is reconciled
# against a stranger's structure:
#   (a) 200 keys written with --index wal; a start with --index btree is
#       refused (non-zero exit, a message naming both indexes) and leaves
#       the file byte-identical; a start without --index opens the wal
#       index and finds all 200 keys;
#   (b) the same with the indexes swapped (a btree pool, --index wal);
#       a new pool without --index gets wal;
#   (c) pools written by paste-testpmd's packet log and by paste-echo are
#       refused by paste-kvs, byte-identical after;
#   (d) paste-testpmd's log mode and paste-echo refuse a paste-kvs pool,
#       which is byte-identical after and still holds its 200 keys.
# The other programs run on net_null ports: they need no testbed.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
ECHO="$BUILD_DIR/examples/paste-echo"
[ -x "$ECHO" ] || die "$ECHO not built"
kvs_testbed_up o redis-cli
IP=$TB_PASTE_IP
KEYS=200
# paste-echo opens only pools of its own size (65536 buffers): a kvs pool of
# that size is refused by its owner, not by its geometry.
KVS_BUFS=65536
RC=(run_bounded 60 "${LX[@]}" redis-cli -h "$IP" -p 6379)

# write_keys WHAT: SET owner:1..KEYS, every one acknowledged.
write_keys() {
	local what=$1 n
	n=$(for ((i = 1; i <= KEYS; i++)); do echo "SET owner:$i value-$i"; done |
		"${RC[@]}" 2>&1 | grep -c '^OK$')
	check_eq "$n" "$KEYS" "$what $KEYS keys written"
}

# keys_left: how many of owner:1..KEYS read back with their value.
keys_left() {
	local i
	for ((i = 1; i <= KEYS; i++)); do echo "GET owner:$i"; done | "${RC[@]}" 2>/dev/null |
		awk '$0 == "value-" NR { n++ } END { print n + 0 }'
}

# refused WHAT READY_ERE WANT_ERE POOL CMD...: CMD must exit non-zero without
# printing its ready line (within 30 s), its output matching WANT_ERE, and
# POOL must be byte for byte what it was before.
REF_N=0
refused() {
	local what=$1 ready=$2 want=$3 pool=$4 pid out
	shift 4
	REF_N=$((REF_N + 1))
	out="$TB_WORK/refused.$REF_N.log"
	cp "$pool" "$TB_SHM/before.pool" || die "copy of $pool"
	log "$what: ${*:3}"
	bg_start "$@" >"$out" 2>&1
	pid=$BG_PID
	if wait_log "$out" "$ready" 30 "$pid"; then
		fail "$what: started instead of refusing the pool"
		kill -INT "$pid" 2>/dev/null
		wait_pid "$pid" 10 || kill -KILL "$pid" 2>/dev/null
		bg_forget "$pid"
	elif ! wait_pid "$pid" 10; then
		fail "$what: neither ready nor gone after 30 s"
		kill -KILL "$pid" 2>/dev/null
		bg_forget "$pid"
	else
		bg_forget "$pid"
		if [ "$WAIT_RC" -ne 0 ]; then
			pass "$what: refused (exit status $WAIT_RC)"
		else
			fail "$what: exit status 0"
		fi
	fi
	if grep -Eq -- "$want" "$out"; then
		log "$what: $(grep -Em1 -- "$want" "$out")"
		pass "$what: says '$want'"
	else
		fail "$what: no '$want' in its output"
		show_log "$out" 20
	fi
	cmp -s "$pool" "$TB_SHM/before.pool"
	check_rc $? "$what: the pool file is byte-identical"
	rm -f "$TB_SHM/before.pool"
}

# kvs_cmd NAME: paste-kvs's command line as start_kvs builds it, without
# the pool and options (for refused).
kvs_cmd() {
	local prefix="pkvs$$_r$REF_N"
	TB_EAL_PREFIXES+=("$prefix")
	KVS_CMD=(nsenter --net="/run/netns/$1-paste" "$KVS"
		--no-huge -m 512 --no-pci --no-shconf --no-telemetry --iova-mode=va
		--file-prefix "$prefix" --log-level=lib.eal:error
		"--vdev=net_af_packet0,iface=$1-p,qpairs=1"
		-- --ip "$TB_PASTE_IP/$TB_PREFIX_LEN" --persist flush)
}

# The other programs on two net_null ports (paste-echo uses the first).
null_eal() {
	local prefix="powner$$_$1"
	TB_EAL_PREFIXES+=("$prefix")
	NULL_EAL=(--no-huge -m 512 --no-pci --no-shconf --no-telemetry --iova-mode=va
		--file-prefix "$prefix" --log-level=lib.eal:error
		--vdev=net_null0 --vdev=net_null1)
}
testpmd_log_cmd() {
	null_eal "tp$REF_N"
	TP_CMD=("$TESTPMD" "${NULL_EAL[@]}" -- --forward-mode=log --peer-port 1
		--pool-file "$1" --pool-bufs 8192 --log-segments 2)
}
echo_cmd() {
	null_eal "echo$REF_N"
	ECHO_CMD=("$ECHO" "${NULL_EAL[@]}" -- --ip "$TB_PASTE_IP" --pool-file "$1")
}

# run_until_ready WHAT READY_ERE CMD...: CMD up to its ready line, then SIGINT;
# a clean exit wanted (how the other programs write their pools).
run_until_ready() {
	local what=$1 ready=$2 pid out
	shift 2
	out="$TB_WORK/$what.log"
	bg_start "$@" >"$out" 2>&1
	pid=$BG_PID
	if ! wait_log "$out" "$ready" 30 "$pid"; then
		fail "$what: not ready within 30 s"
		show_log "$out" 20
	fi
	kill -INT "$pid" 2>/dev/null
	wait_pid "$pid" 10 || { kill -KILL "$pid" 2>/dev/null; WAIT_RC=137; }
	bg_forget "$pid"
	check_eq "$WAIT_RC" 0 "$what: clean exit"
}

# --- (a), (b) ---------------------------------------------------------------
declare -A POOL SLOT
SLOT[wal]=0
SLOT[btree]=1
for kind in wal btree; do
	other=btree
	[ "$kind" = btree ] && other=wal
	what="[$kind]"
	POOL[$kind]="$TB_SHM/kvs-owner-$kind.pool"
	pool=${POOL[$kind]}
	start_kvs "$NAME" "$pool" --index "$kind" --pool-bufs "$KVS_BUFS" --mbufs 1024 ||
		die "$what paste-kvs did not start"
	write_keys "$what"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "$what clean exit"

	kvs_cmd "$NAME"
	refused "$what --index $other" '^paste-kvs: ready ' \
		"root slot ${SLOT[$kind]} holds a paste-kvs $kind index; --index $other asked" \
		"$pool" "${KVS_CMD[@]}" --pool-file "$pool" --index "$other" --mbufs 1024

	start_kvs "$NAME" "$pool" --mbufs 1024 || die "$what paste-kvs without --index did not start"
	if grep -q "^paste-kvs: recovered .*(index $kind," "$KVS_LOG"; then
		pass "$what without --index: opens the $kind index the pool records"
	else
		fail "$what without --index: not the $kind index"
		show_log "$KVS_LOG" 10
	fi
	left=$(keys_left)
	log "$what $left of $KEYS keys left"
	check_eq "$left" "$KEYS" "$what every key there after the refused start"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "$what clean exit"
done

# A new pool without --index: the default index, wal.
start_kvs "$NAME" "$TB_SHM/kvs-owner-new.pool" --pool-bufs 16384 --mbufs 1024 ||
	die "paste-kvs on a new pool without --index did not start"
grep -q "^paste-kvs: recovered .*(index wal," "$KVS_LOG"
check_rc $? "a new pool without --index gets the wal index"
stop_kvs INT
rm -f "$TB_SHM/kvs-owner-new.pool"

# --- (c) other programs' pools, refused by paste-kvs ---------------------------
LOG_POOL="$TB_SHM/owner-testpmd.pool"
testpmd_log_cmd "$LOG_POOL"
run_until_ready testpmd-log '^paste-testpmd: ready ' "${TP_CMD[@]}"
kvs_cmd "$NAME"
refused "[testpmd pool] paste-kvs" '^paste-kvs: ready ' 'paste-testpmd' \
	"$LOG_POOL" "${KVS_CMD[@]}" --pool-file "$LOG_POOL" --mbufs 1024
rm -f "$LOG_POOL"

ECHO_POOL="$TB_SHM/owner-echo.pool"
echo_cmd "$ECHO_POOL"
run_until_ready echo '^paste-echo: listening ' "${ECHO_CMD[@]}"
kvs_cmd "$NAME"
refused "[echo pool] paste-kvs" '^paste-kvs: ready ' 'paste-echo' \
	"$ECHO_POOL" "${KVS_CMD[@]}" --pool-file "$ECHO_POOL" --index wal --mbufs 1024
rm -f "$ECHO_POOL"

# --- (d) a paste-kvs pool, refused by the other programs ----------------------
pool=${POOL[wal]}
testpmd_log_cmd "$pool"
refused "[kvs pool] paste-testpmd log" '^paste-testpmd: ready ' 'paste-kvs' \
	"$pool" "${TP_CMD[@]}"
echo_cmd "$pool"
refused "[kvs pool] paste-echo" '^paste-echo: listening ' 'paste-kvs' \
	"$pool" "${ECHO_CMD[@]}"
start_kvs "$NAME" "$pool" --mbufs 1024 || die "paste-kvs did not start again"
check_eq "$(keys_left)" "$KEYS" "[kvs pool] every key there after the others refused it"
stop_kvs INT
tb_finish
