#!/bin/bash
# Where a SET's server cycles go, zero copy against --copy, side by side:
# paste-kvs on one core, paste-loadgen on the other, over a net_memif in a
# network namespace of the script's own, both busy-polling. paste-kvs runs
# with --stage-cycles; after each run its "stages:" line (TSC cycles per
# SET: busy, rx, rx_burst, keep, arrive, value, crc, index, drain,
# tx_and_timers) and the loadgen's req/s are collected. Modes are
# interleaved, REPS times.
#
#   bench/zc-stages.sh [-d BYTES] [-P DEPTH] [-c CONNS] [-n SETS] [-r KEYS]
#                      [--reps N] [--pool-dir DIR] [--rt] [--json FILE]
#                      [--base DIR]
#
#   -d, -P, -c, -n, -r  the load (default 61440, 4, 16, 6000, 1000)
#   --pool-dir DIR      where the pool files go (default /dev/shm; a tmpfs
#                       mounted with huge=always gives 2 MiB pages, as DAX)
#   --rt                SCHED_FIFO for both polling threads once they run:
#                       on a shared machine other work otherwise preempts
#                       them and the cycle counts measure that instead
#   --json FILE         every run's figures as JSON
#   --base DIR          also zero copy from another build directory (mode
#                       zc_base, e.g. the commit before a change), in the
#                       same interleaving: before and after side by side
# Each run is bounded (the load's --max-time, then a kill after 360 s: a
# SCHED_FIFO run whose memif stalled would hold both cores otherwise).
# Root (network namespace). Prints the per-mode medians and their spread.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${BUILD_DIR:-$repo/build}
D=61440 P=4 C=16 N=6000 R=1000 REPS=2 POOLDIR=/dev/shm RT=0 JSON="" BASE=""
while [ "$#" -gt 0 ]; do
	case "$1" in
	-d) D=$2; shift 2 ;;
	-P) P=$2; shift 2 ;;
	-c) C=$2; shift 2 ;;
	-n) N=$2; shift 2 ;;
	-r) R=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	--pool-dir) POOLDIR=$2; shift 2 ;;
	--rt) RT=1; shift ;;
	--json) JSON=$2; shift 2 ;;
	--base) BASE=$2; shift 2 ;;
	-h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "zc-stages: unknown option '$1' (--help)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "zc-stages: must run as root (a network namespace)" >&2; exit 2; }
[ -x "$B/examples/paste-kvs" ] && [ -x "$B/bench/paste-loadgen" ] ||
	{ echo "zc-stages: build first (scripts/build.sh)" >&2; exit 2; }
[ -z "$BASE" ] || [ -x "$BASE/examples/paste-kvs" ] ||
	{ echo "zc-stages: no $BASE/examples/paste-kvs" >&2; exit 2; }
modes="zc copy"
[ -z "$BASE" ] || modes="zc zc_base copy"

ns=pzcs$$
work=$(mktemp -d "${TMPDIR:-/tmp}/paste-zc-stages.XXXXXX")
SPID="" WPID=""
# Every step may find nothing to do: under set -e a failing one (pkill
# matching no process) ended the trap before the namespace went.
cleanup() {
	if [ -n "$SPID" ]; then kill -KILL "$SPID" 2>/dev/null || true; fi
	if [ -n "$WPID" ]; then kill "$WPID" 2>/dev/null || true; fi
	pkill -KILL -f "file-prefix pzc[sc]$$" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -f "$POOLDIR"/pzc$$.*.pool
	rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
eal=(--no-huge -m 1024 --no-pci --no-telemetry --iova-mode=va --log-level=lib.eal:error)

# one_run MODE REP: one server and one load; appends a JSON line to runs.
one_run() {
	local mode=$1 rep=$2 copy=() i pid kvs=$B/examples/paste-kvs
	[ "$mode" = copy ] && copy=(--copy)
	[ "$mode" = zc_base ] && kvs=$BASE/examples/paste-kvs
	local sock=/pzc$$.$rep.$mode pool="$POOLDIR/pzc$$.$rep.$mode.pool"
	ip netns exec "$ns" "$kvs" -l 0 "${eal[@]}" --file-prefix "pzcs$$" \
		"--vdev=net_memif0,role=server,socket=$sock,socket-abstract=yes" -- \
		--ip 198.18.0.1/24 --pool-file "$pool" --persist flush --pool-bufs 65536 \
		--idle poll --stage-cycles "${copy[@]}" >"$work/server.log" 2>&1 &
	SPID=$!
	for ((i = 0; i < 300; i++)); do
		grep -q "ready" "$work/server.log" && break
		sleep 0.1
	done
	ip netns exec "$ns" "$B/bench/paste-loadgen" -l 1 "${eal[@]}" --file-prefix "pzcc$$" \
		"--vdev=net_memif0,role=client,socket=$sock,socket-abstract=yes" -- \
		--ip 198.18.0.2/24 --server 198.18.0.1 -t set -c "$C" -P "$P" -d "$D" -n "$N" \
		-r "$R" --busy-poll --timeout 30 --max-time 300 --json "$work/lg.json" \
		>"$work/lg.log" 2>&1 &
	pid=$!
	# A watchdog outside SCHED_FIFO (the kernel's RT throttling leaves it
	# 5% of a core): the run ends within 360 s whatever the pollers do.
	(
		trap 'kill "$sp" 2>/dev/null; exit 0' TERM
		sleep 360 & sp=$!
		wait "$sp"
		kill -KILL "$pid" "$SPID" 2>/dev/null
	) &
	WPID=$!
	# The memif connects through EAL's interrupt threads, each on the
	# other process's core, which a SCHED_FIFO poller starves: only the
	# polling (main) threads are raised, once the memif has connected (the
	# server's socket has accepted: two sockets of its name in
	# /proc/net/unix), at most 30 s on.
	if [ "$RT" = 1 ]; then
		for ((i = 0; i < 300; i++)); do
			[ "$(ip netns exec "$ns" grep -c " @$sock\$" /proc/net/unix)" -ge 2 ] && break
			sleep 0.1
		done
		sleep 0.5
		chrt -f -p 50 "$SPID" >/dev/null 2>&1 || true
		chrt -f -p 50 "$pid" >/dev/null 2>&1 || true
	fi
	wait "$pid" || { echo "zc-stages: paste-loadgen failed:" >&2; tail -5 "$work/lg.log" >&2; exit 1; }
	kill "$WPID" 2>/dev/null || true
	WPID=""
	kill -INT "$SPID"
	wait "$SPID" || true
	SPID=""
	rm -f "$pool"
	/usr/bin/python3 - "$mode" "$rep" "$work/server.log" "$work/lg.json" >>"$work/runs" <<'EOF'
import json, sys
mode, rep, log, lg = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
st = [l for l in open(log) if l.startswith("stages:")][-1].split()
fig = dict(kv.split("=") for kv in st[1:] if "=" in kv)
res = json.load(open(lg))
t = res["tests"][0] if "tests" in res else res
print(json.dumps(dict(mode=mode, rep=rep, req_s=t.get("req_s", t.get("rps")),
                      **{k: float(v) for k, v in fig.items()})))
EOF
}

for ((rep = 1; rep <= REPS; rep++)); do
	for mode in $modes; do
		echo "zc-stages: run $rep/$REPS $mode (-d $D -P $P -c $C -n $N -r $R, pools in $POOLDIR)" >&2
		one_run "$mode" "$rep"
	done
done
/usr/bin/python3 - "$work/runs" "$JSON" "$D" "$POOLDIR" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
cols = ["req_s", "busy", "rx", "rx_burst", "keep", "arrive", "value", "crc", "index", "drain",
        "tx_and_timers"]
modes = [m for m in ("zc", "zc_base", "copy") if any(r["mode"] == m for r in runs)]
print("SET of %s bytes, pools in %s: medians of %d runs per mode, then min-max"
      " (TSC cycles per SET; req_s as measured)"
      % (sys.argv[3], sys.argv[4], len(runs) // len(modes)))
print("%-8s" % "mode" + "".join("%16s" % c for c in cols))
med = {}
for mode in modes:
    rs = [r for r in runs if r["mode"] == mode]
    vals = {c: [r[c] for r in rs if r.get(c) is not None] or [0] for c in cols}
    med[mode] = {c: statistics.median(vals[c]) for c in cols}
    print("%-8s" % mode + "".join("%16.0f" % med[mode][c] for c in cols))
    print("%-8s" % "" + "".join("%16s" % ("%.0f-%.0f" % (min(vals[c]), max(vals[c])))
                                for c in cols))
for m in [m for m in ("zc", "zc_base") if m in med]:
    if med["copy"]["busy"]:
        print("%s / copy: busy cycles %.2f, req/s %.2f" % (
            m, med[m]["busy"] / med["copy"]["busy"],
            med[m]["req_s"] / med["copy"]["req_s"] if med["copy"]["req_s"] else 0))
if sys.argv[2]:
    json.dump(dict(value_bytes=int(sys.argv[3]), pool_dir=sys.argv[4], runs=runs, medians=med),
              open(sys.argv[2], "w"), indent=1)
EOF
