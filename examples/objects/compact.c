/* SPDX-License-Identifier: BSD-3-Clause */
/* Compaction of the object log (compact.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "compact.h"
#include "mpstore.h"

typedef int (*emit_fn)(void *arg, const struct obj_rec *r);

/* Every record recovery needs to rebuild the store as it is now, in an
 * order a replay accepts: buckets before their objects, objects, then
 * the unfinished uploads, each creation before its parts. A multipart
 * object stays a completion (its ETag is "<md5 of md5s>-N") with upload
 * id 0: no upload of the new chain precedes it, so it ends none. */
static int
each_live(const struct obj_store *st, emit_fn fn, void *arg)
{
	size_t i;
	uint32_t j;
	int ret;

	for (i = 0; i < st->n_buckets; i++) {
		const struct obj_bucket *b = &st->buckets[i];
		struct obj_rec r = { .type = OBJ_REC_BUCKET_ADD, .time = b->created,
				     .bucket = b->name, .bucket_len = (uint16_t)strlen(b->name) };

		ret = fn(arg, &r);
		if (ret != 0)
			return ret;
	}
	for (i = 0; i < st->n_objs; i++) {
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
		ret = fn(arg, &r);
		if (ret != 0)
			return ret;
	}
	for (i = 0; st->mpu != NULL && i < st->mpu->n; i++) {
		const struct obj_mpu *u = st->mpu->u[i];
		struct obj_rec r = {
			.type = OBJ_REC_MPU_CREATE, .time = u->initiated,
			.bucket = u->bucket, .bucket_len = (uint16_t)strlen(u->bucket),
			.key = u->key, .key_len = u->key_len,
			.ctype = u->ctype, .ctype_len = u->ctype_len,
			.meta = u->meta, .meta_len = u->meta_len,
			.upload_id = u->id,
		};

		ret = fn(arg, &r);
		if (ret != 0)
			return ret;
		for (j = 0; j < u->n_parts; j++) {
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
			if (ret != 0)
				return ret;
		}
	}
	return 0;
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

int
obj_compact(struct obj_store *st)
{
	struct pst_pool_levels lv;
	struct obj_log nl, old;
	uint64_t t0 = now_ns(), live, mark, mark_old = 0, recs_before, bufs_before, ns;
	int ret;

	if (!st->mark_on || st->compacting != NULL)
		return -EINVAL;         /* only on an opened store, not nested */
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
	/* The new chain durable, and with it every byte its records name
	 * (flushed as it arrived, before this drain), whatever batch it
	 * came in. A crash until the switch recovers the old log, which
	 * holds the same state; the new chain's buffers are then kept but
	 * named by nothing, and the reconciliation frees them. */
	ret = pst_pool_drain(st->pool);
	if (ret != 0)
		goto fail;
	/* The switch: the drained mark first, naming the new chain and all
	 * of its records (drained above), then the root slot; one drain
	 * makes both durable. A crash keeps any of the four pairs: the old
	 * root with either mark (the new one names another chain: ignored,
	 * so everything live is hashed), or the new root with the new mark
	 * (nothing hashed: all drained) or the old one (another chain's:
	 * ignored). Either log holds every acknowledged change. */
	(void)pst_pool_root_get(st->pool, OBJ_STORE_MARK_SLOT, &mark_old);
	mark = nl.seq - nl.base <= UINT32_MAX ?
	       ((uint64_t)nl.bufs[0] + 1) << 32 | (nl.seq - nl.base) : 0;
	ret = pst_pool_root_set(st->pool, OBJ_STORE_MARK_SLOT, mark);
	if (ret != 0)
		goto fail;
	ret = pst_pool_root_set(st->pool, OBJ_STORE_ROOT_SLOT, (uint64_t)nl.bufs[0] + 1);
	if (ret != 0) {
		(void)pst_pool_root_set(st->pool, OBJ_STORE_MARK_SLOT, mark_old);
		goto fail;
	}
	recs_before = st->log.seq - st->log.base;
	bufs_before = st->log.n_bufs;
	old = st->log;
	st->log = nl;
	st->log.stages = old.stages;
	st->compacting = &st->log;
	st->compact_old = &old;
	/* The old chain is released only once the switch is durable (and
	 * reusable only after the drain that makes the release durable).
	 * If this drain fails, the old chain stays kept: the next start's
	 * reconciliation frees whichever chain the root does not name. */
	if (pst_pool_drain(st->pool) == 0)
		obj_log_release(&old);
	else
		obj_log_close(&old);
	pst_pool_levels(st->pool, &lv);
	st->mark = st->mark_next = st->log.seq;
	st->mark_drains = lv.drains;
	st->compacting = st->compact_old = NULL;
	ns = now_ns() - t0;
	st->compactions++;
	st->compact_recs_before = recs_before;
	st->compact_recs_after = st->log.seq - st->log.base;
	st->compact_bufs_before = bufs_before;
	st->compact_bufs_after = st->log.n_bufs;
	st->compact_ns_last = ns;
	st->compact_ns_total += ns;
	if (ns > st->compact_ns_max)
		st->compact_ns_max = ns;
	return 0;
fail:
	st->compacting = st->compact_old = NULL;
	obj_log_release(&nl);
refused:
	st->compact_failures++;
	return ret;
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
	uint64_t live, dead;

	if (st->compact_pct == 0 || st->compact_pct >= 100 || !st->mark_on ||
	    st->compacting != NULL || st->log.n_bufs < st->compact_min_bufs ||
	    st->log.bytes < st->compact_check_at)
		return 0;
	live = obj_compact_live_bytes(st);
	dead = st->log.bytes > live ? st->log.bytes - live : 0;
	if (dead * 100 < (uint64_t)st->compact_pct * st->log.bytes) {
		st->compact_check_at = next_look(st, live);
		return 0;
	}
	if (obj_compact(st) != 0) {
		/* No room for the new chain now: after some growth. */
		st->compact_check_at = st->log.bytes + st->log.bytes / 4 + 1;
		return 0;
	}
	st->compact_check_at = next_look(st, st->log.bytes);
	return 1;
}

int
obj_compact_for_room(struct obj_store *st)
{
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
	       " compact_pct=%u compact_min_bufs=%zu compactions=%" PRIu64 " failures=%" PRIu64
	       " last_records=%" PRIu64 "->%" PRIu64 " last_bufs=%" PRIu64 "->%" PRIu64
	       " pause_last_us=%" PRIu64 " pause_max_us=%" PRIu64 " pause_total_us=%" PRIu64 "\n",
	       who, st->log.seq - st->log.base, st->log.bytes, st->log.n_bufs,
	       obj_compact_live_bytes(st), st->compact_pct, st->compact_min_bufs,
	       st->compactions, st->compact_failures, st->compact_recs_before,
	       st->compact_recs_after, st->compact_bufs_before, st->compact_bufs_after,
	       st->compact_ns_last / 1000, st->compact_ns_max / 1000,
	       st->compact_ns_total / 1000);
}
