#!/bin/bash
# Suite 'crash': paste-testpmd's log mode survives kill -9 with every
# forwarded frame in its log ("log before forward").
#
# The logger bridges two namespaces (tests/net/log_lib.sh); a Linux sender
# streams 12,000 UDP datagrams of 64..1,400 bytes to the receiver's
# namespace, where tcpdump captures what arrives. The logger is killed with
# SIGKILL mid-stream (its ring sized to hold the whole run). Asserts:
#   (a) the kill came mid-traffic: the receiver saw some but not all frames;
#   (b) paste-pcap exports the crashed logger's pool file;
#   (c) every frame tcpdump captured is in the export, byte for byte, and
#       the export's timestamps lie within the run, never going back;
#   (d) a new logger on that pool refuses to start (the log would be lost),
#       and starts with --log-discard.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/net/log_lib.sh
. "$NET_LIB_DIR/log_lib.sh"
log_require

A=$(tb_unique_name c)
B=$(tb_unique_name d)
COUNT=12000
log "testbeds $A $B"
log_testbed "$A" "$B"
POOL="$TB_SHM/log.pool"
CAP="$TB_WORK/capture.pcap"
EXPORT="$TB_WORK/export.pcap"

T0=$(date +%s)
# 300 segments of 53 records hold 15,900 frames: the whole run.
start_logger "$A" "$B" "$POOL" --pool-bufs 24576 --log-segments 300 ||
	die "logger did not start"
bg_start nsenter --net="/run/netns/$B-linux" tcpdump -i "$B-l" -Q in -U -n -s 0 \
	-w "$CAP" 2>"$TB_WORK/tcpdump.err"
TD_PID=$BG_PID
wait_log "$TB_WORK/tcpdump.err" 'listening on' 10 "$TD_PID" || die "tcpdump did not start"

# ~4 s of traffic at 3,000 datagrams/s; the kill comes after ~1.5 s.
bg_start nsenter --net="/run/netns/$A-linux" "$PY" "$PCAP_CHECK" udp_send \
	"$LOG_RX_IP" 9000 "$COUNT" 3000
SEND_PID=$BG_PID
sleep 1.5
kill -KILL "$TP_PID"
wait_pid "$TP_PID" 10
TP_PID=""
log "logger killed (SIGKILL)"
wait_pid "$SEND_PID" 30 || bg_kill "$SEND_PID"
bg_forget "$SEND_PID"
sleep 1
kill -INT "$TD_PID"
wait_pid "$TD_PID" 10 || bg_kill "$TD_PID"
bg_forget "$TD_PID"
T1=$(($(date +%s) + 1))

captured=$("$PY" "$PCAP_CHECK" udp-ports "$CAP")
log "tcpdump: $captured"
n=$(field frames "$captured")
check_gt "${n:-0}" 100 "(a) the receiver got frames before the kill"
if [ "${n:-0}" -lt "$COUNT" ]; then
	pass "(a) the kill came mid-traffic ($n of $COUNT datagrams forwarded)"
else
	fail "(a) every datagram was forwarded before the kill ($n): not a mid-traffic crash"
fi

run_bounded 60 "$PCAP_TOOL" "$POOL" "$EXPORT" 2>"$TB_WORK/pcap.err"
check_rc $? "(b) paste-pcap exports the crashed logger's pool"
sed 's/^/    /' "$TB_WORK/pcap.err"

result=$("$PY" "$PCAP_CHECK" contains "$EXPORT" "$CAP" "$T0" "$T1")
check_rc $? "(c) every captured frame is in the export, byte-identical: $result"

# (d) the log is not thrown away by a restart.
TP_N=$((TP_N + 1))
nsenter --net="/run/netns/$A-paste" "$TESTPMD" --no-huge -m 512 --no-pci --no-shconf \
	--no-telemetry --iova-mode=va --file-prefix "pnet$$_refuse" --log-level=lib.eal:error \
	"--vdev=net_af_packet0,iface=$A-p,qpairs=1" "--vdev=net_af_packet1,iface=$B-p,qpairs=1" \
	-- --forward-mode=log --peer-port 1 --pool-file "$POOL" --nb-mbufs 2048 \
	--log-segments 300 --max-time 5 >"$TB_WORK/refuse.log" 2>&1
rc=$?
TB_EAL_PREFIXES+=("pnet$$_refuse")
check_eq "$rc" 1 "(d) a logger on a pool holding a log exits 1"
if grep -q 'holds a packet log already' "$TB_WORK/refuse.log"; then
	pass "(d) ... and says why"
else
	fail "(d) no 'holds a packet log already' message"
	show_log "$TB_WORK/refuse.log"
fi
run_bounded 60 "$PCAP_TOOL" "$POOL" "$EXPORT.2" 2>/dev/null
check_rc $? "(d) the log is still there after the refusal"
cmp -s "$EXPORT" "$EXPORT.2"
check_rc $? "(d) ... unchanged"
start_logger "$A" "$B" "$POOL" --log-segments 300 --log-discard
check_rc $? "(d) --log-discard starts a new log"
stop_testpmd
check_eq "$TP_RC" 0 "(d) clean exit"

tb_finish
