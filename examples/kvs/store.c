/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>

#if defined(__x86_64__) && defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

#include "cluster.h"
#include "kv_limits.h"
#include "paste_media.h"
#include "store.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void
kv_ref(struct kv_store *st, pst_name name)
{
	st->refs[pst_name_index(name)]++;
}

void
kv_unref(struct kv_store *st, pst_name name)
{
	uint32_t i = pst_name_index(name);

	if (st->refs[i] > 0 && --st->refs[i] == 0)
		pst_pool_release(st->pool, pst_name_index(name));
}

static void
count_slot(struct kv_store *st, const void *key, size_t key_len, int delta)
{
	if (st->slot_keys != NULL)
		st->slot_keys[kv_cluster_key_slot(key, key_len)] += (uint32_t)delta;
}

uint64_t
kv_store_stage_clock(const struct kv_store *st)
{
	return st->stages_on ? rte_rdtsc() : 0;
}

/* The time since *@t into @stage, and *@t now, when stages are timed:
 * untimed, a test of one flag per stage, not a clock call and a sum. */
static inline void
stage_lap(const struct kv_store *st, uint64_t *stage, uint64_t *t)
{
	uint64_t now;

	if (!st->stages_on)
		return;
	now = rte_rdtsc();
	*stage += now - *t;
	*t = now;
}

/* Distinct buffers of a value, each referenced once per value. */
static void
value_refs(struct kv_store *st, const pst_name *names, unsigned int n, int delta)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (i > 0 && pst_name_index(names[i]) == pst_name_index(names[i - 1]))
			continue;
		if (delta > 0)
			kv_ref(st, names[i]);
		else
			kv_unref(st, names[i]);
	}
}

/* pst_crc32c() of the 12-byte chaining record { crc, part, len } in host
 * order, which SETs and recovery (value_crc_guarded()) both chain: the
 * same value in two instructions where the general call, per part of
 * every SET, cost about thirty. */
static inline uint32_t
chain_crc(uint32_t crc, uint32_t part, uint32_t len)
{
#if defined(__x86_64__) && defined(__SSE4_2__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t c = _mm_crc32_u64(0xffffffffu, (uint64_t)crc | (uint64_t)part << 32);

	return ~_mm_crc32_u32((uint32_t)c, len);
#else
	uint32_t rec[3] = { crc, part, len };

	return pst_crc32c(rec, sizeof(rec));
#endif
}

/* The value's checksum: CRC32C of the concatenation, chained over the
 * parts (each part's checksum seeds the next through a small 12-byte
 * record, which is what recovery recomputes). @addrs (NULL: found here)
 * gives where each part's bytes are, NULL for a name that is not valid;
 * @parts (NULL: none) the checksums of whole spans taken as they arrived
 * (kv_stream_names_parts); the others are computed here. */
static uint32_t
value_crc_of(struct kv_store *st, const void *const *addrs, const pst_name *names,
	     const struct kv_part *parts, unsigned int n)
{
	uint32_t crc = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		const void *p;
		uint32_t len = pst_name_length(names[i]), part;

		if (parts != NULL && (parts[i].flags & KV_SPAN_CRC)) {
			part = parts[i].crc;
		} else {
			p = addrs != NULL ? addrs[i] : pst_pool_name_to_addr(st->pool, names[i]);
			part = p ? pst_crc32c(p, len) : 0;
		}
		crc = chain_crc(crc, part, len);
	}
	return crc;
}

static uint32_t
value_crc(struct kv_store *st, const pst_name *names, const struct kv_part *parts,
	  unsigned int n)
{
	return value_crc_of(st, NULL, names, parts, n);
}

/* value_crc() of parts whose addresses were found already (@addrs). */
static uint32_t
value_crc_at(const void *const *addrs, const pst_name *names,
	     const struct kv_part *parts, unsigned int n)
{
	return value_crc_of(NULL, addrs, names, parts, n);
}

/* value_crc() of a value in a pool just opened, whose lines may be
 * poisoned: 0, or -EIO if reading a part raised SIGBUS. */
static int
value_crc_guarded(struct kv_store *st, const pst_name *names, unsigned int n,
		  uint32_t *out)
{
	uint32_t crc = 0, part;
	unsigned int i;

	for (i = 0; i < n; i++) {
		const void *p = pst_pool_name_to_addr(st->pool, names[i]);
		uint32_t len = pst_name_length(names[i]);

		if (p == NULL || pst_media_crc32c(p, len, &part) != 0)
			return -EIO;
		crc = chain_crc(crc, part, len);
	}
	*out = crc;
	return 0;
}

/* ---- release after durable replacement -------------------------------- */

/* The buffers of values a put/del dropped stay referenced until a drain has
 * made the change durable: until then the durable index still names them,
 * and a power loss that cuts the new value's bytes falls back to them. */
static void
deferred_release(struct kv_store *st)
{
	size_t i;

	for (i = 0; i < st->deferred.n; i++)
		kv_unref(st, st->deferred.v[i]);
	st->deferred.n = 0;
}

void
kv_store_release_durable(struct kv_store *st)
{
	struct pst_pool_levels ps;

	if (st->deferred.n == 0)
		return;
	pst_pool_levels(st->pool, &ps);
	if (ps.drains != st->deferred_drains)
		deferred_release(st);
}

static void
defer_push(struct kv_store *st, pst_name name)
{
	struct kv_deferred *d = &st->deferred;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 1024;
		pst_name *v = realloc(d->v, cap * sizeof(*v));

		if (v == NULL && st->unit_open) {
			/* A drain now would release a value the unit may
			 * still give back: fail the unit (it keeps the
			 * reference, undone or not). */
			st->unit_err = -ENOMEM;
			return;
		}
		if (v == NULL) {
			/* No room to wait: make the change (written and
			 * flushed before on_old) durable now. After a failed
			 * drain the references stay held: the next start's
			 * reconciliation frees the buffers. */
			if (pst_pool_drain(st->pool) == 0) {
				deferred_release(st);
				kv_unref(st, name);
			}
			return;
		}
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = name;
}

static void
on_old(void *arg, const void *key, uint16_t key_len, const struct kv_value *v)
{
	struct kv_store *st = arg;
	struct pst_pool_levels ps;
	unsigned int i;

	(void)key;
	(void)key_len;
	st->value_bytes -= v->len;
	for (i = 0; i < v->n; i++)
		if (i == 0 || pst_name_index(v->names[i]) != pst_name_index(v->names[i - 1]))
			defer_push(st, v->names[i]);
	pst_pool_levels(st->pool, &ps);
	st->deferred_drains = ps.drains;
}

/* ---- recovery --------------------------------------------------------- */

struct recovery {
	struct kv_store *st;
	pst_name *live;            /* names to keep (reconcile) */
	size_t n_live, cap;
	uint64_t cut;              /* values check() found cut */
	int oom;
};

static void
live_push(struct recovery *r, pst_name name)
{
	if (r->n_live == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;
		pst_name *p = realloc(r->live, cap * sizeof(*p));

		if (p == NULL) {
			r->oom = 1;
			return;
		}
		r->live = p;
		r->cap = cap;
	}
	r->live[r->n_live++] = name;
}

/* A recovered key with a deadline, for kv_store_recovered_deadlines(): its
 * deadline (8 bytes), length (2) and bytes, one after another. */
static void
deadline_push(struct recovery *r, const void *key, uint16_t key_len,
	      uint64_t deadline_ms)
{
	struct kv_store *st = r->st;
	size_t need = st->deadlines_len + 10 + key_len;

	if (need > st->deadlines_cap) {
		size_t cap = st->deadlines_cap ? st->deadlines_cap * 2 : 65536;
		char *p;

		while (cap < need)
			cap *= 2;
		p = realloc(st->deadlines, cap);
		if (p == NULL) {
			r->oom = 1;
			return;
		}
		st->deadlines = p;
		st->deadlines_cap = cap;
	}
	memcpy(st->deadlines + st->deadlines_len, &deadline_ms, 8);
	memcpy(st->deadlines + st->deadlines_len + 8, &key_len, 2);
	memcpy(st->deadlines + st->deadlines_len + 10, key, key_len);
	st->deadlines_len = need;
}

void
kv_store_recovered_deadlines(struct kv_store *st, kv_deadline_fn fn, void *arg)
{
	size_t off = 0;
	uint64_t deadline;
	uint16_t len;

	while (off + 10 <= st->deadlines_len) {
		memcpy(&deadline, st->deadlines + off, 8);
		memcpy(&len, st->deadlines + off + 8, 2);
		fn(arg, st->deadlines + off + 10, len, deadline);
		off += 10 + (size_t)len;
	}
	free(st->deadlines);
	st->deadlines = NULL;
	st->deadlines_len = st->deadlines_cap = 0;
}

static void
on_owned(void *arg, pst_name name)
{
	live_push(arg, name);
}

/* A value is whole when every name is valid and its bytes match its CRC.
 * One written in the batch a power loss cut may miss lines: it was never
 * acknowledged, and the index falls back to the key's previous version.
 * One on a known bad block of the medium, or whose read raises SIGBUS (a
 * poisoned line), is torn the same way: its bytes are lost. */
static int
value_whole(void *arg, const void *key, uint16_t key_len, const struct kv_value *v)
{
	struct recovery *r = arg;
	unsigned int i;
	uint32_t crc;

	(void)key;
	(void)key_len;
	for (i = 0; i < v->n; i++)
		if (!pst_pool_name_valid(r->st->pool, v->names[i]) ||
		    pst_pool_name_bad(r->st->pool, v->names[i]))
			break;
	if (i == v->n && value_crc_guarded(r->st, v->names, v->n, &crc) == 0 &&
	    crc == v->crc)
		return 1;
	r->cut++;
	return 0;
}

static void
on_recovered(void *arg, const void *key, uint16_t key_len, const struct kv_value *v)
{
	struct recovery *r = arg;
	struct kv_store *st = r->st;
	unsigned int i;

	for (i = 0; i < v->n; i++)
		live_push(r, v->names[i]);
	value_refs(st, v->names, v->n, +1);
	st->value_bytes += v->len;
	st->recovered++;
	count_slot(st, key, key_len, +1);
	if (v->deadline_ms != 0)
		deadline_push(r, key, key_len, v->deadline_ms);
}

int
kv_store_open(struct kv_store *st, struct pst_pool *pool,
	      const struct kv_index_ops *ops, unsigned int flags)
{
	struct pst_pool_reconcile_report rec;
	struct pst_pool_info info;
	struct recovery r = { .st = st };
	double t0 = now_s();
	int ret;

	memset(st, 0, sizeof(*st));
	st->pool = pool;
	st->ops = ops;
	st->copy_mode = (flags & KV_STORE_COPY) != 0;
	st->stages_on = (flags & KV_STORE_STAGES) != 0;
	pst_pool_info(pool, &info);
	st->buf_size = info.buf_size;
	st->buf_count = info.buf_count;
	st->refs = calloc(info.buf_count, sizeof(*st->refs));
	/* Only cluster mode answers COUNTKEYSINSLOT: elsewhere the slot of
	 * every new key would be a CRC16 for nothing. */
	if (flags & KV_STORE_SLOT_COUNTS)
		st->slot_keys = calloc(KV_CLUSTER_SLOTS, sizeof(*st->slot_keys));
	if (st->refs == NULL || ((flags & KV_STORE_SLOT_COUNTS) && st->slot_keys == NULL)) {
		ret = -ENOMEM;
		goto fail;
	}
	/* SIGBUS on a value's poisoned line makes it torn (value_whole())
	 * for as long as recovery reads; elsewhere it stays fatal. */
	ret = pst_media_guard_begin();
	if (ret != 0)
		goto fail;
	ret = ops->open(&st->idx, pool, on_recovered, on_owned, value_whole, &r,
			&st->report);
	pst_media_guard_end();
	if (ret != 0 || r.oom) {
		ret = ret ? ret : -ENOMEM;
		goto fail;
	}
	/* The index (and the values it references) is the truth: every other
	 * kept buffer is a leftover of requests that were never acknowledged,
	 * and a buffer whose release reached the medium while the recovered
	 * index still names it is kept again. */
	ret = pst_pool_drain(pool);
	if (ret == 0)
		ret = pst_pool_reconcile(pool, r.live, r.n_live, &rec);
	if (ret != 0)
		goto fail;
	st->torn_values = r.cut;
	st->recovery_seconds = now_s() - t0;
	free(r.live);
	return 0;
fail:
	if (st->idx != NULL)
		ops->close(st->idx);
	st->idx = NULL;
	free(r.live);
	free(st->refs);
	st->refs = NULL;
	free(st->deadlines);
	st->deadlines = NULL;
	free(st->slot_keys);
	st->slot_keys = NULL;
	return ret;
}

void
kv_store_close(struct kv_store *st)
{
	if (st->unit_open)
		(void)kv_store_unit_abort(st);
	if (st->deferred.n > 0 && pst_pool_drain(st->pool) == 0)
		deferred_release(st);
	if (st->idx != NULL)
		st->ops->close(st->idx);
	st->idx = NULL;
	free(st->deferred.v);
	memset(&st->deferred, 0, sizeof(st->deferred));
	free(st->unit_undo.refs);
	free(st->unit_undo.slots);
	memset(&st->unit_undo, 0, sizeof(st->unit_undo));
	free(st->refs);
	st->refs = NULL;
	free(st->deadlines);
	st->deadlines = NULL;
	free(st->slot_keys);
	st->slot_keys = NULL;
}

/* ---- units: what the store undoes ------------------------------------- */

/* A write of the open unit failed: for want of room or memory (argument
 * errors write nothing and leave the unit as it was). */
static void
unit_fail(struct kv_store *st, int err)
{
	if (st->unit_open && st->unit_err == 0 && err != -EINVAL && err != -E2BIG)
		st->unit_err = err;
}

/* unit_room() past its common case: the unit failed, or a list grows. */
static __attribute__((noinline)) int
unit_room_grow(struct kv_store *st, unsigned int n)
{
	struct kv_unit_undo *u = &st->unit_undo;

	if (st->unit_err != 0)
		return st->unit_err;
	while (u->n_refs + n > u->cap_refs) {
		size_t cap = u->cap_refs ? 2 * u->cap_refs : 256;
		pst_name *v = realloc(u->refs, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		u->refs = v;
		u->cap_refs = cap;
	}
	if (st->slot_keys != NULL && u->n_slots == u->cap_slots) {
		size_t cap = u->cap_slots ? 2 * u->cap_slots : 64;
		uint32_t *v = realloc(u->slots, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		u->slots = v;
		u->cap_slots = cap;
	}
	return 0;
}

/* Room in the undo lists for a value of @n names and a slot change,
 * before the write (a note that cannot be taken would leak). Inline: one
 * test per write of a unit when there is room. */
static inline int
unit_room(struct kv_store *st, unsigned int n)
{
	const struct kv_unit_undo *u = &st->unit_undo;

	if (st->unit_err == 0 && u->n_refs + n <= u->cap_refs &&
	    (st->slot_keys == NULL || u->n_slots < u->cap_slots))
		return 0;
	return unit_room_grow(st, n);
}

/* The unit stored @v (referenced as value_refs() does) under @key;
 * @added: the key is new and counted in its cluster slot (never set
 * outside cluster mode, where the index's count is not asked). */
static void
unit_note(struct kv_store *st, const struct kv_value *v, const void *key,
	  uint16_t key_len, int added)
{
	struct kv_unit_undo *u = &st->unit_undo;
	unsigned int i;

	for (i = 0; i < v->n; i++)
		if (i == 0 || pst_name_index(v->names[i]) != pst_name_index(v->names[i - 1]))
			u->refs[u->n_refs++] = v->names[i];
	if (added)
		u->slots[u->n_slots++] = kv_cluster_key_slot(key, key_len) << 1 | 1;
}

/* Undo the store's side of a unit the index has undone: the replaced
 * values stay referenced (their deferred releases are dropped), the
 * unit's values lose the references they took. */
static void
unit_undo(struct kv_store *st)
{
	struct kv_unit_undo *u = &st->unit_undo;
	size_t i;

	if (st->deferred.n > st->unit_deferred)
		st->deferred.n = st->unit_deferred;
	for (i = 0; i < u->n_refs; i++)
		kv_unref(st, u->refs[i]);
	for (i = 0; st->slot_keys != NULL && i < u->n_slots; i++)
		st->slot_keys[u->slots[i] >> 1] += (u->slots[i] & 1) ? -1u : 1u;
	st->value_bytes = st->unit_value_bytes;
}

static void
unit_close(struct kv_store *st)
{
	st->unit_open = 0;
	st->unit_err = 0;
	st->unit_bufs = 0;
	st->unit_undo.n_refs = 0;
	st->unit_undo.n_slots = 0;
}

/* ---- operations ------------------------------------------------------- */

/* Copy @len bytes, starting @skip bytes into the spans @src (n of them),
 * into fresh pool buffers of their own, flushed and kept: what --copy does
 * with a value's receive buffers (as a store that is not co-designed with
 * the stack would), and what linux-kvs does with the bytes read() put in
 * DRAM. *n_dst names, in order. Returns 0, or -ENOSPC (pool full, or more
 * than KV_VALUE_NAMES_MAX buffers) with nothing kept. */
static int
copy_value(struct kv_store *st, const struct kv_span *src, unsigned int n,
	   size_t skip, size_t len, pst_name *dst, unsigned int *n_dst)
{
	uint32_t room = st->buf_size, index = 0, filled = 0, off;
	unsigned int i, k = 0;
	char *buf = NULL;

	for (i = 0; i < n && len > 0; i++) {
		const char *p = (const char *)src[i].data;
		uint32_t end = src[i].len;

		if (skip >= end) {
			skip -= end;
			continue;
		}
		off = (uint32_t)skip;
		skip = 0;
		if (end - off > len)
			end = off + (uint32_t)len;
		len -= end - off;
		while (off < end) {
			uint32_t chunk;

			if (buf == NULL || filled == room) {
				if (buf != NULL) {
					pst_pool_flush(st->pool, buf, filled);
					dst[k++] = pst_name_make(index, 0, (uint16_t)filled);
					pst_pool_keep(st->pool, index);
				}
				buf = NULL;
				if (k == KV_VALUE_NAMES_MAX || pst_pool_take(st->pool, &index) != 0)
					goto fail;
				buf = pst_pool_buf_addr(st->pool, index);
				filled = 0;
			}
			chunk = end - off < room - filled ? end - off : room - filled;
			memcpy(buf + filled, p + off, chunk);
			filled += chunk;
			off += chunk;
		}
	}
	if (len > 0)
		goto fail; /* the spans hold fewer bytes than asked */
	if (buf != NULL) {
		pst_pool_flush(st->pool, buf, filled);
		dst[k++] = pst_name_make(index, 0, (uint16_t)filled);
		pst_pool_keep(st->pool, index);
	}
	*n_dst = k;
	return 0;
fail:
	if (buf != NULL)
		pst_pool_release(st->pool, index);
	for (i = 0; i < k; i++)
		pst_pool_release(st->pool, pst_name_index(dst[i]));
	return -ENOSPC;
}

static inline size_t
value_size(uint16_t n)
{
	return sizeof(struct kv_value) + (size_t)n * sizeof(pst_name);
}

static union {
	struct kv_value v;
	char room[sizeof(struct kv_value) + KV_VALUE_NAMES_MAX * sizeof(pst_name)];
} set_value;

/* Put v (names, n, len and deadline set) under key: checksum (unless
 * @have_crc: v->crc is set, the names being a stored value's or their
 * checksum taken by the caller; @parts: see value_crc),
 * index entry (flushed), references. @copied: the names are buffers of the value's own, released
 * if the put fails. */
static int
store_put(struct kv_store *st, const void *key, uint16_t key_len,
	  struct kv_value *v, const struct kv_part *parts, int copied, int have_crc)
{
	/* Whether the put adds a key is asked of the index only where it is
	 * used: cluster slots' key counts (and a unit's undo of them). */
	int ask = st->slot_keys != NULL, added = 0;
	uint64_t keys = ask ? st->ops->count(st->idx) : 0, t;
	unsigned int i;
	int ret;

	if (st->unit_open) {
		ret = unit_room(st, v->n);
		if (ret != 0)
			goto fail;
	} else {
		kv_store_release_durable(st);
	}
	t = kv_store_stage_clock(st);
	if (!have_crc) {
		v->crc = value_crc(st, v->names, parts, v->n);
		stage_lap(st, &st->stages.crc, &t);
	}
	ret = st->ops->put(st->idx, key, key_len, v, on_old, st);
	stage_lap(st, &st->stages.index, &t);
	if (ret != 0)
		goto fail;
	value_refs(st, v->names, v->n, +1);
	st->value_bytes += v->len;
	st->sets++;
	if (ask && st->ops->count(st->idx) > keys) {
		added = 1;
		count_slot(st, key, key_len, +1);
	}
	if (st->on_write != NULL)
		st->on_write(st->on_write_arg, key, key_len);
	if (st->unit_open)
		unit_note(st, v, key, key_len, added);
	return 0;
fail:
	if (copied)
		for (i = 0; i < v->n; i++)
			pst_pool_release(st->pool, pst_name_index(v->names[i]));
	if (ret == -ENOSPC)
		st->errors_nospace++;
	unit_fail(st, ret);
	return ret;
}

/* Values live in received buffers: a pool filled with values would leave
 * nothing to receive into, not even a DEL. So the store keeps at most
 * max_bufs buffers (when set), never the last 1/16 of the pool, and
 * counts the buffers promised to values still arriving as taken: is there
 * room for @need more buffers on top of those? */
static int
store_has_room(const struct kv_store *st, uint64_t need)
{
	struct pst_pool_levels ps;

	pst_pool_levels(st->pool, &ps);
	if (ps.free + ps.releasing <= st->buf_count / 16 + st->reserved + need)
		return 0;
	return st->max_bufs == 0 || ps.kept + st->reserved + need <= st->max_bufs;
}

uint64_t
kv_store_value_bufs(const struct kv_store *st, uint64_t len)
{
	return len / (st->buf_size / 2) + 2;
}

int
kv_store_reserve(struct kv_store *st, uint64_t bufs)
{
	if (!store_has_room(st, bufs)) {
		st->errors_nospace++;
		return -ENOSPC;
	}
	st->reserved += bufs;
	return 0;
}

void
kv_store_unreserve(struct kv_store *st, uint64_t bufs)
{
	st->reserved -= bufs < st->reserved ? bufs : st->reserved;
}

int
kv_store_set(struct kv_store *st, const void *key, uint16_t key_len,
	     const pst_name *names, unsigned int n, uint32_t len)
{
	return kv_store_set_at(st, key, key_len, names, n, len, 0);
}

int
kv_store_set_at(struct kv_store *st, const void *key, uint16_t key_len,
		const pst_name *names, unsigned int n, uint32_t len,
		uint64_t deadline_ms)
{
	return kv_store_set_parts_at(st, key, key_len, names, NULL, n, len, deadline_ms);
}

int
kv_store_set_parts_at(struct kv_store *st, const void *key, uint16_t key_len,
		      const pst_name *names, const struct kv_part *parts,
		      unsigned int n, uint32_t len, uint64_t deadline_ms)
{
	static struct kv_span spans[KV_VALUE_NAMES_MAX];
	static const void *addrs[KV_VALUE_NAMES_MAX];
	struct kv_value *v = &set_value.v;
	uint64_t t0;
	unsigned int i;

	if (key_len > KV_KEY_MAX)
		return -EINVAL;
	if (n > KV_VALUE_NAMES_MAX)
		return -E2BIG;
	if (st->unit_err != 0)
		return st->unit_err;
	if (!st->unit_open && !store_has_room(st, 0)) {
		st->errors_nospace++;
		return -ENOSPC;
	}
	t0 = kv_store_stage_clock(st);
	if (st->copy_mode) {
		unsigned int k;

		for (i = 0; i < n; i++) {
			spans[i].name = names[i];
			spans[i].data = pst_pool_name_to_addr(st->pool, names[i]);
			spans[i].len = pst_name_length(names[i]);
		}
		if (copy_value(st, spans, n, 0, len, v->names, &k) != 0) {
			st->errors_nospace++;
			unit_fail(st, -ENOSPC);
			return -ENOSPC;
		}
		v->n = (uint16_t)k;
		stage_lap(st, &st->stages.value, &t0);
	} else {
		/* Zero copy: the value stays where the NIC put it; make those
		 * bytes durable and reference their buffers. Each part's
		 * address is found (and its name checked) once, for its flush
		 * and its checksum both. */
		for (i = 0; i < n; i++) {
			addrs[i] = NULL;
			if (parts == NULL || (parts[i].flags & (KV_SPAN_FLUSHED | KV_SPAN_CRC)) !=
						     (KV_SPAN_FLUSHED | KV_SPAN_CRC))
				addrs[i] = pst_pool_name_to_addr(st->pool, names[i]);
			if (parts == NULL || !(parts[i].flags & KV_SPAN_FLUSHED))
				pst_pool_flush(st->pool, addrs[i], pst_name_length(names[i]));
			v->names[i] = names[i];
		}
		v->n = (uint16_t)n;
		stage_lap(st, &st->stages.value, &t0);
		v->crc = value_crc_at(addrs, names, parts, n);
		stage_lap(st, &st->stages.crc, &t0);
	}
	v->len = len;
	v->deadline_ms = deadline_ms;
	return store_put(st, key, key_len, v, NULL, st->copy_mode, !st->copy_mode);
}

int
kv_store_set_copy(struct kv_store *st, const void *key, uint16_t key_len,
		  const struct kv_stream *s, size_t off, size_t len)
{
	return kv_store_set_copy_at(st, key, key_len, s, off, len, 0);
}

int
kv_store_set_copy_at(struct kv_store *st, const void *key, uint16_t key_len,
		     const struct kv_stream *s, size_t off, size_t len,
		     uint64_t deadline_ms)
{
	struct kv_value *v = &set_value.v;
	unsigned int k;
	uint64_t t0;

	if (key_len > KV_KEY_MAX)
		return -EINVAL;
	if (len > KV_VALUE_MAX || off > s->len || len > s->len - off)
		return -E2BIG;
	if (st->unit_err != 0)
		return st->unit_err;
	if (!st->unit_open && !store_has_room(st, len / st->buf_size + 1)) {
		st->errors_nospace++;
		return -ENOSPC;
	}
	t0 = kv_store_stage_clock(st);
	if (copy_value(st, s->spans, s->n, off, len, v->names, &k) != 0) {
		st->errors_nospace++;
		unit_fail(st, -ENOSPC);
		return -ENOSPC;
	}
	st->stages.value += kv_store_stage_clock(st) - t0;
	v->n = (uint16_t)k;
	v->len = (uint32_t)len;
	v->deadline_ms = deadline_ms;
	return store_put(st, key, key_len, v, NULL, 1, 0);
}

int
kv_store_set_bytes(struct kv_store *st, const void *key, uint16_t key_len,
		   const void *data, uint32_t len)
{
	return kv_store_set_bytes_at(st, key, key_len, data, len, 0);
}

int
kv_store_set_bytes_at(struct kv_store *st, const void *key, uint16_t key_len,
		      const void *data, uint32_t len, uint64_t deadline_ms)
{
	struct kv_span span = { .name = PST_NAME_INVALID, .data = data, .len = len };
	struct kv_value *v = &set_value.v;
	unsigned int k;

	if (key_len > KV_KEY_MAX)
		return -EINVAL;
	if (len > KV_VALUE_MAX)
		return -E2BIG;
	if (st->unit_err != 0)
		return st->unit_err;
	if (!st->unit_open && !store_has_room(st, len / st->buf_size + 1)) {
		st->errors_nospace++;
		return -ENOSPC;
	}
	/* Buffers of the value's own, in either mode: its bytes are in DRAM. */
	if (copy_value(st, &span, 1, 0, len, v->names, &k) != 0) {
		st->errors_nospace++;
		unit_fail(st, -ENOSPC);
		return -ENOSPC;
	}
	v->n = (uint16_t)k;
	v->len = len;
	v->deadline_ms = deadline_ms;
	return store_put(st, key, key_len, v, NULL, 1, 0);
}

int
kv_store_expire(struct kv_store *st, const void *key, uint16_t key_len,
		uint64_t deadline_ms)
{
	struct kv_value *v = &set_value.v;
	const struct kv_value *old;

	if (key_len > KV_KEY_MAX)
		return -ENOENT;
	old = st->ops->get(st->idx, key, key_len);
	if (old == NULL)
		return -ENOENT;
	if (old->n > KV_VALUE_NAMES_MAX)
		return -E2BIG;   /* a pool another program wrote */
	if (old->deadline_ms == deadline_ms) {
		/* Nothing to write, but Redis 7.0 signals the key all the
		 * same: a write for WATCH. */
		if (st->on_write != NULL)
			st->on_write(st->on_write_arg, key, key_len);
		return 0;
	}
	if (st->unit_err != 0)
		return st->unit_err;
	/* In a unit (EXPIRE inside EXEC), kv_store_unit_begin() checked the
	 * room: a re-put takes no new buffers. */
	if (!st->unit_open && !store_has_room(st, 0)) {
		st->errors_nospace++;
		return -ENOSPC;
	}
	/* The same names again, with the new deadline: store_put references
	 * them once more, and the old entry's references (on_old) go after
	 * the drain that makes the new entry durable, so the buffers stay. */
	memcpy(v, old, value_size(old->n));
	v->deadline_ms = deadline_ms;
	return store_put(st, key, key_len, v, NULL, 0, 1);
}

size_t
kv_store_read(const struct kv_store *st, const struct kv_value *v, size_t off,
	      void *dst, size_t len)
{
	size_t done = 0, n;
	uint32_t i, nlen;

	for (i = 0; i < v->n && done < len; i++) {
		nlen = pst_name_length(v->names[i]);
		if (off >= nlen) {
			off -= nlen;
			continue;
		}
		n = nlen - off < len - done ? nlen - off : len - done;
		memcpy((char *)dst + done,
		       (const char *)pst_pool_name_to_addr(st->pool, v->names[i]) + off, n);
		done += n;
		off = 0;
	}
	return done;
}

const struct kv_value *
kv_store_get(struct kv_store *st, const void *key, uint16_t key_len)
{
	const struct kv_value *v;

	st->gets++;
	if (key_len > KV_KEY_MAX)
		return NULL;
	v = st->ops->get(st->idx, key, key_len);
	if (v != NULL)
		st->hits++;
	return v;
}

int
kv_store_del(struct kv_store *st, const void *key, uint16_t key_len)
{
	int ret;

	if (key_len > KV_KEY_MAX)
		return 0;
	if (st->unit_open) {
		ret = unit_room(st, 0);
		if (ret != 0)
			return ret;
	} else {
		kv_store_release_durable(st);
	}
	ret = st->ops->del(st->idx, key, key_len, on_old, st);
	if (ret > 0) {
		st->dels++;
		count_slot(st, key, key_len, -1);
		if (st->on_write != NULL)
			st->on_write(st->on_write_arg, key, key_len);
		if (st->unit_open && st->slot_keys != NULL)
			st->unit_undo.slots[st->unit_undo.n_slots++] =
				kv_cluster_key_slot(key, key_len) << 1;
	}
	if (ret < 0)
		unit_fail(st, ret);
	return ret;
}

uint64_t
kv_store_set_bufs(const struct kv_store *st, uint64_t len, int copied)
{
	/* What kv_store_set_copy() checks for one value. */
	return copied || st->copy_mode ? len / st->buf_size + 1 : 0;
}

int
kv_store_unit_begin(struct kv_store *st, uint64_t bufs)
{
	int ret;

	if (st->unit_open)
		return -EBUSY;
	if (!store_has_room(st, bufs)) {
		st->errors_nospace++;
		return -ENOSPC;
	}
	/* Releases due before the unit, not during it (unit_undo() cuts
	 * the deferred list back to here). */
	kv_store_release_durable(st);
	ret = st->ops->unit_begin(st->idx);
	if (ret != 0)
		return ret;
	st->unit_open = 1;
	st->unit_err = 0;
	st->unit_bufs = bufs;
	st->unit_deferred = st->deferred.n;
	st->unit_value_bytes = st->value_bytes;
	st->unit_undo.n_refs = 0;
	st->unit_undo.n_slots = 0;
	return 0;
}

int
kv_store_unit_abort(struct kv_store *st)
{
	int ret;

	if (!st->unit_open)
		return -EINVAL;
	ret = st->ops->unit_abort(st->idx);
	unit_undo(st);
	unit_close(st);
	return ret;
}

int
kv_store_unit_end(struct kv_store *st)
{
	int ret;

	if (!st->unit_open)
		return -EINVAL;
	ret = st->unit_err;
	if (ret != 0) {
		(void)kv_store_unit_abort(st);
		return ret;
	}
	ret = st->ops->unit_end(st->idx);
	if (ret != 0)
		unit_undo(st); /* the index undid its side */
	unit_close(st);
	return ret;
}

int
kv_store_flushall(struct kv_store *st)
{
	int ret;

	kv_store_release_durable(st);
	if (st->on_write != NULL)
		st->on_write(st->on_write_arg, NULL, 0);
	ret = st->ops->flushall(st->idx, on_old, st);
	if (st->slot_keys != NULL && (ret == 0 || st->ops->count(st->idx) == 0))
		memset(st->slot_keys, 0, KV_CLUSTER_SLOTS * sizeof(*st->slot_keys));
	return ret;
}

uint64_t
kv_store_count(const struct kv_store *st)
{
	return st->ops->count(st->idx);
}

uint32_t
kv_store_slot_count(const struct kv_store *st, unsigned int slot)
{
	return slot < KV_CLUSTER_SLOTS && st->slot_keys != NULL ? st->slot_keys[slot] : 0;
}
