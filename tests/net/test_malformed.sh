#!/bin/bash
# Suite 'net': malformed frames do not disturb paste.
#
# paste-testpmd runs tcp-echo (--stats-period 1). A Linux echo client
# (tests/net/echo_client.py, one connection, 1 MiB) sends 64 KiB, reads them
# back and holds the connection open and idle. tests/net/malformed.py, which
# sniffed the connection from the start, then sends from the Linux veth to
# paste's MAC (from the ready line): runts (10, 14 and 24 bytes), IHL 3, IHL
# past the packet, a bad IP checksum, a bad TCP checksum, TCP data offsets
# past the segment and below 5, IP fragments (first, middle, last), IP total
# length too short and past the frame, and ethertype 0x88b5. The frames that
# can be aimed at the live connection carry its exact next sequence and ACK
# numbers and a payload, so accepting any of them would corrupt the echoed
# stream. Then the client sends the rest. Asserts:
#   - at least 12 malformed IPv4 frames left the Linux side (the 10-byte
#     runt is refused by the sending kernel: reported, not counted);
#   - the connection still echoes all 1 MiB byte-exact;
#   - rx_dropped + rx_bad_csum + rx_truncated grew, from the last
#     statistics block before the frames to the final one, by at least the
#     number of frames that reach paste (every one of them is dropped),
#     which includes every malformed IPv4 frame that reaches it;
#   - rx_truncated grew by at least 2: the two runts with an IPv4 EtherType
#     but no whole IPv4 header, which the netif drops before lwIP (lwIP
#     would read the header's length field past the frame);
#   - clean exit, lwip_asserts=0, no connection error.
# Fragments: net_af_packet's sockets use PACKET_FANOUT_FLAG_DEFRAG, so the
# paste namespace's kernel reassembles fragments before paste sees them: the
# first two are held there, and the last completes a 3,020-byte datagram that
# reaches paste truncated to the driver's 2,048-byte ring frame (see
# malformed.py).
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"
tb_require
[ -x "$PY" ] || skip "$PY not found"
"$PY" -c 'import scapy.all' 2>/dev/null || skip "scapy not importable by $PY (python3-scapy)"
tb_reap_stale

NAME=$(tb_unique_name m)
log "testbed $NAME"
tb_up "$NAME"

start_testpmd "$NAME" tcp-echo --tcp-port 5001 --stats-period 1 || tb_finish
[ -n "$TP_MAC" ] || die "no MAC in the ready line"

start_file="$TB_WORK/start"
go_file="$TB_WORK/go"
mlog="$TB_WORK/malformed.log"
clog="$TB_WORK/client.log"

log "malformed.py: sniffing $NAME-l, frames to $TP_MAC"
bg_start nsenter --net="/run/netns/$NAME-linux" timeout -k 5 120 "$PY" "$NET_LIB_DIR/malformed.py" \
	--iface "$NAME-l" --dst-mac "$TP_MAC" --dport 5001 \
	--start-file "$start_file" --start-timeout 90 >"$mlog" 2>&1
mpid=$BG_PID
wait_log "$mlog" '^malformed: sniffing' 30 "$mpid" || {
	show_log "$mlog"
	die "malformed.py did not start sniffing"
}

log "echo client: 1 connection, 1 MiB, holding after 64 KiB"
bg_start nsenter --net="/run/netns/$NAME-linux" timeout -k 5 150 "$PY" "$NET_LIB_DIR/echo_client.py" \
	--host "$TB_PASTE_IP" --port 5001 --conns 1 --min-bytes 1048576 --max-bytes 1048576 \
	--seed 5 --hold-after 65536 --go-file "$go_file" --hold-timeout 90 --timeout 140 >"$clog" 2>&1
cpid=$BG_PID
if wait_log "$clog" '^echo-client: holding' 60 "$cpid"; then
	pass "echo connection open and idle after 64 KiB echoed"
else
	show_log "$clog"
	die "echo client did not reach its hold point"
fi

# The baseline: the first statistics block printed after the hold began.
n0=$(grep -c '^stack: ' "$TP_LOG")
wait_log_count "$TP_LOG" '^stack: ' $((n0 + 1)) 10 "$TP_PID" || die "no statistics block within 10 s"
trunc0=$(stack_field rx_truncated)
drops0=$(($(stack_field rx_dropped) + $(stack_field rx_bad_csum) + trunc0))
log "before: $(grep '^stack: ' "$TP_LOG" | tail -n 1)"

touch "$start_file"
if wait_pid "$mpid" 60; then
	bg_forget "$mpid"
	check_eq "$WAIT_RC" 0 "malformed.py exit status"
else
	fail "malformed.py still running after 60 s"
fi
sed 's/^/    /' "$mlog"
summary=$(grep '^malformed: sent=' "$mlog" | tail -n 1)
n_ipv4=$(field ipv4 "$summary")
n_reach=$(field reach "$summary")
n_reach4=$(field reach_ipv4 "$summary")
check_ge "$n_ipv4" 12 "malformed IPv4 frames sent"
check_ge "$n_reach4" 10 "malformed IPv4 frames that reach paste"
if [ "$(field conn "$summary")" != none ] && [ -n "$summary" ]; then
	pass "frames aimed at the live connection (client port $(field conn "$summary"))"
else
	fail "malformed.py did not see the echo connection"
fi

# Let paste take them in (they arrive within a poll; a second is plenty),
# then let the client finish.
sleep 1
touch "$go_file"
if wait_pid "$cpid" 140; then
	bg_forget "$cpid"
	crc=$WAIT_RC
else
	crc=timeout
fi
sed 's/^/    /' "$clog"
check_eq "$crc" 0 "echo connection round-trips 1 MiB byte-exact across the malformed frames"

stop_testpmd
check_testpmd_end malformed
log "after:  $(grep '^stack: ' "$TP_LOG" | tail -n 1)"
trunc1=$(stack_field rx_truncated)
drops1=$(($(stack_field rx_dropped) + $(stack_field rx_bad_csum) + trunc1))
check_ge $((drops1 - drops0)) "${n_reach:-1}" "rx_dropped + rx_bad_csum + rx_truncated increase ($drops0 -> $drops1; ${n_reach4:-?} of the frames IPv4)"
check_ge $((trunc1 - trunc0)) 2 "rx_truncated increase: runts without a whole IPv4 header ($trunc0 -> $trunc1)"
if grep -q '^tcp-echo: conn [0-9]*: ' "$TP_LOG"; then
	fail "tcp-echo reported: $(grep -m3 '^tcp-echo: conn [0-9]*: ' "$TP_LOG" | tr '\n' ';')"
else
	pass "no connection error reported by tcp-echo"
fi

tb_finish
