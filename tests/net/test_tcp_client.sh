#!/bin/bash
# Suite 'net': paste as a TCP client sending to a Linux server.
#
# tests/net/recv_server.py listens on 198.18.0.2:5002 in the Linux namespace
# and writes what it receives to a file. paste-testpmd
# --forward-mode=tcp-client --connect 198.18.0.2:5002 --client-bytes N sends
# N bytes of its pattern (byte i = (i*7 + (i>>12)) & 0xff), prints
# "tcp-client: done bytes_sent=N sha256=<hex>" and exits 0. Asserts, for a
# run that resolves the server's MAC with ARP and one with a static entry
# (--peer-ip/--peer-mac):
#   - the server read exactly N bytes and saw a clean EOF;
#   - SHA-256 of the file = the client's printed sha256 = the pattern's
#     (tests/net/pattern.py);
#   - exit status 0, final statistics, lwip_asserts=0.
# Environment: PASTE_CLIENT_BYTES (default 64 MiB + 12345: a tail that is
# not a whole pattern block).
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"
tb_require
[ -x "$PY" ] || skip "$PY not found"
tb_reap_stale

BYTES=$(size_bytes "${PASTE_CLIENT_BYTES:-$((64 * 1048576 + 12345))}")
NAME=$(tb_unique_name c)
log "testbed $NAME"
tb_up "$NAME"
linux_mac=$(nsenter --net="/run/netns/$NAME-linux" ip -o link show "$NAME-l" | sed -n 's/.*link\/ether \([0-9a-f:]\{17\}\).*/\1/p')

# run_client LABEL BYTES [testpmd options...]
run_client() {
	local label=$1 bytes=$2
	shift 2
	local out="$TB_WORK/recv-$label.bin" slog="$TB_WORK/server-$label.log" spid line secs want
	want=$("$PY" "$NET_LIB_DIR/pattern.py" "$bytes")
	log "[$label] pattern of $bytes bytes: sha256 $want"
	secs=$((bytes / 1048576 + 60))
	bg_start nsenter --net="/run/netns/$NAME-linux" timeout -k 5 $((secs + 30)) "$PY" \
		"$NET_LIB_DIR/recv_server.py" --bind "$TB_LINUX_IP" --port 5002 \
		--out "$out" --accept-timeout 60 --timeout "$secs" >"$slog" 2>&1
	spid=$BG_PID
	if ! wait_log "$slog" '^recv-server: listening' 20 "$spid"; then
		fail "[$label] recv_server.py did not start"
		show_log "$slog"
		return
	fi
	start_testpmd "$NAME" tcp-client --connect "$TB_LINUX_IP:5002" \
		--client-bytes "$bytes" "$@" || return
	log "[$label] sending $bytes bytes to $TB_LINUX_IP:5002 (at most $secs s)"
	if wait_testpmd_exit "$secs"; then
		pass "[$label] tcp-client finished by itself"
	else
		fail "[$label] tcp-client did not finish within $secs s"
		show_log "$TP_LOG" 30
	fi
	check_testpmd_end "$label"
	line=$(grep -E -m1 '^tcp-client: (done|failed)' "$TP_LOG")
	log "[$label] $line"
	if [[ "$line" == "tcp-client: done "* ]]; then
		pass "[$label] tcp-client: done"
	else
		fail "[$label] tcp-client did not report done: '${line:-no line}'"
	fi
	check_eq "$(field bytes_sent "$line")" "$bytes" "[$label] bytes_sent"
	check_eq "$(field sha256 "$line")" "$want" "[$label] client's sha256 = the pattern's"

	if wait_pid "$spid" 30; then
		bg_forget "$spid"
		check_eq "$WAIT_RC" 0 "[$label] server saw a clean EOF"
	else
		fail "[$label] server still running 30 s after the client ended"
	fi
	sed 's/^/    /' "$slog"
	check_eq "$(stat -c %s "$out" 2>/dev/null)" "$bytes" "[$label] bytes the server received"
	check_eq "$(sha_of "$out")" "$want" "[$label] sha256 of what the server received"
	rm -f "$out"
}

# With ARP, the whole size.
run_client arp "$BYTES"
# With a static ARP entry: no resolution, the first SYN goes out at once.
run_client static-arp $((BYTES / 8 + 1)) --peer-ip "$TB_LINUX_IP" --peer-mac "$linux_mac"

tb_finish
