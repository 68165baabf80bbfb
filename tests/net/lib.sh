# shellcheck shell=bash
# tests/net/lib.sh: what the 'net' suite's shell tests share. Source it:
#
#   . "$(dirname "$0")/lib.sh"
#   NAME=$(tb_unique_name p)        # pnp<pid>: namespaces pnp<pid>-paste/-linux
#   tb_up "$NAME"                   # scripts/testbed.sh up, removed at exit
#   start_testpmd "$NAME" icmpecho  # paste-testpmd in the paste namespace
#   tb_linux "$NAME" ping -c 5 -W 2 "$TB_PASTE_IP"; check_rc $? "ping"
#   stop_testpmd
#   tb_finish                       # last line: "N passed, M failed"
#
# Sourcing installs traps on EXIT, INT and TERM that stop every background
# process the test started (paste-testpmd first, with SIGINT), delete every
# testbed it brought up (tb_down), remove its scratch directories, and print
# the summary. Every wait here is bounded in time. Needs root; without it the
# test is skipped (exit 77, meson's skip code).
#
# Environment:
#   BUILD_DIR          meson build directory (default: build); the binary is
#                      $BUILD_DIR/examples/paste-testpmd
#   PASTE_NET_KEEP=1   keep the scratch directory (logs) on exit
#   PASTE_NET_VERBOSE=1  print each paste-testpmd log in full at stop

# Not set -e: a test checks each step and goes on to report the rest.
set -uo pipefail

NET_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NET_REPO=$(cd "$NET_LIB_DIR/../.." && pwd)
NET_TEST=$(basename "${0:-net}" .sh)

TB_PASTE_IP=198.18.0.1
TB_LINUX_IP=198.18.0.2
TB_PREFIX_LEN=24
# Debian's python3-scapy lives there; the python3 first on PATH may not.
PY=/usr/bin/python3

# --- build directory ---------------------------------------------------------
BUILD_DIR=${BUILD_DIR:-build}
if [[ "$BUILD_DIR" != /* ]]; then
	if [ -d "$PWD/$BUILD_DIR" ]; then
		BUILD_DIR="$PWD/$BUILD_DIR"
	else
		BUILD_DIR="$NET_REPO/$BUILD_DIR"
	fi
fi
TESTPMD="$BUILD_DIR/examples/paste-testpmd"

# --- output and accounting -----------------------------------------------------
T_PASSED=0
T_FAILED=0
T_FINISHED=0

log() { printf '[%s] %s: %s\n' "$(date +%T)" "$NET_TEST" "$*"; }
pass() { T_PASSED=$((T_PASSED + 1)); printf 'PASS: %s\n' "$*"; }
fail() { T_FAILED=$((T_FAILED + 1)); printf 'FAIL: %s\n' "$*"; }

# check_rc RC DESCRIPTION: pass when RC is 0.
check_rc() {
	local rc=$1
	shift
	if [ "$rc" -eq 0 ]; then pass "$*"; else fail "$* (exit status $rc)"; fi
	return "$rc"
}

# check_eq GOT WANT DESCRIPTION
check_eq() {
	local got=$1 want=$2
	shift 2
	if [ "$got" = "$want" ]; then
		pass "$* ($got)"
	else
		fail "$*: got '$got', want '$want'"
		return 1
	fi
}

# check_ge GOT MIN DESCRIPTION (integers; an empty GOT fails)
check_ge() {
	local got=$1 min=$2
	shift 2
	if [[ "$got" =~ ^[0-9]+$ ]] && [ "$got" -ge "$min" ]; then
		pass "$* ($got >= $min)"
	else
		fail "$*: got '$got', want >= $min"
		return 1
	fi
}

# check_le GOT MAX DESCRIPTION (integers; an empty GOT fails)
check_le() {
	local got=$1 max=$2
	shift 2
	if [[ "$got" =~ ^-?[0-9]+$ ]] && [ "$got" -le "$max" ]; then
		pass "$* ($got <= $max)"
	else
		fail "$*: got '$got', want <= $max"
		return 1
	fi
}

# check_gt GOT MIN DESCRIPTION
check_gt() {
	local got=$1 min=$2
	shift 2
	if [[ "$got" =~ ^[0-9]+$ ]] && [ "$got" -gt "$min" ]; then
		pass "$* ($got > $min)"
	else
		fail "$*: got '$got', want > $min"
		return 1
	fi
}

# skip REASON: the whole test is skipped (meson's exit code 77).
skip() {
	printf 'SKIP: %s\n' "$*"
	T_FINISHED=1
	tb_cleanup
	exit 77
}

# A failure that makes the rest of the test pointless.
die() {
	fail "$*"
	tb_finish
}

# Print the summary as the last line and exit (non-zero on any failure).
tb_finish() {
	tb_cleanup
	T_FINISHED=1
	if [ "$T_PASSED" -eq 0 ] && [ "$T_FAILED" -eq 0 ]; then
		# A test that checked nothing did not pass.
		T_FAILED=1
		echo "FAIL: no check ran"
	fi
	echo "$T_PASSED passed, $T_FAILED failed"
	if [ "$T_FAILED" -eq 0 ]; then exit 0; fi
	exit 1
}

# --- scratch space, background processes, cleanup ------------------------------
# Logs and client data go to a directory in /tmp; pool files to one in
# /dev/shm (tmpfs: msync there costs what a flush to emulated PM costs, where
# a disk would measure the disk).
TB_WORK=""
TB_SHM=""
TB_NAMES=()       # testbeds brought up by tb_up
TB_BG_PIDS=()     # background processes (bg_start, run_bounded)
TB_EAL_PREFIXES=()

tb_workdirs() {
	if [ -z "$TB_WORK" ]; then
		TB_WORK=$(mktemp -d "${TMPDIR:-/tmp}/paste-net-$NET_TEST.XXXXXX")
		TB_SHM=$(mktemp -d "/dev/shm/paste-net-$NET_TEST.XXXXXX")
	fi
}

# bg_kill PID [SECONDS]: stop one background process: SIGTERM, up to
# SECONDS (default 5), then SIGKILL.
bg_kill() {
	local pid=$1 secs=${2:-5} i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

tb_remove_testbeds() {
	local name
	for name in "${TB_NAMES[@]}"; do
		TB_QUIET=1 bash "$NET_REPO/scripts/testbed.sh" down "$name" >/dev/null 2>&1 ||
			echo "$NET_TEST: warning: could not remove testbed $name" >&2
	done
	TB_NAMES=()
}

# tb_cleanup [fast]: stop what the test started, remove its testbeds and
# scratch directories. "fast" (on a signal: meson sends SIGKILL 0.5 s after
# its SIGTERM) removes the namespaces first (a namespace whose processes
# still run loses its name at once and goes with them) and waits less.
tb_cleanup() {
	local fast=${1:-} pid p
	# Clean up once, and not again from the EXIT trap after tb_finish.
	[ "${TB_CLEANED:-0}" = 1 ] && return 0
	TB_CLEANED=1
	if [ "$fast" = fast ]; then
		tb_remove_testbeds
		[ -z "${TP_PID:-}" ] || bg_kill "$TP_PID" 1
		TP_PID=""
		for pid in "${TB_BG_PIDS[@]}"; do
			bg_kill "$pid" 1
		done
	else
		if [ -n "${TP_PID:-}" ]; then
			stop_testpmd >/dev/null 2>&1
		fi
		for pid in "${TB_BG_PIDS[@]}"; do
			bg_kill "$pid"
		done
		tb_remove_testbeds
	fi
	TB_BG_PIDS=()
	for p in "${TB_EAL_PREFIXES[@]}"; do
		rm -rf "/var/run/dpdk/$p"
	done
	if [ -n "$TB_SHM" ]; then rm -rf "$TB_SHM"; fi
	if [ -n "$TB_WORK" ]; then
		if [ "${PASTE_NET_KEEP:-0}" = 1 ]; then
			echo "$NET_TEST: logs kept in $TB_WORK"
		else
			rm -rf "$TB_WORK"
		fi
	fi
}

tb_on_exit() {
	local rc=$?
	if [ "$T_FINISHED" = 0 ]; then
		# The script ended without tb_finish (a bug, or set -e in a caller).
		fail "test ended early (exit status $rc)"
		tb_cleanup
		echo "$T_PASSED passed, $T_FAILED failed"
		exit 1
	fi
	tb_cleanup
}

tb_on_signal() {
	trap - INT TERM
	tb_cleanup fast
	fail "interrupted by SIG$1"
	T_FINISHED=1
	echo "$T_PASSED passed, $T_FAILED failed"
	if [ "$1" = INT ]; then exit 130; fi
	exit 143
}

trap tb_on_exit EXIT
trap 'tb_on_signal INT' INT
trap 'tb_on_signal TERM' TERM

# Start a background command, remembered for cleanup; its pid is in BG_PID.
bg_start() {
	# <&0: an asynchronous command would otherwise read /dev/null.
	"$@" <&0 &
	BG_PID=$!
	TB_BG_PIDS+=("$BG_PID")
}

bg_forget() {
	local pid=$1 i keep=()
	for i in "${TB_BG_PIDS[@]}"; do
		[ "$i" = "$pid" ] || keep+=("$i")
	done
	TB_BG_PIDS=("${keep[@]}")
}

# bg_wait PID: wait for a bg_start'ed process; returns its exit status.
bg_wait() {
	local pid=$1 rc
	wait "$pid"
	rc=$?
	bg_forget "$pid"
	return "$rc"
}

# run_bounded SECONDS CMD...: run CMD with a time limit (TERM at the limit,
# KILL 5 s later). It runs as a background job that the shell waits for, so a
# signal to the test interrupts the wait at once and the traps clean up.
# Returns CMD's status, 124 on timeout.
run_bounded() {
	local secs=$1
	shift
	bg_start timeout -k 5 "$secs" "$@"
	bg_wait "$BG_PID"
}

# --- testbed ----------------------------------------------------------------------
tb_require() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
	local c
	for c in ip ethtool timeout sha256sum; do
		command -v "$c" >/dev/null || skip "$c not found (scripts/deps.sh installs it)"
	done
	[ -x "$TESTPMD" ] || die "$TESTPMD not built (BUILD_DIR=$BUILD_DIR)"
}

# tb_unique_name LETTER: a testbed name of this test run ("pn" LETTER pid),
# short enough for "<NAME>-p" to fit an interface name.
tb_unique_name() {
	printf 'pn%s%s' "$1" "$$" | cut -c1-13
}

# Testbeds of earlier runs of these tests whose process died without cleaning
# up (SIGKILL after a meson timeout): names "pn<letter><pid>" whose pid is
# gone. A live process's testbed is never touched.
tb_reap_stale() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		[[ "$ns" =~ ^pn[a-z]([0-9]+)-(paste|linux)$ ]] || continue
		pid=${BASH_REMATCH[1]}
		[ "$pid" = "$$" ] && continue
		kill -0 "$pid" 2>/dev/null && continue
		ip netns del "$ns" 2>/dev/null && log "removed stale namespace $ns"
	done
}

tb_up() {
	local name=$1
	tb_workdirs
	TB_NAMES+=("$name")
	bash "$NET_REPO/scripts/testbed.sh" up "$name" || die "testbed $name did not come up"
}

tb_down() {
	local name=$1 i keep=()
	bash "$NET_REPO/scripts/testbed.sh" down "$name"
	for i in "${TB_NAMES[@]}"; do
		[ "$i" = "$name" ] || keep+=("$i")
	done
	TB_NAMES=("${keep[@]}")
}

# Commands enter a namespace with nsenter --net rather than `ip netns exec`,
# which also remounts / and /sys in a private mount namespace: that fails
# where / is not a mount point (a chroot, as in the fresh-machine check), and
# nothing here needs more than the network namespace.
tb_linux() {
	local name=$1
	shift
	nsenter --net="/run/netns/$name-linux" "$@"
}

tb_paste() {
	local name=$1
	shift
	nsenter --net="/run/netns/$name-paste" "$@"
}

# --- waiting on logs ---------------------------------------------------------------
# wait_log FILE ERE SECONDS [PID]: until a line of FILE matches ERE.
# Fails after SECONDS, or at once when PID (if given) has exited.
wait_log() {
	local file=$1 re=$2 secs=$3 pid=${4:-}
	local deadline=$((SECONDS + secs))
	while :; do
		if [ -f "$file" ] && grep -Eq -- "$re" "$file"; then
			return 0
		fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			# One last look: the line may have come with the exit.
			grep -Eq -- "$re" "$file" 2>/dev/null && return 0
			return 1
		fi
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# wait_log_count FILE ERE COUNT SECONDS [PID]: until COUNT lines match.
wait_log_count() {
	local file=$1 re=$2 count=$3 secs=$4 pid=${5:-}
	local deadline=$((SECONDS + secs)) n
	while :; do
		n=$(grep -Ec -- "$re" "$file" 2>/dev/null)
		[ "${n:-0}" -ge "$count" ] && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			n=$(grep -Ec -- "$re" "$file" 2>/dev/null)
			[ "${n:-0}" -ge "$count" ]
			return
		fi
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# wait_pid PID SECONDS: until PID exits; its status is in WAIT_RC.
wait_pid() {
	local pid=$1 secs=$2 i
	WAIT_RC=""
	for ((i = 0; i < secs * 10; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			WAIT_RC=$?
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# show_log FILE [LINES]: the end of a log, indented.
show_log() {
	local file=$1 lines=${2:-40}
	echo "---- $file (last $lines lines)"
	tail -n "$lines" "$file" 2>/dev/null | sed 's/^/    /'
	echo "----"
}

# --- paste-testpmd ---------------------------------------------------------------------
TP_PID=""
TP_LOG=""
# shellcheck disable=SC2034 # set for the tests: paste's MAC from the ready line
TP_MAC=""
TP_RC=""
TP_N=0

# start_testpmd NAME MODE [OPTIONS...]: paste-testpmd in NAME's paste
# namespace on its veth, in the background, stdout and stderr to $TP_LOG.
# Stack modes get --ip 198.18.0.1/24 unless OPTIONS has --ip, and a pool file
# in the scratch directory unless OPTIONS has --pool-file. Waits up to 20 s for
# the ready line; sets TP_PID, TP_LOG and TP_MAC (the port's MAC).
# Environment TP_EAL_EXTRA: more EAL arguments.
start_testpmd() {
	local name=$1 mode=$2
	shift 2
	local opts=("$@") has_ip=0 has_pool=0 o
	[ -z "$TP_PID" ] || die "start_testpmd: one paste-testpmd at a time (pid $TP_PID runs)"
	tb_workdirs
	for o in "${opts[@]}"; do
		case "$o" in
		--ip | --ip=*) has_ip=1 ;;
		--pool-file | --pool-file=*) has_pool=1 ;;
		esac
	done
	case "$mode" in
	icmpecho | tcp-*) [ "$has_ip" = 1 ] || opts+=(--ip "$TB_PASTE_IP/$TB_PREFIX_LEN") ;;
	esac
	TP_N=$((TP_N + 1))
	[ "$has_pool" = 1 ] || opts+=(--pool-file "$TB_SHM/pool.$TP_N")
	TP_LOG="$TB_WORK/testpmd.$TP_N.log"
	# A prefix of its own per EAL instance (runtime dir /var/run/dpdk/<prefix>).
	local prefix="pnet$$_$TP_N" extra=()
	TB_EAL_PREFIXES+=("$prefix")
	read -ra extra <<<"${TP_EAL_EXTRA:-}"
	local cmd=(nsenter --net="/run/netns/$name-paste" "$TESTPMD"
		--no-huge -m 512 --no-pci --no-shconf --no-telemetry --iova-mode=va
		--file-prefix "$prefix" --log-level=lib.eal:error
		"--vdev=net_af_packet0,iface=$name-p,qpairs=1"
		"${extra[@]}"
		-- "--forward-mode=$mode" "${opts[@]}")
	log "start: ${cmd[*]:4}"
	echo "${cmd[*]}" >"$TP_LOG.cmd"
	"${cmd[@]}" >"$TP_LOG" 2>&1 &
	TP_PID=$!
	TP_RC=""
	if ! wait_log "$TP_LOG" '^paste-testpmd: ready ' 20 "$TP_PID"; then
		fail "paste-testpmd ($mode) not ready within 20 s"
		show_log "$TP_LOG" 60
		stop_testpmd >/dev/null
		return 1
	fi
	# shellcheck disable=SC2034
	TP_MAC=$(sed -n 's/^paste-testpmd: ready .*mac=\([0-9a-fA-F:]\{17\}\).*/\1/p' "$TP_LOG" | head -n 1)
	log "ready: $(grep -m1 '^paste-testpmd: ready ' "$TP_LOG")"
	return 0
}

# stop_testpmd: SIGINT, up to 10 s for the final statistics and the exit,
# then SIGKILL. Exit status in TP_RC (137 after SIGKILL). Returns 1 when it
# had to be killed or did not print "paste-testpmd: exit".
stop_testpmd() {
	local pid=$TP_PID rc=0
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -INT "$pid" 2>/dev/null
	fi
	if wait_pid "$pid" 10; then
		TP_RC=$WAIT_RC
	else
		log "paste-testpmd (pid $pid) ignored SIGINT for 10 s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		TP_RC=137
		rc=1
	fi
	TP_PID=""
	if [ "${PASTE_NET_VERBOSE:-0}" = 1 ]; then show_log "$TP_LOG" 10000; fi
	grep -q '^paste-testpmd: exit' "$TP_LOG" 2>/dev/null || rc=1
	return "$rc"
}

# wait_testpmd_exit SECONDS: for a paste-testpmd that ends by itself
# (tcp-client, --max-time). TP_RC has its status. Returns 1 on timeout (it is
# then stopped).
wait_testpmd_exit() {
	local secs=$1
	if wait_pid "$TP_PID" "$secs"; then
		TP_RC=$WAIT_RC
		TP_PID=""
		return 0
	fi
	log "paste-testpmd did not exit within $secs s: stopping it"
	stop_testpmd
	return 1
}

# stack_field KEY [LOG]: KEY's value in the last "stack:" line of LOG.
stack_field() {
	local key=$1 file=${2:-$TP_LOG}
	grep '^stack: ' "$file" 2>/dev/null | tail -n 1 | tr ' ' '\n' |
		sed -n "s/^$key=\([0-9]*\)\$/\1/p"
}

# field KEY LINE: KEY's value in a "k=v k=v" line.
field() {
	tr ' ' '\n' <<<"$2" | sed -n "s/^$1=\(.*\)\$/\1/p" | head -n 1
}

# The checks every run ends with: the final statistics were printed, the
# process exited cleanly, and lwIP never hit an assertion.
check_testpmd_end() {
	local what=$1
	check_eq "${TP_RC:-none}" 0 "$what: paste-testpmd exit status"
	if grep -q '^paste-testpmd: exit' "$TP_LOG"; then
		pass "$what: final statistics and exit line printed"
	else
		fail "$what: no 'paste-testpmd: exit' line"
		show_log "$TP_LOG" 30
	fi
	check_eq "$(stack_field lwip_asserts)" 0 "$what: lwip_asserts"
}

# --- data ----------------------------------------------------------------------------------
# make_random FILE BYTES: random content (the digest is what is compared).
make_random() {
	head -c "$2" /dev/urandom >"$1"
}

sha_of() {
	sha256sum "$1" | cut -d ' ' -f 1
}

# size_bytes 256M -> 268435456 (K, M, G: powers of 1024)
size_bytes() {
	local v=$1 n
	case "$v" in
	*[Kk]) n=${v%?}; echo $((n * 1024)) ;;
	*[Mm]) n=${v%?}; echo $((n * 1024 * 1024)) ;;
	*[Gg]) n=${v%?}; echo $((n * 1024 * 1024 * 1024)) ;;
	*) echo "$v" ;;
	esac
}

# --- transfers shared by several tests ---------------------------------------------------
# sink_run NAME LABEL BYTES PERSISTED(all|none) [testpmd options...]
# One tcp-sink run: BYTES random bytes sent with nc -N from NAME's Linux
# namespace; the sink's closed line must give the bytes, their SHA-256,
# outside_pool=0 and persisted = BYTES (all) or 0 (none); then the clean end
# (check_testpmd_end). TP_LOG stays for further checks of the final stack line.
# Environment SINK_SECS: time limit of the transfer (default BYTES/1MiB + 60 s).
sink_run() {
	local name=$1 label=$2 bytes=$3 expect=$4
	shift 4
	local data="$TB_WORK/sink-$label.bin" sha line secs rc
	log "[$label] $bytes random bytes -> $data"
	if ! make_random "$data" "$bytes"; then
		fail "[$label] cannot write $data"
		return 1
	fi
	sha=$(sha_of "$data")
	log "[$label] sha256 $sha"

	start_testpmd "$name" tcp-sink --tcp-port 5001 "$@" || { rm -f "$data"; return 1; }
	# Bounded, but not by speed: 1 MiB/s would still finish in time.
	secs=${SINK_SECS:-$((bytes / 1048576 + 60))}
	log "[$label] nc -N $TB_PASTE_IP 5001 < $(basename "$data") (at most $secs s)"
	run_bounded "$secs" nsenter --net="/run/netns/$name-linux" nc -N -w 30 "$TB_PASTE_IP" 5001 <"$data"
	rc=$?
	check_rc "$rc" "[$label] nc sent $bytes bytes and saw the close"

	if wait_log "$TP_LOG" '^tcp-sink: conn [0-9]+ .*closed ' 30 "$TP_PID"; then
		line=$(grep -E -m1 '^tcp-sink: conn [0-9]+ .*closed ' "$TP_LOG")
		pass "[$label] sink reported the connection"
		log "[$label] $line"
		check_eq "$(field bytes "$line")" "$bytes" "[$label] bytes received"
		check_eq "$(field sha256 "$line")" "$sha" "[$label] sha256 of the received stream"
		check_eq "$(field outside_pool "$line")" 0 "[$label] segments outside the pool (zero copy)"
		case "$expect" in
		all) check_eq "$(field persisted "$line")" "$bytes" "[$label] bytes persisted" ;;
		none) check_eq "$(field persisted "$line")" 0 "[$label] bytes persisted (--no-persist)" ;;
		esac
		if grep -q " from $TB_LINUX_IP:" <<<"$line"; then
			pass "[$label] peer is $TB_LINUX_IP"
		else
			fail "[$label] peer is not $TB_LINUX_IP"
		fi
	else
		fail "[$label] no 'tcp-sink: conn ... closed' line within 30 s"
		show_log "$TP_LOG" 40
	fi
	if grep -q 'could not be kept' "$TP_LOG"; then
		fail "[$label] $(grep -m1 'could not be kept' "$TP_LOG")"
	fi
	stop_testpmd
	check_testpmd_end "$label"
	rm -f "$data"
}

# echo_run NAME LABEL CONNS MIN_BYTES MAX_BYTES SEED SECS [testpmd options...]
# One tcp-echo run with tests/net/echo_client.py from NAME's Linux
# namespace: every connection reads back exactly what it sent; one
# "tcp-echo: conn <n> closed bytes=<B>" line per connection with the sizes
# sent; no connection error; then the clean end.
echo_run() {
	local name=$1 label=$2 conns=$3 min=$4 max=$5 seed=$6 secs=$7
	shift 7
	local sizes="$TB_WORK/sizes-$label" clog="$TB_WORK/client-$label.log" rc summary n got want
	start_testpmd "$name" tcp-echo --tcp-port 5001 "$@" || return 1
	log "[$label] echo_client.py: $conns connections, $min..$max bytes each, seed $seed (at most $secs s)"
	run_bounded $((secs + 15)) nsenter --net="/run/netns/$name-linux" "$PY" "$NET_LIB_DIR/echo_client.py" \
		--host "$TB_PASTE_IP" --port 5001 --conns "$conns" \
		--min-bytes "$min" --max-bytes "$max" --seed "$seed" \
		--timeout "$secs" --connect-timeout "$secs" --sizes-file "$sizes" >"$clog" 2>&1
	rc=$?
	sed 's/^/    /' "$clog"
	check_rc "$rc" "[$label] $conns connections echoed byte-exact"
	summary=$(grep '^echo-client: conns=' "$clog" | tail -n 1)
	check_eq "$(field ok "$summary")" "$conns" "[$label] connections that read back what they sent"

	# A connection's close is reported once its FIFO is sent.
	wait_log_count "$TP_LOG" '^tcp-echo: conn [0-9]+ closed ' "$conns" 30 "$TP_PID"
	n=$(grep -Ec '^tcp-echo: conn [0-9]+ closed ' "$TP_LOG")
	check_eq "$n" "$conns" "[$label] tcp-echo close lines"
	if [ -s "$sizes" ]; then
		got=$(sed -n 's/^tcp-echo: conn [0-9]* closed bytes=\([0-9]*\).*/\1/p' "$TP_LOG" | sort -n | tr '\n' ' ')
		want=$(sort -n "$sizes" | tr '\n' ' ')
		if [ "$got" = "$want" ]; then
			pass "[$label] tcp-echo byte counts match the sizes sent"
		else
			fail "[$label] tcp-echo byte counts differ from the sizes sent"
			echo "    got:  ${got:0:300}"
			echo "    want: ${want:0:300}"
		fi
	fi
	if grep -q '^tcp-echo: conn [0-9]*: ' "$TP_LOG"; then
		fail "[$label] tcp-echo reported connection errors: $(grep -m3 '^tcp-echo: conn [0-9]*: ' "$TP_LOG" | tr '\n' ';')"
	else
		pass "[$label] no connection error reported by tcp-echo"
	fi
	stop_testpmd
	check_testpmd_end "$label"
}
