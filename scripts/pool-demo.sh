#!/bin/bash
# Build paste and run the pool demo (examples/paste-pool-demo) on a pool
# file in /dev/shm, i.e. persistent memory emulated in DRAM. Arguments are
# passed to the demo; the pool file is removed when the demo ends.
#
#   scripts/pool-demo.sh [demo options...]   (also: scripts/demo.sh --pool ...)
# Environment: BUILD_DIR (default build), PASTE_SKIP_DEPS=1 (see build.sh),
#   PASTE_DEMO_POOL (default /dev/shm/paste-demo.pool).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=${BUILD_DIR:-build}
pool=${PASTE_DEMO_POOL:-/dev/shm/paste-demo.pool}

echo "demo: building paste, then running paste-pool-demo on pool file $pool"

bash scripts/build.sh

demo="$build/examples/paste-pool-demo"
if [ ! -x "$demo" ]; then
	echo "demo: $demo was not built" >&2
	exit 1
fi

# Every run starts from a new pool: a file left by a killed run would
# otherwise be opened and recovered instead of created. Not exec'd, so the
# trap still removes the file when the demo exits or is interrupted.
rm -f "$pool"
trap 'rm -f "$pool"' EXIT
"$demo" --pool-file "$pool" --json "$build/paste-pool-demo.json" "$@"
