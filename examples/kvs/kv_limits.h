/* SPDX-License-Identifier: BSD-3-Clause */
/* paste-kvs: the sizes its parsers, store and indexes agree on. */
#ifndef KV_LIMITS_H
#define KV_LIMITS_H

#include <stddef.h>

#define KV_KEY_MAX 250            /* bytes; longer keys get an error reply */
#define KV_VALUE_MAX (1u << 20)   /* bytes; larger values get an error reply */
#define KV_VALUE_NAMES_MAX 1024   /* names per value (1 MiB / 1 KiB segments; a
                                   * value in more is copied, exec.c) */

/* Values whose length is declared before their bytes arrive are reserved
 * against the store from this size on (exec.c); smaller ones, which a
 * connection's window holds many times over, are checked when stored:
 * reserving each cost a pipelined 1 KiB SET 3-5% more instructions. */
#define KV_RESERVE_MIN (16u * 1024)

/* What a client may declare, checked by the parsers as soon as the length
 * is read, before any byte of it is kept (options of both servers). */
struct kv_limits {
	/* Redis's proto-max-bulk-len: a longer RESP bulk string is a protocol
	 * error, a longer HTTP Content-Length a 413. At most KV_VALUE_MAX: the
	 * most one value's names can describe. */
	size_t max_bulk;
	/* A transaction (MULTI ... EXEC, multi.c): at most this many commands
	 * and bytes of requests queued; past either, the command is refused
	 * and EXEC aborts. Queued bytes stay in pool buffers until EXEC or
	 * DISCARD, as stored values do. */
	unsigned int multi_max_cmds;
	size_t multi_max_bytes;
};

#define KV_MULTI_MAX_CMDS_DEFAULT 4096
#define KV_MULTI_MAX_BYTES_DEFAULT (16u << 20)

#define KV_LIMITS_DEFAULT { .max_bulk = KV_VALUE_MAX,                  \
	.multi_max_cmds = KV_MULTI_MAX_CMDS_DEFAULT,                    \
	.multi_max_bytes = KV_MULTI_MAX_BYTES_DEFAULT }

#endif /* KV_LIMITS_H */
