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
	uint64_t sum = 0; /* no overflow for runs of megabytes */
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


/* Runs longer than the vector code sums before widening its lanes (512
 * KiB), all ones (every addition carries) and random. */
static void
test_long_runs(void **state)
{
	const size_t lens[] = { (1u << 19) - 16, 1u << 19, (1u << 19) + 144, (1u << 20) + 4099,
				(3u << 20) + 77 };
	size_t max = (3u << 20) + 77, i, k;
	uint8_t *b = malloc(max);
	unsigned int seed = 99;

	(void)state;
	assert_non_null(b);
	for (k = 0; k < 2; k++) {
		for (i = 0; i < max; i++) {
			seed = seed * 1103515245u + 12345u;
			b[i] = k == 0 ? 0xff : (uint8_t)(seed >> 16);
		}
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
			assert_int_equal(ntohs(pst_inet_chksum(b + k, (int)(lens[i] - k))),
					 ref_sum_be(b + k, lens[i] - k));
	}
	free(b);
}

/* A run cut into pieces at random points, pieces of odd length and at odd
 * addresses among them: the same sum as the whole. */
static void
test_pieces_at_odd_offsets(void **state)
{
	enum { LEN = 3000, MAXP = 12 };
	struct pst_chksum_piece p[MAXP];
	uint8_t *buf = malloc(LEN + 16), *copy = malloc(LEN + 3 * MAXP);
	unsigned int seed = 777, round, n, i;
	size_t pos, len, cut;

	(void)state;
	assert_non_null(buf);
	assert_non_null(copy);
	for (i = 0; i < LEN + 16; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
	for (round = 0; round < 20000; round++) {
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % LEN;
		n = 1 + (seed >> 4) % MAXP;
		/* The pieces lie apart (a frame's header and the buffers of a
		 * value): each copied to its own place, three bytes after the
		 * one before, so addresses and offsets differ in parity. */
		for (i = 0, pos = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			cut = i + 1 == n ? len - pos : (seed >> 8) % (len - pos + 1);
			memcpy(copy + pos + 3 * i, buf + pos, cut);
			p[i].data = copy + pos + 3 * i;
			p[i].len = (uint32_t)cut;
			pos += cut;
		}
		assert_int_equal(ntohs(pst_inet_chksum_pieces(p, n)), ref_sum_be(buf, len));
	}
	assert_int_equal(pst_inet_chksum_pieces(p, 0), 0);
	free(buf);
	free(copy);
}

/* The pseudo-header sum: against the bytewise reference over the 12 bytes
 * RFC 793 lays out, and a whole TCP segment checked as a receiver does. */
static void
test_pseudo_header(void **state)
{
	const uint8_t addrs[8] = { 10, 0, 0, 1, 192, 168, 200, 254 };
	uint8_t pseudo[12], seg[64];
	uint32_t sum;
	uint16_t c;
	size_t i;

	(void)state;
	memcpy(pseudo, addrs, 8);
	pseudo[8] = 0;
	pseudo[9] = 6;
	pseudo[10] = 0x05;
	pseudo[11] = 0xb4;
	assert_int_equal(ntohs(pst_ipv4_pseudo_sum(addrs, 6, 0x05b4)),
			 ref_sum_be(pseudo, sizeof(pseudo)));
	for (i = 0; i < sizeof(seg); i++)
		seg[i] = (uint8_t)(i * 13 + 1);
	seg[16] = seg[17] = 0; /* the TCP checksum field */
	sum = (uint32_t)pst_ipv4_pseudo_sum(addrs, 6, sizeof(seg)) + pst_inet_chksum(seg, sizeof(seg));
	sum = (sum & 0xffff) + (sum >> 16);
	c = (uint16_t)~sum;
	memcpy(&seg[16], &c, sizeof(c));
	sum = (uint32_t)pst_ipv4_pseudo_sum(addrs, 6, sizeof(seg)) + pst_inet_chksum(seg, sizeof(seg));
	sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(sum, 0xffff);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_every_length_and_alignment),
		cmocka_unit_test(test_carries),
		cmocka_unit_test(test_receiver_check),
		cmocka_unit_test(test_long_runs),
		cmocka_unit_test(test_pieces_at_odd_offsets),
		cmocka_unit_test(test_pseudo_header),
	};

	return cmocka_run_group_tests_name("chksum", tests, NULL, NULL);
}
