#!/bin/bash
# Suite 'net': what zero copy costs in space (issue 23). A zero-copy value
# is the received segments it arrived in, one name per segment, each in a
# pool buffer of its own: the pool bytes a stored byte takes are the
# buffer size over the segment's payload (a 1,448-byte MSS on this
# veth). For each size (8 KiB, 64 KiB, 1 MiB), a fresh paste-kvs with its
# default pool is sent pipelined SETs of distinct keys by one client (a
# full stream: every segment a full MSS but the last), answered +OK and
# read back by GET; then stored value bytes over the pool bytes the values
# hold ((pool_kept - index_bufs) x buf_size, the statistics line at exit,
# what bench/lib/capacity.py's space_of computes) must be at least 0.85.
# The same SETs under --copy are measured and printed, not asserted
# (a copy fills whole buffers).
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
kvs_testbed_up s
IP=$TB_PASTE_IP

# space SIZE COUNT [OPTIONS...]: a fresh server, COUNT pipelined SETs of
# SIZE bytes, each read back; SPACE: the stored bytes per pool byte
# (0.xxxx), empty on failure.
space() {
	local size=$1 count=$2 out rc=0 kept idx vb bs
	shift 2
	SPACE=""
	rm -f "$TB_SHM/kvs-space.pool"
	start_kvs "$NAME" "$TB_SHM/kvs-space.pool" --pool-bufs 32768 "$@" || return 1
	out=$(timeout -k 5 120 "${LX[@]}" /usr/bin/python3 -c "
import socket
size, count = $size, $count
s = socket.create_connection(('$IP', 6379), timeout=60)
def val(i):
    return bytes([97 + i % 26]) * size
batch = b''.join(b'*3\r\n\$3\r\nSET\r\n\$6\r\nk%05d\r\n\$%d\r\n' % (i, size) + val(i) + b'\r\n'
                 for i in range(count))
s.sendall(batch)
f = s.makefile('rb')
ok = sum(f.readline() == b'+OK\r\n' for _ in range(count))
good = 0
for i in range(count):
    s.sendall(b'*2\r\n\$3\r\nGET\r\n\$6\r\nk%05d\r\n' % i)
    head = f.readline()
    body = f.read(size + 2)
    good += head == b'\$%d\r\n' % size and body[:size] == val(i)
print(ok, good)
") || rc=$?
	stop_kvs INT
	check_rc "$rc" "$size-byte SETs ($*): the client ran" || return 1
	check_eq "$out" "$count $count" "$size-byte SETs ($*): all +OK, all read back exact" ||
		return 1
	check_eq "$KVS_RC" 0 "$size-byte SETs ($*): clean exit" || return 1
	kept=$(kvs_field pool_kept)
	idx=$(kvs_field index_bufs)
	vb=$(kvs_field value_bytes)
	bs=$(kvs_field buf_size)
	log "$size-byte SETs ($*): value_bytes=$vb pool_kept=$kept index_bufs=$idx buf_size=$bs"
	SPACE=$(awk -v v="$vb" -v k="$kept" -v i="$idx" -v b="$bs" \
		'BEGIN { if (k > i && b > 0) printf "%.4f\n", v / ((k - i) * b) }')
}

for sc in 8192:200 65536:40 1048576:6; do
	size=${sc%:*}
	count=${sc#*:}
	space "$size" "$count"
	zc=$SPACE
	space "$size" "$count" --copy
	cp=$SPACE
	log "stored bytes per pool byte at $size bytes: zero copy ${zc:-?}, copy ${cp:-?}"
	check_eq "$(awk -v r="${zc:-0}" 'BEGIN { print (r >= 0.85) ? "yes" : "no" }')" yes \
		"zero copy at $size bytes stores at least 85% of its pool bytes (${zc:-?})"
done
tb_finish
