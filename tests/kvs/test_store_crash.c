/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Power loss under paste-kvs's store (examples/kvs/store.c over both
 * indexes), in-process, no EAL.
 *
 * The medium model: what survives a power loss is the state at the last
 * completed drain plus ANY subset of the 8-byte words stored since, flushed
 * or not (a cache line can be evicted at any time). The persistence hook
 * keeps the drained image (flushed lines copied at each drain); a crash
 * image is that image plus a chosen subset of the words where the live
 * mapping differs from it.
 *
 * Usage: test_kvs_store_crash scenario | images
 *  - scenario: issue 12's case for each index, by hand: SET k v1 drained,
 *    SET k v2 (bytes and entry flushed, v1 dropped) not drained, an image
 *    with every new word but some of v2's bytes: k must read v1.
 *  - images: seeded random workloads (SET, overwrite, DEL, MSET, EXEC's
 *    units (a SET then SETs, DELs and EXPIRE/PERSISTs of other keys, as
 *    EXEC writes them: one unit), FLUSHALL, EXPIRE/PERSIST (a new
 *    deadline for the same value), wal compaction;
 *    zero-copy and --copy values; two of three SETs carry a deadline) with crash images taken
 *    inside operations, between them and at drains, the subset chosen at
 *    random or adversarially (all new words but one buffer's or one word
 *    of it; only index buffers; only the pool's records; all but the
 *    pool's records; all but values). Each image is recovered with the
 *    store and checked: the pool verifies; the map is the state after a
 *    prefix of the operations that holds every drained one and ends
 *    between units (each MSET and EXEC a unit of values over one to three
 *    buffers, all or none: issue 24; at least a fifth of the images must
 *    keep part of a batch with an MSET undrained, and a fifth with an
 *    EXEC undrained), each value
 *    byte-identical to one sent for that key, with the deadline that
 *    prefix gave it; every free buffer is
 *    scribbled over and the values read again (no buffer both free and
 *    named); a second recovery finds the same map; and the power is cut
 *    once more during the first recovery (its own flushes and drains):
 *    that image too recovers to a prefix. Counts are printed.
 *    KVS_CRASH_SEED picks the seed (printed), KVS_CRASH_IMAGES the images
 *    per index (default 1100; scripts/test.sh --crash-images=N).
 */
#include "../unit/pst_test_util.h"

#include <inttypes.h>

#include "persist.h"

#include "kv_index.h"
#include "kv_limits.h"
#include "store.h"

#define BUF 2176u
#define NBUFS 1536u
#define NKEYS 48u
#define MAXOPS 8192u

static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t
rndu(uint64_t *s, uint32_t n)
{
	return (uint32_t)(rnd(s) % n);
}

/* ---- values: every byte follows from the value id ------------------------ */

static uint8_t
pat(uint32_t id, uint32_t i)
{
	return (uint8_t)(id * 131u + i * 7u + (i >> 8));
}

static void
fill_value(uint8_t *dst, uint32_t id, uint32_t len, uint32_t from, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t at = from + i;

		if (at < 4)
			dst[i] = (uint8_t)(id >> (8 * at));
		else if (at < 8)
			dst[i] = (uint8_t)(len >> (8 * (at - 4)));
		else
			dst[i] = pat(id, at);
	}
}

/* The id of a stored value whose bytes are all what that id gives, or 0. */
static uint32_t
value_id(struct kv_store *st, const struct kv_value *v)
{
	static uint8_t want[BUF];
	uint32_t id = 0, off = 0;

	for (uint16_t i = 0; i < v->n; i++) {
		const uint8_t *a = pst_pool_name_to_addr(st->pool, v->names[i]);
		uint32_t n = pst_name_length(v->names[i]);

		if (a == NULL || n > BUF)
			return 0;
		if (i == 0 && n >= 4)
			memcpy(&id, a, 4);
		fill_value(want, id, v->len, off, n);
		if (memcmp(a, want, n) != 0)
			return 0;
		off += n;
	}
	return off == v->len && v->len >= 8 ? id : 0;
}

/* Deadlines: far ahead, T_FAR + a 32-bit code (0: none). A key's state in
 * the model is its value id with its deadline's code in the high half. */
#define T_FAR 4102444800000ull

/* The deadline code a SET of value @id writes: two of three have one. */
static uint32_t
set_dcode(uint32_t id)
{
	return id % 3 == 0 ? 0 : id;
}

static uint64_t
dcode_ms(uint32_t code)
{
	return code != 0 ? T_FAR + code : 0;
}

static void
key_of(char *k, uint32_t key)
{
	snprintf(k, 16, "key:%06u", key);
}

/* ---- the medium ------------------------------------------------------------- */

enum mode {
	M_RANDOM,     /* each new word with 0, 25, 50, 90 or 100 % */
	M_ALL_BUT_ONE_BUF,  /* every new word but those of one buffer */
	M_ALL_BUT_ONE_WORD, /* every new word but one, in a value buffer */
	M_INDEX_ONLY, /* only words of index buffers */
	M_META_ONLY,  /* only the pool's own records (keep, release, roots) */
	M_NO_META,    /* everything but the pool's records */
	M_NO_VALUES,  /* everything but value buffers */
	M_COUNT
};

static const char *const mode_names[M_COUNT] = {
	"random", "all-but-one-buffer", "all-but-one-value-word", "index-only",
	"pool-records-only", "no-pool-records", "no-values",
};

enum op_kind { OP_SET = 1, OP_DEL, OP_FLUSHALL, OP_EXPIRE /* id: deadline code */ };

struct op {
	uint8_t kind;
	uint32_t key, id;
	uint32_t unit;            /* MSET, EXEC: its number, shared by its ops; 0 */
	uint8_t exec;             /* of an EXEC's unit */
};

struct medium {
	uint8_t *base;            /* live mapping */
	size_t len;
	size_t bufs_off, bufs_len;
	uint8_t *drained;         /* the medium at the last drain */
	size_t (*pend)[2];
	size_t n_pend, cap_pend;
	uint8_t *valbuf;          /* per buffer: holds value bytes */
	uint8_t *cap;             /* captured image */
	int captured, armed;
	enum mode cap_mode;
	uint32_t cap_lo, cap_hi;  /* ops drained .. started at the capture */
	uint32_t every;           /* 1 in every hook calls captures */
	uint64_t rs;
	/* operations */
	struct op ops[MAXOPS];
	uint32_t n_ops, acked;
	uint32_t in_flight;       /* op started, not finished */
	uint32_t unit_cur;        /* the MSET or EXEC (unit) open now, 0: none */
	uint8_t unit_exec;        /* unit_cur is an EXEC's */
	uint32_t cap_unit;        /* a unit undrained at the capture, 0: none */
	int cap_partial;          /* the image took some changed words, not all */
	/* counts */
	uint64_t images, by_mode[M_COUNT], keys_checked, fallbacks, values_cut,
		 prefix_gt_acked, scribbled, compactions, copy_images,
		 recovery_images, unit_cuts, unit_all, unit_none,
		 exec_cuts, exec_all, exec_none;
};

static size_t
buf_of(const struct medium *m, size_t off)
{
	return off >= m->bufs_off && off < m->bufs_off + m->bufs_len ?
	       (off - m->bufs_off) / BUF : SIZE_MAX;
}

/* Build the image: the drained state plus a subset of the changed words. */
static void
capture(struct medium *m)
{
	static const uint32_t pct[5] = { 0, 25, 50, 90, 100 };
	size_t words = m->len / 8, w, drop_buf = SIZE_MAX, drop_word = SIZE_MAX;
	const uint64_t *live = (const uint64_t *)m->base;
	const uint64_t *old = (const uint64_t *)m->drained;
	uint64_t *img = (uint64_t *)m->cap;
	uint32_t p = pct[rndu(&m->rs, 5)], seen = 0;
	size_t changed = 0, taken = 0;

	if (m->captured || !m->armed)
		return;
	tu_hw_begin(m->base + m->bufs_off, BUF, NBUFS);
	m->cap_mode = (enum mode)rndu(&m->rs, M_COUNT);
	memcpy(m->cap, m->drained, m->len);
	/* Adversarial modes pick their victim among the changed words. */
	for (w = 0; w < words; w++) {
		size_t b = buf_of(m, w * 8);

		if (live[w] == old[w])
			continue;
		if (m->cap_mode == M_ALL_BUT_ONE_BUF && b != SIZE_MAX &&
		    rndu(&m->rs, ++seen) == 0)
			drop_buf = b;
		if (m->cap_mode == M_ALL_BUT_ONE_WORD && b != SIZE_MAX &&
		    m->valbuf[b] && rndu(&m->rs, ++seen) == 0)
			drop_word = w;
	}
	for (w = 0; w < words; w++) {
		size_t b = buf_of(m, w * 8);
		int take;

		if (live[w] == old[w])
			continue;
		switch (m->cap_mode) {
		case M_RANDOM: take = rndu(&m->rs, 100) < p; break;
		case M_ALL_BUT_ONE_BUF: take = b != drop_buf; break;
		case M_ALL_BUT_ONE_WORD: take = w != drop_word; break;
		case M_INDEX_ONLY: take = b != SIZE_MAX && !m->valbuf[b]; break;
		case M_META_ONLY: take = b == SIZE_MAX; break;
		case M_NO_META: take = b != SIZE_MAX; break;
		default: take = b == SIZE_MAX || !m->valbuf[b]; break;
		}
		changed++;
		if (take) {
			img[w] = live[w];
			taken++;
		}
	}
	tu_hw_end();
	m->captured = 1;
	m->cap_lo = m->acked;
	m->cap_hi = m->n_ops;
	m->cap_partial = taken > 0 && taken < changed;
	m->cap_unit = m->unit_cur;
	for (uint32_t i = m->cap_lo; i < m->cap_hi && m->cap_unit == 0; i++)
		m->cap_unit = m->ops[i].unit;
}

static void
hook_flush(void *ctx, const void *addr, size_t len)
{
	struct medium *m = ctx;
	size_t lo = (size_t)((const uint8_t *)addr - m->base) & ~(size_t)63;
	size_t hi = ((size_t)((const uint8_t *)addr - m->base) + len + 63) & ~(size_t)63;

	assert_true(hi <= m->len);
	if (m->n_pend == m->cap_pend) {
		m->cap_pend = m->cap_pend ? m->cap_pend * 2 : 4096;
		m->pend = realloc(m->pend, m->cap_pend * sizeof(*m->pend));
		assert_non_null(m->pend);
	}
	m->pend[m->n_pend][0] = lo;
	m->pend[m->n_pend][1] = hi;
	m->n_pend++;
	if (m->in_flight && rndu(&m->rs, m->every) == 0)
		capture(m);
}

static void
hook_drain(void *ctx)
{
	struct medium *m = ctx;

	/* The power may fail just before this drain completes. */
	if (rndu(&m->rs, m->every / 4 + 1) == 0)
		capture(m);
	tu_hw_begin(m->base + m->bufs_off, BUF, NBUFS);
	for (size_t i = 0; i < m->n_pend; i++)
		memcpy(m->drained + m->pend[i][0], m->base + m->pend[i][0],
		       m->pend[i][1] - m->pend[i][0]);
	tu_hw_end();
	m->n_pend = 0;
	/* A drain inside an op (wal compaction) makes it durable only once
	 * the op returns, as far as the caller knows. */
	m->acked = m->n_ops - m->in_flight;
}

/* ---- the model ------------------------------------------------------------------ */

static void
state_after(const struct medium *m, uint32_t n_ops, uint64_t *s)
{
	memset(s, 0, NKEYS * sizeof(*s));
	for (uint32_t i = 0; i < n_ops; i++) {
		const struct op *o = &m->ops[i];

		if (o->kind == OP_SET)
			s[o->key] = o->id | (uint64_t)set_dcode(o->id) << 32;
		else if (o->kind == OP_DEL)
			s[o->key] = 0;
		else if (o->kind == OP_EXPIRE && s[o->key] != 0)
			s[o->key] = (s[o->key] & UINT32_MAX) | (uint64_t)o->id << 32;
		else if (o->kind == OP_FLUSHALL)
			memset(s, 0, NKEYS * sizeof(*s));
	}
}

/* The recovered map, by key: value id (checked byte by byte) and deadline
 * code, 0 absent. */
static void
read_map(struct medium *m, struct kv_store *st, uint64_t *got)
{
	char k[16];

	for (uint32_t key = 0; key < NKEYS; key++) {
		const struct kv_value *v;

		key_of(k, key);
		v = kv_store_get(st, k, (uint16_t)strlen(k));
		got[key] = 0;
		if (v == NULL)
			continue;
		got[key] = value_id(st, v);
		if (got[key] == 0)
			fail_msg("key %u: value of %u bytes is not one that was sent "
				 "(image mode %s)", key, v->len, mode_names[m->cap_mode]);
		if (v->deadline_ms != 0 &&
		    (v->deadline_ms <= T_FAR || v->deadline_ms - T_FAR > UINT32_MAX))
			fail_msg("key %u: deadline %" PRIu64 " was never set (image mode %s)",
				 key, v->deadline_ms, mode_names[m->cap_mode]);
		got[key] |= (v->deadline_ms != 0 ? v->deadline_ms - T_FAR : 0) << 32;
		m->keys_checked++;
	}
}

/* Take every free buffer, scribble over it, give it back: a value or index
 * buffer the pool believed free would be damaged. */
static void
scribble_free(struct medium *m, struct pst_pool *p)
{
	static uint32_t taken[NBUFS];
	uint32_t n = 0, idx;

	while (n < NBUFS && pst_pool_take(p, &idx) == 0) {
		memset(pst_pool_buf_addr(p, idx), 0xa5, BUF);
		taken[n++] = idx;
	}
	for (uint32_t i = 0; i < n; i++)
		tu_assert_rc(pst_pool_release(p, taken[i]), 0);
	m->scribbled += n;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	size_t done = 0;

	assert_true(fd >= 0);
	while (done < len) {
		ssize_t w = write(fd, (const char *)data + done, len - done);

		assert_true(w > 0);
		done += (size_t)w;
	}
	assert_int_equal(close(fd), 0);
}

/* A prefix of @n operations ends between units: never inside an MSET. */
static int
unit_boundary(const struct medium *m, uint32_t n)
{
	if (n == 0 || m->ops[n - 1].unit == 0)
		return 1;
	if (n < m->n_ops)
		return m->ops[n].unit != m->ops[n - 1].unit;
	return m->ops[n - 1].unit != m->unit_cur; /* its unit still open */
}

/* The recovered map @got must be the state after a prefix of the
 * operations that holds every drained one, and ends between units (an
 * MSET all or none: issue 24). */
static void
check_prefix(struct medium *m, const uint64_t *got)
{
	static uint64_t want[NKEYS];
	int match = 0;
	uint32_t n, cut = UINT32_MAX;

	for (n = m->cap_lo; n <= m->cap_hi && !match; n++) {
		state_after(m, n, want);
		match = memcmp(want, got, sizeof(want)) == 0;
		if (match && !unit_boundary(m, n)) {
			cut = n;
			match = 0;
		}
		if (match && n > m->cap_lo)
			m->prefix_gt_acked++;
	}
	if (match)
		return;
	if (cut != UINT32_MAX)
		fail_msg("image (%s): the state after %u operations, inside %s "
			 "unit %u: a unit cut", mode_names[m->cap_mode], cut,
			 m->ops[cut - 1].exec ? "EXEC" : "MSET", m->ops[cut - 1].unit);
	state_after(m, m->cap_lo, want);
	for (uint32_t k = 0; k < NKEYS; k++)
		if (want[k] != got[k])
			fail_msg("image (%s): key %u holds value %u deadline code %u, "
				 "the drained state has %u code %u; no prefix of ops "
				 "%u..%u matches", mode_names[m->cap_mode], k,
				 (uint32_t)got[k], (uint32_t)(got[k] >> 32),
				 (uint32_t)want[k], (uint32_t)(want[k] >> 32),
				 m->cap_lo, m->cap_hi);
	fail_msg("image (%s): no prefix matches", mode_names[m->cap_mode]);
}

/* Open the image at @path and recover it, cutting the power once more at a
 * random flush or drain of the recovery itself (wal: zeroing the torn
 * tail; btree: rewriting the other root record; reconciliation): that
 * second image must recover to a prefix as well. */
static struct pst_pool *
recover_twice(struct medium *m, const char *path, const struct kv_index_ops *ops,
	      int copy_mode, struct kv_store *st)
{
	static struct medium r;
	static uint64_t got[NKEYS];
	struct pst_persist_hook hook = { .on_flush = hook_flush,
					 .on_drain = hook_drain, .ctx = &r };
	struct pst_pool_info info;
	struct kv_store st2;
	struct pst_pool *p = tu_must_open(path, PST_PERSIST_FLUSH), *p2;
	char path2[PATH_MAX];

	memset(&r, 0, offsetof(struct medium, ops));
	info = tu_info(p);
	r.base = info.base;
	r.len = m->len;
	r.bufs_off = m->bufs_off;
	r.bufs_len = m->bufs_len;
	r.valbuf = m->valbuf;
	r.drained = malloc(m->len);
	r.cap = malloc(m->len);
	assert_non_null(r.drained);
	assert_non_null(r.cap);
	memcpy(r.drained, m->cap, m->len);
	r.rs = rnd(&m->rs);
	r.every = 1 + rndu(&m->rs, 6);
	r.armed = 1;
	r.in_flight = 1;
	pst_pool_set_persist_hook(p, &hook);
	tu_assert_rc(kv_store_open(st, p, ops, copy_mode), 0);
	pst_pool_set_persist_hook(p, NULL);
	if (r.captured) {
		tu_path(path2, sizeof(path2), "crash-image-recovery");
		write_file(path2, r.cap, r.len);
		p2 = tu_must_open(path2, PST_PERSIST_FLUSH);
		tu_assert_rc(kv_store_open(&st2, p2, ops, copy_mode), 0);
		tu_assert_verify(p2);
		read_map(m, &st2, got);
		check_prefix(m, got);
		kv_store_close(&st2);
		tu_close(p2);
		unlink(path2);
		m->recovery_images++;
	}
	free(r.drained);
	free(r.cap);
	free(r.pend);
	return p;
}

/* Recover the captured image with the store and check it. */
static void
check_image(struct medium *m, const struct kv_index_ops *ops, int copy_mode)
{
	static uint64_t got[NKEYS], again[NKEYS];
	char path[PATH_MAX];
	struct kv_store st;
	struct pst_pool *p;

	tu_path(path, sizeof(path), "crash-image");
	write_file(path, m->cap, m->len);
	p = recover_twice(m, path, ops, copy_mode, &st);
	tu_assert_verify(p);
	m->fallbacks += st.report.fallbacks;
	m->values_cut += st.torn_values;
	read_map(m, &st, got);
	check_prefix(m, got);
	if (m->cap_unit != 0) {
		/* Did the recovered state take the unit? Its first SET's
		 * value is there (or was replaced by a later op). */
		uint32_t i = 0;
		int all;

		while (m->ops[i].unit != m->cap_unit)
			i++;
		all = (got[m->ops[i].key] & UINT32_MAX) == m->ops[i].id;
		if (m->ops[i].exec) {
			m->exec_all += all;
			m->exec_none += !all;
			m->exec_cuts += m->cap_partial;
		} else {
			m->unit_all += all;
			m->unit_none += !all;
			m->unit_cuts += m->cap_partial;
		}
	}
	scribble_free(m, p);
	read_map(m, &st, again);
	assert_memory_equal(got, again, sizeof(got));
	kv_store_close(&st);
	tu_close(p);
	/* A second recovery finds the same state. */
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, ops, copy_mode), 0);
	tu_assert_verify(p);
	assert_int_equal(st.report.fallbacks, 0);
	read_map(m, &st, again);
	assert_memory_equal(got, again, sizeof(got));
	kv_store_close(&st);
	tu_close(p);
	unlink(path);
	m->images++;
	m->copy_images += copy_mode != 0;
	m->by_mode[m->cap_mode]++;
	m->captured = 0;
}

/* ---- the workload ------------------------------------------------------------------ */

struct run {
	struct medium *m;
	const struct kv_index_ops *ops;
	struct kv_store st;
	struct pst_pool *p;
	char path[PATH_MAX];
	int copy_mode;
	uint32_t next_id;
	uint32_t units;           /* MSETs and EXECs so far */
	uint64_t root;            /* wal: the chain's first buffer */
};

/* Mark the buffers of live values (what the adversarial modes spare or
 * tear). Between operations only. */
static void
mark_values(struct run *r)
{
	char k[16];

	memset(r->m->valbuf, 0, NBUFS);
	for (uint32_t key = 0; key < NKEYS; key++) {
		const struct kv_value *v;

		key_of(k, key);
		v = r->st.ops->get(r->st.idx, k, (uint16_t)strlen(k));
		for (uint16_t i = 0; v != NULL && i < v->n; i++)
			r->m->valbuf[pst_name_index(v->names[i])] = 1;
	}
}

static void
op_begin(struct run *r, uint8_t kind, uint32_t key, uint32_t id)
{
	assert_true(r->m->n_ops < MAXOPS);
	r->m->ops[r->m->n_ops++] = (struct op){ kind, key, id, r->m->unit_cur,
						 r->m->unit_exec };
	r->m->in_flight = 1;
}

static void
op_end(struct run *r)
{
	uint64_t root = 0;

	r->m->in_flight = 0;
	/* A new wal chain without a FLUSHALL: a compaction. */
	tu_assert_rc(pst_pool_root_get(r->p, KV_ROOT_WAL, &root), 0);
	if (root != r->root && r->root != 0 &&
	    r->m->ops[r->m->n_ops - 1].kind != OP_FLUSHALL)
		r->m->compactions++;
	r->root = root;
	if (r->m->captured)
		check_image(r->m, r->ops, r->copy_mode);
	mark_values(r);
	if (rndu(&r->m->rs, r->m->every / 8 + 1) == 0) {
		capture(r->m);
		if (r->m->captured)
			check_image(r->m, r->ops, r->copy_mode);
	}
}

/* SET key = a new value of @len bytes, received into buffers of its own
 * (as the stack's receive path would: taken, written, kept, referenced by
 * the stream while the store takes its own references). Every other one
 * as paste-kvs stores a large value: each buffer checksummed and flushed
 * as it arrives, the store given those (kv_store_set_parts_at), the last
 * piece left for the store to checksum as a partial one would be. */
static void
do_set(struct run *r, uint32_t key, uint32_t len)
{
	pst_name names[8];
	struct kv_part parts[8];
	uint32_t id = r->next_id++, n = 0, off = 0, idx;
	int arrival = id % 2;
	char k[16];

	key_of(k, key);
	while (off < len) {
		uint32_t chunk = len - off < BUF ? len - off : BUF;
		void *buf;

		tu_assert_rc(pst_pool_take(r->p, &idx), 0);
		buf = pst_pool_buf_addr(r->p, idx);
		fill_value(buf, id, len, off, chunk);
		parts[n].flags = 0;
		if (arrival) {
			parts[n].crc = pst_crc32c(buf, chunk);
			parts[n].flags = KV_SPAN_FLUSHED |
					 (off + chunk < len ? KV_SPAN_CRC : 0);
			tu_assert_rc(pst_pool_flush(r->p, buf, chunk), 0);
		}
		tu_assert_rc(pst_pool_keep(r->p, idx), 0);
		names[n] = pst_name_make(idx, 0, (uint16_t)chunk);
		kv_ref(&r->st, names[n]);
		r->m->valbuf[idx] = 1;
		n++;
		off += chunk;
	}
	op_begin(r, OP_SET, key, id);
	tu_assert_rc(kv_store_set_parts_at(&r->st, k, (uint16_t)strlen(k), names,
					   arrival ? parts : NULL, n, len,
					   dcode_ms(set_dcode(id))), 0);
	for (uint32_t i = 0; i < n; i++)
		kv_unref(&r->st, names[i]);
	op_end(r);
}

/* EXPIRE (@code != 0) or PERSIST: the key's value put again with a new
 * deadline; no key, nothing written. */
static void
do_expire(struct run *r, uint32_t key, uint32_t code)
{
	char k[16];
	int ret;

	key_of(k, key);
	op_begin(r, OP_EXPIRE, key, code);
	ret = kv_store_expire(&r->st, k, (uint16_t)strlen(k), dcode_ms(code));
	if (ret != 0 && ret != -ENOENT)
		fail_msg("kv_store_expire: %d", ret);
	op_end(r);
}

/* A value length for a unit's SET: one to three buffers mostly. */
static uint32_t
unit_len(struct run *r)
{
	return rndu(&r->m->rs, 3) ? BUF / 2 + rndu(&r->m->rs, 2 * BUF + 500)
				  : 8 + rndu(&r->m->rs, 300);
}

/* MSET of @keys keys from @key on, as one unit (kv_store_unit_begin/end),
 * values of one to three buffers. */
static void
do_mset(struct run *r, uint32_t key, uint32_t keys)
{
	uint32_t lens[4];
	uint64_t bufs = 0;

	assert_true(keys <= 4);
	for (uint32_t j = 0; j < keys; j++) {
		lens[j] = unit_len(r);
		bufs += kv_store_set_bufs(&r->st, lens[j], 0);
	}
	tu_assert_rc(kv_store_unit_begin(&r->st, bufs), 0);
	r->m->unit_cur = ++r->units;
	for (uint32_t j = 0; j < keys; j++)
		do_set(r, (key + j) % NKEYS, lens[j]);
	/* The commit (wal: COMMIT record; btree: the root record) may be
	 * cut too. */
	r->m->in_flight = 1;
	tu_assert_rc(kv_store_unit_end(&r->st), 0);
	r->m->in_flight = 0;
	r->m->unit_cur = 0;
	if (r->m->captured)
		check_image(r->m, r->ops, r->copy_mode);
}

static void do_del(struct run *r, uint32_t key);

/* EXEC's unit as the store sees it (exec.c: one kv_store_unit_begin/end
 * around the queued commands): a SET of @key first (its value tells
 * whether the unit was taken), then SETs, DELs and EXPIRE/PERSISTs of the
 * next @n - 1 keys, each key once. */
static void
do_exec(struct run *r, uint32_t key, uint32_t n)
{
	uint32_t lens[4], kinds[4];
	uint64_t bufs = 0;

	assert_true(n <= 4);
	for (uint32_t j = 0; j < n; j++) {
		kinds[j] = j == 0 ? 0 : rndu(&r->m->rs, 4);  /* 0, 1: SET */
		lens[j] = unit_len(r);
		if (kinds[j] < 2)
			bufs += kv_store_set_bufs(&r->st, lens[j], 0);
	}
	tu_assert_rc(kv_store_unit_begin(&r->st, bufs), 0);
	r->m->unit_cur = ++r->units;
	r->m->unit_exec = 1;
	for (uint32_t j = 0; j < n; j++) {
		uint32_t k = (key + j) % NKEYS;

		if (kinds[j] < 2)
			do_set(r, k, lens[j]);
		else if (kinds[j] == 2)
			do_del(r, k);
		else
			do_expire(r, k, rndu(&r->m->rs, 4) ? 1000000 + rndu(&r->m->rs, 1000000) : 0);
	}
	r->m->in_flight = 1;
	tu_assert_rc(kv_store_unit_end(&r->st), 0);
	r->m->in_flight = 0;
	r->m->unit_cur = 0;
	r->m->unit_exec = 0;
	if (r->m->captured)
		check_image(r->m, r->ops, r->copy_mode);
}

static void
do_del(struct run *r, uint32_t key)
{
	char k[16];

	key_of(k, key);
	op_begin(r, OP_DEL, key, 0);
	assert_true(kv_store_del(&r->st, k, (uint16_t)strlen(k)) >= 0);
	op_end(r);
}

static void
do_flushall(struct run *r)
{
	op_begin(r, OP_FLUSHALL, 0, 0);
	tu_assert_rc(kv_store_flushall(&r->st), 0);
	op_end(r);
}

static void
do_drain(struct run *r)
{
	tu_assert_rc(pst_pool_drain(r->p), 0);
	kv_store_release_durable(&r->st);
	if (r->m->captured)
		check_image(r->m, r->ops, r->copy_mode);
}

static void
run_start(struct run *r, struct medium *m, const struct kv_index_ops *ops,
	  int copy_mode, uint64_t seed)
{
	struct pst_pool_info info;
	void *img = NULL;
	size_t len = 0;

	memset(r, 0, sizeof(*r));
	memset(m, 0, offsetof(struct medium, images));
	r->m = m;
	r->ops = ops;
	r->copy_mode = copy_mode;
	r->next_id = 1;
	m->rs = seed;
	m->every = 150;
	tu_path(r->path, sizeof(r->path), "crash-live");
	r->p = tu_must_create(r->path, BUF, NBUFS, PST_PERSIST_FLUSH);
	tu_close(r->p);
	assert_int_equal(tu_read_file(r->path, &img, &len), 0);
	m->drained = img;
	m->len = len;
	m->cap = malloc(len);
	m->valbuf = calloc(NBUFS, 1);
	assert_non_null(m->cap);
	assert_non_null(m->valbuf);
	r->p = tu_must_open(r->path, PST_PERSIST_FLUSH);
	info = tu_info(r->p);
	m->base = info.base;
	m->bufs_off = (size_t)((uint8_t *)info.bufs - (uint8_t *)info.base);
	m->bufs_len = (size_t)BUF * NBUFS;
	{
		static struct pst_persist_hook hook;

		hook = (struct pst_persist_hook){ .on_flush = hook_flush,
						  .on_drain = hook_drain, .ctx = m };
		pst_pool_set_persist_hook(r->p, &hook);
	}
	tu_assert_rc(kv_store_open(&r->st, r->p, ops, copy_mode), 0);
	do_drain(r);
	m->armed = 1;
}

static void
run_stop(struct run *r)
{
	r->m->armed = 0;
	pst_pool_set_persist_hook(r->p, NULL);
	kv_store_close(&r->st);
	tu_close(r->p);
	unlink(r->path);
	free(r->m->drained);
	free(r->m->cap);
	free(r->m->valbuf);
	free(r->m->pend);
	r->m->pend = NULL;
}

/* Random batches until @images images were checked or the op log is full:
 * then a fresh pool. */
static void
run_workload(struct medium *m, const struct kv_index_ops *ops, int copy_mode,
	     uint64_t seed, uint64_t images)
{
	struct run r;

	run_start(&r, m, ops, copy_mode, seed);
	while (m->images < images && m->n_ops + 64 < MAXOPS) {
		uint32_t n = 1 + rndu(&m->rs, 8);

		for (uint32_t i = 0; i < n; i++) {
			uint32_t c = rndu(&m->rs, 3000), key = rndu(&m->rs, NKEYS);
			/* Mostly small values, some over two buffers. */
			uint32_t len = rndu(&m->rs, 4) ? 8 + rndu(&m->rs, 600)
						      : 8 + rndu(&m->rs, 2 * BUF + 500);

			/* FLUSHALL rarely: it starts the wal's log afresh, and
			 * compaction needs a long one. */
			if (c < 1) {
				do_flushall(&r);
			} else if (c < 600) {
				do_del(&r, key);
			} else if (c < 800) {
				/* a new deadline, or none */
				do_expire(&r, key, rndu(&m->rs, 4) ? 1000000 + rndu(&m->rs, 1000000)
								  : 0);
			} else if (c < 1250) {
				/* MSET: a few keys in a row, one unit */
				do_mset(&r, key, 2 + rndu(&m->rs, 3));
			} else if (c < 1800) {
				/* EXEC: a few commands on keys in a row, one unit */
				do_exec(&r, key, 2 + rndu(&m->rs, 3));
			} else {
				do_set(&r, key, len);
			}
		}
		do_drain(&r);
	}
	run_stop(&r);
}

/* ---- tests ---------------------------------------------------------------------- */

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);

	return s != NULL && *s != '\0' ? strtoull(s, NULL, 0) : dflt;
}

static void
crash_images(const struct kv_index_ops *ops)
{
	static struct medium m;
	uint64_t seed = env_u64("KVS_CRASH_SEED", 20261129), s = seed;
	uint64_t want = env_u64("KVS_CRASH_IMAGES", 1100);
	uint32_t run = 0;

	memset(&m, 0, sizeof(m));
	printf("[ crash images ] index %s seed %" PRIu64 " images %" PRIu64 "\n",
	       ops->name, seed, want);
	alarm(600 + (unsigned int)(want / 20));
	while (m.images < want) {
		uint64_t before = m.images;

		/* Every other run stores --copy values; a run ends after a
		 * quarter of the images (or a full op log). */
		run_workload(&m, ops, run % 2 == 1, rnd(&s),
			     m.images + want / 4 + 1 < want ? m.images + want / 4 + 1
							  : want);
		assert_true(m.images > before || run < 4);
		run++;
	}
	printf("[ crash images ] index %s seed %" PRIu64 ": %" PRIu64 " images "
	       "(%u runs), %" PRIu64 " keys checked, %" PRIu64 " fallbacks "
	       "(%" PRIu64 " cut values), %" PRIu64 " images past the drained "
	       "state, %" PRIu64 " with --copy values, %" PRIu64 " wal "
	       "compactions, %" PRIu64 " free buffers scribbled, %" PRIu64
	       " more images cut during recovery\n", ops->name,
	       seed, m.images, run, m.keys_checked, m.fallbacks, m.values_cut,
	       m.prefix_gt_acked, m.copy_images, m.compactions, m.scribbled,
	       m.recovery_images);
	printf("[ crash images ] index %s: %" PRIu64 " images with an MSET undrained "
	       "keep part of the words stored since the drain (a unit cut between "
	       "its first and last line); with an MSET undrained, %" PRIu64
	       " recovered all of it, %" PRIu64 " none\n", ops->name, m.unit_cuts,
	       m.unit_all, m.unit_none);
	printf("[ crash images ] index %s: %" PRIu64 " images with an EXEC undrained "
	       "keep part of the words stored since the drain; with an EXEC undrained, %"
	       PRIu64 " recovered all of it, %" PRIu64 " none\n", ops->name, m.exec_cuts,
	       m.exec_all, m.exec_none);
	for (int i = 0; i < M_COUNT; i++)
		printf("[ crash images ]   %-24s %" PRIu64 "\n", mode_names[i],
		       m.by_mode[i]);
	/* The suite must have exercised the fallback it exists for. */
	assert_true(m.fallbacks > 0);
	assert_true(m.prefix_gt_acked > 0);
	assert_true(m.copy_images > 0);
	assert_true(m.recovery_images > 0);
	/* Units cut: hundreds, not a handful (issue 24). */
	assert_true(m.unit_cuts >= want / 5);
	assert_true(m.unit_all > 0 && m.unit_none > 0);
	assert_true(m.exec_cuts >= want / 5);
	assert_true(m.exec_all > 0 && m.exec_none > 0);
	if (ops == &kv_index_wal)
		assert_true(m.compactions > 0);
}

static void
test_images_wal(void **state)
{
	(void)state;
	crash_images(&kv_index_wal);
}

static void
test_images_btree(void **state)
{
	(void)state;
	crash_images(&kv_index_btree);
}

/* Issue 12's scenario, by hand, for one index. */
static void
scenario(const struct kv_index_ops *ops)
{
	static struct medium m;
	struct run r;
	const uint64_t *live, *old;
	uint64_t *img;
	size_t v2_buf, w, dropped = 0;
	uint64_t got[NKEYS];
	struct kv_store st;
	struct pst_pool *p;
	char path[PATH_MAX];

	memset(&m, 0, sizeof(m));
	run_start(&r, &m, ops, 0, 42);
	m.armed = 0;              /* no random captures */
	do_set(&r, 7, 1000);      /* v1 */
	do_drain(&r);             /* acknowledged */
	do_set(&r, 7, 1000);      /* v2: flushed with its entry, not drained */
	{
		const struct kv_value *v = kv_store_get(&r.st, "key:000007", 10);

		assert_non_null(v);
		v2_buf = pst_name_index(v->names[0]);
	}
	/* The image: the drained state, every word stored since but the
	 * last 8 bytes of v2 (the index entry, v1's release, everything). */
	memcpy(m.cap, m.drained, m.len);
	live = (const uint64_t *)m.base;
	old = (const uint64_t *)m.drained;
	img = (uint64_t *)m.cap;
	tu_hw_begin(m.base + m.bufs_off, BUF, NBUFS);
	for (w = 0; w < m.len / 8; w++) {
		if (live[w] == old[w])
			continue;
		if (buf_of(&m, w * 8) == v2_buf && w * 8 + 8 >= m.bufs_off + v2_buf * BUF + 1000) {
			dropped++;
			continue;
		}
		img[w] = live[w];
	}
	tu_hw_end();
	assert_true(dropped > 0);
	tu_path(path, sizeof(path), "scenario-image");
	write_file(path, m.cap, m.len);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	tu_assert_rc(kv_store_open(&st, p, ops, 0), 0);
	tu_assert_verify(p);
	read_map(&m, &st, got);
	/* The acknowledged v1 (value id 1), not nothing. */
	if ((uint32_t)got[7] != 1 || got[7] >> 32 != set_dcode(1))
		fail_msg("%s: key 7 holds value %u (deadline code %u) after the crash, "
			 "expected the acknowledged value 1", ops->name, (uint32_t)got[7],
			 (uint32_t)(got[7] >> 32));
	assert_true(st.report.fallbacks > 0);
	scribble_free(&m, p);
	read_map(&m, &st, got);
	assert_int_equal((uint32_t)got[7], 1);
	kv_store_close(&st);
	tu_close(p);
	unlink(path);
	run_stop(&r);
}

static void
test_scenario_wal(void **state)
{
	(void)state;
	scenario(&kv_index_wal);
}

static void
test_scenario_btree(void **state)
{
	(void)state;
	scenario(&kv_index_btree);
}

/* The btree with neither root record whole: outside the power-loss model
 * (the last drained record is never rewritten before a newer one is
 * durable), so recovery refuses with -EIO and leaves the file as it was. */
static void
test_btree_both_roots_bad(void **state)
{
	static struct medium m;
	struct run r;
	struct kv_store st;
	struct pst_pool *p;
	uint64_t sb = 0;
	uint8_t *rec;
	void *before = NULL, *after = NULL;
	size_t len_before = 0, len_after = 0;

	(void)state;
	memset(&m, 0, sizeof(m));
	run_start(&r, &m, &kv_index_btree, 0, 7);
	m.armed = 0;
	do_set(&r, 3, 500);
	do_drain(&r);
	do_set(&r, 4, 500);
	do_drain(&r);
	tu_assert_rc(pst_pool_root_get(r.p, KV_ROOT_BTREE, &sb), 0);
	rec = pst_pool_name_to_addr(r.p, sb);
	assert_non_null(rec);
	/* A byte of each record's CRC-covered fields (a medium error). */
	rec[8] ^= 0x5a;
	rec[64 + 8] ^= 0x5a;
	tu_assert_rc(pst_pool_persist(r.p, rec, 128), 0);
	pst_pool_set_persist_hook(r.p, NULL);
	kv_store_close(&r.st);
	tu_close(r.p);
	assert_int_equal(tu_read_file(r.path, &before, &len_before), 0);
	p = tu_must_open(r.path, PST_PERSIST_FLUSH);
	assert_int_equal(kv_store_open(&st, p, &kv_index_btree, 0), -EIO);
	tu_close(p);
	assert_int_equal(tu_read_file(r.path, &after, &len_after), 0);
	assert_int_equal(len_before, len_after);
	assert_memory_equal(before, after, len_before);
	free(before);
	free(after);
	unlink(r.path);
	free(m.drained);
	free(m.cap);
	free(m.valbuf);
	free(m.pend);
}

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("kvscrash");
}

static int
group_teardown(void **state)
{
	(void)state;
	return tu_group_teardown_common();
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest scen[] = {
		cmocka_unit_test_teardown(test_scenario_wal, tu_test_teardown),
		cmocka_unit_test_teardown(test_scenario_btree, tu_test_teardown),
		cmocka_unit_test_teardown(test_btree_both_roots_bad, tu_test_teardown),
	};
	const struct CMUnitTest imgs[] = {
		cmocka_unit_test_teardown(test_images_wal, tu_test_teardown),
		cmocka_unit_test_teardown(test_images_btree, tu_test_teardown),
	};

	if (argc == 2 && strcmp(argv[1], "scenario") == 0)
		return cmocka_run_group_tests_name("kvs_store_scenario", scen,
						   group_setup, group_teardown);
	if (argc == 2 && strcmp(argv[1], "images") == 0)
		return cmocka_run_group_tests_name("kvs_crash_images", imgs,
						   group_setup, group_teardown);
	fprintf(stderr, "usage: %s scenario | images\n", argv[0]);
	return 2;
}
