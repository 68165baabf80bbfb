/* SPDX-License-Identifier: BSD-3-Clause */
/* The Internet checksum routine lwIP uses (chksum.c). */
#ifndef PST_CHKSUM_H
#define PST_CHKSUM_H

#include <stdint.h>

/* One's complement sum of @len bytes at @data as 16-bit words in host
 * order, folded to 16 bits and not complemented: what lwIP's LWIP_CHKSUM
 * returns. Any alignment; 0 for len <= 0. */
uint16_t pst_inet_chksum(const void *data, int len);

/* The same without vector instructions: what pst_inet_chksum() runs on a
 * CPU without AVX2, exported for its test. */
uint16_t pst_inet_chksum_generic(const void *data, int len);

#endif /* PST_CHKSUM_H */
