#!/bin/bash
# Suite 'unit': every program of examples/ and bench/ answers --help and -h,
# given before "--" (among the EAL's arguments) or after it, with its usage
# on stdout and status 0, and without starting the EAL: with an empty
# environment, as nobody when run as root, no "EAL:" line may show.
#
#   test_help.sh PROGRAM...      (meson passes every program built)
set -u

pass=0
fail=0
as_user=()
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/paste-help.XXXXXX")
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

check() {
	local what=$1 ok=$2
	if [ "$ok" = 1 ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $what"
	fi
}

mkdir -m 755 "$tmp/bin"
for prog in "$@"; do
	# A copy in $tmp, run from there: nobody may not reach the build
	# directory (a clone under /root), and meson may name it relative.
	name=$(basename "$prog")
	install -m 755 "$(realpath "$prog")" "$tmp/bin/$name" || { check "$name: copied" 0; continue; }
	prog="$tmp/bin/$name"
	for args in "--help" "-h" "-- --help" "-- -h"; do
		# shellcheck disable=SC2086 # $args is two words or one
		(cd "$tmp" && timeout 10 "${as_user[@]}" env -i "$prog" $args \
			>"$tmp/out" 2>"$tmp/err")
		rc=$?
		what="$name $args"
		check "$what: exit status $rc, not 0" "$([ "$rc" = 0 ] && echo 1)"
		check "$what: no usage on stdout" \
			"$(head -n 1 "$tmp/out" | grep -qi '^usage:' && echo 1)"
		check "$what: output on stderr" "$([ ! -s "$tmp/err" ] && echo 1)"
		check "$what: EAL output (the EAL started)" \
			"$(! grep -q 'EAL:' "$tmp/out" "$tmp/err" && echo 1)"
		if [ "$rc" != 0 ] || [ -s "$tmp/err" ]; then
			sed 's/^/  stdout: /' "$tmp/out" | head -n 3
			sed 's/^/  stderr: /' "$tmp/err" | head -n 3
		fi
	done
done
echo "$pass passed, $fail failed"
[ "$#" -gt 0 ] && [ "$fail" = 0 ]
