/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: walking the keyspace for SCAN, KEYS and RANDOMKEY, the same
 * over either index (doc/kvs-index.md, "Keyspace iteration").
 *
 * SCAN's order: every key has an order value, its keyed hash (keyhash.h,
 * 64 bits, halves swapped: kv_keyspace_ord), and a cursor c stands for "the keys whose order value is c or
 * more". A call returns the keys of the order values in [c, e) for an end
 * e the index picks (a multiple of 2^32: the step covers whole 32-bit
 * hashes), and e as the next cursor, or 0 when the range ran to the end. The order is a
 * property of each key alone, not of where an index keeps it, so no
 * growth, shrink, backward-shift delete or B+tree split can move a key
 * behind a cursor: a key present for a whole iteration has an order value
 * that some call's range covers, and is returned (at least once; exactly
 * once unless the server restarts mid-iteration, which draws a new hash
 * secret and so a new order). A key written or deleted meanwhile may or
 * may not be returned, as in Redis.
 *
 * Cost: each index keeps its keys in hash order in DRAM (hashorder.h; wal:
 * its key table, homed by the hash's top bits; btree: a key order beside
 * the tree, keyorder.h), so a call walks the slots of its range only:
 * O(COUNT) expected, whatever the number of keys. A call returns about
 * COUNT keys (more when the range ends inside a run of used slots, fewer
 * when it ends after 10 * COUNT slots of a sparse table), and RANDOMKEY
 * draws random slots, O(1) expected: the tables stay between 1/8 and 3/4
 * full.
 */
#ifndef KVS_KEYSPACE_H
#define KVS_KEYSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "kv_index.h"

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

/* One key drawn from @seed (about uniformly) into @b (emptied first; n
 * stays 0 when the index is empty). Returns 0 or -ENOMEM. */
int kv_keyspace_random(const struct kv_index_ops *ops, struct kv_index *idx,
		       uint64_t seed, struct kv_key_batch *b);

static inline const char *
kv_key_batch_key(const struct kv_key_batch *b, size_t i)
{
	return b->bytes + b->v[i].off;
}

void kv_key_batch_clear(struct kv_key_batch *b);
void kv_key_batch_free(struct kv_key_batch *b);

#endif /* KVS_KEYSPACE_H */
