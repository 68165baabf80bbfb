#!/bin/bash
# Count the results in a meson testlog.json: prints "PASSED FAILED SKIPPED".
# Used by test.sh; separate so the counting can be tested on a hand-made log.
#
#   scripts/summarize-testlog.sh build/meson-logs/testlog.json
#
# Each line of the log is one JSON object with a "result" field. OK and
# EXPECTEDFAIL count as passed, SKIP as skipped; FAIL, TIMEOUT,
# UNEXPECTEDPASS, ERROR and any result this script does not know count as
# failed, so that a new meson result can never turn a failure into a pass.
set -euo pipefail

log=${1:?usage: summarize-testlog.sh TESTLOG_JSON}
jq -rn '
	[inputs | .result] as $r
	| [ ($r | map(select(. == "OK" or . == "EXPECTEDFAIL")) | length),
	    ($r | map(select(. != "OK" and . != "EXPECTEDFAIL" and . != "SKIP")) | length),
	    ($r | map(select(. == "SKIP")) | length) ]
	| @tsv' "$log"
