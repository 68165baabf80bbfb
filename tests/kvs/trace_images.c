/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Crash images from a persistence trace of a whole paste-kvs run
 * (src/pmempool/persist_trace.h: PASTE_PERSIST_TRACE).
 *
 * Usage: kvs_trace_images TRACE OUTDIR SEED COUNT [AFTER_NS]
 *
 * Picks COUNT drain records (seeded, spread evenly over those that ended
 * at or after AFTER_NS, CLOCK_MONOTONIC) and writes, for each, the image a
 * power loss in that record's epoch may leave: the state after the earlier
 * records' DURABLE lines plus a subset of the 8-byte words of this
 * record's lines (flushed or not), chosen at random or adversarially as
 * tests/kvs/test_store_crash.c does in-process. Buffers are told apart by
 * their first bytes: the wal's and btree's magics mark index buffers;
 * other buffers with flushed lines hold values; lines before the buffers
 * are the pool's own records (header, roots, state bytes).
 *
 * Prints one line per image:
 *   image PATH record R drains D t_lo NS t_hi NS mode NAME words W of N
 * a power loss at a time in (t_lo, t_hi]: every reply received before
 * t_hi was sent after a drain no later than t_lo's, so its operation is
 * in the image; nothing sent after t_hi is. Exit status 0, or 1 with a
 * message on stderr (unreadable trace, too few records).
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

#define LINE PST_TRACE_LINE
#define REC_HEAD 24u
#define LINE_REC (8u + LINE)

enum mode {
	M_RANDOM, M_ALL_BUT_ONE_BUF, M_ALL_BUT_ONE_VALUE_WORD, M_INDEX_ONLY,
	M_META_ONLY, M_NO_META, M_NO_VALUES, M_COUNT
};

static const char *const mode_names[M_COUNT] = {
	"random", "all-but-one-buffer", "all-but-one-value-word", "index-only",
	"pool-records-only", "no-pool-records", "no-values",
};

struct trace {
	uint8_t *data;
	size_t size;
	size_t len;               /* mapping length */
	uint64_t t_start;
	const uint8_t *image;     /* at the start */
	size_t *rec;              /* offsets of the drain records */
	size_t n_rec;
	uint64_t bufs_off, buf_size, buf_count;
};

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

static int
load(struct trace *t, const char *path)
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

static uint64_t
rec_time(const struct trace *t, size_t r)
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

static void
apply_durable(const struct trace *t, size_t r, uint8_t *state)
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

struct pick {
	enum mode mode;
	uint32_t pct;
	uint64_t victim_buf, victim_word; /* UINT64_MAX: none */
	uint64_t words, taken;
};

/* Adversarial modes choose their victim among the record's words. */
static void
choose_victim(const struct trace *t, size_t r, const uint8_t *state,
	      const enum kind *k, struct pick *p, uint64_t *rs)
{
	uint32_t n, seen = 0;
	const uint8_t *l = rec_lines(t, r, &n);

	p->victim_buf = p->victim_word = UINT64_MAX;
	for (uint32_t i = 0; i < n; i++, l += LINE_REC) {
		uint64_t off = u64_at(l) & ~(uint64_t)(LINE - 1);
		enum kind kd = kind_of(t, k, off);

		if (kd != K_VALUE && !(p->mode == M_ALL_BUT_ONE_BUF && kd != K_META))
			continue;
		for (uint32_t w = 0; w < LINE / 8; w++) {
			if (memcmp(l + 8 + 8 * w, state + off + 8 * w, 8) == 0 ||
			    rndu(rs, ++seen) != 0)
				continue;
			p->victim_buf = (off - t->bufs_off) / t->buf_size;
			p->victim_word = off / 8 + w;
		}
	}
}

static int
take_word(const struct trace *t, const enum kind *k, struct pick *p,
	  uint64_t word, uint64_t *rs)
{
	uint64_t off = word * 8;
	enum kind kd = kind_of(t, k, off);

	switch (p->mode) {
	case M_RANDOM:
		return rndu(rs, 100) < p->pct;
	case M_ALL_BUT_ONE_BUF:
		return kd == K_META || (off - t->bufs_off) / t->buf_size != p->victim_buf;
	case M_ALL_BUT_ONE_VALUE_WORD:
		return word != p->victim_word;
	case M_INDEX_ONLY:
		return kd == K_INDEX;
	case M_META_ONLY:
		return kd == K_META;
	case M_NO_META:
		return kd != K_META;
	default:
		return kd != K_VALUE;
	}
}

/* The image of a power loss in record @r's epoch, @state being the
 * drained state before it. */
static void
build(const struct trace *t, size_t r, const uint8_t *state, uint8_t *img,
      struct pick *p, uint64_t *rs)
{
	static const uint32_t pct[5] = { 0, 25, 50, 90, 100 };
	enum kind *k = classify(t, r, state);
	uint32_t n;
	const uint8_t *l = rec_lines(t, r, &n);

	memcpy(img, state, t->len);
	p->pct = pct[rndu(rs, 5)];
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
			    rndu(rs, 2) == 0)
				continue;
			memcpy(img + off + 8 * w, l + 8 + 8 * w, 8);
			p->taken++;
		}
	}
	free(k);
}

static int
write_file(const char *path, const void *data, size_t len)
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

int
main(int argc, char **argv)
{
	struct trace t = { 0 };
	uint64_t seed, rs, after = 0;
	size_t first, count, r, next = 0, *pick;
	uint8_t *state, *img;
	char path[4096];

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: %s TRACE OUTDIR SEED COUNT [AFTER_NS]\n", argv[0]);
		return 2;
	}
	seed = strtoull(argv[3], NULL, 0);
	count = strtoull(argv[4], NULL, 0);
	if (argc == 6)
		after = strtoull(argv[5], NULL, 0);
	rs = seed;
	if (load(&t, argv[1]) != 0)
		return 1;
	for (first = 0; first < t.n_rec && rec_time(&t, first) < after; first++)
		;
	if (count == 0 || t.n_rec - first < count) {
		fprintf(stderr, "%s: %zu drain records after %" PRIu64 ", %zu images wanted\n",
			argv[1], t.n_rec - first, after, count);
		return 1;
	}
	/* One record in each of COUNT equal stretches, at random within it. */
	pick = malloc(count * sizeof(*pick));
	state = malloc(t.len);
	img = malloc(t.len);
	if (pick == NULL || state == NULL || img == NULL)
		return 1;
	for (size_t i = 0; i < count; i++) {
		size_t lo = first + (t.n_rec - first) * i / count;
		size_t hi = first + (t.n_rec - first) * (i + 1) / count;

		pick[i] = lo + rndu(&rs, (uint32_t)(hi - lo));
	}
	printf("trace %s: %zu drain records, %zu after the start mark, seed %" PRIu64 "\n",
	       argv[1], t.n_rec, t.n_rec - first, seed);
	memcpy(state, t.image, t.len);
	for (r = 0; r < t.n_rec && next < count; r++) {
		if (r == pick[next]) {
			struct pick p = { .mode = (enum mode)(next % M_COUNT) };

			build(&t, r, state, img, &p, &rs);
			snprintf(path, sizeof(path), "%s/image-%04zu.pool", argv[2], next);
			if (write_file(path, img, t.len) != 0) {
				fprintf(stderr, "%s: %s\n", path, strerror(errno));
				return 1;
			}
			printf("image %s record %zu drains %" PRIu64 " t_lo %" PRIu64
			       " t_hi %" PRIu64 " mode %s words %" PRIu64 " of %" PRIu64 "\n",
			       path, r, u64_at(t.data + t.rec[r] + 8),
			       r > 0 ? rec_time(&t, r - 1) : t.t_start, rec_time(&t, r),
			       mode_names[p.mode], p.taken, p.words);
			next++;
		}
		apply_durable(&t, r, state);
	}
	free(pick);
	free(state);
	free(img);
	free(t.rec);
	free(t.data);
	return 0;
}
