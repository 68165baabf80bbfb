#!/bin/bash
# Build and run paste's libFuzzer targets (tests/fuzz/; doc/testing.md).
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]  fuzz each target (pool, index,
#                                           proto, frames, objects; default all) for SECONDS
#                                           (default 60), one at a time
#   scripts/fuzz.sh --runs=N [TARGET|all]   a bounded run: N inputs per
#                                           target, no time budget (test.sh)
#   scripts/fuzz.sh --replay [TARGET|all]   every input of the corpus in the
#                                           tree once, nothing new
#   scripts/fuzz.sh --build                 only build the targets
#
# The targets are built by clang (CC, default clang-14) in FUZZ_BUILD_DIR
# (default build-fuzz) with -fsanitize=fuzzer-no-link,address,undefined.
# Inputs libFuzzer finds go to FUZZ_BUILD_DIR/corpus/TARGET (copy those
# worth keeping into tests/fuzz/corpus/TARGET), crashes, leaks and
# timeouts to FUZZ_BUILD_DIR/crashes/TARGET/. Per target it prints the
# executions, executions per second, coverage (cov: edges, ft: features),
# corpus size and the crash files; exit status 1 if any target failed.
# PASTE_SKIP_DEPS=1 skips scripts/deps.sh, as for build.sh.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
fb=${FUZZ_BUILD_DIR:-build-fuzz}
all_targets=(pool index proto frames objects)

mode=time runs=0
case "${1:-}" in
--runs=*) mode=runs; runs=${1#--runs=}; shift ;;
--replay) mode=replay; shift ;;
--build) mode=build; shift ;;
esac
target=${1:-all}
seconds=${2:-60}
if [ "$target" = all ]; then
	targets=("${all_targets[@]}")
else
	case " ${all_targets[*]} " in
	*" $target "*) targets=("$target") ;;
	*) echo "fuzz.sh: unknown target '$target' (${all_targets[*]}, all)" >&2; exit 2 ;;
	esac
fi
case "$seconds$runs" in
*[!0-9]*) echo "fuzz.sh: SECONDS and N are whole numbers" >&2; exit 2 ;;
esac

cc=${CC:-clang-14}
if ! command -v "$cc" >/dev/null; then
	echo "fuzz.sh: $cc not found (scripts/deps.sh installs clang and libfuzzer-14-dev)" >&2
	exit 1
fi
echo "fuzz: building the targets in $fb ($cc)"
CC=$cc BUILD_DIR=$fb PASTE_MESON_ARGS="-Dfuzz=true -Dtests=false -Dexamples=false \
-Db_sanitize=address,undefined -Db_lundef=false \
-Dc_args=['-fsanitize=fuzzer-no-link','-Wno-gnu-variable-sized-type-not-at-end']" \
	bash scripts/build.sh >/dev/null
if [ "$mode" = build ]; then
	exit 0
fi

# Sanitizer settings for the run (halt on UBSan reports too; DPDK's
# deliberate unaligned CRC loads are suppressed, with their reason).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$repo/tests/sanitizers/ubsan.supp}

failed=0
for t in "${targets[@]}"; do
	exe="$fb/tests/fuzz/fuzz_$t"
	seed="tests/fuzz/corpus/$t"
	work="$fb/corpus/$t"
	crashes="$fb/crashes/$t"
	log="$fb/fuzz-$t.$mode.log"
	mkdir -p "$work" "$crashes"
	args=(-timeout=25 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/")
	case "$mode" in
	time) args+=(-max_total_time="$seconds" "$work" "$seed") ;;
	runs)
		# Repeatable: a fixed seed, and only the corpus in the tree
		# (what earlier runs found stays out of it).
		work=$(mktemp -d "$fb/corpus/$t-runs.XXXXXX")
		args+=(-seed=1 -runs="$runs" -max_total_time=600 "$work" "$seed") ;;
	replay) args+=(-runs=0 "$seed") ;;
	esac
	before=$(find "$crashes" -type f | wc -l)
	rc=0
	"$exe" "${args[@]}" >"$log" 2>&1 || rc=$?
	after=$(find "$crashes" -type f | wc -l)
	if [ "$mode" = runs ]; then
		rm -rf "$work"
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -ao 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -ao 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	corp=$(grep -ao 'corp: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	echo "fuzz $t: ${execs:-?} executions, ${rate:-?}/s, cov ${cov:-?} edges, ft ${ft:-?}," \
		"corpus ${corp:-?}, new crash files $((after - before)), exit $rc (log $log)"
	if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
		failed=1
		grep -aE 'ERROR|runtime error|fuzz invariant|SUMMARY' "$log" | head -5 >&2 || true
		find "$crashes" -type f -newer "$exe" | head -5 | sed 's/^/  crash file: /' >&2
	fi
done
exit "$failed"
