/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Names: packing, validity against a pool's geometry, name <-> address in
 * the current mapping, and stability of a name when the file is mapped
 * somewhere else.
 */
#include "pst_test_util.h"

#include <sys/mman.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define BUF 2176u
#define COUNT 1000u

static char pool_path[PATH_MAX];
static struct pst_pool *pool;

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("names");
}

static int
group_teardown(void **state)
{
	(void)state;
	return tu_group_teardown_common();
}

/* Most tests share one fresh pool of COUNT x BUF. */
static int
setup_pool(void **state)
{
	(void)state;
	tu_path(pool_path, sizeof(pool_path), "names");
	pool = pst_pool_create(&(struct pst_pool_config){
		.path = pool_path, .buf_size = BUF, .buf_count = COUNT,
		.persist_mode = PST_PERSIST_FLUSH });
	if (pool == NULL) {
		print_error("create %s: %s\n", pool_path, pst_errormsg());
		return -1;
	}
	tu_track(pool);
	return 0;
}

static int
teardown_pool(void **state)
{
	pool = NULL;
	return tu_test_teardown(state);
}

/* ---- packing ------------------------------------------------------------------ */

static void
test_pack_roundtrip(void **state)
{
	static const uint32_t idx[] = { 0, 1, 2, 0x7fffffffu, 0x80000000u,
					UINT32_MAX - 1, UINT32_MAX };
	static const uint16_t u16[] = { 0, 1, 63, 64, 2175, 2176, 0x8000,
					65534, 65535 };

	(void)state;
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
		for (size_t o = 0; o < sizeof(u16) / sizeof(u16[0]); o++)
			for (size_t l = 0; l < sizeof(u16) / sizeof(u16[0]); l++) {
				pst_name n = pst_name_make(idx[i], u16[o], u16[l]);

				assert_int_equal(pst_name_index(n), idx[i]);
				assert_int_equal(pst_name_offset(n), u16[o]);
				assert_int_equal(pst_name_length(n), u16[l]);
			}
	/* The documented bit layout. */
	assert_int_equal(pst_name_make(0x01020304u, 0x0506, 0x0708),
			 0x0102030405060708ull);
	assert_int_equal(pst_name_make(UINT32_MAX, 65535, 65535),
			 PST_NAME_INVALID);
}

/* ---- validity ------------------------------------------------------------------- */

static void
test_name_valid_edges(void **state)
{
	(void)state;
	/* Ordinary names. */
	assert_int_equal(pst_pool_name_valid(pool, pst_name_make(0, 0, 1)), 1);
	assert_int_equal(pst_pool_name_valid(pool, pst_name_make(0, 0, BUF)), 1);
	assert_int_equal(pst_pool_name_valid(pool,
			 pst_name_make(COUNT - 1, 0, BUF)), 1);
	assert_int_equal(pst_pool_name_valid(pool,
			 pst_name_make(COUNT - 1, BUF - 1, 1)), 1);
	assert_int_equal(pst_pool_name_valid(pool,
			 pst_name_make(500, 100, 200)), 1);

	/* Index out of range. */
	assert_int_equal(pst_pool_name_valid(pool, pst_name_make(COUNT, 0, 1)), 0);
	assert_int_equal(pst_pool_name_valid(pool,
			 pst_name_make(COUNT + 1, 0, 1)), 0);
	assert_int_equal(pst_pool_name_valid(pool,
			 pst_name_make(UINT32_MAX, 0, 1)), 0);
	assert_int_equal(pst_pool_name_valid(pool, PST_NAME_INVALID), 0);

	/* Range past the buffer's end. */
	assert_int_equal(pst_pool_name_valid(pool,
			 pst_name_make(0, 0, BUF + 1)), 0);
	assert_int_equal(pst_pool_name_valid(pool,
			 pst_name_make(0, BUF - 1, 2)), 0);
	assert_int_equal(pst_pool_name_valid(pool,
			 pst_name_make(0, BUF, 1)), 0);
	assert_int_equal(pst_pool_name_valid(pool,
			 pst_name_make(7, 65535, 65535)), 0);
	assert_int_equal(pst_pool_name_valid(pool,
			 pst_name_make(7, 1, 65535)), 0);

	/* Zero length: the header is silent; an empty range is "inside" the
	 * buffer when it starts no later than the buffer's end. */
	assert_int_equal(pst_pool_name_valid(pool, pst_name_make(0, 0, 0)), 1);
	assert_int_equal(pst_pool_name_valid(pool,
			 pst_name_make(COUNT - 1, BUF, 0)), 1);
	assert_int_equal(pst_pool_name_valid(pool,
			 pst_name_make(0, BUF + 1, 0)), 0);
	assert_int_equal(pst_pool_name_valid(pool,
			 pst_name_make(COUNT, 0, 0)), 0);
}

static void
test_buf_addr(void **state)
{
	struct pst_pool_info info = tu_info(pool);

	(void)state;
	for (uint32_t i = 0; i < COUNT; i++)
		assert_ptr_equal(pst_pool_buf_addr(pool, i),
				 (char *)info.bufs + (size_t)i * BUF);
	pst_errno = 0;
	assert_null(pst_pool_buf_addr(pool, COUNT));
	assert_int_equal(pst_errno, EINVAL);
	pst_errno = 0;
	assert_null(pst_pool_buf_addr(pool, UINT32_MAX));
	assert_int_equal(pst_errno, EINVAL);
}

/* ---- name <-> address --------------------------------------------------------- */

static void
check_roundtrip(uint32_t index, uint16_t off, uint16_t len)
{
	struct pst_pool_info info = tu_info(pool);
	pst_name n = pst_name_make(index, off, len);
	char *want = (char *)info.bufs + (size_t)index * BUF + off;
	char *a = pst_pool_name_to_addr(pool, n);

	assert_ptr_equal(a, want);
	assert_int_equal(pst_pool_addr_to_name(pool, a, len), n);
}

static void
test_roundtrip(void **state)
{
	(void)state;
	/* first, middle, last buffer; whole buffer, head, tail, one byte */
	static const uint32_t idx[] = { 0, COUNT / 2, COUNT - 1 };
	for (size_t i = 0; i < 3; i++) {
		check_roundtrip(idx[i], 0, BUF);
		check_roundtrip(idx[i], 0, 1);
		check_roundtrip(idx[i], 0, 60);
		check_roundtrip(idx[i], 14, 1500);
		check_roundtrip(idx[i], BUF - 1, 1);
		check_roundtrip(idx[i], BUF - 100, 100);
	}
	/* Every buffer, once. */
	for (uint32_t i = 0; i < COUNT; i++)
		check_roundtrip(i, (uint16_t)(i % BUF), (uint16_t)(BUF - i % BUF));

	/* The address is usable. */
	char *a = pst_pool_name_to_addr(pool, pst_name_make(COUNT - 1, 0, BUF));
	memset(a, 0x5c, BUF);
	assert_int_equal(a[BUF - 1], 0x5c);
}

static void
test_name_to_addr_invalid(void **state)
{
	static const pst_name bad[] = {
		PST_NAME_INVALID,
		(pst_name)COUNT << 32 | 1,
		((pst_name)0 << 32) | ((pst_name)BUF << 16) | 1,
		((pst_name)5 << 32) | ((pst_name)(BUF - 1) << 16) | 2,
		((pst_name)5 << 32) | (BUF + 1),
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pst_errno = 0;
		assert_null(pst_pool_name_to_addr(pool, bad[i]));
		assert_int_equal(pst_errno, EINVAL);
	}
}

static void
expect_no_name(const void *addr, size_t len, const char *what)
{
	pst_name n;

	pst_errno = 0;
	n = pst_pool_addr_to_name(pool, addr, len);
	if (n != PST_NAME_INVALID)
		fail_msg("addr_to_name(%s) gave 0x%016llx", what,
			 (unsigned long long)n);
	if (pst_errno != EINVAL)
		fail_msg("addr_to_name(%s): pst_errno %d, expected EINVAL", what,
			 pst_errno);
}

static void
test_addr_to_name_invalid(void **state)
{
	struct pst_pool_info info = tu_info(pool);
	char *bufs = info.bufs;
	char *end = bufs + (size_t)COUNT * BUF;
	char local[16];

	(void)state;
	/* Crossing a buffer boundary. */
	expect_no_name(bufs + BUF - 10, 20, "crossing 0|1");
	expect_no_name(bufs + BUF - 1, 2, "crossing 0|1 by one byte");
	expect_no_name(bufs + 500 * BUF + 100, BUF, "crossing 500|501");
	expect_no_name(bufs, BUF + 1, "buffer 0 plus one byte");
	expect_no_name(bufs, 2 * BUF, "two whole buffers");
	/* Ending exactly at the boundary is fine. */
	assert_int_equal(pst_pool_addr_to_name(pool, bufs + BUF - 10, 10),
			 pst_name_make(0, BUF - 10, 10));

	/* Before the buffer array: header, state bytes, alignment gap. */
	expect_no_name(info.base, 1, "file header");
	expect_no_name(bufs - 1, 1, "last byte before buffer 0");
	expect_no_name(bufs - 1, 2, "straddling the array start");
	expect_no_name(bufs - BUF, BUF, "one buffer-size before the array");

	/* Past the end. */
	expect_no_name(end, 1, "first byte after the array");
	expect_no_name(end - 1, 2, "straddling the array end");
	expect_no_name(end + BUF, 10, "a buffer-size past the end");
	expect_no_name((char *)info.base + info.file_size + 4096, 1,
		       "outside the mapping");

	/* Not in the pool at all. */
	expect_no_name(local, sizeof(local), "stack");
	expect_no_name(NULL, 1, "NULL");

	/* len too large for a name, or absurd. */
	expect_no_name(bufs, 65536, "len 65536");
	expect_no_name(bufs + BUF, 70000, "len 70000");
	expect_no_name(bufs, SIZE_MAX, "len SIZE_MAX");
	expect_no_name(bufs + 64, SIZE_MAX - 63, "len wrapping to bufs");
}

/* len > 65535 is refused even where the buffer is big enough to hold it
 * but the name's 16-bit length cannot; with the largest buffer size the
 * largest length is still accepted. */
static void
test_addr_to_name_len_limit(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_info info;

	(void)state;
	p = tu_must_create(tu_path(path, sizeof(path), "bigbuf"), 65472, 4,
			   PST_PERSIST_FLUSH);
	info = tu_info(p);
	char *b1 = (char *)info.bufs + 65472;
	assert_int_equal(pst_pool_addr_to_name(p, b1, 65472),
			 pst_name_make(1, 0, 65472));
	assert_int_equal(pst_pool_addr_to_name(p, b1 + 65471, 1),
			 pst_name_make(1, 65471, 1));
	pst_errno = 0;
	assert_int_equal(pst_pool_addr_to_name(p, b1, 65536), PST_NAME_INVALID);
	assert_int_equal(pst_errno, EINVAL);
	assert_ptr_equal(pst_pool_name_to_addr(p, pst_name_make(3, 65471, 1)),
			 (char *)info.bufs + 3 * 65472 + 65471);
	assert_int_equal(pst_pool_name_valid(p, pst_name_make(3, 0, 65472)), 1);
	assert_int_equal(pst_pool_name_valid(p, pst_name_make(3, 0, 65473)), 0);
	tu_close(p);
}

/* ---- remapping ----------------------------------------------------------------- */

/* Reserve [base, base+len) so no later mapping can land there. */
static void *
reserve(void *base, size_t len)
{
	void *r = mmap(base, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		       MAP_FIXED_NOREPLACE, -1, 0);

	if (r == MAP_FAILED)
		fail_msg("cannot reserve %p+%zu: %s (pool not unmapped?)", base,
			 len, strerror(errno));
	if (r != base) { /* old kernels ignore the flag */
		munmap(r, len);
		fail_msg("reservation landed at %p, not %p", r, base);
	}
	return r;
}

static void
test_remap_other_address(void **state)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_info info;
	uint32_t idx;
	const uint16_t off = 100, len = 1500;
	void *bases[5];
	size_t lens[5];
	int nres = 0;
	uint8_t expect[1500];

	(void)state;
	tu_path(path, sizeof(path), "remap");
	p = tu_must_create(path, BUF, COUNT, PST_PERSIST_FLUSH);
	assert_int_equal(pst_pool_take(p, &idx), 0);
	pst_name name = pst_name_make(idx, off, len);
	char *a = pst_pool_name_to_addr(p, name);
	assert_non_null(a);
	tu_pattern_fill(expect, idx, 7, len);
	memcpy(a, expect, len);
	assert_int_equal(pst_pool_persist(p, a, len), 0);
	assert_int_equal(pst_pool_keep(p, idx), 0);
	assert_int_equal(pst_pool_drain(p), 0);
	assert_int_equal(pst_pool_addr_to_name(p, a, len), name);
	info = tu_info(p);
	bases[0] = info.base;
	lens[0] = info.file_size;
	tu_close(p);

	for (int cycle = 1; cycle <= 3; cycle++) {
		/* Keep every earlier mapping's range occupied. */
		reserve(bases[cycle - 1], lens[cycle - 1]);
		nres++;
		p = tu_must_open(path, PST_PERSIST_FLUSH);
		info = tu_info(p);
		for (int k = 0; k < cycle; k++)
			assert_ptr_not_equal(info.base, bases[k]);
		/* No byte of the new mapping overlaps an old one. */
		for (int k = 0; k < cycle; k++)
			assert_true((char *)info.base + info.file_size <=
					    (char *)bases[k] ||
				    (char *)info.base >=
					    (char *)bases[k] + lens[k]);
		assert_int_equal(pst_pool_name_valid(p, name), 1);
		a = pst_pool_name_to_addr(p, name);
		assert_non_null(a);
		assert_true(a >= (char *)info.bufs);
		assert_memory_equal(a, expect, len);
		assert_int_equal(pst_pool_addr_to_name(p, a, len), name);
		assert_int_equal(tu_stats(p).kept, 1);
		tu_assert_verify(p);
		bases[cycle] = info.base;
		lens[cycle] = info.file_size;
		tu_close(p);
	}
	for (int k = 0; k < nres; k++)
		assert_int_equal(munmap(bases[k], lens[k]), 0);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tu_test_setup, tu_test_teardown)
#define TP(f) cmocka_unit_test_setup_teardown(f, setup_pool, teardown_pool)
	const struct CMUnitTest tests[] = {
		T(test_pack_roundtrip),
		TP(test_name_valid_edges),
		TP(test_buf_addr),
		TP(test_roundtrip),
		TP(test_name_to_addr_invalid),
		TP(test_addr_to_name_invalid),
		T(test_addr_to_name_len_limit),
		T(test_remap_other_address),
	};
#undef T
#undef TP

	return cmocka_run_group_tests_name("names", tests, group_setup,
					   group_teardown);
}
