/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include <rte_hash_crc.h>

#include "crc.h"

#if defined(__x86_64__)
static inline uint64_t
load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v)); /* unaligned; folded into crc32's operand */
	return v;
}

/* The CRC32C register update with SSE4.2's crc32, 64 bytes a step. DPDK's
 * rte_hash_crc() checks which algorithm to use for every 8 bytes and loops
 * one word at a time: about ten instructions per 8 bytes where this takes
 * under two, on every log entry and value checksum. */
__attribute__((target("sse4.2"))) static uint32_t
crc_sse42(const uint8_t *p, size_t len, uint32_t crc)
{
	uint64_t c = crc;

	for (; len >= 64; p += 64, len -= 64) {
		c = _mm_crc32_u64(c, load64(p));
		c = _mm_crc32_u64(c, load64(p + 8));
		c = _mm_crc32_u64(c, load64(p + 16));
		c = _mm_crc32_u64(c, load64(p + 24));
		c = _mm_crc32_u64(c, load64(p + 32));
		c = _mm_crc32_u64(c, load64(p + 40));
		c = _mm_crc32_u64(c, load64(p + 48));
		c = _mm_crc32_u64(c, load64(p + 56));
	}
	for (; len >= 8; p += 8, len -= 8)
		c = _mm_crc32_u64(c, load64(p));
	crc = (uint32_t)c;
	/* The last 0-7 bytes in at most three steps, not a loop per byte: a
	 * value's parts end anywhere. */
	if (len & 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		crc = _mm_crc32_u32(crc, w);
		p += 4;
	}
	if (len & 2) {
		uint16_t h;

		memcpy(&h, p, 2);
		crc = _mm_crc32_u16(crc, h);
		p += 2;
	}
	if (len & 1)
		crc = _mm_crc32_u8(crc, *p);
	return crc;
}
#endif

uint32_t
pst_crc32c(const void *data, size_t len)
{
	/* Both are the bare CRC32C register update (no pre/post inversion);
	 * the standard CRC adds both. */
	const uint8_t *p = data;
	uint32_t crc = 0xffffffffu;

#if defined(__x86_64__) && defined(__SSE4_2__)
	/* Built for SSE4.2 (meson.build's -msse4.2): the compiler may use it
	 * anywhere, so no run-time check is worth a call's instructions. */
	return ~crc_sse42(p, len, crc);
#elif defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc_sse42(p, len, crc);
#endif
	while (len > UINT32_MAX) {
		crc = rte_hash_crc(p, UINT32_MAX, crc);
		p += UINT32_MAX;
		len -= UINT32_MAX;
	}
	return ~rte_hash_crc(p, (uint32_t)len, crc);
}
