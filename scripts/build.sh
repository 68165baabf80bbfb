#!/bin/bash
# Install dependencies (scripts/deps.sh) and build paste with meson.
# test.sh and demo.sh both start here, so the demo and the tests always run
# against the same freshly built tree.
#
#   scripts/build.sh
# Environment:
#   BUILD_DIR=dir     build directory (default: build)
#   PASTE_SKIP_DEPS=1 skip scripts/deps.sh (it needs root; a developer who has
#                     run it once can build as a normal user)
#   PASTE_MESON_ARGS="..." extra `meson setup` options, e.g. the sanitizer
#                     build of scripts/test.sh --sanitize
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=${BUILD_DIR:-build}

if [ "${PASTE_SKIP_DEPS:-0}" != 1 ]; then
	bash scripts/deps.sh
fi

# meson setup is chatty (every dependency it probes); keep its output in a
# log and show it only when it fails.
setup_log=$(mktemp "${TMPDIR:-/tmp}/paste-setup.XXXXXX.log")
trap 'rm -f "$setup_log"' EXIT
read -r -a extra_args <<<"${PASTE_MESON_ARGS:-}"
setup() {
	if ! meson setup "$@" ${extra_args[@]+"${extra_args[@]}"} "$build" >"$setup_log" 2>&1; then
		cat "$setup_log" >&2
		return 1
	fi
}
if [ -f "$build/meson-private/coredata.dat" ]; then
	echo "build: meson setup --reconfigure $build"
	# A reconfigure can fail after a meson upgrade changed the build dir's
	# format; start that directory over rather than ask the user to.
	setup --reconfigure 2>/dev/null || setup --wipe
else
	echo "build: meson setup $build"
	setup
fi

echo "build: meson compile -C $build"
meson compile -C "$build"
