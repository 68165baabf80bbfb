#!/bin/bash
# Suite 'net': paste-objects given bad input (tests/objects/clients_boto3.py
# bad): malformed XML and heads, wrong signatures, expired and tampered
# presigned URLs, ranges out of bounds, bodies shorter or longer than their
# Content-Length. Each gets its S3 error, nothing is stored, and a fresh
# client is served after them; the server then exits cleanly.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
# shellcheck source=tests/kvs/kvs_lib.sh
. "$(dirname "$0")/../kvs/kvs_lib.sh"
[ "${1:-}" = linux ] && OBJ_SERVER=linux-objects
# shellcheck source=tests/objects/objects_lib.sh
. "$(dirname "$0")/objects_lib.sh"
objects_testbed_up "$([ "$OBJ_SERVER" = linux-objects ] && echo bl || echo b)"
# A short request timeout: a body cut short, then silence, is aborted
# within the client's 50 s.
if objects_start bad --request-timeout 5; then
	objects_py "bad input" 180 bad
	objects_healthy "after the bad input"
	stop_kvs INT
	check_eq "$KVS_RC" 0 "clean exit"
	line=$(grep '^objects: ' "$KVS_LOG")
	log "$line"
fi
tb_finish
