#!/bin/bash
# Suite 'net': paste-loadgen, paste's own stack as the client, over
# net_memif (two DPDK processes, shared memory, in a namespace of their own).
#
#  - against its own responder (--respond): pipelined RESP SET/GET and HTTP
#    POST/GET; every reply as expected, the exact request counts on both
#    sides;
#  - a responder whose values have another size than the generator asks
#    for: every GET counted wrong and exit status 1 (the checks can fail);
#  - responders whose values are wrong byte for byte (--respond-wrong):
#    another key's, and 1 MiB values with byte 70000 flipped: every GET
#    counted a wrong value, described, and exit status 1;
#  - against paste-kvs (wal, zero copy): a few thousand pipelined SETs,
#    GETs of the keys set, HTTP POSTs and GETs; zero errors, and paste-kvs
#    counted exactly the requests the generator sent; then 1 MiB values
#    shaped by --auto-shape, every GET's value checked;
#  - a port nothing listens on: a clear "refused" and exit status 1; an
#    address nobody answers: a clear timeout and exit status 1;
#  - generators that come and go under load (DEPARTURES of them, against
#    the responder and against paste-kvs): each says farewell, the server
#    survives every disconnect (DPDK 22.11's memif unmaps the rings under
#    a server still polling them otherwise: src/stack/farewell.h), counts
#    every farewell and serves the next generator.
# No timing is asserted.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"
tb_require
tb_reap_stale
tb_workdirs

LOADGEN="$BUILD_DIR/bench/paste-loadgen"
KVS="$BUILD_DIR/examples/paste-kvs"
[ -x "$LOADGEN" ] || die "$LOADGEN not built"
[ -x "$KVS" ] || die "$KVS not built"

EAL=(--no-huge -m 512 --no-pci --no-shconf --no-telemetry --iova-mode=va
	--log-level=lib.eal:error)
# A namespace of this test's own (its memif traffic touches no interface,
# but nothing it starts runs outside it). Named like a testbed, so lib.sh's
# cleanup and tb_reap_stale remove it on every exit path.
NS="pnl$$-paste"
TB_NAMES+=("pnl$$")
ip netns add "$NS" || die "cannot create namespace $NS"
SOCK="$TB_WORK/memif.sock"
SERVER_IP=198.18.4.1
CLIENT_IP=198.18.4.2
N=0

# start_server LOG PROGRAM OPTIONS...: the memif server side (paste-kvs or
# the responder) in the background; its pid in SRV_PID.
start_server() {
	local logf=$1 prog=$2
	shift 2
	N=$((N + 1))
	TB_EAL_PREFIXES+=("pnl$$_$N")
	bg_start nsenter --net="/run/netns/$NS" "$prog" "${EAL[@]}" -l 1 --file-prefix "pnl$$_$N" \
		"--vdev=net_memif0,role=server,socket=$SOCK,socket-abstract=no" -- \
		--ip "$SERVER_IP/24" "$@" >"$logf" 2>&1
	SRV_PID=$BG_PID
}

stop_server() {
	kill -INT "$SRV_PID" 2>/dev/null
	wait_pid "$SRV_PID" 20 || { kill -KILL "$SRV_PID" 2>/dev/null; WAIT_RC=137; }
	bg_forget "$SRV_PID"
	return "${WAIT_RC:-1}"
}

# loadgen LOG OPTIONS...: one bounded run of the generator (memif client);
# its exit status.
loadgen() {
	local logf=$1
	shift
	N=$((N + 1))
	TB_EAL_PREFIXES+=("pnl$$_$N")
	run_bounded 90 nsenter --net="/run/netns/$NS" "$LOADGEN" "${EAL[@]}" -l 0 \
		--file-prefix "pnl$$_$N" \
		"--vdev=net_memif0,role=client,socket=$SOCK,socket-abstract=no" -- \
		--ip "$CLIENT_IP/24" --server "$SERVER_IP" --pool-file "$TB_SHM/lg.$N.pool" \
		--pool-bufs 16384 --max-time 60 --timeout 10 "$@" >"$logf" 2>&1
}

# come_and_go WHAT SERVER_LOG VALUE_SIZE: DEPARTURES short generator runs
# under load, one after the other; each must pass and leave the server
# running.
DEPARTURES=${PASTE_TEST_DEPARTURES:-12}
come_and_go() {
	local what=$1 slog=$2 size=$3 i rc hog failed=0
	# A busy process on the server's core preempts its poller at random
	# points, mid-burst too, as other work does on a loaded machine: the
	# moment the race needs. Bounded like every loop here.
	bg_start timeout 600 taskset -c 1 sh -c 'while :; do :; done'
	hog=$BG_PID
	for i in $(seq 1 "$DEPARTURES"); do
		loadgen "$TB_WORK/lg-go-$i.log" -t set,get -c 16 -P 16 -d "$size" -n 4000 -r 500
		rc=$?
		if [ "$rc" != 0 ] || ! kill -0 "$SRV_PID" 2>/dev/null; then
			fail "$what: generator $i of $DEPARTURES: exit status $rc, server $(
				kill -0 "$SRV_PID" 2>/dev/null && echo running || echo gone)"
			show_log "$TB_WORK/lg-go-$i.log"
			show_log "$slog"
			failed=1
			break
		fi
	done
	kill "$hog" 2>/dev/null
	bg_wait "$hog" >/dev/null
	[ "$failed" = 0 ] || return 1
	pass "$what: $DEPARTURES generators came and went, the server still runs"
}

# jget FILE EXPR: a value of the generator's JSON (python's syntax on "d").
jget() {
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$1" "$2" 2>/dev/null
}

# check_tests JSON WHAT N PRELOAD TEST...: each test answered N requests
# without error; GETs loaded PRELOAD keys first.
check_tests() {
	local js=$1 what=$2 n=$3 preload=$4 i=0 t
	shift 4
	check_eq "$(jget "$js" 'd["status"]')" ok "$what: status"
	for t in "$@"; do
		check_eq "$(jget "$js" "d['tests'][$i]['test']")" "$t" "$what: test $i is $t"
		check_eq "$(jget "$js" "d['tests'][$i]['replies']")" "$n" "$what: $t: $n replies"
		check_eq "$(jget "$js" "d['tests'][$i]['errors']")" 0 "$what: $t: no wrong reply"
		case "$t" in
		get | hget) check_eq "$(jget "$js" "d['tests'][$i]['preload']")" "$preload" \
			"$what: $t: $preload keys stored first" ;;
		esac
		i=$((i + 1))
	done
}

# --- the responder ------------------------------------------------------------------
log "loadgen against its responder"
RLOG="$TB_WORK/respond.log"
start_server "$RLOG" "$LOADGEN" --respond --busy-poll -d 100 --pool-file "$TB_SHM/respond.pool" \
	--pool-bufs 16384
if wait_log "$RLOG" 'responding ' 30 "$SRV_PID"; then
	LLOG="$TB_WORK/lg-respond.log"
	loadgen "$LLOG" -t set,get,post,hget -c 8 -P 16 -d 100 -n 2000 -r 500 \
		--json "$TB_WORK/respond.json"
	check_rc $? "responder: paste-loadgen exit status" || show_log "$LLOG"
	check_tests "$TB_WORK/respond.json" responder 2000 500 set get post hget
	check_eq "$(jget "$TB_WORK/respond.json" 'd["tests"][1]["values_checked"]')" 2000 \
		"responder: every GET's value checked"
	check_eq "$(jget "$TB_WORK/respond.json" 'd["tests"][3]["values_checked"]')" 2000 \
		"responder: every HTTP GET's value checked"
	LLOG="$TB_WORK/lg-unreachable.log"
	loadgen "$LLOG" -t set -c 2 -n 10 --server 198.18.4.9 --timeout 2
	check_eq "$?" 1 "an address nobody answers: exit status 1"
	grep -q 'no reply for 2.0 s while connecting' "$LLOG"
	check_rc $? "an address nobody answers: the timeout is said" || show_log "$LLOG"
	LLOG="$TB_WORK/lg-mismatch.log"
	loadgen "$LLOG" -t get -c 4 -P 8 -d 64 -n 400 -r 50 --json "$TB_WORK/mismatch.json"
	check_eq "$?" 1 "responder, 100-byte values for 64-byte GETs: exit status 1"
	check_eq "$(jget "$TB_WORK/mismatch.json" 'd["tests"][0]["errors"]')" 400 \
		"responder, wrong value size: every GET counted wrong"
	grep -q 'a 100-byte value, not the size set' "$LLOG"
	check_rc $? "responder, wrong value size: the reason is printed" || show_log "$LLOG"
	come_and_go responder "$RLOG" 100
	stop_server
	check_rc $? "responder: clean exit"
	line=$(grep -m1 '^respond: ' "$RLOG")
	# 2000 per test, 500 SETs and 500 POSTs before the GETs, 400 + 50 wrong.
	# ... and each generator that came and went: 4000 SETs, 500, 4000 GETs.
	check_eq "$(field resp "$line")" $((2000 + 500 + 2000 + 400 + 50 + DEPARTURES * 8500)) \
		"responder: RESP requests counted"
	check_eq "$(field http "$line")" $((2000 + 500 + 2000)) "responder: HTTP requests counted"
	check_eq "$(field bad "$line")" 0 "responder: no unparseable request"
	check_eq "$(field lwip_asserts "$line")" 0 "responder: lwip_asserts"
	# Every generator said farewell, the one that found no TCP peer too:
	# the memif port connects whatever TCP then finds.
	check_eq "$(field peer_farewells "$line")" $((3 + DEPARTURES)) \
		"responder: a farewell from every generator"
else
	fail "responder not ready"
	show_log "$RLOG"
	stop_server
fi

# --- responders with wrong values ----------------------------------------------------
# wrong_values LABEL WRONG SIZE WHY: a responder answering GETs with values
# wrong as WRONG; the generator's GETs must all be counted wrong values,
# the first described with WHY (a grep pattern), and it must exit 1.
wrong_values() {
	local label=$1 wrong=$2 size=$3 why=$4 wlog llog js
	wlog="$TB_WORK/respond-$label.log"
	llog="$TB_WORK/lg-wrong-$label.log"
	js="$TB_WORK/wrong-$label.json"
	log "loadgen against a responder with wrong values: $label"
	start_server "$wlog" "$LOADGEN" --respond-wrong "$wrong" --busy-poll -d "$size" \
		--pool-file "$TB_SHM/respond-$label.pool" --pool-bufs 16384
	if ! wait_log "$wlog" 'responding ' 30 "$SRV_PID"; then
		fail "$label: responder not ready"
		show_log "$wlog"
		stop_server
		return
	fi
	loadgen "$llog" -t get --no-load -c 2 -P 2 -d "$size" -n 20 -r 50 --json "$js"
	check_eq "$?" 1 "$label: exit status 1"
	check_eq "$(jget "$js" 'd["tests"][0]["wrong_values"]')" 20 "$label: every GET a wrong value"
	check_eq "$(jget "$js" 'd["tests"][0]["errors"]')" 20 "$label: ... counted in errors"
	grep -q "wrong value: $why" "$llog"
	check_rc $? "$label: the wrong value is described" || show_log "$llog"
	stop_server
	check_rc $? "$label: responder: clean exit"
}
wrong_values other-key key 64 'key:[0-9]* (version 0): the value of key:'
wrong_values flipped-byte byte:70000 1048576 'key:[0-9]* version 0, corrupt from byte 70000 '

# --- paste-kvs ------------------------------------------------------------------------
log "loadgen against paste-kvs"
KLOG="$TB_WORK/kvs.log"
start_server "$KLOG" "$KVS" --busy-poll --index wal --pool-file "$TB_SHM/kvs.pool" --pool-bufs 65536 \
	--persist flush
if wait_log "$KLOG" '^paste-kvs: ready ' 30 "$SRV_PID"; then
	LLOG="$TB_WORK/lg-kvs.log"
	loadgen "$LLOG" -t set,get,post,hget -c 10 -P 16 -d 1024 -n 3000 -r 1000 \
		--json "$TB_WORK/kvs.json"
	check_rc $? "paste-kvs: paste-loadgen exit status" || show_log "$LLOG"
	check_tests "$TB_WORK/kvs.json" paste-kvs 3000 1000 set get post hget
	LLOG="$TB_WORK/lg-refused.log"
	loadgen "$LLOG" -t set -c 2 -n 10 --resp-port 6390
	check_eq "$?" 1 "paste-kvs, a port nothing listens on: exit status 1"
	grep -q 'connect to 198.18.4.1:6390: .*refused' "$LLOG"
	check_rc $? "paste-kvs, a port nothing listens on: 'refused' is said" || show_log "$LLOG"
	come_and_go paste-kvs "$KLOG" 512
	# 1 MiB values, as many segments each way; --auto-shape keeps them
	# within both pools (this server's 65536 buffers).
	LLOG="$TB_WORK/lg-kvs-1m.log"
	loadgen "$LLOG" -t set,get -d 1048576 --auto-shape --server-bufs 65536 -n 16 \
		--json "$TB_WORK/kvs-1m.json"
	check_rc $? "paste-kvs, 1 MiB values: paste-loadgen exit status" || show_log "$LLOG"
	SHAPE_R=$(jget "$TB_WORK/kvs-1m.json" 'd["keyspace"]')
	check_tests "$TB_WORK/kvs-1m.json" "paste-kvs, 1 MiB values" 16 "$SHAPE_R" set get
	check_eq "$(jget "$TB_WORK/kvs-1m.json" 'd["tests"][1]["values_checked"]')" 16 \
		"paste-kvs, 1 MiB values: every GET's value checked"
	grep -q '^paste-loadgen: auto-shape for -d 1048576: ' "$LLOG"
	check_rc $? "paste-kvs, 1 MiB values: the shape chosen is printed" || show_log "$LLOG"
	stop_server
	check_rc $? "paste-kvs: clean exit"
	line=$(grep '^kvs: ' "$KLOG" | tail -n 1)
	check_eq "$(field requests "$line")" \
		$((4 * 3000 + 2 * 1000 + DEPARTURES * (2 * 4000 + 500) + 2 * 16 + SHAPE_R)) \
		"paste-kvs: counted every request the generator sent"
	check_eq "$(field bad_requests "$line")" 0 "paste-kvs: no bad request"
	check_eq "$(field keys "$line")" 1000 "paste-kvs: the keyspace stored (RESP and HTTP share it)"
	check_eq "$(field lwip_asserts "$line")" 0 "paste-kvs: lwip_asserts"
	# Every generator that reached the port said farewell: the first
	# two, the refused one, those that came and went and the 1 MiB one.
	check_eq "$(field peer_farewells "$(grep ' peer_farewells=' "$KLOG" | tail -n 1)")" \
		$((3 + DEPARTURES)) "paste-kvs: a farewell from every generator"
else
	fail "paste-kvs not ready"
	show_log "$KLOG"
	stop_server
fi
tb_finish
