#!/bin/bash
# paste-objects against linux-objects, its Linux-sockets build: the objects
# phase of bench/run.sh alone (bench/lib/objbench.py says what it measures;
# doc/benchmarks.md, "Objects").
#
#   bench/objects-bench.sh           full: 3 repeats of 5 s per point, the
#                                    result in bench/results/objects-*.json
#   bench/objects-bench.sh --quick   2 repeats of 2 s
#   bench/objects-bench.sh --smoke   one short repeat, checks only (the
#                                    bench_smoke test runs it in run.sh)
#
# Root (network namespaces); BUILD_DIR as bench/run.sh.
exec bash "$(dirname "${BASH_SOURCE[0]}")/run.sh" --objects-only "$@"
