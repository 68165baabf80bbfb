/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: keyspace walks (keyspace.h) over an index's keys() op.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "glob.h"
#include "keyhash.h"
#include "keyspace.h"

uint64_t
kv_keyspace_ord(const void *key, uint16_t len)
{
	uint64_t h = kv_key_hash(key, len);

	/* Halves swapped: the top 32 bits are what the wal table keeps. */
	return (h << 32) | (h >> 32);
}

/* The order values a key whose hash's low 32 bits are @h32 may have. */
static inline uint64_t
ord_lo(uint32_t h32)
{
	return (uint64_t)h32 << 32;
}

static inline uint64_t
ord_hi(uint32_t h32)
{
	return ((uint64_t)h32 << 32) | UINT32_MAX;
}

void
kv_key_batch_clear(struct kv_key_batch *b)
{
	b->n = 0;
	b->used = 0;
}

void
kv_key_batch_free(struct kv_key_batch *b)
{
	free(b->v);
	free(b->bytes);
	free(b->heap);
	memset(b, 0, sizeof(*b));
}

/* Append a key; -ENOMEM leaves the batch as it was. */
static int
batch_add(struct kv_key_batch *b, const void *key, uint16_t len, uint64_t ord)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		struct kv_key_ref *v = realloc(b->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		b->v = v;
		b->cap = cap;
	}
	if (b->room - b->used < len) {
		size_t room = b->room ? 2 * b->room : 4096;
		char *p;

		while (room - b->used < len)
			room *= 2;
		p = realloc(b->bytes, room);
		if (p == NULL)
			return -ENOMEM;
		b->bytes = p;
		b->room = room;
	}
	if (len > 0)
		memcpy(b->bytes + b->used, key, len);
	b->v[b->n].ord = ord;
	b->v[b->n].off = b->used;
	b->v[b->n].len = len;
	b->n++;
	b->used += len;
	return 0;
}

/* ---- SCAN ---------------------------------------------------------------- */

/* The first pass: the @want smallest order values >= @from, in a max-heap
 * of @cap entries (the largest on top: the batch's last value). */
struct bound {
	uint64_t from;
	uint64_t *heap;
	size_t n, want;
};

static void
heap_down(uint64_t *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < n && h[l] > h[m])
			m = l;
		if (l + 1 < n && h[l + 1] > h[m])
			m = l + 1;
		if (m == i)
			return;
		uint64_t t = h[i];

		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void
heap_up(uint64_t *h, size_t i)
{
	while (i > 0 && h[(i - 1) / 2] < h[i]) {
		uint64_t t = h[i];

		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

/* Could the key enter the heap? (Skipped by the wal table unread.) */
static int
bound_want(void *arg, uint32_t h32)
{
	const struct bound *bd = arg;

	return ord_hi(h32) >= bd->from && (bd->n < bd->want || ord_lo(h32) <= bd->heap[0]);
}

static void
bound_key(void *arg, const void *key, uint16_t len)
{
	struct bound *bd = arg;
	uint64_t o = kv_keyspace_ord(key, len);

	if (o < bd->from)
		return;
	if (bd->n < bd->want) {
		bd->heap[bd->n] = o;
		heap_up(bd->heap, bd->n++);
	} else if (o < bd->heap[0]) {
		bd->heap[0] = o;
		heap_down(bd->heap, bd->n, 0);
	}
}

/* The second pass: every key in [from, last]. */
struct collect {
	uint64_t from, last;
	struct kv_key_batch *b;
	int err;
};

static int
collect_want(void *arg, uint32_t h32)
{
	const struct collect *c = arg;

	return ord_hi(h32) >= c->from && ord_lo(h32) <= c->last;
}

static void
collect_key(void *arg, const void *key, uint16_t len)
{
	struct collect *c = arg;
	uint64_t o = kv_keyspace_ord(key, len);

	if (o >= c->from && o <= c->last && c->err == 0)
		c->err = batch_add(c->b, key, len, o);
}

static int
ref_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct kv_key_ref *)a)->ord, y = ((const struct kv_key_ref *)b)->ord;

	return (x > y) - (x < y);
}

int
kv_keyspace_scan(const struct kv_index_ops *ops, struct kv_index *idx,
		 uint64_t cursor, uint64_t count, struct kv_key_batch *b,
		 uint64_t *next)
{
	uint64_t total = ops->count(idx);
	struct bound bd = { .from = cursor };
	struct collect c = { .from = cursor, .b = b };
	int ret, all;

	kv_key_batch_clear(b);
	*next = 0;
	if (count < total / KV_SCAN_CALLS)
		count = total / KV_SCAN_CALLS;
	all = count >= total;   /* then one call covers the rest, at least */
	if (all)
		count = total;
	if (count == 0)
		return 0;
	if (b->heap_cap < count) {
		uint64_t *h = realloc(b->heap, count * sizeof(*h));

		if (h == NULL)
			return -ENOMEM;
		b->heap = h;
		b->heap_cap = count;
	}
	bd.heap = b->heap;
	bd.want = count;
	ret = ops->keys(idx, bound_want, bound_key, &bd);
	if (ret != 0 || bd.n == 0)
		return ret;
	/* Fewer than asked for: the range runs to the end of the order. */
	c.last = all || bd.n < bd.want ? UINT64_MAX : bd.heap[0];
	ret = ops->keys(idx, collect_want, collect_key, &c);
	if (ret == 0)
		ret = c.err;
	if (ret != 0) {
		kv_key_batch_clear(b);
		return ret;
	}
	qsort(b->v, b->n, sizeof(b->v[0]), ref_cmp);
	/* Past the last value, 0 when that wraps: nothing is beyond it. */
	*next = c.last == UINT64_MAX ? 0 : c.last + 1;
	return 0;
}

/* ---- KEYS and RANDOMKEY ------------------------------------------------- */

struct match {
	const char *pat;
	size_t plen;
	int all;
	uint64_t skip;            /* nth: keys still to pass over */
	int want_one;
	struct kv_key_batch *b;
	int err;
};

static void
match_key(void *arg, const void *key, uint16_t len)
{
	struct match *m = arg;

	if (m->err != 0)
		return;
	if (m->want_one) {
		if (m->skip-- == 0)
			m->err = batch_add(m->b, key, len, 0);
		return;
	}
	if (m->all || kv_glob_match(m->pat, m->plen, key, len))
		m->err = batch_add(m->b, key, len, 0);
}

int
kv_keyspace_keys(const struct kv_index_ops *ops, struct kv_index *idx,
		 const char *pat, size_t plen, struct kv_key_batch *b)
{
	/* "*" is every key, the empty one included (Redis's allkeys). */
	struct match m = { .pat = pat, .plen = plen, .all = plen == 1 && pat[0] == '*', .b = b };
	int ret;

	kv_key_batch_clear(b);
	ret = ops->keys(idx, NULL, match_key, &m);
	if (ret == 0)
		ret = m.err;
	if (ret != 0)
		kv_key_batch_clear(b);
	return ret;
}

int
kv_keyspace_nth(const struct kv_index_ops *ops, struct kv_index *idx, uint64_t nth,
		struct kv_key_batch *b)
{
	struct match m = { .skip = nth, .want_one = 1, .b = b };
	int ret;

	kv_key_batch_clear(b);
	ret = ops->keys(idx, NULL, match_key, &m);
	if (ret == 0)
		ret = m.err;
	if (ret != 0)
		kv_key_batch_clear(b);
	return ret;
}
