#!/bin/bash
# Suite 'net': paste-kvs when a drain of its page-cache pool fails, in both
# index modes. tests/kvs/fail_msync.c (preloaded) keeps a shadow of the file
# as of the last successful msync, the medium, and fails one msync the way
# Linux does (those pages never reach the medium, later msyncs succeed).
# The server must stop: no reply of the failed batch nor a later one,
# every connection reset, exit status 74 (EX_IOERR) with a message. A
# restart from the shadow must then read back every acknowledged write.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
SHIM="$BUILD_DIR/tests/libfail_msync.so"
[ -f "$SHIM" ] || die "$SHIM not built"
kvs_testbed_up sf redis-cli
IP=$TB_PASTE_IP
FLAG="$TB_WORK/fail-msync"

for index in wal btree; do
	what="[$index]"
	pool="$TB_SHM/kvs-syncfail-$index.pool"
	shadow="$TB_WORK/medium-$index.pool"
	acked="$TB_WORK/acked.$index"
	# The medium starts as a pool made and closed cleanly.
	start_kvs "$NAME" "$pool" --index "$index" --persist msync --pool-bufs 16384 \
		--mbufs 1024 || continue
	stop_kvs INT
	export LD_PRELOAD="$SHIM" PASTE_SHADOW_POOL="$pool" PASTE_SHADOW_FILE="$shadow" \
		PASTE_FAIL_MSYNC_ONCE="$FLAG"
	start_kvs "$NAME" "$pool" --index "$index" --persist msync --mbufs 1024
	started=$?
	unset LD_PRELOAD PASTE_SHADOW_POOL PASTE_SHADOW_FILE PASTE_FAIL_MSYNC_ONCE
	[ "$started" -eq 0 ] || continue
	run_bounded 60 "${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/kvs/sync_fail_client.py" \
		write "$IP" 6379 "$FLAG" "$acked" >"$TB_WORK/client.$index" 2>&1
	rc=$?
	sed 's/^/    /' "$TB_WORK/client.$index"
	check_rc $rc "$what a failed drain: nothing of it or after it acknowledged, connections reset"
	if wait_pid "$KVS_PID" 10; then
		check_eq "$WAIT_RC" 74 "$what the server stops with exit status 74 (EX_IOERR)" ||
			show_log "$KVS_LOG" 60
		bg_forget "$KVS_PID"
		KVS_PID=""
	else
		fail "$what the server still runs 10 s after its drain failed"
		stop_kvs KILL
	fi
	grep -q 'paste-kvs: drain of the pool failed.*stopping' "$KVS_LOG"
	check_rc $? "$what the server says why it stopped"
	rm -f "$FLAG"
	# Power cut: the file holds what the medium holds.
	cp "$shadow" "$pool"
	start_kvs "$NAME" "$pool" --index "$index" --persist msync || continue
	run_bounded 30 "${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/kvs/sync_fail_client.py" \
		verify "$IP" 6379 "$acked" >"$TB_WORK/verify.$index" 2>&1
	rc=$?
	sed 's/^/    /' "$TB_WORK/verify.$index"
	check_rc $rc "$what a restart from the medium reads back every acknowledged write"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "$what clean exit after the restart"
done
tb_finish
