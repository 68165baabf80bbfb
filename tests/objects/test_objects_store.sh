#!/bin/bash
# Suite 'net': paste-objects storing buckets and objects (doc/objects.md),
# checked with boto3 from the Linux namespace: buckets, PUT/GET/HEAD/DELETE,
# ranges, conditions, metadata, odd keys, CopyObject,
# DeleteObjects, listings over 2,500 keys, objects
# of 0 B to 20 MB by MD5; a PUT larger than the pool refused before its
# body; kill -9 during parallel uploads, then every acknowledged object
# reads back with its MD5 and no partial object is listed. The first
# server compacts its log at a dead share of 10 % past 8 buffers, so that
# the restart after it reads a compacted log (its "log" line at exit must
# count compactions).
#
#   test_objects_store.sh [linux]: with "linux", the same scenarios against
#   bench/linux-objects (paste-objects's Linux-sockets build), run in the
#   Linux namespace on its own address: the same S3 answers, the same
#   recovery after kill -9 (meson test objects_store_linux).
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/../kvs/kvs_lib.sh"
# shellcheck source=tests/objects/objects_lib.sh
. "$(dirname "$0")/objects_lib.sh"
[ "${1:-}" = linux ] && OBJ_SERVER=linux-objects
objects_testbed_up "$([ "$OBJ_SERVER" = linux-objects ] && echo ol || echo os)" s3cmd rclone
ID=$OBJ_ID
SECRET=$OBJ_SECRET
CLIENT=("${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/objects/store_client.py" "$IP:9000" "$ID" "$SECRET")

if objects_launch objects "pos$$" objects.pool --log-compact 10 --log-compact-min 8; then
	objects_client basic 400 basic
	objects_client chunked 60 chunked
	objects_client copy 120 copy
	objects_client delete 120 delete
	objects_client multipart 120 multipart
	objects_client toolarge 60 toolarge $((OBJ_POOL_BUFS * 2176 + 1))
	# s3cmd: a bucket, a file put and got back, listed, deleted.
	s3c=("${LX[@]}" s3cmd -c "$TB_WORK/s3cfg")
	head -c 3000000 /dev/urandom >"$TB_WORK/s3cmd.bin"
	out=$(run_bounded 60 "${s3c[@]}" mb s3://s3cmd-bkt 2>&1)
	check_rc $? "s3cmd mb $out"
	out=$(run_bounded 60 "${s3c[@]}" put "$TB_WORK/s3cmd.bin" "s3://s3cmd-bkt/dir/a file.bin" 2>&1)
	check_rc $? "s3cmd put 3 MB $out"
	rm -f "$TB_WORK/s3cmd.back"
	out=$(run_bounded 60 "${s3c[@]}" get "s3://s3cmd-bkt/dir/a file.bin" "$TB_WORK/s3cmd.back" 2>&1)
	check_rc $? "s3cmd get $out"
	check_eq "$(sha_of "$TB_WORK/s3cmd.back")" "$(sha_of "$TB_WORK/s3cmd.bin")" "s3cmd: the file back whole"
	out=$(run_bounded 60 "${s3c[@]}" ls "s3://s3cmd-bkt/dir/" 2>&1)
	printf '%s' "$out" | grep -q "3000000 *s3://s3cmd-bkt/dir/a file.bin"
	check_rc $? "s3cmd ls lists it: $out"
	out=$(run_bounded 60 "${s3c[@]}" cp "s3://s3cmd-bkt/dir/a file.bin" "s3://s3cmd-bkt/dir/b.bin" 2>&1)
	check_rc $? "s3cmd cp (CopyObject) $out"
	rm -f "$TB_WORK/s3cmd.back"
	out=$(run_bounded 60 "${s3c[@]}" get "s3://s3cmd-bkt/dir/b.bin" "$TB_WORK/s3cmd.back" 2>&1)
	check_rc $? "s3cmd get of the copy $out"
	check_eq "$(sha_of "$TB_WORK/s3cmd.back")" "$(sha_of "$TB_WORK/s3cmd.bin")" "s3cmd: the copy back whole"
	out=$(run_bounded 60 "${s3c[@]}" del "s3://s3cmd-bkt/dir/a file.bin" "s3://s3cmd-bkt/dir/b.bin" 2>&1)
	check_rc $? "s3cmd del $out"
	out=$(run_bounded 60 "${s3c[@]}" rb s3://s3cmd-bkt 2>&1)
	check_rc $? "s3cmd rb $out"
	# rclone copy and check of a small tree (it needs path style, and
	# the sandbox's AWS_CA_BUNDLE unset).
	mkdir -p "$TB_WORK/tree/sub dir"
	head -c 2500000 /dev/urandom >"$TB_WORK/tree/big.bin"
	head -c 1000 /dev/urandom >"$TB_WORK/tree/sub dir/small.bin"
	: >"$TB_WORK/tree/empty"
	printf 'caf\xc3\xa9\n' >"$TB_WORK/tree/sub dir/caf\xc3\xa9.txt"
	rcl=("${LX[@]}" env -u AWS_CA_BUNDLE RCLONE_CONFIG_PO_TYPE=s3 RCLONE_CONFIG_PO_PROVIDER=Other
		RCLONE_CONFIG_PO_ACCESS_KEY_ID="$ID" RCLONE_CONFIG_PO_SECRET_ACCESS_KEY="$SECRET"
		RCLONE_CONFIG_PO_ENDPOINT="http://$IP:9000" RCLONE_CONFIG_PO_REGION=us-east-1
		RCLONE_CONFIG_PO_FORCE_PATH_STYLE=true
		rclone --config /dev/null --retries 1 --low-level-retries 1)
	out=$(run_bounded 120 "${rcl[@]}" copy "$TB_WORK/tree" po:rclone-bkt/tree 2>&1)
	check_rc $? "rclone copy of a small tree $out"
	out=$(run_bounded 120 "${rcl[@]}" check "$TB_WORK/tree" po:rclone-bkt/tree 2>&1)
	check_rc $? "rclone check: the tree matches (sizes and MD5s) $(printf '%s' "$out" | tail -n 3)"
	# The same remote: rclone copies server side (CopyObject).
	out=$(run_bounded 120 "${rcl[@]}" copy -v po:rclone-bkt/tree po:rclone-bkt/tree2 2>&1)
	check_rc $? "rclone server-side copy $(printf '%s' "$out" | tail -n 3)"
	printf '%s' "$out" | grep -q "Copied (server-side copy)"
	check_rc $? "rclone used server-side copies"
	out=$(run_bounded 120 "${rcl[@]}" check "$TB_WORK/tree" po:rclone-bkt/tree2 2>&1)
	check_rc $? "rclone check of the server-side copy $(printf '%s' "$out" | tail -n 3)"
	# awscli (Debian's v2): a file up and back.
	aws=("${LX[@]}" env -u AWS_CA_BUNDLE AWS_ACCESS_KEY_ID="$ID" AWS_SECRET_ACCESS_KEY="$SECRET"
		AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_MAX_ATTEMPTS=1
		/usr/bin/aws --only-show-errors --endpoint-url "http://$IP:9000")
	if [ -x /usr/bin/aws ]; then
		out=$(run_bounded 60 "${aws[@]}" s3 cp "$TB_WORK/s3cmd.bin" "s3://rclone-bkt/aws/x y.bin" 2>&1)
		check_rc $? "aws s3 cp up $out"
		rm -f "$TB_WORK/aws.back"
		out=$(run_bounded 60 "${aws[@]}" s3 cp "s3://rclone-bkt/aws/x y.bin" "$TB_WORK/aws.back" 2>&1)
		check_rc $? "aws s3 cp down $out"
		check_eq "$(sha_of "$TB_WORK/aws.back")" "$(sha_of "$TB_WORK/s3cmd.bin")" "awscli: the file back whole"
	fi
	stop_kvs INT
	check_eq "$KVS_RC" 0 "clean exit"
	line=$(grep -m1 '^objects: log ' "$KVS_LOG")
	n=$(printf '%s' "$line" | sed -n 's/.* compactions=\([0-9]*\) .*/\1/p')
	[ "${n:-0}" -gt 0 ]
	check_rc $? "the log compacted while serving: $line"
fi

# The same pool after a clean restart: what was stored is there.
if objects_launch objects-2 "pos2$$" objects.pool; then
	out=$(run_bounded 60 "${LX[@]}" /usr/bin/python3 -c "
import boto3, hashlib
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url='http://$IP:9000', aws_access_key_id='$ID',
    aws_secret_access_key='$SECRET', region_name='us-east-1',
    config=Config(signature_version='s3v4', s3={'addressing_style': 'path'}))
print(sorted(b['Name'] for b in s3.list_buckets()['Buckets']),
      s3.get_object(Bucket='bkt', Key='meta')['Metadata'],
      s3.head_object(Bucket='bkt', Key='size/20000000')['ContentLength'],
      s3.get_object(Bucket='many', Key='d4/f0499')['Body'].read())
src = hashlib.md5(s3.get_object(Bucket='bkt', Key='size/1048576')['Body'].read()).hexdigest()
cp = hashlib.md5(s3.get_object(Bucket='bkt', Key='copy-of-1m')['Body'].read()).hexdigest()
s3.delete_object(Bucket='bkt', Key='size/1048576')
after = hashlib.md5(s3.get_object(Bucket='bkt', Key='copy-of-1m')['Body'].read()).hexdigest()
print('copy', src == cp == after)
" 2>&1)
	check_eq "$out" "['big', 'bkt', 'chunks', 'many', 'rclone-bkt'] {'color': 'blue', 'owner-name': 'Ada'} 20000000 b'd4/f0499'
copy True" \
		"after a restart: buckets, metadata and objects back; a copy reads back, also once its source is deleted"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "clean exit after the restart"
fi

# kill -9 during parallel uploads, then recovery.
: >"$TB_WORK/acked"
if objects_launch objects-3 "pos3$$" objects.pool; then
	run_bounded 90 "${CLIENT[@]}" upload "$TB_WORK" 4 >"$TB_WORK/upload.log" 2>&1 &
	up=$!
	TB_BG_PIDS+=("$up")
	sleep 8
	stop_kvs KILL
	wait "$up" 2>/dev/null
	bg_forget "$up"
	log "$(wc -l <"$TB_WORK/acked") uploads acknowledged before the kill"
	if objects_launch objects-4 "pos4$$" objects.pool; then
		objects_client verify 300 verify "$TB_WORK"
		stop_kvs INT
		check_eq "$KVS_RC" 0 "clean exit after recovery"
	fi
fi
tb_finish
