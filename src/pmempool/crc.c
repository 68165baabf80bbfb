/* SPDX-License-Identifier: BSD-3-Clause */
#include <rte_hash_crc.h>

#include "crc.h"

uint32_t
pst_crc32c(const void *data, size_t len)
{
	/* rte_hash_crc() is the bare CRC32C register update (no pre/post
	 * inversion); the standard CRC adds both. */
	const uint8_t *p = data;
	uint32_t crc = 0xffffffffu;

	while (len > UINT32_MAX) {
		crc = rte_hash_crc(p, UINT32_MAX, crc);
		p += UINT32_MAX;
		len -= UINT32_MAX;
	}
	return ~rte_hash_crc(p, (uint32_t)len, crc);
}
