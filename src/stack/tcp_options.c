/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two flaws of lwIP 2.1.3's TCP option parser (tcp_parseopt() in
 * tcp_in.c), mended before lwIP reads the options (the first found by the
 * frames fuzz target, the second in lwIP's code while fixing an assertion
 * that target found):
 *
 * - It reads an option's length byte before it checks that byte is inside
 *   the options: a segment whose options end with a lone option kind (MSS,
 *   window scale, SACK permitted, timestamps or any other) makes it read
 *   one byte past the TCP header, past the frame when the segment carries
 *   no data. Such a dangling kind byte becomes an end-of-option list, so
 *   lwIP stops there, as it would for a bad length, without the overread.
 * - It takes the options a SYN negotiates from any segment of a
 *   connection: MSS from every segment, window scale and timestamps from a
 *   SYN even on a connection already synchronized (RFC 9293 3.7.1: they
 *   are negotiated by the opening SYNs; Linux ignores them elsewhere). A
 *   peer lowering the MSS, or turning timestamps on, after segments were
 *   queued left them larger than a segment may now be: tcp_write()
 *   asserted "mss_local is too small" and its free-space arithmetic would
 *   wrap; a late window scale option asserted too. Unless the connection
 *   is negotiating (a listener's SYN, the SYN-ACK of a connect), MSS and
 *   window scale options become NOPs, and so do a SYN's timestamps.
 *
 * Called for every segment lwIP is about to process for a connection or a
 * listener (LWIP_HOOK_TCP_INPACKET_PCB, tcp_input_hook.h), after its
 * checksum was verified. The segment itself is processed as before.
 */
#include <stddef.h>
#include <stdint.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "tcp_input_hook.h"

#define TCP_HEADER_LEN 20
#define TCP_FLAGS_OFFSET 13
#define TCP_FLAG_SYN 0x02
#define OPT_EOL 0
#define OPT_NOP 1
#define OPT_MSS 2
#define OPT_WS 3
#define OPT_TS 8

/* Options may continue in a second pbuf (@opt2) after @opt1len bytes. */
static uint8_t *
opt_byte(uint8_t *opt1, uint16_t opt1len, uint8_t *opt2, uint32_t i)
{
	return opt2 == NULL || i < opt1len ? &opt1[i] : &opt2[i - opt1len];
}

/* Whether lwIP must not see an option of @kind (see above). */
static int
blanked(uint8_t kind, int negotiating, int syn)
{
	if (negotiating)
		return 0;
	return kind == OPT_MSS || kind == OPT_WS || (syn && kind == OPT_TS);
}

signed char
pst_tcp_input_options(void *hdr, uint16_t optlen, uint16_t opt1len, uint8_t *opt2,
		      int negotiating)
{
	uint8_t *opt1 = (uint8_t *)hdr + TCP_HEADER_LEN;
	int syn = ((const uint8_t *)hdr)[TCP_FLAGS_OFFSET] & TCP_FLAG_SYN;
	uint32_t i = 0;

	/* Nearly every segment of a connection carries NOP, NOP, timestamps
	 * and nothing else (Linux's layout): nothing to mend or blank there
	 * unless it is a SYN. The loop below reads it to the same end. */
	if (optlen == 12 && !syn && (opt2 == NULL || opt1len >= 12) &&
	    opt1[0] == OPT_NOP && opt1[1] == OPT_NOP && opt1[2] == OPT_TS && opt1[3] == 10)
		return 0;
	while (i < optlen) {
		uint8_t *kind = opt_byte(opt1, opt1len, opt2, i);
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
		len = *opt_byte(opt1, opt1len, opt2, i + 1);
		if (len < 2)
			break; /* lwIP stops at a bad length itself */
		if (blanked(*kind, negotiating, syn) && i + len <= optlen)
			for (uint32_t k = len; k-- > 0;)
				*opt_byte(opt1, opt1len, opt2, i + k) = OPT_NOP;
		i += len;
	}
	return 0; /* ERR_OK: process the segment */
}

int
pst_tcp_input_ts(struct tcp_pcb *pcb, const void *hdr, uint16_t optlen,
		 uint16_t opt1len, uint32_t seqno, uint32_t tcplen, uint8_t flags)
{
	const uint8_t *opt = (const uint8_t *)hdr + TCP_HEADER_LEN;
	uint32_t tsval;

	/* The state first: a listener's PCB is shorter. tcp_process() parses
	 * options only past its RST and SYN checks, and tcp_input() drops a
	 * segment before it while refused data waits: not here either. */
	if (pcb->state != ESTABLISHED || (flags & (TCP_SYN | TCP_RST)) ||
	    pcb->refused_data != NULL || optlen != 12 || opt1len < 12 ||
	    opt[0] != OPT_NOP || opt[1] != OPT_NOP || opt[2] != OPT_TS || opt[3] != 10)
		return 0;
	/* tcp_parseopt()'s timestamps outside a SYN: the peer's value is
	 * recent if the segment holds the last ACK we sent. */
	if (TCP_SEQ_BETWEEN(pcb->ts_lastacksent, seqno, seqno + tcplen)) {
		/* Assembled as lwIP assembles it, then its byte swap. */
		tsval = (uint32_t)opt[4] | (uint32_t)opt[5] << 8 |
			(uint32_t)opt[6] << 16 | (uint32_t)opt[7] << 24;
		pcb->ts_recent = lwip_ntohl(tsval);
	}
	return 1;
}
