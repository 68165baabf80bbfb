#!/bin/bash
# Suite 'net': the one-byte-segment abuse. Four clients each start a SET
# whose value never completes and trickle it one byte per TCP segment
# (python, TCP_NODELAY, one send per byte) for about eight seconds. The
# bytes are held, not kept, and held one-byte segments are gathered into
# shared buffers: the pool spends about bytes / buffer size, not a buffer
# per segment. Meanwhile a healthy redis-cli client's PING, SET and GET are
# each answered within 2 s; after the abusers leave, paste-kvs's pool_free
# (its statistics line) returns to its baseline: exactly, counted with
# pool_kept (the healthy SETs store values and index records meanwhile;
# what the abusers held was never kept). Then one client sends a whole
# 3,000-byte SET one byte per segment: more segments than a value has names,
# so paste-kvs stores a copy; it must answer +OK and read it back exact.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
kvs_testbed_up t redis-cli
IP=$TB_PASTE_IP

# pool_free + pool_kept from a statistics line printed after now (at most
# 10 s): the buffers neither lent nor releasing.
fresh_pool_free() {
	local n
	n=$(grep -c '^kvs: ' "$KVS_LOG")
	wait_log_count "$KVS_LOG" '^kvs: ' $((n + 1)) 10 "$KVS_PID" >/dev/null || return 1
	echo $(($(kvs_field pool_free) + $(kvs_field pool_kept)))
}

start_kvs "$NAME" "$TB_SHM/kvs-trickle.pool" --pool-bufs 65536 --stats-period 0.5 ||
	die "paste-kvs did not start"
kvs_healthy "[before]"
base=$(fresh_pool_free) || die "no statistics line"
base_free=$(kvs_field pool_free)
log "baseline pool_free+pool_kept=$base (pool_free=$base_free)"

TRICKLE_LOG="$TB_WORK/trickle.log"
bg_start timeout -k 5 60 "${LX[@]}" /usr/bin/python3 -c "
import socket, time
socks = []
for i in range(4):
    s = socket.create_connection(('$IP', 6379), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b'*3\r\n\$3\r\nSET\r\n\$6\r\ntrick%d\r\n\$1000000\r\n' % i)
    socks.append(s)
sent, end = 0, time.time() + 8
while time.time() < end and sent < 2000000:
    for s in socks:
        s.send(b'x')
        sent += 1
    if sent % 256 == 0:
        time.sleep(0.0005)
print('trickled', sent, flush=True)
time.sleep(1)
for s in socks:
    s.close()
" >"$TRICKLE_LOG" 2>&1
TRICKLE_PID=$BG_PID
sleep 1
min_free=$base_free
for round in 1 2 3 4 5; do
	kvs_healthy "[trickle $round]"
	f=$(kvs_field pool_free)
	[ -n "$f" ] && [ "$f" -lt "$min_free" ] && min_free=$f
	sleep 0.5
done
bg_wait "$TRICKLE_PID"
check_rc $? "the trickling clients ran to the end"
sent=$(sed -n 's/^trickled \([0-9]*\)$/\1/p' "$TRICKLE_LOG")
log "trickled ${sent:-?} one-byte segments; lowest pool_free during it $min_free (baseline $base_free)"
check_gt "${sent:-0}" 20000 "at least 20,000 one-byte segments trickled"
# Held one-byte segments cost bytes: far fewer buffers than segments (the
# healthy SETs' values and index records take a few more).
check_gt "$min_free" $((base_free - ${sent:-0} / 20)) "pool spent bytes, not a buffer per segment"
kvs_healthy "[after]"
# A whole value in more one-byte segments than a value has names (1,024):
# stored as a copy, not refused, and read back byte-exact.
SPLIT_LOG="$TB_WORK/split.log"
split_rc=0
timeout -k 5 60 "${LX[@]}" /usr/bin/python3 -c "
import socket, time
s = socket.create_connection(('$IP', 6379), timeout=20)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
value = bytes(b'abcdefghij'[i % 10] for i in range(3000))
s.sendall(b'*3\r\n\$3\r\nSET\r\n\$5\r\nsplit\r\n\$3000\r\n')
for i, b in enumerate(value):
    s.send(bytes([b]))
    if i % 64 == 63:
        time.sleep(0.001)
s.sendall(b'\r\n')
f = s.makefile('rb')
print('set', f.readline().strip().decode(), flush=True)
s.sendall(b'*2\r\n\$3\r\nGET\r\n\$5\r\nsplit\r\n')
head = f.readline().strip()
body = f.read(3002)[:3000]
print('get', head.decode(), 'exact' if body == value else 'differs', flush=True)
" >"$SPLIT_LOG" 2>&1 || split_rc=$?
check_rc "$split_rc" "the split SET client ran"
sed 's/^/    /' "$SPLIT_LOG"
check_eq "$(sed -n 's/^set //p' "$SPLIT_LOG")" "+OK" "a 3,000-byte value in one-byte segments is stored"
check_eq "$(sed -n 's/^get //p' "$SPLIT_LOG")" "\$3000 exact" "and read back byte-exact"
free=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
	free=$(fresh_pool_free)
	[ "$free" = "$base" ] && break
done
check_eq "$free" "$base" "pool_free+pool_kept back to its baseline after the abusers left"
stop_kvs INT
check_eq "$KVS_RC" 0 "clean exit"
check_eq "$(kvs_field lwip_asserts)" 0 "lwip_asserts"
check_eq "$(kvs_field rx_nobufs)" 0 "rx_nobufs"
tb_finish
