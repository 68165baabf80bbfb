/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Buffer ownership: the free list, lending, keeping, releasing, recovery and
 * reconciliation. Only "kept" is persistent (one state byte per buffer in
 * the file); everything else is rebuilt from it when the pool is opened.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "asan_poison.h"
#include "error.h"
#include "pool_internal.h"

/* A buffer on a bad block of the device is free but never lent: a driver
 * would write into poisoned lines, and what it kept could not be read.
 * @hot: freed while lent (the LIFO), else released or found free at open
 * (the bitmap, taken in address order). */
static void
free_push_unpoisoned(struct pst_pool *pool, uint32_t index, int hot)
{
	if (pool_buf_bad(pool, index)) {
		pool->dstate[index] = PST_D_BAD;
		return;
	}
	pool->dstate[index] = PST_D_FREE;
	pool->n_free++;
	if (hot)
		pool->free_stack[pool->n_hot++] = index;
	else
		pool->free_bits[index / 64] |= (uint64_t)1 << (index % 64);
}

/* A buffer freed while the pool is open: nobody may read it any more, its
 * bytes belong to no frame or value. */
static void
free_push(struct pst_pool *pool, uint32_t index, int hot)
{
	free_push_unpoisoned(pool, index, hot);
	if (pool->dstate[index] == PST_D_FREE)
		pst_poison(pool_buf_addr(pool, index), pool->buf_size);
}

/* The next free buffer of the bitmap from the cursor on, wrapping; one is
 * set (n_free > n_hot). The store keeps a sixteenth of the pool free, so
 * a sweep finds one in a few words. */
static uint32_t
free_bits_take(struct pst_pool *pool)
{
	uint32_t w = pool->cursor, words = (pool->buf_count + 63) / 64;
	uint64_t b;

	while ((b = pool->free_bits[w]) == 0)
		w = w + 1 < words ? w + 1 : 0;
	pool->free_bits[w] = b & (b - 1);
	pool->cursor = w;
	return w * 64 + (uint32_t)__builtin_ctzll(b);
}

/* Rebuild the DRAM view from the persistent state bytes. @poison_free:
 * poison the free buffers too (see the comment below). */
static void
state_rebuild(struct pst_pool *pool, int poison_free)
{
	uint32_t i;

	pool->n_free = 0;
	pool->n_hot = 0;
	pool->cursor = 0;
	memset(pool->free_bits, 0, (pool->buf_count + 63) / 64 * sizeof(uint64_t));
	pool->n_kept = 0;
	pool->n_lent = 0;
	pool->n_releasing = 0;
	/* From the top, as the LIFO once was; the bitmap's cursor starts at
	 * 0, so take() hands out low indices first. */
	for (i = pool->buf_count; i-- > 0;) {
		/* Any non-zero byte counts as kept: losing data to a stray
		 * value is worse than holding a buffer reconcile can free. */
		if (pool->state[i] != PST_BUF_STATE_FREE) {
			pool->dstate[i] = PST_D_KEPT;
			pool->n_kept++;
		} else {
			/* At open, not poisoned: until reconcile, the
			 * application's recovery may read a buffer its index
			 * names whose state byte was lost with a crash. */
			if (poison_free)
				free_push(pool, i, 0);
			else
				free_push_unpoisoned(pool, i, 0);
		}
	}
}

int
pst_pool_state_init(struct pst_pool *pool)
{
	size_t n = pool->buf_count;

	pool->dstate = malloc(n);
	pool->free_stack = malloc(n * sizeof(uint32_t));
	pool->free_bits = calloc((n + 63) / 64, sizeof(uint64_t));
	pool->releasing = malloc(n * sizeof(uint32_t));
	pool->pins = calloc(n, sizeof(*pool->pins));
	if (pool->dstate == NULL || pool->free_stack == NULL || pool->free_bits == NULL ||
	    pool->releasing == NULL || pool->pins == NULL) {
		pst_pool_state_fini(pool);
		return pst_fail(ENOMEM, "pool %s: out of memory for %zu buffer states",
				pool->path, n);
	}
	state_rebuild(pool, 0);
	return 0;
}

void
pst_pool_state_fini(struct pst_pool *pool)
{
	free(pool->dstate);
	free(pool->free_stack);
	free(pool->free_bits);
	free(pool->releasing);
	free(pool->pins);
	pool->dstate = NULL;
	pool->free_stack = NULL;
	pool->free_bits = NULL;
	pool->releasing = NULL;
	pool->pins = NULL;
}

int
pst_pool_info(const struct pst_pool *pool, struct pst_pool_info *info)
{
	if (pool == NULL || info == NULL)
		return pst_fail(EINVAL, "pool info: NULL argument");
	memset(info, 0, sizeof(*info));
	info->buf_size = pool->buf_size;
	info->buf_count = pool->buf_count;
	info->file_size = pool->hdr->file_size;
	memcpy(info->uuid, pool->hdr->uuid, sizeof(info->uuid));
	info->layout_version = pool->hdr->layout_version;
	info->persist_mode = pool->persist.mode;
	info->is_pmem = pool->is_pmem;
	info->fs_volatile = pool->fs_volatile;
	info->base = pool->base;
	info->bufs = pool->bufs;
	info->prefaulted = pool->prefaulted;
	info->prefault_seconds = pool->prefault_seconds;
	return 0;
}

int
pst_pool_stats(const struct pst_pool *pool, struct pst_pool_stats *stats)
{
	if (pool == NULL || stats == NULL)
		return pst_fail(EINVAL, "pool stats: NULL argument");
	memset(stats, 0, sizeof(*stats));
	stats->free = pool->n_free;
	stats->lent = pool->n_lent;
	stats->kept = pool->n_kept;
	stats->releasing = pool->n_releasing;
	stats->takes = pool->takes;
	stats->keeps = pool->keeps;
	stats->releases = pool->releases;
	stats->nobufs = pool->nobufs;
	stats->flushes = pool->persist.flushes;
	stats->bytes_flushed = pool->persist.bytes_flushed;
	stats->drains = pool->persist.drains;
	stats->drain_failures = pool->persist.drain_failures;
	stats->msyncs = pool->persist.msyncs;
	return 0;
}

int
pst_pool_levels(const struct pst_pool *pool, struct pst_pool_levels *lv)
{
	if (pool == NULL || lv == NULL)
		return pst_fail(EINVAL, "pool levels: NULL argument");
	lv->free = pool->n_free;
	lv->kept = pool->n_kept;
	lv->releasing = pool->n_releasing;
	lv->drains = pool->persist.drains;
	return 0;
}

static volatile uint64_t *
root_slot(const struct pst_pool *pool, unsigned int slot)
{
	return (volatile uint64_t *)(pool->base + PST_POOL_ROOTS_OFFSET) + slot;
}

int
pst_pool_root_get(const struct pst_pool *pool, unsigned int slot, uint64_t *value)
{
	if (pool == NULL || value == NULL)
		return pst_fail(EINVAL, "root get: NULL argument");
	if (slot >= PST_POOL_ROOT_SLOTS)
		return pst_fail(EINVAL, "root slot %u out of range", slot);
	*value = *root_slot(pool, slot);
	return 0;
}

int
pst_pool_root_set(struct pst_pool *pool, unsigned int slot, uint64_t value)
{
	if (pool == NULL || slot >= PST_POOL_ROOT_SLOTS)
		return pst_fail(EINVAL, "root slot %u out of range", slot);
	/* An unclaimed slot with a value would have no known owner, and
	 * every later claim and reconcile would refuse the pool. */
	if (!(pool->claimed & (1u << slot)))
		return pst_fail(EPERM, "pool %s: root slot %u is not claimed (pst_pool_root_claim)",
				pool->path, slot);
	*root_slot(pool, slot) = value;
	return pst_persist_flush(&pool->persist, (const void *)root_slot(pool, slot),
				 sizeof(uint64_t));
}

int
pst_pool_name_valid(const struct pst_pool *pool, pst_name name)
{
	return pool != NULL && name != PST_NAME_INVALID &&
	       pst_name_index(name) < pool->buf_count &&
	       (uint32_t)pst_name_offset(name) + pst_name_length(name) <=
		       pool->buf_size;
}

void *
pst_pool_name_to_addr(const struct pst_pool *pool, pst_name name)
{
	if (!pst_pool_name_valid(pool, name)) {
		pst_fail(EINVAL, "name 0x%016llx is not valid for this pool",
			 (unsigned long long)name);
		return NULL;
	}
	return pool_buf_addr(pool, pst_name_index(name)) +
	       pst_name_offset(name);
}

pst_name
pst_pool_addr_to_name(const struct pst_pool *pool, const void *addr, size_t len)
{
	uint32_t index;
	size_t offset;

	if (pool == NULL || len > UINT16_MAX) {
		pst_fail(EINVAL, "cannot name %zu bytes at %p", len, addr);
		return PST_NAME_INVALID;
	}
	index = pool_buf_index(pool, addr);
	if (index == UINT32_MAX) {
		pst_fail(EINVAL, "address %p is outside the pool's buffers", addr);
		return PST_NAME_INVALID;
	}
	offset = (size_t)((const char *)addr - pool_buf_addr(pool, index));
	if (offset + len > pool->buf_size) {
		pst_fail(EINVAL, "%zu bytes at %p cross the end of buffer %u",
			 len, addr, index);
		return PST_NAME_INVALID;
	}
	return pst_name_make(index, (uint16_t)offset, (uint16_t)len);
}

void *
pst_pool_buf_addr(const struct pst_pool *pool, uint32_t index)
{
	if (pool == NULL || index >= pool->buf_count) {
		pst_fail(EINVAL, "buffer index %u out of range", index);
		return NULL;
	}
	return pool_buf_addr(pool, index);
}

uint32_t
pst_pool_buf_index(const struct pst_pool *pool, const void *addr)
{
	return pool_buf_index(pool, addr);
}

int
pst_pool_take(struct pst_pool *pool, uint32_t *index)
{
	uint32_t i;

	if (pool == NULL || index == NULL)
		return pst_fail(EINVAL, "pool take: NULL argument");
	if (pool->n_free == 0) {
		pool->nobufs++;
		return pst_fail(ENOBUFS, "pool %s: no free buffer (%u kept, %llu lent)",
				pool->path, (unsigned int)pool->n_kept,
				(unsigned long long)pool->n_lent);
	}
	i = pool->n_hot > 0 ? pool->free_stack[--pool->n_hot] : free_bits_take(pool);
	pool->n_free--;
	pst_unpoison(pool_buf_addr(pool, i), pool->buf_size);
	pool->dstate[i] = PST_D_LENT;
	pool->n_lent++;
	pool->takes++;
	*index = i;
	return 0;
}

static int
check_lent(const struct pst_pool *pool, uint32_t index, const char *what)
{
	if (pool == NULL)
		return pst_fail(EINVAL, "pool %s: NULL pool", what);
	if (index >= pool->buf_count || pool->dstate[index] != PST_D_LENT)
		return pst_fail(EINVAL, "pool %s: buffer %u is not lent", what, index);
	return 0;
}

static void
release_lent(struct pst_pool *pool, uint32_t index)
{
	pool->n_lent--;
	free_push(pool, index, 1);
}

int
pst_pool_release_if_lent(struct pst_pool *pool, uint32_t index)
{
	int ret;

	if (index < pool->buf_count && pool->dstate[index] == PST_D_KEPT)
		return 0;
	ret = check_lent(pool, index, "release");
	if (ret == 0)
		release_lent(pool, index);
	return ret;
}

int
pst_pool_keep(struct pst_pool *pool, uint32_t index)
{
	int ret = check_lent(pool, index, "keep");

	if (ret != 0)
		return ret;
	pool->state[index] = PST_BUF_STATE_KEPT;
	ret = pst_persist_flush(&pool->persist, &pool->state[index], 1);
	if (ret != 0)
		return ret;
	pool->dstate[index] = PST_D_KEPT;
	pool->n_lent--;
	pool->n_kept++;
	pool->keeps++;
	return 0;
}

int
pst_pool_keep_many(struct pst_pool *pool, const uint32_t *index, unsigned int n)
{
	uintptr_t line, last = UINTPTR_MAX;
	unsigned int i, kept = 0;
	int ret;

	if (pool == NULL || (index == NULL && n > 0))
		return pst_fail(EINVAL, "pool keep many: NULL argument");
	/* All checked before anything is written: a refusal keeps none. */
	for (i = 0; i < n; i++) {
		ret = check_lent(pool, index[i], "keep many");
		if (ret != 0)
			return ret;
	}
	/* The state bytes of buffers taken one after another share lines:
	 * each line is flushed once for a run of its bytes, not once per
	 * byte (a flush evicts the line, and the next byte's store would
	 * fetch it again). */
	for (i = 0; i < n; i++) {
		pool->state[index[i]] = PST_BUF_STATE_KEPT;
		line = (uintptr_t)&pool->state[index[i]] & ~(uintptr_t)63;
		if (line == last)
			continue;
		if (last != UINTPTR_MAX) {
			ret = pst_persist_flush(&pool->persist, (const void *)last, 64);
			if (ret != 0)
				goto fail;
		}
		last = line;
	}
	if (last != UINTPTR_MAX) {
		ret = pst_persist_flush(&pool->persist, (const void *)last, 64);
		if (ret != 0)
			goto fail;
	}
	for (i = 0; i < n; i++) {
		if (pool->dstate[index[i]] != PST_D_LENT)
			continue; /* listed twice */
		pool->dstate[index[i]] = PST_D_KEPT;
		kept++;
	}
	pool->n_lent -= kept;
	pool->n_kept += kept;
	pool->keeps += kept;
	return 0;
fail:
	/* Flushing failed (a range outside the mapping: not for state
	 * bytes): nothing is kept, as the checks promised. */
	for (i = 0; i < n; i++)
		pool->state[index[i]] = PST_BUF_STATE_FREE;
	return ret;
}

int
pst_pool_release(struct pst_pool *pool, uint32_t index)
{
	int ret;

	if (pool == NULL)
		return pst_fail(EINVAL, "release: NULL pool");
	if (index >= pool->buf_count)
		return pst_fail(EINVAL, "release: buffer %u out of range", index);
	switch (pool->dstate[index]) {
	case PST_D_LENT:
		release_lent(pool, index);
		return 0;
	case PST_D_KEPT:
		break;
	default:
		return pst_fail(EINVAL, "release: buffer %u is neither lent nor kept", index);
	}
	pool->state[index] = PST_BUF_STATE_FREE;
	ret = pst_persist_flush(&pool->persist, &pool->state[index], 1);
	if (ret != 0)
		return ret;
	pool->dstate[index] = PST_D_RELEASING;
	pool->releasing[pool->n_releasing++] = index;
	pool->n_kept--;
	pool->releases++;
	return 0;
}

int
pst_pool_flush(struct pst_pool *pool, const void *addr, size_t len)
{
	if (pool == NULL)
		return pst_fail(EINVAL, "flush: NULL pool");
	return pst_persist_flush(&pool->persist, addr, len);
}

int
pst_pool_drain(struct pst_pool *pool)
{
	uint32_t i, kept;
	int ret;

	if (pool == NULL)
		return pst_fail(EINVAL, "drain: NULL pool");
	ret = pst_persist_drain(&pool->persist);
	if (ret != 0)
		return ret;
	/* The releases are durable now: their buffers may be overwritten,
	 * unless a zero-copy send still reads them. */
	for (i = 0, kept = 0; i < pool->n_releasing; i++) {
		uint32_t index = pool->releasing[i];

		if (pool->pins[index] == 0)
			free_push(pool, index, 0);
		else
			pool->releasing[kept++] = index;
	}
	pool->n_releasing = kept;
	return 0;
}

int
pst_pool_buf_kept(const struct pst_pool *pool, uint32_t index)
{
	return index < pool->buf_count && pool->dstate[index] == PST_D_KEPT;
}

int
pst_pool_pin(struct pst_pool *pool, uint32_t index)
{
	if (index >= pool->buf_count || pool->dstate[index] != PST_D_KEPT)
		return pst_fail(EINVAL, "pin: buffer %u is not kept", index);
	if (pool->pins[index] == UINT32_MAX)
		return pst_fail(EBUSY, "pin: buffer %u has too many sends in flight", index);
	pool->pins[index]++;
	return 0;
}

void
pst_pool_unpin(struct pst_pool *pool, uint32_t index)
{
	if (index < pool->buf_count && pool->pins[index] > 0)
		pool->pins[index]--;
}

int
pst_pool_drain_pending(const struct pst_pool *pool)
{
	return pool->persist.pending || pool->n_releasing > 0;
}

void
pst_pool_set_persist_hook(struct pst_pool *pool, const struct pst_persist_hook *hook)
{
	pst_persist_set_hook(&pool->persist, hook);
}

int
pst_pool_persist(struct pst_pool *pool, const void *addr, size_t len)
{
	int ret = pst_pool_flush(pool, addr, len);

	return ret != 0 ? ret : pst_pool_drain(pool);
}

int
pst_pool_reconcile(struct pst_pool *pool, const pst_name *names, size_t n,
		   struct pst_pool_reconcile_report *report)
{
	struct pst_pool_reconcile_report r = {0};
	uint8_t *referenced;
	uint32_t i;
	size_t k;
	int ret;

	if (pool == NULL || (names == NULL && n > 0))
		return pst_fail(EINVAL, "reconcile: NULL argument");
	if (pool->n_lent > 0)
		return pst_fail(EBUSY, "reconcile: %llu buffers are lent; reconcile before creating the mempool",
				(unsigned long long)pool->n_lent);
	ret = pst_pool_owner_check_reconcile(pool);
	if (ret != 0)
		return ret;
	for (k = 0; k < n; k++)
		if (!pst_pool_name_valid(pool, names[k]))
			return pst_fail(EINVAL, "reconcile: name #%zu (0x%016llx) is not valid for this pool",
					k, (unsigned long long)names[k]);
	/* Finish pending releases so every buffer is free or kept. */
	ret = pst_pool_drain(pool);
	if (ret != 0)
		return ret;
	referenced = calloc(pool->buf_count, 1);
	if (referenced == NULL)
		return pst_fail(ENOMEM, "reconcile: out of memory");
	for (k = 0; k < n; k++)
		referenced[pst_name_index(names[k])] = 1;

	for (i = 0; i < pool->buf_count; i++) {
		uint8_t want = referenced[i] ? PST_BUF_STATE_KEPT : PST_BUF_STATE_FREE;
		int kept = pool->state[i] != PST_BUF_STATE_FREE;

		r.referenced += referenced[i];
		if (referenced[i] && !kept)
			r.newly_kept++;
		else if (!referenced[i] && kept)
			r.released++;
		/* Also normalises stray non-zero bytes to KEPT. */
		if (pool->state[i] != want) {
			pool->state[i] = want;
			ret = pst_persist_flush(&pool->persist, &pool->state[i], 1);
			if (ret != 0)
				goto out;
		}
	}
	ret = pst_persist_drain(&pool->persist);
	if (ret != 0)
		goto out;
	/* Reconciled: a buffer the index does not name is nobody's now. */
	state_rebuild(pool, 1);
	r.kept = pool->n_kept;
	if (report != NULL)
		*report = r;
out:
	free(referenced);
	return ret;
}

int
pst_pool_verify(const struct pst_pool *pool)
{
	uint64_t counts[PST_D_BAD + 1] = {0};
	uint8_t *seen;
	uint32_t i, idx;
	int ret = 0;

	if (pool == NULL)
		return pst_fail(EINVAL, "verify: NULL pool");
	seen = calloc(pool->buf_count, 1);
	if (seen == NULL)
		return pst_fail(ENOMEM, "verify: out of memory");
	for (i = 0; i < pool->buf_count && ret == 0; i++) {
		uint8_t d = pool->dstate[i];
		int kept_on_media = pool->state[i] != PST_BUF_STATE_FREE;

		if (d > PST_D_BAD || (d == PST_D_BAD && !pool_buf_bad(pool, i)))
			ret = pst_fail(EFAULT, "verify: buffer %u has bad state %u", i, d);
		else if ((d == PST_D_KEPT) != kept_on_media)
			ret = pst_fail(EFAULT, "verify: buffer %u is %s in memory but %s in the file",
				       i, d == PST_D_KEPT ? "kept" : "not kept",
				       kept_on_media ? "kept" : "free");
		else
			counts[d]++;
	}
	for (i = 0; i < pool->n_hot && ret == 0; i++) {
		idx = pool->free_stack[i];
		if (idx >= pool->buf_count || pool->dstate[idx] != PST_D_FREE || seen[idx]++)
			ret = pst_fail(EFAULT, "verify: free list entry %u (buffer %u) is wrong",
				       i, idx);
	}
	for (i = 0, idx = 0; i < pool->buf_count && ret == 0; i++) {
		if (!(pool->free_bits[i / 64] & ((uint64_t)1 << (i % 64))))
			continue;
		idx++;
		if (pool->dstate[i] != PST_D_FREE || seen[i]++)
			ret = pst_fail(EFAULT, "verify: free bitmap's buffer %u is wrong", i);
	}
	if (ret == 0 && (pool->n_hot > pool->n_free || idx != pool->n_free - pool->n_hot))
		ret = pst_fail(EFAULT, "verify: %u free buffers, %u on the LIFO and %u in the bitmap",
			       pool->n_free, pool->n_hot, idx);
	if (ret == 0 && (pool->buf_count % 64 != 0 &&
			 pool->free_bits[pool->buf_count / 64] >> (pool->buf_count % 64) != 0))
		ret = pst_fail(EFAULT, "verify: free bitmap has bits past buffer %u",
			       pool->buf_count - 1);
	for (i = 0; i < pool->n_releasing && ret == 0; i++) {
		idx = pool->releasing[i];
		if (idx >= pool->buf_count || pool->dstate[idx] != PST_D_RELEASING || seen[idx]++)
			ret = pst_fail(EFAULT, "verify: release list entry %u (buffer %u) is wrong",
				       i, idx);
	}
	if (ret == 0 &&
	    (counts[PST_D_FREE] != pool->n_free || counts[PST_D_LENT] != pool->n_lent ||
	     counts[PST_D_KEPT] != pool->n_kept ||
	     counts[PST_D_RELEASING] != pool->n_releasing))
		ret = pst_fail(EFAULT,
			       "verify: counts free %llu/%u lent %llu/%llu kept %llu/%llu releasing %llu/%u disagree",
			       (unsigned long long)counts[PST_D_FREE], pool->n_free,
			       (unsigned long long)counts[PST_D_LENT],
			       (unsigned long long)pool->n_lent,
			       (unsigned long long)counts[PST_D_KEPT],
			       (unsigned long long)pool->n_kept,
			       (unsigned long long)counts[PST_D_RELEASING],
			       pool->n_releasing);
	free(seen);
	return ret;
}
