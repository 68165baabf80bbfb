/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Force-included (-include) into lwIP's tcp_in.c only, so that the
 * tcp_output() it calls after every received segment goes through paste,
 * and that its option parser gets options it reads within bounds (below).
 *
 * lwIP sends whatever a segment produced (the application's reply, an ACK)
 * as soon as that segment is processed. With a burst of segments carrying
 * pipelined requests, that is one small reply frame per segment. Inside a
 * receive burst pst_tcp_input_output() holds these sends back, and the poll
 * sends once per connection when the burst is done (pst_tcp_batch_end();
 * both in tcp_batch.c), so replies to all requests of the burst share
 * segments, as they would after a kernel server's single read().
 */
#ifndef PST_TCP_INPUT_HOOK_H
#define PST_TCP_INPUT_HOOK_H

struct tcp_pcb;

signed char pst_tcp_input_output(struct tcp_pcb *pcb);

#define tcp_output(pcb) pst_tcp_input_output(pcb)

/* Options that end with a lone option kind are cut before it, so lwIP's
 * option parser never reads past them, and the options of an opening SYN
 * are blanked on a connection past its opening (tcp_options.c).
 * @negotiating: a listener, or a connect waiting for its SYN-ACK. Always
 * ERR_OK. */
#include <stdint.h>

signed char pst_tcp_input_options(void *hdr, uint16_t optlen, uint16_t opt1len,
				  uint8_t *opt2, int negotiating);

/* The timestamps of an established connection's segment with Linux's
 * layout (NOP, NOP, timestamps; no SYN, no RST, no refused data waiting),
 * taken here as lwIP's tcp_parseopt() would take them later in
 * tcp_process(): then 1, and the hook hides the options from lwIP, whose
 * parser reads them a byte at a time through a call per byte (about 85
 * instructions a segment). @seqno, @tcplen, @flags: tcp_in.c's own (the
 * hook is expanded there). 0: lwIP parses them as before. */
int pst_tcp_input_ts(struct tcp_pcb *pcb, const void *hdr, uint16_t optlen,
		     uint16_t opt1len, uint32_t seqno, uint32_t tcplen, uint8_t flags);

/* A SYN that may reopen the four-tuple of @pcb, in TIME_WAIT: by a newer
 * timestamp or a larger sequence number. Then @pcb is freed and 1: the
 * segment is dropped, and the client's retransmitted SYN finds the
 * listener (tcp_timewait.c). 0: lwIP's TIME_WAIT processing. */
int pst_tcp_timewait_syn(struct tcp_pcb *pcb, const void *hdr, uint16_t optlen,
			 uint16_t opt1len, uint32_t seqno, uint8_t flags);

struct tcp_hdr;
struct pbuf;

/* Header prediction (tcp_fast.c): 1 when @pcb is established and the
 * segment is its next in-sequence data with nothing new acknowledged and
 * nothing unusual on the PCB; 0: lwIP's own processing. Reads only. */
int pst_tcp_fast_ok(const struct tcp_pcb *pcb, uint32_t seqno, uint32_t ackno,
		    uint32_t tcplen, uint8_t flags);

/* Such a segment processed as lwIP's tcp_process() and tcp_input() would
 * (the PCB's window, ACK and timer fields, then the receive callback with
 * its own reference to @p). ERR_ABRT: the callback aborted the PCB, which
 * is gone. ERR_OK otherwise (refused data kept as lwIP keeps it). */
signed char pst_tcp_fast_input(struct tcp_pcb *pcb, const struct tcp_hdr *hdr,
			       struct pbuf *p, uint32_t seqno, uint32_t ackno,
			       uint32_t tcplen, uint8_t flags);

/* 0 turns header prediction off (the unit test's lwIP-only runs). */
extern int pst_tcp_fast_on;

/* A predicted segment is done here, as tcp_input() ends one: a delayed
 * close, else the (batched) output; then ERR_ABRT, so that tcp_input()
 * frees its reference to the segment and touches the PCB no more. Uses
 * tcp_in.c's own recv_flags and tcp_input_delayed_close(), visible where
 * the hook is expanded. */
#define PST_TCP_FAST(pcb, hdr, p) \
	(recv_flags = 0, \
	 pst_tcp_fast_input((pcb), (hdr), (p), seqno, ackno, tcplen, flags) == ERR_ABRT || \
	 tcp_input_delayed_close(pcb) ? ERR_ABRT : (tcp_output(pcb), ERR_ABRT))

/* (ERR_ABRT: lwIP drops the segment and touches the PCB no more.) */
#define LWIP_HOOK_TCP_INPACKET_PCB(pcb, hdr, optlen, opt1len, opt2, p) \
	((pcb)->state == TIME_WAIT && \
	 pst_tcp_timewait_syn((pcb), (hdr), (optlen), (opt1len), seqno, flags) ? \
	 ERR_ABRT : \
	 ((optlen) = pst_tcp_input_ts((pcb), (hdr), (optlen), (opt1len), seqno, \
				      tcplen, flags) ? 0 : (optlen), \
	  (optlen) == 0 && pst_tcp_fast_ok((pcb), seqno, ackno, tcplen, flags) ? \
	  PST_TCP_FAST((pcb), (hdr), (p)) : \
	  pst_tcp_input_options((hdr), (optlen), (opt1len), (opt2), \
				(pcb)->state == LISTEN || (pcb)->state == SYN_SENT)))

#endif /* PST_TCP_INPUT_HOOK_H */
