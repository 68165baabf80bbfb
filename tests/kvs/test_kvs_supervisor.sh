#!/bin/bash
# Suite 'unit': scripts/kvs-cluster.sh as a supervisor, with a stand-in for
# paste-kvs (no DPDK): a shard that keeps exiting (status 74, the failed
# drain's) is restarted --max-restarts times, then given up on: said on
# the output, logged in its log, recorded in NAME.failed, while the other
# shard keeps running; a SIGTERM then stops that one cleanly. When every
# shard has been given up on, the supervisor exits with status 1.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/paste-supervisor.XXXXXX")
sup_pid=""
cleanup() {
	[ -n "$sup_pid" ] && kill -KILL "$sup_pid" 2>/dev/null
	pkill -KILL -f "$work/fake-kvs" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
failed=0
check() {
	if [ "$1" = 0 ]; then echo "PASS: $2"; else echo "FAIL: $2"; failed=$((failed + 1)); fi
}

# The stand-in: records each start; shards named bad* exit with 74 at once,
# the others run until SIGINT.
cat >"$work/fake-kvs" <<'EOS'
#!/bin/bash
name=""
while [ "$#" -gt 0 ]; do
	[ "$1" = --cluster-node ] && name=$2
	shift
done
dir=$(dirname "$0")
echo start >>"$dir/$name.starts"
case "$name" in
bad*) echo "paste-kvs: drain of the pool failed: Input/output error; stopping"; exit 74 ;;
esac
trap 'exit 0' INT TERM
for ((i = 0; i < 600; i++)); do sleep 0.1; done
exit 3
EOS
chmod +x "$work/fake-kvs"
cat >"$work/map" <<'EOM'
good0 198.18.0.1:6379 slots=0-8191
bad0 198.18.0.2:6379 slots=8192-16383
EOM

# wait_for SECONDS CMD...: until CMD succeeds, at most SECONDS.
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

bash "$repo/scripts/kvs-cluster.sh" --map "$work/map" --dir "$work" \
	--paste-kvs "$work/fake-kvs" --max-restarts 2 \
	--shard good0 1 net_null0 --shard bad0 1 net_null1 >"$work/sup.out" 2>&1 &
sup_pid=$!
wait_for 20 test -f "$work/bad0.failed"
check $? "the shard that keeps exiting is given up on (bad0.failed written)"
check "$([ "$(wc -l <"$work/bad0.starts" 2>/dev/null)" = 3 ]; echo $?)" \
	"it was started 3 times: once and --max-restarts 2 restarts ($(wc -l <"$work/bad0.starts" 2>/dev/null))"
grep -q 'stopped after a failed drain of its pool (status 74): restarting' "$work/sup.out"
check $? "a status-74 exit is reported as a failed drain, and the shard restarted"
grep -q 'giving up on shard bad0: it exited 3 times within 60 s (last status 74; --max-restarts 2)' "$work/sup.out"
check $? "the supervisor says it gives up, with the count and the last status"
grep -q 'kvs-cluster: giving up on shard bad0' "$work/bad0.log"
check $? "the shard's log says so too"
grep -q 'starts=3 status=74' "$work/bad0.failed"
check $? "bad0.failed records the starts and the last status"
check "$([ ! -e "$work/bad0.pid" ]; echo $?)" "bad0.pid is removed"
sleep 1
check "$(kill -0 "$sup_pid" 2>/dev/null; echo $?)" "the supervisor keeps running for the other shard"
check "$([ "$(wc -l <"$work/good0.starts")" = 1 ]; echo $?)" "the other shard was not restarted"
kill -TERM "$sup_pid"
wait_for 15 bash -c "! kill -0 $sup_pid 2>/dev/null"
wait "$sup_pid"
check $? "SIGTERM stops the supervisor and the running shard with status 0"
sup_pid=""

# Every shard given up on: the supervisor exits 1.
rm -f "$work"/*.starts "$work"/*.failed
timeout 60 bash "$repo/scripts/kvs-cluster.sh" --map "$work/map" --dir "$work" \
	--paste-kvs "$work/fake-kvs" --max-restarts 1 --shard bad0 1 net_null1 \
	>"$work/sup2.out" 2>&1
check "$([ $? = 1 ]; echo $?)" "with no shard left the supervisor exits with status 1"
grep -q 'no shard left running: exiting' "$work/sup2.out"
check $? "and says why"
sed 's/^/    /' "$work/sup.out" "$work/sup2.out"
echo "$failed failed"
[ "$failed" = 0 ]
