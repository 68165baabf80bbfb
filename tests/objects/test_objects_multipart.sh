#!/bin/bash
# Suite 'net': paste-objects's multipart uploads (doc/objects.md,
# "Multipart uploads") with real clients from the Linux namespace: boto3
# (every operation and its errors, ListMultipartUploads's CommonPrefixes and
# paging, UploadPartCopy, tests/objects/mpu_client.py), s3cmd put
# of 40 MB (15 MB parts), awscli `s3 cp` (8 MB parts) and `s3api`
# create / upload-part / list-parts / complete, rclone with its MD5 in
# x-amz-meta-md5chksum; an upload left unfinished listed after a kill -9
# and restart, then completed; kill -9 during parallel multipart uploads
# (acknowledged objects whole, nothing partial listed); the uploads quota
# and expiry (across a restart, then live); parts still arriving counted
# toward the bytes quota. Every object read back is
# compared by MD5 or SHA-256.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/../kvs/kvs_lib.sh"
# shellcheck source=tests/objects/objects_lib.sh
. "$(dirname "$0")/objects_lib.sh"
OBJ_POOL_BUFS=131072    # 285 MB: a 40 MB object and its parts fit twice
objects_testbed_up om s3cmd rclone
ID=$OBJ_ID
SECRET=$OBJ_SECRET
CLIENT=("${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/objects/mpu_client.py" "$IP:9000" "$ID" "$SECRET")

aws=("${LX[@]}" env -u AWS_CA_BUNDLE AWS_ACCESS_KEY_ID="$ID" AWS_SECRET_ACCESS_KEY="$SECRET"
	AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_MAX_ATTEMPTS=1
	/usr/bin/aws --endpoint-url "http://$IP:9000")

if objects_launch objects "pom$$" objects.pool; then
	objects_client basic 300 basic
	objects_client listing 120 listing
	objects_client partcopy 180 partcopy
	# s3cmd: 40 MB in its default 15 MB parts.
	s3c=("${LX[@]}" s3cmd -c "$TB_WORK/s3cfg")
	head -c 40000000 /dev/urandom >"$TB_WORK/big.bin"
	out=$(run_bounded 60 "${s3c[@]}" mb s3://tools 2>&1)
	check_rc $? "s3cmd mb $out"
	out=$(run_bounded 180 "${s3c[@]}" put "$TB_WORK/big.bin" "s3://tools/s3cmd/big.bin" 2>&1)
	check_rc $? "s3cmd put of 40 MB $(printf '%s' "$out" | tail -n 3)"
	etag=$(run_bounded 120 "${CLIENT[@]}" etag tools s3cmd/big.bin 2>&1)
	check_eq "${etag##*-}" '3"' "s3cmd uploaded it in 3 parts of 15 MiB ($etag)"
	rm -f "$TB_WORK/back"
	out=$(run_bounded 180 "${s3c[@]}" get "s3://tools/s3cmd/big.bin" "$TB_WORK/back" 2>&1)
	check_rc $? "s3cmd get $(printf '%s' "$out" | tail -n 2)"
	check_eq "$(sha_of "$TB_WORK/back")" "$(sha_of "$TB_WORK/big.bin")" "s3cmd: 40 MB back whole"
	# awscli: s3 cp with its default 8 MB parts, then s3api by hand.
	if [ -x /usr/bin/aws ]; then
		out=$(run_bounded 180 "${aws[@]}" s3 cp --only-show-errors "$TB_WORK/big.bin" "s3://tools/aws/big.bin" 2>&1)
		check_rc $? "aws s3 cp up (multipart) $out"
		etag=$(run_bounded 180 "${aws[@]}" s3api head-object --bucket tools --key aws/big.bin \
			--query ETag --output text 2>&1)
		check_eq "${etag##*-}" '5"' "aws s3 cp: 5 parts of 8 MB ($etag)"
		rm -f "$TB_WORK/back"
		out=$(run_bounded 180 "${aws[@]}" s3 cp --only-show-errors "s3://tools/aws/big.bin" "$TB_WORK/back" 2>&1)
		check_rc $? "aws s3 cp down $out"
		check_eq "$(sha_of "$TB_WORK/back")" "$(sha_of "$TB_WORK/big.bin")" "awscli: 40 MB back whole"
		head -c 6000000 "$TB_WORK/big.bin" >"$TB_WORK/p1"
		tail -c +6000001 "$TB_WORK/big.bin" | head -c 3000000 >"$TB_WORK/p2"
		uid=$(run_bounded 180 "${aws[@]}" s3api create-multipart-upload --bucket tools \
			--key api/obj --content-type text/plain --metadata k=v --query UploadId --output text 2>&1)
		check_rc $? "aws s3api create-multipart-upload $uid"
		e1=$(run_bounded 180 "${aws[@]}" s3api upload-part --bucket tools --key api/obj \
			--part-number 1 --upload-id "$uid" --body "$TB_WORK/p1" --query ETag --output text 2>&1)
		e2=$(run_bounded 180 "${aws[@]}" s3api upload-part --bucket tools --key api/obj \
			--part-number 2 --upload-id "$uid" --body "$TB_WORK/p2" --query ETag --output text 2>&1)
		check_eq "$e1 $e2" "\"$(md5sum <"$TB_WORK/p1" | cut -c1-32)\" \"$(md5sum <"$TB_WORK/p2" | cut -c1-32)\"" \
			"aws s3api upload-part: ETags are the parts' MD5s"
		out=$(run_bounded 180 "${aws[@]}" s3api list-parts --bucket tools --key api/obj \
			--upload-id "$uid" --query 'Parts[].[PartNumber,Size]' --output text 2>&1)
		check_eq "$(printf '%s' "$out" | tr -s '\t\n' '  ')" "1 6000000 2 3000000" "aws s3api list-parts"
		printf '{"Parts":[{"PartNumber":1,"ETag":%s},{"PartNumber":2,"ETag":%s}]}' \
			"$(printf '%s' "$e1" | sed 's/"/\\"/g; s/.*/"&"/')" \
			"$(printf '%s' "$e2" | sed 's/"/\\"/g; s/.*/"&"/')" >"$TB_WORK/parts.json"
		out=$(run_bounded 180 "${aws[@]}" s3api complete-multipart-upload --bucket tools \
			--key api/obj --upload-id "$uid" --multipart-upload "file://$TB_WORK/parts.json" 2>&1)
		check_rc $? "aws s3api complete-multipart-upload $out"
		rm -f "$TB_WORK/back"
		out=$(run_bounded 180 "${aws[@]}" s3api get-object --bucket tools --key api/obj \
			"$TB_WORK/back" --query '[ContentType,Metadata.k]' --output text 2>&1)
		check_eq "$(printf '%s' "$out" | tr '\t' ' ')" "text/plain v" "aws s3api get-object: type and metadata"
		check_eq "$(sha_of "$TB_WORK/back")" "$(head -c 9000000 "$TB_WORK/big.bin" | sha256sum | cut -d' ' -f1)" \
			"aws s3api: the completed object back whole"
	fi
	# rclone, multipart from 5 MB: its MD5 kept in x-amz-meta-md5chksum.
	rcl=("${LX[@]}" env -u AWS_CA_BUNDLE RCLONE_CONFIG_PO_TYPE=s3 RCLONE_CONFIG_PO_PROVIDER=Other
		RCLONE_CONFIG_PO_ACCESS_KEY_ID="$ID" RCLONE_CONFIG_PO_SECRET_ACCESS_KEY="$SECRET"
		RCLONE_CONFIG_PO_ENDPOINT="http://$IP:9000" RCLONE_CONFIG_PO_REGION=us-east-1
		RCLONE_CONFIG_PO_FORCE_PATH_STYLE=true
		rclone --config /dev/null --retries 1 --low-level-retries 1
		--s3-upload-cutoff 5M --s3-chunk-size 5M)
	out=$(run_bounded 180 "${rcl[@]}" copyto "$TB_WORK/big.bin" po:tools/rclone/big.bin 2>&1)
	check_rc $? "rclone copyto (multipart) $(printf '%s' "$out" | tail -n 3)"
	out=$(run_bounded 120 "${rcl[@]}" md5sum po:tools/rclone/big.bin 2>&1)
	check_eq "${out%% *}" "$(md5sum <"$TB_WORK/big.bin" | cut -c1-32)" \
		"rclone md5sum: its x-amz-meta-md5chksum kept from the creation"
	out=$(run_bounded 180 "${rcl[@]}" check "$TB_WORK/big.bin" po:tools/rclone/ 2>&1)
	check_rc $? "rclone check $(printf '%s' "$out" | tail -n 2)"
	# An upload left unfinished, then kill -9.
	objects_client pending 120 pending "$TB_WORK"
	stop_kvs KILL
else
	stop_kvs KILL
fi

if objects_launch objects-2 "pom2$$" objects.pool; then
	objects_client pending_check 120 pending_check "$TB_WORK"
	rm -f "$TB_WORK/back"
	out=$(run_bounded 180 "${aws[@]}" s3 cp --only-show-errors "s3://tools/aws/big.bin" "$TB_WORK/back" 2>&1)
	check_eq "$(sha_of "$TB_WORK/back")" "$(sha_of "$TB_WORK/big.bin")" "after the kill: the multipart object back whole"
	# Room in the pool for the crash test: the tools' objects deleted.
	out=$(run_bounded 180 "${aws[@]}" s3 rm --only-show-errors --recursive s3://tools 2>&1)
	check_rc $? "aws s3 rm --recursive $out"
	# kill -9 during 4 threads of multipart uploads.
	: >"$TB_WORK/acked"
	run_bounded 90 "${CLIENT[@]}" upload "$TB_WORK" 4 >"$TB_WORK/upload.log" 2>&1 &
	up=$!
	TB_BG_PIDS+=("$up")
	sleep 10
	stop_kvs KILL
	wait "$up" 2>/dev/null
	bg_forget "$up"
	tail -n 3 "$TB_WORK/upload.log" | sed 's/^/    /'
	log "$(wc -l <"$TB_WORK/acked") multipart uploads acknowledged before the kill"
	if objects_launch objects-3 "pom3$$" objects.pool; then
		objects_client verify 300 verify "$TB_WORK"
		stop_kvs INT
		check_eq "$KVS_RC" 0 "clean exit after recovery"
	else
		stop_kvs KILL
	fi
else
	stop_kvs KILL
fi

# The quota and the expiry, on a pool of their own. The expiry is checked
# across a restart (no race with a clock), then on the running server
# (bounded wait).
QOPTS=(--mpu-max-uploads 3 --mpu-max-bytes 12000000)
if objects_launch objects-4 "pom4$$" quota.pool "${QOPTS[@]}"; then
	objects_client quota 120 quota "$TB_WORK"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "clean exit"
else
	stop_kvs KILL
fi
sleep 2
if objects_launch objects-5 "pom5$$" quota.pool "${QOPTS[@]}" --mpu-expiry 1; then
	grep -q '^paste-objects: uploads unfinished=0 ' "$KVS_LOG"
	check_rc $? "the three uploads expired at start: $(grep -m1 '^paste-objects: uploads' "$KVS_LOG")"
	objects_client expired 120 expired "$TB_WORK"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "clean exit"
	grep -q '^objects: .*mpu_expired=4 ' "$KVS_LOG"
	check_rc $? "four uploads expired: $(grep '^objects: ' "$KVS_LOG")"
else
	stop_kvs KILL
fi
if objects_launch objects-6 "pom6$$" quota.pool "${QOPTS[@]}"; then
	objects_client room 120 room
	objects_client arriving 120 arriving
	stop_kvs INT
	check_eq "$KVS_RC" 0 "clean exit"
else
	stop_kvs KILL
fi
tb_finish
