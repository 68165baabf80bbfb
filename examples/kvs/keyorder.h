/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: a DRAM set of keys in hash order (hashorder.h), kept beside
 * the B+tree index, whose own order is the keys' bytes: SCAN walks this
 * instead of the tree, and RANDOMKEY draws from it.
 *
 * Each key is copied (the tree's leaves are rewritten by every update, so
 * nothing in them can be pointed at): into its 24-byte slot when it has
 * at most KV_KEYORDER_INLINE bytes, else to the heap (the slot points at
 * it). Slots are 1/8 to 3/4 used.
 *
 * Changes that a unit may have to undo without allocating: room for an
 * insert (a slot and its copy) is taken by kv_keyorder_prepare() before
 * the tree is written, and a removal hands its copy back to the caller
 * (kv_keyorder_remove()) who may put it back with kv_keyorder_insert().
 * A copy is a struct kv_keyorder_key: the bytes, or where they are.
 * Nothing here shrinks while kv_keyorder_hold() says so (a unit is open).
 */
#ifndef KVS_KEYORDER_H
#define KVS_KEYORDER_H

#include <stddef.h>
#include <stdint.h>

#include "kv_index.h"

#define KV_KEYORDER_INLINE 16

struct kv_keyorder_key {
	union {
		uint8_t inl[KV_KEYORDER_INLINE]; /* len <= KV_KEYORDER_INLINE */
		uint8_t *heap;    /* malloc'd, longer keys */
	};
};

struct kv_keyorder_slot {
	uint32_t h32;             /* (uint32_t)kv_key_hash(key) */
	uint16_t len;
	uint16_t used;
	struct kv_keyorder_key key;
};

/* The bytes of a key copy of @len bytes. */
static inline const uint8_t *
kv_keyorder_key_bytes(const struct kv_keyorder_key *k, uint16_t len)
{
	return len <= KV_KEYORDER_INLINE ? k->inl : k->heap;
}

struct kv_keyorder {
	struct kv_keyorder_slot *tab;
	size_t cap, count;
	unsigned int shift;
	uint64_t key_bytes;       /* of the heap copies */
	int hold;                 /* no shrinking */
	uint8_t *spare;           /* prepare()'s copy, not yet inserted */
};

/* Returns 0 or -ENOMEM. */
int kv_keyorder_init(struct kv_keyorder *o);
void kv_keyorder_fini(struct kv_keyorder *o);
/* Remove every key (and halve the table to its smallest). */
void kv_keyorder_clear(struct kv_keyorder *o);
void kv_keyorder_hold(struct kv_keyorder *o, int on);

/* Is @key in the set? */
int kv_keyorder_has(const struct kv_keyorder *o, const void *key, uint16_t len,
		    uint32_t h32);
/* Make room to insert one key of @len bytes: a slot and a copy. Returns
 * 0 or -ENOMEM (nothing changed). */
int kv_keyorder_prepare(struct kv_keyorder *o, uint16_t len);
/* Insert @key (absent), copied into the slot or the heap copy prepare()
 * made; or, when @copy is not NULL, with that copy (one remove() handed
 * out, owned by the set again; @key is not read then). Never fails: the
 * room was made before. Returns the copy the set holds (a heap copy stays
 * valid until the key is removed). */
struct kv_keyorder_key kv_keyorder_insert(struct kv_keyorder *o, const void *key,
					  uint16_t len, uint32_t h32,
					  const struct kv_keyorder_key *copy);
/* Remove @key if present: 1 and its copy in *copy (the caller's: a heap
 * copy to free, or to put back; NULL: freed here), or 0. */
int kv_keyorder_remove(struct kv_keyorder *o, const void *key, uint16_t len,
		       uint32_t h32, struct kv_keyorder_key *copy);
/* Free a copy remove() handed out. */
void kv_keyorder_key_free(struct kv_keyorder_key *copy, uint16_t len);

/* kv_index_ops.scan and .random_key over the set. */
void kv_keyorder_scan(const struct kv_keyorder *o, uint64_t cursor, uint64_t count,
		      kv_key_fn fn, void *arg, uint64_t *next);
void kv_keyorder_random(const struct kv_keyorder *o, uint64_t seed, kv_key_fn fn,
			void *arg);

/* DRAM bytes the set holds (slots and copies, without malloc's overhead). */
uint64_t kv_keyorder_bytes(const struct kv_keyorder *o);

#endif /* KVS_KEYORDER_H */
