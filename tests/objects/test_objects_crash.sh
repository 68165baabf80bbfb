#!/bin/bash
# Suite 'crash': paste-objects killed (-9) during 8 parallel uploads of
# 32 MB objects (boto3, single PUTs: multipart has tests of its own). After
# a restart on the same pool file every object that got its 200 reads back
# with its MD5, and no partial object is listed: each listed object is one
# that was sent, whole, with its MD5 (clients_boto3.py crash-upload and
# crash-verify). The uploads are staggered so that some are always in
# flight; the kill comes once 4 are acknowledged.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/../kvs/kvs_lib.sh"
# shellcheck source=tests/objects/objects_lib.sh
. "$(dirname "$0")/objects_lib.sh"
SIZE=$((32 * 1024 * 1024))
# 1.1 GB of /dev/shm: 16 objects of 32 MB (each ~23,000 buffers of 1,448
# bytes) and the reserve of 8 in flight (32,770 each).
OBJ_POOL_BUFS=524288
objects_testbed_up k
W=$TB_WORK
: >"$W/started"
: >"$W/acked"
if objects_start crash; then
	# timeout itself in the background (not run_bounded in a subshell):
	# bg_kill's SIGTERM then reaches the clients through it.
	bg_start timeout -k 5 240 "${BOTO[@]}" crash-upload "$W" 8 "$SIZE" >"$W/upload.log" 2>&1
	up=$BG_PID
	for ((i = 0; i < 1800; i++)); do
		[ "$(wc -l <"$W/acked")" -ge 4 ] && break
		kill -0 "$up" 2>/dev/null || break
		sleep 0.1
	done
	log "$(wc -l <"$W/acked") acknowledged, $(wc -l <"$W/started") started when the server is killed"
	stop_kvs KILL
	check_eq "$KVS_RC" 137 "the server killed (-9)"
	# No 200 can come any more: the clients' waits on dead connections
	# need not run out.
	bg_kill "$up" 2
	bg_forget "$up"
	sed 's/^/    /' "$W/upload.log" | tail -n 5
	if objects_start crash2; then
		# The uploads cut short kept buffers no record names: freed.
		rel=$(grep -m1 '^paste-objects: recovered' "$KVS_LOG" | sed -n 's/.* released=\([0-9]*\).*/\1/p')
		check_gt "${rel:-0}" 0 "recovery freed the buffers of the uploads cut short"
		objects_py "after kill -9: acknowledged objects whole, nothing partial listed" 300 \
			crash-verify "$W" "$SIZE"
		objects_healthy "after recovery"
		stop_kvs INT
		check_eq "$KVS_RC" 0 "clean exit after recovery"
	fi
fi
tb_finish
