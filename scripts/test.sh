#!/bin/bash
# Build paste and run its test suites; what CI (.ci/run) and the README call.
#
#   scripts/test.sh                 every suite (unit, dpdk, net, crash) and
#                                   the consumer check
#   scripts/test.sh unit dpdk       only these suites ("consumer" is also
#                                   accepted as a name)
#   scripts/test.sh --crash-images=N crash   the power-loss crash-image suite
#                                   (kvs_crash_images, and kvs_power's
#                                   in-process images of a traced server run)
#                                   with N images per index instead of 1,100
#                                   (100000 is the long run); no meson
#                                   timeouts then
# Environment: BUILD_DIR (default build), PASTE_SKIP_DEPS=1 (see build.sh).
#
# Once tests have run, the last line printed is "tests: N passed, M failed[, K skipped]",
# counted from meson's testlog.json (plus the consumer check, when it runs).
# Exit status is non-zero when the build, meson test or any test failed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=${BUILD_DIR:-build}
export BUILD_DIR=$build

# Which meson suites to run; "consumer" is not a meson suite but the check
# that an outside program builds against the installed library.
suite_args=()
timeout_args=()
run_consumer=1
args=()
for s in "$@"; do
	case "$s" in
	--crash-images=*)
		export KVS_CRASH_IMAGES=${s#--crash-images=}
		timeout_args=(--timeout-multiplier 0) ;;
	*) args+=("$s") ;;
	esac
done
set -- ${args[@]+"${args[@]}"}
if [ "$#" -gt 0 ]; then
	run_consumer=0
	for s in "$@"; do
		case "$s" in
		consumer) run_consumer=1 ;;
		unit | dpdk | net | crash) suite_args+=(--suite "$s") ;;
		*) echo "test.sh: unknown suite '$s' (unit, dpdk, net, crash, consumer)" >&2; exit 2 ;;
		esac
	done
fi

if ! bash scripts/build.sh; then
	echo "test.sh: build failed, no test ran" >&2
	exit 1
fi

# --- meson test -----------------------------------------------------------
# Remove the previous run's log so that a meson test that dies early cannot
# be summarised with stale results.
testlog="$build/meson-logs/testlog.json"
rm -f "$testlog"
meson_rc=0
if [ "$#" -eq 0 ] || [ "${#suite_args[@]}" -gt 0 ]; then
	# Two processes: the machine has two cores. Suites that busy-poll
	# (dpdk, net, crash) are marked is_parallel: false in tests/meson.build.
	meson test -C "$build" --print-errorlogs --num-processes 2 ${timeout_args[@]+"${timeout_args[@]}"} "${suite_args[@]}" || meson_rc=$?
fi

# --- consumer check ---------------------------------------------------------
# Counted as one test in the summary.
consumer_passed=0
consumer_failed=0
if [ "$run_consumer" -eq 1 ]; then
	if [ -f tests/consumer/run.sh ]; then
		echo "consumer: tests/consumer/run.sh"
		if bash tests/consumer/run.sh "$build"; then
			consumer_passed=1
			echo "consumer: OK"
		else
			consumer_failed=1
			echo "consumer: FAIL"
		fi
	else
		echo "consumer: tests/consumer/run.sh does not exist yet, skipped"
	fi
fi

# --- summary ------------------------------------------------------------------
# testlog.json holds one JSON object per test with a "result" field:
# OK and EXPECTEDFAIL pass, SKIP is skipped, everything else (FAIL, TIMEOUT,
# UNEXPECTEDPASS, ERROR, anything unknown) fails.
rc=0
passed=0 failed=0 skipped=0
if [ -s "$testlog" ]; then
	if counts=$(bash scripts/summarize-testlog.sh "$testlog"); then
		read -r passed failed skipped <<<"$counts"
	else
		echo "test.sh: cannot parse $testlog" >&2
		rc=1
	fi
fi
passed=$((passed + consumer_passed))
failed=$((failed + consumer_failed))

if [ "$meson_rc" -ne 0 ]; then
	echo "test.sh: meson test exited with status $meson_rc" >&2
	rc=1
fi
if [ "$failed" -gt 0 ]; then
	rc=1
fi

summary="tests: $passed passed, $failed failed"
if [ "$skipped" -gt 0 ]; then
	summary+=", $skipped skipped"
fi
echo "$summary"
exit "$rc"
