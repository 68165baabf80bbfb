/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwIP's TCP option parser (tcp_parseopt() in tcp_in.c, 2.1.3) reads an
 * option's length byte before it checks that byte is inside the options:
 * a segment whose options end with a lone option kind (MSS, window scale,
 * SACK permitted, timestamps or any other) makes it read one byte past
 * the TCP header, past the frame when the segment carries no data. Found
 * by the frames fuzz target, whose frames end where ASan's poison of the
 * pool buffer begins.
 *
 * Called for every segment lwIP is about to process for a connection or a
 * listener (LWIP_HOOK_TCP_INPACKET_PCB, tcp_input_hook.h), after its
 * checksum was verified: such a dangling kind byte becomes an end-of-option
 * list, so lwIP stops there, as it would for a bad length, without the
 * overread. The segment itself is processed as before.
 */
#include <stddef.h>
#include <stdint.h>

#include "tcp_input_hook.h"

#define TCP_HEADER_LEN 20
#define OPT_EOL 0
#define OPT_NOP 1

signed char
pst_tcp_options_end(void *hdr, uint16_t optlen, uint16_t opt1len, uint8_t *opt2)
{
	uint8_t *opt1 = (uint8_t *)hdr + TCP_HEADER_LEN;
	uint32_t i = 0;

	while (i < optlen) {
		uint8_t *kind = opt2 == NULL || i < opt1len ? &opt1[i] : &opt2[i - opt1len];
		uint8_t len;

		if (*kind == OPT_EOL)
			break;
		if (*kind == OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= optlen) {
			*kind = OPT_EOL; /* no room for its length byte */
			break;
		}
		len = opt2 == NULL || i + 1 < opt1len ? opt1[i + 1] : opt2[i + 1 - opt1len];
		if (len < 2)
			break; /* lwIP stops at a bad length itself */
		i += len;
	}
	return 0; /* ERR_OK: process the segment */
}
