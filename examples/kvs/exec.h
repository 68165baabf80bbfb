/* SPDX-License-Identifier: BSD-3-Clause */
/* Executing requests, shared by paste-kvs and linux-kvs (bench/). */
#ifndef KVS_EXEC_H
#define KVS_EXEC_H

#include <stdint.h>

#include "store.h"
#include "stream.h"

/* Where a server's replies go. */
struct kv_out {
	void (*bytes)(void *ctx, const void *data, size_t len);
	/* The bytes of a stored value (paste-kvs: by name, zero copy). */
	void (*value)(void *ctx, const struct kv_value *v);
	/* Close the connection once the replies queued so far are out. */
	void (*close)(void *ctx);
	void *ctx;
	int *continue_sent;         /* per connection: HTTP 100 sent already */
};

struct kv_expiry;
struct kv_cluster;

struct kv_exec {
	struct kv_store *store;
	struct kv_expiry *expiry;   /* SET EX/PX deadlines (expiry.h) */
	int values_in_dram;         /* linux-kvs: stream bytes are in DRAM */
	/* Cluster mode (cluster.h): the slot map, NULL when off. Set after
	 * kv_exec_init(). */
	const struct kv_cluster *cluster;
	unsigned int n_conns;       /* maintained by the server, for INFO */
	uint64_t requests, bad_requests, bad_streams, expired;
};

int kv_exec_init(struct kv_exec *x, struct kv_store *store, int values_in_dram);
void kv_exec_fini(struct kv_exec *x);

/* Parse the request at the start of @rx and execute it, replying through
 * @out. Returns -1 when the request is incomplete (nothing done), else the
 * bytes it used (the caller consumes them; after a framing error that is 0
 * and @out->close was called). */
long kv_exec_next(struct kv_exec *x, const struct kv_stream *rx, int http,
		  const struct kv_out *out);

#endif /* KVS_EXEC_H */
