/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The packet log's ring of segments: creation, append with eviction of the
 * oldest segment, discard, and the reader paste-pcap uses.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pktlog.h"

struct pl_writer {
	struct pst_pool *pool;
	struct pl_dir *dir;
	uint32_t nseg, per_seg;
	uint32_t cur;         /* segment being filled */
	uint32_t slot;        /* next record slot in it */
	uint32_t *used;       /* records in each segment's incarnation */
	uint64_t next_seq;
	struct pl_stats st;
};

uint32_t
pl_records_per_segment(uint32_t buf_size)
{
	return (uint32_t)((buf_size - sizeof(struct pl_seg_hdr)) / sizeof(struct pl_rec));
}

uint32_t
pl_max_segments(uint32_t buf_size)
{
	return (uint32_t)((buf_size - sizeof(struct pl_dir)) / sizeof(uint32_t));
}

static uint32_t
dir_crc(const struct pl_dir *d)
{
	struct pl_dir h = *d;

	h.crc = 0;
	/* Two CRCs combined: the fixed-size header with its CRC zeroed, and
	 * the index array (so the buffer itself is never written to check). */
	return pst_crc32c(&h, sizeof(h)) ^ pst_crc32c(d->seg, d->nseg * sizeof(uint32_t));
}

/* Bytes of a directory of @p nseg segments: never 0, so the root slot's
 * name of it is never 0 (0 means "no log"), even for buffer 0. */
static uint16_t
dir_len(uint32_t nseg)
{
	return (uint16_t)(sizeof(struct pl_dir) + nseg * sizeof(uint32_t));
}

static uint32_t
seg_crc(const struct pl_seg_hdr *s)
{
	return pst_crc32c(s, offsetof(struct pl_seg_hdr, crc));
}

static uint32_t
rec_crc(const struct pl_rec *r)
{
	return pst_crc32c(r, offsetof(struct pl_rec, rcrc));
}

static void *
buf(const struct pst_pool *pool, uint32_t index)
{
	return pst_pool_buf_addr(pool, index);
}

static struct pl_rec *
seg_recs(const struct pst_pool *pool, uint32_t index)
{
	return (struct pl_rec *)((char *)buf(pool, index) + sizeof(struct pl_seg_hdr));
}

/* Start a segment's new incarnation at @p first_seq (PL_SEQ_NONE: empty). */
static void
seg_reset(struct pst_pool *pool, uint32_t index, uint64_t first_seq)
{
	struct pl_seg_hdr *s = buf(pool, index);

	if (s == NULL)  /* an index the pool refused; the directory's own */
		return;
	memset(s, 0, sizeof(*s));
	s->magic = PL_SEG_MAGIC;
	s->first_seq = first_seq;
	s->crc = seg_crc(s);
	pst_pool_flush(pool, s, sizeof(*s));
}

int
pl_create(struct pst_pool *pool, uint32_t nseg, struct pl_writer **out)
{
	struct pst_pool_info info;
	struct pl_writer *w;
	uint64_t root;
	uint32_t i, dir_index;
	int ret;

	if (pst_pool_info(pool, &info) != 0 || nseg == 0 ||
	    nseg > pl_max_segments(info.buf_size))
		return -EINVAL;
	if (pst_pool_root_get(pool, PL_ROOT_SLOT, &root) == 0 && root != 0)
		return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->used = calloc(nseg, sizeof(*w->used));
	if (w->used == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	w->pool = pool;
	w->nseg = nseg;
	w->per_seg = pl_records_per_segment(info.buf_size);
	ret = pst_pool_take(pool, &dir_index);
	if (ret != 0)
		goto fail;
	w->dir = buf(pool, dir_index);
	memset(w->dir, 0, sizeof(*w->dir));
	for (i = 0; i < nseg; i++) {
		ret = pst_pool_take(pool, &w->dir->seg[i]);
		if (ret != 0)
			goto fail_bufs;
		seg_reset(pool, w->dir->seg[i], PL_SEQ_NONE);
		ret = pst_pool_keep(pool, w->dir->seg[i]);
		if (ret != 0) {
			pst_pool_release(pool, w->dir->seg[i]);
			goto fail_bufs;
		}
	}
	w->dir->magic = PL_DIR_MAGIC;
	w->dir->nseg = nseg;
	w->dir->per_seg = w->per_seg;
	w->dir->crc = dir_crc(w->dir);
	pst_pool_flush(pool, w->dir, dir_len(nseg));
	ret = pst_pool_keep(pool, dir_index);
	if (ret != 0)
		goto fail_bufs;
	/* Directory and segments durable before the root names them. */
	ret = pst_pool_drain(pool);
	if (ret == 0)
		ret = pst_pool_root_set(pool, PL_ROOT_SLOT,
					pst_name_make(dir_index, 0, dir_len(nseg)));
	if (ret == 0)
		ret = pst_pool_drain(pool);
	if (ret != 0) {
		free(w->used);
		free(w);
		return ret;
	}
	seg_reset(pool, w->dir->seg[0], 0);
	*out = w;
	return 0;
fail_bufs:
	/* Buffers taken so far: kept ones are released, the others were
	 * released at their failure; the directory is still only lent. */
	while (i-- > 0)
		pst_pool_release(pool, w->dir->seg[i]);
	pst_pool_release(pool, dir_index);
fail:
	free(w->used);
	free(w);
	return ret;
}

int
pl_discard(struct pst_pool *pool)
{
	int ret = pst_pool_root_set(pool, PL_ROOT_SLOT, 0);

	if (ret == 0)
		ret = pst_pool_drain(pool);
	if (ret == 0)
		ret = pst_pool_reconcile(pool, NULL, 0, NULL);
	return ret;
}

/* Open the next segment; release the frames of its previous incarnation. */
static void
next_segment(struct pl_writer *w)
{
	const struct pl_rec *r;
	uint32_t i, index;

	w->cur = (w->cur + 1) % w->nseg;
	w->slot = 0;
	index = w->dir->seg[w->cur];
	/* The header first: once it names the new range, the old records are
	 * stale whatever happens to their buffers. Both reach the medium in
	 * the same drain, and a released buffer is reused only after it. */
	seg_reset(w->pool, index, w->next_seq);
	if (w->used[w->cur] == 0)
		return;
	r = seg_recs(w->pool, index);
	for (i = 0; i < w->used[w->cur]; i++)
		if (pst_pool_release(w->pool, pst_name_index(r[i].name)) != 0)
			w->st.release_errors++;
	w->st.evicted_segments++;
	w->st.evicted_frames += w->used[w->cur];
	w->used[w->cur] = 0;
}

void
pl_append(struct pl_writer *w, pst_name name, uint16_t port, uint64_t ts_ns,
	  const void *data, uint32_t len)
{
	struct pl_rec *r;

	if (w->slot == w->per_seg)
		next_segment(w);
	r = &seg_recs(w->pool, w->dir->seg[w->cur])[w->slot];
	r->seq = w->next_seq++;
	r->name = name;
	r->ts_ns = ts_ns;
	r->len = len;
	r->port = port;
	r->flags = 0;
	r->fcrc = pst_crc32c(data, len);
	r->rcrc = rec_crc(r);
	pst_pool_flush(w->pool, data, len);
	pst_pool_flush(w->pool, r, sizeof(*r));
	w->slot++;
	w->used[w->cur]++;
	w->st.records++;
}

void
pl_writer_stats(const struct pl_writer *w, struct pl_stats *st)
{
	*st = w->st;
}

uint64_t
pl_capacity(const struct pl_writer *w)
{
	return (uint64_t)w->nseg * w->per_seg;
}

void
pl_writer_free(struct pl_writer *w)
{
	if (w == NULL)
		return;
	free(w->used);
	free(w);
}

/* --- reader ------------------------------------------------------------- */

static int
dir_get(const struct pst_pool *pool, const struct pl_dir **out)
{
	struct pst_pool_info info;
	const struct pl_dir *d;
	uint64_t root;
	uint32_t i;

	if (pst_pool_info(pool, &info) != 0 ||
	    pst_pool_root_get(pool, PL_ROOT_SLOT, &root) != 0)
		return -EINVAL;
	if (root == 0)
		return -ENOENT;
	if (pst_name_index(root) >= info.buf_count)
		return -EBADMSG;
	d = buf(pool, pst_name_index(root));
	if (d->magic != PL_DIR_MAGIC || d->nseg == 0 ||
	    d->nseg > pl_max_segments(info.buf_size) ||
	    d->per_seg != pl_records_per_segment(info.buf_size) || d->crc != dir_crc(d))
		return -EBADMSG;
	for (i = 0; i < d->nseg; i++)
		if (d->seg[i] >= info.buf_count)
			return -EBADMSG;
	*out = d;
	return 0;
}

static int
cmp_seq(const void *a, const void *b)
{
	const struct pl_rec *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A record in slot @p slot of a segment starting at @p first is valid. */
static int
rec_valid(const struct pst_pool *pool, const struct pl_rec *r, uint64_t first,
	  uint32_t slot)
{
	return r->rcrc == rec_crc(r) && r->seq == first + slot &&
	       pst_pool_name_valid(pool, r->name) && pst_name_length(r->name) == r->len;
}

int
pl_read(const struct pst_pool *pool, struct pl_rec **recs, size_t *n,
	struct pl_read_report *rep)
{
	const struct pl_dir *d;
	const struct pl_seg_hdr *s;
	const struct pl_rec *r;
	struct pl_rec *out;
	size_t count = 0;
	uint32_t i, j;
	int ret = dir_get(pool, &d);

	if (ret != 0)
		return ret;
	memset(rep, 0, sizeof(*rep));
	rep->nseg = d->nseg;
	rep->per_seg = d->per_seg;
	out = malloc((size_t)d->nseg * d->per_seg * sizeof(*out) + 1);
	if (out == NULL)
		return -ENOMEM;
	for (i = 0; i < d->nseg; i++) {
		s = buf(pool, d->seg[i]);
		if (s->magic != PL_SEG_MAGIC || s->crc != seg_crc(s) ||
		    s->first_seq == PL_SEQ_NONE)
			continue;
		r = seg_recs(pool, d->seg[i]);
		for (j = 0; j < d->per_seg; j++) {
			if (!rec_valid(pool, &r[j], s->first_seq, j))
				continue;
			if (pst_crc32c(pst_pool_name_to_addr(pool, r[j].name), r[j].len) !=
			    r[j].fcrc) {
				rep->bad_frames++;
				continue;
			}
			out[count++] = r[j];
		}
	}
	qsort(out, count, sizeof(*out), cmp_seq);
	rep->records = count;
	*recs = out;
	*n = count;
	return 0;
}
