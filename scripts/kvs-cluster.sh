#!/bin/bash
# kvs-cluster.sh: paste-kvs on N dedicated cores, one shard per core, each a
# Redis Cluster node of the same slot map; starts them, restarts a shard
# that dies (it recovers its own slice from its own pool file) and stops
# them all on SIGINT or SIGTERM.
#
#   scripts/kvs-cluster.sh --map FILE --dir DIR [options] \
#       --shard NAME CORE DEVICE [--shard NAME CORE DEVICE ...] [-- paste-kvs options]
#   (paste-kvs options go to every shard, e.g. --idle poll on dedicated cores;
#   paste-kvs sleeps when idle by default)
#
#   --map FILE        the slot map (doc/kvs.md); each NAME must be in it, and
#                     its host:port (an IPv4 address) is the shard's address
#   --dir DIR         DIR/NAME.pool (pool file), DIR/NAME.log, DIR/NAME.pid
#   --shard NAME CORE DEVICE
#                     a shard on lcore CORE; DEVICE is a DPDK vdev
#                     (net_af_packet0,iface=X...: --vdev) or a PCI address (-a)
#   --eal "ARGS"      more EAL arguments for every shard (e.g. --no-huge -m 512)
#   --prefix-len N    the shards' netmask length (default 24)
#   --paste-kvs BIN   the binary (default build/examples/paste-kvs)
#   --max-restarts N  restarts of one shard within 60 s before the supervisor
#                     gives up on it (default 5): it says so on its output
#                     and in DIR/NAME.log, writes DIR/NAME.failed (the time,
#                     the starts and the last exit status) and leaves the
#                     shard's slots unserved; the others keep running. When
#                     no shard is left, it exits with status 1.
#
# A shard that exits is restarted and recovers what its pool file holds.
# Exit status 74 is paste-kvs's stop after a failed drain (an msync error:
# doc/operations.md); the restart then recovers what the medium kept.
#
# Each shard is its own process with its own EAL --file-prefix (kvs-NAME),
# so that shards share no DPDK memory, lock or cache line.
set -uo pipefail

prog=kvs-cluster
say() { printf '%s: %s\n' "$prog" "$*"; }
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 2; }

MAP="" DIR="" EAL="" PREFIX_LEN=24 MAX_RESTARTS=5
BIN="$(cd "$(dirname "$0")/.." && pwd)/build/examples/paste-kvs"
NAMES=() CORES=() DEVS=() EXTRA=()
while [ "$#" -gt 0 ]; do
	case "$1" in
	--map) MAP=$2; shift 2 ;;
	--dir) DIR=$2; shift 2 ;;
	--eal) EAL=$2; shift 2 ;;
	--prefix-len) PREFIX_LEN=$2; shift 2 ;;
	--paste-kvs) BIN=$2; shift 2 ;;
	--max-restarts) MAX_RESTARTS=$2; shift 2 ;;
	--shard)
		[ "$#" -ge 4 ] || die "--shard takes NAME CORE DEVICE"
		NAMES+=("$2") CORES+=("$3") DEVS+=("$4")
		shift 4 ;;
	--) shift; EXTRA=("$@"); break ;;
	-h | --help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option '$1' (--help)" ;;
	esac
done
if [ -z "$MAP" ] || [ ! -r "$MAP" ]; then die "--map FILE is required and must be readable"; fi
if [ -z "$DIR" ] || [ ! -d "$DIR" ]; then die "--dir DIR is required and must exist"; fi
[ "${#NAMES[@]}" -gt 0 ] || die "no --shard given"
[ -x "$BIN" ] || die "$BIN is not an executable (--paste-kvs)"
[[ "$MAX_RESTARTS" =~ ^[0-9]+$ ]] || die "bad --max-restarts"

# shard_cmd I: the command line of shard I, from its line of the map.
shard_cmd() {
	local i=$1 name=${NAMES[$1]} line host port http=0 dev
	line=$(sed 's/#.*//' "$MAP" | awk -v n="$name" '$1 == n { print; exit }')
	[ -n "$line" ] || die "shard '$name' is not in $MAP"
	read -r _ hostport maybe_http _ <<<"$line"
	host=${hostport%:*} port=${hostport##*:}
	[[ "$host" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
		die "shard '$name': '$host' is not an IPv4 address (a shard here is at an address of this machine)"
	[[ "$maybe_http" == http=* ]] && http=${maybe_http#http=}
	case "${DEVS[$i]}" in
	net_*) dev="--vdev=${DEVS[$i]}" ;;
	*) dev="-a ${DEVS[$i]}" ;;
	esac
	# shellcheck disable=SC2206 # EAL arguments are words
	CMD=("$BIN" -l "${CORES[$i]}" --file-prefix "kvs-$name" $EAL $dev --
		--ip "$host/$PREFIX_LEN" --resp-port "$port" --http-port "$http"
		--pool-file "$DIR/$name.pool" --cluster-config "$MAP" --cluster-node "$name"
		"${EXTRA[@]}")
}

PIDS=() STARTS=()
start_shard() {
	local i=$1
	shard_cmd "$i"
	"${CMD[@]}" >>"$DIR/${NAMES[$i]}.log" 2>&1 </dev/null &
	PIDS[i]=$!
	echo "${PIDS[i]}" >"$DIR/${NAMES[$i]}.pid"
	say "shard ${NAMES[$i]} started: pid ${PIDS[i]}, core ${CORES[$i]}"
}

# give_up I STARTS STATUS: shard I exited too often; it stays down.
give_up() {
	local i=$1 name=${NAMES[$1]} msg
	msg="giving up on shard $name: it exited $2 times within 60 s (last status $3; --max-restarts $MAX_RESTARTS); its slots are unserved until it is started again"
	say "$msg"
	printf '%s %s: %s\n' "$(date -u +%FT%TZ)" "$prog" "$msg" >>"$DIR/$name.log"
	printf 'time=%s starts=%s status=%s\n' "$(date -u +%FT%TZ)" "$2" "$3" >"$DIR/$name.failed"
	rm -f "$DIR/$name.pid"
	PIDS[i]=0
}

STOPPING=0
stop_all() {
	local i pid t
	STOPPING=1
	for pid in "${PIDS[@]}"; do
		[ "$pid" -gt 0 ] && kill -INT "$pid" 2>/dev/null
	done
	for i in "${!PIDS[@]}"; do
		pid=${PIDS[i]}
		[ "$pid" -gt 0 ] || continue
		for ((t = 0; t < 100; t++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		say "shard ${NAMES[$i]} stopped"
		rm -f "$DIR/${NAMES[$i]}.pid"
	done
	exit 0
}
trap stop_all INT TERM

# Validate every shard's line before starting any.
for i in "${!NAMES[@]}"; do
	shard_cmd "$i"
done
for i in "${!NAMES[@]}"; do
	STARTS[i]=""
	rm -f "$DIR/${NAMES[$i]}.failed"
	start_shard "$i"
done

# Watch: a shard that exits is restarted, at most MAX_RESTARTS times within
# 60 s (a shard that cannot start must not spin a core forever).
while [ "$STOPPING" = 0 ]; do
	for i in "${!PIDS[@]}"; do
		pid=${PIDS[i]}
		[ "$pid" -gt 0 ] || continue
		kill -0 "$pid" 2>/dev/null && continue
		wait "$pid" 2>/dev/null
		rc=$?
		now=$SECONDS recent=""
		for t in ${STARTS[i]}; do
			[ $((now - t)) -lt 60 ] && recent+="$t "
		done
		STARTS[i]="$recent$now"
		# shellcheck disable=SC2086 # a list of numbers
		set -- ${STARTS[i]}
		if [ "$#" -gt "$MAX_RESTARTS" ]; then
			give_up "$i" "$#" "$rc"
			continue
		fi
		if [ "$rc" = 74 ]; then
			say "shard ${NAMES[$i]} (pid $pid) stopped after a failed drain of its pool (status 74): restarting; it recovers what the medium holds"
		else
			say "shard ${NAMES[$i]} (pid $pid) exited with status $rc: restarting"
		fi
		start_shard "$i"
	done
	alive=0
	for pid in "${PIDS[@]}"; do
		[ "$pid" -gt 0 ] && alive=1
	done
	if [ "$alive" = 0 ]; then
		say "no shard left running: exiting"
		exit 1
	fi
	sleep 0.2 &
	wait $! 2>/dev/null
done
