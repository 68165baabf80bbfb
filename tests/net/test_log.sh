#!/bin/bash
# Suite 'net': paste-testpmd's log mode, its filter and its retention ring.
#
# The logger bridges two namespaces (tests/net/log_lib.sh). Asserts:
#   (a) bad --log-filter values and a missing --peer-port are refused
#       (exit 2, a message);
#   (b) with --log-filter proto=17,port=9000 and a ring of 2 segments (106
#       records): ping and datagrams to port 9001 are forwarded but not
#       recorded; 400 datagrams to port 9000 overflow the ring, which
#       releases its oldest segments (counted, no release error) and never
#       stops forwarding: the receiver gets all 400;
#   (c) paste-pcap's export holds only port-9000 datagrams, the newest
#       ones, contiguous and ending with the last one sent.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/net/log_lib.sh
. "$NET_LIB_DIR/log_lib.sh"
log_require

# (a) the command line, no network needed.
bad_cmdline() {
	local what=$1 want=$2 out
	shift 2
	out=$("$TESTPMD" --no-huge -m 64 --no-pci --no-shconf --no-telemetry \
		--file-prefix "pnet$$_bad" --log-level=lib.eal:error -- "$@" 2>&1)
	check_eq "$?" 2 "(a) $what: exit status"
	if grep -q -- "$want" <<<"$out"; then
		pass "(a) $what: '$want'"
	else
		fail "(a) $what: no '$want' in: $out"
	fi
}
TB_EAL_PREFIXES+=("pnet$$_bad")
bad_cmdline "unknown filter key" "unknown --log-filter key 'vlan'" \
	--forward-mode=log --peer-port 1 --pool-file /nonexistent --log-filter vlan=3
bad_cmdline "bad ethertype" "bad value '0x1ffff'" \
	--forward-mode=log --peer-port 1 --pool-file /nonexistent --log-filter ethertype=0x1ffff
bad_cmdline "no --peer-port" "needs --peer-port" --forward-mode=log --pool-file /nonexistent

A=$(tb_unique_name e)
B=$(tb_unique_name f)
log "testbeds $A $B"
log_testbed "$A" "$B"
POOL="$TB_SHM/log.pool"
CAP="$TB_WORK/capture.pcap"
EXPORT="$TB_WORK/export.pcap"

start_logger "$A" "$B" "$POOL" --log-segments 2 --log-filter proto=17,port=9000 ||
	die "logger did not start"
bg_start nsenter --net="/run/netns/$B-linux" tcpdump -i "$B-l" -Q in -U -n -s 0 \
	-w "$CAP" udp port 9000 2>"$TB_WORK/tcpdump.err"
TD_PID=$BG_PID
wait_log "$TB_WORK/tcpdump.err" 'listening on' 10 "$TD_PID" || die "tcpdump did not start"

run_bounded 30 nsenter --net="/run/netns/$A-linux" ping -c 3 -i 0.2 -W 2 "$LOG_RX_IP" >/dev/null
check_rc $? "(b) ping crosses the logger"
run_bounded 60 nsenter --net="/run/netns/$A-linux" "$PY" "$PCAP_CHECK" udp_send \
	"$LOG_RX_IP" 9001 50 2000
run_bounded 60 nsenter --net="/run/netns/$A-linux" "$PY" "$PCAP_CHECK" udp_send \
	"$LOG_RX_IP" 9000 400 2000
sleep 1
kill -INT "$TD_PID"
wait_pid "$TD_PID" 10 || bg_kill "$TD_PID"
bg_forget "$TD_PID"
stop_testpmd
check_eq "$TP_RC" 0 "(b) logger exit status"
summary=$(grep '^log: ' "$TP_LOG")
log "$summary"
check_ge "$(field filtered "$summary")" 56 "(b) ping and port 9001 forwarded, not recorded"
check_ge "$(field evicted_segments "$summary")" 1 "(b) the full ring released its oldest segments"
check_eq "$(field release_errors "$summary")" 0 "(b) release errors"
check_eq "$(field not_logged "$summary")" 0 "(b) frames forwarded unlogged"
captured=$("$PY" "$PCAP_CHECK" udp-ports "$CAP")
check_eq "$(field frames "$captured")" 400 "(b) the receiver got every port-9000 datagram"

run_bounded 60 "$PCAP_TOOL" "$POOL" "$EXPORT" 2>"$TB_WORK/pcap.err"
check_rc $? "(c) paste-pcap exports the log"
exported=$("$PY" "$PCAP_CHECK" udp-ports "$EXPORT")
log "export: $exported"
check_eq "$(field udp_dports "$exported")" 9000 "(c) only port-9000 datagrams recorded"
check_eq "$(field contiguous "$exported")" 1 "(c) the newest datagrams, contiguous"
check_eq "$(field seqs "$exported" | sed 's/.*\.\.//')" 399 "(c) ... up to the last one"
n=$(field frames "$exported")
check_ge "$n" 54 "(c) the ring holds more than one segment"
if [ "${n:-0}" -le 106 ]; then pass "(c) at most the ring's 106 records ($n)"; else
	fail "(c) $n frames exported from a ring of 106"; fi

tb_finish
