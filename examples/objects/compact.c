/* SPDX-License-Identifier: BSD-3-Clause */
/* Compaction of the object log (compact.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compact.h"
#include "mpstore.h"

typedef int (*emit_fn)(void *arg, const struct obj_rec *r);

/* The records that rebuild bucket @i, object @i, upload @i (its creation
 * and its parts): what a compaction writes, item by item. A multipart
 * object stays a completion (its ETag is "<md5 of md5s>-N") with upload
 * id 0: no upload of the new chain precedes it, so it ends none. */
static int
emit_bucket(const struct obj_store *st, size_t i, emit_fn fn, void *arg)
{
	const struct obj_bucket *b = &st->buckets[i];
	struct obj_rec r = { .type = OBJ_REC_BUCKET_ADD, .time = b->created,
			     .bucket = b->name, .bucket_len = (uint16_t)strlen(b->name) };

	return fn(arg, &r);
}

static int
emit_object(const struct obj_store *st, size_t i, emit_fn fn, void *arg)
{
	const struct obj_entry *e = &st->objs[i];
	const struct obj_version *v = e->v;
	struct obj_rec r = {
		.type = v->parts != 0 ? OBJ_REC_MPU_DONE : OBJ_REC_PUT,
		.time = v->mtime, .size = v->size,
		.bucket = e->key, .bucket_len = e->bucket_len,
		.key = e->key + e->bucket_len + 1,
		.key_len = (uint16_t)(e->len - e->bucket_len - 1),
		.ctype = v->ctype, .ctype_len = v->ctype_len,
		.meta = v->meta, .meta_len = v->meta_len,
		.names = v->names, .n_names = v->n_names,
		.part = v->parts,
	};

	memcpy(r.md5, v->md5, 16);
	return fn(arg, &r);
}

static int
emit_upload(const struct obj_store *st, size_t i, emit_fn fn, void *arg)
{
	const struct obj_mpu *u = st->mpu->u[i];
	struct obj_rec r = {
		.type = OBJ_REC_MPU_CREATE, .time = u->initiated,
		.bucket = u->bucket, .bucket_len = (uint16_t)strlen(u->bucket),
		.key = u->key, .key_len = u->key_len,
		.ctype = u->ctype, .ctype_len = u->ctype_len,
		.meta = u->meta, .meta_len = u->meta_len,
		.upload_id = u->id,
	};
	uint32_t j;
	int ret = fn(arg, &r);

	for (j = 0; ret == 0 && j < u->n_parts; j++) {
		const struct obj_mpu_part *p = &u->parts[j];
		struct obj_rec pr = {
			.type = OBJ_REC_MPU_PART, .time = p->mtime, .size = p->size,
			.bucket = u->bucket, .bucket_len = r.bucket_len,
			.key = u->key, .key_len = u->key_len,
			.names = p->names, .n_names = p->n_names,
			.upload_id = u->id, .part = p->number,
		};

		memcpy(pr.md5, p->md5, 16);
		ret = fn(arg, &pr);
	}
	return ret;
}

/* Every record recovery needs to rebuild the store as it is now, in an
 * order a replay accepts: buckets before their objects, objects, then
 * the unfinished uploads, each creation before its parts. */
static int
each_live(const struct obj_store *st, emit_fn fn, void *arg)
{
	size_t i;
	int ret = 0;

	for (i = 0; ret == 0 && i < st->n_buckets; i++)
		ret = emit_bucket(st, i, fn, arg);
	for (i = 0; ret == 0 && i < st->n_objs; i++)
		ret = emit_object(st, i, fn, arg);
	for (i = 0; ret == 0 && st->mpu != NULL && i < st->mpu->n; i++)
		ret = emit_upload(st, i, fn, arg);
	return ret;
}

static int
count_fn(void *arg, const struct obj_rec *r)
{
	*(uint64_t *)arg += obj_log_rec_size(r);
	return 0;
}

static int
append_fn(void *arg, const struct obj_rec *r)
{
	return obj_log_append(arg, r);
}

uint64_t
obj_compact_live_bytes(const struct obj_store *st)
{
	uint64_t n = 0;

	(void)each_live(st, count_fn, &n);
	return n;
}

/* Log buffers @bytes of records take at most (they span buffers). */
static uint64_t
bufs_for(const struct obj_store *st, uint64_t bytes)
{
	return bytes / (st->buf_size - OBJ_LOG_BUF_HDR) + 2;
}

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* The switch to @nl, whose records rebuild the store as it is now (all
 * flushed): drained, the mark and the root slot stored and drained, the
 * old chain released, or, with @keep_old, handed there for the caller to
 * release (after that drain, named by no root slot any more). @return 0,
 * or a drain's or a root store's error (the log is the old one; @nl is
 * the caller's to release). */
static int
switch_to(struct obj_store *st, struct obj_log *nl, struct obj_log *keep_old)
{
	struct pst_pool_levels lv;
	struct obj_log old;
	uint64_t mark, mark_old = 0;
	int ret;

	st->compacting = nl;
	st->compact_old = &st->log;
	/* The new chain durable, and with it every byte its records name
	 * (flushed as it arrived, before this drain), whatever batch it
	 * came in. A crash until the switch recovers the old log, which
	 * holds the same state; the new chain's buffers are then kept but
	 * named by nothing, and the reconciliation frees them. */
	ret = pst_pool_drain(st->pool);
	if (ret != 0)
		return ret;
	/* The switch: the drained mark first, naming the new chain and all
	 * of its records (drained above), then the root slot; one drain
	 * makes both durable. A crash keeps any of the four pairs: the old
	 * root with either mark (the new one names another chain: ignored,
	 * so everything live is hashed), or the new root with the new mark
	 * (nothing hashed: all drained) or the old one (another chain's:
	 * ignored). Either log holds every acknowledged change. */
	(void)pst_pool_root_get(st->pool, OBJ_STORE_MARK_SLOT, &mark_old);
	mark = nl->seq - nl->base <= UINT32_MAX ?
	       ((uint64_t)nl->bufs[0] + 1) << 32 | (nl->seq - nl->base) : 0;
	ret = pst_pool_root_set(st->pool, OBJ_STORE_MARK_SLOT, mark);
	if (ret != 0)
		return ret;
	ret = pst_pool_root_set(st->pool, OBJ_STORE_ROOT_SLOT, (uint64_t)nl->bufs[0] + 1);
	if (ret != 0) {
		(void)pst_pool_root_set(st->pool, OBJ_STORE_MARK_SLOT, mark_old);
		return ret;
	}
	st->compact_recs_before = st->log.seq - st->log.base;
	st->compact_bufs_before = st->log.n_bufs;
	old = st->log;
	old.tee = NULL;
	st->log = *nl;
	st->log.stages = old.stages;
	memset(nl, 0, sizeof(*nl));
	st->compacting = &st->log;
	st->compact_old = &old;
	/* The old chain is released only once the switch is durable (and
	 * reusable only after the drain that makes the release durable).
	 * If this drain fails, the old chain stays kept: the next start's
	 * reconciliation frees whichever chain the root does not name. */
	if (pst_pool_drain(st->pool) != 0)
		obj_log_close(&old);
	else if (keep_old != NULL)
		*keep_old = old;
	else
		obj_log_release(&old);
	pst_pool_levels(st->pool, &lv);
	st->mark = st->mark_next = st->log.seq;
	st->mark_drains = lv.drains;
	st->compacting = st->compact_old = NULL;
	st->compactions++;
	st->compact_recs_after = st->log.seq - st->log.base;
	st->compact_bufs_after = st->log.n_bufs;
	return 0;
}

/* A compaction's pauses: @longest its longest, @work all of them. */
static void
note_pauses(struct obj_store *st, uint64_t longest, uint64_t work, uint64_t slices,
	    uint64_t reflected)
{
	st->compact_ns_last = longest;
	st->compact_ns_total += work;
	if (longest > st->compact_ns_max)
		st->compact_ns_max = longest;
	st->compact_work_ns_last = work;
	st->compact_slices_last = slices;
	st->compact_reflected_last = reflected;
}

int
obj_compact(struct obj_store *st)
{
	struct pst_pool_levels lv;
	struct obj_log nl;
	uint64_t t0 = now_ns(), live, ns;
	int ret;

	if (!st->mark_on)
		return -EINVAL;         /* only on an opened store */
	obj_compact_abandon(st);        /* one spread over polls: this replaces it */
	if (st->compacting != NULL)
		return -EINVAL;         /* not nested */
	live = obj_compact_live_bytes(st);
	pst_pool_levels(st->pool, &lv);
	if (lv.free < bufs_for(st, live)) {
		ret = -ENOBUFS;
		goto refused;
	}
	/* Numbered on from the old log: no record left in a reused buffer of
	 * an older chain has the number the new one expects there. */
	ret = obj_log_fresh(&nl, st->pool, OBJ_STORE_ROOT_SLOT, st->log.seq);
	if (ret != 0)
		goto refused;
	st->compacting = &nl;
	st->compact_old = &st->log;
	ret = each_live(st, append_fn, &nl);
	if (ret != 0)
		goto fail;
	ret = switch_to(st, &nl, NULL);
	if (ret != 0)
		goto fail;
	ns = now_ns() - t0;
	note_pauses(st, ns, ns, 1, 0);
	return 0;
fail:
	st->compacting = st->compact_old = NULL;
	obj_log_release(&nl);
refused:
	st->compact_failures++;
	return ret;
}

/* A compaction spread over polls. Its new chain is written in the order
 * each_live gives (buckets, objects, uploads: phases), a slice at a time,
 * from a cursor: the last item written. A request between slices appends
 * its record to the log as ever; the tee then reflects it into the new
 * chain if it concerns an item at or before the cursor (written already:
 * the chain must follow it), and leaves it if after (the cursor writes
 * that item as it will be then). So when the cursor has passed the last
 * item, the chain rebuilds the store as it is, and the switch is that of
 * a compaction at once. Until then the root names the old log, which
 * holds every acknowledged change. */
enum { PH_BUCKETS, PH_OBJECTS, PH_UPLOADS, PH_WRITTEN, PH_RELEASE };

#define KEY_MAX (64 + 1 + 1100)

struct obj_compact_run {
	struct obj_log nl;
	int phase;
	int have_cur;                   /* the cursor is at an item of the phase */
	char bcur[64];                  /* a bucket */
	char ocur[KEY_MAX];             /* an object: "bucket\0key" */
	size_t ocur_len;
	char ubucket[64];               /* an upload: bucket, key, id */
	char ukey[1100];
	size_t ukey_len;
	uint64_t uid;
	/* After the switch: the old chain, released a slice at a time (its
	 * buffers from @released on; 5,966 at 100,000 live objects). */
	struct obj_log old;
	size_t released;
	uint64_t appended;              /* records appended since the last slice */
	uint64_t reflected, slices, work_ns, longest_ns;
	int failed;                     /* a reflection's error: never switched */
	/* Before it: the live bytes summed the same way, a slice at a time
	 * (requests between slices make the sum approximate by what they
	 * append: enough to decide whether to compact). */
	int weighing;
	uint64_t weighed;
};

static int
key_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c != 0 ? c : (al > bl) - (al < bl);
}

/* @r's bucket as a string into @b (64 bytes). */
static void
rec_bucket(const struct obj_rec *r, char *b)
{
	size_t n = r->bucket_len < 63 ? r->bucket_len : 63;

	memcpy(b, r->bucket, n);
	b[n] = '\0';
}

/* Upload order (mpstore.h: bucket, key, id) of @u against the cursor. */
static int
upload_cmp_cur(const struct obj_compact_run *c, const char *bucket, const char *key,
	       size_t key_len, uint64_t id)
{
	int k = strcmp(bucket, c->ubucket);

	if (k == 0)
		k = key_cmp(key, key_len, c->ukey, c->ukey_len);
	return k != 0 ? k : (id > c->uid) - (id < c->uid);
}

/* Whether the new chain has written @r's object (its key at or before the
 * cursor), or its bucket, or its upload. */
static int
obj_written(const struct obj_compact_run *c, const struct obj_rec *r)
{
	char k[KEY_MAX];
	size_t n = r->key_len < 1090 ? r->key_len : 1090;

	if (c->phase != PH_OBJECTS)
		return c->phase > PH_OBJECTS;
	if (!c->have_cur)
		return 0;
	rec_bucket(r, k);
	memcpy(k + strlen(k) + 1, r->key, n);
	return key_cmp(k, strlen(k) + 1 + n, c->ocur, c->ocur_len) <= 0;
}

static int
bucket_written(const struct obj_compact_run *c, const struct obj_rec *r)
{
	char b[64];

	if (c->phase != PH_BUCKETS)
		return 1;
	rec_bucket(r, b);
	return c->have_cur && strcmp(b, c->bcur) <= 0;
}

static int
upload_written(const struct obj_compact_run *c, const struct obj_rec *r)
{
	char b[64];

	if (c->phase != PH_UPLOADS)
		return c->phase > PH_UPLOADS;
	rec_bucket(r, b);
	return c->have_cur && upload_cmp_cur(c, b, r->key, r->key_len, r->upload_id) <= 0;
}

/* obj_log's tee on the old log while a compaction runs. */
static void
tee(void *arg, const struct obj_rec *r)
{
	struct obj_compact_run *c = arg;
	struct obj_rec obj;
	const struct obj_rec *w = NULL;
	int ret;

	c->appended++;
	if (c->failed)
		return;
	switch (r->type) {
	case OBJ_REC_BUCKET_ADD:
	case OBJ_REC_BUCKET_DEL:
		w = bucket_written(c, r) ? r : NULL;
		break;
	case OBJ_REC_PUT:
	case OBJ_REC_DEL:
		w = obj_written(c, r) ? r : NULL;
		break;
	case OBJ_REC_MPU_CREATE:
	case OBJ_REC_MPU_PART:
	case OBJ_REC_MPU_ABORT:
		w = upload_written(c, r) ? r : NULL;
		break;
	case OBJ_REC_MPU_DONE:
		/* It ends an upload and puts an object: the upload written
		 * (with all its parts), both; else the object only, as a
		 * completion that ends no upload. */
		if (upload_written(c, r)) {
			w = r;
		} else if (obj_written(c, r)) {
			obj = *r;
			obj.upload_id = 0;
			w = &obj;
		}
		break;
	}
	if (w == NULL)
		return;
	ret = obj_log_append(&c->nl, w);
	if (ret != 0)
		c->failed = ret;
	else
		c->reflected++;
}

/* The first bucket, object, upload after the cursor. */
static size_t
bucket_after(const struct obj_store *st, const struct obj_compact_run *c)
{
	size_t lo = 0, hi = st->n_buckets;

	while (c->have_cur && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(st->buckets[mid].name, c->bcur) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t
object_after(const struct obj_store *st, const struct obj_compact_run *c)
{
	size_t lo = 0, hi = st->n_objs;

	while (c->have_cur && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp(st->objs[mid].key, st->objs[mid].len, c->ocur, c->ocur_len) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t
upload_after(const struct obj_store *st, const struct obj_compact_run *c)
{
	size_t lo = 0, hi = st->mpu != NULL ? st->mpu->n : 0;

	while (c->have_cur && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct obj_mpu *u = st->mpu->u[mid];

		if (upload_cmp_cur(c, u->bucket, u->key, u->key_len, u->id) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Write the items after the cursor into the new chain: at most
 * st->compact_slice records plus as many as were appended since the last
 * slice (so that requests adding items past the cursor cannot keep it
 * from the end), and about st->compact_slice_bytes; an upload's creation
 * and parts together (one is never split), so a slice writes more only
 * when it starts at an upload with more parts. @return 0 or the log's
 * error. */
static int
slice(struct obj_store *st, struct obj_compact_run *c)
{
	uint64_t budget = (uint64_t)st->compact_slice + c->appended, recs = 0;
	emit_fn fn = c->weighing ? count_fn : append_fn;
	void *arg = c->weighing ? (void *)&c->weighed : (void *)&c->nl;
	uint64_t *bytes = c->weighing ? &c->weighed : &c->nl.bytes, b0 = *bytes;
	/* The item after the last one written, once this slice has written
	 * one (nothing changes the index inside a slice): one search a
	 * slice, not one an item. */
	size_t i, n, next = SIZE_MAX;
	int ret = 0;

	c->appended = 0;
	while (c->phase != PH_WRITTEN && recs < budget &&
	       *bytes - b0 < st->compact_slice_bytes) {
		switch (c->phase) {
		case PH_BUCKETS:
			i = next != SIZE_MAX ? next : bucket_after(st, c);
			if (i == st->n_buckets)
				break;
			ret = emit_bucket(st, i, fn, arg);
			if (ret != 0)
				return ret;
			memcpy(c->bcur, st->buckets[i].name, sizeof(c->bcur));
			c->have_cur = 1;
			next = i + 1;
			recs++;
			continue;
		case PH_OBJECTS:
			i = next != SIZE_MAX ? next : object_after(st, c);
			if (i == st->n_objs)
				break;
			ret = emit_object(st, i, fn, arg);
			if (ret != 0)
				return ret;
			c->ocur_len = st->objs[i].len < KEY_MAX ? st->objs[i].len : KEY_MAX;
			memcpy(c->ocur, st->objs[i].key, c->ocur_len);
			c->have_cur = 1;
			next = i + 1;
			recs++;
			continue;
		case PH_UPLOADS:
			i = next != SIZE_MAX ? next : upload_after(st, c);
			if (st->mpu == NULL || i == st->mpu->n)
				break;
			n = 1 + (size_t)st->mpu->u[i]->n_parts;
			if (recs > 0 && recs + n > budget)
				goto out;
			ret = emit_upload(st, i, fn, arg);
			if (ret != 0)
				return ret;
			memcpy(c->ubucket, st->mpu->u[i]->bucket, sizeof(c->ubucket));
			c->ukey_len = st->mpu->u[i]->key_len < sizeof(c->ukey) ?
				      st->mpu->u[i]->key_len : sizeof(c->ukey);
			memcpy(c->ukey, st->mpu->u[i]->key, c->ukey_len);
			c->uid = st->mpu->u[i]->id;
			c->have_cur = 1;
			next = i + 1;
			recs += n;
			continue;
		}
		/* The phase's last item written. */
		c->phase++;
		c->have_cur = 0;
		next = SIZE_MAX;
	}
out:
	if (!c->weighing && recs > st->compact_slice_recs_max)
		st->compact_slice_recs_max = recs;
	return 0;
}

/* Give the run under way up: its chain released, the old log as it is. */
static void
run_drop(struct obj_store *st)
{
	struct obj_compact_run *c = st->compact_run;

	if (c->phase == PH_RELEASE) {
		/* Switched already: the rest of the old chain released. */
		while (c->released < c->old.n_bufs)
			pst_pool_release(st->pool, c->old.bufs[c->released++]);
		obj_log_close(&c->old);
		st->compact_run = NULL;
		free(c);
		return;
	}
	st->log.tee = NULL;
	st->log.tee_arg = NULL;
	st->compact_run = NULL;
	st->compacting = st->compact_old = NULL;
	/* Named by no root slot: free after the next drain (or, after a
	 * crash first, by the reconciliation). */
	obj_log_release(&c->nl);
	free(c);
}

void
obj_compact_abandon(struct obj_store *st)
{
	int switched;

	if (st->compact_run == NULL)
		return;
	/* Counted only when it had begun its chain. */
	switched = st->compact_run->phase == PH_RELEASE || st->compact_run->weighing;
	run_drop(st);
	st->compact_abandoned += !switched;
}

/* Start writing run @c (fresh, or done weighing @live bytes): its chain
 * taken, the cursor at the start, the tee on. @return 0, or -ENOBUFS (no
 * room for a chain of @live bytes: it grows with the requests reflected,
 * and one that finds no buffer is given up), -ENOMEM. */
static int
run_write(struct obj_store *st, struct obj_compact_run *c, uint64_t live)
{
	struct pst_pool_levels lv;
	int ret;

	pst_pool_levels(st->pool, &lv);
	if (lv.free < bufs_for(st, live))
		return -ENOBUFS;
	ret = obj_log_fresh(&c->nl, st->pool, OBJ_STORE_ROOT_SLOT, st->log.seq);
	if (ret != 0)
		return ret;
	c->weighing = 0;
	c->phase = PH_BUCKETS;
	c->have_cur = 0;
	c->appended = 0;
	/* Both chains are the log to a crash test from here on. */
	st->compacting = &c->nl;
	st->compact_old = &st->log;
	st->log.tee = tee;
	st->log.tee_arg = c;
	return 0;
}

/* A run, weighing first or not. @return 0, -EINVAL, -ENOMEM, or
 * run_write's error. */
static int
run_new(struct obj_store *st, int weigh)
{
	struct obj_compact_run *c;
	int ret;

	if (!st->mark_on || st->compacting != NULL || st->compact_run != NULL)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->weighing = weigh;
	ret = weigh ? 0 : run_write(st, c, obj_compact_live_bytes(st));
	if (ret != 0) {
		free(c);
		return ret;
	}
	st->compact_run = c;
	return 0;
}

int
obj_compact_begin(struct obj_store *st)
{
	int ret = run_new(st, 0);

	if (ret != 0 && ret != -EINVAL)
		st->compact_failures++;
	return ret;
}

static uint64_t next_look(const struct obj_store *st, uint64_t live);

/* Run @c has weighed what is live: not enough dead (-ECANCELED: looked
 * at again later), or its chain begun. @return 0 or run_write's error. */
static int
weighed(struct obj_store *st, struct obj_compact_run *c)
{
	uint64_t live = c->weighed, dead = st->log.bytes > live ? st->log.bytes - live : 0;
	int ret;

	if (dead * 100 < (uint64_t)st->compact_pct * st->log.bytes) {
		st->compact_check_at = next_look(st, live);
		return -ECANCELED;
	}
	ret = run_write(st, c, live);
	if (ret != 0)
		st->compact_check_at = st->log.bytes + st->log.bytes / 4 + 1;
	return ret;
}

int
obj_compact_step(struct obj_store *st)
{
	struct obj_compact_run *c = st->compact_run;
	uint64_t t0 = now_ns(), ns;
	int ret;

	if (c == NULL)
		return 0;
	if (c->phase == PH_RELEASE) {
		/* As many buffers a call as a slice writes records. */
		size_t end = c->released + (st->compact_slice ? st->compact_slice : 1);

		while (c->released < c->old.n_bufs && c->released < end)
			pst_pool_release(st->pool, c->old.bufs[c->released++]);
		if (c->released == c->old.n_bufs)
			run_drop(st);
		ns = now_ns() - t0;
		st->compact_work_ns_last += ns;
		st->compact_ns_total += ns;
		if (ns > st->compact_ns_last)
			st->compact_ns_last = ns;
		if (ns > st->compact_ns_max)
			st->compact_ns_max = ns;
		return 0;
	}
	if (c->weighing) {
		ret = slice(st, c);
		if (ret == 0 && c->phase == PH_WRITTEN)
			ret = weighed(st, c);
		ns = now_ns() - t0;
		if (ns > st->compact_weigh_ns_max)
			st->compact_weigh_ns_max = ns;
		if (ret != 0) {
			run_drop(st);
			st->compact_failures += ret != -ECANCELED;
			return ret == -ECANCELED ? 0 : ret;
		}
		return 0;
	}
	ret = c->failed;
	if (ret == 0)
		ret = slice(st, c);
	c->slices++;
	if (ret == 0 && c->phase == PH_WRITTEN) {
		st->log.tee = NULL;
		ret = switch_to(st, &c->nl, &c->old);
		if (ret == 0) {
			ns = now_ns() - t0;
			c->work_ns += ns;
			if (ns > c->longest_ns)
				c->longest_ns = ns;
			note_pauses(st, c->longest_ns, c->work_ns, c->slices, c->reflected);
			c->phase = PH_RELEASE;
			if (c->old.bufs == NULL)
				run_drop(st);   /* the drain failed: kept for the next start */
			return 1;
		}
	}
	if (ret != 0) {
		run_drop(st);
		st->compact_failures++;
		return ret;
	}
	ns = now_ns() - t0;
	c->work_ns += ns;
	if (ns > c->longest_ns)
		c->longest_ns = ns;
	return 0;
}

/* The log's bytes at which the dead share can next reach the threshold
 * after a look that found @live bytes live. */
static uint64_t
next_look(const struct obj_store *st, uint64_t live)
{
	uint64_t at = live * 100 / (100 - st->compact_pct);
	uint64_t grown = st->log.bytes + st->log.bytes / 8 + 1;

	return at > grown ? at : grown;
}

int
obj_compact_maybe(struct obj_store *st)
{
	struct pst_pool_levels lv;
	uint64_t live, dead;
	int ret;

	if (st->compact_run != NULL) {
		/* One slice a drain: the servers drain once a poll and call
		 * this after it and before each connection's requests, so a
		 * poll pauses for one slice, however many connections. */
		pst_pool_levels(st->pool, &lv);
		if (lv.drains == st->compact_slice_drains)
			return 0;
		ret = obj_compact_step(st);
		pst_pool_levels(st->pool, &lv);
		st->compact_slice_drains = lv.drains;
		if (ret < 0)
			st->compact_check_at = st->log.bytes + st->log.bytes / 4 + 1;
		else if (ret == 1)
			st->compact_check_at = next_look(st, st->log.bytes);
		return ret == 1;
	}
	if (st->compact_pct == 0 || st->compact_pct >= 100 || !st->mark_on ||
	    st->compacting != NULL || st->log.n_bufs < st->compact_min_bufs ||
	    st->log.bytes < st->compact_check_at)
		return 0;
	if (st->compact_slice != 0) {
		/* What is live weighed a slice at a time too, then written:
		 * the first slice now, the others at the next calls. */
		if (run_new(st, 1) == 0) {
			st->compact_slice_drains = UINT64_MAX;   /* now */
			return obj_compact_maybe(st);
		}
		st->compact_failures++;
		st->compact_check_at = st->log.bytes + st->log.bytes / 4 + 1;
		return 0;
	}
	live = obj_compact_live_bytes(st);
	dead = st->log.bytes > live ? st->log.bytes - live : 0;
	if (dead * 100 < (uint64_t)st->compact_pct * st->log.bytes) {
		st->compact_check_at = next_look(st, live);
		return 0;
	}
	if (obj_compact(st) == 0) {
		st->compact_check_at = next_look(st, st->log.bytes);
		return 1;
	}
	/* No room for the new chain now: after some growth. */
	st->compact_check_at = st->log.bytes + st->log.bytes / 4 + 1;
	return 0;
}

int
obj_compact_for_room(struct obj_store *st)
{
	/* One under way holds buffers and would take too long: given up,
	 * and the log compacted at once (its chain's buffers free after
	 * the drain below). */
	obj_compact_abandon(st);
	if (!st->mark_on || st->compacting != NULL ||
	    bufs_for(st, obj_compact_live_bytes(st)) >= st->log.n_bufs)
		return -ENOBUFS;        /* it would free nothing */
	/* Buffers released (the failed append's own) are free once their
	 * release is durable: a drain first, and one after, for the old
	 * chain's. */
	if (pst_pool_drain(st->pool) != 0 || obj_compact(st) != 0 ||
	    pst_pool_drain(st->pool) != 0)
		return -ENOBUFS;
	return 0;
}

void
obj_compact_print(const struct obj_store *st, const char *who)
{
	printf("%s: log records=%" PRIu64 " bytes=%" PRIu64 " bufs=%zu live_bytes=%" PRIu64
	       " compact_pct=%u compact_min_bufs=%zu compact_slice=%u compact_slice_bytes=%" PRIu64
	       " compactions=%" PRIu64 " failures=%" PRIu64 " abandoned=%" PRIu64
	       " last_records=%" PRIu64 "->%" PRIu64 " last_bufs=%" PRIu64 "->%" PRIu64
	       " last_slices=%" PRIu64 " last_reflected=%" PRIu64 " slice_records_max=%" PRIu64
	       " pause_last_us=%" PRIu64 " pause_max_us=%" PRIu64 " work_last_us=%" PRIu64
	       " pause_total_us=%" PRIu64 " weigh_max_us=%" PRIu64 "\n",
	       who, st->log.seq - st->log.base, st->log.bytes, st->log.n_bufs,
	       obj_compact_live_bytes(st), st->compact_pct, st->compact_min_bufs,
	       st->compact_slice, st->compact_slice_bytes,
	       st->compactions, st->compact_failures, st->compact_abandoned,
	       st->compact_recs_before, st->compact_recs_after, st->compact_bufs_before,
	       st->compact_bufs_after, st->compact_slices_last, st->compact_reflected_last,
	       st->compact_slice_recs_max, st->compact_ns_last / 1000, st->compact_ns_max / 1000,
	       st->compact_work_ns_last / 1000, st->compact_ns_total / 1000,
	       st->compact_weigh_ns_max / 1000);
}
