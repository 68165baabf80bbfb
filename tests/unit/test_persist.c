/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The persistence module: mode names, flush/drain/msync accounting through a
 * real pool, range checks, and the test hook (order of flushes and drains).
 */
#include "pst_test_util.h"

#include <sys/mman.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "persist.h"
#include "persist_trace.h"

#define POOL_COUNT 64u
#define POOL_BUF 2176u

/* ---- hook recorder --------------------------------------------------------- */

enum ev_type { EV_FLUSH = 1, EV_DRAIN = 2 };

struct ev {
	enum ev_type type;
	const char *addr;
	size_t len;
};

#define EV_MAX 65536
static struct ev evs[EV_MAX];
static size_t n_evs;
static size_t evs_overflow;
static int hook_ctx_tag;
static int hook_ctx_bad;

static void
rec_flush(void *ctx, const void *addr, size_t len)
{
	if (ctx != &hook_ctx_tag)
		hook_ctx_bad++;
	if (n_evs == EV_MAX) {
		evs_overflow++;
		return;
	}
	evs[n_evs++] = (struct ev){ EV_FLUSH, addr, len };
}

static void
rec_drain(void *ctx)
{
	if (ctx != &hook_ctx_tag)
		hook_ctx_bad++;
	if (n_evs == EV_MAX) {
		evs_overflow++;
		return;
	}
	evs[n_evs++] = (struct ev){ EV_DRAIN, NULL, 0 };
}

static const struct pst_persist_hook recorder = {
	.on_flush = rec_flush,
	.on_drain = rec_drain,
	.ctx = &hook_ctx_tag,
};

static void
ev_reset(void)
{
	n_evs = 0;
	evs_overflow = 0;
	hook_ctx_bad = 0;
}

/* First flush event in [from, to) covering byte @p, or -1. */
static long
ev_find_flush_covering(size_t from, size_t to, const void *p)
{
	const char *c = p;

	for (size_t i = from; i < to && i < n_evs; i++)
		if (evs[i].type == EV_FLUSH && evs[i].addr <= c &&
		    c < evs[i].addr + evs[i].len)
			return (long)i;
	return -1;
}

static long
ev_find_drain(size_t from, size_t to)
{
	for (size_t i = from; i < to && i < n_evs; i++)
		if (evs[i].type == EV_DRAIN)
			return (long)i;
	return -1;
}

static size_t
ev_count(size_t from, size_t to, enum ev_type t)
{
	size_t n = 0;

	for (size_t i = from; i < to && i < n_evs; i++)
		n += evs[i].type == t;
	return n;
}

/* ---- fixtures ------------------------------------------------------------- */

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("persist");
}

static int
group_teardown(void **state)
{
	(void)state;
	return tu_group_teardown_common();
}

static int
test_teardown(void **state)
{
	ev_reset();
	return tu_test_teardown(state);
}

/* Address of the state byte of buffer @index in the current mapping. */
static const char *
state_byte(const struct pst_pool *p, uint32_t index)
{
	struct pst_pool_info info = tu_info(p);
	const struct pst_pool_header *h = info.base;

	return (const char *)info.base + h->state_offset + index;
}

/* ---- mode names -------------------------------------------------------------- */

static void
test_mode_names(void **state)
{
	static const struct {
		enum pst_persist_mode mode;
		const char *name;
	} modes[] = {
		{ PST_PERSIST_AUTO, "auto" },
		{ PST_PERSIST_FLUSH, "flush" },
		{ PST_PERSIST_MSYNC, "msync" },
		{ PST_PERSIST_FENCE, "fence" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		enum pst_persist_mode m = (enum pst_persist_mode)77;
		const char *n = pst_persist_mode_name(modes[i].mode);

		assert_non_null(n);
		assert_string_equal(n, modes[i].name);
		assert_int_equal(pst_persist_mode_parse(n, &m), 0);
		assert_int_equal(m, modes[i].mode);
	}
}

static void
test_mode_parse_unknown(void **state)
{
	static const char *bad[] = { "", "bogus", "flus", "flushx", "msync ",
				     " auto", "fence\n" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum pst_persist_mode m = PST_PERSIST_FENCE;

		tu_assert_rc(pst_persist_mode_parse(bad[i], &m), -EINVAL);
		/* The output is left alone on failure. */
		assert_int_equal(m, PST_PERSIST_FENCE);
	}
	/* Bad input never crashes the library. */
	enum pst_persist_mode m = PST_PERSIST_FENCE;
	tu_assert_rc(pst_persist_mode_parse(NULL, &m), -EINVAL);
}

/* ---- the module itself (white box) -------------------------------------------- */

static void
test_persist_init_resolves_auto(void **state)
{
	size_t len = 1u << 20;
	char *map = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct pst_persist p;

	(void)state;
	assert_true(map != MAP_FAILED);

	memset(&p, 0x5a, sizeof(p));
	assert_int_equal(pst_persist_init(&p, PST_PERSIST_AUTO, map, len, 0), 0);
	assert_int_equal(p.mode, PST_PERSIST_MSYNC);
	assert_int_equal(p.flushes, 0);
	assert_int_equal(p.bytes_flushed, 0);
	assert_int_equal(p.drains, 0);
	assert_int_equal(p.msyncs, 0);

	memset(&p, 0x5a, sizeof(p));
	assert_int_equal(pst_persist_init(&p, PST_PERSIST_AUTO, map, len, 1), 0);
	assert_true(p.mode == PST_PERSIST_FLUSH || p.mode == PST_PERSIST_FENCE);

	for (int m = PST_PERSIST_FLUSH; m <= PST_PERSIST_FENCE; m++) {
		memset(&p, 0x5a, sizeof(p));
		assert_int_equal(pst_persist_init(&p, (enum pst_persist_mode)m,
						  map, len, 0), 0);
		assert_int_equal(p.mode, m);
	}
	tu_assert_rc(pst_persist_init(&p, (enum pst_persist_mode)42, map, len, 0),
		     -EINVAL);

	/* Range checks of the module: inside, at the edges, outside. */
	assert_int_equal(pst_persist_init(&p, PST_PERSIST_FLUSH, map, len, 0), 0);
	assert_int_equal(pst_persist_flush(&p, map, len), 0);
	assert_int_equal(pst_persist_flush(&p, map + len - 1, 1), 0);
	tu_assert_rc(pst_persist_flush(&p, map + len - 1, 2), -EINVAL);
	tu_assert_rc(pst_persist_flush(&p, map - 1, 1), -EINVAL);
	tu_assert_rc(pst_persist_flush(&p, map + 64, SIZE_MAX), -EINVAL);
	assert_int_equal(pst_persist_drain(&p), 0);
	assert_int_equal(p.flushes, 2);
	/* "bytes covered": the lengths, or whole lines around them */
	assert_in_range(p.bytes_flushed, len + 1, len + 64);
	assert_int_equal(p.drains, 1);
	assert_int_equal(p.msyncs, 0);
	munmap(map, len);
}

/* ---- through a real pool ------------------------------------------------------ */

static void
test_flush_counters_flush_mode(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_info info;
	struct pst_pool_stats s0, s1;

	(void)state;
	p = tu_must_create(tu_path(path, sizeof(path), "flushmode"), POOL_BUF,
			   POOL_COUNT, PST_PERSIST_FLUSH);
	info = tu_info(p);
	assert_int_equal(info.persist_mode, PST_PERSIST_FLUSH);

	char *b0 = pst_pool_buf_addr(p, 0);
	assert_non_null(b0);
	memset(b0, 0xab, POOL_BUF);

	s0 = tu_stats(p);
	assert_int_equal(pst_pool_flush(p, b0, 4096), 0);
	s1 = tu_stats(p);
	assert_int_equal(s1.flushes, s0.flushes + 1);
	assert_int_equal(s1.bytes_flushed, s0.bytes_flushed + 4096);
	assert_int_equal(s1.drains, s0.drains);

	assert_int_equal(pst_pool_flush(p, b0 + 64, 128), 0);
	assert_int_equal(pst_pool_flush(p, b0 + 1024, 64), 0);
	s1 = tu_stats(p);
	assert_int_equal(s1.flushes, s0.flushes + 3);
	assert_int_equal(s1.bytes_flushed, s0.bytes_flushed + 4096 + 128 + 64);

	/* Unaligned range: counted as at least its length, at most whole
	 * lines around it. */
	s0 = tu_stats(p);
	assert_int_equal(pst_pool_flush(p, b0 + 3, 100), 0);
	s1 = tu_stats(p);
	assert_int_equal(s1.flushes, s0.flushes + 1);
	assert_in_range(s1.bytes_flushed - s0.bytes_flushed, 100, 192);

	s0 = tu_stats(p);
	assert_int_equal(pst_pool_drain(p), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	s1 = tu_stats(p);
	assert_int_equal(s1.drains, s0.drains + 2);
	assert_int_equal(s1.msyncs, s0.msyncs); /* FLUSH mode never msyncs */
	assert_int_equal(s1.flushes, s0.flushes);

	/* persist = flush + drain */
	s0 = tu_stats(p);
	assert_int_equal(pst_pool_persist(p, b0, 256), 0);
	s1 = tu_stats(p);
	assert_int_equal(s1.flushes, s0.flushes + 1);
	assert_int_equal(s1.bytes_flushed, s0.bytes_flushed + 256);
	assert_int_equal(s1.drains, s0.drains + 1);
	assert_int_equal(s1.msyncs, 0);

	/* The whole mapping is a valid range. */
	assert_int_equal(pst_pool_flush(p, info.base, info.file_size), 0);
	assert_int_equal(pst_pool_drain(p), 0);

	tu_close(p);
}

static void
test_msync_mode(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_info info;
	struct pst_pool_stats s0, s1;

	(void)state;
	tu_path(path, sizeof(path), "msyncmode");
	p = tu_must_create(path, POOL_BUF, POOL_COUNT, PST_PERSIST_FLUSH);
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_MSYNC);
	info = tu_info(p);
	assert_int_equal(info.persist_mode, PST_PERSIST_MSYNC);

	char *b = pst_pool_buf_addr(p, 5);
	assert_non_null(b);
	memset(b, 0x11, POOL_BUF);

	/* A drain with nothing dirty issues no msync. */
	assert_int_equal(pst_pool_drain(p), 0); /* settle anything from open */
	s0 = tu_stats(p);
	assert_int_equal(pst_pool_drain(p), 0);
	s1 = tu_stats(p);
	assert_int_equal(s1.drains, s0.drains + 1);
	assert_int_equal(s1.msyncs, s0.msyncs);

	/* One flush, one drain: one msync. */
	s0 = tu_stats(p);
	assert_int_equal(pst_pool_flush(p, b, POOL_BUF), 0);
	s1 = tu_stats(p);
	assert_int_equal(s1.flushes, s0.flushes + 1);
	assert_int_equal(s1.bytes_flushed, s0.bytes_flushed + POOL_BUF);
	assert_int_equal(s1.msyncs, s0.msyncs); /* batched until drain */
	assert_int_equal(pst_pool_drain(p), 0);
	s1 = tu_stats(p);
	assert_int_equal(s1.drains, s0.drains + 1);
	assert_int_equal(s1.msyncs, s0.msyncs + 1);

	/* Several flushes far apart, one drain: still one msync. */
	char *far = pst_pool_buf_addr(p, POOL_COUNT - 1);
	assert_non_null(far);
	s0 = tu_stats(p);
	assert_int_equal(pst_pool_flush(p, b, 64), 0);
	assert_int_equal(pst_pool_flush(p, far, 64), 0);
	assert_int_equal(pst_pool_flush(p, info.base, 64), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	s1 = tu_stats(p);
	assert_int_equal(s1.flushes, s0.flushes + 3);
	assert_int_equal(s1.drains, s0.drains + 1);
	assert_int_equal(s1.msyncs, s0.msyncs + 1);

	/* Then nothing is dirty any more. */
	assert_int_equal(pst_pool_drain(p), 0);
	assert_int_equal(tu_stats(p).msyncs, s1.msyncs);

	/* Three drains with dirty data: three msyncs. */
	s0 = tu_stats(p);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pst_pool_flush(p, b + 64 * i, 10), 0);
		assert_int_equal(pst_pool_drain(p), 0);
	}
	s1 = tu_stats(p);
	assert_int_equal(s1.msyncs, s0.msyncs + 3);
	assert_int_equal(s1.drains, s0.drains + 3);

	/* persist() in msync mode: flush + drain = one msync. */
	s0 = tu_stats(p);
	assert_int_equal(pst_pool_persist(p, b + 7, 33), 0);
	s1 = tu_stats(p);
	assert_int_equal(s1.msyncs, s0.msyncs + 1);

	/* A flush of the last byte of the mapping works too. */
	assert_int_equal(pst_pool_persist(p, (char *)info.base +
					  info.file_size - 1, 1), 0);
	tu_close(p);
}

static void
test_fence_mode(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_stats s0, s1;

	(void)state;
	p = tu_must_create(tu_path(path, sizeof(path), "fence"), POOL_BUF,
			   POOL_COUNT, PST_PERSIST_FENCE);
	assert_int_equal(tu_info(p).persist_mode, PST_PERSIST_FENCE);
	char *b = pst_pool_buf_addr(p, 1);
	s0 = tu_stats(p);
	assert_int_equal(pst_pool_flush(p, b, 128), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	s1 = tu_stats(p);
	assert_int_equal(s1.drains, s0.drains + 1);
	assert_int_equal(s1.msyncs, s0.msyncs);
	tu_assert_rc(pst_pool_flush(p, b, SIZE_MAX), -EINVAL);
	tu_assert_rc(pst_pool_flush(p, (char *)tu_info(p).base - 64, 64),
		     -EINVAL);
	tu_close(p);
}

/* AUTO resolves to a concrete mode: msync on a page-cache file. */
static void
test_auto_mode(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_info info;

	(void)state;
	p = tu_must_create(tu_path(path, sizeof(path), "auto"), POOL_BUF,
			   POOL_COUNT, PST_PERSIST_AUTO);
	info = tu_info(p);
	assert_int_not_equal(info.persist_mode, PST_PERSIST_AUTO);
	if (!info.is_pmem)
		assert_int_equal(info.persist_mode, PST_PERSIST_MSYNC);
	else
		assert_true(info.persist_mode == PST_PERSIST_FLUSH ||
			    info.persist_mode == PST_PERSIST_FENCE);
	tu_close(p);
}

static void
check_flush_refusals(struct pst_pool *p)
{
	struct pst_pool_info info = tu_info(p);
	char *base = info.base;
	char *end = base + info.file_size;
	char on_stack[64];

	tu_assert_rc(pst_pool_flush(p, base - 64, 64), -EINVAL);
	assert_int_equal(pst_errno, EINVAL);
	tu_assert_rc(pst_pool_flush(p, base - 1, 2), -EINVAL);
	tu_assert_rc(pst_pool_flush(p, end, 1), -EINVAL);
	tu_assert_rc(pst_pool_flush(p, end - 10, 20), -EINVAL);
	tu_assert_rc(pst_pool_flush(p, base, info.file_size + 1), -EINVAL);
	tu_assert_rc(pst_pool_flush(p, base + 4096, SIZE_MAX), -EINVAL);
	tu_assert_rc(pst_pool_flush(p, base + 4096, SIZE_MAX - 4000), -EINVAL);
	tu_assert_rc(pst_pool_flush(p, NULL, 64), -EINVAL);
	tu_assert_rc(pst_pool_flush(p, on_stack, sizeof(on_stack)), -EINVAL);
	tu_assert_rc(pst_pool_persist(p, end, 64), -EINVAL);
	/* Nothing was refused that lies inside. */
	assert_int_equal(pst_pool_flush(p, end - 1, 1), 0);
	assert_int_equal(pst_pool_flush(p, base, 1), 0);
	assert_int_equal(pst_pool_drain(p), 0);
}

static void
test_flush_outside_mapping(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;

	(void)state;
	tu_path(path, sizeof(path), "outside");
	p = tu_must_create(path, POOL_BUF, POOL_COUNT, PST_PERSIST_FLUSH);
	check_flush_refusals(p);
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_MSYNC);
	check_flush_refusals(p);
	tu_close(p);
}

/* ---- hook ---------------------------------------------------------------------- */

static void
test_hook_sees_flush_and_drain(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;

	(void)state;
	p = tu_must_create(tu_path(path, sizeof(path), "hook"), POOL_BUF,
			   POOL_COUNT, PST_PERSIST_FLUSH);
	char *b = pst_pool_buf_addr(p, 3);

	ev_reset();
	pst_pool_set_persist_hook(p, &recorder);
	assert_int_equal(pst_pool_flush(p, b, 100), 0);
	assert_int_equal(pst_pool_flush(p, b + 256, 64), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	pst_pool_set_persist_hook(p, NULL);

	assert_int_equal(hook_ctx_bad, 0);
	assert_int_equal(n_evs, 3);
	assert_int_equal(evs[0].type, EV_FLUSH);
	assert_ptr_equal(evs[0].addr, b);
	assert_int_equal(evs[0].len, 100);
	assert_int_equal(evs[1].type, EV_FLUSH);
	assert_ptr_equal(evs[1].addr, b + 256);
	assert_int_equal(evs[1].len, 64);
	assert_int_equal(evs[2].type, EV_DRAIN);

	/* Removed: no more events. */
	assert_int_equal(pst_pool_persist(p, b, 64), 0);
	assert_int_equal(n_evs, 3);

	/* A hook with only one callback. */
	struct pst_persist_hook only_drain = { .on_drain = rec_drain,
					       .ctx = &hook_ctx_tag };
	ev_reset();
	pst_pool_set_persist_hook(p, &only_drain);
	assert_int_equal(pst_pool_persist(p, b, 64), 0);
	pst_pool_set_persist_hook(p, NULL);
	assert_int_equal(n_evs, 1);
	assert_int_equal(evs[0].type, EV_DRAIN);

	tu_close(p);
}

/* A hook belongs to one pool's persistence domain: another open pool, or
 * the same file opened again, has none. */
static void
test_hook_is_per_pool(void **state)
{
	char path_p[PATH_MAX], path_q[PATH_MAX];
	struct pst_pool *p, *q;

	(void)state;
	p = tu_must_create(tu_path(path_p, sizeof(path_p), "hookp"), POOL_BUF,
			   POOL_COUNT, PST_PERSIST_FLUSH);
	q = tu_must_create(tu_path(path_q, sizeof(path_q), "hookq"), POOL_BUF,
			   POOL_COUNT, PST_PERSIST_FLUSH);
	ev_reset();
	pst_pool_set_persist_hook(p, &recorder);
	assert_int_equal(pst_pool_persist(q, pst_pool_buf_addr(q, 1), 64), 0);
	assert_int_equal(n_evs, 0);
	assert_int_equal(pst_pool_persist(p, pst_pool_buf_addr(p, 1), 64), 0);
	assert_int_equal(n_evs, 2);
	assert_int_equal(hook_ctx_bad, 0);
	tu_close(p);
	assert_int_equal(n_evs, 3); /* close drains */

	ev_reset();
	p = tu_must_open(path_p, PST_PERSIST_FLUSH);
	assert_int_equal(pst_pool_persist(p, pst_pool_buf_addr(p, 1), 64), 0);
	assert_int_equal(n_evs, 0);
	tu_close(p);
	tu_close(q);
}

/* keep(): flush of the state byte, no drain; the next drain comes after. */
static void
keep_then_drain(enum pst_persist_mode mode)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	uint32_t idx;

	p = tu_must_create(tu_path(path, sizeof(path), "hookkeep"), POOL_BUF,
			   POOL_COUNT, PST_PERSIST_FLUSH);
	tu_close(p);
	p = tu_must_open(path, mode);
	assert_int_equal(pst_pool_take(p, &idx), 0);
	const char *sb = state_byte(p, idx);

	ev_reset();
	pst_pool_set_persist_hook(p, &recorder);
	assert_int_equal(pst_pool_keep(p, idx), 0);
	size_t after_keep = n_evs;
	assert_int_equal(pst_pool_drain(p), 0);
	pst_pool_set_persist_hook(p, NULL);

	assert_int_equal(evs_overflow, 0);
	long f = ev_find_flush_covering(0, after_keep, sb);
	if (f < 0)
		fail_msg("keep() produced %zu events, none a flush of the state "
			 "byte %p", after_keep, (const void *)sb);
	/* "flushed but not drained" */
	assert_int_equal(ev_count(0, after_keep, EV_DRAIN), 0);
	assert_int_equal(*sb, PST_BUF_STATE_KEPT);
	long d = ev_find_drain(after_keep, n_evs);
	assert_true(d > f);

	/* release(): the same shape. */
	ev_reset();
	pst_pool_set_persist_hook(p, &recorder);
	assert_int_equal(pst_pool_release(p, idx), 0);
	size_t after_rel = n_evs;
	assert_int_equal(pst_pool_drain(p), 0);
	pst_pool_set_persist_hook(p, NULL);
	assert_true(ev_find_flush_covering(0, after_rel, sb) >= 0);
	assert_int_equal(ev_count(0, after_rel, EV_DRAIN), 0);
	assert_int_equal(*sb, PST_BUF_STATE_FREE);
	assert_true(ev_find_drain(after_rel, n_evs) >= (long)after_rel);

	tu_close(p);
}

static void
test_hook_keep_then_drain_flush_mode(void **state)
{
	(void)state;
	keep_then_drain(PST_PERSIST_FLUSH);
}

static void
test_hook_keep_then_drain_msync_mode(void **state)
{
	(void)state;
	keep_then_drain(PST_PERSIST_MSYNC);
}

/* close() drains what keep() left flushed but undrained. */
static void
test_hook_close_drains(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	uint32_t idx;

	(void)state;
	p = tu_must_create(tu_path(path, sizeof(path), "hookclose"), POOL_BUF,
			   POOL_COUNT, PST_PERSIST_FLUSH);
	assert_int_equal(pst_pool_take(p, &idx), 0);
	ev_reset();
	pst_pool_set_persist_hook(p, &recorder);
	assert_int_equal(pst_pool_keep(p, idx), 0);
	size_t after_keep = n_evs;
	tu_close(p);
	assert_true(ev_count(0, after_keep, EV_FLUSH) >= 1);
	if (ev_find_drain(after_keep, n_evs) < 0)
		fail_msg("close() after an undrained keep() issued no drain");
	assert_int_equal(tu_state_read(path, idx), PST_BUF_STATE_KEPT);
}

/* reconcile(): "The result is durable on return": every state byte it
 * changes is flushed, and a drain follows the last flush. */
static void
test_hook_reconcile_durable(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	uint32_t a, b, c;
	struct pst_pool_reconcile_report rep;

	(void)state;
	tu_path(path, sizeof(path), "hookrec");
	p = tu_must_create(path, POOL_BUF, POOL_COUNT, PST_PERSIST_FLUSH);
	assert_int_equal(pst_pool_take(p, &a), 0);
	assert_int_equal(pst_pool_take(p, &b), 0);
	assert_int_equal(pst_pool_keep(p, a), 0);
	assert_int_equal(pst_pool_keep(p, b), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	/* c: some free buffer (neither a nor b) */
	assert_int_equal(pst_pool_take(p, &c), 0);
	assert_int_equal(pst_pool_release(p, c), 0);
	assert_true(c != a && c != b);

	pst_name names[2] = { pst_name_make(a, 0, 10), pst_name_make(c, 5, 5) };
	ev_reset();
	pst_pool_set_persist_hook(p, &recorder);
	assert_int_equal(pst_pool_reconcile(p, names, 2, &rep), 0);
	pst_pool_set_persist_hook(p, NULL);
	assert_int_equal(rep.released, 1);
	assert_int_equal(rep.newly_kept, 1);

	long fb = ev_find_flush_covering(0, n_evs, state_byte(p, b));
	long fc = ev_find_flush_covering(0, n_evs, state_byte(p, c));
	if (fb < 0 || fc < 0)
		fail_msg("reconcile did not flush the state bytes it changed");
	long last_flush = -1;
	for (size_t i = 0; i < n_evs; i++)
		if (evs[i].type == EV_FLUSH)
			last_flush = (long)i;
	long d = ev_find_drain((size_t)last_flush + 1, n_evs);
	if (d < 0)
		fail_msg("reconcile returned with flushes not drained");
	tu_close(p);
}

/* ---- failed drains -------------------------------------------------------- */

static int fail_left;   /* drains the fault still fails */

static int
fail_some_drains(void *ctx)
{
	if (ctx != &hook_ctx_tag)
		hook_ctx_bad++;
	if (fail_left == 0)
		return 0;
	fail_left--;
	return EIO;
}

static const struct pst_persist_hook failing_recorder = {
	.on_flush = rec_flush,
	.on_drain = rec_drain,
	.fail_drain = fail_some_drains,
	.ctx = &hook_ctx_tag,
};

/* A failed drain is no drain: not counted, no on_drain, the released
 * buffer stays out of the free list. And it is final: once the fault is
 * over, drains still fail without syncing anything (no msync in msync
 * mode), because Linux may have marked the failed pages clean and a
 * retry would succeed without writing them. Closing and opening the pool
 * again (a restart) recovers what the file holds. */
static void
failed_drain(enum pst_persist_mode mode)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_stats s0, s;
	uint32_t idx;

	p = tu_must_create(tu_path(path, sizeof(path), "faildrain"), POOL_BUF,
			   POOL_COUNT, mode);
	assert_int_equal(pst_pool_take(p, &idx), 0);
	assert_int_equal(pst_pool_keep(p, idx), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	assert_int_equal(pst_pool_release(p, idx), 0);
	pst_pool_stats(p, &s0);
	assert_int_equal(s0.releasing, 1);

	ev_reset();
	fail_left = 1;
	pst_pool_set_persist_hook(p, &failing_recorder);
	tu_assert_rc(pst_pool_drain(p), -EIO);
	/* The fault is over (fail_left is 0), and the hook not even asked. */
	tu_assert_rc(pst_pool_drain(p), -EIO);
	pst_pool_set_persist_hook(p, NULL);
	tu_assert_rc(pst_pool_drain(p), -EIO);
	pst_pool_stats(p, &s);
	assert_int_equal(s.drains, s0.drains);
	assert_int_equal(s.drain_failures, s0.drain_failures + 3);
	assert_int_equal(s.msyncs, s0.msyncs);
	assert_int_equal(s.releasing, 1);
	assert_int_equal(s.free, s0.free);
	assert_int_equal(ev_count(0, n_evs, EV_DRAIN), 0);
	assert_int_equal(hook_ctx_bad, 0);
	tu_close(p);

	/* A restart: the pool opens, drains again, and reconciles the
	 * buffer whose release never became durable. */
	p = tu_must_open(path, mode);
	assert_int_equal(pst_pool_drain(p), 0);
	tu_close(p);
}

static void
test_failed_drain_flush_mode(void **state)
{
	(void)state;
	failed_drain(PST_PERSIST_FLUSH);
}

static void
test_failed_drain_msync_mode(void **state)
{
	(void)state;
	failed_drain(PST_PERSIST_MSYNC);
}

/* ---- which mode is durable where ------------------------------------------ */

/* A directory on a storage-backed file system (not tmpfs), or NULL. */
static const char *
storage_dir(void)
{
	static const char *const dirs[] = { "/var/tmp", "/tmp", "." };
	struct statfs st;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (statfs(dirs[i], &st) == 0 && st.f_type != TMPFS_MAGIC &&
		    st.f_type != RAMFS_MAGIC)
			return dirs[i];
	return NULL;
}

static void
test_flush_refused_on_storage_file(void **state)
{
	const char *dir = storage_dir();
	struct pst_pool_config cfg = { .buf_size = POOL_BUF, .buf_count = POOL_COUNT };
	struct pst_pool_info info;
	struct pst_pool *p;
	char path[PATH_MAX];

	(void)state;
	if (dir == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/pst-persist-%ld.pool", dir, (long)getpid());
	unlink(path);
	cfg.path = path;

	/* Not durable there: refused, and the new file is not left behind. */
	cfg.persist_mode = PST_PERSIST_FLUSH;
	assert_null(tu_create_cfg(&cfg));
	assert_int_equal(pst_errno, EINVAL);
	assert_non_null(strstr(pst_errormsg(), "persist_unsafe"));
	assert_false(tu_exists(path));
	cfg.persist_mode = PST_PERSIST_FENCE;
	assert_null(tu_create_cfg(&cfg));
	assert_false(tu_exists(path));

	/* The default is durable there: msync per drain. */
	cfg.persist_mode = PST_PERSIST_AUTO;
	p = tu_create_cfg(&cfg);
	assert_non_null(p);
	pst_pool_info(p, &info);
	assert_int_equal(info.persist_mode, PST_PERSIST_MSYNC);
	assert_int_equal(info.is_pmem, 0);
	assert_int_equal(info.fs_volatile, 0);
	tu_close(p);

	/* Opening it with flush: refused too, the file untouched ... */
	cfg.buf_count = 0;
	cfg.persist_mode = PST_PERSIST_FLUSH;
	assert_null(tu_open_cfg(&cfg));
	assert_int_equal(pst_errno, EINVAL);
	assert_true(tu_exists(path));
	/* ... unless durability is given up explicitly. */
	cfg.persist_unsafe = 1;
	p = tu_open_cfg(&cfg);
	assert_non_null(p);
	pst_pool_info(p, &info);
	assert_int_equal(info.persist_mode, PST_PERSIST_FLUSH);
	tu_close(p);
	assert_int_equal(unlink(path), 0);
}

/* ---- persistence traces ------------------------------------------------------ */

struct trace_line {
	uint64_t off;
	unsigned int kind;
	const uint8_t *data;
};

/* The lines of the single drain record of the trace at @path. */
static size_t
trace_lines(const char *path, void **data, size_t map_len, struct trace_line *out,
	    size_t max, uint64_t *drains)
{
	size_t size, n;
	const uint8_t *d, *rec;
	uint32_t magic, count;

	assert_int_equal(tu_read_file(path, data, &size), 0);
	d = *data;
	assert_memory_equal(d, PST_TRACE_MAGIC, 8);
	assert_int_equal(*(const uint64_t *)(d + 8), map_len);
	rec = d + 24 + map_len;
	assert_true(size >= 24 + map_len + 24);
	memcpy(&magic, rec, 4);
	memcpy(&count, rec + 4, 4);
	memcpy(drains, rec + 8, 8);
	assert_int_equal(magic, PST_TRACE_DRAIN_MAGIC);
	/* Exactly one record: a drain with nothing flushed adds none. */
	assert_int_equal(size, 24 + map_len + 24 + (size_t)count * (8 + PST_TRACE_LINE));
	for (n = 0; n < count && n < max; n++) {
		uint64_t tag;

		memcpy(&tag, rec + 24 + n * (8 + PST_TRACE_LINE), 8);
		out[n] = (struct trace_line){ tag & ~(uint64_t)(PST_TRACE_LINE - 1),
					      (unsigned int)(tag & (PST_TRACE_LINE - 1)),
					      rec + 24 + n * (8 + PST_TRACE_LINE) + 8 };
	}
	return count;
}

static const struct trace_line *
find_line(const struct trace_line *l, size_t n, uint64_t off, unsigned int kind)
{
	for (size_t i = 0; i < n; i++)
		if (l[i].off == off && l[i].kind == kind)
			return &l[i];
	return NULL;
}

/* PASTE_PERSIST_TRACE: a flushed line is DURABLE with its value at the
 * flush, a line stored after its flush is MAYBE too with its live value,
 * a stored but never flushed line is MAYBE only, untouched lines are
 * absent; the drain number is recorded; an existing trace is refused. */
static void
test_trace_records_lines(void **state)
{
	char path[PATH_MAX], path2[PATH_MAX], tpath[PATH_MAX];
	struct trace_line l[16];
	struct pst_pool_info info;
	const struct trace_line *x;
	struct pst_pool *p;
	void *data = NULL;
	uint64_t drains, a, b, c;
	size_t n;
	char *base;

	(void)state;
	p = tu_must_create(tu_path(path, sizeof(path), "trace"), POOL_BUF, POOL_COUNT,
			   PST_PERSIST_FLUSH);
	tu_close(p);
	tu_path(tpath, sizeof(tpath), "trace.trc");
	unlink(tpath);
	setenv(PST_TRACE_ENV, tpath, 1);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	/* Another pool traced into the same file: refused, not overwritten. */
	assert_null(tu_create(tu_path(path2, sizeof(path2), "trace2"), POOL_BUF,
			      POOL_COUNT, PST_PERSIST_FLUSH));
	assert_int_equal(pst_errno, EEXIST);
	assert_false(tu_exists(path2));
	unsetenv(PST_TRACE_ENV);
	info = tu_info(p);
	base = info.base;
	a = (uint64_t)((char *)pst_pool_buf_addr(p, 1) - base);
	b = (uint64_t)((char *)pst_pool_buf_addr(p, 2) - base);
	c = (uint64_t)((char *)pst_pool_buf_addr(p, 3) - base);
	assert_int_equal(pst_pool_drain(p), 0);    /* nothing flushed: no record */
	memset(base + a, 0x11, 64);
	assert_int_equal(pst_pool_flush(p, base + a, 64), 0);
	memset(base + b, 0x22, 8);                 /* never flushed */
	memset(base + c, 0x33, 64);
	assert_int_equal(pst_pool_flush(p, base + c, 64), 0);
	memset(base + c, 0x44, 8);                 /* after its flush */
	assert_int_equal(pst_pool_drain(p), 0);
	tu_close(p);

	n = trace_lines(tpath, &data, info.file_size, l, 16, &drains);
	assert_int_equal(drains, 2);
	assert_int_equal(n, 4);
	x = find_line(l, n, a, PST_TRACE_DURABLE);
	assert_non_null(x);
	assert_int_equal(x->data[63], 0x11);
	assert_null(find_line(l, n, a, PST_TRACE_MAYBE));
	x = find_line(l, n, b, PST_TRACE_MAYBE);
	assert_non_null(x);
	assert_int_equal(x->data[0], 0x22);
	assert_int_equal(x->data[8], 0);
	x = find_line(l, n, c, PST_TRACE_DURABLE);
	assert_non_null(x);
	assert_int_equal(x->data[0], 0x33);
	x = find_line(l, n, c, PST_TRACE_MAYBE);
	assert_non_null(x);
	assert_int_equal(x->data[0], 0x44);
	assert_int_equal(x->data[8], 0x33);
	free(data);
	assert_int_equal(unlink(tpath), 0);
}

/* tmpfs: flush is the NVMM emulation, allowed; the pool says it is in RAM. */
static void
test_flush_allowed_on_tmpfs(void **state)
{
	char path[PATH_MAX];
	struct pst_pool_info info;
	struct pst_pool *p;

	(void)state;
	p = tu_must_create(tu_path(path, sizeof(path), "tmpfs"), POOL_BUF, POOL_COUNT,
			   PST_PERSIST_FLUSH);
	pst_pool_info(p, &info);
	assert_int_equal(info.persist_mode, PST_PERSIST_FLUSH);
	assert_int_equal(info.fs_volatile, 1);
	tu_close(p);
}

static void
test_check_durable_table(void **state)
{
	(void)state;
	/* mode, is_pmem, fs_volatile, unsafe */
	assert_int_equal(pst_persist_check_durable(PST_PERSIST_MSYNC, 0, 0, 0, "f"), 0);
	assert_int_equal(pst_persist_check_durable(PST_PERSIST_FLUSH, 1, 0, 0, "f"), 0);
	assert_int_equal(pst_persist_check_durable(PST_PERSIST_FENCE, 1, 0, 0, "f"), 0);
	assert_int_equal(pst_persist_check_durable(PST_PERSIST_FLUSH, 0, 1, 0, "f"), 0);
	assert_int_equal(pst_persist_check_durable(PST_PERSIST_FLUSH, 0, 0, 1, "f"), 0);
	tu_assert_rc(pst_persist_check_durable(PST_PERSIST_FLUSH, 0, 0, 0, "f"), -EINVAL);
	tu_assert_rc(pst_persist_check_durable(PST_PERSIST_FENCE, 0, 0, 0, "f"), -EINVAL);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tu_test_setup, test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_mode_names),
		T(test_mode_parse_unknown),
		T(test_persist_init_resolves_auto),
		T(test_flush_counters_flush_mode),
		T(test_msync_mode),
		T(test_fence_mode),
		T(test_auto_mode),
		T(test_flush_outside_mapping),
		T(test_hook_sees_flush_and_drain),
		T(test_hook_is_per_pool),
		T(test_hook_keep_then_drain_flush_mode),
		T(test_hook_keep_then_drain_msync_mode),
		T(test_hook_close_drains),
		T(test_hook_reconcile_durable),
		T(test_failed_drain_flush_mode),
		T(test_failed_drain_msync_mode),
		T(test_flush_refused_on_storage_file),
		T(test_flush_allowed_on_tmpfs),
		T(test_trace_records_lines),
		T(test_check_durable_table),
	};
#undef T

	return cmocka_run_group_tests_name("persist", tests, group_setup,
					   group_teardown);
}
