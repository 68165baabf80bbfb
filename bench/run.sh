#!/bin/bash
# paste-kvs against its Linux baseline (linux-kvs) and Redis, side by side,
# on the namespace testbed; see doc/benchmarks.md for what it measures.
#
#   bench/run.sh                 the full run (about 45 minutes), results in
#                                bench/results/, doc/benchmarks.md and
#                                doc/img/bench-*.png regenerated
#   bench/run.sh --quick         a smaller matrix, about three minutes; its
#                                result goes to bench/results/ only (a quick
#                                run never rewrites doc/; --doc FILE writes
#                                its report elsewhere)
#   bench/run.sh --quick --smoke the test: every system answers SET/GET
#                                correctly (no timing assertion); writes no
#                                result; last line "N passed, M failed"
# Capacity: paste-kvs's requests/s on one core under paste-loadgen
#   (bench/loadgen, paste's own stack as the client) over a memif, with the
#   generator's own ceiling against its responder first (full, quick and
#   smoke runs; --no-capacity skips it).
# Objects: paste-objects (nic testbed) against linux-objects, its
#   Linux-sockets build: PUT/GET throughput of 4 KiB, 1 MiB and 64 MiB
#   objects and server busy time per MiB by stage (bench/lib/objbench.py;
#   full, quick and smoke runs; --no-objects skips it, --objects-only or
#   bench/objects-bench.sh runs it alone).
# Testbeds: paste-kvs runs on two, side by side in the report: afpacket
#   (net_af_packet on the veth: the kernel is its NIC) and nic (systems
#   NAME@nic: a net_memif bridged to the veth by dpdk-testpmd on the client
#   core); --testbed afpacket|nic runs one of them. Every veth has RPS on
#   the core that reads it.
# More options (bench/lib/bench.py --help): --systems a,b (paste-wal,
#   paste-btree, paste-copy, linux-kvs, redis, the @nic and +d10 variants),
#   --reps N, --seconds S, --keyspace N, --mem-keys N, --no-memory,
#   --no-delay, --no-capacity, --no-doc, --out DIR, --skip-unbuilt, --points REGEX (a few
#   points only), --callgrind N and --profile N (instructions and perf
#   samples per request, explained in doc/benchmarks.md).
# Environment: BUILD_DIR (default build): where paste-kvs
#   (examples/paste-kvs) and linux-kvs (bench/linux-kvs) are;
#   BENCH_EAL_MEM (default "--no-huge -m 512"): paste-kvs's EAL memory;
#   BENCH_AF_PACKET (default "qpairs=1,framecnt=4096"): net_af_packet options;
#   BENCH_KVS_ARGS: more paste-kvs options; BENCH_TESTPMD (default
#   dpdk-testpmd) and BENCH_BRIDGE_MEM (default "--no-huge -m 256"): the
#   nic testbed's bridge.
#
# Root (network namespaces). Exit status 2 when a client tool is missing
# (scripts/deps.sh installs them all).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=/usr/bin/python3

need=(ip nsenter ethtool taskset timeout mount redis-server redis-cli redis-benchmark wrk curl dpdk-testpmd)
for a in "$@"; do
	case "$a" in
	--smoke | --no-doc) nodoc=1 ;;
	esac
done
[ "${nodoc:-0}" = 1 ] || need+=(gnuplot)
missing=()
for c in "${need[@]}"; do
	command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
[ -x "$py" ] || missing+=("$py")
if [ "${#missing[@]}" -gt 0 ]; then
	echo "bench: missing tools: ${missing[*]}" >&2
	echo "bench: scripts/deps.sh installs them (Debian packages redis-server redis-tools wrk gnuplot-nox curl iproute2 ethtool dpdk)" >&2
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: must run as root (network namespaces)" >&2
	exit 2
fi
BUILD_DIR=${BUILD_DIR:-build}
case "$BUILD_DIR" in
/*) ;;
*) [ -d "$PWD/$BUILD_DIR" ] && BUILD_DIR="$PWD/$BUILD_DIR" || BUILD_DIR="$repo/$BUILD_DIR" ;;
esac
export BUILD_DIR
exec "$py" "$repo/bench/lib/bench.py" --build-dir "$BUILD_DIR" "$@"
