#!/bin/bash
# Suite 'net': paste-kvs serves real clients on the testbed, in both index
# modes and in --copy mode: every command over RESP (redis-cli, and a client
# of our own checking every answer), HTTP (curl), pipelining, a short
# redis-benchmark; malformed requests get the right error while another
# connection stays loaded; the connection limit refuses cleanly; a port
# the server closed first opens a new connection at once; a clean
# restart recovers every key.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
kvs_testbed_up k redis-cli redis-benchmark curl
IP=$TB_PASTE_IP

for mode in "wal" "btree" "wal --copy"; do
	read -r index copy <<<"$mode"
	what="[$index${copy:+ copy}]"
	pool="$TB_SHM/kvs-$index${copy:+-copy}.pool"
	# shellcheck disable=SC2086
	start_kvs "$NAME" "$pool" --index "$index" $copy --pool-bufs 65536 --max-conns 64 || continue
	run_bounded 60 "${LX[@]}" "${KVS_CLIENT[@]}" basic "$IP" 6379 8080
	check_rc $? "$what every command over RESP and HTTP"
	out=$(run_bounded 20 "${LX[@]}" redis-cli -h "$IP" -p 6379 SET cli-key hello)
	check_eq "$out" OK "$what redis-cli SET"
	out=$(run_bounded 20 "${LX[@]}" redis-cli -h "$IP" -p 6379 GET cli-key)
	check_eq "$out" hello "$what redis-cli GET"
	out=$(run_bounded 20 "${LX[@]}" curl -s -X PUT --data-binary @/etc/os-release "http://$IP:8080/curl-key" -o /dev/null -w '%{http_code}')
	check_eq "$out" 200 "$what curl PUT"
	out=$(run_bounded 20 "${LX[@]}" curl -s "http://$IP:8080/curl-key" | sha256sum | cut -d' ' -f1)
	check_eq "$out" "$(sha256sum /etc/os-release | cut -d' ' -f1)" "$what curl GET returns the body"
	out=$(run_bounded 120 "${LX[@]}" redis-benchmark -h "$IP" -p 6379 -t set,get -n 4000 -c 8 -P 4 -d 1024 -q 2>&1)
	rc=$?
	printf '%s\n' "$out" | tr '\r' '\n' | grep -E '^(SET|GET):' | sed 's/^/    /'
	check_rc $rc "$what redis-benchmark SET/GET 1 KiB runs to the end"
	run_bounded 60 "${LX[@]}" "${KVS_CLIENT[@]}" malformed "$IP" 6379 8080
	check_rc $? "$what malformed requests while another connection is loaded"
	# The connection limit: the 65th connection is refused with an error.
	out=$(run_bounded 30 "${LX[@]}" /usr/bin/python3 -c "
import socket
cs=[socket.create_connection(('$IP',6379),timeout=5) for _ in range(64)]
s=socket.create_connection(('$IP',6379),timeout=5)
try:
    print(s.recv(200).decode().strip() or 'closed without a reply')
except OSError as e:
    print('no reply: %r' % e)" 2>&1)
	check_eq "$out" "-ERR max number of clients reached" "$what connection limit refuses cleanly"
	# A port the server closed first (QUIT: the server's side waits in
	# TIME_WAIT) taken again at once by a new connection, as a Linux
	# client may: its SYN, with a higher sequence number, opens a new
	# connection (RFC 1122 4.2.2.13) instead of being answered from the
	# old one's TIME_WAIT for its two minutes.
	out=$(run_bounded 30 "${LX[@]}" /usr/bin/python3 -c "
import socket, time
def conn(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', port))
    s.settimeout(5)
    s.connect(('$IP', 6379))
    return s
s = conn(0)
port = s.getsockname()[1]
s.sendall(b'QUIT\r\n')
assert s.recv(100) == b'+OK\r\n'
assert s.recv(100) == b''
s.close()
t = time.time()
try:
    # (until the kernel has let go of the old socket: our FIN acknowledged)
    for i in range(40):
        try:
            s = conn(port)
            break
        except OSError as e:
            if e.errno != 99 or i == 39:
                raise
            time.sleep(0.05)
    s.sendall(b'PING\r\n')
    print(s.recv(100).decode().strip(), 'in %.0f s' % (time.time() - t))
except OSError as e:
    print('no connection from the same port: %r' % e)" 2>&1)
	check_eq "${out%% in *}" "+PONG" "$what a port the server closed first opens again at once ($out)"
	# A clean restart keeps everything.
	run_bounded 60 "${LX[@]}" "${KVS_CLIENT[@]}" load "$IP" 6379 "$TB_WORK/keys.$index$copy" --conns 4 --keys 1500 --prefix "r$index"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "$what clean exit"
	check_eq "$(kvs_field lwip_asserts)" 0 "$what lwip_asserts"
	# shellcheck disable=SC2086
	start_kvs "$NAME" "$pool" --index "$index" $copy || continue
	run_bounded 60 "${LX[@]}" "${KVS_CLIENT[@]}" verify "$IP" 6379 "$TB_WORK/keys.$index$copy"
	check_rc $? "$what 1500 keys read back after a restart"
	stop_kvs INT
done

# A full pool: -OOM replies, never a stall; other clients are served.
start_kvs "$NAME" "$TB_SHM/kvs-small.pool" --pool-bufs 16384 --mbufs 1024 && {
	run_bounded 120 "${LX[@]}" "${KVS_CLIENT[@]}" fill "$IP" 6379
	check_rc $? "[wal] full pool: -OOM, other connections served, writes again after FLUSHALL"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "[wal] full pool: clean exit"
}
tb_finish
