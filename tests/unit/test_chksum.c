/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Internet checksum lwIP uses (pst_inet_chksum): against RFC 1071's
 * example, a bytewise reference written here for every length and start
 * alignment, and the check a receiver makes (a packet carrying its own
 * checksum sums to 0xffff).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chksum.h"

/* Bytewise reference: big-endian 16-bit words, odd byte padded with zero,
 * end-around carry; returned in network order like a header field. */
static uint16_t
ref_sum_be(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void
test_rfc1071_example(void **state)
{
	/* RFC 1071 section 3: the sum of these bytes is ddf2 (big-endian). */
	const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	(void)state;
	assert_int_equal(ntohs(pst_inet_chksum(b, sizeof(b))), 0xddf2);
}

static void
test_every_length_and_alignment(void **state)
{
	enum { MAX = 9100 };
	uint8_t *buf = malloc(MAX + 8);
	unsigned int seed = 12345;
	size_t i, off, len;

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < MAX + 8; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
	for (off = 0; off < 8; off++) {
		for (len = 0; len <= 1600; len++) {
			assert_int_equal(ntohs(pst_inet_chksum(buf + off, (int)len)),
					 ref_sum_be(buf + off, len));
			assert_int_equal(ntohs(pst_inet_chksum_generic(buf + off, (int)len)),
					 ref_sum_be(buf + off, len));
		}
		/* Jumbo frames and whole values. */
		for (len = 8000; len <= MAX; len += 37) {
			assert_int_equal(ntohs(pst_inet_chksum(buf + off, (int)len)),
					 ref_sum_be(buf + off, len));
			assert_int_equal(ntohs(pst_inet_chksum_generic(buf + off, (int)len)),
					 ref_sum_be(buf + off, len));
		}
	}
	assert_int_equal(pst_inet_chksum(buf, 0), 0);
	assert_int_equal(pst_inet_chksum(buf, -1), 0);
	free(buf);
}

static void
test_carries(void **state)
{
	/* All ones: every addition carries, in every accumulator. */
	uint8_t b[9001];
	size_t len;

	(void)state;
	memset(b, 0xff, sizeof(b));
	for (len = 1; len <= sizeof(b); len += 250) {
		assert_int_equal(ntohs(pst_inet_chksum(b, (int)len)), ref_sum_be(b, len));
		assert_int_equal(ntohs(pst_inet_chksum_generic(b, (int)len)), ref_sum_be(b, len));
	}
	assert_int_equal(pst_inet_chksum(b, 2), 0xffff);
}

static void
test_receiver_check(void **state)
{
	/* An IPv4 header with its checksum field filled sums to 0xffff,
	 * which is how lwIP accepts it. */
	uint8_t h[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			  0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	uint16_t c;

	(void)state;
	c = (uint16_t)~pst_inet_chksum(h, sizeof(h));
	memcpy(&h[10], &c, sizeof(c));
	assert_int_equal(ntohs(c), 0xb861); /* the well-known example header */
	assert_int_equal(pst_inet_chksum(h, sizeof(h)), 0xffff);
	h[3] ^= 1;
	assert_int_not_equal(pst_inet_chksum(h, sizeof(h)), 0xffff);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_every_length_and_alignment),
		cmocka_unit_test(test_carries),
		cmocka_unit_test(test_receiver_check),
	};

	return cmocka_run_group_tests_name("chksum", tests, NULL, NULL);
}
