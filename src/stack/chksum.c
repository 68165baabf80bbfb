/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Internet checksum (RFC 1071) for lwIP (LWIP_CHKSUM in lwipopts.h).
 *
 * Ports without checksum offload (net_af_packet on the testbed, net_tap)
 * leave every byte received and sent to software, so this loop runs over
 * every payload byte; lwIP's own routine adds 16 bits a step. This one adds
 * 32-bit words into 64-bit accumulators, so no carry is lost before the
 * fold for any frame size: four scalar ones, or, where the CPU has AVX2,
 * four vectors of four, each word zero-extended into its lane as it is
 * loaded (two instructions per 16 bytes instead of eight).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "chksum.h"

static inline uint32_t
load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v)); /* unaligned loads are fine on x86/arm64 */
	return v;
}

/* The words of @len bytes at @p, @len below 16, summed into 64 bits:
 * straight on, where a loop would test and step for each word. */
static inline uint64_t
sum_tail(const uint8_t *p, int len)
{
	uint64_t s = 0;

	if (len & 8) {
		s += load32(p);
		s += load32(p + 4);
		p += 8;
	}
	if (len & 4) {
		s += load32(p);
		p += 4;
	}
	if (len & 2) {
		uint16_t w;

		memcpy(&w, p, sizeof(w));
		s += w;
		p += 2;
	}
	/* An odd last byte is the first byte of a word padded with zero,
	 * which sits in the low half of a little-endian word. */
	if (len & 1) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		s += *p;
#else
		s += (uint32_t)*p << 8;
#endif
	}
	return s;
}

/* The words of @len bytes at @p, summed into 64 bits; adding another such
 * sum of the bytes that follow (from a 4-byte boundary) is the sum of all. */
static uint64_t
sum_words(const uint8_t *p, int len)
{
	uint64_t a = 0, b = 0, c = 0, d = 0;

	for (; len >= 16; p += 16, len -= 16) {
		a += load32(p);
		b += load32(p + 4);
		c += load32(p + 8);
		d += load32(p + 12);
	}
	/* Each sum is below 2^62 (frames are far below 2^32 words), so
	 * adding them cannot overflow 64 bits. */
	return a + b + c + d + sum_tail(p, len);
}

static uint16_t
fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t
pst_inet_chksum_generic(const void *data, int len)
{
	return len <= 0 ? 0 : fold(sum_words(data, len));
}

#if defined(__x86_64__)
/* The 16-byte blocks of @len bytes at @p, 64 a step; the caller sums the
 * rest. */
__attribute__((target("avx2"))) static uint64_t
sum_blocks_avx2(const uint8_t *p, int len)
{
	__m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
	__m128i s;

	for (; len >= 64; p += 64, len -= 64) {
		a = _mm256_add_epi64(a, _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)p)));
		b = _mm256_add_epi64(b, _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(p + 16))));
		c = _mm256_add_epi64(c, _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(p + 32))));
		d = _mm256_add_epi64(d, _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(p + 48))));
	}
	a = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d));
	/* What is left below 64 (the pieces of a segment's payload end
	 * anywhere): 32 and 16 bytes a step, not four words at a time.
	 * Sixteen lanes of at most 2^32 words of 2^32 each: no overflow. */
	if (len >= 32) {
		a = _mm256_add_epi64(a, _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)p)));
		a = _mm256_add_epi64(a, _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(p + 16))));
		p += 32;
		len -= 32;
	}
	if (len >= 16)
		a = _mm256_add_epi64(a, _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)p)));
	s = _mm_add_epi64(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
	return (uint64_t)_mm_cvtsi128_si64(s) + (uint64_t)_mm_extract_epi64(s, 1);
}
#endif

uint16_t
pst_inet_chksum(const void *data, int len)
{
#if defined(__x86_64__)
	if (len >= 32 && __builtin_cpu_supports("avx2")) {
		int blocks = len & ~15;

		return fold(sum_blocks_avx2(data, blocks) +
			    sum_tail((const uint8_t *)data + blocks, len - blocks));
	}
#endif
	return pst_inet_chksum_generic(data, len);
}

uint16_t
pst_inet_chksum_pieces(const struct pst_chksum_piece *pieces, unsigned int n)
{
	uint32_t sum = 0;
	unsigned int i;
	int odd = 0;

	for (i = 0; i < n; i++) {
		uint32_t part;

		if (pieces[i].len == 0)
			continue;
		part = pst_inet_chksum(pieces[i].data, (int)pieces[i].len);
		/* A piece starting at an odd offset has its words straddle
		 * the 16-bit words of the whole: its sum, byte-swapped, is
		 * what those bytes add there (RFC 1071, section 2 (B)). */
		if (odd)
			part = (uint32_t)__builtin_bswap16((uint16_t)part);
		sum += part;
		odd ^= (int)(pieces[i].len & 1);
	}
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t
pst_ipv4_pseudo_sum(const void *src_dst, uint8_t proto, uint16_t len)
{
	const uint8_t *a = src_dst;
	uint32_t sum = 0;
	uint16_t w;
	int i;

	for (i = 0; i < 8; i += 2) {
		memcpy(&w, a + i, sizeof(w));
		sum += w;
	}
	/* The zero byte and the protocol, then the length: big-endian
	 * words, loaded in host order like the rest. */
	sum += htons((uint16_t)proto);
	sum += htons(len);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}
