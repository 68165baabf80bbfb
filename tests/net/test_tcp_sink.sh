#!/bin/bash
# Suite 'net': a Linux TCP client streams into paste's tcp-sink; every byte
# arrives, in place in the pool file, and is persisted.
#
# For each run, a file of random bytes is made once and hashed; netcat in the
# Linux namespace sends it to 198.18.0.1:5001 and half-closes (nc -N). The
# sink's line "tcp-sink: conn <n> from 198.18.0.2:<port> closed bytes=<B>
# sha256=<hex> persisted=<P> outside_pool=<K>" must give B = the file's size,
# the file's SHA-256, and outside_pool=0: the application saw every byte where
# the driver wrote it in the pool file (zero copy). Runs:
#   persist    (default)      P = B: every byte flushed before its ACK left
#   keep       (--keep)       P = B, and every segment's buffer kept as
#                             storage until the close (no "could not be kept")
#   no-persist (--no-persist) P = 0: the control, nothing flushed
# Each run ends with exit status 0, the final statistics, lwip_asserts=0 and
# rx_nobufs=0 (the pool never ran dry).
#
# Environment: PASTE_SINK_BYTES (default 256M; 1G for a long run),
# PASTE_SINK_KEEP_BYTES (default 32M: kept buffers stay in the pool, of
# 65,536 buffers, until the close).
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"
tb_require
command -v nc >/dev/null || skip "nc not found (netcat-openbsd)"
tb_reap_stale

SINK_BYTES=$(size_bytes "${PASTE_SINK_BYTES:-256M}")
KEEP_BYTES=$(size_bytes "${PASTE_SINK_KEEP_BYTES:-32M}")

NAME=$(tb_unique_name s)
log "testbed $NAME"
tb_up "$NAME"

sink_run "$NAME" persist "$SINK_BYTES" all
check_eq "$(stack_field rx_nobufs)" 0 "[persist] rx_nobufs"
sink_run "$NAME" keep "$KEEP_BYTES" all --keep
check_eq "$(stack_field rx_nobufs)" 0 "[keep] rx_nobufs"
sink_run "$NAME" no-persist "$(size_bytes 16M)" none --no-persist

tb_finish
