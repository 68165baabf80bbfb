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

/* Bytes to sum, one piece of a longer run. */
struct pst_chksum_piece {
	const void *data;
	uint32_t len;
};

/* pst_inet_chksum() of the concatenation of @n pieces, each of any length
 * (a piece after an odd total starts mid-word): what the sum of the bytes
 * copied end to end would be. */
uint16_t pst_inet_chksum_pieces(const struct pst_chksum_piece *pieces, unsigned int n);

/* The sum, as pst_inet_chksum() returns it, of an IPv4 pseudo-header: the
 * 8 bytes of source and destination addresses at @src_dst (as in the IP
 * header), protocol @proto and transport length @len (host order). */
uint16_t pst_ipv4_pseudo_sum(const void *src_dst, uint8_t proto, uint16_t len);

#endif /* PST_CHKSUM_H */
