/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: a DRAM set of keys in hash order (hashorder.h), kept beside
 * the B+tree index, whose own order is the keys' bytes: SCAN walks this
 * instead of the tree, and RANDOMKEY draws from it.
 *
 * Each key is copied (the tree's leaves are rewritten by every update, so
 * nothing in them can be pointed at): a 16-byte slot, at 1/8 to 3/4 load,
 * and a heap copy of the key's bytes (none for the empty key).
 *
 * Changes that a unit may have to undo without allocating: room for an
 * insert (a slot and its copy) is taken by kv_keyorder_prepare() before
 * the tree is written, and a removal hands its copy back to the caller
 * (kv_keyorder_remove()) who may put it back with kv_keyorder_insert().
 * Nothing here shrinks while kv_keyorder_hold() says so (a unit is open).
 */
#ifndef KVS_KEYORDER_H
#define KVS_KEYORDER_H

#include <stddef.h>
#include <stdint.h>

#include "kv_index.h"

struct kv_keyorder_slot {
	uint32_t h32;             /* (uint32_t)kv_key_hash(key) */
	uint16_t len;
	uint16_t used;
	uint8_t *key;             /* malloc'd; NULL for the empty key */
};

struct kv_keyorder {
	struct kv_keyorder_slot *tab;
	size_t cap, count;
	unsigned int shift;
	uint64_t key_bytes;       /* of the copies */
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
/* Insert @key (absent) with the copy prepare() made, or with @copy (a
 * copy remove() handed out, owned by the set again) when not NULL. Never
 * fails: the room was made before. Returns the copy the set holds (NULL
 * for the empty key). */
uint8_t *kv_keyorder_insert(struct kv_keyorder *o, const void *key, uint16_t len,
			uint32_t h32, uint8_t *copy);
/* Remove @key if present: 1 and its copy in *copy (the caller's to free
 * or put back; NULL: freed here), or 0. */
int kv_keyorder_remove(struct kv_keyorder *o, const void *key, uint16_t len,
		       uint32_t h32, uint8_t **copy);

/* kv_index_ops.scan and .random_key over the set. */
void kv_keyorder_scan(const struct kv_keyorder *o, uint64_t cursor, uint64_t count,
		      kv_key_fn fn, void *arg, uint64_t *next);
void kv_keyorder_random(const struct kv_keyorder *o, uint64_t seed, kv_key_fn fn,
			void *arg);

/* DRAM bytes the set holds (slots and copies, without malloc's overhead). */
uint64_t kv_keyorder_bytes(const struct kv_keyorder *o);

#endif /* KVS_KEYORDER_H */
