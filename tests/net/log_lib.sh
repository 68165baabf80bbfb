# shellcheck shell=bash
# tests/net/log_lib.sh: the two-port testbed of paste-testpmd's log mode.
# Source it after lib.sh:
#
#   log_require         what the log tests need (else skip), stale testbeds reaped
#   log_testbed A B     namespaces A-linux (198.18.0.2, the sender) and
#                       B-linux (198.18.0.3, the receiver); both paste
#                       veths, A-p (port 0) and B-p (port 1), in A-paste,
#                       where the logger bridges them
#   start_logger A B POOL [OPTIONS...]   paste-testpmd --forward-mode=log
#
# Both testbeds are removed at exit by lib.sh's traps (tb_up records them).

PCAP_CHECK="$NET_LIB_DIR/pcap_check.py"
PCAP_TOOL="$BUILD_DIR/examples/paste-pcap"
LOG_RX_IP=198.18.0.3

log_require() {
	tb_require
	[ -x "$PY" ] || skip "$PY not found"
	command -v tcpdump >/dev/null || skip "tcpdump not found (scripts/deps.sh installs it)"
	[ -x "$PCAP_TOOL" ] || die "$PCAP_TOOL not built"
	tb_reap_stale
}

log_testbed() {
	local a=$1 b=$2
	tb_up "$a"
	tb_up "$b"
	# Moving a veth end resets its link state and per-namespace settings.
	nsenter --net="/run/netns/$b-paste" ip link set "$b-p" netns "$a-paste" || die "cannot move $b-p"
	tb_paste "$a" sysctl -qw "net.ipv6.conf.$b-p.disable_ipv6=1"
	nsenter --net="/run/netns/$a-paste" ip link set "$b-p" up || die "cannot bring $b-p up"
	nsenter --net="/run/netns/$b-linux" ip addr flush dev "$b-l"
	nsenter --net="/run/netns/$b-linux" ip addr add "$LOG_RX_IP/$TB_PREFIX_LEN" dev "$b-l" ||
		die "cannot address $b-l"
}

start_logger() {
	local a=$1 b=$2 pool=$3
	shift 3
	TP_EAL_EXTRA="--vdev=net_af_packet1,iface=$b-p,qpairs=1" \
		start_testpmd "$a" log --peer-port 1 --pool-file "$pool" --nb-mbufs 2048 "$@"
}
