#!/bin/bash
# Suite 'net': 100 concurrent Linux TCP connections through paste's tcp-echo.
#
# tests/net/echo_client.py in the Linux namespace opens 100 connections to
# 198.18.0.1:5001 at once; each sends its own random bytes (64 KiB .. 1 MiB,
# seeded), half-closes, and reads while it sends. Asserts:
#   - every connection reads back exactly the bytes it sent, then EOF
#     (the client compares each byte as it arrives);
#   - paste-testpmd printed one "tcp-echo: conn <n> closed bytes=<B>" line
#     per connection, and the B's are the sizes the client sent;
#   - no connection error; clean exit, final statistics, lwip_asserts=0.
# Environment: PASTE_ECHO_CONNS (default 100), PASTE_ECHO_SEED (default 1).
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"
tb_require
[ -x "$PY" ] || skip "$PY not found"
tb_reap_stale

NAME=$(tb_unique_name e)
log "testbed $NAME"
tb_up "$NAME"

echo_run "$NAME" echo "${PASTE_ECHO_CONNS:-100}" 65536 1048576 "${PASTE_ECHO_SEED:-1}" 240

tb_finish
