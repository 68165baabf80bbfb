#!/bin/bash
# Suite 'net': the stack on the other virtual devices.
#
#  - net_tap: paste-testpmd answers ping and receives a TCP stream from the
#    kernel through a tap interface (in a namespace of its own). The tap PMD
#    advertises checksum offloads, so this also runs the offload path.
#  - net_memif: two paste stacks talk TCP over shared memory (DPDK to DPDK),
#    and the client says farewell before it leaves:
#    tcp-client sends a pattern to tcp-sink; the digests match and every
#    received segment lay in the sink's pool file.
#  - net_memif, raw modes: the logger's memif chain (txonly -memif- log
#    -memif- rxonly), senders leaving one after another, then the logger
#    leaving under its peers; the farewell (paste_port.h) keeps every end
#    from faulting in DPDK's memif.
#  - net_ring: raw io forwarding on a loopback ring; net_null: rxonly, every
#    received frame's data lies in the pool file.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"
tb_require
tb_reap_stale
tb_workdirs

EAL=(--no-huge -m 512 --no-pci --no-shconf --no-telemetry --iova-mode=va
	--log-level=lib.eal:error)
N=0

# run_tp LOG PREFIX [ns-exec...] -- EAL-VDEV... -- OPTIONS...: a paste-testpmd
# in the background; its pid in BG_PID.
run_tp() {
	local logf=$1 prefix=$2
	shift 2
	local pre=()
	while [ "$1" != "--" ]; do pre+=("$1"); shift; done
	shift
	local vdevs=()
	while [ "$1" != "--" ]; do vdevs+=("$1"); shift; done
	shift
	TB_EAL_PREFIXES+=("$prefix")
	bg_start "${pre[@]}" "$TESTPMD" "${EAL[@]}" --file-prefix "$prefix" "${vdevs[@]}" -- "$@" \
		>"$logf" 2>&1
}

stop_tp() {
	local pid=$1
	kill -INT "$pid" 2>/dev/null
	wait_pid "$pid" 10 || { kill -KILL "$pid" 2>/dev/null; WAIT_RC=137; }
	bg_forget "$pid"
	return "${WAIT_RC:-1}"
}

# --- net_tap -------------------------------------------------------------------
# Named like a testbed's paste side, so lib.sh's cleanup (testbed.sh down)
# and tb_reap_stale remove it on every exit path.
NS="pnv$$-paste"
TAP="pnt$$"
TB_NAMES+=("pnv$$")
ip netns add "$NS" || die "cannot create namespace $NS"
log "net_tap in namespace $NS"
N=$((N + 1))
LOG="$TB_WORK/tap.log"
run_tp "$LOG" "pnv$$_$N" nsenter --net="/run/netns/$NS" -- "--vdev=net_tap0,iface=$TAP" -- \
	--forward-mode=tcp-sink --ip 198.18.1.1/24 --pool-file "$TB_SHM/tap.pool" \
	--pool-bufs 16384
TAP_PID=$BG_PID
if wait_log "$LOG" '^paste-testpmd: ready ' 20 "$TAP_PID"; then
	pass "net_tap: stack up"
	nsenter --net="/run/netns/$NS" ip link set lo up
	nsenter --net="/run/netns/$NS" ip addr add 198.18.1.2/24 dev "$TAP"
	nsenter --net="/run/netns/$NS" ip link set "$TAP" up
	out=$(run_bounded 30 nsenter --net="/run/netns/$NS" ping -n -c 3 -i 0.2 -W 2 198.18.1.1 2>&1)
	check_rc $? "net_tap: ping 198.18.1.1 through the tap"
	make_random "$TB_WORK/tap.bin" $((8 << 20))
	run_bounded 60 nsenter --net="/run/netns/$NS" nc -N -w 20 198.18.1.1 5001 <"$TB_WORK/tap.bin"
	check_rc $? "net_tap: nc sends 8 MiB"
	if wait_log "$LOG" '^tcp-sink: conn .* closed ' 20 "$TAP_PID"; then
		line=$(grep -m1 '^tcp-sink: conn .* closed ' "$LOG")
		check_eq "$(field sha256 "$line")" "$(sha_of "$TB_WORK/tap.bin")" "net_tap: sha256 of the stream"
		check_eq "$(field outside_pool "$line")" 0 "net_tap: every segment in the pool file"
	else
		fail "net_tap: no closed line from tcp-sink"
		show_log "$LOG"
	fi
	stop_tp "$TAP_PID"
	check_rc $? "net_tap: clean exit"
	check_eq "$(stack_field lwip_asserts "$LOG")" 0 "net_tap: lwip_asserts"
else
	fail "net_tap: paste-testpmd not ready"
	show_log "$LOG"
	stop_tp "$TAP_PID"
fi
ip netns del "$NS" 2>/dev/null

# --- net_memif: paste to paste ----------------------------------------------------
SOCK="$TB_WORK/memif.sock"
log "net_memif over $SOCK"
N=$((N + 1))
SLOG="$TB_WORK/memif-sink.log"
run_tp "$SLOG" "pnv$$_$N" -- "--vdev=net_memif0,role=server,socket=$SOCK,socket-abstract=no" -- \
	--forward-mode=tcp-sink --ip 198.18.2.1/24 --pool-file "$TB_SHM/memif-s.pool" \
	--pool-bufs 16384
SINK_PID=$BG_PID
if wait_log "$SLOG" '^paste-testpmd: ready ' 20 "$SINK_PID"; then
	N=$((N + 1))
	CLOG="$TB_WORK/memif-client.log"
	run_tp "$CLOG" "pnv$$_$N" -- "--vdev=net_memif0,role=client,socket=$SOCK,socket-abstract=no" -- \
		--forward-mode=tcp-client --ip 198.18.2.2/24 --connect 198.18.2.1:5001 \
		--client-bytes 16M --pool-file "$TB_SHM/memif-c.pool" --pool-bufs 16384 --max-time 60
	CLIENT_PID=$BG_PID
	if wait_pid "$CLIENT_PID" 70; then
		bg_forget "$CLIENT_PID"
		check_eq "$WAIT_RC" 0 "net_memif: tcp-client exit status"
	else
		fail "net_memif: tcp-client did not finish"
		stop_tp "$CLIENT_PID"
	fi
	done_line=$(grep -m1 '^tcp-client: done ' "$CLOG")
	if wait_log "$SLOG" '^tcp-sink: conn .* closed ' 20 "$SINK_PID"; then
		line=$(grep -m1 '^tcp-sink: conn .* closed ' "$SLOG")
		check_eq "$(field bytes "$line")" $((16 << 20)) "net_memif: bytes received"
		check_eq "$(field sha256 "$line")" "$(field sha256 "$done_line")" "net_memif: sink digest equals client digest"
		check_eq "$(field outside_pool "$line")" 0 "net_memif: every segment in the pool file"
	else
		fail "net_memif: no closed line from tcp-sink"
		show_log "$SLOG"
		show_log "$CLOG"
	fi
	stop_tp "$SINK_PID"
	check_rc $? "net_memif: sink clean exit"
	# The client said farewell before it left (src/stack/farewell.h).
	check_eq "$(field peer_farewells "$(grep '^stack: ' "$SLOG" | tail -n 1)")" 1 \
		"net_memif: the sink heard the client's farewell"
else
	fail "net_memif: sink not ready"
	show_log "$SLOG"
	stop_tp "$SINK_PID"
fi

# --- net_memif: raw modes, peers leaving --------------------------------------------
# DPDK 22.11's memif unmaps its rings when the peer disconnects, while a
# poller may be inside a burst on them; paste-testpmd's raw modes guard
# their ports with the farewell (paste_port.h). The logger's chain S -memif-
# M -memif- R (bench/log-bench.sh --memif): M forwards in log mode between
# its two memifs, R receives (rxonly), senders S (txonly, unpaced) come and
# leave LEAVES times; then M leaves under one more sender and R. Nobody
# faults, and each end parked for each peer that left.
LEAVES=8
SOCKA="$TB_WORK/memif-raw-a.sock"
SOCKB="$TB_WORK/memif-raw-b.sock"
MEMIF_RAW=(--busy-poll --pool-bufs 8192 --nb-mbufs 4096)
# memif registers a multi-process action when it probes two ports: no
# --no-shconf here (bench/log-bench.sh does the same).
EAL_SAVED=("${EAL[@]}")
EAL=(--no-huge -m 512 --no-pci --no-telemetry --iova-mode=va --log-level=lib.eal:error)
log "net_memif raw modes: $LEAVES senders leave the logger, then the logger leaves"
# check_alive PID LOG WHAT: passes while PID runs; else its exit status
# and the end of its LOG.
check_alive() {
	if kill -0 "$1" 2>/dev/null; then
		pass "$3"
	else
		wait "$1" 2>/dev/null
		fail "$3: it exited with status $?"
		show_log "$2"
	fi
}
# parks JSON: the parks counted in a paste-testpmd --json file.
parks() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["peer_farewells"]["parks"])' \
		"$1" 2>/dev/null || echo none
}
N=$((N + 1))
MLOG="$TB_WORK/memif-raw-m.log"
# M on core 1, the others on core 0, as bench/log-bench.sh places them:
# three pollers on one core starve memif's connection handshake.
run_tp "$MLOG" "pnv$$_$N" -- -l 1 "--vdev=net_memif0,role=server,socket=$SOCKA,socket-abstract=no" \
	"--vdev=net_memif1,role=server,socket=$SOCKB,socket-abstract=no" -- \
	--forward-mode=log --peer-port 1 --log-filter ethertype=0x88b5 --busy-poll \
	--nb-mbufs 4096 --pool-file "$TB_SHM/memif-raw-m.pool" --pool-bufs 16384 --json "$TB_WORK/memif-raw-m.json"
M_PID=$BG_PID
# R connects once, at its start: M's sockets must be listening by then.
wait_log "$MLOG" '^paste-testpmd: ready ' 20 "$M_PID"
N=$((N + 1))
RLOG="$TB_WORK/memif-raw-r.log"
run_tp "$RLOG" "pnv$$_$N" -- -l 0 "--vdev=net_memif0,role=client,socket=$SOCKB,socket-abstract=no" -- \
	--forward-mode=rxonly "${MEMIF_RAW[@]}" --pool-file "$TB_SHM/memif-raw-r.pool" \
	--json "$TB_WORK/memif-raw-r.json"
R_PID=$BG_PID
if wait_log "$MLOG" '^paste-testpmd: ready ' 20 "$M_PID" &&
	wait_log "$RLOG" '^paste-testpmd: ready ' 20 "$R_PID"; then
	left=0
	for ((i = 1; i <= LEAVES + 1; i++)); do
		N=$((N + 1))
		SLOG="$TB_WORK/memif-raw-s$i.log"
		# The last sender stays: M leaves under it.
		run_tp "$SLOG" "pnv$$_$N" -- -l 0 "--vdev=net_memif0,role=client,socket=$SOCKA,socket-abstract=no" -- \
			--forward-mode=txonly --txonly-len 64 "${MEMIF_RAW[@]}" \
			--max-time $([ "$i" -le "$LEAVES" ] && echo 1 || echo 30) \
			--pool-file "$TB_SHM/memif-raw-s.pool" --json "$TB_WORK/memif-raw-s$i.json"
		S_PID=$BG_PID
		[ "$i" -gt "$LEAVES" ] && break
		if wait_pid "$S_PID" 30; then
			bg_forget "$S_PID"
			[ "$WAIT_RC" -eq 0 ] && left=$((left + 1)) ||
				{ log "sender $i exited with $WAIT_RC"; show_log "$SLOG"; }
		else
			stop_tp "$S_PID"
		fi
		kill -0 "$M_PID" 2>/dev/null || break
	done
	check_eq "$left" "$LEAVES" "net_memif raw: every sender left cleanly"
	check_alive "$M_PID" "$MLOG" "net_memif raw: the logger alive after $LEAVES senders left"
	wait_log "$SLOG" '^paste-testpmd: ready ' 20 "$S_PID" && sleep 1
	stop_tp "$M_PID"
	check_rc $? "net_memif raw: the logger leaves cleanly under a sender"
	check_eq "$(parks "$TB_WORK/memif-raw-m.json")" "$LEAVES" \
		"net_memif raw: the logger parked for each sender that left"
	sleep 1
	for end in "sender:$S_PID:$SLOG:$TB_WORK/memif-raw-s$i.json" "receiver:$R_PID:$RLOG:$TB_WORK/memif-raw-r.json"; do
		IFS=: read -r what pid logf json <<<"$end"
		check_alive "$pid" "$logf" "net_memif raw: the $what outlived the logger's leaving"
		stop_tp "$pid"
		check_rc $? "net_memif raw: the $what leaves cleanly"
		check_eq "$(parks "$json")" 1 "net_memif raw: the $what parked for the logger"
	done
	line=$(grep -m1 '^rxonly: ' "$RLOG")
	check_gt "$(field frames "$line")" 0 "net_memif raw: frames forwarded to the receiver"
	check_eq "$(field outside_pool "$line")" 0 "net_memif raw: every frame in the receiver's pool file"
else
	fail "net_memif raw: logger or receiver not ready"
	show_log "$MLOG"
	show_log "$RLOG"
	stop_tp "$R_PID"
	stop_tp "$M_PID"
fi
EAL=("${EAL_SAVED[@]}")

# --- net_ring and net_null: raw paths ------------------------------------------------
N=$((N + 1))
RLOG="$TB_WORK/ring.log"
run_tp "$RLOG" "pnv$$_$N" -- --vdev=net_ring0 -- --forward-mode=txonly --max-time 2 \
	--pool-file "$TB_SHM/ring.pool"
if wait_pid "$BG_PID" 30; then
	bg_forget "$BG_PID"
	check_eq "$WAIT_RC" 0 "net_ring: txonly on a loopback ring exits 0"
	rx=$(grep -m1 'RX-packets:' "$RLOG" | awk '{print $2}')
	check_gt "${rx:-0}" 0 "net_ring: frames came back on RX"
else
	fail "net_ring: did not stop"
	stop_tp "$BG_PID"
fi
N=$((N + 1))
NLOG="$TB_WORK/null.log"
run_tp "$NLOG" "pnv$$_$N" -- --vdev=net_null0 -- --forward-mode=rxonly --max-time 1 \
	--pool-file "$TB_SHM/null.pool"
if wait_pid "$BG_PID" 30; then
	bg_forget "$BG_PID"
	check_eq "$WAIT_RC" 0 "net_null: rxonly exits 0"
	line=$(grep -m1 '^rxonly: ' "$NLOG")
	check_gt "$(field frames "$line")" 0 "net_null: frames received"
	check_eq "$(field outside_pool "$line")" 0 "net_null: every frame in the pool file"
else
	fail "net_null: did not stop"
	stop_tp "$BG_PID"
fi

tb_finish
