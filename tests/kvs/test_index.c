/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The persistent indexes of paste-kvs (examples/kvs/index_wal.c,
 * index_btree.c), each test run once per index:
 *  - semantics: put/get/replace/del/count/flushall, on_old with the exact
 *    names, key and value limits;
 *  - recovery: 10,000 seeded random operations against a DRAM model, then
 *    close and reopen: the same map, every own buffer and live value
 *    reported, reconciliation frees exactly the leftovers;
 *  - the server's load on a new pool: reconcile right after open (a new
 *    index reports its own buffers too), then batches of 64 puts of 10 to
 *    9000-byte values over 2000 keys, overwrites, deletes, reopen;
 *  - bounds: the WAL's log (and the B+tree's nodes) stay proportional to
 *    the live data under endless overwrites;
 *  - small buffers (512 bytes) with 250-byte keys; pools below 512 refused;
 *  - a full pool: -ENOSPC and nothing changed;
 *  - power loss: through the persistence hook, a shadow image of the pool
 *    holds what was flushed before the last drain; at random flushes and
 *    drains the power fails (the image plus none, some or all of the lines
 *    that differ in the live mapping, flushed or not) and the image is
 *    recovered (without a value check: tests/kvs/test_store_crash.c covers
 *    the fallback with the store's deferred release), checked against every
 *    prefix of the operations that were not yet drained, repaired (torn
 *    values deleted, then reconcile), used, closed and reopened;
 *  - units (issue 24): 1,230 crash images per index of units whose values
 *    span several buffers, each recovered with the value check: all of the
 *    unit or none, also when a value is cut; aborted units and a pool
 *    that runs out inside a unit leave nothing of it.
 *
 * Values are made the way the server makes them: bytes in pool buffers the
 * test takes, fills, flushes and keeps, referenced by names; a reference
 * count per buffer releases it when the last value naming it is replaced.
 * The value's crc field carries a value id from which every byte follows.
 */
#include "../unit/pst_test_util.h"

#include "persist.h"

#include "index_common.h"
#include "kv_index.h"
#include "kv_limits.h"

#define BUF 2176u

/* ---- random (the indexes' own splitmix64) ----------------------------------- */

static uint32_t
rndu(uint64_t *s, uint32_t n)
{
	return n ? (uint32_t)(kvi_rand(s) % n) : 0;
}

/* ---- keys: "<id>:" then filler, 8..250 bytes; key 0 is the empty key ------- */

static uint16_t
key_len_of(uint32_t id)
{
	return id == 0 ? 0 : (uint16_t)(8 + (id * 53u) % 243u);
}

static uint16_t
key_make(uint32_t id, uint8_t *buf)
{
	uint16_t len = key_len_of(id);
	int h = snprintf((char *)buf, 16, "%u:", id);

	for (uint16_t j = (uint16_t)h; j < len; j++)
		buf[j] = (uint8_t)('a' + (id + j) % 26);
	return len;
}

static long
key_parse(const void *key, uint16_t len)
{
	const char *k = key;
	long id = 0;
	uint16_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len && k[i] >= '0' && k[i] <= '9'; i++)
		id = id * 10 + (k[i] - '0');
	if (i == 0 || i == len || k[i] != ':')
		return -1;
	return id;
}

/* ---- values -------------------------------------------------------------------- */

static uint8_t
pat(uint32_t id, uint32_t i)
{
	uint64_t x = (uint64_t)id * 0x9E3779B97F4A7C15ull ^
		     (uint64_t)i * 0xC2B2AE3D27D4EB4Full;

	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ull;
	return (uint8_t)(x >> 56);
}

/* A value's deadline follows from its id: none, one far ahead, the
 * largest there is, so that every put, get, split record, overflow chain,
 * compaction and recovery carries all three kinds. */
static uint64_t
deadline_of(uint32_t id)
{
	switch (id % 4) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX - id;
	default:
		return 1765000000000ull + (uint64_t)id * 7919u;
	}
}

/* Every value ever made, by id (= its crc field). */
struct vdesc {
	uint32_t len;
	uint16_t n;
	pst_name *names;
};

static struct vdesc *vds;
static uint32_t vd_n, vd_cap;

static void
vd_reset(void)
{
	for (uint32_t i = 1; i < vd_n; i++)
		free(vds[i].names);
	free(vds);
	vds = NULL;
	vd_n = vd_cap = 0;
}

static uint32_t
vd_new(void)
{
	if (vd_n == 0)
		vd_n = 1; /* id 0 means "absent" */
	if (vd_n >= vd_cap) {
		vd_cap = vd_cap ? vd_cap * 2 : 1024;
		vds = realloc(vds, vd_cap * sizeof(*vds));
		assert_non_null(vds);
	}
	memset(&vds[vd_n], 0, sizeof(vds[vd_n]));
	return vd_n++;
}

/* The value store of one open pool: buffer reference counts as the server
 * keeps them (one per value naming the buffer). */
struct store {
	struct pst_pool *pool;
	uint32_t buf_size;
	uint64_t buf_count;
	uint32_t *refs;
};

static void
store_init(struct store *st, struct pst_pool *p)
{
	struct pst_pool_info info = tu_info(p);

	st->pool = p;
	st->buf_size = info.buf_size;
	st->buf_count = info.buf_count;
	st->refs = calloc(info.buf_count, sizeof(*st->refs));
	assert_non_null(st->refs);
}

static void
store_fini(struct store *st)
{
	free(st->refs);
	st->refs = NULL;
}

static void
value_refs(struct store *st, const struct kv_value *v, int delta)
{
	for (uint16_t i = 0; i < v->n; i++) {
		uint32_t b = pst_name_index(v->names[i]);

		if (i > 0 && pst_name_index(v->names[i - 1]) == b)
			continue;
		if (delta > 0) {
			st->refs[b]++;
		} else {
			assert_true(st->refs[b] > 0);
			if (--st->refs[b] == 0)
				tu_assert_rc(pst_pool_release(st->pool, pst_name_index(v->names[i])), 0);
		}
	}
}

/* Room for the largest value. */
static union {
	struct kv_value v;
	char room[sizeof(struct kv_value) + 65535 * sizeof(pst_name)];
} vbuf;

enum vkind { V_EMPTY, V_SMALL, V_MULTI, V_MANY, V_COPY, V_KINDS };

/*
 * Make a value of @kind (V_MANY: @many names, 0 for a random count; V_COPY:
 * @many bytes, 1 to 8 buffers' worth, laid out as the server copies a value:
 * whole buffers from offset 0, the last one partly filled) in fresh kept
 * buffers, bytes flushed. Returns its id (crc), or 0 when the pool ran out
 * (nothing left kept).
 */
static uint32_t
mkval(struct store *st, uint64_t *rs, enum vkind kind, uint32_t many,
      struct kv_value *v)
{
	uint32_t id, nn, cur = UINT32_MAX, cur_off = 0, voff = 0;
	uint32_t lens[8], offs[8];
	int fresh_each = 0;

	switch (kind) {
	case V_EMPTY:
		nn = 0;
		break;
	case V_SMALL:
		nn = 1;
		offs[0] = rndu(rs, 65);
		lens[0] = 1 + rndu(rs, st->buf_size - offs[0]);
		if (rndu(rs, 4) == 0)
			lens[0] = 1 + rndu(rs, 100);
		fresh_each = 1;
		break;
	case V_MULTI:
		nn = 2 + rndu(rs, 3);
		for (uint32_t i = 0; i < nn; i++) {
			offs[i] = rndu(rs, 2) ? 0 : rndu(rs, 128);
			lens[i] = rndu(rs, 2) ? st->buf_size - offs[i]
					      : 1 + rndu(rs, st->buf_size - offs[i]);
		}
		fresh_each = 1;
		break;
	case V_COPY:
		assert_true(many >= 1 && many <= 8 * st->buf_size);
		nn = (many + st->buf_size - 1) / st->buf_size;
		for (uint32_t i = 0; i < nn; i++) {
			offs[i] = 0;
			lens[i] = i + 1 < nn ? st->buf_size
					     : many - i * st->buf_size;
		}
		fresh_each = 1;
		break;
	default:
		nn = many ? many : 50 + rndu(rs, 1100);
		break;
	}
	id = vd_new();
	v->n = (uint16_t)nn;
	v->crc = id;
	v->deadline_ms = deadline_of(id);
	for (uint32_t i = 0; i < nn; i++) {
		uint32_t len = fresh_each ? lens[i] : 1 + (id + i) % 8;
		uint8_t *a;

		if (fresh_each || cur == UINT32_MAX ||
		    cur_off + len > st->buf_size) {
			int r = pst_pool_take(st->pool, &cur);

			if (r == -ENOBUFS) {
				/* undo: release what this value kept */
				for (uint32_t k = 0; k < i; k++)
					if (k == 0 || pst_name_index(v->names[k]) !=
						      pst_name_index(v->names[k - 1]))
						tu_assert_rc(pst_pool_release(
							st->pool, pst_name_index(v->names[k])), 0);
				vd_n--;
				return 0;
			}
			tu_assert_rc(r, 0);
			tu_assert_rc(pst_pool_keep(st->pool, cur), 0);
			cur_off = fresh_each ? offs[i] : 0;
		}
		a = (uint8_t *)pst_pool_buf_addr(st->pool, cur) + cur_off;
		for (uint32_t j = 0; j < len; j++)
			a[j] = pat(id, voff + j);
		tu_assert_rc(pst_pool_flush(st->pool, a, len), 0);
		v->names[i] = pst_name_make(cur, (uint16_t)cur_off, (uint16_t)len);
		cur_off += len;
		voff += len;
	}
	v->len = voff;
	vds[id].len = voff;
	vds[id].n = (uint16_t)nn;
	vds[id].names = malloc((nn ? nn : 1) * sizeof(pst_name));
	assert_non_null(vds[id].names);
	memcpy(vds[id].names, v->names, nn * sizeof(pst_name));
	return id;
}

/* The value as the index returned it is exactly value @id. */
static void
check_desc(const struct kv_value *v, uint32_t id, const char *what)
{
	if (v == NULL)
		fail_msg("%s: value %u missing", what, id);
	if (v->crc != id || id >= vd_n)
		fail_msg("%s: value id %u, expected %u", what, v->crc, id);
	if (v->len != vds[id].len || v->n != vds[id].n ||
	    memcmp(v->names, vds[id].names, v->n * sizeof(pst_name)) != 0)
		fail_msg("%s: value %u: len %u n %u, expected len %u n %u (or "
			 "other names)", what, id, v->len, v->n, vds[id].len,
			 vds[id].n);
	if (v->deadline_ms != deadline_of(id))
		fail_msg("%s: value %u: deadline %llu, expected %llu", what, id,
			 (unsigned long long)v->deadline_ms,
			 (unsigned long long)deadline_of(id));
}

/* Bytes of a value are those of its id. Returns 1 if so. */
static int
bytes_ok(struct pst_pool *p, const struct kv_value *v)
{
	uint32_t voff = 0;

	for (uint16_t i = 0; i < v->n; i++) {
		const uint8_t *a = pst_pool_name_to_addr(p, v->names[i]);

		if (a == NULL)
			return 0;
		for (uint32_t j = 0; j < pst_name_length(v->names[i]); j++)
			if (a[j] != pat(v->crc, voff + j))
				return 0;
		voff += pst_name_length(v->names[i]);
	}
	return voff == v->len;
}

/* ---- fixtures ------------------------------------------------------------------ */

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("kvsidx");
}

static int
group_teardown(void **state)
{
	(void)state;
	vd_reset();
	return tu_group_teardown_common();
}

static int
test_teardown(void **state)
{
	vd_reset();
	return tu_test_teardown(state);
}

#define OPS(state) ((const struct kv_index_ops *)*(state))

/* ---- recovery collectors ---------------------------------------------------------- */

struct found {
	uint32_t nkeys;
	uint32_t *val;            /* by key id: value id, 0 absent */
	uint64_t values;
	pst_name *names;          /* owned + value names */
	size_t n_names, cap;
	uint64_t owned;
	struct store *st;         /* count references (optional) */
	int bad_key;
};

static void
found_push(struct found *f, pst_name nm)
{
	if (f->n_names == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 4096;
		f->names = realloc(f->names, f->cap * sizeof(*f->names));
		assert_non_null(f->names);
	}
	f->names[f->n_names++] = nm;
}

static void
on_value_found(void *arg, const void *key, uint16_t key_len,
	       const struct kv_value *v)
{
	struct found *f = arg;
	long id = key_parse(key, key_len);
	uint8_t kb[KV_KEY_MAX];

	if (id < 0 || (uint32_t)id >= f->nkeys || key_make((uint32_t)id, kb) !=
	    key_len || memcmp(kb, key, key_len) != 0 || f->val[id] != 0) {
		f->bad_key = 1;
		return;
	}
	f->val[id] = v->crc;
	f->values++;
	check_desc(v, v->crc, "recovered");
	for (uint16_t i = 0; i < v->n; i++)
		found_push(f, v->names[i]);
	if (f->st != NULL)
		value_refs(f->st, v, +1);
}

static void
on_owned_found(void *arg, pst_name nm)
{
	struct found *f = arg;

	f->owned++;
	found_push(f, nm);
}

static void
found_init(struct found *f, uint32_t nkeys, struct store *st)
{
	memset(f, 0, sizeof(*f));
	f->nkeys = nkeys;
	f->val = calloc(nkeys, sizeof(*f->val));
	assert_non_null(f->val);
	f->st = st;
}

static void
found_fini(struct found *f)
{
	free(f->val);
	free(f->names);
	memset(f, 0, sizeof(*f));
}

/* Distinct buffers among the names. */
static uint64_t
distinct_bufs(const pst_name *names, size_t n, uint64_t buf_count)
{
	uint8_t *m = calloc(buf_count, 1);
	uint64_t d = 0;

	assert_non_null(m);
	for (size_t i = 0; i < n; i++)
		if (!m[pst_name_index(names[i])]) {
			m[pst_name_index(names[i])] = 1;
			d++;
		}
	free(m);
	return d;
}

/* ---- the workload ---------------------------------------------------------------- */

/* The test's view of one index: model, store, the on_old check. */
struct wl {
	const struct kv_index_ops *ops;
	struct kv_index *idx;
	struct store st;
	uint32_t nkeys;
	uint32_t *model;          /* by key id: value id, 0 absent */
	uint64_t rs;
	uint64_t count;
	uint64_t olds;
	int check_old;            /* on_old must report the model's value */
	long expect_key;          /* key of the current operation */
};

static void
wl_on_old(void *arg, const void *key, uint16_t key_len, const struct kv_value *v)
{
	struct wl *w = arg;
	long id = key_parse(key, key_len);

	assert_true(id >= 0 && (uint32_t)id < w->nkeys);
	if (w->expect_key >= 0)
		assert_int_equal(id, w->expect_key);
	if (w->check_old)
		check_desc(v, w->model[id], "on_old");
	w->olds++;
	value_refs(&w->st, v, -1);
}

/* on_old for keys outside the key scheme: the value must be the last one
 * made (vbuf). */
static void
raw_on_old(void *arg, const void *key, uint16_t key_len, const struct kv_value *v)
{
	struct wl *w = arg;

	(void)key;
	(void)key_len;
	check_desc(v, vbuf.v.crc, "on_old (raw)");
	w->olds++;
	value_refs(&w->st, v, -1);
}

static void
wl_init(struct wl *w, const struct kv_index_ops *ops, struct pst_pool *p,
	uint32_t nkeys, uint64_t seed)
{
	memset(w, 0, sizeof(*w));
	w->ops = ops;
	store_init(&w->st, p);
	w->nkeys = nkeys;
	w->model = calloc(nkeys, sizeof(*w->model));
	assert_non_null(w->model);
	w->rs = seed;
	w->check_old = 1;
	w->expect_key = -1;
}

static void
wl_fini(struct wl *w)
{
	store_fini(&w->st);
	free(w->model);
	w->model = NULL;
}

/* The end of a workload test: the index, then its pool, then the model. */
static void
wl_close(struct wl *w)
{
	w->ops->close(w->idx);
	tu_close(w->st.pool);
	wl_fini(w);
}

/* Random value kind: mostly small, sometimes empty, multi or many names. */
static enum vkind
wl_kind(struct wl *w)
{
	uint32_t r = rndu(&w->rs, 100);

	return r < 5 ? V_EMPTY : r < 80 ? V_SMALL : r < 95 ? V_MULTI : V_MANY;
}

/* Put a new value under key @k; returns 0 or the index's error (-ENOSPC
 * also when the test could not make the value). */
static int
wl_put(struct wl *w, uint32_t k, enum vkind kind, uint32_t many)
{
	uint8_t kb[KV_KEY_MAX];
	uint16_t kl = key_make(k, kb);
	uint32_t id = mkval(&w->st, &w->rs, kind, many, &vbuf.v);
	int r;

	if (id == 0)
		return -ENOSPC;
	w->expect_key = k;
	r = w->ops->put(w->idx, kb, kl, &vbuf.v, wl_on_old, w);
	w->expect_key = -1;
	if (r != 0) {
		/* never referenced: drop the value's buffers */
		value_refs(&w->st, &vbuf.v, +1);
		value_refs(&w->st, &vbuf.v, -1);
		return r;
	}
	value_refs(&w->st, &vbuf.v, +1);
	if (w->model[k] == 0)
		w->count++;
	w->model[k] = id;
	return 0;
}

static int
wl_del(struct wl *w, uint32_t k)
{
	uint8_t kb[KV_KEY_MAX];
	uint16_t kl = key_make(k, kb);
	int r;

	w->expect_key = k;
	r = w->ops->del(w->idx, kb, kl, wl_on_old, w);
	w->expect_key = -1;
	if (r < 0)
		return r;
	assert_int_equal(r, w->model[k] != 0);
	if (w->model[k] != 0)
		w->count--;
	w->model[k] = 0;
	return r;
}

static void
wl_flushall(struct wl *w)
{
	uint64_t before = w->olds;

	tu_assert_rc(w->ops->flushall(w->idx, wl_on_old, w), 0);
	assert_int_equal(w->olds - before, w->count);
	memset(w->model, 0, w->nkeys * sizeof(*w->model));
	w->count = 0;
}

/* get() of every key agrees with the model; bytes too if @bytes. */
static void
wl_check_all(struct wl *w, int bytes)
{
	uint8_t kb[KV_KEY_MAX];

	assert_int_equal(w->ops->count(w->idx), w->count);
	for (uint32_t k = 0; k < w->nkeys; k++) {
		uint16_t kl = key_make(k, kb);
		const struct kv_value *v = w->ops->get(w->idx, kb, kl);

		if (w->model[k] == 0) {
			if (v != NULL)
				fail_msg("key %u: present (value %u), expected "
					 "absent", k, v->crc);
			continue;
		}
		check_desc(v, w->model[k], "get");
		if (bytes && !bytes_ok(w->st.pool, v))
			fail_msg("key %u: value %u bytes differ", k, w->model[k]);
	}
}

static void
wl_open(struct wl *w, struct pst_pool *p, struct found *f,
	struct kv_index_report *rep)
{
	int r;

	memset(rep, 0x5a, sizeof(*rep));
	r = w->ops->open(&w->idx, p, on_value_found, on_owned_found, NULL, f, rep);
	if (r != 0)
		fail_msg("%s open: %d (%s)", w->ops->name, r, pst_strerror(r));
	assert_false(f->bad_key);
}

/* Open a new index on @p for a model of @nkeys keys: it recovers nothing.
 * With @f, what open() reported is left there (found_fini() it), else
 * dropped. */
static void
wl_start(struct wl *w, const struct kv_index_ops *ops, struct pst_pool *p,
	 uint32_t nkeys, uint64_t seed, struct found *f)
{
	struct kv_index_report rep;
	struct found mine;

	if (f == NULL)
		f = &mine;
	wl_init(w, ops, p, nkeys, seed);
	found_init(f, nkeys, NULL);
	wl_open(w, p, f, &rep);
	assert_int_equal(rep.entries, 0);
	assert_int_equal(rep.torn, 0);
	assert_int_equal(f->values, 0);
	if (f == &mine)
		found_fini(f);
}

/* Reopened map == model; report sane; reconcile frees @leftovers. */
static void
wl_reopen_check(struct wl *w, const char *path, uint64_t leftovers)
{
	struct kv_index_report rep;
	struct pst_pool_reconcile_report rr;
	struct pst_pool *p;
	struct found f;
	uint64_t refd;

	w->ops->close(w->idx);
	w->idx = NULL;
	tu_close(w->st.pool);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	store_fini(&w->st);
	store_init(&w->st, p);
	found_init(&f, w->nkeys, &w->st);
	wl_open(w, p, &f, &rep);
	assert_int_equal(rep.entries, w->count);
	assert_int_equal(rep.torn, 0);
	assert_int_equal(f.values, w->count);
	assert_true(f.owned >= 1);
	for (uint32_t k = 0; k < w->nkeys; k++)
		if (f.val[k] != w->model[k])
			fail_msg("%s: key %u recovered as value %u, expected %u",
				 w->ops->name, k, f.val[k], w->model[k]);
	assert_int_equal(w->ops->own_bytes(w->idx),
			 f.owned * w->st.buf_size);
	refd = distinct_bufs(f.names, f.n_names, w->st.buf_count);
	tu_assert_rc(pst_pool_reconcile(p, f.names, f.n_names, &rr), 0);
	assert_int_equal(rr.referenced, refd);
	assert_int_equal(rr.newly_kept, 0);
	assert_int_equal(rr.released, leftovers);
	assert_int_equal(rr.kept, refd);
	tu_assert_verify(p);
	found_fini(&f);
	wl_check_all(w, 1);
}

/* ---- semantics ------------------------------------------------------------------- */

static void
test_semantics(void **state)
{
	const struct kv_index_ops *ops = OPS(state);
	char path[PATH_MAX];
	struct pst_pool *p;
	struct wl w;
	uint8_t kb[KV_KEY_MAX + 8];
	const struct kv_value *v;

	tu_path(path, sizeof(path), "sem");
	p = tu_must_create(path, BUF, 4096, PST_PERSIST_FLUSH);
	wl_start(&w, ops, p, 64, 1, NULL);
	assert_int_equal(ops->count(w.idx), 0);
	assert_true(ops->own_bytes(w.idx) > 0);

	/* put, get, replace (on_old reports the old names), del */
	tu_assert_rc(wl_put(&w, 1, V_SMALL, 0), 0);
	assert_int_equal(w.olds, 0);
	wl_check_all(&w, 1);
	uint32_t first = w.model[1];
	tu_assert_rc(wl_put(&w, 1, V_MULTI, 0), 0);
	assert_int_equal(w.olds, 1);
	assert_true(w.model[1] != first);
	wl_check_all(&w, 1);
	tu_assert_rc(wl_put(&w, 2, V_EMPTY, 0), 0);
	v = ops->get(w.idx, kb, key_make(2, kb));
	assert_non_null(v);
	assert_int_equal(v->len, 0);
	assert_int_equal(v->n, 0);
	assert_int_equal(ops->count(w.idx), 2);
	assert_int_equal(wl_del(&w, 1), 1);
	assert_int_equal(w.olds, 2);
	assert_int_equal(wl_del(&w, 1), 0);
	assert_int_equal(w.olds, 2);
	assert_int_equal(wl_del(&w, 3), 0);
	assert_null(ops->get(w.idx, kb, key_make(1, kb)));
	wl_check_all(&w, 1);

	/* many names: the server's 1024, and far more */
	tu_assert_rc(wl_put(&w, 4, V_MANY, KV_VALUE_NAMES_MAX), 0);
	tu_assert_rc(wl_put(&w, 5, V_MANY, 5000), 0);
	tu_assert_rc(wl_put(&w, 6, V_MANY, 65535), 0);
	wl_check_all(&w, 1);
	tu_assert_rc(wl_put(&w, 5, V_MANY, 300), 0);  /* many -> many */
	tu_assert_rc(wl_put(&w, 4, V_SMALL, 0), 0);   /* many -> one */
	tu_assert_rc(wl_put(&w, 2, V_MANY, 2000), 0); /* none -> many */
	wl_check_all(&w, 1);

	/* keys of 0 (the empty key, as in Redis), 1 and 250 bytes; 251 refused */
	memset(kb, 'z', sizeof(kb));
	uint32_t id = mkval(&w.st, &w.rs, V_SMALL, 0, &vbuf.v);
	assert_true(id != 0);
	tu_assert_rc(ops->put(w.idx, kb, 1, &vbuf.v, raw_on_old, &w), 0);
	tu_assert_rc(ops->put(w.idx, kb, KV_KEY_MAX, &vbuf.v, raw_on_old, &w), 0);
	value_refs(&w.st, &vbuf.v, +1);
	value_refs(&w.st, &vbuf.v, +1);
	tu_assert_rc(ops->put(w.idx, kb, KV_KEY_MAX + 1, &vbuf.v, raw_on_old, &w),
		     -EINVAL);
	tu_assert_rc(ops->put(w.idx, NULL, 3, &vbuf.v, raw_on_old, &w), -EINVAL);
	assert_int_equal(ops->count(w.idx), w.count + 2);
	check_desc(ops->get(w.idx, kb, 1), id, "1-byte key");
	check_desc(ops->get(w.idx, kb, KV_KEY_MAX), id, "250-byte key");
	assert_null(ops->get(w.idx, kb, 2));
	assert_null(ops->get(w.idx, kb, KV_KEY_MAX - 1));
	assert_null(ops->get(w.idx, kb, KV_KEY_MAX + 1));
	assert_null(ops->get(w.idx, kb, 0));
	assert_int_equal(ops->del(w.idx, kb, 0, raw_on_old, &w), 0);
	tu_assert_rc(ops->put(w.idx, kb, 0, &vbuf.v, raw_on_old, &w), 0);
	value_refs(&w.st, &vbuf.v, +1);
	assert_int_equal(ops->count(w.idx), w.count + 3);
	check_desc(ops->get(w.idx, kb, 0), id, "empty key");
	check_desc(ops->get(w.idx, NULL, 0), id, "empty key, no bytes");
	check_desc(ops->get(w.idx, kb, 1), id, "1-byte key, next to the empty one");
	tu_assert_rc(ops->del(w.idx, kb, KV_KEY_MAX + 1, raw_on_old, &w), -EINVAL);
	uint64_t olds = w.olds;
	assert_int_equal(ops->del(w.idx, kb, 0, raw_on_old, &w), 1);
	assert_int_equal(w.olds, olds + 1);
	assert_null(ops->get(w.idx, kb, 0));
	olds = w.olds;
	assert_int_equal(ops->del(w.idx, kb, 1, raw_on_old, &w), 1);
	assert_int_equal(w.olds, olds + 1);
	assert_int_equal(ops->del(w.idx, kb, KV_KEY_MAX, raw_on_old, &w), 1);
	assert_int_equal(w.olds, olds + 2);

	/* values whose names do not add up, or are not names of the pool */
	vbuf.v.len += 1;
	tu_assert_rc(ops->put(w.idx, kb, 7, &vbuf.v, wl_on_old, &w), -EINVAL);
	vbuf.v.len -= 1;
	vbuf.v.names[0] = pst_name_make(4096, 0, 1);
	vbuf.v.len = 1;
	vbuf.v.n = 1;
	tu_assert_rc(ops->put(w.idx, kb, 7, &vbuf.v, wl_on_old, &w), -EINVAL);
	tu_assert_rc(ops->put(w.idx, kb, 7, NULL, wl_on_old, &w), -EINVAL);
	assert_int_equal(ops->count(w.idx), w.count);

	/* everything survives a reopen */
	tu_assert_rc(pst_pool_drain(w.st.pool), 0);
	wl_reopen_check(&w, path, 0);

	/* flushall reports every value, and leaves an empty, usable index */
	wl_flushall(&w);
	assert_int_equal(ops->count(w.idx), 0);
	wl_check_all(&w, 0);
	tu_assert_rc(wl_put(&w, 9, V_SMALL, 0), 0);
	wl_flushall(&w);
	wl_flushall(&w);
	tu_assert_rc(wl_put(&w, 10, V_MANY, 0), 0);
	tu_assert_rc(pst_pool_drain(w.st.pool), 0);
	wl_reopen_check(&w, path, 0);
	wl_close(&w);
}

/* ---- 10,000 random operations, then recovery ------------------------------------ */

static void
run_random(struct wl *w, unsigned int nops, int with_flushall)
{
	unsigned int done = 0;

	while (done < nops) {
		unsigned int batch = 1 + rndu(&w->rs, 16);

		for (unsigned int j = 0; j < batch && done < nops; j++, done++) {
			uint32_t k = rndu(&w->rs, w->nkeys);
			uint32_t r = rndu(&w->rs, 100);
			uint8_t kb[KV_KEY_MAX];
			uint16_t kl;
			const struct kv_value *v;

			if (with_flushall && done == nops / 2)
				wl_flushall(w);
			else if (r < 30)
				wl_del(w, k);
			else
				tu_assert_rc(wl_put(w, k, wl_kind(w), 0), 0);
			kl = key_make(k, kb);
			v = w->ops->get(w->idx, kb, kl);
			if (w->model[k] == 0)
				assert_null(v);
			else
				check_desc(v, w->model[k], "get after op");
		}
		tu_assert_rc(pst_pool_drain(w->st.pool), 0);
	}
}

static void
test_random_reopen(void **state)
{
	const struct kv_index_ops *ops = OPS(state);
	char path[PATH_MAX];
	struct pst_pool *p;
	struct wl w;

	alarm(120);
	tu_path(path, sizeof(path), "random");
	p = tu_must_create(path, BUF, 16384, PST_PERSIST_FLUSH);
	wl_start(&w, ops, p, 1500, 0x5eed0001, NULL);
	run_random(&w, 10000, 1);
	wl_check_all(&w, 1);
	/* Leftovers: kept buffers nothing references (a crashed request). */
	for (int i = 0; i < 7; i++) {
		uint32_t idx;

		tu_assert_rc(pst_pool_take(w.st.pool, &idx), 0);
		tu_assert_rc(pst_pool_keep(w.st.pool, idx), 0);
	}
	tu_assert_rc(pst_pool_drain(w.st.pool), 0);
	print_message("%s: %llu keys after 10000 operations, %llu bytes of "
		      "index\n", ops->name, (unsigned long long)w.count,
		      (unsigned long long)ops->own_bytes(w.idx));
	wl_reopen_check(&w, path, 7);
	/* and once more, after more work on the recovered index */
	run_random(&w, 2000, 0);
	wl_reopen_check(&w, path, 0);
	wl_close(&w);
	alarm(0);
}

/* ---- the server's load on a new pool ------------------------------------------------ */

/*
 * What paste-kvs does with a new pool: open the index, reconcile the pool
 * against exactly what open() reported (kv_store_open), then serve
 * pipelined SETs. An own buffer a new index failed to report (its B+tree
 * superblock, say) would be freed by that reconcile; the next value copied
 * would land on the root records and the tree come apart a few thousand
 * puts later.
 * Batches of 64 operations over 2000 keys, a drain after each (one per
 * poll): values of 10 to 9000 bytes in one to five whole buffers as the
 * server copies them, sometimes several names in part buffers, many names
 * (B+tree overflow blocks) or none; overwrites change the size and the
 * layout; some deletes. Then reopen, more of the same, reopen.
 */
static void
test_server_load(void **state)
{
	static const uint32_t sizes[] = { 10, 100, 1000, 2000, 3000, 9000 };
	const struct kv_index_ops *ops = OPS(state);
	struct pst_pool_reconcile_report rr;
	char path[PATH_MAX];
	struct pst_pool *p;
	struct found f;
	struct wl w;
	uint64_t refd;

	alarm(180);
	tu_path(path, sizeof(path), "load");
	p = tu_must_create(path, BUF, 16384, PST_PERSIST_FLUSH);
	wl_start(&w, ops, p, 2000, 0x10ad, &f);
	/* A new index reports its own buffers as a recovered one does. */
	assert_true(f.owned >= 1);
	assert_int_equal(ops->own_bytes(w.idx), f.owned * w.st.buf_size);
	refd = distinct_bufs(f.names, f.n_names, w.st.buf_count);
	tu_assert_rc(pst_pool_drain(p), 0);
	tu_assert_rc(pst_pool_reconcile(p, f.names, f.n_names, &rr), 0);
	assert_int_equal(rr.released, 0);
	assert_int_equal(rr.newly_kept, 0);
	assert_int_equal(rr.kept, refd);
	found_fini(&f);

	for (int pass = 0; pass < 2; pass++) {
		for (int round = 0; round < 150; round++) {
			for (int j = 0; j < 64; j++) {
				uint32_t k = rndu(&w.rs, w.nkeys);
				uint32_t r = rndu(&w.rs, 100);

				if (r < 8)
					assert_true(wl_del(&w, k) >= 0);
				else if (r < 12)
					tu_assert_rc(wl_put(&w, k, V_MULTI, 0), 0);
				else if (r < 14)
					tu_assert_rc(wl_put(&w, k, V_MANY, 0), 0);
				else if (r < 15)
					tu_assert_rc(wl_put(&w, k, V_EMPTY, 0), 0);
				else
					tu_assert_rc(wl_put(&w, k, V_COPY,
							    sizes[rndu(&w.rs, 6)]), 0);
			}
			tu_assert_rc(pst_pool_drain(w.st.pool), 0);
			if (round % 30 == 29)
				wl_check_all(&w, 1);
		}
		print_message("%s: pass %d: %llu keys, %llu bytes of index\n",
			      ops->name, pass, (unsigned long long)w.count,
			      (unsigned long long)ops->own_bytes(w.idx));
		wl_check_all(&w, 1);
		wl_reopen_check(&w, path, 0);
	}
	wl_close(&w);
	alarm(0);
}

/* ---- bounded size under overwrites ------------------------------------------------- */

static void
test_bounded(void **state)
{
	const struct kv_index_ops *ops = OPS(state);
	char path[PATH_MAX];
	struct pst_pool *p;
	struct wl w;
	uint64_t max_own = 0;

	alarm(120);
	tu_path(path, sizeof(path), "bounded");
	p = tu_must_create(path, BUF, 8192, PST_PERSIST_FLUSH);
	wl_start(&w, ops, p, 40, 0xb0b, NULL);
	/* 20,000 overwrites of 40 small values, a drain every 8 */
	for (int i = 0; i < 20000; i++) {
		tu_assert_rc(wl_put(&w, (uint32_t)i % w.nkeys,
				    i % 2 ? V_SMALL : V_EMPTY, 0), 0);
		if (i % 8 == 7)
			tu_assert_rc(pst_pool_drain(w.st.pool), 0);
		if (ops->own_bytes(w.idx) > max_own)
			max_own = ops->own_bytes(w.idx);
	}
	/* Live entries fit in a few buffers: the log stays at its 64-buffer
	 * floor (x2 before compaction triggers), the tree at a few nodes. */
	print_message("%s: largest index %llu buffers for 40 keys\n", ops->name,
		      (unsigned long long)(max_own / BUF));
	assert_true(max_own / BUF <= 2 * 64 + 8);
	struct pst_pool_stats s = tu_stats(w.st.pool);
	assert_true(s.kept <= max_own / BUF + 4 * w.nkeys);
	wl_check_all(&w, 1);

	/* Large live set (values with 40-200 names): bounded by its size. */
	for (int i = 0; i < 3000; i++) {
		tu_assert_rc(wl_put(&w, (uint32_t)i % w.nkeys, V_MANY,
				    40 + (uint32_t)i % 160), 0);
		if (i % 8 == 7)
			tu_assert_rc(pst_pool_drain(w.st.pool), 0);
		if (ops->own_bytes(w.idx) > max_own)
			max_own = ops->own_bytes(w.idx);
	}
	/* live: 40 x (up to 200 names x 8 B + key) <= 75 KB = 35 buffers */
	print_message("%s: largest index %llu buffers for 40 keys with up to "
		      "200 names\n", ops->name,
		      (unsigned long long)(max_own / BUF));
	assert_true(max_own / BUF <= 2 * 64 + 4 * 40 + 8);
	tu_assert_rc(pst_pool_drain(w.st.pool), 0);
	wl_reopen_check(&w, path, 0);
	wl_close(&w);
	alarm(0);
}

/* A caller that never drains (a bulk load): nothing fills up. */
static void
test_no_drain(void **state)
{
	const struct kv_index_ops *ops = OPS(state);
	char path[PATH_MAX];
	struct pst_pool *p;
	struct wl w;

	alarm(120);
	tu_path(path, sizeof(path), "nodrain");
	p = tu_must_create(path, BUF, 4096, PST_PERSIST_FLUSH);
	wl_start(&w, ops, p, 300, 0xd7a1, NULL);
	for (int i = 0; i < 30000; i++)
		tu_assert_rc(wl_put(&w, rndu(&w.rs, w.nkeys), V_EMPTY, 0), 0);
	wl_check_all(&w, 0);
	wl_reopen_check(&w, path, 0);
	wl_close(&w);
	alarm(0);
}

/* ---- small and large buffers, long keys ------------------------------------------- */

static void
test_small_buffers(void **state)
{
	const struct kv_index_ops *ops = OPS(state);
	char path[PATH_MAX];
	struct pst_pool *p;
	struct kv_index *idx = NULL;
	struct kv_index_report rep;
	struct wl w;

	alarm(120);
	/* 448-byte buffers: refused */
	tu_path(path, sizeof(path), "tiny");
	p = tu_must_create(path, 448, 256, PST_PERSIST_FLUSH);
	tu_assert_rc(ops->open(&idx, p, NULL, NULL, NULL, NULL, &rep), -EINVAL);
	assert_null(idx);
	{
		uint64_t root = 1;

		assert_int_equal(pst_pool_root_get(p, KV_ROOT_WAL, &root), 0);
		assert_int_equal(root, 0);
		assert_int_equal(pst_pool_root_get(p, KV_ROOT_BTREE, &root), 0);
		assert_int_equal(root, 0);
	}
	tu_close(p);

	/* 512-byte buffers: long keys (8..250 bytes), many names */
	tu_path(path, sizeof(path), "small");
	p = tu_must_create(path, 512, 32768, PST_PERSIST_FLUSH);
	wl_start(&w, ops, p, 600, 0x512, NULL);
	run_random(&w, 3000, 0);
	tu_assert_rc(wl_put(&w, 3, V_MANY, KV_VALUE_NAMES_MAX), 0);
	tu_assert_rc(wl_put(&w, 250, V_MANY, 3000), 0);
	tu_assert_rc(pst_pool_drain(w.st.pool), 0);
	wl_check_all(&w, 1);
	wl_reopen_check(&w, path, 0);
	for (uint32_t k = 0; k < w.nkeys; k++)
		if (k % 3)
			wl_del(&w, k);
	tu_assert_rc(pst_pool_drain(w.st.pool), 0);
	wl_reopen_check(&w, path, 0);
	wl_close(&w);

	/* and large ones (16 KiB: hundreds of entries per node) */
	tu_path(path, sizeof(path), "large");
	p = tu_must_create(path, 16384, 4096, PST_PERSIST_FLUSH);
	wl_start(&w, ops, p, 3000, 0x16384, NULL);
	run_random(&w, 6000, 0);
	tu_assert_rc(wl_put(&w, 7, V_MANY, 20000), 0);
	tu_assert_rc(pst_pool_drain(w.st.pool), 0);
	wl_reopen_check(&w, path, 0);
	wl_close(&w);
	alarm(0);
}

/* ---- a full pool ------------------------------------------------------------------ */

static void
test_full_pool(void **state)
{
	const struct kv_index_ops *ops = OPS(state);
	char path[PATH_MAX];
	struct pst_pool *p;
	struct wl w;
	int nospc = 0;

	alarm(120);
	tu_path(path, sizeof(path), "full");
	p = tu_must_create(path, BUF, 512, PST_PERSIST_FLUSH);
	wl_start(&w, ops, p, 2000, 0xf011, NULL);
	/* Fill it with values of one buffer until the index refuses. */
	for (uint32_t k = 0; k < w.nkeys && nospc < 50; k++) {
		int r = wl_put(&w, k, k % 5 ? V_EMPTY : V_SMALL, 0);

		if (r == -ENOSPC) {
			nospc++;
			tu_assert_rc(pst_pool_drain(w.st.pool), 0);
			continue;
		}
		tu_assert_rc(r, 0);
		if (k % 4 == 3)
			tu_assert_rc(pst_pool_drain(w.st.pool), 0);
	}
	assert_true(nospc > 0);
	tu_assert_rc(pst_pool_drain(w.st.pool), 0);
	wl_check_all(&w, 1);
	/* Deleting always works (the indexes keep a reserve for it) and
	 * makes room again. */
	for (uint32_t k = 0; k < w.nkeys; k += 3)
		if (w.model[k] != 0) {
			tu_assert_rc(wl_del(&w, k), 1);
			tu_assert_rc(pst_pool_drain(w.st.pool), 0);
		}
	wl_check_all(&w, 1);
	for (uint32_t k = 0; k < 20; k++)
		tu_assert_rc(wl_put(&w, k, V_SMALL, 0), 0);
	tu_assert_rc(pst_pool_drain(w.st.pool), 0);
	wl_check_all(&w, 1);
	wl_reopen_check(&w, path, 0);
	wl_close(&w);
	alarm(0);
}

/* ---- power loss ------------------------------------------------------------------- */

enum { OP_PUT = 1, OP_DEL, OP_FLUSHALL };

struct oplog {
	uint8_t op;
	uint32_t key;
	uint32_t val;
};

struct pl {
	/* the medium */
	char *base;
	size_t len;
	uint8_t *img;             /* flushed before the last drain */
	size_t (*pend)[2];
	size_t n_pend, cap_pend;
	/* a power failure, captured inside an operation or at a drain */
	uint8_t *cap;
	int captured;
	uint32_t cap_lo, cap_hi;  /* operations durable .. started */
	int cap_q;                /* lines written since the drain that
				   * survive: none, 50%, 90%, all; or (4)
				   * half of the flushed ranges, whole */
	int armed;
	uint32_t every;           /* 1 in every flushes/drains fails */
	uint64_t rs;
	/* operations */
	struct oplog *log;
	uint32_t n_log, cap_log;
	uint32_t done;            /* operations completed */
	uint32_t durable;         /* completed at the last drain */
	struct pst_persist_hook hook;
	/* counters */
	uint64_t checks, checks_q[5], torn_entries, torn_values, newly_kept,
		 matched_newer;
};

static void
pl_capture(struct pl *pl)
{
	size_t lines = pl->len / 64;

	if (pl->captured || !pl->armed)
		return;
	static const uint32_t pct[4] = { 0, 50, 90, 100 };

	pl->cap_q = (int)rndu(&pl->rs, 5);
	memcpy(pl->cap, pl->img, pl->len);
	if (pl->cap_q == 4) {
		/* Whole flushes survive or not: a new node lost entirely while
		 * its parent made it, say. */
		for (size_t i = 0; i < pl->n_pend; i++)
			if (rndu(&pl->rs, 2))
				memcpy(pl->cap + pl->pend[i][0],
				       pl->base + pl->pend[i][0],
				       pl->pend[i][1] - pl->pend[i][0]);
	} else if (pl->cap_q > 0)
		for (size_t l = 0; l < lines; l++) {
			const char *live = pl->base + l * 64;

			if (memcmp(live, pl->img + l * 64, 64) == 0)
				continue;
			if (rndu(&pl->rs, 100) < pct[pl->cap_q])
				memcpy(pl->cap + l * 64, live, 64);
		}
	pl->captured = 1;
	pl->cap_lo = pl->durable;
	pl->cap_hi = pl->n_log;
}

static void
pl_flush(void *ctx, const void *addr, size_t len)
{
	struct pl *pl = ctx;
	const char *a = addr;
	size_t lo, hi;

	assert_true(a >= pl->base && a + len <= pl->base + pl->len);
	lo = (size_t)(a - pl->base) & ~(size_t)63;
	hi = ((size_t)(a - pl->base) + len + 63) & ~(size_t)63;
	if (hi > pl->len)
		hi = pl->len;
	if (pl->n_pend == pl->cap_pend) {
		pl->cap_pend = pl->cap_pend ? pl->cap_pend * 2 : 4096;
		pl->pend = realloc(pl->pend, pl->cap_pend * sizeof(*pl->pend));
		assert_non_null(pl->pend);
	}
	pl->pend[pl->n_pend][0] = lo;
	pl->pend[pl->n_pend][1] = hi;
	pl->n_pend++;
	if (rndu(&pl->rs, pl->every) == 0)
		pl_capture(pl);
}

static void
pl_drain(void *ctx)
{
	struct pl *pl = ctx;

	for (size_t i = 0; i < pl->n_pend; i++)
		memcpy(pl->img + pl->pend[i][0], pl->base + pl->pend[i][0],
		       pl->pend[i][1] - pl->pend[i][0]);
	pl->n_pend = 0;
	pl->durable = pl->done;
	if (rndu(&pl->rs, pl->every / 8 + 1) == 0)
		pl_capture(pl);
}

static void
pl_log(struct pl *pl, uint8_t op, uint32_t key, uint32_t val)
{
	if (pl->n_log == pl->cap_log) {
		pl->cap_log = pl->cap_log ? pl->cap_log * 2 : 4096;
		pl->log = realloc(pl->log, pl->cap_log * sizeof(*pl->log));
		assert_non_null(pl->log);
	}
	pl->log[pl->n_log++] = (struct oplog){ op, key, val };
}

static void
state_apply(uint32_t *s, uint32_t nkeys, const struct oplog *o)
{
	if (o->op == OP_PUT)
		s[o->key] = o->val;
	else if (o->op == OP_DEL)
		s[o->key] = 0;
	else
		memset(s, 0, nkeys * sizeof(*s));
}

/* Reconcile the recovered pool with what @f says the index references,
 * and take the recovered map as the model. */
static void
pl_reconcile(struct pl *pl, struct pst_pool *p, const struct found *f, struct wl *w)
{
	struct pst_pool_reconcile_report rr;

	tu_assert_rc(pst_pool_reconcile(p, f->names, f->n_names, &rr), 0);
	if (pl->cap_q == 0)
		assert_int_equal(rr.newly_kept, 0);
	pl->newly_kept += rr.newly_kept;
	tu_assert_verify(p);
	memcpy(w->model, f->val, w->nkeys * sizeof(*w->model));
	w->count = f->values;
}

/* The power failed: recover the captured image and check it. */
static void
pl_check(struct pl *pl, const struct kv_index_ops *ops, uint32_t nkeys)
{
	char cpath[PATH_MAX];
	uint32_t *s = calloc(nkeys, sizeof(*s)), *s_lo = calloc(nkeys, sizeof(*s));
	struct kv_index_report rep;
	struct pst_pool *p;
	struct found f;
	struct wl w;
	uint32_t j, match = UINT32_MAX;
	int fd;

	assert_non_null(s);
	assert_non_null(s_lo);
	tu_path(cpath, sizeof(cpath), "powerloss-image");
	fd = open(cpath, O_CREAT | O_EXCL | O_WRONLY, 0600);
	assert_true(fd >= 0);
	for (size_t done = 0; done < pl->len;) {
		ssize_t wr = write(fd, pl->cap + done, pl->len - done);

		assert_true(wr > 0);
		done += (size_t)wr;
	}
	close(fd);

	p = tu_open(cpath, PST_PERSIST_FLUSH);
	if (p == NULL)
		fail_msg("image refused: %s", pst_errormsg());
	tu_assert_verify(p);
	wl_init(&w, ops, p, nkeys, pl->rs ^ 0xabcdef);
	found_init(&f, nkeys, &w.st);
	memset(&rep, 0x5a, sizeof(rep));
	int r = ops->open(&w.idx, p, on_value_found, on_owned_found, NULL, &f, &rep);
	if (r != 0)
		fail_msg("%s: recovery of the image (operations %u..%u durable.."
			 "started, q %d) failed: %d (%s)", ops->name, pl->cap_lo,
			 pl->cap_hi, pl->cap_q, r, pst_strerror(r));
	assert_false(f.bad_key);
	assert_int_equal(rep.entries, f.values);
	if (pl->cap_q == 0)
		assert_int_equal(rep.torn, 0);
	else
		assert_true(rep.torn <= 3);
	pl->torn_entries += rep.torn;

	/* The map is the state after some prefix of the operations, at
	 * least every operation that was drained. */
	for (j = 0; j < pl->cap_lo; j++)
		state_apply(s_lo, nkeys, &pl->log[j]);
	memcpy(s, s_lo, nkeys * sizeof(*s));
	for (j = pl->cap_lo;; j++) {
		if (memcmp(s, f.val, nkeys * sizeof(*s)) == 0) {
			match = j;
			break;
		}
		if (j == pl->cap_hi)
			break;
		state_apply(s, nkeys, &pl->log[j]);
	}
	if (match == UINT32_MAX) {
		for (uint32_t k = 0; k < nkeys; k++)
			if (f.val[k] != s_lo[k])
				print_error("key %u: recovered %u, durable %u, "
					    "latest %u\n", k, f.val[k], s_lo[k],
					    s[k]);
		fail_msg("%s: recovered map is no prefix of the operations "
			 "(%u durable, %u started, q %d)", ops->name, pl->cap_lo,
			 pl->cap_hi, pl->cap_q);
	}
	if (match > pl->cap_lo)
		pl->matched_newer++;

	/*
	 * Values unchanged since the last drain have all their bytes; newer
	 * ones may be torn and are deleted, as the server does. Two orders:
	 *  A: reconcile first with everything the index reported (own
	 *     buffers, all values), then delete the torn values (on_old
	 *     releases their buffers) -- what the server should do;
	 *  B: delete first (the index takes buffers while the pool may still
	 *     believe some it references are free: they must be kept, not
	 *     overwritten), then reopen the index to collect the names it
	 *     references now, and reconcile with those.
	 */
	int flow_a = rndu(&pl->rs, 2);
	uint32_t torn_keys[64];
	unsigned int n_torn = 0;

	for (uint32_t k = 0; k < nkeys; k++) {
		uint8_t kb[KV_KEY_MAX];
		uint16_t kl = key_make(k, kb);
		const struct kv_value *v;

		if (f.val[k] == 0)
			continue;
		v = ops->get(w.idx, kb, kl);
		check_desc(v, f.val[k], "recovered get");
		if (bytes_ok(p, v))
			continue;
		if (f.val[k] == s_lo[k])
			fail_msg("%s: key %u: value %u was drained but its bytes "
				 "are torn", ops->name, k, f.val[k]);
		pl->torn_values++;
		assert_true(n_torn < 64);
		torn_keys[n_torn++] = k;
	}
	if (flow_a) {
		pl_reconcile(pl, p, &f, &w);
		for (unsigned int i = 0; i < n_torn; i++)
			assert_int_equal(wl_del(&w, torn_keys[i]), 1);
		for (int i = 0; i < 4; i++)
			wl_del(&w, rndu(&pl->rs, nkeys));
		tu_assert_rc(pst_pool_drain(p), 0);
		found_fini(&f);
	} else {
		for (unsigned int i = 0; i < n_torn; i++) {
			uint8_t kb[KV_KEY_MAX];
			uint16_t kl = key_make(torn_keys[i], kb);

			assert_int_equal(ops->del(w.idx, kb, kl, NULL, NULL), 1);
			f.val[torn_keys[i]] = 0;
		}
		for (int i = 0; i < 4; i++) {
			uint32_t k = rndu(&pl->rs, nkeys);
			uint8_t kb[KV_KEY_MAX];
			uint16_t kl = key_make(k, kb);

			assert_int_equal(ops->del(w.idx, kb, kl, NULL, NULL),
					 f.val[k] != 0);
			f.val[k] = 0;
		}
		tu_assert_rc(pst_pool_drain(p), 0);
		ops->close(w.idx);
		w.idx = NULL;
		found_fini(&f);
		store_fini(&w.st);
		store_init(&w.st, p);
		found_init(&f, nkeys, &w.st);
		wl_open(&w, p, &f, &rep);
		assert_int_equal(rep.torn, 0);
		pl_reconcile(pl, p, &f, &w);
		found_fini(&f);
	}
	w.check_old = 1;

	/* Use it: a few batches, then close and reopen. */
	for (int b = 0; b < 3; b++) {
		for (int i = 0; i < 6; i++) {
			uint32_t k = rndu(&w.rs, nkeys);

			if (rndu(&w.rs, 4) == 0)
				wl_del(&w, k);
			else
				tu_assert_rc(wl_put(&w, k, wl_kind(&w), 0), 0);
		}
		tu_assert_rc(pst_pool_drain(p), 0);
	}
	wl_check_all(&w, 1);
	wl_reopen_check(&w, cpath, 0);
	wl_close(&w);
	unlink(cpath);
	free(s);
	free(s_lo);
	pl->checks++;
	pl->checks_q[pl->cap_q]++;
	pl->captured = 0;
}

static void
power_loss_run(const struct kv_index_ops *ops, uint64_t seed, uint32_t nbatches,
	       struct pl *pl)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct wl w;
	void *img = NULL;
	size_t img_len = 0;
	const uint32_t nkeys = 160;

	memset(pl, 0, sizeof(*pl));
	pl->rs = seed;
	pl->every = 300;
	tu_path(path, sizeof(path), "powerloss");
	p = tu_must_create(path, BUF, 4096, PST_PERSIST_FLUSH);
	tu_close(p);
	assert_int_equal(tu_read_file(path, &img, &img_len), 0);
	pl->img = img;
	pl->len = img_len;
	pl->cap = malloc(img_len);
	assert_non_null(pl->cap);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	pl->base = tu_info(p).base;
	pl->hook = (struct pst_persist_hook){ .on_flush = pl_flush,
					      .on_drain = pl_drain, .ctx = pl };
	pl->armed = 1;
	pst_pool_set_persist_hook(p, &pl->hook);

	wl_start(&w, ops, p, nkeys, seed * 7 + 1, NULL);
	if (pl->captured)
		pl_check(pl, ops, nkeys);
	for (uint32_t b = 0; b < nbatches; b++) {
		uint32_t n = 1 + rndu(&w.rs, 16);
		/* Some batches make only empty values: then the index reuses
		 * its own released buffers, whose old contents are valid
		 * records and nodes of the past. */
		int empty_only = rndu(&w.rs, 3) == 0;

		for (uint32_t i = 0; i < n; i++) {
			uint32_t k = rndu(&w.rs, nkeys), r = rndu(&w.rs, 1000);
			int ret;

			if (r < 2) {
				pl_log(pl, OP_FLUSHALL, 0, 0);
				wl_flushall(&w);
			} else if (r < 250) {
				pl_log(pl, OP_DEL, k, 0);
				wl_del(&w, k);
			} else {
				/* logged before the put: a failure inside it
				 * may show it */
				pl_log(pl, OP_PUT, k, vd_n ? vd_n : 1);
				ret = wl_put(&w, k, empty_only ? V_EMPTY
							       : wl_kind(&w), 0);
				tu_assert_rc(ret, 0);
				assert_int_equal(w.model[k],
						 pl->log[pl->n_log - 1].val);
			}
			pl->done++;
			if (pl->captured)
				pl_check(pl, ops, nkeys);
		}
		tu_assert_rc(pst_pool_drain(p), 0);
		if (pl->captured)
			pl_check(pl, ops, nkeys);
	}
	pl->armed = 0;
	pst_pool_set_persist_hook(p, NULL);
	wl_check_all(&w, 1);
	ops->close(w.idx);
	tu_close(p);
	wl_fini(&w);
	free(pl->img);
	free(pl->cap);
	free(pl->pend);
	free(pl->log);
	unlink(path);
}

static void
test_power_loss(void **state)
{
	const struct kv_index_ops *ops = OPS(state);
	static const uint64_t seeds[] = { 11, 2024, 77777, 31337 };
	struct pl pl;
	uint64_t checks = 0, q[5] = { 0 }, torn = 0, tv = 0, newly_kept = 0,
		 newer = 0;

	alarm(240);
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		power_loss_run(ops, seeds[i], 220, &pl);
		checks += pl.checks;
		for (int k = 0; k < 5; k++)
			q[k] += pl.checks_q[k];
		torn += pl.torn_entries;
		tv += pl.torn_values;
		newly_kept += pl.newly_kept;
		newer += pl.matched_newer;
		vd_reset();
	}
	print_message("%s: power failed %llu times (lines written since the "
		      "last drain surviving: none %llu, 50%% %llu, 90%% %llu, all "
		      "%llu, half the flushes %llu); recovered newer than the last drain %llu times; "
		      "%llu torn entries dropped, %llu torn values deleted, %llu "
		      "buffers newly kept by reconcile\n",
		      ops->name, (unsigned long long)checks,
		      (unsigned long long)q[0], (unsigned long long)q[1],
		      (unsigned long long)q[2], (unsigned long long)q[3],
		      (unsigned long long)q[4], (unsigned long long)newer,
		      (unsigned long long)torn, (unsigned long long)tv,
		      (unsigned long long)newly_kept);
	assert_true(checks >= 40);
	assert_true(q[0] > 0 && q[1] > 0 && q[2] > 0 && q[3] > 0 && q[4] > 0);
	alarm(0);
}

/* ---- a pool written before deadlines ------------------------------------------ */

/* The whole file at @path (*len bytes), or fail. */
static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	b = malloc((size_t)n);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

/*
 * tests/kvs/fixtures/pre-ttl-<index>.pool.xz, written by paste-kvs before
 * deadlines were in the records (make_pre_ttl_pools.sh): open() refuses it
 * with -EPROTO (KV_INDEX_OLD_FORMAT) and writes nothing, so the paste-kvs
 * that wrote it can still read it.
 */
static void
test_old_format(void **state)
{
	const struct kv_index_ops *ops = OPS(state);
	const char *dir = getenv("KVS_FIXTURES");
	char path[PATH_MAX], cmd[2 * PATH_MAX + 64];
	struct kv_index *idx = NULL;
	struct pst_pool *p;
	uint8_t *before, *after;
	size_t n_before, n_after;

	if (dir == NULL)
		fail_msg("KVS_FIXTURES (the fixtures' directory) is not set");
	tu_path(path, sizeof(path), "pre-ttl.pool");
	snprintf(cmd, sizeof(cmd), "xz -dc '%s/pre-ttl-%s.pool.xz' > '%s'", dir, ops->name,
		 path);
	assert_int_equal(system(cmd), 0);
	before = slurp(path, &n_before);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(ops->open(&idx, p, NULL, NULL, NULL, NULL, NULL), -EPROTO);
	assert_null(idx);
	tu_close(p);
	after = slurp(path, &n_after);
	assert_int_equal(n_after, n_before);
	assert_memory_equal(after, before, n_before);
	free(before);
	free(after);
}

/* ---- units (issue 24) ------------------------------------------------------------- */

/* Recovery's value check for the unit tests: the bytes are the value id's. */
static int
unit_check(void *arg, const void *key, uint16_t key_len, const struct kv_value *v)
{
	(void)key;
	(void)key_len;
	return bytes_ok(arg, v);
}

/* Write @len bytes of @data to a new file @path. Returns 0. */
static int
unit_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

	if (fd < 0)
		return -1;
	for (size_t done = 0; done < len;) {
		ssize_t wr = write(fd, (const char *)data + done, len - done);

		if (wr <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)wr;
	}
	return close(fd);
}

#define UNIT_KEYS 6u               /* keys 0..5 change in each unit */
#define UNIT_NKEYS 12u

/* Values replaced (and written) since the last settle: which of them go
 * depends on whether their unit commits. */
static struct {
	uint32_t old[64], new_[64];
	unsigned int n;
} unit_ids;

/* Drop the references of value @id (the test's store). */
static void
unit_drop(struct wl *w, uint32_t id)
{
	if (id == 0)
		return;
	vbuf.v.n = vds[id].n;
	memcpy(vbuf.v.names, vds[id].names, vds[id].n * sizeof(pst_name));
	value_refs(&w->st, &vbuf.v, -1);
}

/* After a drain: the values replaced by what is now durable go (the old
 * ones when @committed, else the unit's own). */
static void
unit_settle(struct wl *w, int committed)
{
	for (unsigned int i = 0; i < unit_ids.n; i++)
		unit_drop(w, committed ? unit_ids.old[i] : unit_ids.new_[i]);
	unit_ids.n = 0;
}

/* Put under @k a value of the unit (several buffers, or many names: wal
 * CONT records, btree overflow blocks), with no on_old: the test keeps
 * the replaced value's buffers until unit_settle() (a unit may give it
 * back). */
static void
unit_put(struct wl *w, uint32_t k, int many)
{
	uint8_t kb[KV_KEY_MAX];
	uint16_t kl = key_make(k, kb);
	uint32_t id = many ? mkval(&w->st, &w->rs, V_MANY, 300, &vbuf.v)
			   : mkval(&w->st, &w->rs, V_COPY,
				   2 * BUF + 1 + rndu(&w->rs, 3 * BUF), &vbuf.v);

	assert_true(id != 0);
	tu_assert_rc(w->ops->put(w->idx, kb, kl, &vbuf.v, NULL, NULL), 0);
	value_refs(&w->st, &vbuf.v, +1);
	assert_true(unit_ids.n < 64);
	unit_ids.old[unit_ids.n] = w->model[k];
	unit_ids.new_[unit_ids.n++] = id;
	w->model[k] = id;
}

/* Delete @k inside a unit (its value kept until unit_settle()). */
static void
unit_del(struct wl *w, uint32_t k)
{
	uint8_t kb[KV_KEY_MAX];
	uint16_t kl = key_make(k, kb);

	assert_int_equal(w->ops->del(w->idx, kb, kl, NULL, NULL), w->model[k] != 0);
	assert_true(unit_ids.n < 64);
	unit_ids.old[unit_ids.n] = w->model[k];
	unit_ids.new_[unit_ids.n++] = 0;
	w->model[k] = 0;
}

/* The unit's keys as recovered: 1 all new (@new_ids), 0 all old
 * (@old_ids), fails on a mix. */
static int
unit_side(struct kv_index *idx, const struct kv_index_ops *ops,
	  const uint32_t *old_ids, const uint32_t *new_ids, const char *what)
{
	int side = -1;

	for (uint32_t k = 0; k < UNIT_KEYS; k++) {
		uint8_t kb[KV_KEY_MAX];
		uint16_t kl = key_make(k, kb);
		const struct kv_value *v = ops->get(idx, kb, kl);
		uint32_t got = v != NULL ? v->crc : 0;
		int s = got == new_ids[k] ? 1 : got == old_ids[k] ? 0 : -1;

		/* The deadline comes back with its side of the unit. */
		if (v != NULL && got < vd_n && v->deadline_ms != deadline_of(got))
			fail_msg("%s: %s: key %u value %u has deadline %llu, expected "
				 "%llu", ops->name, what, k, got,
				 (unsigned long long)v->deadline_ms,
				 (unsigned long long)deadline_of(got));
		if (old_ids[k] == new_ids[k])
			continue;
		if (s < 0 || (side >= 0 && s != side))
			fail_msg("%s: %s: key %u has value %u (old %u, new %u): the "
				 "unit is cut", ops->name, what, k, got, old_ids[k],
				 new_ids[k]);
		side = s;
	}
	for (uint32_t k = UNIT_KEYS; k < UNIT_NKEYS; k++) {
		uint8_t kb[KV_KEY_MAX];
		uint16_t kl = key_make(k, kb);
		const struct kv_value *v = ops->get(idx, kb, kl);

		if ((v != NULL ? v->crc : 0) != old_ids[k])
			fail_msg("%s: %s: key %u outside the unit changed", ops->name,
				 what, k);
	}
	return side;
}

/* A baseline of UNIT_NKEYS keys, drained; then a unit that replaces keys
 * 0..4 (values of several buffers, one of 300 names) and deletes key 5,
 * not drained. Every crash image of it (the drained image plus a random
 * subset of the lines flushed since, or of whole flushes) recovers all of
 * the unit or none, a cut value included; then commit-less (aborted) and
 * drained units. */
static void
test_unit_images(void **state)
{
	const struct kv_index_ops *ops = OPS(state);
	uint32_t old_ids[UNIT_NKEYS], new_ids[UNIT_NKEYS];
	uint64_t images = 0, cut = 0, all = 0, none = 0, fallbacks = 0;
	char path[PATH_MAX], cpath[PATH_MAX];
	void *img = NULL;
	size_t img_len = 0;
	struct pst_pool *p;
	struct pl pl;
	struct wl w;

	alarm(240);
	memset(&pl, 0, sizeof(pl));
	pl.rs = 24;
	pl.every = UINT32_MAX; /* never captures on its own */
	tu_path(path, sizeof(path), "unit");
	tu_path(cpath, sizeof(cpath), "unit-image");
	p = tu_must_create(path, BUF, 1024, PST_PERSIST_FLUSH);
	tu_close(p);
	assert_int_equal(tu_read_file(path, &img, &img_len), 0);
	pl.img = img;
	pl.len = img_len;
	pl.cap = malloc(img_len);
	assert_non_null(pl.cap);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	pl.base = tu_info(p).base;
	pl.hook = (struct pst_persist_hook){ .on_flush = pl_flush, .on_drain = pl_drain,
					     .ctx = &pl };
	pst_pool_set_persist_hook(p, &pl.hook);
	wl_start(&w, ops, p, UNIT_NKEYS, 2424, NULL);

	for (uint32_t round = 0; round < 30; round++) {
		/* The baseline, durable. */
		for (uint32_t k = 0; k < UNIT_NKEYS; k++)
			if (w.model[k] == 0 || rndu(&w.rs, 2))
				unit_put(&w, k, 0);
		tu_assert_rc(pst_pool_drain(p), 0);
		unit_settle(&w, 1);
		memcpy(old_ids, w.model, sizeof(old_ids));

		/* The unit. */
		tu_assert_rc(ops->unit_begin(w.idx), 0);
		assert_int_equal(ops->unit_begin(w.idx), -EBUSY);
		for (uint32_t k = 0; k + 1 < UNIT_KEYS; k++)
			unit_put(&w, k, k == 2);
		unit_del(&w, UNIT_KEYS - 1);
		assert_int_equal(ops->flushall(w.idx, NULL, NULL), -EBUSY);
		tu_assert_rc(ops->unit_end(w.idx), 0);
		memcpy(new_ids, w.model, sizeof(new_ids));
		assert_int_equal(unit_side(w.idx, ops, old_ids, new_ids, "live"), 1);

		/* Its crash images. */
		for (uint32_t i = 0; i < 41; i++) {
			/* Lines since the drain surviving: 10%, 50%, 90%, all,
			 * or (3) whole flushes, half of them. */
			uint32_t q = rndu(&pl.rs, 5),
				 pct = q == 0 ? 10 : q == 1 ? 50 : q == 2 ? 90 : 100;
			size_t lines = 0, kept = 0;
			struct kv_index_report rep;
			struct kv_index *idx = NULL;
			struct pst_pool *cp;
			int side;

			/* Free buffers are poisoned under ASan: the image is
			 * the hardware's view. */
			tu_hw_begin(tu_info(p).bufs, BUF, 1024);
			memcpy(pl.cap, pl.img, pl.len);
			if (i == 40) {
				/* Everything but one line of the bytes of one
				 * value of the unit: its check fails, and the
				 * whole unit falls back. */
				const struct vdesc *vd = &vds[new_ids[rndu(&pl.rs, 2)]];
				size_t at = (size_t)((const char *)pst_pool_name_to_addr(
						     p, vd->names[vd->n - 1]) - pl.base) & ~(size_t)63;

				memcpy(pl.cap, pl.base, pl.len);
				memcpy(pl.cap + at, pl.img + at, 64);
				assert_memory_not_equal(pl.cap + at, pl.base + at, 64);
				q = 5;
			}
			for (size_t f = 0; q < 5 && f < pl.n_pend; f++) {
				int whole = q == 3 ? (int)rndu(&pl.rs, 2) : -1;

				for (size_t l = pl.pend[f][0]; l < pl.pend[f][1]; l += 64) {
					if (memcmp(pl.cap + l, pl.base + l, 64) == 0)
						continue;
					lines++;
					if (whole >= 0 ? whole : rndu(&pl.rs, 100) < pct) {
						memcpy(pl.cap + l, pl.base + l, 64);
						kept++;
					}
				}
			}
			tu_hw_end();
			assert_int_equal(unit_write_file(cpath, pl.cap, pl.len), 0);
			cp = tu_open(cpath, PST_PERSIST_FLUSH);
			assert_non_null(cp);
			tu_assert_rc(ops->open(&idx, cp, NULL, NULL, unit_check, cp, &rep), 0);
			side = unit_side(idx, ops, old_ids, new_ids, "image");
			if (q == 5) {
				assert_int_equal(side, 0);
				assert_true(rep.fallbacks > 0);
				lines = 2;
				kept = 1;
			}
			images++;
			cut += kept > 0 && kept < lines;
			all += side == 1;
			none += side == 0;
			fallbacks += rep.fallbacks > 0;
			ops->close(idx);
			tu_close(cp);
			unlink(cpath);
		}
		tu_assert_rc(pst_pool_drain(p), 0);
		unit_settle(&w, 1);

		/* A unit given up: DRAM and media as before it. */
		memcpy(old_ids, w.model, sizeof(old_ids));
		tu_assert_rc(ops->unit_begin(w.idx), 0);
		for (uint32_t k = 0; k + 1 < UNIT_KEYS; k++)
			unit_put(&w, k, k == 3);
		unit_del(&w, UNIT_KEYS - 1);
		memcpy(new_ids, w.model, sizeof(new_ids));
		tu_assert_rc(ops->unit_abort(w.idx), 0);
		unit_settle(&w, 0);
		assert_int_equal(unit_side(w.idx, ops, old_ids, new_ids, "aborted"), 0);
		memcpy(w.model, old_ids, sizeof(old_ids));
		/* The log goes on where the unit was: plain puts after it. */
		unit_put(&w, UNIT_KEYS, 0);
		unit_put(&w, UNIT_KEYS + 1, 1);
		memcpy(old_ids, w.model, sizeof(old_ids));
		tu_assert_rc(pst_pool_drain(p), 0);
		unit_settle(&w, 1);
		/* An empty unit writes nothing that matters. */
		tu_assert_rc(ops->unit_begin(w.idx), 0);
		tu_assert_rc(ops->unit_end(w.idx), 0);
	}
	/* What the medium holds now: the last state, units whole. */
	tu_assert_rc(pst_pool_drain(p), 0);
	tu_hw_begin(tu_info(p).bufs, BUF, 1024);
	memcpy(pl.cap, pl.base, pl.len);
	tu_hw_end();
	assert_int_equal(unit_write_file(cpath, pl.cap, pl.len), 0);
	{
		struct kv_index_report rep;
		struct kv_index *idx = NULL;
		struct pst_pool *cp = tu_open(cpath, PST_PERSIST_FLUSH);

		assert_non_null(cp);
		tu_assert_rc(ops->open(&idx, cp, NULL, NULL, unit_check, cp, &rep), 0);
		assert_int_equal(rep.torn, 0);
		assert_int_equal(rep.fallbacks, 0);
		assert_int_equal(unit_side(idx, ops, old_ids, old_ids, "final"), -1);
		for (uint32_t k = 0; k < UNIT_NKEYS; k++) {
			uint8_t kb[KV_KEY_MAX];
			uint16_t kl = key_make(k, kb);
			const struct kv_value *v = ops->get(idx, kb, kl);

			assert_int_equal(v != NULL ? v->crc : 0, w.model[k]);
		}
		ops->close(idx);
		tu_close(cp);
		unlink(cpath);
	}
	print_message("%s: %llu crash images of units: %llu cut between their first "
		      "and last line, %llu recovered all of the unit, %llu none "
		      "(%llu of them by a value's check)\n", ops->name,
		      (unsigned long long)images, (unsigned long long)cut,
		      (unsigned long long)all, (unsigned long long)none,
		      (unsigned long long)fallbacks);
	assert_true(images >= 1200);
	assert_true(cut >= 300);
	assert_true(all > 0 && none > 0 && fallbacks > 0);
	pst_pool_set_persist_hook(p, NULL);
	ops->close(w.idx);
	tu_close(p);
	wl_fini(&w);
	free(pl.img);
	free(pl.cap);
	free(pl.pend);
	unlink(path);
	alarm(0);
}

/* The pool runs out inside a unit: the write fails, the unit is undone
 * (DRAM, and nothing of it recovered after a drain and a reopen). */
static void
test_unit_full(void **state)
{
	const struct kv_index_ops *ops = OPS(state);
	uint32_t before[UNIT_NKEYS];
	char path[PATH_MAX];
	struct pst_pool *p;
	struct found f;
	struct kv_index_report rep;
	struct wl w;
	int r = 0;

	tu_path(path, sizeof(path), "unit-full");
	p = tu_must_create(path, BUF, 256, PST_PERSIST_FLUSH);
	wl_start(&w, ops, p, UNIT_NKEYS, 99, NULL);
	for (uint32_t k = 0; k < UNIT_NKEYS; k++)
		unit_put(&w, k, 0);
	tu_assert_rc(pst_pool_drain(p), 0);
	memcpy(before, w.model, sizeof(before));
	tu_assert_rc(ops->unit_begin(w.idx), 0);
	for (uint32_t i = 0; i < 1000 && r == 0; i++) {
		uint8_t kb[KV_KEY_MAX];
		uint16_t kl = key_make(i % UNIT_NKEYS, kb);
		uint32_t id = mkval(&w.st, &w.rs, V_SMALL, 0, &vbuf.v);

		if (id == 0) {
			/* The test's own values took the last buffers: the
			 * index's reserve is left; take it. */
			id = mkval(&w.st, &w.rs, V_EMPTY, 0, &vbuf.v);
		}
		r = ops->put(w.idx, kb, kl, &vbuf.v, NULL, NULL);
	}
	assert_int_equal(r, -ENOSPC);
	tu_assert_rc(ops->unit_abort(w.idx), 0);
	for (uint32_t k = 0; k < UNIT_NKEYS; k++) {
		uint8_t kb[KV_KEY_MAX];
		uint16_t kl = key_make(k, kb);
		const struct kv_value *v = ops->get(w.idx, kb, kl);

		check_desc(v, before[k], "after the abort");
	}
	tu_assert_rc(pst_pool_drain(p), 0);
	ops->close(w.idx);
	w.idx = NULL;
	found_init(&f, UNIT_NKEYS, NULL);
	wl_open(&w, p, &f, &rep);
	assert_int_equal(rep.torn, 0);
	assert_memory_equal(f.val, before, sizeof(before));
	found_fini(&f);
	wl_close(&w);
	unlink(path);
}

int
main(void)
{
#define T(f, ops) cmocka_unit_test_prestate_setup_teardown(f, tu_test_setup, \
	test_teardown, (void *)&(ops))
	const struct CMUnitTest tests[] = {
		T(test_semantics, kv_index_wal),
		T(test_semantics, kv_index_btree),
		T(test_random_reopen, kv_index_wal),
		T(test_random_reopen, kv_index_btree),
		T(test_server_load, kv_index_wal),
		T(test_server_load, kv_index_btree),
		T(test_bounded, kv_index_wal),
		T(test_bounded, kv_index_btree),
		T(test_no_drain, kv_index_wal),
		T(test_no_drain, kv_index_btree),
		T(test_small_buffers, kv_index_wal),
		T(test_small_buffers, kv_index_btree),
		T(test_full_pool, kv_index_wal),
		T(test_full_pool, kv_index_btree),
		T(test_power_loss, kv_index_wal),
		T(test_power_loss, kv_index_btree),
		T(test_old_format, kv_index_wal),
		T(test_old_format, kv_index_btree),
		T(test_unit_images, kv_index_wal),
		T(test_unit_images, kv_index_btree),
		T(test_unit_full, kv_index_wal),
		T(test_unit_full, kv_index_btree),
	};
#undef T

	/* KVS_INDEX_TESTS=test_power_loss runs only those (by name). */
	if (getenv("KVS_INDEX_TESTS") != NULL)
		cmocka_set_test_filter(getenv("KVS_INDEX_TESTS"));
	return cmocka_run_group_tests_name("kvs_index", tests, group_setup,
					   group_teardown);
}
