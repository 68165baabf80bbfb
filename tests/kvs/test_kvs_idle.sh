#!/bin/bash
# Suite 'net': paste-kvs sleeping when idle (--idle sleep, its default).
#   (a) on net_af_packet (no RX interrupt: timed sleeps), an idle server
#       uses far less CPU than the same server busy-polling (--idle poll),
#       measured from /proc/PID/stat over 3 s: under a quarter of it and
#       under 25% of a core (generous: a few % is typical);
#   (b) it still answers: redis-cli SET/GET after the idle period, and the
#       final statistics count sleeps;
#   (c) on net_tap (which has an RX interrupt) it says it sleeps on the
#       interrupt, answers redis-cli, and counts wakeups by the interrupt.
# No timing is asserted beyond those CPU bounds; the wake-up latency is
# measured by bench/run.sh (doc/operations.md).
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
kvs_testbed_up i redis-cli
HZ=$(getconf CLK_TCK)

# cpu_pct PID SECONDS: the process's CPU (user + system) over SECONDS, in
# percent of one core.
cpu_pct() {
	local pid=$1 secs=$2 t0 t1
	t0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) || return 1
	sleep "$secs"
	t1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) || return 1
	echo $(((t1 - t0) * 100 / (HZ * secs)))
}

# answers WHAT CLIENT...: SET then GET of one key through redis-cli.
answers() {
	local what=$1 got
	shift
	got=$(run_bounded 20 "$@" SET idle-key "v-$what" 2>&1)
	check_eq "$got" OK "$what SET answered after the idle period"
	got=$(run_bounded 20 "$@" GET idle-key 2>&1)
	check_eq "$got" "v-$what" "$what GET answered"
}

# --- (a), (b): af_packet, sleep against poll ----------------------------------
declare -A pct
for mode in sleep poll; do
	start_kvs "$NAME" "$TB_SHM/kvs-idle-$mode.pool" --idle "$mode" --pool-bufs 16384 \
		--mbufs 1024 || continue
	sleep 1
	pct[$mode]=$(cpu_pct "$KVS_PID" 3)
	log "--idle $mode: ${pct[$mode]}% of a core while idle"
	answers "[$mode]" "${LX[@]}" redis-cli -h "$TB_PASTE_IP" -p 6379
	stop_kvs INT
	check_eq "$KVS_RC" 0 "[$mode] clean exit"
	if [ "$mode" = sleep ]; then
		if grep -q '^paste-kvs: idle: sleep, waking on a timer' "$KVS_LOG"; then
			pass "[sleep] af_packet: timed sleeps (no RX interrupt)"
		else
			fail "[sleep] no 'idle: sleep, waking on a timer' line"
			show_log "$KVS_LOG" 20
		fi
		check_gt "$(kvs_field idle_sleeps)" 100 "[sleep] the server slept"
	fi
done
if [ -n "${pct[sleep]:-}" ] && [ -n "${pct[poll]:-}" ]; then
	check_gt "${pct[poll]}" $((pct[sleep] * 4)) \
		"(a) idle CPU: sleep ${pct[sleep]}% < a quarter of poll's ${pct[poll]}%"
	check_gt 25 "${pct[sleep]}" "(a) idle CPU: sleep under 25% of a core"
else
	fail "(a) a server did not start"
fi

# --- (c): net_tap, woken by the RX interrupt ------------------------------------
# Named like a testbed's paste side, so lib.sh's cleanup removes it.
NS="pnt$$-paste"
TAP="pnti$$"
TB_NAMES+=("pnt$$")
ip netns add "$NS" || die "cannot create namespace $NS"
KVS_N=$((KVS_N + 1))
KVS_LOG="$TB_WORK/kvs-tap.log"
TB_EAL_PREFIXES+=("pkvs$$_tap")
if kvs_launch paste-kvs nsenter --net="/run/netns/$NS" "$KVS" --no-huge -m 512 --no-pci \
	--no-shconf --no-telemetry --iova-mode=va --file-prefix "pkvs$$_tap" \
	--log-level=lib.eal:error "--vdev=net_tap0,iface=$TAP" -- --ip 198.18.1.1/24 \
	--pool-file "$TB_SHM/kvs-idle-tap.pool" --persist flush --pool-bufs 16384 --mbufs 1024; then
	nsenter --net="/run/netns/$NS" ip link set lo up
	nsenter --net="/run/netns/$NS" ip addr add 198.18.1.2/24 dev "$TAP"
	nsenter --net="/run/netns/$NS" ip link set "$TAP" up
	if grep -q "^paste-kvs: idle: sleep, waking on the port's RX interrupt" "$KVS_LOG"; then
		pass "(c) net_tap: sleeps on the RX interrupt"
	else
		fail "(c) net_tap: no 'waking on the port's RX interrupt' line"
		show_log "$KVS_LOG" 20
	fi
	sleep 1
	tap_pct=$(cpu_pct "$KVS_PID" 2)
	log "net_tap, --idle sleep: $tap_pct% of a core while idle"
	check_gt 25 "$tap_pct" "(c) net_tap: idle CPU under 25% of a core"
	answers "(c) net_tap" nsenter --net="/run/netns/$NS" redis-cli -h 198.18.1.1 -p 6379
	stop_kvs INT
	check_eq "$KVS_RC" 0 "(c) net_tap: clean exit"
	check_gt "$(kvs_field idle_intr_wakeups)" 0 "(c) net_tap: wakeups by the RX interrupt"
fi
ip netns del "$NS" 2>/dev/null

tb_finish
