#!/bin/bash
# Suite 'net': paste-echo --udp (the pst_udp_* API) with a Linux UDP peer.
#
# tests/net/udp_client.py in the Linux namespace. Asserts:
#   (a) 2,000 datagrams of random sizes (and an empty one) come back byte
#       for byte, sent back by name from the buffers they arrived in;
#   (b) the same with nftables dropping and duplicating 10% of the
#       datagrams each way (lost ones are sent again; duplicates equal);
#   (c) fragments (af_packet reassembles them, see below): a small
#       datagram arrives whole, a 4,000-byte one is dropped and counted;
#       malformed datagrams
#       (UDP length past the payload, below 8; bad checksum) are dropped
#       and counted; echo still works after all of them;
#   (d) the receive budget: with --hold --rcvbuf 64 a flood of 3,000
#       datagrams leaves exactly 64 held, the rest dropped and counted; the
#       pool's free count is the baseline minus 64, the control socket and
#       ping still answer, and after "release" the free count is back to
#       its baseline;
#   (e) clean exit (SIGINT) every time;
#   (f) on net_tap, which hands paste the raw fragments: a 4,000-byte
#       datagram's three IP fragments are dropped and counted
#       (frag_dropped), nothing of it is delivered, and echo still works.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"
tb_require
[ -x "$PY" ] || skip "$PY not found"
command -v nft >/dev/null || skip "nft not found (nftables)"
ECHO="$BUILD_DIR/examples/paste-echo"
[ -x "$ECHO" ] || die "$ECHO not built"
tb_reap_stale

NAME=$(tb_unique_name u)
IFL="$NAME-l"
CLIENT="$NET_LIB_DIR/udp_client.py"
PORT=5001
CTL=$((PORT + 1))
log "testbed $NAME"
tb_up "$NAME"

EP_PID=""
EP_LOG=""
EP_N=0
# Where start_echo runs paste-echo: the testbed's paste namespace and its
# af_packet port, unless section (f) points them at a tap.
EP_NS="$NAME-paste"
EP_VDEV="net_af_packet0,iface=$NAME-p,qpairs=1"
EP_IP=$TB_PASTE_IP
# start_echo OPTIONS...: paste-echo --udp in $EP_NS on $EP_VDEV.
start_echo() {
	EP_N=$((EP_N + 1))
	EP_LOG="$TB_WORK/echo.$EP_N.log"
	local prefix="pnet$$_e$EP_N"
	TB_EAL_PREFIXES+=("$prefix")
	# Not through tb_paste: a function run in the background is a subshell,
	# and the SIGINT of stop_echo must reach paste-echo itself.
	nsenter --net="/run/netns/$EP_NS" "$ECHO" --no-huge -m 512 --no-pci --no-shconf \
		--no-telemetry --iova-mode=va --file-prefix "$prefix" \
		--log-level=lib.eal:error "--vdev=$EP_VDEV" \
		-- --ip "$EP_IP" --port "$PORT" --pool-file "$TB_SHM/echo.pool" \
		--udp "$@" >"$EP_LOG" 2>&1 &
	EP_PID=$!
	TB_BG_PIDS+=("$EP_PID")
	if ! wait_log "$EP_LOG" 'listening on .* \(udp\)' 20 "$EP_PID"; then
		fail "paste-echo --udp $* not ready within 20 s"
		show_log "$EP_LOG"
		return 1
	fi
	pass "paste-echo --udp $* ready"
}

stop_echo() {
	kill -INT "$EP_PID" 2>/dev/null
	if wait_pid "$EP_PID" 10; then
		check_eq "$WAIT_RC" 0 "paste-echo exit status"
	else
		kill -KILL "$EP_PID" 2>/dev/null
		fail "paste-echo ignored SIGINT for 10 s"
	fi
	bg_forget "$EP_PID"
	grep '^paste-echo: udp ' "$EP_LOG" | sed 's/^/    /'
}

# The Linux peer's namespace: the testbed's, or the tap's in section (f).
CL_NS="$NAME-linux"
client() { run_bounded 120 nsenter --net="/run/netns/$CL_NS" "$PY" "$CLIENT" "$@"; }

# stat KEY: the value of KEY in the control socket's "stats" reply.
stat() {
	client ctl "$EP_IP" "$CTL" stats | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# --- (a) byte-exact echo -------------------------------------------------------
start_echo || exit 1
out=$(client echo "$TB_PASTE_IP" "$PORT" 2000 7)
check_rc $? "2,000 datagrams echoed byte for byte: $out"
check_gt "$(stat tx_zc_bytes)" 0 "echoes sent by name (tx_zc_bytes)"
check_eq "$(stat held)" 0 "nothing held after echoing"

# --- (b) loss and duplication from nftables ------------------------------------
rules="$TB_WORK/udp-faults.nft"
cat >"$rules" <<NFT
table inet paste_udp_faults {
	chain output {
		type filter hook output priority 0; policy accept;
		oifname "$IFL" ip daddr $TB_PASTE_IP udp dport $PORT numgen random mod 100 < 10 counter drop comment "loss-output"
	}
	chain input {
		type filter hook input priority 0; policy accept;
		iifname "$IFL" ip saddr $TB_PASTE_IP udp sport $PORT numgen random mod 100 < 10 counter drop comment "loss-input"
	}
}
table netdev paste_udp_faults_dev {
	chain egress {
		type filter hook egress device "$IFL" priority 0; policy accept;
		ip daddr $TB_PASTE_IP udp dport $PORT numgen random mod 100 < 10 counter dup to "$IFL" comment "dup-egress"
	}
}
NFT
if tb_linux "$NAME" nft -f "$rules"; then
	pass "nftables loss and duplication rules loaded"
	out=$(client echo "$TB_PASTE_IP" "$PORT" 1000 8 --rounds 8 --dups-ok)
	check_rc $? "1,000 datagrams through 10% loss and duplication: $out"
	for c in loss-output loss-input dup-egress; do
		n=$(tb_linux "$NAME" nft list ruleset 2>/dev/null |
			sed -n "s/.*counter packets \([0-9]*\) .*comment \"$c\".*/\1/p" | head -n 1)
		check_gt "${n:-0}" 0 "nftables rule '$c' hit"
	done
	tb_linux "$NAME" nft flush ruleset
	check_rc $? "nftables rules removed"
else
	fail "nftables rules did not load"
fi

# --- (c) oversized and malformed ----------------------------------------------
# DPDK's af_packet driver joins its socket to a fanout group with
# PACKET_FANOUT_FLAG_DEFRAG: the kernel reassembles IP fragments before
# paste sees them, so lwIP's fragment drop (frag_dropped) is not reachable
# on this driver. What is: a small fragmented datagram arrives whole and is
# echoed; one larger than a receive buffer arrives truncated and is
# dropped and counted by lwIP (stack_dropped), never delivered.
frag0=$(stat frag_dropped)
rx0=$(stat rx)
drop0=$(stat stack_dropped)
client raw "$TB_PASTE_IP" "$PORT" frag >/dev/null
check_rc $? "a 400-byte datagram sent as two IP fragments"
out=$(client send "$TB_PASTE_IP" "$PORT" 4000 2)
check_eq "$out" "udp send: 2" "two 4,000-byte datagrams sent (Linux fragments them)"
sleep 0.5
check_eq "$(stat rx)" $((rx0 + 1)) "the 400-byte one delivered whole (reassembled by the kernel)"
# (at least: Linux's own IPv6 frames are dropped and counted there too)
check_ge "$(stat stack_dropped)" $((drop0 + 2)) "the 4,000-byte ones dropped and counted"
check_eq "$(stat frag_dropped)" "$frag0" "no fragment reached lwIP on af_packet"
badlen0=$(stat bad_len)
csum0=$(stat bad_csum)
for k in len-past len-short bad-csum; do
	client raw "$TB_PASTE_IP" "$PORT" "$k" >/dev/null
	check_rc $? "malformed datagram '$k' sent"
done
sleep 0.5
check_eq "$(stat bad_len)" $((badlen0 + 2)) "UDP length past the payload, or below 8, dropped and counted"
check_ge "$(stat bad_csum)" $((csum0 + 1)) "bad checksum dropped and counted"
out=$(client echo "$TB_PASTE_IP" "$PORT" 100 9)
check_rc $? "echo still works after them: $out"
stop_echo

# --- (d) the receive budget under a flood --------------------------------------
start_echo --hold --rcvbuf 64 || exit 1
free0=$(stat pool_free)
check_gt "${free0:-0}" 0 "baseline pool free count ($free0)"
client send "$TB_PASTE_IP" "$PORT" 200 3000 >/dev/null
check_rc $? "flood of 3,000 datagrams sent"
sleep 1
check_eq "$(stat held)" 64 "64 datagrams held: the budget"
check_gt "$(stat dropped_budget)" 0 "the rest dropped and counted (dropped_budget)"
check_eq "$(stat pool_free)" $((free0 - 64)) "the pool lost only the budget"
tb_linux "$NAME" ping -c 2 -W 2 -i 0.2 "$TB_PASTE_IP" >/dev/null
check_rc $? "ping still answered while the socket is full"
out=$(client ctl "$TB_PASTE_IP" "$CTL" release)
check_eq "$out" "released 64" "control socket served: release"
sleep 0.3
check_eq "$(stat pool_free)" "$free0" "pool free count back to the baseline"
check_eq "$(stat held)" 0 "nothing held"
stop_echo

# --- (f) fragments where the driver does not reassemble them ------------------
# lwIP is built without reassembly (doc/api.md): every fragment it sees is
# dropped and counted. net_tap passes the kernel's fragments through as they
# are, so this is where the drop is reachable. Named like a testbed's paste
# side, so lib.sh's cleanup removes the namespace on every exit path.
TAPNAME=$(tb_unique_name f)
TB_NAMES+=("$TAPNAME")
EP_NS="$TAPNAME-paste"
CL_NS=$EP_NS
TAP="${TAPNAME}t"
EP_VDEV="net_tap0,iface=$TAP"
EP_IP=198.18.2.1
if ip netns add "$EP_NS"; then
	start_echo || exit 1
	nsenter --net="/run/netns/$EP_NS" ip link set lo up
	nsenter --net="/run/netns/$EP_NS" ip addr add 198.18.2.2/24 dev "$TAP"
	nsenter --net="/run/netns/$EP_NS" ip link set "$TAP" up
	out=$(client echo "$EP_IP" "$PORT" 50 11)
	check_rc $? "net_tap: echo works: $out"
	frag0=$(stat frag_dropped)
	rx0=$(stat rx)
	out=$(client send "$EP_IP" "$PORT" 4000 1)
	check_eq "$out" "udp send: 1" "net_tap: a 4,000-byte datagram sent (Linux fragments it)"
	sleep 0.5
	check_eq "$(stat frag_dropped)" $((frag0 + 3)) "net_tap: its three fragments dropped and counted"
	check_eq "$(stat rx)" "$rx0" "net_tap: nothing of it delivered"
	out=$(client echo "$EP_IP" "$PORT" 50 12)
	check_rc $? "net_tap: echo still works after the fragments: $out"
	stop_echo
	ip netns del "$EP_NS" 2>/dev/null
else
	fail "cannot create namespace $EP_NS"
fi

tb_finish
