#!/bin/bash
# Suite 'net': paste-objects on the testbed (in progress: doc/objects.md),
# with stock S3 clients in the Linux namespace: boto3 (signed, unsigned, the
# wrong secret, key or region, presigned URLs through urllib), s3cmd,
# awscli and rclone.
# What it stores is nothing yet: ListBuckets is empty and every other
# operation NotImplemented, after its signature is checked.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/../kvs/kvs_lib.sh"
OBJ="$BUILD_DIR/examples/paste-objects"
[ -x "$OBJ" ] || die "$OBJ not built"
/usr/bin/python3 -c "import boto3" 2>/dev/null || skip "python3-boto3 not installed (scripts/deps.sh)"
[ -x /usr/bin/aws ] || skip "awscli not installed (scripts/deps.sh)"
kvs_testbed_up o s3cmd rclone
IP=$TB_PASTE_IP
ID=AKIAPASTETEST0001
SECRET='paste/Secret+Key0123456789abcdefghijKLMN'
printf '# paste-objects test keys\n%s:%s\n' "$ID" "$SECRET" >"$TB_WORK/keys"
chmod 600 "$TB_WORK/keys"

objects_cmd() {
	local prefix=$1
	shift
	TB_EAL_PREFIXES+=("$prefix")
	OBJ_CMD=(nsenter --net="/run/netns/$NAME-paste" "$OBJ"
		--no-huge -m 512 --no-pci --no-shconf --no-telemetry --iova-mode=va
		--file-prefix "$prefix" --log-level=lib.eal:error
		"--vdev=net_af_packet0,iface=$NAME-p,qpairs=1"
		-- --ip "$TB_PASTE_IP/$TB_PREFIX_LEN" --pool-file "$TB_SHM/objects.pool"
		--pool-bufs 16384 "$@")
}

# No keys, or a keys file that is not one: refused before anything starts.
objects_cmd "pobjk$$"
run_bounded 30 "${OBJ_CMD[@]}" >"$TB_WORK/nokeys.log" 2>&1
check_eq "$?" 1 "no access keys: exit 1"
printf 'AKIAONE\n' >"$TB_WORK/badkeys"
objects_cmd "pobjb$$" --keys-file "$TB_WORK/badkeys"
run_bounded 30 "${OBJ_CMD[@]}" >"$TB_WORK/badkeys.log" 2>&1
check_eq "$?" 1 "a malformed keys file: exit 1"
grep -q "badkeys:1:" "$TB_WORK/badkeys.log"
check_rc $? "a malformed keys file: the line is named"

objects_cmd "pobj$$" --keys-file "$TB_WORK/keys"
KVS_N=$((KVS_N + 1))
KVS_LOG="$TB_WORK/objects.log"
log "start: ${OBJ_CMD[*]:4}"
if kvs_launch paste-objects "${OBJ_CMD[@]}"; then
	run_bounded 120 "${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/objects/objects_client.py" \
		"$IP:9000" "$ID" "$SECRET" >"$TB_WORK/client.log" 2>&1
	rc=$?
	sed 's/^/    /' "$TB_WORK/client.log"
	check_rc $rc "boto3 and urllib checks" || show_log "$KVS_LOG" 60
	cat >"$TB_WORK/s3cfg" <<-CFG
	[default]
	access_key = $ID
	secret_key = $SECRET
	host_base = $IP:9000
	host_bucket = $IP:9000
	use_https = False
	signature_v2 = False
	bucket_location = us-east-1
	CFG
	out=$(run_bounded 60 "${LX[@]}" s3cmd -c "$TB_WORK/s3cfg" ls 2>&1)
	check_rc $? "s3cmd ls: exit 0 (no buckets) $out"
	out=$(run_bounded 60 "${LX[@]}" s3cmd -c "$TB_WORK/s3cfg" --secret_key=wrong ls 2>&1)
	rc=$?
	[ $rc -ne 0 ] && printf '%s' "$out" | grep -q SignatureDoesNotMatch
	check_rc $? "s3cmd with the wrong secret: SignatureDoesNotMatch (exit $rc)"
	# awscli (Debian's v2) and rclone, configured by their environment.
	aws=("${LX[@]}" env -u AWS_CA_BUNDLE AWS_ACCESS_KEY_ID="$ID" AWS_SECRET_ACCESS_KEY="$SECRET"
		AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_MAX_ATTEMPTS=1
		/usr/bin/aws --endpoint-url "http://$IP:9000")
	out=$(run_bounded 60 "${aws[@]}" s3api list-buckets --output json 2>&1)
	rc=$?
	[ $rc -eq 0 ] && printf '%s' "$out" | grep -q '"ID": "'"$ID"'"'
	check_rc $? "aws s3api list-buckets: the owner is the key (exit $rc)"
	out=$(run_bounded 60 "${aws[@]}" s3 ls 2>&1)
	check_rc $? "aws s3 ls: exit 0 (no buckets) $out"
	printf 'hello\n' >"$TB_WORK/hello.txt"
	out=$(run_bounded 60 "${aws[@]}" s3 cp "$TB_WORK/hello.txt" "s3://bkt/hello world.txt" 2>&1)
	rc=$?
	[ $rc -ne 0 ] && printf '%s' "$out" | grep -q NotImplemented
	check_rc $? "aws s3 cp: refused with NotImplemented (exit $rc)"
	rcl=("${LX[@]}" env -u AWS_CA_BUNDLE RCLONE_CONFIG_PO_TYPE=s3 RCLONE_CONFIG_PO_PROVIDER=Other
		RCLONE_CONFIG_PO_ACCESS_KEY_ID="$ID" RCLONE_CONFIG_PO_SECRET_ACCESS_KEY="$SECRET"
		RCLONE_CONFIG_PO_ENDPOINT="http://$IP:9000" RCLONE_CONFIG_PO_REGION=us-east-1
		RCLONE_CONFIG_PO_FORCE_PATH_STYLE=true
		rclone --config /dev/null --retries 1 --low-level-retries 1)
	out=$(run_bounded 60 "${rcl[@]}" lsd po: 2>&1)
	check_rc $? "rclone lsd: exit 0 (no buckets) $out"
	out=$(run_bounded 60 "${rcl[@]}" --s3-secret-access-key wrong lsd po: 2>&1)
	rc=$?
	[ $rc -ne 0 ] && printf '%s' "$out" | grep -q SignatureDoesNotMatch
	check_rc $? "rclone with the wrong secret: SignatureDoesNotMatch (exit $rc)"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "clean exit"
	line=$(grep '^objects: ' "$KVS_LOG")
	log "$line"
	# 12 from boto3 and urllib, 2 from s3cmd, at least 3 from awscli and
	# 2 from rclone; 10 + 3 of them refused at least.
	req=$(printf '%s' "$line" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
	check_ge "${req:-0}" 19 "the server counted the requests"
	ref=$(printf '%s' "$line" | sed -n 's/.*refused=\([0-9]*\).*/\1/p')
	check_ge "${ref:-0}" 13 "the server counted the refusals"
fi

# Timeouts: a client stopped mid-head, and one that says nothing, are
# aborted (1 s and 2 s here, checked within 15 s); a healthy one is served.
objects_cmd "pobjt$$" --keys-file "$TB_WORK/keys" --request-timeout 1 --timeout 2
KVS_N=$((KVS_N + 1))
KVS_LOG="$TB_WORK/objects-timeouts.log"
if kvs_launch paste-objects "${OBJ_CMD[@]}"; then
	out=$(run_bounded 40 "${LX[@]}" /usr/bin/python3 -c "
import socket, time
half = socket.create_connection(('$IP', 9000), timeout=20)
half.sendall(b'GET / HTTP/1.1\r\nHost: h\r\n')
quiet = socket.create_connection(('$IP', 9000), timeout=20)
start = time.monotonic()
closed = []
for s in (half, quiet):
    try:
        closed.append(s.recv(100) == b'')
    except ConnectionResetError:
        closed.append(True)
    except socket.timeout:
        closed.append(False)
late = time.monotonic() - start
ok = socket.create_connection(('$IP', 9000), timeout=10)
ok.sendall(b'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
reply = ok.recv(100)
print(closed[0], closed[1], late < 15, reply.startswith(b'HTTP/1.1 403 '))
" 2>&1)
	check_eq "$out" "True True True True" "timeouts: both idle clients aborted within 15 s, a new one served"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "clean exit after the timeouts"
	to=$(grep '^objects: ' "$KVS_LOG" | sed -n 's/.*timed_out=\([0-9]*\).*/\1/p')
	check_eq "${to:-}" 2 "the server counted two timeouts"
fi
tb_finish
