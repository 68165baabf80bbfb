# shellcheck shell=bash
# tests/kvs/kvs_lib.sh: paste-kvs on the netns testbed, for the kvs tests.
# Source after tests/net/lib.sh.
KVS="$BUILD_DIR/examples/paste-kvs"
KVS_CLIENT=(/usr/bin/python3 "$NET_REPO/tests/kvs/kvs_client.py")
KVS_PID=""
KVS_LOG=""
KVS_N=0

# kvs_testbed_up LETTER [TOOL...]: what every paste-kvs net test starts
# with: root and the build checked, each TOOL on PATH (else the test is
# skipped), stale testbeds reaped and a new one up, named after LETTER.
# Sets NAME and LX (a command prefix into the Linux namespace).
kvs_testbed_up() {
	local letter=$1 tool
	shift
	tb_require
	[ -x "$KVS" ] || die "$KVS not built"
	for tool in "$@"; do
		command -v "$tool" >/dev/null || skip "$tool not found (scripts/deps.sh installs it)"
	done
	tb_reap_stale
	NAME=$(tb_unique_name "$letter")
	tb_up "$NAME"
	LX=(nsenter --net="/run/netns/$NAME-linux")
}

# kvs_healthy WHAT: a fresh redis-cli's PING, SET and GET against $IP:6379
# from the Linux namespace (LX), each answered within 2 s, the GET with the
# value just set: the liveness check of the abuse tests.
kvs_healthy() {
	local what=$1
	healthy_cmd "$what" PONG PING
	healthy_cmd "$what" OK SET healthy "value-$what"
	healthy_cmd "$what" "value-$what" GET healthy
}

# healthy_cmd WHAT WANT COMMAND...: one redis-cli command answered WANT
# within 2 s; on a miss, how it ended (124: the bound) and the client's
# connection as the kernel saw it, so that a stall can be told from a
# refusal or a lost handshake.
healthy_cmd() {
	local what=$1 want=$2 out rc
	shift 2
	out=$(run_bounded 2 "${LX[@]}" redis-cli -h "$IP" -p 6379 "$@")
	rc=$?
	check_eq "$out" "$want" "$what: $1 answered within 2 s"
	[ "$out" = "$want" ] && return 0
	log "$what: redis-cli $1 exit $rc; the kernel's connections to $IP:6379 now:"
	log "$("${LX[@]}" ss -tnoi dst "$IP:6379" 2>&1 | head -n 20)"
}

# start_kvs NAME POOL_FILE [OPTIONS...]: paste-kvs in NAME's paste namespace,
# in the background; waits up to 30 s for its ready line (recovery included).
# The persist mode is named, never paste-kvs's default: --persist flush (the
# NVMM emulation on /dev/shm) unless OPTIONS name one.
start_kvs() {
	local name=$1 pool=$2
	shift 2
	local persist=(--persist flush)
	case " $* " in *" --persist "*) persist=() ;; esac
	KVS_N=$((KVS_N + 1))
	KVS_LOG="$TB_WORK/kvs.$KVS_N.log"
	local prefix="pkvs$$_$KVS_N"
	TB_EAL_PREFIXES+=("$prefix")
	local cmd=(nsenter --net="/run/netns/$name-paste" "$KVS"
		--no-huge -m 512 --no-pci --no-shconf --no-telemetry --iova-mode=va
		--file-prefix "$prefix" --log-level=lib.eal:error
		"--vdev=net_af_packet0,iface=$name-p,qpairs=1"
		-- --ip "$TB_PASTE_IP/$TB_PREFIX_LEN" --pool-file "$pool" "${persist[@]}" "$@")
	log "start: ${cmd[*]:4}"
	kvs_launch paste-kvs "${cmd[@]}" || return 1
	log "$(grep -m1 '^paste-kvs: recovered' "$KVS_LOG")"
	return 0
}

# kvs_launch PROG CMD...: CMD in the background (KVS_PID, output in
# KVS_LOG); waits up to 30 s for PROG's ready line.
kvs_launch() {
	local prog=$1
	shift
	"$@" >"$KVS_LOG" 2>&1 &
	KVS_PID=$!
	TB_BG_PIDS+=("$KVS_PID")
	if ! wait_log "$KVS_LOG" "^$prog: ready " 30 "$KVS_PID"; then
		fail "$prog not ready within 30 s"
		show_log "$KVS_LOG" 40
		return 1
	fi
}

# stop_kvs [SIGNAL]: SIGINT (clean) or KILL (crash). Status in KVS_RC.
stop_kvs() {
	local sig=${1:-INT}
	[ -n "$KVS_PID" ] || return 0
	kill -"$sig" "$KVS_PID" 2>/dev/null
	if ! wait_pid "$KVS_PID" 10; then
		kill -KILL "$KVS_PID" 2>/dev/null
		wait "$KVS_PID" 2>/dev/null
		WAIT_RC=137
	fi
	KVS_RC=$WAIT_RC
	bg_forget "$KVS_PID"
	KVS_PID=""
}

# kvs_field KEY: KEY's value in the last "kvs:" statistics line.
kvs_field() {
	grep '^kvs: ' "$KVS_LOG" 2>/dev/null | tail -n 1 | tr ' ' '\n' |
		sed -n "s/^$1=\([0-9]*\)\$/\1/p"
}

# start_linux_kvs NAME POOL_FILE [OPTIONS...]: bench/linux-kvs (sockets) in
# NAME's linux namespace on $TB_LINUX_IP, in the background, with KVS_PID
# and KVS_LOG as start_kvs sets them (stop_kvs and kvs_field work alike).
start_linux_kvs() {
	local name=$1 pool=$2
	shift 2
	KVS_N=$((KVS_N + 1))
	KVS_LOG="$TB_WORK/linux-kvs.$KVS_N.log"
	local cmd=(nsenter --net="/run/netns/$name-linux" "$BUILD_DIR/bench/linux-kvs"
		--bind "$TB_LINUX_IP" --pool-file "$pool" "$@")
	log "start: ${cmd[*]:2}"
	kvs_launch linux-kvs "${cmd[@]}"
}
