/* SPDX-License-Identifier: BSD-3-Clause */
/* CRC32C (Castagnoli) of persistent records, hardware-accelerated through
 * DPDK's rte_hash_crc when SSE4.2 is present. */
#ifndef PST_CRC_H
#define PST_CRC_H

#include <stddef.h>
#include <stdint.h>

/* Standard CRC32C: initial value ~0, final complement;
 * pst_crc32c("123456789", 9) == 0xE3069283. */
uint32_t pst_crc32c(const void *data, size_t len);

#endif /* PST_CRC_H */
