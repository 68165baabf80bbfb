/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs "btree" index: a copy-on-write B+tree whose nodes are pool
 * buffers. doc/kvs-index.md describes the format; in short:
 *
 *   superblock: the buffer the root slot names; two root records (64 bytes
 *               apart, one cache line each): generation, root node, the
 *               root node's CRC, key count, height, CRC of the record.
 *   node:       header (magic, CRC, bytes used, kind, level, count), an
 *               array of entry offsets, then the entries in key order.
 *   leaf entry: the value (len, crc, n, then key length and flags, then
 *               the deadline: the first 24 bytes double as a struct
 *               kv_value, so get() points into the pool), then n names, or
 *               the (index, CRC) of an overflow block chain holding them,
 *               then the key.
 *   inner entry: child buffer index, child CRC, separator key (none in the
 *               first entry).
 *   overflow:   blocks of names chained by (index, CRC).
 *
 * Every reference carries the CRC of what it references, so a verified root
 * record verifies the whole tree (a stale node from an earlier life of a
 * buffer cannot pass for a new one).
 *
 * Updates copy the leaf and the path up to the root into fresh buffers
 * (flushed, kept) and publish the new root in a root record. put/del never
 * drain, so a publication and the nodes it names may reach the medium in any
 * order; hence two records: the one holding the tree known durable (a drain
 * was seen after its publication) is never written, publications go to the
 * other one. Recovery takes the newest record whose whole tree verifies,
 * falling back to the durable one. Buffers the new trees superseded are
 * released only once a later drain makes the publication durable.
 *
 * A unit (MSET, EXEC) is one publication: its puts and dels copy paths as
 * any update does, but only DRAM follows the new root until unit_end()
 * writes one root record for all of them. Nodes the unit wrote and then
 * superseded itself were never published: they go at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index_common.h"
#include "keyhash.h"
#include "keyorder.h"

#define KVB_MAGIC_NODE 0x4c42564bu   /* "KVBL": leaf entries of 24 bytes */
#define KVB_MAGIC_OVF 0x4f42564bu    /* "KVBO" */
#define KVB_MAGIC_ROOT 0x3242564bu   /* "KVB2" */
/* The format before deadlines (16-byte leaf entries): refused, not misread. */
#define KVB_MAGIC_ROOT_V1 0x5242564bu /* "KVBR" */

#define KVB_NONE UINT32_MAX
#define KVB_LEAF 1
#define KVB_INNER 2
#define KVB_F_OVF 1                  /* leaf entry: names in overflow blocks */
#define KVB_MAX_HEIGHT 48
#define KVB_REC_STRIDE 64u           /* root records: one cache line each */

/* Superseded buffers waiting for a drain: past this many, or half the free
 * buffers (a caller that never drains), an update drains itself rather
 * than fill the pool. */
#define KVB_PENDING_MAX 4096u

/* Assembled values cached for get(): trimmed at put/del above this. */
#define KVB_VCACHE_MAX (4u << 20)

/* ---- on-media layout (little endian, sized types only) ------------------ */

struct kvb_rootrec {
	uint32_t magic;
	uint32_t crc;             /* CRC32C of bytes 8..39 */
	uint64_t gen;             /* publication number */
	uint32_t root;            /* root node, KVB_NONE: empty tree */
	uint32_t root_crc;        /* its CRC */
	uint64_t count;           /* keys */
	uint32_t height;          /* levels (0: empty) */
	uint32_t pad;
};
_Static_assert(sizeof(struct kvb_rootrec) == 40, "btree root record");

struct kvb_node {
	uint32_t magic;
	uint32_t crc;             /* CRC32C of bytes 8 .. used-1 */
	uint16_t used;            /* bytes of the node */
	uint8_t kind;             /* KVB_LEAF, KVB_INNER */
	uint8_t level;            /* 0 for leaves */
	uint16_t count;           /* entries */
	uint16_t pad;
	uint16_t slot[];          /* offset of each entry, in key order */
};
#define KVB_HDR 16u
_Static_assert(sizeof(struct kvb_node) == KVB_HDR, "btree node header");

struct kvb_leaf_ent {
	uint32_t len;             /* \                                  */
	uint32_t crc;             /*  > a struct kv_value               */
	uint16_t n;               /* /                                  */
	uint16_t key_len;
	uint16_t flags;           /* KVB_F_OVF */
	uint16_t pad;
	uint64_t deadline_ms;     /* a kv_value's too; 0: none */
	/* n names, or struct kvb_ref; then the key; padded to 8 bytes */
};
_Static_assert(sizeof(struct kvb_leaf_ent) == 24, "btree leaf entry");
_Static_assert(offsetof(struct kvb_leaf_ent, n) == offsetof(struct kv_value, n),
	       "leaf entry is a kv_value");
_Static_assert(offsetof(struct kvb_leaf_ent, deadline_ms) ==
	       offsetof(struct kv_value, deadline_ms), "leaf entry is a kv_value");

struct kvb_ref {
	uint32_t index;
	uint32_t crc;
};

struct kvb_inner_ent {
	uint32_t child;
	uint32_t child_crc;
	uint16_t key_len;         /* 0 in entry 0 */
	uint16_t pad;
	/* key, padded to 8 bytes */
};
#define KVB_INNER_ENT 12u

struct kvb_ovf {
	uint32_t magic;
	uint32_t crc;             /* CRC32C of bytes 8 .. 24+8*count-1 */
	uint16_t count;           /* names here */
	uint16_t pad;
	uint32_t next;            /* next block, KVB_NONE: last */
	uint32_t next_crc;
	uint32_t pad2;
	/* count names */
};
#define KVB_OVF_HDR 24u
_Static_assert(sizeof(struct kvb_ovf) == KVB_OVF_HDR, "btree overflow block");

/* ---- DRAM state ------------------------------------------------------------ */

/* An entry of a node being built. */
struct ent {
	const uint8_t *key;
	uint16_t key_len;
	uint16_t size;            /* serialized, 8-aligned */
	const uint8_t *img;       /* leaf: entry bytes to copy */
	uint32_t child, child_crc;/* inner */
};

/* A node written by one level of an update, with the separator that
 * routes to it from the parent (pieces after the first). */
struct piece {
	uint32_t index, crc;
	const uint8_t *sep;
	uint16_t sep_len;
};

struct kv_index {
	struct pst_pool *pool;
	uint8_t *bufs;
	uint32_t buf_size;
	uint64_t buf_count;
	uint32_t sb;              /* superblock buffer */
	/* The tree as of the last update (published, maybe not durable). */
	uint32_t root, root_crc, height;
	uint64_t count;
	uint64_t gen;
	/* Publications: record durable_rec holds a durable tree; while window
	 * is set, the other record holds newer publications not yet known
	 * durable (drains_at_pub: the drain counter when last published). */
	unsigned int durable_rec;
	int window;
	uint64_t drains_at_pub;
	struct kvi_vec pending;   /* superseded buffers, released once durable */
	struct kvi_vec fresh;     /* buffers written by the current update */
	uint64_t owned;           /* own buffers (superblock, nodes, overflow) */
	/* Scratch. */
	struct ent *ents;
	struct piece *pieces, *below;
	size_t ents_cap;
	uint32_t *cut;
	size_t *pre;              /* prefix sums of entry sizes */
	uint8_t *img;             /* the new leaf entry */
	struct kv_value *tmpv;    /* an assembled value for on_old */
	size_t tmpv_n;
	struct kvi_vcache vc;
	struct kvi_referenced referenced;
	uint8_t *seen;            /* recovery: visited buffers */
	/* The open unit: the tree before it (restored on abort), the
	 * superseded buffers before it, and the buffers its updates wrote
	 * (a bit per pool buffer: set while the unit's tree uses it). */
	int unit_open, unit_dirty;
	uint32_t unit_root, unit_root_crc, unit_height;
	uint64_t unit_count;
	size_t unit_pending;
	struct kvi_vec unit_bufs;
	uint64_t *unit_bits;
	/* The keys in hash order, for SCAN and RANDOMKEY (keyorder.h), and
	 * what the open unit changed in it, to undo. */
	struct kv_keyorder order;
	struct order_undo *order_undo;
	size_t order_undo_n, order_undo_cap;
};

/* A key the open unit inserted into the key order (@copy: the bytes, or
 * the order's heap copy), or removed from it (@copy held here until the
 * unit ends). */
struct order_undo {
	struct kv_keyorder_key copy;
	uint32_t h32;
	uint16_t len;
	uint8_t inserted;
};

static inline int
unit_bit(const struct kv_index *t, uint32_t index)
{
	return (t->unit_bits[index / 64] >> (index % 64)) & 1;
}

static inline void
unit_bit_set(struct kv_index *t, uint32_t index, int on)
{
	if (on)
		t->unit_bits[index / 64] |= 1ull << (index % 64);
	else
		t->unit_bits[index / 64] &= ~(1ull << (index % 64));
}

/* ---- the key order ------------------------------------------------------- */

/* Room for one more change of the key order inside a unit. */
static int
order_undo_reserve(struct kv_index *t)
{
	size_t cap;
	struct order_undo *v;

	if (!t->unit_open || t->order_undo_n < t->order_undo_cap)
		return 0;
	cap = t->order_undo_cap ? 2 * t->order_undo_cap : 16;
	v = realloc(t->order_undo, cap * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	t->order_undo = v;
	t->order_undo_cap = cap;
	return 0;
}

/* Before a put of a new key writes anything: room in the key order. */
static int
order_prepare(struct kv_index *t, uint16_t key_len)
{
	int ret = order_undo_reserve(t);

	return ret != 0 ? ret : kv_keyorder_prepare(&t->order, key_len);
}

/* After the put of a new key: cannot fail (order_prepare()). */
static void
order_insert(struct kv_index *t, const void *key, uint16_t key_len)
{
	uint32_t h32 = (uint32_t)kv_key_hash(key, key_len);
	struct kv_keyorder_key copy = kv_keyorder_insert(&t->order, key, key_len, h32, NULL);

	if (t->unit_open)
		t->order_undo[t->order_undo_n++] = (struct order_undo){
			.copy = copy, .h32 = h32, .len = key_len, .inserted = 1 };
}

/* After a delete: cannot fail (order_undo_reserve() before it). */
static void
order_remove(struct kv_index *t, const void *key, uint16_t key_len)
{
	uint32_t h32 = (uint32_t)kv_key_hash(key, key_len);
	struct kv_keyorder_key copy;

	if (!t->unit_open) {
		(void)kv_keyorder_remove(&t->order, key, key_len, h32, NULL);
		return;
	}
	if (kv_keyorder_remove(&t->order, key, key_len, h32, &copy) == 1)
		t->order_undo[t->order_undo_n++] = (struct order_undo){
			.copy = copy, .h32 = h32, .len = key_len, .inserted = 0 };
}

/* The unit ended: the removed keys' copies go. */
static void
order_unit_end(struct kv_index *t)
{
	size_t i;

	for (i = 0; i < t->order_undo_n; i++)
		if (!t->order_undo[i].inserted)
			kv_keyorder_key_free(&t->order_undo[i].copy, t->order_undo[i].len);
	t->order_undo_n = 0;
	kv_keyorder_hold(&t->order, 0);
}

/* The unit was undone: its changes of the key order too, newest first
 * (no allocation: the order did not shrink during the unit). */
static void
order_unit_abort(struct kv_index *t)
{
	size_t i;

	for (i = t->order_undo_n; i-- > 0;) {
		struct order_undo *u = &t->order_undo[i];

		if (u->inserted)
			(void)kv_keyorder_remove(&t->order,
						 kv_keyorder_key_bytes(&u->copy, u->len),
						 u->len, u->h32, NULL);
		else
			(void)kv_keyorder_insert(&t->order, NULL, u->len, u->h32, &u->copy);
	}
	t->order_undo_n = 0;
	kv_keyorder_hold(&t->order, 0);
}

static inline uint8_t *
bufp(const struct kv_index *t, uint32_t index)
{
	return t->bufs + (size_t)index * t->buf_size;
}

static inline const struct kvb_node *
node(const struct kv_index *t, uint32_t index)
{
	return (const struct kvb_node *)bufp(t, index);
}

static inline const uint8_t *
ent_at(const struct kvb_node *nd, unsigned int i)
{
	return (const uint8_t *)nd + nd->slot[i];
}

static inline size_t
leaf_ent_size(uint16_t key_len, uint32_t n, int ovf)
{
	return sizeof(struct kvb_leaf_ent) + (ovf ? 8 : 8 * (size_t)n) +
	       kvi_align8(key_len);
}

static inline size_t
inner_ent_size(uint16_t key_len)
{
	return kvi_align8(KVB_INNER_ENT + key_len);
}

static inline size_t
node_bytes(size_t n, size_t sum)
{
	return kvi_align8(KVB_HDR + 2 * n) + sum;
}

static inline const uint8_t *
leaf_ent_key(const struct kvb_leaf_ent *e)
{
	return (const uint8_t *)(e + 1) +
	       ((e->flags & KVB_F_OVF) ? 8 : 8 * (size_t)e->n);
}

static inline size_t
leaf_ent_bytes(const struct kvb_leaf_ent *e)
{
	return leaf_ent_size(e->key_len, e->n, e->flags & KVB_F_OVF);
}

static inline const uint8_t *
inner_ent_key(const struct kvb_inner_ent *e)
{
	return (const uint8_t *)e + KVB_INNER_ENT;
}

static pst_name
whole(const struct kv_index *t, uint32_t index)
{
	return pst_name_make(index, 0, (uint16_t)t->buf_size);
}

static uint32_t
node_crc(const struct kvb_node *nd)
{
	return pst_crc32c((const uint8_t *)nd + 8, nd->used - 8u);
}

static uint32_t
ovf_crc(const struct kvb_ovf *o)
{
	return pst_crc32c((const uint8_t *)o + 8,
			  KVB_OVF_HDR - 8 + 8 * (size_t)o->count);
}

static inline uint32_t
ovf_per_block(const struct kv_index *t)
{
	return (t->buf_size - KVB_OVF_HDR) / 8;
}

/* ---- buffers ---------------------------------------------------------------- */

/* Take a buffer for the current update (lent; kept when written). */
static int
take(struct kv_index *t, uint32_t *index)
{
	int ret;

	if (t->fresh.n == t->fresh.cap && kvi_vec_push(&t->fresh, 0) == 0)
		t->fresh.n--; /* grow first: never lose track of a buffer */
	if (t->fresh.n == t->fresh.cap)
		return -ENOMEM;
	ret = kvi_take(t->pool, &t->referenced, index);
	if (ret != 0)
		return ret;
	t->fresh.v[t->fresh.n++] = *index;
	return 0;
}

static void
keep_written(struct kv_index *t, uint32_t index, size_t len)
{
	pst_pool_flush(t->pool, bufp(t, index), len);
	pst_pool_keep(t->pool, index);
	t->owned++;
}

/* Undo the current update's writes: nothing references them. */
static void
fresh_abort(struct kv_index *t)
{
	size_t i;

	for (i = 0; i < t->fresh.n; i++) {
		kvi_release(t->pool, &t->referenced, t->fresh.v[i]);
		t->owned--;
	}
	t->fresh.n = 0;
}

static int
supersede(struct kv_index *t, uint32_t index)
{
	if (t->unit_open && unit_bit(t, index)) {
		/* Written and replaced within the open unit: never published. */
		unit_bit_set(t, index, 0);
		kvi_release(t->pool, &t->referenced, index);
		t->owned--;
		return 0;
	}
	return kvi_vec_push(&t->pending, index);
}

/* Room to supersede two paths' worth of nodes without failing after the
 * publication. */
static int
pending_reserve(struct kv_index *t)
{
	size_t want = t->pending.n + 2 * KVB_MAX_HEIGHT + 8;
	uint32_t *v;

	if (t->pending.cap >= want)
		return 0;
	v = realloc(t->pending.v, 2 * want * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	t->pending.v = v;
	t->pending.cap = 2 * want;
	return 0;
}

/* A drain since the last publication made it durable: its record becomes
 * the durable one, and what it superseded can go. */
static void
sync_check(struct kv_index *t)
{
	size_t i;

	/* In a unit, the published tree is the one before it: what it
	 * superseded stays until the unit's own publication is durable. */
	if (t->unit_open)
		return;
	if (t->window && (t->pending.n > KVB_PENDING_MAX ||
			  t->pending.n > kvi_free_bufs(t->pool) / 2))
		(void)pst_pool_drain(t->pool);
	if (!t->window || !kvi_drained_since(t->pool, t->drains_at_pub))
		return;
	t->durable_rec ^= 1;
	t->window = 0;
	for (i = 0; i < t->pending.n; i++) {
		kvi_release(t->pool, &t->referenced, t->pending.v[i]);
		t->owned--;
	}
	t->pending.n = 0;
}

static struct kvb_rootrec *
rootrec(const struct kv_index *t, unsigned int r)
{
	return (struct kvb_rootrec *)(bufp(t, t->sb) + r * KVB_REC_STRIDE);
}

static uint32_t
rootrec_crc(const struct kvb_rootrec *r)
{
	return pst_crc32c((const uint8_t *)r + 8, sizeof(*r) - 8);
}

static void
rootrec_fill(struct kvb_rootrec *r, uint64_t gen, uint32_t root,
	     uint32_t root_crc, uint64_t count, uint32_t height)
{
	memset(r, 0, sizeof(*r));
	r->magic = KVB_MAGIC_ROOT;
	r->gen = gen;
	r->root = root;
	r->root_crc = root_crc;
	r->count = count;
	r->height = height;
	r->crc = rootrec_crc(r);
}

/* Publish the tree in the record that does not hold the durable tree. */
static void
publish(struct kv_index *t, uint32_t root, uint32_t root_crc, uint64_t count,
	uint32_t height)
{
	struct kvb_rootrec *r = rootrec(t, t->durable_rec ^ 1);
	size_t i;

	if (t->unit_open) {
		/* The unit's tree, in DRAM until unit_end() publishes it. */
		/* A buffer not listed (no memory) is superseded as any
		 * published one is: released after a drain, or by the next
		 * start's reconciliation if the unit is aborted. */
		for (i = 0; i < t->fresh.n; i++)
			if (kvi_vec_push(&t->unit_bufs, t->fresh.v[i]) == 0)
				unit_bit_set(t, t->fresh.v[i], 1);
		t->unit_dirty = 1;
		t->root = root;
		t->root_crc = root_crc;
		t->count = count;
		t->height = height;
		t->fresh.n = 0;
		return;
	}
	rootrec_fill(r, ++t->gen, root, root_crc, count, height);
	pst_pool_flush(t->pool, r, sizeof(*r));
	t->window = 1;
	t->drains_at_pub = kvi_drains(t->pool);
	t->root = root;
	t->root_crc = root_crc;
	t->count = count;
	t->height = height;
	t->fresh.n = 0; /* published: no longer ours to undo */
}

/* ---- scratch ---------------------------------------------------------------- */

static int
scratch_reserve(struct kv_index *t, size_t n)
{
	struct ent *e;
	struct piece *p, *b;
	uint32_t *c;
	size_t *pr;

	if (n <= t->ents_cap)
		return 0;
	n = n < 2 * t->ents_cap ? 2 * t->ents_cap : n;
	e = realloc(t->ents, n * sizeof(*e));
	if (e != NULL)
		t->ents = e;
	p = realloc(t->pieces, n * sizeof(*p));
	if (p != NULL)
		t->pieces = p;
	b = realloc(t->below, n * sizeof(*b));
	if (b != NULL)
		t->below = b;
	c = realloc(t->cut, (n + 1) * sizeof(*c));
	if (c != NULL)
		t->cut = c;
	pr = realloc(t->pre, (n + 1) * sizeof(*pr));
	if (pr != NULL)
		t->pre = pr;
	if (e == NULL || p == NULL || b == NULL || c == NULL || pr == NULL)
		return -ENOMEM;
	t->ents_cap = n;
	return 0;
}

/* Room for any value (allocated at open: reporting a replaced value never
 * fails). */
static struct kv_value *
tmpv_get(struct kv_index *t, uint16_t n)
{
	return n <= t->tmpv_n ? t->tmpv : NULL;
}

/* ---- overflow blocks ------------------------------------------------------- */

/* Write @n names into a chain of blocks (last block first, so each block
 * can carry its successor's CRC). */
static int
ovf_write(struct kv_index *t, const pst_name *names, uint32_t n,
	  struct kvb_ref *ref)
{
	uint32_t per = ovf_per_block(t), nb = (n + per - 1) / per, b;
	uint32_t next = KVB_NONE, next_crc = 0;
	int ret;

	for (b = nb; b-- > 0;) {
		uint32_t first = b * per, cnt = n - first < per ? n - first : per;
		struct kvb_ovf *o;
		uint32_t index;

		ret = take(t, &index);
		if (ret != 0)
			return ret;
		o = (struct kvb_ovf *)bufp(t, index);
		memset(o, 0, KVB_OVF_HDR);
		o->magic = KVB_MAGIC_OVF;
		o->count = (uint16_t)cnt;
		o->next = next;
		o->next_crc = next_crc;
		memcpy(o + 1, names + first, 8 * (size_t)cnt);
		o->crc = ovf_crc(o);
		keep_written(t, index, KVB_OVF_HDR + 8 * (size_t)cnt);
		next = index;
		next_crc = o->crc;
	}
	ref->index = next;
	ref->crc = next_crc;
	return 0;
}

/* Check a chain; 0 if whole and holding exactly @n names. With @seen,
 * marks its blocks (and refuses to visit one twice). */
static int
ovf_check(struct kv_index *t, struct kvb_ref ref, uint32_t n, uint8_t *seen)
{
	uint32_t have = 0;

	while (ref.index != KVB_NONE) {
		const struct kvb_ovf *o;

		if (ref.index >= t->buf_count || ref.index == t->sb)
			return -EIO;
		if (seen != NULL) {
			if (seen[ref.index])
				return -EIO;
			seen[ref.index] = 1;
		}
		o = (const struct kvb_ovf *)bufp(t, ref.index);
		if (o->magic != KVB_MAGIC_OVF || o->count == 0 ||
		    o->count > ovf_per_block(t) || o->crc != ref.crc ||
		    ovf_crc(o) != ref.crc)
			return -EIO;
		have += o->count;
		if (have > n)
			return -EIO;
		ref.index = o->next;
		ref.crc = o->next_crc;
	}
	return have == n ? 0 : -EIO;
}

/* Names of an overflow value into @v (which has room for e->n). */
static void
ovf_read(const struct kv_index *t, const struct kvb_leaf_ent *e,
	 struct kv_value *v)
{
	const struct kvb_ref *ref = (const struct kvb_ref *)(e + 1);
	uint32_t index = ref->index, have = 0;

	v->len = e->len;
	v->crc = e->crc;
	v->n = e->n;
	v->deadline_ms = e->deadline_ms;
	while (index != KVB_NONE && index < t->buf_count && have < e->n) {
		const struct kvb_ovf *o = (const struct kvb_ovf *)bufp(t, index);
		uint32_t cnt = o->count;

		if (cnt > (uint32_t)e->n - have)
			cnt = (uint32_t)e->n - have;
		memcpy(v->names + have, o + 1, 8 * (size_t)cnt);
		have += cnt;
		index = o->next;
	}
}

static int
ovf_supersede(struct kv_index *t, const struct kvb_leaf_ent *e)
{
	const struct kvb_ref *ref = (const struct kvb_ref *)(e + 1);
	uint32_t index = ref->index, next;
	uint64_t id = ((uint64_t)ref->index << 32) | ref->crc;
	int ret = 0;

	kvi_vcache_remove(&t->vc, id);
	while (index != KVB_NONE && index < t->buf_count && ret == 0) {
		next = ((const struct kvb_ovf *)bufp(t, index))->next;
		ret = supersede(t, index); /* may release it at once (units) */
		index = next;
	}
	return ret;
}

/* A leaf entry as a kv_value: the entry itself, or assembled into @tmp. */
static const struct kv_value *
leaf_ent_value(struct kv_index *t, const struct kvb_leaf_ent *e, int use_cache)
{
	struct kv_value *v;

	if (!(e->flags & KVB_F_OVF))
		return (const struct kv_value *)e;
	if (use_cache) {
		const struct kvb_ref *ref = (const struct kvb_ref *)(e + 1);
		uint64_t id = ((uint64_t)ref->index << 32) | ref->crc;

		v = kvi_vcache_get(&t->vc, id);
		if (v != NULL)
			return v;
		v = kvi_value_new(e->len, e->crc, e->n);
		if (v == NULL)
			return NULL;
		ovf_read(t, e, v);
		return kvi_vcache_put(&t->vc, id, v);
	}
	v = tmpv_get(t, e->n);
	if (v == NULL)
		return NULL;
	ovf_read(t, e, v);
	return v;
}

/* ---- searching ---------------------------------------------------------------- */

static int
leaf_cmp(const struct kvb_node *nd, unsigned int i, const void *key,
	 uint16_t key_len)
{
	const struct kvb_leaf_ent *e = (const struct kvb_leaf_ent *)ent_at(nd, i);

	return kvi_key_cmp(leaf_ent_key(e), e->key_len, key, key_len);
}

/* Position of @key in a leaf: its index with *found, or where it goes. */
static unsigned int
leaf_search(const struct kvb_node *nd, const void *key, uint16_t key_len,
	    int *found)
{
	unsigned int lo = 0, hi = nd->count;

	*found = 0;
	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		int c = leaf_cmp(nd, mid, key, key_len);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The child entry of an inner node @key routes to: the last entry whose
 * separator is <= key (entry 0 has none). */
static unsigned int
inner_search(const struct kvb_node *nd, const void *key, uint16_t key_len)
{
	unsigned int lo = 1, hi = nd->count;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const struct kvb_inner_ent *e = (const struct kvb_inner_ent *)ent_at(nd, mid);

		if (kvi_key_cmp(inner_ent_key(e), e->key_len, key, key_len) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

struct path {
	uint32_t node[KVB_MAX_HEIGHT];
	uint16_t pos[KVB_MAX_HEIGHT];  /* entry taken in node[l] (inner) */
	unsigned int depth;            /* nodes on the path; leaf at depth-1 */
};

static void
descend(const struct kv_index *t, const void *key, uint16_t key_len,
	struct path *p)
{
	uint32_t index = t->root;
	unsigned int l;

	p->depth = 0;
	if (index == KVB_NONE)
		return;
	for (l = 0; l < t->height && l < KVB_MAX_HEIGHT; l++) {
		const struct kvb_node *nd = node(t, index);

		p->node[l] = index;
		p->depth = l + 1;
		if (nd->kind == KVB_LEAF)
			break;
		p->pos[l] = (uint16_t)inner_search(nd, key, key_len);
		index = ((const struct kvb_inner_ent *)ent_at(nd, p->pos[l]))->child;
	}
}

/* ---- building nodes ------------------------------------------------------------- */

static size_t
piece_bytes(const struct ent *e, const size_t *pre, unsigned int i,
	    unsigned int j, int inner)
{
	size_t sum = pre[j] - pre[i];

	/* An inner piece's first entry loses its key to the parent. */
	if (inner && i > 0)
		sum = sum - e[i].size + inner_ent_size(0);
	return node_bytes(j - i, sum);
}

/* Cut entries [0, n) into nodes that fit: t->cut[0..np] (cut[np] == n). */
static unsigned int
pack(struct kv_index *t, const struct ent *e, unsigned int n, int inner)
{
	size_t *pre = t->pre;
	unsigned int i, np = 0, best = 0;
	size_t best_max = SIZE_MAX;

	pre[0] = 0;
	for (i = 0; i < n; i++)
		pre[i + 1] = pre[i] + e[i].size;
	t->cut[0] = 0;
	if (piece_bytes(e, pre, 0, n, inner) <= t->buf_size) {
		t->cut[1] = n;
		return 1;
	}
	/* Two nodes, as even as possible. */
	for (i = 1; i < n; i++) {
		size_t a = piece_bytes(e, pre, 0, i, inner);
		size_t b = piece_bytes(e, pre, i, n, inner);
		size_t m = a > b ? a : b;

		if (a <= t->buf_size && b <= t->buf_size && m < best_max) {
			best_max = m;
			best = i;
		}
	}
	if (best != 0) {
		t->cut[1] = best;
		t->cut[2] = n;
		return 2;
	}
	/* Otherwise greedily (long keys in small buffers). */
	for (i = 0; i < n;) {
		unsigned int j = i + 1;

		while (j < n && piece_bytes(e, pre, i, j + 1, inner) <= t->buf_size)
			j++;
		t->cut[np++] = i;
		i = j;
	}
	t->cut[np] = n;
	return np;
}

/* Write entries [i, j) as a node; *index and *crc of the result. */
static int
node_write(struct kv_index *t, int inner, uint8_t level, const struct ent *e,
	   unsigned int i, unsigned int j, uint32_t *index, uint32_t *crc)
{
	struct kvb_node *nd;
	size_t off;
	unsigned int k;
	int ret;

	ret = take(t, index);
	if (ret != 0)
		return ret;
	nd = (struct kvb_node *)bufp(t, *index);
	nd->magic = KVB_MAGIC_NODE;
	nd->kind = inner ? KVB_INNER : KVB_LEAF;
	nd->level = level;
	nd->count = (uint16_t)(j - i);
	nd->pad = 0;
	off = kvi_align8(KVB_HDR + 2 * (size_t)(j - i));
	memset((uint8_t *)nd + KVB_HDR, 0, off - KVB_HDR);
	for (k = i; k < j; k++) {
		uint8_t *dst = (uint8_t *)nd + off;

		nd->slot[k - i] = (uint16_t)off;
		if (!inner) {
			memcpy(dst, e[k].img, e[k].size);
			off += e[k].size;
		} else {
			struct kvb_inner_ent *ie = (struct kvb_inner_ent *)dst;
			uint16_t kl = k == i ? 0 : e[k].key_len;
			size_t sz = inner_ent_size(kl);

			memset(dst, 0, sz);
			ie->child = e[k].child;
			ie->child_crc = e[k].child_crc;
			ie->key_len = kl;
			if (kl > 0) /* the first entry has no key (NULL) */
				memcpy(dst + KVB_INNER_ENT, e[k].key, kl);
			off += sz;
		}
	}
	nd->used = (uint16_t)off;
	nd->crc = node_crc(nd);
	*crc = nd->crc;
	keep_written(t, *index, off);
	return 0;
}

/* Shortest prefix of @b that is still greater than @a (a < b). */
static uint16_t
sep_len(const uint8_t *a, uint16_t alen, const uint8_t *b, uint16_t blen)
{
	uint16_t d = 0;

	while (d < alen && d < blen && a[d] == b[d])
		d++;
	return d < blen ? (uint16_t)(d + 1) : blen;
}

/* Write entries as one level: nodes into t->pieces; returns how many. */
static int
level_write(struct kv_index *t, int inner, uint8_t level, unsigned int n,
	    unsigned int *np_out)
{
	const struct ent *e = t->ents;
	unsigned int np = pack(t, e, n, inner), p;
	int ret;

	if (np == 0)
		return -ENOMEM;
	for (p = 0; p < np; p++) {
		struct piece *pc = &t->pieces[p];
		unsigned int i = t->cut[p];

		ret = node_write(t, inner, level, e, i, t->cut[p + 1], &pc->index,
				 &pc->crc);
		if (ret != 0)
			return ret;
		if (p == 0) {
			pc->sep = NULL;
			pc->sep_len = 0;
		} else if (inner) {
			pc->sep = e[i].key; /* moves up whole */
			pc->sep_len = e[i].key_len;
		} else {
			pc->sep = e[i].key;
			pc->sep_len = sep_len(e[i - 1].key, e[i - 1].key_len,
					      e[i].key, e[i].key_len);
		}
	}
	*np_out = np;
	return 0;
}

static void
ent_new(struct ent *d, const struct kvb_leaf_ent *e, size_t size)
{
	d->key = leaf_ent_key(e);
	d->key_len = e->key_len;
	d->size = (uint16_t)size;
	d->img = (const uint8_t *)e;
}

static void
ent_from_leaf(struct ent *d, const struct kvb_node *nd, unsigned int i)
{
	const struct kvb_leaf_ent *e = (const struct kvb_leaf_ent *)ent_at(nd, i);

	d->key = leaf_ent_key(e);
	d->key_len = e->key_len;
	d->size = (uint16_t)leaf_ent_bytes(e);
	d->img = (const uint8_t *)e;
}

static void
ent_from_inner(struct ent *d, const struct kvb_node *nd, unsigned int i)
{
	const struct kvb_inner_ent *e = (const struct kvb_inner_ent *)ent_at(nd, i);

	d->key = inner_ent_key(e);
	d->key_len = e->key_len;
	d->size = (uint16_t)inner_ent_size(e->key_len);
	d->child = e->child;
	d->child_crc = e->child_crc;
}

static void
ent_child(struct ent *d, const struct piece *pc, const uint8_t *key,
	  uint16_t key_len)
{
	d->key = key;
	d->key_len = key_len;
	d->size = (uint16_t)inner_ent_size(key_len);
	d->child = pc->index;
	d->child_crc = pc->crc;
}

/*
 * Rewrite the path above level @l, whose node was replaced by the @nb
 * nodes in t->below (nb == 0: removed). Then grow or shrink the root and
 * publish. Old path nodes are superseded.
 */
static int
path_commit(struct kv_index *t, const struct path *p, int l, unsigned int nb,
	    uint64_t count, uint32_t height)
{
	unsigned int np;
	int ret;

	for (; l >= 0; l--) {
		const struct kvb_node *nd = node(t, p->node[l]);
		unsigned int pos = p->pos[l], i, n = 0;

		ret = scratch_reserve(t, (size_t)nd->count + nb + 1);
		if (ret != 0)
			return ret;
		for (i = 0; i < nd->count; i++) {
			if (i != pos) {
				ent_from_inner(&t->ents[n++], nd, i);
				continue;
			}
			if (nb > 0) {
				unsigned int k;
				struct ent *d = &t->ents[n++];

				ent_from_inner(d, nd, i);
				d->child = t->below[0].index;
				d->child_crc = t->below[0].crc;
				for (k = 1; k < nb; k++)
					ent_child(&t->ents[n++], &t->below[k],
						  t->below[k].sep,
						  t->below[k].sep_len);
			}
		}
		if (n == 0) {
			/* Every child is gone: this node goes too. */
			nb = 0;
			continue;
		}
		ret = level_write(t, 1, nd->level, n, &np);
		if (ret != 0)
			return ret;
		memcpy(t->below, t->pieces, np * sizeof(*t->below));
		nb = np;
	}
	/* Above the old root. */
	while (nb > 1) {
		unsigned int k;

		if (height + 1 > KVB_MAX_HEIGHT)
			return -E2BIG;
		ret = scratch_reserve(t, nb);
		if (ret != 0)
			return ret;
		for (k = 0; k < nb; k++)
			ent_child(&t->ents[k], &t->below[k], t->below[k].sep,
				  t->below[k].sep_len);
		ret = level_write(t, 1, (uint8_t)height, nb, &np);
		if (ret != 0)
			return ret;
		memcpy(t->below, t->pieces, np * sizeof(*t->below));
		nb = np;
		height++;
	}
	if (nb == 0) {
		publish(t, KVB_NONE, 0, count, 0);
		return 0;
	}
	/* An inner root with one child: the child is the root. */
	{
		uint32_t r = t->below[0].index, rc = t->below[0].crc, r_next;

		while (height > 1 && node(t, r)->count == 1) {
			const struct kvb_inner_ent *e =
				(const struct kvb_inner_ent *)ent_at(node(t, r), 0);
			int was_fresh = 0;
			size_t i;

			/* Written by this update: release it right away;
			 * part of the old tree: after the next drain. */
			for (i = 0; i < t->fresh.n; i++)
				if (t->fresh.v[i] == r) {
					t->fresh.v[i] = t->fresh.v[--t->fresh.n];
					was_fresh = 1;
					break;
				}
			r_next = e->child;
			rc = e->child_crc;
			if (was_fresh) {
				kvi_release(t->pool, &t->referenced, r);
				t->owned--;
			} else {
				supersede(t, r);
			}
			r = r_next;
			height--;
		}
		publish(t, r, rc, count, height);
	}
	return 0;
}

static int
path_supersede(struct kv_index *t, const struct path *p)
{
	unsigned int l;
	int ret = 0;

	for (l = 0; l < p->depth && ret == 0; l++)
		ret = supersede(t, p->node[l]);
	return ret;
}

/* After a publication: what the old tree had alone goes after the next
 * drain, and the entry @old (NULL: none) replaced or removed is reported
 * through @on_old. */
static void
retire(struct kv_index *t, const struct path *p, const struct kvb_leaf_ent *old,
       const void *key, uint16_t key_len, kv_value_fn on_old, void *arg)
{
	const struct kv_value *ov;

	path_supersede(t, p);
	if (old != NULL) {
		ov = leaf_ent_value(t, old, 0);
		if (old->flags & KVB_F_OVF)
			ovf_supersede(t, old);
		if (ov != NULL) {
			if (on_old != NULL)
				on_old(arg, key, key_len, ov);
			kvi_referenced_remove_value(&t->referenced, ov);
		}
	}
	kvi_vcache_trim(&t->vc, KVB_VCACHE_MAX);
}

/* ---- operations ---------------------------------------------------------------- */

static int
bt_put(struct kv_index *t, const void *key, uint16_t key_len,
       const struct kv_value *value, kv_value_fn on_old, void *arg)
{
	const struct kvb_leaf_ent *old = NULL;
	struct kvb_leaf_ent *ne;
	struct path p;
	size_t inl, ovl, quarter, sz;
	int ovf, found = 0, ret;
	unsigned int pos = 0, n = 0, i, np;

	if (t == NULL || kvi_check_key(key, key_len) != 0 ||
	    kvi_check_value(t->pool, value) != 0)
		return -EINVAL;
	sync_check(t);
	if (pending_reserve(t) != 0)
		return -ENOMEM;
	t->fresh.n = 0;

	/* The new leaf entry. */
	inl = leaf_ent_size(key_len, value->n, 0);
	ovl = leaf_ent_size(key_len, value->n, 1);
	quarter = ((t->buf_size - KVB_HDR) / 4) & ~(size_t)7;
	ovf = inl > ovl && inl > quarter;
	sz = ovf ? ovl : inl;
	/* Room for this update (overflow blocks, a path that splits) and
	 * then for a delete, which needs new nodes too. */
	if (kvi_free_bufs(t->pool) <
	    (ovf ? (value->n + ovf_per_block(t) - 1) / ovf_per_block(t) : 0) +
		    4 * ((uint64_t)t->height + 2) + 4)
		return -ENOSPC;
	ne = (struct kvb_leaf_ent *)t->img;
	memset(ne, 0, sz);
	ne->len = value->len;
	ne->crc = value->crc;
	ne->n = value->n;
	ne->key_len = key_len;
	ne->deadline_ms = value->deadline_ms;
	if (ovf) {
		ne->flags = KVB_F_OVF;
		ret = ovf_write(t, value->names, value->n,
				(struct kvb_ref *)(ne + 1));
		if (ret != 0)
			goto fail;
	} else {
		memcpy(ne + 1, value->names, 8 * (size_t)value->n);
	}
	memcpy((uint8_t *)leaf_ent_key(ne), key, key_len);

	/* The leaf, with the entry inserted or replaced. */
	descend(t, key, key_len, &p);
	if (p.depth > 0) {
		const struct kvb_node *leaf = node(t, p.node[p.depth - 1]);

		pos = leaf_search(leaf, key, key_len, &found);
		ret = scratch_reserve(t, (size_t)leaf->count + 1);
		if (ret != 0)
			goto fail;
		for (i = 0; i < leaf->count; i++) {
			if (i == pos) {
				ent_new(&t->ents[n++], ne, sz);
				if (found) {
					old = (const struct kvb_leaf_ent *)ent_at(leaf, i);
					continue;
				}
			}
			ent_from_leaf(&t->ents[n++], leaf, i);
		}
		if (!found && pos == leaf->count)
			ent_new(&t->ents[n++], ne, sz);
	} else {
		ent_new(&t->ents[n++], ne, sz);
	}
	if (!found) {
		ret = order_prepare(t, key_len);
		if (ret != 0)
			goto fail;
	}
	ret = level_write(t, 0, 0, n, &np);
	if (ret != 0)
		goto fail;
	memcpy(t->below, t->pieces, np * sizeof(*t->below));
	ret = path_commit(t, &p, (int)p.depth - 2, np,
			  t->count + (found ? 0 : 1),
			  t->height > 0 ? t->height : 1);
	if (ret != 0)
		goto fail;
	if (!found)
		order_insert(t, key, key_len);

	retire(t, &p, old, key, key_len, on_old, arg);
	return 0;
fail:
	fresh_abort(t);
	return ret == -ENOBUFS ? -ENOSPC : ret;
}

static const struct kv_value *
bt_get(struct kv_index *t, const void *key, uint16_t key_len)
{
	const struct kvb_node *leaf;
	struct path p;
	unsigned int pos;
	int found;

	if (t == NULL || kvi_check_key(key, key_len) != 0)
		return NULL;
	descend(t, key, key_len, &p);
	if (p.depth == 0)
		return NULL;
	leaf = node(t, p.node[p.depth - 1]);
	pos = leaf_search(leaf, key, key_len, &found);
	if (!found)
		return NULL;
	return leaf_ent_value(t, (const struct kvb_leaf_ent *)ent_at(leaf, pos), 1);
}

static int
bt_del(struct kv_index *t, const void *key, uint16_t key_len,
       kv_value_fn on_old, void *arg)
{
	const struct kvb_node *leaf;
	const struct kvb_leaf_ent *old;
	struct path p;
	unsigned int pos, i, n = 0, np = 0;
	int found, ret;

	if (t == NULL || kvi_check_key(key, key_len) != 0)
		return -EINVAL;
	sync_check(t);
	descend(t, key, key_len, &p);
	if (p.depth == 0)
		return 0;
	leaf = node(t, p.node[p.depth - 1]);
	pos = leaf_search(leaf, key, key_len, &found);
	if (!found)
		return 0;
	if (pending_reserve(t) != 0 || order_undo_reserve(t) != 0)
		return -ENOMEM;
	t->fresh.n = 0;
	old = (const struct kvb_leaf_ent *)ent_at(leaf, pos);
	ret = scratch_reserve(t, leaf->count);
	if (ret != 0)
		return ret;
	for (i = 0; i < leaf->count; i++)
		if (i != pos)
			ent_from_leaf(&t->ents[n++], leaf, i);
	if (n > 0) {
		ret = level_write(t, 0, 0, n, &np);
		if (ret != 0)
			goto fail;
		memcpy(t->below, t->pieces, np * sizeof(*t->below));
	}
	ret = path_commit(t, &p, (int)p.depth - 2, np, t->count - 1,
			  t->height);
	if (ret != 0)
		goto fail;
	order_remove(t, key, key_len);
	retire(t, &p, old, key, key_len, on_old, arg);
	return 1;
fail:
	fresh_abort(t);
	return ret == -ENOBUFS ? -ENOSPC : ret;
}

static uint64_t
bt_count(const struct kv_index *t)
{
	return t != NULL ? t->count : 0;
}

static uint64_t
bt_own_bytes(const struct kv_index *t)
{
	return t != NULL ? t->owned * t->buf_size : 0;
}

/* ---- whole-tree walks --------------------------------------------------------- */

struct walk {
	int verify;               /* check everything, report nothing */
	int recover;              /* report, mark referenced buffers */
	int supersede;            /* flushall: every buffer goes */
	uint64_t owned;           /* buffers visited */
	kv_value_fn on_value;
	kv_owned_fn on_owned;
	kv_check_fn check;        /* verify: every value must pass */
	void *arg;
	uint64_t entries;
	int err;
};

/* The keys a subtree may hold: lo <= key < hi; a NULL bound is open (the
 * leftmost and rightmost paths of the tree). */
struct bounds {
	const uint8_t *lo, *hi;
	uint16_t lo_len, hi_len;
};

static int
in_bounds(const struct bounds *b, const uint8_t *key, uint16_t key_len)
{
	return (b->lo == NULL ||
		kvi_key_cmp(key, key_len, b->lo, b->lo_len) >= 0) &&
	       (b->hi == NULL ||
		kvi_key_cmp(key, key_len, b->hi, b->hi_len) < 0);
}

/* Bytes of entry @i of a node, 0 if the entry's own header is not sane. */
static size_t
ent_bytes_checked(const struct kvb_node *nd, unsigned int i)
{
	if (nd->level == 0) {
		const struct kvb_leaf_ent *e =
			(const struct kvb_leaf_ent *)ent_at(nd, i);

		if (e->key_len > KV_KEY_MAX ||
		    (e->flags & ~KVB_F_OVF) != 0)
			return 0;
		return leaf_ent_bytes(e);
	} else {
		const struct kvb_inner_ent *e =
			(const struct kvb_inner_ent *)ent_at(nd, i);

		/* Only the first entry has no separator. */
		if ((i == 0) != (e->key_len == 0) || e->key_len > KV_KEY_MAX)
			return 0;
		return inner_ent_size(e->key_len);
	}
}

/* The entries follow the slot array back to back, in slot order, and end
 * where the node does: no entry overlaps another or runs past the node. */
static int
node_layout_check(const struct kvb_node *nd)
{
	size_t off = kvi_align8(KVB_HDR + 2 * (size_t)nd->count);
	unsigned int i;

	for (i = 0; i < nd->count; i++) {
		size_t sz;

		if (nd->slot[i] != off || off + 16 > nd->used)
			return -EIO;
		sz = ent_bytes_checked(nd, i);
		if (sz == 0)
			return -EIO;
		off += sz;
		if (off > nd->used)
			return -EIO;
	}
	return off == nd->used ? 0 : -EIO;
}

/* Before anything in a node is trusted: the reference names a buffer of
 * the pool other than the superblock, visited once only (t->seen), no
 * deeper than a tree grows, and the node there is the one referenced
 * (magic, CRC, level, kind) with a sane layout. */
static int
node_verify(struct kv_index *t, struct kvb_ref ref, unsigned int level,
	    unsigned int depth)
{
	const struct kvb_node *nd;

	if (ref.index >= t->buf_count || ref.index == t->sb ||
	    depth >= KVB_MAX_HEIGHT || t->seen[ref.index])
		return -EIO;
	t->seen[ref.index] = 1;
	nd = node(t, ref.index);
	if (nd->magic != KVB_MAGIC_NODE || nd->used < KVB_HDR ||
	    nd->used > t->buf_size || nd->crc != ref.crc ||
	    node_crc(nd) != ref.crc || nd->level != level ||
	    nd->kind != (level == 0 ? KVB_LEAF : KVB_INNER) ||
	    nd->count == 0)
		return -EIO;
	return node_layout_check(nd);
}

/* An own buffer of the tree, node or overflow block: count it, report it,
 * and mark it referenced (recovery) or superseded (flushall). */
static int
walk_own(struct kv_index *t, struct walk *wk, uint32_t index)
{
	wk->owned++;
	if (wk->on_owned != NULL)
		wk->on_owned(wk->arg, whole(t, index));
	if (wk->recover)
		kvi_referenced_add(&t->referenced, index);
	if (wk->supersede && supersede(t, index) != 0)
		return -ENOMEM;
	return 0;
}

/* Verify mode, leaf entry @i: within the leaf's bounds, above the entry
 * before it, its overflow chain whole, its value passing the caller's
 * check. */
static int
leaf_ent_verify(struct kv_index *t, struct walk *wk, const struct kvb_node *nd,
		unsigned int i, const struct bounds *b)
{
	const struct kvb_leaf_ent *e =
		(const struct kvb_leaf_ent *)ent_at(nd, i);
	const uint8_t *key = leaf_ent_key(e);
	const struct kv_value *v;

	if (!in_bounds(b, key, e->key_len))
		return -EIO;
	if (i > 0) {
		const struct kvb_leaf_ent *pe =
			(const struct kvb_leaf_ent *)ent_at(nd, i - 1);

		if (kvi_key_cmp(leaf_ent_key(pe), pe->key_len,
				key, e->key_len) >= 0)
			return -EIO;
	}
	if ((e->flags & KVB_F_OVF) &&
	    ovf_check(t, *(const struct kvb_ref *)(e + 1), e->n, t->seen) != 0)
		return -EIO;
	if (wk->check == NULL)
		return 0;
	v = leaf_ent_value(t, e, 0);
	if (v == NULL)
		return -ENOMEM;
	return wk->check(wk->arg, key, e->key_len, v) ? 0 : -EIO;
}

/* Recovery and flushall, leaf entry: its overflow blocks are own buffers
 * like the nodes; the buffers of its value are referenced (recovery) or no
 * longer (flushall); then the value is reported. */
static int
leaf_ent_report(struct kv_index *t, struct walk *wk,
		const struct kvb_leaf_ent *e)
{
	const struct kv_value *v;
	uint16_t k;
	int ret;

	if (e->flags & KVB_F_OVF) {
		uint32_t b = ((const struct kvb_ref *)(e + 1))->index;

		while (b != KVB_NONE) {
			ret = walk_own(t, wk, b);
			if (ret != 0)
				return ret;
			b = ((const struct kvb_ovf *)bufp(t, b))->next;
		}
	}
	v = leaf_ent_value(t, e, 0);
	if (v == NULL)
		return -ENOMEM;
	if (wk->supersede) {
		kvi_referenced_remove_value(&t->referenced, v);
	} else if (wk->recover) {
		for (k = 0; k < v->n; k++)
			kvi_referenced_add(&t->referenced,
					   pst_name_index(v->names[k]));
	}
	if (wk->on_value != NULL)
		wk->on_value(wk->arg, leaf_ent_key(e), e->key_len, v);
	return 0;
}

static int
walk_leaf(struct kv_index *t, struct walk *wk, const struct kvb_node *nd,
	  const struct bounds *b)
{
	unsigned int i;
	int ret;

	for (i = 0; i < nd->count; i++) {
		if (wk->verify)
			ret = leaf_ent_verify(t, wk, nd, i, b);
		else
			ret = leaf_ent_report(t, wk,
				(const struct kvb_leaf_ent *)ent_at(nd, i));
		if (ret != 0)
			return ret;
		wk->entries++;
	}
	return 0;
}

static int walk_node(struct kv_index *t, struct walk *wk, struct kvb_ref ref,
		     unsigned int level, const struct bounds *b,
		     unsigned int depth);

/* Inner node at @level: child i holds the keys from separator i (the
 * node's lower bound for child 0) up to separator i+1 (the node's upper
 * bound for the last child). Verify mode checks each separator against the
 * node's bounds and the next one before descending, so every child is
 * walked with bounds that nest in its parent's. */
static int
walk_inner(struct kv_index *t, struct walk *wk, const struct kvb_node *nd,
	   unsigned int level, const struct bounds *b, unsigned int depth)
{
	unsigned int i;
	int ret;

	for (i = 0; i < nd->count; i++) {
		const struct kvb_inner_ent *e =
			(const struct kvb_inner_ent *)ent_at(nd, i);
		struct kvb_ref child = { e->child, e->child_crc };
		struct bounds cb = *b;

		if (i > 0) {
			cb.lo = inner_ent_key(e);
			cb.lo_len = e->key_len;
			if (wk->verify && !in_bounds(b, cb.lo, cb.lo_len))
				return -EIO;
		}
		if (i + 1 < nd->count) {
			const struct kvb_inner_ent *ne =
				(const struct kvb_inner_ent *)ent_at(nd, i + 1);

			cb.hi = inner_ent_key(ne);
			cb.hi_len = ne->key_len;
			if (wk->verify && i > 0 &&
			    kvi_key_cmp(cb.lo, cb.lo_len,
					cb.hi, cb.hi_len) >= 0)
				return -EIO;
		}
		ret = walk_node(t, wk, child, level - 1, &cb, depth + 1);
		if (ret != 0)
			return ret;
	}
	return 0;
}

/* The subtree under @ref, whose keys must lie within @b. In verify mode
 * nothing in a node is read before node_verify() has passed it. */
static int
walk_node(struct kv_index *t, struct walk *wk, struct kvb_ref ref,
	  unsigned int level, const struct bounds *b, unsigned int depth)
{
	int ret;

	if (wk->verify) {
		ret = node_verify(t, ref, level, depth);
		if (ret != 0)
			return ret;
	}
	ret = walk_own(t, wk, ref.index);
	if (ret != 0)
		return ret;
	if (level == 0)
		return walk_leaf(t, wk, node(t, ref.index), b);
	return walk_inner(t, wk, node(t, ref.index), level, b, depth);
}

static int
walk_tree(struct kv_index *t, struct walk *wk, uint32_t root, uint32_t root_crc,
	  uint32_t height)
{
	const struct bounds all = { NULL, NULL, 0, 0 };
	struct kvb_ref ref = { root, root_crc };

	wk->entries = 0;
	wk->owned = 0;
	if (wk->verify)
		memset(t->seen, 0, t->buf_count);
	if (root == KVB_NONE)
		return height == 0 ? 0 : -EIO;
	if (height == 0 || height > KVB_MAX_HEIGHT)
		return -EIO;
	return walk_node(t, wk, ref, height - 1, &all, 0);
}

static int
bt_flushall(struct kv_index *t, kv_value_fn on_old, void *arg)
{
	struct walk wk = { .supersede = 1, .on_value = on_old, .arg = arg };
	int ret;

	if (t == NULL)
		return -EINVAL;
	if (t->unit_open)
		return -EBUSY; /* a unit's walk would see its unpublished nodes */
	sync_check(t);
	t->fresh.n = 0;
	/* Every own buffer but the superblock goes: make room first, so the
	 * walk cannot fail halfway through its reports. */
	if (t->pending.cap < t->pending.n + t->owned) {
		uint32_t *v = realloc(t->pending.v,
				      (t->pending.n + t->owned) * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		t->pending.v = v;
		t->pending.cap = t->pending.n + t->owned;
	}
	ret = walk_tree(t, &wk, t->root, t->root_crc, t->height);
	if (ret != 0)
		return ret;
	kvi_vcache_clear(&t->vc);
	kv_keyorder_clear(&t->order);
	publish(t, KVB_NONE, 0, 0, 0);
	return 0;
}

/* ---- units ------------------------------------------------------------------- */

static int
bt_unit_begin(struct kv_index *t)
{
	if (t == NULL)
		return -EINVAL;
	if (t->unit_open)
		return -EBUSY;
	if (t->unit_bits == NULL) {
		t->unit_bits = calloc((t->buf_count + 63) / 64, sizeof(*t->unit_bits));
		if (t->unit_bits == NULL)
			return -ENOMEM;
	}
	sync_check(t);
	t->unit_root = t->root;
	t->unit_root_crc = t->root_crc;
	t->unit_height = t->height;
	t->unit_count = t->count;
	t->unit_pending = t->pending.n;
	t->unit_bufs.n = 0;
	t->unit_dirty = 0;
	t->unit_open = 1;
	t->order_undo_n = 0;
	kv_keyorder_hold(&t->order, 1);
	return 0;
}

/* Forget which buffers the unit wrote. */
static void
unit_bits_clear(struct kv_index *t)
{
	size_t i;

	for (i = 0; i < t->unit_bufs.n; i++)
		unit_bit_set(t, t->unit_bufs.v[i], 0);
	t->unit_bufs.n = 0;
}

static int
bt_unit_end(struct kv_index *t)
{
	if (t == NULL || !t->unit_open)
		return -EINVAL;
	t->unit_open = 0;
	unit_bits_clear(t);
	order_unit_end(t);
	/* One root record for the whole unit. */
	if (t->unit_dirty)
		publish(t, t->root, t->root_crc, t->count, t->height);
	t->unit_dirty = 0;
	kvi_vcache_trim(&t->vc, KVB_VCACHE_MAX);
	return 0;
}

/* Nothing of the unit was published: the tree before it is the current
 * one again, the buffers it wrote are nobody's. */
static int
bt_unit_abort(struct kv_index *t)
{
	size_t i;

	if (t == NULL || !t->unit_open)
		return -EINVAL;
	for (i = 0; i < t->unit_bufs.n; i++) {
		uint32_t index = t->unit_bufs.v[i];

		if (!unit_bit(t, index))
			continue; /* superseded within the unit: released */
		kvi_release(t->pool, &t->referenced, index);
		t->owned--;
	}
	unit_bits_clear(t);
	t->root = t->unit_root;
	t->root_crc = t->unit_root_crc;
	t->height = t->unit_height;
	t->count = t->unit_count;
	/* What the unit superseded of the tree before it is live again. */
	t->pending.n = t->unit_pending;
	t->fresh.n = 0;
	t->unit_open = 0;
	t->unit_dirty = 0;
	order_unit_abort(t);
	kvi_vcache_clear(&t->vc);
	return 0;
}

/* Also the failure path of bt_open(), where nothing is published yet. */
static void
bt_close(struct kv_index *t)
{
	if (t == NULL)
		return;
	if (t->unit_open)
		(void)bt_unit_abort(t);
	kvi_vec_fini(&t->unit_bufs);
	free(t->unit_bits);
	/* Make the last publication durable, then let go of what it
	 * superseded (pst_pool_close() drains the releases). */
	if (t->window && pst_pool_drain(t->pool) == 0)
		sync_check(t);
	kvi_vec_fini(&t->pending);
	kvi_vec_fini(&t->fresh);
	free(t->ents);
	free(t->pieces);
	free(t->below);
	free(t->cut);
	free(t->pre);
	free(t->img);
	free(t->tmpv);
	free(t->seen);
	kvi_vcache_clear(&t->vc);
	kvi_referenced_fini(&t->referenced);
	kv_keyorder_fini(&t->order);
	free(t->order_undo);
	free(t);
}

/* ---- open and recovery ----------------------------------------------------- */

static int
rootrec_valid(const struct kvb_rootrec *r)
{
	return r->magic == KVB_MAGIC_ROOT && r->crc == rootrec_crc(r);
}

static int
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static int
bt_create(struct kv_index *t)
{
	uint32_t sb;
	int ret;

	ret = kvi_take(t->pool, &t->referenced, &sb);
	if (ret != 0)
		return ret;
	t->sb = sb;
	memset(bufp(t, sb), 0, 2 * KVB_REC_STRIDE);
	rootrec_fill(rootrec(t, 0), 1, KVB_NONE, 0, 0, 0);
	pst_pool_flush(t->pool, bufp(t, sb), 2 * KVB_REC_STRIDE);
	pst_pool_keep(t->pool, sb);
	t->owned = 1;
	t->gen = 1;
	t->durable_rec = 0;
	t->root = KVB_NONE;
	ret = pst_pool_drain(t->pool);
	if (ret == 0)
		ret = pst_pool_root_set(t->pool, KV_ROOT_BTREE, whole(t, sb));
	if (ret == 0)
		ret = pst_pool_drain(t->pool);
	return ret;
}

static int
bt_recover(struct kv_index *t, uint64_t root_name, kv_check_fn check, void *arg,
	   uint64_t *torn, uint64_t *fallbacks)
{
	struct kvb_rootrec rec[2];
	struct walk wk = { .verify = 1, .check = check, .arg = arg };
	int valid[2], order[2], k;

	if (!pst_pool_name_valid(t->pool, root_name) ||
	    pst_name_offset(root_name) != 0)
		return -EIO;
	t->sb = pst_name_index(root_name);
	t->seen = malloc(t->buf_count);
	if (t->seen == NULL)
		return -ENOMEM;
	for (k = 0; k < 2; k++) {
		rec[k] = *rootrec(t, (unsigned int)k);
		valid[k] = rootrec_valid(&rec[k]);
		if (!valid[k] && !all_zero(&rec[k], sizeof(rec[k])))
			(*torn)++; /* a publication cut by the crash */
	}
	/* Written before deadlines: refused with nothing changed. */
	if (!valid[0] && !valid[1] &&
	    ((rec[0].magic == KVB_MAGIC_ROOT_V1 && rec[0].crc == rootrec_crc(&rec[0])) ||
	     (rec[1].magic == KVB_MAGIC_ROOT_V1 && rec[1].crc == rootrec_crc(&rec[1]))))
		return -EPROTO; /* KV_INDEX_OLD_FORMAT */
	order[0] = valid[1] && (!valid[0] || rec[1].gen > rec[0].gen) ? 1 : 0;
	order[1] = order[0] ^ 1;
	for (k = 0; k < 2; k++) {
		int r = order[k], ret;

		if (!valid[r])
			continue;
		ret = walk_tree(t, &wk, rec[r].root, rec[r].root_crc,
				rec[r].height);
		if (ret == -ENOMEM)
			return ret;
		if (ret == 0 && wk.entries == rec[r].count)
			break;
		/* Newest publication, but its tree or one of its values is
		 * not whole: its batch was never drained. The other record
		 * is, and its tree and values are intact (what it names is
		 * released only after the newer one is durable). */
		(*torn)++;
		(*fallbacks)++;
	}
	/* Neither record whole: not an image a power loss can leave (the
	 * last drained record, its nodes and values are never written or
	 * released before a newer publication is durable; doc/kvs-index.md,
	 * "Recovery"), so a medium error or a foreign write. Refused, with
	 * nothing changed. */
	if (k == 2)
		return -EIO;
	k = order[k];
	free(t->seen);
	t->seen = NULL;
	t->durable_rec = (unsigned int)k;
	t->gen = rec[k].gen;
	t->root = rec[k].root;
	t->root_crc = rec[k].root_crc;
	t->count = rec[k].count;
	t->height = rec[k].height;
	/* Both records name this tree from now on. */
	if (memcmp(rootrec(t, (unsigned int)k ^ 1), &rec[k], sizeof(rec[k])) != 0) {
		struct kvb_rootrec *o = rootrec(t, (unsigned int)k ^ 1);

		*o = rec[k];
		pst_pool_flush(t->pool, o, sizeof(*o));
		return pst_pool_drain(t->pool);
	}
	return 0;
}

struct order_fill {
	struct kv_index *t;
	int err;
};

static void
order_fill_key(void *arg, const void *key, uint16_t key_len)
{
	struct order_fill *f = arg;

	if (f->err == 0)
		f->err = kv_keyorder_prepare(&f->t->order, key_len);
	if (f->err == 0)
		(void)kv_keyorder_insert(&f->t->order, key, key_len,
					 (uint32_t)kv_key_hash(key, key_len), NULL);
}

static int bt_keys(struct kv_index *t, kv_key_want_fn want, kv_key_fn fn, void *arg);

/* The recovered tree's keys into the key order. */
static int
order_fill(struct kv_index *t)
{
	struct order_fill f = { t, 0 };
	int ret = bt_keys(t, NULL, order_fill_key, &f);

	return ret != 0 ? ret : f.err;
}

static int
bt_open(struct kv_index **out, struct pst_pool *pool, kv_value_fn on_value,
	kv_owned_fn on_owned, kv_check_fn check, void *arg,
	struct kv_index_report *report)
{
	struct pst_pool_info info;
	struct timespec t0;
	struct kv_index *t;
	uint64_t root, torn = 0, fallbacks = 0;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (out == NULL || pool == NULL || pst_pool_info(pool, &info) != 0)
		return -EINVAL;
	if (info.buf_size < KVI_BUF_SIZE_MIN || info.buf_size % 64 != 0 ||
	    info.buf_count > UINT32_MAX - 1)
		return -EINVAL;
	/* Before anything is read or written: a pool holding another
	 * index would be reconciled against this one and lose it all. */
	ret = pst_pool_root_claim(pool, KV_ROOT_BTREE, KV_OWNER_APP, "btree");
	if (ret != 0)
		return ret;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->pool = pool;
	t->bufs = info.bufs;
	t->buf_size = info.buf_size;
	t->buf_count = info.buf_count;
	t->img = malloc(info.buf_size);
	t->tmpv = malloc(kvi_value_size(KV_INDEX_NAMES_MAX));
	t->tmpv_n = KV_INDEX_NAMES_MAX;
	if (kv_key_hash_init() != 0) {
		ret = -EIO;
		goto fail;
	}
	if (t->img == NULL || t->tmpv == NULL || kv_keyorder_init(&t->order) != 0 ||
	    kvi_referenced_init(&t->referenced, info.buf_count) != 0 ||
	    scratch_reserve(t, info.buf_size / 16 + 16) != 0) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = pst_pool_root_get(pool, KV_ROOT_BTREE, &root);
	if (ret != 0)
		goto fail;
	if (root == 0) {
		ret = bt_create(t);
		if (ret != 0)
			goto fail;
	} else {
		struct walk wk = { .recover = 1, .on_value = on_value,
				   .on_owned = on_owned, .arg = arg };

		ret = bt_recover(t, root, check, arg, &torn, &fallbacks);
		if (ret != 0)
			goto fail;
		ret = walk_tree(t, &wk, t->root, t->root_crc, t->height);
		if (ret != 0)
			goto fail;
		t->owned = 1 + wk.owned; /* superblock, nodes, overflow */
		ret = order_fill(t);
		if (ret != 0)
			goto fail;
	}
	/* The superblock is an own buffer like the nodes, a new one too: the
	 * server reconciles the pool against what open() reported right after
	 * it, and would free an unreported superblock, whose buffer then goes
	 * to a value or a node while the root records still live in it. */
	kvi_referenced_add(&t->referenced, t->sb);
	if (on_owned != NULL)
		on_owned(arg, whole(t, t->sb));
	kvi_report_open(report, t->count, torn, fallbacks, 0, &t0);
	*out = t;
	return 0;
fail:
	bt_close(t);
	return ret;
}

/* ---- keyspace walk (SCAN, KEYS, RANDOMKEY) -------------------------------- */

/* The keys of the subtree at @index, @level levels above the leaves. The
 * tree as published verified at open and every update since wrote it, so
 * the walk trusts its structure as get() does; the depth is bounded all
 * the same. */
static void
keys_node(const struct kv_index *t, uint32_t index, unsigned int level,
	  kv_key_fn fn, void *arg)
{
	const struct kvb_node *nd = node(t, index);
	unsigned int i;

	if (nd->kind == KVB_LEAF) {
		for (i = 0; i < nd->count; i++) {
			const struct kvb_leaf_ent *e =
				(const struct kvb_leaf_ent *)ent_at(nd, i);

			fn(arg, leaf_ent_key(e), e->key_len);
		}
		return;
	}
	if (level == 0)
		return;
	for (i = 0; i < nd->count; i++)
		keys_node(t, ((const struct kvb_inner_ent *)ent_at(nd, i))->child,
			  level - 1, fn, arg);
}

/* The leaves keep no hash: every key is passed (@want is not asked). */
static int
bt_keys(struct kv_index *t, kv_key_want_fn want, kv_key_fn fn, void *arg)
{
	(void)want;
	if (t == NULL)
		return -EINVAL;
	if (t->root != KVB_NONE && t->height > 0)
		keys_node(t, t->root, t->height < KVB_MAX_HEIGHT ? t->height - 1
								  : KVB_MAX_HEIGHT - 1, fn, arg);
	return 0;
}

/* SCAN and RANDOMKEY walk the key order, not the tree. */
static int
bt_scan(struct kv_index *t, uint64_t cursor, uint64_t count, kv_key_fn fn, void *arg,
	uint64_t *next)
{
	if (t == NULL)
		return -EINVAL;
	kv_keyorder_scan(&t->order, cursor, count, fn, arg, next);
	return 0;
}

static int
bt_random_key(struct kv_index *t, uint64_t seed, kv_key_fn fn, void *arg)
{
	if (t == NULL)
		return -EINVAL;
	kv_keyorder_random(&t->order, seed, fn, arg);
	return 0;
}

const struct kv_index_ops kv_index_btree = {
	.name = "btree",
	.root_slot = KV_ROOT_BTREE,
	.open = bt_open,
	.put = bt_put,
	.get = bt_get,
	.del = bt_del,
	.count = bt_count,
	.flushall = bt_flushall,
	.unit_begin = bt_unit_begin,
	.unit_end = bt_unit_end,
	.unit_abort = bt_unit_abort,
	.own_bytes = bt_own_bytes,
	.close = bt_close,
	.keys = bt_keys,
	.scan = bt_scan,
	.random_key = bt_random_key,
};
