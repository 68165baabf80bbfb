#!/bin/bash
# Consumer check: install paste into a staging root with meson, then build
# a program that is not part of paste's build against the installed headers
# and libpaste.a through `pkg-config --static paste`, and run it.
#   tests/consumer/run.sh [BUILD_DIR]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(realpath "${1:-${BUILD_DIR:-$repo/build}}")
stage=$(mktemp -d "${TMPDIR:-/tmp}/paste-consumer.XXXXXX")
trap 'rm -rf "$stage"' EXIT

meson install -C "$build" --destdir "$stage/root" --quiet >/dev/null
pcdir=$(dirname "$(find "$stage/root" -name paste.pc -print -quit)")
[ -f "$pcdir/paste.pc" ] || { echo "consumer: paste.pc was not installed" >&2; exit 1; }

# Point paste.pc's prefix at the staging root, as if paste were installed
# on this machine; its dependencies (libdpdk, libpmem) resolve as usual.
# (--define-variable would rewrite their prefixes too.)
mkdir "$stage/pc"
sed "s|^prefix=|prefix=$stage/root|" "$pcdir/paste.pc" >"$stage/pc/paste.pc"
export PKG_CONFIG_PATH="$stage/pc"
pc() { pkg-config "$@" paste; }
flags_c=$(pc --cflags)
flags_l=$(pc --static --libs)
case "$flags_l" in
*-lpaste*) ;;
*) echo "consumer: pkg-config --libs paste lacks -lpaste: $flags_l" >&2; exit 1 ;;
esac

# shellcheck disable=SC2086 # the flags are word lists by design
cc -std=gnu11 -Wall -Wextra -Werror $flags_c "$repo/tests/consumer/consumer.c" \
	-o "$stage/consumer" $flags_l
# The binary must carry the library inside it, not load it at run time.
if ldd "$stage/consumer" | grep -q libpaste; then
	echo "consumer: linked libpaste dynamically" >&2
	exit 1
fi
"$stage/consumer" "/dev/shm/paste-consumer-$$.pool"
echo "consumer: OK (static link through pkg-config --static paste)"
