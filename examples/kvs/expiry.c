/* SPDX-License-Identifier: BSD-3-Clause */
/* paste-kvs: the keys with a deadline (expiry.h), a chained hash table by key. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "expiry.h"
#include "keyhash.h"

#define BUCKETS_MIN 4096

struct kv_expiry_node {
	struct kv_expiry_node *next;
	uint64_t hash;            /* kv_key_hash of the key: for growing */
	uint64_t deadline_ms;
	uint16_t len;
	char key[];
};

struct kv_expiry *
kv_expiry_open(void)
{
	struct kv_expiry *e;

	if (kv_key_hash_init() != 0)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->b = calloc(BUCKETS_MIN, sizeof(e->b[0]));
	if (e->b == NULL) {
		free(e);
		return NULL;
	}
	e->nb = BUCKETS_MIN;
	return e;
}

void
kv_expiry_close(struct kv_expiry *e)
{
	if (e == NULL)
		return;
	kv_expiry_clear_all(e);
	free(e->b);
	free(e);
}

/* Twice the buckets; out of memory, the chains just get longer. */
static void
grow(struct kv_expiry *e)
{
	size_t nb = e->nb * 2, i;
	struct kv_expiry_node **b = calloc(nb, sizeof(*b)), *n;

	if (b == NULL)
		return;
	for (i = 0; i < e->nb; i++)
		while ((n = e->b[i]) != NULL) {
			e->b[i] = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	free(e->b);
	e->b = b;
	e->nb = nb;
	e->cursor = 0;
}

uint64_t
kv_expiry_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct kv_expiry_node **
slot(struct kv_expiry *e, const char *key, uint16_t len, uint64_t h)
{
	struct kv_expiry_node **p = &e->b[h & (e->nb - 1)];

	while (*p != NULL && ((*p)->len != len || memcmp((*p)->key, key, len) != 0))
		p = &(*p)->next;
	return p;
}

uint64_t
kv_expiry_get(struct kv_expiry *e, const char *key, uint16_t len)
{
	struct kv_expiry_node *n = *slot(e, key, len, kv_key_hash(key, len));

	return n != NULL ? n->deadline_ms : 0;
}

void
kv_expiry_set(struct kv_expiry *e, const char *key, uint16_t len, uint64_t deadline_ms)
{
	uint64_t h = kv_key_hash(key, len);
	struct kv_expiry_node **p = slot(e, key, len, h), *n = *p;

	if (n == NULL) {
		n = malloc(sizeof(*n) + len);
		if (n == NULL)
			return;
		n->next = NULL;
		n->hash = h;
		n->len = len;
		memcpy(n->key, key, len);
		*p = n;
		if (++e->n > e->nb)
			grow(e);
	}
	n->deadline_ms = deadline_ms;
}

void
kv_expiry_clear(struct kv_expiry *e, const char *key, uint16_t len)
{
	struct kv_expiry_node **p = slot(e, key, len, kv_key_hash(key, len)), *n = *p;

	if (n != NULL) {
		*p = n->next;
		free(n);
		e->n--;
	}
}

void
kv_expiry_clear_all(struct kv_expiry *e)
{
	size_t i;

	for (i = 0; i < e->nb; i++)
		while (e->b[i] != NULL) {
			struct kv_expiry_node *n = e->b[i];

			e->b[i] = n->next;
			free(n);
		}
	e->n = 0;
}

uint64_t
kv_expiry_collect(struct kv_expiry *e, uint64_t now_ms, size_t buckets,
		  kv_expiry_fn fn, void *arg)
{
	struct kv_expiry_node **p, *n;
	uint64_t found = 0;
	size_t i;

	if (buckets > e->nb)
		buckets = e->nb;
	for (i = 0; i < buckets && e->n > 0; i++) {
		p = &e->b[e->cursor];
		e->cursor = (e->cursor + 1) & (e->nb - 1);
		while ((n = *p) != NULL) {
			if (n->deadline_ms > now_ms) {
				p = &n->next;
				continue;
			}
			*p = n->next;
			e->n--;
			found++;
			fn(arg, n->key, n->len);
			free(n);
		}
	}
	return found;
}
