# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are for the tests that source it
# tests/objects/objects_lib.sh: paste-objects on the netns testbed and the
# stock S3 clients pointed at it, for the objects client, mount, crash and
# bad-input tests. Source after tests/net/lib.sh and tests/kvs/kvs_lib.sh,
# then call objects_testbed_up.
# OBJ_SERVER=linux-objects (a test's "linux" argument, objects_server_arg):
# the same checks against bench/linux-objects, the Linux-sockets build,
# run in the Linux namespace on its own address.
OBJ_SERVER=${OBJ_SERVER:-paste-objects}
OBJ="$BUILD_DIR/examples/paste-objects"
OBJ_POOL_BUFS=${OBJ_POOL_BUFS:-32768}
OBJ_ID=AKIAPASTECLIENTS01
OBJ_SECRET='paste/Clients+Key0123456789abcdefghijKLMN'

# objects_testbed_up LETTER [TOOL...]: the testbed (kvs_testbed_up), the
# keys file, and the client command prefixes: S3C (s3cmd), AWS (awscli),
# RCL (rclone, remote "po:"), BOTO (tests/objects/clients_boto3.py), all
# run in the Linux namespace and configured for path style and SigV4.
#
# The clients are kept on single PUTs here (multipart has tests of its
# own): s3cmd --disable-multipart, awscli's multipart_threshold raised to
# 1 GB in its config file, rclone's --s3-upload-cutoff above every file.
objects_testbed_up() {
	if [ "$OBJ_SERVER" = linux-objects ]; then
		OBJ="$BUILD_DIR/bench/linux-objects"
		[ -x "$OBJ" ] || skip "$OBJ not built (the Linux-sockets build is not in this tree)"
	fi
	[ -x "$OBJ" ] || die "$OBJ not built"
	/usr/bin/python3 -c "import boto3" 2>/dev/null || skip "python3-boto3 not installed (scripts/deps.sh)"
	[ -x /usr/bin/aws ] || skip "awscli not installed (scripts/deps.sh)"
	kvs_testbed_up "$@"
	IP=$TB_PASTE_IP
	[ "$OBJ_SERVER" = linux-objects ] && IP=$TB_LINUX_IP
	objects_keys "$OBJ_ID" "$OBJ_SECRET"
	S3C=("${LX[@]}" s3cmd -c "$TB_WORK/s3cfg" --disable-multipart --no-progress)
	cat >"$TB_WORK/awscfg" <<-CFG
	[default]
	region = us-east-1
	max_attempts = 1
	s3 =
	  addressing_style = path
	  multipart_threshold = 1GB
	CFG
	# The sandbox's AWS_CA_BUNDLE (HTTPS only) would stop awscli and rclone.
	AWS=("${LX[@]}" env -u AWS_CA_BUNDLE AWS_ACCESS_KEY_ID="$OBJ_ID"
		AWS_SECRET_ACCESS_KEY="$OBJ_SECRET" AWS_CONFIG_FILE="$TB_WORK/awscfg"
		AWS_SHARED_CREDENTIALS_FILE=/dev/null
		/usr/bin/aws --endpoint-url "http://$IP:9000")
	RCL_ENV=(env -u AWS_CA_BUNDLE RCLONE_CONFIG_PO_TYPE=s3 RCLONE_CONFIG_PO_PROVIDER=Other
		RCLONE_CONFIG_PO_ACCESS_KEY_ID="$OBJ_ID" RCLONE_CONFIG_PO_SECRET_ACCESS_KEY="$OBJ_SECRET"
		RCLONE_CONFIG_PO_ENDPOINT="http://$IP:9000" RCLONE_CONFIG_PO_REGION=us-east-1
		RCLONE_CONFIG_PO_FORCE_PATH_STYLE=true)
	RCL=("${LX[@]}" "${RCL_ENV[@]}" rclone --config /dev/null --retries 1
		--low-level-retries 2 --contimeout 5s --timeout 30s --s3-upload-cutoff 1G)
	BOTO=("${LX[@]}" /usr/bin/python3 "$NET_REPO/tests/objects/clients_boto3.py"
		"$IP:9000" "$OBJ_ID" "$OBJ_SECRET")
}

# objects_keys ID SECRET: the server's keys file ($TB_WORK/keys) and an
# s3cmd configuration for that key ($TB_WORK/s3cfg), path style, SigV4.
objects_keys() {
	printf '%s:%s\n' "$1" "$2" >"$TB_WORK/keys"
	chmod 600 "$TB_WORK/keys"
	cat >"$TB_WORK/s3cfg" <<-CFG
	[default]
	access_key = $1
	secret_key = $2
	host_base = $IP:9000
	host_bucket = $IP:9000
	use_https = False
	signature_v2 = False
	bucket_location = us-east-1
	CFG
}

# objects_cmd PREFIX POOL [OPTIONS...]: in OBJ_CMD, the command that runs
# $OBJ (OBJ_SERVER) on $TB_SHM/POOL with OBJ_POOL_BUFS buffers and the
# keys file: paste-objects in the paste namespace (EAL file prefix
# PREFIX), or linux-objects in the Linux one on its own address.
objects_cmd() {
	local prefix=$1 pool=$2
	shift 2
	if [ "$OBJ_SERVER" = linux-objects ]; then
		OBJ_CMD=(nsenter --net="/run/netns/$NAME-linux" "$OBJ" --bind "$IP"
			--pool-file "$TB_SHM/$pool" --pool-bufs "$OBJ_POOL_BUFS"
			--keys-file "$TB_WORK/keys" "$@")
		return
	fi
	TB_EAL_PREFIXES+=("$prefix")
	OBJ_CMD=(nsenter --net="/run/netns/$NAME-paste" "$OBJ"
		--no-huge -m 512 --no-pci --no-shconf --no-telemetry --iova-mode=va
		--file-prefix "$prefix" --log-level=lib.eal:error
		"--vdev=net_af_packet0,iface=$NAME-p,qpairs=1"
		-- --ip "$TB_PASTE_IP/$TB_PREFIX_LEN" --pool-file "$TB_SHM/$pool"
		--pool-bufs "$OBJ_POOL_BUFS" --keys-file "$TB_WORK/keys" "$@")
}

# objects_launch LOGTAG PREFIX POOL [OPTIONS...]: objects_cmd, then the
# server started with its log in $TB_WORK/LOGTAG.log (KVS_PID, KVS_LOG as
# kvs_launch sets them; stop it with stop_kvs); its recovered line logged.
objects_launch() {
	local tag=$1
	shift
	objects_cmd "$@"
	KVS_N=$((KVS_N + 1))
	KVS_LOG="$TB_WORK/$tag.log"
	log "start: ${OBJ_CMD[*]}"
	kvs_launch "$OBJ_SERVER" "${OBJ_CMD[@]}" || return 1
	log "$(grep -m1 "^$OBJ_SERVER: recovered" "$KVS_LOG")"
}

# objects_start TAG [OPTIONS...]: objects_launch on $TB_SHM/objects.pool,
# its log in $TB_WORK/objects-TAG.log.
objects_start() {
	local tag=$1
	shift
	objects_launch "objects-$tag" "pob$tag$$" objects.pool "$@"
}

# objects_checks WHAT LIMIT CMD...: a Python checker bounded to LIMIT
# seconds, its checks printed indented; passes when it exits 0 (the
# server's log shown otherwise).
objects_checks() {
	local what=$1 limit=$2 rc
	shift 2
	run_bounded "$limit" "$@" >"$TB_WORK/$what.log" 2>&1
	rc=$?
	sed 's/^/    /' "$TB_WORK/$what.log"
	check_rc $rc "$what" || show_log "$KVS_LOG" 40
}

# objects_client WHAT LIMIT ARGS...: objects_checks of "${CLIENT[@]}" ARGS.
objects_client() {
	local what=$1 limit=$2
	shift 2
	objects_checks "$what" "$limit" "${CLIENT[@]}" "$@"
}

# objects_run WHAT LIMIT CMD...: CMD bounded to LIMIT seconds, its output
# in $TB_WORK/WHAT.log and in OUT (the last 5 lines shown on failure);
# passes when it exits 0.
objects_run() {
	local what=$1 limit=$2 rc
	shift 2
	run_bounded "$limit" "$@" >"$TB_WORK/$what.log" 2>&1
	rc=$?
	OUT=$(cat "$TB_WORK/$what.log")
	if [ $rc -eq 0 ]; then
		pass "$what"
	else
		fail "$what (exit $rc): $(tail -n 5 "$TB_WORK/$what.log")"
	fi
	return $rc
}

# objects_py WHAT LIMIT MODE [ARGS]: a clients_boto3.py mode, its checks
# printed indented; passes when none failed.
objects_py() {
	local what=$1 limit=$2
	shift 2
	objects_checks "$what" "$limit" "${BOTO[@]}" "$@"
}

# objects_healthy WHAT: a fresh boto3 client stores, reads back and deletes
# an object (bounded: 60 s, boto3's start-up included, on a loaded machine).
objects_healthy() {
	objects_py "$1: the server still stores and serves" 60 healthy
}
