/* SPDX-License-Identifier: BSD-3-Clause */
/* The store (ostore.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compact.h"
#include "etag.h"
#include "mpstore.h"
#include "ostore.h"

void
obj_store_ref(struct obj_store *st, pst_name name)
{
	st->refs[pst_name_index(name)]++;
}

void
obj_store_unref(struct obj_store *st, pst_name name)
{
	uint32_t i = pst_name_index(name);

	if (st->refs[i] > 0 && --st->refs[i] == 0)
		pst_pool_release(st->pool, i);
}

void
obj_store_ref_names(struct obj_store *st, const pst_name *names, uint32_t n, int delta)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (i > 0 && pst_name_index(names[i]) == pst_name_index(names[i - 1]))
			continue;
		if (delta > 0)
			obj_store_ref(st, names[i]);
		else
			obj_store_unref(st, names[i]);
	}
}

struct obj_version *
obj_version_new(const char *ctype, size_t ctype_len, const char *meta, size_t meta_len,
		uint32_t n_names)
{
	struct obj_version *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	v->refs = 1;
	v->ctype = malloc(ctype_len + 1);
	v->meta = malloc(meta_len + 1);
	v->names = malloc(((size_t)n_names + 1) * sizeof(pst_name));
	if (v->ctype == NULL || v->meta == NULL || v->names == NULL) {
		free(v->ctype);
		free(v->meta);
		free(v->names);
		free(v);
		return NULL;
	}
	if (ctype_len)
		memcpy(v->ctype, ctype, ctype_len);
	if (meta_len)
		memcpy(v->meta, meta, meta_len);
	v->ctype_len = (uint16_t)ctype_len;
	v->meta_len = (uint16_t)meta_len;
	return v;
}

static void
version_free(struct obj_version *v)
{
	free(v->sums);
	free(v->ctype);
	free(v->meta);
	free(v->names);
	free(v);
}

static void
defer_push(struct obj_store *st, pst_name name)
{
	if (st->n_deferred == st->cap_deferred) {
		size_t cap = st->cap_deferred ? st->cap_deferred * 2 : 1024;
		pst_name *d = realloc(st->deferred, cap * sizeof(*d));

		if (d == NULL) {
			/* No room to wait: make the replacement durable now.
			 * After a failed drain the buffer stays referenced: the
			 * next start's reconciliation frees it. */
			if (pst_pool_drain(st->pool) == 0)
				obj_store_unref(st, name);
			return;
		}
		st->deferred = d;
		st->cap_deferred = cap;
	}
	st->deferred[st->n_deferred++] = name;
}

void
obj_version_put(struct obj_store *st, struct obj_version *v)
{
	struct pst_pool_levels lv;
	uint32_t i;

	if (v == NULL || --v->refs > 0)
		return;
	for (i = 0; i < v->n_names; i++)
		if (i == 0 || pst_name_index(v->names[i]) != pst_name_index(v->names[i - 1]))
			defer_push(st, v->names[i]);
	pst_pool_levels(st->pool, &lv);
	st->deferred_drains = lv.drains;
	version_free(v);
}

void
obj_store_unref_later(struct obj_store *st, const pst_name *names, uint32_t n)
{
	struct pst_pool_levels lv;
	uint32_t i;

	for (i = 0; i < n; i++)
		if (i == 0 || pst_name_index(names[i]) != pst_name_index(names[i - 1]))
			defer_push(st, names[i]);
	pst_pool_levels(st->pool, &lv);
	st->deferred_drains = lv.drains;
}

/* Store the drained mark at @count records (their bytes and the records
 * drained before this store: the caller's word). Flushed; durable after
 * the next drain, and right either way: a crash keeps the old or the new
 * 8-byte value. */
static void
mark_store(struct obj_store *st, uint64_t count)
{
	uint64_t v;

	if (!st->mark_on || st->log.n_bufs == 0 || count <= st->mark ||
	    count - st->log.base > UINT32_MAX)
		return;
	/* The count from the chain's first record: a compacted chain's are
	 * numbered on from the log it replaced. */
	v = ((uint64_t)st->log.bufs[0] + 1) << 32 | (count - st->log.base);
	if (pst_pool_root_set(st->pool, OBJ_STORE_MARK_SLOT, v) == 0)
		st->mark = count;
}

/* The records appended before the last look (mark_next) were flushed,
 * their bytes before them; a drain that completed since covers them all. */
static void
mark_advance(struct obj_store *st, const struct pst_pool_levels *lv)
{
	if (lv->drains == st->mark_drains)
		return;
	mark_store(st, st->mark_next);
	st->mark_next = st->log.seq;
	st->mark_drains = lv->drains;
}

void
obj_store_release_durable(struct obj_store *st)
{
	struct pst_pool_levels lv;
	size_t i;

	if (st == NULL || st->pool == NULL)
		return;
	pst_pool_levels(st->pool, &lv);
	mark_advance(st, &lv);
	if (st->n_deferred != 0 && lv.drains != st->deferred_drains) {
		for (i = 0; i < st->n_deferred; i++)
			obj_store_unref(st, st->deferred[i]);
		st->n_deferred = 0;
	}
	/* Between requests: the log rewritten when mostly dead (it drains;
	 * the records of the requests before it then are durable early). */
	(void)obj_compact_maybe(st);
}

int
obj_store_append(struct obj_store *st, const struct obj_rec *r)
{
	int ret = obj_log_append(&st->log, r);

	/* No buffer for the record: a log mostly dead gives some back. */
	if (ret == -ENOBUFS && obj_compact_for_room(st) == 0)
		ret = obj_log_append(&st->log, r);
	return ret;
}

/* Buffers a body of @len bytes may take: a full segment's payload is
 * 1,448 bytes on Ethernet; smaller ones are gathered by the stack. */
static uint64_t
body_bufs(uint64_t len)
{
	return len / 1024 + 2;
}

int
obj_store_reserve(struct obj_store *st, uint64_t len, uint64_t *bufs)
{
	struct pst_pool_levels lv;
	uint64_t usable = st->buf_count - st->buf_count / 16, need = body_bufs(len);

	/* The last 1/16 of the pool is never promised: receiving (ACKs,
	 * other clients' requests) and the log need it. */
	if (len > OBJ_OBJECT_SIZE_MAX || need > usable)
		return -EFBIG;
	pst_pool_levels(st->pool, &lv);
	if (lv.kept + st->reserved + need > usable)
		return -ENOSPC;
	st->reserved += need;
	*bufs = need;
	return 0;
}

void
obj_store_unreserve(struct obj_store *st, uint64_t bufs)
{
	st->reserved -= bufs < st->reserved ? bufs : st->reserved;
}

/* Buckets. */

static unsigned int
bucket_pos(const struct obj_store *st, const char *name, int *found)
{
	unsigned int lo = 0, hi = st->n_buckets;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		int c = strcmp(st->buckets[mid].name, name);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

const struct obj_bucket *
obj_store_bucket(const struct obj_store *st, const char *name)
{
	int found;
	unsigned int i = bucket_pos(st, name, &found);

	return found ? &st->buckets[i] : NULL;
}

static int
bucket_insert(struct obj_store *st, const char *name, size_t len, int64_t created)
{
	char n[64];
	int found;
	unsigned int i;

	if (len >= sizeof(n))
		return -EINVAL;
	memcpy(n, name, len);
	n[len] = '\0';
	i = bucket_pos(st, n, &found);
	if (found)
		return -EEXIST;
	if (st->n_buckets == st->cap_buckets) {
		unsigned int cap = st->cap_buckets ? st->cap_buckets * 2 : 16;
		struct obj_bucket *b = realloc(st->buckets, cap * sizeof(*b));

		if (b == NULL)
			return -ENOMEM;
		st->buckets = b;
		st->cap_buckets = cap;
	}
	memmove(&st->buckets[i + 1], &st->buckets[i], (st->n_buckets - i) * sizeof(*st->buckets));
	memset(&st->buckets[i], 0, sizeof(*st->buckets));
	memcpy(st->buckets[i].name, n, len + 1);
	st->buckets[i].created = created;
	st->n_buckets++;
	return 0;
}

static void
bucket_remove(struct obj_store *st, const char *name)
{
	int found;
	unsigned int i = bucket_pos(st, name, &found);

	if (!found)
		return;
	memmove(&st->buckets[i], &st->buckets[i + 1],
		(st->n_buckets - i - 1) * sizeof(*st->buckets));
	st->n_buckets--;
}

int
obj_store_bucket_add(struct obj_store *st, const char *name, int64_t now)
{
	struct obj_rec r = { .type = OBJ_REC_BUCKET_ADD, .time = now, .bucket = name,
			     .bucket_len = (uint16_t)strlen(name) };
	int ret;

	if (obj_store_bucket(st, name) != NULL)
		return -EEXIST;
	ret = obj_store_append(st, &r);
	if (ret != 0)
		return ret;
	return bucket_insert(st, name, r.bucket_len, now);
}

int
obj_store_bucket_del(struct obj_store *st, const char *name)
{
	const struct obj_bucket *b = obj_store_bucket(st, name);
	struct obj_rec r = { .type = OBJ_REC_BUCKET_DEL, .bucket = name,
			     .bucket_len = (uint16_t)strlen(name) };
	int ret;

	if (b == NULL)
		return -ENOENT;
	if (b->n_objects > 0 || obj_mpu_in_bucket(st, name))
		return -ENOTEMPTY;
	ret = obj_store_append(st, &r);
	if (ret != 0)
		return ret;
	bucket_remove(st, name);
	return 0;
}

/* Objects. */

static int
key_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c != 0 ? c : (al > bl) - (al < bl);
}

/* "bucket\0key" into @buf (at least 64 + OBJ key max bytes). */
static size_t
full_key(char *buf, const char *bucket, const char *key, size_t key_len)
{
	size_t bl = strlen(bucket);

	memcpy(buf, bucket, bl + 1);
	if (key_len)
		memcpy(buf + bl + 1, key, key_len);
	return bl + 1 + key_len;
}

static size_t
obj_pos(const struct obj_store *st, const char *k, size_t len, int *found)
{
	size_t lo = 0, hi = st->n_objs;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(st->objs[mid].key, st->objs[mid].len, k, len);

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

size_t
obj_store_seek(const struct obj_store *st, const char *bucket, const char *from,
	       size_t from_len)
{
	char k[64 + 1100];
	int found;

	if (from_len > 1090)
		from_len = 1090;
	return obj_pos(st, k, full_key(k, bucket, from, from_len), &found);
}

int
obj_store_in_bucket(const struct obj_store *st, size_t i, const char *bucket)
{
	return i < st->n_objs && strcmp(st->objs[i].key, bucket) == 0;
}

struct obj_version *
obj_store_get(const struct obj_store *st, const char *bucket, const char *key, size_t key_len)
{
	char k[64 + 1100];
	int found;
	size_t i;

	if (key_len > 1090)
		return NULL;
	i = obj_pos(st, k, full_key(k, bucket, key, key_len), &found);
	return found ? st->objs[i].v : NULL;
}

/* Put @v (its reference moves to the index) at @bucket/@key; the version
 * it replaces is returned (or NULL). @return 0 or -ENOMEM. */
static int
index_set(struct obj_store *st, const char *bucket, const char *key, size_t key_len,
	  struct obj_version *v, struct obj_version **old)
{
	char k[64 + 1100];
	size_t len = full_key(k, bucket, key, key_len), i;
	struct obj_bucket *b;
	int found;

	*old = NULL;
	i = obj_pos(st, k, len, &found);
	if (found) {
		*old = st->objs[i].v;
		st->objs[i].v = v;
		return 0;
	}
	if (st->n_objs == st->cap_objs) {
		size_t cap = st->cap_objs ? st->cap_objs * 2 : 1024;
		struct obj_entry *o = realloc(st->objs, cap * sizeof(*o));

		if (o == NULL)
			return -ENOMEM;
		st->objs = o;
		st->cap_objs = cap;
	}
	{
		char *copy = malloc(len);

		if (copy == NULL)
			return -ENOMEM;
		memcpy(copy, k, len);
		memmove(&st->objs[i + 1], &st->objs[i], (st->n_objs - i) * sizeof(*st->objs));
		st->objs[i].key = copy;
		st->objs[i].len = (uint32_t)len;
		st->objs[i].bucket_len = (uint16_t)strlen(bucket);
		st->objs[i].v = v;
		st->n_objs++;
	}
	b = (struct obj_bucket *)obj_store_bucket(st, bucket);
	if (b != NULL)
		b->n_objects++;
	return 0;
}

static struct obj_version *
index_del(struct obj_store *st, const char *bucket, const char *key, size_t key_len)
{
	char k[64 + 1100];
	size_t i;
	int found;
	struct obj_version *v;
	struct obj_bucket *b;

	i = obj_pos(st, k, full_key(k, bucket, key, key_len), &found);
	if (!found)
		return NULL;
	v = st->objs[i].v;
	free(st->objs[i].key);
	memmove(&st->objs[i], &st->objs[i + 1], (st->n_objs - i - 1) * sizeof(*st->objs));
	st->n_objs--;
	b = (struct obj_bucket *)obj_store_bucket(st, bucket);
	if (b != NULL && b->n_objects > 0)
		b->n_objects--;
	return v;
}

int
obj_store_put(struct obj_store *st, const char *bucket, const char *key, size_t key_len,
	      struct obj_version *v)
{
	struct obj_rec r = {
		.type = OBJ_REC_PUT, .time = v->mtime, .size = v->size,
		.bucket = bucket, .bucket_len = (uint16_t)strlen(bucket),
		.key = key, .key_len = (uint16_t)key_len,
		.ctype = v->ctype, .ctype_len = v->ctype_len,
		.meta = v->meta, .meta_len = v->meta_len,
		.names = v->names, .n_names = v->n_names,
	};
	struct obj_version *old;
	int ret;

	memcpy(r.md5, v->md5, 16);
	obj_etag_single(v->md5, v->etag);
	ret = obj_store_append(st, &r);
	if (ret != 0)
		return ret;
	/* The record is written: from here the index must follow it (an
	 * allocation failure would leave DRAM behind the log until restart). */
	ret = index_set(st, bucket, key, key_len, v, &old);
	if (ret != 0)
		return ret;
	obj_version_put(st, old);
	st->puts++;
	return 0;
}

int
obj_store_put_rec(struct obj_store *st, const struct obj_rec *r, const char *bucket,
		  struct obj_version *v)
{
	struct obj_version *old;
	int ret = obj_store_append(st, r);

	if (ret != 0)
		return ret;
	ret = index_set(st, bucket, r->key, r->key_len, v, &old);
	if (ret != 0)
		return ret;
	obj_version_put(st, old);
	st->puts++;
	return 0;
}

int
obj_store_del(struct obj_store *st, const char *bucket, const char *key, size_t key_len)
{
	struct obj_rec r = { .type = OBJ_REC_DEL, .bucket = bucket,
			     .bucket_len = (uint16_t)strlen(bucket), .key = key,
			     .key_len = (uint16_t)key_len };
	int ret;

	if (obj_store_get(st, bucket, key, key_len) == NULL)
		return 0;
	ret = obj_store_append(st, &r);
	if (ret != 0)
		return ret;
	obj_version_put(st, index_del(st, bucket, key, key_len));
	st->deletes++;
	return 0;
}

/* Recovery: each whole record applied to the DRAM index. */
static int
replay(void *arg, const struct obj_rec *r)
{
	struct obj_store *st = arg;
	char bucket[64];
	struct obj_version *v, *old;
	uint32_t i;
	int ret;

	if (r->bucket_len >= sizeof(bucket))
		return -EIO;
	memcpy(bucket, r->bucket, r->bucket_len);
	bucket[r->bucket_len] = '\0';
	switch (r->type) {
	case OBJ_REC_BUCKET_ADD:
		ret = bucket_insert(st, bucket, r->bucket_len, r->time);
		return ret == -EEXIST ? 0 : ret;
	case OBJ_REC_BUCKET_DEL:
		bucket_remove(st, bucket);
		return 0;
	case OBJ_REC_DEL:
		v = index_del(st, bucket, r->key, r->key_len);
		if (v != NULL)
			version_free(v);
		return 0;
	case OBJ_REC_MPU_CREATE:
	case OBJ_REC_MPU_PART:
	case OBJ_REC_MPU_ABORT:
		return obj_mpu_replay(st, r);
	case OBJ_REC_MPU_DONE:
	case OBJ_REC_PUT:
		v = obj_version_new(r->ctype, r->ctype_len, r->meta, r->meta_len, r->n_names);
		if (v == NULL)
			return -ENOMEM;
		memcpy(v->names, r->names, (size_t)r->n_names * sizeof(pst_name));
		v->n_names = r->n_names;
		for (i = 0; i < v->n_names; i++) {
			if (!pst_pool_name_valid(st->pool, v->names[i])) {
				version_free(v);
				return -EIO;
			}
		}
		if (r->type == OBJ_REC_MPU_DONE) {
			/* Its parts' MD5s before the upload ends. */
			ret = obj_mpu_done_sums(st, r, v);
			if (ret == 0)
				ret = obj_mpu_replay(st, r);
			if (ret != 0) {
				version_free(v);
				return ret;
			}
		}
		v->seq = st->log.seq;
		v->size = r->size;
		v->mtime = r->time;
		memcpy(v->md5, r->md5, 16);
		if (r->type == OBJ_REC_MPU_DONE) {
			v->parts = r->part;
			obj_etag_parts(v->md5, v->parts, v->etag);
		} else {
			obj_etag_single(v->md5, v->etag);
		}
		ret = index_set(st, bucket, r->key, r->key_len, v, &old);
		if (ret != 0) {
			version_free(v);
			return ret;
		}
		if (old != NULL)
			version_free(old);
		return 0;
	}
	return -EIO;
}

int
obj_store_names_whole(const struct obj_store *st, const pst_name *names, uint32_t n,
		      const uint8_t md5[16])
{
	struct obj_md5 m;
	uint8_t got[16];
	uint32_t i;

	if (obj_md5_init(&m) != 0)
		return 1;       /* cannot tell: not a reason to drop it */
	for (i = 0; i < n; i++)
		obj_md5_update(&m, pst_pool_name_to_addr(st->pool, names[i]),
			       pst_name_length(names[i]));
	obj_md5_final(&m, got);
	return memcmp(got, md5, 16) == 0;
}

struct obj_version *
obj_store_copy_version(struct obj_store *st, const struct obj_version *src, const char *ctype,
		       size_t ctype_len, const char *meta, size_t meta_len, int64_t now)
{
	struct obj_version *v = obj_version_new(ctype, ctype_len, meta, meta_len, src->n_names);
	uint32_t i;

	if (v == NULL)
		return NULL;
	if (src->n_names > 0)
		memcpy(v->names, src->names, (size_t)src->n_names * sizeof(pst_name));
	v->n_names = src->n_names;
	v->size = src->size;
	v->mtime = now;
	if (src->parts != 0) {
		struct obj_md5 m;

		if (obj_md5_init(&m) != 0) {
			version_free(v);
			return NULL;
		}
		for (i = 0; i < v->n_names; i++)
			obj_md5_update(&m, pst_pool_name_to_addr(st->pool, v->names[i]),
				       pst_name_length(v->names[i]));
		obj_md5_final(&m, v->md5);
	} else {
		memcpy(v->md5, src->md5, 16);
	}
	obj_store_ref_names(st, v->names, v->n_names, 1);
	return v;
}

/* Whether @v's bytes are the ones its record hashed. A copy of a
 * multipart object is recorded with its bytes' MD5 (ops.c), so only
 * completions are checked part by part. */
static int
version_whole(const struct obj_store *st, struct obj_version *v)
{
	uint32_t i, pos = 0;
	int whole = 1;

	if (v->parts == 0)
		return obj_store_names_whole(st, v->names, v->n_names, v->md5);
	for (i = 0; v->sums != NULL && i < v->n_sums && whole; i++) {
		whole = obj_store_names_whole(st, v->names + pos, v->sums[i].n_names,
					      v->sums[i].md5);
		pos += v->sums[i].n_names;
	}
	return whole;
}

/* The earliest record (its sequence number) of a live object or part,
 * recorded at @from or later, whose bytes are not whole, or UINT64_MAX.
 * The bytes hashed are counted in hashed_at_open. */
static uint64_t
first_cut(struct obj_store *st, uint64_t from)
{
	uint64_t first = obj_mpu_first_cut(st, from, &st->hashed_at_open);
	size_t i;

	for (i = 0; i < st->n_objs; i++) {
		struct obj_version *v = st->objs[i].v;

		if (v->seq < from || v->seq >= first)
			continue;
		st->hashed_at_open += v->size;
		if (!version_whole(st, v))
			first = v->seq;
	}
	return first;
}

/* The drained mark of this log as stored (records before it need no
 * check), or 0: none, another log's (its first buffer), or past what was
 * replayed (then nothing is taken on its word). */
static uint64_t
mark_found(const struct obj_store *st)
{
	uint64_t v;

	if (st->log.n_bufs == 0 || pst_pool_root_get(st->pool, OBJ_STORE_MARK_SLOT, &v) != 0 ||
	    v >> 32 != (uint64_t)st->log.bufs[0] + 1)
		return 0;
	v = st->log.base + (v & UINT32_MAX);
	return v <= st->log.seq ? v : 0;
}

/* What recovery checked after the mark was written by a process that may
 * not have drained it (a kill -9 leaves it in the page cache, where a
 * later power loss could still cut it): flushed and drained by this one,
 * and only then the mark moved to the log's end. @return 0 or the
 * drain's error. */
static int
mark_settle(struct obj_store *st, uint64_t mark)
{
	uint64_t root;
	size_t i;
	uint32_t j;
	int ret;

	st->mark = mark;
	st->mark_on = 1;
	/* The root slots as found, stored again: a compaction killed between
	 * its switch and the drain after it left them to a later drain, and
	 * the reconciliation (which drains) is about to free the chain the
	 * switch replaced. */
	if (pst_pool_root_get(st->pool, OBJ_STORE_ROOT_SLOT, &root) == 0 && root != 0)
		pst_pool_root_set(st->pool, OBJ_STORE_ROOT_SLOT, root);
	if (mark != 0 && pst_pool_root_get(st->pool, OBJ_STORE_MARK_SLOT, &root) == 0)
		pst_pool_root_set(st->pool, OBJ_STORE_MARK_SLOT, root);
	if (st->log.seq == mark)
		return 0;
	for (i = 0; i < st->n_objs; i++) {
		const struct obj_version *v = st->objs[i].v;

		for (j = 0; v->seq >= mark && j < v->n_names; j++)
			pst_pool_flush(st->pool, pst_pool_name_to_addr(st->pool, v->names[j]),
				       pst_name_length(v->names[j]));
	}
	obj_mpu_flush_since(st, mark);
	obj_log_flush_since(&st->log, mark);
	ret = pst_pool_drain(st->pool);
	if (ret != 0)
		return ret;
	mark_store(st, st->log.seq);
	return 0;
}

/* Forget what a replay built (the log's DRAM too), for another. */
static void
replay_reset(struct obj_store *st)
{
	size_t i;

	for (i = 0; i < st->n_objs; i++) {
		version_free(st->objs[i].v);
		free(st->objs[i].key);
	}
	st->n_objs = 0;
	st->n_buckets = 0;
	obj_mpu_free(st);
	obj_log_close(&st->log);
}

/* Replay the log, then, while a live object or part has bytes that are
 * not whole (written in the batch a power loss cut: every record from its
 * own on was never acknowledged), replay again up to just before its
 * record, which cuts the log there: the key is back at its previous
 * version, whose buffers a replacement never drained did not release.
 * Each round stops earlier, so this ends. */
static int
recover(struct obj_store *st, struct pst_pool *pool)
{
	uint64_t stop = UINT64_MAX, cut, mark = 0;
	int ret;

	for (;;) {
		ret = obj_mpu_init(st);
		if (ret != 0)
			return ret;
		ret = obj_log_open_before(&st->log, pool, OBJ_STORE_ROOT_SLOT, stop, replay, st);
		if (ret != 0)
			return ret;
		/* Records before the mark were drained with their bytes: only
		 * those after it can have reached the medium without them. A
		 * cut is never before it, so the first round's mark holds. */
		if (stop == UINT64_MAX)
			mark = mark_found(st);
		cut = first_cut(st, mark);
		if (cut == UINT64_MAX)
			break;
		st->fallbacks++;
		stop = cut;
		replay_reset(st);
	}
	for (size_t i = 0; i < st->n_objs; i++) {
		free(st->objs[i].v->sums);
		st->objs[i].v->sums = NULL;
		st->objs[i].v->n_sums = 0;
	}
	st->mark_at_open = mark;
	return mark_settle(st, mark);
}

int
obj_store_open(struct obj_store *st, struct pst_pool *pool)
{
	struct pst_pool_reconcile_report rep;
	struct pst_pool_info info;
	pst_name *names = NULL;
	size_t n = 0, cap, i;
	uint32_t j;
	int ret;

	memset(st, 0, sizeof(*st));
	st->pool = pool;
	pst_pool_info(pool, &info);
	st->buf_size = info.buf_size;
	st->buf_count = info.buf_count;
	ret = pst_pool_root_claim(pool, OBJ_STORE_ROOT_SLOT, OBJ_STORE_OWNER, OBJ_STORE_KIND);
	if (ret != 0)
		return ret;
	ret = pst_pool_root_claim(pool, OBJ_STORE_MARK_SLOT, OBJ_STORE_OWNER, OBJ_STORE_KIND);
	if (ret != 0)
		return ret;
	st->compact_pct = OBJ_COMPACT_PCT_DEFAULT;
	st->compact_min_bufs = OBJ_COMPACT_MIN_BUFS;
	st->compact_slice = OBJ_COMPACT_SLICE_DEFAULT;
	st->compact_slice_bytes = OBJ_COMPACT_SLICE_BYTES_DEFAULT;
	st->refs = calloc(info.buf_count, sizeof(*st->refs));
	if (st->refs == NULL)
		return -ENOMEM;
	ret = recover(st, pool);
	if (ret != 0)
		goto fail;
	st->log.stages = &st->stages;
	/* Every name the index holds, and the log's own buffers, reconcile
	 * the pool: buffers kept by uploads a crash cut short are freed. */
	cap = st->log.n_bufs + 16 + obj_mpu_names_count(st);
	for (i = 0; i < st->n_objs; i++)
		cap += st->objs[i].v->n_names;
	names = malloc(cap * sizeof(*names));
	if (names == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < st->log.n_bufs; i++)
		names[n++] = pst_name_make(st->log.bufs[i], 0, 64);
	for (i = 0; i < st->n_objs; i++) {
		struct obj_version *v = st->objs[i].v;

		for (j = 0; j < v->n_names; j++)
			names[n++] = v->names[j];
		obj_store_ref_names(st, v->names, v->n_names, 1);
	}
	n += obj_mpu_names_collect(st, names + n);
	ret = pst_pool_reconcile(pool, names, n, &rep);
	free(names);
	if (ret != 0)
		goto fail;
	st->recovered_objects = st->n_objs;
	st->released_at_start = rep.released;
	{
		struct pst_pool_levels lv;

		pst_pool_levels(pool, &lv);
		st->mark_next = st->log.seq;
		st->mark_drains = lv.drains;
	}
	return 0;
fail:
	obj_store_close(st);
	return ret;
}

void
obj_store_close(struct obj_store *st)
{
	size_t i;
	int dropped = st->compact_run != NULL;

	/* A compaction under way given up (its chain free after the drain
	 * below). A clean stop: what was appended made durable, and the
	 * mark at the log's end, so that the next start hashes nothing. */
	obj_compact_abandon(st);
	if (st->mark_on && (st->log.seq > st->mark || dropped) &&
	    pst_pool_drain(st->pool) == 0) {
		mark_store(st, st->log.seq);
		(void)pst_pool_drain(st->pool);
	}
	st->mark_on = 0;
	for (i = 0; i < st->n_objs; i++) {
		version_free(st->objs[i].v);
		free(st->objs[i].key);
	}
	obj_mpu_free(st);
	free(st->objs);
	free(st->buckets);
	free(st->deferred);
	free(st->refs);
	obj_log_close(&st->log);
	st->objs = NULL;
	st->buckets = NULL;
	st->deferred = NULL;
	st->refs = NULL;
	st->n_objs = st->n_buckets = 0;
}
