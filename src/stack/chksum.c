/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Internet checksum (RFC 1071) for lwIP (LWIP_CHKSUM in lwipopts.h).
 *
 * Ports without checksum offload (net_af_packet on the testbed, net_tap)
 * leave every byte received and sent to software, so this loop runs over
 * every payload byte; lwIP's own routine adds 16 bits a step. This one adds
 * 32-bit words into four 64-bit accumulators, so no carry is lost before
 * the fold for any frame size, and the compiler keeps the four sums
 * independent.
 */
#include <stdint.h>
#include <string.h>

#include "chksum.h"

static inline uint32_t
load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v)); /* unaligned loads are fine on x86/arm64 */
	return v;
}

uint16_t
pst_inet_chksum(const void *data, int len)
{
	const uint8_t *p = data;
	uint64_t a = 0, b = 0, c = 0, d = 0, sum;

	if (len <= 0)
		return 0;
	for (; len >= 16; p += 16, len -= 16) {
		a += load32(p);
		b += load32(p + 4);
		c += load32(p + 8);
		d += load32(p + 12);
	}
	for (; len >= 4; p += 4, len -= 4)
		a += load32(p);
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, sizeof(w));
		b += w;
		p += 2;
		len -= 2;
	}
	/* An odd last byte is the first byte of a word padded with zero,
	 * which sits in the low half of a little-endian word. */
	if (len == 1) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		c += *p;
#else
		c += (uint32_t)*p << 8;
#endif
	}
	/* Each sum is below 2^62 (frames are far below 2^32 words), so
	 * adding the four cannot overflow 64 bits. */
	sum = a + b + c + d;
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}
