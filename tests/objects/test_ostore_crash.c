/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Power loss under paste-objects's store (examples/objects/ostore.c,
 * olog.c, mpstore.c), in-process, no EAL: the crash-image method of
 * tests/kvs/test_store_crash.c (doc/pool.md, "Crash images") applied to
 * the object commit.
 *
 * The medium: what survives is the state at the last completed drain plus
 * ANY subset of the 8-byte words stored since, flushed or not. The persist
 * hook keeps the drained image (flushed lines copied at each drain); a
 * crash image is that image plus a subset of the words where the live
 * mapping differs from it, taken at random flushes inside operations and
 * just before drains, the subset random (0, 25, 50, 90 or 100 %) or
 * adversarial (all but one data buffer's words; all but one data word;
 * only the log and the pool's records; everything but the log).
 *
 * The workload, as the server drives the store (a drain where its poll
 * drains, i.e. after a batch of 1..8 requests): PUTs of objects of 1..4
 * buffers (received as the stack does: taken, kept, written, flushed,
 * hashed), overwrites, DELETEs, CopyObject (the source's names shared),
 * multipart uploads created, parts uploaded (and uploaded again),
 * completed and aborted.
 *
 * Each image is recovered with obj_store_open and checked:
 *  - the pool verifies, and keeps exactly the log's buffers and those
 *    that live objects and parts name (no buffer leaked);
 *  - every object is whole: the MD5 of its bytes is the one its version
 *    was sent with, its size and ETag are that version's;
 *  - the state (every key's version, every unfinished upload's parts) is
 *    the one after a prefix of the operations holding every acknowledged
 *    one (drained before the cut): each object at the version last
 *    acknowledged or a newer one whose record was in flight, never a
 *    partial one, never an older one; a part listed only if its record
 *    persisted, with its bytes;
 *  - a second recovery of the same file finds the same state, with no
 *    fallback and nothing to release;
 *  - the power cut once more at a random flush or drain of the first
 *    recovery (the log's cut, a fallback's, the reconciliation): that
 *    image too recovers whole to a prefix.
 * The drained mark (the log position whose records and bytes recovery
 * need not hash again): the store advances it after drains, and the power
 * may fail at its store's flush or before the drain that follows, the
 * image keeping the old mark or the new. Each recovery's mark must claim
 * no record the last completed drain did not cover (the objects after it
 * are then hashed and checked whole as above); images that cut a mark's
 * store, and keep it or not, are counted and must both occur; the
 * second recovery of an image (its first left the mark at the log's end)
 * hashes nothing.
 * Compactions (examples/objects/compact.c) run every few dozen operations
 * (2 log buffers at least, half dead), after drains and before
 * operations as the server runs them; the power fails at their flushes
 * (one in eight) and before their drains, and such an image must recover
 * the old log or the new one, never a mix (whichever, the state checks
 * above hold), the new one's mark claiming its records or ignored, a mark
 * naming the other chain ignored; both outcomes must occur.
 * Images with an object commit undrained (a PUT, copy or completion in the
 * cut batch) that keep part of the words stored since the drain, so that
 * the commit's data and record are cut between their first and last line,
 * are counted ("commit cuts") and must be hundreds.
 * OBJ_CRASH_SEED picks the seed, OBJ_CRASH_IMAGES the image count
 * (default 1500; else KVS_CRASH_IMAGES, as scripts/test.sh --crash-images=N
 * sets it).
 */
#include "../unit/pst_test_util.h"

#include <inttypes.h>

#include "persist.h"

#include "compact.h"
#include "etag.h"
#include "mpstore.h"
#include "olog.h"
#include "ostore.h"

#define BUF 2176u
#define SEG 1448u               /* a full segment's payload */
#define NBUFS 1024u
#define NKEYS 12u
#define NUPL 24u                /* uploads per run */
#define NPARTS 4u
#define MAXOPS 1536u
#define MAXVER 4096u

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

enum mode {
	M_RANDOM,
	M_ALL_BUT_ONE_BUF,      /* every new word but those of one data buffer */
	M_ALL_BUT_ONE_WORD,     /* every new word but one data word */
	M_LOG_ONLY,             /* the log's buffers and the pool's records only */
	M_NO_LOG,               /* everything but the log's buffers */
	M_COUNT
};

static const char *const mode_names[M_COUNT] = {
	"random", "all-but-one-data-buffer", "all-but-one-data-word", "log-only", "no-log",
};

enum op_kind { OP_PUT = 1, OP_DEL, OP_COPY, OP_MPU_CREATE, OP_MPU_PART, OP_MPU_DONE,
	       OP_MPU_ABORT };

struct op {
	uint8_t kind;
	uint32_t key;           /* PUT, DEL, COPY (destination), DONE */
	uint32_t ver;           /* PUT, COPY, DONE: the version; PART: the part's */
	uint32_t upl, part;     /* multipart: upload slot, part number */
};

/* What the model knows of a version (object or part) by its id. */
struct ver {
	uint64_t size;
	uint8_t bytes_md5[16];  /* MD5 of its bytes */
	uint8_t md5[16];        /* as recorded: the bytes' or the parts' MD5s' */
	uint32_t parts;
	uint32_t canon;         /* the first version with the same record and bytes */
};

/* The state after a prefix: each key's version, each upload's parts. */
struct state {
	uint32_t key[NKEYS];
	uint8_t open[NUPL];
	uint32_t part[NUPL][NPARTS + 1];
};

struct medium {
	uint8_t *base;
	size_t len, bufs_off, bufs_len;
	uint8_t *drained, *cap;
	size_t (*pend)[2];
	size_t n_pend, cap_pend;
	uint8_t kind[NBUFS];    /* 1: data, 2: log */
	const struct obj_log *log;
	const struct obj_store *st;     /* the live one, for its compaction */
	int captured, armed, in_mark;
	struct pst_pool *pool;          /* the live one, for its mark */
	uint64_t drained_seq;           /* the log's records at the last drain */
	uint64_t mark_drained;          /* the mark slot then */
	uint64_t cap_seq, cap_mark;     /* at the capture: drained_seq, the live mark */
	uint64_t cap_mark_drained;      /* and mark_drained (a compaction may drain
	                                 * again before the image is checked) */
	enum mode cap_mode;
	/* A compaction under way at the capture: the chains' first buffers,
	 * and the new one's end (its records all drained before the switch). */
	int cap_compact;
	uint32_t cap_old_first, cap_new_first;
	uint64_t cap_new_seq;
	uint32_t cap_lo, cap_hi, every;
	int cap_partial, cap_commit;
	uint64_t rs;
	struct op ops[MAXOPS];
	uint32_t n_ops, acked, in_flight;
	struct ver vers[MAXVER];
	uint32_t n_vers;
	uint64_t upl_id[NUPL];
	/* counts */
	uint64_t images, by_mode[M_COUNT], objects_checked, parts_checked, past_acked,
		 at_acked, commit_cuts, commit_taken, commit_dropped, fallbacks,
		 recovery_images, marked_images, mark_cuts, mark_taken, mark_dropped,
		 hashed_bytes, skipped_records, compactions, compact_cuts, compact_old,
		 compact_new, compact_mark_ignored;
	/* Compactions spread over polls: those of more than one slice, the
	 * records requests reflected into their chains, and the images cut
	 * while one was under way between slices or in one. */
	uint64_t sliced, reflected, slice_cuts, seen_compactions;
};

static size_t
buf_of(const struct medium *m, size_t off)
{
	return off >= m->bufs_off && off < m->bufs_off + m->bufs_len ?
	       (off - m->bufs_off) / BUF : SIZE_MAX;
}

static int
is_commit(uint8_t kind)
{
	return kind == OP_PUT || kind == OP_COPY || kind == OP_MPU_DONE;
}

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
	for (w = 0; m->log != NULL && w < m->log->n_bufs; w++)
		m->kind[m->log->bufs[w]] = 2;
	m->cap_compact = m->st != NULL && m->st->compacting != NULL;
	m->slice_cuts += m->st != NULL && m->st->compact_run != NULL;
	if (m->cap_compact) {
		/* Both chains are the log to the adversarial modes. */
		for (w = 0; w < m->st->compacting->n_bufs; w++)
			m->kind[m->st->compacting->bufs[w]] = 2;
		for (w = 0; w < m->st->compact_old->n_bufs; w++)
			m->kind[m->st->compact_old->bufs[w]] = 2;
		m->cap_new_first = m->st->compacting->bufs[0];
		m->cap_old_first = m->st->compact_old->bufs[0];
		m->cap_new_seq = m->st->compacting->seq;
	}
	memcpy(m->cap, m->drained, m->len);
	for (w = 0; w < words; w++) {
		size_t b = buf_of(m, w * 8);

		if (live[w] == old[w] || b == SIZE_MAX || m->kind[b] != 1)
			continue;
		seen++;
		if (m->cap_mode == M_ALL_BUT_ONE_BUF && rndu(&m->rs, seen) == 0)
			drop_buf = b;
		if (m->cap_mode == M_ALL_BUT_ONE_WORD && rndu(&m->rs, seen) == 0)
			drop_word = w;
	}
	for (w = 0; w < words; w++) {
		size_t b = buf_of(m, w * 8);
		int take, log = b != SIZE_MAX && m->kind[b] == 2;

		if (live[w] == old[w])
			continue;
		switch (m->cap_mode) {
		case M_RANDOM: take = rndu(&m->rs, 100) < p; break;
		case M_ALL_BUT_ONE_BUF: take = b != drop_buf; break;
		case M_ALL_BUT_ONE_WORD: take = w != drop_word; break;
		case M_LOG_ONLY: take = b == SIZE_MAX || log; break;
		default: take = !log; break;
		}
		changed++;
		if (take) {
			img[w] = live[w];
			taken++;
		}
	}
	tu_hw_end();
	m->captured = 1;
	m->cap_seq = m->drained_seq;
	m->cap_mark = m->cap_mark_drained = m->mark_drained;
	if (m->pool != NULL)
		assert_int_equal(pst_pool_root_get(m->pool, OBJ_STORE_MARK_SLOT, &m->cap_mark), 0);
	m->cap_lo = m->acked;
	m->cap_hi = m->n_ops;
	m->cap_partial = taken > 0 && taken < changed;
	m->cap_commit = 0;
	for (uint32_t i = m->cap_lo; i < m->cap_hi; i++)
		m->cap_commit |= is_commit(m->ops[i].kind);
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
	if (m->st != NULL && m->st->compacting != NULL) {
		/* A compaction: the power may fail at any of its flushes. */
		if (rndu(&m->rs, 8) == 0)
			capture(m);
	} else if ((m->in_flight && rndu(&m->rs, m->every) == 0) ||
		   (m->in_mark && rndu(&m->rs, 3) == 0)) {
		capture(m);
	}
}

static void
hook_drain(void *ctx)
{
	struct medium *m = ctx;

	/* The power may fail just before this drain completes. */
	if (rndu(&m->rs, m->every / 8 + 1) == 0)
		capture(m);
	tu_hw_begin(m->base + m->bufs_off, BUF, NBUFS);
	for (size_t i = 0; i < m->n_pend; i++)
		memcpy(m->drained + m->pend[i][0], m->base + m->pend[i][0],
		       m->pend[i][1] - m->pend[i][0]);
	tu_hw_end();
	m->n_pend = 0;
	m->acked = m->n_ops - m->in_flight;
	if (m->log != NULL)
		m->drained_seq = m->log->seq;
	if (m->pool != NULL)
		assert_int_equal(pst_pool_root_get(m->pool, OBJ_STORE_MARK_SLOT, &m->mark_drained),
				 0);
}

/* ---- the model ------------------------------------------------------------ */

static void
state_after(const struct medium *m, uint32_t n, struct state *s)
{
	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0; i < n; i++) {
		const struct op *o = &m->ops[i];

		switch (o->kind) {
		case OP_PUT:
		case OP_COPY:
		case OP_MPU_DONE:
			s->key[o->key] = m->vers[o->ver].canon;
			break;
		case OP_DEL:
			s->key[o->key] = 0;
			break;
		case OP_MPU_CREATE:
			s->open[o->upl] = 1;
			break;
		case OP_MPU_PART:
			s->part[o->upl][o->part] = m->vers[o->ver].canon;
			break;
		default:
			break;
		}
		if (o->kind == OP_MPU_DONE || o->kind == OP_MPU_ABORT) {
			s->open[o->upl] = 0;
			memset(s->part[o->upl], 0, sizeof(s->part[0]));
		}
	}
}

static void
key_of(char *k, uint32_t key)
{
	snprintf(k, 16, "obj/%04u", key);
}

/* MD5 of @n names' bytes. */
static void
names_md5(struct pst_pool *p, const pst_name *names, uint32_t n, uint64_t *size,
	  uint8_t out[16])
{
	struct obj_md5 c;

	assert_int_equal(obj_md5_init(&c), 0);
	*size = 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *a = pst_pool_name_to_addr(p, names[i]);

		assert_non_null(a);
		obj_md5_update(&c, a, pst_name_length(names[i]));
		*size += pst_name_length(names[i]);
	}
	obj_md5_final(&c, out);
}

/* The version id whose recorded MD5, size and bytes match @v, or 0. */
static uint32_t
match_ver(struct medium *m, struct pst_pool *p, const pst_name *names, uint32_t n,
	  uint64_t size, const uint8_t md5[16], uint32_t parts, const char *what)
{
	uint8_t got[16];
	uint64_t bytes;

	names_md5(p, names, n, &bytes, got);
	if (bytes != size)
		fail_msg("%s: %" PRIu64 " bytes named, %" PRIu64 " recorded (image %s)", what,
			 bytes, size, mode_names[m->cap_mode]);
	for (uint32_t id = 1; id < m->n_vers; id++) {
		const struct ver *x = &m->vers[id];

		if (x->size == size && x->parts == parts && memcmp(x->md5, md5, 16) == 0) {
			if (memcmp(x->bytes_md5, got, 16) != 0)
				fail_msg("%s: the record of version %u but not its bytes (a "
					 "partial object; image %s)", what, id,
					 mode_names[m->cap_mode]);
			return id;
		}
	}
	fail_msg("%s: a version never sent (image %s)", what, mode_names[m->cap_mode]);
	return 0;
}

/* The recovered state, every object and part checked whole, and the pool
 * keeping exactly what is named. */
static void
read_state(struct medium *m, struct obj_store *st, struct pst_pool *p, struct state *s)
{
	static uint8_t named[NBUFS];
	struct pst_pool_stats ps;
	uint64_t want_kept;
	char k[16], etag[OBJ_ETAG_MAX];

	memset(s, 0, sizeof(*s));
	memset(named, 0, sizeof(named));
	tu_assert_verify(p);
	for (uint32_t key = 0; key < NKEYS; key++) {
		struct obj_version *v;

		key_of(k, key);
		v = obj_store_get(st, "bkt", k, strlen(k));
		if (v == NULL)
			continue;
		s->key[key] = match_ver(m, p, v->names, v->n_names, v->size, v->md5, v->parts,
					"object");
		if (v->parts)
			obj_etag_parts(v->md5, v->parts, etag);
		else
			obj_etag_single(v->md5, etag);
		assert_string_equal(v->etag, etag);
		for (uint32_t i = 0; i < v->n_names; i++)
			named[pst_name_index(v->names[i])] = 1;
		m->objects_checked++;
	}
	{
		size_t live = 0;

		for (uint32_t key = 0; key < NKEYS; key++)
			live += s->key[key] != 0;
		assert_int_equal(st->n_objs, live);
	}
	for (size_t i = 0; i < st->mpu->n; i++) {
		const struct obj_mpu *u = st->mpu->u[i];
		uint32_t slot;

		for (slot = 0; slot < NUPL && m->upl_id[slot] != u->id; slot++)
			;
		if (slot == NUPL)
			fail_msg("an upload never created (image %s)", mode_names[m->cap_mode]);
		s->open[slot] = 1;
		for (uint32_t j = 0; j < u->n_parts; j++) {
			const struct obj_mpu_part *pt = &u->parts[j];

			assert_true(pt->number >= 1 && pt->number <= NPARTS);
			s->part[slot][pt->number] = match_ver(m, p, pt->names, pt->n_names,
							      pt->size, pt->md5, 0, "part");
			for (uint32_t q = 0; q < pt->n_names; q++)
				named[pst_name_index(pt->names[q])] = 1;
			m->parts_checked++;
		}
	}
	want_kept = st->log.n_bufs;
	for (uint32_t i = 0; i < NBUFS; i++)
		want_kept += named[i];
	tu_assert_rc(pst_pool_stats(p, &ps), 0);
	if (ps.kept != want_kept)
		fail_msg("the pool keeps %" PRIu64 " buffers, the log and the live objects "
			 "and parts name %" PRIu64 " (image %s)", ps.kept, want_kept,
			 mode_names[m->cap_mode]);
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

static void
check_prefix(struct medium *m, const struct state *got, int count)
{
	static struct state want;

	for (uint32_t n = m->cap_lo; n <= m->cap_hi; n++) {
		state_after(m, n, &want);
		if (memcmp(&want, got, sizeof(want)) == 0) {
			if (!count)
				return;
			if (n > m->cap_lo)
				m->past_acked++;
			else
				m->at_acked++;
			if (m->cap_commit && m->cap_partial) {
				m->commit_cuts++;
				m->commit_taken += n == m->cap_hi;
				m->commit_dropped += n < m->cap_hi;
			}
			return;
		}
	}
	state_after(m, m->cap_lo, &want);
	for (uint32_t k = 0; k < NKEYS; k++)
		if (want.key[k] != got->key[k])
			fail_msg("image (%s): key %u at version %u, acknowledged %u; no "
				 "prefix of ops %u..%u matches", mode_names[m->cap_mode], k,
				 got->key[k], want.key[k], m->cap_lo, m->cap_hi);
	fail_msg("image (%s): the uploads match no prefix of ops %u..%u",
		 mode_names[m->cap_mode], m->cap_lo, m->cap_hi);
}

/* The medium under a recovery: its own flushes and drains (the log's cut,
 * a fallback's cut, the reconciliation) may be cut by a second power loss
 * at a random one of them. */
struct rmedium {
	uint8_t *base, *drained, *cap;
	size_t len, bufs_off;
	size_t (*pend)[2];
	size_t n_pend, cap_pend;
	uint32_t every;
	int captured;
	uint64_t rs;
};

static void
rcapture(struct rmedium *r)
{
	const uint64_t *live = (const uint64_t *)r->base;
	uint64_t *img = (uint64_t *)r->cap;
	uint32_t p = rndu(&r->rs, 101);

	if (r->captured)
		return;
	memcpy(r->cap, r->drained, r->len);
	tu_hw_begin(r->base + r->bufs_off, BUF, NBUFS);
	for (size_t w = 0; w < r->len / 8; w++)
		if (live[w] != img[w] && rndu(&r->rs, 100) < p)
			img[w] = live[w];
	tu_hw_end();
	r->captured = 1;
}

static void
rhook_flush(void *ctx, const void *addr, size_t len)
{
	struct rmedium *r = ctx;
	size_t lo = (size_t)((const uint8_t *)addr - r->base) & ~(size_t)63;
	size_t hi = ((size_t)((const uint8_t *)addr - r->base) + len + 63) & ~(size_t)63;

	if (r->n_pend == r->cap_pend) {
		r->cap_pend = r->cap_pend ? r->cap_pend * 2 : 256;
		r->pend = realloc(r->pend, r->cap_pend * sizeof(*r->pend));
		assert_non_null(r->pend);
	}
	r->pend[r->n_pend][0] = lo;
	r->pend[r->n_pend][1] = hi < r->len ? hi : r->len;
	r->n_pend++;
	if (rndu(&r->rs, r->every) == 0)
		rcapture(r);
}

static void
rhook_drain(void *ctx)
{
	struct rmedium *r = ctx;

	if (rndu(&r->rs, r->every) == 0)
		rcapture(r);
	tu_hw_begin(r->base + r->bufs_off, BUF, NBUFS);
	for (size_t i = 0; i < r->n_pend; i++)
		memcpy(r->drained + r->pend[i][0], r->base + r->pend[i][0],
		       r->pend[i][1] - r->pend[i][0]);
	tu_hw_end();
	r->n_pend = 0;
}

/* Recover @path (the image @m->cap) with the power cut once more at a
 * random flush or drain of the recovery: that image must recover to a
 * prefix as well. */
static struct pst_pool *
recover_cut(struct medium *m, const char *path, struct obj_store *st)
{
	static struct rmedium r;      /* its buffers kept for the next image */
	static struct state got;
	struct pst_persist_hook hook = { .on_flush = rhook_flush, .on_drain = rhook_drain,
					 .ctx = &r };
	struct pst_pool *p = tu_must_open(path, PST_PERSIST_FLUSH), *p2;
	struct obj_store st2;
	char path2[PATH_MAX];

	/* One image in four: the hooked recovery costs copies of the mapping. */
	if (rndu(&m->rs, 4) != 0) {
		tu_assert_rc(obj_store_open(st, p), 0);
		return p;
	}
	if (r.drained == NULL) {        /* the same geometry in every run */
		r.drained = malloc(m->len);
		r.cap = malloc(m->len);
		assert_non_null(r.drained);
		assert_non_null(r.cap);
	}
	assert_true(r.len == 0 || r.len == m->len);
	r.base = tu_info(p).base;
	r.len = m->len;
	r.bufs_off = m->bufs_off;
	r.n_pend = 0;
	r.captured = 0;
	memcpy(r.drained, m->cap, m->len);
	r.rs = rnd(&m->rs);
	r.every = 1 + rndu(&m->rs, 4);
	pst_pool_set_persist_hook(p, &hook);
	tu_assert_rc(obj_store_open(st, p), 0);
	pst_pool_set_persist_hook(p, NULL);
	if (r.captured) {
		tu_path(path2, sizeof(path2), "ocrash-image-recovery");
		write_file(path2, r.cap, r.len);
		p2 = tu_must_open(path2, PST_PERSIST_FLUSH);
		tu_assert_rc(obj_store_open(&st2, p2), 0);
		read_state(m, &st2, p2, &got);
		check_prefix(m, &got, 0);
		obj_store_close(&st2);
		tu_close(p2);
		unlink(path2);
		m->recovery_images++;
	}
	return p;
}

/* Whether the recovered mark is @v, a value of the mark slot (0: none). */
static int
mark_is(const struct obj_store *st, uint64_t v)
{
	if (v == 0)
		return st->mark_at_open == 0;
	return v >> 32 == (uint64_t)st->log.bufs[0] + 1 &&
	       st->mark_at_open == st->log.base + (v & UINT32_MAX);
}

/* An image cut during a compaction recovers the old log or the new one,
 * never a mix (read_state and check_prefix then check the state: the same
 * either way); the new one's mark, if taken, claims its records, all
 * drained before the switch; a mark of the other chain is ignored. */
static int
check_compact(struct medium *m, const struct obj_store *st)
{
	uint32_t first = st->log.bufs[0];

	if (!m->cap_compact)
		return 0;
	m->compact_cuts++;
	if (first == m->cap_new_first) {
		m->compact_new++;
		if (st->mark_at_open != 0 && st->mark_at_open != m->cap_new_seq)
			fail_msg("image (%s) cut a compaction: the new log's mark claims %" PRIu64
				 " records, it has %" PRIu64, mode_names[m->cap_mode],
				 st->mark_at_open, m->cap_new_seq);
		m->compact_mark_ignored += st->mark_at_open == 0;
		return 1;
	}
	if (first != m->cap_old_first)
		fail_msg("image (%s) cut a compaction: the log recovered is neither chain",
			 mode_names[m->cap_mode]);
	m->compact_old++;
	return 0;
}

static void
check_image(struct medium *m)
{
	static struct state got, again;
	char path[PATH_MAX];
	struct obj_store st;
	struct pst_pool *p;

	tu_path(path, sizeof(path), "ocrash-image");
	write_file(path, m->cap, m->len);
	p = recover_cut(m, path, &st);
	m->fallbacks += st.fallbacks;
	/* The mark claims only records the last drain before the cut
	 * covered (the objects after it were hashed: read_state checks them
	 * all whole); a compaction's new log, checked on its own. */
	if (check_compact(m, &st))
		goto state;
	if (st.mark_at_open > m->cap_seq)
		fail_msg("image (%s): the mark claims %" PRIu64 " records, %" PRIu64 " were "
			 "drained", mode_names[m->cap_mode], st.mark_at_open, m->cap_seq);
	if (m->cap_mark != m->cap_mark_drained) {
		/* A mark stored since the last drain: kept by the image or not
		 * (a compaction's, naming the new chain: ignored by the old). */
		m->mark_cuts++;
		if (mark_is(&st, m->cap_mark))
			m->mark_taken++;
		else if (mark_is(&st, m->cap_mark_drained))
			m->mark_dropped++;
		else if (m->cap_compact && st.mark_at_open == 0)
			m->compact_mark_ignored++;
		else
			fail_msg("image (%s): mark %" PRIu64 ", neither the drained one (%#" PRIx64
				 ") nor the one stored since (%#" PRIx64 "); log from %u, base %"
				 PRIu64 "%s", mode_names[m->cap_mode], st.mark_at_open,
				 m->cap_mark_drained, m->cap_mark, st.log.bufs[0], st.log.base,
				 m->cap_compact ? ", a compaction cut" : "");
	}
state:
	m->marked_images += st.mark_at_open > 0;
	m->skipped_records += st.mark_at_open > st.log.base ? st.mark_at_open - st.log.base : 0;
	m->hashed_bytes += st.hashed_at_open;
	read_state(m, &st, p, &got);
	check_prefix(m, &got, 1);
	obj_store_close(&st);
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	tu_assert_rc(obj_store_open(&st, p), 0);
	assert_int_equal(st.released_at_start, 0);
	assert_int_equal(st.fallbacks, 0);
	assert_int_equal(st.hashed_at_open, 0);        /* the mark at the log's end */
	read_state(m, &st, p, &again);
	assert_memory_equal(&got, &again, sizeof(got));
	obj_store_close(&st);
	tu_close(p);
	unlink(path);
	m->images++;
	m->by_mode[m->cap_mode]++;
	m->captured = 0;
}

/* ---- the workload ---------------------------------------------------------- */

/* Version @id is complete: equal ones (empty bodies, copies of a
 * multipart object) are one to the checks. */
static void
ver_done(struct medium *m, uint32_t id)
{
	struct ver *x = &m->vers[id];

	x->canon = id;
	for (uint32_t i = 1; i < id; i++) {
		const struct ver *y = &m->vers[i];

		if (y->size == x->size && y->parts == x->parts && memcmp(y->md5, x->md5, 16) == 0 &&
		    memcmp(y->bytes_md5, x->bytes_md5, 16) == 0) {
			x->canon = i;
			break;
		}
	}
}

struct run {
	struct medium *m;
	struct obj_store st;
	struct pst_pool *p;
	char path[PATH_MAX];
	struct obj_mpu *upl[NUPL];
	uint32_t n_upl;
};

static uint8_t
pat(uint32_t id, uint64_t i)
{
	return (uint8_t)(id * 131u + i * 7u + (i >> 8));
}

/* Mark what each buffer holds now (what the adversarial modes aim at). */
static void
mark_bufs(struct run *r)
{
	struct obj_store *st = &r->st;

	memset(r->m->kind, 0, NBUFS);
	for (size_t i = 0; i < st->log.n_bufs; i++)
		r->m->kind[st->log.bufs[i]] = 2;
	for (size_t i = 0; i < st->n_objs; i++)
		for (uint32_t j = 0; j < st->objs[i].v->n_names; j++)
			r->m->kind[pst_name_index(st->objs[i].v->names[j])] = 1;
}

static void
op_begin(struct run *r, uint8_t kind, uint32_t key, uint32_t ver, uint32_t upl,
	 uint32_t part)
{
	assert_true(r->m->n_ops < MAXOPS);
	r->m->ops[r->m->n_ops++] = (struct op){ kind, key, ver, upl, part };
	r->m->in_flight = 1;
}

static void
op_end(struct run *r)
{
	r->m->in_flight = 0;
	if (r->m->captured)
		check_image(r->m);
	mark_bufs(r);
}

/* A body of @len bytes as the server receives one: segments of up to
 * 1,448 bytes, each in a buffer taken, kept, written, flushed and hashed;
 * the names referenced. Its version recorded in the model. */
static struct obj_version *
body(struct run *r, uint64_t len, uint32_t *ver)
{
	uint32_t n = (uint32_t)((len + SEG - 1) / SEG), id = r->m->n_vers++;
	struct obj_version *v = obj_version_new("text/x", 6, "md5chksum\0x\0", 12, n);
	struct ver *x = &r->m->vers[id];
	struct obj_md5 c;

	assert_true(id < MAXVER);
	assert_non_null(v);
	assert_int_equal(obj_md5_init(&c), 0);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t idx, take = len - (uint64_t)i * SEG < SEG ? (uint32_t)(len - (uint64_t)i * SEG)
								    : SEG;
		uint8_t *a;

		tu_assert_rc(pst_pool_take(r->p, &idx), 0);
		tu_assert_rc(pst_pool_keep(r->p, idx), 0);
		r->m->kind[idx] = 1;
		a = pst_pool_buf_addr(r->p, idx);
		for (uint32_t j = 0; j < take; j++)
			a[j] = pat(id, (uint64_t)i * SEG + j);
		pst_pool_flush(r->p, a, take);
		obj_md5_update(&c, a, take);
		v->names[v->n_names++] = pst_name_make(idx, 0, (uint16_t)take);
	}
	obj_md5_final(&c, v->md5);
	v->size = len;
	obj_store_ref_names(&r->st, v->names, v->n_names, 1);
	x->size = len;
	memcpy(x->bytes_md5, v->md5, 16);
	memcpy(x->md5, v->md5, 16);
	ver_done(r->m, id);
	*ver = id;
	return v;
}

static uint64_t
body_len(struct run *r)
{
	uint32_t c = rndu(&r->m->rs, 8);

	return c == 0 ? rndu(&r->m->rs, 16) : c < 5 ? 1 + rndu(&r->m->rs, SEG)
						      : 1 + rndu(&r->m->rs, 4 * SEG);
}

static void
do_put(struct run *r, uint32_t key)
{
	char k[16];
	uint32_t ver;
	struct obj_version *v;

	key_of(k, key);
	op_begin(r, OP_PUT, key, 0, 0, 0);
	v = body(r, body_len(r), &ver);
	r->m->ops[r->m->n_ops - 1].ver = ver;
	v->mtime = 1000;
	tu_assert_rc(obj_store_put(&r->st, "bkt", k, strlen(k), v), 0);
	op_end(r);
}

static void
do_del(struct run *r, uint32_t key)
{
	char k[16];

	key_of(k, key);
	op_begin(r, OP_DEL, key, 0, 0, 0);
	tu_assert_rc(obj_store_del(&r->st, "bkt", k, strlen(k)), 0);
	op_end(r);
}

/* CopyObject as ops.c does it: the source's names, one more reference. */
static void
do_copy(struct run *r, uint32_t from, uint32_t to)
{
	char kf[16], kt[16];
	struct obj_version *src, *v;
	struct state s;

	key_of(kf, from);
	key_of(kt, to);
	src = obj_store_get(&r->st, "bkt", kf, strlen(kf));
	if (src == NULL || from == to)
		return;
	state_after(r->m, r->m->n_ops, &s);
	op_begin(r, OP_COPY, to, s.key[from], 0, 0);
	v = obj_store_copy_version(&r->st, src, src->ctype, src->ctype_len, src->meta,
				   src->meta_len, 2000);
	assert_non_null(v);
	/* A multipart source's copy is a single object with its bytes' MD5. */
	if (src->parts != 0) {
		uint32_t id = r->m->n_vers++;

		assert_true(id < MAXVER);
		r->m->vers[id] = r->m->vers[s.key[from]];
		memcpy(r->m->vers[id].md5, r->m->vers[id].bytes_md5, 16);
		r->m->vers[id].parts = 0;
		ver_done(r->m, id);
		r->m->ops[r->m->n_ops - 1].ver = id;
	}
	tu_assert_rc(obj_store_put(&r->st, "bkt", kt, strlen(kt), v), 0);
	op_end(r);
}

static void
do_mpu_create(struct run *r, uint32_t key)
{
	char k[16];
	uint32_t slot = r->n_upl;

	if (slot == NUPL)
		return;
	key_of(k, key);
	op_begin(r, OP_MPU_CREATE, key, 0, slot, 0);
	tu_assert_rc(obj_mpu_create(&r->st, "bkt", k, strlen(k), "text/x", 6, "", 0, 1000,
				    &r->upl[slot]), 0);
	r->m->upl_id[slot] = r->upl[slot]->id;
	r->n_upl++;
	op_end(r);
}

/* An open upload at random, or NUPL. */
static uint32_t
open_upload(struct run *r)
{
	uint32_t n = 0, pick = NUPL;

	for (uint32_t i = 0; i < r->n_upl; i++)
		if (r->upl[i] != NULL && rndu(&r->m->rs, ++n) == 0)
			pick = i;
	return pick;
}

static void
do_mpu_part(struct run *r)
{
	uint32_t slot = open_upload(r), part = 1 + rndu(&r->m->rs, NPARTS), ver;
	struct obj_version *v;

	if (slot == NUPL)
		return;
	op_begin(r, OP_MPU_PART, 0, 0, slot, part);
	v = body(r, body_len(r), &ver);
	r->m->ops[r->m->n_ops - 1].ver = ver;
	tu_assert_rc(obj_mpu_part_put(&r->st, r->upl[slot], part, v, 1000), 0);
	obj_version_put(&r->st, v);
	op_end(r);
}

static void
do_mpu_end(struct run *r, int abort)
{
	uint32_t slot = open_upload(r), idx[NPARTS], n, id, key;
	struct obj_mpu *u;
	char etag[OBJ_ETAG_MAX];
	uint8_t md5s[NPARTS][16];
	struct obj_md5 c;
	struct state s;

	if (slot == NUPL)
		return;
	u = r->upl[slot];
	n = u->n_parts;
	for (key = 0; key < NKEYS; key++) {
		char k[16];

		key_of(k, key);
		if (strlen(k) == u->key_len && memcmp(k, u->key, u->key_len) == 0)
			break;
	}
	if (abort || n == 0) {
		op_begin(r, OP_MPU_ABORT, key, 0, slot, 0);
		tu_assert_rc(obj_mpu_abort(&r->st, u, 0), 0);
		r->upl[slot] = NULL;
		op_end(r);
		return;
	}
	/* Every part, in order: the object's bytes are theirs concatenated. */
	state_after(r->m, r->m->n_ops, &s);
	id = r->m->n_vers++;
	assert_true(id < MAXVER);
	assert_int_equal(obj_md5_init(&c), 0);
	r->m->vers[id].size = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct ver *pv = &r->m->vers[s.part[slot][u->parts[i].number]];

		idx[i] = i;
		memcpy(md5s[i], pv->md5, 16);
		r->m->vers[id].size += pv->size;
	}
	{
		/* The bytes' MD5: the parts' bytes in order. */
		struct obj_md5 b;

		assert_int_equal(obj_md5_init(&b), 0);
		for (uint32_t i = 0; i < n; i++)
			for (uint32_t q = 0; q < u->parts[i].n_names; q++) {
				tu_hw_begin(r->m->base + r->m->bufs_off, BUF, NBUFS);
				obj_md5_update(&b, pst_pool_name_to_addr(r->p, u->parts[i].names[q]),
					       pst_name_length(u->parts[i].names[q]));
				tu_hw_end();
			}
		obj_md5_final(&b, r->m->vers[id].bytes_md5);
	}
	for (uint32_t i = 0; i < n; i++)
		obj_md5_update(&c, md5s[i], 16);
	obj_md5_final(&c, r->m->vers[id].md5);
	r->m->vers[id].parts = n;
	ver_done(r->m, id);
	op_begin(r, OP_MPU_DONE, key, id, slot, 0);
	tu_assert_rc(obj_mpu_complete(&r->st, u, idx, n, 1000, etag), 0);
	r->upl[slot] = NULL;
	op_end(r);
}

/* A drain, then what the server does after one: the release of dropped
 * versions and the mark's advance (whose store the power may cut). */
/* obj_store_release_durable, which may run a slice of a compaction (or
 * all of one); the compactions of more than one slice counted. */
static void
release_durable(struct run *r)
{
	obj_store_release_durable(&r->st);
	if (r->st.compactions != r->m->seen_compactions) {
		r->m->seen_compactions = r->st.compactions;
		r->m->sliced += r->st.compact_slices_last > 1;
		r->m->reflected += r->st.compact_reflected_last;
	}
}

static void
do_drain(struct run *r)
{
	tu_assert_rc(pst_pool_drain(r->p), 0);
	r->m->in_mark = 1;
	release_durable(r);
	r->m->in_mark = 0;
	if (r->m->captured)
		check_image(r->m);
}

static void
run_start(struct run *r, struct medium *m, uint64_t seed)
{
	static struct pst_persist_hook hook;
	static unsigned int runs;
	struct pst_pool_info info;
	void *img = NULL;
	size_t len = 0;

	memset(r, 0, sizeof(*r));
	memset(m, 0, offsetof(struct medium, images));
	r->m = m;
	m->rs = seed;
	m->every = 60;
	m->n_vers = 1;
	tu_path(r->path, sizeof(r->path), "ocrash-live");
	r->p = tu_must_create(r->path, BUF, NBUFS, PST_PERSIST_FLUSH);
	tu_close(r->p);
	assert_int_equal(tu_read_file(r->path, &img, &len), 0);
	m->drained = img;
	m->len = len;
	m->cap = malloc(len);
	assert_non_null(m->cap);
	r->p = tu_must_open(r->path, PST_PERSIST_FLUSH);
	info = tu_info(r->p);
	m->base = info.base;
	m->bufs_off = (size_t)((uint8_t *)info.bufs - (uint8_t *)info.base);
	m->bufs_len = (size_t)BUF * NBUFS;
	hook = (struct pst_persist_hook){ .on_flush = hook_flush, .on_drain = hook_drain,
					  .ctx = m };
	pst_pool_set_persist_hook(r->p, &hook);
	tu_assert_rc(obj_store_open(&r->st, r->p), 0);
	m->log = &r->st.log;
	m->pool = r->p;
	m->st = &r->st;
	r->st.mpu->min_part = 1;
	/* Compactions every few dozen operations (at a dead share of 50 %):
	 * by turns spread over polls two records a slice (with requests
	 * between its slices), at once, and in slices of the default size
	 * (one here). */
	r->st.compact_min_bufs = 2;
	r->st.compact_slice = runs % 3 == 0 ? 2 : runs % 3 == 1 ? 0 : OBJ_COMPACT_SLICE_DEFAULT;
	runs++;
	m->seen_compactions = 0;
	tu_assert_rc(obj_store_bucket_add(&r->st, "bkt", 1), 0);
	do_drain(r);
	m->armed = 1;
}

static void
run_stop(struct run *r)
{
	r->m->armed = 0;
	r->m->pool = NULL;
	r->m->log = NULL;
	r->m->st = NULL;
	r->m->compactions += r->st.compactions;
	pst_pool_set_persist_hook(r->p, NULL);
	obj_store_close(&r->st);
	tu_close(r->p);
	unlink(r->path);
	free(r->m->drained);
	free(r->m->cap);
	free(r->m->pend);
	r->m->pend = NULL;
}

static void
run_workload(struct medium *m, uint64_t seed, uint64_t images)
{
	struct run r;
	struct pst_pool_levels lv;

	run_start(&r, m, seed);
	while (m->images < images && m->n_ops + 16 < MAXOPS && m->n_vers + 16 < MAXVER) {
		uint32_t n = 1 + rndu(&m->rs, 8);

		pst_pool_levels(r.p, &lv);
		if (lv.free < NBUFS / 4)
			break;          /* the log only grows: a fresh pool */
		for (uint32_t i = 0; i < n; i++) {
			uint32_t c = rndu(&m->rs, 100), key = rndu(&m->rs, NKEYS);

			/* As the server's process() does before each request:
			 * no drain since, so the mark must not move. */
			release_durable(&r);
			if (c < 40)
				do_put(&r, key);
			else if (c < 52)
				do_del(&r, key);
			else if (c < 64)
				do_copy(&r, rndu(&m->rs, NKEYS), key);
			else if (c < 70)
				do_mpu_create(&r, key);
			else if (c < 88)
				do_mpu_part(&r);
			else if (c < 96)
				do_mpu_end(&r, 0);
			else
				do_mpu_end(&r, 1);
		}
		do_drain(&r);
	}
	run_stop(&r);
}

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);

	return s != NULL && *s != '\0' ? strtoull(s, NULL, 0) : dflt;
}

static void
test_images(void **state)
{
	static struct medium m;
	uint64_t seed = env_u64("OBJ_CRASH_SEED", 20261207), s = seed;
	uint64_t want = env_u64("OBJ_CRASH_IMAGES", env_u64("KVS_CRASH_IMAGES", 1500));
	uint32_t run = 0;

	(void)state;
	memset(&m, 0, sizeof(m));
	printf("[ object crash images ] seed %" PRIu64 " images %" PRIu64 "\n", seed, want);
	alarm(600 + (unsigned int)(want / 20));
	while (m.images < want) {
		uint64_t before = m.images;

		run_workload(&m, rnd(&s), m.images + want / 4 + 1 < want ? m.images + want / 4 + 1
									: want);
		assert_true(m.images > before || run < 4);
		run++;
	}
	printf("[ object crash images ] seed %" PRIu64 ": %" PRIu64 " images (%u runs), "
	       "%" PRIu64 " objects and %" PRIu64 " parts checked whole; %" PRIu64
	       " at the acknowledged state, %" PRIu64 " past it\n", seed, m.images, run,
	       m.objects_checked, m.parts_checked, m.at_acked, m.past_acked);
	printf("[ object crash images ] %" PRIu64 " replays cut before a record whose bytes "
	       "were cut (fallbacks); %" PRIu64 " more images cut during a recovery\n",
	       m.fallbacks, m.recovery_images);
	printf("[ object crash images ] %" PRIu64 " images cut an object's commit (a PUT, "
	       "copy or completion undrained, part of the words stored since the drain "
	       "kept): %" PRIu64 " recovered every operation begun, %" PRIu64 " a shorter "
	       "prefix\n", m.commit_cuts, m.commit_taken, m.commit_dropped);
	printf("[ object crash images ] %" PRIu64 " recoveries found a drained mark "
	       "(%" PRIu64 " records not hashed again, %" PRIu64 " bytes hashed in all); %"
	       PRIu64 " images cut a mark's store: %" PRIu64 " kept it, %" PRIu64 " the one "
	       "before\n", m.marked_images, m.skipped_records, m.hashed_bytes, m.mark_cuts,
	       m.mark_taken, m.mark_dropped);
	printf("[ object crash images ] %" PRIu64 " compactions; %" PRIu64 " images cut one: "
	       "%" PRIu64 " recovered the old log, %" PRIu64 " the new one (%" PRIu64 " of them "
	       "or of the old with a mark of the other chain, ignored)\n", m.compactions,
	       m.compact_cuts, m.compact_old, m.compact_new, m.compact_mark_ignored);
	printf("[ object crash images ] %" PRIu64 " compactions spread over polls (%" PRIu64
	       " records reflected into their chains by requests between slices); %" PRIu64
	       " images cut while one was under way\n", m.sliced, m.reflected, m.slice_cuts);
	for (int i = 0; i < M_COUNT; i++)
		printf("[ object crash images ]   %-26s %" PRIu64 "\n", mode_names[i],
		       m.by_mode[i]);
	assert_true(m.past_acked > 0);
	assert_true(m.fallbacks > 0);
	assert_true(m.recovery_images > 0);
	assert_true(m.commit_cuts >= 200 && m.commit_cuts >= want / 5);
	assert_true(m.commit_dropped > 0 && m.commit_taken > 0);
	assert_true(m.marked_images > 0 && m.skipped_records > 0);
	assert_true(m.mark_taken > 0 && m.mark_dropped > 0);
	assert_true(m.compact_old > 0 && m.compact_new > 0);
	assert_true(m.compact_cuts >= want / 20);
	assert_true(m.sliced > 0 && m.reflected > 0 && m.slice_cuts >= want / 50);
}

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("ocrash");
}

static int
group_teardown(void **state)
{
	(void)state;
	return tu_group_teardown_common();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_images, tu_test_teardown),
	};

	return cmocka_run_group_tests_name("objects_crash_images", tests, group_setup,
					   group_teardown);
}
