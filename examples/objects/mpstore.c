/* SPDX-License-Identifier: BSD-3-Clause */
/* Unfinished multipart uploads in the store (mpstore.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "etag.h"
#include "mpstore.h"

int
obj_mpu_init(struct obj_store *st)
{
	struct obj_mpu_set *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -ENOMEM;
	s->max_uploads = OBJ_MPU_UPLOADS_DEFAULT;
	s->min_part = OBJ_MPU_MIN_PART;
	s->expiry = OBJ_MPU_EXPIRY_DEFAULT;
	/* Half of what bodies may be promised (obj_store_reserve), so that
	 * abandoned parts leave room for whole objects. */
	s->max_bytes = (st->buf_count - st->buf_count / 16) * 1024 / 2;
	st->mpu = s;
	return 0;
}

static void
upload_free(struct obj_mpu *u)
{
	uint32_t i;

	for (i = 0; i < u->n_parts; i++)
		free(u->parts[i].names);
	free(u->parts);
	free(u->key);
	free(u->ctype);
	free(u->meta);
	free(u);
}

void
obj_mpu_free(struct obj_store *st)
{
	size_t i;

	if (st->mpu == NULL)
		return;
	for (i = 0; i < st->mpu->n; i++)
		upload_free(st->mpu->u[i]);
	free(st->mpu->u);
	free(st->mpu);
	st->mpu = NULL;
}

static int
upload_cmp(const struct obj_mpu *a, const char *bucket, const char *key, size_t key_len,
	   uint64_t id)
{
	int c = strcmp(a->bucket, bucket);
	size_t n = a->key_len < key_len ? a->key_len : key_len;

	if (c != 0)
		return c;
	c = memcmp(a->key, key, n);
	if (c != 0)
		return c;
	if (a->key_len != key_len)
		return a->key_len < key_len ? -1 : 1;
	return (a->id > id) - (a->id < id);
}

/* Where an upload of @bucket/@key/@id is or goes. */
static size_t
upload_pos(const struct obj_mpu_set *s, const char *bucket, const char *key, size_t key_len,
	   uint64_t id, int *found)
{
	size_t lo = 0, hi = s->n;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = upload_cmp(s->u[mid], bucket, key, key_len, id);

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

static struct obj_mpu *
upload_get(const struct obj_store *st, const char *bucket, const char *key, size_t key_len,
	   uint64_t id)
{
	int found;
	size_t i = upload_pos(st->mpu, bucket, key, key_len, id, &found);

	return found ? st->mpu->u[i] : NULL;
}

static char *
dup_mem(const char *p, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		if (n)
			memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

/* A new upload in DRAM (not recorded). */
static int
upload_insert(struct obj_store *st, const char *bucket, size_t bucket_len, const char *key,
	      size_t key_len, const char *ctype, size_t ctype_len, const char *meta,
	      size_t meta_len, int64_t now, uint64_t id, struct obj_mpu **out)
{
	struct obj_mpu_set *s = st->mpu;
	struct obj_mpu *u;
	size_t i;
	int found;

	if (bucket_len >= sizeof(u->bucket))
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return -ENOMEM;
	memcpy(u->bucket, bucket, bucket_len);
	u->id = id;
	u->key = dup_mem(key, key_len);
	u->ctype = dup_mem(ctype, ctype_len);
	u->meta = dup_mem(meta, meta_len);
	u->key_len = (uint16_t)key_len;
	u->ctype_len = (uint16_t)ctype_len;
	u->meta_len = (uint16_t)meta_len;
	u->initiated = now;
	if (u->key == NULL || u->ctype == NULL || u->meta == NULL)
		goto nomem;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct obj_mpu **a = realloc(s->u, cap * sizeof(*a));

		if (a == NULL)
			goto nomem;
		s->u = a;
		s->cap = cap;
	}
	i = upload_pos(s, u->bucket, key, key_len, id, &found);
	if (found) {
		upload_free(u);
		return -EEXIST;
	}
	memmove(&s->u[i + 1], &s->u[i], (s->n - i) * sizeof(*s->u));
	s->u[i] = u;
	s->n++;
	*out = u;
	return 0;
nomem:
	upload_free(u);
	return -ENOMEM;
}

/* Take @u out of the set (not freed). */
static void
upload_remove(struct obj_store *st, struct obj_mpu *u)
{
	struct obj_mpu_set *s = st->mpu;
	int found;
	size_t i = upload_pos(s, u->bucket, u->key, u->key_len, u->id, &found);

	if (!found)
		return;
	memmove(&s->u[i], &s->u[i + 1], (s->n - i - 1) * sizeof(*s->u));
	s->n--;
	s->bytes -= u->bytes < s->bytes ? u->bytes : s->bytes;
}

static uint32_t
part_pos(const struct obj_mpu *u, unsigned int number, int *found)
{
	uint32_t lo = 0, hi = u->n_parts;

	*found = 0;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (u->parts[mid].number == number) {
			*found = 1;
			return mid;
		}
		if (u->parts[mid].number < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct obj_mpu_part *
obj_mpu_part_find(const struct obj_mpu *u, unsigned int number)
{
	int found;
	uint32_t i = part_pos(u, number, &found);

	return found ? &u->parts[i] : NULL;
}

/* Part @p (its names owned) into @u; a part of that number it replaces
 * is returned in *@old (its names for the caller to release), or
 * old->names NULL. @return 0 or -ENOMEM. */
static int
part_set(struct obj_store *st, struct obj_mpu *u, const struct obj_mpu_part *p,
	 struct obj_mpu_part *old)
{
	int found;
	uint32_t i = part_pos(u, p->number, &found);

	memset(old, 0, sizeof(*old));
	if (found) {
		*old = u->parts[i];
		u->bytes -= old->size;
		st->mpu->bytes -= old->size < st->mpu->bytes ? old->size : st->mpu->bytes;
		u->parts[i] = *p;
	} else {
		if (u->n_parts == u->cap_parts) {
			uint32_t cap = u->cap_parts ? u->cap_parts * 2 : 8;
			struct obj_mpu_part *a = realloc(u->parts, cap * sizeof(*a));

			if (a == NULL)
				return -ENOMEM;
			u->parts = a;
			u->cap_parts = cap;
		}
		memmove(&u->parts[i + 1], &u->parts[i], (u->n_parts - i) * sizeof(*u->parts));
		u->parts[i] = *p;
		u->n_parts++;
	}
	u->bytes += p->size;
	st->mpu->bytes += p->size;
	return 0;
}

int
obj_mpu_replay(struct obj_store *st, const struct obj_rec *r)
{
	struct obj_mpu *u;
	struct obj_mpu_part p, old;
	char bucket[64];
	uint32_t i;
	int ret;

	if (r->bucket_len >= sizeof(bucket))
		return -EIO;
	memcpy(bucket, r->bucket, r->bucket_len);
	bucket[r->bucket_len] = '\0';
	if (r->type == OBJ_REC_MPU_CREATE) {
		ret = upload_insert(st, r->bucket, r->bucket_len, r->key, r->key_len, r->ctype,
				    r->ctype_len, r->meta, r->meta_len, r->time, r->upload_id, &u);
		return ret == -EEXIST ? 0 : ret;
	}
	u = upload_get(st, bucket, r->key, r->key_len, r->upload_id);
	if (u == NULL)
		return 0;       /* ended already: nothing to do */
	switch (r->type) {
	case OBJ_REC_MPU_PART:
		memset(&p, 0, sizeof(p));
		p.number = r->part;
		p.seq = st->log.seq;
		p.size = r->size;
		p.mtime = r->time;
		memcpy(p.md5, r->md5, 16);
		p.n_names = r->n_names;
		p.names = malloc(((size_t)r->n_names + 1) * sizeof(pst_name));
		if (p.names == NULL)
			return -ENOMEM;
		/* Copied before they are read: in the record they are not
		 * 8-byte aligned (olog.c). */
		memcpy(p.names, r->names, (size_t)r->n_names * sizeof(pst_name));
		for (i = 0; i < r->n_names; i++) {
			if (!pst_pool_name_valid(st->pool, p.names[i])) {
				free(p.names);
				return -EIO;
			}
		}
		ret = part_set(st, u, &p, &old);
		if (ret != 0) {
			free(p.names);
			return ret;
		}
		free(old.names);        /* references are counted after the replay */
		return 0;
	case OBJ_REC_MPU_DONE:
	case OBJ_REC_MPU_ABORT:
		upload_remove(st, u);
		upload_free(u);
		return 0;
	default:
		return -EIO;
	}
}

int
obj_mpu_done_sums(const struct obj_store *st, const struct obj_rec *r, struct obj_version *v)
{
	char bucket[64];
	struct obj_mpu *u;
	uint32_t i, pos = 0, n = 0;

	if (r->bucket_len >= sizeof(bucket))
		return 0;
	memcpy(bucket, r->bucket, r->bucket_len);
	bucket[r->bucket_len] = '\0';
	u = upload_get(st, bucket, r->key, r->key_len, r->upload_id);
	if (u == NULL || u->n_parts == 0)
		return 0;
	v->sums = calloc(u->n_parts, sizeof(*v->sums));
	if (v->sums == NULL)
		return -ENOMEM;
	/* The completion named some of the parts, in order, each whole: a
	 * part is one of them when its names come next (an empty part's
	 * bytes check alike either way). */
	for (i = 0; i < u->n_parts; i++) {
		const struct obj_mpu_part *p = &u->parts[i];

		if (pos + p->n_names > r->n_names ||
		    memcmp(v->names + pos, p->names, (size_t)p->n_names * sizeof(pst_name)) != 0)
			continue;
		memcpy(v->sums[n].md5, p->md5, 16);
		v->sums[n].n_names = p->n_names;
		pos += p->n_names;
		n++;
	}
	if (pos != r->n_names) {
		free(v->sums);
		v->sums = NULL;
		return 0;
	}
	v->n_sums = n;
	return 0;
}

uint64_t
obj_mpu_first_cut(const struct obj_store *st, uint64_t from, uint64_t *hashed)
{
	uint64_t first = UINT64_MAX;
	size_t i;
	uint32_t j;

	for (i = 0; i < st->mpu->n; i++)
		for (j = 0; j < st->mpu->u[i]->n_parts; j++) {
			const struct obj_mpu_part *p = &st->mpu->u[i]->parts[j];

			if (p->seq < from || p->seq >= first)
				continue;
			*hashed += p->size;
			if (!obj_store_names_whole(st, p->names, p->n_names, p->md5))
				first = p->seq;
		}
	return first;
}

void
obj_mpu_flush_since(struct obj_store *st, uint64_t from)
{
	size_t i;
	uint32_t j, k;

	for (i = 0; i < st->mpu->n; i++)
		for (j = 0; j < st->mpu->u[i]->n_parts; j++) {
			const struct obj_mpu_part *p = &st->mpu->u[i]->parts[j];

			for (k = 0; p->seq >= from && k < p->n_names; k++)
				pst_pool_flush(st->pool, pst_pool_name_to_addr(st->pool, p->names[k]),
					       pst_name_length(p->names[k]));
		}
}

size_t
obj_mpu_names_count(const struct obj_store *st)
{
	size_t n = 0, i;
	uint32_t j;

	for (i = 0; i < st->mpu->n; i++)
		for (j = 0; j < st->mpu->u[i]->n_parts; j++)
			n += st->mpu->u[i]->parts[j].n_names;
	return n;
}

size_t
obj_mpu_names_collect(struct obj_store *st, pst_name *out)
{
	size_t n = 0, i;
	uint32_t j;

	for (i = 0; i < st->mpu->n; i++) {
		struct obj_mpu *u = st->mpu->u[i];

		for (j = 0; j < u->n_parts; j++) {
			struct obj_mpu_part *p = &u->parts[j];

			memcpy(out + n, p->names, (size_t)p->n_names * sizeof(pst_name));
			n += p->n_names;
			obj_store_ref_names(st, p->names, p->n_names, 1);
		}
	}
	return n;
}

int
obj_mpu_in_bucket(const struct obj_store *st, const char *bucket)
{
	size_t i;

	if (st->mpu == NULL)
		return 0;
	for (i = 0; i < st->mpu->n; i++)
		if (strcmp(st->mpu->u[i]->bucket, bucket) == 0)
			return 1;
	return 0;
}

void
obj_mpu_id_str(const struct obj_mpu *u, char out[OBJ_MPU_ID_LEN + 1])
{
	snprintf(out, OBJ_MPU_ID_LEN + 1, "%016" PRIx64, u->id);
}

struct obj_mpu *
obj_mpu_find(const struct obj_store *st, const char *bucket, const char *key, size_t key_len,
	     const char *id, size_t id_len)
{
	uint64_t v = 0;
	size_t i;

	if (id == NULL || id_len != OBJ_MPU_ID_LEN)
		return NULL;
	for (i = 0; i < id_len; i++) {
		char c = id[i];
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned int)(c - 'a' + 10);
		else
			return NULL;
		v = v << 4 | d;
	}
	return upload_get(st, bucket, key, key_len, v);
}

int
obj_mpu_create(struct obj_store *st, const char *bucket, const char *key, size_t key_len,
	       const char *ctype, size_t ctype_len, const char *meta, size_t meta_len,
	       int64_t now, struct obj_mpu **out)
{
	struct obj_rec r = {
		.type = OBJ_REC_MPU_CREATE, .time = now,
		.bucket = bucket, .bucket_len = (uint16_t)strlen(bucket),
		.key = key, .key_len = (uint16_t)key_len,
		.ctype = ctype, .ctype_len = (uint16_t)ctype_len,
		.meta = meta, .meta_len = (uint16_t)meta_len,
	};
	struct obj_mpu *u;
	unsigned int tries;
	int ret;

	if (st->mpu->n >= st->mpu->max_uploads)
		return -EDQUOT;
	/* A random id: not guessable from another's, and unique across
	 * restarts without a counter in the log. */
	for (tries = 0; tries < 8; tries++) {
		randombytes_buf(&r.upload_id, sizeof(r.upload_id));
		if (r.upload_id != 0 && upload_get(st, bucket, key, key_len, r.upload_id) == NULL)
			break;
	}
	ret = upload_insert(st, bucket, r.bucket_len, key, key_len, ctype, ctype_len, meta,
			    meta_len, now, r.upload_id, &u);
	if (ret != 0)
		return ret == -EEXIST ? -ENOMEM : ret;
	/* Not obj_store_append: a compaction now would write this upload
	 * (in DRAM already) into the new chain, and a failed append could
	 * not take it back. */
	ret = obj_log_append(&st->log, &r);
	if (ret != 0) {
		upload_remove(st, u);
		upload_free(u);
		return ret;
	}
	st->mpu->created++;
	*out = u;
	return 0;
}

int
obj_mpu_bytes_fit(const struct obj_store *st, uint64_t len)
{
	return st->mpu->bytes + st->mpu->arriving + len <= st->mpu->max_bytes;
}

int
obj_mpu_part_put(struct obj_store *st, struct obj_mpu *u, unsigned int number,
		 struct obj_version *v, int64_t now)
{
	struct obj_rec r = {
		.type = OBJ_REC_MPU_PART, .time = now, .size = v->size,
		.bucket = u->bucket, .bucket_len = (uint16_t)strlen(u->bucket),
		.key = u->key, .key_len = u->key_len,
		.names = v->names, .n_names = v->n_names,
		.upload_id = u->id, .part = number,
	};
	struct obj_mpu_part p = { 0 }, old;
	int ret;

	memcpy(r.md5, v->md5, 16);
	/* Room first, so that a recorded part always lands in DRAM. */
	if (u->n_parts == u->cap_parts) {
		uint32_t cap = u->cap_parts ? u->cap_parts * 2 : 8;
		struct obj_mpu_part *a = realloc(u->parts, cap * sizeof(*a));

		if (a == NULL)
			return -ENOMEM;
		u->parts = a;
		u->cap_parts = cap;
	}
	ret = obj_store_append(st, &r);
	if (ret != 0)
		return ret;
	p.number = number;
	p.size = v->size;
	p.mtime = now;
	memcpy(p.md5, v->md5, 16);
	p.names = v->names;
	p.n_names = v->n_names;
	(void)part_set(st, u, &p, &old);        /* room made above */
	if (old.names != NULL) {
		obj_store_unref_later(st, old.names, old.n_names);
		free(old.names);
	}
	obj_etag_single(v->md5, v->etag);
	v->names = NULL;
	v->n_names = 0;
	st->mpu->parts++;
	return 0;
}

/* Release @u's parts after the next drain, and free it. */
static void
upload_end(struct obj_store *st, struct obj_mpu *u)
{
	uint32_t i;

	upload_remove(st, u);
	for (i = 0; i < u->n_parts; i++)
		obj_store_unref_later(st, u->parts[i].names, u->parts[i].n_names);
	upload_free(u);
}

int
obj_mpu_complete(struct obj_store *st, struct obj_mpu *u, const uint32_t *idx, uint32_t n,
		 int64_t now, char etag[OBJ_ETAG_MAX])
{
	struct obj_rec r = {
		.type = OBJ_REC_MPU_DONE, .time = now,
		.bucket = u->bucket, .bucket_len = (uint16_t)strlen(u->bucket),
		.key = u->key, .key_len = u->key_len,
		.ctype = u->ctype, .ctype_len = u->ctype_len,
		.meta = u->meta, .meta_len = u->meta_len,
		.upload_id = u->id, .part = n,
	};
	struct obj_version *v;
	struct obj_md5 m;
	uint64_t names = 0, size = 0;
	uint32_t i;
	int ret;

	for (i = 0; i < n; i++) {
		names += u->parts[idx[i]].n_names;
		size += u->parts[idx[i]].size;
	}
	if (names > UINT32_MAX)
		return -ENOMEM;
	v = obj_version_new(u->ctype, u->ctype_len, u->meta, u->meta_len, (uint32_t)names);
	if (v == NULL || obj_md5_init(&m) != 0) {
		obj_version_put(st, v);
		return -ENOMEM;
	}
	/* The object is its parts' names in order: no byte is copied. */
	for (i = 0; i < n; i++) {
		const struct obj_mpu_part *p = &u->parts[idx[i]];

		memcpy(v->names + v->n_names, p->names, (size_t)p->n_names * sizeof(pst_name));
		v->n_names += p->n_names;
		obj_md5_update(&m, p->md5, 16);
	}
	obj_md5_final(&m, v->md5);
	v->size = size;
	v->mtime = now;
	v->parts = n;
	obj_etag_parts(v->md5, n, v->etag);
	memcpy(r.md5, v->md5, 16);
	r.size = size;
	r.names = v->names;
	r.n_names = v->n_names;
	obj_store_ref_names(st, v->names, v->n_names, 1);
	{
		char bucket[64];

		snprintf(bucket, sizeof(bucket), "%s", u->bucket);
		ret = obj_store_put_rec(st, &r, bucket, v);
	}
	if (ret != 0) {
		/* The parts still hold every buffer: nothing is released. */
		obj_store_ref_names(st, v->names, v->n_names, -1);
		v->n_names = 0;
		obj_version_put(st, v);
		return ret;
	}
	memcpy(etag, v->etag, OBJ_ETAG_MAX);
	upload_end(st, u);
	st->mpu->completed++;
	return 0;
}

int
obj_mpu_abort(struct obj_store *st, struct obj_mpu *u, int expired)
{
	struct obj_rec r = {
		.type = OBJ_REC_MPU_ABORT,
		.bucket = u->bucket, .bucket_len = (uint16_t)strlen(u->bucket),
		.key = u->key, .key_len = u->key_len, .upload_id = u->id,
	};
	int ret = obj_store_append(st, &r);

	if (ret != 0)
		return ret;
	upload_end(st, u);
	if (expired)
		st->mpu->expired++;
	else
		st->mpu->aborted++;
	return 0;
}

void
obj_mpu_expire(struct obj_store *st, int64_t now)
{
	struct obj_mpu_set *s;
	size_t i;

	if (st == NULL || st->mpu == NULL)
		return;
	s = st->mpu;
	if (now == s->last_sweep || s->expiry <= 0)
		return;
	s->last_sweep = now;
	for (i = 0; i < s->n;) {
		if (now - s->u[i]->initiated < s->expiry) {
			i++;
			continue;
		}
		if (obj_mpu_abort(st, s->u[i], 1) != 0)
			return;         /* no log buffer now: next second */
	}
}
