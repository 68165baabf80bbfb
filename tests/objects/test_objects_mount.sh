#!/bin/bash
# Suite 'net': a paste-objects bucket mounted through FUSE by rclone mount
# (fuse3), used through the kernel's file system: cp -r, cat, ls -R, mv,
# rm, diff -r against the source tree; then the server killed under the
# mount: a listing fails within its bound instead of hanging.
# - rclone runs under nsenter --net (the Linux namespace), not ip netns
#   exec, which would give it a private mount namespace the test cannot see.
# - The first mount writes (--vfs-cache-mode writes: a file is uploaded whole,
#   a single PUT, when closed; off would stream it as a multipart upload);
#   what it wrote is checked on the server with a separate rclone check,
#   then read back through a second mount with no cache at all.
# - Short rclone timeouts; fusermount3 -uz in the traps.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/../kvs/kvs_lib.sh"
# shellcheck source=tests/objects/objects_lib.sh
. "$(dirname "$0")/objects_lib.sh"
command -v fusermount3 >/dev/null || skip "fusermount3 not found (fuse3: scripts/deps.sh)"
[ -c /dev/fuse ] || skip "no /dev/fuse: FUSE is not available here"
OBJ_POOL_BUFS=65536
objects_testbed_up m rclone
W=$TB_WORK
# Outside TB_WORK: the cleanup's rm -rf must never run through a mount.
MNT=$(mktemp -d /tmp/paste-objects-mnt.XXXXXX)
MOUNT_PID=""

mnt_down() {
	if mountpoint -q "$MNT" 2>/dev/null; then
		fusermount3 -uz "$MNT" 2>/dev/null
	fi
	if [ -n "$MOUNT_PID" ]; then
		bg_kill "$MOUNT_PID" 10
		bg_forget "$MOUNT_PID"
		MOUNT_PID=""
	fi
	rmdir "$MNT" 2>/dev/null
	return 0
}
trap 'rc=$?; mnt_down; (exit $rc); tb_on_exit' EXIT
trap 'mnt_down; tb_on_signal INT' INT
trap 'mnt_down; tb_on_signal TERM' TERM

# mnt_up TAG [RCLONE OPTIONS...]: po:mnt mounted on MNT, ready within 20 s.
mnt_up() {
	local tag=$1 i
	shift
	mkdir -p "$MNT"
	bg_start timeout -k 5 600 "${LX[@]}" "${RCL_ENV[@]}" rclone --config /dev/null mount po:mnt "$MNT" \
		--contimeout 5s --timeout 15s --retries 1 --low-level-retries 2 \
		--s3-upload-cutoff 1G --dir-cache-time 1s --attr-timeout 1s --poll-interval 0 \
		--cache-dir "$W/cache-$tag" -v "$@" >"$W/mount-$tag.log" 2>&1
	MOUNT_PID=$BG_PID
	for ((i = 0; i < 200; i++)); do
		mountpoint -q "$MNT" && break
		kill -0 "$MOUNT_PID" 2>/dev/null || break
		sleep 0.1
	done
	mountpoint -q "$MNT"
	check_rc $? "rclone mount ($tag) up within 20 s" || { tail -n 5 "$W/mount-$tag.log"; return 1; }
}

# mnt_unmount TAG: fusermount3 -u, rclone gone within 30 s.
mnt_unmount() {
	local tag=$1
	run_bounded 20 fusermount3 -u "$MNT"
	check_rc $? "fusermount3 -u ($tag)"
	wait_pid "$MOUNT_PID" 30
	check_rc $? "rclone mount ($tag) exits after the unmount"
	bg_forget "$MOUNT_PID"
	MOUNT_PID=""
}

# server_matches WHAT: rclone check of SRC against po:mnt/tree over the
# network, tried for up to 60 s (the mount uploads after each close).
server_matches() {
	local what=$1 i
	for ((i = 0; i < 12; i++)); do
		run_bounded 60 "${RCL[@]}" check "$SRC" po:mnt/tree >"$W/check.log" 2>&1 && break
		sleep 5
	done
	grep -q " 0 differences found" "$W/check.log"
	check_rc $? "$what: the server holds the tree (rclone check, MD5) $(tail -n 2 "$W/check.log")"
}

SRC="$W/src"
total=$(/usr/bin/python3 "$NET_REPO/tests/objects/make_tree.py" "$SRC" 120 5000000 7)
log "source tree: 120 files, $total bytes"
if objects_start m; then
	objects_run "rclone mkdir po:mnt" 30 "${RCL[@]}" mkdir po:mnt
	# Every change of this mount's goes through it, so its directory cache
	# may last: with the default's 1 s, a loaded machine's rm -r outlived
	# it, rclone listed the directory afresh from the bucket, where a
	# prefix whose last object is gone is no directory, and rm's final
	# rmdir met ENOENT.
	if mnt_up writes --vfs-cache-mode writes --vfs-write-back 0s --dir-cache-time 60s; then
		run_bounded 180 cp -r "$SRC" "$MNT/tree"
		check_rc $? "cp -r of 120 files into the mount"
		server_matches "after cp -r"
		f=$(cd "$SRC" && find . -type f -size +100k | sort | head -n 1)
		run_bounded 30 cat "$MNT/tree/$f" >"$W/cat.out"
		check_eq "$(sha_of "$W/cat.out")" "$(sha_of "$SRC/$f")" "cat through the mount: $f"
		run_bounded 60 mv "$MNT/tree/d1" "$MNT/tree/d1 moved" && mv "$SRC/d1" "$SRC/d1 moved"
		check_rc $? "mv of a directory through the mount"
		g=$(cd "$SRC" && find "./d2" -type f | sort | head -n 1)
		run_bounded 60 mv "$MNT/tree/$g" "$MNT/tree/renamed+file.bin" && mv "$SRC/$g" "$SRC/renamed+file.bin"
		check_rc $? "mv of a file through the mount"
		run_bounded 60 rm -r "$MNT/tree/d3" >"$W/rm.log" 2>&1
		check_rc $? "rm -r of a directory through the mount $(head -n 3 "$W/rm.log")"
		rm -r "$SRC/d3"
		g=$(cd "$SRC" && find "./d4" -type f | sort | head -n 1)
		run_bounded 60 rm "$MNT/tree/$g" && rm "$SRC/$g"
		check_rc $? "rm of a file through the mount"
		printf 'written through the kernel\n' >"$SRC/d0/new.txt"
		run_bounded 30 cp "$SRC/d0/new.txt" "$MNT/tree/d0/new.txt"
		check_rc $? "cp of a new file into the mount"
		server_matches "after mv, rm and cp"
		mnt_unmount writes
	fi
	# A second mount, no cache: what is read comes from the server.
	if mnt_up read --vfs-cache-mode off; then
		(cd "$SRC" && ls -R) >"$W/ls.src"
		(cd "$MNT/tree" && run_bounded 60 ls -R) >"$W/ls.mnt"
		diff "$W/ls.src" "$W/ls.mnt" >"$W/ls.diff"
		check_rc $? "ls -R through the mount equals the source's $(head -n 3 "$W/ls.diff")"
		run_bounded 180 diff -r "$SRC" "$MNT/tree" >"$W/diff.out" 2>&1
		check_rc $? "diff -r of the source against the mount (no cache) $(head -n 3 "$W/diff.out")"
		check_eq "$(run_bounded 30 cat "$MNT/tree/d0/new.txt")" "written through the kernel" \
			"cat of the file written through the first mount"
		# The server killed under the mount: a listing (the directory
		# cache expired: 1 s) fails within rclone's timeouts, no hang.
		stop_kvs KILL
		sleep 2
		start=$SECONDS
		run_bounded 90 ls "$MNT/tree/d5" >"$W/ls.dead" 2>&1
		rc=$?
		[ $rc -ne 0 ] && [ $rc -ne 124 ]
		check_rc $? "the server killed: ls through the mount fails (exit $rc) in $((SECONDS - start)) s, no hang"
		run_bounded 20 fusermount3 -uz "$MNT"
		check_rc $? "fusermount3 -uz with the server gone"
		wait_pid "$MOUNT_PID" 30
		check_rc $? "rclone mount exits after the unmount"
		bg_forget "$MOUNT_PID"
		MOUNT_PID=""
	fi
	stop_kvs INT
fi
mnt_down
tb_finish
