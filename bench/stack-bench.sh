#!/bin/bash
# paste's stack against the Linux kernel on the same kind of wire.
# A benchmark, not a test: it prints a table and writes JSON; it fails only
# when a run breaks (wrong bytes, a process that does not start).
#
#   bench/stack-bench.sh            (root; BUILD_DIR as for the tests)
#
# Two testbeds (scripts/testbed.sh), so the kernel server never shares
# paste's veth or address (doc: design.md):
#   <b>  paste-testpmd on <b>-p, Linux clients in <b>-linux
#   <k>  a kernel server at 198.18.0.1 on <k>-p (its own namespace and veth
#        pair, the same offload settings), the same clients in <k>-linux
# Measured, one after the other (never two servers at once on 2 cores):
#   tcp-sink Gb/s   nc -N sends BENCH_SINK_BYTES of random data, BENCH_RUNS
#                   times; the time is the sender's, from start to the
#                   server's close. paste: --forward-mode=tcp-sink --busy-poll,
#                   with persistence (every byte flushed, one drain per batch)
#                   and with --no-persist. Linux: tests/net/recv_server.py,
#                   which hashes like the sink does (SHA-256 of the stream), so
#                   both do the same work per byte; bytes and digest checked.
#   tcp-echo req/s  tests/net/echo_client.py --rr: BENCH_ECHO_CONNS
#                   connections, each sends BENCH_ECHO_SIZE bytes and waits
#                   for them back, for BENCH_ECHO_SECONDS. paste:
#                   --forward-mode=tcp-echo --busy-poll. Linux:
#                   bench/linux_echo_server.py (epoll, one thread).
# The clients are Python and share the 2 cores with the server: the echo
# numbers say how much client work each server leaves room for, not what
# either server could do with a core of its own.
#
# Environment (defaults): BENCH_SINK_BYTES (1G), BENCH_RUNS (3),
# BENCH_ECHO_CONNS (32), BENCH_ECHO_SIZE (64), BENCH_ECHO_SECONDS (10),
# BENCH_OUT (bench/results/stack-bench.json).
# Results: bench/results/README.md says when they are committed.
NET_TEST=stack-bench
# shellcheck source=tests/net/lib.sh
. "$(cd "$(dirname "$0")/.." && pwd)/tests/net/lib.sh"
tb_require
command -v nc >/dev/null || die "nc not found (netcat-openbsd)"
[ -x "$PY" ] || die "$PY not found"
tb_reap_stale

SINK_BYTES=$(size_bytes "${BENCH_SINK_BYTES:-1G}")
RUNS=${BENCH_RUNS:-3}
ECHO_CONNS=${BENCH_ECHO_CONNS:-32}
ECHO_SIZE=${BENCH_ECHO_SIZE:-64}
ECHO_SECS=${BENCH_ECHO_SECONDS:-10}
OUT=${BENCH_OUT:-$NET_REPO/bench/results/stack-bench.json}

B=$(tb_unique_name b)
K=$(tb_unique_name k)
tb_up "$B"
tb_up "$K"
# The kernel baseline's server address, on its own veth pair.
nsenter --net="/run/netns/$K-paste" ip addr add "$TB_PASTE_IP/$TB_PREFIX_LEN" dev "$K-p" || die "cannot address $K-p"

data="$TB_WORK/sink.bin"
log "sink data: $SINK_BYTES random bytes"
make_random "$data" "$SINK_BYTES" || die "cannot write $data"
sha=$(sha_of "$data")
SINK_SECS_MAX=$((SINK_BYTES / 1048576 + 60))

# send_timed NAME: nc -N the data from NAME's Linux namespace; prints the
# seconds it took, or nothing on failure.
send_timed() {
	local name=$1 t0 t1 rc
	t0=$(date +%s%N)
	run_bounded "$SINK_SECS_MAX" nsenter --net="/run/netns/$name-linux" nc -N -w 30 "$TB_PASTE_IP" 5001 <"$data"
	rc=$?
	t1=$(date +%s%N)
	[ "$rc" -eq 0 ] || return 1
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 }'
}

gbps() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.3f\n", n * 8 / s / 1e9 }'; }

# median of numbers on stdin
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- tcp-sink: paste -------------------------------------------------------------
declare -A SINK   # label -> space-separated Gb/s samples
persist_mode=""
paste_sink() {
	local label=$1 r secs line
	shift
	start_testpmd "$B" tcp-sink --tcp-port 5001 --busy-poll "$@" || die "[$label] paste-testpmd did not start"
	persist_mode=$(sed -n 's/^paste-testpmd: pool .*persist \([a-z]*\).*/\1/p' "$TP_LOG" | head -n 1)
	for ((r = 1; r <= RUNS; r++)); do
		secs=$(send_timed "$B") || die "[$label] transfer $r failed"
		wait_log "$TP_LOG" "^tcp-sink: conn $r from .* closed " 30 "$TP_PID" ||
			die "[$label] no closed line for connection $r"
		line=$(grep -E -m1 "^tcp-sink: conn $r from .* closed " "$TP_LOG")
		if [ "$(field bytes "$line")" != "$SINK_BYTES" ] || [ "$(field sha256 "$line")" != "$sha" ]; then
			die "[$label] run $r: wrong bytes: $line"
		fi
		SINK[$label]+="$(gbps "$SINK_BYTES" "$secs") "
		log "[$label] run $r: $secs s, $(gbps "$SINK_BYTES" "$secs") Gb/s"
	done
	stop_testpmd
	[ "$(stack_field lwip_asserts)" = 0 ] || die "[$label] lwip_asserts=$(stack_field lwip_asserts)"
}
paste_sink paste-persist
paste_sink paste-nopersist --no-persist

# --- tcp-sink: Linux -------------------------------------------------------------------
linux_sink() {
	local label=linux r secs slog spid line
	for ((r = 1; r <= RUNS; r++)); do
		slog="$TB_WORK/linux-sink-$r.log"
		bg_start nsenter --net="/run/netns/$K-paste" timeout -k 5 $((SINK_SECS_MAX + 60)) "$PY" \
			"$NET_LIB_DIR/recv_server.py" --bind "$TB_PASTE_IP" --port 5001 --out - \
			--accept-timeout 30 --timeout "$SINK_SECS_MAX" >"$slog" 2>&1
		spid=$BG_PID
		wait_log "$slog" '^recv-server: listening' 20 "$spid" || die "[$label] recv_server.py did not start"
		secs=$(send_timed "$K") || die "[$label] transfer $r failed"
		wait_pid "$spid" 30 || die "[$label] recv_server.py did not end"
		bg_forget "$spid"
		line=$(grep '^recv-server: bytes=' "$slog")
		if [ "$(field bytes "$line")" != "$SINK_BYTES" ] || [ "$(field sha256 "$line")" != "$sha" ]; then
			die "[$label] run $r: wrong bytes: $line"
		fi
		SINK[$label]+="$(gbps "$SINK_BYTES" "$secs") "
		log "[$label] run $r: $secs s, $(gbps "$SINK_BYTES" "$secs") Gb/s"
	done
}
linux_sink
rm -f "$data"

# --- tcp-echo request rate ------------------------------------------------------------------
declare -A RATE
# rr_client NAME LABEL: prints the request rate.
rr_client() {
	local name=$1 label=$2 clog="$TB_WORK/rr-$2.log" line
	run_bounded $((ECHO_SECS + 90)) nsenter --net="/run/netns/$name-linux" "$PY" "$NET_LIB_DIR/echo_client.py" \
		--host "$TB_PASTE_IP" --port 5001 --conns "$ECHO_CONNS" --rr "$ECHO_SIZE" \
		--duration "$ECHO_SECS" --timeout $((ECHO_SECS + 60)) >"$clog" 2>&1 ||
		{ cat "$clog" >&2; return 1; }
	line=$(grep '^echo-client: conns=' "$clog" | tail -n 1)
	log "[$label] $line" >&2
	field rate "$line"
}

start_testpmd "$B" tcp-echo --tcp-port 5001 --busy-poll || die "paste tcp-echo did not start"
RATE[paste]=$(rr_client "$B" paste) || die "[paste] echo client failed"
stop_testpmd
[ "$(stack_field lwip_asserts)" = 0 ] || die "[paste echo] lwip_asserts=$(stack_field lwip_asserts)"

elog="$TB_WORK/linux-echo.log"
bg_start nsenter --net="/run/netns/$K-paste" timeout -k 5 $((ECHO_SECS + 180)) "$PY" \
	"$NET_REPO/bench/linux_echo_server.py" --bind "$TB_PASTE_IP" --port 5001 >"$elog" 2>&1
epid=$BG_PID
wait_log "$elog" '^linux-echo: listening' 20 "$epid" || die "linux_echo_server.py did not start"
RATE[linux]=$(rr_client "$K" linux) || die "[linux] echo client failed"
bg_kill "$epid"
bg_forget "$epid"

# --- report ----------------------------------------------------------------------------
m_persist=$(tr ' ' '\n' <<<"${SINK[paste-persist]}" | grep . | median)
m_nopersist=$(tr ' ' '\n' <<<"${SINK[paste-nopersist]}" | grep . | median)
m_linux=$(tr ' ' '\n' <<<"${SINK[linux]}" | grep . | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "n/a" }'; }

echo
printf '%-44s %12s %12s %8s\n' "" "paste" "Linux" "ratio"
printf '%-44s %12s %12s %8s\n' "tcp-sink Gb/s, persist (median of $RUNS)" "$m_persist" "$m_linux" "$(ratio "$m_persist" "$m_linux")"
printf '%-44s %12s %12s %8s\n' "tcp-sink Gb/s, no persist (median of $RUNS)" "$m_nopersist" "$m_linux" "$(ratio "$m_nopersist" "$m_linux")"
printf '%-44s %12s %12s %8s\n' "tcp-echo req/s, ${ECHO_SIZE} B x $ECHO_CONNS conns" "${RATE[paste]}" "${RATE[linux]}" "$(ratio "${RATE[paste]}" "${RATE[linux]}")"
echo "(sink: $SINK_BYTES bytes a run, paste --busy-poll, pool persistence: ${persist_mode:-?};" \
	"clients in Python on the same 2 cores)"

mkdir -p "$(dirname "$OUT")"
BENCH_JSON_OUT="$OUT" \
	J_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	J_COMMIT="$(git -C "$NET_REPO" rev-parse --short HEAD 2>/dev/null)" \
	J_KERNEL="$(uname -r)" J_NPROC="$(nproc)" \
	J_CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
	J_BYTES="$SINK_BYTES" J_RUNS="$RUNS" J_PERSIST_MODE="$persist_mode" \
	J_S_PERSIST="${SINK[paste-persist]}" J_S_NOPERSIST="${SINK[paste-nopersist]}" J_S_LINUX="${SINK[linux]}" \
	J_CONNS="$ECHO_CONNS" J_SIZE="$ECHO_SIZE" J_SECS="$ECHO_SECS" \
	J_R_PASTE="${RATE[paste]}" J_R_LINUX="${RATE[linux]}" \
	"$PY" - <<'PY' || die "cannot write $OUT"
import json, os, statistics
e = os.environ
def samples(k):
    return [float(x) for x in e[k].split()]
def ratio(a, b):
    return round(a / b, 3) if b else None
sp, sn, sl = samples("J_S_PERSIST"), samples("J_S_NOPERSIST"), samples("J_S_LINUX")
mp, mn, ml = (round(statistics.median(x), 3) for x in (sp, sn, sl))
rp, rl = float(e["J_R_PASTE"]), float(e["J_R_LINUX"])
doc = {
    "benchmark": "stack-bench",
    "date": e["J_DATE"],
    "commit": e["J_COMMIT"],
    "host": {"kernel": e["J_KERNEL"], "cpus": int(e["J_NPROC"]), "cpu": e["J_CPU"]},
    "wire": "veth pair across two network namespaces, MTU 1500, checksum offloads, "
            "TSO, GSO and GRO off (scripts/testbed.sh); paste on net_af_packet",
    "tcp_sink": {
        "bytes_per_run": int(e["J_BYTES"]),
        "runs": int(e["J_RUNS"]),
        "client": "nc -N (netcat-openbsd), sender-side time",
        "paste_options": "--forward-mode=tcp-sink --busy-poll",
        "paste_persist_mode": e["J_PERSIST_MODE"],
        "linux_server": "tests/net/recv_server.py (recv_into + SHA-256, like the sink)",
        "gbps": {
            "paste_persist": {"samples": sp, "median": mp},
            "paste_no_persist": {"samples": sn, "median": mn},
            "linux": {"samples": sl, "median": ml},
        },
        "ratio_vs_linux": {"paste_persist": ratio(mp, ml), "paste_no_persist": ratio(mn, ml)},
    },
    "tcp_echo": {
        "connections": int(e["J_CONNS"]),
        "request_bytes": int(e["J_SIZE"]),
        "seconds": float(e["J_SECS"]),
        "client": "tests/net/echo_client.py --rr (Python, one thread)",
        "paste_options": "--forward-mode=tcp-echo --busy-poll",
        "linux_server": "bench/linux_echo_server.py (Python selectors, epoll)",
        "requests_per_s": {"paste": rp, "linux": rl},
        "ratio_vs_linux": ratio(rp, rl),
    },
}
with open(e["BENCH_JSON_OUT"], "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
PY
log "results: $OUT"

# A benchmark, not a test: no pass/fail tally.
tb_cleanup
T_FINISHED=1
exit 0
