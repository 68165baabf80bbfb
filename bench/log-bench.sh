#!/bin/bash
# The packet logger's price, in two parts.
#
# null: paste-testpmd --forward-mode=log between two net_null ports (every
#   frame kept, recorded, flushed, one drain per burst, the ring wrapping all
#   the time) against io mode on one net_null port (receive and send back,
#   nothing recorded). net_null makes and eats frames at memory speed, so
#   what is measured is the forwarding core alone.
#
# wire: what a user would run instead. Three namespaces, S -veth- M -veth- R;
#   a sender in S (paste-testpmd txonly on af_packet, core 0, unpaced) sends
#   UDP frames that M forwards to R, where they are counted (R's veth
#   rx_packets). M is, in turn:
#     bridge   a Linux bridge, nothing recorded (the kernel's forwarding);
#     tcpdump  the same bridge with `tcpdump -i M0 -Q in -w FILE`, FILE on
#              /dev/shm (tmpfs, like the pool), tcpdump pinned to core 1;
#     fwd      paste-testpmd log mode on af_packet, core 1, with a filter no
#              frame matches (forwarded, nothing recorded);
#     log      paste-testpmd log mode recording every frame (--persist flush:
#              cache-line flushes and one fence per burst, the NVMM emulation).
#   RPS puts M's receive work on core 1 in every case, so core 1 is "the
#   forwarding core" of all four; its busy time (/proc/stat) over the run,
#   divided by frames delivered to R, is the cost per frame.
#
# memif: the NIC-like path (issue 23). af_packet caps paste at about 60K
#   frames/s whatever it does with them; here nothing of the kernel's is on
#   the path. One namespace (memif's abstract sockets live in it), a chain
#   S -memif- M -memif- R: S paste-testpmd txonly (unpaced, busy-polling)
#   and R paste-testpmd rxonly share core 0, M runs on core 1 and is, in
#   turn:
#     testpmd  dpdk-testpmd --forward-mode=io between its two memifs
#              (DPDK's own forwarder, nothing recorded);
#     fwd      paste-testpmd log mode, a filter no frame matches
#              (forwarded, nothing recorded);
#     log      paste-testpmd log mode recording every frame (--persist
#              flush, pool on /dev/shm).
#   S offers the same unpaced load to all three. Frames/s is R's receive
#   rate (its Rx-pps every half second, averaged over the blocks inside
#   the window); core 1's busy time (/proc/stat) over the window, divided by
#   the frames R received in it, is M's core time per frame (M busy-polls:
#   for the paste modes and testpmd alike a whole core over the rate, an
#   upper bound of the work a frame takes).
#
#   bench/log-bench.sh [--null|--wire|--memif] [--quick] [--json FILE]
#                      [SECONDS] [FRAME-BYTES...]
#       defaults: the null and wire parts, 5 s per mode, 64-byte frames;
#       the JSON results go to bench/results/log-bench-<time>.json.
#       --memif runs the memif part alone (give --null --wire --memif
#       for all three); --quick: 2 s per mode, 64-byte frames, only checks
#       (every mode delivers frames, log records every frame it forwards;
#       exit status 1 if not), results in the work directory only (the
#       bench smoke test runs `--memif --quick`).
#
# Holds /tmp/paste-net.lock as the busy-polling test suites do: for each
# run of the null part, for the whole wire part. Root (namespaces) for the wire part. Environment: BUILD_DIR
# (default build).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
parts=""
json=""
quick=0
while [ $# -gt 0 ]; do
	case "$1" in
	--null) parts="$parts null" ;;
	--wire) parts="$parts wire" ;;
	--memif) parts="$parts memif" ;;
	--quick) quick=1 ;;
	--json) json=$2; shift ;;
	-h | --help) sed -n '2,60p' "$0"; exit 0 ;;
	-*) echo "log-bench: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
[ -n "$parts" ] || parts="null wire"
if [ "$quick" = 1 ]; then
	secs=${1:-2}
else
	secs=${1:-5}
fi
shift || true
sizes=("${@:-64}")
build=${BUILD_DIR:-build}
tp="$build/examples/paste-testpmd"
[ -x "$tp" ] || { echo "log-bench: $tp not built" >&2; exit 1; }
work=$(mktemp -d /dev/shm/paste-log-bench.XXXXXX)
if [ -z "$json" ]; then
	if [ "$quick" = 1 ]; then
		json="$work/log-bench-quick.json"
	else
		json="$repo/bench/results/log-bench-$(date -u +%Y%m%dT%H%M%S).json"
	fi
fi
P=plb$$
NS=()
BG=()
summarised=0

cleanup() {
	local pid ns
	for pid in "${BG[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
	for pid in "${BG[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	# The raw files stay when the summary failed: a rerun costs minutes.
	if [ "$summarised" = 1 ] && [ -z "${LOGBENCH_KEEP:-}" ]; then rm -rf "$work"; else echo "log-bench: raw data kept in $work" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

eal() { # eal PREFIX CORE: the EAL arguments every paste-testpmd here gets
	echo --no-huge -m 512 --no-pci --no-shconf --no-telemetry --iova-mode=va \
		--file-prefix "$1" -l "$2" --log-level=lib.eal:error
}

# ---- null: the forwarding core alone -----------------------------------------

null_run() {
	local mode=$1 size=$2
	shift 2
	# shellcheck disable=SC2046
	flock /tmp/paste-net.lock timeout $((secs + 60)) "$tp" $(eal "${P}n$mode" 1) "$@" -- \
		--forward-mode="$mode" --pool-file "$work/$mode.pool" --pool-bufs 16384 \
		--nb-mbufs 2048 --max-time "$secs" --json "$work/null-$mode-$size.json" \
		$([ "$mode" = log ] && echo --peer-port 1) >"$work/$mode.log" 2>&1 ||
		{ echo "log-bench: $mode failed:" >&2; tail -n 20 "$work/$mode.log" >&2; exit 1; }
	rm -f "$work/$mode.pool"
}

# ---- wire: S -> M -> R through namespaces ------------------------------------

# Background processes are started with nsenter itself (it execs), never
# through this function, so that $! is the process to stop.
nsx() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }

# rps NS IF CORE: IF's receive work on CORE. A sysfs mounted from inside the
# namespace shows its devices (ip netns exec's remount fails in a chroot).
rps() {
	nsx "$1" sh -c 'd=$(mktemp -d /tmp/plb-sysfs.XXXXXX) && mount -t sysfs sysfs "$d" &&
		echo "$2" > "$d/class/net/$1/queues/rx-0/rps_cpus"; rc=$?; umount "$d"; rmdir "$d"; exit $rc' \
		rps "$2" "$3"
}

wire_up() {
	local ns
	for ns in "$P-s" "$P-m" "$P-r"; do
		ip netns add "$ns"
		NS+=("$ns")
		nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		nsx "$ns" ip link set lo up
	done
	ip link add "$P-s0" netns "$P-s" type veth peer name "$P-m0" netns "$P-m"
	ip link add "$P-m1" netns "$P-m" type veth peer name "$P-r0" netns "$P-r"
	nsx "$P-s" ip link set "$P-s0" up
	nsx "$P-m" ip link set "$P-m0" up
	nsx "$P-m" ip link set "$P-m1" up
	nsx "$P-r" ip link set "$P-r0" up
	rps "$P-m" "$P-m0" "${LOGBENCH_RPS_M:-2}"
	rps "$P-m" "$P-m1" "${LOGBENCH_RPS_M:-2}"
	rps "$P-r" "$P-r0" 1
}

bridge_up() {
	nsx "$P-m" ip link add br0 type bridge
	nsx "$P-m" ip link set "$P-m0" master br0
	nsx "$P-m" ip link set "$P-m1" master br0
	nsx "$P-m" ip link set br0 up
}

bridge_down() { nsx "$P-m" ip link del br0; }

# Received frames of R's veth: /proc/net/dev is the reader's namespace's
# (sysfs would show the host's). Fields after "name:": bytes, packets.
rx_count() { nsx "$P-r" awk -v i="$P-r0" '{ sub(/^ +/, ""); split($0, f, /[: ]+/) }
	f[1] == i { print f[3] }' /proc/net/dev; }
cpu_line() { awk '/^cpu[01] / { printf "%s %d ", $1, $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# wait_for FILE PATTERN SECONDS PID: until FILE holds PATTERN, bounded.
wait_for() {
	local i
	for i in $(seq $(($3 * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$4" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

stop_bg() { # stop_bg PID: SIGINT, then bounded wait
	local pid=$1 i
	kill -INT "$pid" 2>/dev/null || true
	for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	BG=("${BG[@]/$pid/}")
}

# wire_point MODE SIZE: one measurement; writes $work/wire-MODE-SIZE.json.
wire_point() {
	local mode=$1 size=$2 fpid="" tdpid="" out="$work/wire-$mode-$size"
	local r0 r1 c0 c1 t0 t1 w0 w1 spid ra rz
	ra=$(rx_count)
	case "$mode" in
	bridge) bridge_up ;;
	tcpdump)
		bridge_up
		rm -f "$work/cap.pcap"
		# -Z root: the capture directory is root's (mktemp's 0700).
		nsenter --net="/run/netns/$P-m" taskset -c 1 tcpdump -Z root -i "$P-m0" -Q in -n \
			-w "$work/cap.pcap" \
			>"$out.fwd.log" 2>&1 &
		fpid=$!
		tdpid=$fpid
		;;
	fwd | log)
		# shellcheck disable=SC2046
		nsenter --net="/run/netns/$P-m" "$tp" $(eal "${P}m" 1) "--vdev=net_af_packet0,iface=$P-m0,qpairs=1" \
			"--vdev=net_af_packet1,iface=$P-m1,qpairs=1" -- --forward-mode=log \
			--peer-port 1 --pool-file "$work/m.pool" --pool-bufs 16384 --nb-mbufs 2048 \
			--persist flush --busy-poll --max-time $((secs + 30)) --json "$out.fwd.json" \
			$([ "$mode" = fwd ] && echo --log-filter ethertype=0x88b5) >"$out.fwd.log" 2>&1 &
		fpid=$!
		;;
	esac
	[ -n "$fpid" ] && BG+=("$fpid")
	if [ "$mode" = tcpdump ]; then
		wait_for "$out.fwd.log" 'listening on' 20 "$fpid" || { cat "$out.fwd.log" >&2; return 1; }
	elif [ -n "$fpid" ]; then
		wait_for "$out.fwd.log" '^paste-testpmd: ready ' 30 "$fpid" ||
			{ cat "$out.fwd.log" >&2; return 1; }
	fi
	# The sender runs longer than the window, which lies inside its run.
	# shellcheck disable=SC2046
	nsenter --net="/run/netns/$P-s" "$tp" $(eal "${P}s" 0) "--vdev=net_af_packet0,iface=$P-s0,qpairs=1" -- \
		--forward-mode=txonly --txonly-len "$size" --busy-poll --max-time $((secs + 3)) \
		--pool-file "$work/s.pool" --pool-bufs 8192 --nb-mbufs 2048 \
		--json "$out.send.json" >"$out.send.log" 2>&1 &
	spid=$!
	BG+=("$spid")
	wait_for "$out.send.log" '^paste-testpmd: ready ' 30 "$spid" ||
		{ echo "log-bench: sender failed:" >&2; tail -n 20 "$out.send.log" >&2; return 1; }
	sleep 1
	r0=$(rx_count)
	c0=$(cpu_line)
	w0=$(date +%s.%N)
	[ -n "$tdpid" ] && t0=$(proc_ticks "$tdpid") || t0=0
	sleep "$secs"
	r1=$(rx_count)
	c1=$(cpu_line)
	w1=$(date +%s.%N)
	[ -n "$tdpid" ] && t1=$(proc_ticks "$tdpid") || t1=0
	for _ in $(seq 300); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
	stop_bg "$spid"
	sleep 0.5
	rm -f "$work/s.pool"
	[ -n "$fpid" ] && stop_bg "$fpid"
	rz=$(rx_count)
	case "$mode" in bridge | tcpdump) bridge_down ;; esac
	rm -f "$work/m.pool"
	printf '{"rx_all": %s, "rx0": %s, "rx1": %s, "wall": %s, "cpu0": "%s", "cpu1": "%s", "td_ticks": %s, "hz": %s}\n' \
		"$((rz - ra))" "$r0" "$r1" "$(echo "$w1 - $w0" | bc)" "$c0" "$c1" "$((t1 - t0))" \
		"$(getconf CLK_TCK)" >"$out.json"
	return 0
}

# ---- memif: S -memif- M -memif- R in one namespace ---------------------------

# EAL arguments for memif processes: memif registers a multi-process action
# at probe time, so no --no-shconf.
eal_mp() {
	echo --no-huge -m 512 --no-pci --no-telemetry --iova-mode=va \
		--file-prefix "$1" -l "$2" --log-level=lib.eal:error
}

memif_up() {
	ip netns add "$P-c"
	NS+=("$P-c")
	nsx "$P-c" ip link set lo up
}

# memif_vdev N ROLE SOCKET
memif_vdev() { echo "--vdev=net_memif$1,role=$2,socket=$3,socket-abstract=yes"; }

# rx_rates LOG: R's Rx-pps lines, one a line.
rx_rates() { sed -n 's/^ *Rx-pps: *\([0-9]*\).*/\1/p' "$1"; }

# memif_point MODE SIZE: one measurement; writes $work/memif-MODE-SIZE.json.
memif_point() {
	local mode=$1 size=$2
	local out="$work/memif-$mode-$size" fpid rpid spid
	local sa="$P-$mode-$size-a.memif" sb="$P-$mode-$size-b.memif"
	local n0 n1 c0 c1 w0 w1 t0 t1
	case "$mode" in
	testpmd)
		# Non-interactive with a statistics period: it forwards until
		# SIGINT. Two lcores on core 1: the main one only waits.
		nsenter --net="/run/netns/$P-c" stdbuf -oL "$testpmd" --lcores=0@1,1@1 \
			--no-huge -m 512 --no-pci --no-telemetry --iova-mode=va \
			--file-prefix "${P}m" --log-level=lib.eal:error \
			"$(memif_vdev 0 server "$sa")" "$(memif_vdev 1 server "$sb")" -- \
			--forward-mode=io --total-num-mbufs=16384 --disable-link-check \
			--no-lsc-interrupt --stats-period 60 >"$out.fwd.log" 2>&1 &
		fpid=$!
		;;
	fwd | log)
		# shellcheck disable=SC2046
		nsenter --net="/run/netns/$P-c" "$tp" $(eal_mp "${P}m" 1) \
			"$(memif_vdev 0 server "$sa")" "$(memif_vdev 1 server "$sb")" -- \
			--forward-mode=log --peer-port 1 --pool-file "$work/m.pool" \
			--pool-bufs 16384 --nb-mbufs 4096 --persist flush --busy-poll \
			--max-time $((secs + 30)) --json "$out.fwd.json" \
			$([ "$mode" = fwd ] && echo --log-filter ethertype=0x88b5) >"$out.fwd.log" 2>&1 &
		fpid=$!
		;;
	esac
	BG+=("$fpid")
	if [ "$mode" = testpmd ]; then
		wait_for "$out.fwd.log" 'packet forwarding - ports=2' 30 "$fpid" ||
			{ cat "$out.fwd.log" >&2; return 1; }
	else
		wait_for "$out.fwd.log" '^paste-testpmd: ready ' 30 "$fpid" ||
			{ cat "$out.fwd.log" >&2; return 1; }
	fi
	# R and S are memif clients: they connect to M's listening sockets.
	# shellcheck disable=SC2046
	nsenter --net="/run/netns/$P-c" "$tp" $(eal_mp "${P}r" 0) $(memif_vdev 0 client "$sb") -- \
		--forward-mode=rxonly --stats-period 0.5 --max-time $((secs + 40)) \
		--pool-file "$work/r.pool" --pool-bufs 8192 --nb-mbufs 4096 \
		--json "$out.recv.json" >"$out.recv.log" 2>&1 &
	rpid=$!
	BG+=("$rpid")
	wait_for "$out.recv.log" '^paste-testpmd: ready ' 30 "$rpid" ||
		{ echo "log-bench: receiver failed:" >&2; tail -n 20 "$out.recv.log" >&2; return 1; }
	# shellcheck disable=SC2046
	nsenter --net="/run/netns/$P-c" "$tp" $(eal_mp "${P}s" 0) $(memif_vdev 0 client "$sa") -- \
		--forward-mode=txonly --txonly-len "$size" --busy-poll --max-time $((secs + 3)) \
		--pool-file "$work/s.pool" --pool-bufs 8192 --nb-mbufs 4096 \
		--json "$out.send.json" >"$out.send.log" 2>&1 &
	spid=$!
	BG+=("$spid")
	wait_for "$out.send.log" '^paste-testpmd: ready ' 30 "$spid" ||
		{ echo "log-bench: sender failed:" >&2; tail -n 20 "$out.send.log" >&2; return 1; }
	sleep 1
	n0=$(rx_rates "$out.recv.log" | wc -l)
	c0=$(cpu_line)
	w0=$(date +%s.%N)
	t0=$(proc_ticks "$fpid")
	sleep "$secs"
	n1=$(rx_rates "$out.recv.log" | wc -l)
	c1=$(cpu_line)
	w1=$(date +%s.%N)
	t1=$(proc_ticks "$fpid")
	for _ in $(seq 300); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
	stop_bg "$spid"
	sleep 0.5
	stop_bg "$fpid"
	stop_bg "$rpid"
	rm -f "$work/s.pool" "$work/m.pool" "$work/r.pool"
	# The blocks R printed inside the window: each rate covers the half
	# second before it, so the first one printed after w0 is left out.
	printf '{"rates": [%s], "wall": %s, "cpu0": "%s", "cpu1": "%s", "m_ticks": %s, "hz": %s}\n' \
		"$(rx_rates "$out.recv.log" | sed -n "$((n0 + 2)),${n1}p" | paste -sd, -)" \
		"$(echo "$w1 - $w0" | bc)" "$c0" "$c1" "$((t1 - t0))" "$(getconf CLK_TCK)" \
		>"$out.json"
	return 0
}

# ---- run ---------------------------------------------------------------------

for size in "${sizes[@]}"; do
	case " $parts " in *" null "*)
		echo "log-bench: null, $secs s per mode, $size-byte frames"
		null_run io "$size" "--vdev=net_null0,size=$size"
		null_run log "$size" "--vdev=net_null0,size=$size" "--vdev=net_null1,size=$size"
		;;
	esac
done
case " $parts " in *" wire "*)
	[ "$(id -u)" -eq 0 ] || { echo "log-bench: the wire part needs root" >&2; exit 2; }
	command -v tcpdump >/dev/null || { echo "log-bench: tcpdump not found" >&2; exit 2; }
	# One lock for the whole wire part (a couple of minutes): the modes
	# are compared with each other, so they run back to back.
	exec 9>/tmp/paste-net.lock
	flock 9
	wire_up
	for size in "${sizes[@]}"; do
		echo "log-bench: wire, $secs s per mode, $size-byte frames"
		for mode in ${LOGBENCH_MODES:-bridge tcpdump fwd log}; do
			wire_point "$mode" "$size" || { echo "log-bench: $mode failed" >&2; exit 1; }
		done
	done
	flock -u 9
	exec 9>&-
	;;
esac

case " $parts " in *" memif "*)
	[ "$(id -u)" -eq 0 ] || { echo "log-bench: the memif part needs root" >&2; exit 2; }
	testpmd=${BENCH_TESTPMD:-dpdk-testpmd}
	command -v "$testpmd" >/dev/null || { echo "log-bench: $testpmd not found" >&2; exit 2; }
	exec 9>/tmp/paste-net.lock
	flock 9
	memif_up
	for size in "${sizes[@]}"; do
		echo "log-bench: memif, $secs s per mode, $size-byte frames"
		for mode in ${LOGBENCH_MEMIF_MODES:-testpmd fwd log}; do
			# DPDK 22.11's memif may fault when a peer leaves mid-burst
			# (doc/stack.md, "Leaving a memif port"; paste's raw modes
			# send no farewell): M's final figures are then lost, and
			# the point runs again, twice at most.
			for try in 1 2 3; do
				memif_point "$mode" "$size" ||
					{ echo "log-bench: memif $mode failed" >&2; exit 1; }
				[ "$mode" = testpmd ] || [ -s "$work/memif-$mode-$size.fwd.json" ] && break
				echo "log-bench: memif $mode $size B: M left no figures (try $try of 3)" >&2
			done
		done
	done
	flock -u 9
	exec 9>&-
	;;
esac

mkdir -p "$(dirname "$json")"
/usr/bin/python3 "$repo/bench/lib/logbench.py" "$work" "$secs" "$json" \
	"$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)" "${sizes[@]}"
summarised=1
if [ "$quick" = 1 ]; then
	/usr/bin/python3 "$repo/bench/lib/logbench.py" --check "$json"
fi
