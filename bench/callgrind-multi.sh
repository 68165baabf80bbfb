#!/bin/bash
# Instructions (callgrind, user space) of a transaction against the same
# commands without one: paste-kvs under valgrind --tool=callgrind on the
# netns testbed, counters zeroed before and dumped after each load, as
# bench/run.sh's callgrind phase does. Each load is N rounds, pipelined 16
# rounds at a time, of:
#   set10       10 SETs of 1 KiB values
#   set10ping2  10 SETs and 2 PINGs
#   multi10     MULTI, the 10 SETs, EXEC
#   set / get   one SET / one GET of a 1 KiB value
# Every SET writes a new key. Prints instructions per round, without the
# empty polls (their count times an idle poll's cost), as bench/run.sh.
#   bench/callgrind-multi.sh [N] [paste-kvs options...]   (root; BUILD_DIR)
# PHASES="set get" picks loads; VALUE_BYTES (default 1024) sizes the values;
# CG_KEEP=DIR keeps each load's dump.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../tests/net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/../tests/kvs/kvs_lib.sh"
N=${1:-2000}
shift || true
command -v valgrind >/dev/null || die "valgrind not found"
kvs_testbed_up g
CG="$TB_WORK/callgrind.out"
KVS_LOG="$TB_WORK/kvs.log"
PREFIX="pcg$$"
TB_EAL_PREFIXES+=("$PREFIX")
nsenter --net="/run/netns/$NAME-paste" valgrind --tool=callgrind --callgrind-out-file="$CG" \
	"$KVS" --no-huge -m 512 --no-pci --no-shconf --no-telemetry --iova-mode=va \
	--file-prefix "$PREFIX" --log-level=lib.eal:error \
	"--vdev=net_af_packet0,iface=$NAME-p,qpairs=1" -- --ip "$TB_PASTE_IP/$TB_PREFIX_LEN" \
	--pool-file "$TB_SHM/cg.pool" --pool-bufs 262144 --persist flush "$@" >"$KVS_LOG" 2>&1 &
KVS_PID=$!
TB_BG_PIDS+=("$KVS_PID")
wait_log "$KVS_LOG" "^paste-kvs: ready " 300 "$KVS_PID" || die "paste-kvs not ready"

load() {
	"${LX[@]}" /usr/bin/python3 - "$TB_PASTE_IP" "$1" "$N" <<'PY'
import os, socket, sys, time
host, what, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
V = b"v" * int(os.environ.get("VALUE_BYTES", "1024"))
def cmd(*w):
    return b"*%d\r\n" % len(w) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in w)
def sets(r):
    return [cmd(b"SET", b"%s:%06d:%02d" % (what.encode(), r, i), V) for i in range(10)]
def round_(r):
    if what == "set10":
        return sets(r), 10
    if what == "set10ping2":
        return sets(r) + [cmd(b"PING")] * 2, 12
    if what == "multi10":
        # +OK, 10 +QUEUED, then EXEC's array of 10 +OK
        return [cmd(b"MULTI")] + sets(r) + [cmd(b"EXEC")], 21
    if what == "set":
        return [cmd(b"SET", b"one:%08d" % r, V)], 1
    return [cmd(b"GET", b"one:%08d" % r)], 1
s = socket.create_connection((host, 6379), timeout=120)
buf = b""
for start in range(0, n, 16):
    reqs, want = [], 0
    for r in range(start, min(n, start + 16)):
        q, k = round_(r)
        reqs += q
        want += k
    s.sendall(b"".join(reqs))
    # Count replies: each round's last reply ends the round.
    got = 0
    while got < want:
        b = s.recv(1 << 20)
        if not b:
            sys.exit("closed")
        buf += b
        # replies here are +OK/+PONG/+QUEUED/$1024 bulks/*10 arrays of +OK
        while True:
            if buf.startswith(b"*"):
                i = buf.find(b"\r\n")
                if i < 0: break
                buf = buf[i + 2:]
                continue   # the array's elements count as replies of their own
            if buf.startswith(b"$"):
                i = buf.find(b"\r\n")
                if i < 0: break
                ln = int(buf[1:i])
                end = i + 2 + (ln + 2 if ln >= 0 else 0)
                if len(buf) < end: break
                buf = buf[end:]
            else:
                i = buf.find(b"\r\n")
                if i < 0: break
                if buf.startswith(b"-"):
                    sys.exit("error: %r" % buf[:i])
                buf = buf[i + 2:]
            got += 1
s.close()
PY
}
# calls DUMP FN: how many calls of FN the dump counts (bench/lib/profiles.py's
# callgrind_calls, without its imports).
calls() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import re, sys
ids, callee, n = {}, None, 0
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"^c?fn=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
    if m:
        if m.group(2) is not None:
            ids[m.group(1)] = m.group(2).strip()
        callee = ids.get(m.group(1)) if line.startswith("cfn=") else None
        continue
    if callee == sys.argv[2] and line.startswith("calls="):
        n += int(line[6:].split()[0])
        callee = None
print(n)
PY
}
dump_total() {
	callgrind_control -d "$KVS_PID" >/dev/null
	dump=$(ls -t "$CG"* | head -n 1)
	total=$(grep -m1 -E '^(totals|summary):' "$dump" | awk '{print $2}')
}
# What a poll that finds nothing costs: the loads' own empty polls are
# taken out with it, as bench/run.sh does (how many there are depends on
# how far valgrind lets the server fall behind, not on its code).
callgrind_control -z "$KVS_PID" >/dev/null
sleep 2
dump_total
polls=$(calls "$dump" pst_stack_poll)
idle=$((total / (polls > 0 ? polls : 1)))
echo "idle: $idle instructions per empty poll ($polls polls)"
for what in ${PHASES:-set get set10 set10ping2 multi10}; do
	callgrind_control -z "$KVS_PID" >/dev/null
	load "$what" || die "load $what failed"
	dump_total
	empty=$(calls "$dump" pst_idle_empty_poll)
	busy=$((total - empty * idle))
	echo "$what: $((busy / N)) per round without empty polls ($((total / N)) with $empty of them; $N rounds)"
	# CG_KEEP=DIR: keep the dumps for callgrind_annotate.
	# A load named twice (PHASES="set set": new keys, then the same keys
	# again) keeps its later dumps as callgrind.set.2.out and so on.
	if [ -n "${CG_KEEP:-}" ]; then
		keep="$CG_KEEP/callgrind.$what.out" k=1
		while [ -e "$keep" ]; do
			k=$((k + 1))
			keep="$CG_KEEP/callgrind.$what.$k.out"
		done
		cp "$dump" "$keep"
	fi
done
kill -INT "$KVS_PID"
wait_pid "$KVS_PID" 60 || kill -KILL "$KVS_PID"
bg_forget "$KVS_PID"
pass "measured"
tb_finish
