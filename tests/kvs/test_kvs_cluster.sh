#!/bin/bash
# Suite 'net': paste-kvs as a Redis Cluster. Two shards under
# scripts/kvs-cluster.sh (one machine: namespace <A>-paste, a veth each) and
# a third node in its own namespace (<B>-paste, standing for another
# machine), all reached through a bridge from the clients' namespace
# (<A>-linux). redis-cli -c follows MOVED across the nodes, redis-benchmark
# --cluster runs SET/GET, redis-py's RedisCluster writes and reads a key in
# every one of the 16,384 slots; then one shard is killed with SIGKILL under
# load: the supervisor restarts it, every acknowledged key reads back, and
# the other nodes never failed a request. nutcracker, configured from the
# slot map, routes a plain client's keys as the cluster does.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/kvs_lib.sh"
tb_require
[ -x "$KVS" ] || die "$KVS not built"
for c in redis-cli redis-benchmark curl nutcracker; do
	command -v "$c" >/dev/null || skip "$c not found (scripts/deps.sh installs it)"
done
/usr/bin/python3 -c 'import redis.cluster' 2>/dev/null || skip "python3-redis not installed"
tb_reap_stale
A=$(tb_unique_name c)
B=$(tb_unique_name o)
tb_workdirs
# Cleanup removes <A>-paste/-linux and <B>-paste (tb_remove_testbeds).
TB_NAMES+=("$A" "$B")
LX=(nsenter --net="/run/netns/$A-linux")
IP0=198.18.0.11 IP1=198.18.0.12 IP2=198.18.0.13

# veth NS IF PEER: IF in NS, PEER on the clients' bridge; no IPv6, no
# offloads (af_packet must see whole frames with real checksums).
veth() {
	local ns=$1 ifn=$2 peer=$3 f
	ip link add "$ifn" netns "$ns" type veth peer name "$peer" netns "$A-linux" || return 1
	nsenter --net="/run/netns/$ns" sysctl -qw "net.ipv6.conf.$ifn.disable_ipv6=1"
	"${LX[@]}" sysctl -qw "net.ipv6.conf.$peer.disable_ipv6=1"
	for f in tx rx tso gso gro; do
		nsenter --net="/run/netns/$ns" ethtool -K "$ifn" "$f" off >/dev/null 2>&1
		"${LX[@]}" ethtool -K "$peer" "$f" off >/dev/null 2>&1
	done
	"${LX[@]}" ip link set "$peer" master "$A-br" up &&
		nsenter --net="/run/netns/$ns" ip link set "$ifn" up
}
if ! { ip netns add "$A-paste" && ip netns add "$A-linux" && ip netns add "$B-paste"; }; then
	die "namespaces"
fi
if ! { "${LX[@]}" ip link add "$A-br" type bridge forward_delay 0 stp_state 0 &&
	"${LX[@]}" sysctl -qw "net.ipv6.conf.$A-br.disable_ipv6=1" &&
	"${LX[@]}" ip addr add "$TB_LINUX_IP/$TB_PREFIX_LEN" dev "$A-br" &&
	"${LX[@]}" ip link set "$A-br" up && "${LX[@]}" ip link set lo up; }; then
	die "bridge"
fi
if ! { veth "$A-paste" "$A-0p" "$A-0l" && veth "$A-paste" "$A-1p" "$A-1l" &&
	veth "$B-paste" "$B-p" "$B-l"; }; then
	die "veths"
fi

MAP="$TB_WORK/slots.conf"
cat >"$MAP" <<EOF
# name   host:port          http        slots
shard0   $IP0:6379   http=8080   0-5460
shard1   $IP1:6379   http=8080   5461-10922
other    $IP2:6379   http=8080   10923-16383
EOF
EAL="--no-huge -m 512 --no-pci --no-shconf --no-telemetry --iova-mode=va --log-level=lib.eal:error"
TB_EAL_PREFIXES+=(kvs-shard0 kvs-shard1 "kvs-other$$")

# The supervisor, in machine A's namespace: two shards, cores 0 and 1.
SUP_LOG="$TB_WORK/supervisor.log"
bg_start nsenter --net="/run/netns/$A-paste" bash "$NET_REPO/scripts/kvs-cluster.sh" \
	--map "$MAP" --dir "$TB_SHM" --paste-kvs "$KVS" --eal "$EAL" \
	--shard shard0 0 "net_af_packet0,iface=$A-0p,qpairs=1" \
	--shard shard1 1 "net_af_packet0,iface=$A-1p,qpairs=1" \
	-- --pool-bufs 65536 --mbufs 2048 >"$SUP_LOG" 2>&1
SUP_PID=$BG_PID
# The third node, alone on machine B.
OTHER_LOG="$TB_WORK/other.log"
# shellcheck disable=SC2086
bg_start nsenter --net="/run/netns/$B-paste" "$KVS" -l 1 --file-prefix "kvs-other$$" $EAL \
	"--vdev=net_af_packet0,iface=$B-p,qpairs=1" -- --ip "$IP2/$TB_PREFIX_LEN" \
	--pool-file "$TB_SHM/other.pool" --pool-bufs 65536 --mbufs 2048 \
	--cluster-config "$MAP" --cluster-node other >"$OTHER_LOG" 2>&1
OTHER_PID=$BG_PID
for log in "$TB_SHM/shard0.log" "$TB_SHM/shard1.log" "$OTHER_LOG"; do
	if ! wait_log "$log" '^paste-kvs: ready ' 60; then
		show_log "$SUP_LOG" 20
		show_log "$log" 40
		die "$(basename "$log"): not ready within 60 s"
	fi
done
pass "two shards under the supervisor and a node on another machine are ready"

# A map that leaves slots unowned is refused at start.
printf 'shard0 %s:6379 0-100\n' "$IP0" >"$TB_WORK/bad.conf"
out=$(run_bounded 20 "$KVS" --no-huge -m 64 --no-pci --no-shconf --no-telemetry \
	--file-prefix "kvs-bad$$" --log-level=lib.eal:error --vdev=net_null0 -- --ip 198.18.0.99 \
	--pool-file "$TB_SHM/bad.pool" --pool-bufs 4096 --cluster-config "$TB_WORK/bad.conf" \
	--cluster-node shard0 2>&1)
TB_EAL_PREFIXES+=("kvs-bad$$")
check_eq "$(grep -c 'slots 101-16383 are owned by no node' <<<"$out")" 1 "an incomplete slot map is refused"

R=(run_bounded 20 "${LX[@]}" redis-cli)
out=$("${R[@]}" -h $IP0 -p 6379 CLUSTER INFO | tr -d '\r' | grep -E '^cluster_(state|known_nodes)')
check_eq "$(tr '\n' ' ' <<<"$out")" "cluster_state:ok cluster_known_nodes:3 " "CLUSTER INFO"
out=$("${R[@]}" -h $IP0 -p 6379 GET foo)
check_eq "$out" "MOVED 12182 $IP2:6379" "a key another node owns: -MOVED slot host:port"
out=$("${R[@]}" -h $IP1 -p 6379 INFO cluster | tr -d '\r' | grep cluster_enabled)
check_eq "$out" "cluster_enabled:1" "INFO says cluster_enabled:1"
# redis-cli -c: each key written through one node and read through another.
ok=0
ips=("$IP0" "$IP1" "$IP2")
for i in $(seq 1 24); do
	from=$((i % 3)) to=$(((i + 1) % 3))
	out=$("${R[@]}" -c -h "${ips[from]}" -p 6379 SET "cli-key-$i" "val-$i")
	[ "$out" = OK ] || { log "SET cli-key-$i via ${ips[from]}: $out"; continue; }
	out=$("${R[@]}" -c -h "${ips[to]}" -p 6379 GET "cli-key-$i")
	[ "$out" = "val-$i" ] && ok=$((ok + 1))
done
check_eq "$ok" 24 "redis-cli -c: 24 keys over 3 nodes, MOVED followed"
out=$(run_bounded 20 "${LX[@]}" curl -s -L -o /dev/null -w '%{http_code} %{num_redirects}' \
	-X PUT --data-binary curl-value "http://$IP0:8080/foo")
check_eq "$out" "200 1" "HTTP: PUT to a node that does not own the key follows a 307"
out=$(run_bounded 20 "${LX[@]}" curl -s -L "http://$IP1:8080/foo")
check_eq "$out" "curl-value" "HTTP: GET through a 307 reads it back"

out=$(run_bounded 120 "${LX[@]}" redis-benchmark --cluster -h $IP0 -p 6379 -t set,get \
	-n 3000 -c 6 -d 64 -q 2>&1)
rc=$?
printf '%s\n' "$out" | tr '\r' '\n' | grep -E 'requests per second|Cluster has' | sed 's/^/    /'
check_rc $rc "redis-benchmark --cluster SET/GET runs to the end"
check_eq "$(printf '%s\n' "$out" | tr '\r' '\n' | grep -cE '^(SET|GET): .*requests per second')" 2 "redis-benchmark --cluster reports SET and GET"

run_bounded 180 "${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/kvs/cluster_client.py" slots $IP1 6379
check_rc $? "redis-py RedisCluster: a key in each of the 16,384 slots written and read back"

# COUNTKEYSINSLOT counts a slot's keys on its owner: five new keys under
# one hash tag in shard0's range, then two deleted.
tag=""
for i in $(seq 0 40); do
	slot=$("${R[@]}" -h $IP0 -p 6379 CLUSTER KEYSLOT "{cks$i}")
	if [ "${slot:-99999}" -le 5460 ]; then tag="{cks$i}"; break; fi
done
if [ -n "$tag" ]; then
	n0=$("${R[@]}" -h $IP0 -p 6379 CLUSTER COUNTKEYSINSLOT "$slot")
	for i in 1 2 3 4 5; do "${R[@]}" -h $IP0 -p 6379 SET "$tag:$i" v >/dev/null; done
	"${R[@]}" -h $IP0 -p 6379 SET "$tag:1" again >/dev/null
	n1=$("${R[@]}" -h $IP0 -p 6379 CLUSTER COUNTKEYSINSLOT "$slot")
	"${R[@]}" -h $IP0 -p 6379 DEL "$tag:1" "$tag:2" >/dev/null
	n2=$("${R[@]}" -h $IP0 -p 6379 CLUSTER COUNTKEYSINSLOT "$slot")
	check_eq "$((n1 - n0)) $((n2 - n0))" "5 3" "COUNTKEYSINSLOT $slot: +5 new keys (an overwrite not counted), -2 deleted"
else
	fail "no {cksN} tag hashes into shard0's slots"
fi

# nutcracker in front, configured from the slot map, for plain clients.
NC_CONF="$TB_WORK/nutcracker.yml"
if bash "$NET_REPO/scripts/kvs-nutcracker-conf.sh" "$MAP" "$TB_LINUX_IP:22121" >"$NC_CONF"; then
	bg_start "${LX[@]}" nutcracker -c "$NC_CONF" -s 22222 -a 127.0.0.1 -o "$TB_WORK/nutcracker.log"
	NC_PID=$BG_PID
	for _ in $(seq 50); do
		"${LX[@]}" redis-cli -h "$TB_LINUX_IP" -p 22121 PING >/dev/null 2>&1 && break
		sleep 0.1
	done
	"${R[@]}" -h "$TB_LINUX_IP" -p 22121 SET foo via-proxy >/dev/null
	out=$("${R[@]}" -h "$TB_LINUX_IP" -p 22121 GET foo)
	check_eq "$out" via-proxy "nutcracker: plain redis-cli SET/GET"
	out=$("${R[@]}" -c -h $IP0 -p 6379 GET foo)
	check_eq "$out" via-proxy "nutcracker wrote to the owner of the key's slot"
	run_bounded 120 "${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/kvs/cluster_client.py" proxy \
		"$TB_LINUX_IP" 22121
	check_rc $? "nutcracker: a key in each of the 16,384 slots, no -MOVED reply"
	bg_kill "$NC_PID"
	bg_forget "$NC_PID"
else
	fail "kvs-nutcracker-conf.sh refused the map"
fi

# SIGKILL one shard under load: the supervisor restarts it, it recovers
# its slice; the other two never fail a request.
LOAD_OUT="$TB_WORK/load.out"
bg_start "${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/kvs/cluster_client.py" load "$MAP" \
	"$LOAD_OUT" 20 >"$TB_WORK/load.log" 2>&1
LOAD_PID=$BG_PID
sleep 5
victim=$(cat "$TB_SHM/shard1.pid")
kill -KILL "$victim"
log "killed shard1 (pid $victim)"
if wait_log_count "$TB_SHM/shard1.log" '^paste-kvs: ready ' 2 60; then
	pass "the supervisor restarted shard1"
else
	fail "shard1 not restarted within 60 s"
	show_log "$SUP_LOG" 20
fi
bg_wait "$LOAD_PID"
check_rc $? "the load ran to its end"
sed 's/^/    /' "$TB_WORK/load.log"
check_eq "$(grep -c "^failed $IP0:6379 0$" "$TB_WORK/load.log")" 1 "shard0 never failed a request"
check_eq "$(grep -c "^failed $IP2:6379 0$" "$TB_WORK/load.log")" 1 "the other machine's node never failed a request"
run_bounded 120 "${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/kvs/cluster_client.py" verify \
	$IP0 6379 "$LOAD_OUT"
check_rc $? "every acknowledged key reads back after shard1's restart"

kill -TERM "$SUP_PID"
bg_wait "$SUP_PID"
check_eq "$(grep -c 'stopped$' "$SUP_LOG")" 2 "the supervisor stops both shards"

# With a password, authentication comes before redirection, as in Redis: a
# client that did not authenticate hears NOAUTH, not MOVED (which would
# tell it the key's slot and owner). The node on machine B, restarted
# with a password; "bar" (slot 5061) is shard0's.
kill -INT "$OTHER_PID" 2>/dev/null
bg_wait "$OTHER_PID" >/dev/null
printf 'cluster-pw\n' >"$TB_WORK/password"
OTHER_LOG="$TB_WORK/other-auth.log"
# shellcheck disable=SC2086
bg_start nsenter --net="/run/netns/$B-paste" "$KVS" -l 1 --file-prefix "kvs-other$$" $EAL \
	"--vdev=net_af_packet0,iface=$B-p,qpairs=1" -- --ip "$IP2/$TB_PREFIX_LEN" \
	--pool-file "$TB_SHM/other.pool" --pool-bufs 65536 --mbufs 2048 \
	--cluster-config "$MAP" --cluster-node other \
	--requirepass-file "$TB_WORK/password" >"$OTHER_LOG" 2>&1
OTHER_PID=$BG_PID
if wait_log "$OTHER_LOG" '^paste-kvs: ready ' 60; then
	out=$("${R[@]}" -h $IP2 -p 6379 GET bar)
	check_eq "$out" "NOAUTH Authentication required." "no password: NOAUTH before MOVED"
	out=$("${R[@]}" -h $IP2 -p 6379 GET foo)
	check_eq "$out" "NOAUTH Authentication required." "no password, a key of its own: NOAUTH"
	out=$("${R[@]}" --no-auth-warning -a cluster-pw -h $IP2 -p 6379 GET bar)
	check_eq "$out" "MOVED 5061 $IP0:6379" "authenticated: MOVED"
	out=$(printf 'AUTH wrong\r\nGET bar\r\n' | run_bounded 10 "${LX[@]}" redis-cli -h $IP2 -p 6379 2>&1 | tr -d '\r' | grep -v '^$' | tr '\n' ' ')
	check_eq "$out" "WRONGPASS invalid username-password pair or user is disabled. NOAUTH Authentication required. " "a wrong password: still NOAUTH"
	kill -INT "$OTHER_PID" 2>/dev/null
	bg_wait "$OTHER_PID" >/dev/null
else
	show_log "$OTHER_LOG" 20
	fail "the node on machine B did not restart with a password"
fi
tb_finish
