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

struct collect {
	uint64_t from;
	struct kv_key_batch *b;
	int err;
};

/* The index's step covers whole 32-bit hashes: a cursor a client made up
 * (not a multiple of 2^32) leaves out the keys of its hash below it. */
static void
collect_key(void *arg, const void *key, uint16_t len)
{
	struct collect *c = arg;
	uint64_t o = kv_keyspace_ord(key, len);

	if (o >= c->from && c->err == 0)
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
	struct collect c = { .from = cursor, .b = b };
	int ret;

	kv_key_batch_clear(b);
	*next = 0;
	ret = ops->scan(idx, cursor, count > 0 ? count : 1, collect_key, &c, next);
	if (ret == 0)
		ret = c.err;
	if (ret != 0) {
		kv_key_batch_clear(b);
		*next = 0;
		return ret;
	}
	if (b->n > 1)            /* b->v is NULL while nothing was collected */
		qsort(b->v, b->n, sizeof(b->v[0]), ref_cmp);
	return 0;
}

/* ---- KEYS and RANDOMKEY ------------------------------------------------- */

struct match {
	const char *pat;
	size_t plen;
	int all;
	struct kv_key_batch *b;
	int err;
};

static void
match_key(void *arg, const void *key, uint16_t len)
{
	struct match *m = arg;

	if (m->err != 0)
		return;
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

struct one {
	struct kv_key_batch *b;
	int err;
};

static void
one_key(void *arg, const void *key, uint16_t len)
{
	struct one *o = arg;

	o->err = batch_add(o->b, key, len, 0);
}

int
kv_keyspace_random(const struct kv_index_ops *ops, struct kv_index *idx, uint64_t seed,
		   struct kv_key_batch *b)
{
	struct one o = { .b = b };
	int ret;

	kv_key_batch_clear(b);
	ret = ops->random_key(idx, seed, one_key, &o);
	if (ret == 0)
		ret = o.err;
	if (ret != 0)
		kv_key_batch_clear(b);
	return ret;
}
