/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Crash images from a persistence trace (trace_image.h). Buffers are told
 * apart by their first bytes: the wal's and btree's magics mark index
 * buffers; other buffers with flushed lines in the epoch hold values;
 * lines before the buffers are the pool's own records (header, roots,
 * state bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persist_trace.h"
#include "pool_layout.h"
#include "trace_image.h"

#define LINE PST_TRACE_LINE
#define REC_HEAD 24u
#define LINE_REC (8u + LINE)

static const char *const mode_names[TRACE_M_COUNT] = {
	"random", "all-but-one-buffer", "all-but-one-value-word", "index-only",
	"pool-records-only", "no-pool-records", "no-values",
};

uint64_t
trace_rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t
trace_rndu(uint64_t *s, uint32_t n)
{
	return (uint32_t)(trace_rnd(s) % n);
}

static uint64_t
u64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint32_t
u32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

int
trace_load(struct trace *t, const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t off, cap = 0;
	const struct pst_pool_header *h;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	t->size = (size_t)ftell(f);
	rewind(f);
	t->data = malloc(t->size + 1);
	if (t->data == NULL || fread(t->data, 1, t->size, f) != t->size) {
		fprintf(stderr, "%s: cannot read %zu bytes\n", path, t->size);
		fclose(f);
		return -1;
	}
	fclose(f);
	if (t->size < 24 || memcmp(t->data, PST_TRACE_MAGIC, 8) != 0) {
		fprintf(stderr, "%s: not a persistence trace\n", path);
		return -1;
	}
	t->len = u64_at(t->data + 8);
	t->t_start = u64_at(t->data + 16);
	if (t->len < PST_POOL_HEADER_AREA || t->len > t->size - 24) {
		fprintf(stderr, "%s: truncated start image\n", path);
		return -1;
	}
	t->image = t->data + 24;
	h = (const struct pst_pool_header *)t->image;
	t->bufs_off = h->bufs_offset;
	t->buf_size = h->buf_size;
	t->buf_count = h->buf_count;
	if (t->buf_size == 0 || t->bufs_off + t->buf_size * t->buf_count > t->len) {
		fprintf(stderr, "%s: the start image is not a pool\n", path);
		return -1;
	}
	/* A record cut short by the end of the run is left out. */
	for (off = 24 + t->len; off + REC_HEAD <= t->size;) {
		uint32_t n = u32_at(t->data + off + 4);

		if (u32_at(t->data + off) != PST_TRACE_DRAIN_MAGIC) {
			fprintf(stderr, "%s: bad drain record at %zu\n", path, off);
			return -1;
		}
		if (off + REC_HEAD + (size_t)n * LINE_REC > t->size)
			break;
		if (t->n_rec == cap) {
			cap = cap ? cap * 2 : 1024;
			t->rec = realloc(t->rec, cap * sizeof(*t->rec));
			if (t->rec == NULL)
				return -1;
		}
		t->rec[t->n_rec++] = off;
		off += REC_HEAD + (size_t)n * LINE_REC;
	}
	return 0;
}

uint64_t
trace_rec_time(const struct trace *t, size_t r)
{
	return u64_at(t->data + t->rec[r] + 16);
}

/* Lines of record @r: @n of them at the returned address. */
static const uint8_t *
rec_lines(const struct trace *t, size_t r, uint32_t *n)
{
	*n = u32_at(t->data + t->rec[r] + 4);
	return t->data + t->rec[r] + REC_HEAD;
}

void
trace_apply_durable(const struct trace *t, size_t r, uint8_t *state)
{
	uint32_t n;
	const uint8_t *l = rec_lines(t, r, &n);

	for (uint32_t i = 0; i < n; i++, l += LINE_REC) {
		uint64_t tag = u64_at(l);

		if ((tag & (LINE - 1)) == PST_TRACE_DURABLE)
			memcpy(state + (tag & ~(uint64_t)(LINE - 1)), l + 8, LINE);
	}
}

/* What a buffer is, seen from the drained state and the record. */
enum kind { K_META, K_INDEX, K_VALUE, K_OTHER };

static int
is_index_magic(const uint8_t *p)
{
	return memcmp(p, "PSTKVWL1", 8) == 0 || memcmp(p, "KVBN", 4) == 0 ||
	       memcmp(p, "KVBO", 4) == 0 || memcmp(p, "KVBR", 4) == 0;
}

static enum kind *
classify(const struct trace *t, size_t r, const uint8_t *state)
{
	enum kind *k = calloc(t->buf_count, sizeof(*k));
	uint32_t n;
	const uint8_t *l = rec_lines(t, r, &n);

	if (k == NULL)
		return NULL;
	for (uint64_t b = 0; b < t->buf_count; b++)
		k[b] = is_index_magic(state + t->bufs_off + b * t->buf_size) ?
		       K_INDEX : K_OTHER;
	for (uint32_t i = 0; i < n; i++, l += LINE_REC) {
		uint64_t tag = u64_at(l), off = tag & ~(uint64_t)(LINE - 1);
		uint64_t b;

		if (off < t->bufs_off || off >= t->bufs_off + t->buf_size * t->buf_count)
			continue;
		b = (off - t->bufs_off) / t->buf_size;
		if (off == t->bufs_off + b * t->buf_size && is_index_magic(l + 8))
			k[b] = K_INDEX;
		else if (k[b] == K_OTHER && (tag & (LINE - 1)) == PST_TRACE_DURABLE)
			k[b] = K_VALUE;
	}
	return k;
}

static enum kind
kind_of(const struct trace *t, const enum kind *k, uint64_t off)
{
	if (off < t->bufs_off || off >= t->bufs_off + t->buf_size * t->buf_count)
		return K_META;
	return k[(off - t->bufs_off) / t->buf_size];
}


/* Adversarial modes choose their victim among the record's words. */
static void
choose_victim(const struct trace *t, size_t r, const uint8_t *state,
	      const enum kind *k, struct trace_pick *p, uint64_t *rs)
{
	uint32_t n, seen = 0;
	const uint8_t *l = rec_lines(t, r, &n);

	p->victim_buf = p->victim_word = UINT64_MAX;
	for (uint32_t i = 0; i < n; i++, l += LINE_REC) {
		uint64_t off = u64_at(l) & ~(uint64_t)(LINE - 1);
		enum kind kd = kind_of(t, k, off);

		if (kd != K_VALUE && !(p->mode == TRACE_M_ALL_BUT_ONE_BUF && kd != K_META))
			continue;
		for (uint32_t w = 0; w < LINE / 8; w++) {
			if (memcmp(l + 8 + 8 * w, state + off + 8 * w, 8) == 0 ||
			    trace_rndu(rs, ++seen) != 0)
				continue;
			p->victim_buf = (off - t->bufs_off) / t->buf_size;
			p->victim_word = off / 8 + w;
		}
	}
}

static int
take_word(const struct trace *t, const enum kind *k, struct trace_pick *p,
	  uint64_t word, uint64_t *rs)
{
	uint64_t off = word * 8;
	enum kind kd = kind_of(t, k, off);

	switch (p->mode) {
	case TRACE_M_RANDOM:
		return trace_rndu(rs, 100) < p->pct;
	case TRACE_M_ALL_BUT_ONE_BUF:
		return kd == K_META || (off - t->bufs_off) / t->buf_size != p->victim_buf;
	case TRACE_M_ALL_BUT_ONE_VALUE_WORD:
		return word != p->victim_word;
	case TRACE_M_INDEX_ONLY:
		return kd == K_INDEX;
	case TRACE_M_META_ONLY:
		return kd == K_META;
	case TRACE_M_NO_META:
		return kd != K_META;
	default:
		return kd != K_VALUE;
	}
}

/* The image of a power loss in record @r's epoch, @state being the
 * drained state before it. */
void
trace_build(const struct trace *t, size_t r, const uint8_t *state, uint8_t *img,
      struct trace_pick *p, uint64_t *rs)
{
	static const uint32_t pct[5] = { 0, 25, 50, 90, 100 };
	enum kind *k = classify(t, r, state);
	uint32_t n;
	const uint8_t *l = rec_lines(t, r, &n);

	memcpy(img, state, t->len);
	p->pct = pct[trace_rndu(rs, 5)];
	p->words = p->taken = 0;
	choose_victim(t, r, state, k, p, rs);
	/* A line may come twice (as flushed, and as stored after): each of
	 * its words is taken from either version, or kept as drained. */
	for (uint32_t i = 0; i < n; i++, l += LINE_REC) {
		uint64_t off = u64_at(l) & ~(uint64_t)(LINE - 1);

		for (uint32_t w = 0; w < LINE / 8; w++) {
			if (memcmp(l + 8 + 8 * w, state + off + 8 * w, 8) == 0)
				continue;
			p->words++;
			if (!take_word(t, k, p, off / 8 + w, rs))
				continue;
			if (memcmp(img + off + 8 * w, state + off + 8 * w, 8) != 0 &&
			    trace_rndu(rs, 2) == 0)
				continue;
			memcpy(img + off + 8 * w, l + 8 + 8 * w, 8);
			p->taken++;
		}
	}
	free(k);
}

int
trace_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	const char *p = data;

	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w <= 0) {
			close(fd);
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return close(fd);
}


void
trace_free(struct trace *t)
{
	free(t->rec);
	free(t->data);
	t->rec = NULL;
	t->data = NULL;
}

uint64_t
trace_rec_drains(const struct trace *t, size_t r)
{
	return u64_at(t->data + t->rec[r] + 8);
}

const char *
trace_mode_name(enum trace_mode m)
{
	return (unsigned int)m < TRACE_M_COUNT ? mode_names[m] : "unknown";
}
