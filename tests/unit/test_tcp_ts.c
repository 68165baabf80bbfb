/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pst_tcp_input_ts (tcp_options.c): the timestamps of an established
 * connection's segment in Linux's option layout, taken before lwIP's own
 * option parser would take them, exactly as it would (RFC 7323's
 * ts_recent, from a segment holding the last ACK sent), and nothing taken
 * from any other segment: lwIP then parses those itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "tcp_input_hook.h"

#define ACK 0x10

/* A TCP header, then NOP, NOP, timestamps (TSval @tsval, TSecr 7). */
static void
segment(uint8_t hdr[32], uint32_t tsval)
{
	memset(hdr, 0, 32);
	hdr[12] = 8 << 4;          /* data offset: 32 bytes */
	hdr[13] = ACK;
	hdr[20] = 1;
	hdr[21] = 1;
	hdr[22] = 8;
	hdr[23] = 10;
	hdr[24] = (uint8_t)(tsval >> 24);
	hdr[25] = (uint8_t)(tsval >> 16);
	hdr[26] = (uint8_t)(tsval >> 8);
	hdr[27] = (uint8_t)tsval;
	hdr[31] = 7;
}

static void
established(struct tcp_pcb *pcb)
{
	memset(pcb, 0, sizeof(*pcb));
	pcb->state = ESTABLISHED;
	pcb->ts_lastacksent = 1000;
	pcb->ts_recent = 42;
}

static void
test_taken(void **state)
{
	struct tcp_pcb pcb;
	uint8_t hdr[32];

	(void)state;
	established(&pcb);
	segment(hdr, 0x01020304u);
	/* The segment [1000, 1100] holds the last ACK sent: recent. */
	assert_int_equal(pst_tcp_input_ts(&pcb, hdr, 12, 12, 1000, 100, ACK), 1);
	assert_int_equal(pcb.ts_recent, 0x01020304u);
	/* Its end too. */
	segment(hdr, 0xfffffff0u);
	assert_int_equal(pst_tcp_input_ts(&pcb, hdr, 12, 12, 900, 100, ACK), 1);
	assert_int_equal(pcb.ts_recent, 0xfffffff0u);
}

static void
test_taken_not_recent(void **state)
{
	struct tcp_pcb pcb;
	uint8_t hdr[32];

	(void)state;
	established(&pcb);
	segment(hdr, 0x01020304u);
	/* Past the last ACK sent, or before it: parsed, not recent (as
	 * tcp_parseopt leaves it). */
	assert_int_equal(pst_tcp_input_ts(&pcb, hdr, 12, 12, 1001, 100, ACK), 1);
	assert_int_equal(pcb.ts_recent, 42);
	assert_int_equal(pst_tcp_input_ts(&pcb, hdr, 12, 12, 800, 100, ACK), 1);
	assert_int_equal(pcb.ts_recent, 42);
}

/* Every segment lwIP must parse itself: nothing taken, nothing changed. */
static void
test_left_to_lwip(void **state)
{
	struct tcp_pcb pcb;
	uint8_t hdr[32];
	static const enum tcp_state others[] = { CLOSED, LISTEN, SYN_SENT, SYN_RCVD,
						 FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT,
						 CLOSING, LAST_ACK, TIME_WAIT };
	size_t i;

	(void)state;
	segment(hdr, 0x01020304u);
	established(&pcb);
	assert_int_equal(pst_tcp_input_ts(&pcb, hdr, 12, 12, 1000, 100, ACK | TCP_SYN), 0);
	assert_int_equal(pst_tcp_input_ts(&pcb, hdr, 12, 12, 1000, 100, ACK | TCP_RST), 0);
	/* Options split across two pbufs, or longer. */
	assert_int_equal(pst_tcp_input_ts(&pcb, hdr, 12, 8, 1000, 100, ACK), 0);
	assert_int_equal(pst_tcp_input_ts(&pcb, hdr, 16, 16, 1000, 100, ACK), 0);
	assert_int_equal(pst_tcp_input_ts(&pcb, hdr, 0, 0, 1000, 100, ACK), 0);
	/* Another layout: timestamps first, or an MSS option. */
	hdr[20] = 8;
	assert_int_equal(pst_tcp_input_ts(&pcb, hdr, 12, 12, 1000, 100, ACK), 0);
	segment(hdr, 0x01020304u);
	hdr[22] = 2;
	hdr[23] = 4;
	assert_int_equal(pst_tcp_input_ts(&pcb, hdr, 12, 12, 1000, 100, ACK), 0);
	segment(hdr, 0x01020304u);
	hdr[23] = 9;
	assert_int_equal(pst_tcp_input_ts(&pcb, hdr, 12, 12, 1000, 100, ACK), 0);
	segment(hdr, 0x01020304u);
	/* Refused data waiting: tcp_input may drop the segment unparsed. */
	pcb.refused_data = (struct pbuf *)&pcb;
	assert_int_equal(pst_tcp_input_ts(&pcb, hdr, 12, 12, 1000, 100, ACK), 0);
	pcb.refused_data = NULL;
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		pcb.state = others[i];
		assert_int_equal(pst_tcp_input_ts(&pcb, hdr, 12, 12, 1000, 100, ACK), 0);
	}
	assert_int_equal(pcb.ts_recent, 42);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_taken),
		cmocka_unit_test(test_taken_not_recent),
		cmocka_unit_test(test_left_to_lwip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
