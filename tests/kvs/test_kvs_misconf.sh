#!/bin/bash
# Suite 'net': paste-kvs when the pool's msync fails (a real failed msync:
# tests/kvs/fail_msync.c, preloaded, fails it while a flag file exists), in
# both index modes. Nothing is sent while drains fail; the write whose drain
# failed is acknowledged after a later drain succeeds; writes meanwhile get
# -MISCONF, reads and INFO are served; writes are accepted again after; a
# restart finds the acknowledged value.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
SHIM="$BUILD_DIR/tests/libfail_msync.so"
[ -f "$SHIM" ] || die "$SHIM not built"
kvs_testbed_up m redis-cli
IP=$TB_PASTE_IP
FLAG="$TB_WORK/fail-msync"

for index in wal btree; do
	what="[$index]"
	pool="$TB_SHM/kvs-misconf-$index.pool"
	export LD_PRELOAD="$SHIM" PASTE_FAIL_MSYNC_WHILE="$FLAG"
	start_kvs "$NAME" "$pool" --index "$index" --persist msync --pool-bufs 16384 \
		--mbufs 1024
	started=$?
	unset LD_PRELOAD PASTE_FAIL_MSYNC_WHILE
	[ "$started" -eq 0 ] || continue
	run_bounded 60 "${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/kvs/misconf_client.py" \
		"$IP" 6379 "$FLAG" >"$TB_WORK/client.$index" 2>&1
	rc=$?
	sed 's/^/    /' "$TB_WORK/client.$index"
	check_rc $rc "$what failed drains: nothing acknowledged early, -MISCONF, writes again after"
	rm -f "$FLAG"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "$what clean exit"
	grep -q 'drain failed: .*refusing writes' "$KVS_LOG"
	check_rc $? "$what the server reports the failed drain"
	grep -q 'drain succeeded again; accepting writes' "$KVS_LOG"
	check_rc $? "$what the server reports writes accepted again"
	start_kvs "$NAME" "$pool" --index "$index" --persist msync || continue
	out=$(run_bounded 20 "${LX[@]}" redis-cli -h "$IP" -p 6379 GET mk)
	check_eq "$out" v2 "$what the write acknowledged after the failed drains survives a restart"
	out=$(run_bounded 20 "${LX[@]}" redis-cli -h "$IP" -p 6379 EXISTS refused)
	check_eq "$out" 0 "$what the write refused with -MISCONF is absent after a restart"
	stop_kvs INT
done
tb_finish
