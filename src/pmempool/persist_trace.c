/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Persistence traces (persist_trace.h for the format). Two copies of the
 * mapping: @drained, the medium as of the last drain, and @flushed, each
 * line as it was when last flushed in the current epoch. Flushes copy
 * lines into @flushed (the value the drain makes durable is the flushed
 * one, not whatever was stored after the flush); a drain diffs the live
 * mapping against @drained. Only the trace mode pays for any of this.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asan_poison.h"
#include "error.h"
#include "persist_trace.h"

#define PAGE 4096u

struct pst_persist_trace {
	int fd;
	int broken;               /* a write failed: record nothing more */
	size_t len;
	uint8_t *drained;
	uint8_t *flushed;
	uint64_t *bits;           /* lines flushed in this epoch */
	uint8_t *rec;             /* the drain record being built */
	size_t rec_len, rec_cap;
};

/* The trace reads the mapping as the medium holds it, including bytes the
 * pool poisons for ASan (free buffers, bytes around a frame): those reads
 * are the trace's, not the program's, so in sanitizer builds they go
 * around ASan. Lengths are whole lines or pages. */
#ifdef PST_ASAN
__attribute__((no_sanitize_address)) static void
read_medium(void *dst, const void *src, size_t len)
{
	const volatile uint64_t *s = src;
	uint64_t *d = dst;

	for (size_t i = 0; i < len / 8; i++)
		d[i] = s[i];
}
#else
#define read_medium memcpy
#endif

/* @len bytes of the mapping at @src, readable: @src itself, or under ASan
 * a copy in @copy. */
static const uint8_t *
medium(const char *src, uint8_t *copy, size_t len)
{
#ifdef PST_ASAN
	read_medium(copy, src, len);
	return copy;
#else
	(void)copy;
	(void)len;
	return (const uint8_t *)src;
#endif
}

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

struct pst_persist_trace *
pst_persist_trace_start(const char *path, const char *base, size_t len)
{
	struct pst_persist_trace *t = calloc(1, sizeof(*t));
	uint64_t hdr[2] = { len, now_ns() };
	int ret;

	if (t == NULL) {
		pst_fail(ENOMEM, "persist trace: out of memory");
		return NULL;
	}
	t->fd = -1;
	t->len = len;
	t->drained = malloc(len);
	t->flushed = malloc(len);
	t->bits = calloc(len / PST_TRACE_LINE / 64 + 1, sizeof(uint64_t));
	if (t->drained == NULL || t->flushed == NULL || t->bits == NULL) {
		pst_fail(ENOMEM, "persist trace: no memory for two copies of %zu bytes", len);
		goto fail;
	}
	read_medium(t->drained, base, len);
	t->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (t->fd < 0) {
		pst_fail(errno, "persist trace %s: %s", path, strerror(errno));
		goto fail;
	}
	ret = write_all(t->fd, PST_TRACE_MAGIC, 8);
	if (ret == 0)
		ret = write_all(t->fd, hdr, sizeof(hdr));
	if (ret == 0)
		ret = write_all(t->fd, t->drained, len);
	if (ret != 0) {
		pst_fail(-ret, "persist trace %s: write: %s", path, strerror(-ret));
		goto fail;
	}
	return t;
fail:
	pst_persist_trace_stop(t);
	return NULL;
}

void
pst_persist_trace_flushed(struct pst_persist_trace *t, const char *base,
			  size_t off, size_t len)
{
	size_t lo = off / PST_TRACE_LINE, hi = (off + len + PST_TRACE_LINE - 1) / PST_TRACE_LINE;

	if (len == 0)
		return;
	read_medium(t->flushed + lo * PST_TRACE_LINE, base + lo * PST_TRACE_LINE,
	       (hi - lo) * PST_TRACE_LINE);
	for (size_t l = lo; l < hi; l++)
		t->bits[l / 64] |= 1ull << (l % 64);
}

static int
is_flushed(const struct pst_persist_trace *t, size_t line)
{
	return (t->bits[line / 64] >> (line % 64)) & 1;
}

static int
add_line(struct pst_persist_trace *t, size_t off, uint64_t kind, const uint8_t *data)
{
	uint64_t tag = (uint64_t)off | kind;

	if (t->rec_len + 8 + PST_TRACE_LINE > t->rec_cap) {
		size_t cap = t->rec_cap ? t->rec_cap * 2 : 1u << 16;
		uint8_t *rec = realloc(t->rec, cap);

		if (rec == NULL)
			return -ENOMEM;
		t->rec = rec;
		t->rec_cap = cap;
	}
	memcpy(t->rec + t->rec_len, &tag, 8);
	memcpy(t->rec + t->rec_len + 8, data, PST_TRACE_LINE);
	t->rec_len += 8 + PST_TRACE_LINE;
	return 0;
}

/* MAYBE lines: the live mapping where it differs from the drained state
 * and is not just the flushed value (that one is the DURABLE line). */
static int
add_maybe(struct pst_persist_trace *t, const char *base)
{
	uint8_t copy[PAGE];

	for (size_t pg = 0; pg < t->len; pg += PAGE) {
		size_t end = pg + PAGE < t->len ? pg + PAGE : t->len;
		const uint8_t *page = medium(base + pg, copy, end - pg);

		if (memcmp(page, t->drained + pg, end - pg) == 0)
			continue;
		for (size_t off = pg; off < end; off += PST_TRACE_LINE) {
			const uint8_t *live = page + (off - pg);
			int ret;

			if (memcmp(live, t->drained + off, PST_TRACE_LINE) == 0 ||
			    (is_flushed(t, off / PST_TRACE_LINE) &&
			     memcmp(live, t->flushed + off, PST_TRACE_LINE) == 0))
				continue;
			ret = add_line(t, off, PST_TRACE_MAYBE, live);
			if (ret != 0)
				return ret;
		}
	}
	return 0;
}

/* DURABLE lines, and the drained state moves on to them. */
static int
add_durable(struct pst_persist_trace *t)
{
	size_t words = t->len / PST_TRACE_LINE / 64 + 1;

	for (size_t w = 0; w < words; w++) {
		while (t->bits[w] != 0) {
			size_t off = (w * 64 + (size_t)__builtin_ctzll(t->bits[w])) *
				     PST_TRACE_LINE;
			int ret;

			t->bits[w] &= t->bits[w] - 1;
			if (memcmp(t->flushed + off, t->drained + off, PST_TRACE_LINE) == 0)
				continue;
			ret = add_line(t, off, PST_TRACE_DURABLE, t->flushed + off);
			if (ret != 0)
				return ret;
			memcpy(t->drained + off, t->flushed + off, PST_TRACE_LINE);
		}
	}
	return 0;
}

int
pst_persist_trace_drained(struct pst_persist_trace *t, const char *base,
			  uint64_t drains)
{
	uint32_t head[2] = { PST_TRACE_DRAIN_MAGIC, 0 };
	uint64_t when = now_ns();
	int ret;

	if (t->broken)
		return -EIO;
	t->rec_len = 0;
	ret = add_maybe(t, base);
	if (ret == 0)
		ret = add_durable(t);
	head[1] = (uint32_t)(t->rec_len / (8 + PST_TRACE_LINE));
	if (ret == 0)
		ret = write_all(t->fd, head, sizeof(head));
	if (ret == 0)
		ret = write_all(t->fd, &drains, 8);
	if (ret == 0)
		ret = write_all(t->fd, &when, 8);
	if (ret == 0)
		ret = write_all(t->fd, t->rec, t->rec_len);
	if (ret != 0) {
		t->broken = 1;
		return pst_fail(-ret, "persist trace: %s; the trace stops here",
				strerror(-ret));
	}
	return 0;
}

void
pst_persist_trace_stop(struct pst_persist_trace *t)
{
	if (t == NULL)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t->drained);
	free(t->flushed);
	free(t->bits);
	free(t->rec);
	free(t);
}
