/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paste-kvs "wal" index: an append-only log in a chain of kept pool
 * buffers, replayed into a DRAM hash table at open. doc/kvs-index.md
 * describes the format; in short:
 *
 *   buffer:  header (32 B: magic, chain id, sequence, salt, CRC) then
 *            records, 8-byte aligned, never straddling buffers; the last
 *            24 bytes of a buffer are always left for an END record.
 *   record:  crc, salt, size, op, key length, names in this record;
 *            PUT  = record header + value header (len, crc, n, deadline)
 *                   + k names +
 *                   key (a whole PUT is laid out like a struct kv_value, so
 *                   get() returns a pointer into the pool);
 *            CONT = more names of the PUT before it (values with more names
 *                   than a buffer holds);
 *            DEL  = key;
 *            END  = name and salt of the next buffer of the chain;
 *            BEGIN, COMMIT = around the PUT/CONT/DEL records of a unit
 *                   (MSET, EXEC); COMMIT holds their count and a CRC32C
 *                   of their CRCs: a unit without its COMMIT never happened.
 *
 * Recovery replays records in order and stops at the first one that does
 * not verify (CRC, salt, size, END target header): everything before it is
 * whole, everything after it belongs to a batch whose drain never
 * completed. The bytes after the stop point are zeroed (and drained) before
 * anything is appended there, so stale records of that batch can never
 * reappear behind new ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SSE4_2__) && defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include "index_common.h"
#include "hashorder.h"
#include "keyhash.h"

#define KVW_MAGIC "PSTKVWL2"
/* The format before deadlines (KVW_PUT_FIXED 32): refused, not misread. */
#define KVW_MAGIC_V1 "PSTKVWL1"
#define KVW_HDR 32u               /* buffer header */
#define KVW_REC 16u               /* record header */
#define KVW_END_SIZE 24u          /* END record, reserved in every buffer */
#define KVW_PUT_FIXED 40u         /* record header + value header */

#define KVW_OP_PUT 1
#define KVW_OP_CONT 2
#define KVW_OP_DEL 3
#define KVW_OP_END 4
#define KVW_OP_BEGIN 5
#define KVW_OP_COMMIT 6

#define KVW_BEGIN_SIZE KVW_REC
#define KVW_COMMIT_SIZE 24u

/* Compaction: not below this many log buffers, and only when the log holds
 * more than twice the bytes of the live entries. */
#define KVW_COMPACT_MIN_BUFS 64u
/* A put leaves this many free buffers, so that a delete always finds one. */
#define KVW_RESERVE 2u

/* ---- on-media layout (little endian, sized types only) ------------------ */

struct kvw_bufhdr {
	char magic[8];
	uint64_t chain;           /* random id shared by the chain's buffers */
	uint64_t seq;             /* 0 for the first buffer, +1 per link */
	uint32_t salt;            /* random per buffer incarnation */
	uint32_t crc;             /* CRC32C of the 28 bytes before */
};
_Static_assert(sizeof(struct kvw_bufhdr) == KVW_HDR, "wal header");

struct kvw_rec {
	uint32_t crc;             /* CRC32C of bytes 4 .. size-1 */
	uint32_t salt;            /* the buffer header's salt */
	uint16_t size;            /* bytes of the record, a multiple of 8 */
	uint8_t op;               /* KVW_OP_* */
	uint8_t flags;            /* 0 */
	uint16_t key_len;         /* PUT, DEL */
	uint16_t k;               /* PUT, CONT: names in this record */
};
_Static_assert(sizeof(struct kvw_rec) == KVW_REC, "wal record");

/* PUT: after the record header, a struct kv_value image. */
struct kvw_val {
	uint32_t len;
	uint32_t crc;
	uint16_t n;               /* names of the whole value */
	uint16_t pad0;
	uint32_t pad1;
	uint64_t deadline_ms;     /* 0: none */
};
_Static_assert(sizeof(struct kvw_val) == 24, "wal value");
_Static_assert(offsetof(struct kvw_val, n) == offsetof(struct kv_value, n),
	       "wal value layout");
_Static_assert(offsetof(struct kvw_val, deadline_ms) ==
	       offsetof(struct kv_value, deadline_ms), "wal value layout");

struct kvw_end {
	uint32_t next;            /* buffer index of the next log buffer */
	uint32_t next_salt;       /* its header's salt */
};

/* COMMIT: after the record header. */
struct kvw_commit {
	uint32_t nrec;            /* PUT, CONT and DEL records since BEGIN */
	uint32_t crcs;            /* unit_crc() over their CRCs, in order */
};

/* ---- DRAM state ----------------------------------------------------------- */

struct kvw_log {
	uint64_t chain;
	uint64_t seq;             /* of the tail buffer */
	uint32_t salt;            /* of the tail buffer */
	uint32_t tail;            /* tail buffer index */
	uint32_t off;             /* where the next record goes */
	struct kvi_vec bufs;      /* the chain, in order */
	uint64_t used;            /* bytes of PUT/CONT/DEL records */
};

struct kvw_slot {
	uint32_t hash;
	uint32_t buf;             /* buffer of the entry's PUT record */
	uint16_t off;             /* its offset */
	uint16_t key_len;         /* 0: the empty key (a valid key) */
	uint32_t bytes;           /* PUT + CONT record bytes; 0: empty slot */
	struct kv_value *dram;    /* split value assembled in DRAM, or NULL */
};

/* What a put/del inside a unit changed in the key table, to undo it. */
struct kvw_undo {
	const uint8_t *key;       /* in the unit's record (pool) */
	uint32_t hash;
	uint16_t key_len;
	uint16_t had;             /* the key had an entry: @old */
	struct kvw_slot old;      /* its slot, dram value owned here */
};

/* The open unit: where its BEGIN went (the log is rewound there on
 * abort), and what to undo in DRAM. */
struct kvw_unit {
	int open;
	int begun;                /* BEGIN written */
	uint32_t tail, off, salt; /* log position before BEGIN */
	uint64_t seq, used, live_bytes;
	size_t nbufs;
	uint32_t nrec, crcs;      /* the COMMIT's fields so far */
	struct kvw_undo *undo;
	size_t n, cap;
	size_t n_had;             /* notes of keys that had a value: a
	                           * unit of new keys frees nothing at its end */
};

struct kv_index {
	struct pst_pool *pool;
	uint8_t *bufs;            /* buffer 0 in the current mapping */
	uint32_t buf_size;
	uint64_t buf_count;
	uint64_t rng;
	struct kvw_log log;
	struct kvw_slot *tab;
	size_t cap, count;
	unsigned int shift;       /* kv_hashorder_shift(cap) */
	uint64_t live_bytes;      /* record bytes of live entries */
	size_t compact_retry_at;  /* log buffers before retrying a failed one */
	uint64_t compactions;
	struct kvi_referenced referenced;
	struct kvw_unit unit;
	int broken;               /* an aborted unit may be on media: no writes */
};

static inline uint8_t *
bufp(const struct kv_index *w, uint32_t index)
{
	return w->bufs + (size_t)index * w->buf_size;
}

/* A slot of the key table holds an entry: a live entry has records. */
static inline int
slot_used(const struct kvw_slot *s)
{
	return s->bytes != 0;
}

static inline struct kvw_rec *
recp(const struct kv_index *w, uint32_t index, uint32_t off)
{
	return (struct kvw_rec *)(bufp(w, index) + off);
}

static inline size_t
put_size(uint16_t key_len, uint32_t k)
{
	return KVW_PUT_FIXED + 8 * (size_t)k + kvi_align8(key_len);
}

static inline size_t
cont_size(uint32_t k)
{
	return KVW_REC + 8 * (size_t)k;
}

static inline size_t
del_size(uint16_t key_len)
{
	return KVW_REC + kvi_align8(key_len);
}

/* Bytes a record may use from @off on, END reserve left out. */
static inline size_t
room(const struct kv_index *w, uint32_t off)
{
	size_t lim = w->buf_size - KVW_END_SIZE;

	return off < lim ? lim - off : 0;
}

static inline const uint8_t *
put_key(const struct kvw_rec *r)
{
	return (const uint8_t *)r + KVW_PUT_FIXED + 8 * (size_t)r->k;
}

static inline const struct kv_value *
put_value(const struct kvw_rec *r)
{
	return (const struct kv_value *)((const uint8_t *)r + KVW_REC);
}

static pst_name
whole(const struct kv_index *w, uint32_t index)
{
	return pst_name_make(index, 0, (uint16_t)w->buf_size);
}

/* Keyed (keyhash.h): clients choose the keys this table probes. */
static uint32_t
key_hash(const void *key, uint16_t key_len)
{
	return (uint32_t)kv_key_hash(key, key_len);
}

/* ---- hash table ----------------------------------------------------------- */

static const uint8_t *
slot_key(const struct kv_index *w, const struct kvw_slot *s)
{
	return put_key(recp(w, s->buf, s->off));
}

static const struct kv_value *
slot_value(const struct kv_index *w, const struct kvw_slot *s)
{
	return s->dram != NULL ? s->dram : put_value(recp(w, s->buf, s->off));
}

static struct kvw_slot *
tab_find(const struct kv_index *w, const void *key, uint16_t key_len,
	 uint32_t h)
{
	size_t mask = w->cap - 1, i;

	for (i = kv_hashorder_home(h, w->shift);; i = (i + 1) & mask) {
		struct kvw_slot *s = &w->tab[i];

		if (!slot_used(s))
			return NULL;
		/* key may be NULL for the empty key: no memcmp then */
		if (s->hash == h && s->key_len == key_len &&
		    (key_len == 0 || memcmp(slot_key(w, s), key, key_len) == 0))
			return s;
	}
}

/* tab_find() for a put: when the key has no slot, *@empty is the free slot
 * its probe ended at, where tab_place() would put it while the table keeps
 * its size: a new key's put walks its probe once, not twice. */
static struct kvw_slot *
tab_find_put(const struct kv_index *w, const void *key, uint16_t key_len,
	     uint32_t h, struct kvw_slot **empty)
{
	size_t mask = w->cap - 1, i;

	for (i = kv_hashorder_home(h, w->shift);; i = (i + 1) & mask) {
		struct kvw_slot *s = &w->tab[i];

		if (!slot_used(s)) {
			*empty = s;
			return NULL;
		}
		if (s->hash == h && s->key_len == key_len &&
		    (key_len == 0 || memcmp(slot_key(w, s), key, key_len) == 0))
			return s;
	}
}

/* The table is hash-ordered (hashorder.h): a key's home is its hash's top
 * bits, so that SCAN walks it in hash order. */
static void
tab_place(struct kvw_slot *tab, size_t cap, const struct kvw_slot *s)
{
	size_t mask = cap - 1, i;

	for (i = kv_hashorder_home(s->hash, kv_hashorder_shift(cap)); slot_used(&tab[i]);
	     i = (i + 1) & mask)
		;
	tab[i] = *s;
}

static int
tab_resize(struct kv_index *w, size_t cap)
{
	struct kvw_slot *t = calloc(cap, sizeof(*t));
	size_t i;

	if (t == NULL)
		return -ENOMEM;
	for (i = 0; i < w->cap; i++)
		if (slot_used(&w->tab[i]))
			tab_place(t, cap, &w->tab[i]);
	free(w->tab);
	w->tab = t;
	w->cap = cap;
	w->shift = kv_hashorder_shift(cap);
	return 0;
}

static int
tab_reserve(struct kv_index *w, size_t n)
{
	size_t cap = w->cap;

	while ((n + 1) * 4 > cap * 3)
		cap *= 2;
	return cap == w->cap ? 0 : tab_resize(w, cap);
}

/* After deletes: halve a table below 1/8 full (RANDOMKEY's random slots
 * then find an entry in a few tries, and a SCAN walks few empty slots).
 * Not inside a unit, whose undo must find room without allocating; a
 * failed allocation leaves the table as it is. */
static void
tab_maybe_shrink(struct kv_index *w)
{
	size_t cap = w->cap;

	if (w->unit.open)
		return;
	while (kv_hashorder_shrink(w->count, cap))
		cap /= 2;
	if (cap != w->cap)
		(void)tab_resize(w, cap);
}

/* Remove a slot (backward-shift deletion keeps probe chains intact). */
static void
tab_remove(struct kv_index *w, struct kvw_slot *s)
{
	size_t mask = w->cap - 1;
	size_t i = (size_t)(s - w->tab), j = i;

	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!slot_used(&w->tab[j]))
			break;
		home = kv_hashorder_home(w->tab[j].hash, w->shift);
		/* Move j back to i if its home is not in (i, j]. */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			w->tab[i] = w->tab[j];
			i = j;
		}
	}
	memset(&w->tab[i], 0, sizeof(w->tab[i]));
	w->count--;
}

/* Point @s at the key's new latest entry (@dram: its assembled value, or
 * NULL), dropping what it pointed at. */
static void
slot_replace(struct kv_index *w, struct kvw_slot *s, uint32_t buf, uint16_t off,
	     uint32_t bytes, struct kv_value *dram)
{
	free(s->dram);
	w->live_bytes -= s->bytes;
	s->buf = buf;
	s->off = off;
	s->bytes = bytes;
	s->dram = dram;
}

/* ---- appending ------------------------------------------------------------ */

/* The COMMIT's CRC of the unit's record CRCs, one record further: the
 * CRC32C of the pair { crcs, rec_crc }, as pst_crc32c() computes it, but
 * inline with SSE4.2 (one instruction instead of a call per record). */
static inline uint32_t
unit_crc(uint32_t crcs, uint32_t rec_crc)
{
#if defined(__SSE4_2__) && defined(__x86_64__)
	return ~(uint32_t)_mm_crc32_u64(0xffffffffu, (uint64_t)crcs | (uint64_t)rec_crc << 32);
#else
	uint32_t pair[2] = { crcs, rec_crc };

	return pst_crc32c(pair, sizeof(pair));
#endif
}

/* A record is flushed as it is sealed, but inside a unit: the unit's
 * records lie one after another from its BEGIN on, and unit_flush() flushes
 * them in one range per buffer once its COMMIT is written. Nothing is
 * durable before the caller's drain either way, and the COMMIT's chain of
 * record CRCs makes a unit whose records did not all persist fail
 * recovery whole, whatever order their lines reached the medium in. */
static void
rec_seal(struct kv_index *w, struct kvw_rec *r)
{
	r->crc = pst_crc32c((const uint8_t *)r + 4, r->size - 4u);
	if (!w->unit.begun) {
		pst_pool_flush(w->pool, r, r->size);
	} else if (r->op <= KVW_OP_DEL) {
		w->unit.nrec++;
		w->unit.crcs = unit_crc(w->unit.crcs, r->crc);
	}
}

static void
hdr_write(struct kv_index *w, uint32_t index, uint64_t chain, uint64_t seq,
	  uint32_t salt)
{
	struct kvw_bufhdr *h = (struct kvw_bufhdr *)bufp(w, index);

	memcpy(h->magic, KVW_MAGIC, sizeof(h->magic));
	h->chain = chain;
	h->seq = seq;
	h->salt = salt;
	h->crc = pst_crc32c(h, offsetof(struct kvw_bufhdr, crc));
	pst_pool_flush(w->pool, h, sizeof(*h));
}

/* Start a fresh chain in the lent buffer @index (kept here). */
static void
log_start(struct kv_index *w, struct kvw_log *log, uint32_t index)
{
	struct kvi_vec bufs = log->bufs; /* empty, maybe with capacity */

	memset(log, 0, sizeof(*log));
	log->bufs = bufs;
	log->chain = kvi_rand(&w->rng);
	log->seq = 0;
	log->salt = kvi_rand32nz(&w->rng);
	log->tail = index;
	log->off = KVW_HDR;
	hdr_write(w, index, log->chain, 0, log->salt);
	pst_pool_keep(w->pool, index);
	kvi_vec_push(&log->bufs, index); /* capacity reserved by the caller */
}

/* Grow the chain by the lent buffer @index: its header first, then the END
 * record that links it. */
static void
log_link(struct kv_index *w, struct kvw_log *log, uint32_t index)
{
	struct kvw_rec *r = recp(w, log->tail, log->off);
	struct kvw_end *e = (struct kvw_end *)(r + 1);
	uint32_t salt = kvi_rand32nz(&w->rng);

	hdr_write(w, index, log->chain, log->seq + 1, salt);
	pst_pool_keep(w->pool, index);
	memset(r, 0, KVW_END_SIZE);
	r->salt = log->salt;
	r->size = KVW_END_SIZE;
	r->op = KVW_OP_END;
	e->next = index;
	e->next_salt = salt;
	rec_seal(w, r);
	log->tail = index;
	log->seq++;
	log->salt = salt;
	log->off = KVW_HDR;
	kvi_vec_push(&log->bufs, index);
}

/* Layout of a PUT of @n names starting at @off: how many new buffers it
 * needs. The same walk is done by log_put(). */
static unsigned int
plan_put(const struct kv_index *w, uint32_t off, uint16_t key_len, uint32_t n)
{
	size_t empty = room(w, KVW_HDR);
	unsigned int nb = 0;
	uint32_t left, k;

	if (put_size(key_len, n) <= room(w, off))
		return 0;
	if (put_size(key_len, n) <= empty)
		return 1;
	if (room(w, off) < put_size(key_len, 0)) {
		nb++;
		off = KVW_HDR;
	}
	k = (uint32_t)((room(w, off) - put_size(key_len, 0)) / 8);
	if (k > n)
		k = n;
	off += (uint32_t)put_size(key_len, k);
	for (left = n - k; left > 0; left -= k) {
		if (room(w, off) < cont_size(1)) {
			nb++;
			off = KVW_HDR;
		}
		k = (uint32_t)((room(w, off) - KVW_REC) / 8);
		if (k > left)
			k = left;
		off += (uint32_t)cont_size(k);
	}
	return nb;
}

static unsigned int
plan_del(const struct kv_index *w, uint32_t off, uint16_t key_len)
{
	return del_size(key_len) <= room(w, off) ? 0 : 1;
}

/* Append a PUT (and CONTs); @fresh holds the lent buffers plan_put() asked
 * for. Returns where the PUT record went and the bytes written. */
static void
log_put(struct kv_index *w, struct kvw_log *log, const void *key,
	uint16_t key_len, const struct kv_value *v, const uint32_t *fresh,
	uint32_t *at_buf, uint16_t *at_off, uint32_t *bytes)
{
	uint32_t n = v->n, done = 0, k;
	unsigned int f = 0;
	struct kvw_rec *r;
	struct kvw_val *val;
	size_t sz;

	if (put_size(key_len, n) > room(w, log->off)) {
		if (put_size(key_len, n) <= room(w, KVW_HDR) ||
		    room(w, log->off) < put_size(key_len, 0))
			log_link(w, log, fresh[f++]);
	}
	k = (uint32_t)((room(w, log->off) - put_size(key_len, 0)) / 8);
	if (k > n)
		k = n;
	sz = put_size(key_len, k);
	r = recp(w, log->tail, log->off);
	/* Every byte written, as a memset of the record first would leave
	 * them, without the call: the fixed part zeroed (constant size,
	 * inline), the names and key copied over the rest, and the word the
	 * key's padding lies in zeroed before its bytes go in. */
	memset(r, 0, KVW_PUT_FIXED);
	if (key_len & 7)
		memset((uint8_t *)r + sz - 8, 0, 8);
	r->salt = log->salt;
	r->size = (uint16_t)sz;
	r->op = KVW_OP_PUT;
	r->key_len = key_len;
	r->k = (uint16_t)k;
	val = (struct kvw_val *)(r + 1);
	val->len = v->len;
	val->crc = v->crc;
	val->n = v->n;
	val->deadline_ms = v->deadline_ms;
	memcpy(val + 1, v->names, 8 * (size_t)k);
	memcpy((uint8_t *)r + KVW_PUT_FIXED + 8 * (size_t)k, key, key_len);
	rec_seal(w, r);
	*at_buf = log->tail;
	*at_off = (uint16_t)log->off;
	*bytes = (uint32_t)sz;
	log->off += (uint32_t)sz;
	log->used += sz;
	done = k;
	while (done < n) {
		if (room(w, log->off) < cont_size(1))
			log_link(w, log, fresh[f++]);
		k = (uint32_t)((room(w, log->off) - KVW_REC) / 8);
		if (k > n - done)
			k = n - done;
		sz = cont_size(k);
		r = recp(w, log->tail, log->off);
		memset(r, 0, KVW_REC);
		r->salt = log->salt;
		r->size = (uint16_t)sz;
		r->op = KVW_OP_CONT;
		r->k = (uint16_t)k;
		memcpy(r + 1, v->names + done, 8 * (size_t)k);
		rec_seal(w, r);
		log->off += (uint32_t)sz;
		log->used += sz;
		*bytes += (uint32_t)sz;
		done += k;
	}
}

static void
log_del(struct kv_index *w, struct kvw_log *log, const void *key,
	uint16_t key_len, const uint32_t *fresh)
{
	size_t sz = del_size(key_len);
	struct kvw_rec *r;

	if (sz > room(w, log->off))
		log_link(w, log, fresh[0]);
	r = recp(w, log->tail, log->off);
	memset(r, 0, sz);
	r->salt = log->salt;
	r->size = (uint16_t)sz;
	r->op = KVW_OP_DEL;
	r->key_len = key_len;
	memcpy(r + 1, key, key_len);
	rec_seal(w, r);
	log->off += (uint32_t)sz;
	log->used += sz;
}

/* Buffers for one append: a small array, or a larger one on the heap. */
struct fresh {
	uint32_t *v;
	uint32_t small[8];
};

static void
fresh_fini(struct fresh *f)
{
	if (f->v != f->small)
		free(f->v);
	f->v = NULL;
}

/* Take @n buffers (lent), or none. */
static int
take_n(struct kv_index *w, struct fresh *f, unsigned int n)
{
	unsigned int i;
	int ret;

	f->v = f->small;
	if (n > sizeof(f->small) / sizeof(f->small[0])) {
		f->v = malloc(n * sizeof(*f->v));
		if (f->v == NULL)
			return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		ret = kvi_take(w->pool, &w->referenced, &f->v[i]);
		if (ret != 0) {
			while (i-- > 0)
				pst_pool_release(w->pool, f->v[i]);
			fresh_fini(f);
			return ret;
		}
	}
	return 0;
}

static int
reserve_bufs(struct kvw_log *log, unsigned int more)
{
	while (log->bufs.cap < log->bufs.n + more) {
		size_t cap = log->bufs.cap ? log->bufs.cap * 2 : 64;
		uint32_t *v = realloc(log->bufs.v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		log->bufs.v = v;
		log->bufs.cap = cap;
	}
	return 0;
}

/* ---- switching chains (compaction, flushall) ---------------------------- */

/* Release the buffers of a chain that is no longer the root's. */
static void
chain_release(struct kv_index *w, struct kvi_vec *bufs)
{
	size_t i;

	for (i = 0; i < bufs->n; i++)
		kvi_release(w->pool, &w->referenced, bufs->v[i]);
	kvi_vec_fini(bufs);
}

/* Write the live entries (all, or none) into a fresh chain and make it the
 * root: persist the chain, set the root slot, drain, release the old chain.
 * On failure nothing changes (the fresh buffers are released). */
static int
chain_rewrite(struct kv_index *w, int with_entries)
{
	struct kvw_log nl;
	struct { uint32_t buf; uint16_t off; } *loc = NULL;
	struct fresh fresh;
	uint32_t first;
	size_t i, j;
	int ret, set;

	if (with_entries && w->count > 0) {
		loc = malloc(w->count * sizeof(*loc));
		if (loc == NULL)
			return -ENOMEM;
	}
	ret = kvi_take(w->pool, &w->referenced, &first);
	if (ret != 0) {
		free(loc);
		return ret;
	}
	memset(&nl, 0, sizeof(nl));
	if (reserve_bufs(&nl, 1) != 0) {
		pst_pool_release(w->pool, first);
		free(loc);
		return -ENOMEM;
	}
	log_start(w, &nl, first);
	for (i = 0, j = 0; with_entries && i < w->cap; i++) {
		const struct kvw_slot *s = &w->tab[i];
		const struct kv_value *v;
		unsigned int need;
		uint32_t bytes;

		if (!slot_used(s))
			continue;
		v = slot_value(w, s);
		need = plan_put(w, nl.off, s->key_len, v->n);
		ret = reserve_bufs(&nl, need);
		if (ret == 0)
			ret = take_n(w, &fresh, need);
		if (ret != 0)
			goto fail;
		log_put(w, &nl, slot_key(w, s), s->key_len, v, fresh.v,
			&loc[j].buf, &loc[j].off, &bytes);
		fresh_fini(&fresh);
		j++;
	}
	ret = pst_pool_drain(w->pool);
	if (ret == 0)
		ret = pst_pool_root_set(w->pool, KV_ROOT_WAL, whole(w, first));
	if (ret != 0)
		goto fail; /* the root still names the old chain */
	/* The root names the new chain (durable after this drain). */
	set = pst_pool_drain(w->pool) == 0;
	/* Repoint the entries, drop the old chain. */
	for (i = 0, j = 0; with_entries && i < w->cap; i++) {
		if (!slot_used(&w->tab[i]))
			continue;
		w->tab[i].buf = loc[j].buf;
		w->tab[i].off = loc[j].off;
		j++;
	}
	free(loc);
	if (set)
		chain_release(w, &w->log.bufs);
	else
		kvi_vec_fini(&w->log.bufs); /* kept until reconciliation */
	w->log = nl;
	w->compactions++;
	return 0;
fail:
	for (i = 0; i < nl.bufs.n; i++)
		kvi_release(w->pool, &w->referenced, nl.bufs.v[i]);
	kvi_vec_fini(&nl.bufs);
	free(loc);
	return ret;
}

static void
maybe_compact(struct kv_index *w)
{
	size_t n = w->log.bufs.n;

	uint64_t est;

	/* A rewrite drains and makes every live entry durable: never with
	 * a unit's entries uncommitted. unit_end() calls again. */
	if (w->unit.open)
		return;
	if (n < KVW_COMPACT_MIN_BUFS || n < w->compact_retry_at ||
	    w->log.used <= 2 * w->live_bytes)
		return;
	/* Records fill buffers at least half (they never straddle): the new
	 * chain needs at most this many, and deletes still find a buffer. */
	est = 2 * (w->live_bytes / room(w, KVW_HDR) + 1) + KVW_RESERVE;
	if (kvi_free_bufs(w->pool) < est || chain_rewrite(w, 1) != 0) {
		/* Pool too full to rewrite: try again after some growth. */
		w->compact_retry_at = n + (n / 4 > 16 ? n / 4 : 16);
		return;
	}
	w->compact_retry_at = 0;
}

/* ---- units ------------------------------------------------------------------ */

/* Append a record of only a header and @body (BEGIN, COMMIT), linking a
 * fresh buffer first when the tail has no room left. */
static int
log_small(struct kv_index *w, uint8_t op, const void *body, size_t body_len)
{
	size_t sz = KVW_REC + body_len;
	struct kvw_rec *r;
	uint32_t next;
	int ret;

	if (sz > room(w, w->log.off)) {
		ret = reserve_bufs(&w->log, 1);
		if (ret == 0)
			ret = kvi_take(w->pool, &w->referenced, &next);
		if (ret != 0)
			return ret;
		log_link(w, &w->log, next);
	}
	r = recp(w, w->log.tail, w->log.off);
	memset(r, 0, sz);
	r->salt = w->log.salt;
	r->size = (uint16_t)sz;
	r->op = op;
	if (body_len > 0) /* BEGIN has no body: NULL */
		memcpy(r + 1, body, body_len);
	rec_seal(w, r);
	w->log.off += (uint32_t)sz;
	w->log.used += sz;
	return 0;
}

/* unit_touch() past its common case: the unit's first write, or the
 * undo notes grow. */
static __attribute__((noinline)) int
unit_touch_slow(struct kv_index *w)
{
	struct kvw_unit *u = &w->unit;
	int ret;

	if (u->n == u->cap) {
		size_t cap = u->cap ? 2 * u->cap : 16;
		struct kvw_undo *v = realloc(u->undo, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		u->undo = v;
		u->cap = cap;
	}
	if (u->begun)
		return 0;
	u->tail = w->log.tail;
	u->off = w->log.off;
	u->salt = w->log.salt;
	u->seq = w->log.seq;
	u->used = w->log.used;
	u->nbufs = w->log.bufs.n;
	ret = log_small(w, KVW_OP_BEGIN, NULL, 0);
	if (ret != 0)
		return ret;
	u->begun = 1;
	u->nrec = 0;
	u->crcs = 0;
	return 0;
}

/* Before a put/del of the open unit writes: the unit's BEGIN (at its
 * first write only: a unit that writes nothing leaves no record), and
 * room to note what to undo. */
static inline int
unit_touch(struct kv_index *w)
{
	if (w->unit.begun && w->unit.n < w->unit.cap)
		return 0;
	return unit_touch_slow(w);
}

/* A put/del of the open unit is about to change the key's slot @s (NULL:
 * the key had none; its dram value moves here). @key lies in the unit's
 * record. */
static void
unit_note(struct kv_index *w, const uint8_t *key, uint16_t key_len, uint32_t h,
	  struct kvw_slot *s)
{
	struct kvw_undo *u;

	if (!w->unit.open)
		return;
	u = &w->unit.undo[w->unit.n++]; /* room made by unit_touch() */
	u->key = key;
	u->hash = h;
	u->key_len = key_len;
	u->had = s != NULL;
	if (s != NULL) {
		u->old = *s;
		s->dram = NULL;
		w->unit.n_had++;
	}
}

static void
unit_undo_one(struct kv_index *w, struct kvw_undo *u)
{
	struct kvw_slot *s = tab_find(w, u->key, u->key_len, u->hash);
	const struct kv_value *v;
	uint16_t k;

	if (s != NULL) {
		free(s->dram);
		s->dram = NULL;
		if (u->had) {
			s->buf = u->old.buf;
			s->off = u->old.off;
			s->bytes = u->old.bytes;
			s->dram = u->old.dram;
		} else {
			tab_remove(w, s);
		}
	} else if (u->had) {
		/* Deleted by the unit: back in (the table held it before). */
		tab_place(w->tab, w->cap, &u->old);
		w->count++;
	}
	if (u->had) {
		v = u->old.dram != NULL ? u->old.dram :
					  put_value(recp(w, u->old.buf, u->old.off));
		for (k = 0; k < v->n; k++)
			kvi_referenced_add(&w->referenced, pst_name_index(v->names[k]));
	}
	u->had = 0;
}

/* Forget the unit's records on media: zero them from BEGIN on and drain
 * before the log goes on there (as clear_tail() does after a crash: a
 * stale record of the unit must never be read behind new ones), then
 * release the buffers the unit linked. */
static int
unit_rewind(struct kv_index *w)
{
	struct kvw_unit *u = &w->unit;
	uint8_t *b = bufp(w, u->tail);
	size_t end = w->log.bufs.n == u->nbufs ? w->log.off : w->buf_size, i;
	int ret;

	memset(b + u->off, 0, end - u->off);
	pst_pool_flush(w->pool, b + u->off, end - u->off);
	ret = pst_pool_drain(w->pool);
	if (ret != 0) {
		w->broken = 1;
		return ret;
	}
	for (i = u->nbufs; i < w->log.bufs.n; i++)
		kvi_release(w->pool, &w->referenced, w->log.bufs.v[i]);
	w->log.bufs.n = u->nbufs;
	w->log.tail = u->tail;
	w->log.off = u->off;
	w->log.salt = u->salt;
	w->log.seq = u->seq;
	w->log.used = u->used;
	return 0;
}

static int
wal_unit_begin(struct kv_index *w)
{
	if (w == NULL)
		return -EINVAL;
	if (w->unit.open)
		return -EBUSY;
	if (w->broken)
		return -EIO;
	w->unit.open = 1;
	w->unit.begun = 0;
	w->unit.n = 0;
	w->unit.n_had = 0;
	w->unit.live_bytes = w->live_bytes;
	return 0;
}

static int
wal_unit_abort(struct kv_index *w)
{
	struct kvw_unit *u;
	size_t i;
	int ret = 0;

	if (w == NULL || !w->unit.open)
		return -EINVAL;
	u = &w->unit;
	for (i = u->n; i-- > 0;)
		unit_undo_one(w, &u->undo[i]);
	w->live_bytes = u->live_bytes;
	if (u->begun)
		ret = unit_rewind(w);
	u->open = 0;
	u->begun = 0;
	u->n = 0;
	u->n_had = 0;
	tab_maybe_shrink(w);
	return ret;
}

/* Flush the open unit's records, its COMMIT written: from its BEGIN (or
 * the END record that linked the buffer BEGIN went to) to the log's
 * end, one range per buffer of the chain. */
static void
unit_flush(struct kv_index *w)
{
	const struct kvw_unit *u = &w->unit;
	size_t i, from = u->off, end;

	for (i = u->nbufs - 1; i < w->log.bufs.n; i++) {
		end = i + 1 == w->log.bufs.n ? w->log.off : w->buf_size;
		pst_pool_flush(w->pool, bufp(w, w->log.bufs.v[i]) + from, end - from);
		from = KVW_HDR;
	}
}

static int
wal_unit_end(struct kv_index *w)
{
	struct kvw_unit *u;
	struct kvw_commit c;
	size_t i;
	int ret;

	if (w == NULL || !w->unit.open)
		return -EINVAL;
	u = &w->unit;
	if (u->begun) {
		c.nrec = u->nrec;
		c.crcs = u->crcs;
		ret = log_small(w, KVW_OP_COMMIT, &c, sizeof(c));
		if (ret != 0) {
			(void)wal_unit_abort(w);
			return ret;
		}
		unit_flush(w);
	}
	/* Committed: the values the unit replaced are gone for good. */
	for (i = 0; u->n_had > 0 && i < u->n; i++)
		if (u->undo[i].had)
			free(u->undo[i].old.dram);
	u->open = 0;
	u->begun = 0;
	u->n = 0;
	u->n_had = 0;
	tab_maybe_shrink(w);
	maybe_compact(w);
	return 0;
}

/* ---- operations ---------------------------------------------------------- */

static int
wal_put(struct kv_index *w, const void *key, uint16_t key_len,
	const struct kv_value *value, kv_value_fn on_old, void *arg)
{
	uint32_t at_buf, bytes, h;
	struct kv_value *dram = NULL;
	struct kvw_slot *s, *empty = NULL, ns;
	struct fresh fresh = { .v = fresh.small };
	unsigned int need;
	uint16_t at_off;
	size_t cap;
	int ret;

	if (w == NULL || kvi_check_key(key, key_len) != 0 ||
	    kvi_check_value(w->pool, value) != 0)
		return -EINVAL;
	if (w->broken)
		return -EIO;
	need = plan_put(w, w->log.off, key_len, value->n);
	if (kvi_free_bufs(w->pool) < need + KVW_RESERVE)
		return -ENOSPC;
	if (w->unit.open) {
		int begun = w->unit.begun;

		ret = unit_touch(w);
		if (ret != 0)
			return ret;
		/* Only the unit's first write appends its BEGIN, moving the
		 * tail the plan was made for. */
		if (!begun)
			need = plan_put(w, w->log.off, key_len, value->n);
	}
	h = key_hash(key, key_len);
	s = tab_find_put(w, key, key_len, h, &empty);
	cap = w->cap;
	if (s == NULL && tab_reserve(w, w->count + 1) != 0)
		return -ENOMEM;
	if (reserve_bufs(&w->log, need) != 0)
		return -ENOMEM;
	if (put_size(key_len, value->n) > room(w, KVW_HDR)) {
		/* Split over several records: get() needs a DRAM copy. */
		dram = kvi_value_new(value->len, value->crc, value->n);
		if (dram == NULL)
			return -ENOMEM;
		dram->deadline_ms = value->deadline_ms;
		memcpy(dram->names, value->names, 8 * (size_t)value->n);
	}
	/* Most puts fit in the log's tail buffer: no call for no buffers. */
	ret = need > 0 ? take_n(w, &fresh, need) : 0;
	if (ret != 0) {
		free(dram);
		return ret;
	}
	log_put(w, &w->log, key, key_len, value, fresh.v, &at_buf, &at_off,
		&bytes);
	fresh_fini(&fresh);
	if (s != NULL) {
		const struct kv_value *old = slot_value(w, s);

		if (on_old != NULL)
			on_old(arg, key, key_len, old);
		kvi_referenced_remove_value(&w->referenced, old);
		unit_note(w, put_key(recp(w, at_buf, at_off)), key_len, h, s);
		slot_replace(w, s, at_buf, at_off, bytes, dram);
	} else {
		unit_note(w, put_key(recp(w, at_buf, at_off)), key_len, h, NULL);
		ns = (struct kvw_slot){ .hash = h, .buf = at_buf, .off = at_off,
					.key_len = key_len, .bytes = bytes,
					.dram = dram };
		if (w->cap == cap)   /* the probe's end is still free */
			*empty = ns;
		else
			tab_place(w->tab, w->cap, &ns);
		w->count++;
	}
	w->live_bytes += bytes;
	maybe_compact(w);
	return 0;
}

static const struct kv_value *
wal_get(struct kv_index *w, const void *key, uint16_t key_len)
{
	const struct kvw_slot *s;

	if (w == NULL || kvi_check_key(key, key_len) != 0)
		return NULL;
	s = tab_find(w, key, key_len, key_hash(key, key_len));
	return s != NULL ? slot_value(w, s) : NULL;
}

static int
wal_del(struct kv_index *w, const void *key, uint16_t key_len,
	kv_value_fn on_old, void *arg)
{
	struct kvw_slot *s;
	struct fresh fresh;
	unsigned int need;
	uint32_t h;
	int ret;

	if (w == NULL || kvi_check_key(key, key_len) != 0)
		return -EINVAL;
	h = key_hash(key, key_len);
	s = tab_find(w, key, key_len, h);
	if (s == NULL)
		return 0;
	if (w->broken)
		return -EIO;
	if (w->unit.open) {
		ret = unit_touch(w);
		if (ret != 0)
			return ret;
	}
	need = plan_del(w, w->log.off, key_len);
	if (reserve_bufs(&w->log, need) != 0)
		return -ENOMEM;
	ret = take_n(w, &fresh, need);
	if (ret != 0)
		return ret;
	log_del(w, &w->log, key, key_len, fresh.v);
	fresh_fini(&fresh);
	if (on_old != NULL)
		on_old(arg, key, key_len, slot_value(w, s));
	kvi_referenced_remove_value(&w->referenced, slot_value(w, s));
	unit_note(w, (const uint8_t *)recp(w, w->log.tail,
					   w->log.off - (uint32_t)del_size(key_len)) + KVW_REC,
		  key_len, h, s);
	free(s->dram);
	w->live_bytes -= s->bytes;
	tab_remove(w, s);
	tab_maybe_shrink(w);
	maybe_compact(w);
	return 1;
}

static uint64_t
wal_count(const struct kv_index *w)
{
	return w != NULL ? w->count : 0;
}

static int
wal_flushall(struct kv_index *w, kv_value_fn on_old, void *arg)
{
	struct kvi_vec old;
	size_t i;
	int ret;

	if (w == NULL)
		return -EINVAL;
	if (w->unit.open)
		return -EBUSY; /* its new chain would be durable before the unit */
	if (w->broken)
		return -EIO;
	/* The new, empty chain becomes the root first; the old records (and
	 * the values they show) stay readable until it is released. */
	old = w->log.bufs;
	w->log.bufs = (struct kvi_vec){ 0 };
	ret = chain_rewrite(w, 0);
	if (ret != 0) {
		w->log.bufs = old;
		return ret;
	}
	for (i = 0; i < w->cap; i++) {
		struct kvw_slot *s = &w->tab[i];

		if (!slot_used(s))
			continue;
		if (on_old != NULL)
			on_old(arg, slot_key(w, s), s->key_len, slot_value(w, s));
		kvi_referenced_remove_value(&w->referenced, slot_value(w, s));
		free(s->dram);
	}
	memset(w->tab, 0, w->cap * sizeof(*w->tab));
	w->count = 0;
	w->live_bytes = 0;
	tab_maybe_shrink(w);
	chain_release(w, &old);
	return 0;
}

static uint64_t
wal_own_bytes(const struct kv_index *w)
{
	return w != NULL ? (uint64_t)w->log.bufs.n * w->buf_size : 0;
}

static void
wal_close(struct kv_index *w)
{
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->cap; i++)
		free(w->tab[i].dram);
	for (i = 0; i < w->unit.n; i++)
		if (w->unit.undo[i].had)
			free(w->unit.undo[i].old.dram);
	free(w->unit.undo);
	free(w->tab);
	kvi_vec_fini(&w->log.bufs);
	kvi_referenced_fini(&w->referenced);
	free(w);
}

/* ---- recovery ------------------------------------------------------------- */

static int
hdr_valid(const struct kv_index *w, uint32_t index, uint64_t chain,
	  uint64_t seq, uint32_t salt, int any_chain)
{
	const struct kvw_bufhdr *h;

	if (index >= w->buf_count)
		return 0;
	h = (const struct kvw_bufhdr *)bufp(w, index);
	return memcmp(h->magic, KVW_MAGIC, sizeof(h->magic)) == 0 &&
	       h->crc == pst_crc32c(h, offsetof(struct kvw_bufhdr, crc)) &&
	       h->seq == seq && (any_chain || h->chain == chain) &&
	       (any_chain || h->salt == salt) && h->salt != 0;
}

/* 1 if the record at @off of the tail buffer is whole and well formed. */
static int
rec_valid(const struct kv_index *w, const struct kvw_log *log, uint32_t off)
{
	const struct kvw_rec *r;
	size_t lim;

	if (off + KVW_REC > w->buf_size)
		return 0;
	r = recp(w, log->tail, off);
	if (r->salt != log->salt || r->size < KVW_REC || r->size % 8 != 0 ||
	    (size_t)off + r->size > w->buf_size || r->flags != 0)
		return 0;
	lim = r->op == KVW_OP_END ? w->buf_size : w->buf_size - KVW_END_SIZE;
	if ((size_t)off + r->size > lim)
		return 0;
	switch (r->op) {
	case KVW_OP_PUT: {
		const struct kvw_val *v = (const struct kvw_val *)(r + 1);

		if (r->key_len > KV_KEY_MAX ||
		    r->size != put_size(r->key_len, r->k) ||
		    r->size < KVW_PUT_FIXED || r->k > v->n)
			return 0;
		break;
	}
	case KVW_OP_CONT:
		if (r->k == 0 || r->size != cont_size(r->k))
			return 0;
		break;
	case KVW_OP_DEL:
		if (r->key_len > KV_KEY_MAX ||
		    r->size != del_size(r->key_len))
			return 0;
		break;
	case KVW_OP_END:
		if (r->size != KVW_END_SIZE)
			return 0;
		break;
	case KVW_OP_BEGIN:
		if (r->size != KVW_BEGIN_SIZE)
			return 0;
		break;
	case KVW_OP_COMMIT:
		if (r->size != KVW_COMMIT_SIZE)
			return 0;
		break;
	default:
		return 0;
	}
	return r->crc == pst_crc32c((const uint8_t *)r + 4, r->size - 4u);
}

/* Replay state: a PUT whose CONT records are still to come. */
struct pend {
	int active;
	uint32_t buf;
	size_t pos;               /* of buf in the chain */
	uint16_t off;
	uint32_t bytes;
	uint32_t have;
	struct kv_value *v;
};

static int
apply_put(struct kv_index *w, uint32_t buf, uint16_t off, uint32_t bytes,
	  struct kv_value *dram)
{
	const struct kvw_rec *r = recp(w, buf, off);
	uint32_t h = key_hash(put_key(r), r->key_len);
	struct kvw_slot *s = tab_find(w, put_key(r), r->key_len, h), ns;

	if (s != NULL) {
		slot_replace(w, s, buf, off, bytes, dram);
	} else {
		if (tab_reserve(w, w->count + 1) != 0) {
			free(dram);
			return -ENOMEM;
		}
		ns = (struct kvw_slot){ .hash = h, .buf = buf, .off = off,
					.key_len = r->key_len, .bytes = bytes,
					.dram = dram };
		tab_place(w->tab, w->cap, &ns);
		w->count++;
	}
	w->live_bytes += bytes;
	return 0;
}

static void
apply_del(struct kv_index *w, const struct kvw_rec *r)
{
	const uint8_t *key = (const uint8_t *)(r + 1);
	struct kvw_slot *s = tab_find(w, key, r->key_len,
				      key_hash(key, r->key_len));

	if (s == NULL)
		return;
	free(s->dram);
	w->live_bytes -= s->bytes;
	tab_remove(w, s);
}

static void
pend_drop(struct pend *p, uint64_t *torn)
{
	if (!p->active)
		return;
	free(p->v);
	memset(p, 0, sizeof(*p));
	(*torn)++;
}

/* Where a record sits in the chain: (position of its buffer, offset). */
struct kvw_pos {
	size_t pos;
	uint32_t off;
};

static int
pos_before(const struct kvw_pos *a, const struct kvw_pos *b)
{
	return a->pos < b->pos || (a->pos == b->pos && a->off < b->off);
}

/* The units a replay met: [BEGIN, COMMIT] positions of each committed
 * one, in log order, and the one still open where the log ended. */
struct kvw_units {
	struct kvw_pos *v;        /* pairs: v[2i] BEGIN, v[2i+1] COMMIT */
	size_t n, cap;            /* positions */
	int open;
	struct kvw_pos open_at;   /* the open unit's BEGIN */
	uint32_t nrec, crcs;
};

/* A BEGIN or COMMIT at @at. Returns 0, 1 when it does not fit the units
 * around it (the log is cut there), or -ENOMEM. */
static int
units_mark(struct kvw_units *us, const struct kvw_rec *r, struct kvw_pos at)
{
	const struct kvw_commit *c = (const struct kvw_commit *)(r + 1);

	if (r->op == KVW_OP_BEGIN) {
		if (us->open)
			return 1;
		us->open = 1;
		us->open_at = at;
		us->nrec = 0;
		us->crcs = 0;
		return 0;
	}
	if (!us->open || c->nrec != us->nrec || c->crcs != us->crcs)
		return 1;
	if (us->n + 2 > us->cap) {
		size_t cap = us->cap ? 2 * us->cap : 64;
		struct kvw_pos *v = realloc(us->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		us->v = v;
		us->cap = cap;
	}
	us->v[us->n++] = us->open_at;
	us->v[us->n++] = at;
	us->open = 0;
	return 0;
}

/* Move @at back to the BEGIN of the committed unit holding it, if any:
 * a unit falls back whole. */
static void
units_cover(const struct kvw_units *us, struct kvw_pos *at)
{
	size_t lo = 0, hi = us->n / 2;

	while (lo < hi) { /* the first unit whose COMMIT is not before @at */
		size_t mid = (lo + hi) / 2;

		if (pos_before(&us->v[2 * mid + 1], at))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < us->n / 2 && !pos_before(at, &us->v[2 * lo]))
		*at = us->v[2 * lo];
}

/* Replay the chain starting at buffer @first, stopping before the record
 * at @stop (stop->pos == SIZE_MAX: no stop). */
static int
replay(struct kv_index *w, uint32_t first, const struct kvw_pos *stop,
       uint64_t *torn, struct kvw_units *us)
{
	const struct kvw_bufhdr *h0;
	struct kvw_log *log = &w->log;
	struct pend p = { 0 };
	uint32_t off;
	int ret = 0;

	if (!hdr_valid(w, first, 0, 0, 0, 1))
		return -EIO; /* the root is set only once its chain is durable */
	h0 = (const struct kvw_bufhdr *)bufp(w, first);
	memset(log, 0, sizeof(*log));
	us->n = 0;
	us->open = 0;
	log->chain = h0->chain;
	log->salt = h0->salt;
	log->tail = first;
	if (kvi_vec_push(&log->bufs, first) != 0)
		return -ENOMEM;
	for (off = KVW_HDR;;) {
		const struct kvw_rec *r = recp(w, log->tail, off);

		if (log->bufs.n - 1 == stop->pos && off == stop->off)
			break;
		if (!rec_valid(w, log, off)) {
			if (off + KVW_REC <= w->buf_size && r->salt == log->salt)
				(*torn)++; /* one of ours, not whole */
			break;
		}
		if (r->op == KVW_OP_END) {
			const struct kvw_end *e = (const struct kvw_end *)(r + 1);

			if (!hdr_valid(w, e->next, log->chain, log->seq + 1,
				       e->next_salt, 0)) {
				(*torn)++; /* linked, but the header is not whole */
				break;
			}
			if (kvi_vec_push(&log->bufs, e->next) != 0) {
				ret = -ENOMEM;
				break;
			}
			log->tail = e->next;
			log->seq++;
			log->salt = e->next_salt;
			off = KVW_HDR;
			continue;
		}
		if (r->op == KVW_OP_BEGIN || r->op == KVW_OP_COMMIT) {
			struct kvw_pos at = { .pos = log->bufs.n - 1, .off = off };

			if (r->op == KVW_OP_BEGIN)
				pend_drop(&p, torn);
			ret = p.active ? 1 : units_mark(us, r, at);
			if (ret != 0) {
				if (ret > 0) {
					(*torn)++; /* cannot happen: CRC'd and in order */
					ret = 0;
				}
				break;
			}
			log->used += r->size;
			off += r->size;
			continue;
		}
		if (us->open) {
			us->nrec++;
			us->crcs = unit_crc(us->crcs, r->crc);
		}
		log->used += r->size;
		if (r->op == KVW_OP_CONT) {
			if (!p.active || p.have + r->k > p.v->n) {
				(*torn)++; /* cannot happen: CRC'd and in order */
				break;
			}
			memcpy(p.v->names + p.have, r + 1, 8 * (size_t)r->k);
			p.have += r->k;
			p.bytes += r->size;
			if (p.have == p.v->n) {
				ret = apply_put(w, p.buf, p.off, p.bytes, p.v);
				memset(&p, 0, sizeof(p));
				if (ret != 0)
					break;
			}
		} else {
			/* A PUT or DEL ends an unfinished split PUT: that one
			 * was cut by a crash (and the log went on after
			 * recovery); it never happened. */
			pend_drop(&p, torn);
			if (r->op == KVW_OP_DEL) {
				apply_del(w, r);
			} else {
				const struct kv_value *v = put_value(r);

				if (r->k == v->n) {
					ret = apply_put(w, log->tail,
							(uint16_t)off, r->size,
							NULL);
					if (ret != 0)
						break;
				} else {
					p.v = kvi_value_new(v->len, v->crc, v->n);
					if (p.v == NULL) {
						ret = -ENOMEM;
						break;
					}
					p.v->deadline_ms = v->deadline_ms;
					memcpy(p.v->names, v->names,
					       8 * (size_t)r->k);
					p.active = 1;
					p.buf = log->tail;
					p.pos = log->bufs.n - 1;
					p.off = (uint16_t)off;
					p.have = r->k;
					p.bytes = r->size;
				}
			}
		}
		off += r->size;
	}
	if (p.active && ret == 0) {
		/* The log ends inside a split PUT: cut it there, so that the
		 * next records follow the last whole entry. */
		const struct kvw_bufhdr *h =
			(const struct kvw_bufhdr *)bufp(w, p.buf);

		log->tail = p.buf;
		log->seq = h->seq;
		log->salt = h->salt;
		log->bufs.n = p.pos + 1;
		log->used -= p.bytes;
		off = p.off;
	}
	pend_drop(&p, torn);
	log->off = off;
	return ret;
}

/* Forget a replay: the table and the chain, to replay again. */
static void
replay_reset(struct kv_index *w)
{
	size_t i;

	for (i = 0; i < w->cap; i++)
		free(w->tab[i].dram);
	memset(w->tab, 0, w->cap * sizeof(*w->tab));
	w->count = 0;
	w->live_bytes = 0;
	kvi_vec_fini(&w->log.bufs);
}

/* The earliest PUT record (chain position, offset) of a live entry whose
 * value fails @check. Returns 1 and *at, or 0 when every value is whole. */
static int
first_cut_value(const struct kv_index *w, kv_check_fn check, void *arg,
		struct kvw_pos *at)
{
	int found = 0;
	size_t i, pos;

	for (i = 0; i < w->cap; i++) {
		const struct kvw_slot *s = &w->tab[i];

		if (!slot_used(s) ||
		    check(arg, slot_key(w, s), s->key_len, slot_value(w, s)))
			continue;
		for (pos = 0; w->log.bufs.v[pos] != s->buf; pos++)
			;
		if (!found || pos < at->pos || (pos == at->pos && s->off < at->off)) {
			at->pos = pos;
			at->off = s->off;
		}
		found = 1;
	}
	return found;
}

/* Replay, then while a live value is cut (its bytes were in the batch the
 * power loss interrupted), replay again up to just before the record that
 * wrote it: the state after a prefix of the operations, where each key has
 * the version before. Each round stops earlier, so this ends. */
static int
recover(struct kv_index *w, uint32_t first, kv_check_fn check, void *arg,
	uint64_t *torn, uint64_t *fallbacks)
{
	struct kvw_pos stop = { .pos = SIZE_MAX };
	struct kvw_units us = { 0 };
	uint64_t units_cut = 0;
	int ret;

	for (;;) {
		*torn = 0;
		ret = replay(w, first, &stop, torn, &us);
		if (ret != 0)
			break;
		if (us.open) {
			/* The log ends inside a unit: its COMMIT never made it,
			 * so none of it happened. Cut the log at its BEGIN. */
			stop = us.open_at;
			units_cut++;
		} else if (check != NULL && first_cut_value(w, check, arg, &stop)) {
			units_cover(&us, &stop);
			(*fallbacks)++;
		} else {
			break;
		}
		replay_reset(w);
	}
	*torn += units_cut;
	free(us.v);
	return ret;
}

/* Zero the tail buffer after the last whole record: what a crash left there
 * (records of an undrained batch) must never be read behind new records. */
static int
clear_tail(struct kv_index *w)
{
	uint8_t *b = bufp(w, w->log.tail);
	size_t off = w->log.off, i;

	for (i = off; i < w->buf_size; i++)
		if (b[i] != 0)
			break;
	if (i == w->buf_size)
		return 0;
	memset(b + off, 0, w->buf_size - off);
	pst_pool_flush(w->pool, b + off, w->buf_size - off);
	return pst_pool_drain(w->pool);
}

static int
wal_open(struct kv_index **out, struct pst_pool *pool, kv_value_fn on_value,
	 kv_owned_fn on_owned, kv_check_fn check, void *arg,
	 struct kv_index_report *report)
{
	struct pst_pool_info info;
	struct timespec t0;
	struct kv_index *w;
	uint64_t root, torn = 0, fallbacks = 0;
	size_t i;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (out == NULL || pool == NULL || pst_pool_info(pool, &info) != 0)
		return -EINVAL;
	if (info.buf_size < KVI_BUF_SIZE_MIN || info.buf_size % 64 != 0 ||
	    info.buf_count > UINT32_MAX)
		return -EINVAL;
	/* Before anything is read or written: a pool holding another
	 * index would be reconciled against this one and lose it all. */
	ret = pst_pool_root_claim(pool, KV_ROOT_WAL, KV_OWNER_APP, "wal");
	if (ret != 0)
		return ret;
	ret = kv_key_hash_init();
	if (ret != 0)
		return ret;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->pool = pool;
	w->bufs = info.bufs;
	w->buf_size = info.buf_size;
	w->buf_count = info.buf_count;
	w->rng = kvi_seed();
	w->cap = KV_HASHORDER_MIN_CAP;
	w->shift = kv_hashorder_shift(w->cap);
	w->tab = calloc(w->cap, sizeof(*w->tab));
	if (w->tab == NULL || kvi_referenced_init(&w->referenced, info.buf_count) != 0) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = pst_pool_root_get(pool, KV_ROOT_WAL, &root);
	if (ret != 0)
		goto fail;
	if (root == 0) {
		uint32_t first;

		ret = kvi_take(pool, &w->referenced, &first);
		if (ret != 0)
			goto fail;
		if (reserve_bufs(&w->log, 1) != 0) {
			pst_pool_release(pool, first);
			ret = -ENOMEM;
			goto fail;
		}
		log_start(w, &w->log, first);
		ret = pst_pool_drain(pool);
		if (ret == 0)
			ret = pst_pool_root_set(pool, KV_ROOT_WAL, whole(w, first));
		if (ret == 0)
			ret = pst_pool_drain(pool);
		if (ret != 0)
			goto fail;
	} else {
		if (!pst_pool_name_valid(pool, root) ||
		    pst_name_offset(root) != 0) {
			ret = -EIO;
			goto fail;
		}
		if (memcmp(bufp(w, pst_name_index(root)), KVW_MAGIC_V1,
			   sizeof(KVW_MAGIC_V1) - 1) == 0) {
			ret = -EPROTO; /* before deadlines: KV_INDEX_OLD_FORMAT */
			goto fail;
		}
		ret = recover(w, pst_name_index(root), check, arg, &torn,
			      &fallbacks);
		if (ret == 0)
			ret = clear_tail(w);
		if (ret != 0)
			goto fail;
	}
	/* Report, and remember what the recovered index references. */
	for (i = 0; i < w->log.bufs.n; i++) {
		kvi_referenced_add(&w->referenced, w->log.bufs.v[i]);
		if (on_owned != NULL)
			on_owned(arg, whole(w, w->log.bufs.v[i]));
	}
	for (i = 0; i < w->cap; i++) {
		const struct kvw_slot *s = &w->tab[i];
		const struct kv_value *v;
		uint16_t k;

		if (!slot_used(s))
			continue;
		v = slot_value(w, s);
		for (k = 0; k < v->n; k++)
			kvi_referenced_add(&w->referenced, pst_name_index(v->names[k]));
		if (on_value != NULL)
			on_value(arg, slot_key(w, s), s->key_len, v);
	}
	tab_maybe_shrink(w);  /* the log's deletes left it sparse */
	kvi_report_open(report, w->count, torn, fallbacks, wal_own_bytes(w), &t0);
	*out = w;
	return 0;
fail:
	wal_close(w);
	return ret;
}

/* ---- keyspace walks (KEYS; SCAN and RANDOMKEY) ---------------------------- */

/* Every used slot of the DRAM table: the keys are read in the log, but
 * for those @want declines by the hash the slot keeps (key_hash(): the
 * keyed hash's low 32 bits). Reading a key is a miss in the pool per key
 * (measured when SCAN walked every key: 345 ms a call over 100,000 keys
 * reading every one, against 46 ms for the btree's packed leaves). */
static int
wal_keys(struct kv_index *w, kv_key_want_fn want, kv_key_fn fn, void *arg)
{
	size_t i;

	if (w == NULL)
		return -EINVAL;
	for (i = 0; i < w->cap; i++) {
		const struct kvw_slot *s = &w->tab[i];

		if (slot_used(s) && (want == NULL || want(arg, s->hash)))
			fn(arg, slot_key(w, s), s->key_len);
	}
	return 0;
}

static int
wal_slot(const void *tab, size_t i, uint32_t *h32)
{
	const struct kvw_slot *s = (const struct kvw_slot *)tab + i;

	*h32 = s->hash;
	return slot_used(s);
}

struct wal_emit {
	struct kv_index *w;
	kv_key_fn fn;
	void *arg;
};

static void
wal_emit(void *arg, size_t i)
{
	struct wal_emit *e = arg;
	const struct kvw_slot *s = &e->w->tab[i];

	e->fn(e->arg, slot_key(e->w, s), s->key_len);
}

/* The table is hash-ordered: a SCAN step walks the slots of its range. */
static int
wal_scan(struct kv_index *w, uint64_t cursor, uint64_t count, kv_key_fn fn,
	 void *arg, uint64_t *next)
{
	struct wal_emit e = { w, fn, arg };

	if (w == NULL)
		return -EINVAL;
	kv_hashorder_scan(w->tab, w->cap, w->count, wal_slot, (uint32_t)(cursor >> 32), count,
			  wal_emit, &e, next);
	return 0;
}

static int
wal_random_key(struct kv_index *w, uint64_t seed, kv_key_fn fn, void *arg)
{
	long i;

	if (w == NULL)
		return -EINVAL;
	i = kv_hashorder_random(w->tab, w->cap, wal_slot, seed);
	if (i >= 0)
		fn(arg, slot_key(w, &w->tab[i]), w->tab[i].key_len);
	return 0;
}

const struct kv_index_ops kv_index_wal = {
	.name = "wal",
	.root_slot = KV_ROOT_WAL,
	.open = wal_open,
	.put = wal_put,
	.get = wal_get,
	.del = wal_del,
	.count = wal_count,
	.flushall = wal_flushall,
	.unit_begin = wal_unit_begin,
	.unit_end = wal_unit_end,
	.unit_abort = wal_unit_abort,
	.own_bytes = wal_own_bytes,
	.close = wal_close,
	.keys = wal_keys,
	.scan = wal_scan,
	.random_key = wal_random_key,
};
