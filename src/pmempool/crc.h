/* SPDX-License-Identifier: BSD-3-Clause */
/* CRC32C (Castagnoli) of persistent records: SSE4.2's crc32 instruction
 * where the CPU has it, DPDK's rte_hash_crc (software tables) otherwise. */
#ifndef PST_CRC_H
#define PST_CRC_H

#include <stddef.h>
#include <stdint.h>

/* Standard CRC32C: initial value ~0, final complement;
 * pst_crc32c("123456789", 9) == 0xE3069283. */
uint32_t pst_crc32c(const void *data, size_t len);

#endif /* PST_CRC_H */
