/* SPDX-License-Identifier: BSD-3-Clause */
/* Executing requests, shared by paste-kvs and linux-kvs (bench/). */
#ifndef KVS_EXEC_H
#define KVS_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "kv_limits.h"
#include "store.h"
#include "stream.h"

/* Per connection, zeroed at its start: the store's room promised to the
 * values of the request still arriving, or what is left to discard of a
 * request refused before its value arrived. */
struct kv_upload {
	uint64_t reserved;          /* buffers reserved (kv_store_reserve) */
	unsigned int next_elem;     /* elements before it were decided */
	size_t discard;             /* bytes of the refused request to drop */
	unsigned int discard_elems; /* RESP: then elements to frame and drop */
};

/* Where a server's replies go. */
struct kv_out {
	void (*bytes)(void *ctx, const void *data, size_t len);
	/* The bytes of a stored value (paste-kvs: by name, zero copy). */
	void (*value)(void *ctx, const struct kv_value *v);
	/* Optional: a whole RESP bulk reply, @hdr ("$<len>\r\n"), the value,
	 * CR LF; paste-kvs sends what it can of it from the pool in place
	 * (reply_inplace.h). NULL: bytes, value, bytes. */
	void (*bulk)(void *ctx, const char *hdr, size_t hlen, const struct kv_value *v);
	/* Close the connection once the replies queued so far are out. */
	void (*close)(void *ctx);
	/* Optional: "+QUEUED\r\n", a transaction's reply to each command it
	 * queues, in order with every other reply, as bytes() would send it;
	 * a fixed reply the server copies without a call per byte count.
	 * NULL: bytes(). */
	void (*queued)(void *ctx);
	void *ctx;
	int *continue_sent;         /* per connection: HTTP 100 sent already */
	/* Per connection, zeroed at its start: how far an incomplete RESP
	 * request was read (proto.h); NULL: read it again from its start. */
	struct kv_parse_state *parse;
	/* Per connection: reservations (NULL: none, a value is refused only
	 * once it has arrived whole). */
	struct kv_upload *upload;
	/* Per connection, zeroed at its start: whether it authenticated
	 * (auth.h). NULL: never, which matters only with a password. */
	struct kv_auth_conn *auth;
	/* Per connection, zeroed at its start: its transaction (multi.h).
	 * NULL: MULTI and WATCH are refused. */
	struct kv_multi *multi;
	/* Per connection, zeroed then kv_client_start()ed at its start: its
	 * id and name (client.h). NULL: id 0, names not kept. */
	struct kv_client *client;
};

struct kv_expiry;
struct kv_parse_state;
struct kv_cluster;
struct kv_auth;
struct kv_multi;
struct kv_watch_table;
struct kv_client;

struct kv_exec {
	struct kv_store *store;
	struct kv_expiry *expiry;   /* keys with a deadline (expiry.h) */
	int values_in_dram;         /* linux-kvs: stream bytes are in DRAM */
	struct kv_limits limits;    /* for the parsers; defaults from init */
	/* Cluster mode (cluster.h): the slot map, NULL when off. Set after
	 * kv_exec_init(). */
	const struct kv_cluster *cluster;
	/* The passwords (auth.h), NULL or none when anyone may connect. Set
	 * after kv_exec_init(). */
	const struct kv_auth *auth;
	uint64_t auth_failures;     /* refused AUTHs, and HTTP credentials */
	unsigned int n_conns;       /* maintained by the server, for INFO */
	uint64_t timed_out;         /* by the server: clients closed by a
	                             * timeout, */
	uint64_t output_overflows;  /* ... and by --client-output-limit */
	uint64_t requests, bad_requests, bad_streams, expired;
	uint64_t oom_refused;       /* values refused before they arrived */
	struct kv_watch_table *watch; /* keys clients WATCH (multi.c) */
	/* The connections (client.h), for CLIENT LIST; ids given so far. */
	struct kv_client *clients;
	uint64_t client_ids;
};

int kv_exec_init(struct kv_exec *x, struct kv_store *store, int values_in_dram);

/* Active expiry, for the servers' poll loops: reclaim the keys past their
 * deadline among @buckets buckets of the expiry table, from where the last
 * call stopped (SIZE_MAX: all). Keys never read again are reclaimed so, a
 * bounded step at a time. Returns how many keys went. */
uint64_t kv_exec_expire(struct kv_exec *x, size_t buckets);

/* Buckets per step of the servers' sweeps: at ten steps a second, the
 * 4,096 buckets of a table of up to 4,096 keys in about 6 s; a bounded
 * cost per step, like Redis's active expire cycle. */
#define KV_EXPIRE_STEP 64
void kv_exec_fini(struct kv_exec *x);

/* Parse the request at the start of @rx and execute it, replying through
 * @out. Returns -1 when the request is incomplete (nothing done), else the
 * bytes it used (the caller consumes them; after a framing error that is 0
 * and @out->close was called). */
long kv_exec_next(struct kv_exec *x, const struct kv_stream *rx, int http,
		  const struct kv_out *out);

/* The connection of @up goes: its reservation returns to the store. */
void kv_exec_upload_end(struct kv_exec *x, struct kv_upload *up);

#endif /* KVS_EXEC_H */
