/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: walking a hash-ordered key table, for SCAN and RANDOMKEY in
 * O(COUNT) and O(1) (doc/kvs-index.md, "Keyspace iteration").
 *
 * A hash-ordered table is an open-addressing table with linear probing
 * whose home slot for a key is the TOP bits of the key's 32-bit keyed hash
 * (h32 >> shift, cap = 2^(32 - shift)), not the low ones. Slot order then
 * follows hash order: an entry sits at its home or after it in the same
 * run of used slots (wrapping past the last slot only from the table's
 * end to its start). So the entries whose hashes lie in [a, b) are those
 * of the slots from home(a) to the end of the run holding home(b) - 1,
 * a walk of about (b - a) / 2^shift slots. Neither growth, shrinking nor
 * backward-shift deletion moves a hash, so a SCAN cursor that is a hash
 * value, not a slot, stays valid whatever the table does between calls.
 *
 * The tables (the wal index's key table, the B+tree index's key order)
 * give the walk their slots through @slot: nonzero and the entry's h32
 * for a used slot, 0 for an empty one.
 */
#ifndef KVS_HASHORDER_H
#define KVS_HASHORDER_H

#include <stddef.h>
#include <stdint.h>

typedef int (*kv_hashorder_slot_fn)(const void *tab, size_t i, uint32_t *h32);
typedef void (*kv_hashorder_emit_fn)(void *arg, size_t i);

/* Smallest table and the loads it keeps between: grown past 3/4, halved
 * below 1/8 (so that RANDOMKEY's random slots hit an entry often). */
#define KV_HASHORDER_MIN_CAP 1024u

/* shift for a table of @cap slots (a power of two, 2 <= cap <= 2^32). */
static inline unsigned int
kv_hashorder_shift(size_t cap)
{
	return 32 - (unsigned int)__builtin_ctzll((unsigned long long)cap);
}

/* The home slot of @h32 in a table of shift @shift. */
static inline size_t
kv_hashorder_home(uint32_t h32, unsigned int shift)
{
	return (size_t)(h32 >> shift);
}

/* Should a table of @count entries and @cap slots be halved? */
static inline int
kv_hashorder_shrink(size_t count, size_t cap)
{
	return cap > KV_HASHORDER_MIN_CAP && count * 8 < cap;
}

/* One SCAN step: @emit every entry whose h32 is in [from, end), where the
 * walk picks end: it stops after @count entries (or 10 * @count times the
 * table's slots per entry, so that a sparse table costs no more) at the
 * end of a run of used slots.
 * *next is end as a SCAN cursor (end << 32), 0 when the walk reached the
 * table's end: then every entry from @from on was emitted (at once when
 * the table holds no @entries: an empty keyspace is one call). Each entry of
 * the range is emitted once. Costs the slots walked: about @count over
 * the table's load, plus the length of the run it ends in. */
void kv_hashorder_scan(const void *tab, size_t cap, size_t entries, kv_hashorder_slot_fn slot,
		       uint32_t from, uint64_t count, kv_hashorder_emit_fn emit,
		       void *arg, uint64_t *next);

/* A used slot drawn from @seed, every entry about equally likely (random
 * slots tried first; a walk from the last one when they all miss), or -1
 * when the table is empty. Expected cost O(1) when the load is at least
 * 1/8; a walk of up to @cap slots below that. */
long kv_hashorder_random(const void *tab, size_t cap, kv_hashorder_slot_fn slot,
			 uint64_t seed);

#endif /* KVS_HASHORDER_H */
