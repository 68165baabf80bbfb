/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the two persistent indexes of paste-kvs (index_wal.c,
 * index_btree.c). Only the public paste API is used.
 *
 *  - argument checks (key length, value names);
 *  - buffer allocation that keeps, instead of reusing, buffers the
 *    recovered index still references (see kvi_take());
 *  - a growable array of buffer indexes;
 *  - a random source for chain ids and salts;
 *  - a small DRAM cache of values assembled from several pool records.
 */
#ifndef KV_INDEX_COMMON_H
#define KV_INDEX_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "kv_index.h"
#include "kv_limits.h"

/* Smallest pool buffer the indexes accept (open() gives -EINVAL below). */
#define KVI_BUF_SIZE_MIN 512u

/* A kv_value's deadline is 16 bytes in and its names start 24 bytes in: the
 * on-media records that double as struct kv_value (so that get() can point
 * into the pool) rely on it. */
_Static_assert(offsetof(struct kv_value, deadline_ms) == 16, "kv_value layout");
_Static_assert(offsetof(struct kv_value, names) == 24, "kv_value layout");
_Static_assert(sizeof(struct kv_value) == 24, "kv_value layout");

static inline size_t
kvi_align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static inline size_t
kvi_value_size(uint16_t n)
{
	return sizeof(struct kv_value) + (size_t)n * sizeof(pst_name);
}

/* Three-way comparison of two keys: bytes, then length. */
static inline int
kvi_key_cmp(const void *a, uint16_t alen, const void *b, uint16_t blen)
{
	size_t n = alen < blen ? alen : blen;
	/* the empty key may come as NULL: no memcmp of nothing */
	int c = n > 0 ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

/* 0 if key_len <= KV_KEY_MAX and key is not NULL (unless key_len is 0:
 * the empty key is a key, as in Redis), else -EINVAL. */
int kvi_check_key(const void *key, uint16_t key_len);

/* 0 if every name is valid for the pool and their lengths add up to
 * value->len, else -EINVAL. */
int kvi_check_value(const struct pst_pool *pool, const struct kv_value *value);

/* ---- arrays of buffer indexes ----------------------------------------- */

struct kvi_vec {
	uint32_t *v;
	size_t n, cap;
};

int kvi_vec_push(struct kvi_vec *vec, uint32_t x);
void kvi_vec_fini(struct kvi_vec *vec);

/* ---- buffers referenced by the recovered index -------------------------- */

/*
 * After a crash, the index as found on the medium may reference buffers the
 * pool believes free: their keep (or a release) was in a batch whose drain
 * never completed. pst_pool_reconcile() keeps them, but a caller may
 * modify the index before it reconciles (the index tests delete torn
 * values first in one of their orders), and a take must not hand out such
 * a buffer then. The referenced
 * set has a bit per buffer the recovered index references (its own buffers
 * and the value names); kvi_take() keeps, as reconciliation would, any such
 * buffer the pool hands out, and takes another. A buffer leaves the set when
 * the index stops referencing it (own buffers released, values replaced or
 * deleted).
 */
struct kvi_referenced {
	uint64_t *bits;           /* NULL: an empty set */
	uint64_t nbits;
	uint64_t kept;            /* buffers kept by kvi_take() */
};

int kvi_referenced_init(struct kvi_referenced *r, uint64_t buf_count);
void kvi_referenced_fini(struct kvi_referenced *r);
void kvi_referenced_add(struct kvi_referenced *r, uint32_t index);
void kvi_referenced_remove(struct kvi_referenced *r, uint32_t index);
/* Remove a value's buffers. */
void kvi_referenced_remove_value(struct kvi_referenced *r, const struct kv_value *v);

/* Take a buffer that the recovered index does not reference.
 * Returns 0, or -ENOSPC when the pool has no free buffer. */
int kvi_take(struct pst_pool *pool, struct kvi_referenced *r, uint32_t *index);

/* Release a kept buffer the index owned; a buffer the pool does not hold as
 * kept (possible after a crash, before reconciliation) is left alone. */
void kvi_release(struct pst_pool *pool, struct kvi_referenced *r, uint32_t index);

/* Fill @report (NULL: nothing) at the end of an open() that started at
 * @t0 (CLOCK_MONOTONIC). */
void kvi_report_open(struct kv_index_report *report, uint64_t entries,
		     uint64_t torn, uint64_t fallbacks, uint64_t log_bytes,
		     const struct timespec *t0);

/* True when the drain counter moved since @drains_then: everything flushed
 * before that reading is durable. */
int kvi_drained_since(const struct pst_pool *pool, uint64_t drains_then);
uint64_t kvi_drains(const struct pst_pool *pool);
/* Free buffers of the pool now. */
uint64_t kvi_free_bufs(const struct pst_pool *pool);

/* ---- random numbers ------------------------------------------------------ */

/* Seed from getrandom() (falls back to the clock). */
uint64_t kvi_seed(void);
/* splitmix64 step. */
uint64_t kvi_rand(uint64_t *state);
/* A random non-zero 32-bit value. */
uint32_t kvi_rand32nz(uint64_t *state);

/* ---- DRAM copies of values ------------------------------------------------ */

/* A value assembled in DRAM (names from several records or blocks). */
struct kv_value *kvi_value_new(uint32_t len, uint32_t crc, uint16_t n);

/*
 * A cache of assembled values keyed by a 64-bit id, for get() results that
 * cannot point into the pool. Entries live until removed or until the
 * cache is trimmed (only at put/del/flushall, when get() pointers expire).
 */
struct kvi_vcache {
	struct kvi_vcache_ent **b;
	size_t nb;                /* buckets, power of two */
	size_t n;
	size_t bytes;
};

struct kv_value *kvi_vcache_get(struct kvi_vcache *c, uint64_t id);
/* Takes ownership of @v; returns it, or NULL (v freed) on ENOMEM. */
struct kv_value *kvi_vcache_put(struct kvi_vcache *c, uint64_t id,
				struct kv_value *v);
void kvi_vcache_remove(struct kvi_vcache *c, uint64_t id);
void kvi_vcache_clear(struct kvi_vcache *c);
/* Clear when above @max_bytes. */
void kvi_vcache_trim(struct kvi_vcache *c, size_t max_bytes);

#endif /* KV_INDEX_COMMON_H */
