#!/bin/bash
# The demo: paste-kvs against its Linux baseline, on this machine, in about
# a minute after the build.
#
#   scripts/demo.sh           install the dependencies (scripts/deps.sh),
#                             build, bring up the namespace testbed, start
#                             paste-kvs on a core of its own (core 1), check
#                             that it stores and returns values (RESP and
#                             HTTP), run short redis-benchmark and wrk loads
#                             against it and against linux-kvs (the same
#                             parsers and indexes over Linux sockets, copy +
#                             fence before every write()), print the
#                             comparison table, and tear everything down
#   scripts/demo.sh --pool [options]
#                             the persistent pool on its own
#                             (scripts/pool-demo.sh: keep, name, restart)
#
# The full side-by-side benchmark (with Redis, every size, pipelining and
# connection count, memory per key) is bench/run.sh; its results are in
# doc/benchmarks.md.
# Environment: BUILD_DIR (default build), PASTE_SKIP_DEPS=1 (see build.sh).
# Must run as root (packages, hugepages, network namespaces).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

if [ "${1:-}" = --pool ]; then
	shift
	exec bash scripts/pool-demo.sh "$@"
fi
if [ "$#" -gt 0 ]; then
	sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: must run as root (packages, network namespaces); try: sudo $0" >&2
	exit 2
fi

echo "demo: installing dependencies and building (scripts/build.sh)"
bash scripts/build.sh

echo "demo: paste-kvs (zero copy, wal index) vs linux-kvs, server on core 1, clients on core 0"
echo "demo: (bench/run.sh --demo: testbeds, servers and pool files are removed at the end)"
# run.sh brings the testbeds up and removes them, its servers and its files
# on every exit path (normal end, error, Ctrl-C).
bash bench/run.sh --demo
