/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CRC32C (Castagnoli) of persistent records: pst_crc32c() against published
 * vectors and against a bitwise reference implementation written here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crc.h"

/* Bitwise reference: reflected polynomial 0x82F63B78, init ~0, final ~. */
static uint32_t
ref_crc32c(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t crc = 0xFFFFFFFFu;

	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* xorshift64*: reproducible pseudo-random bytes. */
static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static void
fill_random(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(rng() >> 56);
}

static void
test_check_value(void **state)
{
	(void)state;
	assert_int_equal(pst_crc32c("123456789", 9), 0xE3069283u);
	assert_int_equal(ref_crc32c("123456789", 9), 0xE3069283u);
}

static void
test_empty(void **state)
{
	static const char nothing[1] = { 0x55 };

	(void)state;
	assert_int_equal(pst_crc32c(nothing, 0), 0);
	assert_int_equal(pst_crc32c("", 0), 0);
}

/* RFC 3720 (iSCSI) appendix B.4 and other widely published vectors. */
static void
test_published_vectors(void **state)
{
	uint8_t buf[32];

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(pst_crc32c(buf, 32), 0x8A9136AAu);
	memset(buf, 0xFF, sizeof(buf));
	assert_int_equal(pst_crc32c(buf, 32), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(pst_crc32c(buf, 32), 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(pst_crc32c(buf, 32), 0x113FDB5Cu);
	assert_int_equal(pst_crc32c("a", 1), 0xC1D04330u);
	assert_int_equal(
		pst_crc32c("The quick brown fox jumps over the lazy dog", 43),
		0x22620404u);
}

/* Every length 0..300 (covers all 1/2/4/8-byte tail combinations). */
static void
test_all_small_lengths(void **state)
{
	uint8_t buf[2200];

	(void)state;
	fill_random(buf, sizeof(buf));
	/* Every length to a pool buffer's, from every start alignment. */
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len + off <= sizeof(buf); len += len < 300 ? 1 : 7)
			if (pst_crc32c(buf + off, len) != ref_crc32c(buf + off, len))
				fail_msg("offset %zu length %zu: got 0x%08x, reference 0x%08x",
					 off, len, pst_crc32c(buf + off, len),
					 ref_crc32c(buf + off, len));
}

static void
test_one_mib(void **state)
{
	size_t len = 1u << 20;
	uint8_t *buf = malloc(len);

	(void)state;
	assert_non_null(buf);
	fill_random(buf, len);
	assert_int_equal(pst_crc32c(buf, len), ref_crc32c(buf, len));
	/* A single flipped bit changes the checksum. */
	uint32_t before = pst_crc32c(buf, len);
	buf[len / 2] ^= 0x10;
	assert_int_not_equal(pst_crc32c(buf, len), before);
	assert_int_equal(pst_crc32c(buf, len), ref_crc32c(buf, len));
	free(buf);
}

/* Unaligned starts: offsets 0..15 of an 8-byte aligned buffer, many lengths. */
static void
test_unaligned(void **state)
{
	static const size_t lens[] = { 0, 1, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65,
				       127, 128, 1000, 4095, 4096, 4097, 65537 };
	/* aligned_alloc wants a size that is a multiple of the alignment. */
	size_t cap = (65537 + 64 + 63) & ~(size_t)63;
	uint8_t *raw = aligned_alloc(64, cap);

	(void)state;
	assert_non_null(raw);
	fill_random(raw, cap);
	for (size_t off = 0; off < 16; off++)
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			size_t len = lens[k];
			uint32_t got = pst_crc32c(raw + off, len);
			uint32_t want = ref_crc32c(raw + off, len);

			if (got != want)
				fail_msg("offset %zu length %zu: got 0x%08x, "
					 "reference 0x%08x", off, len, got, want);
		}
	/* Same bytes at different alignments give the same checksum. */
	uint8_t *copy = aligned_alloc(64, cap);
	assert_non_null(copy);
	for (size_t off = 1; off < 16; off++) {
		memcpy(copy + off, raw, 5000);
		assert_int_equal(pst_crc32c(copy + off, 5000),
				 pst_crc32c(raw, 5000));
	}
	free(copy);
	free(raw);
}

/* The header's use: CRC over the 124 bytes before header_crc. */
static void
test_header_sized_record(void **state)
{
	uint8_t rec[124];

	(void)state;
	for (int round = 0; round < 100; round++) {
		fill_random(rec, sizeof(rec));
		assert_int_equal(pst_crc32c(rec, sizeof(rec)),
				 ref_crc32c(rec, sizeof(rec)));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_value),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_published_vectors),
		cmocka_unit_test(test_all_small_lengths),
		cmocka_unit_test(test_one_mib),
		cmocka_unit_test(test_unaligned),
		cmocka_unit_test(test_header_sized_record),
	};

	return cmocka_run_group_tests_name("crc", tests, NULL, NULL);
}
