/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Buffer ownership: take / keep / release, the counters, what
 * survives a close and reopen, exhaustion, and reconciliation with the
 * application's index.
 */
#include "pst_test_util.h"
#include "pool_stack.h"

#define BUF 2176u

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("keep");
}

static int
group_teardown(void **state)
{
	(void)state;
	return tu_group_teardown_common();
}

/* free + lent + kept == count, and the pool says it is consistent. */
#define check_consistent(p) check_consistent_at((p), __LINE__)

static struct pst_pool_stats
check_consistent_at(struct pst_pool *p, int line)
{
	struct pst_pool_stats s = tu_stats(p);
	struct pst_pool_info i = tu_info(p);
	struct pst_pool_levels lv;

	/* pst_pool_levels() is the same counters, read alone. */
	assert_int_equal(pst_pool_levels(p, &lv), 0);
	if (lv.free != s.free || lv.kept != s.kept || lv.releasing != s.releasing ||
	    lv.drains != s.drains)
		fail_msg("line %d: levels %llu/%llu/%llu/%llu differ from the stats", line,
			 (unsigned long long)lv.free, (unsigned long long)lv.kept,
			 (unsigned long long)lv.releasing, (unsigned long long)lv.drains);
	if (s.free + s.lent + s.kept + s.releasing != i.buf_count)
		fail_msg("line %d: free %llu + lent %llu + kept %llu + releasing "
			 "%llu != count %llu", line, (unsigned long long)s.free,
			 (unsigned long long)s.lent, (unsigned long long)s.kept,
			 (unsigned long long)s.releasing,
			 (unsigned long long)i.buf_count);
	if (pst_pool_verify(p) != 0)
		fail_msg("line %d: pst_pool_verify: %s", line, pst_errormsg());
	return s;
}

static void
expect_einval(int r, const char *what)
{
	if (r != -EINVAL)
		fail_msg("%s returned %d (%s), expected -EINVAL", what, r,
			 pst_strerror(r));
	if (pst_errno != EINVAL)
		fail_msg("%s: pst_errno %d, expected EINVAL", what, pst_errno);
}

/* ---- state machine ---------------------------------------------------------- */

static void
test_state_machine(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_stats s;
	uint32_t a, b;
	const uint32_t n = 16;

	(void)state;
	p = tu_must_create(tu_path(path, sizeof(path), "sm"), BUF, n,
			   PST_PERSIST_FLUSH);
	s = check_consistent(p);
	assert_int_equal(s.free, n);

	/* free -> lent */
	assert_int_equal(pst_pool_take(p, &a), 0);
	assert_true(a < n);
	s = check_consistent(p);
	assert_int_equal(s.free, n - 1);
	assert_int_equal(s.lent, 1);
	assert_int_equal(s.takes, 1);

	/* lent -> free */
	assert_int_equal(pst_pool_release(p, a), 0);
	s = check_consistent(p);
	assert_int_equal(s.free, n);
	assert_int_equal(s.lent, 0);
	assert_int_equal(s.takes, 1);

	/* keep or release of a free buffer */
	pst_errno = 0;
	expect_einval(pst_pool_keep(p, a), "keep(free)");
	pst_errno = 0;
	expect_einval(pst_pool_release(p, a),
		      "release(free)");
	s = check_consistent(p);
	assert_int_equal(s.free, n);
	assert_int_equal(s.keeps, 0);
	assert_int_equal(s.releases, 0);

	/* lent -> kept */
	assert_int_equal(pst_pool_take(p, &a), 0);
	assert_int_equal(pst_pool_take(p, &b), 0);
	assert_int_not_equal(a, b);
	assert_int_equal(pst_pool_keep(p, a), 0);
	s = check_consistent(p);
	assert_int_equal(s.free, n - 2);
	assert_int_equal(s.lent, 1);
	assert_int_equal(s.kept, 1);
	assert_int_equal(s.keeps, 1);
	assert_int_equal(s.takes, 3);

	/* kept is not lent: it cannot be kept twice */
	pst_errno = 0;
	expect_einval(pst_pool_keep(p, a), "keep(kept)");
	s = check_consistent(p);
	assert_int_equal(s.kept, 1);
	assert_int_equal(s.keeps, 1);

	/* out of range */
	pst_errno = 0;
	expect_einval(pst_pool_release(p, n), "release(count)");
	expect_einval(pst_pool_keep(p, n), "keep(count)");
	expect_einval(pst_pool_release(p, UINT32_MAX), "release(UINT32_MAX)");
	expect_einval(pst_pool_keep(p, UINT32_MAX), "keep(UINT32_MAX)");
	expect_einval(pst_pool_release(NULL, a), "release(NULL)");
	expect_einval(pst_pool_take(p, NULL), "take(NULL)");
	s = check_consistent(p);
	assert_int_equal(s.kept, 1);
	assert_int_equal(s.lent, 1);

	/* kept -> releasing */
	assert_int_equal(pst_pool_release(p, a), 0);
	s = check_consistent(p);
	assert_int_equal(s.kept, 0);
	assert_int_equal(s.releasing, 1);
	assert_int_equal(s.free, n - 2);
	assert_int_equal(s.lent, 1);
	assert_int_equal(s.releases, 1);
	/* a releasing buffer is neither kept, lent nor free */
	pst_errno = 0;
	expect_einval(pst_pool_release(p, a),
		      "release twice");
	expect_einval(pst_pool_keep(p, a), "keep(releasing)");
	assert_int_equal(tu_stats(p).releases, 1);
	/* ... and is not handed out before the release is durable */
	uint32_t got[16];
	int ngot = 0;
	while (pst_pool_take(p, &got[ngot]) == 0) {
		assert_int_not_equal(got[ngot], a);
		ngot++;
	}
	assert_int_equal(ngot, n - 2);
	for (int k = 0; k < ngot; k++)
		assert_int_equal(pst_pool_release(p, got[k]), 0);
	/* releasing -> free at the drain */
	assert_int_equal(pst_pool_drain(p), 0);
	s = check_consistent(p);
	assert_int_equal(s.releasing, 0);
	assert_int_equal(s.free, n - 1);
	assert_int_equal(s.nobufs, 1);
	pst_errno = 0;
	expect_einval(pst_pool_release(p, a),
		      "release of a released buffer");

	/* A released buffer can be taken and kept again. */
	assert_int_equal(pst_pool_keep(p, b), 0);
	assert_int_equal(pst_pool_release(p, b), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	s = check_consistent(p);
	assert_int_equal(s.free, n);
	assert_int_equal(s.keeps, 2);
	assert_int_equal(s.releases, 2);
	assert_int_equal(s.nobufs, 1);
	tu_close(p);
}

static void
test_null_arguments(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_info info;
	struct pst_pool_stats stats;
	struct pst_pool_levels levels;

	(void)state;
	p = tu_must_create(tu_path(path, sizeof(path), "null"), BUF, 4,
			   PST_PERSIST_FLUSH);
	assert_int_equal(pst_pool_info(NULL, &info), -EINVAL);
	assert_int_equal(pst_pool_info(p, NULL), -EINVAL);
	assert_int_equal(pst_pool_stats(NULL, &stats), -EINVAL);
	assert_int_equal(pst_pool_stats(p, NULL), -EINVAL);
	assert_int_equal(pst_pool_levels(NULL, &levels), -EINVAL);
	assert_int_equal(pst_pool_levels(p, NULL), -EINVAL);
	assert_int_equal(pst_pool_verify(NULL), -EINVAL);
	assert_int_equal(pst_pool_reconcile(p, NULL, 1, NULL), -EINVAL);
	pst_pool_close(NULL);
	tu_close(p);
}

/* ---- persistence across reopen ---------------------------------------------- */

static void
test_survives_reopen(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_stats s;
	const uint32_t n = 256;
	uint32_t kept[40], lent[30], released[20];
	uint8_t *map = malloc(n), *want = calloc(n, 1);

	(void)state;
	assert_non_null(map);
	assert_non_null(want);
	tu_path(path, sizeof(path), "reopen");
	p = tu_must_create(path, BUF, n, PST_PERSIST_FLUSH);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(pst_pool_take(p, &kept[i]), 0);
		char *b = pst_pool_buf_addr(p, kept[i]);
		tu_pattern_fill(b, kept[i], 1, BUF);
		assert_int_equal(pst_pool_persist(p, b, BUF), 0);
		assert_int_equal(pst_pool_keep(p, kept[i]), 0);
		want[kept[i]] = 1;
	}
	for (int i = 0; i < 30; i++) {
		assert_int_equal(pst_pool_take(p, &lent[i]), 0);
		memset(pst_pool_buf_addr(p, lent[i]), 0xee, BUF);
	}
	for (int i = 0; i < 20; i++) {
		assert_int_equal(pst_pool_take(p, &released[i]), 0);
		assert_int_equal(pst_pool_keep(p, released[i]), 0);
	}
	assert_int_equal(pst_pool_drain(p), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(pst_pool_release(p, released[i]), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	s = check_consistent(p);
	assert_int_equal(s.kept, 40);
	assert_int_equal(s.lent, 30);
	assert_int_equal(s.free, n - 70);
	assert_int_equal(s.takes, 90);
	assert_int_equal(s.keeps, 60);
	assert_int_equal(s.releases, 20);
	tu_close(p); /* with 30 buffers still lent */

	for (int round = 0; round < 2; round++) {
		p = tu_must_open(path, round ? PST_PERSIST_MSYNC
					     : PST_PERSIST_FLUSH);
		s = check_consistent(p);
		assert_int_equal(s.kept, 40);
		assert_int_equal(s.lent, 0);
		assert_int_equal(s.releasing, 0);
		assert_int_equal(s.free, n - 40);
		/* counters are per open */
		assert_int_equal(s.takes, 0);
		assert_int_equal(s.keeps, 0);
		assert_int_equal(s.releases, 0);
		assert_int_equal(s.nobufs, 0);
		for (int i = 0; i < 40; i++) {
			char *b = pst_pool_buf_addr(p, kept[i]);
			size_t bad = tu_pattern_check(b, kept[i], 1, BUF);
			if (bad != BUF)
				fail_msg("kept buffer %u differs at byte %zu",
					 kept[i], bad);
		}
		/* Exactly the kept ones are kept. */
		tu_kept_map(p, map);
		assert_memory_equal(map, want, n);
		check_consistent(p);
		tu_close(p);
	}
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(tu_state_read(path, i),
				 want[i] ? PST_BUF_STATE_KEPT : PST_BUF_STATE_FREE);
	free(map);
	free(want);
}

/* A release is durable after the next drain, and close drains. A pool
 * whose last buffer is being released has nothing to hand out until then. */
static void
test_release_then_drain_or_close(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_stats s;
	const uint32_t n = 8;
	uint32_t idx[8], extra;

	(void)state;
	tu_path(path, sizeof(path), "reldrain");
	p = tu_must_create(path, BUF, n, PST_PERSIST_FLUSH);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(pst_pool_take(p, &idx[i]), 0);
		assert_int_equal(pst_pool_keep(p, idx[i]), 0);
	}
	assert_int_equal(pst_pool_drain(p), 0);
	assert_int_equal(pst_pool_release(p, idx[3]), 0);
	assert_int_equal(pst_pool_take(p, &extra), -ENOBUFS);
	s = check_consistent(p);
	assert_int_equal(s.free, 0);
	assert_int_equal(s.releasing, 1);
	assert_int_equal(s.nobufs, 1);
	assert_int_equal(pst_pool_drain(p), 0);
	assert_int_equal(pst_pool_take(p, &extra), 0);
	assert_int_equal(extra, idx[3]);
	assert_int_equal(pst_pool_release(p, extra), 0);

	/* Released, not drained, then closed: free after reopen. */
	assert_int_equal(pst_pool_release(p, idx[5]), 0);
	tu_close(p);
	assert_int_equal(tu_state_read(path, idx[5]), PST_BUF_STATE_FREE);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	s = check_consistent(p);
	assert_int_equal(s.kept, n - 2);
	assert_int_equal(s.free, 2);
	assert_int_equal(s.releasing, 0);
	tu_close(p);
}

/* The free list is rebuilt from the state bytes in the file. */
static void
test_open_reads_state_bytes(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	const uint32_t n = 64;
	uint8_t map[64], want[64] = { 0 };

	(void)state;
	tu_path(path, sizeof(path), "statebytes");
	p = tu_must_create(path, BUF, n, PST_PERSIST_FLUSH);
	tu_close(p);
	tu_state_write(path, 0, PST_BUF_STATE_KEPT);
	tu_state_write(path, 17, PST_BUF_STATE_KEPT);
	tu_state_write(path, n - 1, PST_BUF_STATE_KEPT);
	want[0] = want[17] = want[n - 1] = 1;
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(check_consistent(p).kept, 3);
	tu_kept_map(p, map);
	assert_memory_equal(map, want, n);
	assert_int_equal(pst_pool_release(p, 17), 0);
	tu_close(p);
	assert_int_equal(tu_state_read(path, 17), PST_BUF_STATE_FREE);
}

/* verify() notices a state byte that disagrees with the in-memory state. */
static void
test_verify_detects_mismatch(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_info info;
	uint32_t idx;

	(void)state;
	p = tu_must_create(tu_path(path, sizeof(path), "verify"), BUF, 32,
			   PST_PERSIST_FLUSH);
	info = tu_info(p);
	const struct pst_pool_header *h = info.base;
	volatile uint8_t *st = (uint8_t *)info.base + h->state_offset;

	assert_int_equal(pst_pool_take(p, &idx), 0);
	assert_int_equal(pst_pool_release(p, idx), 0);
	tu_assert_verify(p);
	st[idx] = PST_BUF_STATE_KEPT; /* free in memory, kept in the file */
	assert_int_equal(pst_pool_verify(p), -EFAULT);
	assert_true(strlen(pst_errormsg()) > 0);
	st[idx] = PST_BUF_STATE_FREE;
	tu_assert_verify(p);

	assert_int_equal(pst_pool_take(p, &idx), 0);
	assert_int_equal(pst_pool_keep(p, idx), 0);
	tu_assert_verify(p);
	st[idx] = PST_BUF_STATE_FREE; /* kept in memory, free in the file */
	assert_int_equal(pst_pool_verify(p), -EFAULT);
	st[idx] = PST_BUF_STATE_KEPT;
	tu_assert_verify(p);
	tu_close(p);
}

/* ---- exhaustion ------------------------------------------------------------------ */

static void
test_exhaustion(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_stats s;
	const uint32_t n = 128;
	uint32_t idx[128], extra = 0xdeadbeef;
	uint8_t seen[128] = { 0 };

	(void)state;
	p = tu_must_create(tu_path(path, sizeof(path), "exhaust"), BUF, n,
			   PST_PERSIST_FLUSH);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(pst_pool_take(p, &idx[i]), 0);
		assert_true(idx[i] < n);
		assert_int_equal(seen[idx[i]], 0);
		seen[idx[i]] = 1;
	}
	pst_errno = 0;
	assert_int_equal(pst_pool_take(p, &extra), -ENOBUFS);
	assert_int_equal(pst_errno, ENOBUFS);
	s = check_consistent(p);
	assert_int_equal(s.nobufs, 1);
	assert_int_equal(s.free, 0);
	assert_int_equal(s.lent, n);
	assert_int_equal(s.takes, n);

	assert_int_equal(pst_pool_take(p, &extra), -ENOBUFS);
	assert_int_equal(tu_stats(p).nobufs, 2);

	/* Keep half; release the rest; the pool recovers. */
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(i % 2 ? pst_pool_release(p, idx[i])
				       : pst_pool_keep(p, idx[i]), 0);
	s = check_consistent(p);
	assert_int_equal(s.kept, n / 2);
	assert_int_equal(s.free, n / 2);
	for (uint32_t i = 0; i < n / 2; i++)
		assert_int_equal(pst_pool_take(p, &extra), 0);
	assert_int_equal(pst_pool_take(p, &extra), -ENOBUFS);
	s = check_consistent(p);
	assert_int_equal(s.nobufs, 3);
	assert_int_equal(s.lent, n / 2);
	tu_close(p);

	/* After reopen only the kept half is in use. */
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	s = check_consistent(p);
	assert_int_equal(s.kept, n / 2);
	assert_int_equal(s.free, n / 2);
	assert_int_equal(s.nobufs, 0);
	tu_close(p);
}

/* ---- reconcile --------------------------------------------------------------------- */

static void
test_reconcile(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_stats s;
	struct pst_pool_reconcile_report rep;
	const uint32_t n = 512;
	uint32_t kept[100], freebufs[5];
	uint8_t *is_kept = calloc(n, 1), *want = calloc(n, 1), *map = malloc(n);
	pst_name names[200];
	size_t nn = 0;

	(void)state;
	assert_non_null(is_kept);
	assert_non_null(want);
	assert_non_null(map);
	tu_path(path, sizeof(path), "reconcile");
	p = tu_must_create(path, BUF, n, PST_PERSIST_FLUSH);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(pst_pool_take(p, &kept[i]), 0);
		assert_int_equal(pst_pool_keep(p, kept[i]), 0);
		is_kept[kept[i]] = 1;
	}
	assert_int_equal(pst_pool_drain(p), 0);
	check_consistent(p);
	tu_close(p);

	p = tu_must_open(path, PST_PERSIST_FLUSH);
	s = check_consistent(p);
	assert_int_equal(s.kept, 100);

	/* 60 kept buffers, with various ranges and duplicates. */
	for (int i = 0; i < 60; i++) {
		names[nn++] = pst_name_make(kept[i], (uint16_t)(i * 7),
					    (uint16_t)(i + 1));
		want[kept[i]] = 1;
	}
	for (int i = 0; i < 60; i += 3)
		names[nn++] = pst_name_make(kept[i], 0, BUF);  /* duplicate */
	names[nn++] = names[0];                               /* exact dup */
	/* 5 buffers that are free now: kept again (newly_kept). */
	for (int k = 0, i = 0; k < 5; i++)
		if (!is_kept[i]) {
			freebufs[k] = (uint32_t)i;
			names[nn++] = pst_name_make((uint32_t)i, 64, 64);
			names[nn++] = pst_name_make((uint32_t)i, 0, 1); /* dup */
			want[i] = 1;
			k++;
		}
	/* Shuffle deterministically. */
	uint64_t x = 12345;
	for (size_t i = nn - 1; i > 0; i--) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		size_t j = (size_t)(x >> 33) % (i + 1);
		pst_name t = names[i];
		names[i] = names[j];
		names[j] = t;
	}

	/* Refused while a buffer is lent: nothing changes. */
	uint32_t lent;
	assert_int_equal(pst_pool_take(p, &lent), 0);
	memset(&rep, 0x55, sizeof(rep));
	assert_int_equal(pst_pool_reconcile(p, names, nn, &rep), -EBUSY);
	assert_int_equal(pst_errno, EBUSY);
	s = check_consistent(p);
	assert_int_equal(s.kept, 100);
	assert_int_equal(s.lent, 1);
	assert_int_equal(pst_pool_release(p, lent), 0);

	/* Refused with one invalid name at the end: nothing changes. */
	static const pst_name bad_names[] = {
		PST_NAME_INVALID,
		(pst_name)512 << 32,                      /* index == count */
		((pst_name)3 << 32) | ((pst_name)(BUF - 1) << 16) | 2,
	};
	for (size_t k = 0; k < sizeof(bad_names) / sizeof(bad_names[0]); k++) {
		names[nn] = bad_names[k];
		pst_errno = 0;
		assert_int_equal(pst_pool_reconcile(p, names, nn + 1, &rep),
				 -EINVAL);
		assert_int_equal(pst_errno, EINVAL);
		s = check_consistent(p);
		assert_int_equal(s.kept, 100);
		assert_int_equal(s.free, n - 100);
		tu_kept_map(p, map);
		assert_memory_equal(map, is_kept, n);
	}
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(tu_state_read(path, i),
				 is_kept[i] ? PST_BUF_STATE_KEPT
					    : PST_BUF_STATE_FREE);

	/* The real thing. */
	memset(&rep, 0x55, sizeof(rep));
	assert_int_equal(pst_pool_reconcile(p, names, nn, &rep), 0);
	assert_int_equal(rep.referenced, 65);
	assert_int_equal(rep.released, 40);
	assert_int_equal(rep.newly_kept, 5);
	assert_int_equal(rep.kept, 65);
	s = check_consistent(p);
	assert_int_equal(s.kept, 65);
	assert_int_equal(s.free, n - 65);
	assert_int_equal(s.lent, 0);
	tu_kept_map(p, map);
	assert_memory_equal(map, want, n);

	/* Idempotent: the same index again changes nothing. */
	memset(&rep, 0x55, sizeof(rep));
	assert_int_equal(pst_pool_reconcile(p, names, nn, &rep), 0);
	assert_int_equal(rep.referenced, 65);
	assert_int_equal(rep.released, 0);
	assert_int_equal(rep.newly_kept, 0);
	assert_int_equal(rep.kept, 65);
	/* The report is optional. */
	assert_int_equal(pst_pool_reconcile(p, names, nn, NULL), 0);
	check_consistent(p);
	tu_close(p); /* no drain of our own: reconcile is durable */

	/* The file says the same. */
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(tu_state_read(path, i),
				 want[i] ? PST_BUF_STATE_KEPT
					 : PST_BUF_STATE_FREE);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	s = check_consistent(p);
	assert_int_equal(s.kept, 65);
	tu_kept_map(p, map);
	assert_memory_equal(map, want, n);
	for (int k = 0; k < 5; k++)
		assert_int_equal(map[freebufs[k]], 1);

	/* An empty index (NULL, 0) frees everything. */
	memset(&rep, 0x55, sizeof(rep));
	assert_int_equal(pst_pool_reconcile(p, NULL, 0, &rep), 0);
	assert_int_equal(rep.referenced, 0);
	assert_int_equal(rep.released, 65);
	assert_int_equal(rep.newly_kept, 0);
	assert_int_equal(rep.kept, 0);
	s = check_consistent(p);
	assert_int_equal(s.free, n);
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(check_consistent(p).kept, 0);
	tu_close(p);
	free(is_kept);
	free(want);
	free(map);
}

/* ---- scale ----------------------------------------------------------------------- */

static void
test_large_pool(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_stats s;
	const uint32_t n = 262144, k = 200000;
	uint8_t *want = calloc(n, 1), *map = malloc(n);
	uint32_t idx;

	(void)state;
	assert_non_null(want);
	assert_non_null(map);
	tu_path(path, sizeof(path), "large");
	p = tu_must_create(path, BUF, n, PST_PERSIST_FLUSH);
	for (uint32_t i = 0; i < k; i++) {
		int r = pst_pool_take(p, &idx);
		if (r != 0)
			fail_msg("take #%u: %d", i, r);
		/* a little data at both ends of the buffer */
		char *b = pst_pool_buf_addr(p, idx);
		memcpy(b, &idx, sizeof(idx));
		memcpy(b + BUF - sizeof(idx), &idx, sizeof(idx));
		assert_int_equal(pst_pool_flush(p, b, sizeof(idx)), 0);
		assert_int_equal(pst_pool_flush(p, b + BUF - sizeof(idx),
						sizeof(idx)), 0);
		r = pst_pool_keep(p, idx);
		if (r != 0)
			fail_msg("keep #%u (buffer %u): %d", i, idx, r);
		want[idx] = 1;
		if (i % 64 == 63)
			assert_int_equal(pst_pool_drain(p), 0);
	}
	assert_int_equal(pst_pool_drain(p), 0);
	s = check_consistent(p);
	assert_int_equal(s.kept, k);
	assert_int_equal(s.free, n - k);
	tu_close(p);

	p = tu_must_open(path, PST_PERSIST_FLUSH);
	s = check_consistent(p);
	assert_int_equal(s.kept, k);
	assert_int_equal(s.free, n - k);
	assert_int_equal(s.lent, 0);
	tu_kept_map(p, map);
	assert_memory_equal(map, want, n);
	for (uint32_t i = 0; i < n; i++)
		if (want[i]) {
			const char *b = pst_pool_buf_addr(p, i);
			uint32_t v1, v2;
			memcpy(&v1, b, sizeof(v1));
			memcpy(&v2, b + BUF - sizeof(v2), sizeof(v2));
			if (v1 != i || v2 != i)
				fail_msg("buffer %u holds %u/%u", i, v1, v2);
		}
	tu_close(p);
	unlink(path);
	free(want);
	free(map);
}

/* A root slot's value, asserting that the read succeeds. */
static uint64_t
root_of(const struct pst_pool *p, unsigned int slot)
{
	uint64_t value = 0;

	assert_int_equal(pst_pool_root_get(p, slot, &value), 0);
	return value;
}

/* Root slots: zero when new, set with one store, durable across reopen,
 * outside the checksummed header (setting one never makes a pool refused). */
static void
test_root_slots(void **state)
{
	uint64_t value;
	char path[PATH_MAX];
	struct pst_pool *p;
	unsigned int i;

	(void)state;
	tu_path(path, sizeof(path), "roots");
	p = tu_must_create(path, BUF, 64, PST_PERSIST_FLUSH);
	for (i = 0; i < PST_POOL_ROOTS; i++)
		assert_int_equal(root_of(p, i), 0);
	/* A slot is set only once claimed (test_pool_owner.c). */
	assert_int_equal(pst_pool_root_set(p, 0, 1), -EPERM);
	assert_int_equal(root_of(p, 0), 0);
	assert_int_equal(pst_pool_root_claim(p, 0, "test", NULL), 0);
	assert_int_equal(pst_pool_root_claim(p, PST_POOL_ROOTS - 1, "test", NULL), 0);
	assert_int_equal(pst_pool_root_set(p, 0, pst_name_make(5, 10, 20)), 0);
	assert_int_equal(pst_pool_root_set(p, PST_POOL_ROOTS - 1, UINT64_MAX), 0);
	assert_int_equal(pst_pool_root_set(p, PST_POOL_ROOTS, 1), -EINVAL);
	assert_int_equal(pst_pool_root_get(p, PST_POOL_ROOTS, &value), -EINVAL);
	assert_int_equal(pst_errno, EINVAL);
	assert_int_equal(pst_pool_root_get(p, 0, NULL), -EINVAL);
	assert_int_equal(pst_pool_drain(p), 0);
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	assert_int_equal(root_of(p, 0), pst_name_make(5, 10, 20));
	assert_int_equal(root_of(p, 1), 0);
	assert_int_equal(root_of(p, PST_POOL_ROOTS - 1), UINT64_MAX);
	tu_close(p);
	unlink(path);
}

/* Many pipelined GETs of one hot value pin its buffer once per reply in
 * flight: more than 65,535 pins at once must work, and a release waits
 * for the last unpin. */
static void
test_many_pins(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_stats s;
	uint32_t idx, i;
	const uint32_t n = 70000;

	(void)state;
	tu_path(path, sizeof(path), "pins");
	p = tu_must_create(path, BUF, 8, PST_PERSIST_FLUSH);
	assert_int_equal(pst_pool_take(p, &idx), 0);
	assert_int_equal(pst_pool_keep(p, idx), 0);
	for (i = 0; i < n; i++)
		if (pst_pool_pin(p, idx) != 0)
			fail_msg("pin %u: %s", i, pst_errormsg());
	assert_int_equal(pst_pool_release(p, idx), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	for (i = 0; i < n - 1; i++)
		pst_pool_unpin(p, idx);
	assert_int_equal(pst_pool_drain(p), 0);
	s = check_consistent(p);
	assert_int_equal(s.free, 7); /* the last pin still holds it */
	pst_pool_unpin(p, idx);
	assert_int_equal(pst_pool_drain(p), 0);
	s = check_consistent(p);
	assert_int_equal(s.free, 8);
	tu_close(p);
	unlink(path);
}

/* pst_pool_keep_many(): a value's buffers kept at once, their state bytes
 * flushed per cache line; a refusal keeps none of them. */
static void
test_keep_many(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_stats s, s0;
	uint32_t idx[131], other[2], bad[2], i;
	const uint32_t n = 200, k = 130;

	(void)state;
	tu_path(path, sizeof(path), "many");
	p = tu_must_create(path, BUF, n, PST_PERSIST_FLUSH);
	for (i = 0; i < k; i++)
		assert_int_equal(pst_pool_take(p, &idx[i]), 0);
	idx[k] = idx[7]; /* listed twice: kept once */
	assert_int_equal(pst_pool_take(p, &other[0]), 0);
	assert_int_equal(pst_pool_take(p, &other[1]), 0);

	/* Refused, all or nothing: a free buffer, one out of range, NULLs. */
	s0 = check_consistent(p);
	assert_int_equal(pst_pool_release(p, other[1]), 0);
	bad[0] = other[0];
	bad[1] = other[1];
	pst_errno = 0;
	expect_einval(pst_pool_keep_many(p, bad, 2), "keep_many(lent, free)");
	bad[1] = n;
	expect_einval(pst_pool_keep_many(p, bad, 2), "keep_many(lent, out of range)");
	expect_einval(pst_pool_keep_many(NULL, bad, 1), "keep_many(NULL pool)");
	expect_einval(pst_pool_keep_many(p, NULL, 1), "keep_many(NULL list)");
	assert_int_equal(pst_pool_keep_many(p, NULL, 0), 0);
	s = check_consistent(p);
	assert_int_equal(s.kept, 0);
	assert_int_equal(s.keeps, 0);
	assert_int_equal(s.flushes, s0.flushes);
	assert_int_equal(pst_pool_release(p, other[0]), 0);

	/* 130 buffers taken one after another: their state bytes lie in at
	 * most 4 lines, flushed once each (pst_pool_keep would flush 130). */
	s0 = check_consistent(p);
	assert_int_equal(pst_pool_keep_many(p, idx, k + 1), 0);
	s = check_consistent(p);
	assert_int_equal(s.kept, k);
	assert_int_equal(s.keeps, k);
	assert_int_equal(s.lent, 0);
	assert_true(s.flushes - s0.flushes <= 4);
	for (i = 0; i < k; i++)
		assert_true(pst_pool_buf_kept(p, idx[i]));
	/* Kept now: not again. */
	expect_einval(pst_pool_keep_many(p, idx, 1), "keep_many(kept)");

	/* Durable after the drain: a reopened pool has them kept. */
	assert_int_equal(pst_pool_drain(p), 0);
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	s = check_consistent(p);
	assert_int_equal(s.kept, k);
	assert_int_equal(s.free, n - k);
	for (i = 0; i < k; i++)
		assert_true(pst_pool_buf_kept(p, idx[i]));
	tu_close(p);
	unlink(path);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tu_test_setup, tu_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_state_machine),
		T(test_null_arguments),
		T(test_survives_reopen),
		T(test_release_then_drain_or_close),
		T(test_open_reads_state_bytes),
		T(test_verify_detects_mismatch),
		T(test_exhaustion),
		T(test_reconcile),
		T(test_large_pool),
		T(test_root_slots),
		T(test_many_pins),
		T(test_keep_many),
	};
#undef T

	return cmocka_run_group_tests_name("keep", tests, group_setup,
					   group_teardown);
}
