#!/bin/bash
# Build paste and run its test suites; what CI (.ci/run) and the README call.
#
#   scripts/test.sh                 every suite (unit, dpdk, net, crash) and
#                                   the consumer check; then the sanitizer
#                                   stage (the unit suite and the paste-kvs
#                                   net tests kvs, kvs_sync_fail, kvs_trickle
#                                   in an ASan + UBSan build, build-asan) and
#                                   the fuzz stage (each libFuzzer corpus
#                                   replayed, then a short run of a bounded
#                                   number of inputs; needs clang-14)
#   scripts/test.sh --long          the default run plus suite 'long': the
#                                   net tests again against the Linux-sockets
#                                   twins (bench/linux-kvs, linux-objects),
#                                   paste-loadgen and the benchmark smoke
#                                   test, about 9 minutes more
#   scripts/test.sh unit dpdk       only these suites ("consumer", "fuzz"
#                                   and "long" are also accepted as names)
#   scripts/test.sh --sanitize [SUITE...]  the named suites (default: unit,
#                                   dpdk, net, crash) in the sanitizer build
#   scripts/test.sh --crash-images=N crash   the power-loss crash-image suite
#                                   (kvs_crash_images, and kvs_power's
#                                   in-process images of a traced server run)
#                                   with N images per index instead of 1,100,
#                                   and objects_crash_images with N instead
#                                   of 1,500 (100000 is the long run); no
#                                   meson timeouts then
# Environment: BUILD_DIR (default build; build-asan with --sanitize),
# SAN_BUILD_DIR (the default run's sanitizer build, default build-asan),
# PASTE_SKIP_DEPS=1 (see build.sh). doc/testing.md describes the stages.
#
# Once tests have run, each failed test is named on a "FAILED: " line and
# the last line printed is "tests: N passed, M failed[, K skipped]",
# counted from meson's testlog.json of every stage (plus the consumer check
# and the bounded fuzz run, one test each).
# Exit status is non-zero when a build, meson test or any test failed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
user_build=${BUILD_DIR:-}
build=${BUILD_DIR:-build}

# Which meson suites to run; "consumer" is not a meson suite but the check
# that an outside program builds against the installed library.
suite_args=()
timeout_args=()
run_consumer=1
run_fuzz=0
sanitize=0
long=0
args=()
for s in "$@"; do
	case "$s" in
	--crash-images=*)
		export KVS_CRASH_IMAGES=${s#--crash-images=}
		export OBJ_CRASH_IMAGES=${s#--crash-images=}
		timeout_args=(--timeout-multiplier 0) ;;
	--sanitize) sanitize=1 ;;
	--long) long=1 ;;
	*) args+=("$s") ;;
	esac
done
set -- ${args[@]+"${args[@]}"}
default_run=0
if [ "$#" -eq 0 ] && [ "$sanitize" -eq 0 ]; then
	default_run=1
	run_fuzz=1
fi
if [ "$#" -gt 0 ] || [ "$sanitize" -eq 1 ]; then
	run_consumer=0
	for s in "$@"; do
		case "$s" in
		consumer) run_consumer=1 ;;
		fuzz) run_fuzz=1 ;;
		unit | dpdk | net | crash | long) suite_args+=(--suite "$s") ;;
		*) echo "test.sh: unknown suite '$s' (unit, dpdk, net, crash, long, consumer, fuzz)" >&2; exit 2 ;;
		esac
	done
	if [ "$sanitize" -eq 1 ] && [ "$#" -eq 0 ]; then
		suite_args=(--suite unit --suite dpdk --suite net --suite crash)
	fi
fi

# Sanitizer builds: ASan and UBSan on every source (gcc), undefined
# symbols of the sanitizer runtimes allowed in shared modules. UBSan
# reports fail a test like ASan's; tests/sanitizers/ holds the few
# suppressions, each with its reason.
san_meson_args="-Db_sanitize=address,undefined -Db_lundef=false"
# verify_asan_link_order=0: kvs_sync_fail preloads its fail_msync shim
# (LD_PRELOAD), which puts the shim before the ASan runtime.
san_env() {
	export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:verify_asan_link_order=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$repo/tests/sanitizers/ubsan.supp}
}
if [ "$sanitize" -eq 1 ]; then
	build=${user_build:-build-asan}
	export PASTE_MESON_ARGS="$san_meson_args"
	san_env
fi
export BUILD_DIR=$build

if ! bash scripts/build.sh; then
	echo "test.sh: build failed, no test ran" >&2
	exit 1
fi

rc=0
passed=0 failed=0 skipped=0
failed_names=()   # printed before the summary: which ones, not just how many

# meson_run DIR [ARGS...]: meson test in DIR, its results added to the
# counts. The previous run's log is removed first, so that a meson test
# that dies early cannot be summarised with stale results.
meson_run() {
	local dir=$1 testlog counts p f k mrc=0
	shift
	testlog="$dir/meson-logs/testlog.json"
	rm -f "$testlog"
	# Two processes: the machine has two cores. Suites that busy-poll
	# (dpdk, net, crash) are marked is_parallel: false in tests/meson.build.
	meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" || mrc=$?
	if [ -s "$testlog" ]; then
		if counts=$(bash scripts/summarize-testlog.sh "$testlog"); then
			read -r p f k <<<"$counts"
			passed=$((passed + p))
			failed=$((failed + f))
			skipped=$((skipped + k))
			if [ "$f" -gt 0 ]; then
				# With the failing checks' own lines (cmocka's FAILED,
				# ERROR and LINE, the scripts' FAIL:), so that a log
				# cut to its last lines still says what failed.
				mapfile -t -O "${#failed_names[@]}" failed_names < <(jq -r --arg d "$dir" '
					select(.result != "OK" and .result != "EXPECTEDFAIL" and .result != "SKIP")
					| "\($d): \(.name) (\(.result))" + ([((.stdout // "") + "\n" + (.stderr // ""))
					  | split("\n")[] | select(test("^\\[  (FAILED|ERROR)  |^\\[   LINE|^FAIL: "))
					  | select(test("test\\(s\\)") | not)][:4] | map("; " + .[0:160]) | join(""))' "$testlog")
			fi
		else
			echo "test.sh: cannot parse $testlog" >&2
			rc=1
		fi
	fi
	if [ "$mrc" -ne 0 ]; then
		echo "test.sh: meson test -C $dir exited with status $mrc" >&2
		rc=1
	fi
}

# --- meson test -----------------------------------------------------------
# The default run leaves out suite 'long' unless --long is given.
if [ "$default_run" -eq 1 ] && [ "$long" -eq 0 ]; then
	suite_args=(--no-suite long)
fi
if [ "$default_run" -eq 1 ] || [ "${#suite_args[@]}" -gt 0 ]; then
	meson_run "$build" ${timeout_args[@]+"${timeout_args[@]}"} \
		${suite_args[@]+"${suite_args[@]}"}
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
			failed_names+=("consumer check")
			echo "consumer: FAIL"
		fi
	else
		echo "consumer: tests/consumer/run.sh does not exist yet, skipped"
	fi
fi

# --- sanitizer stage (default run) ------------------------------------------
# The unit suite and the paste-kvs net tests once more, in the ASan + UBSan
# build (scripts/test.sh --sanitize runs every suite there).
if [ "$default_run" -eq 1 ]; then
	san_build=${SAN_BUILD_DIR:-build-asan}
	echo "sanitizers: $san_build ($san_meson_args)"
	# The dependencies were installed by the first build.
	if (san_env; PASTE_SKIP_DEPS=1 PASTE_MESON_ARGS="$san_meson_args" \
		BUILD_DIR=$san_build bash scripts/build.sh); then
		san_env
		meson_run "$san_build" --suite unit
		meson_run "$san_build" kvs kvs_sync_fail kvs_trickle
	else
		echo "test.sh: sanitizer build failed" >&2
		failed=$((failed + 1))
		failed_names+=("sanitizer build")
	fi
fi

# --- fuzz stage -----------------------------------------------------------------
# Each libFuzzer corpus replayed (a meson test per target), then a short
# run of a bounded number of inputs per target (no time budget).
if [ "$run_fuzz" -eq 1 ]; then
	if command -v "${CC_FUZZ:-clang-14}" >/dev/null; then
		if CC=${CC_FUZZ:-clang-14} PASTE_SKIP_DEPS=1 bash scripts/fuzz.sh --build; then
			meson_run "${FUZZ_BUILD_DIR:-build-fuzz}" --suite fuzz
			echo "fuzz: a bounded run of 2000 inputs per target"
			if CC=${CC_FUZZ:-clang-14} PASTE_SKIP_DEPS=1 bash scripts/fuzz.sh --runs=2000; then
				passed=$((passed + 1))
			else
				failed=$((failed + 1))
				failed_names+=("fuzz: bounded run")
			fi
		else
			echo "test.sh: fuzz build failed" >&2
			failed=$((failed + 1))
			failed_names+=("fuzz build")
		fi
	else
		echo "fuzz: ${CC_FUZZ:-clang-14} not installed, fuzz stage skipped"
		skipped=$((skipped + 1))
	fi
fi

# --- summary ------------------------------------------------------------------
passed=$((passed + consumer_passed))
failed=$((failed + consumer_failed))
if [ "$failed" -gt 0 ]; then
	rc=1
fi

for name in ${failed_names[@]+"${failed_names[@]}"}; do
	echo "FAILED: $name"
done
summary="tests: $passed passed, $failed failed"
if [ "$skipped" -gt 0 ]; then
	summary+=", $skipped skipped"
fi
echo "$summary"
exit "$rc"
