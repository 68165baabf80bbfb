#!/bin/bash
# Suite 'net': paste-kvs with --requirepass-file on the testbed, with real
# clients: without AUTH every command gets NOAUTH, a wrong password
# WRONGPASS, the right one (redis-cli -a, redis-benchmark -a) works; HTTP
# without credentials gets 401, with them the value; failures are counted.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
kvs_testbed_up u redis-cli redis-benchmark curl
IP=$TB_PASTE_IP
PW=$TB_WORK/password
printf 'c0rrect-h0rse\n' >"$PW"
cli() { run_bounded 20 "${LX[@]}" redis-cli --no-auth-warning -h "$IP" -p 6379 "$@" 2>&1; }

# An empty password file is refused before anything starts.
: >"$TB_WORK/empty"
run_bounded 30 nsenter --net="/run/netns/$NAME-paste" "$KVS" --no-huge -m 512 --no-pci \
	--no-shconf --file-prefix "pkvsauth$$" --log-level=lib.eal:error \
	"--vdev=net_af_packet0,iface=$NAME-p,qpairs=1" -- --ip "$TB_PASTE_IP/$TB_PREFIX_LEN" \
	--pool-file "$TB_SHM/auth-empty.pool" --requirepass-file "$TB_WORK/empty" \
	>"$TB_WORK/empty.log" 2>&1
check_eq "$?" 2 "an empty --requirepass-file: exit 2"
grep -q "no password" "$TB_WORK/empty.log"
check_rc $? "an empty --requirepass-file: says why"

start_kvs "$NAME" "$TB_SHM/auth.pool" --pool-bufs 16384 --requirepass-file "$PW" && {
	for c in "SET k v" "GET k" "FLUSHALL" "CLUSTER INFO" "INFO" "DBSIZE" "PING"; do
		# shellcheck disable=SC2086
		check_eq "$(cli $c)" "NOAUTH Authentication required." "no AUTH: $c refused"
	done
	# redis-cli says AUTH failed, then sends PING anyway.
	check_eq "$(cli -a wrong PING | grep -v '^$' | paste -sd'|')" \
		"AUTH failed: WRONGPASS invalid username-password pair or user is disabled.|NOAUTH Authentication required." \
		"redis-cli -a with a wrong password: WRONGPASS, then NOAUTH"
	check_eq "$(cli -a c0rrect-h0rse SET k v)" OK "redis-cli -a: SET"
	check_eq "$(cli --pass c0rrect-h0rse GET k)" v "redis-cli --pass: GET"
	check_eq "$(cli --user default --pass c0rrect-h0rse GET k)" v "redis-cli --user default"
	out=$(run_bounded 120 "${LX[@]}" redis-benchmark -h "$IP" -p 6379 -a c0rrect-h0rse \
		-t set,get -n 2000 -c 4 -q 2>&1)
	rc=$?
	printf '%s\n' "$out" | tr '\r' '\n' | grep -E '^(SET|GET):' | sed 's/^/    /'
	check_rc $rc "redis-benchmark -a runs to the end"
	printf '%s\n' "$out" | grep -q NOAUTH
	check_eq "$?" 1 "redis-benchmark -a: no NOAUTH"
	url="http://$IP:8080/k"
	out=$(run_bounded 20 "${LX[@]}" curl -s -o /dev/null -w '%{http_code}' "$url")
	check_eq "$out" 401 "curl without credentials: 401"
	out=$(run_bounded 20 "${LX[@]}" curl -s -D - -o /dev/null "$url" | grep -ci '^WWW-Authenticate:')
	check_eq "$out" 2 "401 names Bearer and Basic"
	out=$(run_bounded 20 "${LX[@]}" curl -s -H "Authorization: Bearer c0rrect-h0rse" "$url")
	check_eq "$out" v "curl with Bearer: the value"
	out=$(run_bounded 20 "${LX[@]}" curl -s -u default:c0rrect-h0rse "$url")
	check_eq "$out" v "curl with Basic: the value"
	out=$(run_bounded 20 "${LX[@]}" curl -s -o /dev/null -w '%{http_code}' -X PUT \
		-H "Authorization: Bearer nope" --data x "$url")
	check_eq "$out" 401 "curl PUT with a wrong password: 401"
	# Ten failures close the connection.
	out=$(run_bounded 20 "${LX[@]}" /usr/bin/python3 -c "
import socket
s=socket.create_connection(('$IP',6379),timeout=5)
s.sendall(b'AUTH nope\r\n'*11)
d=b''
while True:
    b=s.recv(4096)
    if not b: break
    d+=b
print(d.count(b'WRONGPASS'))")
	check_eq "$out" 10 "10 failed AUTHs, then the connection is closed"
	out=$(cli -a c0rrect-h0rse INFO | tr -d '\r' | sed -n 's/^auth_failures://p')
	[ "${out:-0}" -ge 12 ]
	check_rc $? "INFO counts the failures (auth_failures:$out)"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "clean exit"
}
tb_finish
