#!/bin/bash
# Suite 'net': stock S3 clients against paste-objects on the testbed, each
# through its own command line (doc/objects.md, "Clients"):
# - s3cmd: mb, put, get, ls, del, and sync of a directory tree both ways;
# - awscli: s3 cp/ls/rm/sync; s3api put-object, get-object --range,
#   list-objects-v2 paged by hand with its continuation token;
# - boto3 (s3v4): presigned GET and PUT, 2,500 keys paged, DeleteObjects,
#   keys with spaces, '+', non-ASCII and '//' (clients_boto3.py boto3);
# - rclone: copy, sync and check (MD5) of a tree of 1,000 files from 0 B to
#   20 MB, then the tree back and diff -r.
# Single PUTs only (multipart has tests of its own): s3cmd
# --disable-multipart, awscli's multipart_threshold at 1 GB, rclone's
# --s3-upload-cutoff at 1 G (objects_lib.sh).
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/../kvs/kvs_lib.sh"
[ "${1:-}" = linux ] && OBJ_SERVER=linux-objects
# shellcheck source=tests/objects/objects_lib.sh
. "$(dirname "$0")/objects_lib.sh"
OBJ_POOL_BUFS=131072    # 285 MB: the rclone tree (~60 MB) twice, with room
objects_testbed_up "$([ "$OBJ_SERVER" = linux-objects ] && echo cl || echo c)" s3cmd rclone
W=$TB_WORK

s3cmd_checks() {
	mkdir -p "$W/s3tree/a b/c+d" "$W/s3tree/caf$(printf '\xc3\xa9')" "$W/s3tree/e"
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		head -c $((i * 3000)) /dev/urandom >"$W/s3tree/a b/c+d/f$i.bin"
		head -c $((i * 100)) /dev/urandom >"$W/s3tree/caf$(printf '\xc3\xa9')/g $i"
	done
	: >"$W/s3tree/e/empty"
	head -c 3000000 /dev/urandom >"$W/s3tree/big.bin"
	objects_run "s3cmd mb" 120 "${S3C[@]}" mb s3://s3cmd || return
	objects_run "s3cmd put 3 MB (single PUT)" 120 "${S3C[@]}" put "$W/s3tree/big.bin" "s3://s3cmd/one/big file.bin"
	rm -f "$W/s3cmd.back"
	objects_run "s3cmd get" 120 "${S3C[@]}" get "s3://s3cmd/one/big file.bin" "$W/s3cmd.back"
	check_eq "$(sha_of "$W/s3cmd.back")" "$(sha_of "$W/s3tree/big.bin")" "s3cmd get: the file back whole"
	objects_run "s3cmd ls" 120 "${S3C[@]}" ls "s3://s3cmd/one/"
	printf '%s' "$OUT" | grep -q "3000000 *s3://s3cmd/one/big file.bin"
	check_rc $? "s3cmd ls: the object with its size"
	objects_run "s3cmd sync up" 120 "${S3C[@]}" sync "$W/s3tree/" s3://s3cmd/tree/
	objects_run "s3cmd ls -r" 120 "${S3C[@]}" ls -r s3://s3cmd/tree/
	check_eq "$(printf '%s\n' "$OUT" | grep -c 's3://s3cmd/tree/')" 22 "s3cmd ls -r: the 22 files of the tree"
	# A second sync sends only what changed: one file changed, one removed
	# (with its directory: S3 has no empty directories).
	head -c 777 /dev/urandom >"$W/s3tree/a b/c+d/f3.bin"
	rm -r "$W/s3tree/e"
	objects_run "s3cmd sync --delete-removed" 120 "${S3C[@]}" sync --delete-removed "$W/s3tree/" s3://s3cmd/tree/
	printf '%s' "$OUT" | grep -q "f3.bin" && ! printf '%s' "$OUT" | grep -q "f4.bin"
	check_rc $? "s3cmd sync: the changed file sent, the others not"
	rm -rf "$W/s3back"
	mkdir -p "$W/s3back"
	objects_run "s3cmd sync down" 120 "${S3C[@]}" sync s3://s3cmd/tree/ "$W/s3back/"
	diff -r "$W/s3tree" "$W/s3back" >"$W/s3diff" 2>&1
	check_rc $? "s3cmd: the tree back equals the source (diff -r) $(head -n 3 "$W/s3diff")"
	objects_run "s3cmd del" 120 "${S3C[@]}" del "s3://s3cmd/one/big file.bin"
	objects_run "s3cmd ls after del" 120 "${S3C[@]}" ls "s3://s3cmd/one/"
	check_eq "$OUT" "" "s3cmd ls: nothing left under one/"
}

aws_checks() {
	objects_run "aws s3 mb" 120 "${AWS[@]}" s3 mb s3://awscli || return
	objects_run "aws s3 cp up (3 MB)" 120 "${AWS[@]}" s3 cp "$W/s3tree/big.bin" "s3://awscli/x y+z.bin"
	rm -f "$W/aws.back"
	objects_run "aws s3 cp down" 120 "${AWS[@]}" s3 cp "s3://awscli/x y+z.bin" "$W/aws.back"
	check_eq "$(sha_of "$W/aws.back")" "$(sha_of "$W/s3tree/big.bin")" "aws s3 cp: the file back whole"
	objects_run "aws s3 ls" 120 "${AWS[@]}" s3 ls s3://awscli/
	printf '%s' "$OUT" | grep -q " 3000000 x y+z.bin"
	check_rc $? "aws s3 ls: the object with its size ($OUT)"
	objects_run "aws s3 sync up" 120 "${AWS[@]}" s3 sync "$W/s3tree" s3://awscli/tree
	rm -rf "$W/awsback"
	objects_run "aws s3 sync down" 120 "${AWS[@]}" s3 sync s3://awscli/tree "$W/awsback"
	diff -r "$W/s3tree" "$W/awsback" >"$W/awsdiff" 2>&1
	check_rc $? "aws s3 sync: the tree back equals the source (diff -r) $(head -n 3 "$W/awsdiff")"
	rm "$W/s3tree/a b/c+d/f1.bin"
	objects_run "aws s3 sync --delete" 120 "${AWS[@]}" s3 sync --delete "$W/s3tree" s3://awscli/tree
	objects_run "aws s3 ls --recursive" 120 "${AWS[@]}" s3 ls --recursive s3://awscli/tree/
	check_eq "$(printf '%s\n' "$OUT" | grep -c ' tree/')" 20 "aws s3 sync --delete: 20 files left"
	printf '%s' "$OUT" | grep -q 'f1.bin'
	check_rc $((!$?)) "aws s3 sync --delete: the removed file gone"
	objects_run "aws s3 rm" 120 "${AWS[@]}" s3 rm "s3://awscli/x y+z.bin"
	objects_run "aws s3 ls after rm" 120 "${AWS[@]}" s3 ls s3://awscli/
	printf '%s' "$OUT" | grep -q 'x y+z.bin'
	check_rc $((!$?)) "aws s3 rm: the object gone"
	# s3api: put-object, get-object with ranges, list-objects-v2 by hand.
	head -c 100000 /dev/urandom >"$W/api.bin"
	objects_run "aws s3api put-object" 120 "${AWS[@]}" s3api put-object --bucket awscli \
		--key "api/o bj" --body "$W/api.bin" --content-type text/x-test --metadata k=v --output json
	printf '%s' "$OUT" | grep -q "\"ETag\": \"\\\\\"$(md5sum "$W/api.bin" | cut -c1-32)\\\\\"\""
	check_rc $? "aws s3api put-object: the ETag is the MD5"
	local rng want out rc
	for rng in 0-99 99990-99999 50000- -10; do
		rm -f "$W/api.part"
		objects_run "aws s3api get-object --range bytes=$rng" 120 "${AWS[@]}" s3api get-object \
			--bucket awscli --key "api/o bj" --range "bytes=$rng" --output json "$W/api.part"
		case $rng in
		-*) want=$(tail -c "${rng#-}" "$W/api.bin" | sha256sum | cut -d' ' -f1) ;;
		*-) want=$(tail -c +$((${rng%-} + 1)) "$W/api.bin" | sha256sum | cut -d' ' -f1) ;;
		*) want=$(tail -c +$((${rng%-*} + 1)) "$W/api.bin" | head -c $((${rng#*-} - ${rng%-*} + 1)) |
			sha256sum | cut -d' ' -f1) ;;
		esac
		check_eq "$(sha_of "$W/api.part")" "$want" "aws s3api get-object --range bytes=$rng: those bytes"
		printf '%s' "$OUT" | grep -q '"ContentRange": "bytes '
		check_rc $? "aws s3api get-object --range bytes=$rng: a Content-Range"
	done
	out=$(run_bounded 120 "${AWS[@]}" s3api get-object --bucket awscli --key "api/o bj" \
		--range "bytes=100000-" "$W/api.part" 2>&1)
	rc=$?
	[ $rc -ne 0 ] && printf '%s' "$out" | grep -q InvalidRange
	check_rc $? "aws s3api get-object --range past the end: InvalidRange (exit $rc)"
	objects_run "aws s3api head-object" 120 "${AWS[@]}" s3api head-object --bucket awscli --key "api/o bj" --output json
	printf '%s' "$OUT" | grep -q '"ContentType": "text/x-test"' && printf '%s' "$OUT" | grep -q '"k": "v"'
	check_rc $? "aws s3api head-object: the content type and metadata"
	# list-objects-v2 in pages of 7, following NextContinuationToken.
	local token="" page=0
	: >"$W/api.keys"
	while [ $page -lt 20 ]; do
		page=$((page + 1))
		local args=(s3api list-objects-v2 --bucket awscli --prefix tree/ --max-keys 7 --no-paginate --output json)
		[ -n "$token" ] && args+=(--continuation-token "$token")
		objects_run "aws s3api list-objects-v2 page $page" 120 "${AWS[@]}" "${args[@]}" || break
		printf '%s' "$OUT" | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
for o in r.get("Contents", []):
    print(o["Key"])
' >>"$W/api.keys"
		token=$(printf '%s' "$OUT" | /usr/bin/python3 -c '
import json, sys
print(json.load(sys.stdin).get("NextContinuationToken", ""))')
		[ -n "$token" ] || break
	done
	check_eq "$page" 3 "aws s3api list-objects-v2: 20 keys in pages of 7: 3 pages"
	objects_run "aws s3api list-objects-v2 whole" 120 "${AWS[@]}" s3api list-objects-v2 --bucket awscli \
		--prefix tree/ --query 'Contents[].Key' --output text
	check_eq "$(tr '\n' ' ' <"$W/api.keys")" "$(printf '%s\n' "$OUT" | tr '\t' '\n' | LC_ALL=C sort | tr '\n' ' ')" \
		"aws s3api list-objects-v2: the pages hold every key once, in byte order"
}

rclone_checks() {
	local total
	total=$(/usr/bin/python3 "$NET_REPO/tests/objects/make_tree.py" "$W/rtree" 1000 20000000 25)
	log "rclone tree: 1000 files, $total bytes"
	objects_run "rclone copy of 1,000 files" 240 "${RCL[@]}" copy --transfers 4 "$W/rtree" po:rclone/tree
	objects_run "rclone check (sizes and MD5)" 120 "${RCL[@]}" check "$W/rtree" po:rclone/tree
	printf '%s' "$OUT" | grep -q "1000 matching files"
	check_rc $? "rclone check: 1000 matching files ($(tail -n 1 "$W/rclone check (sizes and MD5).log"))"
	# Change the tree: 5 files rewritten, 5 removed, 5 added; sync mirrors it.
	local i
	for i in 10 20 30 40 50; do
		head -c $((i * 1000)) /dev/urandom >"$(find "$W/rtree" -name "f 00$i+x.bin")"
		rm "$(find "$W/rtree" -name "f 01$i+x.bin")"
		head -c $((i * 1000 + 1)) /dev/urandom >"$W/rtree/d1/new $i.bin"
	done
	objects_run "rclone sync" 240 "${RCL[@]}" sync -v "$W/rtree" po:rclone/tree
	check_eq "$(grep -c ': Copied (new)\|: Copied (replaced existing)' "$W/rclone sync.log")" 10 \
		"rclone sync: 10 files sent (5 new, 5 changed), the others not"
	check_eq "$(grep -c ': Deleted' "$W/rclone sync.log")" 5 "rclone sync: 5 deleted"
	objects_run "rclone check after sync" 120 "${RCL[@]}" check "$W/rtree" po:rclone/tree
	printf '%s' "$OUT" | grep -q "1000 matching files"
	check_rc $? "rclone check after sync: 1000 matching files"
	rm -rf "$W/rback"
	objects_run "rclone copy back" 240 "${RCL[@]}" copy --transfers 4 po:rclone/tree "$W/rback"
	diff -r "$W/rtree" "$W/rback" >"$W/rdiff" 2>&1
	check_rc $? "rclone: the tree back equals the source (diff -r) $(head -n 3 "$W/rdiff")"
	rm -rf "$W/rback"
}

if objects_start c; then
	s3cmd_checks
	aws_checks
	objects_py "boto3: presigned URLs, odd keys, 2,500 keys paged, DeleteObjects" 300 boto3
	rclone_checks
	objects_healthy "after the clients"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "clean exit"
	log "$(grep '^objects: ' "$KVS_LOG")"
fi
tb_finish
