#!/bin/bash
# Suite 'net': what zero copy costs in space (issue 23). A zero-copy value
# is the received segments it arrived in, one name per segment, each in a
# pool buffer of its own: the pool bytes a stored byte takes are the
# buffer size over the segment's payload (1,448 bytes at MTU 1500 with
# timestamps). Stored value bytes over the pool bytes the values hold
# ((pool_kept - index_bufs) x buf_size, the statistics line at exit: what
# bench/lib/capacity.py's space_of computes), for 8 KiB, 64 KiB and 1 MiB
# values, each size on a fresh paste-kvs:
#  - over a memif, paste-loadgen the client (the capacity phase's path; a
#    NIC's is alike: a frame in one mbuf), pool buffers of 1,664 bytes
#    (--pool-buf-size, the size doc/kvs.md recommends there): zero copy
#    must store at least 0.85 of its pool bytes; every value read back
#    and checked by paste-loadgen's GETs;
#  - over net_af_packet (the testbed's path), the default 2,176-byte
#    buffers (af_packet's default 2,048-byte ring frames need 2,016 bytes
#    of mbuf data room), pipelined SETs from a Linux client, read back:
#    measured and printed, asserted only to be what one segment a buffer
#    gives (at least 0.6).
# --copy is measured beside each (a copy fills whole buffers). The zero-copy
# values of 256 KiB and up are read back again after a restart (recovery
# checks them against their records' CRCs, taken as they arrived).
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
LOADGEN="$BUILD_DIR/bench/paste-loadgen"
[ -x "$LOADGEN" ] || die "$LOADGEN not built"
kvs_testbed_up s
IP=$TB_PASTE_IP
SOCK="paste-space-$$.memif"
SIZES="8192:200 65536:40 1048576:6"

# ratio: SPACE from the last statistics line, or empty.
ratio() {
	local kept idx vb bs
	kept=$(kvs_field pool_kept)
	idx=$(kvs_field index_bufs)
	vb=$(kvs_field value_bytes)
	bs=$(kvs_field buf_size)
	log "value_bytes=$vb pool_kept=$kept index_bufs=$idx buf_size=$bs"
	SPACE=$(awk -v v="$vb" -v k="$kept" -v i="$idx" -v b="$bs" \
		'BEGIN { if (k > i && b > 0) printf "%.4f\n", v / ((k - i) * b) }')
}

# space_memif SIZE COUNT [OPTIONS...]: paste-kvs on a memif in the paste
# namespace, paste-loadgen storing COUNT keys of SIZE bytes (its GET
# test's load) then reading them back checked; SPACE as ratio sets it.
space_memif() {
	local size=$1 count=$2 rc=0 prefix lg_log="$TB_WORK/loadgen.$KVS_N.log"
	shift 2
	SPACE=""
	rm -f "$TB_SHM/kvs-space.pool" "$TB_SHM/loadgen.pool"
	KVS_N=$((KVS_N + 1))
	KVS_LOG="$TB_WORK/kvs.$KVS_N.log"
	prefix="pkvs$$_$KVS_N"
	TB_EAL_PREFIXES+=("$prefix" "plg$$_$KVS_N")
	kvs_launch paste-kvs nsenter --net="/run/netns/$NAME-paste" "$KVS" \
		-l 0 --no-huge -m 512 --no-pci --no-telemetry --iova-mode=va \
		--file-prefix "$prefix" --log-level=lib.eal:error \
		"--vdev=net_memif0,role=server,socket=$SOCK,socket-abstract=yes" \
		-- --ip "$IP/$TB_PREFIX_LEN" --pool-file "$TB_SHM/kvs-space.pool" \
		--persist flush --pool-bufs 32768 "$@" || return 1
	timeout -k 5 120 nsenter --net="/run/netns/$NAME-paste" "$LOADGEN" \
		-l 1 --no-huge -m 256 --no-pci --no-telemetry --iova-mode=va \
		--file-prefix "plg$$_$KVS_N" --log-level=lib.eal:error \
		"--vdev=net_memif0,role=client,socket=$SOCK,socket-abstract=yes" \
		-- --ip 198.18.0.2/"$TB_PREFIX_LEN" --server "$IP" -t get -d "$size" \
		-r "$count" -n "$count" -c 1 -P 16 --pool-file "$TB_SHM/loadgen.pool" \
		--pool-bufs 16384 --max-time 100 >"$lg_log" 2>&1 || rc=$?
	rm -f "$TB_SHM/loadgen.pool"
	stop_kvs INT
	check_rc "$rc" "memif, $size-byte values ($*): paste-loadgen stored and read back $count" ||
		{ show_log "$lg_log" 20; return 1; }
	check_eq "$KVS_RC" 0 "memif, $size-byte values ($*): clean exit" || return 1
	ratio
}

# space_afpacket SIZE COUNT [OPTIONS...]: paste-kvs on the testbed's
# af_packet, COUNT pipelined SETs of SIZE bytes from one Linux client (a
# full stream: every segment a full MSS but the last), each read back.
space_afpacket() {
	local size=$1 count=$2 out rc=0
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
	check_rc "$rc" "af_packet, $size-byte SETs ($*): the client ran" || return 1
	check_eq "$out" "$count $count" "af_packet, $size-byte SETs ($*): all +OK, all read back exact" ||
		return 1
	check_eq "$KVS_RC" 0 "af_packet, $size-byte SETs ($*): clean exit" || return 1
	ratio
}

# reread_afpacket SIZE COUNT: paste-kvs again on the pool space_afpacket
# left, every value recovered (recovery checks each against the CRC in its
# record; values of 256 KiB and up had their segments checksummed and
# flushed as they arrived) and read back exact.
reread_afpacket() {
	local size=$1 count=$2 out rc=0 rec
	start_kvs "$NAME" "$TB_SHM/kvs-space.pool" --pool-bufs 32768 || return 1
	rec=$(grep -m1 '^paste-kvs: recovered' "$KVS_LOG")
	out=$(timeout -k 5 120 "${LX[@]}" /usr/bin/python3 -c "
import socket
size, count = $size, $count
s = socket.create_connection(('$IP', 6379), timeout=60)
f = s.makefile('rb')
good = 0
for i in range(count):
    s.sendall(b'*2\r\n\$3\r\nGET\r\n\$6\r\nk%05d\r\n' % i)
    head = f.readline()
    body = f.read(size + 2) if head == b'\$%d\r\n' % size else b''
    good += body[:size] == bytes([97 + i % 26]) * size
print(good)
") || rc=$?
	stop_kvs INT
	check_rc "$rc" "af_packet, $size-byte values after a restart: the client ran" || return 1
	check_eq "$(echo "$rec" | grep -c "recovered $count keys .*, 0 cut values")" 1 \
		"af_packet, $size-byte values after a restart: $count keys recovered, none cut ($rec)" ||
		return 1
	check_eq "$out" "$count" "af_packet, $size-byte values after a restart: all read back exact"
}

at_least() {
	awk -v r="${1:-0}" -v m="$2" 'BEGIN { print (r >= m) ? "yes" : "no" }'
}

for sc in $SIZES; do
	size=${sc%:*}
	count=${sc#*:}
	space_memif "$size" "$count" --pool-buf-size 1664
	zc=$SPACE
	space_memif "$size" "$count" --pool-buf-size 1664 --copy
	cp=$SPACE
	log "memif, 1,664-byte buffers, $size-byte values: stored bytes per pool byte: zero copy ${zc:-?}, copy ${cp:-?}"
	check_eq "$(at_least "$zc" 0.85)" yes \
		"memif, 1,664-byte buffers: zero copy at $size bytes stores at least 85% of its pool bytes (${zc:-?})"
	check_eq "$(at_least "$cp" 0.85)" yes \
		"memif, 1,664-byte buffers: copy at $size bytes stores at least 85% of its pool bytes (${cp:-?})"
done
for sc in $SIZES; do
	size=${sc%:*}
	count=${sc#*:}
	space_afpacket "$size" "$count"
	zc=$SPACE
	[ "$size" -lt 262144 ] || reread_afpacket "$size" "$count"
	space_afpacket "$size" "$count" --copy
	cp=$SPACE
	log "af_packet, default buffers, $size-byte values: stored bytes per pool byte: zero copy ${zc:-?}, copy ${cp:-?}"
	check_eq "$(at_least "$zc" 0.6)" yes \
		"af_packet, default buffers: zero copy at $size bytes: one segment a buffer (${zc:-?})"
done
tb_finish
