/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs as a Redis Cluster node: the slot map (which node owns which of
 * the 16,384 hash slots), a key's slot (CRC16 of the key or of its {hash
 * tag}, as Redis computes it), the check that sends a request for a key
 * another node owns there (-MOVED, HTTP 307) or refuses keys of several
 * slots (-CROSSSLOT), and the CLUSTER command's replies.
 *
 * The map is static: one configuration file, the same on every node, read
 * at start (kv_cluster_load). There is no gossip, failover or resharding;
 * nodes name each other by host:port, so they may be shards of one machine
 * or nodes of several. The file's format (doc/kvs.md):
 *
 *     # name   host:port          [http=PORT]  slot ranges
 *     shard0   198.18.0.1:6379    http=8080    0-8191
 *     shard1   198.18.0.2:6379    http=8080    8192-16383
 *
 * Ranges are "a-b" or a single slot "a"; every slot must be owned by exactly
 * one node.
 */
#ifndef KVS_CLUSTER_H
#define KVS_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "request.h"
#include "stream.h"

#define KV_CLUSTER_SLOTS 16384
#define KV_CLUSTER_NODES_MAX 64
#define KV_CLUSTER_RANGES_MAX 64   /* slot ranges per node */
#define KV_CLUSTER_NAME_MAX 32     /* with the NUL */
#define KV_CLUSTER_HOST_MAX 64     /* with the NUL */
#define KV_CLUSTER_ID_LEN 40       /* hex digits, as Redis's node ids */

struct kv_cluster_node {
	char name[KV_CLUSTER_NAME_MAX];
	char host[KV_CLUSTER_HOST_MAX];
	char id[KV_CLUSTER_ID_LEN + 1]; /* derived from the name: every node
	                                 * computes the same ids */
	uint16_t port;                  /* RESP */
	uint16_t http_port;             /* 0: none given (no 307 redirects) */
	unsigned int n_ranges;
	uint16_t range_lo[KV_CLUSTER_RANGES_MAX], range_hi[KV_CLUSTER_RANGES_MAX];
	unsigned int n_slots;
};

struct kv_cluster {
	unsigned int n_nodes;
	int self;                       /* index of this node, -1 until known */
	struct kv_cluster_node nodes[KV_CLUSTER_NODES_MAX];
	uint8_t owner[KV_CLUSTER_SLOTS];  /* node index of each slot */
};

/* Redis's CRC16 (XMODEM: polynomial 0x1021, initial value 0). */
uint16_t kv_cluster_crc16(const void *data, size_t len);

/* The slot of a key: CRC16 mod 16384 of the bytes between the first '{'
 * and the next '}' when those are non-empty, else of the whole key. */
unsigned int kv_cluster_key_slot(const void *key, size_t len);

/*
 * Parse a slot map from @text (NUL-terminated) into @cl, and make the node
 * named @self this node (@self NULL: none yet).
 * @return 0, or -1 with the reason (and its line) in @err: syntax, a slot
 * out of range, a slot owned twice or by nobody, a duplicate name or
 * host:port, too many nodes or ranges, @self not in the map.
 */
int kv_cluster_parse(struct kv_cluster *cl, const char *text, const char *self,
		     char *err, size_t errlen);

/* kv_cluster_parse() of the file at @path. Also -1 when it cannot be read. */
int kv_cluster_load(struct kv_cluster *cl, const char *path, const char *self,
		    char *err, size_t errlen);

/* Where replies go: the server's output (kv_out's bytes). */
typedef void kv_cluster_emit_fn(void *ctx, const void *data, size_t len);

/*
 * Before executing @req (parsed from @rx): if one of its keys is in a slot
 * another node owns, reply -MOVED slot host:port (HTTP: 307 to the owner's
 * URL, or 421 when the owner has no HTTP port); if its keys are in several
 * slots, -CROSSSLOT. @return 1 when it replied (do not execute), 0 when
 * the request is this node's to run.
 */
int kv_cluster_redirect(const struct kv_cluster *cl, const struct kv_stream *rx,
			const struct kv_request *req, kv_cluster_emit_fn *emit,
			void *ctx);

/* The slot all of @req's keys are in: -1 when it has none, -2 when they
 * are in several (a transaction's EXEC checks its queue so, multi.c). */
int kv_cluster_request_slot(const struct kv_stream *rx, const struct kv_request *req);

/* CLUSTER SLOTS | SHARDS | NODES | INFO | MYID | KEYSLOT key |
 * COUNTKEYSINSLOT slot | HELP: the reply to @req (op KV_OP_CLUSTER, argv[0]
 * the subcommand). @cl NULL: the error Redis gives without cluster mode.
 * @slot_keys: keys stored per slot (the store's), for COUNTKEYSINSLOT. */
void kv_cluster_command(const struct kv_cluster *cl, const uint32_t *slot_keys,
			const struct kv_stream *rx, const struct kv_request *req,
			kv_cluster_emit_fn *emit, void *ctx);

#endif /* KVS_CLUSTER_H */
