/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs: the B+tree index's DRAM key order (keyorder.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashorder.h"
#include "keyorder.h"

static int
slot_of(const void *tab, size_t i, uint32_t *h32)
{
	const struct kv_keyorder_slot *s = (const struct kv_keyorder_slot *)tab + i;

	*h32 = s->h32;
	return s->used;
}

static void
place(struct kv_keyorder_slot *tab, size_t cap, const struct kv_keyorder_slot *s)
{
	size_t mask = cap - 1, i;

	for (i = kv_hashorder_home(s->h32, kv_hashorder_shift(cap)); tab[i].used;
	     i = (i + 1) & mask)
		;
	tab[i] = *s;
}

static int
resize(struct kv_keyorder *o, size_t cap)
{
	struct kv_keyorder_slot *t = calloc(cap, sizeof(*t));
	size_t i;

	if (t == NULL)
		return -ENOMEM;
	for (i = 0; i < o->cap; i++)
		if (o->tab[i].used)
			place(t, cap, &o->tab[i]);
	free(o->tab);
	o->tab = t;
	o->cap = cap;
	o->shift = kv_hashorder_shift(cap);
	return 0;
}

int
kv_keyorder_init(struct kv_keyorder *o)
{
	memset(o, 0, sizeof(*o));
	o->tab = calloc(KV_HASHORDER_MIN_CAP, sizeof(*o->tab));
	if (o->tab == NULL)
		return -ENOMEM;
	o->cap = KV_HASHORDER_MIN_CAP;
	o->shift = kv_hashorder_shift(o->cap);
	return 0;
}

void
kv_keyorder_clear(struct kv_keyorder *o)
{
	size_t i;

	for (i = 0; i < o->cap; i++)
		if (o->tab[i].used)
			kv_keyorder_key_free(&o->tab[i].key, o->tab[i].len);
	memset(o->tab, 0, o->cap * sizeof(*o->tab));
	o->count = 0;
	o->key_bytes = 0;
	if (!o->hold && o->cap > KV_HASHORDER_MIN_CAP)
		(void)resize(o, KV_HASHORDER_MIN_CAP);
}

void
kv_keyorder_fini(struct kv_keyorder *o)
{
	size_t i;

	for (i = 0; o->tab != NULL && i < o->cap; i++)
		if (o->tab[i].used)
			kv_keyorder_key_free(&o->tab[i].key, o->tab[i].len);
	free(o->tab);
	free(o->spare);
	memset(o, 0, sizeof(*o));
}

void
kv_keyorder_hold(struct kv_keyorder *o, int on)
{
	size_t cap = o->cap;

	o->hold = on;
	if (on)
		return;
	while (kv_hashorder_shrink(o->count, cap))
		cap /= 2;
	if (cap != o->cap)
		(void)resize(o, cap);   /* failed: stays larger */
}

static struct kv_keyorder_slot *
find(const struct kv_keyorder *o, const void *key, uint16_t len, uint32_t h32)
{
	size_t mask = o->cap - 1, i;

	for (i = kv_hashorder_home(h32, o->shift); o->tab[i].used; i = (i + 1) & mask) {
		struct kv_keyorder_slot *s = &o->tab[i];

		if (s->h32 == h32 && s->len == len &&
		    (len == 0 || memcmp(kv_keyorder_key_bytes(&s->key, len), key, len) == 0))
			return s;
	}
	return NULL;
}

int
kv_keyorder_has(const struct kv_keyorder *o, const void *key, uint16_t len, uint32_t h32)
{
	return find(o, key, len, h32) != NULL;
}

int
kv_keyorder_prepare(struct kv_keyorder *o, uint16_t len)
{
	size_t cap = o->cap;

	while ((o->count + 2) * 4 > cap * 3)
		cap *= 2;
	if (cap != o->cap && resize(o, cap) != 0)
		return -ENOMEM;
	if (o->spare != NULL) {   /* a prepare() no insert followed */
		free(o->spare);
		o->spare = NULL;
	}
	if (len > KV_KEYORDER_INLINE) {
		o->spare = malloc(len);
		if (o->spare == NULL)
			return -ENOMEM;
	}
	return 0;
}

struct kv_keyorder_key
kv_keyorder_insert(struct kv_keyorder *o, const void *key, uint16_t len, uint32_t h32,
		   const struct kv_keyorder_key *copy)
{
	struct kv_keyorder_slot s = { .h32 = h32, .len = len, .used = 1 };

	if (copy != NULL) {
		s.key = *copy;
	} else if (len <= KV_KEYORDER_INLINE) {
		if (len > 0)
			memcpy(s.key.inl, key, len);
	} else {
		s.key.heap = o->spare;
		o->spare = NULL;
		memcpy(s.key.heap, key, len);
	}
	place(o->tab, o->cap, &s);
	o->count++;
	if (len > KV_KEYORDER_INLINE)
		o->key_bytes += len;
	return s.key;
}

void
kv_keyorder_key_free(struct kv_keyorder_key *copy, uint16_t len)
{
	if (len > KV_KEYORDER_INLINE)
		free(copy->heap);
}

int
kv_keyorder_remove(struct kv_keyorder *o, const void *key, uint16_t len, uint32_t h32,
		   struct kv_keyorder_key *copy)
{
	struct kv_keyorder_slot *s = find(o, key, len, h32);
	size_t mask = o->cap - 1, i, j, home;

	if (s == NULL)
		return 0;
	if (copy != NULL)
		*copy = s->key;
	else
		kv_keyorder_key_free(&s->key, len);
	/* Backward-shift deletion, as the wal table does. */
	i = j = (size_t)(s - o->tab);
	for (;;) {
		j = (j + 1) & mask;
		if (!o->tab[j].used)
			break;
		home = kv_hashorder_home(o->tab[j].h32, o->shift);
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			o->tab[i] = o->tab[j];
			i = j;
		}
	}
	memset(&o->tab[i], 0, sizeof(o->tab[i]));
	o->count--;
	if (len > KV_KEYORDER_INLINE)
		o->key_bytes -= len;
	if (!o->hold && kv_hashorder_shrink(o->count, o->cap))
		(void)resize(o, o->cap / 2);
	return 1;
}

struct emit {
	const struct kv_keyorder *o;
	kv_key_fn fn;
	void *arg;
};

static void
emit(void *arg, size_t i)
{
	const struct emit *e = arg;

	const struct kv_keyorder_slot *s = &e->o->tab[i];

	e->fn(e->arg, kv_keyorder_key_bytes(&s->key, s->len), s->len);
}

void
kv_keyorder_scan(const struct kv_keyorder *o, uint64_t cursor, uint64_t count, kv_key_fn fn,
		 void *arg, uint64_t *next)
{
	struct emit e = { o, fn, arg };

	kv_hashorder_scan(o->tab, o->cap, o->count, slot_of, (uint32_t)(cursor >> 32), count, emit, &e,
			  next);
}

void
kv_keyorder_random(const struct kv_keyorder *o, uint64_t seed, kv_key_fn fn, void *arg)
{
	long i = kv_hashorder_random(o->tab, o->cap, slot_of, seed);

	if (i >= 0)
		fn(arg, kv_keyorder_key_bytes(&o->tab[i].key, o->tab[i].len), o->tab[i].len);
}

uint64_t
kv_keyorder_bytes(const struct kv_keyorder *o)
{
	return o->cap * sizeof(*o->tab) + o->key_bytes;
}
