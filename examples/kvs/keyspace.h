/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: walking the keyspace for SCAN, KEYS and RANDOMKEY, the same
 * over either index (doc/kvs-index.md, "Keyspace iteration").
 *
 * SCAN's order: every key has an order value, its keyed hash (keyhash.h,
 * 64 bits, halves swapped: kv_keyspace_ord), and a cursor c stands for "the keys whose order value is c or
 * more". A call returns the keys of the smallest order values >= c (COUNT
 * of them, and every key sharing the last one's value), and the cursor
 * just past the last value, or 0 when none is left. The order is a
 * property of each key alone, not of where an index keeps it, so no
 * growth, shrink, backward-shift delete or B+tree split can move a key
 * behind a cursor: a key present for a whole iteration has an order value
 * that some call's range covers, and is returned (at least once; exactly
 * once unless the server restarts mid-iteration, which draws a new hash
 * secret and so a new order). A key written or deleted meanwhile may or
 * may not be returned, as in Redis.
 *
 * Cost: the indexes keep no hash order, so a call visits every key, twice
 * over: once to find where the batch ends, once to collect it (the btree
 * reads and hashes every key both times; the wal index reads only the keys
 * its DRAM table's 32-bit hashes cannot rule out). A call returns at least 1/KV_SCAN_CALLS of the keys, which
 * bounds a whole iteration at about KV_SCAN_CALLS visits of every key
 * whatever COUNT says (COUNT is a hint in Redis too, which returns more
 * than it for small sets).
 */
#ifndef KVS_KEYSPACE_H
#define KVS_KEYSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "kv_index.h"

/* A call returns at least this fraction of all keys (see above). */
#define KV_SCAN_CALLS 64u

/* Keys collected by a walk: their bytes in one arena. */
struct kv_key_ref {
	uint64_t ord;             /* SCAN: the order value; else 0 */
	size_t off;               /* into bytes */
	uint16_t len;
};
struct kv_key_batch {
	struct kv_key_ref *v;
	size_t n, cap;
	char *bytes;
	size_t used, room;
	uint64_t *heap;           /* scratch of kv_keyspace_scan */
	size_t heap_cap;
};

/* A key's order value: what SCAN's cursors count in. Its keyed hash with
 * the halves swapped, so that the wal index, which keeps each key's low
 * 32 bits in DRAM, can skip keys outside a range without reading them. */
uint64_t kv_keyspace_ord(const void *key, uint16_t len);

/* The batch of SCAN @cursor asking for @count keys, in order (their
 * order values ascending) into @b (emptied first); *next the cursor to
 * pass next, 0 at the end. Returns 0, or -ENOMEM (the batch is then
 * incomplete and *next 0: the caller must not reply with it). */
int kv_keyspace_scan(const struct kv_index_ops *ops, struct kv_index *idx,
		     uint64_t cursor, uint64_t count, struct kv_key_batch *b,
		     uint64_t *next);

/* Every key matching the glob @pat (glob.h; "*": every key), in no
 * order, into @b (emptied first). Returns 0 or -ENOMEM. */
int kv_keyspace_keys(const struct kv_index_ops *ops, struct kv_index *idx,
		     const char *pat, size_t plen, struct kv_key_batch *b);

/* The @nth key (0 <= nth < the index's count) in the index's own order,
 * into @b (emptied first; n stays 0 past the last key). Returns 0 or
 * -ENOMEM. */
int kv_keyspace_nth(const struct kv_index_ops *ops, struct kv_index *idx,
		    uint64_t nth, struct kv_key_batch *b);

static inline const char *
kv_key_batch_key(const struct kv_key_batch *b, size_t i)
{
	return b->bytes + b->v[i].off;
}

void kv_key_batch_clear(struct kv_key_batch *b);
void kv_key_batch_free(struct kv_key_batch *b);

#endif /* KVS_KEYSPACE_H */
