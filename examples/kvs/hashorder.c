/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: walks over hash-ordered tables (hashorder.h).
 */
#include "hashorder.h"

void
kv_hashorder_scan(const void *tab, size_t cap, size_t entries, kv_hashorder_slot_fn slot,
		  uint32_t from, uint64_t count, kv_hashorder_emit_fn emit,
		  void *arg, uint64_t *next)
{
	unsigned int shift = kv_hashorder_shift(cap);
	uint64_t got = 0, visits = 0;
	/* Ten times the slots @count entries fill on average: a table
	 * shrinks below an eighth full only at its smallest size, so this
	 * stays O(count), and a small keyspace is walked in one call with
	 * cursor 0, as Redis's SCAN does over its small dicts. */
	uint64_t spread = entries == 0 ? 1 : (cap + entries - 1) / entries;
	uint64_t limit = count > UINT64_MAX / 10 / spread ? UINT64_MAX : 10 * count * spread;
	uint32_t h;
	size_t p;

	*next = 0;
	if (entries == 0)
		return;
	for (p = kv_hashorder_home(from, shift); p < cap; p++) {
		/* An entry whose home is past its slot wrapped from the
		 * table's end: it is emitted with the end, below. One whose
		 * hash is below @from sits here past its home. */
		if (slot(tab, p, &h) && kv_hashorder_home(h, shift) <= p && h >= from) {
			emit(arg, p);
			got++;
		}
		visits++;
		/* The range can end only where a run ends: every entry
		 * whose home is at most p is then at most at p. */
		if ((got >= count || visits >= limit) && p + 1 < cap &&
		    !slot(tab, p + 1, &h)) {
			*next = (uint64_t)((p + 1) << shift) << 32;
			return;
		}
	}
	/* The table's end: the run that wrapped to its start. */
	for (p = 0; p < cap && slot(tab, p, &h); p++)
		if (kv_hashorder_home(h, shift) > p && h >= from)
			emit(arg, p);
	*next = 0;
}

long
kv_hashorder_random(const void *tab, size_t cap, kv_hashorder_slot_fn slot,
		    uint64_t seed)
{
	uint64_t x = seed | 1;
	size_t i = 0, n;
	uint32_t h;
	int tries;

	for (tries = 0; tries < 32; tries++) {
		/* xorshift64 */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		i = (size_t)(x & (cap - 1));
		if (slot(tab, i, &h))
			return (long)i;
	}
	/* Nearly empty: the next used slot (biased toward those after
	 * long empty stretches, as Redis's is past its own tries). */
	for (n = 0; n < cap; n++, i = (i + 1) & (cap - 1))
		if (slot(tab, i, &h))
			return (long)i;
	return -1;
}
