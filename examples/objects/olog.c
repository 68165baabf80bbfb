/* SPDX-License-Identifier: BSD-3-Clause */
/* The object log (olog.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "olog.h"

#define BUF_MAGIC 0x42474c4fu           /* "OLGB" */
#define REC_MAGIC 0x5243454fu           /* "OREC" */

/* The head of each log buffer; the rest of its first 64 bytes is zero. */
struct buf_hdr {
	uint32_t magic;
	uint32_t crc;                   /* of magic and seq */
	uint64_t seq;                   /* its place in the chain, from 0 */
	uint64_t next;                  /* the next buffer's index + 1, or 0:
	                                 * one 8-byte store links it */
	uint64_t base;                  /* the first buffer's: the sequence
	                                 * number of its first record */
};

/* The fixed part of a record; then bucket, key, content type, metadata,
 * and the names (8 bytes each). The CRC covers every byte after itself. */
struct rec_hdr {
	uint32_t magic;
	uint32_t crc;
	uint64_t len;                   /* the whole record */
	uint64_t seq;                   /* one more than the record before */
	int64_t time;
	uint64_t size;
	uint8_t md5[16];
	uint32_t type;
	uint32_t n_names;
	uint16_t bucket_len, key_len, ctype_len, meta_len;
};

static uint32_t
buf_crc(const struct buf_hdr *h)
{
	uint32_t v[5] = { h->magic, (uint32_t)h->seq, (uint32_t)(h->seq >> 32),
			  (uint32_t)h->base, (uint32_t)(h->base >> 32) };

	/* A chain from before compaction existed has no base: its CRC covers
	 * magic and seq only, and still reads. */
	return pst_crc32c(v, h->base != 0 ? sizeof(v) : 3 * sizeof(v[0]));
}

static uint8_t *
buf_at(const struct obj_log *l, size_t i)
{
	return pst_pool_buf_addr(l->pool, l->bufs[i]);
}

static int
bufs_push(struct obj_log *l, uint32_t idx)
{
	if (l->n_bufs == l->cap_bufs) {
		size_t cap = l->cap_bufs ? l->cap_bufs * 2 : 64;
		uint32_t *b = realloc(l->bufs, cap * sizeof(*b));

		if (b == NULL)
			return -ENOMEM;
		l->bufs = b;
		l->cap_bufs = cap;
	}
	l->bufs[l->n_bufs++] = idx;
	return 0;
}

size_t
obj_log_rec_size(const struct obj_rec *r)
{
	return sizeof(struct rec_hdr) + (r->type >= OBJ_REC_MPU_CREATE ? OBJ_LOG_MPU_EXTRA : 0) +
	       (size_t)r->bucket_len + r->key_len + r->ctype_len +
	       r->meta_len + (size_t)r->n_names * sizeof(pst_name);
}

/* Copy @n bytes of the chain's stream at (*i, *off) to @dst (NULL: skip
 * them), moving the position. @return 0, or -1 when the chain ends first. */
static int
chain_read(const struct obj_log *l, size_t *i, uint32_t *off, void *dst, size_t n)
{
	uint8_t *d = dst;

	while (n > 0) {
		size_t take;

		if (*off == l->buf_size) {
			if (*i + 1 >= l->n_bufs)
				return -1;
			(*i)++;
			*off = OBJ_LOG_BUF_HDR;
		}
		take = l->buf_size - *off;
		if (take > n)
			take = n;
		if (d != NULL) {
			memcpy(d, buf_at(l, *i) + *off, take);
			d += take;
		}
		*off += (uint32_t)take;
		n -= take;
	}
	return 0;
}

static int
scratch_fit(struct obj_log *l, size_t n)
{
	uint8_t *s;

	if (n <= l->scratch_cap)
		return 0;
	s = realloc(l->scratch, n);
	if (s == NULL)
		return -ENOMEM;
	l->scratch = s;
	l->scratch_cap = n;
	return 0;
}

/* The record in l->scratch (@len bytes, its CRC checked) as @r. */
static int
rec_parse(const uint8_t *p, size_t len, struct obj_rec *r)
{
	struct rec_hdr h;
	size_t want;

	memcpy(&h, p, sizeof(h));
	memset(r, 0, sizeof(*r));
	r->type = (enum obj_rec_type)h.type;
	r->time = h.time;
	r->size = h.size;
	memcpy(r->md5, h.md5, 16);
	r->bucket_len = h.bucket_len;
	r->key_len = h.key_len;
	r->ctype_len = h.ctype_len;
	r->meta_len = h.meta_len;
	r->n_names = h.n_names;
	want = obj_log_rec_size(r);
	if (want != len || h.type < OBJ_REC_BUCKET_ADD || h.type > OBJ_REC_MPU_ABORT)
		return -1;
	p += sizeof(h);
	if (r->type >= OBJ_REC_MPU_CREATE) {
		memcpy(&r->upload_id, p, 8);
		memcpy(&r->part, p + 8, 4);
		p += OBJ_LOG_MPU_EXTRA;
	}
	r->bucket = (const char *)p;
	p += r->bucket_len;
	r->key = (const char *)p;
	p += r->key_len;
	r->ctype = (const char *)p;
	p += r->ctype_len;
	r->meta = (const char *)p;
	p += r->meta_len;
	r->names = (const pst_name *)p;  /* 8-byte aligned only by luck: */
	return 0;                          /* the replayer copies them */
}

/* Follow the chain from the root slot: buffers whose header is whole and
 * in sequence. */
static int
chain_load(struct obj_log *l)
{
	struct pst_pool_info info;
	uint64_t v, seq = 0;
	int ret;

	pst_pool_info(l->pool, &info);
	if (pst_pool_root_get(l->pool, l->slot, &v) != 0)
		return -EINVAL;
	while (v != 0 && seq < info.buf_count) {
		const struct buf_hdr *h;

		/* A buffer's link is not under its header's CRC (it is stored
		 * later, when the next buffer joins): a new buffer whose header
		 * reached the medium but not its zeroed link shows what the
		 * buffer held before. A link out of the pool is such a torn
		 * one; the root slot's is not. */
		if (v - 1 >= info.buf_count) {
			if (seq == 0)
				return -EIO;
			break;
		}
		h = pst_pool_buf_addr(l->pool, (uint32_t)(v - 1));
		if (h->magic != BUF_MAGIC || h->seq != seq || h->crc != buf_crc(h))
			break;          /* linked, never whole: a torn tail */
		ret = bufs_push(l, (uint32_t)(v - 1));
		if (ret != 0)
			return ret;
		if (seq == 0)
			l->base = l->seq = h->base;
		v = h->next;
		seq++;
	}
	return 0;
}

int
obj_log_open(struct obj_log *l, struct pst_pool *pool, unsigned int slot,
	     obj_log_replay_fn fn, void *arg)
{
	return obj_log_open_before(l, pool, slot, UINT64_MAX, fn, arg);
}

int
obj_log_open_before(struct obj_log *l, struct pst_pool *pool, unsigned int slot,
		    uint64_t stop_seq, obj_log_replay_fn fn, void *arg)
{
	struct pst_pool_info info;
	size_t i = 0, keep;
	uint32_t off = OBJ_LOG_BUF_HDR;
	int ret;

	memset(l, 0, sizeof(*l));
	l->pool = pool;
	l->slot = slot;
	pst_pool_info(pool, &info);
	l->buf_size = info.buf_size;
	ret = chain_load(l);
	if (ret != 0)
		goto fail;
	while (l->n_bufs > 0 && l->seq < stop_seq) {
		size_t ri = i;
		uint32_t roff = off;
		struct rec_hdr h;
		struct obj_rec r;

		if (chain_read(l, &ri, &roff, &h, sizeof(h)) != 0 || h.magic != REC_MAGIC ||
		    h.seq != l->seq || h.len < sizeof(h) || h.len > (uint64_t)l->n_bufs * l->buf_size)
			break;
		ri = i;
		roff = off;
		ret = scratch_fit(l, h.len);
		if (ret != 0)
			goto fail;
		if (chain_read(l, &ri, &roff, l->scratch, h.len) != 0 ||
		    pst_crc32c(l->scratch + 8, h.len - 8) != h.crc ||
		    rec_parse(l->scratch, h.len, &r) != 0)
			break;
		ret = fn(arg, &r);
		if (ret != 0)
			goto fail;
		i = ri;
		off = roff;
		l->seq++;
		l->replayed++;
		l->bytes += h.len;
	}
	/* Cut what follows: zero the rest of the tail buffer and unlink the
	 * buffers after it, durably, before anything is appended there. */
	if (l->n_bufs > 0) {
		uint8_t *b = buf_at(l, i);
		struct buf_hdr *bh = (struct buf_hdr *)b;

		for (keep = i + 1; keep < l->n_bufs; keep++)
			l->torn_bytes += l->buf_size - OBJ_LOG_BUF_HDR;
		memset(b + off, 0, l->buf_size - off);
		bh->next = 0;
		ret = pst_pool_persist(pool, b, l->buf_size);
		if (ret != 0)
			goto fail;
		l->n_bufs = i + 1;
		l->tail_off = off;
	}
	return 0;
fail:
	obj_log_close(l);
	return ret;
}

void
obj_log_flush_since(struct obj_log *l, uint64_t seq)
{
	size_t i = 0;
	uint32_t off = OBJ_LOG_BUF_HDR, end;
	uint64_t s;

	if (l->n_bufs == 0)
		return;
	/* Where record @seq starts: the headers before it, read in turn. */
	for (s = l->base; s < seq; s++) {
		size_t ri = i;
		uint32_t roff = off;
		struct rec_hdr h;

		if (chain_read(l, &ri, &roff, &h, sizeof(h)) != 0 ||
		    chain_read(l, &i, &off, NULL, h.len) != 0)
			break;          /* not replayed: nothing to flush there */
	}
	/* Its buffer's header too: its link to the next buffer. */
	pst_pool_flush(l->pool, buf_at(l, i), OBJ_LOG_BUF_HDR);
	for (; i < l->n_bufs; i++, off = 0) {
		end = i + 1 == l->n_bufs ? l->tail_off : l->buf_size;
		if (end > off)
			pst_pool_flush(l->pool, buf_at(l, i) + off, end - off);
	}
}

/* Take, keep and initialise a log buffer as number @seq of the chain. */
static int
buf_new(struct obj_log *l, uint64_t seq, uint32_t *idx)
{
	struct buf_hdr *h;
	int ret = pst_pool_take(l->pool, idx);

	if (ret != 0)
		return ret;
	ret = pst_pool_keep(l->pool, *idx);
	if (ret != 0) {
		pst_pool_release(l->pool, *idx);
		return ret;
	}
	h = pst_pool_buf_addr(l->pool, *idx);
	/* The whole buffer, not just its header: replay reads on past the
	 * last record until one does not check, and a reused buffer may
	 * hold, right there, a whole record of an older log (or of a chain
	 * cut at recovery) numbered as the next one would be. Zeros end
	 * the replay at the tail. */
	memset(h, 0, l->buf_size);
	h->magic = BUF_MAGIC;
	h->seq = seq;
	h->base = seq == 0 ? l->base : 0;
	h->crc = buf_crc(h);
	pst_pool_flush(l->pool, h, l->buf_size);
	return 0;
}

/* Write @n bytes at the tail (room ensured), moving it. */
static void
tail_write(struct obj_log *l, const void *src, size_t n)
{
	const uint8_t *s = src;

	while (n > 0) {
		size_t take;
		uint8_t *dst;

		if (l->tail_off == l->buf_size) {
			/* The next buffer is already in the chain (obj_log_append). */
			l->tail_off = OBJ_LOG_BUF_HDR;
			l->n_bufs++;
		}
		take = l->buf_size - l->tail_off;
		if (take > n)
			take = n;
		dst = buf_at(l, l->n_bufs - 1) + l->tail_off;
		memcpy(dst, s, take);
		pst_pool_flush(l->pool, dst, take);
		s += take;
		l->tail_off += (uint32_t)take;
		n -= take;
	}
}

int
obj_log_append(struct obj_log *l, const struct obj_rec *r)
{
	size_t len = obj_log_rec_size(r), room, n_new = 0, i, have;
	uint64_t t0;
	uint32_t crc;
	struct rec_hdr h;
	uint8_t *rec;
	int ret;

	if (r->type < OBJ_REC_BUCKET_ADD || r->type > OBJ_REC_MPU_ABORT)
		return -EINVAL;
	room = l->n_bufs == 0 ? 0 : l->buf_size - l->tail_off;
	while (room < len) {
		room += l->buf_size - OBJ_LOG_BUF_HDR;
		n_new++;
	}
	/* The record is assembled once, for its CRC, then written. */
	rec = malloc(len);
	if (rec == NULL)
		return -ENOMEM;
	memset(&h, 0, sizeof(h));
	h.magic = REC_MAGIC;
	h.len = len;
	h.seq = l->seq;
	h.time = r->time;
	h.size = r->size;
	memcpy(h.md5, r->md5, 16);
	h.type = r->type;
	h.n_names = r->n_names;
	h.bucket_len = r->bucket_len;
	h.key_len = r->key_len;
	h.ctype_len = r->ctype_len;
	h.meta_len = r->meta_len;
	memcpy(rec, &h, sizeof(h));
	i = sizeof(h);
	if (r->type >= OBJ_REC_MPU_CREATE) {
		memset(rec + i, 0, OBJ_LOG_MPU_EXTRA);
		memcpy(rec + i, &r->upload_id, 8);
		memcpy(rec + i + 8, &r->part, 4);
		i += OBJ_LOG_MPU_EXTRA;
	}
	memcpy(rec + i, r->bucket, r->bucket_len), i += r->bucket_len;
	if (r->key_len)
		memcpy(rec + i, r->key, r->key_len), i += r->key_len;
	if (r->ctype_len)
		memcpy(rec + i, r->ctype, r->ctype_len), i += r->ctype_len;
	if (r->meta_len)
		memcpy(rec + i, r->meta, r->meta_len), i += r->meta_len;
	if (r->n_names)
		memcpy(rec + i, r->names, (size_t)r->n_names * sizeof(pst_name));
	t0 = obj_stage_clock(l->stages);
	crc = pst_crc32c(rec + 8, len - 8);
	if (l->stages != NULL && l->stages->on)
		l->stages->crc += obj_cycles() - t0;
	memcpy(rec + 4, &crc, 4);
	/* Every buffer it needs first, so that a refusal changes nothing. */
	have = l->n_bufs;
	for (i = 0; i < n_new; i++) {
		uint32_t idx;

		ret = buf_new(l, l->n_bufs, &idx);
		if (ret == 0)
			ret = bufs_push(l, idx);
		if (ret != 0) {
			if (ret != -ENOBUFS && ret != -ENOMEM)
				ret = -ENOBUFS;
			while (l->n_bufs > have)
				pst_pool_release(l->pool, l->bufs[--l->n_bufs]);
			free(rec);
			return ret;
		}
		if (l->n_bufs == 1) {
			pst_pool_root_set(l->pool, l->slot, (uint64_t)idx + 1);
			l->tail_off = OBJ_LOG_BUF_HDR;
		} else {
			struct buf_hdr *prev = (struct buf_hdr *)buf_at(l, l->n_bufs - 2);

			prev->next = (uint64_t)idx + 1;
			pst_pool_flush(l->pool, &prev->next, sizeof(prev->next));
		}
	}
	/* tail_write steps into the new buffers: hide them until then. */
	l->n_bufs = have > 0 ? have : 1;
	tail_write(l, rec, len);
	free(rec);
	l->seq++;
	l->bytes += len;
	if (l->tee != NULL)
		l->tee(l->tee_arg, r);
	return 0;
}

int
obj_log_fresh(struct obj_log *l, struct pst_pool *pool, unsigned int slot, uint64_t base)
{
	struct pst_pool_info info;
	uint32_t idx;
	int ret;

	memset(l, 0, sizeof(*l));
	l->pool = pool;
	l->slot = slot;
	l->base = l->seq = base;
	pst_pool_info(pool, &info);
	l->buf_size = info.buf_size;
	ret = buf_new(l, 0, &idx);
	if (ret != 0)
		return ret == -ENOMEM ? ret : -ENOBUFS;
	ret = bufs_push(l, idx);
	if (ret != 0) {
		pst_pool_release(pool, idx);
		return ret;
	}
	/* Appends see n_bufs > 0 and never touch the root slot. */
	l->tail_off = OBJ_LOG_BUF_HDR;
	return 0;
}

void
obj_log_release(struct obj_log *l)
{
	size_t i;

	for (i = 0; i < l->n_bufs; i++)
		pst_pool_release(l->pool, l->bufs[i]);
	obj_log_close(l);
}

void
obj_log_close(struct obj_log *l)
{
	free(l->bufs);
	free(l->scratch);
	l->bufs = NULL;
	l->scratch = NULL;
	l->n_bufs = l->cap_bufs = l->scratch_cap = 0;
}
