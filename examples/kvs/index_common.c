/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/random.h>

#include "index_common.h"

int
kvi_check_key(const void *key, uint16_t key_len)
{
	if ((key == NULL && key_len != 0) || key_len > KV_KEY_MAX)
		return -EINVAL;
	return 0;
}

int
kvi_check_value(const struct pst_pool *pool, const struct kv_value *value)
{
	uint64_t sum = 0;
	uint16_t i;

	if (value == NULL)
		return -EINVAL;
	for (i = 0; i < value->n; i++) {
		if (!pst_pool_name_valid(pool, value->names[i]))
			return -EINVAL;
		sum += pst_name_length(value->names[i]);
	}
	return sum == value->len ? 0 : -EINVAL;
}

/* ---- arrays ------------------------------------------------------------- */

int
kvi_vec_push(struct kvi_vec *vec, uint32_t x)
{
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 64;
		uint32_t *v = realloc(vec->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		vec->v = v;
		vec->cap = cap;
	}
	vec->v[vec->n++] = x;
	return 0;
}

void
kvi_vec_fini(struct kvi_vec *vec)
{
	free(vec->v);
	vec->v = NULL;
	vec->n = vec->cap = 0;
}

/* ---- buffers referenced by the recovered index ------------------------- */

int
kvi_referenced_init(struct kvi_referenced *r, uint64_t buf_count)
{
	r->kept = 0;
	r->nbits = buf_count;
	r->bits = calloc((buf_count + 63) / 64, sizeof(uint64_t));
	return r->bits != NULL ? 0 : -ENOMEM;
}

void
kvi_referenced_fini(struct kvi_referenced *r)
{
	free(r->bits);
	r->bits = NULL;
	r->nbits = 0;
}

void
kvi_referenced_add(struct kvi_referenced *r, uint32_t index)
{
	if (r->bits != NULL && index < r->nbits)
		r->bits[index / 64] |= 1ull << (index % 64);
}

void
kvi_referenced_remove(struct kvi_referenced *r, uint32_t index)
{
	if (r->bits != NULL && index < r->nbits)
		r->bits[index / 64] &= ~(1ull << (index % 64));
}

static int
referenced_has(const struct kvi_referenced *r, uint32_t index)
{
	return r->bits != NULL && index < r->nbits &&
	       (r->bits[index / 64] >> (index % 64)) & 1;
}

void
kvi_referenced_remove_value(struct kvi_referenced *r, const struct kv_value *v)
{
	uint16_t i;

	if (r->bits == NULL)
		return;
	for (i = 0; i < v->n; i++)
		kvi_referenced_remove(r, pst_name_index(v->names[i]));
}

int
kvi_take(struct pst_pool *pool, struct kvi_referenced *r, uint32_t *index)
{
	for (;;) {
		uint32_t i;
		int ret = pst_pool_take(pool, &i);

		if (ret != 0)
			return ret == -ENOBUFS ? -ENOSPC : ret;
		if (!referenced_has(r, i)) {
			*index = i;
			return 0;
		}
		/* Referenced by the recovered index but free in the pool:
		 * keep it, as reconciliation would, and look further. */
		kvi_referenced_remove(r, i);
		if (pst_pool_keep(pool, i) != 0)
			pst_pool_release(pool, i);
		else
			r->kept++;
	}
}

void
kvi_release(struct pst_pool *pool, struct kvi_referenced *r, uint32_t index)
{
	kvi_referenced_remove(r, index);
	(void)pst_pool_release(pool, index);
}

void
kvi_report_open(struct kv_index_report *report, uint64_t entries, uint64_t torn,
		uint64_t fallbacks, uint64_t log_bytes, const struct timespec *t0)
{
	struct timespec t1;

	if (report == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	report->entries = entries;
	report->torn = torn;
	report->fallbacks = fallbacks;
	report->log_bytes = log_bytes;
	report->seconds = (double)(t1.tv_sec - t0->tv_sec) +
			  (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The pool's counters, all 0 if it cannot say. Read per request: the
 * four of pst_pool_levels(), not the whole pst_pool_stats(). */
static struct pst_pool_levels
pool_levels(const struct pst_pool *pool)
{
	struct pst_pool_levels lv;

	if (pst_pool_levels(pool, &lv) != 0)
		memset(&lv, 0, sizeof(lv));
	return lv;
}

uint64_t
kvi_drains(const struct pst_pool *pool)
{
	return pool_levels(pool).drains;
}

uint64_t
kvi_free_bufs(const struct pst_pool *pool)
{
	return pool_levels(pool).free;
}

int
kvi_drained_since(const struct pst_pool *pool, uint64_t drains_then)
{
	return kvi_drains(pool) != drains_then;
}

/* ---- random ------------------------------------------------------------ */

uint64_t
kvi_seed(void)
{
	uint64_t s = 0;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		s = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^
		    ((uint64_t)(uintptr_t)&s << 12);
	}
	return s;
}

uint64_t
kvi_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

uint32_t
kvi_rand32nz(uint64_t *state)
{
	uint32_t r;

	do
		r = (uint32_t)kvi_rand(state);
	while (r == 0);
	return r;
}

/* ---- DRAM values ------------------------------------------------------- */

struct kv_value *
kvi_value_new(uint32_t len, uint32_t crc, uint16_t n)
{
	struct kv_value *v = malloc(kvi_value_size(n));

	if (v == NULL)
		return NULL;
	v->len = len;
	v->crc = crc;
	v->n = n;
	v->deadline_ms = 0;
	return v;
}

struct kvi_vcache_ent {
	struct kvi_vcache_ent *next;
	uint64_t id;
	struct kv_value *v;
};

static size_t
vc_bucket(const struct kvi_vcache *c, uint64_t id)
{
	uint64_t h = id * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 32) & (c->nb - 1);
}

struct kv_value *
kvi_vcache_get(struct kvi_vcache *c, uint64_t id)
{
	struct kvi_vcache_ent *e;

	if (c->nb == 0)
		return NULL;
	for (e = c->b[vc_bucket(c, id)]; e != NULL; e = e->next)
		if (e->id == id)
			return e->v;
	return NULL;
}

static int
vc_grow(struct kvi_vcache *c)
{
	size_t nb = c->nb ? c->nb * 2 : 64, i;
	struct kvi_vcache_ent **b = calloc(nb, sizeof(*b));
	struct kvi_vcache old = *c;

	if (b == NULL)
		return -ENOMEM;
	c->b = b;
	c->nb = nb;
	for (i = 0; i < old.nb; i++) {
		struct kvi_vcache_ent *e = old.b[i], *next;

		for (; e != NULL; e = next) {
			size_t k = vc_bucket(c, e->id);

			next = e->next;
			e->next = c->b[k];
			c->b[k] = e;
		}
	}
	free(old.b);
	return 0;
}

struct kv_value *
kvi_vcache_put(struct kvi_vcache *c, uint64_t id, struct kv_value *v)
{
	struct kvi_vcache_ent *e;
	size_t k;

	if ((c->n + 1 > c->nb && vc_grow(c) != 0) ||
	    (e = malloc(sizeof(*e))) == NULL) {
		free(v);
		return NULL;
	}
	k = vc_bucket(c, id);
	e->id = id;
	e->v = v;
	e->next = c->b[k];
	c->b[k] = e;
	c->n++;
	c->bytes += kvi_value_size(v->n) + sizeof(*e);
	return v;
}

void
kvi_vcache_remove(struct kvi_vcache *c, uint64_t id)
{
	struct kvi_vcache_ent **pe;

	if (c->nb == 0)
		return;
	for (pe = &c->b[vc_bucket(c, id)]; *pe != NULL; pe = &(*pe)->next) {
		struct kvi_vcache_ent *e = *pe;

		if (e->id == id) {
			*pe = e->next;
			c->bytes -= kvi_value_size(e->v->n) + sizeof(*e);
			c->n--;
			free(e->v);
			free(e);
			return;
		}
	}
}

void
kvi_vcache_clear(struct kvi_vcache *c)
{
	size_t i;

	for (i = 0; i < c->nb; i++) {
		struct kvi_vcache_ent *e = c->b[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e->v);
			free(e);
		}
	}
	free(c->b);
	c->b = NULL;
	c->nb = c->n = c->bytes = 0;
}

void
kvi_vcache_trim(struct kvi_vcache *c, size_t max_bytes)
{
	if (c->bytes > max_bytes)
		kvi_vcache_clear(c);
}
