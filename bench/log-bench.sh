#!/bin/bash
# The packet logger's cost per frame: paste-testpmd --forward-mode=log
# between two net_null ports (every frame kept, recorded, flushed, one drain
# per burst, the ring wrapping all the time) against io mode on one net_null
# port (receive and send back, nothing recorded). net_null makes and eats
# frames at memory speed, so what is measured is the forwarding core alone.
#
#   bench/log-bench.sh [SECONDS] [FRAME-BYTES]     (defaults 5, 64)
#
# Prints one line per mode: frames/s (both directions) and ns per frame on
# the one busy-polling core. Holds /tmp/paste-net.lock while it runs, as the
# busy-polling test suites do. Environment: BUILD_DIR (default build).
set -euo pipefail
secs=${1:-5}
size=${2:-64}
build=${BUILD_DIR:-build}
tp="$build/examples/paste-testpmd"
[ -x "$tp" ] || { echo "log-bench: $tp not built" >&2; exit 1; }
work=$(mktemp -d /dev/shm/paste-log-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

run() {
	local mode=$1
	shift
	flock /tmp/paste-net.lock timeout $((secs + 60)) "$tp" --no-huge -m 512 --no-pci \
		--no-shconf --no-telemetry --file-prefix "plb$$_$mode" --log-level=lib.eal:error \
		"$@" -- --forward-mode="$mode" --pool-file "$work/$mode.pool" --pool-bufs 16384 \
		--nb-mbufs 2048 --max-time "$secs" --json "$work/$mode.json" \
		$([ "$mode" = log ] && echo --peer-port 1) >"$work/$mode.log" 2>&1 ||
		{ echo "log-bench: $mode failed:" >&2; tail -n 20 "$work/$mode.log" >&2; exit 1; }
	python3 - "$work/$mode.json" "$mode" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
fps = j["forward"]["tx"] / j["elapsed_s"]
print(f"{sys.argv[2]:4s} frames/s={fps:,.0f} ns/frame={1e9 / fps:.1f} "
      f"drains={j['pool']['drains']} persist={j['pool']['persist_mode']}")
PY
}

echo "log-bench: $secs s per mode, $size-byte frames, net_null"
run io "--vdev=net_null0,size=$size"
run log "--vdev=net_null0,size=$size" "--vdev=net_null1,size=$size"
